/* store_response.c: the response to an incident — its playbook tasks and the addresses blocked for
 * it — written once for both engines on sql.h (issue 16): new ids by RETURNING (a task already
 * there returns none), flags compared as 0/1, no JSON functions (the signals' addresses are read
 * in C), every parameter typed by its use. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

#include <jansson.h>

/* ---- playbook tasks ---- */

#define TASK_COLS                                                                                            \
    "t.id, t.incident_id, t.step, t.phase, t.title, t.owner_role, t.owner_unit, t.contact, t.action, t.approval, "  \
    "t.created_at, coalesce(t.due_at, 0), t.status, t.reason, t.note, t.updated_by, coalesce(t.updated_at, 0), "    \
    "coalesce(t.overdue_at, 0), t.approval_status, t.approved_by, coalesce(t.approved_at, 0), t.approval_reason, " \
    "t.assignee"

static void read_task(struct sql_stmt *s, struct store_task *t)
{
    *t = (struct store_task){.id = sql_col_int(s, 0),
                             .incident_id = sql_col_int(s, 1),
                             .step = sql_col_int(s, 2),
                             .title = sql_col_dup(s, 4),
                             .owner_role = sql_col_dup(s, 5),
                             .owner_unit = sql_col_dup(s, 6),
                             .contact = sql_col_dup(s, 7),
                             .action = sql_col_dup(s, 8),
                             .approval = sql_col_int(s, 9) != 0,
                             .created_at = sql_col_int(s, 10),
                             .due_at = sql_col_int(s, 11),
                             .reason = sql_col_dup(s, 13),
                             .note = sql_col_dup(s, 14),
                             .updated_by = sql_col_dup(s, 15),
                             .updated_at = sql_col_int(s, 16),
                             .overdue_at = sql_col_int(s, 17),
                             .approved_by = sql_col_dup(s, 19),
                             .approved_at = sql_col_int(s, 20),
                             .approval_reason = sql_col_dup(s, 21),
                             .assignee = sql_col_dup(s, 22)};
    const char *as = sql_col_text(s, 18);
    snprintf(t->approval_status, sizeof(t->approval_status), "%s", as ? as : "");
    snprintf(t->phase, sizeof(t->phase), "%s", sql_col_text(s, 3));
    snprintf(t->status, sizeof(t->status), "%s", sql_col_text(s, 12));
}

void store_task_release(struct store_task *t)
{
    free(t->title);
    free(t->owner_role);
    free(t->owner_unit);
    free(t->contact);
    free(t->action);
    free(t->reason);
    free(t->note);
    free(t->updated_by);
    free(t->approved_by);
    free(t->approval_reason);
    free(t->assignee);
    memset(t, 0, sizeof(*t));
}

int store_task_insert(struct store *st, struct store_task *t, struct yj_err *err)
{
    /* A step the incident has already yields no row: its id stays 0. $9 is BIGINT for the column,
     * so PostgreSQL is told the same where it is compared (a bare 1 would make it INTEGER). */
    static const char sql[] = "INSERT INTO tasks (incident_id, step, phase, title, owner_role, owner_unit, contact, "
                              "action, approval, created_at, due_at, approval_status) VALUES ($1, $2, $3, $4, $5, $6, "
                              "$7, $8, $9, $10, $11, CASE WHEN CAST($9 AS BIGINT) = 1 THEN 'pending' END) ON CONFLICT "
                              "(incident_id, step) DO NOTHING RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, t->incident_id);
    sql_bind_int(s, 2, t->step);
    sql_bind_text(s, 3, t->phase);
    sql_bind_text(s, 4, t->title);
    sql_bind_text(s, 5, t->owner_role);
    sql_bind_text(s, 6, t->owner_unit);
    sql_bind_text(s, 7, t->contact);
    sql_bind_text(s, 8, t->action);
    sql_bind_int(s, 9, t->approval ? 1 : 0);
    sql_bind_int(s, 10, t->created_at);
    sql_bind_int_or_null(s, 11, t->due_at);
    int rc = sql_step(s, "adding a task", err);
    t->id = rc == SQL_ROW ? sql_col_int(s, 0) : 0;
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

/* Up to max tasks of a query whose integer parameters are args, $1 on; none kept on a failure. */
static int task_select(struct store *st, const char *sql, const int64_t *args, int n_args, struct store_task *out,
                       size_t max, size_t *n, const char *doing, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    for (int i = 0; i < n_args; i++)
        sql_bind_int(s, i + 1, args[i]);
    size_t k = 0;
    int rc = 0;
    while (k < max && (rc = sql_step(s, doing, err)) == SQL_ROW)
        read_task(s, &out[k++]);
    sql_reset(s);
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            store_task_release(&out[i]);
        return rc;
    }
    *n = k;
    return 0;
}

