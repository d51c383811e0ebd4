/*
 * Tests for metrics/threshold: a table of valid thresholds and the fields they parse to,
 * a table of invalid ones and the message each must give, the flag form, and evaluation
 * of every aggregation and operator against a registry holding known samples, with tag
 * filters selecting subsets of the series.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "metrics/threshold.h"

struct valid_case {
    const char *metric, *expr;
    int metric_id;
    const char *filter;
    enum threshold_agg agg;
    double pct;
    enum threshold_op op;
    double value;
    bool abort_on_fail;
    uint64_t delay_ns;
    const char *source;
};

#define SEP "\x1f"

static const struct valid_case valid_cases[] = {
    {"http_req_duration", "p(95)<300", M_HTTP_REQ_DURATION, "", TH_PCT, 95, TH_LT, 300, false, 0,
     "p(95)<300"},
    {"http_req_duration", "  p( 99.9 ) <= 250.5  ", M_HTTP_REQ_DURATION, "", TH_PCT, 99.9, TH_LE,
     250.5, false, 0, "p( 99.9 ) <= 250.5"},
    {"http_req_duration{name:bid}", "avg<200", M_HTTP_REQ_DURATION, "name=bid", TH_AVG, 0, TH_LT,
     200, false, 0, "avg<200"},
    {" http_req_duration { status : 200 , name : \"bid\" } ", "max>=1", M_HTTP_REQ_DURATION,
     "name=bid" SEP "status=200", TH_MAX, 0, TH_GE, 1, false, 0, "max>=1"},
    {"http_req_duration{name:'a b'}", "min>-1", M_HTTP_REQ_DURATION, "name=a b", TH_MIN, 0, TH_GT,
     -1, false, 0, "min>-1"},
    {"iteration_duration{group:::api}", "med<1e3", M_ITERATION_DURATION, "group=::api", TH_MED, 0,
     TH_LT, 1000, false, 0, "med<1e3"},
    {"http_req_failed", "rate<0.01", M_HTTP_REQ_FAILED, "", TH_RATE, 0, TH_LT, 0.01, false, 0,
     "rate<0.01"},
    {"http_req_failed{expected_response:true}", "rate<.5", M_HTTP_REQ_FAILED,
     "expected_response=true", TH_RATE, 0, TH_LT, 0.5, false, 0, "rate<.5"},
    {"http_reqs", "count>100", M_HTTP_REQS, "", TH_COUNT, 0, TH_GT, 100, false, 0, "count>100"},
    {"http_reqs", "rate>=50", M_HTTP_REQS, "", TH_RATE, 0, TH_GE, 50, false, 0, "rate>=50"},
    {"vus", "value==10", M_VUS, "", TH_VALUE, 0, TH_EQ, 10, false, 0, "value==10"},
    {"vus", "value===10", M_VUS, "", TH_VALUE, 0, TH_EQ, 10, false, 0, "value===10"},
    {"checks", "rate!=0", M_CHECKS, "", TH_RATE, 0, TH_NE, 0, false, 0, "rate!=0"},
    {"http_req_duration", "p(0)>=0", M_HTTP_REQ_DURATION, "", TH_PCT, 0, TH_GE, 0, false, 0,
     "p(0)>=0"},
    {"http_req_duration", "p(100)<1", M_HTTP_REQ_DURATION, "", TH_PCT, 100, TH_LT, 1, false, 0,
     "p(100)<1"},
    {"http_req_duration", "p(99)<10,abortOnFail", M_HTTP_REQ_DURATION, "", TH_PCT, 99, TH_LT, 10,
     true, 0, "p(99)<10"},
    {"http_req_duration", "p(99) < 10 , abortOnFail , delayAbortEval = 10s ", M_HTTP_REQ_DURATION,
     "", TH_PCT, 99, TH_LT, 10, true, 10 * NS_PER_S, "p(99) < 10"},
    {"http_req_duration", "avg<10,delayAbortEval=1m30s,abortOnFail=true", M_HTTP_REQ_DURATION, "",
     TH_AVG, 0, TH_LT, 10, true, 90 * NS_PER_S, "avg<10"},
    {"http_req_duration", "avg<10,abortOnFail=false,delayAbortEval=500ms", M_HTTP_REQ_DURATION, "",
     TH_AVG, 0, TH_LT, 10, false, 500 * NS_PER_MS, "avg<10"},
    {"http_req_duration", "avg<10,abortOnFail,delayAbortEval=1h", M_HTTP_REQ_DURATION, "", TH_AVG,
     0, TH_LT, 10, true, 3600 * NS_PER_S, "avg<10"},
    {"http_req_duration", "avg<10,abortOnFail,delayAbortEval=1.5s", M_HTTP_REQ_DURATION, "", TH_AVG,
     0, TH_LT, 10, true, 1500 * NS_PER_MS, "avg<10"},
    {"http_req_duration", "avg<10,abortOnFail,delayAbortEval=0", M_HTTP_REQ_DURATION, "", TH_AVG, 0,
     TH_LT, 10, true, 0, "avg<10"},
    /* A bare number is seconds (core/parse.h). */
    {"http_req_duration", "avg<10,abortOnFail,delayAbortEval=10", M_HTTP_REQ_DURATION, "", TH_AVG,
     0, TH_LT, 10, true, 10 * NS_PER_S, "avg<10"},
};

