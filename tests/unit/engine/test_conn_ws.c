/*
 * WebSocket sessions (engine/conn_ws.c) over the socketpair harness, the test playing
 * the server: the upgrade carries a key whose accept the 101 must echo; a masked text
 * message leaves whole; a reply that arrives fragmented and byte by byte, behind a
 * ping, is matched once (the ping answered with a pong of the same payload) and timed
 * from the send; the close handshake ends the session and the iteration; a wrong
 * accept is ws_handshake, nothing sent after it.  Over a transport that blocks as TLS
 * does (a write that met a full socket is retried with the same bytes): a tried pong
 * goes first and unchanged, and a server's close while ours waits gets one close.  A
 * step cut off by the run's end is an interrupted error and the whole messages kept for
 * a later step count as received; a reply kept through a sleep is timed at its own read.
 */
#include <stdio.h>

#include "harness.h"
#include "http/ws.h"

/* The harness's helpers this file does not need. */
static void w_unused(void) __attribute__((unused));
static void w_unused(void)
{
    (void)h_init;
}

enum { W_CONNECT, W_SEND, W_WAIT, W_CLOSE };
static const int W_KIND[] = {W_CONNECT, W_SEND, W_WAIT, W_CLOSE};

static size_t w_check_count(const void *step)
{
    (void)step;
    return 0;
}
static const char *w_check_name(const void *step, size_t i)
{
    (void)step;
    (void)i;
    return "";
}
static bool w_expected(const void *step, int status)
{
    (void)step;
    return status == 101;
}
static size_t w_body_cap(const void *step)
{
    (void)step;
    return 0;
}
static uint64_t w_timeout(const void *step)
{
    (void)step;
    return 0;
}
static int w_render(const void *step, void *vu, struct dynbuf *out)
{
    (void)vu;
    int k = *(const int *)step;
    return dynbuf_adds(out, k == W_CONNECT ? "GET /ws HTTP/1.1\r\nHost: t\r\n\r\n" : "hello");
}
static bool w_match(const void *step, void *vu, const char *msg, size_t len, bool binary)
{
    (void)step;
    (void)vu;
    return !binary && len == 10 && memcmp(msg, "hello back", 10) == 0;
}
static const struct step_ops w_ops = {
    .check_count = w_check_count,
    .check_name = w_check_name,
    .status_expected = w_expected,
    .body_cap = w_body_cap,
    .timeout_ns = w_timeout,
    .render = w_render,
    .ws_match = w_match,
};

static struct step w_steps[8];

/* A sleep in a plan of w_init_steps (its length in the step's close code: ms). */
#define W_SLEEP (-1)

/* A plan of the steps ops (WS_STEP_*, or W_SLEEP) over transport t; the first iteration
 * started. */
static void w_init_steps(struct harness *h, const int *ops, size_t n, const struct transport_ops *t)
{
    h_plan(h, 1, 0);
    h->origin.transport = t;
    memset(w_steps, 0, sizeof w_steps);
    for (size_t i = 0; i < n; i++) {
        if (ops[i] == W_SLEEP) {
            w_steps[i].kind = STEP_SLEEP;
            w_steps[i].sleep_min_ns = w_steps[i].sleep_max_ns = 100 * NS_PER_MS;
            continue;
        }
        w_steps[i].kind = STEP_WS;
        w_steps[i].ws_op = (enum ws_step_op)ops[i];
        w_steps[i].ws_close_code = 1000;
        w_steps[i].origin = &h->origin;
        w_steps[i].name = (char *)"room";
        w_steps[i].ops = &w_ops;
        w_steps[i].ops_data = &W_KIND[ops[i] == WS_STEP_CONNECT ? W_CONNECT : W_SEND];
    }
    h->sc.steps = w_steps;
    h->sc.n_steps = n;
    h_worker(h);
    h->sr->started = true;
    h->sr->active++;
    h->sr->n_alloc = 1;
    cr_assert(vu_start_iteration(h->vu, h->now), "the first iteration starts");
}

static const int W_PLAN[] = {WS_STEP_CONNECT, WS_STEP_SEND, WS_STEP_WAIT, WS_STEP_CLOSE};

/* A plan of connect, send, wait, close; the first iteration started. */
static void w_init(struct harness *h)
{
    w_init_steps(h, W_PLAN, 4, &sp_transport);
}

