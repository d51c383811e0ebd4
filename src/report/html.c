/*
 * html — the HTML report: one self-contained page (no external resource, no script) with
 * the same analysis as the Markdown report plus static inline-SVG charts: latency
 * percentiles over time (http_req_duration and the corrected http_req_latency),
 * throughput and errors, VUs, the percentile spectrum on a log 1/(1-p) axis, the
 * per-request breakdown, and one chart per probe figure in the time series (target
 * CPU, memory, database and cache figures, when the run measured them).  Without
 * scripts, it reads the same where a CI server's content policy blocks them.
 *
 * Figures a test (or a reader) may want to check carry data-fig / data-value
 * attributes with the raw number from the result, beside the formatted text.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "report/assets.h"
#include "report/html_internal.h"
#include "report/jtree.h"
#include "report/report_internal.h"
#include "report/svg.h"

/* Points per line in the data block; longer series are bucketed as the SVG is. */
#define JS_MAX_POINTS 1800

void html__put(struct hb *h, const char *s)
{
    h->rc |= dynbuf_adds(h->b, s);
}

void html__putf(struct hb *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    h->rc |= dynbuf_vaddf(h->b, fmt, ap);
    va_end(ap);
}

void html__esc(struct hb *h, const char *s)
{
    h->rc |= text_xml_escape(h->b, s);
}

/* A figure: formatted text with its raw value in data-value. */
void html__fig(struct hb *h, const char *name, double raw, const char *text)
{
    html__putf(h, "<span data-fig=\"%s\" data-value=\"%.17g\">", name, isfinite(raw) ? raw : 0);
    html__esc(h, text);
    html__put(h, "</span>");
}

/* A JSON string for the data block: '<' escaped so no "</script" can appear. */
static void js_str(struct hb *h, const char *s)
{
    h->rc |= dynbuf_addc(&h->js, '"');
    h->rc |= json_escape(&h->js, s, strlen(s), JSON_ESC_SCRIPT);
    h->rc |= dynbuf_addc(&h->js, '"');
}

/* y[0..n) as a JSON array, bucketed to at most JS_MAX_POINTS (max, or mean for rates). */
static void js_array(struct hb *h, const double *y, size_t n, bool mean)
{
    size_t step = n > JS_MAX_POINTS ? (n + JS_MAX_POINTS - 1) / JS_MAX_POINTS : 1;
    h->rc |= dynbuf_addc(&h->js, '[');
    for (size_t i = 0; i < n; i += step) {
        double sum = 0, best = -INFINITY;
        size_t cnt = 0;
        for (size_t j = i; j < i + step && j < n; j++) {
            if (isfinite(y[j])) {
                sum += y[j];
                best = y[j] > best ? y[j] : best;
                cnt++;
            }
        }
        if (i > 0) {
            h->rc |= dynbuf_addc(&h->js, ',');
        }
        if (cnt == 0) {
            h->rc |= dynbuf_adds(&h->js, "null");
        } else {
            h->rc |= dynbuf_addf(&h->js, "%.5g", mean ? sum / (double)cnt : best);
        }
    }
    h->rc |= dynbuf_addc(&h->js, ']');
}

/* One chart of the data block, mirroring the SVG chart c (same id, lines, labels). */
static void js_chart(struct hb *h, const struct svg_chart *c, bool log_percentile)
{
    h->rc |= dynbuf_adds(&h->js, h->n_js++ ? "," : "");
    h->rc |= dynbuf_adds(&h->js, "{\"id\":");
    js_str(h, c->id);
    h->rc |= dynbuf_adds(&h->js, ",\"xlabel\":");
    js_str(h, c->x_label);
    h->rc |= dynbuf_adds(&h->js, ",\"ylabel\":");
    js_str(h, c->y_label);
    h->rc |=
        dynbuf_addf(&h->js, ",\"log_percentile\":%s,\"x\":", log_percentile ? "true" : "false");
    js_array(h, c->x, c->n, true);
    h->rc |= dynbuf_adds(&h->js, ",\"series\":[");
    for (size_t k = 0; k < c->n_lines; k++) {
        const struct svg_line *l = &c->lines[k];
        h->rc |= dynbuf_adds(&h->js, k ? ",{\"name\":" : "{\"name\":");
        js_str(h, l->name);
        h->rc |= dynbuf_adds(&h->js, ",\"color\":");
        js_str(h, l->color);
        h->rc |= dynbuf_addf(&h->js, ",\"dashed\":%s,\"y\":", l->dashed ? "true" : "false");
        js_array(h, l->y, c->n, l->mean);
        h->rc |= dynbuf_addc(&h->js, '}');
    }
    h->rc |= dynbuf_adds(&h->js, "]}");
}

