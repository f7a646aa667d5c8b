/* clock.c: overdue deadlines and escalation, from the store, once per tick. Work per tick is
 * bounded (at most TICK_BATCH deadlines and steps); what is left waits for the next tick. Each
 * effect commits on its own, so a crash between two repeats nothing that was recorded and loses
 * nothing that was not: the idempotency key of a notification makes a re-run queue it once. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../base/token.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "audit.h"
#include "clock.h"
#include "ctx.h"
#include "duty.h"
#include "incident.h"

#include <jansson.h>

#define TICK_BATCH 100
#define MAX_RECIPIENTS 64

static const char *deadline_name(const char *kind)
{
    if (strncmp(kind, "task:", 5) == 0)
        return "处置任务";
    static const char *const names[][2] = {{"report", "事件报告"},
                                           {"acknowledge", "接报确认"},
                                           {"assessment", "风险评估"},
                                           {"activation", "启动预案决策"},
                                           {"upward_report", "向上级报告"},
                                           {"supplement", "补报"},
                                           {"summary_report", "处置总结报告"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(names); i++)
        if (strcmp(names[i][0], kind) == 0)
            return names[i][1];
    return kind;
}

static const struct plan_escalation *policy_by_id(const struct plan *p, const char *id)
{
    for (size_t i = 0; i < p->n_escalations; i++)
        if (strcmp(p->escalations[i].id, id) == 0)
            return &p->escalations[i];
    return NULL;
}

static int64_t step_after(const struct plan_escalation_step *s)
{
    return s->after > 0 ? s->after : 0;
}

struct recipients {
    char *ids[MAX_RECIPIENTS]; /* "person:ID" or "user:NAME" */
    const char *targets[MAX_RECIPIENTS];
    size_t n;
};

static void add(struct recipients *r, const char *kind, const char *id, const char *target)
{
    if (!id || !*id || r->n == MAX_RECIPIENTS)
        return;
    char *rec = xasprintf("%s:%s", kind, id);
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->ids[i], rec) == 0) {
            free(rec);
            return;
        }
    r->ids[r->n] = rec;
    r->targets[r->n++] = target;
}

static void add_unit_head(struct recipients *r, const struct plan *p, const char *unit, const char *target)
{
    const struct plan_unit *u = unit ? plan_unit(p, unit) : NULL;
    if (u)
        add(r, "person", u->head, target);
}

/* Whom a step's targets name, now: the roster is read at send time. */
static void resolve(const struct plan *p, const struct store_incident *inc, const struct plan_escalation_step *step,
                    int64_t now, struct recipients *r)
{
    for (size_t t = 0; t < step->n_notify; t++) {
        const char *target = step->notify[t];
        const char *colon = strchr(target, ':');
        const char *id = colon ? colon + 1 : "";
        if (strcmp(target, "duty") == 0) {
            struct duty_shift shifts[16];
            size_t n = duty_now(p, now, shifts, YJ_ARRAY_LEN(shifts));
            for (size_t i = 0; i < n && i < YJ_ARRAY_LEN(shifts); i++)
                add(r, "person", shifts[i].person, target);
        } else if (strcmp(target, "unit_head") == 0) {
            add_unit_head(r, p, inc->unit, target);
        } else if (strcmp(target, "reporter") == 0) {
            add(r, "user", inc->reporter, target);
        } else if (strncmp(target, "unit:", 5) == 0) {
            add_unit_head(r, p, id, target);
        } else if (strncmp(target, "person:", 7) == 0) {
            add(r, "person", id, target);
        } else if (strncmp(target, "role:", 5) == 0) {
            for (size_t i = 0; i < p->n_people; i++)
                for (size_t k = 0; k < p->people[i].n_roles; k++)
                    if (strcmp(p->people[i].roles[k], id) == 0)
                        add(r, "person", p->people[i].id, target);
        } else if (strncmp(target, "group:", 6) == 0) {
            const struct plan_group *g = plan_group(p, id);
            for (size_t i = 0; g && i < g->n_leaders; i++)
                add(r, "person", g->leaders[i], target);
            if (g && g->n_leaders == 0)
                add_unit_head(r, p, g->office_unit, target);
        }
    }
}

