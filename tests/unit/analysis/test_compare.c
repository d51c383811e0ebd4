/*
 * analysis/compare on synthetic runs: the same distribution twice is no change; every
 * latency x1.5 is a regression whose interval holds 1.5 (critical at x2); a faster run is
 * an improvement; a noisy baseline widens the interval instead of raising an alarm; error
 * rates by the two-proportion test; different load shapes are not compared.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/compare.h"
#include "metrics/packed.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A closed-model run of `secs` seconds, `per_s` requests a second, latencies uniform in
 * [lo_ms, hi_ms] times scale (second `spike` gets 10x; second t also times slow[t] when
 * slow is not NULL), `fail_per_mille` failing. */
static struct result_doc *run_slowed(int secs, int per_s, double lo_ms, double hi_ms, double scale,
                                     int spike, int fail_per_mille, uint64_t seed,
                                     const double *slow)
{
    struct result_doc *d = calloc(1, sizeof *d);
    d->duration_ms = secs * 1000.0;
    strcpy(d->load.model, "closed");
    d->load.rate = NAN;
    d->load.connections = 10;
    d->load.max_vus = d->load.pipeline = d->load.requests = d->load.duration_ms = NAN;
    d->extras = calloc(1, sizeof *d->extras);
    d->n_series = 3;
    d->series = calloc(3, sizeof *d->series);
    const char *metrics[3] = {"http_req_duration", "http_reqs", "http_req_failed"};
    enum metric_type types[3] = {METRIC_TREND, METRIC_COUNTER, METRIC_RATE};
    for (int i = 0; i < 3; i++) {
        d->series[i].metric = strdup(metrics[i]);
        d->series[i].type = types[i];
        d->series[i].tags = strdup("name=a");
        d->series[i].name = strdup("a");
    }
    d->n_rows = (size_t)secs;
    d->rows = calloc((size_t)secs, sizeof *d->rows);
    uint64_t s = seed;
    uint32_t *counts = calloc(PACKED_HIST_LEN, sizeof *counts);
    for (int t = 0; t < secs; t++) {
        struct rr_row *row = &d->rows[t];
        row->t = (uint32_t)t;
        row->recs = calloc(3, sizeof *row->recs);
        row->n_recs = 3;
        struct rr_rec *tr = &row->recs[0];
        memset(counts, 0, PACKED_HIST_LEN * sizeof *counts);
        uint64_t fails = 0;
        for (int k = 0; k < per_s; k++) {
            double u = (double)(rng(&s) % 1000000) / 1e6;
            double ms = (lo_ms + u * (hi_ms - lo_ms)) * scale * (t == spike ? 10 : 1) *
                        (slow != NULL ? slow[t] : 1);
            uint64_t ns = (uint64_t)(ms * 1e6);
            counts[packed_index(ns)]++;
            if (tr->n == 0 || ns < tr->min_ns) {
                tr->min_ns = ns;
            }
            if (ns > tr->max_ns) {
                tr->max_ns = ns;
            }
            tr->n++;
            tr->sum_ns += (double)ns;
            fails += rng(&s) % 1000 < (uint64_t)fail_per_mille;
        }
        for (uint32_t i = 0; i < PACKED_HIST_LEN; i++) {
            tr->n_buckets += counts[i] != 0;
        }
        tr->b = calloc(tr->n_buckets, sizeof *tr->b);
        for (uint32_t i = 0, j = 0; i < PACKED_HIST_LEN; i++) {
            if (counts[i]) {
                tr->b[j++] = (struct rr_bucket){i, counts[i]};
            }
        }
        row->recs[1] = (struct rr_rec){.series = 1, .sum = per_s, .n = (uint64_t)per_s};
        row->recs[2] = (struct rr_rec){.series = 2, .trues = fails, .n = (uint64_t)per_s};
    }
    free(counts);
    return d;
}

static struct result_doc *run(int secs, int per_s, double lo_ms, double hi_ms, double scale,
                              int spike, int fail_per_mille, uint64_t seed)
{
    return run_slowed(secs, per_s, lo_ms, hi_ms, scale, spike, fail_per_mille, seed, NULL);
}

static const struct cmp_row *row_of(const struct cmp_report *r, const char *figure)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        if (strcmp(r->rows[i].figure, figure) == 0) {
            return &r->rows[i];
        }
    }
    cr_assert_fail("no row %s", figure);
    return NULL;
}

static void compare(struct result_doc *a, struct result_doc *b, struct cmp_report *rep)
{
    struct cmp_options o;
    char err[256];
    cmp_options_default(&o);
    o.resamples = 500;
    cr_assert_eq(compare_runs(a, b, &o, rep, err, sizeof err), 0, "%s", err);
}

