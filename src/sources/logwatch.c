/* logwatch.c: following log files. One libuv loop in a thread of its own watches each pattern's
 * directory with inotify and reads what was appended with pread; it never touches the store but
 * hands batches (at most SIGNAL_BATCH_MAX signals) with the positions reached to `deliver`.
 * Memory is bounded per file: a read buffer of one maximal line plus one chunk.
 *
 * Rotation: a path whose inode changed was renamed away (the old file is read to its end, then
 * kept open for a grace period for the writer's last lines); a file shorter than what was read,
 * or whose first bytes changed, was truncated or copytruncated and is read again from its start.
 * A file that appears under a name the patterns match and is already open under another name
 * (auth.log renamed to auth.log.1 while auth.log* is watched) keeps its reader, so no line is
 * read twice. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/logline.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../store/store.h"
#include "batch.h"
#include "logwatch.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define CHUNK (64 * 1024)
#define HEAD_MAX 256
#define RETIRE_MS 30000
#define RETRY_MS 1000

struct spec {
    struct logwatch *lw;
    char *dir;
    char *pattern; /* the last component, matched with fnmatch */
    char *program;
    char *asset;
    bool from_start;
    uv_fs_event_t ev;
};

/* One open file and how far it was read. */
struct reader {
    int fd; /* -1: none */
    dev_t dev;
    ino_t ino;
    int64_t read_pos;  /* file position of the end of buf */
    int64_t offset;    /* file position after the last complete line taken */
    int64_t committed; /* offset the store has */
    char *buf;
    size_t len;
    bool discarding; /* inside a line over LOGWATCH_MAX_LINE */
    unsigned char head[HEAD_MAX];
    size_t head_len;
};

struct tail {
    struct logwatch *lw;
    struct spec *spec;
    char *path;
    struct reader cur;
    struct reader old;   /* the file before a rotation, read during the grace period */
    bool pos_on_old;     /* at start: the stored position is still the old file's until it is read */
    bool dirty;          /* the position changed since it was stored */
    uv_timer_t retire;
};

struct logwatch {
    uv_loop_t loop;
    uv_async_t stop;
    uv_timer_t retry;
    pthread_t thread;
    struct spec *specs;
    size_t n_specs;
    struct tail **tails;
    size_t n_tails, cap_tails;
    logwatch_position_fn position;
    logwatch_deliver_fn deliver;
    void *ud;
    struct logline_clock clock;
    struct signal_batch batch;
    bool failing; /* the store refused the last batch: readers rewound, retry armed */
    atomic_ullong lines, dropped, files, rotations, retries;
};

/* ---- readers ---- */

static void reader_reset(struct reader *r)
{
    r->fd = -1;
    r->read_pos = r->offset = r->committed = 0;
    r->len = 0;
    r->discarding = false;
    r->head_len = 0;
}

static void reader_close(struct reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    reader_reset(r);
}

static int reader_open(struct reader *r, const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    reader_reset(r);
    r->fd = fd;
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    if (!r->buf)
        r->buf = xmalloc(LOGWATCH_MAX_LINE + CHUNK);
    return 0;
}

static void reader_seek(struct reader *r, int64_t pos)
{
    r->read_pos = r->offset = r->committed = pos;
    r->len = 0;
    r->discarding = false;
}

/* The file's first bytes (up to what was read), kept to notice content replaced under the
 * same inode. */
static void reader_note_head(struct reader *r)
{
    size_t want = r->read_pos < HEAD_MAX ? (size_t)r->read_pos : HEAD_MAX;
    if (r->head_len >= want)
        return;
    ssize_t n = pread(r->fd, r->head, want, 0);
    r->head_len = n > 0 ? (size_t)n : 0;
}

static bool reader_head_changed(const struct reader *r)
{
    if (r->head_len == 0)
        return false;
    unsigned char now[HEAD_MAX];
    ssize_t n = pread(r->fd, now, r->head_len, 0);
    return n != (ssize_t)r->head_len || memcmp(now, r->head, r->head_len) != 0;
}

