/* store_accounts.c: accounts, sessions, API tokens, login throttling, one-time 接报 links and the
 * plan the data follow, written once for both engines on sql.h (issue 16): `only` quoted (a
 * reserved word in PostgreSQL), new ids by RETURNING, the upserts' stored columns named by their
 * table (PostgreSQL will not guess between it and `excluded`). */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* ---- users ---- */

void store_user_release(struct store_user *u)
{
    free(u->name);
    free(u->role);
    free(u->unit);
    free(u->password_hash);
    free(u->person);
    memset(u, 0, sizeof(*u));
}

#define USER_COLS                                                                                            \
    "id, name, role, unit, password_hash, must_change, disabled, created_at, updated_at, person"

static void read_user(struct sql_stmt *s, struct store_user *u)
{
    u->id = sql_col_int(s, 0);
    u->name = sql_col_dup(s, 1);
    u->role = sql_col_dup(s, 2);
    u->unit = sql_col_dup(s, 3);
    u->password_hash = sql_col_dup(s, 4);
    u->must_change = sql_col_int(s, 5);
    u->disabled = sql_col_int(s, 6);
    u->created_at = sql_col_int(s, 7);
    u->updated_at = sql_col_int(s, 8);
    u->person = sql_col_dup(s, 9);
}

int store_user_insert(struct store *st, struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO users (name, role, unit, password_hash, must_change, disabled, created_at, "
                              "updated_at, person) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, u->name);
    sql_bind_text(s, 2, u->role);
    sql_bind_text(s, 3, u->unit);
    sql_bind_text(s, 4, u->password_hash);
    sql_bind_int(s, 5, u->must_change);
    sql_bind_int(s, 6, u->disabled);
    sql_bind_int(s, 7, u->created_at);
    sql_bind_int(s, 8, u->updated_at);
    sql_bind_text(s, 9, u->person);
    int rc = sql_insert_id(s, "adding the user", &u->id, err);
    if (rc == YJ_ECONFLICT)
        return yj_err_set(err, YJ_ECONFLICT, "a user named \"%s\" already exists", u->name);
    return rc;
}

int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out, struct yj_err *err)
{
    static const char by_id[] = "SELECT " USER_COLS " FROM users WHERE id = $1";
    static const char by_name[] = "SELECT " USER_COLS " FROM users WHERE name = $1";
    struct sql_stmt *s = sql_prepare(st->sql, id ? by_id : by_name, err);
    if (!s)
        return YJ_ESTORE;
    if (id)
        sql_bind_int(s, 1, id);
    else
        sql_bind_text(s, 1, name);
    int rc = sql_step(s, "reading the user", err);
    if (rc == SQL_ROW)
        read_user(s, out);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such user");
    return rc < 0 ? rc : 0;
}

int store_user_update(struct store *st, const struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "UPDATE users SET role = $1, unit = $2, password_hash = $3, must_change = $4, "
                              "disabled = $5, updated_at = $6, person = $7 WHERE id = $8";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, u->role);
    sql_bind_text(s, 2, u->unit);
    sql_bind_text(s, 3, u->password_hash);
    sql_bind_int(s, 4, u->must_change);
    sql_bind_int(s, 5, u->disabled);
    sql_bind_int(s, 6, u->updated_at);
    sql_bind_text(s, 7, u->person);
    sql_bind_int(s, 8, u->id);
    return sql_done(s, "updating the user", err);
}

int store_user_list(struct store *st, store_user_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " USER_COLS " FROM users ORDER BY name";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sql_step(s, "listing users", err)) == SQL_ROW) {
        struct store_user u;
        read_user(s, &u);
        int stop = cb(&u, ud);
        store_user_release(&u);
        if (stop)
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_user_count(struct store *st, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM users";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    return sql_one_int(s, "counting users", n, err);
}

/* ---- one-time acknowledgement links ---- */

int store_ack_link_insert(struct store *st, const char *token_hash, int64_t incident_id, const char *recipient,
                          int64_t created_at, int64_t expires_at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO ack_links (token_hash, incident_id, recipient, created_at, expires_at) "
                              "VALUES ($1, $2, $3, $4, $5)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    sql_bind_int(s, 2, incident_id);
    sql_bind_text(s, 3, recipient);
    sql_bind_int(s, 4, created_at);
    sql_bind_int(s, 5, expires_at);
    return sql_done(s, "keeping an acknowledgement link", err);
}

int store_ack_link_get(struct store *st, const char *token_hash, int64_t now, int64_t *incident_id, char *recipient,
                       size_t recipient_size, struct yj_err *err)
{
    static const char sql[] = "SELECT incident_id, recipient FROM ack_links "
                              "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    sql_bind_int(s, 2, now);
    int rc = sql_step(s, "reading an acknowledgement link", err);
    if (rc == SQL_ROW) {
        *incident_id = sql_col_int(s, 0);
        snprintf(recipient, recipient_size, "%s", sql_col_text(s, 1));
    }
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "the link is unknown, used already or expired");
    return rc < 0 ? rc : 0;
}

