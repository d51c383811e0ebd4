/*
 * compile_metrics — custom metrics in scenario files (scenario/custom.h): the top-level
 * `metrics:` declarations and each request step's `metrics:` feeds.
 *
 *   metrics:
 *     errors: rate                          # k6: new Rate('errors')
 *     bid_time: {type: trend, contains: time, description: "..."}
 *     bids: counter
 *   ...
 *       - request: POST /api/v1/bids
 *         metrics:
 *           errors: status != 200           # a rate: a check expression
 *           bid_time: duration              # trend, counter, gauge: VALUE [if CHECK]
 *           bids: 1 if status == 200
 *
 * Declarations come before the scenarios (TOP_KEYS order in load.c), so steps and
 * thresholds can name the metrics.  Load time, one thread.
 */
#include <stdio.h>
#include <string.h>

#include "scenario/custom.h"
#include "scenario/load_internal.h"

int load__compile_metrics(struct loader *L, struct ynode *n)
{
    if (load__check_map(L, n, "metrics", NULL) < 0) {
        return -1;
    }
    if (n->n / 2 > CUSTOM_MAX_METRICS) {
        return load__err(L, n, "%zu custom metrics (expected at most %d)", n->n / 2,
                         CUSTOM_MAX_METRICS);
    }
    static const char *const keys[] = {"type", "contains", "description", NULL};
    static const char *const types[] = {"counter", "gauge", "rate", "trend", NULL};
    static const char *const contains[] = {"default", "time", NULL};
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        struct ynode *t = v, *c = NULL, *d = NULL;
        if (v->type == Y_MAP) {
            if (load__check_map(L, v, "a custom metric", keys) < 0) {
                return -1;
            }
            t = load__mget(v, "type");
            c = load__mget(v, "contains");
            d = load__mget(v, "description");
            if (t == NULL) {
                return load__err(L, v,
                                 "custom metric %s has no type (expected type: counter, gauge, "
                                 "rate or trend)",
                                 k->s);
            }
        }
        int ti, ci = 0;
        if (load__get_enum(L, t, "metric type", types, &ti) < 0) {
            return -1;
        }
        if (c != NULL && load__get_enum(L, c, "contains value", contains, &ci) < 0) {
            return -1;
        }
        if (ci == 1 && ti != 3) {
            return load__err(L, c, "contains: time applies to trends only (%s is a %s)", k->s,
                             types[ti]);
        }
        const char *desc = d != NULL ? load__sval(L, d, "a text") : NULL;
        if (d != NULL && desc == NULL) {
            return -1;
        }
        char msg[512];
        if (custom_define(k->s, types[ti], ci == 1, desc, msg, sizeof msg) < 0) {
            return load__err(L, k, "%s", msg);
        }
    }
    return 0;
}

static int var_lookup(void *ctx, const char *name, size_t len)
{
    const struct scen_ctx *C = ctx;
    for (size_t j = 0; j < C->n_vars; j++) {
        if (strlen(C->vars[j]) == len && memcmp(C->vars[j], name, len) == 0) {
            return (int)j;
        }
    }
    return -1;
}

int load__compile_step_metrics(struct loader *L, struct scen_ctx *C, struct ynode *n,
                               const char *tags, struct flow_step *fs)
{
    if (load__check_map(L, n, "the step's metrics", NULL) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        const char *spec = load__sval(L, v, "a value such as 'status != 200' or 'duration'");
        if (spec == NULL) {
            return -1;
        }
        char msg[512];
        if (custom_feed_compile(&fs->custom, k->s, spec, tags, var_lookup, C, msg, sizeof msg) <
            0) {
            return load__err(
                L, strstr(msg, "is not declared") || strstr(msg, "brunt's own") ? k : v, "%s", msg);
        }
    }
    if (custom_step_needs_body(&fs->custom)) {
        fs->wants_body = true;
    }
    return 0;
}
