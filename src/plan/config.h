/* config.h: the deployment config (yingji.yaml): where to listen, where the data and plan are,
 * TLS, limits and session lifetimes. Every key is documented in yingji.example.yaml; errors are
 * FILE:LINE:COLUMN like the plan's. Command-line flags override it; without a file, defaults. */
#ifndef YJ_CONFIG_H
#define YJ_CONFIG_H

#include <stdint.h>

struct yj_err;
struct plan_diags;

struct config_tls {
    char *cert; /* PEM certificate chain */
    char *key;  /* PEM private key */
};

struct config_limits {
    int64_t body;        /* bytes of a request body (413 beyond) */
    int64_t attachment;  /* bytes of an uploaded attachment (a screenshot) */
    int64_t json_depth;  /* nesting of a JSON body */
    int64_t string;      /* characters of one JSON string */
    int64_t connections; /* open connections in all */
    int64_t per_address; /* open connections from one address */
    int64_t timeout;     /* ms of inactivity before a connection is closed */
    int64_t memory;      /* bytes of buffer per connection (headers + body chunks) */
    int64_t window_keys; /* keys each rule's threshold window remembers (oldest forgotten beyond) */
    int64_t header_time; /* ms for a request head to arrive (from the connection or the last response) */
    int64_t body_rate;   /* bytes per second a request body must keep up after header_time */
};

struct config_sessions {
    int64_t idle;     /* ms without a request before a session ends */
    int64_t absolute; /* ms after login when a session ends regardless */
};

/* `audit:`: where the key that signs the audit chain's head and the checkpoints of it live
 * (outside the store; NULL: DATA/audit.key and DATA/audit.checkpoints). */
struct config_audit {
    char *key;
    char *checkpoints;
    char *daily; /* "HH:MM" of the daily checkpoint message to the plan's office; NULL: 08:00 */
};

/* One entry of `sources:`. */
struct config_source {
    char *type;     /* syslog or logwatch */
    char *listen;   /* syslog: ADDR:PORT */
    char *protocol; /* syslog: udp (default) or tcp */
    char *path;     /* logwatch: a file, or a pattern with wildcards in the file name */
    char *program;  /* logwatch: the program of lines without a syslog prefix */
    char *asset;    /* logwatch: the asset the file belongs to */
    char *start;    /* logwatch: where to begin a file never read before: end (default) or beginning */
    int64_t buffer;      /* syslog/udp: socket receive buffer bytes (-1: the system's) */
    int64_t connections; /* syslog/tcp: open connections at most (0: 256) */
};

/* One entry of `channels:`: where notifications go. Secrets are named by file or environment
 * variable, never written in the config itself (config_channel_secret reads them). */
struct config_channel {
    char *id;
    char *type; /* email wecom dingtalk feishu webhook sms */
    char *url;  /* the robot's or endpoint's URL; for email the SMTP URL (smtps://host:465) */
    char *secret_file;
    char *secret_env;
    char *user;  /* email: SMTP user */
    char *from;  /* email: sender address */
    bool plain;  /* email: allow a relay without TLS (local network only) */
    char *body;  /* sms: the gateway's request body, with {phone} and {text} */
    int64_t timeout; /* ms per delivery attempt; default 10 s */
    char *secret;    /* a channel made in the console: the secret itself, from the store (not YAML) */
};

/* One entry of `actions:`: how an automated playbook action (a step's `action:`) is carried out
 * here: a program to run (argv, with the incident in its environment) or an HTTP endpoint to call. */
struct config_action {
    char *kind;  /* block_ip run_script http maintenance_page restore_files */
    char **run;  /* argv */
    size_t n_run;
    char *url;   /* or: POST the incident and task as JSON here */
    char *nftables; /* block_ip only, or: the built-in blocker, with this nftables table (inet) */
    bool integrity;  /* restore_files only, or: the built-in restore from the integrity baselines */
    int64_t timeout;  /* ms; default 30 s */
    int64_t duration; /* block_ip: ms an address stays blocked; default 24 h */
    char **allow;     /* block_ip: ranges never blocked (loopback never is) */
    size_t n_allow;
};

/* One entry of `monitors:`: a target checked on a schedule; when it goes down an incident of
 * the plan type `incident` is opened (routed by `asset`, or to `unit`), and it records its own
 * recovery when the target is back. */
struct config_monitor {
    char *id;
    char *target;    /* http(s)://..., HOST:PORT, icmp:HOST or dns:NAME */
    int64_t interval; /* ms; default 60 s */
    int64_t timeout;  /* ms per check; default 10 s */
    int64_t retries;  /* failed checks in a row tolerated before it is down; default 1 */
    char *keyword;    /* HTTP: the page must contain it */
    char *absent;     /* HTTP: the page must not contain it */
    char *ca;         /* HTTPS: CA bundle to trust instead of the system's */
    int64_t cert_warn; /* ms before the certificate ends to warn; default 14 d */
    char *asset;      /* plan asset the target is (routing, reports) */
    char *unit;       /* or: the plan unit that owns it */
    char *incident;   /* plan type of its outage incident; default: the plan's first type for failures */
    char *level;      /* plan level of that incident; default: the type's */
    char *title;      /* the incident's title; default "<id> 不可用" */
    char **expect;    /* dns: the addresses the name must resolve to (no more, no fewer) */
    size_t n_expect;
};

/* One entry of `integrity:`: a web root whose files are watched against a baseline; a change
 * opens an incident of plan type `incident` (default: the plan's web-tamper type). */
struct config_integrity {
    char *id;
    char *path;      /* the directory */
    char **exclude;  /* fnmatch patterns: relative paths or file names to ignore (logs, caches) */
    size_t n_exclude;
    int64_t scan;    /* ms between full scans; default 1 h */
    char *asset;
    char *unit;
    char *incident;
    char *level;
    char *title;
};

