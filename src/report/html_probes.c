/*
 * html_probes — the HTML report's probe panels: one per member of the result's "probes"
 * object.  PostgreSQL (probe/pg.c), Redis (probe/redis.c), the watched processes
 * (probe/proc.c) and the machine (probe/machine.c) get a panel of their own: the
 * figures a reader looks for first, charts over time of the probe's own per-second
 * samples (its columnar "series"), its tables (top queries, tables, commands) with
 * readable numbers, and its findings with their evidence.  The profile (probes.profile)
 * shows its flame graph when the member has one.  A probe this file does not know gets
 * its scalar members and its arrays of objects as tables.  The shapes read are those
 * docs/result-format.md gives; a member that is missing or of another type is left out,
 * never guessed.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/html_internal.h"
#include "report/jtree.h"
#include "report/report_internal.h"

#define TABLE_MAX_ROWS 25
#define TABLE_MAX_COLS 8

/* One array of flat objects inside a probe's member, as a table (its first rows, the
 * scalar columns of its first element). */
static void probe_table(struct hb *h, const struct jtree *t, const struct jnode *arr)
{
    const struct jnode *first = jtree_first(t, arr);
    const char *cols[TABLE_MAX_COLS];
    char names[TABLE_MAX_COLS][48];
    size_t nc = 0;
    for (const struct jnode *c = jtree_first(t, first); c != NULL && nc < TABLE_MAX_COLS;
         c = jtree_next(t, c)) {
        if (c->val.type == JSON_OBJECT || c->val.type == JSON_ARRAY) {
            continue;
        }
        struct jnode kn = {.val = c->key};
        jtree_text(&kn, names[nc], sizeof names[nc]);
        cols[nc] = names[nc];
        nc++;
    }
    if (nc == 0) {
        return;
    }
    struct jnode kn = {.val = arr->key};
    char title[64];
    jtree_text(&kn, title, sizeof title);
    html__put(h, "<table class=\"probe\"><caption>");
    html__esc(h, title);
    html__putf(h, " (%u rows%s)</caption><tr>", arr->n_children,
               arr->n_children > TABLE_MAX_ROWS ? ", the first 25 shown" : "");
    for (size_t i = 0; i < nc; i++) {
        html__put(h, "<th>");
        html__esc(h, cols[i]);
        html__put(h, "</th>");
    }
    html__put(h, "</tr>\n");
    size_t row = 0;
    for (const struct jnode *e = first; e != NULL && row < TABLE_MAX_ROWS;
         e = jtree_next(t, e), row++) {
        html__put(h, "<tr>");
        for (size_t i = 0; i < nc; i++) {
            char v[256];
            const struct jnode *x = jtree_get(t, e, cols[i]);
            jtree_text(x, v, sizeof v);
            html__put(h, x != NULL && x->val.type == JSON_NUMBER ? "<td class=\"n\">" : "<td>");
            html__esc(h, v);
            html__put(h, "</td>");
        }
        html__put(h, "</tr>\n");
    }
    html__put(h, "</table>\n");
}

/* A probe this renderer has no panel for: its scalar figures and its tables. */
static void generic_panel(struct hb *h, const struct jtree *t, const struct jnode *root)
{
    size_t scalars = 0;
    for (const struct jnode *c = jtree_first(t, root); c != NULL; c = jtree_next(t, c)) {
        if (c->val.type == JSON_NUMBER || c->val.type == JSON_STRING || c->val.type == JSON_TRUE ||
            c->val.type == JSON_FALSE) {
            char k[64], v[256];
            struct jnode kn = {.val = c->key};
            jtree_text(&kn, k, sizeof k);
            jtree_text(c, v, sizeof v);
            html__put(h, scalars++ == 0 ? "<table class=\"probe\">" : "");
            html__put(h, "<tr><th>");
            html__esc(h, k);
            html__put(h, "</th><td>");
            html__esc(h, v);
            html__put(h, "</td></tr>");
        }
    }
    html__put(h, scalars ? "</table>\n" : "");
    for (const struct jnode *c = jtree_first(t, root); c != NULL; c = jtree_next(t, c)) {
        bool is_findings = c->key.len == 10 && memcmp(c->key.start, "\"findings\"", 10) == 0;
        const struct jnode *f = jtree_first(t, c);
        if (c->val.type == JSON_ARRAY && !is_findings && f != NULL && f->val.type == JSON_OBJECT) {
            probe_table(h, t, c);
        }
    }
}

/* Points a probe chart reads from one "series" array (a week of one-second samples). */
#define PANEL_MAX_POINTS (7u * 24u * 3600u)
#define PANEL_MAX_TABLE_ROWS 10
#define PANEL_CHART_POINTS 360 /* points per probe chart line */
#define PANEL_QUERY_CHARS 240

static void fmt_num(double v, char *out, size_t cap)
{
    if (isfinite(v)) {
        report_fmt_num(v, out, cap);
    } else {
        snprintf(out, cap, "—");
    }
}

/* One row of a panel's figure table: label, and the figure with its raw value. */
static void kv(struct hb *h, const char *fig_name, const char *label, double raw, const char *text)
{
    html__put(h, "<tr><th>");
    html__esc(h, label);
    html__put(h, "</th><td class=\"n\">");
    if (isfinite(raw)) {
        html__fig(h, fig_name, raw, text);
    } else {
        html__esc(h, "—");
    }
    html__put(h, "</td></tr>\n");
}

