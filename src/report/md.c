/*
 * md — the Markdown report, in the shape a performance engineer writes for a pull
 * request: Executive Summary, Current Performance, Bottleneck Analysis, Load Test
 * Results, Requests, Errors, Monitoring Recommendations.  GitHub rejects comment bodies
 * over 65,536 characters, so the report is rendered with the long tables capped and,
 * when the whole still does not fit, again with tighter caps, saying what was left out.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/jtree.h"
#include "report/report_internal.h"

struct md {
    struct dynbuf *b;
    int rc;
    size_t max_requests, max_findings;
    bool rules;
};

static void put(struct md *d, const char *s)
{
    if (dynbuf_adds(d->b, s) < 0) {
        d->rc = -E2BIG;
    }
}

static void putf(struct md *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct md *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (dynbuf_vaddf(d->b, fmt, ap) < 0) {
        d->rc = -E2BIG;
    }
    va_end(ap);
}

/* Text inside a table cell: '|' escaped, line breaks as spaces, '<' kept out of HTML. */
static void cell(struct md *d, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '|':
            put(d, "\\|");
            break;
        case '\n':
        case '\r':
            put(d, " ");
            break;
        case '<':
            put(d, "&lt;");
            break;
        case '>':
            put(d, "&gt;");
            break;
        case '`':
            put(d, "'");
            break;
        case '*':
            put(d, "\\*");
            break;
        default:
            if (dynbuf_addc(d->b, *s) < 0) {
                d->rc = -E2BIG;
            }
        }
    }
}

static const char *status_icon(const struct report_check *c)
{
    return !c->ok ? "❌" : c->warn ? "⚠️" : "✅";
}

static void header(struct md *d, const struct report_model *m)
{
    put(d, "# Performance report: ");
    cell(d, rt_title(m));
    char dur[32];
    report_fmt_ms(m->duration_ms, dur, sizeof dur);
    putf(d, "\n\nbrunt %s · started %s · ran %s · %s (%d cores, %s)\n\n", m->version, m->start, dur,
         m->hostname[0] ? m->hostname : "unknown host", m->cores, m->kernel);
}

static void summary(struct md *d, const struct report_model *m)
{
    put(d, "## Executive Summary\n\n");
    struct dynbuf t;
    dynbuf_init(&t, 16384);
    if (rt_summary(m, &t) != 0) {
        d->rc = -ENOMEM;
    }
    cell(d, t.data ? t.data : "");
    dynbuf_destroy(&t);
    put(d, "\n\n");
}

static void core_row(struct md *d, const struct report_model *m, const char *label,
                     const char *metric, const char *agg, const char *value)
{
    for (size_t i = 0; i < m->n_checks; i++) {
        if (strcmp(m->checks[i].metric, metric) == 0 &&
            strncmp(m->checks[i].expression, agg, strlen(agg)) == 0) {
            return; /* a threshold row says it already */
        }
    }
    putf(d, "| %s | %s | not set | — |\n", label, value);
}

