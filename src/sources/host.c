/* host.c: samples of the local host from /proc and statvfs, and limits held for a sustained time.
 * One thread that sleeps between samples; reads a few small files each time. Never touches the
 * store. */
#include "../base/common.h"
#include "../base/err.h"
#include "../base/timeutil.h"
#include "host.h"

#include <pthread.h>
#include <sys/statvfs.h>

static FILE *open_proc(const char *proc_dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", proc_dir, name);
    return fopen(path, "re");
}

static int read_cpu(const char *proc_dir, uint64_t *busy, uint64_t *total)
{
    FILE *f = open_proc(proc_dir, "stat");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return -1;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* less idle and iowait */
    return 0;
}

static double read_memory(const char *proc_dir)
{
    FILE *f = open_proc(proc_dir, "meminfo");
    if (!f)
        return -1;
    char line[256];
    unsigned long long total = 0, avail = 0, v;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
            avail = v;
    }
    fclose(f);
    return total ? 100.0 * (double)(total - avail) / (double)total : -1;
}

static double read_load(const char *proc_dir)
{
    FILE *f = open_proc(proc_dir, "loadavg");
    if (!f)
        return -1;
    double l = -1;
    if (fscanf(f, "%lf", &l) != 1)
        l = -1;
    fclose(f);
    return l;
}

int host_sample_read(const char *proc_dir, const char *const *paths, size_t n_paths, struct host_counters *c,
                     struct host_sample *out, struct yj_err *err)
{
    memset(out, 0, sizeof(*out));
    int64_t now = yj_now_ms();
    out->at = now;
    uint64_t busy, total;
    if (read_cpu(proc_dir, &busy, &total) < 0)
        return yj_err_set(err, YJ_EIO, "host: cannot read %s/stat", proc_dir);
    out->cpu = c->primed && total > c->cpu_total
                   ? 100.0 * (double)(busy - c->cpu_busy) / (double)(total - c->cpu_total)
                   : -1;
    c->cpu_busy = busy;
    c->cpu_total = total;
    out->memory = read_memory(proc_dir);
    out->load1 = read_load(proc_dir);
    for (size_t i = 0; i < n_paths && out->n_disks < HOST_MAX_DISKS; i++) {
        struct statvfs v;
        if (statvfs(paths[i], &v) < 0 || v.f_blocks == 0)
            continue;
        size_t k = out->n_disks++;
        snprintf(out->disks[k].path, sizeof(out->disks[k].path), "%s", paths[i]);
        /* As df: used / (used + available to users), not counting the root reserve as free. */
        double used = (double)(v.f_blocks - v.f_bfree), avail = (double)v.f_bavail;
        out->disks[k].space = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
        out->disks[k].inodes = v.f_files ? 100.0 * (double)(v.f_files - v.f_ffree) / (double)v.f_files : -1;
    }
    FILE *f = open_proc(proc_dir, "net/dev");
    if (f) {
        char line[512];
        double secs = c->primed ? (double)(now - c->at) / 1000.0 : 0;
        struct host_counters next = *c;
        next.n_nets = 0;
        while (fgets(line, sizeof(line), f) && out->n_nets < HOST_MAX_NETS) {
            char name[32];
            unsigned long long rx, tx, skip;
            if (sscanf(line, " %31[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu", name, &rx, &skip,
                       &skip, &skip, &skip, &skip, &skip, &skip, &tx) != 10 ||
                strcmp(name, "lo") == 0)
                continue;
            uint64_t bytes = rx + tx;
            size_t k = out->n_nets++;
            snprintf(out->nets[k].name, sizeof(out->nets[k].name), "%s", name);
            out->nets[k].bytes_per_s = -1;
            for (size_t j = 0; j < c->n_nets; j++)
                if (secs > 0 && strcmp(c->nets[j].name, name) == 0 && bytes >= c->nets[j].bytes)
                    out->nets[k].bytes_per_s = (double)(bytes - c->nets[j].bytes) / secs;
            snprintf(next.nets[next.n_nets].name, sizeof(next.nets[0].name), "%s", name);
            next.nets[next.n_nets++].bytes = bytes;
        }
        fclose(f);
        memcpy(c->nets, next.nets, sizeof(c->nets));
        c->n_nets = next.n_nets;
    }
    c->at = now;
    c->primed = true;
    return 0;
}

/* ---- limits over time ---- */

enum { MAX_KEYS = 2 + 2 * HOST_MAX_DISKS + HOST_MAX_NETS + 1 };

struct held {
    char key[300];
    int64_t above_since; /* 0: below */
    bool high;           /* reported as high */
};

