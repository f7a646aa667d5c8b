/* Unit tests for src/engine/duty.c: who is on duty across handovers, rotations (daily and
 * weekly), holidays and overrides, in the plan's time zone; and the roster's validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/timeutil.h"
#include "engine/duty.h"
#include "plan/plan.h"
#include "test_util.h"

#include <time.h>

static const char plan_text[] =
    "plan: {id: t, name: 测试预案}\n"
    "roles: [{id: duty, name: 值班, access: duty}]\n"
    "units: [{id: it, name: 信息办}]\n"
    "people:\n"
    "  - {id: a, name: 甲, unit: it, contacts: {mobile: '13800000001'}}\n"
    "  - {id: b, name: 乙, unit: it}\n"
    "  - {id: c, name: 丙, unit: it}\n"
    "  - {id: boss, name: 主任, unit: it}\n"
    "groups: [{id: lg, name: 领导小组, kind: leading, leaders: [boss]}]\n"
    "classes: [{id: sec, name: 安全类, coordinator: it}]\n"
    "levels: [{id: low, name: 一般, national: IV, deadlines: {assessment: 1h}}]\n"
    "types: [{id: hack, name: 入侵, class: sec, owner: it, gbt: attack.compromised_host, levels: [low]}]\n"
    "roster:\n"
    "  handover: '08:30'\n"
    "  rotations:\n"
    "    - {id: day, name: 日常, every: daily, start: 2026-11-01, people: [a, b, c]}\n"
    "    - {id: week, name: 周带班, every: weekly, start: 2026-11-02, people: [boss, a]}\n"
    "    - {id: hol, name: 节假日, every: daily, start: 2026-01-01, people: [boss], holidays: true}\n"
    "  holidays: [2026-12-25]\n"
    "  overrides:\n"
    "    - {rotation: day, person: boss, from: '2026-11-20 08:30', to: '2026-11-20 20:00', reason: 调班}\n"
    "escalation:\n"
    "  - id: e\n"
    "    steps: [{notify: [duty, unit_head, 'group:lg', 'person:a', 'role:duty', reporter]}]\n";

static struct plan *load(const char *text)
{
    struct plan *p = NULL;
    struct yj_err err;
    struct plan_diags d = {0};
    if (plan_load_buffer("t.yaml", text, strlen(text), &p, &d, &err) < 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.lines[i]);
        fail_msg("%s", err.msg);
    }
    return p;
}

static int64_t at(const char *rfc3339)
{
    int64_t t;
    struct yj_err err;
    if (yj_time_parse(rfc3339, &t, &err) < 0)
        fail_msg("%s", err.msg);
    return t;
}

/* The person on `rotation` at t, or "" when it has no shift. */
static const char *who(const struct plan *p, const char *rotation, int64_t t, struct duty_shift *shift)
{
    struct duty_shift s[8];
    size_t n = duty_now(p, t, s, 8);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].rotation, rotation) == 0) {
            if (shift)
                *shift = s[i];
            return s[i].person;
        }
    return "";
}

static void test_rotations_and_handover(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    struct plan *p = load(plan_text);
    struct duty_shift s;
    /* Day 0 (Nov 1) is a's, day 1 b's, day 2 c's, day 3 a's again. */
    assert_string_equal(who(p, "day", at("2026-11-01T09:00:00+08:00"), &s), "a");
    assert_true(s.from == at("2026-11-01T08:30:00+08:00") && s.to == at("2026-11-02T08:30:00+08:00"));
    assert_string_equal(who(p, "day", at("2026-11-02T09:00:00+08:00"), NULL), "b");
    assert_string_equal(who(p, "day", at("2026-11-03T09:00:00+08:00"), NULL), "c");
    assert_string_equal(who(p, "day", at("2026-11-04T09:00:00+08:00"), NULL), "a");
    /* Before the handover, yesterday's shift is still on. */
    assert_string_equal(who(p, "day", at("2026-11-03T08:29:00+08:00"), NULL), "b");
    assert_string_equal(who(p, "day", at("2026-11-03T08:30:00+08:00"), NULL), "c");
    /* Before the rotation's start: no shift. */
    assert_string_equal(who(p, "day", at("2026-10-31T12:00:00+08:00"), NULL), "");
    assert_string_equal(who(p, "day", at("2026-11-01T08:00:00+08:00"), NULL), "");
    /* Weekly: boss the first week from Monday Nov 2, a the next. */
    assert_string_equal(who(p, "week", at("2026-11-08T12:00:00+08:00"), NULL), "boss");
    assert_string_equal(who(p, "week", at("2026-11-09T08:29:00+08:00"), NULL), "boss");
    assert_string_equal(who(p, "week", at("2026-11-09T08:30:00+08:00"), NULL), "a");
    plan_free(p);
}

