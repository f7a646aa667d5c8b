/* store_audit.c: the audit log, its signed head, and the rows an incident's audit state covers,
 * written once for both engines on sql.h (issue 16). The state is hashed from the rows' values as
 * text: an integer reads as its decimal digits and NULL as nothing on both engines, so a chain
 * recorded on SQLite verifies on PostgreSQL after `yingji db copy` and back. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* Kept only inside a write transaction, which holds the write lock: no other writer moves the
 * head until it commits. */
static void head_keep(struct store *st, int64_t last_id, const char *hash, const char *signature)
{
    if (sql_depth(st->sql) == 0) {
        st->head.valid = false;
        return;
    }
    st->head.valid = true;
    st->head.mark = sql_txn_mark(st->sql);
    st->head.last_id = last_id;
    snprintf(st->head.hash, sizeof(st->head.hash), "%s", hash ? hash : "");
    snprintf(st->head.signature, sizeof(st->head.signature), "%s", signature ? signature : "");
}

static bool head_kept(const struct store *st)
{
    return st->head.valid && sql_depth(st->sql) > 0 && st->head.mark == sql_txn_mark(st->sql);
}

int store_audit_head(struct store *st, int64_t *last_id, char hash[65], char signature[129], struct yj_err *err)
{
    if (head_kept(st)) {
        *last_id = st->head.last_id;
        snprintf(hash, 65, "%s", st->head.hash);
        if (signature)
            snprintf(signature, 129, "%s", st->head.signature);
        return 0;
    }
    static const char sql[] = "SELECT last_id, hash, coalesce(signature, '') FROM audit_head WHERE one = 1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sql_step(s, "reading the audit head", err);
    *last_id = 0;
    hash[0] = 0;
    if (signature)
        signature[0] = 0;
    char sig[129] = "";
    if (rc == SQL_ROW) {
        *last_id = sql_col_int(s, 0);
        snprintf(hash, 65, "%s", sql_col_text(s, 1));
        snprintf(sig, sizeof(sig), "%s", sql_col_text(s, 2));
        if (signature)
            snprintf(signature, 129, "%s", sig);
    }
    sql_reset(s);
    if (rc < 0)
        return rc;
    head_keep(st, *last_id, hash, sig);
    return 0;
}

int store_audit_insert(struct store *st, const struct store_audit_row *r, const char *signature, struct yj_err *err)
{
    static const char ins[] = "INSERT INTO audit_log (id, at, actor, action, object, detail, prev_hash, hash, state) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    static const char head[] =
        "INSERT INTO audit_head (one, last_id, hash, signature) VALUES (1, $1, $2, $3) ON CONFLICT (one) DO UPDATE "
        "SET last_id = excluded.last_id, hash = excluded.hash, signature = excluded.signature";
    st->head.valid = false;
    if (store_need_order(st, "writing the audit log", err) < 0)
        return YJ_ESTATE;
    struct sql_stmt *s = sql_prepare(st->sql, ins, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, r->id);
    sql_bind_int(s, 2, r->at);
    sql_bind_text(s, 3, r->actor);
    sql_bind_text(s, 4, r->action);
    sql_bind_text(s, 5, r->object);
    sql_bind_text(s, 6, r->detail);
    sql_bind_text(s, 7, r->prev_hash);
    sql_bind_text(s, 8, r->hash);
    sql_bind_text(s, 9, r->state);
    int rc = sql_done_later(s, "writing the audit log", err);
    if (rc < 0)
        return rc;
    if (!(s = sql_prepare(st->sql, head, err)))
        return YJ_ESTORE;
    sql_bind_int(s, 1, r->id);
    sql_bind_text(s, 2, r->hash);
    sql_bind_text(s, 3, signature);
    if ((rc = sql_done_later(s, "writing the audit head", err)) == 0)
        head_keep(st, r->id, r->hash, signature);
    return rc;
}

int store_audit_sign_head(struct store *st, int64_t last_id, const char *signature, struct yj_err *err)
{
    static const char sql[] = "UPDATE audit_head SET signature = $1 WHERE one = 1 AND last_id = $2";
    char hash[65] = "";
    bool kept = head_kept(st) && st->head.last_id == last_id;
    if (kept)
        memcpy(hash, st->head.hash, sizeof(hash));
    st->head.valid = false;
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, signature);
    sql_bind_int(s, 2, last_id);
    int rc = sql_done_later(s, "signing the audit head", err);
    if (rc == 0 && kept)
        head_keep(st, last_id, hash, signature);
    return rc;
}

static const char audit_page_sql[] = "SELECT id, at, actor, action, object, detail, prev_hash, hash, state FROM "
                                     "audit_log WHERE id > $1 ORDER BY id LIMIT $2";

