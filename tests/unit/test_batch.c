/* Unit tests for src/sources/batch.c: the queue between a source's socket and the thread that
 * stores its signals — nothing lost while the store is slow or refusing, and the source told
 * when the storing thread has caught up (so it hands over its next batch at once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "sources/batch.h"

#include <pthread.h>

struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool gate_open;   /* deliver waits until the test opens it */
    int fail_first;   /* refuse this many deliveries first */
    size_t delivered; /* signals stored */
    int calls;
    int idle_calls;
    size_t delivered_at_idle; /* what was stored when the last idle call came */
};

static int deliver(struct store_signal *sigs, size_t n, void *ud)
{
    (void)sigs;
    struct probe *p = ud;
    pthread_mutex_lock(&p->lock);
    p->calls++;
    pthread_cond_broadcast(&p->cond);
    while (!p->gate_open)
        pthread_cond_wait(&p->cond, &p->lock);
    int rc = 0;
    if (p->fail_first > 0) {
        p->fail_first--;
        rc = -1;
    } else {
        p->delivered += n;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static void caught_up(void *ud)
{
    struct probe *p = ud;
    pthread_mutex_lock(&p->lock);
    p->idle_calls++;
    p->delivered_at_idle = p->delivered;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* Waits (lock held) until *counter reaches want; false after 5 s, so a missing call fails the test
 * instead of hanging it. */
static bool wait_for(struct probe *p, const int *counter, int want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (*counter < want)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) != 0)
            return *counter >= want;
    return true;
}

static struct signal_batch *batch_of(size_t n)
{
    struct signal_batch *b = xcalloc(1, sizeof(*b));
    for (size_t i = 0; i < n; i++)
        signal_batch_add(b, "test", 0, (struct batch_text){"h", 1}, (struct batch_text){NULL, 0},
                         (struct batch_text){"message", 7}, NULL);
    return b;
}

static void probe_init(struct probe *p)
{
    *p = (struct probe){0};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
}

static void test_idle_after_the_queue_drains(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p);
    struct batch_pipe *pipe = batch_pipe_start(4, deliver, &p, caught_up, &p);
    assert_true(batch_pipe_push(pipe, batch_of(3)));
    /* The first batch is being stored (held at the gate); a second one queues behind it. */
    pthread_mutex_lock(&p.lock);
    assert_true(wait_for(&p, &p.calls, 1));
    pthread_mutex_unlock(&p.lock);
    assert_false(batch_pipe_idle(pipe));
    assert_true(batch_pipe_push(pipe, batch_of(2)));
    pthread_mutex_lock(&p.lock);
    p.gate_open = true;
    pthread_cond_broadcast(&p.cond);
    assert_true(wait_for(&p, &p.idle_calls, 1));
    /* Told once, and only when both batches were stored: not after the first. */
    assert_int_equal(p.calls, 2);
    assert_int_equal(p.idle_calls, 1);
    assert_int_equal(p.delivered_at_idle, 5);
    pthread_mutex_unlock(&p.lock);
    assert_true(batch_pipe_idle(pipe));
    batch_pipe_stop(pipe);
}

static void test_refusing_store_loses_nothing(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p);
    p.gate_open = true;
    p.fail_first = 1;
    struct batch_pipe *pipe = batch_pipe_start(4, deliver, &p, caught_up, &p);
    assert_true(batch_pipe_push(pipe, batch_of(7)));
    pthread_mutex_lock(&p.lock);
    assert_true(wait_for(&p, &p.idle_calls, 1));
    assert_int_equal(p.delivered, 7);
    assert_int_equal(p.calls, 2);
    pthread_mutex_unlock(&p.lock);
    struct batch_pipe_counts c;
    batch_pipe_get_counts(pipe, &c);
    assert_int_equal(c.retries, 1);
    assert_int_equal(c.queued, 0);
    assert_int_equal(c.full, 0);
    batch_pipe_stop(pipe);
}

static void test_full_queue_counts_the_drop(void **state)
{
    (void)state;
    struct probe p;
    probe_init(&p);
    struct batch_pipe *pipe = batch_pipe_start(1, deliver, &p, NULL, NULL);
    assert_true(batch_pipe_push(pipe, batch_of(1))); /* taken by the thread, held at the gate */
    pthread_mutex_lock(&p.lock);
    assert_true(wait_for(&p, &p.calls, 1));
    pthread_mutex_unlock(&p.lock);
    assert_true(batch_pipe_push(pipe, batch_of(2)));  /* waits in the one slot */
    assert_false(batch_pipe_push(pipe, batch_of(4))); /* no room: dropped and counted */
    struct batch_pipe_counts c;
    batch_pipe_get_counts(pipe, &c);
    assert_int_equal(c.full, 4);
    pthread_mutex_lock(&p.lock);
    p.gate_open = true;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    batch_pipe_stop(pipe); /* stores what waits */
    assert_int_equal(p.delivered, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_after_the_queue_drains),
        cmocka_unit_test(test_refusing_store_loses_nothing),
        cmocka_unit_test(test_full_queue_counts_the_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
