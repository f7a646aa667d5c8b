/* store.h: the only interface to persistent state. The rest of the program sees rows as plain
 * structs and never SQL; behind the same functions the store is an embedded SQLite file or a
 * PostgreSQL database (store.c opens either; the SQL of each concern is in its store_*.c). Every write happens inside store_begin/store_commit
 * so that a failure (disk full, read-only) leaves the store as it was. */
#ifndef YJ_STORE_H
#define YJ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;
struct store;

/* Text columns of an incident, in one list so SQL, copying and freeing never drift apart.
 * X(member, column). */
#define STORE_INCIDENT_TEXT(X)                                                                           \
    X(number, "number")                                                                                  \
    X(title, "title")                                                                                    \
    X(type, "type")                                                                                      \
    X(class_id, "class")                                                                                 \
    X(level, "level")                                                                                    \
    X(gbt_category, "gbt_category")                                                                      \
    X(gbt_subcategory, "gbt_subcategory")                                                                \
    X(status, "status")                                                                                  \
    X(unit, "unit")                                                                                      \
    X(reporter, "reporter")                                                                              \
    X(assets, "assets")                                                                                  \
    X(source, "source")                                                                                  \
    X(scope, "scope")                                                                                    \
    X(nature, "nature")                                                                                  \
    X(trend, "trend")                                                                                    \
    X(measures, "measures")                                                                              \
    X(activated_by, "activated_by")                                                                      \
    X(activation_reason, "activation_reason")                                                            \
    X(cause, "cause")                                                                                    \
    X(loss, "loss")                                                                                      \
    X(lessons, "lessons")                                                                                \
    X(clues, "clues")                                                                                    \
    X(support, "support")                                                                                \
    X(scene, "scene")                                                                                    \
    X(dismiss_reason, "dismiss_reason")                                                                  \
    X(fingerprint, "fingerprint")                                                                        \
    X(names, "names") /* JSON: the names in the plan it was made or last changed with */              \
    X(assignee, "assignee") /* the account it is given to, NULL for nobody yet */

/* Integer columns (times are UTC ms, 0 = not yet). X(member, column). */
#define STORE_INCIDENT_INT(X)                                                                            \
    X(year, "year")                                                                                      \
    X(seq, "seq")                                                                                        \
    X(national_level, "national_level")                                                                  \
    X(drill, "drill")                                                                                    \
    X(occurred_at, "occurred_at")                                                                        \
    X(detected_at, "detected_at")                                                                        \
    X(reported_at, "reported_at")                                                                        \
    X(acknowledged_at, "acknowledged_at")                                                                \
    X(assessed_at, "assessed_at")                                                                        \
    X(activated_at, "activated_at")                                                                      \
    X(contained_at, "contained_at")                                                                      \
    X(recovered_at, "recovered_at")                                                                      \
    X(closed_at, "closed_at")                                                                            \
    X(updated_at, "updated_at")                                                                          \
    X(version, "version")                                                                                \
    X(signal_count, "signal_count")                                                                      \
    X(last_signal_at, "last_signal_at")

struct store_incident {
    int64_t id;
#define X(m, c) char *m;
    STORE_INCIDENT_TEXT(X)
#undef X
#define X(m, c) int64_t m;
    STORE_INCIDENT_INT(X)
#undef X
};

/* Frees the strings of an incident (not the struct) and zeroes it. */
void store_incident_release(struct store_incident *inc);
/* Deep copy; release dst with store_incident_release. */
void store_incident_copy(struct store_incident *dst, const struct store_incident *src);

struct store_deadline {
    int64_t id;
    int64_t incident_id;
    char kind[32];
    int64_t due_at;
    int64_t met_at;     /* 0 = open; else when it was settled */
    int64_t overdue_at; /* when the clock found it passed unmet; 0 = not (yet) */
    char outcome[8];    /* "" open, met, waived, missed */
    char waived_by[160];
    char waive_reason[512];
};

struct store_timeline_entry {
    int64_t id;
    int64_t incident_id;
    int64_t at;
    const char *actor;
    const char *kind;
    const char *body; /* JSON object */
};

struct store_audit_row {
    int64_t id;
    int64_t at;
    const char *actor;
    const char *action;
    const char *object;
    const char *detail;
    const char *state;  /* "v1:HEX": the incident's rows after the change; NULL for other objects */
    char prev_hash[65]; /* hex BLAKE2b-256 */
    char hash[65];
};

enum store_sort {
    STORE_SORT_NEWEST = 0, /* reported, newest first (default) */
    STORE_SORT_OLDEST,     /* reported, oldest first */
    STORE_SORT_UPDATED,    /* most recently changed first */
    STORE_SORT_SEVERITY,   /* national level I first, then oldest first */
    STORE_SORTS            /* how many orders there are */
};

