/* cli_incident.c: `yingji incident report|list|show|move|note`. Thin: parses options, calls
 * engine/incident.c, prints. Every refusal is one line on stderr and a non-zero exit. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../engine/incident.h"
#include "../engine/incident_json.h"
#include "../plan/plan.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>

static const char incident_usage[] =
    "usage: yingji incident report --type TYPE --title TEXT [--level L] [--asset A]... [--source S]\n"
    "                              [--scope S] [--nature N] [--trend T] [--measures M] [--drill]\n"
    "                              [--occurred TIME] [--detected TIME]\n"
    "       yingji incident list [--status S] [--unit U] [--type T] [--drill | --real] [--limit N]\n"
    "       yingji incident show ID\n"
    "       yingji incident move ID STATUS [--reason TEXT] [--field KEY=VALUE]...\n"
    "       yingji incident note ID TEXT\n"
    "       yingji incident ack ID\n"
    "       yingji incident activate ID --by PERSON --reason TEXT\n"
    "       yingji incident tasks ID\n"
    "       yingji incident task ID TASK todo|doing|done|skipped [--reason TEXT] [--note TEXT]\n"
    "       yingji incident approve ID TASK [--reject --reason TEXT]\n"
    "       yingji incident waive ID upward_report|supplement|summary_report --reason TEXT\n"
    "\n"
    "ID is the number (YJ-2026-0001) or the numeric id. STATUS is one of reported, assessing,\n"
    "responding, recovering, reviewing, closed, dismissed. Fields: source scope nature trend\n"
    "measures level (leaving assessing), activated_by activation_reason (levels that need the plan\n"
    "activated), cause loss lessons (closing). Closing also needs every task done or skipped and\n"
    "every owed report submitted or waived. TIME is RFC 3339 or epoch milliseconds.\n";

static int fail_err(const struct yj_err *err)
{
    return cli_fail(err->code, err->msg);
}

static void print_field(const char *label, const char *value)
{
    if (value && *value) {
        printf("  ");
        cli_print_padded(label, 24);
        printf("%s\n", value);
    }
}

static void print_time(const char *label, int64_t ms)
{
    if (!ms)
        return;
    char buf[32];
    yj_time_local(ms, buf, sizeof(buf));
    print_field(label, buf);
}

/* One timeline entry as a person reads it: "reported → assessing  scope=...". */
static int print_timeline_entry(const struct store_timeline_entry *e, void *ud)
{
    (void)ud;
    char when[32];
    yj_time_local(e->at, when, sizeof(when));
    printf("  %s  %s  ", when, e->actor);
    json_t *b = json_loads(e->body, 0, NULL);
    if (b && strcmp(e->kind, "status") == 0) {
        printf("%s → %s", json_string_value(json_object_get(b, "from")),
               json_string_value(json_object_get(b, "to")));
        json_t *fields = json_object_get(b, "fields");
        for (void *it = json_object_iter(fields); it; it = json_object_iter_next(fields, it))
            printf("  %s=%s", json_object_iter_key(it), json_string_value(json_object_iter_value(it)));
        if (json_object_get(b, "reason"))
            printf("  理由 reason: %s", json_string_value(json_object_get(b, "reason")));
    } else if (b && strcmp(e->kind, "note") == 0) {
        printf("备注 note: %s", json_string_value(json_object_get(b, "text")));
    } else if (b && strcmp(e->kind, "overdue") == 0) {
        printf("超时 overdue: %s%s%s", json_string_value(json_object_get(b, "deadline")),
               json_object_get(b, "escalation") ? " → escalation " : "",
               json_object_get(b, "escalation") ? json_string_value(json_object_get(b, "escalation")) : "");
    } else if (b && strcmp(e->kind, "escalation") == 0) {
        printf("升级 escalation %s step %lld: notified", json_string_value(json_object_get(b, "policy")),
               (long long)json_integer_value(json_object_get(b, "step")));
        json_t *who = json_object_get(b, "notified");
        for (size_t k = 0; k < json_array_size(who); k++)
            printf(" %s", json_string_value(json_array_get(who, k)));
    } else if (b && strcmp(e->kind, "task") == 0) {
        printf("任务 task %s: %s → %s", json_string_value(json_object_get(b, "title")),
               json_string_value(json_object_get(b, "from")), json_string_value(json_object_get(b, "to")));
        if (json_is_string(json_object_get(b, "reason")))
            printf("  理由 reason: %s", json_string_value(json_object_get(b, "reason")));
        if (json_is_string(json_object_get(b, "note")))
            printf("  记录 note: %s", json_string_value(json_object_get(b, "note")));
    } else if (b && strcmp(e->kind, "approval") == 0) {
        printf("审批 approval %s: %s", json_string_value(json_object_get(b, "title")),
               json_string_value(json_object_get(b, "decision")));
        if (json_is_string(json_object_get(b, "reason")))
            printf("  理由 reason: %s", json_string_value(json_object_get(b, "reason")));
    } else if (b && strcmp(e->kind, "acknowledged") == 0) {
        printf("确认 acknowledged");
    } else if (b && strcmp(e->kind, "activation") == 0) {
        printf("启动预案 activation: %s（%s）  理由 reason: %s",
               json_string_value(json_object_get(b, "name")), json_string_value(json_object_get(b, "by")),
               json_string_value(json_object_get(b, "reason")));
    } else if (b && strcmp(e->kind, "upward_report") == 0) {
        bool first = strcmp(json_string_value(json_object_get(b, "round")), "report") == 0;
        printf("%s%s%s", first ? "向上级报告 upward report" : "补报 supplement",
               json_is_string(json_object_get(b, "to")) ? " → " : "",
               json_is_string(json_object_get(b, "to")) ? json_string_value(json_object_get(b, "to")) : "");
        json_t *missing = json_object_get(b, "missing");
        for (size_t k = 0; k < json_array_size(missing); k++)
            printf("%s%s", k ? "、" : "  待补报: ", json_string_value(json_array_get(missing, k)));
    } else if (b && (strcmp(e->kind, "action") == 0 || strcmp(e->kind, "unblocked") == 0)) {
        bool action = strcmp(e->kind, "action") == 0;
        printf("%s %s: %s", action ? "动作 action" : "解封 unblocked",
               json_string_value(json_object_get(b, action ? "title" : "address")),
               json_string_value(json_object_get(b, action ? "result" : "reason")));
    } else if (b && strcmp(e->kind, "reported") == 0) {
        printf("上报 reported: %s %s → %s", json_string_value(json_object_get(b, "type")),
               json_string_value(json_object_get(b, "level")), json_string_value(json_object_get(b, "unit")));
    } else {
        printf("%s %s", e->kind, e->body);
    }
    printf("\n");
    json_decref(b);
    return 0;
}

