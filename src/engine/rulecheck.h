/* rulecheck.h: detection rules tested on annotated logs (fail2ban's test-log format: each log
 * line preceded by "# failJSON: {...}" saying what a filter must make of it), and tested against
 * log injection: for every line a rule reads an address from, the text of every other field it
 * reads (a user name, a URL: the client's text) is replaced by copies of the line's own text
 * with a different address, and the rule must still name the line's real address or none
 * (fail2ban CVE-2007-4321, DenyHosts CVE-2007-4323, fail2ban CVE-2013-2178). */
#ifndef YJ_RULECHECK_H
#define YJ_RULECHECK_H

#include <stdbool.h>
#include <stddef.h>

struct rules;
struct rules_scratch;
struct yj_err;

struct rulecheck_stats {
    size_t lines;      /* annotated log lines */
    size_t matched;    /* lines some rule matched */
    size_t injections; /* lines annotated as injections ("desc" starting with "inject", any case) */
    size_t mutants;    /* injected variants tried */
    size_t evaded;     /* ... that no rule matched any more (not a failure: nothing is misread) */
    size_t failures;
};

/* Called once per failure: line_no is the corpus line (1-based; 0 for the corpus as a whole). */
typedef void (*rulecheck_fail_fn)(size_t line_no, const char *what, void *ud);

enum rulecheck_mode {
    /* Yingji's own corpora (tests/rules/): every log line is annotated; "match" (bool), "host"
     * (the ip field), "user", "rule" (which rule) and "allowed" (allow-listed) are checked, and
     * count towards rulecheck_coverage. */
    RULECHECK_OWN = 0,
    /* Someone else's corpus (fail2ban's): only lines both sides match are checked — the
     * address must be the annotated host — and injected variants of them; nothing is required. */
    RULECHECK_FOREIGN = 1,
};

/* A check of one rule set over any number of corpora. Free with rulecheck_free. */
struct rulecheck;
struct rulecheck *rulecheck_new(const struct rules *r);
void rulecheck_free(struct rulecheck *c);

/* Checks corpus text[0..len) (stats are this corpus's). Returns 0 (failures are counted in
 * *stats and reported through fail), or YJ_EINVAL when an annotation is not a JSON object (err
 * names the line). */
int rulecheck_corpus(struct rulecheck *c, const char *text, size_t len, enum rulecheck_mode mode,
                     rulecheck_fail_fn fail, void *ud, struct rulecheck_stats *stats, struct yj_err *err);

/* After the corpora: every rule needs a line of an own corpus it matches, and every rule that
 * reads an address an injection line. Reports each gap (line 0) and returns their number. */
size_t rulecheck_coverage(struct rulecheck *c, rulecheck_fail_fn fail, void *ud);

#endif