static void kv_text(struct hb *h, const char *label, const char *text)
{
    html__put(h, "<tr><th>");
    html__esc(h, label);
    html__put(h, "</th><td>");
    html__esc(h, text);
    html__put(h, "</td></tr>\n");
}

/* The run's start in Unix ms (meta.start, "2026-12-02T03:47:34.225Z"), or NAN. */
static double start_unix_ms(const struct report_model *m)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(m->start, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) < 6) {
        return NAN;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t s = timegm(&tm);
    return s == (time_t)-1 ? NAN : (double)s * 1000.0 + ms;
}

/* A line a probe chart takes from the probe's series: key, legend, colour, scale. */
struct pline {
    const char *key, *name, *color;
    double scale; /* the value shown is value * scale (bytes -> MiB...) */
    bool dashed;
    bool per_s; /* a count per sample: shown divided by the sample's interval, in seconds */
};

struct pchart {
    const char *id, *title, *y_label;
    struct pline lines[SVG_MAX_LINES];
    size_t n_lines;
};

/*
 * Reads the array key of ser into out[0..cap): numbers, NAN for null.  Returns how
 * many elements the array had (at most cap), 0 when it is absent.
 */
static size_t read_array(const struct jtree *t, const struct jnode *ser, const char *key,
                         double *out, size_t cap)
{
    const struct jnode *a = ser != NULL ? jtree_get(t, ser, key) : NULL;
    size_t n = 0;
    if (a == NULL || a->val.type != JSON_ARRAY) {
        return 0;
    }
    for (const struct jnode *e = jtree_first(t, a); e != NULL && n < cap; e = jtree_next(t, e)) {
        out[n++] = report__jval(e);
    }
    return n;
}

/*
 * One chart over time from a probe's columnar series: x from "t_s" (seconds since the
 * probe started, which is the run's start within a second) or "wall_ms" (Unix ms, made
 * seconds since the run's start).  Lines with no number are left out, and the chart when
 * none has one.  Returns true when a chart was drawn.
 */
static bool series_chart(struct hb *h, const struct report_model *m, const struct jtree *t,
                         const struct jnode *ser, const struct pchart *pc)
{
    if (ser == NULL || ser->val.type != JSON_OBJECT) {
        return false;
    }
    const struct jnode *xs = jtree_get(t, ser, "t_s");
    const char *xkey = "t_s";
    if (xs == NULL) {
        xs = jtree_get(t, ser, "wall_ms");
        xkey = "wall_ms";
    }
    if (xs == NULL || xs->val.type != JSON_ARRAY || xs->n_children < 2) {
        return false;
    }
    size_t cap = xs->n_children < PANEL_MAX_POINTS ? xs->n_children : PANEL_MAX_POINTS;
    double *buf = malloc((SVG_MAX_LINES + 1) * cap * sizeof *buf);
    if (buf == NULL) {
        h->rc = -ENOMEM;
        return false;
    }
    double *x = buf;
    size_t n = read_array(t, ser, xkey, x, cap);
    if (strcmp(xkey, "wall_ms") == 0) {
        double t0 = start_unix_ms(m);
        if (!isfinite(t0)) {
            t0 = x[0];
        }
        for (size_t i = 0; i < n; i++) {
            x[i] = (x[i] - t0) / 1000.0;
        }
    }
    struct svg_chart c = {.id = pc->id,
                          .title = pc->title,
                          .x_label = "seconds since the start",
                          .y_label = pc->y_label,
                          .note = "",
                          .x = x,
                          .n = n};
    for (size_t k = 0; k < pc->n_lines; k++) {
        double *y = buf + (c.n_lines + 1) * cap;
        size_t ny = read_array(t, ser, pc->lines[k].key, y, cap);
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            y[i] = i < ny && isfinite(y[i]) ? y[i] * pc->lines[k].scale : NAN;
            if (pc->lines[k].per_s) {
                /* t_s counts from the probe's start, so the first interval is x[0]; the
                 * last sample is often a short one (the closing snapshot) */
                double dt = x[i] - (i > 0 ? x[i - 1] : 0);
                y[i] = dt > 0.01 ? y[i] / dt : NAN;
            }
            any = any || isfinite(y[i]);
        }
        if (any) {
            c.lines[c.n_lines++] = (struct svg_line){pc->lines[k].name, pc->lines[k].color, y,
                                                     pc->lines[k].dashed, true};
        }
    }
    /* A one-hour run has 3,600 samples per figure and the page a dozen probe charts: each
     * is bucketed to PANEL_CHART_POINTS (the mean of each bucket, x its first sample) so
     * the page stays well under 1 MB; the CSV and the result keep every sample. */
    char note[96] = "";
    if (n > PANEL_CHART_POINTS) {
        size_t step = (n + PANEL_CHART_POINTS - 1) / PANEL_CHART_POINTS, out = 0;
        for (size_t i = 0; i < n; i += step, out++) {
            x[out] = x[i];
            for (size_t k = 0; k < c.n_lines; k++) {
                double *y = (double *)c.lines[k].y, sum = 0;
                size_t cnt = 0;
                for (size_t j = i; j < i + step && j < n; j++) {
                    if (isfinite(y[j])) {
                        sum += y[j];
                        cnt++;
                    }
                }
                y[out] = cnt ? sum / (double)cnt : NAN;
            }
        }
        c.n = out;
        snprintf(note, sizeof note, "Each point is the mean of %zu samples.", step);
        c.note = note;
    }
    if (c.n_lines > 0) {
        html__chart(h, &c, false);
    }
    free(buf);
    return c.n_lines > 0;
}

