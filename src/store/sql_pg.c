/* sql_pg.c: the PostgreSQL driver of sql.h over libpq — statements prepared once per connection
 * (server-side, by name), parameters sent as text, results read row by row from one PGresult.
 * SQLSTATE says what a failure was: 23505 a unique violation (YJ_ECONFLICT), 53100 a full disk,
 * class 08 or a dead connection the database out of reach (YJ_ESTORE, "reconnects by itself"
 * is the caller's, issue 16). */
#include "../base/common.h"
#include "../base/err.h"
#include "sql_driver.h"

#include <libpq-fe.h>
#include <poll.h>

#define CACHE 128
#define MAX_PARAMS 64 /* an incident's UPDATE has 47 */
#define QUEUED 32     /* writes sent ahead at most: their answers stay small, libpq never blocks on them */

struct pg_stmt {
    struct sql_stmt base;
    const char *key; /* the caller's SQL, by pointer */
    char name[16];   /* the server-side prepared statement */
    int n_params;
    char *values[MAX_PARAMS];
    PGresult *res;
    int row; /* the current row; -1 before the first */
};

struct pg_db {
    struct sql_db base;
    PGconn *conn;
    char *secret;        /* the password the URL carries, kept out of every message */
    unsigned long named; /* server-side statements named so far (names are never reused) */
    struct pg_stmt cache[CACHE];
    size_t n_cache;
    /* Writes sent in a transaction without waiting for their answers (sql_done_later), in
     * libpq's pipeline mode; read at the next command that needs an answer, which goes in the
     * same round trip. What each was doing, for the error of the first that failed. */
    const char *queued[QUEUED];
    int n_queued;
    bool wait_outside; /* commits under the write lock wait for the disk after it (commit_durably) */
};

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("relation already exists, skipping") are not errors */
}

/* The first line of libpq's message (it ends with a newline and may carry a DETAIL). */
static void first_line(const char *msg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", msg ? msg : "");
    buf[strcspn(buf, "\n")] = 0;
}

/* libpq's messages may quote what it parsed, a password's tail included (an unencoded % or @):
 * whatever holds the password is cut out. */
static void redact(char *why, const char *secret)
{
    if (!secret || !*secret)
        return;
    size_t n = strlen(secret);
    for (char *at = strstr(why, secret); at; at = strstr(at + n, secret))
        memset(at, '*', n);
}

static int fail(struct pg_db *p, const PGresult *res, const char *doing, struct yj_err *err)
{
    char why[512];
    first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(p->conn), why, sizeof(why));
    if (!why[0])
        first_line(PQerrorMessage(p->conn), why, sizeof(why));
    redact(why, p->secret);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(p->conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0))
        return yj_err_set(err, YJ_ESTORE, "%s: lost the connection to PostgreSQL (%s)", doing, why);
    if (state && strcmp(state, "23505") == 0)
        return yj_err_set(err, YJ_ECONFLICT, "%s: already there (%s)", doing, why);
    if (state && strcmp(state, "53100") == 0)
        return yj_err_set(err, YJ_EIO, "%s: the database's disk is full (%s)", doing, why);
    return yj_err_set(err, YJ_ESTORE, "%s: %s", doing, why);
}

/* ---- writes sent ahead ---- */

/* Reads what is left of a pipeline up to its sync and leaves pipeline mode (after an error too:
 * the connection must be usable by the next statement, or broken and made again by pg_alive). */
