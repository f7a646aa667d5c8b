/* clock.h: everything time-based that the plan demands, driven from the store (DESIGN §1): a
 * deadline passed unmet is recorded once and starts the plan's escalation policy; each due step
 * of a running escalation queues notifications (the outbox) for whom it names. Nothing is held
 * in memory: the server calls clock_tick every second and a restart picks up where it left off —
 * a deadline missed while the server was down fires at the first tick. Time comes from the
 * context, so tests drive it with their own clock. */
#ifndef YJ_CLOCK_H
#define YJ_CLOCK_H

#include <stdbool.h>
#include <stddef.h>

struct yj_ctx;
struct yj_err;

struct clock_result {
    size_t overdue;       /* deadlines found overdue */
    size_t steps;         /* escalation steps run */
    size_t notifications; /* notifications queued */
    size_t stopped;       /* escalations stopped (deadline met, incident closed, policy gone) */
    bool more;            /* a batch was full: more may be due already; tick again at once */
};

/* Runs what is due at yj_ctx_now(ctx). *out (may be NULL) counts what was done. One caller at a
 * time per store (the server's ticker); safe to repeat: each effect is recorded before the next. */
int clock_tick(struct yj_ctx *ctx, struct clock_result *out, struct yj_err *err);

/* The daily message of the audit chain's signed head to the plan's office (its group of kind
 * office: leaders, else its office unit's head; else the leading group's leaders), so that a copy
 * of it lives outside the store (DESIGN §7). day ("2026-12-03") keys it: sent once a day.
 * *queued counts the notifications queued (0 when sent already). */
struct audit_checkpoint;
int clock_announce_checkpoint(struct yj_ctx *ctx, const struct audit_checkpoint *cp, const char *day, size_t *queued,
                              struct yj_err *err);

#endif
