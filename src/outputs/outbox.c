/* outbox.c: the delivery loop over the `deliveries` table. Works from the store alone; the
 * outcome of each attempt commits before the next one starts. Never called on a request thread. */
#include "../base/common.h"
#include "../base/err.h"
#include "../engine/ctx.h"
#include "../engine/incident.h"
#include "../plan/config.h"
#include "../plan/plan.h"
#include "../store/store.h"
#include "notify.h"
#include "outbox.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>

int64_t outbox_backoff(int64_t failures)
{
    int64_t base = 2000;
    for (int64_t i = 1; i < failures && base < 600000; i++)
        base *= 2;
    if (base > 600000)
        base = 600000;
    /* ±20%: many deliveries failing together do not all come back at the same instant. */
    int64_t spread = base / 5;
    return base - spread + (int64_t)randombytes_uniform((uint32_t)(2 * spread + 1));
}

static const struct config_channel *channel_of(const struct config_channel *chs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(chs[i].id, id) == 0)
            return &chs[i];
    return NULL;
}

struct attempt {
    const struct config_channel *ch; /* NULL: the channel left the config */
    struct notify_message m;
    int rc;
    int64_t done_at; /* when the channel answered: a sent notification was handed over then */
    struct yj_err why;
};

struct sender {
    struct attempt *attempts;
    size_t n;
    atomic_size_t *next; /* shared: each sender takes the next attempt, so one slow receiver
                            answer holds up one sender, not every attempt dealt to it */
    void *curl;
    const struct yj_ctx *ctx; /* for its clock */
};

static void *send_some(void *arg)
{
    struct sender *s = arg;
    pthread_setname_np(pthread_self(), "yj-send");
    notify_keep_connections(s->curl);
    for (size_t i; (i = atomic_fetch_add(s->next, 1)) < s->n;) {
        struct attempt *a = &s->attempts[i];
        if (a->ch)
            a->rc = notify_send(a->ch, &a->m, &a->why);
        a->done_at = yj_ctx_now(s->ctx);
    }
    notify_keep_connections(NULL);
    return NULL;
}

static void record(struct yj_ctx *ctx, const struct store_delivery *d, const struct config_channel *ch,
                   const char *kind, const char *error, int64_t retry_at)
{
    if (!d->incident_id)
        return;
    /* The channel's type rides along so that people read 企业微信, not the config's id. */
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:I, s:s?}", "channel", d->channel, "type", ch->type, "recipient",
                  d->recipient, "attempts", (json_int_t)d->attempts + 1, "error", error);
    if (retry_at)
        json_object_set_new(body, "retry_at", json_integer(retry_at));
    struct yj_err err;
    incident_record(ctx, d->incident_id, kind, body, &err); /* the delivery itself is recorded already */
    json_decref(body);
}

/* Stores what one attempt came to (inside the caller's transaction). */
static int settle(struct yj_ctx *ctx, struct store_delivery *d, const struct attempt *a,
                  struct outbox_result *res, struct yj_err *err)
{
    int64_t now = yj_ctx_now(ctx);
    int rc;
    if (!a->ch) {
        /* The channel left the config: nobody will carry this any more. */
        rc = store_delivery_result(ctx->store, d->id, "skipped", d->attempts, now,
                                   "the channel is no longer configured", 0, err);
        res->skipped++;
    } else if (a->rc == 0) {
        now = a->done_at;
        rc = store_delivery_result(ctx->store, d->id, "sent", d->attempts + 1, now, NULL, now, err);
        res->sent++;
        if (rc == 0)
            record(ctx, d, a->ch, "delivered", NULL, 0);
    } else if (a->rc == YJ_EINVAL) {
        rc = store_delivery_result(ctx->store, d->id, "skipped", d->attempts + 1, now, a->why.msg, 0, err);
        res->skipped++;
    } else if (d->attempts + 1 >= OUTBOX_MAX_ATTEMPTS) {
        rc = store_delivery_result(ctx->store, d->id, "failed", d->attempts + 1, now, a->why.msg, 0, err);
        res->failed++;
        if (rc == 0)
            record(ctx, d, a->ch, "delivery_failed", a->why.msg, 0);
    } else {
        int64_t retry = now + outbox_backoff(d->attempts + 1);
        rc = store_delivery_result(ctx->store, d->id, "pending", d->attempts + 1, retry, a->why.msg, 0, err);
        res->retried++;
        /* The first failure goes in the timeline; the retries only in the delivery row. */
        if (rc == 0 && d->attempts == 0)
            record(ctx, d, a->ch, "delivery_retrying", a->why.msg, retry);
    }
    if (rc == 0)
        rc = store_notification_settle(ctx->store, d->notification_id, now, err);
    return rc;
}

