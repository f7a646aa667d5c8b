/* sitewatch.h: the website guard on a schedule (issue 7). Each official page is fetched every
 * interval and checked by webguard against its baseline (a saved copy of the page, taken at the
 * first check and replaced only when someone accepts the page as it is now). Findings come in two
 * groups — the page's integrity (tamper, hidden links, injected scripts) and its content
 * (prohibited words) — and a group is reported when what it finds changes, and once more when it
 * finds nothing again. Knows nothing of incidents. */
#ifndef YJ_SITEWATCH_H
#define YJ_SITEWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webguard.h"

struct yj_err;

struct sitewatch_spec {
    const char *id;
    const char *url;
    int64_t interval_ms; /* 0: 5 min */
    const char *const *dynamic;
    size_t n_dynamic;
    const char *ca_file;
};

enum sitewatch_group { SITEWATCH_INTEGRITY = 0, SITEWATCH_CONTENT = 1 };

/* On the watch's thread. findings of the group (n == 0: nothing found any more). */
typedef void (*sitewatch_findings_fn)(const char *id, enum sitewatch_group group,
                                      const struct webguard_finding *findings, size_t n, void *ud);
/* A baseline was saved (the first check, or an accept): its size in bytes. */
typedef void (*sitewatch_baseline_fn)(const char *id, size_t bytes, void *ud);

struct sitewatch;

/* Starts checking specs (strings must outlive the watch) with the words (borrowed; may be NULL);
 * baselines live in dir/<id>.html. */
int sitewatch_start(const struct sitewatch_spec *specs, size_t n, const struct webguard_words *words,
                    const char *dir, sitewatch_findings_fn on_findings, sitewatch_baseline_fn on_baseline,
                    void *ud, struct sitewatch **out, struct yj_err *err);
/* Saves the page as it is now as the baseline of site id at its next check (at once). */
void sitewatch_accept(struct sitewatch *w, const char *id);
void sitewatch_stop(struct sitewatch *w);

#endif
