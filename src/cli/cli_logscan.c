/* cli_logscan.c: `yingji logscan` — run the detection rules over log files offline, like
 * fail2ban-regex: a summary of lines, matches per rule, distinct keys and threshold hits, and
 * optionally every match. Binary junk, invalid UTF-8 and over-long lines are counted and
 * skipped, never a crash. Reads in 1 MiB blocks; memory does not grow with the file. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "../base/logline.h"
#include "../engine/rulecheck.h"
#include "../engine/rules.h"
#include "../engine/window.h"
#include "../plan/plan.h"
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES (64 * 1024)
#define BLOCK (1024 * 1024)
#define WINDOW_KEYS 100000

static const char logscan_usage[] =
    "usage: yingji logscan [--rules DIR] [--rule ID]... [--matches] [--json] FILE...\n"
    "       yingji logscan [--rules DIR] [--rule ID]... [--foreign] [--json] --test CORPUS...\n"
    "\n"
    "Runs the detection rules over log files (syslog format or raw lines) and prints a summary:\n"
    "lines read, lines matched (per rule), distinct keys and threshold hits. --matches also prints\n"
    "every matched line; with --json the summary is one object {\"lines\",\"matched\",\"by_rule\",...}\n"
    "and --matches --json prints one {\"line\",\"rule\",\"fields\"} object per match. FILE - reads\n"
    "standard input. Lines with NUL bytes, invalid UTF-8 or over 64 KiB are counted and skipped.\n"
    "\n"
    "--test checks the rules against annotated logs in fail2ban's format (each line preceded by\n"
    "'# failJSON: {\"match\": true, \"host\": ADDRESS, ...}') and against log injection: every field a\n"
    "rule reads besides the address is filled with copies of the line holding another address, and\n"
    "the rule must still read the real one. Without --foreign every line must be annotated and every\n"
    "rule needs a line it matches and, when it reads an address, an injection line (\"desc\":\n"
    "\"injection ...\"); --foreign (fail2ban's own test logs) checks only the lines both match.\n"
    "Prints each failure as CORPUS:LINE: what; exit status 1 when there is one.\n";

struct rule_stats {
    uint64_t matched, allowed, hits;
    struct window *window;
};

struct scan {
    struct rules *rules;
    struct rules_scratch *scratch;
    struct rule_stats *stats;
    bool matches, json, many_files;
    const char *file;
    uint64_t lines, matched, binary, invalid, too_long, line_no;
    struct logline_clock clock;
    bool line_matched;
    int64_t line_time;
    /* Literal occurrences of the current block (rules_scan_block), by end offset. */
    struct occurrence {
        unsigned pattern;
        size_t end;
    } *occ;
    size_t n_occ, cap_occ;
    bool occ_unordered;
    unsigned *cands;     /* the current line's candidate patterns, each once */
    unsigned char *seen; /* bit per pattern: already in cands */
};

static void print_match(struct scan *s, const struct rule_hit *h)
{
    if (s->json) {
        json_t *fields = json_object();
        for (size_t i = 0; i < h->n_fields; i++)
            json_object_set_new(fields, h->names[i], json_stringn(h->values[i], h->lens[i]));
        json_t *o = json_pack("{s:I, s:s, s:o}", "line", (json_int_t)s->line_no, "rule", h->rule->id, "fields", fields);
        if (s->many_files)
            json_object_set_new(o, "file", json_string(s->file));
        if (h->allowed)
            json_object_set_new(o, "allowed", json_true());
        char *t = json_dumps(o, JSON_COMPACT);
        puts(t);
        free(t);
        json_decref(o);
        return;
    }
    printf("%s%s%llu\t%s", s->many_files ? s->file : "", s->many_files ? ":" : "", (unsigned long long)s->line_no,
           h->rule->id);
    for (size_t i = 0; i < h->n_fields; i++)
        printf("\t%s=%.*s", h->names[i], (int)h->lens[i], h->values[i]);
    printf("%s\n", h->allowed ? "\tallowed" : "");
}

static void on_hit(const struct rule_hit *h, void *ud)
{
    struct scan *s = ud;
    size_t idx = rules_index(s->rules, h->rule);
    struct rule_stats *st = &s->stats[idx];
    s->line_matched = true;
    st->matched++;
    if (h->allowed) {
        st->allowed++;
    } else if (st->window) {
        char key[512];
        size_t kl = rule_hit_key(h, key, sizeof(key));
        if (window_add(st->window, key, kl, s->line_time))
            st->hits++;
    }
    if (s->matches)
        print_match(s, h);
}

