/*
 * Tests for report/: a run report built by hand (request names with known samples, a
 * failing and a passing threshold, a time series with a second of errors) is written
 * as a result document by output/result.c and read back by report_read, as `brunt
 * report` does.  Checked: per-request figures equal a histogram built from the same
 * samples (exact merge over status codes), the thresholds' verdicts and units, the
 * breaking point, brunt's own findings; every prefix of a document is refused cleanly
 * (truncated or not JSON), unknown schema versions (in one line, whatever the value holds)
 * and runs without samples are named;
 * the Markdown stays under 65,536 characters with thousands of request names and says
 * it was shortened; JUnit and CSV carry the figures; the atomic write leaves nothing
 * behind on failure.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "metrics/hist.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "output/result.h"
#include "report/report.h"
#include "report/report_internal.h"

#define N_ROWS 10

struct fixture {
    struct plan plan;
    struct scenario_plan sc;
    struct origin origin;
    struct step step;
    struct threshold th[2];
    struct ts_row rows[N_ROWS];
    char *argv[3];
    struct run_report r;
    struct jsonw w;
    const char *doc;
    size_t len;
};

static int series(struct registry *reg, int metric, const char *name, const char *status)
{
    const char *keys[2] = {"name", "status"}, *values[2] = {name, status};
    char tags[512];
    cr_assert_geq(tags_canon(tags, sizeof tags, keys, values, name ? 2 : 0), 0);
    int i = registry_get(reg, metric, tags);
    cr_assert_geq(i, 0);
    return i;
}

/* n_names request names; "a" has 1..1000 ms over two status codes, others 5 ms each. */
static void fixture_init(struct fixture *fx, size_t n_names)
{
    memset(fx, 0, sizeof *fx);
    cr_assert_eq(url_parse("http://127.0.0.1:8080/x", &fx->origin.url), 0);
    fx->step.kind = STEP_REQUEST;
    fx->step.origin = &fx->origin;
    fx->step.method = "GET";
    fx->step.name = "a";
    fx->sc.name = "default";
    fx->sc.executor = EXEC_CONSTANT_VUS;
    fx->sc.vus = 8;
    fx->sc.duration_ns = 10 * 1000000000ULL;
    fx->sc.time_unit_ns = 1000000000ULL;
    fx->sc.steps = &fx->step;
    fx->sc.n_steps = 1;
    fx->plan.scenarios = &fx->sc;
    fx->plan.n_scenarios = 1;
    fx->plan.origins = &fx->origin;
    fx->plan.n_origins = 1;
    fx->plan.threads = 2;
    struct registry *reg = registry_new();
    cr_assert_not_null(reg);
    int a200 = series(reg, M_HTTP_REQ_DURATION, "a", "200");
    int a500 = series(reg, M_HTTP_REQ_DURATION, "a", "500");
    for (uint64_t i = 1; i <= 1000; i++) {
        series_trend_ns(registry_at(reg, i % 10 == 0 ? a500 : a200), i * 1000000ULL);
    }
    int fa = series(reg, M_HTTP_REQ_FAILED, "a", "500");
    for (int i = 0; i < 100; i++) {
        series_rate(registry_at(reg, fa), true);
    }
    int fa2 = series(reg, M_HTTP_REQ_FAILED, "a", "200");
    for (int i = 0; i < 900; i++) {
        series_rate(registry_at(reg, fa2), false);
    }
    uint64_t total = 1000;
    for (size_t k = 1; k < n_names; k++) {
        char name[64];
        snprintf(name, sizeof name, "request-with-a-long-name-%05zu", k);
        int s = series(reg, M_HTTP_REQ_DURATION, name, "200");
        for (int i = 0; i < 3; i++) {
            series_trend_ns(registry_at(reg, s), 5000000ULL);
        }
        total += 3;
    }
    int reqs = series(reg, M_HTTP_REQS, NULL, NULL);
    for (uint64_t i = 0; i < total; i++) {
        series_add(registry_at(reg, reqs), 1);
    }
    fx->th[0] = (struct threshold){.metric_expr = "http_req_duration",
                                   .source = "p(95)<300",
                                   .metric = M_HTTP_REQ_DURATION,
                                   .filter = "",
                                   .agg = TH_PCT,
                                   .pct = 95,
                                   .op = TH_LT,
                                   .value = 300,
                                   .evaluated = true,
                                   .failed = true,
                                   .observed = 950.5};
    fx->th[1] = (struct threshold){.metric_expr = "http_req_failed",
                                   .source = "rate<0.5",
                                   .metric = M_HTTP_REQ_FAILED,
                                   .filter = "",
                                   .agg = TH_RATE,
                                   .op = TH_LT,
                                   .value = 0.5,
                                   .evaluated = true,
                                   .observed = 0.1};
    for (uint32_t t = 0; t < N_ROWS; t++) {
        fx->rows[t] = (struct ts_row){.t = t,
                                      .wall_ns = 1795892819123000000ULL + t * 1000000000ULL,
                                      .vus = 8 + t,
                                      .http_reqs = 100,
                                      .failed = t == 6 ? 50 : 0,
                                      .duration = {.count = 100, .med = 5, .p95 = 9, .p99 = 12}};
    }
    fx->argv[0] = "brunt";
    fx->argv[1] = "run";
    fx->argv[2] = "x";
    fx->r.plan = &fx->plan;
    fx->r.argc = 3;
    fx->r.argv = fx->argv;
    fx->r.total = reg;
    fx->r.rows = fx->rows;
    fx->r.n_rows = N_ROWS;
    fx->r.thresholds = fx->th;
    fx->r.n_thresholds = 2;
    fx->r.start_wall_ns = 1795892819123456789ULL;
    fx->r.end_wall_ns = fx->r.start_wall_ns + 10000000000ULL;
    fx->r.duration_ns = 10000000000ULL;
    fx->r.max_worker_busy = 0.97;
    fx->r.thresholds_failed = true;
    fx->r.exit_code = 99;
    jsonw_init(&fx->w, 0, RESULT_MAX_BYTES);
    cr_assert_eq(result_to_json(&fx->r, &fx->w), 0);
    fx->doc = jsonw_data(&fx->w, &fx->len);
}

