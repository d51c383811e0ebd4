/*
 * conn — a VU's connection: connecting over the origin's transport, writing the current
 * request batch, reading and parsing responses (heads and bodies, pipelined or not),
 * and the rules for a server that closes: a close or a reset before any byte of the
 * answer on a reused connection re-sends an idempotent request once, pipelined requests
 * behind a closing response are re-sent on a new connection (every re-send counts in
 * http_req_retries, the request itself once in http_reqs), anything else fails the
 * requests in flight.
 *
 * The connection has no timers of its own: the VU's timer (vu.c) bounds connecting and
 * each request.  Only the worker's thread calls these.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/worker_internal.h"

static void conn_connected(struct vu *vu);
static void conn_handshake(struct vu *vu);
static void unsolicited_bytes(struct vu *vu);
static void resend_rest(struct vu *vu, uint64_t now);
static bool may_resend(const struct vu *vu);
static bool conn_parse(struct vu *vu, const char *data, size_t len, uint64_t now);
static void conn_readable(struct vu *vu);
static void conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events);

void conn_close(struct vu *vu)
{
    if (vu->cstate == CONN_CLOSED) {
        return;
    }
    loop_io_del(vu->w->loop, &vu->io);
    if (vu->h2 != NULL) {
        conn_h2_free(vu);
    }
    conn_ws_free(vu); /* a WebSocket session ends with its connection */
    vu->tops->close(&vu->tc);
    vu->io.fd = -1;
    vu->cstate = CONN_CLOSED;
    vu->reused = false;
    vu->hlen = 0;
}

void conn_connect(struct vu *vu)
{
    struct worker *w = vu->w;
    const struct step *st = &vu->sr->sc->steps[vu->step];
    const struct origin *o = vu->hop_origin != NULL ? vu->hop_origin : st->origin;
    const struct plan *plan = w->eng->plan;
    vu->tops = o->transport;
    vu->tc.cfg = o->transport_cfg;
    vu->tc.rx_stamp = w->defer != DEFER_NO && o->transport == &transport_tcp;
    vu->tc.rx_wall_ns = 0;
    /* A redirect may go to an origin of the step ops' own (plain TCP): no cache slot. */
    bool in_plan = o >= plan->origins && o < plan->origins + plan->n_origins;
    vu->tc.cache = in_plan ? &w->tcache[o - plan->origins] : NULL;
    vu->conn_origin = o;
    vu->t_conn_start = loop_now_ns(w->loop);
    vu->t_conn_done = 0;
    int rc = vu->tops->connect(&vu->tc, (const struct sockaddr *)&o->addr, o->addr_len);
    if (rc < 0 && rc != -EINPROGRESS) {
        vu->io.fd = -1;
        fail_requests(vu, errno_kind(-rc));
        return;
    }
    if (w->defer != DEFER_NO && o->transport == &transport_tcp && !vu->tc.rx_stamp) {
        worker_defer_stop(w, "the socket refused SO_TIMESTAMPNS");
    }
    vu->io.fd = vu->tc.fd;
    vu->io.cb = conn_io_cb;
    vu->io.data = vu;
    vu->cstate = CONN_CONNECTING;
    vu->reused = false;
    if (loop_io_set(w->loop, &vu->io, LOOP_WRITE) < 0) {
        conn_close(vu);
        fail_requests(vu, ERR_OTHER);
        return;
    }
    vu_timer(vu, VT_CONNECT, vu->t_conn_start + w->eng->plan->connect_timeout_ns);
}

static void conn_connected(struct vu *vu)
{
    int err = -vu->tops->connected(&vu->tc);
    if (err != 0) {
        conn_close(vu);
        fail_requests(vu, errno_kind(err));
        return;
    }
    /* TCP is up: http_req_connecting ends, http_req_tls_handshaking begins.  The clock
     * itself: a handshake may finish within this call (one round trip, no wait). */
    vu->t_hs_start = vu->tops->handshake ? loop_clock_ns(vu->w->loop) : loop_now_ns(vu->w->loop);
    vu->cstate = CONN_HANDSHAKING;
    conn_handshake(vu);
}

