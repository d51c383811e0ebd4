/*
 * result — serialises a struct run_report into the "brunt-result/1" document
 * (docs/result-format.md) and writes it atomically.
 *
 * The document is built in one pass over the report with the capped JSON writer; its
 * sticky error is checked once at the end.  Metric values are aggregated here with
 * registry_aggregate() (exact: histograms merge exactly), so the numbers in the file are
 * the same ones the summary prints.  Histogram buckets go out as [lowest_ns, count]
 * pairs, one pair per line, so a reader rebuilds each histogram exactly with
 * hist_record_n() + hist_set_exact().
 */
#include "output/result.h"
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
#include "http/url.h"
#include "metrics/criteria.h"
#include "metrics/hist.h"
#include "metrics/packed.h"
#include "metrics/registry.h"
#include "probe/probe.h"
#include "probe/proc.h"

#include "core/version.h"

/* Every result lists each error kind (error_kind_name in metrics/registry.h;
 * docs/result-format.md), 0 when none happened. */
/* Kinds beyond the known ones that get their own key; later ones count as "other". */
#define MAX_EXTRA_KINDS 32

/* ---- small formatters ------------------------------------------------------------ */

/* "2026-11-22T17:06:59.123Z" into out (at least 25 bytes).  Returns 0 or -1. */
static int format_rfc3339_ms(uint64_t wall_ns, char *out, size_t cap)
{
    time_t sec = (time_t)(wall_ns / NS_PER_S);
    unsigned ms = (unsigned)((wall_ns % NS_PER_S) / NS_PER_MS);
    struct tm tm;

    if (gmtime_r(&sec, &tm) == NULL) {
        return -1;
    }
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0) {
        return -1;
    }
    int m = snprintf(out + n, cap - n, ".%03uZ", ms);
    return m < 0 || (size_t)m >= cap - n ? -1 : 0;
}

void result__put_time(struct jsonw *w, uint64_t wall_ns)
{
    char buf[64];
    if (wall_ns == 0 || format_rfc3339_ms(wall_ns, buf, sizeof buf) < 0) {
        jsonw_null(w);
    } else {
        jsonw_str(w, buf);
    }
}

double result__ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* A trend value (ns in the histogram) in the unit users read: ms for time trends, and
 * the plain number for a custom trend, which keeps v as v * 1e6 (scenario/custom.h). */
double result__trend_unit(int metric, double ns)
{
    (void)metric;
    return ns / 1e6;
}

bool result__series_has_samples(const struct series *s)
{
    if (metric_info[s->metric].type == METRIC_TREND) {
        return s->hist != NULL && hist_count(s->hist) > 0;
    }
    /* A counter the engine registered is part of the result even at zero
     * (dropped_iterations: 0 is an answer, not a missing value). */
    return metric_info[s->metric].type == METRIC_COUNTER || s->total > 0;
}

/* ---- thresholds, time series, errors --------------------------------------------- */

static void put_thresholds(struct jsonw *w, const struct run_report *r)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct threshold *t = &r->thresholds[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, t->metric_expr);
        jsonw_key(w, "expression");
        jsonw_str(w, t->source);
        jsonw_key(w, "ok");
        jsonw_bool(w, t->evaluated && !t->failed);
        jsonw_key(w, "evaluated");
        jsonw_bool(w, t->evaluated);
        jsonw_key(w, "no_samples");
        jsonw_bool(w, t->evaluated && t->no_samples);
        jsonw_key(w, "observed");
        if (t->evaluated) {
            jsonw_num(w, t->observed);
        } else {
            jsonw_null(w);
        }
        jsonw_key(w, "abort_on_fail");
        jsonw_bool(w, t->abort_on_fail);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

struct kind_count {
    const char *kind; /* points into a series' tags */
    size_t len;
    double count;
};

