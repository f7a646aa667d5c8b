/* decode.c: YAML tree → C structs by schema tables, with positions for every value.
 * Never trusts the input: every scalar is checked as text, sizes are bounded, and an error
 * never stops the walk, so one run of `plan check` lists everything that is wrong. */
#include "../base/common.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "decode.h"

#include <ctype.h>
#include <jansson.h>
#include <libfyaml.h>

#define DECODE_MAX_DIAGS 100
#define DECODE_MAX_TEXT 8000
#define DECODE_MAX_ITEMS 100000

__attribute__((format(printf, 4, 0))) static void add_diag(struct decoder *d, int line, int col,
                                                           const char *fmt, va_list ap)
{
    if (d->n_diags >= DECODE_MAX_DIAGS)
        return;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    d->diags = xrealloc(d->diags, (d->n_diags + 1) * sizeof(*d->diags));
    d->diags[d->n_diags++] = xasprintf("%s:%d:%d: %s", d->file, line, col, msg);
    free(msg);
}

void decode_error_line(struct decoder *d, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_diag(d, line, col, fmt, ap);
    va_end(ap);
}

/* libfyaml 0.7 has no start mark for collection nodes: use the first scalar inside, which is
 * where a reader's eye goes anyway ("- id: x" points at "id"). */
static bool node_mark(struct fy_node *n, int *line, int *col)
{
    if (!n)
        return false;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        if (!m)
            return false;
        *line = m->line + 1;
        *col = m->column + 1;
        return true;
    }
    void *it = NULL;
    if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        return p && node_mark(fy_node_pair_key(p), line, col);
    }
    return node_mark(fy_node_sequence_iterate(n, &it), line, col);
}

void decode_error_at_node(struct decoder *d, struct fy_node *node, const char *fmt, ...)
{
    int line = 1, col = 1;
    node_mark(node, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    add_diag(d, line, col, fmt, ap);
    va_end(ap);
}

const struct plan_loc *decode_loc(const struct decoder *d, const void *addr)
{
    /* Newest first: a struct's first field shares the struct's address, and the field (recorded
     * after the struct) is the more precise place to point at. */
    for (size_t i = d->n_locs; i-- > 0;)
        if (d->locs[i].addr == addr)
            return &d->locs[i];
    return NULL;
}

void decode_error_at(struct decoder *d, const void *addr, const char *fmt, ...)
{
    const struct plan_loc *l = decode_loc(d, addr);
    va_list ap;
    va_start(ap, fmt);
    add_diag(d, l ? l->line : 1, l ? l->col : 1, fmt, ap);
    va_end(ap);
}

static void record(struct decoder *d, const void *addr, struct fy_node *n)
{
    int line = 1, col = 1;
    node_mark(n, &line, &col);
    if (d->n_locs == d->cap_locs) {
        d->cap_locs = d->cap_locs ? d->cap_locs * 2 : 256;
        d->locs = xrealloc(d->locs, d->cap_locs * sizeof(*d->locs));
    }
    d->locs[d->n_locs++] = (struct plan_loc){addr, line, col};
}

/* YAML's explicit nulls count as "not given". */
static bool is_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    return (len == 1 && s[0] == '~') || (len == 4 && memcmp(s, "null", 4) == 0) || len == 0;
}

static char *scalar_text(struct decoder *d, struct fy_node *n, const char *key)
{
    if (!fy_node_is_scalar(n) || fy_node_is_alias(n)) {
        decode_error_at_node(d, n, "%s: expected a single value, not a %s", key,
                             fy_node_is_mapping(n) ? "mapping" : "list");
        return NULL;
    }
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (memchr(s, 0, len)) {
        decode_error_at_node(d, n, "%s: contains a NUL character", key);
        return NULL;
    }
    char *v = xstrndup(s, len);
    struct yj_err err;
    if (yj_text_check(key, v, DECODE_MAX_TEXT, 0, &err) < 0) {
        decode_error_at_node(d, n, "%s", err.msg);
        free(v);
        return NULL;
    }
    return v;
}

