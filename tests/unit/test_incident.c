/* Unit tests for src/engine/incident.c against a real SQLite store and the
 * built-in university plan, with an injected clock so deadlines are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/timeutil.h"
#include "engine/audit.h"
#include "engine/ctx.h"
#include "engine/incident.h"
#include "engine/incident_json.h"
#include "plan/plan.h"
#include "store/store.h"
#include "test_util.h"

#include <time.h>

/* 2026-11-22T01:00:00Z */
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

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct yj_err err;
    f->dir = test_tmpdir();
    if (plan_load("builtin:university", &f->plan, NULL, &err) < 0 || test_store_open(f->dir, &f->st, &err) < 0 ||
        store_migrate(f->st, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    setenv("TZ", "Asia/Shanghai", 1);
    tzset(); /* plan_load may have read the zone already (mktime) */
    f->now = T0;
    f->ctx = (struct yj_ctx){.plan = f->plan, .store = f->st, .actor = "test", .now = test_clock, .clock_ud = f};
    *state = f;
    return 0;
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

static int64_t due(struct fixture *f, int64_t id, const char *kind, int64_t *met)
{
    struct store_deadline ds[16];
    size_t n = 0;
    struct yj_err err;
    assert_int_equal(store_deadline_list(f->st, id, ds, 16, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ds[i].kind, kind) == 0) {
            if (met)
                *met = ds[i].met_at;
            return ds[i].due_at;
        }
    return -1;
}

static int64_t count(struct fixture *f, const char *table)
{
    return test_count(f->st, table);
}

static void report(struct fixture *f, const char *type, const char *level, const char *asset,
                   struct store_incident *out)
{
    const char *assets[] = {asset};
    struct incident_report_req req = {
        .type = type, .title = "测试事件", .level = level, .assets = assets, .n_assets = asset ? 1 : 0};
    struct yj_err err = {0};
    int rc = incident_report(&f->ctx, &req, out, &err);
    if (rc)
        fail_msg("%s", err.msg);
}

static void test_report_classifies_routes_and_times(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    report(f, "website_tamper", NULL, "main_site", &inc);
    assert_string_equal(inc.number, "YJ-2026-0001");
    assert_string_equal(inc.status, "reported");
    assert_string_equal(inc.level, "important"); /* the type's default */
    assert_true(inc.national_level == 3);
    assert_string_equal(inc.class_id, "infosec");
    assert_string_equal(inc.gbt_category, "attack");
    assert_string_equal(inc.gbt_subcategory, "attack.web_tamper");
    assert_string_equal(inc.unit, "it_office");
    int64_t met = -1;
    /* "At once" (0s): a minute from detection, met by this report. */
    assert_true(due(f, inc.id, "report", &met) == T0 + INCIDENT_REPORT_AT_ONCE_MS && met == T0);
    assert_true(due(f, inc.id, "acknowledge", &met) == T0 + 5 * YJ_MS_PER_MIN && met == 0);
    assert_true(due(f, inc.id, "assessment", &met) == T0 + YJ_MS_PER_HOUR && met == 0);
    /* 较大 at an "other" operator: upward report within 4 h (网络安全事件报告管理办法). */
    assert_true(due(f, inc.id, "upward_report", &met) == T0 + 4 * YJ_MS_PER_HOUR);
    store_incident_release(&inc);

    /* Content on an official medium goes to the unit that owns the asset. */
    report(f, "media_ad", NULL, "main_site", &inc);
    assert_string_equal(inc.unit, "publicity");
    assert_string_equal(inc.number, "YJ-2026-0002");
    assert_true(due(f, inc.id, "upward_report", NULL) == -1); /* 一般 needs no upward report */
    store_incident_release(&inc);
}

static void test_report_refusals(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    struct yj_err err;
    struct incident_report_req req = {.type = "nope", .title = "x"};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown type \"nope\""));
    req = (struct incident_report_req){.type = "media_ad", .title = "x", .level = "important"};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), YJ_EINVAL);
    assert_string_equal(err.msg, "level \"important\" is not a level of type media_ad (allowed: general)");
    req = (struct incident_report_req){.type = "media_ad", .title = "bad \xC3\x28"};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), YJ_EINVAL);
    assert_string_equal(err.msg, "title: not valid UTF-8 text");
    char *long_title = calloc(1, 3 * 201 + 1);
    for (int i = 0; i < 201; i++)
        memcpy(long_title + 3 * i, "应", 3);
    req = (struct incident_report_req){.type = "media_ad", .title = long_title};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "title: too long (201 characters, at most 200)"));
    long_title[600] = 0; /* 200 characters: accepted */
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), 0);
    store_incident_release(&inc);
    free(long_title);
    req = (struct incident_report_req){.type = "media_ad", .title = "two\nlines"};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), YJ_EINVAL);
    /* Refusals wrote nothing but the one accepted report (incident + its audit row). */
    assert_int_equal(count(f, "incidents"), 1);
    assert_int_equal(count(f, "audit_log"), 1);
}

