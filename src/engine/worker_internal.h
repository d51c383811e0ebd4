/*
 * worker_internal — what the pieces of one worker thread share: the worker, its
 * scenarios' run state, its VUs and their connections, and the calls between them.
 *
 * A worker is split by responsibility, one file each (docs/internals.md has the tour):
 *   conn.c        a VU's connection: connect, send, read, parse responses, over the
 *                 origin's transport (engine/transport.h)
 *   vu.c          the VU state machine: iterations, steps, sleeps, timeouts, failures
 *   executor.c    the executors behind an ops table (closed, ramping, open model)
 *   reqmetrics.c  request metrics: series per step and status, samples per response
 *   shard.c       the once-a-second hand-over of samples to the coordinator
 *   worker.c      the thread: setup, the loop, the stop levels
 * Everything here runs on the worker's own thread, except the shard hand-over, which
 * takes the worker's mutex.  Nothing outside engine/ includes this file.
 */
#ifndef BRUNT_ENGINE_WORKER_INTERNAL_H
#define BRUNT_ENGINE_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/dynbuf.h"
#include "core/loop.h"
#include "engine/engine_internal.h"
#include "engine/schedule.h"
#include "engine/step.h"
#include "engine/transport.h"
#include "http/http1.h"
#include "metrics/registry.h"

#define READ_BUF_BYTES (64 * 1024)
#define STATUS_CACHE 8
#define TICK_NS NS_PER_S
/* The worker thread's timer slack (prctl): the kernel's default for a thread.  A wake-up
 * late by no more than this is brunt's own asking, not the system's holding it back. */
#define WORKER_TIMER_SLACK_NS (50 * 1000)
#define SEND_BUF_MAX PLAN_MAX_REQUEST_BYTES
/* A VU whose connect fails at once waits before its next step: the first wait, doubling
 * per failure up to the cap; a connect that succeeds resets it (docs/metrics.md). */
#define CONNECT_BACKOFF_MIN_NS (1 * NS_PER_MS)
#define CONNECT_BACKOFF_MAX_NS (1 * NS_PER_S)

/* The error kinds are the registry's (metrics/registry.h: the `kind` tag's values). */
enum err_kind {
    ERR_REFUSED = ERROR_KIND_REFUSED,
    ERR_RESET = ERROR_KIND_RESET,
    ERR_TIMEOUT = ERROR_KIND_TIMEOUT,
    ERR_PROTOCOL = ERROR_KIND_PROTOCOL,
    ERR_DNS = ERROR_KIND_DNS,
    ERR_TLS = ERROR_KIND_TLS,
    ERR_TLS_EXPIRED = ERROR_KIND_TLS_EXPIRED,
    ERR_TLS_UNKNOWN_ISSUER = ERROR_KIND_TLS_UNKNOWN_ISSUER,
    ERR_TLS_SELF_SIGNED = ERROR_KIND_TLS_SELF_SIGNED,
    ERR_TLS_NAME_MISMATCH = ERROR_KIND_TLS_NAME_MISMATCH,
    ERR_CONNECT = ERROR_KIND_CONNECT,
    ERR_NOFILE = ERROR_KIND_NOFILE,
    ERR_INTERRUPTED = ERROR_KIND_INTERRUPTED,
    ERR_H2_RST_STREAM = ERROR_KIND_H2_RST_STREAM, /* engine/conn_h2.c */
    ERR_H2_GOAWAY = ERROR_KIND_H2_GOAWAY,
    ERR_WS_HANDSHAKE = ERROR_KIND_WS_HANDSHAKE, /* engine/conn_ws.c */
    ERR_WS_PROTOCOL = ERROR_KIND_WS_PROTOCOL,
    ERR_WS_CLOSED = ERROR_KIND_WS_CLOSED,
    ERR_OTHER = ERROR_KIND_OTHER,
    ERR_KINDS = ERROR_KIND_COUNT
};

enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_HANDSHAKING, CONN_OPEN };
/* Whether a worker's answers wait for the arrival window (worker.c): not for this plan;
 * not yet (no read has brought a kernel timestamp); yes; no more (worker_defer_stop). */
enum defer_state { DEFER_NO, DEFER_FIRST_STAMP, DEFER_ON, DEFER_STOPPED };
enum vu_state { VU_OFF, VU_IDLE, VU_BUSY };
enum vu_timer { VT_NONE, VT_CONNECT, VT_REQUEST, VT_SLEEP, VT_CONTINUE, VT_WS };
enum parse_phase { PH_HEAD, PH_BODY };