static void check_valid(const struct valid_case *c, const struct threshold *t, const char *how)
{
    cr_expect_eq(t->metric, c->metric_id, "%s %s: metric %d vs %d", how, c->expr, t->metric,
                 c->metric_id);
    cr_expect_str_eq(t->filter, c->filter, "%s %s: filter \"%s\" vs \"%s\"", how, c->expr,
                     t->filter, c->filter);
    cr_expect_eq(t->agg, c->agg, "%s %s: agg %d vs %d", how, c->expr, t->agg, c->agg);
    cr_expect_eq(t->pct, c->pct, "%s %s: pct %g vs %g", how, c->expr, t->pct, c->pct);
    cr_expect_eq(t->op, c->op, "%s %s: op %d vs %d", how, c->expr, t->op, c->op);
    cr_expect_eq(t->value, c->value, "%s %s: value %g vs %g", how, c->expr, t->value, c->value);
    cr_expect_eq(t->abort_on_fail, c->abort_on_fail, "%s %s: abortOnFail %d vs %d", how, c->expr,
                 t->abort_on_fail, c->abort_on_fail);
    cr_expect_eq(t->delay_abort_eval_ns, c->delay_ns, "%s %s: delay %llu vs %llu", how, c->expr,
                 (unsigned long long)t->delay_abort_eval_ns, (unsigned long long)c->delay_ns);
    cr_expect_str_eq(t->source, c->source, "%s %s: source \"%s\" vs \"%s\"", how, c->expr,
                     t->source, c->source);
}

Test(threshold, parses_valid_table)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const struct valid_case *c = &valid_cases[i];
        struct threshold t;
        char err[512] = "";
        int rc = threshold_parse(c->metric, c->expr, &t, err, sizeof err);
        cr_assert_eq(rc, 0, "%s / %s: rc %d vs 0 (%s)", c->metric, c->expr, rc, err);
        check_valid(c, &t, "parse");
        threshold_destroy(&t);
    }
}

Test(threshold, flag_form_parses_the_same_table)
{
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const struct valid_case *c = &valid_cases[i];
        char arg[512];
        snprintf(arg, sizeof arg, "%s:%s", c->metric, c->expr);
        struct threshold t;
        char err[512] = "";
        int rc = threshold_parse_flag(arg, &t, err, sizeof err);
        cr_assert_eq(rc, 0, "%s: rc %d vs 0 (%s)", arg, rc, err);
        check_valid(c, &t, "flag");
        threshold_destroy(&t);
    }
}

