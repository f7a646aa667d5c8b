/* audit.c: hashing, state binding, signing and verification of the audit record (BLAKE2b-256
 * and ed25519 from libsodium). Must never rewrite a row. The canonical form of a row is the
 * compact JSON array [id, at, actor, action, object, detail] (and state, when it has one), which
 * is unambiguous whatever the strings hold. Appending is on every write path: one head read, a
 * state hash over the incident's rows, one signature (~50 µs). */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../store/store.h"
#include "audit.h"
#include "ctx.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <unistd.h>

/* FNV-1a, as in window.c: uthash's default Jenkins hash falls through its switch on purpose. */
#define HASH_FUNCTION(keyptr, keylen, hashv) HASH_FNV(keyptr, keylen, hashv)
#include <uthash.h>

static const char genesis[] = "0000000000000000000000000000000000000000000000000000000000000000";
static const char key_magic[] = "yingji-audit-key 1";
#define STATE_VERSION 2 /* v1: before deadlines had outcomes (schema 18) */

/* ---- the key ---- */

struct audit_key {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    bool secret;
};

void audit_key_free(struct audit_key *key)
{
    if (key)
        sodium_memzero(key, sizeof(*key));
    free(key);
}

bool audit_key_can_sign(const struct audit_key *key)
{
    return key && key->secret;
}

void audit_key_public(const struct audit_key *key, char hex[65])
{
    sodium_bin2hex(hex, 65, key->pk, sizeof(key->pk));
}

/* "public HEX" and "seed HEX" lines after the magic line. */
static int key_parse(const char *text, const char *path, struct audit_key *k, struct yj_err *err)
{
    if (strncmp(text, key_magic, sizeof(key_magic) - 1) != 0)
        return yj_err_set(err, YJ_EINVAL, "%s is not a Yingji audit key (it does not start with \"%s\")",
                          path, key_magic);
    const char *pub = strstr(text, "\npublic "), *seed = strstr(text, "\nseed ");
    unsigned char s[crypto_sign_SEEDBYTES];
    size_t n = 0;
    if (seed) {
        if (sodium_hex2bin(s, sizeof(s), seed + 6, 64, NULL, &n, NULL) != 0 || n != sizeof(s))
            return yj_err_set(err, YJ_EINVAL, "%s: the seed is not 64 hex digits", path);
        crypto_sign_seed_keypair(k->pk, k->sk, s);
        sodium_memzero(s, sizeof(s));
        k->secret = true;
    }
    if (pub) {
        unsigned char p[crypto_sign_PUBLICKEYBYTES];
        if (sodium_hex2bin(p, sizeof(p), pub + 8, 64, NULL, &n, NULL) != 0 || n != sizeof(p))
            return yj_err_set(err, YJ_EINVAL, "%s: the public key is not 64 hex digits", path);
        if (seed && sodium_memcmp(p, k->pk, sizeof(p)) != 0)
            return yj_err_set(err, YJ_EINVAL, "%s: the public key does not belong to the seed", path);
        memcpy(k->pk, p, sizeof(p));
    }
    if (!pub && !seed)
        return yj_err_set(err, YJ_EINVAL, "%s holds neither a public key nor a seed", path);
    return 0;
}

