/*
 * worker — one load-generating thread: its epoll loop, its virtual users, their
 * connections, the HTTP/1.1 client state machine, the executors, and its metrics.
 *
 * A virtual user (struct vu) runs its scenario's flow step by step over its own
 * keep-alive connection.  Closed-model executors keep a number of VUs looping; the
 * open model starts iterations on a schedule (engine/schedule.h), hands each to an idle
 * VU, makes more VUs up to max_vus, then queues, and drops an iteration that waited
 * longer than max_queue.  Global VU g and global iteration k belong to worker g % T and
 * k % T, so all workers together follow the plan exactly.
 *
 * The request path allocates nothing and takes no lock: requests are pre-rendered bytes,
 * responses are parsed from one per-worker read buffer, and samples go to series whose
 * indices are cached per step and status.  Once a second the worker hands its registry
 * to the coordinator as a shard and continues with a fresh one of the same layout.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"
#include "engine/engine_internal.h"
#include "engine/schedule.h"
#include "engine/step.h"
#include "engine/transport.h"
#include "http/http1.h"

#define READ_BUF_BYTES (64 * 1024)
#define STATUS_CACHE 8
#define TICK_NS NS_PER_S
#define SEND_BUF_MAX (64u * 1024 * 1024)

enum err_kind {
    ERR_REFUSED,
    ERR_RESET,
    ERR_TIMEOUT,
    ERR_PROTOCOL,
    ERR_DNS,
    ERR_TLS,
    ERR_CONNECT,
    ERR_OTHER,
    ERR_KINDS
};

static const char *const err_kind_name[ERR_KINDS] = {
    "refused", "reset", "timeout", "protocol", "dns", "tls", "connect", "other",
};

enum conn_state { CONN_CLOSED, CONN_CONNECTING, CONN_OPEN };
enum vu_state { VU_OFF, VU_IDLE, VU_BUSY };
enum vu_timer { VT_NONE, VT_CONNECT, VT_REQUEST, VT_SLEEP, VT_CONTINUE };
enum parse_phase { PH_HEAD, PH_BODY };

/* Series indices for one (step, status) pair. */
struct status_ix {
    int status;
    int reqs, failed, duration, blocked, connecting, tls, sending, waiting, receiving, queued,
        latency;
};

/* Statuses a step's expected-response rule is cached for (HTTP statuses have 3 digits). */
#define STATUS_BITS 1000

/* What a worker caches per step at setup: the answers of its step ops, and series. */
struct step_rt {
    struct status_ix cache[STATUS_CACHE];
    int n_cache;
    char name_tags[1024]; /* canonical tags without status/expected_response */
    int *checks;          /* series index of each check of the step */
    uint64_t expected[(STATUS_BITS + 63) / 64]; /* status_expected, asked once */
    uint64_t timeout_ns;                        /* 0: the plan's */
    size_t body_cap;                            /* response bytes kept for on_done */
    /* The step's per-request hooks (NULL for pre-rendered steps) and their data. */
    int (*render)(const void *step, void *vu, struct dynbuf *out);
    void (*on_head)(const void *step, void *vu, const struct http1_response *resp,
                    struct step_results *res);
    enum step_verdict (*on_done)(const void *step, void *vu, int status, uint64_t duration_ns,
                                 const char *body, size_t body_len, bool truncated,
                                 struct step_results *res);
    const void *data;
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
    struct loop_timer timer;
    enum vu_timer timer_kind;
    struct loop_timer retire_timer; /* ramping-vus: gracefulRampDown deadline */
    struct vu *next_idle;
    /* the connection: its transport (the origin's) and the loop's registration of its fd */
    struct transport_conn tc;
    const struct transport_ops *tops;
    struct loop_io io;
    enum conn_state cstate;
    bool reused;       /* completed at least one response on this fd */
    bool retried;      /* the current request was re-sent after a stale close */
    uint32_t batch;    /* requests of this step sent in one write (pipelining) */
    uint32_t reserved; /* requests per request step in this iteration */
    uint32_t inflight; /* responses still expected */
    size_t woff, wlen;
    enum parse_phase phase;
    bool head_seen_bytes; /* bytes of the current response have arrived */
    int status;
    bool keep_alive;
    struct http1_body body;
    char *hbuf; /* partial response head, only when a head straddles reads */
    uint32_t hlen;
    uint64_t t_req, t_conn_start, t_conn_done, t_send, t_sent, t_first;
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
};

struct scen_rt {
    struct worker *w;
    const struct scenario_plan *sc;
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
    uint64_t *queue;
    size_t qcap, qhead, qlen;
    struct vu *idle;
    uint64_t started_iters;
    uint32_t running_peak;   /* most VUs inside an iteration since the last shard */
    uint32_t flow_stopped;   /* closed model: VUs whose data feeder ran out */
    uint32_t stride;         /* workers taking part in this scenario */
    uint32_t last_want;      /* ramping-vus: VUs switched on at the last check */
    struct loop_timer timer; /* start / schedule / ramp timer */
    struct loop_timer stop_timer;
    struct step_rt *steps;
    int s_iter, s_iter_dur, s_dropped, s_sent, s_recv, s_err[ERR_KINDS];
    char scen_tags[256];
};

struct worker {
    struct engine_shared *eng;
    int index;
    pthread_t thread;
    bool thread_started;
    struct loop *loop;
    char *rbuf;
    struct http1_response resp;
    struct scen_rt *scens;
    size_t n_scens;
    struct shard *cur;
    struct loop_timer tick;
    uint32_t interval;
    uint64_t cpu_mark;
    int seen_stop;
    struct loop_timer hard_timer;
    uint64_t rng;
    uint64_t seq; /* template `seq` */
    /* handoff to the coordinator */
    pthread_mutex_t lock;
    struct shard *ready_head, *ready_tail;
    struct shard *free_list;
    bool finished;
};

static void vu_continue(struct vu *vu);
static void vu_begin_step(struct vu *vu);
static void conn_close(struct vu *vu);
static void scen_maybe_done(struct scen_rt *sr);
static void scen_open_dispatch(struct scen_rt *sr);