static void current(struct md *d, const struct report_model *m)
{
    put(d, "## Current Performance\n\n| Metric | Current | Target | Status |\n|---|---|---|---|\n");
    for (size_t i = 0; i < m->n_checks; i++) {
        const struct report_check *c = &m->checks[i];
        char v[32];
        report_fmt_check_value(c, c->observed, v, sizeof v);
        put(d, "| `");
        cell(d, c->metric);
        put(d, "` | ");
        put(d, c->evaluated ? v : "not evaluated");
        if (c->no_samples) {
            put(d, " (no samples)");
        }
        put(d, " | ");
        cell(d, c->expression);
        if (c->acceptable[0]) {
            put(d, " (acceptable ");
            cell(d, c->acceptable);
            put(d, ")");
        }
        putf(d, " | %s |\n", status_icon(c));
    }
    const struct report_metric *dur = report_metric(m, "http_req_duration");
    const struct report_metric *lat = report_metric(m, "http_req_latency");
    char v[48];
    report_fmt_rate(m->achieved_rps, v, sizeof v);
    core_row(d, m, "throughput (`http_reqs` rate)", "http_reqs", "rate", v);
    if (dur != NULL) {
        report_fmt_ms(dur->trend.p95, v, sizeof v);
        core_row(d, m, "`http_req_duration` p(95)", "http_req_duration", "p(95)", v);
        report_fmt_ms(dur->trend.p99, v, sizeof v);
        core_row(d, m, "`http_req_duration` p(99)", "http_req_duration", "p(99)", v);
    }
    if (lat != NULL) {
        report_fmt_ms(lat->trend.p99, v, sizeof v);
        core_row(d, m, "`http_req_latency` p(99) (corrected)", "http_req_latency", "p(99)", v);
    }
    report_fmt_pct(m->failed_rate, v, sizeof v);
    core_row(d, m, "errors (`http_req_failed` rate)", "http_req_failed", "rate", v);
    put(d,
        "\n✅ met · ⚠️ met within 10% of its limit, only acceptable, or not evaluated · ❌ "
        "not "
        "met");
    if (!m->has_criteria) {
        put(d, " · no success criteria in this run (a `criteria:` table in the scenario sets "
               "target and acceptable levels)");
    }
    put(d, "\n\n");
    if (m->n_verdicts > 0) {
        put(d, "**Verdicts of the watch**\n\n| What | Verdict | Slope | Evidence |\n"
               "|---|---|---|---|\n");
        for (size_t i = 0; i < m->n_verdicts; i++) {
            const struct report_verdict *vd = &m->verdicts[i];
            const char *icon = strcmp(vd->verdict, "growing") == 0 ? "❌ "
                               : strcmp(vd->verdict, "flat") == 0  ? "✅ "
                                                                   : "";
            put(d, "| ");
            cell(d, vd->what);
            putf(d, " | %s", icon);
            cell(d, vd->verdict);
            put(d, " | ");
            if (isfinite(vd->slope) && strcmp(vd->verdict, "insufficient data") != 0) {
                putf(d, "%.4g ", vd->slope);
                cell(d, vd->unit);
            } else {
                put(d, "—");
            }
            put(d, " | ");
            cell(d, vd->evidence);
            put(d, " |\n");
        }
        put(d, "\n");
    }
}

static void bottlenecks(struct md *d, const struct report_model *m)
{
    put(d, "## Bottleneck Analysis\n\n");
    if (m->n_findings == 0) {
        put(d, "No bottleneck showed in what was measured.\n\n");
    }
    size_t n = m->n_findings < d->max_findings ? m->n_findings : d->max_findings;
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = &m->findings[i];
        const char *icon = f->severity == FINDING_CRITICAL  ? "❌"
                           : f->severity == FINDING_WARNING ? "⚠️"
                                                            : "ℹ️";
        putf(d, "%zu. %s **", i + 1, icon);
        cell(d, f->location);
        putf(d, "** (%s, from %s: `%s`)\n", report_severity_name(f->severity), f->probe, f->kind);
        if (f->impact >= 0) {
            char p[32];
            report_fmt_pct(f->impact, p, sizeof p);
            putf(d, "   - Impact: %s (its share of the latency, time or requests measured)\n", p);
        }
        put(d, "   - Evidence: ");
        cell(d, f->evidence);
        put(d, "\n   - Recommendation: ");
        cell(d, f->recommendation);
        put(d, "\n");
    }
    if (n < m->n_findings) {
        putf(d,
             "\n_%zu more findings left out to fit a pull-request comment; the HTML report "
             "lists them all._\n",
             m->n_findings - n);
    }
    char lines[8][160];
    size_t k = rt_not_measured(m, lines, 8);
    if (k > 0) {
        put(d, "\nNot measured in this run:\n\n");
        for (size_t i = 0; i < k; i++) {
            put(d, "- ");
            cell(d, lines[i]);
            put(d, "\n");
        }
    }
    put(d, "\n");
}

