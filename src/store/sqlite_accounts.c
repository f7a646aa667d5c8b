/* sqlite_accounts.c: the SQLite store (sqlite.c) — accounts, sessions, API tokens, login
 * throttling, one-time 接报 links and the plan the data follow. */
#include "../base/common.h"
#include "sqlite_internal.h"
#include "store.h"

#include <sqlite3.h>

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

#define USER_COLS "id, name, role, unit, password_hash, must_change, disabled, created_at, updated_at, person"

static void read_user(sqlite3_stmt *s, struct store_user *u)
{
    u->id = sqlite3_column_int64(s, 0);
    u->name = col_text(s, 1);
    u->role = col_text(s, 2);
    u->unit = col_text(s, 3);
    u->password_hash = col_text(s, 4);
    u->must_change = sqlite3_column_int64(s, 5);
    u->disabled = sqlite3_column_int64(s, 6);
    u->created_at = sqlite3_column_int64(s, 7);
    u->updated_at = sqlite3_column_int64(s, 8);
    u->person = col_text(s, 9);
}

int store_user_insert(struct store *st, struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO users (name, role, unit, password_hash, must_change, disabled, created_at, "
                              "updated_at, person) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, u->name);
    bind_text(s, 2, u->role);
    bind_text(s, 3, u->unit);
    bind_text(s, 4, u->password_hash);
    sqlite3_bind_int64(s, 5, u->must_change);
    sqlite3_bind_int64(s, 6, u->disabled);
    sqlite3_bind_int64(s, 7, u->created_at);
    sqlite3_bind_int64(s, 8, u->updated_at);
    bind_text(s, 9, u->person);
    int rc = step_done(st, s, "adding the user", err);
    if (rc == YJ_ECONFLICT)
        return yj_err_set(err, YJ_ECONFLICT, "a user named \"%s\" already exists", u->name);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out, struct yj_err *err)
{
    static const char by_id[] = "SELECT " USER_COLS " FROM users WHERE id = ?";
    static const char by_name[] = "SELECT " USER_COLS " FROM users WHERE name = ?";
    sqlite3_stmt *s = stmt(st, id ? by_id : by_name, err);
    if (!s)
        return YJ_ESTORE;
    if (id)
        sqlite3_bind_int64(s, 1, id);
    else
        bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_user(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such user");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the user", err);
}

int store_user_update(struct store *st, const struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "UPDATE users SET role = ?, unit = ?, password_hash = ?, must_change = ?, disabled = ?, "
                              "updated_at = ?, person = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, u->role);
    bind_text(s, 2, u->unit);
    bind_text(s, 3, u->password_hash);
    sqlite3_bind_int64(s, 4, u->must_change);
    sqlite3_bind_int64(s, 5, u->disabled);
    sqlite3_bind_int64(s, 6, u->updated_at);
    bind_text(s, 7, u->person);
    sqlite3_bind_int64(s, 8, u->id);
    return step_done(st, s, "updating the user", err);
}

int store_user_list(struct store *st, store_user_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " USER_COLS " FROM users ORDER BY name";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_user u;
        read_user(s, &u);
        int stop = cb(&u, ud);
        store_user_release(&u);
        if (stop)
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "listing users", err);
    sqlite3_reset(s);
    return out;
}

int store_user_count(struct store *st, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM users";
    return query_int(st, sql, NULL, n, "counting users", err);
}

/* ---- one-time acknowledgement links ---- */

int store_ack_link_insert(struct store *st, const char *token_hash, int64_t incident_id, const char *recipient,
                          int64_t created_at, int64_t expires_at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO ack_links (token_hash, incident_id, recipient, created_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, incident_id);
    bind_text(s, 3, recipient);
    sqlite3_bind_int64(s, 4, created_at);
    sqlite3_bind_int64(s, 5, expires_at);
    return step_done(st, s, "keeping an acknowledgement link", err);
}

