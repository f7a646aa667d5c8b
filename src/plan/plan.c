/* plan.c: loading, validating and querying an emergency plan.
 * Validation is all-or-nothing: a plan with any error is refused whole, so a running system
 * never sees half a plan. Loading is rare (start, reload); lookups are linear over small lists. */
#include "../base/common.h"
#include "../base/embed.h"
#include "../base/timeutil.h"
#include "decode.h"
#include "plan.h"

#include <libfyaml.h>
#include <sys/stat.h>

#define PLAN_MAX_BYTES ((size_t)4 * 1024 * 1024)

const char *const plan_builtin_names[] = {"university", "county-bureau", NULL};

/* ---- schemas: one table per struct, in the order of docs/plan-format.md ---- */

static const struct decode_field meta_fields[] = {
    DECODE_FIELD(struct plan_meta, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_meta, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_meta, "version", DK_STR, false, version),
    DECODE_FIELD(struct plan_meta, "organization", DK_STR, false, organization),
    DECODE_FIELD(struct plan_meta, "timezone", DK_STR, false, timezone),
    DECODE_FIELD(struct plan_meta, "operator_type", DK_STR, false, operator_type),
    DECODE_FIELD(struct plan_meta, "number_prefix", DK_STR, false, number_prefix),
    DECODE_FIELD(struct plan_meta, "source", DK_STR, false, source),
};
static const struct decode_schema meta_schema = DECODE_SCHEMA(meta, struct plan_meta, "plan", meta_fields);

static const struct decode_field role_fields[] = {
    DECODE_FIELD(struct plan_role, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_role, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_role, "access", DK_STR, true, access),
    DECODE_FIELD(struct plan_role, "description", DK_STR, false, description),
};
static const struct decode_schema role_schema = DECODE_SCHEMA(role, struct plan_role, "role", role_fields);

static const struct decode_field unit_fields[] = {
    DECODE_FIELD(struct plan_unit, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_unit, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_unit, "short", DK_STR, false, short_name),
    DECODE_FIELD(struct plan_unit, "head", DK_STR, false, head),
    DECODE_STRS(struct plan_unit, "informants", false, informants),
    DECODE_FIELD(struct plan_unit, "description", DK_STR, false, description),
};
static const struct decode_schema unit_schema = DECODE_SCHEMA(unit, struct plan_unit, "unit", unit_fields);

static const struct decode_field channels_fields[] = {
    DECODE_FIELD(struct plan_channels, "phone", DK_STR, false, phone),
    DECODE_FIELD(struct plan_channels, "mobile", DK_STR, false, mobile),
    DECODE_FIELD(struct plan_channels, "email", DK_STR, false, email),
    DECODE_FIELD(struct plan_channels, "wecom", DK_STR, false, wecom),
    DECODE_FIELD(struct plan_channels, "dingtalk", DK_STR, false, dingtalk),
};
static const struct decode_schema channels_schema =
    DECODE_SCHEMA(channels, struct plan_channels, "contacts", channels_fields);

static const struct decode_field person_fields[] = {
    DECODE_FIELD(struct plan_person, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_person, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_person, "title", DK_STR, false, title),
    DECODE_FIELD(struct plan_person, "unit", DK_STR, true, unit),
    DECODE_STRS(struct plan_person, "roles", false, roles),
    DECODE_OBJ(struct plan_person, "contacts", false, contacts, channels_schema),
};
static const struct decode_schema person_schema =
    DECODE_SCHEMA(person, struct plan_person, "person", person_fields);

static const struct decode_field group_fields[] = {
    DECODE_FIELD(struct plan_group, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_group, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_group, "kind", DK_STR, true, kind),
    DECODE_STRS(struct plan_group, "leaders", false, leaders),
    DECODE_STRS(struct plan_group, "deputies", false, deputies),
    DECODE_STRS(struct plan_group, "member_units", false, member_units),
    DECODE_STRS(struct plan_group, "members", false, members),
    DECODE_FIELD(struct plan_group, "office_unit", DK_STR, false, office_unit),
    DECODE_FIELD(struct plan_group, "duties", DK_STR, false, duties),
};
static const struct decode_schema group_schema = DECODE_SCHEMA(group, struct plan_group, "group", group_fields);

static const struct decode_field contact_fields[] = {
    DECODE_FIELD(struct plan_contact, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_contact, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_contact, "kind", DK_STR, true, kind),
    DECODE_FIELD(struct plan_contact, "phone", DK_STR, false, phone),
    DECODE_FIELD(struct plan_contact, "email", DK_STR, false, email),
    DECODE_FIELD(struct plan_contact, "note", DK_STR, false, note),
};
static const struct decode_schema contact_schema =
    DECODE_SCHEMA(contact, struct plan_contact, "contact", contact_fields);

static const struct decode_field class_fields[] = {
    DECODE_FIELD(struct plan_class, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_class, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_class, "coordinator", DK_STR, true, coordinator),
    DECODE_FIELD(struct plan_class, "description", DK_STR, false, description),
};
static const struct decode_schema class_schema = DECODE_SCHEMA(class, struct plan_class, "class", class_fields);

static const struct decode_field deadlines_fields[] = {
    DECODE_FIELD(struct plan_deadlines, "report", DK_DUR, false, report),
    DECODE_FIELD(struct plan_deadlines, "acknowledge", DK_DUR, false, acknowledge),
    DECODE_FIELD(struct plan_deadlines, "assessment", DK_DUR, true, assessment),
    DECODE_FIELD(struct plan_deadlines, "activation", DK_DUR, false, activation),
    DECODE_FIELD(struct plan_deadlines, "upward_report", DK_DUR, false, upward_report),
    DECODE_FIELD(struct plan_deadlines, "supplement", DK_DUR, false, supplement),
    DECODE_FIELD(struct plan_deadlines, "summary_report", DK_DUR, false, summary_report),
};
static const struct decode_schema deadlines_schema =
    DECODE_SCHEMA(deadlines, struct plan_deadlines, "deadlines", deadlines_fields);