static inline struct series *S(struct worker *w, int i)
{
    return registry_at(w->cur->reg, i);
}

static uint64_t rng_next(struct worker *w)
{
    /* splitmix64 */
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* --- metrics helpers --- */

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

static const char *tag_short(struct tag_buf *buf, const char *v)
{
    if (v == NULL || strlen(v) <= TAG_VALUE_MAX) {
        return v;
    }
    size_t n = TAG_VALUE_MAX - 3;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80) {
        n--; /* do not split a UTF-8 sequence */
    }
    memcpy(buf->b, v, n);
    memcpy(buf->b + n, "...", 4);
    return buf->b;
}

static int series_for(struct worker *w, int metric, const char *tags)
{
    int i = registry_get(w->cur->reg, metric, tags);
    if (i < 0) {
        abort(); /* out of memory while creating a series: nothing sane to do */
    }
    return i;
}

static bool status_expected(const struct step_rt *rt, int status)
{
    return status >= 0 && status < STATUS_BITS &&
           ((rt->expected[status / 64] >> (status % 64)) & 1);
}

static const struct status_ix *status_series(struct worker *w, struct scen_rt *sr, uint32_t step,
                                             int status)
{
    struct step_rt *rt = &sr->steps[step];
    for (int i = 0; i < rt->n_cache; i++) {
        if (rt->cache[i].status == status) {
            return &rt->cache[i];
        }
    }
    /* A status not seen before: build its series (allocates; rare). */
    /* When the cache is full, the last slot is overwritten: still correct, just slower. */
    struct status_ix *ix =
        rt->n_cache < STATUS_CACHE ? &rt->cache[rt->n_cache++] : &rt->cache[STATUS_CACHE - 1];
    char tags[1200];
    bool expected = status_expected(rt, status);
    snprintf(tags, sizeof tags, "%s%cexpected_response=%s%cstatus=%d", rt->name_tags, TAGS_SEP,
             expected ? "true" : "false", TAGS_SEP, status);
    /* name_tags holds method, name and scenario: re-canonicalise the whole set. */
    const char *keys[8], *vals[8];
    char copy[1200];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", tags);
    for (char *p = copy; p != NULL && n < 8;) {
        char *end = strchr(p, TAGS_SEP);
        if (end != NULL) {
            *end = '\0';
        }
        char *eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            keys[n] = p;
            vals[n++] = eq + 1;
        }
        p = end ? end + 1 : NULL;
    }
    if (tags_canon(tags, sizeof tags, keys, vals, n) < 0) {
        tags[0] = '\0';
    }
    ix->status = status;
    ix->reqs = series_for(w, M_HTTP_REQS, tags);
    ix->failed = series_for(w, M_HTTP_REQ_FAILED, tags);
    ix->duration = series_for(w, M_HTTP_REQ_DURATION, tags);
    ix->blocked = series_for(w, M_HTTP_REQ_BLOCKED, tags);
    ix->connecting = series_for(w, M_HTTP_REQ_CONNECTING, tags);
    ix->tls = series_for(w, M_HTTP_REQ_TLS_HANDSHAKING, tags);
    ix->sending = series_for(w, M_HTTP_REQ_SENDING, tags);
    ix->waiting = series_for(w, M_HTTP_REQ_WAITING, tags);
    ix->receiving = series_for(w, M_HTTP_REQ_RECEIVING, tags);
    ix->queued = series_for(w, M_HTTP_REQ_QUEUED, tags);
    ix->latency = series_for(w, M_HTTP_REQ_LATENCY, tags);
    return ix;
}

static uint64_t diff(uint64_t later, uint64_t earlier)
{
    return later > earlier ? later - earlier : 0;
}

/* Counts the check results the flow gave for the current step. */
static void record_checks(struct vu *vu)
{
    struct step_rt *rt = &vu->sr->steps[vu->step];
    for (size_t i = 0; i < vu->res.n; i++) {
        series_rate(S(vu->w, rt->checks[vu->res.index[i]]), vu->res.pass[i]);
    }
    vu->res.n = 0;
}

/* Lets a rendered step see the end of its request (status 0: it failed). */
static void step_ops_done(struct vu *vu, int status, uint64_t duration_ns)
{
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    if (rt->on_done == NULL) {
        return;
    }
    enum step_verdict v =
        rt->on_done(rt->data, vu->sv, status, duration_ns, status ? vu->kept : NULL,
                    status ? vu->kept_len : 0, vu->kept_trunc, &vu->res);
    record_checks(vu);
    if (v == STEP_ABORT_ITERATION) {
        vu->abort_iter = true;
    }
}

/* One response of the current step has arrived completely at `now`. */
static void record_response(struct vu *vu, uint64_t now)
{
    struct worker *w = vu->w;
    const struct status_ix *ix = status_series(w, vu->sr, vu->step, vu->status);
    bool failed = !status_expected(&vu->sr->steps[vu->step], vu->status);
    uint64_t connecting = vu->t_conn_done ? diff(vu->t_conn_done, vu->t_conn_start) : 0;
    uint64_t blocked = diff(vu->t_send, vu->t_req);
    uint64_t sending = diff(vu->t_sent, vu->t_send);
    uint64_t waiting = diff(vu->t_first, vu->t_sent);
    uint64_t receiving = diff(now, vu->t_first);
    uint64_t duration = diff(now, vu->t_send);
    uint64_t queued = vu->step == 0 ? vu->queued_ns : 0;
    series_add(S(w, ix->reqs), 1);
    series_rate(S(w, ix->failed), failed);
    series_trend_ns(S(w, ix->duration), duration);
    series_trend_ns(S(w, ix->blocked), blocked);
    series_trend_ns(S(w, ix->connecting), connecting);
    series_trend_ns(S(w, ix->tls), 0);
    series_trend_ns(S(w, ix->sending), sending);
    series_trend_ns(S(w, ix->waiting), waiting);
    series_trend_ns(S(w, ix->receiving), receiving);
    series_trend_ns(S(w, ix->queued), queued);
    series_trend_ns(S(w, ix->latency), queued + blocked + duration);
    step_ops_done(vu, vu->status, duration);
}

