/* rulecheck.c: rules tested on annotated corpora and on injected variants of their lines (see
 * rulecheck.h). Offline only (tests, `yingji logscan --test`): clarity over speed; a corpus of
 * a few thousand lines and a few mutants each takes milliseconds. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/logline.h"
#include "rulecheck.h"
#include "rules.h"

#include <jansson.h>
#include <strings.h>

/* What one rule made of one message: offsets into the message, so that a mutant can be built. */
struct seen_hit {
    const char *rule;
    bool allowed;
    size_t n;
    const char *names[RULES_MAX_FIELDS];
    size_t off[RULES_MAX_FIELDS], len[RULES_MAX_FIELDS];
};

struct seen {
    const char *msg;
    size_t n;
    struct seen_hit hits[16];
};

static void on_hit(const struct rule_hit *h, void *ud)
{
    struct seen *s = ud;
    if (s->n == YJ_ARRAY_LEN(s->hits))
        return;
    struct seen_hit *x = &s->hits[s->n++];
    *x = (struct seen_hit){.rule = h->rule->id, .allowed = h->allowed, .n = h->n_fields};
    for (size_t i = 0; i < h->n_fields; i++) {
        x->names[i] = h->names[i];
        x->off[i] = (size_t)(h->values[i] - s->msg);
        x->len[i] = h->lens[i];
    }
}

static void scan(const struct rules *r, struct rules_scratch *s, const char *program, size_t program_len,
                 const char *msg, size_t len, struct seen *out)
{
    out->msg = msg;
    out->n = 0;
    rules_match(r, s, program, program_len, msg, len, on_hit, out);
}

static int field_of(const struct seen_hit *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0)
            return (int)i;
    return -1;
}

struct coverage {
    bool matched, injected;
};

struct rulecheck {
    const struct rules *r;
    struct rules_scratch *s;
    struct coverage *cov; /* per rule, over the own corpora */
};

/* One corpus being checked. */
struct run {
    const struct rules *r;
    struct rules_scratch *s;
    struct coverage *cov;
    rulecheck_fail_fn fail;
    void *ud;
    struct rulecheck_stats *stats;
    size_t line_no;
};

static void failf(struct run *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct run *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->stats->failures++;
    if (c->fail)
        c->fail(c->line_no, buf, c->ud);
}

/* msg with [at, at+cut) replaced by ins (malloc'd). */
static char *splice(const char *msg, size_t len, size_t at, size_t cut, const char *ins, size_t ins_len,
                    size_t *out_len)
{
    *out_len = len - cut + ins_len;
    char *m = xmalloc(*out_len + 1);
    memcpy(m, msg, at);
    memcpy(m + at, ins, ins_len);
    memcpy(m + at + ins_len, msg + at + cut, len - at - cut);
    m[*out_len] = 0;
    return m;
}

/* The injected variants of one hit: for every field but the address, its text is followed by a
 * copy of the rest of the message, preceded by a copy of the start of the message, or followed by
 * the whole message — each copy with the address replaced by a stranger's. Whatever rule then
 * matches must name the real address, or none. */
