/* plan_json.c: plan → JSON, keys as in the plan file so the two read alike. Read-only. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "plan.h"
#include "plan_json.h"

static json_t *s_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *strs(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *dur(int64_t ms)
{
    if (ms < 0)
        return json_null();
    char buf[32];
    yj_duration_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

static const char *roman(int n)
{
    static const char *const r[] = {"", "I", "II", "III", "IV"};
    return n >= 1 && n <= 4 ? r[n] : "";
}

json_t *plan_json(const struct plan *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "plan",
                        json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:s}", "id", p->meta.id, "name", p->meta.name,
                                  "version", s_or_null(p->meta.version), "timezone", p->meta.timezone,
                                  "operator_type", p->meta.operator_type, "number_prefix", p->meta.number_prefix,
                                  "source", s_or_null(p->meta.source), "file", p->file));

    json_t *a = json_array();
    for (size_t i = 0; i < p->n_roles; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "id", p->roles[i].id, "name", p->roles[i].name,
                                           "access", p->roles[i].access, "description",
                                           s_or_null(p->roles[i].description)));
    json_object_set_new(o, "roles", a);

    a = json_array();
    for (size_t i = 0; i < p->n_units; i++) {
        const struct plan_unit *u = &p->units[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "id", u->id, "name", u->name, "short",
                                           s_or_null(u->short_name), "head", s_or_null(u->head), "informants",
                                           strs(u->informants, u->n_informants), "description",
                                           s_or_null(u->description)));
    }
    json_object_set_new(o, "units", a);

    a = json_array();
    for (size_t i = 0; i < p->n_people; i++) {
        const struct plan_person *x = &p->people[i];
        json_t *c = json_object();
        if (x->contacts.phone)
            json_object_set_new(c, "phone", json_string(x->contacts.phone));
        if (x->contacts.mobile)
            json_object_set_new(c, "mobile", json_string(x->contacts.mobile));
        if (x->contacts.email)
            json_object_set_new(c, "email", json_string(x->contacts.email));
        if (x->contacts.wecom)
            json_object_set_new(c, "wecom", json_string(x->contacts.wecom));
        if (x->contacts.dingtalk)
            json_object_set_new(c, "dingtalk", json_string(x->contacts.dingtalk));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}", "id", x->id, "name", x->name, "title",
                                           s_or_null(x->title), "unit", x->unit, "roles", strs(x->roles, x->n_roles),
                                           "contacts", c));
    }
    json_object_set_new(o, "people", a);

    a = json_array();
    for (size_t i = 0; i < p->n_groups; i++) {
        const struct plan_group *g = &p->groups[i];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id", g->id, "name", g->name, "kind",
                         g->kind, "leaders", strs(g->leaders, g->n_leaders), "deputies",
                         strs(g->deputies, g->n_deputies), "member_units", strs(g->member_units, g->n_member_units),
                         "members", strs(g->members, g->n_members), "office_unit", s_or_null(g->office_unit),
                         "duties", s_or_null(g->duties)));
    }
    json_object_set_new(o, "groups", a);

    a = json_array();
    for (size_t i = 0; i < p->n_contacts; i++) {
        const struct plan_contact *c = &p->contacts[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "id", c->id, "name", c->name, "kind",
                                           c->kind, "phone", s_or_null(c->phone), "email", s_or_null(c->email),
                                           "note", s_or_null(c->note)));
    }
    json_object_set_new(o, "contacts", a);

    a = json_array();
    for (size_t i = 0; i < p->n_classes; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "id", p->classes[i].id, "name", p->classes[i].name,
                                           "coordinator", p->classes[i].coordinator, "description",
                                           s_or_null(p->classes[i].description)));
    json_object_set_new(o, "classes", a);

    a = json_array();
    for (size_t i = 0; i < p->n_levels; i++) {
        const struct plan_level *l = &p->levels[i];
        const struct plan_deadlines *d = &l->deadlines;
        json_t *dl = json_pack("{s:o, s:o, s:o, s:o, s:o}", "report", dur(d->report), "acknowledge",
                               dur(d->acknowledge), "assessment", dur(d->assessment), "upward_report",
                               dur(plan_upward_deadline(p, l)), "summary_report", dur(d->summary_report));
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "id", l->id, "name", l->name,
                                           "national", roman(l->national_level), "national_name",
                                           plan_national_name(l->national_level), "warning_color",
                                           plan_national_color(l->national_level), "activation", (int)l->activation,
                                           "deadlines", dl, "description", s_or_null(l->description)));
    }
    json_object_set_new(o, "levels", a);

    a = json_array();
    for (size_t i = 0; i < p->n_types; i++) {
        const struct plan_type *t = &p->types[i];
        const struct gbt_category *cat = NULL;
        const struct gbt_subcategory *sub = plan_gbt(p, t->gbt, &cat);
        json_t *steps = json_array();
        for (size_t k = 0; k < t->n_steps; k++) {
            const struct plan_step *s = &t->steps[k];
            json_array_append_new(steps, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "title",
                                                   s->title, "phase", s->phase, "owner_role",
                                                   s_or_null(s->owner_role), "owner_unit", s_or_null(s->owner_unit),
                                                   "contact", s_or_null(s->contact), "action",
                                                   s_or_null(s->action), "approval", (int)s->approval, "due",
                                                   dur(s->due), "note", s_or_null(s->note)));
        }
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", t->id, "name",
                         t->name, "class", t->class_id, "owner", t->owner, "route", t->route ? t->route : "type",
                         "gbt_category", cat->name, "gbt_category_id", cat->id, "gbt_subcategory", sub->name,
                         "gbt_subcategory_id", sub->id, "levels", strs(t->levels, t->n_levels), "default_level",
                         json_string(t->default_level ? t->default_level : t->levels[0]), "description",
                         s_or_null(t->description), "playbook", steps));
    }
    json_object_set_new(o, "types", a);

    a = json_array();
    for (size_t i = 0; i < p->n_duties; i++) {
        const struct plan_duty *d = &p->duties[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", d->id, "title",
                                           d->title, "every", d->every, "at", s_or_null(d->at), "owner_unit",
                                           d->owner_unit, "owner_role", s_or_null(d->owner_role), "contact",
                                           s_or_null(d->contact), "scenarios", strs(d->scenarios, d->n_scenarios),
                                           "basis", s_or_null(d->basis)));
    }
    json_object_set_new(o, "duties", a);

    a = json_array();
    for (size_t i = 0; i < p->n_equipment; i++) {
        const struct plan_equipment *e = &p->equipment[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:o}", "id", e->id, "name", e->name,
                                           "kind", s_or_null(e->kind), "quantity", (json_int_t)e->quantity,
                                           "location", s_or_null(e->location), "owner", s_or_null(e->owner), "note",
                                           s_or_null(e->note)));
    }
    json_object_set_new(o, "equipment", a);

    a = json_array();
    for (size_t i = 0; i < p->n_assets; i++) {
        const struct plan_asset *x = &p->assets[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "id", x->id, "name", x->name, "kind",
                                           x->kind, "address", s_or_null(x->address), "owner", x->owner,
                                           "importance", s_or_null(x->importance)));
    }
    json_object_set_new(o, "assets", a);
    return o;
}
