/*
 * Tests for metrics/hist: the 0.1% error bound over the whole 1 µs .. 1 h range against
 * an exact sorted-array answer, the exact side values (min, max, sum, mean), clamping,
 * exact merging, rebuilding from the bucket iteration, reset and the empty histogram.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "metrics/hist.h"

/* Deterministic generator (xorshift64*) so a failure reproduces. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* A value spread log-uniformly over [lo, hi]. */
static uint64_t rng_log_uniform(uint64_t *s, double lo, double hi)
{
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0; /* [0, 1) */
    double v = exp(log(lo) + u * (log(hi) - log(lo)));
    uint64_t x = (uint64_t)v;
    if (x < (uint64_t)lo) {
        x = (uint64_t)lo;
    }
    if (x > (uint64_t)hi) {
        x = (uint64_t)hi;
    }
    return x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank for q = ppm / 1e6, in integers: ceil(ppm * n / 1e6), at least 1. */
static uint64_t exact_quantile(const uint64_t *sorted, size_t n, uint64_t ppm)
{
    uint64_t rank = (ppm * (uint64_t)n + 999999) / 1000000;
    if (rank < 1) {
        rank = 1;
    }
    return sorted[rank - 1];
}

static void expect_same_buckets(const struct hist *a, const struct hist *b)
{
    size_t ca = 0, cb = 0;
    uint64_t va, na, vb, nb;
    size_t k = 0;
    for (;;) {
        bool ha = hist_next_bucket(a, &ca, &va, &na);
        bool hb = hist_next_bucket(b, &cb, &vb, &nb);
        cr_assert_eq(ha, hb, "bucket %zu: one histogram ended first (%d vs %d)", k, ha, hb);
        if (!ha) {
            break;
        }
        cr_assert_eq(va, vb, "bucket %zu: value %llu vs %llu", k, (unsigned long long)va,
                     (unsigned long long)vb);
        cr_assert_eq(na, nb, "bucket %zu (value %llu): count %llu vs %llu", k,
                     (unsigned long long)va, (unsigned long long)na, (unsigned long long)nb);
        k++;
    }
}

Test(hist, quantiles_within_0_1_percent_over_whole_range)
{
    enum { N = 200000 };
    uint64_t *vals = malloc(N * sizeof *vals);
    struct hist *h = hist_new();
    cr_assert(vals != NULL && h != NULL);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < N; i++) {
        vals[i] = rng_log_uniform(&seed, (double)HIST_LOWEST_NS, (double)HIST_HIGHEST_NS);
        hist_record(h, vals[i]);
    }
    qsort(vals, N, sizeof *vals, cmp_u64);
    cr_assert_eq(hist_count(h), (uint64_t)N, "count %llu vs %d", (unsigned long long)hist_count(h),
                 N);

    static const uint64_t extra_ppm[] = {1, 10, 100, 500, 999000, 999900, 999990, 999999};
    for (size_t k = 0; k < 999 + sizeof extra_ppm / sizeof extra_ppm[0]; k++) {
        uint64_t ppm = k < 999 ? (k + 1) * 1000 : extra_ppm[k - 999];
        uint64_t want = exact_quantile(vals, N, ppm);
        uint64_t got = hist_quantile_ns(h, (double)ppm / 1e6);
        double rel = fabs((double)got - (double)want) / (double)want;
        cr_assert_leq(rel, 0.001, "q=%.6f: hist %llu vs exact %llu (relative error %.6f)",
                      (double)ppm / 1e6, (unsigned long long)got, (unsigned long long)want, rel);
    }
    hist_free(h);
    free(vals);
}

Test(hist, every_value_maps_to_a_bucket_within_0_1_percent)
{
    /* Around every power of two (the bucket edges) and a spread of values between. */
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    for (unsigned p = 10; p <= 41; p++) {
        for (int d = -2; d <= 2; d++) {
            uint64_t v = (1ULL << p) + (uint64_t)(int64_t)d;
            if (v < HIST_LOWEST_NS || v > HIST_HIGHEST_NS) {
                continue;
            }
            hist_reset(h);
            hist_record(h, v);
            size_t cur = 0;
            uint64_t low, n;
            cr_assert(hist_next_bucket(h, &cur, &low, &n), "no bucket for %llu",
                      (unsigned long long)v);
            cr_assert_leq(low, v, "bucket low %llu above value %llu", (unsigned long long)low,
                          (unsigned long long)v);
            cr_assert_lt((double)(v - low), (double)v * 0.001,
                         "value %llu in bucket starting %llu: too wide", (unsigned long long)v,
                         (unsigned long long)low);
            cr_assert_eq(n, 1, "count %llu vs 1", (unsigned long long)n);
        }
    }
    hist_free(h);
}

