/*
 * compare — windows, the moving-block bootstrap and the verdicts (see compare.h and
 * docs/compare.md).
 *
 * Each run is reduced once to units: per window and request-name group, a sparse compact
 * histogram of the latency trend, its count, sum, min and max, the requests counted by
 * http_reqs, failed of total, and (for the whole run) checks passed of total.  A
 * bootstrap replicate picks ceil(U / L) blocks of L consecutive windows of each run at
 * random (with replacement, U windows in all), adds their histograms into a dense
 * array and takes the figures; the ratio new/base of every figure is kept per
 * replicate, and the interval is the percentile interval of those ratios.  The cost of a
 * replicate is the number of buckets in the windows picked, so windows are capped at
 * CMP_MAX_UNITS per run whatever the length of the run.
 */
#include "analysis/compare.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h" /* rng_next: splitmix64, good enough to pick blocks */
#include "metrics/packed.h"

void cmp_options_default(struct cmp_options *o)
{
    *o = (struct cmp_options){
        .regression = 0.20,
        .critical = 0.50,
        .err_limit = 0.001,
        .err_critical = 0.01,
        .confidence = 0.95,
        .alpha = 0.001,
        .resamples = 2000,
        .seed = 1,
        .metric = "http_req_duration",
        .window_q = CMP_WINDOW_Q,
        .force = false,
    };
}

const char *cmp_verdict_name(enum cmp_verdict v)
{
    switch (v) {
    case CMP_IMPROVED:
        return "improved";
    case CMP_SAME:
        return "no change";
    case CMP_REGRESSION:
        return "regression";
    case CMP_CRITICAL:
        return "critical";
    case CMP_NA:
        break;
    }
    return "n/a";
}

/* ---- load shapes ----------------------------------------------------------------- */

static bool num_differs(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        return isnan(a) != isnan(b);
    }
    return fabs(a - b) > 1e-9 * (fabs(a) + fabs(b));
}

static void add_line(char (*lines)[256], size_t max, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_line(char (*lines)[256], size_t max, size_t *n, const char *fmt, ...)
{
    if (*n >= max) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lines[(*n)++], 256, fmt, ap);
    va_end(ap);
}

size_t compare_load_differences(const struct result_doc *a, const struct result_doc *b,
                                char (*diffs)[256], size_t max)
{
    size_t n = 0;
    const struct rr_load *x = &a->load, *y = &b->load;
    if (strcmp(a->name, b->name) != 0) {
        add_line(diffs, max, &n, "scenario '%s' vs '%s'", a->name, b->name);
    }
#define STR_DIFF(field, what)                                                            \
    if (strcmp(x->field, y->field) != 0) {                                               \
        add_line(diffs, max, &n, "%s %s vs %s", what, x->field[0] ? x->field : "(none)", \
                 y->field[0] ? y->field : "(none)");                                     \
    }
#define NUM_DIFF(field, what)                                              \
    if (num_differs(x->field, y->field)) {                                 \
        add_line(diffs, max, &n, "%s %g vs %g", what, x->field, y->field); \
    }
    STR_DIFF(scenarios, "scenarios")
    STR_DIFF(model, "model")
    STR_DIFF(executor, "executor")
    STR_DIFF(method, "method")
    STR_DIFF(path, "URL path")
    NUM_DIFF(rate, "rate (/s)")
    NUM_DIFF(connections, "connections/VUs")
    NUM_DIFF(max_vus, "max VUs")
    NUM_DIFF(pipeline, "pipeline")
    NUM_DIFF(requests, "iterations")
    STR_DIFF(stages, "stages")
#undef STR_DIFF
#undef NUM_DIFF
    return n;
}

/* ---- units ----------------------------------------------------------------------- */

struct unit {
    uint64_t count; /* trend samples */
    double sum_ns;
    uint64_t min_ns, max_ns;
    uint64_t reqs, failed, total; /* http_reqs; http_req_failed trues of total */
    uint32_t nb;
    struct rr_bucket *b;
};

struct runu {
    size_t n_units, n_groups;
    double *secs;   /* per unit */
    struct unit *u; /* [unit * n_groups + group] */
    uint64_t checks_pass, checks_total;
    size_t window; /* seconds per unit */
};

static void runu_free(struct runu *r)
{
    if (r->u != NULL) {
        for (size_t i = 0; i < r->n_units * r->n_groups; i++) {
            free(r->u[i].b);
        }
    }
    free(r->u);
    free(r->secs);
}

