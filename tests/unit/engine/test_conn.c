/*
 * The connection state machine (engine/conn.c) over a socketpair with a clock the test
 * sets: a response in pieces counts once and its timings are the clock's; a reused
 * connection the server closed cleanly before answering is re-sent once on a new one;
 * bytes nobody asked for are a protocol error, not a request; a reset fails the request.
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

Test(conn, a_reused_connection_closed_before_the_answer_is_resent_once)
{
    struct harness h;
    h_init(&h, 2, 0);
    h_run(&h);
    char buf[512];
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST));
    h_send(0, OK, strlen(OK));
    h_run(&h); /* first answer; the second iteration's request goes out on the same fd */
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 1);
    cr_assert_eq(h_recv(0, buf, sizeof buf), strlen(H_REQUEST), "second request reused");
    /* The server closes the idle connection as the request arrives: a clean FIN. */
    shutdown(h_peer[0], SHUT_RDWR);
    h_run(&h);
    cr_assert_eq(h_connects, 2, "a new connection for the re-sent request (%d)", h_connects);
    cr_assert_eq(h_recv(1, buf, sizeof buf), strlen(H_REQUEST), "re-sent on the new one");
    h_send(1, OK, strlen(OK));
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "counted once each");
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 0, "no error for the re-sent request");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 2);
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
