/* watchers.c: the server's own watchers — availability monitors, the website guard, file
 * integrity of web roots, the host's resources (issue 7) — started from the config, with what they
 * find turned into signals whose fields say which incident to open or which recovery to record
 * (detect.c), delivered the way of every signal (server_deliver). The sources know nothing of
 * incidents or the store; this file is where their findings become the engine's input. */
#include "../base/common.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "../plan/plan.h"
#include "../sources/fim.h"
#include "../sources/host.h"
#include "../sources/monitor.h"
#include "../sources/sitewatch.h"
#include "../sources/webguard.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "../http/http.h"
#include "watchers.h"

#include <jansson.h>
#include <pthread.h>
#include <sys/stat.h>

struct watchers {
    struct server *srv;
    struct yj_config *cfg;
    /* The scheduled watchers (monitors, sites, host) run on the node holding the work lease and
     * start and stop with it; this guards their handles against the API's calls meanwhile. */
    pthread_mutex_t scheduled_lock;
    struct monitor_runner *monitors;
    struct fim *integrity;
    char *integrity_objects; /* DATA/integrity: copies of baseline files, named by hash */
    struct host_watch *host;
    const char *host_paths[HOST_MAX_DISKS];
    pthread_mutex_t host_lock;
    struct host_sample host_last; /* at 0: none yet */
    struct sitewatch *sites;
    struct webguard_words *words;
    char *sites_dir; /* DATA/sites: the pages' baselines */
};

/* A signal from one of the server's own watchers (monitors, sites, integrity, host) whose fields
 * say what it means (fields.incident / fields.recovered, see detect.c), delivered like any other.
 * Takes fields (decref'd here). */
static void raise_signal(struct server *srv, const char *source, const char *host, const char *asset,
                         const char *message, json_t *fields)
{
    char *text = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    char program[32], actor[32];
    snprintf(program, sizeof(program), "yingji-%s", source);
    snprintf(actor, sizeof(actor), "source:%s", source);
    int64_t now = yj_now_ms();
    struct store_signal sig = {.received_at = now,
                               .time = now,
                               .source = source,
                               .program = program,
                               .host = host,
                               .asset = asset,
                               .message = message,
                               .fields = text};
    server_deliver(srv, actor, &sig, 1, NULL, 0);
    free(text);
}

/* ---- monitors ---- */

static const struct config_monitor *monitor_config(const struct watchers *ws, const char *id)
{
    for (size_t i = 0; i < ws->cfg->n_monitors; i++)
        if (strcmp(ws->cfg->monitors[i].id, id) == 0)
            return &ws->cfg->monitors[i];
    return NULL;
}

/* On the monitor thread, once a second: what the checks found, in one transaction. */
static void monitor_checks(const struct monitor_check *checks, size_t n, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct probe_result *r = &checks[i].r;
        struct store_monitor_check c = {checks[i].id, checks[i].at, r->up, r->elapsed_ms, r->status, r->reason,
                                        r->cert_expires_at};
        rc = store_monitor_check(st, &c, &err);
    }
    if (rc == 0)
        rc = store_commit(st, &err);
    else if (st)
        store_rollback(st);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("monitors: %zu checks not recorded: %s", n, err.msg);
    }
}