static int key_create(const char *path, struct audit_key *k, struct yj_err *err)
{
    unsigned char seed[crypto_sign_SEEDBYTES];
    randombytes_buf(seed, sizeof(seed));
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    k->secret = true;
    char seed_hex[65], pub_hex[65];
    sodium_bin2hex(seed_hex, sizeof(seed_hex), seed, sizeof(seed));
    sodium_bin2hex(pub_hex, sizeof(pub_hex), k->pk, sizeof(k->pk));
    sodium_memzero(seed, sizeof(seed));
    char text[256];
    int len =
        snprintf(text, sizeof(text),
                 "%s\n# signs the audit chain's head; keep it outside the store and its backups\npublic %s\n"
                 "seed %s\n",
                 key_magic, pub_hex, seed_hex);
    sodium_memzero(seed_hex, sizeof(seed_hex));
    /* O_EXCL: two processes starting at once must not each make a key. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sodium_memzero(text, sizeof(text));
        return errno == EEXIST
                   ? YJ_ECONFLICT
                   : yj_err_set(err, YJ_EIO, "cannot create the audit key %s: %s", path, strerror(errno));
    }
    bool ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
    sodium_memzero(text, sizeof(text));
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return yj_err_set(err, YJ_EIO, "cannot write the audit key %s: %s", path, strerror(errno));
    }
    return 0;
}

int audit_key_load(const char *path, bool create, struct audit_key **out, bool *created, struct yj_err *err)
{
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    struct audit_key *k = xcalloc(1, sizeof(*k));
    if (created)
        *created = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t len = 0;
        char *text = yj_read_file(path, 4096, &len);
        if (text) {
            int rc = key_parse(text, path, k, err);
            sodium_memzero(text, len);
            free(text);
            if (rc < 0) {
                audit_key_free(k);
                return rc;
            }
            *out = k;
            return 0;
        }
        if (errno != ENOENT || !create) {
            int e = errno;
            audit_key_free(k);
            return yj_err_set(err, e == ENOENT ? YJ_ENOTFOUND : YJ_EIO, "cannot read the audit key %s: %s",
                              path, strerror(e));
        }
        int rc = key_create(path, k, err);
        if (rc == 0) {
            if (created)
                *created = true;
            *out = k;
            return 0;
        }
        if (rc != YJ_ECONFLICT) {
            audit_key_free(k);
            return rc;
        }
        /* Made by another process meanwhile: read that one. */
    }
    audit_key_free(k);
    return yj_err_set(err, YJ_EIO, "cannot read the audit key %s", path);
}

int audit_key_write_public(const struct audit_key *key, const char *path, struct yj_err *err)
{
    char hex[65], text[160];
    audit_key_public(key, hex);
    int len = snprintf(text, sizeof(text), "%s\npublic %s\n", key_magic, hex);
    if (yj_write_file_atomic(path, text, (size_t)len, 0644) < 0)
        return yj_err_set(err, YJ_EIO, "cannot write %s: %s", path, strerror(errno));
    return 0;
}

char *audit_key_path(const char *data_dir, const char *configured)
{
    return configured ? xstrdup(configured) : xasprintf("%s/audit.key", data_dir);
}

char *audit_checkpoints_path(const char *data_dir, const char *configured)
{
    return configured ? xstrdup(configured) : xasprintf("%s/audit.checkpoints", data_dir);
}

int audit_key_open(struct store *st, const char *path, int64_t now, const char *actor, struct audit_key **out,
                   struct yj_err *err)
{
    bool created = false;
    struct audit_key *key = NULL;
    int rc = audit_key_load(path, true, &key, &created, err);
    if (rc < 0)
        return rc;
    if (!audit_key_can_sign(key)) {
        audit_key_free(key);
        return yj_err_set(err, YJ_EINVAL,
                          "%s holds a public key only: the audit head cannot be signed with it", path);
    }
    store_set_audit_key(st, key);
    if (created) {
        char pub[65];
        audit_key_public(key, pub);
        char *pub_path = xasprintf("%s.pub", path);
        rc = audit_key_write_public(key, pub_path, err);
        free(pub_path);
        char *detail = xasprintf("{\"public_key\":\"%s\"}", pub);
        if (rc == 0 && (rc = store_begin(st, err)) == 0) {
            rc = audit_append(st, now, actor, "audit.key", path, detail, 0, err);
            if (rc == 0)
                rc = store_commit(st, err);
            else
                store_rollback(st);
        }
        free(detail);
        if (rc < 0) {
            store_set_audit_key(st, NULL);
            audit_key_free(key);
            return rc;
        }
    }
    *out = key;
    return 0;
}

/* ---- hashing ---- */

static void row_hash(const struct store_audit_row *r, const char *prev_hex, char out_hex[65])
{
    json_t *a = json_pack("[I I s s s s]", (json_int_t)r->id, (json_int_t)r->at, r->actor, r->action,
                          r->object, r->detail);
    if (a && r->state)
        json_array_append_new(a, json_string(r->state));
    char *canon = a ? json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!canon)
        abort(); /* only on OOM or non-UTF-8 input, which callers have already refused */
    unsigned char h[32];
    crypto_generichash_state state;
    crypto_generichash_init(&state, NULL, 0, sizeof(h));
    crypto_generichash_update(&state, (const unsigned char *)prev_hex, strlen(prev_hex));
    crypto_generichash_update(&state, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&state, (const unsigned char *)canon, strlen(canon));
    crypto_generichash_final(&state, h, sizeof(h));
    sodium_bin2hex(out_hex, 65, h, sizeof(h));
    free(canon);
    json_decref(a);
}