static void move_ok(struct fixture *f, const char *ref, const char *status, const struct incident_field *fields,
                    size_t n, const char *reason)
{
    struct yj_err err = {0};
    if (incident_move(&f->ctx, ref, status, reason, fields, n, 0, NULL, &err) != 0)
        fail_msg("move to %s: %s", status, err.msg);
}

static void test_full_lifecycle(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    struct yj_err err;
    report(f, "intrusion", "general", NULL, &inc);
    int64_t id = inc.id;
    store_incident_release(&inc);

    /* Not allowed: skipping stages. */
    assert_int_equal(incident_move(&f->ctx, "YJ-2026-0001", "closed", NULL, NULL, 0, 0, NULL, &err), YJ_ESTATE);
    assert_string_equal(err.msg, "cannot move YJ-2026-0001 from reported to closed (allowed next: assessing, dismissed)");
    f->now += 3 * YJ_MS_PER_MIN;
    move_ok(f, "1", "assessing", NULL, 0, NULL);
    int64_t met;
    due(f, id, "acknowledge", &met);
    assert_true(met == T0 + 3 * YJ_MS_PER_MIN);

    /* Leaving assessing needs the whole assessment and a confirmed level. */
    struct incident_field partial[] = {{"source", "IDS告警"}, {"scope", "教务系统"}};
    assert_int_equal(incident_move(&f->ctx, "1", "responding", NULL, partial, 2, 0, NULL, &err), YJ_EINVAL);
    assert_string_equal(err.msg, "the risk assessment of YJ-2026-0001 is incomplete: missing nature, trend, measures, "
                                 "level (the confirmed level)");
    /* ... and in Chinese for the console, by the fields' names. */
    assert_string_equal(err.zh, "风险评估尚不完整，还缺：事件性质、发展态势、已采取措施、确认的事件级别");
    /* Raising to 重要情况 also needs the leading group's activation decision. */
    struct incident_field full[] = {{"source", "IDS告警"},        {"scope", "教务系统"}, {"nature", "WebShell"},
                                    {"trend", "可能横向移动"},     {"measures", "隔离主机"}, {"level", "important"}};
    assert_int_equal(incident_move(&f->ctx, "1", "responding", NULL, full, 6, 0, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "requires the leading group's decision"));
    struct incident_field wrong[] = {{"level", "important"}, {"activated_by", "it_staff"}};
    assert_int_equal(incident_move(&f->ctx, "1", "responding", NULL, wrong, 2, 0, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "not a leader or deputy of the leading group"));
    struct incident_field unknown[] = {{"colour", "red"}};
    assert_int_equal(incident_move(&f->ctx, "1", "responding", NULL, unknown, 1, 0, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown field \"colour\""));
    assert_int_equal(count(f, "audit_log"), 2); /* report + assessing; refusals left no trace */

    f->now += 20 * YJ_MS_PER_MIN;
    struct incident_field all[] = {{"source", "IDS告警"},      {"scope", "教务系统"},       {"nature", "WebShell"},
                                   {"trend", "可能横向移动"},   {"measures", "隔离主机"},     {"level", "important"},
                                   {"activated_by", "vp_it"}, {"activation_reason", "核心业务系统"}};
    move_ok(f, "1", "responding", all, 8, NULL);
    assert_int_equal(store_incident_get(f->st, id, NULL, &inc, &err), 0);
    assert_string_equal(inc.level, "important");
    assert_true(inc.national_level == 3);
    assert_true(inc.assessed_at == T0 + 23 * YJ_MS_PER_MIN);
    assert_true(inc.activated_at == inc.assessed_at);
    assert_string_equal(inc.activated_by, "vp_it");
    store_incident_release(&inc);
    due(f, id, "assessment", &met);
    assert_true(met == T0 + 23 * YJ_MS_PER_MIN);
    /* The level became 较大: an upward report is now due, counted from detection. */
    assert_true(due(f, id, "upward_report", &met) == T0 + 4 * YJ_MS_PER_HOUR && met == 0);

    f->now += YJ_MS_PER_HOUR;
    move_ok(f, "1", "recovering", NULL, 0, NULL);
    f->now += YJ_MS_PER_HOUR;
    move_ok(f, "1", "reviewing", NULL, 0, NULL);
    assert_true(due(f, id, "summary_report", &met) == f->now + 30 * YJ_MS_PER_DAY && met == 0);
    assert_int_equal(incident_move(&f->ctx, "1", "closed", NULL, NULL, 0, 0, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "missing cause, loss, lessons"));
    struct incident_field review[] = {{"cause", "弱口令"}, {"loss", "无"}, {"lessons", "口令策略"}};
    f->now += YJ_MS_PER_DAY;
    /* Not while a task is still to do (issue 14) ... */
    assert_int_equal(incident_move(&f->ctx, "1", "closed", NULL, review, 3, 0, NULL, &err), YJ_ESTATE);
    assert_non_null(strstr(err.msg, "cannot close: 9 tasks are neither done nor skipped: 「隔离受害主机"));
    assert_non_null(strstr(err.msg, "…"));
    struct store_task ts[16];
    size_t nt = 0;
    assert_int_equal(store_task_list(f->st, id, ts, 16, &nt, &err), 0);
    assert_int_equal(nt, 9);
    for (size_t i = 0; i < nt; i++) {
        assert_int_equal(incident_task_update(&f->ctx, "1", ts[i].id, i % 2 ? "done" : "skipped", i % 2 ? NULL : "已由厂商处理",
                                              NULL, NULL, &err) == 0 ||
                             strstr(err.msg, "approv"),
                         1);
        store_task_release(&ts[i]);
    }
    /* (an approval-gated step is decided before it can be done or skipped) */
    assert_int_equal(store_task_list(f->st, id, ts, 16, &nt, &err), 0);
    for (size_t i = 0; i < nt; i++) {
        if (strcmp(ts[i].status, "todo") == 0) {
            assert_int_equal(incident_task_approve(&f->ctx, "1", ts[i].id, false, "不封禁：校内地址", NULL, &err), 0);
            assert_int_equal(incident_task_update(&f->ctx, "1", ts[i].id, "skipped", "审批未通过", NULL, NULL, &err), 0);
        }
        store_task_release(&ts[i]);
    }
    /* ... nor while the upward report of a 较大 incident is owed ... */
    assert_int_equal(incident_move(&f->ctx, "1", "closed", NULL, review, 3, 0, NULL, &err), YJ_ESTATE);
    assert_non_null(strstr(err.msg, "the upward report (向上级报告) is owed"));
    /* ... until the leading group waives it, with a reason. */
    assert_int_equal(incident_waive(&f->ctx, "1", "upward_report", "", &err), YJ_EINVAL);
    assert_int_equal(incident_waive(&f->ctx, "1", "assessment", "x", &err), YJ_EINVAL);
    assert_int_equal(incident_waive(&f->ctx, "1", "upward_report", "经核实未造成影响，不需上报", &err), 0);
    assert_int_equal(incident_waive(&f->ctx, "1", "upward_report", "again", &err), YJ_ESTATE);
    move_ok(f, "YJ-2026-0001", "closed", review, 3, NULL);
    due(f, id, "summary_report", &met);
    assert_true(met == f->now);
    /* Nothing keeps ticking: every deadline is settled, and says how. */
    struct store_deadline ds[16];
    size_t nd = 0;
    assert_int_equal(store_deadline_list(f->st, id, ds, 16, &nd, &err), 0);
    for (size_t i = 0; i < nd; i++) {
        assert_true(ds[i].met_at != 0);
        assert_true(ds[i].outcome[0]);
        if (strcmp(ds[i].kind, "upward_report") == 0) {
            assert_string_equal(ds[i].outcome, "waived");
            assert_string_equal(ds[i].waive_reason, "经核实未造成影响，不需上报");
            assert_string_equal(ds[i].waived_by, "test");
        }
    }
    assert_int_equal(incident_move(&f->ctx, "1", "reviewing", NULL, NULL, 0, 0, NULL, &err), YJ_ESTATE);
    assert_non_null(strstr(err.msg, "it is final"));

    assert_int_equal(incident_note(&f->ctx, "1", "补充说明", &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "", &err), YJ_EINVAL);
    /* 7 lifecycle entries, 9 task decisions (one gated step rejected, then skipped), the waiver. */
    assert_int_equal(count(f, "timeline"), 18);

    /* The JSON shape carries what the CLI and API promise. */
    assert_int_equal(store_incident_get(f->st, id, NULL, &inc, &err), 0);
    json_t *j = incident_json(&f->ctx, &inc, INCIDENT_FULL_TIMELINE, NULL, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "national_level")), "III");
    assert_string_equal(json_string_value(json_object_get(j, "gbt_category")), "网络攻击事件");
    assert_string_equal(json_string_value(json_object_get(j, "gbt_subcategory")), "失陷主机事件");
    assert_int_equal(json_array_size(json_object_get(j, "timeline")), 18);
    assert_int_equal(json_array_size(json_object_get(j, "deadlines")), 5);
    json_decref(j);
    store_incident_release(&inc);

    /* Every change left its state in the record: the incident re-derives to it. */
    struct audit_result res;
    struct audit_verify_opts opts = {.states = true};
    assert_int_equal(audit_verify(f->st, &opts, &res, &err), 0);
    if (res.bad_id)
        fail_msg("row %lld: %s", (long long)res.bad_id, res.reason);
    assert_int_equal(res.incidents, 1);
    assert_true(res.bad_id == 0);
    assert_true(res.rows == 18);
}

