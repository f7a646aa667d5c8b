/* incident.c: reporting incidents and moving them through their lifecycle.
 * The only place that decides status changes and their guards; it never talks to the user
 * (that is cli/ and later http/) and never keeps state outside the store. One transaction per
 * call: incident row, deadlines, timeline and audit row commit together or not at all. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../base/token.h"
#include "../plan/plan.h"
#include "audit.h"
#include "ctx.h"
#include "incident.h"

#include <ctype.h>
#include <jansson.h>

int64_t yj_ctx_now(const struct yj_ctx *ctx)
{
    return ctx->now ? ctx->now(ctx->clock_ud) : yj_now_ms();
}

static const char *const all_statuses[] = {
    INCIDENT_REPORTED,  INCIDENT_ASSESSING, INCIDENT_RESPONDING, INCIDENT_RECOVERING,
    INCIDENT_REVIEWING, INCIDENT_CLOSED,    INCIDENT_DISMISSED,  NULL};

static const struct {
    const char *from;
    const char *const to[3];
} transitions[] = {
    {INCIDENT_REPORTED, {INCIDENT_ASSESSING, INCIDENT_DISMISSED, NULL}},
    {INCIDENT_ASSESSING, {INCIDENT_RESPONDING, INCIDENT_DISMISSED, NULL}},
    {INCIDENT_RESPONDING, {INCIDENT_RECOVERING, NULL, NULL}},
    {INCIDENT_RECOVERING, {INCIDENT_REVIEWING, NULL, NULL}},
    {INCIDENT_REVIEWING, {INCIDENT_CLOSED, NULL, NULL}},
};

static const char *const no_statuses[] = {NULL};

bool incident_status_valid(const char *status)
{
    for (size_t i = 0; all_statuses[i]; i++)
        if (strcmp(all_statuses[i], status) == 0)
            return true;
    return false;
}

const char *const *incident_next_statuses(const char *from)
{
    if (!from)
        return no_statuses;
    for (size_t i = 0; i < YJ_ARRAY_LEN(transitions); i++)
        if (strcmp(transitions[i].from, from) == 0)
            return transitions[i].to;
    return no_statuses;
}

static bool allowed(const char *from, const char *to)
{
    for (const char *const *s = incident_next_statuses(from); *s; s++)
        if (strcmp(*s, to) == 0)
            return true;
    return false;
}

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Audits, records the event live streams replay, and commits — or rolls back — in one place
 * so that no path forgets any of them. */
static int finish(struct yj_ctx *ctx, int rc, const char *action, const struct store_incident *inc,
                  json_t *detail, int64_t now, struct yj_err *err)
{
    if (rc == 0) {
        char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        rc = audit_append(ctx->store, now, ctx->actor, action, inc->number ? inc->number : "", d, inc->id,
                          err);
        free(d);
    }
    if (rc == 0) {
        json_t *p = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:b, s:s}", "id",
                              (json_int_t)inc->id, "number", inc->number, "title", inc->title, "type",
                              inc->type, "status", inc->status, "level", inc->level, "national_level",
                              (json_int_t)inc->national_level, "unit", inc->unit, "version",
                              (json_int_t)inc->version, "drill", (int)inc->drill, "action", action);
        char *payload = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
        rc = store_event_append(
            ctx->store, now, strcmp(action, "incident.report") == 0 ? "incident.created" : "incident.changed",
            inc->id, inc->unit, inc->reporter, payload, NULL, err);
        free(payload);
        json_decref(p);
    }
    if (rc == 0)
        rc = store_commit(ctx->store, err);
    else
        store_rollback(ctx->store);
    return rc;
}

static int timeline(struct yj_ctx *ctx, int64_t id, int64_t at, const char *kind, json_t *body,
                    struct yj_err *err)
{
    char *b = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = store_timeline_append(ctx->store, id, at, ctx->actor, kind, b, err);
    free(b);
    return rc;
}

/* Keeps with the row the names its type, class, level and unit have in this plan, so that it still
 * reads right under a later plan without those ids (a name the plan lacks stays as it was). */
static void stamp_names(const struct plan *plan, struct store_incident *inc)
{
    json_t *was = inc->names ? json_loads(inc->names, 0, NULL) : NULL;
    const struct plan_type *t = plan_type(plan, inc->type);
    const struct plan_class *c = plan_class(plan, inc->class_id);
    const struct plan_level *l = plan_level(plan, inc->level);
    const struct plan_unit *u = plan_unit(plan, inc->unit);
    const char *names[][2] = {{"type", t ? t->name : NULL},
                              {"class", c ? c->name : NULL},
                              {"level", l ? l->name : NULL},
                              {"unit", u ? u->name : NULL}};
    json_t *o = json_object();
    for (size_t i = 0; i < YJ_ARRAY_LEN(names); i++) {
        json_t *old = was ? json_object_get(was, names[i][0]) : NULL;
        if (names[i][1])
            json_object_set_new(o, names[i][0], json_string(names[i][1]));
        else if (json_is_string(old))
            json_object_set(o, names[i][0], old);
    }
    json_decref(was);
    free(inc->names);
    inc->names = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
}

static int add_deadline(struct yj_ctx *ctx, int64_t id, const char *kind, int64_t due, int64_t met,
                        struct yj_err *err)
{
    struct store_deadline d = {.incident_id = id, .due_at = due, .met_at = met};
    snprintf(d.kind, sizeof(d.kind), "%s", kind);
    return store_deadline_insert(ctx->store, &d, err);
}

/* The playbook steps of the incident's type for `phase` become tasks, due from now (inside the
 * caller's transaction). A step already made into a task (re-entering a phase) is not repeated. */
static int add_tasks(struct yj_ctx *ctx, const struct store_incident *inc, const char *phase, int64_t now,
                     struct yj_err *err)
{
    const struct plan_type *t = plan_type(ctx->plan, inc->type);
    int rc = 0;
    for (size_t k = 0; t && rc == 0 && k < t->n_steps; k++) {
        const struct plan_step *s = &t->steps[k];
        if (!s->phase || strcmp(s->phase, phase) != 0)
            continue;
        struct store_task task = {.incident_id = inc->id,
                                  .step = (int64_t)k,
                                  .title = s->title,
                                  .owner_role = s->owner_role,
                                  .owner_unit = s->owner_unit,
                                  .contact = s->contact,
                                  .action = s->action,
                                  .approval = s->approval,
                                  .created_at = now,
                                  .due_at = s->due >= 0 ? now + s->due : 0};
        snprintf(task.phase, sizeof(task.phase), "%s", phase);
        rc = store_task_insert(ctx->store, &task, err);
    }
    return rc;
}

static const struct plan_level *resolve_level(const struct plan *plan, const struct plan_type *t,
                                              const char *id, struct yj_err *err)
{
    if (!id || !*id)
        id = t->default_level ? t->default_level : t->levels[0];
    const struct plan_level *l = plan_level(plan, id);
    if (!l || !plan_type_has_level(t, id)) {
        char list[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < t->n_levels && off < sizeof(list); i++) {
            int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", t->levels[i]);
            if (w > 0)
                off += (size_t)w;
        }
        yj_err_set(err, YJ_EINVAL, "level \"%s\" is not a level of type %s (allowed: %s)", id, t->id, list);
        yj_err_field(err, "level");
        return NULL;
    }
    return l;
}

static int check_text(const char *what, const char *s, size_t max, int flags, struct yj_err *err)
{
    return s ? yj_text_check(what, s, max, flags, err) : 0;
}