static const struct decode_field level_fields[] = {
    DECODE_FIELD(struct plan_level, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_level, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_level, "national", DK_STR, true, national),
    DECODE_FIELD(struct plan_level, "activation", DK_BOOL, false, activation),
    DECODE_OBJ(struct plan_level, "deadlines", true, deadlines, deadlines_schema),
    DECODE_FIELD(struct plan_level, "description", DK_STR, false, description),
};
static const struct decode_schema level_schema = DECODE_SCHEMA(level, struct plan_level, "level", level_fields);

static const struct decode_field step_fields[] = {
    DECODE_FIELD(struct plan_step, "title", DK_STR, true, title),
    DECODE_FIELD(struct plan_step, "phase", DK_STR, true, phase),
    DECODE_FIELD(struct plan_step, "owner_role", DK_STR, false, owner_role),
    DECODE_FIELD(struct plan_step, "owner_unit", DK_STR, false, owner_unit),
    DECODE_FIELD(struct plan_step, "contact", DK_STR, false, contact),
    DECODE_FIELD(struct plan_step, "action", DK_STR, false, action),
    DECODE_FIELD(struct plan_step, "approval", DK_BOOL, false, approval),
    DECODE_FIELD(struct plan_step, "due", DK_DUR, false, due),
    DECODE_FIELD(struct plan_step, "note", DK_STR, false, note),
};
static const struct decode_schema step_schema = DECODE_SCHEMA(step, struct plan_step, "playbook step", step_fields);

static const struct decode_field type_fields[] = {
    DECODE_FIELD(struct plan_type, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_type, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_type, "class", DK_STR, true, class_id),
    DECODE_FIELD(struct plan_type, "owner", DK_STR, true, owner),
    DECODE_FIELD(struct plan_type, "route", DK_STR, false, route),
    DECODE_FIELD(struct plan_type, "gbt", DK_STR, true, gbt),
    DECODE_STRS(struct plan_type, "levels", true, levels),
    DECODE_FIELD(struct plan_type, "default_level", DK_STR, false, default_level),
    DECODE_FIELD(struct plan_type, "description", DK_STR, false, description),
    DECODE_LIST(struct plan_type, "playbook", false, steps, step_schema),
};
static const struct decode_schema type_schema = DECODE_SCHEMA(type, struct plan_type, "type", type_fields);

static const struct decode_field duty_fields[] = {
    DECODE_FIELD(struct plan_duty, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_duty, "title", DK_STR, true, title),
    DECODE_FIELD(struct plan_duty, "every", DK_STR, true, every),
    DECODE_FIELD(struct plan_duty, "at", DK_STR, false, at),
    DECODE_FIELD(struct plan_duty, "owner_unit", DK_STR, true, owner_unit),
    DECODE_FIELD(struct plan_duty, "owner_role", DK_STR, false, owner_role),
    DECODE_FIELD(struct plan_duty, "contact", DK_STR, false, contact),
    DECODE_STRS(struct plan_duty, "scenarios", false, scenarios),
    DECODE_FIELD(struct plan_duty, "basis", DK_STR, false, basis),
};
static const struct decode_schema duty_schema = DECODE_SCHEMA(duty, struct plan_duty, "duty", duty_fields);

static const struct decode_field rotation_fields[] = {
    DECODE_FIELD(struct plan_rotation, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_rotation, "name", DK_STR, false, name),
    DECODE_FIELD(struct plan_rotation, "every", DK_STR, true, every),
    DECODE_FIELD(struct plan_rotation, "start", DK_STR, true, start),
    DECODE_STRS(struct plan_rotation, "people", true, people),
    DECODE_FIELD(struct plan_rotation, "holidays", DK_BOOL, false, holidays),
};
static const struct decode_schema rotation_schema =
    DECODE_SCHEMA(rotation, struct plan_rotation, "rotation", rotation_fields);

static const struct decode_field override_fields[] = {
    DECODE_FIELD(struct plan_override, "rotation", DK_STR, true, rotation),
    DECODE_FIELD(struct plan_override, "person", DK_STR, true, person),
    DECODE_FIELD(struct plan_override, "from", DK_STR, true, from),
    DECODE_FIELD(struct plan_override, "to", DK_STR, true, to),
    DECODE_FIELD(struct plan_override, "reason", DK_STR, false, reason),
};
static const struct decode_schema override_schema =
    DECODE_SCHEMA(override, struct plan_override, "override", override_fields);

static const struct decode_field roster_fields[] = {
    DECODE_FIELD(struct plan_roster, "handover", DK_STR, false, handover),
    DECODE_LIST(struct plan_roster, "rotations", true, rotations, rotation_schema),
    DECODE_STRS(struct plan_roster, "holidays", false, holidays),
    DECODE_LIST(struct plan_roster, "overrides", false, overrides, override_schema),
};
static const struct decode_schema roster_schema = DECODE_SCHEMA(roster, struct plan_roster, "roster", roster_fields);

static const struct decode_field escalation_step_fields[] = {
    DECODE_STRS(struct plan_escalation_step, "notify", true, notify),
    DECODE_FIELD(struct plan_escalation_step, "after", DK_DUR, false, after),
    DECODE_FIELD(struct plan_escalation_step, "repeat", DK_INT, false, repeat),
    DECODE_FIELD(struct plan_escalation_step, "every", DK_DUR, false, every),
};
static const struct decode_schema escalation_step_schema =
    DECODE_SCHEMA(escalation_step, struct plan_escalation_step, "escalation step", escalation_step_fields);

