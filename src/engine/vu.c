/*
 * vu — the virtual-user state machine: an iteration runs the scenario's steps in order
 * (a request over the VU's connection, or a sleep), each bounded by the VU's one timer
 * (connect timeout, request timeout, sleep, or a zero-delay continuation), and ends by
 * handing the VU back to its executor.  A failed request is recorded, the connection
 * closed, and the VU moved on through the zero-delay timer so a target that refuses at
 * once cannot make this recurse.  Only the worker's thread calls these.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "engine/worker_internal.h"

static void vu_next_step(struct vu *vu);
static void request_start(struct vu *vu);
static void request_send(struct vu *vu, uint32_t batch);
static void vu_begin_step(struct vu *vu);
static void vu_iteration_done(struct vu *vu);
static void vu_continue(struct vu *vu);
static void vu_timer_cb(struct loop *loop, struct loop_timer *t);
static void request_abort(struct worker *w);
static void retire_cb(struct loop *loop, struct loop_timer *t);

/* Moves to the next step, or past the last one when the iteration was aborted. */
static void vu_next_step(struct vu *vu)
{
    vu->step = vu->abort_iter ? (uint32_t)vu->sr->sc->n_steps : vu->step + 1;
}

/*
 * The VU's one timer is lazy, as the kernel's TCP timers are: vu->deadline_ns is when the
 * current kind is due, and the loop timer may be armed earlier than that (never later).
 * A request's timeout is seconds away and most requests end long before it, so starting
 * one (a later deadline behind an armed timer) and cancelling it (the kind back to
 * VT_NONE) touch no heap: two heap updates less per request.  An early fire re-arms for
 * the deadline (vu_timer_cb), at most once per timeout of the first request behind it;
 * a fire with nothing due does nothing.
 */
void vu_timer(struct vu *vu, enum vu_timer kind, uint64_t when_ns)
{
    vu->timer_kind = kind;
    vu->deadline_ns = when_ns;
    if (loop_timer_active(&vu->timer) && vu->timer.when_ns <= when_ns) {
        return; /* fires early and re-arms for when_ns */
    }
    loop_timer_start(vu->w->loop, &vu->timer, when_ns);
}

void vu_timer_cancel(struct vu *vu)
{
    vu->timer_kind = VT_NONE; /* an armed timer fires with nothing due (lazy) */
}

enum err_kind errno_kind(int err)
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
    case -BRUNT_ETLS:
        return ERR_TLS;
    case -BRUNT_ETLS_EXPIRED:
        return ERR_TLS_EXPIRED;
    case -BRUNT_ETLS_ISSUER:
        return ERR_TLS_UNKNOWN_ISSUER;
    case -BRUNT_ETLS_SELF_SIGNED:
        return ERR_TLS_SELF_SIGNED;
    case -BRUNT_ETLS_NAME:
        return ERR_TLS_NAME_MISMATCH;
    case EMFILE:
    case ENFILE:
        return ERR_NOFILE;
    default:
        return ERR_CONNECT;
    }
}

/*
 * Ends the current step's outstanding requests with an error, closes the connection and
 * moves the VU on.  The continuation goes through a timer so that a target that refuses
 * at once cannot make this recurse or starve the loop: at once after most failures, but
 * after a connect that failed at once (refused, no descriptor, no route) the VU backs
 * off, from CONNECT_BACKOFF_MIN_NS doubling to CONNECT_BACKOFF_MAX_NS, so a dead target
 * is not hammered (and counted) hundreds of thousands of times a second.
 */
void fail_requests(struct vu *vu, enum err_kind kind)
{
    uint64_t delay = 0;
    bool at_connect = vu->cstate != CONN_OPEN;
    bool connect_kind = kind == ERR_REFUSED || kind == ERR_NOFILE || kind == ERR_CONNECT ||
                        kind == ERR_TLS || kind == ERR_TLS_EXPIRED ||
                        kind == ERR_TLS_UNKNOWN_ISSUER || kind == ERR_TLS_SELF_SIGNED ||
                        kind == ERR_TLS_NAME_MISMATCH;
    if (at_connect && connect_kind) {
        delay = vu->backoff_ns ? vu->backoff_ns : CONNECT_BACKOFF_MIN_NS;
        vu->backoff_ns = delay * 2 < CONNECT_BACKOFF_MAX_NS ? delay * 2 : CONNECT_BACKOFF_MAX_NS;
    }
    if (vu->sr->sc->steps[vu->step].kind == STEP_WS) {
        conn_ws_fail(vu, kind); /* the session's error (conn_ws.c), not a request's */
    } else {
        record_error(vu, kind, vu->inflight ? vu->inflight : 1);
    }
    vu->inflight = 0;
    conn_close(vu);
    vu_timer_cancel(vu);
    vu_next_step(vu);
    vu_timer(vu, VT_CONTINUE, loop_now_ns(vu->w->loop) + delay);
}

