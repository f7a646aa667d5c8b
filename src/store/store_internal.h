/* store_internal.h: what the store's files (store.c, store_*.c) share — the store's connection and
 * the statements built for it. Not for anything outside src/store. */
#ifndef YJ_STORE_INTERNAL_H
#define YJ_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct yj_err;
struct sql_db;

struct store {
    struct sql_db *sql; /* the connection: SQLite or PostgreSQL */
    char *where;        /* the file, or the URL without its password, for messages */
    char *sql_insert;   /* an incident's statements, built from its column lists (store_incidents.c) */
    char *sql_update;
    char *sql_select_by_id;
    char *sql_select_by_number;
    char *sql_list[STORE_SORTS];
    const void *audit_key; /* the head's signing key, held for engine/audit.c */
    store_commit_fn before_commit; /* to run before the outermost COMMIT (store_before_commit) */
    /* The audit head as this transaction left it, while sql_txn_mark stays at mark: a transaction
     * appending rows reads it once, not once per row and again to sign it. */
    struct {
        bool valid;
        uint64_t mark;
        int64_t last_id;
        char hash[65], signature[129];
    } head;
    /* Fingerprints this write transaction found no open incident for, while sql_txn_mark stays at
     * mark: no other writer can open one meanwhile (they wait for the write lock), and any incident
     * this connection writes forgets them. The detector asks once per matching signal, so on
     * PostgreSQL this saves a round trip for each signal before a threshold is reached. */
    struct {
        uint64_t mark;
        char **fingerprints;
        size_t n;
    } none_open;
};

/* Forgets what store_incident_open_by_fingerprint found no open incident for (an incident written). */
void store_forget_none_open(struct store *st);

/* Refuses a write that must hold the write lock (the audit chain, the events) inside a transaction
 * begun without it (store_begin_unordered): a mistake in the caller, never the data's. */
int store_need_order(struct store *st, const char *doing, struct yj_err *err);

/* Builds the incident statements of st (store_incidents.c). */
void store_incident_sql(struct store *st);
/* Sets one column of an incident's open deadline of that kind: sql has $1 = value, $2 = the
 * incident, $3 = the kind (deadlines and the clock). */
int deadline_set(struct store *st, const char *sql, int64_t incident_id, const char *kind, int64_t value,
                 const char *doing, struct yj_err *err);

#endif
