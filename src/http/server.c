/* server.c: the HTTP server (libmicrohttpd: epoll, a thread pool, suspend/resume for live
 * streams). The only file that speaks MHD. Each pool thread owns its own store connection;
 * the plan is shared by reference count and swapped on SIGHUP. Must never block a pool thread
 * waiting for events: streams park their connection and are resumed by wake-ups. */
#include "../base/common.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../engine/clock.h"
#include "../outputs/act.h"
#include "../outputs/outbox.h"
#include "../engine/detect.h"
#include "../sources/logwatch.h"
#include "../sources/syslog.h"
#include "../sources/monitor.h"
#include "../sources/fim.h"
#include "../sources/host.h"
#include "../sources/sitewatch.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "cache.h"
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROUTES 64
static const unsigned metric_codes[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                        409, 412, 413, 415, 429, 500, 503, 0 /* other */};
#define N_CODES (sizeof(metric_codes) / sizeof(metric_codes[0]))
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define N_BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

struct server {
    const struct server_options *opt;
    struct yj_config *cfg;
    pthread_mutex_t plan_lock;
    struct plan_ref *plan;
    pthread_key_t store_key;
    struct MHD_Daemon *daemon;
    atomic_bool stopping;
    atomic_long inflight;
    bool tls;

    pthread_mutex_t park_lock;
    struct MHD_Connection **parked;
    size_t n_parked, cap_parked;
    pthread_t ticker;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_cond;
    bool ticker_stop;
    bool tick_poke; /* run the clock at once, not at the next second */

    atomic_ulong counts[MAX_ROUTES + 1][N_CODES];
    atomic_ulong buckets[N_BUCKETS + 1];
    atomic_ulong latency_us;
    atomic_ulong latency_n;
    atomic_ulong store_errors;
    atomic_ulong plan_reloads;
    atomic_ulong plan_reload_failures;
    atomic_ulong plan_generation;
    struct response_cache *cache;
    struct detector *detector;
    struct syslog_receiver *syslog;
    struct logwatch *logwatch;
    struct monitor_runner *monitors;
    struct fim *integrity;
    struct host_watch *host;
    struct sitewatch *sites;
    struct webguard_words *words;
    char *sites_dir; /* DATA/sites: the pages' baselines */
    const char *host_paths[HOST_MAX_DISKS];
    pthread_mutex_t host_lock;
    struct host_sample host_last; /* at 0: none yet */
    char *integrity_objects; /* DATA/integrity: copies of baseline files, named by hash */
    pthread_t outbox, actor;
    pthread_mutex_t outbox_lock;
    pthread_cond_t outbox_cond;
    bool outbox_stop, outbox_poke;
    struct syslog_counts drops_seen; /* as last reported by report_drops */
    uint64_t logwatch_drops_seen, evictions_seen;
};

void server_integrity_accept(struct server *srv, const char *id)
{
    fim_accept(srv->integrity, id);
}

void server_integrity_maintenance(struct server *srv, const char *id, int64_t until_ms)
{
    fim_maintenance(srv->integrity, id, until_ms);
}

int64_t server_integrity_maintenance_until(struct server *srv, const char *id)
{
    return fim_maintenance_until(srv->integrity, id);
}

struct detector *server_detector(struct server *srv)
{
    return srv->detector;
}

struct response_cache *server_cache(struct server *srv)
{
    return srv->cache;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const struct yj_config *server_config(const struct server *srv)
{
    return srv->cfg;
}

bool server_stopping(const struct server *srv)
{
    return atomic_load(&srv->stopping);
}

bool server_is_tls(const struct server *srv)
{
    return srv->tls;
}

void server_count_store_error(struct server *srv)
{
    atomic_fetch_add(&srv->store_errors, 1);
}

/* ---- the plan, shared by reference ---- */

struct plan_ref *server_plan_acquire(struct server *srv)
{
    pthread_mutex_lock(&srv->plan_lock);
    struct plan_ref *ref = srv->plan;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&srv->plan_lock);
    return ref;
}

void server_plan_release(struct plan_ref *ref)
{
    if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
        plan_free(ref->plan);
        free(ref);
    }
}

static struct plan_ref *plan_ref_new(struct server *srv, struct plan *p)
{
    struct plan_ref *ref = xcalloc(1, sizeof(*ref));
    ref->plan = p;
    ref->generation = atomic_fetch_add(&srv->plan_generation, 1) + 1;
    atomic_init(&ref->refs, 1);
    return ref;
}

/* SIGHUP: the new plan must validate completely, or the old one stays. */
static void reload_plan(struct server *srv)
{
    struct plan *p = NULL;
    struct plan_diags diags = {0};
    struct yj_err err = {0};
    if (plan_load(srv->cfg->plan, &p, &diags, &err) < 0) {
        atomic_fetch_add(&srv->plan_reload_failures, 1);
        yj_log_error("plan reload refused, the old plan stays in force: %s", err.msg);
        for (size_t i = 1; i < diags.n; i++)
            yj_log_error("%s", diags.lines[i]);
        plan_diags_release(&diags);
        return;
    }
    if (config_check_plan(srv->cfg, p, &err) < 0) {
        atomic_fetch_add(&srv->plan_reload_failures, 1);
        yj_log_error("plan reload refused, the old plan stays in force: the config names what it lacks: %s", err.msg);
        plan_free(p);
        return;
    }
    if (srv->detector && detector_check_plan(srv->detector, p, &err) < 0) {
        atomic_fetch_add(&srv->plan_reload_failures, 1);
        yj_log_error("plan reload refused, the old plan stays in force: %s: %s", srv->cfg->plan, err.msg);
        plan_free(p);
        return;
    }
    struct plan_ref *fresh = plan_ref_new(srv, p);
    pthread_mutex_lock(&srv->plan_lock);
    struct plan_ref *old = srv->plan;
    srv->plan = fresh;
    pthread_mutex_unlock(&srv->plan_lock);
    server_plan_release(old);
    atomic_fetch_add(&srv->plan_reloads, 1);
    yj_log_info("plan reloaded from %s: %s", srv->cfg->plan, p->meta.name);
}

/* ---- one store connection per thread ---- */

static void store_destroy(void *st)
{
    store_free(st);
}

