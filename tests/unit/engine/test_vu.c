/*
 * The VU state machine (engine/vu.c) with a clock the test sets: a request without an
 * answer times out at the plan's timeout and not before; a sleep step holds the
 * iteration for exactly its length; a VU runs its per-VU iterations and then stops; the
 * hard stop counts the request in flight as interrupted, never drops it; a failed TLS
 * handshake backs off like a refused connect.
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
