/* sqlite_watch.c: the SQLite store (sqlite.c) — the monitors' state and history and the web roots'
 * integrity baselines. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

/* ---- monitors ---- */

int store_monitor_register(struct store *st, const char *id, const char *target, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO monitors (id, target) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET "
                              "target = ?2";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    bind_text(s, 2, target);
    return step_done(st, s, "registering a monitor", err);
}

int store_monitor_check(struct store *st, const struct store_monitor_check *c, struct yj_err *err)
{
    /* The first good check of a new monitor makes it up; down and back up are the runner's call
     * (store_monitor_change), after its retries. */
    static const char state[] =
        "UPDATE monitors SET checked_at = ?2, elapsed_ms = ?3, http_status = ?4, reason = ?5, "
        "cert_expires_at = coalesce(?6, cert_expires_at), since = CASE WHEN status = 'unknown' AND ?7 THEN ?2 ELSE "
        "since END, status = CASE WHEN status = 'unknown' AND ?7 THEN 'up' ELSE status END WHERE id = ?1";
    static const char hour[] =
        "INSERT INTO monitor_hours (monitor, hour, checks, failures, total_ms, max_ms) VALUES (?1, ?2, 1, ?3, ?4, ?4) "
        "ON CONFLICT (monitor, hour) DO UPDATE SET checks = checks + 1, failures = failures + ?3, total_ms = "
        "total_ms + ?4, max_ms = max(max_ms, ?4)";
    sqlite3_stmt *s = stmt(st, state, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->at);
    sqlite3_bind_int64(s, 3, c->elapsed_ms);
    sqlite3_bind_int64(s, 4, c->http_status);
    bind_text(s, 5, c->reason && *c->reason ? c->reason : NULL);
    if (c->cert_expires_at)
        sqlite3_bind_int64(s, 6, c->cert_expires_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int(s, 7, c->up);
    int rc = step_done(st, s, "recording a check", err);
    if (rc < 0 || !(s = stmt(st, hour, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->at - c->at % 3600000);
    sqlite3_bind_int(s, 3, !c->up);
    sqlite3_bind_int64(s, 4, c->up ? c->elapsed_ms : 0);
    return step_done(st, s, "recording a check", err);
}

int store_monitor_change(struct store *st, const char *id, int64_t at, bool up, const char *reason,
                         struct yj_err *err)
{
    static const char ins[] = "INSERT INTO monitor_changes (monitor, at, status, reason) VALUES (?, ?, ?, ?)";
    static const char upd[] = "UPDATE monitors SET status = ?2, since = ?3 WHERE id = ?1";
    sqlite3_stmt *s = stmt(st, ins, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    bind_text(s, 3, up ? "up" : "down");
    bind_text(s, 4, reason && *reason ? reason : NULL);
    int rc = step_done(st, s, "recording a monitor's change", err);
    if (rc < 0 || !(s = stmt(st, upd, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, id);
    bind_text(s, 2, up ? "up" : "down");
    sqlite3_bind_int64(s, 3, at);
    return step_done(st, s, "recording a monitor's change", err);
}

static void read_monitor(sqlite3_stmt *s, void *row)
{
    struct store_monitor *m = row;
    *m = (struct store_monitor){.since = sqlite3_column_int64(s, 3),
                                .checked_at = sqlite3_column_int64(s, 4),
                                .elapsed_ms = sqlite3_column_int64(s, 5),
                                .http_status = sqlite3_column_int64(s, 6),
                                .cert_expires_at = sqlite3_column_int64(s, 8)};
    snprintf(m->id, sizeof(m->id), "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(m->target, sizeof(m->target), "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(m->status, sizeof(m->status), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(m->reason, sizeof(m->reason), "%s", sqlite3_column_text(s, 7) ? (const char *)sqlite3_column_text(s, 7) : "");
}

#define MONITOR_COLS                                                                                         \
    "id, target, status, coalesce(since, 0), coalesce(checked_at, 0), coalesce(elapsed_ms, 0), "                 \
    "coalesce(http_status, 0), reason, coalesce(cert_expires_at, 0)"

int store_monitor_list(struct store *st, struct store_monitor *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors WHERE ?1 = ?1 ORDER BY id LIMIT ?2";
    return select_rows(st, sql, 0, out, sizeof(*out), max, n, read_monitor, "reading monitors", err);
}

int store_monitor_get(struct store *st, const char *id, struct store_monitor *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_monitor(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no monitor %s", id);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading a monitor", err);
}

static void read_hour(sqlite3_stmt *s, void *row)
{
    struct store_monitor_hour *h = row;
    *h = (struct store_monitor_hour){.hour = sqlite3_column_int64(s, 0),
                                     .checks = sqlite3_column_int64(s, 1),
                                     .failures = sqlite3_column_int64(s, 2),
                                     .total_ms = sqlite3_column_int64(s, 3),
                                     .max_ms = sqlite3_column_int64(s, 4)};
}

int store_monitor_hours(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT hour, checks, failures, total_ms, max_ms FROM monitor_hours WHERE monitor = ?3 "
                              "AND hour >= ?1 ORDER BY hour LIMIT ?2";
    return select_rows_of(st, sql, id, since, out, sizeof(*out), max, n, read_hour, "reading a monitor's history", err);
}

int store_monitor_totals(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT 0, coalesce(sum(checks), 0), coalesce(sum(failures), 0), coalesce(sum(total_ms), "
                              "0), coalesce(max(max_ms), 0) FROM monitor_hours WHERE monitor = ?3 AND hour >= ?1 AND "
                              "?2 = ?2";
    size_t n = 0;
    return select_rows_of(st, sql, id, since, out, sizeof(*out), 1, &n, read_hour, "reading a monitor's uptime", err);
}

static void read_change(sqlite3_stmt *s, void *row)
{
    struct store_monitor_change *c = row;
    *c = (struct store_monitor_change){.at = sqlite3_column_int64(s, 0), .up = sqlite3_column_int(s, 1)};
    snprintf(c->reason, sizeof(c->reason), "%s", sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "");
}

int store_monitor_changes(struct store *st, const char *id, struct store_monitor_change *out, size_t max, size_t *n,
                          struct yj_err *err)
{
    static const char sql[] = "SELECT at, status = 'up', reason FROM monitor_changes WHERE monitor = ?3 AND ?1 = ?1 "
                              "ORDER BY id DESC LIMIT ?2";
    return select_rows_of(st, sql, id, 0, out, sizeof(*out), max, n, read_change, "reading a monitor's changes", err);
}

/* ---- file integrity ---- */

int store_integrity_put(struct store *st, const char *watch, const struct store_integrity_file *files, size_t n,
                        int64_t at, const char *by, struct yj_err *err)
{
    static const char del[] = "DELETE FROM integrity_files WHERE watch = ?";
    static const char ins[] = "INSERT INTO integrity_files (watch, path, size, hash) VALUES (?, ?, ?, ?)";
    static const char head[] = "INSERT INTO integrity_baselines (watch, taken_at, files, taken_by) VALUES (?1, ?2, ?3, "
                               "?4) ON CONFLICT (watch) DO UPDATE SET taken_at = ?2, files = ?3, taken_by = ?4";
    sqlite3_stmt *s = stmt(st, del, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    int rc = step_done(st, s, "replacing a baseline", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(s = stmt(st, ins, err)))
            return YJ_ESTORE;
        bind_text(s, 1, watch);
        bind_text(s, 2, files[i].path);
        sqlite3_bind_int64(s, 3, files[i].size);
        bind_text(s, 4, files[i].hash);
        rc = step_done(st, s, "storing a baseline", err);
    }
    if (rc < 0 || !(s = stmt(st, head, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, watch);
    sqlite3_bind_int64(s, 2, at);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
    bind_text(s, 4, by);
    return step_done(st, s, "storing a baseline", err);
}

int store_integrity_get(struct store *st, const char *watch, store_integrity_cb cb, void *ud, int64_t *taken_at,
                        struct yj_err *err)
{
    static const char head[] = "SELECT taken_at FROM integrity_baselines WHERE watch = ?";
    static const char sql[] = "SELECT path, size, hash FROM integrity_files WHERE watch = ? ORDER BY path";
    sqlite3_stmt *s = stmt(st, head, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    int rc = sqlite3_step(s);
    *taken_at = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading a baseline", err);
    if (!(s = stmt(st, sql, err)))
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_integrity_file f = {(const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
                                         (const char *)sqlite3_column_text(s, 2)};
        cb(&f, ud);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading a baseline", err);
}

int store_integrity_changes(struct store *st, int64_t incident_id, store_integrity_change_cb cb, void *ud,
                            struct yj_err *err)
{
    /* The newest signal of each file first decides; the baseline hash is the same in all of them. */
    static const char sql[] =
        "SELECT json_extract(fields, '$.integrity') AS w, json_extract(fields, '$.path') AS p, "
        "json_extract(fields, '$.change'), json_extract(fields, '$.old_hash'), max(id) FROM signals WHERE "
        "incident_id = ? AND source = 'integrity' AND json_valid(fields) AND w IS NOT NULL AND p IS NOT NULL "
        "GROUP BY w, p ORDER BY w, p"; /* SQLite takes the bare columns from the max(id) row */
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "",
           sqlite3_column_text(s, 3) ? (const char *)sqlite3_column_text(s, 3) : "", ud);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading an incident's changed files", err);
}