static void head_hash_bytes(const unsigned char *bytes, size_t len, char hex[33])
{
    unsigned char out[16];
    crypto_generichash(out, sizeof(out), bytes, len, NULL, 0);
    sodium_bin2hex(hex, 33, out, sizeof(out));
}

static void head_hash(int fd, int64_t len, char hex[33])
{
    unsigned char bytes[HEAD_MAX];
    size_t want = len < HEAD_MAX ? (size_t)len : HEAD_MAX;
    ssize_t n = want ? pread(fd, bytes, want, 0) : 0;
    head_hash_bytes(bytes, n > 0 ? (size_t)n : 0, hex);
}

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
}

/* ---- delivery ---- */

static void rewind_all(struct logwatch *lw)
{
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct reader *rs[2] = {&lw->tails[i]->cur, &lw->tails[i]->old};
        for (int k = 0; k < 2; k++)
            if (rs[k]->fd >= 0)
                reader_seek(rs[k], rs[k]->committed);
    }
}

static void on_retry(uv_timer_t *t);

/* Hands the batch and the changed positions over. false: the store refused; every reader is
 * back at what was stored and a retry is armed. */
static bool flush(struct logwatch *lw)
{
    struct store_logpos *pos = xcalloc(lw->n_tails ? lw->n_tails : 1, sizeof(*pos));
    size_t n_pos = 0;
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct tail *t = lw->tails[i];
        struct reader *r = t->pos_on_old ? &t->old : &t->cur;
        if (!t->dirty || r->fd < 0)
            continue;
        struct store_logpos *p = &pos[n_pos++];
        p->path = t->path;
        p->dev = (int64_t)r->dev;
        p->inode = (int64_t)r->ino;
        p->offset = r->offset;
        p->head_len = r->offset < HEAD_MAX ? r->offset : HEAD_MAX;
        head_hash(r->fd, p->head_len, p->head);
    }
    int rc = 0;
    if (lw->batch.n || n_pos)
        rc = lw->deliver(lw->batch.sigs, lw->batch.n, pos, n_pos, lw->ud);
    free(pos);
    signal_batch_clear(&lw->batch);
    if (rc < 0) {
        atomic_fetch_add(&lw->retries, 1);
        if (!lw->failing)
            yj_log_error("logwatch: the store refused a batch; reading again in %d ms", RETRY_MS);
        lw->failing = true;
        rewind_all(lw);
        uv_timer_start(&lw->retry, on_retry, RETRY_MS, 0);
        return false;
    }
    if (lw->failing)
        yj_log_info("logwatch: the store takes batches again");
    lw->failing = false;
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct tail *t = lw->tails[i];
        t->cur.committed = t->cur.offset;
        t->old.committed = t->old.offset;
        t->dirty = false;
    }
    return true;
}

