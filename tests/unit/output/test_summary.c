/*
 * Tests for output/summary (and output/progress, which has no file of its own): the
 * summary of a hand-built report is printed into a memory stream and its key lines are
 * looked for — the header, threshold marks with observed values (also for a metric with
 * no samples), counters with rates, the rate metric as "N out of M", trends with units,
 * http_req_duration per name, errors by kind, data in human units, the open-model rate
 * line and warnings — and colour escapes appear only when asked for.  The progress line
 * is checked in terminal mode (rewritten with \r, cleared on finish), plain mode (one line
 * per 10 s) and quiet mode (nothing).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/plan.h"
#include "engine/run.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "output/progress.h"
#include "output/summary.h"

struct fixture {
    struct plan plan;
    struct scenario_plan sc;
    struct origin origin;
    struct step step;
    struct threshold th[3];
    struct run_report r;
};

static int series(struct registry *reg, int metric, const char *k, const char *v)
{
    const char *keys[1] = {k}, *values[1] = {v};
    char tags[128];
    cr_assert_geq(tags_canon(tags, sizeof tags, keys, values, k ? 1 : 0), 0, "tags_canon");
    int i = registry_get(reg, metric, tags);
    cr_assert_geq(i, 0, "registry_get");
    return i;
}

static void fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    cr_assert_eq(url_parse("http://127.0.0.1:8080/bid", &fx->origin.url), 0, "url_parse");
    fx->step = (struct step){.kind = STEP_REQUEST, .origin = &fx->origin, .method = "POST"};
    fx->sc = (struct scenario_plan){.name = "default",
                                    .executor = EXEC_CONSTANT_ARRIVAL_RATE,
                                    .duration_ns = 30000000000ULL,
                                    .rate = 1000,
                                    .time_unit_ns = 1000000000ULL,
                                    .pre_allocated_vus = 10,
                                    .max_vus = 100,
                                    .steps = &fx->step,
                                    .n_steps = 1};
    fx->plan = (struct plan){.scenarios = &fx->sc, .n_scenarios = 1, .threads = 2};

    struct registry *reg = registry_new();
    cr_assert_not_null(reg);
    int a = series(reg, M_HTTP_REQ_DURATION, "name", "login");
    int b = series(reg, M_HTTP_REQ_DURATION, "name", "bid");
    for (int i = 0; i < 100; i++) {
        series_trend_ns(registry_at(reg, a), 2000000ULL); /* 2 ms */
        series_trend_ns(registry_at(reg, b), 250000ULL);  /* 250 µs */
    }
    series_add(registry_at(reg, series(reg, M_HTTP_REQS, NULL, NULL)), 1200);
    int failed = series(reg, M_HTTP_REQ_FAILED, NULL, NULL);
    for (int i = 0; i < 1200; i++) {
        series_rate(registry_at(reg, failed), i < 6);
    }
    series_add(registry_at(reg, series(reg, M_DATA_RECEIVED, NULL, NULL)), 1234567);
    series_add(registry_at(reg, series(reg, M_ERRORS, "kind", "refused")), 4);
    series_add(registry_at(reg, series(reg, M_ERRORS, "kind", "timeout")), 2);
    int vus = series(reg, M_VUS, NULL, NULL);
    series_gauge(registry_at(reg, vus), 10);
    series_gauge(registry_at(reg, vus), 3);
    (void)series(reg, M_HTTP_REQ_TLS_HANDSHAKING, NULL, NULL); /* registered, no samples */

    fx->th[0] = (struct threshold){.metric_expr = "http_req_duration",
                                   .source = "p(95)<300",
                                   .metric = M_HTTP_REQ_DURATION,
                                   .agg = TH_PCT,
                                   .pct = 95,
                                   .evaluated = true,
                                   .observed = 2.0};
    fx->th[1] = (struct threshold){.metric_expr = "http_req_failed",
                                   .source = "rate<0.001",
                                   .metric = M_HTTP_REQ_FAILED,
                                   .agg = TH_RATE,
                                   .evaluated = true,
                                   .failed = true,
                                   .observed = 0.005};
    fx->th[2] = (struct threshold){.metric_expr = "http_req_tls_handshaking",
                                   .source = "avg<100",
                                   .metric = M_HTTP_REQ_TLS_HANDSHAKING,
                                   .agg = TH_AVG,
                                   .evaluated = true,
                                   .observed = 0};

    fx->r.plan = &fx->plan;
    fx->r.total = reg;
    fx->r.thresholds = fx->th;
    fx->r.n_thresholds = 3;
    fx->r.duration_ns = 2000000000ULL; /* 2 s */
    fx->r.target_rate = 1000;
    fx->r.achieved_rate = 950;
    fx->r.completed_rate = 900;
    snprintf(fx->r.warnings[0], sizeof fx->r.warnings[0],
             "achieved rate 950/s is below 99%% of the target 1000/s");
    fx->r.n_warnings = 1;
}