static void test_dismiss(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    struct yj_err err;
    report(f, "public_opinion", NULL, NULL, &inc);
    assert_string_equal(inc.level, "opinion_ordinary");
    assert_string_equal(inc.unit, "publicity");
    store_incident_release(&inc);
    assert_int_equal(incident_move(&f->ctx, "1", "dismissed", NULL, NULL, 0, 0, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "needs a reason"));
    move_ok(f, "1", "dismissed", NULL, 0, "误报：与学校无关");
    assert_int_equal(store_incident_get(f->st, 1, NULL, &inc, &err), 0);
    assert_string_equal(inc.dismiss_reason, "误报：与学校无关");
    assert_true(inc.closed_at == T0);
    store_incident_release(&inc);
    int64_t met;
    due(f, 1, "assessment", &met);
    assert_true(met == T0);
    assert_int_equal(incident_move(&f->ctx, "1", "assessing", NULL, NULL, 0, 0, NULL, &err), YJ_ESTATE);
    assert_int_equal(incident_move(&f->ctx, "YJ-1999-0001", "assessing", NULL, NULL, 0, 0, NULL, &err), YJ_ENOTFOUND);
    assert_int_equal(incident_move(&f->ctx, "1", "finished", NULL, NULL, 0, 0, NULL, &err), YJ_EINVAL);
}

