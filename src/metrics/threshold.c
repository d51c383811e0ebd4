/*
 * threshold — parsing and evaluating k6 thresholds (see threshold.h).
 *
 * The parser is a small hand-written scanner over (pointer, length) spans, so the flag
 * form can parse its two halves in place and every message can give a column in the
 * text the user typed.  Nothing is allocated until the whole threshold has parsed; the
 * three strings a threshold keeps are then duplicated in one place.
 *
 * Evaluation aggregates the matching series with registry_aggregate(), which is exact
 * (histograms merge exactly), so a threshold over a sub-metric sees precisely the
 * samples that carried its tags, over the whole run so far (k6's semantics, not a
 * sliding window).
 *
 * Metric names resolve through registry.h, so custom metrics work once they are
 * defined (metric_define) before the threshold is parsed.  Tag names in filters must be
 * known: brunt's own, or added with threshold_tag_name_add().  Left out: k6's legacy
 * JavaScript-expression thresholds.
 */
#include "metrics/threshold.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/text.h"

#define TH_NUMBER_MAX 63    /* longest number literal accepted */
#define TH_QUOTE_MAX 120    /* longest input quoted back in an error message */
#define TH_NAME_DIST_MAX 64 /* names longer than this get no did-you-mean */

/* What error messages quote, and where they go. */
struct th_ctx {
    const char *text;
    size_t text_len;
    char *err;
    size_t err_len;
};

/* A span being scanned: s[0..len) sits at column base + 1 of ctx->text. */
struct th_scan {
    const char *s;
    size_t len;
    size_t pos;
    size_t base;
    const struct th_ctx *ctx;
};

/*
 * Writes 'threshold "<text>"[, column N]: <message>' to ctx->err.  pos is an offset into
 * ctx->text, or SIZE_MAX for a message without a column.  Returns -1 for "return
 * th_fail(...)".  Control bytes in the quoted text are shown as '?'.
 */
__attribute__((format(printf, 3, 4))) static int th_fail(const struct th_ctx *ctx, size_t pos,
                                                         const char *fmt, ...)
{
    if (ctx->err == NULL || ctx->err_len == 0) {
        return -1;
    }
    char quoted[TH_QUOTE_MAX + 4];
    size_t n = ctx->text_len < TH_QUOTE_MAX ? ctx->text_len : TH_QUOTE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)ctx->text[i];
        quoted[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (n < ctx->text_len) {
        memcpy(quoted + n, "...", 3);
        n += 3;
    }
    quoted[n] = '\0';

    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos == SIZE_MAX) {
        snprintf(ctx->err, ctx->err_len, "threshold \"%s\": %s", quoted, msg);
    } else {
        snprintf(ctx->err, ctx->err_len, "threshold \"%s\", column %zu: %s", quoted, pos + 1, msg);
    }
    return -1;
}

/* Offset in ctx->text of the scanner's position. */
static size_t th_at(const struct th_scan *sc)
{
    return sc->base + sc->pos;
}

static bool th_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool th_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static void th_skip_space(struct th_scan *sc)
{
    while (sc->pos < sc->len && text_is_space(sc->s[sc->pos])) {
        sc->pos++;
    }
}

static bool th_at_end(const struct th_scan *sc)
{
    return sc->pos >= sc->len;
}

static char th_peek(const struct th_scan *sc)
{
    return sc->pos < sc->len ? sc->s[sc->pos] : '\0';
}

/* Describes the character at the scanner for "unexpected X" messages. */
static const char *th_describe(const struct th_scan *sc, char buf[16])
{
    if (th_at_end(sc)) {
        return "the end";
    }
    unsigned char ch = (unsigned char)sc->s[sc->pos];
    if (ch < 0x20 || ch >= 0x7f) {
        snprintf(buf, 16, "byte 0x%02x", ch);
    } else {
        snprintf(buf, 16, "'%c'", ch);
    }
    return buf;
}

/* Trims whitespace from both ends of [*start, *end). */
static void th_trim(const char *s, size_t *start, size_t *end)
{
    while (*start < *end && text_is_space(s[*start])) {
        (*start)++;
    }
    while (*end > *start && text_is_space(s[*end - 1])) {
        (*end)--;
    }
}

static bool th_span_eq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/*
 * Scans a number: [+-] digits [. digits] [e [+-] digits], at least one mantissa digit.
 * Hex, inf and nan (which strtod would take) are not numbers here.
 */
