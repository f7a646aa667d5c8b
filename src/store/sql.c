/* sql.c: the engine-neutral half of sql.h — choosing the driver by the URL, nested transactions
 * as savepoints (the same SQL on both engines), and the calls passed on to the driver. */
#include "../base/common.h"
#include "../base/err.h"
#include "sql_driver.h"

#include <unistd.h>

void sql_each_param(char *sql, void (*at)(char *dollar, void *ud), void *ud)
{
    char quote = 0;
    for (char *c = sql; *c; c++) {
        if (quote) {
            if (*c == quote)
                quote = 0;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '$' && c[1] >= '0' && c[1] <= '9') {
            at(c, ud);
        }
    }
}

int sql_open(const char *url, const char *password, struct sql_db **out, struct yj_err *err)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return sql_sqlite_driver.open(url + 7, password, out, err);
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return sql_pg_driver.open(url, password, out, err);
    /* Not echoed: a mistyped URL may still carry a password. */
    return yj_err_set(err, YJ_EINVAL, "the store must be sqlite:PATH or postgresql://USER@HOST:PORT/DB");
}

void sql_close(struct sql_db *db)
{
    if (db)
        db->drv->close(db);
}

enum sql_engine sql_engine_of(const struct sql_db *db)
{
    return db->drv->engine;
}

const char *sql_engine_name(const struct sql_db *db)
{
    return db->drv->name;
}

int sql_exec(struct sql_db *db, const char *script, struct yj_err *err)
{
    return db->drv->exec(db, script, err);
}

int sql_lock_schema(struct sql_db *db, struct yj_err *err)
{
    return db->drv->lock_schema ? db->drv->exec(db, db->drv->lock_schema, err) : 0;
}

struct sql_stmt *sql_prepare(struct sql_db *db, const char *sql, struct yj_err *err)
{
    return db->drv->prepare(db, sql, err);
}

void sql_forget(struct sql_db *db, const char *sql)
{
    db->drv->forget(db, sql);
}

char *sql_describe(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return xstrdup(url + 7);
    return sql_pg_describe(url);
}

void sql_bind_int(struct sql_stmt *s, int i, int64_t v)
{
    s->db->drv->bind_int(s, i, v);
}

void sql_bind_text(struct sql_stmt *s, int i, const char *v)
{
    s->db->drv->bind_text(s, i, v);
}

void sql_bind_null(struct sql_stmt *s, int i)
{
    s->db->drv->bind_text(s, i, NULL);
}

void sql_bind_int_or_null(struct sql_stmt *s, int i, int64_t v)
{
    if (v)
        sql_bind_int(s, i, v);
    else
        sql_bind_null(s, i);
}

int sql_step(struct sql_stmt *s, const char *doing, struct yj_err *err)
{
    return s->db->drv->step(s, doing, err);
}

int64_t sql_col_int(struct sql_stmt *s, int col)
{
    return s->db->drv->col_int(s, col);
}

const char *sql_col_text(struct sql_stmt *s, int col)
{
    return s->db->drv->col_text(s, col);
}

bool sql_col_null(struct sql_stmt *s, int col)
{
    return s->db->drv->col_null(s, col);
}

int sql_col_count(struct sql_stmt *s)
{
    return s->db->drv->col_count(s);
}

const char *sql_col_name(struct sql_stmt *s, int col)
{
    return s->db->drv->col_name(s, col);
}

int sql_ids_follow(struct sql_db *db, const char *table, struct yj_err *err)
{
    return db->drv->ids_follow ? db->drv->ids_follow(db, table, err) : 0;
}

int64_t sql_changes(struct sql_stmt *s)
{
    return s->db->drv->changes(s);
}

void sql_reset(struct sql_stmt *s)
{
    s->db->drv->reset(s);
}

