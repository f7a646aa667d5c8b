/* Unit tests for src/engine/clock.c against a real SQLite store and the built-in university plan,
 * with a test clock: deadlines become overdue exactly once, escalation steps run on time and
 * repeat, notifications go to whoever the roster names at send time, acknowledging or meeting
 * the deadline stops the escalation, and a tick long after (a restart) catches up at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/embed.h"
#include "base/timeutil.h"
#include "engine/clock.h"
#include "engine/ctx.h"
#include "engine/incident.h"
#include "plan/plan.h"
#include "store/store.h"
#include "test_util.h"

#include <time.h>

/* 2026-11-22T09:00:00+08:00, a Sunday; day 325 of the roster: publicity_staff is on duty. */
#define T0 INT64_C(1795309200000)

struct fixture {
    char *dir;
    struct plan *plan;
    struct store *st;
    struct yj_ctx ctx;
    int64_t now;
};

static int64_t test_clock(void *ud)
{
    return ((struct fixture *)ud)->now;
}

/* The university plan; without its new-incident policy when `quiet`, so that a test watches the
 * deadlines alone. */
static int load_plan(struct plan **out, bool quiet, struct yj_err *err)
{
    const struct yj_embed *e = yj_embed_find("plans/university.yaml");
    char *text = xstrndup((const char *)e->data, yj_embed_len(e));
    if (quiet) {
        char *from = strstr(text, "  - id: new_incident"), *to = strstr(text, "  - id: unacknowledged");
        memmove(from, to, strlen(to) + 1);
    }
    int rc = plan_load_buffer("university.yaml", text, strlen(text), out, NULL, err);
    free(text);
    return rc;
}

static int setup_with(void **state, bool quiet)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct yj_err err;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    f->dir = test_tmpdir();
    if (load_plan(&f->plan, quiet, &err) < 0 || test_store_open(f->dir, &f->st, &err) < 0 ||
        store_migrate(f->st, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->now = T0;
    f->ctx = (struct yj_ctx){.plan = f->plan,
                             .store = f->st,
                             .actor = "test",
                             .now = test_clock,
                             .clock_ud = f,
                             .public_url = "https://yj.example.edu.cn/"};
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, true);
}

static int setup_full(void **state)
{
    return setup_with(state, false);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->st);
    plan_free(f->plan);
    test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

struct collected {
    char recipients[32][64];
    char subjects[32][256];
    char subject[256];
    char body[2048];
    size_t n;
};

static int collect(const struct store_notification *n, void *ud)
{
    struct collected *c = ud;
    if (c->n < 32) {
        snprintf(c->recipients[c->n], sizeof(c->recipients[0]), "%s", n->recipient);
        snprintf(c->subjects[c->n], sizeof(c->subjects[0]), "%s", n->subject);
    }
    snprintf(c->subject, sizeof(c->subject), "%s", n->subject);
    snprintf(c->body, sizeof(c->body), "%s", n->body);
    c->n++;
    return 0;
}

static struct collected notes(struct fixture *f, int64_t id)
{
    struct collected c = {0};
    struct yj_err err;
    assert_int_equal(store_notification_list(f->st, id, collect, &c, &err), 0);
    return c;
}

static struct clock_result tick(struct fixture *f, int64_t at)
{
    f->now = at;
    struct clock_result r;
    struct yj_err err = {0};
    if (clock_tick(&f->ctx, &r, &err) < 0)
        fail_msg("%s", err.msg);
    return r;
}

/* Marks every task of the incident done: these tests watch the deadlines alone. */
static void tasks_done(struct fixture *f, const struct store_incident *inc)
{
    struct store_task ts[16];
    size_t n = 0;
    struct yj_err err = {0};
    assert_int_equal(store_task_list(f->st, inc->id, ts, 16, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ts[i].approval_status, "pending") == 0 &&
            incident_task_approve(&f->ctx, inc->number, ts[i].id, true, NULL, NULL, &err) < 0)
            fail_msg("%s", err.msg);
        if (incident_task_update(&f->ctx, inc->number, ts[i].id, "done", NULL, NULL, NULL, &err) < 0)
            fail_msg("%s", err.msg);
        store_task_release(&ts[i]);
    }
}

static struct store_incident report_with_tasks(struct fixture *f)
{
    struct store_incident inc;
    struct incident_report_req req = {.type = "website_tamper", .title = "主页被篡改", .source = "值班巡检发现"};
    struct yj_err err = {0};
    if (incident_report(&f->ctx, &req, &inc, &err) < 0)
        fail_msg("%s", err.msg);
    return inc;
}

