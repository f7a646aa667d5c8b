/* ctx.h: the process context, passed explicitly to everything that needs the plan, the store
 * or the time (no global mutable state). */
#ifndef YJ_CTX_H
#define YJ_CTX_H

#include <stdbool.h>
#include <stdint.h>

struct plan;
struct store;

/* Who the acting account is in the plan, for the decisions the plan gives to people (启动预案 by
 * the leading group): set by the API for a logged-in person; NULL for the command line, whose user
 * is the operator of the machine. */
struct yj_decider {
    const char *person;         /* the plan person the account is, NULL or "" for none */
    const char *on_behalf;      /* 代录: the reason for recording another's decision, or NULL */
    bool may_record_for_others; /* an administrator: may 代录, with a reason */
};

struct yj_ctx {
    const struct plan *plan;
    struct store *store;
    const char *actor; /* who is acting: "cli:alice", later a user or token name */
    /* The clock: NULL means the wall clock. Tests inject their own. */
    int64_t (*now)(void *clock_ud);
    void *clock_ud;
    const char *public_url; /* how people reach the console, for links in messages; may be NULL */
    const struct yj_decider *decider; /* NULL: decisions are not checked against the actor */
};

/* A decision recorded in by's name (a plan person): the acting person's own, or an
 * administrator's 代录 with its reason (then *proxy, a new json_t *, says who recorded it and why);
 * YJ_EDENIED otherwise, with the field "by". No decider (the command line): allowed. */
struct json_t;
struct yj_err;
int yj_decider_check(const struct yj_ctx *ctx, const char *by, struct json_t **proxy, struct yj_err *err);

/* Current time in UTC ms from the context's clock. */
int64_t yj_ctx_now(const struct yj_ctx *ctx);

#endif
