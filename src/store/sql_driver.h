/* sql_driver.h: what an engine's driver provides to sql.c (not for anything outside src/store).
 * A driver's connection and statement structs begin with struct sql_db / struct sql_stmt. */
#ifndef YJ_SQL_DRIVER_H
#define YJ_SQL_DRIVER_H

#include "sql.h"

struct sql_driver {
    enum sql_engine engine;
    const char *name;
    const char *begin;      /* the statement that opens a write transaction */
    /* ... and one without the store's write lock (sql_begin_unordered); NULL: begin's. */
    const char *begin_unordered;
    const char *read_begin; /* and the one that opens a read; NULL: reads need none */
    const char *snapshot_begin; /* a read of one state however long it runs (a copy) */
    const char *lock_schema; /* run first in a migration's transaction; NULL when begin locks enough */
    const char *writable;    /* a query of 1 when the database takes writes (not a standby); NULL: none */
    /* The work lease (store_lease.c): queries of 1 when taken / still held, and its release; NULL
     * where one process is all there is (SQLite: the data directory's lock). */
    const char *lease_try, *lease_held, *lease_release;
    /* Live events (several nodes): a query that wakes every listener when the transaction commits,
     * and the listening side; NULL where one process is all there is. */
    const char *notify_events;
    int (*listen_events)(struct sql_db *db, struct yj_err *err);
    int (*wait_events)(struct sql_db *db, int timeout_ms, bool *woken, struct yj_err *err);
    /* Around the outermost write transaction, before its begin and after its end: a lock the
     * engine's own does not give in turn (SQLite's writers of one process); NULL: none. */
    int (*write_lock)(struct sql_db *db, struct yj_err *err);
    void (*write_unlock)(struct sql_db *db);
    /* Copying a write-ahead log back into the database (SQLite's checkpoint): deferred takes it
     * away from the connection's commits, checkpoint does it now; NULL where the engine's own
     * server does it (PostgreSQL). */
    void (*defer_checkpoints)(struct sql_db *db);
    int (*checkpoint)(struct sql_db *db, int *frames, int *copied, struct yj_err *err);
    int (*open)(const char *url, const char *password, struct sql_db **out, struct yj_err *err);
    void (*close)(struct sql_db *db);
    int (*exec)(struct sql_db *db, const char *script, struct yj_err *err);
    /* One statement without parameters or rows whose text is a constant (BEGIN, COMMIT,
     * ROLLBACK): SQLite keeps it compiled, which showed in the read path's profiles. */
    int (*run)(struct sql_db *db, const char *constant, const char *doing, struct yj_err *err);
    struct sql_stmt *(*prepare)(struct sql_db *db, const char *sql, struct yj_err *err);
    void (*bind_int)(struct sql_stmt *s, int i, int64_t v);
    void (*bind_text)(struct sql_stmt *s, int i, const char *v);
    int (*step)(struct sql_stmt *s, const char *doing, struct yj_err *err);
    int64_t (*col_int)(struct sql_stmt *s, int col);
    const char *(*col_text)(struct sql_stmt *s, int col);
    bool (*col_null)(struct sql_stmt *s, int col);
    int (*col_count)(struct sql_stmt *s);
    const char *(*col_name)(struct sql_stmt *s, int col);
    /* After rows were written with their own ids: new rows' ids continue after them (PostgreSQL
     * moves the identity's sequence; SQLite's rowid does it by itself). */
    int (*ids_follow)(struct sql_db *db, const char *table, struct yj_err *err);
    int64_t (*changes)(struct sql_stmt *s);
    void (*reset)(struct sql_stmt *s);
    /* Runs n prepared and bound statements sent together, their rows to fn in order: one round
     * trip for all (PostgreSQL's pipeline); NULL: sql.c steps them one after the other. */
    int (*each_rows)(struct sql_db *db, struct sql_stmt *const *stmts, size_t n, sql_values_fn fn, void *ud,
                     const char *doing, struct yj_err *err);
    /* Sends a prepared and bound statement s, or a command text without parameters, without
     * waiting for its answer (inside a write transaction): read, and a failure told, with the next
     * command that needs one, the commit at the latest; NULL: sql.c runs it at once. */
    int (*queue)(struct sql_db *db, struct sql_stmt *s, const char *text, const char *doing, struct yj_err *err);
    int (*flush)(struct sql_db *db, struct yj_err *err); /* the queued writes' answers, now */
    /* Drops the cached statement of sql (a text about to be freed); nothing when none. */
    void (*forget)(struct sql_db *db, const char *sql);
};

struct sql_db {
    const struct sql_driver *drv;
    int depth;    /* write transactions open: 0, 1 (BEGIN), more (savepoints) */
    bool reading;   /* inside sql_read_begin's transaction */
    bool read_open; /* ... and the engine has a transaction open for it */
    uint64_t txn_mark; /* moves at every outermost begin and commit and every rollback (sql_txn_mark) */
    bool notified;     /* the other nodes' wake-up is already in this transaction */
    bool unordered;    /* the transaction open was begun by sql_begin_unordered without the lock */
};

struct sql_stmt {
    struct sql_db *db;
};

/* Calls at() for each $N placeholder of sql (its '$'), outside quoted strings and identifiers. */
void sql_each_param(char *sql, void (*at)(char *dollar, void *ud), void *ud);

extern const struct sql_driver sql_sqlite_driver;

/* The sqlite3 * of an SQLite connection (NULL for another engine): for what only SQLite has, the
 * online backup. */
void *sql_sqlite_handle(struct sql_db *db);
/* The busy handler's wait (SQLite's busy handler protocol: 0 gives up), since its first call. */
int sql_sqlite_busy(int64_t *since, int count);
extern const struct sql_driver sql_pg_driver;
/* postgresql://USER@HOST:PORT/DB of a libpq URI, from its parsed parts only (sql_describe). */
char *sql_pg_describe(const char *url);

#endif
