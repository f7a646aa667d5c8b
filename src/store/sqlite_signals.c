/* sqlite_signals.c: the SQLite store (sqlite.c) — log positions, the live events and the signals. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

/* ---- log positions ---- */

int store_logpos_get(struct store *st, const char *path, struct store_logpos *out, struct yj_err *err)
{
    static const char sql[] = "SELECT dev, inode, offset, head_len, head FROM log_positions WHERE path = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, path);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        struct store_logpos p = {.path = path,
                                 .dev = sqlite3_column_int64(s, 0),
                                 .inode = sqlite3_column_int64(s, 1),
                                 .offset = sqlite3_column_int64(s, 2),
                                 .head_len = sqlite3_column_int64(s, 3)};
        const unsigned char *head = sqlite3_column_text(s, 4);
        snprintf(p.head, sizeof(p.head), "%s", head ? (const char *)head : "");
        *out = p;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no position stored for %s", path);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading a log position", err);
}

int store_logpos_put(struct store *st, const struct store_logpos *p, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO log_positions (path, dev, inode, offset, head_len, head, updated_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, "
                              "inode = excluded.inode, offset = excluded.offset, head_len = excluded.head_len, "
                              "head = excluded.head, updated_at = excluded.updated_at";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, p->path);
    sqlite3_bind_int64(s, 2, p->dev);
    sqlite3_bind_int64(s, 3, p->inode);
    sqlite3_bind_int64(s, 4, p->offset);
    sqlite3_bind_int64(s, 5, p->head_len);
    bind_text(s, 6, p->head);
    sqlite3_bind_int64(s, 7, at);
    return step_done(st, s, "recording a log position", err);
}

/* ---- events ---- */

int store_event_append(struct store *st, int64_t at, const char *kind, int64_t incident_id, const char *unit,
                       const char *reporter, const char *payload, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO events (at, kind, incident_id, unit, reporter, payload) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, kind);
    if (incident_id)
        sqlite3_bind_int64(s, 3, incident_id);
    else
        sqlite3_bind_null(s, 3);
    bind_text(s, 4, unit);
    bind_text(s, 5, reporter);
    bind_text(s, 6, payload);
    int64_t ignored;
    return step_insert(st, s, "recording an event", id ? id : &ignored, err);
}

int store_event_list(struct store *st, int64_t after_id, int limit, store_event_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, at, kind, coalesce(incident_id, 0), unit, reporter, payload FROM events "
                              "WHERE id > ? ORDER BY id LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_event e = {
            .id = sqlite3_column_int64(s, 0),
            .at = sqlite3_column_int64(s, 1),
            .kind = (const char *)sqlite3_column_text(s, 2),
            .incident_id = sqlite3_column_int64(s, 3),
            .unit = (const char *)sqlite3_column_text(s, 4),
            .reporter = (const char *)sqlite3_column_text(s, 5),
            .payload = (const char *)sqlite3_column_text(s, 6),
        };
        if (cb(&e, ud))
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading events", err);
    sqlite3_reset(s);
    return out;
}

int store_event_last(struct store *st, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "SELECT coalesce(max(id), 0) FROM events";
    return query_int(st, sql, NULL, id, "reading the last event", err);
}

/* ---- signals ---- */

int store_signal_insert(struct store *st, struct store_signal *x, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO signals (received_at, time, source, program, host, asset, message, fields) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, x->received_at);
    sqlite3_bind_int64(s, 2, x->time);
    bind_text(s, 3, x->source);
    bind_text(s, 4, x->program);
    bind_text(s, 5, x->host);
    bind_text(s, 6, x->asset);
    bind_text(s, 7, x->message);
    bind_text(s, 8, x->fields ? x->fields : "{}");
    return step_insert(st, s, "storing a signal", &x->id, err);
}

