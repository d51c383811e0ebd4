/*
 * result_read — the result document back into memory (see result_read.h).
 *
 * One validation pass (json_validate), then one walk: the top-level members are found
 * first (their order is the writer's business), then meta, options, metrics and the time
 * series are read in the order their dependencies need (the series table before the
 * rows that name it).  Every error names the file and the place, and what was expected.
 */
#include "analysis/result_read.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "metrics/packed.h"
#include "output/result.h"

struct rd {
    const char *label;
    char *err;
    size_t err_len;
    struct result_doc *d;
    size_t n_records;
};

static int rd_fail(struct rd *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int rd_fail(struct rd *r, int code, const char *fmt, ...)
{
    if (r->err_len > 0) {
        int n = snprintf(r->err, r->err_len, "%s: ", r->label);
        if (n >= 0 && (size_t)n < r->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
        /* one line: what the document's strings held (a decoded "\n") is shown as '?' */
        for (char *c = r->err; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                *c = '?';
            }
        }
    }
    return code;
}

static bool span_num(const struct json_span *v, double *out)
{
    return v->type == JSON_NUMBER && json_span_number(v, out) == 0 && isfinite(*out);
}

/* A non-negative integer that fits in uint64_t (as written by jsonw_uint / %.0f). */
static bool span_u64(const struct json_span *v, uint64_t *out)
{
    double d;
    if (!span_num(v, &d) || d < 0 || d != floor(d) || d >= 18446744073709551616.0) {
        return false;
    }
    *out = (uint64_t)d;
    return true;
}

/* A string member's text into out (cap), or "" for null.  False when too long or not a
 * string. */
static bool span_str(const struct json_span *v, char *out, size_t cap)
{
    if (v->type == JSON_NULL) {
        out[0] = '\0';
        return true;
    }
    if (v->type != JSON_STRING) {
        return false;
    }
    int n = json_span_text(v, out, cap);
    return n >= 0 && memchr(out, '\0', (size_t)n) == NULL;
}

/* Compact JSON text of a value (whitespace outside strings dropped) into out. */
static bool span_compact(const struct json_span *v, char *out, size_t cap)
{
    size_t o = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->start[i];
        if (!in_str && (c == ' ' || c == '\n' || c == '\t' || c == '\r')) {
            continue;
        }
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        }
        if (o + 1 >= cap) {
            return false;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* ---- meta and options ------------------------------------------------------------ */

static int read_meta(struct rd *r, const struct json_span *meta)
{
    struct json_span k, v;
    size_t pos = 0;
    int rc;
    if (meta->type != JSON_OBJECT) {
        return rd_fail(r, RR_EFORMAT, "meta is not an object");
    }
    while ((rc = json_iter_next(meta, &pos, &k, &v)) == 1) {
        double x;
        if (json_span_is(&k, "version")) {
            if (!span_str(&v, r->d->version, sizeof r->d->version)) {
                return rd_fail(r, RR_EFORMAT, "meta.version: expected a short string");
            }
        } else if (json_span_is(&k, "start")) {
            if (!span_str(&v, r->d->start, sizeof r->d->start)) {
                return rd_fail(r, RR_EFORMAT, "meta.start: expected an RFC 3339 time");
            }
        } else if (json_span_is(&k, "duration_ms")) {
            if (!span_num(&v, &r->d->duration_ms) || r->d->duration_ms < 0) {
                return rd_fail(r, RR_EFORMAT, "meta.duration_ms: expected a number >= 0");
            }
        } else if (json_span_is(&k, "name")) {
            if (!span_str(&v, r->d->name, sizeof r->d->name)) {
                return rd_fail(r, RR_EFORMAT, "meta.name: expected a string");
            }
        } else if (json_span_is(&k, "scenario_digest")) {
            if (!span_str(&v, r->d->digest, sizeof r->d->digest)) {
                return rd_fail(r, RR_EFORMAT, "meta.scenario_digest: expected a string");
            }
        } else if (json_span_is(&k, "command") && v.type == JSON_ARRAY) {
            struct json_span a;
            size_t ap = 0;
            char arg[RR_MAX_TEXT];
            while (json_iter_next(&v, &ap, NULL, &a) == 1) {
                size_t n;
                if (!span_str(&a, arg, sizeof arg) || (n = strlen(arg)) < 5) {
                    continue;
                }
                size_t ext = strcmp(arg + n - 5, ".yaml") == 0  ? 5
                             : strcmp(arg + n - 4, ".yml") == 0 ? 4
                                                                : 0;
                if (ext > 0) {
                    const char *base = strrchr(arg, '/');
                    base = base ? base + 1 : arg;
                    snprintf(r->d->file, sizeof r->d->file, "%.*s", (int)(strlen(base) - ext),
                             base);
                }
            }
        } else if (json_span_is(&k, "exit_code") && span_num(&v, &x)) {
            r->d->exit_code = (int)x;
        }
    }
    return rc < 0 ? rd_fail(r, RR_EFORMAT, "meta: malformed") : 0;
}

static double opt_num(const struct json_span *v)
{
    double x;
    return span_num(v, &x) ? x : NAN;
}

static int read_options(struct rd *r, const struct json_span *o)
{
    struct rr_load *l = &r->d->load;
    struct json_span k, v;
    size_t pos = 0;
    int rc;
    l->rate = l->connections = l->max_vus = l->pipeline = l->requests = l->duration_ms = NAN;
    if (o->type == JSON_NULL) {
        return 0;
    }
    if (o->type != JSON_OBJECT) {
        return rd_fail(r, RR_EFORMAT, "options is not an object");
    }
    while ((rc = json_iter_next(o, &pos, &k, &v)) == 1) {
        bool ok = true;
        if (json_span_is(&k, "model")) {
            ok = span_str(&v, l->model, sizeof l->model);
        } else if (json_span_is(&k, "executor")) {
            ok = span_str(&v, l->executor, sizeof l->executor);
        } else if (json_span_is(&k, "method")) {
            ok = span_str(&v, l->method, sizeof l->method);
        } else if (json_span_is(&k, "url")) {
            char url[RR_MAX_TEXT];
            ok = span_str(&v, url, sizeof url);
            const char *p = strstr(url, "://");
            p = p != NULL ? strchr(p + 3, '/') : NULL;
            snprintf(l->path, sizeof l->path, "%s", p != NULL ? p : "");
        } else if (json_span_is(&k, "rate")) {
            l->rate = opt_num(&v);
        } else if (json_span_is(&k, "connections")) {
            l->connections = opt_num(&v);
        } else if (json_span_is(&k, "max_vus")) {
            l->max_vus = opt_num(&v);
        } else if (json_span_is(&k, "pipeline")) {
            l->pipeline = opt_num(&v);
        } else if (json_span_is(&k, "requests")) {
            l->requests = opt_num(&v);
        } else if (json_span_is(&k, "duration_ms")) {
            l->duration_ms = opt_num(&v);
        } else if (json_span_is(&k, "stages")) {
            ok = span_compact(&v, l->stages, sizeof l->stages);
        } else if (json_span_is(&k, "scenarios") && v.type == JSON_ARRAY) {
            struct json_span sc, sk, sv;
            size_t sp = 0;
            while (ok && json_iter_next(&v, &sp, NULL, &sc) == 1) {
                size_t mp = 0;
                while (ok && sc.type == JSON_OBJECT && json_iter_next(&sc, &mp, &sk, &sv) == 1) {
                    char name[128];
                    if (json_span_is(&sk, "name") && span_str(&sv, name, sizeof name)) {
                        size_t len = strlen(l->scenarios);
                        ok = len + strlen(name) + 2 < sizeof l->scenarios;
                        if (ok) {
                            snprintf(l->scenarios + len, sizeof l->scenarios - len, "%s%s",
                                     len ? "," : "", name);
                        }
                    }
                }
            }
        }
        if (!ok) {
            char key[64];
            (void)span_str(&k, key, sizeof key);
            return rd_fail(r, RR_EFORMAT, "options.%s: expected a short string", key);
        }
    }
    return rc < 0 ? rd_fail(r, RR_EFORMAT, "options: malformed") : 0;
}

/* ---- metrics: headline values of the metrics not built in ------------------------ */

static int type_of(const char *name, enum metric_type *t)
{
    static const char *const names[] = {"counter", "gauge", "rate", "trend"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *t = (enum metric_type)i;
            return 0;
        }
    }
    return -1;
}

static int read_metrics(struct rd *r, const struct json_span *m)
{
    struct json_span k, v;
    size_t pos = 0;
    int rc;
    if (m->type != JSON_OBJECT) {
        return rd_fail(r, RR_EFORMAT, "metrics is not an object");
    }
    while ((rc = json_iter_next(m, &pos, &k, &v)) == 1) {
        char name[METRIC_NAME_MAX + 1], tname[16] = "";
        if (!span_str(&k, name, sizeof name) || v.type != JSON_OBJECT) {
            return rd_fail(r, RR_EFORMAT, "metrics: expected objects keyed by metric names");
        }
        int id = metric_lookup(name, strlen(name));
        if ((id >= 0 && id < M_COUNT) || r->d->n_extras >= RR_MAX_EXTRAS) {
            continue; /* built-ins are compared from the seconds */
        }
        struct rr_extra e = {.value = NAN, .p95 = NAN};
        struct json_span mk, mv, values = {.type = JSON_NULL};
        size_t mp = 0;
        while (json_iter_next(&v, &mp, &mk, &mv) == 1) {
            if (json_span_is(&mk, "type")) {
                (void)span_str(&mv, tname, sizeof tname);
            } else if (json_span_is(&mk, "values")) {
                values = mv;
            }
        }
        if (type_of(tname, &e.type) < 0 || values.type != JSON_OBJECT) {
            return rd_fail(r, RR_EFORMAT, "metrics.%s: expected a type and values", name);
        }
        const char *want = e.type == METRIC_GAUGE   ? "value"
                           : e.type == METRIC_TREND ? "avg"
                                                    : "rate";
        mp = 0;
        while (json_iter_next(&values, &mp, &mk, &mv) == 1) {
            if (json_span_is(&mk, want)) {
                e.value = opt_num(&mv);
            } else if (e.type == METRIC_TREND && json_span_is(&mk, "p(95)")) {
                e.p95 = opt_num(&mv);
            }
        }
        e.metric = strdup(name);
        if (e.metric == NULL) {
            return rd_fail(r, RR_ENOMEM, "out of memory");
        }
        r->d->extras[r->d->n_extras++] = e;
    }
    return rc < 0 ? rd_fail(r, RR_EFORMAT, "metrics: malformed") : 0;
}

/* ---- the time series ------------------------------------------------------------- */

static int read_tags(const struct json_span *tags, char *out, size_t cap, char *name,
                     size_t name_cap, bool *has_name)
{
    struct json_span k, v;
    size_t pos = 0, o = 0;
    int rc;
    *has_name = false;
    out[0] = '\0';
    if (tags->type != JSON_OBJECT) {
        return -1;
    }
    while ((rc = json_iter_next(tags, &pos, &k, &v)) == 1) {
        char key[128], val[RR_MAX_TEXT];
        if (!span_str(&k, key, sizeof key) || !span_str(&v, val, sizeof val)) {
            return -1;
        }
        int n = snprintf(out + o, cap - o, "%s%s=%s", o ? "\x1f" : "", key, val);
        if (n < 0 || (size_t)n >= cap - o) {
            return -1;
        }
        o += (size_t)n;
        if (strcmp(key, "name") == 0) {
            snprintf(name, name_cap, "%s", val);
            *has_name = true;
        }
    }
    return rc < 0 ? -1 : 0;
}

static int read_series_table(struct rd *r, const struct json_span *t)
{
    struct json_span e;
    size_t pos = 0, n = 0;
    int rc;
    if (t->type != JSON_ARRAY) {
        return rd_fail(r, RR_ENOHIST, "timeseries.series: expected the table of series");
    }
    while ((rc = json_iter_next(t, &pos, NULL, &e)) == 1) {
        n++;
    }
    if (rc < 0 || n > RR_MAX_SERIES) {
        return rd_fail(r, RR_EFORMAT, "timeseries.series: malformed or more than %d series",
                       RR_MAX_SERIES);
    }
    r->d->series = calloc(n ? n : 1, sizeof *r->d->series);
    if (r->d->series == NULL) {
        return rd_fail(r, RR_ENOMEM, "out of memory");
    }
    pos = 0;
    while (json_iter_next(t, &pos, NULL, &e) == 1) {
        struct rr_series *s = &r->d->series[r->d->n_series++];
        struct json_span k, v;
        size_t mp = 0;
        char metric[METRIC_NAME_MAX + 1] = "", tname[16] = "", tags[RR_MAX_TEXT] = "";
        char name[RR_MAX_TEXT];
        bool has_name = false, tags_ok = false;
        s->metric_id = -1;
        while (e.type == JSON_OBJECT && json_iter_next(&e, &mp, &k, &v) == 1) {
            if (json_span_is(&k, "metric")) {
                (void)span_str(&v, metric, sizeof metric);
            } else if (json_span_is(&k, "type")) {
                (void)span_str(&v, tname, sizeof tname);
            } else if (json_span_is(&k, "tags")) {
                tags_ok = read_tags(&v, tags, sizeof tags, name, sizeof name, &has_name) == 0;
            }
        }
        if (metric[0] == '\0' || type_of(tname, &s->type) < 0 || !tags_ok) {
            return rd_fail(r, RR_EFORMAT,
                           "timeseries.series[%zu]: expected {\"metric\", \"type\", \"tags\"}",
                           r->d->n_series - 1);
        }
        s->metric = strdup(metric);
        s->tags = strdup(tags);
        s->name = has_name ? strdup(name) : NULL;
        if (s->metric == NULL || s->tags == NULL || (has_name && s->name == NULL)) {
            return rd_fail(r, RR_ENOMEM, "out of memory");
        }
        s->metric_id = metric_lookup(metric, strlen(metric));
    }
    return 0;
}

static int read_buckets(struct rd *r, const struct json_span *b, struct rr_rec *rec, size_t row)
{
    struct json_span e;
    size_t pos = 0, n = 0;
    int rc;
    if (b->type != JSON_ARRAY) {
        return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu]: a trend record's b is not an array",
                       row);
    }
    while ((rc = json_iter_next(b, &pos, NULL, &e)) == 1) {
        n++;
    }
    if (rc < 0 || n % 2 != 0 || n / 2 > PACKED_HIST_LEN) {
        return rd_fail(r, RR_EFORMAT,
                       "timeseries.rows[%zu]: b must hold (delta, count) pairs of at most %u "
                       "buckets",
                       row, PACKED_HIST_LEN);
    }
    rec->n_buckets = (uint32_t)(n / 2);
    rec->b = calloc(n / 2 ? n / 2 : 1, sizeof *rec->b);
    if (rec->b == NULL) {
        return rd_fail(r, RR_ENOMEM, "out of memory");
    }
    pos = 0;
    uint64_t index = 0, total = 0;
    for (size_t i = 0; i < n / 2; i++) {
        struct json_span dv, cv;
        uint64_t d, c;
        (void)json_iter_next(b, &pos, NULL, &dv);
        (void)json_iter_next(b, &pos, NULL, &cv);
        if (!span_u64(&dv, &d) || !span_u64(&cv, &c) || (i > 0 && d == 0) || c == 0 ||
            c > UINT32_MAX || d >= PACKED_HIST_LEN || index + d >= PACKED_HIST_LEN) {
            return rd_fail(r, RR_EFORMAT,
                           "timeseries.rows[%zu]: bucket %zu: expected an ascending index below "
                           "%u and a count of 1 to 2^32-1",
                           row, i, PACKED_HIST_LEN);
        }
        index += d;
        total += c;
        rec->b[i] = (struct rr_bucket){(uint32_t)index, (uint32_t)c};
    }
    if (total != rec->n) {
        return rd_fail(r, RR_EFORMAT,
                       "timeseries.rows[%zu]: bucket counts add up to %llu, not n = %llu", row,
                       (unsigned long long)total, (unsigned long long)rec->n);
    }
    return 0;
}

