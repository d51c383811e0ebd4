/*
 * conn_ws — WebSocket sessions (RFC 6455, client side) on a VU's connection: the
 * upgrade from an HTTP/1.1 GET, the frames of the steps that use the session (send,
 * wait for a matching message, ping, listen, close), and the session's metrics.
 *
 * The VU's connection is the session: a connect step closes whatever the VU had open,
 * connects over the origin's transport (TCP for ws://, TLS for wss://, conn.c does both)
 * and, once the transport is up, writes the upgrade (the step ops render the GET with
 * the VU's headers; the Upgrade, Connection, Sec-WebSocket-Key and -Version lines are
 * added here) and checks the 101 (http/ws.h: ws_upgrade_check).  From then on conn.c
 * hands the connection's events here until the session ends.
 *
 * Memory: a session is one struct ws_conn (under 400 bytes) beside the VU.  Frames are
 * read from the worker's shared read buffer; only bytes that cannot be used yet (a frame
 * that straddles reads, a fragmented message, frames that arrive while the VU is not in
 * a step that reads) are copied into a buffer of the session's, which is freed as soon
 * as it is empty, so an idle listener holds none.  Messages are consumed only during the
 * steps that read (wait, listen, close): what arrives between them is kept, at most
 * WS_HOLD_BYTES beyond a frame (past that it is consumed and counted, unmatched), so a
 * wait also sees the messages that came before it began.  Control frames are taken at
 * once (a ping answered, a close honoured) unless kept messages are ahead of them.
 *
 * Failures end the session and skip the rest of the iteration (its later steps would
 * have no session): a bad upgrade is errors{kind:ws_handshake}, a frame that breaks the
 * RFC ws_protocol, a server that ends the session without a close frame or with a code
 * other than 1000/1001 ws_closed, a wait or the upgrade that runs out of time timeout.
 * Only the worker's thread calls these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "engine/worker_internal.h"
#include "http/ws.h"

/* The largest frame (and reassembled message) taken; a larger one is ws_protocol. */
#define WS_MAX_MESSAGE_BYTES (1024u * 1024)
/* Bytes kept for a later step beyond the frame being read (see the top). */
#define WS_HOLD_BYTES (64u * 1024)
/* Room reserved before a message's payload in the send buffer for its frame head. */
#define WS_HEAD_ROOM WS_MAX_HEAD_BYTES
/* Reads whose times rx keeps (see rx_append): its frames are timed at their own read. */
#define WS_RX_MARKS 4

/* The series of a connect step's sessions (step_rt.ws). */
enum ws_series {
    WSS_SESSIONS,
    WSS_SENT,
    WSS_RECEIVED,
    WSS_DURATION,
    WSS_CONNECTING,
    WSS_PING,
    WSS_LATENCY,
    WSS_COUNT
};

enum ws_state { WSC_UPGRADING, WSC_OPEN, WSC_CLOSING };

struct ws_conn {
    enum ws_state state;
    uint32_t open_step; /* the connect step: its series */
    char accept[WS_ACCEPT_BYTES + 1];
    uint64_t t_open; /* the 101 arrived (0: not yet) */
    uint64_t t_msg;  /* the last message was written (0: none this session) */
    uint64_t t_ping; /* a ping is waiting for its pong (0: none) */
    uint64_t t_read; /* the clock at the last read: when what it brought arrived */
    bool out_step;   /* wbuf holds the current step's frame (or the upgrade) */
    bool advancing;  /* a step ended: consume nothing until the next one begins */
    bool close_sent, close_rcvd;
    uint16_t close_code;   /* the server's (1005: none given) */
    struct ws_assembly in; /* reassembly of the server's fragmented messages */
    uint8_t *rx;           /* bytes not consumed yet (lazily allocated, freed when empty) */
    size_t rx_len, rx_cap;
    struct {
        size_t end; /* rx[0..end) had arrived by t */
        uint64_t t;
    } rx_mark[WS_RX_MARKS];
    unsigned n_marks;
    uint8_t *msg; /* the fragments so far of a fragmented message (lazily) */
    size_t msg_len, msg_cap;
    /* A pong or close to write, and room for a close answer behind a pong that was tried. */
    uint8_t ctl[WS_MAX_HEAD_BYTES + WS_MAX_CONTROL_BYTES + WS_MAX_HEAD_BYTES + 2];
    size_t ctl_len, ctl_off;
    bool ctl_tried; /* ctl was passed to the transport: it is retried first, unchanged */
};

static const struct step *cur_step(const struct vu *vu)
{
    return vu->step < vu->sr->sc->n_steps ? &vu->sr->sc->steps[vu->step] : NULL;
}

