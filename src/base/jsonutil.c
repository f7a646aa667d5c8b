/* jsonutil.c: see jsonutil.h. */
#include "common.h"
#include "jsonutil.h"
#include "timeutil.h"

json_t *yj_json_time(int64_t ms)
{
    if (!ms)
        return json_null();
    char buf[40];
    yj_time_rfc3339(ms, buf, sizeof(buf));
    return json_string(buf);
}

json_t *yj_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}
