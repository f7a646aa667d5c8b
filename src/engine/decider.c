/* decider.c: whose name a decision is recorded in (ctx.h, struct yj_decider). */
#include "../base/common.h"
#include "../base/err.h"
#include "../plan/plan.h"
#include "ctx.h"

#include <jansson.h>

/* A decision recorded in by's name: the acting person's own, or an administrator's 代录 with its
 * reason (then *proxy says who recorded it and why); refused otherwise. No decider: the command
 * line, whose user is the machine's operator. */
int yj_decider_check(const struct yj_ctx *ctx, const char *by, json_t **proxy, struct yj_err *err)
{
    const struct yj_decider *d = ctx->decider;
    *proxy = NULL;
    if (!d)
        return 0;
    bool own = d->person && *d->person && by && strcmp(d->person, by) == 0;
    if (own)
        return 0;
    if (d->may_record_for_others && d->on_behalf && *d->on_behalf) {
        *proxy = json_pack("{s:s, s:s}", "by", ctx->actor ? ctx->actor : "", "reason", d->on_behalf);
        return 0;
    }
    const char *who = plan_person_name(ctx->plan, by);
    if (d->person && *d->person) {
        yj_err_set(err, YJ_EDENIED, "this account is %s: it records its own decisions, not %s's", d->person,
                   by ? by : "");
        yj_err_zh(err, "本账号是%s，只能记录本人的决定，不能以%s的名义记录%s", plan_person_name(ctx->plan, d->person), who,
                  d->may_record_for_others ? "（管理员代录须写明代录理由）" : "");
    } else {
        yj_err_set(err, YJ_EDENIED, "this account is no person of the plan: it cannot record %s's decision%s",
                   by ? by : "", d->may_record_for_others ? " (an administrator records one with a reason)" : "");
        yj_err_zh(err, "本账号未关联预案中的人员，不能以%s的名义记录决定%s", who,
                  d->may_record_for_others ? "（管理员代录须写明代录理由）" : "");
    }
    yj_err_field(err, "by");
    return YJ_EDENIED;
}
