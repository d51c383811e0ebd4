/*
 * result_series — the result's "timeseries" member: one row per second (counts, trend
 * summaries, the watch's figures, the packed per-second histograms of each series).
 * Part of result.c's one pass; see result_internal.h.
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
        rc = rc ? rc : dynbuf_adds(b, ",\"value\":");
        rc = rc ? rc : add_num(b, rec->sum);
        rc = rc ? rc : dynbuf_adds(b, ",\"lo\":");
        rc = rc ? rc : add_num(b, rec->gmin);
        rc = rc ? rc : dynbuf_adds(b, ",\"hi\":");
        rc = rc ? rc : add_num(b, rec->gmax);
        rc = rc ? rc : dynbuf_addf(b, ",\"n\":%" PRIu64 "}", rec->total);
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
        result__put_tags(w, s->tags);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

int result__put_timeseries(struct jsonw *w, const struct run_report *r)
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
        /* A row's rate is each worker's requests over the time its shard covered
         * (ts_row.rate), so a late hand-over never shows as a burst; without it, a row
         * covers one second, except a last partial one (the run's tail). */
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
        result__put_time(w, row->wall_ns);
        jsonw_key(w, "vus");
        jsonw_uint(w, row->vus);
        jsonw_key(w, "vus_max");
        jsonw_uint(w, row->vus_max);
        jsonw_key(w, "http_reqs");
        jsonw_uint(w, row->http_reqs);
        jsonw_key(w, "rps");
        jsonw_num(w, row->rate_known ? row->rate : (double)row->http_reqs / span_s);
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
