/*
 * conn_h2 — HTTP/2 on a VU's connection, with nghttp2 (RFC 9113).
 *
 * conn.c connects and runs the transport's handshake as for HTTP/1.1; then, when the
 * origin speaks HTTP/2 (--http2: "h2" chosen by ALPN over TLS, or h2c with prior
 * knowledge over TCP), conn_h2_start() puts an nghttp2 client session on the connection
 * and conn.c hands every later event here.  nghttp2 does the framing, HPACK, SETTINGS,
 * PING, flow control (its automatic WINDOW_UPDATEs) and the peer's stream limit (streams
 * beyond SETTINGS_MAX_CONCURRENT_STREAMS wait inside the session); this file only moves
 * bytes (nghttp2_session_mem_recv / mem_send over the transport, non-blocking; a
 * readable event reads until EAGAIN, and what the session has to send is written once
 * per loop turn, conn_h2_flush_dirty) and turns streams into requests.
 *
 * A request step's batch (1, or --streams N in quick mode: the same depth the engine
 * uses for pipelining) becomes N streams submitted at once; in quick mode's shape
 * (h2_may_roll) each stream that ends is replaced at once by one of the next iteration,
 * so N stay in flight.  The step's rendered
 * HTTP/1.1 request is read back with http1_parse_request() into HTTP/2 fields
 * (:method, :path, :scheme, :authority from Host, connection-specific fields dropped;
 * nghttp2 lower-cases the names), so scenario flows and quick mode need nothing new.  A chunked request
 * body is not supported (brunt renders Content-Length).  Each stream that ends is one
 * sample with the same metrics as HTTP/1.1: sending from the batch's first write to
 * the stream's last frame serialised, waiting to its first response frame, receiving
 * to its end.  Errors: a stream the server resets is `h2_rst_stream`; one left open
 * when the server ends the connection with GOAWAY is `h2_goaway`; a stream the server
 * refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id: nginx after
 * keepalive_requests) is re-sent once, as RFC 9113 8.7 allows: on the same connection
 * when it goes on (streams sent before the server's SETTINGS named a lower stream
 * limit), else on a new one.  The request timeout times each stream from its own send:
 * one that expires is cancelled with RST_STREAM while the others go on (conn_h2_expire).
 *
 * Callbacks run inside mem_recv / mem_send and only record; closing the connection or
 * moving the VU on happens after those calls return.  Only the worker's thread calls
 * these.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "engine/worker_internal.h"

#define H2_OUT_BYTES (16 * 1024) /* frames gathered into one write */
#define H2_NV_MAX (HTTP1_MAX_HEADERS + 4)
#define H2_WINDOW_BYTES (16 * 1024 * 1024)        /* our stream and connection windows */
#define H2_READ_EVENT_BYTES (16 * READ_BUF_BYTES) /* reading on after short reads, per event */

/* When a stream's request was queued, sent and connected (the VU's fields of the same
 * names when it was submitted): its sample is timed by these, not by a later batch's. */
struct h2_times {
    uint64_t t_req, t_send, t_conn_start, t_hs_start, t_conn_done, intended_ns;
};

struct h2_stream {
    struct h2_conn *h;
    int32_t id; /* its stream id, while busy */
    int status;
    bool busy;      /* the slot holds an open stream */
    bool head_over; /* its fields passed HTTP/1.1's caps: a protocol error, as there */
    uint64_t t_sent, t_first;
    size_t body_off;
    struct h2_times t;
};

/*
 * nghttp2's memory on one session: every stream, frame, header copy and received field
 * is an allocation of its own (about a dozen per request), which glibc's malloc/free made
 * a tenth of the worker's instructions.  Blocks up to H2_POOL_MAX bytes come from free
 * lists by power-of-two class and go back to them, larger ones from malloc; all of it is
 * given back when the session ends (pool_destroy).  A block carries its class and
 * capacity in the 16 bytes before it (16-byte alignment kept).
 */
#define H2_POOL_MIN_SHIFT 5 /* the smallest class: 32 bytes */
#define H2_POOL_CLASSES 8   /* 32 .. 4096 bytes */
#define H2_POOL_MAX ((size_t)1 << (H2_POOL_MIN_SHIFT + H2_POOL_CLASSES - 1))

struct h2_pool {
    void *free[H2_POOL_CLASSES];
};

