/* httpd.c: the HTTP front of the server (libmicrohttpd: epoll, a thread pool, suspend/resume for
 * live streams). The only file that speaks MHD. Each pool thread owns its own store connection;
 * the plan is shared by reference count and swapped on SIGHUP. Must never block a pool thread
 * waiting for events: streams park their connection and are resumed by wake-ups. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../server/server_internal.h"
#include "../store/store.h"
#include "cache.h"
#include "edge.h"
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t server_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- requests ---- */

const char *request_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *request_query(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void client_address(struct request *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->address, sizeof(r->address), "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->address,
                  sizeof(r->address));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->address,
                  sizeof(r->address));
}

static void add_header(struct MHD_Response *resp, const char *k, const char *v)
{
    if (MHD_add_response_header(resp, k, v) != MHD_YES)
        yj_log_warn("could not add header %s", k);
}

static enum MHD_Result queue(struct request *r)
{
    struct response *p = &r->resp;
    struct MHD_Response *resp;
    if (p->stream) {
        resp = p->stream;
        p->stream = NULL;
    } else if (p->shared) {
        /* The cache's copy goes out as is; MHD drops our reference once it is sent. */
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            p->shared->len, p->shared->data, (MHD_ContentReaderFreeCallback)cached_body_release, p->shared);
        p->shared = NULL;
    } else if (p->persistent) {
        resp = MHD_create_response_from_buffer(p->len, (void *)p->persistent, MHD_RESPMEM_PERSISTENT);
        p->persistent = NULL;
    } else {
        /* MHD frees the body with free() once sent. */
        resp =
            MHD_create_response_from_buffer(p->len, p->body ? p->body : xstrdup(""), MHD_RESPMEM_MUST_FREE);
        p->body = NULL;
    }
    if (!resp)
        return MHD_NO;
    if (p->type)
        add_header(resp, "Content-Type", p->type);
    add_header(resp, "X-Content-Type-Options", "nosniff");
    add_header(resp, "Referrer-Policy", "no-referrer");
    /* The console's policy, on every response: its own scripts and styles only, no inline script,
     * no framing; a JSON or Markdown answer opened in the browser gets the same. */
    add_header(resp, "Content-Security-Policy",
               "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'");
    add_header(resp, "X-Frame-Options", "DENY");
    add_header(resp, "Cache-Control", p->cache ? p->cache : "no-store");
    if (p->etag[0])
        add_header(resp, "ETag", p->etag);
    if (p->location[0])
        add_header(resp, "Location", p->location);
    if (p->disposition[0])
        add_header(resp, "Content-Disposition", p->disposition);
    if (server_is_tls(r->srv))
        add_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (p->cookie)
        add_header(resp, "Set-Cookie", p->cookie);
    if (p->cookie2)
        add_header(resp, "Set-Cookie", p->cookie2);
    if (p->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", p->retry_after);
        add_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, p->status ? p->status : 500, resp);
    MHD_destroy_response(resp);
    r->done = true;
    return ok;
}

