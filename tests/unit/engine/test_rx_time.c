/*
 * Answer times from the kernel's receive timestamp (engine/worker.c, worker_rx_time): a
 * CLOCK_REALTIME stamp is mapped to the monotonic clock; one that came while the write's
 * call returned is moved to the write's end; one before the request's first byte or
 * later than the clock is rejected and the read's own time used, counted, and the worker
 * stops deferring; a read without a stamp is timed at the read and stops a deferring
 * worker, but not one still waiting for the kernel's first stamp; the first stamp starts
 * the deferring.
 */
#include <criterion/criterion.h>

#include "core/clock.h"
#include "engine/worker_internal.h"

/* The current wall-clock time minus ago_ns, as the kernel would have stamped it. */
static uint64_t wall_ago(uint64_t ago_ns)
{
    return clock_wall_ns() - ago_ns;
}

static void setup(struct worker *w, struct vu *vu, enum defer_state st, uint64_t now)
{
    *w = (struct worker){.defer = st};
    *vu = (struct vu){.w = w};
    vu->tc.rx_stamp = true;
    vu->t_send = now - 300 * NS_PER_US; /* written 300 µs ago, in 100 µs */
    vu->t_sent = now - 200 * NS_PER_US;
}

Test(rx_time, a_stamp_maps_to_the_monotonic_clock)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns();
    setup(&w, &vu, DEFER_FIRST_STAMP, now);
    vu.tc.rx_wall_ns = wall_ago(100 * NS_PER_US); /* the answer came 100 µs ago */
    uint64_t t = worker_rx_time(&w, &vu, now);
    int64_t err = (int64_t)t - (int64_t)(now - 100 * NS_PER_US);
    cr_expect(err > -50 * (int64_t)NS_PER_US && err < 50 * (int64_t)NS_PER_US,
              "100 µs before now, off by %lld ns", (long long)err);
    cr_expect_eq(w.n_stamped, 1);
    cr_expect_eq(w.defer, DEFER_ON, "the first stamp starts the deferring");
}

Test(rx_time, a_stamp_during_the_write_is_the_writes_end)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns();
    setup(&w, &vu, DEFER_ON, now);
    vu.tc.rx_wall_ns = wall_ago(250 * NS_PER_US); /* between t_send and t_sent */
    cr_expect_eq(worker_rx_time(&w, &vu, now), vu.t_sent);
    cr_expect_eq(w.n_stamped, 1);
    cr_expect_eq(w.n_rejected, 0);
    cr_expect_eq(w.defer, DEFER_ON);
}

Test(rx_time, a_stamp_before_the_request_is_rejected_never_a_near_zero_latency)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns();
    setup(&w, &vu, DEFER_ON, now);
    vu.tc.rx_wall_ns = wall_ago(5 * NS_PER_S); /* a clock stepped back by 5 s */
    cr_expect_eq(worker_rx_time(&w, &vu, now), now, "timed at the read");
    cr_expect_eq(w.n_rejected, 1);
    cr_expect_eq(w.n_stamped, 0);
    cr_expect_eq(w.defer, DEFER_STOPPED);
    cr_expect_not_null(w.defer_stopped);
}

Test(rx_time, a_stamp_later_than_the_clock_is_rejected)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns();
    setup(&w, &vu, DEFER_ON, now);
    vu.tc.rx_wall_ns = clock_wall_ns() + 5 * NS_PER_S; /* a clock stepped forward */
    uint64_t t = worker_rx_time(&w, &vu, now);
    uint64_t after = clock_now_ns();
    cr_expect(t >= now && t <= after, "the clock at the read, not the future");
    cr_expect_eq(w.n_rejected, 1);
    cr_expect_eq(w.defer, DEFER_STOPPED);
}

Test(rx_time, a_stamp_after_the_cached_time_but_before_the_clock_is_kept)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns() - 200 * NS_PER_US; /* a dispatch that took 200 µs */
    setup(&w, &vu, DEFER_ON, now);
    vu.tc.rx_wall_ns = wall_ago(50 * NS_PER_US);
    uint64_t t = worker_rx_time(&w, &vu, now);
    cr_expect_gt(t, now, "not cut back to the loop's cached time");
    cr_expect_eq(w.n_stamped, 1);
    cr_expect_eq(w.n_rejected, 0);
}

Test(rx_time, a_read_without_a_stamp_stops_a_deferring_worker_only)
{
    struct worker w;
    struct vu vu;
    uint64_t now = clock_now_ns();
    setup(&w, &vu, DEFER_FIRST_STAMP, now);
    vu.tc.rx_wall_ns = 0;
    cr_expect_eq(worker_rx_time(&w, &vu, now), now);
    cr_expect_eq(w.n_read_time, 1);
    cr_expect_eq(w.defer, DEFER_FIRST_STAMP, "the kernel may not stamp its first reads yet");
    w.defer = DEFER_ON;
    cr_expect_eq(worker_rx_time(&w, &vu, now), now);
    cr_expect_eq(w.n_read_time, 2);
    cr_expect_eq(w.defer, DEFER_STOPPED,
                 "deferring, a read timed late would be up to a window late");
}

Test(rx_time, a_stopped_or_never_deferring_worker_stays_so)
{
    struct worker w = {.defer = DEFER_NO};
    worker_defer_stop(&w, "x");
    cr_expect_eq(w.defer, DEFER_NO);
    cr_expect_null(w.defer_stopped);
    w.defer = DEFER_ON;
    worker_defer_stop(&w, "first");
    worker_defer_stop(&w, "second");
    cr_expect_eq(w.defer, DEFER_STOPPED);
    cr_expect_str_eq(w.defer_stopped, "first", "the first reason is kept");
}