/* Drives the transport's handshake, if it has one (TLS; plain TCP is ready at once). */
static void conn_handshake(struct vu *vu)
{
    bool want_write = false;
    int err = vu->tops->handshake ? -vu->tops->handshake(&vu->tc, &want_write) : 0;
    if (err == EAGAIN) {
        if (loop_io_set(vu->w->loop, &vu->io, want_write ? LOOP_WRITE : LOOP_READ) < 0) {
            fail_requests(vu, ERR_OTHER);
        }
        return;
    }
    if (err != 0) {
        conn_close(vu);
        fail_requests(vu, errno_kind(err));
        return;
    }
    vu->cstate = CONN_OPEN;
    vu->backoff_ns = 0; /* connects work again */
    vu->t_conn_done = vu->tops->handshake ? loop_clock_ns(vu->w->loop) : vu->t_hs_start;
    if (vu->tops->handshake != NULL && vu->sr != NULL) {
        series_add(S(vu->w, vu->sr->s_tls_handshakes), 1);
        if (vu->tops->resumed != NULL && vu->tops->resumed(&vu->tc)) {
            series_add(S(vu->w, vu->sr->s_tls_resumed), 1);
        }
    }
    vu_timer_cancel(vu);
    if (vu->ws != NULL) {
        /* A WebSocket connect step: the upgrade request instead (conn_ws.c). */
        if (loop_io_set(vu->w->loop, &vu->io, LOOP_READ) < 0) {
            fail_requests(vu, ERR_OTHER);
            return;
        }
        conn_ws_connected(vu);
        return;
    }
    if (loop_io_set(vu->w->loop, &vu->io, LOOP_READ) < 0 || conn_h2_start(vu) < 0) {
        fail_requests(vu, ERR_OTHER);
        return;
    }
    conn_send(vu);
}

/* Writes what is left of the current request batch. */
void conn_send(struct vu *vu)
{
    struct worker *w = vu->w;
    if (vu->h2 != NULL) {
        conn_h2_send(vu);
        return;
    }
    if (vu->woff == 0) {
        /* The request timeout runs from the first byte sent: a server that stops
         * reading (a full socket buffer) times the request out too. */
        uint64_t timeout = vu->sr->steps[vu->step].timeout_ns;
        /* The clock itself, not the loop's cached time: sending is measured from the
         * write, not from the wake-up (two vDSO reads per request). */
        vu->t_send = loop_clock_ns(w->loop);
        uint32_t late = loop_wake_late_ns(w->loop);
        vu->t_send_late = late > WORKER_TIMER_SLACK_NS ? late - WORKER_TIMER_SLACK_NS : 0;
        vu_timer(vu, VT_REQUEST, vu->t_send + (timeout ? timeout : w->eng->plan->timeout_ns));
    }
    while (vu->woff < vu->wlen) {
        size_t off = vu->woff % vu->wunit;
        size_t n = vu->wunit - off;
        if (n > vu->wlen - vu->woff) {
            n = vu->wlen - vu->woff;
        }
        ssize_t k = vu->tops->write(&vu->tc, vu->wbuf + off, n);
        if (k < 0) {
            if (k == -EAGAIN) {
                if (loop_io_set(w->loop, &vu->io, LOOP_READ | LOOP_WRITE) < 0) {
                    fail_requests(vu, ERR_OTHER);
                }
                return;
            }
            int err = (int)-k;
            if (vu->reused && !vu->retried && vu->woff == 0) {
                /* A keep-alive connection the server had closed before this request:
                 * not one byte of it left, so re-sending once is safe and honest. */
                vu->retried = true;
                series_add(S(w, vu->sr->s_retries), vu->inflight);
                conn_close(vu);
                conn_connect(vu);
                return;
            }
            fail_requests(vu, errno_kind(err));
            return;
        }
        vu->woff += (size_t)k;
        series_add(S(w, vu->sr->s_sent), (double)k);
    }
    vu->t_sent = loop_clock_ns(w->loop);
    if (vu->io.events & LOOP_WRITE) {
        (void)loop_io_set(w->loop, &vu->io, LOOP_READ);
    }
}

