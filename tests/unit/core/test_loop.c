/*
 * The event loop: timers fire in deadline order whatever the order they were started
 * in, ties in start order, stopping and restarting works from inside callbacks, fd
 * readiness reaches the registered callback, an io removed during dispatch gets no more
 * events of that batch, a wake from another thread ends a wait, and every iteration
 * ends even when a timer re-arms itself at the cached time; a deferred wait sleeps through
 * ready I/O until the next timer and reads it before the timer fires, only within its
 * horizon and with no io watched for writing, and a wake ends it; a wait that ends
 * LOOP_LATE_NS or more past its timer counts as a late wake, one ended early by I/O and a
 * poll that does not wait do not.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"

struct order {
    int fired[16];
    int n;
    int stop_after;
};

struct ctimer {
    struct loop_timer t;
    int id;
    struct order *o;
};

static void ctimer_cb(struct loop *loop, struct loop_timer *t)
{
    struct ctimer *c = (struct ctimer *)t;
    c->o->fired[c->o->n++] = c->id;
    if (c->o->n == c->o->stop_after) {
        loop_stop(loop);
    }
}

Test(loop, timers_fire_in_deadline_order)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct order o = {.stop_after = 8};
    struct ctimer ts[8];
    int order[8] = {5, 2, 7, 0, 3, 6, 1, 4};
    uint64_t base = loop_now_ns(loop);
    for (int i = 0; i < 8; i++) {
        ts[i].t = (struct loop_timer){.cb = ctimer_cb};
        ts[i].id = order[i];
        ts[i].o = &o;
        loop_timer_start(loop, &ts[i].t, base + (uint64_t)order[i] * 100000);
    }
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(o.n, 8);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(o.fired[i], i, "position %d fired %d", i, o.fired[i]);
    }
    loop_free(loop);
}

Test(loop, stopped_timer_does_not_fire_and_restart_moves_it)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct order o = {.stop_after = 2};
    struct ctimer a = {.t = {.cb = ctimer_cb}, .id = 1, .o = &o};
    struct ctimer b = {.t = {.cb = ctimer_cb}, .id = 2, .o = &o};
    struct ctimer c = {.t = {.cb = ctimer_cb}, .id = 3, .o = &o};
    uint64_t base = loop_now_ns(loop);
    loop_timer_start(loop, &a.t, base + 1000);
    loop_timer_start(loop, &b.t, base + 2000);
    loop_timer_start(loop, &c.t, base + 3000);
    loop_timer_stop(loop, &a.t);
    cr_assert(!loop_timer_active(&a.t));
    loop_timer_start(loop, &c.t, base + 500); /* move c ahead of b */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.fired[0], 3);
    cr_assert_eq(o.fired[1], 2);
    loop_free(loop);
}

struct pipe_io {
    struct loop_io io;
    char got;
};

static void pipe_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    struct pipe_io *p = (struct pipe_io *)io;
    cr_assert(events & LOOP_READ);
    cr_assert_eq(read(io->fd, &p->got, 1), 1);
    loop_stop(loop);
}

Test(loop, readable_fd_reaches_its_callback)
{
    struct loop *loop;
    int fds[2];
    cr_assert_eq(loop_new(&loop), 0);
    cr_assert_eq(pipe(fds), 0);
    struct pipe_io p = {.io = {.fd = fds[0], .cb = pipe_cb}};
    cr_assert_eq(loop_io_set(loop, &p.io, LOOP_READ), 0);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(p.got, 'x');
    loop_io_del(loop, &p.io);
    close(fds[0]);
    close(fds[1]);
    loop_free(loop);
}

/* --- the loop's rules: ties in start order, events after a removal, wake, progress --- */

static uint64_t fixed_clock(void *data)
{
    return *(const uint64_t *)data;
}

Test(loop, timers_due_at_the_same_instant_fire_in_start_order)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    uint64_t now = 1000000000ull;
    loop_set_clock(loop, fixed_clock, &now);
    struct order o = {.stop_after = 12};
    struct ctimer t[12];
    /* Start order 5,3,11,0,... scrambled; all due at the same instant. */
    int order_of_start[12] = {5, 3, 11, 0, 7, 1, 9, 2, 10, 4, 8, 6};
    for (int i = 0; i < 12; i++) {
        int id = order_of_start[i];
        t[id] = (struct ctimer){.t = {.cb = ctimer_cb}, .id = id, .o = &o};
        loop_timer_start(loop, &t[id].t, now + 5);
    }
    /* Moving a timer counts as starting it again: 5 goes last. */
    loop_timer_start(loop, &t[5].t, now + 5);
    now += 10;
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(o.n, 12);
    int want[12] = {3, 11, 0, 7, 1, 9, 2, 10, 4, 8, 6, 5};
    for (int i = 0; i < 12; i++) {
        cr_expect_eq(o.fired[i], want[i], "fired[%d] = %d, expected %d", i, o.fired[i], want[i]);
    }
    loop_free(loop);
}

