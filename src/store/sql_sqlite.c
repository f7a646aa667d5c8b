/* sql_sqlite.c: the SQLite driver of sql.h — WAL, foreign keys, a bounded wait for another writer,
 * $N placeholders read as SQLite's ?N, statements cached per connection. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/timeutil.h"
#include "sql_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <sqlite3.h>
#include <unistd.h>

#define CACHE 128
#define BUSY_MS 5000

struct lite_stmt {
    struct sql_stmt base;
    const char *key; /* the caller's SQL, by pointer */
    sqlite3_stmt *stmt;
    int64_t changes;
};

/* The writers of one process to one file, in the order they came. SQLite's own lock has no queue:
 * a writer that finds it taken sleeps and tries again, and a thread that commits and begins again
 * at once (the detector's pages of signals) wins every time, so that another thread (the outbox)
 * starved for seconds under load. Here the lock passes from one writer to the next in turn, and
 * SQLite's lock (with its busy wait) is left to other processes (the CLI). */
struct write_waiter {
    pthread_cond_t cv;
    bool granted;
    struct write_waiter *next;
};

struct write_queue {
    dev_t dev;
    ino_t ino;
    int refs;
    pthread_mutex_t mu;
    bool held;
    struct write_waiter *head, *tail;
    struct write_queue *link;
};

static pthread_mutex_t queues_mu = PTHREAD_MUTEX_INITIALIZER;
static struct write_queue *queues;

static struct write_queue *queue_get(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return NULL; /* an in-memory or vanished file: SQLite's lock alone */
    pthread_mutex_lock(&queues_mu);
    struct write_queue *q = queues;
    while (q && (q->dev != sb.st_dev || q->ino != sb.st_ino))
        q = q->link;
    if (!q) {
        q = xcalloc(1, sizeof(*q));
        q->dev = sb.st_dev;
        q->ino = sb.st_ino;
        pthread_mutex_init(&q->mu, NULL);
        q->link = queues;
        queues = q;
    }
    q->refs++;
    pthread_mutex_unlock(&queues_mu);
    return q;
}

static void queue_put(struct write_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&queues_mu);
    if (--q->refs == 0) {
        struct write_queue **p = &queues;
        while (*p != q)
            p = &(*p)->link;
        *p = q->link;
        pthread_mutex_destroy(&q->mu);
        free(q);
    }
    pthread_mutex_unlock(&queues_mu);
}

