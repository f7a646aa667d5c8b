/* Unit tests for src/engine/audit.c: the audit record against every way of rewriting it that the
 * audit of issue 14 tried — a row edited, deleted, reordered; the last rows cut off with the
 * head fixed to match; both tables emptied; the chain recomputed after an edit (with Yingji's own
 * code, without the key and with another key); direct edits of incident, deadline, task and
 * timeline rows; an incident deleted or inserted by hand; a rollback past a checkpoint by
 * someone holding the key. A real SQLite store, edited from outside the way an attacker would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/common.h"
#include "engine/audit.h"
#include "engine/ctx.h"
#include "engine/incident.h"
#include "plan/plan.h"
#include "store/store.h"
#include "test_util.h"

#include <sys/stat.h>
#include <time.h>

#define T0 INT64_C(1795309200000) /* 2026-11-22T09:00:00+08:00 */

struct fixture {
    char *dir;
    char key_path[512];
    struct plan *plan;
    struct store *st;
    struct audit_key *key;
    struct yj_ctx ctx;
    int64_t now;
};

static int64_t test_clock(void *ud)
{
    return ((struct fixture *)ud)->now;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct yj_err err;
    f->dir = test_tmpdir();
    snprintf(f->key_path, sizeof(f->key_path), "%s/audit.key", f->dir);
    bool created = false;
    if (plan_load("builtin:university", &f->plan, NULL, &err) < 0 || test_store_open(f->dir, &f->st, &err) < 0 ||
        store_migrate(f->st, NULL, &err) < 0 || audit_key_load(f->key_path, true, &f->key, &created, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    assert_true(created);
    store_set_audit_key(f->st, f->key);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    f->now = T0;
    f->ctx = (struct yj_ctx){.plan = f->plan, .store = f->st, .actor = "test", .now = test_clock, .clock_ud = f};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->st);
    audit_key_free(f->key);
    plan_free(f->plan);
    test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void tamper(struct fixture *f, const char *sql)
{
    test_sql_exec(f->st, sql);
}

static struct audit_result verify_with(struct fixture *f, const struct audit_key *key,
                                       const struct audit_checkpoint *cps, size_t n_cps)
{
    struct audit_result res;
    struct yj_err err = {0};
    struct audit_verify_opts opts = {.key = key, .checkpoints = cps, .n_checkpoints = n_cps, .states = true};
    if (audit_verify(f->st, &opts, &res, &err) < 0)
        fail_msg("%s", err.msg);
    return res;
}

static void intact(struct fixture *f)
{
    struct audit_result res = verify_with(f, f->key, NULL, 0);
    if (res.bad_id)
        fail_msg("row %lld: %s", (long long)res.bad_id, res.reason);
    assert_true(res.signature_checked);
}

static void audit_bad(struct fixture *f, int64_t row, const char *reason_part)
{
    struct audit_result res = verify_with(f, f->key, NULL, 0);
    if (res.bad_id != row || !strstr(res.reason, reason_part))
        fail_msg("expected row %lld (%s), got row %lld: %s", (long long)row, reason_part, (long long)res.bad_id,
                 res.reason);
}

/* An incident (row 1, its playbook's first tasks made) with four notes (rows 2-5). */
static void five_events(struct fixture *f)
{
    struct store_incident inc;
    struct incident_report_req req = {.type = "website_tamper", .title = "官网首页被篡改", .source = "巡检"};
    struct yj_err err;
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), 0);
    store_incident_release(&inc);
    for (int i = 0; i < 4; i++)
        assert_int_equal(incident_note(&f->ctx, "1", "note", &err), 0);
    intact(f);
}

static void test_key_file(void **state)
{
    struct fixture *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->key_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* Read again: the same key; a public copy verifies but cannot sign. */
    struct audit_key *again = NULL, *pub = NULL;
    struct yj_err err;
    bool created = true;
    assert_int_equal(audit_key_load(f->key_path, true, &again, &created, &err), 0);
    assert_false(created);
    char a[65], b[65];
    audit_key_public(f->key, a);
    audit_key_public(again, b);
    assert_string_equal(a, b);
    char pub_path[600];
    snprintf(pub_path, sizeof(pub_path), "%s/audit.pub", f->dir);
    assert_int_equal(audit_key_write_public(f->key, pub_path, &err), 0);
    assert_int_equal(audit_key_load(pub_path, false, &pub, NULL, &err), 0);
    assert_false(audit_key_can_sign(pub));
    five_events(f);
    struct audit_result res = verify_with(f, pub, NULL, 0);
    assert_int_equal(res.bad_id, 0);
    assert_true(res.signature_checked);
    audit_key_free(again);
    audit_key_free(pub);
    /* Not a key: refused with the path. */
    char junk[600];
    snprintf(junk, sizeof(junk), "%s/junk.key", f->dir);
    FILE *j = fopen(junk, "w");
    fputs("hello\n", j);
    fclose(j);
    struct audit_key *k = NULL;
    assert_int_equal(audit_key_load(junk, true, &k, NULL, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "junk.key"));
    assert_int_equal(audit_key_load("/nonexistent/x.key", false, &k, NULL, &err), YJ_ENOTFOUND);
}

