/*
 * custom — custom metrics: declarations, per-step feeds, and the samples one response
 * adds, handed to the engine in struct step_results (custom.h).
 */
#include "scenario/custom.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

/* Which metric ids are custom, and how many feed slots are handed out. */
static bool is_custom[METRIC_MAX];
static int n_custom;
static int n_slots;

static const char *const type_names[] = {"counter", "gauge", "rate", "trend", NULL};

int custom_define(const char *name, const char *type, bool time, const char *desc, char *err,
                  size_t err_len)
{
    static const enum metric_type types[] = {METRIC_COUNTER, METRIC_GAUGE, METRIC_RATE,
                                             METRIC_TREND};
    int t = -1;
    for (int i = 0; type_names[i] != NULL; i++) {
        if (type != NULL && strcmp(type, type_names[i]) == 0) {
            t = i;
        }
    }
    if (t < 0) {
        const char *near =
            type != NULL ? text_suggest(type, strlen(type), type_names, SIZE_MAX, 2) : NULL;
        return text_errf(err, err_len, -1,
                         "metric \"%s\": unknown type \"%s\"%s%s%s; expected counter, gauge, "
                         "rate or trend",
                         name, type != NULL ? type : "", near ? " (did you mean \"" : "",
                         near ? near : "", near ? "\"?)" : "");
    }
    size_t len = name != NULL ? strlen(name) : 0;
    int existing = name != NULL ? metric_lookup(name, len) : -1;
    if (existing >= 0 && existing < M_COUNT) {
        return text_errf(err, err_len, -1,
                         "metric \"%s\" is a built-in (a %s: %s); give the custom metric "
                         "another name",
                         name, metric_type_name(metric_info[existing].type),
                         metric_info[existing].desc);
    }
    if (n_custom >= CUSTOM_MAX_METRICS && (existing < 0 || !is_custom[existing])) {
        return text_errf(err, err_len, -1, "metric \"%s\": too many custom metrics (at most %d)",
                         name, CUSTOM_MAX_METRICS);
    }
    enum metric_contains contains =
        types[t] == METRIC_TREND && time ? CONTAINS_TIME : CONTAINS_DEFAULT;
    int id = metric_define(name, types[t], contains, desc != NULL ? desc : "custom metric");
    if (id == -EINVAL) {
        return text_errf(err, err_len, -1,
                         "metric name \"%s\" is not valid; expected letters, digits and _, not "
                         "starting with a digit, at most %d bytes",
                         name != NULL ? name : "", METRIC_NAME_MAX);
    }
    if (id == -EEXIST) {
        return text_errf(err, err_len, -1, "metric \"%s\" is already defined as a %s%s", name,
                         metric_type_name(metric_info[existing].type),
                         metric_info[existing].contains == CONTAINS_TIME ? " of times" : "");
    }
    if (id < 0) {
        return text_errf(err, err_len, -1, "metric \"%s\": %s", name,
                         id == -ENOSPC ? "too many metrics" : "out of memory");
    }
    if (!is_custom[id]) {
        is_custom[id] = true;
        n_custom++;
        (void)metric_set_custom(id);
    }
    return id;
}

bool custom_is_metric(int id)
{
    return id >= 0 && id < METRIC_MAX && is_custom[id];
}

/* --- compiling feeds --- */

static const char *skip_space(const char *s)
{
    while (text_is_space(*s)) {
        s++;
    }
    return s;
}