struct groups {
    size_t n;
    char *names[CMP_MAX_GROUPS]; /* [0] = NULL: all requests */
    bool in_a[CMP_MAX_GROUPS], in_b[CMP_MAX_GROUPS];
    size_t dropped; /* names beyond the cap */
};

/* Quick mode names requests by their URL, whose host and port move between runs (a
 * target on another port): match such names by what follows the origin. */
static const char *name_key(const char *name)
{
    const char *p = NULL;
    if (strncmp(name, "http://", 7) == 0) {
        p = name + 7;
    } else if (strncmp(name, "https://", 8) == 0) {
        p = name + 8;
    }
    if (p == NULL) {
        return name;
    }
    const char *slash = strchr(p, '/');
    return slash != NULL ? slash : "/";
}

static int group_of(struct groups *g, const char *name_in, bool add)
{
    const char *name = name_key(name_in);
    for (size_t i = 1; i < g->n; i++) {
        if (strcmp(g->names[i], name) == 0) {
            return (int)i;
        }
    }
    if (!add) {
        return -1;
    }
    if (g->n >= CMP_MAX_GROUPS) {
        g->dropped++;
        return -1;
    }
    g->names[g->n] = strdup(name);
    return g->names[g->n] != NULL ? (int)g->n++ : -1;
}

static void collect_names(struct groups *g, const struct result_doc *d, const char *metric,
                          bool is_a)
{
    for (size_t i = 0; i < d->n_series; i++) {
        const struct rr_series *s = &d->series[i];
        if (s->name == NULL || strcmp(s->metric, metric) != 0) {
            continue;
        }
        int k = group_of(g, s->name, true);
        if (k > 0) {
            (is_a ? g->in_a : g->in_b)[k] = true;
        }
    }
}

/* The rows that count: whole seconds of load, the first left out when 4 or more remain. */
static void usable_rows(const struct result_doc *d, size_t *first, size_t *end)
{
    double whole = floor(d->duration_ms / 1000.0 + 1e-6);
    size_t n = 0;
    while (n < d->n_rows && (double)d->rows[n].t < whole) {
        n++;
    }
    if (n == 0) {
        n = d->n_rows; /* a run under a second: take what there is */
    }
    *first = n >= 5 ? 1 : 0;
    *end = n;
}

/* Dense accumulation per group for one unit. */
struct dense {
    uint64_t *c; /* [group * PACKED_HIST_LEN + index] */
    uint32_t *lo, *hi;
};

