/* sql.h: one SQL interface over two engines — SQLite (sql_sqlite.c) and PostgreSQL (sql_pg.c, over
 * libpq) — for the store's files (issue 16). Their SQL is written once, with $1, $2, ...
 * placeholders, integers for times (UTC ms) and flags, text for the rest; what the engines do
 * differently stays in the drivers: placeholder syntax, statement preparation and caching, how a
 * write transaction takes its lock, how a failure reads (a unique violation is YJ_ECONFLICT on both,
 * a lost connection or a busy database YJ_ESTORE with what to do about it).
 * Models: Dovecot's lib-sql (one sql_db API, a driver per engine), PowerDNS's generic SQL backend. */
#ifndef YJ_SQL_H
#define YJ_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

enum sql_engine { SQL_SQLITE = 1, SQL_POSTGRES = 2 };

struct sql_db;   /* one connection; used by one thread at a time */
struct sql_stmt; /* a prepared statement of that connection */

/* Opens "sqlite:PATH" (the file is made when missing, its directory must exist) or a libpq URI
 * "postgresql://..." (also "postgres://..."): the password is password when not NULL, else the
 * URI's, PGPASSWORD's or ~/.pgpass's; never printed. */
int sql_open(const char *url, const char *password, struct sql_db **out, struct yj_err *err);
void sql_close(struct sql_db *db);
enum sql_engine sql_engine_of(const struct sql_db *db);
/* "sqlite" or "postgresql", for messages and metrics. */
const char *sql_engine_name(const struct sql_db *db);

/* Runs a script of statements without parameters (migrations). */
int sql_exec(struct sql_db *db, const char *script, struct yj_err *err);
/* In a write transaction: waits until no other process is changing the schema (PostgreSQL: an
 * advisory lock until the transaction ends; SQLite: the write lock sql_begin took already). */
int sql_lock_schema(struct sql_db *db, struct yj_err *err);

/* The statement for sql, prepared on first use and kept by the connection (sql is compared by
 * pointer: pass string constants), reset and unbound; NULL with err set on failure. */
struct sql_stmt *sql_prepare(struct sql_db *db, const char *sql, struct yj_err *err);
/* Drops the statement prepared for sql, whose text the caller is about to free (a statement built
 * at run time: the cache knows statements by their text's address). */
void sql_forget(struct sql_db *db, const char *sql);
/* The store a URL names, for messages: the file, or postgresql://USER@HOST:PORT/DB with nothing
 * else (no password, no parameters); malloc'd. */
char *sql_describe(const char *url);
/* Parameters count from 1, as $1. */
void sql_bind_int(struct sql_stmt *s, int i, int64_t v);
void sql_bind_text(struct sql_stmt *s, int i, const char *v); /* NULL binds NULL */
void sql_bind_null(struct sql_stmt *s, int i);
/* v, or NULL when v is 0 (a time that has not happened, an id there is none of). */
void sql_bind_int_or_null(struct sql_stmt *s, int i, int64_t v);

enum { SQL_DONE = 0, SQL_ROW = 1 };
/* Runs the statement (on its first step) and moves to its next row: SQL_ROW, SQL_DONE, or a
 * YJ_E* code with err saying what `doing` failed and why. */
int sql_step(struct sql_stmt *s, const char *doing, struct yj_err *err);
/* Columns of the current row, counting from 0. Text stays valid until the next step or reset. */
int64_t sql_col_int(struct sql_stmt *s, int col);
const char *sql_col_text(struct sql_stmt *s, int col); /* NULL for NULL */
bool sql_col_null(struct sql_stmt *s, int col);
/* How many columns the statement's rows have, and their names (after the first step). */
int sql_col_count(struct sql_stmt *s);
const char *sql_col_name(struct sql_stmt *s, int col);
/* After rows of table were written with their own ids (a copy): new ids continue after them. */
int sql_ids_follow(struct sql_db *db, const char *table, struct yj_err *err);
/* Rows the last INSERT, UPDATE or DELETE of this statement changed. */
int64_t sql_changes(struct sql_stmt *s);
/* Ends the statement's run (its rows are dropped) and keeps it prepared. */
void sql_reset(struct sql_stmt *s);

/* Steps a statement that returns no row and resets it: 0 or the failure. */
int sql_done(struct sql_stmt *s, const char *doing, struct yj_err *err);
/* sql_done for a write whose answer nobody reads (no RETURNING, no count of rows changed): inside
 * a write transaction PostgreSQL gets it without a round trip of its own, and its failure is
 * told by the transaction's next statement that answers, its savepoint's release or its commit
 * at the latest (the transaction fails either way: nothing half-applied). Outside one, and on
 * SQLite, it is sql_done. */
int sql_done_later(struct sql_stmt *s, const char *doing, struct yj_err *err);
/* The answers of the writes sql_done_later sent ahead, now: 0, or the first one's failure. */
int sql_flush(struct sql_db *db, struct yj_err *err);
/* Reads up to max rows into out (row_size bytes each, by read) and resets: *n rows. */
int sql_rows(struct sql_stmt *s, void *out, size_t row_size, size_t max, size_t *n,
             void (*read)(struct sql_stmt *, void *), const char *doing, struct yj_err *err);
