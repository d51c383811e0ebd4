/*
 * Tests for output/result: a run report built by hand (a registry with counters, a
 * gauge, a rate, errors by kind and a trend of known samples in two series; two
 * thresholds; two time-series rows) is serialised, and the document is read back with
 * the JSON reader: schema, options, values (median within 0.1% of the exact one), the
 * histogram (bucket counts add up to the count), tags as objects, thresholds, time
 * series, errors by kind.  result_write is checked for the complete file, no temporary
 * left behind, and clear failures (missing directory, target is a directory).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/json.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "output/result.h"

#define N_DUR_A 1000 /* samples of http_req_duration{name:a}: 1..1000 ms */
#define N_DUR_B 200  /* samples of http_req_duration{name:b}: 5 ms each */

struct fixture {
    struct plan plan;
    struct scenario_plan sc;
    struct origin origin;
    struct step step;
    struct threshold th[2];
    struct ts_row rows[2];
    char *argv[4];
    struct run_report r;
};

static int series(struct registry *reg, int metric, const char *k1, const char *v1, const char *k2,
                  const char *v2)
{
    const char *keys[2] = {k1, k2}, *values[2] = {v1, v2};
    char tags[256];
    size_t n = k1 == NULL ? 0 : (k2 == NULL ? 1 : 2);
    cr_assert_geq(tags_canon(tags, sizeof tags, keys, values, n), 0, "tags_canon");
    int i = registry_get(reg, metric, tags);
    cr_assert_geq(i, 0, "registry_get");
    return i;
}

static void fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    cr_assert_eq(url_parse("http://127.0.0.1:8080/x?y=1", &fx->origin.url), 0, "url_parse");
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
    fx->plan.timeout_ns = 60 * 1000000000ULL;
    fx->plan.connect_timeout_ns = 5 * 1000000000ULL;

    struct registry *reg = registry_new();
    cr_assert_not_null(reg);
    int a = series(reg, M_HTTP_REQ_DURATION, "name", "a", "status", "200");
    int b = series(reg, M_HTTP_REQ_DURATION, "name", "b", "status", "200");
    for (uint64_t i = 1; i <= N_DUR_A; i++) {
        series_trend_ns(registry_at(reg, a), i * 1000000ULL);
    }
    for (int i = 0; i < N_DUR_B; i++) {
        series_trend_ns(registry_at(reg, b), 5000000ULL);
    }
    int reqs = series(reg, M_HTTP_REQS, "name", "a", "status", "200");
    for (int i = 0; i < N_DUR_A + N_DUR_B; i++) {
        series_add(registry_at(reg, reqs), 1);
    }
    int failed = series(reg, M_HTTP_REQ_FAILED, NULL, NULL, NULL, NULL);
    for (int i = 0; i < 100; i++) {
        series_rate(registry_at(reg, failed), i < 3);
    }
    series_add(registry_at(reg, series(reg, M_ERRORS, "kind", "refused", NULL, NULL)), 2);
    series_add(registry_at(reg, series(reg, M_ERRORS, "kind", "timeout", NULL, NULL)), 1);
    int vus = series(reg, M_VUS, NULL, NULL, NULL, NULL);
    series_gauge(registry_at(reg, vus), 4);
    series_gauge(registry_at(reg, vus), 8);
    (void)series(reg, M_HTTP_REQ_TLS_HANDSHAKING, NULL, NULL, NULL, NULL); /* no samples */

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
                                   .observed = 912.5};
    fx->th[1] = (struct threshold){.metric_expr = "http_req_failed",
                                   .source = "rate<0.05",
                                   .metric = M_HTTP_REQ_FAILED,
                                   .filter = "",
                                   .agg = TH_RATE,
                                   .op = TH_LT,
                                   .value = 0.05,
                                   .abort_on_fail = true,
                                   .evaluated = true,
                                   .failed = false,
                                   .observed = 0.03};
    fx->rows[0] = (struct ts_row){.t = 0,
                                  .wall_ns = 1795892819123000000ULL,
                                  .vus = 8,
                                  .http_reqs = 600,
                                  .iterations = 600,
                                  .duration = {.count = 600, .avg = 2.5, .p95 = 4.0}};
    fx->rows[1] = (struct ts_row){.t = 1,
                                  .wall_ns = 1795892820123000000ULL,
                                  .vus = 8,
                                  .http_reqs = 600,
                                  .failed = 3,
                                  .errors = 3};
    /* What cli_run gets: main's argv after the program name. */
    fx->argv[0] = "run";
    fx->argv[1] = "http://127.0.0.1:8080/x?y=1";

    fx->r.plan = &fx->plan;
    fx->r.argc = 2;
    fx->r.argv = fx->argv;
    fx->r.total = reg;
    fx->r.rows = fx->rows;
    fx->r.n_rows = 2;
    fx->r.thresholds = fx->th;
    fx->r.n_thresholds = 2;
    fx->r.start_wall_ns = 1795892819123456789ULL; /* 2026-11-28T...: ms kept, rest cut */
    fx->r.end_wall_ns = fx->r.start_wall_ns + 2000000000ULL;
    fx->r.duration_ns = 2000000000ULL;
    fx->r.thresholds_failed = true;
    fx->r.exit_code = 99;
    snprintf(fx->r.warnings[0], sizeof fx->r.warnings[0], "achieved rate below target");
    fx->r.n_warnings = 1;
}

