/*
 * analysis/capacity on a model service of known capacity: the answer lies within the
 * precision below it, an overloaded step's completion rate shortens the search, a first
 * step that already breaks halves down, the confirmation steps down when it fails, and
 * the budget and --max are honoured.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/capacity.h"
#include "core/clock.h"

struct model {
    double cap;
    bool tell_mu;       /* overloaded steps report the capacity as their completion rate */
    double confirm_cap; /* below this a confirmation holds (0: same as cap) */
    int calls;
};

static int step(double rate, uint64_t dur, bool confirm, struct cap_step *out, void *data)
{
    struct model *m = data;
    m->calls++;
    double cap = confirm && m->confirm_cap > 0 ? m->confirm_cap : m->cap;
    out->pass = rate <= cap;
    out->aborted = !out->pass;
    out->ran_ns = out->pass ? dur : dur / 3;
    out->completed = m->tell_mu ? fmin(rate, cap) : rate;
    out->achieved = out->completed;
    if (!out->pass) {
        snprintf(out->broke[0], sizeof out->broke[0], "p95");
        out->n_broke = 1;
    }
    return 0;
}

static void opts(struct cap_options *o)
{
    cap_options_default(o);
    o->step_ns = 10 * NS_PER_S;
    o->confirm_ns = 30 * NS_PER_S;
}

Test(capacity, finds_the_capacity_within_the_precision)
{
    const double caps[] = {7, 100, 333, 4000, 123456};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        for (int mu = 0; mu < 2; mu++) {
            struct model m = {.cap = caps[i], .tell_mu = mu};
            struct cap_options o;
            struct cap_result r;
            opts(&o);
            cr_assert_eq(capacity_search(&o, step, &m, &r), 0);
            cr_assert(r.confirmed && r.precise, "cap %g", caps[i]);
            cr_assert(r.held <= caps[i] && r.held >= caps[i] * (1 - o.precision), "cap %g: held %g",
                      caps[i], r.held);
            cr_assert(r.broke > caps[i], "broke %g above cap %g", r.broke, caps[i]);
            cr_assert_not_null(r.first_broke);
            cr_assert_str_eq(r.first_broke->broke[0], "p95");
            cr_assert(r.test_ns <= o.budget_ns);
        }
    }
}

Test(capacity, the_completion_rate_of_an_overloaded_step_saves_steps)
{
    struct model blind = {.cap = 1000}, told = {.cap = 1000, .tell_mu = true};
    struct cap_options o;
    struct cap_result a, b;
    opts(&o);
    capacity_search(&o, step, &blind, &a);
    capacity_search(&o, step, &told, &b);
    cr_assert_lt(b.n_steps, a.n_steps, "%zu steps with mu, %zu without", b.n_steps, a.n_steps);
    cr_assert_float_eq(b.upper, 1000, 1e-9, "the upper bound is mu");
}

Test(capacity, a_first_step_that_breaks_halves_down)
{
    struct model m = {.cap = 3};
    struct cap_options o;
    struct cap_result r;
    opts(&o);
    o.from = 100;
    capacity_search(&o, step, &m, &r);
    cr_assert(r.held <= 3 && r.held >= 3 * 0.95, "held %g", r.held);
    cr_assert_float_eq(r.steps[0].rate, 100, 1e-9);
    cr_assert_float_eq(r.steps[1].rate, 50, 1e-9);
}

Test(capacity, a_failed_confirmation_steps_down)
{
    struct model m = {.cap = 200, .confirm_cap = 185};
    struct cap_options o;
    struct cap_result r;
    opts(&o);
    capacity_search(&o, step, &m, &r);
    cr_assert(r.confirmed);
    cr_assert(r.held <= 185, "held %g is above what holds for the confirmation", r.held);
    size_t confirms = 0;
    for (size_t i = 0; i < r.n_steps; i++) {
        confirms += r.steps[i].confirm;
    }
    cr_assert_geq(confirms, 2);
}