/* A row's values as text (NULL for NULL) with their lengths. */
typedef void (*sql_values_fn)(const char *const *values, const size_t *lens, size_t n, void *ud);
/* The n statements sqls, each with $1 = arg, run in order and every row given to fn: several
 * reads of one thing in one round trip where the engine can (PostgreSQL). At most 64 columns. */
int sql_rows_many(struct sql_db *db, const char *const *sqls, size_t n, int64_t arg, sql_values_fn fn, void *ud,
                  const char *doing, struct yj_err *err);
/* The usual page: sql with $1 = arg and $2 = max (its LIMIT), prepared, run and read into out as
 * sql_rows does. */
int sql_rows_of(struct sql_db *db, const char *sql, int64_t arg, void *out, size_t row_size, size_t max, size_t *n,
                void (*read)(struct sql_stmt *, void *), const char *doing, struct yj_err *err);
/* Steps an INSERT ... RETURNING id and resets it: the new row's id in *id. */
int sql_insert_id(struct sql_stmt *s, const char *doing, int64_t *id, struct yj_err *err);
/* Steps a query of one integer (its parameters bound) and resets it: *out, or YJ_ENOTFOUND when
 * there is no row. */
int sql_one_int(struct sql_stmt *s, const char *doing, int64_t *out, struct yj_err *err);
/* Column col of the current row as a malloc'd string, or NULL. */
char *sql_col_dup(struct sql_stmt *s, int col);

/* Write transactions: sql_begin takes the write lock at once (SQLite: BEGIN IMMEDIATE, waiting
 * for another writer up to a bound; PostgreSQL: BEGIN, rows locked as they are written). */
int sql_begin(struct sql_db *db, struct yj_err *err);
int sql_commit(struct sql_db *db, struct yj_err *err);
/* A write transaction that does not wait for the store's write lock where the engine lets writers
 * run side by side (PostgreSQL; SQLite's writers go one at a time anyway): for rows nobody reads
 * in the order of their ids and that neither extend the audit chain nor number anything (a batch
 * of signals). Nested transactions inside it are savepoints of it, unordered too. */
int sql_begin_unordered(struct sql_db *db, struct yj_err *err);
/* True inside a write transaction holding the write lock: the audit chain and the events, whose
 * readers follow ids, are written only so. */
bool sql_ordered(const struct sql_db *db);
/* How many write transactions are open on db: 0 outside, 1 in the outermost, more in savepoints. */
int sql_depth(const struct sql_db *db);
/* A number that stays the same while what this connection's transaction has written stays: it
 * moves when a transaction begins or commits and at every rollback (a savepoint's too). What was
 * read inside a transaction may be kept while it stays the same (the audit head, store_audit.c). */
uint64_t sql_txn_mark(const struct sql_db *db);
/* 0 when a write could be made now: the database is reachable and not read-only, and the write
 * lock can be taken (a transaction begun and rolled back); else why not. Outside transactions. */
int sql_writable(struct sql_db *db, struct yj_err *err);
/* The work lease's lock on this connection (store_lease.c): taken if free (*got), still held
 * (*held), let go. Where the engine has one process only, it is always taken and held. */
int sql_lease_try(struct sql_db *db, bool *got, struct yj_err *err);
/* True when the engine has no other process to share a lease with (SQLite). */
bool sql_lease_alone(const struct sql_db *db);
int sql_lease_held(struct sql_db *db, bool *held, struct yj_err *err);
void sql_lease_release(struct sql_db *db);
/* Live events across processes: sql_notify_events (inside the transaction that wrote an event)
 * wakes every connection that sql_listen_events'd when it commits; sql_wait_events waits up to
 * timeout_ms for such a wake-up (*woken). Where there is one process (SQLite) notify does nothing
 * and wait only waits. */
int sql_notify_events(struct sql_db *db, struct yj_err *err);
int sql_listen_events(struct sql_db *db, struct yj_err *err);
int sql_wait_events(struct sql_db *db, int timeout_ms, bool *woken, struct yj_err *err);
/* The write-ahead log's checkpoints (SQLite; nothing elsewhere). By default the commit that
 * finds the log past 1,000 pages copies it back into the database file and syncs it — tens to
 * hundreds of milliseconds on whichever thread made that commit. A process with latency to keep
 * defers them on its connections (false: the engine has none) and runs sql_checkpoint from one
 * thread of its own: *frames in the log, *copied of them now in the database (passive: never
 * waits for a reader or a writer). */
bool sql_defer_checkpoints(struct sql_db *db);
int sql_checkpoint(struct sql_db *db, int *frames, int *copied, struct yj_err *err);
/* Undoes the innermost write transaction, or ends the read sql_read_begin opened. */
void sql_rollback(struct sql_db *db);
/* A read of several statements (SQLite: one snapshot, its locks taken once; PostgreSQL: no
 * transaction at all — READ COMMITTED would give each statement its own snapshot anyway, and a
 * session's touch written meanwhile never fails to serialise).
 * Ended by sql_rollback; a write transaction may not be begun inside it. */
int sql_read_begin(struct sql_db *db, struct yj_err *err);
/* A read that sees one state however long it takes (PostgreSQL: REPEATABLE READ, READ ONLY): for a
 * copy of the whole store. Ended by sql_rollback. */
int sql_snapshot_begin(struct sql_db *db, struct yj_err *err);

#endif
