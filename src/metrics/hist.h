/*
 * hist — a log-linear, high-dynamic-range histogram of durations.
 *
 * Values are nanoseconds, tracked from 1 µs to 1 h with a relative error of at most
 * 0.1% (HdrHistogram's layout: each power-of-two range split into 1024 linear
 * sub-buckets).  Memory is fixed at creation, recording is a few instructions and never
 * allocates, and merging two histograms is exact: the merged histogram is the one that
 * would have recorded both streams.  Values below 1 µs are exact (zero included) and
 * values above 1 h are recorded as 1 h (the count of such clamps is kept); the exact min, max and sum are
 * kept beside the buckets.
 *
 * One owner at a time; no locking.  Workers each own theirs and the coordinator merges.
 *
 * hist_record() is inline (it runs about ten times per response): the struct is visible
 * for that alone, and its fields are private to hist.c and the fast path below.
 */
#ifndef BRUNT_METRICS_HIST_H
#define BRUNT_METRICS_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_LOWEST_NS 1000ULL           /* 1 µs */
#define HIST_HIGHEST_NS 3600000000000ULL /* 1 h */

#define HIST__SUB_BITS 10 /* 1024 sub-buckets per power of two (hist.c has the layout) */

/* Private: use the functions below. */
struct hist {
    uint64_t total;    /* number of recordings */
    uint64_t clamped;  /* recordings above HIST_HIGHEST_NS */
    uint64_t min_ns;   /* exact, as recorded; UINT64_MAX when empty */
    uint64_t max_ns;   /* exact, as recorded; 0 when empty */
    double sum_ns;     /* exact up to double rounding, as recorded */
    size_t lo, hi;     /* non-empty counters all lie in [lo, hi]; lo > hi when empty */
    uint64_t counts[]; /* HIST_LEN counters */
};

/* Returns a new empty histogram, or NULL when out of memory. */
struct hist *hist_new(void);
/* hist_free(NULL) does nothing. */
void hist_free(struct hist *h);
/* Empties h (keeps its memory). */
void hist_reset(struct hist *h);

/* Records count recordings of value_ns. */
void hist_record_n(struct hist *h, uint64_t value_ns, uint64_t count);

/* Records one value: the request path's fast path, inline; never allocates. */
static inline void hist_record(struct hist *h, uint64_t value_ns)
{
    if (__builtin_expect(value_ns > HIST_HIGHEST_NS, 0)) {
        hist_record_n(h, value_ns, 1); /* clamped, and counted as such */
        return;
    }
    /* The index of hist.c's layout: bucket b = max(0, bitlen(v) - 11), sub-bucket v >> b. */
    unsigned b = 64u - (unsigned)__builtin_clzll(value_ns | ((2ull << HIST__SUB_BITS) - 1)) -
                 (HIST__SUB_BITS + 1);
    size_t i = ((size_t)b << HIST__SUB_BITS) + (size_t)(value_ns >> b);
    h->counts[i]++;
    if (i < h->lo) {
        h->lo = i;
    }
    if (i > h->hi) {
        h->hi = i;
    }
    if (value_ns < h->min_ns) {
        h->min_ns = value_ns;
    }
    if (value_ns > h->max_ns) {
        h->max_ns = value_ns;
    }
    h->total++;
    h->sum_ns += (double)value_ns;
}

/* Adds every recording of src to dst.  Exact. */
void hist_merge(struct hist *dst, const struct hist *src);

uint64_t hist_count(const struct hist *h);
/* Exact minimum and maximum of the recorded values (0 when empty). */
uint64_t hist_min_ns(const struct hist *h);
uint64_t hist_max_ns(const struct hist *h);
/* Exact mean (from the exact sum), 0 when empty. */
double hist_mean_ns(const struct hist *h);
/* Exact sum of recorded values, as recorded (before clamping). */
double hist_sum_ns(const struct hist *h);
/* Standard deviation, from the buckets. */
double hist_stddev_ns(const struct hist *h);
/*
 * The q-quantile (0 <= q <= 1) as the nearest-rank value: the smallest recorded value v
 * such that at least q*count recordings are <= v, reported as the midpoint of its bucket
 * (so within 0.1% of the true sample), clamped to [min, max].  0 when empty.
 * hist_quantile_ns(h, 0.5) is the median; 1.0 gives the max.
 */
uint64_t hist_quantile_ns(const struct hist *h, double q);

/*
 * Iterates non-empty buckets in ascending order, for serialising: start with
 * *cursor = 0; each call stores a bucket's lowest value and count and returns true, or
 * returns false at the end.  Feeding the pairs to hist_record_n() of an empty histogram
 * rebuilds the buckets exactly (min/max/sum then come from hist_set_exact()).
 */
bool hist_next_bucket(const struct hist *h, size_t *cursor, uint64_t *value_ns, uint64_t *count);
/* Restores the exact min, max and sum after a rebuild from buckets. */
void hist_set_exact(struct hist *h, uint64_t min_ns, uint64_t max_ns, double sum_ns);

#endif