/* A chart both ways: static SVG now, and its data for the interactive layer. */
void html__chart(struct hb *h, const struct svg_chart *c, bool log_percentile)
{
    h->rc |= svg_line_chart(h->b, c);
    js_chart(h, c, log_percentile);
}

static const char *const CSS =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;"
    "max-width:980px;margin:24px auto;padding:0 16px}"
    "h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}"
    ".meta{color:#666}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".ok{color:#1a7f37}.warn{color:#9a6700}.fail{color:#cf222e}"
    "figure.chart{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}"
    "svg{max-width:100%;height:auto;border:1px solid #eee}.note{color:#666;font-size:12px}"
    "caption{text-align:left;font-weight:600}pre{background:#f6f8fa;padding:10px;overflow:auto;"
    "font-size:12px}"
    ".sev-critical{color:#cf222e;font-weight:600}.sev-warning{color:#9a6700;font-weight:600}"
    ".missing{color:#666}"
    "section.probe-panel{border-top:2px solid #eee;margin-top:24px}section.probe-panel h3{"
    "font-size:17px}h4{margin:16px 0 2px}table.panel-findings{width:100%}table.panel-findings "
    "td.evidence{width:36%}";

static void head(struct hb *h, const struct report_model *m)
{
    html__put(h,
              "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><title>brunt "
              "report: ");
    html__esc(h, rt_title(m));
    html__putf(h, "</title><style>%s</style></head><body>\n<h1>Performance report: ", CSS);
    html__esc(h, rt_title(m));
    char dur[32];
    report_fmt_ms(m->duration_ms, dur, sizeof dur);
    html__put(h, "</h1>\n<p class=\"meta\">brunt ");
    html__esc(h, m->version);
    html__put(h, " · started ");
    html__esc(h, m->start);
    html__put(h, " · ran ");
    html__fig(h, "duration_ms", m->duration_ms, dur);
    html__put(h, " · ");
    html__esc(h, m->hostname[0] ? m->hostname : "unknown host");
    html__putf(h, " (%d cores, ", m->cores);
    html__esc(h, m->kernel);
    html__put(h, ")<br>");
    html__esc(h, m->command);
    html__put(h, "</p>\n");
}

static void summary(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"summary\">Executive Summary</h2>\n<p>");
    struct dynbuf t;
    dynbuf_init(&t, 16384);
    h->rc |= rt_summary(m, &t);
    html__esc(h, t.data ? t.data : "");
    dynbuf_destroy(&t);
    html__put(h, "</p>\n<p>");
    char v[48];
    html__put(h, "Requests: ");
    report_fmt_num(m->total_requests, v, sizeof v);
    html__fig(h, "total_requests", m->total_requests, v);
    html__put(h, " · throughput: ");
    report_fmt_rate(m->achieved_rps, v, sizeof v);
    html__fig(h, "achieved_rps", m->achieved_rps, v);
    const struct report_metric *d = report_metric(m, "http_req_duration");
    if (d != NULL) {
        html__put(h, " · http_req_duration p95: ");
        report_fmt_ms(d->trend.p95, v, sizeof v);
        html__fig(h, "http_req_duration.p95", d->trend.p95, v);
        html__put(h, " · p99: ");
        report_fmt_ms(d->trend.p99, v, sizeof v);
        html__fig(h, "http_req_duration.p99", d->trend.p99, v);
    }
    html__put(h, " · failed: ");
    report_fmt_pct(m->failed_rate, v, sizeof v);
    html__fig(h, "failed_rate", m->failed_rate, v);
    html__put(h, "</p>\n");
}