/* Parses VALUE from s[0..len) (trimmed) into f. */
static int parse_value(struct custom_feed *f, const char *s, size_t len, const char *metric,
                       custom_var_lookup_cb lookup, void *ctx, char *err, size_t err_len)
{
    while (len > 0 && text_is_space(s[len - 1])) {
        len--;
    }
    if (len == 0) {
        return text_errf(err, err_len, -1,
                         "metric \"%s\": expected a value (duration, status, a number or a "
                         "variable)",
                         metric);
    }
    if (len == 8 && memcmp(s, "duration", 8) == 0) {
        f->value = CUSTOM_V_DURATION;
        return 0;
    }
    if (len == 6 && memcmp(s, "status", 6) == 0) {
        f->value = CUSTOM_V_STATUS;
        return 0;
    }
    char buf[64];
    if (len < sizeof buf) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *end;
        double v = strtod(buf, &end);
        if (end != buf && *end == '\0' && isfinite(v) &&
            (buf[0] == '-' || buf[0] == '+' || buf[0] == '.' || (buf[0] >= '0' && buf[0] <= '9'))) {
            f->value = CUSTOM_V_NUMBER;
            f->number = v;
            return 0;
        }
    }
    int var = lookup != NULL ? lookup(ctx, s, len) : -1;
    if (var < 0) {
        int shown = len > 64 ? 64 : (int)len;
        return text_errf(err, err_len, -1,
                         "metric \"%s\": \"%.*s\" is not a value; expected duration, status, a "
                         "number, or a variable the flow extracts",
                         metric, shown, s);
    }
    f->value = CUSTOM_V_VAR;
    f->var = var;
    return 0;
}

static int compile_check(struct check *ck, const char *src, const char *metric, char *err,
                         size_t err_len)
{
    char cerr[256];
    if (check_compile(src, ck, cerr, sizeof cerr) < 0) {
        return text_errf(err, err_len, -1, "metric \"%s\": \"%s\": %s", metric, src, cerr);
    }
    if (check_is_head(ck) && ck->kind == CHECK_HEADER) {
        check_destroy(ck);
        return text_errf(err, err_len, -1,
                         "metric \"%s\": \"%s\": header conditions are not available to metric "
                         "feeds; expected a status, duration, body or json condition",
                         metric, src);
    }
    return 0;
}

int custom_feed_compile(struct custom_step *cs, const char *metric, const char *spec,
                        const char *tags, custom_var_lookup_cb lookup, void *lookup_ctx, char *err,
                        size_t err_len)
{
    int id = metric != NULL ? metric_lookup(metric, strlen(metric)) : -1;
    if (!custom_is_metric(id)) {
        const char *names[CUSTOM_MAX_METRICS + 1];
        size_t n = 0;
        for (int i = M_COUNT; i < metric_count() && n < CUSTOM_MAX_METRICS; i++) {
            if (is_custom[i]) {
                names[n++] = metric_info[i].name;
            }
        }
        names[n] = NULL;
        const char *near =
            metric != NULL ? text_suggest(metric, strlen(metric), names, n, 3) : NULL;
        if (id >= 0) {
            return text_errf(err, err_len, -1,
                             "metric \"%s\" is brunt's own; a step feeds only the custom metrics "
                             "declared under the top-level metrics:",
                             metric);
        }
        return text_errf(err, err_len, -1,
                         "metric \"%s\" is not declared; %s%s%sdeclare it under the top-level "
                         "metrics: (e.g. %s: rate)",
                         metric != NULL ? metric : "", near ? "did you mean \"" : "",
                         near ? near : "", near ? "\"? or " : "", metric != NULL ? metric : "x");
    }
    if (cs->n >= CUSTOM_MAX_FEEDS) {
        return text_errf(err, err_len, -1,
                         "metric \"%s\": too many metric feeds in one step (at "
                         "most %d)",
                         metric, CUSTOM_MAX_FEEDS);
    }
    if (n_slots >= CUSTOM_MAX_SLOTS) {
        return text_errf(err, err_len, -1, "metric \"%s\": too many metric feeds (at most %d)",
                         metric, CUSTOM_MAX_SLOTS);
    }
    if (spec == NULL || strlen(spec) > CHECK_MAX_SOURCE_BYTES) {
        return text_errf(err, err_len, -1, "metric \"%s\": expected a value of at most %d bytes",
                         metric, CHECK_MAX_SOURCE_BYTES);
    }
    struct custom_feed f;
    memset(&f, 0, sizeof f);
    f.metric = id;
    f.var = -1;
    const char *s = skip_space(spec);
    int rc;
    if (metric_info[id].type == METRIC_RATE) {
        f.value = CUSTOM_V_CHECK;
        rc = compile_check(&f.ck, s, metric, err, err_len);
    } else {
        /* VALUE [if CHECK]: the last " if " word splits it. */
        const char *cond = NULL;
        for (const char *p = s; (p = strstr(p, "if")) != NULL; p += 2) {
            bool before = p > s && text_is_space(p[-1]);
            bool after = text_is_space(p[2]);
            if (before && after) {
                cond = p;
                break;
            }
        }
        size_t vlen = cond != NULL ? (size_t)(cond - s) : strlen(s);
        rc = parse_value(&f, s, vlen, metric, lookup, lookup_ctx, err, err_len);
        if (rc == 0 && cond != NULL) {
            f.has_cond = true;
            rc = compile_check(&f.ck, skip_space(cond + 2), metric, err, err_len);
        }
    }
    if (rc < 0) {
        check_destroy(&f.ck);
        return -1;
    }
    f.tags = strdup(tags != NULL ? tags : "");
    struct custom_feed *nf = realloc(cs->feeds, (cs->n + 1) * sizeof *nf);
    if (f.tags == NULL || nf == NULL) {
        free(f.tags);
        check_destroy(&f.ck);
        if (nf != NULL) {
            cs->feeds = nf;
        }
        return text_errf(err, err_len, -1, "out of memory");
    }
    cs->feeds = nf;
    f.slot = n_slots++;
    cs->feeds[cs->n++] = f;
    return 0;
}

