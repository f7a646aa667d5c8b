/* sql_driver.h: what an engine's driver provides to sql.c (not for anything outside src/store).
 * A driver's connection and statement structs begin with struct sql_db / struct sql_stmt. */
#ifndef YJ_SQL_DRIVER_H
#define YJ_SQL_DRIVER_H

#include "sql.h"

struct sql_driver {
    enum sql_engine engine;
    const char *name;
    const char *begin; /* the statement that opens a write transaction */
    int (*open)(const char *url, struct sql_db **out, struct yj_err *err);
    void (*close)(struct sql_db *db);
    int (*exec)(struct sql_db *db, const char *script, struct yj_err *err);
    struct sql_stmt *(*prepare)(struct sql_db *db, const char *sql, struct yj_err *err);
    void (*bind_int)(struct sql_stmt *s, int i, int64_t v);
    void (*bind_text)(struct sql_stmt *s, int i, const char *v);
    int (*step)(struct sql_stmt *s, const char *doing, struct yj_err *err);
    int64_t (*col_int)(struct sql_stmt *s, int col);
    const char *(*col_text)(struct sql_stmt *s, int col);
    bool (*col_null)(struct sql_stmt *s, int col);
    int (*col_count)(struct sql_stmt *s);
    int64_t (*changes)(struct sql_stmt *s);
    void (*reset)(struct sql_stmt *s);
};

struct sql_db {
    const struct sql_driver *drv;
    int depth; /* write transactions open: 0, 1 (BEGIN), more (savepoints) */
};

struct sql_stmt {
    struct sql_db *db;
};

/* Calls at() for each $N placeholder of sql (its '$'), outside quoted strings and identifiers. */
void sql_each_param(char *sql, void (*at)(char *dollar, void *ud), void *ud);

extern const struct sql_driver sql_sqlite_driver;

/* The SQLite store's connection (a sqlite3 *) seen through sql.h, so that the store's files move
 * to the engine-neutral layer one at a time while sharing one connection and its transactions.
 * sql_close frees the wrapper, not the connection. */
struct sql_db *sql_sqlite_adopt(void *db);
/* The busy handler's wait (SQLite's busy handler protocol: 0 gives up), since its first call. */
int sql_sqlite_busy(int64_t *since, int count);
extern const struct sql_driver sql_pg_driver;

#endif