int sql_done(struct sql_stmt *s, const char *doing, struct yj_err *err)
{
    int rc = sql_step(s, doing, err);
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int sql_done_later(struct sql_stmt *s, const char *doing, struct yj_err *err)
{
    if (s->db->depth == 0 || !s->db->drv->queue)
        return sql_done(s, doing, err);
    return s->db->drv->queue(s->db, s, NULL, doing, err);
}

int sql_flush(struct sql_db *db, struct yj_err *err)
{
    return db->drv->flush ? db->drv->flush(db, err) : 0;
}

int sql_rows(struct sql_stmt *s, void *out, size_t row_size, size_t max, size_t *n,
             void (*read)(struct sql_stmt *, void *), const char *doing, struct yj_err *err)
{
    size_t k = 0;
    int rc = 0;
    while (k < max && (rc = sql_step(s, doing, err)) == SQL_ROW)
        read(s, (char *)out + row_size * k++);
    sql_reset(s);
    if (k < max && rc < 0)
        return rc;
    *n = k;
    return 0;
}

int sql_rows_of(struct sql_db *db, const char *sql, int64_t arg, void *out, size_t row_size, size_t max, size_t *n,
                void (*read)(struct sql_stmt *, void *), const char *doing, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(db, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, arg);
    sql_bind_int(s, 2, (int64_t)max);
    return sql_rows(s, out, row_size, max, n, read, doing, err);
}

#define MANY 8
#define MANY_COLS 64

int sql_rows_many(struct sql_db *db, const char *const *sqls, size_t n, int64_t arg, sql_values_fn fn, void *ud,
                  const char *doing, struct yj_err *err)
{
    if (n > MANY)
        return yj_err_set(err, YJ_EINVAL, "%s: more than %d statements at once", doing, MANY);
    struct sql_stmt *stmts[MANY];
    for (size_t i = 0; i < n; i++) {
        if (!(stmts[i] = sql_prepare(db, sqls[i], err)))
            return YJ_ESTORE;
        sql_bind_int(stmts[i], 1, arg);
    }
    if (db->drv->each_rows)
        return db->drv->each_rows(db, stmts, n, fn, ud, doing, err);
    const char *values[MANY_COLS];
    size_t lens[MANY_COLS];
    for (size_t i = 0; i < n; i++) {
        int rc;
        while ((rc = sql_step(stmts[i], doing, err)) == SQL_ROW) {
            int cols = sql_col_count(stmts[i]);
            cols = cols < MANY_COLS ? cols : MANY_COLS;
            for (int c = 0; c < cols; c++) {
                values[c] = sql_col_text(stmts[i], c);
                lens[c] = values[c] ? strlen(values[c]) : 0;
            }
            fn(values, lens, (size_t)cols, ud);
        }
        sql_reset(stmts[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sql_insert_id(struct sql_stmt *s, const char *doing, int64_t *id, struct yj_err *err)
{
    int rc = sql_step(s, doing, err);
    if (rc == SQL_ROW)
        *id = sql_col_int(s, 0);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ESTORE, "%s: the insert returned no id", doing);
    return rc < 0 ? rc : 0;
}

int sql_one_int(struct sql_stmt *s, const char *doing, int64_t *out, struct yj_err *err)
{
    int rc = sql_step(s, doing, err);
    if (rc == SQL_ROW)
        *out = sql_col_int(s, 0);
    sql_reset(s);
    if (rc == SQL_DONE)
        return yj_err_set(err, YJ_ENOTFOUND, "%s: no row", doing);
    return rc < 0 ? rc : 0;
}

char *sql_col_dup(struct sql_stmt *s, int col)
{
    const char *v = sql_col_text(s, col);
    return v ? xstrdup(v) : NULL;
}

static const char commit_sql[] = "COMMIT";
static const char rollback_sql[] = "ROLLBACK";

/* The begin sent ahead, a statement at a time, with the transaction's first statement that
 * answers (PostgreSQL's pipeline: a round trip fewer a transaction; the write lock is taken
 * before that statement runs all the same, and a lock that cannot be had is that statement's
 * failure). */
static int queue_script(struct sql_db *db, const char *script, struct yj_err *err)
{
    char *copy = xstrdup(script), *save = NULL;
    int rc = 0;
    for (char *one = strtok_r(copy, ";", &save); rc == 0 && one; one = strtok_r(NULL, ";", &save)) {
        while (*one == ' ')
            one++;
        if (*one)
            rc = db->drv->queue(db, NULL, one, "starting a transaction", err);
    }
    free(copy);
    return rc;
}

/* A transaction inside one is a savepoint, released by its commit and undone alone by its
 * rollback: a helper that writes in a transaction of its own may be called inside another. */
static int begin_writing(struct sql_db *db, bool ordered, struct yj_err *err)
{
    int rc;
    /* A write inside a read would be undone by the read's end: refused, as SQLite refuses a
     * BEGIN inside a transaction. */
    if (db->reading && db->depth == 0)
        return yj_err_set(err, YJ_ESTATE, "starting a transaction: a write inside a read");
    if (db->depth == 0) {
        if (db->drv->write_lock && (rc = db->drv->write_lock(db, err)) < 0)
            return rc;
        const char *begin = !ordered && db->drv->begin_unordered ? db->drv->begin_unordered : db->drv->begin;
        rc = db->drv->queue ? queue_script(db, begin, err) : db->drv->run(db, begin, "starting a transaction", err);
        /* The begin may be two statements (PostgreSQL's BEGIN and its write lock): when the second
         * fails the first stands, and would leave the connection in a failed transaction. */
        if (rc < 0) {
            struct yj_err ignored;
            (void)db->drv->exec(db, rollback_sql, &ignored);
            if (db->drv->write_unlock)
                db->drv->write_unlock(db);
        }
    } else {
        char sp[32];
        snprintf(sp, sizeof(sp), "SAVEPOINT yj%d", db->depth);
        /* Its failure (hardly one) is told by the savepoint's first statement that answers. */
        rc = db->drv->queue ? db->drv->queue(db, NULL, sp, "starting a savepoint", err) : db->drv->exec(db, sp, err);
    }
    if (rc == 0) {
        if (db->depth == 0) {
            db->txn_mark++;
            db->notified = false;
            db->unordered = !ordered && db->drv->begin_unordered;
        }
        db->depth++;
    }
    return rc;
}

int sql_begin(struct sql_db *db, struct yj_err *err)
{
    return begin_writing(db, true, err);
}

int sql_begin_unordered(struct sql_db *db, struct yj_err *err)
{
    return begin_writing(db, false, err);
}

bool sql_ordered(const struct sql_db *db)
{
    return db->depth > 0 && !db->unordered;
}

int sql_commit(struct sql_db *db, struct yj_err *err)
{
    if (db->depth == 0)
        return yj_err_set(err, YJ_ESTATE, "commit without a transaction");
    int rc;
    if (db->depth == 1) {
        rc = db->drv->run(db, commit_sql, "committing", err);
        if (rc == 0 && db->drv->write_unlock)
            db->drv->write_unlock(db);
    } else {
        char sp[40];
        snprintf(sp, sizeof(sp), "RELEASE SAVEPOINT yj%d", db->depth - 1);
        /* Not sent ahead: a write queued inside the savepoint must fail here, where the caller
         * can still undo the savepoint alone, not at the outer transaction's next statement. */
        rc = db->drv->exec(db, sp, err);
    }
    if (rc == 0) {
        db->depth--;
        if (db->depth == 0)
            db->txn_mark++;
    }
    return rc;
}

uint64_t sql_txn_mark(const struct sql_db *db)
{
    return db->txn_mark;
}

int sql_depth(const struct sql_db *db)
{
    return db->depth;
}

void sql_rollback(struct sql_db *db)
{
    struct yj_err ignored;
    if (db->depth == 0) {
        if (db->reading && db->read_open)
            (void)db->drv->run(db, rollback_sql, "rolling back", &ignored);
        db->reading = db->read_open = false;
        return;
    }
    if (db->depth == 1) {
        /* After a failed COMMIT SQLite may have rolled back already: the error is moot. */
        (void)db->drv->run(db, rollback_sql, "rolling back", &ignored);
        if (db->drv->write_unlock)
            db->drv->write_unlock(db);
    } else {
        char sp[80];
        snprintf(sp, sizeof(sp), "ROLLBACK TO SAVEPOINT yj%d; RELEASE SAVEPOINT yj%d", db->depth - 1, db->depth - 1);
        (void)db->drv->exec(db, sp, &ignored);
    }
    db->depth--;
    /* What was read or sent since the savepoint may be undone with it. */
    db->txn_mark++;
    db->notified = false;
}

int sql_writable(struct sql_db *db, struct yj_err *err)
{
    if (db->depth || db->reading)
        return yj_err_set(err, YJ_ESTATE, "a write check inside a transaction");
    if (db->drv->writable) {
        struct sql_stmt *s = db->drv->prepare(db, db->drv->writable, err);
        int64_t yes = 0;
        if (!s || sql_one_int(s, "asking whether the database takes writes", &yes, err) < 0)
            return YJ_ESTORE;
        if (!yes)
            return yj_err_set(err, YJ_ESTORE, "the database is read-only (a standby, or set read-only)");
    }
    int rc = sql_begin(db, err);
    if (rc == 0) {
        /* The begin may be sent ahead: its lock is had (or not) only when it is answered. */
        rc = sql_flush(db, err);
        sql_rollback(db);
    }
    return rc;
}

static int lease_query(struct sql_db *db, const char *q, bool *yes, const char *doing, struct yj_err *err)
{
    *yes = true;
    if (!q)
        return 0;
    struct sql_stmt *s = db->drv->prepare(db, q, err);
    int64_t v = 0;
    if (!s || sql_one_int(s, doing, &v, err) < 0) {
        *yes = false;
        return YJ_ESTORE;
    }
    *yes = v != 0;
    return 0;
}

int sql_lease_try(struct sql_db *db, bool *got, struct yj_err *err)
{
    return lease_query(db, db->drv->lease_try, got, "taking the lease", err);
}

bool sql_lease_alone(const struct sql_db *db)
{
    return db->drv->lease_try == NULL;
}

int sql_lease_held(struct sql_db *db, bool *held, struct yj_err *err)
{
    return lease_query(db, db->drv->lease_held, held, "checking the lease", err);
}

void sql_lease_release(struct sql_db *db)
{
    bool ignored;
    struct yj_err e;
    (void)lease_query(db, db->drv->lease_release, &ignored, "letting the lease go", &e);
}

static int begin_reading(struct sql_db *db, const char *begin, struct yj_err *err)
{
    if (db->depth || db->reading)
        return yj_err_set(err, YJ_ESTATE, "a read begun inside a transaction");
    /* No statement: the engine's reads see what is committed statement by statement anyway, and
     * a BEGIN and ROLLBACK would be two round trips for nothing. */
    int rc = begin ? db->drv->run(db, begin, "starting a read", err) : 0;
    if (rc == 0) {
        db->reading = true;
        db->read_open = begin != NULL;
    }
    return rc;
}

bool sql_defer_checkpoints(struct sql_db *db)
{
    if (!db->drv->defer_checkpoints)
        return false;
    db->drv->defer_checkpoints(db);
    return true;
}

int sql_checkpoint(struct sql_db *db, int *frames, int *copied, struct yj_err *err)
{
    *frames = *copied = 0;
    if (db->depth || db->reading)
        return yj_err_set(err, YJ_ESTATE, "a checkpoint inside a transaction");
    return db->drv->checkpoint ? db->drv->checkpoint(db, frames, copied, err) : 0;
}

int sql_notify_events(struct sql_db *db, struct yj_err *err)
{
    /* Once a transaction: PostgreSQL sends the same notification once at commit anyway, and each
     * call is a round trip (four an incident on the detector's path). */
    if (!db->drv->notify_events || (db->depth && db->notified))
        return 0;
    struct sql_stmt *s = db->drv->prepare(db, db->drv->notify_events, err);
    if (!s)
        return YJ_ESTORE;
    int rc = sql_done_later(s, "waking the other nodes", err);
    if (rc == 0 && db->depth)
        db->notified = true;
    return rc;
}

int sql_listen_events(struct sql_db *db, struct yj_err *err)
{
    return db->drv->listen_events ? db->drv->listen_events(db, err) : 0;
}

int sql_wait_events(struct sql_db *db, int timeout_ms, bool *woken, struct yj_err *err)
{
    *woken = false;
    if (db->drv->wait_events)
        return db->drv->wait_events(db, timeout_ms, woken, err);
    usleep((useconds_t)timeout_ms * 1000);
    return 0;
}

int sql_read_begin(struct sql_db *db, struct yj_err *err)
{
    return begin_reading(db, db->drv->read_begin, err);
}

int sql_snapshot_begin(struct sql_db *db, struct yj_err *err)
{
    return begin_reading(db, db->drv->snapshot_begin, err);
}
