/*
 * schedule — when the open model starts iteration k.
 *
 * An arrival-rate scenario plans its iterations ahead: iteration k (0-based, counted
 * over the whole scenario and all workers) starts at the time t where the cumulative
 * number of planned arrivals N(t) reaches k.  For a constant rate that is k / rate; for
 * ramping stages the rate is linear within a stage, N(t) quadratic, and t its root.
 * Worker w of T takes k = w, w+T, w+2T, ..., so the workers together follow the plan
 * exactly and spread evenly, as k6 spreads starts evenly inside each time unit.
 */
#ifndef BRUNT_ENGINE_SCHEDULE_H
#define BRUNT_ENGINE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/plan.h"

#define SCHEDULE_MAX_STAGES 1024 /* as many as a scenario file may have (scenario/load.h) */

struct arrival_schedule {
    /* private */
    size_t n;                          /* segments */
    double rate0[SCHEDULE_MAX_STAGES]; /* arrivals per ns at each segment start */
    double rate1[SCHEDULE_MAX_STAGES]; /* ... and end */
    double len_ns[SCHEDULE_MAX_STAGES];
    double cum[SCHEDULE_MAX_STAGES + 1]; /* arrivals before each segment */
    double start_ns[SCHEDULE_MAX_STAGES + 1];
};

/*
 * Prepares the schedule of an arrival-rate scenario (constant or ramping).  Returns 0, or
 * -EINVAL when it has more than SCHEDULE_MAX_STAGES stages.
 */
int schedule_init(struct arrival_schedule *s, const struct scenario_plan *sc);

/* Offset in ns from the scenario start of iteration k, or UINT64_MAX past the end. */
uint64_t schedule_time_ns(const struct arrival_schedule *s, uint64_t k);

/* Number of iterations the schedule plans in all. */
uint64_t schedule_total(const struct arrival_schedule *s);

/*
 * The arrival window: the open model wakes for its schedule at most once per
 * SCHEDULE_WINDOW_NS and starts every arrival due by then in one go, instead of waking
 * once per arrival (two wake-ups per request at 20,000 req/s, the dearest part of a
 * request on a virtual machine).  An arrival may therefore leave up to the window after
 * its intended start, never before it; latency still counts from the intended start,
 * and the delay shows in http_req_send_lag.  When arrivals are further apart than the
 * window nothing is delayed.  500 µs: at 5,000 req/s it measured 30% less CPU per
 * request than 250 µs (a sleep and wake costs tens of µs on a virtual machine) with a
 * send-lag p99 of about 0.5 ms (with the worker's 50 µs timer slack, engine/worker.c);
 * 1 ms was cheaper again but put the p99 at the 1 ms bar (bench/README.md).
 */
#ifndef SCHEDULE_WINDOW_NS /* -DSCHEDULE_WINDOW_NS=... for a measurement */
#define SCHEDULE_WINDOW_NS (500 * 1000ull)
#endif

/*
 * When to wake for the next arrival, intended at next_ns: not sooner than window_ns after
 * the last wake for the schedule (last_wake_ns: the timer's last wake, or the last time
 * an answer's dispatch started arrivals; 0 before the first), never before next_ns.
 * So the wake is at most window_ns late for next_ns (as next_ns > last_wake_ns).
 */
static inline uint64_t schedule_wake_ns(uint64_t next_ns, uint64_t last_wake_ns, uint64_t window_ns)
{
    uint64_t floor = last_wake_ns + window_ns;
    return next_ns > floor ? next_ns : floor;
}

#endif
