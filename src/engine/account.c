/* account.c: account rules and password hashing in one place for every front end.
 * Never stores or logs a password; hashing costs ~0.1 s and 64 MiB by design (argon2id,
 * libsodium's interactive limits), so callers must not hash on a hot path. */
#include "../base/common.h"
#include "../base/text.h"
#include "../plan/plan.h"
#include "account.h"
#include "audit.h"
#include "ctx.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>

_Static_assert(ACCOUNT_HASH_SIZE >= crypto_pwhash_STRBYTES, "hash buffer too small");

static const char *const roles[] = {"admin", "leader", "responder", "officer", "duty", "auditor", NULL};

static int field_error(struct yj_err *err, const char *field, const char *msg)
{
    yj_err_set(err, YJ_EINVAL, "%s", msg);
    yj_err_field(err, field);
    return YJ_EINVAL;
}

int account_check(const struct yj_ctx *ctx, const char *name, const char *role, const char *unit, const char *person,
                  struct yj_err *err)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)name[i]) || name[i] == '.' || name[i] == '_' || name[i] == '-';
    if (!ok) {
        field_error(err, "name", "a user name has 1-64 letters, digits, '.', '_' or '-'");
        yj_err_zh(err, "用户名为 1 到 64 个字母、数字或 . _ -");
        return YJ_EINVAL;
    }
    bool known = false;
    for (size_t i = 0; roles[i] && role; i++)
        known |= strcmp(roles[i], role) == 0;
    if (!known)
        return field_error(err, "role", "role must be one of admin, leader, responder, officer, duty, auditor");
    if (unit && !plan_unit(ctx->plan, unit)) {
        yj_err_set(err, YJ_EINVAL, "the plan has no unit \"%s\"", unit);
        yj_err_zh(err, "预案中没有这个单位");
        yj_err_field(err, "unit");
        return YJ_EINVAL;
    }
    if (strcmp(role, "officer") == 0 && !unit) {
        field_error(err, "unit", "an officer (信息员) needs the unit they report for");
        yj_err_zh(err, "信息员须选择所在单位");
        return YJ_EINVAL;
    }
    if (person && !plan_person(ctx->plan, person)) {
        yj_err_set(err, YJ_EINVAL, "the plan has no person \"%s\"", person);
        yj_err_zh(err, "预案中没有这个人员");
        yj_err_field(err, "person");
        return YJ_EINVAL;
    }
    return 0;
}

int account_check_password(const char *field, const char *password, struct yj_err *err)
{
    if (!password || yj_utf8_len(password) < ACCOUNT_PASSWORD_MIN || strlen(password) > ACCOUNT_PASSWORD_MAX ||
        !yj_utf8_valid(password, strlen(password))) {
        yj_err_set(err, YJ_EINVAL, "a password has %d to %d characters", ACCOUNT_PASSWORD_MIN, ACCOUNT_PASSWORD_MAX);
        yj_err_field(err, field);
        return YJ_EINVAL;
    }
    return 0;
}

int account_hash_password(const char *password, char *out, size_t size, struct yj_err *err)
{
    if (size < crypto_pwhash_STRBYTES)
        abort();
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return yj_err_set(err, YJ_ESTORE, "cannot hash the password (out of memory)");
    return 0;
}

bool account_verify_password(const char *hash, const char *password)
{
    return hash && password && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

int account_create(struct yj_ctx *ctx, const char *name, const char *role, const char *unit, const char *person,
                   const char *password, bool must_change, struct store_user *out, struct yj_err *err)
{
    int rc;
    char hash[ACCOUNT_HASH_SIZE];
    if ((rc = account_check(ctx, name, role, unit, person, err)) < 0 ||
        (rc = account_check_password("password", password, err)) < 0 ||
        (rc = account_hash_password(password, hash, sizeof(hash), err)) < 0)
        return rc;
    int64_t now = yj_ctx_now(ctx);
    struct store_user u = {.name = xstrdup(name),
                           .role = xstrdup(role),
                           .unit = xstrdup(unit),
                           .person = xstrdup(person),
                           .password_hash = xstrdup(hash),
                           .must_change = must_change,
                           .created_at = now,
                           .updated_at = now};
    if ((rc = store_begin(ctx->store, err)) < 0) {
        store_user_release(&u);
        return rc;
    }
    rc = store_user_insert(ctx->store, &u, err);
    if (rc == YJ_ECONFLICT) {
        yj_err_zh(err, "用户名「%s」已被使用", name);
        yj_err_field(err, "name");
    }
    rc = audit_commit(ctx, rc, "user.create", name,
                 json_pack("{s:s, s:o, s:o}", "role", role, "unit", unit ? json_string(unit) : json_null(), "person",
                           person ? json_string(person) : json_null()),
                 err);
    if (rc == 0 && out)
        *out = u;
    else
        store_user_release(&u);
    return rc;
}

int account_one_time_password(char out[ACCOUNT_ONE_TIME_SIZE], struct yj_err *err)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    for (size_t i = 0; i < ACCOUNT_ONE_TIME_SIZE - 1; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[ACCOUNT_ONE_TIME_SIZE - 1] = 0;
    return 0;
}

int account_set_password(struct yj_ctx *ctx, const char *name, const char *password, bool must_change,
                         struct yj_err *err)
{
    int rc;
    char hash[ACCOUNT_HASH_SIZE];
    if ((rc = account_check_password("password", password, err)) < 0 ||
        (rc = account_hash_password(password, hash, sizeof(hash), err)) < 0)
        return rc;
    struct store_user u;
    if ((rc = store_user_get(ctx->store, 0, name, &u, err)) < 0) {
        if (rc == YJ_ENOTFOUND)
            yj_err_set(err, YJ_ENOTFOUND, "no user named \"%s\"", name);
        return rc;
    }
    free(u.password_hash);
    u.password_hash = xstrdup(hash);
    u.must_change = must_change;
    u.updated_at = yj_ctx_now(ctx);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = store_user_update(ctx->store, &u, err);
        /* A new password ends every session that the old one opened. */
        if (rc == 0)
            rc = store_session_delete_user(ctx->store, u.id, err);
        rc = audit_commit(ctx, rc, "user.password", name, json_object(), err);
    }
    store_user_release(&u);
    return rc;
}

struct admins {
    int64_t except;
    int64_t others;
};

static int count_admin(const struct store_user *u, void *ud)
{
    struct admins *a = ud;
    if (u->id != a->except && !u->disabled && u->role && strcmp(u->role, "admin") == 0)
        a->others++;
    return 0;
}

int account_keeps_an_admin(struct store *st, const struct store_user *after, struct yj_err *err)
{
    if (!after->disabled && after->role && strcmp(after->role, "admin") == 0)
        return 0;
    struct admins a = {.except = after->id};
    int rc = store_user_list(st, count_admin, &a, err);
    if (rc < 0)
        return rc;
    if (a.others == 0)
        return yj_err_set(err, YJ_ESTATE, "%s is the last enabled administrator: make another one first", after->name);
    return 0;
}
