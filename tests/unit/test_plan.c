/* Unit tests for src/plan: the built-in plans and every class of validation error, with the
 * exact FILE:LINE:COLUMN each is reported at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/timeutil.h"
#include "plan/plan.h"

/* A small valid plan; tests replace one piece of it at a time. Line numbers matter below. */
static const char base_plan[] =
    "plan:\n"                                                            /* 1 */
    "  id: t\n"                                                          /* 2 */
    "  name: 测试预案\n"                                                 /* 3 */
    "roles:\n"                                                           /* 4 */
    "  - {id: lead, name: 组长, access: leader}\n"                       /* 5 */
    "units:\n"                                                           /* 6 */
    "  - {id: it, name: 信息办}\n"                                       /* 7 */
    "  - {id: pr, name: 宣传部}\n"                                       /* 8 */
    "people:\n"                                                          /* 9 */
    "  - {id: boss, name: 校长, unit: it, roles: [lead]}\n"              /* 10 */
    "groups:\n"                                                          /* 11 */
    "  - {id: lg, name: 领导小组, kind: leading, leaders: [boss]}\n"     /* 12 */
    "classes:\n"                                                         /* 13 */
    "  - {id: sec, name: 安全类, coordinator: it}\n"                     /* 14 */
    "levels:\n"                                                          /* 15 */
    "  - id: low\n"                                                      /* 16 */
    "    name: 一般\n"                                                   /* 17 */
    "    national: IV\n"                                                 /* 18 */
    "    deadlines: {assessment: 1h}\n"                                  /* 19 */
    "  - id: high\n"                                                     /* 20 */
    "    name: 重大\n"                                                   /* 21 */
    "    national: II\n"                                                 /* 22 */
    "    activation: true\n"                                             /* 23 */
    "    deadlines: {assessment: 30m, upward_report: 2h}\n"              /* 24 */
    "types:\n"                                                           /* 25 */
    "  - id: hack\n"                                                     /* 26 */
    "    name: 入侵\n"                                                   /* 27 */
    "    class: sec\n"                                                   /* 28 */
    "    owner: it\n"                                                    /* 29 */
    "    gbt: attack.compromised_host\n"                                 /* 30 */
    "    levels: [low, high]\n"                                          /* 31 */
    "    playbook:\n"                                                    /* 32 */
    "      - {title: 断网, phase: reported, owner_role: lead, due: 15m}\n" /* 33 */
    "duties:\n"                                                          /* 34 */
    "  - {id: backup, title: 异机备份, every: daily, at: \"02:00\", owner_unit: it}\n"; /* 35 */

/* base_plan with the first occurrence of `from` replaced by `to`. Caller frees. */
static char *patched(const char *from, const char *to)
{
    const char *at = strstr(base_plan, from);
    assert_non_null(at);
    return xasprintf("%.*s%s%s", (int)(at - base_plan), base_plan, to, at + strlen(from));
}

/* Loads text and expects failure with a diagnostic equal to `want` among them. */
static void expect_diag(const char *text, const char *want)
{
    struct plan *p = NULL;
    struct plan_diags d = {0};
    struct yj_err err = {0};
    int rc = plan_load_buffer("t.yaml", text, strlen(text), &p, &d, &err);
    assert_int_equal(rc, YJ_EINVAL);
    assert_null(p);
    bool found = false;
    for (size_t i = 0; i < d.n; i++)
        if (strcmp(d.lines[i], want) == 0)
            found = true;
    if (!found) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  got: %s\n", d.lines[i]);
        fail_msg("expected diagnostic: %s", want);
    }
    assert_string_equal(err.msg, d.lines[0]);
    plan_diags_release(&d);
}

static void expect_patched(const char *from, const char *to, const char *want)
{
    char *text = patched(from, to);
    expect_diag(text, want);
    free(text);
}

static void test_base_plan_loads(void **state)
{
    (void)state;
    struct plan *p = NULL;
    struct yj_err err = {0};
    assert_int_equal(plan_load_buffer("t.yaml", base_plan, strlen(base_plan), &p, NULL, &err), 0);
    assert_string_equal(p->meta.timezone, "Asia/Shanghai");
    assert_string_equal(p->meta.number_prefix, "YJ");
    assert_int_equal(p->n_types, 1);
    const struct plan_level *high = plan_level(p, "high");
    assert_int_equal(high->national_level, 2);
    assert_true(high->activation);
    assert_true(high->deadlines.assessment == 30 * YJ_MS_PER_MIN);
    assert_true(plan_upward_deadline(p, high) == 2 * YJ_MS_PER_HOUR);
    assert_true(plan_upward_deadline(p, plan_level(p, "low")) == -1);
    assert_true(p->types[0].steps[0].due == 15 * YJ_MS_PER_MIN);
    const struct gbt_category *cat = NULL;
    assert_string_equal(plan_gbt(p, "attack.compromised_host", &cat)->name, "失陷主机事件");
    assert_string_equal(cat->name, "网络攻击事件");
    plan_free(p);
}