static void test_assess_versions_and_events(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    struct yj_err err;
    report(f, "intrusion", "general", NULL, &inc);
    assert_true(inc.version == 1);
    store_incident_release(&inc);
    struct incident_field a[] = {{"scope", "教务系统"}, {"level", "important"}};
    assert_int_equal(incident_assess(&f->ctx, "1", a, 2, 1, &inc, &err), 0);
    assert_true(inc.version == 2);
    assert_string_equal(inc.status, "reported"); /* an assessment does not move the incident */
    assert_string_equal(inc.scope, "教务系统");
    assert_true(inc.national_level == 3);
    store_incident_release(&inc);
    /* A writer holding version 1 is refused; so is a field an assessment does not carry. */
    assert_int_equal(incident_assess(&f->ctx, "1", a, 1, 1, NULL, &err), YJ_ECONFLICT);
    assert_non_null(strstr(err.msg, "has changed since version 1 (now 2)"));
    assert_int_equal(incident_move(&f->ctx, "1", "assessing", NULL, NULL, 0, 1, NULL, &err), YJ_ECONFLICT);
    struct incident_field cause[] = {{"cause", "x"}};
    assert_int_equal(incident_assess(&f->ctx, "1", cause, 1, 0, NULL, &err), YJ_EINVAL);
    assert_int_equal(incident_note(&f->ctx, "1", "备注", &err), 0);
    assert_int_equal(incident_move(&f->ctx, "1", "assessing", NULL, NULL, 0, 3, NULL, &err), 0);
    /* Every change left an event for live streams, in order. */
    int64_t last = 0;
    assert_int_equal(store_event_last(f->st, &last, &err), 0);
    assert_true(last == 4); /* created, assessed, noted, moved */
}

