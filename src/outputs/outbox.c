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

/* The senders: OUTBOX_SENDERS threads started once (each round had started its own: at 1,000
 * incidents/s some 300 thread starts and stack unmaps a second, each unmap a TLB shootdown across
 * the process). A round hands them its attempts; each takes the next one, so one slow receiver
 * holds up one sender, not every attempt dealt to it. */
struct sender {
    struct outbox *ob;
    size_t index;
};

struct outbox {
    void *curl[OUTBOX_SENDERS];
    struct sender slots[OUTBOX_SENDERS]; /* what each thread is told of itself */
    pthread_t threads[OUTBOX_SENDERS];
    size_t n_threads;
    pthread_mutex_t lock;
    pthread_cond_t work, done;
    uint64_t round;  /* moves when a round's attempts are handed over */
    size_t running;  /* senders still in this round */
    bool stop;
    struct attempt *attempts;
    size_t n;
    atomic_size_t next;
    const struct yj_ctx *ctx; /* for its clock */
};

static void send_attempt(struct attempt *a, const struct yj_ctx *ctx)
{
    if (a->ch)
        a->rc = notify_send(a->ch, &a->m, &a->why);
    a->done_at = yj_ctx_now(ctx);
}

static void *send_some(void *arg)
{
    const struct sender *me = arg;
    struct outbox *ob = me->ob;
    pthread_setname_np(pthread_self(), "yj-send");
    notify_keep_connections(ob->curl[me->index]);
    uint64_t seen = 0;
    pthread_mutex_lock(&ob->lock);
    for (;;) {
        while (!ob->stop && ob->round == seen)
            pthread_cond_wait(&ob->work, &ob->lock);
        if (ob->stop)
            break;
        seen = ob->round;
        pthread_mutex_unlock(&ob->lock);
        for (size_t i; (i = atomic_fetch_add(&ob->next, 1)) < ob->n;)
            send_attempt(&ob->attempts[i], ob->ctx);
        pthread_mutex_lock(&ob->lock);
        if (--ob->running == 0)
            pthread_cond_signal(&ob->done);
    }
    pthread_mutex_unlock(&ob->lock);
    notify_keep_connections(NULL);
    return NULL;
}

/* Sends the round's attempts over the senders and waits for all of them. */
static void send_round(struct outbox *ob, struct attempt *as, size_t n, const struct yj_ctx *ctx)
{
    if (!ob->n_threads) {
        notify_keep_connections(ob->curl[0]);
        for (size_t i = 0; i < n; i++)
            send_attempt(&as[i], ctx);
        notify_keep_connections(NULL);
        return;
    }
    pthread_mutex_lock(&ob->lock);
    ob->attempts = as;
    ob->n = n;
    atomic_store(&ob->next, 0);
    ob->ctx = ctx;
    ob->running = ob->n_threads;
    ob->round++;
    pthread_cond_broadcast(&ob->work);
    while (ob->running)
        pthread_cond_wait(&ob->done, &ob->lock);
    pthread_mutex_unlock(&ob->lock);
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
    send_round(ob, as, n, ctx);
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
    pthread_mutex_init(&ob->lock, NULL);
    pthread_cond_init(&ob->work, NULL);
    pthread_cond_init(&ob->done, NULL);
    for (size_t i = 0; i < OUTBOX_SENDERS; i++)
        ob->curl[i] = curl_easy_init();
    /* Each thread keeps the handle of its slot; a thread that cannot start leaves its handle
     * unused (with none at all, rounds are sent on the outbox's own thread). */
    for (size_t i = 0; i < OUTBOX_SENDERS; i++) {
        ob->slots[ob->n_threads] = (struct sender){ob, ob->n_threads};
        if (pthread_create(&ob->threads[ob->n_threads], NULL, send_some, &ob->slots[ob->n_threads]) == 0)
            ob->n_threads++;
    }
    return ob;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    pthread_mutex_lock(&ob->lock);
    ob->stop = true;
    pthread_cond_broadcast(&ob->work);
    pthread_mutex_unlock(&ob->lock);
    for (size_t i = 0; i < ob->n_threads; i++)
        pthread_join(ob->threads[i], NULL);
    for (size_t i = 0; i < OUTBOX_SENDERS; i++)
        curl_easy_cleanup(ob->curl[i]);
    pthread_cond_destroy(&ob->work);
    pthread_cond_destroy(&ob->done);
    pthread_mutex_destroy(&ob->lock);
    free(ob);
}