/* The message: what is overdue, for which incident, and the report content known so far. */
static void compose(const struct yj_ctx *ctx, const struct store_incident *inc, const struct store_escalation *e,
                    const struct plan_escalation *policy, int64_t due_at, char **subject, char **body)
{
    /* What is overdue: a deadline by its name, a task by its title. */
    char what[600];
    snprintf(what, sizeof(what), "%s", deadline_name(e->deadline));
    if (strncmp(e->deadline, "task:", 5) == 0) {
        struct store_task t;
        struct yj_err err;
        if (store_task_get(ctx->store, strtoll(e->deadline + 5, NULL, 10), &t, &err) == 0) {
            snprintf(what, sizeof(what), "处置任务「%s」", t.title);
            store_task_release(&t);
        }
    }
    const struct plan *p = ctx->plan;
    const struct plan_type *type = plan_type(p, inc->type);
    const struct plan_level *level = plan_level(p, inc->level);
    const struct plan_unit *unit = plan_unit(p, inc->unit);
    int64_t now = yj_ctx_now(ctx);
    char due[32], detected[32];
    yj_time_local(due_at, due, sizeof(due));
    yj_time_local(inc->detected_at, detected, sizeof(detected));
    bool fresh = strcmp(e->deadline, "new") == 0;
    if (fresh)
        *subject = xasprintf("【应急】新事件 %s：%s（%s）", inc->number, inc->title, level ? level->name : inc->level);
    else
        *subject = xasprintf("【应急提醒】%s %s已超时：%s", inc->number, what, inc->title);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "事件：%s %s\n", inc->number, inc->title);
    fprintf(f, "类型：%s（%s）\n", type ? type->name : inc->type, level ? level->name : inc->level);
    fprintf(f, "责任单位：%s\n", unit ? unit->name : inc->unit);
    fprintf(f, "发现时间：%s\n", detected);
    if (!fresh)
        fprintf(f, "逾期事项：%s，应于 %s 前完成（已超时 %lld 分钟）\n", what, due,
                (long long)((now - due_at) / YJ_MS_PER_MIN));
    static const char *const fields[][2] = {{"source", "来源"}, {"scope", "影响范围"}, {"nature", "性质"},
                                            {"trend", "发展态势"}, {"measures", "已采取措施"}};
    const char *values[] = {inc->source, inc->scope, inc->nature, inc->trend, inc->measures};
    for (size_t i = 0; i < YJ_ARRAY_LEN(fields); i++)
        if (values[i] && *values[i])
            fprintf(f, "%s：%s\n", fields[i][1], values[i]);
    if (!fresh)
        fprintf(f, "升级：%s，第 %lld 步%s\n", policy->name ? policy->name : policy->id, (long long)e->step + 1,
                e->sent ? "（再次提醒）" : "");
    if (ctx->public_url)
        fprintf(f, "请立即处理，并在系统中确认：%s%sincidents/%s\n", ctx->public_url,
                ctx->public_url[0] && ctx->public_url[strlen(ctx->public_url) - 1] == '/' ? "" : "/", inc->number);
    else
        fprintf(f, "请立即处理，并登录应急响应平台确认。\n（本消息未附事件链接：系统管理员在配置文件中设置 "
                   "public_url（平台的访问地址）后，消息将附上可直接打开的事件链接。）\n");
    fclose(f);
    *body = text;
}

#define ACK_LINK_TTL_MS (24 * YJ_MS_PER_HOUR)

static int run_overdue(struct yj_ctx *ctx, struct clock_result *res, struct yj_err *err)
{
    struct store_deadline ds[TICK_BATCH];
    size_t n = 0;
    int64_t now = yj_ctx_now(ctx);
    int rc = store_deadline_overdue(ctx->store, now, ds, TICK_BATCH, &n, err);
    res->more |= n == TICK_BATCH;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct store_incident inc;
        if ((rc = store_incident_get(ctx->store, ds[i].incident_id, NULL, &inc, err)) < 0)
            break;
        const struct plan_escalation *policy = plan_escalation_for(ctx->plan, inc.level, inc.type, ds[i].kind);
        struct store_escalation start = {.incident_id = inc.id, .started_at = now};
        if (policy) {
            snprintf(start.deadline, sizeof(start.deadline), "%s", ds[i].kind);
            snprintf(start.policy, sizeof(start.policy), "%s", policy->id);
            start.next_at = now + step_after(&policy->steps[0]);
        }
        rc = incident_overdue(ctx, &inc, ds[i].kind, ds[i].due_at, policy ? &start : NULL, err);
        store_incident_release(&inc);
        if (rc == 0)
            res->overdue++;
    }
    return rc;
}