int store_ack_link_use(struct store *st, const char *token_hash, int64_t now, struct yj_err *err)
{
    static const char sql[] = "UPDATE ack_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    sql_bind_int(s, 2, now);
    int rc = sql_step(s, "using an acknowledgement link", err);
    int64_t changes = sql_changes(s);
    sql_reset(s);
    if (rc < 0)
        return rc;
    return changes == 1 ? 0 : yj_err_set(err, YJ_ENOTFOUND, "the link was used meanwhile");
}

/* ---- which plan the data were made with ---- */

int store_plan_identity_get(struct store *st, struct store_plan_identity *out, struct yj_err *err)
{
    static const char sql[] = "SELECT plan_id, name, since FROM plan_identity WHERE \"only\" = 1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sql_step(s, "reading which plan the data were made with", err);
    if (rc == SQL_ROW) {
        snprintf(out->plan_id, sizeof(out->plan_id), "%s", sql_col_text(s, 0));
        snprintf(out->name, sizeof(out->name), "%s", sql_col_text(s, 1));
        out->since = sql_col_int(s, 2);
    }
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no plan recorded for these data yet");
    return rc < 0 ? rc : 0;
}

int store_plan_identity_set(struct store *st, const char *plan_id, const char *name, int64_t since,
                            struct yj_err *err)
{
    static const char sql[] = "INSERT INTO plan_identity (\"only\", plan_id, name, since) VALUES (1, $1, $2, $3) "
                              "ON CONFLICT (\"only\") DO UPDATE SET plan_id = excluded.plan_id, name = excluded.name, "
                              "since = excluded.since";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, plan_id);
    sql_bind_text(s, 2, name);
    sql_bind_int(s, 3, since);
    return sql_done(s, "recording which plan the data are used with", err);
}

/* ---- sessions ---- */

/* An UPDATE or DELETE of one row by its id: $1 the id, or $1 the value and $2 the id; *changes
 * (when asked) the rows it changed. */
static int write_id(struct store *st, const char *sql, int64_t id, const int64_t *value, const char *doing,
                    int64_t *changes, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int i = 1;
    if (value)
        sql_bind_int(s, i++, *value);
    sql_bind_int(s, i, id);
    int rc = sql_step(s, doing, err);
    if (changes)
        *changes = sql_changes(s);
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_session_insert(struct store *st, struct store_session *x, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO sessions (token_hash, csrf, user_id, created_at, last_seen, expires_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, x->token_hash);
    sql_bind_text(s, 2, x->csrf);
    sql_bind_int(s, 3, x->user_id);
    sql_bind_int(s, 4, x->created_at);
    sql_bind_int(s, 5, x->last_seen);
    sql_bind_int(s, 6, x->expires_at);
    return sql_insert_id(s, "starting a session", &x->id, err);
}

int store_session_find(struct store *st, const char *token_hash, struct store_session *out, struct yj_err *err)
{
    static const char sql[] = "SELECT id, user_id, token_hash, csrf, created_at, last_seen, expires_at FROM sessions "
                              "WHERE token_hash = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    int rc = sql_step(s, "reading the session", err);
    if (rc == SQL_ROW) {
        out->id = sql_col_int(s, 0);
        out->user_id = sql_col_int(s, 1);
        snprintf(out->token_hash, sizeof(out->token_hash), "%s", sql_col_text(s, 2));
        snprintf(out->csrf, sizeof(out->csrf), "%s", sql_col_text(s, 3));
        out->created_at = sql_col_int(s, 4);
        out->last_seen = sql_col_int(s, 5);
        out->expires_at = sql_col_int(s, 6);
    }
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc < 0 ? rc : 0;
}

int store_session_user(struct store *st, const char *token_hash, struct store_session *x, struct store_user *u,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT u.id, u.name, u.role, u.unit, u.password_hash, u.must_change, u.disabled, "
                              "u.created_at, u.updated_at, u.person, s.id, s.csrf, s.created_at, s.last_seen, s.expires_at "
                              "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    int rc = sql_step(s, "reading the session", err);
    if (rc == SQL_ROW) {
        read_user(s, u);
        x->user_id = u->id;
        x->id = sql_col_int(s, 10);
        snprintf(x->token_hash, sizeof(x->token_hash), "%s", token_hash);
        snprintf(x->csrf, sizeof(x->csrf), "%s", sql_col_text(s, 11));
        x->created_at = sql_col_int(s, 12);
        x->last_seen = sql_col_int(s, 13);
        x->expires_at = sql_col_int(s, 14);
    }
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc < 0 ? rc : 0;
}

int store_session_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE sessions SET last_seen = $1 WHERE id = $2";
    return write_id(st, sql, id, &at, "touching the session", NULL, err);
}

int store_session_delete(struct store *st, int64_t id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE id = $1";
    return write_id(st, sql, id, NULL, "ending the session", NULL, err);
}

