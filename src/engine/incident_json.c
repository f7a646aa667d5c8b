/* incident_json.c: incident → JSON. Ids are what the API takes back (type, level, unit,
 * class); names ride along for people (type_name, unit_name, ...). GB/T 20986 categories are
 * given by their names in the standard, with Yingji's ids beside them (*_id). */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "ctx.h"
#include "incident.h"
#include "incident_json.h"

const char *incident_national_roman(int n)
{
    static const char *const roman[] = {"", "I", "II", "III", "IV"};
    return n >= 1 && n <= 4 ? roman[n] : "";
}

static int add_timeline(const struct store_timeline_entry *e, void *ud)
{
    json_t *arr = ud;
    json_t *body = json_loads(e->body, 0, NULL);
    json_array_append_new(arr, json_pack("{s:I, s:o, s:s, s:s, s:o}", "id", (json_int_t)e->id, "at",
                                         yj_json_time(e->at), "actor", e->actor, "kind", e->kind, "body",
                                         body ? body : json_string(e->body)));
    return 0;
}

/* The name in the current plan, else the one kept with the row from the plan it was made with. */
static json_t *name_of(const char *in_plan, json_t *kept, const char *key)
{
    if (in_plan)
        return json_string(in_plan);
    json_t *k = kept ? json_object_get(kept, key) : NULL;
    return json_is_string(k) ? json_incref(k) : json_null();
}

json_t *incident_json(struct yj_ctx *ctx, const struct store_incident *inc, enum incident_view view,
                      int64_t *changes_at, struct yj_err *err)
{
    const struct plan *plan = ctx->plan;
    const struct plan_type *t = plan_type(plan, inc->type);
    const struct plan_level *l = plan_level(plan, inc->level);
    const struct plan_unit *u = plan_unit(plan, inc->unit);
    const struct plan_class *c = plan_class(plan, inc->class_id);
    const struct gbt_category *cat = NULL;
    const struct gbt_subcategory *sub = plan_gbt(plan, inc->gbt_subcategory, &cat);

    json_t *kept = inc->names ? json_loads(inc->names, 0, NULL) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(inc->id));
    json_object_set_new(o, "number", json_string(inc->number));
    json_object_set_new(o, "title", json_string(inc->title));
    json_object_set_new(o, "type", json_string(inc->type));
    json_object_set_new(o, "type_name", name_of(t ? t->name : NULL, kept, "type"));
    json_object_set_new(o, "class", json_string(inc->class_id));
    json_object_set_new(o, "class_name", name_of(c ? c->name : NULL, kept, "class"));
    json_object_set_new(o, "level", json_string(inc->level));
    json_object_set_new(o, "level_name", name_of(l ? l->name : NULL, kept, "level"));
    json_object_set_new(o, "national_level", json_string(incident_national_roman((int)inc->national_level)));
    json_object_set_new(o, "national_level_name", json_string(plan_national_name((int)inc->national_level)));
    json_object_set_new(o, "warning_color", json_string(plan_national_color((int)inc->national_level)));
    json_object_set_new(o, "gbt_category", yj_json_str(cat ? cat->name : inc->gbt_category));
    json_object_set_new(o, "gbt_subcategory", yj_json_str(sub ? sub->name : inc->gbt_subcategory));
    json_object_set_new(o, "status", json_string(inc->status));
    json_object_set_new(o, "unit", json_string(inc->unit));
    json_object_set_new(o, "unit_name", name_of(u ? u->name : NULL, kept, "unit"));
    json_object_set_new(o, "drill", json_boolean(inc->drill));
    json_object_set_new(o, "assignee", yj_json_str(inc->assignee));
    json_object_set_new(o, "reporter", json_string(inc->reporter));
    json_object_set_new(o, "reported_at", yj_json_time(inc->reported_at));
    json_object_set_new(o, "updated_at", yj_json_time(inc->updated_at));
    json_object_set_new(o, "closed_at", yj_json_time(inc->closed_at));
    json_object_set_new(o, "version", json_integer(inc->version));
    json_object_set_new(o, "signal_count", json_integer(inc->signal_count));
    json_object_set_new(o, "last_signal_at", yj_json_time(inc->last_signal_at));
    json_decref(kept);
    if (view >= INCIDENT_FULL) {
        json_object_set_new(o, "fingerprint", yj_json_str(inc->fingerprint));
        json_object_set_new(o, "gbt_category_id", json_string(inc->gbt_category));
        json_object_set_new(o, "gbt_subcategory_id", json_string(inc->gbt_subcategory));
        json_t *assets = json_loads(inc->assets ? inc->assets : "[]", 0, NULL);
        json_object_set_new(o, "assets", assets ? assets : json_array());
#define TEXT(k) json_object_set_new(o, #k, yj_json_str(inc->k));
        TEXT(source) TEXT(scope) TEXT(nature) TEXT(trend) TEXT(measures) TEXT(activated_by) TEXT(activation_reason)
        TEXT(cause) TEXT(loss) TEXT(lessons) TEXT(clues) TEXT(support) TEXT(scene) TEXT(dismiss_reason)
#undef TEXT
#define TIME(k) json_object_set_new(o, #k, yj_json_time(inc->k));
        TIME(occurred_at) TIME(detected_at) TIME(acknowledged_at) TIME(assessed_at) TIME(activated_at)
        TIME(contained_at) TIME(recovered_at)
#undef TIME
    }

    struct store_deadline ds[32];
    size_t nd = 0;
    if (store_deadline_list(ctx->store, inc->id, ds, YJ_ARRAY_LEN(ds), &nd, err) < 0) {
        json_decref(o);
        return NULL;
    }
    int64_t now = yj_ctx_now(ctx);
    json_t *arr = json_array();
    for (size_t i = 0; i < nd; i++) {
        bool overdue = ds[i].met_at ? ds[i].met_at > ds[i].due_at : now > ds[i].due_at;
        if (changes_at && !ds[i].met_at && ds[i].due_at >= now && ds[i].due_at < *changes_at)
            *changes_at = ds[i].due_at;
        json_t *d = json_pack("{s:s, s:o, s:o, s:b, s:o}", "kind", ds[i].kind, "due_at", yj_json_time(ds[i].due_at),
                              "met_at", yj_json_time(ds[i].met_at), "overdue", (int)overdue, "outcome",
                              ds[i].outcome[0] ? json_string(ds[i].outcome) : json_null());
        if (strcmp(ds[i].outcome, "waived") == 0)
            json_object_set_new(d, "waived", json_pack("{s:s, s:s}", "by", ds[i].waived_by, "reason", ds[i].waive_reason));
        json_array_append_new(arr, d);
    }
    json_object_set_new(o, "deadlines", arr);

    if (view == INCIDENT_FULL_TIMELINE) {
        json_t *tl = json_array();
        if (store_timeline_list(ctx->store, inc->id, add_timeline, tl, err) < 0) {
            json_decref(tl);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "timeline", tl);
    }
    return o;
}

