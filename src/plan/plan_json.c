/* plan_json.c: plan → JSON. The structure comes from the decoder's schema table, so the JSON
 * has exactly the keys of the plan file; this file only adds what is derived (GB/T names,
 * national level names and colours, effective defaults). Read-only. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "decode.h"
#include "plan.h"
#include "plan_json.h"

extern const struct decode_schema plan_schema;

json_t *plan_json(const struct plan *p)
{
    json_t *o = decode_to_json(&plan_schema, p);
    json_object_set_new(json_object_get(o, "plan"), "file", json_string(p->file));

    json_t *levels = json_object_get(o, "levels");
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct plan_level *l = &p->levels[i];
        json_t *lj = json_array_get(levels, i);
        json_object_set_new(lj, "national_name", json_string(plan_national_name(l->national_level)));
        json_object_set_new(lj, "warning_color", json_string(plan_national_color(l->national_level)));
        /* The upward report deadline in force, whether written or derived from operator_type. */
        int64_t up = plan_upward_deadline(p, l);
        char buf[32];
        if (up >= 0)
            yj_duration_format(up, buf, sizeof(buf));
        json_object_set_new(json_object_get(lj, "deadlines"), "upward_report", up >= 0 ? json_string(buf) : json_null());
    }

    json_t *types = json_object_get(o, "types");
    for (size_t i = 0; i < p->n_types; i++) {
        const struct plan_type *t = &p->types[i];
        json_t *tj = json_array_get(types, i);
        const struct gbt_category *cat = NULL;
        const struct gbt_subcategory *sub = plan_gbt(p, t->gbt, &cat);
        json_object_set_new(tj, "gbt_category", json_string(cat->name));
        json_object_set_new(tj, "gbt_category_id", json_string(cat->id));
        json_object_set_new(tj, "gbt_subcategory", json_string(sub->name));
        json_object_set_new(tj, "gbt_subcategory_id", json_string(sub->id));
        json_object_set_new(tj, "route", json_string(t->route ? t->route : "type"));
        json_object_set_new(tj, "default_level", json_string(t->default_level ? t->default_level : t->levels[0]));
    }
    return o;
}