int store_ack_link_get(struct store *st, const char *token_hash, int64_t now, int64_t *incident_id, char *recipient,
                       size_t recipient_size, struct yj_err *err)
{
    static const char sql[] = "SELECT incident_id, recipient FROM ack_links "
                              "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *incident_id = sqlite3_column_int64(s, 0);
        snprintf(recipient, recipient_size, "%s", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "the link is unknown, used already or expired");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading an acknowledgement link", err);
}

int store_ack_link_use(struct store *st, const char *token_hash, int64_t now, struct yj_err *err)
{
    static const char sql[] = "UPDATE ack_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, now);
    int rc = step_done(st, s, "using an acknowledgement link", err);
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        return yj_err_set(err, YJ_ENOTFOUND, "the link was used meanwhile");
    return rc;
}

/* ---- which plan the data were made with ---- */

int store_plan_identity_get(struct store *st, struct store_plan_identity *out, struct yj_err *err)
{
    static const char sql[] = "SELECT plan_id, name, since FROM plan_identity WHERE only = 1";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(out->plan_id, sizeof(out->plan_id), "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(s, 1));
        out->since = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no plan recorded for these data yet");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading which plan the data were made with", err);
}

int store_plan_identity_set(struct store *st, const char *plan_id, const char *name, int64_t since,
                            struct yj_err *err)
{
    static const char sql[] = "INSERT INTO plan_identity (only, plan_id, name, since) VALUES (1, ?, ?, ?) "
                              "ON CONFLICT (only) DO UPDATE SET plan_id = excluded.plan_id, name = excluded.name, "
                              "since = excluded.since";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, plan_id);
    bind_text(s, 2, name);
    sqlite3_bind_int64(s, 3, since);
    return step_done(st, s, "recording which plan the data are used with", err);
}

/* ---- sessions ---- */

int store_session_insert(struct store *st, struct store_session *x, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO sessions (token_hash, csrf, user_id, created_at, last_seen, expires_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, x->token_hash);
    bind_text(s, 2, x->csrf);
    sqlite3_bind_int64(s, 3, x->user_id);
    sqlite3_bind_int64(s, 4, x->created_at);
    sqlite3_bind_int64(s, 5, x->last_seen);
    sqlite3_bind_int64(s, 6, x->expires_at);
    return step_insert(st, s, "starting a session", &x->id, err);
}

int store_session_find(struct store *st, const char *token_hash, struct store_session *out, struct yj_err *err)
{
    static const char sql[] = "SELECT id, user_id, token_hash, csrf, created_at, last_seen, expires_at FROM sessions "
                              "WHERE token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(s, 0);
        out->user_id = sqlite3_column_int64(s, 1);
        snprintf(out->token_hash, sizeof(out->token_hash), "%s", (const char *)sqlite3_column_text(s, 2));
        snprintf(out->csrf, sizeof(out->csrf), "%s", (const char *)sqlite3_column_text(s, 3));
        out->created_at = sqlite3_column_int64(s, 4);
        out->last_seen = sqlite3_column_int64(s, 5);
        out->expires_at = sqlite3_column_int64(s, 6);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the session", err);
}

int store_session_user(struct store *st, const char *token_hash, struct store_session *x, struct store_user *u,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT u.id, u.name, u.role, u.unit, u.password_hash, u.must_change, u.disabled, "
                              "u.created_at, u.updated_at, u.person, s.id, s.csrf, s.created_at, s.last_seen, s.expires_at "
                              "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_user(s, u);
        x->user_id = u->id;
        x->id = sqlite3_column_int64(s, 10);
        snprintf(x->token_hash, sizeof(x->token_hash), "%s", token_hash);
        snprintf(x->csrf, sizeof(x->csrf), "%s", (const char *)sqlite3_column_text(s, 11));
        x->created_at = sqlite3_column_int64(s, 12);
        x->last_seen = sqlite3_column_int64(s, 13);
        x->expires_at = sqlite3_column_int64(s, 14);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the session", err);
}

int store_session_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE sessions SET last_seen = ? WHERE id = ?";
    return write_by_id(st, sql, id, &at, "touching the session", NULL, err);
}

