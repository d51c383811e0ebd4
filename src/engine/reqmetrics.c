/*
 * reqmetrics — request metrics of one worker: the series of each (step, status) pair,
 * built on first sight and cached, and the samples one response or one failure adds
 * (http_reqs, http_req_failed, the timing trends, checks, errors by kind).
 *
 * Series indices are cached per step and status, so recording a response looks nothing
 * up by name.  Only the worker's thread calls these.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/worker_internal.h"
#include "metrics/hist.h"

/* The most tag pairs one series carries: brunt's own, a step's and the run's. */
#define TAGS_MAX_PAIRS 64

/*
 * Appends the pairs of list ("key=value" pairs each ended by TAGS_SEP, or "K=V" strings
 * when strs is set) to keys/vals, up to TAGS_MAX_PAIRS; copy (cap bytes) holds the split
 * text.  Returns the new count.
 */
static size_t add_pairs(const char *list, const char *const *strs, size_t n_strs, char *copy,
                        size_t cap, const char **keys, const char **vals, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < (strs != NULL ? n_strs : 1) && n < TAGS_MAX_PAIRS; i++) {
        const char *src = strs != NULL ? strs[i] : list;
        size_t len = src != NULL ? strlen(src) : 0;
        if (len == 0 || used + len + 2 > cap) {
            continue;
        }
        char *p = copy + used;
        memcpy(p, src, len + 1);
        used += len + 1;
        while (p != NULL && *p != '\0' && n < TAGS_MAX_PAIRS) {
            char *end = strs != NULL ? NULL : strchr(p, TAGS_SEP);
            if (end != NULL) {
                *end = '\0';
            }
            char *eq = strchr(p, '=');
            if (eq != NULL) {
                *eq = '\0';
                keys[n] = p;
                vals[n++] = eq + 1;
            }
            p = end != NULL ? end + 1 : NULL;
        }
    }
    return n;
}

static struct status_ix *status_series(struct worker *w, struct scen_rt *sr, uint32_t step,
                                       int status, bool h2);
static void step_ops_done(struct vu *vu, int status, uint64_t duration_ns);

const char *tag_short(struct tag_buf *buf, const char *v)
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

int series_for(struct worker *w, int metric, const char *tags)
{
    int i = registry_get(w->cur->reg, metric, tags);
    if (i < 0) {
        abort(); /* out of memory while creating a series: nothing sane to do */
    }
    w->series_gen++; /* a new series may have moved the others */
    return i;
}

bool status_expected(const struct step_rt *rt, int status)
{
    return status >= 0 && status < STATUS_BITS &&
           ((rt->expected[status / 64] >> (status % 64)) & 1);
}

static void fold_zeros(struct worker *w, struct status_ix *ix)
{
    for (int t = 0; t < RT_COUNT; t++) {
        if (ix->zeros[t] > 0) {
            hist_record_n(S(w, ix->trend[t])->hist, 0, ix->zeros[t]);
            ix->zeros[t] = 0;
        }
    }
}

void reqm_fold_zeros(struct worker *w)
{
    for (size_t i = 0; i < w->n_scens; i++) {
        struct scen_rt *sr = &w->scens[i];
        for (size_t k = 0; sr->steps != NULL && k < sr->sc->n_steps; k++) {
            struct step_rt *rt = &sr->steps[k];
            for (int c = 0; c < rt->n_cache; c++) {
                fold_zeros(w, &rt->cache[c]);
            }
        }
    }
}

static void refresh_pointers(struct worker *w, struct status_ix *ix)
{
    ix->p_reqs = S(w, ix->reqs);
    ix->p_failed = S(w, ix->failed);
    for (int t = 0; t < RT_COUNT; t++) {
        ix->p_trend[t] = S(w, ix->trend[t]);
    }
    ix->gen = w->series_gen;
}