static void test_builtin_plans(void **state)
{
    (void)state;
    for (const char *const *n = plan_builtin_names; *n; n++) {
        char *name = xasprintf("builtin:%s", *n);
        struct plan *p = NULL;
        struct plan_diags d = {0};
        struct yj_err err = {0};
        int rc = plan_load(name, &p, &d, &err);
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.lines[i]);
        assert_int_equal(rc, 0);
        /* Both seeds: a leading group, the 1-hour risk assessment, a yearly drill. */
        bool leading = false;
        for (size_t i = 0; i < p->n_groups; i++)
            leading |= strcmp(p->groups[i].kind, "leading") == 0;
        assert_true(leading);
        for (size_t i = 0; i < p->n_levels; i++)
            assert_true(p->levels[i].deadlines.assessment == YJ_MS_PER_HOUR);
        bool drill = false;
        for (size_t i = 0; i < p->n_duties; i++)
            drill |= strcmp(p->duties[i].id, "yearly_drill") == 0 && strcmp(p->duties[i].every, "yearly") == 0;
        assert_true(drill);
        plan_free(p);
        free(name);
    }
    struct plan *p = NULL;
    struct yj_err err = {0};
    assert_int_equal(plan_load("builtin:nope", &p, NULL, &err), YJ_ENOTFOUND);
    assert_int_equal(plan_load("builtin:gbt20986", &p, NULL, &err), YJ_ENOTFOUND);
}

static void test_university_content(void **state)
{
    (void)state;
    struct plan *p = NULL;
    struct yj_err err = {0};
    assert_int_equal(plan_load("builtin:university", &p, NULL, &err), 0);
    /* 第五条: opinion → 宣传部, information security → 信息办. */
    assert_string_equal(plan_class(p, "opinion")->coordinator, "publicity");
    assert_string_equal(plan_class(p, "infosec")->coordinator, "it_office");
    /* 第十一条: four grades; 重大舆情 activates the plan (第八条). */
    assert_true(plan_level(p, "opinion_major")->activation);
    assert_false(plan_level(p, "opinion_ordinary")->activation);
    /* 第十二条: fire → cut power, call 119. */
    const struct plan_type *fire = plan_type(p, "machine_room_fire");
    assert_non_null(fire);
    assert_string_equal(fire->steps[1].contact, "fire");
    assert_string_equal(plan_contact(p, "fire")->phone, "119");
    assert_string_equal(plan_type(p, "website_tamper")->gbt, "attack.web_tamper");
    plan_free(p);
}

static void test_county_content(void **state)
{
    (void)state;
    struct plan *p = NULL;
    struct yj_err err = {0};
    assert_int_equal(plan_load("builtin:county-bureau", &p, NULL, &err), 0);
    /* 2.1: 组长 黄裕萍, 副组长 唐志恒, office director 李劲松. */
    const struct plan_group *g = &p->groups[0];
    assert_string_equal(plan_person(p, g->leaders[0])->name, "黄裕萍");
    assert_string_equal(plan_person(p, g->deputies[0])->name, "唐志恒");
    assert_string_equal(plan_unit(p, "office")->head, "li_jinsong");
    /* 4.1: first step of an intrusion is calling the ISP to disconnect. */
    const struct plan_type *t = plan_type(p, "intrusion");
    assert_string_equal(t->steps[0].contact, "isp");
    /* 6.1: daily early-morning off-site backup, weekly vulnerability scan. */
    bool backup = false, scan = false;
    for (size_t i = 0; i < p->n_duties; i++) {
        backup |= strcmp(p->duties[i].id, "daily_backup") == 0 && strcmp(p->duties[i].at, "02:00") == 0;
        scan |= strcmp(p->duties[i].id, "weekly_scan") == 0 && strcmp(p->duties[i].every, "weekly") == 0;
    }
    assert_true(backup && scan);
    plan_free(p);
}

/* The console's edits over the file: a person's numbers, a new colleague on a rotation, an
 * override; edits that would break the plan are refused whole with the loader's words. */
