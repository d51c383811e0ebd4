/*
 * capacity — the search for the highest arrival rate a service holds within its
 * objectives, in as few test minutes as possible (docs/capacity.md, ANALYSIS "Capacity").
 *
 * The search runs steps of an open-model load at a fixed rate through a callback (the
 * CLI runs the engine; the unit tests run a model) and decides from their outcomes:
 *   1. bracket: from `from`, double the rate until a step fails (or halve it until one
 *      passes);
 *   2. refine: bisect between the highest rate that held and the lowest that broke,
 *      where an overloaded step's completion rate (what the service actually served,
 *      an estimate of its capacity in an open model) lowers the upper bound at once;
 *      stop when (broke - held) / held <= precision;
 *   3. confirm: hold the found rate for `confirm_ns`; if it fails, step down by the
 *      precision and confirm again (at most CAP_MAX_CONFIRMS times).
 * The callback stops an overloaded step early (the engine's abortOnFail thresholds), so
 * a failing step costs seconds.  Everything stops at the time budget.  No printing, no
 * global state; the callback is called on the caller's thread, one step at a time.
 */
#ifndef BRUNT_ANALYSIS_CAPACITY_H
#define BRUNT_ANALYSIS_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAP_MAX_STEPS 64
#define CAP_MAX_CONFIRMS 3
#define CAP_MAX_BROKE 8

/* What one step measured (filled by the step callback). */
struct cap_step {
    double rate;      /* asked, iterations/s */
    uint64_t ran_ns;  /* how long the step ran (aborted steps: shorter) */
    double achieved;  /* iterations started per second over the measured window */
    double completed; /* responses per second over the measured window */
    double p50_ms, p95_ms, p99_ms, error_rate;
    double busy; /* the busiest generator worker's share of a core, 0..1 */
    /* Resources watched over the judged window, % of what there is (NAN, as the search
     * leaves them for the callback: not watched): the target's CPU demand (used plus
     * waited for in the run queue, of the CPUs it may use: --watch) and the database's
     * client connections of max_connections (--postgres). */
    double target_cpu_pct, db_conn_pct;
    bool pass;
    bool aborted;                   /* stopped early: overloaded */
    bool confirm;                   /* a confirmation step */
    bool interrupted;               /* Ctrl-C: the search stops */
    bool generator_bound;           /* brunt itself ran out of CPU: the step says nothing */
    char broke[CAP_MAX_BROKE][128]; /* what broke, first first: "http_req_duration p(95)<300" */
    size_t n_broke;
};

/* Runs one step at `rate` for at most duration_ns; fills *out (rate is set already).
 * Returns 0, or a negative errno when the step could not run (the search stops). */
typedef int (*cap_step_cb)(double rate, uint64_t duration_ns, bool confirm, struct cap_step *out,
                           void *data);

struct cap_options {
    double from;         /* first rate, /s (default 10) */
    double max;          /* never above, /s (default 1e6) */
    double precision;    /* relative width at which to stop (default 0.05) */
    uint64_t step_ns;    /* one step's length (default 10 s) */
    uint64_t confirm_ns; /* the confirmation step's length (default 30 s; 0: none) */
    uint64_t budget_ns;  /* the most test time in all (default 10 min) */
};

void cap_options_default(struct cap_options *o);

struct cap_result {
    struct cap_step steps[CAP_MAX_STEPS];
    size_t n_steps;
    double held;  /* the highest rate that held (confirmed when confirm_ns) / s; 0: none */
    double broke; /* the lowest rate that broke (tested), /s; 0: none broke */
    double upper; /* the upper bound the search ended with (may be an overloaded step's
                          * completion rate, below `broke`) */
    const struct cap_step *first_broke; /* the step at `broke`: what broke first */
    bool confirmed;
    bool precise; /* (upper - held) / held <= precision */
    bool hit_max, hit_budget, generator_bound, interrupted;
    uint64_t test_ns; /* load time of all steps */
};

/*
 * Searches with o, running steps through step(data).  Fills *res.  Returns 0, or the
 * first negative errno of the callback.
 */
int capacity_search(const struct cap_options *o, cap_step_cb step, void *data,
                    struct cap_result *res);

/*
 * What broke first.  The objectives (latency, errors) are the symptoms; a resource at
 * its limit is the cause when there is one.  Of the resources the steps watched (brunt's
 * own busiest worker, the target's CPU, the database's connections), the one that reached
 * saturated_pct (90 by default) at the lowest rate, at or below the rate that broke,
 * is named; ties go in that order (brunt first: then the step measured brunt, not the
 * target).  With none saturated, the first objective the breaking step lists is
 * classified (latency, errors, backlog).
 */
enum cap_cause {
    CAP_CAUSE_NONE, /* nothing broke */
    CAP_CAUSE_LATENCY,
    CAP_CAUSE_ERRORS,
    CAP_CAUSE_BACKLOG, /* fewer answers than arrivals, iterations dropped or late */
    CAP_CAUSE_GENERATOR_CPU,
    CAP_CAUSE_TARGET_CPU,
    CAP_CAUSE_DB_CONNECTIONS,
};

struct cap_cause_info {
    enum cap_cause cause;
    double rate;    /* the rate at which that resource first reached the level (0: none) */
    double use_pct; /* its use there */
    char text[320]; /* one sentence: "the target's CPU: 96% of its CPUs at 400/s" */
};

#define CAP_SATURATED_PCT 90.0

void capacity_what_broke(const struct cap_result *res, double saturated_pct,
                         struct cap_cause_info *out);

/* "none", "latency", "errors", "backlog", "brunt's CPU", "target CPU", "db connections". */
const char *cap_cause_name(enum cap_cause c);

#endif
