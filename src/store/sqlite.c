/* sqlite.c: the embedded store, SQLite in WAL mode with foreign keys and a busy handler.
 * Must never leak SQLite types or SQL past store.h. Expected load: a handful of writes per
 * incident change and small indexed reads; statements are prepared once and cached. */
#include "../base/common.h"
#include "../base/embed.h"
#include "../base/fileio.h"
#include "../base/timeutil.h"
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Migrations, in order; each is an embedded SQL file applied in its own transaction. */
static const char *const migrations[] = {
    "src/store/migrations/sqlite/0001_init.sql",
    "src/store/migrations/sqlite/0002_server.sql",
    "src/store/migrations/sqlite/0003_signals.sql",
    "src/store/migrations/sqlite/0004_log_positions.sql",
    "src/store/migrations/sqlite/0005_escalation.sql",
    "src/store/migrations/sqlite/0006_deliveries.sql",
    "src/store/migrations/sqlite/0007_tasks.sql",
    "src/store/migrations/sqlite/0008_task_approval.sql",
    "src/store/migrations/sqlite/0009_task_actions.sql",
    "src/store/migrations/sqlite/0010_blocks.sql",
    "src/store/migrations/sqlite/0011_upward.sql",
    "src/store/migrations/sqlite/0012_attachments.sql",
    "src/store/migrations/sqlite/0013_monitors.sql",
    "src/store/migrations/sqlite/0014_integrity.sql",
    "src/store/migrations/sqlite/0015_signal_extracted.sql",
    "src/store/migrations/sqlite/0016_audit_state.sql",
    "src/store/migrations/sqlite/0017_access.sql",
    "src/store/migrations/sqlite/0018_deadline_outcome.sql",
    "src/store/migrations/sqlite/0019_plan_identity.sql",
    "src/store/migrations/sqlite/0020_user_person.sql",
    "src/store/migrations/sqlite/0021_assignee.sql",
    "src/store/migrations/sqlite/0022_ack_links.sql",
};

#define STMT_CACHE 128

struct store {
    sqlite3 *db;
    int depth; /* write transactions open: 0, 1 (BEGIN), more (savepoints) */
    int64_t busy_since; /* when the current wait for another writer began (busy_wait) */
    char *path;
    char *sql_insert;
    char *sql_update;
    char *sql_select_by_id;
    char *sql_select_by_number;
    char *sql_list_prefix;
    const void *audit_key; /* the head's signing key, held for engine/audit.c */
    struct {
        const char *sql; /* compared by pointer: callers pass string constants or the fields above */
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE];
};

const char *store_path(const struct store *st)
{
    return st->path;
}

void store_set_audit_key(struct store *st, const void *key)
{
    st->audit_key = key;
}

const void *store_audit_key(const struct store *st)
{
    return st->audit_key;
}

/* Turns an SQLite failure into a message that says what the operator can do about it. */
static int sql_fail(struct store *st, int rc, const char *doing, struct yj_err *err)
{
    int base = rc & 0xff;
    const char *detail = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    /* SQLite reports a full disk while growing the WAL or its index as a generic I/O error;
     * the OS error says what really happened. */
    int sys = st && st->db ? sqlite3_system_errno(st->db) : 0;
    if (base == SQLITE_IOERR || base == SQLITE_CANTOPEN) {
        if (sys == ENOSPC || sys == EDQUOT)
            base = SQLITE_FULL;
        else if (sys == EROFS || sys == EACCES || sys == EPERM)
            base = SQLITE_READONLY;
    }
    switch (base) {
    case SQLITE_FULL:
        return yj_err_set(err, YJ_EIO, "%s: the disk holding %s is full; nothing was changed", doing,
                          st ? st->path : "the store");
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        return yj_err_set(err, YJ_EIO, "%s: cannot write %s (read-only or no permission): %s; nothing was changed",
                          doing, st ? st->path : "the store", detail);
    case SQLITE_IOERR:
        return yj_err_set(err, YJ_EIO, "%s: I/O error on %s: %s", doing, st ? st->path : "the store", detail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return yj_err_set(err, YJ_ESTORE, "%s: the store is busy (another writer held it too long)", doing);
    case SQLITE_CONSTRAINT:
        if ((rc & 0xffff) == SQLITE_CONSTRAINT_UNIQUE || (rc & 0xffff) == SQLITE_CONSTRAINT_PRIMARYKEY)
            return yj_err_set(err, YJ_ECONFLICT, "%s: already exists", doing);
        return yj_err_set(err, YJ_ESTORE, "%s: %s", doing, detail);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return yj_err_set(err, YJ_ESTORE, "%s: %s is damaged or not a Yingji store: %s", doing,
                          st ? st->path : "the store", detail);
    default:
        return yj_err_set(err, YJ_ESTORE, "%s: %s", doing, detail);
    }
}

static sqlite3_stmt *stmt(struct store *st, const char *sql, struct yj_err *err)
{
    size_t i;
    for (i = 0; i < STMT_CACHE && st->cache[i].sql; i++)
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].stmt);
            sqlite3_clear_bindings(st->cache[i].stmt);
            return st->cache[i].stmt;
        }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        sql_fail(st, rc, "preparing a statement", err);
        return NULL;
    }
    if (i < STMT_CACHE) {
        st->cache[i].sql = sql;
        st->cache[i].stmt = s;
    } else {
        /* The cache is sized for every statement this file has; overflowing it is a bug. */
        abort();
    }
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static int exec(struct store *st, const char *sql, const char *doing, struct yj_err *err)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_fail(st, rc, doing, err);
}

static int mkdirs(const char *dir, struct yj_err *err)
{
    /* The store holds password, session and token hashes: the directory is the service's own. */
    if (yj_mkdirs(dir, 0700) < 0)
        return yj_err_set(err, YJ_EIO, "cannot create data directory %s: %s", dir, strerror(errno));
    return 0;
}

static void build_sql(struct store *st)
{
    char *cols = NULL, *marks = NULL, *sets = NULL;
    size_t cl = 0, ml = 0, sl = 0;
    FILE *c = open_memstream(&cols, &cl), *m = open_memstream(&marks, &ml), *s = open_memstream(&sets, &sl);
    const char *sep = "";
#define X(mem, col)                                                                                      \
    fprintf(c, "%s%s", sep, col);                                                                        \
    fprintf(m, "%s?", sep);                                                                              \
    fprintf(s, "%s%s = ?", sep, col);                                                                    \
    sep = ", ";
    STORE_INCIDENT_TEXT(X)
    STORE_INCIDENT_INT(X)
#undef X
    fclose(c);
    fclose(m);
    fclose(s);
    st->sql_insert = xasprintf("INSERT INTO incidents (%s) VALUES (%s)", cols, marks);
    st->sql_update = xasprintf("UPDATE incidents SET %s WHERE id = ? AND version = ?", sets);
    st->sql_select_by_id = xasprintf("SELECT id, %s FROM incidents WHERE id = ?", cols);
    st->sql_select_by_number = xasprintf("SELECT id, %s FROM incidents WHERE number = ?", cols);
    st->sql_list_prefix = xasprintf("SELECT id, %s FROM incidents", cols);
    free(cols);
    free(marks);
    free(sets);
}

/* Process-wide SQLite settings, made once before the first connection. Memory statistics take
 * a global mutex on every allocation, which the server's threads would fight over. */
/* Waiting for another connection's write lock. SQLite's own busy timeout sleeps 1, 2, 5, 10 ...
 * up to 100 ms between tries, so a writer that needed the lock for one millisecond could cost the
 * next one 50 or 100: the tail of the signal-to-notification latency. Short sleeps first (our
 * own transactions are short), longer ones later, giving up after about 5 s as before. */
static int busy_wait(void *ud, int count)
{
    struct store *st = ud;
    enum { FAST = 50, MEDIUM = 250 }; /* 5 ms at 100 µs, 100 ms at 500 µs, then 2 ms */
    /* Given up by the clock, not by the count: on a loaded machine each sleep lasts longer than
     * asked, and 2,700 of them took well over the 5 s a writer is promised. */
    int64_t now = yj_now_ms();
    if (count == 0)
        st->busy_since = now;
    else if (now - st->busy_since >= 5000)
        return 0;
    usleep(count < FAST ? 100 : count < MEDIUM ? 500 : 2000);
    return 1;
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *data_dir, struct store **out, struct yj_err *err)
{
    pthread_once(&sqlite_once, sqlite_setup);
    int rc = mkdirs(data_dir, err);
    if (rc < 0)
        return rc;
    struct store *st = xcalloc(1, sizeof(*st));
    st->path = xasprintf("%s/yingji.db", data_dir);
    /* Made 0600 before SQLite opens it (it would use 0644 less the umask); its -wal and -shm
     * files take the same mode from it. */
    int fd = open(st->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    int src = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              NULL);
    if (src != SQLITE_OK) {
        rc = sql_fail(st, src, "opening the store", err);
        goto out_free;
    }
    sqlite3_extended_result_codes(st->db, 1);
    if (sqlite3_db_readonly(st->db, "main") == 1) {
        rc = yj_err_set(err, YJ_EIO, "opening the store: %s is read-only; nothing was changed", st->path);
        goto out_free;
    }
    sqlite3_busy_handler(st->db, busy_wait, st);
    /* WAL: readers never block the writer; FULL sync: a committed incident survives power loss.
     * Every thread has its own connection: 512 KiB of page cache each instead of SQLite's 2 MB
     * (the kernel's page cache serves all of them; measured: RSS after the API load 32-34 → 25 MB,
     * the same requests per second within the noise). */
    if ((rc = exec(st, "PRAGMA journal_mode = WAL", "opening the store", err)) < 0 ||
        (rc = exec(st, "PRAGMA synchronous = FULL", "opening the store", err)) < 0 ||
        (rc = exec(st, "PRAGMA foreign_keys = ON", "opening the store", err)) < 0 ||
        (rc = exec(st, "PRAGMA cache_size = -512", "opening the store", err)) < 0)
        goto out_free;
    build_sql(st);
    *out = st;
    return 0;
out_free:
    store_free(st);
    return rc;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(st->cache[i].stmt);
    sqlite3_close(st->db);
    free(st->path);
    free(st->sql_insert);
    free(st->sql_update);
    free(st->sql_select_by_id);
    free(st->sql_select_by_number);
    free(st->sql_list_prefix);
    free(st);
}

/* Write transactions nest: the outermost is BEGIN IMMEDIATE ... COMMIT, inner ones are savepoints.
 * So the detector can process a whole page of signals in one transaction (one WAL sync) while each
 * incident change inside it stays all-or-nothing on its own. */
int store_begin(struct store *st, struct yj_err *err)
{
    int rc = exec(st, st->depth ? "SAVEPOINT nested" : "BEGIN IMMEDIATE", "starting a transaction", err);
    if (rc == 0)
        st->depth++;
    return rc;
}

/* Runs a cached statement that returns no rows (BEGIN/ROLLBACK on the read path, where
 * compiling them on every request showed in profiles). */
static int run_cached(struct store *st, const char *sql, const char *doing, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, doing, err);
}

static const char sql_begin_read[] = "BEGIN DEFERRED";
static const char sql_rollback[] = "ROLLBACK";

int store_read_begin(struct store *st, struct yj_err *err)
{
    return run_cached(st, sql_begin_read, "starting a read", err);
}

int store_commit(struct store *st, struct yj_err *err)
{
    if (st->depth > 1) {
        int rc = exec(st, "RELEASE nested", "committing", err);
        if (rc < 0)
            store_rollback(st);
        else
            st->depth--;
        return rc;
    }
    int rc = exec(st, "COMMIT", "committing", err);
    if (rc < 0)
        store_rollback(st);
    st->depth = 0;
    return rc;
}

