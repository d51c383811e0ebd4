/*
 * result — serialises a struct run_report into the "brunt-result/1" document
 * (docs/result-format.md) and writes it atomically.
 *
 * The document is built in one pass over the report with the capped JSON writer; its
 * sticky error is checked once at the end.  Metric values are aggregated here with
 * registry_aggregate() (exact: histograms merge exactly), so the numbers in the file are
 * the same ones the summary prints.  Histogram buckets go out as [lowest_ns, count]
 * pairs, one pair per line, so a reader rebuilds each histogram exactly with
 * hist_record_n() + hist_set_exact().
 */
#include "output/result.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "core/clock.h"
#include "core/dynbuf.h"
#include "core/file.h"
#include "http/url.h"
#include "metrics/criteria.h"
#include "metrics/hist.h"
#include "metrics/packed.h"
#include "metrics/registry.h"
#include "probe/probe.h"
#include "probe/proc.h"

#include "core/version.h"

/* Every result lists each error kind (error_kind_name in metrics/registry.h;
 * docs/result-format.md), 0 when none happened. */
/* Kinds beyond the known ones that get their own key; later ones count as "other". */
#define MAX_EXTRA_KINDS 32

/* ---- small formatters ------------------------------------------------------------ */

/* "2026-11-22T17:06:59.123Z" into out (at least 25 bytes).  Returns 0 or -1. */
static int format_rfc3339_ms(uint64_t wall_ns, char *out, size_t cap)
{
    time_t sec = (time_t)(wall_ns / NS_PER_S);
    unsigned ms = (unsigned)((wall_ns % NS_PER_S) / NS_PER_MS);
    struct tm tm;

    if (gmtime_r(&sec, &tm) == NULL) {
        return -1;
    }
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0) {
        return -1;
    }
    int m = snprintf(out + n, cap - n, ".%03uZ", ms);
    return m < 0 || (size_t)m >= cap - n ? -1 : 0;
}

static void put_time(struct jsonw *w, uint64_t wall_ns)
{
    char buf[64];
    if (wall_ns == 0 || format_rfc3339_ms(wall_ns, buf, sizeof buf) < 0) {
        jsonw_null(w);
    } else {
        jsonw_str(w, buf);
    }
}

static double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* A trend value (ns in the histogram) in the unit users read: ms for time trends, and
 * the plain number for a custom trend, which keeps v as v * 1e6 (scenario/custom.h). */
static double trend_unit(int metric, double ns)
{
    (void)metric;
    return ns / 1e6;
}

static bool series_has_samples(const struct series *s)
{
    if (metric_info[s->metric].type == METRIC_TREND) {
        return s->hist != NULL && hist_count(s->hist) > 0;
    }
    /* A counter the engine registered is part of the result even at zero
     * (dropped_iterations: 0 is an answer, not a missing value). */
    return metric_info[s->metric].type == METRIC_COUNTER || s->total > 0;
}

/* ---- options --------------------------------------------------------------------- */

int result_scenario_url(const struct scenario_plan *sc, char *out, size_t cap)
{
    if (cap == 0) {
        return -1;
    }
    out[0] = '\0';
    for (size_t i = 0; i < sc->n_steps; i++) {
        const struct step *st = &sc->steps[i];
        if (st->kind != STEP_REQUEST || st->origin == NULL) {
            continue;
        }
        const struct url *u = &st->origin->url;
        char host[URL_MAX_HOST + 16];
        if (url_host_header(u, host, sizeof host) < 0) {
            return -1;
        }
        /* Quick mode: the origin's URL is the one URL given.  A scenario flow: the
         * origin alone, since its paths are many and templated. */
        int n = st->ops == NULL
                    ? snprintf(out, cap, "%s://%s%s", u->tls ? "https" : "http", host, u->target)
                    : snprintf(out, cap, "%s://%s", u->tls ? "https" : "http", host);
        if (n < 0 || (size_t)n >= cap) {
            out[0] = '\0';
            return -1;
        }
        return n;
    }
    return 0;
}

static const char *scenario_method(const struct scenario_plan *sc)
{
    for (size_t i = 0; i < sc->n_steps; i++) {
        if (sc->steps[i].kind == STEP_REQUEST) {
            return sc->steps[i].method;
        }
    }
    return NULL;
}

/* Closed model: the most VUs the scenario asks for (start VUs or the highest stage). */
static double scenario_peak_vus(const struct scenario_plan *sc)
{
    double v = sc->vus;
    if (sc->executor == EXEC_RAMPING_VUS) {
        for (size_t i = 0; i < sc->n_stages; i++) {
            if (sc->stages[i].target > v) {
                v = sc->stages[i].target;
            }
        }
    }
    return v;
}

/* Open model: the target (constant) or peak (ramping) iterations per second; else NAN. */
static double scenario_rate_per_s(const struct scenario_plan *sc)
{
    double unit_s = sc->time_unit_ns ? (double)sc->time_unit_ns / 1e9 : 1.0;
    if (sc->executor == EXEC_CONSTANT_ARRIVAL_RATE) {
        return sc->rate / unit_s;
    }
    if (sc->executor == EXEC_RAMPING_ARRIVAL_RATE) {
        double peak = sc->start_rate;
        for (size_t i = 0; i < sc->n_stages; i++) {
            if (sc->stages[i].target > peak) {
                peak = sc->stages[i].target;
            }
        }
        return peak / unit_s;
    }
    return NAN;
}

