/*
 * summary — formats a struct run_report for people, after the run.
 *
 * Every number comes from registry_aggregate() over r->total (so it matches the result
 * file) or from the thresholds' own observed values (so the THRESHOLDS block shows what
 * decided the verdict).  Times go through format_duration_ms() (µs / ms / s chosen per
 * value), sizes use decimal units (kB, MB) as k6 does, counts are whole numbers.
 * Memory: one scratch histogram for the trend aggregates, freed before returning; when it
 * cannot be allocated the trend lines are left out rather than printed wrong.
 */
#include "output/summary.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analysis/fit.h"
#include "core/parse.h"
#include "core/utf8.h"
#include "engine/plan.h"
#include "metrics/criteria.h"
#include "metrics/hist.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "output/result.h"
#include "probe/probe.h"

/* The dot leaders end at this column (label plus dots), as k6's do. */
#define LABEL_WIDTH 34

struct out {
    FILE *f;
    bool color;
    struct hist *scratch; /* for trend aggregates; NULL when it could not be allocated */
    double duration_s;
};

#define C_BOLD "\x1b[1m"
#define C_DIM "\x1b[2m"
#define C_RED "\x1b[31m"
#define C_GREEN "\x1b[32m"
#define C_YELLOW "\x1b[33m"
#define C_CYAN "\x1b[36m"
#define C_RESET "\x1b[0m"

static const char *col(const struct out *o, const char *code)
{
    return o->color ? code : "";
}

/* ---- value formatters: each writes a NUL-terminated string into buf[0..cap) ------- */

static void fmt_ms(double ms, char *buf, size_t cap)
{
    if (format_duration_ms(ms, buf, cap) < 0) {
        snprintf(buf, cap, "%.3gms", ms);
    }
}

static void fmt_num3(double v, char *buf, size_t cap);
static void fmt_bytes(double v, char *buf, size_t cap);

/* A trend value as stored (ns, or millionths: registry.h), in the metric's unit. */
static void fmt_trend(int metric, double ns, char *buf, size_t cap)
{
    if (metric_info[metric].contains == CONTAINS_TIME) {
        fmt_ms(ns / 1e6, buf, cap);
    } else if (metric_info[metric].contains == CONTAINS_DATA) {
        fmt_bytes(ns / 1e6, buf, cap); /* a data trend keeps bytes b as b * 1e6 */
    } else {
        fmt_num3(ns / 1e6, buf, cap); /* a plain trend keeps v as v * 1e6 */
    }
}

/* About three significant digits, no exponent: 0.123, 1.23, 12.3, 123, 12345. */
static void fmt_num3(double v, char *buf, size_t cap)
{
    double a = fabs(v);
    if (a == 0) {
        snprintf(buf, cap, "0");
    } else if (a < 10) {
        snprintf(buf, cap, "%.2f", v);
    } else if (a < 100) {
        snprintf(buf, cap, "%.1f", v);
    } else {
        snprintf(buf, cap, "%.0f", v);
    }
}

static void fmt_count(double v, char *buf, size_t cap)
{
    if (v == floor(v) && fabs(v) < 1e18) {
        snprintf(buf, cap, "%.0f", v);
    } else {
        snprintf(buf, cap, "%g", v);
    }
}

