/* sqlite.c: the embedded store, SQLite in WAL mode with foreign keys and a busy handler.
 * Must never leak SQLite types or SQL past store.h. Expected load: a handful of writes per
 * incident change and small indexed reads; statements are prepared once and cached. */
#include "../base/common.h"
#include "../base/embed.h"
#include "../base/fileio.h"
#include "../base/timeutil.h"
#include "sql_driver.h"
#include "sqlite_internal.h"
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
    "src/store/migrations/sqlite/0023_directory.sql",
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
int sql_fail(struct store *st, int rc, const char *doing, struct yj_err *err)
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

sqlite3_stmt *stmt(struct store *st, const char *sql, struct yj_err *err)
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

void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

/* Sets one column of the open deadline of that kind; a met deadline is never changed. */
/* Runs a prepared write statement to completion. */
int step_done(struct store *st, sqlite3_stmt *s, const char *doing, struct yj_err *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, doing, err);
}

/* Runs a prepared INSERT and writes the new row's id into *id on success. */
int step_insert(struct store *st, sqlite3_stmt *s, const char *doing, int64_t *id, struct yj_err *err)
{
    int rc = step_done(st, s, doing, err);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

/* A single integer from a query with at most one text parameter. */
int query_int(struct store *st, const char *sql, const char *param, int64_t *out, const char *doing,
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

/* UPDATE/DELETE ... WHERE id = ? with an optional leading integer parameter. */
int write_by_id(struct store *st, const char *sql, int64_t id, const int64_t *value, const char *doing,
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

/* Runs a cached query with ?1 = arg, ?2 = max and ?3 = text (when not NULL), turning each row into
 * one element of out (row_size bytes each) with `read`; *n gets the count. */
int select_rows_of(struct store *st, const char *sql, const char *text, int64_t arg, void *out,
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

int select_rows(struct store *st, const char *sql, int64_t arg, void *out, size_t row_size, size_t max,
                       size_t *n, void (*read)(sqlite3_stmt *, void *), const char *doing, struct yj_err *err)
{
    return select_rows_of(st, sql, NULL, arg, out, row_size, max, n, read, doing, err);
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
/* Waiting for another connection's write lock (sql_sqlite_busy says how). */
static int busy_wait(void *ud, int count)
{
    return sql_sqlite_busy(&((struct store *)ud)->busy_since, count);
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
    st->sql = sql_sqlite_adopt(st->db);
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
    sql_close(st->sql); /* its statements; the connection is closed here */
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

static const char begin_read_sql[] = "BEGIN DEFERRED";
static const char rollback_sql[] = "ROLLBACK";

int store_read_begin(struct store *st, struct yj_err *err)
{
    return run_cached(st, begin_read_sql, "starting a read", err);
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
    if (!sqlite3_get_autocommit(st->db) && run_cached(st, rollback_sql, "rolling back", NULL) < 0)
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

int deadline_set(struct store *st, const char *sql, int64_t incident_id, const char *kind, int64_t value,
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

