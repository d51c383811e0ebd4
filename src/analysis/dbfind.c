/*
 * dbfind — see dbfind.h for the rules and their sources (ANALYSIS.md: PG-wiki and PG
 * Pilot for missing indexes, Sentry's N+1 detector, the 99% OLTP cache expectation).
 */
#include "analysis/dbfind.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/pgplan.h"

struct out {
    struct finding *f;
    size_t cap, n;
};

static void fmt(char *dst, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *dst, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(dst, cap, f, ap);
    va_end(ap);
}

static struct finding *add(struct out *o, enum finding_severity sev, const char *probe,
                           const char *kind, double impact)
{
    if (o->n >= o->cap) {
        return NULL;
    }
    struct finding *f = &o->f[o->n++];
    memset(f, 0, sizeof *f);
    f->severity = sev;
    fmt(f->probe, sizeof f->probe, "%s", probe);
    fmt(f->kind, sizeof f->kind, "%s", kind);
    f->impact = impact;
    return f;
}

/* Whitespace runs to one space, for queries in one line. */
static void one_line(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    bool sp = false;
    for (; s && *s && o + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            sp = o > 0;
            continue;
        }
        if (sp && o + 2 < cap) {
            out[o++] = ' ';
        }
        sp = false;
        out[o++] = *s;
    }
    if (cap) {
        out[o] = '\0';
    }
}

int dbfind_fit(const uint32_t *calls, size_t n, uint64_t calls_total,
               const struct dbfind_http *http, size_t nhttp, double *k, double *fit)
{
    int best = -1;
    double best_fit = -1, best_k = 0;
    size_t with_reqs = 0;
    for (size_t h = 0; h < nhttp; h++) {
        with_reqs += http[h].total > 0;
    }
    for (size_t h = 0; h < nhttp; h++) {
        if (http[h].total == 0) {
            continue;
        }
        double kk, ff;
        if (calls && http[h].per_s && n > 0 && http[h].n_s > 0) {
            size_t m = n < http[h].n_s ? n : http[h].n_s;
            /* The slope is the ratio of the run's totals: exact for proportional series,
             * not thrown by a call counted one second late, nor by the two series ending
             * on different seconds (the probe samples on its own clock).  The fit over
             * the seconds both cover says how proportional they are. */
            double qq = 0;
            for (size_t i = 0; i < m; i++) {
                qq += (double)calls[i] * calls[i];
            }
            kk = (double)calls_total / (double)http[h].total;
            double res = 0;
            for (size_t i = 0; i < m; i++) {
                double e = calls[i] - kk * http[h].per_s[i];
                res += e * e;
            }
            ff = qq > 0 ? 1 - res / qq : 0;
            if (ff < 0) {
                ff = 0;
            }
        } else {
            kk = (double)calls_total / (double)http[h].total;
            ff = with_reqs == 1 ? 1 : 0;
        }
        if (ff > best_fit) {
            best_fit = ff;
            best_k = kk;
            best = (int)h;
        }
    }
    if (best >= 0) {
        *k = best_k;
        *fit = best_fit;
    }
    return best;
}

size_t dbfind_index_candidate(const char *schema, const char *table, const char *filter, char *out,
                              size_t cap)
{
    char cols[8][64];
    size_t nc = pgplan_filter_columns(filter, cols, 8);
    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    if (nc == 0) {
        return 0;
    }
    size_t len = 0;
    int w = snprintf(out, cap, "CREATE INDEX CONCURRENTLY ON %s%s%s (", schema ? schema : "",
                     schema && schema[0] ? "." : "", table);
    len = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < nc && len < cap; i++) {
        w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", cols[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len + 1 < cap) {
        out[len++] = ')';
        out[len] = '\0';
    } else {
        out[0] = '\0';
        len = 0;
    }
    return len;
}

static const struct pg_table *table_named(const struct pg_stats *st, const char *schema,
                                          const char *name)
{
    for (size_t i = 0; i < st->ntables; i++) {
        if (strcmp(st->tables[i].name, name) == 0 &&
            (!schema || !schema[0] || strcmp(st->tables[i].schema, schema) == 0)) {
            return &st->tables[i];
        }
    }
    return NULL;
}

static bool is_large(const struct pg_table *t)
{
    return t->n_live_tup >= DBFIND_LARGE_ROWS || t->size_bytes >= DBFIND_LARGE_BYTES;
}

