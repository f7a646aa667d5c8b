/* api_session.c: logging in and out, the current session, changing one's password.
 * The only code that checks passwords, so the throttle sits here. Consecutive failures earn a
 * growing wait (1 s doubling to 15 min) per account *and address* (5 free tries) — so someone
 * elsewhere cannot lock a person out — and per address (20 free tries, against spraying many
 * accounts). A browser the account logged in from before (a `yj_device` cookie) is not held
 * back by the address's wait: behind a campus NAT, one guesser does not keep everyone out.
 * Tries refused while waiting are counted, and audited once when the wait is over. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "../engine/account.h"
#include "../outputs/channels.h"
#include "http.h"

#define FREE_TRIES_ACCOUNT 5
#define FREE_TRIES_ADDRESS 20
#define MAX_WAIT_MS (15 * YJ_MS_PER_MIN)
#define DEVICE_DAYS 180

/* Milliseconds a key must still wait, 0 when it may try now. */
static int64_t wait_of(const struct store_login *l, int64_t free_tries, int64_t now)
{
    if (l->failures < free_tries)
        return 0;
    int64_t exp = l->failures - free_tries;
    int64_t wait = exp >= 20 ? MAX_WAIT_MS : YJ_MS_PER_SEC << exp;
    if (wait > MAX_WAIT_MS)
        wait = MAX_WAIT_MS;
    return l->last_at + wait > now ? l->last_at + wait - now : 0;
}

/* The throttle of one try: the account@address key and the address key. */
struct throttle {
    char pair[300], addr[100];
    struct store_login p, a;
    int64_t wait;
};

static int throttle_read(struct request *r, const char *name, bool known_device, int64_t now,
                         struct throttle *t, struct yj_err *err)
{
    snprintf(t->pair, sizeof(t->pair), "user:%.150s@%s", name, r->address);
    snprintf(t->addr, sizeof(t->addr), "addr:%s", r->address);
    int rc = store_login_failures(r->store, t->pair, &t->p, err);
    if (rc == 0)
        rc = store_login_failures(r->store, t->addr, &t->a, err);
    if (rc < 0)
        return rc;
    t->wait = wait_of(&t->p, FREE_TRIES_ACCOUNT, now);
    int64_t wa = known_device ? 0 : wait_of(&t->a, FREE_TRIES_ADDRESS, now);
    if (wa > t->wait)
        t->wait = wa;
    return 0;
}

/* A try refused for waiting: counted on the keys that made it wait, no audit row. */
static void throttle_refuse(struct request *r, struct throttle *t, int64_t now)
{
    struct yj_err err = {0};
    bool ok = store_begin(r->store, &err) == 0;
    if (ok && wait_of(&t->p, FREE_TRIES_ACCOUNT, now))
        ok = store_login_throttled(r->store, t->pair, now, &err) == 0;
    if (ok && wait_of(&t->a, FREE_TRIES_ADDRESS, now))
        ok = store_login_throttled(r->store, t->addr, now, &err) == 0;
    if (ok)
        ok = store_commit(r->store, &err) == 0;
    else
        store_rollback(r->store);
    if (!ok)
        server_count_store_error(r->srv);
    reply_problem(r, 429, "rate_limited", NULL, "too many failed tries; try again in %lld s",
                  (long long)((t->wait + 999) / 1000));
    r->resp.retry_after = (int)((t->wait + 999) / 1000);
}

/* Once a wait is over: the tries it refused, in one audit row per key. */
static void throttle_settle(struct request *r, struct throttle *t, const char *name, int64_t now)
{
    const struct {
        const char *key;
        const struct store_login *l;
    } keys[] = {{t->pair, &t->p}, {t->addr, &t->a}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(keys); i++) {
        if (!keys[i].l->throttled)
            continue;
        char anon[160];
        snprintf(anon, sizeof(anon), "anonymous@%s", r->address);
        struct yj_err err = {0};
        if (auth_audit(r, anon, "auth.login_throttled", i == 0 ? name : r->address,
                       json_pack("{s:s, s:s?, s:I, s:o, s:o}", "address", r->address, "account",
                                 i == 0 ? name : NULL, "refused", (json_int_t)keys[i].l->throttled, "since",
                                 yj_json_time(keys[i].l->throttled_since), "until", yj_json_time(now))) < 0 ||
            store_login_throttled_reset(r->store, keys[i].key, &err) < 0)
            server_count_store_error(r->srv);
    }
}

