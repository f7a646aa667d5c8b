/* sqlite_clock.c: the SQLite store (sqlite.c) — the clock: escalations, notifications and their
 * deliveries. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

/* ---- the clock ---- */

int store_deadline_overdue(struct store *st, int64_t now, struct store_deadline *out, size_t max, size_t *n,
                           struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.incident_id, d.kind, d.due_at FROM deadlines d "
                              "JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL AND d.overdue_at IS NULL "
                              "AND d.due_at <= ? AND i.status NOT IN ('closed', 'dismissed') ORDER BY d.due_at, d.id "
                              "LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        struct store_deadline *d = &out[k++];
        *d = (struct store_deadline){.id = sqlite3_column_int64(s, 0),
                                     .incident_id = sqlite3_column_int64(s, 1),
                                     .due_at = sqlite3_column_int64(s, 3)};
        snprintf(d->kind, sizeof(d->kind), "%s", (const char *)sqlite3_column_text(s, 2));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading overdue deadlines", err);
    *n = k;
    return 0;
}

int store_clock_due(struct store *st, int64_t now, bool *any, struct yj_err *err)
{
    /* Three index probes; the same conditions as the queries the clock then runs. */
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM deadlines d JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL "
        "AND d.overdue_at IS NULL AND d.due_at <= ?1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE t.status IN ('todo', "
        "'doing') AND t.overdue_at IS NULL AND t.due_at <= ?1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM escalations WHERE stopped_at IS NULL AND next_at IS NOT NULL AND next_at <= ?1)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *any = sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "looking for what is due", err);
}

int store_deadline_mark_overdue(struct store *st, int64_t incident_id, const char *kind, int64_t at,
                                struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET overdue_at = ? WHERE incident_id = ? AND kind = ? AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, at, "marking a deadline overdue", err);
}

#define ESCALATION_COLS                                                                                     \
    "id, incident_id, deadline, policy, step, sent, coalesce(next_at, 0), started_at, coalesce(stopped_at, 0), "     \
    "coalesce(stop_reason, '')"