Test(threshold, metric_expr_is_kept_as_written)
{
    struct threshold t;
    char err[256] = "";
    int rc = threshold_parse_flag("  http_req_duration{name:bid} :p(95)<300,abortOnFail", &t, err,
                                  sizeof err);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, err);
    cr_expect_str_eq(t.metric_expr, "http_req_duration{name:bid}", "metric_expr \"%s\"",
                     t.metric_expr);
    cr_expect_str_eq(t.source, "p(95)<300", "source \"%s\"", t.source);
    cr_expect(t.abort_on_fail, "abortOnFail not set");
    threshold_destroy(&t);
    cr_expect(t.metric_expr == NULL && t.source == NULL && t.filter == NULL,
              "destroy left pointers behind");
    threshold_destroy(&t); /* twice is harmless */
}

struct invalid_case {
    const char *metric, *expr;
    const char *want; /* substring of the message */
};

static const struct invalid_case invalid_cases[] = {
    {"http_req_duratoin", "p(95)<300",
     "unknown metric \"http_req_duratoin\"; did you mean "
     "\"http_req_duration\"?"},
    {"http_req", "p(95)<300", "unknown metric \"http_req\""},
    {"bogus_metric_xyz", "p(95)<300", "unknown metric \"bogus_metric_xyz\"; expected a built-in"},
    {"", "avg<1", "expected a metric name"},
    {"http_reqs", "p(95)<300",
     "\"p(95)\" does not apply to http_reqs, a counter metric; "
     "expected count, rate"},
    {"http_req_failed", "avg<1", "a rate metric; expected rate"},
    {"vus", "count>1", "a gauge metric; expected value"},
    {"http_req_duration", "rate<1", "a trend metric; expected avg, min, med, max, p(N)"},
    {"http_req_duration", "value<1", "a trend metric"},
    {"http_req_duration", "p(95<300", "column 5: expected ')' to close p("},
    {"http_req_duration", "p(101)<300", "column 3: percentile 101 is out of range"},
    {"http_req_duration", "p(-1)<300", "out of range"},
    {"http_req_duration", "p()<300", "column 3: expected a percentile"},
    {"http_req_duration", "p95<300", "column 2: expected '(' after p"},
    {"http_req_duration", "avg 300", "column 5: expected a comparison"},
    {"http_req_duration", "avg = 300", "column 5: expected a comparison"},
    {"http_req_duration", "avg=>300", "column 4: expected a comparison"},
    {"http_req_duration", "avg<", "column 5: expected a number, found the end"},
    {"http_req_duration", "avg<abc", "column 5: expected a number, found 'a'"},
    {"http_req_duration", "avg<inf", "expected a number"},
    {"http_req_duration", "avg<0x10", "column 6: unexpected 'x' after the number"},
    {"http_req_duration", "avg<1e999", "out of range"},
    {"http_req_duration", "avg<300ms", "column 8: unexpected 'm' after the number"},
    {"http_req_duration", "", "column 1: expected an aggregation"},
    {"http_req_duration", "   ", "column 4: expected an aggregation"},
    {"http_req_duration", "<300", "column 1: expected an aggregation"},
    {"http_req_duration", "avgg<3", "column 1: unknown aggregation \"avgg\""},
    {"http_req_duration", "avg<3,abortOnFial", "column 7: unknown option \"abortOnFial\""},
    {"http_req_duration", "avg<3,", "expected an option"},
    {"http_req_duration", "avg<3,abortOnFail=maybe", "expected true or false"},
    {"http_req_duration", "avg<3,abortOnFail x", "unexpected 'x' after the option"},
    {"http_req_duration", "avg<3,delayAbortEval", "expected '=' and a duration"},
    {"http_req_duration", "avg<3,delayAbortEval=10q", "invalid duration \"10q\""},
    {"http_req_duration", "avg<3,delayAbortEval=-1s", "invalid duration"},
    {"http_req_duration", "avg<3,delayAbortEval=10x", "invalid duration"},
    {"http_req_duration", "avg<3,delayAbortEval=", "invalid duration"},
    {"http_req_duration{name:bid", "avg<1", "column 18: expected '}'"},
    {"http_req_duration{}", "avg<1", "empty tag filter"},
    {"http_req_duration{name}", "avg<1", "column 19: expected ':' between tag name and value"},
    {"http_req_duration{:bid}", "avg<1", "expected a tag name"},
    {"http_req_duration{name:}", "avg<1", "column 24: expected a tag value"},
    {"http_req_duration{name:a,}", "avg<1", "expected tag:value"},
    {"http_req_duration{name:a,name:b}", "avg<1", "tag \"name\" appears twice"},
    {"http_req_duration{name:b} x", "avg<1", "column 27: unexpected 'x' after the tag filter"},
    /* Tag names are checked: a misspelt one would match nothing (issue 7, item 5). */
    {"http_req_duration{nmae:home}", "avg<1",
     "column 19: unknown tag \"nmae\"; did you mean \"name\"?"},
    {"http_req_duration{a:b}", "avg<1", "unknown tag \"a\"; expected one of scenario, name"},
    {"http_reqs{stauts:500}", "count==0", "did you mean \"status\"?"},
    /* k6's custom Rate `errors` must not land on brunt's error counter (item 4). */
    {"errors", "rate<0.01",
     "unknown metric \"errors\"; brunt has no built-in of that name (its "
     "counter of network errors is http_errors)"},
    {"http_errors", "rate<0.01",
     "rate on http_errors, a counter, is events per second, not a "
     "share of requests"},
    {"http_req_duration x", "avg<1", "unexpected 'x' after the metric name"},
};