struct store_incident_filter {
    const char *status; /* NULL = any; "open": any but closed and dismissed */
    const char *unit;
    const char *type;
    const char *level;
    const char *text; /* substring of title, number, source or scope */
    const char *assignee; /* the account it is given to */
    int64_t reported_from, reported_to; /* reported_at in [from, to), UTC ms; 0 = open-ended */
    int drill;        /* -1 any, 0 real only, 1 drills only */
    /* Visibility for a unit's informant: only incidents of this unit or reported by this actor. */
    const char *visible_unit;
    const char *visible_reporter;
    enum store_sort sort;
    /* Keyset cursor: continue after the row with this sort key and id (when has_cursor). */
    bool has_cursor;
    int64_t cursor_key;
    int64_t cursor_id;
    int limit; /* 0 = no limit */
};

/* The sort key of an incident under a sort order (for building the next cursor). */
int64_t store_incident_sort_key(const struct store_incident *inc, enum store_sort sort);
/* Number of incidents with that status (drill: -1 any, 0 real, 1 drills). */
int store_incident_count(struct store *st, const char *status, int drill, int64_t *n, struct yj_err *err);
/* Incidents reported in [from, to) (drills left out), by national level: counts[1..4]; unit (may be
 * NULL) limits them to one unit's, reporter (may be NULL) adds that reporter's own. */
int store_incident_count_levels(struct store *st, int64_t from, int64_t to, const char *unit, const char *reporter,
                                int64_t counts[5], struct yj_err *err);

/* Opens the store at url: "sqlite:PATH" (the file and its directory made when missing) or a libpq
 * URI "postgresql://USER@HOST:PORT/DB?..." (password: the one given, else PGPASSWORD or
 * ~/.pgpass; never printed). Does not migrate. Free with store_free. YJ_EIO when the file or its
 * directory cannot be made or written, YJ_ESTORE when the database cannot be reached. */
int store_open(const char *url, const char *password, struct store **out, struct yj_err *err);
/* The default store of a data directory, "sqlite:DIR/yingji.db" (malloc'd). */
char *store_url_of_dir(const char *data_dir);
/* "sqlite" or "postgresql". */
const char *store_engine(const struct store *st);
void store_free(struct store *st);

/* Applies the pending migrations of the store's engine, all in one transaction; *applied (may be
 * NULL) counts them. */
int store_migrate(struct store *st, int *applied, struct yj_err *err);
/* Highest applied migration, and the highest this build knows. */
int store_schema_version(struct store *st, int *current, int *latest, struct yj_err *err);

/* Write transactions. store_begin takes the write lock at once; called again inside one it opens
 * a savepoint, which store_commit releases and store_rollback undoes alone. */
int store_begin(struct store *st, struct yj_err *err);
/* One that lets other writers run beside it on PostgreSQL (sql_begin_unordered): for signals
 * stored as they arrive, while the detector's incidents hold the lock. It refuses audit rows and
 * events (YJ_ESTATE). */
int store_begin_unordered(struct store *st, struct yj_err *err);
int store_commit(struct store *st, struct yj_err *err);
/* A read-only snapshot: every read until store_commit/store_rollback sees the same state and
 * takes the file locks once instead of once per statement. */
int store_read_begin(struct store *st, struct yj_err *err);
void store_rollback(struct store *st);

/* The lease on the work that must happen once among the nodes sharing a store (the clock, the
 * outbox, actions, the scheduled watchers), on a connection of its own. store_lease_poll takes it
 * when free and keeps it while held, once a second: *held whether this process holds it now,
 * *token the take-over count (fencing). On SQLite it is held from the first poll. */
struct store_lease;
int store_lease_open(const char *url, const char *password, const char *holder, struct store_lease **out,
                     struct yj_err *err);
int store_lease_poll(struct store_lease *l, int64_t now, bool *held, int64_t *token, struct yj_err *err);
void store_lease_free(struct store_lease *l);
/* Whether other processes may share the store (PostgreSQL): then the lease is contested, events
 * travel between nodes and signals a dead node left are someone's to process. */
bool store_lease_shared(const struct store_lease *l);

/* 0 when the store takes writes now (a write transaction begun and rolled back; PostgreSQL also
 * not a standby), else why not: what /healthz answers. */
int store_writable(struct store *st, struct yj_err *err);

/* The write-ahead log's checkpoints taken off this connection's commits (see sql.h); false when
 * the engine has none to take (PostgreSQL), so no thread need run store_checkpoint. */
bool store_defer_checkpoints(struct store *st);
/* Copies what the log holds back into the store, waiting for nobody: *frames in the log, *copied
 * of them now in the store. */
int store_checkpoint(struct store *st, int *frames, int *copied, struct yj_err *err);

/* Consistent copy of the whole store to path while it may be in use (SQLite's online backup; a
 * PostgreSQL store says to use pg_dump). */
int store_backup(struct store *st, const char *path, struct yj_err *err);

/* Copies every row of from into to, a new, empty store at the same schema version (any engine
 * to any), in one transaction on to; cb (may be NULL) hears each table's row count. */