static int run_task_overdue(struct yj_ctx *ctx, struct clock_result *res, struct yj_err *err)
{
    struct store_task ts[TICK_BATCH];
    size_t n = 0;
    int64_t now = yj_ctx_now(ctx);
    int rc = store_task_overdue(ctx->store, now, ts, TICK_BATCH, &n, err);
    res->more |= n == TICK_BATCH;
    for (size_t i = 0; i < n; i++) {
        struct store_incident inc;
        if (rc == 0 && (rc = store_incident_get(ctx->store, ts[i].incident_id, NULL, &inc, err)) == 0) {
            const struct plan_escalation *policy = plan_escalation_for(ctx->plan, inc.level, inc.type, "task");
            struct store_escalation start = {.incident_id = inc.id, .started_at = now};
            if (policy) {
                snprintf(start.deadline, sizeof(start.deadline), "task:%lld", (long long)ts[i].id);
                snprintf(start.policy, sizeof(start.policy), "%s", policy->id);
                start.next_at = now + step_after(&policy->steps[0]);
            }
            rc = incident_task_overdue(ctx, &ts[i], policy ? &start : NULL, err);
            store_incident_release(&inc);
            if (rc == 0)
                res->overdue++;
        }
        store_task_release(&ts[i]);
    }
    return rc;
}

static int64_t due_of(struct store *st, int64_t incident_id, const char *kind, bool *met)
{
    if (strcmp(kind, "new") == 0) {
        /* Telling people of a new incident runs until someone acknowledges it. */
        struct store_incident inc;
        struct yj_err err;
        *met = true;
        if (store_incident_get(st, incident_id, NULL, &inc, &err) < 0)
            return 0;
        *met = inc.acknowledged_at != 0;
        int64_t at = inc.reported_at;
        store_incident_release(&inc);
        return at;
    }
    if (strncmp(kind, "task:", 5) == 0) {
        /* A task's escalation runs until the task is done or skipped. */
        struct store_task t;
        struct yj_err err;
        *met = true;
        if (store_task_get(st, strtoll(kind + 5, NULL, 10), &t, &err) < 0)
            return 0;
        int64_t due = t.due_at;
        *met = strcmp(t.status, "done") == 0 || strcmp(t.status, "skipped") == 0;
        store_task_release(&t);
        return due;
    }
    struct store_deadline ds[16];
    size_t n = 0;
    struct yj_err err;
    *met = false;
    if (store_deadline_list(st, incident_id, ds, YJ_ARRAY_LEN(ds), &n, &err) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ds[i].kind, kind) == 0) {
            *met = ds[i].met_at != 0;
            return ds[i].due_at;
        }
    *met = true; /* the deadline is gone: nothing left to chase */
    return 0;
}

