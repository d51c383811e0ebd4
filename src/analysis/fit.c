/*
 * fit — Theil–Sen lines, the Mann–Kendall test, and the leak and drift verdicts
 * (fit.h).  Medians by sorting a scratch copy: at FIT_POINTS_MAX points the pairwise
 * slopes are two million doubles (16 MB), sorted in well under a second, once per run.
 */
#include "analysis/fit.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static double median_sorting(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Copies the usable points (no NaN, t in [t0, t1]) into xs, ys, binned to at most
 * FIT_POINTS_MAX.  Returns the count. */
static size_t gather(const double *t, const double *y, size_t n, double t0, double t1, double *xs,
                     double *ys)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(y[i]) && !isnan(t[i]) && t[i] >= t0 && t[i] <= t1) {
            m++;
        }
    }
    size_t per = (m + FIT_POINTS_MAX - 1) / FIT_POINTS_MAX;
    if (per == 0) {
        per = 1;
    }
    size_t k = 0, in_bin = 0;
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]) || isnan(t[i]) || t[i] < t0 || t[i] > t1) {
            continue;
        }
        sx += t[i];
        sy += y[i];
        if (++in_bin == per) {
            xs[k] = sx / (double)per;
            ys[k] = sy / (double)per;
            k++;
            sx = sy = 0;
            in_bin = 0;
        }
    }
    if (in_bin > 0) {
        xs[k] = sx / (double)in_bin;
        ys[k] = sy / (double)in_bin;
        k++;
    }
    return k;
}

static int fit_points(const double *xs, const double *ys, size_t n, struct fit_line *out)
{
    int rc = 0;
    double *slopes = NULL, *scratch = NULL;
    memset(out, 0, sizeof *out);
    if (n < 2) {
        return -EINVAL;
    }
    size_t pairs = n * (n - 1) / 2;
    slopes = malloc(pairs * sizeof *slopes);
    scratch = malloc(n * sizeof *scratch);
    if (slopes == NULL || scratch == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    size_t k = 0;
    long long s = 0; /* Kendall's S */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            double dx = xs[j] - xs[i], dy = ys[j] - ys[i];
            if (dx != 0) {
                slopes[k++] = dy / dx;
            }
            double sign = (dx > 0) - (dx < 0);
            s += (long long)(((dy > 0) - (dy < 0)) * sign);
        }
    }
    if (k == 0) {
        rc = -EINVAL;
        goto out;
    }
    out->n = n;
    out->slope = median_sorting(slopes, k);
    for (size_t i = 0; i < n; i++) {
        scratch[i] = ys[i] - out->slope * xs[i];
    }
    out->intercept = median_sorting(scratch, n);
    double tmin = xs[0], tmax = xs[0], mean = 0;
    for (size_t i = 0; i < n; i++) {
        tmin = xs[i] < tmin ? xs[i] : tmin;
        tmax = xs[i] > tmax ? xs[i] : tmax;
        mean += ys[i];
    }
    mean /= (double)n;
    out->window_s = tmax - tmin;
    double ss_res = 0, ss_tot = 0;
    for (size_t i = 0; i < n; i++) {
        double r = ys[i] - (out->intercept + out->slope * xs[i]);
        ss_res += r * r;
        ss_tot += (ys[i] - mean) * (ys[i] - mean);
        scratch[i] = fabs(r);
    }
    out->r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : 1;
    out->resid_mad = median_sorting(scratch, n);
    memcpy(scratch, ys, n * sizeof *scratch);
    /* Mann–Kendall: var(S) with the tie correction over groups of equal y. */
    qsort(scratch, n, sizeof *scratch, cmp_double);
    out->median_y = n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
    double dn = (double)n;
    double var = dn * (dn - 1) * (2 * dn + 5);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && scratch[j] == scratch[i]) {
            j++;
        }
        double g = (double)(j - i);
        var -= g * (g - 1) * (2 * g + 5);
        i = j;
    }
    var /= 18;
    if (var > 0) {
        double sc = s > 0 ? (double)s - 1 : s < 0 ? (double)s + 1 : 0;
        out->mk_z = sc / sqrt(var);
    }
out:
    free(slopes);
    free(scratch);
    return rc;
}

int fit_theil_sen(const double *t, const double *y, size_t n, struct fit_line *out)
{
    double *xs = malloc((n > 0 ? n : 1) * sizeof *xs);
    double *ys = malloc((n > 0 ? n : 1) * sizeof *ys);
    int rc = -ENOMEM;
    if (xs != NULL && ys != NULL) {
        size_t m = gather(t, y, n, -INFINITY, INFINITY, xs, ys);
        rc = fit_points(xs, ys, m, out);
    }
    free(xs);
    free(ys);
    return rc;
}