static struct series *ws_series(struct vu *vu, enum ws_series k)
{
    return S(vu->w, vu->sr->steps[vu->ws->open_step].ws[k]);
}

void conn_ws_series_init(struct worker *w, struct step_rt *rt, const char *tags)
{
    static const int metric[WSS_COUNT] = {
        M_WS_SESSIONS,   M_WS_MSGS_SENT, M_WS_MSGS_RECEIVED, M_WS_SESSION_DURATION,
        M_WS_CONNECTING, M_WS_PING,      M_WS_MSG_LATENCY};
    for (int k = 0; k < WSS_COUNT; k++) {
        rt->ws[k] = series_for(w, metric[k], tags);
    }
}

/* The current step is over: the next one begins from the VU's timer (no recursion). */
static void ws_advance(struct vu *vu)
{
    if (vu->ws != NULL) {
        vu->ws->advancing = true;
    }
    vu_timer_cancel(vu);
    vu->step = vu->abort_iter ? (uint32_t)vu->sr->sc->n_steps : vu->step + 1;
    vu_timer(vu, VT_CONTINUE, loop_now_ns(vu->w->loop));
}

/* Counts an error of the current step's session in errors{kind}. */
static void ws_count_error(struct vu *vu, enum err_kind kind)
{
    series_add(S(vu->w, vu->sr->s_err[kind]), 1);
}

/* Lets the step ops see the end of a wait (status 0: it failed; checks count). */
static void ws_flow_done(struct vu *vu, int status, const char *msg, size_t len)
{
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    if (rt->on_done == NULL) {
        return;
    }
    enum step_verdict v = rt->on_done(rt->data, vu->sv, status, 0, msg, len, false, &vu->res);
    reqm_record_checks(vu);
    if (v == STEP_ABORT_ITERATION) {
        vu->abort_iter = true;
    }
}

/*
 * Fails the session: counted by kind, a wait's checks failed, the connection closed and
 * the rest of the iteration skipped.  The VU moves on through its timer.
 */
static void ws_fail(struct vu *vu, enum err_kind kind)
{
    const struct step *st = cur_step(vu);
    ws_count_error(vu, kind);
    if (st != NULL && st->kind == STEP_WS && st->ws_op == WS_STEP_WAIT) {
        ws_flow_done(vu, 0, NULL, 0);
    }
    vu->abort_iter = true;
    vu->inflight = 0;
    conn_close(vu);
    ws_advance(vu);
}

void conn_ws_fail(struct vu *vu, enum err_kind kind)
{
    if (kind == ERR_PROTOCOL && vu->ws != NULL && vu->ws->state == WSC_UPGRADING) {
        kind = ERR_WS_HANDSHAKE;
    }
    ws_count_error(vu, kind);
    const struct step *st = cur_step(vu);
    if (st != NULL && st->kind == STEP_WS && st->ws_op == WS_STEP_WAIT) {
        ws_flow_done(vu, 0, NULL, 0);
    }
    vu->abort_iter = true; /* fail_requests closes and moves on */
    if (vu->cstate == CONN_CLOSED) {
        conn_ws_free(vu); /* a connect that failed at once: conn_close will not see it */
    }
}

/* The messages whose last frame is whole in rx: received, though no step consumed them. */
static uint64_t rx_messages(const struct ws_conn *ws)
{
    uint64_t n = 0;
    size_t at = 0;
    while (at < ws->rx_len) {
        struct ws_frame f;
        int h = ws_frame_parse(ws->rx + at, ws->rx_len - at, false, WS_MAX_MESSAGE_BYTES, &f);
        if (h < 0 || f.payload_len > ws->rx_len - at - (size_t)h) {
            break;
        }
        n += f.fin && f.opcode < WS_OP_CLOSE;
        at += (size_t)h + (size_t)f.payload_len;
    }
    return n;
}

void conn_ws_free(struct vu *vu)
{
    struct ws_conn *ws = vu->ws;
    if (ws == NULL) {
        return;
    }
    uint64_t kept = ws->state == WSC_UPGRADING ? 0 : rx_messages(ws);
    if (kept > 0) {
        series_add(ws_series(vu, WSS_RECEIVED), (double)kept);
    }
    if (ws->t_open != 0) {
        series_trend_ns(ws_series(vu, WSS_DURATION), diff(loop_now_ns(vu->w->loop), ws->t_open));
    }
    conn_ws_discard(vu);
}

void conn_ws_discard(struct vu *vu)
{
    struct ws_conn *ws = vu->ws;
    if (ws == NULL) {
        return;
    }
    free(ws->rx);
    free(ws->msg);
    free(ws);
    vu->ws = NULL;
}