/* The timing trends every response adds a sample to. */
enum req_trend {
    RT_DURATION,
    RT_BLOCKED,
    RT_CONNECTING,
    RT_TLS,
    RT_SENDING,
    RT_WAITING,
    RT_RECEIVING,
    RT_QUEUED,
    RT_LATENCY,
    RT_COUNT
};

/*
 * The series of one (step, status) pair.  Indices are stable for the run (every shard
 * has the same layout); the pointers are those of the current shard's registry and are
 * refreshed when gen differs from the worker's series_gen (a new shard, or a new series
 * that may have moved the registry's array).  Zero samples (TLS time without TLS, queue
 * time in the closed model, connect time on a reused connection) are only counted here
 * and recorded in one go when the shard is handed over (reqm_fold_zeros), which gives
 * the same histogram as recording each.
 */
struct status_ix {
    int status;
    bool h2; /* HTTP/2 samples: their own series, tagged proto=HTTP/2.0 */
    int reqs, failed, trend[RT_COUNT];
    uint32_t gen;
    struct series *p_reqs, *p_failed, *p_trend[RT_COUNT];
    uint32_t zeros[RT_COUNT];
};

/* Statuses a step's expected-response rule is cached for (HTTP statuses have 3 digits). */
#define STATUS_BITS 1000

/* What a worker caches per step at setup: the answers of its step ops, and series. */
struct step_rt {
    struct status_ix cache[STATUS_CACHE];
    int n_cache;
    char name_tags[2048];          /* canonical tags without status/expected_response */
    int *checks;                   /* series index of each check of the step */
    int samples[STEP_MAX_SAMPLES]; /* series index of each of its sample series */
    size_t n_samples;
    uint64_t expected[(STATUS_BITS + 63) / 64]; /* status_expected, asked once */
    uint64_t timeout_ns;                        /* 0: the plan's */
    size_t body_cap;                            /* response bytes kept for on_done */
    bool idempotent; /* GET, HEAD, PUT, DELETE, OPTIONS, TRACE: may be re-sent (RFC 9110) */
    /* The step's per-request hooks (NULL for pre-rendered steps) and their data. */
    int (*render)(const void *step, void *vu, struct dynbuf *out);
    void (*on_head)(const void *step, void *vu, const struct http1_response *resp,
                    struct step_results *res);
    enum step_verdict (*on_done)(const void *step, void *vu, int status, uint64_t duration_ns,
                                 const char *body, size_t body_len, bool truncated,
                                 struct step_results *res);
    bool (*follow)(const void *step, void *vu, struct dynbuf *out, const struct origin **origin);
    bool (*ws_match)(const void *step, void *vu, const char *msg, size_t len, bool binary);
    const void *data;
    /* A WebSocket connect step: the series of its sessions (conn_ws.c, enum ws_series). */
    int ws[8];
};

struct scen_rt;

struct vu {
    struct worker *w;
    struct scen_rt *sr;
    uint32_t gid; /* global VU number, 1-based */
    enum vu_state state;
    bool retire;   /* closed model: stop after the current iteration */
    uint64_t iter; /* iterations completed by this VU */
    uint32_t step;
    uint64_t iter_start_ns, intended_ns, queued_ns;
    struct loop_timer timer; /* lazy: armed at or before deadline_ns (vu.c) */
    enum vu_timer timer_kind;
    uint64_t deadline_ns;           /* when timer_kind is due */
    struct loop_timer retire_timer; /* ramping-vus: gracefulRampDown deadline */
    struct vu *next_idle;
    /* the connection: its transport (the origin's) and the loop's registration of its fd */
    struct transport_conn tc;
    const struct transport_ops *tops;
    struct loop_io io;
    enum conn_state cstate;
    struct h2_conn *h2;  /* the HTTP/2 session on this connection (conn_h2.c); NULL: HTTP/1.1 */
    struct ws_conn *ws;  /* the WebSocket session on this connection (conn_ws.c), or NULL */
    bool reused;         /* completed at least one response on this fd */
    bool retried;        /* the current request was re-sent after a stale close */
    uint64_t backoff_ns; /* wait after the next failed connect (0: none failed yet) */
    uint32_t batch;      /* requests of this step sent in one write (pipelining) */
    uint32_t reserved;   /* requests per request step in this iteration */
    uint32_t inflight;   /* responses still expected */
    size_t woff, wlen;
    enum parse_phase phase;
    bool head_seen_bytes; /* bytes of the current response have arrived */
    int status;
    bool keep_alive;
    struct http1_body body;
    char *hbuf; /* partial response head, only when a head straddles reads */
    uint32_t hlen;
    uint32_t hscan;       /* bytes of hbuf known to hold no end of head (resume offset) */
    uint32_t t_send_late; /* ns the system woke the loop late in the send's turn, past
                           * the timer slack (capped) */
    uint64_t t_req, t_conn_start, t_conn_done, t_send, t_sent, t_first;
    uint64_t t_hs_start; /* TCP connected, the (TLS) handshake begins */
    /* what is being sent: a step's pre-rendered bytes, or sendbuf for flow steps */
    const char *wbuf;
    size_t wunit; /* bytes of one request (a batch repeats it) */
    /* rendered steps: the scenario ops' per-VU state, and the rendered request */
    void *sv;
    bool sv_ready;
    struct dynbuf sendbuf;
    char *kept; /* kept response body, when the step's flow wants it */
    size_t kept_len, kept_cap, kept_max;
    bool kept_trunc, keep_body;
    bool abort_iter;   /* on_fail: abort — skip the rest of this iteration */
    bool flow_stopped; /* the scenario ops stopped this VU (a feeder ran out) */
    struct step_results res;
    /* redirect hops (step_ops.follow): where the connection goes and the next hop */
    const struct origin *conn_origin; /* the origin of the open connection */
    const struct origin *hop_origin;  /* the current hop's, NULL: the step's own */
    bool hop;                         /* the response just recorded is followed */
    /* conn_h2.c: the next iteration's streams are out, so it starts even when the VU
     * would stop now (vu_may_start_iteration) */
    bool carry;
};

