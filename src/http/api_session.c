/* api_session.c: logging in and out, the current session, changing one's password.
 * The only code that checks passwords, so the throttle sits here: consecutive failures per
 * account and per address earn a growing wait (1 s doubling to 15 min) before the next try. */
#include "../base/common.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../store/store.h"
#include "../engine/account.h"
#include "http.h"

#define FREE_TRIES_ACCOUNT 5
#define FREE_TRIES_ADDRESS 20
#define MAX_WAIT_MS (15 * YJ_MS_PER_MIN)

/* Milliseconds the key must still wait, 0 when it may try now. */
static int64_t wait_for(struct request *r, const char *key, int64_t free_tries, int64_t now)
{
    int64_t failures = 0, last = 0;
    struct yj_err err;
    if (store_login_failures(r->store, key, &failures, &last, &err) < 0 || failures < free_tries)
        return 0;
    int64_t exp = failures - free_tries;
    int64_t wait = exp >= 20 ? MAX_WAIT_MS : YJ_MS_PER_SEC << exp;
    if (wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS;
    return last + wait > now ? last + wait - now : 0;
}

static json_t *user_json(const struct identity *id)
{
    return json_pack("{s:s, s:s, s:o, s:b}", "name", id->name, "role", id->role, "unit",
                     id->unit[0] ? json_string(id->unit) : json_null(), "must_change_password", (int)id->must_change);
}

void api_session_create(struct request *r)
{
    static const struct json_field fields[] = {{"username", JSON_STRING, true}, {"password", JSON_STRING, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    const char *name = json_string_value(json_object_get(b, "username"));
    const char *password = json_string_value(json_object_get(b, "password"));
    int64_t now = yj_now_ms();
    char ukey[200], akey[100], anon[160];
    snprintf(ukey, sizeof(ukey), "user:%.150s", name);
    snprintf(akey, sizeof(akey), "addr:%s", r->address);
    snprintf(anon, sizeof(anon), "anonymous@%s", r->address);
    int64_t wait = wait_for(r, ukey, FREE_TRIES_ACCOUNT, now);
    int64_t wait_addr = wait_for(r, akey, FREE_TRIES_ADDRESS, now);
    if (wait_addr > wait)
        wait = wait_addr;
    if (wait > 0) {
        auth_audit(r, anon, "auth.login_throttled", name, json_pack("{s:s}", "address", r->address));
        reply_problem(r, 429, "rate_limited", NULL, "too many failed logins; try again in %lld s",
                      (long long)((wait + 999) / 1000));
        r->resp.retry_after = (int)((wait + 999) / 1000);
        json_decref(b);
        return;
    }
    struct store_user u = {0};
    struct yj_err err = {0};
    int rc = store_user_get(r->store, 0, name, &u, &err);
    bool ok = false;
    if (rc == 0) {
        ok = account_verify_password(u.password_hash, password) && !u.disabled;
    } else if (rc == YJ_ENOTFOUND) {
        /* Spend the same time as a real check so timing does not reveal which names exist. */
        char dummy[ACCOUNT_HASH_SIZE];
        account_hash_password("not-a-real-password", dummy, sizeof(dummy), &err);
    } else {
        reply_error(r, &err);
        json_decref(b);
        return;
    }
    if (!ok) {
        if (store_login_failed(r->store, ukey, now, &err) < 0 || store_login_failed(r->store, akey, now, &err) < 0)
            server_count_store_error(r->srv);
        if (auth_audit(r, anon, "auth.login_failed", name, json_pack("{s:s}", "address", r->address)) == 0)
            reply_problem(r, 401, "bad_credentials", NULL, "wrong user name or password");
        store_user_release(&u);
        json_decref(b);
        return;
    }
    store_login_clear(r->store, ukey, &err);
    store_login_clear(r->store, akey, &err);
    char token[64], csrf[64], hash[65];
    auth_random_token(token, sizeof(token), 32);
    auth_random_token(csrf, sizeof(csrf), 24);
    auth_token_hash(token, hash);
    const struct yj_config *cfg = server_config(r->srv);
    struct store_session s = {.user_id = u.id, .created_at = now, .last_seen = now,
                              .expires_at = now + cfg->sessions.absolute};
    snprintf(s.token_hash, sizeof(s.token_hash), "%s", hash);
    snprintf(s.csrf, sizeof(s.csrf), "%s", csrf);
    if (store_session_insert(r->store, &s, &err) < 0) {
        reply_error(r, &err);
        store_user_release(&u);
        json_decref(b);
        return;
    }
    r->id = (struct identity){.kind = ID_SESSION, .user_id = u.id, .must_change = u.must_change != 0};
    snprintf(r->id.name, sizeof(r->id.name), "%s", u.name);
    snprintf(r->id.role, sizeof(r->id.role), "%s", u.role);
    snprintf(r->id.unit, sizeof(r->id.unit), "%s", u.unit ? u.unit : "");
    char actor[160];
    snprintf(actor, sizeof(actor), "user:%s", u.name);
    if (auth_audit(r, actor, "auth.login", u.name, json_pack("{s:s}", "address", r->address)) == 0) {
        char expires[40];
        yj_time_rfc3339(s.expires_at, expires, sizeof(expires));
        reply_json(r, 200, json_pack("{s:o, s:s, s:s}", "user", user_json(&r->id), "csrf", csrf, "expires_at", expires));
        r->resp.cookie = xasprintf("yj_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
                                   (long long)(cfg->sessions.absolute / 1000), server_is_tls(r->srv) ? "; Secure" : "");
    }
    store_user_release(&u);
    json_decref(b);
}

void api_session_get(struct request *r)
{
    if (r->id.kind == ID_TOKEN) {
        json_t *scopes = json_array();
        static const char *const names[] = {"read", "write", "ingest", "admin"};
        for (unsigned i = 0; i < 4; i++)
            if (r->id.scopes & (1u << i))
                json_array_append_new(scopes, json_string(names[i]));
        reply_json(r, 200, json_pack("{s:{s:s, s:o}}", "token", "name", r->id.name, "scopes", scopes));
        return;
    }
    reply_json(r, 200, json_pack("{s:o, s:s}", "user", user_json(&r->id), "csrf", r->id.csrf));
}

void api_session_delete(struct request *r)
{
    struct yj_err err = {0};
    if (store_session_delete(r->store, r->id.session_id, &err) < 0) {
        reply_error(r, &err);
        return;
    }
    if (auth_audit(r, r->id.actor, "auth.logout", r->id.name, json_object()) < 0)
        return;
    r->resp.status = 204;
    r->resp.cookie = xasprintf("yj_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                               server_is_tls(r->srv) ? "; Secure" : "");
}

void api_session_password(struct request *r)
{
    static const struct json_field fields[] = {{"old", JSON_STRING, true}, {"new", JSON_STRING, true}};
    json_t *b = request_json(r);
    struct store_user u = {0};
    struct yj_err err = {0};
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    const char *old = json_string_value(json_object_get(b, "old"));
    const char *fresh = json_string_value(json_object_get(b, "new"));
    if (account_check_password("new", fresh, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    if (store_user_get(r->store, r->id.user_id, NULL, &u, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    if (!account_verify_password(u.password_hash, old)) {
        auth_audit(r, r->id.actor, "auth.password_change_refused", u.name, json_object());
        reply_problem(r, 403, "bad_credentials", "old", "the old password is wrong");
        goto out;
    }
    /* Ends every session of the account, this one included: log in again with the new one. */
    if (account_set_password(&r->ctx, u.name, fresh, false, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    r->resp.status = 204;
    r->resp.cookie = xasprintf("yj_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
                               server_is_tls(r->srv) ? "; Secure" : "");
out:
    store_user_release(&u);
    json_decref(b);
}