/* The request line has arrived: the request begins here, with its target as sent (MHD hands the
 * handler the unescaped one, where a %00 would already have cut it). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct request *r = xcalloc(1, sizeof(*r));
    r->raw_uri = xstrdup(uri ? uri : "");
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct server *srv = cls;
    struct request *r = *con_cls;
    if (!r) /* (MHD calls the line callback first; kept for safety) */
        *con_cls = r = on_request_line(srv, url, conn);
    if (!r->started) {
        r->started = true;
        /* The route decides, once per request (an attachment may be bigger than a JSON body). */
        r->body_limit = router_body_limit(srv->cfg, method, url);
        r->srv = srv;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->route = -1;
        r->started_ns = server_now_ns();
        client_address(r);
        *con_cls = r;
        atomic_fetch_add(&srv->inflight, 1);
        if (atomic_load(&srv->stopping)) {
            reply_problem(r, 503, "shutting_down", NULL, "the server is shutting down");
            return queue(r);
        }
        const char *cl = request_header(r, "Content-Length");
        edge_headers_done(conn, (cl && strcmp(cl, "0") != 0) || request_header(r, "Transfer-Encoding"));
        char why[160];
        const char *code = NULL;
        unsigned bad = edge_check_request(conn, r->raw_uri, version, &code, why, sizeof(why));
        if (bad) {
            reply_problem(r, bad, code, NULL, "%s", why);
            return queue(r);
        }
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end == 0 && n > r->body_limit) {
                /* A moderately oversized body is read and dropped so the client, still sending,
                 * gets the 413 instead of a reset connection; a huge one is refused at once. */
                r->body_too_large = true;
                if (n > 8 * (unsigned long long)r->body_limit) {
                    reply_problem(r, 413, "payload_too_large", NULL, "request body larger than %zu bytes",
                                  r->body_limit);
                    return queue(r);
                }
            }
        }
        return MHD_YES;
    }
    if (r->done) {
        *upload_data_size = 0; /* already answered: discard the rest */
        return MHD_YES;
    }
    if (*upload_data_size) {
        edge_body_bytes(conn, *upload_data_size);
        if (!r->body_too_large) {
            if (r->body_len + *upload_data_size > r->body_limit) {
                r->body_too_large = true;
                free(r->body);
                r->body = NULL;
                r->body_len = 0;
            } else {
                r->body = xrealloc(r->body, r->body_len + *upload_data_size + 1);
                memcpy(r->body + r->body_len, upload_data, *upload_data_size);
                r->body_len += *upload_data_size;
                r->body[r->body_len] = 0;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    edge_responding(conn);
    if (r->body_too_large)
        reply_problem(r, 413, "payload_too_large", NULL, "request body larger than %zu bytes", r->body_limit);
    else
        router_dispatch(r);
    return queue(r);
}

static void record_metrics(struct server *srv, struct request *r)
{
    size_t route = r->route >= 0 && r->route < MAX_ROUTES ? (size_t)r->route : MAX_ROUTES;
    size_t code = N_CODES - 1;
    for (size_t i = 0; i + 1 < N_CODES; i++)
        if (metric_codes[i] == r->resp.status)
            code = i;
    atomic_fetch_add(&srv->counts[route][code], 1);
    int64_t ns = server_now_ns() - r->started_ns;
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < N_BUCKETS && s > latency_bounds[b])
        b++;
    atomic_fetch_add(&srv->buckets[b], 1);
    atomic_fetch_add(&srv->latency_us, (unsigned long)(ns / 1000));
    atomic_fetch_add(&srv->latency_n, 1);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct server *srv = cls;
    struct request *r = *con_cls;
    /* The next request on this connection has header_time from now. */
    edge_request_done(conn);
    if (!r)
        return;
    if (!r->started) {
        /* MHD refused it before its head was whole: nothing was counted. */
        free(r->raw_uri);
        free(r);
        *con_cls = NULL;
        return;
    }
    /* Streams are counted when they end, with their full duration. */
    record_metrics(srv, r);
    server_plan_release(r->plan);
    if (r->resp.stream)
        MHD_destroy_response(r->resp.stream);
    cached_body_release(r->resp.shared);
    free(r->resp.body);
    free(r->resp.cookie);
    free(r->resp.cookie2);
    free(r->body);
    free(r->raw_uri);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

/* ---- live streams ---- */

struct stream_ctx {
    void *stream;
    ssize_t (*reader)(void *stream, uint64_t pos, char *buf, size_t max);
    void (*free_fn)(void *stream);
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_ctx *s = cls;
    return s->reader(s->stream, pos, buf, max);
}

static void stream_free(void *cls)
{
    struct stream_ctx *s = cls;
    s->free_fn(s->stream);
    free(s);
}

struct MHD_Response *server_stream_response(struct request *r, void *stream,
                                            ssize_t (*reader)(void *stream, uint64_t pos, char *buf,
                                                              size_t max),
                                            void (*free_fn)(void *stream))
{
    (void)r;
    struct stream_ctx *s = xcalloc(1, sizeof(*s));
    s->stream = stream;
    s->reader = reader;
    s->free_fn = free_fn;
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, stream_reader, s, stream_free);
}

void server_stream_park(struct server *srv, struct MHD_Connection *conn)
{
    MHD_suspend_connection(conn);
    pthread_mutex_lock(&srv->park_lock);
    if (srv->n_parked == srv->cap_parked) {
        srv->cap_parked = srv->cap_parked ? srv->cap_parked * 2 : 16;
        srv->parked = xrealloc(srv->parked, srv->cap_parked * sizeof(struct MHD_Connection *));
    }
    srv->parked[srv->n_parked++] = conn;
    pthread_mutex_unlock(&srv->park_lock);
}

void server_wake_streams(struct server *srv)
{
    pthread_mutex_lock(&srv->park_lock);
    for (size_t i = 0; i < srv->n_parked; i++)
        MHD_resume_connection(srv->parked[i]);
    srv->n_parked = 0;
    pthread_mutex_unlock(&srv->park_lock);
}

/* ---- listening ---- */

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    yj_log_warn("http: %s", msg);
}