struct store *server_store(struct server *srv, struct yj_err *err)
{
    struct store *st = pthread_getspecific(srv->store_key);
    if (st)
        return st;
    if (store_open(srv->cfg->data, &st, err) < 0)
        return NULL;
    pthread_setspecific(srv->store_key, st);
    return st;
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
        resp = MHD_create_response_from_buffer(p->len, p->body ? p->body : xstrdup(""), MHD_RESPMEM_MUST_FREE);
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
    if (p->cookie)
        add_header(resp, "Set-Cookie", p->cookie);
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct request *r = *con_cls;
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        /* The route decides, once per request (an attachment may be bigger than a JSON body). */
        r->body_limit = router_body_limit(srv->cfg, method, url);
        r->srv = srv;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->route = -1;
        r->started_ns = now_ns();
        client_address(r);
        *con_cls = r;
        atomic_fetch_add(&srv->inflight, 1);
        if (atomic_load(&srv->stopping)) {
            reply_problem(r, 503, "shutting_down", NULL, "the server is shutting down");
            return queue(r);
        }
        const char *cl = request_header(r, "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (*end == 0 && n > r->body_limit) {
                /* A moderately oversized body is read and dropped so the client, still sending,
                 * gets the 413 instead of a reset connection; a huge one is refused at once. */
                r->body_too_large = true;
                if (n > 8 * (unsigned long long)r->body_limit) {
                    reply_problem(r, 413, "payload_too_large", NULL, "request body larger than %zu bytes", r->body_limit);
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
    int64_t ns = now_ns() - r->started_ns;
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < N_BUCKETS && s > latency_bounds[b])
        b++;
    atomic_fetch_add(&srv->buckets[b], 1);
    atomic_fetch_add(&srv->latency_us, (unsigned long)(ns / 1000));
    atomic_fetch_add(&srv->latency_n, 1);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct server *srv = cls;
    struct request *r = *con_cls;
    if (!r)
        return;
    /* Streams are counted when they end, with their full duration. */
    record_metrics(srv, r);
    server_plan_release(r->plan);
    if (r->resp.stream)
        MHD_destroy_response(r->resp.stream);
    cached_body_release(r->resp.shared);
    free(r->resp.body);
    free(r->resp.cookie);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->inflight, 1);
}

char *server_metrics_text(struct server *srv, struct request *r)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    fprintf(f, "# HELP yingji_http_requests_total HTTP requests by route and status code.\n"
               "# TYPE yingji_http_requests_total counter\n");
    /* The routes, then the slot for requests that matched none. */
    for (size_t k = 0; k <= n_routes; k++) {
        size_t i = k < n_routes ? k : MAX_ROUTES;
        for (size_t c = 0; c < N_CODES; c++) {
            unsigned long n = atomic_load(&srv->counts[i][c]);
            if (!n)
                continue;
            char code[8];
            snprintf(code, sizeof(code), "%u", metric_codes[c]);
            fprintf(f, "yingji_http_requests_total{route=\"%s\",code=\"%s\"} %lu\n",
                    i == MAX_ROUTES ? "other" : routes[i].name, metric_codes[c] ? code : "other", n);
        }
    }
    fprintf(f, "# HELP yingji_http_request_duration_seconds Time from request to response.\n"
               "# TYPE yingji_http_request_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cum += atomic_load(&srv->buckets[b]);
        fprintf(f, "yingji_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n", latency_bounds[b], cum);
    }
    cum += atomic_load(&srv->buckets[N_BUCKETS]);
    fprintf(f, "yingji_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    fprintf(f, "yingji_http_request_duration_seconds_sum %.6f\n", (double)atomic_load(&srv->latency_us) / 1e6);
    fprintf(f, "yingji_http_request_duration_seconds_count %lu\n", atomic_load(&srv->latency_n));

    fprintf(f, "# HELP yingji_incidents Incidents by status (drills excluded).\n# TYPE yingji_incidents gauge\n");
    static const char *const statuses[] = {"reported",   "assessing", "responding", "recovering",
                                           "reviewing", "closed",    "dismissed"};
    for (size_t i = 0; i < YJ_ARRAY_LEN(statuses); i++) {
        int64_t n = 0;
        struct yj_err err;
        if (r->store && store_incident_count(r->store, statuses[i], 0, &n, &err) < 0)
            server_count_store_error(srv);
        fprintf(f, "yingji_incidents{status=\"%s\"} %lld\n", statuses[i], (long long)n);
    }
    fprintf(f, "# HELP yingji_store_errors_total Store operations that failed.\n# TYPE yingji_store_errors_total "
               "counter\nyingji_store_errors_total %lu\n",
            atomic_load(&srv->store_errors));
    fprintf(f, "# HELP yingji_plan_reloads_total Plan reloads (SIGHUP) by result.\n# TYPE yingji_plan_reloads_total "
               "counter\nyingji_plan_reloads_total{result=\"ok\"} %lu\nyingji_plan_reloads_total{result=\"refused\"} "
               "%lu\n",
            atomic_load(&srv->plan_reloads), atomic_load(&srv->plan_reload_failures));
    uint64_t hits, misses;
    size_t bytes;
    response_cache_stats(srv->cache, &hits, &misses, &bytes);
    fprintf(f, "# HELP yingji_response_cache_total Incident reads answered from the cache, or rebuilt.\n"
               "# TYPE yingji_response_cache_total counter\nyingji_response_cache_total{result=\"hit\"} %llu\n"
               "yingji_response_cache_total{result=\"miss\"} %llu\n# HELP yingji_response_cache_bytes Bytes held.\n"
               "# TYPE yingji_response_cache_bytes gauge\nyingji_response_cache_bytes %zu\n",
            (unsigned long long)hits, (unsigned long long)misses, bytes);
    if (srv->syslog || srv->logwatch)
        fprintf(f, "# HELP yingji_source_messages_total Messages (lines) received by sources, and those dropped.\n"
                   "# TYPE yingji_source_messages_total counter\n");
    if (srv->syslog) {
        struct syslog_counts c;
        syslog_receiver_counts(srv->syslog, &c);
        fprintf(f,
                "yingji_source_messages_total{source=\"syslog\",result=\"received\"} %llu\n"
                "yingji_source_messages_total{source=\"syslog\",result=\"dropped\"} %llu\n"
                "# HELP yingji_syslog_dropped_total Syslog messages dropped, by reason.\n"
                "# TYPE yingji_syslog_dropped_total counter\n"
                "yingji_syslog_dropped_total{reason=\"malformed\"} %llu\n"
                "yingji_syslog_dropped_total{reason=\"too_long\"} %llu\n"
                "yingji_syslog_dropped_total{reason=\"store\"} %llu\n"
                "yingji_syslog_dropped_total{reason=\"queue_full\"} %llu\n"
                "yingji_syslog_dropped_total{reason=\"receive_buffer\"} %llu\n"
                "# HELP yingji_syslog_store_retries_total Batches the store refused, retried a second later.\n"
                "# TYPE yingji_syslog_store_retries_total counter\nyingji_syslog_store_retries_total %llu\n"
                "# HELP yingji_syslog_queued Messages received and waiting to be stored.\n"
                "# TYPE yingji_syslog_queued gauge\nyingji_syslog_queued %llu\n"
                "# HELP yingji_syslog_connections TCP connections open now.\n# TYPE yingji_syslog_connections gauge\n"
                "yingji_syslog_connections %llu\n"
                "# HELP yingji_syslog_connections_refused_total TCP connections closed at once: over the limit.\n"
                "# TYPE yingji_syslog_connections_refused_total counter\nyingji_syslog_connections_refused_total %llu\n",
                (unsigned long long)c.received, (unsigned long long)c.dropped, (unsigned long long)c.malformed,
                (unsigned long long)c.too_long, (unsigned long long)c.unstored, (unsigned long long)c.queue_full,
                (unsigned long long)c.kernel, (unsigned long long)c.retries, (unsigned long long)c.queued,
                (unsigned long long)c.connections,
                (unsigned long long)c.refused);
    }
    if (srv->logwatch) {
        struct logwatch_counts c;
        logwatch_get_counts(srv->logwatch, &c);
        fprintf(f,
                "yingji_source_messages_total{source=\"logwatch\",result=\"received\"} %llu\n"
                "yingji_source_messages_total{source=\"logwatch\",result=\"dropped\"} %llu\n"
                "# HELP yingji_logwatch_files Log files followed now.\n# TYPE yingji_logwatch_files gauge\n"
                "yingji_logwatch_files %llu\n"
                "# HELP yingji_logwatch_rotations_total Rotations seen (rename, truncate, copytruncate).\n"
                "# TYPE yingji_logwatch_rotations_total counter\nyingji_logwatch_rotations_total %llu\n"
                "# HELP yingji_logwatch_retries_total Batches the store refused, read again later.\n"
                "# TYPE yingji_logwatch_retries_total counter\nyingji_logwatch_retries_total %llu\n",
                (unsigned long long)c.lines, (unsigned long long)c.dropped, (unsigned long long)c.files,
                (unsigned long long)c.rotations, (unsigned long long)c.retries);
    }
    if (srv->detector) {
        struct detector_eviction *ev;
        size_t n = detector_evictions(srv->detector, &ev);
        fprintf(f, "# HELP yingji_detect_window_evictions_total Keys a rule's threshold window forgot because it "
                   "was full (limits.window_keys).\n# TYPE yingji_detect_window_evictions_total counter\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "yingji_detect_window_evictions_total{rule=\"%s\"} %llu\n", ev[i].rule,
                    (unsigned long long)ev[i].evictions);
        free(ev);
    }
    fprintf(f, "# HELP yingji_http_inflight Requests being served, streams included.\n# TYPE yingji_http_inflight "
               "gauge\nyingji_http_inflight %ld\n",
            atomic_load(&srv->inflight));
    fclose(f);
    return out;
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
                                            ssize_t (*reader)(void *stream, uint64_t pos, char *buf, size_t max),
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

/* Every bound that drops something counts it (in /metrics) and is logged here: one line per
 * period in which anything was dropped, never one per message. Runs on the ticker thread only. */
static void report_drops(struct server *srv)
{
    if (srv->syslog) {
        struct syslog_counts c, *was = &srv->drops_seen;
        syslog_receiver_counts(srv->syslog, &c);
        if (c.dropped > was->dropped || c.refused > was->refused)
            yj_log_warn("syslog: dropped %llu messages (malformed %llu, over 64 KiB %llu, store refused %llu, "
                        "queue full %llu, receive buffer full %llu) and refused %llu connections over the limit since "
                        "the last report",
                        (unsigned long long)(c.dropped - was->dropped), (unsigned long long)(c.malformed - was->malformed),
                        (unsigned long long)(c.too_long - was->too_long), (unsigned long long)(c.unstored - was->unstored),
                        (unsigned long long)(c.queue_full - was->queue_full), (unsigned long long)(c.kernel - was->kernel),
                        (unsigned long long)(c.refused - was->refused));
        *was = c;
    }
    if (srv->logwatch) {
        struct logwatch_counts c;
        logwatch_get_counts(srv->logwatch, &c);
        if (c.dropped > srv->logwatch_drops_seen)
            yj_log_warn("logwatch: skipped %llu lines (binary, invalid UTF-8 or over 64 KiB) since the last report",
                        (unsigned long long)(c.dropped - srv->logwatch_drops_seen));
        srv->logwatch_drops_seen = c.dropped;
    }
    if (srv->detector) {
        struct detector_eviction *ev;
        size_t n = detector_evictions(srv->detector, &ev);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += ev[i].evictions;
        if (total > srv->evictions_seen)
            yj_log_warn("detection: threshold windows forgot %llu keys since the last report (full at "
                        "limits.window_keys = %lld per rule); an attack from many addresses is under way or the "
                        "limit is too low",
                        (unsigned long long)(total - srv->evictions_seen), (long long)srv->cfg->limits.window_keys);
        srv->evictions_seen = total;
        free(ev);
    }
}

void server_poke_outbox(struct server *srv)
{
    pthread_mutex_lock(&srv->outbox_lock);
    srv->outbox_poke = true;
    /* Broadcast: the action runner waits on the same condition, and a signal could wake it
     * instead of the outbox (the notifications then waited for the outbox's one-second timer). */
    pthread_cond_broadcast(&srv->outbox_cond);
    pthread_mutex_unlock(&srv->outbox_lock);
}

void server_poke_clock(struct server *srv)
{
    pthread_mutex_lock(&srv->tick_lock);
    srv->tick_poke = true;
    pthread_cond_signal(&srv->tick_cond);
    pthread_mutex_unlock(&srv->tick_lock);
}

/* Runs the clock (overdue deadlines, escalation steps) on the ticker's own store connection.
 * True when a batch was full and more is due at once. */
static bool run_clock(struct server *srv)
{
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!st) {
        server_count_store_error(srv);
        return false;
    }
    struct plan_ref *pr = server_plan_acquire(srv);
    struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "clock", .public_url = srv->cfg->public_url};
    struct clock_result res = {0};
    if (clock_tick(&ctx, &res, &err) < 0) {
        res.more = false;
        server_count_store_error(srv);
        yj_log_error("clock: %s", err.msg);
    } else if (res.overdue || res.steps || res.stopped) {
        if (res.notifications)
            server_poke_outbox(srv);
        yj_log_info("clock: %zu deadlines overdue, %zu escalation steps, %zu notifications queued, %zu escalations "
                    "stopped",
                    res.overdue, res.steps, res.notifications, res.stopped);
        server_wake_streams(srv);
    }
    server_plan_release(pr);
    return res.more;
}