static const struct decode_field escalation_fields[] = {
    DECODE_FIELD(struct plan_escalation, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_escalation, "name", DK_STR, false, name),
    DECODE_STRS(struct plan_escalation, "levels", false, levels),
    DECODE_STRS(struct plan_escalation, "types", false, types),
    DECODE_STRS(struct plan_escalation, "deadlines", false, deadlines),
    DECODE_LIST(struct plan_escalation, "steps", true, steps, escalation_step_schema),
};
static const struct decode_schema escalation_schema =
    DECODE_SCHEMA(escalation, struct plan_escalation, "escalation policy", escalation_fields);

static const struct decode_field equipment_fields[] = {
    DECODE_FIELD(struct plan_equipment, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_equipment, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_equipment, "kind", DK_STR, false, kind),
    DECODE_FIELD(struct plan_equipment, "quantity", DK_INT, false, quantity),
    DECODE_FIELD(struct plan_equipment, "location", DK_STR, false, location),
    DECODE_FIELD(struct plan_equipment, "owner", DK_STR, false, owner),
    DECODE_FIELD(struct plan_equipment, "note", DK_STR, false, note),
};
static const struct decode_schema equipment_schema =
    DECODE_SCHEMA(equipment, struct plan_equipment, "equipment item", equipment_fields);

static const struct decode_field asset_fields[] = {
    DECODE_FIELD(struct plan_asset, "id", DK_STR, true, id),
    DECODE_FIELD(struct plan_asset, "name", DK_STR, true, name),
    DECODE_FIELD(struct plan_asset, "kind", DK_STR, true, kind),
    DECODE_FIELD(struct plan_asset, "address", DK_STR, false, address),
    DECODE_FIELD(struct plan_asset, "owner", DK_STR, true, owner),
    DECODE_FIELD(struct plan_asset, "importance", DK_STR, false, importance),
};
static const struct decode_schema asset_schema = DECODE_SCHEMA(asset, struct plan_asset, "asset", asset_fields);

static const struct decode_field plan_fields[] = {
    DECODE_OBJ(struct plan, "plan", true, meta, meta_schema),
    DECODE_LIST(struct plan, "roles", true, roles, role_schema),
    DECODE_LIST(struct plan, "units", true, units, unit_schema),
    DECODE_LIST(struct plan, "people", false, people, person_schema),
    DECODE_LIST(struct plan, "groups", true, groups, group_schema),
    DECODE_LIST(struct plan, "contacts", false, contacts, contact_schema),
    DECODE_LIST(struct plan, "classes", true, classes, class_schema),
    DECODE_LIST(struct plan, "levels", true, levels, level_schema),
    DECODE_LIST(struct plan, "types", true, types, type_schema),
    DECODE_LIST(struct plan, "duties", false, duties, duty_schema),
    DECODE_OBJ(struct plan, "roster", false, roster, roster_schema),
    DECODE_LIST(struct plan, "escalation", false, escalations, escalation_schema),
    DECODE_LIST(struct plan, "equipment", false, equipment, equipment_schema),
    DECODE_LIST(struct plan, "assets", false, assets, asset_schema),
};
/* Not static: plan_json.c renders a plan through the same table. */
const struct decode_schema plan_schema = DECODE_SCHEMA(plan, struct plan, "the plan file", plan_fields);

static const struct decode_field gbt_sub_fields[] = {
    DECODE_FIELD(struct gbt_subcategory, "id", DK_STR, true, id),
    DECODE_FIELD(struct gbt_subcategory, "name", DK_STR, true, name),
    DECODE_FIELD(struct gbt_subcategory, "en", DK_STR, false, en),
};
static const struct decode_schema gbt_sub_schema =
    DECODE_SCHEMA(gbt_sub, struct gbt_subcategory, "subcategory", gbt_sub_fields);
static const struct decode_field gbt_cat_fields[] = {
    DECODE_FIELD(struct gbt_category, "id", DK_STR, true, id),
    DECODE_FIELD(struct gbt_category, "name", DK_STR, true, name),
    DECODE_FIELD(struct gbt_category, "en", DK_STR, false, en),
    DECODE_LIST(struct gbt_category, "subcategories", true, subcategories, gbt_sub_schema),
};
static const struct decode_schema gbt_cat_schema =
    DECODE_SCHEMA(gbt_cat, struct gbt_category, "category", gbt_cat_fields);
static const struct decode_field gbt_fields[] = {
    DECODE_FIELD(struct gbt_table, "standard", DK_STR, true, standard),
    DECODE_LIST(struct gbt_table, "categories", true, categories, gbt_cat_schema),
};
static const struct decode_schema gbt_schema = DECODE_SCHEMA(gbt, struct gbt_table, "GB/T 20986 table", gbt_fields);

/* ---- lookups ---- */

#define FIND_BY_ID(arr, n, key)                                                                           \
    do {                                                                                                  \
        if (!(key))                                                                                       \
            return NULL;                                                                                  \
        for (size_t i_ = 0; i_ < (n); i_++)                                                               \
            if ((arr)[i_].id && strcmp((arr)[i_].id, (key)) == 0)                                         \
                return &(arr)[i_];                                                                        \
        return NULL;                                                                                      \
    } while (0)