void store_rollback(struct store *st)
{
    if (st->depth > 1) {
        sqlite3_exec(st->db, "ROLLBACK TO nested; RELEASE nested", NULL, NULL, NULL);
        st->depth--;
        return;
    }
    st->depth = 0;
    if (!sqlite3_get_autocommit(st->db) && run_cached(st, sql_rollback, "rolling back", NULL) < 0)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_schema_version(struct store *st, int *current, int *latest, struct yj_err *err)
{
    int rc = exec(st, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                      "name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                  "reading the schema version", err);
    if (rc < 0)
        return rc;
    static const char sql[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW)
        return sql_fail(st, step, "reading the schema version", err);
    if (current)
        *current = sqlite3_column_int(s, 0);
    if (latest)
        *latest = (int)YJ_ARRAY_LEN(migrations);
    sqlite3_reset(s);
    return 0;
}

int store_migrate(struct store *st, int *applied, struct yj_err *err)
{
    int current = 0, latest = 0;
    int rc = store_schema_version(st, &current, &latest, err);
    if (rc < 0)
        return rc;
    if (current > latest)
        return yj_err_set(err, YJ_ESTORE, "%s has schema version %d, newer than this yingji knows (%d): upgrade yingji",
                          st->path, current, latest);
    int n = 0;
    for (int v = current + 1; v <= latest; v++) {
        const struct yj_embed *e = yj_embed_find(migrations[v - 1]);
        if (!e)
            abort();
        if ((rc = store_begin(st, err)) < 0)
            return rc;
        int src = sqlite3_exec(st->db, (const char *)e->data, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = sql_fail(st, src, "applying migration", err);
            store_rollback(st);
            yj_err_prefix(err, "migration %d: ", v);
            return rc;
        }
        static const char ins[] = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";
        sqlite3_stmt *s = stmt(st, ins, err);
        if (!s) {
            store_rollback(st);
            return YJ_ESTORE;
        }
        sqlite3_bind_int(s, 1, v);
        bind_text(s, 2, migrations[v - 1]);
        sqlite3_bind_int64(s, 3, yj_now_ms());
        src = sqlite3_step(s);
        sqlite3_reset(s);
        if (src != SQLITE_DONE) {
            store_rollback(st);
            return sql_fail(st, src, "recording a migration", err);
        }
        if ((rc = store_commit(st, err)) < 0)
            return rc;
        n++;
    }
    if (applied)
        *applied = n;
    return 0;
}

int store_backup(struct store *st, const char *path, struct yj_err *err)
{
    struct stat sb;
    if (stat(path, &sb) == 0)
        return yj_err_set(err, YJ_EINVAL, "%s already exists: choose a new file name (a backup never overwrites)",
                          path);
    char *tmp = xasprintf("%s.partial", path);
    sqlite3 *dst = NULL;
    int rc = 0;
    int src = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src != SQLITE_OK) {
        rc = yj_err_set(err, YJ_EIO, "cannot create backup %s: %s", path, sqlite3_errmsg(dst));
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", st->db, "main");
    if (!b) {
        rc = yj_err_set(err, YJ_EIO, "cannot start backup to %s: %s", path, sqlite3_errmsg(dst));
        goto out;
    }
    /* Copy in steps so a busy writer only ever waits for one step; a write from another
     * connection restarts the copy, which is what keeps it consistent. */
    do {
        src = sqlite3_backup_step(b, 256);
        if (src == SQLITE_BUSY || src == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (src == SQLITE_OK || src == SQLITE_BUSY || src == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (src != SQLITE_DONE) {
        rc = yj_err_set(err, (src & 0xff) == SQLITE_FULL ? YJ_EIO : YJ_ESTORE, "backup to %s failed: %s", path,
                        sqlite3_errstr(src));
        goto out;
    }
    sqlite3_close(dst);
    dst = NULL;
    if (rename(tmp, path) != 0)
        rc = yj_err_set(err, YJ_EIO, "cannot move backup into place at %s: %s", path, strerror(errno));
out:
    if (dst)
        sqlite3_close(dst);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- incidents ---- */

void store_incident_release(struct store_incident *inc)
{
#define X(m, c) free(inc->m);
    STORE_INCIDENT_TEXT(X)
#undef X
    memset(inc, 0, sizeof(*inc));
}

void store_incident_copy(struct store_incident *dst, const struct store_incident *src)
{
    *dst = *src;
#define X(m, c) dst->m = xstrdup(src->m);
    STORE_INCIDENT_TEXT(X)
#undef X
}

static int bind_incident(sqlite3_stmt *s, const struct store_incident *inc)
{
    int i = 1;
#define X(m, c) bind_text(s, i++, inc->m);
    STORE_INCIDENT_TEXT(X)
#undef X
    /* Times that have not happened are NULL, not 0, so SQL sees "not yet". */
#define X(m, c)                                                                                          \
    if (inc->m == 0 && strstr(c, "_at"))                                                                 \
        sqlite3_bind_null(s, i++);                                                                       \
    else                                                                                                 \
        sqlite3_bind_int64(s, i++, inc->m);
    STORE_INCIDENT_INT(X)
#undef X
    return i;
}

static void read_incident(sqlite3_stmt *s, struct store_incident *inc)
{
    int i = 0;
    inc->id = sqlite3_column_int64(s, i++);
#define X(m, c) inc->m = col_text(s, i++);
    STORE_INCIDENT_TEXT(X)
#undef X
#define X(m, c) inc->m = sqlite3_column_int64(s, i++);
    STORE_INCIDENT_INT(X)
#undef X
}

int store_incident_next_seq(struct store *st, int64_t year, int64_t *seq, struct yj_err *err)
{
    static const char sql[] = "SELECT coalesce(max(seq), 0) + 1 FROM incidents WHERE year = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, year);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sql_fail(st, rc, "numbering the incident", err);
    *seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int store_incident_insert(struct store *st, struct store_incident *inc, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, st->sql_insert, err);
    if (!s)
        return YJ_ESTORE;
    bind_incident(s, inc);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sql_fail(st, rc, "storing the incident", err);
    inc->id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int store_incident_update(struct store *st, struct store_incident *inc, int64_t expected_version,
                          struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, st->sql_update, err);
    if (!s)
        return YJ_ESTORE;
    int64_t saved = inc->version;
    inc->version = expected_version + 1;
    int i = bind_incident(s, inc);
    sqlite3_bind_int64(s, i++, inc->id);
    sqlite3_bind_int64(s, i, expected_version);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        inc->version = saved;
        return sql_fail(st, rc, "updating the incident", err);
    }
    if (sqlite3_changes(st->db) != 1) {
        inc->version = saved;
        return yj_err_set(err, YJ_ESTATE, "incident %s was changed by someone else meanwhile; reload and retry",
                          inc->number ? inc->number : "?");
    }
    return 0;
}

int store_incident_add_signal(struct store *st, int64_t id, int64_t signal_at, int64_t touched_at, int64_t *count,
                              struct yj_err *err)
{
    static const char sql[] = "UPDATE incidents SET signal_count = signal_count + 1, "
                              "last_signal_at = max(coalesce(last_signal_at, 0), ?1), "
                              "updated_at = CASE WHEN ?2 > 0 THEN ?2 ELSE updated_at END "
                              "WHERE id = ?3 RETURNING signal_count";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, signal_at);
    sqlite3_bind_int64(s, 2, touched_at);
    sqlite3_bind_int64(s, 3, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no incident with id %lld", (long long)id);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "counting a signal on the incident", err);
}

int store_incident_get(struct store *st, int64_t id, const char *number, struct store_incident *out,
                       struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, id ? st->sql_select_by_id : st->sql_select_by_number, err);
    if (!s)
        return YJ_ESTORE;
    if (id)
        sqlite3_bind_int64(s, 1, id);
    else
        bind_text(s, 1, number);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        if (id)
            return yj_err_set(err, YJ_ENOTFOUND, "no incident with id %lld", (long long)id);
        return yj_err_set(err, YJ_ENOTFOUND, "no incident numbered %s", number ? number : "");
    }
    if (rc != SQLITE_ROW)
        return sql_fail(st, rc, "reading the incident", err);
    read_incident(s, out);
    sqlite3_reset(s);
    return 0;
}

int64_t store_incident_sort_key(const struct store_incident *inc, enum store_sort sort)
{
    switch (sort) {
    case STORE_SORT_UPDATED: return inc->updated_at;
    case STORE_SORT_SEVERITY: return inc->national_level;
    default: return inc->id;
    }
}

int store_incident_list(struct store *st, const struct store_incident_filter *f, store_incident_cb cb, void *ud,
                        struct yj_err *err)
{
    static const struct store_incident_filter none = {.drill = -1};
    if (!f)
        f = &none;
    /* Only the ORDER BY and the cursor comparison vary, chosen from fixed text: never from input. */
    static const struct {
        const char *order, *after;
    } sorts[] = {
        [STORE_SORT_NEWEST] = {"id DESC", "id < ?12"},
        [STORE_SORT_OLDEST] = {"id ASC", "id > ?12"},
        [STORE_SORT_UPDATED] = {"updated_at DESC, id DESC", "(updated_at, id) < (?11, ?12)"},
        [STORE_SORT_SEVERITY] = {"national_level ASC, id ASC", "(national_level, id) > (?11, ?12)"},
    };
    size_t si = (size_t)f->sort < YJ_ARRAY_LEN(sorts) ? (size_t)f->sort : 0;
    char *sql = xasprintf("%s WHERE (?1 IS NULL OR status = ?1 OR (?1 = 'open' AND status NOT IN ('closed', "
                          "'dismissed'))) AND (?2 IS NULL OR unit = ?2) AND "
                          "(?3 IS NULL OR type = ?3) AND (?4 < 0 OR drill = ?4) AND (?5 IS NULL OR level = ?5) AND "
                          "(?6 IS NULL OR title LIKE ?6 ESCAPE '\\' OR number LIKE ?6 ESCAPE '\\' OR "
                          "source LIKE ?6 ESCAPE '\\' OR scope LIKE ?6 ESCAPE '\\') AND "
                          "(?7 IS NULL OR unit = ?7 OR reporter = ?8) AND (?10 = 0 OR %s) AND "
                          "(?13 IS NULL OR assignee = ?13) AND (?14 = 0 OR reported_at >= ?14) AND "
                          "(?15 = 0 OR reported_at < ?15) "
                          "ORDER BY %s LIMIT ?9",
                          st->sql_list_prefix, sorts[si].after, sorts[si].order);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return sql_fail(st, rc, "listing incidents", err);
    bind_text(s, 1, f->status);
    bind_text(s, 2, f->unit);
    bind_text(s, 3, f->type);
    sqlite3_bind_int(s, 4, f->drill);
    bind_text(s, 5, f->level);
    if (f->text) {
        /* Escape LIKE's wildcards so the text matches literally. */
        size_t n = strlen(f->text);
        char *pat = xmalloc(2 * n + 3), *q = pat;
        *q++ = '%';
        for (const char *c = f->text; *c; c++) {
            if (*c == '%' || *c == '_' || *c == '\\')
                *q++ = '\\';
            *q++ = *c;
        }
        *q++ = '%';
        *q = 0;
        sqlite3_bind_text(s, 6, pat, -1, free);
    } else {
        sqlite3_bind_null(s, 6);
    }
    bind_text(s, 7, f->visible_unit ? f->visible_unit : (f->visible_reporter ? "" : NULL));
    bind_text(s, 8, f->visible_reporter);
    sqlite3_bind_int64(s, 9, f->limit > 0 ? f->limit : -1);
    sqlite3_bind_int(s, 10, f->has_cursor);
    sqlite3_bind_int64(s, 11, f->cursor_key);
    sqlite3_bind_int64(s, 12, f->cursor_id);
    bind_text(s, 13, f->assignee);
    sqlite3_bind_int64(s, 14, f->reported_from);
    sqlite3_bind_int64(s, 15, f->reported_to);
    int out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_incident inc;
        read_incident(s, &inc);
        int stop = cb(&inc, ud);
        store_incident_release(&inc);
        if (stop)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        out = sql_fail(st, rc, "listing incidents", err);
    sqlite3_finalize(s);
    return out;
}

int store_incident_count_levels(struct store *st, int64_t from, int64_t to, const char *unit, const char *reporter,
                                int64_t counts[5], struct yj_err *err)
{
    static const char sql[] = "SELECT national_level, count(*) FROM incidents WHERE reported_at >= ?1 AND "
                              "reported_at < ?2 AND drill = 0 AND (?3 IS NULL OR unit = ?3 OR reporter = ?4) "
                              "GROUP BY national_level";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    bind_text(s, 3, unit ? unit : (reporter ? "" : NULL));
    bind_text(s, 4, reporter);
    memset(counts, 0, 5 * sizeof(counts[0]));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t level = sqlite3_column_int64(s, 0);
        if (level >= 1 && level <= 4)
            counts[level] = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "counting incidents by day", err);
}

int store_incident_count(struct store *st, const char *status, int drill, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM incidents WHERE status = ?1 AND (?2 < 0 OR drill = ?2)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, status);
    sqlite3_bind_int(s, 2, drill);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "counting incidents", err);
}

