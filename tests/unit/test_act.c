/* Unit tests for the built-in block_ip action (src/outputs/act.c, nft.c) against the real kernel:
 * the test process moves into a network namespace of its own (unshare, needs root), so nftables
 * tables it makes vanish with it and nothing on the machine is touched. Without root the tests
 * are skipped with the reason printed. A real SQLite store and the built-in university plan;
 * the store's clock is a test clock, the kernel's timeouts are real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "base/embed.h"
#include "engine/ctx.h"
#include "engine/incident.h"
#include "outputs/act.h"
#include "outputs/nft.h"
#include "plan/config.h"
#include "plan/plan.h"
#include "store/store.h"
#include "test_util.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define T0 INT64_C(1795309200000) /* 2026-11-22T09:00:00+08:00 */
#define TABLE "yjtest"

static const char *skip_reason;

struct fixture {
    char *dir;
    struct plan *plan;
    struct store *st;
    struct yj_ctx ctx;
    int64_t now;
    char *allow[1];
    struct config_action action;
};

static int64_t test_clock(void *ud)
{
    return ((struct fixture *)ud)->now;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct yj_err err;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    f->dir = test_tmpdir();
    if (plan_load("builtin:university", &f->plan, NULL, &err) < 0 || test_store_open(f->dir, &f->st, &err) < 0 ||
        store_migrate(f->st, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->now = T0;
    f->ctx = (struct yj_ctx){.plan = f->plan, .store = f->st, .actor = "action", .now = test_clock, .clock_ud = f};
    f->allow[0] = "10.0.0.0/8";
    f->action = (struct config_action){
        .kind = "block_ip", .nftables = TABLE, .timeout = -1, .duration = 60000, .allow = f->allow, .n_allow = 1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!skip_reason && system("nft delete table inet " TABLE " 2>/dev/null") != 0)
        fprintf(stderr, "(no table to remove)\n");
    store_free(f->st);
    plan_free(f->plan);
    test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* An intrusion incident whose signals a rule read these addresses from, and a block_ip task (no
 * approval needed) to act on. */
static int64_t incident_from(struct fixture *f, const char *const *ips, size_t n, int64_t *task_id)
{
    struct store_incident inc;
    struct incident_report_req req = {.type = "intrusion", .title = "SSH 暴力破解", .source = "syslog"};
    struct yj_err err = {0};
    if (incident_report(&f->ctx, &req, &inc, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(store_begin(f->st, &err), 0);
    for (size_t i = 0; i < n; i++) {
        char *fields = xasprintf("{\"ip\":\"%s\",\"user\":\"root\"}", ips[i]);
        struct store_signal s = {.received_at = f->now, .time = f->now, .source = "syslog", .host = "web1",
                                 .asset = "web1", .message = "Failed password"};
        assert_int_equal(store_signal_insert(f->st, &s, &err), 0);
        assert_int_equal(store_signal_processed(f->st, s.id, f->now, "sshd", fields, inc.id, &err), 0);
        free(fields);
    }
    struct store_task t = {.incident_id = inc.id, .step = 99, .title = "封禁攻击来源地址", .action = "block_ip",
                           .created_at = f->now};
    snprintf(t.phase, sizeof(t.phase), "reported");
    snprintf(t.status, sizeof(t.status), "todo");
    assert_int_equal(store_task_insert(f->st, &t, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    *task_id = t.id;
    int64_t id = inc.id;
    store_incident_release(&inc);
    return id;
}

static bool blocked(const char *addr, int64_t *left_ms)
{
    bool present = false;
    struct yj_err err = {0};
    if (nft_block_has(TABLE, addr, &present, left_ms, &err) < 0)
        fail_msg("%s", err.msg);
    return present;
}

struct timeline {
    char kinds[16][32];
    char bodies[16][1024];
    size_t n;
};

static int add_entry(const struct store_timeline_entry *e, void *ud)
{
    struct timeline *t = ud;
    if (t->n < 16 && (strcmp(e->kind, "action") == 0 || strcmp(e->kind, "unblocked") == 0)) {
        snprintf(t->kinds[t->n], sizeof(t->kinds[0]), "%s", e->kind);
        snprintf(t->bodies[t->n], sizeof(t->bodies[0]), "%s", e->body);
        t->n++;
    }
    return 0;
}

static struct timeline timeline_of(struct fixture *f, int64_t id)
{
    struct timeline t = {0};
    struct yj_err err;
    assert_int_equal(store_timeline_list(f->st, id, add_entry, &t, &err), 0);
    return t;
}

static void skip_unless_netns(void)
{
    if (skip_reason) {
        print_message("skipped: %s\n", skip_reason);
        skip();
    }
}

static void test_blocks_source_addresses_but_not_allow_listed(void **state)
{
    skip_unless_netns();
    struct fixture *f = *state;
    static const char *const ips[] = {"203.0.113.7", "2001:db8::66", "10.1.2.3", "127.0.0.1", "203.0.113.7",
                                      "not-an-ip"};
    int64_t task = 0, id = incident_from(f, ips, YJ_ARRAY_LEN(ips), &task);
    struct act_result res;
    struct yj_err err = {0};
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    assert_int_equal(res.succeeded, 1);
    int64_t left = 0;
    assert_true(blocked("203.0.113.7", &left));
    assert_true(left > 50000 && left <= 60000);
    assert_true(blocked("2001:db8::66", NULL));
    assert_false(blocked("10.1.2.3", NULL));
    assert_false(blocked("127.0.0.1", NULL));
    struct store_task t;
    assert_int_equal(store_task_get(f->st, task, &t, &err), 0);
    assert_string_equal(t.status, "done");
    assert_string_equal(t.updated_by, "action");
    store_task_release(&t);
    struct timeline tl = timeline_of(f, id);
    assert_int_equal(tl.n, 1);
    assert_non_null(strstr(tl.bodies[0], "\"addresses\":[\"203.0.113.7\",\"2001:db8::66\"]"));
    assert_non_null(strstr(tl.bodies[0], "not blocking 10.1.2.3: allow-listed (10.0.0.0/8)"));
    assert_non_null(strstr(tl.bodies[0], "not blocking 127.0.0.1: allow-listed (127.0.0.0/8)"));
    assert_non_null(strstr(tl.bodies[0], "is not an address\\n203.0.113.7, 2001:db8::66 blocked for 60s"));
    struct store_block bs[8];
    size_t n = 0;
    assert_int_equal(store_block_list(f->st, true, bs, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(bs[0].expires_at, T0 + 60000);
    /* Run again: the task is done, nothing runs twice. */
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    assert_int_equal(res.succeeded + res.failed, 0);
}

static void test_nothing_to_block_fails_and_leaves_the_task(void **state)
{
    skip_unless_netns();
    struct fixture *f = *state;
    static const char *const ips[] = {"10.9.9.9"};
    int64_t task = 0, id = incident_from(f, ips, 1, &task);
    struct act_result res;
    struct yj_err err = {0};
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    assert_int_equal(res.failed, 1);
    assert_int_equal(nft_block_setup(TABLE, &err), 0);
    assert_false(blocked("10.9.9.9", NULL));
    struct store_task t;
    assert_int_equal(store_task_get(f->st, task, &t, &err), 0);
    assert_string_equal(t.status, "todo");
    store_task_release(&t);
    struct timeline tl = timeline_of(f, id);
    assert_non_null(strstr(tl.bodies[0], "nothing blocked\\nnot blocking 10.9.9.9: allow-listed"));
}

static void test_expiry_restore_and_release(void **state)
{
    skip_unless_netns();
    struct fixture *f = *state;
    static const char *const ips[] = {"198.51.100.20", "198.51.100.21"};
    int64_t task = 0, id = incident_from(f, ips, 2, &task);
    struct act_result res;
    struct yj_err err = {0};
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    assert_int_equal(res.succeeded, 1);
    /* A reboot empties the kernel's sets: restoring puts both back with the time they have left. */
    f->now = T0 + 20000;
    assert_int_equal(system("nft delete table inet " TABLE), 0);
    size_t restored = 0;
    assert_int_equal(act_restore_blocks(&f->ctx, &f->action, 1, &restored, &err), 0);
    assert_int_equal(restored, 2);
    int64_t left = 0;
    assert_true(blocked("198.51.100.20", &left));
    assert_true(left > 35000 && left <= 40000);
    /* Released by hand before its time: out of the kernel, on the timeline, in the audit log. */
    f->ctx.actor = "user:it_head";
    assert_int_equal(act_release_block(&f->ctx, &f->action, 1, "198.51.100.21", "误封：校内合作单位出口", &err), 0);
    assert_false(blocked("198.51.100.21", NULL));
    assert_int_equal(act_release_block(&f->ctx, &f->action, 1, "198.51.100.21", NULL, &err), YJ_ENOTFOUND);
    assert_int_equal(act_release_block(&f->ctx, &f->action, 1, "bogus", NULL, &err), YJ_EINVAL);
    /* Time runs out: the expired block is recorded once. */
    f->ctx.actor = "action";
    f->now = T0 + 60000;
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    assert_int_equal(act_run(&f->ctx, &f->action, 1, NULL, &res, &err), 0);
    struct timeline tl = timeline_of(f, id);
    assert_int_equal(tl.n, 3);
    assert_string_equal(tl.kinds[1], "unblocked");
    assert_non_null(strstr(tl.bodies[1], "\"reason\":\"released\""));
    assert_non_null(strstr(tl.bodies[1], "误封"));
    assert_string_equal(tl.kinds[2], "unblocked");
    assert_non_null(strstr(tl.bodies[2], "\"address\":\"198.51.100.20\""));
    assert_non_null(strstr(tl.bodies[2], "\"reason\":\"expired\""));
    struct store_block bs[8];
    size_t n = 0;
    assert_int_equal(store_block_list(f->st, true, bs, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_block_list(f->st, false, bs, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(bs[0].address, "198.51.100.21");
    assert_string_equal(bs[0].released_by, "user:it_head");
    assert_string_equal(bs[1].release_reason, "expired");
}

/* The kernel does what the set says: a datagram from a blocked address is dropped, and the
 * address is let go by the kernel itself when its timeout passes. */
static void test_kernel_drops_and_expires(void **state)
{
    skip_unless_netns();
    (void)state;
    struct yj_err err = {0};
    assert_int_equal(nft_block_setup(TABLE, &err), 0);
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET}, from = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    inet_pton(AF_INET, "127.0.0.5", &from.sin_addr);
    assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
    socklen_t len = sizeof(to);
    assert_int_equal(getsockname(rx, (struct sockaddr *)&to, &len), 0);
    assert_int_equal(bind(tx, (struct sockaddr *)&from, sizeof(from)), 0);
    char buf[16];
    struct pollfd p = {.fd = rx, .events = POLLIN};
#define SEND_AND_SEE(expect)                                                                                \
    do {                                                                                                    \
        assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);                      \
        int got = poll(&p, 1, 300);                                                                         \
        assert_int_equal(got, (expect));                                                                    \
        if (got)                                                                                            \
            assert_int_equal(recv(rx, buf, sizeof(buf), 0), 1);                                             \
    } while (0)
    SEND_AND_SEE(1);
    assert_int_equal(nft_block_add(TABLE, "127.0.0.5", 1, &err), 0);
    SEND_AND_SEE(0);
    usleep(1300 * 1000); /* the kernel's own 1 s timeout */
    assert_false(blocked("127.0.0.5", NULL));
    SEND_AND_SEE(1);
    assert_int_equal(nft_block_add(TABLE, "127.0.0.5", 60, &err), 0);
    SEND_AND_SEE(0);
    assert_int_equal(nft_block_del(TABLE, "127.0.0.5", &err), 0);
    SEND_AND_SEE(1);
    assert_int_equal(nft_block_del(TABLE, "127.0.0.5", &err), 0); /* not blocked: no error */
    assert_int_equal(nft_block_add(TABLE, "127.0.0.5; flush ruleset", 60, &err), YJ_EINVAL);
    close(rx);
    close(tx);
}

/* A network namespace of our own with its loopback up. */
static void enter_netns(void)
{
    if (geteuid() != 0) {
        skip_reason = "not root: nftables tests need a network namespace of their own (run as root, as CI does)";
        return;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        skip_reason = "unshare(CLONE_NEWNET) refused: no network namespace for the nftables tests";
        return;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr)) != 0)
        skip_reason = "cannot bring up loopback in the new network namespace";
    if (s >= 0)
        close(s);
}

int main(void)
{
    enter_netns();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blocks_source_addresses_but_not_allow_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_block_fails_and_leaves_the_task, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_restore_and_release, setup, teardown),
        cmocka_unit_test(test_kernel_drops_and_expires),
    };
    int failed = 0;
    do
        failed += _cmocka_run_group_tests(test_engine(), tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    while (test_engines_next());
    return failed;
}
