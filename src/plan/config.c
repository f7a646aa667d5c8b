/* config.c: decoding yingji.yaml with the same schema-table decoder as plans.
 * Read once at start; never holds secrets in memory longer than the config lives. */
#include "../base/cidr.h"
#include "../base/common.h"
#include "../base/selector.h"
#include "../base/text.h"
#include "../base/timeutil.h"
#include "config.h"
#include "decode.h"
#include "plan.h"

#include <ctype.h>
#include <sodium.h>

#include <libfyaml.h>

static const struct decode_field tls_fields[] = {
    DECODE_FIELD(struct config_tls, "cert", DK_STR, true, cert),
    DECODE_FIELD(struct config_tls, "key", DK_STR, true, key),
};
static const struct decode_schema tls_schema = DECODE_SCHEMA(tls, struct config_tls, "tls", tls_fields);

static const struct decode_field limits_fields[] = {
    DECODE_FIELD(struct config_limits, "body", DK_SIZE, false, body),
    DECODE_FIELD(struct config_limits, "attachment", DK_SIZE, false, attachment),
    DECODE_FIELD(struct config_limits, "json_depth", DK_INT, false, json_depth),
    DECODE_FIELD(struct config_limits, "string", DK_INT, false, string),
    DECODE_FIELD(struct config_limits, "connections", DK_INT, false, connections),
    DECODE_FIELD(struct config_limits, "per_address", DK_INT, false, per_address),
    DECODE_FIELD(struct config_limits, "timeout", DK_DUR, false, timeout),
    DECODE_FIELD(struct config_limits, "memory", DK_SIZE, false, memory),
    DECODE_FIELD(struct config_limits, "window_keys", DK_INT, false, window_keys),
    DECODE_FIELD(struct config_limits, "header_time", DK_DUR, false, header_time),
    DECODE_FIELD(struct config_limits, "body_rate", DK_SIZE, false, body_rate),
};
static const struct decode_schema limits_schema =
    DECODE_SCHEMA(limits, struct config_limits, "limits", limits_fields);

static const struct decode_field sessions_fields[] = {
    DECODE_FIELD(struct config_sessions, "idle", DK_DUR, false, idle),
    DECODE_FIELD(struct config_sessions, "absolute", DK_DUR, false, absolute),
};
static const struct decode_schema sessions_schema =
    DECODE_SCHEMA(sessions, struct config_sessions, "sessions", sessions_fields);

static const struct decode_field audit_fields[] = {
    DECODE_FIELD(struct config_audit, "key", DK_STR, false, key),
    DECODE_FIELD(struct config_audit, "checkpoints", DK_STR, false, checkpoints),
    DECODE_FIELD(struct config_audit, "daily", DK_STR, false, daily),
};
static const struct decode_schema audit_schema = DECODE_SCHEMA(audit, struct config_audit, "audit", audit_fields);

static const struct decode_field source_fields[] = {
    DECODE_FIELD(struct config_source, "type", DK_STR, true, type),
    DECODE_FIELD(struct config_source, "listen", DK_STR, false, listen),
    DECODE_FIELD(struct config_source, "protocol", DK_STR, false, protocol),
    DECODE_FIELD(struct config_source, "path", DK_STR, false, path),
    DECODE_FIELD(struct config_source, "program", DK_STR, false, program),
    DECODE_FIELD(struct config_source, "asset", DK_STR, false, asset),
    DECODE_FIELD(struct config_source, "start", DK_STR, false, start),
    DECODE_FIELD(struct config_source, "buffer", DK_SIZE, false, buffer),
    DECODE_FIELD(struct config_source, "connections", DK_INT, false, connections),
};
static const struct decode_schema source_schema =
    DECODE_SCHEMA(source, struct config_source, "source", source_fields);

static const struct decode_field channel_fields[] = {
    DECODE_FIELD(struct config_channel, "id", DK_STR, true, id),
    DECODE_FIELD(struct config_channel, "type", DK_STR, true, type),
    DECODE_FIELD(struct config_channel, "url", DK_STR, true, url),
    DECODE_FIELD(struct config_channel, "secret_file", DK_STR, false, secret_file),
    DECODE_FIELD(struct config_channel, "secret_env", DK_STR, false, secret_env),
    DECODE_FIELD(struct config_channel, "user", DK_STR, false, user),
    DECODE_FIELD(struct config_channel, "from", DK_STR, false, from),
    DECODE_FIELD(struct config_channel, "plain", DK_BOOL, false, plain),
    DECODE_FIELD(struct config_channel, "body", DK_STR, false, body),
    DECODE_FIELD(struct config_channel, "timeout", DK_DUR, false, timeout),
};
static const struct decode_schema channel_schema =
    DECODE_SCHEMA(channel, struct config_channel, "channel", channel_fields);

static const struct decode_field action_fields[] = {
    DECODE_FIELD(struct config_action, "kind", DK_STR, true, kind),
    DECODE_STRS(struct config_action, "run", false, run),
    DECODE_FIELD(struct config_action, "url", DK_STR, false, url),
    DECODE_FIELD(struct config_action, "nftables", DK_STR, false, nftables),
    DECODE_FIELD(struct config_action, "integrity", DK_BOOL, false, integrity),
    DECODE_FIELD(struct config_action, "timeout", DK_DUR, false, timeout),
    DECODE_FIELD(struct config_action, "duration", DK_DUR, false, duration),
    DECODE_STRS(struct config_action, "allow", false, allow),
};
static const struct decode_schema action_schema = DECODE_SCHEMA(action, struct config_action, "action", action_fields);

