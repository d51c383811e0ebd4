/*
 * worker — one load-generating thread: its epoll loop, its scenarios, VUs and metric
 * registry (worker_internal.h lists the pieces), the once-a-second tick, and the stop
 * levels the coordinator sets (graceful: no new iterations, in-flight ones get the
 * grace; now: everything ends at once).
 *
 * The request path allocates nothing and takes no lock: requests are pre-rendered bytes
 * (or rendered by the step ops into a per-VU buffer), responses are parsed from one
 * per-worker read buffer, and samples go to series whose indices are cached per step
 * and status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/run.h"
#include "engine/worker_internal.h"

static void tick_cb(struct loop *loop, struct loop_timer *t);
static void hard_cb(struct loop *loop, struct loop_timer *t);
static void before_poll(struct loop *loop, void *data);
static void check_stop(struct worker *w);

static void tick_cb(struct loop *loop, struct loop_timer *t)
{
    struct worker *w = t->data;
    worker_publish(w, false);
    w->interval++;
    loop_timer_start(loop, &w->tick, w->eng->start_ns + (uint64_t)(w->interval + 1) * TICK_NS);
}

static void hard_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct worker *w = t->data;
    for (size_t i = 0; i < w->n_scens; i++) {
        scen_hard_stop(&w->scens[i]);
    }
}

/*
 * Whether the worker's answers may wait for its next arrival window (loop_defer_io):
 * every scenario is an open model whose iteration is one HTTP/1.1 request over plain
 * TCP, so an answer read late is timed exactly from its kernel receive timestamp, and
 * reading it late delays nothing that follows in the iteration (a flow's next step or
 * think time would start late; TLS reads have no timestamp; HTTP/2 streams roll on).
 * What shows only at run time (a redirect, an answer in several reads) stops it then
 * (worker_defer_stop).
 * At 20,000 req/s this makes the 4-5 sleeps per 500 µs window that answers cost one.
 */
static bool worker_defer_ok(const struct worker *w)
{
#ifdef WORKER_NO_DEFER /* -DWORKER_NO_DEFER: for a measurement against the old loop */
    (void)w;
    return false;
#else
    for (size_t i = 0; i < w->n_scens; i++) {
        const struct scenario_plan *sc = w->scens[i].sc;
        if (!executor_is_open(sc->executor) || sc->n_steps != 1 ||
            sc->steps[0].kind != STEP_REQUEST || sc->steps[0].origin == NULL ||
            sc->steps[0].origin->transport != &transport_tcp || sc->steps[0].origin->http2) {
            return false;
        }
    }
    return w->n_scens > 0;
#endif
}

/* Whether an open-model arrival waits for a free VU: answers free VUs, read them now. */
static bool worker_queued(const struct worker *w)
{
    for (size_t i = 0; i < w->n_scens; i++) {
        if (w->scens[i].qlen > 0) {
            return true;
        }
    }
    return false;
}

void worker_defer_stop(struct worker *w, const char *why)
{
    if (w->defer == DEFER_ON || w->defer == DEFER_FIRST_STAMP) {
        w->defer = DEFER_STOPPED;
        w->defer_stopped = why;
    }
}

uint64_t worker_rx_time(struct worker *w, const struct vu *vu, uint64_t now)
{
    if (vu->tc.rx_wall_ns == 0) {
        w->n_read_time++;
        if (w->defer == DEFER_ON) { /* before the first stamp the kernel may not stamp yet */
            worker_defer_stop(w, "a read brought no kernel receive timestamp");
        }
        return now;
    }
    if (w->wall_off_at_ns != now) {
        /* Once per loop turn: the two clocks' offset, signed (a clock set back). */
        w->wall_off_ns = (int64_t)(clock_wall_ns() - clock_now_ns());
        w->wall_off_at_ns = now;
    }
    uint64_t rx = (uint64_t)((int64_t)vu->tc.rx_wall_ns - w->wall_off_ns);
    if (rx > now) {
        uint64_t clock = clock_now_ns(); /* read during a long dispatch: not the future */
        if (rx > clock) {
            w->n_rejected++;
            worker_defer_stop(w, "a kernel receive timestamp later than the clock");
            return clock;
        }
    } else if (rx < vu->t_send) {
        /* Before the request's first byte: a clock stepped between the two reads, not
         * an answer.  Timed at the read instead, never as a near-zero latency. */
        w->n_rejected++;
        worker_defer_stop(w, "a kernel receive timestamp before its request was written");
        return now;
    }
    w->n_stamped++;
    if (w->defer == DEFER_FIRST_STAMP) {
        w->defer = DEFER_ON; /* the kernel stamps now: answers may wait for the window */
    }
    /* An answer that came while the write's call was still returning: at its end. */
    return rx < vu->t_sent ? vu->t_sent : rx;
}

void worker_timing(const struct worker *w, struct run_timing *t)
{
    uint64_t waits = loop_deferred_waits(w->loop);
    t->deferring = t->deferring || waits > 0;
    t->stamped += w->n_stamped;
    t->read_time += w->n_read_time;
    t->rejected += w->n_rejected;
    t->deferred_waits += waits;
    if (w->defer_stopped != NULL && t->stopped[0] == '\0') {
        snprintf(t->stopped, sizeof t->stopped, "%s", w->defer_stopped);
    }
}

/* Once per loop turn, before it waits: the stop level, then the HTTP/2 output the
 * turn's events and timers left (after the stop, which may end sessions), then whether
 * answers may wait for the next arrival window. */
static void before_poll(struct loop *loop, void *data)
{
    struct worker *w = data;
    check_stop(w);
    conn_h2_flush_dirty(w);
    if (w->defer == DEFER_ON && !worker_queued(w)) {
        loop_defer_io(loop, SCHEDULE_WINDOW_NS);
    }
}