static int build_units(const struct result_doc *d, struct groups *g, const char *metric,
                       struct dense *dn, struct runu *out)
{
    size_t first, end;
    usable_rows(d, &first, &end);
    size_t n = end - first;
    memset(out, 0, sizeof *out);
    out->n_groups = g->n;
    if (n == 0) {
        return -1;
    }
    out->window = (n + CMP_MAX_UNITS - 1) / CMP_MAX_UNITS;
    out->n_units = (n + out->window - 1) / out->window;
    out->secs = calloc(out->n_units, sizeof *out->secs);
    out->u = calloc(out->n_units * g->n, sizeof *out->u);
    int *map = calloc(d->n_series ? d->n_series : 1, sizeof *map);
    int rc = -ENOMEM;
    if (out->secs == NULL || out->u == NULL || map == NULL) {
        goto out;
    }
    enum { K_NONE, K_TREND, K_REQS, K_FAILED, K_CHECKS };
    int *kind = calloc(d->n_series ? d->n_series : 1, sizeof *kind);
    if (kind == NULL) {
        goto out;
    }
    for (size_t i = 0; i < d->n_series; i++) {
        const struct rr_series *s = &d->series[i];
        map[i] = s->name != NULL ? group_of(g, s->name, false) : -1;
        kind[i] = strcmp(s->metric, metric) == 0 && s->type == METRIC_TREND ? K_TREND
                  : strcmp(s->metric, "http_reqs") == 0                     ? K_REQS
                  : strcmp(s->metric, "http_req_failed") == 0               ? K_FAILED
                  : strcmp(s->metric, "checks") == 0                        ? K_CHECKS
                                                                            : K_NONE;
    }
    for (size_t k = 0; k < g->n; k++) {
        dn->lo[k] = UINT32_MAX;
        dn->hi[k] = 0;
    }
    for (size_t ui = 0; ui < out->n_units; ui++) {
        size_t r0 = first + ui * out->window, r1 = r0 + out->window < end ? r0 + out->window : end;
        struct unit *us = &out->u[ui * g->n];
        out->secs[ui] = (double)(r1 - r0);
        for (size_t ri = r0; ri < r1; ri++) {
            const struct rr_row *row = &d->rows[ri];
            for (size_t j = 0; j < row->n_recs; j++) {
                const struct rr_rec *rec = &row->recs[j];
                int kd = kind[rec->series], grp = map[rec->series];
                if (kd == K_NONE) {
                    continue;
                }
                if (kd == K_CHECKS) {
                    out->checks_pass += rec->trues;
                    out->checks_total += rec->n;
                    continue;
                }
                for (int pass = 0; pass < 2; pass++) {
                    int gi = pass == 0 ? 0 : grp;
                    if (gi < 0 || (pass == 1 && gi == 0)) {
                        continue;
                    }
                    struct unit *u = &us[gi];
                    if (kd == K_REQS) {
                        u->reqs += (uint64_t)llround(rec->sum);
                    } else if (kd == K_FAILED) {
                        u->failed += rec->trues;
                        u->total += rec->n;
                    } else if (rec->n > 0) {
                        if (u->count == 0 || rec->min_ns < u->min_ns) {
                            u->min_ns = rec->min_ns;
                        }
                        if (u->count == 0 || rec->max_ns > u->max_ns) {
                            u->max_ns = rec->max_ns;
                        }
                        u->count += rec->n;
                        u->sum_ns += rec->sum_ns;
                        uint64_t *c = &dn->c[(size_t)gi * PACKED_HIST_LEN];
                        for (uint32_t k = 0; k < rec->n_buckets; k++) {
                            c[rec->b[k].index] += rec->b[k].count;
                        }
                        if (rec->n_buckets > 0) {
                            if (rec->b[0].index < dn->lo[gi]) {
                                dn->lo[gi] = rec->b[0].index;
                            }
                            if (rec->b[rec->n_buckets - 1].index > dn->hi[gi]) {
                                dn->hi[gi] = rec->b[rec->n_buckets - 1].index;
                            }
                        }
                    }
                }
            }
        }
        /* dense -> sparse, and reset what was touched */
        for (size_t k = 0; k < g->n; k++) {
            if (dn->lo[k] > dn->hi[k]) {
                continue;
            }
            uint64_t *c = &dn->c[k * PACKED_HIST_LEN];
            uint32_t nb = 0;
            for (uint32_t i = dn->lo[k]; i <= dn->hi[k]; i++) {
                nb += c[i] != 0;
            }
            us[k].b = malloc((nb ? nb : 1) * sizeof *us[k].b);
            if (us[k].b == NULL) {
                free(kind);
                goto out;
            }
            for (uint32_t i = dn->lo[k]; i <= dn->hi[k]; i++) {
                if (c[i] != 0) {
                    /* a window's bucket may exceed 2^32 only past 4e9 requests */
                    us[k].b[us[k].nb++] =
                        (struct rr_bucket){i, c[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)c[i]};
                    c[i] = 0;
                }
            }
            dn->lo[k] = UINT32_MAX;
            dn->hi[k] = 0;
        }
    }
    free(kind);
    rc = 0;
out:
    free(map);
    return rc;
}

/* ---- figures of a set of units --------------------------------------------------- */

struct figs {
    double p50, p95, p99, mean, tput; /* ms, ms, ms, ms, /s */
    uint64_t count;
};

/* Nearest-rank quantiles from a dense compact histogram, bucket midpoints clamped. */
static void quantiles(const uint64_t *c, uint32_t lo, uint32_t hi, uint64_t total, uint64_t mn,
                      uint64_t mx, double *out, const double *qs, size_t nq)
{
    size_t qi = 0;
    uint64_t seen = 0;
    for (size_t k = 0; k < nq; k++) {
        out[k] = NAN;
    }
    if (total == 0) {
        return;
    }
    for (uint32_t i = lo; i <= hi && qi < nq; i++) {
        seen += c[i];
        while (qi < nq) {
            double r = ceil(qs[qi] * (double)total * (1 - 4e-16));
            uint64_t rank = r < 1 ? 1 : (uint64_t)r;
            if (seen < rank) {
                break;
            }
            uint64_t w;
            uint64_t low = packed_lowest(i, &w);
            double mid = (double)low + (double)(w >> 1);
            if (mid < (double)mn) {
                mid = (double)mn;
            }
            if (mid > (double)mx) {
                mid = (double)mx;
            }
            out[qi++] = mid / 1e6;
        }
    }
}