static const struct decode_field monitor_fields[] = {
    DECODE_FIELD(struct config_monitor, "id", DK_STR, true, id),
    DECODE_FIELD(struct config_monitor, "target", DK_STR, true, target),
    DECODE_FIELD(struct config_monitor, "interval", DK_DUR, false, interval),
    DECODE_FIELD(struct config_monitor, "timeout", DK_DUR, false, timeout),
    DECODE_FIELD(struct config_monitor, "retries", DK_INT, false, retries),
    DECODE_FIELD(struct config_monitor, "keyword", DK_STR, false, keyword),
    DECODE_FIELD(struct config_monitor, "absent", DK_STR, false, absent),
    DECODE_FIELD(struct config_monitor, "ca", DK_STR, false, ca),
    DECODE_FIELD(struct config_monitor, "cert_warn", DK_DUR, false, cert_warn),
    DECODE_FIELD(struct config_monitor, "asset", DK_STR, false, asset),
    DECODE_FIELD(struct config_monitor, "unit", DK_STR, false, unit),
    DECODE_FIELD(struct config_monitor, "incident", DK_STR, false, incident),
    DECODE_FIELD(struct config_monitor, "level", DK_STR, false, level),
    DECODE_FIELD(struct config_monitor, "title", DK_STR, false, title),
    DECODE_STRS(struct config_monitor, "expect", false, expect),
};
static const struct decode_schema monitor_schema =
    DECODE_SCHEMA(monitor, struct config_monitor, "monitor", monitor_fields);

static const struct decode_field integrity_fields[] = {
    DECODE_FIELD(struct config_integrity, "id", DK_STR, true, id),
    DECODE_FIELD(struct config_integrity, "path", DK_STR, true, path),
    DECODE_STRS(struct config_integrity, "exclude", false, exclude),
    DECODE_FIELD(struct config_integrity, "scan", DK_DUR, false, scan),
    DECODE_FIELD(struct config_integrity, "asset", DK_STR, false, asset),
    DECODE_FIELD(struct config_integrity, "unit", DK_STR, false, unit),
    DECODE_FIELD(struct config_integrity, "incident", DK_STR, false, incident),
    DECODE_FIELD(struct config_integrity, "level", DK_STR, false, level),
    DECODE_FIELD(struct config_integrity, "title", DK_STR, false, title),
};
static const struct decode_schema integrity_schema =
    DECODE_SCHEMA(integrity, struct config_integrity, "integrity watch", integrity_fields);

static const struct decode_field site_fields[] = {
    DECODE_FIELD(struct config_site, "id", DK_STR, true, id),
    DECODE_FIELD(struct config_site, "url", DK_STR, true, url),
    DECODE_FIELD(struct config_site, "interval", DK_DUR, false, interval),
    DECODE_STRS(struct config_site, "dynamic", false, dynamic),
    DECODE_FIELD(struct config_site, "ca", DK_STR, false, ca),
    DECODE_FIELD(struct config_site, "asset", DK_STR, false, asset),
    DECODE_FIELD(struct config_site, "unit", DK_STR, false, unit),
    DECODE_FIELD(struct config_site, "incident", DK_STR, false, incident),
    DECODE_FIELD(struct config_site, "content", DK_STR, false, content),
    DECODE_FIELD(struct config_site, "level", DK_STR, false, level),
};
static const struct decode_schema site_schema = DECODE_SCHEMA(site, struct config_site, "site", site_fields);

static const struct decode_field host_fields[] = {
    DECODE_FIELD(struct config_host, "interval", DK_DUR, false, interval),
    DECODE_FIELD(struct config_host, "sustained", DK_DUR, false, sustained),
    DECODE_FIELD(struct config_host, "cpu", DK_INT, false, cpu),
    DECODE_FIELD(struct config_host, "memory", DK_INT, false, memory),
    DECODE_FIELD(struct config_host, "disk", DK_INT, false, disk),
    DECODE_FIELD(struct config_host, "inodes", DK_INT, false, inodes),
    DECODE_FIELD(struct config_host, "load", DK_INT, false, load),
    DECODE_FIELD(struct config_host, "network", DK_SIZE, false, network),
    DECODE_STRS(struct config_host, "paths", false, paths),
    DECODE_FIELD(struct config_host, "proc", DK_STR, false, proc),
    DECODE_FIELD(struct config_host, "asset", DK_STR, false, asset),
    DECODE_FIELD(struct config_host, "unit", DK_STR, false, unit),
    DECODE_FIELD(struct config_host, "incident", DK_STR, false, incident),
    DECODE_FIELD(struct config_host, "level", DK_STR, false, level),
};
static const struct decode_schema host_schema = DECODE_SCHEMA(host, struct config_host, "host", host_fields);

