/*
 * engine_internal — what the coordinator (run.c) and the workers (worker.c and the
 * files of worker_internal.h) share.
 *
 * The only data crossing threads: the plan (read-only), the stop level (atomic), and
 * per-worker shards (a registry of one second's samples) handed over under the
 * worker's mutex once a second.  Nothing on the request path takes a lock.
 */
#ifndef BRUNT_ENGINE_INTERNAL_H
#define BRUNT_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"
#include "engine/plan.h"
#include "metrics/registry.h"

struct worker;

/* One second of one worker's samples, handed to the coordinator. */
struct shard {
    struct registry *reg;
    uint32_t interval;       /* second index since the start of the load */
    uint64_t cpu_ns;         /* worker thread CPU during the interval */
    uint64_t wait_ns;        /* ... and its time runnable but waiting for a CPU (schedstat) */
    struct loop_wakes wakes; /* how punctually its loop woke for its timers (core/loop.h) */
    uint64_t span_ns;        /* the time the shard's samples were taken over: a second, or
                            * more when the hand-over came late (a starved worker) */
    uint32_t vus, vus_max;   /* at the end of the interval */
    uint64_t started;        /* open model: iterations started in the interval */
    bool final;              /* the worker's last shard */
    struct shard *next;
};

enum stop_level { STOP_NONE = 0, STOP_GRACEFUL = 1, STOP_NOW = 2 };

struct engine_shared {
    const struct plan *plan;
    int n_workers;
    uint64_t start_ns;      /* monotonic start of the load, same for all workers */
    _Atomic int stop_level; /* enum stop_level */
    int notify_fd;          /* eventfd: workers and signals wake the coordinator */
    _Atomic int flow_abort; /* a data feeder ran out with on_exhausted: abort */
};

/* Creates worker `index`; returns NULL when out of memory. */
struct worker *worker_new(struct engine_shared *eng, int index);
void worker_free(struct worker *w);
/* Starts the worker thread; 0 or negative errno. */
int worker_start(struct worker *w);
/* Waits for the worker thread to end. */
void worker_join(struct worker *w);
/* Wakes the worker so it notices a new stop level.  Any thread. */
void worker_wake(struct worker *w);
/*
 * Moves the shards the worker has published into *out (a list in interval order) and
 * returns how many.  Coordinator thread.
 */
int worker_take_shards(struct worker *w, struct shard **out);
/* Gives a merged (and reset) shard back for reuse.  Coordinator thread. */
void worker_return_shard(struct worker *w, struct shard *s);
/* True once the worker has published its final shard. */
bool worker_finished(struct worker *w);
/* Adds how w timed its answers to *t (after worker_join; engine/run.h's run_timing). */
struct run_timing;
void worker_timing(const struct worker *w, struct run_timing *t);

#endif