static void say_duration(char *buf, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, cap, "%lld 秒", (long long)s);
    else if (s < 3600)
        snprintf(buf, cap, "%lld 分 %lld 秒", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, cap, "%lld 小时 %lld 分", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

/* A certificate near its end is an incident of its own (key monitor:ID:cert), at the mildest level
 * of the outage type unless the monitor names a level: someone must renew it before the site goes
 * down for every browser. A renewed certificate records the recovery. */
static void monitor_certificate(struct server *srv, const struct config_monitor *m, const struct monitor_change *c)
{
    char key[96], message[600], until[40];
    snprintf(key, sizeof(key), "monitor:%s:cert", c->id);
    yj_time_local(c->cert_expires_at, until, sizeof(until));
    json_t *fields;
    if (c->up) {
        snprintf(message, sizeof(message), "%s 的 TLS 证书已更新，有效期至 %s（%s）", c->id, until, m->target);
        fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "monitor", c->id, "state", "certificate_renewed", "recovered",
                           "key", key, "note", message);
    } else {
        snprintf(message, sizeof(message), "%s 的 TLS 证书将于 %s 到期，还剩 %lld 天（%s）", c->id, until,
                 (long long)((c->cert_expires_at - c->at) / YJ_MS_PER_DAY), m->target);
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = config_monitor_type(m, pr->plan);
        const char *level = m->level ? m->level : plan_type_mildest_level(pr->plan, plan_type(pr->plan, type));
        char title[300];
        snprintf(title, sizeof(title), "证书即将到期：%s（%s）", c->id, until);
        fields = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s?, s:s?}}", "monitor", c->id, "state",
                           "certificate_ending", "reason", c->reason, "incident", "type", type, "title", title, "key",
                           key, "level", level, "unit", m->unit);
        server_plan_release(pr);
    }
    raise_signal(srv, "monitor", m->target, m->asset, message, fields);
}

/* On the monitor thread: a target went down or came back. The change is stored, then a signal that
 * says what it means (the plan type the config names) goes the way of every signal. */
static void monitor_change(const struct monitor_change *c, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    const struct config_monitor *m = monitor_config(ws, c->id);
    if (m && c->certificate) {
        monitor_certificate(srv, m, c);
        return;
    }
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!m || !st)
        return;
    struct store_monitor before = {0};
    store_monitor_get(st, c->id, &before, NULL);
    int rc = store_begin(st, &err);
    if (rc == 0 && (rc = store_monitor_change(st, c->id, c->at, c->up, c->reason, &err)) == 0)
        rc = store_commit(st, &err);
    else if (rc == 0)
        store_rollback(st);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("monitor %s: %s", c->id, err.msg);
    }
    char key[96], message[600];
    snprintf(key, sizeof(key), "monitor:%s", c->id);
    json_t *fields;
    if (c->up) {
        char lasted[64] = "";
        if (strcmp(before.status, "down") == 0 && before.since)
            say_duration(lasted, sizeof(lasted), c->at - before.since);
        snprintf(message, sizeof(message), "%s 已恢复%s%s（%s）", c->id, lasted[0] ? "，中断 " : "", lasted, m->target);
        fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "monitor", c->id, "state", "up", "recovered", "key", key, "note",
                           message);
    } else {
        snprintf(message, sizeof(message), "%s 不可用：%s（%s，连续 %d 次检查失败）", c->id, c->reason, m->target,
                 c->failures);
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = config_monitor_type(m, pr->plan);
        char title[300];
        if (m->title)
            snprintf(title, sizeof(title), "%s", m->title);
        else
            snprintf(title, sizeof(title), "监测：%s 不可用", c->id);
        fields = json_pack("{s:s, s:s, s:s, s:{s:s?, s:s, s:s, s:s?, s:s?}}", "monitor", c->id, "state", "down",
                           "reason", c->reason, "incident", "type", type, "title", title, "key", key, "level",
                           m->level, "unit", m->unit);
        server_plan_release(pr);
    }
    raise_signal(srv, "monitor", m->target, m->asset, message, fields);
}

