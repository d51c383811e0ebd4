/*
 * conn — one connection of `brunt serve`: reading requests, writing answers.
 *
 * An idle connection holds no buffer.  Bytes are read into a per-thread scratch buffer
 * and requests are handled straight from it; only the bytes of a request that is not
 * complete yet (or that must wait behind a held answer) are copied into a buffer of the
 * connection's own, which grows while the request is read (at most a head of
 * HTTP1_MAX_HEAD_BYTES plus a body of SRV_MAX_BODY) and is freed once it is empty.
 * Answers are likewise built in a per-thread scratch buffer and only what the socket
 * does not take at once is kept.  Pipelined requests are answered in order: requests
 * are handled as long as nothing is held back (a delayed answer, a streamed body, a
 * paced body, more than SRV_OUT_HIGH bytes unsent); then reading stops until it is.
 * A close is lingering: the peer is drained for SRV_LINGER_NS so it sees the answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/json.h"
#include "core/rng.h"
#include "server/server_internal.h"

static char pattern[SRV_READ_CHUNK + 64]; /* /bytes payload: 'a'..'z' repeating */
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_fill(void)
{
    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = (char)('a' + i % 26);
    }
}

void server__pattern_init(void)
{
    pthread_once(&pattern_once, pattern_fill);
}

/* ---- buffers ---------------------------------------------------------------------- */

