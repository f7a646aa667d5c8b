/* server.c: the HTTP server (libmicrohttpd: epoll, a thread pool, suspend/resume for live
 * streams). The only file that speaks MHD. Each pool thread owns its own store connection;
 * the plan is shared by reference count and swapped on SIGHUP. Must never block a pool thread
 * waiting for events: streams park their connection and are resumed by wake-ups. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../engine/clock.h"
#include "../engine/directory.h"
#include "../outputs/channels.h"
#include "../outputs/act.h"
#include "../outputs/outbox.h"
#include "../engine/detect.h"
#include "../sources/logwatch.h"
#include "../sources/syslog.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "cache.h"
#include "edge.h"
#include "http.h"
#include "watchers.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROUTES 96
static const unsigned metric_codes[] = {200, 201, 202, 204, 304, 400, 401, 403, 404,
                                        405, 409, 412, 413, 415, 429, 500, 503, 0 /* other */};
#define N_CODES (sizeof(metric_codes) / sizeof(metric_codes[0]))
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define N_BUCKETS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))

struct server {
    const struct server_options *opt;
    struct yj_config *cfg;
    pthread_mutex_t plan_lock;
    pthread_mutex_t reload_lock; /* one plan reload at a time */
    struct plan_ref *plan;
    struct MHD_Daemon *daemon;
    atomic_long inflight;

    pthread_mutex_t park_lock;
    struct MHD_Connection **parked;
    size_t n_parked, cap_parked;
    pthread_t ticker;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_cond;

    atomic_ulong counts[MAX_ROUTES + 1][N_CODES];
    atomic_ulong buckets[N_BUCKETS + 1];
    atomic_ulong latency_us;
    atomic_ulong latency_n;
    atomic_ulong store_errors;
    atomic_ulong plan_reloads;
    atomic_ulong plan_reload_failures;
    atomic_ulong plan_generation;
    atomic_ulong channels_generation; /* bumped when the console changes a channel */
    struct response_cache *cache;
    struct edge *edge; /* admission, request-time bounds, strict heads (edge.c) */
    struct detector *detector;
    struct syslog_receiver *syslog;
    struct logwatch *logwatch;
    struct watchers *watchers; /* monitors, website guard, file integrity, host (watchers.c) */
    /* The work that must happen once among the nodes of one store (the clock, the outbox, actions,
     * the scheduled watchers) runs here while this node holds the lease; polled by the ticker. */
    struct store_lease *lease;
    int64_t lease_token;
    pthread_t outbox, actor;
    pthread_mutex_t outbox_lock;
    pthread_cond_t outbox_cond;
    /* The audit record: the key every connection signs the head with; where the API last found
     * the chain intact (verification continues from there); the last checkpoint written out and
     * the day of the last daily message. */
    struct audit_key *audit_key;
    pthread_mutex_t audit_lock;
    int64_t audit_verified_id;
    int64_t checkpoint_id, checkpoint_at;
    struct syslog_counts drops_seen; /* as last reported by report_drops */
    uint64_t logwatch_drops_seen, evictions_seen;
    pthread_key_t store_key;
    int checkpoint_minute;
    char audit_verified_hash[65];
    char checkpoint_day[16];
    /* The small flags last, where they pack. */
    atomic_bool stopping;
    atomic_bool leader; /* this node holds the work lease */
    bool tls;
    bool ticker_stop;
    bool tick_poke; /* run the clock at once, not at the next second */
    bool outbox_stop, outbox_poke;
};