/* Figures of units picked[0..n) of group g; dense is a zeroed scratch (left zeroed). */
static void figures(const struct runu *r, size_t g, const size_t *picked, size_t n, uint64_t *dense,
                    struct figs *f)
{
    uint64_t count = 0, reqs = 0, mn = UINT64_MAX, mx = 0;
    double sum = 0, secs = 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t k = 0; k < n; k++) {
        const struct unit *u = &r->u[picked[k] * r->n_groups + g];
        secs += r->secs[picked[k]];
        reqs += u->reqs;
        if (u->count == 0) {
            continue;
        }
        count += u->count;
        sum += u->sum_ns;
        mn = u->min_ns < mn ? u->min_ns : mn;
        mx = u->max_ns > mx ? u->max_ns : mx;
        for (uint32_t i = 0; i < u->nb; i++) {
            dense[u->b[i].index] += u->b[i].count;
        }
        if (u->nb > 0) {
            lo = u->b[0].index < lo ? u->b[0].index : lo;
            hi = u->b[u->nb - 1].index > hi ? u->b[u->nb - 1].index : hi;
        }
    }
    static const double qs[3] = {0.50, 0.95, 0.99};
    double q[3];
    quantiles(dense, lo, hi, count, mn, mx, q, qs, 3);
    if (lo <= hi) {
        memset(&dense[lo], 0, (hi - lo + 1) * sizeof *dense);
    }
    f->p50 = q[0];
    f->p95 = q[1];
    f->p99 = q[2];
    f->mean = count ? sum / (double)count / 1e6 : NAN;
    f->tput = secs > 0 ? (double)reqs / secs : NAN;
    f->count = count;
}

/* ---- the low windows ------------------------------------------------------------ */

/*
 * A second in which the machine stalled (the generator or the target descheduled, a
 * noisy neighbour) holds hundreds of requests late by the stall: merged into the run, it
 * alone can move the run's p99, and the bootstrap, drawing it zero to three times, widens
 * the interval until a real 25% slowdown reads "no change".  The quantile rows therefore
 * judge a low quantile (o->window_q, CMP_WINDOW_Q: the 10th percentile) over the windows
 * of each window's own quantile, whenever every window of both runs has at least
 * CMP_WINDOW_MIN_SAMPLES requests of the group (so that a window's p99 rests on its own
 * tail).  Interference only ever adds latency, so the least disturbed seconds show the
 * build, and a real slowdown moves them too; the median window (window_q 0.5), used
 * before, gave way when half the baseline's seconds were disturbed (bench/README.md).
 * Otherwise (a group of a few requests a second) they judge the quantiles of the merged
 * windows.  The mean and the throughput always judge the merge.
 */
static bool window_quantiles(const struct runu *r, size_t g, uint64_t *dense, double (*wq)[3])
{
    if (r->n_units < 3) {
        return false;
    }
    for (size_t k = 0; k < r->n_units; k++) {
        struct figs f;
        figures(r, g, &k, 1, dense, &f);
        if (f.count < CMP_WINDOW_MIN_SAMPLES) {
            return false;
        }
        wq[k][0] = f.p50;
        wq[k][1] = f.p95;
        wq[k][2] = f.p99;
    }
    return true;
}

/* The q-quantile (0 < q <= 0.5; 0.5 the median; linear between order statistics) over
 * windows picked[0..n) (n <= CMP_MAX_UNITS) of each of the 3 quantiles. */
static void quantile_windows(const double (*wq)[3], const size_t *picked, size_t n, double q,
                             double *out)
{
    double v[CMP_MAX_UNITS] = {0};
    double h = n > 0 ? q * (double)(n - 1) : 0;
    size_t lo = (size_t)floor(h);
    double frac = h - (double)lo;
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++) {
            v[i] = wq[picked[i]][k];
        }
        /* insertion sort: n is at most 60 */
        for (size_t i = 1; i < n; i++) {
            double x = v[i];
            size_t j = i;
            while (j > 0 && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        out[k] = n == 0 ? NAN : lo + 1 < n ? v[lo] + frac * (v[lo + 1] - v[lo]) : v[lo];
    }
}

/* ---- the bootstrap --------------------------------------------------------------- */

static size_t block_len(size_t n_units)
{
    size_t l = (size_t)floor(cbrt((double)n_units) + 1e-9);
    return l < 1 ? 1 : l;
}