/* The summary of fx as a NUL-terminated string (free it). */
static char *render(struct fixture *fx, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f, "open_memstream");
    summary_print(f, &fx->r, color);
    cr_assert_eq(fclose(f), 0, "fclose");
    return buf;
}

/* The line of text that contains needle (copied into line), or false. */
static bool find_line(const char *text, const char *needle, char *line, size_t cap)
{
    const char *p = strstr(text, needle);
    if (p == NULL) {
        return false;
    }
    const char *start = p, *end = strchr(p, '\n');
    while (start > text && start[-1] != '\n') {
        start--;
    }
    size_t n = end ? (size_t)(end - start) : strlen(start);
    n = n < cap - 1 ? n : cap - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    return true;
}

#define EXPECT_LINE(text, needle) \
    cr_expect(strstr((text), (needle)) != NULL, "no \"%s\" in the summary:\n%s", (needle), (text))

Test(summary, header_names_the_load)
{
    struct fixture fx;
    fixture_init(&fx);
    char *s = render(&fx, false);
    EXPECT_LINE(s, "2 threads");
    EXPECT_LINE(s, "ran 2s of 30s");
    EXPECT_LINE(s, "POST http://127.0.0.1:8080/bid");
    EXPECT_LINE(s, "constant-arrival-rate (open model)");
    EXPECT_LINE(s, "1000/s");
    free(s);
    registry_free(fx.r.total);
}

Test(summary, thresholds_show_marks_and_observed_values)
{
    struct fixture fx;
    fixture_init(&fx);
    char *s = render(&fx, false);
    EXPECT_LINE(s, "THRESHOLDS");
    EXPECT_LINE(s, "\xe2\x9c\x93 'p(95)<300' p(95)=2ms");
    EXPECT_LINE(s, "\xe2\x9c\x97 'rate<0.001' rate=0.50%");
    /* A threshold on a metric without samples still shows. */
    EXPECT_LINE(s, "    http_req_tls_handshaking\n");
    EXPECT_LINE(s, "\xe2\x9c\x93 'avg<100' avg=0s");
    /* Grouped: the metric expression comes before its thresholds. */
    const char *grp = strstr(s, "    http_req_failed\n");
    const char *mark = strstr(s, "'rate<0.001'");
    cr_expect(grp != NULL && mark != NULL && grp < mark, "threshold not under its metric:\n%s", s);
    free(s);
    registry_free(fx.r.total);
}