Test(hist, values_below_2048ns_are_exact)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    for (uint64_t v = 1000; v < 2048; v++) {
        hist_record(h, v);
    }
    /* 1048 values; the median by nearest rank is the 524th: 1523. */
    uint64_t med = hist_quantile_ns(h, 0.5);
    cr_assert_eq(med, 1523, "median %llu vs 1523", (unsigned long long)med);
    uint64_t p90 = hist_quantile_ns(h, 0.9);
    /* ceil(0.9 * 1048) = 944th value = 1943 */
    cr_assert_eq(p90, 1943, "p90 %llu vs 1943", (unsigned long long)p90);
    hist_free(h);
}

Test(hist, min_max_sum_mean_are_exact)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    static const uint64_t v[] = {1234567, 1001, 987654321, 3000000, 1001, 42424242};
    double sum = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hist_record(h, v[i]);
        sum += (double)v[i];
    }
    cr_assert_eq(hist_min_ns(h), 1001, "min %llu vs 1001", (unsigned long long)hist_min_ns(h));
    cr_assert_eq(hist_max_ns(h), 987654321, "max %llu vs 987654321",
                 (unsigned long long)hist_max_ns(h));
    cr_assert_eq(hist_sum_ns(h), sum, "sum %f vs %f", hist_sum_ns(h), sum);
    cr_assert_eq(hist_mean_ns(h), sum / 6, "mean %f vs %f", hist_mean_ns(h), sum / 6);
    hist_free(h);
}

Test(hist, quantile_0_is_min_and_1_is_max)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    uint64_t seed = 7;
    uint64_t mn = UINT64_MAX, mx = 0;
    for (int i = 0; i < 5000; i++) {
        uint64_t v = rng_log_uniform(&seed, 2e6, 9e9);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        hist_record(h, v);
    }
    cr_assert_eq(hist_quantile_ns(h, 0.0), mn, "q0 %llu vs min %llu",
                 (unsigned long long)hist_quantile_ns(h, 0.0), (unsigned long long)mn);
    cr_assert_eq(hist_quantile_ns(h, 1.0), mx, "q1 %llu vs max %llu",
                 (unsigned long long)hist_quantile_ns(h, 1.0), (unsigned long long)mx);
    /* Every quantile lies within [min, max]. */
    for (int k = 1; k < 100; k++) {
        uint64_t q = hist_quantile_ns(h, k / 100.0);
        cr_assert(q >= mn && q <= mx, "p%d %llu outside [%llu, %llu]", k, (unsigned long long)q,
                  (unsigned long long)mn, (unsigned long long)mx);
    }
    hist_free(h);
}

Test(hist, quantiles_are_monotonic)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    uint64_t seed = 99;
    for (int i = 0; i < 3000; i++) {
        hist_record(h, rng_log_uniform(&seed, 1e3, 1e8));
    }
    uint64_t prev = 0;
    for (int k = 0; k <= 1000; k++) {
        uint64_t q = hist_quantile_ns(h, k / 1000.0);
        cr_assert_geq(q, prev, "q=%.3f gives %llu below previous %llu", k / 1000.0,
                      (unsigned long long)q, (unsigned long long)prev);
        prev = q;
    }
    hist_free(h);
}

Test(hist, keeps_values_below_1us_exact_and_clamps_above_1h)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    hist_record(h, 5);                   /* below 1 µs */
    hist_record(h, 2 * HIST_HIGHEST_NS); /* 2 h */
    cr_assert_eq(hist_count(h), 2, "count %llu vs 2", (unsigned long long)hist_count(h));
    /* The exact side values keep what was recorded. */
    cr_assert_eq(hist_min_ns(h), 5, "min %llu vs 5", (unsigned long long)hist_min_ns(h));
    cr_assert_eq(hist_max_ns(h), 2 * HIST_HIGHEST_NS, "max %llu vs %llu",
                 (unsigned long long)hist_max_ns(h), 2 * HIST_HIGHEST_NS);
    double want_sum = 5.0 + 2.0 * (double)HIST_HIGHEST_NS;
    cr_assert_eq(hist_sum_ns(h), want_sum, "sum %f vs %f", hist_sum_ns(h), want_sum);
    /* Below 1 µs the value keeps its own bucket; above 1 h it is clamped to 1 h. */
    size_t cur = 0;
    uint64_t v, n;
    cr_assert(hist_next_bucket(h, &cur, &v, &n));
    cr_assert_eq(v, 5, "low bucket %llu vs 5", (unsigned long long)v);
    cr_assert(hist_next_bucket(h, &cur, &v, &n));
    cr_assert(v <= HIST_HIGHEST_NS && (double)(HIST_HIGHEST_NS - v) < 0.001 * 3.6e12,
              "high bucket %llu vs %llu", (unsigned long long)v, HIST_HIGHEST_NS);
    cr_assert(!hist_next_bucket(h, &cur, &v, &n), "a third bucket appeared");
    /* Nearest rank 1 of 2 is the exact 5 ns bucket. */
    uint64_t med = hist_quantile_ns(h, 0.5);
    cr_assert_eq(med, 5, "median %llu vs 5", (unsigned long long)med);
    hist_free(h);
}