struct scen_rt;

/*
 * An executor: how a scenario's VUs are driven, chosen once per scenario (executor_for).
 * Every hook runs on the worker's thread.
 */
struct executor_ops {
    /* Extra setup after the VUs exist (the open model's schedule and queue): 0 or -errno. */
    int (*init)(struct scen_rt *sr);
    /* The scenario's timer fired at now, before its end: (re)start VUs, re-arm the timer. */
    void (*tick)(struct scen_rt *sr, uint64_t now);
    /* Also at the end's wake-up, before the scenario finishes (late arrivals); or NULL. */
    void (*catch_up)(struct scen_rt *sr);
    /* vu finished an iteration at now (its counters are updated): start the next, park
     * it, or switch it off. */
    void (*iteration_done)(struct vu *vu, uint64_t now);
    /* Whether vu may start another iteration, beyond the rules every executor shares. */
    bool (*may_iterate)(const struct vu *vu);
    /* Whether the scenario has no work left before its time is up (-n spent). */
    bool (*spent)(const struct scen_rt *sr);
    /* VUs to report for the second that ends, and the most it had (the shard's). */
    uint32_t (*vus_now)(struct scen_rt *sr);
    uint32_t (*vus_max)(const struct scen_rt *sr);
};

/* The executor of kind. */
const struct executor_ops *executor_for(enum executor_kind kind);

struct scen_rt {
    struct worker *w;
    const struct scenario_plan *sc;
    const struct executor_ops *ex;
    int index;
    struct vu *vus;          /* owned VUs; capacity n_cap */
    uint32_t n_cap, n_alloc; /* open model allocates lazily up to n_cap */
    uint32_t active;         /* closed: VUs switched on; open: VUs in an iteration */
    uint32_t running;        /* VUs inside an iteration */
    uint64_t start_ns, end_ns;
    bool started, finished, done;
    uint64_t budget; /* shared-iterations / -n: requests this worker may still send */
    bool limited;
    /* open model */
    struct arrival_schedule sched;
    uint64_t next_k;
    uint64_t woke_ns; /* last wake of the scenario's timer: the arrival window's start */
    uint64_t *queue;
    size_t qcap, qhead, qlen;
    struct vu *idle;
    uint64_t started_iters;
    uint32_t running_peak;   /* most VUs inside an iteration since the last shard */
    uint32_t active_peak;    /* closed model: most VUs switched on since the last shard */
    uint32_t flow_stopped;   /* closed model: VUs whose data feeder ran out */
    uint32_t stride;         /* workers taking part in this scenario */
    uint32_t last_want;      /* ramping-vus: VUs switched on at the last check */
    struct loop_timer timer; /* start / schedule / ramp timer */
    struct loop_timer stop_timer;
    struct step_rt *steps;
    int s_iter, s_iter_dur, s_dropped, s_sent, s_recv, s_err[ERR_KINDS];
    int s_interrupted, s_retries;
    int s_tls_handshakes, s_tls_resumed; /* per connection (conn.c) */
    char scen_tags[1024];
    int s_send_lag;     /* http_req_send_lag, per scenario (reqmetrics.c) */
    int s_send_lag_own; /* http_req_send_lag_own, per scenario */
};