static void put_errors(struct jsonw *w, const struct run_report *r)
{
    double known[ERROR_KIND_COUNT] = {0};
    struct kind_count extra[MAX_EXTRA_KINDS];
    size_t n_extra = 0;
    size_t n = r->total ? registry_len(r->total) : 0;

    for (size_t i = 0; i < n; i++) {
        const struct series *s = registry_at_const(r->total, (int)i);
        if (s->metric != M_ERRORS || s->sum == 0) {
            continue;
        }
        size_t len = 0;
        const char *k = tags_get(s->tags, "kind", &len);
        size_t j;
        if (k == NULL) {
            known[ERROR_KIND_OTHER] += s->sum;
            continue;
        }
        for (j = 0; j < ERROR_KIND_COUNT; j++) {
            if (strlen(error_kind_name[j]) == len && memcmp(error_kind_name[j], k, len) == 0) {
                known[j] += s->sum;
                break;
            }
        }
        if (j < ERROR_KIND_COUNT) {
            continue;
        }
        for (j = 0; j < n_extra; j++) {
            if (extra[j].len == len && memcmp(extra[j].kind, k, len) == 0) {
                extra[j].count += s->sum;
                break;
            }
        }
        if (j < n_extra) {
            continue;
        }
        if (n_extra < MAX_EXTRA_KINDS) {
            extra[n_extra++] = (struct kind_count){k, len, s->sum};
        } else {
            known[ERROR_KIND_OTHER] += s->sum;
        }
    }
    jsonw_obj_begin(w);
    for (size_t j = 0; j < ERROR_KIND_COUNT; j++) {
        bool when_seen = j == ERROR_KIND_NOFILE || j == ERROR_KIND_WS_HANDSHAKE ||
                         j == ERROR_KIND_WS_PROTOCOL || j == ERROR_KIND_WS_CLOSED;
        if (!when_seen) {
            jsonw_key(w, error_kind_name[j]);
            jsonw_num(w, known[j]);
        }
    }
    if (known[ERROR_KIND_NOFILE] > 0) { /* listed after the others, only when it happened */
        jsonw_key(w, error_kind_name[ERROR_KIND_NOFILE]);
        jsonw_num(w, known[ERROR_KIND_NOFILE]);
    }
    for (size_t j = ERROR_KIND_WS_HANDSHAKE; j <= ERROR_KIND_WS_CLOSED; j++) {
        if (known[j] > 0) { /* WebSocket kinds: after nofile, only when they happened */
            jsonw_key(w, error_kind_name[j]);
            jsonw_num(w, known[j]);
        }
    }
    for (size_t j = 0; j < n_extra; j++) {
        jsonw_keyn(w, extra[j].kind, extra[j].len);
        jsonw_num(w, extra[j].count);
    }
    jsonw_obj_end(w);
}

static void put_verdict(struct jsonw *w, const struct fit_verdict *v)
{
    if (v == NULL) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "verdict");
    jsonw_str(w, fit_trend_name(v->trend));
    jsonw_key(w, "slope_per_hour");
    jsonw_num(w, v->per_hour);
    jsonw_key(w, "r2");
    jsonw_num(w, v->line.r2);
    jsonw_key(w, "mann_kendall_z");
    jsonw_num(w, v->line.mk_z);
    jsonw_key(w, "samples");
    jsonw_uint(w, v->line.n);
    jsonw_key(w, "window_s");
    jsonw_num(w, v->t1 - v->t0);
    jsonw_key(w, "min_window_s");
    jsonw_num(w, v->min_window_s);
    jsonw_key(w, "evidence");
    jsonw_str(w, v->evidence);
    jsonw_obj_end(w);
}

