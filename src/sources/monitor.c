/* monitor.c: the scheduled availability checks — one libuv loop in a thread of its own drives a
 * libcurl multi handle (curl's sockets watched with uv_poll, its timeouts with one uv_timer), and
 * one uv_timer per monitor starts its check every interval. Never touches the store; never blocks
 * the loop. Expected: hundreds to a few thousand monitors at 30-60 s, tens of checks a second. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "monitor.h"

#include <curl/curl.h>
#include <pthread.h>
#include <uv.h>

struct monitor_runner;

struct mon {
    struct monitor_spec spec;
    struct monitor_runner *r;
    uv_timer_t timer;
    struct probe_check *inflight;
    uv_work_t work; /* icmp: and dns: checks, which block, run in libuv's thread pool */
    bool working;
    struct probe_result work_result;
    int fails; /* failed checks in a row */
    bool down;
    bool cert_soon;
    bool cert_reported; /* a certificate has been judged since the start */
    int64_t cert_expires_at; /* as seen at the last TLS handshake */
};

struct monitor_runner {
    uv_loop_t loop;
    uv_timer_t curl_timer; /* curl's own timeouts */
    uv_timer_t flush;      /* hands the checks made to on_checks once a second */
    uv_async_t stop;
    pthread_t thread;
    CURLM *multi;
    struct mon *mons;
    size_t n;
    struct monitor_check *done; /* checks made since the last flush */
    size_t n_done, cap_done;
    monitor_checks_fn on_checks;
    monitor_change_fn on_change;
    void *ud;
};

/* One socket curl asked us to watch. */
struct watch {
    uv_poll_t poll;
    curl_socket_t fd;
    struct monitor_runner *r;
};

static void flush(struct monitor_runner *r)
{
    if (r->n_done && r->on_checks)
        r->on_checks(r->done, r->n_done, r->ud);
    r->n_done = 0;
}

static void on_flush(uv_timer_t *t)
{
    flush(t->data);
}

/* What one finished check means for its monitor: counted, and a change reported when it crosses
 * between up and down (a failure counts only after `retries` more in a row). */
static void judge(struct mon *m, const struct probe_result *res)
{
    struct monitor_runner *r = m->r;
    int64_t now = yj_now_ms();
    if (r->n_done == r->cap_done) {
        r->cap_done = r->cap_done ? 2 * r->cap_done : 64;
        r->done = xrealloc(r->done, r->cap_done * sizeof(*r->done));
    }
    r->done[r->n_done++] = (struct monitor_check){.id = m->spec.id, .at = now, .r = *res};
    if (res->up) {
        m->fails = 0;
        if (m->down) {
            m->down = false;
            if (r->on_change)
                r->on_change(&(struct monitor_change){.id = m->spec.id, .at = now, .up = true, .reason = ""},
                             r->ud);
        }
        /* Only a check that reached the page says anything of the certificate (a TCP or ICMP
         * monitor has none: cert_expires_at 0, never soon). The first one after the start says
         * a certificate near its end again (its open incident takes it; one closed meanwhile with
         * the certificate not renewed opens anew), and a renewal since the last stored check. */
        bool first = !m->cert_reported;
        if (res->cert_expires_at && (res->cert_soon != m->cert_soon || (first && res->cert_soon))) {
            m->cert_soon = res->cert_soon;
            if (r->on_change)
                r->on_change(&(struct monitor_change){.id = m->spec.id,
                                                      .at = now,
                                                      .up = !res->cert_soon,
                                                      .reason = res->cert_soon ? res->reason : "",
                                                      .certificate = true,
                                                      .cert_expires_at = res->cert_expires_at},
                             r->ud);
        }
        m->cert_reported |= res->cert_expires_at != 0;
        return;
    }
    m->fails++;
    if (!m->down && m->fails > m->spec.retries) {
        m->down = true;
        if (r->on_change)
            r->on_change(
                &(struct monitor_change){
                    .id = m->spec.id, .at = now, .up = false, .reason = res->reason, .failures = m->fails},
                r->ud);
    }
}

static void finished(struct monitor_runner *r)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        struct mon *m = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&m);
        curl_multi_remove_handle(r->multi, easy);
        struct probe_result res;
        struct probe_check *k = m->inflight;
        m->inflight = NULL;
        memset(&res, 0, sizeof(res));
        probe_finish(k, (int)code, &res);
        /* curl keeps the connection for the next check: no handshake then, no certificate to read.
         * It is still the one the connection was made with. */
        if (res.cert_expires_at)
            m->cert_expires_at = res.cert_expires_at;
        else if (res.up && m->cert_expires_at && strncmp(res.final_url, "https://", 8) == 0)
            probe_certificate(&m->spec.probe, m->cert_expires_at, &res);
        judge(m, &res);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct watch *w = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(w->r->multi, w->fd, flags, &running);
    finished(w->r);
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