/* Total iterations planned by the *-iterations executors; else NAN. */
static double scenario_requests(const struct scenario_plan *sc)
{
    if (sc->executor == EXEC_SHARED_ITERATIONS) {
        return (double)sc->iterations;
    }
    if (sc->executor == EXEC_PER_VU_ITERATIONS) {
        return (double)sc->iterations * sc->vus;
    }
    return NAN;
}

static double scenario_connections(const struct scenario_plan *sc)
{
    return executor_is_open(sc->executor) ? sc->pre_allocated_vus : scenario_peak_vus(sc);
}

static double scenario_max_vus(const struct scenario_plan *sc)
{
    if (!executor_is_open(sc->executor)) {
        return scenario_peak_vus(sc);
    }
    return sc->max_vus > sc->pre_allocated_vus ? sc->max_vus : sc->pre_allocated_vus;
}

static double scenario_duration_ms(const struct scenario_plan *sc)
{
    uint64_t len = scenario_length_ns(sc);
    return ns_to_ms(len > sc->start_time_ns ? len - sc->start_time_ns : 0);
}

static void put_stages(struct jsonw *w, const struct scenario_plan *sc)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < sc->n_stages; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "duration_ms");
        jsonw_num(w, ns_to_ms(sc->stages[i].duration_ns));
        jsonw_key(w, "target");
        jsonw_num(w, sc->stages[i].target);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* One scenario's options (the members, inside an object the caller opened). */
static void put_scenario_members(struct jsonw *w, const struct scenario_plan *sc)
{
    char url[URL_MAX_TARGET + URL_MAX_HOST + 32];
    bool open = executor_is_open(sc->executor);

    jsonw_key(w, "url");
    if (result_scenario_url(sc, url, sizeof url) > 0) {
        jsonw_str(w, url);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "method");
    jsonw_str(w, scenario_method(sc));
    jsonw_key(w, "model");
    jsonw_str(w, open ? "open" : "closed");
    jsonw_key(w, "executor");
    jsonw_str(w, executor_name(sc->executor));
    jsonw_key(w, "connections");
    jsonw_num(w, scenario_connections(sc));
    jsonw_key(w, "max_vus");
    jsonw_num(w, scenario_max_vus(sc));
    jsonw_key(w, "rate");
    jsonw_num(w, scenario_rate_per_s(sc)); /* NAN is written as null */
    jsonw_key(w, "duration_ms");
    jsonw_num(w, scenario_duration_ms(sc));
    jsonw_key(w, "requests");
    jsonw_num(w, scenario_requests(sc));
    jsonw_key(w, "stages");
    put_stages(w, sc);
    jsonw_key(w, "time_unit_ms");
    jsonw_num(w, ns_to_ms(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S));
    jsonw_key(w, "pipeline");
    jsonw_uint(w, sc->pipeline ? sc->pipeline : 1);
    jsonw_key(w, "max_queue_ms");
    if (open) {
        jsonw_num(w, ns_to_ms(sc->max_queue_ns));
    } else {
        jsonw_null(w);
    }
}

/* Writes a number when every scenario agrees on it, else null. */
static void put_common_num(struct jsonw *w, const struct plan *p,
                           double (*get)(const struct scenario_plan *))
{
    double v = get(&p->scenarios[0]);
    for (size_t i = 1; i < p->n_scenarios; i++) {
        double x = get(&p->scenarios[i]);
        if (!(x == v || (isnan(x) && isnan(v)))) {
            jsonw_null(w);
            return;
        }
    }
    jsonw_num(w, v);
}

/* Sum over scenarios; NAN (null) when any_nan_is_null and a scenario has none, or when
 * every scenario has none. */
static double sum_over(const struct plan *p, double (*get)(const struct scenario_plan *),
                       bool any_nan_is_null)
{
    double sum = 0;
    size_t have = 0;
    for (size_t i = 0; i < p->n_scenarios; i++) {
        double x = get(&p->scenarios[i]);
        if (isnan(x)) {
            if (any_nan_is_null) {
                return NAN;
            }
            continue;
        }
        sum += x;
        have++;
    }
    return have ? sum : NAN;
}

static double sc_time_unit_ms(const struct scenario_plan *sc)
{
    return ns_to_ms(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S);
}

static double sc_pipeline(const struct scenario_plan *sc)
{
    return sc->pipeline ? sc->pipeline : 1;
}

static double sc_max_queue_ms(const struct scenario_plan *sc)
{
    return executor_is_open(sc->executor) ? ns_to_ms(sc->max_queue_ns) : NAN;
}

/*
 * Several scenarios: the top-level members describe the whole plan.  A member on which
 * the scenarios differ is null (url, method, model, executor, time_unit_ms, pipeline,
 * max_queue_ms); amounts add up (connections, max_vus, rate over the open scenarios,
 * requests when every scenario has a count); duration_ms is the plan's length; stages
 * are per scenario only.
 */
