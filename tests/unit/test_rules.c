/* Unit tests for src/engine/rules.c, logline.c and window.c: rule files and their errors, syslog
 * prefixes, and bounded threshold windows. What each built-in rule makes of each line is tested
 * on its corpus in tests/rules/ (test_rulecheck.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/timeutil.h"
#include "base/logline.h"
#include "engine/rules.h"
#include "engine/window.h"
#include "plan/plan.h"
#include "test_util.h"

#include <dirent.h>

struct hits {
    int n;
    char rule[64];
    char ip[64];
    char user[64];
    bool allowed;
};

static void on_hit(const struct rule_hit *h, void *ud)
{
    struct hits *x = ud;
    x->n++;
    snprintf(x->rule, sizeof(x->rule), "%s", h->rule->id);
    rule_hit_field(h, "ip", x->ip, sizeof(x->ip));
    rule_hit_field(h, "user", x->user, sizeof(x->user));
    x->allowed = h->allowed;
}

static struct hits match(struct rules *r, struct rules_scratch *s, const char *line)
{
    struct logline ll;
    struct logline_clock clock = {.year = 2026};
    logline_parse(line, strlen(line), &clock, &ll);
    struct hits h = {0};
    rules_match(r, s, ll.program, ll.program_len, ll.msg, ll.msg_len, on_hit, &h);
    return h;
}

static void test_builtin_rules_compile(void **state)
{
    (void)state;
    struct rules *r = NULL;
    struct yj_err err;
    assert_int_equal(rules_load(NULL, NULL, 0, &r, NULL, &err), 0);
    assert_true(rules_count(r) >= 1);
    const struct rule_def *d = rules_get(r, 0);
    assert_non_null(d->raise.type);
    rules_free(r);
    const char *only[] = {"nope"};
    struct plan_diags diags = {0};
    assert_int_equal(rules_load(NULL, only, 1, &r, &diags, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "no rule with id \"nope\""));
    plan_diags_release(&diags);
}

static void expect_rule_error(const char *text, const char *want)
{
    char *dir = test_tmpdir();
    char *path = xasprintf("%s/bad.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    struct rules *r = NULL;
    struct plan_diags d = {0};
    struct yj_err err;
    assert_int_equal(rules_load(dir, NULL, 0, &r, &d, &err), YJ_EINVAL);
    char *expected = xasprintf("%s:%s", path, want);
    bool found = false;
    for (size_t i = 0; i < d.n; i++)
        found |= strcmp(d.lines[i], expected) == 0;
    if (!found) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  got: %s\n", d.lines[i]);
        fail_msg("expected %s", expected);
    }
    plan_diags_release(&d);
    free(expected);
    free(path);
    test_rmtree(dir);
    free(dir);
}

static void test_rule_errors(void **state)
{
    (void)state;
    static const char ok_head[] = "rules:\n  - id: x\n    raise: {type: intrusion, title: t}\n";
    char *t = xasprintf("%s    patterns: ['a(b']\n", ok_head);
    expect_rule_error(t, "4:20: pattern: missing closing parenthesis");
    free(t);
    t = xasprintf("%s    patterns: ['a']\n    colour: red\n", ok_head);
    expect_rule_error(t, "5:5: unknown key \"colour\" in rule (known keys: id, description, programs, patterns, allow, "
                         "threshold, raise, gbt)");
    free(t);
    t = xasprintf("%s    patterns: ['a']\n    threshold: {count: 5, within: soon, by: [ip]}\n", ok_head);
    expect_rule_error(t, "5:35: within: bad duration \"soon\": expected a number at \"soon\"");
    free(t);
    t = xasprintf("%s    patterns: ['a']\n    allow: {ip: [10.0.0.0/33]}\n", ok_head);
    expect_rule_error(t, "5:18: \"10.0.0.0/33\" is not an IP address or CIDR range");
    free(t);
    expect_rule_error("rules:\n  - id: x\n    patterns: ['a']\n", "2:5: rule is missing the required key \"raise\"");
}


static void count_occ(unsigned pattern, size_t end, void *ud)
{
    (void)pattern;
    (void)end;
    (*(int *)ud)++;
}

/* Hyperscan is given only a literal every match must contain, when a pattern has one at its top
 * level. Patterns whose obvious literals are optional, alternatives, quantified or escaped must
 * still match every line PCRE2 matches, line by line and through the block scan. */