static int start_monitors(struct watchers *ws, struct yj_err *err)
{
    struct server *srv = ws->srv;
    struct yj_config *cfg = ws->cfg;
    if (!cfg->n_monitors)
        return 0;
    struct store *st = server_store(srv, err);
    if (!st)
        return YJ_ESTORE;
    struct monitor_spec *specs = xcalloc(cfg->n_monitors, sizeof(*specs));
    /* One transaction for all: a commit per monitor made 200 monitors cost 180 ms of start-up. */
    int rc = store_begin(st, err);
    for (size_t i = 0; rc == 0 && i < cfg->n_monitors; i++) {
        const struct config_monitor *m = &cfg->monitors[i];
        struct store_monitor known = {0};
        if ((rc = store_monitor_register(st, m->id, m->target, err)) < 0 ||
            (rc = store_monitor_get(st, m->id, &known, err)) < 0) {
            store_rollback(st);
            break;
        }
        specs[i] = (struct monitor_spec){
            .id = m->id,
            .probe = {.target = m->target,
                      .timeout_ms = m->timeout > 0 ? m->timeout : 10000,
                      .keyword = m->keyword,
                      .absent = m->absent,
                      .ca_file = m->ca,
                      .cert_warn_days = m->cert_warn > 0 ? (int)(m->cert_warn / YJ_MS_PER_DAY) : 0, /* 0: the probe's 14 */
                      .expect = (const char *const *)m->expect,
                      .n_expect = m->n_expect},
            .interval_ms = m->interval > 0 ? m->interval : 60000,
            .retries = (int)m->retries,
            .was_down = strcmp(known.status, "down") == 0,
            .cert_expires_at = known.cert_expires_at,
        };
    }
    if (rc == 0)
        rc = store_commit(st, err);
    if (rc == 0)
        rc = monitor_runner_start(specs, cfg->n_monitors, monitor_checks, monitor_change, ws, &ws->monitors, err);
    free(specs);
    if (rc == 0) {
        printf("yingji: %zu monitors\n", cfg->n_monitors);
        fflush(stdout);
    }
    return rc;
}

/* ---- the website guard on a schedule ---- */

static const struct config_site *site_config(const struct watchers *ws, const char *id)
{
    for (size_t i = 0; i < ws->cfg->n_sites; i++)
        if (strcmp(ws->cfg->sites[i].id, id) == 0)
            return &ws->cfg->sites[i];
    return NULL;
}

/* The GB/T 20986 subcategory of a prohibited-word category (the word lists' `# category:`). */
static const char *content_gbt(const char *category)
{
    static const struct {
        const char *category, *gbt;
    } map[] = {{"反动", "content.reactionary"}, {"色情", "content.porn"}, {"商业广告", "content.spam"},
               {"赌博", "content.fraud"}, {"涉密", "data.leak"}, {"暴恐", "content.terror"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(map); i++)
        if (strcmp(category, map[i].category) == 0)
            return map[i].gbt;
    return "content.other";
}

/* On the sites thread: what a group of checks found now (n == 0: nothing any more). */
static void site_findings(const char *id, enum sitewatch_group group, const struct webguard_finding *fs, size_t n,
                          void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    const struct config_site *w = site_config(ws, id);
    if (!w)
        return;
    bool content = group == SITEWATCH_CONTENT;
    char key[128], message[700], title[300];
    snprintf(key, sizeof(key), "site:%s:%s", id, content ? "content" : "integrity");
    json_t *fields;
    if (!n) {
        snprintf(message, sizeof(message), "%s：%s已消失（%s）", id, content ? "违规内容" : "篡改、暗链与注入脚本", w->url);
        fields = json_pack("{s:s, s:{s:s, s:s}}", "site", id, "recovered", "key", key, "note", message);
    } else {
        bool hidden = false;
        json_t *list = json_array();
        for (size_t i = 0; i < n && i < 20; i++) {
            hidden |= strcmp(fs[i].kind, "hidden_link") == 0;
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "kind", fs[i].kind, "category",
                                                  fs[i].category, "detail", fs[i].detail, "evidence", fs[i].evidence));
        }
        const char *what = content ? "出现违规内容" : hidden ? "被植入暗链" : "被篡改";
        snprintf(title, sizeof(title), "网站%s：%s", what, id);
        snprintf(message, sizeof(message), "%s %s：%s（共 %zu 项）", id, what, fs[0].detail, n);
        const char *gbt = content ? content_gbt(fs[0].category) : hidden ? "attack.hidden_link" : "attack.web_tamper";
        struct plan_ref *pr = server_plan_acquire(srv);
        const char *type = content ? config_site_content_type(w, pr->plan) : config_site_type(w, pr->plan);
        fields = json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s, s:s?, s:s?, s:s}}", "site", id, "url", w->url, "findings",
                           list, "incident", "type", type, "title", title, "key", key, "level", w->level, "unit",
                           w->unit, "gbt", gbt);
        server_plan_release(pr);
    }
    raise_signal(srv, "webguard", w->url, w->asset, message, fields);
}

