/* webguard.h: checks of an official web page (issue 7): links to outside sites that are hidden
 * (暗链: display:none, visibility:hidden, off-screen, zero size, the background's colour, marquee
 * tricks, written by script), scripts and frames that were not in the baseline (injected), text
 * changed against the baseline (tamper), and prohibited words by category (反动, 涉密, 色情, 赌博,
 * 商业广告 …) matched with Hyperscan after normalisation (full/half width, case, spacing tricks).
 * The HTML is parsed by libxml2's forgiving HTML parser. */
#ifndef YJ_WEBGUARD_H
#define YJ_WEBGUARD_H

#include <stddef.h>

struct yj_err;
struct webguard_words;

struct webguard_finding {
    const char *kind;     /* tamper hidden_link injected_script prohibited (static) */
    char category[64];    /* GB/T 20986 subcategory (网页篡改, 暗链植入) or the word list's category */
    char *detail;         /* one line, Chinese */
    char *evidence;       /* the HTML or text that shows it (bounded) */
};

struct webguard_report {
    struct webguard_finding *items;
    size_t n;
};

/* Loads the word lists: every *.txt of dir, or the built-in rules/words/ when dir is NULL. A file
 * is one word per line; "# category: NAME" names its category (else the file name); other lines
 * starting with # are comments. */
int webguard_words_load(const char *dir, struct webguard_words **out, struct yj_err *err);
void webguard_words_free(struct webguard_words *w);

/* Checks one page (html, its URL for telling outside links apart) against the baseline page
 * (NULL: no tamper or injection check) and the words (NULL: no word check). */
int webguard_check(const char *url, const char *html, size_t len, const char *baseline, size_t baseline_len,
                   const struct webguard_words *words, struct webguard_report *out, struct yj_err *err);
/* The same, leaving out of the comparison with the baseline (text, scripts) the dynamic regions:
 * XPath expressions (starting with / or '(') or simple CSS selectors (#id, .class, tag, tag#id,
 * tag.class) — a news list, a date, a visitor counter. Hidden links and words are still looked for
 * in them. */
int webguard_check_regions(const char *url, const char *html, size_t len, const char *baseline, size_t baseline_len,
                           const struct webguard_words *words, const char *const *regions, size_t n_regions,
                           struct webguard_report *out, struct yj_err *err);
void webguard_report_release(struct webguard_report *r);

/* The text of s with full-width forms made half-width, ASCII lower-cased, and spaces, zero-width
 * characters and separators (*-_.|·/\) removed: what words are matched against. Caller frees. */
char *webguard_normalize(const char *s, size_t len, size_t *out_len);

#endif
