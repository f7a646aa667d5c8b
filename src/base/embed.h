/* embed.h: files built into the binary (plans, GB/T table, SQL migrations), so that one
 * `yingji` file runs anywhere. The table is generated at build time (cmake/embed.cmake). */
#ifndef YJ_EMBED_H
#define YJ_EMBED_H

#include <stddef.h>

struct yj_embed {
    const char *name; /* path relative to the source tree: "plans/university.yaml" */
    const unsigned char *data;
    const unsigned char *end; /* one past the last byte; a NUL follows, so data is a C string */
};

extern const struct yj_embed yj_embedded[];
extern const size_t yj_embedded_count;

static inline size_t yj_embed_len(const struct yj_embed *e)
{
    return (size_t)(e->end - e->data);
}

/* The embedded file with that name, or NULL. */
const struct yj_embed *yj_embed_find(const char *name);

#endif