static void fixture_destroy(struct fixture *fx)
{
    jsonw_destroy(&fx->w);
    registry_free(fx->r.total);
}

static const struct report_request *find_request(const struct report_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_requests; i++) {
        if (strcmp(m->requests[i].name, name) == 0) {
            return &m->requests[i];
        }
    }
    return NULL;
}

static struct report_model *read_ok(const struct fixture *fx)
{
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_not_null(m);
    int rc = report_read(fx->doc, fx->len, m, err, sizeof err);
    cr_assert_eq(rc, 0, "report_read: %d %s", rc, err);
    return m;
}

static void model_free(struct report_model *m)
{
    report_model_free(m);
    free(m);
}

Test(report, per_request_figures_equal_a_histogram_of_the_same_samples)
{
    struct fixture fx;
    fixture_init(&fx, 2);
    struct report_model *m = read_ok(&fx);
    struct hist *h = hist_new();
    for (uint64_t i = 1; i <= 1000; i++) {
        hist_record(h, i * 1000000ULL);
    }
    const struct report_request *a = find_request(m, "a");
    cr_assert_not_null(a);
    cr_assert_eq(a->count, 1000, "count %llu", (unsigned long long)a->count);
    cr_assert_eq(a->failed, 100, "failed %llu", (unsigned long long)a->failed);
    cr_assert_float_eq(a->p95_ms, (double)hist_quantile_ns(h, 0.95) / 1e6, 1e-9, "p95 %g",
                       a->p95_ms);
    cr_assert_float_eq(a->p99_ms, (double)hist_quantile_ns(h, 0.99) / 1e6, 1e-9, "p99 %g",
                       a->p99_ms);
    cr_assert_float_eq(a->max_ms, 1000, 1e-9, "max %g", a->max_ms);
    cr_assert_float_eq(a->total_ms, 500500, 1e-6, "total %g", a->total_ms);
    cr_assert_str_eq(m->requests[0].name, "a", "sorted by total time");
    cr_assert_gt(m->spectrum_duration.n, 10, "spectrum points %zu", m->spectrum_duration.n);
    cr_assert_float_eq(m->spectrum_duration.pts[m->spectrum_duration.n - 1].value_ms, 1000, 1e-9);
    hist_free(h);
    model_free(m);
    fixture_destroy(&fx);
}

Test(report, checks_keep_verdict_unit_and_limit)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    struct report_model *m = read_ok(&fx);
    cr_assert_eq(m->n_thresholds, 2);
    cr_assert_eq(m->checks[0].ok, false);
    cr_assert_str_eq(m->checks[0].unit, "ms");
    cr_assert_float_eq(m->checks[0].limit, 300, 1e-12);
    cr_assert_str_eq(m->checks[0].op, "<");
    cr_assert_eq(m->checks[1].ok, true);
    cr_assert_str_eq(m->checks[1].unit, "%");
    cr_assert_eq(m->checks[1].warn, false, "0.1 is far from 0.5");
    cr_assert_eq(m->objectives_met, false);
    model_free(m);
    fixture_destroy(&fx);
}

Test(report, breaking_point_held_rate_and_saturation_from_the_data)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    struct report_model *m = read_ok(&fx);
    cr_assert(m->breaking_found);
    cr_assert_eq(m->breaking_t, 6, "breaking second %u", m->breaking_t);
    cr_assert_float_eq(m->breaking_vus, 14, 1e-9);
    cr_assert_str_eq(m->breaking_what, "errors passed 1%");
    cr_assert_float_eq(m->held_rps, 100, 1e-9, "held %g", m->held_rps);
    bool saturated = false;
    for (size_t i = 0; i < m->n_findings; i++) {
        saturated = saturated || strcmp(m->findings[i].kind, "generator_saturated") == 0;
    }
    cr_assert(saturated, "a 97%% busy worker is a finding");
    cr_assert_eq(m->findings[0].severity, FINDING_CRITICAL, "critical first");
    model_free(m);
    fixture_destroy(&fx);
}

