/*
 * faults — what happens to one complete request before and after its route: it is
 * counted, then one draw decides between a reset, garbage, an injected 500 and the
 * route itself; a delay (fixed or uniform, plus /delay/{ms}) holds the built answer
 * (out_hold marks where it starts) until a timer releases it.  A stall is a per-thread
 * flag flipped by a timer at the same absolute times on every thread: while it is set
 * nothing is written, but requests are still read and handled, so their answers go out
 * the moment it ends.  The leak keeps leak_bytes_per_req per request.  Counting rules
 * are in server.h.
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

/* Allocates (and touches) leak_bytes_per_req bytes that are never given back. */
static void leak_memory(struct server_thread *w)
{
    uint64_t want = w->t->o.leak_bytes_per_req;
    uint64_t cap = SRV_LEAK_MAX / (uint64_t)w->t->n_threads;
    while (want > 0 && w->leaked < cap) {
        if (w->leak_nblocks == 0 || w->leak_used == SRV_LEAK_BLOCK) {
            if (w->leak_nblocks == w->leak_cap_blocks) {
                size_t n = w->leak_cap_blocks ? w->leak_cap_blocks * 2 : 64;
                char **b = realloc(w->leak_blocks, n * sizeof *b);
                if (b == NULL) {
                    return;
                }
                w->leak_blocks = b;
                w->leak_cap_blocks = n;
            }
            char *blk = malloc(SRV_LEAK_BLOCK);
            if (blk == NULL) {
                return;
            }
            w->leak_blocks[w->leak_nblocks++] = blk;
            w->leak_used = 0;
        }
        uint64_t n = SRV_LEAK_BLOCK - w->leak_used;
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

/* Handles one complete request: counting, faults, the route, the delay. */
void server__dispatch(struct conn *c, const struct http1_request *h, const char *body,
                      size_t body_len)
{
    struct server_thread *w = c->w;
    const struct server_options *o = &w->t->o;
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
    enum method_class want = server__route_match(&rq);
    bool method_ok = want == M_OTHER || want == mc;

    if (rq.route == R_STATS || rq.route == R_RESET) {
        /* Never counted, never delayed or faulted. */
        if (!method_ok) {
            server__body_reset(w);
            server__body_adds(w, "{\"error\":\"method not allowed\"}");
            server__respond(c, &rq, 405, "application/json",
                            rq.route == R_STATS ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n",
                            false);
        } else if (rq.route == R_STATS) {
            server__h_stats(c, &rq);
        } else {
            server__h_reset(c, &rq);
        }
        return;
    }

    server__count_request(w, rq.route);
    uint64_t arrival = loop_now_ns(w->loop);
    if (o->leak_bytes_per_req > 0) {
        leak_memory(w);
    }
    if (w->stalled) {
        cnt_add(&w->cnt, C_F_STALLED, 1);
    }
    if (o->burn_cpu_ns > 0) {
        cnt_add(&w->cnt, C_BURN_REQUESTS, 1);
        cnt_add(&w->cnt, C_BURN_NS, server_burn_cpu(o->burn_cpu_ns));
    }
    uint64_t delay = o->delay_ns;
    if (o->delay_max_ns > o->delay_ns) {
        delay += rng_next(&w->rng) % (o->delay_max_ns - o->delay_ns + 1);
    }
    if (o->service_slots > 0) {
        uint64_t wait;
        delay += server__service_admit(w->t, arrival, &wait) - arrival;
        cnt_add(&w->cnt, C_SVC_REQUESTS, 1);
        if (wait > 0) {
            cnt_add(&w->cnt, C_SVC_QUEUED, 1);
            cnt_add(&w->cnt, C_SVC_WAIT_NS, wait);
        }
    }
    /* Where this answer starts, relative to what is still unsent: writing the answer may
     * drop the already-sent prefix of the output buffer (server__out_reserve). */
    size_t mark_unsent = c->out.len - c->out_sent;
    int key;
    uint8_t close_mode = CLOSE_NONE;
    double u =
        (o->reset_rate > 0 || o->malformed_rate > 0 || o->error_rate > 0) ? rng_unit(&w->rng) : 1.0;
    if (u < o->reset_rate) {
        cnt_add(&w->cnt, C_F_RESETS, 1);
        key = KEY_RESET;
        close_mode = CLOSE_RESET;
    } else if (u < o->reset_rate + o->malformed_rate) {
        static const char garbage[] =
            "\x01\x02\xff garbage: this is not an HTTP response \xfe\r\n\r\n";
        cnt_add(&w->cnt, C_F_MALFORMED, 1);
        server__out_add(c, garbage, sizeof garbage - 1);
        key = KEY_MALFORMED;
        close_mode = CLOSE_GRACEFUL;
    } else if (u < o->reset_rate + o->malformed_rate + o->error_rate) {
        cnt_add(&w->cnt, C_F_ERRORS, 1);
        key = server__respond_error(c, &rq, 500, "injected fault");
    } else if (!method_ok) {
        key = 405;
        server__body_reset(w);
        server__body_adds(w, "{\"error\":\"method not allowed\"}");
        server__respond(c, &rq, 405, "application/json",
                        want == M_GET ? "Allow: GET, HEAD\r\n" : "Allow: POST\r\n", false);
    } else {
        uint64_t extra = 0;
        key = server__run_handler(c, &rq, &extra);
        delay += extra;
    }

    if (delay > 0) {
        /* Hold the answer (and whatever the handler decided to do after it). */
        c->out_hold = c->out_sent + mark_unsent;
        c->held_key = key;
        c->held_arrival_ns = arrival;
        c->held_close = close_mode > c->close_after ? close_mode : c->close_after;
        c->close_after = CLOSE_NONE;
        c->timer_kind = T_HOLD;
        loop_timer_start(w->loop, &c->timer, arrival + delay);
        return;
    }
    server__count_status(w, key);
    if (key >= 0) {
        /* The loop's clock does not move while a request is handled (a burn): read it. */
        uint64_t now = o->burn_cpu_ns > 0 ? clock_now_ns() : arrival;
        server__count_answer_time(w, now - arrival);
    }
    if (close_mode > c->close_after) {
        c->close_after = close_mode;
    }
}

/* Releases a held answer: counted now, its close applied, pacing restarted. */
void server__hold_release(struct conn *c)
{
    c->out_hold = NONE;
    server__count_status(c->w, c->held_key);
    if (c->held_key >= 0) {
        uint64_t now = loop_now_ns(c->w->loop);
        server__count_answer_time(c->w, now > c->held_arrival_ns ? now - c->held_arrival_ns : 0);
    }
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
void server__reject(struct conn *c, enum route r, int status, const char *msg)
{
    struct server_thread *w = c->w;
    struct http1_request dummy = {0};
    struct req rq = {0};
    rq.h = &dummy;
    rq.minor = 1;
    server__count_request(w, r);
    server__respond_error(c, &rq, status, msg);
    server__count_status(w, status);
    c->close_after = CLOSE_GRACEFUL;
}

/* Stall boundaries: the k-th stall (k >= 1) is [start + k*every, start + k*every + for). */
void server__stall_cb(struct loop *loop, struct loop_timer *timer)
{
    struct server_thread *w = timer->data;
    const struct server_options *o = &w->t->o;
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
        server__held_del(c);
        server__conn_update(c);
    }
}