static void pipeline_end(struct pg_db *p, bool synced)
{
    PGresult *r;
    for (int guard = 0; !synced && guard < 1000; guard++) {
        r = PQgetResult(p->conn);
        if (!r) {
            if (PQstatus(p->conn) != CONNECTION_OK)
                break;
            continue; /* the end of one command's answer */
        }
        synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    while (!PQexitPipelineMode(p->conn) && PQstatus(p->conn) == CONNECTION_OK && (r = PQgetResult(p->conn)))
        PQclear(r);
}

/* A send that failed: the queued writes' answers and the pipeline are given up (the transaction
 * fails whole). */
static void pipe_abandon(struct pg_db *p)
{
    p->n_queued = 0;
    pipeline_end(p, false);
}

/* Sends one more command into the pipeline: a prepared statement, or a text without parameters
 * (a savepoint, a commit). */
static int pipe_send(struct pg_db *p, const struct pg_stmt *ps, const char *text, const char *doing, struct yj_err *err)
{
    if (PQpipelineStatus(p->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(p->conn))
        return fail(p, NULL, doing, err);
    int ok = ps ? PQsendQueryPrepared(p->conn, ps->name, ps->n_params, (const char *const *)ps->values, NULL, NULL, 0)
                : PQsendQueryParams(p->conn, text, 0, NULL, NULL, NULL, NULL, 0);
    return ok ? 0 : fail(p, NULL, doing, err);
}

/* Reads one command's answer and the NULL that ends it: 0 when it succeeded (kept in *keep when
 * keep is given), else its failure — "aborted" when a command before it in the pipeline failed
 * (the caller keeps that one's message). */
static int read_answer(struct pg_db *p, const char *doing, PGresult **keep, struct yj_err *err)
{
    PGresult *r = PQgetResult(p->conn);
    if (!r)
        return fail(p, NULL, doing, err);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st == PGRES_PIPELINE_ABORTED)
        rc = yj_err_set(err, YJ_ESTORE, "%s: not run, a statement before it failed", doing);
    else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = fail(p, r, doing, err);
    if (rc == 0 && keep)
        *keep = r;
    else
        PQclear(r);
    if ((r = PQgetResult(p->conn)))
        PQclear(r);
    return rc;
}

/* After the sync: reads the answers of the queued writes, the first failure into err (0 when
 * all succeeded); the pipeline stays open for what was sent after them. */
static int read_queued(struct pg_db *p, struct yj_err *err)
{
    int rc = 0;
    struct yj_err later;
    for (int i = 0; i < p->n_queued; i++) {
        int one = read_answer(p, p->queued[i], NULL, rc == 0 ? err : &later);
        if (rc == 0)
            rc = one;
    }
    p->n_queued = 0;
    return rc;
}

/* After the sync: reads the answers of the queued writes (the first failure into err), then the
 * last command's when one was sent after them (into *last, for the caller), the sync, and leaves
 * pipeline mode. A failed write makes every later command of the pipeline "aborted": the last
 * command's answer is then the write's error. */
static int pipe_read(struct pg_db *p, const char *last_doing, PGresult **last, struct yj_err *err)
{
    int rc = read_queued(p, err);
    if (last) {
        struct yj_err later;
        int one = read_answer(p, last_doing, last, rc == 0 ? err : &later);
        if (rc == 0)
            rc = one;
    }
    pipeline_end(p, false);
    return rc;
}

static int pipe_sync(struct pg_db *p, const char *doing, struct yj_err *err)
{
    if (PQpipelineSync(p->conn))
        return 0;
    int rc = fail(p, NULL, doing, err);
    pipe_abandon(p);
    return rc;
}

/* The queued writes' answers, before a command that cannot join them. */
static int pipe_flush(struct pg_db *p, struct yj_err *err)
{
    if (!p->n_queued)
        return 0;
    int rc = pipe_sync(p, p->queued[0], err);
    return rc < 0 ? rc : pipe_read(p, NULL, NULL, err);
}

/* A command that needs its answer, sent after the queued writes in the same round trip. */
static int pipe_last(struct pg_db *p, const struct pg_stmt *ps, const char *text, const char *doing, PGresult **res,
                     struct yj_err *err)
{
    *res = NULL;
    int rc = pipe_send(p, ps, text, doing, err);
    if (rc < 0) {
        pipe_abandon(p);
        return rc;
    }
    if ((rc = pipe_sync(p, doing, err)) < 0)
        return rc;
    return pipe_read(p, doing, res, err);
}

static int pg_alive(struct pg_db *p, struct yj_err *err);

static int pg_queue(struct sql_db *db, struct sql_stmt *s, const char *text, const char *doing, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    /* The first of a transaction (its begin) makes a lost connection again, as a command run at
     * once does. */
    if (!p->n_queued && pg_alive(p, err) < 0)
        return YJ_ESTORE;
    int rc = p->n_queued == QUEUED ? pipe_flush(p, err) : 0;
    if (rc == 0 && (rc = pipe_send(p, (const struct pg_stmt *)s, text, doing, err)) < 0)
        pipe_abandon(p);
    if (rc == 0)
        p->queued[p->n_queued++] = doing;
    if (s) {
        struct pg_stmt *ps = (struct pg_stmt *)s;
        PQclear(ps->res);
        ps->res = NULL;
        ps->row = -1;
    }
    return rc;
}

static int pg_flush(struct sql_db *db, struct yj_err *err)
{
    return pipe_flush((struct pg_db *)db, err);
}

static void pg_reset(struct sql_stmt *s)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    PQclear(ps->res);
    ps->res = NULL;
    ps->row = -1;
}