/* Bytes in decimal units, as k6 prints them: "512 B", "1.2 kB", "34 MB". */
static void fmt_bytes(double v, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    size_t u = 0;
    while (fabs(v) >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    char num[32];
    if (u == 0) {
        snprintf(num, sizeof num, "%.0f", v);
    } else {
        fmt_num3(v, num, sizeof num);
    }
    snprintf(buf, cap, "%s %s", num, units[u]);
}

static void fmt_percent(double share, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.2f%%", share * 100);
}

/* A counter's total in its unit. */
static void fmt_counter(int metric, double v, char *buf, size_t cap)
{
    if (metric_info[metric].contains == CONTAINS_DATA) {
        fmt_bytes(v, buf, cap);
    } else {
        fmt_count(v, buf, cap);
    }
}

/* A counter's per-second rate in its unit: "40.1/s", "46 kB/s". */
static void fmt_counter_rate(int metric, double per_s, char *buf, size_t cap)
{
    char num[48];
    if (metric_info[metric].contains == CONTAINS_DATA) {
        fmt_bytes(per_s, num, sizeof num);
    } else {
        fmt_num3(per_s, num, sizeof num);
    }
    snprintf(buf, cap, "%s/s", num);
}

/* Display width of UTF-8 text: code points, not bytes (labels may hold µ or names). */
static size_t text_width(const char *s)
{
    return utf8_count(s);
}

/* "    label.........: value\n" with the dots dimmed. */
static void print_row(const struct out *o, int indent, const char *label, const char *value)
{
    size_t w = (size_t)indent + text_width(label);
    size_t dots = w + 3 <= LABEL_WIDTH ? LABEL_WIDTH - w : 3;
    fprintf(o->f, "%*s%s%s", indent, "", label, col(o, C_DIM));
    for (size_t i = 0; i < dots; i++) {
        fputc('.', o->f);
    }
    fprintf(o->f, "%s: %s\n", col(o, C_RESET), value);
}

static bool agg_has_samples(const struct series *s)
{
    if (metric_info[s->metric].type == METRIC_TREND) {
        return s->hist != NULL && hist_count(s->hist) > 0;
    }
    return s->total > 0;
}

/*
 * Aggregates metric m over the series whose tags include filter ("" = all) into *s.
 * Returns false when there is nothing to show (no samples, or no scratch histogram for
 * a trend).
 */
static bool aggregate(const struct out *o, const struct run_report *r, int m, const char *filter,
                      struct series *s)
{
    if (r->total == NULL) {
        return false;
    }
    bool trend = metric_info[m].type == METRIC_TREND;
    if (trend && o->scratch == NULL) {
        return false;
    }
    *s = (struct series){.hist = trend ? o->scratch : NULL};
    registry_aggregate(r->total, m, filter, s);
    return agg_has_samples(s);
}

/* The value column of one metric, by type. */
static void fmt_metric_value(const struct out *o, const struct series *s, char *buf, size_t cap)
{
    int m = s->metric;
    char a[64], b[64];

    switch (metric_info[m].type) {
    case METRIC_COUNTER:
        fmt_counter(m, s->sum, a, sizeof a);
        fmt_counter_rate(m, o->duration_s > 0 ? s->sum / o->duration_s : 0, b, sizeof b);
        snprintf(buf, cap, "%-10s %s", a, b);
        break;
    case METRIC_GAUGE:
        fmt_count(s->sum, a, sizeof a);
        snprintf(buf, cap, "%-10s min=%.0f max=%.0f", a, s->gmin, s->gmax);
        break;
    case METRIC_RATE:
        fmt_percent(s->total ? (double)s->trues / (double)s->total : 0, a, sizeof a);
        snprintf(buf, cap, "%-10s %" PRIu64 " out of %" PRIu64, a, s->trues, s->total);
        break;
    case METRIC_TREND: {
        static const struct {
            const char *name;
            double q; /* -1 avg, -2 min, -3 max */
        } cols[] = {{"avg", -1},    {"min", -2},     {"med", 0.5},   {"max", -3},
                    {"p(90)", 0.9}, {"p(95)", 0.95}, {"p(99)", 0.99}};
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < sizeof cols / sizeof cols[0] && len < cap; i++) {
            double ns;
            if (cols[i].q == -1) {
                ns = hist_mean_ns(s->hist);
            } else if (cols[i].q == -2) {
                ns = (double)hist_min_ns(s->hist);
            } else if (cols[i].q == -3) {
                ns = (double)hist_max_ns(s->hist);
            } else {
                ns = (double)hist_quantile_ns(s->hist, cols[i].q);
            }
            fmt_trend(m, ns, a, sizeof a);
            int n = snprintf(buf + len, cap - len, "%s%s=%s", i ? " " : "", cols[i].name, a);
            if (n < 0) {
                break;
            }
            len += (size_t)n;
        }
        break;
    }
    }
}

/*
 * Prints metric m (all series) as one row when it has samples.  A trend other than
 * http_req_duration whose every sample was 0 (TLS handshaking on plain HTTP, queueing in
 * the closed model) says nothing and is left out too.  Returns whether it printed.
 */
static bool print_metric(const struct out *o, const struct run_report *r, int m)
{
    struct series s;
    char value[512];
    if (!aggregate(o, r, m, "", &s)) {
        return false;
    }
    if (s.hist != NULL && m != M_HTTP_REQ_DURATION && hist_max_ns(s.hist) == 0) {
        return false;
    }
    fmt_metric_value(o, &s, value, sizeof value);
    print_row(o, 4, metric_info[m].name, value);
    return true;
}

/* ---- header ---------------------------------------------------------------------- */

static void fmt_duration_ns(uint64_t ns, char *buf, size_t cap)
{
    fmt_ms((double)ns / 1e6, buf, cap);
}