Test(threshold, rejects_invalid_table_with_messages)
{
    for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
        const struct invalid_case *c = &invalid_cases[i];
        struct threshold t;
        char err[512] = "";
        int rc = threshold_parse(c->metric, c->expr, &t, err, sizeof err);
        cr_expect_eq(rc, -1, "%s / %s: rc %d vs -1", c->metric, c->expr, rc);
        cr_expect(strstr(err, c->want) != NULL, "%s / %s: message \"%s\" lacks \"%s\"", c->metric,
                  c->expr, err, c->want);
        cr_expect(t.metric_expr == NULL && t.source == NULL && t.filter == NULL,
                  "%s / %s: output not zeroed on failure", c->metric, c->expr);
    }
}

Test(threshold, unknown_metric_far_from_all_names_gets_no_suggestion)
{
    struct threshold t;
    char err[512] = "";
    int rc = threshold_parse("latency", "p(95)<3", &t, err, sizeof err);
    cr_assert_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "did you mean") == NULL, "unexpected suggestion: %s", err);
}

Test(threshold, flag_form_errors)
{
    static const struct {
        const char *arg, *want;
    } cases[] = {
        {"http_req_duration", "expected METRIC:EXPRESSION"},
        {"http_req_duration{name:bid}", "expected METRIC:EXPRESSION"},
        /* 18 bytes of "http_req_duration:" then "p(95": the '<' is column 23. */
        {"http_req_duration:p(95<300", "column 23: expected ')'"},
        {"http_req_duration{name:bid}:p(95<300", "column 33: expected ')'"},
        {"http_req_duratio:avg<1", "did you mean \"http_req_duration\""},
        {":avg<1", "column 1: expected a metric name"},
        {"http_reqs:", "column 11: expected an aggregation"},
        {"http_reqs:avg<1", "\"avg\" does not apply to http_reqs, a counter metric"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct threshold t;
        char err[512] = "";
        int rc = threshold_parse_flag(cases[i].arg, &t, err, sizeof err);
        cr_expect_eq(rc, -1, "%s: rc %d vs -1", cases[i].arg, rc);
        cr_expect(strstr(err, cases[i].want) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  cases[i].arg, err, cases[i].want);
    }
}

Test(threshold, overlong_and_odd_input_is_rejected_safely)
{
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct threshold t;
    char err[512] = "";
    int rc = threshold_parse(big, "avg<1", &t, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "too long") != NULL, "message: %s", err);
    rc = threshold_parse_flag(big, &t, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "too long") != NULL, "message: %s", err);

    /* More tags than the cap. */
    char many[1024] = "http_req_duration{";
    for (int i = 0; i < 40; i++) {
        char pair[16];
        snprintf(pair, sizeof pair, "%sk%d:v", i ? "," : "", i);
        strcat(many, pair);
    }
    strcat(many, "}");
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(threshold_tag_name_add(key), 0, "adding tag name %s", key);
    }
    rc = threshold_parse(many, "avg<1", &t, err, sizeof err);
    threshold_tag_names_reset();
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "too many tags") != NULL, "message: %s", err);

    /* Control bytes are not echoed raw; a tiny or absent buffer is fine. */
    rc = threshold_parse("http_req_duration", "avg<1\x01", &t, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strchr(err, '\x01') == NULL, "raw control byte in message: %s", err);
    cr_expect(strstr(err, "byte 0x01") != NULL, "message: %s", err);
    char tiny[8];
    rc = threshold_parse("nope", "avg<1", &t, tiny, sizeof tiny);
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect_eq(strlen(tiny), sizeof tiny - 1, "tiny buffer holds %zu bytes", strlen(tiny));
    rc = threshold_parse("nope", "avg<1", &t, NULL, 0);
    cr_expect_eq(rc, -1, "rc %d", rc);
}