static void pg_close(struct sql_db *db)
{
    struct pg_db *p = (struct pg_db *)db;
    for (size_t i = 0; i < p->n_cache; i++) {
        pg_reset(&p->cache[i].base);
        for (int k = 0; k < MAX_PARAMS; k++)
            free(p->cache[i].values[k]);
    }
    PQfinish(p->conn);
    free(p->secret);
    free(p);
}

/* Asked once a connection: a server that has taken the function from PUBLIC gets commits that
 * wait for the disk under the lock, as before. */
static const char durable_allowed[] =
    "SELECT has_function_privilege('pg_logical_emit_message(boolean, text, text)', 'EXECUTE')";

/* What every connection is set to once made (and made again). */
static bool pg_setup(struct pg_db *p)
{
    PQsetNoticeProcessor(p->conn, quiet, NULL);
    /* A writer waits for the write lock at most 5 s, as on SQLite; then the request fails (503)
     * instead of hanging behind a stuck writer. */
    char setup[256];
    snprintf(setup, sizeof(setup), "SET client_encoding = 'UTF8'; SET lock_timeout = '5s'; %s", durable_allowed);
    /* One round trip: PQexec answers with the last statement's result, or the first failure. */
    PGresult *r = PQexec(p->conn, setup);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    p->wait_outside = ok && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return ok;
}

static int pg_open(const char *url, const char *password, struct sql_db **out, struct yj_err *err)
{
    struct pg_db *p = xcalloc(1, sizeof(*p));
    p->base.drv = &sql_pg_driver;
    /* The URI expanded as dbname; a password given apart overrides the URI's. */
    const char *const keys[] = {"dbname", password ? "password" : NULL, NULL};
    const char *const values[] = {url, password, NULL};
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            p->secret = xstrdup(o->val);
    PQconninfoFree(opts);
    if (!p->secret && password)
        p->secret = xstrdup(password);
    p->conn = PQconnectdbParams(keys, values, 1);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char why[512];
        first_line(p->conn ? PQerrorMessage(p->conn) : "out of memory", why, sizeof(why));
        redact(why, p->secret);
        redact(why, password);
        /* The URL may hold a password: the message names the server libpq tried, not the URL. */
        yj_err_set(err, YJ_ESTORE, "cannot connect to PostgreSQL: %s", why);
        PQfinish(p->conn);
        free(p->secret);
        free(p);
        return YJ_ESTORE;
    }
    if (!pg_setup(p)) {
        int rc = yj_err_set(err, YJ_ESTORE, "PostgreSQL refused UTF-8 as the client encoding");
        pg_close(&p->base);
        return rc;
    }
    *out = &p->base;
    return 0;
}

/* A connection PostgreSQL dropped (a restart, a failover, a network cut) is made again before the
 * next statement outside a transaction: its prepared statements went with it, so the cache starts
 * over. Inside a transaction nothing is retried: the transaction is lost, its caller has the error
 * and rolls back, and the statement after that reconnects. */
