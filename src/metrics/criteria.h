/*
 * criteria — the success-criteria table: rows of a metric expression in threshold
 * syntax with a target and an acceptable level, judged after the run as
 * ✅ (target met), ⚠️ (only the acceptable level met) or ❌ (neither).
 *
 *     criteria:
 *       - {metric: "http_req_duration:p(95)", target: "<400", acceptable: "<600"}
 *     --criterion 'http_req_duration:p(95)<400,<600'
 *
 * The metric is "METRIC[{tag:value,...}]:AGG" with every metric and aggregation that
 * thresholds take (metrics/threshold.h); target and acceptable are "OP NUMBER".  Each
 * row is two thresholds parsed and evaluated by threshold.c, so both judge alike.  An
 * acceptable level that is stricter than the target is an error (it could never
 * matter).  No I/O, no printing.
 */
#ifndef BRUNT_METRICS_CRITERIA_H
#define BRUNT_METRICS_CRITERIA_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics/threshold.h"

#define CRITERIA_MAX 64 /* rows in one run */

enum criterion_status { CRIT_PASS, CRIT_WARN, CRIT_FAIL, CRIT_UNJUDGED };

struct criterion {
    char *metric;     /* as written, trimmed: "http_req_duration:p(95)" */
    char *target_src; /* "<400" */
    char *acceptable_src;
    struct threshold target, acceptable;
    /* after criterion_eval() */
    enum criterion_status status;
    double current;
    bool no_samples;
};

/*
 * Parses one row.  acceptable may be NULL or "" (then it equals the target).  Returns 0
 * and fills *out (release with criterion_destroy()), or -1 with one line in err naming
 * the field at fault ("criteria: target '<x': ...").  Any thread.
 */
int criterion_parse(const char *metric, const char *target, const char *acceptable,
                    struct criterion *out, char *err, size_t err_len);

/* The flag form "METRIC:AGG TARGET[,ACCEPTABLE]", e.g. "process_cpu:avg<70,<80". */
int criterion_parse_flag(const char *arg, struct criterion *out, char *err, size_t err_len);

/* Judges c against everything reg holds (elapsed_s for counter rates; scratch as in
 * threshold_eval()).  Returns the status. */
enum criterion_status criterion_eval(struct criterion *c, const struct registry *reg,
                                     double elapsed_s, struct hist *scratch);

void criterion_destroy(struct criterion *c);

/* "✅", "⚠️", "❌", "?" and "pass", "warn", "fail", "unjudged". */
const char *criterion_symbol(enum criterion_status s);
const char *criterion_status_name(enum criterion_status s);

#endif
