/* logline.c: syslog prefix parsing on the hot path of every log source: no allocation, no
 * locale, a few comparisons per line. */
#include "common.h"
#include "timeutil.h"
#include "logline.h"

#include <time.h>

static int month_of(const char *s)
{
    /* The three letters as one number, compared with twelve numbers: no string compares. */
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    unsigned key =
        (unsigned)(unsigned char)s[0] << 16 | (unsigned)(unsigned char)s[1] << 8 | (unsigned char)s[2];
    for (int m = 0; m < 12; m++) {
        const unsigned char *n = (const unsigned char *)names + 3 * m;
        if (key == ((unsigned)n[0] << 16 | (unsigned)n[1] << 8 | n[2]))
            return m;
    }
    return -1;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "Nov 22 01:38:57" or "Nov  2 01:38:57": 15 characters, in the writer's local time. */
static int64_t rfc3164_time(const char *s, size_t len, struct logline_clock *clock)
{
    if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        return -1;
    for (int i = 7; i < 15; i++)
        if (i != 9 && i != 12 && !digit(s[i]))
            return -1;
    int64_t secs_of_day = ((s[7] - '0') * 10 + s[8] - '0') * 3600 + ((s[10] - '0') * 10 + s[11] - '0') * 60 +
                          (s[13] - '0') * 10 + s[14] - '0';
    if (clock->last_midnight == 0 || memcmp(s, clock->last_day, 6) != 0) {
        int mon = month_of(s);
        if (mon < 0 || !(digit(s[5]) && (digit(s[4]) || s[4] == ' ')))
            return -1;
        int day = (s[4] == ' ' ? 0 : s[4] - '0') * 10 + s[5] - '0';
        memcpy(clock->last_day, s, 6);
        clock->last_midnight =
            yj_days_from_civil(clock->year, mon + 1, day) * 86400 * 1000 - clock->utc_offset_ms;
    }
    return clock->last_midnight + secs_of_day * 1000;
}

void logline_clock_init(struct logline_clock *clock, int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    *clock = (struct logline_clock){.year = tm.tm_year + 1900, .utc_offset_ms = (int64_t)tm.tm_gmtoff * 1000};
}

/* RFC 3164 / rsyslog's RFC 3339: "STAMP host program[pid]: msg". Fills out only when the whole
 * header is there; out->msg already holds the line. */
static void file_header(const char *line, size_t len, struct logline_clock *clock, struct logline *out)
{
    const char *p = line, *end = line + len;
    int64_t t = rfc3164_time(line, len, clock);
    if (t >= 0) {
        p += 15;
    } else if (len > 19 && digit(line[0]) && line[4] == '-' && line[7] == '-' && line[10] == 'T') {
        const char *sp = memchr(line, ' ', len);
        char stamp[64];
        size_t n = sp ? (size_t)(sp - line) : 0;
        struct yj_err err;
        if (!sp || n >= sizeof(stamp))
            return;
        memcpy(stamp, line, n);
        stamp[n] = 0;
        if (yj_time_parse(stamp, &t, &err) < 0)
            return;
        p = sp;
    } else {
        return;
    }
    if (p >= end || *p != ' ')
        return;
    p++;
    const char *host = p;
    while (p < end && *p != ' ')
        p++;
    if (p >= end)
        return;
    const char *host_end = p++;
    /* "program[pid]: " or "program: " */
    const char *prog = p;
    while (p < end && *p != '[' && *p != ':' && *p != ' ')
        p++;
    if (p >= end || p == prog || *p == ' ')
        return;
    const char *prog_end = p;
    if (*p == '[') {
        while (p < end && *p != ']')
            p++;
        if (p >= end)
            return;
        p++;
    }
    if (p >= end || *p != ':')
        return;
    p++;
    if (p < end && *p == ' ')
        p++;
    out->time = t;
    out->host = host;
    out->host_len = (size_t)(host_end - host);
    out->program = prog;
    out->program_len = (size_t)(prog_end - prog);
    out->msg = p;
    out->msg_len = (size_t)(end - p);
}

static const char *field(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    *len = (size_t)(*p - s);
    if (*p < end)
        (*p)++;
    return s;
}

static bool nil(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '-');
}

/* RFC 5424 after "<PRI>1 ": TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]. */
static void rfc5424(const char *p, const char *end, struct logline *out)
{
    size_t l;
    const char *ts = field(&p, end, &l);
    if (!nil(ts, l) && l < 64) {
        char stamp[64];
        memcpy(stamp, ts, l);
        stamp[l] = 0;
        struct yj_err err;
        int64_t t;
        if (yj_time_parse(stamp, &t, &err) == 0)
            out->time = t;
    }
    const char *host = field(&p, end, &l);
    if (!nil(host, l)) {
        out->host = host;
        out->host_len = l;
    }
    const char *app = field(&p, end, &l);
    if (!nil(app, l)) {
        out->program = app;
        out->program_len = l;
    }
    field(&p, end, &l); /* PROCID */
    field(&p, end, &l); /* MSGID */
    if (p < end && *p == '-') {
        p++;
    } else {
        /* Structured data: one or more [..] elements; "\]" does not close one. */
        while (p < end && *p == '[') {
            while (p < end && *p != ']') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            if (p < end)
                p++;
        }
    }
    if (p < end && *p == ' ')
        p++;
    if (end - p >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* the BOM RFC 5424 allows before a UTF-8 message */
    out->msg = p;
    out->msg_len = (size_t)(end - p);
}

void logline_parse(const char *line, size_t len, struct logline_clock *clock, struct logline *out)
{
    memset(out, 0, sizeof(*out));
    out->pri = -1;
    const char *p = line, *end = line + len;
    /* "<PRI>" as a syslog sender puts it before the header (RFC 3164 4.1.1, RFC 5424 6.2.1). */
    if (p < end && *p == '<') {
        int pri = 0, digits = 0;
        const char *q = p + 1;
        while (q < end && digit(*q) && digits < 3) {
            pri = pri * 10 + (*q - '0');
            q++;
            digits++;
        }
        if (digits && q < end && *q == '>' && pri <= 191) {
            out->pri = pri;
            p = q + 1;
        }
    }
    out->msg = p;
    out->msg_len = (size_t)(end - p);
    if (out->pri >= 0 && end - p >= 2 && p[0] == '1' && p[1] == ' ')
        rfc5424(p + 2, end, out);
    else
        file_header(p, (size_t)(end - p), clock, out);
}
