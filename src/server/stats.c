/*
 * stats — the counters behind GET /__stats: per thread, written by their owner only
 * (relaxed load + store, no locked instruction), summed when asked for; POST /__reset
 * keeps a baseline instead of writing other threads' counters.  What each counts is
 * written at the top of server.h.
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
    "/redirect/{n}",
    "/redirect-to",
    "/cookies",
    "/cookies/set",
    "/gzip",
    "/deflate",
    "/ws/echo",
    "/ws/room/{name}",
    "(unmatched)",
    "(invalid)",
    "/__stats",
    "/__reset",
};

/* ---- counting --------------------------------------------------------------------- */

/* The bucket of v: exact below 2^SUB, then 2^SUB buckets per power of two. */
static size_t ans_bucket(uint64_t v)
{
    const unsigned sub = SRV_ANS_SUB_BITS;
    if (v < (1ULL << sub)) {
        return (size_t)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > SRV_ANS_MAX_EXP) {
        return SRV_ANS_BUCKETS - 1;
    }
    return ((size_t)(e - sub + 1) << sub) + (size_t)((v >> (e - sub)) - (1ULL << sub));
}

/* The smallest value in bucket i. */
static uint64_t ans_lower(size_t i)
{
    const unsigned sub = SRV_ANS_SUB_BITS;
    if (i < (1u << sub)) {
        return i;
    }
    size_t k = i >> sub, m = i & ((1u << sub) - 1);
    unsigned e = (unsigned)k + sub - 1;
    return ((1ULL << sub) + m) << (e - sub);
}

void server__count_answer_time(struct server_thread *w, uint64_t ns)
{
    cnt_add(&w->cnt, C_ANS_COUNT, 1);
    cnt_add(&w->cnt, C_ANS_SUM_NS, ns);
    cnt_add(&w->cnt, C_ANS0 + (int)ans_bucket(ns), 1);
}

/* "answers": count, sum, and quantiles as the lower edges of their buckets. */
static void answers_json(struct jsonw *w, const uint64_t *s)
{
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"min_ns", 0}, {"p50_ns", 0.5}, {"p90_ns", 0.9}, {"p99_ns", 0.99}, {"max_ns", 1}};
    uint64_t n = s[C_ANS_COUNT];
    jsonw_key(w, "answers");
    jsonw_obj_begin(w);
    jsonw_key(w, "count");
    jsonw_uint(w, n);
    jsonw_key(w, "sum_ns");
    jsonw_uint(w, s[C_ANS_SUM_NS]);
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        /* The rank of the quantile, 1-based: the smallest with rank >= q * n. */
        uint64_t rank = (uint64_t)(qs[k].q * (double)n + 0.999999);
        if (rank < 1) {
            rank = 1;
        }
        uint64_t seen = 0, v = 0;
        for (size_t i = 0; n > 0 && i < SRV_ANS_BUCKETS; i++) {
            seen += s[C_ANS0 + i];
            if (seen >= rank) {
                v = ans_lower(i);
                break;
            }
        }
        jsonw_key(w, qs[k].name);
        jsonw_uint(w, v);
    }
    jsonw_obj_end(w);
}

void server__count_status(struct server_thread *w, int key)
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

void server__count_request(struct server_thread *w, enum route r)
{
    cnt_add(&w->cnt, C_REQUESTS, 1);
    cnt_add(&w->cnt, C_ROUTE0 + (int)r, 1);
}

void server__h_stats(struct conn *c, const struct req *rq)
{
    struct jsonw jw;
    size_t len;
    jsonw_init(&jw, 0, SRV_STATS_MAX);
    if (server_stats_json(c->w->t, &jw) != 0) {
        jsonw_destroy(&jw);
        server__respond_error(c, rq, 500, "stats document failed");
        return;
    }
    const char *doc = jsonw_data(&jw, &len);
    server__body_reset(c->w);
    server__body_add(c->w, doc, len);
    jsonw_destroy(&jw);
    server__respond_json(c, rq, 200);
}

