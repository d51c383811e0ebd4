/*
 * hist — a log-linear, high-dynamic-range histogram of durations (see hist.h).
 *
 * Layout (HdrHistogram's, with a unit of 1 ns and 3 significant digits): values below
 * 2048 ns each have their own counter; every power-of-two range [2^k, 2^(k+1)) above
 * that is split into 1024 linear sub-buckets of width 2^(k-10).  A bucket's width is
 * therefore at most 1/1024 of its lowest value, so reporting the bucket's midpoint is
 * within 0.05% of any value in it.  The unit must be 1 ns (not a coarser power of two)
 * for the bound to hold at the bottom of the range, 1 µs.
 *
 * Index of v (v >= 1): with b = max(0, bitlen(v) - 11) the bucket and s = v >> b the
 * sub-bucket (1024 <= s < 2048 once b > 0), index = (b << 10) + s; the inverse is
 * b = max(0, (index >> 10) - 1), s = index - (b << 10), lowest value s << b.  Values are
 * clamped to at most HIST_HIGHEST_NS first, so the highest index is that of
 * 1 h: HIST_LEN counters, about 261 KiB, allocated once.  Large allocations come from
 * fresh zeroed pages, and every pass over the counters (merge, reset, iteration,
 * quantiles) only touches [lo, hi], the range of non-empty counters, so a histogram that
 * saw only milliseconds costs a few pages of memory and a few thousand adds to merge.
 *
 * Left out: values that are not durations, negative values, auto-resizing, and
 * concurrency (one owner at a time; workers merge into the coordinator's copy).
 */
#include "metrics/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS HIST__SUB_BITS                /* 1024 sub-buckets per power of two */
#define HIST_SUB_MASK ((2ull << HIST_SUB_BITS) - 1) /* 2047 */

/* Bucket of v: 0 for v < 2048, else bitlen(v) - 11. */
static inline unsigned hist__bucket(uint64_t v)
{
    unsigned bitlen = 64u - (unsigned)__builtin_clzll(v | HIST_SUB_MASK);
    return bitlen - (HIST_SUB_BITS + 1);
}

static inline size_t hist__index(uint64_t v)
{
    unsigned b = hist__bucket(v);
    return ((size_t)b << HIST_SUB_BITS) + (size_t)(v >> b);
}

/* Lowest value of counter i, and the width of its bucket. */
static inline uint64_t hist__lowest(size_t i, uint64_t *width)
{
    size_t top = i >> HIST_SUB_BITS;
    unsigned b = top > 0 ? (unsigned)(top - 1) : 0;
    uint64_t s = (uint64_t)i - ((uint64_t)b << HIST_SUB_BITS);
    *width = 1ull << b;
    return s << b;
}

/* Number of counters: index of the highest trackable value, plus one.  Computed by hand
 * for HIST_HIGHEST_NS = 3.6e12 (bitlen 42, bucket 31, 3.6e12 >> 31 = 1676); checked at
 * run time in hist_new() against hist__index(). */
#define HIST_LEN ((31u << HIST_SUB_BITS) + 1676u + 1u)

static void hist__clear_summary(struct hist *h)
{
    h->total = 0;
    h->clamped = 0;
    h->min_ns = UINT64_MAX; /* so the inline record needs no emptiness test */
    h->max_ns = 0;
    h->sum_ns = 0;
    h->lo = HIST_LEN;
    h->hi = 0;
}

struct hist *hist_new(void)
{
    if (hist__index(HIST_HIGHEST_NS) + 1 != HIST_LEN) {
        return NULL; /* layout constants out of step: refuse rather than overrun */
    }
    struct hist *h = calloc(1, sizeof *h + HIST_LEN * sizeof h->counts[0]);
    if (h == NULL) {
        return NULL;
    }
    hist__clear_summary(h);
    return h;
}

void hist_free(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    if (h->lo <= h->hi) {
        memset(&h->counts[h->lo], 0, (h->hi - h->lo + 1) * sizeof h->counts[0]);
    }
    hist__clear_summary(h);
}

