/*
 * server — the built-in HTTP/1.1 target service behind `brunt serve`, used for demos
 * and as ground truth in tests: an auction API, test endpoints, fault injection, and
 * exact counters of what it served (GET /__stats).
 *
 * One epoll loop per server thread (core/loop.h), all threads sharing one listening
 * socket.  Connections cost a small struct when idle: buffers are allocated only while
 * a request is being read or a response written.  Counters are per thread (relaxed
 * atomics written by their owner only) and summed when /__stats is asked for.
 *
 * Routes (JSON unless noted; HEAD is accepted wherever GET is, without a body):
 *   GET  /  and /health                      200 text/plain "ok\n"
 *   POST /auth/login {"email","password"}    200 {"token"} | 400 {"error"}; a JSON object,
 *                                            or a form (x-www-form-urlencoded) body
 *   GET  /api/v1/auctions?status=&limit=     200 {"auctions":[...]} (limit 20, max 1000)
 *   GET  /api/v1/auctions/{id}               200 {...} | 404
 *   POST /api/v1/bids {"auction_id","user_id","amount"}
 *                                            200 accepted | 400 too low / bad | 404
 *   GET  /users/me, /items?limit=            need "Authorization: Bearer <token>", else 401
 *   GET  /delay/{ms}                         200 after ms (<= 3600000) without blocking
 *   GET  /status/{code}                      that status (100..599); 1xx other than 101
 *                                            is sent as an interim response followed by
 *                                            a final 200 (counted as 200); 101 is sent
 *                                            alone and the connection is then closed
 *   GET  /bytes/{n}                          n bytes (<= 100 MiB), Content-Length
 *   GET  /chunked/{n}?chunk=SIZE             n bytes chunked in SIZE-byte chunks (default
 *                                            1024, <= 1 MiB), an extension on the first
 *                                            chunk and an "X-Trailer" trailer
 *   ANY  /redirect/{n}?status=S              n > 0: S (301/302/303/307/308, default 302)
 *                                            to /redirect/{n-1} (query kept); n = 0:
 *                                            200 {"redirected","method","body_bytes"}
 *   ANY  /redirect-to?url=U&status=S         S (default 302) with Location: U
 *   GET  /cookies/set?NAME=VALUE&...         200, a Set-Cookie (Path=/) per pair (<= 16)
 *   GET  /cookies                            200 {"cookie": the Cookie header received}
 *   GET  /gzip, /deflate                     200 JSON with Content-Encoding gzip/deflate
 *   GET  /ws/echo                            WebSocket: every message echoed (websocket.c)
 *   GET  /ws/room/{name}                     WebSocket: each message to every member of the
 *                                            room, the sender included; name is 1..64 of
 *                                            A-Z a-z 0-9 . _ ~ -, else 400
 *   GET  /__stats, POST /__reset             counters; reset zeroes them (not the bids)
 *   anything else                            404 (unknown path) or 405 (wrong method)
 *
 * What the counters count (tests compare against these, so precisely):
 *  - "requests" and "by_route" count every request the server received completely (a
 *    whole head and a whole body), once, at the moment it was received, including
 *    those answered with an injected fault.  Requests that could not be parsed or were
 *    too large, and so got 400 / 431 / 413 and a close, are counted too: the first two
 *    under the route "(invalid)", a 413 under its route.  A path matching no route is
 *    counted under "(unmatched)".  GET /__stats and POST /__reset are never counted.
 *    Bytes of a request that never arrived whole (the peer closed mid-request) are not
 *    counted at all.  Requests are taken one at a time (HTTP/1.1 answers in order):
 *    whole requests pipelined behind an answer that is still held by a delay are
 *    counted when their turn comes, so if the connection dies first (the client resets
 *    or times out), they are not counted.  A 101 or a Connection: close answer ends
 *    the connection, and requests pipelined after it are neither answered nor counted.
 *  - "by_status" counts each counted request once, by the answer it got: the final
 *    status code ("200", "404", ...), "reset" (the connection was reset instead),
 *    "malformed" (garbage was sent instead), or "unanswered" (the server stopped, or
 *    the connection failed with an error or reset, while the answer was still held
 *    back by a delay; a peer that merely closes its side is noticed only when the
 *    answer is written, so that answer counts by its status).  A
 *    status is counted when the answer is released to the connection (after its delay,
 *    if any), so once every connection is idle sum(by_status) == requests.
 *  - "faults": "errors" (injected 500s), "resets", "malformed", "stalled_requests"
 *    (answers generated while the server was stalled, so held until the stall ended),
 *    and "leaked_bytes".
 *  - "connections_accepted" counts accepted connections (also those closed at once
 *    because max_conns was reached, which "connections_rejected" counts as well).
 *    "connections_by_thread": per server thread, the connections it took over.  They
 *    are dealt out in turn (connection k to thread k mod threads), so these differ by
 *    at most one (out of memory, the accepting thread keeps one), and once every
 *    hand-over is taken they sum to accepted minus rejected.
 *  - "bids": bids "accepted" and "rejected" (too low); "unauthorized": 401 answers.
 *  - "invariant_ok": every auction's current bid equals the highest it ever accepted.
 *  - "answers": the server's own timing of each answer it counts in by_status by a
 *    status code: from the moment the request was received whole to the moment its
 *    answer was released to the connection (after any delay, service queue, stall or
 *    burn), both read from the server thread's loop clock (CLOCK_MONOTONIC, the clock
 *    brunt measures with).  "count", "sum_ns", and "min_ns", "p50_ns", "p90_ns",
 *    "p99_ns", "max_ns" from a log-linear histogram of 64 buckets per power of two:
 *    each is the lower edge of its bucket (at most 1/64 below the true value), so a
 *    client's duration, which contains the server's time, is never below it.
 *  - "websocket": "sessions" "opened" (upgrades answered 101, also counted as requests
 *    and by_status "101"), "closed" (sessions whose connection ended, for any reason)
 *    and "open" (a gauge); "messages": "received" (data messages received whole, after
 *    reassembly, that passed the checks), "sent" (data messages queued to a session:
 *    an echo, or one per member a room message went to), "bytes_received" and
 *    "bytes_sent" (their payload bytes), "fragments" (data frames of fragmented
 *    messages), "dropped" (room deliveries not made: a member with more than
 *    SRV_WS_OUT_MAX unsent, which is reset, or another thread's inbox full);
 *    "pings" (each answered by a pong), "pongs", "closes_received", and
 *    "closes_sent" by code ("1000", "1002", "1007", "1009", "other").  An upgrade
 *    refused (400, 426) is only a request.
 *  - "burn": "requests" that burned CPU and "cpu_ns", the thread CPU time they burned
 *    (measured with CLOCK_THREAD_CPUTIME_ID, so it matches /proc/PID/task/TID/stat).
 *  - "service": "slots" and "time_ns" as configured, "requests" that took a slot,
 *    "queued" (those that found every slot busy) and "wait_ns" (their total wait).
 * POST /__reset zeroes every counter above (not the gauge "connections_open", nor the
 * configuration in "service").
 *
 * Faults (struct server_options): a delay (fixed, or uniform in [delay, delay_max])
 * on every route except /__stats and /__reset; then, for those routes, one draw
 * decides between a reset (probability reset_rate), garbage (malformed_rate), a 500
 * (error_rate), or the normal answer — a request that draws a fault is not otherwise
 * handled (a bid is not placed).  A stall freezes the whole server: for stall_for_ns,
 * starting at every multiple k >= 1 of stall_every_ns after server_start, nothing is
 * written on any connection; requests arriving meanwhile are read and handled and
 * their answers sent when the stall ends.  slow_body_bytes_per_s paces every response
 * body; leak_bytes_per_req allocates and keeps that much memory per counted request
 * (at most 2 GiB in all).
 *
 * Load shaping, for tests of the tools that watch a server (these apply to every
 * counted request, before the fault draw):
 *  - burn_cpu_ns: the server thread spends that much CPU on the request, busy, inside
 *    server_burn_cpu() (a distinctive symbol, never inlined, so a profiler puts it on
 *    top), before the answer is built.  The thread serves nothing else meanwhile.
 *  - service_slots and service_time_ns: the server has that many slots; each request
 *    occupies one for service_time_ns, and a request that finds every slot busy waits
 *    for the first free one in arrival order (FIFO, across all threads).  The answer is
 *    held until its service ends, without blocking the thread, so the capacity is
 *    exactly service_slots / service_time_ns requests per second and the queue is an
 *    M/D/c queue the capacity search can be checked against.
 * The burn comes first, on the thread; the service hold and delay_ns add up, both
 * counted from the moment the request was received whole.
 *
 * TLS (tls_cert and tls_key, both or neither): every connection is HTTPS, the
 * handshake done without blocking in the thread's loop, ALPN http/1.1 only.  /__stats
 * then has "tls": {"handshakes", "resumed" (of those, sessions resumed), "failed"}.
 *
 * WebSocket (RFC 6455): the upgrade needs "Upgrade: websocket" and version 13 (else 426,
 * naming 13), HTTP/1.1, the "upgrade" token in Connection and a Sec-WebSocket-Key of 16
 * bytes in base64 (else 400).  Client frames must be masked; an RSV bit, an unknown
 * opcode, a bad control frame, fragments out of order or a bad close code get close
 * 1002; text that is not UTF-8 1007; a message over SRV_WS_MAX_MESSAGE (1 MiB, all
 * fragments) 1009.  A ping gets a pong with its payload; a close gets the same code
 * back, then the connection is closed.  Faults and delays apply to the upgrade request
 * like any other (a delayed 101 holds the session's frames behind it); frames
 * themselves are never delayed, faulted or paced.  No extension or subprotocol.
 *
 * Left out: HTTP/2, client certificates, persistent state, idle-connection timeouts.
 */