static int th_scan_number(struct th_scan *sc, double *out, const char *what)
{
    size_t start = sc->pos, p = sc->pos;
    size_t digits = 0;
    if (p < sc->len && (sc->s[p] == '+' || sc->s[p] == '-')) {
        p++;
    }
    while (p < sc->len && th_is_digit(sc->s[p])) {
        p++;
        digits++;
    }
    if (p < sc->len && sc->s[p] == '.') {
        p++;
        while (p < sc->len && th_is_digit(sc->s[p])) {
            p++;
            digits++;
        }
    }
    if (digits == 0) {
        char buf[16];
        return th_fail(sc->ctx, th_at(sc), "expected %s, found %s", what, th_describe(sc, buf));
    }
    if (p < sc->len && (sc->s[p] == 'e' || sc->s[p] == 'E')) {
        size_t q = p + 1;
        if (q < sc->len && (sc->s[q] == '+' || sc->s[q] == '-')) {
            q++;
        }
        if (q < sc->len && th_is_digit(sc->s[q])) {
            while (q < sc->len && th_is_digit(sc->s[q])) {
                q++;
            }
            p = q;
        }
    }
    if (p - start > TH_NUMBER_MAX) {
        return th_fail(sc->ctx, sc->base + start, "number too long (at most %d characters)",
                       TH_NUMBER_MAX);
    }
    char buf[TH_NUMBER_MAX + 1];
    memcpy(buf, sc->s + start, p - start);
    buf[p - start] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        return th_fail(sc->ctx, sc->base + start, "number %s is out of range", buf);
    }
    *out = v;
    sc->pos = p;
    return 0;
}

/* --- durations (delayAbortEval) --- */

/* Parses the duration s[0..len) with core/parse.h's parse_duration_ns() (Go / k6 style:
 * "500ms", "10s", "1m30s"; a bare number is seconds).  Returns 0 or -1. */
