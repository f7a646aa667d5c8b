/* Unit tests of the store, on both engines (SQLite, then a PostgreSQL of the test's own):
 * migrations, incidents, optimistic versions, append-only timeline, edits and swaps; on SQLite
 * also the backup and a full disk (the connection reached through store_internal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/store/store_internal.h"
#include "../../src/store/store.h"
#include "../../src/store/sql.h"
#include "../../src/store/sql_driver.h"
#include "base/common.h"

#include <sqlite3.h>
#include "test_util.h"

struct fixture {
    char *dir;
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_tmpdir();
    struct yj_err err;
    /* test_store_open: a second connection to the same store opens the same again. */
    int rc = test_store_open(f->dir, &f->st, &err);
    if (rc < 0 || store_migrate(f->st, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->st);
    test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void sample(struct store_incident *inc, int64_t seq)
{
    memset(inc, 0, sizeof(*inc));
    inc->number = xasprintf("YJ-2026-%04lld", (long long)seq);
    inc->title = xstrdup("机房渗水 'quoted'; DROP TABLE incidents; --");
    inc->type = xstrdup("machine_room_water");
    inc->class_id = xstrdup("infosec");
    inc->level = xstrdup("important");
    inc->gbt_category = xstrdup("facility");
    inc->gbt_subcategory = xstrdup("facility.physical");
    inc->status = xstrdup("reported");
    inc->unit = xstrdup(seq % 2 ? "it_office" : "publicity");
    inc->reporter = xstrdup("cli:test");
    inc->assets = xstrdup("[]");
    inc->national_level = 3;
    inc->year = 2026;
    inc->seq = seq;
    inc->reported_at = 1700000000000 + seq;
    inc->updated_at = inc->reported_at;
    inc->version = 1;
}

static void test_migrate_idempotent(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    int applied = -1, current = 0, latest = 0;
    assert_int_equal(store_migrate(f->st, &applied, &err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(store_schema_version(f->st, &current, &latest, &err), 0);
    assert_int_equal(current, latest);
    assert_true(latest >= 1);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    assert_int_equal(sql_exec(f->st->sql, "INSERT INTO schema_migrations VALUES (99, 'future', 0)", &err), 0);
    assert_int_equal(store_migrate(f->st, NULL, &err), YJ_ESTORE);
    assert_non_null(strstr(err.msg, "newer than this yingji knows"));
}

static int count_cb(const struct store_incident *inc, void *ud)
{
    (void)inc;
    (*(int *)ud)++;
    return 0;
}

static void test_incident_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a, b;
    for (int64_t i = 1; i <= 5; i++) {
        sample(&a, i);
        assert_int_equal(store_begin(f->st, &err), 0);
        int64_t seq;
        assert_int_equal(store_incident_next_seq(f->st, 2026, &seq, &err), 0);
        assert_true(seq == i);
        assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
        assert_int_equal(store_commit(f->st, &err), 0);
        assert_true(a.id == i);
        store_incident_release(&a);
    }
    assert_int_equal(store_incident_get(f->st, 3, NULL, &b, &err), 0);
    assert_string_equal(b.title, "机房渗水 'quoted'; DROP TABLE incidents; --");
    assert_string_equal(b.number, "YJ-2026-0003");
    assert_null(b.source);
    assert_true(b.acknowledged_at == 0);
    store_incident_release(&b);
    assert_int_equal(store_incident_get(f->st, 0, "YJ-2026-0005", &b, &err), 0);
    assert_true(b.id == 5);
    store_incident_release(&b);
    assert_int_equal(store_incident_get(f->st, 0, "YJ-2026-0099", &b, &err), YJ_ENOTFOUND);
    assert_int_equal(store_incident_get(f->st, 99, NULL, &b, &err), YJ_ENOTFOUND);

    int n = 0;
    struct store_incident_filter flt = {.unit = "it_office", .drill = -1};
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 3);
    n = 0;
    flt = (struct store_incident_filter){.drill = -1, .has_cursor = true, .cursor_id = 4, .limit = 2};
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 2);
    n = 0;
    flt = (struct store_incident_filter){.drill = -1, .text = "DROP TABLE"};
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 5);
    n = 0;
    flt = (struct store_incident_filter){.drill = -1, .text = "100%"}; /* % is literal, not a wildcard */
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 0);
    n = 0;
    flt = (struct store_incident_filter){.drill = -1, .visible_unit = "publicity", .visible_reporter = "nobody"};
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 2);
    n = 0;
    flt = (struct store_incident_filter){.drill = 1};
    assert_int_equal(store_incident_list(f->st, &flt, count_cb, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_optimistic_version(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a;
    sample(&a, 1);
    assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
    free(a.status);
    a.status = xstrdup("assessing");
    assert_int_equal(store_incident_update(f->st, &a, 1, &err), 0);
    assert_true(a.version == 2);
    /* A writer still holding version 1 loses, and nothing changes. */
    free(a.status);
    a.status = xstrdup("dismissed");
    assert_int_equal(store_incident_update(f->st, &a, 1, &err), YJ_ESTATE);
    assert_true(a.version == 2);
    struct store_incident b;
    assert_int_equal(store_incident_get(f->st, a.id, NULL, &b, &err), 0);
    assert_string_equal(b.status, "assessing");
    store_incident_release(&b);
    store_incident_release(&a);
}

static void test_timeline_append_only(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a;
    sample(&a, 1);
    assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
    assert_int_equal(store_timeline_append(f->st, a.id, 1, "t", "note", "{\"text\":\"x\"}", &err), 0);
    assert_true(sql_exec(f->st->sql, "UPDATE timeline SET body = '{}'", &err) < 0);
    assert_non_null(strstr(err.msg, "append-only"));
    assert_true(sql_exec(f->st->sql, "DELETE FROM timeline", &err) < 0);
    store_incident_release(&a);
}

static void test_deadlines(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a;
    sample(&a, 1);
    assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
    struct store_deadline d = {.incident_id = a.id, .kind = "assessment", .due_at = 5000};
    assert_int_equal(store_deadline_insert(f->st, &d, &err), 0);
    struct store_deadline d2 = {.incident_id = a.id, .kind = "report", .due_at = 1000, .met_at = 900};
    assert_int_equal(store_deadline_insert(f->st, &d2, &err), 0);
    assert_int_equal(store_deadline_insert(f->st, &d2, &err), YJ_ECONFLICT); /* one per kind */
    assert_int_equal(store_deadline_meet(f->st, a.id, "assessment", 4000, &err), 0);
    assert_int_equal(store_deadline_meet(f->st, a.id, "assessment", 4500, &err), 0); /* already met: kept */
    struct store_deadline out[4];
    size_t n = 0;
    assert_int_equal(store_deadline_list(f->st, a.id, out, 4, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].kind, "report");
    assert_true(out[1].met_at == 4000);
    store_incident_release(&a);
}

/* The console's edits: the last made applies last, a secret left out is kept, a missing one is
 * said so; a swap is answered once. */
struct edits_seen {
    char keys[8][32];
    char secret[32];
    size_t n;
};

static int seen_edit(const struct store_edit *e, void *ud)
{
    struct edits_seen *s = ud;
    if (s->n < 8)
        snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s:%s", e->kind, e->key);
    if (e->secret)
        snprintf(s->secret, sizeof(s->secret), "%s", e->secret);
    return 0;
}

static void test_edits_and_swaps(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    assert_int_equal(store_edit_put(f->st, "person", "a", "{}", NULL, 1, "user:x", &err), 0);
    assert_int_equal(store_edit_put(f->st, "rotation", "r", "{}", NULL, 2, "user:x", &err), 0);
    assert_int_equal(store_edit_put(f->st, "channel", "c", "{}", "s3cret", 3, "user:x", &err), 0);
    assert_int_equal(store_edit_put(f->st, "person", "a", "{\"v\": 2}", NULL, 4, "user:x", &err), 0);
    assert_int_equal(store_edit_put(f->st, "channel", "c", "{\"v\": 2}", NULL, 5, "user:x", &err), 0);
    struct edits_seen all = {0};
    assert_int_equal(store_edit_list(f->st, NULL, seen_edit, &all, &err), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.keys[0], "rotation:r");
    assert_string_equal(all.keys[1], "person:a");
    assert_string_equal(all.keys[2], "channel:c");
    assert_string_equal(all.secret, "s3cret");
    struct edits_seen channels = {0};
    assert_int_equal(store_edit_list(f->st, "channel", seen_edit, &channels, &err), 0);
    assert_int_equal(channels.n, 1);
    assert_int_equal(store_edit_delete(f->st, "channel", "c", &err), 0);
    assert_int_equal(store_edit_delete(f->st, "channel", "c", &err), YJ_ENOTFOUND);

    struct store_swap w = {.rotation = "r", .date = "2026-12-05", .requester = "a", .taker = "b", .created_at = 1,
                           .created_by = "user:a"};
    int64_t id = 0;
    assert_int_equal(store_swap_insert(f->st, &w, &id, &err), 0);
    assert_int_equal(store_swap_answer(f->st, id, "accepted", 2, "user:b", NULL, &err), 0);
    assert_int_equal(store_swap_answer(f->st, id, "declined", 3, "user:b", NULL, &err), YJ_ECONFLICT);
    struct store_swap got;
    assert_int_equal(store_swap_get(f->st, id, &got, &err), 0);
    assert_string_equal(got.status, "accepted");
    assert_true(got.answered_at == 2);
    assert_null(got.back_date);
    store_swap_release(&got);
    assert_int_equal(store_swap_get(f->st, id + 1, &got, &err), YJ_ENOTFOUND);
}

static void test_full_disk_changes_nothing(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = sql_sqlite_handle(f->st->sql);
    if (!db)
        skip(); /* SQLite's page cap stands in for a full disk; PostgreSQL's is the server's */
    struct yj_err err;
    struct store_incident a;
    sample(&a, 1);
    assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
    store_incident_release(&a);
    /* Cap the database at its current size: the next page it needs is "disk full". */
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    char *pragma = xasprintf("PRAGMA max_page_count = %d", sqlite3_column_int(s, 0));
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
    free(pragma);
    assert_int_equal(store_begin(f->st, &err), 0);
    int rc = 0;
    for (int64_t i = 2; i < 500 && rc == 0; i++) {
        sample(&a, i);
        free(a.title);
        a.title = xasprintf("%0*d", 3000, 0); /* big rows fill pages quickly */
        rc = store_incident_insert(f->st, &a, &err);
        store_incident_release(&a);
    }
    assert_int_equal(rc, YJ_EIO);
    assert_non_null(strstr(err.msg, "is full"));
    store_rollback(f->st);
    int n = 0;
    assert_int_equal(store_incident_list(f->st, NULL, count_cb, &n, &err), 0);
    assert_int_equal(n, 1);
}

static void test_backup(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a;
    for (int64_t i = 1; i <= 3; i++) {
        sample(&a, i);
        assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
        store_incident_release(&a);
    }
    char *path = xasprintf("%s/copy.db", f->dir);
    if (!sql_sqlite_handle(f->st->sql)) {
        /* PostgreSQL has its own tools; the message names them. */
        assert_int_equal(store_backup(f->st, path, &err), YJ_EINVAL);
        assert_non_null(strstr(err.msg, "pg_dump"));
        free(path);
        return;
    }
    assert_int_equal(store_backup(f->st, path, &err), 0);
    assert_int_equal(store_backup(f->st, path, &err), YJ_EINVAL); /* never overwrites */
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM incidents", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 3);
    sqlite3_finalize(s);
    sqlite3_close(db);
    char *bad = xasprintf("%s/no/such/dir/copy.db", f->dir);
    assert_int_equal(store_backup(f->st, bad, &err), YJ_EIO);
    free(bad);
    free(path);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct yj_err err;
    assert_int_equal(store_open("sqlite:/proc/yingji-cannot-be-here/yingji.db", NULL, &st, &err), YJ_EIO);
    assert_non_null(strstr(err.msg, "cannot create data directory"));
    /* A file that is not a database. */
    char *dir = test_tmpdir();
    char *path = xasprintf("%s/yingji.db", dir);
    FILE *fp = fopen(path, "w");
    fputs("this is not sqlite, just some text that is long enough to be a header............", fp);
    fclose(fp);
    char *url = store_url_of_dir(dir);
    int rc = store_open(url, NULL, &st, &err);
    free(url);
    if (rc == 0) {
        rc = store_migrate(st, NULL, &err);
        store_free(st);
    }
    assert_int_equal(rc, YJ_ESTORE);
    assert_non_null(strstr(err.msg, "not a Yingji store"));
    free(path);
    test_rmtree(dir);
    free(dir);
}

static int64_t count_signals(struct store *st)
{
    struct yj_err err;
    struct sql_stmt *s = sql_prepare(st->sql, "SELECT count(*) FROM signals", &err);
    if (!s)
        fail_msg("%s", err.msg);
    int64_t n = -1;
    assert_int_equal(sql_one_int(s, "counting", &n, &err), 0);
    return n;
}

/* Signals are stored beside the lock's holder on PostgreSQL, and such a transaction refuses what
 * must hold the lock: audit rows and events. */
static void test_unordered_writers(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_signal sigs[2] = {
        {.received_at = 1, .time = 1, .source = "syslog", .host = "h", .message = "一"},
        {.received_at = 2, .time = 2, .source = "syslog", .host = "h", .message = "二"},
    };
    bool pg = sql_engine_of(f->st->sql) == SQL_POSTGRES;
    struct store *other = NULL;
    assert_int_equal(test_store_open(f->dir, &other, &err), 0);
    if (pg) /* SQLite has one writer at a time whatever the begin */
        assert_int_equal(store_begin(other, &err), 0);
    assert_int_equal(store_begin_unordered(f->st, &err), 0);
    assert_int_equal(store_signals_insert(f->st, sigs, 2, &err), 0);
    int64_t id;
    int rc = store_event_append(f->st, 1, "incident.updated", 0, NULL, NULL, "{}", &id, &err);
    assert_int_equal(rc, pg ? YJ_ESTATE : 0);
    if (pg) {
        assert_non_null(strstr(err.msg, "without the write lock"));
        struct store_audit_row row = {.id = 1, .at = 1, .actor = "t", .action = "a", .object = "o", .detail = "{}"};
        assert_int_equal(store_audit_insert(f->st, &row, NULL, &err), YJ_ESTATE);
    }
    assert_int_equal(store_commit(f->st, &err), 0);
    if (pg)
        assert_int_equal(store_commit(other, &err), 0);
    assert_int_equal(count_signals(other), 2);
    /* An ordered one afterwards takes the lock and writes events again. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_event_append(f->st, 1, "incident.updated", 0, NULL, NULL, "{}", &id, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    store_free(other);
}

/* The open incident of a fingerprint, asked again and again in one transaction (the detector asks
 * once per signal): what was written meanwhile — an incident made, one closed, a savepoint undone —
 * is what the next answer says. */
static void test_open_by_fingerprint(void **state)
{
    struct fixture *f = *state;
    struct yj_err err;
    struct store_incident a, got;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.1", &got, &err), YJ_ENOTFOUND);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.1", &got, &err), YJ_ENOTFOUND);
    sample(&a, 1);
    a.fingerprint = xstrdup("sshd:10.0.0.1");
    assert_int_equal(store_incident_insert(f->st, &a, &err), 0);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.1", &got, &err), 0);
    assert_true(got.id == a.id);
    store_incident_release(&got);
    /* Closed inside a savepoint: none open; the savepoint undone: open again. */
    assert_int_equal(store_begin(f->st, &err), 0);
    free(a.status);
    a.status = xstrdup("closed");
    assert_int_equal(store_incident_update(f->st, &a, 1, &err), 0);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.1", &got, &err), YJ_ENOTFOUND);
    store_rollback(f->st);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.1", &got, &err), 0);
    assert_true(got.id == a.id);
    store_incident_release(&got);
    assert_int_equal(store_commit(f->st, &err), 0);
    /* A later transaction sees what others did between: another connection opens one. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.2", &got, &err), YJ_ENOTFOUND);
    assert_int_equal(store_commit(f->st, &err), 0);
    struct store *other = NULL;
    assert_int_equal(test_store_open(f->dir, &other, &err), 0);
    struct store_incident b;
    sample(&b, 2);
    b.fingerprint = xstrdup("sshd:10.0.0.2");
    assert_int_equal(store_begin(other, &err), 0);
    assert_int_equal(store_incident_insert(other, &b, &err), 0);
    assert_int_equal(store_commit(other, &err), 0);
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(store_incident_open_by_fingerprint(f->st, "sshd:10.0.0.2", &got, &err), 0);
    assert_true(got.id == b.id);
    store_incident_release(&got);
    assert_int_equal(store_commit(f->st, &err), 0);
    store_free(other);
    store_incident_release(&a);
    store_incident_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optimistic_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline_append_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edits_and_swaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unordered_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_by_fingerprint, setup, teardown),
    };
    const struct CMUnitTest files[] = {cmocka_unit_test(test_open_errors)};
    int failed = cmocka_run_group_tests_name("sqlite files", files, NULL, NULL);
    do
        failed += _cmocka_run_group_tests(test_engine(), tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    while (test_engines_next());
    return failed;
}