/* The findings a probe wrote (as the model ranked them), with their evidence. */
static void probe_findings(struct hb *h, const struct report_model *m, const char *probe)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_findings; i++) {
        const struct finding *f = &m->findings[i];
        if (strcmp(f->probe, probe) != 0) {
            continue;
        }
        if (n++ == 0) {
            html__putf(h,
                       "<table class=\"panel-findings\" data-probe-findings=\"%s\"><caption>"
                       "Findings</caption><tr><th>Severity</th><th>Finding</th><th>Location"
                       "</th><th>Evidence</th><th>Recommendation</th><th>Impact</th></tr>\n",
                       probe);
        }
        const char *sev = report_severity_name(f->severity);
        char imp[32] = "—";
        if (f->impact >= 0) {
            report_fmt_pct(f->impact, imp, sizeof imp);
        }
        html__putf(h, "<tr><td class=\"sev-%s\">%s</td><td><code>", sev, sev);
        html__esc(h, f->kind);
        html__put(h, "</code></td><td>");
        html__esc(h, f->location);
        html__put(h, "</td><td class=\"evidence\">");
        html__esc(h, f->evidence);
        html__put(h, "</td><td>");
        html__esc(h, f->recommendation);
        html__putf(h, "</td><td class=\"n\">%s</td></tr>\n", imp);
    }
    if (n > 0) {
        html__put(h, "</table>\n");
    } else {
        html__put(h, "<p class=\"note\">No finding from this probe.</p>\n");
    }
}

/* The "unavailable" list of a probe: what it could not read, and why. */
static void unavailable(struct hb *h, const struct jtree *t, const struct jnode *root)
{
    const struct jnode *u = jtree_get(t, root, "unavailable");
    if (u == NULL || u->val.type != JSON_ARRAY || u->n_children == 0) {
        return;
    }
    html__put(h, "<p class=\"note\">Not readable: ");
    size_t i = 0;
    for (const struct jnode *e = jtree_first(t, u); e != NULL; e = jtree_next(t, e)) {
        char v[256];
        jtree_text(e, v, sizeof v);
        html__put(h, i++ ? "; " : "");
        html__esc(h, v);
    }
    html__put(h, ".</p>\n");
}

/* A summary object {"figure": {"min","avg","p95","max"}} as a table. */
struct sumrow {
    const char *key, *label;
    int unit; /* 0 number, 1 percent, 2 bytes */
};

static void summary_table(struct hb *h, const struct jtree *t, const struct jnode *sum,
                          const char *fig_prefix, const struct sumrow *rows, size_t n)
{
    if (sum == NULL || sum->val.type != JSON_OBJECT) {
        return;
    }
    html__put(h, "<table class=\"panel\"><tr><th>Figure</th><th>min</th><th>avg</th>"
                 "<th>p95</th><th>max</th></tr>\n");
    static const char *const stats[] = {"min", "avg", "p95", "max"};
    for (size_t i = 0; i < n; i++) {
        const struct jnode *s = jtree_get(t, sum, rows[i].key);
        if (s == NULL || s->val.type != JSON_OBJECT) {
            continue;
        }
        html__put(h, "<tr><th>");
        html__esc(h, rows[i].label);
        html__put(h, "</th>");
        for (size_t k = 0; k < 4; k++) {
            double v = report__jnum(t, s, stats[k], NULL);
            char txt[48], name[128];
            if (rows[i].unit == 2) {
                report_fmt_bytes(v, txt, sizeof txt);
            } else if (isfinite(v)) {
                snprintf(txt, sizeof txt, rows[i].unit == 1 ? "%.1f%%" : "%.4g", v);
            } else {
                snprintf(txt, sizeof txt, "—");
            }
            snprintf(name, sizeof name, "%s.%s.%s", fig_prefix, rows[i].key, stats[k]);
            html__put(h, "<td class=\"n\">");
            if (isfinite(v)) {
                html__fig(h, name, v, txt);
            } else {
                html__esc(h, txt);
            }
            html__put(h, "</td>");
        }
        html__put(h, "</tr>\n");
    }
    html__put(h, "</table>\n");
}

/*
 * Opens a database probe's panel (id, title).  A probe that could not connect
 * ("available": false) gets its error and a closed panel: returns false then.
 */
static bool panel_open(struct hb *h, const struct jtree *t, const struct jnode *p, const char *id,
                       const char *title)
{
    html__putf(h, "<section class=\"probe-panel\" id=\"%s\"><h3>%s</h3>\n", id, title);
    if (jtree_bool(t, p, "available", true)) {
        return true;
    }
    char s[256];
    jtree_str(t, p, "error", s, sizeof s);
    html__put(h, "<p class=\"fail\">Not measured: ");
    html__esc(h, s[0] ? s : "the probe could not connect");
    html__put(h, "</p></section>\n");
    return false;
}