/* ---- deadlines ---- */

int store_deadline_insert(struct store *st, const struct store_deadline *d, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deadlines (incident_id, kind, due_at, met_at, outcome) "
                              "VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE 'met' END)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, d->incident_id);
    bind_text(s, 2, d->kind);
    sqlite3_bind_int64(s, 3, d->due_at);
    if (d->met_at)
        sqlite3_bind_int64(s, 4, d->met_at);
    else
        sqlite3_bind_null(s, 4);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "storing a deadline", err);
}

/* Sets one column of the open deadline of that kind; a met deadline is never changed. */
/* Runs a prepared write statement to completion. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *doing, struct yj_err *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, doing, err);
}

static int deadline_set(struct store *st, const char *sql, int64_t incident_id, const char *kind, int64_t value,
                        const char *doing, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, value);
    sqlite3_bind_int64(s, 2, incident_id);
    bind_text(s, 3, kind);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, doing, err);
}

int store_deadline_meet(struct store *st, int64_t incident_id, const char *kind, int64_t at, struct yj_err *err)
{
    static const char sql[] =
        "UPDATE deadlines SET met_at = ?, outcome = 'met' WHERE incident_id = ? AND kind = ? AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, at, "meeting a deadline", err);
}

int store_deadline_waive(struct store *st, int64_t incident_id, const char *kind, int64_t at, const char *by,
                         const char *reason, struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET met_at = ?1, outcome = 'waived', waived_by = ?2, waive_reason = ?3 "
                              "WHERE incident_id = ?4 AND (?5 IS NULL OR kind = ?5) AND met_at IS NULL";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, by);
    bind_text(s, 3, reason);
    sqlite3_bind_int64(s, 4, incident_id);
    bind_text(s, 5, kind);
    return step_done(st, s, "waiving a deadline", err);
}

int store_deadline_settle(struct store *st, int64_t incident_id, int64_t at, const char *by, const char *reason,
                          struct yj_err *err)
{
    /* Past due and still open: missed. Not yet due: the ending made it moot, said as a waiver. */
    static const char missed[] = "UPDATE deadlines SET met_at = ?1, outcome = 'missed' "
                                 "WHERE incident_id = ?2 AND met_at IS NULL AND due_at < ?1";
    sqlite3_stmt *s = stmt(st, missed, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_int64(s, 2, incident_id);
    int rc = step_done(st, s, "settling deadlines", err);
    return rc < 0 ? rc : store_deadline_waive(st, incident_id, NULL, at, by, reason, err);
}

int store_deadline_reschedule(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                              struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET due_at = ? WHERE incident_id = ? AND kind = ? AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, due_at, "rescheduling a deadline", err);
}

int store_deadline_reopen(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                          struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deadlines (incident_id, kind, due_at) VALUES (?2, ?3, ?1) ON CONFLICT "
                              "(incident_id, kind) DO UPDATE SET due_at = ?1, met_at = NULL, overdue_at = NULL, "
                              "outcome = NULL, waived_by = NULL, waive_reason = NULL";
    static const char forget[] = "DELETE FROM escalations WHERE ?1 = ?1 AND incident_id = ?2 AND deadline = ?3";
    int rc = deadline_set(st, sql, incident_id, kind, due_at, "reopening a deadline", err);
    return rc < 0 ? rc : deadline_set(st, forget, incident_id, kind, 0, "reopening a deadline", err);
}

int store_deadline_list(struct store *st, int64_t incident_id, struct store_deadline *out, size_t max, size_t *n,
                        struct yj_err *err)
{
    static const char sql[] =
        "SELECT id, incident_id, kind, due_at, coalesce(met_at, 0), coalesce(overdue_at, 0), coalesce(outcome, ''), "
        "coalesce(waived_by, ''), coalesce(waive_reason, '') FROM deadlines WHERE incident_id = ? ORDER BY due_at, id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        struct store_deadline *d = &out[k++];
        d->id = sqlite3_column_int64(s, 0);
        d->incident_id = sqlite3_column_int64(s, 1);
        snprintf(d->kind, sizeof(d->kind), "%s", (const char *)sqlite3_column_text(s, 2));
        d->due_at = sqlite3_column_int64(s, 3);
        d->met_at = sqlite3_column_int64(s, 4);
        d->overdue_at = sqlite3_column_int64(s, 5);
        snprintf(d->outcome, sizeof(d->outcome), "%s", (const char *)sqlite3_column_text(s, 6));
        snprintf(d->waived_by, sizeof(d->waived_by), "%s", (const char *)sqlite3_column_text(s, 7));
        snprintf(d->waive_reason, sizeof(d->waive_reason), "%s", (const char *)sqlite3_column_text(s, 8));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading deadlines", err);
    *n = k;
    return 0;
}

/* ---- timeline ---- */

int store_timeline_append(struct store *st, int64_t incident_id, int64_t at, const char *actor, const char *kind,
                          const char *body_json, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO timeline (incident_id, at, actor, kind, body) VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    sqlite3_bind_int64(s, 2, at);
    bind_text(s, 3, actor);
    bind_text(s, 4, kind);
    bind_text(s, 5, body_json);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "adding to the timeline", err);
}

int store_timeline_list(struct store *st, int64_t incident_id, store_timeline_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, incident_id, at, actor, kind, body FROM timeline WHERE incident_id = ? "
                              "ORDER BY id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_timeline_entry e = {
            .id = sqlite3_column_int64(s, 0),
            .incident_id = sqlite3_column_int64(s, 1),
            .at = sqlite3_column_int64(s, 2),
            .actor = (const char *)sqlite3_column_text(s, 3),
            .kind = (const char *)sqlite3_column_text(s, 4),
            .body = (const char *)sqlite3_column_text(s, 5),
        };
        if (cb(&e, ud))
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading the timeline", err);
    sqlite3_reset(s);
    return out;
}

/* ---- audit ---- */

int store_audit_head(struct store *st, int64_t *last_id, char hash[65], char signature[129], struct yj_err *err)
{
    static const char sql[] = "SELECT last_id, hash, coalesce(signature, '') FROM audit_head WHERE one = 1";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *last_id = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(s, 1));
        if (signature)
            snprintf(signature, 129, "%s", (const char *)sqlite3_column_text(s, 2));
    } else if (rc == SQLITE_DONE) {
        *last_id = 0;
        hash[0] = 0;
        if (signature)
            signature[0] = 0;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading the audit head", err);
}

int store_audit_insert(struct store *st, const struct store_audit_row *r, const char *signature, struct yj_err *err)
{
    static const char ins[] = "INSERT INTO audit_log (id, at, actor, action, object, detail, prev_hash, hash, state) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    static const char head[] =
        "INSERT INTO audit_head (one, last_id, hash, signature) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET "
        "last_id = excluded.last_id, hash = excluded.hash, signature = excluded.signature";
    sqlite3_stmt *s = stmt(st, ins, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int64(s, 2, r->at);
    bind_text(s, 3, r->actor);
    bind_text(s, 4, r->action);
    bind_text(s, 5, r->object);
    bind_text(s, 6, r->detail);
    bind_text(s, 7, r->prev_hash);
    bind_text(s, 8, r->hash);
    bind_text(s, 9, r->state);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sql_fail(st, rc, "writing the audit log", err);
    s = stmt(st, head, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, r->id);
    bind_text(s, 2, r->hash);
    bind_text(s, 3, signature);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "writing the audit head", err);
}

static int audit_rows(struct store *st, const char *sql, int64_t after, int64_t limit, store_audit_cb cb, void *ud,
                      struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_audit_row r = {
            .id = sqlite3_column_int64(s, 0),
            .at = sqlite3_column_int64(s, 1),
            .actor = (const char *)sqlite3_column_text(s, 2),
            .action = (const char *)sqlite3_column_text(s, 3),
            .object = (const char *)sqlite3_column_text(s, 4),
            .detail = (const char *)sqlite3_column_text(s, 5),
            .state = (const char *)sqlite3_column_text(s, 8),
        };
        snprintf(r.prev_hash, sizeof(r.prev_hash), "%s", (const char *)sqlite3_column_text(s, 6));
        snprintf(r.hash, sizeof(r.hash), "%s", (const char *)sqlite3_column_text(s, 7));
        if (!r.actor || !r.action || !r.object || !r.detail) {
            sqlite3_reset(s);
            return yj_err_set(err, YJ_EINTEGRITY, "audit row %lld has missing fields", (long long)r.id);
        }
        if (cb(&r, ud))
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading the audit log", err);
    sqlite3_reset(s);
    return out;
}

int store_audit_foreach(struct store *st, int64_t after, store_audit_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, at, actor, action, object, detail, prev_hash, hash, state FROM audit_log "
                              "WHERE id > ?1 AND ?2 = ?2 ORDER BY id";
    return audit_rows(st, sql, after, 0, cb, ud, err);
}

int store_audit_page(struct store *st, int64_t after, int limit, store_audit_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, at, actor, action, object, detail, prev_hash, hash, state FROM audit_log "
                              "WHERE id > ?1 ORDER BY id LIMIT ?2";
    return audit_rows(st, sql, after, limit, cb, ud, err);
}

int store_audit_count(struct store *st, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM audit_log";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "counting the audit log", err);
}

/* The rows an incident's audit state covers, version 1: frozen column lists, so that a later
 * migration adding a column does not change the state of rows recorded before it. Left out of
 * the incident: what moves with every machine signal without an audit row (signal_count,
 * last_signal_at, updated_at). */
static const char state_v1_incident[] =
    "SELECT 'incident', number, year, seq, title, type, class, level, national_level, gbt_category, "
    "gbt_subcategory, status, unit, reporter, assets, source, scope, nature, trend, measures, activated_by, "
    "activation_reason, cause, loss, lessons, clues, support, scene, dismiss_reason, fingerprint, drill, "
    "occurred_at, detected_at, reported_at, acknowledged_at, assessed_at, activated_at, contained_at, "
    "recovered_at, closed_at, version FROM incidents WHERE id = ?1";
static const char state_v1_deadlines[] =
    "SELECT 'deadline', id, kind, due_at, met_at, overdue_at FROM deadlines WHERE incident_id = ?1 ORDER BY id";
static const char state_v1_tasks[] =
    "SELECT 'task', id, step, phase, title, owner_role, owner_unit, contact, action, approval, created_at, due_at, "
    "status, reason, note, updated_by, updated_at, overdue_at, approval_status, approved_by, approved_at, "
    "approval_reason, action_status, action_output, action_at FROM tasks WHERE incident_id = ?1 ORDER BY id";
static const char state_v1_timeline[] =
    "SELECT 'timeline', id, at, actor, kind, body FROM timeline WHERE incident_id = ?1 ORDER BY id";
static const char state_v1_attachments[] = "SELECT 'attachment', id, name, type, size, sha256, created_at, created_by "
                                           "FROM attachments WHERE incident_id = ?1 ORDER BY id";
