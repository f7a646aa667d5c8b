/* text.h: checks every string from outside passes before it is stored or shown. */
#ifndef YJ_TEXT_H
#define YJ_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool yj_utf8_valid(const char *s, size_t len);

/* Number of code points in a valid UTF-8 string. */
size_t yj_utf8_len(const char *s);

enum yj_text_flags {
    YJ_TEXT_SINGLE_LINE = 1, /* refuse \n and \r (titles, ids) */
    YJ_TEXT_NONEMPTY = 2     /* refuse "" and all-blank */
};

/* Checks a text field named `what`: valid UTF-8, at most max_chars code points, no control
 * characters other than tab and (unless YJ_TEXT_SINGLE_LINE) newlines.
 * Returns 0 or YJ_EINVAL with a message naming the field. */
int yj_text_check(const char *what, const char *s, size_t max_chars, int flags, struct yj_err *err);

/* Parses a size: digits with an optional unit B, KB/KiB, MB/MiB, GB/GiB (all binary,
 * 1 KB = 1024 B) — "1MiB", "512KiB", "65536". Writes *out on success; YJ_EINVAL otherwise. */
int yj_size_parse(const char *s, int64_t *out, struct yj_err *err);

/* What a check's target is: an http(s):// URL, HOST:PORT (a port 1-65535), icmp:HOST (echo) or
 * dns:NAME (resolution). YJ_TARGET_BAD with why (at most why_cap bytes) for anything else. */
enum yj_target_kind { YJ_TARGET_BAD = 0, YJ_TARGET_URL, YJ_TARGET_TCP, YJ_TARGET_ICMP, YJ_TARGET_DNS };
enum yj_target_kind yj_target_form(const char *target, char *why, size_t why_cap);

#endif