static void put_plan_members(struct jsonw *w, const struct plan *p)
{
    char url0[URL_MAX_TARGET + URL_MAX_HOST + 32], url[sizeof url0];
    bool same_url = result_scenario_url(&p->scenarios[0], url0, sizeof url0) > 0;
    const char *m0 = scenario_method(&p->scenarios[0]);
    bool same_method = m0 != NULL;

    for (size_t i = 1; i < p->n_scenarios; i++) {
        const struct scenario_plan *sc = &p->scenarios[i];
        const char *m = scenario_method(sc);
        if (result_scenario_url(sc, url, sizeof url) <= 0 || strcmp(url, url0) != 0) {
            same_url = false;
        }
        if (m == NULL || m0 == NULL || strcmp(m, m0) != 0) {
            same_method = false;
        }
    }
    jsonw_key(w, "url");
    jsonw_str(w, same_url ? url0 : NULL);
    jsonw_key(w, "method");
    jsonw_str(w, same_method ? m0 : NULL);

    bool open0 = executor_is_open(p->scenarios[0].executor), same_model = true;
    bool same_exec = true;
    for (size_t i = 1; i < p->n_scenarios; i++) {
        same_model &= executor_is_open(p->scenarios[i].executor) == open0;
        same_exec &= p->scenarios[i].executor == p->scenarios[0].executor;
    }
    jsonw_key(w, "model");
    jsonw_str(w, same_model ? (open0 ? "open" : "closed") : NULL);
    jsonw_key(w, "executor");
    jsonw_str(w, same_exec ? executor_name(p->scenarios[0].executor) : NULL);
    jsonw_key(w, "connections");
    jsonw_num(w, sum_over(p, scenario_connections, false));
    jsonw_key(w, "max_vus");
    jsonw_num(w, sum_over(p, scenario_max_vus, false));
    jsonw_key(w, "rate");
    jsonw_num(w, sum_over(p, scenario_rate_per_s, false));
    jsonw_key(w, "duration_ms");
    jsonw_num(w, ns_to_ms(plan_length_ns(p)));
    jsonw_key(w, "requests");
    jsonw_num(w, sum_over(p, scenario_requests, true));
    jsonw_key(w, "stages");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    jsonw_key(w, "time_unit_ms");
    put_common_num(w, p, sc_time_unit_ms);
    jsonw_key(w, "pipeline");
    put_common_num(w, p, sc_pipeline);
    jsonw_key(w, "max_queue_ms");
    put_common_num(w, p, sc_max_queue_ms);
}

