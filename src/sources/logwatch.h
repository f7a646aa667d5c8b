/* logwatch.h: follows log files (and wildcard patterns in the file name) as they grow, through
 * rotation by rename, truncate and copytruncate, and emits one signal per line. It is told where
 * each file was read up to at start and hands every batch over with the positions it reached, so
 * that signals and positions are stored together: a restart, even after kill -9, resumes at the
 * first line not stored. inotify (through libuv) wakes it; there is no polling loop.
 * It knows nothing of rules or incidents (DESIGN §1). */
#ifndef YJ_LOGWATCH_H
#define YJ_LOGWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;
struct store_signal;
struct store_logpos;

#define LOGWATCH_MAX_LINE (64 * 1024)

struct logwatch_spec {
    const char *path;    /* a file, or a pattern with * ? [..] in its last component */
    const char *program; /* for lines without a syslog prefix of their own (nginx, apache); may be NULL */
    const char *asset;   /* may be NULL */
    bool from_start;     /* a file never read before is read from its first line, not from its end */
};

/* Where reading a file resumes: 0 and *out, YJ_ENOTFOUND for a file never read, <0 on error
 * (the file is then not followed until the next start). Called on the watcher's thread. */
typedef int (*logwatch_position_fn)(const char *path, struct store_logpos *out, void *ud);
/* Stores signals and positions in one transaction; 0, or <0 to have the lines read again later
 * (after a second), so nothing is lost while the store is unavailable. */
typedef int (*logwatch_deliver_fn)(struct store_signal *sigs, size_t n, const struct store_logpos *pos,
                                   size_t n_pos, void *ud);

struct logwatch;
/* Starts following every spec in a thread of its own. Fails (YJ_EIO) when a spec's directory
 * cannot be watched. specs are copied. */
int logwatch_start(const struct logwatch_spec *specs, size_t n, logwatch_position_fn position,
                   logwatch_deliver_fn deliver, void *ud, struct logwatch **out, struct yj_err *err);
/* Reads what is still there, delivers it, joins the thread. NULL is a no-op. */
void logwatch_stop(struct logwatch *lw);

struct logwatch_counts {
    uint64_t lines;   /* complete lines read */
    uint64_t dropped; /* lines not turned into signals: binary junk, invalid UTF-8, over 64 KiB */
    uint64_t files;   /* files followed now */
    uint64_t rotations;
    uint64_t retries; /* batches the store refused, read again later */
};
void logwatch_get_counts(struct logwatch *lw, struct logwatch_counts *out);

#endif
