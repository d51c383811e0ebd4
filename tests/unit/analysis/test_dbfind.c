/*
 * Tests for dbfind: the N+1 fit picks the request name whose rate explains a query's
 * calls, each rule fires on the figures that show its pathology and stays quiet on
 * healthy ones, and index candidates name the filter's columns.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/dbfind.h"

Test(dbfind, fit_picks_the_explaining_request)
{
    /* "list" varies 10, 20, 5, 30 req/s; "bid" is steady 15.  The query runs 8x list. */
    double list[] = {10, 20, 5, 30}, bid[] = {15, 15, 15, 15};
    uint32_t calls[] = {80, 160, 40, 240};
    struct dbfind_http h[] = {{"bid", bid, 4, 60}, {"list", list, 4, 65}};
    double k = 0, fit = 0;
    int best = dbfind_fit(calls, 4, 520, h, 2, &k, &fit);
    cr_assert_eq(best, 1, "got %d", best);
    cr_expect_float_eq(k, 8.0, 1e-9);
    cr_expect_float_eq(fit, 1.0, 1e-9);
}

Test(dbfind, slope_from_totals_when_the_series_end_apart)
{
    /* The probe's seconds end before the last partial second of requests: the slope is
     * still the totals' ratio, 1 call a request, not 30/29. */
    double get[] = {9, 10, 10, 1};
    uint32_t calls[] = {10, 10, 10};
    struct dbfind_http h[] = {{"get", get, 4, 30}};
    double k = 0, fit = 0;
    cr_assert_eq(dbfind_fit(calls, 3, 30, h, 1, &k, &fit), 0);
    cr_expect_float_eq(k, 1.0, 1e-9);
    cr_expect_gt(fit, 0.99);
}

Test(dbfind, fit_from_totals_with_one_name)
{
    struct dbfind_http h[] = {{"get", NULL, 0, 100}};
    double k = 0, fit = 0;
    cr_assert_eq(dbfind_fit(NULL, 0, 1200, h, 1, &k, &fit), 0);
    cr_expect_float_eq(k, 12.0, 1e-9);
    cr_expect_float_eq(fit, 1.0, 0);
    struct dbfind_http none[] = {{"get", NULL, 0, 0}};
    cr_expect_eq(dbfind_fit(NULL, 0, 10, none, 1, &k, &fit), -1);
}

Test(dbfind, index_candidate)
{
    char out[256];
    cr_expect_gt(dbfind_index_candidate("public", "bids", "(auction_id = $1)", out, sizeof out), 0);
    cr_expect_str_eq(out, "CREATE INDEX CONCURRENTLY ON public.bids (auction_id)");
    dbfind_index_candidate("", "t", "((a = 1) AND (b > 2))", out, sizeof out);
    cr_expect_str_eq(out, "CREATE INDEX CONCURRENTLY ON t (a, b)");
    cr_expect_eq(dbfind_index_candidate("s", "t", "(lower(x) = 'a'::text)", out, sizeof out), 0);
    cr_expect_str_eq(out, "");
    cr_expect_eq(dbfind_index_candidate("s", "t", "(a = 1)", out, 10), 0, "too small: nothing");
}

static struct pg_stats *healthy(void)
{
    struct pg_stats *st = calloc(1, sizeof *st);
    cr_assert(st);
    st->available = true;
    snprintf(st->database, sizeof st->database, "shop");
    st->max_connections = 100;
    st->reserved_connections = 3;
    st->connections_max = 10;
    st->blks_hit = 100000;
    st->blks_read = 10;
    st->cache_hit_ratio = 100000.0 / 100010.0;
    st->samples = 10;
    return st;
}

static bool has(const struct finding *f, size_t n, const char *kind)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].kind, kind) == 0) {
            return true;
        }
    }
    return false;
}

Test(dbfind, healthy_postgres_has_no_findings)
{
    struct pg_stats *st = healthy();
    struct finding f[16];
    cr_expect_eq(dbfind_postgres(st, NULL, 0, f, 16), 0);
    free(st);
}

Test(dbfind, seq_scan_on_a_large_table_in_a_hot_query)
{
    struct pg_stats *st = healthy();
    struct pg_table t = {.relid = 1,
                         .seq_scan = 500,
                         .seq_tup_read = 10000000,
                         .n_live_tup = 20000,
                         .size_bytes = 900000};
    snprintf(t.schema, sizeof t.schema, "public");
    snprintf(t.name, sizeof t.name, "bids");
    st->tables = &t;
    st->ntables = 1;
    struct pg_query *q = &st->top[0];
    st->ntop = 1;
    snprintf(q->text, sizeof q->text, "SELECT max(amount) FROM bids WHERE auction_id = $1");
    q->calls = 500;
    q->share = 0.8;
    q->mean_ms = 2;
    q->nscans = 1;
    snprintf(q->scans[0].relation, sizeof q->scans[0].relation, "bids");
    snprintf(q->scans[0].filter, sizeof q->scans[0].filter, "(auction_id = $1)");
    snprintf(q->plan_method, sizeof q->plan_method, "generic");
    struct finding f[16];
    size_t n = dbfind_postgres(st, NULL, 0, f, 16);
    cr_assert(has(f, n, "seq_scan"));
    cr_expect(strstr(f[0].recommendation, "CREATE INDEX CONCURRENTLY ON public.bids (auction_id)"),
              "%s", f[0].recommendation);
    cr_expect(!has(f, n, "seq_scan_table"), "the table is covered by the query's finding");
    /* A small table is not a finding. */
    t.n_live_tup = 50;
    t.size_bytes = 8192;
    n = dbfind_postgres(st, NULL, 0, f, 16);
    cr_expect(!has(f, n, "seq_scan"));
    free(st);
}