struct h2_conn {
    nghttp2_session *s;
    struct h2_pool pool;
    struct vu *vu;
    /* on the worker's list of sessions with output to write at the loop turn's end */
    bool dirty;
    struct h2_conn *dirty_prev, *dirty_next;
    /* the current batch */
    struct h2_stream *streams;
    uint32_t n_cap;
    uint32_t refused; /* streams refused unprocessed: re-sent once */
    bool active;      /* a batch is in the session */
    bool got_bytes;   /* a frame of some stream's answer arrived */
    bool goaway;      /* the server sent GOAWAY: no new streams on this connection */
    /* A read met the connection's end (end_rc: 0 or a negative errno) after the event had
     * taken bytes: those are handled first, the end at the next event (conn_h2_io). */
    bool ended;
    ssize_t end_rc;
    /* Rolling streams (h2_may_roll): each stream that ends is replaced at once by a
     * stream of the next iteration, as h2load keeps -m streams in flight, instead of the
     * connection idling until the batch's slowest stream ends.  An iteration is the
     * batch's number of answers in the order they come: left counts those the current
     * iteration still waits for, early those that came past it (the next iteration's);
     * next_out the next iteration's streams already sent (at most a batch), adopt the
     * open streams when the next iteration starts (h2_submit). */
    bool rolling;
    uint32_t left, early, next_out, adopt;
    /* the request's fields, built from wbuf once while the step's bytes stay the same */
    const char *nv_wbuf;
    size_t nv_wunit, n_nv;
    nghttp2_nv nv[H2_NV_MAX];
    const char *body; /* the request body every stream of the batch sends */
    size_t body_len;
    /* output gathered from mem_send: out[off..len) still to write; pend is the rest of
     * mem_send's last chunk (valid until the next mem_send) */
    const uint8_t *pend;
    size_t pend_len;
    size_t off, len;
    uint8_t out[H2_OUT_BYTES];
    /* The response fields of the HEADERS block being read, for a flow's on_head: names
     * and values in hb (grown as needed, up to HTTP1_MAX_HEAD_BYTES like an HTTP/1.1
     * head), their offsets in w->resp.headers until the block ends (hb may move). */
    struct dynbuf hb;
    /* the stream whose HEADERS block is being read (on_begin_headers), and whether its
     * fields are kept for the step's on_head */
    int32_t hd_id;
    struct h2_stream *hd_st;
    bool hd_keep;
};

static unsigned pool_class(size_t size)
{
    if (size <= ((size_t)1 << H2_POOL_MIN_SHIFT)) {
        return 0;
    }
    if (size > H2_POOL_MAX) {
        return H2_POOL_CLASSES;
    }
    /* the smallest c with 32 << c >= size */
    unsigned bits = (unsigned)(sizeof(unsigned long) * 8) - (unsigned)__builtin_clzl(size - 1);
    return bits - H2_POOL_MIN_SHIFT;
}

static void *pool_malloc(size_t size, void *data)
{
    struct h2_pool *p = data;
    unsigned c = pool_class(size);
    if (c < H2_POOL_CLASSES && p->free[c] != NULL) {
        void **b = p->free[c];
        p->free[c] = *b;
        return b;
    }
    size_t cap = c < H2_POOL_CLASSES ? (size_t)1 << (H2_POOL_MIN_SHIFT + c) : size;
    if (cap > SIZE_MAX - 16) {
        return NULL;
    }
    uint64_t *raw = malloc(16 + cap);
    if (raw == NULL) {
        return NULL;
    }
    raw[0] = c;
    raw[1] = cap;
    return raw + 2;
}

static void pool_free(void *ptr, void *data)
{
    struct h2_pool *p = data;
    if (ptr == NULL) {
        return;
    }
    uint64_t *raw = (uint64_t *)ptr - 2;
    if (raw[0] >= H2_POOL_CLASSES) {
        free(raw);
        return;
    }
    *(void **)ptr = p->free[raw[0]];
    p->free[raw[0]] = ptr;
}

static void *pool_calloc(size_t n, size_t size, void *data)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *b = pool_malloc(n * size, data);
    if (b != NULL) {
        memset(b, 0, n * size);
    }
    return b;
}

static void *pool_realloc(void *ptr, size_t size, void *data)
{
    if (ptr == NULL) {
        return pool_malloc(size, data);
    }
    size_t cap = (size_t)((uint64_t *)ptr)[-1];
    if (size <= cap) {
        return ptr;
    }
    void *b = pool_malloc(size, data);
    if (b != NULL) {
        memcpy(b, ptr, cap);
        pool_free(ptr, data);
    }
    return b;
}

/* Gives the free lists' blocks back (after nghttp2_session_del returned every block). */
static void pool_destroy(struct h2_pool *p)
{
    for (unsigned c = 0; c < H2_POOL_CLASSES; c++) {
        while (p->free[c] != NULL) {
            void **b = p->free[c];
            p->free[c] = *b;
            free((uint64_t *)b - 2);
        }
    }
}

static struct h2_stream *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *data)
{
    struct h2_conn *h = data;
    struct h2_stream *st = stream_of(s, frame->hd.stream_id);
    if (st != NULL && st->t_first == 0) {
        st->t_first = loop_now_ns(h->vu->w->loop);
    }
    h->hd_id = frame->hd.stream_id;
    h->hd_st = st;
    h->hd_keep = h->vu->sr->steps[h->vu->step].on_head != NULL;
    h->got_bytes = true;
    dynbuf_reset(&h->hb);
    h->vu->w->resp.num_headers = 0;
    return 0;
}

