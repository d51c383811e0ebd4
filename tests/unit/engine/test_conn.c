/*
 * The connection state machine (engine/conn.c) over a socketpair with a clock the test
 * sets: a response in pieces counts once and its timings are the clock's; a reused
 * connection the server closed cleanly or reset before answering is re-sent once on a
 * new one (counted in http_req_retries) unless its method is not idempotent; bytes nobody
 * asked for are a protocol error, not a request (on an idle connection too); a reset of
 * a fresh connection fails the request.
 */
#include "harness.h"

#define OK "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

Test(conn, a_response_in_single_bytes_counts_once_with_the_clocks_timings)
{
    struct harness h;
    h_init(&h, 1, 0);
    h_run(&h); /* connected, request written */
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "sent: %s", buf);
    cr_assert_str_eq(buf, H_REQUEST);
    h.now += 7 * NS_PER_MS; /* the server takes 7 ms */
    for (const char *p = OK; *p; p++) {
        h_send(0, p, 1);
        h_run(&h);
        if (p[1] != '\0') {
            cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 0, "complete after %zu bytes",
                         (size_t)(p - OK + 1));
        }
    }
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 1, "one 200 counted");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_FAILED, ""), 0, "not failed");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1, "the iteration ended");
    /* Sent at T, answered at T + 7 ms by the test's clock: exactly 7 ms (within the
     * histogram's 0.1%). */
    uint64_t d = h_max_ns(&h, M_HTTP_REQ_DURATION);
    cr_expect(d >= 6993 * NS_PER_US && d <= 7007 * NS_PER_US, "duration %llu ns",
              (unsigned long long)d);
    cr_expect_eq(h_sum(&h, M_DATA_RECEIVED, ""), strlen(OK), "bytes received");
    h_destroy(&h);
}

Test(conn, bytes_after_the_response_are_a_protocol_error_not_a_request)
{
    struct harness h;
    h_init(&h, 1, 0);
    h_run(&h);
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST));
    h_send(0, OK "HTTP/1.1 200 OK\r\n", strlen(OK) + 17);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "one request, one answer counted");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=protocol"), 1, "the extra bytes are an error");
    cr_expect_eq(h.vu->cstate, CONN_CLOSED, "and the connection is closed");
    h_destroy(&h);
}

Test(conn, a_reset_before_the_answer_fails_the_request)
{
    struct harness h;
    h_init(&h, 1, 0);
    h_run(&h);
    /* Closing with the request unread makes the kernel reset the VU's end. */
    close(h_peer[0]);
    h_peer[0] = open("/dev/null", 0);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "the request is counted");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_FAILED, ""), 1, "as failed");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=reset"), 1, "with kind reset");
    cr_expect_eq(h_connects, 1, "never re-sent: the connection was fresh");
    h_destroy(&h);
}

/* Answers the first request, then lets the second go out on the same connection. */
static void reuse_once(struct harness *h)
{
    char buf[512];
    h_run(h);
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST));
    h_send(0, OK, strlen(OK));
    h_run(h); /* first answer; the second iteration's request goes out on the same fd */
    cr_assert_eq(h_sum(h, M_HTTP_REQS, ""), 1);
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "second request reused");
    cr_assert_eq(h_connects, 1, "the second request reuses the connection");
}

/* The server closes connection i with the request unread: the kernel resets it. */
static void reset_peer(int i)
{
    close(h_peer[i]);
    h_peer[i] = open("/dev/null", 0);
}

/* After the reused connection failed: the request goes again on a new one, is answered,
 * and counts once, its re-send in http_req_retries. */
static void expect_resent_once(struct harness *h)
{
    h_run(h);
    cr_assert_eq(h_connects, 2, "a new connection for the re-sent request (%d)", h_connects);
    char buf[512];
    cr_assert_eq(h_recv(1, buf, sizeof buf), strlen(H_REQUEST), "re-sent on the new one");
    h_send(1, OK, strlen(OK));
    h_run(h);
    cr_expect_eq(h_sum(h, M_HTTP_REQS, "status=200"), 2, "both answered, counted once each");
    cr_expect_eq(h_sum(h, M_ERRORS, ""), 0, "no error for the re-sent request");
    cr_expect_eq(h_sum(h, M_HTTP_REQ_RETRIES, ""), 1, "the re-send is counted");
    cr_expect_eq(h_sum(h, M_ITERATIONS, ""), 2);
}

Test(conn, a_reused_connection_closed_before_the_answer_is_resent_once)
{
    struct harness h;
    h_init(&h, 2, 0);
    reuse_once(&h);
    /* The server closes the idle connection as the request arrives: a clean FIN. */
    shutdown(h_peer[0], SHUT_RDWR);
    expect_resent_once(&h);
    h_destroy(&h);
}

Test(conn, a_reused_connection_reset_before_the_answer_is_resent_once)
{
    struct harness h;
    h_init(&h, 2, 0);
    reuse_once(&h);
    reset_peer(0); /* the server had closed it idle; the request arriving after is reset */
    expect_resent_once(&h);
    h_destroy(&h);
}

Test(conn, a_second_reset_of_a_resent_request_fails_it)
{
    struct harness h;
    h_init(&h, 2, 0);
    reuse_once(&h);
    reset_peer(0);
    h_run(&h);
    cr_assert_eq(h_connects, 2);
    reset_peer(1); /* the fresh connection is reset too */
    h_run(&h);
    cr_expect_eq(h_connects, 2, "re-sent once only");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=reset"), 1, "then a reset");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "each request counted once");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_RETRIES, ""), 1);
    h_destroy(&h);
}

Test(conn, a_non_idempotent_request_is_not_resent)
{
    struct harness h;
    h_init(&h, 2, 0);
    h.sr->steps[0].idempotent = false; /* a POST, say */
    reuse_once(&h);
    reset_peer(0);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=reset"), 1, "the reset is an error");
    cr_expect_eq(h_sum(&h, M_HTTP_REQ_RETRIES, ""), 0, "nothing re-sent");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2);
    h_destroy(&h);
}

Test(conn, bytes_on_an_idle_connection_are_a_protocol_error)
{
    struct harness h;
    h_init(&h, 2, 250 * NS_PER_MS);
    h_run(&h);
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST));
    h_send(0, OK, strlen(OK));
    h_run(&h);                 /* answered; the VU sleeps, its connection idle */
    h_send(0, OK, strlen(OK)); /* an answer nobody asked for */
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=protocol"), 1, "counted as a protocol error");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "not as an answer");
    cr_expect_eq(h.vu->cstate, CONN_CLOSED, "the connection is dropped");
    h.now += 250 * NS_PER_MS;
    h_run(&h);
    cr_expect_eq(h_connects, 2, "the next request goes on a new connection");
    h_destroy(&h);
}

Test(conn, an_extra_pipelined_response_is_a_protocol_error_not_an_answer)
{
    struct harness h;
    h_pipeline = 2;
    h_init(&h, 1, 0);
    h_run(&h);
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), 2 * strlen(H_REQUEST), "two requests in one batch");
    h_send(0, OK OK OK, 3 * strlen(OK)); /* three answers for two requests */
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 2, "two requests, two answers counted");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=protocol"), 1, "the third is a protocol error");
    cr_expect_eq(h.vu->cstate, CONN_CLOSED, "and the connection is closed");
    h_pipeline = 0;
    h_destroy(&h);
}
