/* store_incidents.c: incidents, their deadlines, timeline and attachments, written once for both
 * engines on sql.h (issue 16). The incident's column lists come from STORE_INCIDENT_TEXT/INT
 * (store.h) and are built into statements once per connection (store_incident_sql). */
#include "../base/common.h"
#include "sql.h"
#include "store_internal.h"
#include "store.h"

/* ---- incidents ---- */

void store_incident_release(struct store_incident *inc)
{
#define X(m, c) free(inc->m);
    STORE_INCIDENT_TEXT(X)
#undef X
    memset(inc, 0, sizeof(*inc));
}

void store_incident_copy(struct store_incident *dst, const struct store_incident *src)
{
    *dst = *src;
#define X(m, c) dst->m = xstrdup(src->m);
    STORE_INCIDENT_TEXT(X)
#undef X
}

/* The listing's WHERE: every filter is a parameter, so one statement per sort order serves every
 * request. $11 appears in every order (the key-less ones test it against itself) because
 * PostgreSQL must see each parameter to know its type; a time compared with 0 is cast to BIGINT,
 * or PostgreSQL would take it for an INTEGER from the literal and refuse today's milliseconds. */
static const char list_where[] =
    " WHERE (CAST($1 AS TEXT) IS NULL OR status = $1 OR ($1 = 'open' AND status NOT IN ('closed', "
    "'dismissed'))) AND (CAST($2 AS TEXT) IS NULL OR unit = $2) AND (CAST($3 AS TEXT) IS NULL OR type = $3) AND "
    "($4 < 0 OR drill = $4) AND (CAST($5 AS TEXT) IS NULL OR level = $5) AND (CAST($6 AS TEXT) IS NULL OR "
    "lower(title) LIKE lower($6) ESCAPE '\\' OR lower(number) LIKE lower($6) ESCAPE '\\' OR lower(source) LIKE "
    "lower($6) ESCAPE '\\' OR lower(scope) LIKE lower($6) ESCAPE '\\') AND (CAST($7 AS TEXT) IS NULL OR "
    "unit = $7 OR reporter = $8) AND "
    "($10 = 0 OR %s) AND (CAST($13 AS TEXT) IS NULL OR assignee = $13) AND (CAST($14 AS BIGINT) = 0 OR "
    "reported_at >= $14) AND (CAST($15 AS BIGINT) = 0 OR reported_at < $15) ORDER BY %s LIMIT $9";

static const struct {
    const char *order, *after;
} list_sorts[STORE_SORTS] = {
    [STORE_SORT_NEWEST] = {"id DESC", "(id < $12 AND $11 = $11)"},
    [STORE_SORT_OLDEST] = {"id ASC", "(id > $12 AND $11 = $11)"},
    [STORE_SORT_UPDATED] = {"updated_at DESC, id DESC", "(updated_at, id) < ($11, $12)"},
    [STORE_SORT_SEVERITY] = {"national_level ASC, id ASC", "(national_level, id) > ($11, $12)"},
};

void store_incident_sql(struct store *st)
{
    char *cols = NULL, *marks = NULL, *sets = NULL;
    size_t cl = 0, ml = 0, sl = 0;
    FILE *c = open_memstream(&cols, &cl), *m = open_memstream(&marks, &ml), *s = open_memstream(&sets, &sl);
    const char *sep = "";
    int n = 0;
#define X(mem, col)                                                                                      \
    n++;                                                                                                 \
    fprintf(c, "%s%s", sep, col);                                                                        \
    fprintf(m, "%s$%d", sep, n);                                                                         \
    fprintf(s, "%s%s = $%d", sep, col, n);                                                               \
    sep = ", ";
    STORE_INCIDENT_TEXT(X)
    STORE_INCIDENT_INT(X)
#undef X
    fclose(c);
    fclose(m);
    fclose(s);
    st->sql_insert = xasprintf("INSERT INTO incidents (%s) VALUES (%s) RETURNING id", cols, marks);
    st->sql_update = xasprintf("UPDATE incidents SET %s WHERE id = $%d AND version = $%d", sets, n + 1, n + 2);
    st->sql_select_by_id = xasprintf("SELECT id, %s FROM incidents WHERE id = $1", cols);
    st->sql_select_by_number = xasprintf("SELECT id, %s FROM incidents WHERE number = $1", cols);
    for (size_t i = 0; i < STORE_SORTS; i++) {
        char *where = xasprintf(list_where, list_sorts[i].after, list_sorts[i].order);
        st->sql_list[i] = xasprintf("SELECT id, %s FROM incidents%s", cols, where);
        free(where);
    }
    free(cols);
    free(marks);
    free(sets);
}

