/*
 * libFuzzer target for `brunt serve`'s WebSocket side (server/websocket.c): the input is
 * an upgrade request head followed by the bytes a client sends after it.  The head goes
 * through http1_parse_request and server__ws_check_upgrade; when it is accepted, the
 * session is set up by the real route handler (server__ws_upgrade, on /ws/echo or, when
 * the first byte is odd, /ws/room/fuzz) on a connection with no socket, and the rest is
 * fed to server__ws_process in pieces whose sizes come from the input, the output being
 * taken away between calls as a socket would.  Invariants: the upgrade answers 0, 400
 * or 426 with a reason, and a key of 24 bytes inside the head; processing never reads
 * past the input (ASan), consumes input monotonically, never handles frames after its
 * close, and every output frame parses as an unmasked server frame.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/ws_server/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"
#include "server/server_internal.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Every byte of out[0..len) is a whole unmasked frame sequence (after the 101's head). */
static void check_output(const uint8_t *out, size_t len)
{
    size_t at = 0;
    while (at < len) {
        struct ws_frame f;
        int n = ws_frame_parse(out + at, len - at, false, UINT64_MAX >> 1, &f);
        check(n > 0);
        check(f.payload_len <= len - at - (size_t)n);
        at += (size_t)n + (size_t)f.payload_len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    bool room = data[0] & 1;
    size_t step = 1 + data[1] * 7u;
    data += 2;
    size -= 2;
    struct http1_request h;
    int hl = http1_parse_request((const char *)data, size, &h);
    if (hl <= 0) {
        return 0;
    }
    const char *key = NULL, *why = NULL;
    size_t key_len = 0;
    int st = server__ws_check_upgrade(&h, &key, &key_len, &why);
    check(st == 0 || st == 400 || st == 426);
    check(why != NULL || st == 0);
    if (st != 0) {
        return 0;
    }
    check(key_len == WS_KEY_BYTES && key >= (const char *)data &&
          key + key_len <= (const char *)data + hl);

    static struct server t;
    static struct server_thread w;
    memset(&t, 0, sizeof t);
    memset(&w, 0, sizeof w);
    t.n_threads = 1;
    t.threads = &w;
    w.t = &t;
    w.out_scratch = malloc(SRV_OUT_SCRATCH);
    struct conn *c = calloc(1, sizeof *c);
    check(w.out_scratch != NULL && c != NULL);
    c->w = &w;
    c->io.fd = -1;
    c->out_hold = NONE;
    c->paced_from = NONE;
    struct req rq = {.h = &h, .keep_alive = true, .minor = 1};
    rq.route = room ? R_WS_ROOM : R_WS_ECHO;
    rq.param = "fuzz";
    rq.param_len = 4;
    int r = server__ws_upgrade(c, &rq);
    check(r == 101);
    check(c->ws != NULL);
    c->out.len = c->out_sent = 0; /* the 101 is sent */

    /* The client's bytes arrive in pieces of `step`, each appended to the input. */
    size_t rest = size - (size_t)hl;
    c->in.p = malloc(rest + 1);
    check(c->in.p != NULL);
    c->in.cap = rest + 1;
    size_t fed = 0;
    while (fed < rest && !c->dead) {
        size_t n = rest - fed < step ? rest - fed : step;
        memcpy(c->in.p + c->in.len, data + hl + fed, n);
        c->in.len += n;
        fed += n;
        for (;;) {
            size_t before = c->in_off;
            int k = server__ws_process(c);
            check(c->in_off >= before && c->in_off <= c->in.len);
            check_output((const uint8_t *)c->out.p, c->out.len);
            /* The socket takes everything; a close then ends the connection. */
            c->out.len = c->out_sent = 0;
            if (c->close_after != CLOSE_NONE) {
                c->dead = true;
            }
            if (k == 0 || c->dead) {
                break;
            }
        }
    }
    server__ws_free(c);
    check(c->ws == NULL);
    if (c->out.borrowed) {
        w.out_scratch_busy = false;
    } else {
        free(c->out.p);
    }
    free(c->in.p);
    free(c);
    free(w.out_scratch);
    free(w.body.p);
    for (size_t i = 0; i < SRV_WS_ROOM_BUCKETS; i++) {
        check(w.rooms[i] == NULL); /* the last member left: the room is gone */
    }
    return 0;
}
