/*
 * step — the seam between the engine and whatever describes requests above it.
 *
 * The engine sends requests and reads responses; it does not know how a request was
 * described.  A request step either carries pre-rendered bytes (quick mode: the same
 * request every time, no ops at all) or a step-ops table plus the implementation's own
 * data (scenario files: scenario/flow.c renders templates, runs checks and
 * extractions).  A scenario may likewise carry scenario ops: per-VU state made on a VU's
 * first iteration and asked at the start of each iteration (data feeders).
 *
 * Static questions (how many checks and their names, which statuses count as expected,
 * how much body to keep, the step's timeout) are asked once per worker at setup and the
 * answers cached in the worker; only render, on_head and on_done run per request.
 * Every call comes from the worker thread that owns the VU; the step data is shared
 * read-only by all workers, the VU state belongs to one VU.
 */
#ifndef BRUNT_ENGINE_STEP_H
#define BRUNT_ENGINE_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "http/http1.h"

struct origin; /* engine/plan.h */

/* What iteration_begin and on_done tell the engine. */
enum step_verdict {
    STEP_CONTINUE = 0,    /* go on with the next step */
    STEP_ABORT_ITERATION, /* skip the rest of this iteration */
    STEP_STOP_VU,         /* this VU runs no more iterations */
    STEP_ABORT_RUN,       /* stop the whole run (exit 108) */
};

/* The check results of one response, filled by the ops, recorded by the engine. */
#define STEP_MAX_CHECKS 32
#define STEP_MAX_SAMPLES 32
struct step_results {
    size_t n;
    uint8_t index[STEP_MAX_CHECKS]; /* check index within the step (check_name) */
    bool pass[STEP_MAX_CHECKS];
    /* The samples the step adds to its own metrics (scenario files' custom metrics):
     * sample index (sample_series) and value; a rate's value is 0 (false) or 1 (true), a
     * trend's is in the histogram's unit (ns, or v * 1e6 for plain numbers). */
    size_t n_samples;
    uint8_t sample_index[STEP_MAX_SAMPLES];
    double sample_value[STEP_MAX_SAMPLES];
};

struct step_ops {
    /* --- asked once per worker at setup; step is the step's ops_data --- */
    /* Number of checks and the name each is tagged with (the `checks` metric). */
    size_t (*check_count)(const void *step);
    const char *(*check_name)(const void *step, size_t i);
    /* Whether status counts as expected (http_req_failed, the expected_response tag). */
    bool (*status_expected)(const void *step, int status);
    /* Most response-body bytes to keep for on_done; 0 keeps none. */
    size_t (*body_cap)(const void *step);
    /* The step's request timeout; 0 is the plan's. */
    uint64_t (*timeout_ns)(const void *step);
    /*
     * Number of samples series the step feeds (at most STEP_MAX_SAMPLES), and the metric
     * id and canonical tag set of each: the engine records the samples on_done gives
     * into its own per-second registries, so they are in the one-second rows and the
     * live thresholds like the built-in metrics.  May be NULL (none).
     */
    size_t (*sample_count)(const void *step);
    int (*sample_series)(const void *step, size_t i, const char **tags);

    /* --- per request; vu is the VU state scenario_ops.vu_new made (or NULL) --- */
    /* Appends the whole request (head and body) to out: 0 or a negative errno. */
    int (*render)(const void *step, void *vu, struct dynbuf *out);
    /* The final response head arrived (resp is reused right after); may be NULL. */
    void (*on_head)(const void *step, void *vu, const struct http1_response *resp,
                    struct step_results *res);
    /*
     * The request ended: status 0 and body NULL when it failed with a network error; body
     * is the kept prefix (truncated says whether more arrived).  STEP_CONTINUE or
     * STEP_ABORT_ITERATION.  May be NULL.
     */
    enum step_verdict (*on_done)(const void *step, void *vu, int status, uint64_t duration_ns,
                                 const char *body, size_t body_len, bool truncated,
                                 struct step_results *res);
    /*
     * A response of the step arrived whole (its samples are recorded): whether the step
     * goes on with another request of its own (a redirect hop).  out holds the request
     * just answered (the engine keeps a rendered request in out until the step's next
     * render or follow); on true it holds the next request and *origin says where it
     * goes (a plan origin, or one the ops own for as long as the VU state lives), and
     * on_done is not called for this response: the step's checks see the final one.
     * May be NULL (no hops).
     */
    bool (*follow)(const void *step, void *vu, struct dynbuf *out, const struct origin **origin);
    /*
     * WebSocket wait steps: whether the message msg[0..len) (binary or text) is the one
     * the step waits for.  Evaluates only, records nothing: on a match the engine calls
     * on_done with status 101 and the message as the body.  May be NULL (any message).
     */
    bool (*ws_match)(const void *step, void *vu, const char *msg, size_t len, bool binary);
};

/* Who a VU is, for the per-VU state (template variables `vu`, `scenario`, `seq`). */
struct step_vu_ident {
    uint32_t vu;          /* global VU number, 1-based */
    const char *scenario; /* the scenario's name */
    uint64_t *seq;        /* the worker's sequence counter, shared by its VUs */
    uint32_t seq_stride;  /* workers */
    uint32_t seq_offset;  /* this worker's index */
};

struct scenario_ops {
    /* Makes the state of one VU before its first iteration: 0 or -ENOMEM. */
    int (*vu_new)(const void *scenario, const struct step_vu_ident *id, void **out);
    /* Frees what vu_new made; NULL does nothing. */
    void (*vu_free)(void *vu);
    /* Start of an iteration (iter iterations done before): STEP_CONTINUE, STEP_STOP_VU or
     * STEP_ABORT_RUN. */
    enum step_verdict (*iteration_begin)(const void *scenario, void *vu, uint64_t iter);
};

#endif
