/*
 * analyze — what the report concludes from the measured figures alone: brunt's own
 * findings (generator saturation, errors, dropped iterations, queueing, the dominant
 * request, a long tail), the maximum throughput held, and the breaking point.  Every
 * number a finding quotes is one the model holds, so it can be traced to the result.
 * Findings the probes wrote (watched processes, PostgreSQL, Redis, profiles) were read
 * with the document; here they are ranked together with brunt's own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

/* Errors above this share of a second's requests make the second "failing". */
#define BREAK_ERROR_SHARE 0.01
/* The window over which a throughput counts as held. */
#define HELD_WINDOW_S 5

static struct finding *add(struct report_model *m, enum finding_severity sev, const char *kind)
{
    if (m->n_findings == REPORT_MAX_FINDINGS) {
        return NULL;
    }
    struct finding *f = &m->findings[m->n_findings++];
    memset(f, 0, sizeof *f);
    f->severity = sev;
    snprintf(f->probe, sizeof f->probe, "brunt");
    snprintf(f->kind, sizeof f->kind, "%s", kind);
    f->impact = -1;
    return f;
}

static double row_err_share(const struct report_row *w)
{
    return isfinite(w->http_reqs) && w->http_reqs > 0 && isfinite(w->failed)
               ? w->failed / w->http_reqs
               : 0;
}

static void held_and_breaking(struct report_model *m)
{
    size_t n = m->n_rows;
    /* Seconds after the last request (the closing second of a run, or a ramp down to
     * nothing) held no load: a window over them would say "0 req/s held". */
    size_t n_load = n;
    while (n_load > 0 && m->rows[n_load - 1].http_reqs == 0) {
        n_load--;
    }
    size_t win = n_load < HELD_WINDOW_S ? n_load : HELD_WINDOW_S;
    m->held_rps = NAN;
    m->held_window_s = (double)win;
    for (size_t i = 0; win > 0 && i + win <= n_load; i++) {
        double lo = INFINITY;
        bool ok = true;
        for (size_t j = i; j < i + win && ok; j++) {
            const struct report_row *w = &m->rows[j];
            ok = row_err_share(w) <= BREAK_ERROR_SHARE && isfinite(w->rps);
            lo = w->rps < lo ? w->rps : lo;
        }
        if (ok && (!isfinite(m->held_rps) || lo > m->held_rps)) {
            m->held_rps = lo;
        }
    }
    /* A latency limit from a threshold on the whole http_req_duration/latency. */
    double lat_limit = NAN;
    int lat_q = 0;
    bool lat_corrected = false;
    for (size_t i = 0; i < m->n_thresholds; i++) {
        const struct report_check *c = &m->checks[i];
        bool dur = strcmp(c->metric, "http_req_duration") == 0;
        bool lat = strcmp(c->metric, "http_req_latency") == 0;
        if ((dur || lat) && c->op[0] == '<' && isfinite(c->limit) &&
            (strncmp(c->expression, "p(95)", 5) == 0 || strncmp(c->expression, "p(99)", 5) == 0)) {
            lat_limit = c->limit;
            lat_q = c->expression[4] == '5' && c->expression[3] == '9' ? 95 : 99;
            lat_corrected = lat;
            break;
        }
    }
    m->breaking_found = false;
    for (size_t i = 0; i < n && !m->breaking_found; i++) {
        const struct report_row *w = &m->rows[i];
        double share = row_err_share(w);
        if (share > BREAK_ERROR_SHARE && w->http_reqs >= 10) {
            m->breaking_found = true;
            snprintf(m->breaking_what, sizeof m->breaking_what, "errors passed 1%%");
        } else if (isfinite(lat_limit) && i + 3 <= n) {
            bool over = true;
            for (size_t j = i; j < i + 3 && over; j++) {
                const struct report_trend *t =
                    lat_corrected ? &m->rows[j].latency : &m->rows[j].duration;
                double v = lat_q == 95 ? t->p95 : t->p99;
                over = isfinite(v) && v > lat_limit && t->count > 0;
            }
            if (over) {
                m->breaking_found = true;
                snprintf(m->breaking_what, sizeof m->breaking_what,
                         "%s p(%d) passed %g ms for 3 s in a row",
                         lat_corrected ? "http_req_latency" : "http_req_duration", lat_q,
                         lat_limit);
            }
        }
        if (m->breaking_found) {
            m->breaking_t = w->t;
            m->breaking_rps = w->rps;
            m->breaking_vus = w->vus;
            m->breaking_err_rate = share;
        }
    }
}