/* Keeps one response field in hb for on_head (flows that check headers): false past
 * HTTP/1.1's caps (HTTP1_MAX_HEADERS fields, HTTP1_MAX_HEAD_BYTES) or out of memory. */
static bool keep_field(struct h2_conn *h, const uint8_t *name, size_t name_len,
                       const uint8_t *value, size_t value_len)
{
    struct http1_response *resp = &h->vu->w->resp;
    size_t at = h->hb.len;
    if (resp->num_headers == HTTP1_MAX_HEADERS || dynbuf_add(&h->hb, name, name_len) < 0 ||
        dynbuf_add(&h->hb, value, value_len) < 0) {
        return false;
    }
    struct http1_header *f = &resp->headers[resp->num_headers++];
    f->name = NULL; /* offsets until the block ends: hb may still move */
    f->name_len = name_len;
    f->value = (const char *)(uintptr_t)(at + name_len);
    f->value_len = value_len;
    return true;
}

/* The block has ended: the offsets of keep_field become pointers into hb. */
static void fields_fix(struct h2_conn *h)
{
    struct http1_response *resp = &h->vu->w->resp;
    for (size_t i = 0; i < resp->num_headers; i++) {
        struct http1_header *f = &resp->headers[i];
        size_t value_at = (size_t)(uintptr_t)f->value;
        f->value = h->hb.data + value_at;
        f->name = f->value - f->name_len;
    }
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t name_len, const uint8_t *value, size_t value_len, uint8_t flags,
                     void *data)
{
    (void)flags;
    struct h2_conn *h = data;
    /* A block's fields follow its on_begin_headers: the stream looked up there. */
    struct h2_stream *st =
        frame->hd.stream_id == h->hd_id ? h->hd_st : stream_of(s, frame->hd.stream_id);
    if (st == NULL || frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    if (name_len == 7 && memcmp(name, ":status", 7) == 0) {
        int status = 0;
        for (size_t i = 0; i < value_len && i < 3; i++) {
            status = status * 10 + (value[i] - '0');
        }
        if (status >= 200) {
            st->status = status; /* a 1xx is interim: the final HEADERS follows */
        }
        return 0;
    }
    if (h->hd_keep && !keep_field(h, name, name_len, value, value_len)) {
        st->head_over = true;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *data)
{
    struct h2_conn *h = data;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = true;
        h->rolling = false;
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_HEADERS)) {
        return 0;
    }
    struct h2_stream *st = stream_of(s, frame->hd.stream_id);
    struct vu *vu = h->vu;
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    if (st != NULL && st->status >= 200 && rt->on_head != NULL &&
        frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
        struct http1_response *resp = &vu->w->resp;
        fields_fix(h);
        resp->minor_version = 1;
        resp->status = st->status;
        resp->reason = NULL;
        resp->reason_len = 0;
        resp->framing = HTTP1_BODY_NONE;
        resp->content_length = 0;
        resp->keep_alive = true;
        rt->on_head(rt->data, vu->sv, resp, &vu->res);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    (void)flags;
    struct h2_conn *h = user;
    if (stream_of(s, id) != NULL && h->vu->keep_body &&
        !conn_keep_span(h->vu, (const char *)data, len)) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *data)
{
    struct h2_conn *h = data;
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct h2_stream *st = stream_of(s, frame->hd.stream_id);
        if (st != NULL) {
            st->t_sent = loop_clock_ns(h->vu->w->loop);
        }
    }
    return 0;
}

/* Swaps the VU's request times with the stream's (before and after its sample). */
static void swap_times(struct vu *vu, struct h2_times *t)
{
    struct h2_times v = {vu->t_req,      vu->t_send,      vu->t_conn_start,
                         vu->t_hs_start, vu->t_conn_done, vu->intended_ns};
    vu->t_req = t->t_req;
    vu->t_send = t->t_send;
    vu->t_conn_start = t->t_conn_start;
    vu->t_hs_start = t->t_hs_start;
    vu->t_conn_done = t->t_conn_done;
    vu->intended_ns = t->intended_ns;
    *t = v;
}

static int submit_stream(struct h2_conn *h, struct h2_stream *st);

/*
 * Replaces the stream in slot st, which just ended, by one of the next iteration (while
 * rolling): sent with the output of this read, timed from now.  The first one begins the
 * next iteration, so only when the VU may start one; once begun, an iteration gets its
 * whole batch even if the run stops meanwhile (an iteration under way runs to its end),
 * so every iteration is a batch of requests.
 */
