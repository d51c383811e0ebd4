/*
 * Tests for scenario/custom: declarations (types, built-in names refused, `errors` free
 * to declare), feed compilation and its messages, and what each feed records for known
 * responses (network errors included), collected from the thread's registry exactly,
 * and from several threads at once.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "metrics/threshold.h"
#include "scenario/custom.h"

#define MS 1000000ULL

static void teardown(void)
{
    custom_shutdown();
    metric_undefine_all();
}

static int lookup(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    return len == 5 && memcmp(name, "price", 5) == 0 ? 0 : -1;
}

static const char *const TAGS = "name=bid\x1fscenario=default";

/* Aggregates metric m from reg into *s (trends: the caller's hist). */
static void agg(const struct registry *reg, int m, struct series *s)
{
    registry_aggregate(reg, m, NULL, s);
}

TestSuite(custom, .fini = teardown);

/* Feeds one response and records its samples into reg as the engine does (reqmetrics.c). */
static void feed_into(struct registry *reg, const struct custom_step *cs, const struct flow_vu *v,
                      int status, uint64_t duration_ns, const char *body, size_t body_len)
{
    struct step_results res = {0};
    custom_step_feed(cs, v, status, duration_ns, body, body_len, &res);
    for (size_t i = 0; i < res.n_samples; i++) {
        const char *tags = "";
        int metric = custom_step_series(cs, res.sample_index[i], &tags);
        series_record(registry_at(reg, registry_get(reg, metric, tags)), res.sample_value[i]);
    }
}

Test(custom, declares_every_type_and_refuses_builtins)
{
    char err[256] = "";
    int rate = custom_define("errors", "rate", false, NULL, err, sizeof err);
    cr_assert(rate >= M_COUNT, "errors as a rate: %d (%s)", rate, err);
    cr_expect(metric_info[rate].type == METRIC_RATE && metric_info[rate].custom, "type/custom");
    cr_expect(custom_is_metric(rate), "not custom");
    cr_expect(custom_define("errors", "rate", false, NULL, err, sizeof err) == rate, "redeclare");
    int t = custom_define("bid_time", "trend", true, NULL, err, sizeof err);
    cr_assert(t >= 0, "%s", err);
    cr_expect(metric_info[t].contains == CONTAINS_TIME, "time trend");
    cr_expect(custom_define("bids", "counter", false, NULL, err, sizeof err) >= 0, "%s", err);
    cr_expect(custom_define("price", "gauge", false, NULL, err, sizeof err) >= 0, "%s", err);

    cr_expect(custom_define("http_reqs", "counter", false, NULL, err, sizeof err) < 0, "builtin");
    cr_expect(strstr(err, "\"http_reqs\" is a built-in") != NULL, "message: %s", err);
    cr_expect(custom_define("x", "rat", false, NULL, err, sizeof err) < 0, "bad type");
    cr_expect(strstr(err, "did you mean \"rate\"") != NULL, "message: %s", err);
    cr_expect(custom_define("9x", "rate", false, NULL, err, sizeof err) < 0, "bad name");
    cr_expect(strstr(err, "not valid") != NULL, "message: %s", err);
    cr_expect(custom_define("errors", "counter", false, NULL, err, sizeof err) < 0, "retype");
    cr_expect(strstr(err, "already defined as a rate") != NULL, "message: %s", err);
    cr_expect(custom_is_metric(M_HTTP_REQS) == false, "a built-in is not custom");

    /* A threshold on the declared rate parses as a rate. */
    struct threshold th;
    cr_assert_eq(threshold_parse("errors", "rate<0.01", &th, err, sizeof err), 0, "%s", err);
    cr_expect_eq(th.metric, rate, "threshold metric %d vs %d", th.metric, rate);
    threshold_destroy(&th);
}

Test(custom, feed_compile_errors)
{
    char err[256] = "";
    struct custom_step cs = {0};
    cr_assert(custom_define("errors", "rate", false, NULL, err, sizeof err) >= 0, "%s", err);
    cr_assert(custom_define("bids", "counter", false, NULL, err, sizeof err) >= 0, "%s", err);
    static const struct {
        const char *metric, *spec, *want;
    } cases[] = {
        {"erors", "status != 200", "\"erors\" is not declared; did you mean \"errors\"?"},
        {"http_reqs", "1", "is brunt's own"},
        {"errors", "stauts != 200", "\"stauts != 200\""},
        {"errors", "header X exists", "header conditions are not available"},
        {"bids", "lots", "\"lots\" is not a value"},
        {"bids", "", "expected a value"},
        {"bids", "1 if sttus == 200", "\"sttus == 200\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = custom_feed_compile(&cs, cases[i].metric, cases[i].spec, TAGS, lookup, NULL, err,
                                     sizeof err);
        cr_expect_eq(rc, -1, "%s: %s: rc %d", cases[i].metric, cases[i].spec, rc);
        cr_expect(strstr(err, cases[i].want) != NULL, "%s: %s: message \"%s\" lacks \"%s\"",
                  cases[i].metric, cases[i].spec, err, cases[i].want);
    }
    cr_expect_eq(cs.n, 0, "failed feeds were kept: %zu", cs.n);
    custom_step_destroy(&cs);
}

