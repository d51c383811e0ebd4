/*
 * threshold — k6's threshold language: parse "p(95)<300" against a metric (optionally a
 * tag-filtered sub-metric such as http_req_duration{name:bid}) and evaluate it over the
 * whole run so far.
 *
 * Aggregations by metric type, as in k6: trend avg, min, med, max, p(N) (N from 0 to
 * 100, fractional allowed: p(99.9)), reported in milliseconds for time trends; rate
 * rate (0..1); counter count and rate (per second of elapsed run time); gauge value.
 * Operators < <= > >= == === != (=== is ==).  Options after the expression, comma
 * separated: abortOnFail (or abortOnFail=true|false) and delayAbortEval=DURATION
 * (durations as core/parse.h reads them: 500ms, 10s, 1m30s, 1h; a bare number is
 * seconds).
 *
 * This module parses and evaluates; it does not decide when to abort a run (the
 * coordinator reads abort_on_fail and delay_abort_eval_ns) nor print anything.
 */
#ifndef BRUNT_METRICS_THRESHOLD_H
#define BRUNT_METRICS_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"
#include "metrics/registry.h"

/* Caps on what a user may write (longer input is an error, never truncated). */
#define THRESHOLD_EXPR_MAX 1024     /* a whole metric expression or threshold expression */
#define THRESHOLD_FILTER_MAX 1024   /* the canonical tag filter */
#define THRESHOLD_TAGS_MAX 32       /* tag pairs in one filter */
#define THRESHOLD_EXTRA_TAGS_MAX 64 /* tag names added with threshold_tag_name_add() */
#define THRESHOLD_TAG_NAME_MAX 64   /* bytes in one such name */

enum threshold_agg { TH_AVG, TH_MIN, TH_MED, TH_MAX, TH_PCT, TH_RATE, TH_COUNT, TH_VALUE };
enum threshold_op { TH_LT, TH_LE, TH_GT, TH_GE, TH_EQ, TH_NE };

struct threshold {
    char *metric_expr; /* as written, trimmed: "http_req_duration{name:bid}" */
    char *source;      /* the expression as written, trimmed, without options: "p(95)<300" */
    int metric;        /* enum metric_id */
    char *filter;      /* canonical tag set from {k:v,...}; "" when none */
    enum threshold_agg agg;
    double pct; /* for TH_PCT: 0..100 */
    enum threshold_op op;
    double value;
    bool abort_on_fail;
    uint64_t delay_abort_eval_ns;
    /* Results of the last threshold_eval(). */
    bool evaluated, failed;
    double observed; /* milliseconds for time trends, else the metric's unit */
    /* The metric (with its filter) had no sample at all: a trend, rate or gauge with
     * nothing to judge.  Never set for a counter: a count of 0 is a value. */
    bool no_samples;
    /* With no_samples on a trend: requests were sent, so the threshold failed. */
    bool sent_requests;
};

/*
 * Parses one threshold: metric_expr is "name" or "name{tag:value,tag2:value2}" (a value
 * may be quoted with ' or "; the first ':' of a pair splits it, so {group:::api} has
 * value "::api"); expr is "AGG OP NUMBER" with optional ",abortOnFail" and
 * ",delayAbortEval=10s" after it.  Whitespace is allowed around every token.
 *
 * On success fills *out (which owns its strings: release with threshold_destroy()) and
 * returns 0.  On failure returns -1, leaves *out zeroed, and writes to err (capacity
 * err_len, may be 0) a one-line message: the input quoted, what is wrong, at which
 * column (1-based, of the quoted text), and what was expected.  Unknown metrics get a
 * did-you-mean suggestion when a defined name is close; so do unknown tag names in the
 * filter (brunt's own tags, threshold_tag_name_known()).  `errors` gets its own message
 * (k6 scripts' custom Rate; brunt's error counter is http_errors), and so does `rate` on
 * a counter whose name reads like a share (error, fail, success...): on a counter it is
 * per second.  Any thread; no I/O.
 */
int threshold_parse(const char *metric_expr, const char *expr, struct threshold *out, char *err,
                    size_t err_len);

/*
 * The --threshold flag form: "METRIC[{tags}]:EXPR[,abortOnFail][,delayAbortEval=DUR]",
 * split at the first ':' outside braces.  Same contract as threshold_parse(); columns
 * in messages count from the start of arg.
 */
int threshold_parse_flag(const char *arg, struct threshold *out, char *err, size_t err_len);

/*
 * Evaluates t against everything reg has recorded so far (the aggregate of the series of
 * t->metric whose tags include t->filter).  elapsed_s is the run time so far, used by a
 * counter's rate.  scratch is a histogram the caller owns, used for trends (reset here;
 * when NULL a temporary one is allocated).
 *
 * A metric with no samples observes 0 and is compared as such ("count==0" passes on a
 * counter that counted nothing; "count>0" fails), except a trend with no samples while
 * reg holds sent requests (http_reqs > 0): it fails whatever its expression, since no
 * answer arrived to meet it (no_samples and sent_requests say so).  A counter rate with
 * elapsed_s <= 0 observes 0.
 * Sets t->evaluated, t->failed and t->observed, and returns true when the threshold
 * passes.  When a temporary histogram cannot be allocated, sets evaluated = false and
 * returns false.  The coordinator thread (whoever owns reg).
 */
bool threshold_eval(struct threshold *t, const struct registry *reg, double elapsed_s,
                    struct hist *scratch);

/*
 * Tag names a filter may use beyond brunt's own (scenario, name, method, status,
 * expected_response, group, check, kind): a scenario file's step tags, run-wide --tag.
 * Add them before parsing the thresholds that use them.  0, -EINVAL (empty or longer
 * than THRESHOLD_TAG_NAME_MAX), -ENOSPC (THRESHOLD_EXTRA_TAGS_MAX reached).  Process-wide,
 * not thread-safe: call before a run, like metric_define().
 */
int threshold_tag_name_add(const char *name);
/* Forgets the names added with threshold_tag_name_add() (tests). */
void threshold_tag_names_reset(void);
/* Whether name[0..len) is a tag name a filter may use. */
bool threshold_tag_name_known(const char *name, size_t len);

/* Frees t's strings and zeroes it.  Safe on a zeroed or already destroyed threshold. */
void threshold_destroy(struct threshold *t);

/* "avg", "min", "med", "max", "p", "rate", "count", "value". */
const char *threshold_agg_name(enum threshold_agg agg);
/* "<", "<=", ">", ">=", "==", "!=". */
const char *threshold_op_name(enum threshold_op op);

#endif