struct pair_io {
    struct loop_io io;
    int peer;              /* the other end of the socketpair */
    struct pair_io *other; /* removed (and closed) by this one's callback */
    int calls;
    bool reuse; /* re-register the other's struct with a new readable fd */
};

static void pair_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)events;
    struct pair_io *p = (struct pair_io *)io;
    p->calls++;
    char c;
    (void)read(io->fd, &c, 1);
    if (p->other != NULL && p->other->io.registered) {
        struct pair_io *o = p->other;
        loop_io_del(loop, &o->io);
        close(o->io.fd);
        close(o->peer);
        if (p->reuse) {
            /* The same struct, a new fd that is readable at once: its events cannot be in
             * this batch, and the stale ones of the old fd must not reach it. */
            int sv[2];
            cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
            o->io.fd = sv[0];
            o->peer = sv[1];
            cr_assert_eq(write(sv[1], "y", 1), 1);
            cr_assert_eq(loop_io_set(loop, &o->io, LOOP_READ), 0);
        }
    }
}

static void removal_case(bool reuse)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct pair_io a = {0}, b = {0};
    int sa[2], sb[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
    a = (struct pair_io){
        .io = {.fd = sa[0], .cb = pair_cb}, .peer = sa[1], .other = &b, .reuse = reuse};
    b = (struct pair_io){
        .io = {.fd = sb[0], .cb = pair_cb}, .peer = sb[1], .other = &a, .reuse = reuse};
    cr_assert_eq(loop_io_set(loop, &a.io, LOOP_READ), 0);
    cr_assert_eq(loop_io_set(loop, &b.io, LOOP_READ), 0);
    /* Both readable before the poll: both are in one batch. */
    cr_assert_eq(write(sa[1], "x", 1), 1);
    cr_assert_eq(write(sb[1], "x", 1), 1);
    int n = loop_run_once(loop, 100 * NS_PER_MS);
    cr_assert_eq(n, 2, "both fds were in the batch (%d events)", n);
    cr_expect_eq(a.calls + b.calls, 1, "the removed io's pending event was dropped: a %d, b %d",
                 a.calls, b.calls);
    if (reuse) {
        /* The re-registered io gets its own (new) event in the next iteration. */
        struct pair_io *removed = a.calls == 0 ? &a : &b;
        removed->other = NULL;
        cr_assert_eq(loop_run_once(loop, 1000 * NS_PER_MS), 1);
        cr_expect_eq(removed->calls, 1, "the new fd's event arrives: %d", removed->calls);
    }
    struct pair_io *both[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        if (both[i]->io.registered) {
            loop_io_del(loop, &both[i]->io);
            close(both[i]->io.fd);
            close(both[i]->peer);
        }
    }
    loop_free(loop);
}

Test(loop, removing_an_io_during_dispatch_drops_its_pending_events)
{
    removal_case(false);
}

Test(loop, an_io_removed_and_registered_again_in_the_batch_sees_no_stale_event)
{
    removal_case(true);
}

static void *wake_thread(void *arg)
{
    struct loop *loop = arg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    loop_wake(loop);
    return NULL;
}

Test(loop, wake_from_another_thread_ends_the_wait)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    pthread_t th;
    uint64_t t0 = clock_now_ns();
    cr_assert_eq(pthread_create(&th, NULL, wake_thread, loop), 0);
    /* No timers, no fds: only the wake can end a wait of 60 s. */
    int n = loop_run_once(loop, 60 * NS_PER_S);
    uint64_t waited = clock_now_ns() - t0;
    pthread_join(th, NULL);
    cr_expect_eq(n, 1, "one event (the wake-up): %d", n);
    cr_expect_lt(waited, 30 * NS_PER_S, "the wait ended on the wake: %llu ns",
                 (unsigned long long)waited);
    loop_free(loop);
}

struct spinner {
    struct loop_timer t;
    int fired;
    int hooks;
};