/* A request of the current step failed with a network or protocol error. */
static void record_error(struct vu *vu, enum err_kind kind, uint32_t requests)
{
    struct worker *w = vu->w;
    const struct status_ix *ix = status_series(w, vu->sr, vu->step, 0);
    for (uint32_t i = 0; i < requests; i++) {
        series_add(S(w, ix->reqs), 1);
        series_rate(S(w, ix->failed), true);
        series_add(S(w, vu->sr->s_err[kind]), 1);
    }
    step_ops_done(vu, 0, 0);
}

/* Moves to the next step, or past the last one when the iteration was aborted. */
static void vu_next_step(struct vu *vu)
{
    vu->step = vu->abort_iter ? (uint32_t)vu->sr->sc->n_steps : vu->step + 1;
}

/* --- VU timers --- */

static void vu_timer_cb(struct loop *loop, struct loop_timer *t);

static void vu_timer(struct vu *vu, enum vu_timer kind, uint64_t when_ns)
{
    vu->timer_kind = kind;
    loop_timer_start(vu->w->loop, &vu->timer, when_ns);
}

static void vu_timer_cancel(struct vu *vu)
{
    loop_timer_stop(vu->w->loop, &vu->timer);
    vu->timer_kind = VT_NONE;
}

/* --- connection --- */

static void conn_io_cb(struct loop *loop, struct loop_io *io, unsigned events);

static void conn_close(struct vu *vu)
{
    if (vu->cstate == CONN_CLOSED) {
        return;
    }
    loop_io_del(vu->w->loop, &vu->io);
    vu->tops->close(&vu->tc);
    vu->io.fd = -1;
    vu->cstate = CONN_CLOSED;
    vu->reused = false;
    vu->hlen = 0;
}

static enum err_kind errno_kind(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return ERR_REFUSED;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return ERR_RESET;
    case ETIMEDOUT:
        return ERR_TIMEOUT;
    default:
        return ERR_CONNECT;
    }
}

/*
 * Ends the current step's outstanding requests with an error, closes the connection and
 * moves the VU on.  The continuation goes through a zero-delay timer so that a target
 * that refuses at once cannot make this recurse or starve the loop.
 */
static void fail_requests(struct vu *vu, enum err_kind kind)
{
    record_error(vu, kind, vu->inflight ? vu->inflight : 1);
    vu->inflight = 0;
    conn_close(vu);
    vu_timer_cancel(vu);
    vu_next_step(vu);
    vu_timer(vu, VT_CONTINUE, loop_now_ns(vu->w->loop));
}

static void conn_send(struct vu *vu);