static const struct decode_field config_fields[] = {
    DECODE_FIELD(struct yj_config, "listen", DK_STR, false, listen),
    DECODE_FIELD(struct yj_config, "data", DK_STR, false, data),
    DECODE_FIELD(struct yj_config, "store", DK_STR, false, store),
    DECODE_FIELD(struct yj_config, "password_file", DK_STR, false, password_file),
    DECODE_FIELD(struct yj_config, "plan", DK_STR, false, plan),
    DECODE_FIELD(struct yj_config, "rules", DK_STR, false, rules),
    DECODE_FIELD(struct yj_config, "threads", DK_INT, false, threads),
    DECODE_FIELD(struct yj_config, "public_url", DK_STR, false, public_url),
    DECODE_OBJ(struct yj_config, "tls", false, tls, tls_schema),
    DECODE_OBJ(struct yj_config, "limits", false, limits, limits_schema),
    DECODE_OBJ(struct yj_config, "sessions", false, sessions, sessions_schema),
    DECODE_OBJ(struct yj_config, "audit", false, audit, audit_schema),
    DECODE_LIST(struct yj_config, "sources", false, sources, source_schema),
    DECODE_LIST(struct yj_config, "channels", false, channels, channel_schema),
    DECODE_LIST(struct yj_config, "actions", false, actions, action_schema),
    DECODE_LIST(struct yj_config, "monitors", false, monitors, monitor_schema),
    DECODE_LIST(struct yj_config, "integrity", false, integrity, integrity_schema),
    DECODE_OBJ(struct yj_config, "host", false, host, host_schema),
    DECODE_LIST(struct yj_config, "sites", false, sites, site_schema),
    DECODE_FIELD(struct yj_config, "words", DK_STR, false, words),
};
static const struct decode_schema config_schema =
    DECODE_SCHEMA(config, struct yj_config, "the config file", config_fields);

void config_defaults(struct yj_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = xstrdup("127.0.0.1:8080");
    c->data = xstrdup("./data");
    c->plan = xstrdup(PLAN_DEFAULT);
    c->threads = 4;
    c->limits = (struct config_limits){.body = INT64_C(1) << 20,
                                       .attachment = INT64_C(8) << 20,
                                       .json_depth = 32,
                                       .string = 65536,
                                       .connections = 1024,
                                       .per_address = 128,
                                       .timeout = 30 * YJ_MS_PER_SEC,
                                       .memory = INT64_C(64) << 10,
                                       .window_keys = 100000,
                                       .header_time = 20 * YJ_MS_PER_SEC,
                                       .body_rate = 1024};
    c->sessions = (struct config_sessions){.idle = 2 * YJ_MS_PER_HOUR, .absolute = 12 * YJ_MS_PER_HOUR};
}

void config_set(char **member, const char *value)
{
    free(*member);
    *member = xstrdup(value);
}

int config_parse_listen(const char *listen, char *host, size_t host_size, int *port, struct yj_err *err)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return yj_err_set(err, YJ_EINVAL, "listen \"%s\": expected ADDR:PORT, e.g. 127.0.0.1:8080", listen);
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= host_size)
        return yj_err_set(err, YJ_EINVAL, "listen \"%s\": address too long", listen);
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return yj_err_set(err, YJ_EINVAL, "listen \"%s\": port must be 0-65535", listen);
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (int)p;
    return 0;
}

