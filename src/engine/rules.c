/* rules.c: loading, compiling and matching detection rules.
 * Hot path: rules_match runs once per log line, so it must not allocate; Hyperscan rejects most
 * lines in one pass and PCRE2 runs only on the few candidates. */
#include "../base/cidr.h"
#include "../base/common.h"
#include "../base/embed.h"
#include "../plan/decode.h"
#include "../plan/plan.h"
#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <hs/hs.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libfyaml.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define RULES_MAX_PATTERNS 4096

struct rule_file {
    struct rule_def *rules;
    size_t n_rules;
};

static const struct decode_field threshold_fields[] = {
    DECODE_FIELD(struct rule_threshold, "count", DK_INT, true, count),
    DECODE_FIELD(struct rule_threshold, "within", DK_DUR, true, within),
    DECODE_STRS(struct rule_threshold, "by", true, by),
};
static const struct decode_schema threshold_schema =
    DECODE_SCHEMA(threshold, struct rule_threshold, "threshold", threshold_fields);
static const struct decode_field raise_fields[] = {
    DECODE_FIELD(struct rule_raise, "type", DK_STR, true, type),
    DECODE_FIELD(struct rule_raise, "level", DK_STR, false, level),
    DECODE_FIELD(struct rule_raise, "title", DK_STR, true, title),
};
static const struct decode_schema raise_schema =
    DECODE_SCHEMA(raise, struct rule_raise, "raise", raise_fields);
static const struct decode_field allow_fields[] = {
    DECODE_STRS(struct rule_allow, "ip", false, ip),
    DECODE_STRS(struct rule_allow, "user", false, user),
};
static const struct decode_schema allow_schema =
    DECODE_SCHEMA(allow, struct rule_allow, "allow", allow_fields);
static const struct decode_field rule_fields[] = {
    DECODE_FIELD(struct rule_def, "id", DK_STR, true, id),
    DECODE_FIELD(struct rule_def, "description", DK_STR, false, description),
    DECODE_STRS(struct rule_def, "programs", false, programs),
    DECODE_STRS(struct rule_def, "patterns", true, patterns),
    DECODE_OBJ(struct rule_def, "allow", false, allow, allow_schema),
    DECODE_OBJ(struct rule_def, "threshold", false, threshold, threshold_schema),
    DECODE_OBJ(struct rule_def, "raise", true, raise, raise_schema),
    DECODE_FIELD(struct rule_def, "gbt", DK_STR, false, gbt),
};
static const struct decode_schema rule_schema = DECODE_SCHEMA(rule, struct rule_def, "rule", rule_fields);
static const struct decode_field file_fields[] = {
    DECODE_LIST(struct rule_file, "rules", true, rules, rule_schema),
};
static const struct decode_schema file_schema =
    DECODE_SCHEMA(file, struct rule_file, "rule file", file_fields);

/* One compiled pattern. */
struct pattern {
    size_t rule;
    pcre2_code *re;
    bool jit;
    uint32_t name_count, name_size;
    PCRE2_SPTR names;
};

struct compiled_rule {
    struct rule_def def;
    struct yj_cidr *allow;
    size_t n_allow;
};

struct rules {
    struct rule_file *files;
    size_t n_files;
    struct compiled_rule *rules;
    size_t n_rules;
    struct pattern *patterns;
    size_t n_patterns;
    hs_database_t *db;
    hs_database_t *block_db;  /* the literals alone, every occurrence: NULL unless each pattern has one */
    struct decoder *decoders; /* kept for positions of later errors */
};

struct rules_scratch {
    hs_scratch_t *hs;
    pcre2_match_data *md;
    unsigned *cand; /* candidate pattern ids of the current line */
    size_t n_cand, cap_cand;
};

static void add_file(struct rules *r, const char *name, const char *data, size_t len)
{
    r->files = xrealloc(r->files, (r->n_files + 1) * sizeof(*r->files));
    r->decoders = xrealloc(r->decoders, (r->n_files + 1) * sizeof(*r->decoders));
    struct rule_file *f = &r->files[r->n_files];
    struct decoder *d = &r->decoders[r->n_files];
    memset(f, 0, sizeof(*f));
    memset(d, 0, sizeof(*d));
    d->file = xstrdup(name);
    r->n_files++;
    struct fy_document *doc = decode_parse(d, data, len);
    if (doc) {
        decode_object(d, &file_schema, fy_document_root(doc), f);
        fy_document_destroy(doc);
    }
}

