/* Unit tests for src/engine/rulecheck.c, and the CI check of every built-in rule file: each
 * rules/NAME.yaml has its corpus tests/rules/NAME.log (fail2ban's annotated format), every line
 * of it comes out as annotated, every rule has lines and, when it reads an address, injection
 * lines; no injected variant of any line makes a rule read another address. The same check
 * runs over fail2ban's own test logs from its Debian package where they exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/fileio.h"
#include "engine/rulecheck.h"
#include "engine/rules.h"
#include "plan/plan.h"

#include <dirent.h>
#include <unistd.h>

#define FAIL2BAN_LOGS "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"

static const char *source_dir(void)
{
    const char *d = getenv("YJ_SOURCE_DIR");
    return d ? d : ".";
}

/* Lines of fail2ban's corpora where Yingji reads another address, on purpose. */
static const struct {
    const char *log;
    size_t line;
    const char *why;
} disagreements[] = {
    {"sshd", 144,
     "\"Failed password for invalid user test from 127.0.0.1 port 58946 ssh2: from 10.10.1.2 port 55555 ssh2\": "
     "OpenSSH writes no auth info after a failed password, so the text after the first address is the client's "
     "own name; the address sshd wrote is the last one (fail2ban reads the first, for SSH-1's ruser)"},
};

struct failures {
    const char *corpus;
    const char *log; /* fail2ban's corpus name, for the disagreements above */
    int n;
    int expected;
};

static void on_fail(size_t line_no, const char *what, void *ud)
{
    struct failures *f = ud;
    for (size_t i = 0; f->log && i < YJ_ARRAY_LEN(disagreements); i++)
        if (strcmp(disagreements[i].log, f->log) == 0 && disagreements[i].line == line_no) {
            f->expected++;
            print_message("%s:%zu: disagrees with fail2ban on purpose: %s\n", f->corpus, line_no,
                          disagreements[i].why);
            return;
        }
    f->n++;
    print_message("%s:%zu: %s\n", f->corpus, line_no, what);
}

static struct rules *load_rule_file(const char *path)
{
    size_t len = 0;
    struct yj_err err = {0};
    char *text = yj_read_file(path, 1 << 20, &len);
    if (!text)
        fail_msg("cannot read %s", path);
    struct rules *r = NULL;
    struct plan_diags diags = {0};
    if (rules_load_buffer(path, text, len, &r, &diags, &err) < 0)
        fail_msg("%s: %s", path, diags.n ? diags.lines[0] : err.msg);
    plan_diags_release(&diags);
    free(text);
    return r;
}

static struct rulecheck_stats run_corpus(struct rules *r, const char *corpus, const char *log,
                                         enum rulecheck_mode mode, int *failures, int *expected)
{
    size_t len = 0;
    struct yj_err err = {0};
    char *text = yj_read_file(corpus, 16 << 20, &len);
    if (!text)
        fail_msg("cannot read %s", corpus);
    struct rulecheck *c = rulecheck_new(r);
    struct failures f = {.corpus = corpus, .log = log};
    struct rulecheck_stats st;
    if (rulecheck_corpus(c, text, len, mode, on_fail, &f, &st, &err) < 0)
        fail_msg("%s: %s", corpus, err.msg);
    if (mode == RULECHECK_OWN)
        st.failures += rulecheck_coverage(c, on_fail, &f);
    rulecheck_free(c);
    free(text);
    *failures = f.n;
    if (expected)
        *expected = f.expected;
    assert_int_equal((int)st.failures, f.n + f.expected);
    return st;
}

/* Every built-in rule file, against its own corpus. */
static void test_builtin_rule_files_and_their_corpora(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rules", source_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0, failures = 0;
    size_t injections = 0, mutants = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        char rule_path[4096 + 256 + 2], corpus[8192];
        snprintf(rule_path, sizeof(rule_path), "%s/%s", dir, e->d_name);
        snprintf(corpus, sizeof(corpus), "%s/tests/rules/%.*s.log", source_dir(), (int)(n - 5), e->d_name);
        if (access(corpus, R_OK) != 0) {
            print_message("%s has no corpus %s\n", rule_path, corpus);
            failures++;
            continue;
        }
        struct rules *r = load_rule_file(rule_path);
        int f = 0;
        struct rulecheck_stats st = run_corpus(r, corpus, NULL, RULECHECK_OWN, &f, NULL);
        print_message("%s: %zu lines, %zu matched, %zu injection lines, %zu injected variants (%zu no longer "
                      "matched), %d failures\n",
                      corpus, st.lines, st.matched, st.injections, st.mutants, st.evaded, f);
        failures += f;
        injections += st.injections;
        mutants += st.mutants;
        files++;
        rules_free(r);
    }
    closedir(d);
    assert_true(files >= 4);
    assert_true(injections > 0 && mutants > 0);
    assert_int_equal(failures, 0);
}

/* The check can fail: a pattern that takes the first " from ADDRESS" (the sshd rule before
 * issue 14) is caught both by the corpus's injection lines and by the injected variants. */