Test(report, every_prefix_is_refused_with_a_named_error)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    /* Every 7th prefix (the whole set is slow under ASan); each one must fail cleanly. */
    for (size_t n = 0; n < fx.len; n += 7) {
        int rc = report_read(fx.doc, n, m, err, sizeof err);
        cr_assert(rc == REPORT_ETRUNC || rc == REPORT_ENOTJSON, "prefix %zu: rc %d (%s)", n, rc,
                  err);
        cr_assert_neq(err[0], '\0', "prefix %zu: no message", n);
        cr_assert_null(strchr(err, '\n'), "one line");
        report_model_free(m);
    }
    free(m);
    fixture_destroy(&fx);
}

Test(report, unknown_schema_and_no_samples_are_named)
{
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    const char *future = "{\"schema\": \"brunt-result/7\", \"metrics\": {}}";
    cr_assert_eq(report_read(future, strlen(future), m, err, sizeof err), REPORT_ESCHEMA);
    cr_assert(strstr(err, "brunt-result/7") != NULL && strstr(err, "newer") != NULL, "%s", err);
    report_model_free(m);
    const char *other = "{\"name\": \"not ours\"}";
    cr_assert_eq(report_read(other, strlen(other), m, err, sizeof err), REPORT_ESCHEMA);
    report_model_free(m);
    const char *empty = "{\"schema\": \"brunt-result/1\", \"metrics\": {}}";
    cr_assert_eq(report_read(empty, strlen(empty), m, err, sizeof err), REPORT_ENOSAMPLES);
    cr_assert(strstr(err, "no samples") != NULL, "%s", err);
    report_model_free(m);
    cr_assert_eq(report_read("[1,2]", 5, m, err, sizeof err), REPORT_ESCHEMA);
    report_model_free(m);
    cr_assert_eq(report_read("nope", 4, m, err, sizeof err), REPORT_ENOTJSON);
    report_model_free(m);
    /* A schema value with a newline (found by fuzz_report): the message stays one line,
     * the value escaped as in JSON. */
    const char *nl = "{\"schema\": \"brunt-\\nresult/1\", \"metrics\": {}}";
    cr_assert_eq(report_read(nl, strlen(nl), m, err, sizeof err), REPORT_ESCHEMA);
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
    cr_assert(strstr(err, "\"brunt-\\nresult/1\"") != NULL, "%s", err);
    report_model_free(m);
    const char *nl7 = "{\"schema\": \"brunt-result/7\\n\", \"metrics\": {}}";
    cr_assert_eq(report_read(nl7, strlen(nl7), m, err, sizeof err), REPORT_ESCHEMA);
    cr_assert(strchr(err, '\n') == NULL, "one line: %s", err);
    report_model_free(m);
    free(m);
}

Test(report, optional_sections_are_read_when_present)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},"
        "\"criteria\":[{\"metric\":\"http_req_duration:p(95)\",\"target\":\"<200\","
        "\"acceptable\":\"<300\",\"observed\":250,\"status\":\"acceptable\"}],"
        "\"probes\":{\"postgres\":{\"findings\":[{\"severity\":\"critical\",\"kind\":"
        "\"seq_scan\",\"location\":\"orders\",\"evidence\":\"1e6 rows per call\","
        "\"recommendation\":\"index orders(user_id)\",\"impact\":0.8}]}},"
        "\"timeseries\":{\"rows\":[{\"t\":0,\"http_reqs\":5,\"process_cpu\":42.5}]}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    cr_assert(m->has_criteria);
    cr_assert_eq(m->n_criteria, 1);
    cr_assert(m->checks[0].ok && m->checks[0].warn, "acceptable is ⚠️");
    cr_assert_str_eq(m->checks[0].acceptable, "<300");
    cr_assert_eq(m->n_probes, 1);
    cr_assert_str_eq(m->findings[0].kind, "seq_scan");
    cr_assert_str_eq(m->findings[0].probe, "postgres");
    cr_assert_float_eq(m->findings[0].impact, 0.8, 1e-12);
    cr_assert_eq(m->n_extra, 1);
    cr_assert_str_eq(m->extra_names[0], "process_cpu");
    cr_assert_float_eq(m->rows[0].extra[0], 42.5, 1e-12);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert(strstr(b.data, "orders") != NULL, "the probe's finding is in the Markdown");
    cr_assert(strstr(b.data, "run with --postgres") == NULL,
              "PostgreSQL was measured: not 'not measured'");
    cr_assert(strstr(b.data, "--watch") != NULL, "processes were not watched");
    dynbuf_reset(&b);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "process_cpu over time") != NULL, "a chart per probe figure");
    dynbuf_destroy(&b);
    model_free(m);
}

