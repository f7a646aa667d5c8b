/* sqlite_directory.c: the SQLite store (sqlite.c) — the console's edits of the directory and the
 * channels (directory_edits), and shift swaps (shift_swaps). What an edit means is the engine's
 * (engine/directory.c); here they are rows. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

/* ---- edits ---- */

int store_edit_put(struct store *st, const char *kind, const char *key, const char *body, const char *secret,
                   int64_t at, const char *by, struct yj_err *err)
{
    /* seq: the newest edit applies last, so a person edited after a rotation that names them is
     * read in the order it was made. A secret left out keeps the stored one. */
    static const char sql[] =
        "INSERT INTO directory_edits (kind, key, body, secret, updated_at, updated_by, seq) VALUES (?1, ?2, ?3, ?4, "
        "?5, ?6, (SELECT coalesce(max(seq), 0) + 1 FROM directory_edits)) ON CONFLICT (kind, key) DO UPDATE SET "
        "body = ?3, secret = coalesce(?4, secret), updated_at = ?5, updated_by = ?6, seq = excluded.seq";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, kind);
    bind_text(s, 2, key);
    bind_text(s, 3, body);
    bind_text(s, 4, secret);
    sqlite3_bind_int64(s, 5, at);
    bind_text(s, 6, by);
    return step_done(st, s, "storing an edit", err);
}

int store_edit_delete(struct store *st, const char *kind, const char *key, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM directory_edits WHERE kind = ?1 AND key = ?2";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, kind);
    bind_text(s, 2, key);
    int rc = sqlite3_step(s);
    int changes = sqlite3_changes(st->db);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sql_fail(st, rc, "removing an edit", err);
    return changes ? 0 : yj_err_set(err, YJ_ENOTFOUND, "no %s \"%s\" was edited", kind, key);
}

int store_edit_list(struct store *st, const char *kind, store_edit_cb cb, void *ud, struct yj_err *err)
{
    static const char all[] =
        "SELECT kind, key, body, secret, updated_at, updated_by FROM directory_edits ORDER BY seq";
    static const char one[] = "SELECT kind, key, body, secret, updated_at, updated_by FROM directory_edits WHERE kind = "
                              "?1 ORDER BY seq";
    sqlite3_stmt *s = stmt(st, kind ? one : all, err);
    if (!s)
        return YJ_ESTORE;
    if (kind)
        bind_text(s, 1, kind);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_edit e = {.kind = (const char *)sqlite3_column_text(s, 0),
                               .key = (const char *)sqlite3_column_text(s, 1),
                               .body = (const char *)sqlite3_column_text(s, 2),
                               .secret = (const char *)sqlite3_column_text(s, 3),
                               .updated_at = sqlite3_column_int64(s, 4),
                               .updated_by = (const char *)sqlite3_column_text(s, 5)};
        if (cb(&e, ud) != 0) {
            sqlite3_reset(s);
            return 0;
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading the edits", err);
}

/* ---- shift swaps ---- */

#define SWAP_COLUMNS                                                                                             \
    "id, rotation, date, requester, taker, back_date, reason, status, created_at, created_by, on_behalf, "     \
    "answered_at, answered_by, answer_on_behalf"

static void read_swap(sqlite3_stmt *s, struct store_swap *w)
{
    *w = (struct store_swap){.id = sqlite3_column_int64(s, 0),
                             .rotation = col_text(s, 1),
                             .date = col_text(s, 2),
                             .requester = col_text(s, 3),
                             .taker = col_text(s, 4),
                             .back_date = col_text(s, 5),
                             .reason = col_text(s, 6),
                             .status = col_text(s, 7),
                             .created_at = sqlite3_column_int64(s, 8),
                             .created_by = col_text(s, 9),
                             .on_behalf = col_text(s, 10),
                             .answered_at = sqlite3_column_int64(s, 11),
                             .answered_by = col_text(s, 12),
                             .answer_on_behalf = col_text(s, 13)};
}

void store_swap_release(struct store_swap *w)
{
    char **fields[] = {&w->rotation, &w->date,       &w->requester, &w->taker,       &w->back_date,
                       &w->reason,   &w->status,     &w->created_by, &w->on_behalf,  &w->answered_by,
                       &w->answer_on_behalf};
    for (size_t i = 0; i < YJ_ARRAY_LEN(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
}

int store_swap_insert(struct store *st, const struct store_swap *w, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO shift_swaps (rotation, date, requester, taker, back_date, reason, "
                              "created_at, created_by, on_behalf) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, w->rotation);
    bind_text(s, 2, w->date);
    bind_text(s, 3, w->requester);
    bind_text(s, 4, w->taker);
    bind_text(s, 5, w->back_date);
    bind_text(s, 6, w->reason);
    sqlite3_bind_int64(s, 7, w->created_at);
    bind_text(s, 8, w->created_by);
    bind_text(s, 9, w->on_behalf);
    return step_insert(st, s, "recording a shift swap", id, err);
}

int store_swap_get(struct store *st, int64_t id, struct store_swap *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_swap(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no shift swap %lld", (long long)id);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading a shift swap", err);
}

int store_swap_list(struct store *st, const char *status, store_swap_cb cb, void *ud, struct yj_err *err)
{
    static const char all[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps ORDER BY id";
    static const char some[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps WHERE status = ?1 "
                                "ORDER BY coalesce(answered_at, created_at), id";
    sqlite3_stmt *s = stmt(st, status ? some : all, err);
    if (!s)
        return YJ_ESTORE;
    if (status)
        bind_text(s, 1, status);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_swap w;
        read_swap(s, &w);
        int stop = cb(&w, ud);
        store_swap_release(&w);
        if (stop)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the shift swaps", err);
}

int store_swap_answer(struct store *st, int64_t id, const char *status, int64_t at, const char *by,
                      const char *on_behalf, struct yj_err *err)
{
    /* Only a swap still proposed is answered: two answers at once, the second finds it taken. */
    static const char sql[] = "UPDATE shift_swaps SET status = ?2, answered_at = ?3, answered_by = ?4, "
                              "answer_on_behalf = ?5 WHERE id = ?1 AND status = 'proposed'";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, status);
    sqlite3_bind_int64(s, 3, at);
    bind_text(s, 4, by);
    bind_text(s, 5, on_behalf);
    int rc = sqlite3_step(s);
    int changes = sqlite3_changes(st->db);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sql_fail(st, rc, "answering a shift swap", err);
    return changes ? 0 : yj_err_set(err, YJ_ECONFLICT, "shift swap %lld is no longer proposed", (long long)id);
}
