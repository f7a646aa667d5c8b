/* plan.h: an institution's emergency plan (应急预案) as data.
 *
 * A plan is loaded from YAML (docs/plan-format.md), decoded into the structs below and validated
 * as a whole: unknown or missing keys, duplicate ids and references to unknown units, people,
 * roles, classes, levels, contacts or GB/T 20986 subcategories are refused with
 * "FILE:LINE:COLUMN: message". A loaded plan is immutable; readers share it freely. */
#ifndef YJ_PLAN_H
#define YJ_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

/* Name for the built-in plans, accepted wherever a plan file is ("builtin:university"). */
#define PLAN_BUILTIN_PREFIX "builtin:"
#define PLAN_DEFAULT "builtin:university"

struct plan_meta {
    char *id;
    char *name;
    char *organization; /* who the plan belongs to (报告单位), e.g. 重庆医科大学 */
    char *version;
    char *timezone;      /* IANA zone for display, default Asia/Shanghai */
    char *operator_type; /* cii | state_organ | other: sets the upward report deadline */
    char *number_prefix; /* incident numbers read PREFIX-YEAR-NNNN, default YJ */
    char *source;        /* the document the plan reproduces */
};

struct plan_role {
    char *id;
    char *name;
    char *access; /* the system role it grants: admin leader responder officer duty auditor */
    char *description;
};

struct plan_unit {
    char *id;
    char *name;
    char *short_name;
    char *head; /* person id */
    char **informants;
    size_t n_informants;
    char *description;
};

struct plan_channels {
    char *phone;
    char *mobile;
    char *email;
    char *wecom;
    char *dingtalk;
};

struct plan_person {
    char *id;
    char *name;
    char *title;
    char *unit;
    char **roles;
    size_t n_roles;
    struct plan_channels contacts;
};

struct plan_group {
    char *id;
    char *name;
    char *kind; /* leading | office | team | joint */
    char **leaders;
    size_t n_leaders;
    char **deputies;
    size_t n_deputies;
    char **member_units;
    size_t n_member_units;
    char **members;
    size_t n_members;
    char *office_unit;
    char *duties;
};

struct plan_contact {
    char *id;
    char *name;
    char *kind; /* isp vendor security police fire repair regulator supplier other */
    char *phone;
    char *email;
    char *note;
};

struct plan_class {
    char *id;
    char *name;
    char *coordinator; /* unit id */
    char *description;
};

/* Durations in ms; -1 where the plan does not set one. */
struct plan_deadlines {
    int64_t report;
    int64_t acknowledge;
    int64_t assessment;
    int64_t activation; /* levels with activation: the leading group's decision; -1: as assessment */
    int64_t upward_report;
    int64_t supplement; /* 补报 after an upward report with items missing; -1: 24 h */
    int64_t summary_report;
};

struct plan_level {
    char *id;
    char *name;
    char *national; /* I II III IV as written */
    int national_level; /* 1..4, derived */
    bool activation;    /* entering responding needs a recorded activation decision */
    struct plan_deadlines deadlines;
    char *description;
};

struct plan_step {
    char *title;
    char *phase; /* lifecycle status in which the step becomes a task */
    char *owner_role;
    char *owner_unit;
    char *contact;
    char *action; /* none | block_ip | run_script | http | maintenance_page | restore_files */
    bool approval;
    int64_t due; /* offset from entering the phase; -1 if none */
    char *note;
};

struct plan_type {
    char *id;
    char *name;
    char *class_id;
    char *owner; /* unit in charge (谁主管、谁负责) */
    char *route; /* type (default): the owner; asset: the owner of the named asset when known */
    char *gbt;   /* GB/T 20986-2023 subcategory id */
    char **levels;
    size_t n_levels;
    char *default_level;
    char *description;
    struct plan_step *steps;
    size_t n_steps;
};

struct plan_duty {
    char *id;
    char *title;
    char *every; /* daily weekly monthly quarterly yearly */
    char *at;    /* HH:MM local time */
    char *owner_unit;
    char *owner_role;
    char *contact;
    char **scenarios; /* for drills: the incident types rehearsed */
    size_t n_scenarios;
    char *basis; /* the clause of the plan that demands it */
};