static void put_options(struct jsonw *w, const struct plan *p)
{
    if (p == NULL || p->n_scenarios == 0) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    if (p->n_scenarios == 1) {
        put_scenario_members(w, &p->scenarios[0]);
    } else {
        put_plan_members(w, p);
    }
    jsonw_key(w, "threads");
    jsonw_int(w, p->threads);
    jsonw_key(w, "timeout_ms");
    jsonw_num(w, ns_to_ms(p->timeout_ns));
    jsonw_key(w, "connect_timeout_ms");
    jsonw_num(w, ns_to_ms(p->connect_timeout_ns));
    jsonw_key(w, "grace_ms");
    jsonw_num(w, ns_to_ms(p->grace_ns));
    if (p->n_scenarios > 1) {
        jsonw_key(w, "scenarios");
        jsonw_arr_begin(w);
        for (size_t i = 0; i < p->n_scenarios; i++) {
            const struct scenario_plan *sc = &p->scenarios[i];
            jsonw_obj_begin(w);
            jsonw_key(w, "name");
            jsonw_str(w, sc->name);
            put_scenario_members(w, sc);
            jsonw_key(w, "start_time_ms");
            jsonw_num(w, ns_to_ms(sc->start_time_ns));
            jsonw_key(w, "graceful_stop_ms");
            jsonw_num(w, ns_to_ms(sc->graceful_stop_ns));
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
}

/* ---- meta ------------------------------------------------------------------------ */

static void put_kv_list(struct jsonw *w, const char *const *kv, size_t n)
{
    jsonw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        if (eq == NULL) {
            continue;
        }
        jsonw_keyn(w, kv[i], (size_t)(eq - kv[i]));
        jsonw_str(w, eq + 1);
    }
    jsonw_obj_end(w);
}

static void put_meta(struct jsonw *w, const struct run_report *r, const struct run_info *info)
{
    char host[256];
    struct utsname un;

    jsonw_obj_begin(w);
    jsonw_key(w, "version");
    jsonw_str(w, BRUNT_VERSION);
    jsonw_key(w, "test_name");
    jsonw_str(w, info != NULL ? info->test_name : NULL);
    jsonw_key(w, "scenario_file");
    jsonw_str(w, info != NULL ? info->scenario_path : NULL);
    jsonw_key(w, "scenario_sha256");
    jsonw_str(w, info != NULL && info->scenario_sha256[0] ? info->scenario_sha256 : NULL);
    jsonw_key(w, "env");
    put_kv_list(w, info != NULL ? info->env : NULL, info != NULL ? info->n_env : 0);
    jsonw_key(w, "tags");
    put_kv_list(w, info != NULL ? info->tags : NULL, info != NULL ? info->n_tags : 0);
    jsonw_key(w, "command");
    jsonw_arr_begin(w);
    /* The program as invoked, then the arguments of `run` (argv[0] is "run"). */
    jsonw_str(w, program_invocation_short_name);
    for (int i = 0; i < r->argc && r->argv != NULL; i++) {
        jsonw_str(w, r->argv[i]);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "start");
    put_time(w, r->start_wall_ns);
    jsonw_key(w, "end");
    put_time(w, r->end_wall_ns);
    jsonw_key(w, "duration_ms");
    jsonw_num(w, ns_to_ms(r->duration_ns));

    jsonw_key(w, "machine");
    jsonw_obj_begin(w);
    jsonw_key(w, "hostname");
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        jsonw_str(w, host);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "cores");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    jsonw_int(w, cores > 0 ? cores : 0);
    jsonw_key(w, "kernel");
    if (uname(&un) == 0) {
        char k[sizeof un.sysname + sizeof un.release + 2];
        snprintf(k, sizeof k, "%s %s", un.sysname, un.release);
        jsonw_str(w, k);
    } else {
        jsonw_null(w);
    }
    jsonw_obj_end(w);

    jsonw_key(w, "interrupted");
    jsonw_bool(w, r->interrupted);
    jsonw_key(w, "aborted");
    jsonw_bool(w, r->aborted);
    jsonw_key(w, "abort_reason");
    jsonw_str(w, r->aborted ? r->abort_reason : NULL);
    jsonw_key(w, "exit_code");
    jsonw_int(w, r->exit_code);
    jsonw_key(w, "cpu");
    jsonw_obj_begin(w);
    jsonw_key(w, "user_ms");
    jsonw_num(w, r->cpu_user_ms);
    jsonw_key(w, "system_ms");
    jsonw_num(w, r->cpu_sys_ms);
    jsonw_key(w, "max_worker_busy");
    jsonw_num(w, r->max_worker_busy);
    jsonw_key(w, "send_lag_cpu_bound");
    jsonw_bool(w, r->target_rate > 0 && r->cpu_short_seconds > 0);
    jsonw_key(w, "cpu_short_seconds");
    jsonw_uint(w, r->target_rate > 0 ? r->cpu_short_seconds : 0);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

/* ---- metrics --------------------------------------------------------------------- */

/* Canonical tags "k=v\x1fk2=v2" as a JSON object. */
static void put_tags(struct jsonw *w, const char *tags)
{
    jsonw_obj_begin(w);
    const char *p = tags;
    while (p != NULL && *p) {
        const char *end = strchr(p, TAGS_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq != NULL) {
            jsonw_keyn(w, p, (size_t)(eq - p));
            jsonw_strn(w, eq + 1, len - (size_t)(eq - p) - 1);
        } else {
            jsonw_keyn(w, p, len);
            jsonw_str(w, "");
        }
        p = end ? end + 1 : NULL;
    }
    jsonw_obj_end(w);
}

static void put_values(struct jsonw *w, const struct series *s, double duration_s)
{
    int m = s->metric;

    jsonw_obj_begin(w);
    switch (metric_info[m].type) {
    case METRIC_COUNTER:
        jsonw_key(w, "count");
        jsonw_num(w, s->sum);
        jsonw_key(w, "rate");
        jsonw_num(w, duration_s > 0 ? s->sum / duration_s : 0);
        break;
    case METRIC_GAUGE:
        jsonw_key(w, "value");
        jsonw_num(w, s->sum);
        jsonw_key(w, "min");
        jsonw_num(w, s->gmin);
        jsonw_key(w, "max");
        jsonw_num(w, s->gmax);
        break;
    case METRIC_RATE:
        jsonw_key(w, "rate");
        jsonw_num(w, s->total ? (double)s->trues / (double)s->total : 0);
        jsonw_key(w, "passes");
        jsonw_uint(w, s->trues);
        jsonw_key(w, "fails");
        jsonw_uint(w, s->total - s->trues);
        break;
    case METRIC_TREND: {
        static const struct {
            const char *key;
            double q;
        } qs[] = {{"med", 0.5},    {"max", -1},     {"p(90)", 0.90},
                  {"p(95)", 0.95}, {"p(99)", 0.99}, {"p(99.9)", 0.999}};
        const struct hist *h = s->hist;
        jsonw_key(w, "count");
        jsonw_uint(w, hist_count(h));
        jsonw_key(w, "avg");
        jsonw_num(w, trend_unit(m, hist_mean_ns(h)));
        jsonw_key(w, "min");
        jsonw_num(w, trend_unit(m, (double)hist_min_ns(h)));
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            uint64_t v = qs[i].q < 0 ? hist_max_ns(h) : hist_quantile_ns(h, qs[i].q);
            jsonw_key(w, qs[i].key);
            jsonw_num(w, trend_unit(m, (double)v));
        }
        jsonw_key(w, "stddev");
        jsonw_num(w, trend_unit(m, hist_stddev_ns(h)));
        break;
    }
    }
    jsonw_obj_end(w);
}

/* Bucket pairs per line in a pretty document: short lines, a third of the size of one
 * pair per line. */
#define BUCKETS_PER_LINE 6

/*
 * The buckets array, serialised here and handed to the writer as one raw value so that
 * several pairs share a line (the writer puts each array element on its own line).  The
 * indentation follows the writer's: the array opens at depth w->depth (the histogram
 * object's) and its lines sit one level deeper.
 */
static int put_buckets(struct jsonw *w, const struct hist *h)
{
    struct dynbuf b;
    size_t cursor = 0, i = 0;
    uint64_t v, c;
    bool pretty = w->indent > 0;
    int inner = pretty ? (w->depth + 1) * w->indent : 0;
    int outer = pretty ? w->depth * w->indent : 0;
    int rc;

    dynbuf_init(&b, RESULT_MAX_BYTES);
    rc = dynbuf_addc(&b, '[');
    while (rc == 0 && hist_next_bucket(h, &cursor, &v, &c)) {
        if (i > 0) {
            rc = dynbuf_addc(&b, ',');
        }
        if (rc == 0 && pretty) {
            rc = i % BUCKETS_PER_LINE == 0 ? dynbuf_addf(&b, "\n%*s", inner, "")
                                           : dynbuf_addc(&b, ' ');
        }
        if (rc == 0) {
            rc = pretty ? dynbuf_addf(&b, "[%" PRIu64 ", %" PRIu64 "]", v, c)
                        : dynbuf_addf(&b, "[%" PRIu64 ",%" PRIu64 "]", v, c);
        }
        i++;
    }
    if (rc == 0 && i > 0 && pretty) {
        rc = dynbuf_addf(&b, "\n%*s", outer, "");
    }
    if (rc == 0) {
        rc = dynbuf_addc(&b, ']');
    }
    if (rc == 0) {
        jsonw_raw(w, b.data, b.len);
    }
    dynbuf_destroy(&b);
    return rc;
}