/* The session ended by the close handshake (or a close frame and the server's EOF). */
static void ws_end(struct vu *vu)
{
    struct ws_conn *ws = vu->ws;
    uint16_t code = ws->close_code;
    bool normal = !ws->close_rcvd || code == 1000 || code == 1001 || code == 1005;
    const struct step *st = cur_step(vu);
    bool in_close = st != NULL && st->kind == STEP_WS && st->ws_op == WS_STEP_CLOSE;
    bool advancing = ws->advancing;
    if (!normal) {
        ws_fail(vu, ERR_WS_CLOSED);
        return;
    }
    conn_close(vu);
    if (advancing || st == NULL || st->kind != STEP_WS) {
        return; /* between steps, or a sleep: a later step finds no session */
    }
    if (in_close || st->ws_op == WS_STEP_LISTEN) {
        ws_advance(vu); /* the close step is done; a listen ends with its session */
    } else {
        ws_fail(vu, ERR_WS_CLOSED); /* a wait before its message, a send not yet written */
    }
}

/*
 * Writes what is pending: the step's frame (wbuf), then a control frame.  0 when all is
 * written, 1 when waiting for the socket, or a negative errno.
 */
static int ws_write(struct vu *vu)
{
    struct ws_conn *ws = vu->ws;
    struct worker *w = vu->w;
    for (;;) {
        const char *p;
        size_t n;
        /* A control frame once tried goes on first with the same bytes: never interleaved,
         * and a TLS write that met a full socket must be retried as it was. */
        bool ctl_first = ws->ctl_tried && ws->ctl_off < ws->ctl_len;
        if (vu->woff < vu->wlen && !ctl_first) {
            p = vu->wbuf + vu->woff;
            n = vu->wlen - vu->woff;
        } else if (ws->ctl_off < ws->ctl_len) {
            p = (const char *)ws->ctl + ws->ctl_off;
            n = ws->ctl_len - ws->ctl_off;
            ws->ctl_tried = true;
        } else {
            break;
        }
        ssize_t k = vu->tops->write(&vu->tc, p, n);
        if (k == -EAGAIN) {
            return loop_io_set(w->loop, &vu->io, LOOP_READ | LOOP_WRITE) < 0 ? -ENOMEM : 1;
        }
        if (k < 0) {
            return (int)k;
        }
        series_add(S(w, vu->sr->s_sent), (double)k);
        if (vu->woff < vu->wlen && !ctl_first) {
            vu->woff += (size_t)k;
        } else if ((ws->ctl_off += (size_t)k) == ws->ctl_len) {
            ws->ctl_len = ws->ctl_off = 0; /* written: the next one may be queued */
            ws->ctl_tried = false;
        }
    }
    if (vu->io.events & LOOP_WRITE) {
        (void)loop_io_set(w->loop, &vu->io, LOOP_READ);
    }
    return 0;
}

/*
 * Queues a control frame (masked) after whatever is being written; it replaces one not
 * tried yet.  One that was tried is kept as it is (ws_write retries it first): a close
 * answer goes behind it, a pong is dropped (a pong answers the latest ping at most).
 */
static void ws_queue_control(struct vu *vu, uint8_t opcode, const uint8_t *payload, size_t len)
{
    struct ws_conn *ws = vu->ws;
    size_t at = 0;
    if (ws->ctl_tried) {
        if (opcode != WS_OP_CLOSE || ws->ctl_len + WS_MAX_HEAD_BYTES + len > sizeof ws->ctl) {
            return;
        }
        at = ws->ctl_len;
    }
    uint64_t r = rng_next(&vu->w->rng);
    uint8_t mask[4];
    memcpy(mask, &r, 4);
    size_t h = ws_frame_head(ws->ctl + at, true, opcode, len, mask);
    memcpy(ws->ctl + at + h, payload, len);
    ws_mask(ws->ctl + at + h, len, mask, 0);
    ws->ctl_len = at + h + len;
}

/* The step's frame was written whole: what the step does next. */
static void ws_step_written(struct vu *vu)
{
    struct ws_conn *ws = vu->ws;
    const struct step *st = cur_step(vu);
    ws->out_step = false;
    if (st == NULL || st->kind != STEP_WS) {
        return;
    }
    uint64_t now = loop_clock_ns(vu->w->loop);
    switch (st->ws_op) {
    case WS_STEP_SEND:
        ws->t_msg = now;
        series_add(ws_series(vu, WSS_SENT), 1);
        ws_advance(vu);
        break;
    case WS_STEP_PING:
        ws_advance(vu);
        break;
    case WS_STEP_CLOSE:
        ws->close_sent = true;
        if (ws->close_rcvd) {
            ws_end(vu);
        } else {
            uint64_t t = vu->sr->steps[vu->step].timeout_ns;
            vu_timer(vu, VT_WS, loop_now_ns(vu->w->loop) + (t ? t : vu->w->eng->plan->timeout_ns));
        }
        break;
    default:
        break; /* the upgrade: the 101 is awaited */
    }
}