static void test_required_literals(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *yes, *no;
    } cases[] = {
        {"^(?:abcdef)?xyzxyz (?<ip>\\S+)", "xyzxyz 1.2.3.4", "abcdef 1.2.3.4"},
        {"^foo(?:barbar)?bazqux", "foobazqux", "foobarbar"},
        {"a?bcdefgh", "bcdefgh", "bcdefg"},
        {"abcdefg|hijklmn", "hijklmn", "abcdef"},
        {"x\\.y\\.zzzz", "x.y.zzzz", "xAyBzzzz"},
        {"(?i)access denied for", "ACCESS DENIED FOR root", "access allowed for"},
        {"fail(?:ed|ure) [a-z]+ from", "failure login from", "fail login from"},
        {"ab[)(]cdefgh", "ab(cdefgh", "abxcdefgh"},
        {"[aA]uthentication (?:failure|error) for", "Authentication error for", "Authentication fail for"},
        {"[]x]yzyzyz[^]]qqqqqq", "]yzyzyz-qqqqqq", "]yzyzyz]qqqqqq"},
        {"tooshort+x", "tooshortttx", "toosho"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = xasprintf("rules:\n  - id: r\n    patterns: ['%s']\n    raise: {type: intrusion, title: t}\n",
                               cases[i].pattern);
        struct rules *r = NULL;
        struct yj_err err;
        assert_int_equal(rules_load_buffer("t.yaml", text, strlen(text), &r, NULL, &err), 0);
        struct rules_scratch *s = rules_scratch_new(r);
        struct hits h = {0};
        rules_match(r, s, NULL, 0, cases[i].yes, strlen(cases[i].yes), on_hit, &h);
        if (h.n != 1)
            fail_msg("pattern %s does not match \"%s\"", cases[i].pattern, cases[i].yes);
        h = (struct hits){0};
        rules_match(r, s, NULL, 0, cases[i].no, strlen(cases[i].no), on_hit, &h);
        assert_int_equal(h.n, 0);
        int occ = 0;
        if (rules_scan_block(r, s, cases[i].yes, strlen(cases[i].yes), count_occ, &occ) == 0 && occ == 0)
            fail_msg("block scan misses \"%s\" for %s", cases[i].yes, cases[i].pattern);
        rules_scratch_free(s);
        rules_free(r);
        free(text);
    }
}

static void test_logline(void **state)
{
    (void)state;
    struct logline ll;
    struct logline_clock clock = {.year = 2026, .utc_offset_ms = 8 * YJ_MS_PER_HOUR};
    const char *l1 = "Nov  2 09:30:00 web-1 nginx: GET /";
    logline_parse(l1, strlen(l1), &clock, &ll);
    assert_int_equal(ll.program_len, 5);
    assert_memory_equal(ll.program, "nginx", 5);
    assert_memory_equal(ll.host, "web-1", 5);
    assert_string_equal(ll.msg, "GET /");
    int64_t want;
    struct yj_err err;
    yj_time_parse("2026-11-02T09:30:00+08:00", &want, &err);
    assert_true(ll.time == want);
    const char *l2 = "no prefix at all";
    logline_parse(l2, strlen(l2), &clock, &ll);
    assert_null(ll.program);
    assert_ptr_equal(ll.msg, l2);
    assert_true(ll.time == 0);
    const char *l3 = "Nov 22 01:38:57 host"; /* truncated: all message */
    logline_parse(l3, strlen(l3), &clock, &ll);
    assert_null(ll.program);
    /* The stamp cache: the same second again, then another, then a stamp that is not one. */
    const char *l4 = "Nov  2 09:30:00 web-2 sshd[1]: x", *l5 = "Dec 31 23:59:59 web-2 sshd[1]: y",
               *l6 = "Nov  2 09:30:0x web-2 sshd[1]: z";
    logline_parse(l4, strlen(l4), &clock, &ll);
    assert_true(ll.time == want);
    logline_parse(l5, strlen(l5), &clock, &ll);
    yj_time_parse("2026-12-31T23:59:59+08:00", &want, &err);
    assert_true(ll.time == want);
    logline_parse(l6, strlen(l6), &clock, &ll);
    assert_true(ll.time == 0 && ll.program == NULL);
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int m = 0; m < 12; m++) {
        char line[64], iso[64];
        snprintf(line, sizeof(line), "%s 15 12:00:00 h p: m", months[m]);
        snprintf(iso, sizeof(iso), "2026-%02d-15T12:00:00+08:00", m + 1);
        logline_parse(line, strlen(line), &clock, &ll);
        yj_time_parse(iso, &want, &err);
        assert_true(ll.time == want);
    }
}

