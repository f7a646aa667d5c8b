/* logline.h: splitting a log line into time, host, program and message — the one parser for
 * every way a line comes in (log files, the syslog receiver, the signals API): the syslog file
 * formats Debian writes (RFC 3164 "Nov 22 01:38:57 host sshd[123]: ..." and rsyslog's RFC 3339
 * "2026-11-22T01:38:57.123+08:00 host sshd[123]: ..."), each optionally after a "<PRI>" as a
 * syslog sender writes it, and RFC 5424 ("<PRI>1 STAMP HOST APP PROCID MSGID SD MSG"). Lines of
 * another shape are all message. */
#ifndef YJ_LOGLINE_H
#define YJ_LOGLINE_H

#include <stddef.h>
#include <stdint.h>

struct logline {
    int pri;      /* the syslog priority, -1 when absent */
    int64_t time; /* UTC ms; 0 when the line has no recognised time */
    const char *host;
    size_t host_len;
    const char *program; /* NULL when unknown */
    size_t program_len;
    const char *msg;
    size_t msg_len;
};

/* How to read RFC 3164 stamps, which carry neither year nor zone: the current year and the
 * local UTC offset, taken once (the offset of a daylight-saving change is not followed). */
struct logline_clock {
    int year;
    int64_t utc_offset_ms;
    /* The last day read ("Nov 22") and its midnight: consecutive lines mostly share their day. */
    char last_day[6];
    int64_t last_midnight; /* UTC ms of local midnight; 0: nothing cached */
};
void logline_clock_init(struct logline_clock *clock, int64_t now_ms);

/* Parses line[0..len) into out (pointers into line). Never fails: at worst everything (after a
 * priority) is message; program is set only when a whole header was recognised. Updates the clock's stamp cache: one clock per thread. */
void logline_parse(const char *line, size_t len, struct logline_clock *clock, struct logline *out);

#endif