/* The outbox: delivers queued notifications through the configured channels, on a thread of its
 * own because each attempt may wait for a slow receiver. Woken by the clock when it queues, and
 * once a second for retries that fall due. */
static void *outbox_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-outbox");
    struct outbox *ob = outbox_new();
    pthread_mutex_lock(&srv->outbox_lock);
    while (!srv->outbox_stop) {
        srv->outbox_poke = false;
        pthread_mutex_unlock(&srv->outbox_lock);
        struct yj_err err = {0};
        struct store *st = server_store(srv, &err);
        if (st) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "outbox", .public_url = srv->cfg->public_url};
            struct outbox_result res;
            if (outbox_run(&ctx, ob, srv->cfg->channels, srv->cfg->n_channels, OUTBOX_BATCH, &res, &err) < 0) {
                server_count_store_error(srv);
                yj_log_error("outbox: %s", err.msg);
            } else if (res.sent || res.retried || res.failed) {
                if (res.retried || res.failed)
                    yj_log_info("outbox: %zu delivered, %zu to retry, %zu skipped, %zu failed", res.sent,
                                res.retried, res.skipped, res.failed);
                server_wake_streams(srv);
            }
            server_plan_release(pr);
            /* A full round: there may be more due right away. */
            if (res.sent + res.retried + res.skipped + res.failed == OUTBOX_BATCH) {
                pthread_mutex_lock(&srv->outbox_lock);
                continue;
            }
        }
        pthread_mutex_lock(&srv->outbox_lock);
        if (srv->outbox_stop || srv->outbox_poke)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->outbox_cond, &srv->outbox_lock, &ts);
    }
    pthread_mutex_unlock(&srv->outbox_lock);
    outbox_free(ob);
    return NULL;
}

