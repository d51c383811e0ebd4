/*
 * cli/capacity — `brunt capacity --slo EXPR... URL|FILE`: the highest arrival rate the
 * target holds within the objectives (analysis/capacity does the search; this file runs
 * each step on the engine and judges it).
 *
 * A step is an open-model run (constant-arrival-rate) of the URL's request, or of the
 * scenario file's first scenario's flow, at one rate.  Its first second(s) settle; the
 * objectives are judged over the seconds after that, from the per-second records of the
 * time series (counters and rates exactly, latency trends at the compact resolution).
 * A step also fails when the service answered fewer than 98% of the requests that
 * arrived in the window (the backlog grows: overload), when the generator could not keep
 * the schedule (fewer than 98% of
 * the planned iterations started, or iterations dropped: the service fell behind and the
 * VUs ran out), and it stops early as soon as an objective fails after the settling
 * time (abortOnFail) or iterations are dropped.  A step where brunt's own worker was
 * busier than 90% of a core says nothing about the target: the search stops there.
 *
 * Exit codes: 0 a rate held (and was confirmed), 2 bad input, 3 unreachable, 104 invalid
 * scenario file, 105 interrupted, 114 nothing held (even the lowest rate broke) or the
 * answer is not known to the precision (budget, generator saturated).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/capacity.h"
#include "analysis/usl.h"
#include "cli/cli.h"
#include "cli/dbprobe.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/json.h"
#include "core/parse.h"
#include "engine/run.h"
#include "metrics/packed.h"
#include "metrics/threshold.h"
#include "output/result.h"
#include "probe/pg.h"
#include "probe/probe.h"
#include "probe/proc.h"
#include "scenario/load.h"

#define MAX_SLOS 32
#define MAX_CAP_HEADERS 64
#define MAX_CAP_WATCH 8

struct cap_ctx {
    struct plan *plan;
    const char *slo_src[MAX_SLOS];
    size_t n_slos;
    struct threshold *file_th; /* the scenario file's thresholds: objectives too */
    size_t n_file_th;
    uint64_t settle_ns;
    uint64_t vus, max_vus; /* 0: from the rate */
    bool quiet;
    bool drain;        /* the last step broke: let the target work off its backlog first */
    double base_ms;    /* a lone request's duration, measured before the search */
    uint64_t drain_ns; /* time spent draining, in all */
    const char *watch[MAX_CAP_WATCH]; /* --watch PID|NAME: the target's CPU per step */
    size_t n_watch;
    const char *pg_dsn; /* --postgres DSN: the database's connections per step */
    bool closed;        /* --concurrency: the step's "rate" is a number of VUs */
};

/*
 * One request alone (closed model, one VU, one iteration); its duration in ms, or NAN.
 * Used to measure the target at rest before the search, and after a step that broke to
 * wait until the backlog the overload left in the target's queues is gone: a step must
 * not inherit its predecessor's queue.
 */
static double lone_request_ms(struct cap_ctx *c)
{
    struct scenario_plan *sc = &c->plan->scenarios[0];
    struct scenario_plan saved = *sc;
    sc->executor = EXEC_SHARED_ITERATIONS;
    sc->vus = 1;
    sc->iterations = 1;
    sc->duration_ns = 30 * NS_PER_S;
    sc->n_stages = 0;
    int threads = c->plan->threads;
    c->plan->threads = 1;
    struct run_report rep;
    double ms = NAN;
    if (engine_run(c->plan, NULL, 0, NULL, &rep) == 0 && !rep.interrupted) {
        struct hist *h = hist_new();
        if (h != NULL) {
            struct series s = {.hist = h};
            registry_aggregate(rep.total, M_HTTP_REQ_DURATION, NULL, &s);
            ms = hist_count(h) ? hist_mean_ns(h) / 1e6 : NAN;
            hist_free(h);
        }
    }
    run_report_destroy(&rep);
    c->plan->threads = threads;
    *sc = saved;
    return ms;
}

/* Waits (at most 60 s) until a lone request takes at most twice its time at rest. */
static void drain(struct cap_ctx *c)
{
    uint64_t t0 = clock_now_ns();
    while (clock_now_ns() - t0 < 60 * NS_PER_S) {
        double ms = lone_request_ms(c);
        if (!isfinite(c->base_ms) || (isfinite(ms) && ms <= 2 * c->base_ms + 1)) {
            break;
        }
    }
    c->drain_ns += clock_now_ns() - t0;
}

/* ---- the objectives over a window of seconds ------------------------------------- */

/* Rebuilds, from the per-second records of rows with t >= first_t (whole seconds only),
 * a registry of counters, rates and latency trends.  NULL when out of memory. */
static struct registry *window_registry(const struct run_report *r, uint32_t first_t,
                                        uint32_t end_t, double *secs)
{
    struct registry *reg = registry_new();
    size_t n_total = r->total ? registry_len(r->total) : 0;
    uint64_t *mn = calloc(n_total ? n_total : 1, sizeof *mn);
    uint64_t *mx = calloc(n_total ? n_total : 1, sizeof *mx);
    double *sum = calloc(n_total ? n_total : 1, sizeof *sum);
    int *map = malloc((n_total ? n_total : 1) * sizeof *map);
    *secs = 0;
    if (reg == NULL || mn == NULL || mx == NULL || sum == NULL || map == NULL) {
        registry_free(reg);
        reg = NULL;
        goto out;
    }
    for (size_t i = 0; i < n_total; i++) {
        map[i] = -1;
    }
    for (size_t k = 0; k < r->n_rows; k++) {
        const struct ts_row *row = &r->rows[k];
        if (row->t < first_t || row->t >= end_t) {
            continue;
        }
        *secs += 1;
        size_t off = 0;
        struct packed_rec rec;
        while (packed_next(row->packed, row->packed_len, &off, &rec) == 1) {
            if (rec.series >= n_total) {
                continue;
            }
            if (map[rec.series] < 0) {
                const struct series *src = registry_at_const(r->total, (int)rec.series);
                map[rec.series] = registry_get(reg, src->metric, src->tags);
                if (map[rec.series] < 0) {
                    continue;
                }
            }
            struct series *d = registry_at(reg, map[rec.series]);
            if (rec.type == METRIC_COUNTER) {
                d->sum += rec.sum;
                d->total += rec.total;
            } else if (rec.type == METRIC_RATE) {
                d->trues += rec.trues;
                d->total += rec.total;
            } else if (rec.type == METRIC_TREND && d->hist != NULL) {
                bool first = hist_count(d->hist) == 0;
                struct packed_bucket_it it;
                uint32_t idx;
                uint64_t c, w;
                packed_buckets_begin(&it, &rec);
                while (packed_buckets_next(&it, &idx, &c)) {
                    uint64_t low = packed_lowest(idx, &w);
                    hist_record_n(d->hist, low + w / 2, c);
                }
                mn[rec.series] = first || rec.min_ns < mn[rec.series] ? rec.min_ns : mn[rec.series];
                mx[rec.series] = rec.max_ns > mx[rec.series] ? rec.max_ns : mx[rec.series];
                sum[rec.series] += rec.sum_ns;
            }
        }
    }
    for (size_t i = 0; i < n_total; i++) {
        if (map[i] >= 0) {
            struct series *d = registry_at(reg, map[i]);
            if (d->hist != NULL && hist_count(d->hist) > 0) {
                hist_set_exact(d->hist, mn[i], mx[i], sum[i]);
            }
        }
    }
out:
    free(mn);
    free(mx);
    free(sum);
    free(map);
    return reg;
}

