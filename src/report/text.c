/*
 * text — the sentences the Markdown and HTML reports share: the executive summary, the
 * load configuration, the "not measured" lines, and the alert rules derived from the
 * run.  Each writes plain text (no markup) so each renderer escapes it its own way.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/jtree.h"
#include "report/report_internal.h"

static int addf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dynbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *rt_title(const struct report_model *m)
{
    return m->url[0] ? m->url : "the scenario";
}

void rt_breakpoint(const struct report_model *m, char *out, size_t cap)
{
    double peak = isfinite(m->bp_peak) ? m->bp_peak : 0;
    if (!m->bp_broke) {
        snprintf(out, cap,
                 "not reached: the breakpoint ramp '%s' held its thresholds up to an arrival "
                 "rate of %.1f/s (it ramps to %.1f/s)",
                 m->bp_scenario, isfinite(m->bp_reached) ? m->bp_reached : 0, peak);
        return;
    }
    /* vus is null when the run recorded no second: then the sentence says nothing of VUs. */
    char vus[48] = "";
    if (isfinite(m->bp_vus)) {
        snprintf(vus, sizeof vus, " with %g VUs", m->bp_vus);
    }
    snprintf(out, cap,
             "%s broke at an arrival rate of %.1f/s%s, %.1f s into the breakpoint "
             "ramp '%s' (to %.1f/s); %.1f/s held a second before",
             m->bp_what[0] ? m->bp_what : "the thresholds",
             isfinite(m->bp_broke_at) ? m->bp_broke_at : 0, vus,
             isfinite(m->bp_t_s) ? m->bp_t_s : 0, m->bp_scenario, peak,
             isfinite(m->bp_held) ? m->bp_held : 0);
}

void rt_load_config(const struct report_model *m, char *out, size_t cap)
{
    char dur[32];
    report_fmt_ms(isfinite(m->opt_duration_ms) ? m->opt_duration_ms : m->duration_ms, dur,
                  sizeof dur);
    bool open = strcmp(m->model, "open") == 0;
    size_t l = 0;
    if (open) {
        char r[48];
        report_fmt_rate(m->rate, r, sizeof r);
        l = (size_t)snprintf(out, cap, "open model (%s), %s asked, up to %g VUs, for %s",
                             m->executor[0] ? m->executor : "arrival rate", r,
                             isfinite(m->max_vus) ? m->max_vus : 0, dur);
    } else {
        l = (size_t)snprintf(out, cap, "closed model (%s), %g VUs at most, for %s",
                             m->executor[0] ? m->executor : "constant VUs",
                             isfinite(m->connections) ? m->connections : 0, dur);
    }
    if (l < cap && m->n_scenarios > 1) {
        l += (size_t)snprintf(out + l, cap - l, ", %zu scenarios", m->n_scenarios);
    }
    if (l < cap && isfinite(m->threads)) {
        snprintf(out + l, cap - l, ", %g worker thread%s", m->threads, m->threads == 1 ? "" : "s");
    }
}