/* The action runner: playbook actions that may run (approved when gated), on a thread of its own
 * because a program may take up to its timeout. Looks once a second; stops with the outbox. */
static void *actor_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-actions");
    bool restored = false;
    pthread_mutex_lock(&srv->outbox_lock);
    while (!srv->outbox_stop) {
        pthread_mutex_unlock(&srv->outbox_lock);
        struct yj_err err = {0};
        struct store *st = server_store(srv, &err);
        if (st) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "action", .public_url = srv->cfg->public_url};
            struct act_result res;
            size_t n_restored = 0;
            /* Blocks still running go back into the kernel (a reboot empties its sets); retried
             * each second until it works. */
            if (!restored) {
                if (act_restore_blocks(&ctx, srv->cfg->actions, srv->cfg->n_actions, &n_restored, &err) < 0) {
                    yj_log_error("actions: restoring blocked addresses: %s", err.msg);
                } else {
                    restored = true;
                    if (n_restored)
                        yj_log_info("actions: %zu blocked addresses put back into nftables", n_restored);
                }
            }
            struct act_restore_source restore = {srv->cfg->integrity, srv->cfg->n_integrity, srv->integrity_objects};
            if (act_run(&ctx, srv->cfg->actions, srv->cfg->n_actions, &restore, &res, &err) < 0) {
                server_count_store_error(srv);
                yj_log_error("actions: %s", err.msg);
            } else if (res.succeeded || res.failed || res.unconfigured) {
                yj_log_info("actions: %zu succeeded, %zu failed, %zu left to people (not configured)", res.succeeded,
                            res.failed, res.unconfigured);
                server_wake_streams(srv);
            }
            server_plan_release(pr);
        }
        pthread_mutex_lock(&srv->outbox_lock);
        if (srv->outbox_stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->outbox_cond, &srv->outbox_lock, &ts);
    }
    pthread_mutex_unlock(&srv->outbox_lock);
    return NULL;
}

/* Once a second: the clock runs, and parked streams look for events written by other processes
 * (the CLI, other nodes) and send keep-alives (local writes wake them at once). Every 10 s, drops
 * are reported. */
static void *ticker_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-clock");
    unsigned ticks = 0;
    pthread_mutex_lock(&srv->tick_lock);
    while (!srv->ticker_stop) {
        bool poked = srv->tick_poke;
        srv->tick_poke = false;
        if (!poked && ++ticks % 10 == 0)
            report_drops(srv);
        pthread_mutex_unlock(&srv->tick_lock);
        bool more = run_clock(srv);
        pthread_mutex_lock(&srv->tick_lock);
        if (srv->ticker_stop)
            break;
        if (srv->tick_poke || more)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->tick_cond, &srv->tick_lock, &ts);
        if (!srv->tick_poke)
            server_wake_streams(srv);
    }
    pthread_mutex_unlock(&srv->tick_lock);
    return NULL;
}

/* ---- sources ---- */

/* Runs on a source's thread: store the batch (durable) with the log positions it reached, then
 * process it. */
static int deliver(struct server *srv, const char *actor, struct store_signal *sigs, size_t n,
                   const struct store_logpos *pos, size_t n_pos)
{
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!st) {
        server_count_store_error(srv);
        return YJ_ESTORE;
    }
    struct plan_ref *pr = server_plan_acquire(srv);
    struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = actor, .public_url = srv->cfg->public_url};
    int rc = detector_store(&ctx, sigs, n, pos, n_pos, &err);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("%s: %s", actor, err.msg);
    } else if (n && detector_process_pending(srv->detector, &ctx, NULL, &err) < 0) {
        /* Stored: processing is retried at the next start. */
        server_count_store_error(srv);
        yj_log_error("processing signals: %s", err.msg);
    }
    server_plan_release(pr);
    if (rc == 0 && n) {
        server_wake_streams(srv);
        server_poke_clock(srv);
    }
    return rc;
}

static int deliver_syslog(struct store_signal *sigs, size_t n, void *ud)
{
    return deliver(ud, "source:syslog", sigs, n, NULL, 0);
}

static int deliver_logwatch(struct store_signal *sigs, size_t n, const struct store_logpos *pos, size_t n_pos,
                            void *ud)
{
    return deliver(ud, "source:logwatch", sigs, n, pos, n_pos);
}

static int logwatch_position(const char *path, struct store_logpos *out, void *ud)
{
    struct yj_err err = {0};
    struct store *st = server_store(ud, &err);
    int rc = st ? store_logpos_get(st, path, out, &err) : YJ_ESTORE;
    if (rc < 0 && rc != YJ_ENOTFOUND)
        yj_log_error("logwatch: %s", err.msg);
    return rc;
}

/* A signal from one of the server's own watchers (monitors, sites, integrity, host) whose fields
 * say what it means (fields.incident / fields.recovered, see detect.c), delivered like any other.
 * Takes fields (decref'd here). */
static void raise_signal(struct server *srv, const char *source, const char *host, const char *asset,
                         const char *message, json_t *fields)
{
    char *text = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    char program[32], actor[32];
    snprintf(program, sizeof(program), "yingji-%s", source);
    snprintf(actor, sizeof(actor), "source:%s", source);
    int64_t now = yj_now_ms();
    struct store_signal sig = {.received_at = now,
                               .time = now,
                               .source = source,
                               .program = program,
                               .host = host,
                               .asset = asset,
                               .message = message,
                               .fields = text};
    deliver(srv, actor, &sig, 1, NULL, 0);
    free(text);
}

/* ---- monitors ---- */

static const struct config_monitor *monitor_config(const struct server *srv, const char *id)
{
    for (size_t i = 0; i < srv->cfg->n_monitors; i++)
        if (strcmp(srv->cfg->monitors[i].id, id) == 0)
            return &srv->cfg->monitors[i];
    return NULL;
}

/* On the monitor thread, once a second: what the checks found, in one transaction. */
static void monitor_checks(const struct monitor_check *checks, size_t n, void *ud)
{
    struct server *srv = ud;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct probe_result *r = &checks[i].r;
        struct store_monitor_check c = {checks[i].id, checks[i].at, r->up, r->elapsed_ms, r->status, r->reason,
                                        r->cert_expires_at};
        rc = store_monitor_check(st, &c, &err);
    }
    if (rc == 0)
        rc = store_commit(st, &err);
    else if (st)
        store_rollback(st);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("monitors: %zu checks not recorded: %s", n, err.msg);
    }
}

