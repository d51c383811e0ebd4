/*
 * The VU state machine (engine/vu.c) with a clock the test sets: a request without an
 * answer times out at the plan's timeout and not before (a later request on the same
 * VU a full timeout after its own send: the lazy timer); a sleep step holds the
 * iteration for exactly its length; a VU runs its per-VU iterations and then stops; the
 * hard stop counts the request in flight as interrupted, never drops it; a failed TLS
 * handshake backs off like a refused connect.
 * And the open model (engine/executor.c): the arrival window wakes for the schedule at
 * most once per SCHEDULE_WINDOW_NS and starts every arrival due by then, none before its
 * time and none later than the window; each request's send lag is its delay from its
 * intended start, and latency still counts from the intended start (coordinated
 * omission stays corrected).
 */
#include "harness.h"

#define OK "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

Test(vu, a_request_without_an_answer_times_out_at_the_timeout)
{
    struct harness h;
    h_init(&h, 1, 0);
    h_run(&h);
    h.now += NS_PER_S - 1; /* a nanosecond before the 1 s timeout */
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 0, "still waiting");
    h.now += 1;
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=timeout"), 1, "timed out");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_FAILED, ""), 1, "failed");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1, "the iteration ended");
    cr_expect_eq(h.vu->state, VU_OFF, "the VU is done");
    h_destroy(&h);
}

/* The VU's timer is lazy (vu.c): still armed for the first request's deadline when the
 * second is sent, it fires early there and re-arms, so the second request times out at
 * its own deadline, a full timeout after it was sent, not at the first one's. */
Test(vu, a_later_request_times_out_a_full_timeout_after_its_own_send)
{
    struct harness h;
    h_init(&h, 2, 0);
    char buf[512];
    h_run(&h);
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "the first request");
    h.now += 400 * NS_PER_MS;
    h_send(0, OK, strlen(OK));
    h_run(&h); /* answered at 400 ms: the second request leaves now */
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 1);
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "the second request");
    h.now += 600 * NS_PER_MS; /* 1 s: the first request's deadline */
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=timeout"), 0, "not at the first one's deadline");
    h.now += 400 * NS_PER_MS - 1; /* a nanosecond before the second one's */
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=timeout"), 0, "still waiting");
    h.now += 1;
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=timeout"), 1, "timed out at 1.4 s");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "both requests counted");
    h_destroy(&h);
}

Test(vu, a_sleep_step_holds_the_iteration_for_its_length)
{
    struct harness h;
    h_init(&h, 1, 250 * NS_PER_MS);
    h_run(&h);
    h_send(0, OK, strlen(OK));
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 1);
    h.now += 249 * NS_PER_MS;
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 0, "still sleeping at 249 ms");
    cr_expect_eq(h.vu->state, VU_BUSY);
    h.now += NS_PER_MS;
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1, "done at 250 ms");
    uint64_t d = h_max_ns(&h, M_ITERATION_DURATION);
    cr_expect(d >= 249 * NS_PER_MS && d <= 251 * NS_PER_MS, "iteration took %llu ns",
              (unsigned long long)d);
    h_destroy(&h);
}

Test(vu, per_vu_iterations_run_on_one_connection_then_the_vu_stops)
{
    struct harness h;
    h_init(&h, 3, 0);
    char buf[512];
    for (int i = 0; i < 3; i++) {
        h_run(&h);
        cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "request %d", i + 1);
        h_send(0, OK, strlen(OK));
        h_run(&h);
    }
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 3);
    cr_expect_eq(h_connects, 1, "one keep-alive connection");
    cr_expect_eq(h.vu->state, VU_OFF, "stopped after its iterations");
    cr_expect_eq(h.vu->cstate, CONN_CLOSED, "and closed its connection");
    h_destroy(&h);
}

Test(vu, a_request_in_flight_at_the_hard_stop_counts_as_interrupted)
{
    struct harness h;
    h_init(&h, 1, 0);
    h_run(&h);
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "the request was sent");
    scen_hard_stop(h.sr); /* the graceful stop ran out with no answer */
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "the request is in http_reqs");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_FAILED, ""), 1, "as failed");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=interrupted"), 1, "with kind interrupted");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 0, "no iteration completed");
    cr_expect_eq(h_sum(&h, M_ITERATIONS_INTERRUPTED, ""), 1, "one interrupted");
    cr_expect_eq(h.sr->running, 0, "nothing runs");
    cr_expect_eq(h.vu->cstate, CONN_CLOSED, "the connection is closed");
    h_destroy(&h);
}