Test(report, markdown_stays_under_the_comment_limit_and_says_so)
{
    struct fixture fx;
    fixture_init(&fx, 3000);
    struct report_model *m = read_ok(&fx);
    cr_assert_eq(m->n_requests, 1024, "request names are capped: %zu", m->n_requests);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 26);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert_lt(b.len, REPORT_MD_MAX_CHARS, "%zu bytes", b.len);
    cr_assert(strstr(b.data, "shortened") != NULL, "the report says it was shortened");
    cr_assert(strstr(b.data, "## Executive Summary") != NULL);
    dynbuf_destroy(&b);
    model_free(m);
    fixture_destroy(&fx);
}

Test(report, junit_and_csv_carry_the_figures)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    struct report_model *m = read_ok(&fx);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_junit(m, &b), 0);
    cr_assert(strstr(b.data, "tests=\"2\" failures=\"1\"") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "<failure message=\"observed 950.5ms") != NULL ||
                  strstr(b.data, "<failure message=\"observed 950ms") != NULL ||
                  strstr(b.data, "<failure message=\"observed 951ms") != NULL,
              "%s", b.data);
    cr_assert(strstr(b.data, "p(95)&lt;300") != NULL, "escaped");
    dynbuf_reset(&b);
    cr_assert_eq(report_csv(m, &b), 0);
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++) {
        lines += b.data[i] == '\n';
    }
    cr_assert_eq(lines, N_ROWS + 1, "%zu lines", lines);
    cr_assert(strstr(b.data, "\r\n6,") != NULL);
    dynbuf_destroy(&b);
    model_free(m);
    fixture_destroy(&fx);
}

Test(report, format_from_the_extension)
{
    cr_assert_eq(report_format_from_path("r.html"), REPORT_HTML);
    cr_assert_eq(report_format_from_path("dir.x/R.MD"), REPORT_MD);
    cr_assert_eq(report_format_from_path("junit.xml"), REPORT_JUNIT);
    cr_assert_eq(report_format_from_path("s.csv"), REPORT_CSV);
    cr_assert_eq(report_format_from_path("dir.html/report"), REPORT_NONE);
    cr_assert_eq(report_format_from_path("r.pdf"), REPORT_NONE);
}