/* --- evaluation --- */

/*
 * http_req_duration: name=bid,status=200 holds 1..100 ms; name=list,status=500 holds ten
 * of 1000 ms.  http_req_failed: 3 of 100 failed (bid), 0 of 10 (list).  http_reqs: 100
 * (bid) + 10 (list).  vus: 5 then 7.  checks: nothing.
 */
static struct registry *fill_registry(void)
{
    struct registry *reg = registry_new();
    cr_assert(reg != NULL);
    char bid[64], list[64];
    const char *k[] = {"name", "status"};
    const char *vb[] = {"bid", "200"}, *vl[] = {"list", "500"};
    cr_assert(tags_canon(bid, sizeof bid, k, vb, 2) > 0);
    cr_assert(tags_canon(list, sizeof list, k, vl, 2) > 0);

    int d_bid = registry_get(reg, M_HTTP_REQ_DURATION, bid);
    int d_list = registry_get(reg, M_HTTP_REQ_DURATION, list);
    int f_bid = registry_get(reg, M_HTTP_REQ_FAILED, bid);
    int f_list = registry_get(reg, M_HTTP_REQ_FAILED, list);
    int r_bid = registry_get(reg, M_HTTP_REQS, bid);
    int r_list = registry_get(reg, M_HTTP_REQS, list);
    int vus = registry_get(reg, M_VUS, "");
    cr_assert(d_bid >= 0 && d_list >= 0 && f_bid >= 0 && f_list >= 0 && r_bid >= 0 && r_list >= 0 &&
              vus >= 0);
    for (uint64_t ms = 1; ms <= 100; ms++) {
        series_trend_ns(registry_at(reg, d_bid), ms * NS_PER_MS);
        series_rate(registry_at(reg, f_bid), ms % 33 == 0); /* 33, 66, 99 */
        series_add(registry_at(reg, r_bid), 1);
    }
    for (int i = 0; i < 10; i++) {
        series_trend_ns(registry_at(reg, d_list), 1000 * NS_PER_MS);
        series_rate(registry_at(reg, f_list), false);
        series_add(registry_at(reg, r_list), 1);
    }
    series_gauge(registry_at(reg, vus), 5);
    series_gauge(registry_at(reg, vus), 7);
    return reg;
}

