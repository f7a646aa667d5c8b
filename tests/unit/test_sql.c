/* The SQL layer (src/store/sql.h) on both engines: the same statements, the same answers — on a
 * SQLite file and on a real PostgreSQL 15 started for the test (never a mock). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sql.h"
#include "test_util.h"

struct engine {
    const char *name;
    char *url;
    char *dir;
};

static struct engine engines[2];
static size_t n_engines;

static const char *ddl(struct sql_db *db)
{
    return sql_engine_of(db) == SQL_POSTGRES
               ? "CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                 "n BIGINT NOT NULL DEFAULT 0, note TEXT)"
               : "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n BIGINT NOT NULL DEFAULT 0, "
                 "note TEXT)";
}

static const char ins[] = "INSERT INTO t (name, n, note) VALUES ($1, $2, $3) RETURNING id";
static const char upsert[] =
    "INSERT INTO t (name, n) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET n = t.n + excluded.n RETURNING n";
static const char one[] = "SELECT id, name, n, note, '$1 stays' FROM t WHERE name = $1";
static const char bump[] = "UPDATE t SET n = n + $2 WHERE n >= $1";
static const char count[] = "SELECT count(*) FROM t";

static int64_t insert(struct sql_db *db, const char *name, int64_t n, const char *note, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(db, ins, err);
    assert_non_null(s);
    sql_bind_text(s, 1, name);
    sql_bind_int(s, 2, n);
    sql_bind_text(s, 3, note);
    int rc = sql_step(s, "inserting", err);
    int64_t id = rc == SQL_ROW ? sql_col_int(s, 0) : rc;
    sql_reset(s);
    return id;
}

static int64_t rows(struct sql_db *db)
{
    struct yj_err err;
    struct sql_stmt *s = sql_prepare(db, count, &err);
    assert_int_equal(sql_step(s, "counting", &err), SQL_ROW);
    int64_t n = sql_col_int(s, 0);
    sql_reset(s);
    return n;
}

/* Rows as "a|b|∅;" for sql_rows_many. */
static void collect(const char *const *values, const size_t *lens, size_t n, void *ud)
{
    char *out = ud;
    for (size_t i = 0; i < n; i++) {
        assert_true(!values[i] || strlen(values[i]) == lens[i]);
        strcat(out, values[i] ? values[i] : "∅");
        strcat(out, i + 1 < n ? "|" : ";");
    }
}

static void many_at_once(struct sql_db *db)
{
    struct yj_err err = {0};
    static const char *const reads[] = {
        "SELECT name, note FROM t WHERE n < $1 ORDER BY id",
        "SELECT count(*) FROM t WHERE n >= $1",
        "SELECT name FROM t WHERE n = $1 - 1000",
    };
    char out[256] = "";
    assert_int_equal(sql_rows_many(db, reads, 3, 50, collect, out, "reading three", &err), 0);
    assert_string_equal(out, "应急|∅;1;");
    /* A failure in the middle says what was being done, and the connection goes on. */
    static const char *const failing[] = {reads[1], "SELECT 1 / (CAST($1 AS BIGINT) - 50)", reads[0]};
    out[0] = 0;
    int rc = sql_rows_many(db, failing, 3, 50, collect, out, "reading three", &err);
    if (sql_engine_of(db) == SQL_POSTGRES) { /* SQLite's division by zero is NULL, not an error */
        assert_int_equal(rc, YJ_ESTORE);
        assert_non_null(strstr(err.msg, "reading three"));
        assert_non_null(strstr(err.msg, "division by zero"));
    }
    assert_int_equal(rows(db), 2);
    out[0] = 0;
    assert_int_equal(sql_rows_many(db, reads, 3, 6, collect, out, "reading three", &err), 0);
    assert_string_equal(out, "应急|∅;1;");
    /* Inside a transaction too, with what it wrote seen. */
    assert_int_equal(sql_begin(db, &err), 0);
    insert(db, "新", 1, "x", &err);
    out[0] = 0;
    assert_int_equal(sql_rows_many(db, reads, 2, 50, collect, out, "reading two", &err), 0);
    assert_string_equal(out, "应急|∅;新|x;1;");
    sql_rollback(db);
}

static const char ins_plain[] = "INSERT INTO t (name, n) VALUES ($1, $2)";