static int read_record(struct rd *r, const struct json_span *e, struct rr_rec *rec, size_t row)
{
    struct json_span k, v, b = {.type = JSON_NULL};
    size_t pos = 0;
    uint64_t idx = UINT64_MAX;
    bool have_n = false;
    if (e->type != JSON_OBJECT) {
        return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu].series: expected objects", row);
    }
    while (json_iter_next(e, &pos, &k, &v) == 1) {
        bool ok = true;
        if (json_span_is(&k, "i")) {
            ok = span_u64(&v, &idx);
        } else if (json_span_is(&k, "n")) {
            ok = have_n = span_u64(&v, &rec->n);
        } else if (json_span_is(&k, "sum")) {
            double x;
            ok = span_num(&v, &x);
            rec->sum = rec->sum_ns = x;
        } else if (json_span_is(&k, "value")) {
            ok = span_num(&v, &rec->sum);
        } else if (json_span_is(&k, "lo")) {
            ok = span_num(&v, &rec->lo);
        } else if (json_span_is(&k, "hi")) {
            ok = span_num(&v, &rec->hi);
        } else if (json_span_is(&k, "trues")) {
            ok = span_u64(&v, &rec->trues);
        } else if (json_span_is(&k, "min")) {
            ok = span_u64(&v, &rec->min_ns);
        } else if (json_span_is(&k, "max")) {
            ok = span_u64(&v, &rec->max_ns);
        } else if (json_span_is(&k, "b")) {
            b = v;
        }
        if (!ok) {
            return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu].series: a record has a bad value",
                           row);
        }
    }
    if (idx >= r->d->n_series || !have_n) {
        return rd_fail(r, RR_EFORMAT,
                       "timeseries.rows[%zu].series: a record needs i (below %zu) and n", row,
                       r->d->n_series);
    }
    rec->series = (uint32_t)idx;
    const struct rr_series *s = &r->d->series[idx];
    if (s->type == METRIC_RATE && rec->trues > rec->n) {
        return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu]: a rate with trues > n", row);
    }
    if (s->type == METRIC_TREND) {
        if (b.type == JSON_NULL) {
            return rd_fail(r, RR_ENOHIST, "timeseries.rows[%zu]: a trend record without buckets",
                           row);
        }
        return read_buckets(r, &b, rec, row);
    }
    return 0;
}

