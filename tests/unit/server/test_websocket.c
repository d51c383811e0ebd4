/*
 * Unit tests of server/websocket's pure parts: which upgrade requests are accepted and
 * with what status the others are refused (RFC 6455 4.2.1), room names, and the code a
 * close frame is answered with (5.5.1, 7.4).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "server/server_internal.h"

#define GOOD_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Parses head (a whole request head) and checks it; returns the status (0: accepted). */
static int check(const char *head, const char **key, size_t *key_len, const char **why)
{
    struct http1_request h;
    int n = http1_parse_request(head, strlen(head), &h);
    cr_assert_eq(n, (int)strlen(head), "the test's request parses: %d", n);
    return server__ws_check_upgrade(&h, key, key_len, why);
}

Test(websocket, accepts_the_rfc_example_and_points_at_its_key)
{
    const char *key = NULL, *why = "x";
    size_t key_len = 0;
    int st = check("GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                   "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   &key, &key_len, &why);
    cr_assert_eq(st, 0, "status %d (%s)", st, why ? why : "");
    cr_assert_eq(key_len, 24u);
    cr_assert(memcmp(key, GOOD_KEY, 24) == 0);
    cr_assert_null(why);
}

Test(websocket, header_tokens_are_case_insensitive_and_may_repeat)
{
    const char *key, *why;
    size_t key_len;
    int st = check("GET / HTTP/1.1\r\nupgrade: WebSocket\r\nconnection: close\r\n"
                   "CONNECTION:  UPGRADE \r\nsec-websocket-key: " GOOD_KEY "\r\n"
                   "sec-websocket-version: 13\r\n\r\n",
                   &key, &key_len, &why);
    cr_assert_eq(st, 0, "status %d (%s)", st, why ? why : "");
}

Test(websocket, refuses_bad_upgrades_with_400_or_426)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        /* no Upgrade at all, or another protocol: 426 */
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY
         "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY
         "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        /* a token that only contains "websocket" is not it */
        {"GET / HTTP/1.1\r\nUpgrade: websockets\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        /* wrong or missing version: 426 */
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 130\r\n\r\n",
         426},
        /* HTTP/1.0, no upgrade token in Connection: 400 */
        {"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "keep-alive\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        /* the key: missing, short, long, not base64, padding, stray low bits */
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ==A\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25j*Q==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *key = NULL, *why = NULL;
        size_t key_len = 0;
        int st = check(cases[i].head, &key, &key_len, &why);
        cr_expect_eq(st, cases[i].status, "case %zu: status %d, expected %d", i, st,
                     cases[i].status);
        cr_expect_not_null(why, "case %zu gives a reason", i);
    }
}

Test(websocket, room_names)
{
    cr_expect(server__ws_room_name_ok("lobby", 5));
    cr_expect(server__ws_room_name_ok("A-z_0.9~", 8));
    char longest[SRV_WS_ROOM_NAME + 1];
    memset(longest, 'r', sizeof longest);
    cr_expect(server__ws_room_name_ok(longest, SRV_WS_ROOM_NAME));
    cr_expect_not(server__ws_room_name_ok(longest, SRV_WS_ROOM_NAME + 1), "65 bytes");
    cr_expect_not(server__ws_room_name_ok("", 0));
    cr_expect_not(server__ws_room_name_ok("a b", 3));
    cr_expect_not(server__ws_room_name_ok("a%20b", 5));
    cr_expect_not(server__ws_room_name_ok("caf\xc3\xa9", 5));
}