static void decode_value(struct decoder *d, const struct decode_field *f, struct fy_node *v, void *obj)
{
    char *base = obj;
    void *slot = base + f->off;
    switch (f->kind) {
    case DK_STR: {
        char *s = scalar_text(d, v, f->key);
        if (s) {
            *(char **)slot = s;
            record(d, slot, v);
        }
        break;
    }
    case DK_STRS: {
        if (!fy_node_is_sequence(v)) {
            decode_error_at_node(d, v, "%s: expected a list, e.g. [a, b]", f->key);
            break;
        }
        int n = fy_node_sequence_item_count(v);
        if (n < 0 || n > DECODE_MAX_ITEMS) {
            decode_error_at_node(d, v, "%s: too many items", f->key);
            break;
        }
        char **arr = xcalloc((size_t)n ? (size_t)n : 1, sizeof(char *));
        size_t k = 0;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
            char *s = scalar_text(d, item, f->key);
            if (s) {
                arr[k] = s;
                record(d, &arr[k], item);
                k++;
            }
        }
        *(char ***)slot = arr;
        *(size_t *)(base + f->count_off) = k;
        break;
    }
    case DK_DUR: {
        char *s = scalar_text(d, v, f->key);
        if (!s)
            break;
        struct yj_err err;
        int64_t ms;
        if (yj_duration_parse(s, &ms, &err) < 0)
            decode_error_at_node(d, v, "%s: %s", f->key, err.msg);
        else
            *(int64_t *)slot = ms;
        record(d, slot, v);
        free(s);
        break;
    }
    case DK_SIZE: {
        char *s = scalar_text(d, v, f->key);
        if (!s)
            break;
        struct yj_err err;
        int64_t n;
        if (yj_size_parse(s, &n, &err) < 0)
            decode_error_at_node(d, v, "%s: %s", f->key, err.msg);
        else
            *(int64_t *)slot = n;
        record(d, slot, v);
        free(s);
        break;
    }
    case DK_BOOL: {
        char *s = scalar_text(d, v, f->key);
        if (!s)
            break;
        if (strcmp(s, "true") == 0)
            *(bool *)slot = true;
        else if (strcmp(s, "false") == 0)
            *(bool *)slot = false;
        else
            decode_error_at_node(d, v, "%s: expected true or false, not \"%s\"", f->key, s);
        record(d, slot, v);
        free(s);
        break;
    }
    case DK_INT: {
        char *s = scalar_text(d, v, f->key);
        if (!s)
            break;
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno || end == s || *end || n < 0)
            decode_error_at_node(d, v, "%s: expected a whole number, not \"%s\"", f->key, s);
        else
            *(int64_t *)slot = n;
        record(d, slot, v);
        free(s);
        break;
    }
    case DK_OBJ:
        /* Where the object stood, when that address is not also its first field's (a struct that
         * starts with an undecoded member, such as a presence flag, can be asked whether it was
         * given at all). */
        if (f->sub->n_fields && f->sub->fields[0].off != 0)
            record(d, slot, v);
        decode_object(d, f->sub, v, slot);
        break;
    case DK_LIST: {
        if (!fy_node_is_sequence(v)) {
            decode_error_at_node(d, v, "%s: expected a list of %ss", f->key, f->sub->what);
            break;
        }
        int n = fy_node_sequence_item_count(v);
        if (n < 0 || n > DECODE_MAX_ITEMS) {
            decode_error_at_node(d, v, "%s: too many items", f->key);
            break;
        }
        char *arr = xcalloc((size_t)n ? (size_t)n : 1, f->sub->size);
        size_t k = 0;
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(v, &it)) != NULL) {
            void *elem = arr + k * f->sub->size;
            record(d, elem, item);
            decode_object(d, f->sub, item, elem);
            k++;
        }
        *(void **)slot = arr;
        *(size_t *)(base + f->count_off) = k;
        break;
    }
    }
}

static void set_defaults(const struct decode_schema *s, void *obj)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct decode_field *f = &s->fields[i];
        if (f->kind == DK_DUR || f->kind == DK_SIZE)
            *(int64_t *)((char *)obj + f->off) = -1;
        else if (f->kind == DK_OBJ)
            set_defaults(f->sub, (char *)obj + f->off);
    }
}