static int is_rule_file(const struct dirent *de)
{
    size_t l = strlen(de->d_name);
    return l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0;
}

static int load_dir(struct rules *r, const char *dir, struct yj_err *err)
{
    /* Sorted by name, so ids and error lists do not depend on the directory's order. */
    struct dirent **entries = NULL;
    int found = scandir(dir, &entries, is_rule_file, alphasort);
    if (found < 0)
        return yj_err_set(err, YJ_EIO, "%s: cannot read the rules directory: %s", dir, strerror(errno));
    size_t n = (size_t)found;
    char **names = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        names[i] = xasprintf("%s/%s", dir, entries[i]->d_name);
        free(entries[i]);
    }
    free(entries);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(names[i], "rb");
        if (!f) {
            rc = yj_err_set(err, YJ_EIO, "%s: cannot open: %s", names[i], strerror(errno));
        } else {
            enum { MAX = 4 * 1024 * 1024 };
            char *buf = xmalloc(MAX + 1);
            size_t len = fread(buf, 1, MAX + 1, f);
            fclose(f);
            if (len > MAX)
                rc = yj_err_set(err, YJ_EINVAL, "%s:1:1: rule file larger than 4 MiB", names[i]);
            else
                add_file(r, names[i], buf, len);
            /* The decoded strings are copies; the buffer can go once the file is decoded. */
            free(buf);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void collect(struct rules *r, struct plan_diags *diags)
{
    for (size_t i = 0; i < r->n_files; i++) {
        struct decoder *d = &r->decoders[i];
        for (size_t k = 0; k < d->n_diags && diags; k++) {
            diags->lines = xrealloc(diags->lines, (diags->n + 1) * sizeof(char *));
            diags->lines[diags->n++] = d->diags[k];
            d->diags[k] = NULL;
        }
    }
}

static size_t n_errors(const struct rules *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_files; i++)
        n += r->decoders[i].n_diags;
    return n;
}

/* The decoder that decoded a given address (for positions). */
static struct decoder *owner(struct rules *r, const void *addr)
{
    for (size_t i = 0; i < r->n_files; i++)
        if (decode_loc(&r->decoders[i], addr))
            return &r->decoders[i];
    return &r->decoders[0];
}

/* ---- what Hyperscan is given ----
 * A pattern with full regex semantics makes Hyperscan run an automaton over every byte of every
 * line (~1,600 instructions a line for the sshd rule); a plain literal runs in its literal
 * matcher (a few hundred). PCRE2 confirms every candidate anyway, so for each pattern that has a
 * long enough literal that every match must contain, Hyperscan gets only that literal; other
 * patterns go in whole (in prefilter mode). The literal is taken from the pattern's top level
 * only — outside groups, classes and alternation, with no quantifier after it — so it is
 * required whatever the rest matches. */

#define LITERAL_MIN 6

/* The end of the group or class starting at p ('(' or '['), or NULL when unbalanced. */
static const char *skip_group(const char *p)
{
    int depth = 0;
    bool in_class = false;
    for (; *p; p++) {
        if (*p == '\\') {
            if (!p[1])
                return NULL;
            p++;
        } else if (in_class) {
            if (*p == ']') {
                in_class = false;
                if (depth == 0)
                    return p; /* the class we were asked to skip */
            }
        } else if (*p == '[') {
            in_class = true;
            if (p[1] == '^')
                p++;
            if (p[1] == ']')
                p++; /* a leading ] is literal inside a class */
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth == 0)
                return p;
        }
    }
    return NULL;
}

#define FACTOR_MAX 2048

/* Appends to buf (of FACTOR_MAX, holding *used) what fmt makes; false when it does not fit. */
__attribute__((format(printf, 3, 4))) static bool append(char *buf, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, FACTOR_MAX - *used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= FACTOR_MAX - *used)
        return false;
    *used += (size_t)n;
    return true;
}

