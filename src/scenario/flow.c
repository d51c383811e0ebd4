/*
 * flow — the glue between compiled scenario steps and the engine (scenario/flow.h):
 * renders requests from their parts, hands rows of data feeders out at the start of
 * iterations, and runs a step's extractions and checks on its response.
 *
 * Per request it allocates nothing of its own: rendering appends to the engine's
 * buffer (the body is rendered in place and shifted once its length, and so the
 * Content-Length line, is known), and extractions write into the VU's variables, which
 * grow only when a value is longer than any before it.  Per VU it keeps one small block
 * (variables and feeder rows), so 10,000 VUs with a couple of variables take well under
 * a megabyte before any value is extracted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "http/reqhead.h"
#include "scenario/flow_internal.h"
#include "scenario/load.h"

void flow__step_destroy(struct flow_step *fs)
{
    if (fs == NULL) {
        return;
    }
    for (size_t i = 0; i < fs->n_head; i++) {
        free(fs->head[i].lit);
        tmpl_free(fs->head[i].t);
    }
    free(fs->head);
    free(fs->body_lit);
    tmpl_free(fs->body_t);
    free(fs->whole);
    for (size_t i = 0; i < fs->n_asserts; i++) {
        struct flow_assert *a = &fs->asserts[i];
        free(a->name);
        if (a->is_extract) {
            extract_destroy(&a->ex);
        } else {
            check_destroy(&a->ck);
        }
    }
    free(fs->asserts);
    custom_step_destroy(&fs->custom);
    memset(fs, 0, sizeof *fs);
}

/* --- per VU --- */

int flow_vu_init(const struct flow_scenario *fsc, struct flow_vu *v, uint32_t vu_id,
                 const char *scenario, uint64_t *seq, uint32_t seq_stride, uint32_t seq_offset)
{
    v->vu = vu_id;
    v->iter = 0;
    v->fsc = fsc;
    v->scenario = scenario;
    v->seq = seq;
    v->seq_stride = seq_stride;
    v->seq_offset = seq_offset;
    uint64_t s = (fsc != NULL ? fsc->seed : 0) ^ rng_spread((uint64_t)vu_id);
    v->rng = rng_next(&s);
    v->vars = NULL;
    v->rows = NULL;
    v->n_vars = 0;
    v->n_feeders = 0;
    if (fsc == NULL || (fsc->n_vars == 0 && fsc->n_feeders == 0)) {
        return 0;
    }
    /* One block: the variable slots, then the feeder rows.  Values come later, lazily. */
    size_t vars_bytes = fsc->n_vars * sizeof(struct flow_var);
    size_t rows_bytes = fsc->n_feeders * sizeof(int64_t);
    char *block = calloc(1, vars_bytes + rows_bytes);
    if (block == NULL) {
        return -ENOMEM;
    }
    v->vars = fsc->n_vars > 0 ? (struct flow_var *)block : NULL;
    v->n_vars = fsc->n_vars;
    v->rows = (int64_t *)(block + vars_bytes);
    v->n_feeders = fsc->n_feeders;
    for (size_t i = 0; i < fsc->n_feeders; i++) {
        v->rows[i] = -1;
    }
    if (v->vars == NULL && v->rows == NULL) {
        free(block);
    }
    return 0;
}

void flow_vu_destroy(struct flow_vu *v)
{
    if (v == NULL) {
        return;
    }
    flow__http_free(v);
    for (size_t i = 0; i < v->n_vars; i++) {
        free(v->vars[i].val);
    }
    /* The block starts with the variables when there are any, else with the rows. */
    free(v->n_vars > 0 ? (void *)v->vars : (void *)v->rows);
    v->vars = NULL;
    v->rows = NULL;
    v->n_vars = 0;
    v->n_feeders = 0;
}

enum flow_verdict flow_iteration_begin(const struct flow_scenario *fsc, struct flow_vu *v)
{
    if (fsc == NULL) {
        return FLOW_CONTINUE;
    }
    for (size_t i = 0; i < fsc->n_feeders && i < v->n_feeders; i++) {
        if (!fsc->feeder_used[i]) {
            continue;
        }
        struct feeder *f = fsc->feeders[i];
        if (feeder_scope(f) == FEEDER_PER_VU && v->rows[i] >= 0) {
            continue;
        }
        int64_t row = feeder_next(f, &v->rng);
        if (row < 0) {
            return feeder_exhausted(f) == FEEDER_ABORT ? FLOW_ABORT_RUN : FLOW_STOP_VU;
        }
        v->rows[i] = row;
    }
    return FLOW_CONTINUE;
}

