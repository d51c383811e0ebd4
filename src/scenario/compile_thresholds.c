/*
 * compile_thresholds — `thresholds:`: k6's forms (a list of expressions per metric, or
 * {threshold, abort_on_fail, delay_abort_eval} mappings, camelCase accepted) parsed by
 * metrics/threshold.c into L->th.  At most SCENARIO_MAX_THRESHOLDS.  Load time, one
 * thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"
#include "scenario/load_internal.h"

int load__compile_thresholds(struct loader *L, struct ynode *n)
{
    struct threshold **out = &L->th;
    size_t *nout = &L->n_th;
    if (load__check_map(L, n, "thresholds", NULL) < 0) {
        return -1;
    }
    size_t total = 0;
    for (size_t i = 1; i < n->n; i += 2) {
        total += n->kids[i]->type == Y_SEQ ? n->kids[i]->n : 1;
    }
    if (total > SCENARIO_MAX_THRESHOLDS) {
        return load__err(L, n, "too many thresholds (at most %d)", SCENARIO_MAX_THRESHOLDS);
    }
    if (total == 0) {
        return 0;
    }
    struct threshold *th = calloc(total, sizeof *th);
    if (th == NULL) {
        return load__oom(L);
    }
    *out = th;
    static const char *const tkeys[] = {
        "threshold", "abort_on_fail", "abortOnFail", "delay_abort_eval", "delayAbortEval", NULL,
    };
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *list = n->kids[i + 1];
        struct ynode *one[1] = {list};
        struct ynode **items = list->type == Y_SEQ ? list->kids : one;
        size_t count = list->type == Y_SEQ ? list->n : 1;
        if (list->type == Y_MAP) {
            return load__err(L, list,
                             "found a mapping for the thresholds of %s (expected a list "
                             "such as [\"p(95)<300\"])",
                             k->s);
        }
        for (size_t j = 0; j < count; j++) {
            struct ynode *it = items[j];
            char expr[THRESHOLD_EXPR_MAX + 64];
            struct ynode *at = it;
            if (it->type == Y_MAP) {
                if (load__check_map(L, it, "a threshold", tkeys) < 0) {
                    return -1;
                }
                bool bad = false;
                struct ynode *t = load__mget(it, "threshold");
                struct ynode *a = load__mget2(L, it, "abort_on_fail", "abortOnFail", &bad);
                struct ynode *d =
                    bad ? NULL : load__mget2(L, it, "delay_abort_eval", "delayAbortEval", &bad);
                if (bad) {
                    return -1;
                }
                if (t == NULL) {
                    return load__err(L, it,
                                     "a threshold without 'threshold' (expected {threshold: "
                                     "\"p(99)<500\", abort_on_fail: true})");
                }
                const char *ts = load__sval(L, t, "a threshold expression such as p(95)<300");
                if (ts == NULL) {
                    return -1;
                }
                at = t;
                size_t off = (size_t)snprintf(expr, sizeof expr, "%s", ts);
                if (a != NULL) {
                    static const char *const bools[] = {"false", "true", NULL};
                    int b;
                    if (load__get_enum(L, a, "abort_on_fail value", bools, &b) < 0) {
                        return -1;
                    }
                    if (b && off < sizeof expr) {
                        off += (size_t)snprintf(expr + off, sizeof expr - off, ",abortOnFail");
                    }
                }
                if (d != NULL) {
                    uint64_t ns;
                    const char *ds = load__sval(L, d, "a duration");
                    if (ds == NULL || load__get_duration(L, d, true, &ns) < 0) {
                        return -1;
                    }
                    if (off < sizeof expr) {
                        snprintf(expr + off, sizeof expr - off, ",delayAbortEval=%s", ds);
                    }
                }
            } else {
                const char *s = load__sval(L, it, "a threshold expression such as p(95)<300");
                if (s == NULL) {
                    return -1;
                }
                snprintf(expr, sizeof expr, "%s", s);
            }
            char msg[512];
            if (threshold_parse(k->s, expr, &th[*nout], msg, sizeof msg) < 0) {
                return load__err(L, at, "bad threshold for %s: %s", k->s, msg);
            }
            (*nout)++;
        }
    }
    return 0;
}