int store_session_delete_user(struct store *st, int64_t user_id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE user_id = $1";
    return write_id(st, sql, user_id, NULL, "ending the user's sessions", NULL, err);
}

/* ---- API tokens ---- */

void store_token_release(struct store_token *t)
{
    free(t->name);
    free(t->scopes);
    free(t->created_by);
    free(t->role);
    memset(t, 0, sizeof(*t));
}

#define TOKEN_COLS                                                                                          \
    "id, name, token_hash, scopes, created_by, created_at, coalesce(last_used, 0), coalesce(revoked_at, 0), " \
    "coalesce(role, 'auditor')"

static void read_token(struct sql_stmt *s, struct store_token *t)
{
    t->id = sql_col_int(s, 0);
    t->name = sql_col_dup(s, 1);
    snprintf(t->token_hash, sizeof(t->token_hash), "%s", sql_col_text(s, 2));
    t->scopes = sql_col_dup(s, 3);
    t->created_by = sql_col_dup(s, 4);
    t->created_at = sql_col_int(s, 5);
    t->last_used = sql_col_int(s, 6);
    t->revoked_at = sql_col_int(s, 7);
    t->role = sql_col_dup(s, 8);
}

int store_token_insert(struct store *st, struct store_token *t, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at, role) "
                              "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, t->name);
    sql_bind_text(s, 2, t->token_hash);
    sql_bind_text(s, 3, t->scopes);
    sql_bind_text(s, 4, t->created_by);
    sql_bind_int(s, 5, t->created_at);
    sql_bind_text(s, 6, t->role);
    return sql_insert_id(s, "creating the token", &t->id, err);
}

int store_token_find(struct store *st, const char *token_hash, struct store_token *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    int rc = sql_step(s, "reading the token", err);
    if (rc == SQL_ROW)
        read_token(s, out);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such token");
    return rc < 0 ? rc : 0;
}

int store_token_list(struct store *st, store_token_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sql_step(s, "listing tokens", err)) == SQL_ROW) {
        struct store_token t;
        read_token(s, &t);
        int stop = cb(&t, ud);
        store_token_release(&t);
        if (stop)
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_token_revoke(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    int64_t n = 0;
    int rc = write_id(st, sql, id, &at, "revoking the token", &n, err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no live token with id %lld", (long long)id);
    return rc;
}

int store_token_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET last_used = $1 WHERE id = $2";
    return write_id(st, sql, id, &at, "touching the token", NULL, err);
}

/* ---- login throttling ---- */

int store_login_failures(struct store *st, const char *key, struct store_login *out, struct yj_err *err)
{
    static const char sql[] =
        "SELECT failures, last_at, throttled, coalesce(throttled_since, 0) FROM login_failures WHERE key = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, key);
    int rc = sql_step(s, "reading login failures", err);
    *out = (struct store_login){0};
    if (rc == SQL_ROW)
        *out = (struct store_login){.failures = sql_col_int(s, 0),
                                    .last_at = sql_col_int(s, 1),
                                    .throttled = sql_col_int(s, 2),
                                    .throttled_since = sql_col_int(s, 3)};
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_login_failed(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    /* Consecutive within a day: a key's count starts afresh after a day without failures. */
    static const char sql[] = "INSERT INTO login_failures (key, failures, last_at) VALUES ($1, 1, $2) "
                              "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN excluded.last_at - "
                              "login_failures.last_at > 86400000 THEN 1 ELSE login_failures.failures + 1 END, "
                              "last_at = excluded.last_at";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, key);
    sql_bind_int(s, 2, at);
    return sql_done(s, "recording a login failure", err);
}

int store_login_throttled(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = throttled + 1, "
                              "throttled_since = coalesce(throttled_since, $1) WHERE key = $2";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, key);
    return sql_done(s, "counting a throttled login", err);
}

int store_login_throttled_reset(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = 0, throttled_since = NULL WHERE key = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, key);
    return sql_done(s, "resetting the throttled logins", err);
}

int store_login_clear(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM login_failures WHERE key = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, key);
    return sql_done(s, "clearing login failures", err);
}

int store_device_add(struct store *st, const char *token_hash, int64_t user_id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO login_devices (token_hash, user_id, created_at, last_used) "
                              "VALUES ($1, $2, $3, $3) ON CONFLICT (token_hash) DO UPDATE SET last_used = $3";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    sql_bind_int(s, 2, user_id);
    sql_bind_int(s, 3, at);
    return sql_done(s, "remembering a browser", err);
}

int store_device_known(struct store *st, const char *token_hash, int64_t user_id, int64_t since, bool *known,
                       struct yj_err *err)
{
    static const char sql[] =
        "SELECT 1 FROM login_devices WHERE token_hash = $1 AND user_id = $2 AND last_used >= $3";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, token_hash);
    sql_bind_int(s, 2, user_id);
    sql_bind_int(s, 3, since);
    int rc = sql_step(s, "reading known browsers", err);
    *known = rc == SQL_ROW;
    sql_reset(s);
    return rc < 0 ? rc : 0;
}
