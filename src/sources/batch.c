/* batch.c: the signal batch shared by every source. Fixed size, so a source's memory is bounded
 * whatever arrives; what does not fit waits for the batch to be stored. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "../base/log.h"
#include "batch.h"

#include <pthread.h>
#include <stdatomic.h>

static char *own(struct signal_batch *b, struct batch_text t)
{
    if (!t.s)
        return NULL;
    char *c = xstrndup(t.s, t.len);
    b->owned[b->n_owned++] = c;
    return c;
}

bool signal_batch_add(struct signal_batch *b, const char *source, int64_t time, struct batch_text host,
                      struct batch_text program, struct batch_text message, const char *asset)
{
    struct store_signal *s = &b->sigs[b->n++];
    *s = (struct store_signal){.received_at = yj_now_ms(), .source = source, .asset = asset};
    s->time = time ? time : s->received_at;
    s->host = own(b, host);
    s->program = own(b, program);
    s->message = own(b, message);
    return b->n == SIGNAL_BATCH_MAX;
}

void signal_batch_clear(struct signal_batch *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    b->n = b->n_owned = 0;
}

struct batch_pipe {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct signal_batch **ring;
    size_t cap, head, n;
    bool stop;
    bool busy; /* the thread is storing a batch */
    batch_deliver_fn deliver;
    void *ud;
    batch_idle_fn idle;
    void *idle_ud;
    atomic_ullong queued, full, unstored, retries;
};

static void *pipe_main(void *arg)
{
    struct batch_pipe *p = arg;
    pthread_setname_np(pthread_self(), "yj-store-sig");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->n == 0 && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->n == 0)
            break;
        struct signal_batch *b = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        p->busy = true;
        /* A store that refuses (busy, disk full) is retried every second while the queue behind
         * absorbs what arrives; only at stop is a batch given up, and counted. */
        bool told = false;
        for (;;) {
            pthread_mutex_unlock(&p->lock);
            int rc = p->deliver(b->sigs, b->n, p->ud);
            pthread_mutex_lock(&p->lock);
            if (rc == 0)
                break;
            if (p->stop) {
                atomic_fetch_add(&p->unstored, b->n);
                yj_log_error("stopping: could not store %zu signals; they are dropped", b->n);
                break;
            }
            if (!told)
                yj_log_error("the store refused %zu signals; retrying every second", b->n);
            told = true;
            atomic_fetch_add(&p->retries, 1);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
        p->busy = false;
        pthread_mutex_unlock(&p->lock);
        atomic_fetch_sub(&p->queued, b->n);
        signal_batch_clear(b);
        free(b);
        pthread_mutex_lock(&p->lock);
        if (p->n == 0 && p->idle && !p->stop) {
            pthread_mutex_unlock(&p->lock);
            p->idle(p->idle_ud);
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct batch_pipe *batch_pipe_start(size_t max_batches, batch_deliver_fn deliver, void *ud, batch_idle_fn idle,
                                    void *idle_ud)
{
    struct batch_pipe *p = xcalloc(1, sizeof(*p));
    p->cap = max_batches ? max_batches : 1;
    p->ring = xcalloc(p->cap, sizeof(struct signal_batch *));
    p->deliver = deliver;
    p->ud = ud;
    p->idle = idle;
    p->idle_ud = idle_ud;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_create(&p->thread, NULL, pipe_main, p);
    return p;
}

bool batch_pipe_push(struct batch_pipe *p, struct signal_batch *b)
{
    pthread_mutex_lock(&p->lock);
    bool room = p->n < p->cap;
    if (room) {
        p->ring[(p->head + p->n) % p->cap] = b;
        p->n++;
        atomic_fetch_add(&p->queued, b->n);
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    if (!room) {
        atomic_fetch_add(&p->full, b->n);
        signal_batch_clear(b);
        free(b);
    }
    return room;
}

bool batch_pipe_idle(struct batch_pipe *p)
{
    pthread_mutex_lock(&p->lock);
    bool idle = p->n == 0 && !p->busy;
    pthread_mutex_unlock(&p->lock);
    return idle;
}

void batch_pipe_stop(struct batch_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->ring);
    free(p);
}

void batch_pipe_get_counts(struct batch_pipe *p, struct batch_pipe_counts *out)
{
    out->queued = atomic_load(&p->queued);
    out->full = atomic_load(&p->full);
    out->unstored = atomic_load(&p->unstored);
    out->retries = atomic_load(&p->retries);
}