Test(summary, metric_rows)
{
    struct fixture fx;
    char line[512];
    fixture_init(&fx);
    char *s = render(&fx, false);

    cr_assert(find_line(s, "http_reqs...", line, sizeof line), "no http_reqs row:\n%s", s);
    cr_expect(strstr(line, ": 1200") != NULL && strstr(line, "600/s") != NULL, "http_reqs row: %s",
              line);
    cr_assert(find_line(s, "http_req_failed...", line, sizeof line), "no failed row:\n%s", s);
    cr_expect(strstr(line, "0.50%") != NULL && strstr(line, "6 out of 1200") != NULL,
              "http_req_failed row: %s", line);
    cr_assert(find_line(s, "http_req_duration...", line, sizeof line), "no duration:\n%s", s);
    cr_expect(strstr(line, "min=250\xc2\xb5s") != NULL && strstr(line, "max=2ms") != NULL &&
                  strstr(line, "p(99)=") != NULL,
              "http_req_duration row: %s", line);
    cr_expect(strncmp(line, "    http_req_duration....", 25) == 0, "dot leaders: %s", line);
    cr_assert(find_line(s, "data_received...", line, sizeof line), "no data row:\n%s", s);
    cr_expect(strstr(line, "1.23 MB") != NULL && strstr(line, "617 kB/s") != NULL,
              "data_received row: %s", line);
    cr_assert(find_line(s, "vus...", line, sizeof line), "no vus row:\n%s", s);
    cr_expect(strstr(line, ": 3") != NULL && strstr(line, "min=3 max=10") != NULL, "vus row: %s",
              line);
    /* Registered without samples: left out. */
    cr_expect(strstr(s, "http_req_tls_handshaking...") == NULL, "empty metric shown:\n%s", s);
    /* Groups. */
    EXPECT_LINE(s, "    HTTP\n");
    EXPECT_LINE(s, "    EXECUTION\n");
    EXPECT_LINE(s, "    NETWORK\n");
    free(s);
    registry_free(fx.r.total);
}

Test(summary, duration_per_name_and_errors_by_kind)
{
    struct fixture fx;
    char line[512];
    fixture_init(&fx);
    char *s = render(&fx, false);
    cr_assert(find_line(s, "{ name:login }", line, sizeof line), "no login row:\n%s", s);
    cr_expect(strstr(line, "med=2ms") != NULL, "login row: %s", line);
    cr_assert(find_line(s, "{ name:bid }", line, sizeof line), "no bid row:\n%s", s);
    cr_expect(strstr(line, "med=250\xc2\xb5s") != NULL, "bid row: %s", line);
    EXPECT_LINE(s, "    ERRORS\n");
    cr_assert(find_line(s, "{ kind:refused }", line, sizeof line), "no refused row:\n%s", s);
    cr_expect(strstr(line, ": 4") != NULL && strstr(line, "66.67%") != NULL, "refused: %s", line);
    cr_assert(find_line(s, "    http_errors...", line, sizeof line), "no errors row:\n%s", s);
    cr_expect(strstr(line, ": 6") != NULL, "errors row: %s", line);
    free(s);
    registry_free(fx.r.total);
}

Test(summary, one_name_gives_no_per_name_rows)
{
    struct fixture fx;
    fixture_init(&fx);
    struct registry *reg = registry_new();
    int a = series(reg, M_HTTP_REQ_DURATION, "name", "only");
    series_trend_ns(registry_at(reg, a), 1000000ULL);
    registry_free(fx.r.total);
    fx.r.total = reg;
    char *s = render(&fx, false);
    cr_expect(strstr(s, "{ name:") == NULL, "per-name rows for a single name:\n%s", s);
    cr_expect(strstr(s, "ERRORS") == NULL, "ERRORS group without errors:\n%s", s);
    free(s);
    registry_free(fx.r.total);
}

Test(summary, rate_line_and_warnings)
{
    struct fixture fx;
    fixture_init(&fx);
    char *s = render(&fx, false);
    EXPECT_LINE(s, "rate: target 1000/s, started 950/s (95.0%), completed 900/s (90.0%)");
    EXPECT_LINE(s, "  WARN achieved rate 950/s is below 99% of the target 1000/s\n");
    free(s);
    registry_free(fx.r.total);
}