static void spin_cb(struct loop *loop, struct loop_timer *t)
{
    struct spinner *s = (struct spinner *)t;
    s->fired++;
    /* Re-armed at the cached time, as a VU whose connect fails at once does. */
    loop_timer_start(loop, t, loop_now_ns(loop));
}

static void spin_hook(struct loop *loop, void *data)
{
    struct spinner *s = data;
    if (++s->hooks == 5) {
        loop_stop(loop);
    }
}

Test(loop, a_timer_rearmed_at_now_from_its_callback_cannot_starve_the_iteration)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    uint64_t now = 5000;
    loop_set_clock(loop, fixed_clock, &now); /* time stands still: the worst case */
    struct spinner s = {.t = {.cb = spin_cb}};
    s.t.data = &s;
    loop_set_before_poll(loop, spin_hook, &s);
    loop_timer_start(loop, &s.t, now);
    cr_assert_eq(loop_run(loop), 0);
    cr_expect_eq(s.hooks, 5, "the before-poll hook ran every iteration: %d", s.hooks);
    cr_expect_eq(s.fired, 5, "the timer fired once per iteration: %d", s.fired);
    loop_free(loop);
}

static void stop_hook(struct loop *loop, void *data)
{
    (void)data;
    loop_stop(loop);
}

Test(loop, a_stop_from_the_before_poll_hook_returns_without_waiting)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct spinner s = {.t = {.cb = spin_cb}};
    /* The only timer is an hour away: a wait would block the test for an hour. */
    loop_timer_start(loop, &s.t, loop_now_ns(loop) + 3600 * NS_PER_S);
    loop_set_before_poll(loop, stop_hook, NULL);
    uint64_t t0 = clock_now_ns();
    cr_assert_eq(loop_run(loop), 0);
    uint64_t took = clock_now_ns() - t0;
    cr_expect_lt(took, 10 * NS_PER_S, "returned after %llu ns", (unsigned long long)took);
    cr_expect_eq(s.fired, 0);
    loop_free(loop);
}

/* --- loop_defer_io: one wake-up for the timer, the I/O ready by then read with it --- */

struct deferred {
    struct loop_io io;
    struct loop_timer t;
    uint64_t horizon_ns;
    uint64_t read_at, fired_at; /* the loop's time in each callback */
    int order;                  /* 1: the io's callback came before the timer's */
};

static void defer_hook(struct loop *loop, void *data)
{
    struct deferred *d = data;
    loop_defer_io(loop, d->horizon_ns);
}

static void defer_read_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    struct deferred *d = io->data;
    char c;
    cr_assert(events & LOOP_READ);
    cr_assert_eq(read(io->fd, &c, 1), 1);
    d->read_at = loop_now_ns(loop);
    if (d->fired_at == 0) {
        d->order = 1;
    }
}

static void defer_timer_cb(struct loop *loop, struct loop_timer *t)
{
    struct deferred *d = t->data;
    d->fired_at = loop_now_ns(loop);
    loop_stop(loop);
}

static void writable_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    (void)io;
    cr_assert(events & LOOP_WRITE);
}

/* A pipe made readable before the wait, a timer 30 ms away, the hook asks to defer with
 * the given horizon; `writer` also watches the pipe's write end for LOOP_WRITE. */
static struct deferred run_deferred(uint64_t horizon_ns, bool writer, uint64_t *waits)
{
    struct loop *loop;
    int fds[2];
    cr_assert_eq(loop_new(&loop), 0);
    cr_assert_eq(pipe(fds), 0);
    struct deferred d = {.horizon_ns = horizon_ns};
    d.io = (struct loop_io){.fd = fds[0], .cb = defer_read_cb, .data = &d};
    cr_assert_eq(loop_io_set(loop, &d.io, LOOP_READ), 0);
    struct loop_io w = {.fd = fds[1], .cb = writable_cb}; /* a connect in progress */
    if (writer) {
        cr_assert_eq(loop_io_set(loop, &w, 0), 0); /* registered, then a writer */
        cr_assert_eq(loop_io_set(loop, &w, LOOP_WRITE), 0);
        cr_assert_eq(loop_io_set(loop, &w, 0), 0); /* ... and not a writer again */
        cr_assert_eq(loop_io_set(loop, &w, LOOP_WRITE), 0);
    }
    d.t = (struct loop_timer){.cb = defer_timer_cb, .data = &d};
    uint64_t start = loop_now_ns(loop);
    loop_timer_start(loop, &d.t, start + 30 * NS_PER_MS);
    loop_set_before_poll(loop, defer_hook, &d);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    /* One iteration: the wait, then the events; the timer fires in the next. */
    int n = loop_run_once(loop, 60 * NS_PER_S);
    cr_assert_geq(n, 1, "the pipe's event was dispatched in the first iteration: %d", n);
    if (d.fired_at == 0) {
        cr_assert_geq(loop_run_once(loop, 60 * NS_PER_S), 0);
    }
    *waits = loop_deferred_waits(loop);
    d.read_at -= start;
    d.fired_at -= start;
    if (writer) {
        loop_io_del(loop, &w);
    }
    loop_io_del(loop, &d.io);
    close(fds[0]);
    close(fds[1]);
    loop_free(loop);
    return d;
}