int incident_report(struct yj_ctx *ctx, const struct incident_report_req *req, struct store_incident *out,
                    struct yj_err *err)
{
    const struct plan *plan = ctx->plan;
    if (!req->type || !*req->type) {
        yj_err_set(err, YJ_EINVAL, "type is required (one of the plan's types)");
        yj_err_zh(err, "请选择事件类型");
        yj_err_field(err, "type");
        return YJ_EINVAL;
    }
    if (yj_text_check("type", req->type, 64, YJ_TEXT_SINGLE_LINE, err) < 0)
        return YJ_EINVAL;
    const struct plan_type *t = plan_type(plan, req->type);
    if (!t) {
        yj_err_set(err, YJ_EINVAL, "unknown type \"%s\" (not one of the plan's types)", req->type);
        yj_err_zh(err, "预案中没有这种事件类型");
        yj_err_field(err, "type");
        return YJ_EINVAL;
    }
    if (!req->title) {
        yj_err_set(err, YJ_EINVAL, "title is required");
        yj_err_field(err, "title");
        return YJ_EINVAL;
    }
    int rc;
    if ((rc = yj_text_check("title", req->title, INCIDENT_TITLE_MAX, YJ_TEXT_SINGLE_LINE | YJ_TEXT_NONEMPTY,
                            err)) < 0 ||
        (rc = check_text("source", req->source, INCIDENT_TEXT_MAX, 0, err)) < 0 ||
        (rc = check_text("scope", req->scope, INCIDENT_TEXT_MAX, 0, err)) < 0 ||
        (rc = check_text("nature", req->nature, INCIDENT_TEXT_MAX, 0, err)) < 0 ||
        (rc = check_text("trend", req->trend, INCIDENT_TEXT_MAX, 0, err)) < 0 ||
        (rc = check_text("measures", req->measures, INCIDENT_TEXT_MAX, 0, err)) < 0)
        return rc;
    if (req->n_assets > INCIDENT_ASSETS_MAX)
        return yj_err_set(err, YJ_EINVAL, "too many assets (at most %d)", INCIDENT_ASSETS_MAX);
    for (size_t i = 0; i < req->n_assets; i++)
        if ((rc = yj_text_check("asset", req->assets[i], 200, YJ_TEXT_SINGLE_LINE | YJ_TEXT_NONEMPTY, err)) <
            0)
            return rc;
    if (req->level && (rc = yj_text_check("level", req->level, 64, YJ_TEXT_SINGLE_LINE, err)) < 0)
        return rc;
    const struct plan_level *level = resolve_level(plan, t, req->level, err);
    if (!level)
        return YJ_EINVAL;
    const struct gbt_category *cat = NULL;
    const char *gbt = req->gbt && plan_gbt(plan, req->gbt, NULL) ? req->gbt : t->gbt;
    if (!plan_gbt(plan, gbt, &cat))
        return yj_err_set(err, YJ_EINVAL, "type %s maps to an unknown GB/T 20986 subcategory", t->id);

    /* Routing (谁主管、谁负责): the type's owner, or the owner of the named asset when the plan
     * routes this type by asset. */
    const char *unit = t->owner;
    const char *routed_by = "type";
    if (req->unit) {
        if (!plan_unit(plan, req->unit))
            return yj_err_set(err, YJ_EINVAL, "unit %s is not in the plan", req->unit);
        unit = req->unit;
        routed_by = "source";
    } else if (t->route && strcmp(t->route, "asset") == 0) {
        for (size_t i = 0; i < req->n_assets; i++) {
            const struct plan_asset *a = plan_asset(plan, req->assets[i]);
            if (a) {
                unit = a->owner;
                routed_by = a->id;
                break;
            }
        }
    }

    int64_t now = yj_ctx_now(ctx);
    json_t *assets = json_array();
    for (size_t i = 0; i < req->n_assets; i++)
        json_array_append_new(assets, json_string(req->assets[i]));
    char *assets_text = json_dumps(assets, JSON_COMPACT);
    json_decref(assets);

    struct store_incident inc = {0};
    inc.title = xstrdup(req->title);
    inc.type = xstrdup(t->id);
    inc.class_id = xstrdup(t->class_id);
    inc.level = xstrdup(level->id);
    inc.national_level = level->national_level;
    inc.gbt_category = xstrdup(cat->id);
    inc.gbt_subcategory = xstrdup(gbt);
    inc.status = xstrdup(INCIDENT_REPORTED);
    inc.unit = xstrdup(unit);
    inc.reporter = xstrdup(ctx->actor);
    inc.assets = assets_text;
    inc.source = xstrdup(req->source);
    inc.scope = xstrdup(req->scope);
    inc.nature = xstrdup(req->nature);
    inc.trend = xstrdup(req->trend);
    inc.measures = xstrdup(req->measures);
    inc.drill = req->drill;
    inc.fingerprint = xstrdup(req->fingerprint);
    inc.signal_count = req->signal_count;
    inc.last_signal_at = req->signal_count ? (req->detected_at ? req->detected_at : now) : 0;
    inc.occurred_at = req->occurred_at;
    inc.detected_at = req->detected_at ? req->detected_at : now;
    inc.reported_at = now;
    inc.updated_at = now;
    inc.version = 1;
    inc.year = yj_time_year(now);

    if ((rc = store_begin(ctx->store, err)) < 0) {
        store_incident_release(&inc);
        return rc;
    }
    json_t *detail = NULL;
    if ((rc = store_incident_next_seq(ctx->store, inc.year, &inc.seq, err)) < 0)
        goto out;
    inc.number =
        xasprintf("%s-%lld-%04lld", plan->meta.number_prefix, (long long)inc.year, (long long)inc.seq);
    stamp_names(plan, &inc);
    if ((rc = store_incident_insert(ctx->store, &inc, err)) < 0)
        goto out;

    const struct plan_deadlines *dl = &level->deadlines;
    /* Report at once (秒级响应): due from detection, met now that it is reported. "At once" (0s)
     * allows a minute: a log line's time is to the second, and a signal passes through batches
     * and retries before it is an incident; a machine that reports in seconds is not late. */
    int64_t report_within = dl->report > 0 ? dl->report : INCIDENT_REPORT_AT_ONCE_MS;
    if (dl->report >= 0 &&
        (rc = add_deadline(ctx, inc.id, "report", inc.detected_at + report_within, now, err)) < 0)
        goto out;
    if (dl->acknowledge >= 0 &&
        (rc = add_deadline(ctx, inc.id, "acknowledge", now + dl->acknowledge, 0, err)) < 0)
        goto out;
    if ((rc = add_deadline(ctx, inc.id, "assessment", now + dl->assessment, 0, err)) < 0)
        goto out;
    /* 启动预案: the leading group decides, by default within the time of the risk assessment. */
    if (level->activation &&
        (rc = add_deadline(ctx, inc.id, "activation",
                           now + (dl->activation >= 0 ? dl->activation : dl->assessment), 0, err)) < 0)
        goto out;
    int64_t upward = plan_upward_deadline(plan, level);
    if (upward >= 0 &&
        (rc = add_deadline(ctx, inc.id, "upward_report", inc.detected_at + upward, 0, err)) < 0)
        goto out;
    if ((rc = add_tasks(ctx, &inc, INCIDENT_REPORTED, now, err)) < 0)
        goto out;
    /* 秒级响应: a policy for new incidents starts now; the clock sends its first step at once. */
    const struct plan_escalation *tell = plan_escalation_for(plan, inc.level, inc.type, "new");
    if (tell) {
        struct store_escalation e = {.incident_id = inc.id, .started_at = now, .next_at = now};
        snprintf(e.deadline, sizeof(e.deadline), "new");
        snprintf(e.policy, sizeof(e.policy), "%s", tell->id);
        if (tell->steps[0].after > 0)
            e.next_at = now + tell->steps[0].after;
        if ((rc = store_escalation_insert(ctx->store, &e, err)) < 0)
            goto out;
    }

