/*
 * executor — k6's executors on one worker: which VUs run when.  Closed-model executors
 * keep a number of VUs looping (constant, ramping, per-VU and shared iterations); the
 * open model starts iterations on a schedule (engine/schedule.h), hands each to an idle
 * VU, makes more VUs up to max_vus, then queues, and drops an iteration that waited
 * longer than max_queue.  Global VU g and global iteration k belong to worker g % T and
 * k % T, so all workers together follow the plan exactly.  Also the scenario's end:
 * the graceful stop, the hard stop, and telling the worker when everything is done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "engine/worker_internal.h"

static uint32_t owned_below(struct worker *w, uint64_t target);
static void scen_set_active(struct scen_rt *sr, uint32_t want);
static void scen_timer_cb(struct loop *loop, struct loop_timer *t);
static void queue_expire(struct scen_rt *sr, uint64_t now);
static struct vu *open_take_vu(struct scen_rt *sr);
static void open_start(struct scen_rt *sr, struct vu *vu, uint64_t intended);
static void stop_timer_cb(struct loop *loop, struct loop_timer *t);

/* Number of owned VUs (global index < target) for this worker. */
static uint32_t owned_below(struct worker *w, uint64_t target)
{
    uint64_t t = (uint64_t)w->eng->n_workers, i = (uint64_t)w->index;
    return target > i ? (uint32_t)((target - i + t - 1) / t) : 0;
}

static void scen_set_active(struct scen_rt *sr, uint32_t want)
{
    if (want > sr->n_cap) {
        want = sr->n_cap;
    }
    /* Switch on VUs below want, retire those above. */
    for (uint32_t i = 0; i < sr->n_cap; i++) {
        struct vu *vu = &sr->vus[i];
        if (i < want) {
            vu->retire = false;
            loop_timer_stop(sr->w->loop, &vu->retire_timer);
            if (vu->state == VU_OFF && vu_may_start_iteration(vu)) {
                sr->active++;
                if (!vu_start_iteration(vu, loop_now_ns(sr->w->loop))) {
                    sr->active--;
                }
            }
        } else if (vu->state != VU_OFF && !vu->retire) {
            /* Ramped down: it ends after this iteration, or at gracefulRampDown. */
            vu->retire = true;
            if (vu->state == VU_BUSY) {
                loop_timer_start(sr->w->loop, &vu->retire_timer,
                                 loop_now_ns(sr->w->loop) + sr->sc->graceful_ramp_down_ns);
            }
        }
    }
    if (want > sr->n_alloc) {
        sr->n_alloc = want;
    }
    if (sr->active > sr->active_peak) {
        sr->active_peak = sr->active;
    }
}

static void scen_timer_cb(struct loop *loop, struct loop_timer *t)
{
    struct scen_rt *sr = t->data;
    uint64_t now = loop_now_ns(loop);
    if (!sr->started) {
        sr->started = true;
        sr->last_want = UINT32_MAX;
    }
    sr->woke_ns = now; /* the open model's arrival window counts from here */
    if (sr->ex->catch_up != NULL) {
        sr->ex->catch_up(sr); /* arrivals due before the end start even when late */
    }
    if (now >= sr->end_ns) {
        scen_finish(sr);
        return;
    }
    sr->ex->tick(sr, now);
    scen_maybe_done(sr);
}

/* --- the closed model: constant-vus, per-vu-iterations, shared-iterations --- */

static void closed_tick(struct scen_rt *sr, uint64_t now)
{
    (void)now;
    scen_set_active(sr, owned_below(sr->w, sr->sc->vus));
    loop_timer_start(sr->w->loop, &sr->timer, sr->end_ns);
}

static void closed_iteration_done(struct vu *vu, uint64_t now)
{
    struct scen_rt *sr = vu->sr;
    if (vu_may_start_iteration(vu) && vu_start_iteration(vu, now)) {
        return; /* the next iteration is under way */
    }
    loop_timer_stop(sr->w->loop, &vu->retire_timer);
    conn_close(vu);
    vu->state = VU_OFF;
    sr->active--;
}

static bool any_may_iterate(const struct vu *vu)
{
    (void)vu;
    return true;
}

static bool per_vu_may_iterate(const struct vu *vu)
{
    return vu->iter < vu->sr->sc->iterations;
}

/* Every VU of the worker stopped by its scenario ops (a data feeder ran out). */
static bool closed_spent(const struct scen_rt *sr)
{
    return sr->n_cap > 0 && sr->flow_stopped == sr->n_cap;
}

static bool per_vu_spent(const struct scen_rt *sr)
{
    return sr->active == 0 || closed_spent(sr);
}