/* One line: counted, junk skipped, the rules run — all of them (cands NULL) or only the patterns
 * whose literals the block scan found in it. */
static void scan_line(struct scan *s, const char *line, size_t len, const unsigned *cands, size_t n_cands)
{
    s->lines++;
    s->line_no++;
    if (len && line[len - 1] == '\r')
        len--;
    if (len > LINE_MAX_BYTES) {
        s->too_long++;
        return;
    }
    if (memchr(line, 0, len)) {
        s->binary++;
        return;
    }
    if (!yj_utf8_valid(line, len)) {
        s->invalid++;
        return;
    }
    struct logline ll;
    logline_parse(line, len, &s->clock, &ll);
    s->line_matched = false;
    s->line_time = ll.time;
    if (cands)
        rules_match_candidates(s->rules, s->scratch, cands, n_cands, ll.program, ll.program_len, ll.msg, ll.msg_len,
                               on_hit, s);
    else
        rules_match(s->rules, s->scratch, ll.program, ll.program_len, ll.msg, ll.msg_len, on_hit, s);
    if (s->line_matched)
        s->matched++;
}

static void on_occurrence(unsigned pattern, size_t end, void *ud)
{
    struct scan *s = ud;
    if (s->n_occ == s->cap_occ) {
        s->cap_occ = s->cap_occ ? 2 * s->cap_occ : 4096;
        s->occ = xrealloc(s->occ, s->cap_occ * sizeof(*s->occ));
    }
    if (s->n_occ && s->occ[s->n_occ - 1].end > end)
        s->occ_unordered = true;
    s->occ[s->n_occ++] = (struct occurrence){pattern, end};
}

static int by_end(const void *a, const void *b)
{
    const struct occurrence *x = a, *y = b;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Complete lines buf[0..len) (len just past a newline). When the rules allow it and the block is
 * clean text, one literal scan over the block finds the few lines worth a closer look; the others
 * are only counted. Otherwise line by line. */
static void scan_block(struct scan *s, const char *buf, size_t len)
{
    s->n_occ = 0;
    s->occ_unordered = false;
    bool fast = !memchr(buf, 0, len) && yj_utf8_valid(buf, len) &&
                rules_scan_block(s->rules, s->scratch, buf, len, on_occurrence, s) == 0;
    if (fast && s->occ_unordered)
        qsort(s->occ, s->n_occ, sizeof(*s->occ), by_end);
    size_t start = 0, k = 0;
    const char *nl;
    while (start < len && (nl = memchr(buf + start, '\n', len - start)) != NULL) {
        size_t line_len = (size_t)(nl - (buf + start)), end = (size_t)(nl - buf);
        if (!fast) {
            scan_line(s, buf + start, line_len, NULL, 0);
        } else {
            size_t m = 0;
            for (; k < s->n_occ && s->occ[k].end <= end; k++) {
                unsigned p = s->occ[k].pattern;
                if (!(s->seen[p / 8] & (1u << (p % 8)))) {
                    s->seen[p / 8] |= (unsigned char)(1u << (p % 8));
                    s->cands[m++] = p;
                }
            }
            for (size_t i = 0; i < m; i++)
                s->seen[s->cands[i] / 8] = 0;
            if (m) {
                scan_line(s, buf + start, line_len, s->cands, m);
            } else {
                s->lines++;
                s->line_no++;
                if (line_len > LINE_MAX_BYTES)
                    s->too_long++;
            }
        }
        start = end + 1;
    }
}

static int scan_file(struct scan *s, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "yingji: %s: %s\n", path, strerror(errno));
        return 1;
    }
    s->file = path;
    s->line_no = 0;
    struct stat st;
    off_t total = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
    bool progress = isatty(STDERR_FILENO) && total > 16 * 1024 * 1024;
    char *buf = xmalloc(BLOCK);
    size_t have = 0, n;
    bool skipping = false; /* inside a line longer than the block: drop it to its end */
    uint64_t read_total = 0, shown = 0;
    while ((n = fread(buf + have, 1, BLOCK - have, f)) > 0) {
        have += n;
        read_total += n;
        size_t start = 0;
        if (skipping) {
            char *nl = memchr(buf, '\n', have);
            if (nl) {
                skipping = false;
                start = (size_t)(nl - buf) + 1;
            }
        }
        if (!skipping) {
            const char *last = memrchr(buf + start, '\n', have - start);
            if (last) {
                scan_block(s, buf + start, (size_t)(last - (buf + start)) + 1);
                start = (size_t)(last - buf) + 1;
            }
        }
        if (start == 0 && have == BLOCK) {
            if (!skipping) {
                s->lines++;
                s->line_no++;
                s->too_long++;
            }
            skipping = true;
            have = 0;
        } else {
            memmove(buf, buf + start, have - start);
            have -= start;
        }
        if (progress && read_total - shown >= 8 * 1024 * 1024) {
            shown = read_total;
            fprintf(stderr, "\r%s: %3d%% (%llu lines)", path, (int)(100.0 * (double)read_total / (double)total),
                    (unsigned long long)s->lines);
        }
    }
    if (have && !skipping)
        scan_line(s, buf, have, NULL, 0);
    if (progress)
        fprintf(stderr, "\r%s: 100%% (%llu lines)\n", path, (unsigned long long)s->lines);
    int rerr = ferror(f);
    free(buf);
    if (f != stdin)
        fclose(f);
    if (rerr) {
        fprintf(stderr, "yingji: %s: read error\n", path);
        return 1;
    }
    return 0;
}

