/*
 * analysis/breakpoint: the ramp's rate over time (stages, time units), and the rates a
 * stopped ramp broke and held at.
 */
#include <criterion/criterion.h>

#include "analysis/breakpoint.h"
#include "core/clock.h"

static struct stage stages[2] = {{60 * NS_PER_S, 600}, {20 * NS_PER_S, 600}};

static struct scenario_plan ramp(void)
{
    return (struct scenario_plan){.executor = EXEC_RAMPING_ARRIVAL_RATE,
                                  .breakpoint = true,
                                  .start_rate = 0,
                                  .time_unit_ns = NS_PER_S,
                                  .stages = stages,
                                  .n_stages = 2};
}

Test(breakpoint, rate_along_the_stages)
{
    struct scenario_plan sc = ramp();
    cr_assert_float_eq(breakpoint_rate_at(&sc, 0), 0, 1e-9);
    cr_assert_float_eq(breakpoint_rate_at(&sc, 30 * NS_PER_S), 300, 1e-9);
    cr_assert_float_eq(breakpoint_rate_at(&sc, 70 * NS_PER_S), 600, 1e-9);
    cr_assert_float_eq(breakpoint_rate_at(&sc, 99 * NS_PER_S), 600, 1e-9);
    sc.time_unit_ns = 60 * NS_PER_S; /* 600 per minute = 10/s */
    cr_assert_float_eq(breakpoint_rate_at(&sc, 60 * NS_PER_S), 10, 1e-9);
}

Test(breakpoint, a_stopped_ramp_broke_between_two_seconds)
{
    struct scenario_plan sc = ramp();
    struct bp_result r;
    breakpoint_judge(&sc, 41 * NS_PER_S, true, &r);
    cr_assert(r.broke);
    cr_assert_float_eq(r.broke_at, 410, 1e-9);
    cr_assert_float_eq(r.held, 400, 1e-9);
    cr_assert_float_eq(r.peak, 600, 1e-9);
    /* ran to the end: nothing broke, whatever stopped it after */
    breakpoint_judge(&sc, 80 * NS_PER_S, true, &r);
    cr_assert(!r.broke);
    breakpoint_judge(&sc, 30 * NS_PER_S, false, &r); /* Ctrl-C, not a threshold */
    cr_assert(!r.broke);
}

/* The rate reached: where the ramp stopped, and 0 when it stopped before it started
 * (t_s 0), even with a start rate above 0. */
Test(breakpoint, the_rate_reached_is_zero_before_the_start)
{
    struct scenario_plan sc = ramp();
    sc.start_rate = 60;
    struct bp_result r;
    breakpoint_judge(&sc, 30 * NS_PER_S, false, &r);
    cr_assert_float_eq(r.reached, 330, 1e-9, "reached %g", r.reached);
    sc.start_time_ns = 10 * NS_PER_S;
    breakpoint_judge(&sc, 10 * NS_PER_S, false, &r);
    cr_assert_float_eq(r.t_s, 0, 1e-12);
    cr_assert_float_eq(r.reached, 0, 1e-9, "reached %g", r.reached);
}
