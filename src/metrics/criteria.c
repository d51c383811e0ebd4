/*
 * criteria — rows of target and acceptable levels over threshold expressions
 * (criteria.h).  Each level becomes "METRIC:AGG" + "OP NUMBER" handed to
 * threshold_parse_flag(), so the grammar, the metric names and the did-you-mean
 * suggestions are the thresholds' own.
 */
#include "metrics/criteria.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trimmed_dup(const char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* A level is "OP NUMBER" only: no options (abortOnFail means nothing after the run). */
static int parse_level(const char *metric, const char *what, const char *level,
                       struct threshold *out, char *err, size_t err_len)
{
    size_t ml = strlen(metric), ll = strlen(level);
    if (ml + ll + 1 > THRESHOLD_EXPR_MAX * 2) {
        snprintf(err, err_len, "criteria: %s '%.40s...' is too long", what, level);
        return -1;
    }
    if (memchr(level, ',', ll) != NULL) {
        snprintf(err, err_len,
                 "criteria: %s '%s': expected an operator and a number, as in "
                 "'<400' (no options)",
                 what, level);
        return -1;
    }
    if (strchr(metric, ':') == NULL) {
        snprintf(err, err_len,
                 "criteria: metric '%s': expected METRIC:AGGREGATION, as in "
                 "'http_req_duration:p(95)' or 'process_cpu:avg'",
                 metric);
        return -1;
    }
    char *joined = malloc(ml + ll + 1);
    if (joined == NULL) {
        snprintf(err, err_len, "criteria: out of memory");
        return -1;
    }
    memcpy(joined, metric, ml);
    memcpy(joined + ml, level, ll + 1);
    char inner[512];
    int rc = threshold_parse_flag(joined, out, inner, sizeof inner);
    if (rc < 0) {
        snprintf(err, err_len, "criteria: %s '%s' of '%s': %s", what, level, metric, inner);
    }
    free(joined);
    return rc;
}

/* True when a level `loose` admits everything `strict` admits (same direction). */
static bool looser_or_equal(const struct threshold *strict, const struct threshold *loose)
{
    bool lt_s = strict->op == TH_LT || strict->op == TH_LE;
    bool lt_l = loose->op == TH_LT || loose->op == TH_LE;
    bool gt_s = strict->op == TH_GT || strict->op == TH_GE;
    bool gt_l = loose->op == TH_GT || loose->op == TH_GE;
    if (lt_s && lt_l) {
        return loose->value >= strict->value;
    }
    if (gt_s && gt_l) {
        return loose->value <= strict->value;
    }
    return true; /* == and != and mixed directions: nothing to compare */
}

