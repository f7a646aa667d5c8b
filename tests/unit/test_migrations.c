/* The two engines' migrations end with the same schema: every SQLite migration applied to a
 * SQLite file and every PostgreSQL one (the same numbers) to a PostgreSQL 15 the test starts
 * give the same tables, columns, NOT NULLs and named indexes. A migration written for one engine
 * only fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include "base/err.h"
#include "store/sql.h"
#include "test_util.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = 0;
    return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Applies every .sql file of src/store/migrations/ENGINE in order, each in a transaction; returns
 * how many. */
static int migrate(struct sql_db *db, const char *engine, char names[][256], int max)
{
    const char *src = getenv("YJ_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/src/store/migrations/%s", src ? src : ".", engine);
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, by_name), applied = 0;
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(list[i]->d_name);
        if (len > 4 && strcmp(list[i]->d_name + len - 4, ".sql") == 0 && applied < max) {
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
            char *script = read_file(path);
            struct yj_err err = {0};
            assert_int_equal(sql_begin(db, &err), 0);
            if (sql_exec(db, script, &err) < 0)
                fail_msg("%s/%s: %s", engine, list[i]->d_name, err.msg);
            assert_int_equal(sql_commit(db, &err), 0);
            free(script);
            snprintf(names[applied++], 256, "%s", list[i]->d_name);
        }
        free(list[i]);
    }
    free(list);
    return applied;
}

/* "table.column notnull" lines, then "index name" lines, sorted, in one string. */
static char *schema(struct sql_db *db)
{
    static const char lite_cols[] =
        "SELECT m.name || '.' || p.name || ' ' || (CASE WHEN p.\"notnull\" OR p.pk > 0 THEN 'not null' ELSE 'null' END) "
        "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' "
        "UNION ALL SELECT 'index ' || name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1";
    static const char pg_cols[] =
        "SELECT table_name || '.' || column_name || ' ' || (CASE is_nullable WHEN 'NO' THEN 'not null' ELSE 'null' END) "
        "FROM information_schema.columns WHERE table_schema = 'public' UNION ALL SELECT 'index ' || indexname FROM "
        "pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' "
        "ORDER BY 1";
    struct yj_err err = {0};
    struct sql_stmt *s = sql_prepare(db, sql_engine_of(db) == SQL_POSTGRES ? pg_cols : lite_cols, &err);
    if (!s)
        fail_msg("%s", err.msg);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    while (sql_step(s, "reading the schema", &err) == SQL_ROW) {
        const char *line = sql_col_text(s, 0);
        size_t n = strlen(line);
        while (len + n + 2 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, line, n);
        len += n;
        out[len++] = '\n';
        out[len] = 0;
    }
    sql_reset(s);
    return out;
}

static void test_same_schema(void **state)
{
    (void)state;
    char *pgdir = NULL;
    char *pg = test_pg_start(&pgdir);
    if (!pg) {
        if (getenv("CI"))
            fail_msg("PostgreSQL 15 is not installed, and CI tests both engines (apt-get install postgresql-15)");
        skip();
    }
    char *dir = test_tmpdir();
    char lite_url[1100];
    snprintf(lite_url, sizeof(lite_url), "sqlite:%s/m.db", dir);
    struct sql_db *lite = NULL, *post = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(lite_url, NULL, &lite, &err), 0);
    if (sql_open(pg, NULL, &post, &err) < 0)
        fail_msg("%s", err.msg);
    static char lite_names[128][256], pg_names[128][256];
    int nl = migrate(lite, "sqlite", lite_names, 128);
    int np = migrate(post, "postgresql", pg_names, 128);
    assert_int_equal(nl, np);
    for (int i = 0; i < nl; i++)
        assert_string_equal(lite_names[i], pg_names[i]); /* the same numbering */
    char *a = schema(lite), *b = schema(post);
    if (strcmp(a, b) != 0) {
        /* The first line that differs, for the reader. */
        const char *x = a, *y = b;
        while (*x && *x == *y)
            x++, y++;
        while (x > a && x[-1] != '\n')
            x--, y--;
        fail_msg("the schemas differ: sqlite has \"%.*s\", postgresql \"%.*s\"", (int)strcspn(x, "\n"), x,
                 (int)strcspn(y, "\n"), y);
    }
    assert_true(strlen(a) > 1000);
    free(a);
    free(b);
    sql_close(lite);
    sql_close(post);
    test_pg_stop(pgdir);
    free(pg);
    test_rmtree(dir);
    free(dir);
}

/* PostgreSQL keeps the timeline append-only as SQLite's trigger does. */
static void test_pg_timeline_append_only(void **state)
{
    (void)state;
    char *pgdir = NULL;
    char *pg = test_pg_start(&pgdir);
    if (!pg)
        skip();
    struct sql_db *db = NULL;
    struct yj_err err = {0};
    assert_int_equal(sql_open(pg, NULL, &db, &err), 0);
    static char names[128][256];
    migrate(db, "postgresql", names, 128);
    assert_int_equal(sql_exec(db,
                              "INSERT INTO incidents (number, year, seq, title, type, class, level, national_level, "
                              "gbt_category, gbt_subcategory, status, unit, reporter, reported_at, updated_at) VALUES "
                              "('YJ-2026-0001', 2026, 1, 't', 'x', 'c', 'l', 4, 'g', 's', 'reported', 'u', 'r', 1, 1);"
                              "INSERT INTO timeline (incident_id, at, actor, kind, body) VALUES (1, 1, 'a', 'k', '{}')",
                              &err),
                     0);
    assert_int_equal(sql_exec(db, "UPDATE timeline SET body = '{\"x\":1}'", &err), YJ_ESTORE);
    assert_non_null(strstr(err.msg, "append-only"));
    assert_int_equal(sql_exec(db, "DELETE FROM timeline", &err), YJ_ESTORE);
    sql_close(db);
    test_pg_stop(pgdir);
    free(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_schema),
        cmocka_unit_test(test_pg_timeline_append_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