Test(compare, same_distribution_is_no_change)
{
    struct result_doc *a = run(20, 500, 10, 20, 1, -1, 0, 1),
                      *b = run(20, 500, 10, 20, 1, -1, 0, 2);
    struct cmp_report rep;
    compare(a, b, &rep);
    cr_assert_eq(rep.worst, CMP_SAME, "worst %s", cmp_verdict_name(rep.worst));
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert(p99->lo <= 1 && p99->hi >= 1, "interval %g..%g holds 1", p99->lo, p99->hi);
    cr_assert(p99->hi - p99->lo < 0.1, "and is narrow: %g..%g", p99->lo, p99->hi);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
}

Test(compare, slower_is_regression_critical_and_faster_improved)
{
    struct result_doc *a = run(20, 500, 10, 20, 1, -1, 0, 1);
    struct result_doc *b = run(20, 500, 10, 20, 1.3, -1, 0, 2);
    struct result_doc *c = run(20, 500, 10, 20, 2, -1, 0, 3);
    struct cmp_report rep;
    compare(a, b, &rep);
    const struct cmp_row *p95 = row_of(&rep, "p95");
    cr_assert_eq(p95->verdict, CMP_REGRESSION, "x1.3: %s", cmp_verdict_name(p95->verdict));
    cr_assert(p95->lo < 1.3 && p95->hi > 1.3 - 0.02, "interval %g..%g near 1.3", p95->lo, p95->hi);
    cr_assert_float_eq(p95->change, 0.3, 0.03);
    cr_assert_eq(rep.worst, CMP_REGRESSION);
    cmp_report_destroy(&rep);
    compare(a, c, &rep);
    cr_assert_eq(rep.worst, CMP_CRITICAL);
    cmp_report_destroy(&rep);
    compare(c, a, &rep);
    cr_assert_eq(row_of(&rep, "p50")->verdict, CMP_IMPROVED);
    cr_assert_eq(rep.worst, CMP_SAME, "improvements are not alarms");
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
    result_doc_free(c);
}

Test(compare, a_spike_in_the_baseline_widens_the_interval)
{
    /* 5 seconds, one of them 10x slower: the pooled p99 of the baseline is the spike's,
     * and the new run (no spike) must not be called an improvement with confidence it
     * does not have, nor the spike a regression the other way round */
    struct result_doc *a = run(6, 500, 10, 20, 1, 3, 0, 1), *b = run(6, 500, 10, 20, 1, -1, 0, 2);
    struct cmp_report rep;
    compare(b, a, &rep);
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert_neq(p99->verdict, CMP_REGRESSION, "p99 %g..%g", p99->lo, p99->hi);
    cr_assert_neq(p99->verdict, CMP_CRITICAL, "p99 %g..%g", p99->lo, p99->hi);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
}

Test(compare, a_stalled_second_in_the_baseline_does_not_hide_a_slowdown)
{
    /* bench/compare.sh's case: 100..200 ms against 100..250 ms (p99 +25%), 15 s runs (14
     * windows), one baseline second 10x slower.  Merged, that second alone is the
     * baseline's p99; the low windows are not moved by it, and a spike-free same build
     * stays no change */
    struct result_doc *a = run(15, 650, 100, 200, 1, 7, 0, 1);
    struct result_doc *s = run(15, 650, 100, 250, 1, -1, 0, 2);
    struct result_doc *b = run(15, 650, 100, 200, 1, -1, 0, 3);
    struct cmp_report rep;
    compare(a, s, &rep);
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert(p99->windowed, "650 requests a second: the windowed rows");
    cr_assert_eq(p99->verdict, CMP_REGRESSION, "p99 %g..%g: %s", p99->lo, p99->hi,
                 cmp_verdict_name(p99->verdict));
    cr_assert_float_eq(p99->change, 0.25, 0.02);
    cmp_report_destroy(&rep);
    compare(a, b, &rep);
    cr_assert_eq(rep.worst, CMP_SAME, "same build: %s", cmp_verdict_name(rep.worst));
    cmp_report_destroy(&rep);
    compare(b, a, &rep);
    cr_assert_neq(row_of(&rep, "p99")->verdict, CMP_REGRESSION);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(s);
    result_doc_free(b);
}

static void compare_q(struct result_doc *a, struct result_doc *b, double q, struct cmp_report *rep)
{
    struct cmp_options o;
    char err[256];
    cmp_options_default(&o);
    o.resamples = 500;
    o.window_q = q;
    cr_assert_eq(compare_runs(a, b, &o, rep, err, sizeof err), 0, "%s", err);
}