static void fixture_destroy(struct fixture *fx)
{
    registry_free(fx->r.total);
}

/* The document for fx, pretty-printed; the caller destroys w. */
static void render(struct fixture *fx, struct jsonw *w)
{
    jsonw_init(w, 2, RESULT_MAX_BYTES);
    int rc = result_to_json(&fx->r, w);
    cr_assert_eq(rc, 0, "result_to_json: %d", rc);
    size_t len, off = 0;
    const char *doc = jsonw_data(w, &len);
    int v = json_validate(doc, len, &off);
    cr_assert_eq(v, 0, "document invalid at byte %zu: %.80s", off, doc + off);
}

static int get(const struct jsonw *w, const char *path, struct json_span *out)
{
    struct json_path p;
    char err[128];
    size_t len;
    const char *doc = jsonw_data(w, &len);
    cr_assert_eq(json_path_compile(path, &p, err, sizeof err), 0, "path %s: %s", path, err);
    return json_path_get(&p, doc, len, out);
}

static double num(const struct jsonw *w, const char *path)
{
    struct json_span s;
    double d = NAN;
    int rc = get(w, path, &s);
    cr_assert_eq(rc, 0, "%s: not found (%d)", path, rc);
    cr_assert_eq(s.type, JSON_NUMBER, "%s: type %d, want a number", path, s.type);
    cr_assert_eq(json_span_number(&s, &d), 0, "%s: not a number", path);
    return d;
}

static void expect_str(const struct jsonw *w, const char *path, const char *want)
{
    struct json_span s;
    char buf[512];
    int rc = get(w, path, &s);
    cr_assert_eq(rc, 0, "%s: not found (%d)", path, rc);
    cr_assert_eq(s.type, JSON_STRING, "%s: type %d, want a string", path, s.type);
    cr_assert_geq(json_span_text(&s, buf, sizeof buf), 0, "%s: text", path);
    cr_expect_str_eq(buf, want, "%s: \"%s\", want \"%s\"", path, buf, want);
}

static enum json_type type_at(const struct jsonw *w, const char *path)
{
    struct json_span s;
    int rc = get(w, path, &s);
    cr_assert_eq(rc, 0, "%s: not found (%d)", path, rc);
    return s.type;
}

