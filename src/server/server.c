/* server.c: the daemon — `yingji serve` from start to stop: the plan shared by reference count
 * and swapped on SIGHUP, a store connection per thread, the clock, the outbox and the action
 * runner on threads of their own (on the node holding the work lease), the sources and watchers
 * whose signals it delivers, and the HTTP front (src/http/httpd.c) it starts and stops. */
#include "../base/common.h"
#include "../base/fileio.h"
#include "../base/log.h"
#include "../base/timeutil.h"
#include "../plan/plan.h"
#include "../engine/clock.h"
#include "../engine/directory.h"
#include "../outputs/channels.h"
#include "../outputs/act.h"
#include "../outputs/outbox.h"
#include "../engine/detect.h"
#include "../sources/logwatch.h"
#include "../sources/syslog.h"
#include "../engine/audit.h"
#include "../store/store.h"
#include "../http/cache.h"
#include "../http/edge.h"
#include "../http/http.h"
#include "server_internal.h"
#include "watchers.h"

#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>


struct watchers *server_watchers(struct server *srv)
{
    return srv->watchers;
}

struct detector *server_detector(struct server *srv)
{
    return srv->detector;
}

struct response_cache *server_cache(struct server *srv)
{
    return srv->cache;
}


const struct yj_config *server_config(const struct server *srv)
{
    return srv->cfg;
}

bool server_stopping(const struct server *srv)
{
    return atomic_load(&srv->stopping);
}

bool server_is_tls(const struct server *srv)
{
    return srv->tls;
}

void server_count_store_error(struct server *srv)
{
    atomic_fetch_add(&srv->store_errors, 1);
}

/* ---- the plan, shared by reference ---- */

struct plan_ref *server_plan_acquire(struct server *srv)
{
    pthread_mutex_lock(&srv->plan_lock);
    struct plan_ref *ref = srv->plan;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&srv->plan_lock);
    return ref;
}

void server_plan_release(struct plan_ref *ref)
{
    if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
        plan_free(ref->plan);
        free(ref);
    }
}

static struct plan_ref *plan_ref_new(struct server *srv, struct plan *p)
{
    struct plan_ref *ref = xcalloc(1, sizeof(*ref));
    ref->plan = p;
    ref->generation = atomic_fetch_add(&srv->plan_generation, 1) + 1;
    atomic_init(&ref->refs, 1);
    return ref;
}

/* Puts a loaded plan in force when the config and the rules fit it; otherwise frees it, says why
 * and the old plan stays. */
int server_plan_install(struct server *srv, struct plan *p, struct yj_err *err)
{
    if (config_check_plan(srv->cfg, p, err) < 0) {
        yj_err_prefix(err, "the config names what the plan lacks: ");
        plan_free(p);
        return YJ_EINVAL;
    }
    if (srv->detector && detector_check_plan(srv->detector, p, err) < 0) {
        plan_free(p);
        return YJ_EINVAL;
    }
    struct plan_ref *fresh = plan_ref_new(srv, p);
    pthread_mutex_lock(&srv->plan_lock);
    struct plan_ref *old = srv->plan;
    srv->plan = fresh;
    pthread_mutex_unlock(&srv->plan_lock);
    server_plan_release(old);
    return 0;
}

/* SIGHUP, or the console edited the directory: the file's plan with the console's edits; it must
 * validate completely, or the old one stays. One at a time, so the last loaded is the last put in
 * force. */
int server_plan_reload(struct server *srv, struct yj_err *err)
{
    struct plan *p = NULL;
    struct plan_diags diags = {0};
    pthread_mutex_lock(&srv->reload_lock);
    struct store *st = server_store(srv, err);
    char *edits_error = NULL;
    int rc = st ? directory_plan(srv->cfg->plan, st, &p, &edits_error, &diags, err) : YJ_ESTORE;
    if (rc == 0) {
        if (edits_error)
            yj_log_error("the console's edits of the directory no longer fit the plan and are not applied: %s",
                         edits_error);
        rc = server_plan_install(srv, p, err);
    }
    pthread_mutex_unlock(&srv->reload_lock);
    free(edits_error);
    if (rc < 0) {
        atomic_fetch_add(&srv->plan_reload_failures, 1);
        yj_log_error("plan reload refused, the old plan stays in force: %s", err->msg);
        for (size_t i = 1; i < diags.n; i++)
            yj_log_error("%s", diags.lines[i]);
        plan_diags_release(&diags);
        return rc;
    }
    atomic_fetch_add(&srv->plan_reloads, 1);
    yj_log_info("plan reloaded from %s", srv->cfg->plan);
    return 0;
}

