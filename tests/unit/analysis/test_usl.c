/*
 * analysis/usl: the fit recovers the parameters of curves it is given (exact and with
 * noise), finds no peak where there is none, and refuses too few points.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "analysis/usl.h"

static double usl(double l, double s, double k, double n)
{
    return l * n / (1 + s * (n - 1) + k * n * (n - 1));
}

Test(usl, recovers_an_exact_curve)
{
    const double ns[] = {1, 2, 4, 8, 16, 32, 64};
    double x[7];
    for (int i = 0; i < 7; i++) {
        x[i] = usl(100, 0.05, 0.002, ns[i]);
    }
    struct usl_fit f;
    cr_assert_eq(usl_fit(ns, x, 7, &f), 0);
    cr_assert_float_eq(f.lambda, 100, 0.1, "lambda %g", f.lambda);
    cr_assert_float_eq(f.sigma, 0.05, 1e-4, "sigma %g", f.sigma);
    cr_assert_float_eq(f.kappa, 0.002, 1e-5, "kappa %g", f.kappa);
    /* N* = sqrt(0.95 / 0.002) = 21.79 */
    cr_assert_float_eq(f.n_peak, 21.79, 0.05, "N* %g", f.n_peak);
    cr_assert_float_eq(f.x_peak, usl(100, 0.05, 0.002, f.n_peak), 0.1, "X* %g", f.x_peak);
    cr_assert_gt(f.r2, 0.9999);
}

Test(usl, without_n_equal_one_and_with_noise)
{
    const double ns[] = {2, 4, 8, 16, 32, 64, 128};
    const double noise[] = {1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.0};
    double x[7];
    for (int i = 0; i < 7; i++) {
        x[i] = usl(50, 0.1, 0.0005, ns[i]) * noise[i];
    }
    struct usl_fit f;
    cr_assert_eq(usl_fit(ns, x, 7, &f), 0);
    /* N* = sqrt(0.9 / 0.0005) = 42.4; within 15% with 3% noise */
    cr_assert(fabs(f.n_peak - 42.4) < 0.15 * 42.4, "N* %g", f.n_peak);
    cr_assert(fabs(f.lambda - 50) < 5, "lambda %g", f.lambda);
    cr_assert_gt(f.r2, 0.95);
}

Test(usl, a_pure_contention_curve_has_no_peak)
{
    /* a service of 8 workers at 10 ms: X = min(N, 8) * 100, saturating, never falling */
    const double ns[] = {1, 2, 4, 8, 16, 32};
    double x[6];
    for (int i = 0; i < 6; i++) {
        x[i] = usl(100, 0.125, 0, ns[i]);
    }
    struct usl_fit f;
    cr_assert_eq(usl_fit(ns, x, 6, &f), 0);
    cr_assert_float_eq(f.kappa, 0, 1e-9, "kappa %g", f.kappa);
    cr_assert(isinf(f.n_peak), "N* %g", f.n_peak);
    cr_assert_float_eq(f.x_peak, 800, 1, "asymptote %g", f.x_peak);
}

Test(usl, linear_scaling)
{
    const double ns[] = {1, 2, 3, 4};
    const double x[] = {10, 20, 30, 40};
    struct usl_fit f;
    cr_assert_eq(usl_fit(ns, x, 4, &f), 0);
    cr_assert_float_eq(f.lambda, 10, 1e-6);
    cr_assert_float_eq(f.sigma, 0, 1e-9);
    cr_assert_float_eq(f.kappa, 0, 1e-9);
    cr_assert(isinf(f.n_peak) && isinf(f.x_peak));
}

Test(usl, refuses_too_few_points)
{
    const double ns[] = {1, 2, 4, 4};
    const double x[] = {10, 19, NAN, 0};
    struct usl_fit f;
    cr_assert_eq(usl_fit(ns, x, 4, &f), -EINVAL);
    const double same[] = {4, 4, 4};
    const double xs[] = {10, 11, 12};
    cr_assert_eq(usl_fit(same, xs, 3, &f), -EINVAL);
}