json_t *task_json(const struct store_task *t)
{
    json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:b, s:o, s:s, s:s?, s:s?, s:s?}", "id",
                          (json_int_t)t->id, "step", (json_int_t)t->step + 1, "phase", t->phase, "title", t->title,
                          "owner_role", t->owner_role, "owner_unit", t->owner_unit, "contact", t->contact, "action",
                          t->action && strcmp(t->action, "none") != 0 ? t->action : NULL, "approval", (int)t->approval,
                          "created_at", yj_json_time(t->created_at), "status", t->status, "reason", t->reason, "note",
                          t->note, "updated_by", t->updated_by);
    json_object_set_new(o, "assignee", yj_json_str(t->assignee));
    if (t->due_at)
        json_object_set_new(o, "due_at", yj_json_time(t->due_at));
    if (t->updated_at)
        json_object_set_new(o, "updated_at", yj_json_time(t->updated_at));
    if (t->overdue_at)
        json_object_set_new(o, "overdue_at", yj_json_time(t->overdue_at));
    if (t->approval_status[0]) {
        json_t *a = json_pack("{s:s, s:s?, s:s?}", "status", t->approval_status, "by", t->approved_by, "reason",
                              t->approval_reason);
        if (t->approved_at)
            json_object_set_new(a, "at", yj_json_time(t->approved_at));
        json_object_set_new(o, "approval_decision", a);
    }
    return o;
}