/* Compiled databases are cached by content: the second load reads the file, matches the same,
 * and a damaged cache file is compiled around, never trusted. */
static void test_compile_cache(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    setenv("YINGJI_CACHE_DIR", dir, 1);
    struct yj_err err;
    const char *line = "Nov 22 01:38:57 h sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2";
    for (int round = 0; round < 3; round++) {
        if (round == 2) { /* damage every cached file */
            DIR *d = opendir(dir);
            struct dirent *e;
            while ((e = readdir(d)))
                if (e->d_name[0] != '.') {
                    char *p = xasprintf("%s/%s", dir, e->d_name);
                    FILE *f = fopen(p, "r+");
                    fputs("garbage", f);
                    fclose(f);
                    free(p);
                }
            closedir(d);
        }
        struct rules *r = NULL;
        const char *only[] = {"sshd"};
        assert_int_equal(rules_load(NULL, only, 1, &r, NULL, &err), 0);
        struct rules_scratch *s = rules_scratch_new(r);
        struct hits h = match(r, s, line);
        assert_int_equal(h.n, 1);
        assert_string_equal(h.ip, "203.0.113.9");
        assert_int_equal(match(r, s, "Nov 22 01:38:57 h sshd[1]: Accepted password for root").n, 0);
        rules_scratch_free(s);
        rules_free(r);
        DIR *d = opendir(dir);
        int files = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            files += e->d_name[0] != '.' && strncmp(e->d_name, "hs-", 3) == 0;
        closedir(d);
        assert_int_equal(files, 2); /* per line, and the literals for blocks */
    }
    unsetenv("YINGJI_CACHE_DIR");
    test_rmtree(dir);
    free(dir);
}

static void test_window(void **state)
{
    (void)state;
    struct window *w = window_new(3, 10 * YJ_MS_PER_MIN, 2);
    assert_false(window_add(w, "a", 1, 0));
    assert_false(window_add(w, "a", 1, YJ_MS_PER_MIN));
    assert_true(window_add(w, "a", 1, 2 * YJ_MS_PER_MIN)); /* three within ten minutes */
    assert_false(window_add(w, "a", 1, 3 * YJ_MS_PER_MIN)); /* counting afresh */
    /* Spread out: never three within the window. */
    for (int i = 0; i < 10; i++)
        assert_false(window_add(w, "b", 1, (int64_t)i * 6 * YJ_MS_PER_MIN));
    /* The bound: a third key evicts one; memory stays at two keys. */
    window_add(w, "c", 1, 0);
    assert_int_equal(window_keys(w), 2);
    assert_int_equal(window_evictions(w), 1);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        window_add(w, k, strlen(k), 0);
    }
    assert_int_equal(window_keys(w), 2);
    assert_true(window_distinct(w) == 1003);
    window_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_rules_compile),
        cmocka_unit_test(test_rule_errors), cmocka_unit_test(test_logline), cmocka_unit_test(test_window),
        cmocka_unit_test(test_compile_cache), cmocka_unit_test(test_required_literals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
