/* auth.c: who is calling. Passwords are argon2id (libsodium); sessions and API tokens are
 * random and stored only as BLAKE2b hashes, so a copy of the database opens no door. Never
 * logs a secret. Login throttling lives in api_session.c, which is the only place that checks
 * passwords. */
#include "../base/common.h"
#include "../base/token.h"
#include "../base/timeutil.h"
#include "../store/store.h"
#include "../engine/audit.h"
#include "http.h"

#include <sodium.h>

static const struct {
    const char *name;
    unsigned bit;
} role_bits[] = {{"admin", ROLE_ADMIN}, {"leader", ROLE_LEADER}, {"responder", ROLE_RESPONDER},
                 {"officer", ROLE_OFFICER}, {"duty", ROLE_DUTY},    {"auditor", ROLE_AUDITOR}};

unsigned auth_role_bit(const char *role)
{
    for (size_t i = 0; role && i < YJ_ARRAY_LEN(role_bits); i++)
        if (strcmp(role_bits[i].name, role) == 0)
            return role_bits[i].bit;
    return 0;
}

unsigned auth_scopes(json_t *arr, const char **bad)
{
    static const struct {
        const char *name;
        unsigned bit;
    } scopes[] = {{"read", SCOPE_READ}, {"write", SCOPE_WRITE}, {"ingest", SCOPE_INGEST}, {"admin", SCOPE_ADMIN}};
    unsigned bits = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        size_t k;
        for (k = 0; s && k < YJ_ARRAY_LEN(scopes); k++)
            if (strcmp(scopes[k].name, s) == 0)
                break;
        if (!s || k == YJ_ARRAY_LEN(scopes)) {
            *bad = s ? s : "(not a string)";
            return 0;
        }
        bits |= scopes[k].bit;
    }
    return bits;
}

void auth_random_token(char *out, size_t size, size_t nbytes)
{
    yj_token_random(out, size, nbytes);
}

void auth_token_hash(const char *token, char out[65])
{
    yj_token_hash(token, out);
}

bool auth_can_see(const struct request *r, const struct store_incident *inc)
{
    if (r->id.kind != ID_SESSION || r->id.role_bit != ROLE_OFFICER)
        return true;
    /* 部门信息员: the own unit's incidents and what they reported themselves. */
    return (r->id.unit[0] && inc->unit && strcmp(inc->unit, r->id.unit) == 0) ||
           (inc->reporter && strcmp(inc->reporter, r->id.actor) == 0);
}