/* An atom of a required factor, as Hyperscan syntax appended to buf: a plain character class
 * ([aA]) or a group of plain alternatives ((?:failure|error)). Returns the fewest characters it
 * matches, or 0 when the atom is anything else (captures, look-arounds, nested or escaped parts). */
static size_t factor_atom(const char *p, const char *end, char *buf, size_t *used)
{
    if (*p == '[') {
        for (const char *q = p + 1; q < end; q++)
            if (*q == '\\' || *q == '[')
                return 0;
        return append(buf, used, "%.*s", (int)(end - p + 1), p) ? 1 : 0;
    }
    if (strncmp(p, "(?:", 3) != 0)
        return 0;
    size_t shortest = SIZE_MAX, cur = 0;
    for (const char *q = p + 3; q < end; q++) {
        if (*q == '|') {
            shortest = cur < shortest ? cur : shortest;
            cur = 0;
        } else if (isalnum((unsigned char)*q) || strchr(" _-,;'\"/=<>!@#%&~`", *q)) {
            cur++;
        } else {
            return 0;
        }
    }
    shortest = cur < shortest ? cur : shortest;
    if (shortest == 0 || !append(buf, used, "(?:"))
        return 0;
    for (const char *q = p + 3; q < end; q++)
        if (!(*q == '|' ? append(buf, used, "|") : append(buf, used, "\\x%02x", (unsigned char)*q)))
            return 0;
    return append(buf, used, ")") ? shortest : 0;
}

/* Writes into out the longest factor every match of re must contain — a run of literal characters,
 * plain classes and groups of plain alternatives at the pattern's top level, none quantified — as a
 * Hyperscan expression, and returns the fewest characters it matches; 0 when there is none of at
 * least LITERAL_MIN. */
static size_t required_literal(const char *re, char *out, size_t cap, bool *caseless)
{
    char run[FACTOR_MAX] = "", best[FACTOR_MAX] = "";
    size_t run_used = 0, rn = 0, bn = 0;
    *caseless = false;
    for (const char *p = re; *p;) {
        char c = *p;
        const char *next = p + 1;
        char atom[FACTOR_MAX];
        size_t atom_used = 0, atom_len = 0;
        atom[0] = 0;
        if (c == '|')
            return 0; /* top-level alternation: nothing is required */
        if (c == '\\') {
            if (!p[1] || p[1] == 'Q')
                return 0;
            if (!isalnum((unsigned char)p[1]) && (unsigned char)p[1] >= 0x20 && (unsigned char)p[1] < 0x7f)
                atom_len = append(atom, &atom_used, "\\x%02x", (unsigned char)p[1]) ? 1 : 0;
            next = p + 2;
        } else if (c == '(' || c == '[') {
            if (c == '(' && p[1] == '?' && p[2] == 'i' && p[3] == ')')
                *caseless = true; /* a top-level (?i): case-blind from there */
            const char *end = skip_group(p);
            if (!end)
                return 0;
            atom_len = factor_atom(p, end, atom, &atom_used);
            next = end + 1;
        } else if (!strchr(".^$*+?{}", c) && (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) {
            atom_len = append(atom, &atom_used, "\\x%02x", (unsigned char)c) ? 1 : 0;
        }
        /* A quantified atom is not required (or not just once): it ends the run. */
        bool quantified = *next == '?' || *next == '*' || *next == '+' || *next == '{';
        if (atom_len && !quantified && append(run, &run_used, "%s", atom)) {
            rn += atom_len;
        } else {
            if (rn > bn) {
                memcpy(best, run, run_used + 1);
                bn = rn;
            }
            run[0] = 0;
            run_used = rn = 0;
        }
        p = next;
    }
    if (rn > bn) {
        memcpy(best, run, run_used + 1);
        bn = rn;
    }
    if (bn < LITERAL_MIN || strlen(best) >= cap)
        return 0;
    snprintf(out, cap, "%s", best);
    return bn;
}

/* ---- a cache of compiled Hyperscan databases ----
 * Compiling the built-in rules takes Hyperscan ~150 ms; loading a serialized database takes ~1 ms.
 * So compiled databases are kept in the user's cache directory, named by a hash of everything
 * that goes into them (Hyperscan's version, each pattern, its flags and id). Any failure —
 * no cache directory, a file from another CPU or version, a short or corrupt file — falls back
 * to compiling; the cache never changes what matches. */

static bool cache_path(const char *const *exprs, const unsigned *flags, const unsigned *ids, size_t n,
                       char *out, size_t cap)
{
    const char *dir = getenv("YINGJI_CACHE_DIR");
    char buf[PATH_MAX];
    if (dir && !*dir)
        return false; /* set and empty: no cache */
    if (!dir) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(buf, sizeof(buf), "%s/yingji", xdg);
        else if (home && *home)
            snprintf(buf, sizeof(buf), "%s/.cache/yingji", home);
        else
            return false;
        dir = buf;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    const char *v = hs_version();
    crypto_generichash_update(&h, (const unsigned char *)v, strlen(v) + 1);
    /* The CPU it was compiled for: a database tuned for AVX-512 is not what an older CPU (or
     * valgrind) should load, nor the other way round. */
    hs_platform_info_t plat;
    if (hs_populate_platform(&plat) != HS_SUCCESS)
        return false;
    crypto_generichash_update(&h, (const unsigned char *)&plat, sizeof(plat));
    for (size_t i = 0; i < n; i++) {
        crypto_generichash_update(&h, (const unsigned char *)exprs[i], strlen(exprs[i]) + 1);
        crypto_generichash_update(&h, (const unsigned char *)&flags[i], sizeof(flags[i]));
        crypto_generichash_update(&h, (const unsigned char *)&ids[i], sizeof(ids[i]));
    }
    unsigned char sum[16];
    char hex[33];
    crypto_generichash_final(&h, sum, sizeof(sum));
    sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
    return snprintf(out, cap, "%s/hs-%s.db", dir, hex) < (int)cap;
}

static hs_database_t *cache_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    hs_database_t *db = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (64 << 20)) {
        char *bytes = xmalloc((size_t)st.st_size);
        if (read(fd, bytes, (size_t)st.st_size) == st.st_size &&
            hs_deserialize_database(bytes, (size_t)st.st_size, &db) != HS_SUCCESS)
            db = NULL;
        free(bytes);
    }
    close(fd);
    return db;
}