static int show_text(struct cli *c, const struct store_incident *inc)
{
    const struct plan *p = c->plan;
    const struct plan_type *t = plan_type(p, inc->type);
    const struct plan_level *l = plan_level(p, inc->level);
    const struct plan_unit *u = plan_unit(p, inc->unit);
    const struct gbt_category *cat = NULL;
    const struct gbt_subcategory *sub = plan_gbt(p, inc->gbt_subcategory, &cat);
    char buf[512];
    printf("%s  %s%s\n", inc->number, inc->title, inc->drill ? "  [演练 drill]" : "");
    print_field("状态 status", inc->status);
    snprintf(buf, sizeof(buf), "%s %s", inc->type, t ? t->name : "");
    print_field("类型 type", buf);
    snprintf(buf, sizeof(buf), "%s %s → 国家 %s级 %s (%s)", inc->level, l ? l->name : "",
             incident_national_roman((int)inc->national_level), plan_national_name((int)inc->national_level),
             plan_national_color((int)inc->national_level));
    print_field("级别 level", buf);
    snprintf(buf, sizeof(buf), "%s / %s", cat ? cat->name : inc->gbt_category,
             sub ? sub->name : inc->gbt_subcategory);
    print_field("GB/T 20986", buf);
    snprintf(buf, sizeof(buf), "%s %s", inc->unit, u ? u->name : "");
    print_field("责任单位 unit", buf);
    print_field("上报人 reporter", inc->reporter);
    if (inc->assets && strcmp(inc->assets, "[]") != 0)
        print_field("资产 assets", inc->assets);
    print_field("信息来源 source", inc->source);
    print_field("影响范围 scope", inc->scope);
    print_field("事件性质 nature", inc->nature);
    print_field("发展趋势 trend", inc->trend);
    print_field("措施建议 measures", inc->measures);
    print_field("启动决定 activated_by", inc->activated_by);
    print_field("启动理由 activation", inc->activation_reason);
    print_field("原因 cause", inc->cause);
    print_field("损失 loss", inc->loss);
    print_field("经验教训 lessons", inc->lessons);
    print_field("误报理由 dismissed", inc->dismiss_reason);
    print_time("发生 occurred", inc->occurred_at);
    print_time("发现 detected", inc->detected_at);
    print_time("上报 reported", inc->reported_at);
    print_time("受理 acknowledged", inc->acknowledged_at);
    print_time("研判 assessed", inc->assessed_at);
    print_time("启动预案 activated", inc->activated_at);
    print_time("控制 contained", inc->contained_at);
    print_time("恢复 recovered", inc->recovered_at);
    print_time("结束 closed", inc->closed_at);

    struct store_deadline ds[32];
    size_t nd = 0;
    struct yj_err err = {0};
    if (store_deadline_list(c->store, inc->id, ds, YJ_ARRAY_LEN(ds), &nd, &err) < 0)
        return fail_err(&err);
    printf("时限 Deadlines\n");
    int64_t now = yj_ctx_now(&c->ctx);
    for (size_t i = 0; i < nd; i++) {
        char due[32], met[32] = "", left[32] = "";
        yj_time_local(ds[i].due_at, due, sizeof(due));
        if (ds[i].met_at) {
            yj_time_local(ds[i].met_at, met, sizeof(met));
            printf("  %-16s due %s  met %s%s\n", ds[i].kind, due, met,
                   ds[i].met_at > ds[i].due_at ? "  (late 超时)" : "");
        } else if (now > ds[i].due_at) {
            yj_duration_format((now - ds[i].due_at) / 1000 * 1000, left, sizeof(left));
            printf("  %-16s due %s  OVERDUE 已超时 %s\n", ds[i].kind, due, left);
        } else {
            yj_duration_format((ds[i].due_at - now) / 1000 * 1000, left, sizeof(left));
            printf("  %-16s due %s  open, %s left\n", ds[i].kind, due, left);
        }
    }
    printf("时间线 Timeline\n");
    if (store_timeline_list(c->store, inc->id, print_timeline_entry, NULL, &err) < 0)
        return fail_err(&err);
    return 0;
}

