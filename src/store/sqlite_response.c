/* sqlite_response.c: the SQLite store (sqlite.c) — the response to an incident: its playbook tasks
 * and the addresses blocked for it. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

/* ---- playbook tasks ---- */

#define TASK_COLS                                                                                            \
    "t.id, t.incident_id, t.step, t.phase, t.title, t.owner_role, t.owner_unit, t.contact, t.action, t.approval, "  \
    "t.created_at, coalesce(t.due_at, 0), t.status, t.reason, t.note, t.updated_by, coalesce(t.updated_at, 0), "    \
    "coalesce(t.overdue_at, 0), t.approval_status, t.approved_by, coalesce(t.approved_at, 0), t.approval_reason, " \
    "t.assignee"

static void read_task(sqlite3_stmt *s, struct store_task *t)
{
    *t = (struct store_task){.id = sqlite3_column_int64(s, 0),
                             .incident_id = sqlite3_column_int64(s, 1),
                             .step = sqlite3_column_int64(s, 2),
                             .title = col_text(s, 4),
                             .owner_role = col_text(s, 5),
                             .owner_unit = col_text(s, 6),
                             .contact = col_text(s, 7),
                             .action = col_text(s, 8),
                             .approval = sqlite3_column_int64(s, 9) != 0,
                             .created_at = sqlite3_column_int64(s, 10),
                             .due_at = sqlite3_column_int64(s, 11),
                             .reason = col_text(s, 13),
                             .note = col_text(s, 14),
                             .updated_by = col_text(s, 15),
                             .updated_at = sqlite3_column_int64(s, 16),
                             .overdue_at = sqlite3_column_int64(s, 17),
                             .approved_by = col_text(s, 19),
                             .approved_at = sqlite3_column_int64(s, 20),
                             .approval_reason = col_text(s, 21),
                             .assignee = col_text(s, 22)};
    const unsigned char *as = sqlite3_column_text(s, 18);
    snprintf(t->approval_status, sizeof(t->approval_status), "%s", as ? (const char *)as : "");
    snprintf(t->phase, sizeof(t->phase), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(t->status, sizeof(t->status), "%s", (const char *)sqlite3_column_text(s, 12));
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
    static const char sql[] = "INSERT INTO tasks (incident_id, step, phase, title, owner_role, owner_unit, contact, "
                              "action, approval, created_at, due_at, approval_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?, CASE WHEN ?9 THEN 'pending' END) ON CONFLICT (incident_id, step) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, t->incident_id);
    sqlite3_bind_int64(s, 2, t->step);
    bind_text(s, 3, t->phase);
    bind_text(s, 4, t->title);
    bind_text(s, 5, t->owner_role);
    bind_text(s, 6, t->owner_unit);
    bind_text(s, 7, t->contact);
    bind_text(s, 8, t->action);
    sqlite3_bind_int(s, 9, t->approval);
    sqlite3_bind_int64(s, 10, t->created_at);
    if (t->due_at)
        sqlite3_bind_int64(s, 11, t->due_at);
    else
        sqlite3_bind_null(s, 11);
    int rc = step_insert(st, s, "adding a task", &t->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        t->id = 0;
    return rc;
}

static int task_select(struct store *st, const char *sql, int64_t a, int64_t b, struct store_task *out, size_t max,
                       size_t *n, const char *doing, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max)
        read_task(s, &out[k++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        for (size_t i = 0; i < k; i++)
            store_task_release(&out[i]);
        return sql_fail(st, rc, doing, err);
    }
    *n = k;
    return 0;
}

int store_task_list(struct store *st, int64_t incident_id, struct store_task *out, size_t max, size_t *n,
                    struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.incident_id = ? ORDER BY t.step LIMIT ?";
    return task_select(st, sql, incident_id, (int64_t)max, out, max, n, "reading tasks", err);
}

int store_task_get(struct store *st, int64_t id, struct store_task *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ? LIMIT ?";
    size_t n = 0;
    int rc = task_select(st, sql, id, 1, out, 1, &n, "reading a task", err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no task %lld", (long long)id);
    return rc;
}

int store_task_update(struct store *st, const struct store_task *t, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET status = ?, reason = ?, note = ?, updated_by = ?, updated_at = ?, "
                              "approval_status = ?, approved_by = ?, approved_at = ?, approval_reason = ?, assignee = ? "
                              "WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, t->status);
    bind_text(s, 2, t->reason);
    bind_text(s, 3, t->note);
    bind_text(s, 4, t->updated_by);
    sqlite3_bind_int64(s, 5, t->updated_at);
    bind_text(s, 6, t->approval_status[0] ? t->approval_status : NULL);
    bind_text(s, 7, t->approved_by);
    if (t->approved_at)
        sqlite3_bind_int64(s, 8, t->approved_at);
    else
        sqlite3_bind_null(s, 8);
    bind_text(s, 9, t->approval_reason);
    bind_text(s, 10, t->assignee);
    sqlite3_bind_int64(s, 11, t->id);
    return step_done(st, s, "updating a task", err);
}

int store_task_overdue(struct store *st, int64_t now, struct store_task *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.status IN ('todo', 'doing') AND t.overdue_at IS NULL AND t.due_at IS NOT NULL "
                              "AND t.due_at <= ? AND i.status NOT IN ('closed', 'dismissed') ORDER BY t.due_at LIMIT ?";
    return task_select(st, sql, now, (int64_t)max, out, max, n, "reading overdue tasks", err);
}

int store_task_action_due(struct store *st, struct store_task *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.action IS NOT NULL AND t.action != 'none' AND t.action_status IS NULL "
                              "AND t.status = 'todo' AND (t.approval_status IS NULL OR t.approval_status = 'approved') "
                              "AND i.status NOT IN ('closed', 'dismissed') AND ?1 = ?1 ORDER BY t.id LIMIT ?2";
    return task_select(st, sql, 0, (int64_t)max, out, max, n, "reading actions to run", err);
}

int store_task_action_result(struct store *st, int64_t id, const char *status, const char *output, int64_t at,
                             struct yj_err *err)
{
    static const char sql[] =
        "UPDATE tasks SET action_status = ?1, action_output = ?2, action_at = ?3, status = CASE WHEN ?1 = "
        "'succeeded' THEN 'done' ELSE status END, updated_by = CASE WHEN ?1 = 'succeeded' THEN 'action' ELSE "
        "updated_by END, updated_at = CASE WHEN ?1 = 'succeeded' THEN ?3 ELSE updated_at END WHERE id = ?4";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, status);
    bind_text(s, 2, output);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_int64(s, 4, id);
    return step_done(st, s, "recording an action", err);
}

int store_task_mark_overdue(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET overdue_at = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_int64(s, 2, id);
    return step_done(st, s, "marking a task overdue", err);
}

/* ---- blocked addresses ---- */

int store_incident_addresses(struct store *st, int64_t incident_id, char **out, size_t max, size_t *n,
                             struct yj_err *err)
{
    /* A signal a rule matched names the address its line holds (extracted); the sender's own
     * fields count only for signals no rule read (a sensor's structured report). */
    static const char sql[] = "SELECT json_extract(coalesce(extracted, fields), '$.ip') AS ip FROM signals "
                              "WHERE incident_id = ? AND json_valid(coalesce(extracted, fields)) AND ip IS NOT NULL "
                              "GROUP BY ip ORDER BY min(id) LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max)
        out[k++] = col_text(s, 0);
    sqlite3_reset(s);
    *n = k;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        for (size_t i = 0; i < k; i++)
            free(out[i]);
        *n = 0;
        return sql_fail(st, rc, "reading an incident's addresses", err);
    }
    return 0;
}

#define BLOCK_COLS                                                                                          \
    "b.id, b.address, b.incident_id, i.number, coalesce(b.task_id, 0), b.blocked_at, b.expires_at, "           \
    "coalesce(b.released_at, 0), coalesce(b.released_by, ''), coalesce(b.release_reason, '')"

static void read_block(sqlite3_stmt *s, void *row)
{
    struct store_block *b = row;
    *b = (struct store_block){.id = sqlite3_column_int64(s, 0),
                              .incident_id = sqlite3_column_int64(s, 2),
                              .task_id = sqlite3_column_int64(s, 4),
                              .blocked_at = sqlite3_column_int64(s, 5),
                              .expires_at = sqlite3_column_int64(s, 6),
                              .released_at = sqlite3_column_int64(s, 7)};
    snprintf(b->address, sizeof(b->address), "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(b->incident, sizeof(b->incident), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(b->released_by, sizeof(b->released_by), "%s", (const char *)sqlite3_column_text(s, 8));
    snprintf(b->release_reason, sizeof(b->release_reason), "%s", (const char *)sqlite3_column_text(s, 9));
}

static int block_select(struct store *st, const char *sql, int64_t arg, struct store_block *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    return select_rows(st, sql, arg, out, sizeof(*out), max, n, read_block, "reading blocked addresses", err);
}

int store_block_list(struct store *st, bool active, struct store_block *out, size_t max, size_t *n,
                     struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE ?1 = 0 OR b.released_at IS NULL ORDER BY b.id DESC LIMIT ?2";
    return block_select(st, sql, active, out, max, n, err);
}

int store_block_expired(struct store *st, int64_t now, struct store_block *out, size_t max, size_t *n,
                        struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE b.released_at IS NULL AND b.expires_at <= ?1 ORDER BY b.expires_at LIMIT ?2";
    return block_select(st, sql, now, out, max, n, err);
}

int store_block_release(struct store *st, int64_t id, int64_t at, const char *by, const char *reason,
                        struct yj_err *err)
{
    static const char sql[] =
        "UPDATE blocks SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ? AND released_at IS NULL";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, by);
    bind_text(s, 3, reason);
    sqlite3_bind_int64(s, 4, id);
    return step_done(st, s, "releasing a block", err);
}

int store_block_insert(struct store *st, struct store_block *b, struct yj_err *err)
{
    static const char renew[] = "UPDATE blocks SET released_at = ?, release_reason = 'renewed' WHERE address = ? AND "
                                "released_at IS NULL";
    static const char sql[] = "INSERT INTO blocks (address, incident_id, task_id, blocked_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, renew, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, b->blocked_at);
    bind_text(s, 2, b->address);
    int rc = step_done(st, s, "renewing a block", err);
    if (rc < 0)
        return rc;
    if (!(s = stmt(st, sql, err)))
        return YJ_ESTORE;
    bind_text(s, 1, b->address);
    sqlite3_bind_int64(s, 2, b->incident_id);
    if (b->task_id)
        sqlite3_bind_int64(s, 3, b->task_id);
    else
        sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, b->blocked_at);
    sqlite3_bind_int64(s, 5, b->expires_at);
    return step_insert(st, s, "recording a block", &b->id, err);
}