/* Writes, and handles the outcome: false when the session failed (the VU moved on). */
static bool ws_flush(struct vu *vu)
{
    int rc = ws_write(vu);
    if (rc < 0) {
        ws_fail(vu, errno_kind(-rc));
        return false;
    }
    if (rc == 0 && vu->ws->out_step) {
        ws_step_written(vu);
    }
    return true;
}

/* Whether frames are consumed now: in a step that reads, and not between steps. */
static bool ws_consuming(const struct vu *vu)
{
    const struct step *st = cur_step(vu);
    if (vu->ws->advancing || st == NULL || st->kind != STEP_WS) {
        return false;
    }
    return st->ws_op == WS_STEP_WAIT || st->ws_op == WS_STEP_LISTEN || st->ws_op == WS_STEP_CLOSE;
}

/* The results of consuming frames. */
enum ws_outcome { WO_MORE, WO_MATCHED, WO_ENDED, WO_FAILED };

/* A whole message, its last frame read at t: counted, and matched when a wait runs. */
static enum ws_outcome ws_message(struct vu *vu, const uint8_t *msg, size_t len, bool binary,
                                  uint64_t t)
{
    struct ws_conn *ws = vu->ws;
    series_add(ws_series(vu, WSS_RECEIVED), 1);
    const struct step *st = cur_step(vu);
    if (ws->advancing || st == NULL || st->kind != STEP_WS || st->ws_op != WS_STEP_WAIT) {
        return WO_MORE;
    }
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    if (rt->ws_match != NULL && !rt->ws_match(rt->data, vu->sv, (const char *)msg, len, binary)) {
        return WO_MORE;
    }
    if (ws->t_msg != 0) {
        series_trend_ns(ws_series(vu, WSS_LATENCY), diff(t, ws->t_msg));
    }
    ws_flow_done(vu, 101, (const char *)msg, len);
    return WO_MATCHED;
}

/* A control frame read at t: a ping is answered, a pong timed, a close noted and answered. */
static enum ws_outcome ws_control(struct vu *vu, uint8_t op, const uint8_t *pl, size_t plen,
                                  uint64_t t, enum err_kind *kind)
{
    struct ws_conn *ws = vu->ws;
    if (op == WS_OP_PING) {
        ws_queue_control(vu, WS_OP_PONG, pl, plen);
        return WO_MORE;
    }
    if (op == WS_OP_PONG) {
        if (ws->t_ping != 0) {
            series_trend_ns(ws_series(vu, WSS_PING), diff(t, ws->t_ping));
            ws->t_ping = 0;
        }
        return WO_MORE;
    }
    if (plen == 1) {
        *kind = ERR_WS_PROTOCOL; /* a close payload is empty or starts with a code */
        return WO_FAILED;
    }
    ws->close_rcvd = true;
    ws->close_code = plen >= 2 ? (uint16_t)(pl[0] << 8 | pl[1]) : 1005;
    /* One close each way (RFC 6455 5.5.1, 7.1.2): none when ours is written or queued
     * (the close step's frame, which goes out before any control frame queued now). */
    if (!ws->close_sent && ws->state != WSC_CLOSING) {
        ws_queue_control(vu, WS_OP_CLOSE, pl, plen >= 2 ? 2 : 0);
        ws->close_sent = true;
    }
    return WO_ENDED;
}

/* When rx[0..end) had all arrived: the time of its read (of a later one, past the marks). */
static uint64_t rx_time(const struct ws_conn *ws, size_t end)
{
    for (unsigned i = 0; i < ws->n_marks; i++) {
        if (ws->rx_mark[i].end >= end) {
            return ws->rx_mark[i].t;
        }
    }
    return ws->t_read;
}

/*
 * Consumes whole frames from p[0..n) (*used says how many bytes): control frames always,
 * data frames while the step reads (or always, with force).  Stops at a partial frame,
 * at a data frame not read now, at a match, at the session's end or a failure (the
 * error kind in *kind).
 */