bool auth_cookie(const char *cookie, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    const char *p = cookie;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            p += nl + 1;
            size_t n = strcspn(p, ";");
            if (n == 0 || n >= size)
                return false;
            memcpy(out, p, n);
            out[n] = 0;
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

static int unauthorized(struct request *r, const char *why)
{
    reply_problem(r, 401, "unauthorized", NULL, "%s", why);
    return -1;
}

/* What a token's hash stands for now: 0 and *id, or YJ_ENOTFOUND (unknown or revoked). */
static int resolve_token(struct store *st, const char *hash, int64_t now, struct identity *id, struct yj_err *err)
{
    struct store_token t;
    int rc = store_token_find(st, hash, &t, err);
    if (rc < 0)
        return rc;
    if (t.revoked_at) {
        store_token_release(&t);
        return YJ_ENOTFOUND;
    }
    json_t *scopes = json_loads(t.scopes, 0, NULL);
    const char *bad = NULL;
    *id = (struct identity){.kind = ID_TOKEN, .token_id = t.id, .role_bit = auth_role_bit(t.role)};
    id->scopes = scopes ? auth_scopes(scopes, &bad) : 0;
    json_decref(scopes);
    snprintf(id->name, sizeof(id->name), "%s", t.name);
    snprintf(id->role, sizeof(id->role), "%s", t.role);
    snprintf(id->actor, sizeof(id->actor), "token:%s", t.name);
    snprintf(id->credential, sizeof(id->credential), "%s", hash);
    id->touch = now - t.last_used > 60 * YJ_MS_PER_SEC;
    store_token_release(&t);
    return 0;
}

/* What a session's hash stands for now: 0 and *id; YJ_ENOTFOUND (ended), YJ_ESTATE (expired:
 * *expired is its id) or YJ_EDENIED (the account is disabled). */
static int resolve_session(struct store *st, const struct yj_config *cfg, const char *hash, int64_t now,
                           struct identity *id, int64_t *expired, struct yj_err *err)
{
    struct store_session s;
    struct store_user u;
    int rc = store_session_user(st, hash, &s, &u, err);
    if (rc < 0)
        return rc;
    if (now > s.expires_at || now - s.last_seen > cfg->sessions.idle) {
        store_user_release(&u);
        *expired = s.id;
        return YJ_ESTATE;
    }
    if (u.disabled) {
        store_user_release(&u);
        return YJ_EDENIED;
    }
    *id = (struct identity){.kind = ID_SESSION,
                            .user_id = u.id,
                            .session_id = s.id,
                            .role_bit = auth_role_bit(u.role),
                            .must_change = u.must_change != 0};
    snprintf(id->name, sizeof(id->name), "%s", u.name);
    snprintf(id->role, sizeof(id->role), "%s", u.role);
    snprintf(id->unit, sizeof(id->unit), "%s", u.unit ? u.unit : "");
    snprintf(id->person, sizeof(id->person), "%s", u.person ? u.person : "");
    snprintf(id->csrf, sizeof(id->csrf), "%s", s.csrf);
    snprintf(id->actor, sizeof(id->actor), "user:%s", u.name);
    snprintf(id->credential, sizeof(id->credential), "%s", hash);
    store_user_release(&u);
    /* Sliding idle expiry, written at most once a minute (after the request's reads). */
    id->touch = now - s.last_seen > 60 * YJ_MS_PER_SEC;
    return 0;
}

int auth_identify(struct request *r)
{
    struct yj_err err = {0};
    const char *authz = request_header(r, "Authorization");
    const char *cookie = request_header(r, "Cookie");
    char token[256];
    char hash[65];
    int64_t now = yj_now_ms();
    if (authz) {
        if (strncmp(authz, "Bearer ", 7) != 0 || strlen(authz + 7) >= sizeof(token))
            return unauthorized(r, "Authorization must be \"Bearer TOKEN\"");
        auth_token_hash(authz + 7, hash);
        int rc = resolve_token(r->store, hash, now, &r->id, &err);
        if (rc == YJ_ENOTFOUND)
            return unauthorized(r, "unknown or revoked API token");
        if (rc < 0) {
            reply_error(r, &err);
            return -1;
        }
        return 0;
    }
    if (!cookie || !auth_cookie(cookie, "yj_session", token, sizeof(token)))
        return 0;
    auth_token_hash(token, hash);
    int64_t expired = 0;
    int rc = resolve_session(r->store, server_config(r->srv), hash, now, &r->id, &expired, &err);
    if (rc == YJ_ENOTFOUND)
        return unauthorized(r, "the session has ended; log in again");
    if (rc == YJ_ESTATE) {
        store_session_delete(r->store, expired, &err);
        return unauthorized(r, "the session has expired; log in again");
    }
    if (rc == YJ_EDENIED)
        return unauthorized(r, "the account is disabled");
    if (rc < 0) {
        reply_error(r, &err);
        return -1;
    }
    return 0;
}

bool auth_still_valid(struct server *srv, struct store *st, const struct identity *id)
{
    struct identity now = {0};
    struct yj_err err = {0};
    int64_t expired = 0;
    int rc = id->kind == ID_TOKEN    ? resolve_token(st, id->credential, yj_now_ms(), &now, &err)
             : id->kind == ID_SESSION ? resolve_session(st, server_config(srv), id->credential, yj_now_ms(), &now,
                                                        &expired, &err)
                                      : YJ_ENOTFOUND;
    return rc == 0 && now.role_bit == id->role_bit && now.scopes == id->scopes && now.must_change == id->must_change &&
           strcmp(now.unit, id->unit) == 0 && now.user_id == id->user_id && now.token_id == id->token_id;
}

void auth_touch(struct request *r)
{
    if (!r->id.touch)
        return;
    struct yj_err err = {0};
    /* Advisory: a failure to record it must not fail the request. */
    int rc = r->id.kind == ID_SESSION ? store_session_touch(r->store, r->id.session_id, yj_now_ms(), &err)
                                      : store_token_touch(r->store, r->id.token_id, yj_now_ms(), &err);
    if (rc < 0)
        server_count_store_error(r->srv);
    r->id.touch = false;
}

int auth_audit(struct request *r, const char *actor, const char *action, const char *object, json_t *detail)
{
    struct yj_err err = {0};
    char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    int rc = store_begin(r->store, &err);
    if (rc == 0)
        rc = audit_append(r->store, yj_now_ms(), actor, action, object, d, 0, &err);
    if (rc == 0)
        rc = store_commit(r->store, &err);
    else
        store_rollback(r->store);
    free(d);
    if (rc < 0) {
        reply_error(r, &err);
        return -1;
    }
    return 0;
}