static void checks(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"current\">Current Performance</h2>\n");
    if (m->n_checks == 0) {
        html__put(h, "<p class=\"missing\">No thresholds or success criteria were set: nothing to "
                     "judge against (--threshold 'http_req_duration:p(95)&lt;300', or a criteria: "
                     "table in the scenario).</p>\n");
    } else {
        html__put(h, "<table id=\"checks\"><tr><th>Metric</th><th>Current</th><th>Target</th>"
                     "<th>Status</th><th>Kind</th></tr>\n");
    }
    for (size_t i = 0; i < m->n_checks; i++) {
        const struct report_check *c = &m->checks[i];
        char v[48];
        report_fmt_check_value(c, c->observed, v, sizeof v);
        const char *cls = !c->ok ? "fail" : c->warn ? "warn" : "ok";
        /* Words, not emoji: a headless browser or a CI server may lack the emoji font. */
        const char *icon = !c->ok               ? "✖ not met"
                           : !c->evaluated      ? "▲ not evaluated"
                           : c->acceptable_only ? "▲ acceptable, not its target"
                           : c->warn            ? "▲ near its limit"
                                                : "✔ met";
        html__put(h, "<tr><td><code>");
        html__esc(h, c->metric);
        html__putf(h, "</code></td><td class=\"n\" data-check=\"%zu\" data-value=\"%.17g\">", i,
                   isfinite(c->observed) ? c->observed : 0);
        html__esc(h, c->evaluated ? v : "not evaluated");
        html__put(h, c->no_samples ? " (no samples)" : "");
        html__put(h, "</td><td>");
        html__esc(h, c->expression);
        if (c->acceptable[0]) {
            html__put(h, " (acceptable ");
            html__esc(h, c->acceptable);
            html__put(h, ")");
        }
        html__putf(h, "</td><td class=\"%s\">%s</td><td>%s</td></tr>\n", cls, icon, c->source);
    }
    if (m->n_checks > 0) {
        html__put(h, "</table>\n");
    }
    if (m->n_verdicts > 0) {
        html__put(h, "<h3>Verdicts of the watch</h3>\n<table id=\"verdicts\"><tr><th>What</th>"
                     "<th>Verdict</th><th>Slope</th><th>Evidence</th></tr>\n");
        for (size_t i = 0; i < m->n_verdicts; i++) {
            const struct report_verdict *v = &m->verdicts[i];
            const char *cls = strcmp(v->verdict, "growing") == 0 ? "fail"
                              : strcmp(v->verdict, "flat") == 0  ? "ok"
                                                                 : "missing";
            html__put(h, "<tr><td>");
            html__esc(h, v->what);
            html__putf(h, "</td><td class=\"%s\" data-verdict=\"%zu\">", cls, i);
            html__esc(h, v->verdict);
            html__put(h, "</td><td class=\"n\">");
            if (isfinite(v->slope) && strcmp(v->verdict, "insufficient data") != 0) {
                html__putf(h, "%.4g ", v->slope);
                html__esc(h, v->unit);
            } else {
                html__put(h, "—");
            }
            html__put(h, "</td><td>");
            html__esc(h, v->evidence);
            html__put(h, "</td></tr>\n");
        }
        html__put(h, "</table>\n");
    }
    if (!m->has_criteria) {
        html__put(h,
                  "<p class=\"missing\">No success criteria in this run (a criteria: table in the "
                  "scenario sets target and acceptable levels).</p>\n");
    }
}

