/* edge.c: connection admission, request-time bounds and strict request heads (see edge.h). Runs
 * on libmicrohttpd's threads (accept, notify, the phases) and the ticker (reap); one mutex over
 * the connection list and the per-address counts, a few atomic fields per connection. Must never
 * close a socket itself: it shuts one down, and MHD closes it as it does any other. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "edge.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>

/* FNV-1a, as in window.c: uthash's default Jenkins hash falls through its switch on purpose. */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#include <uthash.h>

enum phase { WAITING = 0, BODY = 1, RESPONDING = 2, CLOSING = 3 };

struct track {
    int fd;
    char address[64];
    atomic_int phase;
    atomic_llong since; /* ms: when the phase began */
    atomic_ullong body; /* bytes of the body so far */
    struct track *prev, *next;
};

struct per_address {
    char address[64];
    unsigned n;
    UT_hash_handle hh;
};

struct edge {
    struct edge_limits l;
    pthread_mutex_t lock;
    struct track *head;
    size_t open;
    struct per_address *addresses;
    atomic_ullong refused_full, slow_headers, slow_body;
};

struct edge *edge_new(const struct edge_limits *limits)
{
    struct edge *e = xcalloc(1, sizeof(*e));
    e->l = *limits;
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

void edge_free(struct edge *e)
{
    if (!e)
        return;
    while (e->addresses) {
        struct per_address *a = e->addresses;
        /* uthash frees its table with the last item; the analyzer does not follow that. */
        HASH_DEL(e->addresses, a); // NOLINT(clang-analyzer-unix.Malloc)
        free(a);
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}

static void format_address(const struct sockaddr *sa, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)size);
}

/* The last slots of a nearly full server, and how many of them one address may take. */
static size_t reserve_of(const struct edge *e)
{
    size_t r = (size_t)e->l.connections / 8;
    return r < 16 ? 16 : r;
}

enum MHD_Result edge_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    struct edge *e = cls;
    char a[64];
    format_address(addr, a, sizeof(a));
    size_t reserve = reserve_of(e), share = reserve / 16 < 2 ? 2 : reserve / 16;
    bool ok = true;
    pthread_mutex_lock(&e->lock);
    if (e->open + reserve >= (size_t)e->l.connections) {
        struct per_address *p = NULL;
        HASH_FIND_STR(e->addresses, a, p);
        ok = !p || p->n < share;
    }
    pthread_mutex_unlock(&e->lock);
    if (!ok)
        atomic_fetch_add(&e->refused_full, 1);
    return ok ? MHD_YES : MHD_NO;
}

void edge_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                 enum MHD_ConnectionNotificationCode code)
{
    struct edge *e = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct track *t = xcalloc(1, sizeof(*t));
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        t->fd = fd ? fd->connect_fd : -1;
        format_address(ad ? ad->client_addr : NULL, t->address, sizeof(t->address));
        atomic_store(&t->since, yj_now_ms());
        pthread_mutex_lock(&e->lock);
        t->next = e->head;
        if (e->head)
            e->head->prev = t;
        e->head = t;
        e->open++;
        struct per_address *p = NULL;
        HASH_FIND_STR(e->addresses, t->address, p);
        if (!p) {
            p = xcalloc(1, sizeof(*p));
            snprintf(p->address, sizeof(p->address), "%s", t->address);
            HASH_ADD_STR(e->addresses, address, p);
        }
        p->n++;
        pthread_mutex_unlock(&e->lock);
        *socket_context = t;
        return;
    }
    struct track *t = *socket_context;
    if (!t)
        return;
    /* Removed under the lock before MHD closes the socket: the reaper never shuts down an fd
     * that has gone to another connection. */
    pthread_mutex_lock(&e->lock);
    if (t->prev)
        t->prev->next = t->next;
    else
        e->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    e->open--;
    struct per_address *p = NULL;
    HASH_FIND_STR(e->addresses, t->address, p);
    if (p && --p->n == 0) {
        HASH_DEL(e->addresses, p); // NOLINT(clang-analyzer-unix.Malloc)
        free(p);
    }
    pthread_mutex_unlock(&e->lock);
    free(t);
    *socket_context = NULL;
}

static struct track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_phase(struct MHD_Connection *conn, enum phase p)
{
    struct track *t = track_of(conn);
    if (!t)
        return;
    atomic_store(&t->since, yj_now_ms());
    atomic_store(&t->body, 0);
    atomic_store(&t->phase, p);
}

void edge_headers_done(struct MHD_Connection *conn, bool expects_body)
{
    set_phase(conn, expects_body ? BODY : RESPONDING);
}

void edge_body_bytes(struct MHD_Connection *conn, size_t n)
{
    struct track *t = track_of(conn);
    if (t)
        atomic_fetch_add(&t->body, n);
}

void edge_responding(struct MHD_Connection *conn)
{
    set_phase(conn, RESPONDING);
}

void edge_request_done(struct MHD_Connection *conn)
{
    set_phase(conn, WAITING);
}