static int run_step(struct yj_ctx *ctx, struct store_escalation *e, struct clock_result *res, struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    struct store_incident inc;
    int rc = store_incident_get(ctx->store, e->incident_id, NULL, &inc, err);
    if (rc < 0)
        return rc;
    const struct plan_escalation *policy = policy_by_id(ctx->plan, e->policy);
    bool met;
    int64_t due_at = due_of(ctx->store, inc.id, e->deadline, &met);
    const char *stop = NULL;
    if (strcmp(inc.status, "closed") == 0 || strcmp(inc.status, "dismissed") == 0)
        stop = "closed";
    else if (met)
        stop = "met";
    else if (!policy || e->step >= (int64_t)policy->n_steps)
        stop = "policy_removed";
    if (stop) {
        e->stopped_at = now;
        snprintf(e->stop_reason, sizeof(e->stop_reason), "%s", stop);
        json_t *body = json_pack("{s:s, s:s}", "policy", e->policy, "reason", stop);
        rc = incident_escalate(ctx, &inc, e, NULL, 0, body, err);
        json_decref(body);
        store_incident_release(&inc);
        if (rc == 0)
            res->stopped++;
        return rc;
    }
    const struct plan_escalation_step *step = &policy->steps[e->step];
    struct recipients r = {0};
    resolve(ctx->plan, &inc, step, now, &r);
    char *subject, *text;
    compose(ctx, &inc, e, policy, due_at, &subject, &text);
    struct store_notification notes[MAX_RECIPIENTS];
    char *keys[MAX_RECIPIENTS], *bodies[MAX_RECIPIENTS] = {0};
    json_t *who = json_array();
    /* A new incident, or one nobody has acknowledged: each person it goes to gets a link of their
     * own that acknowledges it (one press, no login: the link is theirs; once; for a day). */
    bool ackable = ctx->public_url && !inc.acknowledged_at &&
                   (strcmp(e->deadline, "new") == 0 || strcmp(e->deadline, "acknowledge") == 0);
    if ((rc = store_begin(ctx->store, err)) < 0) {
        json_decref(who);
        free(subject);
        free(text);
        store_incident_release(&inc);
        return rc;
    }
    for (size_t i = 0; i < r.n; i++) {
        if (ackable && rc == 0 && strncmp(r.ids[i], "person:", 7) == 0) {
            char token[64], hash[65];
            yj_token_random(token, sizeof(token), 24);
            yj_token_hash(token, hash);
            rc = store_ack_link_insert(ctx->store, hash, inc.id, r.ids[i], now, now + ACK_LINK_TTL_MS, err);
            const char *u = ctx->public_url;
            bodies[i] = xasprintf("%s一键确认接报（仅限本人，一次有效，24 小时内）：%s%sack/%s\n", text, u,
                                  u[0] && u[strlen(u) - 1] == '/' ? "" : "/", token);
        }
        keys[i] = xasprintf("esc:%lld:%lld:%lld:%s", (long long)e->id, (long long)e->step, (long long)e->sent,
                            r.ids[i]);
        notes[i] = (struct store_notification){.incident_id = inc.id,
                                               .escalation_id = e->id,
                                               .created_at = now,
                                               .recipient = r.ids[i],
                                               .target = r.targets[i],
                                               .subject = subject,
                                               .body = bodies[i] ? bodies[i] : text,
                                               .idempotency_key = keys[i],
                                               .next_attempt_at = now};
        const char *colon = strchr(r.ids[i], ':');
        const struct plan_person *person = strncmp(r.ids[i], "person:", 7) == 0 ? plan_person(ctx->plan, colon + 1)
                                                                                 : NULL;
        json_array_append_new(who, json_string(person ? person->name : colon + 1));
    }
    json_t *body = json_pack("{s:s, s:s, s:I, s:I, s:o}", "policy", e->policy, "deadline", e->deadline, "step",
                             (json_int_t)e->step + 1, "round", (json_int_t)e->sent + 1, "notified", who);
    /* Advance: repeat the step, or go on to the next, or finish. */
    int64_t every = step->every > 0 ? step->every : step_after(step);
    if (e->sent < step->repeat) {
        e->sent++;
        e->next_at = now + (every > 0 ? every : YJ_MS_PER_MIN);
    } else {
        e->step++;
        e->sent = 0;
        e->next_at = e->step < (int64_t)policy->n_steps ? now + step_after(&policy->steps[e->step]) : 0;
    }
    if (rc == 0)
        rc = incident_escalate(ctx, &inc, e, notes, r.n, body, err);
    if (rc == 0)
        rc = store_commit(ctx->store, err);
    else
        store_rollback(ctx->store);
    if (rc == 0) {
        res->steps++;
        res->notifications += r.n;
    }
    json_decref(body);
    for (size_t i = 0; i < r.n; i++) {
        free(keys[i]);
        free(bodies[i]);
        free(r.ids[i]);
    }
    free(subject);
    free(text);
    store_incident_release(&inc);
    return rc;
}

static int run_escalations(struct yj_ctx *ctx, struct clock_result *res, struct yj_err *err)
{
    struct store_escalation es[TICK_BATCH];
    size_t n = 0;
    int rc = store_escalation_due(ctx->store, yj_ctx_now(ctx), es, TICK_BATCH, &n, err);
    res->more |= n == TICK_BATCH;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = run_step(ctx, &es[i], res, err);
    return rc;
}