static void add_broke(struct cap_step *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_broke(struct cap_step *st, const char *fmt, ...)
{
    if (st->n_broke < CAP_MAX_BROKE) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->broke[st->n_broke++], sizeof st->broke[0], fmt, ap);
        va_end(ap);
    }
}

static double q_ms(const struct registry *reg, int metric, double q, struct hist *h)
{
    struct series s = {.hist = h};
    registry_aggregate(reg, metric, NULL, &s);
    return hist_count(h) ? (double)hist_quantile_ns(h, q) / 1e6 : NAN;
}

/* ---- the resources a step watched ------------------------------------------------ */

/*
 * The probes of one step: a fresh set per step (each step is its own engine run, whose
 * start the set's intervals are aligned to).  NULL when nothing is watched; exits the
 * search (NULL with *failed) when a required probe cannot start.
 */
static struct probe_set *step_probes(const struct cap_ctx *c, bool *failed)
{
    char err[1024];
    *failed = false;
    if (c->n_watch == 0 && c->pg_dsn == NULL) {
        return NULL;
    }
    struct probe_set *ps = probe_set_new(PROBE_INTERVAL_NS);
    if (ps == NULL) {
        goto fail;
    }
    if (c->n_watch > 0) {
        struct proc_probe *pp = proc_probe_new();
        if (pp == NULL) {
            goto fail;
        }
        for (size_t i = 0; i < c->n_watch; i++) {
            (void)proc_probe_add(pp, c->watch[i], NULL, NULL); /* checked by the flag */
        }
        if (probe_set_add(ps, proc_probe_as_probe(pp), true) < 0) {
            goto fail;
        }
    }
    if (c->pg_dsn != NULL) {
        /* the closing snapshot (query statistics) is not used here: no settling wait */
        struct pg_probe_config cfg = {.dsn = c->pg_dsn, .settle_max_ns = 1};
        struct probe p;
        if (pg_probe_new(&cfg, &p, err, sizeof err) < 0 || probe_set_add(ps, p, true) < 0) {
            fprintf(stderr, "brunt capacity: %s\n", err);
            goto fail;
        }
    }
    if (probe_set_start(ps, err, sizeof err) < 0) {
        fprintf(stderr, "brunt capacity: %s\n", err);
        goto fail;
    }
    return ps;
fail:
    probe_set_free(ps);
    *failed = true;
    return NULL;
}

static double series_mean(const struct registry *reg, int metric, const char *tags)
{
    int i = metric >= 0 ? registry_find(reg, metric, tags) : -1;
    const struct series *s = i >= 0 ? registry_at_const(reg, i) : NULL;
    return s != NULL && s->hist != NULL && hist_count(s->hist) > 0
               ? hist_mean_ns(s->hist) / metric_trend_div(metric)
               : NAN;
}

/*
 * The busiest watched target's CPU demand over the window, % of the CPUs it may use:
 * what it used (process_cpu) scaled by (used + waited for in the run queue) / used, so a
 * target starved of CPU by a busy machine shows as saturated too.  NAN: not watched.
 */
static double target_cpu_demand(const struct registry *reg)
{
    int m_cpu = metric_lookup("process_cpu", 11), m_core = metric_lookup("process_cpu_core", 16),
        m_wait = metric_lookup("process_cpu_wait", 16);
    double best = NAN;
    for (size_t i = 0; reg != NULL && m_cpu >= 0 && i < registry_len(reg); i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric != m_cpu) {
            continue;
        }
        double cpu = series_mean(reg, m_cpu, s->tags), core = series_mean(reg, m_core, s->tags),
               wait = series_mean(reg, m_wait, s->tags);
        double d = isfinite(core) && core > 0 && isfinite(wait) ? cpu * (1 + wait / core) : cpu;
        d = d > 100 ? 100 : d;
        best = isfinite(d) && !(d <= best) ? d : best;
    }
    return best;
}

/* The database's client connections, % of max_connections, over the window. */
static double db_connections(const struct registry *reg)
{
    int m = metric_lookup("pg_connections_used", 19);
    double best = NAN;
    for (size_t i = 0; reg != NULL && m >= 0 && i < registry_len(reg); i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        double v = s->metric == m ? series_mean(reg, m, s->tags) : NAN;
        best = isfinite(v) && !(v <= best) ? v : best;
    }
    return best;
}

/* ---- one step -------------------------------------------------------------------- */