/* The optimisation plan: what to do first, from the critical and warning findings. */
static void plan(struct md *d, const struct report_model *m)
{
    put(d, "## Optimisation Plan\n\n");
    size_t steps[64];
    /* Only the findings bottlenecks() listed: a step cites its finding by number. */
    size_t listed = m->n_findings < d->max_findings ? m->n_findings : d->max_findings;
    size_t n = rt_plan(m, listed, steps, listed < 64 ? listed : 64);
    if (n == 0) {
        put(d, "Nothing to optimise showed in what was measured (no critical or warning "
               "finding).\n\n");
        return;
    }
    put(d, "In order (the most severe and largest impact first), from the findings above:\n\n");
    for (size_t i = 0; i < n; i++) {
        const struct finding *f = &m->findings[steps[i]];
        putf(d, "%zu. **", i + 1);
        cell(d, f->location);
        put(d, "**: ");
        cell(d, f->recommendation);
        putf(d, " (finding %zu", steps[i] + 1);
        if (f->impact >= 0) {
            char p[32];
            report_fmt_pct(f->impact, p, sizeof p);
            putf(d, ", impact %s", p);
        }
        put(d, ")\n");
    }
    put(d, "\n");
}

static void load(struct md *d, const struct report_model *m)
{
    char cfg[256], v[48];
    rt_load_config(m, cfg, sizeof cfg);
    put(d, "## Load Test Results\n\n| | |\n|---|---|\n| Configuration | ");
    cell(d, cfg);
    put(d, " |\n| Target | ");
    cell(d, m->method[0] ? m->method : "");
    put(d, m->method[0] ? " " : "");
    cell(d, rt_title(m));
    report_fmt_num(m->total_requests, v, sizeof v);
    putf(d, " |\n| Requests | %s |\n", v);
    report_fmt_rate(m->achieved_rps, v, sizeof v);
    putf(d, "| Average throughput | %s |\n", v);
    if (isfinite(m->held_rps)) {
        report_fmt_rate(m->held_rps, v, sizeof v);
        putf(d, "| Max throughput held | %s (every second of a %.0f s window, errors <= 1%%) |\n",
             v, m->held_window_s);
    } else {
        put(d, "| Max throughput held | none: no window stayed at or under 1% errors |\n");
    }
    if (m->bp_present) {
        char bp[512];
        rt_breakpoint(m, bp, sizeof bp);
        put(d, "| Breaking point | ");
        cell(d, bp);
        put(d, " |\n");
    } else if (m->breaking_found) {
        char br[48];
        report_fmt_rate(m->breaking_rps, br, sizeof br);
        putf(d, "| Breaking point | %s at %s with %g VUs, %u s in (%.1f%% errors that second) |\n",
             m->breaking_what, br, isfinite(m->breaking_vus) ? m->breaking_vus : 0, m->breaking_t,
             m->breaking_err_rate * 100);
    } else {
        put(d, "| Breaking point | not reached: errors stayed at or under 1% every second"
               " (a ramp past the target's capacity finds it: -s 2m:2000 -R ...) |\n");
    }
    if (isfinite(m->max_worker_busy)) {
        putf(d, "| brunt's busiest worker | %.0f%% busy |\n", m->max_worker_busy * 100);
    }
    put(d, "\n");
}

static void requests(struct md *d, const struct report_model *m)
{
    put(d, "## Requests\n\n| Name | Count | p50 | p95 | p99 | Errors "
           "|\n|---|---:|---:|---:|---:|---:|\n");
    size_t n = m->n_requests < d->max_requests ? m->n_requests : d->max_requests;
    for (size_t i = 0; i < n; i++) {
        const struct report_request *q = &m->requests[i];
        char c[32], a[32], b[32], e[32], f[32];
        report_fmt_num((double)q->count, c, sizeof c);
        report_fmt_ms(q->p50_ms, a, sizeof a);
        report_fmt_ms(q->p95_ms, b, sizeof b);
        report_fmt_ms(q->p99_ms, e, sizeof e);
        report_fmt_num((double)q->failed, f, sizeof f);
        put(d, "| ");
        if (q->method[0]) {
            cell(d, q->method);
            put(d, " ");
        }
        cell(d, q->name);
        putf(d, " | %s | %s | %s | %s | %s |\n", c, a, b, e, f);
    }
    if (m->n_requests == 0) {
        put(d, "| (no per-request series in the result) | | | | | |\n");
    }
    if (n < m->n_requests) {
        putf(d,
             "\n_%zu more request names left out to fit a pull-request comment (sorted by "
             "total time; the HTML and CSV reports have them all)._\n",
             m->n_requests - n);
    }
    put(d, "\n");
}

