/*
 * WebSocket sessions (engine/conn_ws.c) over the socketpair harness, the test playing
 * the server: the upgrade carries a key whose accept the 101 must echo; a masked text
 * message leaves whole; a reply that arrives fragmented and byte by byte, behind a
 * ping, is matched once (the ping answered with a pong of the same payload) and timed
 * from the send; the close handshake ends the session and the iteration; a wrong
 * accept is ws_handshake, nothing sent after it.
 */
#include <stdio.h>

#include "harness.h"
#include "http/ws.h"

/* The harness's helpers this file does not need. */
static void w_unused(void) __attribute__((unused));
static void w_unused(void)
{
    (void)h_init;
    (void)h_max_ns;
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

static struct step w_steps[4];

/* A plan of connect, send, wait, close; the first iteration started. */
static void w_init(struct harness *h)
{
    h_plan(h, 1, 0);
    memset(w_steps, 0, sizeof w_steps);
    for (int i = 0; i < 4; i++) {
        w_steps[i].kind = STEP_WS;
        w_steps[i].ws_op = i == W_CONNECT ? WS_STEP_CONNECT
                           : i == W_SEND  ? WS_STEP_SEND
                           : i == W_WAIT  ? WS_STEP_WAIT
                                          : WS_STEP_CLOSE;
        w_steps[i].ws_close_code = 1000;
        w_steps[i].origin = &h->origin;
        w_steps[i].name = (char *)"room";
        w_steps[i].ops = &w_ops;
        w_steps[i].ops_data = &W_KIND[i];
    }
    h->sc.steps = w_steps;
    h->sc.n_steps = 4;
    h_worker(h);
    h->sr->started = true;
    h->sr->active++;
    h->sr->n_alloc = 1;
    cr_assert(vu_start_iteration(h->vu, h->now), "the first iteration starts");
}

/* The accept value for the key in the upgrade request req. */
static void w_accept_of(const char *req, char out[WS_ACCEPT_BYTES + 1])
{
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    cr_assert_not_null(k, "no key in: %s", req);
    k += strlen("Sec-WebSocket-Key: ");
    cr_assert_eq(ws_accept_make(k, WS_KEY_BYTES, out), 0);
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
    char buf[4096], pl[256], acc[WS_ACCEPT_BYTES + 1], resp[512];
    cr_assert_gt(h_recv(0, buf, sizeof buf), 0, "the upgrade was sent");
    cr_assert_not_null(strstr(buf, "GET /ws HTTP/1.1\r\n"));
    cr_assert_not_null(strstr(buf, "Upgrade: websocket\r\n"));
    cr_assert_not_null(strstr(buf, "Sec-WebSocket-Version: 13\r\n"));
    w_accept_of(buf, acc);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     acc);
    h_send(0, resp, (size_t)n);
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
