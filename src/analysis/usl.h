/*
 * usl — the Universal Scalability Law fitted to a closed-model load test: throughput X
 * measured at concurrencies N (virtual users, each with one request in flight),
 *
 *     X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1))
 *
 * lambda is the throughput of one user alone, sigma the contention (the serial share:
 * queueing for a lock, a pool, one core), kappa the coherency cost (crosstalk that grows
 * with pairs of users; above 0 throughput has a peak and falls beyond it, "retrograde"
 * scalability).  The peak is at N* = sqrt((1 - sigma) / kappa).  Gunther, "Guerrilla
 * Capacity Planning" (2007), ch. 4-6.
 *
 * The fit: for a given lambda, N lambda / X - 1 = sigma (N - 1) + kappa N (N - 1) is
 * linear in sigma and kappa (least squares without an intercept, both clamped to >= 0);
 * lambda itself is found by a golden-section search minimising the squared error of X
 * over [max X/N, 4 max X/N] (X/N never exceeds lambda when sigma, kappa >= 0).  This
 * is the measured points' own least-squares fit, with no point held fixed, so one noisy
 * N = 1 step does not tilt the curve.
 *
 * No I/O, no allocation, the caller's arrays are not modified.
 */
#ifndef BRUNT_ANALYSIS_USL_H
#define BRUNT_ANALYSIS_USL_H

#include <stddef.h>

#define USL_MIN_POINTS 3

struct usl_fit {
    size_t n;      /* points used */
    double lambda; /* throughput of one user, X's unit (/s) */
    double sigma;  /* contention, >= 0 */
    double kappa;  /* coherency, >= 0 */
    double n_peak; /* N*, the concurrency of the highest throughput (INFINITY: none) */
    double x_peak; /* X(N*) (with kappa == 0: lambda / sigma, the asymptote; INFINITY
                         * when sigma is 0 too) */
    double r2;     /* of the fit in X: 1 - SSres / SStot */
};

/*
 * Fits the points (n[i], x[i]) for i < len (concurrency >= 1, throughput > 0; others are
 * skipped).  Returns 0, or -EINVAL when fewer than USL_MIN_POINTS usable points or fewer
 * than 2 distinct concurrencies.
 */
int usl_fit(const double *n, const double *x, size_t len, struct usl_fit *out);

/* X(N) of a fit. */
double usl_throughput(const struct usl_fit *f, double n);

#endif