/* Grows an owned (non-borrowed) buffer to hold `need` bytes.  Returns 0 or -ENOMEM. */
int server__tbuf_grow(struct tbuf *b, size_t need)
{
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        return -ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Makes room for `extra` more bytes of output.  Returns 0 or -ENOMEM / -E2BIG. */
int server__out_reserve(struct conn *c, size_t extra)
{
    struct server_thread *w = c->w;
    struct tbuf *b = &c->out;
    if (b->p == NULL) {
        if (!w->out_scratch_busy && extra <= SRV_OUT_SCRATCH) {
            w->out_scratch_busy = true;
            b->p = w->out_scratch;
            b->cap = SRV_OUT_SCRATCH;
            b->borrowed = true;
            b->len = 0;
            return 0;
        }
    }
    if (b->len + extra <= b->cap) {
        return 0;
    }
    /* Drop what was sent already before growing. */
    if (c->out_sent > 0) {
        size_t s = c->out_sent;
        memmove(b->p, b->p + s, b->len - s);
        b->len -= s;
        c->out_sent = 0;
        if (c->out_hold != NONE) {
            c->out_hold -= s;
        }
        if (c->paced_from != NONE) {
            c->paced_from = c->paced_from > s ? c->paced_from - s : 0;
        }
        if (b->len + extra <= b->cap) {
            return 0;
        }
    }
    if (b->len + extra > SRV_OUT_MAX) {
        return -E2BIG;
    }
    if (b->borrowed) {
        size_t cap = SRV_OUT_SCRATCH * 2;
        while (cap < b->len + extra) {
            cap *= 2;
        }
        char *p = malloc(cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
        b->borrowed = false;
        w->out_scratch_busy = false;
        return 0;
    }
    return server__tbuf_grow(b, b->len + extra);
}

void server__out_add(struct conn *c, const char *s, size_t n)
{
    if (server__out_reserve(c, n) < 0) {
        c->dead = true; /* out of memory: drop the connection rather than lie */
        return;
    }
    memcpy(c->out.p + c->out.len, s, n);
    c->out.len += n;
}

__attribute__((format(printf, 2, 3))) void server__out_addf(struct conn *c, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        server__out_add(c, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* Appends a string literal (its length known at compile time). */

static size_t out_pending(const struct conn *c)
{
    return c->out.len - c->out_sent;
}

/* ---- reading requests ------------------------------------------------------------- */

bool server__conn_blocked(const struct conn *c)
{
    return c->dead || c->close_after != CLOSE_NONE || c->lingering || c->out_hold != NONE ||
           c->streaming || out_pending(c) > SRV_OUT_HIGH || (c->pacing && out_pending(c) > 0);
}

/*
 * Handles every complete request in the input, in order, while nothing holds the
 * connection back.  Returns the number of requests handled (counting rejections).
 */
static int conn_process(struct conn *c)
{
    struct http1_request h;
    int handled = 0;
    while (!server__conn_blocked(c)) {
        if (c->ws != NULL) {
            return handled + server__ws_process(c); /* upgraded: frames from here on */
        }
        char *buf = c->in.p;
        if (c->rstate == RS_HEAD) {
            size_t avail = c->in.len - c->in_off;
            if (avail == 0) {
                break;
            }
            /* Parse only when a new line completed (or the cap is reached). */
            size_t from = c->scan_from > c->in_off ? c->scan_from : c->in_off;
            if (avail < HTTP1_MAX_HEAD_BYTES &&
                memchr(buf + from, '\n', c->in.len - from) == NULL) {
                c->scan_from = c->in.len;
                break;
            }
            int n = http1_parse_request(buf + c->in_off, avail, &h);
            if (n == HTTP1_PARTIAL) {
                c->scan_from = c->in.len;
                break;
            }
            if (n == HTTP1_ETOOLARGE || n == HTTP1_ETOOMANY) {
                server__reject(c, R_INVALID, 431, "request head too large");
                handled++;
                break;
            }
            if (n < 0) {
                server__reject(c, R_INVALID, 400, "malformed request");
                handled++;
                break;
            }
            c->head_len = (size_t)n;
            c->scan_from = 0;
            if (h.framing == HTTP1_BODY_NONE) {
                c->in_off += (size_t)n;
                server__dispatch(c, &h, buf + c->in_off, 0);
                handled++;
                continue;
            }
            struct req rq = {.path = h.target, .path_len = h.target_len};
            const char *q = memchr(h.target, '?', h.target_len);
            if (q != NULL) {
                rq.path_len = (size_t)(q - h.target);
            }
            server__route_match(&rq);
            c->head_route = rq.route == R_STATS || rq.route == R_RESET ? R_UNMATCHED : rq.route;
            c->clen = h.content_length;
            if (h.framing == HTTP1_BODY_LENGTH && h.content_length > SRV_MAX_BODY) {
                server__reject(c, (enum route)c->head_route, 413, "request body too large");
                handled++;
                break;
            }
            http1_body_init(&c->body, h.framing, h.content_length);
            c->rstate = RS_BODY;
            c->body_r = c->body_w = c->in_off + (size_t)n;
            if (h.expect_continue &&
                !(h.framing == HTTP1_BODY_LENGTH && c->in.len - c->body_r >= h.content_length)) {
                OUT_LIT(c, "HTTP/1.1 100 Continue\r\n\r\n");
            }
        }
        /* RS_BODY: decode what arrived; chunked payload is compacted in place. */
        while (c->body_r < c->in.len && !http1_body_done(&c->body)) {
            const char *data = NULL;
            size_t dlen = 0;
            ssize_t k =
                http1_body_feed(&c->body, buf + c->body_r, c->in.len - c->body_r, &data, &dlen);
            if (k < 0) {
                c->rstate = RS_HEAD;
                server__reject(c, R_INVALID, 400, "malformed request body");
                return handled + 1;
            }
            if (dlen > 0) {
                if (c->body_w - (c->in_off + c->head_len) + dlen > SRV_MAX_BODY) {
                    c->rstate = RS_HEAD;
                    server__reject(c, (enum route)c->head_route, 413, "request body too large");
                    return handled + 1;
                }
                if (buf + c->body_w != data) {
                    memmove(buf + c->body_w, data, dlen);
                }
                c->body_w += dlen;
            }
            c->body_r += (size_t)k;
        }
        if (c->body_r > c->body_w) {
            /* Give back the chunk framing the decode skipped, so the buffer grows with
             * the payload (capped at SRV_MAX_BODY), not with the bytes on the wire. */
            memmove(buf + c->body_w, buf + c->body_r, c->in.len - c->body_r);
            c->in.len -= c->body_r - c->body_w;
            c->body_r = c->body_w;
        }
        if (!http1_body_done(&c->body)) {
            break;
        }
        /* Whole: parse the head again (it is unchanged) and handle the request. */
        int n = http1_parse_request(buf + c->in_off, c->head_len, &h);
        c->rstate = RS_HEAD;
        size_t body_off = c->in_off + c->head_len;
        size_t body_len = c->body_w - body_off;
        c->in_off = c->body_r;
        if (n != (int)c->head_len) {
            server__reject(c, R_INVALID, 400, "malformed request");
            return handled + 1;
        }
        server__dispatch(c, &h, buf + body_off, body_len);
        handled++;
    }
    return handled;
}

/* Shifts the input so the current request starts at offset 0. */
static void in_compact(struct conn *c)
{
    size_t s = c->in_off;
    if (s == 0) {
        return;
    }
    memmove(c->in.p, c->in.p + s, c->in.len - s);
    c->in.len -= s;
    c->in_off = 0;
    c->scan_from = c->scan_from > s ? c->scan_from - s : 0;
    if (c->rstate == RS_BODY) {
        c->body_r -= s;
        c->body_w -= s;
    }
}

/* Gives back the read scratch: the unhandled bytes move to a buffer of the connection. */
static void in_unborrow(struct conn *c)
{
    if (!c->in.borrowed) {
        return;
    }
    struct server_thread *w = c->w;
    size_t keep = c->in.len - c->in_off;
    char *p = NULL;
    size_t cap = 0;
    if (keep > 0 && !c->dead) {
        cap = keep < 2048 ? 4096 : keep * 2;
        if (c->rstate == RS_BODY && c->body.framing == HTTP1_BODY_LENGTH) {
            size_t want = c->head_len + (size_t)c->clen + 1024;
            if (want > cap) {
                cap = want;
            }
        }
        if (cap > SRV_IN_MAX) {
            cap = SRV_IN_MAX;
        }
        p = malloc(cap);
        if (p == NULL) {
            c->dead = true;
            cap = 0;
        } else {
            in_compact(c);
            memcpy(p, c->in.p, c->in.len);
        }
    }
    if (p == NULL) {
        c->in.len = 0;
        c->in_off = 0;
        c->scan_from = 0;
        c->rstate = RS_HEAD;
    }
    c->in.p = p;
    c->in.cap = cap;
    c->in.borrowed = false;
    w->in_scratch_busy = false;
}

/* Makes room to read; returns the free space (0 when the buffer is at its cap). */
static size_t in_make_room(struct conn *c)
{
    struct server_thread *w = c->w;
    if (c->in.borrowed && c->in.cap - c->in.len < 1024) {
        in_compact(c);
        if (c->in.cap - c->in.len < 1024) {
            in_unborrow(c); /* a large request: continue in a buffer of its own */
            if (c->dead) {
                return 0;
            }
        }
    }
    if (c->in.p == NULL) {
        if (!w->in_scratch_busy) {
            w->in_scratch_busy = true;
            c->in.p = w->in_scratch;
            c->in.cap = SRV_READ_CHUNK;
            c->in.borrowed = true;
        } else if (server__tbuf_grow(&c->in, 4096) < 0) {
            c->dead = true;
            return 0;
        }
        c->in.len = c->in_off = c->scan_from = 0;
    }
    if (c->in.cap - c->in.len >= 1024) {
        return c->in.cap - c->in.len;
    }
    in_compact(c);
    if (c->in.cap - c->in.len >= 1024 || c->in.borrowed) {
        return c->in.cap - c->in.len;
    }
    size_t need = c->in.cap * 2;
    if (need > SRV_IN_MAX) {
        need = SRV_IN_MAX;
    }
    if (need > c->in.cap && server__tbuf_grow(&c->in, need) < 0) {
        c->dead = true;
        return 0;
    }
    if (c->in.cap == c->in.len) {
        c->dead = true; /* cannot happen within the head and body caps; never spin */
    }
    return c->in.cap - c->in.len;
}

/* Reads and handles what arrived; returns the bytes read (not while lingering). */
static size_t conn_read(struct conn *c)
{
    struct server_thread *w = c->w;
    size_t got = 0;
    if (c->lingering) {
        for (;;) {
            ssize_t n = read(c->io.fd, w->in_scratch, SRV_READ_CHUNK);
            if (n > 0) {
                c->linger_bytes += (uint64_t)n;
                if (c->linger_bytes > SRV_LINGER_BYTES) {
                    c->dead = true;
                    return 0;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                c->dead = true;
            }
            return 0;
        }
    }
    for (int i = 0; i < 16; i++) {
        if (server__conn_blocked(c) || c->peer_eof) {
            break;
        }
        size_t room = in_make_room(c);
        if (room == 0) {
            break;
        }
        ssize_t n = c->w->t->io->recv(c, c->in.p + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            got += (size_t)n;
            conn_process(c);
            if ((size_t)n < room && server__tls_pending(c) == 0) {
                break;
            }
            continue;
        }
        if (n == 0) {
            c->peer_eof = true;
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->dead = true;
        }
        break;
    }
    in_unborrow(c);
    return got;
}

/* ---- writing answers -------------------------------------------------------------- */

static void held_add(struct conn *c)
{
    struct server_thread *w = c->w;
    if (c->on_held) {
        return;
    }
    c->on_held = true;
    c->held_prev = NULL;
    c->held_next = w->held;
    if (w->held != NULL) {
        w->held->held_prev = c;
    }
    w->held = c;
}

void server__held_del(struct conn *c)
{
    if (!c->on_held) {
        return;
    }
    if (c->held_prev != NULL) {
        c->held_prev->held_next = c->held_next;
    } else {
        c->w->held = c->held_next;
    }
    if (c->held_next != NULL) {
        c->held_next->held_prev = c->held_prev;
    }
    c->on_held = false;
}

/* Body bytes the pace allows now (SIZE_MAX when unpaced). */
static uint64_t pace_budget(struct conn *c)
{
    uint64_t rate = c->w->t->o.slow_body_bytes_per_s;
    if (!c->pacing || rate == 0) {
        return UINT64_MAX;
    }
    uint64_t burst = rate / 100 > 0 ? rate / 100 : 1;
    double elapsed = (double)(loop_now_ns(c->w->loop) - c->pace_start_ns) / 1e9;
    double allowed = (double)rate * elapsed + (double)burst;
    if (allowed <= (double)c->pace_sent) {
        return 0;
    }
    double b = allowed - (double)c->pace_sent;
    return b > 1e18 ? UINT64_MAX : (uint64_t)b;
}

/* Waits until the pace allows another burst. */
static void pace_wait(struct conn *c)
{
    uint64_t rate = c->w->t->o.slow_body_bytes_per_s;
    double wait_ns = (double)c->pace_sent * 1e9 / (double)rate;
    c->timer_kind = T_PACE;
    loop_timer_start(c->w->loop, &c->timer, c->pace_start_ns + (uint64_t)wait_ns + 1);
}

/* Appends the next chunk of a chunked stream (or its last chunk and trailer). */
static void stream_next_chunk(struct conn *c)
{
    char line[64];
    uint64_t n = c->stream_left < c->chunk_size ? c->stream_left : c->chunk_size;
    const char *ext = c->stream_first ? ";brunt=first" : "";
    c->stream_first = false;
    if (n == 0) {
        int k = snprintf(line, sizeof line, "0%s\r\nX-Trailer: done\r\n\r\n", ext);
        server__out_add(c, line, (size_t)k);
        c->streaming = false;
        return;
    }
    int k = snprintf(line, sizeof line, "%llx%s\r\n", (unsigned long long)n, ext);
    if (server__out_reserve(c, (size_t)k + n + 2) < 0) {
        c->dead = true;
        return;
    }
    server__out_add(c, line, (size_t)k);
    uint64_t left = n;
    while (left > 0) {
        size_t off = (size_t)(c->stream_pos % 26);
        size_t piece = left < SRV_READ_CHUNK ? (size_t)left : SRV_READ_CHUNK;
        server__out_add(c, pattern + off, piece);
        c->stream_pos += piece;
        left -= piece;
    }
    OUT_LIT(c, "\r\n");
    c->stream_left -= n;
}

/*
 * Writes what may be written now: output up to a held answer, paced body bytes as the
 * pace allows, then the streamed body.  Nothing while the server is stalled.
 */
static void conn_flush(struct conn *c)
{
    struct server_thread *w = c->w;
    c->want_write = false;
    while (!c->dead) {
        size_t end = c->out.len;
        if (c->out_hold != NONE && c->out_hold < end) {
            end = c->out_hold;
        }
        bool have = c->out_sent < end || (c->out_hold == NONE && c->streaming);
        if (!have) {
            return;
        }
        if (w->stalled) {
            held_add(c);
            return;
        }
        uint64_t budget = pace_budget(c);
        const char *src;
        size_t n;
        size_t body_start; /* bytes of this write before the paced part */
        bool from_stream = false;
        if (c->out_sent < end) {
            src = c->out.p + c->out_sent;
            n = end - c->out_sent;
            body_start = n;
            if (c->pacing && c->paced_from != NONE && end > c->paced_from) {
                body_start = c->paced_from > c->out_sent ? c->paced_from - c->out_sent : 0;
                if (n - body_start > budget) {
                    n = body_start + (size_t)budget;
                }
            }
        } else if (c->stream_chunked) {
            stream_next_chunk(c);
            continue;
        } else {
            if (c->stream_left == 0) {
                c->streaming = false;
                continue;
            }
            from_stream = true;
            src = pattern + c->stream_pos % 26;
            n = c->stream_left < SRV_READ_CHUNK ? (size_t)c->stream_left : SRV_READ_CHUNK;
            body_start = 0;
            if (n > budget) {
                n = (size_t)budget;
            }
        }
        if (n == 0) {
            pace_wait(c);
            return;
        }
        ssize_t k = w->t->io->send(c, src, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->want_write = !c->tls_wants_read;
            } else {
                c->dead = true;
            }
            return;
        }
        if ((size_t)k > body_start) {
            c->pace_sent += (size_t)k - body_start;
        }
        if (from_stream) {
            c->stream_pos += (uint64_t)k;
            c->stream_left -= (uint64_t)k;
            if (c->stream_left == 0) {
                c->streaming = false;
            }
        } else {
            c->out_sent += (size_t)k;
            if (c->out_sent == c->out.len) {
                c->out_sent = c->out.len = 0;
                if (c->out_hold != NONE) {
                    c->out_hold = 0;
                }
                c->paced_from = c->pacing ? 0 : NONE;
            }
        }
    }
}

/* ---- connection lifetime ---------------------------------------------------------- */

struct conn *server__conn_new(struct server_thread *w, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->w = w;
    c->io.fd = fd;
    if (server__tls_conn_init(c) < 0) {
        server__tls_conn_free(c);
        free(c);
        return NULL;
    }
    c->io.cb = server__conn_io_cb;
    c->io.data = c;
    c->timer.cb = server__conn_timer_cb;
    c->timer.data = c;
    c->out_hold = NONE;
    c->paced_from = NONE;
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    return c;
}

void server__conn_destroy(struct conn *c)
{
    struct server_thread *w = c->w;
    if (c->out_hold != NONE) {
        server__count_status(w, KEY_UNANSWERED);
    }
    server__ws_free(c);
    loop_io_del(w->loop, &c->io);
    loop_timer_stop(w->loop, &c->timer);
    server__tls_conn_free(c);
    close(c->io.fd);
    server__held_del(c);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    if (c->in.borrowed) {
        w->in_scratch_busy = false;
    } else {
        free(c->in.p);
    }
    if (c->out.borrowed) {
        w->out_scratch_busy = false;
    } else {
        free(c->out.p);
    }
    atomic_fetch_sub(&w->t->open_conns, 1);
    free(c);
}

static void conn_close_now(struct conn *c, enum close_mode mode)
{
    if (mode == CLOSE_RESET) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        c->dead = true;
        return;
    }
    if (c->peer_eof) {
        c->dead = true;
        return;
    }
    /* Lingering close: stop sending, then drain what the peer still sends, so the last
     * answer is not destroyed by a reset triggered by unread input. */
    server__tls_close_notify(c);
    if (shutdown(c->io.fd, SHUT_WR) < 0) {
        c->dead = true;
        return;
    }
    c->lingering = true;
    c->timer_kind = T_LINGER;
    loop_timer_start(c->w->loop, &c->timer, loop_now_ns(c->w->loop) + SRV_LINGER_NS);
}

/*
 * Brings a connection up to date after any event: flushes, handles requests that
 * were waiting, applies a pending close, gives back scratch buffers, and sets the
 * events to watch.  May free c.
 */
void server__conn_update_one(struct conn *c)
{
    struct server_thread *w = c->w;
    for (;;) {
        if (c->dead) {
            server__conn_destroy(c);
            return;
        }
        conn_flush(c);
        if (c->dead) {
            continue;
        }
        bool idle_out = out_pending(c) == 0 && !c->streaming && c->out_hold == NONE;
        if (!idle_out || c->lingering) {
            break;
        }
        if (c->close_after != CLOSE_NONE) {
            enum close_mode m = c->close_after;
            c->close_after = CLOSE_NONE;
            conn_close_now(c, m);
            if (c->dead) {
                continue;
            }
            break;
        }
        if (c->in.p != NULL && c->in.len > c->in_off && conn_process(c) > 0) {
            continue;
        }
        /* Requests OpenSSL decrypted already raise no epoll event: read them now. */
        if (server__tls_pending(c) > 0 && !server__conn_blocked(c) && !c->peer_eof &&
            conn_read(c) > 0) {
            continue;
        }
        if (c->peer_eof) {
            c->dead = true;
            continue;
        }
        break;
    }
    if (c->in.p != NULL && c->in.len == c->in_off && c->rstate == RS_HEAD && !c->in.borrowed) {
        free(c->in.p);
        c->in.p = NULL;
        c->in.len = c->in.cap = c->in_off = c->scan_from = 0;
    }
    if (c->out.p != NULL && out_pending(c) == 0 && c->out_hold == NONE) {
        if (c->out.borrowed) {
            w->out_scratch_busy = false;
        } else {
            free(c->out.p);
        }
        c->out.p = NULL;
        c->out.len = c->out.cap = c->out_sent = 0;
        c->out.borrowed = false;
        c->paced_from = NONE;
    } else if (c->out.borrowed) {
        /* Keep only the unsent part, in a buffer of the connection's own. */
        size_t keep = c->out.len - c->out_sent;
        size_t cap = keep < 4096 ? 4096 : keep;
        char *p = malloc(cap);
        if (p == NULL) {
            c->dead = true;
            server__conn_destroy(c);
            return;
        }
        memcpy(p, c->out.p + c->out_sent, keep);
        if (c->out_hold != NONE) {
            c->out_hold -= c->out_sent;
        }
        if (c->paced_from != NONE) {
            c->paced_from = c->paced_from > c->out_sent ? c->paced_from - c->out_sent : 0;
        }
        c->out.p = p;
        c->out.len = keep;
        c->out.cap = cap;
        c->out_sent = 0;
        c->out.borrowed = false;
        w->out_scratch_busy = false;
    }
    if (c->pacing && out_pending(c) == 0 && !c->streaming && c->out_hold == NONE) {
        c->pacing = false;
        c->paced_from = NONE;
        if (c->timer_kind == T_PACE) {
            loop_timer_stop(w->loop, &c->timer);
            c->timer_kind = T_NONE;
        }
    }
    unsigned ev = 0;
    if (c->lingering || (!server__conn_blocked(c) && !c->peer_eof) || c->tls_wants_read) {
        ev |= LOOP_READ;
    }
    if (!c->tls_ready) {
        ev = c->tls_wants_write ? LOOP_WRITE : LOOP_READ; /* the handshake's direction */
    }
    if (c->want_write && !w->stalled) {
        ev |= LOOP_WRITE;
    }
    if (loop_io_set(w->loop, &c->io, ev) < 0) {
        server__conn_destroy(c);
    }
}

/* ... then the WebSocket sessions room deliveries gave output to, whatever c became. */
void server__conn_update(struct conn *c)
{
    struct server_thread *w = c->w;
    server__conn_update_one(c);
    server__ws_kick_drain(w);
}

void server__conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    struct conn *c = io->data;
    if (events & LOOP_ERROR) {
        c->dead = true;
    } else if (!c->tls_ready) {
        int r = server__tls_handshake(c);
        if (r < 0) {
            c->dead = true;
        } else if (r > 0) {
            (void)conn_read(c); /* the first request may have come with the Finished */
        }
    } else if (events & LOOP_READ) {
        (void)conn_read(c);
    }
    server__conn_update(c);
}

void server__conn_timer_cb(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct conn *c = timer->data;
    uint8_t kind = c->timer_kind;
    c->timer_kind = T_NONE;
    switch (kind) {
    case T_HOLD:
        server__hold_release(c);
        break;
    case T_LINGER:
        c->dead = true;
        break;
    default:
        break;
    }
    server__conn_update(c);
}