void server_channels_changed(struct server *srv)
{
    atomic_fetch_add(&srv->channels_generation, 1);
    server_poke_outbox(srv);
}

/* The store holds password, session and token hashes, the audit key signs the record: said at
 * start when another account could read them (a directory made before 0700, a copied file). */
static void warn_permissions(const struct yj_config *cfg)
{
    /* A PostgreSQL store's file modes are the database server's concern. */
    char *db = xstrdup(strncmp(cfg->store, "sqlite:", 7) == 0 ? cfg->store + 7 : cfg->data);
    char *key = audit_key_path(cfg->data, cfg->audit.key);
    const struct {
        const char *path;
        unsigned want;
        const char *fix;
    } checks[] = {{cfg->data, 0700, "chmod 700"}, {db, 0600, "chmod 600"}, {key, 0600, "chmod 600"}};
    for (size_t i = 0; i < YJ_ARRAY_LEN(checks); i++) {
        struct stat sb;
        if (stat(checks[i].path, &sb) == 0 && (sb.st_mode & 077 & ~checks[i].want))
            yj_log_warn("%s is mode %04o: other accounts may read it (it should be %04o: %s %s)",
                        checks[i].path, (unsigned)(sb.st_mode & 07777), checks[i].want, checks[i].fix,
                        checks[i].path);
    }
    free(db);
    free(key);
}

/* What makes the desk quietly useless, said at start: nowhere to send (notifications would sit
 * queued), no address for links (messages would carry none). */
static void warn_setup(const struct yj_config *cfg, size_t n_channels)
{
    if (!n_channels)
        yj_log_warn(
            "no notification channel is configured (channels: in the config, see yingji.example.yaml, or 通知通道 "
            "in the console): "
            "notifications are queued but nothing is sent to anyone");
    if (!cfg->public_url)
        yj_log_warn("public_url is not set in the config: messages cannot link to the incident");
}

/* ---- one store connection per thread ---- */

static void store_destroy(void *st)
{
    store_free(st);
}

struct store *server_store(struct server *srv, struct yj_err *err)
{
    struct store *st = pthread_getspecific(srv->store_key);
    if (st)
        return st;
    if (store_open(srv->cfg->store, srv->cfg->store_password, &st, err) < 0)
        return NULL;
    store_set_audit_key(st, srv->audit_key);
    store_defer_checkpoints(st); /* wal_main does them */
    pthread_setspecific(srv->store_key, st);
    return st;
}

int server_audit_verify(struct server *srv, struct store *st, struct audit_result *res, struct yj_err *err)
{
    pthread_mutex_lock(&srv->audit_lock);
    struct audit_verify_opts opts = {
        .key = srv->audit_key, .from_id = srv->audit_verified_id, .from_hash = srv->audit_verified_hash};
    int rc = audit_verify(st, &opts, res, err);
    if (rc == 0 && res->bad_id == 0 && res->rows) {
        srv->audit_verified_id = res->rows;
        memcpy(srv->audit_verified_hash, res->head_hash, sizeof(srv->audit_verified_hash));
    }
    pthread_mutex_unlock(&srv->audit_lock);
    return rc;
}

/* Once an hour when the head has moved (and at start and stop): the signed head goes to the
 * checkpoints file; once a day at the configured time, to the plan's office. Runs on the ticker. */
static void audit_checkpoints(struct server *srv, bool force)
{
    int64_t now = yj_now_ms();
    bool hourly = force || now - srv->checkpoint_at >= YJ_MS_PER_HOUR;
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char day[16];
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    bool daily = !force && tm.tm_hour * 60 + tm.tm_min >= srv->checkpoint_minute &&
                 strcmp(day, srv->checkpoint_day) != 0;
    if (!hourly && !daily)
        return;
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    struct audit_checkpoint cp;
    if (!st || audit_checkpoint_take(st, now, &cp, &err) < 0) {
        if (err.code != YJ_ESTATE) /* an empty chain has nothing to checkpoint yet */
            yj_log_error("audit checkpoint: %s", err.msg);
        srv->checkpoint_at = now;
        return;
    }
    if (hourly) {
        srv->checkpoint_at = now;
        if (cp.id != srv->checkpoint_id) {
            char *path = audit_checkpoints_path(srv->cfg->data, srv->cfg->audit.checkpoints);
            if (audit_checkpoint_append(path, &cp, &err) < 0)
                yj_log_error("%s", err.msg);
            else
                srv->checkpoint_id = cp.id;
            free(path);
        }
    }
    if (daily) {
        struct plan_ref *pr = server_plan_acquire(srv);
        struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "clock"};
        size_t queued = 0;
        if (clock_announce_checkpoint(&ctx, &cp, day, &queued, &err) < 0) {
            yj_log_error("audit checkpoint message: %s", err.msg);
        } else {
            snprintf(srv->checkpoint_day, sizeof(srv->checkpoint_day), "%s", day);
            if (queued) {
                yj_log_info("audit checkpoint of row %lld sent to the plan's office (%zu messages)",
                            (long long)cp.id, queued);
                server_poke_outbox(srv);
            }
        }
        server_plan_release(pr);
    }
}

