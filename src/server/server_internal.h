/*
 * server_internal — what the files of `brunt serve` share (not for other modules).
 *
 *   listener.c   the listening socket, the server threads (one loop each), start/stop
 *   conn.c       connections: reading requests, writing answers (held, paced,
 *                streamed), lingering close, the buffers an idle connection gives back
 *   faults.c     one complete request: counted, then a fault drawn or the route run,
 *                its answer held for a delay; stalls; the memory leak
 *   routes.c     the routes and their answers (server.h lists them)
 *   stats.c      the per-thread counters and /__stats, /__reset
 *   auction.c    the auction store and login tokens
 *   tls.c        --tls-cert/--tls-key: the server's SSL_CTX, the non-blocking
 *                handshake, and the byte I/O ops (plain socket or TLS) conn.c uses
 *   websocket.c  /ws/echo and /ws/room/{name}: the upgrade, frames in and out, the
 *                rooms (per thread) and the mailboxes that carry a broadcast to the
 *                other threads
 *
 * A connection belongs to the thread that accepted it; everything here is called on
 * that thread unless its contract says otherwise.
 */
#ifndef BRUNT_SERVER_SERVER_INTERNAL_H
#define BRUNT_SERVER_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/clock.h"
#include "core/loop.h"
#include "http/http1.h"
#include "server/auction.h"
#include "server/server.h"

#define SRV_MAX_BODY (1024 * 1024)  /* request bodies above this get 413 */
#define SRV_READ_CHUNK (64 * 1024)  /* per-thread read scratch */
#define SRV_OUT_SCRATCH (64 * 1024) /* per-thread answer scratch */
#define SRV_OUT_HIGH (64 * 1024)    /* stop handling requests above this unsent */
#define SRV_IN_MAX (HTTP1_MAX_HEAD_BYTES + SRV_MAX_BODY + SRV_READ_CHUNK)
#define SRV_OUT_MAX (64 * 1024 * 1024)       /* a connection's output buffer, hard cap */
#define SRV_MAX_BYTES (100ULL * 1024 * 1024) /* /bytes/{n} and /chunked/{n} */
#define SRV_MAX_CHUNK (1024 * 1024)          /* /chunked ?chunk= */
#define SRV_MAX_DELAY_MS 3600000ULL          /* /delay/{ms} */
#define SRV_MAX_LIST 1000                    /* ?limit= */
#define SRV_LINGER_NS (2 * NS_PER_S)         /* lingering close: drain the peer this long */
#define SRV_LINGER_BYTES (1024 * 1024)       /* ... or this many bytes */
#define SRV_LEAK_MAX (2ULL << 30)            /* leaked memory, all threads */
#define SRV_LEAK_BLOCK (1024 * 1024)
#define SRV_ACCEPT_BATCH 64
#define SRV_STATS_MAX (1024 * 1024)
#define SRV_MAX_THREADS 256
#define NONE SIZE_MAX
#define SRV_WS_MAX_MESSAGE (1024 * 1024)    /* a WebSocket message, all fragments: else 1009 */
#define SRV_WS_OUT_MAX (8 * 1024 * 1024)    /* unsent bytes of a room member: else dropped */
#define SRV_WS_INBOX_MAX (64 * 1024 * 1024) /* bytes of broadcasts (posts) waiting for a thread */
#define SRV_WS_ROOM_NAME 64                 /* a room name's bytes, at most */
#define SRV_WS_ROOM_BUCKETS 256             /* a thread's room table */
/* The answer-time histogram: 2^SRV_ANS_SUB_BITS buckets per power of two of ns, up to
 * 2^SRV_ANS_MAX_EXP ns (about 73 minutes; longer lands in the last bucket). */
#define SRV_ANS_SUB_BITS 6
#define SRV_ANS_MAX_EXP 42
#define SRV_ANS_BUCKETS ((SRV_ANS_MAX_EXP - SRV_ANS_SUB_BITS + 2) << SRV_ANS_SUB_BITS)

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
    R_REDIRECT,
    R_REDIRECT_TO,
    R_COOKIES,
    R_COOKIES_SET,
    R_GZIP,
    R_DEFLATE,
    R_WS_ECHO,
    R_WS_ROOM,
    R_UNMATCHED,
    R_INVALID,
    R_STATS, /* never counted */
    R_RESET, /* never counted */
    ROUTE_COUNT
};