/* A "| label | value |" row of a probe's figure table. */
static void fig_row(struct md *d, const char *label, const char *value)
{
    put(d, "| ");
    cell(d, label);
    put(d, " | ");
    cell(d, value);
    put(d, " |\n");
}

/* Headline figures (report/probefigs.c) as a Figure | Value table. */
static void md_pfig_table(struct md *d, const struct report_pfig *f, size_t n)
{
    put(d, "| Figure | Value |\n|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        fig_row(d, f[i].label, f[i].text);
    }
    put(d, "\n");
}

/* A database probe's headline figures as a table. */
static void md_figures(struct md *d, const struct jtree *t, const struct jnode *p,
                       size_t (*figures)(const struct jtree *, const struct jnode *,
                                         struct report_pfig *, size_t))
{
    struct report_pfig f[REPORT_MAX_PFIGS];
    md_pfig_table(d, f, figures(t, p, f, REPORT_MAX_PFIGS));
}

/* A database probe's heading; one that could not connect gets its error: false then. */
static bool md_panel_open(struct md *d, const struct jtree *t, const struct jnode *p,
                          const char *title)
{
    putf(d, "### %s\n\n", title);
    if (jtree_bool(t, p, "available", true)) {
        return true;
    }
    char s[256];
    jtree_str(t, p, "error", s, sizeof s);
    put(d, "Not measured: ");
    cell(d, s[0] ? s : "the probe could not connect");
    put(d, "\n\n");
    return false;
}

static void md_postgres(struct md *d, const struct jtree *t, const struct jnode *p, size_t cap)
{
    if (!md_panel_open(d, t, p, "PostgreSQL")) {
        return;
    }
    md_figures(d, t, p, report__pg_figures);
    const struct jnode *q = jtree_get(t, p, "top_queries");
    if (q != NULL && q->val.type == JSON_ARRAY && q->n_children > 0 && cap > 0) {
        put(d, "| Query | Calls | Mean | Total | Share of database time "
               "|\n|---|---:|---:|---:|---:|\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, q); e != NULL && i < cap;
             e = jtree_next(t, e), i++) {
            char qt[124], c[32], mean[32], tot[32], sh[32];
            jtree_str(t, e, "query", qt, sizeof qt);
            if (strlen(qt) >= sizeof qt - 1) {
                snprintf(qt + sizeof qt - 5, 5, "...");
            }
            report_fmt_num(report__jnum(t, e, "calls", NULL), c, sizeof c);
            report_fmt_ms(report__jnum(t, e, "mean_ms", NULL), mean, sizeof mean);
            report_fmt_ms(report__jnum(t, e, "total_ms", NULL), tot, sizeof tot);
            report_fmt_pct(report__jnum(t, e, "share", NULL), sh, sizeof sh);
            put(d, "| ");
            cell(d, qt);
            putf(d, " | %s | %s | %s | %s |\n", c, mean, tot, sh);
        }
        if (q->n_children > i) {
            putf(d, "\n_%zu more queries in the HTML report._\n", (size_t)q->n_children - i);
        }
        put(d, "\n");
    }
    const struct jnode *tb = jtree_get(t, p, "tables");
    if (tb != NULL && tb->val.type == JSON_ARRAY && tb->n_children > 0 && cap > 0) {
        put(d, "| Table | Seq scans | Rows read by them | Index scans | Live rows |\n"
               "|---|---:|---:|---:|---:|\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, tb); e != NULL && i < cap;
             e = jtree_next(t, e), i++) {
            char sc[64], tn[128], a[32], b[32], c[32], l[32];
            jtree_str(t, e, "schema", sc, sizeof sc);
            jtree_str(t, e, "table", tn, sizeof tn);
            report_fmt_num(report__jnum(t, e, "seq_scan", NULL), a, sizeof a);
            report_fmt_num(report__jnum(t, e, "seq_tup_read", NULL), b, sizeof b);
            report_fmt_num(report__jnum(t, e, "idx_scan", NULL), c, sizeof c);
            report_fmt_num(report__jnum(t, e, "n_live_tup", NULL), l, sizeof l);
            put(d, "| ");
            cell(d, sc);
            put(d, ".");
            cell(d, tn);
            putf(d, " | %s | %s | %s | %s |\n", a, b, c, l);
        }
        put(d, "\n");
    }
}