const struct plan_unit *plan_unit(const struct plan *p, const char *id) { FIND_BY_ID(p->units, p->n_units, id); }
const struct plan_person *plan_person(const struct plan *p, const char *id) { FIND_BY_ID(p->people, p->n_people, id); }
const char *plan_person_name(const struct plan *p, const char *id)
{
    const struct plan_person *x = id ? plan_person(p, id) : NULL;
    return x ? x->name : id ? id : "";
}
const struct plan_role *plan_role(const struct plan *p, const char *id) { FIND_BY_ID(p->roles, p->n_roles, id); }
const struct plan_class *plan_class(const struct plan *p, const char *id) { FIND_BY_ID(p->classes, p->n_classes, id); }
const struct plan_level *plan_level(const struct plan *p, const char *id) { FIND_BY_ID(p->levels, p->n_levels, id); }
const struct plan_type *plan_type(const struct plan *p, const char *id) { FIND_BY_ID(p->types, p->n_types, id); }
const struct plan_contact *plan_contact(const struct plan *p, const char *id)
{
    FIND_BY_ID(p->contacts, p->n_contacts, id);
}
const struct plan_group *plan_group(const struct plan *p, const char *id) { FIND_BY_ID(p->groups, p->n_groups, id); }

const struct plan_asset *plan_asset(const struct plan *p, const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < p->n_assets; i++)
        if ((p->assets[i].id && strcmp(p->assets[i].id, key) == 0) ||
            (p->assets[i].address && strcmp(p->assets[i].address, key) == 0))
            return &p->assets[i];
    return NULL;
}

const struct gbt_subcategory *plan_gbt(const struct plan *p, const char *sub_id, const struct gbt_category **cat)
{
    if (!sub_id || !p->gbt)
        return NULL;
    for (size_t i = 0; i < p->gbt->n_categories; i++) {
        const struct gbt_category *c = &p->gbt->categories[i];
        for (size_t j = 0; j < c->n_subcategories; j++)
            if (strcmp(c->subcategories[j].id, sub_id) == 0) {
                if (cat)
                    *cat = c;
                return &c->subcategories[j];
            }
    }
    return NULL;
}

bool plan_type_has_level(const struct plan_type *t, const char *level_id)
{
    for (size_t i = 0; i < t->n_levels; i++)
        if (strcmp(t->levels[i], level_id) == 0)
            return true;
    return false;
}

const char *plan_type_mildest_level(const struct plan *plan, const struct plan_type *t)
{
    const char *best = NULL;
    int worst = 0;
    for (size_t i = 0; t && i < t->n_levels; i++) {
        const struct plan_level *l = plan_level(plan, t->levels[i]);
        if (l && l->national_level > worst) {
            worst = l->national_level;
            best = l->id;
        }
    }
    return best;
}

const char *plan_national_name(int n)
{
    static const char *const names[] = {"", "特别重大", "重大", "较大", "一般"};
    return n >= 1 && n <= 4 ? names[n] : "";
}

const char *plan_national_color(int n)
{
    static const char *const colors[] = {"", "red", "orange", "yellow", "blue"};
    return n >= 1 && n <= 4 ? colors[n] : "";
}

int64_t plan_upward_deadline(const struct plan *p, const struct plan_level *l)
{
    if (l->deadlines.upward_report >= 0)
        return l->deadlines.upward_report;
    if (l->national_level > 3)
        return -1;
    /* 网络安全事件报告管理办法 (2025): CII operators 1 h, central and state organs 2 h, others 4 h. */
    const char *op = p->meta.operator_type ? p->meta.operator_type : "other";
    if (strcmp(op, "cii") == 0)
        return YJ_MS_PER_HOUR;
    if (strcmp(op, "state_organ") == 0)
        return 2 * YJ_MS_PER_HOUR;
    return 4 * YJ_MS_PER_HOUR;
}

/* ---- validation ---- */

static bool one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

static void check_enum(struct decoder *d, char *const *field, const char *what, const char *const *set)
{
    if (!*field || one_of(*field, set))
        return;
    char list[256] = "";
    size_t off = 0;
    for (const char *const *s = set; *s && off < sizeof(list); s++) {
        int w = snprintf(list + off, sizeof(list) - off, "%s%s", s == set ? "" : ", ", *s);
        if (w > 0)
            off += (size_t)w;
    }
    decode_error_at(d, field, "%s \"%s\" is not one of: %s", what, *field, list);
}

/* Reports duplicate ids in an array of structs whose first member is `char *id`. */
static void check_dups(struct decoder *d, const void *arr, size_t n, size_t size, const char *what)
{
    const char *base = arr;
    for (size_t i = 0; i < n; i++) {
        char *const *a = (char *const *)(base + i * size);
        if (!*a)
            continue;
        for (size_t j = 0; j < i; j++) {
            char *const *b = (char *const *)(base + j * size);
            if (*b && strcmp(*a, *b) == 0) {
                const struct plan_loc *first = decode_loc(d, b);
                decode_error_at(d, a, "duplicate %s id \"%s\" (first defined at line %d)", what, *a,
                                first ? first->line : 0);
                break;
            }
        }
    }
}

#define CHECK_REF(d, plan, fieldp, lookup, what)                                                          \
    do {                                                                                                  \
        if (*(fieldp) && !lookup((plan), *(fieldp)))                                                      \
            decode_error_at((d), (fieldp), "unknown %s \"%s\"", (what), *(fieldp));                       \
    } while (0)

#define CHECK_REFS(d, plan, arr, n, lookup, what)                                                         \
    do {                                                                                                  \
        for (size_t k_ = 0; k_ < (n); k_++)                                                               \
            CHECK_REF(d, plan, &(arr)[k_], lookup, what);                                                 \
    } while (0)

static const char *gbt_exists(const struct plan *p, const char *id)
{
    return plan_gbt(p, id, NULL) ? id : NULL;
}

static const char *const access_roles[] = {"admin", "leader", "responder", "officer", "duty", "auditor", NULL};
static const char *const group_kinds[] = {"leading", "office", "team", "joint", NULL};
static const char *const contact_kinds[] = {"isp",       "vendor",   "security", "police", "fire",
                                            "repair",    "regulator", "supplier", "expert", "other", NULL};