Test(summary, colour_only_when_asked)
{
    struct fixture fx;
    fixture_init(&fx);
    char *plain = render(&fx, false);
    char *col = render(&fx, true);
    cr_expect(strchr(plain, '\x1b') == NULL, "escape in plain output:\n%s", plain);
    cr_expect(strstr(col, "\x1b[31m\xe2\x9c\x97") != NULL, "failed mark not red:\n%s", col);
    cr_expect(strstr(col, "\x1b[32m\xe2\x9c\x93") != NULL, "passed mark not green:\n%s", col);
    free(plain);
    free(col);
    registry_free(fx.r.total);
}

Test(summary, interrupted_and_aborted_are_said)
{
    struct fixture fx;
    fixture_init(&fx);
    fx.r.aborted = true;
    snprintf(fx.r.abort_reason, sizeof fx.r.abort_reason, "http_req_failed 'rate<0.001'");
    char *s = render(&fx, false);
    EXPECT_LINE(s, "ABORTED");
    EXPECT_LINE(s, "aborted: http_req_failed 'rate<0.001'");
    free(s);
    fx.r.aborted = false;
    fx.r.interrupted = true;
    s = render(&fx, false);
    EXPECT_LINE(s, "interrupted");
    free(s);
    registry_free(fx.r.total);
}

/* ---- progress ---- */

static struct run_progress at(double seconds)
{
    return (struct run_progress){.elapsed_ns = (uint64_t)(seconds * 1e9),
                                 .planned_ns = 30000000000ULL,
                                 .vus = 64,
                                 .rps = 5123,
                                 .p95_ms = 2.31,
                                 .requests = 1000,
                                 .errors = 1};
}

Test(progress, tty_rewrites_one_line_and_clears_it)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct progress *p = progress_new(f, true, false);
    cr_assert_not_null(p);
    struct run_progress a = at(1), b = at(12);
    progress_update(p, &a);
    progress_update(p, &b);
    progress_finish(p);
    progress_free(p);
    fclose(f);
    cr_expect(strchr(buf, '\n') == NULL, "a newline in terminal mode: %s", buf);
    cr_expect(strstr(buf, "\r\x1b[K") == buf, "not rewritten in place: %s", buf);
    cr_expect(strstr(buf, "12s/30s") != NULL, "elapsed/planned: %s", buf);
    cr_expect(strstr(buf, "64 VUs") != NULL && strstr(buf, "5123 req/s") != NULL &&
                  strstr(buf, "p95 2.31ms") != NULL && strstr(buf, "errors 1 (0.10%)") != NULL,
              "line: %s", buf);
    size_t n = strlen(buf);
    cr_expect(n >= 4 && strcmp(buf + n - 4, "\r\x1b[K") == 0, "not cleared at the end: %s", buf);
    free(buf);
}

Test(progress, plain_prints_every_ten_seconds)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct progress *p = progress_new(f, false, false);
    cr_assert_not_null(p);
    for (int s = 1; s <= 25; s++) {
        struct run_progress rp = at(s + 0.01);
        progress_update(p, &rp);
    }
    progress_finish(p);
    progress_free(p);
    fclose(f);
    int lines = 0;
    for (const char *c = buf; *c; c++) {
        lines += *c == '\n';
    }
    cr_expect_eq(lines, 2, "%d lines in 25 s, want 2:\n%s", lines, buf);
    cr_expect(strstr(buf, "running 10s/30s:") != NULL, "first line: %s", buf);
    cr_expect(strstr(buf, "running 20s/30s:") != NULL, "second line: %s", buf);
    cr_expect(strchr(buf, '\r') == NULL && strchr(buf, '\x1b') == NULL, "escapes: %s", buf);
    free(buf);
}

Test(progress, quiet_prints_nothing)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct progress *p = progress_new(f, true, true);
    cr_assert_not_null(p);
    struct run_progress rp = at(11);
    progress_update(p, &rp);
    progress_finish(p);
    progress_free(p);
    progress_free(NULL);
    fclose(f);
    cr_expect_eq(len, 0, "quiet wrote %zu bytes: %s", len, buf);
    free(buf);
}