void decode_object(struct decoder *d, const struct decode_schema *s, struct fy_node *node, void *obj)
{
    set_defaults(s, obj);
    if (!node || !fy_node_is_mapping(node)) {
        decode_error_at_node(d, node, "expected a mapping (key: value) for %s", s->what);
        return;
    }
    bool seen[64] = {false};
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(node, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        size_t klen = 0;
        const char *key = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &klen) : NULL;
        if (!key) {
            decode_error_at_node(d, k, "%s: keys must be plain words", s->what);
            continue;
        }
        size_t i;
        for (i = 0; i < s->n_fields; i++)
            if (strlen(s->fields[i].key) == klen && memcmp(s->fields[i].key, key, klen) == 0)
                break;
        if (i == s->n_fields) {
            char known[512] = "";
            size_t off = 0;
            for (size_t j = 0; j < s->n_fields && off < sizeof(known); j++) {
                int w = snprintf(known + off, sizeof(known) - off, "%s%s", j ? ", " : "", s->fields[j].key);
                if (w > 0)
                    off += (size_t)w;
            }
            decode_error_at_node(d, k, "unknown key \"%.*s\" in %s (known keys: %s)", (int)klen, key, s->what,
                                 known);
            continue;
        }
        seen[i] = true;
        if (is_null(v)) {
            if (s->fields[i].required)
                decode_error_at_node(d, k, "%s: a value is required", s->fields[i].key);
            continue;
        }
        decode_value(d, &s->fields[i], v, obj);
    }
    for (size_t i = 0; i < s->n_fields; i++)
        if (s->fields[i].required && !seen[i])
            decode_error_at_node(d, node, "%s is missing the required key \"%s\"", s->what, s->fields[i].key);
}

json_t *decode_to_json(const struct decode_schema *s, const void *obj)
{
    const char *base = obj;
    json_t *o = json_object();
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct decode_field *f = &s->fields[i];
        const void *slot = base + f->off;
        json_t *v = NULL;
        switch (f->kind) {
        case DK_STR: {
            const char *str = *(char *const *)slot;
            v = str ? json_string(str) : json_null();
            break;
        }
        case DK_STRS: {
            char *const *arr = *(char *const *const *)slot;
            size_t n = *(const size_t *)(base + f->count_off);
            v = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(v, json_string(arr[k]));
            break;
        }
        case DK_DUR: {
            int64_t ms = *(const int64_t *)slot;
            char buf[32];
            if (ms >= 0)
                yj_duration_format(ms, buf, sizeof(buf));
            v = ms >= 0 ? json_string(buf) : json_null();
            break;
        }
        case DK_SIZE: {
            int64_t n = *(const int64_t *)slot;
            v = n >= 0 ? json_integer(n) : json_null();
            break;
        }
        case DK_BOOL:
            v = json_boolean(*(const bool *)slot);
            break;
        case DK_INT:
            v = json_integer(*(const int64_t *)slot);
            break;
        case DK_OBJ:
            v = decode_to_json(f->sub, slot);
            break;
        case DK_LIST: {
            const char *arr = *(const void *const *)slot;
            size_t n = *(const size_t *)(base + f->count_off);
            v = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(v, decode_to_json(f->sub, arr + k * f->sub->size));
            break;
        }
        }
        json_object_set_new(o, f->key, v);
    }
    return o;
}

void decode_release(const struct decode_schema *s, void *obj)
{
    char *base = obj;
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct decode_field *f = &s->fields[i];
        void *slot = base + f->off;
        switch (f->kind) {
        case DK_STR:
            free(*(char **)slot);
            break;
        case DK_STRS: {
            char **arr = *(char ***)slot;
            size_t n = *(size_t *)(base + f->count_off);
            for (size_t k = 0; k < n; k++)
                free(arr[k]);
            free(arr);
            break;
        }
        case DK_OBJ:
            decode_release(f->sub, slot);
            break;
        case DK_LIST: {
            char *arr = *(void **)slot;
            size_t n = *(size_t *)(base + f->count_off);
            for (size_t k = 0; k < n; k++)
                decode_release(f->sub, arr + k * f->sub->size);
            free(arr);
            break;
        }
        default:
            break;
        }
    }
}