static void site_baseline(const char *id, size_t bytes, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    char detail[96];
    snprintf(detail, sizeof(detail), "{\"bytes\":%zu}", bytes);
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    if (rc == 0 && (rc = audit_append(st, yj_now_ms(), "source:webguard", "site.baseline", id, detail, 0, &err)) == 0)
        rc = store_commit(st, &err);
    else if (rc == 0)
        store_rollback(st);
    if (rc < 0)
        yj_log_error("site %s: %s", id, err.msg);
    yj_log_info("site %s: baseline of %zu bytes saved", id, bytes);
}

void server_site_accept(struct server *srv, const char *id)
{
    /* On a node that does not run the guard there is nothing to tell: the accept is in the audit
     * log, and the guard's own node takes its baseline when asked there. */
    struct watchers *ws = server_watchers(srv);
    pthread_mutex_lock(&ws->scheduled_lock);
    if (ws->sites)
        sitewatch_accept(ws->sites, id);
    pthread_mutex_unlock(&ws->scheduled_lock);
}

const char *server_sites_dir(struct server *srv)
{
    return server_watchers(srv)->sites_dir;
}

static int start_sites(struct watchers *ws, struct yj_err *err)
{
    struct yj_config *cfg = ws->cfg;
    if (!cfg->n_sites)
        return 0;
    int rc = ws->words ? 0 : webguard_words_load(cfg->words, &ws->words, err);
    if (rc < 0)
        return rc;
    if (mkdir(ws->sites_dir, 0700) != 0 && errno != EEXIST)
        return yj_err_set(err, YJ_EIO, "cannot create %s: %s", ws->sites_dir, strerror(errno));
    struct sitewatch_spec *specs = xcalloc(cfg->n_sites, sizeof(*specs));
    for (size_t i = 0; i < cfg->n_sites; i++) {
        const struct config_site *w = &cfg->sites[i];
        specs[i] = (struct sitewatch_spec){w->id, w->url, w->interval > 0 ? w->interval : 0,
                                           (const char *const *)w->dynamic, w->n_dynamic, w->ca};
    }
    rc = sitewatch_start(specs, cfg->n_sites, ws->words, ws->sites_dir, site_findings, site_baseline, ws,
                         &ws->sites, err);
    free(specs);
    if (rc == 0) {
        printf("yingji: guarding %zu sites\n", cfg->n_sites);
        fflush(stdout);
    }
    return rc;
}

/* ---- host resources ---- */

static void host_sampled(const struct host_sample *smp, void *ud)
{
    struct watchers *ws = ud;
    pthread_mutex_lock(&ws->host_lock);
    ws->host_last = *smp;
    pthread_mutex_unlock(&ws->host_lock);
}

bool server_host_sample(struct server *srv, struct host_sample *out)
{
    struct watchers *ws = server_watchers(srv);
    pthread_mutex_lock(&ws->host_lock);
    *out = ws->host_last;
    pthread_mutex_unlock(&ws->host_lock);
    return out->at != 0;
}

static void say_value(char *buf, size_t cap, double v, const char *unit)
{
    if (strcmp(unit, "B/s") == 0)
        snprintf(buf, cap, "%.1f MiB/s", v / 1048576.0);
    else
        snprintf(buf, cap, "%.1f%s", v, unit);
}

/* A resource stayed above its limit (or came back): a signal that opens or recovers the incident
 * of that resource. */
