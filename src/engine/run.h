/*
 * run — runs a plan on worker threads and collects what they measured.
 *
 * engine_run() is called by the CLI on the main thread, which becomes the coordinator:
 * it starts one worker per thread (each with its own epoll loop, connections, virtual
 * users and metric registry), wakes once a second to merge the registries the workers
 * hand over (building the one-second time series and the run totals), evaluates the
 * thresholds, calls the progress hook, and stops the workers at the end of the plan, on
 * engine_interrupt(), or when an abortOnFail threshold fails.  What it returns in the
 * struct run_report is everything the summary and the result file show.
 */
#ifndef BRUNT_ENGINE_RUN_H
#define BRUNT_ENGINE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "engine/plan.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"

/* Quantiles of one trend over one second of the time series (milliseconds). */
struct ts_trend {
    uint64_t count;
    double avg, med, p90, p95, p99, max;
};

/* One second of the run: counters are that second's increments. */
struct ts_row {
    uint32_t t;       /* seconds since the start of the load */
    uint64_t wall_ns; /* wall-clock start of the second */
    /* Requests per second: each worker's share of http_reqs over the time its shard
     * covered (run_shard_rate), summed.  A worker hands its second over on a timer, so a
     * starved worker's second holds more than a second of samples and the next one less;
     * divided by 1 s, that would read as a burst.  Valid when rate_known (a worker's shard
     * was seen for this second; rows of the probes alone have none). */
    double rate;
    bool rate_known;
    uint32_t vus, vus_max;
    uint64_t http_reqs, failed, iterations, dropped, errors;
    uint64_t data_sent, data_received;
    struct ts_trend duration, latency;
    /* What the second recorded per series (counters, rates, the latency trends'
     * compact histograms), packed by packed_second() with series indices into
     * run_report.total; NULL when nothing was recorded.  Owned by the report. */
    uint8_t *packed;
    size_t packed_len;
};

/* One worker's rate in a second: count requests over the span_ns its shard covered (a
 * span under 50 ms is not a measurement: a second is assumed). */
static inline double run_shard_rate(uint64_t count, uint64_t span_ns)
{
    double s = span_ns > NS_PER_S / 20 ? (double)span_ns / 1e9 : 1.0;
    return (double)count / s;
}

/* A live view for the progress line, refreshed once a second. */
struct run_progress {
    uint64_t elapsed_ns, planned_ns;
    uint32_t vus;
    double rps;    /* last second */
    double p95_ms; /* http_req_duration, last second */
    uint64_t requests, errors;
};

typedef void (*run_progress_cb)(const struct run_progress *p, void *data);

/* http_req_send_lag counts as material (the summary shows it) from this p99 on. */
#define RUN_SEND_LAG_MATERIAL_NS (1000 * 1000ull)
/* A worker counts as short of CPU in a second when on a core or waiting for one (run
 * queue, schedstat) for this share of it, or waiting alone for the second share. */
#define RUN_CPU_SHORT_BUSY 0.9
#define RUN_CPU_SHORT_WAIT 0.1
/* A worker counts as held back in a second when its loop's wake-ups past their timer
 * (by LOOP_LATE_NS or more, in all) or its run-queue wait reach this share of it:
 * arrivals are even, so about that share of them waited for the platform, not brunt. */
#define RUN_HELD_BACK_SHARE 0.01

/* Warnings a report keeps; any more are counted in one more line. */
#define RUN_WARNINGS_KEPT 8

