/*
 * Success criteria: a row parses into two thresholds with the thresholds' grammar, judges
 * pass / warn / fail against a registry, and refuses what could never be meant.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "metrics/criteria.h"
#include "metrics/registry.h"

static struct registry *with_requests(int n_ok, int n_failed)
{
    struct registry *reg = registry_new();
    int f = registry_get(reg, M_HTTP_REQ_FAILED, "");
    int d = registry_get(reg, M_HTTP_REQ_DURATION, "");
    for (int i = 0; i < n_ok + n_failed; i++) {
        series_rate(registry_at(reg, f), i >= n_ok);
        series_trend_ns(registry_at(reg, d), (uint64_t)(i + 1) * 1000000); /* 1..N ms */
    }
    return reg;
}

Test(criteria, pass_warn_fail)
{
    struct registry *reg = with_requests(100, 0); /* p95 = 95 ms */
    char err[512];
    struct criterion c;
    cr_assert_eq(criterion_parse("http_req_duration:p(95)", "<100", "<200", &c, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(criterion_eval(&c, reg, 10, NULL), CRIT_PASS);
    cr_assert_float_eq(c.current, 95, 0.1, "current %g", c.current);
    criterion_destroy(&c);
    cr_assert_eq(criterion_parse("http_req_duration:p(95)", "<90", "<100", &c, err, sizeof err), 0);
    cr_assert_eq(criterion_eval(&c, reg, 10, NULL), CRIT_WARN);
    criterion_destroy(&c);
    cr_assert_eq(criterion_parse("http_req_duration:p(95)", "<50", "<60", &c, err, sizeof err), 0);
    cr_assert_eq(criterion_eval(&c, reg, 10, NULL), CRIT_FAIL);
    cr_assert_str_eq(criterion_symbol(c.status), "\xe2\x9d\x8c");
    cr_assert_str_eq(criterion_status_name(c.status), "fail");
    criterion_destroy(&c);
    registry_free(reg);
}

Test(criteria, acceptable_defaults_to_target)
{
    char err[512];
    struct criterion c;
    cr_assert_eq(criterion_parse("http_req_failed:rate", "<0.01", NULL, &c, err, sizeof err), 0);
    cr_assert_str_eq(c.acceptable_src, "<0.01");
    struct registry *reg = with_requests(90, 10);
    cr_assert_eq(criterion_eval(&c, reg, 10, NULL), CRIT_FAIL);
    cr_assert_float_eq(c.current, 0.1, 1e-12);
    criterion_destroy(&c);
    registry_free(reg);
}

Test(criteria, flag_form_splits_target_and_acceptable)
{
    char err[512];
    struct criterion c;
    cr_assert_eq(criterion_parse_flag("http_req_duration{name:a,status:200}:p(99)<300,<500", &c,
                                      err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(c.metric, "http_req_duration{name:a,status:200}:p(99)");
    cr_assert_str_eq(c.target_src, "<300");
    cr_assert_str_eq(c.acceptable_src, "<500");
    cr_assert_eq(c.target.agg, TH_PCT);
    cr_assert_float_eq(c.target.pct, 99, 1e-12);
    criterion_destroy(&c);
    cr_assert_eq(criterion_parse_flag("http_reqs:rate>1000", &c, err, sizeof err), 0);
    cr_assert_str_eq(c.acceptable_src, ">1000");
    criterion_destroy(&c);
}

Test(criteria, errors_say_which_field)
{
    char err[512];
    struct criterion c;
    cr_assert_eq(criterion_parse("http_req_duration", "<1", NULL, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "METRIC:AGGREGATION") != NULL, "%s", err);
    cr_assert_eq(criterion_parse("http_req_duration:p(95)", "<x", NULL, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "target '<x'") != NULL, "%s", err);
    cr_assert_eq(
        criterion_parse("http_req_duration:p(95)", "<1", "<1,abortOnFail", &c, err, sizeof err),
        -1);
    cr_assert(strstr(err, "acceptable") != NULL, "%s", err);
    cr_assert_eq(criterion_parse("http_reqs:rate", ">100", ">200", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "stricter") != NULL, "%s", err);
    cr_assert_eq(criterion_parse_flag("nonsense", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "expected METRIC:AGG") != NULL, "%s", err);
    cr_assert_eq(criterion_parse("http_reqs:avg", "<1", NULL, &c, err, sizeof err), -1,
                 "a counter has no avg");
}

Test(criteria, plain_trend_keeps_decimals)
{
    int m = metric_define("test_share", METRIC_TREND, CONTAINS_DEFAULT, "a share in %");
    cr_assert_geq(m, M_COUNT);
    struct registry *reg = registry_new();
    int i = registry_get(reg, m, "");
    series_trend_value(registry_at(reg, i), 37.25);
    series_trend_value(registry_at(reg, i), 38.75);
    char err[512];
    struct criterion c;
    cr_assert_eq(criterion_parse("test_share:avg", "<38.01", "<38.5", &c, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(criterion_eval(&c, reg, 1, NULL), CRIT_PASS);
    cr_assert_float_eq(c.current, 38.0, 1e-6, "avg %g", c.current);
    criterion_destroy(&c);
    registry_free(reg);
    metric_undefine_all();
}