static void cache_write(const char *path, const hs_database_t *db)
{
    char *bytes = NULL;
    size_t len = 0;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        return;
    char dir[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        /* ~/.cache may not exist yet either. */
        char *parent = strrchr(dir, '/');
        if (parent && parent != dir) {
            *parent = 0;
            mkdir(dir, 0700);
            *parent = '/';
        }
        mkdir(dir, 0700);
    }
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        bool ok = write(fd, bytes, len) == (ssize_t)len;
        ok = close(fd) == 0 && ok;
        if (!ok || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(bytes);
}

static hs_error_t compile_cached(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                                 size_t n, hs_database_t **db, hs_compile_error_t **ce)
{
    char path[PATH_MAX];
    bool cacheable = cache_path(exprs, flags, ids, n, path, sizeof(path));
    if (cacheable && (*db = cache_read(path)))
        return HS_SUCCESS;
    hs_error_t rc = hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, db, ce);
    if (rc == HS_SUCCESS && cacheable)
        cache_write(path, *db);
    return rc;
}

static int compile(struct rules *r, const char *const *only, size_t n_only)
{
    size_t total = 0;
    for (size_t f = 0; f < r->n_files; f++)
        total += r->files[f].n_rules;
    r->rules = xcalloc(total ? total : 1, sizeof(*r->rules));
    bool *used = xcalloc(n_only ? n_only : 1, sizeof(bool));
    for (size_t f = 0; f < r->n_files; f++) {
        for (size_t k = 0; k < r->files[f].n_rules; k++) {
            struct rule_def *def = &r->files[f].rules[k];
            /* Duplicates across all files. */
            for (size_t j = 0; j < r->n_rules; j++)
                if (strcmp(r->rules[j].def.id, def->id) == 0)
                    decode_error_at(&r->decoders[f], &def->id, "duplicate rule id \"%s\"", def->id);
            if (def->threshold.count < 0 || (def->threshold.n_by && def->threshold.count == 0))
                decode_error_at(&r->decoders[f], &def->threshold.count, "count must be at least 1");
            if (def->n_patterns == 0)
                decode_error_at(&r->decoders[f], def, "rule %s has no patterns", def->id);
            bool keep = n_only == 0;
            for (size_t o = 0; o < n_only; o++)
                if (strcmp(only[o], def->id) == 0)
                    keep = used[o] = true;
            if (!keep)
                continue;
            struct compiled_rule *cr = &r->rules[r->n_rules++];
            cr->def = *def;
            cr->allow = xcalloc(def->allow.n_ip ? def->allow.n_ip : 1, sizeof(*cr->allow));
            for (size_t a = 0; a < def->allow.n_ip; a++)
                if (!yj_cidr_parse(def->allow.ip[a], &cr->allow[cr->n_allow++]))
                    decode_error_at(&r->decoders[f], &def->allow.ip[a],
                                    "\"%s\" is not an IP address or CIDR range", def->allow.ip[a]);
        }
    }
    for (size_t o = 0; o < n_only; o++)
        if (!used[o])
            decode_error_line(&r->decoders[0], 1, 1, "no rule with id \"%s\"", only[o]);
    free(used);
    if (n_errors(r))
        return YJ_EINVAL;

    /* Every pattern: PCRE2 (the authority) and an entry of the Hyperscan database. */
    for (size_t i = 0; i < r->n_rules; i++)
        r->n_patterns += r->rules[i].def.n_patterns;
    if (r->n_patterns > RULES_MAX_PATTERNS) {
        decode_error_line(&r->decoders[0], 1, 1, "too many patterns (%zu, at most %d)", r->n_patterns,
                          RULES_MAX_PATTERNS);
        return YJ_EINVAL;
    }
    r->patterns = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(*r->patterns));
    const char **exprs = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(char *));
    unsigned *flags = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(unsigned));
    unsigned *ids = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(unsigned));
    char **owned = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(char *));
    unsigned *block_flags = xcalloc(r->n_patterns ? r->n_patterns : 1, sizeof(unsigned));
    size_t p = 0, n_owned = 0;
    bool all_literal = true;
    for (size_t i = 0; i < r->n_rules; i++) {
        struct rule_def *def = &r->rules[i].def;
        for (size_t k = 0; k < def->n_patterns; k++, p++) {
            struct pattern *pt = &r->patterns[p];
            pt->rule = i;
            int ec;
            PCRE2_SIZE eo;
            pt->re = pcre2_compile((PCRE2_SPTR)def->patterns[k], PCRE2_ZERO_TERMINATED, 0, &ec, &eo, NULL);
            if (!pt->re) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(ec, msg, sizeof(msg));
                struct decoder *d = owner(r, &def->patterns[k]);
                const struct plan_loc *l = decode_loc(d, &def->patterns[k]);
                decode_error_line(d, l ? l->line : 1, (l ? l->col : 1) + (int)eo, "pattern: %s", (char *)msg);
                continue;
            }
            pt->jit = pcre2_jit_compile(pt->re, PCRE2_JIT_COMPLETE) == 0;
            pcre2_pattern_info(pt->re, PCRE2_INFO_NAMECOUNT, &pt->name_count);
            pcre2_pattern_info(pt->re, PCRE2_INFO_NAMEENTRYSIZE, &pt->name_size);
            pcre2_pattern_info(pt->re, PCRE2_INFO_NAMETABLE, &pt->names);
            if (pt->name_count > RULES_MAX_FIELDS) {
                struct decoder *d = owner(r, &def->patterns[k]);
                decode_error_at(d, &def->patterns[k], "pattern: at most %d named fields", RULES_MAX_FIELDS);
            }
            bool caseless;
            char lit[FACTOR_MAX];
            if (required_literal(def->patterns[k], lit, sizeof(lit), &caseless)) {
                exprs[p] = owned[n_owned++] = xstrdup(lit);
                flags[p] = HS_FLAG_SINGLEMATCH | (caseless ? HS_FLAG_CASELESS : 0);
                block_flags[p] = caseless ? HS_FLAG_CASELESS : 0;
            } else {
                all_literal = false;
                exprs[p] = def->patterns[k];
                /* Prefilter mode: Hyperscan may over-approximate what it cannot do exactly
                 * (look-arounds); PCRE2 has the last word. */
                flags[p] = HS_FLAG_SINGLEMATCH | HS_FLAG_PREFILTER | HS_FLAG_ALLOWEMPTY;
            }
            ids[p] = (unsigned)p;
        }
    }
    if (!n_errors(r) && r->n_patterns) {
        hs_compile_error_t *ce = NULL;
        if (compile_cached(exprs, flags, ids, r->n_patterns, &r->db, &ce) != HS_SUCCESS) {
            int at = ce && ce->expression >= 0 ? ce->expression : 0;
            size_t rule = r->patterns[at].rule;
            const struct rule_def *def = &r->rules[rule].def;
            size_t k = (size_t)at;
            for (size_t i = 0; i < rule; i++)
                k -= r->rules[i].def.n_patterns;
            struct decoder *d = owner(r, &def->patterns[k]);
            decode_error_at(d, &def->patterns[k], "pattern: %s", ce ? ce->message : "cannot be compiled");
            hs_free_compile_error(ce);
        }
    }
    /* Literals only: the same literals can also be looked for over a whole block of lines at once
     * (rules_scan_block), which spares Hyperscan's fixed cost per scan on every line. */
    if (!n_errors(r) && r->n_patterns && all_literal) {
        hs_compile_error_t *ce = NULL;
        if (compile_cached(exprs, block_flags, ids, r->n_patterns, &r->block_db, &ce) != HS_SUCCESS) {
            hs_free_compile_error(ce);
            r->block_db = NULL;
        }
    }
    free(block_flags);
    free(exprs);
    free(flags);
    free(ids);
    for (size_t i = 0; i < n_owned; i++)
        free(owned[i]);
    free(owned);
    return n_errors(r) ? YJ_EINVAL : 0;
}