static void find_saturation(struct report_model *m)
{
    double b = m->max_worker_busy;
    if (!isfinite(b) || b < 0.85) {
        return;
    }
    struct finding *f =
        add(m, b >= 0.95 ? FINDING_CRITICAL : FINDING_WARNING, "generator_saturated");
    if (f == NULL) {
        return;
    }
    snprintf(f->location, sizeof f->location, "brunt's load generator (its busiest worker thread)");
    snprintf(f->evidence, sizeof f->evidence,
             "the busiest worker thread was busy %.0f%% of the run (brunt used %.0f ms user + "
             "%.0f ms system CPU over %.1f s, %g threads on %d cores)",
             b * 100, isfinite(m->cpu_user_ms) ? m->cpu_user_ms : 0,
             isfinite(m->cpu_system_ms) ? m->cpu_system_ms : 0, m->duration_ms / 1000,
             isfinite(m->threads) ? m->threads : 0, m->cores);
    snprintf(f->recommendation, sizeof f->recommendation,
             "give brunt more threads (-t) or cores, or run it on another machine: while it is "
             "saturated, part of the latency measured is brunt's own");
}

static void find_errors(struct report_model *m)
{
    if (!(m->failed_rate > BREAK_ERROR_SHARE)) {
        return;
    }
    struct finding *f =
        add(m, m->failed_rate > 0.05 ? FINDING_CRITICAL : FINDING_WARNING, "errors");
    if (f == NULL) {
        return;
    }
    const struct report_request *worst = NULL;
    for (size_t i = 0; i < m->n_requests; i++) {
        if (worst == NULL || m->requests[i].failed > worst->failed) {
            worst = &m->requests[i];
        }
    }
    if (worst != NULL && worst->failed > 0) {
        snprintf(f->location, sizeof f->location, "%s", worst->name);
    } else {
        snprintf(f->location, sizeof f->location, "all requests");
    }
    char kinds[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < m->n_error_kinds && off < sizeof kinds; i++) {
        if (m->errors[i].count > 0) {
            int k = snprintf(kinds + off, sizeof kinds - off, "%s%s %.0f", off ? ", " : "",
                             m->errors[i].kind, m->errors[i].count);
            off += k > 0 ? (size_t)k : 0;
        }
    }
    size_t l =
        (size_t)snprintf(f->evidence, sizeof f->evidence, "%.0f of %.0f requests failed (%.2f%%)",
                         m->total_failed, m->total_requests, m->failed_rate * 100);
    if (worst != NULL && worst->failed > 0 && l < sizeof f->evidence) {
        l += (size_t)snprintf(f->evidence + l, sizeof f->evidence - l,
                              "; %llu of them in this request (of its %llu)",
                              (unsigned long long)worst->failed, (unsigned long long)worst->count);
    }
    if (kinds[0] != '\0' && l < sizeof f->evidence) {
        snprintf(f->evidence + l, sizeof f->evidence - l, "; network errors by kind: %s", kinds);
    }
    f->impact = m->failed_rate;
    snprintf(f->recommendation, sizeof f->recommendation,
             "read the target's log for the failing request; refused or reset connections point "
             "to a connection limit (listen backlog, max connections), timeouts to saturation");
}

static void find_dropped(struct report_model *m)
{
    const struct report_metric *d = report_metric(m, "dropped_iterations");
    if (d == NULL || !(d->count > 0)) {
        return;
    }
    struct finding *f = add(m, FINDING_WARNING, "dropped_iterations");
    if (f == NULL) {
        return;
    }
    snprintf(f->location, sizeof f->location, "the arrival schedule (open model)");
    snprintf(f->evidence, sizeof f->evidence,
             "%.0f iterations were dropped: no VU was free within max_queue (%.0f VUs at most)",
             d->count, isfinite(m->max_vus) ? m->max_vus : 0);
    snprintf(f->recommendation, sizeof f->recommendation,
             "the target could not keep up with the rate asked for, or --max-vus is too low; "
             "the rate the run actually held is the capacity figure");
}