typedef void (*store_copy_cb)(const char *table, int64_t rows, void *ud);
/* What store_copy checks first (same schema version, an empty target), for a caller that records
 * the copy before making it. */
int store_copy_check(struct store *from, struct store *to, struct yj_err *err);
int store_copy(struct store *from, struct store *to, store_copy_cb cb, void *ud, struct yj_err *err);

/* The database file, or the URL without its password, for messages. */
const char *store_path(const struct store *st);

/* Incidents. */
int store_incident_next_seq(struct store *st, int64_t year, int64_t *seq, struct yj_err *err);
/* Inserts inc (id ignored) and writes the new id into inc->id. */
int store_incident_insert(struct store *st, struct store_incident *inc, struct yj_err *err);
/* Updates every column where id = inc->id and version = expected_version, then bumps the
 * version (inc->version is set to the new one). YJ_ESTATE when the version moved on. */
/* Counts one more signal on incident id (inside the caller's transaction) without changing its
 * version, so machine signals never conflict with a person's edit: signal_count + 1,
 * last_signal_at raised to signal_at, updated_at set to touched_at unless that is 0. *count is
 * the new signal_count. */
int store_incident_add_signal(struct store *st, int64_t id, int64_t signal_at, int64_t touched_at, int64_t *count,
                              struct yj_err *err);
int store_incident_update(struct store *st, struct store_incident *inc, int64_t expected_version,
                          struct yj_err *err);
/* By id, or by number when id is 0. YJ_ENOTFOUND when absent. */
int store_incident_get(struct store *st, int64_t id, const char *number, struct store_incident *out,
                       struct yj_err *err);
typedef int (*store_incident_cb)(const struct store_incident *inc, void *ud);
/* Newest first; stops early when cb returns non-zero. */
int store_incident_list(struct store *st, const struct store_incident_filter *f, store_incident_cb cb, void *ud,
                        struct yj_err *err);

/* Deadlines. */
int store_deadline_insert(struct store *st, const struct store_deadline *d, struct yj_err *err);
/* Marks the open deadline of that kind met; no-op when there is none or it is already met. */
int store_deadline_meet(struct store *st, int64_t incident_id, const char *kind, int64_t at, struct yj_err *err);
/* Settles the open deadline of that kind (any kind when NULL) as waived, by whom and why. */
int store_deadline_waive(struct store *st, int64_t incident_id, const char *kind, int64_t at, const char *by,
                         const char *reason, struct yj_err *err);
/* Settles every open deadline of an incident that ends: missed when past due, else waived. */
int store_deadline_settle(struct store *st, int64_t incident_id, int64_t at, const char *by, const char *reason,
                          struct yj_err *err);
/* Moves the due time of an open deadline (after a level change). */
int store_deadline_reschedule(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                              struct yj_err *err);
/* Sets a deadline due at due_at and open again (met and overdue cleared), making it when missing;
 * a finished escalation of it is forgotten so that it can escalate again (补报 rounds). */
int store_deadline_reopen(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                          struct yj_err *err);
/* Up to max deadlines of an incident in due order into out; *n gets the count. */
int store_deadline_list(struct store *st, int64_t incident_id, struct store_deadline *out, size_t max, size_t *n,
                        struct yj_err *err);

/* Timeline (append-only). */
int store_timeline_append(struct store *st, int64_t incident_id, int64_t at, const char *actor, const char *kind,
                          const char *body_json, struct yj_err *err);
typedef int (*store_timeline_cb)(const struct store_timeline_entry *e, void *ud);
int store_timeline_list(struct store *st, int64_t incident_id, store_timeline_cb cb, void *ud, struct yj_err *err);

/* Audit chain storage; the hashing and signing live in engine/audit.c. */
/* Last row's id, hash and the head's signature (hex, "" when unsigned; signature may be NULL) as
 * recorded in the head; id 0 and "" when empty. */
int store_audit_head(struct store *st, int64_t *last_id, char hash[65], char signature[129], struct yj_err *err);
/* Inserts row (row->id is the id to use) and moves the head to it, with its signature (or NULL). */
int store_audit_insert(struct store *st, const struct store_audit_row *row, const char *signature,
                       struct yj_err *err);
typedef int (*store_audit_cb)(const struct store_audit_row *row, void *ud);
/* Rows after id `after` in id order; stops early when cb returns non-zero. */
int store_audit_foreach(struct store *st, int64_t after, store_audit_cb cb, void *ud, struct yj_err *err);
/* At most limit rows after id `after`, in id order. */
int store_audit_page(struct store *st, int64_t after, int limit, store_audit_cb cb, void *ud, struct yj_err *err);
int store_audit_count(struct store *st, int64_t *n, struct yj_err *err);
/* The signing key of the audit head (engine/audit.c's; the store only holds it for the
 * connection, so every writer signs with it). NULL: heads are written unsigned. */
void store_set_audit_key(struct store *st, const void *key);
/* Asks for fn to run once just before the outermost open transaction commits, after every write
 * of it (a failure rolls the whole transaction back); forgotten when the transaction ends either
 * way. The audit chain signs its head there: once a transaction instead of once a row. Outside a
 * transaction, fn runs at once. */
