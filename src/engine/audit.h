/* audit.h: the hash-chained audit log. Every write to the store appends one row inside the
 * same transaction; each row's hash covers the previous row's hash and its own content, so an
 * edit, deletion or reordering anywhere breaks the chain from that row on. */
#ifndef YJ_AUDIT_H
#define YJ_AUDIT_H

#include <stdint.h>

struct store;
struct yj_err;

/* Appends a row. Must be called inside a store transaction. detail_json is a JSON text. */
int audit_append(struct store *st, int64_t at, const char *actor, const char *action, const char *object,
                 const char *detail_json, struct yj_err *err);

struct audit_result {
    int64_t rows;      /* rows checked */
    int64_t bad_id;    /* first bad row, 0 when intact */
    char reason[256];  /* why it is bad */
    char head_hash[65];
};

/* Walks the whole chain. Returns 0 when it could be read (check res->bad_id), or an error. */
int audit_verify(struct store *st, struct audit_result *res, struct yj_err *err);

#endif