struct watchers *server_watchers(struct server *srv)
{
    return srv->watchers;
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

/* Puts a loaded plan in force when the config and the rules fit it; otherwise frees it, says why
 * and the old plan stays. */
int server_plan_install(struct server *srv, struct plan *p, struct yj_err *err)
{
    if (config_check_plan(srv->cfg, p, err) < 0) {
        yj_err_prefix(err, "the config names what the plan lacks: ");
        plan_free(p);
        return YJ_EINVAL;
    }
    if (srv->detector && detector_check_plan(srv->detector, p, err) < 0) {
        plan_free(p);
        return YJ_EINVAL;
    }
    struct plan_ref *fresh = plan_ref_new(srv, p);
    pthread_mutex_lock(&srv->plan_lock);
    struct plan_ref *old = srv->plan;
    srv->plan = fresh;
    pthread_mutex_unlock(&srv->plan_lock);
    server_plan_release(old);
    return 0;
}

/* SIGHUP, or the console edited the directory: the file's plan with the console's edits; it must
 * validate completely, or the old one stays. One at a time, so the last loaded is the last put in
 * force. */
int server_plan_reload(struct server *srv, struct yj_err *err)
{
    struct plan *p = NULL;
    struct plan_diags diags = {0};
    pthread_mutex_lock(&srv->reload_lock);
    struct store *st = server_store(srv, err);
    char *edits_error = NULL;
    int rc = st ? directory_plan(srv->cfg->plan, st, &p, &edits_error, &diags, err) : YJ_ESTORE;
    if (rc == 0) {
        if (edits_error)
            yj_log_error("the console's edits of the directory no longer fit the plan and are not applied: %s",
                         edits_error);
        rc = server_plan_install(srv, p, err);
    }
    pthread_mutex_unlock(&srv->reload_lock);
    free(edits_error);
    if (rc < 0) {
        atomic_fetch_add(&srv->plan_reload_failures, 1);
        yj_log_error("plan reload refused, the old plan stays in force: %s", err->msg);
        for (size_t i = 1; i < diags.n; i++)
            yj_log_error("%s", diags.lines[i]);
        plan_diags_release(&diags);
        return rc;
    }
    atomic_fetch_add(&srv->plan_reloads, 1);
    yj_log_info("plan reloaded from %s", srv->cfg->plan);
    return 0;
}

void server_channels_changed(struct server *srv)
{
    atomic_fetch_add(&srv->channels_generation, 1);
    server_poke_outbox(srv);
}

/* The store holds password, session and token hashes, the audit key signs the record: said at
 * start when another account could read them (a directory made before 0700, a copied file). */
static void warn_permissions(const struct yj_config *cfg)
{
    /* A PostgreSQL store's file modes are the database server's concern. */
    char *db = xstrdup(strncmp(cfg->store, "sqlite:", 7) == 0 ? cfg->store + 7 : cfg->data);
    char *key = audit_key_path(cfg->data, cfg->audit.key);
    const struct {
        const char *path;
        unsigned want;
        const char *fix;
    } checks[] = {{cfg->data, 0700, "chmod 700"}, {db, 0600, "chmod 600"}, {key, 0600, "chmod 600"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(checks); i++) {
        struct stat sb;
        if (stat(checks[i].path, &sb) == 0 && (sb.st_mode & 077 & ~checks[i].want))
            yj_log_warn("%s is mode %04o: other accounts may read it (it should be %04o: %s %s)",
                        checks[i].path, (unsigned)(sb.st_mode & 07777), checks[i].want, checks[i].fix,
                        checks[i].path);
    }
    free(db);
    free(key);
}

/* What makes the desk quietly useless, said at start: nowhere to send (notifications would sit
 * queued), no address for links (messages would carry none). */
static void warn_setup(const struct yj_config *cfg, size_t n_channels)
{
    if (!n_channels)
        yj_log_warn(
            "no notification channel is configured (channels: in the config, see yingji.example.yaml, or 通知通道 "
            "in the console): "
            "notifications are queued but nothing is sent to anyone");
    if (!cfg->public_url)
        yj_log_warn("public_url is not set in the config: messages cannot link to the incident");
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
    if (store_open(srv->cfg->store, srv->cfg->store_password, &st, err) < 0)
        return NULL;
    store_set_audit_key(st, srv->audit_key);
    pthread_setspecific(srv->store_key, st);
    return st;
}

int server_audit_verify(struct server *srv, struct store *st, struct audit_result *res, struct yj_err *err)
{
    pthread_mutex_lock(&srv->audit_lock);
    struct audit_verify_opts opts = {
        .key = srv->audit_key, .from_id = srv->audit_verified_id, .from_hash = srv->audit_verified_hash};
    int rc = audit_verify(st, &opts, res, err);
    if (rc == 0 && res->bad_id == 0 && res->rows) {
        srv->audit_verified_id = res->rows;
        memcpy(srv->audit_verified_hash, res->head_hash, sizeof(srv->audit_verified_hash));
    }
    pthread_mutex_unlock(&srv->audit_lock);
    return rc;
}

/* Once an hour when the head has moved (and at start and stop): the signed head goes to the
 * checkpoints file; once a day at the configured time, to the plan's office. Runs on the ticker. */
static void audit_checkpoints(struct server *srv, bool force)
{
    int64_t now = yj_now_ms();
    bool hourly = force || now - srv->checkpoint_at >= YJ_MS_PER_HOUR;
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char day[16];
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    bool daily = !force && tm.tm_hour * 60 + tm.tm_min >= srv->checkpoint_minute &&
                 strcmp(day, srv->checkpoint_day) != 0;
    if (!hourly && !daily)
        return;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    struct audit_checkpoint cp;
    if (!st || audit_checkpoint_take(st, now, &cp, &err) < 0) {
        if (err.code != YJ_ESTATE) /* an empty chain has nothing to checkpoint yet */
            yj_log_error("audit checkpoint: %s", err.msg);
        srv->checkpoint_at = now;
        return;
    }
    if (hourly) {
        srv->checkpoint_at = now;
        if (cp.id != srv->checkpoint_id) {
            char *path = audit_checkpoints_path(srv->cfg->data, srv->cfg->audit.checkpoints);
            if (audit_checkpoint_append(path, &cp, &err) < 0)
                yj_log_error("%s", err.msg);
            else
                srv->checkpoint_id = cp.id;
            free(path);
        }
    }
    if (daily) {
        struct plan_ref *pr = server_plan_acquire(srv);
        struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "clock"};
        size_t queued = 0;
        if (clock_announce_checkpoint(&ctx, &cp, day, &queued, &err) < 0) {
            yj_log_error("audit checkpoint message: %s", err.msg);
        } else {
            snprintf(srv->checkpoint_day, sizeof(srv->checkpoint_day), "%s", day);
            if (queued) {
                yj_log_info("audit checkpoint of row %lld sent to the plan's office (%zu messages)",
                            (long long)cp.id, queued);
                server_poke_outbox(srv);
            }
        }
        server_plan_release(pr);
    }
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
        r->started_ns = now_ns();
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
    int64_t ns = now_ns() - r->started_ns;
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
    fprintf(f, "yingji_http_request_duration_seconds_sum %.6f\n",
            (double)atomic_load(&srv->latency_us) / 1e6);
    fprintf(f, "yingji_http_request_duration_seconds_count %lu\n", atomic_load(&srv->latency_n));

    fprintf(
        f, "# HELP yingji_incidents Incidents by status (drills excluded).\n# TYPE yingji_incidents gauge\n");
    static const char *const statuses[] = {"reported",  "assessing", "responding", "recovering",
                                           "reviewing", "closed",    "dismissed"};
    for (size_t i = 0; i < YJ_ARRAY_LEN(statuses); i++) {
        int64_t n = 0;
        struct yj_err err;
        if (r->store && store_incident_count(r->store, statuses[i], 0, &n, &err) < 0)
            server_count_store_error(srv);
        fprintf(f, "yingji_incidents{status=\"%s\"} %lld\n", statuses[i], (long long)n);
    }
    fprintf(
        f,
        "# HELP yingji_store_errors_total Store operations that failed.\n# TYPE yingji_store_errors_total "
        "counter\nyingji_store_errors_total %lu\n",
        atomic_load(&srv->store_errors));
    fprintf(
        f,
        "# HELP yingji_plan_reloads_total Plan reloads (SIGHUP) by result.\n# TYPE yingji_plan_reloads_total "
        "counter\nyingji_plan_reloads_total{result=\"ok\"} "
        "%lu\nyingji_plan_reloads_total{result=\"refused\"} "
        "%lu\n",
        atomic_load(&srv->plan_reloads), atomic_load(&srv->plan_reload_failures));
    uint64_t hits, misses;
    size_t bytes;
    response_cache_stats(srv->cache, &hits, &misses, &bytes);
    fprintf(
        f,
        "# HELP yingji_response_cache_total Incident reads answered from the cache, or rebuilt.\n"
        "# TYPE yingji_response_cache_total counter\nyingji_response_cache_total{result=\"hit\"} %llu\n"
        "yingji_response_cache_total{result=\"miss\"} %llu\n# HELP yingji_response_cache_bytes Bytes held.\n"
        "# TYPE yingji_response_cache_bytes gauge\nyingji_response_cache_bytes %zu\n",
        (unsigned long long)hits, (unsigned long long)misses, bytes);
    if (srv->syslog || srv->logwatch)
        fprintf(
            f,
            "# HELP yingji_source_messages_total Messages (lines) received by sources, and those dropped.\n"
            "# TYPE yingji_source_messages_total counter\n");
    if (srv->syslog) {
        struct syslog_counts c;
        syslog_receiver_counts(srv->syslog, &c);
        fprintf(
            f,
            /* dropped: of those received; what the kernel dropped before (its receive buffer
             * full) was never received, and is counted by reason only. */
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
            "# HELP yingji_syslog_connections TCP connections open now.\n# TYPE yingji_syslog_connections "
            "gauge\n"
            "yingji_syslog_connections %llu\n"
            "# HELP yingji_syslog_connections_refused_total TCP connections closed at once: over the limit.\n"
            "# TYPE yingji_syslog_connections_refused_total counter\nyingji_syslog_connections_refused_total "
            "%llu\n",
            (unsigned long long)c.received, (unsigned long long)(c.dropped - c.kernel),
            (unsigned long long)c.malformed, (unsigned long long)c.too_long, (unsigned long long)c.unstored,
            (unsigned long long)c.queue_full, (unsigned long long)c.kernel, (unsigned long long)c.retries,
            (unsigned long long)c.queued, (unsigned long long)c.connections, (unsigned long long)c.refused);
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
        fprintf(
            f, "# HELP yingji_detect_window_evictions_total Keys a rule's threshold window forgot because it "
               "was full (limits.window_keys).\n# TYPE yingji_detect_window_evictions_total counter\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "yingji_detect_window_evictions_total{rule=\"%s\"} %llu\n", ev[i].rule,
                    (unsigned long long)ev[i].evictions);
        free(ev);
    }
    fprintf(
        f,
        "# HELP yingji_http_inflight Requests being served, streams included.\n# TYPE yingji_http_inflight "
        "gauge\nyingji_http_inflight %ld\n",
        atomic_load(&srv->inflight));
    struct edge_counts ec;
    edge_get_counts(srv->edge, &ec);
    fprintf(
        f,
        "# HELP yingji_http_connections Connections open now.\n# TYPE yingji_http_connections gauge\n"
        "yingji_http_connections %llu\n"
        "# HELP yingji_http_connections_refused_total Connections refused at accept: the server nearly full "
        "and "
        "the address holding its share of the last slots.\n# TYPE yingji_http_connections_refused_total "
        "counter\n"
        "yingji_http_connections_refused_total %llu\n"
        "# HELP yingji_http_connections_closed_total Connections closed for a request that came too slowly.\n"
        "# TYPE yingji_http_connections_closed_total counter\n"
        "yingji_http_connections_closed_total{reason=\"slow_headers\"} %llu\n"
        "yingji_http_connections_closed_total{reason=\"slow_body\"} %llu\n",
        (unsigned long long)ec.open, (unsigned long long)ec.refused_full, (unsigned long long)ec.slow_headers,
        (unsigned long long)ec.slow_body);
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

/* Every bound that drops something counts it (in /metrics) and is logged here: one line per
 * period in which anything was dropped, never one per message. Runs on the ticker thread only. */
static void report_drops(struct server *srv)
{
    if (srv->syslog) {
        struct syslog_counts c, *was = &srv->drops_seen;
        syslog_receiver_counts(srv->syslog, &c);
        if (c.dropped > was->dropped || c.refused > was->refused)
            yj_log_warn(
                "syslog: dropped %llu messages (malformed %llu, over 64 KiB %llu, store refused %llu, "
                "queue full %llu, receive buffer full %llu) and refused %llu connections over the limit "
                "since "
                "the last report",
                (unsigned long long)(c.dropped - was->dropped),
                (unsigned long long)(c.malformed - was->malformed),
                (unsigned long long)(c.too_long - was->too_long),
                (unsigned long long)(c.unstored - was->unstored),
                (unsigned long long)(c.queue_full - was->queue_full),
                (unsigned long long)(c.kernel - was->kernel), (unsigned long long)(c.refused - was->refused));
        *was = c;
    }
    if (srv->logwatch) {
        struct logwatch_counts c;
        logwatch_get_counts(srv->logwatch, &c);
        if (c.dropped > srv->logwatch_drops_seen)
            yj_log_warn(
                "logwatch: skipped %llu lines (binary, invalid UTF-8 or over 64 KiB) since the last report",
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
            yj_log_warn(
                "detection: threshold windows forgot %llu keys since the last report (full at "
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

bool server_is_leader(struct server *srv)
{
    return atomic_load(&srv->leader);
}

/* Once a second on the ticker (and once at start): takes the work lease when it is free and keeps
 * it while held. A node that takes it starts the scheduled watchers and runs the clock, the outbox
 * and actions from then on; one that loses it (its lease connection cut) stops them at once, and
 * another node takes over within about a second of the database letting go. */
static void poll_lease(struct server *srv)
{
    struct yj_err err = {0};
    bool held = false;
    int64_t token = 0;
    if (store_lease_poll(srv->lease, yj_now_ms(), &held, &token, &err) < 0)
        yj_log_error("work lease: %s", err.msg);
    bool was = atomic_load(&srv->leader);
    if (held == was)
        return;
    atomic_store(&srv->leader, held);
    if (held) {
        srv->lease_token = token;
        yj_log_info("this node now runs the clock, the outbox, actions and the scheduled watchers (lease %lld)",
                    (long long)token);
        if (watchers_start_scheduled(srv->watchers, &err) < 0)
            yj_log_error("watchers: %s", err.msg);
        server_poke_outbox(srv);
    } else {
        yj_log_warn("this node no longer holds the work lease (%lld): the clock, the outbox, actions and the "
                    "scheduled watchers stop here; another node takes them over",
                    (long long)srv->lease_token);
        watchers_stop_scheduled(srv->watchers);
    }
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
        yj_log_info(
            "clock: %zu deadlines overdue, %zu escalation steps, %zu notifications queued, %zu escalations "
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
    /* The channels in force: reloaded when the console changes one (and once a minute, for a
     * change another process made). */
    struct channel_set chs = {0};
    unsigned long chs_generation = 0;
    int64_t chs_loaded = 0;
    bool chs_ok = false;
    pthread_mutex_lock(&srv->outbox_lock);
    while (!srv->outbox_stop) {
        srv->outbox_poke = false;
        pthread_mutex_unlock(&srv->outbox_lock);
        struct yj_err err = {0};
        struct store *st = server_store(srv, &err);
        unsigned long gen = atomic_load(&srv->channels_generation);
        if (st && (!chs_ok || gen != chs_generation || yj_now_ms() - chs_loaded > 60000)) {
            channels_release(&chs);
            chs_ok = channels_load(srv->cfg, st, &chs, &err) == 0;
            if (!chs_ok)
                yj_log_error("outbox: reading the channels: %s", err.msg);
            chs_generation = gen;
            chs_loaded = yj_now_ms();
        }
        if (st && chs_ok && atomic_load(&srv->leader)) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {
                .plan = pr->plan, .store = st, .actor = "outbox", .public_url = srv->cfg->public_url};
            struct outbox_result res;
            if (outbox_run(&ctx, ob, chs.all, chs.n, OUTBOX_BATCH, &res, &err) <
                0) {
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
    channels_release(&chs);
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
        struct store *st = atomic_load(&srv->leader) ? server_store(srv, &err) : NULL;
        if (st) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {
                .plan = pr->plan, .store = st, .actor = "action", .public_url = srv->cfg->public_url};
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
            struct act_restore_source restore = {srv->cfg->integrity, srv->cfg->n_integrity,
                                                 watchers_integrity_objects(srv->watchers)};
            if (act_run(&ctx, srv->cfg->actions, srv->cfg->n_actions, &restore, &res, &err) < 0) {
                server_count_store_error(srv);
                yj_log_error("actions: %s", err.msg);
            } else if (res.succeeded || res.failed || res.unconfigured) {
                yj_log_info("actions: %zu succeeded, %zu failed, %zu left to people (not configured)",
                            res.succeeded, res.failed, res.unconfigured);
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
        poll_lease(srv);
        bool more = false;
        if (atomic_load(&srv->leader)) {
            more = run_clock(srv);
            audit_checkpoints(srv, false);
        }
        edge_reap(srv->edge, yj_now_ms());
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
    if (atomic_load(&srv->leader))
        audit_checkpoints(srv, true); /* the head as the server leaves it */
    return NULL;
}

/* ---- sources ---- */

/* Runs on a source's thread: store the batch (durable) with the log positions it reached, then
 * process it. */
int server_deliver(struct server *srv, const char *actor, struct store_signal *sigs, size_t n,
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
    return server_deliver(ud, "source:syslog", sigs, n, NULL, 0);
}

static int deliver_logwatch(struct store_signal *sigs, size_t n, const struct store_logpos *pos, size_t n_pos,
                            void *ud)
{
    return server_deliver(ud, "source:logwatch", sigs, n, pos, n_pos);
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
    pthread_mutex_init(&srv->reload_lock, NULL);
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->tick_lock, NULL);
    pthread_cond_init(&srv->tick_cond, NULL);
    pthread_mutex_init(&srv->outbox_lock, NULL);
    pthread_cond_init(&srv->outbox_cond, NULL);
    pthread_mutex_init(&srv->audit_lock, NULL);
    srv->checkpoint_minute = 8 * 60;
    if (cfg->audit.daily)
        (void)yj_clock_parse(cfg->audit.daily, &srv->checkpoint_minute);
    pthread_key_create(&srv->store_key, store_destroy);
    srv->cache = response_cache_new((size_t)4 << 20);

    struct plan *p = NULL;
    size_t n_channels = cfg->n_channels;
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
        if (store_open(cfg->store, cfg->store_password, &st, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            goto out;
        }
        /* The key every write signs the audit head with, before anything is written. */
        char *key_path = audit_key_path(cfg->data, cfg->audit.key);
        int krc = audit_key_open(st, key_path, yj_now_ms(), "system:start", &srv->audit_key, &err);
        free(key_path);
        if (krc < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        /* The console's edits of the directory over the file's plan. */
        struct plan *edited = NULL;
        char *edits_error = NULL;
        if (directory_plan(cfg->plan, st, &edited, &edits_error, NULL, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        if (edits_error)
            yj_log_error("the console's edits of the directory no longer fit the plan and are not applied: %s",
                         edits_error);
        free(edits_error);
        if (server_plan_install(srv, edited, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        p = edited;
        size_t stored_channels = 0;
        if (channels_count(cfg, st, &stored_channels, &err) == 0)
            n_channels = stored_channels;
        struct yj_ctx ctx = {.plan = p, .store = st, .actor = "system:start"};
        size_t n = 0;
        if (detector_warm(srv->detector, &ctx, &err) < 0 ||
            detector_process_pending(srv->detector, &ctx, &n, &err) < 0)
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
    if (!srv->daemon) {
        fprintf(stderr, "yingji: cannot listen on %s: %s\n", cfg->listen,
                errno ? strerror(errno) : "see the log above");
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : port;
    if (opt->listening && (status = opt->listening(opt->arg)) != 0) {
        MHD_stop_daemon(srv->daemon);
        goto out;
    }
    status = 1;
    if (start_sources(srv, &err) < 0 || watchers_start(srv, cfg, &srv->watchers, &err) < 0) {
        fprintf(stderr, "yingji: %s\n", err.msg);
        MHD_stop_daemon(srv->daemon);
        goto out;
    }
    {
        /* The work lease, asked for once before the threads start: a single node holds it from
         * here and starts its scheduled watchers as before; another node on the same PostgreSQL
         * serves the API and waits to take over. */
        char host_name[128] = "";
        gethostname(host_name, sizeof(host_name) - 1);
        char *holder = xasprintf("%s pid %d listen %s", host_name, (int)getpid(), cfg->listen);
        int lrc = store_lease_open(cfg->store, cfg->store_password, holder, &srv->lease, &err);
        free(holder);
        if (lrc < 0) {
            fprintf(stderr, "yingji: the work lease: %s\n", err.msg);
            MHD_stop_daemon(srv->daemon);
            goto out;
        }
        poll_lease(srv);
        if (strncmp(cfg->store, "sqlite:", 7) != 0) {
            printf("yingji: %s\n", atomic_load(&srv->leader)
                                       ? "this node runs the clock, the outbox, actions and the scheduled watchers"
                                       : "another node runs the clock, the outbox, actions and the scheduled "
                                         "watchers; this one serves the API and takes over if that node goes");
            fflush(stdout);
        }
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
    warn_permissions(cfg);
    warn_setup(cfg, n_channels);

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
            struct yj_err rerr = {0};
            (void)server_plan_reload(srv, &rerr); /* logged */
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
    watchers_stop(srv->watchers);
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
    watchers_free(srv->watchers);
    store_lease_free(srv->lease); /* its connection closed: the database lets the lease go */
    pthread_key_delete(srv->store_key);
    response_cache_free(srv->cache);
    edge_free(srv->edge);
    audit_key_free(srv->audit_key);
    free(srv->parked);
    free(cert);
    free(key);
    free(srv);
    return status;
}
