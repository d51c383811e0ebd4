/*
 * HTTP/2 on a VU's connection (engine/conn_h2.c) over a socketpair, with a real nghttp2
 * server session on the test's end and the test's clock: two streams in one batch, one
 * answered and one reset, are one 200 and one h2_rst_stream error timed by the clock; a
 * GOAWAY that leaves a stream unprocessed sends that stream again on a new connection,
 * counted once, with no error; one readable event takes all the socket holds, though
 * each read comes short.
 */
#include <nghttp2/nghttp2.h>

#include "harness.h"

/* The test's server: one nghttp2 server session on connection `peer`. */
struct srv {
    nghttp2_session *s;
    int peer;
    int32_t ids[16]; /* streams whose request has ended, in order */
    int n;
};

static int srv_on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *data)
{
    (void)s;
    struct srv *v = data;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && v->n < 16) {
        v->ids[v->n++] = frame->hd.stream_id;
    }
    return 0;
}

static void srv_init(struct srv *v, int peer)
{
    nghttp2_session_callbacks *cbs;
    cr_assert_eq(nghttp2_session_callbacks_new(&cbs), 0);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, srv_on_frame_recv);
    memset(v, 0, sizeof *v);
    v->peer = peer;
    cr_assert_eq(nghttp2_session_server_new(&v->s, cbs, v), 0);
    nghttp2_session_callbacks_del(cbs);
    cr_assert_eq(nghttp2_submit_settings(v->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

/* Feeds what the client sent to the server session. */
static void srv_in(struct srv *v)
{
    char buf[65536];
    size_t n = h_recv(v->peer, buf, sizeof buf);
    cr_assert_eq(nghttp2_session_mem_recv(v->s, (const uint8_t *)buf, n), (ssize_t)n);
}

/* Sends what the server session has queued. */
static void srv_out(struct srv *v)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(v->s, &p)) > 0) {
        h_send(v->peer, (const char *)p, (size_t)n);
    }
    cr_assert_geq(n, 0);
}

static ssize_t hello(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                     nghttp2_data_source *src, void *data)
{
    (void)s;
    (void)id;
    (void)src;
    (void)data;
    cr_assert_geq(len, 5);
    memcpy(buf, "hello", 5);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 5;
}

static void srv_answer(struct srv *v, int32_t id)
{
    nghttp2_nv nv[] = {{(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE}};
    nghttp2_data_provider prd = {.read_callback = hello};
    cr_assert_eq(nghttp2_submit_response(v->s, id, nv, 1, &prd), 0);
}

Test(conn_h2, two_streams_one_answered_one_reset_are_a_200_and_an_h2_rst_stream)
{
    struct harness h;
    h_h2_streams = 2;
    h_init(&h, 1, 0);
    h_h2_streams = 0;
    h_run(&h); /* connected: preface, SETTINGS and both requests written */
    struct srv v;
    srv_init(&v, 0);
    srv_in(&v);
    cr_assert_eq(v.n, 2, "requests the server saw in one batch: %d", v.n);
    h.now += 7 * NS_PER_MS; /* the server takes 7 ms */
    srv_answer(&v, v.ids[0]);
    cr_assert_eq(
        nghttp2_submit_rst_stream(v.s, NGHTTP2_FLAG_NONE, v.ids[1], NGHTTP2_INTERNAL_ERROR), 0);
    srv_out(&v);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 1, "one 200");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "two requests in all");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=h2_rst_stream"), 1, "one reset stream");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1, "the iteration ended");
    cr_expect_eq(h_connects, 1, "one connection");
    uint64_t d = h_max_ns(&h, M_HTTP_REQ_DURATION);
    cr_expect(d >= 6993 * NS_PER_US && d <= 7007 * NS_PER_US, "duration %llu ns",
              (unsigned long long)d);
    nghttp2_session_del(v.s);
    h_destroy(&h);
}

/*
 * Two streams; the server answers the first with a graceful GOAWAY that leaves the
 * second unprocessed, and with `close` also ends the connection before the client reads
 * (as nginx after keepalive_requests: GOAWAY, the last answer and the end in one read).
 * The refused stream is sent again on a new connection, each request counted once.
 */
static void goaway_refuses_the_second_stream(bool close)
{
    struct harness h;
    h_h2_streams = 2;
    h_init(&h, 1, 0);
    h_h2_streams = 0;
    h_run(&h);
    struct srv v;
    srv_init(&v, 0);
    srv_in(&v);
    cr_assert_eq(v.n, 2);
    cr_assert_eq(nghttp2_submit_goaway(v.s, NGHTTP2_FLAG_NONE, v.ids[0], NGHTTP2_NO_ERROR, NULL, 0),
                 0);
    srv_answer(&v, v.ids[0]);
    srv_out(&v);
    if (close) {
        cr_assert_eq(shutdown(h_peer[0], SHUT_WR), 0);
    }
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_HTTP_REQS, ""), 1, "the processed stream counted");
    cr_assert_eq(h_sum(&h, M_ERRORS, ""), 0, "no error for the refused stream");
    cr_assert_eq(h_connects, 2, "a new connection for the refused stream (%d)", h_connects);
    struct srv v2;
    srv_init(&v2, 1);
    srv_in(&v2);
    cr_assert_eq(v2.n, 1, "the refused stream, sent again: %d requests", v2.n);
    srv_answer(&v2, v2.ids[0]);
    srv_out(&v2);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 2, "each request counted once");
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 0, "no error for the refused stream");
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    nghttp2_session_del(v.s);
    nghttp2_session_del(v2.s);
    h_destroy(&h);
}

Test(conn_h2, a_stream_left_unprocessed_by_goaway_is_sent_again_on_a_new_connection)
{
    goaway_refuses_the_second_stream(false);
}

Test(conn_h2, one_readable_event_reads_until_the_socket_is_empty)
{
    struct harness h;
    h_h2_streams = 2;
    h_init(&h, 1, 0);
    h_h2_streams = 0;
    h_run(&h);
    struct srv v;
    srv_init(&v, 0);
    srv_in(&v);
    cr_assert_eq(v.n, 2);
    srv_answer(&v, v.ids[0]);
    srv_answer(&v, v.ids[1]);
    srv_out(&v);
    /* Reads of 16 bytes: each comes short of the read buffer while more is there, as
     * when the server's next answers arrive during a read.  A short read must not end the
     * event: both answers are taken in one loop turn (their refills would share a write). */
    h_read_max = 16;
    cr_assert_geq(loop_run_once(h.w->loop, 0), 0);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 2, "answers taken in one turn: %.0f",
                 h_sum(&h, M_HTTP_REQS, "status=200"));
    nghttp2_session_del(v.s);
    h_destroy(&h);
}

Test(conn_h2, a_goaway_and_the_close_read_in_one_event_still_send_the_refused_stream_again)
{
    goaway_refuses_the_second_stream(true);
}