static int run_step(double rate, uint64_t dur, bool confirm, struct cap_step *out, void *data)
{
    struct cap_ctx *c = data;
    struct scenario_plan *sc = &c->plan->scenarios[0];
    struct threshold th[MAX_SLOS + 2];
    size_t n_th = 0;
    char err[1024];
    int rc = 0;
    (void)confirm;

    memset(th, 0, sizeof th);
    if (c->drain) {
        drain(c);
        c->drain = false;
    }
    sc->executor = c->closed ? EXEC_CONSTANT_VUS : EXEC_CONSTANT_ARRIVAL_RATE;
    sc->vus = c->closed ? (uint32_t)rate : 0;
    sc->rate = rate;
    sc->start_rate = rate;
    sc->time_unit_ns = NS_PER_S;
    sc->duration_ns = dur;
    sc->start_time_ns = 0;
    sc->n_stages = 0;
    uint64_t maxv = c->max_vus ? c->max_vus : (uint64_t)ceil(rate * 1.0);
    maxv = maxv < 50 ? 50 : maxv > 50000 ? 50000 : maxv;
    uint64_t pre = c->vus ? c->vus : (uint64_t)ceil(rate * 0.05) + 10;
    sc->max_vus = (uint32_t)maxv;
    sc->pre_allocated_vus = (uint32_t)(pre < maxv ? pre : maxv);
    sc->max_queue_ns = NS_PER_S;
    sc->graceful_stop_ns = NS_PER_S;
    c->plan->grace_ns = NS_PER_S;
    /* the objectives, fresh each step, stopping an overloaded step early */
    for (size_t i = 0; i < c->n_slos; i++) {
        if (threshold_parse_flag(c->slo_src[i], &th[n_th], err, sizeof err) < 0) {
            rc = -EINVAL;
            goto out;
        }
        th[n_th].abort_on_fail = true;
        th[n_th].delay_abort_eval_ns = c->settle_ns + NS_PER_S;
        n_th++;
    }
    /* backlog: the VUs ran out and iterations waited past max_queue */
    if (threshold_parse_flag("dropped_iterations:count<1,abortOnFail", &th[n_th], err, sizeof err) <
        0) {
        rc = -EINVAL;
        goto out;
    }
    th[n_th].delay_abort_eval_ns = c->settle_ns;
    size_t i_dropped = n_th++;

    bool probes_failed;
    struct probe_set *ps = step_probes(c, &probes_failed);
    if (probes_failed) {
        rc = -ESRCH;
        goto out;
    }
    struct run_feed feed;
    struct run_options ro = {0};
    if (ps != NULL) {
        probe_set_feed(ps, &feed);
        ro.feed = &feed;
    }
    struct run_report rep;
    rc = engine_run(c->plan, th, n_th, ps != NULL ? &ro : NULL, &rep);
    probe_set_free(ps); /* stops the sampling first */
    if (rc < 0) {
        run_report_destroy(&rep);
        goto out;
    }
    out->ran_ns = rep.duration_ns;
    out->aborted = rep.aborted;
    out->interrupted = rep.interrupted;
    out->busy = rep.max_worker_busy;
    /* the window: whole seconds after the settling time */
    uint32_t first_t = (uint32_t)(c->settle_ns / NS_PER_S);
    uint32_t end_t = (uint32_t)(rep.duration_ns / NS_PER_S);
    if (end_t <= first_t) {
        first_t = 0; /* stopped before it settled: judge what there is */
    }
    double secs = 0;
    struct registry *win = window_registry(&rep, first_t, end_t, &secs);
    const struct registry *judge = win != NULL && secs >= 1 ? win : rep.total;
    double judge_s = win != NULL && secs >= 1 ? secs : (double)rep.duration_ns / 1e9;
    struct hist *scratch = hist_new();
    if (scratch == NULL) {
        registry_free(win);
        run_report_destroy(&rep);
        rc = -ENOMEM;
        goto out;
    }
    struct series s = {0};
    registry_aggregate(judge, M_ITERATIONS, NULL, &s);
    out->achieved = judge_s > 0 ? s.sum / judge_s : 0;
    memset(&s, 0, sizeof s);
    registry_aggregate(judge, M_HTTP_REQS, NULL, &s);
    out->completed = judge_s > 0 ? s.sum / judge_s : 0;
    memset(&s, 0, sizeof s);
    registry_aggregate(judge, M_HTTP_REQ_FAILED, NULL, &s);
    out->error_rate = s.total ? (double)s.trues / (double)s.total : 0;
    out->p50_ms = q_ms(judge, M_HTTP_REQ_DURATION, 0.50, scratch);
    out->p95_ms = q_ms(judge, M_HTTP_REQ_DURATION, 0.95, scratch);
    out->p99_ms = q_ms(judge, M_HTTP_REQ_DURATION, 0.99, scratch);
    if (c->n_watch > 0) {
        out->target_cpu_pct = target_cpu_demand(judge);
    }
    if (c->pg_dsn != NULL) {
        out->db_conn_pct = db_connections(judge);
    }
    out->pass = true;
    /* objectives over the window; those the window lacks (per-phase trends) over the
     * whole step */
    for (size_t i = 0; i < i_dropped; i++) {
        bool in_window = judge == win && packed_keeps_trend(th[i].metric);
        bool not_trend = metric_info[th[i].metric].type != METRIC_TREND;
        const struct registry *reg = in_window || not_trend ? judge : rep.total;
        double el = reg == judge ? judge_s : (double)rep.duration_ns / 1e9;
        bool ok = threshold_eval(&th[i], reg, el, scratch);
        if (!ok || (rep.aborted && th[i].failed)) {
            out->pass = false;
            char what[256];
            snprintf(what, sizeof what, "%s %s", th[i].metric_expr, th[i].source);
            add_broke(out, "%.100s (observed %g)", what, th[i].observed);
        }
    }
    for (size_t i = 0; i < c->n_file_th; i++) {
        if (!threshold_eval(&c->file_th[i], judge, judge_s, scratch)) {
            out->pass = false;
            char what[256];
            snprintf(what, sizeof what, "%s %s", c->file_th[i].metric_expr, c->file_th[i].source);
            add_broke(out, "%.100s (observed %g)", what, c->file_th[i].observed);
        }
    }
    if (!c->closed && th[i_dropped].failed) {
        out->pass = false;
        add_broke(out, "%s: the service fell behind the arrival rate (%g iterations dropped)",
                  "backlog", th[i_dropped].observed);
    }
    /* Overload in an open model: the service completes fewer requests than arrive and the
     * backlog grows (a couple of requests of slack for the window's edges). */
    double per_iter = 0;
    for (size_t k = 0; k < sc->n_steps; k++) {
        per_iter += sc->steps[k].kind == STEP_REQUEST;
    }
    per_iter = per_iter > 0 ? per_iter : 1;
    if (!c->closed && judge_s > 0 &&
        (out->completed * judge_s + 2) < 0.98 * rate * per_iter * judge_s) {
        out->pass = false;
        add_broke(out, "backlog: the service answered %.1f/s of the %.1f/s asked", out->completed,
                  rate * per_iter);
    }
    if (rep.target_rate > 0 && rep.achieved_rate < 0.98 * rep.target_rate) {
        out->pass = false;
        add_broke(out, "%s: %.0f%% of the planned iterations started",
                  "achieved rate below the schedule", 100 * rep.achieved_rate / rep.target_rate);
    }
    if (rep.max_worker_busy > 0.9) {
        out->generator_bound = true;
        add_broke(out, "%s: a worker was busy %.0f%% of a core (add -t threads)",
                  "brunt itself ran out of CPU", 100 * rep.max_worker_busy);
    }
    hist_free(scratch);
    registry_free(win);
    run_report_destroy(&rep);
    c->drain = !out->pass && !c->closed; /* a closed model leaves no backlog behind */
    if (!c->quiet) {
        fprintf(stderr, "  step %8.1f/s  %-5s %5.1fs  p95 %8.2f ms  served %8.1f/s%s%s\n", rate,
                out->pass ? "held" : "broke", (double)out->ran_ns / 1e9, out->p95_ms,
                out->completed, out->n_broke ? "  " : "", out->n_broke ? out->broke[0] : "");
    }
out:
    for (size_t i = 0; i < n_th; i++) {
        threshold_destroy(&th[i]);
    }
    return rc;
}