Test(hist, merge_equals_one_histogram_that_recorded_both)
{
    struct hist *a = hist_new(), *b = hist_new(), *both = hist_new();
    cr_assert(a && b && both);
    uint64_t seed = 12345;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = rng_log_uniform(&seed, 500, 5e12); /* includes clamped values */
        hist_record(i % 3 ? a : b, v);
        hist_record(both, v);
    }
    hist_merge(a, b);
    expect_same_buckets(a, both);
    cr_assert_eq(hist_count(a), hist_count(both), "count %llu vs %llu",
                 (unsigned long long)hist_count(a), (unsigned long long)hist_count(both));
    cr_assert_eq(hist_min_ns(a), hist_min_ns(both), "min %llu vs %llu",
                 (unsigned long long)hist_min_ns(a), (unsigned long long)hist_min_ns(both));
    cr_assert_eq(hist_max_ns(a), hist_max_ns(both), "max %llu vs %llu",
                 (unsigned long long)hist_max_ns(a), (unsigned long long)hist_max_ns(both));
    /* Sums are added in a different order: equal up to double rounding. */
    double rel = fabs(hist_sum_ns(a) - hist_sum_ns(both)) / hist_sum_ns(both);
    cr_assert_leq(rel, 1e-12, "sum %f vs %f", hist_sum_ns(a), hist_sum_ns(both));
    for (int k = 0; k <= 100; k++) {
        uint64_t qa = hist_quantile_ns(a, k / 100.0), qb = hist_quantile_ns(both, k / 100.0);
        cr_assert_eq(qa, qb, "p%d %llu vs %llu", k, (unsigned long long)qa, (unsigned long long)qb);
    }
    hist_free(a);
    hist_free(b);
    hist_free(both);
}

Test(hist, merge_with_empty_sides)
{
    struct hist *a = hist_new(), *empty = hist_new();
    cr_assert(a && empty);
    hist_merge(a, empty);
    cr_assert_eq(hist_count(a), 0, "count %llu vs 0", (unsigned long long)hist_count(a));
    hist_record(a, 5000);
    hist_record(a, 70000);
    hist_merge(a, empty);
    cr_assert_eq(hist_count(a), 2, "count %llu vs 2", (unsigned long long)hist_count(a));
    hist_merge(empty, a);
    expect_same_buckets(empty, a);
    cr_assert_eq(hist_min_ns(empty), 5000, "min %llu vs 5000",
                 (unsigned long long)hist_min_ns(empty));
    cr_assert_eq(hist_max_ns(empty), 70000, "max %llu vs 70000",
                 (unsigned long long)hist_max_ns(empty));
    hist_free(a);
    hist_free(empty);
}

Test(hist, rebuild_from_buckets_is_exact)
{
    struct hist *h = hist_new(), *r = hist_new();
    cr_assert(h && r);
    uint64_t seed = 4242;
    for (int i = 0; i < 10000; i++) {
        hist_record(h, rng_log_uniform(&seed, 1e3, 3.6e12));
    }
    size_t cur = 0;
    uint64_t v, n;
    while (hist_next_bucket(h, &cur, &v, &n)) {
        hist_record_n(r, v, n);
    }
    hist_set_exact(r, hist_min_ns(h), hist_max_ns(h), hist_sum_ns(h));
    expect_same_buckets(r, h);
    cr_assert_eq(hist_count(r), hist_count(h), "count %llu vs %llu",
                 (unsigned long long)hist_count(r), (unsigned long long)hist_count(h));
    cr_assert_eq(hist_mean_ns(r), hist_mean_ns(h), "mean %f vs %f", hist_mean_ns(r),
                 hist_mean_ns(h));
    for (int k = 0; k <= 1000; k++) {
        uint64_t qr = hist_quantile_ns(r, k / 1000.0), qh = hist_quantile_ns(h, k / 1000.0);
        cr_assert_eq(qr, qh, "q=%.3f %llu vs %llu", k / 1000.0, (unsigned long long)qr,
                     (unsigned long long)qh);
    }
    hist_free(h);
    hist_free(r);
}