/* Every bound that drops something counts it (in /metrics) and is logged here: one line per
 * period in which anything was dropped, never one per message. Runs on the ticker thread only. */
static void report_drops(struct server *srv)
{
    if (srv->syslog) {
        struct syslog_counts c, *was = &srv->drops_seen;
        syslog_receiver_counts(srv->syslog, &c);
        if (c.dropped > was->dropped || c.refused > was->refused)
            yj_log_warn(
                "syslog: dropped %llu messages (malformed %llu, over 64 KiB %llu, store refused %llu, "
                "queue full %llu, receive buffer full %llu) and refused %llu connections over the limit "
                "since "
                "the last report",
                (unsigned long long)(c.dropped - was->dropped),
                (unsigned long long)(c.malformed - was->malformed),
                (unsigned long long)(c.too_long - was->too_long),
                (unsigned long long)(c.unstored - was->unstored),
                (unsigned long long)(c.queue_full - was->queue_full),
                (unsigned long long)(c.kernel - was->kernel), (unsigned long long)(c.refused - was->refused));
        *was = c;
    }
    if (srv->logwatch) {
        struct logwatch_counts c;
        logwatch_get_counts(srv->logwatch, &c);
        if (c.dropped > srv->logwatch_drops_seen)
            yj_log_warn(
                "logwatch: skipped %llu lines (binary, invalid UTF-8 or over 64 KiB) since the last report",
                (unsigned long long)(c.dropped - srv->logwatch_drops_seen));
        srv->logwatch_drops_seen = c.dropped;
    }
    if (srv->detector) {
        struct detector_eviction *ev;
        size_t n = detector_evictions(srv->detector, &ev);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += ev[i].evictions;
        if (total > srv->evictions_seen)
            yj_log_warn(
                "detection: threshold windows forgot %llu keys since the last report (full at "
                "limits.window_keys = %lld per rule); an attack from many addresses is under way or the "
                "limit is too low",
                (unsigned long long)(total - srv->evictions_seen), (long long)srv->cfg->limits.window_keys);
        srv->evictions_seen = total;
        free(ev);
    }
}

void server_poke_outbox(struct server *srv)
{
    pthread_mutex_lock(&srv->outbox_lock);
    srv->outbox_poke = true;
    /* Broadcast: the action runner waits on the same condition, and a signal could wake it
     * instead of the outbox (the notifications then waited for the outbox's one-second timer). */
    pthread_cond_broadcast(&srv->outbox_cond);
    pthread_mutex_unlock(&srv->outbox_lock);
}

void server_poke_clock(struct server *srv)
{
    pthread_mutex_lock(&srv->tick_lock);
    srv->tick_poke = true;
    pthread_cond_signal(&srv->tick_cond);
    pthread_mutex_unlock(&srv->tick_lock);
}

bool server_is_leader(struct server *srv)
{
    return atomic_load(&srv->leader);
}

/* Once a second on the ticker (and once at start): takes the work lease when it is free and keeps
 * it while held. A node that takes it starts the scheduled watchers and runs the clock, the outbox
 * and actions from then on; one that loses it (its lease connection cut) stops them at once, and
 * another node takes over within about a second of the database letting go. */
static void poll_lease(struct server *srv)
{
    struct yj_err err = {0};
    bool held = false;
    int64_t token = 0;
    if (store_lease_poll(srv->lease, yj_now_ms(), &held, &token, &err) < 0)
        yj_log_error("work lease: %s", err.msg);
    bool was = atomic_load(&srv->leader);
    if (held == was)
        return;
    atomic_store(&srv->leader, held);
    if (held) {
        srv->lease_token = token;
        yj_log_info("this node now runs the clock, the outbox, actions and the scheduled watchers (lease %lld)",
                    (long long)token);
        if (watchers_start_scheduled(srv->watchers, &err) < 0)
            yj_log_error("watchers: %s", err.msg);
        server_poke_outbox(srv);
    } else {
        yj_log_warn("this node no longer holds the work lease (%lld): the clock, the outbox, actions and the "
                    "scheduled watchers stop here; another node takes them over",
                    (long long)srv->lease_token);
        watchers_stop_scheduled(srv->watchers);
    }
}