static int pg_alive(struct pg_db *p, struct yj_err *err)
{
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    p->n_queued = 0; /* their answers went with the connection, and the transaction they were in */
    if (p->base.depth || (p->base.reading && p->base.read_open))
        return yj_err_set(err, YJ_ESTORE, "lost the connection to PostgreSQL inside a transaction");
    /* Not while a statement is still being read: its caller holds it, and starting the cache over
     * would hand its slot to another statement. */
    for (size_t i = 0; i < p->n_cache; i++)
        if (p->cache[i].res)
            return yj_err_set(err, YJ_ESTORE, "lost the connection to PostgreSQL while reading");
    for (size_t i = 0; i < p->n_cache; i++) {
        pg_reset(&p->cache[i].base);
        for (int k = 0; k < MAX_PARAMS; k++) {
            free(p->cache[i].values[k]);
            p->cache[i].values[k] = NULL;
        }
    }
    p->n_cache = 0;
    PQreset(p->conn);
    if (PQstatus(p->conn) != CONNECTION_OK || !pg_setup(p)) {
        char why[512];
        first_line(PQerrorMessage(p->conn), why, sizeof(why));
        return yj_err_set(err, YJ_ESTORE, "lost the connection to PostgreSQL and cannot make it again: %s", why);
    }
    return 0;
}

/* A write under the store's lock commits without waiting for the disk (synchronous_commit off
 * for it alone, set just before its COMMIT), and a transaction that does wait follows it in the
 * same round trip, after the lock is free: its commit record comes later in the WAL, so once it
 * is on disk so is ours. (It must write WAL of its own: a transaction that only took an id, as
 * pg_current_xact_id() does, commits without a flush.) The lock is then held for the statements,
 * not for the WAL's fsync, and the fsyncs of several writers are one (PostgreSQL's group commit). The caller hears of the commit only
 * when it is durable; other sessions may read it a flush earlier (docs/architecture.md). */
static const char durable_sql[] = "SELECT pg_logical_emit_message(true, 'yingji', 'durable')";

static int commit_durably(struct pg_db *p, const char *doing, struct yj_err *err)
{
    static const char waiting[] = "the commit went through, but waiting for it to reach the disk";
    int rc = 0;
    const char *const texts[] = {"SET LOCAL synchronous_commit = off", "COMMIT", durable_sql};
    for (size_t i = 0; rc == 0 && i < YJ_ARRAY_LEN(texts); i++)
        rc = pipe_send(p, NULL, texts[i], doing, err);
    if (rc < 0) {
        pipe_abandon(p);
        return rc;
    }
    if ((rc = pipe_sync(p, doing, err)) < 0)
        return rc;
    PGresult *commit = NULL;
    if ((rc = read_queued(p, err)) == 0 && (rc = read_answer(p, doing, NULL, err)) == 0 &&
        (rc = read_answer(p, doing, &commit, err)) == 0) {
        /* A COMMIT of a transaction that had failed answers OK with the tag ROLLBACK. */
        if (strcmp(PQcmdStatus(commit), "ROLLBACK") == 0)
            rc = yj_err_set(err, YJ_ESTORE, "%s: the transaction had failed and was rolled back", doing);
        else
            rc = read_answer(p, waiting, NULL, err);
    }
    PQclear(commit);
    /* The wait's own transaction commits at the sync: a failure before it is that commit's. */
    PGresult *r;
    while (rc == 0 && (r = PQgetResult(p->conn))) {
        bool synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        if (!synced)
            rc = fail(p, r, waiting, err);
        PQclear(r);
        if (synced) {
            pipeline_end(p, true);
            return 0;
        }
    }
    if (rc == 0)
        rc = fail(p, NULL, waiting, err);
    pipeline_end(p, false);
    return rc;
}