static struct store_incident report(struct fixture *f)
{
    struct store_incident inc = report_with_tasks(f);
    tasks_done(f, &inc);
    return inc;
}

static void test_acknowledge_escalation(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report(f);
    /* Acknowledge is due after 5 minutes: nothing before. */
    struct clock_result r = tick(f, T0 + 4 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue + r.steps, 0);
    /* At 5 minutes: overdue, and the first step notifies whoever is on duty. */
    r = tick(f, T0 + 5 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue, 1);
    assert_int_equal(r.steps, 1);
    struct collected c = notes(f, inc.id);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.recipients[0], "person:publicity_staff");
    assert_non_null(strstr(c.subject, "YJ-2026-0001 接报确认已超时"));
    assert_non_null(strstr(c.body, "责任单位：信息化建设与管理办公室"));
    assert_non_null(strstr(c.body, "来源：值班巡检发现"));
    assert_non_null(strstr(c.body, "https://yj.example.edu.cn/incidents/YJ-2026-0001"));
    /* The same moment again: nothing twice. */
    r = tick(f, T0 + 5 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue + r.steps, 0);
    assert_int_equal(notes(f, inc.id).n, 1);
    /* Repeated every 5 minutes, twice. */
    r = tick(f, T0 + 10 * YJ_MS_PER_MIN);
    assert_int_equal(r.steps, 1);
    assert_int_equal(notes(f, inc.id).n, 2);
    /* Acknowledged: the escalation stops; later ticks send nothing more about it. */
    f->now = T0 + 12 * YJ_MS_PER_MIN;
    struct yj_err err;
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0);
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0); /* again: no-op */
    r = tick(f, T0 + 30 * YJ_MS_PER_MIN);
    assert_int_equal(r.steps, 0);
    assert_int_equal(notes(f, inc.id).n, 2);
    struct store_escalation es[4];
    size_t n = 0;
    assert_int_equal(store_escalation_list(f->st, inc.id, es, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(es[0].stop_reason, "acknowledged");
    store_incident_release(&inc);
}

static void test_assessment_escalation_and_catch_up(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report(f);
    struct yj_err err;
    f->now = T0 + YJ_MS_PER_MIN;
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0);
    assert_int_equal(incident_activate(&f->ctx, inc.number, "vp_it", "官网被篡改，影响学校声誉", NULL, &err), 0);
    /* Nothing runs for 70 minutes (the server was down); the first tick catches up: the
     * assessment (due at 1 h) is overdue, its policy notifies the unit head and whoever is on
     * duty. */
    struct clock_result r = tick(f, T0 + 70 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue, 1);
    struct collected c = notes(f, inc.id);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.recipients[0], "person:it_head");
    assert_string_equal(c.recipients[1], "person:publicity_staff");
    assert_non_null(strstr(c.body, "风险评估，应于 2026-11-22 10:00:00 前完成（已超时 10 分钟）"));
    /* 15 minutes later the leading group's leader is told. */
    tick(f, T0 + 85 * YJ_MS_PER_MIN);
    c = notes(f, inc.id);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.recipients[2], "person:vp_it");
    /* The assessment is done (the incident moves on to responding): the next step finds the
     * deadline met and stops. */
    struct incident_field fields[] = {{"source", "巡检"},   {"scope", "主页"},     {"nature", "篡改"},
                                      {"trend", "已控制"},  {"measures", "下线"},  {"level", "important"}};
    f->now = T0 + 90 * YJ_MS_PER_MIN;
    assert_int_equal(incident_move(&f->ctx, inc.number, "assessing", NULL, NULL, 0, 0, NULL, &err), 0);
    tasks_done(f, &inc); /* the assessing phase's task */
    /* The plan was activated by decision already: the move needs no activation fields. */
    if (incident_move(&f->ctx, inc.number, "responding", NULL, fields, 6, 0, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    r = tick(f, T0 + 100 * YJ_MS_PER_MIN);
    assert_int_equal(r.stopped, 1);
    assert_int_equal(notes(f, inc.id).n, 3);
    /* Upward reporting is due at 4 h (较大, an "other" operator): its policy goes to the leading
     * group and the unit head, once. */
    r = tick(f, T0 + 4 * YJ_MS_PER_HOUR);
    assert_int_equal(r.overdue, 1);
    c = notes(f, inc.id);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.recipients[3], "person:vp_it");
    assert_string_equal(c.recipients[4], "person:it_head");
    store_incident_release(&inc);
}