static bool has_control(const char *s)
{
    for (; s != NULL && *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

int criterion_parse(const char *metric, const char *target, const char *acceptable,
                    struct criterion *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->status = CRIT_UNJUDGED;
    if (metric == NULL || target == NULL) {
        snprintf(err, err_len,
                 "criteria: a row needs metric and target (acceptable is "
                 "optional)");
        return -1;
    }
    if (has_control(metric) || has_control(target) || has_control(acceptable)) {
        snprintf(err, err_len,
                 "criteria: a control character (newline, tab, ...) in the "
                 "metric, target or acceptable level; expected plain text");
        return -1;
    }
    out->metric = trimmed_dup(metric);
    out->target_src = trimmed_dup(target);
    out->acceptable_src = trimmed_dup(acceptable != NULL && *acceptable ? acceptable : target);
    if (out->metric == NULL || out->target_src == NULL || out->acceptable_src == NULL) {
        snprintf(err, err_len, "criteria: out of memory");
        goto fail;
    }
    if (parse_level(out->metric, "target", out->target_src, &out->target, err, err_len) < 0 ||
        parse_level(out->metric, "acceptable", out->acceptable_src, &out->acceptable, err,
                    err_len) < 0) {
        goto fail;
    }
    if (!looser_or_equal(&out->target, &out->acceptable)) {
        snprintf(err, err_len,
                 "criteria: '%s': acceptable '%s' is stricter than target '%s' (expected the "
                 "acceptable level to be the looser one)",
                 out->metric, out->acceptable_src, out->target_src);
        goto fail;
    }
    return 0;
fail:
    criterion_destroy(out);
    return -1;
}

int criterion_parse_flag(const char *arg, struct criterion *out, char *err, size_t err_len)
{
    /* The metric ends at the first operator after the ':' that is outside braces. */
    int depth = 0;
    const char *colon = NULL, *op = NULL, *comma = NULL;
    for (const char *p = arg; *p; p++) {
        if (*p == '{') {
            depth++;
        } else if (*p == '}') {
            depth--;
        } else if (depth == 0 && *p == ':' && colon == NULL) {
            colon = p;
        } else if (depth == 0 && colon != NULL && op == NULL && strchr("<>=!", *p) != NULL) {
            op = p;
        } else if (depth == 0 && op != NULL && *p == ',' && comma == NULL) {
            comma = p;
        }
    }
    memset(out, 0, sizeof *out);
    if (has_control(arg)) {
        snprintf(err, err_len,
                 "--criterion: a control character (newline, tab, ...) in the "
                 "text; expected METRIC:AGG TARGET[,ACCEPTABLE]");
        return -1;
    }
    if (colon == NULL || op == NULL) {
        snprintf(err, err_len,
                 "--criterion '%s': expected METRIC:AGG TARGET[,ACCEPTABLE], as in "
                 "'http_req_duration:p(95)<400,<600'",
                 arg);
        return -1;
    }
    size_t ml = (size_t)(op - arg);
    size_t tl = comma != NULL ? (size_t)(comma - op) : strlen(op);
    char *metric = malloc(ml + 1), *target = malloc(tl + 1);
    int rc = -1;
    if (metric == NULL || target == NULL) {
        snprintf(err, err_len, "--criterion: out of memory");
    } else {
        memcpy(metric, arg, ml);
        metric[ml] = '\0';
        memcpy(target, op, tl);
        target[tl] = '\0';
        rc = criterion_parse(metric, target, comma != NULL ? comma + 1 : NULL, out, err, err_len);
    }
    free(metric);
    free(target);
    return rc;
}

enum criterion_status criterion_eval(struct criterion *c, const struct registry *reg,
                                     double elapsed_s, struct hist *scratch)
{
    bool target_ok = threshold_eval(&c->target, reg, elapsed_s, scratch);
    bool acc_ok = threshold_eval(&c->acceptable, reg, elapsed_s, scratch);
    c->current = c->target.observed;
    c->no_samples = c->target.no_samples;
    if (!c->target.evaluated || !c->acceptable.evaluated) {
        c->status = CRIT_UNJUDGED;
    } else {
        c->status = target_ok ? CRIT_PASS : acc_ok ? CRIT_WARN : CRIT_FAIL;
    }
    return c->status;
}

void criterion_destroy(struct criterion *c)
{
    threshold_destroy(&c->target);
    threshold_destroy(&c->acceptable);
    free(c->metric);
    free(c->target_src);
    free(c->acceptable_src);
    memset(c, 0, sizeof *c);
}

const char *criterion_symbol(enum criterion_status s)
{
    switch (s) {
    case CRIT_PASS:
        return "\xe2\x9c\x85"; /* ✅ */
    case CRIT_WARN:
        return "\xe2\x9a\xa0\xef\xb8\x8f"; /* ⚠️ */
    case CRIT_FAIL:
        return "\xe2\x9d\x8c"; /* ❌ */
    case CRIT_UNJUDGED:
        break;
    }
    return "?";
}

const char *criterion_status_name(enum criterion_status s)
{
    switch (s) {
    case CRIT_PASS:
        return "pass";
    case CRIT_WARN:
        return "warn";
    case CRIT_FAIL:
        return "fail";
    case CRIT_UNJUDGED:
        break;
    }
    return "unjudged";
}
