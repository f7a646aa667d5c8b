/* batch.h: a bounded batch of signals a source builds up before handing it to be stored. The
 * batch owns copies of the strings, so a source may reuse its read buffers at once. */
#ifndef YJ_SOURCES_BATCH_H
#define YJ_SOURCES_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"

#define SIGNAL_BATCH_MAX 1000

struct signal_batch {
    struct store_signal sigs[SIGNAL_BATCH_MAX];
    char *owned[SIGNAL_BATCH_MAX * 3];
    size_t n, n_owned;
};

/* One piece of text (not NUL-terminated; NULL allowed). */
struct batch_text {
    const char *s;
    size_t len;
};

/* Appends a signal; copies host, program and message. Returns true when the batch is now full. */
bool signal_batch_add(struct signal_batch *b, const char *source, int64_t time, struct batch_text host,
                      struct batch_text program, struct batch_text message, const char *asset);
/* Frees the copies and empties the batch. */
void signal_batch_clear(struct signal_batch *b);

/* A bounded queue of batches between a source that must never block (a socket: while it waits,
 * the kernel drops datagrams nobody counts) and a thread of its own that stores them. When the
 * queue is full a batch is dropped and counted: memory stays bounded and no drop is silent. */
typedef int (*batch_deliver_fn)(struct store_signal *sigs, size_t n, void *ud);
struct batch_pipe;
/* Called on the pipe's thread each time it has stored everything queued: the source may hand over
 * the batch it has been filling meanwhile without waiting for its next read or timer. */
typedef void (*batch_idle_fn)(void *idle_ud);
/* At most max_batches wait; deliver runs on the pipe's thread, and is retried every second while
 * it fails (the queue fills meanwhile). idle (may be NULL) as above. */
struct batch_pipe *batch_pipe_start(size_t max_batches, batch_deliver_fn deliver, void *ud, batch_idle_fn idle,
                                    void *idle_ud);
/* Hands b over (the pipe owns it now). false: the queue was full, b's signals are counted as
 * dropped and b is freed. */
bool batch_pipe_push(struct batch_pipe *p, struct signal_batch *b);
/* Delivers what waits, then joins the thread. NULL is a no-op. */
void batch_pipe_stop(struct batch_pipe *p);
/* True when nothing is queued and nothing is being stored: a batch pushed now goes at once. */
bool batch_pipe_idle(struct batch_pipe *p);
struct batch_pipe_counts {
    uint64_t queued;    /* signals waiting now */
    uint64_t full;      /* signals dropped: the queue was full */
    uint64_t unstored;  /* signals dropped: deliver still failed at stop */
    uint64_t retries;   /* deliveries retried because the store refused */
};
void batch_pipe_get_counts(struct batch_pipe *p, struct batch_pipe_counts *out);

#endif
