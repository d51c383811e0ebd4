/*
 * flow — the contract between scenario files and the engine.
 *
 * A scenario file compiles (scenario/load.c) into a struct plan whose request steps
 * carry a compiled struct flow_step, and whose scenarios carry a struct flow_scenario,
 * each behind the engine's ops tables (engine/step.h): flow_attach_step() and
 * flow_attach_scenario() hang them on the plan.  The engine knows nothing of YAML,
 * templates, checks or feeders: per request it calls the step ops to render the request
 * bytes, shows them the response head and (when asked for) the body, and records the
 * check results it gets back.  Everything here is compiled once at load: evaluating
 * never parses and never executes code.
 *
 * Per virtual user the flow keeps a struct flow_vu (variables extracted from responses,
 * the current data-feeder row, a PRNG), made by the scenario ops' vu_new on the VU's
 * first iteration; only the VU's worker thread touches it.
 */
#ifndef BRUNT_SCENARIO_FLOW_H
#define BRUNT_SCENARIO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "engine/plan.h"
#include "http/http1.h"

struct flow_step;     /* compiled request step: templates, extractions, checks */
struct flow_scenario; /* compiled per-scenario state: variable names, feeders */
struct flow_http;     /* a VU's cookie jar and redirect state (flow_http.c) */

/* One per-VU variable (an extraction target).  Value bytes are owned by the VU. */
struct flow_var {
    char *val;
    uint32_t len, cap;
    bool set;
};

struct flow_vu {
    uint32_t vu;          /* global VU number, 1-based (template `vu`) */
    uint64_t iter;        /* iterations this VU started before the current one (`iter`) */
    const char *scenario; /* scenario name (`scenario`) */
    uint64_t rng;         /* splitmix64 state (`randint`, `randfloat`, `uuid`, `choice`) */
    uint64_t *seq;        /* the worker's sequence counter (`seq`), shared by its VUs */
    uint32_t seq_stride;  /* workers: `seq` yields *seq * stride + seq_offset */
    uint32_t seq_offset;
    struct flow_var *vars; /* flow_scenario_var_count() slots */
    size_t n_vars;
    int64_t *rows; /* per feeder: the current row, -1 before the first */
    size_t n_feeders;
    /* HTTP beyond one exchange (scenario/flow_http.c): the scenario, the request in
     * flight (the engine's buffer) and its origin, the answer's Content-Encoding (0
     * none, 1 gzip, 2 deflate), and the jar and redirect state, made when first needed */
    const struct flow_scenario *fsc;
    const struct dynbuf *req;
    const struct origin *cur;
    uint8_t encoding;
    struct flow_http *http;
};

/* What flow_iteration_begin / flow_on_done tell the engine. */
enum flow_verdict {
    FLOW_CONTINUE = 0,    /* go on with the next step */
    FLOW_ABORT_ITERATION, /* on_fail: abort — skip the rest of this iteration */
    FLOW_STOP_VU,         /* a feeder ran out with `on_exhausted: stop_vu` */
    FLOW_ABORT_RUN,       /* a feeder ran out with `on_exhausted: abort` */
};

/* The check results of one response are the engine's struct step_results (engine/step.h):
 * filled by the flow, recorded by the engine. */
#define FLOW_MAX_CHECKS STEP_MAX_CHECKS

/* --- the engine's seam --- */

/* Makes st a rendered step of fs (ops and data), or sc a scenario of fsc.  The compiled
 * forms are owned by the loader and must outlive the plan's run. */
void flow_attach_step(struct step *st, const struct flow_step *fs);
/* The same for a WebSocket step other than ws_connect: the payload (body) rendered for
 * ws_send, the checks as a ws_wait's match and its results (engine/step.h ws_match). */
void flow_attach_ws_step(struct step *st, const struct flow_step *fs);
void flow_attach_scenario(struct scenario_plan *sc, const struct flow_scenario *fsc);
/* The compiled forms attached to a step or scenario (NULL when none). */
const struct flow_step *flow_step_of(const struct step *st);
const struct flow_scenario *flow_scenario_of(const struct scenario_plan *sc);

/* --- per scenario --- */

/* Sets up v for VU number vu_id of the scenario; 0 or -ENOMEM.  v is zero-filled before. */
int flow_vu_init(const struct flow_scenario *fsc, struct flow_vu *v, uint32_t vu_id,
                 const char *scenario, uint64_t *seq, uint32_t seq_stride, uint32_t seq_offset);
void flow_vu_destroy(struct flow_vu *v);

/*
 * Called at the start of each iteration of v (before its first step): advances the data
 * feeders that hand out rows per iteration (and, on the first iteration, those per VU).
 * Returns FLOW_CONTINUE, FLOW_STOP_VU or FLOW_ABORT_RUN.  Any worker thread; feeders are
 * shared across workers (unique mode uses one atomic counter).
 */
enum flow_verdict flow_iteration_begin(const struct flow_scenario *fsc, struct flow_vu *v);

/* --- per request step --- */

/* Renders the whole request (head and body) for v into out (appending).  0 or a
 * negative errno (-E2BIG: over the request size cap). */
int flow_render(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out);

/* Whether the response body must be kept for on_done (checks or extractions use it),
 * and the most bytes to keep (a longer body is truncated for them, and says so). */
bool flow_wants_body(const struct flow_step *fs);
size_t flow_body_cap(const struct flow_step *fs);

/* Number of checks of the step (extractions count as checks named "extract NAME"). */
size_t flow_check_count(const struct flow_step *fs);
/* The check's name as it is tagged: its source text, e.g. "status == 200". */
const char *flow_check_name(const struct flow_step *fs, size_t i);

/*
 * The final response head has arrived (resp points into a buffer that is reused right
 * after the call): runs header extractions and header checks, appending to res.
 */
void flow_on_head(const struct flow_step *fs, struct flow_vu *v, const struct http1_response *resp,
                  struct step_results *res);

/*
 * The response is complete (status 0 and body NULL when the request failed with a
 * network error; body is the kept prefix when flow_wants_body).  Runs the remaining
 * checks and extractions, appending to res.  Returns FLOW_ABORT_ITERATION when a failed check
 * or extraction has on_fail: abort, else FLOW_CONTINUE.
 */
enum flow_verdict flow_on_done(const struct flow_step *fs, struct flow_vu *v, int status,
                               uint64_t duration_ns, const char *body, size_t body_len,
                               bool body_truncated, struct step_results *res);

/* The step's request timeout (0: the plan's). */
uint64_t flow_timeout_ns(const struct flow_step *fs);

/* Whether status counts as an expected response (the `expected_response` tag and
 * http_req_failed): the step's `expect` list, or 200-399 when it has none. */
bool flow_status_expected(const struct flow_step *fs, int status);

#endif
