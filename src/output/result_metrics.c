/*
 * result_metrics — the result's "metrics" member: each metric's aggregated values by
 * series and tags, and histogram buckets as [lowest_ns, count] pairs so a reader
 * rebuilds every histogram exactly.  Part of result.c's one pass; see result_internal.h.
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

/* ---- metrics --------------------------------------------------------------------- */

/* Canonical tags "k=v\x1fk2=v2" as a JSON object. */
void result__put_tags(struct jsonw *w, const char *tags)
{
    jsonw_obj_begin(w);
    const char *p = tags;
    while (p != NULL && *p) {
        const char *end = strchr(p, TAGS_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq != NULL) {
            jsonw_keyn(w, p, (size_t)(eq - p));
            jsonw_strn(w, eq + 1, len - (size_t)(eq - p) - 1);
        } else {
            jsonw_keyn(w, p, len);
            jsonw_str(w, "");
        }
        p = end ? end + 1 : NULL;
    }
    jsonw_obj_end(w);
}

static void put_values(struct jsonw *w, const struct series *s, double duration_s)
{
    int m = s->metric;

    jsonw_obj_begin(w);
    switch (metric_info[m].type) {
    case METRIC_COUNTER:
        jsonw_key(w, "count");
        jsonw_num(w, s->sum);
        jsonw_key(w, "rate");
        jsonw_num(w, duration_s > 0 ? s->sum / duration_s : 0);
        break;
    case METRIC_GAUGE:
        jsonw_key(w, "value");
        jsonw_num(w, s->sum);
        jsonw_key(w, "min");
        jsonw_num(w, s->gmin);
        jsonw_key(w, "max");
        jsonw_num(w, s->gmax);
        break;
    case METRIC_RATE:
        jsonw_key(w, "rate");
        jsonw_num(w, s->total ? (double)s->trues / (double)s->total : 0);
        jsonw_key(w, "passes");
        jsonw_uint(w, s->trues);
        jsonw_key(w, "fails");
        jsonw_uint(w, s->total - s->trues);
        break;
    case METRIC_TREND: {
        static const struct {
            const char *key;
            double q;
        } qs[] = {{"med", 0.5},    {"max", -1},     {"p(90)", 0.90},
                  {"p(95)", 0.95}, {"p(99)", 0.99}, {"p(99.9)", 0.999}};
        const struct hist *h = s->hist;
        jsonw_key(w, "count");
        jsonw_uint(w, hist_count(h));
        jsonw_key(w, "avg");
        jsonw_num(w, result__trend_unit(m, hist_mean_ns(h)));
        jsonw_key(w, "min");
        jsonw_num(w, result__trend_unit(m, (double)hist_min_ns(h)));
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            uint64_t v = qs[i].q < 0 ? hist_max_ns(h) : hist_quantile_ns(h, qs[i].q);
            jsonw_key(w, qs[i].key);
            jsonw_num(w, result__trend_unit(m, (double)v));
        }
        jsonw_key(w, "stddev");
        jsonw_num(w, result__trend_unit(m, hist_stddev_ns(h)));
        break;
    }
    }
    jsonw_obj_end(w);
}

/* Bucket pairs per line in a pretty document: short lines, a third of the size of one
 * pair per line. */
#define BUCKETS_PER_LINE 6

/*
 * The buckets array, serialised here and handed to the writer as one raw value so that
 * several pairs share a line (the writer puts each array element on its own line).  The
 * indentation follows the writer's: the array opens at depth w->depth (the histogram
 * object's) and its lines sit one level deeper.
 */