static const char *const incident_state_v1[] = {state_v1_incident, state_v1_deadlines, state_v1_tasks,
                                                state_v1_timeline, state_v1_attachments};

/* Version 2 (schema 18): deadlines with how they ended and who waived them. */
static const char state_v2_deadlines[] = "SELECT 'deadline', id, kind, due_at, met_at, overdue_at, outcome, "
                                         "waived_by, waive_reason FROM deadlines WHERE incident_id = ?1 ORDER BY id";
static const char *const incident_state_v2[] = {NULL /* the incident row: as in v1 */, state_v2_deadlines, NULL, NULL,
                                                NULL};

int store_incident_rows(struct store *st, int64_t incident_id, int version, store_values_cb cb, void *ud,
                        struct yj_err *err)
{
    if (version < 1 || version > 2)
        return yj_err_set(err, YJ_EINVAL, "audit state version %d is not known to this build", version);
    const char *values[64];
    size_t lens[64];
    for (size_t q = 0; q < YJ_ARRAY_LEN(incident_state_v1); q++) {
        const char *sql = version == 2 && incident_state_v2[q] ? incident_state_v2[q] : incident_state_v1[q];
        sqlite3_stmt *s = stmt(st, sql, err);
        if (!s)
            return YJ_ESTORE;
        sqlite3_bind_int64(s, 1, incident_id);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int n = sqlite3_column_count(s);
            for (int i = 0; i < n && i < 64; i++) {
                values[i] = (const char *)sqlite3_column_text(s, i);
                lens[i] = (size_t)sqlite3_column_bytes(s, i);
            }
            cb(values, lens, (size_t)(n < 64 ? n : 64), ud);
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return sql_fail(st, rc, "reading an incident's rows", err);
    }
    return 0;
}

int store_incident_ids(struct store *st, store_id_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, number FROM incidents ORDER BY id";
    /* Not cached and read whole first: the callback reads the incident's rows. */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sql_fail(st, rc, "listing incidents", err);
    int64_t *ids = NULL;
    char **numbers = NULL;
    size_t n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
        numbers = xrealloc(numbers, (n + 1) * sizeof(*numbers));
        ids[n] = sqlite3_column_int64(s, 0);
        numbers[n++] = col_text(s, 1);
    }
    int out = rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "listing incidents", err);
    sqlite3_finalize(s);
    for (size_t i = 0; out == 0 && i < n; i++)
        if (cb(ids[i], numbers[i], ud))
            break;
    for (size_t i = 0; i < n; i++)
        free(numbers[i]);
    free(numbers);
    free(ids);
    return out;
}

/* ---- users ---- */

void store_user_release(struct store_user *u)
{
    free(u->name);
    free(u->role);
    free(u->unit);
    free(u->password_hash);
    free(u->person);
    memset(u, 0, sizeof(*u));
}

#define USER_COLS "id, name, role, unit, password_hash, must_change, disabled, created_at, updated_at, person"

static void read_user(sqlite3_stmt *s, struct store_user *u)
{
    u->id = sqlite3_column_int64(s, 0);
    u->name = col_text(s, 1);
    u->role = col_text(s, 2);
    u->unit = col_text(s, 3);
    u->password_hash = col_text(s, 4);
    u->must_change = sqlite3_column_int64(s, 5);
    u->disabled = sqlite3_column_int64(s, 6);
    u->created_at = sqlite3_column_int64(s, 7);
    u->updated_at = sqlite3_column_int64(s, 8);
    u->person = col_text(s, 9);
}

/* Runs a prepared INSERT and writes the new row's id into *id on success. */
static int step_insert(struct store *st, sqlite3_stmt *s, const char *doing, int64_t *id, struct yj_err *err)
{
    int rc = step_done(st, s, doing, err);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_user_insert(struct store *st, struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO users (name, role, unit, password_hash, must_change, disabled, created_at, "
                              "updated_at, person) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, u->name);
    bind_text(s, 2, u->role);
    bind_text(s, 3, u->unit);
    bind_text(s, 4, u->password_hash);
    sqlite3_bind_int64(s, 5, u->must_change);
    sqlite3_bind_int64(s, 6, u->disabled);
    sqlite3_bind_int64(s, 7, u->created_at);
    sqlite3_bind_int64(s, 8, u->updated_at);
    bind_text(s, 9, u->person);
    int rc = step_done(st, s, "adding the user", err);
    if (rc == YJ_ECONFLICT)
        return yj_err_set(err, YJ_ECONFLICT, "a user named \"%s\" already exists", u->name);
    if (rc == 0)
        u->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out, struct yj_err *err)
{
    static const char by_id[] = "SELECT " USER_COLS " FROM users WHERE id = ?";
    static const char by_name[] = "SELECT " USER_COLS " FROM users WHERE name = ?";
    sqlite3_stmt *s = stmt(st, id ? by_id : by_name, err);
    if (!s)
        return YJ_ESTORE;
    if (id)
        sqlite3_bind_int64(s, 1, id);
    else
        bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_user(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such user");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the user", err);
}

int store_user_update(struct store *st, const struct store_user *u, struct yj_err *err)
{
    static const char sql[] = "UPDATE users SET role = ?, unit = ?, password_hash = ?, must_change = ?, disabled = ?, "
                              "updated_at = ?, person = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, u->role);
    bind_text(s, 2, u->unit);
    bind_text(s, 3, u->password_hash);
    sqlite3_bind_int64(s, 4, u->must_change);
    sqlite3_bind_int64(s, 5, u->disabled);
    sqlite3_bind_int64(s, 6, u->updated_at);
    bind_text(s, 7, u->person);
    sqlite3_bind_int64(s, 8, u->id);
    return step_done(st, s, "updating the user", err);
}

int store_user_list(struct store *st, store_user_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " USER_COLS " FROM users ORDER BY name";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_user u;
        read_user(s, &u);
        int stop = cb(&u, ud);
        store_user_release(&u);
        if (stop)
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "listing users", err);
    sqlite3_reset(s);
    return out;
}

/* A single integer from a query with at most one text parameter. */
static int query_int(struct store *st, const char *sql, const char *param, int64_t *out, const char *doing,
                     struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    if (param)
        bind_text(s, 1, param);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, doing, err);
}

int store_user_count(struct store *st, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM users";
    return query_int(st, sql, NULL, n, "counting users", err);
}

/* ---- one-time acknowledgement links ---- */

int store_ack_link_insert(struct store *st, const char *token_hash, int64_t incident_id, const char *recipient,
                          int64_t created_at, int64_t expires_at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO ack_links (token_hash, incident_id, recipient, created_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, incident_id);
    bind_text(s, 3, recipient);
    sqlite3_bind_int64(s, 4, created_at);
    sqlite3_bind_int64(s, 5, expires_at);
    return step_done(st, s, "keeping an acknowledgement link", err);
}

int store_ack_link_get(struct store *st, const char *token_hash, int64_t now, int64_t *incident_id, char *recipient,
                       size_t recipient_size, struct yj_err *err)
{
    static const char sql[] = "SELECT incident_id, recipient FROM ack_links "
                              "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *incident_id = sqlite3_column_int64(s, 0);
        snprintf(recipient, recipient_size, "%s", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "the link is unknown, used already or expired");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading an acknowledgement link", err);
}

int store_ack_link_use(struct store *st, const char *token_hash, int64_t now, struct yj_err *err)
{
    static const char sql[] = "UPDATE ack_links SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, now);
    int rc = step_done(st, s, "using an acknowledgement link", err);
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        return yj_err_set(err, YJ_ENOTFOUND, "the link was used meanwhile");
    return rc;
}

/* ---- which plan the data were made with ---- */

int store_plan_identity_get(struct store *st, struct store_plan_identity *out, struct yj_err *err)
{
    static const char sql[] = "SELECT plan_id, name, since FROM plan_identity WHERE only = 1";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(out->plan_id, sizeof(out->plan_id), "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(out->name, sizeof(out->name), "%s", (const char *)sqlite3_column_text(s, 1));
        out->since = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no plan recorded for these data yet");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading which plan the data were made with", err);
}

int store_plan_identity_set(struct store *st, const char *plan_id, const char *name, int64_t since,
                            struct yj_err *err)
{
    static const char sql[] = "INSERT INTO plan_identity (only, plan_id, name, since) VALUES (1, ?, ?, ?) "
                              "ON CONFLICT (only) DO UPDATE SET plan_id = excluded.plan_id, name = excluded.name, "
                              "since = excluded.since";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, plan_id);
    bind_text(s, 2, name);
    sqlite3_bind_int64(s, 3, since);
    return step_done(st, s, "recording which plan the data are used with", err);
}

/* ---- sessions ---- */

int store_session_insert(struct store *st, struct store_session *x, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO sessions (token_hash, csrf, user_id, created_at, last_seen, expires_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, x->token_hash);
    bind_text(s, 2, x->csrf);
    sqlite3_bind_int64(s, 3, x->user_id);
    sqlite3_bind_int64(s, 4, x->created_at);
    sqlite3_bind_int64(s, 5, x->last_seen);
    sqlite3_bind_int64(s, 6, x->expires_at);
    return step_insert(st, s, "starting a session", &x->id, err);
}

int store_session_find(struct store *st, const char *token_hash, struct store_session *out, struct yj_err *err)
{
    static const char sql[] = "SELECT id, user_id, token_hash, csrf, created_at, last_seen, expires_at FROM sessions "
                              "WHERE token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->id = sqlite3_column_int64(s, 0);
        out->user_id = sqlite3_column_int64(s, 1);
        snprintf(out->token_hash, sizeof(out->token_hash), "%s", (const char *)sqlite3_column_text(s, 2));
        snprintf(out->csrf, sizeof(out->csrf), "%s", (const char *)sqlite3_column_text(s, 3));
        out->created_at = sqlite3_column_int64(s, 4);
        out->last_seen = sqlite3_column_int64(s, 5);
        out->expires_at = sqlite3_column_int64(s, 6);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the session", err);
}

int store_session_user(struct store *st, const char *token_hash, struct store_session *x, struct store_user *u,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT u.id, u.name, u.role, u.unit, u.password_hash, u.must_change, u.disabled, "
                              "u.created_at, u.updated_at, u.person, s.id, s.csrf, s.created_at, s.last_seen, s.expires_at "
                              "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_user(s, u);
        x->user_id = u->id;
        x->id = sqlite3_column_int64(s, 10);
        snprintf(x->token_hash, sizeof(x->token_hash), "%s", token_hash);
        snprintf(x->csrf, sizeof(x->csrf), "%s", (const char *)sqlite3_column_text(s, 11));
        x->created_at = sqlite3_column_int64(s, 12);
        x->last_seen = sqlite3_column_int64(s, 13);
        x->expires_at = sqlite3_column_int64(s, 14);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such session");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the session", err);
}

/* UPDATE/DELETE ... WHERE id = ? with an optional leading integer parameter. */
static int write_by_id(struct store *st, const char *sql, int64_t id, const int64_t *value, const char *doing,
                       int64_t *changes, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int i = 1;
    if (value)
        sqlite3_bind_int64(s, i++, *value);
    sqlite3_bind_int64(s, i, id);
    int rc = step_done(st, s, doing, err);
    if (rc == 0 && changes)
        *changes = sqlite3_changes(st->db);
    return rc;
}

int store_session_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE sessions SET last_seen = ? WHERE id = ?";
    return write_by_id(st, sql, id, &at, "touching the session", NULL, err);
}

int store_session_delete(struct store *st, int64_t id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE id = ?";
    return write_by_id(st, sql, id, NULL, "ending the session", NULL, err);
}

int store_session_delete_user(struct store *st, int64_t user_id, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM sessions WHERE user_id = ?";
    return write_by_id(st, sql, user_id, NULL, "ending the user's sessions", NULL, err);
}

/* ---- API tokens ---- */

void store_token_release(struct store_token *t)
{
    free(t->name);
    free(t->scopes);
    free(t->created_by);
    free(t->role);
    memset(t, 0, sizeof(*t));
}