static int later(struct sql_db *db, const char *name, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(db, ins_plain, err);
    assert_non_null(s);
    sql_bind_text(s, 1, name);
    sql_bind_int(s, 2, 1);
    return sql_done_later(s, "storing later", err);
}

/* Writes sent ahead: their failure is told (by sql_flush, the next answering statement or the
 * commit) with what they were doing, and nothing of the transaction stays. */
static void sent_ahead(struct sql_db *db)
{
    struct yj_err err = {0};
    bool pg = sql_engine_of(db) == SQL_POSTGRES;
    int64_t before = rows(db);
    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(later(db, "先", &err), 0);
    assert_int_equal(later(db, "后", &err), 0);
    assert_int_equal(sql_flush(db, &err), 0);
    assert_int_equal(rows(db), before + 2); /* seen by the transaction's next read */
    /* A duplicate: SQLite says so at once, PostgreSQL at the flush. */
    int rc = later(db, "先", &err);
    if (pg) {
        assert_int_equal(rc, 0);
        rc = sql_flush(db, &err);
    }
    assert_int_equal(rc, YJ_ECONFLICT);
    assert_non_null(strstr(err.msg, "storing later"));
    sql_rollback(db);
    assert_int_equal(rows(db), before);
    /* Told by the commit: the commit fails and nothing is kept. */
    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(later(db, "三", &err), 0);
    rc = later(db, "三", &err);
    if (pg) {
        assert_int_equal(rc, 0);
        rc = sql_commit(db, &err);
    }
    assert_true(rc < 0);
    sql_rollback(db);
    assert_int_equal(rows(db), before);
    /* Many more than one round trip holds. */
    assert_int_equal(sql_begin(db, &err), 0);
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof(name), "批%d", i);
        assert_int_equal(later(db, name, &err), 0);
    }
    assert_int_equal(sql_commit(db, &err), 0);
    assert_int_equal(rows(db), before + 100);
    assert_int_equal(sql_exec(db, "DELETE FROM t WHERE name LIKE '批%'", &err), 0);
}

static void same_answers(struct engine *e)
{
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    if (sql_open(e->url, NULL, &db, &err) < 0)
        fail_msg("%s: %s", e->name, err.msg);
    assert_int_equal(sql_exec(db, ddl(db), &err), 0);

    /* RETURNING, NULL, UTF-8, a $1 inside a string left alone. */
    int64_t a = insert(db, "应急", 5, NULL, &err);
    int64_t b = insert(db, "值班", 7, "换班 #1", &err);
    assert_true(a > 0 && b > a);
    struct sql_stmt *s = sql_prepare(db, one, &err);
    sql_bind_text(s, 1, "应急");
    assert_int_equal(sql_step(s, "reading", &err), SQL_ROW);
    assert_int_equal(sql_col_int(s, 0), a);
    assert_string_equal(sql_col_text(s, 1), "应急");
    assert_int_equal(sql_col_int(s, 2), 5);
    assert_true(sql_col_null(s, 3));
    assert_null(sql_col_text(s, 3));
    assert_string_equal(sql_col_text(s, 4), "$1 stays");
    assert_int_equal(sql_step(s, "reading", &err), SQL_DONE);
    sql_reset(s);

    /* A unique violation is a conflict on both, with what was being done. */
    assert_int_equal(insert(db, "应急", 1, NULL, &err), YJ_ECONFLICT);
    assert_non_null(strstr(err.msg, "inserting"));

    /* Upsert adds up; an UPDATE says how many rows it changed. */
    s = sql_prepare(db, upsert, &err);
    sql_bind_text(s, 1, "值班");
    sql_bind_int(s, 2, 3);
    assert_int_equal(sql_step(s, "upserting", &err), SQL_ROW);
    assert_int_equal(sql_col_int(s, 0), 10);
    sql_reset(s);
    s = sql_prepare(db, bump, &err);
    sql_bind_int(s, 1, 6);
    sql_bind_int(s, 2, 100);
    assert_int_equal(sql_step(s, "bumping", &err), SQL_DONE);
    assert_int_equal(sql_changes(s), 1);
    sql_reset(s);

    many_at_once(db);
    sent_ahead(db);

    /* A rollback undoes; a savepoint's rollback undoes only its own part. */
    assert_int_equal(sql_begin(db, &err), 0);
    insert(db, "gone", 1, NULL, &err);
    sql_rollback(db);
    assert_int_equal(rows(db), 2);
    assert_int_equal(sql_begin(db, &err), 0);
    insert(db, "kept", 1, NULL, &err);
    assert_int_equal(sql_begin(db, &err), 0);
    insert(db, "undone", 1, NULL, &err);
    sql_rollback(db);
    assert_int_equal(sql_commit(db, &err), 0);
    assert_int_equal(rows(db), 3);
    assert_int_equal(sql_commit(db, &err), YJ_ESTATE);

    /* A statement that does not prepare says why; the connection goes on. */
    assert_null(sql_prepare(db, "SELECT nothing FROM nowhere", &err));
    assert_true(err.msg[0] != 0);
    assert_int_equal(rows(db), 3);
    sql_close(db);
}