/* Acts on a new stop level (a relaxed atomic load). */
static void check_stop(struct worker *w)
{
    struct loop *loop = w->loop;
    int level = atomic_load_explicit(&w->eng->stop_level, memory_order_relaxed);
    if (level == w->seen_stop) {
        return;
    }
    w->seen_stop = level;
    if (level == STOP_NOW) {
        hard_cb(loop, &w->hard_timer);
        return;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        if (!sr->started) {
            sr->started = true;
            sr->finished = true;
            loop_timer_stop(loop, &sr->timer);
            scen_maybe_done(sr);
        } else {
            scen_finish(sr);
        }
    }
    loop_timer_start(loop, &w->hard_timer, loop_now_ns(loop) + w->eng->plan->grace_ns);
}

struct worker *worker_new(struct engine_shared *eng, int index)
{
    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return NULL;
    }
    w->eng = eng;
    w->index = index;
    w->schedstat_fd = -1;
    w->rng = 0x5eed0000ULL + (uint64_t)index * 7919;
    pthread_mutex_init(&w->lock, NULL);
    w->rbuf = malloc(READ_BUF_BYTES);
    w->cur = shard_new();
    if (w->rbuf == NULL || w->cur == NULL || loop_new(&w->loop) < 0) {
        goto fail;
    }
    w->n_scens = eng->plan->n_scenarios;
    w->scens = calloc(w->n_scens, sizeof *w->scens);
    if (w->scens == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        if (scen_init(w, &w->scens[i], &eng->plan->scenarios[i], (int)i) < 0) {
            goto fail;
        }
    }
    w->tick.cb = tick_cb;
    w->tick.data = w;
    w->hard_timer.cb = hard_cb;
    w->hard_timer.data = w;
    w->defer = worker_defer_ok(w) ? DEFER_FIRST_STAMP : DEFER_NO;
    loop_set_before_poll(w->loop, before_poll, w);
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_free(struct worker *w)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        for (uint32_t k = 0; sr->vus != NULL && k < sr->n_cap; k++) {
            struct vu *vu = &sr->vus[k];
            if (vu->h2 != NULL) {
                conn_h2_free(vu); /* an open-model VU parked with its connection open */
            }
            conn_ws_discard(vu);
            if (vu->cstate != CONN_CLOSED) {
                vu->tops->close(&vu->tc);
            }
            free(vu->hbuf);
            free(vu->kept);
            dynbuf_destroy(&vu->sendbuf);
            if (vu->sv_ready && sr->sc->ops != NULL) {
                sr->sc->ops->vu_free(vu->sv);
            }
        }
        for (size_t k = 0; sr->steps != NULL && k < sr->sc->n_steps; k++) {
            free(sr->steps[k].checks);
        }
        free(sr->vus);
        free(sr->steps);
        free(sr->queue);
    }
    free(w->scens);
    shard_free(w->cur);
    for (struct shard *s = w->ready_head, *n; s != NULL; s = n) {
        n = s->next;
        shard_free(s);
    }
    for (struct shard *s = w->free_list, *n; s != NULL; s = n) {
        n = s->next;
        shard_free(s);
    }
    for (size_t i = 0; i < w->eng->plan->n_origins && i < PLAN_MAX_ORIGINS; i++) {
        const struct origin *o = &w->eng->plan->origins[i];
        if (w->tcache[i] != NULL && o->transport->cache_free != NULL) {
            o->transport->cache_free(w->tcache[i]);
        }
    }
    loop_free(w->loop);
    free(w->rbuf);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct loop *loop = w->loop;
    /*
     * The kernel may fire the worker's wake-ups up to WORKER_TIMER_SLACK_NS late, so it
     * can serve them from an interrupt it takes anyway instead of programming the timer
     * for each: measured 10% less CPU per request at 20,000 req/s than an exact slack of
     * 1 ns (bench/README.md).  The open model's own window (SCHEDULE_WINDOW_NS) already
     * lets an arrival leave that late; the slack adds at most this much to it.
     */
    (void)prctl(PR_SET_TIMERSLACK, (unsigned long)WORKER_TIMER_SLACK_NS, 0UL, 0UL, 0UL);
    w->cpu_mark = clock_thread_cpu_ns();
    w->span_mark = w->eng->start_ns;
    w->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    w->wait_mark = worker_wait_ns(w);
    loop_update_now(loop);
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        sr->start_ns = w->eng->start_ns + sr->sc->start_time_ns;
        sr->end_ns = w->eng->start_ns + scenario_length_ns(sr->sc);
        if (sr->n_cap == 0) {
            sr->started = sr->finished = sr->done = true; /* no VU of it lives here */
            continue;
        }
        loop_timer_start(loop, &sr->timer, sr->start_ns);
    }
    loop_timer_start(loop, &w->tick, w->eng->start_ns + TICK_NS);
    bool all_done = true;
    for (size_t i = 0; i < w->n_scens; i++) {
        all_done = all_done && w->scens[i].done;
    }
    if (all_done) {
        loop_timer_stop(loop, &w->tick);
    } else {
        (void)loop_run(loop);
    }
    if (!w->finished) {
        worker_publish(w, true);
    }
    if (w->schedstat_fd >= 0) {
        close(w->schedstat_fd);
        w->schedstat_fd = -1;
    }
    return NULL;
}

int worker_start(struct worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_main, w);
    if (err != 0) {
        return -err;
    }
    w->thread_started = true;
    return 0;
}

void worker_join(struct worker *w)
{
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
}

void worker_wake(struct worker *w)
{
    loop_wake(w->loop);
}
