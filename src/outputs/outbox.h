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

#define OUTBOX_BATCH 64  /* deliveries per round */
#define OUTBOX_SENDERS 8 /* sent at once */

/* What stays between rounds: the sender threads, each with its HTTP handle, so connections are
 * reused and no thread is started per round. */
struct outbox;
struct outbox *outbox_new(void);
void outbox_free(struct outbox *ob);

/* Routes new notifications to every channel and runs the deliveries due now (at most batch,
 * OUTBOX_SENDERS at a time), then stores every outcome in one transaction. Blocking: call it from
 * a thread of its own. ob (outbox_new) holds the senders. */
int outbox_run(struct yj_ctx *ctx, struct outbox *ob, const struct config_channel *channels, size_t n_channels,
               size_t batch, struct outbox_result *out, struct yj_err *err);

/* The wait before attempt n+1 after n failures: 2 s doubling to 10 min, ±20% jitter. */
int64_t outbox_backoff(int64_t failures);

#endif