/* Every value with its length (and NULL told apart from ""), row by row: no two different sets
 * of rows hash the same. */
static void hash_values(const char *const *values, const size_t *lens, size_t n, void *ud)
{
    crypto_generichash_state *h = ud;
    unsigned char count[8] = {(unsigned char)n};
    crypto_generichash_update(h, count, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        unsigned char head[9] = {values[i] ? 1 : 0};
        uint64_t len = values[i] ? lens[i] : 0;
        for (int b = 0; b < 8; b++)
            head[1 + b] = (unsigned char)(len >> (8 * b));
        crypto_generichash_update(h, head, sizeof(head));
        if (values[i])
            crypto_generichash_update(h, (const unsigned char *)values[i], lens[i]);
    }
}

/* "vN:HEX", the state of an incident's rows now (N: which columns, store_incident_rows). */
static int incident_state(struct store *st, int64_t incident_id, int version, char out[72],
                          struct yj_err *err)
{
    crypto_generichash_state h;
    unsigned char digest[32];
    crypto_generichash_init(&h, NULL, 0, sizeof(digest));
    int rc = store_incident_rows(st, incident_id, version, hash_values, &h, err);
    if (rc < 0)
        return rc;
    crypto_generichash_final(&h, digest, sizeof(digest));
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    snprintf(out, 72, "v%d:%s", version, hex);
    return 0;
}

/* What a head's signature covers. */
static size_t head_message(int64_t id, const char *hash, char *buf, size_t size)
{
    return (size_t)snprintf(buf, size, "yingji audit head 1 %lld %s", (long long)id, hash);
}

static bool head_signed_by(const unsigned char pk[crypto_sign_PUBLICKEYBYTES], int64_t id, const char *hash,
                           const char *sig_hex)
{
    unsigned char sig[crypto_sign_BYTES];
    size_t n = 0;
    if (!sig_hex || sodium_hex2bin(sig, sizeof(sig), sig_hex, strlen(sig_hex), NULL, &n, NULL) != 0 ||
        n != sizeof(sig))
        return false;
    char msg[128];
    size_t len = head_message(id, hash, msg, sizeof(msg));
    return crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk) == 0;
}

/* ---- writing ---- */

/* The head as the transaction leaves it, signed (before its commit: store_before_commit). */
static int sign_head(struct store *st, struct yj_err *err)
{
    const struct audit_key *key = store_audit_key(st);
    int64_t id;
    char hash[65];
    int rc = store_audit_head(st, &id, hash, NULL, err);
    if (rc < 0 || id == 0 || !audit_key_can_sign(key))
        return rc;
    unsigned char sig[crypto_sign_BYTES];
    char msg[128], sig_hex[129];
    size_t len = head_message(id, hash, msg, sizeof(msg));
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, key->sk);
    sodium_bin2hex(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
    return store_audit_sign_head(st, id, sig_hex, err);
}

int audit_append(struct store *st, int64_t at, const char *actor, const char *action, const char *object,
                 const char *detail_json, int64_t incident_id, struct yj_err *err)
{
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    int64_t last_id;
    char prev[65];
    int rc = store_audit_head(st, &last_id, prev, NULL, err);
    if (rc < 0)
        return rc;
    char state[72];
    if (incident_id > 0 && (rc = incident_state(st, incident_id, STATE_VERSION, state, err)) < 0)
        return rc;
    struct store_audit_row row = {.id = last_id + 1,
                                  .at = at,
                                  .actor = actor,
                                  .action = action,
                                  .object = object,
                                  .detail = detail_json,
                                  .state = incident_id > 0 ? state : NULL};
    snprintf(row.prev_hash, sizeof(row.prev_hash), "%s", last_id ? prev : genesis);
    row_hash(&row, row.prev_hash, row.hash);
    /* Unsigned until the transaction commits: only the head it commits is ever seen, and one
     * signature a transaction instead of one a row (a signature costs as much as the row). */
    rc = store_audit_insert(st, &row, NULL, err);
    if (rc == 0 && audit_key_can_sign(store_audit_key(st)))
        rc = store_before_commit(st, sign_head, err);
    return rc;
}

/* ---- checkpoints ---- */

