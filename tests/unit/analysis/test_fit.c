/*
 * Theil–Sen lines and the verdicts on them: exact on a clean line, unmoved by outliers
 * that drag least squares, flat on noise and on constant data, growing on a leak with
 * the slope and the time to the limit it implies, and no verdict on too few points.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/fit.h"

#define MIB (1024.0 * 1024.0)

/* A small deterministic generator for noise in [-1, 1). */
static double noise(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((double)((*state >> 8) & 0xffff) / 32768.0) - 1.0;
}

Test(fit, exact_line)
{
    double t[50], y[50];
    for (int i = 0; i < 50; i++) {
        t[i] = i;
        y[i] = 3.5 * i + 10;
    }
    struct fit_line l;
    cr_assert_eq(fit_theil_sen(t, y, 50, &l), 0);
    cr_assert_float_eq(l.slope, 3.5, 1e-12, "slope %g", l.slope);
    cr_assert_float_eq(l.intercept, 10, 1e-9, "intercept %g", l.intercept);
    cr_assert_float_eq(l.r2, 1.0, 1e-12);
    cr_assert_gt(l.mk_z, 5, "z %g", l.mk_z);
}

Test(fit, outliers_do_not_move_the_slope)
{
    double t[100], y[100];
    for (int i = 0; i < 100; i++) {
        t[i] = i;
        y[i] = 2.0 * i;
    }
    /* 20 % wild points, all high at the end: least squares would tilt a lot. */
    for (int i = 80; i < 100; i++) {
        y[i] += 10000;
    }
    struct fit_line l;
    cr_assert_eq(fit_theil_sen(t, y, 100, &l), 0);
    cr_assert(fabs(l.slope - 2.0) < 0.5, "slope %g, expected about 2", l.slope);
}

Test(fit, nan_points_are_skipped)
{
    double t[30], y[30];
    for (int i = 0; i < 30; i++) {
        t[i] = i;
        y[i] = i % 3 == 0 ? NAN : 1.5 * i;
    }
    struct fit_line l;
    cr_assert_eq(fit_theil_sen(t, y, 30, &l), 0);
    cr_assert_eq(l.n, 20);
    cr_assert_float_eq(l.slope, 1.5, 1e-12);
}

Test(fit, too_few_points_are_an_error)
{
    double t[1] = {0}, y[1] = {1};
    struct fit_line l;
    cr_assert_eq(fit_theil_sen(t, y, 1, &l), -EINVAL);
    double t2[3] = {5, 5, 5}, y2[3] = {1, 2, 3};
    cr_assert_eq(fit_theil_sen(t2, y2, 3, &l), -EINVAL, "t does not vary");
}