static void say_duration(char *buf, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, cap, "%lld 秒", (long long)s);
    else if (s < 3600)
        snprintf(buf, cap, "%lld 分 %lld 秒", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, cap, "%lld 小时 %lld 分", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

/* The least severe level a type allows (the plan's own, by national level IV before I). */
static const char *mildest_level(const struct plan *plan, const char *type_id)
{
    const struct plan_type *t = plan_type(plan, type_id);
    const char *best = NULL;
    int worst = 0;
    for (size_t i = 0; t && i < t->n_levels; i++) {
        const struct plan_level *l = plan_level(plan, t->levels[i]);
        if (l && l->national_level > worst) {
            worst = l->national_level;
            best = l->id;
        }
    }
    return best;
}

/* A certificate near its end is an incident of its own (key monitor:ID:cert), at the mildest level
 * of the outage type unless the monitor names a level: someone must renew it before the site goes
 * down for every browser. A renewed certificate records the recovery. */
static void monitor_certificate(struct server *srv, const struct config_monitor *m, const struct monitor_change *c)
{
    char key[96], message[600], until[40];
    snprintf(key, sizeof(key), "monitor:%s:cert", c->id);
    yj_time_local(c->cert_expires_at, until, sizeof(until));
    json_t *fields;
    if (c->up) {
        snprintf(message, sizeof(message), "%s 的 TLS 证书已更新，有效期至 %s（%s）", c->id, until, m->target);
        fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "monitor", c->id, "state", "certificate_renewed", "recovered",
                           "key", key, "note", message);
    } else {
        snprintf(message, sizeof(message), "%s 的 TLS 证书将于 %s 到期，还剩 %lld 天（%s）", c->id, until,
                 (long long)((c->cert_expires_at - c->at) / YJ_MS_PER_DAY), m->target);
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = config_monitor_type(m, pr->plan);
        char title[300];
        snprintf(title, sizeof(title), "证书即将到期：%s（%s）", c->id, until);
        fields = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s?, s:s?}}", "monitor", c->id, "state",
                           "certificate_ending", "reason", c->reason, "incident", "type", type, "title", title, "key",
                           key, "level", m->level ? m->level : mildest_level(pr->plan, type), "unit", m->unit);
        server_plan_release(pr);
    }
    raise_signal(srv, "monitor", m->target, m->asset, message, fields);
}

/* On the monitor thread: a target went down or came back. The change is stored, then a signal that
 * says what it means (the plan type the config names) goes the way of every signal. */
static void monitor_change(const struct monitor_change *c, void *ud)
{
    struct server *srv = ud;
    const struct config_monitor *m = monitor_config(srv, c->id);
    if (m && c->certificate) {
        monitor_certificate(srv, m, c);
        return;
    }
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!m || !st)
        return;
    struct store_monitor before = {0};
    store_monitor_get(st, c->id, &before, NULL);
    int rc = store_begin(st, &err);
    if (rc == 0 && (rc = store_monitor_change(st, c->id, c->at, c->up, c->reason, &err)) == 0)
        rc = store_commit(st, &err);
    else if (rc == 0)
        store_rollback(st);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("monitor %s: %s", c->id, err.msg);
    }
    char key[96], message[600];
    snprintf(key, sizeof(key), "monitor:%s", c->id);
    json_t *fields;
    if (c->up) {
        char lasted[64] = "";
        if (strcmp(before.status, "down") == 0 && before.since)
            say_duration(lasted, sizeof(lasted), c->at - before.since);
        snprintf(message, sizeof(message), "%s 已恢复%s%s（%s）", c->id, lasted[0] ? "，中断 " : "", lasted, m->target);
        fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "monitor", c->id, "state", "up", "recovered", "key", key, "note",
                           message);
    } else {
        snprintf(message, sizeof(message), "%s 不可用：%s（%s，连续 %d 次检查失败）", c->id, c->reason, m->target,
                 c->failures);
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = config_monitor_type(m, pr->plan);
        char title[300];
        if (m->title)
            snprintf(title, sizeof(title), "%s", m->title);
        else
            snprintf(title, sizeof(title), "监测：%s 不可用", c->id);
        fields = json_pack("{s:s, s:s, s:s, s:{s:s?, s:s, s:s, s:s?, s:s?}}", "monitor", c->id, "state", "down",
                           "reason", c->reason, "incident", "type", type, "title", title, "key", key, "level",
                           m->level, "unit", m->unit);
        server_plan_release(pr);
    }
    raise_signal(srv, "monitor", m->target, m->asset, message, fields);
}

static int start_monitors(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    if (!cfg->n_monitors)
        return 0;
    struct store *st = server_store(srv, err);
    if (!st)
        return YJ_ESTORE;
    struct monitor_spec *specs = xcalloc(cfg->n_monitors, sizeof(*specs));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_monitors; i++) {
        const struct config_monitor *m = &cfg->monitors[i];
        struct store_monitor known = {0};
        if ((rc = store_monitor_register(st, m->id, m->target, err)) < 0 ||
            (rc = store_monitor_get(st, m->id, &known, err)) < 0)
            break;
        specs[i] = (struct monitor_spec){
            .id = m->id,
            .probe = {.target = m->target,
                      .timeout_ms = m->timeout > 0 ? m->timeout : 10000,
                      .keyword = m->keyword,
                      .absent = m->absent,
                      .ca_file = m->ca,
                      .cert_warn_days = m->cert_warn > 0 ? (int)(m->cert_warn / 86400000) : 14,
                      .expect = (const char *const *)m->expect,
                      .n_expect = m->n_expect},
            .interval_ms = m->interval > 0 ? m->interval : 60000,
            .retries = (int)m->retries,
            .was_down = strcmp(known.status, "down") == 0,
            .was_cert_soon = known.cert_expires_at &&
                             known.cert_expires_at - yj_now_ms() <
                                 (m->cert_warn > 0 ? m->cert_warn : 14 * YJ_MS_PER_DAY),
        };
    }
    if (rc == 0)
        rc = monitor_runner_start(specs, cfg->n_monitors, monitor_checks, monitor_change, srv, &srv->monitors, err);
    free(specs);
    if (rc == 0) {
        printf("yingji: %zu monitors\n", cfg->n_monitors);
        fflush(stdout);
    }
    return rc;
}

/* ---- the website guard on a schedule ---- */

static const struct config_site *site_config(const struct server *srv, const char *id)
{
    for (size_t i = 0; i < srv->cfg->n_sites; i++)
        if (strcmp(srv->cfg->sites[i].id, id) == 0)
            return &srv->cfg->sites[i];
    return NULL;
}

/* The GB/T 20986 subcategory of a prohibited-word category (the word lists' `# category:`). */
static const char *content_gbt(const char *category)
{
    static const struct {
        const char *category, *gbt;
    } map[] = {{"反动", "content.reactionary"}, {"色情", "content.porn"}, {"商业广告", "content.spam"},
               {"赌博", "content.fraud"}, {"涉密", "data.leak"}, {"暴恐", "content.terror"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(map); i++)
        if (strcmp(category, map[i].category) == 0)
            return map[i].gbt;
    return "content.other";
}

/* On the sites thread: what a group of checks found now (n == 0: nothing any more). */
static void site_findings(const char *id, enum sitewatch_group group, const struct webguard_finding *fs, size_t n,
                          void *ud)
{
    struct server *srv = ud;
    const struct config_site *w = site_config(srv, id);
    if (!w)
        return;
    bool content = group == SITEWATCH_CONTENT;
    char key[128], message[700], title[300];
    snprintf(key, sizeof(key), "site:%s:%s", id, content ? "content" : "integrity");
    json_t *fields;
    if (!n) {
        snprintf(message, sizeof(message), "%s：%s已消失（%s）", id, content ? "违规内容" : "篡改、暗链与注入脚本", w->url);
        fields = json_pack("{s:s, s:{s:s, s:s}}", "site", id, "recovered", "key", key, "note", message);
    } else {
        bool hidden = false;
        json_t *list = json_array();
        for (size_t i = 0; i < n && i < 20; i++) {
            hidden |= strcmp(fs[i].kind, "hidden_link") == 0;
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "kind", fs[i].kind, "category",
                                                  fs[i].category, "detail", fs[i].detail, "evidence", fs[i].evidence));
        }
        const char *what = content ? "出现违规内容" : hidden ? "被植入暗链" : "被篡改";
        snprintf(title, sizeof(title), "网站%s：%s", what, id);
        snprintf(message, sizeof(message), "%s %s：%s（共 %zu 项）", id, what, fs[0].detail, n);
        const char *gbt = content ? content_gbt(fs[0].category) : hidden ? "attack.hidden_link" : "attack.web_tamper";
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = content ? config_site_content_type(w, pr->plan) : config_site_type(w, pr->plan);
        fields = json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s?, s:s?, s:s}}", "site", id, "url", w->url, "findings",
                           list, "incident", "type", type, "title", title, "key", key, "level", w->level, "unit",
                           w->unit, "gbt", gbt);
        server_plan_release(pr);
    }
    raise_signal(srv, "webguard", w->url, w->asset, message, fields);
}

