/* sqlite_internal.h: what the files of the SQLite store (sqlite.c, sqlite_*.c) share — the
 * connection with its statement cache, and the helpers that run a statement and say what failed.
 * Not for anything outside src/store. */
#ifndef YJ_SQLITE_INTERNAL_H
#define YJ_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

#define STMT_CACHE 128

struct sql_db;

struct store {
    sqlite3 *db;
    struct sql_db *sql; /* the same connection through sql.h, for the files already moved to it */
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

/* The statement for sql from the connection's cache (prepared on first use), reset; NULL and err set
 * on failure. */
sqlite3_stmt *stmt(struct store *st, const char *sql, struct yj_err *err);
/* An SQLite failure as a message that says what the operator can do about it. */
int sql_fail(struct store *st, int rc, const char *doing, struct yj_err *err);
/* Binds v as text, or NULL. */
void bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column i as a malloc'd string, or NULL. */
char *col_text(sqlite3_stmt *s, int i);
/* Steps a statement that returns no row, resets it. */
int step_done(struct store *st, sqlite3_stmt *s, const char *doing, struct yj_err *err);
/* The same for an INSERT, with the new row's id. */
int step_insert(struct store *st, sqlite3_stmt *s, const char *doing, int64_t *id, struct yj_err *err);
/* A query of one integer, with one optional text parameter. */
int query_int(struct store *st, const char *sql, const char *param, int64_t *out, const char *doing,
              struct yj_err *err);
/* UPDATE/DELETE ... WHERE id = ? with an optional leading integer parameter. */
int write_by_id(struct store *st, const char *sql, int64_t id, const int64_t *value, const char *doing,
                int64_t *changes, struct yj_err *err);
/* Rows of a cached query with ?1 = arg, ?2 = max and ?3 = text (when not NULL), each read into out. */
int select_rows_of(struct store *st, const char *sql, const char *text, int64_t arg, void *out, size_t row_size,
                   size_t max, size_t *n, void (*read)(sqlite3_stmt *, void *), const char *doing,
                   struct yj_err *err);
int select_rows(struct store *st, const char *sql, int64_t arg, void *out, size_t row_size, size_t max, size_t *n,
                void (*read)(sqlite3_stmt *, void *), const char *doing, struct yj_err *err);
/* Sets one column of an incident's deadline of that kind (deadlines and the clock). */
int deadline_set(struct store *st, const char *sql, int64_t incident_id, const char *kind, int64_t value,
                        const char *doing, struct yj_err *err);

#endif
