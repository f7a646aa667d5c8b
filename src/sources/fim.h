/* fim.h: file integrity of web roots (issue 7, 网页防篡改). Each watched directory has a baseline:
 * every file's BLAKE2b-256 (symbolic links: of their target's name). Changes are seen through
 * inotify (libuv fs events, one per directory) within a debounce of 50 ms, and by a full scan at
 * start and every `scan` interval, so nothing changed while the server was down or while inotify
 * overflowed goes unseen. The runner knows nothing of incidents: it reports each file that differs
 * from the baseline (once per content), when everything matches again, and baselines it takes. */
#ifndef YJ_FIM_H
#define YJ_FIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

#define FIM_HASH_HEX 65 /* 64 hex digits and NUL */

struct fim_file {
    const char *path; /* relative to the root */
    int64_t size;
    char hash[FIM_HASH_HEX];
};

struct fim_spec {
    const char *id;
    const char *root;
    char *const *exclude; /* fnmatch patterns on the relative path or the file name */
    size_t n_exclude;
    int64_t scan_ms; /* full scan interval; 0: 1 h */
    /* The stored baseline; has_baseline false: take one at start (reported through on_baseline). */
    const struct fim_file *baseline;
    size_t n_baseline;
    bool has_baseline;
};

struct fim_change {
    const char *id;
    const char *path;
    const char *kind; /* modified added deleted */
    int64_t at;
    int64_t size;         /* now; -1 when deleted */
    const char *hash;     /* now; "" when deleted */
    const char *old_hash; /* in the baseline; "" when added */
};

/* All three run on the runner's thread; what they get is valid during the call only. */
typedef void (*fim_change_fn)(const struct fim_change *c, void *ud);
/* Every file of watch id matches its baseline again (after changes were reported). */
typedef void (*fim_clean_fn)(const char *id, int64_t at, void *ud);
typedef void (*fim_baseline_fn)(const char *id, const struct fim_file *files, size_t n, void *ud);

struct fim;

/* Starts watching specs[0..n) (strings must outlive the runner; baselines are copied). When
 * objects_dir is not NULL, a baseline keeps a copy of each file of at most 8 MiB there, named by
 * its hash (for diffs and restores). 0, or YJ_EIO when a root cannot be read. */
int fim_start(const struct fim_spec *specs, size_t n, const char *objects_dir, fim_change_fn on_change,
              fim_clean_fn on_clean, fim_baseline_fn on_baseline, void *ud, struct fim **out,
              struct yj_err *err);
/* Takes a new baseline of watch id from what is there now (an accepted deployment): reported
 * through on_baseline, and what differed is forgotten. Safe from any thread. */
void fim_accept(struct fim *f, const char *id);
/* A deployment window: changes under watch id are not reported until until_ms (UTC ms); then a new
 * baseline is taken of what is there (reported through on_baseline). until_ms 0 ends it now.
 * Safe from any thread. */
void fim_maintenance(struct fim *f, const char *id, int64_t until_ms);
/* The end of watch id's window in force (UTC ms), or 0. Safe from any thread; a window just asked
 * for counts once the watcher's thread has taken it (at once, unless it is busy scanning). */
int64_t fim_maintenance_until(struct fim *f, const char *id);
void fim_stop(struct fim *f);

/* BLAKE2b-256 of a file's content (a symbolic link: of its target's name) as hex; 0, or -1 with
 * errno. Copies it to copy_to when not NULL (same hashing pass). */
int fim_hash_file(const char *path, char hex[FIM_HASH_HEX], int64_t *size, const char *copy_to);

/* A unified diff (`diff -u`, run without a shell) of the baseline copy objects_dir/old_hash against
 * path, at most cap-1 bytes (cut at a line end, "…" added when cut) into buf; "" when either is
 * missing or not text. Returns buf. */
char *fim_diff(const char *objects_dir, const char *old_hash, const char *path, char *buf, size_t cap);

#endif
