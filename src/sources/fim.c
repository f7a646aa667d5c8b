/* fim.c: file integrity of web roots — baselines of BLAKE2b hashes, libuv fs events (inotify) on
 * every directory with a 50 ms debounce, and a periodic full scan. One thread and loop for all
 * watches; never touches the store. Expected: web roots of thousands to a few hundred thousand
 * files that change rarely; a change must be reported within a second. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "fim.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
/* FNV-1a, as in window.c: uthash's default Jenkins hash falls through its switch on purpose,
 * which clang's -Wimplicit-fallthrough (on in the fuzzing build) refuses. */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#include <uthash.h>
#include <uv.h>

enum { DEBOUNCE_MS = 50, MAX_DEPTH = 64, COPY_MAX = 8 << 20 };

struct entry { /* a file of the baseline */
    char *path;
    int64_t size;
    char hash[FIM_HASH_HEX];
    bool seen;
    UT_hash_handle hh;
};

struct diff { /* a file reported as differing, with what it was reported as */
    char *path;
    char hash[FIM_HASH_HEX];
    UT_hash_handle hh;
};

struct watch;

struct dirwatch {
    uv_fs_event_t ev;
    struct watch *w;
    char *rel; /* "" for the root */
    bool closing;
    UT_hash_handle hh;
};

struct pending {
    char *rel;
    UT_hash_handle hh;
};

struct watch {
    struct fim_spec spec;
    struct fim *f;
    struct entry *base;
    struct diff *diffs;
    struct dirwatch *dirs;
    struct pending *pending;
    uv_timer_t debounce;
    uv_timer_t scan;
    uv_timer_t quiet_end; /* the end of a maintenance window */
    _Atomic int64_t quiet_until; /* changes are not reported before this (UTC ms); read by the API */
    bool had_baseline;
};

struct fim {
    uv_loop_t loop;
    uv_async_t stop, accept;
    pthread_t thread;
    pthread_mutex_t lock;
    char **accepts; /* ids to take a new baseline of (fim_accept) */
    size_t n_accepts;
    struct window_req {
        char *id;
        int64_t until;
    } * windows; /* maintenance windows asked for (fim_maintenance) */
    size_t n_windows;
    uv_async_t window;
    struct watch *ws;
    size_t n;
    char *objects;
    fim_change_fn on_change;
    fim_clean_fn on_clean;
    fim_baseline_fn on_baseline;
    void *ud;
};

static void to_hex(const unsigned char *h, char hex[FIM_HASH_HEX])
{
    sodium_bin2hex(hex, FIM_HASH_HEX, h, 32);
}

int fim_hash_file(const char *path, char hex[FIM_HASH_HEX], int64_t *size, const char *copy_to)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -1;
    crypto_generichash_state s;
    unsigned char h[32];
    crypto_generichash_init(&s, NULL, 0, sizeof(h));
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target));
        if (n < 0)
            return -1;
        crypto_generichash_update(&s, (const unsigned char *)"link:", 5);
        crypto_generichash_update(&s, (const unsigned char *)target, (unsigned long long)n);
        *size = n;
    } else if (S_ISREG(st.st_mode)) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -1;
        char *tmp = NULL;
        int out = -1;
        if (copy_to && st.st_size <= COPY_MAX) {
            tmp = xasprintf("%s.tmp-%d", copy_to, (int)getpid());
            out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        }
        unsigned char buf[65536];
        ssize_t n;
        int64_t total = 0;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            crypto_generichash_update(&s, buf, (unsigned long long)n);
            if (out >= 0 && write(out, buf, (size_t)n) != n) {
                close(out);
                out = -1;
                unlink(tmp);
            }
            total += n;
        }
        int saved = errno;
        close(fd);
        if (out >= 0) {
            /* Named by the content only if all of it was written; a copy is never partial. The
             * caller syncs the directory's file system once for a whole baseline (syncfs). */
            if (n == 0 && close(out) == 0)
                rename(tmp, copy_to);
            else {
                close(out);
                unlink(tmp);
            }
        }
        free(tmp);
        if (n < 0) {
            errno = saved;
            return -1;
        }
        *size = total;
    } else {
        errno = EINVAL; /* devices, sockets, FIFOs are not content */
        return -1;
    }
    crypto_generichash_final(&s, h, sizeof(h));
    to_hex(h, hex);
    return 0;
}