    json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "type", t->id, "level", level->id, "unit",
                             unit, "routed_by", routed_by, "title", inc.title, "drill", (int)inc.drill);
    rc = timeline(ctx, inc.id, now, "reported", body, err);
    json_decref(body);
    if (rc < 0)
        goto out;
    detail = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)inc.id, "title", inc.title, "type",
                       t->id, "level", level->id, "unit", unit, "drill", (int)inc.drill);
out:
    rc = finish(ctx, rc, "incident.report", &inc, detail, now, err);
    json_decref(detail);
    if (rc < 0) {
        store_incident_release(&inc);
        return rc;
    }
    *out = inc;
    return 0;
}

int incident_find(struct yj_ctx *ctx, const char *ref, struct store_incident *out, struct yj_err *err)
{
    if (!ref || !*ref)
        return yj_err_set(err, YJ_EINVAL, "an incident id or number is required");
    char *end;
    errno = 0;
    long long id = strtoll(ref, &end, 10);
    if (!errno && *end == 0 && id > 0)
        return store_incident_get(ctx->store, id, NULL, out, err);
    if (yj_text_check("incident number", ref, 64, YJ_TEXT_SINGLE_LINE, err) < 0)
        return YJ_EINVAL;
    return store_incident_get(ctx->store, 0, ref, out, err);
}

/* The text fields a transition may set, and where they live. */
static char **text_slot(struct store_incident *inc, const char *key)
{
    static const struct {
        const char *key;
        size_t off;
    } slots[] = {
        {"source", offsetof(struct store_incident, source)},
        {"scope", offsetof(struct store_incident, scope)},
        {"nature", offsetof(struct store_incident, nature)},
        {"trend", offsetof(struct store_incident, trend)},
        {"measures", offsetof(struct store_incident, measures)},
        {"activated_by", offsetof(struct store_incident, activated_by)},
        {"activation_reason", offsetof(struct store_incident, activation_reason)},
        {"cause", offsetof(struct store_incident, cause)},
        {"loss", offsetof(struct store_incident, loss)},
        {"lessons", offsetof(struct store_incident, lessons)},
        {"clues", offsetof(struct store_incident, clues)},
        {"support", offsetof(struct store_incident, support)},
        {"scene", offsetof(struct store_incident, scene)},
    };
    for (size_t i = 0; i < YJ_ARRAY_LEN(slots); i++)
        if (strcmp(slots[i].key, key) == 0)
            return (char **)((char *)inc + slots[i].off);
    return NULL;
}

/* A member of the leading group: a leader or deputy of a group of kind "leading". */
static bool leading_member(const struct plan *plan, const char *person)
{
    for (size_t i = 0; i < plan->n_groups; i++) {
        const struct plan_group *g = &plan->groups[i];
        if (strcmp(g->kind, "leading") != 0)
            continue;
        for (size_t k = 0; k < g->n_leaders; k++)
            if (strcmp(g->leaders[k], person) == 0)
                return true;
        for (size_t k = 0; k < g->n_deputies; k++)
            if (strcmp(g->deputies[k], person) == 0)
                return true;
    }
    return false;
}

/* Applies KEY=VALUE fields to inc (only keys in `only` when given), recording them in
 * `changes`; a "level" field re-grades the incident and is returned in *new_level. */
static int apply_fields(const struct plan *plan, struct store_incident *inc,
                        const struct incident_field *fields, size_t n_fields, const char *const *only,
                        json_t *changes, const struct plan_level **new_level, struct yj_err *err)
{
    for (size_t i = 0; i < n_fields; i++) {
        const char *key = fields[i].key ? fields[i].key : "", *val = fields[i].value ? fields[i].value : "";
        int rc;
        if ((rc = yj_text_check(key, val, INCIDENT_TEXT_MAX, 0, err)) < 0)
            return rc;
        bool permitted = !only;
        for (const char *const *k = only; k && *k; k++)
            permitted |= strcmp(*k, key) == 0;
        if (strcmp(key, "level") == 0 && permitted) {
            const struct plan_type *t = plan_type(plan, inc->type);
            if (!t)
                return yj_err_set(err, YJ_ESTATE, "type %s is no longer in the plan; cannot change its level",
                                  inc->type);
            if (!(*new_level = resolve_level(plan, t, val, err)))
                return YJ_EINVAL;
            free(inc->level);
            inc->level = xstrdup((*new_level)->id);
            inc->national_level = (*new_level)->national_level;
        } else {
            char **slot = permitted ? text_slot(inc, key) : NULL;
            if (!slot) {
                yj_err_set(err, YJ_EINVAL, "unknown field \"%s\" (known: %s)", key,
                           only ? "source, scope, nature, trend, measures, level, clues, support, scene"
                                : "source, scope, nature, trend, measures, level, clues, support, scene, "
                                  "activated_by, activation_reason, cause, loss, lessons");
                yj_err_field(err, key);
                return YJ_EINVAL;
            }
            if (strncmp(key, "activat", 7) == 0 && inc->activated_at) {
                yj_err_set(err, YJ_ESTATE,
                           "the plan was already activated for %s (by %s): the decision stands", inc->number,
                           inc->activated_by ? inc->activated_by : "?");
                yj_err_field(err, key);
                return YJ_ESTATE;
            }
            if (strcmp(key, "activated_by") == 0 && !leading_member(plan, val)) {
                yj_err_set(err, YJ_EINVAL,
                           "activated_by \"%s\" is not a leader or deputy of the leading group (领导小组) in "
                           "the plan",
                           val);
                yj_err_field(err, "activated_by");
                return YJ_EINVAL;
            }
            free(*slot);
            *slot = xstrdup(val);
        }
        json_object_set_new(changes, key, json_string(val));
    }
    return 0;
}

/* Appends the names of the missing fields to buf; returns how many were missing. */
static int need(const struct store_incident *inc, const char *const *keys, char *buf, size_t size)
{
    int missing = 0;
    size_t off = strlen(buf);
    for (; *keys; keys++) {
        char *const *slot = text_slot((struct store_incident *)inc, *keys);
        if (slot && !blank(*slot)) /* every key listed here is a text field */
            continue;
        int w = snprintf(buf + off, size - off, "%s%s", missing || off ? ", " : "", *keys);
        if (w > 0 && (size_t)w < size - off)
            off += (size_t)w;
        missing++;
    }
    return missing;
}