static void md_redis(struct md *d, const struct jtree *t, const struct jnode *p, size_t cap)
{
    if (!md_panel_open(d, t, p, "Redis")) {
        return;
    }
    md_figures(d, t, p, report__redis_figures);
    const struct jnode *cmds = jtree_get(t, p, "commands");
    if (cmds != NULL && cmds->val.type == JSON_ARRAY && cmds->n_children > 0 && cap > 0) {
        put(d, "| Command | Calls | µs per call | Server p99 |\n|---|---:|---:|---:|\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, cmds); e != NULL && i < cap;
             e = jtree_next(t, e), i++) {
            char cn[64], c[32], p99[32] = "—";
            jtree_str(t, e, "command", cn, sizeof cn);
            report_fmt_num(report__jnum(t, e, "calls", NULL), c, sizeof c);
            double q99 = report__jnum(t, e, "latency_histogram", "p99_le_us");
            if (isfinite(q99)) {
                snprintf(p99, sizeof p99, "≤ %.0f µs", q99);
            }
            put(d, "| ");
            cell(d, cn);
            putf(d, " | %s | %.2f | %s |\n", c, report__jnum(t, e, "usec_per_call", NULL), p99);
        }
        put(d, "\n");
    }
}

/* min / avg / p95 / max rows of a probe's "summary" object, for the figures named. */
static void md_summary(struct md *d, const struct jtree *t, const struct jnode *sum,
                       const char *const *keys, const char *const *labels, const bool *bytes,
                       size_t n)
{
    if (sum == NULL || sum->val.type != JSON_OBJECT) {
        return;
    }
    put(d, "| Figure | avg | p95 | max |\n|---|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const struct jnode *s = jtree_get(t, sum, keys[i]);
        if (s == NULL || s->val.type != JSON_OBJECT) {
            continue;
        }
        put(d, "| ");
        cell(d, labels[i]);
        static const char *const st[] = {"avg", "p95", "max"};
        for (size_t k = 0; k < 3; k++) {
            char v[32];
            double x = report__jnum(t, s, st[k], NULL);
            if (bytes[i]) {
                report_fmt_bytes(x, v, sizeof v);
            } else if (isfinite(x)) {
                snprintf(v, sizeof v, "%.1f", x);
            } else {
                snprintf(v, sizeof v, "—");
            }
            putf(d, " | %s", v);
        }
        put(d, " |\n");
    }
    put(d, "\n");
}

static void md_process(struct md *d, const struct jtree *t, const struct jnode *p)
{
    static const char *const keys[] = {"process_cpu", "process_cpu_wait", "process_rss",
                                       "process_threads", "process_fds"};
    static const char *const labels[] = {"CPU (% of its CPUs)", "waiting for a CPU (% of a core)",
                                         "resident memory", "threads", "open files"};
    static const bool bytes[] = {false, false, true, false, false};
    const struct jnode *ts = jtree_get(t, p, "targets");
    for (const struct jnode *e = ts != NULL ? jtree_first(t, ts) : NULL; e != NULL;
         e = jtree_next(t, e)) {
        char label[64] = "";
        jtree_str(t, e, "label", label, sizeof label);
        put(d, "### Target `");
        cell(d, label);
        putf(d, "` (pid %.0f)\n\n", report__jnum(t, e, "pid", NULL));
        md_summary(d, t, jtree_get(t, e, "summary"), keys, labels, bytes, 5);
    }
}

static void md_machine(struct md *d, const struct jtree *t, const struct jnode *p)
{
    static const char *const keys[] = {"machine_cpu", "machine_cpu_iowait", "brunt_cpu",
                                       "machine_load1", "machine_memory_available"};
    static const char *const labels[] = {"CPU busy (%)", "I/O wait (%)",
                                         "brunt's own CPU (% of a core)", "load average",
                                         "memory available"};
    static const bool bytes[] = {false, false, false, false, true};
    putf(d, "### The machine (%.0f CPUs)\n\n", report__jnum(t, p, "cpus", NULL));
    md_summary(d, t, jtree_get(t, p, "summary"), keys, labels, bytes, 5);
}

