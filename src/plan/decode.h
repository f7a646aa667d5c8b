/* decode.h: a small schema-driven decoder from a libfyaml tree into plain C structs.
 * Shared by the plan loader and the GB/T table (and later the rules and deployment config):
 * each struct is described once by a table of fields, and unknown keys, missing keys, wrong
 * node kinds, bad durations and invalid text are all reported with FILE:LINE:COLUMN. */
#ifndef YJ_PLAN_DECODE_H
#define YJ_PLAN_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_node;

enum decode_kind {
    DK_STR,  /* char * */
    DK_STRS, /* char **, with a size_t count at count_off */
    DK_DUR,  /* int64_t ms, -1 when absent */
    DK_SIZE, /* int64_t bytes, -1 when absent */
    DK_BOOL, /* bool */
    DK_INT,  /* int64_t */
    DK_OBJ,  /* an embedded struct described by sub */
    DK_LIST  /* an array of structs described by sub, with a size_t count at count_off */
};

struct decode_schema;

struct decode_field {
    const char *key;
    enum decode_kind kind;
    bool required;
    size_t off;
    size_t count_off;
    const struct decode_schema *sub;
};

struct decode_schema {
    const char *what; /* "unit", "type", ... for messages */
    size_t size;
    const struct decode_field *fields;
    size_t n_fields;
};

#define DECODE_FIELD(T, key, kind, req, member) {key, kind, req, offsetof(T, member), 0, NULL}
#define DECODE_STRS(T, key, req, member) {key, DK_STRS, req, offsetof(T, member), offsetof(T, n_##member), NULL}
#define DECODE_OBJ(T, key, req, member, sub) {key, DK_OBJ, req, offsetof(T, member), 0, &(sub)}
#define DECODE_LIST(T, key, req, member, sub)                                                             \
    {key, DK_LIST, req, offsetof(T, member), offsetof(T, n_##member), &(sub)}
#define DECODE_SCHEMA(name, T, what, fields) {what, sizeof(T), fields, sizeof(fields) / sizeof((fields)[0])}

/* Where a decoded value stood in its file (1-based). */
struct plan_loc {
    const void *addr;
    int line;
    int col;
};

struct decoder {
    const char *file;
    char **diags; /* "FILE:LINE:COLUMN: message" */
    size_t n_diags;
    struct plan_loc *locs;
    size_t n_locs;
    size_t cap_locs;
};

/* Decodes mapping `node` into obj (zeroed by the caller) according to schema. Errors are
 * appended to d->diags; decoding goes on after an error so that all of them are reported. */
void decode_object(struct decoder *d, const struct decode_schema *schema, struct fy_node *node, void *obj);

/* The JSON form of a decoded struct: the same keys as the file, null for what was not given,
 * durations written back as "1h30m". Caller json_decref's it. */
struct json_t;
struct json_t *decode_to_json(const struct decode_schema *schema, const void *obj);

/* Frees what decode_object allocated inside obj (not obj itself). */
void decode_release(const struct decode_schema *schema, void *obj);

/* Appends a diagnostic at a node, or at the recorded location of a decoded value. */
void decode_error_at_node(struct decoder *d, struct fy_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void decode_error_at(struct decoder *d, const void *addr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void decode_error_line(struct decoder *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The recorded location of a decoded value, or NULL. */
const struct plan_loc *decode_loc(const struct decoder *d, const void *addr);

/* Parses YAML bytes into a libfyaml document, reporting syntax errors and invalid UTF-8 as
 * diagnostics. Returns NULL on failure. Caller destroys with fy_document_destroy. The document
 * points into data (libfyaml does not copy it): data must outlive the document. */
struct fy_document *decode_parse(struct decoder *d, const char *data, size_t len);

void decoder_release(struct decoder *d);

#endif