/* The load a scenario asks for, e.g. "constant-vus (closed) · 64 VUs · 30s". */
static void describe_scenario(const struct scenario_plan *sc, char *buf, size_t cap)
{
    char d[32], r1[32];
    uint64_t len = scenario_length_ns(sc);
    fmt_duration_ns(len > sc->start_time_ns ? len - sc->start_time_ns : 0, d, sizeof d);
    bool open = executor_is_open(sc->executor);
    double unit_s = sc->time_unit_ns ? (double)sc->time_unit_ns / 1e9 : 1.0;
    uint32_t maxv = sc->max_vus > sc->pre_allocated_vus ? sc->max_vus : sc->pre_allocated_vus;
    int n = snprintf(buf, cap, "%s (%s model) \xc2\xb7 ", executor_name(sc->executor),
                     open ? "open" : "closed");
    if (n < 0 || (size_t)n >= cap) {
        return;
    }
    buf += n;
    cap -= (size_t)n;

    switch (sc->executor) {
    case EXEC_CONSTANT_VUS:
        snprintf(buf, cap, "%u VUs \xc2\xb7 %s", sc->vus, d);
        break;
    case EXEC_RAMPING_VUS: {
        double peak = sc->vus;
        for (size_t i = 0; i < sc->n_stages; i++) {
            peak = sc->stages[i].target > peak ? sc->stages[i].target : peak;
        }
        snprintf(buf, cap, "up to %.0f VUs in %zu stages \xc2\xb7 %s", peak, sc->n_stages, d);
        break;
    }
    case EXEC_PER_VU_ITERATIONS:
        snprintf(buf, cap, "%u VUs \xc3\x97 %" PRIu64 " iterations (max %s)", sc->vus,
                 sc->iterations, d);
        break;
    case EXEC_SHARED_ITERATIONS:
        snprintf(buf, cap, "%" PRIu64 " iterations shared by %u VUs (max %s)", sc->iterations,
                 sc->vus, d);
        break;
    case EXEC_CONSTANT_ARRIVAL_RATE:
        fmt_num3(sc->rate / unit_s, r1, sizeof r1);
        snprintf(buf, cap, "%s/s \xc2\xb7 %u..%u VUs \xc2\xb7 %s", r1, sc->pre_allocated_vus, maxv,
                 d);
        break;
    case EXEC_RAMPING_ARRIVAL_RATE: {
        double peak = sc->start_rate;
        for (size_t i = 0; i < sc->n_stages; i++) {
            peak = sc->stages[i].target > peak ? sc->stages[i].target : peak;
        }
        fmt_num3(peak / unit_s, r1, sizeof r1);
        snprintf(buf, cap, "up to %s/s in %zu stages \xc2\xb7 %u..%u VUs \xc2\xb7 %s", r1,
                 sc->n_stages, sc->pre_allocated_vus, maxv, d);
        break;
    }
    }
}

static const char *first_method(const struct scenario_plan *sc)
{
    for (size_t i = 0; i < sc->n_steps; i++) {
        if (sc->steps[i].kind == STEP_REQUEST && sc->steps[i].method != NULL) {
            return sc->steps[i].method;
        }
    }
    return NULL;
}

/* Whether every scenario ends by its iteration count, its length being only a limit. */
static bool all_iteration_executors(const struct plan *p)
{
    for (size_t i = 0; i < p->n_scenarios; i++) {
        enum executor_kind k = p->scenarios[i].executor;
        if (k != EXEC_SHARED_ITERATIONS && k != EXEC_PER_VU_ITERATIONS) {
            return false;
        }
    }
    return p->n_scenarios > 0;
}

static void print_header(const struct out *o, const struct run_report *r,
                         const struct run_info *info)
{
    const struct plan *p = r->plan;
    char ran[32], planned[32];
    char url[URL_MAX_TARGET + URL_MAX_HOST + 32];
    char load[256];

    fmt_duration_ns(r->duration_ns, ran, sizeof ran);
    fprintf(o->f, "\n  %sbrunt%s", col(o, C_BOLD), col(o, C_RESET));
    if (info != NULL && info->test_name != NULL && info->test_name[0] != '\0') {
        fprintf(o->f, " \xc2\xb7 %s%.120s%s", col(o, C_BOLD), info->test_name, col(o, C_RESET));
    }
    if (p != NULL) {
        fmt_duration_ns(plan_length_ns(p), planned, sizeof planned);
        if (p->n_scenarios > 1) {
            fprintf(o->f, " \xc2\xb7 %zu scenarios", p->n_scenarios);
        }
        if (all_iteration_executors(p)) {
            /* The length of an iterations executor is its time limit (maxDuration),
             * not a planned length. */
            fprintf(o->f, " \xc2\xb7 %d thread%s \xc2\xb7 ran %s (time limit %s)", p->threads,
                    p->threads == 1 ? "" : "s", ran, planned);
        } else {
            fprintf(o->f, " \xc2\xb7 %d thread%s \xc2\xb7 ran %s of %s", p->threads,
                    p->threads == 1 ? "" : "s", ran, planned);
        }
    } else {
        fprintf(o->f, " \xc2\xb7 ran %s", ran);
    }
    if (r->aborted) {
        fprintf(o->f, " \xc2\xb7 %sABORTED%s", col(o, C_RED), col(o, C_RESET));
    } else if (r->interrupted) {
        fprintf(o->f, " \xc2\xb7 %sinterrupted%s", col(o, C_YELLOW), col(o, C_RESET));
    }
    fputc('\n', o->f);
    /* One scenario: its target on a line of its own (URLs are long), then the load.
     * Several: one line each, "name: METHOD URL · load". */
    for (size_t i = 0; p != NULL && i < p->n_scenarios; i++) {
        const struct scenario_plan *sc = &p->scenarios[i];
        const char *method = first_method(sc);
        bool has_url = result_scenario_url(sc, url, sizeof url) > 0;
        size_t n_req = 0;
        bool flow = false;
        for (size_t k = 0; k < sc->n_steps; k++) {
            n_req += sc->steps[k].kind == STEP_REQUEST;
            flow = flow || sc->steps[k].ops != NULL;
        }
        if (flow && has_url) {
            /* A scenario flow: its requests are many; say how many, and where (the
             * origin is short: scheme and host only). */
            char where[URL_MAX_HOST + 32];
            snprintf(where, sizeof where, "%.*s", (int)(sizeof where - 1), url);
            snprintf(url, sizeof url, "flow of %zu request step%s on %s", n_req,
                     n_req == 1 ? "" : "s", where);
            method = NULL;
        }
        describe_scenario(sc, load, sizeof load);
        if (p->n_scenarios == 1) {
            if (has_url) {
                fprintf(o->f, "    %s%s%s%s%s\n", col(o, C_CYAN), method ? method : "",
                        method ? " " : "", url, col(o, C_RESET));
            }
            fprintf(o->f, "    %s\n", load);
            continue;
        }
        fprintf(o->f, "    %s: ", sc->name ? sc->name : "default");
        if (has_url) {
            fprintf(o->f, "%s%s%s%s%s \xc2\xb7 ", col(o, C_CYAN), method ? method : "",
                    method ? " " : "", url, col(o, C_RESET));
        }
        fprintf(o->f, "%s\n", load);
    }
    if (r->aborted && r->abort_reason[0] != '\0') {
        fprintf(o->f, "    aborted: %s\n", r->abort_reason);
    }
    if (info != NULL && info->n_tags > 0) {
        fprintf(o->f, "    tags:");
        for (size_t i = 0; i < info->n_tags; i++) {
            fprintf(o->f, " %.120s", info->tags[i]);
        }
        fputc('\n', o->f);
    }
}