Test(report, a_failed_write_leaves_no_file)
{
    char err[256];
    int rc = report_atomic_write("/nonexistent-brunt-dir/r.md", "x", 1, err, sizeof err);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(err, "/nonexistent-brunt-dir/r.md") != NULL, "%s", err);
    char path[] = "/tmp/brunt-report-XXXXXX";
    cr_assert_not_null(mkdtemp(path));
    char file[128];
    snprintf(file, sizeof file, "%s/r.md", path);
    cr_assert_eq(report_atomic_write(file, "hello", 5, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(file, "r");
    char buf[16] = {0};
    cr_assert_not_null(f);
    cr_assert_eq(fread(buf, 1, sizeof buf, f), 5);
    fclose(f);
    cr_assert_str_eq(buf, "hello");
    unlink(file);
    rmdir(path);
}

/* The probes' panels read the shapes probe/pg.c, redis.c, proc.c and machine.c write
 * (docs/result-format.md): figures, per-second series as charts, tables, verdicts. */
Test(report, probe_panels_show_the_probes_figures_series_and_verdicts)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"meta\":{\"start\":\"2026-12-02T03:00:00.000Z\","
        "\"command\":[\"brunt\",\"run\",\"--spawn\",\"serve --postgres "
        "'postgresql://u:s3cret@h/db' --dsn 'host=h password=hunter2 dbname=x'\"]},"
        "\"metrics\":{\"http_reqs\":{\"type\":\"counter\",\"values\":{\"count\":5,\"rate\":1}}},"
        "\"analysis\":{\"latency_p95_trend\":{\"verdict\":\"growing\",\"slope_per_hour\":12.5,"
        "\"evidence\":\"p95 grew 12.5 ms/h\"},\"error_rate_trend\":null},"
        "\"probes\":{\"postgres\":{\"available\":true,\"version\":\"15.18\",\"calls\":2214,"
        "\"db_time_ms\":2595.5,\"database_stats\":{\"commits_per_s\":515.2,"
        "\"cache_hit_ratio\":0.99},\"activity\":{\"connections_max\":8,\"max_connections\":50},"
        "\"top_queries\":[{\"query\":\"SELECT 1 FROM t WHERE a < $1\",\"calls\":1920,"
        "\"mean_ms\":1.28,\"total_ms\":2460,\"share\":0.949}],"
        "\"series\":{\"t_s\":[1,2,3],\"connections\":[8,8,8],\"calls\":[700,650,null]},"
        "\"findings\":[]},"
        "\"redis\":{\"available\":true,\"totals\":{\"ops\":490,\"hit_rate\":0.5,"
        "\"keyspace_hits\":96,\"keyspace_misses\":96},\"commands\":[{\"command\":\"get\","
        "\"calls\":192,\"usec_per_call\":4.4}],\"series\":{\"t_s\":[1,2],\"ops\":[162,140]},"
        "\"findings\":[{\"severity\":\"warning\",\"kind\":\"hit_rate\",\"location\":\"r\","
        "\"evidence\":\"keyspace hit rate 50.0%\",\"recommendation\":\"x\",\"impact\":0.5}]},"
        "\"process\":{\"targets\":[{\"label\":\"app\",\"pid\":42,\"summary\":{"
        "\"process_cpu\":{\"min\":1,\"avg\":2,\"p95\":3,\"max\":4}},\"memory_trend\":{"
        "\"verdict\":\"flat\",\"slope_mib_per_hour\":0.1,\"evidence\":\"flat rss\"},"
        "\"series\":{\"wall_ms\":[1796180401000,1796180402000],\"process_cpu\":[null,2]}}]}},"
        "\"timeseries\":{\"rows\":[{\"t\":0,\"http_reqs\":5,"
        "\"watch\":{\"app\":{\"process_cpu\":2.5}}}]}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    cr_assert(strstr(m->command, "s3cret") == NULL && strstr(m->command, "u:***@h") != NULL,
              "the URL's password is masked: %s", m->command);
    cr_assert(strstr(m->command, "hunter2") == NULL && strstr(m->command, "password=***") != NULL,
              "the key=value password is masked: %s", m->command);
    cr_assert_eq(m->n_verdicts, 2, "p95 drift and app's memory (null error trend skipped)");
    cr_assert_str_eq(m->verdicts[0].verdict, "growing");
    cr_assert_str_eq(m->verdicts[1].what, "memory of app");
    cr_assert_eq(m->n_extra, 1);
    cr_assert_str_eq(m->extra_names[0], "process_cpu{app}");
    cr_assert(m->extra_from_watch[0]);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_html(m, &b), 0);
    const char *want[] = {
        "data-fig=\"postgres.calls\" data-value=\"2214\"",
        "data-fig=\"redis.hit_rate\" data-value=\"0.5\"",
        "data-fig=\"process.app.process_cpu.avg\" data-value=\"2\"",
        "data-pg-calls=\"1920\"",
        "data-redis-calls=\"192\"",
        "SELECT 1 FROM t WHERE a &lt; $1",
        "id=\"chart-pg-connections\"",
        "id=\"chart-redis-ops\"",
        "id=\"chart-process-cpu-0\"",
        "\"name\":\"statements/"
        "s\",\"color\":\"#9467bd\",\"dashed\":false,\"y\":[700,650,null]" /* per sample of 1 s */
        ,
        "keyspace hit rate 50.0%",
        "id=\"verdicts\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert(strstr(b.data, want[i]) != NULL, "the HTML lacks %s", want[i]);
    }
    cr_assert(strstr(b.data, "process_cpu{app} over time") == NULL,
              "the watch's figures are charted in the process panel, not twice");
    cr_assert(strstr(b.data, "s3cret") == NULL);
    dynbuf_reset(&b);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert(strstr(b.data, "| Statements | 2,214 |") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "| Hit rate | 50.0% (96 hits, 96 misses) |") != NULL);
    cr_assert(strstr(b.data, "| get | 192 | 4.40 |") != NULL);
    cr_assert(strstr(b.data, "| p95 latency per second | ❌ growing | 12.5 ms/h |") != NULL);
    dynbuf_reset(&b);
    cr_assert_eq(report_junit(m, &b), 0);
    cr_assert(strstr(b.data, "<testsuite name=\"brunt verdicts\" tests=\"2\" failures=\"1\"") !=
                  NULL,
              "%s", b.data);
    cr_assert(strstr(b.data,
                     "<failure message=\"growing: p95 grew 12.5 ms/h\" type=\"verdict\">") != NULL);
    dynbuf_destroy(&b);
    model_free(m);
}

/* The one escaper of HTML, SVG and JUnit: markup, both quotes, forbidden controls. */
Test(report, xml_escape_covers_markup_quotes_and_controls)
{
    struct report_model *m = calloc(1, sizeof *m);
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":"
        "\"counter\",\"values\":{\"count\":1}}},\"thresholds\":[{\"metric\":"
        "\"a<b>&'\\\"\\u0001\",\"expression\":\"count<0\",\"ok\":false,\"observed\":1}]}";
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    cr_assert_eq(report_junit(m, &b), 0);
    cr_assert(strstr(b.data, "a&lt;b&gt;&amp;&#39;&quot;  count") != NULL, "%s", b.data);
    dynbuf_destroy(&b);
    model_free(m);
}

/* probes.profile (docs/profile.md, the profile branch's shape): the hottest functions as a
 * table and bars; a result without it renders as before (the guard). */