/* Headline figures (report/probefigs.c) as a table: data-fig where they have a name. */
static void pfig_table(struct hb *h, const struct report_pfig *f, size_t n)
{
    html__put(h, "<table class=\"panel\">\n");
    for (size_t i = 0; i < n; i++) {
        if (f[i].name[0]) {
            kv(h, f[i].name, f[i].label, f[i].raw, f[i].text);
        } else {
            kv_text(h, f[i].label, f[i].text);
        }
    }
    html__put(h, "</table>\n");
}

/* A database probe's headline figures as a table. */
static void figure_table(struct hb *h, const struct jtree *t, const struct jnode *p,
                         size_t (*figures)(const struct jtree *, const struct jnode *,
                                           struct report_pfig *, size_t))
{
    struct report_pfig f[REPORT_MAX_PFIGS];
    pfig_table(h, f, figures(t, p, f, REPORT_MAX_PFIGS));
}

static void postgres_panel(struct hb *h, const struct report_model *m, const struct jtree *t,
                           const struct jnode *p, const char *name)
{
    char s[256];
    if (!panel_open(h, t, p, "panel-postgres", "PostgreSQL")) {
        return;
    }
    figure_table(h, t, p, report__pg_figures);
    const struct jnode *pss = jtree_get(t, p, "pg_stat_statements");
    if (pss != NULL && !jtree_bool(t, pss, "available", true) &&
        jtree_str(t, pss, "note", s, sizeof s)) {
        html__put(h, "<p class=\"missing\">pg_stat_statements: ");
        html__esc(h, s);
        html__put(h, "</p>\n");
    }
    probe_findings(h, m, name);
    const struct jnode *ser = jtree_get(t, p, "series");
    struct pchart c1 = {"chart-pg-connections",
                        "PostgreSQL backends over time",
                        "backends",
                        {{"connections", "connections", "#1f77b4", 1, false},
                         {"active", "active", "#2ca02c", 1, false},
                         {"idle_in_transaction", "idle in transaction", "#ff7f0e", 1, false},
                         {"lock_waits", "waiting on a lock", "#d62728", 1, false}},
                        4};
    struct pchart c2 = {"chart-pg-calls",
                        "PostgreSQL statements and commits per second",
                        "per second",
                        {{"calls", "statements/s", "#9467bd", 1, false, true},
                         {"commits", "commits/s", "#17becf", 1, true, true}},
                        2};
    struct pchart c3 = {"chart-pg-blocks",
                        "PostgreSQL buffer reads per second",
                        "blocks/s",
                        {{"blks_hit", "cache hits", "#2ca02c", 1, false, true},
                         {"blks_read", "reads from disk", "#d62728", 1, false, true}},
                        2};
    series_chart(h, m, t, ser, &c1);
    series_chart(h, m, t, ser, &c2);
    series_chart(h, m, t, ser, &c3);
    const struct jnode *q = jtree_get(t, p, "top_queries");
    if (q != NULL && q->val.type == JSON_ARRAY && q->n_children > 0) {
        html__putf(h,
                   "<table class=\"panel wide\" id=\"pg-top-queries\"><caption>Top queries by "
                   "database time (%u%s)</caption><tr><th>Query</th><th>Calls</th>"
                   "<th>Calls/s</th><th>Mean</th><th>Total</th><th>Share</th>"
                   "<th>Request (calls per request)</th></tr>\n",
                   q->n_children, q->n_children > PANEL_MAX_TABLE_ROWS ? ", the first 10" : "");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, q); e != NULL && i < PANEL_MAX_TABLE_ROWS;
             e = jtree_next(t, e), i++) {
            char qt[PANEL_QUERY_CHARS + 4], c[48], cs[48], mean[32], tot[32], sh[32], rq[320];
            jtree_str(t, e, "query", qt, sizeof qt);
            if (strlen(qt) >= PANEL_QUERY_CHARS) {
                snprintf(qt + PANEL_QUERY_CHARS - 4, 5, " ...");
            }
            double calls_q = report__jnum(t, e, "calls", NULL);
            fmt_num(calls_q, c, sizeof c);
            snprintf(cs, sizeof cs, "%.1f", report__jnum(t, e, "calls_per_s", NULL));
            report_fmt_ms(report__jnum(t, e, "mean_ms", NULL), mean, sizeof mean);
            report_fmt_ms(report__jnum(t, e, "total_ms", NULL), tot, sizeof tot);
            report_fmt_pct(report__jnum(t, e, "share", NULL), sh, sizeof sh);
            const struct jnode *r = jtree_get(t, e, "request");
            char rn[256] = "";
            if (r != NULL && jtree_str(t, r, "name", rn, sizeof rn)) {
                snprintf(rq, sizeof rq, "%s (%.1f)", rn,
                         report__jnum(t, r, "calls_per_request", NULL));
            } else {
                snprintf(rq, sizeof rq, "—");
            }
            html__put(h, "<tr><td><code>");
            html__esc(h, qt);
            html__putf(h,
                       "</code></td><td class=\"n\" data-pg-calls=\"%.17g\">%s</td>"
                       "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                       "<td class=\"n\">%s</td><td>",
                       isfinite(calls_q) ? calls_q : 0, c, cs, mean, tot, sh);
            html__esc(h, rq);
            html__put(h, "</td></tr>\n");
        }
        html__put(h, "</table>\n");
    }
    const struct jnode *tb = jtree_get(t, p, "tables");
    if (tb != NULL && tb->val.type == JSON_ARRAY && tb->n_children > 0) {
        html__put(h, "<table class=\"panel\" id=\"pg-tables\"><caption>Tables</caption><tr>"
                     "<th>Table</th><th>Seq scans</th><th>Rows read by them</th><th>Index "
                     "scans</th><th>Live rows</th><th>Size</th></tr>\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, tb); e != NULL && i < PANEL_MAX_TABLE_ROWS;
             e = jtree_next(t, e), i++) {
            char sc[64], tn[128], a[48], b[48], c[48], d[48], z[48];
            jtree_str(t, e, "schema", sc, sizeof sc);
            jtree_str(t, e, "table", tn, sizeof tn);
            fmt_num(report__jnum(t, e, "seq_scan", NULL), a, sizeof a);
            fmt_num(report__jnum(t, e, "seq_tup_read", NULL), b, sizeof b);
            fmt_num(report__jnum(t, e, "idx_scan", NULL), c, sizeof c);
            fmt_num(report__jnum(t, e, "n_live_tup", NULL), d, sizeof d);
            report_fmt_bytes(report__jnum(t, e, "size_bytes", NULL), z, sizeof z);
            html__put(h, "<tr><td><code>");
            html__esc(h, sc);
            html__put(h, ".");
            html__esc(h, tn);
            html__putf(h,
                       "</code></td><td class=\"n\" data-pg-seq-scan=\"%.17g\">%s</td>"
                       "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
                       "<td class=\"n\">%s</td></tr>\n",
                       isfinite(report__jnum(t, e, "seq_scan", NULL))
                           ? report__jnum(t, e, "seq_scan", NULL)
                           : 0,
                       a, b, c, d, z);
        }
        html__put(h, "</table>\n");
    }
    html__put(h, "</section>\n");
}

