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

#include "core/clock.h"
#include "core/json.h"
#include "metrics/registry.h"

/* The default sampling interval. */
#define PROBE_INTERVAL_NS NS_PER_S

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

/*
 * The probe set: the probes of one run and the one thread that samples them.
 *
 * Use, all on the main thread unless said otherwise:
 *
 *     struct probe_set *ps = probe_set_new(PROBE_INTERVAL_NS);
 *     probe_set_add(ps, my_probe, true);          // owns it from here, even on error
 *     probe_set_start(ps, err, sizeof err);        // start() of each; starts the thread
 *     struct run_options o = {...};
 *     probe_set_feed(ps, &feed);  o.feed = &feed;  // the engine merges each interval
 *     engine_run(plan, th, n, &o, &report);
 *     probe_set_stop(ps);                          // joins the thread; stop() of each
 *     probe_set_summary(ps, stdout, color);        // every probe's summary()
 *     probe_set_to_json(ps, w);                    // the "probes" object
 *     probe_set_free(ps);                          // free() of each
 *
 * Interval k of the set ends at start + k*interval (start: the load's start, which the
 * engine passes through the feed's begin()); its registry is tagged with the second in
 * which it ends minus one, so with the default 1 s interval the samples taken at the end
 * of second k join row k.  Probes compute rates over the time they measured themselves
 * (now_ns minus their previous sample), so a late wake-up skews nothing.
 */
#define PROBE_SET_MAX 16                        /* probes in one set */
#define PROBE_INTERVAL_MIN_NS (100 * NS_PER_MS) /* 100 ms: below it /proc walks dominate */
#define PROBE_INTERVAL_MAX_NS (60 * NS_PER_S)

struct probe_set;
struct run_feed; /* engine/run.h */

/* A new empty set sampling every interval_ns (clamped to the bounds above), or NULL. */
struct probe_set *probe_set_new(uint64_t interval_ns);
/* Frees every probe (its ops->free) and the set; stops the thread first if needed.
 * probe_set_free(NULL) does nothing. */
void probe_set_free(struct probe_set *set);
/*
 * Adds p to the set, which owns it from now on (freed with the set, or at once when this
 * fails).  required: a start() failure makes probe_set_start() fail (a user's --watch);
 * otherwise the probe is dropped with a warning and the run goes on.  Returns 0, or
 * -ENOSPC (PROBE_SET_MAX reached), -EBUSY (already started).  Main thread.
 */
int probe_set_add(struct probe_set *set, struct probe p, bool required);
/* Number of probes (started or not yet). */
size_t probe_set_len(const struct probe_set *set);
/* The probe named name (its ops->name), or NULL. */
struct probe *probe_set_find(struct probe_set *set, const char *name);

/*
 * Calls every probe's start() in the order added, then starts the sampling thread.  An
 * optional probe that fails is freed and its message kept as a warning; a required one
 * that fails makes this return its negative code with its message in err (the probes
 * already started are stopped).  Returns 0, or a negative errno (the thread).  Main thread.
 */
int probe_set_start(struct probe_set *set, char *err, size_t err_len);
/* Warnings from probe_set_start(): i below probe_set_warning_count(). */
size_t probe_set_warning_count(const struct probe_set *set);
const char *probe_set_warning(const struct probe_set *set, size_t i);

/*
 * Fills *feed so that engine_run() (struct run_options.feed) merges each interval of
 * this set into the run totals and its second before thresholds are evaluated.  The set
 * must outlive the run.
 */
void probe_set_feed(struct probe_set *set, struct run_feed *feed);

/*
 * Ends sampling (the thread takes no further samples and is joined), then calls every
 * probe's stop().  Safe to call twice and on a set never started.  Main thread.
 */
void probe_set_stop(struct probe_set *set);
/* Every probe's summary() in order.  Main thread, after probe_set_stop(). */
void probe_set_summary(struct probe_set *set, FILE *f, bool color);
/*
 * Writes the "probes" object: one member per probe (its name) holding what to_json()
 * wrote.  Returns 0 or the writer's error.  Main thread, after probe_set_stop().
 */
int probe_set_to_json(struct probe_set *set, struct jsonw *w);
/* Up to cap findings of every probe into out; returns how many. */
size_t probe_set_findings(struct probe_set *set, struct finding *out, size_t cap);
/*
 * Writes findings as a JSON array of {severity ("info", "warning", "critical"), probe,
 * kind, location, evidence, recommendation, impact (null when -1)}: the form a probe's
 * to_json() puts under "findings" and the report reads.
 */
void probe_findings_json(struct jsonw *w, const struct finding *f, size_t n);

/* Intervals sampled so far (any thread; for tests and the cost benchmark). */
uint64_t probe_set_samples(const struct probe_set *set);

/*
 * Defines the metrics of the built-in probes (process, machine) so that thresholds and
 * criteria naming them parse before any probe starts.  Call once before parsing flags
 * or scenario files.  Returns 0 or metric_define()'s error.  Main thread.
 */
int probe_define_metrics(void);

/*
 * The history a probe keeps for its summary and result: wall times (*wall) and ncols
 * parallel columns (cols[c]), *n rows of *cap.  Appends one row (wall_ns, v[0..ncols));
 * grows by doubling from 256 rows, to max rows at most (then, or when memory runs out,
 * the row is dropped).  The probe's own thread.
 */
/* min / avg / p95 (nearest rank) / max over a column's non-NaN values; n of them. */
struct probe_stats {
    size_t n;
    double min, avg, p95, max;
};

/* The statistics of v[0..n) into *out (all 0 and n = 0 when no value, or no memory). */
void probe_stats_of(const double *v, size_t n, struct probe_stats *out);

/* A summary's value in its unit, when the unit has its own form: a unit starting with
 * 'B' in binary multiples ("512 B", "1.5 MiB/s" for "B/s"), "%" with one decimal.  Returns
 * true with buf written, or false (buf untouched) for any other unit, which each
 * summary formats its own way. */
bool probe_fmt_scaled(double v, const char *unit, char *buf, size_t cap);

/* Writes {"min","avg","p95","max"} of s, or null when s->n is 0. */
void probe_stats_json(struct jsonw *w, const struct probe_stats *s);

void probe_history_push(uint64_t **wall, double **cols, size_t ncols, size_t *n, size_t *cap,
                        size_t max, uint64_t wall_ns, const double *v);

#endif