/* ---- output ---------------------------------------------------------------------- */

static void print_table(FILE *f, const struct cap_result *res, const struct cap_ctx *c)
{
    fprintf(f, "\n  %10s %10s %10s %10s %10s %10s %7s %6s", c->closed ? "VUs" : "rate/s",
            c->closed ? "iter/s" : "achieved", "served/s", "p50 ms", "p95 ms", "p99 ms", "errors",
            "ran");
    if (c->n_watch > 0) {
        fprintf(f, " %6s", "cpu");
    }
    if (c->pg_dsn != NULL) {
        fprintf(f, " %6s", "db con");
    }
    fprintf(f, "  verdict\n");
    for (size_t i = 0; i < res->n_steps; i++) {
        const struct cap_step *s = &res->steps[i];
        fprintf(f, "  %10.1f %10.1f %10.1f %10.2f %10.2f %10.2f %6.2f%% %5.1fs", s->rate,
                s->achieved, s->completed, s->p50_ms, s->p95_ms, s->p99_ms, 100 * s->error_rate,
                (double)s->ran_ns / 1e9);
        if (c->n_watch > 0) {
            fprintf(f, " %5.0f%%", s->target_cpu_pct);
        }
        if (c->pg_dsn != NULL) {
            fprintf(f, " %5.0f%%", s->db_conn_pct);
        }
        fprintf(f, "  %s%s%s%s\n", s->pass ? "held" : "broke", s->confirm ? " (confirm)" : "",
                s->aborted ? " (stopped early)" : "", s->n_broke && !s->pass ? "" : "");
    }
}

/* ---- the closed model: concurrency steps and the USL fit --------------------------- */

#define MAX_CONCURRENCY 32

/*
 * Runs one closed-model step per concurrency in ns[0..n) (constant VUs, each with one
 * request in flight), into res->steps (rate = the VUs), while the budget lasts; fits the
 * Universal Scalability Law to (VUs, served/s) of the steps brunt itself could drive.
 * held: the highest concurrency whose step met the objectives; broke: the lowest that did
 * not.  Returns 0 or the first negative errno of a step.
 */
static int closed_search(struct cap_ctx *c, const struct cap_options *o, const double *ns, size_t n,
                         struct cap_result *res, struct usl_fit *fit, int *fit_rc)
{
    double x[MAX_CONCURRENCY], v[MAX_CONCURRENCY];
    size_t m = 0;
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n && res->n_steps < CAP_MAX_STEPS; i++) {
        if (res->test_ns + o->step_ns > o->budget_ns) {
            res->hit_budget = true;
            break;
        }
        struct cap_step *st = &res->steps[res->n_steps];
        memset(st, 0, sizeof *st);
        st->target_cpu_pct = st->db_conn_pct = NAN;
        st->rate = ns[i];
        int rc = run_step(ns[i], o->step_ns, false, st, c);
        if (rc < 0) {
            return rc;
        }
        res->n_steps++;
        res->test_ns += st->ran_ns;
        if (st->interrupted) {
            res->interrupted = true;
            break;
        }
        if (st->pass && st->rate > res->held) {
            res->held = st->rate;
        }
        if (!st->pass && (res->broke == 0 || st->rate < res->broke)) {
            res->broke = st->rate;
            res->first_broke = st;
        }
        if (st->generator_bound) {
            res->generator_bound = true; /* brunt's figure, not the target's: not fitted */
        } else if (!st->aborted) {
            v[m] = st->rate;
            x[m++] = st->completed;
        }
    }
    *fit_rc = usl_fit(v, x, m, fit);
    return 0;
}

static void print_usl(FILE *f, const struct usl_fit *u, int rc)
{
    if (rc < 0) {
        fprintf(f,
                "  USL: not fitted (it needs %d steps at 2 or more concurrencies that ran to "
                "their end)\n",
                USL_MIN_POINTS);
        return;
    }
    fprintf(f,
            "  USL fit over %zu steps: lambda %.1f/s per VU, sigma %.4f (contention), kappa "
            "%.6f (coherency), R² %.3f\n",
            u->n, u->lambda, u->sigma, u->kappa, u->r2);
    if (isfinite(u->n_peak)) {
        fprintf(f, "  predicted peak: %.1f/s at %.0f VUs (beyond it throughput falls)\n", u->x_peak,
                u->n_peak);
    } else if (isfinite(u->x_peak)) {
        fprintf(f, "  no peak: throughput levels off towards %.1f/s (kappa 0)\n", u->x_peak);
    } else {
        fprintf(f, "  no peak: throughput still grows linearly with the VUs\n");
    }
}