/* ---- thresholds ------------------------------------------------------------------ */

/* "p(95)", "avg", "rate", ... */
static void fmt_agg(const struct threshold *t, char *buf, size_t cap)
{
    static const char *const names[] = {
        [TH_AVG] = "avg", [TH_MIN] = "min",   [TH_MED] = "med",     [TH_MAX] = "max",
        [TH_PCT] = "p",   [TH_RATE] = "rate", [TH_COUNT] = "count", [TH_VALUE] = "value"};
    if (t->agg == TH_PCT) {
        snprintf(buf, cap, "p(%g)", t->pct);
    } else if ((unsigned)t->agg < sizeof names / sizeof names[0]) {
        snprintf(buf, cap, "%s", names[t->agg]);
    } else {
        snprintf(buf, cap, "?");
    }
}

/* The observed value of t in its unit: "2.31ms", "0.12%", "40.1/s", "1200". */
static void fmt_observed(const struct threshold *t, char *buf, size_t cap)
{
    int m = t->metric;
    if (m < 0 || m >= metric_count()) {
        snprintf(buf, cap, "%g", t->observed);
        return;
    }
    switch (metric_info[m].type) {
    case METRIC_TREND:
        if (metric_info[m].contains == CONTAINS_TIME) {
            fmt_ms(t->observed, buf, cap);
        } else {
            snprintf(buf, cap, "%g", t->observed);
        }
        break;
    case METRIC_RATE:
        fmt_percent(t->observed, buf, cap);
        break;
    case METRIC_COUNTER:
        if (t->agg == TH_RATE) {
            fmt_counter_rate(m, t->observed, buf, cap);
        } else {
            fmt_counter(m, t->observed, buf, cap);
        }
        break;
    case METRIC_GAUGE:
        fmt_count(t->observed, buf, cap);
        break;
    }
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static void print_thresholds(const struct out *o, const struct run_report *r)
{
    if (r->n_thresholds == 0 || r->thresholds == NULL) {
        return;
    }
    fprintf(o->f, "\n  %s\xe2\x96\x88 THRESHOLDS%s\n", col(o, C_BOLD), col(o, C_RESET));
    /* A trend without samples: nothing was answered at all, or its tags matched nothing. */
    struct series any;
    bool answered = aggregate(o, r, M_HTTP_REQ_DURATION, "", &any);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct threshold *t = &r->thresholds[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = str_eq(r->thresholds[j].metric_expr, t->metric_expr);
        }
        if (seen) {
            continue;
        }
        fprintf(o->f, "\n    %s\n", t->metric_expr ? t->metric_expr : "?");
        for (size_t k = i; k < r->n_thresholds; k++) {
            const struct threshold *u = &r->thresholds[k];
            if (!str_eq(u->metric_expr, t->metric_expr)) {
                continue;
            }
            char agg[32], obs[64];
            fmt_agg(u, agg, sizeof agg);
            if (!u->evaluated) {
                fprintf(o->f, "    %s?%s '%s' not evaluated\n", col(o, C_YELLOW), col(o, C_RESET),
                        u->source ? u->source : "");
                continue;
            }
            fmt_observed(u, obs, sizeof obs);
            fprintf(o->f, "    %s%s%s '%s' %s=%s%s%s\n", col(o, u->failed ? C_RED : C_GREEN),
                    u->failed ? "\xe2\x9c\x97" : "\xe2\x9c\x93", col(o, C_RESET),
                    u->source ? u->source : "", agg, obs, u->abort_on_fail ? " (abortOnFail)" : "",
                    !u->no_samples ? ""
                    : u->sent_requests && !answered
                        ? " (no samples: requests were sent, none was answered)"
                        : " (no samples: check the metric and its tags)");
        }
    }
}

/* ---- success criteria -------------------------------------------------------------- */