/* A delivery row for every configured channel of every notification still waiting (inside the
 * caller's transaction). */
static int expand(struct yj_ctx *ctx, const struct config_channel *channels, size_t n_channels,
                  struct yj_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_channels; i++)
        rc = store_delivery_expand(ctx->store, channels[i].id, err);
    return rc;
}

int outbox_run(struct yj_ctx *ctx, struct outbox *ob, const struct config_channel *channels,
               size_t n_channels, size_t batch, struct outbox_result *out, struct yj_err *err)
{
    struct outbox_result res = {0};
    int rc = 0;
    struct store_delivery ds[OUTBOX_BATCH];
    size_t n = 0;
    if (batch > OUTBOX_BATCH)
        batch = OUTBOX_BATCH;
    if (n_channels)
        rc = store_delivery_due(ctx->store, yj_ctx_now(ctx), ds, batch, &n, err);
    if (rc == 0 && n == 0 && n_channels) {
        /* Nothing routed yet: route what was queued (a transaction of its own only when idle;
         * under load it rides with the previous round's outcomes, below). */
        if ((rc = store_begin(ctx->store, err)) == 0) {
            if ((rc = expand(ctx, channels, n_channels, err)) == 0)
                rc = store_commit(ctx->store, err);
            else
                store_rollback(ctx->store);
        }
        if (rc == 0)
            rc = store_delivery_due(ctx->store, yj_ctx_now(ctx), ds, batch, &n, err);
    }
    if (rc < 0 || n == 0) {
        if (out)
            *out = res;
        return rc;
    }
    /* Send the batch over a few threads at once (the network is the slow part), each keeping its
     * connections; then store every outcome in one transaction. */
    struct attempt *as = xcalloc(n, sizeof(*as));
    for (size_t i = 0; i < n; i++) {
        struct store_delivery *d = &ds[i];
        as[i].ch = channel_of(channels, n_channels, d->channel);
        struct notify_recipient to = {.id = d->recipient};
        if (strncmp(d->recipient, "person:", 7) == 0) {
            const struct plan_person *p = plan_person(ctx->plan, d->recipient + 7);
            if (p)
                to = (struct notify_recipient){d->recipient, p->name, p->contacts.mobile, p->contacts.email};
        }
        as[i].m = (struct notify_message){.key = d->key,
                                          .incident = d->incident[0] ? d->incident : NULL,
                                          .subject = d->subject,
                                          .body = d->body,
                                          .created_at = d->created_at,
                                          .to = to};
    }
    size_t threads = n < OUTBOX_SENDERS ? n : OUTBOX_SENDERS;
    atomic_size_t next = 0;
    struct sender senders[OUTBOX_SENDERS];
    pthread_t tids[OUTBOX_SENDERS];
    for (size_t t = 0; t < threads; t++) {
        senders[t] = (struct sender){as, n, &next, ob ? ob->curl[t] : NULL, ctx};
        pthread_create(&tids[t], NULL, send_some, &senders[t]);
    }
    for (size_t t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    rc = store_begin(ctx->store, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = settle(ctx, &ds[i], &as[i], &res, err);
    /* Route what was queued meanwhile in the same commit: one write transaction per round. */
    if (rc == 0)
        rc = expand(ctx, channels, n_channels, err);
    if (rc == 0)
        rc = store_commit(ctx->store, err);
    else
        store_rollback(ctx->store);
    for (size_t i = 0; i < n; i++)
        store_delivery_release(&ds[i]);
    free(as);
    if (out)
        *out = res;
    return rc;
}

struct outbox *outbox_new(void)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));
    for (size_t i = 0; i < OUTBOX_SENDERS; i++)
        ob->curl[i] = curl_easy_init();
    return ob;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    for (size_t i = 0; i < OUTBOX_SENDERS; i++)
        curl_easy_cleanup(ob->curl[i]);
    free(ob);
}