Test(result, schema_meta_and_options)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    render(&fx, &w);

    expect_str(&w, "$.schema", "brunt-result/1");
    /* The program as invoked comes first (issue 7, item 13: argv[0] was missing). */
    expect_str(&w, "$.meta.command[0]", program_invocation_short_name);
    expect_str(&w, "$.meta.command[1]", "run");
    expect_str(&w, "$.meta.command[2]", "http://127.0.0.1:8080/x?y=1");
    expect_str(&w, "$.meta.start", "2026-11-28T19:06:59.123Z");
    expect_str(&w, "$.meta.end", "2026-11-28T19:07:01.123Z");
    cr_expect_float_eq(num(&w, "$.meta.duration_ms"), 2000.0, 1e-9, "duration_ms");
    cr_expect_eq(num(&w, "$.meta.exit_code"), 99, "exit_code");
    cr_expect_eq(type_at(&w, "$.meta.abort_reason"), JSON_NULL, "abort_reason null");
    cr_expect_gt(num(&w, "$.meta.machine.cores"), 0, "cores");
    cr_expect_eq(type_at(&w, "$.meta.machine.hostname"), JSON_STRING, "hostname");

    expect_str(&w, "$.options.url", "http://127.0.0.1:8080/x?y=1");
    expect_str(&w, "$.options.method", "GET");
    expect_str(&w, "$.options.model", "closed");
    expect_str(&w, "$.options.executor", "constant-vus");
    cr_expect_eq(num(&w, "$.options.threads"), 2, "threads");
    cr_expect_eq(num(&w, "$.options.connections"), 8, "connections");
    cr_expect_eq(num(&w, "$.options.duration_ms"), 10000, "duration_ms");
    cr_expect_eq(num(&w, "$.options.timeout_ms"), 60000, "timeout_ms");
    cr_expect_eq(type_at(&w, "$.options.rate"), JSON_NULL, "rate null in the closed model");
    cr_expect_eq(type_at(&w, "$.options.requests"), JSON_NULL, "requests null");
    cr_expect_eq(type_at(&w, "$.options.stages"), JSON_ARRAY, "stages");
    expect_str(&w, "$.warnings[0]", "achieved rate below target");

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

Test(result, metric_values)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    render(&fx, &w);

    expect_str(&w, "$.metrics.http_reqs.type", "counter");
    cr_expect_eq(num(&w, "$.metrics.http_reqs.values.count"), N_DUR_A + N_DUR_B, "count");
    cr_expect_float_eq(num(&w, "$.metrics.http_reqs.values.rate"), (N_DUR_A + N_DUR_B) / 2.0, 1e-9,
                       "rate over 2 s");
    expect_str(&w, "$.metrics.http_req_failed.type", "rate");
    cr_expect_float_eq(num(&w, "$.metrics.http_req_failed.values.rate"), 0.03, 1e-12, "rate");
    cr_expect_eq(num(&w, "$.metrics.http_req_failed.values.passes"), 3, "passes");
    cr_expect_eq(num(&w, "$.metrics.http_req_failed.values.fails"), 97, "fails");
    cr_expect_eq(num(&w, "$.metrics.vus.values.value"), 8, "vus value");
    cr_expect_eq(num(&w, "$.metrics.vus.values.min"), 4, "vus min");
    cr_expect_eq(num(&w, "$.metrics.vus.values.max"), 8, "vus max");

    /* The trend over both series: 1..1000 ms once each, plus 200 x 5 ms. */
    expect_str(&w, "$.metrics.http_req_duration.contains", "time");
    double count = num(&w, "$.metrics.http_req_duration.values.count");
    cr_expect_eq(count, N_DUR_A + N_DUR_B, "trend count %g", count);
    /* Exact median (nearest rank 600 of 1200 sorted values): 200 fives and 1..5 make
     * 205 values <= 5 ms; the 600th value is 600 - 200 = 400 ms. */
    double med = num(&w, "$.metrics.http_req_duration.values.med");
    cr_expect(fabs(med - 400.0) <= 400.0 * 0.001, "med %g ms, want 400 within 0.1%%", med);
    double mn = num(&w, "$.metrics.http_req_duration.values.min");
    double mx = num(&w, "$.metrics.http_req_duration.values.max");
    cr_expect_float_eq(mn, 1.0, 1e-9, "min %g", mn);
    cr_expect_float_eq(mx, 1000.0, 1e-9, "max %g", mx);
    double avg = num(&w, "$.metrics.http_req_duration.values.avg");
    double want_avg = (500500.0 + 1000.0) / 1200.0;
    cr_expect_float_eq(avg, want_avg, 1e-9, "avg %g, want %g", avg, want_avg);
    double p99 = num(&w, "$.metrics.http_req_duration.values['p(99)']");
    cr_expect(fabs(p99 - 988.0) <= 988.0 * 0.001, "p(99) %g, want 988", p99);

    /* A series without samples leaves its metric out. */
    struct json_span s;
    cr_expect_eq(get(&w, "$.metrics.http_req_tls_handshaking", &s), JSON_ENOTFOUND,
                 "empty metric written");

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