static void read_escalation(sqlite3_stmt *s, void *row)
{
    struct store_escalation *e = row;
    *e = (struct store_escalation){.id = sqlite3_column_int64(s, 0),
                                   .incident_id = sqlite3_column_int64(s, 1),
                                   .step = sqlite3_column_int64(s, 4),
                                   .sent = sqlite3_column_int64(s, 5),
                                   .next_at = sqlite3_column_int64(s, 6),
                                   .started_at = sqlite3_column_int64(s, 7),
                                   .stopped_at = sqlite3_column_int64(s, 8)};
    snprintf(e->deadline, sizeof(e->deadline), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(e->policy, sizeof(e->policy), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(e->stop_reason, sizeof(e->stop_reason), "%s", (const char *)sqlite3_column_text(s, 9));
}

static int escalation_select(struct store *st, const char *sql, int64_t arg, struct store_escalation *out, size_t max,
                             size_t *n, struct yj_err *err)
{
    return select_rows(st, sql, arg, out, sizeof(*out), max, n, read_escalation, "reading escalations", err);
}

int store_escalation_due(struct store *st, int64_t now, struct store_escalation *out, size_t max, size_t *n,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT " ESCALATION_COLS " FROM escalations WHERE stopped_at IS NULL AND next_at IS "
                              "NOT NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?";
    return escalation_select(st, sql, now, out, max, n, err);
}

int store_escalation_list(struct store *st, int64_t incident_id, struct store_escalation *out, size_t max,
                          size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " ESCALATION_COLS " FROM escalations WHERE incident_id = ? ORDER BY id LIMIT ?";
    return escalation_select(st, sql, incident_id, out, max, n, err);
}

int store_escalation_insert(struct store *st, struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO escalations (incident_id, deadline, policy, step, sent, next_at, started_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, deadline) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, e->incident_id);
    bind_text(s, 2, e->deadline);
    bind_text(s, 3, e->policy);
    sqlite3_bind_int64(s, 4, e->step);
    sqlite3_bind_int64(s, 5, e->sent);
    if (e->next_at)
        sqlite3_bind_int64(s, 6, e->next_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, e->started_at);
    int rc = step_insert(st, s, "starting an escalation", &e->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return yj_err_set(err, YJ_ECONFLICT, "the %s deadline of incident %lld is already escalating", e->deadline,
                          (long long)e->incident_id);
    return rc;
}

int store_escalation_update(struct store *st, const struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET step = ?, sent = ?, next_at = ?, stopped_at = ?, stop_reason = ? "
                              "WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, e->step);
    sqlite3_bind_int64(s, 2, e->sent);
    if (e->next_at)
        sqlite3_bind_int64(s, 3, e->next_at);
    else
        sqlite3_bind_null(s, 3);
    if (e->stopped_at)
        sqlite3_bind_int64(s, 4, e->stopped_at);
    else
        sqlite3_bind_null(s, 4);
    bind_text(s, 5, e->stop_reason[0] ? e->stop_reason : NULL);
    sqlite3_bind_int64(s, 6, e->id);
    return step_done(st, s, "advancing an escalation", err);
}

int store_escalation_stop_all(struct store *st, int64_t incident_id, const char *deadline, int64_t at,
                              const char *reason, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET stopped_at = ?, stop_reason = ? WHERE incident_id = ? AND "
                              "stopped_at IS NULL AND (?4 IS NULL OR deadline = ?4)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, reason);
    sqlite3_bind_int64(s, 3, incident_id);
    bind_text(s, 4, deadline);
    return step_done(st, s, "stopping escalations", err);
}

int store_notification_insert(struct store *st, struct store_notification *n, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO notifications (incident_id, escalation_id, created_at, recipient, target, "
                              "subject, body, idempotency_key, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (idempotency_key) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    if (n->incident_id)
        sqlite3_bind_int64(s, 1, n->incident_id);
    else
        sqlite3_bind_null(s, 1); /* a message about no incident (the daily audit checkpoint) */
    if (n->escalation_id)
        sqlite3_bind_int64(s, 2, n->escalation_id);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, n->created_at);
    bind_text(s, 4, n->recipient);
    bind_text(s, 5, n->target);
    bind_text(s, 6, n->subject);
    bind_text(s, 7, n->body);
    bind_text(s, 8, n->idempotency_key);
    sqlite3_bind_int64(s, 9, n->next_attempt_at ? n->next_attempt_at : n->created_at);
    int rc = step_insert(st, s, "queueing a notification", &n->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        n->id = 0;
    return rc;
}

int store_notification_list(struct store *st, int64_t incident_id, store_notification_cb cb, void *ud,
                            struct yj_err *err)
{
    static const char sql[] = "SELECT id, incident_id, coalesce(escalation_id, 0), created_at, recipient, target, "
                              "subject, body, idempotency_key, status, attempts, next_attempt_at, last_error, "
                              "coalesce(sent_at, 0) FROM notifications WHERE incident_id = ? ORDER BY id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_notification n = {
            .id = sqlite3_column_int64(s, 0),
            .incident_id = sqlite3_column_int64(s, 1),
            .escalation_id = sqlite3_column_int64(s, 2),
            .created_at = sqlite3_column_int64(s, 3),
            .recipient = (const char *)sqlite3_column_text(s, 4),
            .target = (const char *)sqlite3_column_text(s, 5),
            .subject = (const char *)sqlite3_column_text(s, 6),
            .body = (const char *)sqlite3_column_text(s, 7),
            .idempotency_key = (const char *)sqlite3_column_text(s, 8),
            .status = (const char *)sqlite3_column_text(s, 9),
            .attempts = sqlite3_column_int64(s, 10),
            .next_attempt_at = sqlite3_column_int64(s, 11),
            .last_error = (const char *)sqlite3_column_text(s, 12),
            .sent_at = sqlite3_column_int64(s, 13),
        };
        if (cb(&n, ud))
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading notifications", err);
}

int store_delivery_expand(struct store *st, const char *channel, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deliveries (notification_id, channel, next_attempt_at) "
                              "SELECT n.id, ?1, n.next_attempt_at FROM notifications n WHERE n.status = 'pending' "
                              "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND "
                              "d.channel = ?1)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, channel);
    return step_done(st, s, "routing notifications to a channel", err);
}

int store_delivery_due(struct store *st, int64_t now, struct store_delivery *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.notification_id, d.channel, d.attempts, n.incident_id, "
                              "coalesce(i.number, ''), n.recipient, n.subject, n.body, n.idempotency_key, n.created_at "
                              "FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
                              "LEFT JOIN incidents i ON i.id = n.incident_id WHERE d.status = 'pending' AND "
                              "d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        struct store_delivery *d = &out[k++];
        *d = (struct store_delivery){.id = sqlite3_column_int64(s, 0),
                                     .notification_id = sqlite3_column_int64(s, 1),
                                     .attempts = sqlite3_column_int64(s, 3),
                                     .incident_id = sqlite3_column_int64(s, 4),
                                     .created_at = sqlite3_column_int64(s, 10)};
        snprintf(d->channel, sizeof(d->channel), "%s", (const char *)sqlite3_column_text(s, 2));
        snprintf(d->incident, sizeof(d->incident), "%s", (const char *)sqlite3_column_text(s, 5));
        d->recipient = col_text(s, 6);
        d->subject = col_text(s, 7);
        d->body = col_text(s, 8);
        d->key = col_text(s, 9);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading deliveries", err);
    *n = k;
    return 0;
}

void store_delivery_release(struct store_delivery *d)
{
    free(d->recipient);
    free(d->subject);
    free(d->body);
    free(d->key);
    d->recipient = d->subject = d->body = d->key = NULL;
}

int store_delivery_result(struct store *st, int64_t id, const char *status, int64_t attempts, int64_t next_attempt_at,
                          const char *error, int64_t sent_at, struct yj_err *err)
{
    static const char sql[] = "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                              "sent_at = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, status);
    sqlite3_bind_int64(s, 2, attempts);
    sqlite3_bind_int64(s, 3, next_attempt_at);
    bind_text(s, 4, error);
    if (sent_at)
        sqlite3_bind_int64(s, 5, sent_at);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, id);
    return step_done(st, s, "recording a delivery", err);
}

int store_notification_settle(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    /* Done when no delivery is pending: sent if any channel took it, failed if one gave up. */
    static const char sql[] =
        "UPDATE notifications SET status = CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ?1 "
        "AND status = 'failed') THEN 'failed' ELSE 'sent' END, sent_at = ?2, attempts = (SELECT coalesce(sum(attempts), "
        "0) FROM deliveries WHERE notification_id = ?1), last_error = (SELECT last_error FROM deliveries WHERE "
        "notification_id = ?1 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) WHERE id = ?1 AND status = "
        "'pending' AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ?1 AND status = 'pending')";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    return step_done(st, s, "settling a notification", err);
}
