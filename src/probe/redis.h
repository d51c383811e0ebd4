/*
 * redis — the Redis probe: what the cache did while the load ran (hiredis).
 *
 * start() connects (its own client name, "brunt-probe"), authenticates when the URL
 * carries a password, and takes the "before" snapshot: INFO (server, clients, memory,
 * stats, keyspace), INFO COMMANDSTATS, LATENCY HISTOGRAM, the newest SLOWLOG id and
 * CONFIG GET latency-monitor-threshold.  sample() reads INFO and LATENCY HISTOGRAM once
 * a second and records the one-second figures as metrics (docs/metrics.md: redis_ops,
 * redis_hit_rate, redis_evicted_keys, ...).  stop() takes the "after" snapshot, the
 * SLOWLOG entries added during the run and LATENCY LATEST.
 *
 * Counters are totalled from one-second increments, so a restart of the server in the
 * middle of the run (seen as a new run_id or a counter going down) loses at most the
 * second it happened in instead of making the totals negative; what was lost is said in
 * the section.  The probe's own commands (INFO, LATENCY HISTOGRAM, ...) are counted as it
 * sends them and taken out of the operation counts and the command table.
 *
 * Every command has a 500 ms timeout and a lost connection is retried at most once every
 * 2 s, so sample() returns within its interval even when the server is gone.  The
 * password is kept only to authenticate: the URL is shown as redis://user:***@host:port/db.
 * The probe never writes to Redis (CONFIG GET, never SET).
 */
#ifndef BRUNT_PROBE_REDIS_H
#define BRUNT_PROBE_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe.h"

/* Caps: commands tracked in the tables, SLOWLOG entries kept, per-second rows kept. */
#define REDIS_CMDS_MAX 128
#define REDIS_SLOWLOG_MAX 32
#define REDIS_ROWS_MAX 7200
#define REDIS_HIST_BUCKETS 32 /* power-of-two µs buckets: <= 1 µs ... <= 2^31 µs */

/* One command's figures over the run (deltas), own commands taken out. */
struct redis_cmd {
    char name[48]; /* as Redis names it: "get", "evalsha", "client|setname" */
    uint64_t calls, usec, rejected_calls, failed_calls;
    /* LATENCY HISTOGRAM delta: calls per bucket i (<= 2^i µs). */
    uint64_t hist[REDIS_HIST_BUCKETS];
    uint64_t hist_calls;
};

struct redis_slow {
    int64_t id;
    int64_t unix_s;
    int64_t duration_us;
    char argv[160]; /* the command and its arguments, space-separated, truncated */
    char client[64];
};

/* One second as the probe saw it (after the first sample). */
struct redis_row {
    double t_s; /* seconds since start() */
    uint64_t ops, hits, misses, evicted, expired;
    uint64_t used_memory, connected, blocked;
};

/* What the probe measured, for the findings rules and tests.  Valid after stop(). */
struct redis_stats {
    bool available;      /* the before snapshot was taken */
    char error[256];     /* why something could not be measured ("" when all was) */
    char url_shown[256]; /* the URL with its password replaced by *** */
    char version[32];    /* redis_version */
    double duration_s;   /* from the before to the after snapshot */
    /* Totals over the run, own commands excluded. */
    uint64_t ops, hits, misses, evicted, expired, rejected_connections, error_replies;
    uint64_t own_commands; /* commands the probe itself sent during the run */
    double hit_rate;       /* hits / (hits + misses), or -1 when there was no lookup */
    /* Levels: at the end, and the highest seen. */
    uint64_t used_memory, used_memory_max, maxmemory, used_memory_rss;
    char maxmemory_policy[32];
    double fragmentation, fragmentation_max;
    uint64_t connected_clients, connected_max, blocked_max, maxclients;
    double ops_per_s_max;
    int restarts;          /* run_id changes seen */
    uint64_t lost_samples; /* seconds that could not be read */
    /* The command table, by usec descending. */
    struct redis_cmd cmds[REDIS_CMDS_MAX];
    size_t ncmds;
    /* SLOWLOG entries added during the run (newest first) and how many were added. */
    struct redis_slow slow[REDIS_SLOWLOG_MAX];
    size_t nslow;
    uint64_t slow_added;
    int64_t slowlog_slower_than_us; /* -1 unknown */
    /* LATENCY LATEST: "event latest_ms max_ms" rows; monitor_threshold_ms 0 = off. */
    int64_t latency_monitor_ms; /* -1 unknown */
    char latency_latest[512];
    /* Rows, one per second. */
    struct redis_row *rows;
    size_t nrows;
};

/*
 * Builds a Redis probe for url: redis://[[user]:password@]host[:port][/db] (host may
 * be [::1]; port 6379 and db 0 by default) or host:port.  Nothing is connected yet.
 * Returns 0 and fills *out, or -EINVAL with one line in err naming what is wrong in the
 * URL (the password is never quoted), or -ENOMEM.
 */
int redis_probe_new(const char *url, struct probe *out, char *err, size_t err_len);

/* Defines the probe's metrics (docs/metrics.md), so thresholds can name them before any
 * probe starts.  Idempotent.  Returns 0 or metric_define()'s error.  Main thread. */
int redis_probe_define_metrics(void);

/* The probe's figures (self is probe.self of a Redis probe).  Main thread, after stop(). */
const struct redis_stats *redis_probe_stats(const void *self);

/* Hands the probe the findings that analysis/dbfind made of its figures, for its
 * summary, to_json and findings ops (copied; at most 16 kept). */
void redis_probe_set_findings(void *self, const struct finding *f, size_t n);

#endif