static enum ws_outcome ws_consume(struct vu *vu, const uint8_t *p, size_t n, size_t *used,
                                  enum err_kind *kind, bool force)
{
    struct ws_conn *ws = vu->ws;
    size_t at = 0;
    enum ws_outcome out = WO_MORE;
    bool kept = p == ws->rx; /* else p is the last read's */
    while (out == WO_MORE && at < n) {
        struct ws_frame f;
        int h = ws_frame_parse(p + at, n - at, false, WS_MAX_MESSAGE_BYTES, &f);
        if (h == WS_PARTIAL) {
            break;
        }
        if (h < 0) {
            *kind = ERR_WS_PROTOCOL;
            out = WO_FAILED;
            break;
        }
        if (f.payload_len > n - at - (size_t)h) {
            break; /* the payload is still coming */
        }
        if (f.opcode < WS_OP_CLOSE && !force && !ws_consuming(vu)) {
            break; /* data waits for a reading step; control frames ahead of it do not */
        }
        const uint8_t *pl = p + at + h;
        size_t plen = (size_t)f.payload_len;
        uint8_t op;
        int part = ws_assembly_add(&ws->in, &f, &op);
        if (part < 0) {
            *kind = ERR_WS_PROTOCOL;
            out = WO_FAILED;
            break;
        }
        at += (size_t)h + plen;
        uint64_t t = kept ? rx_time(ws, at) : ws->t_read; /* when the frame's end arrived */
        if (part == WS_PART_CONTROL) {
            out = ws_control(vu, op, pl, plen, t, kind);
            continue;
        }
        if (part == WS_PART_END && ws->msg_len == 0) {
            out = ws_message(vu, pl, plen, op == WS_OP_BINARY, t); /* the common case */
            continue;
        }
        /* A fragmented message: its pieces are kept until its last one. */
        if (ws->msg_len + plen > WS_MAX_MESSAGE_BYTES) {
            *kind = ERR_WS_PROTOCOL;
            out = WO_FAILED;
            break;
        }
        if (ws->msg_len + plen > ws->msg_cap) {
            size_t cap = ws->msg_cap ? ws->msg_cap : 256;
            while (cap < ws->msg_len + plen) {
                cap *= 2;
            }
            uint8_t *m = realloc(ws->msg, cap);
            if (m == NULL) {
                *kind = ERR_OTHER;
                out = WO_FAILED;
                break;
            }
            ws->msg = m;
            ws->msg_cap = cap;
        }
        memcpy(ws->msg + ws->msg_len, pl, plen);
        ws->msg_len += plen;
        if (part == WS_PART_END) {
            out = ws_message(vu, ws->msg, ws->msg_len, op == WS_OP_BINARY, t);
            free(ws->msg);
            ws->msg = NULL;
            ws->msg_len = ws->msg_cap = 0;
        }
    }
    *used = at;
    return out;
}

/*
 * Appends what the last read brought (at t_read) to rx: false when out of memory or past
 * the cap.  The read is marked, so that its frames are timed by it when consumed later;
 * past WS_RX_MARKS reads the last mark stretches (its frames timed late, never early).
 */
static bool rx_append(struct ws_conn *ws, const uint8_t *d, size_t n)
{
    if (n == 0) {
        return true;
    }
    size_t need = ws->rx_len + n;
    if (need > WS_MAX_MESSAGE_BYTES + WS_HOLD_BYTES + READ_BUF_BYTES) {
        return false;
    }
    if (need > ws->rx_cap) {
        size_t cap = ws->rx_cap ? ws->rx_cap : 1024;
        while (cap < need) {
            cap *= 2;
        }
        uint8_t *b = realloc(ws->rx, cap);
        if (b == NULL) {
            return false;
        }
        ws->rx = b;
        ws->rx_cap = cap;
    }
    memcpy(ws->rx + ws->rx_len, d, n);
    ws->rx_len = need;
    if (ws->n_marks == WS_RX_MARKS) {
        ws->n_marks--;
    }
    ws->rx_mark[ws->n_marks].end = need;
    ws->rx_mark[ws->n_marks].t = ws->t_read;
    ws->n_marks++;
    return true;
}

/* Drops rx's first n bytes; an empty rx is freed (an idle session holds no buffer). */
static void rx_drop(struct ws_conn *ws, size_t n)
{
    memmove(ws->rx, ws->rx + n, ws->rx_len - n);
    ws->rx_len -= n;
    unsigned k = 0;
    for (unsigned i = 0; i < ws->n_marks; i++) {
        if (ws->rx_mark[i].end > n) {
            ws->rx_mark[k].end = ws->rx_mark[i].end - n;
            ws->rx_mark[k++].t = ws->rx_mark[i].t;
        }
    }
    ws->n_marks = k;
    if (ws->rx_len == 0) {
        free(ws->rx);
        ws->rx = NULL;
        ws->rx_cap = 0;
    }
}