static void roll_stream(struct h2_conn *h, struct h2_stream *st)
{
    struct vu *vu = h->vu;
    if (h->left > 0) {
        h->left--;
    } else {
        h->early++;
    }
    if (!h->rolling) {
        return;
    }
    if (h->next_out >= vu->batch) {
        return; /* the next iteration is out: its successor begins after it starts */
    }
    if (h->goaway || (h->next_out == 0 && !vu_may_start_iteration(vu))) {
        h->rolling = false;
        return;
    }
    uint64_t now = loop_now_ns(vu->w->loop);
    st->t = (struct h2_times){.t_req = now, .t_send = now, .intended_ns = now};
    if (submit_stream(h, st) < 0) {
        h->rolling = false;
        return;
    }
    h->next_out++;
    vu->inflight++;
}

/* A stream ended: one sample (a response or an error), or a refusal to re-send. */
static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *data)
{
    struct h2_conn *h = data;
    struct h2_stream *st = stream_of(s, id);
    struct vu *vu = h->vu;
    if (st == NULL || vu->inflight == 0) {
        return 0;
    }
    (void)nghttp2_session_set_stream_user_data(s, id, NULL);
    if (id == h->hd_id) {
        h->hd_st = NULL;
    }
    st->busy = false;
    if (error_code == NGHTTP2_REFUSED_STREAM && !vu->retried) {
        h->refused++; /* not processed by the server: safe to send again */
        h->rolling = false;
        return 0;
    }
    vu->inflight--;
    swap_times(vu, &st->t);
    if (error_code == NGHTTP2_NO_ERROR && st->status >= 200 && !st->head_over) {
        vu->status = st->status;
        vu->t_sent = st->t_sent ? st->t_sent : vu->t_send;
        vu->t_first = st->t_first;
        record_response(vu, loop_now_ns(vu->w->loop));
        vu->reused = true;
    } else {
        enum err_kind kind = ERR_H2_RST_STREAM;
        if (error_code == NGHTTP2_NO_ERROR) {
            kind = ERR_PROTOCOL; /* ended without a final response, or too large a head */
        } else if (h->goaway && error_code == NGHTTP2_REFUSED_STREAM) {
            kind = ERR_H2_GOAWAY;
        }
        record_error(vu, kind, 1);
    }
    swap_times(vu, &st->t);
    roll_stream(h, st);
    return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *data)
{
    (void)s;
    (void)id;
    (void)data;
    struct h2_stream *st = src->ptr;
    struct h2_conn *h = st->h;
    size_t n = h->body_len - st->body_off;
    if (n > len) {
        n = len;
    }
    memcpy(buf, h->body + st->body_off, n);
    st->body_off += n;
    if (st->body_off == h->body_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

int conn_h2_start(struct vu *vu)
{
    const struct origin *o = vu->conn_origin; /* the step's, or a redirect's */
    if (!o->http2 || (vu->tops->alpn_h2 != NULL && !vu->tops->alpn_h2(&vu->tc))) {
        return 0; /* HTTP/1.1: not asked for, or the server did not choose h2 */
    }
    /* nghttp2 copies the callbacks into the session: the table lives for this call. */
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return -ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    struct h2_conn *h = calloc(1, sizeof *h);
    if (h == NULL) {
        nghttp2_session_callbacks_del(cbs);
        return -ENOMEM;
    }
    h->vu = vu;
    dynbuf_init(&h->hb, HTTP1_MAX_HEAD_BYTES);
    /* nghttp2 copies the allocator into the session; its pool lives in h. */
    nghttp2_mem mem = {&h->pool, pool_malloc, pool_free, pool_calloc, pool_realloc};
    int rc = nghttp2_session_client_new3(&h->s, cbs, h, NULL, &mem);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        pool_destroy(&h->pool);
        dynbuf_destroy(&h->hb);
        free(h);
        return -ENOMEM;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW_BYTES},
    };
    if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, settings, 2) != 0 ||
        nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, H2_WINDOW_BYTES) != 0) {
        nghttp2_session_del(h->s);
        pool_destroy(&h->pool);
        dynbuf_destroy(&h->hb);
        free(h);
        return -ENOMEM;
    }
    vu->h2 = h;
    return 0;
}

/* Takes h off its worker's dirty list (if on it). */
static void dirty_unlink(struct h2_conn *h)
{
    if (!h->dirty) {
        return;
    }
    if (h->dirty_prev != NULL) {
        h->dirty_prev->dirty_next = h->dirty_next;
    } else {
        h->vu->w->h2_dirty = h->dirty_next;
    }
    if (h->dirty_next != NULL) {
        h->dirty_next->dirty_prev = h->dirty_prev;
    }
    h->dirty = false;
    h->dirty_prev = h->dirty_next = NULL;
}

