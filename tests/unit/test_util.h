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
static inline char *test_pg_start(char **dir)
{
    if (access(TEST_PG_BIN "/initdb", X_OK) != 0)
        return NULL;
    *dir = test_tmpdir();
    const char *as = "";
    if (geteuid() == 0) {
        if (chown(*dir, 65534, 65534) != 0)
            abort();
        as = "setpriv --reuid=65534 --regid=65534 --clear-groups -- ";
    }
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "%s" TEST_PG_BIN "/initdb -N -D '%s/db' -U yingji -A trust -E UTF8 --locale=C.UTF-8 >'%s/initdb.log' 2>&1 && "
             "%s" TEST_PG_BIN "/pg_ctl -D '%s/db' -l '%s/server.log' -w -o \"-k '%s' -c listen_addresses='' -p 5432 "
             "-c fsync=off\" start >/dev/null",
             as, *dir, *dir, as, *dir, *dir, *dir);
    if (system(cmd) != 0) {
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
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s" TEST_PG_BIN "/pg_ctl -D '%s/db' -m immediate -w stop >/dev/null 2>&1",
             geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups -- " : "", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop PostgreSQL in %s\n", dir);
    test_rmtree(dir);
    free(dir);
}

#endif
