/* store.c: opening the store by its URL (SQLite file or PostgreSQL), the migrations of its engine,
 * transactions, and the online backup. The SQL of each concern lives in its store_*.c file on
 * sql.h; what differs between the engines lives in the drivers (sql_sqlite.c, sql_pg.c). */
#include "../base/common.h"
#include "../base/embed.h"
#include "../base/fileio.h"
#include "../base/timeutil.h"
#include "sql.h"
#include "sql_driver.h"
#include "store_internal.h"
#include "store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

/* Migrations, in order, the same numbers for both engines: src/store/migrations/ENGINE/NAME. */
static const char *const migrations[] = {
    "0001_init.sql",          "0002_server.sql",         "0003_signals.sql",      "0004_log_positions.sql",
    "0005_escalation.sql",    "0006_deliveries.sql",     "0007_tasks.sql",        "0008_task_approval.sql",
    "0009_task_actions.sql",  "0010_blocks.sql",         "0011_upward.sql",       "0012_attachments.sql",
    "0013_monitors.sql",      "0014_integrity.sql",      "0015_signal_extracted.sql", "0016_audit_state.sql",
    "0017_access.sql",        "0018_deadline_outcome.sql", "0019_plan_identity.sql", "0020_user_person.sql",
    "0021_assignee.sql",      "0022_ack_links.sql",      "0023_directory.sql",    "0024_leases.sql",
};

const char *store_path(const struct store *st)
{
    return st->where;
}

const char *store_engine(const struct store *st)
{
    return sql_engine_name(st->sql);
}

void store_set_audit_key(struct store *st, const void *key)
{
    st->audit_key = key;
}

const void *store_audit_key(const struct store *st)
{
    return st->audit_key;
}

char *store_url_of_dir(const char *data_dir)
{
    return xasprintf("sqlite:%s/yingji.db", data_dir);
}

int store_open(const char *url, const char *password, struct store **out, struct yj_err *err)
{
    struct store *st = xcalloc(1, sizeof(*st));
    bool lite = strncmp(url, "sqlite:", 7) == 0;
    st->where = sql_describe(url);
    if (lite) {
        /* The store holds password, session and token hashes: its directory is the service's own. */
        char *dir = xstrdup(url + 7), *slash = strrchr(dir, '/');
        int rc = 0;
        if (slash && slash != dir) {
            *slash = 0;
            if (yj_mkdirs(dir, 0700) < 0)
                rc = yj_err_set(err, YJ_EIO, "cannot create data directory %s: %s", dir, strerror(errno));
        }
        free(dir);
        if (rc < 0) {
            store_free(st);
            return rc;
        }
    }
    int rc = sql_open(url, password, &st->sql, err);
    if (rc < 0) {
        store_free(st);
        return rc;
    }
    store_incident_sql(st);
    *out = st;
    return 0;
}

void store_free(struct store *st)
{
    if (!st)
        return;
    sql_close(st->sql);
    store_forget_none_open(st);
    free(st->where);
    free(st->sql_insert);
    free(st->sql_update);
    free(st->sql_select_by_id);
    free(st->sql_select_by_number);
    for (size_t i = 0; i < STORE_SORTS; i++)
        free(st->sql_list[i]);
    free(st);
}

/* Write transactions nest: the outermost takes the write lock, inner ones are savepoints. So the
 * detector can process a whole page of signals in one transaction (one WAL sync) while each
 * incident change inside it stays all-or-nothing on its own. */
int store_begin(struct store *st, struct yj_err *err)
{
    return sql_begin(st->sql, err);
}

int store_begin_unordered(struct store *st, struct yj_err *err)
{
    return sql_begin_unordered(st->sql, err);
}

int store_need_order(struct store *st, const char *doing, struct yj_err *err)
{
    if (sql_depth(st->sql) > 0 && !sql_ordered(st->sql))
        return yj_err_set(err, YJ_ESTATE, "%s in a transaction without the write lock (store_begin_unordered)", doing);
    return 0;
}

int store_commit(struct store *st, struct yj_err *err)
{
    int rc = 0;
    if (sql_depth(st->sql) == 1 && st->before_commit) {
        store_commit_fn fn = st->before_commit;
        st->before_commit = NULL;
        rc = fn(st, err);
    }
    if (rc == 0)
        rc = sql_commit(st->sql, err);
    if (rc < 0)
        store_rollback(st);
    return rc;
}