Test(dbfind, n_plus_one_needs_many_calls_per_request)
{
    struct pg_stats *st = healthy();
    st->ntop = 1;
    struct pg_query *q = &st->top[0];
    snprintf(q->text, sizeof q->text, "SELECT * FROM bids WHERE auction_id = $1");
    q->calls = 1000;
    q->share = 0.5;
    struct dbfind_http h[] = {{"list", NULL, 0, 100}};
    struct finding f[16];
    size_t n = dbfind_postgres(st, h, 1, f, 16);
    cr_expect(has(f, n, "n_plus_one"));
    cr_expect_str_eq(q->attrib.request, "list");
    cr_expect_float_eq(q->attrib.calls_per_request, 10.0, 1e-9);
    cr_expect_float_eq(q->attrib.calls_per_http, 10.0, 1e-9);
    h[0].total = 1000; /* one call per request: not N+1 */
    n = dbfind_postgres(st, h, 1, f, 16);
    cr_expect(!has(f, n, "n_plus_one"));
    free(st);
}

Test(dbfind, cache_connections_locks)
{
    struct pg_stats *st = healthy();
    st->blks_hit = 9000;
    st->blks_read = 1000;
    st->cache_hit_ratio = 0.9;
    st->connections_max = 95;
    st->lock_wait_samples = 3;
    st->wait_max[PG_W_LOCK] = 4;
    struct finding f[16];
    size_t n = dbfind_postgres(st, NULL, 0, f, 16);
    cr_expect(has(f, n, "cache_hit"));
    cr_expect(has(f, n, "connections"));
    cr_expect(has(f, n, "lock_waits"));
    cr_expect_eq(f[0].severity, FINDING_CRITICAL, "95 of 97 usable connections comes first");
    free(st);
}

Test(dbfind, redis_rules)
{
    struct redis_stats *st = calloc(1, sizeof *st);
    cr_assert(st);
    st->available = true;
    st->hits = 95;
    st->misses = 5;
    st->hit_rate = 0.95;
    st->ops = 1000;
    struct finding f[16];
    cr_expect_eq(dbfind_redis(st, f, 16), 0, "a healthy cache");
    st->hits = 20;
    st->misses = 80;
    st->hit_rate = 0.2;
    st->evicted = 50;
    st->rejected_connections = 1;
    st->nslow = 1;
    st->slow_added = 1;
    st->slow[0].duration_us = 20000;
    snprintf(st->slow[0].argv, sizeof st->slow[0].argv, "KEYS *");
    size_t n = dbfind_redis(st, f, 16);
    cr_expect(has(f, n, "hit_rate"));
    cr_expect(has(f, n, "evictions"));
    cr_expect(has(f, n, "rejected_connections"));
    cr_expect(has(f, n, "slowlog"));
    free(st);
}

Test(dbfind, names_that_fit_as_well_are_all_named)
{
    /* Every iteration logs in then bids: the same rate; the query cannot be told apart. */
    double login[] = {10, 20, 30}, bid[] = {10, 20, 30};
    uint32_t calls[] = {10, 20, 30};
    struct dbfind_http h[] = {{"login", login, 3, 60}, {"bid", bid, 3, 60}};
    struct pg_stats *st = healthy();
    st->ntop = 1;
    struct pg_query *q = &st->top[0];
    snprintf(q->text, sizeof q->text, "INSERT INTO bids VALUES ($1)");
    q->calls = 60;
    q->per_s = calls;
    q->n_s = 3;
    struct finding f[16];
    dbfind_postgres(st, h, 2, f, 16);
    cr_expect_str_eq(q->attrib.request, "login or bid");
    cr_expect_float_eq(q->attrib.calls_per_request, 1.0, 1e-9);
    free(st);
}

Test(dbfind, pool_saturation)
{
    struct pg_stats *st = healthy();
    struct pg_row rows[4] = {
        {.connections = 2}, {.connections = 2}, {.connections = 2}, {.connections = 2}};
    st->rows = rows;
    st->nrows = 4;
    st->db_time_ms = 100; /* of 2 connections x 4 s: 1% busy */
    struct dbfind_load load = {.requests = 4000, .duration_s = 4, .mean_duration_ms = 8};
    struct finding f[4];
    cr_expect_eq(dbfind_pool(st, &load, f, 4), 1, "8 in flight on 2 idle connections");
    cr_expect_str_eq(f[0].kind, "pool_saturation");
    load.mean_duration_ms = 3; /* 3 in flight: < 2 x 2 */
    cr_expect_eq(dbfind_pool(st, &load, f, 4), 0);
    load.mean_duration_ms = 8;
    st->db_time_ms = 6000; /* the database is the bottleneck, not the pool */
    cr_expect_eq(dbfind_pool(st, &load, f, 4), 0);
    st->db_time_ms = 100;
    rows[2].connections = 3; /* not pinned */
    cr_expect_eq(dbfind_pool(st, &load, f, 4), 0);
    free(st);
}
