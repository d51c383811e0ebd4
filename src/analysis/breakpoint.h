/*
 * breakpoint — the `breakpoint` executor's answer: a scenario file's ramping arrival rate
 * that the CLI stops at the thresholds' first failure (every threshold is armed with
 * abortOnFail), after which this says at what rate it broke.  k6 leaves the same idea to
 * a ramping-arrival-rate scenario plus abortOnFail thresholds and the user's arithmetic;
 * brunt does the arithmetic.  `brunt capacity` answers the same question with fewer
 * test minutes (steps and bisection); a breakpoint ramp is one run, inside a scenario.
 *
 * The thresholds are judged once a second over the run so far, so the rate at the stop
 * is an upper bound on the breaking point and the rate one second earlier (the last
 * evaluation that passed) the rate that still held.  No I/O, no printing.
 */
#ifndef BRUNT_ANALYSIS_BREAKPOINT_H
#define BRUNT_ANALYSIS_BREAKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/plan.h"

/* The ramp's arrival rate, iterations per second, t_ns after the scenario's start. */
double breakpoint_rate_at(const struct scenario_plan *sc, uint64_t t_ns);

struct bp_result {
    bool broke;      /* the thresholds failed before the ramp's end */
    double t_s;      /* when the run stopped, seconds after the scenario's start */
    double broke_at; /* the rate then, iterations/s */
    double held;     /* the rate one second earlier, /s (0 when it broke in the first) */
    double peak;     /* the ramp's highest rate, /s */
    double reached;  /* the rate at the stop, /s; 0 when the ramp never started (t_s == 0) */
};

/* From the scenario and how long the ramp ran (aborted: stopped by a threshold).  The
 * summary's "held up to" and the result's reached_rate both read out->reached.  ran_ns
 * is when the stop was asked for (run_report.stop_after_ns), not the end of the run: the
 * requests in flight drain after it (seconds, against an overloaded target), and the
 * ramp's rate at the end of the drain is one no arrival was sent at. */
void breakpoint_judge(const struct scenario_plan *sc, uint64_t ran_ns, bool aborted,
                      struct bp_result *out);

/* The ns after the load's start the ramp ran for: the stop when one was asked for
 * (stop_after_ns), else the run's duration. */
static inline uint64_t breakpoint_ran_ns(uint64_t stop_after_ns, uint64_t duration_ns)
{
    return stop_after_ns > 0 && stop_after_ns < duration_ns ? stop_after_ns : duration_ns;
}

#endif