static void redis_panel(struct hb *h, const struct report_model *m, const struct jtree *t,
                        const struct jnode *p, const char *name)
{
    if (!panel_open(h, t, p, "panel-redis", "Redis")) {
        return;
    }
    figure_table(h, t, p, report__redis_figures);
    probe_findings(h, m, name);
    const struct jnode *ser = jtree_get(t, p, "series");
    struct pchart c1 = {"chart-redis-ops",
                        "Redis commands and key lookups per second",
                        "per second",
                        {{"ops", "commands/s", "#1f77b4", 1, false, true},
                         {"hits", "hits/s", "#2ca02c", 1, false, true},
                         {"misses", "misses/s", "#d62728", 1, false, true},
                         {"evicted", "evictions/s", "#9467bd", 1, true, true}},
                        4};
    struct pchart c2 = {"chart-redis-memory",
                        "Redis memory used (MiB)",
                        "MiB",
                        {{"used_bytes", "used memory", "#8c564b", 1.0 / (1024 * 1024), false}},
                        1};
    struct pchart c3 = {"chart-redis-clients",
                        "Redis clients",
                        "clients",
                        {{"connected", "connected", "#17becf", 1, false},
                         {"blocked", "blocked", "#d62728", 1, true}},
                        2};
    series_chart(h, m, t, ser, &c1);
    series_chart(h, m, t, ser, &c2);
    series_chart(h, m, t, ser, &c3);
    const struct jnode *cmds = jtree_get(t, p, "commands");
    if (cmds != NULL && cmds->val.type == JSON_ARRAY && cmds->n_children > 0) {
        html__putf(h,
                   "<table class=\"panel\" id=\"redis-commands\"><caption>Commands by calls "
                   "(%u%s)</caption><tr><th>Command</th><th>Calls</th><th>µs per call</th>"
                   "<th>Server p50</th><th>Server p99</th><th>Failed</th><th>Rejected</th>"
                   "</tr>\n",
                   cmds->n_children,
                   cmds->n_children > PANEL_MAX_TABLE_ROWS ? ", the first 10" : "");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, cmds); e != NULL && i < PANEL_MAX_TABLE_ROWS;
             e = jtree_next(t, e), i++) {
            char cn[64], c[48], f[48], r[48], p50[32] = "—", p99[32] = "—";
            jtree_str(t, e, "command", cn, sizeof cn);
            double calls = report__jnum(t, e, "calls", NULL);
            fmt_num(calls, c, sizeof c);
            fmt_num(report__jnum(t, e, "failed_calls", NULL), f, sizeof f);
            fmt_num(report__jnum(t, e, "rejected_calls", NULL), r, sizeof r);
            const struct jnode *lh = jtree_get(t, e, "latency_histogram");
            if (isfinite(report__jnum(t, lh, "p50_le_us", NULL))) {
                snprintf(p50, sizeof p50, "≤ %.0f µs", report__jnum(t, lh, "p50_le_us", NULL));
                snprintf(p99, sizeof p99, "≤ %.0f µs", report__jnum(t, lh, "p99_le_us", NULL));
            }
            html__put(h, "<tr><td><code>");
            html__esc(h, cn);
            html__putf(h,
                       "</code></td><td class=\"n\" data-redis-calls=\"%.17g\">%s</td>"
                       "<td class=\"n\">%.2f</td><td class=\"n\">%s</td><td class=\"n\">%s"
                       "</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
                       isfinite(calls) ? calls : 0, c, report__jnum(t, e, "usec_per_call", NULL),
                       p50, p99, f, r);
        }
        html__put(h, "</table>\n");
    }
    const struct jnode *sl = report__jpath(t, p, "slowlog", "entries");
    if (sl != NULL && sl->val.type == JSON_ARRAY && sl->n_children > 0) {
        html__putf(h, "<p>Slow log: %u entr%s slower than %.0f µs.</p>\n", sl->n_children,
                   sl->n_children == 1 ? "y" : "ies",
                   report__jnum(t, p, "slowlog", "slower_than_us"));
        probe_table(h, t, sl);
    }
    html__put(h, "</section>\n");
}