#ifndef BRUNT_SERVER_SERVER_H
#define BRUNT_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw;
struct server;

struct server_options {
    const char *host;        /* address to bind: "127.0.0.1" (default), "::1", "0.0.0.0" ... */
    uint16_t port;           /* 0 = any free port */
    int threads;             /* server threads, >= 1 (default 1), at most 256 */
    uint64_t delay_ns;       /* added to every answer */
    uint64_t delay_max_ns;   /* when > delay_ns: delay is uniform in [delay, delay_max] */
    double error_rate;       /* probability of a 500 */
    double reset_rate;       /* probability of a reset connection instead of an answer */
    double malformed_rate;   /* probability of garbage (not HTTP) then a close */
    uint64_t stall_every_ns; /* 0 = no stalls */
    uint64_t stall_for_ns;   /* < stall_every_ns */
    uint64_t slow_body_bytes_per_s; /* 0 = unpaced */
    uint64_t leak_bytes_per_req;    /* 0 = no leak */
    int max_conns;                  /* open connections across threads (default 65536) */
    uint64_t seed;                  /* faults' PRNG seed and token secret */
    uint64_t burn_cpu_ns;           /* CPU burned per counted request (0 = none) */
    uint32_t service_slots;         /* 0 = no service model; at most SERVER_MAX_SLOTS */
    uint64_t service_time_ns;       /* each request's service time in a slot */
    /* Auctions and bids in PostgreSQL, the bid's compare-and-set in Redis (dbstore.c);
     * both DSN and URL, or neither.  The switches produce known pathologies. */
    const char *pg_dsn;    /* libpq DSN, or NULL for the in-memory store */
    const char *redis_url; /* redis://[:password@]host[:port] */
    int db_pool;           /* connections in the pool (default 8) */
    bool db_missing_index; /* no index on brunt_bids(auction_id) */
    bool db_n_plus_one;    /* the listing reads each auction's bid count on its own */
    bool db_cache_miss;    /* one miss in ten cached, for 1 ms: reads mostly miss */
    const char *tls_cert;  /* PEM certificate chain: HTTPS on every connection (or NULL) */
    const char *tls_key;   /* PEM private key of tls_cert */
    char *error; /* out: when start fails on the database or TLS, one line (may be NULL) */
    size_t error_len;
};

