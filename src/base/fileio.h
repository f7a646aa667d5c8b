/* fileio.h: whole files written so that a reader never sees half of one. */
#ifndef YJ_FILEIO_H
#define YJ_FILEIO_H

#include <stddef.h>

/* Writes data to path through PATH.tmp: written, synced, renamed over path (the final component
 * is never followed if it is a symbolic link: the rename replaces the link). 0, or -1 with errno;
 * nothing is left behind on failure. */
int yj_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Reads at most max bytes of path into a malloc'd buffer (NUL-terminated); NULL with errno, or
 * EFBIG when it is larger. */
char *yj_read_file(const char *path, size_t max, size_t *len);

/* Creates dir and its missing parents (each with mode). 0, or -1 with errno. */
int yj_mkdirs(const char *dir, unsigned mode);

#endif