/* The accept value for the key in the upgrade request req. */
static void w_accept_of(const char *req, char out[WS_ACCEPT_BYTES + 1])
{
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    cr_assert_not_null(k, "no key in: %s", req);
    k += strlen("Sec-WebSocket-Key: ");
    cr_assert_eq(ws_accept_make(k, WS_KEY_BYTES, out), 0);
}

/* Answers the upgrade request req with its 101. */
static void w_answer_upgrade(const char *req)
{
    char acc[WS_ACCEPT_BYTES + 1], resp[512];
    w_accept_of(req, acc);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     acc);
    h_send(0, resp, (size_t)n);
}

/* Runs the upgrade of h's session: the request read, the 101 sent, 2 ms later. */
static void w_open(struct harness *h)
{
    char buf[4096];
    h_run(h);
    cr_assert_gt(h_recv(0, buf, sizeof buf), 0, "the upgrade was sent");
    w_answer_upgrade(buf);
    h->now += 2 * NS_PER_MS;
    h_run(h);
    cr_assert_eq(h_sum(h, M_WS_SESSIONS, ""), 1);
}

/* Reads one client frame from peer 0 (whole in buf), unmasks it: its payload length. */
static size_t w_read_frame(char *buf, size_t cap, uint8_t *opcode, char *payload)
{
    size_t n = h_recv(0, buf, cap);
    struct ws_frame f;
    int h = ws_frame_parse((const uint8_t *)buf, n, true, 1 << 20, &f);
    cr_assert_gt(h, 0, "a frame from the client (%d, %zu bytes)", h, n);
    cr_assert_eq(n, (size_t)h + f.payload_len, "one whole frame");
    memcpy(payload, buf + h, f.payload_len);
    ws_mask((uint8_t *)payload, f.payload_len, f.mask, 0);
    *opcode = f.opcode;
    return (size_t)f.payload_len;
}

Test(conn_ws, a_session_sends_matches_a_fragmented_reply_behind_a_ping_and_closes)
{
    struct harness h;
    w_init(&h);
    h_run(&h);
    char buf[4096], pl[256];
    cr_assert_gt(h_recv(0, buf, sizeof buf), 0, "the upgrade was sent");
    cr_assert_not_null(strstr(buf, "GET /ws HTTP/1.1\r\n"));
    cr_assert_not_null(strstr(buf, "Upgrade: websocket\r\n"));
    cr_assert_not_null(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
    w_answer_upgrade(buf);
    h.now += 2 * NS_PER_MS;
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_SESSIONS, ""), 1);
    uint8_t op;
    size_t len = w_read_frame(buf, sizeof buf, &op, pl);
    cr_assert_eq(op, WS_OP_TEXT);
    cr_assert_eq(len, 5);
    cr_assert_arr_eq(pl, "hello", 5);
    cr_assert_eq(h_sum(&h, M_WS_MSGS_SENT, ""), 1);
    /* a ping, then "hello back" in three fragments, fed one byte per loop turn */
    const uint8_t reply[] = {0x89, 0x02, 'p', 'q',           /* ping "pq" */
                             0x01, 0x04, 'h', 'e', 'l', 'l', /* text, more */
                             0x00, 0x03, 'o', ' ', 'b',      /* cont, more */
                             0x80, 0x03, 'a', 'c', 'k'};     /* cont, fin */
    for (size_t i = 0; i < sizeof reply; i++) {
        h_send(0, (const char *)reply + i, 1);
        h_run(&h);
    }
    cr_assert_eq(h_sum(&h, M_WS_MSGS_RECEIVED, ""), 1, "one message, reassembled");
    cr_assert_eq(h_sum(&h, M_WS_MSG_LATENCY, ""), 1, "the reply was timed");
    /* the pong (same payload), then the close frame (the wait matched, close began) */
    size_t got = h_recv(0, buf, sizeof buf);
    cr_assert_geq(got, 6 + 2 + 6 + 2, "a pong and a close (%zu bytes)", got);
    struct ws_frame f;
    int hl = ws_frame_parse((const uint8_t *)buf, got, true, 125, &f);
    cr_assert_gt(hl, 0);
    cr_assert_eq(f.opcode, WS_OP_PONG);
    memcpy(pl, buf + hl, f.payload_len);
    ws_mask((uint8_t *)pl, f.payload_len, f.mask, 0);
    cr_assert_eq(f.payload_len, 2);
    cr_assert_arr_eq(pl, "pq", 2);
    size_t at = (size_t)hl + f.payload_len;
    hl = ws_frame_parse((const uint8_t *)buf + at, got - at, true, 125, &f);
    cr_assert_gt(hl, 0);
    cr_assert_eq(f.opcode, WS_OP_CLOSE);
    memcpy(pl, buf + at + hl, f.payload_len);
    ws_mask((uint8_t *)pl, f.payload_len, f.mask, 0);
    cr_assert_eq(f.payload_len, 2);
    cr_assert_eq(((uint8_t)pl[0] << 8 | (uint8_t)pl[1]), 1000, "close code 1000");
    h_send(0, "\x88\x02\x03\xe8", 4); /* the server's close, 1000 */
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_ITERATIONS, ""), 1, "the iteration ended");
    cr_assert_eq(h_sum(&h, M_WS_SESSION_DURATION, ""), 1);
    cr_assert_eq(h_sum(&h, M_ERRORS, ""), 0, "no errors");
    cr_assert_null(h.vu->ws, "the session is gone");
    h_destroy(&h);
}