static int put_histogram(struct jsonw *w, const struct hist *h)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, "ns");
    jsonw_key(w, "count");
    jsonw_uint(w, hist_count(h));
    jsonw_key(w, "min");
    jsonw_uint(w, hist_min_ns(h));
    jsonw_key(w, "max");
    jsonw_uint(w, hist_max_ns(h));
    jsonw_key(w, "sum");
    jsonw_num(w, hist_sum_ns(h));
    jsonw_key(w, "buckets");
    int rc = put_buckets(w, h);
    jsonw_obj_end(w);
    return rc;
}

/* One metric's entry; scratch is a histogram for the aggregate of a trend.  Returns 0 or
 * a negative errno (the writer's own errors are left to jsonw_error()). */
static int put_metric(struct jsonw *w, const struct registry *reg, int m, double duration_s,
                      struct hist *scratch)
{
    struct series agg = {.hist = metric_info[m].type == METRIC_TREND ? scratch : NULL};
    registry_aggregate(reg, m, NULL, &agg);

    jsonw_key(w, metric_info[m].name);
    jsonw_obj_begin(w);
    jsonw_key(w, "type");
    jsonw_str(w, metric_type_name(metric_info[m].type));
    jsonw_key(w, "contains");
    jsonw_str(w, metric_info[m].contains == CONTAINS_TIME   ? "time"
                 : metric_info[m].contains == CONTAINS_DATA ? "data"
                                                            : "default");
    jsonw_key(w, "values");
    put_values(w, &agg, duration_s);
    int rc = 0;
    if (agg.hist != NULL) {
        jsonw_key(w, "histogram");
        rc = put_histogram(w, agg.hist);
    }
    jsonw_key(w, "series");
    jsonw_arr_begin(w);
    size_t n = registry_len(reg);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric != m || !series_has_samples(s)) {
            continue;
        }
        jsonw_obj_begin(w);
        jsonw_key(w, "tags");
        put_tags(w, s->tags);
        jsonw_key(w, "values");
        put_values(w, s, duration_s);
        if (s->hist != NULL && rc == 0) {
            jsonw_key(w, "histogram");
            rc = put_histogram(w, s->hist);
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return rc;
}

static int put_metrics(struct jsonw *w, const struct run_report *r)
{
    const struct registry *reg = r->total;
    double duration_s = (double)r->duration_ns / 1e9;
    struct hist *scratch = NULL;

    int rc = 0;
    jsonw_obj_begin(w);
    for (int m = 0; reg != NULL && m < metric_count() && rc == 0; m++) {
        bool any = false;
        size_t n = registry_len(reg);
        for (size_t i = 0; i < n && !any; i++) {
            const struct series *s = registry_at_const(reg, (int)i);
            any = s->metric == m && series_has_samples(s);
        }
        if (!any) {
            continue;
        }
        if (metric_info[m].type == METRIC_TREND && scratch == NULL) {
            scratch = hist_new();
            if (scratch == NULL) {
                return -ENOMEM;
            }
        }
        rc = put_metric(w, reg, m, duration_s, scratch);
    }
    jsonw_obj_end(w);
    hist_free(scratch);
    return rc;
}

/* ---- thresholds, time series, errors --------------------------------------------- */

static void put_thresholds(struct jsonw *w, const struct run_report *r)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct threshold *t = &r->thresholds[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, t->metric_expr);
        jsonw_key(w, "expression");
        jsonw_str(w, t->source);
        jsonw_key(w, "ok");
        jsonw_bool(w, t->evaluated && !t->failed);
        jsonw_key(w, "evaluated");
        jsonw_bool(w, t->evaluated);
        jsonw_key(w, "no_samples");
        jsonw_bool(w, t->evaluated && t->no_samples);
        jsonw_key(w, "observed");
        if (t->evaluated) {
            jsonw_num(w, t->observed);
        } else {
            jsonw_null(w);
        }
        jsonw_key(w, "abort_on_fail");
        jsonw_bool(w, t->abort_on_fail);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static void put_ts_trend(struct jsonw *w, const struct ts_trend *t)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "count");
    jsonw_uint(w, t->count);
    jsonw_key(w, "avg");
    jsonw_num(w, t->avg);
    jsonw_key(w, "med");
    jsonw_num(w, t->med);
    jsonw_key(w, "p(90)");
    jsonw_num(w, t->p90);
    jsonw_key(w, "p(95)");
    jsonw_num(w, t->p95);
    jsonw_key(w, "p(99)");
    jsonw_num(w, t->p99);
    jsonw_key(w, "max");
    jsonw_num(w, t->max);
    jsonw_obj_end(w);
}

/*
 * The watched targets' figures for one row: the sample taken at the end of the row's
 * second (wall time in [row end, row end + 1 s)).  "watch": {"LABEL": {...}}.
 */