/*
 * s as a code span: inside one Markdown escapes nothing, so only a backtick (as ') and,
 * in a table, a pipe (GFM's \|) are changed; a function name keeps its * and <>.
 */
static void code_cell(struct md *d, const char *s)
{
    put(d, "`");
    for (; *s; s++) {
        if (*s == '|') {
            put(d, "\\|");
        } else if (*s == '`') {
            put(d, "'");
        } else if (*s == '\n' || *s == '\r') {
            put(d, " ");
        } else if (dynbuf_addc(d->b, *s) < 0) {
            d->rc = -E2BIG;
        }
    }
    put(d, "`");
}

/* "file:line", the module, or "—": where a profile's function is. */
static void md_where(struct md *d, const struct jtree *t, const struct jnode *e)
{
    char file[160] = "", mod[64] = "", s[192];
    jtree_str(t, e, "file", file, sizeof file);
    jtree_str(t, e, "module", mod, sizeof mod);
    if (file[0]) {
        snprintf(s, sizeof s, "%s:%.0f", file, report__jnum(t, e, "line", NULL));
        cell(d, s);
    } else {
        cell(d, mod[0] ? mod : "—");
    }
}

/*
 * probes.profile / probes.pprof: how it was taken, the hottest functions (at most cap),
 * the heap before and after (pprof) and where it grew, and the flame graph's file.
 */
static void md_profile(struct md *d, const struct jtree *t, const struct jnode *p,
                       const struct report_probe *rp, size_t cap)
{
    putf(d, "### CPU profile of the target (%s)\n\n",
         strcmp(rp->name, "pprof") == 0 ? "pprof" : "perf");
    struct report_pfig f[REPORT_MAX_PFIGS];
    md_pfig_table(d, f, report__profile_figures(t, p, rp->name, f, REPORT_MAX_PFIGS));
    const struct jnode *top = jtree_get(t, p, "top");
    if (top != NULL && top->val.type == JSON_ARRAY && top->n_children > 0 && cap > 0) {
        put(d, "| Function | Where | Self | Total |\n|---|---|---:|---:|\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, top); e != NULL && i < cap;
             e = jtree_next(t, e), i++) {
            char fn[128] = "", a[32], b[32];
            jtree_str(t, e, "function", fn, sizeof fn);
            report_fmt_pct(report__jnum(t, e, "self_share", NULL), a, sizeof a);
            report_fmt_pct(report__jnum(t, e, "total_share", NULL), b, sizeof b);
            put(d, "| ");
            code_cell(d, fn);
            put(d, " | ");
            md_where(d, t, e);
            putf(d, " | %s | %s |\n", a, b);
        }
        if (top->n_children > i) {
            putf(d, "\n_%zu more functions in the HTML report and the result._\n",
                 (size_t)top->n_children - i);
        }
        put(d, "\n");
    }
    const struct jnode *growth = report__jpath(t, p, "heap", "growth");
    if (growth != NULL && growth->val.type == JSON_ARRAY && growth->n_children > 0 && cap > 0) {
        put(d, "| Live heap grew in | Where | By |\n|---|---|---:|\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, growth); e != NULL && i < cap;
             e = jtree_next(t, e), i++) {
            char fn[128] = "", by[32];
            jtree_str(t, e, "function", fn, sizeof fn);
            report_fmt_bytes(report__jnum(t, e, "bytes", NULL), by, sizeof by);
            put(d, "| ");
            code_cell(d, fn);
            put(d, " | ");
            md_where(d, t, e);
            putf(d, " | %s |\n", by);
        }
        put(d, "\n");
    }
    if (rp->flame_path[0] != '\0') {
        put(d, "Flame graph: ");
        code_cell(d, rp->flame_path);
        put(d, " (interactive SVG: zoom, search); the folded stacks beside it.\n\n");
    }
}