size_t edge_reap(struct edge *e, int64_t now)
{
    size_t closed = 0;
    pthread_mutex_lock(&e->lock);
    for (struct track *t = e->head; t; t = t->next) {
        int phase = atomic_load(&t->phase);
        int64_t elapsed = now - atomic_load(&t->since);
        bool slow = false;
        if (phase == WAITING && elapsed > e->l.header_time) {
            slow = true;
            atomic_fetch_add(&e->slow_headers, 1);
        } else if (phase == BODY && elapsed > e->l.header_time &&
                   (int64_t)atomic_load(&t->body) < e->l.body_rate * (elapsed - e->l.header_time) / 1000) {
            slow = true;
            atomic_fetch_add(&e->slow_body, 1);
        }
        if (slow && t->fd >= 0) {
            atomic_store(&t->phase, CLOSING);
            shutdown(t->fd, SHUT_RDWR);
            closed++;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return closed;
}

void edge_get_counts(struct edge *e, struct edge_counts *out)
{
    pthread_mutex_lock(&e->lock);
    out->open = e->open;
    pthread_mutex_unlock(&e->lock);
    out->refused_full = atomic_load(&e->refused_full);
    out->slow_headers = atomic_load(&e->slow_headers);
    out->slow_body = atomic_load(&e->slow_body);
}

/* ---- request heads ---- */

void edge_head_add(struct edge_head *h, const char *key, const char *value)
{
    if (!key)
        return;
    if (strcasecmp(key, "Host") == 0)
        h->hosts++;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        h->transfer_encodings++;
        snprintf(h->transfer_encoding, sizeof(h->transfer_encoding), "%s", value ? value : "");
    }
    if (strcasecmp(key, "Content-Length") == 0) {
        const char *v = value ? value : "";
        if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) >= sizeof(h->length))
            h->length_bad = true;
        else if (h->lengths && strcmp(h->length, v) != 0)
            h->lengths_differ = true;
        else
            snprintf(h->length, sizeof(h->length), "%s", v);
        h->lengths++;
    }
}

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    edge_head_add(cls, key, value);
    return MHD_YES;
}

static unsigned hexval(char c)
{
    return isdigit((unsigned char)c) ? (unsigned)(c - '0') : (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

static unsigned refuse(unsigned status, const char *code_value, const char **code, char *why, size_t size,
                       const char *text)
{
    *code = code_value;
    snprintf(why, size, "%s", text);
    return status;
}

unsigned edge_check_head(const char *raw_uri, const char *version, const struct edge_head *h,
                         const char **code, char *why, size_t why_size)
{
    /* The target as sent: NUL (raw or %00) anywhere, control characters, encoded ones in the path.
     * A NUL would cut the path after unescaping: /incidents/1%00 read as /incidents/1. */
    bool in_path = true;
    for (const char *p = raw_uri ? raw_uri : ""; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '?')
            in_path = false;
        if (c < 0x20 || c == 0x7f)
            return refuse(400, "bad_request", code, why, why_size,
                          "the request target holds a control character");
        if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            unsigned v = hexval(p[1]) * 16 + hexval(p[2]);
            if (v == 0 || (in_path && (v < 0x20 || v == 0x7f)))
                return refuse(400, "bad_request", code, why, why_size,
                              v == 0 ? "the request target holds an encoded NUL (%00)"
                                     : "the request path holds an encoded control character");
        }
    }
    if (version && strcmp(version, "HTTP/1.1") == 0 && h->hosts == 0)
        return refuse(400, "bad_request", code, why, why_size,
                      "an HTTP/1.1 request needs a Host header (RFC 9112 3.2)");
    if (h->hosts > 1)
        return refuse(400, "bad_request", code, why, why_size, "more than one Host header (RFC 9112 3.2)");
    if (h->length_bad)
        return refuse(400, "bad_request", code, why, why_size,
                      "Content-Length is not a number (RFC 9112 6.3)");
    if (h->lengths_differ)
        return refuse(400, "bad_request", code, why, why_size,
                      "two different Content-Length headers (RFC 9112 6.3)");
    if (h->transfer_encodings) {
        const char *te = h->transfer_encoding;
        while (*te == ' ' || *te == '\t')
            te++;
        size_t n = strlen(te);
        while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
            n--;
        if (h->transfer_encodings > 1 || n != 7 || strncasecmp(te, "chunked", 7) != 0)
            return refuse(501, "not_implemented", code, why, why_size,
                          "Transfer-Encoding other than chunked is not supported (RFC 9112 6.1)");
        if (h->lengths)
            return refuse(400, "bad_request", code, why, why_size,
                          "both Transfer-Encoding and Content-Length (RFC 9112 6.3)");
    }
    return 0;
}

unsigned edge_check_request(struct MHD_Connection *conn, const char *raw_uri, const char *version,
                            const char **code, char *why, size_t why_size)
{
    struct edge_head h = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_header, &h);
    return edge_check_head(raw_uri, version, &h, code, why, why_size);
}