static void host_changed(const struct host_change *c, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    const struct config_host *h = &ws->cfg->host;
    char value[64], limit[64], message[600], key[340], title[400];
    say_value(value, sizeof(value), c->value, c->unit);
    say_value(limit, sizeof(limit), c->limit, c->unit);
    snprintf(key, sizeof(key), "host:%s", c->key);
    json_t *fields;
    if (c->high) {
        snprintf(message, sizeof(message), "%s %s，超过阈值 %s", c->metric, value, limit);
        snprintf(title, sizeof(title), "主机资源异常：%s 超过 %s", c->metric, limit);
        struct plan_ref *pr = server_plan_acquire(srv);
        fields = json_pack("{s:s, s:f, s:f, s:{s:s, s:s, s:s, s:s?, s:s?}}", "resource", c->key, "value", c->value,
                           "limit", c->limit, "incident", "type", config_host_type(h, pr->plan), "title", title, "key",
                           key, "level", h->level, "unit", h->unit);
        server_plan_release(pr);
    } else {
        snprintf(message, sizeof(message), "%s 已回落至 %s（阈值 %s）", c->metric, value, limit);
        fields = json_pack("{s:s, s:f, s:f, s:{s:s, s:s}}", "resource", c->key, "value", c->value, "limit", c->limit,
                           "recovered", "key", key, "note", message);
    }
    raise_signal(srv, "host", "localhost", h->asset, message, fields);
}

static int start_host(struct watchers *ws, struct yj_err *err)
{
    const struct config_host *h = &ws->cfg->host;
    if (!h->enabled)
        return 0;
    size_t n = 0;
    if (h->n_paths)
        for (size_t i = 0; i < h->n_paths && n < HOST_MAX_DISKS; i++)
            ws->host_paths[n++] = h->paths[i];
    else {
        ws->host_paths[n++] = "/";
        ws->host_paths[n++] = ws->cfg->data;
    }
    struct host_limits limits = {.cpu = (double)h->cpu,
                                 .memory = (double)h->memory,
                                 .space = (double)h->disk,
                                 .inodes = (double)h->inodes,
                                 .load1 = (double)h->load,
                                 .network = h->network > 0 ? (double)h->network : 0,
                                 .sustained_ms = h->sustained >= 0 ? h->sustained : 300000};
    int rc = host_watch_start(h->proc ? h->proc : "/proc", ws->host_paths, n, h->interval > 0 ? h->interval : 30000,
                              &limits, host_sampled, host_changed, ws, &ws->host, err);
    if (rc == 0) {
        printf("yingji: watching this host's resources\n");
        fflush(stdout);
    }
    return rc;
}

/* ---- file integrity ---- */

static const struct config_integrity *integrity_config(const struct watchers *ws, const char *id)
{
    for (size_t i = 0; i < ws->cfg->n_integrity; i++)
        if (strcmp(ws->cfg->integrity[i].id, id) == 0)
            return &ws->cfg->integrity[i];
    return NULL;
}

/* On the integrity thread (or at start): a new baseline, stored and audited. */
static void integrity_baseline(const char *id, const struct fim_file *files, size_t n, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    struct store_integrity_file *rows = xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct store_integrity_file){files[i].path, files[i].size, files[i].hash};
    int64_t now = yj_now_ms();
    int rc = st ? store_begin(st, &err) : YJ_ESTORE;
    if (rc == 0)
        rc = store_integrity_put(st, id, rows, n, now, "system", &err);
    if (rc == 0) {
        char detail[128];
        snprintf(detail, sizeof(detail), "{\"files\":%zu}", n);
        rc = audit_append(st, now, "source:integrity", "integrity.baseline", id, detail, 0, &err);
    }
    if (rc == 0)
        rc = store_commit(st, &err);
    else if (st)
        store_rollback(st);
    free(rows);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("integrity %s: the baseline was not stored: %s", id, err.msg);
    } else {
        yj_log_info("integrity %s: baseline of %zu files", id, n);
    }
}


/* A file differs from the baseline: a signal with the file, its hashes and (text) the diff, that
 * opens or counts on the watch's incident. */