static bool excluded(const struct watch *w, const char *rel)
{
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (size_t i = 0; i < w->spec.n_exclude; i++)
        if (fnmatch(w->spec.exclude[i], rel, 0) == 0 || fnmatch(w->spec.exclude[i], base, 0) == 0)
            return true;
    return false;
}

static char *join_rel(const char *dir, const char *name)
{
    return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

static char *full_path(const struct watch *w, const char *rel)
{
    return *rel ? xasprintf("%s/%s", w->spec.root, rel) : xstrdup(w->spec.root);
}

/* Reports rel as differing (kind), once per content: the same content again says nothing. */
static void report(struct watch *w, const char *rel, const char *kind, int64_t size, const char *hash,
                   const char *old)
{
    if (yj_now_ms() < atomic_load(&w->quiet_until))
        return; /* a deployment: its end takes a new baseline */
    struct diff *d = NULL;
    HASH_FIND_STR(w->diffs, rel, d);
    if (d && strcmp(d->hash, hash) == 0)
        return;
    if (!d) {
        d = xcalloc(1, sizeof(*d));
        d->path = xstrdup(rel);
        HASH_ADD_KEYPTR(hh, w->diffs, d->path, strlen(d->path), d);
    }
    snprintf(d->hash, sizeof(d->hash), "%s", hash);
    struct fim_change c = {w->spec.id, rel, kind, yj_now_ms(), size, hash, old};
    w->f->on_change(&c, w->f->ud);
}

static void matches(struct watch *w, const char *rel)
{
    struct diff *d = NULL;
    HASH_FIND_STR(w->diffs, rel, d);
    if (d) {
        /* uthash frees its table with the last item; the analyzer does not follow that. */
        HASH_DEL(w->diffs, d); // NOLINT(clang-analyzer-unix.Malloc)
        free(d->path);
        free(d);
    }
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status);

static void watch_dir(struct watch *w, const char *rel)
{
    struct dirwatch *dw = NULL;
    HASH_FIND_STR(w->dirs, rel, dw);
    if (dw)
        return;
    dw = xcalloc(1, sizeof(*dw));
    dw->w = w;
    dw->rel = xstrdup(rel);
    char *full = full_path(w, rel);
    uv_fs_event_init(&w->f->loop, &dw->ev);
    dw->ev.data = dw;
    int rc = uv_fs_event_start(&dw->ev, on_fs_event, full, 0);
    if (rc != 0)
        yj_log_warn("integrity %s: cannot watch %s: %s (the periodic scan still covers it)", w->spec.id, full,
                    uv_strerror(rc));
    free(full);
    HASH_ADD_KEYPTR(hh, w->dirs, dw->rel, strlen(dw->rel), dw);
}

static void free_dirwatch(uv_handle_t *h)
{
    struct dirwatch *dw = h->data;
    free(dw->rel);
    free(dw);
}

static void unwatch_dir(struct watch *w, struct dirwatch *dw)
{
    HASH_DEL(w->dirs, dw);
    uv_fs_event_stop(&dw->ev);
    uv_close((uv_handle_t *)&dw->ev, free_dirwatch);
}

/* One file (or link) as it is now against the baseline. */
static void check_file(struct watch *w, const char *rel, bool taking)
{
    char *full = full_path(w, rel);
    char hex[FIM_HASH_HEX];
    int64_t size = 0;
    char *copy = NULL;
    struct entry *e = NULL;
    HASH_FIND_STR(w->base, rel, e);
    int rc;
    if (taking && w->f->objects) {
        /* Hash first into a temporary name, then name the copy after the hash. */
        copy = xasprintf("%s/incoming", w->f->objects);
        rc = fim_hash_file(full, hex, &size, copy);
        if (rc == 0) {
            char *named = xasprintf("%s/%s", w->f->objects, hex);
            if (access(named, F_OK) == 0 || rename(copy, named) < 0)
                unlink(copy);
            free(named);
        }
    } else {
        rc = fim_hash_file(full, hex, &size, NULL);
    }
    free(copy);
    free(full);
    if (rc < 0)
        return; /* gone meanwhile, or not a file: the directory event or the scan will say */
    if (taking) {
        if (!e) {
            e = xcalloc(1, sizeof(*e));
            e->path = xstrdup(rel);
            HASH_ADD_KEYPTR(hh, w->base, e->path, strlen(e->path), e);
        }
        e->size = size;
        snprintf(e->hash, sizeof(e->hash), "%s", hex);
        e->seen = true;
        return;
    }
    if (e)
        e->seen = true;
    if (!e)
        report(w, rel, "added", size, hex, "");
    else if (strcmp(e->hash, hex) != 0)
        report(w, rel, "modified", size, hex, e->hash);
    else
        matches(w, rel);
}

/* Baseline files at rel or under rel/ that are gone; files added there that are gone again. */
static void check_gone(struct watch *w, const char *rel)
{
    size_t len = strlen(rel);
    struct diff *d = NULL, *dt = NULL;
    HASH_ITER(hh, w->diffs, d, dt)
    {
        struct entry *in = NULL;
        HASH_FIND_STR(w->base, d->path, in);
        if (in || (strcmp(d->path, rel) != 0 && !(strncmp(d->path, rel, len) == 0 && d->path[len] == '/')))
            continue;
        char *full = full_path(w, d->path);
        struct stat st;
        if (lstat(full, &st) < 0 && errno == ENOENT)
            matches(w, d->path);
        free(full);
    }
    struct entry *e = NULL, *tmp = NULL;
    HASH_ITER(hh, w->base, e, tmp)
    {
        if (strcmp(e->path, rel) != 0 && !(strncmp(e->path, rel, len) == 0 && e->path[len] == '/'))
            continue;
        char *full = full_path(w, e->path);
        struct stat st;
        if (lstat(full, &st) < 0 && errno == ENOENT)
            report(w, e->path, "deleted", -1, "", e->hash);
        free(full);
    }
}

/* Everything under rel (a directory): watched, and each file checked or taken. */
static void walk(struct watch *w, const char *rel, int depth, bool taking)
{
    if (depth > MAX_DEPTH)
        return;
    watch_dir(w, rel);
    char *full = full_path(w, rel);
    DIR *d = opendir(full);
    free(full);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *child = join_rel(rel, de->d_name);
        if (!excluded(w, child)) {
            if (de->d_type == DT_DIR)
                walk(w, child, depth + 1, taking);
            else
                check_file(w, child, taking);
        }
        free(child);
    }
    closedir(d);
}