static void site_baseline(const char *id, size_t bytes, void *ud)
{
    struct server *srv = ud;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    char detail[96];
    snprintf(detail, sizeof(detail), "{\"bytes\":%zu}", bytes);
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    if (rc == 0 && (rc = audit_append(st, yj_now_ms(), "source:webguard", "site.baseline", id, detail, &err)) == 0)
        rc = store_commit(st, &err);
    else if (rc == 0)
        store_rollback(st);
    if (rc < 0)
        yj_log_error("site %s: %s", id, err.msg);
    yj_log_info("site %s: baseline of %zu bytes saved", id, bytes);
}

void server_site_accept(struct server *srv, const char *id)
{
    sitewatch_accept(srv->sites, id);
}

const char *server_sites_dir(const struct server *srv)
{
    return srv->sites_dir;
}

static int start_sites(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    if (!cfg->n_sites)
        return 0;
    int rc = webguard_words_load(cfg->words, &srv->words, err);
    if (rc < 0)
        return rc;
    if (mkdir(srv->sites_dir, 0700) != 0 && errno != EEXIST)
        return yj_err_set(err, YJ_EIO, "cannot create %s: %s", srv->sites_dir, strerror(errno));
    struct sitewatch_spec *specs = xcalloc(cfg->n_sites, sizeof(*specs));
    for (size_t i = 0; i < cfg->n_sites; i++) {
        const struct config_site *w = &cfg->sites[i];
        specs[i] = (struct sitewatch_spec){w->id, w->url, w->interval > 0 ? w->interval : 0,
                                           (const char *const *)w->dynamic, w->n_dynamic, w->ca};
    }
    rc = sitewatch_start(specs, cfg->n_sites, srv->words, srv->sites_dir, site_findings, site_baseline, srv,
                         &srv->sites, err);
    free(specs);
    if (rc == 0) {
        printf("yingji: guarding %zu sites\n", cfg->n_sites);
        fflush(stdout);
    }
    return rc;
}

/* ---- host resources ---- */

static void host_sampled(const struct host_sample *smp, void *ud)
{
    struct server *srv = ud;
    pthread_mutex_lock(&srv->host_lock);
    srv->host_last = *smp;
    pthread_mutex_unlock(&srv->host_lock);
}

bool server_host_sample(struct server *srv, struct host_sample *out)
{
    pthread_mutex_lock(&srv->host_lock);
    *out = srv->host_last;
    pthread_mutex_unlock(&srv->host_lock);
    return out->at != 0;
}

static void say_value(char *buf, size_t cap, double v, const char *unit)
{
    if (strcmp(unit, "B/s") == 0)
        snprintf(buf, cap, "%.1f MiB/s", v / 1048576.0);
    else
        snprintf(buf, cap, "%.1f%s", v, unit);
}

/* A resource stayed above its limit (or came back): a signal that opens or recovers the incident
 * of that resource. */
static void host_changed(const struct host_change *c, void *ud)
{
    struct server *srv = ud;
    const struct config_host *h = &srv->cfg->host;
    char value[64], limit[64], message[600], key[340], title[400];
    say_value(value, sizeof(value), c->value, c->unit);
    say_value(limit, sizeof(limit), c->limit, c->unit);
    snprintf(key, sizeof(key), "host:%s", c->key);
    json_t *fields;
    if (c->high) {
        snprintf(message, sizeof(message), "%s %s，超过阈值 %s", c->metric, value, limit);
        snprintf(title, sizeof(title), "主机资源异常：%s 超过 %s", c->metric, limit);
        struct plan_ref *pr = server_plan_acquire(srv);
        fields = json_pack("{s:s, s:f, s:f, s:{s:s, s:s, s:s, s:s?, s:s?}}", "resource", c->key, "value", c->value,
                           "limit", c->limit, "incident", "type", config_host_type(h, pr->plan), "title", title, "key",
                           key, "level", h->level, "unit", h->unit);
        server_plan_release(pr);
    } else {
        snprintf(message, sizeof(message), "%s 已回落至 %s（阈值 %s）", c->metric, value, limit);
        fields = json_pack("{s:s, s:f, s:f, s:{s:s, s:s}}", "resource", c->key, "value", c->value, "limit", c->limit,
                           "recovered", "key", key, "note", message);
    }
    raise_signal(srv, "host", "localhost", h->asset, message, fields);
}

static int start_host(struct server *srv, struct yj_err *err)
{
    const struct config_host *h = &srv->cfg->host;
    if (!h->enabled)
        return 0;
    size_t n = 0;
    if (h->n_paths)
        for (size_t i = 0; i < h->n_paths && n < HOST_MAX_DISKS; i++)
            srv->host_paths[n++] = h->paths[i];
    else {
        srv->host_paths[n++] = "/";
        srv->host_paths[n++] = srv->cfg->data;
    }
    struct host_limits limits = {.cpu = (double)h->cpu,
                                 .memory = (double)h->memory,
                                 .space = (double)h->disk,
                                 .inodes = (double)h->inodes,
                                 .load1 = (double)h->load,
                                 .network = h->network > 0 ? (double)h->network : 0,
                                 .sustained_ms = h->sustained >= 0 ? h->sustained : 300000};
    int rc = host_watch_start(h->proc ? h->proc : "/proc", srv->host_paths, n, h->interval > 0 ? h->interval : 30000,
                              &limits, host_sampled, host_changed, srv, &srv->host, err);
    if (rc == 0) {
        printf("yingji: watching this host's resources\n");
        fflush(stdout);
    }
    return rc;
}

/* ---- file integrity ---- */

static const struct config_integrity *integrity_config(const struct server *srv, const char *id)
{
    for (size_t i = 0; i < srv->cfg->n_integrity; i++)
        if (strcmp(srv->cfg->integrity[i].id, id) == 0)
            return &srv->cfg->integrity[i];
    return NULL;
}

