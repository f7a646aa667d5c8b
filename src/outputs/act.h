/* act.h: carrying out the automated actions of playbook tasks (a step's `action:`) as the
 * deployment config's `actions:` says: run a program with the incident in its environment, or
 * call an HTTP endpoint. Only tasks that are still to do and, when the plan gates them, approved.
 * Each run's outcome and output go to the task and the incident's timeline. Blocking: called from
 * a thread of its own. */
#ifndef YJ_ACT_H
#define YJ_ACT_H

#include <stddef.h>

struct yj_ctx;
struct yj_err;
struct config_action;

#define ACT_OUTPUT_MAX 4096

struct act_result {
    size_t succeeded, failed, unconfigured;
};

/* Runs the actions due now (at most a few per call). */
int act_run(struct yj_ctx *ctx, const struct config_action *actions, size_t n_actions, struct act_result *out,
            struct yj_err *err);

#endif