static void test_both_engines(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_engines; i++) {
        same_answers(&engines[i]);
        print_message("same answers on %s\n", engines[i].name);
    }
}

static void test_open_errors(void **state)
{
    (void)state;
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open("mysql://x", NULL, &db, &err), YJ_EINVAL);
    assert_int_equal(sql_open("sqlite:/nonexistent/dir/x.db", NULL, &db, &err), YJ_EIO);
    /* A server that is not there: refused, and the message does not carry the password. */
    assert_int_equal(sql_open("postgresql://yingji:hunter2@127.0.0.1:1/x?connect_timeout=2", NULL, &db, &err), YJ_ESTORE);
    assert_null(strstr(err.msg, "hunter2"));
    assert_non_null(strstr(err.msg, "PostgreSQL"));
}

/* The writers of one process take the file in turn: a thread that commits and begins again at
 * once does not pass another that was already waiting (SQLite's own lock has no queue, and the
 * waiter, asleep in its busy handler, lost to it every time). */
struct turn {
    const char *url;
    atomic_int *order;
    int got; /* the order in which its transaction began */
    atomic_bool waiting;
};

static void *second_writer(void *arg)
{
    struct turn *t = arg;
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(t->url, NULL, &db, &err), 0);
    atomic_store(&t->waiting, true);
    if (sql_begin(db, &err) < 0)
        fail_msg("%s", err.msg);
    t->got = atomic_fetch_add(t->order, 1);
    insert(db, "second", 1, NULL, &err);
    assert_int_equal(sql_commit(db, &err), 0);
    sql_close(db);
    return NULL;
}

static void test_writers_in_turn(void **state)
{
    (void)state;
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(engines[0].url, NULL, &db, &err), 0);
    atomic_int order = 0;
    struct turn t = {.url = engines[0].url, .order = &order};
    assert_int_equal(sql_begin(db, &err), 0);
    atomic_fetch_add(&order, 1);
    pthread_t tid;
    pthread_create(&tid, NULL, second_writer, &t);
    while (!atomic_load(&t.waiting))
        usleep(1000);
    usleep(100000); /* the second writer is in its begin, waiting */
    insert(db, "first", 1, NULL, &err);
    assert_int_equal(sql_commit(db, &err), 0);
    /* At once again: the second writer's turn comes first. */
    assert_int_equal(sql_begin(db, &err), 0);
    int mine = atomic_fetch_add(&order, 1);
    insert(db, "third", 1, NULL, &err);
    assert_int_equal(sql_commit(db, &err), 0);
    pthread_join(tid, NULL);
    assert_int_equal(t.got, 1);
    assert_int_equal(mine, 2);
    sql_close(db);
}

/* A connection that defers its checkpoints lets the log grow past SQLite's 1,000 pages until
 * sql_checkpoint copies it back; one that does not keeps it short by itself. */
static int64_t wal_frames(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/t.db-wal", dir);
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)(sb.st_size / 4120) : 0;
}

static void fill(struct sql_db *db, int from)
{
    struct yj_err err = {0};
    char name[32], note[2048];
    memset(note, 'x', sizeof(note) - 1);
    note[sizeof(note) - 1] = 0;
    for (int batch = 0; batch < 40; batch++) {
        assert_int_equal(sql_begin(db, &err), 0);
        for (int i = 0; i < 50; i++) {
            snprintf(name, sizeof(name), "fill-%d-%d-%d", from, batch, i);
            assert_true(insert(db, name, i, note, &err) > 0);
        }
        assert_int_equal(sql_commit(db, &err), 0);
    }
}