static void baseline_report(struct watch *w)
{
    size_t n = HASH_COUNT(w->base), k = 0;
    struct fim_file *files = xcalloc(n ? n : 1, sizeof(*files));
    struct entry *e = NULL, *tmp = NULL;
    HASH_ITER(hh, w->base, e, tmp)
    {
        files[k] = (struct fim_file){.path = e->path, .size = e->size};
        snprintf(files[k].hash, sizeof(files[k].hash), "%s", e->hash);
        k++;
    }
    w->f->on_baseline(w->spec.id, files, k, w->f->ud);
    free(files);
}

static void clear_diffs(struct watch *w)
{
    while (w->diffs) {
        struct diff *d = w->diffs;
        /* uthash frees its table with the last item; the analyzer does not follow that. */
        HASH_DEL(w->diffs, d); // NOLINT(clang-analyzer-unix.Malloc)
        free(d->path);
        free(d);
    }
}

static void clear_base(struct watch *w)
{
    while (w->base) {
        struct entry *e = w->base;
        HASH_DEL(w->base, e); // NOLINT(clang-analyzer-unix.Malloc)
        free(e->path);
        free(e);
    }
}

/* A full scan: against the baseline, or taking a new one. */
static void scan(struct watch *w, bool taking)
{
    bool had = HASH_COUNT(w->diffs) > 0;
    struct entry *e = NULL, *tmp = NULL;
    if (taking) {
        clear_base(w);
        clear_diffs(w);
    }
    HASH_ITER(hh, w->base, e, tmp)
    {
        e->seen = false;
    }
    walk(w, "", 0, taking);
    if (taking) {
        int fd = w->f->objects ? open(w->f->objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            syncfs(fd); /* the copies are on disk before the baseline that names them is stored */
            close(fd);
        }
        baseline_report(w);
        return;
    }
    HASH_ITER(hh, w->base, e, tmp)
    {
        if (!e->seen)
            report(w, e->path, "deleted", -1, "", e->hash);
    }
    if (had && HASH_COUNT(w->diffs) == 0)
        w->f->on_clean(w->spec.id, yj_now_ms(), w->f->ud);
}