/* Values the decoder accepted but that make no sense for a server. */
/* nft's identifiers: a letter, then letters, digits and _ (kept short and plain on purpose). */
static bool table_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !isalpha((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* url starts with one of the schemes given (each "http", "https", ...) and "://". libcurl
 * would follow file://, gopher:// and the rest: only what a field is for is accepted. */
static bool url_scheme_ok(const char *url, const char *const *schemes)
{
    for (; url && *schemes; schemes++) {
        size_t n = strlen(*schemes);
        if (strncmp(url, *schemes, n) == 0 && strncmp(url + n, "://", 3) == 0 && url[n + 3])
            return true;
    }
    return false;
}

static const char *const http_schemes[] = {"http", "https", NULL};

/* Remembers where a plan reference stood, for config_check_plan. */
static void add_ref(struct decoder *d, struct yj_config *c, const char *kind, char *const *value, const char *type)
{
    if (!*value)
        return;
    const struct plan_loc *at = decode_loc(d, value);
    c->refs = xrealloc(c->refs, (c->n_refs + 1) * sizeof(*c->refs));
    c->refs[c->n_refs++] = (struct config_ref){kind, *value, type, at ? at->line : 0, at ? at->col : 0};
}

/* The id of a watched thing (a monitor, an integrity watch, a site): unique among the i before it
 * in items (stride bytes apart, the id at id_off) and fit for a URL path. */
static void check_id(struct decoder *d, const char *what, char *const *id, const void *items, size_t stride,
                     size_t id_off, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(*(char *const *)((const char *)items + k * stride + id_off), *id) == 0)
            decode_error_at(d, id, "duplicate %s id \"%s\"", what, *id);
    if (!**id || strlen(*id) > 64 || strpbrk(*id, " \t/?#%"))
        decode_error_at(d, id, "%s ids are 1 to 64 characters without spaces, / ? # or %%", what);
}

/* Who a watched thing belongs to and what it raises: an asset or a unit, not both; the plan type,
 * level, asset and unit remembered for config_check_plan. */
static void check_owner(struct decoder *d, struct yj_config *c, char *const *asset, char *const *unit,
                        char *const *incident, char *const *level)
{
    if (*asset && *unit)
        decode_error_at(d, unit, "give asset or unit, not both (the asset's owner is its unit)");
    add_ref(d, c, "type", incident, NULL);
    add_ref(d, c, "level", level, *incident);
    add_ref(d, c, "asset", asset, NULL);
    add_ref(d, c, "unit", unit, NULL);
}

static void validate_monitors(struct decoder *d, struct yj_config *c)
{
    for (size_t i = 0; i < c->n_monitors; i++) {
        struct config_monitor *m = &c->monitors[i];
        check_id(d, "monitor", &m->id, c->monitors, sizeof(*m), offsetof(struct config_monitor, id), i);
        char why[300];
        enum yj_target_kind kind = yj_target_form(m->target, why, sizeof(why));
        if (kind == YJ_TARGET_BAD)
            decode_error_at(d, &m->target, "%s", why);
        if (m->n_expect && kind != YJ_TARGET_DNS)
            decode_error_at(d, &m->expect[0], "expect: is for dns:NAME targets");
        if (m->interval != -1 && (m->interval < 100 || m->interval > 86400000))
            decode_error_at(d, &m->interval, "interval must be between 100ms and 24h");
        if (m->timeout != -1 && (m->timeout < 100 || m->timeout > 120000))
            decode_error_at(d, &m->timeout, "timeout must be between 100ms and 2m");
        if (!decode_loc(d, &m->retries))
            m->retries = 1; /* one failure may be a blip; two in a row count */
        if (m->retries < 0 || m->retries > 100)
            decode_error_at(d, &m->retries, "retries must be between 0 and 100");
        if (m->cert_warn != -1 && (m->cert_warn < 86400000 || m->cert_warn > INT64_C(365) * 86400000))
            decode_error_at(d, &m->cert_warn, "cert_warn must be between 1d and 365d");
        if ((m->keyword || m->absent || m->ca) && strncmp(m->target, "http", 4) != 0)
            decode_error_at(d, m->keyword ? (void *)&m->keyword : m->absent ? (void *)&m->absent : (void *)&m->ca,
                            "keyword, absent and ca are for http(s):// targets");
        check_owner(d, c, &m->asset, &m->unit, &m->incident, &m->level);
    }
}

static void validate_integrity(struct decoder *d, struct yj_config *c)
{
    for (size_t i = 0; i < c->n_integrity; i++) {
        struct config_integrity *w = &c->integrity[i];
        check_id(d, "integrity", &w->id, c->integrity, sizeof(*w), offsetof(struct config_integrity, id), i);
        if (w->path[0] != '/')
            decode_error_at(d, &w->path, "path must be absolute");
        if (w->scan != -1 && (w->scan < 1000 || w->scan > INT64_C(7) * 86400000))
            decode_error_at(d, &w->scan, "scan must be between 1s and 7d");
        check_owner(d, c, &w->asset, &w->unit, &w->incident, &w->level);
    }
}

static void validate_host(struct decoder *d, struct yj_config *c)
{
    struct config_host *h = &c->host;
    h->enabled = decode_loc(d, h) != NULL;
    if (!h->enabled)
        return;
    struct {
        int64_t *v;
        const char *name;
    } pcts[] = {{&h->cpu, "cpu"}, {&h->memory, "memory"}, {&h->disk, "disk"}, {&h->inodes, "inodes"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(pcts); i++) {
        if (!decode_loc(d, pcts[i].v))
            *pcts[i].v = 90;
        else if (*pcts[i].v < 0 || *pcts[i].v > 100)
            decode_error_at(d, pcts[i].v, "%s is a percentage from 1 to 100 (0: not watched)", pcts[i].name);
    }
    if (h->load < 0 || h->load > 100000)
        decode_error_at(d, &h->load, "load must be between 1 and 100000 (0: not watched)");
    if (h->network != -1 && h->network < 0)
        decode_error_at(d, &h->network, "network is bytes per second (0: not watched)");
    if (h->interval != -1 && (h->interval < 100 || h->interval > 3600000))
        decode_error_at(d, &h->interval, "interval must be between 100ms and 1h");
    if (h->sustained != -1 && h->sustained > 86400000)
        decode_error_at(d, &h->sustained, "sustained must be at most 24h");
    for (size_t i = 0; i < h->n_paths; i++)
        if (h->paths[i][0] != '/')
            decode_error_at(d, &h->paths[i], "paths must be absolute");
    check_owner(d, c, &h->asset, &h->unit, &h->incident, &h->level);
}

static void validate_sites(struct decoder *d, struct yj_config *c)
{
    for (size_t i = 0; i < c->n_sites; i++) {
        struct config_site *w = &c->sites[i];
        check_id(d, "site", &w->id, c->sites, sizeof(*w), offsetof(struct config_site, id), i);
        if (!url_scheme_ok(w->url, http_schemes))
            decode_error_at(d, &w->url, "url must be an http:// or https:// URL");
        if (w->interval != -1 && (w->interval < 100 || w->interval > 86400000))
            decode_error_at(d, &w->interval, "interval must be between 100ms and 24h");
        for (size_t k = 0; k < w->n_dynamic; k++) {
            char xp[512];
            if (yj_selector_xpath(w->dynamic[k], xp, sizeof(xp)) < 0)
                decode_error_at(d, &w->dynamic[k],
                                "\"%s\" is neither XPath that compiles nor a selector #id, .class, tag, tag#id or "
                                "tag.class",
                                w->dynamic[k]);
        }
        check_owner(d, c, &w->asset, &w->unit, &w->incident, &w->level);
        add_ref(d, c, "type", &w->content, NULL);
    }
}

static const char *const channel_types[] = {"email", "wecom", "dingtalk", "feishu", "webhook", "sms"};

/* What one channel must be, for the config's and the console's alike. */
static void check_channel(struct decoder *d, struct config_channel *ch)
{
    bool known = false;
    for (size_t k = 0; k < YJ_ARRAY_LEN(channel_types); k++)
        known |= strcmp(ch->type, channel_types[k]) == 0;
    if (!known) {
        decode_error_at(d, &ch->type, "channel type \"%s\" is not known (email, wecom, dingtalk, feishu, webhook, sms)",
                        ch->type);
        return;
    }
    bool smtp = strcmp(ch->type, "email") == 0;
    static const char *const smtp_schemes[] = {"smtp", "smtps", NULL};
    if (!url_scheme_ok(ch->url, smtp ? smtp_schemes : http_schemes))
        decode_error_at(d, &ch->url, smtp ? "url must be smtp://HOST:PORT or smtps://HOST:PORT"
                                          : "url must be an http:// or https:// URL");
    if (smtp && !ch->from)
        decode_error_at(d, ch, "an email channel needs from: ADDRESS");
    if (strcmp(ch->type, "sms") == 0 && (!ch->body || !strstr(ch->body, "{phone}") || !strstr(ch->body, "{text}")))
        decode_error_at(d, ch->body ? (void *)&ch->body : (void *)ch,
                        "an sms channel needs body: the gateway's request with {phone} and {text}");
    if (ch->secret_file && ch->secret_env)
        decode_error_at(d, &ch->secret_env, "give secret_file or secret_env, not both");
    char secret[512];
    struct yj_err e;
    if (config_channel_secret(ch, secret, sizeof(secret), &e) < 0)
        decode_error_at(d, ch->secret_file ? (void *)&ch->secret_file : (void *)&ch->secret_env, "%s", e.msg);
    sodium_memzero(secret, sizeof(secret));
    if (ch->timeout != -1 && (ch->timeout < 100 || ch->timeout > 120000))
        decode_error_at(d, &ch->timeout, "timeout must be between 100ms and 2m");
}

static void validate(struct decoder *d, struct yj_config *c)
{
    char host[256];
    int port;
    struct yj_err err;
    if (c->listen && config_parse_listen(c->listen, host, sizeof(host), &port, &err) < 0)
        decode_error_at(d, &c->listen, "%s", err.msg);
    if (c->threads != 0 && (c->threads < 1 || c->threads > 256))
        decode_error_at(d, &c->threads, "threads must be between 1 and 256");
    if (c->limits.header_time != -1 && (c->limits.header_time < 1000 || c->limits.header_time > 600000))
        decode_error_at(d, &c->limits.header_time, "header_time must be between 1s and 10m");
    if (c->limits.body_rate != -1 && (c->limits.body_rate < 1 || c->limits.body_rate > (INT64_C(1) << 30)))
        decode_error_at(d, &c->limits.body_rate, "body_rate is bytes per second, 1 to 1GiB");
    int minutes;
    if (c->audit.daily && yj_clock_parse(c->audit.daily, &minutes) < 0)
        decode_error_at(d, &c->audit.daily, "daily must be a time of day HH:MM (in the plan's time zone)");
    if (c->audit.key && c->audit.key[0] != '/')
        decode_error_at(d, &c->audit.key, "key must be an absolute path");
    if (c->audit.checkpoints && c->audit.checkpoints[0] != '/')
        decode_error_at(d, &c->audit.checkpoints, "checkpoints must be an absolute path");
    for (size_t i = 0; i < c->n_sources; i++) {
        struct config_source *s = &c->sources[i];
        if (strcmp(s->type, "logwatch") == 0) {
            if (!s->path)
                decode_error_at(d, s, "a logwatch source needs path: FILE (wildcards allowed in the file name)");
            else if (strchr(s->path, '/') && strpbrk(s->path, "*?[") &&
                     strpbrk(s->path, "*?[") < strrchr(s->path, '/'))
                decode_error_at(d, &s->path, "wildcards are allowed in the file name only, not in directories");
            if (s->start && strcmp(s->start, "end") != 0 && strcmp(s->start, "beginning") != 0)
                decode_error_at(d, &s->start, "start must be end or beginning");
            if (s->listen || s->protocol)
                decode_error_at(d, s->listen ? (void *)&s->listen : (void *)&s->protocol,
                                "listen and protocol belong to syslog sources");
            continue;
        }
        if (strcmp(s->type, "syslog") != 0) {
            decode_error_at(d, &s->type, "source type \"%s\" is not known (syslog, logwatch)", s->type);
            continue;
        }
        if (s->path || s->program || s->start)
            decode_error_at(d, s->path ? (void *)&s->path : s->program ? (void *)&s->program : (void *)&s->start,
                            "path, program and start belong to logwatch sources");
        if (!s->listen)
            decode_error_at(d, s, "a syslog source needs listen: ADDR:PORT");
        else if (config_parse_listen(s->listen, host, sizeof(host), &port, &err) < 0)
            decode_error_at(d, &s->listen, "%s", err.msg);
        if (s->protocol && strcmp(s->protocol, "udp") != 0 && strcmp(s->protocol, "tcp") != 0)
            decode_error_at(d, &s->protocol, "protocol must be udp or tcp");
        if (s->buffer != -1 && (s->buffer < 4096 || s->buffer > (INT64_C(1) << 30)))
            decode_error_at(d, &s->buffer, "buffer must be between 4KiB and 1GiB");
        if (s->connections && (s->connections < 1 || s->connections > 100000))
            decode_error_at(d, &s->connections, "connections must be between 1 and 100000");
    }
    for (size_t i = 0; i < c->n_channels; i++) {
        struct config_channel *ch = &c->channels[i];
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->channels[k].id, ch->id) == 0)
                decode_error_at(d, &ch->id, "duplicate channel id \"%s\"", ch->id);
        check_channel(d, ch);
    }
    static const char *const action_kinds[] = {"block_ip", "run_script", "http", "maintenance_page", "restore_files"};
    for (size_t i = 0; i < c->n_actions; i++) {
        struct config_action *a = &c->actions[i];
        bool known = false;
        for (size_t k = 0; k < YJ_ARRAY_LEN(action_kinds); k++)
            known |= strcmp(a->kind, action_kinds[k]) == 0;
        if (!known)
            decode_error_at(d, &a->kind,
                            "action kind \"%s\" is not known (block_ip, run_script, http, maintenance_page, "
                            "restore_files)",
                            a->kind);
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->actions[k].kind, a->kind) == 0)
                decode_error_at(d, &a->kind, "action kind \"%s\" is configured twice", a->kind);
        bool block = strcmp(a->kind, "block_ip") == 0;
        bool restore = strcmp(a->kind, "restore_files") == 0;
        if ((a->n_run > 0) + (a->url != NULL) + (a->nftables != NULL) + a->integrity != 1)
            decode_error_at(d, a,
                            block     ? "block_ip needs one of nftables: TABLE, run: [PROGRAM, ARGS...] or url: URL"
                            : restore ? "restore_files needs one of integrity: true, run: [PROGRAM, ARGS...] or url: URL"
                                      : "an action needs either run: [PROGRAM, ARGS...] or url: URL");
        if (a->url && !url_scheme_ok(a->url, http_schemes))
            decode_error_at(d, &a->url, "url must be an http:// or https:// URL");
        if (a->integrity && !restore)
            decode_error_at(d, &a->integrity, "integrity: is for kind restore_files only");
        else if (a->n_run && a->run[0][0] != '/')
            decode_error_at(d, &a->run[0], "run: the program must be an absolute path");
        if (a->nftables && !block)
            decode_error_at(d, &a->nftables, "nftables: is for kind block_ip only");
        else if (a->nftables && !table_name_ok(a->nftables))
            decode_error_at(d, &a->nftables,
                            "nftables: \"%s\" is not a table name (a letter, then up to 31 letters, digits or _)",
                            a->nftables);
        if (!block && (a->duration != -1 || a->n_allow))
            decode_error_at(d, a->duration != -1 ? (void *)&a->duration : (void *)&a->allow,
                            "duration: and allow: are for kind block_ip only");
        if (a->duration != -1 && (a->duration < 1000 || a->duration > INT64_C(365) * 86400000))
            decode_error_at(d, &a->duration, "duration must be between 1s and 365d");
        for (size_t k = 0; k < a->n_allow; k++) {
            struct yj_cidr range;
            if (!yj_cidr_parse(a->allow[k], &range))
                decode_error_at(d, &a->allow[k], "\"%s\" is not an IP address or CIDR range", a->allow[k]);
        }
        if (a->timeout != -1 && (a->timeout < 100 || a->timeout > 600000))
            decode_error_at(d, &a->timeout, "timeout must be between 100ms and 10m");
    }
    validate_monitors(d, c);
    validate_integrity(d, c);
    validate_host(d, c);
    validate_sites(d, c);
    struct config_limits *l = &c->limits;
    if (l->body != -1 && (l->body < 1024 || l->body > (INT64_C(1) << 30)))
        decode_error_at(d, &l->body, "body must be between 1KiB and 1GiB");
    if (l->attachment != -1 && (l->attachment < 1024 || l->attachment > (INT64_C(1) << 30)))
        decode_error_at(d, &l->attachment, "attachment must be between 1KiB and 1GiB");
    if (l->window_keys != 0 && (l->window_keys < 100 || l->window_keys > 100000000))
        decode_error_at(d, &l->window_keys, "window_keys must be between 100 and 100000000");
    if (l->json_depth != 0 && (l->json_depth < 2 || l->json_depth > 1000))
        decode_error_at(d, &l->json_depth, "json_depth must be between 2 and 1000");
}