static int cmp_sev(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    if (x->severity != y->severity) {
        return x->severity < y->severity ? 1 : -1;
    }
    return x->impact < y->impact ? 1 : x->impact > y->impact ? -1 : 0;
}

size_t dbfind_postgres(struct pg_stats *st, const struct dbfind_http *http, size_t nhttp,
                       struct finding *outf, size_t cap)
{
    struct out o = {outf, cap, 0};
    char q1[160];
    if (!st->available) {
        return 0;
    }
    uint64_t http_total = 0;
    for (size_t h = 0; h < nhttp; h++) {
        http_total += http[h].total;
    }
    bool seen_table[PG_TABLES_MAX] = {false};
    for (size_t i = 0; i < st->ntop; i++) {
        struct pg_query *q = &st->top[i];
        one_line(q->text, q1, sizeof q1);
        q->attrib.calls_per_http = http_total ? (double)q->calls / (double)http_total : -1;
        double k = 0, fit = 0;
        int h = dbfind_fit(q->per_s, q->n_s, q->calls, http, nhttp, &k, &fit);
        if (h >= 0) {
            /* Names whose requests explain the calls as well (the same rate: a login
             * before every bid) are named too: the data cannot tell them apart. */
            size_t len =
                (size_t)snprintf(q->attrib.request, sizeof q->attrib.request, "%s", http[h].name);
            for (size_t x = 0; x < nhttp && len < sizeof q->attrib.request; x++) {
                double kx = 0, fx = 0;
                if (x == (size_t)h || http[x].total == 0 ||
                    dbfind_fit(q->per_s, q->n_s, q->calls, &http[x], 1, &kx, &fx) < 0 ||
                    fx < fit - 0.01 ||
                    fabs((double)http[x].total - (double)http[h].total) >
                        0.02 * (double)http[h].total) {
                    continue;
                }
                len += (size_t)snprintf(q->attrib.request + len, sizeof q->attrib.request - len,
                                        " or %s", http[x].name);
            }
            q->attrib.calls_per_request = k;
            q->attrib.fit = fit;
            if (k >= DBFIND_NPLUS1_PER_REQUEST && q->calls >= DBFIND_NPLUS1_MIN_CALLS &&
                fit >= DBFIND_NPLUS1_MIN_FIT) {
                struct finding *f = add(&o, FINDING_WARNING, "postgres", "n_plus_one", q->share);
                if (f) {
                    fmt(f->location, sizeof f->location, "request %s: %s", http[h].name, q1);
                    fmt(f->evidence, sizeof f->evidence,
                        "%.1f calls per %s request (%llu calls for %llu requests; fit %.2f "
                        "among %zu request names), %.1f%% of database time, mean %.3f ms",
                        k, http[h].name, (unsigned long long)q->calls,
                        (unsigned long long)http[h].total, fit, nhttp, q->share * 100, q->mean_ms);
                    fmt(f->recommendation, sizeof f->recommendation,
                        "load the rows in one query per request (a JOIN, or WHERE id = ANY($1)) "
                        "instead of one query per item");
                }
            }
        }
        /* Sequential scans on a large table in a hot query's plan. */
        if (q->share < DBFIND_HOT_SHARE) {
            continue;
        }
        for (int s = 0; s < q->nscans && s < 4; s++) {
            const struct pgplan_scan *sc = &q->scans[s];
            const struct pg_table *t = table_named(st, sc->schema, sc->relation);
            if (t == NULL || !is_large(t) || sc->filter[0] == '\0') {
                continue;
            }
            seen_table[t - st->tables] = true;
            struct finding *f = add(&o, FINDING_WARNING, "postgres", "seq_scan", q->share);
            if (f == NULL) {
                break;
            }
            fmt(f->location, sizeof f->location, "table %s.%s: %s", t->schema, t->name, q1);
            fmt(f->evidence, sizeof f->evidence,
                "the plan (%s) of a query taking %.1f%% of database time (%llu calls, mean "
                "%.3f ms) scans %s sequentially (%llu live rows, %llu bytes) with Filter: %s; "
                "during the run %s had %llu sequential scans reading %llu rows and %llu index "
                "scans",
                q->plan_method, q->share * 100, (unsigned long long)q->calls, q->mean_ms, t->name,
                (unsigned long long)t->n_live_tup, (unsigned long long)t->size_bytes, sc->filter,
                t->name, (unsigned long long)t->seq_scan, (unsigned long long)t->seq_tup_read,
                (unsigned long long)t->idx_scan);
            char idx[256];
            if (dbfind_index_candidate(t->schema, t->name, sc->filter, idx, sizeof idx) > 0) {
                fmt(f->recommendation, sizeof f->recommendation,
                    "%s (a candidate: check the plan uses it, and what it costs the writes)", idx);
            } else {
                fmt(f->recommendation, sizeof f->recommendation,
                    "an index on the columns of the filter (a candidate)");
            }
        }
    }
    /* Tables scanned sequentially without a plan to show it (PG Pilot's rule). */
    for (size_t i = 0; i < st->ntables && i < PG_TABLES_MAX; i++) {
        const struct pg_table *t = &st->tables[i];
        uint64_t scans = t->seq_scan + t->idx_scan;
        if (seen_table[i] || t->seq_scan < 100 || !is_large(t) ||
            (double)t->seq_scan < 0.9 * (double)scans) {
            continue;
        }
        struct finding *f = add(&o, FINDING_WARNING, "postgres", "seq_scan_table", -1);
        if (f == NULL) {
            break;
        }
        fmt(f->location, sizeof f->location, "table %s.%s", t->schema, t->name);
        fmt(f->evidence, sizeof f->evidence,
            "%llu sequential scans during the run (%.0f%% of its scans) read %llu rows, %.0f per "
            "scan, of %llu live rows",
            (unsigned long long)t->seq_scan, 100.0 * (double)t->seq_scan / (double)scans,
            (unsigned long long)t->seq_tup_read, (double)t->seq_tup_read / (double)t->seq_scan,
            (unsigned long long)t->n_live_tup);
        fmt(f->recommendation, sizeof f->recommendation,
            "find the query filtering %s (EXPLAIN it) and index its filter columns", t->name);
    }
    uint64_t looked = st->blks_hit + st->blks_read;
    if (st->cache_hit_ratio >= 0 && looked >= 1000 && st->cache_hit_ratio < DBFIND_CACHE_HIT_MIN) {
        struct finding *f = add(&o, FINDING_WARNING, "postgres", "cache_hit", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "database %s", st->database);
            fmt(f->evidence, sizeof f->evidence,
                "buffer cache hit ratio %.2f%% during the run (%llu hits, %llu reads from disk "
                "or the OS cache); OLTP expects >= 99%%",
                st->cache_hit_ratio * 100, (unsigned long long)st->blks_hit,
                (unsigned long long)st->blks_read);
            const struct pg_query *worst = NULL;
            for (size_t i = 0; i < st->ntop; i++) {
                if (!worst || st->top[i].shared_read > worst->shared_read) {
                    worst = &st->top[i];
                }
            }
            if (worst && worst->shared_read > 0) {
                one_line(worst->text, q1, sizeof q1);
                fmt(f->recommendation, sizeof f->recommendation,
                    "the working set may not fit shared_buffers; the query reading most blocks "
                    "(%llu) is: %s",
                    (unsigned long long)worst->shared_read, q1);
            } else {
                fmt(f->recommendation, sizeof f->recommendation,
                    "the working set may not fit shared_buffers: raise it, or read less");
            }
        }
    }
    int usable = st->max_connections - st->reserved_connections;
    if (usable > 0) {
        double pct = 100.0 * st->connections_max / usable;
        if (pct >= 80) {
            struct finding *f = add(&o, pct >= 95 ? FINDING_CRITICAL : FINDING_WARNING, "postgres",
                                    "connections", -1);
            if (f) {
                fmt(f->location, sizeof f->location, "server max_connections");
                fmt(f->evidence, sizeof f->evidence,
                    "peak %u client connections of %d usable (max_connections %d - %d reserved "
                    "for superusers): %.0f%%; past it new connections fail (SQLSTATE 53300)",
                    st->connections_max, usable, st->max_connections, st->reserved_connections,
                    pct);
                fmt(f->recommendation, sizeof f->recommendation,
                    "pool connections (PgBouncer, a smaller application pool) or raise "
                    "max_connections");
            }
        }
    }
    if (st->lock_wait_samples >= 2 || st->wait_max[PG_W_LOCK] >= 2) {
        struct finding *f = add(&o, FINDING_WARNING, "postgres", "lock_waits", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "database %s", st->database);
            fmt(f->evidence, sizeof f->evidence,
                "backends waited on locks in %llu of %llu one-second samples (up to %u at once, "
                "%.2f on average)",
                (unsigned long long)st->lock_wait_samples, (unsigned long long)st->samples,
                st->wait_max[PG_W_LOCK],
                st->samples ? st->wait_sum[PG_W_LOCK] / (double)st->samples : 0);
            fmt(f->recommendation, sizeof f->recommendation,
                "look for rows many requests update at once (a hot row) and keep transactions "
                "short");
        }
    }
    if (st->deadlocks > 0) {
        struct finding *f = add(&o, FINDING_WARNING, "postgres", "deadlocks", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "database %s", st->database);
            fmt(f->evidence, sizeof f->evidence, "%llu deadlocks during the run",
                (unsigned long long)st->deadlocks);
            fmt(f->recommendation, sizeof f->recommendation,
                "take row locks in one order in every transaction");
        }
    }
    if (st->state_max[PG_ST_IDLE_TX] >= 5 && st->samples > 0 &&
        st->state_sum[PG_ST_IDLE_TX] / (double)st->samples >= 2) {
        struct finding *f = add(&o, FINDING_INFO, "postgres", "idle_in_transaction", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "database %s", st->database);
            fmt(f->evidence, sizeof f->evidence,
                "%.1f backends idle in an open transaction on average (peak %u)",
                st->state_sum[PG_ST_IDLE_TX] / (double)st->samples, st->state_max[PG_ST_IDLE_TX]);
            fmt(f->recommendation, sizeof f->recommendation,
                "the application holds transactions open while doing other work");
        }
    }
    if (st->temp_files > 0) {
        struct finding *f = add(&o, FINDING_INFO, "postgres", "temp_files", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "database %s", st->database);
            fmt(f->evidence, sizeof f->evidence, "%llu temporary files (%llu bytes) written",
                (unsigned long long)st->temp_files, (unsigned long long)st->temp_bytes);
            fmt(f->recommendation, sizeof f->recommendation,
                "sorts or hashes spill past work_mem: raise it for those queries");
        }
    }
    qsort(outf, o.n, sizeof *outf, cmp_sev);
    return o.n;
}

