/* directory.h: the plan's directory as the console keeps it — people and their phone numbers, the
 * rotations' people — and shift swaps (换班) between the people on duty. The plan file stays as
 * written; the store's edits and accepted swaps are laid over it whenever the plan is loaded
 * (plan_load_edited), so what an admin changes is in force at once, for routing, the roster, the
 * messages' phone numbers and the console alike. */
#ifndef YJ_DIRECTORY_H
#define YJ_DIRECTORY_H

#include <stdint.h>

struct plan;
struct plan_diags;
struct store;
struct yj_ctx;
struct yj_err;

/* The plan in force: the file's with the store's edits over it. When the edits no longer fit the
 * file (it changed under them), the file's plan alone, and *edits_error (malloc'd) says why. */
int directory_plan(const char *path, struct store *st, struct plan **out, char **edits_error,
                   struct plan_diags *diags, struct yj_err *err);

/* Stores an edit — kind "person" (body {id, name, title, unit, contacts}) or "rotation" (body {id,
 * people}) — after checking that the whole plan still loads with it; audited (directory.person,
 * directory.rotation) in the same transaction. The caller then puts the plan in force anew
 * (directory_plan), as every node must. */
int directory_put(struct yj_ctx *ctx, const char *plan_path, const char *kind, const char *key, const char *body,
                  struct yj_err *err);
/* Takes an edit back (the file's entry again; a person added in the console is gone, refused
 * while anything names them). */
int directory_remove(struct yj_ctx *ctx, const char *plan_path, const char *kind, const char *key,
                     struct yj_err *err);

/* A swap asked for: requester's shift of rotation on date (YYYY-MM-DD, the local date it starts)
 * to taker, and with back_date the taker's shift of that date to the requester. The requester is
 * the acting person (ctx->decider), or anyone an administrator names with a reason (代录). */
struct directory_swap_ask {
    const char *rotation;
    const char *date;
    const char *requester; /* NULL: the acting person */
    const char *taker;
    const char *back_date; /* or NULL */
    const char *reason;
};
int directory_swap_ask(struct yj_ctx *ctx, const struct directory_swap_ask *ask, int64_t *id, struct yj_err *err);

/* answer: "accept" or "decline" (the taker's), "withdraw" (the requester's); an administrator
 * answers for either with a reason. An accepted swap is in force once the plan is loaded anew
 * (directory_plan), as after directory_put. */
int directory_swap_answer(struct yj_ctx *ctx, const char *plan_path, int64_t id, const char *answer,
                          struct yj_err *err);

/* {"swaps": [...]} with names: every swap, the newest first (status NULL) or of one status. */
void *directory_swaps_json(struct yj_ctx *ctx, const char *status, struct yj_err *err);
/* One swap in the same shape; NULL with err (YJ_ENOTFOUND) when there is none. */
void *directory_swap_json(struct yj_ctx *ctx, int64_t id, struct yj_err *err);

#endif