/* curl: watch this socket for these events, or stop watching it. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *socketp)
{
    (void)easy;
    struct monitor_runner *r = ud;
    struct watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            uv_poll_stop(&w->poll);
            uv_close((uv_handle_t *)&w->poll, free_watch);
            curl_multi_assign(r->multi, fd, NULL);
        }
        return 0;
    }
    if (!w) {
        w = xcalloc(1, sizeof(*w));
        w->fd = fd;
        w->r = r;
        if (uv_poll_init_socket(&r->loop, &w->poll, fd) != 0) {
            free(w);
            return -1;
        }
        w->poll.data = w;
        curl_multi_assign(r->multi, fd, w);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&w->poll, events, on_poll);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct monitor_runner *r = t->data;
    int running;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    finished(r);
}

/* curl: call us back in timeout_ms (-1: never). */
static int on_timeout(CURLM *multi, long timeout_ms, void *ud)
{
    (void)multi;
    struct monitor_runner *r = ud;
    if (timeout_ms < 0)
        uv_timer_stop(&r->curl_timer);
    else
        uv_timer_start(&r->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void work_run(uv_work_t *w)
{
    struct mon *m = w->data;
    probe_run(&m->spec.probe, &m->work_result);
}

static void work_done(uv_work_t *w, int status)
{
    struct mon *m = w->data;
    m->working = false;
    if (status == 0)
        judge(m, &m->work_result); /* UV_ECANCELED at stop: not counted */
}

static void on_due(uv_timer_t *t)
{
    struct mon *m = t->data;
    if (m->inflight || m->working)
        return; /* the last check is still running (its timeout ends it) */
    if (!probe_is_curl(&m->spec.probe)) {
        m->working = true;
        m->work.data = m;
        uv_queue_work(&m->r->loop, &m->work, work_run, work_done);
        return;
    }
    struct probe_result res;
    struct probe_check *k;
    if (probe_prepare(&m->spec.probe, &k, &res) < 0) {
        judge(m, &res); /* a target that cannot be checked is down, with the reason */
        return;
    }
    CURL *easy = probe_check_curl(k);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, m);
    m->inflight = k;
    curl_multi_add_handle(m->r->multi, easy);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_POLL ? free_watch : NULL);
}

static void on_stop(uv_async_t *a)
{
    struct monitor_runner *r = a->data;
    for (size_t i = 0; i < r->n; i++) {
        struct mon *m = &r->mons[i];
        if (!m->inflight)
            continue;
        curl_multi_remove_handle(r->multi, probe_check_curl(m->inflight));
        struct probe_result res = {0};
        probe_finish(m->inflight, CURLE_ABORTED_BY_CALLBACK, &res); /* frees it; not counted */
        m->inflight = NULL;
    }
    flush(r);
    /* While the loop still runs: curl closes its cached connections through on_socket. */
    curl_multi_cleanup(r->multi);
    r->multi = NULL;
    uv_walk(&r->loop, close_any, NULL);
}

static void *loop_main(void *arg)
{
    struct monitor_runner *r = arg;
    pthread_setname_np(pthread_self(), "yj-monitor");
    uv_run(&r->loop, UV_RUN_DEFAULT);
    return NULL;
}

int monitor_runner_start(const struct monitor_spec *specs, size_t n, monitor_checks_fn on_checks,
                         monitor_change_fn on_change, void *ud, struct monitor_runner **out,
                         struct yj_err *err)
{
    struct monitor_runner *r = xcalloc(1, sizeof(*r));
    if (uv_loop_init(&r->loop) != 0) {
        free(r);
        return yj_err_set(err, YJ_EIO, "monitors: cannot start an event loop");
    }
    r->multi = curl_multi_init();
    if (!r->multi) {
        uv_loop_close(&r->loop);
        free(r);
        return yj_err_set(err, YJ_EIO, "monitors: cannot start libcurl");
    }
    r->on_checks = on_checks;
    r->on_change = on_change;
    r->ud = ud;
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    uv_timer_init(&r->loop, &r->curl_timer);
    r->curl_timer.data = r;
    uv_timer_init(&r->loop, &r->flush);
    r->flush.data = r;
    uv_timer_start(&r->flush, on_flush, 1000, 1000);
    uv_async_init(&r->loop, &r->stop, on_stop);
    r->stop.data = r;
    r->n = n;
    r->mons = xcalloc(n ? n : 1, sizeof(*r->mons));
    for (size_t i = 0; i < n; i++) {
        struct mon *m = &r->mons[i];
        m->spec = specs[i];
        m->r = r;
        m->down = specs[i].was_down;
        if (specs[i].cert_expires_at) { /* near its end then? by the probe's own rule */
            struct probe_result then = {.up = true};
            probe_certificate(&m->spec.probe, specs[i].cert_expires_at, &then);
            m->cert_soon = then.cert_soon;
        }
        uv_timer_init(&r->loop, &m->timer);
        m->timer.data = m;
        uint64_t interval = (uint64_t)(specs[i].interval_ms > 0 ? specs[i].interval_ms : 60000);
        /* Spread over the first interval (at most a minute, so a new deployment shows its status
         * soon): 1,000 monitors at 30 s start 30 ms apart instead of all at once. */
        uint64_t spread = interval < 60000 ? interval : 60000;
        uv_timer_start(&m->timer, on_due, spread * i / n, interval);
    }
    pthread_create(&r->thread, NULL, loop_main, r);
    *out = r;
    return 0;
}

void monitor_runner_stop(struct monitor_runner *r)
{
    if (!r)
        return;
    uv_async_send(&r->stop);
    pthread_join(r->thread, NULL);
    uv_loop_close(&r->loop);
    free(r->done);
    free(r->mons);
    free(r);
}