/* Acts on what consuming gave; false when the session is gone (failed or ended). */
static bool ws_after(struct vu *vu, enum ws_outcome out, enum err_kind kind)
{
    switch (out) {
    case WO_FAILED:
        ws_fail(vu, kind);
        return false;
    case WO_ENDED:
        (void)ws_write(vu); /* the close answer, best effort: the connection ends */
        ws_end(vu);
        return vu->ws != NULL;
    case WO_MATCHED:
        if (!ws_flush(vu)) {
            return false;
        }
        ws_advance(vu);
        return true;
    case WO_MORE:
        break;
    }
    return vu->ws->ctl_len == 0 || ws_flush(vu);
}

/*
 * Bytes of frames arrived (n may be 0: a reading step begins and takes what was kept).
 * false when the session is gone.
 */
static bool ws_feed(struct vu *vu, const uint8_t *d, size_t n, bool force)
{
    struct ws_conn *ws = vu->ws;
    enum err_kind kind = ERR_OTHER;
    size_t used = 0;
    enum ws_outcome out;
    if (ws->rx_len == 0 && n > 0) {
        out = ws_consume(vu, d, n, &used, &kind, force);
        if (out != WO_FAILED && !rx_append(ws, d + used, n - used)) {
            kind = ERR_WS_PROTOCOL;
            out = WO_FAILED;
        }
    } else {
        if (!rx_append(ws, d, n)) {
            return ws_after(vu, WO_FAILED, ERR_WS_PROTOCOL);
        }
        /* Frames kept past WS_HOLD_BYTES are consumed (counted) whatever the step. */
        out = ws_consume(vu, ws->rx, ws->rx_len, &used, &kind, force || ws->rx_len > WS_HOLD_BYTES);
        if (used > 0) {
            rx_drop(ws, used);
        }
    }
    return ws_after(vu, out, kind);
}

/* Bytes of the upgrade's answer: false when the session failed or moved on. */
static bool ws_upgrade_bytes(struct vu *vu, const uint8_t *d, size_t n)
{
    struct ws_conn *ws = vu->ws;
    struct worker *w = vu->w;
    if (!rx_append(ws, d, n)) {
        ws_fail(vu, ERR_WS_HANDSHAKE);
        return false;
    }
    int r = http1_parse_response((const char *)ws->rx, ws->rx_len, false, &w->resp);
    if (r == HTTP1_PARTIAL) {
        if (ws->rx_len >= HTTP1_MAX_HEAD_BYTES) {
            ws_fail(vu, ERR_WS_HANDSHAKE);
            return false;
        }
        return true;
    }
    if (r < 0 || ws_upgrade_check(&w->resp, ws->accept) < 0) {
        ws_fail(vu, ERR_WS_HANDSHAKE);
        return false;
    }
    uint64_t now = ws->t_read;
    rx_drop(ws, (size_t)r); /* frames right behind the 101 wait for a reading step */
    ws->state = WSC_OPEN;
    ws->t_open = now;
    vu->inflight = 0;
    series_add(ws_series(vu, WSS_SESSIONS), 1);
    series_trend_ns(ws_series(vu, WSS_CONNECTING), diff(now, vu->t_conn_start));
    ws_advance(vu);
    return true;
}

/* The server closed the connection (err 0) or it failed. */
static void ws_eof(struct vu *vu, int err)
{
    struct ws_conn *ws = vu->ws;
    if (ws->state == WSC_UPGRADING) {
        ws_fail(vu, err != 0 ? errno_kind(err) : ERR_WS_HANDSHAKE);
        return;
    }
    /* What was kept is read first: a close frame may be among it. */
    if (ws->rx_len > 0 && !ws_feed(vu, NULL, 0, true)) {
        return;
    }
    if (vu->ws == NULL) {
        return;
    }
    if (ws->close_rcvd) {
        ws_end(vu);
    } else {
        ws_fail(vu, err != 0 && err != ECONNRESET ? errno_kind(err) : ERR_WS_CLOSED);
    }
}