/* 值班表: who is on duty. Shifts change at `handover` (local time); a daily rotation moves to the
 * next person every day, a weekly one every week, counted from `start` (a local date). On a
 * holiday, rotations marked `holidays` apply instead of the others (if there are any). An
 * override puts a person on a rotation's shift for a stretch of time. */
struct plan_rotation {
    char *id;
    char *name;
    char *every; /* daily | weekly */
    char *start; /* YYYY-MM-DD: the first person's first shift begins at its handover */
    char **people;
    size_t n_people;
    bool holidays; /* this rotation covers holidays */
};

struct plan_override {
    char *rotation;
    char *person;
    char *from; /* "YYYY-MM-DD HH:MM" local */
    char *to;
    char *reason;
};

struct plan_roster {
    char *handover; /* HH:MM, default 08:30 */
    struct plan_rotation *rotations;
    size_t n_rotations;
    char **holidays; /* YYYY-MM-DD */
    size_t n_holidays;
    struct plan_override *overrides;
    size_t n_overrides;
};

/* An escalation step: whom to notify, after how long since the policy started (or since the
 * previous step), how many times to repeat and how often. Targets: "duty" (whoever is on duty
 * when it is sent), "unit_head" (the head of the incident's unit), "unit:ID" (its head),
 * "person:ID", "role:ID" (everyone with the role), "group:ID" (its leaders, or its office unit's
 * head), "reporter". */
struct plan_escalation_step {
    char **notify;
    size_t n_notify;
    int64_t after;  /* ms after the previous step (or the start); -1: at once */
    int64_t repeat; /* further times, 0 by default */
    int64_t every;  /* ms between repeats; -1: as `after` */
};

/* An escalation policy, chosen for an overdue deadline by the incident's level and type (empty
 * lists match any) and the deadline's kind; the first policy that matches is used. It stops when
 * the incident is acknowledged (and, for other deadlines, when that deadline is met). */
struct plan_escalation {
    char *id;
    char *name;
    char **levels;
    size_t n_levels;
    char **types;
    size_t n_types;
    char **deadlines; /* deadline kinds; empty: any */
    size_t n_deadlines;
    struct plan_escalation_step *steps;
    size_t n_steps;
};

struct plan_equipment {
    char *id;
    char *name;
    char *kind;
    int64_t quantity;
    char *location;
    char *owner;
    char *note;
};

struct plan_asset {
    char *id;
    char *name;
    char *kind; /* website server ip_range system room media_account network */
    char *address;
    char *owner;
    char *importance; /* normal important critical */
};

struct gbt_subcategory {
    char *id;
    char *name;
    char *en;
};

struct gbt_category {
    char *id;
    char *name;
    char *en;
    struct gbt_subcategory *subcategories;
    size_t n_subcategories;
};

/* GB/T 20986-2023 classification, loaded from plans/gbt20986.yaml (embedded). */
struct gbt_table {
    char *standard;
    struct gbt_category *categories;
    size_t n_categories;
};

struct plan_loc;

struct plan {
    char *file; /* as named in diagnostics */
    struct plan_meta meta;
    struct plan_role *roles;
    size_t n_roles;
    struct plan_unit *units;
    size_t n_units;
    struct plan_person *people;
    size_t n_people;
    struct plan_group *groups;
    size_t n_groups;
    struct plan_contact *contacts;
    size_t n_contacts;
    struct plan_class *classes;
    size_t n_classes;
    struct plan_level *levels;
    size_t n_levels;
    struct plan_type *types;
    size_t n_types;
    struct plan_duty *duties;
    size_t n_duties;
    struct plan_roster roster;
    struct plan_escalation *escalations;
    size_t n_escalations;
    struct plan_equipment *equipment;
    size_t n_equipment;
    struct plan_asset *assets;
    size_t n_assets;

    struct gbt_table *gbt; /* owned */
    struct plan_loc *locs; /* where each decoded value stood, for later diagnostics */
    size_t n_locs;
};

/* Diagnostics of a failed load: each line "FILE:LINE:COLUMN: message". */
struct plan_diags {
    char **lines;
    size_t n;
};

