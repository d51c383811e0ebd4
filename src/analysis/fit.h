/*
 * fit — robust trend lines over a run's time series, and the verdicts built on them:
 * is the target's memory growing (a leak), is latency or the error rate drifting up
 * under constant load.
 *
 * The line is Theil–Sen's: the slope is the median of the slopes of every pair of
 * points, the intercept the median of y - slope * t.  It ignores up to 29% of wild
 * points (a GC sawtooth, a stall) where least squares follows them.  Whether there is a
 * trend at all is the Mann–Kendall test (z of Kendall's S with the tie correction); the
 * fit quality is R² of the robust line.  More than FIT_POINTS_MAX points are first
 * averaged into that many equal bins (the pairwise slopes are O(n²)).
 *
 * No I/O, no printing; the caller's arrays are not modified.  NaN values are skipped.
 */
#ifndef BRUNT_ANALYSIS_FIT_H
#define BRUNT_ANALYSIS_FIT_H

#include <stddef.h>

#define FIT_POINTS_MAX 2000
#define FIT_MIN_POINTS 20 /* fewer: no verdict */
/* A shorter steady window gives no verdict: issue 8 asks for at least a minute.  The
 * callers may set a shorter minimum (brunt run --steady-min), e.g. for a short test. */
#define FIT_MIN_WINDOW_S 60.0
#define FIT_Z_GROWING 2.326 /* one-sided p < 0.01 */

struct fit_line {
    size_t n;         /* points used (after NaNs and binning) */
    double window_s;  /* last t - first t */
    double slope;     /* y per second */
    double intercept; /* y at t = 0 */
    double r2;        /* of the robust line: 1 - SSres/SStot (1 when y is constant) */
    double mk_z;      /* Mann–Kendall z: > 2.33 is an upward trend at p < 0.01 */
    double resid_mad; /* median absolute residual */
    double median_y;
};

/*
 * Fits t[i], y[i] for i < n.  Returns 0, -EINVAL when fewer than 2 usable points or t
 * does not vary, -ENOMEM.
 */
int fit_theil_sen(const double *t, const double *y, size_t n, struct fit_line *out);

enum fit_trend { FIT_INSUFFICIENT, FIT_FLAT, FIT_GROWING };

struct fit_verdict {
    enum fit_trend trend;
    struct fit_line line;
    double per_hour;       /* slope * 3600, in y's unit */
    double level;          /* the line's value at the window's end */
    double limit;          /* what y must stay under (0: none) */
    double hours_to_limit; /* at this pace, from the window's end (-1: never / no limit) */
    double t0, t1;         /* the window fitted (seconds since the load's start) */
    double min_window_s;   /* the shortest window that gives a verdict */
    char evidence[320];    /* one sentence with the numbers */
};

/*
 * The leak verdict on memory (bytes) over t (seconds): "growing" when Mann–Kendall says
 * up (z > FIT_Z_GROWING) and the growth over the window exceeds both 1 MiB and three
 * times the median residual (so page-sized noise is not a leak).  limit_bytes (0: none)
 * gives the time to reach it.  Points outside [t0, t1] are ignored.  A window shorter
 * than min_window_s seconds (0: FIT_MIN_WINDOW_S), or fewer than FIT_MIN_POINTS points,
 * is FIT_INSUFFICIENT.  Returns 0 or -ENOMEM.
 */
int fit_leak(const double *t, const double *bytes, size_t n, double t0, double t1,
             double limit_bytes, double min_window_s, struct fit_verdict *out);

/*
 * The drift verdict on a level (p95 in ms, an error rate 0..1) under constant load:
 * "growing" when Mann–Kendall says up and the rise over the window exceeds min_rise and
 * three times the median residual.  min_window_s as for fit_leak().  Returns 0 or -ENOMEM.
 */
int fit_drift(const double *t, const double *y, size_t n, double t0, double t1, double min_rise,
              double min_window_s, struct fit_verdict *out);

/* "insufficient data", "flat", "growing". */
const char *fit_trend_name(enum fit_trend trend);

#endif