/* Runs the clock (overdue deadlines, escalation steps) on the ticker's own store connection.
 * True when a batch was full and more is due at once. */
static bool run_clock(struct server *srv)
{
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!st) {
        server_count_store_error(srv);
        return false;
    }
    struct plan_ref *pr = server_plan_acquire(srv);
    struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "clock", .public_url = srv->cfg->public_url};
    struct clock_result res = {0};
    if (clock_tick(&ctx, &res, &err) < 0) {
        res.more = false;
        server_count_store_error(srv);
        yj_log_error("clock: %s", err.msg);
    } else if (res.overdue || res.steps || res.stopped) {
        if (res.notifications)
            server_poke_outbox(srv);
        yj_log_info(
            "clock: %zu deadlines overdue, %zu escalation steps, %zu notifications queued, %zu escalations "
            "stopped",
            res.overdue, res.steps, res.notifications, res.stopped);
        server_wake_streams(srv);
    }
    server_plan_release(pr);
    return res.more;
}

/* The outbox: delivers queued notifications through the configured channels, on a thread of its
 * own because each attempt may wait for a slow receiver. Woken by the clock when it queues, and
 * once a second for retries that fall due. */
static void *outbox_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-outbox");
    struct outbox *ob = outbox_new();
    /* The channels in force: reloaded when the console changes one (and once a minute, for a
     * change another process made). */
    struct channel_set chs = {0};
    unsigned long chs_generation = 0;
    int64_t chs_loaded = 0;
    bool chs_ok = false;
    pthread_mutex_lock(&srv->outbox_lock);
    while (!srv->outbox_stop) {
        srv->outbox_poke = false;
        pthread_mutex_unlock(&srv->outbox_lock);
        struct yj_err err = {0};
        struct store *st = server_store(srv, &err);
        unsigned long gen = atomic_load(&srv->channels_generation);
        if (st && (!chs_ok || gen != chs_generation || yj_now_ms() - chs_loaded > 60000)) {
            channels_release(&chs);
            chs_ok = channels_load(srv->cfg, st, &chs, &err) == 0;
            if (!chs_ok)
                yj_log_error("outbox: reading the channels: %s", err.msg);
            chs_generation = gen;
            chs_loaded = yj_now_ms();
        }
        if (st && chs_ok && atomic_load(&srv->leader)) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {
                .plan = pr->plan, .store = st, .actor = "outbox", .public_url = srv->cfg->public_url};
            struct outbox_result res;
            if (outbox_run(&ctx, ob, chs.all, chs.n, OUTBOX_BATCH, &res, &err) <
                0) {
                server_count_store_error(srv);
                yj_log_error("outbox: %s", err.msg);
            } else if (res.sent || res.retried || res.failed) {
                if (res.retried || res.failed)
                    yj_log_info("outbox: %zu delivered, %zu to retry, %zu skipped, %zu failed", res.sent,
                                res.retried, res.skipped, res.failed);
                server_wake_streams(srv);
            }
            server_plan_release(pr);
            /* A full round: there may be more due right away. */
            if (res.sent + res.retried + res.skipped + res.failed == OUTBOX_BATCH) {
                pthread_mutex_lock(&srv->outbox_lock);
                continue;
            }
        }
        pthread_mutex_lock(&srv->outbox_lock);
        if (srv->outbox_stop || srv->outbox_poke)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->outbox_cond, &srv->outbox_lock, &ts);
    }
    pthread_mutex_unlock(&srv->outbox_lock);
    channels_release(&chs);
    outbox_free(ob);
    return NULL;
}

/* The action runner: playbook actions that may run (approved when gated), on a thread of its own
 * because a program may take up to its timeout. Looks once a second; stops with the outbox. */