Test(custom, feeds_record_exactly)
{
    char err[256] = "";
    int rate = custom_define("errors", "rate", false, NULL, err, sizeof err);
    int trend = custom_define("bid_time", "trend", true, NULL, err, sizeof err);
    int count = custom_define("server_errors", "counter", false, NULL, err, sizeof err);
    int gauge = custom_define("price", "gauge", false, NULL, err, sizeof err);
    int plain = custom_define("prices", "trend", false, NULL, err, sizeof err);
    cr_assert(rate >= 0 && trend >= 0 && count >= 0 && gauge >= 0 && plain >= 0, "%s", err);
    struct custom_step cs = {0};
    const char *feeds[][2] = {
        {"errors", "status != 200"},
        {"bid_time", "duration"},
        {"server_errors", "1 if status >= 500"},
        {"price", "price"},
        {"prices", "price if body contains ok"},
    };
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(
            custom_feed_compile(&cs, feeds[i][0], feeds[i][1], TAGS, lookup, NULL, err, sizeof err),
            0, "%s: %s", feeds[i][0], err);
    }
    cr_expect(custom_step_needs_body(&cs), "a body condition needs the body");

    struct flow_var var = {.val = (char *)"12.5", .len = 4, .cap = 4, .set = true};
    struct flow_vu v = {.vars = &var, .n_vars = 1};
    struct registry *reg = registry_new();
    cr_assert(reg != NULL);
    feed_into(reg, &cs, &v, 200, 10 * MS, "ok", 2);  /* fine */
    feed_into(reg, &cs, &v, 500, 30 * MS, "bad", 3); /* server error */
    feed_into(reg, &cs, &v, 0, 0, NULL, 0);          /* network error: status 0 */
    var.set = false;
    feed_into(reg, &cs, &v, 404, 20 * MS, "ok", 2); /* variable not set: no gauge sample */
    struct series s = {0};
    agg(reg, rate, &s);
    cr_expect(s.total == 4 && s.trues == 3, "errors: %llu of %llu (want 3 of 4)",
              (unsigned long long)s.trues, (unsigned long long)s.total);
    agg(reg, count, &s);
    cr_expect(s.sum == 1, "server_errors %g (want 1)", s.sum);
    agg(reg, gauge, &s);
    cr_expect(s.total == 3 && s.sum == 12.5, "price gauge: %llu samples, last %g",
              (unsigned long long)s.total, s.sum);
    struct hist *h = hist_new();
    s = (struct series){.hist = h};
    agg(reg, trend, &s);
    cr_expect_eq(hist_count(h), 3, "bid_time samples %llu (the error has no duration)",
                 (unsigned long long)hist_count(h));
    cr_expect_eq(hist_max_ns(h), 30 * MS, "bid_time max");
    s = (struct series){.hist = h};
    agg(reg, plain, &s);
    cr_expect_eq(hist_count(h), 1, "prices samples %llu (body ok, variable set: once)",
                 (unsigned long long)hist_count(h));
    cr_expect_eq(hist_max_ns(h), 12500000ULL, "12.5 kept as 12.5e6");

    /* The threshold reads the plain trend as the number fed. */
    struct threshold th;
    cr_assert_eq(threshold_parse("prices", "max==12.5", &th, err, sizeof err), 0, "%s", err);
    cr_expect(threshold_eval(&th, reg, 1, NULL), "max observed %g", th.observed);
    threshold_destroy(&th);
    cr_assert_eq(threshold_parse("errors", "rate<0.5", &th, err, sizeof err), 0, "%s", err);
    cr_expect(!threshold_eval(&th, reg, 1, NULL), "errors rate %g passed", th.observed);
    threshold_destroy(&th);
    cr_assert_eq(threshold_parse("errors{name:bid}", "rate==0.75", &th, err, sizeof err), 0, "%s",
                 err);
    cr_expect(threshold_eval(&th, reg, 1, NULL), "tagged errors rate %g", th.observed);
    threshold_destroy(&th);

    hist_free(h);
    registry_free(reg);
    custom_step_destroy(&cs);
}
