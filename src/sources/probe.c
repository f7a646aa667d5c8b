/* probe.c: one availability check with libcurl's easy interface. TCP uses libcurl too (connect
 * only), so name resolution, IPv6 and timeouts behave the same for both kinds. */
#include "../base/common.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "probe.h"

#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* libcurl asks at least once a second, also while nothing arrives: a non-zero answer aborts. */
static int cancelled(void *cancel, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load((const atomic_bool *)cancel) ? 1 : 0;
}

int probe_fetch(const char *url, int64_t timeout_ms, const char *ca_file, const atomic_bool *cancel, char **page,
                size_t *len, char *final_url, size_t final_cap, char *why, size_t why_cap)
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
    if (cancel) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, cancelled);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
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
    enum yj_target_kind kind = yj_target_form(target, res->reason, sizeof(res->reason));
    if (kind == YJ_TARGET_BAD)
        return -1;
    if (kind != YJ_TARGET_URL && kind != YJ_TARGET_TCP) {
        snprintf(res->reason, sizeof(res->reason), "%s is not checked through libcurl", target);
        return -1;
    }
    bool http = kind == YJ_TARGET_URL;
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

void probe_certificate(const struct probe_target *t, int64_t expires_at, struct probe_result *out)
{
    out->cert_expires_at = expires_at;
    out->cert_days_left = (expires_at - yj_now_ms()) / YJ_MS_PER_DAY;
    int warn = t->cert_warn_days > 0 ? t->cert_warn_days : 14;
    out->cert_soon = out->up && out->cert_days_left < warn;
    if (out->cert_soon)
        snprintf(out->reason, sizeof(out->reason), "the TLS certificate ends in %lld days",
                 (long long)out->cert_days_left);
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
        if (out->cert_expires_at)
            probe_certificate(t, out->cert_expires_at, out);
    }
    free(k->body.data);
    free(k->url);
    curl_easy_cleanup(c);
    free(k);
}

bool probe_is_curl(const struct probe_target *t)
{
    char why[8];
    enum yj_target_kind k = t->target ? yj_target_form(t->target, why, sizeof(why)) : YJ_TARGET_BAD;
    return k == YJ_TARGET_URL || k == YJ_TARGET_TCP;
}

/* icmp:HOST — one echo request on an unprivileged ICMP socket (a raw one when those are not
 * allowed and we may), answered within the timeout. */
static void run_icmp(const struct probe_target *t, const char *host, struct probe_result *out)
{
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : 10000;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    int64_t start = yj_now_ms();
    int g = getaddrinfo(host, NULL, &hints, &ai);
    if (g != 0) {
        snprintf(out->reason, sizeof(out->reason), "cannot resolve %s: %s", host, gai_strerror(g));
        return;
    }
    bool v6 = ai->ai_family == AF_INET6;
    int proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    bool raw = false;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        fd = socket(ai->ai_family, SOCK_RAW | SOCK_CLOEXEC, proto);
        raw = true;
    }
    if (fd < 0) {
        snprintf(out->reason, sizeof(out->reason), "cannot open an ICMP socket: %s (net.ipv4.ping_group_range)",
                 strerror(errno));
        freeaddrinfo(ai);
        return;
    }
    unsigned char pkt[64] = {0};
    uint16_t id = (uint16_t)(getpid() & 0xffff), seq = (uint16_t)(start & 0xffff);
    pkt[0] = v6 ? 128 : 8; /* echo request */
    pkt[4] = (unsigned char)(id >> 8);
    pkt[5] = (unsigned char)id;
    pkt[6] = (unsigned char)(seq >> 8);
    pkt[7] = (unsigned char)seq;
    memcpy(pkt + 8, "yingji-probe", 12);
    if (!v6) { /* the kernel fills in the checksum for ICMPv6 and for ping sockets, not for raw IPv4 */
        uint32_t sum = 0;
        for (size_t i = 0; i < sizeof(pkt); i += 2)
            sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        uint16_t c = (uint16_t)~sum;
        pkt[2] = (unsigned char)(c >> 8);
        pkt[3] = (unsigned char)c;
    }
    if (sendto(fd, pkt, sizeof(pkt), 0, ai->ai_addr, ai->ai_addrlen) < 0) {
        snprintf(out->reason, sizeof(out->reason), "cannot send to %s: %s", host, strerror(errno));
        goto out;
    }
    for (;;) {
        int64_t left = timeout - (yj_now_ms() - start);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            snprintf(out->reason, sizeof(out->reason), "no echo reply from %s within %lld ms", host, (long long)timeout);
            break;
        }
        unsigned char buf[1500];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            continue;
        const unsigned char *icmp = buf;
        if (raw && !v6) { /* a raw IPv4 socket hands over the IP header too */
            size_t hl = (size_t)(buf[0] & 0x0f) * 4;
            if ((size_t)n < hl + 8)
                continue;
            icmp = buf + hl;
            n -= (ssize_t)hl;
        }
        if (n >= 8 && icmp[0] == (v6 ? 129 : 0) && (raw ? (icmp[4] << 8 | icmp[5]) == id : true) &&
            (icmp[6] << 8 | icmp[7]) == seq) {
            out->up = true;
            break;
        }
    }