static int audit_rows(struct store *st, int64_t after, int64_t limit, store_audit_cb cb, void *ud, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, audit_page_sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, after);
    sql_bind_int(s, 2, limit);
    int rc;
    while ((rc = sql_step(s, "reading the audit log", err)) == SQL_ROW) {
        struct store_audit_row r = {
            .id = sql_col_int(s, 0),
            .at = sql_col_int(s, 1),
            .actor = sql_col_text(s, 2),
            .action = sql_col_text(s, 3),
            .object = sql_col_text(s, 4),
            .detail = sql_col_text(s, 5),
            .state = sql_col_text(s, 8),
        };
        const char *prev = sql_col_text(s, 6), *hash = sql_col_text(s, 7);
        snprintf(r.prev_hash, sizeof(r.prev_hash), "%s", prev ? prev : "");
        snprintf(r.hash, sizeof(r.hash), "%s", hash ? hash : "");
        if (!r.actor || !r.action || !r.object || !r.detail) {
            sql_reset(s);
            return yj_err_set(err, YJ_EINTEGRITY, "audit row %lld has missing fields", (long long)r.id);
        }
        if (cb(&r, ud))
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_audit_foreach(struct store *st, int64_t after, store_audit_cb cb, void *ud, struct yj_err *err)
{
    return audit_rows(st, after, INT64_MAX, cb, ud, err);
}

int store_audit_page(struct store *st, int64_t after, int limit, store_audit_cb cb, void *ud, struct yj_err *err)
{
    return audit_rows(st, after, limit, cb, ud, err);
}

int store_audit_count(struct store *st, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM audit_log";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    return sql_one_int(s, "counting the audit log", n, err);
}

/* The rows an incident's audit state covers, version 1: frozen column lists, so that a later
 * migration adding a column does not change the state of rows recorded before it. Left out of
 * the incident: what moves with every machine signal without an audit row (signal_count,
 * last_signal_at, updated_at). */
static const char state_v1_incident[] =
    "SELECT 'incident', number, year, seq, title, type, class, level, national_level, gbt_category, "
    "gbt_subcategory, status, unit, reporter, assets, source, scope, nature, trend, measures, activated_by, "
    "activation_reason, cause, loss, lessons, clues, support, scene, dismiss_reason, fingerprint, drill, "
    "occurred_at, detected_at, reported_at, acknowledged_at, assessed_at, activated_at, contained_at, "
    "recovered_at, closed_at, version FROM incidents WHERE id = $1";
static const char state_v1_deadlines[] =
    "SELECT 'deadline', id, kind, due_at, met_at, overdue_at FROM deadlines WHERE incident_id = $1 ORDER BY id";
static const char state_v1_tasks[] =
    "SELECT 'task', id, step, phase, title, owner_role, owner_unit, contact, action, approval, created_at, due_at, "
    "status, reason, note, updated_by, updated_at, overdue_at, approval_status, approved_by, approved_at, "
    "approval_reason, action_status, action_output, action_at FROM tasks WHERE incident_id = $1 ORDER BY id";
static const char state_v1_timeline[] =
    "SELECT 'timeline', id, at, actor, kind, body FROM timeline WHERE incident_id = $1 ORDER BY id";
static const char state_v1_attachments[] = "SELECT 'attachment', id, name, type, size, sha256, created_at, created_by "
                                           "FROM attachments WHERE incident_id = $1 ORDER BY id";
static const char *const incident_state_v1[] = {state_v1_incident, state_v1_deadlines, state_v1_tasks,
                                                state_v1_timeline, state_v1_attachments};

/* Version 2 (schema 18): deadlines with how they ended and who waived them. */
static const char state_v2_deadlines[] = "SELECT 'deadline', id, kind, due_at, met_at, overdue_at, outcome, "
                                         "waived_by, waive_reason FROM deadlines WHERE incident_id = $1 ORDER BY id";
static const char *const incident_state_v2[] = {NULL /* the incident row: as in v1 */, state_v2_deadlines, NULL, NULL,
                                                NULL};

int store_incident_rows(struct store *st, int64_t incident_id, int version, store_values_cb cb, void *ud,
                        struct yj_err *err)
{
    if (version < 1 || version > 2)
        return yj_err_set(err, YJ_EINVAL, "audit state version %d is not known to this build", version);
    const char *sqls[YJ_ARRAY_LEN(incident_state_v1)];
    for (size_t q = 0; q < YJ_ARRAY_LEN(incident_state_v1); q++)
        sqls[q] = version == 2 && incident_state_v2[q] ? incident_state_v2[q] : incident_state_v1[q];
    /* Five reads in one round trip on PostgreSQL: four times an incident on the detector's path. */
    return sql_rows_many(st->sql, sqls, YJ_ARRAY_LEN(sqls), incident_id, cb, ud, "reading an incident's rows", err);
}

int store_incident_ids(struct store *st, store_id_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, number FROM incidents ORDER BY id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    /* Read whole and the statement reset first: the callback reads the incident's rows. */
    int64_t *ids = NULL;
    char **numbers = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sql_step(s, "listing incidents", err)) == SQL_ROW) {
        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
        numbers = xrealloc(numbers, (n + 1) * sizeof(*numbers));
        ids[n] = sql_col_int(s, 0);
        numbers[n++] = sql_col_dup(s, 1);
    }
    sql_reset(s);
    int out = rc < 0 ? rc : 0;
    for (size_t i = 0; out == 0 && i < n; i++)
        if (cb(ids[i], numbers[i], ud))
            break;
    for (size_t i = 0; i < n; i++)
        free(numbers[i]);
    free(numbers);
    free(ids);
    return out;
}