/* The series of http_reqs with a status and its expected_response tag. */
static void add_status(struct registry *reg, const char *status, const char *expected, double n)
{
    const char *keys[2] = {"status", "expected_response"}, *values[2] = {status, expected};
    char tags[128];
    cr_assert_geq(tags_canon(tags, sizeof tags, keys, values, 2), 0, "tags_canon");
    int i = registry_get(reg, M_HTTP_REQS, tags);
    cr_assert_geq(i, 0, "registry_get");
    series_add(registry_at(reg, i), n);
}

/* fx as fixture_init makes it, with an empty registry for the run's totals (returned). */
static struct registry *empty_totals(struct fixture *fx)
{
    fixture_init(fx);
    struct registry *reg = registry_new();
    cr_assert_not_null(reg);
    registry_free(fx->r.total);
    fx->r.total = reg;
    return reg;
}

Test(summary, responses_by_status_say_which_failed)
{
    struct fixture fx;
    char line[512];
    struct registry *reg = empty_totals(&fx);
    add_status(reg, "200", "true", 30);
    add_status(reg, "400", "false", 60);
    add_status(reg, "0", "false", 10);
    char *s = render(&fx, false);
    cr_assert(find_line(s, "{ status:400 }", line, sizeof line), "no 400 row:\n%s", s);
    cr_expect(strstr(line, ": 60") != NULL && strstr(line, "60.00% unexpected (failed)") != NULL,
              "400 row: %s", line);
    cr_assert(find_line(s, "{ status:0 }", line, sizeof line), "no status 0 row:\n%s", s);
    cr_expect(strstr(line, "no response") != NULL, "status 0 row: %s", line);
    cr_expect(strstr(s, "{ status:400 }") < strstr(s, "{ status:200 }"),
              "not most frequent first:\n%s", s);
    free(s);
    registry_free(fx.r.total);

    /* All 2xx and expected: no rows. */
    reg = empty_totals(&fx);
    add_status(reg, "200", "true", 30);
    add_status(reg, "201", "true", 3);
    s = render(&fx, false);
    cr_expect(strstr(s, "{ status:") == NULL, "status rows for an all-2xx run:\n%s", s);
    free(s);
    registry_free(fx.r.total);
}

/* Issue 7, item 13: one share is printed with one rounding everywhere in a summary (the
 * failed rate, the row of the failing status and the threshold's observed value were
 * 23.5% and 23.6% of the same 471 of 2001). */
Test(summary, one_share_is_rounded_the_same_everywhere)
{
    struct fixture fx;
    char line[512];
    struct registry *reg = empty_totals(&fx);
    add_status(reg, "200", "true", 1530);
    add_status(reg, "500", "false", 471);
    int failed = series(reg, M_HTTP_REQ_FAILED, NULL, NULL);
    for (int i = 0; i < 2001; i++) {
        series_rate(registry_at(reg, failed), i < 471);
    }
    fx.th[1].observed = 471.0 / 2001.0; /* 23.538% */
    char *s = render(&fx, false);
    cr_assert(find_line(s, "http_req_failed.", line, sizeof line), "no failed row:\n%s", s);
    cr_expect(strstr(line, "23.54%") != NULL, "failed row: %s", line);
    cr_assert(find_line(s, "{ status:500 }", line, sizeof line), "no 500 row:\n%s", s);
    cr_expect(strstr(line, "23.54%") != NULL, "500 row: %s", line);
    cr_assert(find_line(s, "'rate<0.001'", line, sizeof line), "no threshold line:\n%s", s);
    cr_expect(strstr(line, "23.54%") != NULL, "threshold line: %s", line);
    cr_expect(strstr(s, "23.5%") == NULL && strstr(s, "23.6%") == NULL,
              "a one-decimal rounding of the same share:\n%s", s);
    free(s);
    registry_free(fx.r.total);
}