static bool emit(struct logwatch *lw, struct tail *t, const char *line, size_t len)
{
    atomic_fetch_add(&lw->lines, 1);
    if (len && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return false;
    /* Binary junk, broken UTF-8 and over-long lines are not signals: count them and go on. */
    if (len > LOGWATCH_MAX_LINE || memchr(line, 0, len) || !yj_utf8_valid(line, len)) {
        atomic_fetch_add(&lw->dropped, 1);
        return false;
    }
    struct logline ll;
    logline_parse(line, len, &lw->clock, &ll);
    struct batch_text program = {ll.program, ll.program_len}, msg = {ll.msg, ll.msg_len};
    if (!ll.program) {
        /* No syslog prefix (a web server's own log): the whole line, from the configured program. */
        program = (struct batch_text){t->spec->program, t->spec->program ? strlen(t->spec->program) : 0};
        msg = (struct batch_text){line, len};
    }
    return signal_batch_add(&lw->batch, "logwatch", ll.time, (struct batch_text){ll.host, ll.host_len}, program,
                            msg, t->spec->asset);
}

/* Reads r to its end, one signal per complete line. false when the store refused a batch. */
static bool pump(struct logwatch *lw, struct tail *t, struct reader *r)
{
    if (r->fd < 0)
        return true;
    for (;;) {
        ssize_t n = pread(r->fd, r->buf + r->len, LOGWATCH_MAX_LINE + CHUNK - r->len, r->read_pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r->read_pos += n;
        r->len += (size_t)n;
        reader_note_head(r);
        size_t off = 0;
        char *nl;
        while (off < r->len && (nl = memchr(r->buf + off, '\n', r->len - off))) {
            size_t line_len = (size_t)(nl - (r->buf + off));
            bool full = false;
            if (r->discarding)
                r->discarding = false;
            else
                full = emit(lw, t, r->buf + off, line_len);
            off += line_len + 1;
            r->offset = r->read_pos - (int64_t)(r->len - off);
            t->dirty = true;
            if (full && !flush(lw))
                return false;
        }
        memmove(r->buf, r->buf + off, r->len - off);
        r->len -= off;
        if (r->len > LOGWATCH_MAX_LINE) {
            if (!r->discarding) {
                atomic_fetch_add(&lw->dropped, 1);
                yj_log_warn("logwatch: %s: a line over %d bytes is skipped", t->path, LOGWATCH_MAX_LINE);
            }
            r->discarding = true;
            r->len = 0;
        }
    }
    return true;
}

/* A last line without its newline, when its file is let go. */
static void pump_rest(struct logwatch *lw, struct tail *t, struct reader *r)
{
    if (!pump(lw, t, r))
        return;
    if (r->len && !r->discarding && emit(lw, t, r->buf, r->len))
        flush(lw);
    r->offset = r->read_pos;
    r->len = 0;
}

/* ---- tails ---- */

static void drop_old(struct logwatch *lw, struct tail *t);

static void on_retire(uv_timer_t *timer)
{
    struct tail *t = timer->data;
    drop_old(t->lw, t);
    flush(t->lw);
}

static struct tail *tail_find(struct logwatch *lw, const char *path)
{
    for (size_t i = 0; i < lw->n_tails; i++)
        if (strcmp(lw->tails[i]->path, path) == 0)
            return lw->tails[i];
    return NULL;
}

static struct tail *tail_add(struct logwatch *lw, struct spec *spec, const char *path)
{
    struct tail *t = xcalloc(1, sizeof(*t));
    t->lw = lw;
    t->spec = spec;
    t->path = xstrdup(path);
    reader_reset(&t->cur);
    reader_reset(&t->old);
    uv_timer_init(&lw->loop, &t->retire);
    t->retire.data = t;
    if (lw->n_tails == lw->cap_tails) {
        lw->cap_tails = lw->cap_tails ? 2 * lw->cap_tails : 8;
        lw->tails = xrealloc(lw->tails, lw->cap_tails * sizeof(struct tail *));
    }
    lw->tails[lw->n_tails++] = t;
    return t;
}

/* Moves the reader of file (dev, ino), open under another name, to t->cur. */
static bool adopt(struct logwatch *lw, struct tail *t, const struct stat *st)
{
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct tail *o = lw->tails[i];
        struct reader *rs[2] = {&o->cur, &o->old};
        for (int k = 0; k < 2; k++) {
            struct reader *r = rs[k];
            if (o == t || r->fd < 0 || r->dev != st->st_dev || r->ino != st->st_ino)
                continue;
            char *keep = t->cur.buf;
            t->cur = *r;
            r->buf = keep;
            reader_reset(r);
            if (k == 1)
                uv_timer_stop(&o->retire);
            t->dirty = o->dirty = true;
            return true;
        }
    }
    return false;
}

/* Reads the old file to its end and lets it go. */
static void drop_old(struct logwatch *lw, struct tail *t)
{
    if (t->old.fd < 0)
        return;
    pump_rest(lw, t, &t->old);
    if (lw->failing)
        return; /* kept for the retry */
    reader_close(&t->old);
    uv_timer_stop(&t->retire);
    atomic_fetch_sub(&lw->files, 1);
}

/* Retires the current reader (renamed away) and opens what the path names now. */
static void rotate(struct logwatch *lw, struct tail *t)
{
    drop_old(lw, t);
    char *keep = t->old.buf;
    t->old = t->cur;
    t->cur.buf = keep;
    reader_reset(&t->cur);
    uv_timer_start(&t->retire, on_retire, RETIRE_MS, 0);
    atomic_fetch_add(&lw->rotations, 1);
}

static bool find_rotated(struct tail *t, const struct store_logpos *p, struct reader *r);

/* Brings t up to date with its file: rotation, truncation, new lines. */
static void check(struct logwatch *lw, struct tail *t)
{
    if (lw->failing)
        return;
    struct stat st;
    bool exists = stat(t->path, &st) == 0 && S_ISREG(st.st_mode);
    if (t->cur.fd >= 0 && exists && (st.st_dev != t->cur.dev || st.st_ino != t->cur.ino)) {
        if (!pump(lw, t, &t->cur) || !flush(lw))
            return;
        rotate(lw, t);
    }
    if (t->cur.fd < 0 && exists) {
        if (!adopt(lw, t, &st)) {
            if (reader_open(&t->cur, t->path, &st) < 0)
                return;
            atomic_fetch_add(&lw->files, 1);
        }
        t->dirty = true;
    }
    if (t->cur.fd >= 0) {
        struct stat now;
        if (fstat(t->cur.fd, &now) == 0 && (now.st_size < t->cur.read_pos || reader_head_changed(&t->cur))) {
            /* Truncated (or copytruncated and written again): what is there now is new. The lines
             * written between our last read and a copytruncate are in the copy: read them there. */
            if (!flush(lw))
                return;
            struct store_logpos p = {.path = t->path,
                                     .dev = (int64_t)t->cur.dev,
                                     .inode = (int64_t)t->cur.ino,
                                     .offset = t->cur.offset,
                                     .head_len = t->cur.offset < HEAD_MAX ? t->cur.offset : HEAD_MAX};
            head_hash_bytes(t->cur.head, t->cur.head_len < (size_t)p.head_len ? t->cur.head_len : (size_t)p.head_len,
                            p.head);
            drop_old(lw, t);
            if (find_rotated(t, &p, &t->old)) {
                atomic_fetch_add(&lw->files, 1);
                uv_timer_start(&t->retire, on_retire, RETIRE_MS, 0);
            }
            reader_seek(&t->cur, 0);
            t->cur.head_len = 0;
            t->dirty = true;
            atomic_fetch_add(&lw->rotations, 1);
        }
    }
    if (pump(lw, t, &t->old))
        pump(lw, t, &t->cur);
}

static void check_all(struct logwatch *lw)
{
    for (size_t i = 0; i < lw->n_tails && !lw->failing; i++)
        check(lw, lw->tails[i]);
    if (!lw->failing)
        flush(lw);
}

static void on_retry(uv_timer_t *timer)
{
    struct logwatch *lw = timer->data;
    lw->failing = false;
    check_all(lw);
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)events;
    struct spec *spec = h->data;
    struct logwatch *lw = spec->lw;
    if (status < 0 || lw->failing)
        return;
    if (name && fnmatch(spec->pattern, name, FNM_PERIOD) == 0) {
        char path[PATH_MAX];
        join(path, sizeof(path), spec->dir, name);
        struct tail *t = tail_find(lw, path);
        check(lw, t ? t : tail_add(lw, spec, path));
    }
    /* A renamed-away file still written by its writer shows up under its new name. */
    for (size_t i = 0; i < lw->n_tails && !lw->failing; i++)
        if (lw->tails[i]->spec == spec && lw->tails[i]->old.fd >= 0)
            pump(lw, lw->tails[i], &lw->tails[i]->old);
    if (!lw->failing)
        flush(lw);
}