static void put_row_watch(struct jsonw *w, const struct run_report *r, const struct ts_row *row)
{
    struct probe *p = r->probes != NULL ? probe_set_find(r->probes, "process") : NULL;
    if (p == NULL) {
        return;
    }
    struct proc_probe *pp = p->self;
    static const enum proc_figure figs[] = {PF_CPU,     PF_CPU_CORE, PF_MEMORY,   PF_RSS,
                                            PF_THREADS, PF_FDS,      PF_PROCESSES};
    uint64_t lo = row->wall_ns + NS_PER_S, hi = lo + NS_PER_S;
    jsonw_key(w, "watch");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < proc_probe_targets(pp); i++) {
        const double *v;
        const uint64_t *wall;
        size_t n = proc_probe_history(pp, i, PF_CPU, &v, &wall);
        size_t k = 0;
        while (k < n && wall[k] < lo) {
            k++;
        }
        if (k == n || wall[k] >= hi) {
            continue;
        }
        jsonw_key(w, proc_probe_label(pp, i));
        jsonw_obj_begin(w);
        for (size_t f = 0; f < sizeof figs / sizeof figs[0]; f++) {
            (void)proc_probe_history(pp, i, figs[f], &v, &wall);
            jsonw_key(w, proc_figures[figs[f]].metric);
            if (isnan(v[k])) {
                jsonw_null(w);
            } else {
                jsonw_num(w, v[k]);
            }
        }
        jsonw_obj_end(w);
    }
    jsonw_obj_end(w);
}

/* A number as compact JSON text: integers exactly, others round-trip (%.17g). */
static int add_num(struct dynbuf *b, double d)
{
    if (!isfinite(d)) {
        return dynbuf_adds(b, "null");
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        return dynbuf_addf(b, "%.0f", d);
    }
    return dynbuf_addf(b, "%.17g", d);
}

/* One packed record as one compact JSON object (docs/result-format.md, timeseries). */
static int add_record(struct dynbuf *b, const struct packed_rec *rec)
{
    int rc = dynbuf_addf(b, "{\"i\":%" PRIu32, rec->series);
    switch (rec->type) {
    case METRIC_COUNTER:
        rc = rc ? rc : dynbuf_adds(b, ",\"sum\":");
        rc = rc ? rc : add_num(b, rec->sum);
        rc = rc ? rc : dynbuf_addf(b, ",\"n\":%" PRIu64 "}", rec->total);
        break;
    case METRIC_RATE:
        rc = rc ? rc
                : dynbuf_addf(b, ",\"trues\":%" PRIu64 ",\"n\":%" PRIu64 "}", rec->trues,
                              rec->total);
        break;
    case METRIC_TREND: {
        rc = rc ? rc : dynbuf_addf(b, ",\"n\":%" PRIu64 ",\"sum\":", rec->count);
        rc = rc ? rc : add_num(b, rec->sum_ns);
        rc = rc ? rc
                : dynbuf_addf(b, ",\"min\":%" PRIu64 ",\"max\":%" PRIu64 ",\"b\":[", rec->min_ns,
                              rec->max_ns);
        struct packed_bucket_it it;
        uint32_t index, prev = 0;
        uint64_t count;
        bool first = true;
        packed_buckets_begin(&it, rec);
        while (rc == 0 && packed_buckets_next(&it, &index, &count)) {
            rc = dynbuf_addf(b, "%s%" PRIu32 ",%" PRIu64, first ? "" : ",", index - prev, count);
            prev = index;
            first = false;
        }
        rc = rc ? rc : dynbuf_adds(b, "]}");
        break;
    }
    case METRIC_GAUGE:
        rc = rc ? rc : dynbuf_addc(b, '}');
        break;
    }
    return rc;
}

/*
 * A row's per-series records: an array of compact objects, one per line in a pretty
 * document (the writer would put every member on its own line, five times the size).
 * Returns 0 or a negative errno.
 */
static int put_row_series(struct jsonw *w, const struct ts_row *row)
{
    struct dynbuf b;
    bool pretty = w->indent > 0;
    int inner = pretty ? (w->depth + 1) * w->indent : 0;
    int outer = pretty ? w->depth * w->indent : 0;
    size_t off = 0, i = 0;
    struct packed_rec rec;
    int rc, more;

    dynbuf_init(&b, RESULT_MAX_BYTES);
    rc = dynbuf_addc(&b, '[');
    while (rc == 0 && (more = packed_next(row->packed, row->packed_len, &off, &rec)) > 0) {
        rc = i > 0 ? dynbuf_addc(&b, ',') : 0;
        if (rc == 0 && pretty) {
            rc = dynbuf_addf(&b, "\n%*s", inner, "");
        }
        rc = rc ? rc : add_record(&b, &rec);
        i++;
    }
    if (rc == 0 && i > 0 && pretty) {
        rc = dynbuf_addf(&b, "\n%*s", outer, "");
    }
    rc = rc ? rc : dynbuf_addc(&b, ']');
    if (rc == 0) {
        jsonw_raw(w, b.data, b.len);
    }
    dynbuf_destroy(&b);
    return rc;
}