/* The Chinese names of the fields a move may ask for, as the console labels them. */
static const char *field_zh(const char *key)
{
    static const char *const names[][2] = {
        {"source", "信息来源"},     {"scope", "影响范围和危害"},       {"nature", "事件性质"},
        {"trend", "发展态势"},      {"measures", "已采取措施"},        {"level", "确认的事件级别"},
        {"activated_by", "决策人"}, {"activation_reason", "启动理由"}, {"cause", "原因"},
        {"loss", "损失"},           {"lessons", "经验教训"},           {"reason", "理由"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(names); i++)
        if (strcmp(names[i][0], key) == 0)
            return names[i][1];
    return key;
}

/* need()'s list ("source, level (the confirmed level)") in Chinese: "信息来源、确认的事件级别". */
static void missing_zh(const char *missing, char *out, size_t size)
{
    out[0] = 0;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", missing);
    char *save = NULL;
    for (char *k = strtok_r(copy, ", ", &save); k; k = strtok_r(NULL, ", ", &save)) {
        if (*k == '(' || strcmp(k, "confirmed") == 0 || strcmp(k, "level)") == 0 || strcmp(k, "the") == 0)
            continue;
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", len ? "、" : "", field_zh(k));
    }
}

const char *incident_status_zh(const char *status)
{
    static const char *const names[][2] = {{"reported", "已上报"},    {"assessing", "研判中"},
                                           {"responding", "处置中"},  {"recovering", "恢复中"},
                                           {"reviewing", "总结评估"}, {"closed", "已关闭"},
                                           {"dismissed", "已排除"}};
    for (size_t i = 0; status && i < YJ_ARRAY_LEN(names); i++)
        if (strcmp(names[i][0], status) == 0)
            return names[i][1];
    return status ? status : "";
}

/* What must be settled before an incident may close: every task done or skipped (with its
 * reason), every owed report (向上级报告, 补报) submitted or waived by the leading group. */
static int closing_owes(struct yj_ctx *ctx, const struct store_incident *inc, struct yj_err *err)
{
    struct store_task ts[64];
    size_t n = 0;
    int rc = store_task_list(ctx->store, inc->id, ts, YJ_ARRAY_LEN(ts), &n, err);
    if (rc < 0)
        return rc;
    char open[600] = "";
    size_t n_open = 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ts[i].status, "done") != 0 && strcmp(ts[i].status, "skipped") != 0) {
            if (n_open++ < 3 && len < sizeof(open))
                len += (size_t)snprintf(open + len, sizeof(open) - len, "%s「%s」%s", n_open > 1 ? "、" : "",
                                        ts[i].title,
                                        !strcmp(ts[i].approval_status, "pending") ? "（待审批）" : "");
        }
        store_task_release(&ts[i]);
    }
    if (n_open) {
        yj_err_set(
            err, YJ_ESTATE,
            "%s cannot close: %zu task%s neither done nor skipped: %s%s (finish them, or skip each with "
            "a reason)",
            inc->number, n_open, n_open == 1 ? " is" : "s are", open, n_open > 3 ? "…" : "");
        yj_err_zh(err, "%s 还不能结束：%zu 项处置任务尚未完成或跳过：%s%s（请完成，或逐项写明理由后跳过）",
                  inc->number, n_open, open, n_open > 3 ? "…" : "");
        return YJ_ESTATE;
    }
    struct store_deadline ds[32];
    size_t nd = 0;
    if ((rc = store_deadline_list(ctx->store, inc->id, ds, YJ_ARRAY_LEN(ds), &nd, err)) < 0)
        return rc;
    for (size_t i = 0; i < nd; i++)
        if (!ds[i].met_at &&
            (strcmp(ds[i].kind, "upward_report") == 0 || strcmp(ds[i].kind, "supplement") == 0)) {
            bool supplement = strcmp(ds[i].kind, "supplement") == 0;
            yj_err_set(
                err, YJ_ESTATE,
                "%s cannot close: the %s is owed (submit it, or the leading group waives it with a reason)",
                inc->number, supplement ? "supplement (补报)" : "upward report (向上级报告)");
            yj_err_zh(err, "%s 还不能结束：%s尚未报送（请报送，或由领导小组写明理由后豁免）", inc->number,
                      supplement ? "补报" : "向上级报告");
            return YJ_ESTATE;
        }
    return 0;
}

int incident_waive(struct yj_ctx *ctx, const char *ref, const char *kind, const char *reason,
                   struct yj_err *err)
{
    static const char *const waivable[] = {"upward_report", "supplement", "summary_report"};
    bool ok = false;
    for (size_t i = 0; kind && i < YJ_ARRAY_LEN(waivable); i++)
        ok |= strcmp(kind, waivable[i]) == 0;
    if (!ok) {
        yj_err_set(err, YJ_EINVAL,
                   "only an owed report is waived: upward_report, supplement or summary_report");
        yj_err_field(err, "kind");
        return YJ_EINVAL;
    }
    int rc = yj_text_check("reason", reason, INCIDENT_TEXT_MAX, YJ_TEXT_NONEMPTY, err);
    if (rc < 0)
        return rc;
    struct store_incident inc = {0};
    if ((rc = incident_find(ctx, ref, &inc, err)) < 0)
        return rc;
    struct store_deadline ds[32];
    size_t nd = 0;
    bool open = false;
    if ((rc = store_deadline_list(ctx->store, inc.id, ds, YJ_ARRAY_LEN(ds), &nd, err)) == 0) {
        for (size_t i = 0; i < nd; i++)
            open |= strcmp(ds[i].kind, kind) == 0 && !ds[i].met_at;
        if (!open) {
            rc = yj_err_set(err, YJ_ESTATE, "%s owes no %s: nothing to waive", inc.number, kind);
            yj_err_zh(err, "%s 没有待报送的此项报告，无需豁免", inc.number);
        }
    }
    int64_t now = yj_ctx_now(ctx);
    if (rc == 0 && (rc = store_begin(ctx->store, err)) == 0) {
        rc = store_deadline_waive(ctx->store, inc.id, kind, now, ctx->actor, reason, err);
        if (rc == 0)
            rc = store_escalation_stop_all(ctx->store, inc.id, kind, now, "waived", err);
        json_t *body = json_pack("{s:s, s:s}", "deadline", kind, "reason", reason);
        if (rc == 0)
            rc = timeline(ctx, inc.id, now, "waived", body, err);
        json_t *detail =
            json_pack("{s:I, s:s, s:s}", "id", (json_int_t)inc.id, "deadline", kind, "reason", reason);
        rc = finish(ctx, rc, "incident.waive", &inc, detail, now, err);
        json_decref(detail);
        json_decref(body);
    }
    store_incident_release(&inc);
    return rc;
}

int incident_move(struct yj_ctx *ctx, const char *ref, const char *status, const char *reason,
                  const struct incident_field *fields, size_t n_fields, int64_t if_version,
                  struct store_incident *out, struct yj_err *err)
{
    const struct plan *plan = ctx->plan;
    if (!status || !incident_status_valid(status)) {
        yj_err_set(err, YJ_EINVAL,
                   "unknown status \"%s\" (one of: reported, assessing, responding, recovering, reviewing, "
                   "closed, dismissed)",
                   status ? status : "");
        yj_err_field(err, "status");
        return YJ_EINVAL;
    }
    if (reason && yj_text_check("reason", reason, INCIDENT_TEXT_MAX, 0, err) < 0)
        return YJ_EINVAL;
    struct store_incident inc = {0};
    int rc = incident_find(ctx, ref, &inc, err);
    if (rc < 0)
        return rc;
    json_t *changes = json_object();
    json_t *detail = NULL;
    const char *from = NULL;
    char *from_copy = xstrdup(inc.status);
    const struct plan_level *new_level = NULL;
    bool activating = false;
    int64_t now = yj_ctx_now(ctx);
    int64_t expected_version = inc.version;
    bool began = false;

    if (if_version > 0 && if_version != inc.version) {
        rc = yj_err_set(err, YJ_ECONFLICT, "%s has changed since version %lld (now %lld); reload and retry",
                        inc.number, (long long)if_version, (long long)inc.version);
        goto out;
    }
    if (!allowed(inc.status, status)) {
        char list[128] = "";
        size_t off = 0;
        for (const char *const *s = incident_next_statuses(inc.status); *s; s++) {
            int w = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", *s);
            if (w > 0)
                off += (size_t)w;
        }
        rc = yj_err_set(err, YJ_ESTATE, "cannot move %s from %s to %s (%s%s)", inc.number, inc.status, status,
                        off ? "allowed next: " : "", off ? list : "it is final");
        yj_err_zh(err, "%s 当前为「%s」，不能转为「%s」", inc.number, incident_status_zh(inc.status),
                  incident_status_zh(status));
        goto out;
    }
    from = from_copy;

    /* Apply the fields first; the guard then judges the incident as it would be stored. */
    if ((rc = apply_fields(plan, &inc, fields, n_fields, NULL, changes, &new_level, err)) < 0)
        goto out;