/* --- rendering --- */

static int render_part(const struct flow_part *p, const struct flow_step *fs, struct flow_vu *v,
                       struct dynbuf *out)
{
    if (p->t == NULL) {
        return dynbuf_add(out, p->lit, p->lit_len);
    }
    size_t from = out->len;
    int rc = tmpl_eval(p->t, v, fs->feeders, out);
    if (rc == 0 && p->guard_crlf) {
        /* A value must not end the header line early (header injection). */
        for (size_t i = from; i < out->len; i++) {
            if (out->data[i] == '\r' || out->data[i] == '\n') {
                out->data[i] = ' ';
            }
        }
    }
    return rc;
}

int flow_render(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out)
{
    size_t start = out->len;
    if (fs->whole != NULL) {
        return dynbuf_add(out, fs->whole, fs->whole_len);
    }
    int rc = 0;
    for (size_t i = 0; i < fs->n_head && rc == 0; i++) {
        rc = render_part(&fs->head[i], fs, v, out);
    }
    if (rc < 0) {
        goto fail;
    }
    if (!fs->has_body) {
        rc = reqhead_end(out, fs->send_length, 0);
        if (rc < 0) {
            goto fail;
        }
        return 0;
    }
    if (fs->body_t == NULL) {
        rc = reqhead_end(out, true, fs->body_lit_len);
        rc = rc ? rc : dynbuf_add(out, fs->body_lit, fs->body_lit_len);
        if (rc < 0) {
            goto fail;
        }
        return 0;
    }
    /* Render the body in place, then open a gap in front of it for the length line. */
    size_t body_at = out->len;
    rc = tmpl_eval(fs->body_t, v, fs->feeders, out);
    if (rc < 0) {
        goto fail;
    }
    size_t body_len = out->len - body_at;
    char line[48];
    int n = snprintf(line, sizeof line, "Content-Length: %zu\r\n\r\n", body_len);
    rc = dynbuf_add(out, line, (size_t)n);
    if (rc < 0) {
        goto fail;
    }
    memmove(out->data + body_at + n, out->data + body_at, body_len);
    memcpy(out->data + body_at, line, (size_t)n);
    return 0;
fail:
    dynbuf_truncate(out, start);
    return rc;
}

/* --- responses --- */

bool flow_wants_body(const struct flow_step *fs)
{
    return fs->wants_body;
}

size_t flow_body_cap(const struct flow_step *fs)
{
    /* --http-debug=full shows bodies: keep their first bytes even without checks */
    return fs->wants_body ? FLOW_BODY_CAP : scenario_http_debug >= 2 ? FLOW_DEBUG_BODY_BYTES : 0;
}

size_t flow_check_count(const struct flow_step *fs)
{
    return fs->n_asserts;
}

const char *flow_check_name(const struct flow_step *fs, size_t i)
{
    return i < fs->n_asserts ? fs->asserts[i].name : "";
}

uint64_t flow_timeout_ns(const struct flow_step *fs)
{
    return fs->timeout_ns;
}

bool flow_status_expected(const struct flow_step *fs, int status)
{
    if (!fs->has_expect) {
        return status >= 200 && status < 400;
    }
    if (status < 0 || status >= 640) {
        return false;
    }
    return (fs->expect_bits[status / 64] >> (status % 64)) & 1;
}

static void add_result(struct step_results *res, size_t index, bool pass)
{
    if (res->n < FLOW_MAX_CHECKS) {
        res->index[res->n] = (uint8_t)index;
        res->pass[res->n] = pass;
        res->n++;
    }
}

static bool has_result(const struct step_results *res, size_t index)
{
    for (size_t i = 0; i < res->n; i++) {
        if (res->index[i] == index) {
            return true;
        }
    }
    return false;
}

void flow_on_head(const struct flow_step *fs, struct flow_vu *v, const struct http1_response *resp,
                  struct step_results *res)
{
    for (size_t i = 0; i < fs->n_asserts; i++) {
        const struct flow_assert *a = &fs->asserts[i];
        if (!a->at_head) {
            continue;
        }
        bool pass;
        if (a->is_extract) {
            struct flow_var *var = (size_t)a->ex.var < v->n_vars ? &v->vars[a->ex.var] : NULL;
            pass = var != NULL && extract_from_head(&a->ex, resp, var);
            if (!pass && var != NULL) {
                var->set = false;
                var->len = 0;
            }
        } else {
            pass = check_eval(&a->ck, resp != NULL ? resp->status : 0, 0, resp, NULL, 0);
        }
        add_result(res, i, pass);
    }
}