int rt_summary(const struct report_model *m, struct dynbuf *b)
{
    char cfg[256], n[48], r[48], held[48], p95[32], p99[32], lp99[32], err[32];
    int rc = 0;
    rt_load_config(m, cfg, sizeof cfg);
    report_fmt_num(m->total_requests, n, sizeof n);
    report_fmt_rate(m->achieved_rps, r, sizeof r);
    report_fmt_rate(m->held_rps, held, sizeof held);
    const struct report_metric *d = report_metric(m, "http_req_duration");
    const struct report_metric *lat = report_metric(m, "http_req_latency");
    report_fmt_ms(d ? d->trend.p95 : NAN, p95, sizeof p95);
    report_fmt_ms(d ? d->trend.p99 : NAN, p99, sizeof p99);
    report_fmt_ms(lat ? lat->trend.p99 : NAN, lp99, sizeof lp99);
    report_fmt_pct(m->failed_rate, err, sizeof err);

    size_t failed = 0, warned = 0;
    for (size_t i = 0; i < m->n_checks; i++) {
        failed += !m->checks[i].ok;
        warned += m->checks[i].ok && m->checks[i].warn;
    }
    if (m->n_checks == 0) {
        rc |= addf(b, "No objectives were set, so this run is not judged pass or fail (set "
                      "them with --threshold 'http_req_duration:p(95)<300' or a criteria: "
                      "table). ");
    } else if (failed == 0) {
        rc |= addf(b, "All %zu objectives were met%s. ", m->n_checks,
                   warned ? " (some only at their acceptable level or within 10% of their limit)"
                          : "");
    } else {
        rc |= addf(b, "%zu of %zu objectives were not met: ", failed, m->n_checks);
        size_t shown = 0;
        for (size_t i = 0; i < m->n_checks && shown < 3; i++) {
            const struct report_check *c = &m->checks[i];
            if (!c->ok) {
                char v[32];
                report_fmt_check_value(c, c->observed, v, sizeof v);
                rc |= addf(b, "%s%s %s was %s", shown ? "; " : "", c->metric, c->expression, v);
                shown++;
            }
        }
        rc |= addf(b, "%s. ", failed > shown ? "; ..." : "");
    }
    rc |= addf(b, "brunt ran %s %s against %s and completed %s requests (%s on average); ",
               cfg[0] == 'o' ? "an" : "a", cfg, rt_title(m), n, r);
    if (isfinite(m->held_rps)) {
        rc |= addf(b, "the highest rate held for %.0f s with at most 1%% errors was %s. ",
                   m->held_window_s, held);
    } else {
        rc |= addf(b, "no %.0f-second window stayed at or under 1%% errors. ", m->held_window_s);
    }
    rc |= addf(b, "Latency (http_req_duration) was %s at p95 and %s at p99", p95, p99);
    if (lat != NULL) {
        rc |= addf(b, "; corrected for coordinated omission (http_req_latency) p99 was %s", lp99);
    }
    rc |= addf(b, "; %s of requests failed. ", err);
    if (m->bp_present) {
        char bp[512];
        rt_breakpoint(m, bp, sizeof bp);
        rc |= addf(b, "Breaking point: %s. ", bp);
    } else if (m->breaking_found) {
        char br[48];
        report_fmt_rate(m->breaking_rps, br, sizeof br);
        if (m->n_rows > 0 && m->breaking_t == m->rows[0].t) {
            rc |= addf(b,
                       "The target was past its breaking point from the first second: %s at "
                       "%s with %g VUs. ",
                       m->breaking_what, br, isfinite(m->breaking_vus) ? m->breaking_vus : 0);
        } else {
            rc |= addf(b, "The breaking point came %u s in: %s at %s with %g VUs. ", m->breaking_t,
                       m->breaking_what, br, isfinite(m->breaking_vus) ? m->breaking_vus : 0);
        }
    }
    if (m->n_findings > 0) {
        const struct finding *f = &m->findings[0];
        rc |= addf(b, "The biggest bottleneck found (%s): %s — %s.",
                   report_severity_name(f->severity), f->location, f->evidence);
    } else {
        rc |= addf(b, "No bottleneck showed in what was measured (latency, errors, brunt's own "
                      "load).");
    }
    if (m->interrupted) {
        rc |= addf(b, " The run was interrupted before its end; the figures cover what ran.");
    }
    if (m->aborted) {
        rc |= addf(b, " The run was aborted early%s%s.", m->abort_reason[0] ? ": " : "",
                   m->abort_reason);
    }
    return rc;
}

/* The probe kinds the report has sections for, and how to get each; alt: another probe
 * member that measures the same (a Go service's pprof is a CPU profile too). */
static const struct {
    const char *prefix, *alt, *what, *how;
} probe_kinds[] = {
    {"process", NULL, "the target's processes (CPU, memory, threads, file descriptors)",
     "run with --watch PID|NAME or --spawn CMD"},
    {"machine", NULL, "the machine (CPU, memory, pressure)", "run with --watch"},
    {"postgres", NULL, "PostgreSQL (top queries, scans, cache hit ratio, locks)",
     "run with --postgres DSN"},
    {"redis", NULL, "Redis (hit ratio, commands, slow log)", "run with --redis URL"},
    {"profile", "pprof", "a CPU profile of the target",
     "run with --profile (and --watch), or --pprof URL for a Go service"},
};

bool rt_has_probe(const struct report_model *m, const char *prefix)
{
    for (size_t i = 0; i < m->n_probes; i++) {
        if (strncmp(m->probes[i].name, prefix, strlen(prefix)) == 0) {
            return true;
        }
    }
    return false;
}