/*
 * The session has output (new streams, answers to frames that arrived): it is written at
 * the end of the loop turn (conn_h2_flush_dirty), once for everything the turn's events
 * and timers added, as h2load does: half the write calls of a write per event.
 */
static void dirty_mark(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    if (h->dirty) {
        return;
    }
    struct worker *w = vu->w;
    h->dirty = true;
    h->dirty_prev = NULL;
    h->dirty_next = w->h2_dirty;
    if (w->h2_dirty != NULL) {
        w->h2_dirty->dirty_prev = h;
    }
    w->h2_dirty = h;
}

void conn_h2_free(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    dirty_unlink(h);
    nghttp2_session_del(h->s);
    pool_destroy(&h->pool);
    dynbuf_destroy(&h->hb);
    free(h->streams);
    free(h);
    vu->h2 = NULL;
}

/*
 * Writes what the session has to send: gathers mem_send's chunks into out and writes it.
 * 0 when all is written or the socket is full (then the loop waits for writable too), or
 * a negative errno (a write failed, -EPROTO from the session).
 */
static int h2_flush(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    struct worker *w = vu->w;
    for (;;) {
        while (h->len < sizeof h->out) {
            if (h->pend_len == 0) {
                ssize_t n = nghttp2_session_mem_send(h->s, &h->pend);
                if (n < 0) {
                    return -EPROTO;
                }
                if (n == 0) {
                    break;
                }
                h->pend_len = (size_t)n;
            }
            size_t take = sizeof h->out - h->len;
            if (take > h->pend_len) {
                take = h->pend_len;
            }
            memcpy(h->out + h->len, h->pend, take);
            h->len += take;
            h->pend += take;
            h->pend_len -= take;
        }
        if (h->off == h->len) {
            break;
        }
        ssize_t k = vu->tops->write(&vu->tc, h->out + h->off, h->len - h->off);
        if (k == -EAGAIN) {
            if (!(vu->io.events & LOOP_WRITE) &&
                loop_io_set(w->loop, &vu->io, LOOP_READ | LOOP_WRITE) < 0) {
                return -ENOMEM;
            }
            return 0;
        }
        if (k < 0) {
            return (int)k;
        }
        series_add(S(w, vu->sr->s_sent), (double)k);
        h->off += (size_t)k;
        if (h->off == h->len) {
            h->off = h->len = 0;
        }
    }
    if ((vu->io.events & LOOP_WRITE) && loop_io_set(w->loop, &vu->io, LOOP_READ) < 0) {
        return -ENOMEM;
    }
    return 0;
}

/* Whether name[0..len) is a field HTTP/2 forbids (RFC 9113 8.2.2) or carries otherwise. */
static bool field_dropped(const char *name, size_t len)
{
    static const char *const drop[] = {"host",    "connection",       "keep-alive",
                                       "upgrade", "proxy-connection", "transfer-encoding"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        if (strlen(drop[i]) == len && strncasecmp(drop[i], name, len) == 0) {
            return true;
        }
    }
    return false;
}

static nghttp2_nv nv_of(const char *name, size_t name_len, const char *value, size_t value_len)
{
    return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, name_len, value_len,
                        NGHTTP2_NV_FLAG_NONE};
}

/*
 * Builds the request's HTTP/2 fields from the rendered HTTP/1.1 request wbuf[0..wunit)
 * into h->nv (pointing into wbuf and the origin).  0, or -EINVAL (a request HTTP/2 cannot
 * carry as brunt renders it).
 */
static int build_fields(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    struct http1_request req;
    int r = http1_parse_request(vu->wbuf, vu->wunit, &req);
    if (r <= 0 || req.framing == HTTP1_BODY_CHUNKED) {
        return -EINVAL;
    }
    const struct origin *o = vu->conn_origin; /* the step's, or a redirect's */
    nghttp2_nv *nv = h->nv;
    size_t n = 0;
    const char *auth = o->url.host;
    size_t auth_len = strlen(auth);
    for (size_t i = 0; i < req.num_headers; i++) {
        const struct http1_header *f = &req.headers[i];
        if (f->name_len == 4 && strncasecmp(f->name, "host", 4) == 0) {
            auth = f->value;
            auth_len = f->value_len;
        }
    }
    nv[n++] = nv_of(":method", 7, req.method, req.method_len);
    nv[n++] = nv_of(":path", 5, req.target, req.target_len);
    nv[n++] = o->url.tls ? nv_of(":scheme", 7, "https", 5) : nv_of(":scheme", 7, "http", 4);
    nv[n++] = nv_of(":authority", 10, auth, auth_len);
    for (size_t i = 0; i < req.num_headers; i++) {
        const struct http1_header *f = &req.headers[i];
        if (field_dropped(f->name, f->name_len)) {
            continue;
        }
        /* nghttp2 lower-cases the names as it copies them (nghttp2_submit_request). */
        nv[n++] = nv_of(f->name, f->name_len, f->value, f->value_len);
    }
    h->n_nv = n;
    h->body = vu->wbuf + r;
    h->body_len = vu->wunit - (size_t)r;
    /* A pre-rendered step's bytes stay put for the run: its fields are built once.  A
     * rendered request (sendbuf) changes in place, so it is read again every time. */
    h->nv_wbuf = vu->wbuf == vu->sendbuf.data ? NULL : vu->wbuf;
    h->nv_wunit = vu->wunit;
    return 0;
}