int clock_tick(struct yj_ctx *ctx, struct clock_result *out, struct yj_err *err)
{
    struct clock_result res = {0};
    /* One transaction per tick (one WAL sync), each effect a savepoint inside it: at a thousand
     * new incidents a second, a sync per escalation step made the disk the bottleneck. */
    bool any = false;
    int rc = store_clock_due(ctx->store, yj_ctx_now(ctx), &any, err);
    if (rc < 0 || !any) {
        /* The usual tick: nothing due, no write lock taken (the server pokes the clock after
         * every batch of signals). */
        if (out)
            *out = res;
        return rc;
    }
    if ((rc = store_begin(ctx->store, err)) < 0)
        return rc;
    rc = run_overdue(ctx, &res, err);
    if (rc == 0)
        rc = run_task_overdue(ctx, &res, err);
    if (rc == 0)
        rc = run_escalations(ctx, &res, err);
    /* What succeeded before a failure stands: each effect was all-or-nothing on its own. */
    struct yj_err cerr;
    if (store_commit(ctx->store, rc < 0 ? &cerr : err) < 0 && rc == 0)
        rc = err ? err->code : YJ_ESTORE;
    if (out)
        *out = res;
    return rc;
}

int clock_announce_checkpoint(struct yj_ctx *ctx, const struct audit_checkpoint *cp, const char *day, size_t *queued,
                              struct yj_err *err)
{
    const struct plan *p = ctx->plan;
    const struct plan_group *office = NULL, *leading = NULL;
    for (size_t i = 0; i < p->n_groups; i++) {
        const char *kind = p->groups[i].kind ? p->groups[i].kind : "";
        if (!office && strcmp(kind, "office") == 0)
            office = &p->groups[i];
        if (!leading && strcmp(kind, "leading") == 0)
            leading = &p->groups[i];
    }
    struct recipients r = {0};
    struct store_incident none = {0};
    for (int pass = 0; pass < 2 && r.n == 0; pass++) {
        const struct plan_group *g = pass == 0 ? office : leading;
        if (!g)
            continue;
        char *target = xasprintf("group:%s", g->id);
        char *targets[1] = {target};
        struct plan_escalation_step step = {.notify = targets, .n_notify = 1};
        resolve(p, &none, &step, yj_ctx_now(ctx), &r);
        /* resolve keeps pointers to the target: copy them before it goes. */
        for (size_t i = 0; i < r.n; i++)
            r.targets[i] = g->id;
        free(target);
    }
    *queued = 0;
    if (r.n == 0)
        return 0;
    char when[40];
    yj_time_local(cp->at, when, sizeof(when));
    char *subject = xasprintf("【应急】审计记录检查点 %s", day);
    char *line = audit_checkpoint_json(cp);
    /* The last line is the checkpoint itself: saved to a file, it is what verification reads. */
    char *full = xasprintf("%s 审计记录检查点，请妥善保存本消息，供日后核对审计记录是否被改动：\n"
                           "第 %lld 条记录，哈希 %s\n签名 %s\n公钥 %s\n核对时将下面一行另存为检查点文件：\n%s\n",
                           when, (long long)cp->id, cp->hash, cp->signature, cp->public_key, line);
    free(line);
    int rc = store_begin(ctx->store, err);
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        char *key = xasprintf("audit-checkpoint:%s:%s", day, r.ids[i]);
        struct store_notification n = {.created_at = yj_ctx_now(ctx),
                                       .recipient = r.ids[i],
                                       .target = r.targets[i],
                                       .subject = subject,
                                       .body = full,
                                       .idempotency_key = key,
                                       .next_attempt_at = yj_ctx_now(ctx)};
        rc = store_notification_insert(ctx->store, &n, err);
        if (rc == 0 && n.id)
            (*queued)++;
        free(key);
    }
    if (rc == 0)
        rc = store_commit(ctx->store, err);
    else
        store_rollback(ctx->store);
    for (size_t i = 0; i < r.n; i++)
        free(r.ids[i]);
    free(subject);
    free(full);
    return rc;
}