enum counter {
    C_REQUESTS,
    C_CONN_ACCEPTED,
    C_CONN_REJECTED,
    C_CONN_OWNED, /* connections this thread took over (accepted here or handed to it) */
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
    C_BURN_REQUESTS,
    C_BURN_NS,
    C_SVC_REQUESTS,
    C_SVC_QUEUED,
    C_SVC_WAIT_NS,
    C_TLS_HANDSHAKES, /* TLS handshakes completed */
    C_TLS_RESUMED,    /* ... of which resumed a session */
    C_TLS_FAILED,     /* TLS handshakes that failed (the connection was closed) */
    C_WS_OPENED,      /* WebSocket sessions: upgrades answered 101 */
    C_WS_CLOSED,      /* ... sessions ended (the connection closed), for any reason */
    C_WS_MSG_IN,      /* data messages received whole (after reassembly) */
    C_WS_MSG_OUT,     /* data messages queued to a session (echoes and room deliveries) */
    C_WS_BYTES_IN,    /* their payload bytes */
    C_WS_BYTES_OUT,
    C_WS_FRAGMENTS,  /* data frames that were part of a fragmented message */
    C_WS_PINGS,      /* pings received (each answered by a pong) */
    C_WS_PONGS,      /* pongs received */
    C_WS_CLOSE_RECV, /* close frames received */
    C_WS_DROPPED,    /* room deliveries dropped: a member too slow, a thread's inbox full */
    C_WS_CLOSE_1000, /* close frames sent, by code */
    C_WS_CLOSE_1002,
    C_WS_CLOSE_1007,
    C_WS_CLOSE_1009,
    C_WS_CLOSE_OTHER, /* ... an other code echoed back, or none */
    C_ANS_COUNT,
    C_ANS_SUM_NS,
    C_ANS0, /* + bucket, 0..SRV_ANS_BUCKETS-1: the answer-time histogram */
    C_ROUTE0_ = C_ANS0 + SRV_ANS_BUCKETS,
    C_ROUTE0 = C_ROUTE0_,
    C_STATUS0 = C_ROUTE0 + ROUTE_COUNT, /* + code, 0..599 */
    C_COUNT = C_STATUS0 + 600
};

/* Status keys for by_status beside the numeric codes. */
enum { KEY_RESET = -1, KEY_MALFORMED = -2, KEY_UNANSWERED = -3 };

/* Written by their owner thread only (load + store, no locked instruction). */
struct counters {
    _Atomic uint64_t c[C_COUNT];
};

static inline void cnt_add(struct counters *k, int idx, uint64_t n)
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

struct server_thread;
struct conn;
struct srv_ws;
struct srv_ws_room;
struct srv_ws_post;
struct ssl_st;
struct ssl_ctx_st;

/*
 * How a connection moves bytes, chosen once at start (tls.c): the plain socket or TLS.
 * recv and send behave as read(2) and send(2): a count, 0 at the peer's end (recv), or
 * -1 with errno (EAGAIN when it would block, another errno when the connection broke).
 */
struct srv_io_ops {
    ssize_t (*recv)(struct conn *c, void *buf, size_t n);
    ssize_t (*send)(struct conn *c, const void *buf, size_t n);
};

