/* probe.h: availability probes (issue 7): HTTP(S) — status, keyword present/absent, response
 * time, redirects, the TLS certificate's expiry — and TCP connect, through libcurl; ICMP echo
 * (icmp:HOST) and DNS resolution against expected answers (dns:NAME). This is the
 * one-shot check behind `yingji probe`; the monitors that run them on a schedule build on it. */
#ifndef YJ_PROBE_H
#define YJ_PROBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct probe_target {
    const char *target;   /* http(s)://… or HOST:PORT */
    int64_t timeout_ms;   /* whole check; default 10 s */
    const char *keyword;  /* HTTP: the body must contain it */
    const char *absent;   /* HTTP: the body must not contain it */
    const char *ca_file;  /* HTTPS: trust this CA bundle instead of the system's */
    int cert_warn_days;   /* HTTPS: warn when the certificate ends within this many days (default 14) */
    const char *const *expect; /* dns: the addresses the name must resolve to, no more and no fewer */
    size_t n_expect;
};

struct probe_result {
    bool up;
    char kind[8];        /* http, tcp, icmp, dns */
    char reason[300];    /* why it is down; or a warning when up (certificate ending soon); "" */
    long status;         /* HTTP status of the last response; 0 for TCP or none */
    int64_t elapsed_ms;  /* until the answer (HTTP) or the connection (TCP) */
    long redirects;
    char final_url[512];
    int64_t cert_expires_at; /* ms; 0 when not HTTPS or unknown */
    int64_t cert_days_left;
    bool cert_soon; /* up, and the certificate ends within the warning's days */
};

#include <stddef.h>

#define PROBE_BODY_MAX (4u << 20) /* bytes of a page kept */

/* Fetches a page (redirects followed): 0 and *page (NUL-terminated, malloc'd; at most
 * PROBE_BODY_MAX bytes) with the final URL, or -1 with why (not reachable, not 2xx). When cancel
 * (may be NULL) becomes true, the fetch gives up within about a second (a server stopping). */
int probe_fetch(const char *url, int64_t timeout_ms, const char *ca_file, const atomic_bool *cancel, char **page,
                size_t *len, char *final_url, size_t final_cap, char *why, size_t why_cap);

/* The same check in two halves, for a caller that drives many at once (a curl multi handle):
 * probe_prepare sets up the transfer (0; its easy handle from probe_check_curl, whose
 * CURLOPT_PRIVATE is the check) or says why the target is wrong (-1, res->reason); once the
 * transfer is done, probe_finish fills res from it and frees the check. t must outlive it. */
struct probe_check;
int probe_prepare(const struct probe_target *t, struct probe_check **out, struct probe_result *res);
void *probe_check_curl(struct probe_check *k);
void probe_finish(struct probe_check *k, int curl_code, struct probe_result *res);

/* The certificate's end on a result: days left, and (up, within t's warning days) cert_soon and
 * the warning as reason. probe_finish calls it; a caller that keeps connections open calls it
 * with the end it saw last when a reused connection had no handshake to read one from. */
void probe_certificate(const struct probe_target *t, int64_t expires_at, struct probe_result *out);

/* icmp:HOST and dns:NAME are not libcurl's: checked by probe_run alone (blocking up to the
 * timeout), which the monitors run in libuv's thread pool. */
bool probe_is_curl(const struct probe_target *t);

/* Runs one check. Returns 0 (the result says up or down) or -1 for a target that is neither a
 * URL nor HOST:PORT (reason says why). */
int probe_run(const struct probe_target *t, struct probe_result *out);

#endif
