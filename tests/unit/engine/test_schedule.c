/*
 * The open model's schedule: iteration k starts where the cumulative planned arrivals
 * reach k, for constant and ramping rates, and the workers' interleaving covers every k.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "core/clock.h"
#include "engine/schedule.h"

static struct scenario_plan constant(double rate, uint64_t duration_ns)
{
    struct scenario_plan sc = {0};
    sc.executor = EXEC_CONSTANT_ARRIVAL_RATE;
    sc.rate = rate;
    sc.time_unit_ns = NS_PER_S;
    sc.duration_ns = duration_ns;
    return sc;
}

Test(schedule, constant_rate_spaces_starts_evenly)
{
    struct scenario_plan sc = constant(200, 10 * NS_PER_S);
    struct arrival_schedule s;
    cr_assert_eq(schedule_init(&s, &sc), 0);
    cr_assert_eq(schedule_total(&s), 2000, "total %llu vs 2000",
                 (unsigned long long)schedule_total(&s));
    for (uint64_t k = 0; k < 2000; k += 97) {
        uint64_t t = schedule_time_ns(&s, k);
        uint64_t want = k * 5 * NS_PER_MS;
        cr_assert(t + 1 >= want && t <= want + 1, "k=%llu: %llu vs %llu", (unsigned long long)k,
                  (unsigned long long)t, (unsigned long long)want);
    }
    cr_assert_eq(schedule_time_ns(&s, 2000), UINT64_MAX);
}

Test(schedule, time_unit_divides_the_rate)
{
    struct scenario_plan sc = constant(30, 2 * 60 * NS_PER_S);
    sc.time_unit_ns = 60 * NS_PER_S; /* 30 per minute */
    struct arrival_schedule s;
    cr_assert_eq(schedule_init(&s, &sc), 0);
    cr_assert_eq(schedule_total(&s), 60, "total %llu vs 60",
                 (unsigned long long)schedule_total(&s));
    cr_assert_eq(schedule_time_ns(&s, 1), 2 * NS_PER_S, "%llu",
                 (unsigned long long)schedule_time_ns(&s, 1));
}

Test(schedule, linear_ramp_follows_the_integral)
{
    /* 0 -> 100/s over 10 s: N(t) = 5 t^2, so iteration k starts at sqrt(k / 5) s. */
    struct stage st[1] = {{10 * NS_PER_S, 100}};
    struct scenario_plan sc = {0};
    sc.executor = EXEC_RAMPING_ARRIVAL_RATE;
    sc.start_rate = 0;
    sc.time_unit_ns = NS_PER_S;
    sc.stages = st;
    sc.n_stages = 1;
    struct arrival_schedule s;
    cr_assert_eq(schedule_init(&s, &sc), 0);
    cr_assert_eq(schedule_total(&s), 500, "total %llu vs 500",
                 (unsigned long long)schedule_total(&s));
    for (uint64_t k = 1; k < 500; k += 37) {
        double want = sqrt((double)k / 5.0) * 1e9;
        double got = (double)schedule_time_ns(&s, k);
        cr_assert(fabs(got - want) < 1000, "k=%llu: %.0f vs %.0f", (unsigned long long)k, got,
                  want);
    }
}

Test(schedule, stages_chain_and_hold)
{
    /* 10/s held for 2 s, then ramp to 30/s over 2 s: 20 + 40 = 60 iterations. */
    struct stage st[2] = {{2 * NS_PER_S, 10}, {2 * NS_PER_S, 30}};
    struct scenario_plan sc = {0};
    sc.executor = EXEC_RAMPING_ARRIVAL_RATE;
    sc.start_rate = 10;
    sc.time_unit_ns = NS_PER_S;
    sc.stages = st;
    sc.n_stages = 2;
    struct arrival_schedule s;
    cr_assert_eq(schedule_init(&s, &sc), 0);
    cr_assert_eq(schedule_total(&s), 60, "total %llu vs 60",
                 (unsigned long long)schedule_total(&s));
    cr_assert_eq(schedule_time_ns(&s, 19), 1900 * NS_PER_MS, "%llu",
                 (unsigned long long)schedule_time_ns(&s, 19));
    uint64_t prev = 0;
    for (uint64_t k = 0; k < 60; k++) {
        uint64_t t = schedule_time_ns(&s, k);
        cr_assert(t >= prev, "not monotonic at %llu", (unsigned long long)k);
        cr_assert(t < 4 * NS_PER_S, "k=%llu past the end", (unsigned long long)k);
        prev = t;
    }
}

Test(schedule, zero_rate_stage_plans_nothing)
{
    struct stage st[2] = {{NS_PER_S, 0}, {NS_PER_S, 0}};
    struct scenario_plan sc = {0};
    sc.executor = EXEC_RAMPING_ARRIVAL_RATE;
    sc.time_unit_ns = NS_PER_S;
    sc.stages = st;
    sc.n_stages = 2;
    struct arrival_schedule s;
    cr_assert_eq(schedule_init(&s, &sc), 0);
    cr_assert_eq(schedule_total(&s), 0);
    cr_assert_eq(schedule_time_ns(&s, 0), UINT64_MAX);
}

Test(schedule, the_wake_is_never_before_the_arrival_nor_a_window_after_it)
{
    const uint64_t W = SCHEDULE_WINDOW_NS;
    cr_assert(W > 0 && W <= NS_PER_MS, "the window is bounded: %llu ns", (unsigned long long)W);
    /* Arrivals 5 a window: one wake per window, each within the window of the arrival. */
    const uint64_t gap = W / 5;
    uint64_t last = 1000 * NS_PER_S, wakes = 0, end = last + 100 * W;
    for (uint64_t next = last + gap; next <= end; next += gap) {
        uint64_t wake = schedule_wake_ns(next, last, W);
        cr_assert_geq(wake, next, "never early: %llu < %llu", (unsigned long long)wake,
                      (unsigned long long)next);
        cr_assert_lt(wake - next, W, "late by %llu ns", (unsigned long long)(wake - next));
        cr_assert_geq(wake, last + W, "at most one wake per window");
        if (wake > last) {
            while (next + gap <= wake) {
                next += gap; /* the arrivals due by the wake start with it */
            }
            last = wake;
            wakes++;
        }
    }
    cr_expect_leq(wakes, 100, "wakes %llu for 100 windows", (unsigned long long)wakes);
    /* Arrivals further apart than the window are exactly on time. */
    cr_expect_eq(schedule_wake_ns(2 * NS_PER_S, NS_PER_S, W), 2 * NS_PER_S);
}