/* On the integrity thread (or at start): a new baseline, stored and audited. */
static void integrity_baseline(const char *id, const struct fim_file *files, size_t n, void *ud)
{
    struct server *srv = ud;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    struct store_integrity_file *rows = xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct store_integrity_file){files[i].path, files[i].size, files[i].hash};
    int64_t now = yj_now_ms();
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    if (rc == 0)
        rc = store_integrity_put(st, id, rows, n, now, "system", &err);
    if (rc == 0) {
        char detail[128];
        snprintf(detail, sizeof(detail), "{\"files\":%zu}", n);
        rc = audit_append(st, now, "source:integrity", "integrity.baseline", id, detail, &err);
    }
    if (rc == 0)
        rc = store_commit(st, &err);
    else if (st)
        store_rollback(st);
    free(rows);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("integrity %s: the baseline was not stored: %s", id, err.msg);
    } else {
        yj_log_info("integrity %s: baseline of %zu files", id, n);
    }
}


/* A file differs from the baseline: a signal with the file, its hashes and (text) the diff, that
 * opens or counts on the watch's incident. */
static void integrity_change(const struct fim_change *c, void *ud)
{
    struct server *srv = ud;
    const struct config_integrity *w = integrity_config(srv, c->id);
    if (!w)
        return;
    const char *said = strcmp(c->kind, "added") == 0 ? "被新增" : strcmp(c->kind, "deleted") == 0 ? "被删除" : "被修改";
    char message[600], key[96], title[300];
    snprintf(message, sizeof(message), "%s：%s %s", c->id, c->path, said);
    snprintf(key, sizeof(key), "integrity:%s", c->id);
    if (w->title)
        snprintf(title, sizeof(title), "%s", w->title);
    else
        snprintf(title, sizeof(title), "网页文件被篡改：%s", c->id);
    char *full = xasprintf("%s/%s", w->path, c->path);
    char diff[8192];
    fim_diff(srv->integrity_objects, c->old_hash, full, diff, sizeof(diff));
    free(full);
    struct plan_ref *pr = server_plan_acquire(srv);
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:{s:s?, s:s, s:s, s:s?, s:s?, s:s}}", "integrity",
                               c->id, "path", c->path, "change", c->kind, "hash", *c->hash ? c->hash : NULL, "old_hash",
                               *c->old_hash ? c->old_hash : NULL, "diff", diff[0] ? diff : NULL, "incident", "type",
                               config_integrity_type(w, pr->plan), "title", title, "key", key, "level", w->level,
                               "unit", w->unit, "gbt", "attack.web_tamper");
    server_plan_release(pr);
    raise_signal(srv, "integrity", w->path, w->asset, message, fields);
}

/* Every file matches its baseline again (restored): the incident records it. */
static void integrity_clean(const char *id, int64_t at, void *ud)
{
    (void)at;
    struct server *srv = ud;
    const struct config_integrity *w = integrity_config(srv, id);
    if (!w)
        return;
    char message[300], key[96];
    snprintf(message, sizeof(message), "%s：所有文件已与基线一致", id);
    snprintf(key, sizeof(key), "integrity:%s", id);
    json_t *fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "integrity", id, "change", "restored", "recovered", "key",
                               key, "note", message);
    raise_signal(srv, "integrity", w->path, w->asset, message, fields);
}

struct baseline_rows {
    struct fim_file *files;
    char **strings;
    size_t n, cap;
};

static void collect_baseline(const struct store_integrity_file *f, void *ud)
{
    struct baseline_rows *b = ud;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->files = xrealloc(b->files, b->cap * sizeof(*b->files));
        b->strings = xrealloc(b->strings, b->cap * sizeof(*b->strings));
    }
    b->strings[b->n] = xstrdup(f->path);
    b->files[b->n] = (struct fim_file){.path = b->strings[b->n], .size = f->size};
    snprintf(b->files[b->n].hash, sizeof(b->files[b->n].hash), "%s", f->hash);
    b->n++;
}

static int start_integrity(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    if (!cfg->n_integrity)
        return 0;
    struct store *st = server_store(srv, err);
    if (!st)
        return YJ_ESTORE;
    srv->integrity_objects = xasprintf("%s/integrity", cfg->data);
    if (mkdir(srv->integrity_objects, 0700) != 0 && errno != EEXIST)
        return yj_err_set(err, YJ_EIO, "cannot create %s: %s", srv->integrity_objects, strerror(errno));
    struct fim_spec *specs = xcalloc(cfg->n_integrity, sizeof(*specs));
    struct baseline_rows *rows = xcalloc(cfg->n_integrity, sizeof(*rows));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_integrity; i++) {
        const struct config_integrity *w = &cfg->integrity[i];
        int64_t taken = 0;
        rc = store_integrity_get(st, w->id, collect_baseline, &rows[i], &taken, err);
        specs[i] = (struct fim_spec){.id = w->id,
                                     .root = w->path,
                                     .exclude = w->exclude,
                                     .n_exclude = w->n_exclude,
                                     .scan_ms = w->scan > 0 ? w->scan : 0,
                                     .baseline = rows[i].files,
                                     .n_baseline = rows[i].n,
                                     .has_baseline = taken != 0};
    }
    if (rc == 0)
        rc = fim_start(specs, cfg->n_integrity, srv->integrity_objects, integrity_change, integrity_clean,
                       integrity_baseline, srv, &srv->integrity, err);
    for (size_t i = 0; i < cfg->n_integrity; i++) {
        for (size_t k = 0; k < rows[i].n; k++)
            free(rows[i].strings[k]);
        free(rows[i].strings);
        free(rows[i].files);
    }
    free(rows);
    free(specs);
    if (rc == 0) {
        for (size_t i = 0; i < cfg->n_integrity; i++)
            printf("yingji: watching %s (integrity %s)\n", cfg->integrity[i].path, cfg->integrity[i].id);
        fflush(stdout);
    }
    return rc;
}

static int start_sources(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    if (!cfg->n_sources)
        return 0;
    struct syslog_listener *ls = xcalloc(cfg->n_sources, sizeof(*ls));
    struct logwatch_spec *lws = xcalloc(cfg->n_sources, sizeof(*lws));
    size_t n = 0, n_lw = 0;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct config_source *c = &cfg->sources[i];
        if (strcmp(c->type, "syslog") == 0)
            ls[n++] = (struct syslog_listener){c->listen, c->protocol, c->buffer, c->connections};
        else if (strcmp(c->type, "logwatch") == 0)
            lws[n_lw++] = (struct logwatch_spec){c->path, c->program, c->asset,
                                                 c->start && strcmp(c->start, "beginning") == 0};
    }
    int rc = n ? syslog_receiver_start(ls, n, deliver_syslog, srv, &srv->syslog, err) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("yingji: syslog on %s/%s (port %d)\n", ls[i].listen, ls[i].protocol ? ls[i].protocol : "udp",
               syslog_receiver_port(srv->syslog, i));
    if (rc == 0 && n_lw)
        rc = logwatch_start(lws, n_lw, logwatch_position, deliver_logwatch, srv, &srv->logwatch, err);
    for (size_t i = 0; rc == 0 && i < n_lw; i++)
        printf("yingji: following %s\n", lws[i].path);
    fflush(stdout);
    free(ls);
    free(lws);
    return rc;
}

/* ---- start and stop ---- */

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

