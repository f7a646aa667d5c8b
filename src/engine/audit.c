/* audit.c: hashing and verification of the audit chain (BLAKE2b-256 from libsodium).
 * Must never rewrite a row. The canonical form of a row is the compact JSON array
 * [id, at, actor, action, object, detail], which is unambiguous whatever the strings hold. */
#include "../base/common.h"
#include "../store/store.h"
#include "audit.h"

#include <jansson.h>
#include <sodium.h>

static const char genesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void row_hash(int64_t id, int64_t at, const char *actor, const char *action, const char *object,
                     const char *detail, const char *prev_hex, char out_hex[65])
{
    json_t *a = json_pack("[I I s s s s]", (json_int_t)id, (json_int_t)at, actor, action, object, detail);
    char *canon = a ? json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!canon)
        abort(); /* only on OOM or non-UTF-8 input, which callers have already refused */
    unsigned char h[32];
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, sizeof(h));
    crypto_generichash_update(&state, (const unsigned char *)prev_hex, strlen(prev_hex));
    crypto_generichash_update(&state, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&state, (const unsigned char *)canon, strlen(canon));
    crypto_generichash_final(&state, h, sizeof(h));
    sodium_bin2hex(out_hex, 65, h, sizeof(h));
    free(canon);
    json_decref(a);
}

int audit_append(struct store *st, int64_t at, const char *actor, const char *action, const char *object,
                 const char *detail_json, struct yj_err *err)
{
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    int64_t last_id;
    char prev[65];
    int rc = store_audit_head(st, &last_id, prev, err);
    if (rc < 0)
        return rc;
    struct store_audit_row row = {
        .id = last_id + 1, .at = at, .actor = actor, .action = action, .object = object, .detail = detail_json};
    snprintf(row.prev_hash, sizeof(row.prev_hash), "%s", last_id ? prev : genesis);
    row_hash(row.id, at, actor, action, object, detail_json, row.prev_hash, row.hash);
    return store_audit_insert(st, &row, err);
}

struct walk {
    struct audit_result *res;
    int64_t expect_id;
    char prev[65];
};

static int bad(struct walk *w, int64_t id, const char *reason)
{
    w->res->bad_id = id;
    snprintf(w->res->reason, sizeof(w->res->reason), "%s", reason);
    return 1;
}

static int check_row(const struct store_audit_row *r, void *ud)
{
    struct walk *w = ud;
    w->res->rows++;
    if (r->id != w->expect_id) {
        /* The row we expected is gone or the ids were rewritten: blame the first out of place. */
        char why[128];
        snprintf(why, sizeof(why), "expected row %lld here, found row %lld (rows deleted or renumbered)",
                 (long long)w->expect_id, (long long)r->id);
        return bad(w, r->id, why);
    }
    if (strcmp(r->prev_hash, w->prev) != 0)
        return bad(w, r->id, "its link to the previous row does not match (a row before it was removed, "
                             "changed or reordered)");
    char h[65];
    row_hash(r->id, r->at, r->actor, r->action, r->object, r->detail, r->prev_hash, h);
    if (strcmp(h, r->hash) != 0)
        return bad(w, r->id, "its content does not match its hash (the row was edited)");
    memcpy(w->prev, r->hash, sizeof(w->prev));
    w->expect_id++;
    return 0;
}

int audit_verify(struct store *st, struct audit_result *res, struct yj_err *err)
{
    memset(res, 0, sizeof(*res));
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    struct walk w = {.res = res, .expect_id = 1};
    memcpy(w.prev, genesis, sizeof(w.prev));
    int rc = store_audit_foreach(st, check_row, &w, err);
    if (rc < 0)
        return rc;
    if (res->bad_id)
        return 0;
    int64_t head_id;
    char head_hash[65];
    if ((rc = store_audit_head(st, &head_id, head_hash, err)) < 0)
        return rc;
    int64_t last = w.expect_id - 1;
    if (head_id != last || (last && strcmp(head_hash, w.prev) != 0)) {
        res->bad_id = last + 1;
        snprintf(res->reason, sizeof(res->reason),
                 "the chain ends at row %lld but its head records row %lld (rows cut off the end)", (long long)last,
                 (long long)head_id);
        return 0;
    }
    memcpy(res->head_hash, last ? w.prev : "", last ? 65 : 1);
    return 0;
}
