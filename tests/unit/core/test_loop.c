/*
 * The event loop: timers fire in deadline order whatever the order they were started
 * in, stopping and restarting works from inside callbacks, and fd readiness reaches the
 * registered callback.
 */
#include <criterion/criterion.h>
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