/* A moving-block resample of n units with blocks of l into picked[0..n). */
static void resample(size_t n, size_t l, uint64_t *rng, size_t *picked)
{
    size_t k = 0;
    while (k < n) {
        size_t start = (size_t)(rng_next(rng) % (uint64_t)(n - l + 1));
        for (size_t j = 0; j < l && k < n; j++) {
            picked[k++] = start + j;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Student's t quantile t_{p, nu} (p > 0.5) by the Cornish-Fisher expansion around the
 * normal quantile z: within 3% for nu >= 2, which is all an interval's width needs. */
static double t_quantile(double z, double nu)
{
    double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;
    return z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu * nu) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu * nu * nu);
}

static double z_of_alpha(double alpha);

/*
 * The interval of v[0..n) (sorted here; NaNs dropped): Hesterberg's expanded percentile
 * interval.  A plain percentile bootstrap is too narrow with few windows (it knows only
 * the spread of the windows it has and divides by n, not n - 1); the expanded one takes
 * the percentiles at alpha' / 2 and 1 - alpha' / 2 with
 *     z_{alpha'/2} = sqrt(n / (n - 1)) t_{alpha/2, n - 1}
 * where n is the number of independent blocks of the smaller run.  With 60 windows it
 * is the ordinary 95% interval to within a percent of its width; with 3 it is the whole
 * range of the replicates.
 */
static void interval(double *v, size_t n, double conf, size_t blocks, double *lo, double *hi)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            v[m++] = v[i];
        }
    }
    if (m < 10 || blocks < 2) {
        *lo = *hi = NAN;
        return;
    }
    qsort(v, m, sizeof *v, cmp_double);
    /* Each bound is one-sided at conf: a regression is "the lower 95% bound exceeds
     * 1.2" (ANALYSIS, decision rule), a one-sided question, and an improvement the same
     * on the upper bound; together they span a two-sided 1 - 2 (1 - conf) interval.  The
     * two-sided 95% interval taken before cost detection (bench/compare.sh) and bought
     * nothing against false alarms: same-build bounds stay within a few percent of 1. */
    double a = 1 - conf;
    double nb = (double)blocks;
    double zx = sqrt(nb / (nb - 1)) * t_quantile(z_of_alpha(a), nb - 1);
    double ax = 0.5 * erfc(zx / sqrt(2.0)); /* upper tail of the normal at zx */
    size_t il = (size_t)floor(ax * (double)(m - 1));
    size_t ih = (size_t)ceil((1 - ax) * (double)(m - 1));
    *lo = v[il];
    *hi = v[ih > m - 1 ? m - 1 : ih];
}

/* ---- verdicts -------------------------------------------------------------------- */

static enum cmp_verdict judge_ratio(double lo, double hi, bool higher_is_worse,
                                    const struct cmp_options *o)
{
    if (isnan(lo) || isnan(hi)) {
        return CMP_NA;
    }
    if (!higher_is_worse) { /* throughput: judge time per request, 1/ratio */
        double l = 1 / hi, h = 1 / lo;
        lo = l;
        hi = h;
    }
    if (lo > 1 + o->critical) {
        return CMP_CRITICAL;
    }
    if (lo > 1 + o->regression) {
        return CMP_REGRESSION;
    }
    if (hi < 1 / (1 + o->regression)) {
        return CMP_IMPROVED;
    }
    return CMP_SAME;
}

/* One-sided two-proportion z-test of "b's rate is higher than a's". */
static double z_two_prop(uint64_t fa, uint64_t na, uint64_t fb, uint64_t nb)
{
    if (na == 0 || nb == 0) {
        return NAN;
    }
    double pa = (double)fa / (double)na, pb = (double)fb / (double)nb;
    double p = (double)(fa + fb) / (double)(na + nb);
    double se = sqrt(p * (1 - p) * (1 / (double)na + 1 / (double)nb));
    if (se == 0) {
        return pb == pa ? 0 : (pb > pa ? INFINITY : -INFINITY);
    }
    return (pb - pa) / se;
}