struct conn {
    struct loop_io io;
    struct srv_ws *ws;    /* after a WebSocket upgrade (websocket.c), else NULL */
    struct ssl_st *ssl;   /* TLS only: NULL on a plain server */
    bool tls_ready;       /* TLS handshake done */
    bool tls_wants_read;  /* the last SSL_write waits for input */
    bool tls_wants_write; /* the last SSL_read or handshake waits for output room */
    struct loop_timer timer;
    struct server_thread *w;
    struct conn *prev, *next;           /* the worker's list of connections */
    struct conn *held_prev, *held_next; /* the worker's list of connections held by a stall */
    bool on_held;
    bool dead;
    bool peer_eof;
    bool lingering;
    bool want_write;
    uint8_t timer_kind;
    uint8_t close_after;      /* enum close_mode, applied once the output is flushed */
    uint8_t held_close;       /* enum close_mode, applied when the held answer is released */
    int held_key;             /* status key of the held answer */
    uint64_t held_arrival_ns; /* when the held answer's request was received whole */
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

struct server_thread {
    struct server *t;
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
    /* WebSocket (websocket.c): this thread's rooms, the sessions whose output grew by a
     * room delivery and wait for a flush, and the inbox of other threads' broadcasts. */
    struct srv_ws_room *rooms[SRV_WS_ROOM_BUCKETS];
    struct srv_ws *kick;
    bool kick_draining;
    struct loop_io inbox_io; /* eventfd, -1 with one thread */
    pthread_mutex_t inbox_lock;
    bool inbox_lock_init;
    struct srv_ws_post **inbox;
    size_t inbox_n, inbox_cap, inbox_bytes;
    /* Connections another thread accepted for this one (listener.c): their fds, under
     * a lock, and an eventfd that says there are some (-1 with one thread). */
    struct loop_io handoff_io;
    pthread_mutex_t handoff_lock;
    bool handoff_lock_init;
    int *handoff;
    size_t handoff_n, handoff_cap;
    uint64_t owned_baseline; /* C_CONN_OWNED at the last /__reset (under stats_lock) */
    struct counters cnt;
};

struct server {
    struct server_options o;
    const struct srv_io_ops *io; /* plain or TLS (tls.c) */
    struct ssl_ctx_st *tls_ctx;  /* NULL without --tls-cert */
    int listen_fd;
    uint16_t port;
    uint64_t start_ns;
    uint64_t secret;
    struct auction_store *auctions;
    struct server_db *db; /* dbstore.c; NULL without --postgres */
    struct server_thread *threads;
    int n_threads;
    atomic_uint next_owner; /* round robin of accepted connections over the threads */
    atomic_int open_conns;
    atomic_int ws_open; /* WebSocket sessions open now */
    bool stopped;
    pthread_mutex_t stats_lock;
    /* The service model (service.c): a min-heap of each slot's next free time. */
    pthread_mutex_t svc_lock;
    uint64_t *svc_free;
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

enum method_class { M_GET, M_POST, M_OTHER };

/* ---- conn.c ---------------------------------------------------------------------- */

/* Fills the /bytes payload ('a'..'z' repeating) once; any thread. */
void server__pattern_init(void);
/* Grows an owned (non-borrowed) buffer to hold `need` bytes.  Returns 0 or -ENOMEM. */
int server__tbuf_grow(struct tbuf *b, size_t need);
/* Makes room for `extra` more bytes of output.  Returns 0 or -ENOMEM / -E2BIG. */
int server__out_reserve(struct conn *c, size_t extra);
/* Appends to the connection's output (dropped when it cannot grow). */
void server__out_add(struct conn *c, const char *s, size_t n);
void server__out_addf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define OUT_LIT(c, lit) server__out_add((c), (lit), sizeof(lit) - 1)
/* True while c may not handle more input (an answer held, output piling up, closing). */
bool server__conn_blocked(const struct conn *c);
/* Takes c off its thread's list of connections held by a stall. */
void server__held_del(struct conn *c);
/* A new connection of thread w on socket fd (its TLS state too on a TLS server), on w's
 * list and counted by the caller in open_conns; NULL when out of memory (fd is left
 * open).  Nothing is watched yet: the caller sets the events. */
struct conn *server__conn_new(struct server_thread *w, int fd);
/* Closes and frees c at once. */
void server__conn_destroy(struct conn *c);
/* Brings c's reading, writing, timers and close in line with its state. */
void server__conn_update(struct conn *c);
void server__conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events);
void server__conn_timer_cb(struct loop *loop, struct loop_timer *timer);

/* ---- tls.c ---------------------------------------------------------------------- */

/*
 * Sets t->io, and with o.tls_cert builds t->tls_ctx from the certificate chain and key
 * (PEM, checked to match; TLS 1.2 at least; ALPN http/1.1).  Returns 0, or -ENOKEY with
 * one line in err (which file, what is wrong, what was expected).
 */
int server__tls_init(struct server *t, char *err, size_t err_len);
void server__tls_destroy(struct server *t);
/* A new connection's TLS state (server side); 0 or -ENOMEM.  Nothing on a plain server. */
int server__tls_conn_init(struct conn *c);
/* Frees c's TLS state (no alert is sent). */
void server__tls_conn_free(struct conn *c);
/*
 * Advances c's handshake.  Returns 1 when done (counted), 0 while it waits (c's
 * tls_wants_write says for which direction), or -1 when it failed (counted; c is to be
 * closed).
 */
int server__tls_handshake(struct conn *c);
/* Bytes OpenSSL has decrypted for c that no recv has taken yet (epoll cannot see them). */
size_t server__tls_pending(const struct conn *c);
/* Sends a close_notify alert, best effort, before a graceful close. */
void server__tls_close_notify(struct conn *c);
/* The "tls" member of /__stats (nothing on a plain server). */
void server__tls_stats_json(struct server *t, const uint64_t *s, struct jsonw *w);

/* ---- websocket.c ----------------------------------------------------------------- */

/*
 * Checks a WebSocket upgrade request (RFC 6455 4.2.1).  Returns 0 with *key and *key_len
 * pointing at the Sec-WebSocket-Key in h, 426 (no "Upgrade: websocket", or a version
 * other than 13: the answer must carry Sec-WebSocket-Version: 13) or 400 (not HTTP/1.1,
 * no "upgrade" token in Connection, a missing or malformed key), with *why a short
 * reason.  Pure: no I/O, no allocation (fuzz_ws_upgrade.c).
 */
int server__ws_check_upgrade(const struct http1_request *h, const char **key, size_t *key_len,
                             const char **why);
/* True when name[0..len) is a room name: 1..SRV_WS_ROOM_NAME of [A-Za-z0-9._~-]. */
bool server__ws_room_name_ok(const char *name, size_t len);
/*
 * Checks a close frame's payload (RFC 6455 5.5.1, 7.4): empty, or a 2-byte code a peer
 * may send (1000-1003, 1007-1011, 3000-4999) and a UTF-8 reason.  Returns the code to
 * answer with: the peer's code, 1005 for an empty payload (answered with an empty
 * close), 1002 for a bad length or code, 1007 for a reason that is not UTF-8.
 */
int server__ws_close_code(const uint8_t *payload, size_t len);
/* The route handler of /ws/echo and /ws/room/{name}: 101 and the session, or 400/426. */
int server__ws_upgrade(struct conn *c, const struct req *rq);
/* Reads frames from c's input while nothing holds c back; returns the frames handled. */
int server__ws_process(struct conn *c);
/* Ends c's session: leaves its room, counted as closed (from server__conn_destroy). */
void server__ws_free(struct conn *c);
/* Flushes the sessions room deliveries gave output to (after any event). */
void server__ws_kick_drain(struct server_thread *w);
/* A thread's inbox for other threads' broadcasts (an eventfd with >1 thread); 0 or -errno. */
int server__ws_thread_init(struct server_thread *w);
void server__ws_thread_destroy(struct server_thread *w);
/* The "websocket" member of /__stats. */
void server__ws_stats_json(struct server *t, const uint64_t *s, struct jsonw *w);
/* Updates c (server__conn_update without the kick drain; websocket.c drains). */
void server__conn_update_one(struct conn *c);

/* ---- faults.c -------------------------------------------------------------------- */

/* Handles one complete request: counting, faults, the route, the delay. */
void server__dispatch(struct conn *c, const struct http1_request *h, const char *body,
                      size_t body_len);
/* Releases a held answer: counted now, its close applied, pacing restarted. */
void server__hold_release(struct conn *c);
/* An unparseable or oversized request: answer, count, and close. */
void server__reject(struct conn *c, enum route r, int status, const char *msg);
/* Stall boundaries: the k-th stall (k >= 1) is [start + k*every, start + k*every + for). */
void server__stall_cb(struct loop *loop, struct loop_timer *timer);

/* ---- routes.c -------------------------------------------------------------------- */

/* The thread's answer body (w->body), composed before the head is written. */
void server__body_reset(struct server_thread *w);
void server__body_add(struct server_thread *w, const char *s, size_t n);
void server__body_adds(struct server_thread *w, const char *s);
/* Appends a whole answer: head, then w->body unless HEAD or a status without a body;
 * closes after it when the request did not keep the connection alive or close is set. */
void server__respond(struct conn *c, const struct req *rq, int status, const char *ctype,
                     const char *extra_headers, bool close);
void server__respond_json(struct conn *c, const struct req *rq, int status);
/* {"error": msg} with status; returns status. */
int server__respond_error(struct conn *c, const struct req *rq, int status, const char *msg);
/* A 401 (counted in "unauthorized"); returns 401. */
int server__unauthorized(struct conn *c, const struct req *rq);
/* Finds parameter `name` in a query string or form body q[0..qlen) ("a=1&b=2"); returns
 * true with its raw value (pointing into q). */
bool server__query_get(const char *q, size_t qlen, const char *name, const char **val,
                       size_t *vlen);
/* Decodes a form value (percent escapes, '+' for a space) from s[0..len) into
 * out[0..cap), NUL-terminated.  Returns its length, -E2BIG when it does not fit (cap 0
 * included), or -EINVAL for a bad escape.  No allocation (fuzz_form.c). */
int server__form_decode(const char *s, size_t len, char *out, size_t cap);
/* Sets rq->route (and param); returns the method the route wants. */
enum method_class server__route_match(struct req *rq);
/* Runs rq's route; *extra_delay_ns gets a delay the route asks for.  Returns the status. */
int server__run_handler(struct conn *c, const struct req *rq, uint64_t *extra_delay_ns);

/* ---- service.c ------------------------------------------------------------------- */

/* Allocates the slots of the service model (nothing without one).  0 or -ENOMEM. */
int server__service_init(struct server *t);
void server__service_destroy(struct server *t);
/*
 * Takes the first slot to come free for a request received at arrival_ns: its service
 * starts then or at arrival_ns, whichever is later, and lasts service_time_ns.  Returns
 * when it ends; *wait_ns gets the time it waited for the slot.  Any server thread (one
 * mutex, held for a heap update).
 */
uint64_t server__service_admit(struct server *t, uint64_t arrival_ns, uint64_t *wait_ns);

/* ---- stats.c --------------------------------------------------------------------- */

/* Counts a released answer by its status key (a code, KEY_RESET ...). */
void server__count_status(struct server_thread *w, int key);
/* Records the server's time for one answer counted by a status code (stats "answers"). */
void server__count_answer_time(struct server_thread *w, uint64_t ns);
/* Counts a received request under its route. */
void server__count_request(struct server_thread *w, enum route r);
/* GET /__stats and POST /__reset. */
void server__h_stats(struct conn *c, const struct req *rq);
void server__h_reset(struct conn *c, const struct req *rq);

/* ---- dbstore.c: the PostgreSQL + Redis store (brunt serve --postgres --redis) ----- */

struct server_db;
struct jsonw;
/* Connects the pool, makes the schema fresh and loads the CAS script; 0 or -errno with
 * one line in err.  Sets t->db. */
int server__db_start(struct server *t, char *err, size_t err_len);
void server__db_free(struct server *t);
/* The handlers (server thread; they block on the pool and the database). */
int server__db_auction(struct conn *c, const struct req *rq, size_t idx);
int server__db_auctions(struct conn *c, const struct req *rq, size_t limit);
/* Places a bid; returns 0 with *accepted and *current set, or the error status sent. */
int server__db_bid(struct conn *c, const struct req *rq, size_t idx, int64_t amount,
                   const char *user, bool *accepted, int64_t *current);
/* True when every auction's current bid in PostgreSQL is its highest bid. */
bool server__db_invariant_ok(struct server *t);
/* The "db" member of /__stats (nothing without a store). */
void server__db_stats_json(struct server *t, struct jsonw *w);

#endif