/* 启动预案 as a decision of its own: due with the risk assessment (1 h) for a level that needs
 * it; overdue, the leading group is told until someone decides; the decision is recorded once,
 * by a leader of the leading group, with its reason. */
static void test_activation_decision(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report(f);
    struct yj_err err;
    f->now = T0 + YJ_MS_PER_MIN;
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0);
    struct clock_result r = tick(f, T0 + 60 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue, 2); /* the assessment and the activation decision */
    struct collected c = notes(f, inc.id);
    bool told_vp = false;
    for (size_t i = 0; i < c.n; i++)
        told_vp |= strcmp(c.recipients[i], "person:vp_it") == 0 && strstr(c.subjects[i], "启动预案决策");
    assert_true(told_vp);
    /* Someone outside the leading group cannot decide; a reason is required. */
    f->now = T0 + 70 * YJ_MS_PER_MIN;
    assert_int_equal(incident_activate(&f->ctx, inc.number, "it_staff", "理由", NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "not a leader or deputy of the leading group"));
    assert_int_equal(incident_activate(&f->ctx, inc.number, "vp_it", " ", NULL, &err), YJ_EINVAL);
    struct store_incident now;
    assert_int_equal(incident_activate(&f->ctx, inc.number, "vp_it", "首页被篡改，立即启动预案", &now, &err), 0);
    assert_int_equal(now.activated_at, T0 + 70 * YJ_MS_PER_MIN);
    assert_string_equal(now.activated_by, "vp_it");
    store_incident_release(&now);
    assert_int_equal(incident_activate(&f->ctx, inc.number, "vp_it", "again", NULL, &err), YJ_ESTATE);
    /* Its escalation stops; the assessment's goes on. */
    size_t before = notes(f, inc.id).n;
    r = tick(f, T0 + 76 * YJ_MS_PER_MIN);
    struct store_escalation es[8];
    size_t n = 0;
    assert_int_equal(store_escalation_list(f->st, inc.id, es, 8, &n, &err), 0);
    bool stopped = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(es[i].deadline, "activation") == 0)
            stopped = es[i].stopped_at != 0 && strcmp(es[i].stop_reason, "activated") == 0;
    assert_true(stopped);
    c = notes(f, inc.id);
    assert_true(c.n > before); /* the assessment's next step */
    for (size_t i = before; i < c.n; i++)
        assert_null(strstr(c.subjects[i], "启动预案决策"));
    store_incident_release(&inc);
}

static void test_closed_incidents_are_left_alone(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report(f);
    struct yj_err err;
    f->now = T0 + YJ_MS_PER_MIN;
    assert_int_equal(incident_move(&f->ctx, inc.number, "dismissed", "误报：演示页面", NULL, 0, 0, NULL, &err), 0);
    struct clock_result r = tick(f, T0 + 10 * YJ_MS_PER_HOUR);
    assert_int_equal(r.overdue + r.steps + r.notifications, 0);
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), YJ_ESTATE);
    store_incident_release(&inc);
}

/* Playbook steps become tasks when the incident enters their phase; a task past due escalates
 * (task_overdue: the unit head and whoever is on duty) until it is done or skipped with a reason. */
static void test_tasks_escalate(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report_with_tasks(f);
    struct yj_err err = {0};
    f->now = T0 + YJ_MS_PER_MIN;
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0);
    struct store_task ts[16];
    size_t n = 0;
    assert_int_equal(store_task_list(f->st, inc.id, ts, 16, &n, &err), 0);
    assert_int_equal(n, 2); /* the two steps of phase "reported" */
    assert_string_equal(ts[0].title, "保存被篡改页面、访问日志和服务器日志");
    assert_true(ts[0].due_at == T0 + 10 * YJ_MS_PER_MIN);
    assert_true(ts[1].approval);
    assert_string_equal(ts[1].action, "maintenance_page");
    int64_t first = ts[0].id, second = ts[1].id;
    for (size_t i = 0; i < n; i++)
        store_task_release(&ts[i]);
    /* The first is done in time; the second is not. */
    f->now = T0 + 5 * YJ_MS_PER_MIN;
    assert_int_equal(incident_task_update(&f->ctx, inc.number, first, "done", NULL, "日志已保存至取证盘", NULL, &err), 0);
    assert_int_equal(incident_task_update(&f->ctx, inc.number, second, "skipped", NULL, NULL, NULL, &err), YJ_EINVAL);
    assert_string_equal(err.field, "reason");
    assert_int_equal(incident_task_update(&f->ctx, inc.number, second, "finished", NULL, NULL, NULL, &err), YJ_EINVAL);
    struct clock_result r = tick(f, T0 + 16 * YJ_MS_PER_MIN);
    assert_int_equal(r.overdue, 1);
    struct collected c = notes(f, inc.id);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.recipients[0], "person:it_head");
    assert_non_null(strstr(c.subject, "处置任务「将站点切换至维护页面」已超时"));
    /* Skipped with a reason: the escalation stops at its next step. */
    f->now = T0 + 20 * YJ_MS_PER_MIN;
    assert_int_equal(incident_task_update(&f->ctx, inc.number, second, "skipped", "站点已下线，无需切换", NULL, NULL, &err), 0);
    r = tick(f, T0 + 50 * YJ_MS_PER_MIN);
    assert_int_equal(r.stopped, 1);
    assert_int_equal(notes(f, inc.id).n, 2);
    /* Entering assessing adds that phase's task. */
    f->now = T0 + 51 * YJ_MS_PER_MIN;
    assert_int_equal(incident_move(&f->ctx, inc.number, "assessing", NULL, NULL, 0, 0, NULL, &err), 0);
    assert_int_equal(store_task_list(f->st, inc.id, ts, 16, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ts[2].phase, "assessing");
    for (size_t i = 0; i < n; i++)
        store_task_release(&ts[i]);
    store_incident_release(&inc);
}