#define TOKEN_COLS                                                                                          \
    "id, name, token_hash, scopes, created_by, created_at, coalesce(last_used, 0), coalesce(revoked_at, 0), " \
    "coalesce(role, 'auditor')"

static void read_token(sqlite3_stmt *s, struct store_token *t)
{
    t->id = sqlite3_column_int64(s, 0);
    t->name = col_text(s, 1);
    snprintf(t->token_hash, sizeof(t->token_hash), "%s", (const char *)sqlite3_column_text(s, 2));
    t->scopes = col_text(s, 3);
    t->created_by = col_text(s, 4);
    t->created_at = sqlite3_column_int64(s, 5);
    t->last_used = sqlite3_column_int64(s, 6);
    t->revoked_at = sqlite3_column_int64(s, 7);
    t->role = col_text(s, 8);
}

int store_token_insert(struct store *st, struct store_token *t, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO api_tokens (name, token_hash, scopes, created_by, created_at, role) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, t->name);
    bind_text(s, 2, t->token_hash);
    bind_text(s, 3, t->scopes);
    bind_text(s, 4, t->created_by);
    sqlite3_bind_int64(s, 5, t->created_at);
    bind_text(s, 6, t->role);
    return step_insert(st, s, "creating the token", &t->id, err);
}

int store_token_find(struct store *st, const char *token_hash, struct store_token *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE token_hash = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_token(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no such token");
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading the token", err);
}

int store_token_list(struct store *st, store_token_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_token t;
        read_token(s, &t);
        int stop = cb(&t, ud);
        store_token_release(&t);
        if (stop)
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "listing tokens", err);
    sqlite3_reset(s);
    return out;
}

int store_token_revoke(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    int64_t n = 0;
    int rc = write_by_id(st, sql, id, &at, "revoking the token", &n, err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no live token with id %lld", (long long)id);
    return rc;
}

int store_token_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE api_tokens SET last_used = ? WHERE id = ?";
    return write_by_id(st, sql, id, &at, "touching the token", NULL, err);
}

/* ---- login throttling ---- */

int store_login_failures(struct store *st, const char *key, struct store_login *out, struct yj_err *err)
{
    static const char sql[] =
        "SELECT failures, last_at, throttled, coalesce(throttled_since, 0) FROM login_failures WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    *out = (struct store_login){0};
    if (rc == SQLITE_ROW)
        *out = (struct store_login){.failures = sqlite3_column_int64(s, 0),
                                    .last_at = sqlite3_column_int64(s, 1),
                                    .throttled = sqlite3_column_int64(s, 2),
                                    .throttled_since = sqlite3_column_int64(s, 3)};
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading login failures", err);
}

int store_login_failed(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    /* Consecutive within a day: a key's count starts afresh after a day without failures. */
    static const char sql[] = "INSERT INTO login_failures (key, failures, last_at) VALUES (?, 1, ?) "
                              "ON CONFLICT (key) DO UPDATE SET failures = CASE WHEN excluded.last_at - last_at > "
                              "86400000 THEN 1 ELSE failures + 1 END, last_at = excluded.last_at";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, at);
    return step_done(st, s, "recording a login failure", err);
}

int store_login_throttled(struct store *st, const char *key, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = throttled + 1, "
                              "throttled_since = coalesce(throttled_since, ?) WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, key);
    return step_done(st, s, "counting a throttled login", err);
}

int store_login_throttled_reset(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "UPDATE login_failures SET throttled = 0, throttled_since = NULL WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    return step_done(st, s, "resetting the throttled logins", err);
}

int store_login_clear(struct store *st, const char *key, struct yj_err *err)
{
    static const char sql[] = "DELETE FROM login_failures WHERE key = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, key);
    return step_done(st, s, "clearing login failures", err);
}

int store_device_add(struct store *st, const char *token_hash, int64_t user_id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO login_devices (token_hash, user_id, created_at, last_used) "
                              "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (token_hash) DO UPDATE SET last_used = ?3";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, at);
    return step_done(st, s, "remembering a browser", err);
}

int store_device_known(struct store *st, const char *token_hash, int64_t user_id, int64_t since, bool *known,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT 1 FROM login_devices WHERE token_hash = ? AND user_id = ? AND last_used >= ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, token_hash);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, since);
    int rc = sqlite3_step(s);
    *known = rc == SQLITE_ROW;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading known browsers", err);
}

/* ---- the clock ---- */

int store_deadline_overdue(struct store *st, int64_t now, struct store_deadline *out, size_t max, size_t *n,
                           struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.incident_id, d.kind, d.due_at FROM deadlines d "
                              "JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL AND d.overdue_at IS NULL "
                              "AND d.due_at <= ? AND i.status NOT IN ('closed', 'dismissed') ORDER BY d.due_at, d.id "
                              "LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        struct store_deadline *d = &out[k++];
        *d = (struct store_deadline){.id = sqlite3_column_int64(s, 0),
                                     .incident_id = sqlite3_column_int64(s, 1),
                                     .due_at = sqlite3_column_int64(s, 3)};
        snprintf(d->kind, sizeof(d->kind), "%s", (const char *)sqlite3_column_text(s, 2));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading overdue deadlines", err);
    *n = k;
    return 0;
}

int store_clock_due(struct store *st, int64_t now, bool *any, struct yj_err *err)
{
    /* Three index probes; the same conditions as the queries the clock then runs. */
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM deadlines d JOIN incidents i ON i.id = d.incident_id WHERE d.met_at IS NULL "
        "AND d.overdue_at IS NULL AND d.due_at <= ?1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM tasks t JOIN incidents i ON i.id = t.incident_id WHERE t.status IN ('todo', "
        "'doing') AND t.overdue_at IS NULL AND t.due_at <= ?1 AND i.status NOT IN ('closed', 'dismissed')) "
        "OR EXISTS (SELECT 1 FROM escalations WHERE stopped_at IS NULL AND next_at IS NOT NULL AND next_at <= ?1)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *any = sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "looking for what is due", err);
}

int store_deadline_mark_overdue(struct store *st, int64_t incident_id, const char *kind, int64_t at,
                                struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET overdue_at = ? WHERE incident_id = ? AND kind = ? AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, at, "marking a deadline overdue", err);
}

/* Runs a cached query with ?1 = arg, ?2 = max and ?3 = text (when not NULL), turning each row into
 * one element of out (row_size bytes each) with `read`; *n gets the count. */
static int select_rows_of(struct store *st, const char *sql, const char *text, int64_t arg, void *out,
                          size_t row_size, size_t max, size_t *n, void (*read)(sqlite3_stmt *, void *),
                          const char *doing, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    if (text)
        bind_text(s, 3, text);
    sqlite3_bind_int64(s, 1, arg);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max)
        read(s, (char *)out + row_size * k++);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, doing, err);
    *n = k;
    return 0;
}

static int select_rows(struct store *st, const char *sql, int64_t arg, void *out, size_t row_size, size_t max,
                       size_t *n, void (*read)(sqlite3_stmt *, void *), const char *doing, struct yj_err *err)
{
    return select_rows_of(st, sql, NULL, arg, out, row_size, max, n, read, doing, err);
}

#define ESCALATION_COLS                                                                                     \
    "id, incident_id, deadline, policy, step, sent, coalesce(next_at, 0), started_at, coalesce(stopped_at, 0), "     \
    "coalesce(stop_reason, '')"

