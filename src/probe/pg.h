/*
 * pg — the PostgreSQL probe: what the database did while the load ran (libpq).
 *
 * Read-only: the session sets default_transaction_read_only, a 800 ms statement_timeout
 * and a 200 ms lock_timeout, connects with application_name "brunt-probe", and marks
 * every statement it sends with the comment brunt-probe so its own statements are left
 * out of what it reports (pg_stat_statements rows whose text carries the mark, its own
 * backend in pg_stat_activity, its own transactions in pg_stat_database's commits).
 *
 *   start()   connects, reads the settings (max_connections, version, privileges),
 *             checks pg_stat_statements (when it is missing, the section says exactly
 *             how to enable it and the rest goes on), takes the "before" snapshots of
 *             pg_stat_statements, pg_stat_database and pg_stat_user_tables.
 *   sample()  once a second, three statements: pg_stat_activity (connections by state
 *             and wait-event type, lock waits, texts of active queries), pg_stat_database
 *             (commits, cache hits) and pg_stat_statements (calls per query, kept per
 *             second for up to PG_TRACK_MAX queries so calls can be set against the HTTP
 *             requests per second).
 *   stop()    settles (the cumulative views lag by >= 1 s, and by up to 10 s for a
 *             backend that went idle within a second of its last flush: it waits, at most
 *             settle_max_ns, until the figures are stable and no backend of the database
 *             went idle in the last 10.2 s, or disconnected), takes
 *             the "after" snapshots, and EXPLAINs the top queries (FORMAT JSON; ANALYZE
 *             only when asked, since it executes the query, inside a transaction that is
 *             rolled back), using a sampled real text when the normalized one has $1
 *             placeholders and a generic plan (PREPARE + force_generic_plan) otherwise.
 *
 * Every statement runs under a deadline (poll on the socket, cancel at the deadline) and
 * a lost connection is retried at most every 2 s, so sample() returns within its
 * interval and stop() within a few seconds even when the server is gone.  The DSN is
 * shown with its password replaced by "***"; libpq's messages are scrubbed of it too.
 */
#ifndef BRUNT_PROBE_PG_H
#define BRUNT_PROBE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/pgplan.h"
#include "probe/probe.h"

#define PG_TOP_MAX 10       /* top queries reported */
#define PG_TRACK_MAX 200    /* queries whose calls are kept per second */
#define PG_SECONDS_MAX 3600 /* seconds of per-second calls kept per query */
#define PG_TABLES_MAX 512   /* tables read per snapshot */
#define PG_EXPLAIN_MAX 5    /* top queries EXPLAINed after the load */
#define PG_PLAN_MAX 65536   /* bytes of one plan kept */
#define PG_SAMPLES_MAX 64   /* active query texts kept */
#define PG_ROWS_MAX 7200    /* per-second rows kept */

struct pg_probe_config {
    const char *dsn;      /* libpq URL or keyword/value string */
    bool explain_analyze; /* EXPLAIN ANALYZE the top queries (executes them) */
    /* The longest wait for the closing snapshot to settle (0: 11 s).  Backends that
     * stay connected (a pool) flush their last second of statistics up to 10 s late. */
    uint64_t settle_max_ns;
};

/* Which request explains a query's calls best (filled by analysis/dbfind). */
struct pg_attrib {
    char request[64];         /* the request name, "" when none fits */
    double calls_per_request; /* the slope of calls/s over requests/s */
    double fit;               /* 1 - residual/total (uncentred), 0..1 */
    double calls_per_http;    /* the query's calls over all HTTP requests */
};

struct pg_query {
    uint32_t userid;
    int64_t queryid;
    char text[1024];   /* normalized text, truncated */
    char sample[1024]; /* a real text seen active (literals), "" when none */
    uint64_t calls, rows, shared_hit, shared_read, temp_read, temp_written;
    double total_ms, mean_ms, share; /* share of the database's execution time */
    const uint32_t *per_s;           /* calls in each second of the run, or NULL */
    size_t n_s;
    struct pg_attrib attrib;
    /* After EXPLAIN. */
    char plan_method[16]; /* "sampled", "text", "generic", "analyze", "" */
    char *plan_json;      /* owned by the probe, NULL when none */
    char explain_error[256];
    struct pgplan_scan scans[4];
    int nscans; /* may exceed 4 */
};

