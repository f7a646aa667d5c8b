/* host.h: the local host's resources from /proc and statvfs (issue 7; the seeds' 通信和资源使用异常):
 * CPU and memory use, disk space and inodes of chosen file systems, load, network throughput.
 * A metric above its limit for a sustained time is reported once as high, and once as normal again
 * when it falls back; the runner knows nothing of incidents. */
#ifndef YJ_HOST_H
#define YJ_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct yj_err;

#define HOST_MAX_DISKS 8
#define HOST_MAX_NETS 16

struct host_sample {
    int64_t at;
    double cpu;    /* percent busy since the last sample; -1 on the first */
    double memory; /* percent used (MemTotal − MemAvailable) */
    double load1;
    struct {
        char path[256];
        double space;  /* percent used, as df counts it */
        double inodes; /* percent used; -1 when the file system has no inode count */
    } disks[HOST_MAX_DISKS];
    size_t n_disks;
    struct {
        char name[32];
        double bytes_per_s; /* received + sent since the last sample; -1 on the first */
    } nets[HOST_MAX_NETS];
    size_t n_nets;
};

/* Counters kept between samples for the rates. */
struct host_counters {
    uint64_t cpu_busy, cpu_total;
    struct {
        char name[32];
        uint64_t bytes;
    } nets[HOST_MAX_NETS];
    size_t n_nets;
    int64_t at;
    bool primed;
};

/* Reads one sample of /proc (proc_dir, normally "/proc") and statvfs of paths[0..n_paths); rates
 * against c, which it updates. 0, or YJ_EIO when /proc cannot be read. */
int host_sample_read(const char *proc_dir, const char *const *paths, size_t n_paths, struct host_counters *c,
                     struct host_sample *out, struct yj_err *err);

struct host_limits {
    double cpu, memory, space, inodes, load1; /* percent (load: absolute); 0: not watched */
    double network;                           /* bytes/s on any interface; 0: not watched */
    int64_t sustained_ms;                     /* above the limit this long before it counts */
};

struct host_change {
    const char *key;    /* cpu, memory, load, space:/var, inodes:/var, network:eth0 */
    const char *metric; /* 中文 name, e.g. "磁盘空间 /var" */
    bool high;
    double value, limit;
    const char *unit; /* "%", "B/s", "" */
};

typedef void (*host_sample_fn)(const struct host_sample *s, void *ud);
typedef void (*host_change_fn)(const struct host_change *c, void *ud);

struct host_watch;

/* Samples every interval_ms on a thread of its own and reports each sample and each change. The
 * strings paths point to must outlive the watch. */
int host_watch_start(const char *proc_dir, const char *const *paths, size_t n_paths, int64_t interval_ms,
                     const struct host_limits *limits, host_sample_fn on_sample, host_change_fn on_change,
                     void *ud, struct host_watch **out, struct yj_err *err);
void host_watch_stop(struct host_watch *w);

#endif