static void test_numbering_per_year(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    report(f, "server_fault", NULL, NULL, &inc);
    assert_string_equal(inc.number, "YJ-2026-0001");
    store_incident_release(&inc);
    f->now = INT64_C(1798732800000); /* 2027-01-01T00:00:00+08:00 */
    report(f, "server_fault", NULL, NULL, &inc);
    assert_string_equal(inc.number, "YJ-2027-0001");
    store_incident_release(&inc);
}

/* A flood of signals on one incident: the counter sees every one, the version none (a person's
 * edit made with the ETag read before the flood still applies), and the record of it grows by
 * powers of two and once a second, not per signal. */
static void test_attach_signal_counts_without_conflicts(void **state)
{
    struct fixture *f = *state;
    struct store_incident inc;
    struct incident_report_req req = {.type = "intrusion", .title = "SSH 暴力破解", .fingerprint = "sshd:192.0.2.1",
                                      .signal_count = 5};
    struct yj_err err = {0};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), 0);
    int64_t version = inc.version, audit0 = count(f, "audit_log"), events0 = count(f, "events"),
            timeline0 = count(f, "timeline");
    for (int i = 0; i < 1000; i++) {
        f->now += 2; /* 1000 signals in 2 s */
        assert_int_equal(incident_attach_signal(&f->ctx, &inc, f->now, "sshd", "Failed password", &err), 0);
    }
    struct store_incident now;
    assert_int_equal(store_incident_get(f->st, inc.id, NULL, &now, &err), 0);
    assert_int_equal(now.signal_count, 1005);
    assert_int_equal(now.last_signal_at, f->now);
    assert_int_equal(now.version, version);
    /* Powers of two from 6 to 1005: 8 16 32 64 128 256 512; plus about one a second. */
    assert_int_equal(count(f, "timeline") - timeline0, 7);
    int64_t audited = count(f, "audit_log") - audit0;
    assert_true(audited >= 7 && audited <= 7 + 3);
    assert_int_equal(count(f, "events") - events0, audited);
    /* An edit with the version read before the flood is not refused. */
    struct incident_field fields[] = {{"source", "sshd 日志"}, {"scope", "web-1"}, {"nature", "口令猜测"},
                                      {"trend", "持续"}, {"measures", "封禁来源地址"}};
    store_incident_release(&now);
    assert_int_equal(incident_move(&f->ctx, inc.number, "assessing", NULL, fields, 5, version, &now, &err), 0);
    store_incident_release(&now);
    store_incident_release(&inc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_classifies_routes_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dismiss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assess_versions_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbering_per_year, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_signal_counts_without_conflicts, setup, teardown),
    };
    int failed = 0;
    do
        failed += _cmocka_run_group_tests(test_engine(), tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    while (test_engines_next());
    return failed;
}