Test(hist, reset_empties_and_can_be_reused)
{
    struct hist *h = hist_new(), *fresh = hist_new();
    cr_assert(h && fresh);
    hist_record(h, 1500);
    hist_record(h, 123456789);
    hist_record(h, 9 * HIST_HIGHEST_NS);
    hist_reset(h);
    cr_assert_eq(hist_count(h), 0, "count %llu vs 0", (unsigned long long)hist_count(h));
    cr_assert_eq(hist_sum_ns(h), 0.0, "sum %f vs 0", hist_sum_ns(h));
    size_t cur = 0;
    uint64_t v, n;
    cr_assert(!hist_next_bucket(h, &cur, &v, &n), "bucket %llu left after reset",
              (unsigned long long)v);
    hist_record(h, 2500);
    hist_record(fresh, 2500);
    expect_same_buckets(h, fresh);
    cr_assert_eq(hist_min_ns(h), 2500, "min %llu vs 2500", (unsigned long long)hist_min_ns(h));
    cr_assert_eq(hist_max_ns(h), 2500, "max %llu vs 2500", (unsigned long long)hist_max_ns(h));
    hist_free(h);
    hist_free(fresh);
}

Test(hist, empty_histogram_reports_zero)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    cr_assert_eq(hist_count(h), 0, "count %llu", (unsigned long long)hist_count(h));
    cr_assert_eq(hist_min_ns(h), 0, "min %llu", (unsigned long long)hist_min_ns(h));
    cr_assert_eq(hist_max_ns(h), 0, "max %llu", (unsigned long long)hist_max_ns(h));
    cr_assert_eq(hist_mean_ns(h), 0.0, "mean %f", hist_mean_ns(h));
    cr_assert_eq(hist_stddev_ns(h), 0.0, "stddev %f", hist_stddev_ns(h));
    cr_assert_eq(hist_quantile_ns(h, 0.0), 0, "q0 %llu",
                 (unsigned long long)hist_quantile_ns(h, 0.0));
    cr_assert_eq(hist_quantile_ns(h, 0.5), 0, "q.5 %llu",
                 (unsigned long long)hist_quantile_ns(h, 0.5));
    cr_assert_eq(hist_quantile_ns(h, 1.0), 0, "q1 %llu",
                 (unsigned long long)hist_quantile_ns(h, 1.0));
    size_t cur = 0;
    uint64_t v, n;
    cr_assert(!hist_next_bucket(h, &cur, &v, &n), "empty histogram yielded a bucket");
    hist_free(h);
    hist_free(NULL);
}

Test(hist, record_n_counts_and_zero_count_is_a_no_op)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    hist_record_n(h, 7777, 0);
    cr_assert_eq(hist_count(h), 0, "count %llu vs 0", (unsigned long long)hist_count(h));
    cr_assert_eq(hist_min_ns(h), 0, "min %llu vs 0", (unsigned long long)hist_min_ns(h));
    hist_record_n(h, 1500, 1000); /* below 2048 ns: a bucket of its own */
    hist_record_n(h, 9000, 1);
    cr_assert_eq(hist_count(h), 1001, "count %llu vs 1001", (unsigned long long)hist_count(h));
    cr_assert_eq(hist_sum_ns(h), 1509000.0, "sum %f vs 1509000", hist_sum_ns(h));
    uint64_t q = hist_quantile_ns(h, 0.999); /* rank 1000: still 1500 */
    cr_assert_eq(q, 1500, "p99.9 %llu vs 1500", (unsigned long long)q);
    q = hist_quantile_ns(h, 0.9995); /* rank 1001: the 9000 bucket */
    cr_assert_eq(q, 9000, "p99.95 %llu vs 9000", (unsigned long long)q);
    hist_free(h);
}

Test(hist, stddev_from_buckets)
{
    struct hist *h = hist_new();
    cr_assert(h != NULL);
    hist_record_n(h, 1000, 50);
    hist_record_n(h, 1800, 50); /* both exact buckets: stddev is exactly 400 */
    cr_assert_float_eq(hist_stddev_ns(h), 400.0, 1e-9, "stddev %f vs 400", hist_stddev_ns(h));
    hist_free(h);
}