Test(result, histogram_buckets_add_up)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    render(&fx, &w);

    expect_str(&w, "$.metrics.http_req_duration.histogram.unit", "ns");
    cr_expect_eq(num(&w, "$.metrics.http_req_duration.histogram.min"), 1000000, "min ns");
    cr_expect_eq(num(&w, "$.metrics.http_req_duration.histogram.max"), 1000000000, "max ns");
    cr_expect_float_eq(num(&w, "$.metrics.http_req_duration.histogram.sum"),
                       (500500.0 + 1000.0) * 1e6, 1, "sum ns");
    double sum = 0, prev = -1;
    size_t n = 0;
    for (;; n++) {
        char path[128];
        struct json_span s;
        snprintf(path, sizeof path, "$.metrics.http_req_duration.histogram.buckets[%zu][1]", n);
        if (get(&w, path, &s) == JSON_ENOTFOUND) {
            break;
        }
        snprintf(path, sizeof path, "$.metrics.http_req_duration.histogram.buckets[%zu][0]", n);
        double v = num(&w, path);
        cr_assert_gt(v, prev, "buckets not ascending at %zu: %g after %g", n, v, prev);
        prev = v;
        double c;
        cr_assert_eq(json_span_number(&s, &c), 0, "bucket count");
        sum += c;
    }
    /* 1000 distinct values, some sharing a bucket above 512 ms (buckets ~1 ms wide). */
    cr_expect(n > 900 && n <= N_DUR_A, "%zu buckets for 1000 distinct values", n);
    cr_expect_eq(sum, N_DUR_A + N_DUR_B, "bucket counts add up to %g, want %d", sum,
                 N_DUR_A + N_DUR_B);

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

Test(result, series_tags_are_objects)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    render(&fx, &w);

    cr_expect_eq(type_at(&w, "$.metrics.http_req_duration.series[0].tags"), JSON_OBJECT,
                 "tags object");
    expect_str(&w, "$.metrics.http_req_duration.series[0].tags.name", "a");
    expect_str(&w, "$.metrics.http_req_duration.series[0].tags.status", "200");
    expect_str(&w, "$.metrics.http_req_duration.series[1].tags.name", "b");
    cr_expect_eq(num(&w, "$.metrics.http_req_duration.series[1].values.count"), N_DUR_B,
                 "series b count");
    cr_expect_float_eq(num(&w, "$.metrics.http_req_duration.series[1].values.med"), 5.0, 0.005,
                       "series b med");
    cr_expect_eq(num(&w, "$.metrics.http_req_duration.series[1].histogram.count"), N_DUR_B,
                 "series b histogram");
    cr_expect_eq(type_at(&w, "$.metrics.http_req_failed.series[0].tags"), JSON_OBJECT,
                 "empty tag set is {}");

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