static void test_row_edited(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "UPDATE audit_log SET detail = replace(detail, 'note', 'n0te') WHERE id = 3");
    audit_bad(f, 3, "edited");
}

static void test_row_deleted(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "DELETE FROM audit_log WHERE id = 2");
    audit_bad(f, 3, "deleted");
}

static void test_rows_reordered(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "UPDATE audit_log SET id = 100 WHERE id = 2; UPDATE audit_log SET id = 2 WHERE id = 3; "
              "UPDATE audit_log SET id = 3 WHERE id = 100");
    audit_bad(f, 2, "does not match");
}

static void test_rehash_needs_every_later_row(void **state)
{
    /* Editing a row and fixing its own hash still breaks the next row's link. */
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "UPDATE audit_log SET hash = 'ffff' WHERE id = 4");
    audit_bad(f, 4, "edited");
}

static void test_cut_off(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "DELETE FROM audit_log WHERE id = 5");
    audit_bad(f, 5, "cut off the end");
}

/* The last rows cut off and the head made to match: the head's signature is over row 5. And
 * without the key, the incident's state still gives it away. */
static void test_cut_off_with_the_head_fixed(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "DELETE FROM audit_log WHERE id > 3; "
              "UPDATE audit_head SET last_id = 3, hash = (SELECT hash FROM audit_log WHERE id = 3)");
    audit_bad(f, 3, "signature does not verify");
    struct audit_result res = verify_with(f, NULL, NULL, 0);
    assert_int_equal(res.bad_id, 3);
    assert_non_null(strstr(res.reason, "incident YJ-2026-0001 no longer matches"));
}

static void test_both_tables_emptied(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    tamper(f, "DELETE FROM audit_log; DELETE FROM audit_head");
    audit_bad(f, 1, "the audit chain is empty but the store holds 1 incident");
}

/* Direct edits of the rows an incident is made of. */
static void test_incident_rows_edited(void **state)
{
    /* Each edit with the trigger that would refuse it dropped first, when there is one. */
    static const struct {
        const char *trigger, *change;
    } edits[] = {
        {NULL, "UPDATE incidents SET detected_at = detected_at - 3600000"},
        {NULL, "UPDATE incidents SET title = '无事发生'"},
        {NULL, "UPDATE deadlines SET met_at = due_at - 1 WHERE kind = 'assessment'"},
        {NULL, "UPDATE tasks SET status = 'done' WHERE id = (SELECT min(id) FROM tasks)"},
        {"timeline_no_delete", "DELETE FROM timeline WHERE id = (SELECT max(id) FROM timeline)"},
        {"timeline_no_update", "UPDATE timeline SET body = '{}' WHERE id = (SELECT min(id) FROM timeline)"},
    };
    struct fixture *f = *state;
    five_events(f);
    for (size_t i = 0; i < YJ_ARRAY_LEN(edits); i++) {
        /* Each edit on the rows as they were: made in a transaction, checked, rolled back (DDL
         * too: both engines undo a dropped trigger with the rest). */
        struct yj_err err;
        assert_int_equal(store_begin(f->st, &err), 0);
        if (edits[i].trigger)
            tamper(f, test_drop_trigger(edits[i].trigger));
        tamper(f, edits[i].change);
        struct audit_result res = verify_with(f, f->key, NULL, 0);
        if (res.bad_id != 5 || !strstr(res.reason, "YJ-2026-0001 no longer matches"))
            fail_msg("%s: row %lld: %s", edits[i].change, (long long)res.bad_id, res.reason);
        store_rollback(f->st);
        intact(f);
    }
}

