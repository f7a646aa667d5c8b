/* act.h: carrying out the automated actions of playbook tasks (a step's `action:`) as the
 * deployment config's `actions:` says: run a program with the incident in its environment, or
 * call an HTTP endpoint. Only tasks that are still to do and, when the plan gates them, approved.
 * Each run's outcome and output go to the task and the incident's timeline. Blocking: called from
 * a thread of its own. */
#ifndef YJ_ACT_H
#define YJ_ACT_H

#include <stddef.h>
#include <stdint.h>

struct yj_ctx;
struct yj_err;
struct config_action;
struct store_block;

#define ACT_OUTPUT_MAX 4096
#define ACT_MAX_ADDRESSES 64 /* addresses one block_ip action blocks at most */
#define ACT_RESTORE_MAX 4096 /* active blocks put back at start or searched to release */
#define ACT_BLOCK_DEFAULT_MS (INT64_C(24) * 3600 * 1000)

struct act_result {
    size_t succeeded, failed, unconfigured;
};

/* Runs the actions due now (at most a few per call), after recording the blocks whose time ran
 * out (the kernel has let them go). */
int act_run(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, struct act_result *out,
            struct yj_err *err);

/* At start: puts the active blocks of the store back into the kernel with the time they have
 * left (a reboot empties nftables sets). *restored gets how many. No-op without nftables. */
int act_restore_blocks(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, size_t *restored,
                       struct yj_err *err);

/* Unblocks an address before its time (by ctx->actor, with an optional note): out of the kernel's
 * set, released in the store, on the incident's timeline and in the audit log. YJ_ENOTFOUND when
 * the address is not blocked. */
int act_release_block(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, const char *address,
                      const char *note, struct yj_err *err);

/* A block as the API and `yingji block list --json` show it (times in RFC 3339). */
void *act_block_json(const struct store_block *b);

#endif