static void put_criteria(struct jsonw *w, const struct run_report *r)
{
    if (r->n_criteria == 0 || r->criteria == NULL) {
        jsonw_null(w); /* none asked for (the report tells that apart from an empty table) */
        return;
    }
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_criteria && r->criteria != NULL; i++) {
        const struct criterion *c = &r->criteria[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "metric");
        jsonw_str(w, c->metric);
        jsonw_key(w, "target");
        jsonw_str(w, c->target_src);
        jsonw_key(w, "acceptable");
        jsonw_str(w, c->acceptable_src);
        jsonw_key(w, "current");
        if (isnan(c->current) || isinf(c->current)) {
            jsonw_null(w);
        } else {
            jsonw_num(w, c->current);
        }
        jsonw_key(w, "status");
        jsonw_str(w, criterion_status_name(c->status));
        jsonw_key(w, "no_samples");
        jsonw_bool(w, c->no_samples);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

int result_to_json(const struct run_report *r, struct jsonw *w)
{
    return result_to_json_info(r, NULL, w);
}

int result_to_json_info(const struct run_report *r, const struct run_info *info, struct jsonw *w)
{
    int rc;

    jsonw_obj_begin(w);
    jsonw_key(w, "schema");
    jsonw_str(w, RESULT_SCHEMA);
    jsonw_key(w, "meta");
    result__put_meta(w, r, info);
    jsonw_key(w, "options");
    result__put_options(w, r->plan);
    jsonw_key(w, "metrics");
    rc = result__put_metrics(w, r);
    if (rc < 0) {
        return rc;
    }
    jsonw_key(w, "thresholds");
    put_thresholds(w, r);
    jsonw_key(w, "timeseries");
    rc = result__put_timeseries(w, r);
    if (rc < 0) {
        return rc;
    }
    jsonw_key(w, "errors");
    put_errors(w, r);
    jsonw_key(w, "criteria");
    put_criteria(w, r);
    jsonw_key(w, "probes");
    if (r->probes != NULL) {
        rc = probe_set_to_json(r->probes, w);
        if (rc < 0) {
            return rc;
        }
    } else {
        jsonw_obj_begin(w);
        jsonw_obj_end(w);
    }
    jsonw_key(w, "analysis");
    jsonw_obj_begin(w);
    jsonw_key(w, "latency_p95_trend");
    put_verdict(w, r->latency_trend);
    jsonw_key(w, "error_rate_trend");
    put_verdict(w, r->error_trend);
    jsonw_key(w, "breakpoint");
    result__put_breakpoint(w, r);
    jsonw_obj_end(w);
    /* brunt's own findings: latency or errors drifting up under the same load. */
    struct finding fs[2];
    size_t nf = 0;
    const struct fit_verdict *tr[2] = {r->latency_trend, r->error_trend};
    for (int i = 0; i < 2; i++) {
        if (tr[i] == NULL || tr[i]->trend != FIT_GROWING) {
            continue;
        }
        struct finding *f = &fs[nf++];
        memset(f, 0, sizeof *f);
        f->severity = FINDING_WARNING;
        snprintf(f->probe, sizeof f->probe, "brunt");
        snprintf(f->kind, sizeof f->kind, i == 0 ? "latency_drift" : "error_drift");
        snprintf(f->location, sizeof f->location, "%s",
                 i == 0 ? "http_req_duration p95" : "http_req_failed rate");
        snprintf(f->evidence, sizeof f->evidence, "%s", tr[i]->evidence);
        snprintf(f->recommendation, sizeof f->recommendation,
                 "degradation under constant load: look for growing queues, leaks, GC or "
                 "compaction; run longer to see where it ends");
        f->impact = -1;
    }
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_key(w, "warnings");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < r->n_warnings && i < sizeof r->warnings / sizeof r->warnings[0]; i++) {
        jsonw_str(w, r->warnings[i]);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

/* ---- writing the file ------------------------------------------------------------ */

int result_write(const char *path, const struct run_report *r, char *err, size_t err_len)
{
    return result_write_info(path, r, NULL, err, err_len);
}

int result_check_path(const char *path, char *err, size_t err_len)
{
    char dir[PATH_MAX], probe[PATH_MAX + 32];
    struct stat st;
    if (path == NULL || *path == '\0') {
        snprintf(err, err_len, "--export: empty path");
        return -1;
    }
    if (strlen(path) >= sizeof dir) {
        snprintf(err, err_len, "--export %s: path too long", path);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--export %s: is a directory (expected a file name)", path);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (stat(dir, &st) < 0) {
        snprintf(err, err_len, "--export %s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--export %s: %s is not a directory", path, dir);
        return -1;
    }
    /* access() would ignore read-only mounts and ACL details: try the real thing. */
    snprintf(probe, sizeof probe, "%s/.brunt-export-check.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "--export %s: cannot write in %s: %s", path, dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int result_write_info(const char *path, const struct run_report *r, const struct run_info *info,
                      char *err, size_t err_len)
{
    struct jsonw w;
    int rc;

    if (err_len > 0) {
        err[0] = '\0';
    }
    jsonw_init(&w, 2, RESULT_MAX_BYTES);
    if (path == NULL || *path == '\0') {
        snprintf(err, err_len, "cannot write result: empty path");
        goto fail;
    }
    rc = result_to_json_info(r, info, &w);
    if (rc < 0) {
        snprintf(err, err_len, "cannot write result %s: %s", path,
                 rc == -E2BIG ? "document larger than 512 MiB" : strerror(-rc));
        goto fail;
    }
    size_t len;
    const char *doc = jsonw_data(&w, &len);
    const struct file_part parts[] = {{doc, len}, {"\n", 1}};
    char why[PATH_MAX + 256];
    if (file_write_atomic(path, parts, 2, 0644, why, sizeof why) < 0) {
        snprintf(err, err_len, "cannot write result %s: %s", path, why);
        goto fail;
    }
    jsonw_destroy(&w);
    return 0;

fail:
    jsonw_destroy(&w);
    return -1;
}
