/*
 * websocket — the WebSocket endpoints of `brunt serve` (RFC 6455, server side):
 * GET /ws/echo answers every data message with the same message, GET /ws/room/{name}
 * joins the room `name` and sends each message to every member of the room, the sender
 * included (so a sender sees its own messages in the order the room saw them).
 *
 * The wire format is http/ws (frame heads, masking, reassembly rules, the accept value);
 * this file adds what a server decides: whether an upgrade is acceptable, what a frame
 * does to the session, and where a message goes.  Frames are handled only when whole
 * (head and payload in the connection's input, which conn.c grows up to SRV_IN_MAX and
 * gives back when empty), unmasked in place, and answered from there, so an idle
 * session holds no buffer: its cost is struct conn plus struct srv_ws (about 100
 * bytes).  Fragments of a message are gathered in a buffer of the session's own, up to
 * SRV_WS_MAX_MESSAGE (else close 1009).  A client frame that is not masked, has an RSV
 * bit, an unknown opcode, a bad control frame or breaks the fragment order gets close
 * 1002; text that is not UTF-8 gets 1007.  A close from the peer is answered with the
 * same code; after sending a close the server reads no more frames and closes the TCP
 * connection (lingering, so the peer sees the close).
 *
 * Rooms live per server thread (a hash table of name -> members, made on the first
 * join, freed when the last member leaves); a broadcast goes to the members on the
 * sender's thread directly and, with more than one thread, as one reference-counted
 * post to every other thread's inbox (a mutex-guarded array and an eventfd).  A room
 * delivery appends to the member's output and puts it on the thread's kick list, which
 * is flushed after the event that caused it, never from inside another session's frame
 * loop.  A member with more than SRV_WS_OUT_MAX unsent is dropped (reset).
 *
 * Left out: extensions (permessage-deflate), subprotocols, server-initiated pings,
 * idle timeouts, pacing of frames by --slow-body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/utf8.h"
#include "http/ws.h"
#include "server/server_internal.h"

struct srv_ws_room {
    struct srv_ws_room *next; /* in its bucket */
    struct srv_ws *members;
    size_t n_members;
    uint8_t name_len;
    char name[SRV_WS_ROOM_NAME];
};

struct srv_ws {
    struct conn *c;
    struct srv_ws_room *room; /* NULL on /ws/echo */
    struct srv_ws *room_prev, *room_next;
    struct srv_ws *kick_prev, *kick_next;
    bool on_kick;
    bool close_sent;
    bool fragmented; /* the open message's fragments are in msg */
    struct ws_assembly asm_;
    struct tbuf msg; /* the fragments so far (owned), while a message is open */
};

/* A broadcast on its way to the other threads: one copy, referenced by each inbox. */
struct srv_ws_post {
    _Atomic int refs;
    uint8_t opcode;
    uint8_t name_len;
    char name[SRV_WS_ROOM_NAME];
    size_t len;
    uint8_t data[];
};

/* ---- the upgrade (pure) ----------------------------------------------------------- */

/* True when the comma-separated header value v[0..n) has the token tok (any case). */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t j = i;
        while (j < n && v[j] != ',') {
            j++;
        }
        size_t e = j;
        while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t')) {
            e--;
        }
        if (e - i == tl && strncasecmp(v + i, tok, tl) == 0) {
            return true;
        }
        i = j;
    }
    return false;
}

/* True when every header named `name` is looked at; the first with the token wins. */
static bool header_has_token(const struct http1_request *h, const char *name, const char *tok)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct http1_header *x = &h->headers[i];
        if (x->name_len == nl && strncasecmp(x->name, name, nl) == 0 &&
            has_token(x->value, x->value_len, tok)) {
            return true;
        }
    }
    return false;
}

