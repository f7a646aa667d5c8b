/* syslog.c: the syslog receiver. One libuv loop in its own thread serves every listener; it
 * never touches the store itself and never waits for it: batches go through a bounded queue to
 * a thread that calls `deliver`. Bounded: messages
 * over 64 KiB and broken framing are counted as dropped, TCP connections are capped, a
 * connection's buffer never grows
 * past two messages, and a batch holds at most 1000 signals. */
#include "../base/common.h"
#include "../base/log.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../base/logline.h"
#include "../plan/config.h"
#include "../store/store.h"
#include "batch.h"
#include "syslog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <linux/sock_diag.h>
#include <uv.h>

#define FLUSH_MS 20

/* ---- the receiver ---- */

struct listener {
    struct syslog_receiver *r;
    uv_udp_t udp;
    uv_tcp_t tcp;
    bool is_tcp;
    int port;
    long max_connections;
    char buf[SYSLOG_MAX_MESSAGE + 1];
};

struct conn {
    uv_tcp_t handle;
    struct syslog_receiver *r;
    char *buf;
    size_t len;
    bool discarding; /* inside an over-long newline-framed message */
};

struct syslog_receiver {
    uv_loop_t loop;
    uv_async_t stop;
    uv_timer_t flush;
    uv_check_t idle_flush;
    uv_async_t stored;         /* the storing thread has caught up */
    pthread_mutex_t stored_lock; /* guards stored_open: the pipe may call in while the loop closes */
    bool stored_open;
    pthread_t thread;
    struct listener *ls;
    size_t n_ls;
    syslog_deliver_fn deliver;
    void *ud;
    struct logline_clock clock;
    struct signal_batch *batch; /* being filled */
    struct batch_pipe *pipe;    /* to the thread that stores */
    atomic_ullong received, malformed, too_long, refused;
    atomic_long connections;
};

static void flush(struct syslog_receiver *r)
{
    if (r->batch->n == 0)
        return;
    batch_pipe_push(r->pipe, r->batch); /* a full queue counts the drop */
    r->batch = xcalloc(1, sizeof(*r->batch));
}

static void emit(struct syslog_receiver *r, const char *data, size_t len)
{
    atomic_fetch_add(&r->received, 1);
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == 0))
        len--;
    /* Binary junk and broken UTF-8 are not signals: count and drop them. */
    if (len == 0 || memchr(data, 0, len) || !yj_utf8_valid(data, len)) {
        atomic_fetch_add(&r->malformed, 1);
        return;
    }
    struct logline m;
    logline_parse(data, len, &r->clock, &m);
    if (signal_batch_add(r->batch, "syslog", m.time, (struct batch_text){m.host, m.host_len},
                         (struct batch_text){m.program, m.program_len}, (struct batch_text){m.msg, m.msg_len},
                         NULL))
        flush(r);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct listener *l = h->data;
    *buf = uv_buf_init(l->buf, SYSLOG_MAX_MESSAGE);
}

static void on_udp(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags)
{
    struct listener *l = h->data;
    if (n <= 0 || !addr)
        return;
    if (flags & UV_UDP_PARTIAL) { /* truncated: over 64 KiB */
        atomic_fetch_add(&l->r->too_long, 1);
        return;
    }
    emit(l->r, buf->base, (size_t)n);
}

static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    /* Room for two messages at most: a frame never needs more. */
    size_t cap = 2 * SYSLOG_MAX_MESSAGE + 16;
    if (!c->buf)
        c->buf = xmalloc(cap);
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(cap - c->len));
}

static void on_close(uv_handle_t *h)
{
    struct conn *c = h->data;
    atomic_fetch_sub(&c->r->connections, 1);
    free(c->buf);
    free(c);
}

