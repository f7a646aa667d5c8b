/* store_copy.c: `yingji db copy` — every row of one store into another, empty one, across engines
 * (SQLite to PostgreSQL the day one machine is outgrown, and back for a drill). Rows keep their
 * ids, so links between tables, incident numbers and the audit chain (whose hashes cover the rows'
 * values as text, the same on both engines) arrive as they were. */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* Every table, parents before children (the order of the migrations that made them), with the
 * key a page of rows is read by: an integer id pages by keyset, the others by offset (monitors'
 * id is the config's text). The leases are not copied: they are the running nodes'. */
static const struct copy_table {
    const char *name, *key;
    bool text_id; /* an id that is not a number */
} tables[] = {
    {"incidents", "id", false},
    {"deadlines", "id", false},
    {"timeline", "id", false},
    {"audit_log", "id", false},
    {"audit_head", "one", false},
    {"users", "id", false},
    {"sessions", "id", false},
    {"api_tokens", "id", false},
    {"login_failures", "key", false},
    {"events", "id", false},
    {"signals", "id", false},
    {"log_positions", "path", false},
    {"escalations", "id", false},
    {"notifications", "id", false},
    {"deliveries", "id", false},
    {"tasks", "id", false},
    {"blocks", "id", false},
    {"attachments", "id", false},
    {"monitors", "id", true},
    {"monitor_hours", "monitor, hour", false},
    {"monitor_changes", "id", false},
    {"integrity_files", "watch, path", false},
    {"integrity_baselines", "watch", false},
    {"login_devices", "token_hash", false},
    {"plan_identity", "\"only\"", false},
    {"ack_links", "id", false},
    {"directory_edits", "kind, key", false},
    {"shift_swaps", "id", false},
};

#define PAGE 2000

/* The statements of one table's copy. Kept until the whole copy ends: sql_prepare caches by the
 * text's address, which a freed string's successor could take. */
struct copy_sql {
    char *read;   /* a page of rows */
    char *insert; /* built from the first page's column names */
};

static int copy_table(struct store *from, struct store *to, const struct copy_table *t, struct copy_sql *qs,
                      int64_t *rows, struct yj_err *err)
{
    bool by_id = strcmp(t->key, "id") == 0 && !t->text_id;
    struct copy_sql q = {0};
    q.read = by_id ? xasprintf("SELECT * FROM %s WHERE id > $2 ORDER BY id LIMIT $1", t->name)
                   : xasprintf("SELECT * FROM %s ORDER BY %s LIMIT $1 OFFSET $2", t->name, t->key);
    int64_t after = 0, offset = 0, n = 0;
    int rc = 0;
    for (;;) {
        struct sql_stmt *r = sql_prepare(from->sql, q.read, err);
        if (!r) {
            rc = YJ_ESTORE;
            break;
        }
        sql_bind_int(r, 1, PAGE);
        sql_bind_int(r, 2, by_id ? after : offset);
        int got = 0, step;
        while ((step = sql_step(r, "reading the store to copy", err)) == SQL_ROW) {
            int cols = sql_col_count(r);
            if (!q.insert) {
                char *names = NULL, *marks = NULL;
                size_t nl = 0, ml = 0;
                FILE *fn = open_memstream(&names, &nl), *fm = open_memstream(&marks, &ml);
                for (int i = 0; i < cols; i++) {
                    const char *c = sql_col_name(r, i);
                    /* Reserved in PostgreSQL: quoted on both. */
                    bool quote = strcmp(c, "offset") == 0 || strcmp(c, "only") == 0;
                    fprintf(fn, "%s%s%s%s", i ? ", " : "", quote ? "\"" : "", c, quote ? "\"" : "");
                    fprintf(fm, "%s$%d", i ? ", " : "", i + 1);
                }
                fclose(fn);
                fclose(fm);
                q.insert = xasprintf("INSERT INTO %s (%s) VALUES (%s)", t->name, names, marks);
                free(names);
                free(marks);
            }
            struct sql_stmt *w = sql_prepare(to->sql, q.insert, err);
            if (!w) {
                rc = YJ_ESTORE;
                break;
            }
            for (int i = 0; i < cols; i++)
                sql_bind_text(w, i + 1, sql_col_text(r, i));
            /* Sent ahead on PostgreSQL, 32 rows a round trip; a failure is told by a later row or
             * at the table's end (sql_flush), still in this table. */
            if ((rc = sql_done_later(w, "writing the copy", err)) < 0)
                break;
            if (by_id)
                after = sql_col_int(r, 0);
            got++;
        }
        sql_reset(r);
        if (rc < 0)
            break;
        if (step < 0) {
            rc = step;
            break;
        }
        n += got;
        offset += got;
        if (got < PAGE)
            break;
    }
    if (rc == 0)
        rc = sql_flush(to->sql, err);
    if (rc == 0 && by_id && n)
        rc = sql_ids_follow(to->sql, t->name, err);
    if (rc < 0)
        yj_err_prefix(err, "%s: ", t->name);
    *qs = q;
    *rows = n;
    return rc;
}

int store_copy_check(struct store *from, struct store *to, struct yj_err *err)
{
    int have = 0, want = 0, latest = 0;
    int rc = store_schema_version(from, &have, &latest, err);
    if (rc == 0)
        rc = store_schema_version(to, &want, NULL, err);
    if (rc < 0)
        return rc;
    if (have != latest || want != latest)
        return yj_err_set(err, YJ_ESTATE, "both stores must be at schema version %d (from %d, to %d): run "
                                          "yingji db migrate on each", latest, have, want);
    /* Only into an empty store: a copy never merges two histories (the audit chains would fork). */
    static const char any[] = "SELECT (SELECT count(*) FROM incidents) + (SELECT count(*) FROM audit_log) + "
                              "(SELECT count(*) FROM users) + (SELECT count(*) FROM signals)";
    struct sql_stmt *s = sql_prepare(to->sql, any, err);
    int64_t rows = 0;
    if (!s || (rc = sql_one_int(s, "looking into the copy's target", &rows, err)) < 0)
        return s ? rc : YJ_ESTORE;
    if (rows > 0)
        return yj_err_set(err, YJ_ECONFLICT, "%s already holds data: a copy goes into a new, empty store",
                          store_path(to));
    return 0;
}

int store_copy(struct store *from, struct store *to, store_copy_cb cb, void *ud, struct yj_err *err)
{
    int rc = store_copy_check(from, to, err);
    if (rc < 0)
        return rc;
    /* One state of the source however long the copy takes (other nodes may be writing to it). */
    if ((rc = sql_snapshot_begin(from->sql, err)) < 0)
        return rc;
    if ((rc = store_begin(to, err)) < 0) {
        store_rollback(from);
        return rc;
    }
    struct copy_sql qs[YJ_ARRAY_LEN(tables)] = {{0}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(tables) && rc == 0; i++) {
        int64_t n = 0;
        rc = copy_table(from, to, &tables[i], &qs[i], &n, err);
        if (rc == 0 && cb)
            cb(tables[i].name, n, ud);
    }
    store_rollback(from);
    if (rc < 0)
        store_rollback(to);
    else
        rc = store_commit(to, err);
    for (size_t i = 0; i < YJ_ARRAY_LEN(tables); i++) {
        if (qs[i].read)
            sql_forget(from->sql, qs[i].read);
        if (qs[i].insert)
            sql_forget(to->sql, qs[i].insert);
        free(qs[i].read);
        free(qs[i].insert);
    }
    return rc;
}
