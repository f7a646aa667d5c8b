/* window.h: "N events within T, per key" counters for rule thresholds, bounded in keys so an
 * attack from millions of addresses cannot exhaust memory: past the bound the key remembered
 * longest is forgotten (and counted as an eviction); it starts counting afresh if seen again. */
#ifndef YJ_WINDOW_H
#define YJ_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct window;

/* count events within `within` ms trigger; at most max_keys keys are remembered. */
struct window *window_new(int64_t count, int64_t within, size_t max_keys);
void window_free(struct window *w);

/* Records an event for key at time t (ms). Returns true when this event completes `count`
 * within `within`: the key then starts counting afresh. */
bool window_add(struct window *w, const char *key, size_t key_len, int64_t t);

size_t window_keys(const struct window *w);      /* keys remembered now */
uint64_t window_distinct(const struct window *w); /* keys ever inserted (re-inserts after eviction count again) */
uint64_t window_evictions(const struct window *w);

#endif