static void test_first_address_wins_is_caught(void **state)
{
    (void)state;
    static const char rule[] =
        "rules:\n"
        "  - id: sshd\n"
        "    programs: [sshd]\n"
        "    patterns:\n"
        "      - '^Failed (?!publickey )\\S+ for (?:invalid user )?(?<user>\\S+) from (?<ip>[0-9A-Fa-f.:]+)'\n"
        "      - '^[iI](?:llegal|nvalid) user (?<user>.*?) from (?<ip>[0-9A-Fa-f.:]+)'\n"
        "    raise: {type: intrusion, title: x}\n";
    static const char corpus[] =
        "# failJSON: { \"match\": true, \"host\": \"9.9.9.9\", \"user\": \"test\" }\n"
        "Nov 22 01:38:57 h sshd[1]: Invalid user test from 9.9.9.9 port 4\n"
        "# failJSON: { \"match\": true, \"host\": \"1.2.3.4\", \"user\": \"root\" }\n"
        "Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2\n";
    static const char injection[] =
        "# failJSON: { \"match\": true, \"host\": \"203.0.113.5\", \"desc\": \"injection\" }\n"
        "Dec  3 08:00:01 web1 sshd[2]: Failed password for invalid user x from 10.9.9.9 port 22 ssh2 from "
        "203.0.113.5 port 5555 ssh2\n";
    struct rules *r = NULL;
    struct yj_err err = {0};
    assert_int_equal(rules_load_buffer("old-sshd.yaml", rule, sizeof(rule) - 1, &r, NULL, &err), 0);
    struct rulecheck *c = rulecheck_new(r);
    struct failures f = {.corpus = "corpus"};
    struct rulecheck_stats st;
    /* The plain lines are read right, but their injected variants are not; and the corpus lacks
     * an injection line. */
    assert_int_equal(rulecheck_corpus(c, corpus, sizeof(corpus) - 1, RULECHECK_OWN, on_fail, &f, &st, &err), 0);
    assert_true(st.mutants > 0);
    assert_true(st.failures >= 2);
    assert_int_equal(rulecheck_coverage(c, on_fail, &f), 1);
    /* The injection line itself: the wrong address. */
    assert_int_equal(rulecheck_corpus(c, injection, sizeof(injection) - 1, RULECHECK_FOREIGN, on_fail, &f, &st, &err),
                     0);
    assert_true(st.failures >= 1);
    rulecheck_free(c);
    rules_free(r);
}

static void test_annotations(void **state)
{
    (void)state;
    struct rules *r = NULL;
    struct yj_err err = {0};
    const char *only[] = {"sshd"};
    assert_int_equal(rules_load(NULL, only, 1, &r, NULL, &err), 0);
    struct rulecheck *c = rulecheck_new(r);
    struct failures f = {.corpus = "corpus"};
    struct rulecheck_stats st;
    static const char bad[] = "# failJSON: { \"match\": tru }\nNov 22 01:38:57 h sshd[1]: x\n";
    assert_int_equal(rulecheck_corpus(c, bad, sizeof(bad) - 1, RULECHECK_OWN, on_fail, &f, &st, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "line 1"));
    /* Wrong expectations are each a failure; an unannotated line is one. */
    static const char wrong[] = "# failJSON: { \"match\": false }\n"
                                "Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2\n"
                                "# failJSON: { \"match\": true, \"host\": \"1.2.3.5\", \"user\": \"toor\" }\n"
                                "Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2\n"
                                "# failJSON: { \"match\": true }\n"
                                "Nov 22 01:38:57 h sshd[1]: Accepted password for root from 1.2.3.4 port 22 ssh2\n"
                                "Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2\n";
    assert_int_equal(rulecheck_corpus(c, wrong, sizeof(wrong) - 1, RULECHECK_OWN, on_fail, &f, &st, &err), 0);
    /* no match expected; host; user; no match; unannotated. */
    assert_int_equal((int)st.failures, 5);
    assert_int_equal((int)st.lines, 3);
    /* ... and the rule's missing injection line. */
    assert_int_equal(rulecheck_coverage(c, on_fail, &f), 1);
    rulecheck_free(c);
    rules_free(r);
}

/* fail2ban's own test logs (Debian's fail2ban package): where both fail2ban and a built-in rule
 * match a line, both name the same address, and no injected variant names another. */
static void test_fail2ban_corpora(void **state)
{
    (void)state;
    static const struct {
        const char *rules, *logs[6];
    } pairs[] = {
        {"sshd.yaml", {"sshd", "sshd-journal", NULL}},
        {"system.yaml", {"dovecot", "vsftpd", "proftpd", "mysqld-auth", "postfix", NULL}},
        {"web-error.yaml", {"nginx-http-auth", "apache-auth", "nginx-limit-req", "nginx-bad-request", NULL}},
    };
    if (access(FAIL2BAN_LOGS "/sshd", R_OK) != 0) {
        print_message("skipped: fail2ban's test logs are not installed (Debian package fail2ban)\n");
        skip();
    }
    int failures = 0, expected = 0;
    size_t both = 0;
    for (size_t i = 0; i < YJ_ARRAY_LEN(pairs); i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/rules/%s", source_dir(), pairs[i].rules);
        struct rules *r = load_rule_file(path);
        for (size_t j = 0; pairs[i].logs[j]; j++) {
            char log[512];
            snprintf(log, sizeof(log), FAIL2BAN_LOGS "/%s", pairs[i].logs[j]);
            if (access(log, R_OK) != 0)
                continue;
            int f = 0, e = 0;
            struct rulecheck_stats st = run_corpus(r, log, pairs[i].logs[j], RULECHECK_FOREIGN, &f, &e);
            expected += e;
            print_message("%s: %zu annotated lines, %zu matched by %s, %zu injected variants, %d failures\n", log,
                          st.lines, st.matched, pairs[i].rules, st.mutants, f);
            failures += f;
            both += st.matched;
        }
        rules_free(r);
    }
    assert_true(both > 50);
    assert_int_equal(failures, 0);
    /* Each disagreement listed still happens: the list says what the rules do. */
    assert_int_equal(expected, (int)YJ_ARRAY_LEN(disagreements));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_rule_files_and_their_corpora),
        cmocka_unit_test(test_first_address_wins_is_caught),
        cmocka_unit_test(test_annotations),
        cmocka_unit_test(test_fail2ban_corpora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
