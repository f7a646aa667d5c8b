/* api_monitors.c: the monitors' status page in JSON — every configured monitor with its state,
 * uptime over 24 h / 7 d / 30 d and mean response time (GET /api/v1/monitors), and one monitor
 * with its hourly history and its changes between up and down (GET /api/v1/monitors/{id}).
 * Reads only; the monitor thread writes. */
#include "../base/common.h"
#include "../base/jsonutil.h"
#include "../base/timeutil.h"
#include "../plan/config.h"
#include "../sources/host.h"
#include "../store/store.h"
#include "http.h"

#include <jansson.h>

/* Uptime in percent (two decimals) and mean response time over the hours from since on; null
 * when nothing was checked. */
static int add_window(struct request *r, json_t *o, const char *id, const char *name, int64_t since,
                      struct yj_err *err)
{
    struct store_monitor_hour t = {0};
    int rc = store_monitor_totals(r->ctx.store, id, since, &t, err);
    if (rc < 0)
        return rc;
    json_t *w = json_object();
    json_object_set_new(w, "checks", json_integer(t.checks));
    json_object_set_new(w, "failures", json_integer(t.failures));
    json_object_set_new(
        w, "uptime",
        t.checks ? json_real((double)(int64_t)(10000.0 * (double)(t.checks - t.failures) / (double)t.checks) /
                             100.0)
                 : json_null());
    int64_t answered = t.checks - t.failures;
    json_object_set_new(w, "mean_ms", answered > 0 ? json_integer(t.total_ms / answered) : json_null());
    json_object_set_new(w, "max_ms", t.checks ? json_integer(t.max_ms) : json_null());
    json_object_set_new(o, name, w);
    return 0;
}