static int put_buckets(struct jsonw *w, const struct hist *h)
{
    struct dynbuf b;
    size_t cursor = 0, i = 0;
    uint64_t v, c;
    bool pretty = w->indent > 0;
    int inner = pretty ? (w->depth + 1) * w->indent : 0;
    int outer = pretty ? w->depth * w->indent : 0;
    int rc;

    dynbuf_init(&b, RESULT_MAX_BYTES);
    rc = dynbuf_addc(&b, '[');
    while (rc == 0 && hist_next_bucket(h, &cursor, &v, &c)) {
        if (i > 0) {
            rc = dynbuf_addc(&b, ',');
        }
        if (rc == 0 && pretty) {
            rc = i % BUCKETS_PER_LINE == 0 ? dynbuf_addf(&b, "\n%*s", inner, "")
                                           : dynbuf_addc(&b, ' ');
        }
        if (rc == 0) {
            rc = pretty ? dynbuf_addf(&b, "[%" PRIu64 ", %" PRIu64 "]", v, c)
                        : dynbuf_addf(&b, "[%" PRIu64 ",%" PRIu64 "]", v, c);
        }
        i++;
    }
    if (rc == 0 && i > 0 && pretty) {
        rc = dynbuf_addf(&b, "\n%*s", outer, "");
    }
    if (rc == 0) {
        rc = dynbuf_addc(&b, ']');
    }
    if (rc == 0) {
        jsonw_raw(w, b.data, b.len);
    }
    dynbuf_destroy(&b);
    return rc;
}

static int put_histogram(struct jsonw *w, const struct hist *h)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, "ns");
    jsonw_key(w, "count");
    jsonw_uint(w, hist_count(h));
    jsonw_key(w, "min");
    jsonw_uint(w, hist_min_ns(h));
    jsonw_key(w, "max");
    jsonw_uint(w, hist_max_ns(h));
    jsonw_key(w, "sum");
    jsonw_num(w, hist_sum_ns(h));
    jsonw_key(w, "buckets");
    int rc = put_buckets(w, h);
    jsonw_obj_end(w);
    return rc;
}

/* One metric's entry; scratch is a histogram for the aggregate of a trend.  Returns 0 or
 * a negative errno (the writer's own errors are left to jsonw_error()). */
static int put_metric(struct jsonw *w, const struct registry *reg, int m, double duration_s,
                      struct hist *scratch)
{
    struct series agg = {.hist = metric_info[m].type == METRIC_TREND ? scratch : NULL};
    registry_aggregate(reg, m, NULL, &agg);

    jsonw_key(w, metric_info[m].name);
    jsonw_obj_begin(w);
    jsonw_key(w, "type");
    jsonw_str(w, metric_type_name(metric_info[m].type));
    jsonw_key(w, "contains");
    jsonw_str(w, metric_info[m].contains == CONTAINS_TIME   ? "time"
                 : metric_info[m].contains == CONTAINS_DATA ? "data"
                                                            : "default");
    jsonw_key(w, "values");
    put_values(w, &agg, duration_s);
    int rc = 0;
    if (agg.hist != NULL) {
        jsonw_key(w, "histogram");
        rc = put_histogram(w, agg.hist);
    }
    jsonw_key(w, "series");
    jsonw_arr_begin(w);
    size_t n = registry_len(reg);
    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric != m || !result__series_has_samples(s)) {
            continue;
        }
        jsonw_obj_begin(w);
        jsonw_key(w, "tags");
        result__put_tags(w, s->tags);
        jsonw_key(w, "values");
        put_values(w, s, duration_s);
        if (s->hist != NULL && rc == 0) {
            jsonw_key(w, "histogram");
            rc = put_histogram(w, s->hist);
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return rc;
}

int result__put_metrics(struct jsonw *w, const struct run_report *r)
{
    const struct registry *reg = r->total;
    double duration_s = (double)r->duration_ns / 1e9;
    struct hist *scratch = NULL;

    int rc = 0;
    jsonw_obj_begin(w);
    for (int m = 0; reg != NULL && m < metric_count() && rc == 0; m++) {
        bool any = false;
        size_t n = registry_len(reg);
        for (size_t i = 0; i < n && !any; i++) {
            const struct series *s = registry_at_const(reg, (int)i);
            any = s->metric == m && result__series_has_samples(s);
        }
        if (!any) {
            continue;
        }
        if (metric_info[m].type == METRIC_TREND && scratch == NULL) {
            scratch = hist_new();
            if (scratch == NULL) {
                return -ENOMEM;
            }
        }
        rc = put_metric(w, reg, m, duration_s, scratch);
    }
    jsonw_obj_end(w);
    hist_free(scratch);
    return rc;
}