struct test_out {
    const char *corpus;
    json_t *failures; /* --json: [{line, what}] */
};

static void on_test_failure(size_t line_no, const char *what, void *ud)
{
    struct test_out *o = ud;
    if (o->failures)
        json_array_append_new(o->failures, json_pack("{s:I, s:s}", "line", (json_int_t)line_no, "what", what));
    else
        printf("%s:%zu: %s\n", o->corpus, line_no, what);
}

/* --test: each corpus against the rules; 1 when any line fails. */
static int test_corpora(struct rules *rules, char **files, int n, bool foreign, bool json)
{
    struct rulecheck *check = rulecheck_new(rules);
    json_t *all = json ? json_array() : NULL;
    size_t failed = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        size_t len = 0;
        char *text = yj_read_file(files[i], 64u << 20, &len);
        if (!text) {
            fprintf(stderr, "yingji: %s: %s\n", files[i], strerror(errno));
            rc = 1;
            break;
        }
        struct test_out o = {.corpus = files[i], .failures = json ? json_array() : NULL};
        struct rulecheck_stats st;
        struct yj_err err = {0};
        if (rulecheck_corpus(check, text, len, foreign ? RULECHECK_FOREIGN : RULECHECK_OWN, on_test_failure, &o,
                             &st, &err) < 0) {
            fprintf(stderr, "yingji: %s: %s\n", files[i], err.msg);
            json_decref(o.failures);
            free(text);
            rc = 2;
            break;
        }
        free(text);
        failed += st.failures;
        if (json)
            json_array_append_new(all, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "file", files[i], "lines",
                                                 (json_int_t)st.lines, "matched", (json_int_t)st.matched,
                                                 "injections", (json_int_t)st.injections, "mutants",
                                                 (json_int_t)st.mutants, "evaded", (json_int_t)st.evaded,
                                                 "failures", o.failures));
        else
            printf("%s: %zu lines, %zu matched, %zu injection lines, %zu injected variants (%zu no longer matched), "
                   "%zu failures\n",
                   files[i], st.lines, st.matched, st.injections, st.mutants, st.evaded, st.failures);
    }
    /* Coverage counts over all the own corpora given, as one suite. */
    json_t *gaps = json ? json_array() : NULL;
    if (rc == 0 && !foreign) {
        struct test_out o = {.corpus = "(all corpora)", .failures = gaps};
        failed += rulecheck_coverage(check, on_test_failure, &o);
    }
    if (json && rc == 0) {
        char *t = json_dumps(json_pack("{s:o, s:o, s:b}", "files", all, "coverage", gaps, "ok", failed == 0),
                             JSON_COMPACT);
        puts(t);
        free(t);
    } else {
        json_decref(all);
        json_decref(gaps);
    }
    rulecheck_free(check);
    return rc ? rc : failed ? 1 : 0;
}