Test(fit, leak_is_growing_with_its_slope_and_time_to_limit)
{
    /* 10 MiB/s for 60 s on 100 MiB, noise of +-256 KiB, limit 2 GiB. */
    double t[60], y[60];
    unsigned st = 7;
    for (int i = 0; i < 60; i++) {
        t[i] = i;
        y[i] = 100 * MIB + 10 * MIB * i + 256 * 1024 * noise(&st);
    }
    struct fit_verdict v;
    cr_assert_eq(fit_leak(t, y, 60, 0, 60, 2048 * MIB, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_GROWING, "%s", v.evidence);
    cr_assert(fabs(v.per_hour / MIB - 36000) < 360, "slope %g MiB/h", v.per_hour / MIB);
    /* At 690 MiB at t=59, (2048 - 690) MiB / 10 MiB/s = 135.8 s. */
    cr_assert(fabs(v.hours_to_limit * 3600 - 135.8) < 3, "time to limit %g s",
              v.hours_to_limit * 3600);
}

Test(fit, noise_and_a_plateau_are_flat)
{
    double t[60], y[60];
    unsigned st = 42;
    for (int i = 0; i < 60; i++) {
        t[i] = i;
        y[i] = 300 * MIB + 2 * MIB * noise(&st);
    }
    struct fit_verdict v;
    cr_assert_eq(fit_leak(t, y, 60, 0, 60, 0, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_FLAT, "%s", v.evidence);
    for (int i = 0; i < 60; i++) {
        y[i] = 300 * MIB;
    }
    cr_assert_eq(fit_leak(t, y, 60, 0, 60, 0, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_FLAT, "%s", v.evidence);
    cr_assert_float_eq(v.line.slope, 0, 1e-12);
}

Test(fit, a_tiny_real_slope_below_a_mebibyte_is_flat)
{
    /* 4 KiB per second over 60 s: 240 KiB, under the 1 MiB a leak verdict needs. */
    double t[60], y[60];
    for (int i = 0; i < 60; i++) {
        t[i] = i;
        y[i] = 50 * MIB + 4096.0 * i;
    }
    struct fit_verdict v;
    cr_assert_eq(fit_leak(t, y, 60, 0, 60, 0, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_FLAT, "%s", v.evidence);
}

Test(fit, window_and_point_count_gate_the_verdict)
{
    double t[60], y[60];
    for (int i = 0; i < 60; i++) {
        t[i] = i;
        y[i] = 10 * MIB * i;
    }
    struct fit_verdict v;
    cr_assert_eq(fit_leak(t, y, 60, 50, 60, 0, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_INSUFFICIENT, "11 points: %s", v.evidence);
    cr_assert_str_eq(fit_trend_name(v.trend), "insufficient data");
}

Test(fit, the_default_window_is_a_minute)
{
    /* The same clear leak over 59 s and over 61 s: no verdict, then growing. */
    double t[62], y[62];
    for (int i = 0; i < 62; i++) {
        t[i] = i;
        y[i] = 10 * MIB * i;
    }
    struct fit_verdict v;
    cr_assert_eq(fit_leak(t, y, 60, 0, 60, 0, 0, &v), 0);
    cr_assert_eq(v.trend, FIT_INSUFFICIENT, "59 s: %s", v.evidence);
    cr_assert_float_eq(v.min_window_s, FIT_MIN_WINDOW_S, 1e-9);
    cr_assert(strstr(v.evidence, "over 60 s") != NULL, "%s", v.evidence);
    cr_assert_eq(fit_leak(t, y, 62, 0, 62, 0, 0, &v), 0);
    cr_assert_eq(v.trend, FIT_GROWING, "61 s: %s", v.evidence);
    cr_assert_eq(fit_drift(t, y, 60, 0, 60, 1, 0, &v), 0);
    cr_assert_eq(v.trend, FIT_INSUFFICIENT, "drift over 59 s: %s", v.evidence);
    cr_assert_eq(fit_drift(t, y, 60, 0, 60, 1, 30, &v), 0);
    cr_assert_eq(v.trend, FIT_GROWING, "drift over 59 s, 30 s asked: %s", v.evidence);
}

Test(fit, drift_needs_the_minimum_rise)
{
    double t[40], y[40];
    for (int i = 0; i < 40; i++) {
        t[i] = i;
        y[i] = 100 + 0.01 * i; /* p95 rising 0.4 ms over 40 s */
    }
    struct fit_verdict v;
    cr_assert_eq(fit_drift(t, y, 40, 0, 40, 10, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_FLAT, "%s", v.evidence);
    for (int i = 0; i < 40; i++) {
        y[i] = 100 + 2.0 * i; /* 80 ms over 40 s */
    }
    cr_assert_eq(fit_drift(t, y, 40, 0, 40, 10, 20, &v), 0);
    cr_assert_eq(v.trend, FIT_GROWING, "%s", v.evidence);
}

Test(fit, many_points_are_binned)
{
    size_t n = 10000;
    double *t = malloc(n * sizeof *t), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        t[i] = (double)i;
        y[i] = 0.5 * (double)i;
    }
    struct fit_line l;
    cr_assert_eq(fit_theil_sen(t, y, n, &l), 0);
    cr_assert_leq(l.n, FIT_POINTS_MAX);
    cr_assert_float_eq(l.slope, 0.5, 1e-9);
    free(t);
    free(y);
}