/* A key written with the full-width colon of a Chinese input method (timezone：Asia/Shanghai) is
 * not a key to YAML, and libfyaml's complaint lands on a later line. Finds the first line that
 * starts like a key (optionally after "- ") followed by "：": true, its line and column (in
 * characters) and the key. */
static bool fullwidth_colon(const char *data, size_t len, int *line, int *col, char *key, size_t key_size)
{
    static const char colon[] = "\xef\xbc\x9a"; /* U+FF1A */
    int ln = 1;
    for (size_t i = 0; i < len; ln++) {
        const char *p = data + i, *end = memchr(p, '\n', len - i);
        size_t n = end ? (size_t)(end - p) : len - i;
        size_t k = 0;
        while (k < n && p[k] == ' ')
            k++;
        if (k + 1 < n && p[k] == '-' && p[k + 1] == ' ')
            for (k += 2; k < n && p[k] == ' '; k++) {
            }
        size_t start = k;
        while (k < n && (isalnum((unsigned char)p[k]) || p[k] == '_'))
            k++;
        if (k > start && k + 3 <= n && memcmp(p + k, colon, 3) == 0) {
            *line = ln;
            *col = (int)k + 1;
            snprintf(key, key_size, "%.*s", (int)(k - start), p + start);
            return true;
        }
        i += n + 1;
    }
    return false;
}

struct fy_document *decode_parse(struct decoder *d, const char *data, size_t len)
{
    /* Find the first invalid byte ourselves so the message can point at it. */
    if (!yj_utf8_valid(data, len)) {
        int line = 1, col = 1;
        size_t i = 0;
        while (i < len) {
            unsigned char c = (unsigned char)data[i];
            size_t n = c < 0x80                 ? 1
                       : c >= 0xC2 && c <= 0xDF ? 2
                       : c >= 0xE0 && c <= 0xEF ? 3
                       : c >= 0xF0 && c <= 0xF4 ? 4
                                                : 0;
            if (n == 0 || i + n > len || !yj_utf8_valid(data + i, n))
                break;
            if (c == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
            i += n;
        }
        decode_error_line(d, line, col, "invalid UTF-8 (byte 0x%02x)", i < len ? (unsigned char)data[i] : 0);
        return NULL;
    }
    if (memchr(data, 0, len)) {
        decode_error_line(d, 1, 1, "file contains a NUL byte: not a YAML text file");
        return NULL;
    }
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag)
        abort();
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_DISABLE_MMAP_OPT, .diag = diag};
    struct fy_document *doc = fy_document_build_from_string(&cfg, data, len);
    if (!doc || fy_diag_got_error(diag)) {
        void *it = NULL;
        struct fy_diag_error *e;
        size_t before = d->n_diags;
        int fl = 0, fc = 0;
        char key[64];
        if (fullwidth_colon(data, len, &fl, &fc, key, sizeof(key)))
            decode_error_line(
                d, fl, fc,
                "\"%s\" is followed by the full-width colon \"：\" (a Chinese input method's): YAML "
                "needs the ASCII colon and a space, as in \"%s: ...\"",
                key, key);
        while (d->n_diags == before && (e = fy_diag_errors_iterate(diag, &it)) != NULL)
            decode_error_line(d, e->line + 1, e->column + 1, "%s", e->msg);
        if (d->n_diags == before)
            decode_error_line(d, 1, 1, "not valid YAML");
        if (doc)
            fy_document_destroy(doc);
        doc = NULL;
    }
    fy_diag_destroy(diag);
    return doc;
}

void decoder_release(struct decoder *d)
{
    for (size_t i = 0; i < d->n_diags; i++)
        free(d->diags[i]);
    free(d->diags);
    free(d->locs);
    memset(d, 0, sizeof(*d));
}
