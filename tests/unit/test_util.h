/* Helpers shared by the unit tests: temporary data directories. */
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

#endif