size_t rt_not_measured(const struct report_model *m, char lines[][160], size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof probe_kinds / sizeof probe_kinds[0] && n < cap; i++) {
        if (!rt_has_probe(m, probe_kinds[i].prefix) &&
            (probe_kinds[i].alt == NULL || !rt_has_probe(m, probe_kinds[i].alt))) {
            snprintf(lines[n++], 160, "%s: not measured — %s", probe_kinds[i].what,
                     probe_kinds[i].how);
        }
    }
    return n;
}

size_t rt_plan(const struct report_model *m, size_t n_listed, size_t *steps, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_findings && i < n_listed && n < cap; i++) {
        const struct finding *f = &m->findings[i];
        if (f->severity == FINDING_INFO || f->recommendation[0] == '\0') {
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++) {
            seen = strcmp(m->findings[steps[k]].recommendation, f->recommendation) == 0;
        }
        if (!seen) {
            steps[n++] = i;
        }
    }
    return n;
}

/* Rounds v up to two significant digits (a limit a person would write). */
static double round_up2(double v)
{
    if (!(v > 0)) {
        return v;
    }
    double e = pow(10, floor(log10(v)) - 1);
    return ceil(v / e) * e;
}

/* A threshold's limit on metric with an expression starting with agg, or NAN. */
static double limit_of(const struct report_model *m, const char *metric, const char *agg)
{
    for (size_t i = 0; i < m->n_checks; i++) {
        const struct report_check *c = &m->checks[i];
        if (strcmp(c->metric, metric) == 0 && strncmp(c->expression, agg, strlen(agg)) == 0 &&
            c->op[0] == '<' && isfinite(c->limit)) {
            return c->limit;
        }
    }
    return NAN;
}

/*
 * The largest p95 CPU (in cores) and RSS (bytes) of the watched targets
 * (probes.process.targets[].summary), with the label of each target they came from;
 * false when nothing was watched.
 */
static bool watched_peaks(const struct report_model *m, double *cores, char *cpu_label, double *rss,
                          char *rss_label, size_t label_cap)
{
    *cores = NAN;
    *rss = NAN;
    for (size_t i = 0; i < m->n_probes; i++) {
        const struct report_probe *p = &m->probes[i];
        struct jtree t;
        if (strcmp(p->name, "process") != 0 || p->json == NULL ||
            jtree_parse(&t, p->json, p->json_len) != 0) {
            continue;
        }
        const struct jnode *ts = jtree_get(&t, jtree_at(&t, 0), "targets");
        for (const struct jnode *e = ts != NULL && ts->val.type == JSON_ARRAY ? jtree_first(&t, ts)
                                                                              : NULL;
             e != NULL; e = jtree_next(&t, e)) {
            const struct jnode *sum = jtree_get(&t, e, "summary");
            double c = report__jnum(&t, sum, "process_cpu_core", "p95") / 100, /* % of a core */
                r = report__jnum(&t, sum, "process_rss", "max");
            if (isfinite(c) && (!isfinite(*cores) || c > *cores)) {
                *cores = c;
                jtree_str(&t, e, "label", cpu_label, label_cap);
            }
            if (isfinite(r) && (!isfinite(*rss) || r > *rss)) {
                *rss = r;
                jtree_str(&t, e, "label", rss_label, label_cap);
            }
        }
        jtree_free(&t);
    }
    return isfinite(*cores) || isfinite(*rss);
}