typedef int (*store_commit_fn)(struct store *st, struct yj_err *err);
int store_before_commit(struct store *st, store_commit_fn fn, struct yj_err *err);
/* Signs the audit head if it is still row last_id (engine/audit.c, before a commit). */
int store_audit_sign_head(struct store *st, int64_t last_id, const char *signature, struct yj_err *err);
const void *store_audit_key(const struct store *st);

/* The rows an incident's audit state covers (its own row, deadlines, tasks, timeline,
 * attachments), in a fixed order and, per state version, fixed columns: cb gets each row's
 * values as text (NULL for SQL NULL) with their lengths. */
typedef void (*store_values_cb)(const char *const *values, const size_t *lens, size_t n, void *ud);
int store_incident_rows(struct store *st, int64_t incident_id, int version, store_values_cb cb, void *ud,
                        struct yj_err *err);
/* Every incident's id and number, in id order; stops early when cb returns non-zero. */
typedef int (*store_id_cb)(int64_t id, const char *number, void *ud);
int store_incident_ids(struct store *st, store_id_cb cb, void *ud, struct yj_err *err);

/* ---- users, sessions, tokens, login throttling (the server) ---- */

struct store_user {
    int64_t id;
    char *name;
    char *role; /* admin leader responder officer duty auditor */
    char *unit; /* plan unit id, NULL for none */
    char *password_hash; /* argon2id string */
    int64_t must_change;
    int64_t disabled;
    int64_t created_at;
    int64_t updated_at;
    char *person; /* the plan person the account is (person id), NULL for none */
};
void store_user_release(struct store_user *u);
/* Inserts u and sets u->id; YJ_ECONFLICT when the name is taken. */
int store_user_insert(struct store *st, struct store_user *u, struct yj_err *err);
/* By id, or by name when id is 0; YJ_ENOTFOUND when absent. */
int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out, struct yj_err *err);
/* Writes role, unit, password_hash, must_change, disabled, updated_at, person of u->id. */
int store_user_update(struct store *st, const struct store_user *u, struct yj_err *err);
typedef int (*store_user_cb)(const struct store_user *u, void *ud);
int store_user_list(struct store *st, store_user_cb cb, void *ud, struct yj_err *err);
int store_user_count(struct store *st, int64_t *n, struct yj_err *err);

/* ---- one-time acknowledgement links ---- */

/* Keeps the hash of a link made for recipient ("person:ID") to acknowledge incident_id. */
int store_ack_link_insert(struct store *st, const char *token_hash, int64_t incident_id, const char *recipient,
                          int64_t created_at, int64_t expires_at, struct yj_err *err);
/* The link, if unused and unexpired at now: its incident and recipient (recipient_size bytes).
 * YJ_ENOTFOUND otherwise. Does not use it up. */
int store_ack_link_get(struct store *st, const char *token_hash, int64_t now, int64_t *incident_id, char *recipient,
                       size_t recipient_size, struct yj_err *err);
/* Uses the link up (inside the caller's transaction): YJ_ENOTFOUND when it was used meanwhile. */
int store_ack_link_use(struct store *st, const char *token_hash, int64_t now, struct yj_err *err);

/* ---- which plan the data were made with ---- */

struct store_plan_identity {
    char plan_id[128];
    char name[256];
    int64_t since;
};
/* YJ_ENOTFOUND when none is recorded yet (data made before 0019, or a new store). */
int store_plan_identity_get(struct store *st, struct store_plan_identity *out, struct yj_err *err);
int store_plan_identity_set(struct store *st, const char *plan_id, const char *name, int64_t since,
                            struct yj_err *err);

struct store_session {
    int64_t id;
    int64_t user_id;
    char token_hash[65];
    char csrf[65];
    int64_t created_at;
    int64_t last_seen;
    int64_t expires_at; /* absolute expiry */
};
int store_session_insert(struct store *st, struct store_session *s, struct yj_err *err);
int store_session_find(struct store *st, const char *token_hash, struct store_session *out, struct yj_err *err);
/* The session and its user in one read (every authenticated request does this). */
int store_session_user(struct store *st, const char *token_hash, struct store_session *s, struct store_user *u,
                       struct yj_err *err);
int store_session_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err);
int store_session_delete(struct store *st, int64_t id, struct yj_err *err);
/* Ends every session of a user (password change, disable). */
int store_session_delete_user(struct store *st, int64_t user_id, struct yj_err *err);

