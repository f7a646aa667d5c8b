/* outbox.h: delivering the queued notifications (the outbox) through the configured channels:
 * one delivery per notification and channel, retried with exponential backoff and jitter while a
 * channel fails, each outcome recorded before the next attempt, so a restart or a channel that
 * is down for a while loses nothing. At-least-once: a delivery that reached the receiver but
 * whose answer was lost is sent again with the same idempotency key. */
#ifndef YJ_OUTBOX_H
#define YJ_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct yj_ctx;
struct yj_err;
struct config_channel;

#define OUTBOX_MAX_ATTEMPTS 60 /* about eight hours at the 10-minute ceiling, then `failed` */

struct outbox_result {
    size_t sent, retried, skipped, failed;
};

/* Routes new notifications to every channel and runs the deliveries due now (at most batch).
 * Blocking: the HTTP calls happen here; call it from a thread of its own. */
int outbox_run(struct yj_ctx *ctx, const struct config_channel *channels, size_t n_channels, size_t batch,
               struct outbox_result *out, struct yj_err *err);

/* The wait before attempt n+1 after n failures: 2 s doubling to 10 min, ±20% jitter. */
int64_t outbox_backoff(int64_t failures);

#endif