/* Takes whole frames off the front of the connection's buffer. false: drop the connection. */
static bool frames(struct conn *c)
{
    size_t off = 0;
    while (off < c->len) {
        char *b = c->buf + off;
        size_t avail = c->len - off;
        if (c->discarding) {
            char *nl = memchr(b, '\n', avail);
            if (!nl) {
                off = c->len;
                break;
            }
            c->discarding = false;
            off += (size_t)(nl - b) + 1;
            continue;
        }
        if (*b >= '1' && *b <= '9') {
            /* Octet counting: "LEN SP MSG". */
            size_t i = 0, n = 0;
            while (i < avail && i < 7 && b[i] >= '0' && b[i] <= '9')
                n = n * 10 + (size_t)(b[i++] - '0');
            if (i == avail)
                break; /* the length is not complete yet */
            if (b[i] != ' ' || n > SYSLOG_MAX_MESSAGE) {
                atomic_fetch_add(n > SYSLOG_MAX_MESSAGE ? &c->r->too_long : &c->r->malformed, 1);
                return false; /* framing is lost for good */
            }
            if (avail < i + 1 + n)
                break;
            emit(c->r, b + i + 1, n);
            off += i + 1 + n;
        } else {
            char *nl = memchr(b, '\n', avail);
            if (!nl) {
                if (avail > SYSLOG_MAX_MESSAGE) {
                    atomic_fetch_add(&c->r->too_long, 1);
                    c->discarding = true;
                    off = c->len;
                }
                break;
            }
            emit(c->r, b, (size_t)(nl - b));
            off += (size_t)(nl - b) + 1;
        }
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return true;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = s->data;
    if (n < 0) {
        if (c->len && !c->discarding)
            emit(c->r, c->buf, c->len); /* a last message without its newline */
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)n;
    if (!frames(c))
        uv_close((uv_handle_t *)s, on_close);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    if (status < 0)
        return;
    struct conn *c = xcalloc(1, sizeof(*c));
    c->r = l->r;
    atomic_fetch_add(&l->r->connections, 1);
    uv_tcp_init(&l->r->loop, &c->handle);
    c->handle.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->handle) != 0) {
        uv_close((uv_handle_t *)&c->handle, on_close);
    } else if (atomic_load(&l->r->connections) > l->max_connections) {
        /* Over the bound: accepted only to be closed at once, and counted. */
        atomic_fetch_add(&l->r->refused, 1);
        uv_close((uv_handle_t *)&c->handle, on_close);
    } else {
        uv_read_start((uv_stream_t *)&c->handle, on_conn_alloc, on_read);
    }
}

static void on_flush(uv_timer_t *t)
{
    flush(t->data);
}

/* After each round of reading: when the storing thread has nothing to do, what arrived goes now
 * rather than at the next timer (a lone alert is not kept waiting); while it is busy, lines keep
 * filling the batch, so a flood makes big batches, not a queue of small ones. */
static void on_idle_flush(uv_check_t *c)
{
    struct syslog_receiver *r = c->data;
    if (r->batch->n && batch_pipe_idle(r->pipe))
        flush(r);
}

/* The storing thread has nothing left: what arrived while it was busy goes now. Without this the
 * batch waited for the next datagram or the timer, most of a burst's gap under steady load. */
static void on_stored(uv_async_t *a)
{
    struct syslog_receiver *r = a->data;
    if (r->batch->n && batch_pipe_idle(r->pipe))
        flush(r);
}

/* On the pipe's thread. */
static void pipe_caught_up(void *ud)
{
    struct syslog_receiver *r = ud;
    pthread_mutex_lock(&r->stored_lock);
    if (r->stored_open)
        uv_async_send(&r->stored);
    pthread_mutex_unlock(&r->stored_lock);
}

/* Closes every handle of the loop: accepted connections free themselves (on_close); listeners,
 * the timer and the async handle live inside the receiver. */
static void close_any(uv_handle_t *h, void *arg)
{
    struct syslog_receiver *r = arg;
    if (uv_is_closing(h))
        return;
    bool conn = h->type == UV_TCP;
    for (size_t i = 0; conn && i < r->n_ls; i++)
        if (h == (uv_handle_t *)&r->ls[i].tcp)
            conn = false;
    uv_close(h, conn ? on_close : NULL);
}

static void on_stop(uv_async_t *a)
{
    struct syslog_receiver *r = a->data;
    flush(r);
    pthread_mutex_lock(&r->stored_lock);
    r->stored_open = false;
    pthread_mutex_unlock(&r->stored_lock);
    uv_walk(&r->loop, close_any, r);
}

static void *loop_main(void *arg)
{
    struct syslog_receiver *r = arg;
    pthread_setname_np(pthread_self(), "yj-syslog");
    uv_run(&r->loop, UV_RUN_DEFAULT);
    return NULL;
}

