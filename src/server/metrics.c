/* metrics.c: /metrics in Prometheus's text format — the HTTP front's requests by route and
 * status, their latency, and what the daemon's sources, outbox and store counted. */
#include "../base/common.h"
#include "../sources/logwatch.h"
#include "../sources/syslog.h"
#include "../engine/detect.h"
#include "../http/cache.h"
#include "../http/edge.h"
#include "server_internal.h"

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
