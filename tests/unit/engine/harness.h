/*
 * harness — one worker driven by hand for the connection and VU tests: a plan of one
 * scenario on one origin whose transport is a socketpair (the test holds the server's
 * end), and a clock the test sets.  Nothing runs on a thread: the test calls
 * loop_run_once() and reads the worker's registry.  Included by test_conn.c and
 * test_vu.c only.
 */
#ifndef BRUNT_TEST_ENGINE_HARNESS_H
#define BRUNT_TEST_ENGINE_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/worker_internal.h"
#include "metrics/hist.h"

#define H_MAX_PEERS 8

struct harness {
    struct plan plan;
    struct origin origin;
    struct scenario_plan sc;
    struct step steps[2];
    struct engine_shared eng;
    struct worker *w;
    struct scen_rt *sr;
    struct vu *vu;
    uint64_t now;
};

/* When > 0 before h_init: the origin speaks HTTP/2 (h2c, prior knowledge: the
 * socketpair has no ALPN) and each iteration sends this many streams at once. */
static uint32_t h_h2_streams;

/* The server ends of the connections the worker made, in order. */
static int h_peer[H_MAX_PEERS];
static int h_connects;
/* What the transport's handshake returns (0, or a negative BRUNT_ETLS_* code). */
static int h_handshake_err;
/* Requests per request step (--pipeline); 0 or 1: one. */
static uint32_t h_pipeline;

static int sp_connect(struct transport_conn *c, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    int sv[2];
    if (h_connects == H_MAX_PEERS) {
        return -EMFILE;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        return -errno;
    }
    c->fd = sv[0];
    c->state = NULL;
    h_peer[h_connects++] = sv[1];
    return -EINPROGRESS; /* writable at once: connected in the next iteration */
}

static int sp_connected(struct transport_conn *c)
{
    (void)c;
    return 0;
}

static int sp_handshake(struct transport_conn *c, bool *want_write)
{
    (void)c;
    *want_write = false;
    return h_handshake_err;
}

/* When > 0: the transport's reads return at most this many bytes (a server whose bytes
 * arrive while the client reads). */
static size_t h_read_max;

static ssize_t sp_read(struct transport_conn *c, void *buf, size_t len)
{
    if (h_read_max > 0 && len > h_read_max) {
        len = h_read_max;
    }
    ssize_t n = recv(c->fd, buf, len, 0);
    return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : n;
}

static ssize_t sp_write(struct transport_conn *c, const void *buf, size_t len)
{
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
    return n < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : n;
}

