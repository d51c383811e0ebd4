/*
 * redisout — the Redis probe's output: its section of the end-of-test summary and its
 * member of the result file (probes.redis, docs/result-format.md).  See
 * redis_internal.h.
 */
#include "probe/redis_internal.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/clock.h"
#include "probe/dbutil.h"
#include "probe/redisinfo.h"

static double hist_pct_us(const struct redis_cmd *c, double q)
{
    if (c->hist_calls == 0) {
        return -1;
    }
    uint64_t want = (uint64_t)ceil(q * (double)c->hist_calls), seen = 0;
    for (int b = 0; b < REDIS_HIST_BUCKETS; b++) {
        seen += c->hist[b];
        if (seen >= want && seen > 0) {
            return (double)(1ULL << b);
        }
    }
    return (double)(1ULL << (REDIS_HIST_BUCKETS - 1));
}

void redis__summary(void *self, FILE *f, bool color)
{
    struct rprobe *p = self;
    const struct redis_stats *s = &p->st;
    char buf[512], a[64], b[64];
    if (!dbutil_summary_head(f, "redis", s->url_shown, s->version, s->available, s->error)) {
        return;
    }
    double d = s->duration_s > 0 ? s->duration_s : 1;
    dbutil_fmt(buf, sizeof buf, "%llu (%.1f/s, peak %.0f/s)", (unsigned long long)s->ops,
               (double)s->ops / d, s->ops_per_s_max);
    dbutil_row(f, color, 4, "ops", buf);
    if (s->hit_rate >= 0) {
        dbutil_fmt(buf, sizeof buf, "%.2f%% (%llu hits, %llu misses)", s->hit_rate * 100,
                   (unsigned long long)s->hits, (unsigned long long)s->misses);
    } else {
        dbutil_fmt(buf, sizeof buf, "no key lookups");
    }
    dbutil_row(f, color, 4, "hit rate", buf);
    dbutil_fmt_bytes((double)s->used_memory, a, sizeof a);
    if (s->maxmemory) {
        dbutil_fmt_bytes((double)s->maxmemory, b, sizeof b);
        dbutil_fmt(buf, sizeof buf, "%s of %s maxmemory (%s), fragmentation %.2f", a, b,
                   s->maxmemory_policy, s->fragmentation);
    } else {
        dbutil_fmt(buf, sizeof buf, "%s (no maxmemory), fragmentation %.2f", a, s->fragmentation);
    }
    dbutil_row(f, color, 4, "memory", buf);
    dbutil_fmt(buf, sizeof buf, "%llu evicted, %llu expired", (unsigned long long)s->evicted,
               (unsigned long long)s->expired);
    dbutil_row(f, color, 4, "keys", buf);
    dbutil_fmt(buf, sizeof buf, "%llu connected (peak %llu), peak %llu blocked, %llu rejected",
               (unsigned long long)s->connected_clients, (unsigned long long)s->connected_max,
               (unsigned long long)s->blocked_max, (unsigned long long)s->rejected_connections);
    dbutil_row(f, color, 4, "clients", buf);
    if (s->ncmds > 0) {
        fprintf(f, "    top commands           calls     µs/call   server p50   p99\n");
        for (size_t i = 0; i < s->ncmds && i < 5; i++) {
            const struct redis_cmd *c = &s->cmds[i];
            double p50 = hist_pct_us(c, 0.5), p99 = hist_pct_us(c, 0.99);
            char q50[24] = "-", q99[24] = "-";
            if (p50 >= 0) {
                dbutil_fmt(q50, sizeof q50, "<=%.0fµs", p50);
                dbutil_fmt(q99, sizeof q99, "<=%.0fµs", p99);
            }
            fprintf(f, "      %-18s %9llu %11.2f %12s %6s\n", c->name, (unsigned long long)c->calls,
                    c->calls ? (double)c->usec / (double)c->calls : 0, q50, q99);
        }
    }
    if (s->slow_added > 0) {
        dbutil_fmt(buf, sizeof buf, "%llu entries added (slower than %lld µs), slowest: %s",
                   (unsigned long long)s->slow_added, (long long)s->slowlog_slower_than_us,
                   s->nslow ? s->slow[0].argv : "?");
        dbutil_row(f, color, 4, "slowlog", buf);
    }
    if (s->error[0]) {
        fprintf(f, "    note: %s\n", s->error);
    }
    dbutil_print_findings(f, color, p->findings, p->nfindings);
}

/* One row of the "series" member (dbutil_series_json). */
static double series_row(const void *rows, size_t i, uint64_t *v)
{
    const struct redis_row *r = (const struct redis_row *)rows + i;
    const uint64_t row[] = {0,          r->ops,         r->hits,      r->misses, r->evicted,
                            r->expired, r->used_memory, r->connected, r->blocked};
    memcpy(v, row, sizeof row);
    return r->t_s;
}