static void time_charts(struct hb *h, const struct report_model *m)
{
    size_t n = m->n_rows;
    html__put(h, "<h2 id=\"charts\">Over time</h2>\n");
    if (n == 0) {
        html__put(h, "<p class=\"missing\">The result has no time series.</p>\n");
        return;
    }
    double *buf = calloc(n * 12, sizeof *buf);
    if (buf == NULL) {
        h->rc = -ENOMEM;
        return;
    }
    double *x = buf, *d50 = buf + n, *d95 = buf + 2 * n, *d99 = buf + 3 * n, *l50 = buf + 4 * n,
           *l95 = buf + 5 * n, *l99 = buf + 6 * n, *rps = buf + 7 * n, *fail = buf + 8 * n,
           *vus = buf + 9 * n, *err = buf + 10 * n;
    bool has_lat = false;
    for (size_t i = 0; i < n; i++) {
        const struct report_row *w = &m->rows[i];
        x[i] = w->t;
        bool dz = !(w->duration.count > 0), lz = !(w->latency.count > 0);
        d50[i] = dz ? NAN : w->duration.med;
        d95[i] = dz ? NAN : w->duration.p95;
        d99[i] = dz ? NAN : w->duration.p99;
        l50[i] = lz ? NAN : w->latency.med;
        l95[i] = lz ? NAN : w->latency.p95;
        l99[i] = lz ? NAN : w->latency.p99;
        has_lat = has_lat || !lz;
        rps[i] = w->rps;
        fail[i] = w->failed;
        vus[i] = w->vus;
        err[i] = w->errors;
    }
    const char *note = n > SVG_MAX_POINTS ? "Each point covers several seconds: latency lines "
                                            "show the highest value in it, rates the mean."
                                          : "";
    struct svg_chart c = {.id = "chart-latency",
                          .title = "Latency percentiles over time (ms)",
                          .x_label = "seconds since the start",
                          .y_label = "ms",
                          .note = note,
                          .x = x,
                          .n = n};
    c.lines[c.n_lines++] = (struct svg_line){"duration p50", "#1f77b4", d50, false, false};
    c.lines[c.n_lines++] = (struct svg_line){"duration p95", "#ff7f0e", d95, false, false};
    c.lines[c.n_lines++] = (struct svg_line){"duration p99", "#d62728", d99, false, false};
    if (has_lat) {
        c.lines[c.n_lines++] = (struct svg_line){"corrected p50", "#6baed6", l50, true, false};
        c.lines[c.n_lines++] = (struct svg_line){"corrected p95", "#fdae6b", l95, true, false};
        c.lines[c.n_lines++] = (struct svg_line){"corrected p99", "#fb6a4a", l99, true, false};
    }
    html__chart(h, &c, false);
    struct svg_chart t = {.id = "chart-throughput",
                          .title = "Throughput and failures per second",
                          .x_label = "seconds since the start",
                          .y_label = "per second",
                          .note = note,
                          .x = x,
                          .n = n};
    t.lines[t.n_lines++] = (struct svg_line){"requests/s", "#2ca02c", rps, false, true};
    t.lines[t.n_lines++] = (struct svg_line){"failed/s", "#d62728", fail, false, true};
    t.lines[t.n_lines++] = (struct svg_line){"network errors/s", "#9467bd", err, true, true};
    html__chart(h, &t, false);
    struct svg_chart v = {.id = "chart-vus",
                          .title = "Active virtual users",
                          .x_label = "seconds since the start",
                          .y_label = "VUs",
                          .note = note,
                          .x = x,
                          .n = n};
    v.lines[v.n_lines++] = (struct svg_line){"VUs", "#8c564b", vus, false, true};
    html__chart(h, &v, false);
    /* Other numeric per-second members of the rows (a watcher's own figures).  The
     * watch's per-target figures are charted in the process panel, from the probe's own
     * series, so they are left out here.  At most 16 charts keep a one-hour page under
     * 1 MB; the CSV has every column. */
    size_t drawn = 0, more = 0;
    for (size_t j = 0; j < m->n_extra; j++) {
        if (m->extra_from_watch[j]) {
            continue;
        }
        if (drawn == 16) {
            more++;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            err[i] = m->rows[i].extra[j];
        }
        char id[64], title[96];
        snprintf(id, sizeof id, "chart-extra-%zu", j);
        snprintf(title, sizeof title, "%s over time", m->extra_names[j]);
        struct svg_chart e = {.id = id,
                              .title = title,
                              .x_label = "seconds since the start",
                              .y_label = m->extra_names[j],
                              .note = note,
                              .x = x,
                              .n = n};
        e.lines[e.n_lines++] = (struct svg_line){m->extra_names[j], "#17becf", err, false, true};
        html__chart(h, &e, false);
        drawn++;
    }
    if (more > 0) {
        html__putf(h, "<p class=\"note\">%zu more per-second figures are in the CSV report.</p>\n",
                   more);
    }
    if (rt_has_probe(m, "process") || rt_has_probe(m, "machine") || rt_has_probe(m, "postgres") ||
        rt_has_probe(m, "redis")) {
        html__put(h, "<p class=\"note\">The probes' figures over time (target CPU and memory, "
                     "the machine, database and cache) are charted in their panels under "
                     "<a href=\"#probes\">What the probes measured</a>.</p>\n");
    }
    if (drawn == 0 && !rt_has_probe(m, "process") && !rt_has_probe(m, "machine") &&
        !rt_has_probe(m, "postgres") && !rt_has_probe(m, "redis")) {
        html__put(h,
                  "<p class=\"missing\">Target CPU and memory, the machine's CPU, and database and "
                  "cache figures over time: not measured in this run (--watch, --postgres, "
                  "--redis).</p>\n");
    }
    free(buf);
}

