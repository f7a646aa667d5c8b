/* Unit tests for src/base: UTF-8 and text checks, durations, times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/text.h"
#include "base/cidr.h"
#include "base/timeutil.h"

#include <arpa/inet.h>

static void test_utf8(void **state)
{
    (void)state;
    assert_true(yj_utf8_valid("", 0));
    assert_true(yj_utf8_valid("ascii", 5));
    assert_true(yj_utf8_valid("应急预案", strlen("应急预案")));
    assert_true(yj_utf8_valid("\xF0\x9F\x98\x80", 4));  /* U+1F600 */
    assert_false(yj_utf8_valid("\xFF", 1));              /* never valid */
    assert_false(yj_utf8_valid("\xC0\xAF", 2));          /* overlong "/" */
    assert_false(yj_utf8_valid("\xE0\x80\xAF", 3));      /* overlong */
    assert_false(yj_utf8_valid("\xED\xA0\x80", 3));      /* surrogate U+D800 */
    assert_false(yj_utf8_valid("\xF4\x90\x80\x80", 4));  /* > U+10FFFF */
    assert_false(yj_utf8_valid("\xE5\xBA", 2));          /* truncated */
    assert_false(yj_utf8_valid("a\x80", 2));             /* stray continuation */
    assert_int_equal(yj_utf8_len("应急a"), 3);
}

static void test_text_check(void **state)
{
    (void)state;
    struct yj_err err;
    assert_int_equal(yj_text_check("title", "机房渗水", 4, YJ_TEXT_SINGLE_LINE, &err), 0);
    assert_int_equal(yj_text_check("title", "机房渗水了", 4, 0, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "too long"));
    assert_int_equal(yj_text_check("title", "a\nb", 10, YJ_TEXT_SINGLE_LINE, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "single line"));
    assert_int_equal(yj_text_check("scope", "a\nb\tc", 10, 0, &err), 0);
    assert_int_equal(yj_text_check("scope", "a\x1b[31m", 10, 0, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "control character 0x1b"));
    assert_int_equal(yj_text_check("title", "  ", 10, YJ_TEXT_NONEMPTY, &err), YJ_EINVAL);
    assert_int_equal(yj_text_check("title", "\xff", 10, 0, &err), YJ_EINVAL);
    assert_string_equal(err.msg, "title: not valid UTF-8 text");
}

static void test_durations(void **state)
{
    (void)state;
    struct yj_err err;
    int64_t ms;
    assert_int_equal(yj_duration_parse("90s", &ms, &err), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(yj_duration_parse("1h30m", &ms, &err), 0);
    assert_int_equal(ms, 90 * YJ_MS_PER_MIN);
    assert_int_equal(yj_duration_parse("30d", &ms, &err), 0);
    assert_int_equal(ms, 30 * YJ_MS_PER_DAY);
    assert_int_equal(yj_duration_parse("0s", &ms, &err), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(yj_duration_parse("250ms", &ms, &err), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(yj_duration_parse("1 hour", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_duration_parse("1y", &ms, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "unit must be"));
    assert_int_equal(yj_duration_parse("h", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_duration_parse("", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_duration_parse("99999999999d", &ms, &err), YJ_EINVAL);
    char buf[32];
    yj_duration_format(90 * YJ_MS_PER_MIN, buf, sizeof(buf));
    assert_string_equal(buf, "1h30m");
    yj_duration_format(30 * YJ_MS_PER_DAY, buf, sizeof(buf));
    assert_string_equal(buf, "30d");
    yj_duration_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "0s");
}

static void test_times(void **state)
{
    (void)state;
    struct yj_err err;
    int64_t ms;
    assert_int_equal(yj_time_parse("2026-11-22T09:30:00+08:00", &ms, &err), 0);
    int64_t utc;
    assert_int_equal(yj_time_parse("2026-11-22T01:30:00Z", &utc, &err), 0);
    assert_true(ms == utc);
    assert_int_equal(yj_time_parse("2026-11-22T01:30:00.250Z", &ms, &err), 0);
    assert_true(ms == utc + 250);
    assert_int_equal(yj_time_parse("1700000000000", &ms, &err), 0);
    assert_true(ms == INT64_C(1700000000000));
    assert_int_equal(yj_time_parse("2026-13-01T00:00:00Z", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_time_parse("yesterday", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_time_parse("2026-11-22T01:30:00", &ms, &err), YJ_EINVAL); /* zone required */
    char buf[40];
    yj_time_rfc3339(utc + 250, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-22T01:30:00.250Z");
    /* Only what can be written back as RFC 3339: after 1970, before the year 10000. */
    assert_int_equal(yj_time_parse("1969-12-31T23:59:58.500Z", &ms, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(yj_time_parse("0", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_time_parse("253402300800000", &ms, &err), YJ_EINVAL);
    assert_int_equal(yj_time_parse("9999-12-31T23:59:59.999Z", &ms, &err), 0);
    assert_true(ms == YJ_TIME_MAX);
}

/* The allow-list's address parser agrees with inet_pton, without copying. */
static void test_ip_parse(void **state)
{
    (void)state;
    static const char *const cases[] = {"1.2.3.4",   "255.255.255.255", "0.0.0.0",  "256.1.1.1", "1.2.3",
                                        "1.2.3.4.5", "01.2.3.4",        "1..2.3",   "a.b.c.d",   "1.2.3.4 ",
                                        "::1",       "2001:db8::7",     "::ffff:1.2.3.4", "",    "1.2.3.04",
                                        "10.0.0.255", "1.2.3.1000"};
    for (size_t i = 0; i < YJ_ARRAY_LEN(cases); i++) {
        unsigned char got[16] = {0}, want[16] = {0};
        int family = yj_ip_parse(cases[i], strlen(cases[i]), got);
        int expect = inet_pton(AF_INET, cases[i], want) == 1 ? AF_INET : inet_pton(AF_INET6, cases[i], want) == 1 ? AF_INET6 : 0;
        if (family != expect || (family && memcmp(got, want, family == AF_INET ? 4 : 16) != 0))
            fail_msg("\"%s\": %d, inet_pton says %d", cases[i], family, expect);
    }
    /* Not NUL-terminated: the length decides. */
    unsigned char a[16];
    assert_int_equal(yj_ip_parse("10.9.9.41 port", 9, a), AF_INET);
    assert_int_equal(a[3], 41);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_text_check),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_ip_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