/* The series of (step, status) on HTTP/1.1, or on HTTP/2 (h2: tagged proto=HTTP/2.0). */
static struct status_ix *status_series(struct worker *w, struct scen_rt *sr, uint32_t step,
                                       int status, bool h2)
{
    struct step_rt *rt = &sr->steps[step];
    for (int i = 0; i < rt->n_cache; i++) {
        if (rt->cache[i].status == status && rt->cache[i].h2 == h2) {
            struct status_ix *hit = &rt->cache[i];
            if (hit->gen != w->series_gen) {
                refresh_pointers(w, hit);
            }
            return hit;
        }
    }
    /* A status not seen before: build its series (allocates; rare). */
    /* When the cache is full, the last slot is overwritten: still correct, just slower. */
    struct status_ix *ix =
        rt->n_cache < STATUS_CACHE ? &rt->cache[rt->n_cache++] : &rt->cache[STATUS_CACHE - 1];
    fold_zeros(w, ix); /* an overwritten slot's status keeps its zeros (a new one has none) */
    memset(ix, 0, sizeof *ix);
    char tags[2400];
    bool expected = status_expected(rt, status);
    int len = snprintf(tags, sizeof tags, "%s%cexpected_response=%s%cstatus=%d", rt->name_tags,
                       TAGS_SEP, expected ? "true" : "false", TAGS_SEP, status);
    if (h2 && len > 0 && (size_t)len < sizeof tags) {
        snprintf(tags + len, sizeof tags - (size_t)len, "%cproto=HTTP/2.0", TAGS_SEP);
    }
    /* name_tags holds method, name, scenario and the step's and run's tags:
     * re-canonicalise the whole set. */
    const char *keys[TAGS_MAX_PAIRS], *vals[TAGS_MAX_PAIRS];
    char copy[2400];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", tags);
    for (char *p = copy; p != NULL && n < TAGS_MAX_PAIRS;) {
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
    static const int trend_metric[RT_COUNT] = {
        [RT_DURATION] = M_HTTP_REQ_DURATION,     [RT_BLOCKED] = M_HTTP_REQ_BLOCKED,
        [RT_CONNECTING] = M_HTTP_REQ_CONNECTING, [RT_TLS] = M_HTTP_REQ_TLS_HANDSHAKING,
        [RT_SENDING] = M_HTTP_REQ_SENDING,       [RT_WAITING] = M_HTTP_REQ_WAITING,
        [RT_RECEIVING] = M_HTTP_REQ_RECEIVING,   [RT_QUEUED] = M_HTTP_REQ_QUEUED,
        [RT_LATENCY] = M_HTTP_REQ_LATENCY,
    };
    ix->status = status;
    ix->h2 = h2;
    ix->reqs = series_for(w, M_HTTP_REQS, tags);
    ix->failed = series_for(w, M_HTTP_REQ_FAILED, tags);
    for (int t = 0; t < RT_COUNT; t++) {
        ix->trend[t] = series_for(w, trend_metric[t], tags);
    }
    refresh_pointers(w, ix);
    return ix;
}

/* Counts the check results and the samples the flow gave for the current step. */
void reqm_record_checks(struct vu *vu)
{
    struct step_rt *rt = &vu->sr->steps[vu->step];
    for (size_t i = 0; i < vu->res.n; i++) {
        series_rate(S(vu->w, rt->checks[vu->res.index[i]]), vu->res.pass[i]);
    }
    vu->res.n = 0;
    for (size_t i = 0; i < vu->res.n_samples; i++) {
        size_t k = vu->res.sample_index[i];
        if (k >= rt->n_samples) {
            continue;
        }
        series_record(S(vu->w, rt->samples[k]), vu->res.sample_value[i]);
    }
    vu->res.n_samples = 0;
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
    reqm_record_checks(vu);
    if (v == STEP_ABORT_ITERATION) {
        vu->abort_iter = true;
    }
}

/* A timing sample: a zero is only counted (folded in once a second), others recorded. */
static inline void trend(struct status_ix *ix, enum req_trend t, uint64_t ns)
{
    if (ns == 0) {
        ix->zeros[t]++;
    } else {
        series_trend_ns(ix->p_trend[t], ns);
    }
}

/*
 * The current request's send lag: from its intended start to its first byte written
 * (t_send).  The intended start is the arrival's slot in the schedule for an iteration's
 * first request (open model: the arrival window, a queue wait, a connect and brunt's own
 * delays all show here), and the moment the step began for the others (and in the
 * closed model, whose iterations start when the VU is free).  One series per scenario,
 * recorded once per request sent, whatever its outcome.  Its own part leaves out how late
 * the system woke the loop for the timer of the send's turn beyond the timer slack brunt
 * asks for (t_send_late, core/loop.h): what is left is the arrival window, the slack,
 * queueing and brunt's own work.  Only HTTP/1.1 sends know it (HTTP/2 and WebSocket
 * count their whole lag as brunt's).
 */
void record_send_lag(struct vu *vu)
{
    uint64_t intended = vu->step == 0 ? vu->intended_ns : vu->t_req;
    uint64_t lag = diff(vu->t_send, intended);
    series_trend_ns(S(vu->w, vu->sr->s_send_lag), lag);
    series_trend_ns(S(vu->w, vu->sr->s_send_lag_own),
                    lag > vu->t_send_late ? lag - vu->t_send_late : 0);
}

/* One response of the current step has arrived completely at `now`. */
void record_response(struct vu *vu, uint64_t now)
{
    struct worker *w = vu->w;
    struct status_ix *ix = status_series(w, vu->sr, vu->step, vu->status, vu->h2 != NULL);
    bool failed = !status_expected(&vu->sr->steps[vu->step], vu->status);
    /* k6: connecting is TCP only, tls_handshaking the handshake only; both 0 on a
     * reused connection (t_conn_done is reset per request, set on a new connection). */
    uint64_t connecting = vu->t_conn_done ? diff(vu->t_hs_start, vu->t_conn_start) : 0;
    uint64_t tls = vu->t_conn_done ? diff(vu->t_conn_done, vu->t_hs_start) : 0;
    uint64_t blocked = diff(vu->t_send, vu->t_req);
    uint64_t sending = diff(vu->t_sent, vu->t_send);
    uint64_t waiting = diff(vu->t_first, vu->t_sent);
    uint64_t receiving = diff(now, vu->t_first);
    uint64_t duration = diff(now, vu->t_send);
    uint64_t queued = vu->step == 0 ? vu->queued_ns : 0;
    series_add(ix->p_reqs, 1);
    series_rate(ix->p_failed, failed);
    record_send_lag(vu);
    trend(ix, RT_DURATION, duration);
    trend(ix, RT_BLOCKED, blocked);
    trend(ix, RT_CONNECTING, connecting);
    trend(ix, RT_TLS, tls); /* plain TCP: 0 (its handshake is done at once) */
    trend(ix, RT_SENDING, sending);
    trend(ix, RT_WAITING, waiting);
    trend(ix, RT_RECEIVING, receiving);
    trend(ix, RT_QUEUED, queued);
    trend(ix, RT_LATENCY, queued + blocked + duration);
    const struct step_rt *rt = &vu->sr->steps[vu->step];
    if (rt->follow != NULL && vu->batch == 1 &&
        rt->follow(rt->data, vu->sv, &vu->sendbuf, &vu->hop_origin)) {
        /* A redirect hop: its own sample above; the step goes on (step_done). */
        vu->hop = true;
        worker_defer_stop(w, "a redirect (its hop would leave up to a window late)");
        vu->queued_ns = 0;
        return;
    }
    step_ops_done(vu, vu->status, duration);
}

/*
 * `requests` of the current step failed with a network or protocol error, or were cut
 * off by the run's end (ERR_INTERRUPTED): counted in http_reqs, as failed, and by kind.
 * An interrupted request's flow does not see its end (its checks and extractions are
 * not run, as k6 does not run the rest of an interrupted iteration).
 */
void record_error(struct vu *vu, enum err_kind kind, uint32_t requests)
{
    struct worker *w = vu->w;
    struct status_ix *ix = status_series(w, vu->sr, vu->step, 0, vu->h2 != NULL);
    for (uint32_t i = 0; i < requests; i++) {
        series_add(S(w, ix->reqs), 1);
        series_rate(S(w, ix->failed), true);
        series_add(S(w, vu->sr->s_err[kind]), 1);
        if (vu->woff > 0) {
            record_send_lag(vu); /* it was written: a timeout or a reset after the send */
        }
    }
    if (kind != ERR_INTERRUPTED) {
        step_ops_done(vu, 0, 0);
    }
}

/* Methods a client may send again after a connection failed (RFC 9110 9.2.2). */
static bool method_idempotent(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; m != NULL && i < sizeof ok / sizeof ok[0]; i++) {
        if (strcmp(m, ok[i]) == 0) {
            return true;
        }
    }
    return false;
}