/* The whole batch of the current step has its responses: move on (or hop). */
void step_done(struct vu *vu)
{
    vu_timer_cancel(vu);
    if (!vu->keep_alive) {
        conn_close(vu);
    }
    if (vu->hop) {
        /* step_ops.follow put the redirect's request in sendbuf: same step, new request */
        vu->hop = false;
        vu->wbuf = vu->sendbuf.data;
        vu->wunit = vu->sendbuf.len;
        request_send(vu, 1);
        return;
    }
    vu_next_step(vu);
    vu_continue(vu);
}

/* Starts the current step's request(s). */
static void request_start(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    const struct step *st = &sr->sc->steps[vu->step];
    const struct step_rt *rt = &sr->steps[vu->step];
    uint32_t batch = vu->reserved;
    vu->hop_origin = NULL;
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
    request_send(vu, batch);
}

/* Sends wbuf (wunit bytes, batch times) as the current step's request, on a connection
 * to its origin (the hop's, after a redirect). */
static void request_send(struct vu *vu, uint32_t batch)
{
    const struct step *st = &vu->sr->sc->steps[vu->step];
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    const struct origin *o = vu->hop_origin != NULL ? vu->hop_origin : st->origin;
    if (vu->cstate != CONN_CLOSED && (vu->conn_origin != o || vu->ws != NULL)) {
        conn_close(vu); /* a connection to another origin (an earlier step or hop) */
    }
    vu->res.n = 0;
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
    if (st->kind == STEP_WS) {
        conn_ws_step(vu);
        return;
    }
    uint64_t d = st->sleep_min_ns;
    if (st->sleep_max_ns > st->sleep_min_ns) {
        d = rng_range(&vu->w->rng, st->sleep_min_ns, st->sleep_max_ns);
    }
    vu_timer(vu, VT_SLEEP, loop_now_ns(vu->w->loop) + d);
}

static void vu_iteration_done(struct vu *vu)
{
    struct worker *w = vu->w;
    struct scen_rt *sr = vu->sr;
    uint64_t now = loop_now_ns(w->loop);
    if (w->event_vu == vu) {
        now = w->event_ns; /* the answer that ends it, read late (conn.c) */
        w->event_vu = NULL;
    }
    if (vu->ws != NULL) {
        conn_close(vu); /* a session the flow left open ends with its iteration */
    }
    series_add(S(w, sr->s_iter), 1);
    series_trend_ns(S(w, sr->s_iter_dur), diff(now, vu->iter_start_ns));
    vu->iter++;
    sr->running--;
    vu->state = VU_IDLE;
    sr->ex->iteration_done(vu, now);
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
    struct vu *vu = t->data;
    enum vu_timer kind = vu->timer_kind;
    if (kind == VT_NONE) {
        return; /* cancelled lazily */
    }
    if (vu->deadline_ns > loop_now_ns(loop)) {
        loop_timer_start(loop, &vu->timer, vu->deadline_ns); /* an early (lazy) fire */
        return;
    }
    vu->timer_kind = VT_NONE;
    switch (kind) {
    case VT_REQUEST:
        if (vu->h2 != NULL && vu->cstate == CONN_OPEN && conn_h2_expire(vu)) {
            break; /* younger streams go on (HTTP/2 streams sent at different times) */
        }
        fail_requests(vu, ERR_TIMEOUT);
        break;
    case VT_CONNECT:
        fail_requests(vu, ERR_TIMEOUT);
        break;
    case VT_SLEEP:
        vu->step++;
        vu_continue(vu);
        break;
    case VT_CONTINUE:
        vu_continue(vu);
        break;
    case VT_WS:
        conn_ws_timer(vu);
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
bool vu_start_iteration(struct vu *vu, uint64_t intended_ns)
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

bool vu_may_start_iteration(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    struct worker *w = vu->w;
    if (vu->carry) {
        return true; /* under way already (HTTP/2 streams sent for it: conn_h2.c) */
    }
    if (sr->finished || vu->retire || vu->flow_stopped || w->seen_stop != STOP_NONE) {
        return false;
    }
    if (sr->limited && sr->budget == 0) {
        return false;
    }
    return sr->ex->may_iterate(vu);
}

void vu_init(struct scen_rt *sr, struct vu *vu, uint32_t local)
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

/*
 * Ends vu's iteration where it stands (the graceful stop or gracefulRampDown ran out, or
 * a hard stop): nothing sent is left out of the verdict.  The requests it still waited
 * for (connecting, sending or awaiting the answer) count in http_reqs as failed with
 * kind interrupted, a WebSocket step under way in http_errors with kind interrupted
 * (conn_ws_interrupt), and the iteration in interrupted_iterations.
 */
void vu_interrupt(struct vu *vu)
{
    struct scen_rt *sr = vu->sr;
    vu_timer_cancel(vu);
    loop_timer_stop(vu->w->loop, &vu->retire_timer);
    if (vu->state == VU_BUSY) {
        if (vu->inflight > 0) {
            record_error(vu, ERR_INTERRUPTED, vu->inflight);
            vu->inflight = 0;
        }
        conn_ws_interrupt(vu);
        series_add(S(vu->w, sr->s_interrupted), 1);
        sr->running--;
        sr->active--;
    }
    conn_close(vu);
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