struct store_token {
    int64_t id;
    char *name;
    char token_hash[65];
    char *scopes; /* JSON array of strings */
    char *created_by;
    int64_t created_at;
    int64_t last_used;
    int64_t revoked_at;
    char *role; /* the role it acts with (admin leader responder officer duty auditor) */
};
void store_token_release(struct store_token *t);
int store_token_insert(struct store *st, struct store_token *t, struct yj_err *err);
int store_token_find(struct store *st, const char *token_hash, struct store_token *out, struct yj_err *err);
typedef int (*store_token_cb)(const struct store_token *t, void *ud);
int store_token_list(struct store *st, store_token_cb cb, void *ud, struct yj_err *err);
/* YJ_ENOTFOUND when there is no such live token. */
int store_token_revoke(struct store *st, int64_t id, int64_t at, struct yj_err *err);
int store_token_touch(struct store *st, int64_t id, int64_t at, struct yj_err *err);

/* Login throttling: consecutive failures per key ("user:NAME@IP", "addr:IP"), and the tries
 * refused while waiting (counted here, audited once when the wait is over). */
struct store_login {
    int64_t failures, last_at;
    int64_t throttled, throttled_since;
};
int store_login_failures(struct store *st, const char *key, struct store_login *out, struct yj_err *err);
int store_login_failed(struct store *st, const char *key, int64_t at, struct yj_err *err);
int store_login_throttled(struct store *st, const char *key, int64_t at, struct yj_err *err);
int store_login_throttled_reset(struct store *st, const char *key, struct yj_err *err);
int store_login_clear(struct store *st, const char *key, struct yj_err *err);
/* Browsers an account logged in from (hashed tokens): known when used since `since`. */
int store_device_add(struct store *st, const char *token_hash, int64_t user_id, int64_t at, struct yj_err *err);
int store_device_known(struct store *st, const char *token_hash, int64_t user_id, int64_t since, bool *known,
                       struct yj_err *err);

/* ---- signals ---- */

struct store_signal {
    int64_t id;
    int64_t received_at;
    int64_t time;
    const char *source;
    const char *program; /* may be NULL */
    const char *host;
    const char *asset;
    const char *message;
    const char *fields; /* JSON object, as the sender gave it */
    const char *rule;      /* store_signal_latest only: the rule that matched, or NULL */
    const char *incident;  /* store_signal_latest only: the number of its incident, or NULL */
    const char *extracted; /* store_signal_latest only: the rule's fields (JSON object), or NULL */
};
/* Stores a signal (inside the caller's transaction); sets s->id. */
int store_signal_insert(struct store *st, struct store_signal *s, struct yj_err *err);
/* Stores n signals (inside the caller's transaction) without reading their ids back: the batch
 * in one round trip on PostgreSQL (sql_done_later). */
int store_signals_insert(struct store *st, const struct store_signal *sigs, size_t n, struct yj_err *err);
/* Records what processing made of it: the rule that matched and the fields it read from the
 * message (a JSON object; both NULL when none matched) and the incident (0: none). */
int store_signal_processed(struct store *st, int64_t id, int64_t at, const char *rule, const char *extracted,
                           int64_t incident_id, struct yj_err *err);
typedef int (*store_signal_cb)(const struct store_signal *s, void *ud);
/* Signals not yet processed, oldest first, at most limit. */
int store_signal_unprocessed(struct store *st, int limit, store_signal_cb cb, void *ud, struct yj_err *err);
/* The newest signals first (of source only, unless NULL), at most limit, with their rule and incident. */
int store_signal_latest(struct store *st, const char *source, int limit, store_signal_cb cb, void *ud,
                        struct yj_err *err);
/* Signals of the last `since` ms of signal time, oldest first (to rebuild threshold windows). */
int store_signal_recent(struct store *st, int64_t since, store_signal_cb cb, void *ud, struct yj_err *err);
/* The open (not closed or dismissed) incident with that fingerprint: 0 and *out, or ENOTFOUND. */
int store_incident_open_by_fingerprint(struct store *st, const char *fingerprint, struct store_incident *out,
                                       struct yj_err *err);

/* ---- the clock: overdue deadlines, escalations, the notification outbox ---- */

/* Unmet deadlines due at or before `now` that were not yet found overdue, of incidents not
 * closed or dismissed, oldest first: at most max into out, the count in *n. */
int store_deadline_overdue(struct store *st, int64_t now, struct store_deadline *out, size_t max, size_t *n,
                           struct yj_err *err);
/* Whether anything is due for the clock at `now` (a deadline or task of an open incident to mark
 * overdue, an escalation step), so an idle tick takes no write lock. */
int store_clock_due(struct store *st, int64_t now, bool *any, struct yj_err *err);
/* Marks a deadline as found overdue at `at` (inside the caller's transaction). */
int store_deadline_mark_overdue(struct store *st, int64_t incident_id, const char *kind, int64_t at,
                                struct yj_err *err);

struct store_escalation {
    int64_t id;
    int64_t incident_id;
    char deadline[32];
    char policy[64];
    int64_t step, sent;
    int64_t next_at; /* 0: every step has run */
    int64_t started_at;
    int64_t stopped_at; /* 0: running */
    char stop_reason[32];
};
/* Starts an escalation (sets e->id); YJ_ECONFLICT when that deadline's escalation exists. */
int store_escalation_insert(struct store *st, struct store_escalation *e, struct yj_err *err);
/* Escalations running with next_at at or before now, soonest first (at most max). */
int store_escalation_due(struct store *st, int64_t now, struct store_escalation *out, size_t max, size_t *n,
                         struct yj_err *err);