static void on_scan(uv_timer_t *t)
{
    scan(t->data, false);
}

static void on_debounce(uv_timer_t *t)
{
    struct watch *w = t->data;
    bool had = HASH_COUNT(w->diffs) > 0;
    struct pending *p = NULL, *tmp = NULL;
    HASH_ITER(hh, w->pending, p, tmp)
    {
        /* uthash frees its table with the last item; the analyzer does not follow that. */
        HASH_DEL(w->pending, p); // NOLINT(clang-analyzer-unix.Malloc)
        char *full = full_path(w, p->rel);
        struct stat st;
        if (lstat(full, &st) < 0) {
            struct dirwatch *dw = NULL;
            HASH_FIND_STR(w->dirs, p->rel, dw);
            if (dw)
                unwatch_dir(w, dw);
            check_gone(w, p->rel);
        } else if (S_ISDIR(st.st_mode)) {
            walk(w, p->rel, 1, false); /* a new directory (or one moved in) and what it holds */
            check_gone(w, p->rel);
        } else {
            check_file(w, p->rel, false);
        }
        free(full);
        free(p->rel);
        free(p);
    }
    if (had && HASH_COUNT(w->diffs) == 0)
        w->f->on_clean(w->spec.id, yj_now_ms(), w->f->ud);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)events;
    struct dirwatch *dw = h->data;
    struct watch *w = dw->w;
    if (status < 0 || !filename)
        return;
    char *rel = join_rel(dw->rel, filename);
    struct pending *p = NULL;
    HASH_FIND_STR(w->pending, rel, p);
    if (p || excluded(w, rel)) {
        free(rel);
        return;
    }
    p = xcalloc(1, sizeof(*p));
    p->rel = rel;
    HASH_ADD_KEYPTR(hh, w->pending, p->rel, strlen(p->rel), p);
    if (!uv_is_active((uv_handle_t *)&w->debounce))
        uv_timer_start(&w->debounce, on_debounce, DEBOUNCE_MS, 0);
}

static void on_accept(uv_async_t *a)
{
    struct fim *f = a->data;
    pthread_mutex_lock(&f->lock);
    char **ids = f->accepts;
    size_t n = f->n_accepts;
    f->accepts = NULL;
    f->n_accepts = 0;
    pthread_mutex_unlock(&f->lock);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < f->n; k++)
            if (strcmp(f->ws[k].spec.id, ids[i]) == 0)
                scan(&f->ws[k], true);
        free(ids[i]);
    }
    free(ids);
}

static void on_quiet_end(uv_timer_t *t)
{
    struct watch *w = t->data;
    atomic_store(&w->quiet_until, 0);
    scan(w, true);
}

