/* store_clock.c: the clock's tables — overdue deadlines, escalations, notifications and their
 * deliveries — written once for both engines on sql.h (issue 16). */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* ---- the clock ---- */

static void read_overdue(struct sql_stmt *s, void *row)
{
    struct store_deadline *d = row;
    *d = (struct store_deadline){.id = sql_col_int(s, 0), .incident_id = sql_col_int(s, 1), .due_at = sql_col_int(s, 3)};
    snprintf(d->kind, sizeof(d->kind), "%s", sql_col_text(s, 2));
}

int store_deadline_overdue(struct store *st, int64_t now, struct store_deadline *out, size_t max, size_t *n,
                           struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.incident_id, d.kind, d.due_at FROM deadlines d "
                              "JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL AND d.overdue_at IS NULL "
                              "AND d.due_at <= $1 AND i.status NOT IN ('closed', 'dismissed') ORDER BY d.due_at, d.id "
                              "LIMIT $2";
    return sql_rows_of(st->sql, sql, now, out, sizeof(*out), max, n, read_overdue, "reading overdue deadlines", err);
}

int store_clock_due(struct store *st, int64_t now, bool *any, struct yj_err *err)
{
    /* Three index probes; the same conditions as the queries the clock then runs. */
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM deadlines d JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL "
        "AND d.overdue_at IS NULL AND d.due_at <= $1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE t.status IN ('todo', "
        "'doing') AND t.overdue_at IS NULL AND t.due_at <= $1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM escalations WHERE stopped_at IS NULL AND next_at IS NOT NULL AND next_at <= $1)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, now);
    int64_t v = 0;
    int rc = sql_one_int(s, "looking for what is due", &v, err);
    if (rc == 0)
        *any = v != 0;
    return rc;
}

int store_deadline_mark_overdue(struct store *st, int64_t incident_id, const char *kind, int64_t at,
                                struct yj_err *err)
{
    static const char sql[] =
        "UPDATE deadlines SET overdue_at = $1 WHERE incident_id = $2 AND kind = $3 AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, at, "marking a deadline overdue", err);
}

#define ESCALATION_COLS                                                                                     \
    "id, incident_id, deadline, policy, step, sent, coalesce(next_at, 0), started_at, coalesce(stopped_at, 0), "     \
    "coalesce(stop_reason, '')"

static void read_escalation(struct sql_stmt *s, void *row)
{
    struct store_escalation *e = row;
    *e = (struct store_escalation){.id = sql_col_int(s, 0),
                                   .incident_id = sql_col_int(s, 1),
                                   .step = sql_col_int(s, 4),
                                   .sent = sql_col_int(s, 5),
                                   .next_at = sql_col_int(s, 6),
                                   .started_at = sql_col_int(s, 7),
                                   .stopped_at = sql_col_int(s, 8)};
    snprintf(e->deadline, sizeof(e->deadline), "%s", sql_col_text(s, 2));
    snprintf(e->policy, sizeof(e->policy), "%s", sql_col_text(s, 3));
    snprintf(e->stop_reason, sizeof(e->stop_reason), "%s", sql_col_text(s, 9));
}

static int escalation_select(struct store *st, const char *sql, int64_t arg, struct store_escalation *out, size_t max,
                             size_t *n, struct yj_err *err)
{
    return sql_rows_of(st->sql, sql, arg, out, sizeof(*out), max, n, read_escalation, "reading escalations", err);
}

int store_escalation_due(struct store *st, int64_t now, struct store_escalation *out, size_t max, size_t *n,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT " ESCALATION_COLS " FROM escalations WHERE stopped_at IS NULL AND next_at IS "
                              "NOT NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2";
    return escalation_select(st, sql, now, out, max, n, err);
}

int store_escalation_list(struct store *st, int64_t incident_id, struct store_escalation *out, size_t max,
                          size_t *n, struct yj_err *err)
{
    static const char sql[] =
        "SELECT " ESCALATION_COLS " FROM escalations WHERE incident_id = $1 ORDER BY id LIMIT $2";
    return escalation_select(st, sql, incident_id, out, max, n, err);
}

/* An integer parameter that is NULL when 0 (a time that has not happened). */
int store_escalation_insert(struct store *st, struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO escalations (incident_id, deadline, policy, step, sent, next_at, started_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (incident_id, deadline) DO NOTHING "
                              "RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, e->incident_id);
    sql_bind_text(s, 2, e->deadline);
    sql_bind_text(s, 3, e->policy);
    sql_bind_int(s, 4, e->step);
    sql_bind_int(s, 5, e->sent);
    sql_bind_int_or_null(s, 6, e->next_at);
    sql_bind_int(s, 7, e->started_at);
    /* The conflict returns no row: the deadline is escalating already. */
    int rc = sql_step(s, "starting an escalation", err);
    if (rc == SQL_ROW)
        e->id = sql_col_int(s, 0);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ECONFLICT, "the %s deadline of incident %lld is already escalating", e->deadline,
                          (long long)e->incident_id);
    return rc < 0 ? rc : 0;
}

int store_escalation_update(struct store *st, const struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET step = $1, sent = $2, next_at = $3, stopped_at = $4, "
                              "stop_reason = $5 WHERE id = $6";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, e->step);
    sql_bind_int(s, 2, e->sent);
    sql_bind_int_or_null(s, 3, e->next_at);
    sql_bind_int_or_null(s, 4, e->stopped_at);
    sql_bind_text(s, 5, e->stop_reason[0] ? e->stop_reason : NULL);
    sql_bind_int(s, 6, e->id);
    return sql_done_later(s, "advancing an escalation", err);
}

