/*
 * The registry: series by (metric, tags), stable indices, layout sync, exact merge, and
 * aggregation by tag filter.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "metrics/registry.h"

static void canon(char *out, size_t cap, const char *k1, const char *v1, const char *k2,
                  const char *v2)
{
    const char *keys[2] = {k1, k2}, *vals[2] = {v1, v2};
    cr_assert(tags_canon(out, cap, keys, vals, k2 ? 2 : 1) >= 0);
}

Test(registry, tags_are_sorted_and_equal_sets_are_equal_strings)
{
    char a[128], b[128];
    canon(a, sizeof a, "status", "200", "name", "bid");
    canon(b, sizeof b, "name", "bid", "status", "200");
    cr_assert_str_eq(a, b);
    cr_assert_str_eq(a, "name=bid\x1fstatus=200");
    size_t len;
    const char *v = tags_get(a, "status", &len);
    cr_assert(v != NULL && len == 3 && memcmp(v, "200", 3) == 0);
    cr_assert(tags_get(a, "stat", &len) == NULL, "a key prefix must not match");
}

Test(registry, tags_contain_matches_whole_pairs_only)
{
    char tags[128], f1[64], f2[64];
    canon(tags, sizeof tags, "name", "bid", "status", "200");
    canon(f1, sizeof f1, "name", "bid", NULL, NULL);
    canon(f2, sizeof f2, "name", "bi", NULL, NULL);
    cr_assert(tags_contain(tags, f1));
    cr_assert(!tags_contain(tags, f2), "a value prefix must not match");
    cr_assert(tags_contain(tags, ""));
}

Test(registry, get_is_idempotent_and_indices_are_stable)
{
    struct registry *r = registry_new();
    int a = registry_get(r, M_HTTP_REQS, "x=1");
    int b = registry_get(r, M_HTTP_REQS, "x=2");
    for (int i = 0; i < 1000; i++) {
        char t[32];
        snprintf(t, sizeof t, "n=%d", i);
        registry_get(r, M_ITERATIONS, t);
    }
    cr_assert_eq(registry_get(r, M_HTTP_REQS, "x=1"), a);
    cr_assert_eq(registry_get(r, M_HTTP_REQS, "x=2"), b);
    cr_assert_neq(a, b);
    cr_assert_eq(registry_len(r), 1002, "len %zu", registry_len(r));
    registry_free(r);
}

Test(registry, sync_layout_gives_the_same_indices)
{
    struct registry *a = registry_new(), *b = registry_new();
    registry_get(a, M_HTTP_REQS, "s=1");
    cr_assert_eq(registry_sync_layout(b, a), 0);
    registry_get(a, M_HTTP_REQ_DURATION, "s=1");
    registry_get(a, M_HTTP_REQ_FAILED, "s=2");
    cr_assert_eq(registry_sync_layout(b, a), 0);
    cr_assert_eq(registry_len(b), 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(registry_at(a, i)->metric, registry_at(b, i)->metric);
        cr_assert_str_eq(registry_at(a, i)->tags, registry_at(b, i)->tags);
    }
    cr_assert(registry_at(b, 1)->hist != NULL, "a trend series needs its histogram");
    registry_free(a);
    registry_free(b);
}

Test(registry, merge_adds_counters_rates_and_histograms)
{
    struct registry *a = registry_new(), *b = registry_new(), *t = registry_new();
    series_add(registry_at(a, registry_get(a, M_HTTP_REQS, "s=1")), 3);
    series_add(registry_at(b, registry_get(b, M_HTTP_REQS, "s=1")), 4);
    series_rate(registry_at(a, registry_get(a, M_HTTP_REQ_FAILED, "")), true);
    series_rate(registry_at(b, registry_get(b, M_HTTP_REQ_FAILED, "")), false);
    series_trend_ns(registry_at(b, registry_get(b, M_HTTP_REQ_DURATION, "")), 5000);
    cr_assert_eq(registry_merge(t, a), 0);
    cr_assert_eq(registry_merge(t, b), 0);
    const struct series *s = registry_at(t, registry_get(t, M_HTTP_REQS, "s=1"));
    cr_assert_eq(s->sum, 7.0, "%f", s->sum);
    s = registry_at(t, registry_get(t, M_HTTP_REQ_FAILED, ""));
    cr_assert(s->trues == 1 && s->total == 2, "%llu/%llu", (unsigned long long)s->trues,
              (unsigned long long)s->total);
    s = registry_at(t, registry_get(t, M_HTTP_REQ_DURATION, ""));
    cr_assert_eq(hist_count(s->hist), 1);
    registry_free(a);
    registry_free(b);
    registry_free(t);
}

Test(registry, aggregate_selects_series_by_filter)
{
    struct registry *r = registry_new();
    char bid[64], login[64], f[64];
    canon(bid, sizeof bid, "name", "bid", "status", "200");
    canon(login, sizeof login, "name", "login", "status", "200");
    canon(f, sizeof f, "name", "bid", NULL, NULL);
    series_trend_ns(registry_at(r, registry_get(r, M_HTTP_REQ_DURATION, bid)), 10000);
    series_trend_ns(registry_at(r, registry_get(r, M_HTTP_REQ_DURATION, login)), 20000);
    series_trend_ns(registry_at(r, registry_get(r, M_HTTP_REQ_DURATION, login)), 30000);
    struct series out = {.hist = hist_new()};
    cr_assert_eq(registry_aggregate(r, M_HTTP_REQ_DURATION, f, &out), 1);
    cr_assert_eq(hist_count(out.hist), 1);
    cr_assert_eq(registry_aggregate(r, M_HTTP_REQ_DURATION, NULL, &out), 2);
    cr_assert_eq(hist_count(out.hist), 3);
    cr_assert_eq(hist_max_ns(out.hist), 30000);
    hist_free(out.hist);
    registry_free(r);
}

Test(registry, reset_zeroes_values_and_keeps_series)
{
    struct registry *r = registry_new();
    int i = registry_get(r, M_DATA_SENT, "");
    series_add(registry_at(r, i), 100);
    registry_reset(r);
    cr_assert_eq(registry_len(r), 1);
    cr_assert_eq(registry_at(r, i)->sum, 0.0);
    registry_free(r);
}

Test(registry, defined_metric_is_found_and_records_like_a_builtin, .fini = metric_undefine_all)
{
    int id = metric_define("process_cpu", METRIC_TREND, CONTAINS_DEFAULT, "CPU of the target");
    cr_assert_geq(id, M_COUNT, "id %d", id);
    cr_assert_eq(metric_count(), id + 1);
    cr_assert_eq(metric_lookup("process_cpu", 11), id);
    cr_assert_str_eq(metric_info[id].name, "process_cpu");
    cr_assert_eq(metric_info[id].type, METRIC_TREND);
    struct registry *r = registry_new();
    int i = registry_get(r, id, "");
    cr_assert_geq(i, 0);
    series_trend_ns(registry_at(r, i), 5000);
    cr_assert_eq(hist_count(registry_at(r, i)->hist), 1);
    registry_free(r);
}

Test(registry, defining_again_with_the_same_type_returns_the_same_id, .fini = metric_undefine_all)
{
    int a = metric_define("errors_rate", METRIC_RATE, CONTAINS_DEFAULT, NULL);
    int b = metric_define("errors_rate", METRIC_RATE, CONTAINS_DEFAULT, "again");
    cr_assert_eq(a, b, "%d != %d", a, b);
    cr_assert_eq(metric_define("errors_rate", METRIC_COUNTER, CONTAINS_DEFAULT, NULL), -EEXIST);
}

Test(registry, define_refuses_builtin_names_bad_names_and_overflow, .fini = metric_undefine_all)
{
    cr_assert_eq(metric_define("http_reqs", METRIC_COUNTER, CONTAINS_DEFAULT, NULL), -EEXIST);
    cr_assert_eq(metric_define("", METRIC_COUNTER, CONTAINS_DEFAULT, NULL), -EINVAL);
    cr_assert_eq(metric_define("9lives", METRIC_COUNTER, CONTAINS_DEFAULT, NULL), -EINVAL);
    cr_assert_eq(metric_define("a-b", METRIC_COUNTER, CONTAINS_DEFAULT, NULL), -EINVAL);
    char name[32];
    int last = 0;
    for (int i = 0; i < METRIC_MAX; i++) {
        snprintf(name, sizeof name, "m%d", i);
        last = metric_define(name, METRIC_COUNTER, CONTAINS_DEFAULT, NULL);
        if (last < 0) {
            break;
        }
    }
    cr_assert_eq(last, -ENOSPC);
    cr_assert_eq(metric_count(), METRIC_MAX);
    metric_undefine_all();
    cr_assert_eq(metric_count(), M_COUNT);
    cr_assert_eq(metric_lookup("m0", 2), -1);
}