Test(report, profile_panel_when_the_result_has_a_profile)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},\"probes\":{\"profile\":{\"source\":\"perf\","
        "\"samples\":2931,\"frequency_hz\":99,\"top\":[{\"function\":\"server_burn_cpu\","
        "\"module\":\"brunt\",\"file\":\"src/server/service.c\",\"line\":20,\"self\":2710,"
        "\"total\":2712,\"self_share\":0.9246,\"total_share\":0.9253}],"
        "\"files\":{\"svg\":\"run.profile.svg\"}}}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "data-profile-self=\"0.92459999") != NULL);
    cr_assert(strstr(b.data, "src/server/service.c:20") != NULL);
    cr_assert(strstr(b.data, "id=\"chart-profile-top\"") != NULL);
    cr_assert(strstr(b.data, "run.profile.svg") != NULL);
    cr_assert(strstr(b.data, "not measured — run with --profile") == NULL);
    dynbuf_destroy(&b);
    model_free(m);
}

Test(report, a_profiles_flame_graph_is_read_beside_the_result_and_embedded)
{
    char dir[] = "/tmp/brunt-report-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char svg_path[128], doc_path[128];
    snprintf(svg_path, sizeof svg_path, "%s/run.profile.svg", dir);
    snprintf(doc_path, sizeof doc_path, "%s/run.json", dir);
    /* "Man" is "TWFu" in base64; the bytes must come through whole. */
    const char svg[] = "<svg>Man</svg>";
    FILE *f = fopen(svg_path, "w");
    cr_assert_not_null(f);
    fputs(svg, f);
    fclose(f);
    /* As brunt run wrote it from another directory: files.svg is relative to there. */
    const char *doc = "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":"
                      "\"counter\",\"values\":{\"count\":5,\"rate\":1}}},"
                      "\"probes\":{\"profile\":{\"source\":\"perf\",\"files\":{\"svg\":"
                      "\"out/run.profile.svg\"}},\"pprof\":{\"files\":{\"svg\":\"gone.svg\"}}}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(m->probes[0].flame_path, "out/run.profile.svg");
    cr_assert_eq(report_load_flames(m, doc_path), 1, "the one that exists");
    cr_assert_eq(m->probes[0].flame_svg_len, strlen(svg));
    cr_assert_str_eq(m->probes[0].flame_svg, svg);
    cr_assert_null(m->probes[1].flame_svg);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "data:image/svg+xml;base64,PHN2Zz5NYW48L3N2Zz4=\"") != NULL,
              "the SVG as a data: URL");
    cr_assert(strstr(b.data, "gone.svg</code>; not found") != NULL, "a missing file is named");
    dynbuf_destroy(&b);
    model_free(m);
    unlink(svg_path);
    rmdir(dir);
}

/* probes.pprof alone (issue 13): the Markdown and the HTML show the hottest functions, the
 * live heap before and after with where it grew, the flame graph's file, and do not say
 * a CPU profile was not measured (a Go service's pprof is one); a failed profile shows its
 * error, not "no samples". */
Test(report, pprof_section_with_heap_in_markdown_and_html)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},\"probes\":{\"pprof\":{\"source\":\"pprof\","
        "\"url\":\"http://127.0.0.1:6060\",\"seconds\":4,\"unit\":\"nanoseconds\","
        "\"samples\":590,\"top\":[{\"function\":\"main.bruntGoHotSpin\",\"module\":null,"
        "\"file\":\"/src/main.go\",\"line\":29,\"self\":4,\"total\":4,\"self_share\":0.7,"
        "\"total_share\":0.71},{\"function\":\"a|b*c\",\"module\":null,\"file\":null,"
        "\"line\":0,\"self\":1,\"total\":1,\"self_share\":0.2,\"total_share\":0.2}],"
        "\"files\":{\"svg\":\"run.pprof.svg\"},\"heap\":{\"inuse_before_bytes\":1048576,"
        "\"inuse_after_bytes\":22020096,\"growth\":[{\"function\":\"main.bruntGoLeak\","
        "\"file\":\"/src/main.go\",\"line\":47,\"bytes\":20971520}]}}}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert(strstr(b.data, "### CPU profile of the target (pprof)") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "| `main.bruntGoHotSpin` | /src/main.go:29 | 70.0% | 71.0% |") != NULL,
              "%s", b.data);
    cr_assert(strstr(b.data, "| `a\\|b*c` | — | 20.0% | 20.0% |") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "| Live heap before the load | 1.00 MiB |") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "| Live heap after the load | 21.00 MiB (+20.00 MiB) |") != NULL, "%s",
              b.data);
    cr_assert(strstr(b.data, "| `main.bruntGoLeak` | /src/main.go:47 | 20.00 MiB |") != NULL, "%s",
              b.data);
    cr_assert(strstr(b.data, "Flame graph: `run.pprof.svg`") != NULL, "%s", b.data);
    cr_assert(strstr(b.data, "a CPU profile of the target: not measured") == NULL, "%s", b.data);
    dynbuf_reset(&b);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "data-fig=\"pprof.heap.inuse_after_bytes\" data-value=\"22020096\"") !=
              NULL);
    cr_assert(strstr(b.data, "data-fig=\"pprof.samples\" data-value=\"590\"") != NULL);
    cr_assert(strstr(b.data, "data-heap-growth=\"20971520\"") != NULL);
    cr_assert(strstr(b.data, "<code>main.bruntGoLeak</code>") != NULL);
    cr_assert(strstr(b.data, "a CPU profile of the target: not measured") == NULL);
    dynbuf_destroy(&b);
    model_free(m);

    const char *failed =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},\"probes\":{\"profile\":{\"source\":\"perf\","
        "\"error\":\"kernel.perf_event_paranoid is 3\"}}}";
    m = calloc(1, sizeof *m);
    cr_assert_eq(report_read(failed, strlen(failed), m, err, sizeof err), 0, "%s", err);
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "<th>Not measured</th><td>kernel.perf_event_paranoid is 3</td>") !=
              NULL);
    cr_assert(strstr(b.data, "holds no samples") == NULL);
    dynbuf_reset(&b);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert(strstr(b.data, "| Not measured | kernel.perf_event_paranoid is 3 |") != NULL, "%s",
              b.data);
    dynbuf_destroy(&b);
    model_free(m);
}