static int bind_incident(struct sql_stmt *s, const struct store_incident *inc)
{
    int i = 1;
#define X(m, c) sql_bind_text(s, i++, inc->m);
    STORE_INCIDENT_TEXT(X)
#undef X
    /* Times that have not happened are NULL, not 0, so SQL sees "not yet". */
#define X(m, c)                                                                                          \
    if (inc->m == 0 && strstr(c, "_at"))                                                                 \
        sql_bind_null(s, i++);                                                                           \
    else                                                                                                 \
        sql_bind_int(s, i++, inc->m);
    STORE_INCIDENT_INT(X)
#undef X
    return i;
}

static void read_incident(struct sql_stmt *s, struct store_incident *inc)
{
    int i = 0;
    inc->id = sql_col_int(s, i++);
#define X(m, c) inc->m = sql_col_dup(s, i++);
    STORE_INCIDENT_TEXT(X)
#undef X
#define X(m, c) inc->m = sql_col_int(s, i++);
    STORE_INCIDENT_INT(X)
#undef X
}

int store_incident_next_seq(struct store *st, int64_t year, int64_t *seq, struct yj_err *err)
{
    static const char sql[] = "SELECT coalesce(max(seq), 0) + 1 FROM incidents WHERE year = $1";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, year);
    return sql_one_int(s, "numbering the incident", seq, err);
}

int store_incident_insert(struct store *st, struct store_incident *inc, struct yj_err *err)
{
    store_forget_none_open(st);
    struct sql_stmt *s = sql_prepare(st->sql, st->sql_insert, err);
    if (!s)
        return YJ_ESTORE;
    bind_incident(s, inc);
    return sql_insert_id(s, "storing the incident", &inc->id, err);
}

int store_incident_update(struct store *st, struct store_incident *inc, int64_t expected_version,
                          struct yj_err *err)
{
    store_forget_none_open(st);
    struct sql_stmt *s = sql_prepare(st->sql, st->sql_update, err);
    if (!s)
        return YJ_ESTORE;
    int64_t saved = inc->version;
    inc->version = expected_version + 1;
    int i = bind_incident(s, inc);
    sql_bind_int(s, i++, inc->id);
    sql_bind_int(s, i, expected_version);
    int rc = sql_step(s, "updating the incident", err);
    int64_t changed = sql_changes(s);
    sql_reset(s);
    if (rc < 0) {
        inc->version = saved;
        return rc;
    }
    if (changed != 1) {
        inc->version = saved;
        return yj_err_set(err, YJ_ESTATE, "incident %s was changed by someone else meanwhile; reload and retry",
                          inc->number ? inc->number : "?");
    }
    return 0;
}

int store_incident_add_signal(struct store *st, int64_t id, int64_t signal_at, int64_t touched_at, int64_t *count,
                              struct yj_err *err)
{
    static const char sql[] = "UPDATE incidents SET signal_count = signal_count + 1, "
                              "last_signal_at = CASE WHEN coalesce(last_signal_at, 0) > CAST($1 AS BIGINT) THEN "
                              "last_signal_at ELSE $1 END, updated_at = CASE WHEN CAST($2 AS BIGINT) > 0 THEN $2 "
                              "ELSE updated_at END "
                              "WHERE id = $3 RETURNING signal_count";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, signal_at);
    sql_bind_int(s, 2, touched_at);
    sql_bind_int(s, 3, id);
    int rc = sql_one_int(s, "counting a signal on the incident", count, err);
    if (rc == YJ_ENOTFOUND)
        return yj_err_set(err, YJ_ENOTFOUND, "no incident with id %lld", (long long)id);
    return rc;
}

int store_incident_get(struct store *st, int64_t id, const char *number, struct store_incident *out,
                       struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, id ? st->sql_select_by_id : st->sql_select_by_number, err);
    if (!s)
        return YJ_ESTORE;
    if (id)
        sql_bind_int(s, 1, id);
    else
        sql_bind_text(s, 1, number);
    int rc = sql_step(s, "reading the incident", err);
    if (rc == SQL_ROW)
        read_incident(s, out);
    sql_reset(s);
    if (rc == SQL_DONE) {
        if (id)
            return yj_err_set(err, YJ_ENOTFOUND, "no incident with id %lld", (long long)id);
        return yj_err_set(err, YJ_ENOTFOUND, "no incident numbered %s", number ? number : "");
    }
    return rc < 0 ? rc : 0;
}