bool custom_step_needs_body(const struct custom_step *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        const struct custom_feed *f = &cs->feeds[i];
        if ((f->value == CUSTOM_V_CHECK || f->has_cond) && check_needs_body(&f->ck)) {
            return true;
        }
    }
    return false;
}

void custom_step_destroy(struct custom_step *cs)
{
    if (cs == NULL) {
        return;
    }
    for (size_t i = 0; i < cs->n; i++) {
        check_destroy(&cs->feeds[i].ck);
        free(cs->feeds[i].tags);
    }
    free(cs->feeds);
    memset(cs, 0, sizeof *cs);
}

/* --- feeding --- */

/* The value of f for this response; false when it adds nothing. */
static bool feed_value(const struct custom_feed *f, const struct flow_vu *v, int status,
                       uint64_t duration_ns, double *out)
{
    switch (f->value) {
    case CUSTOM_V_DURATION:
        *out = (double)duration_ns / 1e6;
        return status != 0;
    case CUSTOM_V_STATUS:
        *out = status;
        return true;
    case CUSTOM_V_NUMBER:
        *out = f->number;
        return true;
    case CUSTOM_V_VAR: {
        if (f->var < 0 || (size_t)f->var >= v->n_vars || !v->vars[f->var].set) {
            return false;
        }
        const struct flow_var *var = &v->vars[f->var];
        char buf[64];
        if (var->len == 0 || var->len >= sizeof buf) {
            return false;
        }
        memcpy(buf, var->val, var->len);
        buf[var->len] = '\0';
        char *end;
        double d = strtod(buf, &end);
        if (end == buf || *end != '\0' || !isfinite(d)) {
            return false;
        }
        *out = d;
        return true;
    }
    case CUSTOM_V_CHECK:
        break;
    }
    return false;
}

/*
 * Whether a condition holds.  A status condition on a network error compares status 0
 * as a number, as a k6 script's `res.status !== 200` does (check_eval fails every check
 * on an error, which is right for checks but would hide errors from "status != 200").
 */
static bool cond_holds(const struct check *ck, int status, uint64_t duration_ns, const char *body,
                       size_t body_len)
{
    if (status != 0 || ck->kind != CHECK_STATUS) {
        return check_eval(ck, status, duration_ns, NULL, body, body_len);
    }
    switch (ck->op) {
    case CHECK_OP_EQ:
        return 0 == ck->num;
    case CHECK_OP_NE:
        return 0 != ck->num;
    case CHECK_OP_LT:
        return 0 < ck->num;
    case CHECK_OP_LE:
        return 0 <= ck->num;
    case CHECK_OP_GT:
        return 0 > ck->num;
    case CHECK_OP_GE:
        return 0 >= ck->num;
    case CHECK_OP_IN:
        return ck->negate; /* 0 is in no list of statuses */
    default:
        return false;
    }
}

