/* store_lease.c: which node of those sharing a store runs the work that must happen once — the
 * clock's deadlines and escalations, the outbox, actions, the scheduled watchers (issue 16). On
 * PostgreSQL the owner holds an advisory lock on a connection of its own: the database lets go of
 * it the moment that connection ends (the node killed, its machine gone, the network cut), and
 * another node polling once a second takes it. The row in `leases` says who holds it and counts
 * the take-overs (the fencing token). On SQLite there is one node (the data directory's lock): it
 * holds the lease from the start. */
#include "../base/common.h"
#include "sql.h"
#include "store.h"

#include <stdbool.h>

struct store_lease {
    struct sql_db *db; /* a connection of its own: the lock lives and dies with it */
    char *holder;
    bool held;
    int64_t token;
};

static const char take_sql[] =
    "INSERT INTO leases (name, holder, token, since, renewed_at) VALUES ('work', $1, 1, $2, $2) ON CONFLICT "
    "(name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1, since = excluded.since, "
    "renewed_at = excluded.renewed_at RETURNING token";
static const char renew_sql[] = "UPDATE leases SET renewed_at = $1 WHERE name = 'work' AND token = $2";

int store_lease_open(const char *url, const char *password, const char *holder, struct store_lease **out,
                     struct yj_err *err)
{
    struct store_lease *l = xcalloc(1, sizeof(*l));
    int rc = sql_open(url, password, &l->db, err);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->holder = xstrdup(holder);
    *out = l;
    return 0;
}

void store_lease_free(struct store_lease *l)
{
    if (!l)
        return;
    sql_close(l->db);
    free(l->holder);
    free(l);
}

bool store_lease_shared(const struct store_lease *l)
{
    return !sql_lease_alone(l->db);
}

int store_lease_poll(struct store_lease *l, int64_t now, bool *held, int64_t *token, struct yj_err *err)
{
    int rc = 0;
    /* Alone on the store (SQLite): held since the first poll, and no row to renew — a write a
     * second on another connection would only queue behind the signals' writes, and they behind it. */
    if (l->held && sql_lease_alone(l->db)) {
        *held = true;
        *token = l->token;
        return 0;
    }
    if (l->held) {
        /* Still ours? The lock is asked for again, not assumed: a connection the driver made anew
         * after a cut no longer holds what the old one did. */
        bool still = false;
        rc = sql_lease_held(l->db, &still, err);
        if (rc == 0 && still) {
            struct sql_stmt *s = sql_prepare(l->db, renew_sql, err);
            if (!s)
                rc = YJ_ESTORE;
            else {
                sql_bind_int(s, 1, now);
                sql_bind_int(s, 2, l->token);
                rc = sql_step(s, "renewing the lease", err);
                int64_t changed = sql_changes(s);
                sql_reset(s);
                if (rc >= 0 && changed != 1)
                    still = false; /* another node's token: it took over */
                rc = rc < 0 ? rc : 0;
            }
        }
        l->held = rc == 0 && still;
    }
    if (!l->held && rc == 0) {
        bool got = false;
        rc = sql_lease_try(l->db, &got, err);
        if (rc == 0 && got) {
            struct sql_stmt *s = sql_prepare(l->db, take_sql, err);
            if (!s) {
                rc = YJ_ESTORE;
            } else {
                sql_bind_text(s, 1, l->holder);
                sql_bind_int(s, 2, now);
                rc = sql_insert_id(s, "taking the lease", &l->token, err);
            }
            l->held = rc == 0;
            if (rc < 0)
                sql_lease_release(l->db);
        }
    }
    *held = l->held;
    *token = l->token;
    return rc;
}