int rt_alert_rules(const struct report_model *m, struct dynbuf *b)
{
    int rc = 0;
    const struct report_metric *d = report_metric(m, "http_req_duration");
    double p95 = limit_of(m, "http_req_duration", "p(95)");
    const char *p95_from = "the threshold";
    if (!isfinite(p95) && d != NULL && isfinite(d->trend.p95)) {
        p95 = round_up2(d->trend.p95 * 1.5);
        p95_from = "1.5 x this run's p95";
    }
    double er = limit_of(m, "http_req_failed", "rate");
    const char *er_from = "the threshold";
    if (!isfinite(er)) {
        er = m->failed_rate * 2 > 0.01 ? round_up2(m->failed_rate * 2) : 0.01;
        er_from = "2 x this run's error rate, at least 1%";
    }
    rc |= addf(b,
               "# Derived from this run (brunt %s, %s). Metric names follow the\n"
               "# OpenTelemetry HTTP server conventions; rename to your instrumentation.\n",
               m->version, m->start);
    rc |= addf(b, "groups:\n  - name: brunt-derived\n    rules:\n");
    if (isfinite(p95)) {
        rc |= addf(b,
                   "      - alert: HighLatencyP95\n"
                   "        # limit %g ms: %s\n"
                   "        expr: histogram_quantile(0.95, sum by (le) "
                   "(rate(http_server_request_duration_seconds_bucket[5m]))) > %g\n"
                   "        for: 5m\n"
                   "        labels: {severity: warning}\n",
                   p95, p95_from, p95 / 1000);
    }
    rc |= addf(b,
               "      - alert: HighErrorRate\n"
               "        # limit %g: %s\n"
               "        expr: sum(rate(http_server_request_duration_seconds_count"
               "{http_response_status_code=~\"5..\"}[5m])) / "
               "sum(rate(http_server_request_duration_seconds_count[5m])) > %g\n"
               "        for: 5m\n"
               "        labels: {severity: critical}\n",
               er, er_from, er);
    if (isfinite(m->held_rps) && m->held_rps > 0) {
        double cap = round_up2(m->held_rps * 0.8);
        rc |= addf(b,
                   "      - alert: NearTestedCapacity\n"
                   "        # 80%% of the %.0f req/s this run held with <= 1%% errors\n"
                   "        expr: sum(rate(http_server_request_duration_seconds_count[5m])) > "
                   "%g\n"
                   "        for: 10m\n"
                   "        labels: {severity: warning}\n",
                   m->held_rps, cap);
    }
    /* What the watched target used under this load: half as much again is worth a page
     * (the names are those of the Prometheus client libraries' process collector). */
    double cores, rss;
    char cpu_label[64] = "", rss_label[64] = "";
    if (watched_peaks(m, &cores, cpu_label, &rss, rss_label, sizeof cpu_label)) {
        if (isfinite(cores) && cores > 0) {
            rc |= addf(b,
                       "      - alert: ProcessCpuHigh\n"
                       "        # 1.5 x the p95 CPU of %s in this run (%.2f cores)\n"
                       "        expr: rate(process_cpu_seconds_total[5m]) > %g\n"
                       "        for: 10m\n"
                       "        labels: {severity: warning}\n",
                       cpu_label, cores, round_up2(cores * 1.5));
        }
        if (isfinite(rss) && rss > 0) {
            rc |= addf(b,
                       "      - alert: ProcessMemoryHigh\n"
                       "        # 1.5 x the largest RSS of %s in this run (%.1f MiB)\n"
                       "        expr: process_resident_memory_bytes > %.0f\n"
                       "        for: 10m\n"
                       "        labels: {severity: warning}\n",
                       rss_label, rss / 1048576, round_up2(rss * 1.5));
        }
    }
    return rc;
}

const struct jnode *report__jpath(const struct jtree *t, const struct jnode *obj, const char *a,
                                  const char *b)
{
    const struct jnode *n = obj != NULL ? jtree_get(t, obj, a) : NULL;
    return n != NULL && b != NULL ? jtree_get(t, n, b) : n;
}

double report__jval(const struct jnode *n)
{
    double v;
    if (n == NULL || n->val.type != JSON_NUMBER || json_span_number(&n->val, &v) != 0) {
        return NAN;
    }
    return v;
}

double report__jnum(const struct jtree *t, const struct jnode *obj, const char *a, const char *b)
{
    return report__jval(report__jpath(t, obj, a, b));
}

void report_fmt_bytes(double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "—");
    } else if (v >= 1024.0 * 1024 * 1024) {
        snprintf(out, cap, "%.2f GiB", v / (1024.0 * 1024 * 1024));
    } else if (v >= 1024.0 * 1024) {
        snprintf(out, cap, "%.2f MiB", v / (1024.0 * 1024));
    } else if (v >= 1024.0) {
        snprintf(out, cap, "%.1f KiB", v / 1024.0);
    } else {
        snprintf(out, cap, "%.0f B", v);
    }
}