static void on_window(uv_async_t *a)
{
    struct fim *f = a->data;
    pthread_mutex_lock(&f->lock);
    struct window_req *reqs = f->windows;
    size_t n = f->n_windows;
    f->windows = NULL;
    f->n_windows = 0;
    pthread_mutex_unlock(&f->lock);
    int64_t now = yj_now_ms();
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < f->n; k++) {
            struct watch *w = &f->ws[k];
            if (strcmp(w->spec.id, reqs[i].id) != 0)
                continue;
            if (reqs[i].until > now) { /* in force already (fim_maintenance): time its end */
                uv_timer_start(&w->quiet_end, on_quiet_end, (uint64_t)(reqs[i].until - now), 0);
            } else if (atomic_load(&w->quiet_until)) {
                uv_timer_stop(&w->quiet_end);
                on_quiet_end(&w->quiet_end);
            }
        }
        free(reqs[i].id);
    }
    free(reqs);
}

void fim_maintenance(struct fim *f, const char *id, int64_t until_ms)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->windows = xrealloc(f->windows, (f->n_windows + 1) * sizeof(*f->windows));
    f->windows[f->n_windows++] = (struct window_req){xstrdup(id), until_ms};
    pthread_mutex_unlock(&f->lock);
    /* A window starts now, not when the watcher's thread gets to it (it may be scanning): a file
     * deployed right after the request is not reported. Its end is the thread's (the baseline). */
    for (size_t k = 0; until_ms > yj_now_ms() && k < f->n; k++)
        if (strcmp(f->ws[k].spec.id, id) == 0)
            atomic_store(&f->ws[k].quiet_until, until_ms);
    uv_async_send(&f->window);
}

int64_t fim_maintenance_until(struct fim *f, const char *id)
{
    for (size_t k = 0; f && k < f->n; k++)
        if (strcmp(f->ws[k].spec.id, id) == 0) {
            int64_t until = atomic_load(&f->ws[k].quiet_until);
            return until > yj_now_ms() ? until : 0;
        }
    return 0;
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct fim *f = a->data;
    for (size_t i = 0; i < f->n; i++) {
        struct dirwatch *dw = NULL, *tmp = NULL;
        HASH_ITER(hh, f->ws[i].dirs, dw, tmp)
        {
            unwatch_dir(&f->ws[i], dw);
        }
    }
    uv_walk(&f->loop, close_any, NULL);
}

static void *loop_main(void *arg)
{
    struct fim *f = arg;
    pthread_setname_np(pthread_self(), "yj-integrity");
    /* The first scan here, not in fim_start: a large web root must not hold up the server's
     * start. A baseline, or what changed while nobody watched. */
    for (size_t i = 0; i < f->n; i++)
        scan(&f->ws[i], !f->ws[i].had_baseline);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

int fim_start(const struct fim_spec *specs, size_t n, const char *objects_dir, fim_change_fn on_change,
              fim_clean_fn on_clean, fim_baseline_fn on_baseline, void *ud, struct fim **out,
              struct yj_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(specs[i].root, &st) < 0 || !S_ISDIR(st.st_mode))
            return yj_err_set(err, YJ_EIO, "integrity %s: %s is not a directory that can be read",
                              specs[i].id, specs[i].root);
    }
    struct fim *f = xcalloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    pthread_mutex_init(&f->lock, NULL);
    f->objects = objects_dir ? xstrdup(objects_dir) : NULL;
    f->on_change = on_change;
    f->on_clean = on_clean;
    f->on_baseline = on_baseline;
    f->ud = ud;
    f->n = n;
    f->ws = xcalloc(n ? n : 1, sizeof(*f->ws));
    uv_async_init(&f->loop, &f->stop, on_stop);
    f->stop.data = f;
    uv_async_init(&f->loop, &f->accept, on_accept);
    f->accept.data = f;
    uv_async_init(&f->loop, &f->window, on_window);
    f->window.data = f;
    for (size_t i = 0; i < n; i++) {
        struct watch *w = &f->ws[i];
        w->spec = specs[i];
        w->f = f;
        for (size_t k = 0; k < specs[i].n_baseline; k++) {
            struct entry *e = xcalloc(1, sizeof(*e));
            e->path = xstrdup(specs[i].baseline[k].path);
            e->size = specs[i].baseline[k].size;
            snprintf(e->hash, sizeof(e->hash), "%s", specs[i].baseline[k].hash);
            HASH_ADD_KEYPTR(hh, w->base, e->path, strlen(e->path), e);
        }
        w->spec.baseline = NULL;
        w->spec.n_baseline = 0;
        uv_timer_init(&f->loop, &w->debounce);
        w->debounce.data = w;
        uv_timer_init(&f->loop, &w->scan);
        w->scan.data = w;
        uv_timer_init(&f->loop, &w->quiet_end);
        w->quiet_end.data = w;
        w->had_baseline = specs[i].has_baseline;
        uint64_t every = (uint64_t)(specs[i].scan_ms > 0 ? specs[i].scan_ms : 3600000);
        uv_timer_start(&w->scan, on_scan, every, every);
    }
    pthread_create(&f->thread, NULL, loop_main, f);
    *out = f;
    return 0;
}

