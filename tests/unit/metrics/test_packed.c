/*
 * metrics/packed: the compact layout (index/lowest inverse, 1/64 bucket width, the length
 * constant), packing a second of a registry and decoding it back (counters, rates,
 * trends; series named by their index in the totals), exact merging of the coarsened
 * histograms, and refusal of damaged bytes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/packed.h"

Test(packed, index_and_lowest_are_inverse_and_buckets_are_narrow)
{
    cr_assert_eq(packed_index(HIST_HIGHEST_NS) + 1, PACKED_HIST_LEN, "length constant: %u vs %u",
                 packed_index(HIST_HIGHEST_NS) + 1, PACKED_HIST_LEN);
    uint32_t prev = 0;
    for (uint64_t v = 1; v < HIST_HIGHEST_NS; v += v / 37 + 1) {
        uint32_t i = packed_index(v);
        uint64_t width;
        uint64_t low = packed_lowest(i, &width);
        cr_assert(low <= v && v < low + width, "v=%lu in [%lu, +%lu)", v, low, width);
        cr_assert(v < 128 || (double)width <= (double)low / 64.0 + 1e-9, "width %lu of %lu", width,
                  low);
        cr_assert(i >= prev, "monotonic");
        cr_assert_eq(packed_index(low), i);
        prev = i;
    }
    cr_assert_eq(packed_index(HIST_HIGHEST_NS * 2), packed_index(HIST_HIGHEST_NS), "clamped");
}

Test(packed, varints_round_trip_and_refuse_truncation)
{
    uint8_t buf[16];
    const uint64_t vals[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX};
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        size_t off = 0, roff = 0;
        uint64_t v;
        cr_assert(packed_put_varint(buf, sizeof buf, &off, vals[k]));
        cr_assert(packed_get_varint(buf, off, &roff, &v));
        cr_assert_eq(v, vals[k]);
        cr_assert_eq(roff, off);
        roff = 0;
        cr_assert(off < 2 || !packed_get_varint(buf, off - 1, &roff, &v), "truncated");
    }
}

static struct series *get(struct registry *r, int metric, const char *tags)
{
    int i = registry_get(r, metric, tags);
    cr_assert(i >= 0);
    return registry_at(r, i);
}

Test(packed, a_second_packs_and_decodes_by_total_index)
{
    struct registry *total = registry_new(), *sec = registry_new();
    /* total holds an extra series first, so indices differ from the second's */
    get(total, M_ITERATIONS, "scenario=x");
    const char *tags = "name=a\x1fstatus=200";
    series_add(get(sec, M_HTTP_REQS, tags), 1);
    series_add(get(sec, M_HTTP_REQS, tags), 1);
    series_rate(get(sec, M_HTTP_REQ_FAILED, tags), true);
    series_rate(get(sec, M_HTTP_REQ_FAILED, tags), false);
    struct series *d = get(sec, M_HTTP_REQ_DURATION, tags);
    struct hist *exact = hist_new();
    for (uint64_t v = 1000000; v < 5000000; v += 7919) {
        series_trend_ns(d, v);
        hist_record(exact, v);
    }
    series_trend_ns(get(sec, M_HTTP_REQ_BLOCKED, tags), 5); /* not kept */
    get(sec, M_DROPPED_ITERATIONS, tags);                   /* no samples: left out */
    cr_assert_eq(registry_merge(total, sec), 0);

    uint8_t *p;
    size_t len, off = 0;
    cr_assert_eq(packed_second(sec, total, &p, &len), 0);
    cr_assert(p != NULL && len > 0);
    struct packed_rec rec;
    int seen = 0;
    while (packed_next(p, len, &off, &rec) == 1) {
        const struct series *s = registry_at_const(total, (int)rec.series);
        cr_assert_str_eq(s->tags, tags);
        if (s->metric == M_HTTP_REQS) {
            cr_assert_eq(rec.type, METRIC_COUNTER);
            cr_assert_float_eq(rec.sum, 2.0, 1e-12);
            seen |= 1;
        } else if (s->metric == M_HTTP_REQ_FAILED) {
            cr_assert_eq(rec.trues, 1);
            cr_assert_eq(rec.total, 2);
            seen |= 2;
        } else if (s->metric == M_HTTP_REQ_DURATION) {
            cr_assert_eq(rec.count, hist_count(exact));
            cr_assert_eq(rec.min_ns, hist_min_ns(exact));
            cr_assert_eq(rec.max_ns, hist_max_ns(exact));
            cr_assert_float_eq(rec.sum_ns, hist_sum_ns(exact), 1.0);
            /* buckets: ascending, counts add up, each matches the exact histogram */
            struct packed_bucket_it it;
            uint32_t idx, last = 0;
            uint64_t c, sum = 0;
            packed_buckets_begin(&it, &rec);
            while (packed_buckets_next(&it, &idx, &c)) {
                cr_assert(sum == 0 || idx > last);
                last = idx;
                sum += c;
            }
            cr_assert_eq(sum, hist_count(exact));
            seen |= 4;
        } else {
            cr_assert_fail("unexpected record for metric %d", s->metric);
        }
    }
    cr_assert_eq(seen, 7);
    cr_assert_eq(off, len);
    free(p);
    hist_free(exact);
    registry_free(sec);
    registry_free(total);
}

