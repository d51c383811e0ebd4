/*
 * target — the `brunt serve` HTTP/1.1 server: connections, routes, faults, counters.
 *
 * Threads.  Every server thread runs its own loop (core/loop.h) and registers the one
 * shared, non-blocking listening socket; whichever thread accepts a connection owns it
 * for its whole life, so nothing on the request path is shared except the auction store
 * (a mutex per auction).  A thread stops when its stop eventfd is written.
 *
 * Connections.  An idle connection holds no buffer.  Bytes are read into a per-thread
 * scratch buffer and requests are handled straight from it; only the bytes of a request
 * that is not complete yet (or that must wait behind a held answer) are copied into a
 * buffer of the connection's own, which grows while the request is read (at most a head
 * of HTTP1_MAX_HEAD_BYTES plus a body of TGT_MAX_BODY) and is freed once it is empty.
 * Answers are likewise built in a per-thread scratch buffer and only what the socket
 * does not take at once is kept.  Pipelined requests are answered in order: requests
 * are handled as long as nothing is held back (a delayed answer, a streamed body, a
 * paced body, more than TGT_OUT_HIGH bytes unsent); then reading stops until it is.
 *
 * Faults.  A delayed answer is built when its request arrives and held (out_hold marks
 * where it starts in the output) until a timer releases it.  A stall is a per-thread
 * flag flipped by a timer at the same absolute times on every thread: while it is set
 * nothing is written, but requests are still read and handled, so their answers go out
 * the moment it ends.  Counting rules are in target.h.
 */
#include "target/target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/loop.h"
#include "http/http1.h"
#include "target/auction.h"

#define TGT_MAX_BODY (1024 * 1024)  /* request bodies above this get 413 */
#define TGT_READ_CHUNK (64 * 1024)  /* per-thread read scratch */
#define TGT_OUT_SCRATCH (64 * 1024) /* per-thread answer scratch */
#define TGT_OUT_HIGH (64 * 1024)    /* stop handling requests above this unsent */
#define TGT_IN_MAX (HTTP1_MAX_HEAD_BYTES + TGT_MAX_BODY + TGT_READ_CHUNK)
#define TGT_OUT_MAX (64 * 1024 * 1024)       /* a connection's output buffer, hard cap */
#define TGT_MAX_BYTES (100ULL * 1024 * 1024) /* /bytes/{n} and /chunked/{n} */
#define TGT_MAX_CHUNK (1024 * 1024)          /* /chunked ?chunk= */
#define TGT_MAX_DELAY_MS 3600000ULL          /* /delay/{ms} */
#define TGT_MAX_LIST 1000                    /* ?limit= */
#define TGT_LINGER_NS (2 * NS_PER_S)         /* lingering close: drain the peer this long */
#define TGT_LINGER_BYTES (1024 * 1024)       /* ... or this many bytes */
#define TGT_LEAK_MAX (2ULL << 30)            /* leaked memory, all threads */
#define TGT_LEAK_BLOCK (1024 * 1024)
#define TGT_ACCEPT_BATCH 64
#define TGT_STATS_MAX (1024 * 1024)
#define TGT_MAX_THREADS 256
#define NONE SIZE_MAX

/* ---- routes and counters ------------------------------------------------------------ */

enum route {
    R_ROOT,
    R_HEALTH,
    R_LOGIN,
    R_AUCTIONS,
    R_AUCTION,
    R_BIDS,
    R_ME,
    R_ITEMS,
    R_DELAY,
    R_STATUS,
    R_BYTES,
    R_CHUNKED,
    R_UNMATCHED,
    R_INVALID,
    R_STATS, /* never counted */
    R_RESET, /* never counted */
    ROUTE_COUNT
};

static const char *const route_names[ROUTE_COUNT] = {
    "/",
    "/health",
    "/auth/login",
    "/api/v1/auctions",
    "/api/v1/auctions/{id}",
    "/api/v1/bids",
    "/users/me",
    "/items",
    "/delay/{ms}",
    "/status/{code}",
    "/bytes/{n}",
    "/chunked/{n}",
    "(unmatched)",
    "(invalid)",
    "/__stats",
    "/__reset",
};

enum counter {
    C_REQUESTS,
    C_CONN_ACCEPTED,
    C_CONN_REJECTED,
    C_BIDS_ACCEPTED,
    C_BIDS_REJECTED,
    C_UNAUTHORIZED,
    C_F_ERRORS,
    C_F_RESETS,
    C_F_MALFORMED,
    C_F_STALLED,
    C_F_LEAKED,
    C_ST_RESET,
    C_ST_MALFORMED,
    C_ST_UNANSWERED,
    C_ROUTE0,
    C_STATUS0 = C_ROUTE0 + ROUTE_COUNT, /* + code, 0..599 */
    C_COUNT = C_STATUS0 + 600
};

/* Status keys for by_status beside the numeric codes. */
enum { KEY_RESET = -1, KEY_MALFORMED = -2, KEY_UNANSWERED = -3 };

/* Written by their owner thread only (load + store, no locked instruction). */
struct counters {
    _Atomic uint64_t c[C_COUNT];
};

static void cnt_add(struct counters *k, int idx, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&k->c[idx], memory_order_relaxed);
    atomic_store_explicit(&k->c[idx], v + n, memory_order_relaxed);
}

/* ---- structures ------------------------------------------------------------------- */

/* A connection's byte buffer; `borrowed` means p is the thread's scratch buffer. */
struct tbuf {
    char *p;
    size_t len;
    size_t cap;
    bool borrowed;
};

enum close_mode { CLOSE_NONE, CLOSE_GRACEFUL, CLOSE_RESET };
enum timer_kind { T_NONE, T_HOLD, T_PACE, T_LINGER };
enum read_state { RS_HEAD, RS_BODY };

struct worker;

struct conn {
    struct loop_io io;
    struct loop_timer timer;
    struct worker *w;
    struct conn *prev, *next;           /* the worker's list of connections */
    struct conn *held_prev, *held_next; /* the worker's list of connections held by a stall */
    bool on_held;
    bool dead;
    bool peer_eof;
    bool lingering;
    bool want_write;
    uint8_t timer_kind;
    uint8_t close_after; /* enum close_mode, applied once the output is flushed */
    uint8_t held_close;  /* enum close_mode, applied when the held answer is released */
    int held_key;        /* status key of the held answer */
    /* input */
    struct tbuf in;
    size_t in_off;    /* start of the request being read */
    size_t scan_from; /* head: bytes before this have no complete line left unparsed */
    uint8_t rstate;   /* enum read_state */
    size_t head_len;
    uint64_t clen;         /* Content-Length of the request being read */
    uint8_t head_route;    /* enum route of the request being read (for a 413) */
    size_t body_r, body_w; /* chunked decode: raw read offset, decoded write offset */
    struct http1_body body;
    uint64_t linger_bytes;
    /* output */
    struct tbuf out;
    size_t out_sent;
    size_t out_hold;   /* NONE, or where the held answer starts in out */
    size_t paced_from; /* NONE, or where the paced body starts in out */
    bool pacing;
    uint64_t pace_start_ns;
    uint64_t pace_sent;
    /* streamed body (/bytes, /chunked) */
    bool streaming;
    bool stream_chunked;
    bool stream_first;
    uint64_t stream_left;
    uint64_t stream_pos;
    uint32_t chunk_size;
};

