/* embed.c: lookup in the generated table of built-in files. Read-only data, no allocation. */
#include "common.h"
#include "embed.h"

const struct yj_embed *yj_embed_find(const char *name)
{
    for (size_t i = 0; i < yj_embedded_count; i++)
        if (strcmp(yj_embedded[i].name, name) == 0)
            return &yj_embedded[i];
    return NULL;
}