int config_load(const char *path, struct yj_config *cfg, struct plan_diags *diags, struct yj_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return yj_err_set(err, YJ_EIO, "%s: cannot open config: %s", path, strerror(errno));
    enum { MAX = 1024 * 1024 };
    char *buf = xmalloc(MAX + 1);
    size_t n = fread(buf, 1, MAX + 1, f);
    fclose(f);
    if (n > MAX) {
        free(buf);
        return yj_err_set(err, YJ_EINVAL, "%s:1:1: config file larger than 1 MiB", path);
    }
    struct decoder d = {.file = path};
    struct yj_config file = {0};
    /* libfyaml parses in place: buf must outlive the document. */
    struct fy_document *doc = decode_parse(&d, buf, n);
    if (doc) {
        decode_object(&d, &config_schema, fy_document_root(doc), &file);
        fy_document_destroy(doc);
        if (!d.n_diags)
            validate(&d, &file);
    }
    free(buf);
    if (d.n_diags) {
        yj_err_set(err, YJ_EINVAL, "%s", d.diags[0]);
        if (diags) {
            diags->lines = d.diags;
            diags->n = d.n_diags;
            d.diags = NULL;
            d.n_diags = 0;
        }
        decoder_release(&d);
        decode_release(&config_schema, &file);
        free(file.refs);
        return YJ_EINVAL;
    }
    decoder_release(&d);
    /* Lay what the file gives over the defaults. */
#define TAKE_STR(m)                                                                                      \
    if (file.m) {                                                                                        \
        free(cfg->m);                                                                                    \
        cfg->m = file.m;                                                                                 \
        file.m = NULL;                                                                                   \
    }
#define TAKE_NUM(m)                                                                                      \
    if (file.m > 0)                                                                                      \
        cfg->m = file.m;
    TAKE_STR(listen) TAKE_STR(data) TAKE_STR(store) TAKE_STR(password_file) TAKE_STR(plan) TAKE_STR(rules) TAKE_STR(public_url) TAKE_STR(tls.cert) TAKE_STR(tls.key)
    TAKE_STR(audit.key) TAKE_STR(audit.checkpoints) TAKE_STR(audit.daily)
    TAKE_NUM(threads) TAKE_NUM(limits.body) TAKE_NUM(limits.attachment) TAKE_NUM(limits.json_depth) TAKE_NUM(limits.string)
    TAKE_NUM(limits.connections) TAKE_NUM(limits.per_address) TAKE_NUM(limits.timeout) TAKE_NUM(limits.memory)
    TAKE_NUM(limits.window_keys) TAKE_NUM(limits.header_time) TAKE_NUM(limits.body_rate)
    TAKE_NUM(sessions.idle) TAKE_NUM(sessions.absolute)
#undef TAKE_STR
#undef TAKE_NUM
    /* Lists the file gives replace the defaults' (none), taken over whole. */
#define TAKE_LIST(m)                                                                                     \
    if (file.n_##m) {                                                                                    \
        cfg->m = file.m;                                                                                 \
        cfg->n_##m = file.n_##m;                                                                         \
        file.m = NULL;                                                                                   \
        file.n_##m = 0;                                                                                  \
    }
    TAKE_LIST(actions) TAKE_LIST(channels) TAKE_LIST(sources) TAKE_LIST(monitors) TAKE_LIST(integrity)
    TAKE_LIST(sites)
#undef TAKE_LIST
    if (file.words) {
        free(cfg->words);
        cfg->words = file.words;
        file.words = NULL;
    }
    if (file.host.enabled) {
        cfg->host = file.host;
        memset(&file.host, 0, sizeof(file.host));
    }
    cfg->refs = file.refs; /* they point into the monitors and watches just taken */
    cfg->n_refs = file.n_refs;
    file.refs = NULL;
    decode_release(&config_schema, &file);
    config_set(&cfg->file, path);
    return 0;
}