static void test_incident_deleted_or_inserted(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    struct yj_err err;
    struct store_incident inc;
    struct incident_report_req req = {.type = "intrusion", .title = "入侵", .source = "日志"};
    assert_int_equal(incident_report(&f->ctx, &req, &inc, &err), 0);
    store_incident_release(&inc);
    intact(f);
    /* A copy of incident 2 put in by hand, under another number. */
    tamper(f, "INSERT INTO incidents (number, year, seq, title, type, class, level, national_level, gbt_category, "
              "gbt_subcategory, status, unit, reporter, reported_at, updated_at) SELECT 'YJ-2026-0099', year, 99, "
              "title, type, class, level, national_level, gbt_category, gbt_subcategory, status, unit, reporter, "
              "reported_at, updated_at FROM incidents WHERE id = 2");
    audit_bad(f, 6, "YJ-2026-0099) is named by no audit row");
    tamper(f, "DELETE FROM incidents WHERE number = 'YJ-2026-0099'");
    intact(f);
    /* Incident 2 taken out (with its rows). */
    tamper(f, "DELETE FROM deadlines WHERE incident_id = 2; DELETE FROM tasks WHERE incident_id = 2; "
              "DELETE FROM escalations WHERE incident_id = 2; DELETE FROM notifications WHERE incident_id = 2; "
              "DELETE FROM events WHERE incident_id = 2");
    tamper(f, test_drop_trigger("timeline_no_delete"));
    tamper(f, "DELETE FROM timeline WHERE incident_id = 2; DELETE FROM incidents WHERE id = 2");
    audit_bad(f, 6, "YJ-2026-0002, recorded at row 6, is no longer in the store");
}

/* After an edit the whole chain is written again with Yingji's own code: the rows, their links
 * and their states all agree, but the head is signed with no key or another key. */
static void rewrite_chain(struct fixture *f, const struct audit_key *with)
{
    struct yj_err err;
    store_set_audit_key(f->st, with);
    tamper(f, "CREATE TABLE old AS SELECT * FROM audit_log; DELETE FROM audit_log; DELETE FROM audit_head; "
              "UPDATE incidents SET title = '无事发生'");
    static const char rows[] = "SELECT at, actor, action, object, detail, state FROM old ORDER BY id";
    struct sql_stmt *s = sql_prepare(f->st->sql, rows, &err);
    assert_non_null(s);
    assert_int_equal(store_begin(f->st, &err), 0);
    while (sql_step(s, "reading the old chain", &err) == SQL_ROW) {
        bool incident = !sql_col_null(s, 5);
        assert_int_equal(audit_append(f->st, sql_col_int(s, 0), sql_col_text(s, 1), sql_col_text(s, 2),
                                      sql_col_text(s, 3), sql_col_text(s, 4), incident ? 1 : 0, &err),
                         0);
    }
    sql_reset(s);
    assert_int_equal(store_commit(f->st, &err), 0);
    store_set_audit_key(f->st, f->key);
}

static void test_chain_recomputed_without_the_key(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    rewrite_chain(f, NULL);
    /* Without a key to check against, the forgery holds together: */
    struct audit_result res = verify_with(f, NULL, NULL, 0);
    assert_int_equal(res.bad_id, 0);
    audit_bad(f, 5, "is not signed");
}

static void test_chain_recomputed_with_another_key(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    char other_path[600];
    snprintf(other_path, sizeof(other_path), "%s/other.key", f->dir);
    struct audit_key *other = NULL;
    struct yj_err err;
    assert_int_equal(audit_key_load(other_path, true, &other, NULL, &err), 0);
    rewrite_chain(f, other);
    audit_bad(f, 5, "signature does not verify");
    audit_key_free(other);
}

/* Someone holding the key can re-sign a rewritten chain: a checkpoint kept outside the store
 * still catches it, and a chain cut back past it. */
static void test_checkpoints(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    struct audit_checkpoint cp;
    struct yj_err err;
    assert_int_equal(audit_checkpoint_take(f->st, f->now, &cp, &err), 0);
    assert_int_equal(cp.id, 5);
    char path[600];
    snprintf(path, sizeof(path), "%s/audit.checkpoints", f->dir);
    assert_int_equal(audit_checkpoint_append(path, &cp, &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "later", &err), 0);
    struct audit_checkpoint *cps = NULL;
    size_t n = 0;
    assert_int_equal(audit_checkpoints_read(path, &cps, &n, &err), 0);
    assert_int_equal(n, 1);
    struct audit_result res = verify_with(f, f->key, cps, n);
    assert_int_equal(res.bad_id, 0);
    assert_int_equal(res.checkpoints, 1);
    /* Rewritten and re-signed with the real key: every check but the checkpoint passes. */
    rewrite_chain(f, f->key);
    res = verify_with(f, f->key, NULL, 0);
    assert_int_equal(res.bad_id, 0);
    res = verify_with(f, f->key, cps, n);
    assert_int_equal(res.bad_id, 5);
    assert_non_null(strstr(res.reason, "no longer holds row 5 as checkpointed"));
    /* A checkpoint whose signature was altered is refused as such. */
    cps[0].signature[0] = cps[0].signature[0] == 'a' ? 'b' : 'a';
    res = verify_with(f, f->key, cps, n);
    assert_non_null(strstr(res.reason, "not signed by the key it names"));
    free(cps);
    /* A file that is not checkpoints names its line. */
    FILE *j = fopen(path, "a");
    fputs("{\"id\": 1}\n", j);
    fclose(j);
    assert_int_equal(audit_checkpoints_read(path, &cps, &n, &err), YJ_EINVAL);
    assert_non_null(strstr(err.msg, "audit.checkpoints:2:"));
}

