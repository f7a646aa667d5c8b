/* log.h: one line per event on stderr, with a UTC timestamp and a level. The server logs here;
 * commands report errors through yj_err instead. */
#ifndef YJ_LOG_H
#define YJ_LOG_H

void yj_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void yj_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void yj_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