out:
    out->elapsed_ms = yj_now_ms() - start;
    close(fd);
    freeaddrinfo(ai);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dns:NAME — resolved by the system's resolver; with expected answers, the addresses must be those
 * and no others (a changed answer is how a hijacked domain shows). */
static void run_dns(const struct probe_target *t, const char *name, struct probe_result *out)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int64_t start = yj_now_ms();
    int g = getaddrinfo(name, NULL, &hints, &ai);
    out->elapsed_ms = yj_now_ms() - start;
    if (g != 0) {
        snprintf(out->reason, sizeof(out->reason), "%s does not resolve: %s", name, gai_strerror(g));
        return;
    }
    char *got[32] = {0};
    size_t n = 0;
    for (struct addrinfo *a = ai; a && n < YJ_ARRAY_LEN(got); a = a->ai_next) {
        char addr[64];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(got[i], addr) == 0;
        if (!dup)
            got[n++] = xstrdup(addr);
    }
    freeaddrinfo(ai);
    qsort(got, n, sizeof(got[0]), by_text);
    size_t len = 0;
    for (size_t i = 0; i < n && len < sizeof(out->final_url); i++)
        len += (size_t)snprintf(out->final_url + len, sizeof(out->final_url) - len, "%s%s", i ? " " : "", got[i]);
    bool same = true;
    for (size_t i = 0; i < t->n_expect; i++) {
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found |= strcmp(got[k], t->expect[i]) == 0;
        same &= found;
    }
    for (size_t k = 0; k < n && t->n_expect; k++) {
        bool wanted = false;
        for (size_t i = 0; i < t->n_expect; i++)
            wanted |= strcmp(got[k], t->expect[i]) == 0;
        same &= wanted;
    }
    if (same) {
        out->up = true;
    } else {
        char wanted[160] = "";
        size_t wl = 0;
        for (size_t i = 0; i < t->n_expect && wl < sizeof(wanted); i++)
            wl += (size_t)snprintf(wanted + wl, sizeof(wanted) - wl, "%s%s", i ? " " : "", t->expect[i]);
        snprintf(out->reason, sizeof(out->reason), "%.50s resolves to %.100s, not to the expected %.100s", name,
                 out->final_url, wanted);
    }
    for (size_t i = 0; i < n; i++)
        free(got[i]);
}

int probe_run(const struct probe_target *t, struct probe_result *out)
{
    if (t->target && !probe_is_curl(t)) {
        memset(out, 0, sizeof(*out));
        enum yj_target_kind kind = yj_target_form(t->target, out->reason, sizeof(out->reason));
        if (kind == YJ_TARGET_BAD)
            return -1;
        out->reason[0] = 0;
        if (kind == YJ_TARGET_ICMP) {
            snprintf(out->kind, sizeof(out->kind), "icmp");
            run_icmp(t, t->target + 5, out);
        } else {
            snprintf(out->kind, sizeof(out->kind), "dns");
            run_dns(t, t->target + 4, out);
        }
        return 0;
    }
    struct probe_check *k;
    if (probe_prepare(t, &k, out) < 0)
        return strstr(out->reason, "libcurl") ? 0 : -1;
    probe_finish(k, curl_easy_perform(k->curl), out);
    return 0;
}