static void throttle_failed(struct request *r, struct throttle *t, int64_t now)
{
    struct yj_err err = {0};
    if (store_login_failed(r->store, t->pair, now, &err) < 0 ||
        store_login_failed(r->store, t->addr, now, &err) < 0)
        server_count_store_error(r->srv);
}

/* What the console warns about: nowhere to send notifications (they would sit queued), no address
 * for the links in them. */
static json_t *desk_json(struct request *r)
{
    const struct yj_config *cfg = server_config(r->srv);
    size_t n = cfg->n_channels;
    struct yj_err err = {0};
    if (r->store && channels_count(cfg, r->store, &n, &err) < 0)
        server_count_store_error(r->srv);
    return json_pack("{s:I, s:b}", "channels", (json_int_t)n, "public_url",
                     cfg->public_url != NULL);
}

static json_t *user_json(const struct request *r, const struct identity *id)
{
    /* The person the account is, by id and by name (the console shows the name). */
    const struct plan_person *p = id->person[0] && r->ctx.plan ? plan_person(r->ctx.plan, id->person) : NULL;
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:o}", "name", id->name, "role", id->role, "unit",
                          id->unit[0] ? json_string(id->unit) : json_null(), "person",
                          id->person[0] ? json_string(id->person) : json_null(), "person_name",
                          p ? json_string(p->name) : json_null(), "must_change_password", (int)id->must_change, "may",
                          router_permissions(id));
    return o;
}

/* Whether this browser logged in to the account before (its yj_device cookie). */
static bool known_device(struct request *r, int64_t user_id, int64_t now)
{
    const char *cookie = request_header(r, "Cookie");
    char token[128], hash[65];
    if (!user_id || !cookie || !auth_cookie(cookie, "yj_device", token, sizeof(token)))
        return false;
    auth_token_hash(token, hash);
    bool known = false;
    struct yj_err err = {0};
    if (store_device_known(r->store, hash, user_id, now - (int64_t)DEVICE_DAYS * 86400 * 1000, &known, &err) <
        0)
        server_count_store_error(r->srv);
    return known;
}