Test(result, thresholds_timeseries_errors)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    render(&fx, &w);

    expect_str(&w, "$.thresholds[0].metric", "http_req_duration");
    expect_str(&w, "$.thresholds[0].expression", "p(95)<300");
    cr_expect_eq(type_at(&w, "$.thresholds[0].ok"), JSON_FALSE, "failed threshold ok=false");
    cr_expect_float_eq(num(&w, "$.thresholds[0].observed"), 912.5, 1e-9, "observed");
    cr_expect_eq(type_at(&w, "$.thresholds[1].ok"), JSON_TRUE, "passed threshold ok=true");
    cr_expect_eq(type_at(&w, "$.thresholds[1].abort_on_fail"), JSON_TRUE, "abort_on_fail");

    cr_expect_eq(num(&w, "$.timeseries.interval_ms"), 1000, "interval");
    cr_expect_eq(num(&w, "$.timeseries.rows[1].t"), 1, "row t");
    expect_str(&w, "$.timeseries.rows[0].time", "2026-11-28T19:06:59.123Z");
    cr_expect_eq(num(&w, "$.timeseries.rows[1].http_reqs"), 600, "row http_reqs");
    cr_expect_eq(num(&w, "$.timeseries.rows[1].failed"), 3, "row failed");
    cr_expect_float_eq(num(&w, "$.timeseries.rows[0].http_req_duration['p(95)']"), 4.0, 1e-9,
                       "row p95");

    cr_expect_eq(num(&w, "$.errors.refused"), 2, "refused");
    cr_expect_eq(num(&w, "$.errors.timeout"), 1, "timeout");
    static const char *const zero[] = {"reset", "protocol", "dns", "tls", "connect", "other"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "$.errors.%s", zero[i]);
        cr_expect_eq(num(&w, path), 0, "%s not 0", zero[i]);
    }

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

/* A worker starved by the machine hands its second over late: its shard holds 1.13 s of
 * samples (its next one 0.87 s).  Two workers at 200/s, B late: the late row is 200 over
 * 1 s + 226 over 1.13 s, the next 200 over 1 s + 174 over 0.87 s: 400/s both, where a
 * division by a second reads 426 and 374, and one by the longest span 377 and 374. */
Test(result, row_rate_is_each_workers_requests_over_its_own_span)
{
    cr_expect_float_eq(run_shard_rate(200, NS_PER_S) + run_shard_rate(226, 1130000000ULL), 400.0,
                       1e-9, "the late row");
    cr_expect_float_eq(run_shard_rate(200, NS_PER_S) + run_shard_rate(174, 870000000ULL), 400.0,
                       1e-9, "the row after it");
    cr_expect_float_eq(run_shard_rate(5, 1000000ULL), 5.0, 1e-9, "a 1 ms span is not measured");

    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    fx.rows[0].rate = run_shard_rate(600, 1200000000ULL);
    fx.rows[0].rate_known = true;
    render(&fx, &w);
    cr_expect_float_eq(num(&w, "$.timeseries.rows[0].rps"), 500.0, 1e-9, "600 in 1.2 s");
    cr_expect_float_eq(num(&w, "$.timeseries.rows[1].rps"), 600.0, 1e-9,
                       "no worker's span known (rows of the probes alone): a second");
    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

Test(result, open_model_and_several_scenarios)
{
    struct fixture fx;
    struct jsonw w;
    fixture_init(&fx);
    struct scenario_plan sc[2];
    struct stage stages[2] = {{.duration_ns = 5000000000ULL, .target = 100},
                              {.duration_ns = 5000000000ULL, .target = 300}};
    sc[0] = fx.sc;
    sc[1] = fx.sc;
    sc[1].name = "bid";
    sc[1].executor = EXEC_RAMPING_ARRIVAL_RATE;
    sc[1].start_rate = 10;
    sc[1].stages = stages;
    sc[1].n_stages = 2;
    sc[1].pre_allocated_vus = 20;
    sc[1].max_vus = 50;
    sc[1].max_queue_ns = 1000000000ULL;
    fx.plan.scenarios = sc;
    fx.plan.n_scenarios = 2;
    render(&fx, &w);

    expect_str(&w, "$.options.url", "http://127.0.0.1:8080/x?y=1");
    cr_expect_eq(type_at(&w, "$.options.model"), JSON_NULL, "model differs: null");
    cr_expect_eq(type_at(&w, "$.options.executor"), JSON_NULL, "executor differs: null");
    cr_expect_eq(num(&w, "$.options.connections"), 28, "8 VUs + 20 pre-allocated");
    cr_expect_eq(num(&w, "$.options.rate"), 300, "the open scenario's peak rate");
    cr_expect_eq(num(&w, "$.options.duration_ms"), 10000, "plan length");
    expect_str(&w, "$.options.scenarios[1].name", "bid");
    expect_str(&w, "$.options.scenarios[1].model", "open");
    expect_str(&w, "$.options.scenarios[1].executor", "ramping-arrival-rate");
    cr_expect_eq(num(&w, "$.options.scenarios[1].max_vus"), 50, "max_vus");
    cr_expect_eq(num(&w, "$.options.scenarios[1].max_queue_ms"), 1000, "max_queue_ms");
    cr_expect_eq(num(&w, "$.options.scenarios[1].stages[1].target"), 300, "stage target");
    cr_expect_eq(num(&w, "$.options.scenarios[1].stages[1].duration_ms"), 5000, "stage length");
    cr_expect_eq(type_at(&w, "$.options.scenarios[0].max_queue_ms"), JSON_NULL,
                 "closed scenario has no queue");

    jsonw_destroy(&w);
    fixture_destroy(&fx);
}

/* A fresh directory under /tmp for one test. */
static void make_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/brunt-test-result-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

/* Entries of dir other than . and .. whose name contains needle. */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strstr(e->d_name, needle) != NULL) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n, "short read");
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