/* One entry of `sites:`: an official web page checked on a schedule by the website guard — tamper
 * against its baseline (outside the `dynamic` regions), hidden outside links (暗链), injected
 * scripts and frames, prohibited words. */
struct config_site {
    char *id;
    char *url;
    int64_t interval;  /* ms; default 5 min */
    char **dynamic;    /* regions whose changes are not tamper: XPath or #id / .class / tag */
    size_t n_dynamic;
    char *ca;
    char *asset;
    char *unit;
    char *incident;    /* plan type for tamper, hidden links, injected scripts; default: web tamper */
    char *content;     /* plan type for prohibited words; default: the same as incident */
    char *level;
};

/* `host:`: the local host's resources against limits (percent; load absolute; network bytes/s).
 * A limit at 0 is not watched; absent ones take the defaults (90% for CPU, memory, disk, inodes). */
struct config_host {
    bool enabled;      /* `host:` was given */
    int64_t interval;  /* ms between samples; default 30 s */
    int64_t sustained; /* ms above a limit before it counts; default 5 min */
    int64_t cpu, memory, disk, inodes, load;
    int64_t network;   /* bytes per second on one interface */
    char **paths;      /* file systems for disk and inodes; default / and the data directory */
    size_t n_paths;
    char *proc;        /* where /proc is (a container's host /proc mounted elsewhere); default /proc */
    char *asset;
    char *unit;
    char *incident;
    char *level;
};

struct yj_config {
    char *file; /* NULL when running on defaults */
    char *listen;
    char *data;
    char *store;         /* "sqlite:PATH" or "postgresql://..."; resolved by the CLI: sqlite in data */
    char *password_file; /* the store's password, one line (PostgreSQL) */
    char *store_password; /* read from password_file by the CLI; never printed */
    char *plan;
    char *rules; /* directory of rule files; NULL: the built-in rules */
    int64_t threads;
    char *public_url; /* how people reach the console, for links in messages */
    struct config_tls tls;
    struct config_limits limits;
    struct config_sessions sessions;
    struct config_audit audit;
    struct config_source *sources;
    size_t n_sources;
    struct config_channel *channels;
    size_t n_channels;
    struct config_action *actions;
    size_t n_actions;
    struct config_monitor *monitors;
    size_t n_monitors;
    struct config_integrity *integrity;
    size_t n_integrity;
    struct config_host host;
    struct config_site *sites;
    size_t n_sites;
    char *words; /* directory of the website guard's word lists; NULL: the built-in rules/words */
    /* Where plan references stood in the file, for config_check_plan's messages. */
    struct config_ref *refs;
    size_t n_refs;
};

/* A value naming something in the plan (a monitor's incident type, level, asset, unit). */
struct config_ref {
    const char *kind; /* "type", "level", "asset", "unit" */
    const char *value;
    const char *type; /* level only: of which type */
    int line, col;
};

/* Checks every plan reference of cfg against plan: 0, or YJ_EINVAL with FILE:LINE:COLUMN and what
 * the plan has instead in err. */
struct plan;
int config_check_plan(const struct yj_config *cfg, const struct plan *plan, struct yj_err *err);
/* The plan type a monitor's outage is: its `incident`, else the plan's first type for technical
 * failures (GB/T 20986 facility.technical); NULL when there is none. */
const char *config_monitor_type(const struct config_monitor *m, const struct plan *plan);
/* The plan type a changed web root is: its `incident`, else the plan's type for web tampering
 * (GB/T 20986 attack.web_tamper), else for data tampering (data.tamper); NULL when none. */
const char *config_integrity_type(const struct config_integrity *w, const struct plan *plan);
/* The plan types of a site's findings: tamper (incident, else the plan's web-tamper type) and
 * prohibited content (content, else the tamper type). */
const char *config_site_type(const struct config_site *w, const struct plan *plan);
const char *config_site_content_type(const struct config_site *w, const struct plan *plan);
/* The plan type of a resource anomaly: `incident`, else the plan's type for traffic or access
 * anomalies (GB/T 20986 anomaly.*), else for technical failures. */
const char *config_host_type(const struct config_host *h, const struct plan *plan);

/* The channel's secret (HMAC key, SMTP password) from its file (first line) or environment
 * variable into buf: 0, or YJ_EIO/YJ_EINVAL with err naming what is missing. An empty string
 * when the channel names none. */
/* A channel given in the console: the JSON of one `channels:` entry (the same keys, the same
 * checks) and its secret (or NULL). Release with config_channel_release. YJ_EINVAL with the first
 * problem ("channel:1:9: ...") otherwise. */
int config_channel_parse(const char *json, const char *secret, struct config_channel *out, struct yj_err *err);
void config_channel_release(struct config_channel *ch);
int config_channel_secret(const struct config_channel *ch, char *buf, size_t size, struct yj_err *err);

/* Fills cfg with the defaults (listen 127.0.0.1:8080, data ./data, the built-in university plan,
 * 1 MiB bodies, ...). Release with config_release. */
void config_defaults(struct yj_config *cfg);

/* Loads path over the defaults. On failure returns YJ_EINVAL or YJ_EIO, fills err with the first
 * diagnostic and diags (if non-NULL) with all; cfg is left with the defaults. */
int config_load(const char *path, struct yj_config *cfg, struct plan_diags *diags, struct yj_err *err);

/* Sets a string member, freeing the old value (flags overriding the file). */
void config_set(char **member, const char *value);

/* Splits "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080"). */
int config_parse_listen(const char *listen, char *host, size_t host_size, int *port, struct yj_err *err);

void config_release(struct yj_config *cfg);

#endif