/* A criterion's current value in the unit its levels are written in. */
static void fmt_current(const struct criterion *c, char *buf, size_t cap)
{
    int m = c->target.metric;
    if (m >= 0 && m < metric_count() && metric_info[m].type == METRIC_TREND &&
        metric_info[m].contains == CONTAINS_TIME) {
        snprintf(buf, cap, "%.4gms", c->current);
    } else if (m >= 0 && m < metric_count() && metric_info[m].type == METRIC_TREND &&
               metric_info[m].contains == CONTAINS_DATA) {
        fmt_bytes(c->current, buf, cap);
    } else {
        snprintf(buf, cap, "%.4g", c->current);
    }
}

static void print_criteria(const struct out *o, const struct run_report *r)
{
    if (r->n_criteria == 0 || r->criteria == NULL) {
        return;
    }
    size_t w_metric = strlen("Metric"), w_cur = strlen("Current"), w_t = strlen("Target"),
           w_a = strlen("Acceptable");
    char cur[64];
    for (size_t i = 0; i < r->n_criteria; i++) {
        const struct criterion *c = &r->criteria[i];
        fmt_current(c, cur, sizeof cur);
        w_metric = text_width(c->metric) > w_metric ? text_width(c->metric) : w_metric;
        w_cur = strlen(cur) > w_cur ? strlen(cur) : w_cur;
        w_t = strlen(c->target_src) > w_t ? strlen(c->target_src) : w_t;
        w_a = strlen(c->acceptable_src) > w_a ? strlen(c->acceptable_src) : w_a;
    }
    fprintf(o->f, "\n  %s\xe2\x96\x88 SUCCESS CRITERIA%s\n\n", col(o, C_BOLD), col(o, C_RESET));
    fprintf(o->f, "    %-*s  %*s  %-*s  %-*s  %s\n", (int)w_metric, "Metric", (int)w_cur, "Current",
            (int)w_t, "Target", (int)w_a, "Acceptable", "Status");
    for (size_t i = 0; i < r->n_criteria; i++) {
        const struct criterion *c = &r->criteria[i];
        fmt_current(c, cur, sizeof cur);
        int pad = (int)w_metric - (int)text_width(c->metric);
        const char *color = c->status == CRIT_PASS   ? col(o, C_GREEN)
                            : c->status == CRIT_WARN ? col(o, C_YELLOW)
                                                     : col(o, C_RED);
        fprintf(o->f, "    %s%*s  %*s  %-*s  %-*s  %s%s %s%s%s\n", c->metric, pad > 0 ? pad : 0, "",
                (int)w_cur, cur, (int)w_t, c->target_src, (int)w_a, c->acceptable_src, color,
                criterion_symbol(c->status), criterion_status_name(c->status), col(o, C_RESET),
                c->no_samples ? " (no samples: check the metric and its tags)" : "");
    }
}

static void print_trend(const struct out *o, const char *what, const struct fit_verdict *v)
{
    if (v == NULL) {
        return;
    }
    fprintf(o->f, "    %-22s %s%s%s: %s\n", what,
            col(o, v->trend == FIT_GROWING ? C_YELLOW : C_RESET), fit_trend_name(v->trend),
            col(o, C_RESET), v->evidence);
}

static void print_watch(const struct out *o, const struct run_report *r)
{
    if (r->probes != NULL && probe_set_len(r->probes) > 0) {
        fprintf(o->f, "\n  %s\xe2\x96\x88 SYSTEM UNDER TEST%s\n", col(o, C_BOLD), col(o, C_RESET));
        probe_set_summary(r->probes, o->f, o->color);
    }
    if (r->latency_trend != NULL || r->error_trend != NULL) {
        fprintf(o->f, "\n  %s\xe2\x96\x88 DRIFT UNDER LOAD%s\n", col(o, C_BOLD), col(o, C_RESET));
        print_trend(o, "p95 per second", r->latency_trend);
        print_trend(o, "error rate per second", r->error_trend);
    }
}

/* ---- metric groups --------------------------------------------------------------- */

static void print_group_title(const struct out *o, const char *title)
{
    fprintf(o->f, "\n    %s%s%s\n", col(o, C_BOLD), title, col(o, C_RESET));
}

/* Prints the metrics of ids[] that have samples, under title (when any has). */
static void print_group(const struct out *o, const struct run_report *r, const char *title,
                        const int *ids, size_t n)
{
    struct series s;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) {
        any = aggregate(o, r, ids[i], "", &s);
    }
    if (!any) {
        return;
    }
    print_group_title(o, title);
    for (size_t i = 0; i < n; i++) {
        print_metric(o, r, ids[i]);
    }
}

/*
 * http_req_duration per `name` tag, when the series carry several names: one indented
 * "{ name:... }" row each, in order of first appearance (which is step order).
 */
