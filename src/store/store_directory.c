/* store_directory.c: the console's edits of the directory and the channels (directory_edits), and
 * shift swaps (shift_swaps). The first of the store's files written once for both engines, on
 * sql.h (issue 16): $N placeholders, RETURNING for new ids, ON CONFLICT for upserts. What an edit
 * means is the engine's (engine/directory.c); here they are rows. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* ---- edits ---- */

int store_edit_put(struct store *st, const char *kind, const char *key, const char *body, const char *secret,
                   int64_t at, const char *by, struct yj_err *err)
{
    /* seq: the newest edit applies last, so a person edited after a rotation that names them is
     * read in the order it was made. A secret left out keeps the stored one. */
    static const char sql[] =
        "INSERT INTO directory_edits (kind, key, body, secret, updated_at, updated_by, seq) VALUES ($1, $2, $3, $4, "
        "$5, $6, (SELECT coalesce(max(seq), 0) + 1 FROM directory_edits)) ON CONFLICT (kind, key) DO UPDATE SET "
        "body = excluded.body, secret = coalesce(excluded.secret, directory_edits.secret), updated_at = "
        "excluded.updated_at, updated_by = excluded.updated_by, seq = excluded.seq";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, kind);
    sql_bind_text(s, 2, key);
    sql_bind_text(s, 3, body);
    sql_bind_text(s, 4, secret);
    sql_bind_int(s, 5, at);
    sql_bind_text(s, 6, by);
    return sql_done(s, "storing an edit", err);
}

int store_edit_delete(struct store *st, const char *kind, const char *key, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM directory_edits WHERE kind = $1 AND key = $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, kind);
    sql_bind_text(s, 2, key);
    int rc = sql_step(s, "removing an edit", err);
    int64_t changes = sql_changes(s);
    sql_reset(s);
    if (rc < 0)
        return rc;
    return changes ? 0 : yj_err_set(err, YJ_ENOTFOUND, "no %s \"%s\" was edited", kind, key);
}

int store_edit_list(struct store *st, const char *kind, store_edit_cb cb, void *ud, struct yj_err *err)
{
    static const char all[] =
        "SELECT kind, key, body, secret, updated_at, updated_by FROM directory_edits ORDER BY seq";
    static const char one[] = "SELECT kind, key, body, secret, updated_at, updated_by FROM directory_edits WHERE kind = "
                              "$1 ORDER BY seq";
    struct sql_stmt *s = sql_prepare(st->sql, kind ? one : all, err);
    if (!s)
        return YJ_ESTORE;
    if (kind)
        sql_bind_text(s, 1, kind);
    int rc;
    while ((rc = sql_step(s, "reading the edits", err)) == SQL_ROW) {
        struct store_edit e = {.kind = sql_col_text(s, 0),
                               .key = sql_col_text(s, 1),
                               .body = sql_col_text(s, 2),
                               .secret = sql_col_text(s, 3),
                               .updated_at = sql_col_int(s, 4),
                               .updated_by = sql_col_text(s, 5)};
        if (cb(&e, ud) != 0)
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

/* ---- shift swaps ---- */

#define SWAP_COLUMNS                                                                                             \
    "id, rotation, date, requester, taker, back_date, reason, status, created_at, created_by, on_behalf, "     \
    "answered_at, answered_by, answer_on_behalf"

static void read_swap(struct sql_stmt *s, struct store_swap *w)
{
    *w = (struct store_swap){.id = sql_col_int(s, 0),
                             .rotation = sql_col_dup(s, 1),
                             .date = sql_col_dup(s, 2),
                             .requester = sql_col_dup(s, 3),
                             .taker = sql_col_dup(s, 4),
                             .back_date = sql_col_dup(s, 5),
                             .reason = sql_col_dup(s, 6),
                             .status = sql_col_dup(s, 7),
                             .created_at = sql_col_int(s, 8),
                             .created_by = sql_col_dup(s, 9),
                             .on_behalf = sql_col_dup(s, 10),
                             .answered_at = sql_col_int(s, 11),
                             .answered_by = sql_col_dup(s, 12),
                             .answer_on_behalf = sql_col_dup(s, 13)};
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
                              "created_at, created_by, on_behalf) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                              "RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, w->rotation);
    sql_bind_text(s, 2, w->date);
    sql_bind_text(s, 3, w->requester);
    sql_bind_text(s, 4, w->taker);
    sql_bind_text(s, 5, w->back_date);
    sql_bind_text(s, 6, w->reason);
    sql_bind_int(s, 7, w->created_at);
    sql_bind_text(s, 8, w->created_by);
    sql_bind_text(s, 9, w->on_behalf);
    int rc = sql_step(s, "recording a shift swap", err);
    if (rc == SQL_ROW)
        *id = sql_col_int(s, 0);
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_swap_get(struct store *st, int64_t id, struct store_swap *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps WHERE id = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, id);
    int rc = sql_step(s, "reading a shift swap", err);
    if (rc == SQL_ROW)
        read_swap(s, out);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no shift swap %lld", (long long)id);
    return rc < 0 ? rc : 0;
}

int store_swap_list(struct store *st, const char *status, store_swap_cb cb, void *ud, struct yj_err *err)
{
    static const char all[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps ORDER BY id";
    static const char some[] = "SELECT " SWAP_COLUMNS " FROM shift_swaps WHERE status = $1 "
                               "ORDER BY coalesce(answered_at, created_at), id";
    struct sql_stmt *s = sql_prepare(st->sql, status ? some : all, err);
    if (!s)
        return YJ_ESTORE;
    if (status)
        sql_bind_text(s, 1, status);
    int rc;
    while ((rc = sql_step(s, "reading the shift swaps", err)) == SQL_ROW) {
        struct store_swap w;
        read_swap(s, &w);
        int stop = cb(&w, ud);
        store_swap_release(&w);
        if (stop)
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_swap_answer(struct store *st, int64_t id, const char *status, int64_t at, const char *by,
                      const char *on_behalf, struct yj_err *err)
{
    /* Only a swap still proposed is answered: two answers at once, the second finds it taken. */
    static const char sql[] = "UPDATE shift_swaps SET status = $2, answered_at = $3, answered_by = $4, "
                              "answer_on_behalf = $5 WHERE id = $1 AND status = 'proposed'";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, id);
    sql_bind_text(s, 2, status);
    sql_bind_int(s, 3, at);
    sql_bind_text(s, 4, by);
    sql_bind_text(s, 5, on_behalf);
    int rc = sql_step(s, "answering a shift swap", err);
    int64_t changes = sql_changes(s);
    sql_reset(s);
    if (rc < 0)
        return rc;
    return changes ? 0 : yj_err_set(err, YJ_ECONFLICT, "shift swap %lld is no longer proposed", (long long)id);
}