static json_t *monitor_json(struct request *r, const struct store_monitor *m, struct yj_err *err)
{
    const struct yj_config *cfg = server_config(r->srv);
    const struct config_monitor *c = NULL;
    for (size_t i = 0; i < cfg->n_monitors; i++)
        if (strcmp(cfg->monitors[i].id, m->id) == 0)
            c = &cfg->monitors[i];
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "id", m->id, "target", m->target, "status", m->status,
                          "configured", c != NULL);
    json_object_set_new(o, "since", m->since ? yj_json_time(m->since) : json_null());
    json_object_set_new(o, "checked_at", m->checked_at ? yj_json_time(m->checked_at) : json_null());
    json_object_set_new(o, "elapsed_ms", m->checked_at ? json_integer(m->elapsed_ms) : json_null());
    json_object_set_new(o, "http_status", m->http_status ? json_integer(m->http_status) : json_null());
    json_object_set_new(o, "reason", m->reason[0] ? json_string(m->reason) : json_null());
    json_object_set_new(o, "cert_expires_at",
                        m->cert_expires_at ? yj_json_time(m->cert_expires_at) : json_null());
    if (c) {
        json_object_set_new(o, "interval_ms", json_integer(c->interval > 0 ? c->interval : 60000));
        json_object_set_new(o, "asset", c->asset ? json_string(c->asset) : json_null());
        json_object_set_new(o, "unit", c->unit ? json_string(c->unit) : json_null());
    }
    int64_t now = yj_now_ms(), hour = 3600000;
    if (add_window(r, o, m->id, "day", now - 24 * hour, err) < 0 ||
        add_window(r, o, m->id, "week", now - 7 * 24 * hour, err) < 0 ||
        add_window(r, o, m->id, "month", now - 30 * 24 * hour, err) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void api_monitors_list(struct request *r)
{
    enum { MAX = 5000 };
    struct store_monitor *ms = xcalloc(MAX, sizeof(*ms));
    size_t n = 0;
    struct yj_err err = {0};
    json_t *items = json_array();
    int rc = store_monitor_list(r->ctx.store, ms, MAX, &n, &err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *o = monitor_json(r, &ms[i], &err);
        if (!o)
            rc = YJ_ESTORE;
        else
            json_array_append_new(items, o);
    }
    free(ms);
    if (rc < 0) {
        json_decref(items);
        reply_error(r, &err);
        return;
    }
    reply_json(r, 200, json_pack("{s:o}", "items", items));
}

void api_monitors_get(struct request *r)
{
    enum { HOURS = 30 * 24, CHANGES = 100 };
    struct yj_err err = {0};
    struct store_monitor m;
    struct store_monitor_hour *hs = xcalloc(HOURS, sizeof(*hs));
    struct store_monitor_change *cs = xcalloc(CHANGES, sizeof(*cs));
    size_t nh = 0, nc = 0;
    json_t *o = NULL;
    int rc = store_monitor_get(r->ctx.store, r->params[0], &m, &err);
    if (rc == 0 && !(o = monitor_json(r, &m, &err)))
        rc = YJ_ESTORE;
    if (rc == 0)
        rc = store_monitor_hours(r->ctx.store, m.id, yj_now_ms() - (int64_t)HOURS * 3600000, hs, HOURS, &nh,
                                 &err);
    if (rc == 0)
        rc = store_monitor_changes(r->ctx.store, m.id, cs, CHANGES, &nc, &err);
    if (rc == 0) {
        json_t *hours = json_array(), *changes = json_array();
        for (size_t i = 0; i < nh; i++) {
            int64_t answered = hs[i].checks - hs[i].failures;
            json_array_append_new(
                hours, json_pack("{s:o, s:I, s:I, s:o, s:I}", "hour", yj_json_time(hs[i].hour), "checks",
                                 (json_int_t)hs[i].checks, "failures", (json_int_t)hs[i].failures, "mean_ms",
                                 answered > 0 ? json_integer(hs[i].total_ms / answered) : json_null(),
                                 "max_ms", (json_int_t)hs[i].max_ms));
        }
        for (size_t i = 0; i < nc; i++)
            json_array_append_new(changes, json_pack("{s:o, s:s, s:s?}", "at", yj_json_time(cs[i].at),
                                                     "status", cs[i].up ? "up" : "down", "reason",
                                                     cs[i].reason[0] ? cs[i].reason : NULL));
        json_object_set_new(o, "hours", hours);
        json_object_set_new(o, "changes", changes);
        reply_json(r, 200, o);
    } else {
        json_decref(o);
        reply_error(r, &err);
    }
    free(hs);
    free(cs);
}

/* GET /api/v1/host: the local host's last sample and the limits it is held to. */
void api_host_get(struct request *r)
{
    struct host_sample smp;
    const struct config_host *h = &server_config(r->srv)->host;
    if (!h->enabled || !server_host_sample(r->srv, &smp)) {
        reply_problem(r, 404, "not_found", NULL, "%s",
                      h->enabled ? "no sample yet" : "host: is not in the config");
        return;
    }
    json_t *disks = json_array(), *nets = json_array();
    for (size_t i = 0; i < smp.n_disks; i++)
        json_array_append_new(
            disks,
            json_pack("{s:s, s:f, s:o}", "path", smp.disks[i].path, "space", smp.disks[i].space, "inodes",
                      smp.disks[i].inodes >= 0 ? json_real(smp.disks[i].inodes) : json_null()));
    for (size_t i = 0; i < smp.n_nets; i++)
        json_array_append_new(
            nets, json_pack("{s:s, s:o}", "name", smp.nets[i].name, "bytes_per_s",
                            smp.nets[i].bytes_per_s >= 0 ? json_real(smp.nets[i].bytes_per_s) : json_null()));
    reply_json(r, 200,
               json_pack("{s:o, s:o, s:f, s:f, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "at",
                         yj_json_time(smp.at), "cpu", smp.cpu >= 0 ? json_real(smp.cpu) : json_null(),
                         "memory", smp.memory, "load1", smp.load1, "disks", disks, "networks", nets, "limits",
                         "cpu", (json_int_t)h->cpu, "memory", (json_int_t)h->memory, "disk",
                         (json_int_t)h->disk, "inodes", (json_int_t)h->inodes, "load", (json_int_t)h->load,
                         "network", (json_int_t)(h->network > 0 ? h->network : 0), "sustained_ms",
                         (json_int_t)(h->sustained >= 0 ? h->sustained : 300000)));
}
