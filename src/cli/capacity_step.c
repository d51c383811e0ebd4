/*
 * capacity_step — one step of `brunt capacity` on the engine and its verdict: the
 * objectives judged over the seconds after the settling time (rebuilt from the
 * per-second records), the backlog and the generator's own limits, the target's CPU and
 * the database's connections when they are watched; the drain that lets the target work
 * off a broken step's backlog; and the closed model's series of steps with its USL fit.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/capacity.h"
#include "analysis/usl.h"
#include "cli/capacity_internal.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "engine/run.h"
#include "metrics/packed.h"
#include "metrics/threshold.h"
#include "probe/pg.h"
#include "probe/probe.h"
#include "probe/proc.h"

/*
 * One request alone (closed model, one VU, one iteration); its duration in ms, or NAN.
 * Used to measure the target at rest before the search, and after a step that broke to
 * wait until the backlog the overload left in the target's queues is gone: a step must
 * not inherit its predecessor's queue.
 */
double cli_cap__lone_request_ms(struct cap_ctx *c)
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
        double ms = cli_cap__lone_request_ms(c);
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
struct probe_set *cli_cap__step_probes(const struct cap_ctx *c, bool *failed)
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

int cli_cap__run_step(double rate, uint64_t dur, bool confirm, struct cap_step *out, void *data)
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
    struct probe_set *ps = cli_cap__step_probes(c, &probes_failed);
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

/* ---- the closed model: concurrency steps and the USL fit --------------------------- */

/*
 * Runs one closed-model step per concurrency in ns[0..n) (constant VUs, each with one
 * request in flight), into res->steps (rate = the VUs), while the budget lasts; fits the
 * Universal Scalability Law to (VUs, served/s) of the steps brunt itself could drive.
 * held: the highest concurrency whose step met the objectives; broke: the lowest that did
 * not.  Returns 0 or the first negative errno of a step.
 */
int cli_cap__closed_search(struct cap_ctx *c, const struct cap_options *o, const double *ns,
                           size_t n, struct cap_result *res, struct usl_fit *fit, int *fit_rc)
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
        int rc = cli_cap__run_step(ns[i], o->step_ns, false, st, c);
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