/* Parses flag-form arg, evaluates it, and returns the observed value. */
static double eval_flag(const struct registry *reg, const char *arg, double elapsed_s,
                        struct hist *scratch, bool want_pass)
{
    struct threshold t;
    char err[512] = "";
    int rc = threshold_parse_flag(arg, &t, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: rc %d (%s)", arg, rc, err);
    bool pass = threshold_eval(&t, reg, elapsed_s, scratch);
    cr_expect(t.evaluated, "%s: not evaluated", arg);
    cr_expect_eq(pass, want_pass, "%s: pass %d vs %d (observed %g)", arg, pass, want_pass,
                 t.observed);
    cr_expect_eq(t.failed, !pass, "%s: failed %d vs !pass %d", arg, t.failed, !pass);
    double obs = t.observed;
    threshold_destroy(&t);
    return obs;
}

static void expect_near(double got, double want, double rel, const char *what)
{
    double tol = fabs(want) * rel;
    cr_expect(fabs(got - want) <= tol, "%s: observed %.9g vs %.9g (tolerance %g)", what, got, want,
              tol);
}

Test(threshold_eval, trend_aggregations_in_milliseconds)
{
    struct registry *reg = fill_registry();
    struct hist *scratch = hist_new();
    cr_assert(scratch != NULL);
    double o;
    o = eval_flag(reg, "http_req_duration{name:bid}:avg==50.5", 0, scratch, true);
    cr_expect_eq(o, 50.5, "avg %.17g vs 50.5", o);
    o = eval_flag(reg, "http_req_duration{name:bid}:min==1", 0, scratch, true);
    cr_expect_eq(o, 1.0, "min %.17g vs 1", o);
    o = eval_flag(reg, "http_req_duration{name:bid}:max===100", 0, scratch, true);
    cr_expect_eq(o, 100.0, "max %.17g vs 100", o);
    o = eval_flag(reg, "http_req_duration{name:bid}:med<50.1", 0, scratch, true);
    expect_near(o, 50.0, 0.001, "med");
    o = eval_flag(reg, "http_req_duration{name:bid}:p(95)<96", 0, scratch, true);
    expect_near(o, 95.0, 0.001, "p(95)");
    o = eval_flag(reg, "http_req_duration{name:bid}:p(95)<94", 0, scratch, false);
    o = eval_flag(reg, "http_req_duration{name:bid}:p(99.5)>99.9", 0, scratch, true);
    expect_near(o, 100.0, 0.001, "p(99.5)");
    /* All series: the ten 1000 ms list requests are the top 10 of 110. */
    o = eval_flag(reg, "http_req_duration:max>=1000", 0, scratch, true);
    cr_expect_eq(o, 1000.0, "max %.17g vs 1000", o);
    o = eval_flag(reg, "http_req_duration:p(90)<1000", 0, scratch, true); /* rank 99 */
    expect_near(o, 99.0, 0.001, "p(90) all");
    o = eval_flag(reg, "http_req_duration:p(91)<1000", 0, scratch, false); /* rank 101 */
    expect_near(o, 1000.0, 0.001, "p(91) all");
    double want_avg = (5050.0 + 10000.0) / 110.0;
    o = eval_flag(reg, "http_req_duration:avg>100", 0, scratch, true);
    expect_near(o, want_avg, 1e-12, "avg all");
    hist_free(scratch);
    registry_free(reg);
}

Test(threshold_eval, tag_filters_select_series)
{
    struct registry *reg = fill_registry();
    struct hist *scratch = hist_new();
    cr_assert(scratch != NULL);
    double o;
    o = eval_flag(reg, "http_req_duration{status:200}:max<=100", 0, scratch, true);
    cr_expect_eq(o, 100.0, "status 200 max %.17g vs 100", o);
    o = eval_flag(reg, "http_req_duration{status:500}:min>=1000", 0, scratch, true);
    cr_expect_eq(o, 1000.0, "status 500 min %.17g vs 1000", o);
    o = eval_flag(reg, "http_req_duration{status:500,name:list}:avg==1000", 0, scratch, true);
    cr_expect_eq(o, 1000.0, "list avg %.17g vs 1000", o);
    /* A filter no series carries: no samples, observed 0, and failed (requests were sent). */
    o = eval_flag(reg, "http_req_duration{status:200,name:list}:p(95)<300", 0, scratch, false);
    cr_expect_eq(o, 0.0, "empty p(95) %.17g vs 0", o);
    o = eval_flag(reg, "http_reqs{name:list}:count==10", 0, scratch, true);
    cr_expect_eq(o, 10.0, "list count %.17g vs 10", o);
    o = eval_flag(reg, "http_req_failed{name:list}:rate==0", 0, scratch, true);
    cr_expect_eq(o, 0.0, "list failed rate %.17g vs 0", o);
    hist_free(scratch);
    registry_free(reg);
}

Test(threshold_eval, says_when_the_filter_matched_no_samples)
{
    struct registry *reg = fill_registry();
    struct hist *scratch = hist_new();
    cr_assert(scratch != NULL);
    static const struct {
        const char *arg;
        bool no_samples;
    } cases[] = {
        {"http_req_duration{status:200,name:list}:p(95)<300", true}, /* trend, none match */
        {"http_req_duration{status:200}:p(95)<300", false},
        {"http_req_failed{name:nosuch}:rate<0.01", true}, /* rate */
        {"http_reqs{name:list}:count>0", false},          /* counter */
        /* A counter that counted nothing is 0, a value (dropped_iterations: count==0). */
        {"dropped_iterations:count==0", false},
        {"http_reqs{name:nosuch}:count==0", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct threshold t;
        char err[256] = "";
        cr_assert_eq(threshold_parse_flag(cases[i].arg, &t, err, sizeof err), 0, "%s: %s",
                     cases[i].arg, err);
        (void)threshold_eval(&t, reg, 1.0, scratch);
        cr_expect_eq(t.no_samples, cases[i].no_samples, "%s: no_samples %d vs %d", cases[i].arg,
                     t.no_samples, cases[i].no_samples);
        threshold_destroy(&t);
    }
    hist_free(scratch);
    registry_free(reg);
}

Test(threshold_eval, zero_counter_passes_and_empty_trend_fails_only_when_requests_were_sent)
{
    struct registry *reg = registry_new();
    cr_assert(reg != NULL);
    int d = registry_get(reg, M_DROPPED_ITERATIONS, "scenario=default");
    cr_assert(d >= 0);
    (void)eval_flag(reg, "dropped_iterations:count==0", 1.0, NULL, true);
    /* Nothing sent at all: an empty trend judges 0 (and says no samples). */
    (void)eval_flag(reg, "http_req_duration:p(95)<300", 1.0, NULL, true);
    /* Requests sent, no answer timed (a target that never answers): it fails. */
    int r = registry_get(reg, M_HTTP_REQS, "status=0");
    cr_assert(r >= 0);
    series_add(registry_at(reg, r), 5);
    struct threshold t;
    char err[256];
    cr_assert_eq(threshold_parse("http_req_duration", "p(95)<300", &t, err, sizeof err), 0, "%s",
                 err);
    cr_expect(!threshold_eval(&t, reg, 1.0, NULL), "passed with no answers");
    cr_expect(t.no_samples && t.sent_requests, "no_samples %d sent_requests %d", t.no_samples,
              t.sent_requests);
    threshold_destroy(&t);
    registry_free(reg);
}

Test(threshold_eval, rate_counter_gauge)
{
    struct registry *reg = fill_registry();
    double o;
    o = eval_flag(reg, "http_req_failed:rate<0.05", 0, NULL, true);
    expect_near(o, 3.0 / 110.0, 1e-12, "failed rate all");
    o = eval_flag(reg, "http_req_failed{name:bid}:rate<0.01", 0, NULL, false);
    expect_near(o, 0.03, 1e-12, "failed rate bid");
    o = eval_flag(reg, "http_reqs:count==110", 0, NULL, true);
    cr_expect_eq(o, 110.0, "count %.17g vs 110", o);
    o = eval_flag(reg, "http_reqs:rate>10", 10.0, NULL, true);
    cr_expect_eq(o, 11.0, "rate %.17g vs 11/s", o);
    o = eval_flag(reg, "http_reqs:rate>=12", 10.0, NULL, false);
    o = eval_flag(reg, "http_reqs:rate==0", 0.0, NULL, true); /* no elapsed time yet */
    o = eval_flag(reg, "vus:value==7", 0, NULL, true);
    cr_expect_eq(o, 7.0, "vus %.17g vs 7 (the last value)", o);
    /* Metrics with no series at all observe 0. */
    o = eval_flag(reg, "checks:rate>0.5", 0, NULL, false);
    cr_expect_eq(o, 0.0, "checks %.17g vs 0", o);
    o = eval_flag(reg, "iterations:count>0", 0, NULL, false);
    /* A trend with no samples while requests were sent fails: nothing met it. */
    o = eval_flag(reg, "iteration_duration:p(95)<300", 0, NULL, false); /* NULL scratch */
    cr_expect_eq(o, 0.0, "iteration_duration %.17g vs 0", o);
    registry_free(reg);
}

Test(threshold_eval, every_operator)
{
    struct registry *reg = fill_registry();
    static const struct {
        const char *arg;
        bool pass;
    } cases[] = {
        {"http_reqs:count<110", false},  {"http_reqs:count<111", true},
        {"http_reqs:count<=110", true},  {"http_reqs:count<=109", false},
        {"http_reqs:count>110", false},  {"http_reqs:count>109.5", true},
        {"http_reqs:count>=110", true},  {"http_reqs:count>=110.01", false},
        {"http_reqs:count==110", true},  {"http_reqs:count==110.5", false},
        {"http_reqs:count===110", true}, {"http_reqs:count===1", false},
        {"http_reqs:count!=110", false}, {"http_reqs:count!=1", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        (void)eval_flag(reg, cases[i].arg, 1.0, NULL, cases[i].pass);
    }
    registry_free(reg);
}

Test(threshold_eval, reevaluation_sees_new_samples)
{
    struct registry *reg = fill_registry();
    struct threshold t;
    char err[256];
    cr_assert_eq(threshold_parse("http_req_failed", "rate<0.05", &t, err, sizeof err), 0, "%s",
                 err);
    cr_expect(threshold_eval(&t, reg, 1, NULL), "first evaluation failed: %g", t.observed);
    int f = registry_get(reg, M_HTTP_REQ_FAILED, "");
    cr_assert(f >= 0);
    for (int i = 0; i < 100; i++) {
        series_rate(registry_at(reg, f), true);
    }
    cr_expect(!threshold_eval(&t, reg, 2, NULL), "second evaluation passed: %g", t.observed);
    expect_near(t.observed, 103.0 / 210.0, 1e-12, "failed rate after errors");
    cr_expect(t.failed && t.evaluated, "failed %d evaluated %d", t.failed, t.evaluated);
    threshold_destroy(&t);
    registry_free(reg);
}

Test(threshold, names)
{
    cr_expect_str_eq(threshold_agg_name(TH_PCT), "p", "%s", threshold_agg_name(TH_PCT));
    cr_expect_str_eq(threshold_agg_name(TH_VALUE), "value", "%s", threshold_agg_name(TH_VALUE));
    cr_expect_str_eq(threshold_op_name(TH_GE), ">=", "%s", threshold_op_name(TH_GE));
    cr_expect_str_eq(threshold_op_name(TH_NE), "!=", "%s", threshold_op_name(TH_NE));
}
