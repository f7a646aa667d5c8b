/* store_signals.c: log positions, the live events and the signals, written once for both engines
 * on sql.h (issue 16): `offset` quoted (a reserved word in PostgreSQL), no LIMIT -1, new ids by
 * RETURNING, every parameter typed by its use. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* ---- log positions ---- */

int store_logpos_get(struct store *st, const char *path, struct store_logpos *out, struct yj_err *err)
{
    static const char sql[] = "SELECT dev, inode, \"offset\", head_len, head FROM log_positions WHERE path = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, path);
    int rc = sql_step(s, "reading a log position", err);
    if (rc == SQL_ROW) {
        struct store_logpos p = {.path = path,
                                 .dev = sql_col_int(s, 0),
                                 .inode = sql_col_int(s, 1),
                                 .offset = sql_col_int(s, 2),
                                 .head_len = sql_col_int(s, 3)};
        const char *head = sql_col_text(s, 4);
        snprintf(p.head, sizeof(p.head), "%s", head ? head : "");
        *out = p;
    }
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no position stored for %s", path);
    return rc < 0 ? rc : 0;
}

int store_logpos_put(struct store *st, const struct store_logpos *p, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO log_positions (path, dev, inode, \"offset\", head_len, head, updated_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, "
                              "inode = excluded.inode, \"offset\" = excluded.\"offset\", head_len = excluded.head_len, "
                              "head = excluded.head, updated_at = excluded.updated_at";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, p->path);
    sql_bind_int(s, 2, p->dev);
    sql_bind_int(s, 3, p->inode);
    sql_bind_int(s, 4, p->offset);
    sql_bind_int(s, 5, p->head_len);
    sql_bind_text(s, 6, p->head);
    sql_bind_int(s, 7, at);
    return sql_done(s, "recording a log position", err);
}

/* ---- events ---- */

int store_event_append(struct store *st, int64_t at, const char *kind, int64_t incident_id, const char *unit,
                       const char *reporter, const char *payload, int64_t *id, struct yj_err *err)
{
    static const char with_id[] = "INSERT INTO events (at, kind, incident_id, unit, reporter, payload) "
                                  "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    static const char without[] = "INSERT INTO events (at, kind, incident_id, unit, reporter, payload) "
                                  "VALUES ($1, $2, $3, $4, $5, $6)";
    /* Readers follow the ids: one committed under a lower id after a higher one would be missed. */
    if (store_need_order(st, "recording an event", err) < 0)
        return YJ_ESTATE;
    struct sql_stmt *s = sql_prepare(st->sql, id ? with_id : without, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, kind);
    sql_bind_int_or_null(s, 3, incident_id);
    sql_bind_text(s, 4, unit);
    sql_bind_text(s, 5, reporter);
    sql_bind_text(s, 6, payload);
    /* Nobody waiting for the id (an incident's change): sent ahead with the transaction's next
     * statement that answers, a round trip fewer on PostgreSQL (four an incident). */
    int rc = id ? sql_insert_id(s, "recording an event", id, err) : sql_done_later(s, "recording an event", err);
    /* Other nodes' live clients hear of it at the commit, not at their next look. */
    return rc < 0 ? rc : sql_notify_events(st->sql, err);
}

int store_events_listen(struct store *st, struct yj_err *err)
{
    return sql_listen_events(st->sql, err);
}

int store_events_wait(struct store *st, int timeout_ms, bool *woken, struct yj_err *err)
{
    return sql_wait_events(st->sql, timeout_ms, woken, err);
}