#define SERVER_MAX_SLOTS 1000000u
#define SERVER_MAX_BURN_NS (10ULL * 1000 * 1000 * 1000) /* 10 s of CPU per request */

/* Fills o with the defaults named above (everything else zero). */
void server_options_default(struct server_options *o);

/*
 * Validates the options, raises RLIMIT_NOFILE to its hard limit, binds and listens on
 * host:port, and starts the server threads.  Returns 0 with *out set, -EINVAL for bad
 * options (rates outside [0, 1] or summing over 1, stall_for >= stall_every, threads
 * or max_conns out of range, service_slots or service_time_ns without the other or out
 * of range, burn_cpu_ns above SERVER_MAX_BURN_NS, a host that is not a numeric address,
 * tls_cert without tls_key or the reverse), -ENOKEY when the TLS certificate or key
 * cannot be loaded or do not match (one line in o->error), -EADDRINUSE when
 * the port is taken, or another negative errno.  Call from one thread at a time.
 */
int server_start(const struct server_options *o, struct server **out);

/* The port actually bound (useful with port 0). */
uint16_t server_port(const struct server *t);

/*
 * Stops the threads and closes the listener and every connection (answers still held
 * by a delay count as "unanswered").  Idempotent; call from the thread that started
 * the target, never from a server thread.  Counters stay readable afterwards.
 */
void server_stop(struct server *t);

/* Stops (if needed) and frees everything.  server_free(NULL) does nothing. */
void server_free(struct server *t);

/*
 * Writes the /__stats document (see the top of this file) as one object value into w.
 * Any thread.  Returns 0, or w's sticky error.
 */
int server_stats_json(struct server *t, struct jsonw *w);

/*
 * Spends ns of the calling thread's CPU time busy (mixing integers, reading the thread
 * CPU clock every few microseconds), and returns the CPU time actually spent (>= ns).
 * Never inlined, so it is one symbol in a profile.  Any thread.
 */
uint64_t server_burn_cpu(uint64_t ns);

/* Totals for a summary line: requests counted since start (not reset by /__reset). */
uint64_t server_total_requests(struct server *t);
/* Connections accepted since start (not reset by /__reset). */
uint64_t server_total_connections(struct server *t);

#endif