static void spectrum_chart(struct hb *h, const struct report_model *m)
{
    const struct report_spectrum *sd = &m->spectrum_duration, *sl = &m->spectrum_latency;
    size_t n = sd->n > sl->n ? sd->n : sl->n;
    if (n < 2) {
        return;
    }
    double *buf = calloc(n * 3, sizeof *buf);
    if (buf == NULL) {
        h->rc = -ENOMEM;
        return;
    }
    double *x = buf, *yd = buf + n, *yl = buf + 2 * n;
    const struct report_spectrum *ref = sd->n >= sl->n ? sd : sl;
    for (size_t i = 0; i < n; i++) {
        double p = ref->pts[i].p;
        /* p = 1 (the max) sits half a decade beyond the last finite point. */
        x[i] = p < 1 ? log10(1 / (1 - p)) : (i > 0 ? x[i - 1] + 0.5 : 0);
        yd[i] = i < sd->n ? sd->pts[i].value_ms : NAN;
        yl[i] = i < sl->n ? sl->pts[i].value_ms : NAN;
    }
    static const struct svg_tick ticks[] = {{0, "0%"},      {0.30102999566398120, "50%"},
                                            {1, "90%"},     {2, "99%"},
                                            {3, "99.9%"},   {4, "99.99%"},
                                            {5, "99.999%"}, {6, "99.9999%"}};
    struct svg_chart c = {.id = "chart-spectrum",
                          .title = "Latency by percentile (log 1/(1-p) axis)",
                          .x_label = "percentile (the last point is the maximum)",
                          .y_label = "ms",
                          .x = x,
                          .n = n,
                          .x_ticks = ticks,
                          .n_x_ticks = sizeof ticks / sizeof ticks[0]};
    if (sd->n > 0) {
        c.lines[c.n_lines++] = (struct svg_line){"http_req_duration", "#1f77b4", yd, false, false};
    }
    if (sl->n > 0) {
        c.lines[c.n_lines++] = (struct svg_line){"http_req_latency", "#d62728", yl, true, false};
    }
    html__chart(h, &c, true);
    free(buf);
}