int store_escalation_stop_all(struct store *st, int64_t incident_id, const char *deadline, int64_t at,
                              const char *reason, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET stopped_at = $1, stop_reason = $2 WHERE incident_id = $3 AND "
                              "stopped_at IS NULL AND (CAST($4 AS TEXT) IS NULL OR deadline = $4)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, reason);
    sql_bind_int(s, 3, incident_id);
    sql_bind_text(s, 4, deadline);
    return sql_done(s, "stopping escalations", err);
}

int store_notification_insert(struct store *st, struct store_notification *n, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO notifications (incident_id, escalation_id, created_at, recipient, target, "
                              "subject, body, idempotency_key, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                              "$8, $9) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int_or_null(s, 1, n->incident_id); /* NULL: a message about no incident (the daily audit checkpoint) */
    sql_bind_int_or_null(s, 2, n->escalation_id);
    sql_bind_int(s, 3, n->created_at);
    sql_bind_text(s, 4, n->recipient);
    sql_bind_text(s, 5, n->target);
    sql_bind_text(s, 6, n->subject);
    sql_bind_text(s, 7, n->body);
    sql_bind_text(s, 8, n->idempotency_key);
    sql_bind_int(s, 9, n->next_attempt_at ? n->next_attempt_at : n->created_at);
    /* Queued before under the same key: no row comes back, and the id says so. */
    int rc = sql_step(s, "queueing a notification", err);
    n->id = rc == SQL_ROW ? sql_col_int(s, 0) : 0;
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_notification_list(struct store *st, int64_t incident_id, store_notification_cb cb, void *ud,
                            struct yj_err *err)
{
    static const char sql[] = "SELECT id, incident_id, coalesce(escalation_id, 0), created_at, recipient, target, "
                              "subject, body, idempotency_key, status, attempts, next_attempt_at, last_error, "
                              "coalesce(sent_at, 0) FROM notifications WHERE incident_id = $1 ORDER BY id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    int rc;
    while ((rc = sql_step(s, "reading notifications", err)) == SQL_ROW) {
        struct store_notification n = {
            .id = sql_col_int(s, 0),
            .incident_id = sql_col_int(s, 1),
            .escalation_id = sql_col_int(s, 2),
            .created_at = sql_col_int(s, 3),
            .recipient = sql_col_text(s, 4),
            .target = sql_col_text(s, 5),
            .subject = sql_col_text(s, 6),
            .body = sql_col_text(s, 7),
            .idempotency_key = sql_col_text(s, 8),
            .status = sql_col_text(s, 9),
            .attempts = sql_col_int(s, 10),
            .next_attempt_at = sql_col_int(s, 11),
            .last_error = sql_col_text(s, 12),
            .sent_at = sql_col_int(s, 13),
        };
        if (cb(&n, ud))
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_delivery_expand(struct store *st, const char *channel, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deliveries (notification_id, channel, next_attempt_at) "
                              "SELECT n.id, $1, n.next_attempt_at FROM notifications n WHERE n.status = 'pending' "
                              "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND "
                              "d.channel = $1)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, channel);
    return sql_done(s, "routing notifications to a channel", err);
}

static void read_delivery(struct sql_stmt *s, void *row)
{
    struct store_delivery *d = row;
    *d = (struct store_delivery){.id = sql_col_int(s, 0),
                                 .notification_id = sql_col_int(s, 1),
                                 .attempts = sql_col_int(s, 3),
                                 .incident_id = sql_col_int(s, 4),
                                 .created_at = sql_col_int(s, 10)};
    snprintf(d->channel, sizeof(d->channel), "%s", sql_col_text(s, 2));
    snprintf(d->incident, sizeof(d->incident), "%s", sql_col_text(s, 5));
    d->recipient = sql_col_dup(s, 6);
    d->subject = sql_col_dup(s, 7);
    d->body = sql_col_dup(s, 8);
    d->key = sql_col_dup(s, 9);
}

int store_delivery_due(struct store *st, int64_t now, struct store_delivery *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.notification_id, d.channel, d.attempts, n.incident_id, "
                              "coalesce(i.number, ''), n.recipient, n.subject, n.body, n.idempotency_key, n.created_at "
                              "FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
                              "LEFT JOIN incidents i ON i.id = n.incident_id WHERE d.status = 'pending' AND "
                              "d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.id LIMIT $2";
    return sql_rows_of(st->sql, sql, now, out, sizeof(*out), max, n, read_delivery, "reading deliveries", err);
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
    static const char sql[] = "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, "
                              "last_error = $4, sent_at = $5 WHERE id = $6";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, status);
    sql_bind_int(s, 2, attempts);
    sql_bind_int(s, 3, next_attempt_at);
    sql_bind_text(s, 4, error);
    sql_bind_int_or_null(s, 5, sent_at);
    sql_bind_int(s, 6, id);
    return sql_done_later(s, "recording a delivery", err);
}

int store_notification_settle(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    /* Done when no delivery is pending: sent if any channel took it, failed if one gave up. */
    static const char sql[] =
        "UPDATE notifications SET status = CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE notification_id = $1 "
        "AND status = 'failed') THEN 'failed' ELSE 'sent' END, sent_at = $2, attempts = (SELECT coalesce(sum(attempts), "
        "0) FROM deliveries WHERE notification_id = $1), last_error = (SELECT last_error FROM deliveries WHERE "
        "notification_id = $1 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) WHERE id = $1 AND status = "
        "'pending' AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = $1 AND status = 'pending')";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, id);
    sql_bind_int(s, 2, at);
    return sql_done_later(s, "settling a notification", err);
}