int store_task_list(struct store *st, int64_t incident_id, struct store_task *out, size_t max, size_t *n,
                    struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.incident_id = $1 ORDER BY t.step LIMIT $2";
    const int64_t args[] = {incident_id, (int64_t)max};
    return task_select(st, sql, args, 2, out, max, n, "reading tasks", err);
}

int store_task_get(struct store *st, int64_t id, struct store_task *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = $1";
    const int64_t args[] = {id};
    size_t n = 0;
    int rc = task_select(st, sql, args, 1, out, 1, &n, "reading a task", err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no task %lld", (long long)id);
    return rc;
}

int store_task_update(struct store *st, const struct store_task *t, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET status = $1, reason = $2, note = $3, updated_by = $4, updated_at = $5, "
                              "approval_status = $6, approved_by = $7, approved_at = $8, approval_reason = $9, "
                              "assignee = $10 WHERE id = $11";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, t->status);
    sql_bind_text(s, 2, t->reason);
    sql_bind_text(s, 3, t->note);
    sql_bind_text(s, 4, t->updated_by);
    sql_bind_int(s, 5, t->updated_at);
    sql_bind_text(s, 6, t->approval_status[0] ? t->approval_status : NULL);
    sql_bind_text(s, 7, t->approved_by);
    sql_bind_int_or_null(s, 8, t->approved_at);
    sql_bind_text(s, 9, t->approval_reason);
    sql_bind_text(s, 10, t->assignee);
    sql_bind_int(s, 11, t->id);
    return sql_done(s, "updating a task", err);
}

int store_task_overdue(struct store *st, int64_t now, struct store_task *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.status IN ('todo', 'doing') AND t.overdue_at IS NULL AND t.due_at IS NOT NULL "
                              "AND t.due_at <= $1 AND i.status NOT IN ('closed', 'dismissed') ORDER BY t.due_at "
                              "LIMIT $2";
    const int64_t args[] = {now, (int64_t)max};
    return task_select(st, sql, args, 2, out, max, n, "reading overdue tasks", err);
}

int store_task_action_due(struct store *st, struct store_task *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.action IS NOT NULL AND t.action != 'none' AND t.action_status IS NULL "
                              "AND t.status = 'todo' AND (t.approval_status IS NULL OR t.approval_status = 'approved') "
                              "AND i.status NOT IN ('closed', 'dismissed') ORDER BY t.id LIMIT $1";
    const int64_t args[] = {(int64_t)max};
    return task_select(st, sql, args, 1, out, max, n, "reading actions to run", err);
}

int store_task_action_result(struct store *st, int64_t id, const char *status, const char *output, int64_t at,
                             struct yj_err *err)
{
    static const char sql[] =
        "UPDATE tasks SET action_status = $1, action_output = $2, action_at = $3, status = CASE WHEN $1 = "
        "'succeeded' THEN 'done' ELSE status END, updated_by = CASE WHEN $1 = 'succeeded' THEN 'action' ELSE "
        "updated_by END, updated_at = CASE WHEN $1 = 'succeeded' THEN $3 ELSE updated_at END WHERE id = $4";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, status);
    sql_bind_text(s, 2, output);
    sql_bind_int(s, 3, at);
    sql_bind_int(s, 4, id);
    return sql_done(s, "recording an action", err);
}

int store_task_mark_overdue(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET overdue_at = $1 WHERE id = $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_int(s, 2, id);
    return sql_done(s, "marking a task overdue", err);
}

/* ---- blocked addresses ---- */

/* The `ip` of a signal's JSON as SQLite's json_extract gave it as text: a string as it is, true
 * and false as 1 and 0, a number, object or array as its compact JSON; NULL for none or null. */