Test(packed, a_gauge_keeps_its_last_value_and_extremes)
{
    int g = metric_define("test_packed_gauge", METRIC_GAUGE, CONTAINS_DEFAULT, "a test gauge");
    cr_assert_geq(g, 0);
    struct registry *total = registry_new(), *sec = registry_new();
    struct series *s = get(sec, g, "");
    series_gauge(s, 7.5);
    series_gauge(s, -2);
    series_gauge(s, 3.25);
    get(sec, g, "name=unset"); /* never set that second: left out */
    cr_assert_eq(registry_merge(total, sec), 0);
    uint8_t *p;
    size_t len, off = 0;
    cr_assert_eq(packed_second(sec, total, &p, &len), 0);
    struct packed_rec rec;
    cr_assert_eq(packed_next(p, len, &off, &rec), 1);
    cr_assert_eq(rec.type, METRIC_GAUGE);
    cr_assert_float_eq(rec.sum, 3.25, 1e-12);
    cr_assert_float_eq(rec.gmin, -2, 1e-12);
    cr_assert_float_eq(rec.gmax, 7.5, 1e-12);
    cr_assert_eq(rec.total, 3);
    cr_assert_eq(packed_next(p, len, &off, &rec), 0, "one record only");
    /* truncated: refused, never read past the end */
    size_t o2 = 0;
    cr_assert_eq(packed_next(p, len - 1, &o2, &rec), -EINVAL);
    free(p);
    registry_free(sec);
    registry_free(total);
}

/* Coarsening is exact per bucket: packing two seconds and adding their compact counts
 * gives the compact counts of one second that saw both. */
Test(packed, coarse_histograms_merge_exactly)
{
    struct registry *total = registry_new(), *a = registry_new(), *b = registry_new(),
                    *both = registry_new();
    uint64_t s = 88172645463325252ull;
    for (int k = 0; k < 20000; k++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t v = 1000 + s % 400000000;
        series_trend_ns(get(k % 2 ? a : b, M_HTTP_REQ_DURATION, ""), v);
        series_trend_ns(get(both, M_HTTP_REQ_DURATION, ""), v);
    }
    cr_assert_eq(registry_merge(total, both), 0);
    uint64_t *ca = calloc(PACKED_HIST_LEN, sizeof *ca), *cb = calloc(PACKED_HIST_LEN, sizeof *cb);
    struct registry *regs[3] = {a, b, both};
    for (int r = 0; r < 3; r++) {
        uint8_t *p;
        size_t len, off = 0;
        struct packed_rec rec;
        cr_assert_eq(packed_second(regs[r], total, &p, &len), 0);
        cr_assert_eq(packed_next(p, len, &off, &rec), 1);
        struct packed_bucket_it it;
        uint32_t idx;
        uint64_t c;
        packed_buckets_begin(&it, &rec);
        while (packed_buckets_next(&it, &idx, &c)) {
            cr_assert(idx < PACKED_HIST_LEN);
            (r < 2 ? ca : cb)[idx] += c;
        }
        free(p);
    }
    cr_assert_eq(memcmp(ca, cb, PACKED_HIST_LEN * sizeof *ca), 0, "merged counts differ");
    free(ca);
    free(cb);
    registry_free(a);
    registry_free(b);
    registry_free(both);
    registry_free(total);
}

Test(packed, damaged_bytes_are_refused_without_overrun)
{
    struct registry *total = registry_new(), *sec = registry_new();
    for (uint64_t v = 1000; v < 900000; v += 1234) {
        series_trend_ns(get(sec, M_HTTP_REQ_DURATION, "name=x"), v);
    }
    cr_assert_eq(registry_merge(total, sec), 0);
    uint8_t *p;
    size_t len;
    cr_assert_eq(packed_second(sec, total, &p, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, p, cut);
        size_t off = 0;
        struct packed_rec rec;
        int rc = packed_next(copy, cut, &off, &rec);
        cr_assert(cut == 0 ? rc == 0 : rc == -EINVAL, "cut %zu: rc %d", cut, rc);
        free(copy);
    }
    p[1] = 9; /* not a metric type */
    size_t off = 0;
    struct packed_rec rec;
    cr_assert_eq(packed_next(p, len, &off, &rec), -EINVAL);
    free(p);
    registry_free(sec);
    registry_free(total);
}
