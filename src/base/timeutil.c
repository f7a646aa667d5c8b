/* timeutil.c: parsing and formatting of times and durations. No global state besides the C
 * library's time zone, which main sets once from the plan. */
#include "common.h"
#include "timeutil.h"

#include <ctype.h>
#include <time.h>

int64_t yj_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int yj_duration_parse(const char *s, int64_t *out_ms, struct yj_err *err)
{
    if (!s || !*s)
        return yj_err_set(err, YJ_EINVAL, "empty duration (write e.g. 90s, 15m, 1h, 30d)");
    const char *p = s;
    int64_t total = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return yj_err_set(err, YJ_EINVAL, "bad duration \"%s\": expected a number at \"%s\"", s, p);
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p - '0');
            if (n > INT64_C(100000000))
                return yj_err_set(err, YJ_EINVAL, "bad duration \"%s\": number too large", s);
            p++;
        }
        int64_t unit;
        if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else {
            switch (*p) {
            case 's': unit = YJ_MS_PER_SEC; break;
            case 'm': unit = YJ_MS_PER_MIN; break;
            case 'h': unit = YJ_MS_PER_HOUR; break;
            case 'd': unit = YJ_MS_PER_DAY; break;
            case 'w': unit = 7 * YJ_MS_PER_DAY; break;
            default:
                return yj_err_set(err, YJ_EINVAL,
                                  "bad duration \"%s\": unit must be one of ms, s, m, h, d, w", s);
            }
            p++;
        }
        total += n * unit;
        if (total > 3650 * YJ_MS_PER_DAY)
            return yj_err_set(err, YJ_EINVAL, "bad duration \"%s\": longer than ten years", s);
    }
    *out_ms = total;
    return 0;
}

void yj_duration_format(int64_t ms, char *buf, size_t size)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{YJ_MS_PER_DAY, "d"}, {YJ_MS_PER_HOUR, "h"}, {YJ_MS_PER_MIN, "m"}, {YJ_MS_PER_SEC, "s"},
                 {1, "ms"}};
    size_t off = 0;
    if (size)
        buf[0] = 0;
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    for (size_t i = 0; i < YJ_ARRAY_LEN(units) && ms > 0; i++) {
        if (ms >= units[i].ms) {
            int n = snprintf(buf + off, size - off, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            if (n < 0 || (size_t)n >= size - off)
                return;
            off += (size_t)n;
            ms %= units[i].ms;
        }
    }
}

void yj_time_rfc3339(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

bool yj_time_in_range(int64_t ms)
{
    return ms > 0 && ms <= YJ_TIME_MAX;
}

int yj_time_parse(const char *s, int64_t *out_ms, struct yj_err *err)
{
    const char *p = s;
    bool all_digits = *p != 0;
    for (const char *q = s; *q; q++)
        if (!isdigit((unsigned char)*q))
            all_digits = false;
    if (all_digits && strlen(s) <= 15) {
        int64_t v = 0;
        for (; *p; p++)
            v = v * 10 + (*p - '0');
        if (!yj_time_in_range(v))
            goto range;
        *out_ms = v;
        return 0;
    }
    int Y, M, D, h, m, sec, ms = 0;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' || digits(&p, 2, &D) ||
        (*p != 'T' && *p != 't' && *p != ' '))
        goto bad;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' || digits(&p, 2, &sec))
        goto bad;
    if (*p == '.') {
        p++;
        int scale = 100, n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                ms += (*p - '0') * scale;
            scale /= 10;
            n++;
            p++;
        }
        if (n == 0)
            goto bad;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            goto bad;
        offset_min = sign * (oh * 60 + om);
    } else {
        goto bad;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        goto bad;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    int64_t v = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
    if (!yj_time_in_range(v))
        goto range;
    *out_ms = v;
    return 0;
range:
    return yj_err_set(err, YJ_EINVAL, "time \"%s\" is out of range: after 1970 and before the year 10000", s);
bad:
    return yj_err_set(err, YJ_EINVAL, "bad time \"%s\": expected RFC 3339 (2026-11-22T09:30:00+08:00) or epoch ms",
                      s);
}

void yj_time_local(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

int yj_time_year(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

int yj_date_parse(const char *s, int *y, int *m, int *d)
{
    int Y, M, D, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || s[n] || n != 10 || M < 1 || M > 12 || D < 1 ||
        D > 31)
        return YJ_EINVAL;
    /* Reject 2026-02-31 and the like: the date must survive a round trip. */
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != D || back.tm_mon != M - 1)
        return YJ_EINVAL;
    *y = Y;
    *m = M;
    *d = D;
    return 0;
}

int yj_clock_parse(const char *s, int *minutes)
{
    int h, m, n = 0;
    if (!s || sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || s[n] || n != 5 || h < 0 || h > 23 || m < 0 || m > 59)
        return YJ_EINVAL;
    *minutes = h * 60 + m;
    return 0;
}

int64_t yj_local_to_ms(int y, int m, int d, int minutes)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = minutes / 60,
                    .tm_min = minutes % 60, .tm_isdst = -1};
    return (int64_t)mktime(&tm) * 1000;
}

int yj_local_datetime_parse(const char *s, int64_t *out_ms)
{
    char date[11];
    if (!s || strlen(s) != 16 || s[10] != ' ')
        return YJ_EINVAL;
    memcpy(date, s, 10);
    date[10] = 0;
    int y, m, d, minutes;
    if (yj_date_parse(date, &y, &m, &d) < 0 || yj_clock_parse(s + 11, &minutes) < 0)
        return YJ_EINVAL;
    *out_ms = yj_local_to_ms(y, m, d, minutes);
    return 0;
}

int64_t yj_days_from_civil(int y, int m, int d)
{
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    return (int64_t)timegm(&tm) / 86400;
}