static void requests(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"requests\">Requests</h2>\n");
    size_t nb = m->n_requests < 25 ? m->n_requests : 25;
    if (nb > 0) {
        double *vals = calloc(nb * 3, sizeof *vals);
        const char **labels = calloc(nb, sizeof *labels);
        if (vals == NULL || labels == NULL) {
            h->rc = -ENOMEM;
        } else {
            for (size_t i = 0; i < nb; i++) {
                labels[i] = m->requests[i].name;
                vals[i * 3] = m->requests[i].p50_ms;
                vals[i * 3 + 1] = m->requests[i].p95_ms;
                vals[i * 3 + 2] = m->requests[i].p99_ms;
            }
            struct svg_bars bars = {.id = "chart-requests",
                                    .title = nb < m->n_requests
                                                 ? "Latency per request (ms), the 25 with the "
                                                   "most total time"
                                                 : "Latency per request (ms)",
                                    .x_label = "ms",
                                    .labels = labels,
                                    .n = nb,
                                    .values = vals,
                                    .set_names = {"p50", "p95", "p99"},
                                    .colors = {"#1f77b4", "#ff7f0e", "#d62728"},
                                    .n_sets = 3};
            h->rc |= svg_bar_chart(h->b, &bars);
        }
        free(vals);
        free(labels);
    }
    html__put(h,
              "<table id=\"requests-table\"><tr><th>Name</th><th>Count</th><th>p50</th>"
              "<th>p95</th><th>p99</th><th>max</th><th>Errors</th><th>Share of time</th></tr>\n");
    double total = 0;
    for (size_t i = 0; i < m->n_requests; i++) {
        total += m->requests[i].total_ms;
    }
    for (size_t i = 0; i < m->n_requests; i++) {
        const struct report_request *q = &m->requests[i];
        char c[32], a[32], b[32], e[32], mx[32], f[32], s[32];
        report_fmt_num((double)q->count, c, sizeof c);
        report_fmt_ms(q->p50_ms, a, sizeof a);
        report_fmt_ms(q->p95_ms, b, sizeof b);
        report_fmt_ms(q->p99_ms, e, sizeof e);
        report_fmt_ms(q->max_ms, mx, sizeof mx);
        report_fmt_num((double)q->failed, f, sizeof f);
        report_fmt_pct(total > 0 ? q->total_ms / total : NAN, s, sizeof s);
        html__put(h, "<tr data-request=\"");
        html__esc(h, q->name);
        html__putf(h, "\" data-count=\"%llu\" data-p95=\"%.17g\" data-failed=\"%llu\"><td>",
                   (unsigned long long)q->count, q->p95_ms, (unsigned long long)q->failed);
        if (q->method[0]) {
            html__esc(h, q->method);
            html__put(h, " ");
        }
        html__esc(h, q->name);
        html__putf(h,
                   "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">%s</td></tr>\n",
                   c, a, b, e, mx, f, s);
    }
    html__put(h, "</table>\n");
}

