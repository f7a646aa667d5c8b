/* cache.h: recently served incident reads, so that the same list or incident asked for again
 * (every console refreshes after each live event) is answered without rebuilding its JSON.
 * An entry is valid only while no incident has changed since (the last event id, which every
 * incident write appends in its transaction, whatever process wrote it), the plan is the same,
 * and no deadline it shows has fallen due. Everything here can be rebuilt from the store. */
#ifndef YJ_HTTP_CACHE_H
#define YJ_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

struct response_cache;

struct cache_stamp {
    int64_t event_id;  /* last event when the body was built */
    uintptr_t plan;    /* the plan it was built with */
    int64_t valid_until; /* ms: the first open deadline shown falls due then */
};

/* A cached body, shared by reference between the cache and responses being sent. */
struct cached_body {
    atomic_int refs;
    size_t len;
    char etag[48];
    char data[];
};
void cached_body_release(struct cached_body *b);

struct response_cache *response_cache_new(size_t max_bytes);
void response_cache_free(struct response_cache *c);

/* The cached body for key, with a reference the caller releases, when its stamp still holds;
 * NULL otherwise. */
struct cached_body *response_cache_get(struct response_cache *c, const char *key,
                                       const struct cache_stamp *now_stamp, int64_t now_ms);
/* Stores a copy of body under key (bodies larger than an eighth of the cache are not kept). */
void response_cache_put(struct response_cache *c, const char *key, const struct cache_stamp *stamp,
                        const char *body, size_t len, const char *etag);

/* Counters for /metrics. */
void response_cache_stats(struct response_cache *c, uint64_t *hits, uint64_t *misses, size_t *bytes);

#endif