void conn_ws_io(struct vu *vu, unsigned events)
{
    struct worker *w = vu->w;
    if (events & (LOOP_READ | LOOP_ERROR)) {
        for (;;) {
            ssize_t n = vu->tops->read(&vu->tc, w->rbuf, READ_BUF_BYTES);
            if (n == -EAGAIN) {
                break;
            }
            if (n <= 0) {
                ws_eof(vu, n < 0 ? (int)-n : 0);
                return;
            }
            series_add(S(w, vu->sr->s_recv), (double)n);
            /* The clock itself, as for sends: latency is from write to read. */
            vu->ws->t_read = loop_clock_ns(w->loop);
            bool alive = vu->ws->state == WSC_UPGRADING
                             ? ws_upgrade_bytes(vu, (const uint8_t *)w->rbuf, (size_t)n)
                             : ws_feed(vu, (const uint8_t *)w->rbuf, (size_t)n, false);
            if (!alive || vu->ws == NULL || vu->cstate != CONN_OPEN) {
                return;
            }
            if (n < READ_BUF_BYTES) {
                break;
            }
        }
    }
    if ((events & LOOP_WRITE) && vu->ws != NULL) {
        (void)ws_flush(vu);
    }
}

void conn_ws_connected(struct vu *vu)
{
    struct worker *w = vu->w;
    uint64_t t = vu->sr->steps[vu->step].timeout_ns;
    vu->t_send = loop_clock_ns(w->loop);
    vu->t_send_late = 0; /* the upgrade counts its whole send lag as brunt's own */
    vu_timer(vu, VT_REQUEST, vu->t_send + (t ? t : w->eng->plan->timeout_ns));
    (void)ws_flush(vu);
}

/* Frames a message (or a ping, a close) of payload rendered into sendbuf after
 * WS_HEAD_ROOM bytes, masked, as the step's output; then writes it. */
static void ws_send_frame(struct vu *vu, uint8_t opcode)
{
    struct dynbuf *b = &vu->sendbuf;
    size_t len = b->len - WS_HEAD_ROOM;
    uint64_t r = rng_next(&vu->w->rng);
    uint8_t mask[4], head[WS_MAX_HEAD_BYTES];
    memcpy(mask, &r, 4);
    size_t h = ws_frame_head(head, true, opcode, len, mask);
    uint8_t *payload = (uint8_t *)b->data + WS_HEAD_ROOM;
    ws_mask(payload, len, mask, 0);
    memcpy(payload - h, head, h);
    vu->wbuf = (const char *)payload - h;
    vu->wlen = vu->wunit = h + len;
    vu->woff = 0;
    vu->ws->out_step = true;
    if (opcode == WS_OP_PING) {
        vu->ws->t_ping = loop_clock_ns(vu->w->loop);
    }
    /* A peer that stops reading times the step out (fail_requests -> conn_ws_fail). */
    uint64_t t = vu->sr->steps[vu->step].timeout_ns;
    vu_timer(vu, VT_REQUEST, loop_now_ns(vu->w->loop) + (t ? t : vu->w->eng->plan->timeout_ns));
    (void)ws_flush(vu);
}

/* Reserves the frame head's room in sendbuf: false (the session failed) on no memory. */
static bool ws_frame_begin(struct vu *vu)
{
    static const char room[WS_HEAD_ROOM];
    dynbuf_reset(&vu->sendbuf);
    if (dynbuf_add(&vu->sendbuf, room, sizeof room) < 0) {
        ws_fail(vu, ERR_OTHER);
        return false;
    }
    return true;
}

/* The connect step: the upgrade request, a new connection. */
static void ws_connect(struct vu *vu)
{
    struct worker *w = vu->w;
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    conn_close(vu); /* whatever the VU had open (an HTTP connection, an older session) */
    dynbuf_reset(&vu->sendbuf);
    uint8_t nonce[16];
    uint64_t r0 = rng_next(&w->rng), r1 = rng_next(&w->rng);
    memcpy(nonce, &r0, 8);
    memcpy(nonce + 8, &r1, 8);
    char key[WS_KEY_BYTES + 1];
    ws_key_make(nonce, key);
    struct ws_conn *ws = calloc(1, sizeof *ws);
    int rc = ws == NULL ? -ENOMEM : rt->render(rt->data, vu->sv, &vu->sendbuf);
    if (rc == 0 && (vu->sendbuf.len < 4 ||
                    memcmp(vu->sendbuf.data + vu->sendbuf.len - 4, "\r\n\r\n", 4) != 0)) {
        rc = -EINVAL;
    }
    if (rc == 0) {
        dynbuf_truncate(&vu->sendbuf, vu->sendbuf.len - 2);
        rc = dynbuf_addf(&vu->sendbuf,
                         "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n",
                         key);
    }
    if (rc == 0) {
        rc = ws_accept_make(key, WS_KEY_BYTES, ws->accept);
    }
    if (rc < 0) {
        free(ws);
        ws_count_error(vu, ERR_OTHER);
        vu->abort_iter = true;
        ws_advance(vu);
        return;
    }
    ws->open_step = vu->step;
    vu->ws = ws;
    vu->wbuf = vu->sendbuf.data;
    vu->wlen = vu->wunit = vu->sendbuf.len;
    vu->woff = 0;
    ws->out_step = true;
    vu->inflight = 0; /* a session is no request: an interrupted one is not in http_reqs */
    vu->keep_alive = true;
    vu->hop_origin = NULL;
    vu->t_req = loop_now_ns(w->loop);
    conn_connect(vu); /* a failure comes back through fail_requests -> conn_ws_fail */
}