Test(loop, a_deferred_wait_reads_ready_io_at_the_timer_and_before_it)
{
    uint64_t waits = 0;
    struct deferred d = run_deferred(50 * NS_PER_MS, false, &waits);
    cr_expect_eq(waits, 1, "one deferred wait: %llu", (unsigned long long)waits);
    cr_expect_geq(d.read_at, 30 * NS_PER_MS, "the ready pipe was read at the timer, not at %llu ns",
                  (unsigned long long)d.read_at);
    cr_expect_eq(d.order, 1, "the I/O ready by the timer is dispatched before the timer fires");
    cr_expect_geq(d.fired_at, 30 * NS_PER_MS);
}

Test(loop, no_deferred_wait_past_the_horizon_or_while_an_io_writes)
{
    uint64_t waits = 0;
    struct deferred d = run_deferred(10 * NS_PER_MS, false, &waits); /* timer past it */
    cr_expect_eq(waits, 0, "the next timer is beyond the horizon: an ordinary wait");
    cr_expect_lt(d.read_at, 30 * NS_PER_MS, "read as it became ready: %llu ns",
                 (unsigned long long)d.read_at);
    d = run_deferred(50 * NS_PER_MS, true, &waits);
    cr_expect_eq(waits, 0, "an io watched for writing (a connect) keeps waits prompt");
    cr_expect_lt(d.read_at, 30 * NS_PER_MS, "read as it became ready: %llu ns",
                 (unsigned long long)d.read_at);
}

static void *wake_later(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    loop_wake(arg);
    return NULL;
}

static void defer_far_hook(struct loop *loop, void *data)
{
    (void)data;
    loop_defer_io(loop, 3600 * NS_PER_S);
}

Test(loop, a_wake_from_another_thread_ends_a_deferred_wait)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct spinner s = {.t = {.cb = spin_cb}};
    loop_timer_start(loop, &s.t, loop_now_ns(loop) + 60 * NS_PER_S);
    loop_set_before_poll(loop, defer_far_hook, NULL);
    pthread_t th;
    uint64_t t0 = clock_now_ns();
    cr_assert_eq(pthread_create(&th, NULL, wake_later, loop), 0);
    int n = loop_run_once(loop, 120 * NS_PER_S);
    uint64_t waited = clock_now_ns() - t0;
    pthread_join(th, NULL);
    cr_expect_eq(loop_deferred_waits(loop), 1);
    cr_expect_eq(n, 1, "the wake-up's event, polled after the deferred wait: %d", n);
    cr_expect_lt(waited, 30 * NS_PER_S, "the wake ended the deferred wait: %llu ns",
                 (unsigned long long)waited);
    loop_timer_stop(loop, &s.t);
    loop_free(loop);
}

/* --- punctuality: waits for a timer, and those that ended late ------------------------ */

/* The loop's clock: T until 25 ms of real time have passed since `armed`, then T + after:
 * a wait of 50 ms for a timer at T + 50 ms wakes (by the real clock) at about 50 ms, and
 * the loop's clock then says how far past the timer that was. */
struct paused_clock {
    uint64_t t, after, armed;
};

static uint64_t paused_clock(void *data)
{
    struct paused_clock *p = data;
    return clock_now_ns() - p->armed >= 25 * NS_PER_MS ? p->t + p->after : p->t;
}

static void stop_cb(struct loop *loop, struct loop_timer *t)
{
    (void)t;
    loop_stop(loop);
}

/* One iteration that sleeps for a timer at T + 50 ms and wakes, by its clock, at
 * T + after_ns; *late is loop_wake_late_ns after it. */
