/* rules.h: detection rules (the YAML files in rules/, docs/rules.md). All patterns of a rule set compile
 * into one Hyperscan database used as a prefilter over each message; PCRE2 (JIT) then confirms a
 * candidate and extracts its named fields. A rule file with any error is refused whole, each
 * error as FILE:LINE:COLUMN. A compiled set is immutable; each thread needs its own scratch. */
#ifndef YJ_RULES_H
#define YJ_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;
struct plan_diags;

struct rule_threshold {
    int64_t count;  /* 0: every match counts on its own */
    int64_t within; /* ms */
    char **by;      /* field names that make the key, e.g. [ip] */
    size_t n_by;
};

struct rule_raise {
    char *type;  /* plan incident type */
    char *level; /* plan level; default: the type's */
    char *title; /* template: {field} is replaced by the field's value */
};

struct rule_allow {
    char **ip; /* CIDRs never counted */
    size_t n_ip;
    char **user;
    size_t n_user;
};

struct rule_def {
    char *id;
    char *description;
    char **programs; /* syslog program names the rule applies to; empty: any */
    size_t n_programs;
    char **patterns;
    size_t n_patterns;
    struct rule_allow allow;
    struct rule_threshold threshold;
    struct rule_raise raise;
    char *gbt;
};

#define RULES_MAX_FIELDS 8

/* One rule matching one message. Field values point into the message (not terminated). */
struct rule_hit {
    const struct rule_def *rule;
    size_t n_fields;
    const char *names[RULES_MAX_FIELDS];
    const char *values[RULES_MAX_FIELDS];
    size_t lens[RULES_MAX_FIELDS];
    bool allowed; /* an allow-listed ip or user: not to be counted */
};

struct rules;
struct rules_scratch;

/* Loads every .yaml file in dir (NULL: the built-in rules), keeping only the ids in `only` when
 * n_only > 0 (an unknown id is an error), and compiles them. Free with rules_free. */
int rules_load(const char *dir, const char *const *only, size_t n_only, struct rules **out, struct plan_diags *diags,
               struct yj_err *err);
/* The same from one file's bytes in memory; name is used in diagnostics. */
int rules_load_buffer(const char *name, const char *data, size_t len, struct rules **out, struct plan_diags *diags,
                      struct yj_err *err);
void rules_free(struct rules *r);

size_t rules_count(const struct rules *r);
const struct rule_def *rules_get(const struct rules *r, size_t i);
/* Patterns of all rules (pattern indexes run from 0 to this). */
size_t rules_pattern_count(const struct rules *r);
/* The position of def (a rule of r, as in a hit) among r's rules. */
size_t rules_index(const struct rules *r, const struct rule_def *def);

struct rules_scratch *rules_scratch_new(const struct rules *r);
void rules_scratch_free(struct rules_scratch *s);

typedef void (*rules_hit_cb)(const struct rule_hit *hit, void *ud);
/* Scanning many lines at once (offline tools): when every pattern has a required literal, the
 * literals alone are looked for over the whole buffer; cb gets each occurrence's pattern index
 * and end offset in buf. A line with no occurrence cannot match; a line with some is confirmed
 * with rules_match_candidates on those pattern indexes. YJ_EINVAL when not possible (some
 * pattern has no literal): use rules_match per line. */
typedef void (*rules_block_cb)(unsigned pattern, size_t end, void *ud);
int rules_scan_block(const struct rules *r, struct rules_scratch *s, const char *buf, size_t len, rules_block_cb cb,
                     void *ud);
/* Like rules_match, with the candidate pattern indexes already known (from rules_scan_block). */
int rules_match_candidates(const struct rules *r, struct rules_scratch *s, const unsigned *patterns, size_t n,
                           const char *program, size_t program_len, const char *msg, size_t len, rules_hit_cb cb,
                           void *ud);

/* Matches one message (from `program`, NULL when unknown); calls cb once for each matching rule.
 * Returns the number of rules that matched. */
int rules_match(const struct rules *r, struct rules_scratch *s, const char *program, size_t program_len,
                const char *msg, size_t len, rules_hit_cb cb, void *ud);

/* The threshold key of a hit: the values of the rule's `by` fields joined by 0x1f, into buf
 * (truncated to size). Returns its length. */
size_t rule_hit_key(const struct rule_hit *hit, char *buf, size_t size);

/* The value of a field of a hit, copied into buf (truncated to size); "" when absent. */
const char *rule_hit_field(const struct rule_hit *hit, const char *name, char *buf, size_t size);

#endif