size_t dbfind_pool(const struct pg_stats *st, const struct dbfind_load *load, struct finding *outf,
                   size_t cap)
{
    struct out o = {outf, cap, 0};
    if (!st->available || st->nrows < 3 || load->duration_s <= 0 || load->requests == 0) {
        return 0;
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < st->nrows; i++) {
        lo = st->rows[i].connections < lo ? st->rows[i].connections : lo;
        hi = st->rows[i].connections > hi ? st->rows[i].connections : hi;
    }
    double in_flight = (double)load->requests / load->duration_s * load->mean_duration_ms / 1e3;
    double busy = st->db_time_ms / (lo * load->duration_s * 1e3 + 1e-9);
    if (lo == 0 || lo != hi || in_flight < 2.0 * lo || busy >= 0.5) {
        return 0;
    }
    struct finding *f = add(&o, FINDING_WARNING, "postgres", "pool_saturation", -1);
    if (f) {
        fmt(f->location, sizeof f->location, "the application's connection pool");
        fmt(f->evidence, sizeof f->evidence,
            "the application held exactly %u connection%s in every one of %zu samples while "
            "%.1f requests were in flight on average (%.1f req/s x %.2f ms); the database "
            "executed on them only %.0f%% of the time (%.1f ms of %.1f s)",
            lo, lo == 1 ? "" : "s", st->nrows, in_flight, (double)load->requests / load->duration_s,
            load->mean_duration_ms, busy * 100, st->db_time_ms, load->duration_s);
        fmt(f->recommendation, sizeof f->recommendation,
            "requests wait for a pooled connection, not for the database: a larger pool "
            "(or shorter holds) is the candidate");
    }
    return o.n;
}

