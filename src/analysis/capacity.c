/*
 * capacity — bracket, bisect, confirm (see capacity.h).
 */
#include "analysis/capacity.h"

#include <math.h>
#include <stdio.h>
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
    st->target_cpu_pct = st->db_conn_pct = NAN; /* not watched unless the callback says */
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

const char *cap_cause_name(enum cap_cause c)
{
    switch (c) {
    case CAP_CAUSE_NONE:
        return "none";
    case CAP_CAUSE_LATENCY:
        return "latency";
    case CAP_CAUSE_ERRORS:
        return "errors";
    case CAP_CAUSE_BACKLOG:
        return "backlog";
    case CAP_CAUSE_GENERATOR_CPU:
        return "brunt's CPU";
    case CAP_CAUSE_TARGET_CPU:
        return "target CPU";
    case CAP_CAUSE_DB_CONNECTIONS:
        return "db connections";
    }
    return "?";
}

static double use_of(const struct cap_step *st, enum cap_cause c)
{
    return c == CAP_CAUSE_GENERATOR_CPU ? 100 * st->busy
           : c == CAP_CAUSE_TARGET_CPU  ? st->target_cpu_pct
                                        : st->db_conn_pct;
}

void capacity_what_broke(const struct cap_result *res, double saturated_pct,
                         struct cap_cause_info *out)
{
    static const enum cap_cause resources[3] = {CAP_CAUSE_GENERATOR_CPU, CAP_CAUSE_TARGET_CPU,
                                                CAP_CAUSE_DB_CONNECTIONS};
    static const char *const what[3] = {"brunt's own CPU (its busiest worker, of a core)",
                                        "the target's CPU (used and waited for, of the CPUs "
                                        "it may use)",
                                        "the database's connections (of max_connections)"};
    memset(out, 0, sizeof *out);
    const struct cap_step *fb = res->first_broke;
    if (fb == NULL) {
        snprintf(out->text, sizeof out->text, "nothing broke");
        return;
    }
    int best = -1;
    const struct cap_step *at = NULL;
    for (int r = 0; r < 3; r++) {
        const struct cap_step *low = NULL;
        for (size_t i = 0; i < res->n_steps; i++) {
            const struct cap_step *st = &res->steps[i];
            double u = use_of(st, resources[r]);
            if (st->rate <= fb->rate && isfinite(u) && u >= saturated_pct &&
                (low == NULL || st->rate < low->rate)) {
                low = st;
            }
        }
        if (low != NULL && (at == NULL || low->rate < at->rate)) {
            best = r;
            at = low;
        }
    }
    if (at != NULL) {
        out->cause = resources[best];
        out->rate = at->rate;
        out->use_pct = use_of(at, resources[best]);
        snprintf(out->text, sizeof out->text, "%s: %.0f%% at %.1f/s%s", what[best], out->use_pct,
                 at->rate, at->pass ? " (while the objectives still held)" : "");
        return;
    }
    const char *b = fb->n_broke ? fb->broke[0] : "";
    out->cause = strstr(b, "failed") != NULL || strstr(b, "error") != NULL ? CAP_CAUSE_ERRORS
                 : strncmp(b, "backlog", 7) == 0 || strncmp(b, "achieved", 8) == 0 ||
                         strstr(b, "dropped") != NULL
                     ? CAP_CAUSE_BACKLOG
                     : CAP_CAUSE_LATENCY;
    /* the watched resources' peaks, so "none saturated" says how far they were */
    char peaks[120] = "";
    size_t len = 0;
    for (int r = 1; r < 3; r++) {
        double peak = NAN;
        for (size_t i = 0; i < res->n_steps; i++) {
            double u = use_of(&res->steps[i], resources[r]);
            if (res->steps[i].rate <= fb->rate && isfinite(u) && !(u <= peak)) {
                peak = u;
            }
        }
        if (isfinite(peak) && len < sizeof peaks) {
            int n = snprintf(
                peaks + len, sizeof peaks - len, "%s%s at most %.0f%%",
                len ? ", " : "; none saturated: ", r == 1 ? "target CPU" : "db connections", peak);
            len += n > 0 ? (size_t)n : 0;
        }
    }
    snprintf(out->text, sizeof out->text, "%s (%.150s)%s", cap_cause_name(out->cause), b, peaks);
}