/* Submits one stream of the request h->nv in slot st (its times set).  0 or -ENOMEM. */
static int submit_stream(struct h2_conn *h, struct h2_stream *st)
{
    st->h = h;
    st->status = 0;
    st->t_sent = st->t_first = 0;
    st->body_off = 0;
    st->head_over = false;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    /* nghttp2 copies the fields: nv may be reused at once. */
    int32_t id = nghttp2_submit_request(h->s, NULL, h->nv, h->n_nv, h->body_len ? &prd : NULL, st);
    if (id < 0) {
        return -ENOMEM;
    }
    st->id = id;
    st->busy = true;
    return 0;
}

/*
 * Whether the current step's streams roll (each one that ends replaced at once): quick
 * mode's shape only, where an iteration is nothing but this batch of the same request
 * — one pre-rendered step without hooks, a closed model whose VUs iterate until the run
 * stops (no request budget to share), not a re-send.
 */
static bool h2_may_roll(const struct vu *vu)
{
    const struct scen_rt *sr = vu->sr;
    const struct step_rt *rt = &sr->steps[vu->step];
    return vu->batch > 1 && !vu->retried && sr->sc->n_steps == 1 && sr->sc->ops == NULL &&
           !sr->limited && rt->render == NULL && rt->on_head == NULL && rt->on_done == NULL &&
           rt->follow == NULL && vu->wbuf != vu->sendbuf.data &&
           (sr->sc->executor == EXEC_CONSTANT_VUS || sr->sc->executor == EXEC_RAMPING_VUS);
}

/*
 * Submits the batch: the rendered request wbuf[0..wunit) as vu->batch streams, less the
 * streams of a rolling connection the new iteration takes over.  0, or -EINVAL (a
 * request HTTP/2 cannot carry as brunt renders it), -ENOMEM.
 */