Test(conn_ws, a_wrong_accept_is_a_handshake_error_and_nothing_is_sent)
{
    struct harness h;
    w_init(&h);
    h_run(&h);
    char buf[4096];
    cr_assert_gt(h_recv(0, buf, sizeof buf), 0);
    const char *bad = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n";
    h_send(0, bad, strlen(bad));
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_ERRORS, "kind=ws_handshake"), 1);
    cr_assert_eq(h_sum(&h, M_WS_SESSIONS, ""), 0);
    cr_assert_eq(h_sum(&h, M_WS_MSGS_SENT, ""), 0);
    cr_assert_eq(h_sum(&h, M_ITERATIONS, ""), 1, "the rest of the iteration was skipped");
    cr_assert_eq(h_recv(0, buf, sizeof buf), 0, "no frame after the bad upgrade");
    h_destroy(&h);
}

/*
 * A transport that acts as TLS does when the socket is full (OpenSSL's WANT_WRITE):
 * while bt_block is set every write is -EAGAIN, and the first one's bytes are pending:
 * every later write must begin with them (OpenSSL has them encrypted already and sends
 * them whatever the retry passes), else bt_bad counts a broken retry.
 */
static bool bt_block;
static char bt_pend[256];
static size_t bt_pend_len;
static int bt_bad;

static ssize_t bt_write(struct transport_conn *c, const void *buf, size_t len)
{
    if (bt_pend_len > 0 && (len < bt_pend_len || memcmp(buf, bt_pend, bt_pend_len) != 0)) {
        bt_bad++;
    }
    if (bt_block) {
        if (bt_pend_len == 0) {
            bt_pend_len = len < sizeof bt_pend ? len : sizeof bt_pend;
            memcpy(bt_pend, buf, bt_pend_len);
        }
        return -EAGAIN;
    }
    bt_pend_len = 0;
    return sp_write(c, buf, len);
}

static const struct transport_ops bt_transport = {
    .name = "blocking",
    .connect = sp_connect,
    .connected = sp_connected,
    .handshake = sp_handshake,
    .read = sp_read,
    .write = bt_write,
    .close = sp_close,
};

static void bt_reset(void)
{
    bt_block = false;
    bt_pend_len = 0;
    bt_bad = 0;
}

/* Reads the client's frames from peer 0 into ops[] (at most cap): how many. */
static size_t w_read_ops(uint8_t *ops, size_t cap)
{
    char buf[4096];
    size_t got = h_recv(0, buf, sizeof buf), at = 0, k = 0;
    while (at < got && k < cap) {
        struct ws_frame f;
        int hl = ws_frame_parse((const uint8_t *)buf + at, got - at, true, 125, &f);
        cr_assert_gt(hl, 0, "a whole frame at %zu of %zu", at, got);
        ops[k++] = f.opcode;
        at += (size_t)hl + f.payload_len;
    }
    return k;
}

Test(conn_ws, a_pong_that_met_a_full_socket_is_retried_whole_before_the_next_frame)
{
    struct harness h;
    bt_reset();
    w_init_steps(&h, W_PLAN, 4, &bt_transport);
    w_open(&h);
    char buf[4096], pl[256];
    uint8_t op;
    cr_assert_eq(w_read_frame(buf, sizeof buf, &op, pl), 5, "the message");
    /* The socket fills; a ping comes, its pong is tried (EAGAIN).  Another ping and the
     * awaited reply follow: the tried pong stays as it was, the wait matches and the
     * close step frames its close behind it. */
    bt_block = true;
    h_send(0, "\x89\x02pq", 4);
    h_run(&h);
    cr_assert_gt(bt_pend_len, 0, "the pong was tried");
    h_send(0, "\x89\x02rs\x81\x0ahello back", 16);
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_MSG_LATENCY, ""), 1, "the reply matched");
    bt_block = false;
    h_run(&h);
    cr_expect_eq(bt_bad, 0, "a write retried with other bytes than the pending pong");
    uint8_t ops[4];
    size_t n = w_read_ops(ops, 4);
    cr_assert_eq(n, 2, "a pong and a close (%zu frames)", n);
    cr_expect_eq(ops[0], WS_OP_PONG);
    cr_expect_eq(ops[1], WS_OP_CLOSE);
    h_send(0, "\x88\x02\x03\xe8", 4);
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 0);
    h_destroy(&h);
}

