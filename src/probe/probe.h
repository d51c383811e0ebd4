/*
 * probe — what watches the system under test while the load runs.
 *
 * A probe is one watcher (the target's process trees, the machine, PostgreSQL, Redis,
 * the CPU profiler) behind a small ops table, so `brunt run` starts, samples, stops and
 * reports every kind the same way and the engine knows none of them.  Probes never run
 * on a load worker: a probe set (struct probe_set, probe.c) owns one thread that calls
 * every probe's sample() once per interval (1 s by default), so a slow database or a
 * /proc walk can never delay a request.
 *
 * What a probe measures reaches the user three ways:
 *   - figures as metrics (metric_define() at start(), then samples recorded into the
 *     registry that sample() is given): they join the run's totals and one-second time
 *     series, so thresholds and success criteria use them like any built-in
 *     (`process_cpu:avg<70`, `redis_hit_rate:rate>0.9`);
 *   - a section of the end-of-test summary (summary());
 *   - its own member of the result document's "probes" object (to_json()): snapshots,
 *     deltas, top-N tables, findings, whatever the later report needs.
 *
 * Lifecycle, in order, each call at most once except sample():
 *   start()   main thread, before engine_run(): connect, check permissions, define
 *             metrics, take "before" snapshots.  A failure that makes the probe useless
 *             returns a negative code with one line in err; the run goes on without it
 *             (or, for what the user asked for explicitly and that cannot start, the CLI
 *             may refuse to start: its choice, documented per flag).
 *   sample()  probe thread, once per interval while the load runs; records into reg,
 *             a fresh registry for that interval that the set hands to the engine's
 *             coordinator (merged into the second it belongs to).  Must return within
 *             the interval; what could not be read is marked unavailable, not guessed.
 *   stop()    probe thread or main thread, after the load: "after" snapshots, analysis,
 *             findings.  Bounded in time (a dead database must not hang the end).
 *   summary() main thread: the probe's section of the summary (may print nothing).
 *   to_json() main thread: writes exactly one JSON value (the probe's member of
 *             "probes") into w; returns 0 or the writer's error.
 *   free()    main thread; frees self.  free(NULL) is never called.
 *
 * Passwords and other secrets a probe was given are never printed, logged or written
 * into the result (a DSN is shown with its password replaced by "***").
 */
#ifndef BRUNT_PROBE_PROBE_H
#define BRUNT_PROBE_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "metrics/registry.h"

/* The default sampling interval. */
#define PROBE_INTERVAL_NS 1000000000ull

/* One finding: a known pathology seen in what a probe measured, with its evidence. */
enum finding_severity { FINDING_INFO, FINDING_WARNING, FINDING_CRITICAL };

struct finding {
    enum finding_severity severity;
    char probe[16];           /* "process", "postgres", "redis", "profile", ... */
    char kind[32];            /* a stable key: "seq_scan", "n_plus_one", "leak", ... */
    char location[256];       /* where: a request name, a query, a table, a command */
    char evidence[512];       /* the numbers that show it, as a sentence */
    char recommendation[256]; /* what to try, stated as a candidate, not a certainty */
    double impact;            /* its share of latency or database time, 0..1, or -1 */
};

struct probe_ops {
    const char *name; /* the probe's member name in "probes" and its summary heading */
    int (*start)(void *self, char *err, size_t err_len);
    void (*sample)(void *self, uint64_t now_ns, struct registry *reg);
    void (*stop)(void *self);
    void (*summary)(void *self, FILE *f, bool color);
    int (*to_json)(void *self, struct jsonw *w);
    /* Findings after stop(): up to cap into out; returns how many (may be NULL). */
    size_t (*findings)(void *self, struct finding *out, size_t cap);
    void (*free)(void *self);
};

struct probe {
    const struct probe_ops *ops;
    void *self;
};

#endif