static void test_holidays_and_overrides(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    struct plan *p = load(plan_text);
    struct duty_shift s[8];
    /* A holiday: only the holiday rotation; the day after, the others again. */
    size_t n = duty_now(p, at("2026-12-25T15:00:00+08:00"), s, 8);
    assert_int_equal(n, 1);
    assert_string_equal(s[0].rotation, "hol");
    assert_true(s[0].holiday);
    n = duty_now(p, at("2026-12-26T09:00:00+08:00"), s, 8);
    assert_int_equal(n, 2);
    /* The override holds from 08:30 to 20:00 on Nov 20, then the rotation's person is back. */
    struct duty_shift one;
    assert_string_equal(who(p, "day", at("2026-11-20T12:00:00+08:00"), &one), "boss");
    assert_true(one.overridden && one.to == at("2026-11-20T20:00:00+08:00"));
    assert_string_equal(who(p, "day", at("2026-11-20T20:00:00+08:00"), &one), "b"); /* day 19: 19 % 3 = 1 */
    assert_false(one.overridden);
    plan_free(p);
}

static void test_roster_errors(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *message;
    } cases[] = {
        {"people: [a, b, c]", "people: [a, zed]", "unknown person \"zed\""},
        {"start: 2026-11-01", "start: 2026-11-31", "start \"2026-11-31\": expected a date YYYY-MM-DD"},
        {"every: weekly", "every: monthly", "every \"monthly\" is not one of: daily, weekly"},
        {"holidays: [2026-12-25]", "holidays: [12/25]", "holiday \"12/25\": expected a date YYYY-MM-DD"},
        {"to: '2026-11-20 20:00'", "to: '2026-11-20 08:00'", "to must be after from"},
        {"rotation: day, person", "rotation: night, person", "unknown rotation \"night\""},
        {"'person:a'", "'person:zed'", "notify \"person:zed\": no such person"},
        {"'role:duty'", "'team:x'", "notify \"team:x\": expected duty, unit_head, reporter"},
        {"handover: '08:30'", "handover: '8.30'", "handover \"8.30\": expected a time of day HH:MM"},
    };
    for (size_t i = 0; i < YJ_ARRAY_LEN(cases); i++) {
        const char *hit = strstr(plan_text, cases[i].from);
        assert_non_null(hit);
        char *text = xasprintf("%.*s%s%s", (int)(hit - plan_text), plan_text, cases[i].to, hit + strlen(cases[i].from));
        struct plan *p = NULL;
        struct yj_err err;
        assert_int_equal(plan_load_buffer("t.yaml", text, strlen(text), &p, NULL, &err), YJ_EINVAL);
        if (!strstr(err.msg, cases[i].message))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].message);
        free(text);
    }
    /* "duty" without a roster. */
    const char *roster = strstr(plan_text, "roster:"), *esc = strstr(plan_text, "escalation:");
    char *text = xasprintf("%.*s%s", (int)(roster - plan_text), plan_text, esc);
    struct plan *p = NULL;
    struct yj_err err;
    assert_int_equal(plan_load_buffer("t.yaml", text, strlen(text), &p, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "\"duty\" needs a roster"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotations_and_handover),
        cmocka_unit_test(test_holidays_and_overrides),
        cmocka_unit_test(test_roster_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