static bool is_b64(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

int server__ws_check_upgrade(const struct http1_request *h, const char **key, size_t *key_len,
                             const char **why)
{
    if (!header_has_token(h, "Upgrade", "websocket")) {
        *why = "expected Upgrade: websocket";
        return 426;
    }
    const struct http1_header *ver =
        http1_find_header(h->headers, h->num_headers, "Sec-WebSocket-Version");
    if (ver == NULL || ver->value_len != 2 || memcmp(ver->value, "13", 2) != 0) {
        *why = "expected Sec-WebSocket-Version: 13";
        return 426;
    }
    if (h->minor_version < 1) {
        *why = "a WebSocket upgrade needs HTTP/1.1";
        return 400;
    }
    if (!header_has_token(h, "Connection", "upgrade")) {
        *why = "expected Connection: Upgrade";
        return 400;
    }
    const struct http1_header *k =
        http1_find_header(h->headers, h->num_headers, "Sec-WebSocket-Key");
    /* 16 bytes in base64: 22 characters of the alphabet, then "==". */
    bool ok =
        k != NULL && k->value_len == WS_KEY_BYTES && k->value[22] == '=' && k->value[23] == '=';
    for (size_t i = 0; ok && i < 22; i++) {
        ok = is_b64(k->value[i]);
    }
    /* The last character before the padding carries 2 bits: the rest must be zero. */
    if (ok && strchr("AQgw", k->value[21]) == NULL) {
        ok = false;
    }
    if (!ok) {
        *why = k == NULL ? "expected a Sec-WebSocket-Key"
                         : "Sec-WebSocket-Key is not 16 bytes "
                           "in base64";
        return 400;
    }
    *key = k->value;
    *key_len = k->value_len;
    *why = NULL;
    return 0;
}

bool server__ws_room_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > SRV_WS_ROOM_NAME) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '~' || ch == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

int server__ws_close_code(const uint8_t *payload, size_t len)
{
    if (len == 0) {
        return 1005;
    }
    if (len == 1) {
        return 1002;
    }
    int code = payload[0] << 8 | payload[1];
    bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
              (code >= 3000 && code <= 4999);
    if (!ok) {
        return 1002;
    }
    if (utf8_validate((const char *)payload + 2, len - 2, NULL) != 0) {
        return 1007;
    }
    return code;
}

/* ---- rooms ------------------------------------------------------------------------ */

static size_t room_hash(const char *name, size_t len)
{
    return (size_t)(hash_fnv1a(HASH_FNV1A_BASIS, name, len) % SRV_WS_ROOM_BUCKETS);
}

static struct srv_ws_room *room_find(struct server_thread *w, const char *name, size_t len)
{
    for (struct srv_ws_room *r = w->rooms[room_hash(name, len)]; r != NULL; r = r->next) {
        if (r->name_len == len && memcmp(r->name, name, len) == 0) {
            return r;
        }
    }
    return NULL;
}

/* Adds s to the room `name` (made if new).  Returns 0 or -ENOMEM. */
static int room_join(struct server_thread *w, struct srv_ws *s, const char *name, size_t len)
{
    struct srv_ws_room *r = room_find(w, name, len);
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return -ENOMEM;
        }
        memcpy(r->name, name, len);
        r->name_len = (uint8_t)len;
        size_t b = room_hash(name, len);
        r->next = w->rooms[b];
        w->rooms[b] = r;
    }
    s->room = r;
    s->room_prev = NULL;
    s->room_next = r->members;
    if (r->members != NULL) {
        r->members->room_prev = s;
    }
    r->members = s;
    r->n_members++;
    return 0;
}

static void room_leave(struct server_thread *w, struct srv_ws *s)
{
    struct srv_ws_room *r = s->room;
    if (r == NULL) {
        return;
    }
    if (s->room_prev != NULL) {
        s->room_prev->room_next = s->room_next;
    } else {
        r->members = s->room_next;
    }
    if (s->room_next != NULL) {
        s->room_next->room_prev = s->room_prev;
    }
    s->room = NULL;
    if (--r->n_members > 0) {
        return;
    }
    struct srv_ws_room **pp = &w->rooms[room_hash(r->name, r->name_len)];
    while (*pp != r) {
        pp = &(*pp)->next;
    }
    *pp = r->next;
    free(r);
}

/* ---- output ----------------------------------------------------------------------- */

static void kick_add(struct server_thread *w, struct srv_ws *s)
{
    if (s->on_kick) {
        return;
    }
    s->on_kick = true;
    s->kick_prev = NULL;
    s->kick_next = w->kick;
    if (w->kick != NULL) {
        w->kick->kick_prev = s;
    }
    w->kick = s;
}