/* Inverse of the standard normal upper tail (Acklam's rational approximation). */
static double z_of_alpha(double alpha)
{
    double p = 1 - alpha;
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p <= 0.5) {
        return 0;
    }
    if (p > 1 - 0.02425) {
        double q = sqrt(-2 * log(1 - p));
        return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

static enum cmp_verdict judge_rate(double z, double delta, const struct cmp_options *o)
{
    if (isnan(z)) {
        return CMP_NA;
    }
    double zc = z_of_alpha(o->alpha);
    if (z > zc && delta >= o->err_critical) {
        return CMP_CRITICAL;
    }
    if (z > zc && delta >= o->err_limit) {
        return CMP_REGRESSION;
    }
    if (z < -zc && -delta >= o->err_limit) {
        return CMP_IMPROVED;
    }
    return CMP_SAME;
}

static struct cmp_row *add_row(struct cmp_report *r, size_t *cap)
{
    if (r->n_rows == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        struct cmp_row *rows = realloc(r->rows, nc * sizeof *rows);
        if (rows == NULL) {
            return NULL;
        }
        r->rows = rows;
        *cap = nc;
    }
    struct cmp_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    row->lo = row->hi = NAN;
    return row;
}

static double ratio_change(double base, double cur)
{
    return base > 0 && isfinite(base) && isfinite(cur) ? cur / base - 1 : NAN;
}

int compare_runs(const struct result_doc *a, const struct result_doc *b,
                 const struct cmp_options *o, struct cmp_report *out, char *err, size_t err_len)
{
    struct groups g = {.n = 1};
    struct runu ua = {0}, ub = {0};
    struct dense dn = {0};
    uint64_t *scratch = NULL;
    size_t *pa = NULL, *pb = NULL;
    double(*wqa)[3] = NULL, (*wqb)[3] = NULL;
    double *ratios = NULL;
    size_t cap = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->n_differences = compare_load_differences(a, b, out->differences, CMP_MAX_NOTES);
    if (out->n_differences > 0 && !o->force) {
        out->incomparable = true;
        return 0;
    }
    if (a->digest[0] && b->digest[0] && strcmp(a->digest, b->digest) != 0) {
        add_line(out->notes, CMP_MAX_NOTES, &out->n_notes,
                 "the scenario file changed between the runs (digest %.12s vs %.12s)", a->digest,
                 b->digest);
    }
    if (num_differs(a->load.duration_ms, b->load.duration_ms)) {
        add_line(out->notes, CMP_MAX_NOTES, &out->n_notes,
                 "planned durations differ (%.0f ms vs %.0f ms): figures are per second",
                 a->load.duration_ms, b->load.duration_ms);
    }
    collect_names(&g, a, o->metric, true);
    collect_names(&g, b, o->metric, false);
    if (g.n == 2 && g.in_a[1] && g.in_b[1]) {
        g.n = 1; /* one request name in both: its figures are those of all requests */
        free(g.names[1]);
    }
    if (g.dropped > 0) {
        add_line(out->notes, CMP_MAX_NOTES, &out->n_notes,
                 "%zu request names beyond the first %d are compared within all requests only",
                 g.dropped, CMP_MAX_GROUPS - 1);
    }
    dn.c = calloc(g.n * PACKED_HIST_LEN, sizeof *dn.c);
    dn.lo = calloc(g.n, sizeof *dn.lo);
    dn.hi = calloc(g.n, sizeof *dn.hi);
    scratch = calloc(PACKED_HIST_LEN, sizeof *scratch);
    if (dn.c == NULL || dn.lo == NULL || dn.hi == NULL || scratch == NULL) {
        snprintf(err, err_len, "compare: out of memory");
        goto out;
    }
    int ra = build_units(a, &g, o->metric, &dn, &ua);
    int rb = ra == 0 ? build_units(b, &g, o->metric, &dn, &ub) : 0;
    if (ra < 0 || rb < 0) {
        snprintf(err, err_len, "compare: %s",
                 ra == -1 || rb == -1 ? "a run has no second of load to compare (too short?)"
                                      : "out of memory");
        goto out;
    }
    out->units_base = ua.n_units;
    out->units_cur = ub.n_units;
    out->window_s_base = (double)ua.window;
    out->window_s_cur = (double)ub.window;
    out->block_base = block_len(ua.n_units);
    out->block_cur = block_len(ub.n_units);
    unsigned R = o->resamples < 10 ? 10 : o->resamples;
    R = R > CMP_MAX_RESAMPLES ? CMP_MAX_RESAMPLES : R;
    pa = malloc(ua.n_units * sizeof *pa);
    pb = malloc(ub.n_units * sizeof *pb);
    wqa = malloc(ua.n_units * sizeof *wqa);
    wqb = malloc(ub.n_units * sizeof *wqb);
    ratios = malloc((size_t)R * 5 * sizeof *ratios);
    if (pa == NULL || pb == NULL || ratios == NULL || wqa == NULL || wqb == NULL) {
        snprintf(err, err_len, "compare: out of memory");
        goto out;
    }
    /* independent blocks of the smaller run, for the interval's small-sample expansion */
    size_t blocks_a = ua.n_units / out->block_base, blocks_b = ub.n_units / out->block_cur;
    size_t blocks = blocks_a < blocks_b ? blocks_a : blocks_b;
    if (blocks < 2) {
        add_line(out->notes, CMP_MAX_NOTES, &out->n_notes,
                 "too few windows (%zu and %zu seconds) to judge latency and throughput: run "
                 "each test for at least 3 seconds",
                 ua.n_units, ub.n_units);
    }
    for (size_t gi = 0; gi < g.n; gi++) {
        const char *gname = gi == 0 ? "all requests" : g.names[gi];
        if (gi > 0 && (!g.in_a[gi] || !g.in_b[gi])) {
            add_line(out->notes, CMP_MAX_NOTES, &out->n_notes, "request '%s' is only in the %s",
                     gname, g.in_a[gi] ? "baseline" : "new run");
            continue;
        }
        struct figs fa, fb;
        for (size_t k = 0; k < ua.n_units; k++) {
            pa[k] = k;
        }
        for (size_t k = 0; k < ub.n_units; k++) {
            pb[k] = k;
        }
        figures(&ua, gi, pa, ua.n_units, scratch, &fa);
        figures(&ub, gi, pb, ub.n_units, scratch, &fb);
        if (fa.count == 0 && fb.count == 0) {
            continue;
        }
        /* the quantiles of each window, and whether every window has enough requests
         * for them to mean something (then the quantile rows judge the median window) */
        bool windowed =
            window_quantiles(&ua, gi, scratch, wqa) && window_quantiles(&ub, gi, scratch, wqb);
        double mwa[3], mwb[3];
        double wq = o->window_q > 0 && o->window_q <= 0.5 ? o->window_q : CMP_WINDOW_Q;
        if (windowed) {
            quantile_windows(wqa, pa, ua.n_units, wq, mwa);
            quantile_windows(wqb, pb, ub.n_units, wq, mwb);
        }
        uint64_t rng = o->seed * RNG_GOLDEN + gi;
        for (unsigned rep = 0; rep < R; rep++) {
            struct figs xa, xb;
            resample(ua.n_units, out->block_base, &rng, pa);
            resample(ub.n_units, out->block_cur, &rng, pb);
            figures(&ua, gi, pa, ua.n_units, scratch, &xa);
            figures(&ub, gi, pb, ub.n_units, scratch, &xb);
            if (windowed) {
                double ma[3], mb[3];
                quantile_windows(wqa, pa, ua.n_units, wq, ma);
                quantile_windows(wqb, pb, ub.n_units, wq, mb);
                xa.p50 = ma[0], xa.p95 = ma[1], xa.p99 = ma[2];
                xb.p50 = mb[0], xb.p95 = mb[1], xb.p99 = mb[2];
            }
            ratios[0 * R + rep] = xb.p50 / xa.p50;
            ratios[1 * R + rep] = xb.p95 / xa.p95;
            ratios[2 * R + rep] = xb.p99 / xa.p99;
            ratios[3 * R + rep] = xb.mean / xa.mean;
            ratios[4 * R + rep] = xb.tput / xa.tput;
        }
        static const char *const names[5] = {"p50", "p95", "p99", "mean", "throughput"};
        const double base[5] = {fa.p50, fa.p95, fa.p99, fa.mean, fa.tput};
        const double cur[5] = {fb.p50, fb.p95, fb.p99, fb.mean, fb.tput};
        for (int m = 0; m < 5; m++) {
            struct cmp_row *row = add_row(out, &cap);
            if (row == NULL) {
                snprintf(err, err_len, "compare: out of memory");
                goto out;
            }
            snprintf(row->group, sizeof row->group, "%s", gname);
            snprintf(row->figure, sizeof row->figure, "%s", names[m]);
            snprintf(row->unit, sizeof row->unit, "%s", m == 4 ? "/s" : "ms");
            row->kind = m == 4 ? CMP_THROUGHPUT : CMP_LATENCY;
            row->base = base[m];
            row->cur = cur[m];
            row->change = ratio_change(base[m], cur[m]);
            row->windowed = windowed && m < 3;
            if (row->windowed) { /* the change the interval is about */
                row->change = ratio_change(mwa[m], mwb[m]);
            }
            interval(&ratios[(size_t)m * R], R, o->confidence, blocks, &row->lo, &row->hi);
            row->verdict = judge_ratio(row->lo, row->hi, m != 4, o);
        }
        /* error rate of this group */
        uint64_t fa_f = 0, fa_n = 0, fb_f = 0, fb_n = 0;
        for (size_t k = 0; k < ua.n_units; k++) {
            fa_f += ua.u[k * g.n + gi].failed;
            fa_n += ua.u[k * g.n + gi].total;
        }
        for (size_t k = 0; k < ub.n_units; k++) {
            fb_f += ub.u[k * g.n + gi].failed;
            fb_n += ub.u[k * g.n + gi].total;
        }
        struct cmp_row *row = add_row(out, &cap);
        if (row == NULL) {
            snprintf(err, err_len, "compare: out of memory");
            goto out;
        }
        snprintf(row->group, sizeof row->group, "%s", gname);
        snprintf(row->figure, sizeof row->figure, "error rate");
        snprintf(row->unit, sizeof row->unit, "%%");
        row->kind = CMP_RATE;
        row->base = fa_n ? 100.0 * (double)fa_f / (double)fa_n : NAN;
        row->cur = fb_n ? 100.0 * (double)fb_f / (double)fb_n : NAN;
        row->change = (row->cur - row->base) / 100.0;
        row->lo = z_two_prop(fa_f, fa_n, fb_f, fb_n);
        row->verdict = judge_rate(row->lo, row->change, o);
    }
    if (ua.checks_total > 0 || ub.checks_total > 0) {
        struct cmp_row *row = add_row(out, &cap);
        if (row == NULL) {
            snprintf(err, err_len, "compare: out of memory");
            goto out;
        }
        uint64_t fa_f = ua.checks_total - ua.checks_pass, fb_f = ub.checks_total - ub.checks_pass;
        snprintf(row->group, sizeof row->group, "all requests");
        snprintf(row->figure, sizeof row->figure, "checks failed");
        snprintf(row->unit, sizeof row->unit, "%%");
        row->kind = CMP_RATE;
        row->base = ua.checks_total ? 100.0 * (double)fa_f / (double)ua.checks_total : NAN;
        row->cur = ub.checks_total ? 100.0 * (double)fb_f / (double)ub.checks_total : NAN;
        row->change = (row->cur - row->base) / 100.0;
        row->lo = z_two_prop(fa_f, ua.checks_total, fb_f, ub.checks_total);
        row->verdict = judge_rate(row->lo, row->change, o);
    }
    /* Metrics beyond the built-ins (probe figures, custom metrics) present in both:
     * informational, their run values only. */
    for (size_t i = 0; i < a->n_extras; i++) {
        for (size_t j = 0; j < b->n_extras; j++) {
            if (strcmp(a->extras[i].metric, b->extras[j].metric) != 0 ||
                a->extras[i].type != b->extras[j].type) {
                continue;
            }
            struct cmp_row *row = add_row(out, &cap);
            if (row == NULL) {
                snprintf(err, err_len, "compare: out of memory");
                goto out;
            }
            snprintf(row->group, sizeof row->group, "%s", a->extras[i].metric);
            snprintf(row->figure, sizeof row->figure, "%s",
                     a->extras[i].type == METRIC_TREND   ? "avg"
                     : a->extras[i].type == METRIC_GAUGE ? "value"
                                                         : "rate");
            row->kind = CMP_INFO;
            row->base = a->extras[i].value;
            row->cur = b->extras[j].value;
            row->change = ratio_change(row->base, row->cur);
            row->verdict = CMP_NA;
        }
    }
    out->worst = CMP_NA;
    for (size_t i = 0; i < out->n_rows; i++) {
        enum cmp_verdict v = out->rows[i].verdict;
        if (v == CMP_NA) {
            continue;
        }
        /* severity order: critical > regression > improved/no change */
        int rank_v = v == CMP_CRITICAL ? 3 : v == CMP_REGRESSION ? 2 : 1;
        int rank_w = out->worst == CMP_CRITICAL     ? 3
                     : out->worst == CMP_REGRESSION ? 2
                     : out->worst == CMP_NA         ? 0
                                                    : 1;
        if (rank_v > rank_w) {
            out->worst = v == CMP_IMPROVED ? CMP_SAME : v;
        }
    }
    rc = 0;
out:
    runu_free(&ua);
    runu_free(&ub);
    for (size_t i = 1; i < g.n; i++) {
        free(g.names[i]);
    }
    free(dn.c);
    free(dn.lo);
    free(dn.hi);
    free(scratch);
    free(pa);
    free(wqa);
    free(wqb);
    free(pb);
    free(ratios);
    if (rc < 0) {
        cmp_report_destroy(out);
    }
    return rc;
}

void cmp_report_destroy(struct cmp_report *r)
{
    free(r->rows);
    r->rows = NULL;
    r->n_rows = 0;
}