struct worker {
    struct engine_shared *eng;
    int index;
    pthread_t thread;
    bool thread_started;
    struct loop *loop;
    char *rbuf;
    /* Per origin (plan.origins order): the transport's cache slot (TLS: the session a
     * reconnecting VU resumes), freed with the origin's transport->cache_free. */
    void *tcache[PLAN_MAX_ORIGINS];
    struct http1_response resp;
    struct scen_rt *scens;
    size_t n_scens;
    struct shard *cur;
    struct loop_timer tick;
    uint32_t interval;
    uint64_t cpu_mark;
    uint64_t span_mark; /* when the current shard began (monotonic) */
    int schedstat_fd;   /* /proc/thread-self/schedstat of the worker thread, or -1 */
    uint64_t wait_mark; /* its run-queue wait at the last shard */
    int seen_stop;
    struct loop_timer hard_timer;
    uint64_t rng;
    uint64_t seq;             /* template `seq` */
    uint32_t series_gen;      /* bumped when series pointers may have moved (status_ix) */
    struct h2_conn *h2_dirty; /* HTTP/2 sessions with output for the turn's end (conn_h2.c) */
    /* Deferred answers (worker.c): the loop may sleep through answers until the open
     * model's next arrival window, and reads take the kernel's receive time.
     * wall_off_ns is CLOCK_REALTIME - CLOCK_MONOTONIC, read at the loop time
     * wall_off_at_ns; event_vu/event_ns: the VU whose answer is being read and its time,
     * for the end of its iteration (vu.c); the counts and the reason deferring stopped
     * go to the result (worker_timing). */
    enum defer_state defer;
    int64_t wall_off_ns;
    uint64_t wall_off_at_ns;
    struct vu *event_vu;
    uint64_t event_ns;
    uint64_t n_stamped, n_read_time, n_rejected;
    const char *defer_stopped;
    /* handoff to the coordinator */
    pthread_mutex_t lock;
    struct shard *ready_head, *ready_tail;
    struct shard *free_list;
    bool finished;
};

/*
 * Tag values are capped at TAG_VALUE_MAX bytes (a long URL as the default name, a long
 * check): a longer one is cut at a character boundary and ends in "...".  Two values that
 * differ only past the cap share a series; the cap keeps every tag set within the fixed
 * buffers below.
 */
#define TAG_VALUE_MAX 200
struct tag_buf {
    char b[TAG_VALUE_MAX + 4];
};

/* The worker's current shard's series i. */
static inline struct series *S(struct worker *w, int i)
{
    return registry_at(w->cur->reg, i);
}

static inline uint64_t diff(uint64_t later, uint64_t earlier)
{
    return later > earlier ? later - earlier : 0;
}

/* --- request metrics (reqmetrics.c) --- */

const char *tag_short(struct tag_buf *buf, const char *v);
int series_for(struct worker *w, int metric, const char *tags);
bool status_expected(const struct step_rt *rt, int status);
void record_response(struct vu *vu, uint64_t now);
void record_error(struct vu *vu, enum err_kind kind, uint32_t requests);
/* Adds the current request's send lag (intended start to first byte written). */
void record_send_lag(struct vu *vu);

/*
 * Builds sr's series (iterations, data, errors by kind, checks) and caches per step what
 * its ops answer once (expected statuses, timeout, body cap, hooks).  0 or -errno.
 */
int reqm_scen_init(struct worker *w, struct scen_rt *sr);
/* Counts the check results and samples the step ops put in vu->res (then empties it). */
void reqm_record_checks(struct vu *vu);
/* Records the zero samples counted since the last call into the current shard. */
void reqm_fold_zeros(struct worker *w);

/* --- the connection (conn.c) --- */

void conn_close(struct vu *vu);
void conn_connect(struct vu *vu);
void conn_send(struct vu *vu);
/* Appends a response-body span to the VU's kept body, up to the step's cap: false when
 * out of memory. */
bool conn_keep_span(struct vu *vu, const char *p, size_t n);

/* --- HTTP/2 on the connection (conn_h2.c); conn.c hands over once the session runs --- */

/* After the handshake: starts an HTTP/2 session when the origin speaks HTTP/2 (h2c, or
 * "h2" chosen by ALPN), else leaves vu->h2 NULL.  0, or -ENOMEM. */