/* An incident's escalations, oldest first (at most max). */
int store_escalation_list(struct store *st, int64_t incident_id, struct store_escalation *out, size_t max,
                          size_t *n, struct yj_err *err);
/* Writes step, sent, next_at, stopped_at and stop_reason back. */
int store_escalation_update(struct store *st, const struct store_escalation *e, struct yj_err *err);
/* Stops the running escalations of an incident started by that deadline kind (NULL: all). */
int store_escalation_stop_all(struct store *st, int64_t incident_id, const char *deadline, int64_t at,
                              const char *reason, struct yj_err *err);

struct store_notification {
    int64_t id;
    int64_t incident_id;
    int64_t escalation_id; /* 0: none */
    int64_t created_at;
    const char *recipient; /* person:ID or user:NAME */
    const char *target;
    const char *subject;
    const char *body;
    const char *idempotency_key;
    const char *status; /* pending sent failed */
    int64_t attempts;
    int64_t next_attempt_at;
    const char *last_error;
    int64_t sent_at;
};
/* Queues a notification (sets n->id); an existing idempotency key is not queued again (0, id 0). */
int store_notification_insert(struct store *st, struct store_notification *n, struct yj_err *err);
typedef int (*store_notification_cb)(const struct store_notification *n, void *ud);
/* An incident's notifications, oldest first. */
int store_notification_list(struct store *st, int64_t incident_id, store_notification_cb cb, void *ud,
                            struct yj_err *err);

/* Deliveries: a notification through one channel. */
struct store_delivery {
    int64_t id;
    int64_t notification_id;
    char channel[64];
    int64_t attempts;
    int64_t incident_id;
    char incident[40]; /* its number, "" when none */
    char *recipient, *subject, *body, *key;
    int64_t created_at;
};
/* Creates the pending deliveries of every pending notification through `channel` that has none. */
int store_delivery_expand(struct store *st, const char *channel, struct yj_err *err);
/* Pending deliveries due at `now`, soonest first (at most max); release each with
 * store_delivery_release. */
int store_delivery_due(struct store *st, int64_t now, struct store_delivery *out, size_t max, size_t *n,
                       struct yj_err *err);
void store_delivery_release(struct store_delivery *d);
/* Records an attempt's outcome: status pending (retry at next_attempt_at), sent, skipped or failed. */
int store_delivery_result(struct store *st, int64_t id, const char *status, int64_t attempts, int64_t next_attempt_at,
                          const char *error, int64_t sent_at, struct yj_err *err);
/* Marks a notification sent or failed once none of its deliveries is pending. */
int store_notification_settle(struct store *st, int64_t id, int64_t at, struct yj_err *err);

/* ---- playbook tasks ---- */

struct store_task {
    int64_t id;
    int64_t incident_id;
    int64_t step;
    char phase[16];
    char *title, *owner_role, *owner_unit, *contact, *action;
    bool approval;
    int64_t created_at;
    int64_t due_at; /* 0: none */
    char status[12]; /* todo doing done skipped */
    char *reason, *note, *updated_by;
    int64_t updated_at, overdue_at;
    char approval_status[12]; /* "" (none needed) pending approved rejected */
    char *approved_by, *approval_reason;
    int64_t approved_at;
    char *assignee; /* the account it is given to, NULL for nobody yet */
};
/* Adds a task unless that step's task exists already (then 0 and id 0). Inside a transaction. */
int store_task_insert(struct store *st, struct store_task *t, struct yj_err *err);
/* An incident's tasks in playbook order, at most max; release each with store_task_release. */
int store_task_list(struct store *st, int64_t incident_id, struct store_task *out, size_t max, size_t *n,
                    struct yj_err *err);
/* One task by id: 0 and *out, or YJ_ENOTFOUND. */
int store_task_get(struct store *st, int64_t id, struct store_task *out, struct yj_err *err);
/* Writes status, reason, note, updated_by, updated_at, the approval and the assignee back. */
int store_task_update(struct store *st, const struct store_task *t, struct yj_err *err);
/* Open tasks past due not yet found overdue, of open incidents (at most max). */
int store_task_overdue(struct store *st, int64_t now, struct store_task *out, size_t max, size_t *n,
                       struct yj_err *err);
int store_task_mark_overdue(struct store *st, int64_t id, int64_t at, struct yj_err *err);
/* Tasks whose automated action may run now: not run yet, still todo, approved if gated, of open
 * incidents (at most max). */
int store_task_action_due(struct store *st, struct store_task *out, size_t max, size_t *n, struct yj_err *err);
/* What running the action came to: succeeded (the task becomes done, by "action"), failed or
 * unconfigured; output bounded by the caller. */