/* ---- start-up: resume where the store says ---- */

static bool compressed(const char *name)
{
    static const char *const ext[] = {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0)
            return true;
    }
    return false;
}

/* The file a stored position referred to, now under another name in the same directory (renamed
 * by rotation, or the copy copytruncate made): the one with the same inode, else one whose first
 * bytes hash the same and that is long enough. Opened into r at the stored offset. */
static bool find_rotated(struct tail *t, const struct store_logpos *p, struct reader *r)
{
    if (p->offset == 0)
        return false;
    DIR *d = opendir(t->spec->dir);
    if (!d)
        return false;
    char best[PATH_MAX] = "";
    bool same_inode = false;
    struct dirent *e;
    while (!same_inode && (e = readdir(d))) {
        char path[PATH_MAX];
        join(path, sizeof(path), t->spec->dir, e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || compressed(e->d_name) || strcmp(path, t->path) == 0 || stat(path, &st) != 0 ||
            !S_ISREG(st.st_mode) || st.st_size < p->offset)
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        char hex[33];
        head_hash(fd, p->head_len, hex);
        close(fd);
        if (strcmp(hex, p->head) != 0)
            continue;
        snprintf(best, sizeof(best), "%s", path);
        same_inode = (int64_t)st.st_dev == p->dev && (int64_t)st.st_ino == p->inode;
    }
    closedir(d);
    struct stat st;
    if (!*best || reader_open(r, best, &st) < 0)
        return false;
    reader_seek(r, p->offset);
    return true;
}