static struct loop_wakes wake_at(uint64_t after_ns, uint32_t *late)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct paused_clock p = {.t = 1000 * NS_PER_S, .after = after_ns, .armed = clock_now_ns()};
    loop_set_clock(loop, paused_clock, &p);
    loop_update_now(loop);
    struct loop_timer t = {.cb = stop_cb};
    loop_timer_start(loop, &t, p.t + 50 * NS_PER_MS);
    cr_assert_geq(loop_run_once(loop, 60 * NS_PER_S), 0);
    *late = loop_wake_late_ns(loop);
    struct loop_wakes w;
    loop_wakes_take(loop, &w);
    struct loop_wakes again;
    loop_wakes_take(loop, &again);
    cr_expect_eq(again.timed + again.late + again.late_sum_ns + again.late_max_ns, 0,
                 "loop_wakes_take starts the counts anew");
    loop_free(loop);
    return w;
}

Test(loop, a_wait_that_ends_well_past_its_timer_counts_as_a_late_wake)
{
    uint32_t late;
    struct loop_wakes w = wake_at(53 * NS_PER_MS, &late); /* woke 3 ms past the timer */
    cr_expect_eq(late, 3 * NS_PER_MS, "loop_wake_late_ns: %u", late);
    cr_expect_eq(w.timed, 1);
    cr_expect_eq(w.late, 1);
    cr_expect_eq(w.late_max_ns, 3 * NS_PER_MS, "late by %llu ns",
                 (unsigned long long)w.late_max_ns);
    cr_expect_eq(w.late_sum_ns, 3 * NS_PER_MS);
    w = wake_at(50 * NS_PER_MS + LOOP_LATE_NS - 1, &late); /* just under the bar */
    cr_expect_eq(late, LOOP_LATE_NS - 1, "loop_wake_late_ns counts however little: %u", late);
    cr_expect_eq(w.timed, 1);
    cr_expect_eq(w.late, 0, "late by less than LOOP_LATE_NS is punctual");
    cr_expect_eq(w.late_max_ns, 0);
}

struct hook_clock {
    uint64_t now, step;
};

static void late_hook(struct loop *loop, void *data)
{
    (void)loop;
    struct hook_clock *h = data;
    h->now += h->step; /* brunt's own work before the wait: the timer falls due in it */
}

Test(loop, a_timer_that_falls_due_before_the_wait_is_not_a_late_wake)
{
    struct loop *loop;
    cr_assert_eq(loop_new(&loop), 0);
    struct hook_clock h = {.now = 1000 * NS_PER_S, .step = 3 * NS_PER_MS};
    loop_set_clock(loop, fixed_clock, &h.now);
    loop_update_now(loop);
    struct loop_timer t = {.cb = stop_cb};
    loop_timer_start(loop, &t, h.now + NS_PER_MS);
    loop_set_before_poll(loop, late_hook, &h);
    cr_assert_geq(loop_run_once(loop, 60 * NS_PER_S), 0);
    struct loop_wakes w;
    loop_wakes_take(loop, &w);
    cr_expect_eq(w.timed, 0, "no wait slept for the timer: %llu", (unsigned long long)w.timed);
    cr_expect_eq(w.late, 0, "the loop's own lateness is not the platform's");
    cr_expect_eq(loop_wake_late_ns(loop), 0);
    loop_free(loop);
}

Test(loop, a_wait_ended_early_by_io_or_a_poll_without_waiting_is_not_late)
{
    struct loop *loop;
    int fds[2];
    cr_assert_eq(loop_new(&loop), 0);
    cr_assert_eq(pipe(fds), 0);
    uint64_t now = 1000 * NS_PER_S;
    loop_set_clock(loop, fixed_clock, &now);
    loop_update_now(loop);
    struct pipe_io p = {.io = {.fd = fds[0], .cb = pipe_cb}};
    cr_assert_eq(loop_io_set(loop, &p.io, LOOP_READ), 0);
    struct loop_timer t = {.cb = stop_cb}; /* within the wait's bound: it sleeps for it */
    loop_timer_start(loop, &t, now + 30 * NS_PER_S);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    cr_assert_eq(loop_run_once(loop, 60 * NS_PER_S), 1); /* woken by the pipe */
    cr_assert_eq(loop_run_once(loop, 0), 0);             /* a poll that does not wait */
    struct loop_wakes w;
    loop_wakes_take(loop, &w);
    cr_expect_eq(w.timed, 1, "the wait for the timer counts, the poll does not: %llu",
                 (unsigned long long)w.timed);
    cr_expect_eq(w.late, 0);
    cr_expect_eq(loop_wake_late_ns(loop), 0, "woken by I/O: nothing late");
    loop_io_del(loop, &p.io);
    close(fds[0]);
    close(fds[1]);
    loop_free(loop);
}
