/* cache.c: a small LRU of response bodies behind one mutex. Sized in bytes (default 4 MiB) so
 * the server's memory stays bounded; a miss costs one lookup, a hit one memcpy. Must never
 * serve a body whose stamp no longer holds. */
#include "../base/common.h"
#include "cache.h"

#include <pthread.h>

#define CACHE_SLOTS 128

struct entry {
    char *key;
    struct cached_body *body;
    struct cache_stamp stamp;
    uint64_t used; /* LRU clock */
};

void cached_body_release(struct cached_body *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

struct response_cache {
    pthread_mutex_t lock;
    struct entry slots[CACHE_SLOTS];
    size_t bytes, max_bytes;
    uint64_t clock, hits, misses;
};

struct response_cache *response_cache_new(size_t max_bytes)
{
    struct response_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void drop(struct response_cache *c, struct entry *e)
{
    c->bytes -= e->body->len;
    free(e->key);
    cached_body_release(e->body);
    memset(e, 0, sizeof(*e));
}

void response_cache_free(struct response_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (c->slots[i].key)
            drop(c, &c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static bool holds(const struct cache_stamp *then, const struct cache_stamp *now, int64_t now_ms)
{
    return then->event_id == now->event_id && then->plan == now->plan && now_ms < then->valid_until;
}

struct cached_body *response_cache_get(struct response_cache *c, const char *key,
                                       const struct cache_stamp *now_stamp, int64_t now_ms)
{
    struct cached_body *hit = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct entry *e = &c->slots[i];
        if (!e->key || strcmp(e->key, key) != 0)
            continue;
        if (holds(&e->stamp, now_stamp, now_ms)) {
            hit = e->body;
            atomic_fetch_add(&hit->refs, 1);
            e->used = ++c->clock;
        } else {
            drop(c, e);
        }
        break;
    }
    if (hit)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

void response_cache_put(struct response_cache *c, const char *key, const struct cache_stamp *stamp,
                        const char *body, size_t len, const char *etag)
{
    if (len > c->max_bytes / 8)
        return;
    pthread_mutex_lock(&c->lock);
    struct entry *slot = NULL;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (c->slots[i].key && strcmp(c->slots[i].key, key) == 0)
            drop(c, &c->slots[i]);
    /* Make room: evict the least recently used until the body fits and a slot is free. */
    for (;;) {
        struct entry *lru = NULL;
        slot = NULL;
        for (size_t i = 0; i < CACHE_SLOTS; i++) {
            struct entry *e = &c->slots[i];
            if (!e->key)
                slot = slot ? slot : e;
            else if (!lru || e->used < lru->used)
                lru = e;
        }
        if (slot && c->bytes + len <= c->max_bytes)
            break;
        if (!lru)
            break;
        drop(c, lru);
    }
    if (slot) {
        slot->key = xstrdup(key);
        slot->body = xmalloc(sizeof(*slot->body) + len);
        atomic_init(&slot->body->refs, 1);
        slot->body->len = len;
        memcpy(slot->body->data, body, len);
        snprintf(slot->body->etag, sizeof(slot->body->etag), "%s", etag ? etag : "");
        slot->stamp = *stamp;
        slot->used = ++c->clock;
        c->bytes += len;
    }
    pthread_mutex_unlock(&c->lock);
}

void response_cache_stats(struct response_cache *c, uint64_t *hits, uint64_t *misses, size_t *bytes)
{
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    *bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