/*
 * A session step under way when the run ends is an error of kind interrupted, as a
 * request in flight is: the upgrade, a frame not written whole, a wait, a close that
 * awaits the server's.  A listen awaits nothing and is not one; a wait's checks are not
 * run (the interrupted request's are not either).
 */
void conn_ws_interrupt(struct vu *vu)
{
    const struct step *st = cur_step(vu);
    const struct ws_conn *ws = vu->ws;
    if (st == NULL || st->kind != STEP_WS || ws == NULL || ws->advancing ||
        st->ws_op == WS_STEP_LISTEN) {
        return;
    }
    ws_count_error(vu, ERR_INTERRUPTED);
}

/* A step that needs a session finds none (the server ended it): an error, rest skipped. */
static void ws_no_session(struct vu *vu, const struct step *st)
{
    if (st->ws_op == WS_STEP_CLOSE) {
        ws_advance(vu); /* already closed: nothing to do */
        return;
    }
    ws_count_error(vu, ERR_WS_CLOSED);
    if (st->ws_op == WS_STEP_WAIT) {
        ws_flow_done(vu, 0, NULL, 0);
    }
    vu->abort_iter = true;
    ws_advance(vu);
}

void conn_ws_step(struct vu *vu)
{
    const struct step *st = cur_step(vu);
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    struct ws_conn *ws = vu->ws;
    uint64_t now = loop_now_ns(vu->w->loop);
    vu->res.n = 0;
    vu->res.n_samples = 0;
    if (st->ws_op == WS_STEP_CONNECT) {
        ws_connect(vu);
        return;
    }
    if (ws == NULL || ws->state != WSC_OPEN) {
        ws_no_session(vu, st);
        return;
    }
    ws->advancing = false;
    uint64_t timeout = rt->timeout_ns ? rt->timeout_ns : vu->w->eng->plan->timeout_ns;
    switch (st->ws_op) {
    case WS_STEP_SEND:
        if (ws_frame_begin(vu)) {
            if (rt->render(rt->data, vu->sv, &vu->sendbuf) < 0) {
                ws_fail(vu, ERR_OTHER);
                return;
            }
            ws_send_frame(vu, st->ws_binary ? WS_OP_BINARY : WS_OP_TEXT);
        }
        return;
    case WS_STEP_PING:
        if (ws_frame_begin(vu)) {
            ws_send_frame(vu, WS_OP_PING);
        }
        return;
    case WS_STEP_CLOSE:
        if (ws_frame_begin(vu)) {
            char code[2] = {(char)(st->ws_close_code >> 8), (char)(st->ws_close_code & 0xff)};
            if (dynbuf_add(&vu->sendbuf, code, 2) < 0) {
                ws_fail(vu, ERR_OTHER);
                return;
            }
            ws->state = WSC_CLOSING;
            ws_send_frame(vu, WS_OP_CLOSE);
        }
        break;
    case WS_STEP_WAIT:
        vu_timer(vu, VT_WS, now + timeout);
        break;
    case WS_STEP_LISTEN:
        vu_timer(vu, VT_WS, now + st->ws_listen_ns);
        break;
    case WS_STEP_CONNECT:
        return;
    }
    /* A reading step takes what arrived before it. */
    if (vu->ws != NULL && vu->ws->rx_len > 0 && ws_consuming(vu)) {
        (void)ws_feed(vu, NULL, 0, false);
    }
}

void conn_ws_timer(struct vu *vu)
{
    const struct step *st = cur_step(vu);
    if (st == NULL || st->kind != STEP_WS || vu->ws == NULL) {
        return;
    }
    switch (st->ws_op) {
    case WS_STEP_WAIT:
        /* No matching message in time: the wait's checks fail; the session goes on. */
        ws_count_error(vu, ERR_TIMEOUT);
        ws_flow_done(vu, 0, NULL, 0);
        ws_advance(vu);
        break;
    case WS_STEP_LISTEN:
        ws_advance(vu);
        break;
    case WS_STEP_CLOSE:
        ws_count_error(vu, ERR_TIMEOUT); /* no close from the server in time */
        conn_close(vu);
        ws_advance(vu);
        break;
    default:
        break;
    }
}