void fim_accept(struct fim *f, const char *id)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->accepts = xrealloc(f->accepts, (f->n_accepts + 1) * sizeof(*f->accepts));
    f->accepts[f->n_accepts++] = xstrdup(id);
    pthread_mutex_unlock(&f->lock);
    uv_async_send(&f->accept);
}

void fim_stop(struct fim *f)
{
    if (!f)
        return;
    uv_async_send(&f->stop);
    pthread_join(f->thread, NULL);
    uv_loop_close(&f->loop);
    for (size_t i = 0; i < f->n; i++) {
        struct watch *w = &f->ws[i];
        clear_base(w);
        clear_diffs(w);
        while (w->pending) {
            struct pending *p = w->pending;
            /* uthash frees its table with the last item; the analyzer does not follow that. */
            HASH_DEL(w->pending, p); // NOLINT(clang-analyzer-unix.Malloc)
            free(p->rel);
            free(p);
        }
    }
    for (size_t i = 0; i < f->n_accepts; i++)
        free(f->accepts[i]);
    free(f->accepts);
    for (size_t i = 0; i < f->n_windows; i++)
        free(f->windows[i].id);
    free(f->windows);
    pthread_mutex_destroy(&f->lock);
    free(f->ws);
    free(f->objects);
    free(f);
}

/* Text worth a diff: no NUL in the first 8 KiB, and not huge. */
static bool is_text(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > COPY_MAX)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n >= 0 && !memchr(buf, 0, (size_t)n);
}

extern char **environ;

char *fim_diff(const char *objects_dir, const char *old_hash, const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    if (!objects_dir || !*old_hash || cap < 8)
        return buf;
    char *old = xasprintf("%s/%s", objects_dir, old_hash);
    if (!is_text(old) || !is_text(path)) {
        free(old);
        return buf;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        free(old);
        return buf;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"diff", "-u", "--label", "baseline", "--label", "now", old, (char *)path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "diff", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    size_t len = 0;
    bool cut = false;
    if (rc == 0) {
        ssize_t n;
        char chunk[4096];
        while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) {
            size_t take = (size_t)n;
            if (len + take > cap - 4) {
                take = cap - 4 - len;
                cut = true;
            }
            memcpy(buf + len, chunk, take);
            len += take;
        }
        waitpid(pid, NULL, 0);
    }
    close(fds[0]);
    free(old);
    if (cut) {
        while (len && buf[len - 1] != '\n')
            len--;
        memcpy(buf + len, "…", 3); /* 3 bytes of UTF-8 */
        len += 3;
    }
    buf[len] = 0;
    return buf;
}