/* Incremental checks (the API's): continuing from a verified row sees the rows after it and the
 * head, and agrees with the full walk. */
static void test_incremental(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    struct audit_result full = verify_with(f, f->key, NULL, 0);
    struct yj_err err;
    assert_int_equal(incident_note(&f->ctx, "1", "later", &err), 0);
    struct audit_result res;
    struct audit_verify_opts opts = {.key = f->key, .from_id = 5, .from_hash = full.head_hash};
    assert_int_equal(audit_verify(f->st, &opts, &res, &err), 0);
    assert_int_equal(res.bad_id, 0);
    assert_int_equal(res.rows, 6);
    tamper(f, "UPDATE audit_log SET detail = '{}' WHERE id = 6");
    assert_int_equal(audit_verify(f->st, &opts, &res, &err), 0);
    assert_int_equal(res.bad_id, 6);
    /* Continuing from a hash that is not row 5's: the link breaks at once. */
    opts.from_hash = "0000000000000000000000000000000000000000000000000000000000000001";
    assert_int_equal(audit_verify(f->st, &opts, &res, &err), 0);
    assert_int_equal(res.bad_id, 6);
}

/* The head is signed once, as its transaction commits: several rows in one transaction, the last
 * of them undone by an inner rollback, leave a head that is signed and verifies; a reader outside
 * never sees an unsigned head; a transaction rolled back leaves the earlier head signed. */
static void test_head_signed_at_commit(void **state)
{
    struct fixture *f = *state;
    five_events(f);
    struct yj_err err;
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "six", &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "seven", &err), 0);
    /* Inside, before the commit, the head is row 7 and not signed yet. */
    int64_t id;
    char hash[65], sig[129];
    assert_int_equal(store_audit_head(f->st, &id, hash, sig, &err), 0);
    assert_int_equal(id, 7);
    assert_string_equal(sig, "");
    /* A second connection sees the committed head, signed. */
    struct store *other = NULL;
    assert_int_equal(test_store_open(f->dir, &other, &err), 0);
    assert_int_equal(store_audit_head(other, &id, hash, sig, &err), 0);
    assert_int_equal(id, 5);
    assert_int_equal(strlen(sig), 128);
    /* Row 8 in a savepoint, undone alone: the head the transaction goes on from is row 7's again
     * (not the one it read before the savepoint's rollback), and row 8 is made anew after it. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "eight", &err), 0);
    store_rollback(f->st);
    assert_int_equal(store_audit_head(f->st, &id, hash, sig, &err), 0);
    assert_int_equal(id, 7);
    assert_int_equal(incident_note(&f->ctx, "1", "eight again", &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(store_audit_head(other, &id, hash, sig, &err), 0);
    assert_int_equal(id, 8);
    assert_int_equal(strlen(sig), 128);
    intact(f);
    /* A whole transaction rolled back: nothing signed, nothing left to sign at the next commit. */
    assert_int_equal(store_begin(f->st, &err), 0);
    assert_int_equal(incident_note(&f->ctx, "1", "gone", &err), 0);
    store_rollback(f->st);
    assert_int_equal(store_begin(f->st, &err), 0);
    test_sql_exec(f->st, "UPDATE incidents SET title = title WHERE id = 1");
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(store_audit_head(other, &id, hash, sig, &err), 0);
    assert_int_equal(id, 8);
    intact(f);
    store_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash_needs_every_later_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_off_with_the_head_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_tables_emptied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_rows_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_deleted_or_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_recomputed_without_the_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_recomputed_with_another_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_signed_at_commit, setup, teardown),
    };
    int failed = 0;
    do
        failed += _cmocka_run_group_tests(test_engine(), tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    while (test_engines_next());
    return failed;
}