Test(websocket, close_codes_answered)
{
    static const struct {
        const char *p;
        size_t len;
        int code;
    } cases[] = {
        {"", 0, 1005},
        {"\x03", 1, 1002},     /* one byte: no code fits */
        {"\x03\xe8", 2, 1000}, /* 1000 */
        {"\x03\xe8"
         "bye",
         5, 1000},                 /* with a reason */
        {"\x03\xe9", 2, 1001},     /* 1001 */
        {"\x03\xeb", 2, 1003},     /* 1003 */
        {"\x03\xec", 2, 1002},     /* 1004: reserved */
        {"\x03\xed", 2, 1002},     /* 1005: never on the wire */
        {"\x03\xee", 2, 1002},     /* 1006: never on the wire */
        {"\x03\xef", 2, 1007},     /* 1007 */
        {"\x03\xf3", 2, 1011},     /* 1011 */
        {"\x03\xf4", 2, 1002},     /* 1012: not in RFC 6455's list */
        {"\x03\xe7", 2, 1002},     /* 999 */
        {"\x0b\xb8", 2, 3000},     /* 3000: registered */
        {"\x13\x87", 2, 4999},     /* 4999: private */
        {"\x13\x88", 2, 1002},     /* 5000 */
        {"\x03\xe8\xff", 3, 1007}, /* a reason that is not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = server__ws_close_code((const uint8_t *)cases[i].p, cases[i].len);
        cr_expect_eq(code, cases[i].code, "case %zu: %d, expected %d", i, code, cases[i].code);
    }
}

/* ---- a room across two server threads, over socket pairs ---------------------------- */

#include <sys/socket.h>
#include <unistd.h>

#include "http/ws.h"

/* A session of thread w on one end of a socket pair, upgraded into room "r"; *peer
 * gets the other end, the 101 read from it. */
static struct conn *room_session(struct server_thread *w, int *peer)
{
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    struct conn *c = server__conn_new(w, sp[0]);
    cr_assert_not_null(c);
    atomic_fetch_add(&w->t->open_conns, 1);
    static const char head[] = "GET /ws/room/r HTTP/1.1\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n";
    struct http1_request h;
    cr_assert_eq(http1_parse_request(head, sizeof head - 1, &h), (int)sizeof head - 1);
    struct req rq = {.h = &h, .keep_alive = true, .minor = 1, .route = R_WS_ROOM};
    rq.param = "r";
    rq.param_len = 1;
    cr_assert_eq(server__ws_upgrade(c, &rq), 101);
    server__conn_update(c);
    char buf[512];
    ssize_t n = read(sp[1], buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert(strstr(buf, "HTTP/1.1 101 ") == buf, "the upgrade answered: %s", buf);
    cr_assert(strstr(buf, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    *peer = sp[1];
    return c;
}

static uint64_t count(struct server_thread *w, int idx)
{
    return atomic_load(&w->cnt.c[idx]);
}

/* A server of two threads (not running: the test turns their loops). */
static struct server srv;
static struct server_thread thr[2];

static void two_threads(void)
{
    char err[128];
    memset(&srv, 0, sizeof srv);
    memset(thr, 0, sizeof thr);
    srv.n_threads = 2;
    srv.threads = thr;
    cr_assert_eq(server__tls_init(&srv, err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        thr[i].t = &srv;
        thr[i].index = i;
        thr[i].in_scratch = malloc(SRV_READ_CHUNK);
        thr[i].out_scratch = malloc(SRV_OUT_SCRATCH);
        cr_assert_eq(loop_new(&thr[i].loop), 0);
        cr_assert_eq(server__ws_thread_init(&thr[i]), 0);
    }
}

/* Ends the threads' sessions (one each) and frees the threads. */
static void two_threads_free(void)
{
    for (int i = 0; i < 2; i++) {
        while (thr[i].conns != NULL) {
            server__conn_destroy(thr[i].conns);
        }
        cr_expect_eq(count(&thr[i], C_WS_CLOSED), 1u);
        for (size_t k = 0; k < SRV_WS_ROOM_BUCKETS; k++) {
            cr_expect_null(thr[i].rooms[k], "thread %d's room is freed with its last member", i);
        }
        server__ws_thread_destroy(&thr[i]);
        loop_free(thr[i].loop);
        free(thr[i].in_scratch);
        free(thr[i].out_scratch);
        free(thr[i].body.p);
    }
    cr_expect_eq(atomic_load(&srv.ws_open), 0);
    server__tls_destroy(&srv);
}

Test(websocket, a_room_message_reaches_members_on_another_thread)
{
    two_threads();
    int pa, pb;
    struct conn *a = room_session(&thr[0], &pa);
    struct conn *b = room_session(&thr[1], &pb);
    (void)a;
    (void)b;
    /* A's client sends a masked "hi". */
    static const uint8_t mask[4] = {1, 2, 3, 4};
    uint8_t frame[8];
    size_t hl = ws_frame_head(frame, true, WS_OP_TEXT, 2, mask);
    memcpy(frame + hl, "hi", 2);
    ws_mask(frame + hl, 2, mask, 0);
    cr_assert_eq(write(pa, frame, hl + 2), (ssize_t)(hl + 2));
    /* Thread 0 reads it, delivers to A and posts to thread 1, which delivers to B. */
    cr_assert_gt(loop_run_once(thr[0].loop, 1000000000), 0);
    cr_assert_gt(loop_run_once(thr[1].loop, 1000000000), 0);
    const uint8_t want[] = {0x81, 0x02, 'h', 'i'};
    uint8_t got[16];
    cr_assert_eq(read(pa, got, sizeof got), (ssize_t)sizeof want, "the sender's own copy");
    cr_assert(memcmp(got, want, sizeof want) == 0);
    cr_assert_eq(read(pb, got, sizeof got), (ssize_t)sizeof want, "the other thread's member");
    cr_assert(memcmp(got, want, sizeof want) == 0);
    cr_expect_eq(count(&thr[0], C_WS_MSG_IN), 1u);
    cr_expect_eq(count(&thr[0], C_WS_MSG_OUT), 1u);
    cr_expect_eq(count(&thr[1], C_WS_MSG_OUT), 1u);
    cr_expect_eq(count(&thr[1], C_WS_MSG_IN), 0u);
    cr_expect_eq(atomic_load(&srv.ws_open), 2);
    two_threads_free();
    close(pa);
    close(pb);
}

/* The inbox cap counts each post's allocation: empty messages are not free. */
Test(websocket, an_inbox_counts_what_its_posts_hold_not_only_their_payload)
{
    two_threads();
    int pa, pb;
    (void)room_session(&thr[0], &pa);
    (void)room_session(&thr[1], &pb);
    static const uint8_t mask[4] = {1, 2, 3, 4};
    uint8_t frames[3 * 6];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ws_frame_head(frames + 6 * i, true, WS_OP_TEXT, 0, mask), 6u);
    }
    cr_assert_eq(write(pa, frames, sizeof frames), (ssize_t)sizeof frames);
    cr_assert_gt(loop_run_once(thr[0].loop, 1000000000), 0);
    cr_assert_eq(count(&thr[0], C_WS_MSG_IN), 3u);
    /* Thread 1 has not run: the three posts wait in its inbox, each at least its room
     * name and length field, though their payloads are empty. */
    cr_assert_eq(thr[1].inbox_n, 3u);
    cr_expect_geq(thr[1].inbox_bytes, 3 * (SRV_WS_ROOM_NAME + sizeof(size_t)), "%zu bytes",
                  thr[1].inbox_bytes);
    cr_expect_eq(count(&thr[0], C_WS_DROPPED), 0u);
    two_threads_free();
    close(pa);
    close(pb);
}