int syslog_receiver_start(const struct syslog_listener *ls, size_t n, syslog_deliver_fn deliver, void *ud,
                          struct syslog_receiver **out, struct yj_err *err)
{
    struct syslog_receiver *r = xcalloc(1, sizeof(*r));
    r->deliver = deliver;
    r->ud = ud;
    r->batch = xcalloc(1, sizeof(*r->batch));
    logline_clock_init(&r->clock, yj_now_ms());
    uv_loop_init(&r->loop);
    r->ls = xcalloc(n ? n : 1, sizeof(*r->ls));
    r->n_ls = n;
    for (size_t i = 0; i < n; i++) {
        struct listener *l = &r->ls[i];
        l->r = r;
        char host[256];
        int port;
        if (config_parse_listen(ls[i].listen, host, sizeof(host), &port, err) < 0)
            goto fail;
        struct sockaddr_storage ss;
        if (uv_ip4_addr(*host ? host : "0.0.0.0", port, (struct sockaddr_in *)&ss) != 0 &&
            uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
            yj_err_set(err, YJ_EINVAL, "syslog listen \"%s\": the address must be numeric", ls[i].listen);
            goto fail;
        }
        int rc;
        l->is_tcp = ls[i].protocol && strcmp(ls[i].protocol, "tcp") == 0;
        l->max_connections = ls[i].connections > 0 ? (long)ls[i].connections : SYSLOG_MAX_CONNECTIONS;
        if (l->is_tcp) {
            uv_tcp_init(&r->loop, &l->tcp);
            l->tcp.data = l;
            rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
            if (rc == 0)
                rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
        } else {
            uv_udp_init(&r->loop, &l->udp);
            l->udp.data = l;
            rc = uv_udp_bind(&l->udp, (struct sockaddr *)&ss, 0);
            int size = (int)(ls[i].buffer > 0 ? ls[i].buffer : 0);
            if (rc == 0 && size > 0)
                uv_recv_buffer_size((uv_handle_t *)&l->udp, &size);
            if (rc == 0)
                rc = uv_udp_recv_start(&l->udp, on_alloc, on_udp);
        }
        if (rc != 0) {
            yj_err_set(err, YJ_EIO, "syslog: cannot listen on %s/%s: %s", ls[i].listen,
                       l->is_tcp ? "tcp" : "udp", uv_strerror(rc));
            goto fail;
        }
        struct sockaddr_storage bound;
        int blen = sizeof(bound);
        if ((l->is_tcp ? uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &blen)
                       : uv_udp_getsockname(&l->udp, (struct sockaddr *)&bound, &blen)) == 0)
            l->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    }
    uv_timer_init(&r->loop, &r->flush);
    r->flush.data = r;
    uv_timer_start(&r->flush, on_flush, FLUSH_MS, FLUSH_MS);
    uv_check_init(&r->loop, &r->idle_flush);
    r->idle_flush.data = r;
    uv_check_start(&r->idle_flush, on_idle_flush);
    uv_async_init(&r->loop, &r->stop, on_stop);
    r->stop.data = r;
    uv_async_init(&r->loop, &r->stored, on_stored);
    r->stored.data = r;
    pthread_mutex_init(&r->stored_lock, NULL);
    r->stored_open = true;
    r->pipe = batch_pipe_start(SYSLOG_QUEUE_BATCHES, deliver, ud, pipe_caught_up, r);
    pthread_create(&r->thread, NULL, loop_main, r);
    *out = r;
    return 0;
fail:
    uv_walk(&r->loop, close_any, r);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
    free(r->batch);
    free(r->ls);
    free(r);
    return err ? err->code : YJ_EIO;
}

void syslog_receiver_stop(struct syslog_receiver *r)
{
    if (!r)
        return;
    uv_async_send(&r->stop);
    pthread_join(r->thread, NULL);
    uv_loop_close(&r->loop);
    batch_pipe_stop(r->pipe); /* stores what waits */
    pthread_mutex_destroy(&r->stored_lock);
    free(r->batch);
    free(r->ls);
    free(r);
}

/* What the kernel dropped because the socket's receive buffer was full (SO_MEMINFO, Linux 4.6+):
 * the one queue in front of the receiver, bounded by `buffer`. */
static uint64_t kernel_drops(struct listener *l)
{
#ifdef SO_MEMINFO
    uv_os_fd_t fd;
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);
    if (l->is_tcp || uv_fileno((uv_handle_t *)&l->udp, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
        return 0;
    return mem[SK_MEMINFO_DROPS];
#else
    (void)l;
    return 0;
#endif
}

void syslog_receiver_counts(struct syslog_receiver *r, struct syslog_counts *out)
{
    out->received = atomic_load(&r->received);
    out->malformed = atomic_load(&r->malformed);
    out->too_long = atomic_load(&r->too_long);
    struct batch_pipe_counts pc;
    batch_pipe_get_counts(r->pipe, &pc);
    out->unstored = pc.unstored;
    out->queue_full = pc.full;
    out->queued = pc.queued;
    out->retries = pc.retries;
    out->refused = atomic_load(&r->refused);
    out->connections = (uint64_t)atomic_load(&r->connections);
    out->kernel = 0;
    for (size_t i = 0; i < r->n_ls; i++)
        out->kernel += kernel_drops(&r->ls[i]);
    out->dropped = out->malformed + out->too_long + out->unstored + out->queue_full + out->kernel;
}

int syslog_receiver_port(struct syslog_receiver *r, size_t i)
{
    return i < r->n_ls ? r->ls[i].port : 0;
}
