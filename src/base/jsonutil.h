/* jsonutil.h: the two JSON values every output needs: a time (RFC 3339 UTC, or null for "not
 * yet") and a string that may be absent (null). */
#ifndef YJ_JSONUTIL_H
#define YJ_JSONUTIL_H

#include <jansson.h>
#include <stdint.h>

/* "2026-11-22T01:38:57.123Z", or null when ms is 0. New reference. */
json_t *yj_json_time(int64_t ms);
/* The string, or null when s is NULL. New reference. */
json_t *yj_json_str(const char *s);

#endif