int cli_logscan(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                         {"rule", required_argument, NULL, 'i'},
                                         {"matches", no_argument, NULL, 'm'},
                                         {"test", no_argument, NULL, 't'},
                                         {"foreign", no_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(logscan_usage, stdout);
        return 0;
    }
    const char *dir = NULL;
    const char **only = xcalloc((size_t)argc, sizeof(char *));
    size_t n_only = 0;
    struct scan s = {.json = c->json};
    bool test = false, foreign = false;
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': dir = optarg; break;
        case 'i': only[n_only++] = optarg; break;
        case 'm': s.matches = true; break;
        case 't': test = true; break;
        case 'f': foreign = true; break;
        case ':': free(only); return cli_usage("%s needs a value", argv[optind - 1]);
        default: free(only); return cli_usage("unknown option %s for logscan", argv[optind - 1]);
        }
    }
    if (optind == argc) {
        free(only);
        return cli_usage("usage: yingji logscan [--rules DIR] [--rule ID]... [--matches] [--json] FILE...");
    }
    struct plan_diags diags = {0};
    struct yj_err err = {0};
    int rc = rules_load(dir, only, n_only, &s.rules, &diags, &err);
    free(only);
    if (rc < 0) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.lines[i]);
        if (!diags.n)
            fprintf(stderr, "yingji: %s\n", err.msg);
        plan_diags_release(&diags);
        return yj_err_exit_status(rc);
    }
    if (test || foreign) {
        if (!test) {
            rules_free(s.rules);
            return cli_usage("--foreign is for --test");
        }
        rc = test_corpora(s.rules, argv + optind, argc - optind, foreign, c->json);
        rules_free(s.rules);
        return rc;
    }
    size_t nr = rules_count(s.rules);
    s.stats = xcalloc(nr ? nr : 1, sizeof(*s.stats));
    for (size_t i = 0; i < nr; i++) {
        const struct rule_def *d = rules_get(s.rules, i);
        if (d->threshold.count > 0)
            s.stats[i].window = window_new(d->threshold.count, d->threshold.within, WINDOW_KEYS);
    }
    s.scratch = rules_scratch_new(s.rules);
    /* Candidates of one line: at most one per occurrence, and never more than all patterns. */
    s.cands = xcalloc(rules_pattern_count(s.rules) + 1, sizeof(unsigned));
    s.seen = xcalloc(rules_pattern_count(s.rules) / 8 + 1, 1);
    logline_clock_init(&s.clock, yj_now_ms());
    s.many_files = argc - optind > 1;
    int64_t t0 = yj_now_ms();
    rc = 0;
    for (int i = optind; i < argc && rc == 0; i++)
        rc = scan_file(&s, argv[i]);
    double secs = (double)(yj_now_ms() - t0) / 1000.0;
    if (rc == 0) {
        json_t *by = json_object(), *allowed = json_object(), *hits = json_object(), *keys = json_object();
        for (size_t i = 0; i < nr; i++) {
            const char *id = rules_get(s.rules, i)->id;
            json_object_set_new(by, id, json_integer((json_int_t)s.stats[i].matched));
            json_object_set_new(allowed, id, json_integer((json_int_t)s.stats[i].allowed));
            json_object_set_new(hits, id, json_integer((json_int_t)s.stats[i].hits));
            json_object_set_new(keys, id,
                                json_integer(s.stats[i].window ? (json_int_t)window_distinct(s.stats[i].window) : 0));
        }
        json_t *summary = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}, s:f}", "lines",
                                    (json_int_t)s.lines, "matched", (json_int_t)s.matched, "by_rule", by, "allowed",
                                    allowed, "threshold_hits", hits, "distinct_keys", keys, "skipped", "binary",
                                    (json_int_t)s.binary, "invalid_utf8", (json_int_t)s.invalid, "too_long",
                                    (json_int_t)s.too_long, "seconds", secs);
        if (s.json && !s.matches) {
            char *t = json_dumps(summary, JSON_COMPACT);
            puts(t);
            free(t);
        } else {
            FILE *out = s.matches ? stderr : stdout;
            fprintf(out, "lines read      %llu  (%.0f lines/s)\n", (unsigned long long)s.lines,
                    secs > 0 ? (double)s.lines / secs : 0.0);
            fprintf(out, "lines matched   %llu\n", (unsigned long long)s.matched);
            fprintf(out, "lines skipped   %llu binary, %llu invalid UTF-8, %llu over 64 KiB\n",
                    (unsigned long long)s.binary, (unsigned long long)s.invalid, (unsigned long long)s.too_long);
            fprintf(out, "%-20s %10s %8s %10s %10s\n", "rule", "matched", "allowed", "keys", "thresholds");
            for (size_t i = 0; i < nr; i++)
                fprintf(out, "%-20s %10llu %8llu %10llu %10llu\n", rules_get(s.rules, i)->id,
                        (unsigned long long)s.stats[i].matched, (unsigned long long)s.stats[i].allowed,
                        (unsigned long long)(s.stats[i].window ? window_distinct(s.stats[i].window) : 0),
                        (unsigned long long)s.stats[i].hits);
        }
        json_decref(summary);
    }
    for (size_t i = 0; i < nr; i++)
        window_free(s.stats[i].window);
    free(s.stats);
    rules_scratch_free(s.scratch);
    free(s.cands);
    free(s.seen);
    free(s.occ);
    rules_free(s.rules);
    return rc;
}