static void print_duration_by_name(const struct out *o, const struct run_report *r)
{
    struct {
        const char *v;
        size_t len;
    } names[SUMMARY_MAX_NAMES];
    size_t n_names = 0, more = 0;
    size_t n = registry_len(r->total);

    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(r->total, (int)i);
        size_t len;
        const char *v;
        if (s->metric != M_HTTP_REQ_DURATION || !agg_has_samples(s) ||
            (v = tags_get(s->tags, "name", &len)) == NULL) {
            continue;
        }
        size_t j;
        for (j = 0; j < n_names; j++) {
            if (names[j].len == len && memcmp(names[j].v, v, len) == 0) {
                break;
            }
        }
        if (j < n_names) {
            continue;
        }
        if (n_names < SUMMARY_MAX_NAMES) {
            names[n_names].v = v;
            names[n_names].len = len;
            n_names++;
        } else {
            more++; /* a lower bound: names past the cap are not deduplicated */
        }
    }
    if (n_names < 2) {
        return;
    }
    for (size_t j = 0; j < n_names; j++) {
        char filter[1024], label[1024], value[512];
        struct series s;
        int fl = snprintf(filter, sizeof filter, "name=%.*s", (int)names[j].len, names[j].v);
        if (fl < 0 || (size_t)fl >= sizeof filter) {
            continue; /* a name this long does not fit a summary line anyway */
        }
        snprintf(label, sizeof label, "{ name:%.*s }", (int)names[j].len, names[j].v);
        if (!aggregate(o, r, M_HTTP_REQ_DURATION, filter, &s)) {
            continue;
        }
        fmt_metric_value(o, &s, value, sizeof value);
        print_row(o, 6, label, value);
    }
    if (more > 0) {
        fprintf(o->f, "      ... and more names (see the result file)\n");
    }
}

/* Statuses listed one per row under http_reqs; further ones are added to the last row. */
#define SUMMARY_MAX_STATUSES 16

/*
 * http_reqs by status (wrk's "Non-2xx responses", better): one row per status, most
 * frequent first, with its share and whether it was an unexpected response (a failure
 * in http_req_failed).  Printed when any response was not 2xx or was unexpected, so the
 * usual all-200 run stays short.  Status 0 is a request that got no response: its
 * errors by kind are under ERRORS.
 */
struct status_row {
    int status;
    double count;
    bool unexpected;
};

static void print_statuses(const struct out *o, const struct run_report *r)
{
    struct status_row st[SUMMARY_MAX_STATUSES];
    size_t n_st = 0;
    double total = 0;
    bool notable = false;
    size_t n = registry_len(r->total);
    for (size_t i = 0; i < n; i++) {
        const struct series *a = registry_at_const(r->total, (int)i);
        size_t len = 0, elen = 0;
        if (a->metric != M_HTTP_REQS || a->sum == 0) {
            continue;
        }
        const char *v = tags_get(a->tags, "status", &len);
        const char *e = tags_get(a->tags, "expected_response", &elen);
        int code = 0;
        for (size_t k = 0; v != NULL && k < len && k < 4; k++) {
            code = code * 10 + (v[k] >= '0' && v[k] <= '9' ? v[k] - '0' : 0);
        }
        bool unexpected = e != NULL && elen == 5 && memcmp(e, "false", 5) == 0;
        size_t j;
        for (j = 0; j < n_st && st[j].status != code; j++) {
        }
        if (j == n_st && n_st == SUMMARY_MAX_STATUSES) {
            j = n_st - 1;
        } else if (j == n_st) {
            st[n_st++] = (struct status_row){code, 0, false};
        }
        st[j].count += a->sum;
        st[j].unexpected = st[j].unexpected || unexpected;
        total += a->sum;
        notable = notable || unexpected || code < 200 || code >= 300;
    }
    if (!notable || total == 0) {
        return;
    }
    /* Most frequent first; equal counts by status. */
    for (size_t i = 1; i < n_st; i++) {
        for (size_t j = i;
             j > 0 && (st[j].count > st[j - 1].count ||
                       (st[j].count == st[j - 1].count && st[j].status < st[j - 1].status));
             j--) {
            struct status_row t = st[j];
            st[j] = st[j - 1];
            st[j - 1] = t;
        }
    }
    for (size_t j = 0; j < n_st; j++) {
        char label[64], cnt[64], pct[32], value[160];
        snprintf(label, sizeof label, "{ status:%d }", st[j].status);
        fmt_count(st[j].count, cnt, sizeof cnt);
        fmt_percent(st[j].count / total, pct, sizeof pct);
        snprintf(value, sizeof value, "%-10s %s%s%s", cnt, pct,
                 st[j].status == 0  ? " no response (see ERRORS)"
                 : st[j].unexpected ? " unexpected (failed)"
                                    : "",
                 j == SUMMARY_MAX_STATUSES - 1 && n_st == SUMMARY_MAX_STATUSES ? " and others"
                                                                               : "");
        print_row(o, 6, label, value);
    }
}

/* Kinds listed one per row under ERRORS; further kinds are added to the last row. */
#define SUMMARY_MAX_KINDS 16

