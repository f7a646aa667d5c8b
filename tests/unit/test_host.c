/* Unit tests for src/sources/host.c: samples read from a /proc written by the test, and limits
 * that must hold for the sustained time before they count, and count once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/err.h"
#include "base/timeutil.h"
#include "sources/host.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

static char proc[] = "/tmp/yj-host-XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", proc, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* cpu counters (user, idle), memory (total, available kB), load, eth0 bytes (rx, tx) */
static void write_proc(unsigned long user, unsigned long idle, unsigned long total_kb, unsigned long avail_kb,
                       const char *load, unsigned long long rx, unsigned long long tx)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "cpu  %lu 0 0 %lu 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n", user, idle);
    put("stat", buf);
    snprintf(buf, sizeof(buf), "MemTotal:       %lu kB\nMemFree:          1000 kB\nMemAvailable:   %lu kB\n", total_kb,
             avail_kb);
    put("meminfo", buf);
    snprintf(buf, sizeof(buf), "%s 0.50 0.40 1/100 4242\n", load);
    put("loadavg", buf);
    snprintf(buf, sizeof(buf),
             "Inter-|   Receive                                                |  Transmit\n"
             " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
             "    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0\n"
             "  eth0: %llu 100 0 0 0 0 0 0 %llu 100 0 0 0 0 0 0\n",
             rx, tx);
    put("net/dev", buf);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(proc));
    char net[300];
    snprintf(net, sizeof(net), "%s/net", proc);
    mkdir(net, 0700);
    return 0;
}

static void test_sample(void **state)
{
    (void)state;
    struct host_counters c = {0};
    struct host_sample s;
    struct yj_err err;
    const char *paths[] = {"/"};
    write_proc(100, 900, 1000000, 250000, "3.25", 1000, 1000);
    assert_int_equal(host_sample_read(proc, paths, 1, &c, &s, &err), 0);
    assert_true(s.cpu < 0); /* no rate from one sample */
    assert_true(s.memory > 74.9 && s.memory < 75.1);
    assert_true(s.load1 > 3.24 && s.load1 < 3.26);
    assert_int_equal(s.n_nets, 1); /* lo left out */
    assert_string_equal(s.nets[0].name, "eth0");
    assert_int_equal(s.n_disks, 1);
    assert_true(s.disks[0].space >= 0 && s.disks[0].space <= 100);
    usleep(200000);
    write_proc(190, 910, 1000000, 250000, "3.25", 1000 + 100000, 1000 + 100000);
    assert_int_equal(host_sample_read(proc, paths, 1, &c, &s, &err), 0);
    assert_true(s.cpu > 89.9 && s.cpu < 90.1); /* 90 busy of 100 */
    assert_true(s.nets[0].bytes_per_s > 500000 && s.nets[0].bytes_per_s < 1100000); /* 200 KB in ~0.2 s */
    assert_int_equal(host_sample_read("/nonexistent", paths, 1, &c, &s, &err), YJ_EIO);
}

struct seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char keys[8][64];
    bool high[8];
    int n;
};

static void on_change(const struct host_change *c, void *ud)
{
    struct seen *s = ud;
    pthread_mutex_lock(&s->lock);
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", c->key);
        s->high[s->n++] = c->high;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static bool wait_for(struct seen *s, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&s->lock);
    while (s->n < n && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
        ;
    bool ok = s->n >= n;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void test_sustained_limits(void **state)
{
    (void)state;
    struct seen seen = {.n = 0};
    pthread_mutex_init(&seen.lock, NULL);
    pthread_cond_init(&seen.cond, NULL);
    write_proc(100, 900, 1000000, 50000, "0.10", 0, 0); /* memory 95% */
    struct host_limits limits = {.memory = 90, .load1 = 8, .sustained_ms = 300};
    const char *paths[] = {"/"};
    struct host_watch *w;
    struct yj_err err;
    int64_t t0 = yj_now_ms();
    assert_int_equal(host_watch_start(proc, paths, 1, 50, &limits, NULL, on_change, &seen, &w, &err), 0);
    assert_true(wait_for(&seen, 1));
    assert_true(yj_now_ms() - t0 >= 300); /* not before it was held for the sustained time */
    assert_string_equal(seen.keys[0], "memory");
    assert_true(seen.high[0]);
    usleep(300000);
    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.n, 1); /* once, however long it stays high */
    pthread_mutex_unlock(&seen.lock);
    write_proc(200, 1800, 1000000, 600000, "0.10", 0, 0); /* 40%: normal at the next sample */
    assert_true(wait_for(&seen, 2));
    assert_string_equal(seen.keys[1], "memory");
    assert_false(seen.high[1]);
    host_watch_stop(w);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_sustained_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
