/* Unit tests for the syslog receiver's parsing (src/base/logline.c, the one line parser): RFC 3164
 * and RFC 5424 messages as senders write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/timeutil.h"
#include "base/logline.h"

static void parse(const char *s, struct logline *m)
{
    struct logline_clock clock = {.year = 2026};
    logline_parse(s, strlen(s), &clock, m);
}

static bool eq(const char *p, size_t n, const char *want)
{
    return p && strlen(want) == n && memcmp(p, want, n) == 0;
}

static void test_rfc5424(void **state)
{
    (void)state;
    struct logline m;
    parse("<34>1 2026-11-22T01:38:57.123Z web-1 sshd 77 ID47 - Failed password for root from 1.2.3.4", &m);
    assert_int_equal(m.pri, 34);
    int64_t want;
    struct yj_err err;
    yj_time_parse("2026-11-22T01:38:57.123Z", &want, &err);
    assert_true(m.time == want);
    assert_true(eq(m.host, m.host_len, "web-1"));
    assert_true(eq(m.program, m.program_len, "sshd"));
    assert_true(eq(m.msg, m.msg_len, "Failed password for root from 1.2.3.4"));
    parse("<165>1 2026-11-22T01:38:57+08:00 h app - - [exampleSDID@32473 iut=\"3\" x=\"a\\]b\"][b@1 c=\"d\"] "
          "\xEF\xBB\xBFhello",
          &m);
    assert_true(eq(m.msg, m.msg_len, "hello"));
    parse("<13>1 - - - - - -", &m);
    assert_null(m.program);
    assert_true(m.time == 0);
    assert_int_equal(m.msg_len, 0);
}

static void test_rfc3164(void **state)
{
    (void)state;
    struct logline m;
    parse("<38>Nov 22 01:38:57 web-1 sshd[77]: Invalid user test from 5.6.7.8 port 4", &m);
    assert_int_equal(m.pri, 38);
    assert_true(eq(m.host, m.host_len, "web-1"));
    assert_true(eq(m.program, m.program_len, "sshd"));
    assert_true(eq(m.msg, m.msg_len, "Invalid user test from 5.6.7.8 port 4"));
    assert_true(m.time != 0);
    parse("<999>not a priority", &m);
    assert_int_equal(m.pri, -1);
    assert_true(eq(m.msg, m.msg_len, "<999>not a priority"));
    parse("no header at all", &m);
    assert_null(m.program);
    assert_true(eq(m.msg, m.msg_len, "no header at all"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5424),
        cmocka_unit_test(test_rfc3164),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