int redis__to_json(void *self, struct jsonw *w)
{
    struct rprobe *p = self;
    const struct redis_stats *s = &p->st;
    double d = s->duration_s > 0 ? s->duration_s : 1;
    jsonw_obj_begin(w);
    jsonw_key(w, "url");
    jsonw_str(w, s->url_shown);
    dbutil_json_status(w, s->available, s->error);
    if (s->available) {
        jsonw_key(w, "version");
        jsonw_str(w, s->version);
        dbutil_json_run(w, s->duration_s, s->restarts, s->lost_samples);
        jsonw_key(w, "totals");
        jsonw_obj_begin(w);
        jsonw_key(w, "ops");
        jsonw_uint(w, s->ops);
        jsonw_key(w, "ops_per_s");
        jsonw_num(w, (double)s->ops / d);
        jsonw_key(w, "ops_per_s_max");
        jsonw_num(w, s->ops_per_s_max);
        jsonw_key(w, "keyspace_hits");
        jsonw_uint(w, s->hits);
        jsonw_key(w, "keyspace_misses");
        jsonw_uint(w, s->misses);
        jsonw_key(w, "hit_rate");
        if (s->hit_rate < 0) {
            jsonw_null(w);
        } else {
            jsonw_num(w, s->hit_rate);
        }
        jsonw_key(w, "evicted_keys");
        jsonw_uint(w, s->evicted);
        jsonw_key(w, "expired_keys");
        jsonw_uint(w, s->expired);
        jsonw_key(w, "rejected_connections");
        jsonw_uint(w, s->rejected_connections);
        jsonw_key(w, "error_replies");
        jsonw_uint(w, s->error_replies);
        jsonw_key(w, "probe_commands");
        jsonw_uint(w, s->own_commands);
        jsonw_obj_end(w);
        jsonw_key(w, "memory");
        jsonw_obj_begin(w);
        jsonw_key(w, "used_bytes");
        jsonw_uint(w, s->used_memory);
        jsonw_key(w, "used_max_bytes");
        jsonw_uint(w, s->used_memory_max);
        jsonw_key(w, "rss_bytes");
        jsonw_uint(w, s->used_memory_rss);
        jsonw_key(w, "maxmemory_bytes");
        jsonw_uint(w, s->maxmemory);
        jsonw_key(w, "maxmemory_policy");
        jsonw_str(w, s->maxmemory_policy);
        jsonw_key(w, "fragmentation_ratio");
        jsonw_num(w, s->fragmentation);
        jsonw_key(w, "fragmentation_max");
        jsonw_num(w, s->fragmentation_max);
        jsonw_obj_end(w);
        jsonw_key(w, "clients");
        jsonw_obj_begin(w);
        jsonw_key(w, "connected");
        jsonw_uint(w, s->connected_clients);
        jsonw_key(w, "connected_max");
        jsonw_uint(w, s->connected_max);
        jsonw_key(w, "blocked_max");
        jsonw_uint(w, s->blocked_max);
        jsonw_key(w, "maxclients");
        jsonw_uint(w, s->maxclients);
        jsonw_obj_end(w);
        jsonw_key(w, "commands");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->ncmds; i++) {
            const struct redis_cmd *c = &s->cmds[i];
            jsonw_obj_begin(w);
            jsonw_key(w, "command");
            jsonw_str(w, c->name);
            jsonw_key(w, "calls");
            jsonw_uint(w, c->calls);
            jsonw_key(w, "usec");
            jsonw_uint(w, c->usec);
            jsonw_key(w, "usec_per_call");
            jsonw_num(w, c->calls ? (double)c->usec / (double)c->calls : 0);
            jsonw_key(w, "rejected_calls");
            jsonw_uint(w, c->rejected_calls);
            jsonw_key(w, "failed_calls");
            jsonw_uint(w, c->failed_calls);
            jsonw_key(w, "latency_histogram");
            jsonw_obj_begin(w);
            jsonw_key(w, "calls");
            jsonw_uint(w, c->hist_calls);
            double p50 = hist_pct_us(c, 0.5), p99 = hist_pct_us(c, 0.99);
            jsonw_key(w, "p50_le_us");
            if (p50 < 0) {
                jsonw_null(w);
            } else {
                jsonw_num(w, p50);
            }
            jsonw_key(w, "p99_le_us");
            if (p99 < 0) {
                jsonw_null(w);
            } else {
                jsonw_num(w, p99);
            }
            jsonw_key(w, "buckets_le_us");
            jsonw_obj_begin(w);
            for (int b = 0; b < REDIS_HIST_BUCKETS; b++) {
                if (c->hist[b]) {
                    char k[24];
                    dbutil_fmt(k, sizeof k, "%llu", 1ULL << b);
                    jsonw_key(w, k);
                    jsonw_uint(w, c->hist[b]);
                }
            }
            jsonw_obj_end(w);
            jsonw_obj_end(w);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_key(w, "slowlog");
        jsonw_obj_begin(w);
        jsonw_key(w, "slower_than_us");
        jsonw_int(w, s->slowlog_slower_than_us);
        jsonw_key(w, "added");
        jsonw_uint(w, s->slow_added);
        jsonw_key(w, "entries");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < s->nslow; i++) {
            jsonw_obj_begin(w);
            jsonw_key(w, "id");
            jsonw_int(w, s->slow[i].id);
            jsonw_key(w, "unix_s");
            jsonw_int(w, s->slow[i].unix_s);
            jsonw_key(w, "duration_us");
            jsonw_int(w, s->slow[i].duration_us);
            jsonw_key(w, "command");
            jsonw_str(w, s->slow[i].argv);
            jsonw_key(w, "client");
            jsonw_str(w, s->slow[i].client);
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
        jsonw_obj_end(w);
        jsonw_key(w, "latency_monitor");
        jsonw_obj_begin(w);
        jsonw_key(w, "threshold_ms");
        jsonw_int(w, s->latency_monitor_ms);
        jsonw_key(w, "latest");
        jsonw_str(w, s->latency_monitor_ms > 0 ? s->latency_latest : NULL);
        jsonw_obj_end(w);
        static const char *const cols[] = {"t_s",        "ops",       "hits",
                                           "misses",     "evicted",   "expired",
                                           "used_bytes", "connected", "blocked"};
        dbutil_series_json(w, cols, sizeof cols / sizeof cols[0], s->rows, s->nrows, series_row);
    }
    dbutil_findings_json(w, p->findings, p->nfindings);
    jsonw_obj_end(w);
    return jsonw_error(w);
}