static const char *const national_names[] = {"I", "II", "III", "IV", NULL};
static const char *const routes[] = {"type", "asset", NULL};
static const char *const phases[] = {"reported", "assessing", "responding", "recovering", "reviewing", NULL};
static const char *const actions[] = {"none", "block_ip", "run_script", "http", "maintenance_page", "restore_files",
                                      NULL};
static const char *const every_set[] = {"daily", "weekly", "monthly", "quarterly", "yearly", NULL};
static const char *const asset_kinds[] = {"website", "server", "ip_range", "system", "room", "media_account",
                                          "network", "database", NULL};
static const char *const importance_set[] = {"normal", "important", "critical", NULL};
static const char *const operator_types[] = {"cii", "state_organ", "other", NULL};

static const char *const rotation_every[] = {"daily", "weekly", NULL};
static const char *const deadline_kinds[] = {"new",           "report",         "acknowledge", "assessment", "activation",
                                             "upward_report", "supplement",     "summary_report", "task", NULL};

const struct plan_rotation *plan_rotation(const struct plan *p, const char *id)
{
    FIND_BY_ID(p->roster.rotations, p->roster.n_rotations, id);
}

int plan_handover_minutes(const struct plan *p)
{
    int minutes = 8 * 60 + 30;
    if (p->roster.handover)
        (void)yj_clock_parse(p->roster.handover, &minutes);
    return minutes;
}

static void validate_roster(struct decoder *d, struct plan *p)
{
    struct plan_roster *r = &p->roster;
    int minutes, y, m, dd;
    if (r->handover && yj_clock_parse(r->handover, &minutes) < 0)
        decode_error_at(d, &r->handover, "handover \"%s\": expected a time of day HH:MM", r->handover);
    check_dups(d, r->rotations, r->n_rotations, sizeof(*r->rotations), "rotation");
    for (size_t i = 0; i < r->n_rotations; i++) {
        struct plan_rotation *x = &r->rotations[i];
        check_enum(d, &x->every, "every", rotation_every);
        if (x->start && yj_date_parse(x->start, &y, &m, &dd) < 0)
            decode_error_at(d, &x->start, "start \"%s\": expected a date YYYY-MM-DD", x->start);
        if (x->n_people == 0)
            decode_error_at(d, x, "a rotation needs at least one person");
        CHECK_REFS(d, p, x->people, x->n_people, plan_person, "person");
    }
    for (size_t i = 0; i < r->n_holidays; i++)
        if (yj_date_parse(r->holidays[i], &y, &m, &dd) < 0)
            decode_error_at(d, &r->holidays[i], "holiday \"%s\": expected a date YYYY-MM-DD", r->holidays[i]);
    for (size_t i = 0; i < r->n_overrides; i++) {
        struct plan_override *o = &r->overrides[i];
        CHECK_REF(d, p, &o->rotation, plan_rotation, "rotation");
        CHECK_REF(d, p, &o->person, plan_person, "person");
        int64_t from = 0, to = 0;
        if (o->from && yj_local_datetime_parse(o->from, &from) < 0)
            decode_error_at(d, &o->from, "from \"%s\": expected \"YYYY-MM-DD HH:MM\"", o->from);
        else if (o->to && yj_local_datetime_parse(o->to, &to) < 0)
            decode_error_at(d, &o->to, "to \"%s\": expected \"YYYY-MM-DD HH:MM\"", o->to);
        else if (o->from && o->to && to <= from)
            decode_error_at(d, &o->to, "to must be after from");
    }
}

static void check_target(struct decoder *d, const struct plan *p, char *const *target)
{
    const char *t = *target;
    if (strcmp(t, "duty") == 0) {
        if (p->roster.n_rotations == 0)
            decode_error_at(d, target, "\"duty\" needs a roster with at least one rotation");
        return;
    }
    if (strcmp(t, "unit_head") == 0 || strcmp(t, "reporter") == 0)
        return;
    const char *colon = strchr(t, ':');
    const char *id = colon ? colon + 1 : "";
    size_t kl = colon ? (size_t)(colon - t) : 0;
    bool known = false;
    if (kl == 4 && strncmp(t, "unit", 4) == 0)
        known = plan_unit(p, id) != NULL;
    else if (kl == 6 && strncmp(t, "person", 6) == 0)
        known = plan_person(p, id) != NULL;
    else if (kl == 4 && strncmp(t, "role", 4) == 0)
        known = plan_role(p, id) != NULL;
    else if (kl == 5 && strncmp(t, "group", 5) == 0)
        known = plan_group(p, id) != NULL;
    else {
        decode_error_at(d, target,
                        "notify \"%s\": expected duty, unit_head, reporter, unit:ID, person:ID, role:ID or group:ID",
                        t);
        return;
    }
    if (!known)
        decode_error_at(d, target, "notify \"%s\": no such %.*s", t, (int)kl, t);
}

static void validate_escalations(struct decoder *d, struct plan *p)
{
    check_dups(d, p->escalations, p->n_escalations, sizeof(*p->escalations), "escalation policy");
    for (size_t i = 0; i < p->n_escalations; i++) {
        struct plan_escalation *e = &p->escalations[i];
        CHECK_REFS(d, p, e->levels, e->n_levels, plan_level, "level");
        CHECK_REFS(d, p, e->types, e->n_types, plan_type, "type");
        for (size_t k = 0; k < e->n_deadlines; k++)
            check_enum(d, &e->deadlines[k], "deadline", deadline_kinds);
        if (e->n_steps == 0)
            decode_error_at(d, e, "an escalation policy needs at least one step");
        for (size_t k = 0; k < e->n_steps; k++) {
            struct plan_escalation_step *st = &e->steps[k];
            if (st->n_notify == 0)
                decode_error_at(d, st, "a step must notify someone");
            for (size_t t = 0; t < st->n_notify; t++)
                check_target(d, p, &st->notify[t]);
            if (st->repeat < 0 || st->repeat > 100)
                decode_error_at(d, &st->repeat, "repeat must be between 0 and 100");
            if (st->repeat > 0 && st->every == 0)
                decode_error_at(d, &st->every, "every must be longer than 0s");
        }
    }
}