/* Waits for this process's earlier writers, up to BUSY_MS (then false: busy, as SQLite says it). */
static bool queue_enter(struct write_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (!q->held && !q->head) {
        q->held = true;
        pthread_mutex_unlock(&q->mu);
        return true;
    }
    /* On the heap, not the stack: the line holds it while other threads read it. */
    struct write_waiter *w = xcalloc(1, sizeof(*w));
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += BUSY_MS / 1000;
    while (!w->granted)
        if (pthread_cond_timedwait(&w->cv, &q->mu, &until) == ETIMEDOUT && !w->granted) {
            /* Given up: out of the line, wherever in it. */
            struct write_waiter **p = &q->head, *prev = NULL;
            while (*p != w) {
                prev = *p;
                p = &(*p)->next;
            }
            *p = w->next;
            if (q->tail == w)
                q->tail = prev;
            break;
        }
    bool got = w->granted;
    pthread_mutex_unlock(&q->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return got;
}

static void queue_leave(struct write_queue *q)
{
    pthread_mutex_lock(&q->mu);
    struct write_waiter *w = q->head;
    if (w) {
        /* Handed over: held stays true for the next in line. */
        q->head = w->next;
        if (!q->head)
            q->tail = NULL;
        w->granted = true;
        pthread_cond_signal(&w->cv);
    } else {
        q->held = false;
    }
    pthread_mutex_unlock(&q->mu);
}

struct lite_db {
    struct sql_db base;
    sqlite3 *db;
    struct write_queue *queue; /* this process's writers to the same file */
    bool queued;               /* this connection's turn is taken */
    int64_t busy_since;
    char *path; /* for messages: which file is full, read-only or damaged */
    struct lite_stmt cache[CACHE];
    size_t n_cache;
};

/* Waiting for another connection's write lock. SQLite's own busy timeout sleeps 1, 2, 5, 10 ...
 * up to 100 ms between tries, so a writer that needed the lock for one millisecond could cost the
 * next one 50 or 100: the tail of the signal-to-notification latency. Short sleeps first (our
 * own transactions are short), longer ones later, giving up after about 5 s. */
int sql_sqlite_busy(int64_t *since, int count)
{
    enum { FAST = 50, MEDIUM = 250 }; /* 5 ms at 100 µs, 100 ms at 500 µs, then 2 ms */
    /* Given up by the clock, not by the count: on a loaded machine each sleep lasts longer than
     * asked, and 2,700 of them took well over the 5 s a writer is promised. */
    int64_t now = yj_now_ms();
    if (count == 0)
        *since = now;
    else if (now - *since >= BUSY_MS)
        return 0;
    usleep(count < FAST ? 100 : count < MEDIUM ? 500 : 2000);
    return 1;
}

static int busy_wait(void *ud, int count)
{
    return sql_sqlite_busy(&((struct lite_db *)ud)->busy_since, count);
}

/* An SQLite failure as a message that says what the operator can do about it. */
static int fail(struct lite_db *l, int rc, const char *doing, struct yj_err *err)
{
    int ext = l->db ? sqlite3_extended_errcode(l->db) : rc;
    int base = rc & 0xff;
    const char *why = l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc);
    const char *path = l->path ? l->path : "the store";
    /* SQLite reports a full disk while growing the WAL or its index as a generic I/O error;
     * the OS error says what really happened. */
    int sys = l->db ? sqlite3_system_errno(l->db) : 0;
    if (base == SQLITE_IOERR || base == SQLITE_CANTOPEN) {
        if (sys == ENOSPC || sys == EDQUOT)
            base = SQLITE_FULL;
        else if (sys == EROFS || sys == EACCES || sys == EPERM)
            base = SQLITE_READONLY;
    }
    switch (base) {
    case SQLITE_FULL:
        return yj_err_set(err, YJ_EIO, "%s: the disk holding %s is full; nothing was changed", doing, path);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        return yj_err_set(err, YJ_EIO, "%s: cannot write %s (read-only or no permission): %s; nothing was changed",
                          doing, path, why);
    case SQLITE_IOERR:
        return yj_err_set(err, YJ_EIO, "%s: I/O error on %s: %s", doing, path, why);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return yj_err_set(err, YJ_ESTORE, "%s: the store is busy (another writer held it over %d s)", doing,
                          BUSY_MS / 1000);
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return yj_err_set(err, YJ_ECONFLICT, "%s: already exists (%s)", doing, why);
        return yj_err_set(err, YJ_ESTORE, "%s: %s", doing, why);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return yj_err_set(err, YJ_ESTORE, "%s: %s is damaged or not a Yingji store: %s", doing, path, why);
    default:
        return yj_err_set(err, YJ_ESTORE, "%s: %s", doing, why);
    }
}

static void lite_close(struct sql_db *db)
{
    struct lite_db *l = (struct lite_db *)db;
    for (size_t i = 0; i < l->n_cache; i++)
        sqlite3_finalize(l->cache[i].stmt);
    sqlite3_close(l->db);
    if (l->queued)
        queue_leave(l->queue);
    queue_put(l->queue);
    free(l->path);
    free(l);
}

static int lite_write_lock(struct sql_db *db, struct yj_err *err)
{
    struct lite_db *l = (struct lite_db *)db;
    if (!l->queue || l->queued)
        return 0;
    if (!queue_enter(l->queue))
        return yj_err_set(err, YJ_ESTORE,
                          "starting a transaction: the store is busy (another writer held it over %d s)",
                          BUSY_MS / 1000);
    l->queued = true;
    return 0;
}

static void lite_write_unlock(struct sql_db *db)
{
    struct lite_db *l = (struct lite_db *)db;
    if (l->queued) {
        l->queued = false;
        queue_leave(l->queue);
    }
}