/* A step marked approval: true cannot be started or done before a decision; rejecting needs a
 * reason; a decision is made once. */
static void test_task_approval(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report_with_tasks(f);
    struct store_task ts[16];
    size_t n = 0;
    struct yj_err err = {0};
    assert_int_equal(store_task_list(f->st, inc.id, ts, 16, &n, &err), 0);
    int64_t gated = ts[1].id, plain = ts[0].id;
    assert_string_equal(ts[1].approval_status, "pending");
    assert_string_equal(ts[0].approval_status, "");
    for (size_t i = 0; i < n; i++)
        store_task_release(&ts[i]);
    assert_int_equal(incident_task_update(&f->ctx, inc.number, gated, "done", NULL, NULL, NULL, &err), YJ_ESTATE);
    assert_non_null(strstr(err.msg, "needs approval first"));
    assert_int_equal(incident_task_approve(&f->ctx, inc.number, gated, false, NULL, NULL, &err), YJ_EINVAL);
    assert_int_equal(incident_task_approve(&f->ctx, inc.number, plain, true, NULL, NULL, &err), YJ_ESTATE);
    f->ctx.actor = "user:vp_it";
    struct store_task t;
    assert_int_equal(incident_task_approve(&f->ctx, inc.number, gated, true, "同意切换维护页", &t, &err), 0);
    assert_string_equal(t.approval_status, "approved");
    assert_string_equal(t.approved_by, "user:vp_it");
    store_task_release(&t);
    assert_int_equal(incident_task_approve(&f->ctx, inc.number, gated, false, "改主意", NULL, &err), YJ_ESTATE);
    assert_int_equal(incident_task_update(&f->ctx, inc.number, gated, "done", NULL, "已切换", NULL, &err), 0);
    store_incident_release(&inc);
}

/* 秒级响应: a new incident is told at once to whoever is on duty and the owning unit's head, and
 * told again by the unacknowledged policy until someone acknowledges it. */
static void test_new_incident_notified_at_once(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc = report(f);
    struct clock_result r = tick(f, T0);
    assert_int_equal(r.steps, 1);
    struct collected c = notes(f, inc.id);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.recipients[0], "person:publicity_staff");
    assert_string_equal(c.recipients[1], "person:it_head");
    assert_non_null(strstr(c.subject, "【应急】新事件 YJ-2026-0001：主页被篡改（重要情况）"));
    assert_null(strstr(c.body, "逾期事项"));
    struct yj_err err;
    f->now = T0 + YJ_MS_PER_MIN;
    assert_int_equal(incident_ack(&f->ctx, inc.number, NULL, &err), 0);
    struct store_escalation es[4];
    size_t n = 0;
    assert_int_equal(store_escalation_list(f->st, inc.id, es, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(es[0].deadline, "new");
    assert_true(es[0].stopped_at != 0 || es[0].next_at == 0);
    store_incident_release(&inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acknowledge_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assessment_escalation_and_catch_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activation_decision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_incidents_are_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks_escalate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_approval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_incident_notified_at_once, setup_full, teardown),
    };
    int failed = 0;
    do
        failed += _cmocka_run_group_tests(test_engine(), tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    while (test_engines_next());
    return failed;
}