void server__h_reset(struct conn *c, const struct req *rq)
{
    struct server *t = c->w->t;
    pthread_mutex_lock(&t->stats_lock);
    for (int k = 0; k < C_COUNT; k++) {
        uint64_t sum = 0;
        for (int i = 0; i < t->n_threads; i++) {
            sum += atomic_load_explicit(&t->threads[i].cnt.c[k], memory_order_relaxed);
        }
        t->baseline[k] = sum;
    }
    for (int i = 0; i < t->n_threads; i++) {
        t->threads[i].owned_baseline =
            atomic_load_explicit(&t->threads[i].cnt.c[C_CONN_OWNED], memory_order_relaxed);
    }
    pthread_mutex_unlock(&t->stats_lock);
    server__body_reset(c->w);
    server__body_adds(c->w, "{\"reset\":true}");
    server__respond_json(c, rq, 200);
}

static void stats_sum(struct server *t, uint64_t *sum, bool since_reset)
{
    memset(sum, 0, sizeof(uint64_t) * C_COUNT);
    for (int i = 0; i < t->n_threads; i++) {
        for (int k = 0; k < C_COUNT; k++) {
            sum[k] += atomic_load_explicit(&t->threads[i].cnt.c[k], memory_order_relaxed);
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

int server_stats_json(struct server *t, struct jsonw *w)
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
    jsonw_key(w, "connections_by_thread");
    jsonw_arr_begin(w);
    pthread_mutex_lock(&t->stats_lock);
    for (int i = 0; i < t->n_threads; i++) {
        uint64_t n = atomic_load_explicit(&t->threads[i].cnt.c[C_CONN_OWNED], memory_order_relaxed);
        jsonw_uint(w, n >= t->threads[i].owned_baseline ? n - t->threads[i].owned_baseline : 0);
    }
    pthread_mutex_unlock(&t->stats_lock);
    jsonw_arr_end(w);
    server__tls_stats_json(t, s, w);
    server__ws_stats_json(t, s, w);
    jsonw_key(w, "bids");
    jsonw_obj_begin(w);
    jsonw_key(w, "accepted");
    jsonw_uint(w, s[C_BIDS_ACCEPTED]);
    jsonw_key(w, "rejected");
    jsonw_uint(w, s[C_BIDS_REJECTED]);
    jsonw_obj_end(w);
    jsonw_key(w, "unauthorized");
    jsonw_uint(w, s[C_UNAUTHORIZED]);
    server__db_stats_json(t, w);
    jsonw_key(w, "invariant_ok");
    jsonw_bool(w, t->db != NULL ? server__db_invariant_ok(t) : auction_invariant_ok(t->auctions));
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
    answers_json(w, s);
    jsonw_key(w, "burn");
    jsonw_obj_begin(w);
    jsonw_key(w, "requests");
    jsonw_uint(w, s[C_BURN_REQUESTS]);
    jsonw_key(w, "cpu_ns");
    jsonw_uint(w, s[C_BURN_NS]);
    jsonw_obj_end(w);
    jsonw_key(w, "service");
    jsonw_obj_begin(w);
    jsonw_key(w, "slots");
    jsonw_uint(w, t->o.service_slots);
    jsonw_key(w, "time_ns");
    jsonw_uint(w, t->o.service_time_ns);
    jsonw_key(w, "requests");
    jsonw_uint(w, s[C_SVC_REQUESTS]);
    jsonw_key(w, "queued");
    jsonw_uint(w, s[C_SVC_QUEUED]);
    jsonw_key(w, "wait_ns");
    jsonw_uint(w, s[C_SVC_WAIT_NS]);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

uint64_t server_total_requests(struct server *t)
{
    uint64_t s[C_COUNT];
    stats_sum(t, s, false);
    return s[C_REQUESTS];
}

uint64_t server_total_connections(struct server *t)
{
    uint64_t s[C_COUNT];
    stats_sum(t, s, false);
    return s[C_CONN_ACCEPTED];
}