static int show(struct cli *c, const struct store_incident *inc, bool timeline)
{
    if (c->json) {
        struct yj_err err = {0};
        json_t *j =
            incident_json(&c->ctx, inc, timeline ? INCIDENT_FULL_TIMELINE : INCIDENT_FULL, NULL, &err);
        if (!j)
            return fail_err(&err);
        cli_print_json(j);
        return 0;
    }
    return show_text(c, inc);
}

static int parse_time(const char *opt, const char *v, int64_t *out)
{
    struct yj_err err = {0};
    if (yj_time_parse(v, out, &err) < 0)
        return cli_usage("%s: %s", opt, err.msg);
    return 0;
}

static int report(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, NULL, 't'},
                                         {"title", required_argument, NULL, 'T'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"asset", required_argument, NULL, 'a'},
                                         {"source", required_argument, NULL, 's'},
                                         {"scope", required_argument, NULL, 'S'},
                                         {"nature", required_argument, NULL, 'n'},
                                         {"trend", required_argument, NULL, 'r'},
                                         {"measures", required_argument, NULL, 'm'},
                                         {"drill", no_argument, NULL, 'd'},
                                         {"occurred", required_argument, NULL, 'o'},
                                         {"detected", required_argument, NULL, 'D'},
                                         {NULL, 0, NULL, 0}};
    struct incident_report_req req = {0};
    const char *assets[INCIDENT_ASSETS_MAX + 1];
    int ch, rc;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 't':
            req.type = optarg;
            break;
        case 'T':
            req.title = optarg;
            break;
        case 'l':
            req.level = optarg;
            break;
        case 'a':
            if (req.n_assets > INCIDENT_ASSETS_MAX)
                return cli_usage("too many --asset (at most %d)", INCIDENT_ASSETS_MAX);
            assets[req.n_assets++] = optarg;
            break;
        case 's':
            req.source = optarg;
            break;
        case 'S':
            req.scope = optarg;
            break;
        case 'n':
            req.nature = optarg;
            break;
        case 'r':
            req.trend = optarg;
            break;
        case 'm':
            req.measures = optarg;
            break;
        case 'd':
            req.drill = true;
            break;
        case 'o':
            if ((rc = parse_time("--occurred", optarg, &req.occurred_at)) != 0)
                return rc;
            break;
        case 'D':
            if ((rc = parse_time("--detected", optarg, &req.detected_at)) != 0)
                return rc;
            break;
        case ':':
            return cli_usage("%s needs a value", argv[optind - 1]);
        default:
            return cli_usage("unknown option %s for incident report", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("unexpected argument \"%s\" (quote the title: --title \"...\")", argv[optind]);
    if (!req.type)
        return cli_usage("--type is required (see 'yingji plan show' for the types)");
    if (!req.title)
        return cli_usage("--title is required");
    req.assets = assets;
    if ((rc = cli_open(c, true)) != 0)
        return rc;
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_report(&c->ctx, &req, &inc, &err) < 0)
        return fail_err(&err);
    if (c->json)
        rc = show(c, &inc, true);
    else
        printf("%s\n", inc.number);
    store_incident_release(&inc);
    return rc;
}