static void findings(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"bottlenecks\">Bottleneck Analysis</h2>\n");
    if (m->n_findings == 0) {
        html__put(h, "<p>No bottleneck showed in what was measured.</p>\n");
    } else {
        html__put(h,
                  "<table id=\"findings\"><tr><th>#</th><th>Severity</th><th>Location</th>"
                  "<th>Impact</th><th>Evidence</th><th>Recommendation</th><th>Source</th></tr>\n");
    }
    for (size_t i = 0; i < m->n_findings; i++) {
        const struct finding *f = &m->findings[i];
        char imp[32] = "—";
        if (f->impact >= 0) {
            report_fmt_pct(f->impact, imp, sizeof imp);
        }
        const char *sev = report_severity_name(f->severity);
        html__putf(h, "<tr><td>%zu</td><td class=\"sev-%s\">%s</td><td>", i + 1, sev, sev);
        html__esc(h, f->location);
        html__putf(h, "</td><td class=\"n\">%s</td><td>", imp);
        html__esc(h, f->evidence);
        html__put(h, "</td><td>");
        html__esc(h, f->recommendation);
        html__put(h, "</td><td>");
        html__esc(h, f->probe);
        html__put(h, ": <code>");
        html__esc(h, f->kind);
        html__put(h, "</code></td></tr>\n");
    }
    if (m->n_findings > 0) {
        html__put(h, "</table>\n");
    }
    html__put(h, "<h3>What was watched</h3>\n<ul>");
    for (size_t i = 0; i < m->n_probes; i++) {
        html__put(h, "<li>");
        html__esc(h, m->probes[i].name);
        html__putf(h, ": measured, %zu finding%s</li>", m->probes[i].n_findings,
                   m->probes[i].n_findings == 1 ? "" : "s");
    }
    char lines[8][160];
    size_t k = rt_not_measured(m, lines, 8);
    for (size_t i = 0; i < k; i++) {
        html__put(h, "<li class=\"missing\">");
        html__esc(h, lines[i]);
        html__put(h, "</li>");
    }
    html__put(h, "</ul>\n");
}

/* The optimisation plan (report/text.c rt_plan): what to do first. */
static void plan(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"plan\">Optimisation Plan</h2>\n");
    size_t steps[64];
    size_t n = rt_plan(m, m->n_findings, steps, 64); /* the HTML lists every finding */
    if (n == 0) {
        html__put(h, "<p>Nothing to optimise showed in what was measured (no critical or "
                     "warning finding).</p>\n");
        return;
    }
    html__put(h, "<p>In order (the most severe and largest impact first), from the findings "
                 "above:</p>\n<ol id=\"plan-steps\">");
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = &m->findings[steps[i]];
        html__putf(h, "<li data-finding=\"%zu\"><strong>", steps[i] + 1);
        html__esc(h, f->location);
        html__put(h, "</strong>: ");
        html__esc(h, f->recommendation);
        html__putf(h, " (finding %zu", steps[i] + 1);
        if (f->impact >= 0) {
            char p[32];
            report_fmt_pct(f->impact, p, sizeof p);
            html__putf(h, ", impact %s", p);
        }
        html__put(h, ")</li>");
    }
    html__put(h, "</ol>\n");
}

static void load(struct hb *h, const struct report_model *m)
{
    char cfg[256], v[48];
    rt_load_config(m, cfg, sizeof cfg);
    html__put(h, "<h2 id=\"load\">Load Test Results</h2>\n<table><tr><th>Configuration</th><td>");
    html__esc(h, cfg);
    html__put(h, "</td></tr><tr><th>Target</th><td>");
    html__esc(h, m->method);
    html__put(h, " ");
    html__esc(h, rt_title(m));
    html__put(h, "</td></tr><tr><th>Max throughput held</th><td>");
    if (isfinite(m->held_rps)) {
        report_fmt_rate(m->held_rps, v, sizeof v);
        html__fig(h, "held_rps", m->held_rps, v);
        html__putf(h, " (every second of a %.0f s window, errors &lt;= 1%%)", m->held_window_s);
    } else {
        html__put(h, "none: no window stayed at or under 1% errors");
    }
    html__put(h, "</td></tr><tr><th>Breaking point</th><td>");
    if (m->bp_present) {
        /* The ramp's own finding, its figures marked for a reader (tests, scripts). */
        char bp[512];
        rt_breakpoint(m, bp, sizeof bp);
        html__esc(h, bp);
        html__put(h, "<span hidden>");
        html__fig(h, "bp_broke", m->bp_broke, m->bp_broke ? "broke" : "held");
        html__fig(h, "bp_broke_at_rate", m->bp_broke_at, "");
        html__fig(h, "bp_held_rate", m->bp_held, "");
        html__fig(h, "bp_t_s", m->bp_t_s, "");
        html__put(h, "</span>");
    } else if (m->breaking_found) {
        report_fmt_rate(m->breaking_rps, v, sizeof v);
        html__esc(h, m->breaking_what);
        html__putf(h, " at %s with %g VUs, %u s in", v,
                   isfinite(m->breaking_vus) ? m->breaking_vus : 0, m->breaking_t);
    } else {
        html__put(h, "not reached: errors stayed at or under 1% every second");
    }
    html__put(h, "</td></tr>");
    if (isfinite(m->max_worker_busy)) {
        html__putf(h, "<tr><th>brunt's busiest worker</th><td>%.0f%% busy</td></tr>",
                   m->max_worker_busy * 100);
    }
    html__put(h, "</table>\n");
    if (m->errors_total > 0 || m->n_warnings > 0) {
        html__put(h, "<h3>Errors and warnings</h3><ul>");
        for (size_t i = 0; i < m->n_error_kinds; i++) {
            if (m->errors[i].count > 0) {
                html__put(h, "<li>");
                html__esc(h, m->errors[i].kind);
                html__putf(h, ": %.0f</li>", m->errors[i].count);
            }
        }
        for (size_t i = 0; i < m->n_warnings; i++) {
            html__put(h, "<li>warning: ");
            html__esc(h, m->warnings[i]);
            html__put(h, "</li>");
        }
        html__put(h, "</ul>\n");
    }
}

