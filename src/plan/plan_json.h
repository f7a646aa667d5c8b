/* plan_json.h: a loaded plan as JSON (`yingji plan show --json`, later GET /api/v1/plan). */
#ifndef YJ_PLAN_JSON_H
#define YJ_PLAN_JSON_H

#include <jansson.h>

struct plan;

/* New object (caller json_decref's it) with plan, roles, units, people, groups, contacts,
 * classes, levels, types, duties, equipment, assets: each an array of objects with an id. */
json_t *plan_json(const struct plan *plan);

#endif