static int write_result(const char *path, const struct cap_result *res, const struct cap_options *o,
                        const struct cap_ctx *c, const struct usl_fit *usl, int argc, char **argv,
                        uint64_t start_wall, char *err, size_t err_len)
{
    struct jsonw w;
    jsonw_init(&w, 2, 64u << 20);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema");
    jsonw_str(&w, "brunt-capacity/1");
    jsonw_key(&w, "meta");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "version");
    jsonw_str(&w, BRUNT_VERSION);
    jsonw_key(&w, "command");
    jsonw_arr_begin(&w);
    jsonw_str(&w, "brunt");
    char **shown = cli_db_redact_argv(argc, argv); /* no --postgres password in the file */
    for (int i = 0; i < argc; i++) {
        jsonw_str(&w, shown != NULL ? shown[i] : "?");
    }
    cli_db_free_argv(argc, shown);
    jsonw_arr_end(&w);
    jsonw_key(&w, "start_unix_ms");
    jsonw_num(&w, (double)(start_wall / NS_PER_MS));
    jsonw_obj_end(&w);
    jsonw_key(&w, "objectives");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < c->n_slos; i++) {
        jsonw_str(&w, c->slo_src[i]);
    }
    for (size_t i = 0; i < c->n_file_th; i++) {
        char t[2200];
        snprintf(t, sizeof t, "%s:%s", c->file_th[i].metric_expr, c->file_th[i].source);
        jsonw_str(&w, t);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "options");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "from");
    jsonw_num(&w, o->from);
    jsonw_key(&w, "max");
    jsonw_num(&w, o->max);
    jsonw_key(&w, "precision");
    jsonw_num(&w, o->precision);
    jsonw_key(&w, "step_ms");
    jsonw_num(&w, (double)o->step_ns / 1e6);
    jsonw_key(&w, "settle_ms");
    jsonw_num(&w, (double)c->settle_ns / 1e6);
    jsonw_key(&w, "confirm_ms");
    jsonw_num(&w, (double)o->confirm_ns / 1e6);
    jsonw_key(&w, "budget_ms");
    jsonw_num(&w, (double)o->budget_ns / 1e6);
    jsonw_obj_end(&w);
    jsonw_key(&w, "steps");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < res->n_steps; i++) {
        const struct cap_step *s = &res->steps[i];
        jsonw_obj_begin(&w);
        jsonw_key(&w, "rate");
        jsonw_num(&w, s->rate);
        jsonw_key(&w, "ran_ms");
        jsonw_num(&w, (double)s->ran_ns / 1e6);
        jsonw_key(&w, "achieved");
        jsonw_num(&w, s->achieved);
        jsonw_key(&w, "served");
        jsonw_num(&w, s->completed);
        jsonw_key(&w, "p50_ms");
        jsonw_num(&w, s->p50_ms);
        jsonw_key(&w, "p95_ms");
        jsonw_num(&w, s->p95_ms);
        jsonw_key(&w, "p99_ms");
        jsonw_num(&w, s->p99_ms);
        jsonw_key(&w, "error_rate");
        jsonw_num(&w, s->error_rate);
        jsonw_key(&w, "generator_busy");
        jsonw_num(&w, s->busy);
        jsonw_key(&w, "target_cpu_pct");
        jsonw_num(&w, s->target_cpu_pct);
        jsonw_key(&w, "db_connections_pct");
        jsonw_num(&w, s->db_conn_pct);
        jsonw_key(&w, "held");
        jsonw_bool(&w, s->pass);
        jsonw_key(&w, "confirm");
        jsonw_bool(&w, s->confirm);
        jsonw_key(&w, "stopped_early");
        jsonw_bool(&w, s->aborted);
        jsonw_key(&w, "broke");
        jsonw_arr_begin(&w);
        for (size_t k = 0; k < s->n_broke; k++) {
            jsonw_str(&w, s->broke[k]);
        }
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "result");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "held");
    jsonw_num(&w, res->held > 0 ? res->held : NAN);
    jsonw_key(&w, "broke");
    jsonw_num(&w, res->broke > 0 ? res->broke : NAN);
    jsonw_key(&w, "upper_bound");
    jsonw_num(&w, res->upper > 0 ? res->upper : NAN);
    jsonw_key(&w, "confirmed");
    jsonw_bool(&w, res->confirmed);
    jsonw_key(&w, "precise");
    jsonw_bool(&w, res->precise);
    jsonw_key(&w, "what_broke");
    jsonw_arr_begin(&w);
    for (size_t k = 0; res->first_broke != NULL && k < res->first_broke->n_broke; k++) {
        jsonw_str(&w, res->first_broke->broke[k]);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "test_time_ms");
    jsonw_num(&w, (double)res->test_ns / 1e6);
    jsonw_key(&w, "drain_time_ms");
    jsonw_num(&w, (double)c->drain_ns / 1e6);
    jsonw_key(&w, "rest_ms");
    jsonw_num(&w, c->base_ms);
    jsonw_key(&w, "hit_max");
    jsonw_bool(&w, res->hit_max);
    jsonw_key(&w, "hit_budget");
    jsonw_bool(&w, res->hit_budget);
    jsonw_key(&w, "generator_bound");
    jsonw_bool(&w, res->generator_bound);
    struct cap_cause_info why;
    capacity_what_broke(res, CAP_SATURATED_PCT, &why);
    jsonw_key(&w, "model");
    jsonw_str(&w, c->closed ? "closed" : "open");
    jsonw_key(&w, "usl");
    if (usl != NULL) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "points");
        jsonw_num(&w, (double)usl->n);
        jsonw_key(&w, "lambda");
        jsonw_num(&w, usl->lambda);
        jsonw_key(&w, "sigma");
        jsonw_num(&w, usl->sigma);
        jsonw_key(&w, "kappa");
        jsonw_num(&w, usl->kappa);
        jsonw_key(&w, "r2");
        jsonw_num(&w, usl->r2);
        jsonw_key(&w, "peak_vus");
        jsonw_num(&w, isfinite(usl->n_peak) ? usl->n_peak : NAN);
        jsonw_key(&w, "peak_throughput");
        jsonw_num(&w, isfinite(usl->x_peak) ? usl->x_peak : NAN);
        jsonw_obj_end(&w);
    } else {
        jsonw_null(&w);
    }
    jsonw_key(&w, "what_broke_first");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "cause");
    jsonw_str(&w, cap_cause_name(why.cause));
    jsonw_key(&w, "rate");
    jsonw_num(&w, why.rate > 0 ? why.rate : NAN);
    jsonw_key(&w, "use_pct");
    jsonw_num(&w, why.rate > 0 ? why.use_pct : NAN);
    jsonw_key(&w, "text");
    jsonw_str(&w, why.text);
    jsonw_obj_end(&w);
    jsonw_key(&w, "interrupted");
    jsonw_bool(&w, res->interrupted);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    int rc = jsonw_error(&w);
    if (rc == 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        struct file_part parts[2] = {{doc, len}, {"\n", 1}};
        rc = file_write_atomic(path, parts, 2, 0644, err, err_len);
    } else {
        snprintf(err, err_len, "the capacity result is too large");
    }
    jsonw_destroy(&w);
    return rc;
}