void hist_record_n(struct hist *h, uint64_t value_ns, uint64_t count)
{
    if (count == 0) {
        return;
    }
    uint64_t v = value_ns;
    /* Below 2048 ns every value has its own counter, so only the top is clamped. */
    if (v > HIST_HIGHEST_NS) {
        v = HIST_HIGHEST_NS;
        h->clamped += count;
    }
    size_t i = hist__index(v);
    h->counts[i] += count;
    if (i < h->lo) {
        h->lo = i;
    }
    if (i > h->hi) {
        h->hi = i;
    }
    if (h->total == 0 || value_ns < h->min_ns) {
        h->min_ns = value_ns;
    }
    if (h->total == 0 || value_ns > h->max_ns) {
        h->max_ns = value_ns;
    }
    h->total += count;
    h->sum_ns += (double)value_ns * (double)count;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->total == 0) {
        return;
    }
    for (size_t i = src->lo; i <= src->hi; i++) {
        dst->counts[i] += src->counts[i];
    }
    if (src->lo < dst->lo) {
        dst->lo = src->lo;
    }
    if (src->hi > dst->hi) {
        dst->hi = src->hi;
    }
    if (dst->total == 0 || src->min_ns < dst->min_ns) {
        dst->min_ns = src->min_ns;
    }
    if (dst->total == 0 || src->max_ns > dst->max_ns) {
        dst->max_ns = src->max_ns;
    }
    dst->total += src->total;
    dst->clamped += src->clamped;
    dst->sum_ns += src->sum_ns;
}

uint64_t hist_count(const struct hist *h)
{
    return h->total;
}

uint64_t hist_min_ns(const struct hist *h)
{
    return h->total ? h->min_ns : 0;
}

uint64_t hist_max_ns(const struct hist *h)
{
    return h->total ? h->max_ns : 0;
}

double hist_mean_ns(const struct hist *h)
{
    return h->total ? h->sum_ns / (double)h->total : 0.0;
}

double hist_sum_ns(const struct hist *h)
{
    return h->sum_ns;
}

/* The value a bucket stands for: its midpoint (HdrHistogram's "median equivalent"). */
static inline uint64_t hist__mid(size_t i)
{
    uint64_t width;
    uint64_t low = hist__lowest(i, &width);
    return low + (width >> 1);
}

static inline uint64_t hist__clamp_exact(const struct hist *h, uint64_t v)
{
    if (v < h->min_ns) {
        return h->min_ns;
    }
    if (v > h->max_ns) {
        return h->max_ns;
    }
    return v;
}

double hist_stddev_ns(const struct hist *h)
{
    if (h->total == 0) {
        return 0.0;
    }
    double mean = hist_mean_ns(h);
    double acc = 0.0;
    for (size_t i = h->lo; i <= h->hi; i++) {
        if (h->counts[i] != 0) {
            double d = (double)hist__clamp_exact(h, hist__mid(i)) - mean;
            acc += d * d * (double)h->counts[i];
        }
    }
    return sqrt(acc / (double)h->total);
}

uint64_t hist_quantile_ns(const struct hist *h, double q)
{
    if (h->total == 0) {
        return 0;
    }
    if (!(q > 0.0)) { /* also NaN */
        return h->min_ns;
    }
    if (q >= 1.0) {
        return h->max_ns;
    }
    /* Nearest rank: ceil(q * total), at least 1.  The product is scaled down by a few
     * ulps first so that q * total landing a hair above an integer (0.95 * 100 =
     * 95.00000000000001) does not skip to the next rank. */
    double r = q * (double)h->total;
    r -= r * 4e-16;
    uint64_t rank = (uint64_t)ceil(r);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > h->total) {
        rank = h->total;
    }
    uint64_t seen = 0;
    for (size_t i = h->lo; i <= h->hi; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            return hist__clamp_exact(h, hist__mid(i));
        }
    }
    return h->max_ns; /* unreachable while counts sum to total */
}

bool hist_next_bucket(const struct hist *h, size_t *cursor, uint64_t *value_ns, uint64_t *count)
{
    size_t i = *cursor < h->lo ? h->lo : *cursor;
    for (; i <= h->hi && i < HIST_LEN; i++) {
        if (h->counts[i] != 0) {
            uint64_t width;
            *value_ns = hist__lowest(i, &width);
            *count = h->counts[i];
            *cursor = i + 1;
            return true;
        }
    }
    *cursor = i;
    return false;
}

void hist_set_exact(struct hist *h, uint64_t min_ns, uint64_t max_ns, double sum_ns)
{
    h->min_ns = min_ns;
    h->max_ns = max_ns;
    h->sum_ns = sum_ns;
}
