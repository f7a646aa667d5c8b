/* audit.h: the audit record (不得隐瞒、缓报、谎报) — a hash chain of every write, made tamper-evident
 * as a whole:
 * - each row's hash covers the previous row's hash and its own content, so an edit, deletion or
 *   reordering anywhere breaks the chain from that row on;
 * - a row for a change to an incident binds the state it left behind (a hash of the incident's
 *   rows), so a direct edit of an incident, deadline, task or timeline row is found by
 *   re-deriving it;
 * - the head is signed (ed25519) with a key kept outside the store, so a chain recomputed after
 *   an edit, or cut off with its head "fixed", no longer verifies;
 * - signed heads are checkpointed outside the store (a file of checkpoints, one beside each
 *   backup, the daily message to the plan's office), so even someone holding the key cannot
 *   roll the record back past the last checkpoint unseen.
 * Models: RFC 6962 signed tree heads, systemd-journald's Forward Secure Sealing. */
#ifndef YJ_AUDIT_H
#define YJ_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct yj_err;

/* ---- the signing key ---- */

struct audit_key; /* an ed25519 key pair, or a public key only */

/* Reads the key at path. When it does not exist and create is set, makes a new one there (mode
 * 0600, never overwriting one made meanwhile) and sets *created. A file holding only a public
 * key gives a key that verifies but cannot sign. Free with audit_key_free. */
int audit_key_load(const char *path, bool create, struct audit_key **out, bool *created, struct yj_err *err);
void audit_key_free(struct audit_key *key);
bool audit_key_can_sign(const struct audit_key *key);
/* The public key as 64 hex digits. */
void audit_key_public(const struct audit_key *key, char hex[65]);
/* Writes the public key alone to path (for verifiers elsewhere): 0, or YJ_EIO. */
int audit_key_write_public(const struct audit_key *key, const char *path, struct yj_err *err);

/* Where the key and the checkpoints are: the configured path (NULL: DATA/audit.key and
 * DATA/audit.checkpoints). malloc'd. */
char *audit_key_path(const char *data_dir, const char *configured);
char *audit_checkpoints_path(const char *data_dir, const char *configured);

/* The key of a store at path, made if missing; when made, the making is recorded in the chain
 * (action audit.key, the new public key in its detail) so that its head is signed by it, and the
 * public key written beside it as PATH.pub. Sets it on st; the caller frees *out after st. */
int audit_key_open(struct store *st, const char *path, int64_t now, const char *actor, struct audit_key **out,
                   struct yj_err *err);

/* ---- writing ---- */

/* Appends a row inside the caller's transaction. detail_json is a JSON text. incident_id > 0:
 * the row is about that incident (object its number) and binds its rows' state as they are now,
 * so call it after the change. The head is signed with the store's key (store_set_audit_key),
 * or left unsigned when it has none. */
int audit_append(struct store *st, int64_t at, const char *actor, const char *action, const char *object,
                 const char *detail_json, int64_t incident_id, struct yj_err *err);

/* Ends a change made inside the caller's open transaction: when rc is 0, appends its audit row
 * (ctx's actor and clock; detail, a json_t * taken over, as the row's detail) and commits; else,
 * or when that fails, rolls back. Returns the first failure, or 0. */
struct yj_ctx;
struct json_t;
int audit_commit(struct yj_ctx *ctx, int rc, const char *action, const char *object, struct json_t *detail,
                 struct yj_err *err);

/* ---- checkpoints ---- */

struct audit_checkpoint {
    int64_t id;          /* the head row */
    char hash[65];       /* its hash */
    int64_t at;          /* when it was taken (not signed: for people) */
    char public_key[65]; /* the key that signed it */
    char signature[129];
};

/* The store's head as a checkpoint (its stored signature): YJ_ESTATE when the chain is empty or
 * the head is unsigned. */
int audit_checkpoint_take(struct store *st, int64_t now, struct audit_checkpoint *out, struct yj_err *err);
/* One line of JSON {"id","hash","at","public_key","signature"} (malloc'd, no newline). */
char *audit_checkpoint_json(const struct audit_checkpoint *cp);
/* Appends cp as a line to path (created 0600), synced. */
int audit_checkpoint_append(const char *path, const struct audit_checkpoint *cp, struct yj_err *err);
/* Reads every checkpoint line of path (a missing file has none): *out malloc'd, *n of them.
 * YJ_EINVAL naming the line when one is not a checkpoint. */
int audit_checkpoints_read(const char *path, struct audit_checkpoint **out, size_t *n, struct yj_err *err);

/* ---- verifying ---- */

struct audit_verify_opts {
    const struct audit_key *key;              /* the head's signature is checked with it; NULL: not */
    const struct audit_checkpoint *checkpoints; /* each must still be in the chain, signed */
    size_t n_checkpoints;
    bool states;       /* re-derive every incident's state (a full check) */
    int64_t from_id;   /* continue a chain already verified up to this row ... */
    const char *from_hash; /* ... whose hash is this (incremental checks); 0/NULL: from the start */
};

struct audit_result {
    int64_t rows;        /* rows in the chain (checked, or known verified before from_id) */
    int64_t bad_id;      /* the first bad row, 0 when intact */
    char reason[512];    /* why it is bad */
    char head_hash[65];
    bool signature_checked;
    int64_t incidents;   /* incidents whose state was re-derived */
    int64_t unbound;     /* ... of which recorded before states were bound (not comparable) */
    size_t checkpoints;  /* checkpoints found in the chain */
};

/* Checks the chain, its head (and signature), the states and the checkpoints. Returns 0 when
 * everything could be read (check res->bad_id), or an error. */
int audit_verify(struct store *st, const struct audit_verify_opts *opts, struct audit_result *res,
                 struct yj_err *err);

#endif
