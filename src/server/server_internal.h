/* server_internal.h: the server's state, shared by the daemon (src/server/: its threads, the
 * watchers, delivery of signals, start and stop) and its HTTP front (src/http/httpd.c, the only
 * file that speaks libmicrohttpd). The API's handlers see http.h only. */
#ifndef YJ_SERVER_INTERNAL_H
#define YJ_SERVER_INTERNAL_H

#include "../base/err.h"
#include "../engine/audit.h"
#include "../http/http.h"
#include "../sources/syslog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct MHD_Daemon;
struct MHD_Connection;
struct plan_ref;

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
    char *cert, *key;    /* TLS: MHD reads them while it runs */
    char listen_host[256]; /* the configured address, as shown in "listening on" */
    int bound_port;
    unsigned threads;
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
    pthread_t listener; /* PostgreSQL: wakes the streams when another node writes an event */
    pthread_t wal;      /* SQLite: the write-ahead log's checkpoints, off the other threads' commits */
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
    atomic_bool listener_stop;
    atomic_bool wal_stop;
    bool listening; /* the listener thread runs */
    bool checkpointing; /* the wal thread runs */
    bool tls;
    bool ticker_stop;
    bool tick_poke; /* run the clock at once, not at the next second */
    bool outbox_stop, outbox_poke;
};

/* Monotonic nanoseconds, for request latency. */
int64_t server_now_ns(void);

/* The HTTP front (httpd.c): listens on the config's address (TLS when configured) with the edge's
 * bounds, requests dispatched to the router; YJ_EINVAL for a listen address or TLS files that are
 * wrong (the config's fault), else YJ_EIO. */
int httpd_start(struct server *srv, struct yj_err *err);
/* No new connections; requests in flight finish (streams are woken to end), for up to 10 s. */
void httpd_quiesce(struct server *srv);
void httpd_stop(struct server *srv);

#endif