int config_channel_secret(const struct config_channel *ch, char *buf, size_t size, struct yj_err *err)
{
    buf[0] = 0;
    if (ch->secret) {
        if (strlen(ch->secret) >= size)
            return yj_err_set(err, YJ_EINVAL, "the secret is too long");
        snprintf(buf, size, "%s", ch->secret);
        return 0;
    }
    if (ch->secret_env) {
        const char *v = getenv(ch->secret_env);
        if (!v || !*v)
            return yj_err_set(err, YJ_EINVAL, "secret_env: the environment variable %s is not set", ch->secret_env);
        if (strlen(v) >= size)
            return yj_err_set(err, YJ_EINVAL, "secret_env: %s is too long", ch->secret_env);
        snprintf(buf, size, "%s", v);
        return 0;
    }
    if (!ch->secret_file)
        return 0;
    FILE *f = fopen(ch->secret_file, "r");
    if (!f)
        return yj_err_set(err, YJ_EIO, "secret_file: cannot read %s: %s", ch->secret_file, strerror(errno));
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    size_t n = ok ? strcspn(buf, "\r\n") : 0;
    buf[n] = 0;
    if (n == 0)
        return yj_err_set(err, YJ_EINVAL, "secret_file: %s is empty", ch->secret_file);
    return 0;
}