const char *fit_trend_name(enum fit_trend trend)
{
    switch (trend) {
    case FIT_FLAT:
        return "flat";
    case FIT_GROWING:
        return "growing";
    case FIT_INSUFFICIENT:
        break;
    }
    return "insufficient data";
}

/* The shared part of both verdicts; unit_div scales y for the sentence. */
static int verdict(const double *t, const double *y, size_t n, double t0, double t1,
                   double min_rise, double limit, double min_window_s, struct fit_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->min_window_s = min_window_s > 0 ? min_window_s : FIT_MIN_WINDOW_S;
    out->t0 = t0;
    out->t1 = t1;
    out->hours_to_limit = -1;
    out->limit = limit;
    double *xs = malloc((n > 0 ? n : 1) * sizeof *xs);
    double *ys = malloc((n > 0 ? n : 1) * sizeof *ys);
    int rc = 0;
    if (xs == NULL || ys == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    size_t m = gather(t, y, n, t0, t1, xs, ys);
    if (m < FIT_MIN_POINTS || fit_points(xs, ys, m, &out->line) < 0 ||
        out->line.window_s < out->min_window_s) {
        out->trend = FIT_INSUFFICIENT;
        out->line.n = m;
        goto out;
    }
    const struct fit_line *l = &out->line;
    out->per_hour = l->slope * 3600;
    double end_t = xs[m - 1];
    out->level = l->intercept + l->slope * end_t;
    double rise = l->slope * l->window_s;
    bool up = l->mk_z > FIT_Z_GROWING && rise > min_rise && rise > 3 * l->resid_mad;
    out->trend = up ? FIT_GROWING : FIT_FLAT;
    if (up && limit > 0 && l->slope > 0) {
        out->hours_to_limit = out->level < limit ? (limit - out->level) / l->slope / 3600 : 0;
    }
out:
    free(xs);
    free(ys);
    return rc;
}

int fit_leak(const double *t, const double *bytes, size_t n, double t0, double t1,
             double limit_bytes, double min_window_s, struct fit_verdict *out)
{
    int rc = verdict(t, bytes, n, t0, t1, 1024.0 * 1024.0, limit_bytes, min_window_s, out);
    if (rc < 0) {
        return rc;
    }
    const double mib = 1024.0 * 1024.0;
    const struct fit_line *l = &out->line;
    if (out->trend == FIT_INSUFFICIENT) {
        snprintf(out->evidence, sizeof out->evidence,
                 "%zu samples over the steady window; a verdict needs %d over %.0f s", l->n,
                 FIT_MIN_POINTS, out->min_window_s);
    } else {
        char ttl[64] = "";
        if (out->hours_to_limit >= 0) {
            snprintf(ttl, sizeof ttl, "; reaches the %.0f MiB limit in %.1f h", limit_bytes / mib,
                     out->hours_to_limit);
        }
        snprintf(out->evidence, sizeof out->evidence,
                 "%+.1f MiB/hour over %.0f s (%zu samples, Theil-Sen; R² %.2f, Mann-Kendall z "
                 "%.1f), at %.1f MiB%s",
                 out->per_hour / mib, l->window_s, l->n, l->r2, l->mk_z, out->level / mib, ttl);
    }
    return 0;
}

int fit_drift(const double *t, const double *y, size_t n, double t0, double t1, double min_rise,
              double min_window_s, struct fit_verdict *out)
{
    int rc = verdict(t, y, n, t0, t1, min_rise, 0, min_window_s, out);
    if (rc < 0) {
        return rc;
    }
    const struct fit_line *l = &out->line;
    if (out->trend == FIT_INSUFFICIENT) {
        snprintf(out->evidence, sizeof out->evidence,
                 "%zu windows over the steady part; a verdict needs %d over %.0f s", l->n,
                 FIT_MIN_POINTS, out->min_window_s);
    } else {
        snprintf(out->evidence, sizeof out->evidence,
                 "%+.4g per hour over %.0f s (%zu windows, Theil-Sen; R² %.2f, Mann-Kendall z "
                 "%.1f), from %.4g to %.4g",
                 out->per_hour, l->window_s, l->n, l->r2, l->mk_z,
                 out->level - l->slope * l->window_s, out->level);
    }
    return 0;
}
