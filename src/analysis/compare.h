/*
 * compare — did this run get slower than that one?  The statistics behind `brunt
 * compare` (docs/compare.md has the method in full).
 *
 * Requests inside one run are not independent (a GC pause or a noisy neighbour moves
 * many at once), so the unit of replication is a window of seconds, never a request.
 * Each run's usable seconds (whole seconds, the first one left out as warm-up when there
 * are enough) are grouped into at most CMP_MAX_UNITS windows; a moving-block bootstrap
 * resamples windows of each run independently, merges the resampled windows' compact
 * histograms exactly, and yields the distribution of the ratio new/base of each figure
 * (latency p50, p95, p99 and mean; throughput) per request name; the quantiles are taken
 * per window and a low quantile of them over the windows (CMP_WINDOW_Q) is compared,
 * when every window holds enough requests (CMP_WINDOW_MIN_SAMPLES), so that stalled
 * seconds, which only ever add latency, cannot decide.  The severity limits
 * apply to the bound of the interval, not to the point estimate: a regression when the
 * lower bound of a latency ratio exceeds 1 + regression (critical: 1 + critical), an
 * improvement when the upper bound is below 1 / (1 + regression).  Throughput is judged
 * as its inverse (time per request), so the same limits apply.  Error rates and failed
 * checks are judged with a one-sided two-proportion z-test on the counts, plus a
 * minimum change in percentage points.
 *
 * Runs of different scenarios or load shapes are not compared: compare_runs lists the
 * differences and sets incomparable (unless force).  No printing; no global state;
 * deterministic for a given seed.
 */
#ifndef BRUNT_ANALYSIS_COMPARE_H
#define BRUNT_ANALYSIS_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/result_read.h"

#define CMP_MAX_UNITS 60   /* windows per run the bootstrap resamples */
#define CMP_MAX_GROUPS 256 /* request names compared one by one (the rest: in "all") */
#define CMP_MAX_RESAMPLES 100000
#define CMP_MAX_NOTES 16
#define CMP_WINDOW_MIN_SAMPLES 100 /* requests in every window for the windowed rows */
/* Which quantile over the windows of each window's own p50/p95/p99 the quantile rows
 * judge (compare.c, "the low window"): 0.5 is the median window. */
#define CMP_WINDOW_Q 0.10

enum cmp_verdict {
    CMP_NA, /* not judged (missing in one run, too few samples, informational) */
    CMP_IMPROVED,
    CMP_SAME, /* no change detected */
    CMP_REGRESSION,
    CMP_CRITICAL,
};

struct cmp_options {
    double regression;   /* fraction: 0.20 */
    double critical;     /* fraction: 0.50 */
    double err_limit;    /* error-rate increase that matters, absolute: 0.001 (0.1 pp) */
    double err_critical; /* 0.01 (1 pp) */
    double confidence;   /* of each bound, one-sided: 0.95 (together a 90% interval) */
    double alpha;        /* of the two-proportion test, one-sided: 0.001 */
    unsigned resamples;  /* bootstrap replicates: 2000 */
    uint64_t seed;
    const char *metric; /* the latency trend: "http_req_duration" */
    double window_q;    /* the windowed rows' quantile over windows: CMP_WINDOW_Q */
    bool force;         /* compare different load shapes anyway */
};

void cmp_options_default(struct cmp_options *o);

enum cmp_kind { CMP_LATENCY, CMP_THROUGHPUT, CMP_RATE, CMP_INFO };

struct cmp_row {
    char group[128]; /* request name, or "all requests" */
    char figure
        [64]; /* "p50", "p95", "p99", "mean", "throughput", "error rate", "checks failed", ... */
    char unit[8]; /* "ms", "/s", "%", "" */
    enum cmp_kind kind;
    double base, cur; /* point estimates in unit */
    double change;    /* cur / base - 1 (NAN when base is 0); for rates cur - base */
    double lo, hi;    /* ratio interval (latency, throughput); z for rates in lo; else NAN */
    bool windowed;    /* a quantile judged as the median window's (change and interval of
                       * that; base and cur stay the runs' own quantiles): see compare.c */
    enum cmp_verdict verdict;
};

struct cmp_report {
    struct cmp_row *rows;
    size_t n_rows;
    bool incomparable; /* differences[] lists why */
    char differences[CMP_MAX_NOTES][256];
    size_t n_differences;
    char notes[CMP_MAX_NOTES][256]; /* scenario changed, names only in one run, ... */
    size_t n_notes;
    enum cmp_verdict worst;       /* over the judged rows */
    size_t units_base, units_cur; /* windows each run gave the bootstrap */
    double window_s_base, window_s_cur;
    size_t block_base, block_cur; /* block lengths, in windows */
};

/*
 * Compares run b (new) with run a (baseline) with options o.  Fills *out (free with
 * cmp_report_destroy) and returns 0; when the runs are incomparable (and !o->force)
 * out->incomparable is set and no rows are computed.  Returns -1 with one line in err
 * when a run has too little to judge (no whole second with requests) or memory runs
 * out.
 */
int compare_runs(const struct result_doc *a, const struct result_doc *b,
                 const struct cmp_options *o, struct cmp_report *out, char *err, size_t err_len);

void cmp_report_destroy(struct cmp_report *r);

const char *cmp_verdict_name(enum cmp_verdict v);

/* The load-shape differences between a and b (one line each into diffs, at most max);
 * returns how many.  Shared with the history's baseline choice. */
size_t compare_load_differences(const struct result_doc *a, const struct result_doc *b,
                                char (*diffs)[256], size_t max);

#endif
