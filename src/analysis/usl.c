/*
 * usl — the Universal Scalability Law fit (see usl.h).
 */
#include "analysis/usl.h"

#include <errno.h>
#include <math.h>
#include <string.h>

double usl_throughput(const struct usl_fit *f, double n)
{
    return f->lambda * n / (1 + f->sigma * (n - 1) + f->kappa * n * (n - 1));
}

/* sigma and kappa for a given lambda (least squares of the linear form, clamped to >= 0),
 * and the squared error of X they leave. */
static double fit_at(const double *n, const double *x, const size_t *use, size_t m, double lambda,
                     double *sigma, double *kappa)
{
    /* y = a s + b k with a = N - 1, b = N (N - 1), y = N lambda / X - 1 */
    double saa = 0, sab = 0, sbb = 0, say = 0, sby = 0;
    for (size_t j = 0; j < m; j++) {
        double N = n[use[j]], a = N - 1, b = N * (N - 1), y = N * lambda / x[use[j]] - 1;
        saa += a * a;
        sab += a * b;
        sbb += b * b;
        say += a * y;
        sby += b * y;
    }
    double s = 0, k = 0, det = saa * sbb - sab * sab;
    if (det > 1e-12 * saa * sbb) {
        s = (say * sbb - sby * sab) / det;
        k = (sby * saa - say * sab) / det;
    }
    /* clamped: the best one-parameter fit with the other at 0 */
    if (!(s >= 0 && k >= 0)) {
        double s_only = saa > 0 ? say / saa : 0, k_only = sbb > 0 ? sby / sbb : 0;
        s_only = s_only > 0 ? s_only : 0;
        k_only = k_only > 0 ? k_only : 0;
        double e1 = 0, e2 = 0;
        for (size_t j = 0; j < m; j++) {
            double N = n[use[j]], a = N - 1, b = N * (N - 1), y = N * lambda / x[use[j]] - 1;
            e1 += (y - s_only * a) * (y - s_only * a);
            e2 += (y - k_only * b) * (y - k_only * b);
        }
        s = e1 <= e2 ? s_only : 0;
        k = e1 <= e2 ? 0 : k_only;
    }
    *sigma = s;
    *kappa = k;
    double sse = 0;
    for (size_t j = 0; j < m; j++) {
        double N = n[use[j]];
        double e = x[use[j]] - lambda * N / (1 + s * (N - 1) + k * N * (N - 1));
        sse += e * e;
    }
    return sse;
}

int usl_fit(const double *n, const double *x, size_t len, struct usl_fit *out)
{
    enum { MAXP = 256 };
    size_t use[MAXP], m = 0;
    double top = 0, nmin = INFINITY, nmax = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len && m < MAXP; i++) {
        if (isfinite(n[i]) && isfinite(x[i]) && n[i] >= 1 && x[i] > 0) {
            use[m++] = i;
            top = fmax(top, x[i] / n[i]);
            nmin = fmin(nmin, n[i]);
            nmax = fmax(nmax, n[i]);
        }
    }
    if (m < USL_MIN_POINTS || nmax <= nmin) {
        return -EINVAL;
    }
    /* golden-section search of lambda in [top, 4 top] */
    const double g = (sqrt(5.0) - 1) / 2;
    double lo = top, hi = 4 * top, s, k;
    double c = hi - g * (hi - lo), d = lo + g * (hi - lo);
    double fc = fit_at(n, x, use, m, c, &s, &k), fd = fit_at(n, x, use, m, d, &s, &k);
    for (int it = 0; it < 100 && hi - lo > 1e-9 * top; it++) {
        if (fc <= fd) {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = fit_at(n, x, use, m, c, &s, &k);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = fit_at(n, x, use, m, d, &s, &k);
        }
    }
    out->n = m;
    out->lambda = (lo + hi) / 2;
    double sse = fit_at(n, x, use, m, out->lambda, &out->sigma, &out->kappa);
    /* rounding leaves 1e-15s where the data say 0: no contention, no coherency cost */
    out->sigma = out->sigma < 1e-9 ? 0 : out->sigma;
    out->kappa = out->kappa < 1e-12 ? 0 : out->kappa;
    double mean = 0, sst = 0;
    for (size_t j = 0; j < m; j++) {
        mean += x[use[j]] / (double)m;
    }
    for (size_t j = 0; j < m; j++) {
        sst += (x[use[j]] - mean) * (x[use[j]] - mean);
    }
    out->r2 = sst > 0 ? 1 - sse / sst : 1;
    if (out->kappa > 0 && out->sigma < 1) {
        out->n_peak = sqrt((1 - out->sigma) / out->kappa);
        out->x_peak = usl_throughput(out, out->n_peak);
    } else {
        out->n_peak = INFINITY;
        out->x_peak = out->sigma > 0 ? out->lambda / out->sigma : INFINITY;
    }
    return 0;
}