static void integrity_change(const struct fim_change *c, void *ud)
{
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    const struct config_integrity *w = integrity_config(ws, c->id);
    if (!w)
        return;
    const char *said = strcmp(c->kind, "added") == 0 ? "被新增" : strcmp(c->kind, "deleted") == 0 ? "被删除" : "被修改";
    char message[600], key[96], title[300];
    snprintf(message, sizeof(message), "%s：%s %s", c->id, c->path, said);
    snprintf(key, sizeof(key), "integrity:%s", c->id);
    if (w->title)
        snprintf(title, sizeof(title), "%s", w->title);
    else
        snprintf(title, sizeof(title), "网页文件被篡改：%s", c->id);
    char *full = xasprintf("%s/%s", w->path, c->path);
    char diff[8192];
    fim_diff(ws->integrity_objects, c->old_hash, full, diff, sizeof(diff));
    free(full);
    struct plan_ref *pr = server_plan_acquire(srv);
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:{s:s?, s:s, s:s, s:s?, s:s?, s:s}}", "integrity",
                               c->id, "path", c->path, "change", c->kind, "hash", *c->hash ? c->hash : NULL, "old_hash",
                               *c->old_hash ? c->old_hash : NULL, "diff", diff[0] ? diff : NULL, "incident", "type",
                               config_integrity_type(w, pr->plan), "title", title, "key", key, "level", w->level,
                               "unit", w->unit, "gbt", "attack.web_tamper");
    server_plan_release(pr);
    raise_signal(srv, "integrity", w->path, w->asset, message, fields);
}

/* Every file matches its baseline again (restored): the incident records it. */
static void integrity_clean(const char *id, int64_t at, void *ud)
{
    (void)at;
    struct watchers *ws = ud;
    struct server *srv = ws->srv;
    const struct config_integrity *w = integrity_config(ws, id);
    if (!w)
        return;
    char message[300], key[96];
    snprintf(message, sizeof(message), "%s：所有文件已与基线一致", id);
    snprintf(key, sizeof(key), "integrity:%s", id);
    json_t *fields = json_pack("{s:s, s:s, s:{s:s, s:s}}", "integrity", id, "change", "restored", "recovered", "key",
                               key, "note", message);
    raise_signal(srv, "integrity", w->path, w->asset, message, fields);
}

struct baseline_rows {
    struct fim_file *files;
    char **strings;
    size_t n, cap;
};

static void collect_baseline(const struct store_integrity_file *f, void *ud)
{
    struct baseline_rows *b = ud;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->files = xrealloc(b->files, b->cap * sizeof(*b->files));
        b->strings = xrealloc(b->strings, b->cap * sizeof(*b->strings));
    }
    b->strings[b->n] = xstrdup(f->path);
    b->files[b->n] = (struct fim_file){.path = b->strings[b->n], .size = f->size};
    snprintf(b->files[b->n].hash, sizeof(b->files[b->n].hash), "%s", f->hash);
    b->n++;
}