static const struct sumrow process_rows[] = {
    {"process_cpu", "CPU (% of the CPUs it may use)", 1},
    {"process_cpu_core", "CPU (% of one core)", 1},
    {"process_cpu_wait", "waiting for a CPU (% of one core)", 1},
    {"process_memory", "memory (% of its limit)", 1},
    {"process_rss", "resident memory", 2},
    {"process_rss_anon", "anonymous memory", 2},
    {"process_threads", "threads", 0},
    {"process_fds", "open files", 0},
    {"process_count", "processes", 0},
    {"process_major_faults", "major faults/s", 0},
};

static void process_panel(struct hb *h, const struct report_model *m, const struct jtree *t,
                          const struct jnode *p, const char *name)
{
    html__put(h, "<section class=\"probe-panel\" id=\"panel-process\"><h3>The target's "
                 "processes</h3>\n");
    const struct jnode *ts = jtree_get(t, p, "targets");
    size_t k = 0;
    for (const struct jnode *e = ts != NULL ? jtree_first(t, ts) : NULL; e != NULL;
         e = jtree_next(t, e), k++) {
        char label[64] = "", by[16] = "", cg[256] = "", s[512], id[64], pre[96];
        jtree_str(t, e, "label", label, sizeof label);
        jtree_str(t, e, "by", by, sizeof by);
        jtree_str(t, e, "cgroup", cg, sizeof cg);
        char lim[48];
        report_fmt_bytes(report__jnum(t, e, "memory_limit_bytes", NULL), lim, sizeof lim);
        snprintf(s, sizeof s, "pid %.0f (by %s), cgroup %s, %.0f CPUs allowed, memory limit %s",
                 report__jnum(t, e, "pid", NULL), by, cg, report__jnum(t, e, "allowed_cpus", NULL),
                 lim);
        html__put(h, "<h4>");
        html__esc(h, label);
        html__put(h, "</h4><p class=\"meta\">");
        html__esc(h, s);
        html__put(h, "</p>\n");
        const struct jnode *died = jtree_get(t, e, "died");
        if (died != NULL && died->val.type == JSON_OBJECT) {
            html__putf(h,
                       "<p class=\"fail\">It died %.1f s into the run, at %.0f req/s with "
                       "%.0f VUs.</p>\n",
                       report__jnum(t, died, "t_s", NULL), report__jnum(t, died, "rps", NULL),
                       report__jnum(t, died, "vus", NULL));
        }
        snprintf(pre, sizeof pre, "process.%s", label);
        summary_table(h, t, jtree_get(t, e, "summary"), pre, process_rows,
                      sizeof process_rows / sizeof process_rows[0]);
        const struct jnode *mt = jtree_get(t, e, "memory_trend");
        if (mt != NULL && mt->val.type == JSON_OBJECT) {
            char vd[32] = "", ev[512] = "";
            jtree_str(t, mt, "verdict", vd, sizeof vd);
            jtree_str(t, mt, "evidence", ev, sizeof ev);
            html__putf(h, "<p>Memory trend: <strong class=\"%s\">",
                       strcmp(vd, "growing") == 0 ? "fail"
                       : strcmp(vd, "flat") == 0  ? "ok"
                                                  : "meta");
            html__esc(h, vd);
            html__put(h, "</strong> — ");
            html__esc(h, ev);
            html__put(h, "</p>\n");
        }
        const struct jnode *ser = jtree_get(t, e, "series");
        snprintf(id, sizeof id, "chart-process-cpu-%zu", k);
        char title[160];
        snprintf(title, sizeof title, "%s: CPU over time (%%)", label);
        struct pchart c1 = {id,
                            title,
                            "%",
                            {{"process_cpu", "CPU (of its CPUs)", "#d62728", 1, false},
                             {"process_cpu_core", "CPU (of one core)", "#ff7f0e", 1, true},
                             {"process_cpu_wait", "waiting for a CPU", "#9467bd", 1, true}},
                            3};
        series_chart(h, m, t, ser, &c1);
        char id2[64], title2[160];
        snprintf(id2, sizeof id2, "chart-process-memory-%zu", k);
        snprintf(title2, sizeof title2, "%s: memory over time (MiB)", label);
        struct pchart c2 = {
            id2,
            title2,
            "MiB",
            {{"process_rss", "resident", "#1f77b4", 1.0 / (1024 * 1024), false},
             {"process_rss_anon", "anonymous", "#2ca02c", 1.0 / (1024 * 1024), true}},
            2};
        series_chart(h, m, t, ser, &c2);
    }
    if (k == 0) {
        html__put(h, "<p class=\"missing\">No process was found to watch.</p>\n");
    }
    unavailable(h, t, p);
    probe_findings(h, m, name);
    html__put(h, "</section>\n");
}

