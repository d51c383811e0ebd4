/*
 * packed — one second of a registry, packed small, for the time series of a run.
 *
 * Every row of the one-second time series keeps, per series that matters, what that
 * second recorded: counters (their sum), rates (trues of total) and the histograms of the
 * latency trends (http_req_duration, http_req_latency and the custom trends), so that any window of seconds (the first and the last minute of a soak, the
 * blocks of a bootstrap) can be merged exactly afterwards.  Full struct hist histograms
 * are 261 KiB each, far too big to keep per second and series, so a second's histograms
 * are kept at a coarser resolution, the "compact" layout below, as a byte string of
 * LEB128 varints (a few bytes per non-empty bucket).
 *
 * The compact layout is HdrHistogram's with a unit of 1 ns and PACKED_SUB_BITS = 6: values
 * below 128 ns each have their own bucket, every power-of-two range above is split into
 * 64 linear buckets, so a bucket is at most 1/64 of its lowest value wide and its
 * midpoint is within 0.8% of any value in it (a tenth of the smallest change compare
 * reports as significant; 7 bits would double the size for precision nobody uses).
 * Index of v: b = max(0, bitlen(v) - 7), index = (b << 6) + (v >> b); lowest value of
 * index i: b = max(0, (i >> 6) - 1), lowest = (i - (b << 6)) << b.  Every bucket of struct hist lies inside one compact
 * bucket, so coarsening is exact per bucket and merging compact histograms is exact at
 * their resolution.  docs/result-format.md describes the same layout for readers.
 *
 * Record layout (internal to the process; the result file spells it out as JSON):
 *   varint series index (in the run's total registry), byte metric type, then
 *   counter: 8-byte double sum, varint samples; rate: varint trues, varint total;
 *   gauge: 8-byte double last value, 8-byte double min, 8-byte double max, varint samples;
 *   trend: varint count, 8-byte double sum_ns, varint min_ns, varint max_ns,
 *          varint n_buckets, n_buckets x (varint index delta, varint count)
 *   (the first delta is the first index itself).
 *
 * Gauges (custom gauge metrics, probe levels) keep the second's last value and its
 * extremes.  Left out: trends other than those listed
 * (iteration_duration and the per-phase trends blocked/connecting/... would triple the
 * size for little use; their run totals stay exact in the metrics).
 * No locking: one owner at a time.
 */
#ifndef BRUNT_METRICS_PACKED_H
#define BRUNT_METRICS_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"
#include "metrics/registry.h"

#define PACKED_SUB_BITS 6
/* Number of compact buckets up to HIST_HIGHEST_NS (1 h): index of 3.6e12 plus one. */
#define PACKED_HIST_LEN ((35u << PACKED_SUB_BITS) + 104u + 1u)
/* The most bytes one second's record set may take (a runaway tag set stops here). */
#define PACKED_MAX_BYTES (64u * 1024u * 1024u)

/* The compact bucket of a value in ns (values above 1 h are clamped to 1 h). */
uint32_t packed_index(uint64_t value_ns);
/* Lowest value of compact bucket i, and its width in *width_ns (may be NULL). */
uint64_t packed_lowest(uint32_t index, uint64_t *width_ns);

/* True when a trend metric's per-second histograms are kept (see the list above). */
bool packed_keeps_trend(int metric);

/*
 * Packs every series of `second` that recorded something (counters and rates with
 * samples, kept trends with a count) into a new byte string: *out (malloc'd; free it)
 * and *out_len.  Series are named by their index in `total`, which must already hold
 * every series of `second` (the coordinator merges each shard into the totals first);
 * a series missing from total is skipped.  *out is NULL and *out_len 0 when nothing was
 * recorded.  Returns 0, -ENOMEM, or -E2BIG past PACKED_MAX_BYTES.
 */
int packed_second(const struct registry *second, const struct registry *total, uint8_t **out,
                  size_t *out_len);

/* One decoded record. */
struct packed_rec {
    uint32_t series;
    enum metric_type type;
    double sum;            /* counter; gauge: the last value */
    double gmin, gmax;     /* gauge: the second's extremes */
    uint64_t trues, total; /* rate: trues of total; counter: total = samples */
    uint64_t count, min_ns, max_ns;
    double sum_ns;    /* trend */
    size_t n_buckets; /* trend: pairs at buckets[0..buckets_len) */
    const uint8_t *buckets;
    size_t buckets_len;
};

/*
 * Decodes the record at *off of p[0..len) into *rec and advances *off.  Returns 1, 0 at
 * the end, or -EINVAL when the bytes are not a record set (never reads past len).
 */
int packed_next(const uint8_t *p, size_t len, size_t *off, struct packed_rec *rec);

/* Iterates a trend record's buckets: start with *off = 0 and *index = 0. */
struct packed_bucket_it {
    const struct packed_rec *rec;
    size_t off, left;
    uint32_t index;
};
void packed_buckets_begin(struct packed_bucket_it *it, const struct packed_rec *rec);
/* Stores the next bucket's compact index and count; false at the end (or on damage). */
bool packed_buckets_next(struct packed_bucket_it *it, uint32_t *index, uint64_t *count);

/* Appends an unsigned LEB128 varint to a caller buffer of cap bytes at *off.  Returns
 * false when it does not fit.  Shared by the packer and the unit tests. */
bool packed_put_varint(uint8_t *buf, size_t cap, size_t *off, uint64_t v);
/* Reads one varint at *off of p[0..len); false when truncated or longer than 10 bytes. */
bool packed_get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v);

#endif
