/* window.c: per-key sliding windows over a uthash table. The table keeps insertion order, so
 * evicting the longest-remembered key is O(1) and a hit never reorders anything (moving each key
 * on every event, for least-recently-seen order, cost 10% of a log scan). Each key holds only
 * its last `count` event times (a ring). */
#include "../base/common.h"
#include "window.h"

/* FNV-1a rather than uthash's default Jenkins hash, whose switch falls through on purpose and
 * trips -Wimplicit-fallthrough wherever the macros expand. */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#include <uthash.h>

struct key {
    char *name;
    int64_t *times; /* ring of the last `count` events */
    size_t n, head;
    UT_hash_handle hh;
};

struct window {
    int64_t count, within;
    size_t max_keys;
    struct key *keys;
    uint64_t distinct, evictions;
};

struct window *window_new(int64_t count, int64_t within, size_t max_keys)
{
    struct window *w = xcalloc(1, sizeof(*w));
    w->count = count > 0 ? count : 1;
    w->within = within;
    w->max_keys = max_keys ? max_keys : 1;
    return w;
}

static void drop(struct window *w, struct key *k)
{
    HASH_DEL(w->keys, k);
    free(k->name);
    free(k->times);
    free(k);
}

void window_free(struct window *w)
{
    if (!w)
        return;
    while (w->keys)
        drop(w, w->keys);
    free(w);
}

bool window_add(struct window *w, const char *name, size_t len, int64_t t)
{
    struct key *k = NULL;
    HASH_FIND(hh, w->keys, name, len, k);
    if (!k) {
        if (HASH_COUNT(w->keys) >= w->max_keys) {
            drop(w, w->keys);
            w->evictions++;
        }
        k = xcalloc(1, sizeof(*k));
        k->name = xstrndup(name, len);
        k->times = xcalloc((size_t)w->count, sizeof(int64_t));
        w->distinct++;
        /* uthash frees its table with the last key and makes a new one here; the analyzer does not
         * follow that. */
        HASH_ADD_KEYPTR(hh, w->keys, k->name, len, k); // NOLINT(clang-analyzer-unix.Malloc)
    }
    size_t cap = (size_t)w->count;
    k->times[(k->head + k->n) % cap] = t;
    if (k->n < cap)
        k->n++;
    else
        k->head = (k->head + 1) % cap;
    /* Full ring whose oldest event is within the window: the threshold is reached. */
    if (k->n == cap && t - k->times[k->head] <= w->within) {
        k->n = 0;
        k->head = 0;
        return true;
    }
    return false;
}

size_t window_keys(const struct window *w)
{
    return HASH_COUNT(w->keys);
}

uint64_t window_distinct(const struct window *w)
{
    return w->distinct;
}

uint64_t window_evictions(const struct window *w)
{
    return w->evictions;
}