static void capacity_usage(FILE *f)
{
    fprintf(f, "usage: brunt capacity --slo EXPR [--slo EXPR]... [flags] URL|FILE.yaml\n"
               "\n"
               "Finds the highest arrival rate (iterations/s) the target holds within the\n"
               "objectives: steps of constant arrival rate, doubling until one breaks, then\n"
               "bisecting to the precision, then confirming (docs/capacity.md).\n"
               "\n"
               "  --slo 'METRIC:EXPR'  an objective in k6 threshold syntax, repeatable:\n"
               "                       'http_req_duration:p(95)<300' 'http_req_failed:rate<0.01'\n"
               "  --from R             first rate /s (default 10)\n"
               "  --max R              never above R /s (default 1000000)\n"
               "  --precision PCT      stop when (broke - held) / held <= PCT%% (default 5)\n"
               "  --step D             one step's length (default 10s); --settle D its\n"
               "                       settling part, not judged (default 2s)\n"
               "  --confirm D          hold the found rate D to confirm it (default 30s; 0 = no)\n"
               "  --budget D           the most test time in all (default 10m)\n"
               "  -c, --connections N  pre-allocated VUs (default: from the rate)\n"
               "      --max-vus N      the VU cap (default: the rate x 1 s, at least 50)\n"
               "  -t, --threads N      generator threads (default: the cores)\n"
               "  -m, --method M       -H 'Name: value'  -b BODY   the request (URL mode)\n"
               "      --timeout D      request timeout (default 10s)\n"
               "      --export FILE    write the capacity result (JSON, brunt-capacity/1)\n"
               "      --watch PID|NAME the target's processes: its CPU per step, and what\n"
               "                       broke first when it saturated (repeatable)\n"
               "      --postgres DSN   the database: its connections per step likewise\n"
               "      --concurrency LIST  the closed model instead: one step per number of\n"
               "                       VUs (1,2,4,8,16), and the Universal Scalability Law\n"
               "                       fitted to their throughput (sigma, kappa, the peak)\n"
               "  -q, --quiet          no line per step\n"
               "\n"
               "Exit: 0 a rate held (confirmed), 114 nothing held or not known to the\n"
               "precision, 2 bad input, 3 unreachable, 104 invalid scenario, 105 interrupted.\n");
}

static int bad_flag(const char *flag, const char *v, const char *want)
{
    fprintf(stderr, "brunt capacity: %s '%s': expected %s\n", flag, v, want);
    return EXIT_USAGE;
}

