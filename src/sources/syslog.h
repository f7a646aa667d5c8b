/* syslog.h: a syslog receiver — RFC 3164 and RFC 5424 messages over UDP (one per datagram) and
 * TCP (octet-counting "LEN MSG" or newline framing, RFC 6587). It emits signals and knows
 * nothing of rules or incidents (DESIGN §1). */
#ifndef YJ_SYSLOG_H
#define YJ_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

struct yj_err;
struct store_signal;

#define SYSLOG_MAX_MESSAGE (64 * 1024)

#define SYSLOG_MAX_CONNECTIONS 256
/* Batches (of at most 1000 messages) waiting to be stored; beyond, batches are dropped and counted. */
#define SYSLOG_QUEUE_BATCHES 64

struct syslog_listener {
    const char *listen;   /* "127.0.0.1:5514" */
    const char *protocol; /* "udp" or "tcp" */
    int64_t buffer;       /* UDP: the socket's receive buffer in bytes (0: the system's default) */
    int64_t connections;  /* TCP: open connections at most (0: SYSLOG_MAX_CONNECTIONS) */
};

/* Receives on every listener in a thread of its own. Signals are handed over in batches (at
 * most 1000, at least every 20 ms) to deliver, which stores them, on another thread through a
 * queue of SYSLOG_QUEUE_BATCHES; deliver returns 0, or a negative code to have the batch counted
 * as dropped. */
typedef int (*syslog_deliver_fn)(struct store_signal *sigs, size_t n, void *ud);
struct syslog_receiver;
int syslog_receiver_start(const struct syslog_listener *ls, size_t n, syslog_deliver_fn deliver, void *ud,
                          struct syslog_receiver **out, struct yj_err *err);
/* Stops receiving, delivers what is buffered, joins the thread. */
void syslog_receiver_stop(struct syslog_receiver *r);
struct syslog_counts {
    uint64_t received;
    uint64_t malformed;   /* dropped: binary junk, invalid UTF-8, empty, broken framing */
    uint64_t too_long;    /* dropped: over SYSLOG_MAX_MESSAGE */
    uint64_t unstored;    /* dropped: the store still refused the batch at stop */
    uint64_t retries;     /* batches the store refused, retried a second later */
    uint64_t queue_full;  /* dropped: the queue to the store was full */
    uint64_t queued;      /* waiting to be stored now */
    uint64_t kernel;      /* dropped by the kernel: the UDP receive buffer was full */
    uint64_t dropped;     /* the five above */
    uint64_t refused;     /* TCP connections closed at once: over the limit */
    uint64_t connections; /* TCP connections open now */
};
void syslog_receiver_counts(struct syslog_receiver *r, struct syslog_counts *out);
/* The port a listener is bound to (for listen ports of 0). */
int syslog_receiver_port(struct syslog_receiver *r, size_t i);

#endif