static void kick_del(struct server_thread *w, struct srv_ws *s)
{
    if (!s->on_kick) {
        return;
    }
    if (s->kick_prev != NULL) {
        s->kick_prev->kick_next = s->kick_next;
    } else {
        w->kick = s->kick_next;
    }
    if (s->kick_next != NULL) {
        s->kick_next->kick_prev = s->kick_prev;
    }
    s->on_kick = false;
}

void server__ws_kick_drain(struct server_thread *w)
{
    if (w->kick_draining) {
        return;
    }
    w->kick_draining = true;
    while (w->kick != NULL) {
        struct srv_ws *s = w->kick;
        kick_del(w, s);
        server__conn_update_one(s->c);
    }
    w->kick_draining = false;
}

/* Appends one unmasked frame to c's output.  Returns 0, or -1 (c is then dead). */
static int frame_out(struct conn *c, uint8_t opcode, const void *payload, size_t len)
{
    uint8_t head[WS_MAX_HEAD_BYTES];
    size_t hl = ws_frame_head(head, true, opcode, len, NULL);
    if (server__out_reserve(c, hl + len) < 0) {
        c->dead = true;
        return -1;
    }
    server__out_add(c, (const char *)head, hl);
    if (len > 0) {
        server__out_add(c, payload, len);
    }
    return c->dead ? -1 : 0;
}

/* Queues a data message to session c (counted as sent). */
static void message_out(struct conn *c, uint8_t opcode, const void *payload, size_t len)
{
    if (frame_out(c, opcode, payload, len) == 0) {
        cnt_add(&c->w->cnt, C_WS_MSG_OUT, 1);
        cnt_add(&c->w->cnt, C_WS_BYTES_OUT, len);
    }
}

/* Sends a close with code (1005: an empty close) and stops reading frames. */
static void close_out(struct conn *c, int code, const uint8_t *reason, size_t reason_len)
{
    struct srv_ws *s = c->ws;
    uint8_t p[WS_MAX_CONTROL_BYTES];
    size_t n = 0;
    if (code != 1005) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        if (reason_len > sizeof p - 2) {
            reason_len = sizeof p - 2;
        }
        if (reason_len > 0) {
            memcpy(p + 2, reason, reason_len);
            n += reason_len;
        }
    }
    int idx = code == 1000   ? C_WS_CLOSE_1000
              : code == 1002 ? C_WS_CLOSE_1002
              : code == 1007 ? C_WS_CLOSE_1007
              : code == 1009 ? C_WS_CLOSE_1009
                             : C_WS_CLOSE_OTHER;
    cnt_add(&c->w->cnt, idx, 1);
    (void)frame_out(c, WS_OP_CLOSE, p, n);
    s->close_sent = true;
    if (c->close_after < CLOSE_GRACEFUL) {
        c->close_after = CLOSE_GRACEFUL;
    }
}

static void close_error(struct conn *c, int code, const char *why)
{
    close_out(c, code, (const uint8_t *)why, strlen(why));
}

/* Delivers a message to this thread's members of the room called name. */
static void room_deliver(struct server_thread *w, const char *name, size_t name_len, uint8_t opcode,
                         const uint8_t *payload, size_t len)
{
    struct srv_ws_room *r = room_find(w, name, name_len);
    if (r == NULL) {
        return;
    }
    for (struct srv_ws *m = r->members; m != NULL; m = m->room_next) {
        struct conn *mc = m->c;
        if (mc->dead || m->close_sent) {
            continue;
        }
        if (mc->out.len - mc->out_sent + len > SRV_WS_OUT_MAX) {
            /* Too slow a reader: drop it rather than let one member hold the room's
             * memory (a reset: there is no room left to say so in a close frame). */
            cnt_add(&w->cnt, C_WS_DROPPED, 1);
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            (void)setsockopt(mc->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            mc->dead = true;
        } else {
            message_out(mc, opcode, payload, len);
        }
        kick_add(w, m);
    }
}

static void post_unref(struct srv_ws_post *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        free(p);
    }
}

