/* plan_identity.h: which plan a store's data were made with. Incidents, rosters and rules refer
 * to the plan by id; data made with one plan read under another show ids nobody knows and route
 * to units that do not exist, so a change of plan (another plan.id) is a deliberate, recorded act.
 * A revision of the same plan (same id) is not a change. */
#ifndef YJ_PLAN_IDENTITY_H
#define YJ_PLAN_IDENTITY_H

#include <stdbool.h>

struct yj_ctx;
struct yj_err;

/* Records ctx->plan as the data's plan when none is recorded. When another is: with allow_change,
 * records the change (audit action plan.change, from and to) and sets *changed; without it,
 * YJ_ESTATE and err says which plan the data were made with and how to change it. */
int plan_identity_check(struct yj_ctx *ctx, bool allow_change, bool *changed, struct yj_err *err);

#endif
