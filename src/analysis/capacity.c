/*
 * capacity — bracket, bisect, confirm (see capacity.h).
 */
#include "analysis/capacity.h"

#include <math.h>
#include <string.h>

#include "core/clock.h"

void cap_options_default(struct cap_options *o)
{
    *o = (struct cap_options){
        .from = 10,
        .max = 1e6,
        .precision = 0.05,
        .step_ns = 10 * NS_PER_S,
        .confirm_ns = 30 * NS_PER_S,
        .budget_ns = 10 * 60 * NS_PER_S,
    };
}

struct search {
    const struct cap_options *o;
    cap_step_cb cb;
    void *data;
    struct cap_result *res;
    int err;
};

/* Runs one step; NULL when the search must stop (limits, budget, error, Ctrl-C). */
static struct cap_step *run(struct search *s, double rate, uint64_t dur, bool confirm)
{
    struct cap_result *res = s->res;
    if (res->n_steps >= CAP_MAX_STEPS || res->interrupted || s->err < 0) {
        return NULL;
    }
    if (res->test_ns + dur > s->o->budget_ns) {
        res->hit_budget = true;
        return NULL;
    }
    struct cap_step *st = &res->steps[res->n_steps];
    memset(st, 0, sizeof *st);
    st->rate = rate;
    st->confirm = confirm;
    int rc = s->cb(rate, dur, confirm, st, s->data);
    if (rc < 0) {
        s->err = rc;
        return NULL;
    }
    res->n_steps++;
    res->test_ns += st->ran_ns;
    if (st->interrupted) {
        res->interrupted = true;
        return NULL;
    }
    if (st->generator_bound && !st->pass) {
        res->generator_bound = true;
        return NULL;
    }
    return st;
}

/* The upper bound after a failing step at rate: its completion rate when the service was
 * overloaded and served less than asked (but more than what held), else the rate. */
static double upper_after(const struct cap_step *st, double lo, double upper)
{
    double u = st->rate;
    if (st->completed > lo && st->completed < st->rate) {
        u = st->completed;
    } else if (lo > 0 && st->completed > 0 && st->completed <= lo) {
        /* overloaded, it served no more than what already held: the capacity is at
         * what held, to within the completion rate's noise of a few percent */
        u = lo * 1.02 < st->rate ? lo * 1.02 : st->rate;
    }
    return u < upper ? u : upper;
}

int capacity_search(const struct cap_options *o, cap_step_cb step, void *data,
                    struct cap_result *res)
{
    struct search s = {.o = o, .cb = step, .data = data, .res = res};
    double lo = 0, hi = INFINITY, upper = INFINITY;
    double r = o->from > o->max ? o->max : o->from;
    struct cap_step *st;

    memset(res, 0, sizeof *res);
    /* 1. bracket */
    while (isinf(hi)) {
        st = run(&s, r, o->step_ns, false);
        if (st == NULL) {
            break;
        }
        if (st->pass) {
            lo = r;
            if (r >= o->max) {
                res->hit_max = true;
                break;
            }
            r = r * 2 > o->max ? o->max : r * 2;
            continue;
        }
        hi = r;
        upper = upper_after(st, lo, upper);
        if (lo == 0) {
            /* the first step broke: halve until one holds */
            while (lo == 0 && r > 0.01) {
                r = (upper < r ? upper : r) / 2;
                st = run(&s, r, o->step_ns, false);
                if (st == NULL) {
                    break;
                }
                if (st->pass) {
                    lo = r;
                } else {
                    hi = r;
                    upper = upper_after(st, 0, upper);
                }
            }
        }
    }
    /* 2. refine */
    while (lo > 0 && isfinite(upper) && (upper - lo) / lo > o->precision) {
        double mid = (lo + upper) / 2;
        st = run(&s, mid, o->step_ns, false);
        if (st == NULL) {
            break;
        }
        if (st->pass) {
            lo = mid;
        } else {
            hi = mid < hi ? mid : hi;
            upper = upper_after(st, lo, upper);
        }
    }
    res->precise = lo > 0 && isfinite(upper) && (upper - lo) / lo <= o->precision;
    /* 3. confirm */
    if (lo > 0 && o->confirm_ns > 0 && !res->interrupted && s.err == 0 && !res->generator_bound) {
        for (int k = 0; k < CAP_MAX_CONFIRMS; k++) {
            st = run(&s, lo, o->confirm_ns, true);
            if (st == NULL) {
                break;
            }
            if (st->pass) {
                res->confirmed = true;
                break;
            }
            hi = lo < hi ? lo : hi;
            upper = lo < upper ? lo : upper;
            lo *= 1 - o->precision;
        }
    }
    /* what held: the confirmed rate, or else the highest short step that passed below
     * the lowest rate that broke (an unconfirmed answer the CLI says is one) */
    res->held = res->confirmed ? lo : 0;
    for (size_t i = 0; !res->confirmed && i < res->n_steps; i++) {
        const struct cap_step *x = &res->steps[i];
        if (x->pass && x->rate < hi && x->rate > res->held) {
            res->held = x->rate;
        }
    }
    res->broke = isfinite(hi) ? hi : 0;
    res->upper = isfinite(upper) ? upper : 0;
    for (size_t i = 0; i < res->n_steps; i++) {
        if (!res->steps[i].pass && res->steps[i].rate == res->broke) {
            res->first_broke = &res->steps[i];
            break;
        }
    }
    return s.err;
}
