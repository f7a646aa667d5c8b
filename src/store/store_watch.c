/* store_watch.c: the monitors' state and history and the web roots' integrity baselines, written
 * once for both engines on sql.h (issue 16): no scalar max(), no bare columns beside an aggregate,
 * no JSON functions (the signals' fields are read in C), flags as 0/1. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

#include <jansson.h>

/* ---- monitors ---- */

int store_monitor_register(struct store *st, const char *id, const char *target, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO monitors (id, target) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET "
                              "target = excluded.target";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_text(s, 2, target);
    return sql_done(s, "registering a monitor", err);
}

int store_monitor_check(struct store *st, const struct store_monitor_check *c, struct yj_err *err)
{
    /* The first good check of a new monitor makes it up; down and back up are the runner's call
     * (store_monitor_change), after its retries. */
    static const char state[] =
        "UPDATE monitors SET checked_at = $2, elapsed_ms = $3, http_status = $4, reason = $5, "
        "cert_expires_at = coalesce($6, cert_expires_at), since = CASE WHEN status = 'unknown' AND $7 = 1 THEN $2 "
        "ELSE since END, status = CASE WHEN status = 'unknown' AND $7 = 1 THEN 'up' ELSE status END WHERE id = $1";
    static const char hour[] =
        "INSERT INTO monitor_hours (monitor, hour, checks, failures, total_ms, max_ms) VALUES ($1, $2, 1, $3, $4, $4) "
        "ON CONFLICT (monitor, hour) DO UPDATE SET checks = monitor_hours.checks + 1, failures = "
        "monitor_hours.failures + excluded.failures, total_ms = monitor_hours.total_ms + excluded.total_ms, max_ms = "
        "CASE WHEN excluded.max_ms > monitor_hours.max_ms THEN excluded.max_ms ELSE monitor_hours.max_ms END";
    struct sql_stmt *s = sql_prepare(st->sql, state, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, c->id);
    sql_bind_int(s, 2, c->at);
    sql_bind_int(s, 3, c->elapsed_ms);
    sql_bind_int(s, 4, c->http_status);
    sql_bind_text(s, 5, c->reason && *c->reason ? c->reason : NULL);
    sql_bind_int_or_null(s, 6, c->cert_expires_at);
    sql_bind_int(s, 7, c->up);
    int rc = sql_done(s, "recording a check", err);
    if (rc < 0 || !(s = sql_prepare(st->sql, hour, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    sql_bind_text(s, 1, c->id);
    sql_bind_int(s, 2, c->at - c->at % 3600000);
    sql_bind_int(s, 3, !c->up);
    sql_bind_int(s, 4, c->up ? c->elapsed_ms : 0);
    return sql_done(s, "recording a check", err);
}

int store_monitor_change(struct store *st, const char *id, int64_t at, bool up, const char *reason,
                         struct yj_err *err)
{
    static const char ins[] = "INSERT INTO monitor_changes (monitor, at, status, reason) VALUES ($1, $2, $3, $4)";
    static const char upd[] = "UPDATE monitors SET status = $2, since = $3 WHERE id = $1";
    struct sql_stmt *s = sql_prepare(st->sql, ins, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_int(s, 2, at);
    sql_bind_text(s, 3, up ? "up" : "down");
    sql_bind_text(s, 4, reason && *reason ? reason : NULL);
    int rc = sql_done(s, "recording a monitor's change", err);
    if (rc < 0 || !(s = sql_prepare(st->sql, upd, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_text(s, 2, up ? "up" : "down");
    sql_bind_int(s, 3, at);
    return sql_done(s, "recording a monitor's change", err);
}

static void read_monitor(struct sql_stmt *s, void *row)
{
    struct store_monitor *m = row;
    *m = (struct store_monitor){.since = sql_col_int(s, 3),
                                .checked_at = sql_col_int(s, 4),
                                .elapsed_ms = sql_col_int(s, 5),
                                .http_status = sql_col_int(s, 6),
                                .cert_expires_at = sql_col_int(s, 8)};
    snprintf(m->id, sizeof(m->id), "%s", sql_col_text(s, 0));
    snprintf(m->target, sizeof(m->target), "%s", sql_col_text(s, 1));
    snprintf(m->status, sizeof(m->status), "%s", sql_col_text(s, 2));
    snprintf(m->reason, sizeof(m->reason), "%s", sql_col_text(s, 7) ? sql_col_text(s, 7) : "");
}

#define MONITOR_COLS                                                                                         \
    "id, target, status, coalesce(since, 0), coalesce(checked_at, 0), coalesce(elapsed_ms, 0), "                 \
    "coalesce(http_status, 0), reason, coalesce(cert_expires_at, 0)"

int store_monitor_list(struct store *st, struct store_monitor *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors ORDER BY id LIMIT $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, (int64_t)max);
    return sql_rows(s, out, sizeof(*out), max, n, read_monitor, "reading monitors", err);
}

int store_monitor_get(struct store *st, const char *id, struct store_monitor *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors WHERE id = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    size_t n = 0;
    int rc = sql_rows(s, out, sizeof(*out), 1, &n, read_monitor, "reading a monitor", err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no monitor %s", id);
    return rc;
}

static void read_hour(struct sql_stmt *s, void *row)
{
    struct store_monitor_hour *h = row;
    *h = (struct store_monitor_hour){.hour = sql_col_int(s, 0),
                                     .checks = sql_col_int(s, 1),
                                     .failures = sql_col_int(s, 2),
                                     .total_ms = sql_col_int(s, 3),
                                     .max_ms = sql_col_int(s, 4)};
}

int store_monitor_hours(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT hour, checks, failures, total_ms, max_ms FROM monitor_hours WHERE monitor = $1 "
                              "AND hour >= $2 ORDER BY hour LIMIT $3";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_int(s, 2, since);
    sql_bind_int(s, 3, (int64_t)max);
    return sql_rows(s, out, sizeof(*out), max, n, read_hour, "reading a monitor's history", err);
}

int store_monitor_totals(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT 0, coalesce(sum(checks), 0), coalesce(sum(failures), 0), coalesce(sum(total_ms), "
                              "0), coalesce(max(max_ms), 0) FROM monitor_hours WHERE monitor = $1 AND hour >= $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_int(s, 2, since);
    size_t n = 0;
    return sql_rows(s, out, sizeof(*out), 1, &n, read_hour, "reading a monitor's uptime", err);
}

static void read_change(struct sql_stmt *s, void *row)
{
    struct store_monitor_change *c = row;
    *c = (struct store_monitor_change){.at = sql_col_int(s, 0), .up = sql_col_int(s, 1) != 0};
    snprintf(c->reason, sizeof(c->reason), "%s", sql_col_text(s, 2) ? sql_col_text(s, 2) : "");
}

int store_monitor_changes(struct store *st, const char *id, struct store_monitor_change *out, size_t max, size_t *n,
                          struct yj_err *err)
{
    static const char sql[] = "SELECT at, CASE WHEN status = 'up' THEN 1 ELSE 0 END, reason FROM monitor_changes "
                              "WHERE monitor = $1 ORDER BY id DESC LIMIT $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, id);
    sql_bind_int(s, 2, (int64_t)max);
    return sql_rows(s, out, sizeof(*out), max, n, read_change, "reading a monitor's changes", err);
}

/* ---- file integrity ---- */

int store_integrity_put(struct store *st, const char *watch, const struct store_integrity_file *files, size_t n,
                        int64_t at, const char *by, struct yj_err *err)
{
    static const char del[] = "DELETE FROM integrity_files WHERE watch = $1";
    static const char ins[] = "INSERT INTO integrity_files (watch, path, size, hash) VALUES ($1, $2, $3, $4)";
    static const char head[] = "INSERT INTO integrity_baselines (watch, taken_at, files, taken_by) VALUES ($1, $2, $3, "
                               "$4) ON CONFLICT (watch) DO UPDATE SET taken_at = excluded.taken_at, files = "
                               "excluded.files, taken_by = excluded.taken_by";
    struct sql_stmt *s = sql_prepare(st->sql, del, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, watch);
    int rc = sql_done(s, "replacing a baseline", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(s = sql_prepare(st->sql, ins, err)))
            return YJ_ESTORE;
        sql_bind_text(s, 1, watch);
        sql_bind_text(s, 2, files[i].path);
        sql_bind_int(s, 3, files[i].size);
        sql_bind_text(s, 4, files[i].hash);
        rc = sql_done(s, "storing a baseline", err);
    }
    if (rc < 0 || !(s = sql_prepare(st->sql, head, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    sql_bind_text(s, 1, watch);
    sql_bind_int(s, 2, at);
    sql_bind_int(s, 3, (int64_t)n);
    sql_bind_text(s, 4, by);
    return sql_done(s, "storing a baseline", err);
}

int store_integrity_get(struct store *st, const char *watch, store_integrity_cb cb, void *ud, int64_t *taken_at,
                        struct yj_err *err)
{
    static const char head[] = "SELECT taken_at FROM integrity_baselines WHERE watch = $1";
    static const char sql[] = "SELECT path, size, hash FROM integrity_files WHERE watch = $1 ORDER BY path";
    struct sql_stmt *s = sql_prepare(st->sql, head, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, watch);
    int rc = sql_step(s, "reading a baseline", err);
    *taken_at = rc == SQL_ROW ? sql_col_int(s, 0) : 0;
    sql_reset(s);
    if (rc < 0)
        return rc;
    if (!(s = sql_prepare(st->sql, sql, err)))
        return YJ_ESTORE;
    sql_bind_text(s, 1, watch);
    while ((rc = sql_step(s, "reading a baseline", err)) == SQL_ROW) {
        struct store_integrity_file f = {sql_col_text(s, 0), sql_col_int(s, 1), sql_col_text(s, 2)};
        cb(&f, ud);
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int store_integrity_changes(struct store *st, int64_t incident_id, store_integrity_change_cb cb, void *ud,
                            struct yj_err *err)
{
    /* Each file once, by its newest signal (the baseline hash is the same in all of them), in the
     * order of watch and path. The fields are JSON text, read here rather than by the engine's
     * JSON functions (which differ). */
    static const char sql[] = "SELECT fields FROM signals WHERE incident_id = $1 AND source = 'integrity' ORDER BY id DESC";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    json_t *seen = json_object(); /* "watch\npath" → the newest signal's fields */
    int rc;
    while ((rc = sql_step(s, "reading an incident's changed files", err)) == SQL_ROW) {
        json_t *f = json_loads(sql_col_text(s, 0) ? sql_col_text(s, 0) : "", 0, NULL);
        const char *w = json_string_value(json_object_get(f, "integrity"));
        const char *p = json_string_value(json_object_get(f, "path"));
        if (w && p) {
            char *key = xasprintf("%s\n%s", w, p);
            if (!json_object_get(seen, key))
                json_object_set(seen, key, f);
            free(key);
        }
        json_decref(f);
    }
    sql_reset(s);
    if (rc < 0) {
        json_decref(seen);
        return rc;
    }
    /* The keys sorted: watch, then path (a newline sorts before any character of either). */
    size_t n = json_object_size(seen), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    const char *key;
    json_t *v;
    json_object_foreach(seen, key, v) {
        keys[i++] = key;
    }
    qsort(keys, n, sizeof(*keys), by_key);
    for (i = 0; i < n; i++) {
        json_t *f = json_object_get(seen, keys[i]);
        const char *change = json_string_value(json_object_get(f, "change"));
        const char *old = json_string_value(json_object_get(f, "old_hash"));
        cb(json_string_value(json_object_get(f, "integrity")), json_string_value(json_object_get(f, "path")),
           change ? change : "", old ? old : "", ud);
    }
    free(keys);
    json_decref(seen);
    return 0;
}