/* Loads and validates a plan from a file path or a built-in name ("builtin:university").
 * On success *out is a new plan (free with plan_free). On failure returns YJ_EINVAL (or YJ_EIO),
 * fills err with the first diagnostic and, when diags is non-NULL, every diagnostic (release
 * with plan_diags_release). Nothing is written to *out on failure. */
int plan_load(const char *path, struct plan **out, struct plan_diags *diags, struct yj_err *err);

/* Same, from bytes in memory; `name` is used in diagnostics. */
int plan_load_buffer(const char *name, const char *data, size_t len, struct plan **out,
                     struct plan_diags *diags, struct yj_err *err);

/* Edits made in the console over the file's plan: its directory (people, their units and phone
 * numbers), the rotations' people and the roster's overrides (accepted shift swaps). Each is a
 * JSON text in the plan file's own keys — a person {id, name, title, unit, contacts} (replaces
 * that person's, or adds one; roles stay the file's), a rotation {id, people}, an override
 * {rotation, person, from, to, reason} (appended to the file's: the later one wins). */
enum plan_edit_kind { PLAN_EDIT_PERSON, PLAN_EDIT_ROTATION, PLAN_EDIT_OVERRIDE };
struct plan_edit {
    enum plan_edit_kind kind;
    const char *json;
};

/* plan_load, then the edits in order, then the whole plan validated again: a plan edited into
 * one that would not load (a rotation naming a person no longer there) is refused the same way. */
int plan_load_edited(const char *path, const struct plan_edit *edits, size_t n, struct plan **out,
                     struct plan_diags *diags, struct yj_err *err);

void plan_free(struct plan *plan);
void plan_diags_release(struct plan_diags *diags);

/* Loads the embedded GB/T 20986-2023 table (plans/gbt20986.yaml). Free with gbt_free. */
int gbt_load(struct gbt_table **out, struct yj_err *err);
void gbt_free(struct gbt_table *gbt);

/* Lookups; NULL when absent. */
const struct plan_unit *plan_unit(const struct plan *plan, const char *id);
const struct plan_person *plan_person(const struct plan *plan, const char *id);
/* The person's name, or the id itself when the plan has no such person ("" for NULL). */
const char *plan_person_name(const struct plan *plan, const char *id);
const struct plan_role *plan_role(const struct plan *plan, const char *id);
const struct plan_class *plan_class(const struct plan *plan, const char *id);
const struct plan_level *plan_level(const struct plan *plan, const char *id);
const struct plan_type *plan_type(const struct plan *plan, const char *id);
const struct plan_contact *plan_contact(const struct plan *plan, const char *id);
const struct plan_rotation *plan_rotation(const struct plan *plan, const char *id);
/* The roster's handover as minutes after local midnight (08:30 when the plan gives none). */
int plan_handover_minutes(const struct plan *plan);
const struct plan_group *plan_group(const struct plan *plan, const char *id);
const struct plan_asset *plan_asset(const struct plan *plan, const char *id_or_address);
/* The subcategory and (via *cat) its category. */
const struct gbt_subcategory *plan_gbt(const struct plan *plan, const char *sub_id,
                                       const struct gbt_category **cat);
/* The escalation policy for an incident of that level and type and a deadline kind ("new" for a
 * new incident, "task" for a task past due): the first that matches, or NULL. */
const struct plan_escalation *plan_escalation_for(const struct plan *plan, const char *level, const char *type,
                                                  const char *kind);
/* True when the type allows the level. */
bool plan_type_has_level(const struct plan_type *type, const char *level_id);
/* The least severe level the type allows (national IV before I); NULL for no type or none. */
const char *plan_type_mildest_level(const struct plan *plan, const struct plan_type *type);

/* Names of the national levels 1..4 (特别重大 重大 较大 一般) and their warning colours. */
const char *plan_national_name(int national_level);
const char *plan_national_color(int national_level);

/* The upward report deadline for a level: the level's own, else the operator type's default
 * (cii 1h, state_organ 2h, other 4h) for national level III and above, else -1. */
int64_t plan_upward_deadline(const struct plan *plan, const struct plan_level *level);

/* The names of the built-in plans, NULL-terminated ("university", "county-bureau"). */
extern const char *const plan_builtin_names[];

#endif