struct worker {
    struct target *t;
    int index;
    pthread_t thread;
    bool thread_started;
    struct loop *loop;
    struct loop_io listen_io;
    struct loop_io stop_io;
    struct loop_timer stall_timer;
    struct loop_timer accept_timer;
    bool stalled;
    uint64_t stall_k; /* the next (or current) stall is the k-th */
    struct conn *conns;
    struct conn *held;
    uint64_t rng;
    char *in_scratch;
    bool in_scratch_busy;
    char *out_scratch;
    bool out_scratch_busy;
    struct tbuf body; /* answers' bodies are composed here first */
    char **leak_blocks;
    size_t leak_nblocks, leak_cap_blocks;
    size_t leak_used; /* bytes used in the last block */
    uint64_t leaked;
    struct counters cnt;
};

struct target {
    struct target_options o;
    int listen_fd;
    uint16_t port;
    uint64_t start_ns;
    uint64_t secret;
    struct auction_store *auctions;
    struct worker *workers;
    int nworkers;
    atomic_int open_conns;
    bool stopped;
    pthread_mutex_t stats_lock;
    uint64_t baseline[C_COUNT]; /* counter values at the last /__reset */
};

/* A request as the handlers see it; every pointer is into the connection's input. */
struct req {
    enum route route;
    bool is_head;
    bool keep_alive;
    int minor;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const char *param; /* the {param} segment of the route, if any */
    size_t param_len;
    const struct http1_request *h;
    const char *body;
    size_t body_len;
};

static char pattern[TGT_READ_CHUNK + 64]; /* /bytes payload: 'a'..'z' repeating */
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void pattern_init(void)
{
    for (size_t i = 0; i < sizeof pattern; i++) {
        pattern[i] = (char)('a' + i % 26);
    }
}