struct list_state {
    struct cli *c;
    json_t *items;
    int rows;
    struct yj_err err;
    int failed;
};

static int list_row(const struct store_incident *inc, void *ud)
{
    struct list_state *s = ud;
    if (s->items) {
        json_t *j = incident_json(&s->c->ctx, inc, INCIDENT_SUMMARY, NULL, &s->err);
        if (!j) {
            s->failed = 1;
            return 1;
        }
        json_array_append_new(s->items, j);
    } else {
        char when[32];
        yj_time_local(inc->reported_at, when, sizeof(when));
        printf("%-14s %-10s %-4s %-14s %-16s %s  %s%s\n", inc->number, inc->status,
               incident_national_roman((int)inc->national_level), inc->level, inc->unit, when, inc->title,
               inc->drill ? " [演练]" : "");
    }
    s->rows++;
    return 0;
}

static int list(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"type", required_argument, NULL, 't'},
                                         {"drill", no_argument, NULL, 'd'},
                                         {"real", no_argument, NULL, 'r'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    struct store_incident_filter f = {.drill = -1};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (!incident_status_valid(optarg))
                return cli_usage("--status: unknown status \"%s\"", optarg);
            f.status = optarg;
            break;
        case 'u':
            f.unit = optarg;
            break;
        case 't':
            f.type = optarg;
            break;
        case 'd':
            f.drill = 1;
            break;
        case 'r':
            f.drill = 0;
            break;
        case 'l': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 100000)
                return cli_usage("--limit: expected a number from 1 to 100000");
            f.limit = (int)n;
            break;
        }
        case ':':
            return cli_usage("%s needs a value", argv[optind - 1]);
        default:
            return cli_usage("unknown option %s for incident list", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage("unexpected argument \"%s\"", argv[optind]);
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    if (f.unit && !plan_unit(c->plan, f.unit))
        return cli_usage("--unit: the plan has no unit \"%s\"", f.unit);
    struct list_state s = {.c = c, .items = c->json ? json_array() : NULL};
    if (!c->json)
        printf("%-14s %-10s %-4s %-14s %-16s %-19s  %s\n", "NUMBER", "STATUS", "NAT", "LEVEL", "UNIT",
               "REPORTED", "TITLE");
    if (store_incident_list(c->store, &f, list_row, &s, &s.err) < 0 || s.failed) {
        json_decref(s.items);
        return fail_err(&s.err);
    }
    if (c->json)
        cli_print_json(json_pack("{s:o, s:n}", "items", s.items, "next"));
    return 0;
}

static int show_cmd(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage("usage: yingji incident show ID");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_find(&c->ctx, argv[1], &inc, &err) < 0)
        return fail_err(&err);
    rc = show(c, &inc, true);
    store_incident_release(&inc);
    return rc;
}

static int move(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
                                         {"field", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    enum { MAX_FIELDS = 32 };
    struct incident_field fields[MAX_FIELDS];
    char *keys[MAX_FIELDS];
    size_t n = 0;
    const char *reason = NULL;
    int ch, rc = 0;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r') {
            reason = optarg;
        } else if (ch == 'f') {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                rc = cli_usage("--field expects KEY=VALUE, got \"%s\"", optarg);
                goto out;
            }
            if (n == MAX_FIELDS) {
                rc = cli_usage("too many --field (at most %d)", MAX_FIELDS);
                goto out;
            }
            keys[n] = xstrndup(optarg, (size_t)(eq - optarg));
            fields[n].key = keys[n];
            fields[n].value = eq + 1;
            n++;
        } else if (ch == ':') {
            rc = cli_usage("%s needs a value", argv[optind - 1]);
            goto out;
        } else {
            rc = cli_usage("unknown option %s for incident move", argv[optind - 1]);
            goto out;
        }
    }
    if (argc - optind != 2) {
        rc = cli_usage("usage: yingji incident move ID STATUS [--reason TEXT] [--field KEY=VALUE]...");
        goto out;
    }
    if ((rc = cli_open(c, true)) != 0)
        goto out;
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_move(&c->ctx, argv[optind], argv[optind + 1], reason, fields, n, 0, &inc, &err) < 0) {
        /* The engine says what is missing; how to give it on the command line is said here. */
        if (err.code == YJ_EINVAL && strstr(err.msg, ": missing "))
            strncat(err.msg, " (give them with --field KEY=VALUE)", sizeof(err.msg) - strlen(err.msg) - 1);
        else if (err.code == YJ_EINVAL && strcmp(err.field, "reason") == 0)
            strncat(err.msg, " (--reason)", sizeof(err.msg) - strlen(err.msg) - 1);
        rc = fail_err(&err);
        goto out;
    }
    if (c->json)
        rc = show(c, &inc, true);
    else
        printf("%s: %s\n", inc.number, inc.status);
    store_incident_release(&inc);
