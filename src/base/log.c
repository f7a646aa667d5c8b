/* log.c: timestamped lines on stderr. One fprintf per line, so lines from threads never mix. */
#include "common.h"
#include "log.h"
#include "timeutil.h"

__attribute__((format(printf, 2, 0))) static void emit(const char *level, const char *fmt, va_list ap)
{
    char when[40], msg[2048];
    yj_time_rfc3339(yj_now_ms(), when, sizeof(when));
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "%s %s %s\n", when, level, msg);
}

void yj_log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("INFO", fmt, ap);
    va_end(ap);
}

void yj_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("WARN", fmt, ap);
    va_end(ap);
}

void yj_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("ERROR", fmt, ap);
    va_end(ap);
}