int audit_checkpoint_take(struct store *st, int64_t now, struct audit_checkpoint *out, struct yj_err *err)
{
    const struct audit_key *key = store_audit_key(st);
    if (!key)
        return yj_err_set(err, YJ_ESTATE, "no audit key: a checkpoint needs the key that signs the head");
    struct audit_checkpoint cp = {.at = now};
    int rc = store_audit_head(st, &cp.id, cp.hash, cp.signature, err);
    if (rc < 0)
        return rc;
    if (cp.id == 0)
        return yj_err_set(err, YJ_ESTATE, "the audit chain is empty: nothing to checkpoint");
    if (!head_signed_by(key->pk, cp.id, cp.hash, cp.signature))
        return yj_err_set(err, YJ_ESTATE, "the audit head (row %lld) is not signed by this key",
                          (long long)cp.id);
    audit_key_public(key, cp.public_key);
    *out = cp;
    return 0;
}

char *audit_checkpoint_json(const struct audit_checkpoint *cp)
{
    json_t *o = json_pack("{s:I, s:s, s:o, s:s, s:s}", "id", (json_int_t)cp->id, "hash", cp->hash, "at",
                          yj_json_time(cp->at), "public_key", cp->public_key, "signature", cp->signature);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int audit_checkpoint_append(const char *path, const struct audit_checkpoint *cp, struct yj_err *err)
{
    char *line = audit_checkpoint_json(cp);
    size_t len = strlen(line);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    free(line);
    return ok ? 0 : yj_err_set(err, YJ_EIO, "cannot write the audit checkpoint to %s: %s", path, strerror(e));
}

static int checkpoint_parse(json_t *o, struct audit_checkpoint *cp)
{
    const char *hash = json_string_value(json_object_get(o, "hash"));
    const char *pk = json_string_value(json_object_get(o, "public_key"));
    const char *sig = json_string_value(json_object_get(o, "signature"));
    const char *at = json_string_value(json_object_get(o, "at"));
    json_t *id = json_object_get(o, "id");
    if (!json_is_integer(id) || json_integer_value(id) < 1 || !hash || strlen(hash) != 64 || !pk ||
        strlen(pk) != 64 || !sig || strlen(sig) != 128)
        return -1;
    *cp = (struct audit_checkpoint){.id = json_integer_value(id)};
    memcpy(cp->hash, hash, 65);
    memcpy(cp->public_key, pk, 65);
    memcpy(cp->signature, sig, 129);
    struct yj_err e;
    if (at)
        (void)yj_time_parse(at, &cp->at, &e);
    return 0;
}

int audit_checkpoints_read(const char *path, struct audit_checkpoint **out, size_t *n, struct yj_err *err)
{
    *out = NULL;
    *n = 0;
    size_t len = 0;
    char *text = yj_read_file(path, 64u << 20, &len);
    if (!text)
        return errno == ENOENT ? 0 : yj_err_set(err, YJ_EIO, "cannot read %s: %s", path, strerror(errno));
    size_t line = 0;
    int rc = 0;
    for (char *p = text, *end = text + len; p < end && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (l && p[0] != '#') {
            json_t *o = json_loadb(p, l, 0, NULL);
            struct audit_checkpoint cp;
            if (!json_is_object(o) || checkpoint_parse(o, &cp) < 0) {
                rc = yj_err_set(err, YJ_EINVAL,
                                "%s:%zu: not an audit checkpoint {\"id\", \"hash\", \"public_key\", "
                                "\"signature\"}",
                                path, line);
            } else {
                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                (*out)[(*n)++] = cp;
            }
            json_decref(o);
        }
        p += l + (nl ? 1 : 0);
    }
    free(text);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- verifying ---- */

/* The last state recorded for each object. */
struct recorded {
    char *object;
    int64_t row;
    char state[72];
    bool seen; /* its incident still exists */
    UT_hash_handle hh;
};

struct walk {
    const struct audit_verify_opts *opts;
    struct audit_result *res;
    int64_t expect_id;
    char prev[65];
    struct recorded *recorded;
    bool *found; /* per checkpoint: its row is in the chain with its hash */
};

static int bad(struct audit_result *res, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct audit_result *res, int64_t id, const char *fmt, ...)
{
    if (res->bad_id)
        return 1;
    res->bad_id = id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    return 1;
}

static int check_row(const struct store_audit_row *r, void *ud)
{
    struct walk *w = ud;
    w->res->rows++;
    if (r->id != w->expect_id)
        /* The row we expected is gone or the ids were rewritten: blame the first out of place. */
        return bad(w->res, r->id, "expected row %lld here, found row %lld (rows deleted or renumbered)",
                   (long long)w->expect_id, (long long)r->id);
    if (strcmp(r->prev_hash, w->prev) != 0)
        return bad(w->res, r->id,
                   "its link to the previous row does not match (a row before it was removed, changed or "
                   "reordered)");
    char h[65];
    row_hash(r, r->prev_hash, h);
    if (strcmp(h, r->hash) != 0)
        return bad(w->res, r->id, "its content does not match its hash (the row was edited)");
    for (size_t i = 0; i < w->opts->n_checkpoints; i++)
        if (w->opts->checkpoints[i].id == r->id && strcmp(w->opts->checkpoints[i].hash, r->hash) == 0)
            w->found[i] = true;
    if (w->opts->states) {
        /* Every object is remembered (an incident no row names was made outside Yingji); the
         * state is the last one recorded for it. */
        struct recorded *x = NULL;
        HASH_FIND_STR(w->recorded, r->object, x);
        if (!x) {
            x = xcalloc(1, sizeof(*x));
            x->object = xstrdup(r->object);
            x->seen = false; /* (xcalloc zeroes; said for the analysers) */
            HASH_ADD_KEYPTR(hh, w->recorded, x->object, strlen(x->object), x);
        }
        if (r->state) {
            x->row = r->id;
            snprintf(x->state, sizeof(x->state), "%s", r->state);
        }
    }
    memcpy(w->prev, r->hash, sizeof(w->prev));
    w->expect_id++;
    return 0;
}

struct state_walk {
    struct store *st;
    struct walk *w;
    int64_t worst_row; /* the first audit row whose incident differs */
    char worst_reason[512];
    int64_t n_incidents;
    int64_t orphans; /* incidents no audit row names */
    char first_orphan[40];
    int rc;
    struct yj_err *err;
};

static void worse(struct state_walk *s, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void worse(struct state_walk *s, int64_t row, const char *fmt, ...)
{
    if (s->worst_row && s->worst_row <= row)
        return;
    s->worst_row = row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->worst_reason, sizeof(s->worst_reason), fmt, ap);
    va_end(ap);
}

static int check_incident(int64_t id, const char *number, void *ud)
{
    struct state_walk *s = ud;
    s->n_incidents++;
    struct recorded *x = NULL;
    HASH_FIND_STR(s->w->recorded, number, x);
    if (!x) {
        /* No row names it: made or put back outside Yingji, or the rows about it are gone. */
        if (!s->orphans++)
            snprintf(s->first_orphan, sizeof(s->first_orphan), "%s", number);
        return 0;
    }
    x->seen = true;
    if (!x->state[0]) {
        s->w->res->unbound++; /* recorded before states were bound (schema 16): the chain alone */
        return 0;
    }
    int version = 0;
    if (sscanf(x->state, "v%d:", &version) != 1) {
        worse(s, x->row, "row %lld records a state of %s this build cannot read (%.16s)", (long long)x->row,
              number, x->state);
        return 0;
    }
    char now[72];
    struct yj_err e = {0};
    int rc = incident_state(s->st, id, version, now, &e);
    if (rc == YJ_EINVAL) {
        worse(s, x->row, "row %lld records a state of %s this build cannot read (%s)", (long long)x->row,
              number, e.msg);
        return 0;
    }
    if (rc < 0) {
        s->rc = rc;
        if (s->err)
            *s->err = e;
        return 1;
    }
    if (strcmp(now, x->state) != 0)
        worse(s, x->row,
              "incident %s no longer matches the state its last audit row (%lld) recorded: its incident, "
              "deadline, "
              "task, timeline or attachment rows were changed outside Yingji after that row",
              number, (long long)x->row);
    return 0;
}

/* Objects that name incidents: the incident numbers the states were recorded for. */
static int check_states(struct store *st, struct walk *w, struct yj_err *err)
{
    struct state_walk s = {.st = st, .w = w, .err = err};
    int rc = store_incident_ids(st, check_incident, &s, err);
    if (rc < 0)
        return rc;
    if (s.rc < 0)
        return s.rc;
    w->res->incidents = s.n_incidents;
    struct recorded *x = NULL, *tmp = NULL;
    HASH_ITER(hh, w->recorded, x, tmp)
    {
        if (!x->seen && x->state[0])
            worse(&s, x->row,
                  "incident %s, recorded at row %lld, is no longer in the store (deleted outside Yingji)",
                  x->object, (long long)x->row);
    }
    if (s.worst_row)
        bad(w->res, s.worst_row, "%s", s.worst_reason);
    else if (s.orphans && w->res->rows == 0)
        bad(w->res, 1,
            "the audit chain is empty but the store holds %lld incident%s (the audit log was deleted)",
            (long long)s.orphans, s.orphans == 1 ? "" : "s");
    else if (s.orphans)
        bad(w->res, w->res->rows,
            "%lld incident%s (%s%s) %s named by no audit row: made or put back outside Yingji",
            (long long)s.orphans, s.orphans == 1 ? "" : "s", s.first_orphan, s.orphans > 1 ? ", ..." : "",
            s.orphans == 1 ? "is" : "are");
    return 0;
}

int audit_verify(struct store *st, const struct audit_verify_opts *opts, struct audit_result *res,
                 struct yj_err *err)
{
    static const struct audit_verify_opts none = {0};
    if (!opts)
        opts = &none;
    memset(res, 0, sizeof(*res));
    if (sodium_init() < 0)
        return yj_err_set(err, YJ_ESTORE, "libsodium could not initialise");
    struct walk w = {.opts = opts, .res = res, .expect_id = opts->from_id + 1};
    memcpy(w.prev, opts->from_id && opts->from_hash ? opts->from_hash : genesis, sizeof(w.prev) - 1);
    w.prev[64] = 0;
    w.found = xcalloc(opts->n_checkpoints + 1, sizeof(bool));
    int rc = store_audit_foreach(st, opts->from_id, check_row, &w, err);
    res->rows += opts->from_id;
    int64_t head_id = 0;
    char head_hash[65], head_sig[129];
    if (rc == 0 && !res->bad_id && (rc = store_audit_head(st, &head_id, head_hash, head_sig, err)) == 0) {
        int64_t last = w.expect_id - 1;
        if (head_id != last || (last && strcmp(head_hash, w.prev) != 0))
            bad(res, last + 1,
                "the chain ends at row %lld but its head records row %lld (rows cut off the end)",
                (long long)last, (long long)head_id);
        else if (last && opts->key) {
            res->signature_checked = true;
            if (!head_sig[0])
                bad(res, last,
                    "the head (row %lld) is not signed: it was written without the audit key, or its "
                    "signature was removed",
                    (long long)last);
            else if (!head_signed_by(opts->key->pk, last, head_hash, head_sig))
                bad(res, last,
                    "the head's signature does not verify with the audit key: the chain was rewritten "
                    "or cut off and its head made to match");
        }
        if (!res->bad_id)
            memcpy(res->head_hash, last ? w.prev : "", last ? 65 : 1);
    }
    for (size_t i = 0; rc == 0 && !res->bad_id && i < opts->n_checkpoints; i++) {
        const struct audit_checkpoint *cp = &opts->checkpoints[i];
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        size_t n = 0;
        char when[40] = "";
        yj_time_local(cp->at, when, sizeof(when));
        if (sodium_hex2bin(pk, sizeof(pk), cp->public_key, 64, NULL, &n, NULL) != 0 || n != sizeof(pk) ||
            !head_signed_by(pk, cp->id, cp->hash, cp->signature))
            bad(res, cp->id, "checkpoint of row %lld (%s) is not signed by the key it names",
                (long long)cp->id, when);
        else if (!w.found[i] && opts->from_id < cp->id)
            bad(res, cp->id,
                "the chain no longer holds row %lld as checkpointed at %s: rows were cut off or rewritten "
                "after it",
                (long long)cp->id, when);
        else
            res->checkpoints++;
    }
    if (rc == 0 && !res->bad_id && opts->states && opts->from_id == 0)
        rc = check_states(st, &w, err);
    while (w.recorded) {
        struct recorded *x = w.recorded;
        /* uthash frees its table with the last item; the analyzer does not follow that. */
        HASH_DEL(w.recorded, x); // NOLINT(clang-analyzer-unix.Malloc)
        free(x->object);
        free(x);
    }
    free(w.found);
    return rc;
}

int audit_commit(struct yj_ctx *ctx, int rc, const char *action, const char *object, json_t *detail,
                 struct yj_err *err)
{
    if (rc == 0) {
        char *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        rc = audit_append(ctx->store, yj_ctx_now(ctx), ctx->actor, action, object, d, 0, err);
        free(d);
    }
    json_decref(detail);
    if (rc == 0)
        return store_commit(ctx->store, err);
    store_rollback(ctx->store);
    return rc;
}