/* Appends a body span to the kept body, up to the step's cap (beyond: truncated). */
bool conn_keep_span(struct vu *vu, const char *p, size_t n)
{
    if (vu->kept_len + n > vu->kept_max) {
        n = vu->kept_max - vu->kept_len;
        vu->kept_trunc = true;
    }
    if (vu->kept_len + n > vu->kept_cap) {
        size_t cap = vu->kept_cap ? vu->kept_cap : 256;
        while (cap < vu->kept_len + n) {
            cap *= 2;
        }
        if (cap > vu->kept_max) {
            cap = vu->kept_max;
        }
        char *b = realloc(vu->kept, cap);
        if (b == NULL) {
            return false;
        }
        vu->kept = b;
        vu->kept_cap = cap;
    }
    memcpy(vu->kept + vu->kept_len, p, n);
    vu->kept_len += n;
    return true;
}

/*
 * Bytes arrived that no request asked for (after the last response of the step): a
 * protocol error of the connection, not a request — counted in `errors` only, so the
 * request count stays what was sent.  The connection is closed and the VU moves on.
 */
static void unsolicited_bytes(struct vu *vu)
{
    series_add(S(vu->w, vu->sr->s_err[ERR_PROTOCOL]), 1);
    vu->keep_alive = false;
    step_done(vu);
}

/*
 * Re-sends the requests still in flight on a new connection (the server closed): each
 * counts once in http_req_retries, so what the server saw is http_reqs + retries at most.
 */
static void resend_rest(struct vu *vu, uint64_t now)
{
    uint32_t rest = vu->inflight;
    series_add(S(vu->w, vu->sr->s_retries), rest);
    conn_close(vu);
    vu->batch = rest;
    vu->inflight = rest;
    vu->woff = 0;
    vu->wlen = (size_t)rest * vu->wunit;
    vu->phase = PH_HEAD;
    vu->head_seen_bytes = false;
    vu->t_req = now;
    vu_timer_cancel(vu);
    conn_connect(vu);
}

/*
 * Whether the whole batch in flight may be sent again after its connection closed or
 * was reset: the connection was reused (a server closing an idle keep-alive connection
 * as the request left is the common, harmless case), not one byte of an answer came,
 * this request was not re-sent before, and its method is idempotent (what browsers,
 * Go's client and k6 do).  A fresh connection that fails is a fault worth seeing.
 */
static bool may_resend(const struct vu *vu)
{
    return vu->reused && !vu->retried && !vu->head_seen_bytes && vu->batch == vu->inflight &&
           vu->sr->steps[vu->step].idempotent;
}

/*
 * Parses `len` received bytes.  Returns false when the connection was failed (the VU
 * has been moved on already).
 */