Test(vu, a_sleeping_iteration_at_the_hard_stop_is_interrupted_without_a_request)
{
    struct harness h;
    h_init(&h, 1, 10 * NS_PER_S);
    h_run(&h);
    h_send(0, OK, strlen(OK));
    h_run(&h); /* answered; now in the sleep step */
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 1);
    scen_hard_stop(h.sr);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "no request was in flight");
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 0, "no error");
    cr_expect_eq(h_sum(&h, M_ITERATIONS_INTERRUPTED, ""), 1, "the iteration was cut off");
    h_destroy(&h);
}

Test(vu, a_failed_tls_handshake_backs_off_before_the_next_connect)
{
    struct harness h;
    h_handshake_err = BRUNT_ETLS_SELF_SIGNED;
    h_init(&h, 100, 0);
    h_run(&h);
    h_run(&h); /* the clock stands still: a VU without backoff reconnects at once */
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=tls_self_signed"), 1, "one handshake failure (%.0f)",
                 h_sum(&h, M_ERRORS, "kind=tls_self_signed"));
    cr_expect_eq(h_connects, 1, "no second connect before the backoff (%d)", h_connects);
    h.now += CONNECT_BACKOFF_MIN_NS;
    h_run(&h);
    cr_expect_eq(h_connects, 2, "the next connect after the first backoff");
    cr_expect_eq(h.vu->backoff_ns, 4 * CONNECT_BACKOFF_MIN_NS, "doubling after each failure");
    h_handshake_err = 0;
    h_destroy(&h);
}

/* Five arrivals per window (one every GAP_NS), 8 VUs, the schedule starting now. */
#define GAP_NS (SCHEDULE_WINDOW_NS / 5)
static void open_init(struct harness *h)
{
    h_plan(h, 0, 0);
    h->sc.executor = EXEC_CONSTANT_ARRIVAL_RATE;
    h->sc.rate = (double)NS_PER_S / (double)GAP_NS;
    h->sc.time_unit_ns = NS_PER_S;
    h->sc.duration_ns = NS_PER_S;
    h->sc.pre_allocated_vus = 8;
    h->sc.max_vus = 8;
    h->sc.max_queue_ns = NS_PER_S;
    h_worker(h);
    loop_timer_start(h->w->loop, &h->sr->timer, h->now);
}

/* Largest and smallest sample of a trend over its series, in ns. */
static void trend_range(struct harness *h, int metric, uint64_t *lo, uint64_t *hi)
{
    struct registry *reg = h->w->cur->reg;
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t i = 0; i < registry_len(reg); i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric == metric && s->hist != NULL && hist_count(s->hist) > 0) {
            *lo = hist_min_ns(s->hist) < *lo ? hist_min_ns(s->hist) : *lo;
            *hi = hist_max_ns(s->hist) > *hi ? hist_max_ns(s->hist) : *hi;
        }
    }
}

