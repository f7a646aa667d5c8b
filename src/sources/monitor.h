/* monitor.h: availability monitors on a schedule (issue 7). Each target is checked every interval
 * with the same check as `yingji probe`, all of them through one libcurl multi handle driven by a
 * libuv loop in a thread of its own. The runner knows nothing of incidents: it reports every
 * check (in a batch once a second) and every change between up and down (and of a certificate
 * between far from and near its end) to the callbacks. */
#ifndef YJ_MONITOR_H
#define YJ_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

struct yj_err;

struct monitor_spec {
    const char *id;
    struct probe_target probe; /* target, timeout, keyword, absent, CA file, certificate warning */
    int64_t interval_ms;
    int retries;   /* failed checks in a row tolerated before the target counts as down */
    bool was_down; /* as last stored: the first good check then reports the recovery */
    int64_t cert_expires_at; /* as last stored (0: none): a certificate near its end then, renewed
                                since, is reported (one still near its end is reported at the
                                first check in any case) */
};

struct monitor_check {
    const char *id;
    int64_t at; /* when the check ended, UTC ms */
    struct probe_result r;
};

/* A target went down or came back; or (certificate) its TLS certificate came within the warning's
 * days of its end (up false) or, renewed, out of them again (up true). */
struct monitor_change {
    const char *id;
    int64_t at;
    bool up;
    const char *reason; /* down: the last failure; a certificate ending: the warning; else "" */
    int failures;       /* down: failed checks in a row */
    bool certificate;
    int64_t cert_expires_at; /* certificate: its end, ms */
};

/* Both run on the runner's thread; what they are given is only valid during the call. */
typedef void (*monitor_checks_fn)(const struct monitor_check *checks, size_t n, void *ud);
typedef void (*monitor_change_fn)(const struct monitor_change *change, void *ud);

struct monitor_runner;

/* Starts checking specs[0..n) (copied; the strings they point to must outlive the runner). The
 * first checks are spread over the first interval so that many monitors never fire together.
 * 0, or YJ_EIO when the loop or libcurl cannot start. */
int monitor_runner_start(const struct monitor_spec *specs, size_t n, monitor_checks_fn on_checks,
                         monitor_change_fn on_change, void *ud, struct monitor_runner **out,
                         struct yj_err *err);
/* Abandons checks in flight, reports the checks made so far, joins the thread. NULL is a no-op. */
void monitor_runner_stop(struct monitor_runner *r);

#endif