static void validate(struct decoder *d, struct plan *p)
{
    struct plan_meta *m = &p->meta;
    check_enum(d, &m->operator_type, "operator_type", operator_types);
    if (m->timezone) {
        char path[512];
        struct stat st;
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", m->timezone);
        if (strstr(m->timezone, "..") || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            decode_error_at(d, &m->timezone, "unknown time zone \"%s\" (write e.g. Asia/Shanghai)", m->timezone);
    }
    if (m->number_prefix) {
        for (const char *c = m->number_prefix; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) || c - m->number_prefix >= 8) {
                decode_error_at(d, &m->number_prefix, "number_prefix must be 1-8 capital letters or digits");
                break;
            }
    }

    check_dups(d, p->roles, p->n_roles, sizeof(*p->roles), "role");
    check_dups(d, p->units, p->n_units, sizeof(*p->units), "unit");
    check_dups(d, p->people, p->n_people, sizeof(*p->people), "person");
    check_dups(d, p->groups, p->n_groups, sizeof(*p->groups), "group");
    check_dups(d, p->contacts, p->n_contacts, sizeof(*p->contacts), "contact");
    check_dups(d, p->classes, p->n_classes, sizeof(*p->classes), "class");
    check_dups(d, p->levels, p->n_levels, sizeof(*p->levels), "level");
    check_dups(d, p->types, p->n_types, sizeof(*p->types), "type");
    check_dups(d, p->duties, p->n_duties, sizeof(*p->duties), "duty");
    check_dups(d, p->equipment, p->n_equipment, sizeof(*p->equipment), "equipment");
    check_dups(d, p->assets, p->n_assets, sizeof(*p->assets), "asset");

    for (size_t i = 0; i < p->n_roles; i++)
        check_enum(d, &p->roles[i].access, "access", access_roles);
    for (size_t i = 0; i < p->n_units; i++) {
        struct plan_unit *u = &p->units[i];
        CHECK_REF(d, p, &u->head, plan_person, "person");
        CHECK_REFS(d, p, u->informants, u->n_informants, plan_person, "person");
    }
    for (size_t i = 0; i < p->n_people; i++) {
        struct plan_person *x = &p->people[i];
        CHECK_REF(d, p, &x->unit, plan_unit, "unit");
        CHECK_REFS(d, p, x->roles, x->n_roles, plan_role, "role");
    }
    bool leading = false;
    for (size_t i = 0; i < p->n_groups; i++) {
        struct plan_group *g = &p->groups[i];
        check_enum(d, &g->kind, "group kind", group_kinds);
        if (g->kind && strcmp(g->kind, "leading") == 0)
            leading = true;
        CHECK_REFS(d, p, g->leaders, g->n_leaders, plan_person, "person");
        CHECK_REFS(d, p, g->deputies, g->n_deputies, plan_person, "person");
        CHECK_REFS(d, p, g->members, g->n_members, plan_person, "person");
        CHECK_REFS(d, p, g->member_units, g->n_member_units, plan_unit, "unit");
        CHECK_REF(d, p, &g->office_unit, plan_unit, "unit");
    }
    if (!leading && p->n_groups)
        decode_error_at(d, p->groups, "the plan needs a group of kind \"leading\" (领导小组)");
    for (size_t i = 0; i < p->n_contacts; i++)
        check_enum(d, &p->contacts[i].kind, "contact kind", contact_kinds);
    for (size_t i = 0; i < p->n_classes; i++)
        CHECK_REF(d, p, &p->classes[i].coordinator, plan_unit, "unit");
    for (size_t i = 0; i < p->n_levels; i++) {
        struct plan_level *l = &p->levels[i];
        check_enum(d, &l->national, "national level", national_names);
        for (int k = 0; national_names[k]; k++)
            if (l->national && strcmp(l->national, national_names[k]) == 0)
                l->national_level = k + 1;
    }
    for (size_t i = 0; i < p->n_types; i++) {
        struct plan_type *t = &p->types[i];
        CHECK_REF(d, p, &t->class_id, plan_class, "class");
        CHECK_REF(d, p, &t->owner, plan_unit, "unit");
        CHECK_REF(d, p, &t->gbt, gbt_exists, "GB/T 20986 subcategory");
        check_enum(d, &t->route, "route", routes);
        CHECK_REFS(d, p, t->levels, t->n_levels, plan_level, "level");
        if (t->levels && t->n_levels == 0)
            decode_error_at(d, t, "type \"%s\" must allow at least one level", t->id ? t->id : "?");
        if (t->default_level && !plan_type_has_level(t, t->default_level))
            decode_error_at(d, &t->default_level, "default_level \"%s\" is not among the type's levels",
                            t->default_level);
        for (size_t k = 0; k < t->n_steps; k++) {
            struct plan_step *s = &t->steps[k];
            check_enum(d, &s->phase, "phase", phases);
            check_enum(d, &s->action, "action", actions);
            CHECK_REF(d, p, &s->owner_role, plan_role, "role");
            CHECK_REF(d, p, &s->owner_unit, plan_unit, "unit");
            CHECK_REF(d, p, &s->contact, plan_contact, "contact");
        }
    }
    for (size_t i = 0; i < p->n_duties; i++) {
        struct plan_duty *u = &p->duties[i];
        check_enum(d, &u->every, "every", every_set);
        CHECK_REF(d, p, &u->owner_unit, plan_unit, "unit");
        CHECK_REF(d, p, &u->owner_role, plan_role, "role");
        CHECK_REF(d, p, &u->contact, plan_contact, "contact");
        CHECK_REFS(d, p, u->scenarios, u->n_scenarios, plan_type, "type");
        int hh, mm;
        char tail;
        if (u->at && (sscanf(u->at, "%2d:%2d%c", &hh, &mm, &tail) != 2 || hh > 23 || mm > 59 || hh < 0 || mm < 0))
            decode_error_at(d, &u->at, "at \"%s\": expected a time of day HH:MM", u->at);
    }
    validate_roster(d, p);
    validate_escalations(d, p);
    for (size_t i = 0; i < p->n_equipment; i++)
        CHECK_REF(d, p, &p->equipment[i].owner, plan_unit, "unit");
    for (size_t i = 0; i < p->n_assets; i++) {
        struct plan_asset *a = &p->assets[i];
        CHECK_REF(d, p, &a->owner, plan_unit, "unit");
        check_enum(d, &a->kind, "asset kind", asset_kinds);
        check_enum(d, &a->importance, "importance", importance_set);
    }
}