static void mutate(struct run *c, const char *program, size_t program_len, const char *msg, size_t len,
                   const struct seen_hit *h)
{
    int ip = field_of(h, "ip");
    if (ip < 0 || h->len[ip] == 0)
        return;
    char real[128];
    snprintf(real, sizeof(real), "%.*s", (int)h->len[ip], msg + h->off[ip]);
    bool v6 = strchr(real, ':') != NULL;
    const char *const strangers[] = {v6 ? "2001:db8::bad" : "192.0.2.254", v6 ? "::1" : "127.0.0.1"};
    for (size_t k = 0; k < YJ_ARRAY_LEN(strangers); k++) {
        size_t fake_len;
        char *fake = splice(msg, len, h->off[ip], h->len[ip], strangers[k], strlen(strangers[k]), &fake_len);
        /* Where a position of msg lands in fake. */
        size_t ip_end = h->off[ip] + h->len[ip];
        for (size_t f = 0; f < h->n; f++) {
            if ((int)f == ip)
                continue;
            size_t a = h->off[f], b = a + h->len[f];
            size_t fa = a >= ip_end ? a - h->len[ip] + strlen(strangers[k]) : a;
            size_t fb = b >= ip_end ? b - h->len[ip] + strlen(strangers[k]) : b;
            struct {
                size_t at;
                const char *ins;
                size_t ins_len;
            } variants[] = {
                {b, fake + fb, fake_len - fb}, /* the rest of the line, copied into the field */
                {a, fake, fa},                 /* the start of the line, copied into it */
                {b, fake, fake_len},           /* the whole line */
            };
            for (size_t v = 0; v < YJ_ARRAY_LEN(variants); v++) {
                size_t mlen;
                char *m = splice(msg, len, variants[v].at, 0, variants[v].ins, variants[v].ins_len, &mlen);
                /* The whole line for variant 3 gets a separating space, as a name would. */
                if (v == 2) {
                    char *spaced = splice(m, mlen, variants[v].at, 0, " ", 1, &mlen);
                    free(m);
                    m = spaced;
                }
                c->stats->mutants++;
                struct seen got;
                scan(c->r, c->s, program, program_len, m, mlen, &got);
                if (got.n == 0)
                    c->stats->evaded++;
                for (size_t g = 0; g < got.n; g++) {
                    int gip = field_of(&got.hits[g], "ip");
                    if (gip < 0)
                        continue;
                    if (got.hits[g].len[gip] != strlen(real) ||
                        memcmp(m + got.hits[g].off[gip], real, strlen(real)) != 0)
                        failf(c,
                              "rule %s reads the address %.*s, not %s, when the %s field holds injected "
                              "text: %s",
                              got.hits[g].rule, (int)got.hits[g].len[gip], m + got.hits[g].off[gip], real,
                              h->names[f], m);
                }
                free(m);
            }
        }
        free(fake);
    }
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void check_line(struct run *c, json_t *want, const char *line, size_t len, enum rulecheck_mode mode)
{
    struct logline_clock clock = {.year = 2026};
    struct logline ll;
    logline_parse(line, len, &clock, &ll);
    struct seen got;
    scan(c->r, c->s, ll.program, ll.program_len, ll.msg, ll.msg_len, &got);
    c->stats->lines++;
    if (got.n)
        c->stats->matched++;
    const char *desc = jstr(want, "desc");
    bool injection = desc && strncasecmp(desc, "inject", 6) == 0;
    if (injection)
        c->stats->injections++;
    bool want_match = json_is_true(json_object_get(want, "match"));
    const char *rule = jstr(want, "rule"), *host = jstr(want, "host"), *user = jstr(want, "user");
    const struct seen_hit *h = NULL;
    for (size_t i = 0; i < got.n && !h; i++)
        if (!rule || strcmp(got.hits[i].rule, rule) == 0)
            h = &got.hits[i];
    if (mode == RULECHECK_OWN) {
        if (!want_match && got.n) {
            failf(c, "rule %s matches a line annotated as no match: %.*s", got.hits[0].rule, (int)len, line);
            return;
        }
        if (want_match && !h) {
            if (rule)
                failf(c, "rule %s does not match: %.*s", rule, (int)len, line);
            else
                failf(c, "no rule matches: %.*s", (int)len, line);
            return;
        }
    }
    if (!h || !want_match)
        return;
    if (mode == RULECHECK_OWN) {
        for (size_t i = 0; i < rules_count(c->r); i++)
            if (strcmp(rules_get(c->r, i)->id, h->rule) == 0) {
                c->cov[i].matched = true;
                c->cov[i].injected |= injection;
            }
    }
    int ip = field_of(h, "ip"), us = field_of(h, "user");
    if (host && (ip >= 0 || mode == RULECHECK_OWN) &&
        (ip < 0 ? *host != 0
                : strlen(host) != h->len[ip] || memcmp(ll.msg + h->off[ip], host, strlen(host)) != 0))
        failf(c, "rule %s reads the address \"%.*s\", the annotation says %s%s: %.*s", h->rule,
              ip < 0 ? 0 : (int)h->len[ip], ip < 0 ? "" : ll.msg + h->off[ip], host,
              injection ? " (an injection)" : "", (int)len, line);
    if (mode == RULECHECK_OWN) {
        if (user &&
            (us < 0 ? *user != 0
                    : strlen(user) != h->len[us] || memcmp(ll.msg + h->off[us], user, h->len[us]) != 0))
            failf(c, "rule %s reads the user \"%.*s\", the annotation says \"%s\": %.*s", h->rule,
                  us < 0 ? 0 : (int)h->len[us], us < 0 ? "" : ll.msg + h->off[us], user, (int)len, line);
        bool want_allowed = json_is_true(json_object_get(want, "allowed"));
        if (h->allowed != want_allowed)
            failf(c, "rule %s %s the line, the annotation says %s: %.*s", h->rule,
                  h->allowed ? "allow-lists" : "counts", want_allowed ? "allowed" : "counted", (int)len,
                  line);
    }
    mutate(c, ll.program, ll.program_len, ll.msg, ll.msg_len, h);
}

static bool reads_ip(const struct rule_def *d)
{
    for (size_t i = 0; i < d->n_patterns; i++)
        if (strstr(d->patterns[i], "(?<ip>"))
            return true;
    return false;
}

struct rulecheck *rulecheck_new(const struct rules *r)
{
    struct rulecheck *c = xcalloc(1, sizeof(*c));
    c->r = r;
    c->s = rules_scratch_new(r);
    c->cov = xcalloc(rules_count(r) + 1, sizeof(*c->cov));
    return c;
}

void rulecheck_free(struct rulecheck *c)
{
    if (!c)
        return;
    rules_scratch_free(c->s);
    free(c->cov);
    free(c);
}

int rulecheck_corpus(struct rulecheck *rc_, const char *text, size_t len, enum rulecheck_mode mode,
                     rulecheck_fail_fn fail, void *ud, struct rulecheck_stats *stats, struct yj_err *err)
{
    static const char tag[] = "# failJSON:";
    struct rulecheck_stats zero = {0};
    *stats = zero;
    struct run c = {.r = rc_->r, .s = rc_->s, .cov = rc_->cov, .fail = fail, .ud = ud, .stats = stats};
    json_t *want = NULL;
    int rc = 0;
    size_t no = 0;
    for (const char *p = text, *end = text + len; p < end && rc == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p;
        p += l + (nl ? 1 : 0);
        no++;
        if (l && line[l - 1] == '\r')
            l--;
        if (l >= sizeof(tag) - 1 && memcmp(line, tag, sizeof(tag) - 1) == 0) {
            json_error_t jerr;
            json_decref(want);
            want = json_loadb(line + sizeof(tag) - 1, l - (sizeof(tag) - 1), 0, &jerr);
            if (!json_is_object(want))
                rc = yj_err_set(err, YJ_EINVAL, "line %zu: the annotation is not a JSON object: %s", no,
                                jerr.text);
            continue;
        }
        if (l == 0 || line[0] == '#')
            continue;
        c.line_no = no;
        if (!want) {
            if (mode == RULECHECK_OWN)
                failf(&c, "a log line without a \"# failJSON:\" annotation before it");
            continue;
        }
        check_line(&c, want, line, l, mode);
        json_decref(want);
        want = NULL;
    }
    json_decref(want);
    return rc;
}

size_t rulecheck_coverage(struct rulecheck *rc_, rulecheck_fail_fn fail, void *ud)
{
    struct rulecheck_stats stats = {0};
    struct run c = {.r = rc_->r, .fail = fail, .ud = ud, .stats = &stats};
    for (size_t i = 0; i < rules_count(rc_->r); i++) {
        const struct rule_def *d = rules_get(rc_->r, i);
        if (!rc_->cov[i].matched)
            failf(&c, "rule %s has no line in the corpus that it matches", d->id);
        else if (reads_ip(d) && !rc_->cov[i].injected)
            failf(&c,
                  "rule %s reads an address but the corpus has no injection line for it (\"desc\": "
                  "\"injection ...\")",
                  d->id);
    }
    return stats.failures;
}