static void read_escalation(sqlite3_stmt *s, void *row)
{
    struct store_escalation *e = row;
    *e = (struct store_escalation){.id = sqlite3_column_int64(s, 0),
                                   .incident_id = sqlite3_column_int64(s, 1),
                                   .step = sqlite3_column_int64(s, 4),
                                   .sent = sqlite3_column_int64(s, 5),
                                   .next_at = sqlite3_column_int64(s, 6),
                                   .started_at = sqlite3_column_int64(s, 7),
                                   .stopped_at = sqlite3_column_int64(s, 8)};
    snprintf(e->deadline, sizeof(e->deadline), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(e->policy, sizeof(e->policy), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(e->stop_reason, sizeof(e->stop_reason), "%s", (const char *)sqlite3_column_text(s, 9));
}

static int escalation_select(struct store *st, const char *sql, int64_t arg, struct store_escalation *out, size_t max,
                             size_t *n, struct yj_err *err)
{
    return select_rows(st, sql, arg, out, sizeof(*out), max, n, read_escalation, "reading escalations", err);
}

int store_escalation_due(struct store *st, int64_t now, struct store_escalation *out, size_t max, size_t *n,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT " ESCALATION_COLS " FROM escalations WHERE stopped_at IS NULL AND next_at IS "
                              "NOT NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?";
    return escalation_select(st, sql, now, out, max, n, err);
}

int store_escalation_list(struct store *st, int64_t incident_id, struct store_escalation *out, size_t max,
                          size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " ESCALATION_COLS " FROM escalations WHERE incident_id = ? ORDER BY id LIMIT ?";
    return escalation_select(st, sql, incident_id, out, max, n, err);
}

int store_escalation_insert(struct store *st, struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO escalations (incident_id, deadline, policy, step, sent, next_at, started_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, deadline) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, e->incident_id);
    bind_text(s, 2, e->deadline);
    bind_text(s, 3, e->policy);
    sqlite3_bind_int64(s, 4, e->step);
    sqlite3_bind_int64(s, 5, e->sent);
    if (e->next_at)
        sqlite3_bind_int64(s, 6, e->next_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, e->started_at);
    int rc = step_insert(st, s, "starting an escalation", &e->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return yj_err_set(err, YJ_ECONFLICT, "the %s deadline of incident %lld is already escalating", e->deadline,
                          (long long)e->incident_id);
    return rc;
}

int store_escalation_update(struct store *st, const struct store_escalation *e, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET step = ?, sent = ?, next_at = ?, stopped_at = ?, stop_reason = ? "
                              "WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, e->step);
    sqlite3_bind_int64(s, 2, e->sent);
    if (e->next_at)
        sqlite3_bind_int64(s, 3, e->next_at);
    else
        sqlite3_bind_null(s, 3);
    if (e->stopped_at)
        sqlite3_bind_int64(s, 4, e->stopped_at);
    else
        sqlite3_bind_null(s, 4);
    bind_text(s, 5, e->stop_reason[0] ? e->stop_reason : NULL);
    sqlite3_bind_int64(s, 6, e->id);
    return step_done(st, s, "advancing an escalation", err);
}

int store_escalation_stop_all(struct store *st, int64_t incident_id, const char *deadline, int64_t at,
                              const char *reason, struct yj_err *err)
{
    static const char sql[] = "UPDATE escalations SET stopped_at = ?, stop_reason = ? WHERE incident_id = ? AND "
                              "stopped_at IS NULL AND (?4 IS NULL OR deadline = ?4)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, reason);
    sqlite3_bind_int64(s, 3, incident_id);
    bind_text(s, 4, deadline);
    return step_done(st, s, "stopping escalations", err);
}

int store_notification_insert(struct store *st, struct store_notification *n, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO notifications (incident_id, escalation_id, created_at, recipient, target, "
                              "subject, body, idempotency_key, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (idempotency_key) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    if (n->incident_id)
        sqlite3_bind_int64(s, 1, n->incident_id);
    else
        sqlite3_bind_null(s, 1); /* a message about no incident (the daily audit checkpoint) */
    if (n->escalation_id)
        sqlite3_bind_int64(s, 2, n->escalation_id);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, n->created_at);
    bind_text(s, 4, n->recipient);
    bind_text(s, 5, n->target);
    bind_text(s, 6, n->subject);
    bind_text(s, 7, n->body);
    bind_text(s, 8, n->idempotency_key);
    sqlite3_bind_int64(s, 9, n->next_attempt_at ? n->next_attempt_at : n->created_at);
    int rc = step_insert(st, s, "queueing a notification", &n->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        n->id = 0;
    return rc;
}

int store_notification_list(struct store *st, int64_t incident_id, store_notification_cb cb, void *ud,
                            struct yj_err *err)
{
    static const char sql[] = "SELECT id, incident_id, coalesce(escalation_id, 0), created_at, recipient, target, "
                              "subject, body, idempotency_key, status, attempts, next_attempt_at, last_error, "
                              "coalesce(sent_at, 0) FROM notifications WHERE incident_id = ? ORDER BY id";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_notification n = {
            .id = sqlite3_column_int64(s, 0),
            .incident_id = sqlite3_column_int64(s, 1),
            .escalation_id = sqlite3_column_int64(s, 2),
            .created_at = sqlite3_column_int64(s, 3),
            .recipient = (const char *)sqlite3_column_text(s, 4),
            .target = (const char *)sqlite3_column_text(s, 5),
            .subject = (const char *)sqlite3_column_text(s, 6),
            .body = (const char *)sqlite3_column_text(s, 7),
            .idempotency_key = (const char *)sqlite3_column_text(s, 8),
            .status = (const char *)sqlite3_column_text(s, 9),
            .attempts = sqlite3_column_int64(s, 10),
            .next_attempt_at = sqlite3_column_int64(s, 11),
            .last_error = (const char *)sqlite3_column_text(s, 12),
            .sent_at = sqlite3_column_int64(s, 13),
        };
        if (cb(&n, ud))
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading notifications", err);
}

int store_delivery_expand(struct store *st, const char *channel, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deliveries (notification_id, channel, next_attempt_at) "
                              "SELECT n.id, ?1, n.next_attempt_at FROM notifications n WHERE n.status = 'pending' "
                              "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND "
                              "d.channel = ?1)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, channel);
    return step_done(st, s, "routing notifications to a channel", err);
}

int store_delivery_due(struct store *st, int64_t now, struct store_delivery *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT d.id, d.notification_id, d.channel, d.attempts, n.incident_id, "
                              "coalesce(i.number, ''), n.recipient, n.subject, n.body, n.idempotency_key, n.created_at "
                              "FROM deliveries d JOIN notifications n ON n.id = d.notification_id "
                              "LEFT JOIN incidents i ON i.id = n.incident_id WHERE d.status = 'pending' AND "
                              "d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max) {
        struct store_delivery *d = &out[k++];
        *d = (struct store_delivery){.id = sqlite3_column_int64(s, 0),
                                     .notification_id = sqlite3_column_int64(s, 1),
                                     .attempts = sqlite3_column_int64(s, 3),
                                     .incident_id = sqlite3_column_int64(s, 4),
                                     .created_at = sqlite3_column_int64(s, 10)};
        snprintf(d->channel, sizeof(d->channel), "%s", (const char *)sqlite3_column_text(s, 2));
        snprintf(d->incident, sizeof(d->incident), "%s", (const char *)sqlite3_column_text(s, 5));
        d->recipient = col_text(s, 6);
        d->subject = col_text(s, 7);
        d->body = col_text(s, 8);
        d->key = col_text(s, 9);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading deliveries", err);
    *n = k;
    return 0;
}

void store_delivery_release(struct store_delivery *d)
{
    free(d->recipient);
    free(d->subject);
    free(d->body);
    free(d->key);
    d->recipient = d->subject = d->body = d->key = NULL;
}

int store_delivery_result(struct store *st, int64_t id, const char *status, int64_t attempts, int64_t next_attempt_at,
                          const char *error, int64_t sent_at, struct yj_err *err)
{
    static const char sql[] = "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                              "sent_at = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, status);
    sqlite3_bind_int64(s, 2, attempts);
    sqlite3_bind_int64(s, 3, next_attempt_at);
    bind_text(s, 4, error);
    if (sent_at)
        sqlite3_bind_int64(s, 5, sent_at);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, id);
    return step_done(st, s, "recording a delivery", err);
}

int store_notification_settle(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    /* Done when no delivery is pending: sent if any channel took it, failed if one gave up. */
    static const char sql[] =
        "UPDATE notifications SET status = CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ?1 "
        "AND status = 'failed') THEN 'failed' ELSE 'sent' END, sent_at = ?2, attempts = (SELECT coalesce(sum(attempts), "
        "0) FROM deliveries WHERE notification_id = ?1), last_error = (SELECT last_error FROM deliveries WHERE "
        "notification_id = ?1 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) WHERE id = ?1 AND status = "
        "'pending' AND NOT EXISTS (SELECT 1 FROM deliveries WHERE notification_id = ?1 AND status = 'pending')";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    return step_done(st, s, "settling a notification", err);
}

/* ---- playbook tasks ---- */

#define TASK_COLS                                                                                            \
    "t.id, t.incident_id, t.step, t.phase, t.title, t.owner_role, t.owner_unit, t.contact, t.action, t.approval, "  \
    "t.created_at, coalesce(t.due_at, 0), t.status, t.reason, t.note, t.updated_by, coalesce(t.updated_at, 0), "    \
    "coalesce(t.overdue_at, 0), t.approval_status, t.approved_by, coalesce(t.approved_at, 0), t.approval_reason, " \
    "t.assignee"

static void read_task(sqlite3_stmt *s, struct store_task *t)
{
    *t = (struct store_task){.id = sqlite3_column_int64(s, 0),
                             .incident_id = sqlite3_column_int64(s, 1),
                             .step = sqlite3_column_int64(s, 2),
                             .title = col_text(s, 4),
                             .owner_role = col_text(s, 5),
                             .owner_unit = col_text(s, 6),
                             .contact = col_text(s, 7),
                             .action = col_text(s, 8),
                             .approval = sqlite3_column_int64(s, 9) != 0,
                             .created_at = sqlite3_column_int64(s, 10),
                             .due_at = sqlite3_column_int64(s, 11),
                             .reason = col_text(s, 13),
                             .note = col_text(s, 14),
                             .updated_by = col_text(s, 15),
                             .updated_at = sqlite3_column_int64(s, 16),
                             .overdue_at = sqlite3_column_int64(s, 17),
                             .approved_by = col_text(s, 19),
                             .approved_at = sqlite3_column_int64(s, 20),
                             .approval_reason = col_text(s, 21),
                             .assignee = col_text(s, 22)};
    const unsigned char *as = sqlite3_column_text(s, 18);
    snprintf(t->approval_status, sizeof(t->approval_status), "%s", as ? (const char *)as : "");
    snprintf(t->phase, sizeof(t->phase), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(t->status, sizeof(t->status), "%s", (const char *)sqlite3_column_text(s, 12));
}

void store_task_release(struct store_task *t)
{
    free(t->title);
    free(t->owner_role);
    free(t->owner_unit);
    free(t->contact);
    free(t->action);
    free(t->reason);
    free(t->note);
    free(t->updated_by);
    free(t->approved_by);
    free(t->approval_reason);
    free(t->assignee);
    memset(t, 0, sizeof(*t));
}

int store_task_insert(struct store *st, struct store_task *t, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO tasks (incident_id, step, phase, title, owner_role, owner_unit, contact, "
                              "action, approval, created_at, due_at, approval_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                              "?, ?, ?, CASE WHEN ?9 THEN 'pending' END) ON CONFLICT (incident_id, step) DO NOTHING";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, t->incident_id);
    sqlite3_bind_int64(s, 2, t->step);
    bind_text(s, 3, t->phase);
    bind_text(s, 4, t->title);
    bind_text(s, 5, t->owner_role);
    bind_text(s, 6, t->owner_unit);
    bind_text(s, 7, t->contact);
    bind_text(s, 8, t->action);
    sqlite3_bind_int(s, 9, t->approval);
    sqlite3_bind_int64(s, 10, t->created_at);
    if (t->due_at)
        sqlite3_bind_int64(s, 11, t->due_at);
    else
        sqlite3_bind_null(s, 11);
    int rc = step_insert(st, s, "adding a task", &t->id, err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        t->id = 0;
    return rc;
}

static int task_select(struct store *st, const char *sql, int64_t a, int64_t b, struct store_task *out, size_t max,
                       size_t *n, const char *doing, struct yj_err *err)
{
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max)
        read_task(s, &out[k++]);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        for (size_t i = 0; i < k; i++)
            store_task_release(&out[i]);
        return sql_fail(st, rc, doing, err);
    }
    *n = k;
    return 0;
}

int store_task_list(struct store *st, int64_t incident_id, struct store_task *out, size_t max, size_t *n,
                    struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.incident_id = ? ORDER BY t.step LIMIT ?";
    return task_select(st, sql, incident_id, (int64_t)max, out, max, n, "reading tasks", err);
}

int store_task_get(struct store *st, int64_t id, struct store_task *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ? LIMIT ?";
    size_t n = 0;
    int rc = task_select(st, sql, id, 1, out, 1, &n, "reading a task", err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no task %lld", (long long)id);
    return rc;
}

int store_task_update(struct store *st, const struct store_task *t, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET status = ?, reason = ?, note = ?, updated_by = ?, updated_at = ?, "
                              "approval_status = ?, approved_by = ?, approved_at = ?, approval_reason = ?, assignee = ? "
                              "WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, t->status);
    bind_text(s, 2, t->reason);
    bind_text(s, 3, t->note);
    bind_text(s, 4, t->updated_by);
    sqlite3_bind_int64(s, 5, t->updated_at);
    bind_text(s, 6, t->approval_status[0] ? t->approval_status : NULL);
    bind_text(s, 7, t->approved_by);
    if (t->approved_at)
        sqlite3_bind_int64(s, 8, t->approved_at);
    else
        sqlite3_bind_null(s, 8);
    bind_text(s, 9, t->approval_reason);
    bind_text(s, 10, t->assignee);
    sqlite3_bind_int64(s, 11, t->id);
    return step_done(st, s, "updating a task", err);
}

int store_task_overdue(struct store *st, int64_t now, struct store_task *out, size_t max, size_t *n,
                       struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.status IN ('todo', 'doing') AND t.overdue_at IS NULL AND t.due_at IS NOT NULL "
                              "AND t.due_at <= ? AND i.status NOT IN ('closed', 'dismissed') ORDER BY t.due_at LIMIT ?";
    return task_select(st, sql, now, (int64_t)max, out, max, n, "reading overdue tasks", err);
}

int store_task_action_due(struct store *st, struct store_task *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks t JOIN incidents i ON i.id = t.incident_id "
                              "WHERE t.action IS NOT NULL AND t.action != 'none' AND t.action_status IS NULL "
                              "AND t.status = 'todo' AND (t.approval_status IS NULL OR t.approval_status = 'approved') "
                              "AND i.status NOT IN ('closed', 'dismissed') AND ?1 = ?1 ORDER BY t.id LIMIT ?2";
    return task_select(st, sql, 0, (int64_t)max, out, max, n, "reading actions to run", err);
}

int store_task_action_result(struct store *st, int64_t id, const char *status, const char *output, int64_t at,
                             struct yj_err *err)
{
    static const char sql[] =
        "UPDATE tasks SET action_status = ?1, action_output = ?2, action_at = ?3, status = CASE WHEN ?1 = "
        "'succeeded' THEN 'done' ELSE status END, updated_by = CASE WHEN ?1 = 'succeeded' THEN 'action' ELSE "
        "updated_by END, updated_at = CASE WHEN ?1 = 'succeeded' THEN ?3 ELSE updated_at END WHERE id = ?4";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, status);
    bind_text(s, 2, output);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_int64(s, 4, id);
    return step_done(st, s, "recording an action", err);
}

int store_task_mark_overdue(struct store *st, int64_t id, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE tasks SET overdue_at = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_int64(s, 2, id);
    return step_done(st, s, "marking a task overdue", err);
}

/* ---- attachments ---- */

#define ATTACHMENT_COLS "id, incident_id, name, type, size, sha256, created_at, created_by"

static void read_attachment(sqlite3_stmt *s, void *row)
{
    struct store_attachment *a = row;
    *a = (struct store_attachment){.id = sqlite3_column_int64(s, 0),
                                   .incident_id = sqlite3_column_int64(s, 1),
                                   .size = sqlite3_column_int64(s, 4),
                                   .created_at = sqlite3_column_int64(s, 6)};
    snprintf(a->name, sizeof(a->name), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(a->type, sizeof(a->type), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(a->sha256, sizeof(a->sha256), "%s", (const char *)sqlite3_column_text(s, 5));
    snprintf(a->created_by, sizeof(a->created_by), "%s", (const char *)sqlite3_column_text(s, 7));
}

static int attachment_select(struct store *st, const char *sql, int64_t arg, struct store_attachment *out, size_t max,
                             size_t *n, struct yj_err *err)
{
    return select_rows(st, sql, arg, out, sizeof(*out), max, n, read_attachment, "reading attachments", err);
}

int store_attachment_list(struct store *st, int64_t incident_id, struct store_attachment *out, size_t max, size_t *n,
                          struct yj_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS " FROM attachments WHERE incident_id = ?1 ORDER BY id LIMIT ?2";
    return attachment_select(st, sql, incident_id, out, max, n, err);
}

int store_attachment_get(struct store *st, int64_t id, struct store_attachment *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS " FROM attachments WHERE id = ?1 LIMIT ?2";
    size_t n = 0;
    int rc = attachment_select(st, sql, id, out, 1, &n, err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no attachment %lld", (long long)id);
    return rc;
}

int store_attachment_insert(struct store *st, struct store_attachment *a, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO attachments (incident_id, name, type, size, sha256, created_at, created_by) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, a->incident_id);
    bind_text(s, 2, a->name);
    bind_text(s, 3, a->type);
    sqlite3_bind_int64(s, 4, a->size);
    bind_text(s, 5, a->sha256);
    sqlite3_bind_int64(s, 6, a->created_at);
    bind_text(s, 7, a->created_by);
    return step_insert(st, s, "recording an attachment", &a->id, err);
}

/* ---- blocked addresses ---- */

int store_incident_addresses(struct store *st, int64_t incident_id, char **out, size_t max, size_t *n,
                             struct yj_err *err)
{
    /* A signal a rule matched names the address its line holds (extracted); the sender's own
     * fields count only for signals no rule read (a sensor's structured report). */
    static const char sql[] = "SELECT json_extract(coalesce(extracted, fields), '$.ip') AS ip FROM signals "
                              "WHERE incident_id = ? AND json_valid(coalesce(extracted, fields)) AND ip IS NOT NULL "
                              "GROUP BY ip ORDER BY min(id) LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && k < max)
        out[k++] = col_text(s, 0);
    sqlite3_reset(s);
    *n = k;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        for (size_t i = 0; i < k; i++)
            free(out[i]);
        *n = 0;
        return sql_fail(st, rc, "reading an incident's addresses", err);
    }
    return 0;
}

#define BLOCK_COLS                                                                                          \
    "b.id, b.address, b.incident_id, i.number, coalesce(b.task_id, 0), b.blocked_at, b.expires_at, "           \
    "coalesce(b.released_at, 0), coalesce(b.released_by, ''), coalesce(b.release_reason, '')"

static void read_block(sqlite3_stmt *s, void *row)
{
    struct store_block *b = row;
    *b = (struct store_block){.id = sqlite3_column_int64(s, 0),
                              .incident_id = sqlite3_column_int64(s, 2),
                              .task_id = sqlite3_column_int64(s, 4),
                              .blocked_at = sqlite3_column_int64(s, 5),
                              .expires_at = sqlite3_column_int64(s, 6),
                              .released_at = sqlite3_column_int64(s, 7)};
    snprintf(b->address, sizeof(b->address), "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(b->incident, sizeof(b->incident), "%s", (const char *)sqlite3_column_text(s, 3));
    snprintf(b->released_by, sizeof(b->released_by), "%s", (const char *)sqlite3_column_text(s, 8));
    snprintf(b->release_reason, sizeof(b->release_reason), "%s", (const char *)sqlite3_column_text(s, 9));
}

static int block_select(struct store *st, const char *sql, int64_t arg, struct store_block *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    return select_rows(st, sql, arg, out, sizeof(*out), max, n, read_block, "reading blocked addresses", err);
}

int store_block_list(struct store *st, bool active, struct store_block *out, size_t max, size_t *n,
                     struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE ?1 = 0 OR b.released_at IS NULL ORDER BY b.id DESC LIMIT ?2";
    return block_select(st, sql, active, out, max, n, err);
}

int store_block_expired(struct store *st, int64_t now, struct store_block *out, size_t max, size_t *n,
                        struct yj_err *err)
{
    static const char sql[] = "SELECT " BLOCK_COLS " FROM blocks b JOIN incidents i ON i.id = b.incident_id "
                              "WHERE b.released_at IS NULL AND b.expires_at <= ?1 ORDER BY b.expires_at LIMIT ?2";
    return block_select(st, sql, now, out, max, n, err);
}

int store_block_release(struct store *st, int64_t id, int64_t at, const char *by, const char *reason,
                        struct yj_err *err)
{
    static const char sql[] =
        "UPDATE blocks SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ? AND released_at IS NULL";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, by);
    bind_text(s, 3, reason);
    sqlite3_bind_int64(s, 4, id);
    return step_done(st, s, "releasing a block", err);
}

int store_block_insert(struct store *st, struct store_block *b, struct yj_err *err)
{
    static const char renew[] = "UPDATE blocks SET released_at = ?, release_reason = 'renewed' WHERE address = ? AND "
                                "released_at IS NULL";
    static const char sql[] = "INSERT INTO blocks (address, incident_id, task_id, blocked_at, expires_at) "
                              "VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, renew, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, b->blocked_at);
    bind_text(s, 2, b->address);
    int rc = step_done(st, s, "renewing a block", err);
    if (rc < 0)
        return rc;
    if (!(s = stmt(st, sql, err)))
        return YJ_ESTORE;
    bind_text(s, 1, b->address);
    sqlite3_bind_int64(s, 2, b->incident_id);
    if (b->task_id)
        sqlite3_bind_int64(s, 3, b->task_id);
    else
        sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, b->blocked_at);
    sqlite3_bind_int64(s, 5, b->expires_at);
    return step_insert(st, s, "recording a block", &b->id, err);
}

/* ---- log positions ---- */

int store_logpos_get(struct store *st, const char *path, struct store_logpos *out, struct yj_err *err)
{
    static const char sql[] = "SELECT dev, inode, offset, head_len, head FROM log_positions WHERE path = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, path);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        struct store_logpos p = {.path = path,
                                 .dev = sqlite3_column_int64(s, 0),
                                 .inode = sqlite3_column_int64(s, 1),
                                 .offset = sqlite3_column_int64(s, 2),
                                 .head_len = sqlite3_column_int64(s, 3)};
        const unsigned char *head = sqlite3_column_text(s, 4);
        snprintf(p.head, sizeof(p.head), "%s", head ? (const char *)head : "");
        *out = p;
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no position stored for %s", path);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading a log position", err);
}

