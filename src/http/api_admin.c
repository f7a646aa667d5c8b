/* api_admin.c: accounts (/api/v1/users), machine tokens (/api/v1/tokens) and the audit log
 * (/api/v1/audit). Every change is audited; a token's secret is shown once and stored hashed. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../engine/account.h"
#include "../engine/audit.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "http.h"

#include <sodium.h>

static json_t *user_json(const struct store_user *u)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:b, s:b, s:o}", "id", (json_int_t)u->id, "name", u->name, "role",
                     u->role, "unit", u->unit ? json_string(u->unit) : json_null(), "person",
                     u->person ? json_string(u->person) : json_null(), "disabled", (int)u->disabled,
                     "must_change_password", (int)u->must_change, "created_at", yj_json_time(u->created_at));
}

static int add_user(const struct store_user *u, void *ud)
{
    json_array_append_new(ud, user_json(u));
    return 0;
}

void api_users_list(struct request *r)
{
    json_t *items = json_array();
    struct yj_err err = {0};
    if (store_user_list(r->store, add_user, items, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_users_create(struct request *r)
{
    static const struct json_field fields[] = {{"name", JSON_STRING, true},
                                               {"role", JSON_STRING, true},
                                               {"unit", JSON_STRING, false},
                                               {"person", JSON_STRING, false},
                                               {"password", JSON_STRING, true},
                                               {"must_change_password", JSON_TRUE, false}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    struct store_user u;
    struct yj_err err = {0};
    if (account_create(&r->ctx, json_string_value(json_object_get(b, "name")),
                       json_string_value(json_object_get(b, "role")), json_string_value(json_object_get(b, "unit")),
                       json_string_value(json_object_get(b, "person")), json_string_value(json_object_get(b, "password")),
                       json_is_true(json_object_get(b, "must_change_password")), &u, &err) < 0) {
        if (err.code == YJ_ECONFLICT)
            reply_problem(r, 409, "conflict", "name", "%s", err.msg);
        else
            reply_error(r, &err);
        goto out;
    }
    reply_json(r, 201, user_json(&u));
    snprintf(r->resp.location, sizeof(r->resp.location), "/api/v1/users/%lld", (long long)u.id);
    store_user_release(&u);
out:
    json_decref(b);
}

/* The account of the path's {id}: false after answering 404. */
static bool load_user(struct request *r, struct store_user *u)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    struct yj_err err = {0};
    if (*end || id <= 0) {
        reply_problem(r, 404, "not_found", NULL, "no user %s", r->params[0]);
        return false;
    }
    if (store_user_get(r->store, id, NULL, u, &err) < 0) {
        reply_error(r, &err);
        return false;
    }
    return true;
}

void api_users_update(struct request *r)
{
    static const struct json_field fields[] = {{"role", JSON_STRING, false},
                                               {"unit", JSON_STRING, false},
                                               {"person", JSON_STRING, false},
                                               {"disabled", JSON_TRUE, false},
                                               {"password", JSON_STRING, false},
                                               {"must_change_password", JSON_TRUE, false}};
    struct store_user u = {0};
    struct yj_err err = {0};
    json_t *b = NULL;
    if (!load_user(r, &u))
        return;
    b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    json_t *v;
    if ((v = json_object_get(b, "role"))) {
        free(u.role);
        u.role = xstrdup(json_string_value(v));
    }
    if ((v = json_object_get(b, "unit"))) {
        free(u.unit);
        u.unit = xstrdup(json_string_value(v)); /* null clears it */
    }
    if ((v = json_object_get(b, "person"))) {
        free(u.person);
        u.person = xstrdup(json_string_value(v)); /* null clears it */
    }
    if ((v = json_object_get(b, "disabled")))
        u.disabled = json_is_true(v);
    if ((v = json_object_get(b, "must_change_password")))
        u.must_change = json_is_true(v);
    const char *password = json_string_value(json_object_get(b, "password"));
    if (account_check(&r->ctx, u.name, u.role, u.unit, u.person, &err) < 0 ||
        (password && account_check_password("password", password, &err) < 0)) {
        reply_error(r, &err);
        goto out;
    }
    int rc = account_keeps_an_admin(r->store, &u, &err);
    if (rc == YJ_ESTATE) {
        reply_problem(r, 409, "last_admin", json_object_get(b, "role") ? "role" : "disabled", "%s", err.msg);
        goto out;
    }
    if (rc < 0) {
        reply_error(r, &err);
        goto out;
    }
    u.updated_at = yj_now_ms();
    json_t *changes = json_deep_copy(b);
    json_object_del(changes, "password");
    if (store_user_update(r->store, &u, &err) < 0 ||
        (u.disabled && store_session_delete_user(r->store, u.id, &err) < 0) ||
        (password && account_set_password(&r->ctx, u.name, password, u.must_change != 0, &err) < 0)) {
        json_decref(changes);
        reply_error(r, &err);
        goto out;
    }
    if (auth_audit(r, r->id.actor, "user.update", u.name, changes) == 0)
        reply_json(r, 200, user_json(&u));
out:
    json_decref(b);
    store_user_release(&u);
}

/* A forgotten password: a new one-time password, shown to the administrator once, to be changed
 * at the first login; the account's sessions end. */
void api_users_password_reset(struct request *r)
{
    struct store_user u = {0};
    struct yj_err err = {0};
    if (!load_user(r, &u))
        return;
    char password[ACCOUNT_ONE_TIME_SIZE] = "";
    if (account_one_time_password(password, &err) < 0 || account_set_password(&r->ctx, u.name, password, true, &err) < 0)
        reply_error(r, &err);
    else
        reply_json(r, 200, json_pack("{s:s, s:s}", "name", u.name, "password", password));
    sodium_memzero(password, sizeof(password));
    store_user_release(&u);
}