enum flow_verdict flow_on_done(const struct flow_step *fs, struct flow_vu *v, int status,
                               uint64_t duration_ns, const char *body, size_t body_len,
                               bool body_truncated, struct step_results *res)
{
    (void)body_truncated; /* a check on a truncated body sees the kept prefix */
    if (status != 0 && fs->wants_body && body == NULL) {
        body = ""; /* an empty body was kept: it is empty, not missing */
        body_len = 0;
    }
    for (size_t i = 0; i < fs->n_asserts; i++) {
        const struct flow_assert *a = &fs->asserts[i];
        bool pass;
        if (status == 0) {
            /* A network error: everything fails, head asserts included unless the head
             * had arrived and they already ran. */
            if (has_result(res, i)) {
                continue;
            }
            pass = false;
        } else if (a->at_head) {
            continue;
        } else if (a->is_extract) {
            pass = false;
            if ((size_t)a->ex.var < v->n_vars) {
                pass = extract_from_body(&a->ex, body, body != NULL ? body_len : 0,
                                         &v->vars[a->ex.var]);
            }
        } else {
            pass = check_eval(&a->ck, status, duration_ns, NULL, body, body != NULL ? body_len : 0);
        }
        if (!pass && a->is_extract && (size_t)a->ex.var < v->n_vars) {
            /* A failed extraction clears the variable: a stale value is not reused. */
            v->vars[a->ex.var].set = false;
            v->vars[a->ex.var].len = 0;
        }
        add_result(res, i, pass);
    }
    custom_step_feed(&fs->custom, v, status, duration_ns, body, body != NULL ? body_len : 0, res);
    if (fs->abort_on_fail) {
        for (size_t i = 0; i < res->n; i++) {
            if (!res->pass[i]) {
                return FLOW_ABORT_ITERATION;
            }
        }
    }
    return FLOW_CONTINUE;
}

/* --- the engine's seam (engine/step.h) --- */

static size_t ops_check_count(const void *step)
{
    return flow_check_count(step);
}

static const char *ops_check_name(const void *step, size_t i)
{
    return flow_check_name(step, i);
}

static size_t ops_sample_count(const void *step)
{
    return custom_step_series_count(&((const struct flow_step *)step)->custom);
}

static int ops_sample_series(const void *step, size_t i, const char **tags)
{
    return custom_step_series(&((const struct flow_step *)step)->custom, i, tags);
}

static bool ops_status_expected(const void *step, int status)
{
    return flow_status_expected(step, status);
}

static size_t ops_body_cap(const void *step)
{
    return flow_body_cap(step);
}

static uint64_t ops_timeout_ns(const void *step)
{
    return flow_timeout_ns(step);
}

static int ops_render(const void *step, void *vu, struct dynbuf *out)
{
    size_t start = out->len;
    int rc = flow_render(step, vu, out);
    rc = rc < 0 ? rc : flow__http_render(step, vu, out, start);
    if (rc == 0 && scenario_http_debug) {
        flow__http_debug_settle(vu, false); /* an exchange cut off before its end */
        flow__http_debug_request(vu, out->data + start, out->len - start);
    }
    return rc;
}

static void ops_on_head(const void *step, void *vu, const struct http1_response *resp,
                        struct step_results *res)
{
    flow__http_debug_response(vu, resp);
    if (!flow__http_head(step, vu, resp)) {
        flow_on_head(step, vu, resp, res);
    }
}

static bool ops_follow(const void *step, void *vu, struct dynbuf *out, const struct origin **origin)
{
    bool hop = flow__http_follow(step, vu, out, origin);
    if (hop && scenario_http_debug) {
        flow__http_debug_request(vu, out->data, out->len);
    }
    return hop;
}

static enum step_verdict ops_on_done(const void *step, void *vu, int status, uint64_t duration_ns,
                                     const char *body, size_t body_len, bool truncated,
                                     struct step_results *res)
{
    body = flow__http_body(vu, body, &body_len);
    flow__http_debug_body(vu, status, body, body_len, truncated);
    enum flow_verdict v =
        flow_on_done(step, vu, status, duration_ns, body, body_len, truncated, res);
    if (scenario_http_debug == 3) {
        bool failed = status == 0 || !flow_status_expected(step, status);
        for (size_t i = 0; i < res->n; i++) {
            failed = failed || !res->pass[i];
        }
        flow__http_debug_settle(vu, failed);
    }
    return v == FLOW_ABORT_ITERATION ? STEP_ABORT_ITERATION : STEP_CONTINUE;
}