static void find_queueing(struct report_model *m)
{
    const struct report_metric *lat = report_metric(m, "http_req_latency");
    const struct report_metric *dur = report_metric(m, "http_req_duration");
    if (lat == NULL || dur == NULL) {
        return;
    }
    double l = lat->trend.p99, d = dur->trend.p99;
    if (!(l > 2 * d && l - d > 5)) {
        return;
    }
    struct finding *f = add(m, FINDING_WARNING, "queueing");
    if (f == NULL) {
        return;
    }
    snprintf(f->location, sizeof f->location, "waiting for a free connection before sending");
    snprintf(f->evidence, sizeof f->evidence,
             "corrected latency p99 (http_req_latency) is %.2f ms while the server's own time "
             "p99 (http_req_duration) is %.2f ms: %.0f%% of the p99 was spent queueing",
             l, d, (l - d) / l * 100);
    f->impact = (l - d) / l;
    snprintf(f->recommendation, sizeof f->recommendation,
             "the target is slower than the arrival rate at this concurrency: more connections "
             "(VUs), or the target's throughput is the limit (see the held throughput)");
}

static void find_dominant(struct report_model *m)
{
    double total = 0;
    for (size_t i = 0; i < m->n_requests; i++) {
        total += m->requests[i].total_ms;
    }
    if (m->n_requests < 2 || !(total > 0)) {
        return;
    }
    const struct report_request *q = &m->requests[0]; /* sorted by total_ms */
    double share = q->total_ms / total;
    /* Dominant: well above an even split between the request names. */
    double even = 1.0 / (double)m->n_requests;
    if (share < 0.4 || share < 1.5 * even) {
        return;
    }
    struct finding *f = add(m, FINDING_INFO, "dominant_request");
    if (f == NULL) {
        return;
    }
    snprintf(f->location, sizeof f->location, "%s", q->name);
    snprintf(f->evidence, sizeof f->evidence,
             "%.0f%% of the time spent in requests was spent in this one: %llu requests, p95 "
             "%.2f ms, p99 %.2f ms, %.1f s in total",
             share * 100, (unsigned long long)q->count, q->p95_ms, q->p99_ms, q->total_ms / 1000);
    f->impact = share;
    snprintf(f->recommendation, sizeof f->recommendation,
             "optimise this request first; watch the target (--watch) and its database to see "
             "where its time goes");
}

static void find_tail(struct report_model *m)
{
    const struct report_metric *dur = report_metric(m, "http_req_duration");
    if (dur == NULL || !(dur->trend.med > 0) || !(dur->trend.p99 > 10 * dur->trend.med) ||
        !(dur->trend.p99 > 1)) {
        return;
    }
    struct finding *f = add(m, FINDING_INFO, "long_tail");
    if (f == NULL) {
        return;
    }
    const struct report_request *worst = NULL;
    for (size_t i = 0; i < m->n_requests; i++) {
        if (worst == NULL || m->requests[i].p99_ms > worst->p99_ms) {
            worst = &m->requests[i];
        }
    }
    snprintf(f->location, sizeof f->location, "%s", worst ? worst->name : "all requests");
    snprintf(f->evidence, sizeof f->evidence,
             "http_req_duration p99 is %.2f ms, %.0f times its median (%.2f ms)", dur->trend.p99,
             dur->trend.p99 / dur->trend.med, dur->trend.med);
    snprintf(f->recommendation, sizeof f->recommendation,
             "a long tail usually comes from pauses (GC, locks, a full pool) rather than the "
             "common path; look at the slowest seconds in the latency chart");
}

static int cmp_finding(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    if (x->severity != y->severity) {
        return x->severity < y->severity ? 1 : -1;
    }
    if (x->impact != y->impact) {
        return x->impact < y->impact ? 1 : -1;
    }
    return 0;
}

void report_analyze(struct report_model *m)
{
    const struct report_metric *reqs = report_metric(m, "http_reqs");
    const struct report_metric *failed = report_metric(m, "http_req_failed");
    m->total_requests = reqs && isfinite(reqs->count) ? reqs->count : 0;
    m->achieved_rps = reqs && isfinite(reqs->rate) ? reqs->rate : NAN;
    m->total_failed = failed && isfinite(failed->passes) ? failed->passes : 0;
    m->failed_rate = failed && isfinite(failed->rate) ? failed->rate : 0;
    m->objectives_met = true;
    for (size_t i = 0; i < m->n_checks; i++) {
        m->objectives_met = m->objectives_met && m->checks[i].ok;
    }
    held_and_breaking(m);
    find_saturation(m);
    find_errors(m);
    find_dropped(m);
    find_queueing(m);
    find_dominant(m);
    find_tail(m);
    qsort(m->findings, m->n_findings, sizeof m->findings[0], cmp_finding);
}
