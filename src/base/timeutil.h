/* timeutil.h: the project's one notion of time. Stored and computed as UTC milliseconds since
 * the epoch (int64_t); durations are written in config as "90s", "15m", "1h", "30d". */
#ifndef YJ_TIMEUTIL_H
#define YJ_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

struct yj_err;

#define YJ_MS_PER_SEC INT64_C(1000)
#define YJ_MS_PER_MIN (60 * YJ_MS_PER_SEC)
#define YJ_MS_PER_HOUR (60 * YJ_MS_PER_MIN)
#define YJ_MS_PER_DAY (24 * YJ_MS_PER_HOUR)

/* Wall-clock now in UTC ms. */
int64_t yj_now_ms(void);

/* Parses a duration: one or more <number><unit> parts, unit one of ms s m h d w
 * ("90s", "1h30m", "0s"). Writes *out_ms on success; YJ_EINVAL with a reason otherwise. */
int yj_duration_parse(const char *s, int64_t *out_ms, struct yj_err *err);

/* Formats a duration compactly ("1h", "30d", "1h30m"). */
void yj_duration_format(int64_t ms, char *buf, size_t size);

/* RFC 3339 in UTC with milliseconds: 2026-11-22T01:38:57.123Z. */
void yj_time_rfc3339(int64_t ms, char *buf, size_t size);

/* Parses RFC 3339 (with Z or an offset, optional fraction) or plain epoch ms digits. */
int yj_time_parse(const char *s, int64_t *out_ms, struct yj_err *err);
/* The times the program stores and writes as RFC 3339: after the epoch (0 means "not yet") and up
 * to 9999-12-31T23:59:59.999Z. yj_time_parse refuses others. */
#define YJ_TIME_MAX INT64_C(253402300799999)
bool yj_time_in_range(int64_t ms);

/* "2026-11-22 09:38:05" in the process's local time zone (main sets TZ to the plan's zone). */
void yj_time_local(int64_t ms, char *buf, size_t size);

/* Calendar year of ms in the local time zone (incident numbers count per year). */
int yj_time_year(int64_t ms);

/* Local dates and times, in the process's time zone (TZ is set to the plan's). */
/* "YYYY-MM-DD" → y, m, d; YJ_EINVAL for anything else, 2026-02-31 included. */
int yj_date_parse(const char *s, int *y, int *m, int *d);
/* "HH:MM" → minutes after midnight; YJ_EINVAL otherwise. */
int yj_clock_parse(const char *s, int *minutes);
/* A local date and time of day as UTC ms. */
int64_t yj_local_to_ms(int y, int m, int d, int minutes);
/* "YYYY-MM-DD HH:MM" local → UTC ms; YJ_EINVAL otherwise. */
int yj_local_datetime_parse(const char *s, int64_t *out_ms);
/* Days since 1970-01-01 of a calendar date (for counting shifts). */
int64_t yj_days_from_civil(int y, int m, int d);

#endif