Test(conn_ws, the_servers_close_while_ours_waits_for_the_socket_gets_one_close)
{
    struct harness h;
    bt_reset();
    w_init_steps(&h, W_PLAN, 4, &bt_transport);
    w_open(&h);
    char buf[4096], pl[256];
    uint8_t op;
    cr_assert_eq(w_read_frame(buf, sizeof buf, &op, pl), 5, "the message");
    bt_block = true;
    h_send(0, "\x81\x0ahello back", 12);
    h_run(&h); /* matched; the close step's frame meets the full socket */
    h_send(0, "\x88\x02\x03\xe8", 4);
    bt_block = false;
    h_run(&h);
    uint8_t ops[4];
    size_t n = w_read_ops(ops, 4);
    cr_assert_eq(n, 1, "one frame after the reply (%zu)", n);
    cr_expect_eq(ops[0], WS_OP_CLOSE);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 0);
    cr_expect_null(h.vu->ws);
    h_destroy(&h);
}

Test(conn_ws, a_step_cut_off_by_the_end_is_interrupted_and_kept_messages_count)
{
    struct harness h;
    bt_reset();
    w_init_steps(&h, W_PLAN, 4, &bt_transport);
    char buf[4096];
    h_run(&h);
    cr_assert_gt(h_recv(0, buf, sizeof buf), 0, "the upgrade was sent");
    bt_block = true; /* the send step's message will not leave */
    w_answer_upgrade(buf);
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_SESSIONS, ""), 1);
    /* Two messages and part of a third arrive while the send step holds the session. */
    h_send(0,
           "\x81\x01"
           "a"
           "\x81\x01"
           "b"
           "\x81\x05"
           "c",
           9);
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_MSGS_RECEIVED, ""), 0, "kept for a reading step");
    vu_interrupt(h.vu);
    cr_expect_eq(h_sum(&h, M_WS_MSGS_RECEIVED, ""), 2, "the whole ones count at the end");
    cr_expect_eq(h_sum(&h, M_ERRORS, "kind=interrupted"), 1, "the send step was cut off");
    cr_expect_eq(h_sum(&h, M_ERRORS, ""), 1);
    cr_expect_eq(h_sum(&h, M_ITERATIONS_INTERRUPTED, ""), 1);
    cr_expect_eq(h_sum(&h, M_WS_MSGS_SENT, ""), 0);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 0, "a session is no request");
    cr_expect_null(h.vu->ws);
    h_destroy(&h);
}

Test(conn_ws, a_reply_kept_through_a_sleep_is_timed_at_its_own_read)
{
    static const int plan[] = {WS_STEP_CONNECT, WS_STEP_SEND, W_SLEEP, WS_STEP_WAIT, WS_STEP_CLOSE};
    struct harness h;
    w_init_steps(&h, plan, 5, &sp_transport);
    w_open(&h);
    char buf[4096], pl[256];
    uint8_t op;
    cr_assert_eq(w_read_frame(buf, sizeof buf, &op, pl), 5, "the message");
    h.now += 10 * NS_PER_MS; /* the reply, during the 100 ms sleep */
    h_send(0, "\x81\x0ahello back", 12);
    h_run(&h);
    h.now += 40 * NS_PER_MS; /* another message, later */
    h_send(0, "\x81\x05later", 7);
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_MSG_LATENCY, ""), 0, "still sleeping");
    h.now += 60 * NS_PER_MS;
    h_run(&h);
    cr_assert_eq(h_sum(&h, M_WS_MSG_LATENCY, ""), 1, "the wait matched the kept reply");
    uint64_t lat = h_max_ns(&h, M_WS_MSG_LATENCY);
    cr_expect(lat >= 9 * NS_PER_MS && lat <= 11 * NS_PER_MS, "latency %llu ns, not 10 ms",
              (unsigned long long)lat);
    h_destroy(&h);
}
