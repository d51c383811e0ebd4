/*
 * custom — k6's custom metrics (Counter, Gauge, Rate, Trend) declared in a scenario file
 * (the top-level `metrics:` section) and fed by its request steps (a step's `metrics:`),
 * compiled once at load like checks, and judged like any metric by thresholds.
 *
 * A declaration names a metric and its type, and for a trend whether it holds times
 * (milliseconds; `contains: time`) or plain numbers; custom_define() registers it with
 * metric_define() and marks it custom (the summary's CUSTOM group).  A feed says what a
 * step adds to a metric for each of its responses:
 *
 *   rate      a check expression (scenario/check.h): "status != 200" adds true or false
 *   counter   VALUE [if CHECK]: "1", "1 if status >= 500", "duration"
 *   gauge     VALUE [if CHECK]: the last value wins
 *   trend     VALUE [if CHECK]: "duration", "price" (an extracted variable), "42"
 *
 * VALUE is `duration` (the request's duration in milliseconds), `status` (the response
 * status), a number, or the name of a variable the flow extracts (its text read as a
 * number; a value that is not a number, or a variable not set, adds nothing).  A request
 * that failed with a network error has status 0 and no duration: a rate's check then
 * sees status 0 (so "status != 200" is true and "status == 200" false, as checks fail on
 * errors), a VALUE of `duration` adds nothing.
 *
 * Trend values are kept in the histogram of registry.h as the time trends are, a value v
 * as v * 1e6 "nanoseconds", so a trend holds 0 to 3,600,000 with the histogram's 0.1%
 * relative error (a time trend: 0 to 1 h in milliseconds); a negative value is recorded
 * as 0 and a larger one as the top.  Thresholds, the summary and the result read trends
 * divided by 1e6 (milliseconds for time trends).
 *
 * Where the samples go: custom_step_feed() puts them in the step's struct step_results
 * (engine/step.h); the engine records them into its workers' per-second registries like
 * the built-in metrics, so custom metrics have one-second rows (counters, rates and
 * trends; gauges are left out of the rows as the built-in ones are) and their thresholds
 * are judged live, abortOnFail included.
 *
 * Threads: definitions and compilation before a run on one thread; custom_step_feed()
 * on any worker thread.
 */
#ifndef BRUNT_SCENARIO_CUSTOM_H
#define BRUNT_SCENARIO_CUSTOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/step.h"
#include "metrics/registry.h"
#include "scenario/check.h"
#include "scenario/flow.h"

/* The most custom metrics one file declares, and feeds one step has. */
#define CUSTOM_MAX_METRICS 64
#define CUSTOM_MAX_FEEDS 32
/* The most feeds of all steps together (each has a series slot per worker thread). */
#define CUSTOM_MAX_SLOTS 4096
/* The largest value a trend keeps (values above are recorded as this). */
#define CUSTOM_TREND_MAX 3600000.0

enum custom_value {
    CUSTOM_V_CHECK,
    CUSTOM_V_DURATION,
    CUSTOM_V_STATUS,
    CUSTOM_V_NUMBER,
    CUSTOM_V_VAR
};

/* One feed of one step (compiled; private fields but for metric). */
struct custom_feed {
    int metric; /* metric id */
    enum custom_value value;
    double number;   /* CUSTOM_V_NUMBER */
    int var;         /* CUSTOM_V_VAR: slot in flow_vu.vars */
    bool has_cond;   /* "VALUE if CHECK" */
    struct check ck; /* rate: the value; others: the condition */
    int slot;        /* global series slot (per worker thread) */
    char *tags;      /* canonical tag set of the samples (owned) */
};

/* The feeds of one step; zero-filled is a step without feeds. */
struct custom_step {
    struct custom_feed *feeds;
    size_t n;
    /* A setup flow's step: after each response, the VU's variables are copied into the
     * run-wide capture (custom_capture_get), named by capture_names (not owned). */
    const char *const *capture_names;
    size_t n_capture;
};

/* The most setup values, and the longest one (longer values are not captured). */
#define CUSTOM_CAPTURE_MAX 256
#define CUSTOM_CAPTURE_VALUE_MAX (64 * 1024)

/*
 * The values the setup flow's VU held after its last response: *names and *values get
 * parallel arrays of n entries (owned here, valid until custom_capture_reset); only
 * variables that were set.  CR and LF in values are replaced by spaces (they become
 * text of every request).  Returns n.  When no worker runs.
 */
size_t custom_capture_get(const char *const **names, const char *const **values);
/* Forgets the captured values. */
void custom_capture_reset(void);

/* Resolves a variable name to its slot (>= 0) or -1; ctx is the caller's. */
typedef int (*custom_var_lookup_cb)(void *ctx, const char *name, size_t len);

/*
 * Declares a custom metric: type is "counter", "gauge", "rate" or "trend"; time says a
 * trend holds milliseconds (ignored for other types); desc may be NULL.  Returns the
 * metric id, or -1 with a one-line message in err: a bad name (expected
 * [a-zA-Z_][a-zA-Z0-9_]*, at most 64 bytes), a built-in's name (with the built-in's type),
 * an unknown type (did you mean), too many.  Declaring the same name twice in one process
 * with the same type returns the same id.
 */
int custom_define(const char *name, const char *type, bool time, const char *desc, char *err,
                  size_t err_len);

/* Whether metric id was declared with custom_define(). */
bool custom_is_metric(int id);

/*
 * Compiles the feed "metric: spec" of a step into cs (appending).  tags is the canonical
 * tag set its samples carry (scenario, name, group and the step's own tags); lookup
 * resolves variable names.  Returns 0, or -1 with a one-line message in err: an
 * undeclared metric (did you mean), a spec that does not fit the metric's type, a bad
 * check, an unknown variable, too many feeds.
 */
int custom_feed_compile(struct custom_step *cs, const char *metric, const char *spec,
                        const char *tags, custom_var_lookup_cb lookup, void *lookup_ctx, char *err,
                        size_t err_len);

/* Whether a feed of cs needs the response body (a body or json condition). */
bool custom_step_needs_body(const struct custom_step *cs);

/* Frees what cs owns and zero-fills it. */
void custom_step_destroy(struct custom_step *cs);

/*
 * Feeds cs's metrics for one response of the step (status 0: a network error, no
 * duration).  body is the kept body or NULL.  Appends the samples to res (sample index:
 * the feed's index in cs; a trend's value already scaled to the histogram's unit).
 * Worker threads.
 */
void custom_step_feed(const struct custom_step *cs, const struct flow_vu *v, int status,
                      uint64_t duration_ns, const char *body, size_t body_len,
                      struct step_results *res);

/* The step's sample series for the engine (step_ops.sample_count/sample_series). */
size_t custom_step_series_count(const struct custom_step *cs);
int custom_step_series(const struct custom_step *cs, size_t i, const char **tags);

/* Forgets the declarations' custom marks (tests, exit). */
void custom_shutdown(void);

#endif