static void print_errors(const struct out *o, const struct run_report *r)
{
    struct {
        const char *k; /* NULL: series without a kind tag, shown as "other" */
        size_t len;
        double count;
    } kinds[SUMMARY_MAX_KINDS];
    size_t n_kinds = 0;
    struct series s;
    char value[128];

    if (!aggregate(o, r, M_ERRORS, "", &s) || s.sum == 0) {
        return;
    }
    size_t n = registry_len(r->total);
    for (size_t i = 0; i < n; i++) {
        const struct series *a = registry_at_const(r->total, (int)i);
        size_t len = 0, j;
        if (a->metric != M_ERRORS || a->sum == 0) {
            continue;
        }
        const char *k = tags_get(a->tags, "kind", &len);
        for (j = 0; j < n_kinds; j++) {
            if ((k == NULL && kinds[j].k == NULL) ||
                (k != NULL && kinds[j].k != NULL && kinds[j].len == len &&
                 memcmp(kinds[j].k, k, len) == 0)) {
                break;
            }
        }
        if (j == n_kinds && n_kinds == SUMMARY_MAX_KINDS) {
            j = n_kinds - 1;
        } else if (j == n_kinds) {
            kinds[n_kinds].k = k;
            kinds[n_kinds].len = len;
            kinds[n_kinds].count = 0;
            n_kinds++;
        }
        kinds[j].count += a->sum;
    }
    print_group_title(o, "ERRORS");
    fmt_metric_value(o, &s, value, sizeof value);
    print_row(o, 4, metric_info[M_ERRORS].name, value);
    for (size_t j = 0; j < n_kinds; j++) {
        char label[160], cnt[64], pct[32];
        size_t len = kinds[j].len > 100 ? 100 : kinds[j].len;
        if (kinds[j].k != NULL) {
            snprintf(label, sizeof label, "{ kind:%.*s }", (int)len, kinds[j].k);
        } else {
            snprintf(label, sizeof label, "{ kind:other }");
        }
        fmt_count(kinds[j].count, cnt, sizeof cnt);
        fmt_percent(kinds[j].count / s.sum, pct, sizeof pct);
        snprintf(value, sizeof value, "%-10s %s of errors", cnt, pct);
        print_row(o, 6, label, value);
    }
}

/*
 * Each check on its own line, as k6 lists them: a mark, the step's name and the check,
 * then the share that passed with the counts.  Checks of the same text on different
 * steps are told apart by the step name.
 */
#define SUMMARY_MAX_CHECKS 64
static void print_each_check(const struct out *o, const struct run_report *r)
{
    struct {
        const char *check, *name;
        size_t check_len, name_len;
        uint64_t pass, total;
    } rows[SUMMARY_MAX_CHECKS];
    size_t n_rows = 0, more = 0;
    size_t n = registry_len(r->total);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(r->total, (int)i);
        size_t cl = 0, nl = 0;
        const char *c, *nm;
        if (s->metric != M_CHECKS || s->total == 0 ||
            (c = tags_get(s->tags, "check", &cl)) == NULL) {
            continue;
        }
        nm = tags_get(s->tags, "name", &nl);
        size_t j;
        for (j = 0; j < n_rows; j++) {
            if (rows[j].check_len == cl && memcmp(rows[j].check, c, cl) == 0 &&
                rows[j].name_len == nl && (nl == 0 || memcmp(rows[j].name, nm, nl) == 0)) {
                break;
            }
        }
        if (j == n_rows) {
            if (n_rows == SUMMARY_MAX_CHECKS) {
                more++;
                continue;
            }
            rows[n_rows].check = c;
            rows[n_rows].check_len = cl;
            rows[n_rows].name = nm;
            rows[n_rows].name_len = nm ? nl : 0;
            rows[n_rows].pass = rows[n_rows].total = 0;
            n_rows++;
        }
        rows[j].pass += s->trues;
        rows[j].total += s->total;
    }
    for (size_t j = 0; j < n_rows; j++) {
        bool ok = rows[j].pass == rows[j].total;
        char pct[32];
        fmt_percent((double)rows[j].pass / (double)rows[j].total, pct, sizeof pct);
        fprintf(o->f,
                "    %s%s %.*s%s%.*s%s  %s \xe2\x80\x94 \xe2\x9c\x93 %llu / \xe2\x9c\x97 %llu\n",
                col(o, ok ? C_GREEN : C_RED), ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97",
                (int)(rows[j].name_len > 80 ? 80 : rows[j].name_len),
                rows[j].name ? rows[j].name : "", rows[j].name_len ? " \xe2\x80\xba " : "",
                (int)(rows[j].check_len > 120 ? 120 : rows[j].check_len), rows[j].check,
                col(o, C_RESET), pct, (unsigned long long)rows[j].pass,
                (unsigned long long)(rows[j].total - rows[j].pass));
    }
    if (more > 0) {
        fprintf(o->f, "    (and %zu more checks: see the result file)\n", more);
    }
}

/*
 * The scenario file's custom metrics (k6's CUSTOM group), in declaration order.  One
 * declared but never fed says so: a feed whose condition never held, or a typo in it.
 */
static void print_custom(const struct out *o, const struct run_report *r)
{
    bool any = false;
    for (int m = M_COUNT; m < metric_count(); m++) {
        if (!metric_info[m].custom) {
            continue;
        }
        if (!any) {
            print_group_title(o, "CUSTOM");
            any = true;
        }
        struct series s;
        char value[512];
        if (!aggregate(o, r, m, "", &s)) {
            print_row(o, 4, metric_info[m].name, "no samples");
            continue;
        }
        fmt_metric_value(o, &s, value, sizeof value);
        print_row(o, 4, metric_info[m].name, value);
    }
}