static void *actor_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-actions");
    bool restored = false;
    pthread_mutex_lock(&srv->outbox_lock);
    while (!srv->outbox_stop) {
        pthread_mutex_unlock(&srv->outbox_lock);
        struct yj_err err = {0};
        struct store *st = atomic_load(&srv->leader) ? server_store(srv, &err) : NULL;
        if (st) {
            struct plan_ref *pr = server_plan_acquire(srv);
            struct yj_ctx ctx = {
                .plan = pr->plan, .store = st, .actor = "action", .public_url = srv->cfg->public_url};
            struct act_result res;
            size_t n_restored = 0;
            /* Blocks still running go back into the kernel (a reboot empties its sets); retried
             * each second until it works. */
            if (!restored) {
                if (act_restore_blocks(&ctx, srv->cfg->actions, srv->cfg->n_actions, &n_restored, &err) < 0) {
                    yj_log_error("actions: restoring blocked addresses: %s", err.msg);
                } else {
                    restored = true;
                    if (n_restored)
                        yj_log_info("actions: %zu blocked addresses put back into nftables", n_restored);
                }
            }
            struct act_restore_source restore = {srv->cfg->integrity, srv->cfg->n_integrity,
                                                 watchers_integrity_objects(srv->watchers)};
            if (act_run(&ctx, srv->cfg->actions, srv->cfg->n_actions, &restore, &res, &err) < 0) {
                server_count_store_error(srv);
                yj_log_error("actions: %s", err.msg);
            } else if (res.succeeded || res.failed || res.unconfigured) {
                yj_log_info("actions: %zu succeeded, %zu failed, %zu left to people (not configured)",
                            res.succeeded, res.failed, res.unconfigured);
                server_wake_streams(srv);
            }
            server_plan_release(pr);
        }
        pthread_mutex_lock(&srv->outbox_lock);
        if (srv->outbox_stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->outbox_cond, &srv->outbox_lock, &ts);
    }
    pthread_mutex_unlock(&srv->outbox_lock);
    return NULL;
}

static void process_orphans(struct server *srv)
{
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!st)
        return;
    struct plan_ref *pr = server_plan_acquire(srv);
    struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = "system:detect", .public_url = srv->cfg->public_url};
    size_t n = 0;
    if (detector_process_pending(srv->detector, &ctx, &n, &err) < 0)
        yj_log_error("processing signals left unprocessed: %s", err.msg);
    else if (n)
        yj_log_info("processed %zu signals another node had stored", n);
    server_plan_release(pr);
    if (n)
        server_wake_streams(srv);
}

/* Once a second: the clock runs, and parked streams look for events written by other processes
 * (the CLI, other nodes) and send keep-alives (local writes wake them at once). Every 10 s, drops
 * are reported. */
static void *ticker_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-clock");
    unsigned ticks = 0;
    pthread_mutex_lock(&srv->tick_lock);
    while (!srv->ticker_stop) {
        bool poked = srv->tick_poke;
        srv->tick_poke = false;
        if (!poked && ++ticks % 10 == 0)
            report_drops(srv);
        pthread_mutex_unlock(&srv->tick_lock);
        poll_lease(srv);
        bool more = false;
        if (atomic_load(&srv->leader)) {
            more = run_clock(srv);
            audit_checkpoints(srv, false);
            /* Signals another node stored and did not live to process (each node processes what
             * it receives at once; these would wait for the next delivery). Alone on an SQLite
             * store there is no other node: what a crash left is processed at start. */
            if (ticks % 5 == 0 && store_lease_shared(srv->lease))
                process_orphans(srv);
        }
        edge_reap(srv->edge, yj_now_ms());
        pthread_mutex_lock(&srv->tick_lock);
        if (srv->ticker_stop)
            break;
        if (srv->tick_poke || more)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&srv->tick_cond, &srv->tick_lock, &ts);
        if (!srv->tick_poke)
            server_wake_streams(srv);
    }
    pthread_mutex_unlock(&srv->tick_lock);
    if (atomic_load(&srv->leader))
        audit_checkpoints(srv, true); /* the head as the server leaves it */
    return NULL;
}

/* Several nodes on PostgreSQL: a connection of its own LISTENs, and an event another node commits
 * wakes this node's parked streams at once (the events table stays the truth; the ticker's look
 * once a second is the fallback when the wake-up is lost, e.g. while the connection is made again). */
static void *listener_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-listen");
    struct store *st = NULL;
    bool listening = false;
    while (!atomic_load(&srv->listener_stop)) {
        struct yj_err err = {0};
        if (!st && store_open(srv->cfg->store, srv->cfg->store_password, &st, &err) < 0) {
            st = NULL;
            usleep(500000);
            continue;
        }
        if (!listening && store_events_listen(st, &err) < 0) {
            usleep(500000);
            continue;
        }
        listening = true;
        bool woken = false;
        if (store_events_wait(st, 500, &woken, &err) < 0) {
            listening = false; /* LISTEN again once the connection is made again */
            usleep(200000);
            continue;
        }
        if (woken)
            server_wake_streams(srv);
    }
    store_free(st);
    return NULL;
}

