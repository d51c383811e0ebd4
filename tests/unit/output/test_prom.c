/*
 * Tests for output/prom: the exposition text of a registry with a counter, a gauge, a
 * rate and a time trend (brunt names: counters _total, trends as cumulative histograms
 * in seconds whose +Inf bucket equals _count and whose edges include a threshold's
 * limit; k6 names: k6_*_total, k6_*_p99 in seconds), label escaping, and the endpoint
 * itself answering GET /metrics on a loopback port with what the last tick rendered.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/run.h"
#include "metrics/registry.h"
#include "output/prom.h"

static struct registry *make_registry(void)
{
    struct registry *reg = registry_new();
    cr_assert_not_null(reg);
    const char *keys[2] = {"name", "status"}, *vals[2] = {"bid \"x\"", "200"};
    char tags[256];
    cr_assert_geq(tags_canon(tags, sizeof tags, keys, vals, 2), 0);
    int reqs = registry_get(reg, M_HTTP_REQS, tags);
    for (int i = 0; i < 42; i++) {
        series_add(registry_at(reg, reqs), 1);
    }
    int dur = registry_get(reg, M_HTTP_REQ_DURATION, tags);
    for (uint64_t i = 1; i <= 100; i++) {
        series_trend_ns(registry_at(reg, dur), i * 1000000ULL); /* 1..100 ms */
    }
    int vus = registry_get(reg, M_VUS, "");
    series_gauge(registry_at(reg, vus), 7);
    int failed = registry_get(reg, M_HTTP_REQ_FAILED, "");
    for (int i = 0; i < 10; i++) {
        series_rate(registry_at(reg, failed), i < 2);
    }
    return reg;
}

/* The value on the sample line that starts with line_prefix (not a # HELP line). */
static double value_of(const char *text, const char *line_prefix)
{
    char needle[512];
    snprintf(needle, sizeof needle, "\n%s", line_prefix);
    const char *p = strstr(text, needle);
    cr_assert_not_null(p, "no line starting '%s' in:\n%s", line_prefix, text);
    return strtod(p + strlen(needle), NULL);
}

Test(prom, brunt_names_and_histograms)
{
    struct run_report r = {.total = make_registry(), .duration_ns = 1000000000ULL};
    double bounds[] = {0.0005, 0.005, 0.0333, 0.05, 1};
    struct dynbuf b;
    dynbuf_init(&b, 1 << 22);
    cr_assert_eq(prom_render(&r, PROM_NAMES_BRUNT, bounds, 5, &b), 0);
    const char *t = b.data;
    cr_assert_float_eq(value_of(t, "brunt_http_reqs_total{name=\"bid \\\"x\\\"\",status=\"200\"} "),
                       42, 1e-12);
    cr_assert(strstr(t, "# TYPE brunt_http_req_duration_seconds histogram\n") != NULL);
    const char *sel =
        "brunt_http_req_duration_seconds_bucket{name=\"bid \\\"x\\\"\",status=\"200\",";
    char line[256];
    snprintf(line, sizeof line, "%sle=\"0.0333\"} ", sel);
    cr_assert_float_eq(value_of(t, line), 33, 1e-12, "samples <= 33.3 ms");
    snprintf(line, sizeof line, "%sle=\"+Inf\"} ", sel);
    cr_assert_float_eq(value_of(t, line), 100, 1e-12);
    cr_assert_float_eq(value_of(t, "brunt_http_req_duration_seconds_count{name=\"bid \\\"x\\\"\","
                                   "status=\"200\"} "),
                       100, 1e-12);
    cr_assert_float_eq(value_of(t, "brunt_vus "), 7, 1e-12);
    cr_assert_float_eq(value_of(t, "brunt_http_req_failed_rate "), 0.2, 1e-12);
    cr_assert_float_eq(value_of(t, "brunt_http_req_failed_hits_total "), 2, 1e-12);
    dynbuf_destroy(&b);
    registry_free(r.total);
}

Test(prom, k6_names)
{
    struct run_report r = {.total = make_registry()};
    struct dynbuf b;
    dynbuf_init(&b, 1 << 22);
    cr_assert_eq(prom_render(&r, PROM_NAMES_K6, NULL, 0, &b), 0);
    cr_assert_float_eq(
        value_of(b.data, "k6_http_reqs_total{name=\"bid \\\"x\\\"\",status=\"200\"} "), 42, 1e-12);
    double p99 =
        value_of(b.data, "k6_http_req_duration_p99{name=\"bid \\\"x\\\"\",status=\"200\"} ");
    cr_assert(p99 > 0.098 && p99 < 0.1002, "p99 in seconds: %g", p99);
    cr_assert_float_eq(value_of(b.data, "k6_vus "), 7, 1e-12);
    cr_assert_float_eq(value_of(b.data, "k6_http_req_failed_rate "), 0.2, 1e-12);
    cr_assert_null(strstr(b.data, "brunt_http"), "no brunt names in k6 mode");
    dynbuf_destroy(&b);
    registry_free(r.total);
}

Test(prom, serves_the_last_tick_on_loopback)
{
    struct prom *p = NULL;
    char err[256];
    cr_assert_eq(prom_start("127.0.0.1:0", PROM_NAMES_BRUNT, NULL, 0, &p, err, sizeof err), 0, "%s",
                 err);
    struct run_report r = {.total = make_registry()};
    prom_tick(&r, p);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(prom_port(p))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    static char resp[1 << 20];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd, resp + n, sizeof resp - 1 - n)) > 0) {
        n += (size_t)k;
    }
    resp[n] = '\0';
    close(fd);
    cr_assert(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "%.80s", resp);
    cr_assert(strstr(resp, "text/plain; version=0.0.4") != NULL);
    cr_assert_float_eq(value_of(resp, "brunt_vus "), 7, 1e-12);
    prom_stop(p);
    registry_free(r.total);
    cr_assert_lt(prom_start("300.1.1.1:x", PROM_NAMES_BRUNT, NULL, 0, &p, err, sizeof err), 0);
    cr_assert(strstr(err, "expected HOST:PORT") != NULL, "%s", err);
}

/* A trend that is not a time (a watched process's CPU share, a scenario's custom Trend)
 * keeps millionths in its histogram: the gauges give the value in its own unit. */
Test(prom, a_non_time_trend_is_shown_in_its_unit)
{
    int m = metric_define("test_cpu_share", METRIC_TREND, CONTAINS_DEFAULT, "a share, %");
    cr_assert_geq(m, 0);
    struct registry *reg = registry_new();
    int s = registry_get(reg, m, "");
    series_trend_value(registry_at(reg, s), 37.25);
    series_trend_value(registry_at(reg, s), 12.75);
    struct run_report r = {.total = reg, .duration_ns = 1000000000ULL};
    struct dynbuf b;
    dynbuf_init(&b, 1 << 22);
    cr_assert_eq(prom_render(&r, PROM_NAMES_BRUNT, NULL, 0, &b), 0);
    cr_assert_float_eq(value_of(b.data, "brunt_test_cpu_share_avg "), 25, 1e-3, "%s", b.data);
    cr_assert_float_eq(value_of(b.data, "brunt_test_cpu_share_max "), 37.25, 0.05);
    cr_assert_float_eq(value_of(b.data, "brunt_test_cpu_share_min "), 12.75, 0.05);
    dynbuf_destroy(&b);
    registry_free(reg);
    metric_undefine_all();
}
