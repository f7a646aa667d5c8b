/* api_plan.c: read-only views of the plan in force (/api/v1/plan and its parts). The JSON is
 * plan_json()'s, so the API, `yingji plan show --json` and the plan file agree. */
#include "../base/common.h"
#include "../plan/plan.h"
#include "../base/timeutil.h"
#include "../engine/duty.h"
#include "../plan/plan_json.h"
#include "http.h"

void api_plan_get(struct request *r)
{
    reply_json(r, 200, plan_json(r->ctx.plan));
}

void api_plan_part(struct request *r)
{
    static const char *const lists[] = {"roles",  "units",  "people",     "groups",    "contacts", "classes", "levels",
                                        "types",  "duties", "escalation", "equipment", "assets",   "roster"};
    const char *part = r->params[0];
    json_t *all = plan_json(r->ctx.plan);
    json_t *items = NULL;
    for (size_t i = 0; i < YJ_ARRAY_LEN(lists); i++)
        if (strcmp(lists[i], part) == 0)
            items = json_incref(json_object_get(all, part));
    json_t *types = json_object_get(all, "types"), *levels = json_object_get(all, "levels");
    if (!items && strcmp(part, "routing") == 0) {
        /* 谁主管、谁负责: which unit each type goes to, and how. */
        items = json_array();
        for (size_t i = 0; i < json_array_size(types); i++) {
            json_t *t = json_array_get(types, i);
            json_array_append_new(items, json_pack("{s:O, s:O, s:O, s:O, s:O}", "type", json_object_get(t, "id"),
                                                   "name", json_object_get(t, "name"), "class",
                                                   json_object_get(t, "class"), "owner", json_object_get(t, "owner"),
                                                   "route", json_object_get(t, "route")));
        }
    } else if (!items && strcmp(part, "deadlines") == 0) {
        items = json_array();
        for (size_t i = 0; i < json_array_size(levels); i++) {
            json_t *l = json_array_get(levels, i);
            json_array_append_new(items, json_pack("{s:O, s:O, s:O, s:O, s:O}", "level", json_object_get(l, "id"),
                                                   "name", json_object_get(l, "name"), "national",
                                                   json_object_get(l, "national"), "activation",
                                                   json_object_get(l, "activation"), "deadlines",
                                                   json_object_get(l, "deadlines")));
        }
    } else if (!items && strcmp(part, "playbooks") == 0) {
        items = json_array();
        for (size_t i = 0; i < json_array_size(types); i++) {
            json_t *t = json_array_get(types, i);
            json_array_append_new(items, json_pack("{s:O, s:O, s:O}", "type", json_object_get(t, "id"), "name",
                                                   json_object_get(t, "name"), "steps",
                                                   json_object_get(t, "playbook")));
        }
    }
    json_decref(all);
    if (!items) {
        reply_problem(r, 404, "not_found", NULL,
                      "no plan part \"%s\" (roles, units, people, groups, contacts, classes, levels, types, duties, "
                      "roster, escalation, equipment, assets, routing, deadlines, playbooks)",
                      part);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_duty_now(struct request *r)
{
    int64_t at = yj_ctx_now(&r->ctx);
    const char *q = request_query(r, "at");
    struct yj_err err;
    if (q && yj_time_parse(q, &at, &err) < 0) {
        reply_problem(r, 400, "invalid_field", "at", "%s", err.msg);
        return;
    }
    reply_json(r, 200, duty_json(r->ctx.plan, at));
}