int cli_capacity(int argc, char **argv)
{
    enum {
        O_SLO = 1000,
        O_FROM,
        O_MAX,
        O_PRECISION,
        O_STEP,
        O_SETTLE,
        O_CONFIRM,
        O_BUDGET,
        O_MAXVUS,
        O_TIMEOUT,
        O_EXPORT,
        O_WATCH,
        O_POSTGRES,
        O_CONCURRENCY
    };
    static const struct option opts[] = {
        {"slo", required_argument, NULL, O_SLO},
        {"from", required_argument, NULL, O_FROM},
        {"max", required_argument, NULL, O_MAX},
        {"precision", required_argument, NULL, O_PRECISION},
        {"step", required_argument, NULL, O_STEP},
        {"settle", required_argument, NULL, O_SETTLE},
        {"confirm", required_argument, NULL, O_CONFIRM},
        {"budget", required_argument, NULL, O_BUDGET},
        {"connections", required_argument, NULL, 'c'},
        {"max-vus", required_argument, NULL, O_MAXVUS},
        {"threads", required_argument, NULL, 't'},
        {"method", required_argument, NULL, 'm'},
        {"header", required_argument, NULL, 'H'},
        {"body", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"export", required_argument, NULL, O_EXPORT},
        {"watch", required_argument, NULL, O_WATCH},
        {"postgres", required_argument, NULL, O_POSTGRES},
        {"concurrency", required_argument, NULL, O_CONCURRENCY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    struct cap_options o;
    struct cap_ctx c = {.settle_ns = 2 * NS_PER_S};
    double conc[MAX_CONCURRENCY];
    size_t n_conc = 0;
    const char *method = "GET", *body = NULL, *export_path = NULL;
    const char *headers[MAX_CAP_HEADERS];
    size_t n_headers = 0;
    uint64_t threads = 0, timeout_ns = 10 * NS_PER_S;
    char err[1024];
    int ch, code = EXIT_USAGE;

    cap_options_default(&o);
    /* the probes' metrics, so an objective may name them (process_cpu:avg<80) */
    if (probe_define_metrics() < 0 || pg_probe_define_metrics() < 0) {
        fprintf(stderr, "brunt capacity: out of memory\n");
        return EXIT_INTERNAL;
    }
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:t:m:H:b:qh", opts, NULL)) != -1) {
        uint64_t u;
        double d;
        switch (ch) {
        case O_SLO: {
            struct threshold t;
            if (c.n_slos >= MAX_SLOS) {
                return bad_flag("--slo", optarg, "at most 32 objectives");
            }
            if (threshold_parse_flag(optarg, &t, err, sizeof err) < 0) {
                fprintf(stderr, "brunt capacity: bad --slo: %s\n", err);
                return EXIT_USAGE;
            }
            threshold_destroy(&t);
            c.slo_src[c.n_slos++] = optarg;
            break;
        }
        case O_FROM:
        case O_MAX:
            if (parse_double(optarg, &d) < 0 || !(d > 0) || d > 1e7) {
                return bad_flag(ch == O_FROM ? "--from" : "--max", optarg,
                                "a rate above 0 and at most 1e7 per second");
            }
            *(ch == O_FROM ? &o.from : &o.max) = d;
            break;
        case O_PRECISION:
            if (parse_double(optarg, &d) < 0 || !(d >= 0.1) || d > 50) {
                return bad_flag("--precision", optarg, "a percentage from 0.1 to 50");
            }
            o.precision = d / 100;
            break;
        case O_STEP:
        case O_SETTLE:
        case O_CONFIRM:
        case O_BUDGET: {
            const char *names[] = {"--step", "--settle", "--confirm", "--budget"};
            if (parse_duration_ns(optarg, &u) < 0 || u > 24 * 3600 * NS_PER_S ||
                (ch != O_CONFIRM && ch != O_SETTLE && u < NS_PER_S)) {
                return bad_flag(names[ch - O_STEP], optarg,
                                ch == O_CONFIRM || ch == O_SETTLE ? "a duration (0 allowed)"
                                                                  : "a duration of at least 1s");
            }
            *(ch == O_STEP      ? &o.step_ns
              : ch == O_SETTLE  ? &c.settle_ns
              : ch == O_CONFIRM ? &o.confirm_ns
                                : &o.budget_ns) = u;
            break;
        }
        case 'c':
        case O_MAXVUS:
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 50000) {
                return bad_flag(ch == 'c' ? "-c" : "--max-vus", optarg, "1 to 50000");
            }
            *(ch == 'c' ? &c.vus : &c.max_vus) = u;
            break;
        case 't':
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 256) {
                return bad_flag("-t", optarg, "1 to 256 threads");
            }
            threads = u;
            break;
        case 'm':
            method = optarg;
            break;
        case 'H':
            if (n_headers >= MAX_CAP_HEADERS) {
                return bad_flag("-H", optarg, "at most 64 headers");
            }
            headers[n_headers++] = optarg;
            break;
        case 'b':
            body = optarg;
            break;
        case O_TIMEOUT:
            if (parse_duration_ns(optarg, &u) < 0 || u == 0) {
                return bad_flag("--timeout", optarg, "a duration above 0");
            }
            timeout_ns = u;
            break;
        case O_EXPORT:
            export_path = optarg;
            break;
        case O_WATCH: {
            struct proc_probe *pp = proc_probe_new();
            int wrc = pp != NULL ? proc_probe_add(pp, optarg, NULL, NULL) : -ENOMEM;
            if (pp != NULL) {
                proc_probe_as_probe(pp).ops->free(pp);
            }
            if (wrc < 0 || c.n_watch >= MAX_CAP_WATCH) {
                return bad_flag("--watch", optarg,
                                "a PID or a command name of at most 15 bytes, at most 8 targets");
            }
            c.watch[c.n_watch++] = optarg;
            break;
        }
        case O_POSTGRES:
            c.pg_dsn = optarg;
            break;
        case O_CONCURRENCY: {
            /* "1,2,4,8": the closed model, one step per number of VUs */
            char *dup = strdup(optarg), *save = NULL;
            n_conc = 0;
            for (char *tok = dup ? strtok_r(dup, ",", &save) : NULL; tok != NULL;
                 tok = strtok_r(NULL, ",", &save)) {
                if (parse_u64(tok, &u) < 0 || u < 1 || u > 50000 || n_conc >= MAX_CONCURRENCY) {
                    free(dup);
                    return bad_flag("--concurrency", optarg,
                                    "a list of at most 32 VU counts from 1 to 50000, such as "
                                    "1,2,4,8,16");
                }
                conc[n_conc++] = (double)u;
            }
            free(dup);
            if (n_conc == 0) {
                return bad_flag("--concurrency", optarg, "a list such as 1,2,4,8,16");
            }
            c.closed = true;
            break;
        }
        case 'q':
            c.quiet = true;
            break;
        case 'h':
            capacity_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "brunt capacity: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt capacity: unknown flag '%s' (brunt capacity --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "brunt capacity: expected one URL or scenario file\n");
        return EXIT_USAGE;
    }
    if (o.from > o.max) {
        fprintf(stderr, "brunt capacity: --from %g is above --max %g\n", o.from, o.max);
        return EXIT_USAGE;
    }
    if (c.settle_ns + NS_PER_S > o.step_ns) {
        fprintf(stderr, "brunt capacity: --settle must leave at least 1s of the --step\n");
        return EXIT_USAGE;
    }
    const char *target = argv[optind];
    size_t tl = strlen(target);
    bool file = (tl > 5 && strcmp(target + tl - 5, ".yaml") == 0) ||
                (tl > 4 && strcmp(target + tl - 4, ".yml") == 0);
    if (!file && strstr(target, "://") == NULL) {
        fprintf(stderr,
                "brunt capacity: '%s' is neither a URL (http://...) nor a scenario file "
                "(.yaml)\n",
                target);
        return EXIT_USAGE;
    }
    if (c.n_slos == 0) {
        fprintf(stderr, "brunt capacity: give at least one objective: --slo "
                        "'http_req_duration:p(95)<300'\n");
        return EXIT_USAGE;
    }
    if (export_path != NULL) {
        /* found before the search, not after minutes of it */
        char probe[4096];
        snprintf(probe, sizeof probe, "%s", export_path);
        char *slash = strrchr(probe, '/');
        const char *dir = slash == NULL ? "." : slash == probe ? "/" : (*slash = '\0', probe);
        if (access(dir, W_OK) != 0) {
            fprintf(stderr, "brunt capacity: --export %s: directory %s is not writable\n",
                    export_path, dir);
            return EXIT_USAGE;
        }
    }
    bool unreachable = false;
    if (file) {
        struct scenario_file_opts fo = {0};
        if (scenario_load(target, &c.plan, &c.file_th, &c.n_file_th, &fo, err, sizeof err) < 0) {
            fprintf(stderr, "brunt capacity: %s\n", err);
            return fo.unreachable ? EXIT_UNREACHABLE : EXIT_INVALID_SCENARIO;
        }
        if (c.plan->n_scenarios > 1) {
            fprintf(stderr,
                    "brunt capacity: %s has %zu scenarios: the first one's flow is "
                    "driven, the others are left out\n",
                    target, c.plan->n_scenarios);
            c.plan->n_scenarios = 1;
        }
    } else {
        c.plan = calloc(1, sizeof *c.plan);
        struct scenario_plan *sc = c.plan ? calloc(1, sizeof *sc) : NULL;
        if (sc == NULL) {
            free(c.plan);
            return EXIT_INTERNAL;
        }
        c.plan->scenarios = sc;
        c.plan->n_scenarios = 1;
        sc->name = strdup("capacity");
        sc->steps = calloc(1, sizeof *sc->steps);
        if (sc->name == NULL || sc->steps == NULL) {
            code = EXIT_INTERNAL;
            goto out;
        }
        struct request_def def = {
            .method = method,
            .url = target,
            .headers = headers,
            .n_headers = n_headers,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .pipeline = 1,
        };
        if (plan_request_step(c.plan, &sc->steps[0], &def, &unreachable, err, sizeof err) < 0) {
            fprintf(stderr, "brunt capacity: %s\n", err);
            code = unreachable ? EXIT_UNREACHABLE : EXIT_USAGE;
            goto out;
        }
        sc->n_steps = 1;
        c.plan->timeout_ns = timeout_ns;
        c.plan->connect_timeout_ns = 5 * NS_PER_S;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c.plan->threads = threads                   ? (int)threads
                      : file && c.plan->threads ? c.plan->threads
                                                : (int)(cores > 0 ? cores : 1);
    int pr = plan_probe(c.plan, 5 * NS_PER_S, err, sizeof err);
    if (pr < 0) {
        fprintf(stderr, "brunt capacity: %s\n", err);
        code = pr == -2 ? EXIT_USAGE : EXIT_UNREACHABLE;
        goto out;
    }
    bool watch_failed;
    probe_set_free(step_probes(&c, &watch_failed)); /* before minutes of search, not after */
    if (watch_failed) {
        code = c.pg_dsn != NULL && c.n_watch == 0 ? EXIT_UNREACHABLE : EXIT_WATCH;
        goto out;
    }
    cli_raise_nofile();
    cli_install_signals();
    uint64_t start_wall = clock_wall_ns();
    c.base_ms = lone_request_ms(&c);
    if (!c.quiet) {
        fprintf(stderr, "brunt capacity · %s · from %g/s, precision %.0f%%, steps of %.0fs\n",
                target, o.from, 100 * o.precision, (double)o.step_ns / 1e9);
    }
    struct cap_result *res = calloc(1, sizeof *res);
    if (res == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    struct usl_fit usl;
    int usl_rc = -EINVAL;
    int rc = c.closed ? closed_search(&c, &o, conc, n_conc, res, &usl, &usl_rc)
                      : capacity_search(&o, run_step, &c, res);
    if (rc < 0) {
        fprintf(stderr, "brunt capacity: a step could not run: %s\n", strerror(-rc));
        free(res);
        code = EXIT_INTERNAL;
        goto out;
    }
    printf("\n  brunt capacity · %s\n", target);
    for (size_t i = 0; i < c.n_slos; i++) {
        printf("  objective: %s\n", c.slo_src[i]);
    }
    print_table(stdout, res, &c);
    printf("\n");
    if (c.closed) {
        print_usl(stdout, &usl, usl_rc);
        if (res->held > 0) {
            printf("  held:   %.0f VUs (the most that met the objectives)\n", res->held);
        } else {
            printf("  held:   nothing (even %.0f VUs broke)\n", res->broke);
        }
        if (res->broke > 0) {
            printf("  broke:  %.0f VUs\n", res->broke);
        }
    } else if (res->held > 0) {
        printf("  held:   %.1f/s%s\n", res->held,
               res->confirmed ? " (confirmed)"
               : o.confirm_ns ? " (NOT confirmed)"
                              : "");
    } else {
        printf("  held:   nothing (even %.3g/s broke)\n", res->broke);
    }
    if (c.closed) {
        /* said above */
    } else if (res->broke > 0) {
        printf("  broke:  %.1f/s", res->broke);
        if (res->upper > 0 && res->upper < res->broke) {
            printf(" (overloaded, the service served %.1f/s: the capacity is at most that)",
                   res->upper);
        }
        printf("\n");
    } else {
        printf("  broke:  nothing up to %.1f/s\n", res->held);
    }
    struct cap_cause_info why;
    capacity_what_broke(res, CAP_SATURATED_PCT, &why);
    if (res->first_broke != NULL) {
        printf("  what broke first: %s\n", why.text);
        for (size_t k = 0; k < res->first_broke->n_broke; k++) {
            printf("  %s %s\n", k == 0 ? "  objectives:    " : "                 ",
                   res->first_broke->broke[k]);
        }
    }
    printf("  test time: %.1f s of load in %zu steps (+ %.1f s waiting for the target to drain "
           "after the steps that broke)%s%s%s%s\n",
           (double)res->test_ns / 1e9, res->n_steps, (double)c.drain_ns / 1e9,
           res->precise || c.closed ? "" : "; NOT known to the precision",
           res->hit_budget ? " (budget spent)" : "", res->hit_max ? " (reached --max)" : "",
           res->generator_bound ? " (brunt ran out of CPU: add -t threads)" : "");
    printf("\n");
    fflush(stdout);
    code =
        res->interrupted ? EXIT_INTERRUPTED
        : c.closed       ? (res->held > 0 ? EXIT_OK : EXIT_NO_CAPACITY)
        : res->held > 0 && (res->precise || res->hit_max) && (res->confirmed || o.confirm_ns == 0)
            ? EXIT_OK
            : EXIT_NO_CAPACITY;
    if (export_path != NULL &&
        write_result(export_path, res, &o, &c, c.closed && usl_rc == 0 ? &usl : NULL, argc, argv,
                     start_wall, err, sizeof err) < 0) {
        fprintf(stderr, "brunt capacity: --export %s: %s\n", export_path, err);
        code = code == EXIT_OK ? EXIT_INTERNAL : code;
    }
    free(res);
out:
    for (size_t i = 0; i < c.n_file_th; i++) {
        threshold_destroy(&c.file_th[i]);
    }
    free(c.file_th);
    plan_free(c.plan);
    return code;
}