static const struct sumrow machine_rows[] = {
    {"machine_cpu", "CPU busy (%)", 1},
    {"machine_cpu_iowait", "I/O wait (%)", 1},
    {"machine_cpu_steal", "steal (%)", 1},
    {"brunt_cpu", "brunt's own CPU (% of one core)", 1},
    {"machine_load1", "load average (1 min)", 0},
    {"machine_memory_available", "memory available", 2},
    {"machine_swap_used", "swap used", 2},
    {"machine_net_rx_bytes", "network received per second", 2},
    {"machine_net_tx_bytes", "network sent per second", 2},
    {"machine_tcp_retransmits", "TCP retransmits/s", 0},
    {"machine_listen_drops", "listen queue drops/s", 0},
    {"machine_cpu_pressure", "CPU pressure (%)", 1},
};

static void machine_panel(struct hb *h, const struct report_model *m, const struct jtree *t,
                          const struct jnode *p, const char *name)
{
    html__putf(h,
               "<section class=\"probe-panel\" id=\"panel-machine\"><h3>The machine</h3>\n"
               "<p class=\"meta\">%.0f CPUs.</p>\n",
               report__jnum(t, p, "cpus", NULL));
    if (jtree_bool(t, p, "generator_suspect", false)) {
        char s[256] = "";
        jtree_str(t, p, "generator_suspect_reason", s, sizeof s);
        html__put(h, "<p class=\"warn\">The load generator may have been the limit: ");
        html__esc(h, s);
        html__put(h, "</p>\n");
    }
    summary_table(h, t, jtree_get(t, p, "summary"), "machine", machine_rows,
                  sizeof machine_rows / sizeof machine_rows[0]);
    const struct jnode *ser = jtree_get(t, p, "series");
    struct pchart c1 = {"chart-machine-cpu",
                        "The machine's CPU over time (%)",
                        "%",
                        {{"machine_cpu", "CPU busy", "#d62728", 1, false},
                         {"machine_cpu_iowait", "I/O wait", "#9467bd", 1, true},
                         {"machine_cpu_steal", "steal", "#7f7f7f", 1, true},
                         {"brunt_cpu", "brunt (of one core)", "#2ca02c", 1, false}},
                        4};
    series_chart(h, m, t, ser, &c1);
    unavailable(h, t, p);
    probe_findings(h, m, name);
    html__put(h, "</section>\n");
}

/* data[0..n) as base64 (RFC 4648), for a data: URL. */
static void put_base64(struct hb *h, const unsigned char *data, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (h->rc != 0 || dynbuf_reserve(h->b, (n + 2) / 3 * 4) != 0) {
        h->rc |= -1;
        return;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        v |= i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0;
        v |= i + 2 < n ? data[i + 2] : 0;
        char q[4] = {al[v >> 18 & 63], al[v >> 12 & 63], i + 1 < n ? al[v >> 6 & 63] : '=',
                     i + 2 < n ? al[v & 63] : '='};
        h->rc |= dynbuf_add(h->b, q, 4);
    }
}

/*
 * A profile's flame graph, as a picture (an <img> of a data: URL: the page's policy lets
 * no script of the SVG's run, and the SVG's static frames are the whole graph), with the
 * path of the interactive file (zoom, search) beside it.  The SVG is what
 * report_load_flames() read beside the result; the renderer itself does no I/O.
 */
static void flame(struct hb *h, const struct report_probe *p)
{
    if (p->flame_path[0] == '\0') {
        return;
    }
    html__put(h, "<figure class=\"flame\">");
    if (p->flame_svg != NULL) {
        html__put(h, "<img alt=\"flame graph\" style=\"max-width:100%\" "
                     "src=\"data:image/svg+xml;base64,");
        put_base64(h, (const unsigned char *)p->flame_svg, p->flame_svg_len);
        html__put(h, "\">");
    }
    html__put(h, "<figcaption>Flame graph (the interactive one, with zoom and search: <code>");
    html__esc(h, p->flame_path);
    html__put(h, p->flame_svg != NULL ? "</code>)"
                                      : "</code>; not found when this report was written)");
    html__put(h, "</figcaption></figure>\n");
}

/* A profile row's first two cells: the function, and file:line, else its module, else —. */
static void fn_where_cells(struct hb *h, const struct jtree *t, const struct jnode *e)
{
    char fn[96] = "", file[160] = "", mod[64] = "", s[256];
    jtree_str(t, e, "function", fn, sizeof fn);
    jtree_str(t, e, "file", file, sizeof file);
    jtree_str(t, e, "module", mod, sizeof mod);
    html__put(h, "<tr><td><code>");
    html__esc(h, fn);
    html__put(h, "</code></td><td>");
    if (file[0]) {
        snprintf(s, sizeof s, "%s:%.0f", file, report__jnum(t, e, "line", NULL));
        html__esc(h, s);
    } else {
        html__esc(h, mod[0] ? mod : "—");
    }
    html__put(h, "</td>");
}

/*
 * probes.profile / probes.pprof (docs/profile.md): the hottest functions as a table and
 * bars of their share of the samples, and the flame graph (flame()).
 */