static int finish_load(struct rules *r, int rc, const char *what, const char *const *only, size_t n_only,
                       struct rules **out, struct plan_diags *diags, struct yj_err *err);

int rules_load_buffer(const char *name, const char *data, size_t len, struct rules **out,
                      struct plan_diags *diags, struct yj_err *err)
{
    struct rules *r = xcalloc(1, sizeof(*r));
    add_file(r, name, data, len);
    return finish_load(r, 0, name, NULL, 0, out, diags, err);
}

int rules_load(const char *dir, const char *const *only, size_t n_only, struct rules **out,
               struct plan_diags *diags, struct yj_err *err)
{
    struct rules *r = xcalloc(1, sizeof(*r));
    int rc = 0;
    if (dir) {
        rc = load_dir(r, dir, err);
    } else {
        for (size_t i = 0; i < yj_embedded_count; i++) {
            const struct yj_embed *e = &yj_embedded[i];
            /* Only the YAML files directly in rules/ (rules/words/ holds the website guard's lists). */
            size_t nl = strlen(e->name);
            if (strncmp(e->name, "rules/", 6) == 0 && !strchr(e->name + 6, '/') && nl > 5 &&
                strcmp(e->name + nl - 5, ".yaml") == 0)
                add_file(r, e->name, (const char *)e->data, yj_embed_len(e));
        }
    }
    return finish_load(r, rc, dir ? dir : "built-in rules", only, n_only, out, diags, err);
}

