/*
 * model — reading a result document into a struct report_model (report.h).
 *
 * The document is validated whole first (json_validate), so a truncated or damaged file
 * is refused before anything is read, with the byte offset where it went wrong; then
 * jtree indexes it in one pass and each section is copied out.  Unknown members are
 * ignored (a newer brunt of the same schema version may add any), missing optional
 * sections leave their "has" flag false.  Per-request figures are rebuilt from the
 * series' complete histograms (hist.h), so the p95 of a request name over several
 * status codes is exact, not an average of percentiles.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"
#include "core/json.h"
#include "core/text.h"
#include "metrics/hist.h"
#include "report/jtree.h"
#include "report/report.h"

struct rd {
    struct jtree t;
    struct report_model *m;
    char *err;
    size_t err_len;
};

static const struct jnode *get(struct rd *r, const struct jnode *obj, const char *key)
{
    return jtree_get(&r->t, obj, key);
}

static double num(struct rd *r, const struct jnode *obj, const char *key)
{
    return jtree_num(&r->t, obj, key, NAN);
}

static void str(struct rd *r, const struct jnode *obj, const char *key, char *out, size_t cap)
{
    jtree_str(&r->t, obj, key, out, cap);
}

static bool is_obj(const struct jnode *n)
{
    return n != NULL && n->val.type == JSON_OBJECT;
}

static bool is_arr(const struct jnode *n)
{
    return n != NULL && n->val.type == JSON_ARRAY;
}

#define EACH(r, parent, c)                                                  \
    for (const struct jnode *c = jtree_first(&(r)->t, (parent)); c != NULL; \
         c = jtree_next(&(r)->t, c))

/* Where byte off is, as "line L, column C". */
static void where(const char *doc, size_t len, size_t off, char *out, size_t cap)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (doc[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(out, cap, "line %zu, column %zu (byte %zu)", line, col, off);
}

static void read_trend(struct rd *r, const struct jnode *v, struct report_trend *t)
{
    t->count = num(r, v, "count");
    t->avg = num(r, v, "avg");
    t->min = num(r, v, "min");
    t->med = num(r, v, "med");
    t->max = num(r, v, "max");
    t->p90 = num(r, v, "p(90)");
    t->p95 = num(r, v, "p(95)");
    t->p99 = num(r, v, "p(99)");
    t->p999 = num(r, v, "p(99.9)");
    t->stddev = num(r, v, "stddev");
}

static void read_meta(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *meta = get(r, root, "meta");
    str(r, meta, "version", m->version, sizeof m->version);
    const struct jnode *cmd = get(r, meta, "command");
    size_t off = 0;
    EACH(r, is_arr(cmd) ? cmd : NULL, a)
    {
        char word[512];
        jtree_text(a, word, sizeof word);
        text_mask_secrets(word, sizeof word);
        int k = snprintf(m->command + off, sizeof m->command - off, "%s%s", off ? " " : "", word);
        if (k < 0 || (size_t)k >= sizeof m->command - off) {
            break;
        }
        off += (size_t)k;
    }
    str(r, meta, "start", m->start, sizeof m->start);
    str(r, meta, "end", m->end, sizeof m->end);
    m->duration_ms = num(r, meta, "duration_ms");
    const struct jnode *mach = get(r, meta, "machine");
    str(r, mach, "hostname", m->hostname, sizeof m->hostname);
    str(r, mach, "kernel", m->kernel, sizeof m->kernel);
    double cores = num(r, mach, "cores");
    m->cores = isfinite(cores) && cores > 0 && cores < 1e6 ? (int)cores : 0;
    m->interrupted = jtree_bool(&r->t, meta, "interrupted", false);
    m->aborted = jtree_bool(&r->t, meta, "aborted", false);
    str(r, meta, "abort_reason", m->abort_reason, sizeof m->abort_reason);
    double ec = num(r, meta, "exit_code");
    m->exit_code = isfinite(ec) && fabs(ec) < 1000 ? (int)ec : 0;
    const struct jnode *cpu = get(r, meta, "cpu");
    m->cpu_user_ms = num(r, cpu, "user_ms");
    m->cpu_system_ms = num(r, cpu, "system_ms");
    m->max_worker_busy = num(r, cpu, "max_worker_busy");
}

static void read_options(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *o = get(r, root, "options");
    str(r, o, "url", m->url, sizeof m->url);
    str(r, o, "method", m->method, sizeof m->method);
    str(r, o, "model", m->model, sizeof m->model);
    str(r, o, "executor", m->executor, sizeof m->executor);
    m->threads = num(r, o, "threads");
    m->connections = num(r, o, "connections");
    m->max_vus = num(r, o, "max_vus");
    m->rate = num(r, o, "rate");
    m->opt_duration_ms = num(r, o, "duration_ms");
    m->opt_requests = num(r, o, "requests");
    m->pipeline = num(r, o, "pipeline");
    EACH(r, is_arr(get(r, o, "stages")) ? get(r, o, "stages") : NULL, s)
    {
        if (m->n_stages == REPORT_MAX_STAGES) {
            break;
        }
        m->stages[m->n_stages].duration_ms = num(r, s, "duration_ms");
        m->stages[m->n_stages].target = num(r, s, "target");
        m->n_stages++;
    }
    const struct jnode *sc = get(r, o, "scenarios");
    m->n_scenarios = is_arr(sc) ? sc->n_children : 1;
}

static int read_metrics(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *ms = get(r, root, "metrics");
    if (!is_obj(ms)) {
        return 0;
    }
    size_t n = ms->n_children < REPORT_MAX_METRICS ? ms->n_children : REPORT_MAX_METRICS;
    m->metrics = calloc(n ? n : 1, sizeof *m->metrics);
    if (m->metrics == NULL) {
        return -ENOMEM;
    }
    EACH(r, ms, e)
    {
        if (m->n_metrics == n || !is_obj(e)) {
            continue;
        }
        struct report_metric *x = &m->metrics[m->n_metrics++];
        struct jnode key = {.val = e->key};
        jtree_text(&key, x->name, sizeof x->name);
        str(r, e, "type", x->type, sizeof x->type);
        str(r, e, "contains", x->contains, sizeof x->contains);
        const struct jnode *v = get(r, e, "values");
        x->count = num(r, v, "count");
        x->rate = num(r, v, "rate");
        x->value = num(r, v, "value");
        x->min = num(r, v, "min");
        x->max = num(r, v, "max");
        x->passes = num(r, v, "passes");
        x->fails = num(r, v, "fails");
        read_trend(r, v, &x->trend);
    }
    return 0;
}

/* Rebuilds a histogram member ({"min","max","sum","buckets":[[ns,count],...]}) into h
 * (added to what h holds); tracks the exact min, max and sum. */
static void add_hist(struct rd *r, const struct jnode *hj, struct hist *h, double *mn, double *mx,
                     double *sum)
{
    if (!is_obj(hj)) {
        return;
    }
    EACH(r, get(r, hj, "buckets"), b)
    {
        const struct jnode *v = jtree_first(&r->t, b), *c = jtree_next(&r->t, v);
        double vv, cc;
        if (v == NULL || c == NULL || json_span_number(&v->val, &vv) < 0 ||
            json_span_number(&c->val, &cc) < 0 || !(vv >= 0) || !(cc >= 0) || vv > 1e19 ||
            cc > 1e18) {
            continue;
        }
        hist_record_n(h, (uint64_t)vv, (uint64_t)cc);
    }
    double a = num(r, hj, "min"), z = num(r, hj, "max"), s = num(r, hj, "sum");
    if (isfinite(a) && (!isfinite(*mn) || a < *mn)) {
        *mn = a;
    }
    if (isfinite(z) && (!isfinite(*mx) || z > *mx)) {
        *mx = z;
    }
    if (isfinite(s)) {
        *sum += s;
    }
}

static void finish_hist(struct hist *h, double mn, double mx, double sum)
{
    if (hist_count(h) > 0 && isfinite(mn) && isfinite(mx) && mn >= 0 && mx >= mn && mx < 1.8e19) {
        hist_set_exact(h, (uint64_t)mn, (uint64_t)mx, sum);
    }
}

static void series_tag(struct rd *r, const struct jnode *series, const char *key, char *out,
                       size_t cap)
{
    out[0] = '\0';
    str(r, get(r, series, "tags"), key, out, cap);
}

static void spectrum(const struct hist *h, struct report_spectrum *sp)
{
    uint64_t n = hist_count(h);
    sp->n = 0;
    if (n == 0) {
        return;
    }
    for (int i = 0; sp->n + 1 < REPORT_SPECTRUM_MAX; i++) {
        double p = 1.0 - pow(2.0, -(double)i / 4.0);
        if ((1.0 - p) * (double)n < 1.0) {
            break;
        }
        sp->pts[sp->n].p = p;
        sp->pts[sp->n].value_ms = (double)hist_quantile_ns(h, p) / 1e6;
        sp->n++;
    }
    sp->pts[sp->n].p = 1.0;
    sp->pts[sp->n].value_ms = (double)hist_max_ns(h) / 1e6;
    sp->n++;
}

static int read_spectrum(struct rd *r, const struct jnode *ms, const char *name,
                         struct report_spectrum *sp)
{
    const struct jnode *hj = get(r, get(r, ms, name), "histogram");
    if (!is_obj(hj)) {
        return 0;
    }
    struct hist *h = hist_new();
    if (h == NULL) {
        return -ENOMEM;
    }
    double mn = NAN, mx = NAN, sum = 0;
    add_hist(r, hj, h, &mn, &mx, &sum);
    finish_hist(h, mn, mx, sum);
    spectrum(h, sp);
    hist_free(h);
    return 0;
}

static int cmp_request(const void *a, const void *b)
{
    const struct report_request *x = a, *y = b;
    if (x->total_ms != y->total_ms) {
        return x->total_ms < y->total_ms ? 1 : -1;
    }
    return strcmp(x->name, y->name);
}

/* Groups http_req_duration's series by their name tag (the URL when unnamed). */
static int read_requests(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *ms = get(r, root, "metrics");
    const struct jnode *dur = get(r, ms, "http_req_duration");
    const struct jnode *series = get(r, dur, "series");
    const struct jnode *failed = get(r, get(r, ms, "http_req_failed"), "series");
    const struct jnode *reqs = get(r, get(r, ms, "http_reqs"), "series");
    size_t cap = is_arr(series) ? series->n_children : 0;
    if (cap > REPORT_MAX_REQUESTS) {
        cap = REPORT_MAX_REQUESTS;
    }
    m->requests = calloc(cap ? cap : 1, sizeof *m->requests);
    struct hist *h = hist_new();
    int rc = 0;
    if (m->requests == NULL || h == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    char name[256];
    EACH(r, series, s)
    {
        series_tag(r, s, "name", name, sizeof name);
        if (name[0] == '\0') {
            series_tag(r, s, "url", name, sizeof name);
        }
        size_t i;
        for (i = 0; i < m->n_requests && strcmp(m->requests[i].name, name) != 0; i++) {
        }
        if (i == m->n_requests && m->n_requests < cap) {
            snprintf(m->requests[i].name, sizeof m->requests[i].name, "%s", name);
            series_tag(r, s, "method", m->requests[i].method, sizeof m->requests[i].method);
            m->n_requests++;
        }
    }
    for (size_t i = 0; i < m->n_requests; i++) {
        struct report_request *q = &m->requests[i];
        double mn = NAN, mx = NAN, sum = 0;
        hist_reset(h);
        EACH(r, series, s)
        {
            series_tag(r, s, "name", name, sizeof name);
            if (name[0] == '\0') {
                series_tag(r, s, "url", name, sizeof name);
            }
            if (strcmp(name, q->name) == 0) {
                add_hist(r, get(r, s, "histogram"), h, &mn, &mx, &sum);
            }
        }
        finish_hist(h, mn, mx, sum);
        q->count = hist_count(h);
        /* http_reqs counts every request, those that failed without a response (a reset,
         * a timeout) included, which have no duration sample. */
        double n_reqs = 0;
        EACH(r, reqs, s)
        {
            series_tag(r, s, "name", name, sizeof name);
            if (name[0] == '\0') {
                series_tag(r, s, "url", name, sizeof name);
            }
            double c = num(r, get(r, s, "values"), "count");
            if (strcmp(name, q->name) == 0 && isfinite(c) && c > 0) {
                n_reqs += c;
            }
        }
        if (n_reqs > (double)q->count) {
            q->count = (uint64_t)n_reqs;
        }
        q->p50_ms = (double)hist_quantile_ns(h, 0.5) / 1e6;
        q->p95_ms = (double)hist_quantile_ns(h, 0.95) / 1e6;
        q->p99_ms = (double)hist_quantile_ns(h, 0.99) / 1e6;
        q->max_ms = (double)hist_max_ns(h) / 1e6;
        q->avg_ms = hist_mean_ns(h) / 1e6;
        q->total_ms = hist_sum_ns(h) / 1e6;
        EACH(r, failed, s)
        {
            series_tag(r, s, "name", name, sizeof name);
            if (name[0] == '\0') {
                series_tag(r, s, "url", name, sizeof name);
            }
            double p = num(r, get(r, s, "values"), "passes");
            if (strcmp(name, q->name) == 0 && isfinite(p) && p > 0) {
                q->failed += (uint64_t)p;
            }
        }
    }
    m->per_request_from_series = m->n_requests > 0;
    qsort(m->requests, m->n_requests, sizeof *m->requests, cmp_request);
    if ((rc = read_spectrum(r, ms, "http_req_duration", &m->spectrum_duration)) == 0) {
        rc = read_spectrum(r, ms, "http_req_latency", &m->spectrum_latency);
    }
out:
    hist_free(h);
    return rc;
}

/* Splits "p(95)<300" into its operator and number. */
static void parse_expression(struct report_check *c)
{
    const char *e = c->expression;
    const char *op = strpbrk(e, "<>=!");
    c->limit = NAN;
    c->op[0] = '\0';
    if (op == NULL) {
        return;
    }
    size_t k = (op[1] == '=') ? 2 : 1;
    memcpy(c->op, op, k);
    c->op[k] = '\0';
    char *end;
    double v = strtod(op + k, &end);
    if (end != op + k) {
        c->limit = v;
    }
}

static void check_unit(const struct report_model *m, struct report_check *c)
{
    char base[64];
    size_t n = strcspn(c->metric, "{:");
    snprintf(base, sizeof base, "%.*s", (int)(n < 63 ? n : 63), c->metric);
    const struct report_metric *x = report_metric(m, base);
    c->unit[0] = '\0';
    if (x == NULL) {
        return;
    }
    if (strcmp(x->type, "trend") == 0 && strcmp(x->contains, "time") == 0 &&
        strncmp(c->expression, "count", 5) != 0 && strstr(c->metric, ":count") == NULL) {
        snprintf(c->unit, sizeof c->unit, "ms");
    } else if (strcmp(x->type, "rate") == 0) {
        snprintf(c->unit, sizeof c->unit, "%%");
    }
}

static void judge(struct report_check *c)
{
    c->warn = false;
    if (!c->evaluated || c->no_samples) {
        c->warn = c->ok;
        return;
    }
    if (!c->ok || !isfinite(c->limit) || !isfinite(c->observed)) {
        return;
    }
    double lim = c->limit, v = c->observed;
    if (c->op[0] == '<') {
        c->warn = v > 0.9 * lim;
    } else if (c->op[0] == '>') {
        /* For a rate, the headroom is up to 1 (100%), not 10% of the limit. */
        c->warn = strcmp(c->unit, "%") == 0 ? v < lim + 0.1 * (1 - lim) : v < 1.1 * lim;
    }
}

static void read_checks(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *th = get(r, root, "thresholds"), *cr = get(r, root, "criteria");
    m->has_criteria = cr != NULL && cr->val.type != JSON_NULL;
    for (int pass = 0; pass < 2; pass++) {
        const struct jnode *arr = pass == 0 ? th : cr;
        EACH(r, is_arr(arr) ? arr : NULL, e)
        {
            if (m->n_checks == REPORT_MAX_CHECKS || !is_obj(e)) {
                continue;
            }
            struct report_check *c = &m->checks[m->n_checks++];
            if (!jtree_str(&r->t, e, "metric", c->metric, sizeof c->metric)) {
                str(r, e, "name", c->metric, sizeof c->metric);
            }
            if (!jtree_str(&r->t, e, "expression", c->expression, sizeof c->expression)) {
                str(r, e, "target", c->expression, sizeof c->expression);
            }
            snprintf(c->source, sizeof c->source, "%s", pass == 0 ? "threshold" : "criterion");
            c->ok = jtree_bool(&r->t, e, "ok", false);
            c->observed = num(r, e, "observed");
            if (!isfinite(c->observed)) {
                c->observed = num(r, e, "current");
            }
            str(r, e, "acceptable", c->acceptable, sizeof c->acceptable);
            if (strcmp(c->acceptable, c->expression) == 0) {
                c->acceptable[0] = '\0'; /* no level of its own: the target alone */
            }
            c->evaluated = jtree_bool(&r->t, e, "evaluated", isfinite(c->observed));
            c->no_samples = jtree_bool(&r->t, e, "no_samples", false);
            c->abort_on_fail = jtree_bool(&r->t, e, "abort_on_fail", false);
            parse_expression(c);
            check_unit(m, c);
            judge(c);
            /* A criterion's verdict: "target" (met), "acceptable" (only that), "fail". */
            char status[16];
            if (jtree_str(&r->t, e, "status", status, sizeof status)) {
                if (strcmp(status, "acceptable") == 0 || strcmp(status, "warn") == 0) {
                    c->ok = true;
                    c->warn = true;
                    c->acceptable_only = true;
                } else if (strcmp(status, "unjudged") == 0) {
                    /* the watch could not judge it (no figure): not a failure of the run */
                    c->ok = true;
                    c->warn = true;
                    c->evaluated = false;
                } else if (strcmp(status, "fail") == 0 || strcmp(status, "failed") == 0) {
                    c->ok = false;
                    c->warn = false;
                } else if (strcmp(status, "target") == 0 || strcmp(status, "pass") == 0 ||
                           strcmp(status, "ok") == 0) {
                    c->ok = true;
                }
            }
            if (pass == 0) {
                m->n_thresholds++;
            } else {
                m->n_criteria++;
            }
        }
    }
}

static const char *const row_known[] = {
    "t",
    "time",
    "vus",
    "vus_max",
    "http_reqs",
    "rps",
    "failed",
    "iterations",
    "dropped_iterations",
    "data_sent",
    "data_received",
    "errors",
    "http_req_duration",
    "http_req_latency",
};

static bool is_known_col(const char *k, size_t n)
{
    for (size_t i = 0; i < sizeof row_known / sizeof row_known[0]; i++) {
        if (strlen(row_known[i]) == n && memcmp(row_known[i], k, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Puts the number at c in row w's column named k, adding the column when it is new (up
 * to REPORT_MAX_EXTRA_COLS; later ones are dropped). */
static void extra_cell(struct report_model *m, struct report_row *w, const char *k,
                       const struct jnode *c, bool from_watch)
{
    size_t j;
    for (j = 0; j < m->n_extra && strcmp(m->extra_names[j], k) != 0; j++) {
    }
    if (j == m->n_extra && m->n_extra < REPORT_MAX_EXTRA_COLS) {
        m->extra_from_watch[m->n_extra] = from_watch;
        snprintf(m->extra_names[m->n_extra++], sizeof m->extra_names[0], "%s", k);
    }
    double v;
    if (j < m->n_extra && json_span_number(&c->val, &v) == 0) {
        w->extra[j] = v;
    }
}

static int read_rows(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *ts = get(r, root, "timeseries");
    const struct jnode *rows = get(r, ts, "rows");
    m->interval_ms = num(r, ts, "interval_ms");
    if (!is_arr(rows)) {
        return 0;
    }
    size_t n = rows->n_children < REPORT_MAX_ROWS ? rows->n_children : REPORT_MAX_ROWS;
    m->rows = calloc(n ? n : 1, sizeof *m->rows);
    if (m->rows == NULL) {
        return -ENOMEM;
    }
    EACH(r, rows, e)
    {
        if (m->n_rows == n || !is_obj(e)) {
            continue;
        }
        struct report_row *w = &m->rows[m->n_rows++];
        double t = num(r, e, "t");
        w->t = isfinite(t) && t >= 0 && t < 4e9 ? (uint32_t)t : (uint32_t)(m->n_rows - 1);
        str(r, e, "time", w->time, sizeof w->time);
        w->vus = num(r, e, "vus");
        w->vus_max = num(r, e, "vus_max");
        w->http_reqs = num(r, e, "http_reqs");
        w->rps = num(r, e, "rps");
        w->failed = num(r, e, "failed");
        w->iterations = num(r, e, "iterations");
        w->dropped = num(r, e, "dropped_iterations");
        w->data_sent = num(r, e, "data_sent");
        w->data_received = num(r, e, "data_received");
        w->errors = num(r, e, "errors");
        read_trend(r, get(r, e, "http_req_duration"), &w->duration);
        read_trend(r, get(r, e, "http_req_latency"), &w->latency);
        for (size_t k = 0; k < REPORT_MAX_EXTRA_COLS; k++) {
            w->extra[k] = NAN;
        }
        EACH(r, e, c)
        {
            if (c->val.type != JSON_NUMBER || c->key.len < 2 ||
                is_known_col(c->key.start + 1, c->key.len - 2)) {
                continue;
            }
            char k[48];
            struct jnode kn = {.val = c->key};
            jtree_text(&kn, k, sizeof k);
            extra_cell(m, w, k, c, false);
        }
        /* The watch's figures of that second, per target label (docs/result-format.md):
         * "watch": {"LABEL": {"process_cpu": 41.2, ...}} -> column "process_cpu{LABEL}". */
        EACH(r, get(r, e, "watch"), target)
        {
            char label[24];
            struct jnode ln = {.val = target->key};
            jtree_text(&ln, label, sizeof label);
            EACH(r, is_obj(target) ? target : NULL, c)
            {
                if (c->val.type != JSON_NUMBER) {
                    continue;
                }
                char fig[32], k[64];
                struct jnode kn = {.val = c->key};
                jtree_text(&kn, fig, sizeof fig);
                snprintf(k, sizeof k, "%s{%s}", fig, label);
                k[47] = '\0'; /* the column name's cap (extra_names) */
                extra_cell(m, w, k, c, true);
            }
        }
    }
    return 0;
}

static enum finding_severity severity_of(const char *s)
{
    if (strcmp(s, "critical") == 0) {
        return FINDING_CRITICAL;
    }
    return strcmp(s, "warning") == 0 ? FINDING_WARNING : FINDING_INFO;
}

static void read_findings(struct rd *r, const struct jnode *arr, const char *probe)
{
    struct report_model *m = r->m;
    EACH(r, is_arr(arr) ? arr : NULL, e)
    {
        if (m->n_findings == REPORT_MAX_FINDINGS || !is_obj(e)) {
            continue;
        }
        struct finding *f = &m->findings[m->n_findings++];
        char sev[16];
        str(r, e, "severity", sev, sizeof sev);
        f->severity = severity_of(sev);
        if (!jtree_str(&r->t, e, "probe", f->probe, sizeof f->probe)) {
            snprintf(f->probe, sizeof f->probe, "%s", probe);
        }
        str(r, e, "kind", f->kind, sizeof f->kind);
        str(r, e, "location", f->location, sizeof f->location);
        str(r, e, "evidence", f->evidence, sizeof f->evidence);
        str(r, e, "recommendation", f->recommendation, sizeof f->recommendation);
        double imp = num(r, e, "impact");
        f->impact = isfinite(imp) && imp >= 0 && imp <= 1 ? imp : -1;
    }
}

static void read_rest(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    EACH(r, get(r, root, "errors"), e)
    {
        double v;
        if (m->n_error_kinds == REPORT_MAX_ERROR_KINDS || json_span_number(&e->val, &v) < 0) {
            continue;
        }
        struct jnode kn = {.val = e->key};
        jtree_text(&kn, m->errors[m->n_error_kinds].kind, sizeof m->errors[0].kind);
        m->errors[m->n_error_kinds++].count = v;
        m->errors_total += v;
    }
    EACH(r, get(r, root, "warnings"), w)
    {
        if (m->n_warnings < REPORT_MAX_WARNINGS) {
            jtree_text(w, m->warnings[m->n_warnings++], sizeof m->warnings[0]);
        }
    }
    const struct jnode *probes = get(r, root, "probes");
    m->has_probes = is_obj(probes);
    EACH(r, is_obj(probes) ? probes : NULL, p)
    {
        if (m->n_probes == REPORT_MAX_PROBES) {
            break;
        }
        struct report_probe *x = &m->probes[m->n_probes++];
        struct jnode kn = {.val = p->key};
        jtree_text(&kn, x->name, sizeof x->name);
        size_t before = m->n_findings;
        if (p->val.len < (16u << 20)) {
            x->json = malloc(p->val.len + 1);
            if (x->json != NULL) {
                memcpy(x->json, p->val.start, p->val.len);
                x->json[p->val.len] = '\0';
                x->json_len = p->val.len;
            }
        }
        const struct jnode *files = is_obj(p) ? get(r, p, "files") : NULL;
        const struct jnode *svg = is_obj(files) ? get(r, files, "svg") : NULL;
        if (svg != NULL && svg->val.type == JSON_STRING) {
            jtree_text(svg, x->flame_path, sizeof x->flame_path);
        }
        read_findings(r, get(r, p, "findings"), x->name);
        x->n_findings = m->n_findings - before;
    }
    read_findings(r, get(r, root, "findings"), "brunt");
}

static void add_verdict(struct rd *r, const struct jnode *v, const char *what,
                        const char *slope_key, const char *unit)
{
    struct report_model *m = r->m;
    if (!is_obj(v) || m->n_verdicts == REPORT_MAX_VERDICTS) {
        return;
    }
    struct report_verdict *x = &m->verdicts[m->n_verdicts++];
    snprintf(x->what, sizeof x->what, "%s", what);
    str(r, v, "verdict", x->verdict, sizeof x->verdict);
    str(r, v, "evidence", x->evidence, sizeof x->evidence);
    x->slope = num(r, v, slope_key);
    snprintf(x->unit, sizeof x->unit, "%s", unit);
}

/* The watch's verdicts: analysis.latency_p95_trend / error_rate_trend, and the leak fit
 * of each watched target (probes.process.targets[].memory_trend). */
static void read_verdicts(struct rd *r, const struct jnode *root)
{
    const struct jnode *an = get(r, root, "analysis");
    add_verdict(r, get(r, an, "latency_p95_trend"), "p95 latency per second", "slope_per_hour",
                "ms/h");
    add_verdict(r, get(r, an, "error_rate_trend"), "error rate per second", "slope_per_hour", "/h");
    const struct jnode *ts = get(r, get(r, get(r, root, "probes"), "process"), "targets");
    EACH(r, is_arr(ts) ? ts : NULL, t)
    {
        char label[64], what[96];
        str(r, t, "label", label, sizeof label);
        snprintf(what, sizeof what, "memory of %s", label[0] ? label : "the target");
        add_verdict(r, get(r, t, "memory_trend"), what, "slope_mib_per_hour", "MiB/h");
    }
}

/* analysis.breakpoint: what a breakpoint ramp found (null or absent: nothing). */
static void read_breakpoint(struct rd *r, const struct jnode *root)
{
    struct report_model *m = r->m;
    const struct jnode *bp = get(r, get(r, root, "analysis"), "breakpoint");
    if (!is_obj(bp)) {
        return;
    }
    m->bp_present = true;
    m->bp_broke = jtree_bool(&r->t, bp, "broke", false);
    str(r, bp, "scenario", m->bp_scenario, sizeof m->bp_scenario);
    m->bp_peak = num(r, bp, "peak_rate");
    m->bp_t_s = num(r, bp, "t_s");
    m->bp_reached = num(r, bp, "reached_rate");
    m->bp_broke_at = num(r, bp, "broke_at_rate");
    m->bp_held = num(r, bp, "held_rate");
    m->bp_vus = num(r, bp, "vus");
    size_t l = 0;
    EACH(r, get(r, bp, "what_broke"), w)
    {
        char th[96] = "", ex[64] = "";
        double obs = num(r, w, "observed");
        str(r, w, "threshold", th, sizeof th);
        str(r, w, "expression", ex, sizeof ex);
        if (l < sizeof m->bp_what) {
            l += (size_t)snprintf(m->bp_what + l, sizeof m->bp_what - l, "%s%s %s", l ? "; " : "",
                                  th, ex);
        }
        if (l < sizeof m->bp_what && isfinite(obs)) {
            l += (size_t)snprintf(m->bp_what + l, sizeof m->bp_what - l, " (observed %.4g)", obs);
        }
    }
}

/* v as it stands inside a JSON string (json_escape), for a one-line message: a schema
 * value that holds a newline or another control character must not break the line. */
static const char *one_line(const char *v, char *out, size_t cap)
{
    struct dynbuf b;
    dynbuf_init(&b, cap);
    out[0] = '\0';
    if (json_escape(&b, v, strlen(v), 0) == 0 || b.len > 0) {
        size_t n = b.len < cap ? b.len : cap - 1;
        memcpy(out, b.data, n);
        out[n] = '\0';
    }
    dynbuf_destroy(&b);
    return out;
}

static int schema_version(struct rd *r, const struct jnode *root)
{
    char s[64], q[400];
    if (!is_obj(root)) {
        snprintf(r->err, r->err_len,
                 "not a brunt result: the document is not a JSON object (expected "
                 "{\"schema\": \"brunt-result/1\", ...})");
        return REPORT_ESCHEMA;
    }
    if (!jtree_str(&r->t, root, "schema", s, sizeof s)) {
        snprintf(r->err, r->err_len,
                 "not a brunt result: no \"schema\" member (expected \"brunt-result/1\"; "
                 "write one with brunt run --export FILE)");
        return REPORT_ESCHEMA;
    }
    char *end;
    long v = strncmp(s, "brunt-result/", 13) == 0 ? strtol(s + 13, &end, 10) : -1;
    if (v < 0 || (v >= 0 && *end != '\0')) {
        snprintf(r->err, r->err_len,
                 "not a brunt result: schema \"%s\" (expected \"brunt-result/%d\")",
                 one_line(s, q, sizeof q), REPORT_SCHEMA_MAX);
        return REPORT_ESCHEMA;
    }
    if (v < REPORT_SCHEMA_MIN || v > REPORT_SCHEMA_MAX) {
        snprintf(r->err, r->err_len,
                 "result schema \"%s\" is %s than this brunt reads (brunt-result/%d to /%d): "
                 "render it with %s brunt",
                 one_line(s, q, sizeof q), v > REPORT_SCHEMA_MAX ? "newer" : "older",
                 REPORT_SCHEMA_MIN, REPORT_SCHEMA_MAX,
                 v > REPORT_SCHEMA_MAX ? "a newer" : "an older");
        return REPORT_ESCHEMA;
    }
    r->m->schema = (int)v;
    return 0;
}

int report_read(const char *doc, size_t len, struct report_model *m, char *err, size_t err_len)
{
    struct rd r = {.m = m, .err = err, .err_len = err_len};
    size_t off = 0;
    int rc;
    char at[96];
    memset(m, 0, sizeof *m);
    if (err_len > 0) {
        err[0] = '\0';
    }
    size_t i = 0;
    while (i < len && (doc[i] == ' ' || doc[i] == '\n' || doc[i] == '\r' || doc[i] == '\t')) {
        i++;
    }
    if (i == len) {
        snprintf(err, err_len, "not JSON: the file is empty (expected a brunt result document)");
        return REPORT_ENOTJSON;
    }
    rc = json_validate(doc, len, &off);
    if (rc == JSON_EINVAL && off >= len && doc[i] == '{') {
        snprintf(err, err_len,
                 "truncated: the document ends at byte %zu in the middle of a value (an "
                 "interrupted copy?)",
                 len);
        return REPORT_ETRUNC;
    }
    if (rc < 0) {
        where(doc, len, off, at, sizeof at);
        snprintf(err, err_len, "not JSON: %s at %s",
                 rc == JSON_EDEPTH ? "nested too deep" : "malformed", at);
        return REPORT_ENOTJSON;
    }
    rc = jtree_parse(&r.t, doc, len);
    if (rc < 0) {
        snprintf(err, err_len, "cannot index the document: %s",
                 rc == -ENOMEM  ? "out of memory"
                 : rc == -E2BIG ? "too many values"
                                : "malformed");
        rc = rc == -ENOMEM ? -ENOMEM : REPORT_ENOTJSON;
        goto out;
    }
    const struct jnode *root = jtree_at(&r.t, 0);
    if ((rc = schema_version(&r, root)) < 0) {
        goto out;
    }
    m->checks = calloc(REPORT_MAX_CHECKS, sizeof *m->checks);
    if (m->checks == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    read_meta(&r, root);
    read_options(&r, root);
    if ((rc = read_metrics(&r, root)) < 0 || (rc = read_requests(&r, root)) < 0 ||
        (rc = read_rows(&r, root)) < 0) {
        snprintf(err, err_len, "out of memory reading the result");
        goto out;
    }
    read_checks(&r, root);
    read_rest(&r, root);
    read_verdicts(&r, root);
    read_breakpoint(&r, root);
    const struct report_metric *reqs = report_metric(m, "http_reqs");
    const struct report_metric *dur = report_metric(m, "http_req_duration");
    const struct report_metric *wss = report_metric(m, "ws_sessions"); /* no http_reqs */
    bool any = (reqs != NULL && reqs->count > 0) || (dur != NULL && dur->trend.count > 0) ||
               (wss != NULL && wss->count > 0);
    if (!any) {
        snprintf(err, err_len,
                 "no samples: the run measured no request (http_reqs is 0 or missing), so "
                 "there is nothing to report");
        rc = REPORT_ENOSAMPLES;
        goto out;
    }
    report_analyze(m);
    rc = 0;
out:
    jtree_free(&r.t);
    return rc;
}

void report_model_free(struct report_model *m)
{
    for (size_t i = 0; i < m->n_probes && i < REPORT_MAX_PROBES; i++) {
        free(m->probes[i].json);
        free(m->probes[i].flame_svg);
    }
    free(m->metrics);
    free(m->requests);
    free(m->checks);
    free(m->rows);
    memset(m, 0, sizeof *m);
}

const struct report_metric *report_metric(const struct report_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_metrics; i++) {
        if (strcmp(m->metrics[i].name, name) == 0) {
            return &m->metrics[i];
        }
    }
    return NULL;
}

/* Reads path whole into *out (NUL-terminated, owned) when it is at most cap bytes. */
static int read_small_file(const char *path, size_t cap, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    int rc = -1;
    if (f == NULL) {
        return -1;
    }
    buf = malloc(cap + 1);
    if (buf == NULL) {
        goto out;
    }
    n = fread(buf, 1, cap + 1, f);
    if (ferror(f) || n > cap || n == 0) {
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

size_t report_load_flames(struct report_model *m, const char *doc_path)
{
    size_t loaded = 0;
    for (size_t i = 0; i < m->n_probes && i < REPORT_MAX_PROBES; i++) {
        struct report_probe *p = &m->probes[i];
        if (p->flame_path[0] == '\0' || p->flame_svg != NULL) {
            continue;
        }
        int rc = read_small_file(p->flame_path, REPORT_FLAME_MAX_BYTES, &p->flame_svg,
                                 &p->flame_svg_len);
        /* brunt run writes the files next to the result: PATH is relative to where it
         * ran, so from elsewhere try the result's directory, with PATH, then its name. */
        const char *slash = doc_path != NULL ? strrchr(doc_path, '/') : NULL;
        const char *base = strrchr(p->flame_path, '/');
        const char *tries[2] = {p->flame_path, base != NULL ? base + 1 : NULL};
        for (int k = 0; k < 2 && rc < 0 && slash != NULL && p->flame_path[0] != '/'; k++) {
            char alt[1024];
            int w = tries[k] == NULL ? -1
                                     : snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - doc_path),
                                                doc_path, tries[k]);
            if (w > 0 && (size_t)w < sizeof alt) {
                rc = read_small_file(alt, REPORT_FLAME_MAX_BYTES, &p->flame_svg, &p->flame_svg_len);
            }
        }
        loaded += rc == 0;
    }
    return loaded;
}
