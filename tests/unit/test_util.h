/* Helpers shared by the unit tests: temporary data directories, a PostgreSQL of their own. */
#ifndef YJ_TEST_UTIL_H
#define YJ_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh directory under /tmp; caller frees the string and removes the tree with rmtree. */
static inline char *test_tmpdir(void)
{
    char tmpl[] = "/tmp/yj-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d)
        abort();
    return strdup(d);
}

static inline void test_rmtree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#include <sys/stat.h>
#include <unistd.h>

/* A PostgreSQL 15 of the test's own, from Debian's packages: initdb in a temporary directory as
 * an unprivileged user (nobody when the test runs as root: PostgreSQL refuses root), its Unix
 * socket in that directory and no TCP port. Returns the libpq URL (malloc'd) and the directory
 * in *dir (stop with test_pg_stop), or NULL when PostgreSQL 15 is not installed. */
#define TEST_PG_BIN "/usr/lib/postgresql/15/bin"
#define TEST_PG_AS(root) ((root) ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "")

/* pg_ctl on the test's server in dir: "start", "-m immediate stop" (a crash: its memory gone). */
static inline int test_pg_ctl(const char *dir, const char *what)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s" TEST_PG_BIN "/pg_ctl -D '%s/db' -l '%s/server.log' -w -o \"-k '%s' -c listen_addresses='' -p 5432 "
             "-c fsync=off\" %s >/dev/null 2>&1",
             TEST_PG_AS(geteuid() == 0), dir, dir, dir, what);
    return system(cmd);
}

static inline char *test_pg_start(char **dir)
{
    if (access(TEST_PG_BIN "/initdb", X_OK) != 0)
        return NULL;
    *dir = test_tmpdir();
    if (geteuid() == 0 && chown(*dir, 65534, 65534) != 0)
        abort();
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s" TEST_PG_BIN "/initdb -N -D '%s/db' -U yingji -A trust -E UTF8 --locale=C.UTF-8 >'%s/initdb.log' 2>&1",
             TEST_PG_AS(geteuid() == 0), *dir, *dir);
    if (system(cmd) != 0 || test_pg_ctl(*dir, "start") != 0) {
        fprintf(stderr, "could not start PostgreSQL in %s (see its logs there)\n", *dir);
        abort();
    }
    size_t size = strlen(*dir) + 80;
    char *url = malloc(size);
    snprintf(url, size, "postgresql:///postgres?host=%s&port=5432&user=yingji", *dir);
    return url;
}

static inline void test_pg_stop(char *dir)
{
    if (test_pg_ctl(dir, "-m immediate stop") != 0)
        fprintf(stderr, "could not stop PostgreSQL in %s\n", dir);
    test_rmtree(dir);
    free(dir);
}

/* ---- both engines ----
 * A suite of store tests runs twice: on SQLite files, then on the test's own PostgreSQL with a
 * fresh database per test (test_store_url). test_engines_next() moves to the next pass and says
 * whether there is one: PostgreSQL missing skips the second pass, except under CI, which tests
 * both engines and fails instead. */
#include "store/sql.h"

#include "base/err.h"

static char *test_pg_url;   /* the PostgreSQL pass's server, NULL on the SQLite pass */
static char *test_pg_dir;
static int test_pg_databases;

static inline const char *test_engine(void)
{
    return test_pg_url ? "postgresql" : "sqlite";
}

/* The store of one test: a file in its directory, or a new database (malloc'd URL). */
static inline char *test_store_url(const char *dir)
{
    size_t size = strlen(dir) + 256;
    char *url = malloc(size);
    if (!test_pg_url) {
        snprintf(url, size, "sqlite:%s/yingji.db", dir);
        return url;
    }
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    char sql[64];
    snprintf(sql, sizeof(sql), "CREATE DATABASE t%d", ++test_pg_databases);
    if (sql_open(test_pg_url, NULL, &db, &err) < 0 || sql_exec(db, sql, &err) < 0) {
        fprintf(stderr, "creating a test database: %s\n", err.msg);
        abort();
    }
    sql_close(db);
    snprintf(url, size, "postgresql:///t%d?host=%s&port=5432&user=yingji", test_pg_databases, test_pg_dir);
    return url;
}

/* Opens the store of a test's directory: the same store again when the directory is the same
 * (a test that reopens it), a fresh one for a new directory. */
#include "store/store.h"
static inline int test_store_open(const char *dir, struct store **st, struct yj_err *err)
{
    static char *last_dir, *last_url;
    if (!last_dir || strcmp(last_dir, dir) != 0 || (strncmp(last_url, "sqlite:", 7) == 0) != (test_pg_url == NULL)) {
        free(last_dir);
        free(last_url);
        last_dir = strdup(dir);
        last_url = test_store_url(dir);
    }
    return store_open(last_url, NULL, st, err);
}

/* Changes rows behind the store's back (as someone with the database would), on the store's own
 * connection; aborts the test on an SQL error. */
#include "store/store_internal.h"
static inline void test_sql_exec(struct store *st, const char *sql)
{
    struct yj_err err = {0};
    if (sql_exec(st->sql, sql, &err) < 0) {
        fprintf(stderr, "%s: %s\n", sql, err.msg);
        abort();
    }
}

/* Rows in a table. */
static inline int64_t test_count(struct store *st, const char *table)
{
    /* Statements are cached by their text's address: one string per table, kept. */
    static char *texts[32];
    size_t i = 0;
    char want[128];
    snprintf(want, sizeof(want), "SELECT count(*) FROM %s", table);
    while (i < 32 && texts[i] && strcmp(texts[i], want) != 0)
        i++;
    if (i == 32)
        abort();
    if (!texts[i])
        texts[i] = strdup(want);
    struct yj_err err = {0};
    int64_t n = -1;
    struct sql_stmt *q = sql_prepare(st->sql, texts[i], &err);
    if (!q || sql_one_int(q, "counting", &n, &err) < 0) {
        fprintf(stderr, "%s: %s\n", want, err.msg);
        abort();
    }
    return n;
}

/* "DROP TRIGGER name" in the engine's words (PostgreSQL names the table). */
static inline const char *test_drop_trigger(const char *name)
{
    static char buf[4][96];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof(buf[0]), "DROP TRIGGER %s%s", name, test_pg_url ? " ON timeline" : "");
    return b;
}

/* Call after each pass: 1 when another pass follows (PostgreSQL started), 0 when done. */
static inline int test_engines_next(void)
{
    if (test_pg_url) {
        free(test_pg_url);
        test_pg_url = NULL;
        test_pg_stop(test_pg_dir);
        test_pg_dir = NULL;
        return 0;
    }
    test_pg_url = test_pg_start(&test_pg_dir);
    if (!test_pg_url) {
        if (getenv("CI")) {
            fprintf(stderr, "PostgreSQL 15 is not installed, and CI tests both engines (apt-get install "
                            "postgresql-15)\n");
            exit(1);
        }
        fprintf(stderr, "skip: PostgreSQL 15 is not installed; the store's tests ran on SQLite only\n");
        return 0;
    }
    return 1;
}

#endif