static bool shared_spent(const struct scen_rt *sr)
{
    return sr->budget == 0 || closed_spent(sr);
}

static int shared_init(struct scen_rt *sr)
{
    /* The budget is split among the workers taking part; with pipelining (quick mode) it
     * counts requests, not iterations. */
    uint64_t Ts = sr->stride, i = (uint64_t)sr->w->index, n = sr->sc->iterations;
    sr->limited = true;
    sr->budget = i < Ts ? n / Ts + (i < n % Ts ? 1 : 0) : 0;
    return 0;
}

/* The most VUs switched on during the second that ends: a run shorter than a second
 * (whose only shard is published once every VU is off) still shows its VUs. */
static uint32_t closed_vus_now(struct scen_rt *sr)
{
    uint32_t peak = sr->active > sr->active_peak ? sr->active : sr->active_peak;
    sr->active_peak = sr->active;
    return peak;
}

static uint32_t closed_vus_max(const struct scen_rt *sr)
{
    return sr->n_cap;
}

/* --- ramping-vus --- */

static void ramping_tick(struct scen_rt *sr, uint64_t now)
{
    const struct scenario_plan *sc = sr->sc;
    double target = stages_target_at(sc->stages, sc->n_stages, sc->vus, now - sr->start_ns);
    uint32_t want = owned_below(sr->w, (uint64_t)(target + 1e-9));
    if (want != sr->last_want) { /* walk the VUs only when the target moved */
        scen_set_active(sr, want);
        sr->last_want = want;
    }
    /* Re-evaluate often enough to follow a ramp to the VU. */
    uint64_t next = now + 10 * NS_PER_MS;
    loop_timer_start(sr->w->loop, &sr->timer, next < sr->end_ns ? next : sr->end_ns);
}

/* Drops queued iterations that waited longer than max_queue. */
static void queue_expire(struct scen_rt *sr, uint64_t now)
{
    struct worker *w = sr->w;
    while (sr->qlen > 0) {
        uint64_t intended = sr->queue[sr->qhead];
        if (now - intended <= sr->sc->max_queue_ns && !sr->finished) {
            break;
        }
        sr->qhead = (sr->qhead + 1) % sr->qcap;
        sr->qlen--;
        series_add(S(w, sr->s_dropped), 1);
    }
}

static struct vu *open_take_vu(struct scen_rt *sr)
{
    struct vu *vu = sr->idle;
    if (vu != NULL) {
        sr->idle = vu->next_idle;
        return vu;
    }
    if (sr->n_alloc < sr->n_cap) {
        vu = &sr->vus[sr->n_alloc++];
        return vu;
    }
    return NULL;
}

/* Starts an open-model iteration on an idle VU; a refused one counts as dropped. */
static void open_start(struct scen_rt *sr, struct vu *vu, uint64_t intended)
{
    sr->active++;
    if (vu_start_iteration(vu, intended)) {
        sr->started_iters++;
        return;
    }
    sr->active--;
    vu->flow_stopped = false; /* the next iteration may get a row again (recycle) */
    sr->flow_stopped--;
    vu->next_idle = sr->idle;
    sr->idle = vu;
    series_add(S(sr->w, sr->s_dropped), 1);
}

/*
 * Arms the schedule's timer for when_ns.  Every finished iteration dispatches (and so
 * re-arms) at the same instant as a rule: leaving a timer that is already right alone
 * saves a heap update per request.
 */
static void arm_arrival_timer(struct scen_rt *sr, uint64_t when_ns)
{
    if (loop_timer_active(&sr->timer) && sr->timer.when_ns == when_ns) {
        return;
    }
    loop_timer_start(sr->w->loop, &sr->timer, when_ns);
}

/*
 * The open model's heart: starts every iteration whose intended time has come, on an
 * idle VU, or queues it; serves the queue first, oldest first.
 */
void scen_open_dispatch(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    uint64_t now = loop_now_ns(w->loop);
    uint64_t stride = sr->stride;
    queue_expire(sr, now);
    while (sr->qlen > 0) {
        struct vu *vu = open_take_vu(sr);
        if (vu == NULL) {
            break;
        }
        uint64_t intended = sr->queue[sr->qhead];
        sr->qhead = (sr->qhead + 1) % sr->qcap;
        sr->qlen--;
        open_start(sr, vu, intended);
    }
    if (sr->finished || w->seen_stop != STOP_NONE) {
        return;
    }
    for (;;) {
        uint64_t off = schedule_time_ns(&sr->sched, sr->next_k);
        if (off == UINT64_MAX) {
            loop_timer_start(w->loop, &sr->timer, sr->end_ns);
            return;
        }
        uint64_t intended = sr->start_ns + off;
        if (intended > now) {
            arm_arrival_timer(sr, schedule_wake_ns(intended, sr->woke_ns, SCHEDULE_WINDOW_NS));
            return;
        }
        /* Arrivals started here, from an answer as from the timer, open a window: the
         * next wake for the schedule is a window later (else every answer read after a
         * window's end would arm the timer for the very next arrival). */
        sr->woke_ns = now;
        sr->next_k += stride;
        struct vu *vu = sr->qlen == 0 ? open_take_vu(sr) : NULL;
        if (vu != NULL) {
            open_start(sr, vu, intended);
        } else if (sr->qlen < sr->qcap) {
            sr->queue[(sr->qhead + sr->qlen) % sr->qcap] = intended;
            sr->qlen++;
        } else {
            series_add(S(w, sr->s_dropped), 1);
        }
    }
}

