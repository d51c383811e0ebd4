/*
 * result_breakpoint — `analysis.breakpoint` of the result: what a scenario file's
 * `breakpoint` ramp found (analysis/breakpoint.h does the arithmetic): the rate it broke
 * at, the rate that held a second before, the VUs then and which thresholds broke, or
 * that nothing broke up to the rate reached.  null when no scenario is a breakpoint
 * ramp.  The same figures as the summary's "breakpoint ·" lines, so a report or a script
 * reads them from the file instead of the terminal.
 */
#include <stddef.h>

#include "analysis/breakpoint.h"
#include "core/clock.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "output/result_internal.h"

/* The metric name of a threshold's "name{tags}" as written, into buf. */
static void metric_name(const char *expr, char *buf, size_t len)
{
    size_t i = 0;
    for (; expr[i] != '\0' && expr[i] != '{' && i + 1 < len; i++) {
        buf[i] = expr[i];
    }
    buf[i] = '\0';
}

void result__put_breakpoint(struct jsonw *w, const struct run_report *r)
{
    const struct scenario_plan *sc = NULL;
    for (size_t i = 0; r->plan != NULL && i < r->plan->n_scenarios && sc == NULL; i++) {
        sc = r->plan->scenarios[i].breakpoint ? &r->plan->scenarios[i] : NULL;
    }
    if (sc == NULL) {
        jsonw_null(w);
        return;
    }
    struct bp_result b;
    uint64_t ran = breakpoint_ran_ns(r->stop_after_ns, r->duration_ns);
    breakpoint_judge(sc, ran, r->aborted && r->thresholds_failed, &b);
    jsonw_obj_begin(w);
    jsonw_key(w, "scenario");
    jsonw_str(w, sc->name);
    jsonw_key(w, "peak_rate");
    jsonw_num(w, b.peak);
    jsonw_key(w, "broke");
    jsonw_bool(w, b.broke);
    jsonw_key(w, "t_s");
    jsonw_num(w, b.t_s);
    jsonw_key(w, "reached_rate");
    jsonw_num(w, b.reached);
    jsonw_key(w, "broke_at_rate");
    if (b.broke) {
        jsonw_num(w, b.broke_at);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "held_rate");
    if (b.broke) {
        jsonw_num(w, b.held);
    } else {
        jsonw_null(w);
    }
    /* The VUs at the end of the last whole second before the stop: after it they drain. */
    jsonw_key(w, "vus");
    size_t last = 0;
    while (last < r->n_rows && (uint64_t)(r->rows[last].t + 1) * NS_PER_S <= ran) {
        last++;
    }
    if (r->n_rows > 0) {
        jsonw_uint(w, r->rows[last > 0 ? last - 1 : 0].vus);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "what_broke");
    jsonw_arr_begin(w);
    for (size_t i = 0; b.broke && i < r->n_thresholds; i++) {
        const struct threshold *t = &r->thresholds[i];
        char name[128];
        if (!t->failed) {
            continue;
        }
        metric_name(t->metric_expr, name, sizeof name);
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, name);
        jsonw_key(w, "threshold");
        jsonw_str(w, t->metric_expr);
        jsonw_key(w, "expression");
        jsonw_str(w, t->source);
        jsonw_key(w, "observed");
        if (t->evaluated && !t->no_samples) {
            jsonw_num(w, t->observed);
        } else {
            jsonw_null(w);
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}