static void test_deferred_checkpoints(void **state)
{
    (void)state;
    struct sql_db *db = NULL, *reader = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(engines[0].url, NULL, &db, &err), 0);
    /* Another connection keeps the file open: the last one to close would checkpoint. */
    assert_int_equal(sql_open(engines[0].url, NULL, &reader, &err), 0);
    assert_true(sql_defer_checkpoints(db));
    fill(db, 1);
    int64_t grown = wal_frames(engines[0].dir);
    assert_true(grown > 1500);
    int frames = 0, copied = 0;
    assert_int_equal(sql_checkpoint(db, &frames, &copied, &err), 0);
    assert_true(frames > 1500);
    assert_int_equal(copied, frames);
    /* Copied back: the next writes start the log over instead of growing it. */
    fill(db, 2);
    assert_int_equal(sql_checkpoint(db, &frames, &copied, &err), 0);
    assert_true(wal_frames(engines[0].dir) < grown * 3 / 2); /* not twice as long */
    sql_close(db);
    /* Not deferred: SQLite's own checkpoints keep the log near 1,000 pages. */
    assert_int_equal(sql_open(engines[0].url, NULL, &db, &err), 0);
    struct sql_stmt *s = sql_prepare(db, "PRAGMA wal_checkpoint(TRUNCATE)", &err);
    while (sql_step(s, "truncating", &err) == SQL_ROW)
        ;
    sql_reset(s);
    fill(db, 3);
    assert_true(wal_frames(engines[0].dir) < 1300);
    sql_close(db);
    sql_close(reader);
}

static bool woken_within(struct sql_db *listener, int ms)
{
    struct yj_err err = {0};
    bool woken = false;
    for (int waited = 0; !woken && waited < ms; waited += 50)
        assert_int_equal(sql_wait_events(listener, 50, &woken, &err), 0);
    return woken;
}

/* The wake-up is sent once a transaction, and again after a savepoint that sent it was undone
 * (PostgreSQL drops a notification its subtransaction's rollback undid). */
static void test_wake_up_once(void **state)
{
    (void)state;
    if (n_engines < 2)
        skip();
    struct sql_db *db = NULL, *listener = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(engines[1].url, NULL, &db, &err), 0);
    assert_int_equal(sql_open(engines[1].url, NULL, &listener, &err), 0);
    assert_int_equal(sql_listen_events(listener, &err), 0);

    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(sql_notify_events(db, &err), 0);
    assert_int_equal(sql_notify_events(db, &err), 0);
    assert_int_equal(sql_commit(db, &err), 0);
    assert_true(woken_within(listener, 2000));

    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(sql_notify_events(db, &err), 0);
    sql_rollback(db);
    assert_int_equal(sql_notify_events(db, &err), 0);
    assert_int_equal(sql_commit(db, &err), 0);
    assert_true(woken_within(listener, 2000));

    /* A rolled-back transaction wakes nobody; the next one does. */
    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(sql_notify_events(db, &err), 0);
    sql_rollback(db);
    assert_false(woken_within(listener, 300));
    assert_int_equal(sql_begin(db, &err), 0);
    assert_int_equal(sql_notify_events(db, &err), 0);
    assert_int_equal(sql_commit(db, &err), 0);
    assert_true(woken_within(listener, 2000));
    sql_close(listener);
    sql_close(db);
}

/* A write under the store's lock commits on PostgreSQL without waiting for the disk and then waits
 * outside the lock: what sql_commit said was committed must survive the server's crash at once
 * after (immediate stop: its memory, WAL buffers included, gone). Without the wait none of the
 * superuser's twenty did. */