static char *read_pem(const char *path, struct yj_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        yj_err_set(err, YJ_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    enum { PEM_MAX = 1024 * 1024 };
    char *buf = xmalloc(PEM_MAX);
    size_t n = fread(buf, 1, PEM_MAX - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

int server_run(const struct server_options *opt)
{
    struct yj_config *cfg = opt->cfg;
    struct yj_err err = {0};
    struct server *srv = xcalloc(1, sizeof(*srv));
    srv->opt = opt;
    srv->cfg = cfg;
    int status = 1;
    char *cert = NULL, *key = NULL;
    /* Compiled rule databases are cached beside the data (a service account may have no home),
     * before any thread exists: setenv is not thread-safe. */
    if (!getenv("YINGJI_CACHE_DIR")) {
        char *cache = xasprintf("%s/cache", cfg->data);
        setenv("YINGJI_CACHE_DIR", cache, 1);
        free(cache);
    }
    pthread_mutex_init(&srv->plan_lock, NULL);
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->tick_lock, NULL);
    pthread_cond_init(&srv->tick_cond, NULL);
    pthread_mutex_init(&srv->host_lock, NULL);
    srv->sites_dir = xasprintf("%s/sites", cfg->data);
    pthread_mutex_init(&srv->outbox_lock, NULL);
    pthread_cond_init(&srv->outbox_cond, NULL);
    pthread_key_create(&srv->store_key, store_destroy);
    srv->cache = response_cache_new((size_t)4 << 20);

    struct plan *p = NULL;
    struct plan_diags diags = {0};
    if (plan_load(cfg->plan, &p, &diags, &err) < 0) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.lines[i]);
        if (!diags.n)
            fprintf(stderr, "yingji: %s\n", err.msg);
        plan_diags_release(&diags);
        status = 2;
        goto out;
    }
    srv->plan = plan_ref_new(srv, p);
    if (config_check_plan(cfg, p, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        status = 2;
        goto out;
    }
    {
        /* Detection: the rules must fit the plan; then take up what a crash left unprocessed
         * and refill the threshold windows. */
        struct plan_diags rd = {0};
        if (detector_new(cfg->rules, p, (size_t)cfg->limits.window_keys, &srv->detector, &rd, &err) < 0) {
            for (size_t i = 0; i < rd.n; i++)
                fprintf(stderr, "%s\n", rd.lines[i]);
            if (!rd.n)
                fprintf(stderr, "yingji: %s\n", err.msg);
            plan_diags_release(&rd);
            status = 2;
            goto out;
        }
        struct store *st = NULL;
        if (store_open(cfg->data, &st, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            goto out;
        }
        struct yj_ctx ctx = {.plan = p, .store = st, .actor = "system:start"};
        size_t n = 0;
        if (detector_warm(srv->detector, &ctx, &err) < 0 || detector_process_pending(srv->detector, &ctx, &n, &err) < 0)
            yj_log_error("detection at start: %s", err.msg);
        else if (n)
            yj_log_info("processed %zu signals left from before the restart", n);
        store_free(st);
    }

    char host[256];
    int port;
    if (config_parse_listen(cfg->listen, host, sizeof(host), &port, &err) < 0) {
        fprintf(stderr, "yingji: %s\n", err.msg);
        status = 2;
        goto out;
    }
    struct sockaddr_storage ss = {0};
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (!*host || strcmp(host, "0.0.0.0") == 0 || inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
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
        fprintf(stderr, "yingji: listen \"%s\": the address must be numeric (IPv4 or [IPv6])\n", cfg->listen);
        status = 2;
        goto out;
    }
    if (cfg->tls.cert) {
        if (!(cert = read_pem(cfg->tls.cert, &err)) || !(key = read_pem(cfg->tls.key, &err))) {
            fprintf(stderr, "yingji: tls: %s\n", err.msg);
            goto out;
        }
        flags |= MHD_USE_TLS;
        srv->tls = true;
    }
    unsigned threads = (unsigned)(cfg->threads > 0 ? cfg->threads : 4);
    unsigned timeout_s = (unsigned)((cfg->limits.timeout + 999) / 1000);
    struct MHD_OptionItem tls_opts[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    /* The logger goes first so that MHD reports even option errors through it. */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->limits.connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->limits.per_address, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->limits.memory, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!srv->daemon) {
        fprintf(stderr, "yingji: cannot listen on %s: %s\n", cfg->listen,
                errno ? strerror(errno) : "see the log above");
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : port;
    if (start_sources(srv, &err) < 0 || start_monitors(srv, &err) < 0 || start_integrity(srv, &err) < 0 ||
        start_host(srv, &err) < 0 || start_sites(srv, &err) < 0) {
        fprintf(stderr, "yingji: %s\n", err.msg);
        MHD_stop_daemon(srv->daemon);
        goto out;
    }
    pthread_create(&srv->ticker, NULL, ticker_main, srv);
    pthread_create(&srv->outbox, NULL, outbox_main, srv);
    pthread_create(&srv->actor, NULL, actor_main, srv);
    {
        const char *shown = *host && strcmp(host, "0.0.0.0") != 0 ? host : "127.0.0.1";
        bool v6 = strchr(shown, ':') != NULL;
        printf("yingji: listening on %s://%s%s%s:%d/ (plan %s, data %s)\n", srv->tls ? "https" : "http",
               v6 ? "[" : "", shown, v6 ? "]" : "", bound, p->meta.name, cfg->data);
        fflush(stdout);
    }
    yj_log_info("serving %s on %s, %u threads", p->meta.name, cfg->listen, threads);

    /* Signals are blocked in every thread (main() did it before any thread started) and taken
     * here, synchronously, so no handler ever runs in the middle of a request. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload_plan(srv);
            continue;
        }
        break;
    }
    yj_log_info("stopping: no new connections, finishing requests in flight");
    atomic_store(&srv->stopping, true);
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
    pthread_mutex_lock(&srv->tick_lock);
    srv->ticker_stop = true;
    pthread_cond_signal(&srv->tick_cond);
    pthread_mutex_unlock(&srv->tick_lock);
    pthread_join(srv->ticker, NULL);
    pthread_mutex_lock(&srv->outbox_lock);
    srv->outbox_stop = true;
    pthread_cond_broadcast(&srv->outbox_cond);
    pthread_mutex_unlock(&srv->outbox_lock);
    pthread_join(srv->outbox, NULL);
    pthread_join(srv->actor, NULL);
    /* Sources after every reader of their counters (requests, the ticker) is done, and before the
     * store goes: what they hold is delivered. */
    monitor_runner_stop(srv->monitors);
    srv->monitors = NULL;
    fim_stop(srv->integrity);
    srv->integrity = NULL;
    host_watch_stop(srv->host);
    srv->host = NULL;
    sitewatch_stop(srv->sites);
    srv->sites = NULL;
    syslog_receiver_stop(srv->syslog);
    srv->syslog = NULL;
    logwatch_stop(srv->logwatch);
    srv->logwatch = NULL;
    server_wake_streams(srv);
    MHD_stop_daemon(srv->daemon);
    yj_log_info("stopped");
    status = 0;
out:
    server_plan_release(srv->plan);
    detector_free(srv->detector);
    free(srv->integrity_objects);
    free(srv->sites_dir);
    webguard_words_free(srv->words);
    pthread_key_delete(srv->store_key);
    response_cache_free(srv->cache);
    free(srv->parked);
    free(cert);
    free(key);
    free(srv);
    return status;
}