    /* Guards. */
    char missing[256] = "";
    if (strcmp(status, INCIDENT_DISMISSED) == 0 && blank(reason)) {
        rc = yj_err_set(err, YJ_EINVAL, "dismissing %s needs a reason", inc.number);
        yj_err_zh(err, "排除事件须写明理由");
        yj_err_field(err, "reason");
        goto out;
    }
    if (strcmp(from, INCIDENT_ASSESSING) == 0 && strcmp(status, INCIDENT_RESPONDING) == 0) {
        static const char *const assessment[] = {"source", "scope", "nature", "trend", "measures", NULL};
        int n = need(&inc, assessment, missing, sizeof(missing));
        if (!new_level) {
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
                     "%slevel (the confirmed level)", n ? ", " : "");
            n++;
        }
        if (n) {
            char zh[256];
            missing_zh(missing, zh, sizeof(zh));
            rc = yj_err_set(err, YJ_EINVAL, "the risk assessment of %s is incomplete: missing %s", inc.number,
                            missing);
            yj_err_zh(err, "风险评估尚不完整，还缺：%s", zh);
            goto out;
        }
    }
    const struct plan_level *level = plan_level(plan, inc.level);
    if (strcmp(status, INCIDENT_RESPONDING) == 0 && level && level->activation && !inc.activated_at) {
        static const char *const activation[] = {"activated_by", "activation_reason", NULL};
        if (need(&inc, activation, missing, sizeof(missing))) {
            rc = yj_err_set(
                err, YJ_EINVAL,
                "level %s (%s) requires the leading group's decision to activate the plan (启动预案): "
                "missing %s",
                level->id, level->name, missing);
            yj_err_zh(err, "「%s」须先记录领导小组启动预案的决定（决策人和理由）", level->name);
            goto out;
        }
    }
    if (strcmp(status, INCIDENT_CLOSED) == 0) {
        static const char *const review[] = {"cause", "loss", "lessons", NULL};
        if (need(&inc, review, missing, sizeof(missing))) {
            char zh[256];
            missing_zh(missing, zh, sizeof(zh));
            rc = yj_err_set(err, YJ_EINVAL, "closing %s needs the review summary (调查评估): missing %s",
                            inc.number, missing);
            yj_err_zh(err, "结束事件须先填写调查评估，还缺：%s", zh);
            goto out;
        }
        if ((rc = closing_owes(ctx, &inc, err)) < 0)
            goto out;
    }

    /* The move itself. */
    free(inc.status);
    inc.status = xstrdup(status);
    inc.updated_at = now;
    if (strcmp(status, INCIDENT_ASSESSING) == 0 && !inc.acknowledged_at)
        inc.acknowledged_at = now;
    if (strcmp(status, INCIDENT_RESPONDING) == 0) {
        inc.assessed_at = now;
        if (level && level->activation && !inc.activated_at) {
            inc.activated_at = now; /* the decision given with the move */
            activating = true;
            json_t *proxy = NULL;
            if ((rc = yj_decider_check(ctx, inc.activated_by, &proxy, err)) < 0)
                goto out;
            if (proxy)
                json_object_set_new(changes, "on_behalf", proxy);
        }
    }
    if (strcmp(status, INCIDENT_RECOVERING) == 0)
        inc.contained_at = now;
    if (strcmp(status, INCIDENT_REVIEWING) == 0)
        inc.recovered_at = now;
    if (strcmp(status, INCIDENT_CLOSED) == 0)
        inc.closed_at = now;
    if (strcmp(status, INCIDENT_DISMISSED) == 0) {
        free(inc.dismiss_reason);
        inc.dismiss_reason = xstrdup(reason);
        inc.closed_at = now;
    }

    if ((rc = store_begin(ctx->store, err)) < 0)
        goto out;
    began = true;
    stamp_names(ctx->plan, &inc);
    if ((rc = store_incident_update(ctx->store, &inc, expected_version, err)) < 0)
        goto out;
    if (strcmp(status, INCIDENT_ASSESSING) == 0 || strcmp(status, INCIDENT_DISMISSED) == 0)
        if ((rc = store_deadline_meet(ctx->store, inc.id, "acknowledge", now, err)) < 0)
            goto out;
    if (strcmp(status, INCIDENT_RESPONDING) == 0 || strcmp(status, INCIDENT_DISMISSED) == 0)
        if ((rc = store_deadline_meet(ctx->store, inc.id, "assessment", now, err)) < 0)
            goto out;
    if ((activating || strcmp(status, INCIDENT_DISMISSED) == 0) &&
        ((rc = store_deadline_meet(ctx->store, inc.id, "activation", now, err)) < 0 ||
         (rc = store_escalation_stop_all(ctx->store, inc.id, "activation", now, "activated", err)) < 0))
        goto out;
    if (new_level) {
        /* A changed level moves the upward report deadline, counted from detection as the
         * reporting measures count it; a level that newly needs one gets one. */
        int64_t upward = plan_upward_deadline(plan, new_level);
        if (upward >= 0) {
            struct store_deadline ds[16];
            size_t nd = 0;
            if ((rc = store_deadline_list(ctx->store, inc.id, ds, YJ_ARRAY_LEN(ds), &nd, err)) < 0)
                goto out;
            bool have = false;
            for (size_t k = 0; k < nd; k++)
                if (strcmp(ds[k].kind, "upward_report") == 0)
                    have = true;
            rc = have ? store_deadline_reschedule(ctx->store, inc.id, "upward_report",
                                                  inc.detected_at + upward, err)
                      : add_deadline(ctx, inc.id, "upward_report", inc.detected_at + upward, 0, err);
            if (rc < 0)
                goto out;
        }
    }
    if (strcmp(status, INCIDENT_REVIEWING) == 0 && level && level->deadlines.summary_report >= 0)
        if ((rc = add_deadline(ctx, inc.id, "summary_report", now + level->deadlines.summary_report, 0,
                               err)) < 0)
            goto out;
    if (strcmp(status, INCIDENT_CLOSED) == 0)
        if ((rc = store_deadline_meet(ctx->store, inc.id, "summary_report", now, err)) < 0)
            goto out;
    /* Nothing of an ended incident keeps ticking: what is still open is missed (past due) or
     * moot (not yet due), and says so. */
    if ((strcmp(status, INCIDENT_CLOSED) == 0 || strcmp(status, INCIDENT_DISMISSED) == 0) &&
        ((rc = store_deadline_settle(ctx->store, inc.id, now, ctx->actor, "事件已结束", err)) < 0 ||
         (rc = store_escalation_stop_all(ctx->store, inc.id, NULL, now, status, err)) < 0))
        goto out;
    if ((rc = add_tasks(ctx, &inc, status, now, err)) < 0)
        goto out;

    json_t *body = json_pack("{s:s, s:s, s:O}", "from", from, "to", status, "fields", changes);
    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    rc = timeline(ctx, inc.id, now, "status", body, err);
    json_decref(body);
    if (rc < 0)
        goto out;
    detail = json_pack("{s:I, s:s, s:s, s:O}", "id", (json_int_t)inc.id, "from", from, "to", status, "fields",
                       changes);
    if (reason)
        json_object_set_new(detail, "reason", json_string(reason));
out:
    if (began)
        rc = finish(ctx, rc, "incident.move", &inc, detail, now, err);
    json_decref(detail);
    json_decref(changes);
    free(from_copy);
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}

/* A change that keeps the status, in one transaction: the row (version, updated_at), the deadlines
 * it meets (met, NULL-terminated, may be NULL) met and their escalations stopped with stop_reason,
 * the timeline entry `kind` with body, audit `action` and the live event. */