static char *ip_of(json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_boolean(v))
        return xstrdup(json_is_true(v) ? "1" : "0");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int store_incident_addresses(struct store *st, int64_t incident_id, char **out, size_t max, size_t *n,
                             struct yj_err *err)
{
    /* A signal a rule matched names the address its line holds (extracted); the sender's own
     * fields count only for signals no rule read (a sensor's structured report). Each address
     * once, in the order of the signal that first named it; the JSON is read here rather than by
     * the engine's JSON functions (which differ), text that is not JSON names none. */
    static const char sql[] = "SELECT coalesce(extracted, fields) FROM signals WHERE incident_id = $1 ORDER BY id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    json_t *seen = json_object(); /* the addresses kept so far, as keys */
    size_t k = 0;
    int rc = 0;
    while (k < max && (rc = sql_step(s, "reading an incident's addresses", err)) == SQL_ROW) {
        const char *text = sql_col_text(s, 0);
        json_t *f = text ? json_loads(text, 0, NULL) : NULL;
        char *ip = ip_of(json_is_object(f) ? json_object_get(f, "ip") : NULL);
        if (ip && !json_object_get(seen, ip)) {
            json_object_set_new(seen, ip, json_true());
            out[k++] = ip;
        } else {
            free(ip);
        }
        json_decref(f);
    }
    sql_reset(s);
    json_decref(seen);
    if (rc < 0) {
        for (size_t i = 0; i < k; i++)
            free(out[i]);
        *n = 0;
        return rc;
    }
    *n = k;
    return 0;
}

#define BLOCK_COLS                                                                                          \
    "b.id, b.address, b.incident_id, i.number, coalesce(b.task_id, 0), b.blocked_at, b.expires_at, "           \
    "coalesce(b.released_at, 0), coalesce(b.released_by, ''), coalesce(b.release_reason, '')"

static void read_block(struct sql_stmt *s, void *row)
{
    struct store_block *b = row;
    *b = (struct store_block){.id = sql_col_int(s, 0),
                              .incident_id = sql_col_int(s, 2),
                              .task_id = sql_col_int(s, 4),
                              .blocked_at = sql_col_int(s, 5),
                              .expires_at = sql_col_int(s, 6),
                              .released_at = sql_col_int(s, 7)};
    snprintf(b->address, sizeof(b->address), "%s", sql_col_text(s, 1));
    snprintf(b->incident, sizeof(b->incident), "%s", sql_col_text(s, 3));
    snprintf(b->released_by, sizeof(b->released_by), "%s", sql_col_text(s, 8));
    snprintf(b->release_reason, sizeof(b->release_reason), "%s", sql_col_text(s, 9));
}

/* Blocks of a query with $1 = arg and $2 = max. */
static int block_select(struct store *st, const char *sql, int64_t arg, struct store_block *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    return sql_rows_of(st->sql, sql, arg, out, sizeof(*out), max, n, read_block, "reading blocked addresses", err);
}

int store_block_list(struct store *st, bool active, struct store_block *out, size_t max, size_t *n,
                     struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE $1 = 0 OR b.released_at IS NULL ORDER BY b.id DESC LIMIT $2";
    return block_select(st, sql, active ? 1 : 0, out, max, n, err);
}

int store_block_expired(struct store *st, int64_t now, struct store_block *out, size_t max, size_t *n,
                        struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE b.released_at IS NULL AND b.expires_at <= $1 ORDER BY b.expires_at LIMIT $2";
    return block_select(st, sql, now, out, max, n, err);
}

int store_block_release(struct store *st, int64_t id, int64_t at, const char *by, const char *reason,
                        struct yj_err *err)
{
    static const char sql[] = "UPDATE blocks SET released_at = $1, released_by = $2, release_reason = $3 WHERE id = $4 "
                              "AND released_at IS NULL";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, by);
    sql_bind_text(s, 3, reason);
    sql_bind_int(s, 4, id);
    return sql_done(s, "releasing a block", err);
}

int store_block_insert(struct store *st, struct store_block *b, struct yj_err *err)
{
    static const char renew[] = "UPDATE blocks SET released_at = $1, release_reason = 'renewed' WHERE address = $2 "
                                "AND released_at IS NULL";
    static const char sql[] = "INSERT INTO blocks (address, incident_id, task_id, blocked_at, expires_at) "
                              "VALUES ($1, $2, $3, $4, $5) RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, renew, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, b->blocked_at);
    sql_bind_text(s, 2, b->address);
    int rc = sql_done(s, "renewing a block", err);
    if (rc < 0)
        return rc;
    if (!(s = sql_prepare(st->sql, sql, err)))
        return YJ_ESTORE;
    sql_bind_text(s, 1, b->address);
    sql_bind_int(s, 2, b->incident_id);
    sql_bind_int_or_null(s, 3, b->task_id);
    sql_bind_int(s, 4, b->blocked_at);
    sql_bind_int(s, 5, b->expires_at);
    return sql_insert_id(s, "recording a block", &b->id, err);
}