static int pg_run(struct sql_db *db, const char *script, const char *doing, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    if (pg_alive(p, err) < 0)
        return YJ_ESTORE;
    if (p->wait_outside && strcmp(script, "COMMIT") == 0 && p->base.depth == 1 && !p->base.unordered)
        return commit_durably(p, doing, err);
    PGresult *r = NULL;
    int rc;
    if (p->n_queued && !strchr(script, ';') && strncmp(script, "ROLLBACK", 8) != 0) {
        /* One command (a COMMIT, a savepoint's release): with the queued writes, one round trip. */
        if ((rc = pipe_last(p, NULL, script, doing, &r, err)) < 0)
            return rc;
    } else {
        /* A rollback comes after the queued writes' sync (a failed pipeline skips what follows
         * up to its sync), their errors moot; any other script after their answers. */
        struct yj_err flushed = {0};
        if ((rc = pipe_flush(p, &flushed)) < 0 && strncmp(script, "ROLLBACK", 8) != 0) {
            *err = flushed;
            return rc;
        }
        r = PQexec(p->conn, script);
        ExecStatusType st = PQresultStatus(r);
        rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : fail(p, r, doing, err);
    }
    /* A COMMIT of a transaction that had failed answers OK with the tag ROLLBACK: nothing was
     * committed, and the caller must hear so (SQLite would have said it at the failing write). */
    if (rc == 0 && strcmp(script, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = yj_err_set(err, YJ_ESTORE, "%s: the transaction had failed and was rolled back", doing);
    PQclear(r);
    return rc;
}

static int pg_exec(struct sql_db *db, const char *script, struct yj_err *err)
{
    return pg_run(db, script, "running SQL", err);
}

/* The highest $N: how many parameters to send. */
static void highest(char *dollar, void *ud)
{
    int *most = ud;
    long n = strtol(dollar + 1, NULL, 10);
    if (n > *most)
        *most = n > 1000 ? 1000 : (int)n;
}

static int count_params(const char *sql)
{
    int most = 0;
    char *copy = xstrdup(sql);
    sql_each_param(copy, highest, &most);
    free(copy);
    return most;
}

static struct sql_stmt *pg_prepare(struct sql_db *db, const char *sql, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    if (pg_alive(p, err) < 0)
        return NULL;
    for (size_t i = 0; i < p->n_cache; i++)
        if (p->cache[i].key == sql) {
            struct pg_stmt *s = &p->cache[i];
            pg_reset(&s->base);
            for (int k = 0; k < s->n_params; k++) {
                free(s->values[k]);
                s->values[k] = NULL;
            }
            return &s->base;
        }
    int n = count_params(sql);
    if (p->n_cache == CACHE || n > MAX_PARAMS) {
        yj_err_set(err, YJ_ESTORE, n > MAX_PARAMS ? "a statement with more than %d parameters"
                                                  : "more than %d distinct statements on one connection",
                   n > MAX_PARAMS ? MAX_PARAMS : CACHE);
        return NULL;
    }
    if (pipe_flush(p, err) < 0)
        return NULL;
    struct pg_stmt *s = &p->cache[p->n_cache];
    *s = (struct pg_stmt){.base = {db}, .key = sql, .n_params = n, .row = -1};
    snprintf(s->name, sizeof(s->name), "yj%lu", p->named++);
    PGresult *r = PQprepare(p->conn, s->name, sql, n, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fail(p, r, "preparing a statement", err);
    PQclear(r);
    if (!ok)
        return NULL;
    p->n_cache++;
    return &s->base;
}

static void pg_forget(struct sql_db *db, const char *sql)
{
    struct pg_db *p = (struct pg_db *)db;
    for (size_t i = 0; i < p->n_cache; i++)
        if (p->cache[i].key == sql) {
            struct pg_stmt *s = &p->cache[i];
            pg_reset(&s->base);
            for (int k = 0; k < MAX_PARAMS; k++)
                free(s->values[k]);
            struct yj_err ignored;
            (void)pipe_flush(p, &ignored);
            if (PQstatus(p->conn) == CONNECTION_OK) {
                char *q = xasprintf("DEALLOCATE %s", s->name);
                PQclear(PQexec(p->conn, q));
                free(q);
            }
            /* No statement is held while one is forgotten; names are never reused. */
            p->cache[i] = p->cache[--p->n_cache];
            return;
        }
}

static int pg_listen_events(struct sql_db *db, struct yj_err *err)
{
    return pg_run(db, "LISTEN yingji_events", "listening for events", err);
}

/* Waits on the connection's socket for a NOTIFY; a connection that broke says so, and the next
 * pg_listen_events makes it again. */
static int pg_wait_events(struct sql_db *db, int timeout_ms, bool *woken, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    *woken = false;
    int fd = PQsocket(p->conn);
    if (fd < 0 || PQstatus(p->conn) != CONNECTION_OK)
        return fail(p, NULL, "waiting for events", err);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        return yj_err_set(err, YJ_ESTORE, "waiting for events: %s", strerror(errno));
    if (n > 0 && !PQconsumeInput(p->conn))
        return fail(p, NULL, "waiting for events", err);
    PGnotify *note;
    while ((note = PQnotifies(p->conn))) {
        *woken = true;
        PQfreemem(note);
    }
    return 0;
}

char *sql_pg_describe(const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *user = "", *host = "", *port = "", *db = "";
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        const char *v = o->val ? o->val : "";
        if (strcmp(o->keyword, "user") == 0)
            user = v;
        else if (strcmp(o->keyword, "host") == 0)
            host = v;
        else if (strcmp(o->keyword, "port") == 0)
            port = v;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = v;
    }
    char *out = opts ? xasprintf("postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "", host, *port ? ":" : "", port, db)
                     : xstrdup("postgresql://(an address libpq cannot read)");
    PQconninfoFree(opts);
    return out;
}

static void set_value(struct sql_stmt *s, int i, char *v)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (i < 1 || i > ps->n_params) {
        free(v);
        return;
    }
    free(ps->values[i - 1]);
    ps->values[i - 1] = v;
}

static void pg_bind_int(struct sql_stmt *s, int i, int64_t v)
{
    set_value(s, i, xasprintf("%lld", (long long)v));
}

static void pg_bind_text(struct sql_stmt *s, int i, const char *v)
{
    set_value(s, i, v ? xstrdup(v) : NULL);
}

static int pg_step(struct sql_stmt *s, const char *doing, struct yj_err *err)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    struct pg_db *p = (struct pg_db *)s->db;
    if (!ps->res && p->n_queued) {
        /* After the queued writes, in their round trip. */
        int rc = pipe_last(p, ps, NULL, doing, &ps->res, err);
        if (rc < 0) {
            pg_reset(s);
            return rc;
        }
    }
    if (!ps->res) {
        ps->res = PQexecPrepared(p->conn, ps->name, ps->n_params, (const char *const *)ps->values, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(ps->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            int rc = fail(p, ps->res, doing, err);
            pg_reset(s);
            return rc;
        }
    }
    if (ps->row + 1 < PQntuples(ps->res)) {
        ps->row++;
        return SQL_ROW;
    }
    ps->row = PQntuples(ps->res);
    return SQL_DONE;
}

static int pg_each_rows(struct sql_db *db, struct sql_stmt *const *stmts, size_t n, sql_values_fn fn, void *ud,
                        const char *doing, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    int rc;
    /* After the queued writes, in their round trip (the state read after an incident's change). */
    for (size_t i = 0; i < n; i++)
        if ((rc = pipe_send(p, (const struct pg_stmt *)stmts[i], NULL, doing, err)) < 0) {
            pipe_abandon(p);
            return rc;
        }
    if ((rc = pipe_sync(p, doing, err)) < 0)
        return rc;
    if ((rc = read_queued(p, err)) < 0) {
        pipeline_end(p, false);
        return rc;
    }
    const char *values[MAX_PARAMS];
    size_t lens[MAX_PARAMS];
    for (size_t i = 0; i < n; i++) {
        PGresult *r = PQgetResult(p->conn);
        if (!r) {
            rc = fail(p, NULL, doing, err);
            break;
        }
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = fail(p, r, doing, err);
            PQclear(r);
            break;
        }
        int cols = PQnfields(r);
        cols = cols < MAX_PARAMS ? cols : MAX_PARAMS;
        for (int row = 0; row < PQntuples(r); row++) {
            for (int c = 0; c < cols; c++) {
                values[c] = PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
                lens[c] = values[c] ? (size_t)PQgetlength(r, row, c) : 0;
            }
            fn(values, lens, (size_t)cols, ud);
        }
        PQclear(r);
        /* NULL: the end of this statement's answer. */
        if ((r = PQgetResult(p->conn))) {
            PQclear(r);
            rc = yj_err_set(err, YJ_ESTORE, "%s: more answers than statements", doing);
            break;
        }
    }
    pipeline_end(p, false);
    return rc;
}

static int64_t pg_col_int(struct sql_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (!ps->res || PQgetisnull(ps->res, ps->row, col))
        return 0;
    /* A boolean (EXISTS, a comparison) reads as 1 or 0, as SQLite gives it. */
    const char *v = PQgetvalue(ps->res, ps->row, col);
    if ((v[0] == 't' || v[0] == 'f') && !v[1])
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *pg_col_text(struct sql_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    if (!ps->res || PQgetisnull(ps->res, ps->row, col))
        return NULL;
    return PQgetvalue(ps->res, ps->row, col);
}

static const char *pg_col_name(struct sql_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    return ps->res ? PQfname(ps->res, col) : NULL;
}

/* The identity's sequence set to the highest id written (a table without one has no sequence:
 * pg_get_serial_sequence is NULL and setval is not called). */
static int pg_ids_follow(struct sql_db *db, const char *table, struct yj_err *err)
{
    struct pg_db *p = (struct pg_db *)db;
    char *q = PQescapeIdentifier(p->conn, table, strlen(table));
    char *lit = PQescapeLiteral(p->conn, table, strlen(table));
    if (!q || !lit) {
        PQfreemem(q);
        PQfreemem(lit);
        return yj_err_set(err, YJ_ESTORE, "naming table %s: %s", table, PQerrorMessage(p->conn));
    }
    char *sql = xasprintf("SELECT setval(s, (SELECT coalesce(max(id), 0) + 1 FROM %s), false) FROM "
                          "(SELECT pg_get_serial_sequence(%s, 'id') AS s) q WHERE s IS NOT NULL",
                          q, lit);
    PQfreemem(q);
    PQfreemem(lit);
    int rc = pg_run(db, sql, "moving an identity past the copied rows", err);
    free(sql);
    return rc;
}

static bool pg_col_null(struct sql_stmt *s, int col)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    return !ps->res || PQgetisnull(ps->res, ps->row, col);
}

static int pg_col_count(struct sql_stmt *s)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    return ps->res ? PQnfields(ps->res) : 0;
}