static void open_tick(struct scen_rt *sr, uint64_t now)
{
    (void)sr;
    (void)now; /* catch_up dispatched, and armed the timer for the next arrival */
}

static void open_iteration_done(struct vu *vu, uint64_t now)
{
    (void)now;
    struct scen_rt *sr = vu->sr;
    sr->active--;
    vu->next_idle = sr->idle;
    sr->idle = vu;
    if (sr->qlen == 0 && sr->w->defer == DEFER_ON) {
        /* Answers read once per window (worker.c): the window's timer, due right after
         * the reads, starts what is due in one burst, rather than a send between every
         * two reads (each send wakes a server that went back to sleep). */
        return;
    }
    scen_open_dispatch(sr);
}

static bool open_spent(const struct scen_rt *sr)
{
    (void)sr;
    return false; /* the schedule ends with the scenario's time */
}

static int open_init(struct scen_rt *sr)
{
    const struct scenario_plan *sc = sr->sc;
    uint64_t Ts = sr->stride;
    if (schedule_init(&sr->sched, sc) < 0) {
        return -EINVAL;
    }
    /* The queue holds max_queue's worth of arrivals at the peak rate. */
    double peak =
        plan_stage_peak(sc, sc->executor == EXEC_CONSTANT_ARRIVAL_RATE ? sc->rate : sc->start_rate);
    double unit_s = (double)(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S) / 1e9;
    double per_s = peak / unit_s / (double)Ts;
    double q = per_s * ((double)sc->max_queue_ns / 1e9) * 1.2 + 1024;
    double total = (double)(schedule_total(&sr->sched) / Ts + 1024);
    if (q > total) {
        q = total;
    }
    sr->qcap = q > (double)(1u << 24) ? (1u << 24) : (size_t)q;
    sr->queue = calloc(sr->qcap, sizeof *sr->queue);
    if (sr->queue == NULL) {
        return -ENOMEM;
    }
    sr->next_k = (uint64_t)sr->w->index;
    uint32_t pre = owned_below(sr->w, sc->pre_allocated_vus);
    sr->n_alloc = pre < sr->n_cap ? pre : sr->n_cap;
    for (uint32_t k = sr->n_alloc; k > 0; k--) {
        struct vu *vu = &sr->vus[k - 1];
        vu->state = VU_IDLE;
        vu->next_idle = sr->idle;
        sr->idle = vu;
    }
    return 0;
}

/* Open model: iterations are short, so the peak of the second says more. */
static uint32_t open_vus_now(struct scen_rt *sr)
{
    uint32_t peak = sr->running_peak;
    sr->running_peak = sr->running;
    return peak;
}

static uint32_t open_vus_max(const struct scen_rt *sr)
{
    return sr->n_alloc;
}

static const struct executor_ops ex_constant_vus = {
    .tick = closed_tick,
    .iteration_done = closed_iteration_done,
    .may_iterate = any_may_iterate,
    .spent = closed_spent,
    .vus_now = closed_vus_now,
    .vus_max = closed_vus_max,
};

static const struct executor_ops ex_per_vu_iterations = {
    .tick = closed_tick,
    .iteration_done = closed_iteration_done,
    .may_iterate = per_vu_may_iterate,
    .spent = per_vu_spent,
    .vus_now = closed_vus_now,
    .vus_max = closed_vus_max,
};

static const struct executor_ops ex_shared_iterations = {
    .init = shared_init,
    .tick = closed_tick,
    .iteration_done = closed_iteration_done,
    .may_iterate = any_may_iterate,
    .spent = shared_spent,
    .vus_now = closed_vus_now,
    .vus_max = closed_vus_max,
};

static const struct executor_ops ex_ramping_vus = {
    .tick = ramping_tick,
    .iteration_done = closed_iteration_done,
    .may_iterate = any_may_iterate,
    .spent = closed_spent,
    .vus_now = closed_vus_now,
    .vus_max = closed_vus_max,
};