out:
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    return rc;
}

static int note(struct cli *c, int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (argc - first != 2)
        return cli_usage("usage: yingji incident note ID TEXT");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    if (incident_note(&c->ctx, argv[first], argv[first + 1], &err) < 0)
        return fail_err(&err);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:b}", "incident", argv[first], "noted", 1));
    else
        printf("noted\n");
    return 0;
}

static int tasks(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage("usage: yingji incident tasks ID");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct store_incident inc;
    struct yj_err err = {0};
    if (incident_find(&c->ctx, argv[1], &inc, &err) < 0)
        return fail_err(&err);
    struct store_task ts[64];
    size_t n = 0;
    if (store_task_list(c->store, inc.id, ts, YJ_ARRAY_LEN(ts), &n, &err) < 0) {
        store_incident_release(&inc);
        return fail_err(&err);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!c->json) {
            char due[32] = "";
            if (ts[i].due_at)
                yj_time_local(ts[i].due_at, due, sizeof(due));
            const char *gate = strcmp(ts[i].approval_status, "pending") == 0    ? "  [awaiting approval]"
                               : strcmp(ts[i].approval_status, "approved") == 0 ? "  [approved]"
                               : strcmp(ts[i].approval_status, "rejected") == 0 ? "  [rejected]"
                                                                                : "";
            printf("%4lld  %-8s %-8s %s%s%s%s%s\n", (long long)ts[i].id, ts[i].status, ts[i].phase,
                   ts[i].title, due[0] ? "  (due " : "", due, due[0] ? ")" : "", gate);
            if (ts[i].reason)
                printf("            reason: %s\n", ts[i].reason);
            if (ts[i].note)
                printf("            note: %s\n", ts[i].note);
        }
        json_array_append_new(items, task_json(&ts[i]));
        store_task_release(&ts[i]);
    }
    if (c->json)
        cli_print_json(json_pack("{s:s, s:o}", "incident", inc.number, "items", items));
    else
        json_decref(items);
    if (!c->json && n == 0)
        printf("%s has no tasks yet (its type's playbook has none for the phases it went through)\n",
               inc.number);
    store_incident_release(&inc);
    return 0;
}

static int task_number(const char *s, int64_t *out)
{
    char *end = NULL;
    long long id = strtoll(s, &end, 10);
    if (!end || *end || id <= 0)
        return cli_usage("TASK is a task number (see yingji incident tasks ID)");
    *out = id;
    return 0;
}

/* Prints a changed task (JSON, or its number and what it is now) and releases it. */
static int print_task(struct cli *c, struct store_task *t, const char *state)
{
    if (c->json)
        cli_print_json(task_json(t));
    else
        printf("task %lld: %s\n", (long long)t->id, state);
    store_task_release(t);
    return 0;
}

static int task(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'}, {"note", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    const char *reason = NULL, *note = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r')
            reason = optarg;
        else if (ch == 'n')
            note = optarg;
        else
            return cli_usage("incident task: unknown or incomplete option %s", argv[optind - 1]);
    }
    if (argc - optind != 3)
        return cli_usage(
            "usage: yingji incident task ID TASK todo|doing|done|skipped [--reason TEXT] [--note TEXT]");
    int64_t id = 0;
    int rc = task_number(argv[optind + 1], &id);
    if (rc == 0)
        rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    struct store_task t;
    if (incident_task_update(&c->ctx, argv[optind], id, argv[optind + 2], reason, note, &t, &err) < 0)
        return fail_err(&err);
    return print_task(c, &t, t.status);
}