Test(open, arrivals_inside_the_window_start_together_at_its_end_not_before)
{
    struct harness h;
    open_init(&h);
    uint64_t t0 = h.now;
    h_run(&h);
    cr_assert_eq(h.sr->started_iters, 1, "the first arrival starts at once: %llu",
                 (unsigned long long)h.sr->started_iters);
    cr_expect_eq(h.sr->timer.when_ns, t0 + SCHEDULE_WINDOW_NS,
                 "next wake at the window's end: +%llu ns",
                 (unsigned long long)(h.sr->timer.when_ns - t0));
    h.now = t0 + SCHEDULE_WINDOW_NS - 1;
    h_run(&h);
    cr_expect_eq(h.sr->started_iters, 1, "nothing starts before the wake");
    h.now = t0 + SCHEDULE_WINDOW_NS;
    h_run(&h);
    uint64_t due = SCHEDULE_WINDOW_NS / GAP_NS + 1; /* arrivals at 0, GAP, ..., the window */
    cr_expect_eq(h.sr->started_iters, due, "every arrival due by the wake started: %llu vs %llu",
                 (unsigned long long)h.sr->started_iters, (unsigned long long)due);
    /* Each was written now: its lag is its distance from its slot, at most the window. */
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_SEND_LAG, ""), 0, "send lag comes with the outcome");
    for (uint64_t i = 0; i < due; i++) {
        h_send((int)i, OK, strlen(OK));
    }
    h.now += 10 * NS_PER_US;
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), (double)due, "answers: %.0f",
                 h_sum(&h, M_HTTP_REQS, ""));
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_SEND_LAG, ""), (double)due, "one send lag per request");
    uint64_t lo, hi;
    trend_range(&h, M_HTTP_REQ_SEND_LAG, &lo, &hi);
    cr_expect_eq(hi, SCHEDULE_WINDOW_NS - GAP_NS, "largest send lag: arrival 1, %llu ns",
                 (unsigned long long)hi);
    cr_expect_lt(lo, 1000, "smallest send lag: arrival 0 and the last, %llu ns",
                 (unsigned long long)lo);
    /* Latency from the intended start, whenever the request left: arrival 0 (sent at once,
     * answered with the others) the window and 10 µs; arrival 1 (sent the window less a gap late) that and 10 µs
     * though its http_req_duration, from the write, is 10 µs like the later ones'. */
    uint64_t llo, lhi, dlo, dhi;
    trend_range(&h, M_HTTP_REQ_LATENCY, &llo, &lhi);
    cr_expect_eq(lhi, SCHEDULE_WINDOW_NS + 10 * NS_PER_US, "largest latency %llu ns",
                 (unsigned long long)lhi);
    cr_expect_eq(llo, 10 * NS_PER_US, "smallest latency %llu ns", (unsigned long long)llo);
    trend_range(&h, M_HTTP_REQ_DURATION, &dlo, &dhi);
    cr_expect_eq(dlo, 10 * NS_PER_US, "smallest duration %llu ns", (unsigned long long)dlo);
    uint64_t q = h_max_ns(&h, M_HTTP_REQ_QUEUED);
    cr_expect_eq(q, SCHEDULE_WINDOW_NS - GAP_NS, "arrival 1 waited the window: queued %llu ns",
                 (unsigned long long)q);
    h_destroy(&h);
}

Test(open, arrivals_an_answer_starts_after_the_window_open_a_window_of_their_own)
{
    struct harness h;
    open_init(&h);
    uint64_t t0 = h.now;
    h_run(&h); /* the timer's first wake: arrival 0, the next wake a window later */
    cr_assert_eq(h.sr->started_iters, 1);
    /* An answer read after the window's end, before the timer's callback ran (the loop
     * dispatches I/O after its wait, timers at the next turn): its iteration's end
     * dispatches the schedule. */
    h.now = t0 + SCHEDULE_WINDOW_NS + GAP_NS / 2;
    uint64_t now = loop_update_now(h.w->loop);
    scen_open_dispatch(h.sr);
    uint64_t due = (SCHEDULE_WINDOW_NS + GAP_NS / 2) / GAP_NS + 1;
    cr_expect_eq(h.sr->started_iters, due, "the arrivals due by then started: %llu vs %llu",
                 (unsigned long long)h.sr->started_iters, (unsigned long long)due);
    cr_expect_geq(h.sr->timer.when_ns, now + SCHEDULE_WINDOW_NS,
                  "the next wake is a window after this dispatch, not the next arrival's "
                  "slot: +%llu ns",
                  (unsigned long long)(h.sr->timer.when_ns - now));
    h_destroy(&h);
}

Test(open, sparse_arrivals_are_not_delayed_by_the_window)
{
    struct harness h;
    h_plan(&h, 0, 0);
    h.sc.executor = EXEC_CONSTANT_ARRIVAL_RATE;
    h.sc.rate = 100; /* one every 10 ms: far wider than the window */
    h.sc.time_unit_ns = NS_PER_S;
    h.sc.duration_ns = NS_PER_S;
    h.sc.pre_allocated_vus = 1;
    h.sc.max_vus = 1;
    h.sc.max_queue_ns = NS_PER_S;
    h_worker(&h);
    loop_timer_start(h.w->loop, &h.sr->timer, h.now);
    uint64_t t0 = h.now;
    h_run(&h);
    h_send(0, OK, strlen(OK));
    h_run(&h);
    cr_expect_eq(h.sr->timer.when_ns, t0 + 10 * NS_PER_MS, "the wake is the arrival's slot");
    h.now = t0 + 10 * NS_PER_MS;
    h_run(&h);
    h_send(0, OK, strlen(OK));
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 2);
    cr_expect_eq(h_max_ns(&h, M_HTTP_REQ_SEND_LAG), 0, "no send lag: %llu ns",
                 (unsigned long long)h_max_ns(&h, M_HTTP_REQ_SEND_LAG));
    h_destroy(&h);
}