size_t dbfind_redis(const struct redis_stats *st, struct finding *outf, size_t cap)
{
    struct out o = {outf, cap, 0};
    if (!st->available) {
        return 0;
    }
    uint64_t looked = st->hits + st->misses;
    if (st->hit_rate >= 0 && looked >= 100 && st->hit_rate < DBFIND_REDIS_HIT_MIN) {
        struct finding *f = add(&o, FINDING_WARNING, "redis", "hit_rate", 1 - st->hit_rate);
        if (f) {
            fmt(f->location, sizeof f->location, "%s", st->url_shown);
            fmt(f->evidence, sizeof f->evidence,
                "keyspace hit rate %.1f%% during the run (%llu hits, %llu misses); a cache is "
                "expected to hit >= 90%%",
                st->hit_rate * 100, (unsigned long long)st->hits, (unsigned long long)st->misses);
            fmt(f->recommendation, sizeof f->recommendation,
                "check what is cached (keys set after a miss?), the TTLs (%llu keys expired), "
                "and evictions (%llu)",
                (unsigned long long)st->expired, (unsigned long long)st->evicted);
        }
    }
    if (st->evicted > 0) {
        double share = st->ops ? (double)st->evicted / (double)st->ops : 0;
        struct finding *f = add(&o, share >= 0.01 ? FINDING_CRITICAL : FINDING_WARNING, "redis",
                                "evictions", share);
        if (f) {
            fmt(f->location, sizeof f->location, "%s", st->url_shown);
            fmt(f->evidence, sizeof f->evidence,
                "%llu keys evicted under load (used memory up to %llu of maxmemory %llu bytes, "
                "policy %s)",
                (unsigned long long)st->evicted, (unsigned long long)st->used_memory_max,
                (unsigned long long)st->maxmemory, st->maxmemory_policy);
            fmt(f->recommendation, sizeof f->recommendation,
                "raise maxmemory, shorten TTLs, or cache less per key");
        }
    }
    if (st->maxmemory > 0 && (double)st->used_memory_max >= 0.9 * (double)st->maxmemory &&
        st->evicted == 0) {
        struct finding *f = add(&o, FINDING_WARNING, "redis", "memory", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "%s", st->url_shown);
            fmt(f->evidence, sizeof f->evidence,
                "used memory reached %.0f%% of maxmemory (%llu bytes)",
                100.0 * (double)st->used_memory_max / (double)st->maxmemory,
                (unsigned long long)st->maxmemory);
            fmt(f->recommendation, sizeof f->recommendation, "evictions or OOM errors come next");
        }
    }
    if (st->rejected_connections > 0) {
        struct finding *f = add(&o, FINDING_CRITICAL, "redis", "rejected_connections", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "%s", st->url_shown);
            fmt(f->evidence, sizeof f->evidence,
                "%llu connections rejected (maxclients %llu, peak %llu connected)",
                (unsigned long long)st->rejected_connections, (unsigned long long)st->maxclients,
                (unsigned long long)st->connected_max);
            fmt(f->recommendation, sizeof f->recommendation,
                "pool the application's connections or raise maxclients");
        }
    }
    if (st->slow_added > 0 && st->nslow > 0) {
        const struct redis_slow *worst = &st->slow[0];
        for (size_t i = 1; i < st->nslow; i++) {
            if (st->slow[i].duration_us > worst->duration_us) {
                worst = &st->slow[i];
            }
        }
        struct finding *f = add(&o, FINDING_WARNING, "redis", "slowlog", -1);
        if (f) {
            fmt(f->location, sizeof f->location, "%s", worst->argv);
            fmt(f->evidence, sizeof f->evidence,
                "%llu SLOWLOG entries added during the run (slower than %lld µs); the slowest "
                "took %lld µs",
                (unsigned long long)st->slow_added, (long long)st->slowlog_slower_than_us,
                (long long)worst->duration_us);
            fmt(f->recommendation, sizeof f->recommendation,
                "Redis runs one command at a time: a slow one delays every client; avoid O(N) "
                "commands (KEYS, large ranges) on the request path");
        }
    }
    for (size_t i = 0; i < st->ncmds; i++) {
        const struct redis_cmd *c = &st->cmds[i];
        double per = c->calls ? (double)c->usec / (double)c->calls : 0;
        if (c->calls >= 10 && per >= 1000) {
            struct finding *f = add(&o, FINDING_WARNING, "redis", "slow_command", -1);
            if (f) {
                fmt(f->location, sizeof f->location, "command %s", c->name);
                fmt(f->evidence, sizeof f->evidence, "%.0f µs per call over %llu calls", per,
                    (unsigned long long)c->calls);
                fmt(f->recommendation, sizeof f->recommendation,
                    "make the command's work smaller (fewer keys or elements per call)");
            }
        }
    }
    qsort(outf, o.n, sizeof *outf, cmp_sev);
    return o.n;
}