int store_task_action_result(struct store *st, int64_t id, const char *status, const char *output, int64_t at,
                             struct yj_err *err);
void store_task_release(struct store_task *t);

/* ---- attachments ---- */

struct store_attachment {
    int64_t id, incident_id;
    char name[256], type[64], sha256[65], created_by[128];
    int64_t size, created_at;
};
/* Records an attachment whose bytes are already on disk (sets a->id). Inside a transaction. */
int store_attachment_insert(struct store *st, struct store_attachment *a, struct yj_err *err);
/* An incident's attachments, oldest first (at most max). */
int store_attachment_list(struct store *st, int64_t incident_id, struct store_attachment *out, size_t max, size_t *n,
                          struct yj_err *err);
/* One attachment: 0 and *out, or YJ_ENOTFOUND. */
int store_attachment_get(struct store *st, int64_t id, struct store_attachment *out, struct yj_err *err);

/* ---- blocked addresses (the built-in block_ip action) ---- */

/* The distinct source addresses (the `ip` field: the rule's, else the sender's when no rule read the
 * signal) of an incident's signals, at most max, each
 * malloc'd into out. */
int store_incident_addresses(struct store *st, int64_t incident_id, char **out, size_t max, size_t *n,
                             struct yj_err *err);

struct store_block {
    int64_t id;
    char address[64];
    int64_t incident_id;
    char incident[40]; /* its number */
    int64_t task_id;   /* 0: none */
    int64_t blocked_at, expires_at;
    int64_t released_at; /* 0: still blocked */
    char released_by[64];
    char release_reason[32]; /* expired | released | renewed */
};
/* Records a block (sets b->id); an active block of the same address is released as renewed.
 * Inside the caller's transaction. */
int store_block_insert(struct store *st, struct store_block *b, struct yj_err *err);
/* Blocks, newest first (at most max): active ones only when `active`. */
int store_block_list(struct store *st, bool active, struct store_block *out, size_t max, size_t *n,
                     struct yj_err *err);
/* Active blocks whose time ran out at `now` (at most max). */
int store_block_expired(struct store *st, int64_t now, struct store_block *out, size_t max, size_t *n,
                        struct yj_err *err);
/* Marks a block released (reason expired or released). */
int store_block_release(struct store *st, int64_t id, int64_t at, const char *by, const char *reason,
                        struct yj_err *err);

/* ---- log positions: how far each watched file was read ---- */

struct store_logpos {
    const char *path;
    int64_t dev, inode;
    int64_t offset;   /* bytes read and stored as signals */
    int64_t head_len; /* bytes the head hash covers (at most 256) */
    char head[33];    /* hex BLAKE2b-128 of the file's first head_len bytes */
};
/* 0 and *out (out->path = path), or YJ_ENOTFOUND when the file was never read. */
int store_logpos_get(struct store *st, const char *path, struct store_logpos *out, struct yj_err *err);
/* Inserts or replaces path's position (inside the caller's transaction). */
int store_logpos_put(struct store *st, const struct store_logpos *p, int64_t at, struct yj_err *err);

/* ---- events: the durable log live streams replay from ---- */

struct store_event {
    int64_t id;
    int64_t at;
    const char *kind;
    int64_t incident_id;
    const char *unit;
    const char *reporter;
    const char *payload; /* JSON */
};
/* Appends an event (inside the caller's transaction); *id (may be NULL) gets its id. */
/* Waking for events other processes write (PostgreSQL LISTEN/NOTIFY, on a connection given to
 * it): store_events_wait returns within timeout_ms, *woken when an event was committed meanwhile.
 * On SQLite it only waits (one process writes). */
int store_events_listen(struct store *st, struct yj_err *err);
int store_events_wait(struct store *st, int timeout_ms, bool *woken, struct yj_err *err);
int store_event_append(struct store *st, int64_t at, const char *kind, int64_t incident_id, const char *unit,
                       const char *reporter, const char *payload, int64_t *id, struct yj_err *err);
typedef int (*store_event_cb)(const struct store_event *e, void *ud);
/* Events with id > after_id in id order, at most limit; stops early when cb returns non-zero. */
int store_event_list(struct store *st, int64_t after_id, int limit, store_event_cb cb, void *ud,
                     struct yj_err *err);
int store_event_last(struct store *st, int64_t *id, struct yj_err *err);

/* Monitors (issue 7): the state of each configured monitor, hourly counts of its checks, and its
 * changes between up and down. */