static int finish_load(struct rules *r, int rc, const char *what, const char *const *only, size_t n_only,
                       struct rules **out, struct plan_diags *diags, struct yj_err *err)
{
    if (rc == 0 && r->n_files == 0)
        rc = yj_err_set(err, YJ_EINVAL, "%s: no rule files (*.yaml)", what);
    if (rc == 0 && (n_errors(r) || compile(r, only, n_only) < 0)) {
        rc = YJ_EINVAL;
        for (size_t i = 0; i < r->n_files; i++)
            if (r->decoders[i].n_diags) {
                yj_err_set(err, YJ_EINVAL, "%s", r->decoders[i].diags[0]);
                break;
            }
        collect(r, diags);
    }
    if (rc < 0) {
        rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void rules_free(struct rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_patterns; i++)
        pcre2_code_free(r->patterns[i].re);
    for (size_t i = 0; i < r->n_rules; i++)
        free(r->rules[i].allow);
    for (size_t i = 0; i < r->n_files; i++) {
        decode_release(&file_schema, &r->files[i]);
        free((char *)r->decoders[i].file);
        decoder_release(&r->decoders[i]);
    }
    hs_free_database(r->db);
    hs_free_database(r->block_db);
    free(r->patterns);
    free(r->rules);
    free(r->files);
    free(r->decoders);
    free(r);
}

size_t rules_count(const struct rules *r)
{
    return r->n_rules;
}

const struct rule_def *rules_get(const struct rules *r, size_t i)
{
    return i < r->n_rules ? &r->rules[i].def : NULL;
}

size_t rules_pattern_count(const struct rules *r)
{
    return r->n_patterns;
}

size_t rules_index(const struct rules *r, const struct rule_def *def)
{
    /* def is the first member of its compiled_rule. */
    return (size_t)((const struct compiled_rule *)(const void *)def - r->rules);
}

struct rules_scratch *rules_scratch_new(const struct rules *r)
{
    struct rules_scratch *s = xcalloc(1, sizeof(*s));
    if ((r->db && hs_alloc_scratch(r->db, &s->hs) != HS_SUCCESS) ||
        (r->block_db && hs_alloc_scratch(r->block_db, &s->hs) != HS_SUCCESS))
        abort(); /* only fails for lack of memory */
    s->md = pcre2_match_data_create(2 * (RULES_MAX_FIELDS + 1) + 32, NULL);
    s->cap_cand = r->n_patterns ? r->n_patterns : 1;
    s->cand = xcalloc(s->cap_cand, sizeof(unsigned));
    return s;
}

void rules_scratch_free(struct rules_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    pcre2_match_data_free(s->md);
    free(s->cand);
    free(s);
}

static int on_candidate(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                        void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    struct rules_scratch *s = ctx;
    if (s->n_cand < s->cap_cand)
        s->cand[s->n_cand++] = id;
    return 0;
}

static bool program_ok(const struct rule_def *def, const char *program, size_t plen)
{
    if (def->n_programs == 0)
        return true;
    if (!program)
        return false;
    for (size_t i = 0; i < def->n_programs; i++)
        if (strlen(def->programs[i]) == plen && memcmp(def->programs[i], program, plen) == 0)
            return true;
    return false;
}

size_t rule_hit_key(const struct rule_hit *hit, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t b = 0; b < hit->rule->threshold.n_by; b++) {
        if (b && n < size)
            buf[n++] = 0x1f;
        for (size_t i = 0; i < hit->n_fields; i++)
            if (strcmp(hit->names[i], hit->rule->threshold.by[b]) == 0) {
                size_t l = hit->lens[i] < size - n ? hit->lens[i] : size - n;
                memcpy(buf + n, hit->values[i], l);
                n += l;
                break;
            }
    }
    return n;
}

