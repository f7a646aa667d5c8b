/* ctx.h: the process context, passed explicitly to everything that needs the plan, the store
 * or the time (no global mutable state). */
#ifndef YJ_CTX_H
#define YJ_CTX_H

#include <stdint.h>

struct plan;
struct store;

struct yj_ctx {
    const struct plan *plan;
    struct store *store;
    const char *actor; /* who is acting: "cli:alice", later a user or token name */
    /* The clock: NULL means the wall clock. Tests inject their own. */
    int64_t (*now)(void *clock_ud);
    void *clock_ud;
    const char *public_url; /* how people reach the console, for links in messages; may be NULL */
};

/* Current time in UTC ms from the context's clock. */
int64_t yj_ctx_now(const struct yj_ctx *ctx);

#endif