static void monitoring(struct hb *h, const struct report_model *m)
{
    html__put(h, "<h2 id=\"monitoring\">Monitoring Recommendations</h2>\n<p>Prometheus alert rules "
                 "with limits from this run's objectives, or from what it measured where none was "
                 "set:</p><pre>");
    struct dynbuf t;
    dynbuf_init(&t, 16384);
    h->rc |= rt_alert_rules(m, &t);
    html__esc(h, t.data ? t.data : "");
    dynbuf_destroy(&t);
    html__put(h, "</pre>\n");
}

/* The interactive layer: the charts' data, uPlot and charts.js, all inline. */
static void interactive(struct hb *h)
{
    struct report_asset css = report_asset_uplot_css(), js = report_asset_uplot_js(),
                        init = report_asset_charts_js();
    html__put(h, "<script type=\"application/json\" id=\"brunt-data\">{\"charts\":[");
    h->rc |= dynbuf_add(h->b, h->js.data ? h->js.data : "", h->js.len);
    html__put(h, "]}</script>\n<style>");
    h->rc |= dynbuf_add(h->b, css.data, css.len);
    html__put(h, ".uplot-host{margin-bottom:4px}"
                 /* the page's table style must not box uPlot's legend cells */
                 ".u-legend{font-size:12px}.u-legend th,.u-legend td{border:0;background:none;"
                 "padding:1px 3px;font-weight:normal}</style>\n<script>");
    h->rc |= dynbuf_add(h->b, js.data, js.len);
    html__put(h, "</script>\n<script>");
    h->rc |= dynbuf_add(h->b, init.data, init.len);
    html__put(h, "</script>\n");
}

int report_html(const struct report_model *m, struct dynbuf *out)
{
    struct hb h = {.b = out};
    dynbuf_init(&h.js, 64u << 20);
    head(&h, m);
    summary(&h, m);
    checks(&h, m);
    findings(&h, m);
    plan(&h, m);
    time_charts(&h, m);
    html__put(&h, "<h2 id=\"distribution\">Latency distribution</h2>\n");
    spectrum_chart(&h, m);
    requests(&h, m);
    html__probes(&h, m);
    load(&h, m);
    monitoring(&h, m);
    html__put(&h,
              "<p class=\"note\">Generated by brunt from the result file; every figure here is "
              "in it. Charts are static SVG; where scripts run, uPlot (MIT, embedded) makes them "
              "zoomable (drag) with values on hover.</p>\n");
    interactive(&h);
    html__put(&h, "</body></html>\n");
    dynbuf_destroy(&h.js);
    return h.rc ? (h.rc == -ENOMEM ? -ENOMEM : -E2BIG) : 0;
}