static void print_metrics(const struct out *o, const struct run_report *r)
{
    static const int http_trends[] = {
        M_HTTP_REQ_LATENCY,         M_HTTP_REQ_QUEUED,  M_HTTP_REQ_BLOCKED, M_HTTP_REQ_CONNECTING,
        M_HTTP_REQ_TLS_HANDSHAKING, M_HTTP_REQ_SENDING, M_HTTP_REQ_WAITING, M_HTTP_REQ_RECEIVING,
    };
    static const int execution[] = {M_ITERATION_DURATION, M_ITERATIONS, M_ITERATIONS_INTERRUPTED,
                                    M_DROPPED_ITERATIONS, M_VUS,        M_VUS_MAX};
    static const int network[] = {M_DATA_RECEIVED, M_DATA_SENT, M_TLS_HANDSHAKES, M_TLS_RESUMED};
    static const int checks[] = {M_CHECKS};
    struct series s;

    if (r->total == NULL) {
        return;
    }
    fprintf(o->f, "\n  %s\xe2\x96\x88 TOTAL RESULTS%s\n", col(o, C_BOLD), col(o, C_RESET));
    print_group(o, r, "CHECKS", checks, 1);
    print_each_check(o, r);

    bool http = false;
    for (int m = M_HTTP_REQS; m <= M_HTTP_REQ_LATENCY && !http; m++) {
        http = aggregate(o, r, m, "", &s);
    }
    if (http) {
        print_group_title(o, "HTTP");
        if (print_metric(o, r, M_HTTP_REQ_DURATION)) {
            print_duration_by_name(o, r);
        }
        for (size_t i = 0; i < sizeof http_trends / sizeof http_trends[0]; i++) {
            print_metric(o, r, http_trends[i]);
        }
        /* Send lag only when material: requests left a millisecond or more late; then
         * brunt's own part of it beside (less how late the system woke it). */
        if (aggregate(o, r, M_HTTP_REQ_SEND_LAG, "", &s) &&
            hist_quantile_ns(s.hist, 0.99) >= RUN_SEND_LAG_MATERIAL_NS) {
            print_metric(o, r, M_HTTP_REQ_SEND_LAG);
            print_metric(o, r, M_HTTP_REQ_SEND_LAG_OWN);
        }
        print_metric(o, r, M_HTTP_REQ_FAILED);
        if (print_metric(o, r, M_HTTP_REQS)) {
            print_statuses(o, r);
        }
        print_metric(o, r, M_HTTP_REQ_RETRIES);
    }
    static const int websocket[] = {M_WS_CONNECTING,       M_WS_MSG_LATENCY, M_WS_PING,
                                    M_WS_SESSION_DURATION, M_WS_SESSIONS,    M_WS_MSGS_RECEIVED,
                                    M_WS_MSGS_SENT};
    print_group(o, r, "WEBSOCKET", websocket, sizeof websocket / sizeof websocket[0]);
    print_group(o, r, "EXECUTION", execution, sizeof execution / sizeof execution[0]);
    print_group(o, r, "NETWORK", network, sizeof network / sizeof network[0]);
    print_custom(o, r);
    print_errors(o, r);
}

/* ---- rate and warnings ----------------------------------------------------------- */

static void print_tail(const struct out *o, const struct run_report *r)
{
    bool blank = false;
    if (r->target_rate > 0) {
        /* Started says whether the schedule held; completed, whether the target kept up
         * (an iteration cut off by the end is started but never answered). */
        char t[32], a[32], d[32];
        double share = r->achieved_rate / r->target_rate;
        double done = r->completed_rate / r->target_rate;
        fmt_num3(r->target_rate, t, sizeof t);
        fmt_num3(r->achieved_rate, a, sizeof a);
        fmt_num3(r->completed_rate, d, sizeof d);
        fprintf(o->f,
                "\n  rate: target %s/s, started %s/s (%s%.1f%%%s), completed %s/s (%s%.1f%%%s)\n",
                t, a, col(o, share < 0.99 ? C_YELLOW : C_GREEN), share * 100, col(o, C_RESET), d,
                col(o, done < 0.99 ? C_YELLOW : C_GREEN), done * 100, col(o, C_RESET));
        blank = true;
    }
    size_t nw = r->n_warnings;
    if (nw > sizeof r->warnings / sizeof r->warnings[0]) {
        nw = sizeof r->warnings / sizeof r->warnings[0];
    }
    for (size_t i = 0; i < nw; i++) {
        if (!blank) {
            fputc('\n', o->f);
            blank = true;
        }
        fprintf(o->f, "  %sWARN%s %.*s\n", col(o, C_YELLOW), col(o, C_RESET),
                (int)sizeof r->warnings[i], r->warnings[i]);
    }
}

void summary_print(FILE *f, const struct run_report *r, bool color)
{
    summary_print_info(f, r, NULL, color);
}

void summary_print_info(FILE *f, const struct run_report *r, const struct run_info *info,
                        bool color)
{
    struct out o = {
        .f = f,
        .color = color,
        .scratch = hist_new(),
        .duration_s = (double)r->duration_ns / 1e9,
    };

    print_header(&o, r, info);
    print_thresholds(&o, r);
    print_criteria(&o, r);
    print_metrics(&o, r);
    print_watch(&o, r);
    print_tail(&o, r);
    fputc('\n', f);
    hist_free(o.scratch);
}