static int approve(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reject", no_argument, NULL, 'x'}, {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    bool reject = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'x')
            reject = true;
        else if (ch == 'r')
            reason = optarg;
        else
            return cli_usage("incident approve: unknown or incomplete option %s", argv[optind - 1]);
    }
    if (argc - optind != 2)
        return cli_usage("usage: yingji incident approve ID TASK [--reject --reason TEXT]");
    int64_t id = 0;
    int rc = task_number(argv[optind + 1], &id);
    if (rc == 0)
        rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    struct store_task t;
    if (incident_task_approve(&c->ctx, argv[optind], id, !reject, reason, &t, &err) < 0)
        return fail_err(&err);
    return print_task(c, &t, t.approval_status);
}

/* 接报确认: someone has the incident in hand; stops the escalation of the acknowledge deadline. */
static int ack(struct cli *c, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage("usage: yingji incident ack ID");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    struct store_incident inc;
    if (incident_ack(&c->ctx, argv[1], &inc, &err) < 0)
        return fail_err(&err);
    char when[32];
    yj_time_local(inc.acknowledged_at, when, sizeof(when));
    if (c->json)
        cli_print_json(json_pack("{s:s, s:o}", "incident", inc.number, "acknowledged_at",
                                 yj_json_time(inc.acknowledged_at)));
    else
        printf("%s acknowledged at %s\n", inc.number, when);
    store_incident_release(&inc);
    return 0;
}

/* 启动预案: the leading group's decision, as the duty officer or a leader records it. */
static int activate(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'}, {"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    const char *by = NULL, *reason = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'b')
            by = optarg;
        else if (ch == 'r')
            reason = optarg;
        else
            return cli_usage("incident activate: unknown or incomplete option %s", argv[optind - 1]);
    }
    if (argc - optind != 1 || !by || !reason)
        return cli_usage("usage: yingji incident activate ID --by PERSON --reason TEXT");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    struct store_incident inc;
    if (incident_activate(&c->ctx, argv[optind], by, reason, &inc, &err) < 0)
        return fail_err(&err);
    char when[32];
    yj_time_local(inc.activated_at, when, sizeof(when));
    if (c->json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:o}", "incident", inc.number, "activated_by",
                                 inc.activated_by, "activation_reason", inc.activation_reason, "activated_at",
                                 yj_json_time(inc.activated_at)));
    else
        printf("%s: plan activated (启动预案) by %s at %s\n", inc.number, inc.activated_by, when);
    store_incident_release(&inc);
    return 0;
}

/* The leading group excuses an owed report, with the reason (an incident cannot close owing one). */
static int waive(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (ch == 'r')
            reason = optarg;
        else
            return cli_usage("incident waive: unknown or incomplete option %s", argv[optind - 1]);
    }
    if (argc - optind != 2 || !reason)
        return cli_usage(
            "usage: yingji incident waive ID upward_report|supplement|summary_report --reason TEXT");
    int rc = cli_open(c, true);
    if (rc)
        return rc;
    struct yj_err err = {0};
    if (incident_waive(&c->ctx, argv[optind], argv[optind + 1], reason, &err) < 0)
        return fail_err(&err);
    if (c->json)
        cli_print_json(json_pack("{s:s, s:s, s:s}", "incident", argv[optind], "waived", argv[optind + 1],
                                 "reason", reason));
    else
        printf("%s: %s waived (%s)\n", argv[optind], argv[optind + 1], reason);
    return 0;
}

int cli_incident(struct cli *c, int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(incident_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "report") == 0)
        return report(c, argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return list(c, argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return show_cmd(c, argc - 1, argv + 1);
    if (strcmp(sub, "move") == 0)
        return move(c, argc - 1, argv + 1);
    if (strcmp(sub, "note") == 0)
        return note(c, argc - 1, argv + 1);
    if (strcmp(sub, "ack") == 0)
        return ack(c, argc - 1, argv + 1);
    if (strcmp(sub, "tasks") == 0)
        return tasks(c, argc - 1, argv + 1);
    if (strcmp(sub, "task") == 0)
        return task(c, argc - 1, argv + 1);
    if (strcmp(sub, "approve") == 0)
        return approve(c, argc - 1, argv + 1);
    if (strcmp(sub, "activate") == 0)
        return activate(c, argc - 1, argv + 1);
    if (strcmp(sub, "waive") == 0)
        return waive(c, argc - 1, argv + 1);
    return cli_usage(
        "unknown incident command \"%s\" (report, list, show, move, note, ack, activate, tasks, task, "
        "approve, waive)",
        sub);
}
