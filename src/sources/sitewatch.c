/* sitewatch.c: official pages fetched and checked on a schedule, by a few threads that sleep until
 * the next page is due (tens or hundreds of pages minutes apart: no event loop needed; several
 * threads so that one slow site — up to the 15 s timeout — does not hold up the others). Baselines
 * are files written whole (temporary name, fsync, rename). Never touches the store. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/fileio.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "probe.h"
#include "sitewatch.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <sodium.h>

#define SITEWATCH_THREADS 4
#include <unistd.h>

struct site {
    struct sitewatch_spec spec;
    int64_t due;
    bool accept;               /* save the next page as the baseline */
    bool busy;                 /* a thread is checking it (an accept must wait for it) */
    unsigned char seen[2][32]; /* what each group last reported (hash of its findings) */
    bool reported[2];          /* something was reported and not yet cleared */
};

struct sitewatch {
    pthread_t threads[SITEWATCH_THREADS];
    size_t n_threads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_bool stop; /* also read by fetches in flight, which then give up */
    struct site *sites;
    size_t n;
    const struct webguard_words *words;
    char *dir;
    sitewatch_findings_fn on_findings;
    sitewatch_baseline_fn on_baseline;
    void *ud;
};

static char *baseline_path(const struct sitewatch *w, const struct site *s)
{
    return xasprintf("%s/%s.html", w->dir, s->spec.id);
}

static bool in_group(const struct webguard_finding *f, enum sitewatch_group g)
{
    return (strcmp(f->kind, "prohibited") == 0) == (g == SITEWATCH_CONTENT);
}

/* Reports a group when its findings differ from what it last reported (or it is clear again). */
static void report_group(struct sitewatch *w, struct site *s, enum sitewatch_group g,
                         const struct webguard_report *r)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    size_t n = 0;
    struct webguard_finding *mine = xcalloc(r->n ? r->n : 1, sizeof(*mine));
    for (size_t i = 0; i < r->n; i++) {
        if (!in_group(&r->items[i], g))
            continue;
        mine[n++] = r->items[i];
        crypto_generichash_update(&st, (const unsigned char *)r->items[i].kind, strlen(r->items[i].kind));
        crypto_generichash_update(&st, (const unsigned char *)r->items[i].detail,
                                  strlen(r->items[i].detail) + 1);
    }
    unsigned char h[32];
    crypto_generichash_final(&st, h, sizeof(h));
    if (n && (!s->reported[g] || memcmp(h, s->seen[g], sizeof(h)) != 0)) {
        memcpy(s->seen[g], h, sizeof(h));
        s->reported[g] = true;
        w->on_findings(s->spec.id, g, mine, n, w->ud);
    } else if (!n && s->reported[g]) {
        s->reported[g] = false;
        w->on_findings(s->spec.id, g, NULL, 0, w->ud);
    }
    free(mine);
}

static void check(struct sitewatch *w, struct site *s, bool accept)
{
    char *page = NULL, final[512], why[300];
    size_t len = 0;
    if (probe_fetch(s->spec.url, 15000, s->spec.ca_file, &w->stop, &page, &len, final, sizeof(final), why,
                    sizeof(why)) < 0)
        return; /* not reachable: the availability monitors say so; nothing to compare */
    char *path = baseline_path(w, s);
    size_t blen = 0;
    char *baseline = accept ? NULL : yj_read_file(path, PROBE_BODY_MAX, &blen);
    if (!baseline) {
        if (yj_write_file_atomic(path, page, len, 0600) == 0) {
            /* What was reported stays reported: the check below against the new baseline clears
             * it, and the incident records that. */
            w->on_baseline(s->spec.id, len, w->ud);
            baseline = xstrndup(page, len);
            blen = len;
        } else {
            yj_log_error("site %s: cannot save the baseline %s: %s", s->spec.id, path, strerror(errno));
        }
    }
    struct webguard_report r;
    struct yj_err err;
    if (webguard_check_regions(final, page, len, baseline, blen, w->words, s->spec.dynamic, s->spec.n_dynamic,
                               &r, &err) == 0) {
        report_group(w, s, SITEWATCH_INTEGRITY, &r);
        report_group(w, s, SITEWATCH_CONTENT, &r);
        webguard_report_release(&r);
    }
    free(baseline);
    free(path);
    free(page);
}

static void *watch_main(void *arg)
{
    struct sitewatch *w = arg;
    pthread_setname_np(pthread_self(), "yj-sites");
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stop)) {
        int64_t now = yj_now_ms(), next = now + 60000;
        struct site *due = NULL;
        for (size_t i = 0; i < w->n; i++) {
            struct site *s = &w->sites[i];
            if (s->busy)
                continue;
            if (s->due <= now || s->accept) {
                due = s;
                break;
            }
            if (s->due < next)
                next = s->due;
        }
        if (due) {
            bool accept = due->accept;
            due->accept = false;
            due->due = now + (due->spec.interval_ms > 0 ? due->spec.interval_ms : 300000);
            due->busy = true;
            pthread_mutex_unlock(&w->lock);
            check(w, due, accept);
            pthread_mutex_lock(&w->lock);
            due->busy = false;
            pthread_cond_broadcast(&w->cond); /* an accept that came meanwhile is due now */
            continue;
        }
        struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int sitewatch_start(const struct sitewatch_spec *specs, size_t n, const struct webguard_words *words,
                    const char *dir, sitewatch_findings_fn on_findings, sitewatch_baseline_fn on_baseline,
                    void *ud, struct sitewatch **out, struct yj_err *err)
{
    (void)err;
    struct sitewatch *w = xcalloc(1, sizeof(*w));
    w->sites = xcalloc(n ? n : 1, sizeof(*w->sites));
    w->n = n;
    int64_t now = yj_now_ms();
    for (size_t i = 0; i < n; i++) {
        w->sites[i].spec = specs[i];
        w->sites[i].due = now + (int64_t)i * 200; /* not all at once */
    }
    w->words = words;
    w->dir = xstrdup(dir);
    w->on_findings = on_findings;
    w->on_baseline = on_baseline;
    w->ud = ud;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&w->cond, &ca); /* CLOCK_REALTIME, as the deadlines (epoch ms) */
    pthread_condattr_destroy(&ca);
    xmlInitParser(); /* once, before the threads that parse pages: its lazy set-up is not thread-safe */
    w->n_threads = n < SITEWATCH_THREADS ? (n ? n : 1) : SITEWATCH_THREADS;
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_create(&w->threads[i], NULL, watch_main, w);
    *out = w;
    return 0;
}

void sitewatch_accept(struct sitewatch *w, const char *id)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->sites[i].spec.id, id) == 0)
            w->sites[i].accept = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void sitewatch_stop(struct sitewatch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->sites);
    free(w->dir);
    free(w);
}
