/*
 * result_plan — the result's "options" member: the plan as run (each scenario's
 * executor, stages, rates and limits, and the sums over scenarios).  Part of result.c's
 * one pass; see result_internal.h.
 */
#include "output/result_internal.h"

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
#include "core/version.h"
#include "http/url.h"
#include "metrics/criteria.h"
#include "metrics/hist.h"
#include "metrics/packed.h"
#include "metrics/registry.h"
#include "probe/probe.h"
#include "probe/proc.h"

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
    return result__ns_to_ms(len > sc->start_time_ns ? len - sc->start_time_ns : 0);
}

static void put_stages(struct jsonw *w, const struct scenario_plan *sc)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < sc->n_stages; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "duration_ms");
        jsonw_num(w, result__ns_to_ms(sc->stages[i].duration_ns));
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
    jsonw_num(w, result__ns_to_ms(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S));
    jsonw_key(w, "pipeline");
    jsonw_uint(w, sc->pipeline ? sc->pipeline : 1);
    jsonw_key(w, "max_queue_ms");
    if (open) {
        jsonw_num(w, result__ns_to_ms(sc->max_queue_ns));
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
    return result__ns_to_ms(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S);
}

static double sc_pipeline(const struct scenario_plan *sc)
{
    return sc->pipeline ? sc->pipeline : 1;
}

static double sc_max_queue_ms(const struct scenario_plan *sc)
{
    return executor_is_open(sc->executor) ? result__ns_to_ms(sc->max_queue_ns) : NAN;
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
    jsonw_num(w, result__ns_to_ms(plan_length_ns(p)));
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

void result__put_options(struct jsonw *w, const struct plan *p)
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
    jsonw_num(w, result__ns_to_ms(p->timeout_ns));
    jsonw_key(w, "connect_timeout_ms");
    jsonw_num(w, result__ns_to_ms(p->connect_timeout_ns));
    jsonw_key(w, "grace_ms");
    jsonw_num(w, result__ns_to_ms(p->grace_ns));
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
            jsonw_num(w, result__ns_to_ms(sc->start_time_ns));
            jsonw_key(w, "graceful_stop_ms");
            jsonw_num(w, result__ns_to_ms(sc->graceful_stop_ns));
            jsonw_obj_end(w);
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
}