static const struct executor_ops ex_arrival_rate = {
    .init = open_init,
    .tick = open_tick,
    .catch_up = scen_open_dispatch,
    .iteration_done = open_iteration_done,
    .may_iterate = any_may_iterate,
    .spent = open_spent,
    .vus_now = open_vus_now,
    .vus_max = open_vus_max,
};

const struct executor_ops *executor_for(enum executor_kind kind)
{
    switch (kind) {
    case EXEC_CONSTANT_VUS:
        return &ex_constant_vus;
    case EXEC_RAMPING_VUS:
        return &ex_ramping_vus;
    case EXEC_PER_VU_ITERATIONS:
        return &ex_per_vu_iterations;
    case EXEC_SHARED_ITERATIONS:
        return &ex_shared_iterations;
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE:
        return &ex_arrival_rate;
    }
    return &ex_constant_vus;
}

/* No new iterations from now on; in-flight ones get the graceful stop. */
void scen_finish(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    if (sr->finished) {
        return;
    }
    sr->finished = true;
    loop_timer_stop(w->loop, &sr->timer);
    queue_expire(sr, loop_now_ns(w->loop));
    for (uint32_t i = 0; i < sr->n_alloc; i++) {
        struct vu *vu = &sr->vus[i];
        vu->retire = true;
        if (vu->state != VU_BUSY) {
            conn_close(vu);
        }
    }
    uint64_t grace = sr->sc->graceful_stop_ns;
    if (w->seen_stop == STOP_GRACEFUL && w->eng->plan->grace_ns < grace) {
        grace = w->eng->plan->grace_ns;
    }
    loop_timer_start(w->loop, &sr->stop_timer, loop_now_ns(w->loop) + grace);
    scen_maybe_done(sr);
}

/* Ends every iteration still running: their requests count as interrupted (vu.c). */
void scen_hard_stop(struct scen_rt *sr)
{
    for (uint32_t i = 0; i < sr->n_alloc; i++) {
        vu_interrupt(&sr->vus[i]);
    }
    sr->finished = true;
    scen_maybe_done(sr);
}

static void stop_timer_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    scen_hard_stop(t->data);
}

void scen_maybe_done(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    if (sr->done) {
        return;
    }
    if (!sr->finished) {
        /* -n / shared-iterations spent, or every VU done with its per-VU iterations. */
        if (sr->started && sr->running == 0 && sr->ex->spent(sr)) {
            scen_finish(sr); /* calls back here with finished set */
        }
        return;
    }
    if (sr->running > 0) {
        return;
    }
    sr->done = true;
    loop_timer_stop(w->loop, &sr->timer);
    loop_timer_stop(w->loop, &sr->stop_timer);
    for (size_t i = 0; i < w->n_scens; i++) {
        if (!w->scens[i].done) {
            return;
        }
    }
    /* Everything is done: the final shard is published once the loop has returned. */
    loop_stop(w->loop);
}

int scen_init(struct worker *w, struct scen_rt *sr, const struct scenario_plan *sc, int index)
{
    uint64_t T = (uint64_t)w->eng->n_workers;
    sr->w = w;
    sr->sc = sc;
    sr->ex = executor_for(sc->executor);
    sr->index = index;
    uint32_t cap_global = (uint32_t)plan_vus_peak(sc);
    sr->n_cap = owned_below(w, cap_global);
    /*
     * Workers that take part: those that own at least one VU.  Work that is split (the
     * -n budget, the open model's arrivals) is split among them only, so a scenario with
     * fewer VUs than threads still does all of it.
     */
    uint64_t Ts = cap_global < T ? (cap_global ? cap_global : 1) : T;
    sr->stride = (uint32_t)Ts;
    sr->vus = calloc(sr->n_cap ? sr->n_cap : 1, sizeof *sr->vus);
    sr->steps = calloc(sc->n_steps ? sc->n_steps : 1, sizeof *sr->steps);
    if (sr->vus == NULL || sr->steps == NULL) {
        return -ENOMEM;
    }
    for (uint32_t k = 0; k < sr->n_cap; k++) {
        vu_init(sr, &sr->vus[k], k);
    }
    if (sr->ex->init != NULL) {
        int rc = sr->ex->init(sr);
        if (rc < 0) {
            return rc;
        }
    }
    int rc = reqm_scen_init(w, sr);
    if (rc < 0) {
        return rc;
    }
    sr->timer.cb = scen_timer_cb;
    sr->timer.data = sr;
    sr->stop_timer.cb = stop_timer_cb;
    sr->stop_timer.data = sr;
    return 0;
}