static int start_integrity(struct watchers *ws, struct yj_err *err)
{
    struct server *srv = ws->srv;
    struct yj_config *cfg = ws->cfg;
    if (!cfg->n_integrity)
        return 0;
    struct store *st = server_store(srv, err);
    if (!st)
        return YJ_ESTORE;
    if (mkdir(ws->integrity_objects, 0700) != 0 && errno != EEXIST)
        return yj_err_set(err, YJ_EIO, "cannot create %s: %s", ws->integrity_objects, strerror(errno));
    struct fim_spec *specs = xcalloc(cfg->n_integrity, sizeof(*specs));
    struct baseline_rows *rows = xcalloc(cfg->n_integrity, sizeof(*rows));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_integrity; i++) {
        const struct config_integrity *w = &cfg->integrity[i];
        int64_t taken = 0;
        rc = store_integrity_get(st, w->id, collect_baseline, &rows[i], &taken, err);
        specs[i] = (struct fim_spec){.id = w->id,
                                     .root = w->path,
                                     .exclude = w->exclude,
                                     .n_exclude = w->n_exclude,
                                     .scan_ms = w->scan > 0 ? w->scan : 0,
                                     .baseline = rows[i].files,
                                     .n_baseline = rows[i].n,
                                     .has_baseline = taken != 0};
    }
    if (rc == 0)
        rc = fim_start(specs, cfg->n_integrity, ws->integrity_objects, integrity_change, integrity_clean,
                       integrity_baseline, ws, &ws->integrity, err);
    for (size_t i = 0; i < cfg->n_integrity; i++) {
        for (size_t k = 0; k < rows[i].n; k++)
            free(rows[i].strings[k]);
        free(rows[i].strings);
        free(rows[i].files);
    }
    free(rows);
    free(specs);
    if (rc == 0) {
        for (size_t i = 0; i < cfg->n_integrity; i++)
            printf("yingji: watching %s (integrity %s)\n", cfg->integrity[i].path, cfg->integrity[i].id);
        fflush(stdout);
    }
    return rc;
}


/* ---- start and stop ---- */

int watchers_start(struct server *srv, struct yj_config *cfg, struct watchers **out, struct yj_err *err)
{
    struct watchers *ws = xcalloc(1, sizeof(*ws));
    ws->srv = srv;
    ws->cfg = cfg;
    pthread_mutex_init(&ws->host_lock, NULL);
    pthread_mutex_init(&ws->scheduled_lock, NULL);
    ws->sites_dir = xasprintf("%s/sites", cfg->data);
    ws->integrity_objects = xasprintf("%s/integrity", cfg->data);
    *out = ws; /* before any thread: their callbacks and the API find it through the server */
    /* The files of this machine are watched here, whichever node runs the rest. */
    return start_integrity(ws, err);
}

int watchers_start_scheduled(struct watchers *ws, struct yj_err *err)
{
    if (!ws)
        return 0;
    pthread_mutex_lock(&ws->scheduled_lock);
    int rc = ws->monitors ? 0 : start_monitors(ws, err);
    if (rc == 0 && !ws->host)
        rc = start_host(ws, err);
    if (rc == 0 && !ws->sites)
        rc = start_sites(ws, err);
    pthread_mutex_unlock(&ws->scheduled_lock);
    return rc;
}

void watchers_stop_scheduled(struct watchers *ws)
{
    if (!ws)
        return;
    pthread_mutex_lock(&ws->scheduled_lock);
    monitor_runner_stop(ws->monitors);
    ws->monitors = NULL;
    host_watch_stop(ws->host);
    ws->host = NULL;
    sitewatch_stop(ws->sites);
    ws->sites = NULL;
    pthread_mutex_unlock(&ws->scheduled_lock);
}

void watchers_stop(struct watchers *ws)
{
    if (!ws)
        return;
    watchers_stop_scheduled(ws);
    fim_stop(ws->integrity);
    ws->integrity = NULL;
}

void watchers_free(struct watchers *ws)
{
    if (!ws)
        return;
    watchers_stop(ws);
    pthread_mutex_destroy(&ws->host_lock);
    pthread_mutex_destroy(&ws->scheduled_lock);
    free(ws->integrity_objects);
    free(ws->sites_dir);
    webguard_words_free(ws->words);
    free(ws);
}

const char *watchers_integrity_objects(const struct watchers *ws)
{
    return ws ? ws->integrity_objects : NULL;
}

void server_integrity_accept(struct server *srv, const char *id)
{
    fim_accept(server_watchers(srv)->integrity, id);
}

void server_integrity_maintenance(struct server *srv, const char *id, int64_t until_ms)
{
    fim_maintenance(server_watchers(srv)->integrity, id, until_ms);
}

int64_t server_integrity_maintenance_until(struct server *srv, const char *id)
{
    return fim_maintenance_until(server_watchers(srv)->integrity, id);
}
