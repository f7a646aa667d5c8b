/* xalloc.h: allocation that never returns NULL.
 * Out-of-memory policy (written down once, as Redis and h2o do): a failed allocation prints one
 * line and aborts. Nothing in Yingji half-handles OOM; every other error path is a real one. */
#ifndef YJ_XALLOC_H
#define YJ_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
/* Grows or shrinks p; xrealloc(NULL, n) is xmalloc(n). */
void *xrealloc(void *p, size_t n);
/* Copies s (NULL gives NULL); caller frees. */
char *xstrdup(const char *s);
/* Copies at most n bytes of s and terminates; caller frees. */
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string; caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