void *sql_sqlite_handle(struct sql_db *db)
{
    return db && db->drv == &sql_sqlite_driver ? ((struct lite_db *)db)->db : NULL;
}

static int lite_exec(struct sql_db *db, const char *script, struct yj_err *err)
{
    struct lite_db *l = (struct lite_db *)db;
    char *msg = NULL;
    int rc = sqlite3_exec(l->db, script, NULL, NULL, &msg);
    sqlite3_free(msg);
    return rc == SQLITE_OK ? 0 : fail(l, rc, "running SQL", err);
}

/* Process-wide SQLite settings, made once before the first connection. Memory statistics take
 * a global mutex on every allocation, which the server's threads would fight over. */
static pthread_once_t lite_once = PTHREAD_ONCE_INIT;
static void lite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int lite_open(const char *path, const char *password, struct sql_db **out, struct yj_err *err)
{
    (void)password; /* a file has none: its mode guards it */
    pthread_once(&lite_once, lite_setup);
    struct lite_db *l = xcalloc(1, sizeof(*l));
    l->base.drv = &sql_sqlite_driver;
    l->path = xstrdup(path);
    /* The store holds password, session and token hashes: the file is made 0600 before SQLite
     * opens it (it would use 0644 less the umask); its -wal and -shm files take the same mode. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    int rc = sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = fail(l, rc, "opening the store", err);
        lite_close(&l->base);
        return rc;
    }
    sqlite3_extended_result_codes(l->db, 1);
    if (sqlite3_db_readonly(l->db, "main") == 1) {
        rc = yj_err_set(err, YJ_EIO, "opening the store: %s is read-only; nothing was changed", path);
        lite_close(&l->base);
        return rc;
    }
    sqlite3_busy_handler(l->db, busy_wait, l);
    l->queue = queue_get(path);
    /* WAL: readers never block the writer; FULL sync: a committed incident survives power loss.
     * Every thread has its own connection: 512 KiB of page cache each instead of SQLite's 2 MB
     * (the kernel's page cache serves all of them; measured: RSS after the API load 32-34 → 25 MB,
     * the same requests per second within the noise). */
    if ((rc = lite_exec(&l->base,
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                        "PRAGMA cache_size = -512",
                        err)) < 0) {
        yj_err_prefix(err, "opening the store: ");
        lite_close(&l->base);
        return rc;
    }
    *out = &l->base;
    return 0;
}

/* $N becomes ?N (SQLite's numbered parameter). */
static void to_question(char *dollar, void *ud)
{
    (void)ud;
    *dollar = '?';
}

static char *lite_sql(const char *sql)
{
    char *out = xstrdup(sql);
    sql_each_param(out, to_question, NULL);
    return out;
}