static void test_edits(void **state)
{
    (void)state;
    struct plan *p = NULL;
    struct yj_err err = {0};
    const struct plan_edit ok[] = {
        {PLAN_EDIT_PERSON, "{\"id\": \"it_staff\", \"name\": \"李四\", \"unit\": \"it_office\", "
                           "\"contacts\": {\"mobile\": \"13800138000\"}}"},
        {PLAN_EDIT_PERSON, "{\"id\": \"wang_xin\", \"name\": \"王新\", \"unit\": \"it_office\"}"},
        {PLAN_EDIT_ROTATION, "{\"id\": \"daily_duty\", \"people\": [\"wang_xin\", \"it_staff\"]}"},
        {PLAN_EDIT_OVERRIDE, "{\"rotation\": \"daily_duty\", \"person\": \"it_staff\", \"from\": \"2026-12-05 08:30\", "
                             "\"to\": \"2026-12-06 08:30\", \"reason\": \"换班 #1\"}"},
    };
    assert_int_equal(plan_load_edited("builtin:university", ok, 4, &p, NULL, &err), 0);
    const struct plan_person *x = plan_person(p, "it_staff");
    assert_string_equal(x->name, "李四");
    assert_string_equal(x->contacts.mobile, "13800138000");
    assert_true(x->n_roles > 0); /* roles stay the file's */
    assert_string_equal(plan_person(p, "wang_xin")->name, "王新");
    assert_int_equal(plan_person(p, "wang_xin")->n_roles, 0);
    assert_string_equal(p->roster.rotations[0].people[0], "wang_xin");
    assert_string_equal(p->roster.overrides[p->roster.n_overrides - 1].reason, "换班 #1");
    plan_free(p);

    const struct {
        struct plan_edit edit;
        const char *why;
    } bad[] = {
        {{PLAN_EDIT_PERSON, "{\"id\": \"x\", \"name\": \"某\", \"unit\": \"nowhere\"}"}, "unit \"nowhere\""},
        {{PLAN_EDIT_PERSON, "{\"id\": \"x\", \"name\": \"某\", \"unit\": \"it_office\", \"roles\": [\"duty_officer\"]}"}, "roles"},
        {{PLAN_EDIT_PERSON, "{\"id\": \"x\", \"unit\": \"it_office\"}"}, "name"},
        {{PLAN_EDIT_ROTATION, "{\"id\": \"daily_duty\", \"people\": [\"ghost\"]}"}, "ghost"},
        {{PLAN_EDIT_ROTATION, "{\"id\": \"nope\", \"people\": [\"it_staff\"]}"}, "rotation \"nope\""},
        {{PLAN_EDIT_OVERRIDE, "{\"rotation\": \"daily_duty\", \"person\": \"it_staff\", \"from\": \"2026-12-06 08:30\", "
                              "\"to\": \"2026-12-05 08:30\"}"}, "to must be after from"},
        {{PLAN_EDIT_PERSON, "{\"id\": "}, "edit:"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = NULL;
        assert_int_equal(plan_load_edited("builtin:university", &bad[i].edit, 1, &p, NULL, &err), YJ_EINVAL);
        assert_null(p);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("edit %zu: \"%s\" does not say %s", i, err.msg, bad[i].why);
    }
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_patched("  name: 测试预案\n", "  name: 测试预案\n  nmae: x\n",
                   "t.yaml:4:3: unknown key \"nmae\" in plan (known keys: id, name, version, organization, timezone, "
                   "operator_type, number_prefix, source)");
    expect_patched("owner: it\n", "owner: it\n    colour: red\n",
                   "t.yaml:30:5: unknown key \"colour\" in type (known keys: id, name, class, owner, route, gbt, "
                   "levels, default_level, description, playbook)");
}

static void test_missing_key(void **state)
{
    (void)state;
    expect_patched("    owner: it\n", "", "t.yaml:26:5: type is missing the required key \"owner\"");
    expect_patched("    national: IV\n", "", "t.yaml:16:5: level is missing the required key \"national\"");
    expect_patched("    deadlines: {assessment: 1h}\n", "    deadlines: {report: 0s}\n",
                   "t.yaml:19:17: deadlines is missing the required key \"assessment\"");
    expect_patched("    owner: it\n", "    owner:\n", "t.yaml:29:5: owner: a value is required");
}

static void test_duplicate_ids(void **state)
{
    (void)state;
    expect_patched("  - {id: pr, name: 宣传部}", "  - {id: it, name: 宣传部}",
                   "t.yaml:8:10: duplicate unit id \"it\" (first defined at line 7)");
}

static void test_bad_references(void **state)
{
    (void)state;
    expect_patched("unit: it, roles", "unit: itt, roles", "t.yaml:10:32: unknown unit \"itt\"");
    expect_patched("roles: [lead]", "roles: [chief]", "t.yaml:10:44: unknown role \"chief\"");
    expect_patched("    class: sec\n", "    class: secc\n", "t.yaml:28:12: unknown class \"secc\"");
    expect_patched("levels: [low, high]", "levels: [low, huge]", "t.yaml:31:19: unknown level \"huge\"");
    expect_patched("gbt: attack.compromised_host", "gbt: attack.nope",
                   "t.yaml:30:10: unknown GB/T 20986 subcategory \"attack.nope\"");
    expect_patched("leaders: [boss]", "leaders: [nobody]", "t.yaml:12:51: unknown person \"nobody\"");
    expect_patched("owner_role: lead", "owner_role: leader", "t.yaml:33:50: unknown role \"leader\"");
    expect_patched("owner_unit: it}", "owner_unit: it, scenarios: [hack, phish]}", "t.yaml:35:92: unknown type \"phish\"");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_patched("due: 15m", "due: 15 minutes",
                   "t.yaml:33:61: due: bad duration \"15 minutes\": unit must be one of ms, s, m, h, d, w");
    expect_patched("{assessment: 1h}", "{assessment: soon}",
                   "t.yaml:19:29: assessment: bad duration \"soon\": expected a number at \"soon\"");
    expect_patched("national: II\n", "national: V\n",
                   "t.yaml:22:15: national level \"V\" is not one of: I, II, III, IV");
    expect_patched("activation: true", "activation: yes",
                   "t.yaml:23:17: activation: expected true or false, not \"yes\"");
    expect_patched("kind: leading", "kind: boss", "t.yaml:12:32: group kind \"boss\" is not one of: leading, "
                                                   "office, team, joint");
    expect_patched("at: \"02:00\"", "at: \"25:00\"", "t.yaml:35:50: at \"25:00\": expected a time of day HH:MM");
    expect_patched("    levels: [low, high]\n", "    levels: low\n", "t.yaml:31:13: levels: expected a list, e.g. [a, b]");
    expect_patched("  name: 测试预案\n", "  name: [a, b]\n", "t.yaml:3:10: name: expected a single value, not a list");
}

static void test_syntax_and_encoding(void **state)
{
    (void)state;
    char *bad = patched("  name: 测试预案\n", "  name: \"unterminated\n");
    struct plan *p = NULL;
    struct plan_diags d = {0};
    struct yj_err err = {0};
    assert_int_equal(plan_load_buffer("t.yaml", bad, strlen(bad), &p, &d, &err), YJ_EINVAL);
    assert_true(d.n >= 1);
    assert_true(strncmp(d.lines[0], "t.yaml:", 7) == 0);
    plan_diags_release(&d);
    free(bad);
    expect_patched("  name: 测试预案\n", "  name: \xE6\xB5\x8B\xFF\n", "t.yaml:3:10: invalid UTF-8 (byte 0xff)");
    expect_diag("- just\n- a list\n", "t.yaml:1:3: expected a mapping (key: value) for the plan file");
}

static void test_type_rules(void **state)
{
    (void)state;
    expect_patched("    levels: [low, high]\n", "    levels: [low, high]\n    default_level: mid\n",
                   "t.yaml:32:20: default_level \"mid\" is not among the type's levels");
    expect_patched("kind: leading", "kind: team", "t.yaml:12:10: the plan needs a group of kind \"leading\" (领导小组)");
}

static void test_file_errors(void **state)
{
    (void)state;
    struct plan *p = NULL;
    struct yj_err err = {0};
    assert_int_equal(plan_load("/nonexistent/plan.yaml", &p, NULL, &err), YJ_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/plan.yaml: cannot open plan"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_plan_loads),  cmocka_unit_test(test_builtin_plans),
        cmocka_unit_test(test_university_content),
        cmocka_unit_test(test_edits), cmocka_unit_test(test_county_content),
        cmocka_unit_test(test_unknown_key),      cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_duplicate_ids),    cmocka_unit_test(test_bad_references),
        cmocka_unit_test(test_bad_values),       cmocka_unit_test(test_syntax_and_encoding),
        cmocka_unit_test(test_type_rules),       cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