/* What to monitor: a watched target's p95 CPU and largest RSS become alert rules with half
 * as much again as their limit (rounded up to two digits), naming the target. */
Test(report, alert_rules_for_the_watched_targets_cpu_and_memory)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},\"probes\":{\"process\":{\"targets\":["
        "{\"label\":\"api\",\"pid\":7,\"summary\":{\"process_cpu_core\":{\"p95\":35.6},"
        "\"process_rss\":{\"max\":9609216}}},{\"label\":\"db\",\"pid\":8,\"summary\":{"
        "\"process_cpu_core\":{\"p95\":12},\"process_rss\":{\"max\":52428800}}}]}}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 24);
    cr_assert_eq(report_md(m, &b), 0);
    cr_assert(strstr(b.data, "# 1.5 x the p95 CPU of api in this run (0.36 cores)\n"
                             "        expr: rate(process_cpu_seconds_total[5m]) > 0.54\n") != NULL,
              "%s", b.data);
    cr_assert(strstr(b.data, "# 1.5 x the largest RSS of db in this run (50.0 MiB)\n"
                             "        expr: process_resident_memory_bytes > 79000000\n") != NULL,
              "%s", b.data);
    dynbuf_destroy(&b);
    model_free(m);
}

/* A short run whose closing second held no request: the max throughput held is over the
 * seconds with load (4 of them here), not a 5-second window that says "0 req/s". */
Test(report, held_rate_leaves_out_the_empty_closing_seconds)
{
    const char *doc =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":38,\"rate\":8.75}}},\"timeseries\":{\"rows\":["
        "{\"t\":0,\"http_reqs\":10,\"rps\":10,\"failed\":0},"
        "{\"t\":1,\"http_reqs\":12,\"rps\":12,\"failed\":0},"
        "{\"t\":2,\"http_reqs\":12,\"rps\":12,\"failed\":0},"
        "{\"t\":3,\"http_reqs\":4,\"rps\":4,\"failed\":0},"
        "{\"t\":4,\"http_reqs\":0,\"rps\":0,\"failed\":0}]}}";
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq(m->held_window_s, 4, 1e-9, "window %g", m->held_window_s);
    cr_assert_float_eq(m->held_rps, 4, 1e-9, "held %g", m->held_rps);
    model_free(m);
}

/* The Markdown of m into b (initialised here; the caller destroys it) and its
 * optimisation plan: from the returned pointer to *end, the next section. */
static const char *md_plan(const struct report_model *m, struct dynbuf *b, const char **end)
{
    dynbuf_init(b, 1 << 24);
    cr_assert_eq(report_md(m, b), 0);
    const char *plan = strstr(b->data, "## Optimisation Plan\n");
    cr_assert_not_null(plan, "%s", b->data);
    *end = strstr(plan, "## Load Test Results");
    cr_assert_not_null(*end);
    return plan;
}

/* The optimisation plan: the critical and warning findings' recommendations in their
 * rank, each once, naming its finding; info findings are not steps. */
Test(report, optimisation_plan_from_the_ranked_findings)
{
    struct fixture fx;
    fixture_init(&fx, 1);
    struct report_model *m = read_ok(&fx);
    cr_assert_gt(m->n_findings, 0);
    struct dynbuf b;
    const char *end;
    const char *plan = md_plan(m, &b, &end);
    size_t steps = 0;
    for (size_t i = 0; i < m->n_findings; i++) {
        const struct finding *f = &m->findings[i];
        char line[512];
        snprintf(line, sizeof line, "**%s**: %s (finding %zu", f->location, f->recommendation,
                 i + 1);
        const char *at = strstr(plan, line);
        if (f->severity == FINDING_INFO) {
            cr_assert(at == NULL || at > end, "info finding %zu is a step", i + 1);
        } else {
            cr_assert(at != NULL && at < end, "no step for finding %zu: %s\n%s", i + 1, line, plan);
            steps++;
        }
    }
    cr_assert_gt(steps, 0);
    dynbuf_reset(&b);
    cr_assert_eq(report_html(m, &b), 0);
    cr_assert(strstr(b.data, "<h2 id=\"plan\">Optimisation Plan</h2>") != NULL);
    cr_assert(strstr(b.data, "<li data-finding=\"1\"><strong>") != NULL, "the first finding");
    dynbuf_destroy(&b);
    model_free(m);
    fixture_destroy(&fx);
}