Test(compare, a_baseline_slowed_in_half_its_seconds_does_not_hide_a_slowdown)
{
    /* What bench/compare.sh saw on a loaded machine: the baseline's p99 30% high in 7 of
     * its 14 windows (the machine's interference only ever adds latency).  Its median
     * window is a slowed one, so the median cannot tell the real +25% from noise; the low
     * windows (CMP_WINDOW_Q) are clean seconds, and catch it. */
    double slow[15];
    for (int t = 0; t < 15; t++) {
        slow[t] = t % 2 == 1 ? 1.3 : 1; /* windows 1..14: the odd seconds, 7 of 14 */
    }
    struct result_doc *a = run_slowed(15, 650, 100, 200, 1, -1, 0, 1, slow);
    struct result_doc *s = run(15, 650, 100, 250, 1, -1, 0, 2);
    struct cmp_report rep;
    compare_q(a, s, 0.5, &rep);
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert_eq(p99->verdict, CMP_SAME, "the median window: p99 %g..%g", p99->lo, p99->hi);
    cmp_report_destroy(&rep);
    compare_q(a, s, CMP_WINDOW_Q, &rep);
    p99 = row_of(&rep, "p99");
    cr_assert(p99->windowed);
    cr_assert_eq(p99->verdict, CMP_REGRESSION, "the low windows: p99 %g..%g: %s", p99->lo, p99->hi,
                 cmp_verdict_name(p99->verdict));
    cr_assert_float_eq(p99->change, 0.25, 0.02);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(s);
}

Test(compare, a_new_run_slowed_in_most_seconds_is_no_false_alarm)
{
    /* The same build, the new run 30% slow in 10 of its 14 windows: its low windows are
     * still clean seconds, so no regression.  The limit: with about 90% of the seconds
     * slowed, the low windows move too (docs/compare.md). */
    double slow[15];
    for (int t = 0; t < 15; t++) {
        slow[t] = t >= 1 && t <= 10 ? 1.3 : 1;
    }
    struct result_doc *a = run(15, 650, 100, 200, 1, -1, 0, 1);
    struct result_doc *b = run_slowed(15, 650, 100, 200, 1, -1, 0, 2, slow);
    struct cmp_report rep;
    compare_q(a, b, CMP_WINDOW_Q, &rep);
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert_neq(p99->verdict, CMP_REGRESSION, "p99 %g..%g", p99->lo, p99->hi);
    cr_assert_neq(p99->verdict, CMP_CRITICAL, "p99 %g..%g", p99->lo, p99->hi);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
}

Test(compare, few_requests_a_second_judge_the_merged_run)
{
    struct result_doc *a = run(20, 20, 10, 20, 1, -1, 0, 1), *b = run(20, 20, 10, 20, 2, -1, 0, 2);
    struct cmp_report rep;
    compare(a, b, &rep);
    const struct cmp_row *p99 = row_of(&rep, "p99");
    cr_assert(!p99->windowed, "20 requests a second: too few for a window's p99");
    cr_assert_eq(p99->verdict, CMP_CRITICAL, "x2: %s", cmp_verdict_name(p99->verdict));
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
}

Test(compare, error_rates_by_two_proportion_test)
{
    struct result_doc *a = run(10, 1000, 10, 20, 1, -1, 1, 1);
    struct result_doc *b = run(10, 1000, 10, 20, 1, -1, 30, 2);
    struct result_doc *c = run(10, 1000, 10, 20, 1, -1, 1, 3);
    struct cmp_report rep;
    compare(a, b, &rep);
    const struct cmp_row *e = row_of(&rep, "error rate");
    cr_assert_eq(e->verdict, CMP_CRITICAL, "0.1%% -> 3%%: %s (z %g)", cmp_verdict_name(e->verdict),
                 e->lo);
    cmp_report_destroy(&rep);
    compare(a, c, &rep);
    cr_assert_eq(row_of(&rep, "error rate")->verdict, CMP_SAME);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
    result_doc_free(c);
}

Test(compare, different_load_shapes_are_not_compared)
{
    struct result_doc *a = run(5, 100, 10, 20, 1, -1, 0, 1), *b = run(5, 100, 10, 20, 1, -1, 0, 2);
    strcpy(b->load.model, "open");
    b->load.rate = 100;
    struct cmp_report rep;
    compare(a, b, &rep);
    cr_assert(rep.incomparable);
    cr_assert_eq(rep.n_differences, 2, "model and rate");
    cr_assert(strstr(rep.differences[0], "model closed vs open") != NULL, "%s", rep.differences[0]);
    cmp_report_destroy(&rep);
    result_doc_free(a);
    result_doc_free(b);
}