static int record_change(struct yj_ctx *ctx, struct store_incident *inc, const char *const *met,
                         const char *stop_reason, const char *kind, json_t *body, const char *action,
                         int64_t now, struct yj_err *err)
{
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    int64_t expected = inc->version;
    inc->updated_at = now;
    stamp_names(ctx->plan, inc);
    rc = store_incident_update(ctx->store, inc, expected, err);
    for (const char *const *m = met; rc == 0 && m && *m; m++) {
        rc = store_deadline_meet(ctx->store, inc->id, *m, now, err);
        if (rc == 0)
            rc = store_escalation_stop_all(ctx->store, inc->id, *m, now, stop_reason, err);
    }
    if (rc == 0)
        rc = timeline(ctx, inc->id, now, kind, body, err);
    json_t *detail = json_pack("{s:I, s:O}", "id", (json_int_t)inc->id, kind, body);
    rc = finish(ctx, rc, action, inc, detail, now, err);
    json_decref(detail);
    return rc;
}

int incident_attach_signal(struct yj_ctx *ctx, struct store_incident *inc, int64_t at, const char *rule,
                           const char *sample, struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    /* The counter moves with every signal; the record of it (timeline evidence at the 1st, 2nd,
     * 4th, 8th ... signal; audit row and live event at those and at most once a second otherwise)
     * does not, or a brute force at thousands of lines a second would flood the audit log and
     * every open console. Each signal stays in `signals` with its incident id. */
    int64_t count = 0;
    bool publish = ((inc->signal_count + 1) & inc->signal_count) == 0 || now - inc->updated_at >= 1000;
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    rc = store_incident_add_signal(ctx->store, inc->id, at, publish ? now : 0, &count, err);
    if (rc < 0 || !publish) {
        if (rc == 0)
            rc = store_commit(ctx->store, err);
        else
            store_rollback(ctx->store);
        if (rc == 0)
            inc->signal_count = count;
        return rc;
    }
    inc->signal_count = count;
    inc->updated_at = now;
    if (at > inc->last_signal_at)
        inc->last_signal_at = at;
    if ((count & (count - 1)) == 0) {
        json_t *body =
            json_pack("{s:I, s:s, s:s}", "count", (json_int_t)count, "rule", rule, "sample", sample);
        rc = timeline(ctx, inc->id, now, "signal", body, err);
        json_decref(body);
    }
    json_t *detail =
        json_pack("{s:I, s:I, s:s}", "id", (json_int_t)inc->id, "count", (json_int_t)count, "rule", rule);
    rc = finish(ctx, rc, "incident.signal", inc, detail, now, err);
    json_decref(detail);
    return rc;
}

int incident_recovered(struct yj_ctx *ctx, const struct store_incident *inc, const char *note, int64_t at,
                       struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    rc = store_escalation_stop_all(ctx->store, inc->id, NULL, now, "recovered", err);
    json_t *body = json_pack("{s:s, s:I}", "note", note ? note : "", "at", (json_int_t)at);
    if (rc == 0)
        rc = timeline(ctx, inc->id, now, "recovered", body, err);
    json_t *detail = json_pack("{s:I, s:O}", "id", (json_int_t)inc->id, "recovered", body);
    rc = finish(ctx, rc, "incident.recovered", inc, detail, now, err);
    json_decref(detail);
    json_decref(body);
    return rc;
}

int incident_ack(struct yj_ctx *ctx, const char *ref, struct store_incident *out, struct yj_err *err)
{
    struct store_incident inc = {0};
    int rc = incident_find(ctx, ref, &inc, err);
    if (rc < 0)
        return rc;
    const char *status = inc.status ? inc.status : "";
    if (strcmp(status, INCIDENT_CLOSED) == 0 || strcmp(status, INCIDENT_DISMISSED) == 0) {
        rc = yj_err_set(err, YJ_ESTATE, "%s is %s: there is nothing to acknowledge", inc.number, status);
        yj_err_zh(err, "%s 已%s，无需接报确认", inc.number,
                  strcmp(status, INCIDENT_CLOSED) == 0 ? "关闭" : "排除");
        store_incident_release(&inc);
        return rc;
    }
    if (inc.acknowledged_at) {
        /* Acknowledging twice changes nothing (a second person may press the same button). */
        if (out)
            *out = inc;
        else
            store_incident_release(&inc);
        return 0;
    }
    int64_t now = yj_ctx_now(ctx);
    inc.acknowledged_at = now;
    json_t *body = json_pack("{s:s}", "by", ctx->actor ? ctx->actor : "");
    static const char *const met[] = {"acknowledge", "new", NULL};
    rc = record_change(ctx, &inc, met, "acknowledged", "acknowledged", body, "incident.ack", now, err);
    json_decref(body);
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}

int incident_activate(struct yj_ctx *ctx, const char *ref, const char *by, const char *reason,
                      struct store_incident *out, struct yj_err *err)
{
    if (!by || !leading_member(ctx->plan, by)) {
        yj_err_set(err, YJ_EINVAL,
                   "\"%s\" is not a leader or deputy of the leading group (领导小组) in the plan",
                   by ? by : "");
        yj_err_zh(err, "决策人须是预案中领导小组的组长或副组长");
        yj_err_field(err, "by");
        return YJ_EINVAL;
    }
    if (yj_text_check("reason", reason ? reason : "", 2000, YJ_TEXT_NONEMPTY, err) < 0) {
        yj_err_field(err, "reason");
        return YJ_EINVAL;
    }
    struct store_incident inc = {0};
    int rc = incident_find(ctx, ref, &inc, err);
    if (rc < 0)
        return rc;
    const char *status = inc.status ? inc.status : "";
    int64_t now = yj_ctx_now(ctx);
    if (strcmp(status, INCIDENT_REPORTED) != 0 && strcmp(status, INCIDENT_ASSESSING) != 0 &&
        strcmp(status, INCIDENT_RESPONDING) != 0) {
        rc = yj_err_set(err, YJ_ESTATE, "%s is %s: the plan can no longer be activated", inc.number, status);
        yj_err_zh(err, "%s 当前为「%s」，已不能启动预案", inc.number, incident_status_zh(status));
    } else if (inc.activated_at) {
        char when[32];
        yj_time_local(inc.activated_at, when, sizeof(when));
        rc = yj_err_set(err, YJ_ESTATE, "the plan was already activated for %s by %s at %s", inc.number,
                        inc.activated_by ? inc.activated_by : "?", when);
        yj_err_zh(err, "%s 已于 %s 由%s决定启动预案", inc.number, when,
                  plan_person_name(ctx->plan, inc.activated_by));
    } else {
        free(inc.activated_by);
        free(inc.activation_reason);
        inc.activated_by = xstrdup(by);
        inc.activation_reason = xstrdup(reason);
        inc.activated_at = now;
        const struct plan_person *p = plan_person(ctx->plan, by);
        json_t *proxy = NULL;
        if ((rc = yj_decider_check(ctx, by, &proxy, err)) < 0) {
            store_incident_release(&inc);
            return rc;
        }
        json_t *body = json_pack("{s:s, s:s?, s:s, s:o?}", "by", by, "name", p ? p->name : NULL, "reason", reason,
                                 "on_behalf", proxy);
        static const char *const met[] = {"activation", NULL};
        rc = record_change(ctx, &inc, met, "activated", "activation", body, "incident.activate", now, err);
        json_decref(body);
    }
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}

int incident_overdue(struct yj_ctx *ctx, struct store_incident *inc, const char *kind, int64_t due_at,
                     struct store_escalation *start, struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    rc = store_deadline_mark_overdue(ctx->store, inc->id, kind, now, err);
    if (rc == 0 && start) {
        rc = store_escalation_insert(ctx->store, start, err);
        if (rc == YJ_ECONFLICT) /* already escalating (a clock on another node got there first) */
            rc = 0, start = NULL;
    }
    json_t *body = json_pack("{s:s, s:o, s:s?}", "deadline", kind, "due_at", yj_json_time(due_at),
                             "escalation", start ? start->policy : NULL);
    if (rc == 0)
        rc = timeline(ctx, inc->id, now, "overdue", body, err);
    json_t *detail = json_pack("{s:I, s:s}", "id", (json_int_t)inc->id, "deadline", kind);
    rc = finish(ctx, rc, "incident.overdue", inc, detail, now, err);
    json_decref(detail);
    json_decref(body);
    return rc;
}

