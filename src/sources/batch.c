/* batch.c: the signal batch shared by every source. Fixed size, so a source's memory is bounded
 * whatever arrives; what does not fit waits for the batch to be stored. */
#include "../base/common.h"
#include "../base/timeutil.h"
#include "batch.h"

static char *own(struct signal_batch *b, struct batch_text t)
{
    if (!t.s)
        return NULL;
    char *c = xstrndup(t.s, t.len);
    b->owned[b->n_owned++] = c;
    return c;
}

bool signal_batch_add(struct signal_batch *b, const char *source, int64_t time, struct batch_text host,
                      struct batch_text program, struct batch_text message, const char *asset)
{
    struct store_signal *s = &b->sigs[b->n++];
    *s = (struct store_signal){.received_at = yj_now_ms(), .source = source, .asset = asset};
    s->time = time ? time : s->received_at;
    s->host = own(b, host);
    s->program = own(b, program);
    s->message = own(b, message);
    return b->n == SIGNAL_BATCH_MAX;
}

void signal_batch_clear(struct signal_batch *b)
{
    for (size_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    b->n = b->n_owned = 0;
}