int store_event_list(struct store *st, int64_t after_id, int limit, store_event_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, at, kind, coalesce(incident_id, 0), unit, reporter, payload FROM events "
                              "WHERE id > $1 ORDER BY id LIMIT $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, after_id);
    sql_bind_int(s, 2, limit > 0 ? limit : INT64_MAX);
    int rc;
    while ((rc = sql_step(s, "reading events", err)) == SQL_ROW) {
        struct store_event e = {
            .id = sql_col_int(s, 0),
            .at = sql_col_int(s, 1),
            .kind = sql_col_text(s, 2),
            .incident_id = sql_col_int(s, 3),
            .unit = sql_col_text(s, 4),
            .reporter = sql_col_text(s, 5),
            .payload = sql_col_text(s, 6),
        };
        if (cb(&e, ud))
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_event_last(struct store *st, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "SELECT coalesce(max(id), 0) FROM events";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sql_step(s, "reading the last event", err);
    if (rc == SQL_ROW)
        *id = sql_col_int(s, 0);
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

/* ---- signals ---- */

#define SIGNAL_INSERT                                                                                                  \
    "INSERT INTO signals (received_at, time, source, program, host, asset, message, fields) VALUES ($1, $2, $3, $4, "  \
    "$5, $6, $7, $8)"
static const char signal_insert[] = SIGNAL_INSERT;
static const char signal_insert_id[] = SIGNAL_INSERT " RETURNING id";

static struct sql_stmt *signal_bound(struct store *st, const char *sql, const struct store_signal *x,
                                     struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return NULL;
    sql_bind_int(s, 1, x->received_at);
    sql_bind_int(s, 2, x->time);
    sql_bind_text(s, 3, x->source);
    sql_bind_text(s, 4, x->program);
    sql_bind_text(s, 5, x->host);
    sql_bind_text(s, 6, x->asset);
    sql_bind_text(s, 7, x->message);
    sql_bind_text(s, 8, x->fields ? x->fields : "{}");
    return s;
}

int store_signal_insert(struct store *st, struct store_signal *x, struct yj_err *err)
{
    struct sql_stmt *s = signal_bound(st, signal_insert_id, x, err);
    if (!s)
        return YJ_ESTORE;
    return sql_insert_id(s, "storing a signal", &x->id, err);
}

int store_signals_insert(struct store *st, const struct store_signal *sigs, size_t n, struct yj_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct sql_stmt *s = signal_bound(st, signal_insert, &sigs[i], err);
        if (!s)
            return YJ_ESTORE;
        int rc = sql_done_later(s, "storing a signal", err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int store_signal_processed(struct store *st, int64_t id, int64_t at, const char *rule, const char *extracted,
                           int64_t incident_id, struct yj_err *err)
{
    static const char sql[] =
        "UPDATE signals SET processed_at = $1, rule = $2, incident_id = $3, extracted = $4 WHERE id = $5";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, rule);
    sql_bind_int_or_null(s, 3, incident_id);
    sql_bind_text(s, 4, extracted);
    sql_bind_int(s, 5, id);
    return sql_done_later(s, "recording a signal's outcome", err);
}

/* Rows of one of the signal queries (its integer parameters first, then the text one when given),
 * collected and the statement reset before the callbacks, so that a callback is free to write. */
static int signal_rows(struct store *st, const char *sql, const int64_t *ints, int n_ints, const char *text,
                       bool has_text, store_signal_cb cb, void *ud, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    for (int i = 0; i < n_ints; i++)
        sql_bind_int(s, i + 1, ints[i]);
    if (has_text)
        sql_bind_text(s, n_ints + 1, text);
    struct store_signal *rows = NULL;
    char **texts = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sql_step(s, "reading signals", err)) == SQL_ROW) {
        rows = xrealloc(rows, (n + 1) * sizeof(*rows));
        texts = xrealloc(texts, (n + 1) * 9 * sizeof(char *));
        char **t = &texts[n * 9];
        /* The rule and the incident's number come with store_signal_latest only. */
        int cols = sql_col_count(s);
        for (int i = 0; i < 9; i++)
            t[i] = 3 + i < cols ? sql_col_dup(s, 3 + i) : NULL;
        rows[n] = (struct store_signal){.id = sql_col_int(s, 0),
                                        .received_at = sql_col_int(s, 1),
                                        .time = sql_col_int(s, 2),
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
    sql_reset(s);
    int out = rc < 0 ? rc : 0;
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
    static const char sql[] = "SELECT id, received_at, time, source, program, host, asset, message, fields FROM "
                              "signals WHERE processed_at IS NULL ORDER BY id LIMIT $1";
    const int64_t ints[] = {limit > 0 ? limit : INT64_MAX};
    return signal_rows(st, sql, ints, 1, NULL, false, cb, ud, err);
}

int store_signal_latest(struct store *st, const char *source, int limit, store_signal_cb cb, void *ud,
                        struct yj_err *err)
{
    static const char sql[] =
        "SELECT s.id, s.received_at, s.time, s.source, s.program, s.host, s.asset, s.message, s.fields, s.rule, "
        "i.number, s.extracted FROM signals s LEFT JOIN incidents i ON i.id = s.incident_id WHERE "
        "(CAST($2 AS TEXT) IS NULL OR s.source = $2) ORDER BY s.id DESC LIMIT $1";
    const int64_t ints[] = {limit > 0 ? limit : INT64_MAX};
    return signal_rows(st, sql, ints, 1, source, true, cb, ud, err);
}

int store_signal_recent(struct store *st, int64_t since, store_signal_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, received_at, time, source, program, host, asset, message, fields FROM "
                              "signals WHERE time >= $1 AND processed_at IS NOT NULL ORDER BY time, id";
    const int64_t ints[] = {since};
    return signal_rows(st, sql, ints, 1, NULL, false, cb, ud, err);
}

void store_forget_none_open(struct store *st)
{
    for (size_t i = 0; i < st->none_open.n; i++)
        free(st->none_open.fingerprints[i]);
    free(st->none_open.fingerprints);
    st->none_open.fingerprints = NULL;
    st->none_open.n = 0;
}

enum { NONE_OPEN_MAX = 1024 }; /* more than a page of the detector's signals (250) */

static bool known_none_open(struct store *st, const char *fingerprint)
{
    if (!sql_ordered(st->sql) || st->none_open.mark != sql_txn_mark(st->sql)) {
        store_forget_none_open(st);
        st->none_open.mark = sql_txn_mark(st->sql);
        return false;
    }
    for (size_t i = 0; i < st->none_open.n; i++)
        if (strcmp(st->none_open.fingerprints[i], fingerprint) == 0)
            return true;
    return false;
}

/* After known_none_open said no for this transaction (which set the mark). */
static void note_none_open(struct store *st, const char *fingerprint)
{
    if (!sql_ordered(st->sql) || st->none_open.n == NONE_OPEN_MAX)
        return;
    if (!st->none_open.fingerprints)
        st->none_open.fingerprints = xcalloc(NONE_OPEN_MAX, sizeof(char *));
    st->none_open.fingerprints[st->none_open.n++] = xstrdup(fingerprint);
}

int store_incident_open_by_fingerprint(struct store *st, const char *fingerprint, struct store_incident *out,
                                       struct yj_err *err)
{
    static const char sql[] = "SELECT id FROM incidents WHERE fingerprint = $1 AND status NOT IN ('closed', "
                              "'dismissed') ORDER BY id DESC LIMIT 1";
    if (known_none_open(st, fingerprint))
        return yj_err_set(err, YJ_ENOTFOUND, "no open incident with that fingerprint");
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, fingerprint);
    int rc = sql_step(s, "finding the open incident", err);
    int64_t id = rc == SQL_ROW ? sql_col_int(s, 0) : 0;
    sql_reset(s);
    if (rc == SQL_DONE) {
        note_none_open(st, fingerprint);
        return yj_err_set(err, YJ_ENOTFOUND, "no open incident with that fingerprint");
    }
    if (rc < 0)
        return rc;
    return store_incident_get(st, id, NULL, out, err);
}