/* A room message from c: its thread's members now, the other threads by their inboxes. */
static void room_broadcast(struct conn *c, uint8_t opcode, const uint8_t *payload, size_t len)
{
    struct server_thread *w = c->w;
    struct server *t = w->t;
    struct srv_ws_room *r = c->ws->room;
    if (t->n_threads > 1) {
        struct srv_ws_post *p = malloc(sizeof *p + len);
        if (p == NULL) {
            cnt_add(&w->cnt, C_WS_DROPPED, (uint64_t)(t->n_threads - 1));
        } else {
            atomic_init(&p->refs, 1);
            p->opcode = opcode;
            p->name_len = r->name_len;
            memcpy(p->name, r->name, r->name_len);
            p->len = len;
            memcpy(p->data, payload, len);
            /* An inbox counts what its posts hold (the allocation, not just the payload),
             * so many tiny messages cannot pass the cap either. */
            size_t cost = sizeof *p + len;
            for (int i = 0; i < t->n_threads; i++) {
                struct server_thread *o = &t->threads[i];
                if (o == w) {
                    continue;
                }
                bool queued = false;
                pthread_mutex_lock(&o->inbox_lock);
                if (o->inbox_bytes + cost <= SRV_WS_INBOX_MAX) {
                    if (o->inbox_n == o->inbox_cap) {
                        size_t cap = o->inbox_cap ? o->inbox_cap * 2 : 64;
                        struct srv_ws_post **a = realloc(o->inbox, cap * sizeof *a);
                        if (a != NULL) {
                            o->inbox = a;
                            o->inbox_cap = cap;
                        }
                    }
                    if (o->inbox_n < o->inbox_cap) {
                        atomic_fetch_add(&p->refs, 1);
                        o->inbox[o->inbox_n++] = p;
                        o->inbox_bytes += cost;
                        queued = true;
                    }
                }
                pthread_mutex_unlock(&o->inbox_lock);
                if (!queued) {
                    cnt_add(&w->cnt, C_WS_DROPPED, 1);
                    continue;
                }
                uint64_t one = 1;
                if (write(o->inbox_io.fd, &one, sizeof one) < 0) {
                    /* the counter is non-zero already: the thread will look anyway */
                }
            }
            post_unref(p);
        }
    }
    room_deliver(w, r->name, r->name_len, opcode, payload, len);
}

static void inbox_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    (void)events;
    struct server_thread *w = io->data;
    uint64_t n;
    if (read(io->fd, &n, sizeof n) < 0) {
        /* nothing new: a wake-up for posts taken already */
    }
    pthread_mutex_lock(&w->inbox_lock);
    struct srv_ws_post **a = w->inbox;
    size_t na = w->inbox_n;
    w->inbox = NULL;
    w->inbox_n = w->inbox_cap = w->inbox_bytes = 0;
    pthread_mutex_unlock(&w->inbox_lock);
    for (size_t i = 0; i < na; i++) {
        struct srv_ws_post *p = a[i];
        room_deliver(w, p->name, p->name_len, p->opcode, p->data, p->len);
        post_unref(p);
    }
    free(a);
    server__ws_kick_drain(w);
}

int server__ws_thread_init(struct server_thread *w)
{
    w->inbox_io.fd = -1;
    if (w->t->n_threads < 2) {
        return 0;
    }
    pthread_mutex_init(&w->inbox_lock, NULL);
    w->inbox_lock_init = true;
    w->inbox_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->inbox_io.fd < 0) {
        return -errno;
    }
    w->inbox_io.cb = inbox_cb;
    w->inbox_io.data = w;
    return loop_io_set(w->loop, &w->inbox_io, LOOP_READ);
}

void server__ws_thread_destroy(struct server_thread *w)
{
    if (w->inbox_io.fd >= 0) {
        if (w->loop != NULL) {
            loop_io_del(w->loop, &w->inbox_io);
        }
        close(w->inbox_io.fd);
        w->inbox_io.fd = -1;
    }
    for (size_t i = 0; i < w->inbox_n; i++) {
        post_unref(w->inbox[i]);
    }
    free(w->inbox);
    w->inbox = NULL;
    w->inbox_n = w->inbox_cap = 0;
    if (w->inbox_lock_init) {
        pthread_mutex_destroy(&w->inbox_lock);
        w->inbox_lock_init = false;
    }
}