int config_channel_parse(const char *json, const char *secret, struct config_channel *out, struct yj_err *err)
{
    struct decoder d = {.file = "channel"};
    struct config_channel ch = {0};
    struct fy_document *doc = decode_parse(&d, json, strlen(json));
    if (doc) {
        decode_object(&d, &channel_schema, fy_document_root(doc), &ch);
        fy_document_destroy(doc);
        ch.secret = secret ? xstrdup(secret) : NULL;
        if (!d.n_diags)
            check_channel(&d, &ch);
    }
    int rc = 0;
    if (d.n_diags) {
        rc = yj_err_set(err, YJ_EINVAL, "%s", d.diags[0]);
        config_channel_release(&ch);
    } else {
        *out = ch;
    }
    decoder_release(&d);
    return rc;
}

void config_channel_release(struct config_channel *ch)
{
    if (ch->secret) {
        sodium_memzero(ch->secret, strlen(ch->secret));
        free(ch->secret);
    }
    decode_release(&channel_schema, ch);
    memset(ch, 0, sizeof(*ch));
}

void config_release(struct yj_config *c)
{
    decode_release(&config_schema, c);
    if (c->store_password)
        explicit_bzero(c->store_password, strlen(c->store_password));
    free(c->store_password);
    free(c->refs);
    free(c->file);
    memset(c, 0, sizeof(*c));
}