static void resume(struct logwatch *lw, struct tail *t)
{
    struct stat st;
    if (stat(t->path, &st) != 0 || !S_ISREG(st.st_mode) || reader_open(&t->cur, t->path, &st) < 0)
        return; /* not there yet: it is read from its start when it appears */
    atomic_fetch_add(&lw->files, 1);
    struct store_logpos p;
    int rc = lw->position(t->path, &p, lw->ud);
    if (rc == YJ_ENOTFOUND) {
        reader_seek(&t->cur, t->spec->from_start ? 0 : (int64_t)st.st_size);
        t->dirty = true;
        return;
    }
    if (rc < 0) {
        yj_log_error("logwatch: %s: cannot read its stored position; it is not followed", t->path);
        reader_close(&t->cur);
        atomic_fetch_sub(&lw->files, 1);
        return;
    }
    char hex[33];
    head_hash(t->cur.fd, p.head_len, hex);
    if ((int64_t)st.st_dev == p.dev && (int64_t)st.st_ino == p.inode && st.st_size >= p.offset &&
        strcmp(hex, p.head) == 0) {
        reader_seek(&t->cur, p.offset);
        return;
    }
    /* Rotated while we were not running: finish the old file first, then all of the new one. */
    if (find_rotated(t, &p, &t->old)) {
        atomic_fetch_add(&lw->files, 1);
        t->pos_on_old = true;
        yj_log_info("logwatch: %s was rotated while stopped; reading the rest of the old file first", t->path);
    }
    reader_seek(&t->cur, 0);
    t->dirty = true;
    atomic_fetch_add(&lw->rotations, 1);
}

static void start_reading(struct logwatch *lw)
{
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct tail *t = lw->tails[i];
        if (t->pos_on_old) {
            if (!pump(lw, t, &t->old))
                return;
            t->pos_on_old = false;
            t->dirty = true;
            uv_timer_start(&t->retire, on_retire, RETIRE_MS, 0);
        }
    }
    check_all(lw);
}

/* ---- the thread ---- */

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct logwatch *lw = a->data;
    lw->failing = false;
    check_all(lw);
    uv_walk(&lw->loop, close_any, NULL);
}