/* The series the rows name by index: every series of the totals, in index order. */
static void put_series_table(struct jsonw *w, const struct registry *reg)
{
    jsonw_arr_begin(w);
    size_t n = reg != NULL ? registry_len(reg) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, metric_info[s->metric].name);
        jsonw_key(w, "type");
        jsonw_str(w, metric_type_name(metric_info[s->metric].type));
        jsonw_key(w, "tags");
        put_tags(w, s->tags);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static int put_timeseries(struct jsonw *w, const struct run_report *r)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "interval_ms");
    jsonw_int(w, 1000);
    jsonw_key(w, "histogram");
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, "ns");
    jsonw_key(w, "layout");
    jsonw_str(w, "log-linear");
    jsonw_key(w, "sub_bucket_bits");
    jsonw_int(w, PACKED_SUB_BITS);
    jsonw_obj_end(w);
    jsonw_key(w, "series");
    put_series_table(w, r->total);
    jsonw_key(w, "rows");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_rows && r->rows != NULL; i++) {
        const struct ts_row *row = &r->rows[i];
        /* A row covers one second, except a last partial one (the run's tail). */
        double span_s = 1.0;
        if (i + 1 == r->n_rows && r->duration_ns > (uint64_t)row->t * NS_PER_S) {
            double left = (double)(r->duration_ns - (uint64_t)row->t * NS_PER_S) / 1e9;
            if (left < span_s && left > 0.05) {
                span_s = left;
            }
        }
        jsonw_obj_begin(w);
        jsonw_key(w, "t");
        jsonw_uint(w, row->t);
        jsonw_key(w, "time");
        put_time(w, row->wall_ns);
        jsonw_key(w, "vus");
        jsonw_uint(w, row->vus);
        jsonw_key(w, "vus_max");
        jsonw_uint(w, row->vus_max);
        jsonw_key(w, "http_reqs");
        jsonw_uint(w, row->http_reqs);
        jsonw_key(w, "rps");
        jsonw_num(w, (double)row->http_reqs / span_s);
        jsonw_key(w, "failed");
        jsonw_uint(w, row->failed);
        jsonw_key(w, "iterations");
        jsonw_uint(w, row->iterations);
        jsonw_key(w, "dropped_iterations");
        jsonw_uint(w, row->dropped);
        jsonw_key(w, "data_sent");
        jsonw_uint(w, row->data_sent);
        jsonw_key(w, "data_received");
        jsonw_uint(w, row->data_received);
        jsonw_key(w, "errors");
        jsonw_uint(w, row->errors);
        jsonw_key(w, "http_req_duration");
        put_ts_trend(w, &row->duration);
        jsonw_key(w, "http_req_latency");
        put_ts_trend(w, &row->latency);
        put_row_watch(w, r, row);
        jsonw_key(w, "series");
        if (put_row_series(w, row) < 0) {
            return -ENOMEM;
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return 0;
}

struct kind_count {
    const char *kind; /* points into a series' tags */
    size_t len;
    double count;
};

static void put_errors(struct jsonw *w, const struct run_report *r)
{
    double known[ERROR_KIND_COUNT] = {0};
    struct kind_count extra[MAX_EXTRA_KINDS];
    size_t n_extra = 0;
    size_t n = r->total ? registry_len(r->total) : 0;

    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(r->total, (int)i);
        if (s->metric != M_ERRORS || s->sum == 0) {
            continue;
        }
        size_t len = 0;
        const char *k = tags_get(s->tags, "kind", &len);
        size_t j;
        if (k == NULL) {
            known[ERROR_KIND_COUNT - 1] += s->sum; /* "other" */
            continue;
        }
        for (j = 0; j < ERROR_KIND_COUNT; j++) {
            if (strlen(error_kind_name[j]) == len && memcmp(error_kind_name[j], k, len) == 0) {
                known[j] += s->sum;
                break;
            }
        }
        if (j < ERROR_KIND_COUNT) {
            continue;
        }
        for (j = 0; j < n_extra; j++) {
            if (extra[j].len == len && memcmp(extra[j].kind, k, len) == 0) {
                extra[j].count += s->sum;
                break;
            }
        }
        if (j < n_extra) {
            continue;
        }
        if (n_extra < MAX_EXTRA_KINDS) {
            extra[n_extra++] = (struct kind_count){k, len, s->sum};
        } else {
            known[ERROR_KIND_COUNT - 1] += s->sum;
        }
    }
    jsonw_obj_begin(w);
    for (size_t j = 0; j < ERROR_KIND_COUNT; j++) {
        jsonw_key(w, error_kind_name[j]);
        jsonw_num(w, known[j]);
    }
    for (size_t j = 0; j < n_extra; j++) {
        jsonw_keyn(w, extra[j].kind, extra[j].len);
        jsonw_num(w, extra[j].count);
    }
    jsonw_obj_end(w);
}

static void put_verdict(struct jsonw *w, const struct fit_verdict *v)
{
    if (v == NULL) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "verdict");
    jsonw_str(w, fit_trend_name(v->trend));
    jsonw_key(w, "slope_per_hour");
    jsonw_num(w, v->per_hour);
    jsonw_key(w, "r2");
    jsonw_num(w, v->line.r2);
    jsonw_key(w, "mann_kendall_z");
    jsonw_num(w, v->line.mk_z);
    jsonw_key(w, "samples");
    jsonw_uint(w, v->line.n);
    jsonw_key(w, "window_s");
    jsonw_num(w, v->t1 - v->t0);
    jsonw_key(w, "evidence");
    jsonw_str(w, v->evidence);
    jsonw_obj_end(w);
}