/* A certificate or key file: at most 1 MiB (a chain of a few certificates is a few KiB). */
static char *read_pem(const char *path, struct yj_err *err)
{
    size_t len;
    char *buf = yj_read_file(path, 1024 * 1024, &len);
    if (!buf)
        yj_err_set(err, YJ_EIO, "cannot read %s: %s", path,
                   errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
    return buf;
}

int httpd_start(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    char *host = srv->listen_host;
    int port;
    if (config_parse_listen(cfg->listen, host, sizeof(srv->listen_host), &port, err) < 0) {
        err->code = YJ_EINVAL;
        return YJ_EINVAL;
    }
    struct sockaddr_storage ss = {0};
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (!*host || strcmp(host, "0.0.0.0") == 0 ||
        inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (!*host)
            in->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        return yj_err_set(err, YJ_EINVAL, "listen \"%s\": the address must be numeric (IPv4 or [IPv6])", cfg->listen);
    }
    if (cfg->tls.cert) {
        if (!(srv->cert = read_pem(cfg->tls.cert, err)) || !(srv->key = read_pem(cfg->tls.key, err))) {
            yj_err_prefix(err, "tls: ");
            return YJ_EINVAL;
        }
        flags |= MHD_USE_TLS;
        srv->tls = true;
    }
    unsigned threads = srv->threads = (unsigned)(cfg->threads > 0 ? cfg->threads : 4);
    unsigned timeout_s = (unsigned)((cfg->limits.timeout + 999) / 1000);
    struct MHD_OptionItem tls_opts[] = {
        {srv->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->cert},
        {srv->key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, srv->key},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger goes first so that MHD reports even option errors through it. */
    srv->edge = edge_new(&(struct edge_limits){.connections = cfg->limits.connections,
                                               .header_time = cfg->limits.header_time,
                                               .body_rate = cfg->limits.body_rate});
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, edge_accept, srv->edge, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        srv, MHD_OPTION_NOTIFY_CONNECTION, edge_notify, srv->edge, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_line, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->limits.connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->limits.per_address, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->limits.memory,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!srv->daemon)
        return yj_err_set(err, YJ_EIO, "cannot listen on %s: %s", cfg->listen,
                          errno ? strerror(errno) : "see the log above");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->bound_port = di ? di->port : port;
    return 0;
}

void httpd_quiesce(struct server *srv)
{
    MHD_socket lsock = MHD_quiesce_daemon(srv->daemon);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    /* Streams see `stopping` when woken and end; ordinary requests finish. */
    for (int i = 0; i < 1000 && atomic_load(&srv->inflight) > 0; i++) {
        server_wake_streams(srv);
        usleep(10000);
    }
    if (atomic_load(&srv->inflight) > 0)
        yj_log_warn("%ld requests still in flight after 10 s; closing them", atomic_load(&srv->inflight));
}

void httpd_stop(struct server *srv)
{
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
