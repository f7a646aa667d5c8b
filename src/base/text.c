/* text.c: UTF-8 and field checks for input from the command line, files and the network.
 * Pure functions over bytes; never allocates. */
#include "common.h"
#include "text.h"


bool yj_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* Log lines are mostly ASCII: skip eight such bytes at a time. */
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & UINT64_C(0x8080808080808080))) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        size_t need;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

size_t yj_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int text_check(const char *what, const char *s, size_t max_chars, int flags, struct yj_err *err);

int yj_text_check(const char *what, const char *s, size_t max_chars, int flags, struct yj_err *err)
{
    int rc = text_check(what, s, max_chars, flags, err);
    if (rc < 0)
        yj_err_field(err, what);
    return rc;
}

static int text_check(const char *what, const char *s, size_t max_chars, int flags, struct yj_err *err)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    if (!yj_utf8_valid(s, len))
        return yj_err_set(err, YJ_EINVAL, "%s: not valid UTF-8 text", what);
    if (yj_utf8_len(s) > max_chars)
        return yj_err_set(err, YJ_EINVAL, "%s: too long (%zu characters, at most %zu)", what,
                          yj_utf8_len(s), max_chars);
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            if (flags & YJ_TEXT_SINGLE_LINE)
                return yj_err_set(err, YJ_EINVAL, "%s: must be a single line", what);
        } else if ((*p < 0x20 && *p != '\t') || *p == 0x7F) {
            return yj_err_set(err, YJ_EINVAL, "%s: contains control character 0x%02x", what, *p);
        }
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            blank = false;
    }
    if ((flags & YJ_TEXT_NONEMPTY) && blank)
        return yj_err_set(err, YJ_EINVAL, "%s: must not be empty", what);
    return 0;
}

int yj_size_parse(const char *s, int64_t *out, struct yj_err *err)
{
    static const struct {
        const char *unit;
        int64_t mul;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"KB", INT64_C(1) << 10},
                 {"KiB", INT64_C(1) << 10},
                 {"MB", INT64_C(1) << 20},
                 {"MiB", INT64_C(1) << 20},
                 {"GB", INT64_C(1) << 30},
                 {"GiB", INT64_C(1) << 30}};
    const char *p = s;
    int64_t n = 0;
    if (!s || *p < '0' || *p > '9')
        return yj_err_set(err, YJ_EINVAL, "bad size \"%s\": write e.g. 1MiB, 512KiB or 65536", s ? s : "");
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > (INT64_C(1) << 40))
            return yj_err_set(err, YJ_EINVAL, "bad size \"%s\": too large", s);
        p++;
    }
    for (size_t i = 0; i < YJ_ARRAY_LEN(units); i++)
        if (strcmp(p, units[i].unit) == 0) {
            *out = n * units[i].mul;
            return 0;
        }
    return yj_err_set(err, YJ_EINVAL, "bad size \"%s\": unit must be one of B, KiB, MiB, GiB", s);
}

enum yj_target_kind yj_target_form(const char *target, char *why, size_t why_cap)
{
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0)
        return YJ_TARGET_URL;
    bool icmp = strncmp(target, "icmp:", 5) == 0, dns = strncmp(target, "dns:", 4) == 0;
    if (icmp || dns) {
        const char *name = target + (icmp ? 5 : 4);
        size_t n = strlen(name);
        bool ok = n > 0 && n <= 253 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") == n;
        if (ok)
            return icmp ? YJ_TARGET_ICMP : YJ_TARGET_DNS;
        snprintf(why, why_cap, "\"%.200s\": after %s comes a host name or address", target, icmp ? "icmp:" : "dns:");
        return YJ_TARGET_BAD;
    }
    const char *colon = strrchr(target, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == target || !end || *end || end == colon + 1 || port < 1 || port > 65535 ||
        strchr(target, '/')) {
        snprintf(why, why_cap, "\"%.200s\" is neither an http(s):// URL, HOST:PORT, icmp:HOST nor dns:NAME", target);
        return YJ_TARGET_BAD;
    }
    return YJ_TARGET_TCP;
}