int store_before_commit(struct store *st, store_commit_fn fn, struct yj_err *err)
{
    if (sql_depth(st->sql) == 0)
        return fn(st, err);
    st->before_commit = fn;
    return 0;
}

int store_read_begin(struct store *st, struct yj_err *err)
{
    return sql_read_begin(st->sql, err);
}

int store_writable(struct store *st, struct yj_err *err)
{
    return sql_writable(st->sql, err);
}

bool store_defer_checkpoints(struct store *st)
{
    return sql_defer_checkpoints(st->sql);
}

int store_checkpoint(struct store *st, int *frames, int *copied, struct yj_err *err)
{
    return sql_checkpoint(st->sql, frames, copied, err);
}

void store_rollback(struct store *st)
{
    /* An inner rollback keeps what is to run: the outer transaction's own writes still stand. */
    if (sql_depth(st->sql) <= 1)
        st->before_commit = NULL;
    sql_rollback(st->sql);
}

static const char migrations_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                                       "name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
static const char version_sql[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";

static int read_version(struct store *st, int *current, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, version_sql, err);
    if (!s)
        return YJ_ESTORE;
    int64_t v = 0;
    int rc = sql_one_int(s, "reading the schema version", &v, err);
    *current = (int)v;
    return rc;
}

int store_schema_version(struct store *st, int *current, int *latest, struct yj_err *err)
{
    /* Read first: the table is there in every store a command or the server has opened (and
     * /healthz asks each time); made only for a database nothing has used yet. */
    int v = 0;
    int rc = read_version(st, &v, err);
    if (rc < 0 && (rc = sql_exec(st->sql, migrations_table, err)) == 0)
        rc = read_version(st, &v, err);
    if (rc < 0)
        return rc;
    if (current)
        *current = v;
    if (latest)
        *latest = (int)YJ_ARRAY_LEN(migrations);
    return 0;
}

/* Every pending migration in one transaction: an upgrade is all or nothing, a first start syncs
 * once instead of once per migration, and nodes starting together migrate once (the schema lock;
 * the version is read again under it). */
int store_migrate(struct store *st, int *applied, struct yj_err *err)
{
    static const char ins[] = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)";
    int latest = (int)YJ_ARRAY_LEN(migrations), current = 0, n = 0;
    int rc = store_begin(st, err);
    if (rc < 0)
        return rc;
    if ((rc = sql_lock_schema(st->sql, err)) < 0 || (rc = sql_exec(st->sql, migrations_table, err)) < 0 ||
        (rc = read_version(st, &current, err)) < 0)
        goto fail;
    if (current > latest) {
        rc = yj_err_set(err, YJ_ESTORE, "%s has schema version %d, newer than this yingji knows (%d): upgrade yingji",
                        st->where, current, latest);
        goto fail;
    }
    for (int v = current + 1; v <= latest; v++) {
        char *name = xasprintf("src/store/migrations/%s/%s", sql_engine_name(st->sql), migrations[v - 1]);
        const struct yj_embed *e = yj_embed_find(name);
        free(name);
        if (!e)
            abort(); /* the build embeds every file of both series */
        if ((rc = sql_exec(st->sql, (const char *)e->data, err)) < 0) {
            yj_err_prefix(err, "migration %d: ", v);
            goto fail;
        }
        struct sql_stmt *s = sql_prepare(st->sql, ins, err);
        if (!s) {
            rc = YJ_ESTORE;
            goto fail;
        }
        sql_bind_int(s, 1, v);
        sql_bind_text(s, 2, migrations[v - 1]);
        sql_bind_int(s, 3, yj_now_ms());
        if ((rc = sql_done(s, "recording a migration", err)) < 0)
            goto fail;
        n++;
    }
    if ((rc = store_commit(st, err)) < 0)
        return rc;
    if (applied)
        *applied = n;
    return 0;
fail:
    store_rollback(st);
    return rc;
}

int store_backup(struct store *st, const char *path, struct yj_err *err)
{
    sqlite3 *db = sql_sqlite_handle(st->sql);
    if (!db)
        return yj_err_set(err, YJ_EINVAL, "a PostgreSQL store is backed up with its own tools: pg_dump -Fc, or "
                                          "pgBackRest for point-in-time recovery");
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
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", db, "main");
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