Test(capacity, budget_and_max)
{
    struct model m = {.cap = 1e9};
    struct cap_options o;
    struct cap_result r;
    opts(&o);
    o.max = 1000;
    capacity_search(&o, step, &m, &r);
    cr_assert(r.hit_max);
    cr_assert_float_eq(r.held, 1000, 1e-9);
    m.cap = 500;
    o.max = 1e6;
    o.budget_ns = 35 * NS_PER_S; /* three steps and a bit */
    capacity_search(&o, step, &m, &r);
    cr_assert(r.hit_budget);
    cr_assert_leq(r.test_ns, o.budget_ns);
    cr_assert_eq(r.n_steps, 3);
}

/* A model whose resources rise with the rate: the target's CPU reaches 100% at cpu_full,
 * the database's connections at db_full (0: not watched). */
struct res_model {
    struct model m;
    double cpu_full, db_full, busy_full;
};

static int res_step(double rate, uint64_t dur, bool confirm, struct cap_step *out, void *data)
{
    struct res_model *rm = data;
    int rc = step(rate, dur, confirm, out, &rm->m);
    if (rm->cpu_full > 0) {
        out->target_cpu_pct = fmin(100, 100 * rate / rm->cpu_full);
    }
    if (rm->db_full > 0) {
        out->db_conn_pct = fmin(100, 100 * rate / rm->db_full);
    }
    if (rm->busy_full > 0) {
        out->busy = fmin(1, rate / rm->busy_full);
    }
    return rc;
}

Test(capacity, what_broke_first_names_the_resource_saturated_at_the_lowest_rate)
{
    struct cap_options o;
    struct cap_result r;
    struct cap_cause_info ci;
    opts(&o);
    /* CPU full at 400/s (90% at 360/s), connections full at 1000/s, the objectives
     * break at 420/s: the target's CPU */
    struct res_model a = {.m = {.cap = 420}, .cpu_full = 400, .db_full = 1000};
    cr_assert_eq(capacity_search(&o, res_step, &a, &r), 0);
    capacity_what_broke(&r, CAP_SATURATED_PCT, &ci);
    cr_assert_eq(ci.cause, CAP_CAUSE_TARGET_CPU, "%s", ci.text);
    cr_assert_geq(ci.use_pct, 90);
    cr_assert_geq(ci.rate, 360);
    cr_assert_leq(ci.rate, r.broke);
    cr_assert(strstr(ci.text, "target's CPU") != NULL, "%s", ci.text);
    /* the connections run out first */
    struct res_model b = {.m = {.cap = 420}, .cpu_full = 2000, .db_full = 300};
    cr_assert_eq(capacity_search(&o, res_step, &b, &r), 0);
    capacity_what_broke(&r, CAP_SATURATED_PCT, &ci);
    cr_assert_eq(ci.cause, CAP_CAUSE_DB_CONNECTIONS, "%s", ci.text);
    /* brunt itself first, even when the target's CPU is as busy */
    struct res_model c = {.m = {.cap = 420}, .cpu_full = 400, .busy_full = 400};
    cr_assert_eq(capacity_search(&o, res_step, &c, &r), 0);
    capacity_what_broke(&r, CAP_SATURATED_PCT, &ci);
    cr_assert_eq(ci.cause, CAP_CAUSE_GENERATOR_CPU, "%s", ci.text);
}

Test(capacity, what_broke_first_falls_back_to_the_objective)
{
    struct cap_options o;
    struct cap_result r;
    struct cap_cause_info ci;
    opts(&o);
    /* CPU at most 42% when the latency objective broke */
    struct res_model a = {.m = {.cap = 420}, .cpu_full = 1000};
    cr_assert_eq(capacity_search(&o, res_step, &a, &r), 0);
    capacity_what_broke(&r, CAP_SATURATED_PCT, &ci);
    cr_assert_eq(ci.cause, CAP_CAUSE_LATENCY, "%s", ci.text);
    cr_assert(strstr(ci.text, "none saturated: target CPU at most") != NULL, "%s", ci.text);
    cr_assert(strstr(ci.text, "db connections") == NULL, "not watched: %s", ci.text);
    /* nothing broke */
    struct res_model n = {.m = {.cap = 1e9}};
    o.max = 100;
    cr_assert_eq(capacity_search(&o, res_step, &n, &r), 0);
    capacity_what_broke(&r, CAP_SATURATED_PCT, &ci);
    cr_assert_eq(ci.cause, CAP_CAUSE_NONE);
}