struct host_watch {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    const char *proc_dir;
    const char *const *paths;
    size_t n_paths;
    int64_t interval_ms;
    struct host_limits limits;
    host_sample_fn on_sample;
    host_change_fn on_change;
    void *ud;
    struct held held[MAX_KEYS];
    size_t n_held;
    struct host_counters counters;
};

static struct held *held_of(struct host_watch *w, const char *key)
{
    for (size_t i = 0; i < w->n_held; i++)
        if (strcmp(w->held[i].key, key) == 0)
            return &w->held[i];
    if (w->n_held == MAX_KEYS)
        return NULL;
    struct held *h = &w->held[w->n_held++];
    *h = (struct held){0};
    snprintf(h->key, sizeof(h->key), "%s", key);
    return h;
}

/* One metric against its limit at time now: high once it has stayed above for sustained_ms,
 * normal again at the first sample below. */
static void judge(struct host_watch *w, int64_t now, const char *key, const char *metric, double value,
                  double limit, const char *unit)
{
    if (limit <= 0 || value < 0)
        return;
    struct held *h = held_of(w, key);
    if (!h)
        return;
    if (value > limit) {
        if (!h->above_since)
            h->above_since = now;
        if (!h->high && now - h->above_since >= w->limits.sustained_ms) {
            h->high = true;
            w->on_change(&(struct host_change){key, metric, true, value, limit, unit}, w->ud);
        }
    } else {
        h->above_since = 0;
        if (h->high) {
            h->high = false;
            w->on_change(&(struct host_change){key, metric, false, value, limit, unit}, w->ud);
        }
    }
}

static void judge_all(struct host_watch *w, const struct host_sample *s)
{
    const struct host_limits *l = &w->limits;
    judge(w, s->at, "cpu", "CPU 使用率", s->cpu, l->cpu, "%");
    judge(w, s->at, "memory", "内存使用率", s->memory, l->memory, "%");
    judge(w, s->at, "load", "系统负载", s->load1, l->load1, "");
    char key[300], metric[300];
    for (size_t i = 0; i < s->n_disks; i++) {
        snprintf(key, sizeof(key), "space:%s", s->disks[i].path);
        snprintf(metric, sizeof(metric), "磁盘空间 %s", s->disks[i].path);
        judge(w, s->at, key, metric, s->disks[i].space, l->space, "%");
        snprintf(key, sizeof(key), "inodes:%s", s->disks[i].path);
        snprintf(metric, sizeof(metric), "inode %s", s->disks[i].path);
        judge(w, s->at, key, metric, s->disks[i].inodes, l->inodes, "%");
    }
    for (size_t i = 0; i < s->n_nets; i++) {
        snprintf(key, sizeof(key), "network:%s", s->nets[i].name);
        snprintf(metric, sizeof(metric), "网络流量 %s", s->nets[i].name);
        judge(w, s->at, key, metric, s->nets[i].bytes_per_s, l->network, "B/s");
    }
}

static void *watch_main(void *arg)
{
    struct host_watch *w = arg;
    pthread_setname_np(pthread_self(), "yj-host");
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        pthread_mutex_unlock(&w->lock);
        struct host_sample s;
        struct yj_err err;
        if (host_sample_read(w->proc_dir, w->paths, w->n_paths, &w->counters, &s, &err) == 0) {
            judge_all(w, &s);
            if (w->on_sample)
                w->on_sample(&s, w->ud);
        }
        pthread_mutex_lock(&w->lock);
        if (w->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (w->interval_ms % 1000) * 1000000;
        ts.tv_sec += w->interval_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int host_watch_start(const char *proc_dir, const char *const *paths, size_t n_paths, int64_t interval_ms,
                     const struct host_limits *limits, host_sample_fn on_sample, host_change_fn on_change,
                     void *ud, struct host_watch **out, struct yj_err *err)
{
    struct host_counters probe = {0};
    struct host_sample s;
    if (host_sample_read(proc_dir, paths, n_paths, &probe, &s, err) < 0)
        return YJ_EIO;
    struct host_watch *w = xcalloc(1, sizeof(*w));
    w->proc_dir = proc_dir;
    w->paths = paths;
    w->n_paths = n_paths;
    w->interval_ms = interval_ms > 0 ? interval_ms : 30000;
    w->limits = *limits;
    w->on_sample = on_sample;
    w->on_change = on_change;
    w->ud = ud;
    w->counters = probe; /* the first sample in the thread already has rates */
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_create(&w->thread, NULL, watch_main, w);
    *out = w;
    return 0;
}

void host_watch_stop(struct host_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
