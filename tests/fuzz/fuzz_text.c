/* libFuzzer harness for the small text parsers: durations, times, UTF-8 and field checks,
 * syslog messages. */
#include "base/common.h"
#include "base/text.h"
#include "base/timeutil.h"
#include "base/logline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    struct yj_err err;
    int64_t ms;
    if (yj_duration_parse(s, &ms, &err) == 0) {
        char buf[64];
        yj_duration_format(ms, buf, sizeof(buf));
        int64_t again;
        /* What we print we must be able to read back to the same value. */
        if (yj_duration_parse(buf, &again, &err) != 0 || again != ms)
            abort();
    }
    (void)yj_time_parse(s, &ms, &err);
    (void)yj_utf8_valid((const char *)data, size);
    (void)yj_text_check("f", s, 100, YJ_TEXT_SINGLE_LINE, &err);
    struct logline_clock clock = {.year = 2026};
    struct logline m;
    logline_parse((const char *)data, size, &clock, &m);
    if (m.msg < (const char *)data || m.msg + m.msg_len > (const char *)data + size)
        abort(); /* the message must lie within the input */
    free(s);
    return 0;
}