int conn_h2_start(struct vu *vu);
/* Submits the current step's batch as streams (first call per batch) and writes. */
void conn_h2_send(struct vu *vu);
/* The connection's loop events while the session runs. */
void conn_h2_io(struct vu *vu, unsigned events);
/* Frees the session (from conn_close, before the transport closes). */
void conn_h2_free(struct vu *vu);
/*
 * The VU's request timer fired (VT_REQUEST) while its session runs: each stream in
 * flight is timed from its own send (rolling streams are sent at different times).  The
 * expired ones are cancelled (RST_STREAM) and counted as timeouts, the timer re-armed for
 * the oldest stream left, and the connection goes on: true.  False when every stream in
 * flight expired: the caller fails them all and closes the connection (fail_requests).
 */
bool conn_h2_expire(struct vu *vu);
/* Writes the output of every session the loop turn gave some (its before-poll hook, so
 * nothing waits in a session while the loop sleeps); a failed write ends its batch. */
void conn_h2_flush_dirty(struct worker *w);

/* --- WebSocket on the connection (conn_ws.c) --- */

/* Runs the current STEP_WS step (vu.c's vu_begin_step). */
void conn_ws_step(struct vu *vu);
/* The transport is up (conn.c, instead of conn_send): writes the upgrade request. */
void conn_ws_connected(struct vu *vu);
/* The connection's loop events while a session is upgrading or open. */
void conn_ws_io(struct vu *vu, unsigned events);
/* The VU's timer fired with VT_WS (a wait's timeout, a listen's end, the close wait). */
void conn_ws_timer(struct vu *vu);
/* A connect or I/O failure during a WebSocket step (from fail_requests): recorded as
 * the session's error, the session ended and the rest of the iteration skipped. */
void conn_ws_fail(struct vu *vu, enum err_kind kind);
/* Ends the session at once (conn_close): duration recorded, messages kept but not
 * consumed counted as received, state freed. */
void conn_ws_free(struct vu *vu);
/* Frees vu's session, if any, recording nothing (the worker's registry may be gone): for
 * worker_free, after the run's last shard. */
void conn_ws_discard(struct vu *vu);
/* The run's end cut vu's iteration off (vu_interrupt, before it closes the connection):
 * a WebSocket step under way counts in http_errors with kind interrupted. */
void conn_ws_interrupt(struct vu *vu);
/* The session's series for a connect step (reqmetrics.c, at setup): tags as checks'. */
void conn_ws_series_init(struct worker *w, struct step_rt *rt, const char *tags);

/* --- the VU state machine (vu.c) --- */

void vu_timer(struct vu *vu, enum vu_timer kind, uint64_t when_ns);
void vu_timer_cancel(struct vu *vu);
enum err_kind errno_kind(int err);
void fail_requests(struct vu *vu, enum err_kind kind);
void step_done(struct vu *vu);
bool vu_start_iteration(struct vu *vu, uint64_t intended_ns);
bool vu_may_start_iteration(struct vu *vu);
void vu_init(struct scen_rt *sr, struct vu *vu, uint32_t local);
void vu_interrupt(struct vu *vu);

/* --- executors (executor.c) --- */

void scen_open_dispatch(struct scen_rt *sr);
void scen_finish(struct scen_rt *sr);
void scen_hard_stop(struct scen_rt *sr);
void scen_maybe_done(struct scen_rt *sr);
int scen_init(struct worker *w, struct scen_rt *sr, const struct scenario_plan *sc, int index);

/* --- the worker (worker.c) --- */

/*
 * The time of vu's last read (n > 0 bytes at the loop time now), for a VU whose transport
 * takes receive timestamps: the kernel's (tc.rx_wall_ns) mapped to the monotonic clock,
 * or the read's own time when the read brought none or one that cannot be true (before
 * the request's first byte was written, or later than the clock); never before the
 * request's write ended.  Counted for the result; a worker deferring stops then.
 */
uint64_t worker_rx_time(struct worker *w, const struct vu *vu, uint64_t now);
/* Stops w deferring answers for the rest of the run (they are read as they come), with
 * the reason for the result: an answer that was not whole in one read, a redirect, a
 * read without a true timestamp, a close or reset under a request. */
void worker_defer_stop(struct worker *w, const char *why);

/* --- shards (shard.c) --- */

struct shard *shard_new(void);
void shard_free(struct shard *s);
void worker_publish(struct worker *w, bool final);
uint64_t worker_wait_ns(struct worker *w);

#endif
