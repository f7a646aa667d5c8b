/* probe.c: one availability check with libcurl's easy interface. TCP uses libcurl too (connect
 * only), so name resolution, IPv6 and timeouts behave the same for both kinds. */
#include "../base/common.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "probe.h"

#include <curl/curl.h>
#include <time.h>

struct body {
    char *data;
    size_t len;
};

/* Keeps the first PROBE_BODY_MAX bytes of the page: enough for keywords and checks, bounded for a
 * huge download. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t len = size * n, take = len;
    if (b->len + take > PROBE_BODY_MAX)
        take = PROBE_BODY_MAX - b->len;
    if (take) {
        b->data = xrealloc(b->data, b->len + take + 1);
        memcpy(b->data + b->len, p, take);
        b->len += take;
        b->data[b->len] = 0;
    }
    return len;
}

/* "Expire date" of the server's certificate, from libcurl's certinfo ("Jan  2 03:04:05 2027 GMT"). */
static int64_t cert_expiry(CURL *c)
{
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return 0;
    for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
        if (strncmp(s->data, "Expire date:", 12) != 0)
            continue;
        struct tm tm = {0};
        const char *v = s->data + 12;
        while (*v == ' ')
            v++;
        if (!strptime(v, "%b %d %H:%M:%S %Y", &tm))
            return 0;
        return (int64_t)timegm(&tm) * 1000;
    }
    return 0;
}

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A GET that follows redirects and keeps the body. */
static void follow(CURL *c, struct body *b, const char *ca_file)
{
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
}

int probe_fetch(const char *url, int64_t timeout_ms, const char *ca_file, char **page, size_t *len, char *final_url,
                size_t final_cap, char *why, size_t why_cap)
{
    *page = NULL;
    *len = 0;
    if (!is_url(url)) {
        snprintf(why, why_cap, "\"%.200s\" is not an http(s):// URL", url);
        return -1;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, why_cap, "cannot start libcurl");
        return -1;
    }
    struct body b = {0};
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "yingji-webguard");
    follow(c, &b, ca_file);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    char *final = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final);
    snprintf(final_url, final_cap, "%s", final ? final : url);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        if (rc != CURLE_OK)
            snprintf(why, why_cap, "%s", detail[0] ? detail : curl_easy_strerror(rc));
        else
            snprintf(why, why_cap, "HTTP %ld", status);
        free(b.data);
        return -1;
    }
    *page = b.data ? b.data : xstrdup("");
    *len = b.len;
    return 0;
}


/* One check in flight: the easy handle set up for the target, and what it gathers. */
struct probe_check {
    CURL *curl;
    const struct probe_target *t;
    bool http;
    char *url;
    struct body body;
    char detail[CURL_ERROR_SIZE];
    int64_t started;
};

int probe_prepare(const struct probe_target *t, struct probe_check **out, struct probe_result *res)
{
    memset(res, 0, sizeof(*res));
    const char *target = t->target;
    if (!target) {
        snprintf(res->reason, sizeof(res->reason), "no target given");
        return -1;
    }
    bool http;
    if (!yj_target_form(target, &http, res->reason, sizeof(res->reason)))
        return -1;
    snprintf(res->kind, sizeof(res->kind), "%s", http ? "http" : "tcp");
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(res->reason, sizeof(res->reason), "cannot start libcurl");
        return -1;
    }
    struct probe_check *k = xcalloc(1, sizeof(*k));
    k->curl = c;
    k->t = t;
    k->http = http;
    k->url = http ? xstrdup(target) : xasprintf("http://%s/", target);
    curl_easy_setopt(c, CURLOPT_URL, k->url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(t->timeout_ms > 0 ? t->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, k->detail);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "yingji-probe");
    curl_easy_setopt(c, CURLOPT_PRIVATE, k);
    if (http) {
        follow(c, &k->body, t->ca_file);
        curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    }
    k->started = yj_now_ms();
    *out = k;
    return 0;
}

void *probe_check_curl(struct probe_check *k)
{
    return k->curl;
}

void probe_finish(struct probe_check *k, int curl_code, struct probe_result *out)
{
    const struct probe_target *t = k->t;
    CURL *c = k->curl;
    CURLcode rc = (CURLcode)curl_code;
    out->elapsed_ms = yj_now_ms() - k->started;
    if (rc != CURLE_OK) {
        snprintf(out->reason, sizeof(out->reason), "%s", k->detail[0] ? k->detail : curl_easy_strerror(rc));
    } else if (!k->http) {
        out->up = true;
    } else {
        char *final = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        curl_easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &out->redirects);
        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final);
        snprintf(out->final_url, sizeof(out->final_url), "%s", final ? final : k->url);
        out->cert_expires_at = strncmp(out->final_url, "https://", 8) == 0 ? cert_expiry(c) : 0;
        const char *page = k->body.data ? k->body.data : "";
        if (out->status < 200 || out->status > 399)
            snprintf(out->reason, sizeof(out->reason), "HTTP %ld", out->status);
        else if (t->keyword && !strstr(page, t->keyword))
            snprintf(out->reason, sizeof(out->reason), "the page does not contain \"%.200s\"", t->keyword);
        else if (t->absent && strstr(page, t->absent))
            snprintf(out->reason, sizeof(out->reason), "the page contains \"%.200s\"", t->absent);
        else
            out->up = true;
        if (out->cert_expires_at) {
            out->cert_days_left = (out->cert_expires_at - yj_now_ms()) / (24 * 3600 * 1000);
            int warn = t->cert_warn_days > 0 ? t->cert_warn_days : 14;
            if (out->up && out->cert_days_left < warn)
                snprintf(out->reason, sizeof(out->reason), "the TLS certificate ends in %lld days",
                         (long long)out->cert_days_left);
        }
    }
    free(k->body.data);
    free(k->url);
    curl_easy_cleanup(c);
    free(k);
}

int probe_run(const struct probe_target *t, struct probe_result *out)
{
    struct probe_check *k;
    if (probe_prepare(t, &k, out) < 0)
        return strstr(out->reason, "libcurl") ? 0 : -1;
    probe_finish(k, curl_easy_perform(k->curl), out);
    return 0;
}