int64_t store_incident_sort_key(const struct store_incident *inc, enum store_sort sort)
{
    switch (sort) {
    case STORE_SORT_UPDATED: return inc->updated_at;
    case STORE_SORT_SEVERITY: return inc->national_level;
    default: return inc->id;
    }
}

/* The search text as a LIKE pattern: wildcards escaped so it matches literally. The query compares
 * lower(column) with lower(pattern): SQLite's LIKE ignores ASCII case and PostgreSQL's does not,
 * and each engine's lower() on both sides gives one answer. */
static char *like_pattern(const char *text)
{
    size_t n = strlen(text);
    char *pat = xmalloc(2 * n + 3), *q = pat;
    *q++ = '%';
    for (const char *c = text; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            *q++ = '\\';
        *q++ = *c;
    }
    *q++ = '%';
    *q = 0;
    return pat;
}

int store_incident_list(struct store *st, const struct store_incident_filter *f, store_incident_cb cb, void *ud,
                        struct yj_err *err)
{
    static const struct store_incident_filter none = {.drill = -1};
    if (!f)
        f = &none;
    size_t si = (size_t)f->sort < STORE_SORTS ? (size_t)f->sort : 0;
    struct sql_stmt *s = sql_prepare(st->sql, st->sql_list[si], err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, f->status);
    sql_bind_text(s, 2, f->unit);
    sql_bind_text(s, 3, f->type);
    sql_bind_int(s, 4, f->drill);
    sql_bind_text(s, 5, f->level);
    char *pat = f->text ? like_pattern(f->text) : NULL;
    sql_bind_text(s, 6, pat);
    free(pat);
    sql_bind_text(s, 7, f->visible_unit ? f->visible_unit : (f->visible_reporter ? "" : NULL));
    sql_bind_text(s, 8, f->visible_reporter);
    sql_bind_int(s, 9, f->limit > 0 ? f->limit : INT64_MAX);
    sql_bind_int(s, 10, f->has_cursor);
    sql_bind_int(s, 11, f->cursor_key);
    sql_bind_int(s, 12, f->cursor_id);
    sql_bind_text(s, 13, f->assignee);
    sql_bind_int(s, 14, f->reported_from);
    sql_bind_int(s, 15, f->reported_to);
    int rc;
    while ((rc = sql_step(s, "listing incidents", err)) == SQL_ROW) {
        struct store_incident inc;
        read_incident(s, &inc);
        int stop = cb(&inc, ud);
        store_incident_release(&inc);
        if (stop)
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_incident_count_levels(struct store *st, int64_t from, int64_t to, const char *unit, const char *reporter,
                                int64_t counts[5], struct yj_err *err)
{
    static const char sql[] = "SELECT national_level, count(*) FROM incidents WHERE reported_at >= $1 AND "
                              "reported_at < $2 AND drill = 0 AND (CAST($3 AS TEXT) IS NULL OR unit = $3 OR "
                              "reporter = $4) GROUP BY national_level";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, from);
    sql_bind_int(s, 2, to);
    sql_bind_text(s, 3, unit ? unit : (reporter ? "" : NULL));
    sql_bind_text(s, 4, reporter);
    memset(counts, 0, 5 * sizeof(counts[0]));
    int rc;
    while ((rc = sql_step(s, "counting incidents by day", err)) == SQL_ROW) {
        int64_t level = sql_col_int(s, 0);
        if (level >= 1 && level <= 4)
            counts[level] = sql_col_int(s, 1);
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

int store_incident_count(struct store *st, const char *status, int drill, int64_t *n, struct yj_err *err)
{
    static const char sql[] = "SELECT count(*) FROM incidents WHERE status = $1 AND ($2 < 0 OR drill = $2)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_text(s, 1, status);
    sql_bind_int(s, 2, drill);
    return sql_one_int(s, "counting incidents", n, err);
}

/* ---- deadlines ---- */

int store_deadline_insert(struct store *st, const struct store_deadline *d, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deadlines (incident_id, kind, due_at, met_at, outcome) VALUES ($1, $2, "
                              "$3, $4, CASE WHEN CAST($4 AS BIGINT) IS NULL THEN NULL ELSE 'met' END)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, d->incident_id);
    sql_bind_text(s, 2, d->kind);
    sql_bind_int(s, 3, d->due_at);
    sql_bind_int_or_null(s, 4, d->met_at);
    return sql_done_later(s, "storing a deadline", err);
}

/* Sets one column of the open deadline of that kind: sql has $1 = value, $2 = incident, $3 = kind. */
int deadline_set(struct store *st, const char *sql, int64_t incident_id, const char *kind, int64_t value,
                 const char *doing, struct yj_err *err)
{
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, value);
    sql_bind_int(s, 2, incident_id);
    sql_bind_text(s, 3, kind);
    return sql_done(s, doing, err);
}

int store_deadline_meet(struct store *st, int64_t incident_id, const char *kind, int64_t at, struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET met_at = $1, outcome = 'met' WHERE incident_id = $2 AND "
                              "kind = $3 AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, at, "meeting a deadline", err);
}

int store_deadline_waive(struct store *st, int64_t incident_id, const char *kind, int64_t at, const char *by,
                         const char *reason, struct yj_err *err)
{
    static const char sql[] = "UPDATE deadlines SET met_at = $1, outcome = 'waived', waived_by = $2, "
                              "waive_reason = $3 WHERE incident_id = $4 AND (CAST($5 AS TEXT) IS NULL OR kind = $5) "
                              "AND met_at IS NULL";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_text(s, 2, by);
    sql_bind_text(s, 3, reason);
    sql_bind_int(s, 4, incident_id);
    sql_bind_text(s, 5, kind);
    return sql_done(s, "waiving a deadline", err);
}

int store_deadline_settle(struct store *st, int64_t incident_id, int64_t at, const char *by, const char *reason,
                          struct yj_err *err)
{
    /* Past due and still open: missed. Not yet due: the ending made it moot, said as a waiver. */
    static const char missed[] = "UPDATE deadlines SET met_at = $1, outcome = 'missed' "
                                 "WHERE incident_id = $2 AND met_at IS NULL AND due_at < $1";
    struct sql_stmt *s = sql_prepare(st->sql, missed, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, at);
    sql_bind_int(s, 2, incident_id);
    int rc = sql_done(s, "settling deadlines", err);
    return rc < 0 ? rc : store_deadline_waive(st, incident_id, NULL, at, by, reason, err);
}

int store_deadline_reschedule(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                              struct yj_err *err)
{
    static const char sql[] =
        "UPDATE deadlines SET due_at = $1 WHERE incident_id = $2 AND kind = $3 AND met_at IS NULL";
    return deadline_set(st, sql, incident_id, kind, due_at, "rescheduling a deadline", err);
}

int store_deadline_reopen(struct store *st, int64_t incident_id, const char *kind, int64_t due_at,
                          struct yj_err *err)
{
    static const char sql[] = "INSERT INTO deadlines (incident_id, kind, due_at) VALUES ($2, $3, $1) ON CONFLICT "
                              "(incident_id, kind) DO UPDATE SET due_at = $1, met_at = NULL, overdue_at = NULL, "
                              "outcome = NULL, waived_by = NULL, waive_reason = NULL";
    static const char forget[] = "DELETE FROM escalations WHERE incident_id = $1 AND deadline = $2";
    int rc = deadline_set(st, sql, incident_id, kind, due_at, "reopening a deadline", err);
    if (rc < 0)
        return rc;
    struct sql_stmt *s = sql_prepare(st->sql, forget, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    sql_bind_text(s, 2, kind);
    return sql_done(s, "reopening a deadline", err);
}

static void read_deadline(struct sql_stmt *s, void *row)
{
    struct store_deadline *d = row;
    d->id = sql_col_int(s, 0);
    d->incident_id = sql_col_int(s, 1);
    snprintf(d->kind, sizeof(d->kind), "%s", sql_col_text(s, 2));
    d->due_at = sql_col_int(s, 3);
    d->met_at = sql_col_int(s, 4);
    d->overdue_at = sql_col_int(s, 5);
    snprintf(d->outcome, sizeof(d->outcome), "%s", sql_col_text(s, 6));
    snprintf(d->waived_by, sizeof(d->waived_by), "%s", sql_col_text(s, 7));
    snprintf(d->waive_reason, sizeof(d->waive_reason), "%s", sql_col_text(s, 8));
}

int store_deadline_list(struct store *st, int64_t incident_id, struct store_deadline *out, size_t max, size_t *n,
                        struct yj_err *err)
{
    static const char sql[] =
        "SELECT id, incident_id, kind, due_at, coalesce(met_at, 0), coalesce(overdue_at, 0), coalesce(outcome, ''), "
        "coalesce(waived_by, ''), coalesce(waive_reason, '') FROM deadlines WHERE incident_id = $1 ORDER BY due_at, id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    return sql_rows(s, out, sizeof(*out), max, n, read_deadline, "reading deadlines", err);
}

/* ---- timeline ---- */

int store_timeline_append(struct store *st, int64_t incident_id, int64_t at, const char *actor, const char *kind,
                          const char *body_json, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO timeline (incident_id, at, actor, kind, body) VALUES ($1, $2, $3, $4, $5)";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    sql_bind_int(s, 2, at);
    sql_bind_text(s, 3, actor);
    sql_bind_text(s, 4, kind);
    sql_bind_text(s, 5, body_json);
    return sql_done_later(s, "adding to the timeline", err);
}

int store_timeline_list(struct store *st, int64_t incident_id, store_timeline_cb cb, void *ud, struct yj_err *err)
{
    static const char sql[] = "SELECT id, incident_id, at, actor, kind, body FROM timeline WHERE incident_id = $1 "
                              "ORDER BY id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, incident_id);
    int rc;
    while ((rc = sql_step(s, "reading the timeline", err)) == SQL_ROW) {
        struct store_timeline_entry e = {
            .id = sql_col_int(s, 0),
            .incident_id = sql_col_int(s, 1),
            .at = sql_col_int(s, 2),
            .actor = sql_col_text(s, 3),
            .kind = sql_col_text(s, 4),
            .body = sql_col_text(s, 5),
        };
        if (cb(&e, ud))
            break;
    }
    sql_reset(s);
    return rc < 0 ? rc : 0;
}

/* ---- attachments ---- */

#define ATTACHMENT_COLS "id, incident_id, name, type, size, sha256, created_at, created_by"

static void read_attachment(struct sql_stmt *s, void *row)
{
    struct store_attachment *a = row;
    *a = (struct store_attachment){.id = sql_col_int(s, 0),
                                   .incident_id = sql_col_int(s, 1),
                                   .size = sql_col_int(s, 4),
                                   .created_at = sql_col_int(s, 6)};
    snprintf(a->name, sizeof(a->name), "%s", sql_col_text(s, 2));
    snprintf(a->type, sizeof(a->type), "%s", sql_col_text(s, 3));
    snprintf(a->sha256, sizeof(a->sha256), "%s", sql_col_text(s, 5));
    snprintf(a->created_by, sizeof(a->created_by), "%s", sql_col_text(s, 7));
}

static int attachment_select(struct store *st, const char *sql, int64_t arg, struct store_attachment *out, size_t max,
                             size_t *n, struct yj_err *err)
{
    return sql_rows_of(st->sql, sql, arg, out, sizeof(*out), max, n, read_attachment, "reading attachments", err);
}

int store_attachment_list(struct store *st, int64_t incident_id, struct store_attachment *out, size_t max, size_t *n,
                          struct yj_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS " FROM attachments WHERE incident_id = $1 ORDER BY id LIMIT $2";
    return attachment_select(st, sql, incident_id, out, max, n, err);
}

int store_attachment_get(struct store *st, int64_t id, struct store_attachment *out, struct yj_err *err)
{
    static const char sql[] = "SELECT " ATTACHMENT_COLS " FROM attachments WHERE id = $1 LIMIT $2";
    size_t n = 0;
    int rc = attachment_select(st, sql, id, out, 1, &n, err);
    if (rc == 0 && n == 0)
        return yj_err_set(err, YJ_ENOTFOUND, "no attachment %lld", (long long)id);
    return rc;
}

int store_attachment_insert(struct store *st, struct store_attachment *a, struct yj_err *err)
{
    static const char sql[] = "INSERT INTO attachments (incident_id, name, type, size, sha256, created_at, "
                              "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    struct sql_stmt *s = sql_prepare(st->sql, sql, err);
    if (!s)
        return YJ_ESTORE;
    sql_bind_int(s, 1, a->incident_id);
    sql_bind_text(s, 2, a->name);
    sql_bind_text(s, 3, a->type);
    sql_bind_int(s, 4, a->size);
    sql_bind_text(s, 5, a->sha256);
    sql_bind_int(s, 6, a->created_at);
    sql_bind_text(s, 7, a->created_by);
    return sql_insert_id(s, "recording an attachment", &a->id, err);
}