static int th_parse_duration(const char *s, size_t len, uint64_t *out_ns)
{
    char buf[TH_NUMBER_MAX + 1];
    if (len == 0 || len > TH_NUMBER_MAX) {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return parse_duration_ns(buf, out_ns) == 0 ? 0 : -1;
}

/* --- did you mean --- */

/* The built-in metric closest to name, or NULL when none is close (distance <= 3 and
 * less than half the candidate's length). */
static const char *th_suggest(const char *name, size_t len)
{
    if (len == 0 || len > TH_NAME_DIST_MAX) {
        return NULL;
    }
    struct text_near near;
    text_near_init(&near, name, len);
    for (int i = 0; i < metric_count(); i++) {
        size_t cl = strlen(metric_info[i].name);
        if (cl == 0) {
            continue;
        }
        /* d * 2 < cl, that is d <= (cl - 1) / 2, and d <= 3. */
        size_t half = (cl - 1) / 2;
        text_near_add(&near, metric_info[i].name, half < 3 ? half : 3);
    }
    return near.best;
}

/* --- tag names --- */

/* The tags brunt itself puts on samples (docs/metrics.md). */
static const char *const th_builtin_tags[] = {
    "scenario", "name",  "method", "status", "expected_response",
    "group",    "check", "kind",   "proto",  NULL,
};

/* Tag names added with threshold_tag_name_add(): custom step tags and run-wide --tag. */
static char th_extra_tags[THRESHOLD_EXTRA_TAGS_MAX][THRESHOLD_TAG_NAME_MAX + 1];
static size_t th_n_extra;

int threshold_tag_name_add(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;
    int rc = 0;
    if (len == 0 || len > THRESHOLD_TAG_NAME_MAX) {
        rc = -EINVAL;
    } else if (threshold_tag_name_known(name, len)) {
        rc = 0;
    } else if (th_n_extra == THRESHOLD_EXTRA_TAGS_MAX) {
        rc = -ENOSPC;
    } else {
        memcpy(th_extra_tags[th_n_extra], name, len + 1);
        th_n_extra++;
    }
    return rc;
}

void threshold_tag_names_reset(void)
{
    th_n_extra = 0;
}

bool threshold_tag_name_known(const char *name, size_t len)
{
    for (size_t i = 0; th_builtin_tags[i] != NULL; i++) {
        if (th_span_eq(name, len, th_builtin_tags[i])) {
            return true;
        }
    }
    for (size_t i = 0; i < th_n_extra; i++) {
        if (th_span_eq(name, len, th_extra_tags[i])) {
            return true;
        }
    }
    return false;
}

/* The known tag name closest to name[0..len) (distance <= 2), or NULL. */
static const char *th_suggest_tag(const char *name, size_t len)
{
    struct text_near near;
    text_near_init(&near, name, len);
    for (size_t i = 0; th_builtin_tags[i] != NULL; i++) {
        text_near_add(&near, th_builtin_tags[i], 2);
    }
    for (size_t i = 0; i < th_n_extra; i++) {
        text_near_add(&near, th_extra_tags[i], 2);
    }
    return near.best;
}

/* --- the metric part --- */

struct th_metric {
    int metric;
    size_t start, end; /* trimmed span of the metric expression */
    char filter[THRESHOLD_FILTER_MAX + 1];
};

/* Strips one pair of matching quotes from [*start, *end). */
static void th_unquote(const char *s, size_t *start, size_t *end)
{
    if (*end - *start >= 2 && (s[*start] == '"' || s[*start] == '\'') && s[*end - 1] == s[*start]) {
        (*start)++;
        (*end)--;
    }
}

/* Parses "{k:v,...}" contents s[open+1 .. close) into m->filter. */
static int th_parse_tags(struct th_scan *sc, size_t open, size_t close, struct th_metric *m)
{
    char buf[THRESHOLD_EXPR_MAX + 2 * THRESHOLD_TAGS_MAX];
    const char *keys[THRESHOLD_TAGS_MAX];
    const char *values[THRESHOLD_TAGS_MAX];
    size_t n = 0, used = 0;
    const char *s = sc->s;

    size_t p = open + 1;
    {
        size_t a = p, b = close;
        th_trim(s, &a, &b);
        if (a == b) {
            return th_fail(sc->ctx, sc->base + open,
                           "empty tag filter; expected {tag:value[,tag:value...]}");
        }
    }
    while (p <= close) {
        size_t item_end = p;
        while (item_end < close && s[item_end] != ',') {
            item_end++;
        }
        size_t a = p, b = item_end;
        th_trim(s, &a, &b);
        if (a == b) {
            return th_fail(sc->ctx, sc->base + a, "expected tag:value in the tag filter");
        }
        if (n == THRESHOLD_TAGS_MAX) {
            return th_fail(sc->ctx, sc->base + a, "too many tags in the filter (at most %d)",
                           THRESHOLD_TAGS_MAX);
        }
        const char *colon = memchr(s + a, ':', b - a);
        if (colon == NULL) {
            return th_fail(sc->ctx, sc->base + a,
                           "expected ':' between tag name and value (tag:value)");
        }
        size_t ks = a, ke = (size_t)(colon - s), vs = ke + 1, ve = b;
        th_trim(s, &ks, &ke);
        th_trim(s, &vs, &ve);
        th_unquote(s, &vs, &ve);
        if (ks == ke) {
            return th_fail(sc->ctx, sc->base + a, "expected a tag name before ':'");
        }
        if (vs == ve) {
            return th_fail(sc->ctx, sc->base + (size_t)(colon - s) + 1,
                           "expected a tag value after ':'");
        }
        if (!threshold_tag_name_known(s + ks, ke - ks)) {
            /* A misspelt tag name would match nothing and judge an empty sub-metric. */
            const char *near = th_suggest_tag(s + ks, ke - ks);
            int shown = ke - ks > 64 ? 64 : (int)(ke - ks);
            if (near != NULL) {
                return th_fail(sc->ctx, sc->base + ks, "unknown tag \"%.*s\"; did you mean \"%s\"?",
                               shown, s + ks, near);
            }
            return th_fail(sc->ctx, sc->base + ks,
                           "unknown tag \"%.*s\"; expected one of scenario, name, method, status, "
                           "expected_response, group, check, kind, or a tag the scenario file or "
                           "--tag sets",
                           shown, s + ks);
        }
        /* Fits: the keys and values are disjoint pieces of an input of at most
         * THRESHOLD_EXPR_MAX bytes, plus one NUL each. */
        keys[n] = memcpy(buf + used, s + ks, ke - ks);
        used += ke - ks;
        buf[used++] = '\0';
        values[n] = memcpy(buf + used, s + vs, ve - vs);
        used += ve - vs;
        buf[used++] = '\0';
        for (size_t i = 0; i < n; i++) {
            if (strcmp(keys[i], keys[n]) == 0) {
                return th_fail(sc->ctx, sc->base + ks, "tag \"%s\" appears twice in the filter",
                               keys[n]);
            }
        }
        n++;
        p = item_end + 1;
    }
    if (tags_canon(m->filter, sizeof m->filter, keys, values, n) < 0) {
        return th_fail(sc->ctx, sc->base + open, "tag filter too long (at most %d bytes)",
                       THRESHOLD_FILTER_MAX);
    }
    return 0;
}

/* Parses "name" or "name{tags}" in sc (the whole span). */
static int th_parse_metric(struct th_scan *sc, struct th_metric *m)
{
    char what[16];
    m->filter[0] = '\0';
    th_skip_space(sc);
    size_t name_start = sc->pos;
    while (!th_at_end(sc) && th_peek(sc) != '{' && !text_is_space(th_peek(sc))) {
        sc->pos++;
    }
    size_t name_end = sc->pos;
    if (name_start == name_end) {
        return th_fail(sc->ctx, th_at(sc), "expected a metric name, found %s",
                       th_describe(sc, what));
    }
    const char *name = sc->s + name_start;
    size_t name_len = name_end - name_start;
    m->metric = metric_lookup(name, name_len);
    if (m->metric < 0) {
        const char *near = th_suggest(name, name_len);
        int shown = name_len > TH_QUOTE_MAX ? TH_QUOTE_MAX : (int)name_len;
        if (th_span_eq(name, name_len, "errors")) {
            /* k6 scripts often declare a custom Rate called errors; brunt has no built-in
             * of that name, so it must not land silently on the network-error counter. */
            return th_fail(sc->ctx, sc->base + name_start,
                           "unknown metric \"errors\"; brunt has no built-in of that name (its "
                           "counter of network errors is http_errors): for the share of failed "
                           "requests use http_req_failed, or declare errors as a custom metric "
                           "under metrics: in the scenario file (docs/scenarios.md)");
        }
        if (near != NULL) {
            return th_fail(sc->ctx, sc->base + name_start,
                           "unknown metric \"%.*s\"; did you mean \"%s\"?", shown, name, near);
        }
        return th_fail(sc->ctx, sc->base + name_start,
                       "unknown metric \"%.*s\"; expected a built-in metric such as "
                       "http_req_duration, http_req_failed or http_reqs, or a custom metric "
                       "declared under metrics: in the scenario file",
                       shown, name);
    }
    m->start = name_start;
    th_skip_space(sc);
    m->end = name_end;
    if (th_at_end(sc)) {
        return 0;
    }
    if (th_peek(sc) != '{') {
        return th_fail(sc->ctx, th_at(sc),
                       "unexpected %s after the metric name; expected "
                       "'{' to start a tag filter or the end",
                       th_describe(sc, what));
    }
    size_t open = sc->pos;
    const char *close_p = memchr(sc->s + open, '}', sc->len - open);
    if (close_p == NULL) {
        return th_fail(sc->ctx, sc->base + open, "expected '}' to close this tag filter");
    }
    size_t close = (size_t)(close_p - sc->s);
    if (th_parse_tags(sc, open, close, m) < 0) {
        return -1;
    }
    sc->pos = close + 1;
    m->end = sc->pos;
    th_skip_space(sc);
    if (!th_at_end(sc)) {
        return th_fail(sc->ctx, th_at(sc), "unexpected %s after the tag filter; expected the end",
                       th_describe(sc, what));
    }
    return 0;
}

/* --- the expression part --- */

struct th_expr {
    enum threshold_agg agg;
    double pct;
    enum threshold_op op;
    double value;
    bool abort_on_fail;
    uint64_t delay_abort_eval_ns;
    size_t src_start, src_end; /* trimmed span of "AGG OP NUMBER" */
    size_t agg_start, agg_end; /* span of the aggregation, for messages */
};

static const char *const th_agg_names[] = {
    [TH_AVG] = "avg", [TH_MIN] = "min",   [TH_MED] = "med",     [TH_MAX] = "max",
    [TH_PCT] = "p",   [TH_RATE] = "rate", [TH_COUNT] = "count", [TH_VALUE] = "value",
};

static const char *const th_op_names[] = {
    [TH_LT] = "<", [TH_LE] = "<=", [TH_GT] = ">", [TH_GE] = ">=", [TH_EQ] = "==", [TH_NE] = "!=",
};

const char *threshold_agg_name(enum threshold_agg agg)
{
    return (unsigned)agg < sizeof th_agg_names / sizeof th_agg_names[0] ? th_agg_names[agg] : "?";
}

const char *threshold_op_name(enum threshold_op op)
{
    return (unsigned)op < sizeof th_op_names / sizeof th_op_names[0] ? th_op_names[op] : "?";
}

#define TH_AGG_LIST "avg, min, med, max, p(N), count, rate or value"

static int th_parse_agg(struct th_scan *sc, struct th_expr *e)
{
    char what[16];
    size_t start = sc->pos;
    while (!th_at_end(sc) && th_is_alpha(th_peek(sc))) {
        sc->pos++;
    }
    const char *w = sc->s + start;
    size_t wl = sc->pos - start;
    e->agg_start = start;
    if (wl == 0) {
        return th_fail(sc->ctx, th_at(sc), "expected an aggregation (" TH_AGG_LIST "), found %s",
                       th_describe(sc, what));
    }
    if (th_span_eq(w, wl, "p")) {
        th_skip_space(sc);
        if (th_peek(sc) != '(') {
            return th_fail(sc->ctx, th_at(sc), "expected '(' after p, as in p(95), found %s",
                           th_describe(sc, what));
        }
        sc->pos++;
        th_skip_space(sc);
        size_t num_at = th_at(sc);
        if (th_scan_number(sc, &e->pct, "a percentile from 0 to 100") < 0) {
            return -1;
        }
        if (!(e->pct >= 0 && e->pct <= 100)) {
            return th_fail(sc->ctx, num_at, "percentile %g is out of range; expected 0 to 100",
                           e->pct);
        }
        th_skip_space(sc);
        if (th_peek(sc) != ')') {
            return th_fail(sc->ctx, th_at(sc), "expected ')' to close p(, found %s",
                           th_describe(sc, what));
        }
        sc->pos++;
        e->agg = TH_PCT;
        e->agg_end = sc->pos;
        return 0;
    }
    e->agg_end = sc->pos;
    for (size_t i = 0; i < sizeof th_agg_names / sizeof th_agg_names[0]; i++) {
        if (i != TH_PCT && th_span_eq(w, wl, th_agg_names[i])) {
            e->agg = (enum threshold_agg)i;
            return 0;
        }
    }
    int shown = wl > 32 ? 32 : (int)wl;
    return th_fail(sc->ctx, sc->base + start, "unknown aggregation \"%.*s\"; expected " TH_AGG_LIST,
                   shown, w);
}

static int th_parse_op(struct th_scan *sc, struct th_expr *e)
{
    static const struct {
        const char *text;
        enum threshold_op op;
    } ops[] = {
        /* longest first */
        {"===", TH_EQ}, {"==", TH_EQ}, {"!=", TH_NE}, {">=", TH_GE},
        {"<=", TH_LE},  {">", TH_GT},  {"<", TH_LT},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (sc->len - sc->pos >= n && memcmp(sc->s + sc->pos, ops[i].text, n) == 0) {
            sc->pos += n;
            e->op = ops[i].op;
            return 0;
        }
    }
    char what[16];
    return th_fail(sc->ctx, th_at(sc),
                   "expected a comparison (<, <=, >, >=, ==, ===, !=), found %s",
                   th_describe(sc, what));
}

/* Parses ",abortOnFail[=true|false]" and ",delayAbortEval=DUR" options; sc is just past
 * a ','. */
static int th_parse_options(struct th_scan *sc, struct th_expr *e)
{
    char what[16];
    for (;;) {
        th_skip_space(sc);
        size_t start = sc->pos;
        while (!th_at_end(sc) && th_is_alpha(th_peek(sc))) {
            sc->pos++;
        }
        const char *w = sc->s + start;
        size_t wl = sc->pos - start;
        th_skip_space(sc);
        if (th_span_eq(w, wl, "abortOnFail")) {
            e->abort_on_fail = true;
            if (th_peek(sc) == '=') {
                sc->pos++;
                th_skip_space(sc);
                size_t vs = sc->pos;
                while (!th_at_end(sc) && th_is_alpha(th_peek(sc))) {
                    sc->pos++;
                }
                if (th_span_eq(sc->s + vs, sc->pos - vs, "true")) {
                    e->abort_on_fail = true;
                } else if (th_span_eq(sc->s + vs, sc->pos - vs, "false")) {
                    e->abort_on_fail = false;
                } else {
                    return th_fail(sc->ctx, sc->base + vs,
                                   "expected true or false after abortOnFail=");
                }
                th_skip_space(sc);
            }
        } else if (th_span_eq(w, wl, "delayAbortEval")) {
            if (th_peek(sc) != '=') {
                return th_fail(sc->ctx, th_at(sc),
                               "expected '=' and a duration after delayAbortEval, as in "
                               "delayAbortEval=10s");
            }
            sc->pos++;
            th_skip_space(sc);
            size_t ds = sc->pos, de = sc->pos;
            while (de < sc->len && sc->s[de] != ',') {
                de++;
            }
            sc->pos = de;
            th_trim(sc->s, &ds, &de);
            if (th_parse_duration(sc->s + ds, de - ds, &e->delay_abort_eval_ns) < 0) {
                int shown = de - ds > 32 ? 32 : (int)(de - ds);
                return th_fail(sc->ctx, sc->base + ds,
                               "invalid duration \"%.*s\"; expected e.g. 500ms, 10s, 1m30s, 1h",
                               shown, sc->s + ds);
            }
        } else if (wl > 0) {
            int shown = wl > 32 ? 32 : (int)wl;
            return th_fail(sc->ctx, sc->base + start,
                           "unknown option \"%.*s\"; expected abortOnFail or "
                           "delayAbortEval=DURATION",
                           shown, w);
        } else {
            sc->pos = start;
            return th_fail(sc->ctx, th_at(sc),
                           "expected an option (abortOnFail or delayAbortEval=DURATION), "
                           "found %s",
                           th_describe(sc, what));
        }
        if (th_at_end(sc)) {
            return 0;
        }
        if (th_peek(sc) != ',') {
            return th_fail(sc->ctx, th_at(sc),
                           "unexpected %s after the option; expected ',' "
                           "or the end",
                           th_describe(sc, what));
        }
        sc->pos++;
    }
}

/* Parses "AGG OP NUMBER[,options]" (the whole span of sc). */
static int th_parse_expr(struct th_scan *sc, struct th_expr *e)
{
    char what[16];
    th_skip_space(sc);
    e->src_start = sc->pos;
    if (th_parse_agg(sc, e) < 0) {
        return -1;
    }
    th_skip_space(sc);
    if (th_parse_op(sc, e) < 0) {
        return -1;
    }
    th_skip_space(sc);
    if (th_scan_number(sc, &e->value, "a number") < 0) {
        return -1;
    }
    e->src_end = sc->pos;
    th_skip_space(sc);
    if (th_at_end(sc)) {
        return 0;
    }
    if (th_peek(sc) != ',') {
        return th_fail(sc->ctx, th_at(sc),
                       "unexpected %s after the number; expected ',' and "
                       "an option, or the end",
                       th_describe(sc, what));
    }
    sc->pos++;
    return th_parse_options(sc, e);
}

/* Which aggregations a metric type takes, and how to say so. */
static bool th_agg_fits(enum metric_type type, enum threshold_agg agg, const char **allowed)
{
    switch (type) {
    case METRIC_TREND:
        *allowed = "avg, min, med, max, p(N)";
        return agg == TH_AVG || agg == TH_MIN || agg == TH_MED || agg == TH_MAX || agg == TH_PCT;
    case METRIC_RATE:
        *allowed = "rate";
        return agg == TH_RATE;
    case METRIC_COUNTER:
        *allowed = "count, rate";
        return agg == TH_COUNT || agg == TH_RATE;
    case METRIC_GAUGE:
        *allowed = "value";
        return agg == TH_VALUE;
    }
    *allowed = "";
    return false;
}

/* Whether a metric name reads like a k6 Rate (a share of failures or successes), where
 * a counter's per-second rate would be a trap. */
static bool th_looks_like_share(const char *name)
{
    static const char *const words[] = {"error", "fail", "success", "ratio", "pass", NULL};
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strstr(name, words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

static char *th_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/*
 * The shared tail of both parse forms: checks the aggregation against the metric's type
 * and fills *out.  expr_ctx quotes the expression for the type message.
 */
static int th_build(const struct th_metric *m, const char *metric_s, const struct th_expr *e,
                    const char *expr_s, const struct th_ctx *expr_ctx, struct threshold *out)
{
    const char *allowed;
    enum metric_type type = metric_info[m->metric].type;
    if (!th_agg_fits(type, e->agg, &allowed)) {
        return th_fail(expr_ctx, SIZE_MAX,
                       "aggregation \"%.*s\" does not apply to %s, a %s metric; expected %s",
                       (int)(e->agg_end - e->agg_start), expr_s + e->agg_start,
                       metric_info[m->metric].name, metric_type_name(type), allowed);
    }
    const char *name = metric_info[m->metric].name;
    if (type == METRIC_COUNTER && e->agg == TH_RATE && th_looks_like_share(name)) {
        return th_fail(expr_ctx, SIZE_MAX,
                       "rate on %s, a counter, is events per second, not a share of requests "
                       "(as a k6 Rate metric would be); judge it with count (e.g. count==0), use "
                       "http_req_failed for the share of failed requests, or declare a custom "
                       "rate metric under metrics: in the scenario file",
                       name);
    }
    out->metric_expr = th_strndup(metric_s + m->start, m->end - m->start);
    out->source = th_strndup(expr_s + e->src_start, e->src_end - e->src_start);
    out->filter = strdup(m->filter);
    if (out->metric_expr == NULL || out->source == NULL || out->filter == NULL) {
        threshold_destroy(out);
        return th_fail(expr_ctx, SIZE_MAX, "out of memory");
    }
    out->metric = m->metric;
    out->agg = e->agg;
    out->pct = e->agg == TH_PCT ? e->pct : 0;
    out->op = e->op;
    out->value = e->value;
    out->abort_on_fail = e->abort_on_fail;
    out->delay_abort_eval_ns = e->delay_abort_eval_ns;
    return 0;
}

static int th_check_len(const struct th_ctx *ctx, size_t len)
{
    if (len > THRESHOLD_EXPR_MAX) {
        return th_fail(ctx, SIZE_MAX, "too long (%zu bytes; at most %d)", len, THRESHOLD_EXPR_MAX);
    }
    return 0;
}

int threshold_parse(const char *metric_expr, const char *expr, struct threshold *out, char *err,
                    size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (metric_expr == NULL || expr == NULL) {
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "threshold: missing metric or expression");
        }
        return -1;
    }
    size_t mlen = strnlen(metric_expr, THRESHOLD_EXPR_MAX + 1);
    size_t elen = strnlen(expr, THRESHOLD_EXPR_MAX + 1);
    struct th_ctx mctx = {metric_expr, mlen, err, err_len};
    struct th_ctx ectx = {expr, elen, err, err_len};
    if (th_check_len(&mctx, mlen) < 0 || th_check_len(&ectx, elen) < 0) {
        return -1;
    }
    struct th_metric m;
    struct th_expr e = {0};
    struct th_scan msc = {metric_expr, mlen, 0, 0, &mctx};
    struct th_scan esc = {expr, elen, 0, 0, &ectx};
    if (th_parse_metric(&msc, &m) < 0 || th_parse_expr(&esc, &e) < 0) {
        return -1;
    }
    return th_build(&m, metric_expr, &e, expr, &ectx, out);
}

int threshold_parse_flag(const char *arg, struct threshold *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (arg == NULL) {
        if (err != NULL && err_len > 0) {
            snprintf(err, err_len, "threshold: missing argument");
        }
        return -1;
    }
    size_t len = strnlen(arg, 2 * THRESHOLD_EXPR_MAX + 2);
    struct th_ctx ctx = {arg, len, err, err_len};
    if (len > 2 * THRESHOLD_EXPR_MAX + 1) {
        return th_fail(&ctx, SIZE_MAX, "too long (at most %d bytes)", 2 * THRESHOLD_EXPR_MAX + 1);
    }
    size_t colon = SIZE_MAX;
    int depth = 0;
    for (size_t i = 0; i < len && colon == SIZE_MAX; i++) {
        if (arg[i] == '{') {
            depth++;
        } else if (arg[i] == '}' && depth > 0) {
            depth--;
        } else if (arg[i] == ':' && depth == 0) {
            colon = i;
        }
    }
    if (colon == SIZE_MAX) {
        return th_fail(&ctx, SIZE_MAX,
                       "expected METRIC:EXPRESSION, as in "
                       "http_req_duration:p(95)<300 (no ':' outside braces)");
    }
    if (colon > THRESHOLD_EXPR_MAX || len - colon - 1 > THRESHOLD_EXPR_MAX) {
        return th_fail(&ctx, SIZE_MAX, "too long (each side at most %d bytes)", THRESHOLD_EXPR_MAX);
    }
    struct th_metric m;
    struct th_expr e = {0};
    struct th_scan msc = {arg, colon, 0, 0, &ctx};
    struct th_scan esc = {arg + colon + 1, len - colon - 1, 0, colon + 1, &ctx};
    if (th_parse_metric(&msc, &m) < 0 || th_parse_expr(&esc, &e) < 0) {
        return -1;
    }
    /* e's spans are relative to the expression half. */
    return th_build(&m, arg, &e, arg + colon + 1, &ctx, out);
}

void threshold_destroy(struct threshold *t)
{
    if (t == NULL) {
        return;
    }
    free(t->metric_expr);
    free(t->source);
    free(t->filter);
    memset(t, 0, sizeof *t);
}

/* --- evaluation --- */

static bool th_compare(double observed, enum threshold_op op, double value)
{
    switch (op) {
    case TH_LT:
        return observed < value;
    case TH_LE:
        return observed <= value;
    case TH_GT:
        return observed > value;
    case TH_GE:
        return observed >= value;
    case TH_EQ:
        return observed == value;
    case TH_NE:
        return observed != value;
    }
    return false;
}

bool threshold_eval(struct threshold *t, const struct registry *reg, double elapsed_s,
                    struct hist *scratch)
{
    if (t->metric < 0 || t->metric >= metric_count()) {
        t->evaluated = t->failed = false;
        return false;
    }
    const struct metric_info *mi = &metric_info[t->metric];
    struct hist *own = NULL;
    struct series agg;
    memset(&agg, 0, sizeof agg);
    const char *allowed;
    t->evaluated = false;
    t->failed = false;
    t->observed = 0;
    if (!th_agg_fits(mi->type, t->agg, &allowed)) {
        return false; /* not from threshold_parse(): nothing sensible to observe */
    }
    if (mi->type == METRIC_TREND) {
        if (scratch == NULL) {
            own = hist_new();
            if (own == NULL) {
                return false;
            }
            scratch = own;
        }
        agg.hist = scratch;
    }
    const char *filter = t->filter != NULL && t->filter[0] != '\0' ? t->filter : NULL;
    (void)registry_aggregate(reg, t->metric, filter, &agg);
    /* A counter that counted nothing is zero, a value like any other; a trend or rate
     * without a sample has no value at all. */
    bool empty = mi->type == METRIC_TREND ? hist_count(agg.hist) == 0 : agg.total == 0;
    t->no_samples = empty && mi->type != METRIC_COUNTER;
    t->sent_requests = false;

    /* Trend values are nanoseconds, judged in milliseconds as in k6; a custom trend of
     * plain numbers keeps v as v * 1e6 the same way (scenario/custom.h). */
    double div = mi->type == METRIC_TREND ? 1e6 : 1.0; /* divide: 1e6 ns is exactly 1 */
    double obs = 0;
    switch (t->agg) {
    case TH_AVG:
        obs = hist_mean_ns(agg.hist) / div;
        break;
    case TH_MIN:
        obs = (double)hist_min_ns(agg.hist) / div;
        break;
    case TH_MED:
        obs = (double)hist_quantile_ns(agg.hist, 0.5) / div;
        break;
    case TH_MAX:
        obs = (double)hist_max_ns(agg.hist) / div;
        break;
    case TH_PCT:
        obs = (double)hist_quantile_ns(agg.hist, t->pct / 100.0) / div;
        break;
    case TH_RATE:
        if (mi->type == METRIC_RATE) {
            obs = agg.total ? (double)agg.trues / (double)agg.total : 0;
        } else {
            obs = elapsed_s > 0 ? agg.sum / elapsed_s : 0;
        }
        break;
    case TH_COUNT:
    case TH_VALUE:
        obs = agg.sum;
        break;
    }
    hist_free(own);
    t->observed = obs;
    t->evaluated = true;
    t->failed = !th_compare(obs, t->op, t->value);
    if (t->no_samples && mi->type == METRIC_TREND) {
        /* A latency objective cannot be met by answers that never came: when requests
         * were sent and none of them gave this trend a sample, it fails. */
        struct series reqs;
        memset(&reqs, 0, sizeof reqs);
        (void)registry_aggregate(reg, M_HTTP_REQS, NULL, &reqs);
        t->sent_requests = reqs.sum > 0;
        t->failed = t->failed || t->sent_requests;
    }
    return !t->failed;
}