/* SQLite: the write-ahead log copied back into the store from a thread of its own, four times a
 * second. Left to SQLite, the commit that found the log past 1,000 pages did it — copying some
 * 4 MB and syncing the file — and whichever thread made that commit (the signals', the clock's,
 * the outbox's, a request's) waited tens to hundreds of milliseconds: the outliers of the
 * signal-to-notification tail (bench/README.md). Passive: it waits for no reader or writer, and
 * what a reader still needs is copied by a later round. */
static void *wal_main(void *arg)
{
    struct server *srv = arg;
    pthread_setname_np(pthread_self(), "yj-wal");
    bool failing = false;
    while (!atomic_load(&srv->wal_stop)) {
        usleep(250000);
        struct yj_err err = {0};
        struct store *st = server_store(srv, &err);
        if (st && !store_defer_checkpoints(st))
            return NULL; /* PostgreSQL: its own server checkpoints */
        int frames = 0, copied = 0;
        int rc = st ? store_checkpoint(st, &frames, &copied, &err) : YJ_ESTORE;
        if (rc < 0 && !failing)
            yj_log_warn("the store's write-ahead log: %s", err.msg);
        if (rc < 0)
            server_count_store_error(srv);
        failing = rc < 0;
    }
    return NULL;
}

/* ---- sources ---- */

/* Runs on a source's thread: store the batch (durable) with the log positions it reached, then
 * process it. */
int server_deliver(struct server *srv, const char *actor, struct store_signal *sigs, size_t n,
                   const struct store_logpos *pos, size_t n_pos)
{
    struct yj_err err = {0};
    struct store *st = server_store(srv, &err);
    if (!st) {
        server_count_store_error(srv);
        return YJ_ESTORE;
    }
    struct plan_ref *pr = server_plan_acquire(srv);
    struct yj_ctx ctx = {.plan = pr->plan, .store = st, .actor = actor, .public_url = srv->cfg->public_url};
    int rc = detector_store(&ctx, sigs, n, pos, n_pos, &err);
    if (rc < 0) {
        server_count_store_error(srv);
        yj_log_error("%s: %s", actor, err.msg);
    } else if (n && detector_process_pending(srv->detector, &ctx, NULL, &err) < 0) {
        /* Stored: processing is retried at the next start. */
        server_count_store_error(srv);
        yj_log_error("processing signals: %s", err.msg);
    }
    server_plan_release(pr);
    if (rc == 0 && n) {
        server_wake_streams(srv);
        server_poke_clock(srv);
    }
    return rc;
}

static int deliver_syslog(struct store_signal *sigs, size_t n, void *ud)
{
    return server_deliver(ud, "source:syslog", sigs, n, NULL, 0);
}

static int deliver_logwatch(struct store_signal *sigs, size_t n, const struct store_logpos *pos, size_t n_pos,
                            void *ud)
{
    return server_deliver(ud, "source:logwatch", sigs, n, pos, n_pos);
}

static int logwatch_position(const char *path, struct store_logpos *out, void *ud)
{
    struct yj_err err = {0};
    struct store *st = server_store(ud, &err);
    int rc = st ? store_logpos_get(st, path, out, &err) : YJ_ESTORE;
    if (rc < 0 && rc != YJ_ENOTFOUND)
        yj_log_error("logwatch: %s", err.msg);
    return rc;
}

static int start_sources(struct server *srv, struct yj_err *err)
{
    struct yj_config *cfg = srv->cfg;
    if (!cfg->n_sources)
        return 0;
    struct syslog_listener *ls = xcalloc(cfg->n_sources, sizeof(*ls));
    struct logwatch_spec *lws = xcalloc(cfg->n_sources, sizeof(*lws));
    size_t n = 0, n_lw = 0;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        const struct config_source *c = &cfg->sources[i];
        if (strcmp(c->type, "syslog") == 0)
            ls[n++] = (struct syslog_listener){c->listen, c->protocol, c->buffer, c->connections};
        else if (strcmp(c->type, "logwatch") == 0)
            lws[n_lw++] = (struct logwatch_spec){c->path, c->program, c->asset,
                                                 c->start && strcmp(c->start, "beginning") == 0};
    }
    int rc = n ? syslog_receiver_start(ls, n, deliver_syslog, srv, &srv->syslog, err) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        printf("yingji: syslog on %s/%s (port %d)\n", ls[i].listen, ls[i].protocol ? ls[i].protocol : "udp",
               syslog_receiver_port(srv->syslog, i));
    if (rc == 0 && n_lw)
        rc = logwatch_start(lws, n_lw, logwatch_position, deliver_logwatch, srv, &srv->logwatch, err);
    for (size_t i = 0; rc == 0 && i < n_lw; i++)
        printf("yingji: following %s\n", lws[i].path);
    fflush(stdout);
    free(ls);
    free(lws);
    return rc;
}