void api_session_create(struct request *r)
{
    static const struct json_field fields[] = {{"username", JSON_STRING, true},
                                               {"password", JSON_STRING, true}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields))) {
        json_decref(b);
        return;
    }
    const char *name = json_string_value(json_object_get(b, "username"));
    const char *password = json_string_value(json_object_get(b, "password"));
    int64_t now = yj_now_ms();
    char anon[160];
    snprintf(anon, sizeof(anon), "anonymous@%s", r->address);
    struct store_user u = {0};
    struct yj_err err = {0};
    int rc = store_user_get(r->store, 0, name, &u, &err);
    if (rc < 0 && rc != YJ_ENOTFOUND) {
        reply_error(r, &err);
        json_decref(b);
        return;
    }
    struct throttle t = {0};
    if (throttle_read(r, name, known_device(r, rc == 0 ? u.id : 0, now), now, &t, &err) < 0) {
        reply_error(r, &err);
        store_user_release(&u);
        json_decref(b);
        return;
    }
    if (t.wait > 0) {
        throttle_refuse(r, &t, now);
        store_user_release(&u);
        json_decref(b);
        return;
    }
    throttle_settle(r, &t, name, now);
    bool ok = false;
    if (rc == 0) {
        ok = account_verify_password(u.password_hash, password) && !u.disabled;
    } else {
        /* Spend the same time as a real check so timing does not reveal which names exist. */
        char dummy[ACCOUNT_HASH_SIZE];
        account_hash_password("not-a-real-password", dummy, sizeof(dummy), &err);
    }
    if (!ok) {
        throttle_failed(r, &t, now);
        if (auth_audit(r, anon, "auth.login_failed", name, json_pack("{s:s}", "address", r->address)) == 0)
            reply_problem(r, 401, "bad_credentials", NULL, "%s", ""); /* the title says it */
        store_user_release(&u);
        json_decref(b);
        return;
    }
    store_login_clear(r->store, t.pair, &err);
    char token[64], csrf[64], hash[65], device[64], device_hash[65];
    auth_random_token(token, sizeof(token), 32);
    auth_random_token(csrf, sizeof(csrf), 24);
    auth_random_token(device, sizeof(device), 32);
    auth_token_hash(token, hash);
    auth_token_hash(device, device_hash);
    const struct yj_config *cfg = server_config(r->srv);
    struct store_session s = {
        .user_id = u.id, .created_at = now, .last_seen = now, .expires_at = now + cfg->sessions.absolute};
    snprintf(s.token_hash, sizeof(s.token_hash), "%s", hash);
    snprintf(s.csrf, sizeof(s.csrf), "%s", csrf);
    if (store_session_insert(r->store, &s, &err) < 0 ||
        store_device_add(r->store, device_hash, u.id, now, &err) < 0) {
        reply_error(r, &err);
        store_user_release(&u);
        json_decref(b);
        return;
    }
    r->id = (struct identity){.kind = ID_SESSION,
                              .user_id = u.id,
                              .must_change = u.must_change != 0,
                              .role_bit = auth_role_bit(u.role)};
    snprintf(r->id.name, sizeof(r->id.name), "%s", u.name);
    snprintf(r->id.role, sizeof(r->id.role), "%s", u.role);
    snprintf(r->id.unit, sizeof(r->id.unit), "%s", u.unit ? u.unit : "");
    char actor[160];
    snprintf(actor, sizeof(actor), "user:%s", u.name);
    if (auth_audit(r, actor, "auth.login", u.name, json_pack("{s:s}", "address", r->address)) == 0) {
        char expires[40];
        yj_time_rfc3339(s.expires_at, expires, sizeof(expires));
        reply_json(r, 200,
                   json_pack("{s:o, s:s, s:s, s:o}", "user", user_json(r, &r->id), "csrf", csrf, "expires_at",
                             expires, "desk", desk_json(r)));
        const char *secure = server_is_tls(r->srv) ? "; Secure" : "";
        r->resp.cookie = xasprintf("yj_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
                                   (long long)(cfg->sessions.absolute / 1000), secure);
        /* Only the login reads it. */
        r->resp.cookie2 =
            xasprintf("yj_device=%s; Path=/api/v1/session; HttpOnly; SameSite=Strict; Max-Age=%d%s", device,
                      DEVICE_DAYS * 86400, secure);
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
        /* A token learns what it may do, as a person does. */
        reply_json(r, 200,
                   json_pack("{s:{s:s, s:o, s:s, s:o}}", "token", "name", r->id.name, "scopes", scopes,
                             "role", r->id.role, "may", router_permissions(&r->id)));
        return;
    }
    reply_json(
        r, 200,
        json_pack("{s:o, s:s, s:o}", "user", user_json(r, &r->id), "csrf", r->id.csrf, "desk", desk_json(r)));
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
    /* The old password is checked like a login: a stolen session cannot guess it fast. */
    int64_t now = yj_now_ms();
    struct throttle t = {0};
    if (throttle_read(r, u.name, false, now, &t, &err) < 0) {
        reply_error(r, &err);
        goto out;
    }
    if (t.wait > 0) {
        throttle_refuse(r, &t, now);
        goto out;
    }
    throttle_settle(r, &t, u.name, now);
    if (!account_verify_password(u.password_hash, old)) {
        throttle_failed(r, &t, now);
        auth_audit(r, r->id.actor, "auth.password_change_refused", u.name, json_object());
        reply_problem(r, 403, "bad_credentials", "old", "the old password is wrong");
        goto out;
    }
    store_login_clear(r->store, t.pair, &err);
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