const char *rule_hit_field(const struct rule_hit *hit, const char *name, char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t i = 0; i < hit->n_fields; i++)
        if (strcmp(hit->names[i], name) == 0) {
            size_t n = hit->lens[i] < size - 1 ? hit->lens[i] : size - 1;
            memcpy(buf, hit->values[i], n);
            buf[n] = 0;
            break;
        }
    return buf;
}

static int confirm(const struct rules *r, struct rules_scratch *s, const char *program, size_t program_len,
                   const char *msg, size_t len, rules_hit_cb cb, void *ud);

int rules_match(const struct rules *r, struct rules_scratch *s, const char *program, size_t program_len,
                const char *msg, size_t len, rules_hit_cb cb, void *ud)
{
    if (!r->db)
        return 0;
    s->n_cand = 0;
    if (hs_scan(r->db, msg, (unsigned)len, 0, s->hs, on_candidate, s) != HS_SUCCESS)
        return 0;
    return confirm(r, s, program, program_len, msg, len, cb, ud);
}

int rules_match_candidates(const struct rules *r, struct rules_scratch *s, const unsigned *patterns, size_t n,
                           const char *program, size_t program_len, const char *msg, size_t len, rules_hit_cb cb,
                           void *ud)
{
    s->n_cand = 0;
    for (size_t i = 0; i < n && s->n_cand < s->cap_cand; i++)
        if (patterns[i] < r->n_patterns)
            s->cand[s->n_cand++] = patterns[i];
    return confirm(r, s, program, program_len, msg, len, cb, ud);
}