struct store_monitor {
    char id[72];
    char target[512];
    char status[8]; /* unknown up down */
    int64_t since, checked_at, elapsed_ms, http_status, cert_expires_at;
    char reason[300];
};
struct store_monitor_check {
    const char *id;
    int64_t at;
    bool up;
    int64_t elapsed_ms;
    int64_t http_status;
    const char *reason; /* failure, or a warning when up; may be NULL */
    int64_t cert_expires_at;
};
struct store_monitor_hour {
    int64_t hour; /* UTC ms at its start */
    int64_t checks, failures, total_ms, max_ms;
};
struct store_monitor_change {
    int64_t at;
    bool up;
    char reason[300];
};
/* Adds the monitor (status unknown) or updates its target. */
int store_monitor_register(struct store *st, const char *id, const char *target, struct yj_err *err);
/* One check: the monitor's last state and its hour's counts (inside the caller's transaction). */
int store_monitor_check(struct store *st, const struct store_monitor_check *c, struct yj_err *err);
/* It went down or came back: a change row and the monitor's status. */
int store_monitor_change(struct store *st, const char *id, int64_t at, bool up, const char *reason,
                         struct yj_err *err);
int store_monitor_list(struct store *st, struct store_monitor *out, size_t max, size_t *n, struct yj_err *err);
/* YJ_ENOTFOUND when there is none. */
int store_monitor_get(struct store *st, const char *id, struct store_monitor *out, struct yj_err *err);
/* Hours from since on, oldest first, at most max. */
int store_monitor_hours(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out, size_t max,
                        size_t *n, struct yj_err *err);
/* The sums of the hours from since on (hour = 0). */
int store_monitor_totals(struct store *st, const char *id, int64_t since, struct store_monitor_hour *out,
                         struct yj_err *err);
/* The newest changes first, at most max. */
int store_monitor_changes(struct store *st, const char *id, struct store_monitor_change *out, size_t max, size_t *n,
                          struct yj_err *err);

/* File integrity (issue 7): the baseline of each watched directory. */
struct store_integrity_file {
    const char *path;
    int64_t size;
    const char *hash; /* BLAKE2b-256, hex */
};
/* Replaces the baseline of watch with files[0..n) (inside the caller's transaction). */
int store_integrity_put(struct store *st, const char *watch, const struct store_integrity_file *files, size_t n,
                        int64_t at, const char *by, struct yj_err *err);
typedef void (*store_integrity_cb)(const struct store_integrity_file *f, void *ud);
/* Calls cb for each file of watch's baseline; *taken_at 0 when none was ever taken. */
int store_integrity_get(struct store *st, const char *watch, store_integrity_cb cb, void *ud, int64_t *taken_at,
                        struct yj_err *err);

typedef void (*store_integrity_change_cb)(const char *watch, const char *path, const char *change,
                                          const char *old_hash, void *ud);
/* The files an incident's integrity signals name, each once (its newest signal), by watch and path. */
int store_integrity_changes(struct store *st, int64_t incident_id, store_integrity_change_cb cb, void *ud,
                            struct yj_err *err);

/* ---- the directory and channels edited in the console, shift swaps ---- */

/* One edit: kind "person", "rotation" or "channel", the id it is of, its JSON body (the plan's or
 * the config's keys) and, for a channel, its secret. Points into the store's row: copy to keep. */
struct store_edit {
    const char *kind;
    const char *key;
    const char *body;
    const char *secret;
    int64_t updated_at;
    const char *updated_by;
};
/* Stores (or replaces) an edit, to apply after every other; secret NULL keeps a stored one. */
int store_edit_put(struct store *st, const char *kind, const char *key, const char *body, const char *secret,
                   int64_t at, const char *by, struct yj_err *err);
/* YJ_ENOTFOUND when there was none. */
int store_edit_delete(struct store *st, const char *kind, const char *key, struct yj_err *err);
/* Calls cb for every edit of kind (NULL: every kind) in the order they apply; cb returns nonzero to stop. */
typedef int (*store_edit_cb)(const struct store_edit *e, void *ud);
int store_edit_list(struct store *st, const char *kind, store_edit_cb cb, void *ud, struct yj_err *err);

/* A shift swap (换班): requester's shift of rotation on date goes to taker (and, with back_date,
 * taker's shift of that date to requester). Strings malloc'd; release with store_swap_release. */
struct store_swap {
    int64_t id;
    char *rotation;
    char *date;
    char *requester;
    char *taker;
    char *back_date;
    char *reason;
    char *status; /* proposed accepted declined withdrawn */
    int64_t created_at;
    char *created_by;
    char *on_behalf;
    int64_t answered_at;
    char *answered_by;
    char *answer_on_behalf;
};
void store_swap_release(struct store_swap *w);
int store_swap_insert(struct store *st, const struct store_swap *w, int64_t *id, struct yj_err *err);
int store_swap_get(struct store *st, int64_t id, struct store_swap *out, struct yj_err *err);
/* Calls cb for each swap with that status (NULL: all), oldest first; the row is released after. */
typedef int (*store_swap_cb)(const struct store_swap *w, void *ud);
int store_swap_list(struct store *st, const char *status, store_swap_cb cb, void *ud, struct yj_err *err);
/* Answers a proposed swap (accepted, declined, withdrawn): YJ_ECONFLICT when it is no longer proposed. */
int store_swap_answer(struct store *st, int64_t id, const char *status, int64_t at, const char *by,
                      const char *on_behalf, struct yj_err *err);

#endif