int config_check_plan(const struct yj_config *c, const struct plan *plan, struct yj_err *err)
{
    for (size_t i = 0; i < c->n_refs; i++) {
        const struct config_ref *r = &c->refs[i];
        bool ok;
        if (strcmp(r->kind, "type") == 0) {
            ok = plan_type(plan, r->value) != NULL;
        } else if (strcmp(r->kind, "level") == 0) {
            const struct plan_type *t = r->type ? plan_type(plan, r->type) : NULL;
            ok = t ? plan_type_has_level(t, r->value) : plan_level(plan, r->value) != NULL;
        } else if (strcmp(r->kind, "asset") == 0) {
            ok = plan_asset(plan, r->value) != NULL;
        } else {
            ok = plan_unit(plan, r->value) != NULL;
        }
        if (!ok)
            return yj_err_set(err, YJ_EINVAL, "%s:%d:%d: the plan %s has no %s \"%s\"%s%s", c->file ? c->file : "config",
                              r->line, r->col, plan->meta.id, r->kind, r->value, r->type ? " for type " : "",
                              r->type ? r->type : "");
    }
    for (size_t i = 0; i < c->n_integrity; i++)
        if (!config_integrity_type(&c->integrity[i], plan))
            return yj_err_set(err, YJ_EINVAL,
                              "%s: integrity %s: the plan %s has no type for web or data tampering (GB/T 20986 "
                              "attack.web_tamper, data.tamper); name one with incident: TYPE",
                              c->file ? c->file : "config", c->integrity[i].id, plan->meta.id);
    for (size_t i = 0; i < c->n_sites; i++)
        if (!config_site_type(&c->sites[i], plan))
            return yj_err_set(err, YJ_EINVAL,
                              "%s: site %s: the plan %s has no type for web tampering (GB/T 20986 attack.web_tamper, "
                              "data.tamper); name one with incident: TYPE",
                              c->file ? c->file : "config", c->sites[i].id, plan->meta.id);
    if (c->host.enabled && !config_host_type(&c->host, plan))
        return yj_err_set(err, YJ_EINVAL, "%s: host: the plan %s has no type for resource anomalies; name one with "
                          "incident: TYPE", c->file ? c->file : "config", plan->meta.id);
    for (size_t i = 0; i < c->n_monitors; i++)
        if (!config_monitor_type(&c->monitors[i], plan))
            return yj_err_set(err, YJ_EINVAL,
                              "%s: monitor %s: the plan %s has no type for outages (GB/T 20986 facility.technical); "
                              "name one with incident: TYPE",
                              c->file ? c->file : "config", c->monitors[i].id, plan->meta.id);
    return 0;
}

/* The first plan type mapped to one of gbts, in their order. */
static const char *type_for(const struct plan *plan, const char *const *gbts, size_t n)
{
    for (size_t g = 0; g < n; g++)
        for (size_t i = 0; i < plan->n_types; i++)
            if (plan->types[i].gbt && strcmp(plan->types[i].gbt, gbts[g]) == 0)
                return plan->types[i].id;
    return NULL;
}

const char *config_monitor_type(const struct config_monitor *m, const struct plan *plan)
{
    static const char *const gbts[] = {"facility.technical"}; /* 设备设施故障/技术故障 */
    return m->incident ? m->incident : type_for(plan, gbts, YJ_ARRAY_LEN(gbts));
}

const char *config_integrity_type(const struct config_integrity *w, const struct plan *plan)
{
    static const char *const gbts[] = {"attack.web_tamper", "data.tamper"}; /* 网页篡改, 数据篡改 */
    return w->incident ? w->incident : type_for(plan, gbts, YJ_ARRAY_LEN(gbts));
}

const char *config_host_type(const struct config_host *h, const struct plan *plan)
{
    static const char *const gbts[] = {"anomaly.traffic", "anomaly.access", "facility.technical"};
    return h->incident ? h->incident : type_for(plan, gbts, YJ_ARRAY_LEN(gbts));
}

const char *config_site_type(const struct config_site *w, const struct plan *plan)
{
    static const char *const gbts[] = {"attack.web_tamper", "attack.hidden_link", "data.tamper"};
    return w->incident ? w->incident : type_for(plan, gbts, YJ_ARRAY_LEN(gbts));
}

const char *config_site_content_type(const struct config_site *w, const struct plan *plan)
{
    return w->content ? w->content : config_site_type(w, plan);
}
