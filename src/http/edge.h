/* edge.h: the HTTP edge — which connections are let in, how long a request may take to arrive,
 * and what a request must look like (RFC 9112) before any handler sees it. libmicrohttpd counts
 * only idle time and admits connections first come first served, so a few addresses trickling
 * bytes (slowloris) could hold every slot for ever (issue 14): here every request must arrive
 * within `limits.header_time` and its body at `limits.body_rate` at least, and when the server
 * is nearly full the last slots are kept for addresses that hold few. */
#ifndef YJ_HTTP_EDGE_H
#define YJ_HTTP_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct edge_limits {
    int64_t connections; /* open connections in all (MHD's limit too) */
    int64_t header_time; /* ms from a connection's start, or its last response, to a whole request head */
    int64_t body_rate;   /* bytes per second a body must keep up, after the first header_time */
};

struct edge_counts {
    uint64_t open;          /* connections open now */
    uint64_t refused_full;  /* refused at accept: nearly full, and the address holds its share */
    uint64_t slow_headers;  /* closed: the request head did not arrive in time */
    uint64_t slow_body;     /* closed: the body came slower than body_rate */
};

struct edge;
struct edge *edge_new(const struct edge_limits *limits);
void edge_free(struct edge *e);

/* For MHD_start_daemon: the accept policy (apc) and MHD_OPTION_NOTIFY_CONNECTION, with the edge
 * as their closure. */
enum MHD_Result edge_accept(void *edge, const struct sockaddr *addr, socklen_t len);
void edge_notify(void *edge, struct MHD_Connection *conn, void **socket_context,
                 enum MHD_ConnectionNotificationCode code);

/* The phases of a connection's current request, as the request handler sees them. */
void edge_headers_done(struct MHD_Connection *conn, bool expects_body);
void edge_body_bytes(struct MHD_Connection *conn, size_t n);
void edge_responding(struct MHD_Connection *conn);
void edge_request_done(struct MHD_Connection *conn);

/* Once a second: closes (shuts down) the connections whose request is overdue. Returns how many. */
size_t edge_reap(struct edge *e, int64_t now_ms);
void edge_get_counts(struct edge *e, struct edge_counts *out);

/* The headers of a request head that decide whether it is well-formed. */
struct edge_head {
    int hosts, lengths, transfer_encodings;
    bool lengths_differ, length_bad;
    char length[32];
    char transfer_encoding[64];
};
void edge_head_add(struct edge_head *h, const char *key, const char *value);

/* What a request head must be (RFC 9112): raw_uri as it came (before unescaping), the version and
 * its headers. 0 when it may go on; else the status (400, 501), a problem code and why. */
unsigned edge_check_head(const char *raw_uri, const char *version, const struct edge_head *h, const char **code,
                         char *why, size_t why_size);
/* The same with the headers of the connection's current request. */
unsigned edge_check_request(struct MHD_Connection *conn, const char *raw_uri, const char *version, const char **code,
                            char *why, size_t why_size);

#endif
