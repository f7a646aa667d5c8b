/* plan_identity.c: the plan a store is used with, and the one way to change it. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "audit.h"
#include "ctx.h"
#include "plan_identity.h"

#include <jansson.h>

int plan_identity_check(struct yj_ctx *ctx, bool allow_change, bool *changed, struct yj_err *err)
{
    const struct plan_meta *m = &ctx->plan->meta;
    struct store_plan_identity was = {0};
    *changed = false;
    int rc = store_plan_identity_get(ctx->store, &was, err);
    if (rc < 0 && rc != YJ_ENOTFOUND)
        return rc;
    bool first = rc == YJ_ENOTFOUND;
    if (!first && strcmp(was.plan_id, m->id) == 0)
        return 0;
    if (!first && !allow_change) {
        char since[40];
        yj_time_local(was.since, since, sizeof(since));
        return yj_err_set(
            err, YJ_ESTATE,
            "these data were made with the plan \"%s\" (id %s, in use since %s), not with \"%s\" "
            "(id %s). Start with the plan they were made with, or start once with --plan-change to "
            "move them to this plan (recorded in the audit log; incidents keep the names they were "
            "made with)",
            was.name, was.plan_id, since, m->name, m->id);
    }
    int64_t now = yj_ctx_now(ctx);
    if ((rc = store_begin(ctx->store, err)) < 0)
        return rc;
    rc = store_plan_identity_set(ctx->store, m->id, m->name, now, err);
    if (rc == 0 && !first) {
        json_t *d = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "from", "id", was.plan_id, "name", was.name,
                              "to", "id", m->id, "name", m->name);
        char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(d);
        rc = audit_append(ctx->store, now, ctx->actor, "plan.change", m->id, detail, 0, err);
        free(detail);
    }
    if (rc < 0) {
        store_rollback(ctx->store);
        return rc;
    }
    if ((rc = store_commit(ctx->store, err)) < 0)
        return rc;
    *changed = !first;
    return 0;
}