int store_logpos_put(struct store *st, const struct store_logpos *p, int64_t at, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO log_positions (path, dev, inode, offset, head_len, head, updated_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET dev = excluded.dev, "
                              "inode = excluded.inode, offset = excluded.offset, head_len = excluded.head_len, "
                              "head = excluded.head, updated_at = excluded.updated_at";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, p->path);
    sqlite3_bind_int64(s, 2, p->dev);
    sqlite3_bind_int64(s, 3, p->inode);
    sqlite3_bind_int64(s, 4, p->offset);
    sqlite3_bind_int64(s, 5, p->head_len);
    bind_text(s, 6, p->head);
    sqlite3_bind_int64(s, 7, at);
    return step_done(st, s, "recording a log position", err);
}

/* ---- events ---- */

int store_event_append(struct store *st, int64_t at, const char *kind, int64_t incident_id, const char *unit,
                       const char *reporter, const char *payload, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO events (at, kind, incident_id, unit, reporter, payload) "
                              "VALUES (?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, kind);
    if (incident_id)
        sqlite3_bind_int64(s, 3, incident_id);
    else
        sqlite3_bind_null(s, 3);
    bind_text(s, 4, unit);
    bind_text(s, 5, reporter);
    bind_text(s, 6, payload);
    int64_t ignored;
    return step_insert(st, s, "recording an event", id ? id : &ignored, err);
}

int store_event_list(struct store *st, int64_t after_id, int limit, store_event_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, at, kind, coalesce(incident_id, 0), unit, reporter, payload FROM events "
                              "WHERE id > ? ORDER BY id LIMIT ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_event e = {
            .id = sqlite3_column_int64(s, 0),
            .at = sqlite3_column_int64(s, 1),
            .kind = (const char *)sqlite3_column_text(s, 2),
            .incident_id = sqlite3_column_int64(s, 3),
            .unit = (const char *)sqlite3_column_text(s, 4),
            .reporter = (const char *)sqlite3_column_text(s, 5),
            .payload = (const char *)sqlite3_column_text(s, 6),
        };
        if (cb(&e, ud))
            break;
    }
    int out = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading events", err);
    sqlite3_reset(s);
    return out;
}

int store_event_last(struct store *st, int64_t *id, struct yj_err *err)
{
    static const char sql[] = "SELECT coalesce(max(id), 0) FROM events";
    return query_int(st, sql, NULL, id, "reading the last event", err);
}

/* ---- signals ---- */

int store_signal_insert(struct store *st, struct store_signal *x, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO signals (received_at, time, source, program, host, asset, message, fields) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, x->received_at);
    sqlite3_bind_int64(s, 2, x->time);
    bind_text(s, 3, x->source);
    bind_text(s, 4, x->program);
    bind_text(s, 5, x->host);
    bind_text(s, 6, x->asset);
    bind_text(s, 7, x->message);
    bind_text(s, 8, x->fields ? x->fields : "{}");
    return step_insert(st, s, "storing a signal", &x->id, err);
}

int store_signal_processed(struct store *st, int64_t id, int64_t at, const char *rule, const char *extracted,
                           int64_t incident_id, struct yj_err *err)
{
    static const char sql[] = "UPDATE signals SET processed_at = ?, rule = ?, incident_id = ?, extracted = ? WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, at);
    bind_text(s, 2, rule);
    if (incident_id)
        sqlite3_bind_int64(s, 3, incident_id);
    else
        sqlite3_bind_null(s, 3);
    bind_text(s, 4, extracted);
    sqlite3_bind_int64(s, 5, id);
    return step_done(st, s, "recording a signal's outcome", err);
}

/* ?1 = a, ?2 = b, ?3 = text (NULL stays NULL). */
static int signal_rows(struct store *st, const char *sql, int64_t a, int64_t b, const char *text, store_signal_cb cb,
                       void *ud, struct yj_err *err)
{
    /* Not cached: the callback may write (processing), which a live cached reader would block. */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sql_fail(st, rc, "reading signals", err);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    if (text)
        sqlite3_bind_text(s, 3, text, -1, SQLITE_TRANSIENT);
    /* Collect first, then call back, so the callback is free to write. */
    struct store_signal *rows = NULL;
    char **texts = NULL;
    size_t n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows = xrealloc(rows, (n + 1) * sizeof(*rows));
        texts = xrealloc(texts, (n + 1) * 9 * sizeof(char *));
        char **t = &texts[n * 9];
        /* The rule and the incident's number come with store_signal_latest only. */
        for (int i = 0; i < 9; i++)
            t[i] = 3 + i < sqlite3_column_count(s) ? col_text(s, 3 + i) : NULL;
        rows[n] = (struct store_signal){.id = sqlite3_column_int64(s, 0),
                                        .received_at = sqlite3_column_int64(s, 1),
                                        .time = sqlite3_column_int64(s, 2),
                                        .source = t[0],
                                        .program = t[1],
                                        .host = t[2],
                                        .asset = t[3],
                                        .message = t[4],
                                        .fields = t[5],
                                        .rule = t[6],
                                        .incident = t[7],
                                        .extracted = t[8]};
        n++;
    }
    int out = rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading signals", err);
    sqlite3_finalize(s);
    for (size_t i = 0; i < n && out == 0; i++)
        if (cb(&rows[i], ud))
            break;
    for (size_t i = 0; i < n * 9; i++)
        free(texts[i]);
    free(texts);
    free(rows);
    return out;
}