/* ---- small helpers ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* xorshift64*: fast, good enough for fault draws. */
static uint64_t rng_next(struct worker *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static double rng_unit(struct worker *w)
{
    return (double)(rng_next(w) >> 11) * (1.0 / 9007199254740992.0);
}

/* Parses len decimal digits (no sign) into *out when <= max.  Returns 0 or -1. */
static int parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses an optionally negative decimal integer that fits int64.  Returns 0 or -1. */
static int parse_i64(const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t v;
    if (neg) {
        s++;
        len--;
    }
    if (parse_dec(s, len, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v) < 0) {
        return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Finds query parameter `name`; returns true with its raw value. */
static bool query_get(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < qlen) {
        size_t j = i;
        while (j < qlen && q[j] != '&') {
            j++;
        }
        if (j - i > nlen && q[i + nlen] == '=' && memcmp(q + i, name, nlen) == 0) {
            *val = q + i + nlen + 1;
            *vlen = j - i - nlen - 1;
            return true;
        }
        if (j - i == nlen && memcmp(q + i, name, nlen) == 0) {
            *val = q + j;
            *vlen = 0;
            return true;
        }
        i = j + 1;
    }
    return false;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 418:
        return "I'm a teapot";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

/* ---- buffers ---------------------------------------------------------------------- */

/* Grows an owned (non-borrowed) buffer to hold `need` bytes.  Returns 0 or -ENOMEM. */
static int tbuf_grow(struct tbuf *b, size_t need)
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

static void body_reset(struct worker *w)
{
    w->body.len = 0;
}

static void body_add(struct worker *w, const char *s, size_t n)
{
    if (w->body.len + n > TGT_OUT_MAX || tbuf_grow(&w->body, w->body.len + n) < 0) {
        return; /* cannot happen with the caps the handlers use; the body is cut */
    }
    memcpy(w->body.p + w->body.len, s, n);
    w->body.len += n;
}

static void body_adds(struct worker *w, const char *s)
{
    body_add(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void body_addf(struct worker *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        body_add(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* Appends s as a JSON string (quoted, escaped). */
static void body_add_jstr(struct worker *w, const char *s, size_t n)
{
    body_add(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            body_add(w, e, 2);
        } else if (c < 0x20) {
            body_addf(w, "\\u%04x", c);
        } else {
            body_add(w, (const char *)&s[i], 1);
        }
    }
    body_add(w, "\"", 1);
}

/* Makes room for `extra` more bytes of output.  Returns 0 or -ENOMEM / -E2BIG. */
static int out_reserve(struct conn *c, size_t extra)
{
    struct worker *w = c->w;
    struct tbuf *b = &c->out;
    if (b->p == NULL) {
        if (!w->out_scratch_busy && extra <= TGT_OUT_SCRATCH) {
            w->out_scratch_busy = true;
            b->p = w->out_scratch;
            b->cap = TGT_OUT_SCRATCH;
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
    if (b->len + extra > TGT_OUT_MAX) {
        return -E2BIG;
    }
    if (b->borrowed) {
        size_t cap = TGT_OUT_SCRATCH * 2;
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
    return tbuf_grow(b, b->len + extra);
}

static void out_add(struct conn *c, const char *s, size_t n)
{
    if (out_reserve(c, n) < 0) {
        c->dead = true; /* out of memory: drop the connection rather than lie */
        return;
    }
    memcpy(c->out.p + c->out.len, s, n);
    c->out.len += n;
}

__attribute__((format(printf, 2, 3))) static void out_addf(struct conn *c, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        out_add(c, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* Appends a string literal (its length known at compile time). */
#define OUT_LIT(c, lit) out_add((c), (lit), sizeof(lit) - 1)

static size_t out_pending(const struct conn *c)
{
    return c->out.len - c->out_sent;
}

/* ---- counting --------------------------------------------------------------------- */

static void count_status(struct worker *w, int key)
{
    switch (key) {
    case KEY_RESET:
        cnt_add(&w->cnt, C_ST_RESET, 1);
        break;
    case KEY_MALFORMED:
        cnt_add(&w->cnt, C_ST_MALFORMED, 1);
        break;
    case KEY_UNANSWERED:
        cnt_add(&w->cnt, C_ST_UNANSWERED, 1);
        break;
    default:
        if (key >= 0 && key < 600) {
            cnt_add(&w->cnt, C_STATUS0 + key, 1);
        }
        break;
    }
}

static void count_request(struct worker *w, enum route r)
{
    cnt_add(&w->cnt, C_REQUESTS, 1);
    cnt_add(&w->cnt, C_ROUTE0 + (int)r, 1);
}

/* Allocates (and touches) leak_bytes_per_req bytes that are never given back. */
static void leak_memory(struct worker *w)
{
    uint64_t want = w->t->o.leak_bytes_per_req;
    uint64_t cap = TGT_LEAK_MAX / (uint64_t)w->t->nworkers;
    while (want > 0 && w->leaked < cap) {
        if (w->leak_nblocks == 0 || w->leak_used == TGT_LEAK_BLOCK) {
            if (w->leak_nblocks == w->leak_cap_blocks) {
                size_t n = w->leak_cap_blocks ? w->leak_cap_blocks * 2 : 64;
                char **b = realloc(w->leak_blocks, n * sizeof *b);
                if (b == NULL) {
                    return;
                }
                w->leak_blocks = b;
                w->leak_cap_blocks = n;
            }
            char *blk = malloc(TGT_LEAK_BLOCK);
            if (blk == NULL) {
                return;
            }
            w->leak_blocks[w->leak_nblocks++] = blk;
            w->leak_used = 0;
        }
        uint64_t n = TGT_LEAK_BLOCK - w->leak_used;
        if (n > want) {
            n = want;
        }
        if (n > cap - w->leaked) {
            n = cap - w->leaked;
        }
        memset(w->leak_blocks[w->leak_nblocks - 1] + w->leak_used, 0xa5, n);
        w->leak_used += n;
        w->leaked += n;
        want -= n;
        cnt_add(&w->cnt, C_F_LEAKED, n);
    }
}

/* ---- answers ---------------------------------------------------------------------- */

/*
 * Ends a head: "Connection: close" when the connection is not kept (it shuts down once
 * the answer is out) or "keep-alive" for HTTP/1.0, the blank line, and, with a slow
 * body, the start of pacing for what follows.
 */
static void end_head(struct conn *c, const struct req *rq, bool keep)
{
    struct worker *w = c->w;
    if (!keep) {
        OUT_LIT(c, "Connection: close\r\n");
        c->close_after = CLOSE_GRACEFUL;
    } else if (rq->minor == 0) {
        OUT_LIT(c, "Connection: keep-alive\r\n");
    }
    OUT_LIT(c, "\r\n");
    if (w->t->o.slow_body_bytes_per_s > 0) {
        c->paced_from = c->out.len;
        c->pacing = true;
        c->pace_sent = 0;
        c->pace_start_ns = loop_now_ns(w->loop);
    }
}

/*
 * Appends a whole answer: head, then the thread's composed body (w->body) unless the
 * request was HEAD or the status has no body.  Closes after it when the request did
 * not keep the connection alive or `close` is set.
 */
static void respond(struct conn *c, const struct req *rq, int status, const char *ctype,
                    const char *extra_headers, bool close)
{
    struct worker *w = c->w;
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    bool keep = rq->keep_alive && !close;
    size_t blen = no_body ? 0 : w->body.len;
    out_addf(c, "HTTP/1.1 %d %s\r\nServer: brunt\r\n", status, reason_phrase(status));
    if (!no_body) {
        out_addf(c, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, blen);
    }
    if (extra_headers != NULL) {
        out_add(c, extra_headers, strlen(extra_headers));
    }
    end_head(c, rq, keep);
    if (!rq->is_head && blen > 0) {
        out_add(c, w->body.p, blen);
    }
}

static void respond_json(struct conn *c, const struct req *rq, int status)
{
    respond(c, rq, status, "application/json", NULL, false);
}

static int respond_error(struct conn *c, const struct req *rq, int status, const char *msg)
{
    body_reset(c->w);
    body_adds(c->w, "{\"error\":");
    body_add_jstr(c->w, msg, strlen(msg));
    body_adds(c->w, "}");
    respond_json(c, rq, status);
    return status;
}

/* Starts a streamed body of n bytes, plain or chunked, after its head. */
static void respond_stream(struct conn *c, const struct req *rq, uint64_t n, uint32_t chunk)
{
    bool chunked = chunk > 0 && rq->minor >= 1;
    OUT_LIT(c, "HTTP/1.1 200 OK\r\nServer: brunt\r\nContent-Type: application/octet-stream\r\n");
    if (chunked) {
        OUT_LIT(c, "Transfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n");
    } else {
        out_addf(c, "Content-Length: %llu\r\n", (unsigned long long)n);
    }
    end_head(c, rq, rq->keep_alive);
    if (rq->is_head) {
        return;
    }
    c->streaming = true;
    c->stream_chunked = chunked;
    c->stream_first = true;
    c->stream_left = n;
    c->stream_pos = 0;
    c->chunk_size = chunk;
}

/* ---- route handlers: each appends its answer and returns the status ---------------- */

static int h_root(struct conn *c, const struct req *rq)
{
    body_reset(c->w);
    body_adds(c->w, "ok\n");
    respond(c, rq, 200, "text/plain", NULL, false);
    return 200;
}

/* True when the body is a valid JSON document whose value is an object. */
static bool body_is_object(const struct req *rq)
{
    size_t i = 0;
    while (i < rq->body_len && strchr(" \t\r\n", rq->body[i]) != NULL && rq->body[i] != '\0') {
        i++;
    }
    return i < rq->body_len && rq->body[i] == '{' &&
           json_validate(rq->body, rq->body_len, NULL) == 0;
}

static int h_login(struct conn *c, const struct req *rq)
{
    struct json_span v;
    char email[AUCTION_EMAIL_MAX + 1];
    char token[AUCTION_TOKEN_MAX + 1];
    if (!body_is_object(rq)) {
        return respond_error(c, rq, 400, "body must be a JSON object");
    }
    if (json_get_member(rq->body, rq->body_len, "email", &v) != 0 || v.type != JSON_STRING) {
        return respond_error(c, rq, 400, "missing string field: email");
    }
    int n = json_span_text(&v, email, sizeof email);
    if (n == -E2BIG) {
        return respond_error(c, rq, 400, "email too long");
    }
    if (n <= 0) {
        return respond_error(c, rq, 400, "email must not be empty");
    }
    if (json_get_member(rq->body, rq->body_len, "password", &v) != 0 || v.type != JSON_STRING ||
        v.len <= 2) {
        return respond_error(c, rq, 400, "missing non-empty string field: password");
    }
    int tl = auction_token_issue(c->w->t->secret, email, (size_t)n, token, sizeof token);
    if (tl < 0) {
        return respond_error(c, rq, 400, "invalid email");
    }
    body_reset(c->w);
    body_adds(c->w, "{\"token\":\"");
    body_add(c->w, token, (size_t)tl);
    body_adds(c->w, "\"}");
    respond_json(c, rq, 200);
    return 200;
}

static size_t list_limit(const struct req *rq, bool *bad)
{
    const char *v;
    size_t vl;
    uint64_t n = 20;
    *bad = false;
    if (query_get(rq->query, rq->query_len, "limit", &v, &vl) &&
        parse_dec(v, vl, TGT_MAX_LIST, &n) < 0) {
        *bad = true;
    }
    return (size_t)n;
}

static void auction_json(struct worker *w, size_t i)
{
    body_addf(w,
              "{\"id\":\"auction_%zu\",\"title\":\"Auction %zu\",\"current_bid\":%lld,"
              "\"status\":\"active\"}",
              i, i, (long long)auction_current(w->t->auctions, i));
}

static int h_auctions(struct conn *c, const struct req *rq)
{
    struct worker *w = c->w;
    bool bad;
    size_t limit = list_limit(rq, &bad);
    if (bad) {
        return respond_error(c, rq, 400, "limit must be an integer from 0 to 1000");
    }
    const char *st;
    size_t stl;
    if (query_get(rq->query, rq->query_len, "status", &st, &stl) &&
        !(stl == 6 && memcmp(st, "active", 6) == 0)) {
        limit = 0; /* every auction is active */
    }
    body_reset(w);
    body_adds(w, "{\"auctions\":[");
    for (size_t i = 0; i < limit && i < AUCTION_COUNT; i++) {
        if (i > 0) {
            body_adds(w, ",");
        }
        auction_json(w, i);
    }
    body_adds(w, "]}");
    respond_json(c, rq, 200);
    return 200;
}

static int h_auction(struct conn *c, const struct req *rq)
{
    size_t idx;
    if (auction_parse_id(rq->param, rq->param_len, &idx) < 0) {
        return respond_error(c, rq, 404, "no such auction");
    }
    body_reset(c->w);
    auction_json(c->w, idx);
    respond_json(c, rq, 200);
    return 200;
}

/* An integer amount: a JSON number without fraction or exponent, or a string of one. */
static int bid_amount(const struct json_span *v, int64_t *out)
{
    char tmp[32];
    if (v->type == JSON_NUMBER) {
        return parse_i64(v->start, v->len, out);
    }
    if (v->type == JSON_STRING) {
        int n = json_span_text(v, tmp, sizeof tmp);
        return n > 0 ? parse_i64(tmp, (size_t)n, out) : -1;
    }
    return -1;
}

static int h_bids(struct conn *c, const struct req *rq)
{
    struct worker *w = c->w;
    struct json_span v;
    char id[16];
    size_t idx;
    int64_t amount, current;
    if (!body_is_object(rq)) {
        return respond_error(c, rq, 400, "body must be a JSON object");
    }
    if (json_get_member(rq->body, rq->body_len, "auction_id", &v) != 0 || v.type != JSON_STRING) {
        return respond_error(c, rq, 400, "missing string field: auction_id");
    }
    int n = json_span_text(&v, id, sizeof id);
    if (json_get_member(rq->body, rq->body_len, "amount", &v) != 0 || bid_amount(&v, &amount) < 0) {
        return respond_error(c, rq, 400, "amount must be an integer (number or string)");
    }
    if (n <= 0 || auction_parse_id(id, (size_t)n, &idx) < 0) {
        return respond_error(c, rq, 404, "no such auction");
    }
    int r = auction_bid(w->t->auctions, idx, amount, &current);
    body_reset(w);
    if (r == AUCTION_BID_ACCEPTED) {
        cnt_add(&w->cnt, C_BIDS_ACCEPTED, 1);
        body_addf(w, "{\"accepted\":true,\"auction_id\":\"auction_%zu\",\"amount\":%lld}", idx,
                  (long long)amount);
        respond_json(c, rq, 200);
        return 200;
    }
    cnt_add(&w->cnt, C_BIDS_REJECTED, 1);
    body_addf(w,
              "{\"error\":\"bid too low\",\"accepted\":false,\"auction_id\":\"auction_%zu\","
              "\"current_bid\":%lld}",
              idx, (long long)current);
    respond_json(c, rq, 400);
    return 400;
}

/* Verifies "Authorization: Bearer <token>"; returns the email length or -EACCES. */
static int authorize(struct conn *c, const struct req *rq, char *email, size_t cap)
{
    const struct http1_header *a =
        http1_find_header(rq->h->headers, rq->h->num_headers, "authorization");
    if (a == NULL || a->value_len < 7 || strncasecmp(a->value, "bearer ", 7) != 0) {
        return -EACCES;
    }
    const char *tok = a->value + 7;
    size_t len = a->value_len - 7;
    while (len > 0 && (*tok == ' ' || *tok == '\t')) {
        tok++;
        len--;
    }
    return auction_token_verify(c->w->t->secret, tok, len, email, cap);
}

static int unauthorized(struct conn *c, const struct req *rq)
{
    cnt_add(&c->w->cnt, C_UNAUTHORIZED, 1);
    body_reset(c->w);
    body_adds(c->w, "{\"error\":\"unauthorized\"}");
    respond(c, rq, 401, "application/json", "WWW-Authenticate: Bearer\r\n", false);
    return 401;
}

static int h_me(struct conn *c, const struct req *rq)
{
    char email[AUCTION_EMAIL_MAX + 1];
    int n = authorize(c, rq, email, sizeof email);
    if (n < 0) {
        return unauthorized(c, rq);
    }
    body_reset(c->w);
    body_adds(c->w, "{\"email\":");
    body_add_jstr(c->w, email, (size_t)n);
    body_adds(c->w, "}");
    respond_json(c, rq, 200);
    return 200;
}

static int h_items(struct conn *c, const struct req *rq)
{
    struct worker *w = c->w;
    char email[AUCTION_EMAIL_MAX + 1];
    if (authorize(c, rq, email, sizeof email) < 0) {
        return unauthorized(c, rq);
    }
    bool bad;
    size_t limit = list_limit(rq, &bad);
    if (bad) {
        return respond_error(c, rq, 400, "limit must be an integer from 0 to 1000");
    }
    body_reset(w);
    body_adds(w, "{\"items\":[");
    for (size_t i = 0; i < limit; i++) {
        body_addf(w, "%s{\"id\":\"item_%zu\",\"name\":\"Item %zu\",\"price\":%zu}",
                  i > 0 ? "," : "", i, i, 100 + (i * 37) % 900);
    }
    body_adds(w, "]}");
    respond_json(c, rq, 200);
    return 200;
}

static int h_delay(struct conn *c, const struct req *rq, uint64_t *extra_delay_ns)
{
    uint64_t ms;
    if (parse_dec(rq->param, rq->param_len, TGT_MAX_DELAY_MS, &ms) < 0) {
        return respond_error(c, rq, 400, "delay must be an integer from 0 to 3600000 ms");
    }
    *extra_delay_ns = ms * NS_PER_MS;
    body_reset(c->w);
    body_addf(c->w, "{\"delay_ms\":%llu}", (unsigned long long)ms);
    respond_json(c, rq, 200);
    return 200;
}

static int h_status(struct conn *c, const struct req *rq)
{
    uint64_t code;
    if (parse_dec(rq->param, rq->param_len, 599, &code) < 0 || code < 100) {
        return respond_error(c, rq, 400, "status must be an integer from 100 to 599");
    }
    int st = (int)code;
    if (st == 101) {
        /* A switch to nothing: the answer stands alone and the connection ends. */
        OUT_LIT(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n");
        c->close_after = CLOSE_GRACEFUL;
        return 101;
    }
    if (st < 200) {
        out_addf(c, "HTTP/1.1 %d %s\r\n\r\n", st, reason_phrase(st));
        st = 200;
    }
    body_reset(c->w);
    body_addf(c->w, "{\"status\":%d}", (int)code);
    respond_json(c, rq, st);
    return st;
}

static int h_bytes(struct conn *c, const struct req *rq, bool chunked)
{
    uint64_t n, chunk = 1024;
    if (parse_dec(rq->param, rq->param_len, TGT_MAX_BYTES, &n) < 0) {
        return respond_error(c, rq, 400, "n must be an integer from 0 to 104857600");
    }
    if (chunked) {
        const char *v;
        size_t vl;
        if (query_get(rq->query, rq->query_len, "chunk", &v, &vl) &&
            (parse_dec(v, vl, TGT_MAX_CHUNK, &chunk) < 0 || chunk == 0)) {
            return respond_error(c, rq, 400, "chunk must be an integer from 1 to 1048576");
        }
    }
    respond_stream(c, rq, n, chunked ? (uint32_t)chunk : 0);
    return 200;
}

static void h_stats(struct conn *c, const struct req *rq)
{
    struct jsonw jw;
    size_t len;
    jsonw_init(&jw, 0, TGT_STATS_MAX);
    if (target_stats_json(c->w->t, &jw) != 0) {
        jsonw_destroy(&jw);
        respond_error(c, rq, 500, "stats document failed");
        return;
    }
    const char *doc = jsonw_data(&jw, &len);
    body_reset(c->w);
    body_add(c->w, doc, len);
    jsonw_destroy(&jw);
    respond_json(c, rq, 200);
}

static void h_reset(struct conn *c, const struct req *rq)
{
    struct target *t = c->w->t;
    pthread_mutex_lock(&t->stats_lock);
    for (int k = 0; k < C_COUNT; k++) {
        uint64_t sum = 0;
        for (int i = 0; i < t->nworkers; i++) {
            sum += atomic_load_explicit(&t->workers[i].cnt.c[k], memory_order_relaxed);
        }
        t->baseline[k] = sum;
    }
    pthread_mutex_unlock(&t->stats_lock);
    body_reset(c->w);
    body_adds(c->w, "{\"reset\":true}");
    respond_json(c, rq, 200);
}

/* ---- routing ---------------------------------------------------------------------- */

enum method_class { M_GET, M_POST, M_OTHER };

static bool path_is(const struct req *rq, const char *p)
{
    size_t n = strlen(p);
    return rq->path_len == n && memcmp(rq->path, p, n) == 0;
}

/* Matches "prefix{param}" where param is one non-empty segment. */
static bool path_param(struct req *rq, const char *prefix)
{
    size_t n = strlen(prefix);
    if (rq->path_len <= n || memcmp(rq->path, prefix, n) != 0 ||
        memchr(rq->path + n, '/', rq->path_len - n) != NULL) {
        return false;
    }
    rq->param = rq->path + n;
    rq->param_len = rq->path_len - n;
    return true;
}

/* Sets rq->route (and param); returns the method the route wants. */
static enum method_class route_match(struct req *rq)
{
    static const struct {
        const char *path;
        enum route r;
        enum method_class m;
    } exact[] = {
        {"/", R_ROOT, M_GET},
        {"/health", R_HEALTH, M_GET},
        {"/auth/login", R_LOGIN, M_POST},
        {"/api/v1/auctions", R_AUCTIONS, M_GET},
        {"/api/v1/bids", R_BIDS, M_POST},
        {"/users/me", R_ME, M_GET},
        {"/items", R_ITEMS, M_GET},
        {"/__stats", R_STATS, M_GET},
        {"/__reset", R_RESET, M_POST},
    };
    static const struct {
        const char *prefix;
        enum route r;
    } param[] = {
        {"/api/v1/auctions/", R_AUCTION}, {"/delay/", R_DELAY},
        {"/status/", R_STATUS},           {"/bytes/", R_BYTES},
        {"/chunked/", R_CHUNKED},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (path_is(rq, exact[i].path)) {
            rq->route = exact[i].r;
            return exact[i].m;
        }
    }
    for (size_t i = 0; i < sizeof param / sizeof param[0]; i++) {
        if (path_param(rq, param[i].prefix)) {
            rq->route = param[i].r;
            return M_GET;
        }
    }
    rq->route = R_UNMATCHED;
    return M_OTHER;
}

static int run_handler(struct conn *c, const struct req *rq, uint64_t *extra_delay_ns)
{
    switch (rq->route) {
    case R_ROOT:
    case R_HEALTH:
        return h_root(c, rq);
    case R_LOGIN:
        return h_login(c, rq);
    case R_AUCTIONS:
        return h_auctions(c, rq);
    case R_AUCTION:
        return h_auction(c, rq);
    case R_BIDS:
        return h_bids(c, rq);
    case R_ME:
        return h_me(c, rq);
    case R_ITEMS:
        return h_items(c, rq);
    case R_DELAY:
        return h_delay(c, rq, extra_delay_ns);
    case R_STATUS:
        return h_status(c, rq);
    case R_BYTES:
        return h_bytes(c, rq, false);
    case R_CHUNKED:
        return h_bytes(c, rq, true);
    default:
        return respond_error(c, rq, 404, "not found");
    }
}

static void hold_release(struct conn *c);

/* Handles one complete request: counting, faults, the route, the delay. */
static void dispatch(struct conn *c, const struct http1_request *h, const char *body,
                     size_t body_len)
{
    struct worker *w = c->w;
    const struct target_options *o = &w->t->o;
    struct req rq = {0};
    rq.h = h;
    rq.keep_alive = h->keep_alive;
    rq.minor = h->minor_version;
    rq.body = body;
    rq.body_len = body_len;
    rq.path = h->target;
    const char *q = memchr(h->target, '?', h->target_len);
    rq.path_len = q ? (size_t)(q - h->target) : h->target_len;
    rq.query = q ? q + 1 : h->target + h->target_len;
    rq.query_len = q ? h->target_len - rq.path_len - 1 : 0;
    enum method_class mc = M_OTHER;
    if (h->method_len == 3 && memcmp(h->method, "GET", 3) == 0) {
        mc = M_GET;
    } else if (h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0) {
        mc = M_GET;
        rq.is_head = true;
    } else if (h->method_len == 4 && memcmp(h->method, "POST", 4) == 0) {
        mc = M_POST;
    }
    enum method_class want = route_match(&rq);
    bool method_ok = want == M_OTHER || want == mc;

    if (rq.route == R_STATS || rq.route == R_RESET) {
        /* Never counted, never delayed or faulted. */
        if (!method_ok) {
            body_reset(w);
            body_adds(w, "{\"error\":\"method not allowed\"}");
            respond(c, &rq, 405, "application/json",
                    rq.route == R_STATS ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n", false);
        } else if (rq.route == R_STATS) {
            h_stats(c, &rq);
        } else {
            h_reset(c, &rq);
        }
        return;
    }

    count_request(w, rq.route);
    if (o->leak_bytes_per_req > 0) {
        leak_memory(w);
    }
    if (w->stalled) {
        cnt_add(&w->cnt, C_F_STALLED, 1);
    }
    uint64_t delay = o->delay_ns;
    if (o->delay_max_ns > o->delay_ns) {
        delay += rng_next(w) % (o->delay_max_ns - o->delay_ns + 1);
    }
    /* Where this answer starts, relative to what is still unsent: writing the answer may
     * drop the already-sent prefix of the output buffer (out_reserve). */
    size_t mark_unsent = c->out.len - c->out_sent;
    int key;
    uint8_t close_mode = CLOSE_NONE;
    double u =
        (o->reset_rate > 0 || o->malformed_rate > 0 || o->error_rate > 0) ? rng_unit(w) : 1.0;
    if (u < o->reset_rate) {
        cnt_add(&w->cnt, C_F_RESETS, 1);
        key = KEY_RESET;
        close_mode = CLOSE_RESET;
    } else if (u < o->reset_rate + o->malformed_rate) {
        static const char garbage[] =
            "\x01\x02\xff garbage: this is not an HTTP response \xfe\r\n\r\n";
        cnt_add(&w->cnt, C_F_MALFORMED, 1);
        out_add(c, garbage, sizeof garbage - 1);
        key = KEY_MALFORMED;
        close_mode = CLOSE_GRACEFUL;
    } else if (u < o->reset_rate + o->malformed_rate + o->error_rate) {
        cnt_add(&w->cnt, C_F_ERRORS, 1);
        key = respond_error(c, &rq, 500, "injected fault");
    } else if (!method_ok) {
        key = 405;
        body_reset(w);
        body_adds(w, "{\"error\":\"method not allowed\"}");
        respond(c, &rq, 405, "application/json",
                want == M_GET ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n", false);
    } else {
        uint64_t extra = 0;
        key = run_handler(c, &rq, &extra);
        delay += extra;
    }

    if (delay > 0) {
        /* Hold the answer (and whatever the handler decided to do after it). */
        c->out_hold = c->out_sent + mark_unsent;
        c->held_key = key;
        c->held_close = close_mode > c->close_after ? close_mode : c->close_after;
        c->close_after = CLOSE_NONE;
        c->timer_kind = T_HOLD;
        loop_timer_start(w->loop, &c->timer, loop_now_ns(w->loop) + delay);
        return;
    }
    count_status(w, key);
    if (close_mode > c->close_after) {
        c->close_after = close_mode;
    }
}

/* Releases a held answer: counted now, its close applied, pacing restarted. */
static void hold_release(struct conn *c)
{
    c->out_hold = NONE;
    count_status(c->w, c->held_key);
    if (c->held_close > c->close_after) {
        c->close_after = c->held_close;
    }
    c->held_close = CLOSE_NONE;
    if (c->pacing) {
        c->pace_start_ns = loop_now_ns(c->w->loop);
        c->pace_sent = 0;
    }
}

/* An unparseable or oversized request: answer, count, and close. */
static void reject(struct conn *c, enum route r, int status, const char *msg)
{
    struct worker *w = c->w;
    struct http1_request dummy = {0};
    struct req rq = {0};
    rq.h = &dummy;
    rq.minor = 1;
    count_request(w, r);
    respond_error(c, &rq, status, msg);
    count_status(w, status);
    c->close_after = CLOSE_GRACEFUL;
}

/* ---- reading requests ------------------------------------------------------------- */

static bool conn_blocked(const struct conn *c)
{
    return c->dead || c->close_after != CLOSE_NONE || c->lingering || c->out_hold != NONE ||
           c->streaming || out_pending(c) > TGT_OUT_HIGH || (c->pacing && out_pending(c) > 0);
}

/*
 * Handles every complete request in the input, in order, while nothing holds the
 * connection back.  Returns the number of requests handled (counting rejections).
 */
static int conn_process(struct conn *c)
{
    struct http1_request h;
    int handled = 0;
    while (!conn_blocked(c)) {
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
                reject(c, R_INVALID, 431, "request head too large");
                handled++;
                break;
            }
            if (n < 0) {
                reject(c, R_INVALID, 400, "malformed request");
                handled++;
                break;
            }
            c->head_len = (size_t)n;
            c->scan_from = 0;
            if (h.framing == HTTP1_BODY_NONE) {
                c->in_off += (size_t)n;
                dispatch(c, &h, buf + c->in_off, 0);
                handled++;
                continue;
            }
            struct req rq = {.path = h.target, .path_len = h.target_len};
            const char *q = memchr(h.target, '?', h.target_len);
            if (q != NULL) {
                rq.path_len = (size_t)(q - h.target);
            }
            route_match(&rq);
            c->head_route = rq.route == R_STATS || rq.route == R_RESET ? R_UNMATCHED : rq.route;
            c->clen = h.content_length;
            if (h.framing == HTTP1_BODY_LENGTH && h.content_length > TGT_MAX_BODY) {
                reject(c, (enum route)c->head_route, 413, "request body too large");
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
                reject(c, R_INVALID, 400, "malformed request body");
                return handled + 1;
            }
            if (dlen > 0) {
                if (c->body_w - (c->in_off + c->head_len) + dlen > TGT_MAX_BODY) {
                    c->rstate = RS_HEAD;
                    reject(c, (enum route)c->head_route, 413, "request body too large");
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
             * the payload (capped at TGT_MAX_BODY), not with the bytes on the wire. */
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
            reject(c, R_INVALID, 400, "malformed request");
            return handled + 1;
        }
        dispatch(c, &h, buf + body_off, body_len);
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
    struct worker *w = c->w;
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
        if (cap > TGT_IN_MAX) {
            cap = TGT_IN_MAX;
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
    struct worker *w = c->w;
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
            c->in.cap = TGT_READ_CHUNK;
            c->in.borrowed = true;
        } else if (tbuf_grow(&c->in, 4096) < 0) {
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
    if (need > TGT_IN_MAX) {
        need = TGT_IN_MAX;
    }
    if (need > c->in.cap && tbuf_grow(&c->in, need) < 0) {
        c->dead = true;
        return 0;
    }
    if (c->in.cap == c->in.len) {
        c->dead = true; /* cannot happen within the head and body caps; never spin */
    }
    return c->in.cap - c->in.len;
}

static void conn_read(struct conn *c)
{
    struct worker *w = c->w;
    if (c->lingering) {
        for (;;) {
            ssize_t n = read(c->io.fd, w->in_scratch, TGT_READ_CHUNK);
            if (n > 0) {
                c->linger_bytes += (uint64_t)n;
                if (c->linger_bytes > TGT_LINGER_BYTES) {
                    c->dead = true;
                    return;
                }
                continue;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                c->dead = true;
            }
            return;
        }
    }
    for (int i = 0; i < 16; i++) {
        if (conn_blocked(c) || c->peer_eof) {
            break;
        }
        size_t room = in_make_room(c);
        if (room == 0) {
            break;
        }
        ssize_t n = read(c->io.fd, c->in.p + c->in.len, room);
        if (n > 0) {
            c->in.len += (size_t)n;
            conn_process(c);
            if ((size_t)n < room) {
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
}

/* ---- writing answers -------------------------------------------------------------- */

static void held_add(struct conn *c)
{
    struct worker *w = c->w;
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

static void held_del(struct conn *c)
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
        out_add(c, line, (size_t)k);
        c->streaming = false;
        return;
    }
    int k = snprintf(line, sizeof line, "%llx%s\r\n", (unsigned long long)n, ext);
    if (out_reserve(c, (size_t)k + n + 2) < 0) {
        c->dead = true;
        return;
    }
    out_add(c, line, (size_t)k);
    uint64_t left = n;
    while (left > 0) {
        size_t off = (size_t)(c->stream_pos % 26);
        size_t piece = left < TGT_READ_CHUNK ? (size_t)left : TGT_READ_CHUNK;
        out_add(c, pattern + off, piece);
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
    struct worker *w = c->w;
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
            n = c->stream_left < TGT_READ_CHUNK ? (size_t)c->stream_left : TGT_READ_CHUNK;
            body_start = 0;
            if (n > budget) {
                n = (size_t)budget;
            }
        }
        if (n == 0) {
            pace_wait(c);
            return;
        }
        ssize_t k = send(c->io.fd, src, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->want_write = true;
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

static void conn_destroy(struct conn *c)
{
    struct worker *w = c->w;
    if (c->out_hold != NONE) {
        count_status(w, KEY_UNANSWERED);
    }
    loop_io_del(w->loop, &c->io);
    loop_timer_stop(w->loop, &c->timer);
    close(c->io.fd);
    held_del(c);
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
    if (shutdown(c->io.fd, SHUT_WR) < 0) {
        c->dead = true;
        return;
    }
    c->lingering = true;
    c->timer_kind = T_LINGER;
    loop_timer_start(c->w->loop, &c->timer, loop_now_ns(c->w->loop) + TGT_LINGER_NS);
}

/*
 * Brings a connection up to date after any event: flushes, handles requests that
 * were waiting, applies a pending close, gives back scratch buffers, and sets the
 * events to watch.  May free c.
 */
static void conn_update(struct conn *c)
{
    struct worker *w = c->w;
    for (;;) {
        if (c->dead) {
            conn_destroy(c);
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
            conn_destroy(c);
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
    if (c->lingering || (!conn_blocked(c) && !c->peer_eof)) {
        ev |= LOOP_READ;
    }
    if (c->want_write && !w->stalled) {
        ev |= LOOP_WRITE;
    }
    if (loop_io_set(w->loop, &c->io, ev) < 0) {
        conn_destroy(c);
    }
}

static void conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)loop;
    struct conn *c = io->data;
    if (events & LOOP_ERROR) {
        c->dead = true;
    } else if (events & LOOP_READ) {
        conn_read(c);
    }
    conn_update(c);
}

static void conn_timer_cb(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct conn *c = timer->data;
    uint8_t kind = c->timer_kind;
    c->timer_kind = T_NONE;
    switch (kind) {
    case T_HOLD:
        hold_release(c);
        break;
    case T_LINGER:
        c->dead = true;
        break;
    default:
        break;
    }
    conn_update(c);
}

/* ---- the worker ------------------------------------------------------------------- */

static void accept_resume_cb(struct loop *loop, struct loop_timer *timer)
{
    struct worker *w = timer->data;
    (void)loop_io_set(loop, &w->listen_io, LOOP_READ);
}

static void listen_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)events;
    struct worker *w = io->data;
    struct target *t = w->t;
    for (int i = 0; i < TGT_ACCEPT_BATCH; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: pause accepting briefly instead of spinning. */
                (void)loop_io_set(loop, io, 0);
                loop_timer_start(loop, &w->accept_timer, loop_now_ns(loop) + 50 * NS_PER_MS);
            }
            return;
        }
        cnt_add(&w->cnt, C_CONN_ACCEPTED, 1);
        if (atomic_fetch_add(&t->open_conns, 1) >= t->o.max_conns) {
            atomic_fetch_sub(&t->open_conns, 1);
            cnt_add(&w->cnt, C_CONN_REJECTED, 1);
            close(fd);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            atomic_fetch_sub(&t->open_conns, 1);
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->w = w;
        c->io.fd = fd;
        c->io.cb = conn_io_cb;
        c->io.data = c;
        c->timer.cb = conn_timer_cb;
        c->timer.data = c;
        c->out_hold = NONE;
        c->paced_from = NONE;
        c->next = w->conns;
        if (w->conns != NULL) {
            w->conns->prev = c;
        }
        w->conns = c;
        if (loop_io_set(loop, &c->io, LOOP_READ) < 0) {
            conn_destroy(c);
        }
    }
}

static void stop_cb(struct loop *loop, struct loop_io *io, unsigned events)
{
    (void)events;
    uint64_t n;
    if (read(io->fd, &n, sizeof n) < 0) {
        /* nothing pending; the stop is still requested */
    }
    loop_stop(loop);
}

/* Stall boundaries: the k-th stall (k >= 1) is [start + k*every, start + k*every + for). */
static void stall_cb(struct loop *loop, struct loop_timer *timer)
{
    struct worker *w = timer->data;
    const struct target_options *o = &w->t->o;
    uint64_t now = loop_now_ns(loop);
    uint64_t begin = w->t->start_ns + w->stall_k * o->stall_every_ns;
    if (!w->stalled && now < begin + o->stall_for_ns) {
        w->stalled = true;
        loop_timer_start(loop, timer, begin + o->stall_for_ns);
        return;
    }
    w->stalled = false;
    /* Skip stalls missed entirely (a very slow iteration), then arm the next. */
    do {
        w->stall_k++;
    } while (w->t->start_ns + w->stall_k * o->stall_every_ns + o->stall_for_ns <= now);
    loop_timer_start(loop, timer, w->t->start_ns + w->stall_k * o->stall_every_ns);
    while (w->held != NULL) {
        struct conn *c = w->held;
        held_del(c);
        conn_update(c);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    (void)loop_run(w->loop);
    while (w->conns != NULL) {
        conn_destroy(w->conns);
    }
    return NULL;
}

/* ---- public API ------------------------------------------------------------------- */

void target_options_default(struct target_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 0;
    o->threads = 1;
    o->max_conns = 65536;
}

static bool rate_ok(double r)
{
    return r >= 0.0 && r <= 1.0; /* also false for NaN */
}

static int check_options(const struct target_options *o)
{
    if (o->threads < 1 || o->threads > TGT_MAX_THREADS || o->max_conns < 1 ||
        !rate_ok(o->error_rate) || !rate_ok(o->reset_rate) || !rate_ok(o->malformed_rate) ||
        o->error_rate + o->reset_rate + o->malformed_rate > 1.0 + 1e-9) {
        return -EINVAL;
    }
    if (o->stall_every_ns > 0 && o->stall_for_ns >= o->stall_every_ns) {
        return -EINVAL;
    }
    if (o->delay_ns > INT64_MAX / 2 || o->delay_max_ns > INT64_MAX / 2) {
        return -EINVAL;
    }
    return 0;
}

static int open_listener(const struct target_options *o, int *fd_out, uint16_t *port_out)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port[8];
    const char *host = o->host ? o->host : "127.0.0.1";
    int fd = -1, err;
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    snprintf(port, sizeof port, "%u", (unsigned)o->port);
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = -errno;
        goto fail;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        err = -errno;
        goto fail;
    }
    if (ai->ai_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 65535) < 0) {
        err = -errno;
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        err = -errno;
        goto fail;
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(ai);
    *fd_out = fd;
    return 0;

fail:
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(ai);
    return err;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort: the limit stays as it was */
    }
}

static int worker_init(struct target *t, struct worker *w, int index)
{
    int err;
    w->t = t;
    w->index = index;
    uint64_t s = t->o.seed + 0x632be59bd9b4e019ULL * (uint64_t)(index + 1);
    w->rng = splitmix64(&s) | 1;
    w->in_scratch = malloc(TGT_READ_CHUNK);
    w->out_scratch = malloc(TGT_OUT_SCRATCH);
    if (w->in_scratch == NULL || w->out_scratch == NULL) {
        return -ENOMEM;
    }
    err = loop_new(&w->loop);
    if (err < 0) {
        return err;
    }
    w->stop_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->stop_io.fd < 0) {
        return -errno;
    }
    w->stop_io.cb = stop_cb;
    w->stop_io.data = w;
    err = loop_io_set(w->loop, &w->stop_io, LOOP_READ);
    if (err < 0) {
        return err;
    }
    w->listen_io.fd = t->listen_fd;
    w->listen_io.cb = listen_cb;
    w->listen_io.data = w;
    err = loop_io_set(w->loop, &w->listen_io, LOOP_READ);
    if (err < 0) {
        return err;
    }
    w->accept_timer.cb = accept_resume_cb;
    w->accept_timer.data = w;
    w->stall_timer.cb = stall_cb;
    w->stall_timer.data = w;
    if (t->o.stall_every_ns > 0 && t->o.stall_for_ns > 0) {
        w->stall_k = 1;
        loop_timer_start(w->loop, &w->stall_timer, t->start_ns + t->o.stall_every_ns);
    }
    return 0;
}

static void worker_destroy(struct worker *w)
{
    if (w->loop != NULL) {
        loop_io_del(w->loop, &w->listen_io);
        loop_io_del(w->loop, &w->stop_io);
    }
    if (w->stop_io.fd >= 0) {
        close(w->stop_io.fd);
    }
    loop_free(w->loop);
    free(w->in_scratch);
    free(w->out_scratch);
    free(w->body.p);
    for (size_t i = 0; i < w->leak_nblocks; i++) {
        free(w->leak_blocks[i]);
    }
    free(w->leak_blocks);
}

int target_start(const struct target_options *o, struct target **out)
{
    int err = check_options(o);
    if (err < 0) {
        return err;
    }
    pthread_once(&pattern_once, pattern_init);
    raise_nofile();
    struct target *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -ENOMEM;
    }
    t->o = *o;
    t->listen_fd = -1;
    pthread_mutex_init(&t->stats_lock, NULL);
    uint64_t s = o->seed ^ 0x5eed5eed5eed5eedULL;
    t->secret = splitmix64(&s);
    err = auction_store_new(&t->auctions);
    if (err < 0) {
        goto fail;
    }
    err = open_listener(o, &t->listen_fd, &t->port);
    if (err < 0) {
        goto fail;
    }
    t->start_ns = clock_now_ns();
    t->workers = calloc((size_t)o->threads, sizeof *t->workers);
    if (t->workers == NULL) {
        err = -ENOMEM;
        goto fail;
    }
    t->nworkers = o->threads;
    for (int i = 0; i < o->threads; i++) {
        t->workers[i].stop_io.fd = -1;
    }
    for (int i = 0; i < o->threads; i++) {
        err = worker_init(t, &t->workers[i], i);
        if (err < 0) {
            goto fail;
        }
    }
    for (int i = 0; i < o->threads; i++) {
        int e = pthread_create(&t->workers[i].thread, NULL, worker_main, &t->workers[i]);
        if (e != 0) {
            err = -e;
            goto fail;
        }
        t->workers[i].thread_started = true;
    }
    *out = t;
    return 0;

fail:
    target_free(t);
    return err;
}

uint16_t target_port(const struct target *t)
{
    return t->port;
}

void target_stop(struct target *t)
{
    if (t == NULL || t->stopped) {
        return;
    }
    t->stopped = true;
    for (int i = 0; i < t->nworkers; i++) {
        struct worker *w = &t->workers[i];
        if (w->thread_started) {
            uint64_t one = 1;
            if (write(w->stop_io.fd, &one, sizeof one) < 0) {
                /* the counter is already non-zero: the thread will stop anyway */
            }
        }
    }
    for (int i = 0; i < t->nworkers; i++) {
        struct worker *w = &t->workers[i];
        if (w->thread_started) {
            pthread_join(w->thread, NULL);
            w->thread_started = false;
        }
    }
    if (t->listen_fd >= 0) {
        for (int i = 0; i < t->nworkers; i++) {
            if (t->workers[i].loop != NULL) {
                loop_io_del(t->workers[i].loop, &t->workers[i].listen_io);
            }
        }
        close(t->listen_fd);
        t->listen_fd = -1;
    }
}

void target_free(struct target *t)
{
    if (t == NULL) {
        return;
    }
    target_stop(t);
    for (int i = 0; i < t->nworkers; i++) {
        worker_destroy(&t->workers[i]);
    }
    free(t->workers);
    auction_store_free(t->auctions);
    pthread_mutex_destroy(&t->stats_lock);
    free(t);
}

static void stats_sum(struct target *t, uint64_t *sum, bool since_reset)
{
    memset(sum, 0, sizeof(uint64_t) * C_COUNT);
    for (int i = 0; i < t->nworkers; i++) {
        for (int k = 0; k < C_COUNT; k++) {
            sum[k] += atomic_load_explicit(&t->workers[i].cnt.c[k], memory_order_relaxed);
        }
    }
    if (since_reset) {
        pthread_mutex_lock(&t->stats_lock);
        for (int k = 0; k < C_COUNT; k++) {
            sum[k] = sum[k] >= t->baseline[k] ? sum[k] - t->baseline[k] : 0;
        }
        pthread_mutex_unlock(&t->stats_lock);
    }
}

int target_stats_json(struct target *t, struct jsonw *w)
{
    uint64_t s[C_COUNT];
    char key[16];
    stats_sum(t, s, true);
    jsonw_obj_begin(w);
    jsonw_key(w, "requests");
    jsonw_uint(w, s[C_REQUESTS]);
    jsonw_key(w, "by_route");
    jsonw_obj_begin(w);
    for (int r = 0; r < ROUTE_COUNT; r++) {
        if (s[C_ROUTE0 + r] > 0) {
            jsonw_key(w, route_names[r]);
            jsonw_uint(w, s[C_ROUTE0 + r]);
        }
    }
    jsonw_obj_end(w);
    jsonw_key(w, "by_status");
    jsonw_obj_begin(w);
    for (int code = 0; code < 600; code++) {
        if (s[C_STATUS0 + code] > 0) {
            snprintf(key, sizeof key, "%d", code);
            jsonw_key(w, key);
            jsonw_uint(w, s[C_STATUS0 + code]);
        }
    }
    static const struct {
        const char *name;
        int idx;
    } special[] = {
        {"reset", C_ST_RESET}, {"malformed", C_ST_MALFORMED}, {"unanswered", C_ST_UNANSWERED}};
    for (size_t i = 0; i < 3; i++) {
        if (s[special[i].idx] > 0) {
            jsonw_key(w, special[i].name);
            jsonw_uint(w, s[special[i].idx]);
        }
    }
    jsonw_obj_end(w);
    jsonw_key(w, "connections_accepted");
    jsonw_uint(w, s[C_CONN_ACCEPTED]);
    jsonw_key(w, "connections_rejected");
    jsonw_uint(w, s[C_CONN_REJECTED]);
    jsonw_key(w, "connections_open");
    jsonw_int(w, atomic_load(&t->open_conns));
    jsonw_key(w, "bids");
    jsonw_obj_begin(w);
    jsonw_key(w, "accepted");
    jsonw_uint(w, s[C_BIDS_ACCEPTED]);
    jsonw_key(w, "rejected");
    jsonw_uint(w, s[C_BIDS_REJECTED]);
    jsonw_obj_end(w);
    jsonw_key(w, "unauthorized");
    jsonw_uint(w, s[C_UNAUTHORIZED]);
    jsonw_key(w, "invariant_ok");
    jsonw_bool(w, auction_invariant_ok(t->auctions));
    jsonw_key(w, "faults");
    jsonw_obj_begin(w);
    jsonw_key(w, "errors");
    jsonw_uint(w, s[C_F_ERRORS]);
    jsonw_key(w, "resets");
    jsonw_uint(w, s[C_F_RESETS]);
    jsonw_key(w, "malformed");
    jsonw_uint(w, s[C_F_MALFORMED]);
    jsonw_key(w, "stalled_requests");
    jsonw_uint(w, s[C_F_STALLED]);
    jsonw_key(w, "leaked_bytes");
    jsonw_uint(w, s[C_F_LEAKED]);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

uint64_t target_total_requests(struct target *t)
{
    uint64_t s[C_COUNT];
    stats_sum(t, s, false);
    return s[C_REQUESTS];
}

uint64_t target_total_connections(struct target *t)
{
    uint64_t s[C_COUNT];
    stats_sum(t, s, false);
    return s[C_CONN_ACCEPTED];
}