Test(result, write_is_complete_and_leaves_no_temp)
{
    struct fixture fx;
    char dir[64], path[128], err[512];
    fixture_init(&fx);
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/result.json", dir);

    /* An old file is replaced as a whole. */
    FILE *old = fopen(path, "w");
    cr_assert_not_null(old);
    fputs("old", old);
    fclose(old);

    int rc = result_write(path, &fx.r, err, sizeof err);
    cr_assert_eq(rc, 0, "result_write: %d (%s)", rc, err);
    size_t len;
    char *doc = slurp(path, &len);
    cr_expect_gt(len, 1, "empty file");
    cr_expect_eq(doc[len - 1], '\n', "no final newline");
    size_t off = 0;
    cr_expect_eq(json_validate(doc, len, &off), 0, "file invalid at %zu", off);
    struct json_span s;
    cr_expect_eq(json_get_member(doc, len, "schema", &s), 0, "schema member");
    cr_expect_eq(count_entries(dir, ".tmp."), 0, "temporary file left behind");
    cr_expect_eq(count_entries(dir, ""), 1, "other files in the directory");

    free(doc);
    unlink(path);
    rmdir(dir);
    fixture_destroy(&fx);
}

Test(result, write_into_missing_directory_fails_clearly)
{
    struct fixture fx;
    char dir[64], path[160], err[512];
    fixture_init(&fx);
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/missing/result.json", dir);

    err[0] = '\0';
    int rc = result_write(path, &fx.r, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d, want -1", rc);
    cr_expect_not_null(strstr(err, path), "message does not name the path: %s", err);
    cr_expect_not_null(strstr(err, "No such file or directory"), "message: %s", err);
    cr_expect_null(strchr(err, '\n'), "message is not one line: %s", err);
    struct stat st;
    cr_expect_neq(stat(path, &st), 0, "file appeared");
    cr_expect_eq(count_entries(dir, ""), 0, "something was created in %s", dir);

    rmdir(dir);
    fixture_destroy(&fx);
}

Test(result, failed_rename_removes_temp_file)
{
    struct fixture fx;
    char dir[64], path[128], err[512];
    fixture_init(&fx);
    make_dir(dir, sizeof dir);
    /* The target is a non-empty directory: the rename fails after the temp file was
     * written, and the temp file must go. */
    snprintf(path, sizeof path, "%s/target", dir);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir");
    char inner[160];
    snprintf(inner, sizeof inner, "%s/keep", path);
    FILE *k = fopen(inner, "w");
    cr_assert_not_null(k);
    fclose(k);

    int rc = result_write(path, &fx.r, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d, want -1", rc);
    cr_expect_not_null(strstr(err, "rename"), "message: %s", err);
    cr_expect_eq(count_entries(dir, ".tmp."), 0, "temporary file left behind");

    unlink(inner);
    rmdir(path);
    rmdir(dir);
    fixture_destroy(&fx);
}

Test(result, compact_document_is_valid_and_equal)
{
    struct fixture fx;
    struct jsonw pretty, compact;
    fixture_init(&fx);
    render(&fx, &pretty);
    jsonw_init(&compact, 0, RESULT_MAX_BYTES);
    cr_assert_eq(result_to_json(&fx.r, &compact), 0, "compact result_to_json");
    size_t clen, plen, off = 0;
    const char *cdoc = jsonw_data(&compact, &clen);
    (void)jsonw_data(&pretty, &plen);
    cr_assert_eq(json_validate(cdoc, clen, &off), 0, "compact invalid at %zu", off);
    cr_expect_null(memchr(cdoc, '\n', clen), "newline in a compact document");
    cr_expect_lt(clen, plen, "compact %zu bytes, pretty %zu", clen, plen);
    cr_expect_eq(num(&compact, "$.metrics.http_req_duration.histogram.buckets[0][1]"),
                 num(&pretty, "$.metrics.http_req_duration.histogram.buckets[0][1]"),
                 "first bucket differs");
    cr_expect_eq(num(&compact, "$.metrics.http_req_duration.histogram.buckets[7][0]"),
                 num(&pretty, "$.metrics.http_req_duration.histogram.buckets[7][0]"),
                 "bucket 7 differs");
    jsonw_destroy(&compact);
    jsonw_destroy(&pretty);
    fixture_destroy(&fx);
}

/* The rate a breakpoint ramp reached, as the result and the summary say it: one figure.
 * A ramp that had not started when the run stopped (t_s 0: it starts 5 s in, the run
 * lasted 2 s) reached no rate although it starts at 50/s; one that ran 2 s of a 10 s
 * ramp from 50/s to 200/s reached 80/s. */
Test(result, breakpoint_reached_rate_agrees_with_the_summary)
{
    static struct stage stages[1] = {{10 * 1000000000ULL, 200}};
    const struct {
        uint64_t start_time_ns;
        double reached;
        const char *line;
    } cases[2] = {{5 * 1000000000ULL, 0, "held up to 0.0/s"}, {0, 80, "held up to 80.0/s"}};
    for (size_t i = 0; i < 2; i++) {
        struct fixture fx;
        fixture_init(&fx);
        fx.sc.name = "ramp";
        fx.sc.executor = EXEC_RAMPING_ARRIVAL_RATE;
        fx.sc.breakpoint = true;
        fx.sc.start_rate = 50;
        fx.sc.stages = stages;
        fx.sc.n_stages = 1;
        fx.sc.start_time_ns = cases[i].start_time_ns;
        struct jsonw w;
        render(&fx, &w);
        cr_expect_eq(type_at(&w, "$.analysis.breakpoint.broke"), JSON_FALSE);
        double reached = num(&w, "$.analysis.breakpoint.reached_rate");
        cr_expect_float_eq(reached, cases[i].reached, 1e-9, "case %zu: reached_rate %g", i,
                           reached);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        cr_assert_not_null(f);
        cli_breakpoint_print(f, &fx.sc, &fx.r);
        cr_assert_eq(fclose(f), 0);
        cr_expect(strstr(out, cases[i].line) != NULL, "case %zu: %s", i, out);
        free(out);
        jsonw_destroy(&w);
        fixture_destroy(&fx);
    }
}