int server_run(const struct server_options *opt)
{
    struct yj_config *cfg = opt->cfg;
    struct yj_err err = {0};
    struct server *srv = xcalloc(1, sizeof(*srv));
    srv->opt = opt;
    srv->cfg = cfg;
    int status = 1;
    /* Compiled rule databases are cached beside the data (a service account may have no home),
     * before any thread exists: setenv is not thread-safe. */
    if (!getenv("YINGJI_CACHE_DIR")) {
        char *cache = xasprintf("%s/cache", cfg->data);
        setenv("YINGJI_CACHE_DIR", cache, 1);
        free(cache);
    }
    pthread_mutex_init(&srv->plan_lock, NULL);
    pthread_mutex_init(&srv->reload_lock, NULL);
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_mutex_init(&srv->tick_lock, NULL);
    pthread_cond_init(&srv->tick_cond, NULL);
    pthread_mutex_init(&srv->outbox_lock, NULL);
    pthread_cond_init(&srv->outbox_cond, NULL);
    pthread_mutex_init(&srv->audit_lock, NULL);
    srv->checkpoint_minute = 8 * 60;
    if (cfg->audit.daily)
        (void)yj_clock_parse(cfg->audit.daily, &srv->checkpoint_minute);
    pthread_key_create(&srv->store_key, store_destroy);
    srv->cache = response_cache_new((size_t)4 << 20);

    struct plan *p = NULL;
    size_t n_channels = cfg->n_channels;
    struct plan_diags diags = {0};
    if (plan_load(cfg->plan, &p, &diags, &err) < 0) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.lines[i]);
        if (!diags.n)
            fprintf(stderr, "yingji: %s\n", err.msg);
        plan_diags_release(&diags);
        status = 2;
        goto out;
    }
    srv->plan = plan_ref_new(srv, p);
    if (config_check_plan(cfg, p, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        status = 2;
        goto out;
    }
    {
        /* Detection: the rules must fit the plan; then take up what a crash left unprocessed
         * and refill the threshold windows. */
        struct plan_diags rd = {0};
        if (detector_new(cfg->rules, p, (size_t)cfg->limits.window_keys, &srv->detector, &rd, &err) < 0) {
            for (size_t i = 0; i < rd.n; i++)
                fprintf(stderr, "%s\n", rd.lines[i]);
            if (!rd.n)
                fprintf(stderr, "yingji: %s\n", err.msg);
            plan_diags_release(&rd);
            status = 2;
            goto out;
        }
        struct store *st = NULL;
        if (store_open(cfg->store, cfg->store_password, &st, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            goto out;
        }
        /* The key every write signs the audit head with, before anything is written. */
        char *key_path = audit_key_path(cfg->data, cfg->audit.key);
        int krc = audit_key_open(st, key_path, yj_now_ms(), "system:start", &srv->audit_key, &err);
        free(key_path);
        if (krc < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        /* The console's edits of the directory over the file's plan. */
        struct plan *edited = NULL;
        char *edits_error = NULL;
        if (directory_plan(cfg->plan, st, &edited, &edits_error, NULL, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        if (edits_error)
            yj_log_error("the console's edits of the directory no longer fit the plan and are not applied: %s",
                         edits_error);
        free(edits_error);
        if (server_plan_install(srv, edited, &err) < 0) {
            fprintf(stderr, "yingji: %s\n", err.msg);
            store_free(st);
            goto out;
        }
        p = edited;
        size_t stored_channels = 0;
        if (channels_count(cfg, st, &stored_channels, &err) == 0)
            n_channels = stored_channels;
        struct yj_ctx ctx = {.plan = p, .store = st, .actor = "system:start"};
        size_t n = 0;
        if (detector_warm(srv->detector, &ctx, &err) < 0 ||
            detector_process_pending(srv->detector, &ctx, &n, &err) < 0)
            yj_log_error("detection at start: %s", err.msg);
        else if (n)
            yj_log_info("processed %zu signals left from before the restart", n);
        store_free(st);
    }

    int hrc = httpd_start(srv, &err);
    if (hrc < 0) {
        fprintf(stderr, "yingji: %s\n", err.msg);
        status = hrc == YJ_EINVAL ? 2 : 1;
        goto out;
    }
    int bound = srv->bound_port;
    const char *host = srv->listen_host;
    if (opt->listening && (status = opt->listening(opt->arg)) != 0) {
        httpd_stop(srv);
        goto out;
    }
    status = 1;
    if (start_sources(srv, &err) < 0 || watchers_start(srv, cfg, &srv->watchers, &err) < 0) {
        fprintf(stderr, "yingji: %s\n", err.msg);
        httpd_stop(srv);
        goto out;
    }
    {
        /* The work lease, asked for once before the threads start: a single node holds it from
         * here and starts its scheduled watchers as before; another node on the same PostgreSQL
         * serves the API and waits to take over. */
        char host_name[128] = "";
        gethostname(host_name, sizeof(host_name) - 1);
        char *holder = xasprintf("%s pid %d listen %s", host_name, (int)getpid(), cfg->listen);
        int lrc = store_lease_open(cfg->store, cfg->store_password, holder, &srv->lease, &err);
        free(holder);
        if (lrc < 0) {
            fprintf(stderr, "yingji: the work lease: %s\n", err.msg);
            httpd_stop(srv);
            goto out;
        }
        poll_lease(srv);
        if (store_lease_shared(srv->lease)) {
            printf("yingji: %s\n", atomic_load(&srv->leader)
                                       ? "this node runs the clock, the outbox, actions and the scheduled watchers"
                                       : "another node runs the clock, the outbox, actions and the scheduled "
                                         "watchers; this one serves the API and takes over if that node goes");
            fflush(stdout);
        }
    }
    pthread_create(&srv->ticker, NULL, ticker_main, srv);
    pthread_create(&srv->outbox, NULL, outbox_main, srv);
    pthread_create(&srv->actor, NULL, actor_main, srv);
    if (store_lease_shared(srv->lease))
        srv->listening = pthread_create(&srv->listener, NULL, listener_main, srv) == 0;
    srv->checkpointing = pthread_create(&srv->wal, NULL, wal_main, srv) == 0;
    {
        const char *shown = *host && strcmp(host, "0.0.0.0") != 0 ? host : "127.0.0.1";
        bool v6 = strchr(shown, ':') != NULL;
        printf("yingji: listening on %s://%s%s%s:%d/ (plan %s, data %s)\n", srv->tls ? "https" : "http",
               v6 ? "[" : "", shown, v6 ? "]" : "", bound, p->meta.name, cfg->data);
        fflush(stdout);
    }
    yj_log_info("serving %s on %s, %u threads", p->meta.name, cfg->listen, srv->threads);
    warn_permissions(cfg);
    warn_setup(cfg, n_channels);

    /* Signals are blocked in every thread (main() did it before any thread started) and taken
     * here, synchronously, so no handler ever runs in the middle of a request. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            struct yj_err rerr = {0};
            (void)server_plan_reload(srv, &rerr); /* logged */
            continue;
        }
        break;
    }
    yj_log_info("stopping: no new connections, finishing requests in flight");
    atomic_store(&srv->stopping, true);
    httpd_quiesce(srv);
    pthread_mutex_lock(&srv->tick_lock);
    srv->ticker_stop = true;
    pthread_cond_signal(&srv->tick_cond);
    pthread_mutex_unlock(&srv->tick_lock);
    pthread_join(srv->ticker, NULL);
    pthread_mutex_lock(&srv->outbox_lock);
    srv->outbox_stop = true;
    pthread_cond_broadcast(&srv->outbox_cond);
    pthread_mutex_unlock(&srv->outbox_lock);
    pthread_join(srv->outbox, NULL);
    pthread_join(srv->actor, NULL);
    if (srv->listening) {
        atomic_store(&srv->listener_stop, true);
        pthread_join(srv->listener, NULL);
    }
    /* Sources after every reader of their counters (requests, the ticker) is done, and before the
     * store goes: what they hold is delivered. */
    watchers_stop(srv->watchers);
    syslog_receiver_stop(srv->syslog);
    srv->syslog = NULL;
    logwatch_stop(srv->logwatch);
    srv->logwatch = NULL;
    if (srv->checkpointing) {
        atomic_store(&srv->wal_stop, true);
        pthread_join(srv->wal, NULL);
    }
    server_wake_streams(srv);
    httpd_stop(srv);
    yj_log_info("stopped");
    status = 0;
out:
    server_plan_release(srv->plan);
    detector_free(srv->detector);
    watchers_free(srv->watchers);
    store_lease_free(srv->lease); /* its connection closed: the database lets the lease go */
    pthread_key_delete(srv->store_key);
    response_cache_free(srv->cache);
    edge_free(srv->edge);
    audit_key_free(srv->audit_key);
    free(srv->parked);
    free(srv->cert);
    free(srv->key);
    free(srv);
    return status;
}