static bool conn_parse(struct vu *vu, const char *data, size_t len, uint64_t now)
{
    struct worker *w = vu->w;
    while (len > 0) {
        if (vu->inflight == 0) {
            unsolicited_bytes(vu);
            return false;
        }
        if (!vu->head_seen_bytes) {
            vu->head_seen_bytes = true;
            vu->t_first = now;
        }
        if (vu->phase == PH_HEAD) {
            const char *p = data;
            size_t n = len, take = 0, old = vu->hlen;
            if (vu->hlen > 0) {
                take = HTTP1_MAX_HEAD_BYTES - vu->hlen;
                if (take > len) {
                    take = len;
                }
                memcpy(vu->hbuf + vu->hlen, data, take);
                vu->hlen += (uint32_t)take;
                p = vu->hbuf;
                n = vu->hlen;
                /* Parse once the head is complete: the bytes scanned before are not
                 * scanned again (picohttpparser's last_len). */
                if (http1_head_end(p, n, vu->hscan) == HTTP1_PARTIAL) {
                    vu->hscan = vu->hlen;
                    if (vu->hlen >= HTTP1_MAX_HEAD_BYTES) {
                        fail_requests(vu, ERR_PROTOCOL);
                        return false;
                    }
                    return true;
                }
            }
            const struct step *st = &vu->sr->sc->steps[vu->step];
            int r = http1_parse_response(p, n, st->head_request, &w->resp);
            if (r == HTTP1_PARTIAL) {
                if (p == data) {
                    if (vu->hbuf == NULL) {
                        vu->hbuf = malloc(HTTP1_MAX_HEAD_BYTES);
                        if (vu->hbuf == NULL) {
                            fail_requests(vu, ERR_OTHER);
                            return false;
                        }
                    }
                    memcpy(vu->hbuf, data, len);
                    vu->hlen = (uint32_t)len;
                    vu->hscan = vu->hlen; /* PARTIAL: no end of head in these bytes */
                } else if (vu->hlen >= HTTP1_MAX_HEAD_BYTES) {
                    fail_requests(vu, ERR_PROTOCOL);
                    return false;
                }
                return true;
            }
            if (r < 0) {
                fail_requests(vu, ERR_PROTOCOL);
                return false;
            }
            bool from_hbuf = p != data;
            size_t used = from_hbuf ? (size_t)r - old : (size_t)r;
            vu->hlen = 0;
            data += used;
            len -= used;
            bool interim = w->resp.status < 200 && w->resp.status != 101;
            if (!interim) {
                vu->status = w->resp.status;
                vu->keep_alive = w->resp.keep_alive;
                const struct step_rt *rt = &vu->sr->steps[vu->step];
                if (rt->on_head != NULL) {
                    rt->on_head(rt->data, vu->sv, &w->resp, &vu->res);
                }
                http1_body_init(&vu->body, w->resp.framing, w->resp.content_length);
                vu->phase = PH_BODY;
            }
            if (from_hbuf) {
                /* A head that straddled reads is rare: its buffer goes back once the head
                 * has been read, so an idle VU holds none. */
                free(vu->hbuf);
                vu->hbuf = NULL;
            }
            if (interim) {
                continue; /* interim response: the final one follows */
            }
        }
        while (!http1_body_done(&vu->body) && len > 0) {
            const char *span = NULL;
            size_t span_len = 0;
            ssize_t k =
                http1_body_feed(&vu->body, data, len, vu->keep_body ? &span : NULL, &span_len);
            if (k < 0) {
                fail_requests(vu, ERR_PROTOCOL);
                return false;
            }
            if (span_len > 0 && !conn_keep_span(vu, span, span_len)) {
                fail_requests(vu, ERR_OTHER);
                return false;
            }
            data += k;
            len -= (size_t)k;
            if (k == 0) {
                break;
            }
        }
        if (!http1_body_done(&vu->body)) {
            return true;
        }
        /* One response complete. */
        record_response(vu, now);
        vu->reused = true;
        vu->inflight--;
        vu->phase = PH_HEAD;
        vu->head_seen_bytes = false;
        if (vu->inflight > 0 && !vu->keep_alive) {
            /* The server closes after this one: re-send the rest on a new connection. */
            resend_rest(vu, now);
            return false;
        }
        if (vu->inflight == 0) {
            if (len > 0) {
                unsolicited_bytes(vu);
            } else {
                step_done(vu);
            }
            return false;
        }
    }
    return true;
}