int incident_escalate(struct yj_ctx *ctx, struct store_incident *inc, const struct store_escalation *e,
                      struct store_notification *notes, size_t n, json_t *body, struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    int rc = store_begin(ctx->store, err);
    if (rc < 0)
        return rc;
    rc = store_escalation_update(ctx->store, e, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = store_notification_insert(ctx->store, &notes[i], err);
    if (rc == 0 && body)
        rc = timeline(ctx, inc->id, now, e->stopped_at ? "escalation_stopped" : "escalation", body, err);
    json_t *detail = json_pack("{s:I, s:s, s:I}", "id", (json_int_t)inc->id, "policy", e->policy, "step",
                               (json_int_t)e->step);
    rc = finish(ctx, rc, "incident.escalate", inc, detail, now, err);
    json_decref(detail);
    return rc;
}

int incident_record(struct yj_ctx *ctx, int64_t id, const char *kind, json_t *body, struct yj_err *err)
{
    struct store_incident inc;
    int rc = store_incident_get(ctx->store, id, NULL, &inc, err);
    if (rc < 0)
        return rc;
    int64_t now = yj_ctx_now(ctx);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = timeline(ctx, id, now, kind, body, err);
        json_t *detail = json_pack("{s:I, s:O}", "id", (json_int_t)id, kind, body);
        rc = finish(ctx, rc, kind, &inc, detail, now, err);
        json_decref(detail);
    }
    store_incident_release(&inc);
    return rc;
}

/* The incident named by ref and its task task_id: 0 and both (release both), or an error and
 * neither. */
static int load_task(struct yj_ctx *ctx, const char *ref, int64_t task_id, struct store_incident *inc,
                     struct store_task *task, struct yj_err *err)
{
    int rc = incident_find(ctx, ref, inc, err);
    if (rc < 0)
        return rc;
    if ((rc = store_task_get(ctx->store, task_id, task, err)) == 0 && task->incident_id != inc->id) {
        store_task_release(task);
        rc = yj_err_set(err, YJ_ENOTFOUND, "%s has no task %lld", inc->number, (long long)task_id);
    }
    if (rc < 0)
        store_incident_release(inc);
    return rc;
}

/* Writes the changed task with its timeline entry (kind, body: borrowed), audit row and event in
 * one transaction; releases inc, and task unless it goes to *out. */
static int save_task(struct yj_ctx *ctx, struct store_incident *inc, struct store_task *task,
                     const char *kind, const char *action, json_t *body, int64_t now, struct store_task *out,
                     struct yj_err *err)
{
    int rc = store_begin(ctx->store, err);
    if (rc == 0) {
        rc = store_task_update(ctx->store, task, err);
        if (rc == 0)
            rc = timeline(ctx, inc->id, now, kind, body, err);
        json_t *detail = json_pack("{s:I, s:O}", "id", (json_int_t)inc->id, kind, body);
        rc = finish(ctx, rc, action, inc, detail, now, err);
        json_decref(detail);
    }
    store_incident_release(inc);
    if (rc == 0 && out)
        *out = *task;
    else
        store_task_release(task);
    return rc;
}

int incident_task_update(struct yj_ctx *ctx, const char *ref, int64_t task_id, const char *status,
                         const char *reason, const char *note, struct store_task *out, struct yj_err *err)
{
    static const char *const states[] = {"todo", "doing", "done", "skipped"};
    bool known = false;
    for (size_t i = 0; i < YJ_ARRAY_LEN(states); i++)
        known |= status && strcmp(status, states[i]) == 0;
    if (!known) {
        yj_err_set(err, YJ_EINVAL, "status must be todo, doing, done or skipped");
        yj_err_field(err, "status");
        return YJ_EINVAL;
    }
    if (strcmp(status, "skipped") == 0 && (!reason || !*reason)) {
        yj_err_set(err, YJ_EINVAL, "skipping a task needs a reason");
        yj_err_field(err, "reason");
        return YJ_EINVAL;
    }
    int rc;
    if ((reason && (rc = yj_text_check("reason", reason, INCIDENT_TEXT_MAX, 0, err)) < 0) ||
        (note && (rc = yj_text_check("note", note, INCIDENT_TEXT_MAX, 0, err)) < 0))
        return rc;
    struct store_incident inc = {0};
    struct store_task task = {0};
    if ((rc = load_task(ctx, ref, task_id, &inc, &task, err)) < 0)
        return rc;
    /* A step the plan marks as needing approval is not carried out before someone approves it. */
    if ((strcmp(status, "doing") == 0 || strcmp(status, "done") == 0) &&
        (strcmp(task.approval_status, "pending") == 0 || strcmp(task.approval_status, "rejected") == 0)) {
        rc = yj_err_set(err, YJ_ESTATE, "task %lld (%s) needs approval first: it is %s", (long long)task.id,
                        task.title,
                        strcmp(task.approval_status, "pending") == 0 ? "awaiting approval" : "rejected");
        yj_err_zh(err, "「%s」须先经批准：%s", task.title,
                  strcmp(task.approval_status, "pending") == 0 ? "正在等待审批" : "已被驳回");
        store_task_release(&task);
        store_incident_release(&inc);
        return rc;
    }
    int64_t now = yj_ctx_now(ctx);
    json_t *body = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?}", "task", (json_int_t)task.id, "title",
                             task.title, "from", task.status, "to", status, "reason",
                             reason && *reason ? reason : NULL, "note", note);
    snprintf(task.status, sizeof(task.status), "%s", status);
    free(task.reason);
    task.reason = reason && *reason ? xstrdup(reason) : NULL;
    if (note && *note) {
        free(task.note);
        task.note = xstrdup(note);
    }
    free(task.updated_by);
    task.updated_by = xstrdup(ctx->actor ? ctx->actor : "");
    task.updated_at = now;
    rc = save_task(ctx, &inc, &task, "task", "incident.task", body, now, out, err);
    json_decref(body);
    return rc;
}

int incident_task_approve(struct yj_ctx *ctx, const char *ref, int64_t task_id, bool approve,
                          const char *reason, struct store_task *out, struct yj_err *err)
{
    int rc;
    if (!approve && (!reason || !*reason)) {
        yj_err_set(err, YJ_EINVAL, "rejecting needs a reason");
        yj_err_zh(err, "驳回须写明理由");
        yj_err_field(err, "reason");
        return YJ_EINVAL;
    }
    if (reason && (rc = yj_text_check("reason", reason, INCIDENT_TEXT_MAX, 0, err)) < 0)
        return rc;
    struct store_incident inc = {0};
    struct store_task task = {0};
    if ((rc = load_task(ctx, ref, task_id, &inc, &task, err)) < 0)
        return rc;
    if (strcmp(task.approval_status, "pending") != 0) {
        rc = yj_err_set(err, YJ_ESTATE, "task %lld (%s) %s", (long long)task.id, task.title,
                        task.approval_status[0] ? "was decided already" : "needs no approval");
        yj_err_zh(err, "「%s」%s", task.title, task.approval_status[0] ? "已审批过" : "无需审批");
        store_task_release(&task);
        store_incident_release(&inc);
        return rc;
    }
    int64_t now = yj_ctx_now(ctx);
    snprintf(task.approval_status, sizeof(task.approval_status), "%s", approve ? "approved" : "rejected");
    free(task.approved_by);
    task.approved_by = xstrdup(ctx->actor ? ctx->actor : "");
    task.approved_at = now;
    free(task.approval_reason);
    task.approval_reason = reason && *reason ? xstrdup(reason) : NULL;
    json_t *body =
        json_pack("{s:I, s:s, s:s?, s:s, s:s?}", "task", (json_int_t)task.id, "title", task.title, "action",
                  task.action, "decision", task.approval_status, "reason", task.approval_reason);
    rc = save_task(ctx, &inc, &task, "approval", "incident.approval", body, now, out, err);
    json_decref(body);
    return rc;
}