struct block_ctx {
    rules_block_cb cb;
    void *ud;
};

static int on_block_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
    (void)from;
    (void)flags;
    struct block_ctx *b = ctx;
    b->cb(id, (size_t)to, b->ud);
    return 0;
}

int rules_scan_block(const struct rules *r, struct rules_scratch *s, const char *buf, size_t len, rules_block_cb cb,
                     void *ud)
{
    if (!r->block_db)
        return YJ_EINVAL;
    struct block_ctx b = {cb, ud};
    return hs_scan(r->block_db, buf, (unsigned)len, 0, s->hs, on_block_match, &b) == HS_SUCCESS ? 0 : YJ_EINVAL;
}

static int confirm(const struct rules *r, struct rules_scratch *s, const char *program, size_t program_len,
                   const char *msg, size_t len, rules_hit_cb cb, void *ud)
{
    if (s->n_cand == 0)
        return 0;
    /* Candidates arrive in match order; confirm them in rule order, one hit per rule. */
    for (size_t i = 1; i < s->n_cand; i++)
        for (size_t j = i; j > 0 && s->cand[j - 1] > s->cand[j]; j--) {
            unsigned t = s->cand[j];
            s->cand[j] = s->cand[j - 1];
            s->cand[j - 1] = t;
        }
    int hits = 0;
    size_t last_rule = SIZE_MAX;
    for (size_t c = 0; c < s->n_cand; c++) {
        const struct pattern *pt = &r->patterns[s->cand[c]];
        if (pt->rule == last_rule)
            continue;
        const struct compiled_rule *cr = &r->rules[pt->rule];
        if (!program_ok(&cr->def, program, program_len))
            continue;
        int m = pt->jit ? pcre2_jit_match(pt->re, (PCRE2_SPTR)msg, len, 0, 0, s->md, NULL)
                        : pcre2_match(pt->re, (PCRE2_SPTR)msg, len, 0, 0, s->md, NULL);
        if (m < 0)
            continue;
        last_rule = pt->rule;
        struct rule_hit hit = {.rule = &cr->def};
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        PCRE2_SPTR entry = pt->names;
        for (uint32_t n = 0; n < pt->name_count && hit.n_fields < RULES_MAX_FIELDS;
             n++, entry += pt->name_size) {
            unsigned group = (unsigned)((entry[0] << 8) | entry[1]);
            if (ov[2 * group] == PCRE2_UNSET)
                continue;
            hit.names[hit.n_fields] = (const char *)entry + 2;
            hit.values[hit.n_fields] = msg + ov[2 * group];
            hit.lens[hit.n_fields] = ov[2 * group + 1] - ov[2 * group];
            hit.n_fields++;
        }
        for (size_t f = 0; f < hit.n_fields && !hit.allowed; f++) {
            if (cr->n_allow && strcmp(hit.names[f], "ip") == 0) {
                unsigned char addr[16] = {0};
                int family = yj_ip_parse(hit.values[f], hit.lens[f], addr);
                for (size_t a = 0; a < cr->n_allow && !hit.allowed; a++)
                    hit.allowed = yj_cidr_contains(&cr->allow[a], family, addr);
            }
            if (strcmp(hit.names[f], "user") == 0)
                for (size_t a = 0; a < cr->def.allow.n_user && !hit.allowed; a++)
                    hit.allowed = strlen(cr->def.allow.user[a]) == hit.lens[f] &&
                                  memcmp(cr->def.allow.user[a], hit.values[f], hit.lens[f]) == 0;
        }
        hits++;
        cb(&hit, ud);
    }
    return hits;
}