/* --- setup values --- */

static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cap_names[CUSTOM_CAPTURE_MAX];
static char *cap_values[CUSTOM_CAPTURE_MAX];
static size_t n_cap;

/* Sets name to value[0..len) in the capture (replacing an earlier value). */
static void capture_set(const char *name, const char *value, size_t len)
{
    size_t i;
    for (i = 0; i < n_cap && strcmp(cap_names[i], name) != 0; i++) {
    }
    if (i == CUSTOM_CAPTURE_MAX || len > CUSTOM_CAPTURE_VALUE_MAX) {
        return;
    }
    char *v = malloc(len + 1);
    if (v == NULL) {
        return;
    }
    for (size_t k = 0; k < len; k++) {
        v[k] = value[k] == '\r' || value[k] == '\n' ? ' ' : value[k];
    }
    v[len] = '\0';
    if (i == n_cap) {
        cap_names[i] = strdup(name);
        if (cap_names[i] == NULL) {
            free(v);
            return;
        }
        n_cap++;
    } else {
        free(cap_values[i]);
    }
    cap_values[i] = v;
}

static void capture_vu(const struct custom_step *cs, const struct flow_vu *v)
{
    pthread_mutex_lock(&capture_lock);
    for (size_t i = 0; i < cs->n_capture && i < v->n_vars; i++) {
        if (v->vars[i].set) {
            capture_set(cs->capture_names[i], v->vars[i].val != NULL ? v->vars[i].val : "",
                        v->vars[i].len);
        }
    }
    pthread_mutex_unlock(&capture_lock);
}

size_t custom_capture_get(const char *const **names, const char *const **values)
{
    *names = (const char *const *)cap_names;
    *values = (const char *const *)cap_values;
    return n_cap;
}

void custom_capture_reset(void)
{
    pthread_mutex_lock(&capture_lock);
    for (size_t i = 0; i < n_cap; i++) {
        free(cap_names[i]);
        free(cap_values[i]);
        cap_names[i] = cap_values[i] = NULL;
    }
    n_cap = 0;
    pthread_mutex_unlock(&capture_lock);
}

void custom_step_feed(const struct custom_step *cs, const struct flow_vu *v, int status,
                      uint64_t duration_ns, const char *body, size_t body_len,
                      struct step_results *res)
{
    if (cs != NULL && cs->n_capture > 0) {
        capture_vu(cs, v); /* a setup step: once per response of a one-VU flow */
    }
    if (cs == NULL || cs->n == 0 || res == NULL) {
        return;
    }
    for (size_t i = 0; i < cs->n && res->n_samples < STEP_MAX_SAMPLES; i++) {
        const struct custom_feed *f = &cs->feeds[i];
        double value = 0;
        if (f->value == CUSTOM_V_CHECK) {
            value = cond_holds(&f->ck, status, duration_ns, body, body_len) ? 1 : 0;
        } else {
            if (f->has_cond && !cond_holds(&f->ck, status, duration_ns, body, body_len)) {
                continue;
            }
            if (!feed_value(f, v, status, duration_ns, &value)) {
                continue;
            }
            if (metric_info[f->metric].type == METRIC_TREND) {
                double x = value < 0 ? 0 : value > CUSTOM_TREND_MAX ? CUSTOM_TREND_MAX : value;
                value = (double)llround(x * 1e6);
            }
        }
        res->sample_index[res->n_samples] = (uint8_t)i;
        res->sample_value[res->n_samples++] = value;
    }
}

size_t custom_step_series_count(const struct custom_step *cs)
{
    return cs != NULL ? cs->n : 0;
}

int custom_step_series(const struct custom_step *cs, size_t i, const char **tags)
{
    if (cs == NULL || i >= cs->n) {
        return -1;
    }
    *tags = cs->feeds[i].tags != NULL ? cs->feeds[i].tags : "";
    return cs->feeds[i].metric;
}

void custom_shutdown(void)
{
    memset(is_custom, 0, sizeof is_custom);
    n_custom = 0;
    n_slots = 0;
    custom_capture_reset();
}