int reqm_scen_init(struct worker *w, struct scen_rt *sr)
{
    const struct scenario_plan *sc = sr->sc;
    struct tag_buf tb_scen, tb_method, tb_name, tb_group, tb_check;
    const char *scen = tag_short(&tb_scen, sc->name);
    const struct plan *plan = w->eng->plan;
    const char *keys[TAGS_MAX_PAIRS] = {"scenario"};
    const char *vals[TAGS_MAX_PAIRS] = {scen};
    char run_copy[1024], step_copy[1024];
    size_t n_run = add_pairs(NULL, plan->run_tags, plan->n_run_tags, run_copy, sizeof run_copy,
                             keys + 1, vals + 1, 0);
    if (tags_canon(sr->scen_tags, sizeof sr->scen_tags, keys, vals, 1 + n_run) < 0) {
        return -EINVAL;
    }
    for (size_t k = 0; k < sc->n_steps; k++) {
        const struct step *st = &sc->steps[k];
        if (st->kind == STEP_SLEEP) {
            continue;
        }
        const char *method = tag_short(&tb_method, st->method != NULL ? st->method : "");
        const char *name = tag_short(&tb_name, st->name);
        const char *group = tag_short(&tb_group, st->group);
        const char *nk[TAGS_MAX_PAIRS] = {"method", "name", "scenario", "group"};
        const char *nv[TAGS_MAX_PAIRS] = {method, name, scen, group};
        size_t n = st->group != NULL ? 4 : 3;
        /* the step's tags, then the run's */
        size_t own = n;
        n = add_pairs(st->tags, NULL, 0, step_copy, sizeof step_copy, nk, nv, n);
        size_t with_step = n;
        for (size_t r = 0; r < n_run && n < TAGS_MAX_PAIRS; r++) {
            bool dup = false; /* a step's tag wins over a run's of the same name (k6) */
            for (size_t e = own; e < with_step && !dup; e++) {
                dup = strcmp(nk[e], keys[1 + r]) == 0;
            }
            if (!dup) {
                nk[n] = keys[1 + r];
                nv[n++] = vals[1 + r];
            }
        }
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
        rt->idempotent = method_idempotent(st->method);
        if (ops == NULL) {
            continue;
        }
        rt->body_cap = ops->body_cap(st->ops_data);
        rt->render = ops->render;
        rt->on_head = ops->on_head;
        rt->on_done = ops->on_done;
        rt->follow = ops->follow;
        rt->ws_match = ops->ws_match;
        rt->data = st->ops_data;
        /* One `checks` series per check: tags check, name, scenario (and group). */
        size_t nc = ops->check_count(st->ops_data);
        sr->steps[k].checks = calloc(nc ? nc : 1, sizeof *sr->steps[k].checks);
        if (sr->steps[k].checks == NULL) {
            return -ENOMEM;
        }
        for (size_t c = 0; c < nc; c++) {
            const char *ck[TAGS_MAX_PAIRS] = {"check", "name", "scenario", "group"};
            const char *cv[TAGS_MAX_PAIRS] = {
                tag_short(&tb_check, ops->check_name(st->ops_data, c)), name, scen, group};
            size_t m = own;
            for (size_t e = own; e < n && m < TAGS_MAX_PAIRS; e++) {
                ck[m] = nk[e]; /* the step's and the run's tags, as on its requests */
                cv[m++] = nv[e];
            }
            char tags[2400];
            if (tags_canon(tags, sizeof tags, ck, cv, m) < 0) {
                return -EINVAL;
            }
            sr->steps[k].checks[c] = series_for(w, M_CHECKS, tags);
        }
        if (st->kind == STEP_WS && st->ws_op == WS_STEP_CONNECT) {
            /* A session's series: the checks' tags without check (conn_ws.c). */
            const char *wk[TAGS_MAX_PAIRS] = {"name", "scenario", "group"};
            const char *wv[TAGS_MAX_PAIRS] = {name, scen, group};
            size_t m = st->group != NULL ? 3 : 2;
            for (size_t e = own; e < n && m < TAGS_MAX_PAIRS; e++) {
                wk[m] = nk[e];
                wv[m++] = nv[e];
            }
            char tags[2400];
            if (tags_canon(tags, sizeof tags, wk, wv, m) < 0) {
                return -EINVAL;
            }
            conn_ws_series_init(w, rt, tags);
        }
        /* The step's own sample series (custom metrics), with the tags the ops give. */
        size_t ns = ops->sample_count != NULL ? ops->sample_count(st->ops_data) : 0;
        for (size_t c = 0; c < ns && c < STEP_MAX_SAMPLES; c++) {
            const char *tags = "";
            int metric = ops->sample_series(st->ops_data, c, &tags);
            if (metric < 0 || metric >= metric_count()) {
                return -EINVAL;
            }
            rt->samples[c] = series_for(w, metric, tags != NULL ? tags : "");
            rt->n_samples = c + 1;
        }
    }
    sr->s_iter = series_for(w, M_ITERATIONS, sr->scen_tags);
    sr->s_iter_dur = series_for(w, M_ITERATION_DURATION, sr->scen_tags);
    sr->s_dropped = series_for(w, M_DROPPED_ITERATIONS, sr->scen_tags);
    sr->s_sent = series_for(w, M_DATA_SENT, sr->scen_tags);
    sr->s_recv = series_for(w, M_DATA_RECEIVED, sr->scen_tags);
    sr->s_interrupted = series_for(w, M_ITERATIONS_INTERRUPTED, sr->scen_tags);
    sr->s_retries = series_for(w, M_HTTP_REQ_RETRIES, sr->scen_tags);
    sr->s_tls_handshakes = series_for(w, M_TLS_HANDSHAKES, sr->scen_tags);
    sr->s_tls_resumed = series_for(w, M_TLS_RESUMED, sr->scen_tags);
    sr->s_send_lag = series_for(w, M_HTTP_REQ_SEND_LAG, sr->scen_tags);
    sr->s_send_lag_own = series_for(w, M_HTTP_REQ_SEND_LAG_OWN, sr->scen_tags);
    for (int k = 0; k < ERR_KINDS; k++) {
        const char *ek[TAGS_MAX_PAIRS] = {"kind", "scenario"};
        const char *ev[TAGS_MAX_PAIRS] = {error_kind_name[k], scen};
        for (size_t r = 0; r < n_run; r++) {
            ek[2 + r] = keys[1 + r];
            ev[2 + r] = vals[1 + r];
        }
        char tags[1536];
        if (tags_canon(tags, sizeof tags, ek, ev, 2 + n_run) < 0) {
            return -EINVAL;
        }
        sr->s_err[k] = series_for(w, M_ERRORS, tags);
    }
    return 0;
}