static int h2_submit(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    if ((h->nv_wbuf != vu->wbuf || h->nv_wunit != vu->wunit || h->nv_wbuf == NULL) &&
        build_fields(vu) < 0) {
        return -EINVAL;
    }
    struct h2_times t = {vu->t_req,      vu->t_send,      vu->t_conn_start,
                         vu->t_hs_start, vu->t_conn_done, vu->intended_ns};
    uint32_t open = h->adopt;
    h->adopt = 0;
    if (open > 0 && vu->batch <= h->n_cap) {
        /* A rolling connection's next iteration: the streams sent for it count, the rest
         * of its batch goes into free slots. */
        uint32_t want = vu->batch > h->next_out ? vu->batch - h->next_out : 0;
        h->next_out = 0;
        vu->inflight = open;
        for (uint32_t i = 0; i < h->n_cap && want > 0; i++) {
            struct h2_stream *st = &h->streams[i];
            if (!st->busy) {
                st->t = t;
                if (submit_stream(h, st) < 0) {
                    return -ENOMEM;
                }
                vu->inflight++;
                want--;
            }
        }
        h->left = vu->batch > h->early ? vu->batch - h->early : 0;
        h->early = 0;
        return 0;
    }
    if (vu->batch > h->n_cap) {
        struct h2_stream *p = realloc(h->streams, vu->batch * sizeof *p);
        if (p == NULL) {
            return -ENOMEM;
        }
        h->streams = p;
        h->n_cap = vu->batch;
    }
    h->refused = 0;
    h->got_bytes = false;
    h->active = true;
    h->rolling = h2_may_roll(vu);
    h->left = vu->batch;
    h->early = h->next_out = 0;
    for (uint32_t i = 0; i < h->n_cap; i++) {
        h->streams[i].busy = false;
    }
    for (uint32_t i = 0; i < vu->batch; i++) {
        struct h2_stream *st = &h->streams[i];
        st->t = t;
        if (submit_stream(h, st) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* The current step's request timeout, in ns. */
static uint64_t h2_timeout(const struct vu *vu)
{
    uint64_t timeout = vu->sr->steps[vu->step].timeout_ns;
    return timeout ? timeout : vu->w->eng->plan->timeout_ns;
}

/* The send time of the oldest stream in flight, or since when none is older. */
static uint64_t h2_oldest(const struct h2_conn *h, uint64_t since)
{
    uint64_t oldest = since;
    for (uint32_t i = 0; i < h->n_cap; i++) {
        if (h->streams[i].busy && h->streams[i].t.t_send < oldest) {
            oldest = h->streams[i].t.t_send;
        }
    }
    return oldest;
}

void conn_h2_send(struct vu *vu)
{
    struct worker *w = vu->w;
    if (vu->woff == 0 && vu->inflight > 0) {
        uint64_t timeout = h2_timeout(vu);
        vu->t_send = loop_clock_ns(w->loop);
        vu->t_send_late = 0; /* HTTP/2 counts its whole send lag as brunt's own */
        vu_timer(vu, VT_REQUEST, vu->t_send + timeout);
        int rc = h2_submit(vu);
        if (rc < 0) {
            fail_requests(vu, ERR_OTHER);
            return;
        }
        if (vu->h2->rolling) {
            /* The request timeout runs from the oldest stream in flight: one that hangs
             * times out even while the others keep the iterations rolling. */
            vu_timer(vu, VT_REQUEST, h2_oldest(vu->h2, vu->t_send) + timeout);
        }
        vu->woff = vu->wlen; /* the batch is in the session now */
    }
    dirty_mark(vu); /* written at the loop turn's end: conn_h2_flush_dirty */
}

/* Sends the refused streams of the batch again on a new connection (once); each counts
 * in http_req_retries, as HTTP/1.1's re-sent requests do (conn.c). */
static void h2_resend(struct vu *vu, uint32_t count)
{
    series_add(S(vu->w, vu->sr->s_retries), count);
    conn_close(vu);
    vu->retried = true;
    vu->batch = vu->inflight = count;
    vu->woff = 0;
    vu->wlen = (size_t)count * vu->wunit;
    vu->t_req = loop_now_ns(vu->w->loop);
    vu_timer_cancel(vu);
    conn_connect(vu);
}

/* After input was processed: the batch is over (move on), or waits for more. */
static void h2_progress(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    if (h->rolling && h->left == 0 && vu->inflight > 0) {
        /* The iteration has its batch of answers while the next one's streams are in
         * flight: it ends, and the next, under way, starts with them (h2_submit), even
         * when the VU stops after it (carry). */
        h->adopt = vu->inflight;
        vu->keep_alive = true;
        vu->carry = h->next_out > 0;
        step_done(vu);
        vu->carry = false;
        return;
    }
    if (vu->inflight > h->refused) {
        return;
    }
    h->active = false;
    if (h->refused > 0 && !h->goaway && nghttp2_session_want_read(h->s)) {
        /* Refused while the connection goes on: streams sent before the server's
         * SETTINGS arrived, above its SETTINGS_MAX_CONCURRENT_STREAMS.  nghttp2 knows the
         * limit now and queues them within it: submitted again here, once. */
        uint32_t count = h->refused;
        series_add(S(vu->w, vu->sr->s_retries), count);
        vu->retried = true;
        vu->batch = vu->inflight = count;
        vu->woff = 0;
        vu->wlen = (size_t)count * vu->wunit;
        conn_h2_send(vu);
        return;
    }
    if (h->refused > 0) {
        h2_resend(vu, h->refused);
        return;
    }
    vu->keep_alive = !h->goaway && nghttp2_session_want_read(h->s);
    step_done(vu);
}

/* The peer closed the connection, or it failed with kind: end the batch. */
static void h2_closed(struct vu *vu, enum err_kind kind)
{
    struct h2_conn *h = vu->h2;
    if (vu->inflight == 0) {
        conn_close(vu); /* an idle connection the server closed */
        return;
    }
    if (!h->got_bytes && vu->reused && !vu->retried) {
        /* A reused connection closed before any answer (an idle close in flight): the
         * batch is re-sent once, as for HTTP/1.1 (conn.c). */
        h2_resend(vu, vu->inflight);
        return;
    }
    if (h->goaway) {
        fail_requests(vu, ERR_H2_GOAWAY);
    } else {
        fail_requests(vu, kind);
    }
}

/*
 * A readable event reads until the socket is empty (EAGAIN), as h2load does, not until
 * the first short read as HTTP/1.1 does (conn.c): the server writes each answer as it
 * makes it (nginx: HEADERS, then DATA, often as two segments), so a read taken right
 * after a short one often finds the next answers, whose refills then go out in the same
 * write at the turn's end.  On loopback a send costs the sender about 5 us of CPU (it
 * runs the server's receive side and wakes it) against 0.3 us for a read that meets
 * EAGAIN; reading on took h2c's sends from 0.75 to 0.45 per request (h2load: 0.39;
 * bench/README.md, bench/h2.sh, branch h2k).  H2_READ_EVENT_BYTES bounds the reads
 * taken on after short ones, so a peer that keeps sending small frames cannot hold the
 * loop (full reads go on as before: the windows bound them, as WINDOW_UPDATEs go out
 * only with the turn's write).
 */
void conn_h2_io(struct vu *vu, unsigned events)
{
    struct worker *w = vu->w;
    struct h2_conn *h = vu->h2;
    if (events & (LOOP_READ | LOOP_ERROR)) {
        for (size_t taken = 0;;) {
            ssize_t n = h->ended ? h->end_rc : vu->tops->read(&vu->tc, w->rbuf, READ_BUF_BYTES);
            if (n == -EAGAIN) {
                break;
            }
            if (n <= 0 && taken > 0) {
                /* As when the end comes in an event of its own: the answers this event
                 * took move the batch on first (a GOAWAY's refused streams are sent
                 * again); the socket stays readable, so the next event ends it. */
                h->ended = true;
                h->end_rc = n;
                break;
            }
            if (n <= 0) {
                h2_closed(vu, n < 0 ? errno_kind((int)-n) : ERR_RESET);
                return;
            }
            series_add(S(w, vu->sr->s_recv), (double)n);
            ssize_t used = nghttp2_session_mem_recv(h->s, (const uint8_t *)w->rbuf, (size_t)n);
            if (used < 0) {
                if (vu->inflight == 0) {
                    conn_close(vu);
                } else {
                    fail_requests(vu,
                                  used == NGHTTP2_ERR_CALLBACK_FAILURE ? ERR_OTHER : ERR_PROTOCOL);
                }
                return;
            }
            taken += (size_t)n;
            if (n < READ_BUF_BYTES && taken >= H2_READ_EVENT_BYTES) {
                /* Enough for one event.  Only after a short read: TLS leaves nothing
                 * in OpenSSL then, so the socket wakes the loop for the rest. */
                break;
            }
        }
    }
    if (h->rolling && h->left == 0 && vu->inflight > 0) {
        dirty_mark(vu);  /* what the read queued is written even if no next iteration does */
        h2_progress(vu); /* the next iteration starts: its write (conn_h2_send) takes all */
        return;
    }
    /* Answers to what arrived (SETTINGS and PING acks, WINDOW_UPDATEs), the streams
     * rolled in, and the rest of the batch when the socket was full. */
    dirty_mark(vu);
    if (!h->active) {
        if (h->goaway || !nghttp2_session_want_read(h->s)) {
            conn_close(vu); /* idle, and the server wants it gone */
        }
        return;
    }
    h2_progress(vu);
}

bool conn_h2_expire(struct vu *vu)
{
    struct h2_conn *h = vu->h2;
    uint64_t now = loop_now_ns(vu->w->loop);
    uint64_t timeout = h2_timeout(vu);
    uint32_t busy = 0, expired = 0;
    for (uint32_t i = 0; i < h->n_cap; i++) {
        busy += h->streams[i].busy;
        expired += h->streams[i].busy && h->streams[i].t.t_send + timeout <= now;
    }
    if (!h->active || busy == 0 || expired == busy) {
        return false; /* the whole batch times out: the connection is closed */
    }
    if (expired == 0) {
        /* The streams the deadline was set for have ended: the oldest left sets it. */
        vu_timer(vu, VT_REQUEST, h2_oldest(h, now) + timeout);
        return true;
    }
    for (uint32_t i = 0; i < h->n_cap; i++) {
        struct h2_stream *st = &h->streams[i];
        if (!st->busy || st->t.t_send + timeout > now) {
            continue;
        }
        /* Cancelled (RST_STREAM CANCEL): its late answer is dropped (no user data). */
        if (nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL) != 0) {
            return false;
        }
        (void)nghttp2_session_set_stream_user_data(h->s, st->id, NULL);
        if (st->id == h->hd_id) {
            h->hd_st = NULL;
        }
        st->busy = false;
        vu->inflight--;
        swap_times(vu, &st->t);
        record_error(vu, ERR_TIMEOUT, 1);
        swap_times(vu, &st->t);
        roll_stream(h, st);
    }
    vu_timer(vu, VT_REQUEST, h2_oldest(h, now) + timeout);
    if (h->rolling && h->left == 0 && vu->inflight > 0) {
        dirty_mark(vu);  /* the RST_STREAMs, even if no next iteration writes */
        h2_progress(vu); /* the next iteration starts: its write (conn_h2_send) takes all */
        return true;
    }
    dirty_mark(vu); /* the RST_STREAMs and the streams rolled in */
    h2_progress(vu);
    return true;
}

void conn_h2_flush_dirty(struct worker *w)
{
    while (w->h2_dirty != NULL) {
        struct vu *vu = w->h2_dirty->vu;
        dirty_unlink(w->h2_dirty);
        int rc = h2_flush(vu);
        if (rc < 0) {
            h2_closed(vu, rc == -EPROTO || rc == -ENOMEM ? ERR_OTHER : errno_kind(-rc));
        }
    }
}
