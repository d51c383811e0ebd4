/*
 * dbfind — the findings rules for the database and the cache: known pathologies seen in
 * what the PostgreSQL and Redis probes measured over the run, each with its evidence
 * (the numbers, the query or command, the table) and, where one exists, a candidate fix
 * stated as a candidate.
 *
 * The rules and their thresholds (documented in docs/metrics.md, "Findings"):
 *   PostgreSQL
 *   - seq_scan: a hot query (>= DBFIND_HOT_SHARE of database time) whose plan has a Seq
 *     Scan with a Filter on a large table (>= DBFIND_LARGE_ROWS live rows or
 *     >= DBFIND_LARGE_BYTES); the candidate is CREATE INDEX CONCURRENTLY on the filter's
 *     columns.  Without a plan, a table that was >= 90% sequentially scanned at least
 *     100 times and is large (PG Pilot's rule) gives seq_scan_table.
 *   - n_plus_one: a query run >= DBFIND_NPLUS1_PER_REQUEST times per request of one
 *     request name, the name whose requests per second best explain the query's calls
 *     per second (slope = ratio of the sums; fit = 1 - residual / total; names that
 *     fit as well with as many requests are all named, "login or bid"), with
 *     >= DBFIND_NPLUS1_MIN_CALLS calls in the run.
 *   - cache_hit: buffer cache hit ratio below 99% over >= 1000 block accesses.
 *   - connections: peak client connections >= 80% of the usable max_connections
 *     (max_connections - superuser_reserved_connections); critical from 95%.
 *   - lock_waits: backends waiting on heavyweight locks in >= 2 samples; deadlocks.
 *   - idle_in_transaction, temp_files: informational.
 *   - pool_saturation (dbfind_pool): a constant N connections, >= 2N requests in
 *     flight, the database mostly idle on them.
 *   Redis
 *   - hit_rate: keyspace hit rate below 90% over >= 100 lookups.
 *   - evictions: keys evicted during the run; rejected_connections; memory >= 90% of
 *     maxmemory; slowlog (entries added) and slow_command (>= 1 ms per call).
 *
 * No I/O, no allocation; any thread.  The probes' figures come in; findings go out
 * (the caller hands them back to the probe for its summary and result member).
 */
#ifndef BRUNT_ANALYSIS_DBFIND_H
#define BRUNT_ANALYSIS_DBFIND_H

#include <stddef.h>
#include <stdint.h>

#include "probe/pg.h"
#include "probe/probe.h"
#include "probe/redis.h"

#define DBFIND_HOT_SHARE 0.05
#define DBFIND_LARGE_ROWS 10000
#define DBFIND_LARGE_BYTES (8u << 20)
#define DBFIND_NPLUS1_PER_REQUEST 5.0
#define DBFIND_NPLUS1_MIN_CALLS 50
#define DBFIND_NPLUS1_MIN_FIT 0.6
#define DBFIND_CACHE_HIT_MIN 0.99
#define DBFIND_REDIS_HIT_MIN 0.90

/* One request name's HTTP requests: per second of the run (index = second), and total. */
struct dbfind_http {
    const char *name;
    const double *per_s; /* may be NULL: only the total is known */
    size_t n_s;
    uint64_t total;
};

/*
 * Fits calls[0..n) (a query's calls per second) against each request name's requests
 * per second and returns the index of the name that explains them best, or -1 when no
 * name has requests.  *k gets the calls per request of that name (the ratio of the sums
 * over the seconds both series cover), *fit the quality
 * (1 - sum of squared residuals / sum of squared calls, 0..1).  With calls NULL or no
 * per-second series, the totals are used (k = calls_total / requests; fit 1 with one
 * name, 0 with several).
 */
int dbfind_fit(const uint32_t *calls, size_t n, uint64_t calls_total,
               const struct dbfind_http *http, size_t nhttp, double *k, double *fit);

/*
 * The candidate index for a filter on schema.table: "CREATE INDEX CONCURRENTLY ON
 * public.bids (auction_id)" into out (cap).  Returns its length, or 0 (out = "") when
 * the filter names no column.
 */
size_t dbfind_index_candidate(const char *schema, const char *table, const char *filter, char *out,
                              size_t cap);

/*
 * Applies the PostgreSQL rules to st, first filling each top query's attrib (best
 * request name, calls per request, calls per HTTP request) from http (may be NULL when
 * nhttp is 0).  Writes up to cap findings, most severe first.  Returns how many.
 */
size_t dbfind_postgres(struct pg_stats *st, const struct dbfind_http *http, size_t nhttp,
                       struct finding *out, size_t cap);

/* The load as the HTTP side saw it, for the pool rule. */
struct dbfind_load {
    uint64_t requests;       /* HTTP requests in the run */
    double duration_s;       /* the load's duration */
    double mean_duration_ms; /* mean http_req_duration */
};

/*
 * pool_saturation: the application's connections to PostgreSQL stayed at one constant
 * N in every sample (>= 3 samples) while, by Little's law (requests/s x mean duration),
 * at least 2N requests were in flight on average, and the database spent less than
 * half of those N connections' time executing: requests wait for the pool, not for the
 * database (ANALYSIS.md, "Pool saturation").  Appends up to cap findings; returns how
 * many.
 */
size_t dbfind_pool(const struct pg_stats *st, const struct dbfind_load *load, struct finding *out,
                   size_t cap);

/* Applies the Redis rules to st.  Returns how many findings were written. */
size_t dbfind_redis(const struct redis_stats *st, struct finding *out, size_t cap);

#endif