static int read_rows(struct rd *r, const struct json_span *rows)
{
    struct json_span e;
    size_t pos = 0, n = 0;
    int rc;
    if (rows->type != JSON_ARRAY) {
        return rd_fail(r, RR_EFORMAT, "timeseries.rows: expected an array");
    }
    while ((rc = json_iter_next(rows, &pos, NULL, &e)) == 1) {
        n++;
    }
    if (rc < 0 || n > RR_MAX_ROWS) {
        return rd_fail(r, RR_EFORMAT, "timeseries.rows: malformed or more than %u rows",
                       RR_MAX_ROWS);
    }
    r->d->rows = calloc(n ? n : 1, sizeof *r->d->rows);
    if (r->d->rows == NULL) {
        return rd_fail(r, RR_ENOMEM, "out of memory");
    }
    pos = 0;
    while (json_iter_next(rows, &pos, NULL, &e) == 1) {
        size_t ri = r->d->n_rows;
        struct rr_row *row = &r->d->rows[r->d->n_rows++];
        struct json_span k, v, recs = {.type = JSON_NULL};
        size_t mp = 0;
        bool have_t = false;
        while (e.type == JSON_OBJECT && json_iter_next(&e, &mp, &k, &v) == 1) {
            uint64_t t;
            if (json_span_is(&k, "t") && span_u64(&v, &t) && t <= UINT32_MAX) {
                row->t = (uint32_t)t;
                have_t = true;
            } else if (json_span_is(&k, "series")) {
                recs = v;
            }
        }
        if (!have_t) {
            return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu]: expected an object with t", ri);
        }
        if (recs.type != JSON_ARRAY) {
            return rd_fail(r, RR_ENOHIST,
                           "timeseries.rows[%zu] has no per-second histograms (\"series\"): "
                           "written by an older brunt; run the test again with this version",
                           ri);
        }
        size_t rp = 0, nr = 0;
        while (json_iter_next(&recs, &rp, NULL, &e) == 1) {
            nr++;
        }
        r->n_records += nr;
        if (nr > r->d->n_series || r->n_records > RR_MAX_RECORDS) {
            return rd_fail(r, RR_EFORMAT, "timeseries.rows[%zu]: too many records", ri);
        }
        row->recs = calloc(nr ? nr : 1, sizeof *row->recs);
        if (row->recs == NULL) {
            return rd_fail(r, RR_ENOMEM, "out of memory");
        }
        rp = 0;
        while (json_iter_next(&recs, &rp, NULL, &e) == 1) {
            rc = read_record(r, &e, &row->recs[row->n_recs++], ri);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return 0;
}

static int read_timeseries(struct rd *r, const struct json_span *ts)
{
    struct json_span k, v, hist = {.type = JSON_NULL}, table = {.type = JSON_NULL},
                           rows = {.type = JSON_NULL};
    size_t pos = 0;
    if (ts->type != JSON_OBJECT) {
        return rd_fail(r, RR_EFORMAT, "timeseries is not an object");
    }
    while (json_iter_next(ts, &pos, &k, &v) == 1) {
        if (json_span_is(&k, "histogram")) {
            hist = v;
        } else if (json_span_is(&k, "series")) {
            table = v;
        } else if (json_span_is(&k, "rows")) {
            rows = v;
        }
    }
    if (hist.type != JSON_OBJECT || table.type != JSON_ARRAY) {
        return rd_fail(r, RR_ENOHIST,
                       "no per-second histograms (timeseries.histogram and .series): written "
                       "by an older brunt; run the test again with this version");
    }
    double bits = NAN;
    char unit[16] = "";
    pos = 0;
    while (json_iter_next(&hist, &pos, &k, &v) == 1) {
        if (json_span_is(&k, "sub_bucket_bits")) {
            bits = opt_num(&v);
        } else if (json_span_is(&k, "unit")) {
            (void)span_str(&v, unit, sizeof unit);
        }
    }
    if (bits != PACKED_SUB_BITS || strcmp(unit, "ns") != 0) {
        return rd_fail(r, RR_EVERSION,
                       "per-second histograms with %g sub-bucket bits in '%s': this brunt reads "
                       "%d bits in ns",
                       bits, unit, PACKED_SUB_BITS);
    }
    int rc = read_series_table(r, &table);
    return rc < 0 ? rc : read_rows(r, &rows);
}

int result_read_mem(const char *doc, size_t len, const char *label, struct result_doc **out,
                    char *err, size_t err_len)
{
    struct rd r = {.label = label ? label : "result", .err = err, .err_len = err_len};
    struct json_span root = {.type = JSON_OBJECT, .start = doc, .len = len};
    struct json_span k, v, schema = {.type = JSON_NULL}, meta = {.type = JSON_NULL},
                           options = {.type = JSON_NULL}, metrics = {.type = JSON_NULL},
                           ts = {.type = JSON_NULL};
    size_t off = 0, pos = 0;
    int rc;

    *out = NULL;
    if (err_len > 0) {
        err[0] = '\0';
    }
    r.d = calloc(1, sizeof *r.d);
    if (r.d == NULL) {
        return rd_fail(&r, RR_ENOMEM, "out of memory");
    }
    r.d->extras = calloc(RR_MAX_EXTRAS, sizeof *r.d->extras);
    if (r.d->extras == NULL) {
        rc = rd_fail(&r, RR_ENOMEM, "out of memory");
        goto fail;
    }
    if (json_validate(doc, len, &off) < 0) {
        rc = rd_fail(&r, RR_EFORMAT, "not a brunt result: malformed JSON at byte %zu", off);
        goto fail;
    }
    /* the document is valid: skip leading whitespace to the root value */
    while (root.len > 0 && (*root.start == ' ' || *root.start == '\n' || *root.start == '\t' ||
                            *root.start == '\r')) {
        root.start++;
        root.len--;
    }
    while (root.len > 0 && (root.start[root.len - 1] == ' ' || root.start[root.len - 1] == '\n' ||
                            root.start[root.len - 1] == '\t' || root.start[root.len - 1] == '\r')) {
        root.len--;
    }
    if (root.len < 2 || root.start[0] != '{') {
        rc = rd_fail(&r, RR_EFORMAT, "not a brunt result: expected a JSON object");
        goto fail;
    }
    while ((rc = json_iter_next(&root, &pos, &k, &v)) == 1) {
        if (json_span_is(&k, "schema")) {
            schema = v;
        } else if (json_span_is(&k, "meta")) {
            meta = v;
        } else if (json_span_is(&k, "options")) {
            options = v;
        } else if (json_span_is(&k, "metrics")) {
            metrics = v;
        } else if (json_span_is(&k, "timeseries")) {
            ts = v;
        }
    }
    char sch[64];
    if (schema.type != JSON_STRING || !span_str(&schema, sch, sizeof sch)) {
        rc = rd_fail(&r, RR_EFORMAT, "not a brunt result: no \"schema\": \"%s\"", RESULT_SCHEMA);
        goto fail;
    }
    if (strcmp(sch, RESULT_SCHEMA) != 0) {
        rc = strncmp(sch, "brunt-result/", 13) == 0
                 ? rd_fail(&r, RR_EVERSION, "schema %s: this brunt reads %s", sch, RESULT_SCHEMA)
                 : rd_fail(&r, RR_EFORMAT, "not a brunt result: schema '%s', expected %s", sch,
                           RESULT_SCHEMA);
        goto fail;
    }
    if (meta.type != JSON_OBJECT || metrics.type != JSON_OBJECT || ts.type != JSON_OBJECT) {
        rc = rd_fail(&r, RR_EFORMAT, "expected meta, metrics and timeseries objects");
        goto fail;
    }
    if ((rc = read_meta(&r, &meta)) < 0 || (rc = read_options(&r, &options)) < 0 ||
        (rc = read_metrics(&r, &metrics)) < 0 || (rc = read_timeseries(&r, &ts)) < 0) {
        goto fail;
    }
    *out = r.d;
    return 0;

fail:
    result_doc_free(r.d);
    return rc < 0 ? rc : RR_EFORMAT;
}

int result_slurp(const char *path, size_t max, char **data, size_t *len, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t have = 0;
    int rc = RR_EIO;

    *data = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return RR_EIO;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        snprintf(err, err_len, "%s: larger than %zu MiB", path, max >> 20);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        rc = RR_ENOMEM;
        goto out;
    }
    while (have < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(err, err_len, "%s: read error: %s", path, n < 0 ? strerror(errno) : "short");
            goto out;
        }
        have += (size_t)n;
    }
    buf[have] = '\0';
    *data = buf;
    *len = have;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int result_read_file(const char *path, struct result_doc **out, char *err, size_t err_len)
{
    char *data;
    size_t len;
    *out = NULL;
    int rc = result_slurp(path, RESULT_MAX_BYTES, &data, &len, err, err_len);
    if (rc < 0) {
        return rc;
    }
    rc = result_read_mem(data, len, path, out, err, err_len);
    free(data);
    return rc;
}

void result_doc_free(struct result_doc *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_series; i++) {
        free(d->series[i].metric);
        free(d->series[i].tags);
        free(d->series[i].name);
    }
    free(d->series);
    for (size_t i = 0; i < d->n_rows; i++) {
        for (size_t j = 0; j < d->rows[i].n_recs; j++) {
            free(d->rows[i].recs[j].b);
        }
        free(d->rows[i].recs);
    }
    free(d->rows);
    for (size_t i = 0; i < d->n_extras; i++) {
        free(d->extras[i].metric);
    }
    free(d->extras);
    free(d);
}