static void conn_readable(struct vu *vu)
{
    struct worker *w = vu->w;
    for (;;) {
        ssize_t n = vu->tops->read(&vu->tc, w->rbuf, READ_BUF_BYTES);
        uint64_t now = loop_now_ns(w->loop);
        if (n > 0 && vu->tc.rx_stamp) {
            /* Read up to a window late (worker.c): timed when the kernel received it. */
            now = worker_rx_time(w, vu, now);
        }
        if (n > 0) {
            series_add(S(w, vu->sr->s_recv), (double)n);
            if (vu->inflight == 0) {
                /* Bytes on an idle connection answer nothing: a protocol error of the
                 * connection (not a request), which is closed so they are never taken
                 * for the answer to the next request. */
                series_add(S(w, vu->sr->s_err[ERR_PROTOCOL]), 1);
                conn_close(vu);
                return;
            }
            w->event_vu = vu; /* the end of its iteration is this answer's time */
            w->event_ns = now;
            bool more = conn_parse(vu, w->rbuf, (size_t)n, now);
            w->event_vu = NULL;
            if (!more) {
                return;
            }
            /* Part of an answer: the rest must not wait for a window (a full buffer would
             * stall the server, and a close-delimited end has no timestamp). */
            worker_defer_stop(w, "an answer came in more than one read");
            if (n < READ_BUF_BYTES) {
                return;
            }
            continue;
        }
        if (n == -EAGAIN) {
            return;
        }
        int err = n < 0 ? (int)-n : 0;
        /* The peer closed (or reset) the connection. */
        if (vu->inflight == 0) {
            conn_close(vu); /* an idle keep-alive connection closed by the server */
            return;
        }
        worker_defer_stop(w, "a close or reset under a request"); /* no timestamp */
        if (vu->phase == PH_BODY && err == 0 && http1_body_eof(&vu->body) == 0) {
            record_response(vu, now);
            vu->inflight--;
            vu->keep_alive = false;
            if (vu->inflight > 0) {
                resend_rest(vu, now); /* pipelined requests behind a close-delimited body */
            } else {
                step_done(vu);
            }
            return;
        }
        if ((err == 0 || err == ECONNRESET) && may_resend(vu)) {
            /*
             * A close (FIN) or reset of a reused keep-alive connection before any byte of
             * the answer: the server closed it idle as the request left, and its kernel
             * reset the request that arrived after.  Re-sent once, as HTTP clients do, and
             * counted in http_req_retries; a second failure is an error.
             */
            vu->retried = true;
            resend_rest(vu, now);
            return;
        }
        /*
         * Anything else is an error, never retried: a close after part of the answer, a
         * failure on a fresh connection or of a non-idempotent request — the server may well have received
         * the request, and such faults are what a load test is for.
         */
        if (err != 0) {
            fail_requests(vu, errno_kind(err));
        } else {
            fail_requests(vu, vu->head_seen_bytes ? ERR_PROTOCOL : ERR_RESET);
        }
        return;
    }
}

static void conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    struct vu *vu = io->data;
    /* The loop drops the pending events of a connection closed earlier in the batch
     * (core/loop.h), so every event here is this connection's. */
    if (vu->cstate == CONN_CONNECTING) {
        if (events & (LOOP_WRITE | LOOP_ERROR | LOOP_READ)) {
            conn_connected(vu);
        }
        return;
    }
    if (vu->cstate == CONN_HANDSHAKING) {
        if (events & (LOOP_WRITE | LOOP_ERROR | LOOP_READ)) {
            conn_handshake(vu);
        }
        return;
    }
    if (vu->h2 != NULL) {
        conn_h2_io(vu, events);
        return;
    }
    if (vu->ws != NULL) {
        conn_ws_io(vu, events);
        return;
    }
    if (events & (LOOP_READ | LOOP_ERROR)) {
        conn_readable(vu);
        if (vu->cstate != CONN_OPEN || io->fd < 0) {
            return;
        }
    }
    if ((events & LOOP_WRITE) && vu->woff < vu->wlen && vu->inflight > 0) {
        conn_send(vu);
    }
}