static void profile_panel(struct hb *h, const struct report_model *m, const struct jtree *t,
                          const struct jnode *p, const struct report_probe *rp)
{
    const char *name = rp->name;
    html__putf(h,
               "<section class=\"probe-panel\" id=\"panel-%s\"><h3>CPU profile of the "
               "target</h3>\n",
               strcmp(name, "pprof") == 0 ? "pprof" : "profile");
    struct report_pfig f[REPORT_MAX_PFIGS];
    pfig_table(h, f, report__profile_figures(t, p, name, f, REPORT_MAX_PFIGS));
    const struct jnode *top = jtree_get(t, p, "top");
    size_t k = 0;
    static const char *labels_buf[PANEL_MAX_TABLE_ROWS];
    char names[PANEL_MAX_TABLE_ROWS][96];
    double vals[PANEL_MAX_TABLE_ROWS * 2];
    if (top != NULL && top->val.type == JSON_ARRAY && top->n_children > 0) {
        html__put(h, "<table class=\"panel\" id=\"profile-top\"><caption>Hottest functions"
                     "</caption><tr><th>Function</th><th>Where</th><th>Self</th><th>Total</th>"
                     "</tr>\n");
        for (const struct jnode *e = jtree_first(t, top); e != NULL && k < PANEL_MAX_TABLE_ROWS;
             e = jtree_next(t, e), k++) {
            char fn[96] = "", a[32], b[32];
            jtree_str(t, e, "function", fn, sizeof fn);
            double self = report__jnum(t, e, "self_share", NULL),
                   tot = report__jnum(t, e, "total_share", NULL);
            report_fmt_pct(self, a, sizeof a);
            report_fmt_pct(tot, b, sizeof b);
            snprintf(names[k], sizeof names[k], "%s", fn);
            labels_buf[k] = names[k];
            vals[2 * k] = isfinite(self) ? self * 100 : 0;
            vals[2 * k + 1] = isfinite(tot) ? tot * 100 : 0;
            fn_where_cells(h, t, e);
            html__putf(h,
                       "<td class=\"n\" data-profile-self=\"%.17g\">%s</td><td "
                       "class=\"n\">%s</td></tr>\n",
                       isfinite(self) ? self : 0, a, b);
        }
        html__put(h, "</table>\n");
        struct svg_bars bars = {.id = "chart-profile-top",
                                .title = "Hottest functions (% of samples)",
                                .x_label = "% of samples",
                                .labels = labels_buf,
                                .n = k,
                                .values = vals,
                                .set_names = {"self", "total"},
                                .colors = {"#d62728", "#ff7f0e"},
                                .n_sets = 2};
        h->rc |= svg_bar_chart(h->b, &bars);
    } else if (jtree_get(t, p, "error") == NULL) {
        html__put(h, "<p class=\"missing\">The profile holds no samples.</p>\n");
    }
    /* pprof: where the live heap grew between the heap profiles before and after. */
    const struct jnode *growth = report__jpath(t, p, "heap", "growth");
    if (growth != NULL && growth->val.type == JSON_ARRAY && growth->n_children > 0) {
        html__put(h, "<table class=\"panel\" id=\"heap-growth\"><caption>Where the live heap "
                     "grew (allocation sites, after minus before)</caption><tr><th>Function"
                     "</th><th>Where</th><th>Grew by</th></tr>\n");
        size_t i = 0;
        for (const struct jnode *e = jtree_first(t, growth); e != NULL && i < PANEL_MAX_TABLE_ROWS;
             e = jtree_next(t, e), i++) {
            char by[32];
            double bytes = report__jnum(t, e, "bytes", NULL);
            report_fmt_bytes(bytes, by, sizeof by);
            fn_where_cells(h, t, e);
            html__putf(h, "<td class=\"n\" data-heap-growth=\"%.17g\">%s</td></tr>\n",
                       isfinite(bytes) ? bytes : 0, by);
        }
        html__put(h, "</table>\n");
    }
    flame(h, rp);
    probe_findings(h, m, name);
    html__put(h, "</section>\n");
}

void html__probes(struct hb *h, const struct report_model *m)
{
    if (m->n_probes == 0) {
        return;
    }
    html__put(h, "<h2 id=\"probes\">What the probes measured</h2>\n");
    for (size_t i = 0; i < m->n_probes; i++) {
        const struct report_probe *p = &m->probes[i];
        struct jtree t;
        if (p->json == NULL || jtree_parse(&t, p->json, p->json_len) != 0) {
            continue;
        }
        const struct jnode *root = jtree_at(&t, 0);
        if (root == NULL || root->val.type != JSON_OBJECT) {
            /* a probe that wrote null or a scalar: nothing to show */
        } else if (strcmp(p->name, "postgres") == 0) {
            postgres_panel(h, m, &t, root, p->name);
        } else if (strcmp(p->name, "redis") == 0) {
            redis_panel(h, m, &t, root, p->name);
        } else if (strcmp(p->name, "process") == 0) {
            process_panel(h, m, &t, root, p->name);
        } else if (strcmp(p->name, "machine") == 0) {
            machine_panel(h, m, &t, root, p->name);
        } else if (strcmp(p->name, "profile") == 0 || strcmp(p->name, "pprof") == 0) {
            profile_panel(h, m, &t, root, p);
        } else {
            html__put(h, "<section class=\"probe-panel\"><h3>");
            html__esc(h, p->name);
            html__put(h, "</h3>\n");
            generic_panel(h, &t, root);
            probe_findings(h, m, p->name);
            html__put(h, "</section>\n");
        }
        jtree_free(&t);
    }
}