static void conn_connect(struct vu *vu)
{
    struct worker *w = vu->w;
    const struct step *st = &vu->sr->sc->steps[vu->step];
    const struct origin *o = st->origin;
    vu->tops = o->transport;
    vu->t_conn_start = loop_now_ns(w->loop);
    vu->t_conn_done = 0;
    int rc = vu->tops->connect(&vu->tc, (const struct sockaddr *)&o->addr, o->addr_len);
    if (rc < 0 && rc != -EINPROGRESS) {
        vu->io.fd = -1;
        fail_requests(vu, errno_kind(-rc));
        return;
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
    bool want_write = false;
    if (err == 0) {
        /* Plain TCP has no handshake; a TLS transport will wait for its I/O here. */
        err = -vu->tops->handshake(&vu->tc, &want_write);
    }
    if (err != 0) {
        conn_close(vu);
        fail_requests(vu, errno_kind(err));
        return;
    }
    vu->cstate = CONN_OPEN;
    vu->t_conn_done = loop_now_ns(vu->w->loop);
    vu_timer_cancel(vu);
    if (loop_io_set(vu->w->loop, &vu->io, LOOP_READ) < 0) {
        fail_requests(vu, ERR_OTHER);
        return;
    }
    conn_send(vu);
}

/* Writes what is left of the current request batch. */
static void conn_send(struct vu *vu)
{
    struct worker *w = vu->w;
    if (vu->woff == 0) {
        /* The request timeout runs from the first byte sent: a server that stops
         * reading (a full socket buffer) times the request out too. */
        uint64_t timeout = vu->sr->steps[vu->step].timeout_ns;
        /* The clock itself, not the loop's cached time: sending is measured from the
         * write, not from the wake-up (two vDSO reads per request). */
        vu->t_send = loop_clock_ns(w->loop);
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

/* The whole batch of the current step has its responses: move on. */
static void step_done(struct vu *vu)
{
    vu_timer_cancel(vu);
    if (!vu->keep_alive) {
        conn_close(vu);
    }
    vu_next_step(vu);
    vu_continue(vu);
}

/* Appends a body span to the kept body, up to the step's cap (beyond: truncated). */
static bool keep_span(struct vu *vu, const char *p, size_t n)
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

/* Re-sends the requests still in flight on a new connection (the server closed). */
static void resend_rest(struct vu *vu, uint64_t now)
{
    uint32_t rest = vu->inflight;
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
            if (span_len > 0 && !keep_span(vu, span, span_len)) {
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
        if (n > 0) {
            series_add(S(w, vu->sr->s_recv), (double)n);
            if (vu->inflight == 0) {
                conn_close(vu); /* idle connection got bytes: drop it quietly */
                return;
            }
            if (!conn_parse(vu, w->rbuf, (size_t)n, now)) {
                return;
            }
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
        if (err == 0 && !vu->head_seen_bytes && vu->reused && !vu->retried &&
            vu->batch == vu->inflight) {
            /*
             * A clean close (FIN, not a reset) of a reused keep-alive connection before
             * any byte of the answer: the server closed it idle as the request left (the
             * FIN was in flight).  Re-sent once, as HTTP clients do; a reset, or a second
             * close, is an error.
             */
            vu->retried = true;
            resend_rest(vu, now);
            return;
        }
        /*
         * Anything else is an error, never retried: a reset, a close after part of the
         * answer, or a close on a fresh connection — the server may well have received
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

/* --- VU flow --- */

/* Starts the current step's request(s). */
static void request_start(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    const struct step *st = &sr->sc->steps[vu->step];
    const struct step_rt *rt = &sr->steps[vu->step];
    uint32_t batch = vu->reserved;
    vu->res.n = 0;
    if (rt->render != NULL) {
        batch = 1;
        vu->batch = vu->inflight = 1;
        dynbuf_reset(&vu->sendbuf);
        if (rt->render(rt->data, vu->sv, &vu->sendbuf) < 0) {
            fail_requests(vu, ERR_OTHER);
            return;
        }
        vu->wbuf = vu->sendbuf.data;
        vu->wunit = vu->sendbuf.len;
    } else {
        vu->wbuf = st->raw;
        vu->wunit = st->raw_len;
    }
    vu->keep_body = rt->body_cap > 0;
    vu->kept_max = rt->body_cap;
    vu->kept_len = 0;
    vu->kept_trunc = false;
    vu->batch = batch;
    vu->inflight = batch;
    vu->woff = 0;
    vu->wlen = (size_t)batch * vu->wunit;
    vu->phase = PH_HEAD;
    vu->head_seen_bytes = false;
    vu->retried = false;
    vu->status = 0;
    vu->t_req = loop_now_ns(vu->w->loop);
    vu->t_conn_start = vu->t_conn_done = 0;
    if (vu->cstate == CONN_OPEN) {
        conn_send(vu);
    } else {
        conn_connect(vu);
    }
}

static void vu_begin_step(struct vu *vu)
{
    const struct step *st = &vu->sr->sc->steps[vu->step];
    if (st->kind == STEP_REQUEST) {
        request_start(vu);
        return;
    }
    uint64_t d = st->sleep_min_ns;
    if (st->sleep_max_ns > st->sleep_min_ns) {
        d += rng_next(vu->w) % (st->sleep_max_ns - st->sleep_min_ns + 1);
    }
    vu_timer(vu, VT_SLEEP, loop_now_ns(vu->w->loop) + d);
}

static bool vu_may_start_iteration(struct vu *vu);
static bool vu_start_iteration(struct vu *vu, uint64_t intended_ns);

static void vu_iteration_done(struct vu *vu)
{
    struct worker *w = vu->w;
    struct scen_rt *sr = vu->sr;
    uint64_t now = loop_now_ns(w->loop);
    series_add(S(w, sr->s_iter), 1);
    series_trend_ns(S(w, sr->s_iter_dur), diff(now, vu->iter_start_ns));
    vu->iter++;
    sr->running--;
    vu->state = VU_IDLE;
    if (executor_is_open(sr->sc->executor)) {
        sr->active--;
        vu->next_idle = sr->idle;
        sr->idle = vu;
        scen_open_dispatch(sr);
    } else if (vu_may_start_iteration(vu) && vu_start_iteration(vu, now)) {
        /* the next iteration is under way */
    } else {
        loop_timer_stop(w->loop, &vu->retire_timer);
        conn_close(vu);
        vu->state = VU_OFF;
        sr->active--;
    }
    scen_maybe_done(sr);
}

/* Runs steps until one has to wait for I/O or a timer. */
static void vu_continue(struct vu *vu)
{
    if (vu->step >= vu->sr->sc->n_steps) {
        vu_iteration_done(vu);
        return;
    }
    vu_begin_step(vu);
}

static void vu_timer_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct vu *vu = t->data;
    enum vu_timer kind = vu->timer_kind;
    vu->timer_kind = VT_NONE;
    switch (kind) {
    case VT_CONNECT:
    case VT_REQUEST:
        fail_requests(vu, ERR_TIMEOUT);
        break;
    case VT_SLEEP:
        vu->step++;
        vu_continue(vu);
        break;
    case VT_CONTINUE:
        vu_continue(vu);
        break;
    case VT_NONE:
        break;
    }
}

/* Asks the engine's coordinator to stop the run (a feeder ran out: on_exhausted abort). */
static void request_abort(struct worker *w)
{
    atomic_store(&w->eng->flow_abort, 1);
    uint64_t one = 1;
    if (write(w->eng->notify_fd, &one, sizeof one) < 0) {
        /* the coordinator wakes once a second anyway */
    }
}

/*
 * Starts an iteration on vu.  Returns false when the scenario's flow refuses (a data
 * feeder ran out), in which case the VU stays as it was.
 */
static bool vu_start_iteration(struct vu *vu, uint64_t intended_ns)
{
    struct scen_rt *sr = vu->sr;
    struct worker *w = vu->w;
    uint64_t now = loop_now_ns(w->loop);
    const struct scenario_ops *ops = sr->sc->ops;
    if (!vu->sv_ready) {
        /* A VU's state and send buffer are made on its first iteration only. */
        struct step_vu_ident id = {
            .vu = vu->gid,
            .scenario = sr->sc->name,
            .seq = &w->seq,
            .seq_stride = (uint32_t)w->eng->n_workers,
            .seq_offset = (uint32_t)w->index,
        };
        if (ops != NULL && ops->vu_new(sr->sc->ops_data, &id, &vu->sv) < 0) {
            abort(); /* out of memory for a VU's variables */
        }
        dynbuf_init(&vu->sendbuf, SEND_BUF_MAX);
        vu->sv_ready = true;
    }
    if (ops != NULL) {
        enum step_verdict v = ops->iteration_begin(sr->sc->ops_data, vu->sv, vu->iter);
        if (v == STEP_ABORT_RUN) {
            request_abort(w);
        }
        if (v != STEP_CONTINUE) {
            if (!vu->flow_stopped) {
                sr->flow_stopped++;
            }
            vu->flow_stopped = true;
            return false;
        }
    }
    vu->abort_iter = false;
    /* Requests per request step: the pipeline depth, within what -n has left. */
    vu->reserved = sr->sc->pipeline > 1 ? sr->sc->pipeline : 1;
    if (sr->limited) {
        if (vu->reserved > sr->budget) {
            vu->reserved = (uint32_t)sr->budget;
        }
        sr->budget -= vu->reserved;
    }
    vu->state = VU_BUSY;
    vu->step = 0;
    vu->iter_start_ns = now;
    vu->intended_ns = intended_ns;
    vu->queued_ns = diff(now, intended_ns);
    sr->running++;
    if (sr->running > sr->running_peak) {
        sr->running_peak = sr->running;
    }
    vu_begin_step(vu);
    return true;
}

static bool vu_may_start_iteration(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    struct worker *w = vu->w;
    if (sr->finished || vu->retire || vu->flow_stopped || w->seen_stop != STOP_NONE) {
        return false;
    }
    if (sr->limited && sr->budget == 0) {
        return false;
    }
    if (sr->sc->executor == EXEC_PER_VU_ITERATIONS && vu->iter >= sr->sc->iterations) {
        return false;
    }
    return true;
}

static void retire_cb(struct loop *loop, struct loop_timer *t);

static void vu_init(struct scen_rt *sr, struct vu *vu, uint32_t local)
{
    memset(vu, 0, sizeof *vu);
    vu->w = sr->w;
    vu->sr = sr;
    vu->gid = local * (uint32_t)sr->w->eng->n_workers + (uint32_t)sr->w->index + 1;
    vu->io.fd = -1;
    vu->tc.fd = -1;
    vu->timer.cb = vu_timer_cb;
    vu->timer.data = vu;
    vu->retire_timer.cb = retire_cb;
    vu->retire_timer.data = vu;
    vu->state = VU_OFF;
}

/* Ends vu's iteration where it stands: its request in flight is not counted. */
static void vu_interrupt(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    vu_timer_cancel(vu);
    loop_timer_stop(vu->w->loop, &vu->retire_timer);
    conn_close(vu);
    if (vu->state == VU_BUSY) {
        sr->running--;
        sr->active--;
    }
    vu->state = VU_OFF;
}

/* gracefulRampDown ran out for a VU that was ramped down mid-iteration. */
static void retire_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct vu *vu = t->data;
    if (vu->state == VU_BUSY && vu->retire) {
        vu_interrupt(vu);
        scen_maybe_done(vu->sr);
    }
}

/* --- executors --- */

/* Number of owned VUs (global index < target) for this worker. */
static uint32_t owned_below(struct worker *w, uint64_t target)
{
    uint64_t t = (uint64_t)w->eng->n_workers, i = (uint64_t)w->index;
    return target > i ? (uint32_t)((target - i + t - 1) / t) : 0;
}

static void scen_set_active(struct scen_rt *sr, uint32_t want)
{
    if (want > sr->n_cap) {
        want = sr->n_cap;
    }
    /* Switch on VUs below want, retire those above. */
    for (uint32_t i = 0; i < sr->n_cap; i++) {
        struct vu *vu = &sr->vus[i];
        if (i < want) {
            vu->retire = false;
            loop_timer_stop(sr->w->loop, &vu->retire_timer);
            if (vu->state == VU_OFF && vu_may_start_iteration(vu)) {
                sr->active++;
                if (!vu_start_iteration(vu, loop_now_ns(sr->w->loop))) {
                    sr->active--;
                }
            }
        } else if (vu->state != VU_OFF && !vu->retire) {
            /* Ramped down: it ends after this iteration, or at gracefulRampDown. */
            vu->retire = true;
            if (vu->state == VU_BUSY) {
                loop_timer_start(sr->w->loop, &vu->retire_timer,
                                 loop_now_ns(sr->w->loop) + sr->sc->graceful_ramp_down_ns);
            }
        }
    }
    if (want > sr->n_alloc) {
        sr->n_alloc = want;
    }
}

static void scen_finish(struct scen_rt *sr);
static void worker_publish(struct worker *w, bool final);

static void scen_timer_cb(struct loop *loop, struct loop_timer *t)
{
    struct scen_rt *sr = t->data;
    const struct scenario_plan *sc = sr->sc;
    uint64_t now = loop_now_ns(loop);
    if (!sr->started) {
        sr->started = true;
        sr->last_want = UINT32_MAX;
    }
    if (executor_is_open(sc->executor)) {
        /* Arrivals due before the end start even when this wake-up came late. */
        scen_open_dispatch(sr);
    }
    if (now >= sr->end_ns) {
        scen_finish(sr);
        return;
    }
    switch (sc->executor) {
    case EXEC_CONSTANT_VUS:
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        scen_set_active(sr, owned_below(sr->w, sc->vus));
        loop_timer_start(loop, &sr->timer, sr->end_ns);
        break;
    case EXEC_RAMPING_VUS: {
        double target = stages_target_at(sc->stages, sc->n_stages, sc->vus, now - sr->start_ns);
        uint32_t want = owned_below(sr->w, (uint64_t)(target + 1e-9));
        if (want != sr->last_want) { /* walk the VUs only when the target moved */
            scen_set_active(sr, want);
            sr->last_want = want;
        }
        /* Re-evaluate often enough to follow a ramp to the VU. */
        uint64_t next = now + 10 * NS_PER_MS;
        loop_timer_start(loop, &sr->timer, next < sr->end_ns ? next : sr->end_ns);
        break;
    }
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE:
        break; /* dispatched above */
    }
    scen_maybe_done(sr);
}

/* Drops queued iterations that waited longer than max_queue. */
static void queue_expire(struct scen_rt *sr, uint64_t now)
{
    struct worker *w = sr->w;
    while (sr->qlen > 0) {
        uint64_t intended = sr->queue[sr->qhead];
        if (now - intended <= sr->sc->max_queue_ns && !sr->finished) {
            break;
        }
        sr->qhead = (sr->qhead + 1) % sr->qcap;
        sr->qlen--;
        series_add(S(w, sr->s_dropped), 1);
    }
}

static struct vu *open_take_vu(struct scen_rt *sr)
{
    struct vu *vu = sr->idle;
    if (vu != NULL) {
        sr->idle = vu->next_idle;
        return vu;
    }
    if (sr->n_alloc < sr->n_cap) {
        vu = &sr->vus[sr->n_alloc++];
        return vu;
    }
    return NULL;
}

/* Starts an open-model iteration on an idle VU; a refused one counts as dropped. */
static void open_start(struct scen_rt *sr, struct vu *vu, uint64_t intended)
{
    sr->active++;
    if (vu_start_iteration(vu, intended)) {
        sr->started_iters++;
        return;
    }
    sr->active--;
    vu->flow_stopped = false; /* the next iteration may get a row again (recycle) */
    sr->flow_stopped--;
    vu->next_idle = sr->idle;
    sr->idle = vu;
    series_add(S(sr->w, sr->s_dropped), 1);
}

/*
 * The open model's heart: starts every iteration whose intended time has come, on an
 * idle VU, or queues it; serves the queue first, oldest first.
 */
static void scen_open_dispatch(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    uint64_t now = loop_now_ns(w->loop);
    uint64_t stride = sr->stride;
    queue_expire(sr, now);
    while (sr->qlen > 0) {
        struct vu *vu = open_take_vu(sr);
        if (vu == NULL) {
            break;
        }
        uint64_t intended = sr->queue[sr->qhead];
        sr->qhead = (sr->qhead + 1) % sr->qcap;
        sr->qlen--;
        open_start(sr, vu, intended);
    }
    if (sr->finished || w->seen_stop != STOP_NONE) {
        return;
    }
    for (;;) {
        uint64_t off = schedule_time_ns(&sr->sched, sr->next_k);
        if (off == UINT64_MAX) {
            loop_timer_start(w->loop, &sr->timer, sr->end_ns);
            return;
        }
        uint64_t intended = sr->start_ns + off;
        if (intended > now) {
            loop_timer_start(w->loop, &sr->timer, intended);
            return;
        }
        sr->next_k += stride;
        struct vu *vu = sr->qlen == 0 ? open_take_vu(sr) : NULL;
        if (vu != NULL) {
            open_start(sr, vu, intended);
        } else if (sr->qlen < sr->qcap) {
            sr->queue[(sr->qhead + sr->qlen) % sr->qcap] = intended;
            sr->qlen++;
        } else {
            series_add(S(w, sr->s_dropped), 1);
        }
    }
}

static void stop_timer_cb(struct loop *loop, struct loop_timer *t);

/* No new iterations from now on; in-flight ones get the graceful stop. */
static void scen_finish(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    if (sr->finished) {
        return;
    }
    sr->finished = true;
    loop_timer_stop(w->loop, &sr->timer);
    queue_expire(sr, loop_now_ns(w->loop));
    for (uint32_t i = 0; i < sr->n_alloc; i++) {
        struct vu *vu = &sr->vus[i];
        vu->retire = true;
        if (vu->state != VU_BUSY) {
            conn_close(vu);
        }
    }
    uint64_t grace = sr->sc->graceful_stop_ns;
    if (w->seen_stop == STOP_GRACEFUL && w->eng->plan->grace_ns < grace) {
        grace = w->eng->plan->grace_ns;
    }
    loop_timer_start(w->loop, &sr->stop_timer, loop_now_ns(w->loop) + grace);
    scen_maybe_done(sr);
}

/* Ends every iteration still running: their requests are not counted. */
static void scen_hard_stop(struct scen_rt *sr)
{
    for (uint32_t i = 0; i < sr->n_alloc; i++) {
        vu_interrupt(&sr->vus[i]);
    }
    sr->finished = true;
    scen_maybe_done(sr);
}

static void stop_timer_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    scen_hard_stop(t->data);
}

static void scen_maybe_done(struct scen_rt *sr)
{
    struct worker *w = sr->w;
    if (sr->done) {
        return;
    }
    if (!sr->finished) {
        /* -n / shared-iterations spent, or every VU done with its per-VU iterations. */
        bool spent =
            (sr->limited && sr->budget == 0) ||
            (sr->sc->executor == EXEC_PER_VU_ITERATIONS && sr->active == 0) ||
            (!executor_is_open(sr->sc->executor) && sr->n_cap > 0 && sr->flow_stopped == sr->n_cap);
        if (sr->started && sr->running == 0 && spent) {
            scen_finish(sr); /* calls back here with finished set */
        }
        return;
    }
    if (sr->running > 0) {
        return;
    }
    sr->done = true;
    loop_timer_stop(w->loop, &sr->timer);
    loop_timer_stop(w->loop, &sr->stop_timer);
    for (size_t i = 0; i < w->n_scens; i++) {
        if (!w->scens[i].done) {
            return;
        }
    }
    /* Everything is done: the final shard is published once the loop has returned. */
    loop_stop(w->loop);
}

/* --- shards --- */

static struct shard *shard_new(void)
{
    struct shard *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->reg = registry_new();
    if (s->reg == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

static void shard_free(struct shard *s)
{
    if (s != NULL) {
        registry_free(s->reg);
        free(s);
    }
}

static void worker_publish(struct worker *w, bool final)
{
    struct shard *next = NULL;
    if (!final) {
        pthread_mutex_lock(&w->lock);
        next = w->free_list;
        if (next != NULL) {
            w->free_list = next->next;
        }
        pthread_mutex_unlock(&w->lock);
        if (next == NULL && (next = shard_new()) == NULL) {
            abort();
        }
        next->next = NULL;
        next->final = false;
        if (registry_sync_layout(next->reg, w->cur->reg) < 0) {
            abort();
        }
    }
    struct shard *s = w->cur;
    uint64_t cpu = clock_thread_cpu_ns();
    s->cpu_ns = cpu - w->cpu_mark;
    w->cpu_mark = cpu;
    s->interval = w->interval;
    s->final = final;
    s->vus = s->vus_max = 0;
    s->started = 0;
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        /* Open model: iterations are short, so the peak of the second says more. */
        s->vus += executor_is_open(sr->sc->executor) ? sr->running_peak : sr->active;
        sr->running_peak = sr->running;
        s->vus_max += executor_is_open(sr->sc->executor) ? sr->n_alloc : sr->n_cap;
        s->started += sr->started_iters;
        sr->started_iters = 0;
    }
    s->next = NULL;
    pthread_mutex_lock(&w->lock);
    if (w->ready_tail != NULL) {
        w->ready_tail->next = s;
    } else {
        w->ready_head = s;
    }
    w->ready_tail = s;
    if (final) {
        w->finished = true;
    }
    pthread_mutex_unlock(&w->lock);
    w->cur = next;
    uint64_t one = 1;
    if (write(w->eng->notify_fd, &one, sizeof one) < 0) {
        /* The coordinator wakes once a second anyway. */
    }
}

static void tick_cb(struct loop *loop, struct loop_timer *t)
{
    struct worker *w = t->data;
    worker_publish(w, false);
    w->interval++;
    loop_timer_start(loop, &w->tick, w->eng->start_ns + (uint64_t)(w->interval + 1) * TICK_NS);
}

static void hard_cb(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct worker *w = t->data;
    for (size_t i = 0; i < w->n_scens; i++) {
        scen_hard_stop(&w->scens[i]);
    }
}

/* Checks the stop level once per loop iteration (a relaxed atomic load). */
static void before_poll(struct loop *loop, void *data)
{
    struct worker *w = data;
    int level = atomic_load_explicit(&w->eng->stop_level, memory_order_relaxed);
    if (level == w->seen_stop) {
        return;
    }
    w->seen_stop = level;
    if (level == STOP_NOW) {
        hard_cb(loop, &w->hard_timer);
        return;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        if (!sr->started) {
            sr->started = true;
            sr->finished = true;
            loop_timer_stop(loop, &sr->timer);
            scen_maybe_done(sr);
        } else {
            scen_finish(sr);
        }
    }
    loop_timer_start(loop, &w->hard_timer, loop_now_ns(loop) + w->eng->plan->grace_ns);
}

/* --- setup --- */

static int scen_init(struct worker *w, struct scen_rt *sr, const struct scenario_plan *sc,
                     int index)
{
    uint64_t T = (uint64_t)w->eng->n_workers, i = (uint64_t)w->index;
    sr->w = w;
    sr->sc = sc;
    sr->index = index;
    uint32_t cap_global = (uint32_t)plan_vus_peak(sc);
    sr->n_cap = owned_below(w, cap_global);
    /*
     * Workers that take part: those that own at least one VU.  Work that is split (the
     * -n budget, the open model's arrivals) is split among them only, so a scenario with
     * fewer VUs than threads still does all of it.
     */
    uint64_t Ts = cap_global < T ? (cap_global ? cap_global : 1) : T;
    sr->stride = (uint32_t)Ts;
    sr->vus = calloc(sr->n_cap ? sr->n_cap : 1, sizeof *sr->vus);
    sr->steps = calloc(sc->n_steps ? sc->n_steps : 1, sizeof *sr->steps);
    if (sr->vus == NULL || sr->steps == NULL) {
        return -ENOMEM;
    }
    for (uint32_t k = 0; k < sr->n_cap; k++) {
        vu_init(sr, &sr->vus[k], k);
    }
    if (executor_is_open(sc->executor)) {
        if (schedule_init(&sr->sched, sc) < 0) {
            return -EINVAL;
        }
        /* The queue holds max_queue's worth of arrivals at the peak rate. */
        double peak = plan_stage_peak(
            sc, sc->executor == EXEC_CONSTANT_ARRIVAL_RATE ? sc->rate : sc->start_rate);
        double unit_s = (double)(sc->time_unit_ns ? sc->time_unit_ns : NS_PER_S) / 1e9;
        double per_s = peak / unit_s / (double)Ts;
        double q = per_s * ((double)sc->max_queue_ns / 1e9) * 1.2 + 1024;
        double total = (double)(schedule_total(&sr->sched) / Ts + 1024);
        if (q > total) {
            q = total;
        }
        sr->qcap = q > (double)(1u << 24) ? (1u << 24) : (size_t)q;
        sr->queue = calloc(sr->qcap, sizeof *sr->queue);
        if (sr->queue == NULL) {
            return -ENOMEM;
        }
        sr->next_k = i;
        sr->n_alloc = 0;
        uint32_t pre = owned_below(w, sc->pre_allocated_vus);
        sr->n_alloc = pre < sr->n_cap ? pre : sr->n_cap;
        for (uint32_t k = sr->n_alloc; k > 0; k--) {
            struct vu *vu = &sr->vus[k - 1];
            vu->state = VU_IDLE;
            vu->next_idle = sr->idle;
            sr->idle = vu;
        }
    }
    if (sc->executor == EXEC_SHARED_ITERATIONS) {
        sr->limited = true;
        /* With pipelining (quick mode), the budget counts requests, not iterations. */
        sr->budget = i < Ts ? sc->iterations / Ts + (i < sc->iterations % Ts ? 1 : 0) : 0;
    }
    struct tag_buf tb_scen, tb_method, tb_name, tb_group, tb_check;
    const char *scen = tag_short(&tb_scen, sc->name);
    const char *keys[4] = {"scenario"};
    const char *vals[4] = {scen};
    if (tags_canon(sr->scen_tags, sizeof sr->scen_tags, keys, vals, 1) < 0) {
        return -EINVAL;
    }
    for (size_t k = 0; k < sc->n_steps; k++) {
        const struct step *st = &sc->steps[k];
        if (st->kind != STEP_REQUEST) {
            continue;
        }
        const char *method = tag_short(&tb_method, st->method);
        const char *name = tag_short(&tb_name, st->name);
        const char *group = tag_short(&tb_group, st->group);
        const char *nk[4] = {"method", "name", "scenario", "group"};
        const char *nv[4] = {method, name, scen, group};
        size_t n = st->group != NULL ? 4 : 3;
        if (tags_canon(sr->steps[k].name_tags, sizeof sr->steps[k].name_tags, nk, nv, n) < 0) {
            return -EINVAL;
        }
        struct step_rt *rt = &sr->steps[k];
        const struct step_ops *ops = st->ops;
        /* The answers of the step's ops, asked once (defaults for pre-rendered steps). */
        for (int status = 0; status < STATUS_BITS; status++) {
            bool e = ops != NULL ? ops->status_expected(st->ops_data, status)
                                 : status >= 200 && status < 400;
            rt->expected[status / 64] |= (uint64_t)e << (status % 64);
        }
        rt->timeout_ns = ops != NULL ? ops->timeout_ns(st->ops_data) : st->timeout_ns;
        if (ops == NULL) {
            continue;
        }
        rt->body_cap = ops->body_cap(st->ops_data);
        rt->render = ops->render;
        rt->on_head = ops->on_head;
        rt->on_done = ops->on_done;
        rt->data = st->ops_data;
        /* One `checks` series per check: tags check, name, scenario (and group). */
        size_t nc = ops->check_count(st->ops_data);
        sr->steps[k].checks = calloc(nc ? nc : 1, sizeof *sr->steps[k].checks);
        if (sr->steps[k].checks == NULL) {
            return -ENOMEM;
        }
        for (size_t c = 0; c < nc; c++) {
            const char *ck[4] = {"check", "name", "scenario", "group"};
            const char *cv[4] = {tag_short(&tb_check, ops->check_name(st->ops_data, c)), name, scen,
                                 group};
            char tags[1200];
            if (tags_canon(tags, sizeof tags, ck, cv, n) < 0) {
                return -EINVAL;
            }
            sr->steps[k].checks[c] = series_for(w, M_CHECKS, tags);
        }
    }
    sr->s_iter = series_for(w, M_ITERATIONS, sr->scen_tags);
    sr->s_iter_dur = series_for(w, M_ITERATION_DURATION, sr->scen_tags);
    sr->s_dropped = series_for(w, M_DROPPED_ITERATIONS, sr->scen_tags);
    sr->s_sent = series_for(w, M_DATA_SENT, sr->scen_tags);
    sr->s_recv = series_for(w, M_DATA_RECEIVED, sr->scen_tags);
    for (int k = 0; k < ERR_KINDS; k++) {
        const char *ek[2] = {"kind", "scenario"};
        const char *ev[2] = {err_kind_name[k], scen};
        char tags[512];
        if (tags_canon(tags, sizeof tags, ek, ev, 2) < 0) {
            return -EINVAL;
        }
        sr->s_err[k] = series_for(w, M_ERRORS, tags);
    }
    sr->timer.cb = scen_timer_cb;
    sr->timer.data = sr;
    sr->stop_timer.cb = stop_timer_cb;
    sr->stop_timer.data = sr;
    return 0;
}

struct worker *worker_new(struct engine_shared *eng, int index)
{
    struct worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return NULL;
    }
    w->eng = eng;
    w->index = index;
    w->rng = 0x5eed0000ULL + (uint64_t)index * 7919;
    pthread_mutex_init(&w->lock, NULL);
    w->rbuf = malloc(READ_BUF_BYTES);
    w->cur = shard_new();
    if (w->rbuf == NULL || w->cur == NULL || loop_new(&w->loop) < 0) {
        goto fail;
    }
    w->n_scens = eng->plan->n_scenarios;
    w->scens = calloc(w->n_scens, sizeof *w->scens);
    if (w->scens == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        if (scen_init(w, &w->scens[i], &eng->plan->scenarios[i], (int)i) < 0) {
            goto fail;
        }
    }
    w->tick.cb = tick_cb;
    w->tick.data = w;
    w->hard_timer.cb = hard_cb;
    w->hard_timer.data = w;
    loop_set_before_poll(w->loop, before_poll, w);
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_free(struct worker *w)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        for (uint32_t k = 0; sr->vus != NULL && k < sr->n_cap; k++) {
            struct vu *vu = &sr->vus[k];
            if (vu->cstate != CONN_CLOSED) {
                vu->tops->close(&vu->tc);
            }
            free(vu->hbuf);
            free(vu->kept);
            dynbuf_destroy(&vu->sendbuf);
            if (vu->sv_ready && sr->sc->ops != NULL) {
                sr->sc->ops->vu_free(vu->sv);
            }
        }
        for (size_t k = 0; sr->steps != NULL && k < sr->sc->n_steps; k++) {
            free(sr->steps[k].checks);
        }
        free(sr->vus);
        free(sr->steps);
        free(sr->queue);
    }
    free(w->scens);
    shard_free(w->cur);
    for (struct shard *s = w->ready_head, *n; s != NULL; s = n) {
        n = s->next;
        shard_free(s);
    }
    for (struct shard *s = w->free_list, *n; s != NULL; s = n) {
        n = s->next;
        shard_free(s);
    }
    loop_free(w->loop);
    free(w->rbuf);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct loop *loop = w->loop;
    /* Wake-ups as exact as the kernel allows: the open model's schedule depends on them. */
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    w->cpu_mark = clock_thread_cpu_ns();
    loop_update_now(loop);
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        sr->start_ns = w->eng->start_ns + sr->sc->start_time_ns;
        sr->end_ns = w->eng->start_ns + scenario_length_ns(sr->sc);
        if (sr->n_cap == 0) {
            sr->started = sr->finished = sr->done = true; /* no VU of it lives here */
            continue;
        }
        loop_timer_start(loop, &sr->timer, sr->start_ns);
    }
    loop_timer_start(loop, &w->tick, w->eng->start_ns + TICK_NS);
    bool all_done = true;
    for (size_t i = 0; i < w->n_scens; i++) {
        all_done = all_done && w->scens[i].done;
    }
    if (all_done) {
        loop_timer_stop(loop, &w->tick);
        worker_publish(w, true);
        return NULL;
    }
    (void)loop_run(loop);
    if (!w->finished) {
        worker_publish(w, true);
    }
    return NULL;
}

int worker_start(struct worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_main, w);
    if (err != 0) {
        return -err;
    }
    w->thread_started = true;
    return 0;
}

void worker_join(struct worker *w)
{
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
        w->thread_started = false;
    }
}

void worker_wake(struct worker *w)
{
    loop_wake(w->loop);
}

int worker_take_shards(struct worker *w, struct shard **out)
{
    pthread_mutex_lock(&w->lock);
    struct shard *s = w->ready_head;
    w->ready_head = w->ready_tail = NULL;
    pthread_mutex_unlock(&w->lock);
    *out = s;
    int n = 0;
    for (; s != NULL; s = s->next) {
        n++;
    }
    return n;
}

void worker_return_shard(struct worker *w, struct shard *s)
{
    registry_reset(s->reg);
    pthread_mutex_lock(&w->lock);
    s->next = w->free_list;
    w->free_list = s;
    pthread_mutex_unlock(&w->lock);
}

bool worker_finished(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    bool f = w->finished;
    pthread_mutex_unlock(&w->lock);
    return f;
}