static void test_commit_survives_crash(void **state)
{
    (void)state;
    if (n_engines < 2)
        skip();
    struct sql_db *db = NULL, *plain = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(engines[1].url, NULL, &db, &err), 0);
    /* A role the function was taken from (a hardened server) commits the old way, waiting under
     * the lock: as durable, and never refused. */
    assert_int_equal(sql_exec(db,
                              "CREATE TABLE durable (n BIGINT NOT NULL); CREATE ROLE plain LOGIN; "
                              "GRANT ALL ON durable TO plain; "
                              "REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC",
                              &err),
                     0);
    char *plain_url = strdup(engines[1].url);
    char *user = strstr(plain_url, "user=yingji");
    assert_non_null(user);
    memcpy(user, "user=plain\0", 11);
    assert_int_equal(sql_open(plain_url, NULL, &plain, &err), 0);
    for (int i = 1; i <= 40; i++) {
        struct sql_db *by = i % 2 ? db : plain;
        struct sql_stmt *s = sql_prepare(by, "INSERT INTO durable (n) VALUES ($1)", &err);
        assert_non_null(s);
        assert_int_equal(sql_begin(by, &err), 0);
        sql_bind_int(s, 1, i);
        assert_int_equal(sql_done(s, "inserting", &err), 0);
        assert_int_equal(sql_commit(by, &err), 0);
    }
    assert_int_equal(test_pg_ctl(engines[1].dir, "-m immediate stop"), 0);
    sql_close(plain);
    sql_close(db);
    free(plain_url);
    assert_int_equal(test_pg_ctl(engines[1].dir, "start"), 0);
    assert_int_equal(sql_open(engines[1].url, NULL, &db, &err), 0);
    struct sql_stmt *s = sql_prepare(db, "SELECT count(*) FROM durable", &err);
    int64_t n = 0;
    assert_int_equal(sql_one_int(s, "counting", &n, &err), 0);
    assert_int_equal(n, 40);
    sql_close(db);
}

/* A write sent ahead inside a savepoint that fails is the savepoint's failure, told by its commit,
 * so the caller undoes that savepoint alone and the transaction goes on (on both engines). */
static void test_savepoint_failure_contained(void **state)
{
    (void)state;
    for (size_t e = 0; e < n_engines; e++) {
        struct sql_db *db = NULL;
        struct yj_err err = {0};
        assert_int_equal(sql_open(engines[e].url, NULL, &db, &err), 0);
        assert_int_equal(sql_exec(db, "CREATE TABLE contained (name TEXT NOT NULL UNIQUE)", &err), 0);
        assert_int_equal(sql_begin(db, &err), 0);
        struct sql_stmt *s = sql_prepare(db, "INSERT INTO contained (name) VALUES ($1)", &err);
        sql_bind_text(s, 1, "one");
        assert_int_equal(sql_done_later(s, "inserting", &err), 0);
        assert_int_equal(sql_begin(db, &err), 0); /* the savepoint */
        s = sql_prepare(db, "INSERT INTO contained (name) VALUES ($1)", &err);
        sql_bind_text(s, 1, "one"); /* the same again: refused */
        int rc = sql_done_later(s, "inserting again", &err);
        if (rc == 0)
            rc = sql_commit(db, &err);
        assert_true(rc < 0);
        sql_rollback(db); /* the savepoint alone */
        s = sql_prepare(db, "INSERT INTO contained (name) VALUES ($1)", &err);
        sql_bind_text(s, 1, "two");
        assert_int_equal(sql_done_later(s, "inserting", &err), 0);
        assert_int_equal(sql_commit(db, &err), 0);
        s = sql_prepare(db, "SELECT count(*) FROM contained", &err);
        int64_t n = 0;
        assert_int_equal(sql_one_int(s, "counting", &n, &err), 0);
        assert_int_equal(n, 2);
        print_message("contained on %s\n", engines[e].name);
        sql_close(db);
    }
}

int main(void)
{
    char *dir = test_tmpdir();
    size_t n = strlen(dir) + 20;
    char *lite = malloc(n);
    snprintf(lite, n, "sqlite:%s/t.db", dir);
    engines[n_engines++] = (struct engine){"sqlite", lite, dir};
    char *pgdir = NULL;
    char *pg = test_pg_start(&pgdir);
    if (pg)
        engines[n_engines++] = (struct engine){"postgresql", pg, pgdir};
    else if (getenv("CI")) {
        fprintf(stderr, "PostgreSQL 15 is not installed, and CI tests both engines (apt-get install postgresql-15)\n");
        return 1;
    } else {
        fprintf(stderr, "PostgreSQL 15 is not installed: the SQL layer is tested on SQLite only\n");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_engines),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_writers_in_turn),
        cmocka_unit_test(test_deferred_checkpoints),
        cmocka_unit_test(test_wake_up_once),
        cmocka_unit_test(test_savepoint_failure_contained),
        cmocka_unit_test(test_commit_survives_crash),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (pg)
        test_pg_stop(pgdir);
    test_rmtree(dir);
    free(dir);
    free(lite);
    free(pg);
    return rc;
}