static json_t *token_json(const struct store_token *t)
{
    json_t *scopes = json_loads(t->scopes, 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)t->id, "name", t->name, "scopes",
                     scopes ? scopes : json_array(), "role", t->role, "created_by", t->created_by, "created_at",
                     yj_json_time(t->created_at), "last_used", yj_json_time(t->last_used), "revoked_at",
                     yj_json_time(t->revoked_at));
}

static int add_token(const struct store_token *t, void *ud)
{
    json_array_append_new(ud, token_json(t));
    return 0;
}

void api_tokens_list(struct request *r)
{
    json_t *items = json_array();
    struct yj_err err = {0};
    if (store_token_list(r->store, add_token, items, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_tokens_create(struct request *r)
{
    static const struct json_field fields[] = {
        {"name", JSON_STRING, true}, {"scopes", JSON_ARRAY, true}, {"role", JSON_STRING, false}};
    json_t *b = request_json(r);
    if (!b || !request_check(r, b, fields, YJ_ARRAY_LEN(fields)))
        goto out;
    const char *name = json_string_value(json_object_get(b, "name"));
    json_t *scopes = json_object_get(b, "scopes");
    const char *bad = NULL;
    struct yj_err err = {0};
    /* A token acts with a role; without one it gets the least that its scopes need. */
    unsigned bits = auth_scopes(scopes, &bad);
    const char *role = json_string_value(json_object_get(b, "role"));
    if (!role)
        role = bits & (SCOPE_WRITE | SCOPE_ADMIN) ? "duty" : "auditor";
    if (!auth_role_bit(role)) {
        reply_problem(r, 400, "invalid_field", "role", "role must be one of admin, leader, responder, officer, duty, "
                                                       "auditor");
        goto out;
    }
    if (account_check(&r->ctx, name, "auditor", NULL, NULL, &err) < 0) {
        reply_problem(r, 400, "invalid_field", "name", "a token name has 1-64 letters, digits, '.', '_' or '-'");
        goto out;
    }
    if (json_array_size(scopes) == 0 || !auth_scopes(scopes, &bad)) {
        reply_problem(r, 400, "invalid_field", "scopes", "scopes must list some of read, write, ingest, admin%s%s",
                      bad ? "; unknown: " : "", bad ? bad : "");
        goto out;
    }
    char secret[80], token[96], hash[65];
    auth_random_token(secret, sizeof(secret), 32);
    snprintf(token, sizeof(token), "yj_%s", secret);
    auth_token_hash(token, hash);
    char *scopes_text = json_dumps(scopes, JSON_COMPACT);
    struct store_token t = {.name = (char *)name, .scopes = scopes_text, .created_by = r->id.actor,
                            .created_at = yj_now_ms(), .role = (char *)role};
    snprintf(t.token_hash, sizeof(t.token_hash), "%s", hash);
    int rc = store_token_insert(r->store, &t, &err);
    free(scopes_text);
    if (rc < 0) {
        reply_error(r, &err);
        goto out;
    }
    if (auth_audit(r, r->id.actor, "token.create", name,
                   json_pack("{s:I, s:O, s:s}", "id", (json_int_t)t.id, "scopes", scopes, "role", role)) == 0)
        reply_json(r, 201, json_pack("{s:I, s:s, s:s, s:O, s:s}", "id", (json_int_t)t.id, "token", token, "name", name,
                                     "scopes", scopes, "role", role));
    sodium_memzero(token, sizeof(token));
out:
    json_decref(b);
}

void api_tokens_revoke(struct request *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    struct yj_err err = {0};
    if (*end || id <= 0) {
        reply_problem(r, 404, "not_found", NULL, "no token %s", r->params[0]);
        return;
    }
    if (store_token_revoke(r->store, id, yj_now_ms(), &err) < 0) {
        reply_error(r, &err);
        return;
    }
    if (auth_audit(r, r->id.actor, "token.revoke", r->params[0], json_object()) == 0)
        r->resp.status = 204;
}

static int add_audit(const struct store_audit_row *row, void *ud)
{
    json_t *detail = json_loads(row->detail, 0, NULL);
    json_array_append_new(ud, json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:s, s:s, s:s?}", "id", (json_int_t)row->id,
                                        "at", yj_json_time(row->at), "actor", row->actor, "action", row->action,
                                        "object", row->object, "detail", detail ? detail : json_string(row->detail),
                                        "prev_hash", row->prev_hash, "hash", row->hash, "state", row->state));
    return 0;
}

void api_audit_list(struct request *r)
{
    int64_t after = request_query_int(r, "after", 0), limit = request_query_int(r, "limit", 100);
    json_t *items = json_array();
    struct yj_err err = {0};
    struct audit_result res;
    /* The chain is verified from where the server last found it intact, not from row 1 each
     * time (a full check, states and all, is `yingji audit verify`). */
    if (store_audit_page(r->store, after, (int)limit, add_audit, items, &err) < 0 ||
        server_audit_verify(r->srv, r->store, &res, &err) < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    json_t *verify = json_pack("{s:b, s:I, s:o, s:o, s:o, s:b}", "ok", res.bad_id == 0, "rows", (json_int_t)res.rows,
                               "bad_row", res.bad_id ? json_integer(res.bad_id) : json_null(), "reason",
                               res.bad_id ? json_string(res.reason) : json_null(), "head",
                               res.bad_id ? json_null() : json_string(res.head_hash), "signed",
                               res.signature_checked);
    reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "verify", verify));
}