static const struct step_ops flow_step_ops = {
    .check_count = ops_check_count,
    .check_name = ops_check_name,
    .sample_count = ops_sample_count,
    .sample_series = ops_sample_series,
    .status_expected = ops_status_expected,
    .body_cap = ops_body_cap,
    .timeout_ns = ops_timeout_ns,
    .render = ops_render,
    .on_head = ops_on_head,
    .on_done = ops_on_done,
    .follow = ops_follow,
};

static int ops_vu_new(const void *scenario, const struct step_vu_ident *id, void **out)
{
    struct flow_vu *v = calloc(1, sizeof *v);
    if (v == NULL) {
        return -ENOMEM;
    }
    int rc =
        flow_vu_init(scenario, v, id->vu, id->scenario, id->seq, id->seq_stride, id->seq_offset);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

static void ops_vu_free(void *vu)
{
    if (vu != NULL) {
        flow_vu_destroy(vu);
        free(vu);
    }
}

static enum step_verdict ops_iteration_begin(const void *scenario, void *vu, uint64_t iter)
{
    struct flow_vu *v = vu;
    v->iter = iter;
    flow__http_iteration(scenario, v);
    switch (flow_iteration_begin(scenario, v)) {
    case FLOW_STOP_VU:
        return STEP_STOP_VU;
    case FLOW_ABORT_RUN:
        return STEP_ABORT_RUN;
    case FLOW_ABORT_ITERATION:
        return STEP_ABORT_ITERATION;
    case FLOW_CONTINUE:
        break;
    }
    return STEP_CONTINUE;
}

static const struct scenario_ops flow_scenario_ops = {
    .vu_new = ops_vu_new,
    .vu_free = ops_vu_free,
    .iteration_begin = ops_iteration_begin,
};

/* --- WebSocket steps (send, wait, ping, listen, close; engine/conn_ws.c) --- */

/* A send step's payload: its literal or its template (no head, no length line). */
static int ws_ops_render(const void *step, void *vu, struct dynbuf *out)
{
    const struct flow_step *fs = step;
    if (fs->body_t != NULL) {
        return tmpl_eval(fs->body_t, vu, fs->feeders, out);
    }
    return dynbuf_add(out, fs->body_lit, fs->body_lit_len);
}

/* A wait step matches a message its every check accepts (extractions run on_done). */
static bool ws_ops_match(const void *step, void *vu, const char *msg, size_t len, bool binary)
{
    (void)vu;
    (void)binary;
    const struct flow_step *fs = step;
    for (size_t i = 0; i < fs->n_asserts; i++) {
        const struct flow_assert *a = &fs->asserts[i];
        if (!a->is_extract && !check_eval(&a->ck, 101, 0, NULL, msg, len)) {
            return false;
        }
    }
    return true;
}

/* The matched message (status 101) or a failed wait (0): checks and extractions. */
static enum step_verdict ws_ops_on_done(const void *step, void *vu, int status,
                                        uint64_t duration_ns, const char *body, size_t body_len,
                                        bool truncated, struct step_results *res)
{
    enum flow_verdict v =
        flow_on_done(step, vu, status, duration_ns, body, body_len, truncated, res);
    return v == FLOW_ABORT_ITERATION ? STEP_ABORT_ITERATION : STEP_CONTINUE;
}

static const struct step_ops flow_ws_step_ops = {
    .check_count = ops_check_count,
    .check_name = ops_check_name,
    .sample_count = ops_sample_count,
    .sample_series = ops_sample_series,
    .status_expected = ops_status_expected,
    .body_cap = ops_body_cap,
    .timeout_ns = ops_timeout_ns,
    .render = ws_ops_render,
    .on_done = ws_ops_on_done,
    .ws_match = ws_ops_match,
};

void flow_attach_ws_step(struct step *st, const struct flow_step *fs)
{
    st->ops = &flow_ws_step_ops;
    st->ops_data = fs;
}

void flow_attach_step(struct step *st, const struct flow_step *fs)
{
    st->ops = &flow_step_ops;
    st->ops_data = fs;
}

void flow_attach_scenario(struct scenario_plan *sc, const struct flow_scenario *fsc)
{
    sc->ops = &flow_scenario_ops;
    sc->ops_data = fsc;
}

const struct flow_step *flow_step_of(const struct step *st)
{
    return st->ops == &flow_step_ops || st->ops == &flow_ws_step_ops ? st->ops_data : NULL;
}

const struct flow_scenario *flow_scenario_of(const struct scenario_plan *sc)
{
    return sc->ops == &flow_scenario_ops ? sc->ops_data : NULL;
}