static struct sql_stmt *lite_prepare(struct sql_db *db, const char *sql, struct yj_err *err)
{
    struct lite_db *l = (struct lite_db *)db;
    for (size_t i = 0; i < l->n_cache; i++)
        if (l->cache[i].key == sql) {
            sqlite3_reset(l->cache[i].stmt);
            sqlite3_clear_bindings(l->cache[i].stmt);
            l->cache[i].changes = 0;
            return &l->cache[i].base;
        }
    if (l->n_cache == CACHE) {
        yj_err_set(err, YJ_ESTORE, "more than %d distinct statements on one connection", CACHE);
        return NULL;
    }
    char *text = lite_sql(sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(l->db, text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(text);
    if (rc != SQLITE_OK) {
        fail(l, rc, "preparing a statement", err);
        return NULL;
    }
    struct lite_stmt *s = &l->cache[l->n_cache++];
    *s = (struct lite_stmt){.base = {db}, .key = sql, .stmt = st};
    return &s->base;
}

static void lite_bind_int(struct sql_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(((struct lite_stmt *)s)->stmt, i, v);
}

static void lite_bind_text(struct sql_stmt *s, int i, const char *v)
{
    sqlite3_stmt *st = ((struct lite_stmt *)s)->stmt;
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int lite_step(struct sql_stmt *s, const char *doing, struct yj_err *err)
{
    struct lite_stmt *ls = (struct lite_stmt *)s;
    struct lite_db *l = (struct lite_db *)s->db;
    int rc = sqlite3_step(ls->stmt);
    if (rc == SQLITE_ROW)
        return SQL_ROW;
    if (rc == SQLITE_DONE) {
        ls->changes = sqlite3_changes64(l->db);
        return SQL_DONE;
    }
    rc = fail(l, rc, doing, err);
    sqlite3_reset(ls->stmt);
    return rc;
}

static int64_t lite_col_int(struct sql_stmt *s, int col)
{
    return sqlite3_column_int64(((struct lite_stmt *)s)->stmt, col);
}

static const char *lite_col_text(struct sql_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(((struct lite_stmt *)s)->stmt, col);
}

static bool lite_col_null(struct sql_stmt *s, int col)
{
    return sqlite3_column_type(((struct lite_stmt *)s)->stmt, col) == SQLITE_NULL;
}

static int lite_col_count(struct sql_stmt *s)
{
    return sqlite3_column_count(((struct lite_stmt *)s)->stmt);
}

static const char *lite_col_name(struct sql_stmt *s, int col)
{
    return sqlite3_column_name(((struct lite_stmt *)s)->stmt, col);
}

static int64_t lite_changes(struct sql_stmt *s)
{
    return ((struct lite_stmt *)s)->changes;
}

static void lite_reset(struct sql_stmt *s)
{
    sqlite3_reset(((struct lite_stmt *)s)->stmt);
}

static void lite_forget(struct sql_db *db, const char *sql)
{
    struct lite_db *l = (struct lite_db *)db;
    for (size_t i = 0; i < l->n_cache; i++)
        if (l->cache[i].key == sql) {
            sqlite3_finalize(l->cache[i].stmt);
            l->cache[i] = l->cache[--l->n_cache]; /* no statement is held while one is forgotten */
            return;
        }
}

static int lite_run(struct sql_db *db, const char *constant, const char *doing, struct yj_err *err)
{
    struct sql_stmt *s = lite_prepare(db, constant, err);
    if (!s)
        return YJ_ESTORE;
    int rc = lite_step(s, doing, err);
    lite_reset(s);
    return rc < 0 ? rc : 0;
}

static void lite_defer_checkpoints(struct sql_db *db)
{
    sqlite3_wal_autocheckpoint(((struct lite_db *)db)->db, 0);
}

static int lite_checkpoint(struct sql_db *db, int *frames, int *copied, struct yj_err *err)
{
    struct lite_db *l = (struct lite_db *)db;
    int rc = sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, frames, copied);
    /* BUSY: another checkpoint is running; what it leaves, the next one copies. */
    if (rc == SQLITE_BUSY)
        return 0;
    return rc == SQLITE_OK ? 0 : fail(l, rc, "copying the write-ahead log into the store", err);
}

const struct sql_driver sql_sqlite_driver = {
    .engine = SQL_SQLITE,
    .name = "sqlite",
    .begin = "BEGIN IMMEDIATE",
    .read_begin = "BEGIN DEFERRED",
    .snapshot_begin = "BEGIN DEFERRED", /* one snapshot from the first read on, as every read */
    .run = lite_run,
    .open = lite_open,
    .close = lite_close,
    .exec = lite_exec,
    .prepare = lite_prepare,
    .bind_int = lite_bind_int,
    .bind_text = lite_bind_text,
    .step = lite_step,
    .col_int = lite_col_int,
    .col_text = lite_col_text,
    .col_null = lite_col_null,
    .col_count = lite_col_count,
    .col_name = lite_col_name,
    .changes = lite_changes,
    .reset = lite_reset,
    .forget = lite_forget,
    .defer_checkpoints = lite_defer_checkpoints,
    .checkpoint = lite_checkpoint,
    .write_lock = lite_write_lock,
    .write_unlock = lite_write_unlock,
};