static void copy_diags(struct decoder *d, struct plan_diags *diags, struct yj_err *err)
{
    yj_err_set(err, YJ_EINVAL, "%s", d->n_diags ? d->diags[0] : "invalid plan");
    if (diags) {
        diags->lines = d->diags;
        diags->n = d->n_diags;
        d->diags = NULL;
        d->n_diags = 0;
    }
}

int gbt_load(struct gbt_table **out, struct yj_err *err)
{
    const struct yj_embed *e = yj_embed_find("plans/gbt20986.yaml");
    if (!e)
        return yj_err_set(err, YJ_ENOTFOUND, "the GB/T 20986 table is not built in");
    struct decoder d = {.file = e->name};
    struct gbt_table *g = xcalloc(1, sizeof(*g));
    struct fy_document *doc = decode_parse(&d, (const char *)e->data, yj_embed_len(e));
    if (doc) {
        decode_object(&d, &gbt_schema, fy_document_root(doc), g);
        fy_document_destroy(doc);
    }
    if (d.n_diags) {
        copy_diags(&d, NULL, err);
        decoder_release(&d);
        gbt_free(g);
        return YJ_EINVAL;
    }
    decoder_release(&d);
    *out = g;
    return 0;
}

void gbt_free(struct gbt_table *g)
{
    if (!g)
        return;
    decode_release(&gbt_schema, g);
    free(g);
}

int plan_load_buffer(const char *name, const char *data, size_t len, struct plan **out, struct plan_diags *diags,
                     struct yj_err *err)
{
    struct decoder d = {.file = name};
    struct plan *p = xcalloc(1, sizeof(*p));
    p->file = xstrdup(name);
    int rc = gbt_load(&p->gbt, err);
    if (rc < 0) {
        plan_free(p);
        return rc;
    }
    struct fy_document *doc = decode_parse(&d, data, len);
    if (doc) {
        decode_object(&d, &plan_schema, fy_document_root(doc), p);
        fy_document_destroy(doc);
        if (!d.n_diags)
            validate(&d, p);
    }
    if (d.n_diags) {
        copy_diags(&d, diags, err);
        decoder_release(&d);
        plan_free(p);
        return YJ_EINVAL;
    }
    if (!p->meta.timezone)
        p->meta.timezone = xstrdup("Asia/Shanghai");
    if (!p->meta.operator_type)
        p->meta.operator_type = xstrdup("other");
    if (!p->meta.number_prefix)
        p->meta.number_prefix = xstrdup("YJ");
    p->locs = d.locs;
    p->n_locs = d.n_locs;
    d.locs = NULL;
    decoder_release(&d);
    *out = p;
    return 0;
}

int plan_load(const char *path, struct plan **out, struct plan_diags *diags, struct yj_err *err)
{
    if (strncmp(path, PLAN_BUILTIN_PREFIX, strlen(PLAN_BUILTIN_PREFIX)) == 0) {
        char name[128];
        snprintf(name, sizeof(name), "plans/%s.yaml", path + strlen(PLAN_BUILTIN_PREFIX));
        const struct yj_embed *e = yj_embed_find(name);
        if (!e || strcmp(name, "plans/gbt20986.yaml") == 0)
            return yj_err_set(err, YJ_ENOTFOUND, "no built-in plan \"%s\" (built in: university, county-bureau)",
                              path + strlen(PLAN_BUILTIN_PREFIX));
        return plan_load_buffer(name, (const char *)e->data, yj_embed_len(e), out, diags, err);
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return yj_err_set(err, YJ_EIO, "%s: cannot open plan: %s", path, strerror(errno));
    char *buf = xmalloc(PLAN_MAX_BYTES + 1);
    size_t n = fread(buf, 1, PLAN_MAX_BYTES + 1, f);
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr)
        rc = yj_err_set(err, YJ_EIO, "%s: cannot read plan", path);
    else if (n > PLAN_MAX_BYTES)
        rc = yj_err_set(err, YJ_EINVAL, "%s:1:1: plan file larger than %zu bytes", path, PLAN_MAX_BYTES);
    else
        rc = plan_load_buffer(path, buf, n, out, diags, err);
    free(buf);
    return rc;
}

/* ---- edits made in the console ---- */

