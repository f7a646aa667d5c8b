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

/* Where the built-in restore_files (`integrity: true`) finds the watched web roots and the copies
 * of their baseline files (DATA/integrity), and puts what it takes away (DATA/integrity/quarantine). */
struct config_integrity;
struct act_restore_source {
    const struct config_integrity *watches;
    size_t n_watches;
    const char *copies;
};

/* Runs the actions due now (at most a few per call), after recording the blocks whose time ran
 * out (the kernel has let them go). restore may be NULL (no built-in restore). */
int act_run(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions,
            const struct act_restore_source *restore, struct act_result *out, struct yj_err *err);

/* The built-in restore: every file the incident's integrity signals name goes back to its
 * baseline content (from the copies; written beside it and renamed over it); files that were
 * added are moved to the quarantine (kept as evidence). Paths are taken only inside their watched
 * root, never through a symbolic link out of it. 0 with out listing what was done, or -1 with
 * why. */
int act_restore_files(struct yj_ctx *ctx, int64_t incident_id, const struct act_restore_source *src, char *out,
                      size_t out_cap, char *why, size_t why_cap);

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