int incident_task_overdue(struct yj_ctx *ctx, const struct store_task *task, struct store_escalation *start,
                          struct yj_err *err)
{
    struct store_incident inc;
    int rc = store_incident_get(ctx->store, task->incident_id, NULL, &inc, err);
    if (rc < 0)
        return rc;
    int64_t now = yj_ctx_now(ctx);
    if ((rc = store_begin(ctx->store, err)) == 0) {
        rc = store_task_mark_overdue(ctx->store, task->id, now, err);
        if (rc == 0 && start) {
            rc = store_escalation_insert(ctx->store, start, err);
            if (rc == YJ_ECONFLICT)
                rc = 0, start = NULL;
        }
        json_t *body =
            json_pack("{s:I, s:s, s:o, s:s?}", "task", (json_int_t)task->id, "title", task->title, "due_at",
                      yj_json_time(task->due_at), "escalation", start ? start->policy : NULL);
        if (rc == 0)
            rc = timeline(ctx, inc.id, now, "task_overdue", body, err);
        json_t *detail = json_pack("{s:I, s:I}", "id", (json_int_t)inc.id, "task", (json_int_t)task->id);
        rc = finish(ctx, rc, "incident.task_overdue", &inc, detail, now, err);
        json_decref(detail);
        json_decref(body);
    }
    store_incident_release(&inc);
    return rc;
}

int incident_note(struct yj_ctx *ctx, const char *ref, const char *text, struct yj_err *err)
{
    int rc = yj_text_check("note", text, INCIDENT_TEXT_MAX, YJ_TEXT_NONEMPTY, err);
    if (rc < 0)
        return rc;
    struct store_incident inc = {0};
    if ((rc = incident_find(ctx, ref, &inc, err)) < 0)
        return rc;
    json_t *body = json_pack("{s:s}", "text", text);
    rc = record_change(ctx, &inc, NULL, NULL, "note", body, "incident.note", yj_ctx_now(ctx), err);
    json_decref(body);
    store_incident_release(&inc);
    return rc;
}

int incident_assess(struct yj_ctx *ctx, const char *ref, const struct incident_field *fields, size_t n_fields,
                    int64_t if_version, struct store_incident *out, struct yj_err *err)
{
    static const char *const keys[] = {"source", "scope", "nature",  "trend", "measures",
                                       "level",  "clues", "support", "scene", NULL};
    if (n_fields == 0)
        return yj_err_set(err, YJ_EINVAL,
                          "an assessment needs at least one of: source, scope, nature, trend, "
                          "measures, level, clues, support, scene");
    struct store_incident inc = {0};
    int rc = incident_find(ctx, ref, &inc, err);
    if (rc < 0)
        return rc;
    json_t *changes = json_object();
    const struct plan_level *new_level = NULL;
    if (if_version > 0 && if_version != inc.version) {
        rc = yj_err_set(err, YJ_ECONFLICT, "%s has changed since version %lld (now %lld); reload and retry",
                        inc.number, (long long)if_version, (long long)inc.version);
    } else if (!inc.status || strcmp(inc.status, INCIDENT_CLOSED) == 0 ||
               strcmp(inc.status, INCIDENT_DISMISSED) == 0) {
        rc = yj_err_set(err, YJ_ESTATE, "%s is %s: the assessment can no longer change", inc.number,
                        inc.status);
        yj_err_zh(err, "%s 已%s，风险评估不能再修改", inc.number, incident_status_zh(inc.status));
    } else {
        rc = apply_fields(ctx->plan, &inc, fields, n_fields, keys, changes, &new_level, err);
    }
    if (rc == 0)
        rc = record_change(ctx, &inc, NULL, NULL, "assessment", changes, "incident.assess", yj_ctx_now(ctx),
                           err);
    json_decref(changes);
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}

/* The account a thing is given to: it must exist and be enabled. */
static int check_assignee(struct yj_ctx *ctx, const char *name, struct yj_err *err)
{
    struct store_user u = {0};
    int rc = store_user_get(ctx->store, 0, name, &u, err);
    if (rc == YJ_ENOTFOUND || (rc == 0 && u.disabled)) {
        yj_err_set(err, YJ_EINVAL, "no enabled account named \"%s\"", name);
        yj_err_zh(err, "没有名为「%s」的可用账号", name);
        yj_err_field(err, "assignee");
        rc = YJ_EINVAL;
    }
    store_user_release(&u);
    return rc;
}

int incident_assign(struct yj_ctx *ctx, const char *ref, int64_t task_id, const char *assignee,
                    struct store_incident *out, struct yj_err *err)
{
    if (assignee && !*assignee)
        assignee = NULL;
    int rc = 0;
    if (assignee && (rc = check_assignee(ctx, assignee, err)) < 0)
        return rc;
    int64_t now = yj_ctx_now(ctx);
    struct store_incident inc = {0};
    if (!task_id) {
        if ((rc = incident_find(ctx, ref, &inc, err)) < 0)
            return rc;
        json_t *body = json_pack("{s:o, s:o}", "from", inc.assignee ? json_string(inc.assignee) : json_null(), "to",
                                 assignee ? json_string(assignee) : json_null());
        free(inc.assignee);
        inc.assignee = xstrdup(assignee);
        rc = record_change(ctx, &inc, NULL, NULL, "assigned", body, "incident.assign", now, err);
        json_decref(body);
    } else {
        struct store_task task = {0};
        if ((rc = load_task(ctx, ref, task_id, &inc, &task, err)) < 0)
            return rc;
        json_t *body = json_pack("{s:I, s:s, s:o, s:o}", "task", (json_int_t)task.id, "title", task.title, "from",
                                 task.assignee ? json_string(task.assignee) : json_null(), "to",
                                 assignee ? json_string(assignee) : json_null());
        free(task.assignee);
        task.assignee = xstrdup(assignee);
        free(task.updated_by);
        task.updated_by = xstrdup(ctx->actor ? ctx->actor : "");
        task.updated_at = now;
        struct store_incident kept;
        store_incident_copy(&kept, &inc);
        rc = save_task(ctx, &inc, &task, "task_assigned", "incident.task_assign", body, now, NULL, err);
        json_decref(body);
        inc = kept;
    }
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}

int incident_ack_by_link(struct yj_ctx *ctx, const char *token, struct store_incident *out, char *who,
                         size_t who_size, struct yj_err *err)
{
    char hash[65];
    int64_t id = 0;
    yj_token_hash(token ? token : "", hash);
    int rc = store_ack_link_get(ctx->store, hash, yj_ctx_now(ctx), &id, who, who_size, err);
    if (rc < 0) {
        if (rc == YJ_ENOTFOUND)
            yj_err_zh(err, "链接无效、已使用或已过期，请登录应急响应平台确认");
        return rc;
    }
    if ((rc = store_begin(ctx->store, err)) < 0)
        return rc;
    rc = store_ack_link_use(ctx->store, hash, yj_ctx_now(ctx), err);
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", (long long)id);
    /* The person the message went to acknowledges. */
    const char *actor = ctx->actor;
    ctx->actor = who;
    struct store_incident inc = {0};
    if (rc == 0)
        rc = incident_ack(ctx, ref, &inc, err);
    ctx->actor = actor;
    if (rc == 0)
        rc = store_commit(ctx->store, err);
    else
        store_rollback(ctx->store);
    if (rc == 0 && out)
        *out = inc;
    else
        store_incident_release(&inc);
    return rc;
}