/* A breakpoint that broke in a run that recorded no second has "vus": null: the sentence
 * names no VU count (not "with 0 VUs"); with a count it names it. */
Test(report, breakpoint_without_a_vu_count_says_nothing_of_vus)
{
    const char *head =
        "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":{\"type\":\"counter\","
        "\"values\":{\"count\":5,\"rate\":1}}},\"analysis\":{\"breakpoint\":{\"scenario\":"
        "\"ramp\",\"peak_rate\":300,\"broke\":true,\"t_s\":4,\"reached_rate\":120,"
        "\"broke_at_rate\":120,\"held_rate\":100,\"vus\":";
    const char *vus[2] = {"null", "12"};
    const char *want[2] = {"broke at an arrival rate of 120.0/s, 4.0 s into",
                           "broke at an arrival rate of 120.0/s with 12 VUs, 4.0 s into"};
    for (size_t i = 0; i < 2; i++) {
        char doc[1024], err[512], line[512];
        snprintf(doc, sizeof doc, "%s%s,\"what_broke\":[]}}}", head, vus[i]);
        struct report_model *m = calloc(1, sizeof *m);
        cr_assert_not_null(m);
        cr_assert_eq(report_read(doc, strlen(doc), m, err, sizeof err), 0, "%s", err);
        cr_assert(m->bp_present && m->bp_broke);
        rt_breakpoint(m, line, sizeof line);
        cr_assert(strstr(line, want[i]) != NULL, "vus %s: %s", vus[i], line);
        cr_assert(strstr(line, "with 0 VUs") == NULL, "%s", line);
        struct dynbuf b;
        dynbuf_init(&b, 1 << 24);
        cr_assert_eq(report_md(m, &b), 0);
        cr_assert(strstr(b.data, want[i]) != NULL, "vus %s: the Markdown", vus[i]);
        dynbuf_destroy(&b);
        model_free(m);
    }
}

/* More findings than the Markdown lists (40 warnings, 30 listed): the optimisation plan
 * cites only listed findings.  The first 35 share one recommendation, so before the fix
 * the plan went on to the 36th to 40th, which the report never showed. */
Test(report, optimisation_plan_cites_only_the_listed_findings)
{
    struct dynbuf doc;
    dynbuf_init(&doc, 1 << 20);
    cr_assert_eq(dynbuf_adds(&doc, "{\"schema\":\"brunt-result/1\",\"metrics\":{\"http_reqs\":"
                                   "{\"type\":\"counter\",\"values\":{\"count\":5,\"rate\":1}}},"
                                   "\"probes\":{\"postgres\":{\"findings\":["),
                 0);
    for (int i = 0; i < 40; i++) {
        char rec[32];
        snprintf(rec, sizeof rec, i < 35 ? "add an index" : "fix query %d", i + 1);
        cr_assert_eq(dynbuf_addf(&doc,
                                 "%s{\"severity\":\"warning\",\"kind\":\"seq_scan\",\"location\":"
                                 "\"table%d\",\"evidence\":\"scans\",\"recommendation\":\"%s\","
                                 "\"impact\":%.2f}",
                                 i ? "," : "", i + 1, rec, 0.9 - i * 0.01),
                     0);
    }
    cr_assert_eq(dynbuf_adds(&doc, "]}}}"), 0);
    struct report_model *m = calloc(1, sizeof *m);
    char err[512];
    cr_assert_not_null(m);
    cr_assert_eq(report_read(doc.data, doc.len, m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(m->n_findings, 40);
    struct dynbuf b;
    const char *end;
    const char *plan = md_plan(m, &b, &end);
    size_t listed = 0;
    for (size_t k = 1; k <= 40; k++) {
        char item[32];
        snprintf(item, sizeof item, "\n%zu. ⚠️ **", k);
        const char *at = strstr(b.data, item);
        listed += at != NULL && at < plan;
    }
    cr_assert(listed > 0 && listed < 40, "listed %zu of 40", listed);
    size_t steps = 0;
    for (const char *p = strstr(plan, "(finding "); p != NULL && p < end;
         p = strstr(p + 1, "(finding ")) {
        size_t k = strtoul(p + strlen("(finding "), NULL, 10);
        cr_assert(k >= 1 && k <= listed, "the plan cites finding %zu; %zu listed\n%.*s", k, listed,
                  (int)(end - plan), plan);
        steps++;
    }
    cr_assert_eq(steps, 1, "one distinct recommendation among the listed: %zu steps", steps);
    dynbuf_destroy(&b);
    dynbuf_destroy(&doc);
    model_free(m);
}