static void *loop_main(void *arg)
{
    struct logwatch *lw = arg;
    pthread_setname_np(pthread_self(), "yj-logwatch");
    start_reading(lw);
    uv_run(&lw->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void free_all(struct logwatch *lw)
{
    for (size_t i = 0; i < lw->n_tails; i++) {
        struct tail *t = lw->tails[i];
        if (t->cur.fd >= 0)
            close(t->cur.fd);
        if (t->old.fd >= 0)
            close(t->old.fd);
        free(t->cur.buf);
        free(t->old.buf);
        free(t->path);
        free(t);
    }
    free(lw->tails);
    for (size_t i = 0; i < lw->n_specs; i++) {
        free(lw->specs[i].dir);
        free(lw->specs[i].pattern);
        free(lw->specs[i].program);
        free(lw->specs[i].asset);
    }
    free(lw->specs);
    signal_batch_clear(&lw->batch);
    free(lw);
}

static int filter_none(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int add_spec(struct logwatch *lw, struct spec *s, const struct logwatch_spec *in, struct yj_err *err)
{
    const char *slash = strrchr(in->path, '/');
    s->lw = lw;
    s->dir = slash ? xstrndup(in->path, slash == in->path ? 1 : (size_t)(slash - in->path)) : xstrdup(".");
    s->pattern = xstrdup(slash ? slash + 1 : in->path);
    s->program = in->program ? xstrdup(in->program) : NULL;
    s->asset = in->asset ? xstrdup(in->asset) : NULL;
    s->from_start = in->from_start;
    if (!*s->pattern || strpbrk(s->dir, "*?["))
        return yj_err_set(err, YJ_EINVAL, "logwatch %s: wildcards are allowed in the file name only", in->path);
    uv_fs_event_init(&lw->loop, &s->ev);
    s->ev.data = s;
    int rc = uv_fs_event_start(&s->ev, on_event, s->dir, 0);
    if (rc != 0)
        return yj_err_set(err, YJ_EIO, "logwatch %s: cannot watch %s: %s", in->path, s->dir, uv_strerror(rc));
    struct dirent **names;
    int n = scandir(s->dir, &names, filter_none, alphasort);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        join(path, sizeof(path), s->dir, names[i]->d_name);
        if (fnmatch(s->pattern, names[i]->d_name, FNM_PERIOD) == 0 && !tail_find(lw, path))
            resume(lw, tail_add(lw, s, path));
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    /* A file named exactly that, not there yet, is followed from its first line when it comes. */
    char path[PATH_MAX];
    join(path, sizeof(path), s->dir, s->pattern);
    if (!strpbrk(s->pattern, "*?[") && !tail_find(lw, path))
        tail_add(lw, s, path);
    return 0;
}

int logwatch_start(const struct logwatch_spec *specs, size_t n, logwatch_position_fn position,
                   logwatch_deliver_fn deliver, void *ud, struct logwatch **out, struct yj_err *err)
{
    struct logwatch *lw = xcalloc(1, sizeof(*lw));
    lw->position = position;
    lw->deliver = deliver;
    lw->ud = ud;
    logline_clock_init(&lw->clock, yj_now_ms());
    uv_loop_init(&lw->loop);
    uv_timer_init(&lw->loop, &lw->retry);
    lw->retry.data = lw;
    lw->specs = xcalloc(n ? n : 1, sizeof(*lw->specs));
    lw->n_specs = n;
    for (size_t i = 0; i < n; i++) {
        if (add_spec(lw, &lw->specs[i], &specs[i], err) < 0) {
            uv_walk(&lw->loop, close_any, NULL);
            uv_run(&lw->loop, UV_RUN_DEFAULT);
            uv_loop_close(&lw->loop);
            free_all(lw);
            return err ? err->code : YJ_EIO;
        }
    }
    uv_async_init(&lw->loop, &lw->stop, on_stop);
    lw->stop.data = lw;
    pthread_create(&lw->thread, NULL, loop_main, lw);
    *out = lw;
    return 0;
}

void logwatch_stop(struct logwatch *lw)
{
    if (!lw)
        return;
    uv_async_send(&lw->stop);
    pthread_join(lw->thread, NULL);
    uv_loop_close(&lw->loop);
    free_all(lw);
}

void logwatch_get_counts(struct logwatch *lw, struct logwatch_counts *out)
{
    out->lines = atomic_load(&lw->lines);
    out->dropped = atomic_load(&lw->dropped);
    out->files = atomic_load(&lw->files);
    out->rotations = atomic_load(&lw->rotations);
    out->retries = atomic_load(&lw->retries);
}