static int64_t pg_changes(struct sql_stmt *s)
{
    struct pg_stmt *ps = (struct pg_stmt *)s;
    const char *n = ps->res ? PQcmdTuples(ps->res) : "";
    return *n ? strtoll(n, NULL, 10) : 0;
}

const struct sql_driver sql_pg_driver = {
    .engine = SQL_POSTGRES,
    .name = "postgresql",
    /* A write takes the store's one write lock at once, as SQLite's BEGIN IMMEDIATE does: the
     * audit chain's next row is the head's plus one, and incident numbers are counted per year,
     * so writers go one at a time (on every node: the lock is the database's). Reads never wait. */
    .begin = "BEGIN; SELECT pg_advisory_xact_lock(1229146192)",
    .begin_unordered = "BEGIN",
    /* READ COMMITTED sees what is committed statement by statement with or without a BEGIN: a
     * request's reads skip the two round trips (measured: GET one incident 8.2k → see bench). */
    .read_begin = NULL,
    .snapshot_begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    /* Nodes starting together: one migrates, the others wait and find it done. */
    .lock_schema = "SELECT pg_advisory_xact_lock(1229146191)",
    /* A standby (after a failover the old primary may come back as one) or a database set read-only
     * answers reads and refuses writes. */
    /* A session's advisory lock (the key a 64-bit number: classid 0, objid the key, objsubid 1). */
    .lease_try = "SELECT pg_try_advisory_lock(1229146193)",
    .lease_held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = "
                  "1229146193 AND objsubid = 1 AND pid = pg_backend_pid() AND granted",
    .lease_release = "SELECT pg_advisory_unlock(1229146193)",
    /* Delivered when the transaction commits; the same one twice in a transaction is sent once. */
    .notify_events = "SELECT pg_notify('yingji_events', '')",
    .listen_events = pg_listen_events,
    .wait_events = pg_wait_events,
    .writable = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
    .run = pg_run,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind_int = pg_bind_int,
    .bind_text = pg_bind_text,
    .step = pg_step,
    .col_int = pg_col_int,
    .col_text = pg_col_text,
    .col_null = pg_col_null,
    .col_count = pg_col_count,
    .col_name = pg_col_name,
    .ids_follow = pg_ids_follow,
    .changes = pg_changes,
    .reset = pg_reset,
    .each_rows = pg_each_rows,
    .queue = pg_queue,
    .flush = pg_flush,
    .forget = pg_forget,
};