/* ---- the session ------------------------------------------------------------------ */

int server__ws_upgrade(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    const char *key, *why;
    size_t key_len;
    int st = rq->is_head ? 400 : server__ws_check_upgrade(rq->h, &key, &key_len, &why);
    if (rq->is_head) {
        why = "a WebSocket upgrade needs GET";
    }
    if (st == 0 && rq->route == R_WS_ROOM && !server__ws_room_name_ok(rq->param, rq->param_len)) {
        st = 400;
        why = "a room name is 1-64 of A-Z a-z 0-9 . _ ~ -";
    }
    if (st != 0) {
        server__body_reset(w);
        server__body_adds(w, "{\"error\":\"");
        server__body_adds(w, why);
        server__body_adds(w, "\"}");
        server__respond(c, rq, st, "application/json",
                        st == 426 ? "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                  : NULL,
                        false);
        return st;
    }
    char accept[WS_ACCEPT_BYTES + 1];
    struct srv_ws *s = calloc(1, sizeof *s);
    if (s == NULL || ws_accept_make(key, key_len, accept) < 0 ||
        (rq->route == R_WS_ROOM && room_join(w, s, rq->param, rq->param_len) < 0)) {
        free(s);
        return server__respond_error(c, rq, 503, "out of memory");
    }
    s->c = c;
    c->ws = s;
    cnt_add(&w->cnt, C_WS_OPENED, 1);
    atomic_fetch_add(&w->t->ws_open, 1);
    server__out_addf(c,
                     "HTTP/1.1 101 Switching Protocols\r\nServer: brunt\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    return 101;
}

void server__ws_free(struct conn *c)
{
    struct srv_ws *s = c->ws;
    if (s == NULL) {
        return;
    }
    room_leave(c->w, s);
    kick_del(c->w, s);
    free(s->msg.p);
    free(s);
    c->ws = NULL;
    cnt_add(&c->w->cnt, C_WS_CLOSED, 1);
    atomic_fetch_sub(&c->w->t->ws_open, 1);
}

/* A whole data message: checked, counted, echoed or broadcast. */
static void message_in(struct conn *c, uint8_t opcode, const uint8_t *payload, size_t len)
{
    if (opcode == WS_OP_TEXT && utf8_validate((const char *)payload, len, NULL) != 0) {
        close_error(c, 1007, "text is not UTF-8");
        return;
    }
    cnt_add(&c->w->cnt, C_WS_MSG_IN, 1);
    cnt_add(&c->w->cnt, C_WS_BYTES_IN, len);
    if (c->ws->room != NULL) {
        room_broadcast(c, opcode, payload, len);
    } else {
        message_out(c, opcode, payload, len);
    }
}

/* One whole frame, unmasked.  Returns 0, or -1 when the session is closing. */
static int frame_in(struct conn *c, const struct ws_frame *f, uint8_t *payload, size_t len)
{
    struct srv_ws *s = c->ws;
    uint8_t op;
    int part = ws_assembly_add(&s->asm_, f, &op);
    if (part < 0) {
        close_error(c, 1002, "fragments out of order");
        return -1;
    }
    if (part == WS_PART_CONTROL) {
        if (op == WS_OP_PING) {
            cnt_add(&c->w->cnt, C_WS_PINGS, 1);
            (void)frame_out(c, WS_OP_PONG, payload, len);
        } else if (op == WS_OP_PONG) {
            cnt_add(&c->w->cnt, C_WS_PONGS, 1);
        } else {
            cnt_add(&c->w->cnt, C_WS_CLOSE_RECV, 1);
            int code = server__ws_close_code(payload, len);
            if (code == 1002 || code == 1007) {
                close_error(c, code, "bad close frame");
            } else {
                close_out(c, code, NULL, 0);
            }
            return -1;
        }
        return 0;
    }
    if (part == WS_PART_MORE || s->fragmented) {
        cnt_add(&c->w->cnt, C_WS_FRAGMENTS, 1);
        if (s->msg.len + len > SRV_WS_MAX_MESSAGE) {
            close_error(c, 1009, "message too large");
            return -1;
        }
        if (server__tbuf_grow(&s->msg, s->msg.len + len) < 0) {
            close_error(c, 1011, "out of memory");
            return -1;
        }
        if (len > 0) {
            memcpy(s->msg.p + s->msg.len, payload, len);
        }
        s->msg.len += len;
        s->fragmented = true;
        if (part == WS_PART_MORE) {
            return 0;
        }
        message_in(c, op, (const uint8_t *)s->msg.p, s->msg.len);
        free(s->msg.p);
        s->msg = (struct tbuf){0};
        s->fragmented = false;
        return 0;
    }
    message_in(c, op, payload, len);
    return 0;
}

int server__ws_process(struct conn *c)
{
    struct srv_ws *s = c->ws;
    int handled = 0;
    while (!server__conn_blocked(c) && !s->close_sent) {
        size_t avail = c->in.len - c->in_off;
        if (avail == 0) {
            break;
        }
        uint8_t *p = (uint8_t *)c->in.p + c->in_off;
        struct ws_frame f;
        int n = ws_frame_parse(p, avail, true, SRV_WS_MAX_MESSAGE, &f);
        if (n == WS_PARTIAL) {
            break;
        }
        if (n < 0) {
            /* Nothing more of this input will be read: give it back. */
            c->in_off = c->in.len;
            if (n == WS_ETOOLARGE) {
                close_error(c, 1009, "message too large");
            } else {
                close_error(c, 1002, f.masked ? "bad frame" : "client frames must be masked");
            }
            handled++;
            break;
        }
        if (avail - (size_t)n < f.payload_len) {
            break; /* wait for the whole payload (the input grows to SRV_IN_MAX) */
        }
        size_t len = (size_t)f.payload_len;
        uint8_t *payload = p + n;
        ws_mask(payload, len, f.mask, 0);
        c->in_off += (size_t)n + len;
        handled++;
        if (frame_in(c, &f, payload, len) < 0) {
            c->in_off = c->in.len;
            break;
        }
    }
    return handled;
}

/* ---- /__stats --------------------------------------------------------------------- */

void server__ws_stats_json(struct server *t, const uint64_t *s, struct jsonw *w)
{
    static const struct {
        const char *name;
        int idx;
    } sess[] = {{"opened", C_WS_OPENED}, {"closed", C_WS_CLOSED}},
      msgs[] = {{"received", C_WS_MSG_IN},         {"sent", C_WS_MSG_OUT},
                {"bytes_received", C_WS_BYTES_IN}, {"bytes_sent", C_WS_BYTES_OUT},
                {"fragments", C_WS_FRAGMENTS},     {"dropped", C_WS_DROPPED}},
      ctrl[] = {{"pings", C_WS_PINGS}, {"pongs", C_WS_PONGS}, {"closes_received", C_WS_CLOSE_RECV}},
      codes[] = {{"1000", C_WS_CLOSE_1000},
                 {"1002", C_WS_CLOSE_1002},
                 {"1007", C_WS_CLOSE_1007},
                 {"1009", C_WS_CLOSE_1009},
                 {"other", C_WS_CLOSE_OTHER}};
    jsonw_key(w, "websocket");
    jsonw_obj_begin(w);
    jsonw_key(w, "sessions");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < sizeof sess / sizeof sess[0]; i++) {
        jsonw_key(w, sess[i].name);
        jsonw_uint(w, s[sess[i].idx]);
    }
    jsonw_key(w, "open");
    jsonw_int(w, atomic_load(&t->ws_open));
    jsonw_obj_end(w);
    jsonw_key(w, "messages");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        jsonw_key(w, msgs[i].name);
        jsonw_uint(w, s[msgs[i].idx]);
    }
    jsonw_obj_end(w);
    for (size_t i = 0; i < sizeof ctrl / sizeof ctrl[0]; i++) {
        jsonw_key(w, ctrl[i].name);
        jsonw_uint(w, s[ctrl[i].idx]);
    }
    jsonw_key(w, "closes_sent");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        jsonw_key(w, codes[i].name);
        jsonw_uint(w, s[codes[i].idx]);
    }
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}