struct pg_table {
    uint32_t relid;
    char schema[64], name[64];
    uint64_t seq_scan, seq_tup_read, idx_scan, idx_tup_fetch; /* deltas */
    uint64_t n_live_tup, size_bytes;                          /* at the end */
};

enum pg_state {
    PG_ST_ACTIVE,
    PG_ST_IDLE,
    PG_ST_IDLE_TX,
    PG_ST_IDLE_TX_ABORTED,
    PG_ST_OTHER,
    PG_ST_N
};
enum pg_wait {
    PG_W_NONE,
    PG_W_LOCK,
    PG_W_LWLOCK,
    PG_W_IO,
    PG_W_CLIENT,
    PG_W_IPC,
    PG_W_TIMEOUT,
    PG_W_OTHER,
    PG_W_N
};

struct pg_row {
    double t_s;
    uint32_t connections, active, idle_tx, lock_waits;
    uint64_t calls, commits, blks_hit, blks_read;
};

/* What the probe measured, for findings and tests.  Valid after stop(). */
struct pg_stats {
    bool available;
    char error[512]; /* what could not be measured and why ("" when all was) */
    char dsn_shown[512];
    char version[64];
    int version_num;
    char database[64], role[64];
    double duration_s;
    int restarts;
    uint64_t lost_samples;
    /* pg_stat_statements */
    bool pgss_available;
    bool pgss_all_visible; /* the role may read every role's texts */
    char pgss_note[512];   /* how to enable it / what is hidden, "" when all is fine */
    double db_time_ms;     /* execution time of every statement in the run */
    uint64_t calls;        /* every statement in the run */
    struct pg_query top[PG_TOP_MAX];
    size_t ntop;
    /* pg_stat_database deltas, the probe's own transactions taken out of commits */
    uint64_t xact_commit, xact_rollback, blks_read, blks_hit, deadlocks, temp_files, temp_bytes,
        conflicts, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted;
    uint64_t own_xacts;
    double cache_hit_ratio; /* -1 when no block was read or hit */
    /* tables with any scan during the run, by seq_tup_read descending */
    struct pg_table *tables;
    size_t ntables;
    /* pg_stat_activity, over the samples */
    uint64_t samples;
    int max_connections, reserved_connections;
    uint32_t connections_max; /* client backends, server-wide, probe excluded */
    double connections_used_max_pct;
    double state_sum[PG_ST_N], wait_sum[PG_W_N]; /* backends summed over samples */
    uint32_t state_max[PG_ST_N], wait_max[PG_W_N];
    uint64_t lock_wait_samples; /* samples with at least one backend waiting on a Lock */
    char samples_text[PG_SAMPLES_MAX][256];
    int64_t samples_qid[PG_SAMPLES_MAX];
    size_t nsamples_text;
    struct pg_row *rows;
    size_t nrows;
    /* the probe's own cost */
    uint64_t probe_statements;        /* from the before to the after snapshot */
    double probe_statements_per_s;    /* over that time, start and stop included */
    uint64_t probe_sample_statements; /* sent by the one-second samples */
    bool explain_analyze;
};

/* Names used in JSON and the summary. */
extern const char *const pg_state_names[PG_ST_N];
extern const char *const pg_wait_names[PG_W_N];

/*
 * Builds a PostgreSQL probe.  The DSN is checked (libpq's parser) but nothing is
 * connected.  Returns 0 and fills *out, or -EINVAL with one line in err (the DSN shown
 * with "***" for its password), or -ENOMEM.
 */
int pg_probe_new(const struct pg_probe_config *cfg, struct probe *out, char *err, size_t err_len);

/* Defines the probe's metrics (docs/metrics.md), so thresholds can name them before any
 * probe starts.  Idempotent.  Returns 0 or metric_define()'s error.  Main thread. */
int pg_probe_define_metrics(void);

/* The probe's figures (self is probe.self of a PostgreSQL probe); the findings rules
 * write each top query's attrib.  Main thread, after stop(). */
struct pg_stats *pg_probe_stats(void *self);

/* Hands the probe the findings analysis/dbfind made (copied; at most 16 kept). */
void pg_probe_set_findings(void *self, const struct finding *f, size_t n);

/* The run's start on the monotonic clock, so per-second calls line up with the engine's
 * seconds (second k covers [start + k s, start + (k+1) s)).  Default: start() time. */
void pg_probe_set_run_start(void *self, uint64_t start_ns);

#endif
