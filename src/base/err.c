/* err.c: filling struct yj_err. Never prints: reporting is the caller's job, once. */
#include "common.h"

int yj_err_set(struct yj_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
        err->field[0] = 0;
        err->zh[0] = 0;
    }
    return code;
}

void yj_err_zh(struct yj_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->zh, sizeof(err->zh), fmt, ap);
    va_end(ap);
}

void yj_err_field(struct yj_err *err, const char *field)
{
    if (err)
        snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
}

void yj_err_prefix(struct yj_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix), ml = strnlen(err->msg, sizeof(err->msg) - 1);
    if (pl + ml > sizeof(err->msg) - 1)
        ml = sizeof(err->msg) - 1 - pl;
    memmove(err->msg + pl, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl + ml] = 0;
}

int yj_err_exit_status(int code)
{
    return code == YJ_EINVAL ? 2 : 1;
}