int store_signal_unprocessed(struct store *st, int limit, store_signal_cb cb, void *ud, struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT id, received_at, time, source, program, host, asset, message, fields FROM signals "
                       "WHERE processed_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
                       0, limit, NULL, cb, ud, err);
}

int store_signal_latest(struct store *st, const char *source, int limit, store_signal_cb cb, void *ud,
                        struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT s.id, s.received_at, s.time, s.source, s.program, s.host, s.asset, s.message, s.fields, "
                       "s.rule, i.number, s.extracted FROM signals s LEFT JOIN incidents i ON i.id = s.incident_id WHERE ?1 = ?1 "
                       "AND (?3 IS NULL OR s.source = ?3) ORDER BY s.id DESC LIMIT ?2",
                       0, limit, source, cb, ud, err);
}

int store_signal_recent(struct store *st, int64_t since, store_signal_cb cb, void *ud, struct yj_err *err)
{
    return signal_rows(st,
                       "SELECT id, received_at, time, source, program, host, asset, message, fields FROM signals "
                       "WHERE time >= ?1 AND processed_at IS NOT NULL ORDER BY time, id LIMIT ?2",
                       since, -1, NULL, cb, ud, err);
}

int store_incident_open_by_fingerprint(struct store *st, const char *fingerprint, struct store_incident *out,
                                       struct yj_err *err)
{
    static const char sql[] = "SELECT id FROM incidents WHERE fingerprint = ? AND status NOT IN ('closed', 'dismissed') "
                              "ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, fingerprint);
    int rc = sqlite3_step(s);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no open incident with that fingerprint");
    if (rc != SQLITE_ROW)
        return sql_fail(st, rc, "finding the open incident", err);
    return store_incident_get(st, id, NULL, out, err);
}

/* ---- monitors ---- */

int store_monitor_register(struct store *st, const char *id, const char *target, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO monitors (id, target) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET "
                              "target = ?2";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    bind_text(s, 2, target);
    return step_done(st, s, "registering a monitor", err);
}

int store_monitor_check(struct store *st, const struct store_monitor_check *c, struct yj_err *err)
{
    /* The first good check of a new monitor makes it up; down and back up are the runner's call
     * (store_monitor_change), after its retries. */
    static const char state[] =
        "UPDATE monitors SET checked_at = ?2, elapsed_ms = ?3, http_status = ?4, reason = ?5, "
        "cert_expires_at = coalesce(?6, cert_expires_at), since = CASE WHEN status = 'unknown' AND ?7 THEN ?2 ELSE "
        "since END, status = CASE WHEN status = 'unknown' AND ?7 THEN 'up' ELSE status END WHERE id = ?1";
    static const char hour[] =
        "INSERT INTO monitor_hours (monitor, hour, checks, failures, total_ms, max_ms) VALUES (?1, ?2, 1, ?3, ?4, ?4) "
        "ON CONFLICT (monitor, hour) DO UPDATE SET checks = checks + 1, failures = failures + ?3, total_ms = "
        "total_ms + ?4, max_ms = max(max_ms, ?4)";
    sqlite3_stmt *s = stmt(st, state, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->at);
    sqlite3_bind_int64(s, 3, c->elapsed_ms);
    sqlite3_bind_int64(s, 4, c->http_status);
    bind_text(s, 5, c->reason && *c->reason ? c->reason : NULL);
    if (c->cert_expires_at)
        sqlite3_bind_int64(s, 6, c->cert_expires_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int(s, 7, c->up);
    int rc = step_done(st, s, "recording a check", err);
    if (rc < 0 || !(s = stmt(st, hour, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->at - c->at % 3600000);
    sqlite3_bind_int(s, 3, !c->up);
    sqlite3_bind_int64(s, 4, c->up ? c->elapsed_ms : 0);
    return step_done(st, s, "recording a check", err);
}

int store_monitor_change(struct store *st, const char *id, int64_t at, bool up, const char *reason,
                         struct yj_err *err)
{
    static const char ins[] = "INSERT INTO monitor_changes (monitor, at, status, reason) VALUES (?, ?, ?, ?)";
    static const char upd[] = "UPDATE monitors SET status = ?2, since = ?3 WHERE id = ?1";
    sqlite3_stmt *s = stmt(st, ins, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, at);
    bind_text(s, 3, up ? "up" : "down");
    bind_text(s, 4, reason && *reason ? reason : NULL);
    int rc = step_done(st, s, "recording a monitor's change", err);
    if (rc < 0 || !(s = stmt(st, upd, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, id);
    bind_text(s, 2, up ? "up" : "down");
    sqlite3_bind_int64(s, 3, at);
    return step_done(st, s, "recording a monitor's change", err);
}

static void read_monitor(sqlite3_stmt *s, void *row)
{
    struct store_monitor *m = row;
    *m = (struct store_monitor){.since = sqlite3_column_int64(s, 3),
                                .checked_at = sqlite3_column_int64(s, 4),
                                .elapsed_ms = sqlite3_column_int64(s, 5),
                                .http_status = sqlite3_column_int64(s, 6),
                                .cert_expires_at = sqlite3_column_int64(s, 8)};
    snprintf(m->id, sizeof(m->id), "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(m->target, sizeof(m->target), "%s", (const char *)sqlite3_column_text(s, 1));
    snprintf(m->status, sizeof(m->status), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(m->reason, sizeof(m->reason), "%s", sqlite3_column_text(s, 7) ? (const char *)sqlite3_column_text(s, 7) : "");
}

#define MONITOR_COLS                                                                                         \
    "id, target, status, coalesce(since, 0), coalesce(checked_at, 0), coalesce(elapsed_ms, 0), "                 \
    "coalesce(http_status, 0), reason, coalesce(cert_expires_at, 0)"

int store_monitor_list(struct store *st, struct store_monitor *out, size_t max, size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors WHERE ?1 = ?1 ORDER BY id LIMIT ?2";
    return select_rows(st, sql, 0, out, sizeof(*out), max, n, read_monitor, "reading monitors", err);
}

int store_monitor_get(struct store *st, const char *id, struct store_monitor *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " MONITOR_COLS " FROM monitors WHERE id = ?";
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_monitor(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "no monitor %s", id);
    return rc == SQLITE_ROW ? 0 : sql_fail(st, rc, "reading a monitor", err);
}

static void read_hour(sqlite3_stmt *s, void *row)
{
    struct store_monitor_hour *h = row;
    *h = (struct store_monitor_hour){.hour = sqlite3_column_int64(s, 0),
                                     .checks = sqlite3_column_int64(s, 1),
                                     .failures = sqlite3_column_int64(s, 2),
                                     .total_ms = sqlite3_column_int64(s, 3),
                                     .max_ms = sqlite3_column_int64(s, 4)};
}

int store_monitor_hours(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out, size_t max,
                        size_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT hour, checks, failures, total_ms, max_ms FROM monitor_hours WHERE monitor = ?3 "
                              "AND hour >= ?1 ORDER BY hour LIMIT ?2";
    return select_rows_of(st, sql, id, since, out, sizeof(*out), max, n, read_hour, "reading a monitor's history", err);
}

int store_monitor_totals(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out,
                         struct yj_err *err)
{
    static const char sql[] = "SELECT 0, coalesce(sum(checks), 0), coalesce(sum(failures), 0), coalesce(sum(total_ms), "
                              "0), coalesce(max(max_ms), 0) FROM monitor_hours WHERE monitor = ?3 AND hour >= ?1 AND "
                              "?2 = ?2";
    size_t n = 0;
    return select_rows_of(st, sql, id, since, out, sizeof(*out), 1, &n, read_hour, "reading a monitor's uptime", err);
}

static void read_change(sqlite3_stmt *s, void *row)
{
    struct store_monitor_change *c = row;
    *c = (struct store_monitor_change){.at = sqlite3_column_int64(s, 0), .up = sqlite3_column_int(s, 1)};
    snprintf(c->reason, sizeof(c->reason), "%s", sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "");
}

int store_monitor_changes(struct store *st, const char *id, struct store_monitor_change *out, size_t max, size_t *n,
                          struct yj_err *err)
{
    static const char sql[] = "SELECT at, status = 'up', reason FROM monitor_changes WHERE monitor = ?3 AND ?1 = ?1 "
                              "ORDER BY id DESC LIMIT ?2";
    return select_rows_of(st, sql, id, 0, out, sizeof(*out), max, n, read_change, "reading a monitor's changes", err);
}

/* ---- file integrity ---- */

int store_integrity_put(struct store *st, const char *watch, const struct store_integrity_file *files, size_t n,
                        int64_t at, const char *by, struct yj_err *err)
{
    static const char del[] = "DELETE FROM integrity_files WHERE watch = ?";
    static const char ins[] = "INSERT INTO integrity_files (watch, path, size, hash) VALUES (?, ?, ?, ?)";
    static const char head[] = "INSERT INTO integrity_baselines (watch, taken_at, files, taken_by) VALUES (?1, ?2, ?3, "
                               "?4) ON CONFLICT (watch) DO UPDATE SET taken_at = ?2, files = ?3, taken_by = ?4";
    sqlite3_stmt *s = stmt(st, del, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    int rc = step_done(st, s, "replacing a baseline", err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(s = stmt(st, ins, err)))
            return YJ_ESTORE;
        bind_text(s, 1, watch);
        bind_text(s, 2, files[i].path);
        sqlite3_bind_int64(s, 3, files[i].size);
        bind_text(s, 4, files[i].hash);
        rc = step_done(st, s, "storing a baseline", err);
    }
    if (rc < 0 || !(s = stmt(st, head, err)))
        return rc < 0 ? rc : YJ_ESTORE;
    bind_text(s, 1, watch);
    sqlite3_bind_int64(s, 2, at);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
    bind_text(s, 4, by);
    return step_done(st, s, "storing a baseline", err);
}

int store_integrity_get(struct store *st, const char *watch, store_integrity_cb cb, void *ud, int64_t *taken_at,
                        struct yj_err *err)
{
    static const char head[] = "SELECT taken_at FROM integrity_baselines WHERE watch = ?";
    static const char sql[] = "SELECT path, size, hash FROM integrity_files WHERE watch = ? ORDER BY path";
    sqlite3_stmt *s = stmt(st, head, err);
    if (!s)
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    int rc = sqlite3_step(s);
    *taken_at = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(st, rc, "reading a baseline", err);
    if (!(s = stmt(st, sql, err)))
        return YJ_ESTORE;
    bind_text(s, 1, watch);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_integrity_file f = {(const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
                                         (const char *)sqlite3_column_text(s, 2)};
        cb(&f, ud);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading a baseline", err);
}

int store_integrity_changes(struct store *st, int64_t incident_id, store_integrity_change_cb cb, void *ud,
                            struct yj_err *err)
{
    /* The newest signal of each file first decides; the baseline hash is the same in all of them. */
    static const char sql[] =
        "SELECT json_extract(fields, '$.integrity') AS w, json_extract(fields, '$.path') AS p, "
        "json_extract(fields, '$.change'), json_extract(fields, '$.old_hash'), max(id) FROM signals WHERE "
        "incident_id = ? AND source = 'integrity' AND json_valid(fields) AND w IS NOT NULL AND p IS NOT NULL "
        "GROUP BY w, p ORDER BY w, p"; /* SQLite takes the bare columns from the max(id) row */
    sqlite3_stmt *s = stmt(st, sql, err);
    if (!s)
        return YJ_ESTORE;
    sqlite3_bind_int64(s, 1, incident_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
           sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "",
           sqlite3_column_text(s, 3) ? (const char *)sqlite3_column_text(s, 3) : "", ud);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "reading an incident's changed files", err);
}