/* What the probes measured, one table each (their findings are in Bottleneck Analysis). */
static void probes(struct md *d, const struct report_model *m)
{
    if (m->n_probes == 0) {
        return;
    }
    put(d, "## What the probes measured\n\n");
    size_t cap = d->max_findings < 10 ? d->max_findings : 10;
    for (size_t i = 0; i < m->n_probes; i++) {
        const struct report_probe *p = &m->probes[i];
        struct jtree t;
        if (p->json == NULL || jtree_parse(&t, p->json, p->json_len) != 0) {
            continue;
        }
        const struct jnode *root = jtree_at(&t, 0);
        if (root != NULL && root->val.type == JSON_OBJECT) {
            if (strcmp(p->name, "postgres") == 0) {
                md_postgres(d, &t, root, cap);
            } else if (strcmp(p->name, "redis") == 0) {
                md_redis(d, &t, root, cap);
            } else if (strcmp(p->name, "process") == 0) {
                md_process(d, &t, root);
            } else if (strcmp(p->name, "machine") == 0) {
                md_machine(d, &t, root);
            } else if (strcmp(p->name, "profile") == 0 || strcmp(p->name, "pprof") == 0) {
                md_profile(d, &t, root, p, cap);
            }
        }
        jtree_free(&t);
    }
}

static void errors(struct md *d, const struct report_model *m)
{
    if (m->errors_total <= 0 && m->n_warnings == 0) {
        return;
    }
    put(d, "## Errors and warnings\n\n");
    if (m->errors_total > 0) {
        for (size_t i = 0; i < m->n_error_kinds; i++) {
            if (m->errors[i].count > 0) {
                putf(d, "- %s: %.0f\n", m->errors[i].kind, m->errors[i].count);
            }
        }
    }
    for (size_t i = 0; i < m->n_warnings; i++) {
        put(d, "- warning: ");
        cell(d, m->warnings[i]);
        put(d, "\n");
    }
    put(d, "\n");
}

static void monitoring(struct md *d, const struct report_model *m)
{
    put(d, "## Monitoring Recommendations\n\n");
    if (!d->rules) {
        put(d, "_Alert rules left out to fit a pull-request comment; the HTML report has "
               "them._\n\n");
        return;
    }
    put(d, "Prometheus alert rules with limits taken from this run's objectives, or from what "
           "it measured where none was set:\n\n```yaml\n");
    struct dynbuf t;
    dynbuf_init(&t, 16384);
    if (rt_alert_rules(m, &t) != 0) {
        d->rc = -ENOMEM;
    }
    put(d, t.data ? t.data : "");
    dynbuf_destroy(&t);
    put(d, "```\n\n");
}

static int render(const struct report_model *m, struct dynbuf *out, size_t max_requests,
                  size_t max_findings, bool rules, bool shortened)
{
    struct md d = {
        .b = out, .max_requests = max_requests, .max_findings = max_findings, .rules = rules};
    header(&d, m);
    if (shortened) {
        put(&d, "_This report was shortened to fit GitHub's 65,536-character comment limit; "
                "the HTML report has every section in full._\n\n");
    }
    summary(&d, m);
    current(&d, m);
    bottlenecks(&d, m);
    plan(&d, m);
    load(&d, m);
    requests(&d, m);
    probes(&d, m);
    errors(&d, m);
    monitoring(&d, m);
    put(&d, "---\nGenerated by brunt from the result file; every figure above is in it.\n");
    return d.rc;
}

int report_md(const struct report_model *m, struct dynbuf *out)
{
    static const struct {
        size_t requests, findings;
        bool rules;
    } levels[] = {{100, 30, true}, {40, 15, true}, {15, 8, true}, {5, 3, false}, {0, 1, false}};
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        dynbuf_truncate(out, start);
        bool shortened =
            i > 0 || m->n_requests > levels[0].requests || m->n_findings > levels[0].findings;
        rc = render(m, out, levels[i].requests, levels[i].findings, levels[i].rules, shortened);
        /* Bytes bound characters from above, so a byte count under the limit is safe. */
        if (rc == 0 && out->len - start < REPORT_MD_MAX_CHARS - 512) {
            return 0;
        }
    }
    if (rc == 0) {
        /* Still too long (enormous names): cut at a line boundary and say so. */
        size_t keep = start + REPORT_MD_MAX_CHARS - 1024;
        while (keep > start && out->data[keep] != '\n') {
            keep--;
        }
        dynbuf_truncate(out, keep);
        rc = dynbuf_adds(out, "\n\n_Cut here to fit GitHub's comment limit._\n");
    }
    return rc;
}
