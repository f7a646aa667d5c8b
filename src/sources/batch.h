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

#endif