int store_session_delete(struct store *st, int64_t id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE id = ?";
    return write_by_id(st, sql, id, NULL, "ending the session", NULL, err);
}

int store_session_delete_user(struct store *st, int64_t user_id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE user_id = ?";
    return write_by_id(st, sql, user_id, NULL, "ending the user's sessions", NULL, err);
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

static void read_token(sqlite3_stmt *s, struct store_token *t)
{
    t->id = sqlite3_column_int64(s, 0);
    t->name = col_text(s, 1);
    snprintf(t->token_hash, sizeof(t->token_hash), "%s", (const char *)sqlite3_column_text(s, 2));
    t->scopes = col_text(s, 3);
    t->created_by = col_text(s, 4);
    t->created_at = sqlite3_column_int64(s, 5);
    t->last_used = sqlite3_column_int64(s, 6);
    t->revoked_at = sqlite3_column_int64(s, 7);
    t->role = col_text(s, 8);
}

int store_token_insert(struct store *st, struct store_token *t, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at, role) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, t->name);
    bind_text(s, 2, t->token_hash);
    bind_text(s, 3, t->scopes);
    bind_text(s, 4, t->created_by);
    sqlite3_bind_int64(s, 5, t->created_at);
    bind_text(s, 6, t->role);
    return step_insert(st, s, "creating the token", &t->id, err);
}

int store_token_find(struct store *st, const char *token_hash, struct store_token *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_token(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such token");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the token", err);
}

int store_token_list(struct store *st, store_token_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_token t;
        read_token(s, &t);
        int stop = cb(&t, ud);
        store_token_release(&t);
        if (stop)
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "listing tokens", err);
    sqlite3_reset(s);
    return out;
}

int store_token_revoke(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    int64_t n = 0;
    int rc = write_by_id(st, sql, id, &at, "revoking the token", &n, err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no live token with id %lld", (long long)id);
    return rc;
}

int store_token_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET last_used = ? WHERE id = ?";
    return write_by_id(st, sql, id, &at, "touching the token", NULL, err);
}

/* ---- login throttling ---- */

int store_login_failures(struct store *st, const char *key, struct store_login *out, struct yj_err *err)
{
    static const char sql[] =
        "SELECT failures, last_at, throttled, coalesce(throttled_since, 0) FROM login_failures WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    *out = (struct store_login){0};
    if (rc == SQLITE_ROW)
        *out = (struct store_login){.failures = sqlite3_column_int64(s, 0),
                                    .last_at = sqlite3_column_int64(s, 1),
                                    .throttled = sqlite3_column_int64(s, 2),
                                    .throttled_since = sqlite3_column_int64(s, 3)};
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading login failures", err);
}

int store_login_failed(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    /* Consecutive within a day: a key's count starts afresh after a day without failures. */
    static const char sql[] = "INSERT INTO login_failures (key, failures, last_at) VALUES (?, 1, ?) "
                              "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN excluded.last_at - last_at > "
                              "86400000 THEN 1 ELSE failures + 1 END, last_at = excluded.last_at";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, at);
    return step_done(st, s, "recording a login failure", err);
}

int store_login_throttled(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = throttled + 1, "
                              "throttled_since = coalesce(throttled_since, ?) WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, key);
    return step_done(st, s, "counting a throttled login", err);
}

int store_login_throttled_reset(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = 0, throttled_since = NULL WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    return step_done(st, s, "resetting the throttled logins", err);
}

int store_login_clear(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM login_failures WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    return step_done(st, s, "clearing login failures", err);
}

int store_device_add(struct store *st, const char *token_hash, int64_t user_id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO login_devices (token_hash, user_id, created_at, last_used) "
                              "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (token_hash) DO UPDATE SET last_used = ?3";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, at);
    return step_done(st, s, "remembering a browser", err);
}

int store_device_known(struct store *st, const char *token_hash, int64_t user_id, int64_t since, bool *known,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT 1 FROM login_devices WHERE token_hash = ? AND user_id = ? AND last_used >= ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, since);
    int rc = sqlite3_step(s);
    *known = rc == SQLITE_ROW;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading known browsers", err);
}