static void put_criteria(struct jsonw *w, const struct run_report *r)
{
    if (r->n_criteria == 0 || r->criteria == NULL) {
        jsonw_null(w); /* none asked for (the report tells that apart from an empty table) */
        return;
    }
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_criteria && r->criteria != NULL; i++) {
        const struct criterion *c = &r->criteria[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, c->metric);
        jsonw_key(w, "target");
        jsonw_str(w, c->target_src);
        jsonw_key(w, "acceptable");
        jsonw_str(w, c->acceptable_src);
        jsonw_key(w, "current");
        if (isnan(c->current) || isinf(c->current)) {
            jsonw_null(w);
        } else {
            jsonw_num(w, c->current);
        }
        jsonw_key(w, "status");
        jsonw_str(w, criterion_status_name(c->status));
        jsonw_key(w, "no_samples");
        jsonw_bool(w, c->no_samples);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

int result_to_json(const struct run_report *r, struct jsonw *w)
{
    return result_to_json_info(r, NULL, w);
}

int result_to_json_info(const struct run_report *r, const struct run_info *info, struct jsonw *w)
{
    int rc;

    jsonw_obj_begin(w);
    jsonw_key(w, "schema");
    jsonw_str(w, RESULT_SCHEMA);
    jsonw_key(w, "meta");
    put_meta(w, r, info);
    jsonw_key(w, "options");
    put_options(w, r->plan);
    jsonw_key(w, "metrics");
    rc = put_metrics(w, r);
    if (rc < 0) {
        return rc;
    }
    jsonw_key(w, "thresholds");
    put_thresholds(w, r);
    jsonw_key(w, "timeseries");
    rc = put_timeseries(w, r);
    if (rc < 0) {
        return rc;
    }
    jsonw_key(w, "errors");
    put_errors(w, r);
    jsonw_key(w, "criteria");
    put_criteria(w, r);
    jsonw_key(w, "probes");
    if (r->probes != NULL) {
        rc = probe_set_to_json(r->probes, w);
        if (rc < 0) {
            return rc;
        }
    } else {
        jsonw_obj_begin(w);
        jsonw_obj_end(w);
    }
    jsonw_key(w, "analysis");
    jsonw_obj_begin(w);
    jsonw_key(w, "latency_p95_trend");
    put_verdict(w, r->latency_trend);
    jsonw_key(w, "error_rate_trend");
    put_verdict(w, r->error_trend);
    jsonw_obj_end(w);
    /* brunt's own findings: latency or errors drifting up under the same load. */
    struct finding fs[2];
    size_t nf = 0;
    const struct fit_verdict *tr[2] = {r->latency_trend, r->error_trend};
    for (int i = 0; i < 2; i++) {
        if (tr[i] == NULL || tr[i]->trend != FIT_GROWING) {
            continue;
        }
        struct finding *f = &fs[nf++];
        memset(f, 0, sizeof *f);
        f->severity = FINDING_WARNING;
        snprintf(f->probe, sizeof f->probe, "brunt");
        snprintf(f->kind, sizeof f->kind, i == 0 ? "latency_drift" : "error_drift");
        snprintf(f->location, sizeof f->location, "%s",
                 i == 0 ? "http_req_duration p95" : "http_req_failed rate");
        snprintf(f->evidence, sizeof f->evidence, "%s", tr[i]->evidence);
        snprintf(f->recommendation, sizeof f->recommendation,
                 "degradation under constant load: look for growing queues, leaks, GC or "
                 "compaction; run longer to see where it ends");
        f->impact = -1;
    }
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_key(w, "warnings");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_warnings && i < sizeof r->warnings / sizeof r->warnings[0]; i++) {
        jsonw_str(w, r->warnings[i]);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

/* ---- writing the file ------------------------------------------------------------ */

int result_write(const char *path, const struct run_report *r, char *err, size_t err_len)
{
    return result_write_info(path, r, NULL, err, err_len);
}

int result_check_path(const char *path, char *err, size_t err_len)
{
    char dir[PATH_MAX], probe[PATH_MAX + 32];
    struct stat st;
    if (path == NULL || *path == '\0') {
        snprintf(err, err_len, "--export: empty path");
        return -1;
    }
    if (strlen(path) >= sizeof dir) {
        snprintf(err, err_len, "--export %s: path too long", path);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--export %s: is a directory (expected a file name)", path);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (stat(dir, &st) < 0) {
        snprintf(err, err_len, "--export %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--export %s: %s is not a directory", path, dir);
        return -1;
    }
    /* access() would ignore read-only mounts and ACL details: try the real thing. */
    snprintf(probe, sizeof probe, "%s/.brunt-export-check.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "--export %s: cannot write in %s: %s", path, dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int result_write_info(const char *path, const struct run_report *r, const struct run_info *info,
                      char *err, size_t err_len)
{
    struct jsonw w;
    int rc;

    if (err_len > 0) {
        err[0] = '\0';
    }
    jsonw_init(&w, 2, RESULT_MAX_BYTES);
    if (path == NULL || *path == '\0') {
        snprintf(err, err_len, "cannot write result: empty path");
        goto fail;
    }
    rc = result_to_json_info(r, info, &w);
    if (rc < 0) {
        snprintf(err, err_len, "cannot write result %s: %s", path,
                 rc == -E2BIG ? "document larger than 512 MiB" : strerror(-rc));
        goto fail;
    }
    size_t len;
    const char *doc = jsonw_data(&w, &len);
    const struct file_part parts[] = {{doc, len}, {"\n", 1}};
    char why[PATH_MAX + 256];
    if (file_write_atomic(path, parts, 2, 0644, why, sizeof why) < 0) {
        snprintf(err, err_len, "cannot write result %s: %s", path, why);
        goto fail;
    }
    jsonw_destroy(&w);
    return 0;

fail:
    jsonw_destroy(&w);
    return -1;
}