struct run_report {
    const struct plan *plan;
    int argc;
    char **argv;
    /* measured */
    struct registry *total; /* every series over the whole run */
    struct ts_row *rows;
    size_t n_rows;
    struct threshold *thresholds; /* owned by the caller; verdicts filled in */
    size_t n_thresholds;
    uint64_t start_wall_ns, end_wall_ns, duration_ns;
    bool interrupted;    /* SIGINT/SIGTERM */
    bool aborted;        /* stopped early: an abortOnFail threshold, or the scenario */
    bool scenario_abort; /* ... by the scenario (a feeder ran out: on_exhausted abort) */
    char abort_reason[256];
    bool thresholds_failed;
    /* When a stop was first asked for (an abortOnFail threshold, SIGINT), ns after the
     * start of the load; 0 when the run ended on its own.  In-flight work drains after
     * it, so duration_ns is later (analysis/breakpoint.h: the rate at the stop). */
    uint64_t stop_after_ns;
    double target_rate;    /* open model: iterations/s asked (all scenarios); else 0 */
    double achieved_rate;  /* iterations started per second in the open model */
    double completed_rate; /* ... and completed (not interrupted) per second */
    double cpu_user_ms, cpu_sys_ms;
    double max_worker_busy; /* 0..1: the busiest worker's average share of a core */
    /* Open model: seconds in which a worker was busy or waiting for a core (schedstat)
     * over RUN_CPU_SHORT_BUSY of the second and http_req_send_lag's p99 reached RUN_SEND_LAG_MATERIAL_NS: brunt itself was
     * short of CPU and requests left late (warned; `cpu.send_lag_cpu_bound`). */
    uint32_t cpu_short_seconds;
    double cpu_short_lag_p99_ms; /* the worst such second's send-lag p99 */
    /* Open model: seconds, not short of CPU, in which a worker was held back (late
     * wake-ups and run-queue wait over RUN_HELD_BACK_SHARE of the second) and the
     * send-lag p99 reached RUN_SEND_LAG_MATERIAL_NS (warned; `cpu.send_lag_held_back`),
     * and the worst such second's send-lag p99.  The loops' waits for a timer, those
     * LOOP_LATE_NS or more late and the latest, over the run. */
    uint32_t held_back_seconds;
    double held_back_lag_p99_ms;
    uint64_t wakes_timed, wakes_late;
    double wake_late_max_ms;
    /* Open model: the seconds in which brunt had its CPU (no worker short of CPU nor
     * held back) and the send-lag p99 over them (NAN without such a second; the
     * closed model counts them too, and the result shows them for the open model). */
    uint32_t had_cpu_seconds;
    double had_cpu_lag_p99_ms;
    /* How answers were timed (engine/worker.c, over all workers): read at most a window
     * late and timed from the kernel's receive timestamp (stamped), timed at the read
     * (read_time: a read with no timestamp, or one brunt rejected), deferred waits of the
     * loops, and why a worker stopped deferring ("" when none did). */
    struct run_timing {
        bool deferring; /* some worker's answers waited for the window */
        uint64_t stamped, read_time, rejected, deferred_waits;
        char stopped[160];
    } timing;
    /* RUN_WARNINGS_KEPT warnings, then one line that counts those not kept. */
    char warnings[RUN_WARNINGS_KEPT + 1][256];
    size_t n_warnings, warnings_dropped;
    int exit_code;
    /* Set by the CLI after engine_run() for the outputs; the engine never reads them. */
    struct probe_set *probes;   /* probe/probe.h; may be NULL */
    struct criterion *criteria; /* metrics/criteria.h; judged after the run */
    size_t n_criteria;
    bool criteria_failed;                    /* any criterion met neither target nor acceptable */
    const struct fit_verdict *latency_trend; /* analysis/fit.h: p95 drift; may be NULL */
    const struct fit_verdict *error_trend;   /* error-rate drift; may be NULL */
};

/*
 * Called once a second on the coordinator thread, after that second's shards are merged
 * and the thresholds evaluated: r->total holds the run so far and r->rows[0..n_rows) the
 * finalised seconds.  Read only; must return quickly (it delays the next merge).  For
 * live outputs (the Prometheus endpoint).
 */
typedef void (*run_tick_cb)(const struct run_report *r, void *data);

/*
 * Samples from outside the workers (the probe set, probe/probe.h), merged by the
 * coordinator like a worker's shard: into the run totals and into the second they belong
 * to (when that second is not final yet), before the thresholds are evaluated.  Every
 * callback runs on the coordinator thread and must not block, except end().
 */
struct run_feed {
    /* The load's monotonic start (ns); once, before the first worker starts. */
    void (*begin)(void *data, uint64_t start_ns);
    /* The next ready interval: its registry (still the feed's) with its second in
     * *second, or NULL when none is ready. */
    struct registry *(*take)(void *data, uint32_t *second);
    /* Gives back a registry take() returned, once merged. */
    void (*release)(void *data, struct registry *reg);
    /* The load has ended (every worker joined) at end_ns: the feed completes its last
     * interval, waiting a bounded time (at most 2 s), before the final merge. */
    void (*end)(void *data, uint64_t end_ns);
    void *data;
};

struct run_options {
    run_progress_cb progress; /* may be NULL */
    void *progress_data;
    run_tick_cb tick; /* may be NULL */
    void *tick_data;
    const struct run_feed *feed; /* may be NULL */
};

/*
 * Runs plan to its end.  thresholds (may be NULL/0) are evaluated each second and at the
 * end.  Fills *report (free it with run_report_destroy).  Returns 0, or a negative errno
 * when the run could not start (threads, memory); what was measured is in *report even
 * when interrupted.
 */
int engine_run(const struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
               const struct run_options *opts, struct run_report *report);

/*
 * Asks a running engine to stop: the first call stops new iterations and lets in-flight
 * ones finish within plan->grace_ns; the second stops at once.  Async-signal-safe.
 */
void engine_interrupt(void);

void run_report_add_warning(struct run_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void run_report_destroy(struct run_report *r);

#endif