/* A rotation's edit gives its people alone; the rest stays as the file has it. */
static const struct decode_field rotation_edit_fields[] = {
    DECODE_FIELD(struct plan_rotation, "id", DK_STR, true, id),
    DECODE_STRS(struct plan_rotation, "people", true, people),
};
static const struct decode_schema rotation_edit_schema =
    DECODE_SCHEMA(rotation, struct plan_rotation, "rotation", rotation_edit_fields);

static bool decode_edit(struct decoder *d, const struct decode_schema *schema, const char *json, void *obj)
{
    size_t before = d->n_diags;
    struct fy_document *doc = decode_parse(d, json, strlen(json));
    if (!doc)
        return false;
    decode_object(d, schema, fy_document_root(doc), obj);
    fy_document_destroy(doc);
    return d->n_diags == before;
}

#define TAKE(dst, src)                                                                                             \
    do {                                                                                                         \
        free(dst);                                                                                               \
        (dst) = (src);                                                                                           \
        (src) = NULL;                                                                                            \
    } while (0)

/* A person's edit replaces their name, title, unit and contacts; roles stay the file's. A person
 * the file does not have is added (with no roles: what a role grants is the plan's to say). */
static void apply_person(struct decoder *d, struct plan *p, const char *json)
{
    struct plan_person e = {0};
    if (decode_edit(d, &person_schema, json, &e)) {
        if (e.n_roles)
            decode_error_line(d, 1, 1, "person \"%s\": roles are given in the plan file, not in an edit", e.id);
        struct plan_person *x = (struct plan_person *)plan_person(p, e.id);
        if (!x) {
            p->people = xrealloc(p->people, (p->n_people + 1) * sizeof(*p->people));
            x = &p->people[p->n_people++];
            *x = (struct plan_person){.id = e.id};
            e.id = NULL;
        }
        TAKE(x->name, e.name);
        TAKE(x->title, e.title);
        TAKE(x->unit, e.unit);
        decode_release(&channels_schema, &x->contacts);
        x->contacts = e.contacts;
        e.contacts = (struct plan_channels){0};
    }
    decode_release(&person_schema, &e);
}

static void apply_rotation(struct decoder *d, struct plan *p, const char *json)
{
    struct plan_rotation e = {0};
    if (decode_edit(d, &rotation_edit_schema, json, &e)) {
        struct plan_rotation *x = (struct plan_rotation *)plan_rotation(p, e.id);
        if (!x) {
            decode_error_line(d, 1, 1, "rotation \"%s\" is not in the plan's roster", e.id);
        } else {
            for (size_t i = 0; i < x->n_people; i++)
                free(x->people[i]);
            free(x->people);
            x->people = e.people;
            x->n_people = e.n_people;
            e.people = NULL;
            e.n_people = 0;
        }
    }
    decode_release(&rotation_edit_schema, &e);
}

static void apply_override(struct decoder *d, struct plan *p, const char *json)
{
    struct plan_override e = {0};
    if (decode_edit(d, &override_schema, json, &e)) {
        struct plan_roster *r = &p->roster;
        r->overrides = xrealloc(r->overrides, (r->n_overrides + 1) * sizeof(*r->overrides));
        r->overrides[r->n_overrides++] = e;
        return;
    }
    decode_release(&override_schema, &e);
}

int plan_load_edited(const char *path, const struct plan_edit *edits, size_t n, struct plan **out,
                     struct plan_diags *diags, struct yj_err *err)
{
    struct plan *p = NULL;
    int rc = plan_load(path, &p, diags, err);
    if (rc < 0 || !p)
        return rc < 0 ? rc : YJ_EINVAL;
    if (n == 0) {
        *out = p;
        return 0;
    }
    /* The edits' own diagnostics point into their JSON; the second validation has no file
     * positions (an edit is not in the file), so it names what it checks instead. */
    struct decoder d = {.file = "edit"};
    for (size_t i = 0; i < n; i++) {
        if (edits[i].kind == PLAN_EDIT_PERSON)
            apply_person(&d, p, edits[i].json);
        else if (edits[i].kind == PLAN_EDIT_ROTATION)
            apply_rotation(&d, p, edits[i].json);
        else
            apply_override(&d, p, edits[i].json);
    }
    free(d.locs);
    d.locs = NULL;
    d.n_locs = d.cap_locs = 0;
    if (!d.n_diags) {
        d.file = "the plan as edited";
        validate(&d, p);
    }
    if (d.n_diags) {
        copy_diags(&d, diags, err);
        decoder_release(&d);
        plan_free(p);
        return YJ_EINVAL;
    }
    decoder_release(&d);
    *out = p;
    return 0;
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    decode_release(&plan_schema, p);
    gbt_free(p->gbt);
    free(p->locs);
    free(p->file);
    free(p);
}

void plan_diags_release(struct plan_diags *diags)
{
    if (!diags)
        return;
    for (size_t i = 0; i < diags->n; i++)
        free(diags->lines[i]);
    free(diags->lines);
    diags->lines = NULL;
    diags->n = 0;
}

static bool plan_listed(char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

const struct plan_escalation *plan_escalation_for(const struct plan *p, const char *level, const char *type,
                                                  const char *kind)
{
    for (size_t i = 0; i < p->n_escalations; i++) {
        const struct plan_escalation *e = &p->escalations[i];
        /* "new" only where it is named: a policy for any overdue deadline is not one for news. */
        bool kind_ok = e->n_deadlines ? plan_listed(e->deadlines, e->n_deadlines, kind) : strcmp(kind, "new") != 0;
        if (kind_ok && (!e->n_levels || plan_listed(e->levels, e->n_levels, level)) &&
            (!e->n_types || plan_listed(e->types, e->n_types, type)))
            return e;
    }
    return NULL;
}