static void sp_close(struct transport_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static const struct transport_ops sp_transport = {
    .name = "socketpair",
    .connect = sp_connect,
    .connected = sp_connected,
    .handshake = sp_handshake,
    .read = sp_read,
    .write = sp_write,
    .close = sp_close,
};

static uint64_t h_clock(void *data)
{
    return *(const uint64_t *)data;
}

#define H_REQUEST "GET / HTTP/1.1\r\nHost: t\r\n\r\n"

/*
 * Fills in the plan of a per-vu-iterations scenario of one VU and `iterations`
 * iterations whose steps are a request (H_REQUEST) and, when sleep_ns > 0, a sleep.  The
 * clock starts at 1000 s; timeouts are 1 s.  A test may change h->sc before h_worker().
 */
/* Step ops for the first step (a rendered step), set before h_init; NULL: pre-rendered. */
static const struct step_ops *h_ops;

static void h_plan(struct harness *h, uint64_t iterations, uint64_t sleep_ns)
{
    memset(h, 0, sizeof *h);
    h_connects = 0;
    h_read_max = 0;
    h->now = 1000 * NS_PER_S;
    h->origin.transport = &sp_transport;
    h->origin.addr_len = sizeof(struct sockaddr);
    struct step *st = &h->steps[0];
    st->kind = STEP_REQUEST;
    st->origin = &h->origin;
    st->method = (char *)"GET";
    st->name = (char *)"/";
    st->raw = (char *)H_REQUEST;
    st->raw_len = strlen(H_REQUEST);
    st->ops = h_ops;
    h->sc.n_steps = 1;
    if (sleep_ns > 0) {
        h->steps[1].kind = STEP_SLEEP;
        h->steps[1].sleep_min_ns = h->steps[1].sleep_max_ns = sleep_ns;
        h->sc.n_steps = 2;
    }
    h->sc.name = (char *)"s";
    h->sc.executor = EXEC_PER_VU_ITERATIONS;
    h->sc.vus = 1;
    h->sc.iterations = iterations;
    h->sc.pipeline = h_pipeline;
    h->sc.duration_ns = 600 * NS_PER_S;
    h->sc.graceful_stop_ns = NS_PER_S;
    h->sc.steps = h->steps;
    if (h_h2_streams > 0) {
        h->origin.http2 = true;
        h->sc.pipeline = h_h2_streams;
    }
    h->plan.scenarios = &h->sc;
    h->plan.n_scenarios = 1;
    h->plan.origins = &h->origin;
    h->plan.n_origins = 1;
    h->plan.threads = 1;
    h->plan.timeout_ns = NS_PER_S;
    h->plan.connect_timeout_ns = NS_PER_S;
    h->plan.grace_ns = NS_PER_S;
    h->eng.plan = &h->plan;
    h->eng.n_workers = 1;
    h->eng.start_ns = h->now;
}

/* Makes the worker of h's plan, on the test's clock, its scenario starting now. */
static void h_worker(struct harness *h)
{
    h->eng.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    cr_assert_geq(h->eng.notify_fd, 0);
    h->w = worker_new(&h->eng, 0);
    cr_assert_not_null(h->w);
    loop_set_clock(h->w->loop, h_clock, &h->now);
    h->sr = &h->w->scens[0];
    h->vu = &h->sr->vus[0];
    h->sr->start_ns = h->now;
    h->sr->end_ns = h->now + h->sc.duration_ns;
}

/* h_plan() and h_worker(), and the one VU's first iteration started. */
static void h_init(struct harness *h, uint64_t iterations, uint64_t sleep_ns)
{
    h_plan(h, iterations, sleep_ns);
    h_worker(h);
    h->sr->started = true;
    h->sr->active++;
    h->sr->n_alloc = 1; /* as scen_set_active would have it */
    cr_assert(vu_start_iteration(h->vu, h->now), "the first iteration starts");
}

static void h_destroy(struct harness *h)
{
    worker_free(h->w);
    close(h->eng.notify_fd);
    for (int i = 0; i < h_connects; i++) {
        close(h_peer[i]);
    }
}

/* Runs a few loop iterations without waiting (timers a callback arms for "now" fire in
 * the next one, so one is not enough). */
static void h_run(struct harness *h)
{
    for (int i = 0; i < 8; i++) {
        cr_assert_geq(loop_run_once(h->w->loop, 0), 0);
    }
}

/* Reads what the VU sent on connection i (all of it that is there). */
static size_t h_recv(int i, char *buf, size_t cap)
{
    ssize_t n = recv(h_peer[i], buf, cap - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

static void h_send(int i, const char *s, size_t n)
{
    cr_assert_eq(send(h_peer[i], s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Sum of a counter (or count of a rate/trend) over the series of metric whose tags
 * contain filter ("" for all). */
static double h_sum(struct harness *h, int metric, const char *filter)
{
    double total = 0;
    struct registry *reg = h->w->cur->reg;
    for (size_t i = 0; i < registry_len(reg); i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric != metric || !tags_contain(s->tags, filter)) {
            continue;
        }
        if (s->hist != NULL) {
            total += (double)hist_count(s->hist);
        } else if (metric_info[metric].type == METRIC_RATE) {
            total += (double)s->trues;
        } else {
            total += s->sum;
        }
    }
    return total;
}

/* The largest sample of a trend over its series (ns). */
static uint64_t h_max_ns(struct harness *h, int metric)
{
    uint64_t mx = 0;
    struct registry *reg = h->w->cur->reg;
    for (size_t i = 0; i < registry_len(reg); i++) {
        const struct series *s = registry_at_const(reg, (int)i);
        if (s->metric == metric && s->hist != NULL && hist_max_ns(s->hist) > mx) {
            mx = hist_max_ns(s->hist);
        }
    }
    return mx;
}

#endif