int store_signal_processed(struct store *st, int64_t id, int64_t at, const char *rule, const char *extracted,
                           int64_t incident_id, struct yj_err *err)
{
    static const char sql[] = "UPDATE signals SET processed_at = ?, rule = ?, incident_id = ?, extracted = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, rule);
    if (incident_id)
        sqlite3_bind_int64(s, 3, incident_id);
    else
        sqlite3_bind_null(s, 3);
    bind_text(s, 4, extracted);
    sqlite3_bind_int64(s, 5, id);
    return step_done(st, s, "recording a signal's outcome", err);
}

/* ?1 = a, ?2 = b, ?3 = text (NULL stays NULL). */
static int signal_rows(struct store *st, const char *sql, int64_t a, int64_t b, const char *text, store_signal_cb cb,
                       void *ud, struct yj_err *err)
{
    /* Not cached: the callback may write (processing), which a live cached reader would block. */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sql_fail(st, rc, "reading signals", err);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (text)
        sqlite3_bind_text(s, 3, text, -1, SQLITE_TRANSIENT);
    /* Collect first, then call back, so the callback is free to write. */
    struct store_signal *rows = NULL;
    char **texts = NULL;
    size_t n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows = xrealloc(rows, (n + 1) * sizeof(*rows));
        texts = xrealloc(texts, (n + 1) * 9 * sizeof(char *));
        char **t = &texts[n * 9];
        /* The rule and the incident's number come with store_signal_latest only. */
        for (int i = 0; i < 9; i++)
            t[i] = 3 + i < sqlite3_column_count(s) ? col_text(s, 3 + i) : NULL;
        rows[n] = (struct store_signal){.id = sqlite3_column_int64(s, 0),
                                        .received_at = sqlite3_column_int64(s, 1),
                                        .time = sqlite3_column_int64(s, 2),
                                        .source = t[0],
                                        .program = t[1],
                                        .host = t[2],
                                        .asset = t[3],
                                        .message = t[4],
                                        .fields = t[5],
                                        .rule = t[6],
                                        .incident = t[7],
                                        .extracted = t[8]};
        n++;
    }
    int out = rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading signals", err);
    sqlite3_finalize(s);
    for (size_t i = 0; i < n && out == 0; i++)
        if (cb(&rows[i], ud))
            break;
    for (size_t i = 0; i < n * 9; i++)
        free(texts[i]);
    free(texts);
    free(rows);
    return out;
}

int store_signal_unprocessed(struct store *st, int limit, store_signal_cb cb, void *ud, struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT id, received_at, time, source, program, host, asset, message, fields FROM signals "
                       "WHERE processed_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
                       0, limit, NULL, cb, ud, err);
}

int store_signal_latest(struct store *st, const char *source, int limit, store_signal_cb cb, void *ud,
                        struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT s.id, s.received_at, s.time, s.source, s.program, s.host, s.asset, s.message, s.fields, "
                       "s.rule, i.number, s.extracted FROM signals s LEFT JOIN incidents i ON i.id = s.incident_id WHERE ?1 = ?1 "
                       "AND (?3 IS NULL OR s.source = ?3) ORDER BY s.id DESC LIMIT ?2",
                       0, limit, source, cb, ud, err);
}

int store_signal_recent(struct store *st, int64_t since, store_signal_cb cb, void *ud, struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT id, received_at, time, source, program, host, asset, message, fields FROM signals "
                       "WHERE time >= ?1 AND processed_at IS NOT NULL ORDER BY time, id LIMIT ?2",
                       since, -1, NULL, cb, ud, err);
}

int store_incident_open_by_fingerprint(struct store *st, const char *fingerprint, struct store_incident *out,
                                       struct yj_err *err)
{
    static const char sql[] = "SELECT id FROM incidents WHERE fingerprint = ? AND status NOT IN ('closed', 'dismissed') "
                              "ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, fingerprint);
    int rc = sqlite3_step(s);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no open incident with that fingerprint");
    if (rc != SQLITE_ROW)
        return sql_fail(st, rc, "finding the open incident", err);
    return store_incident_get(st, id, NULL, out, err);
}
