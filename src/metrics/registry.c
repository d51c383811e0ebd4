/*
 * registry — series of the built-in metrics keyed by (metric, canonical tag set).
 *
 * Series live in one growing array; an open-addressing hash table over (metric, tags)
 * finds them.  Creating a series allocates (its tag string and, for trends, a
 * histogram); recording into an existing one never does.  Workers create series the
 * first time a new tag set appears (a new status code, say) and cache the index.
 */
#include "metrics/registry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

const char *const error_kind_name[ERROR_KIND_COUNT] = {
    "refused",
    "reset",
    "timeout",
    "protocol",
    "dns",
    "tls",
    "tls_expired",
    "tls_unknown_issuer",
    "tls_self_signed",
    "tls_name_mismatch",
    "connect",
    "nofile",
    "interrupted",
    "h2_rst_stream",
    "h2_goaway",
    "ws_handshake",
    "ws_protocol",
    "ws_closed",
    "other",
};

struct metric_info metric_info[METRIC_MAX] = {
    [M_HTTP_REQS] = {"http_reqs", METRIC_COUNTER, CONTAINS_DEFAULT,
                     "HTTP requests completed (any outcome)"},
    [M_HTTP_REQ_FAILED] = {"http_req_failed", METRIC_RATE, CONTAINS_DEFAULT,
                           "share of requests that failed (network error or unexpected status)"},
    [M_HTTP_REQ_DURATION] = {"http_req_duration", METRIC_TREND, CONTAINS_TIME,
                             "sending + waiting + receiving"},
    [M_HTTP_REQ_BLOCKED] = {"http_req_blocked", METRIC_TREND, CONTAINS_TIME,
                            "time before the request could be sent (connect included)"},
    [M_HTTP_REQ_CONNECTING] = {"http_req_connecting", METRIC_TREND, CONTAINS_TIME,
                               "TCP connect time (0 on a reused connection)"},
    [M_HTTP_REQ_TLS_HANDSHAKING] = {"http_req_tls_handshaking", METRIC_TREND, CONTAINS_TIME,
                                    "TLS handshake time"},
    [M_HTTP_REQ_SENDING] = {"http_req_sending", METRIC_TREND, CONTAINS_TIME,
                            "time to write the request"},
    [M_HTTP_REQ_WAITING] = {"http_req_waiting", METRIC_TREND, CONTAINS_TIME,
                            "time to first byte of the response"},
    [M_HTTP_REQ_RECEIVING] = {"http_req_receiving", METRIC_TREND, CONTAINS_TIME,
                              "time from first to last byte of the response"},
    [M_HTTP_REQ_QUEUED] = {"http_req_queued", METRIC_TREND, CONTAINS_TIME,
                           "open model: wait from the intended start until a VU was free"},
    [M_HTTP_REQ_LATENCY] = {"http_req_latency", METRIC_TREND, CONTAINS_TIME,
                            "queued + blocked + duration: what a user arriving on schedule felt"},
    [M_HTTP_REQ_SEND_LAG] = {"http_req_send_lag", METRIC_TREND, CONTAINS_TIME,
                             "from the intended start to the first byte written"},
    [M_HTTP_REQ_SEND_LAG_OWN] = {"http_req_send_lag_own", METRIC_TREND, CONTAINS_TIME,
                                 "brunt's part of the send lag: less how late the system woke it"},
    [M_ITERATIONS] = {"iterations", METRIC_COUNTER, CONTAINS_DEFAULT, "iterations completed"},
    [M_ITERATION_DURATION] = {"iteration_duration", METRIC_TREND, CONTAINS_TIME,
                              "time of one whole iteration"},
    [M_DROPPED_ITERATIONS] = {"dropped_iterations", METRIC_COUNTER, CONTAINS_DEFAULT,
                              "iterations that could not start in time"},
    [M_VUS] = {"vus", METRIC_GAUGE, CONTAINS_DEFAULT, "active virtual users"},
    [M_VUS_MAX] = {"vus_max", METRIC_GAUGE, CONTAINS_DEFAULT, "allocated virtual users"},
    [M_DATA_SENT] = {"data_sent", METRIC_COUNTER, CONTAINS_DATA, "bytes sent"},
    [M_DATA_RECEIVED] = {"data_received", METRIC_COUNTER, CONTAINS_DATA, "bytes received"},
    [M_CHECKS] = {"checks", METRIC_RATE, CONTAINS_DEFAULT, "share of checks that passed"},
    [M_ERRORS] = {"http_errors", METRIC_COUNTER, CONTAINS_DEFAULT,
                  "requests that failed with a network or protocol error, by kind (tag kind)"},
    [M_ITERATIONS_INTERRUPTED] = {"interrupted_iterations", METRIC_COUNTER, CONTAINS_DEFAULT,
                                  "iterations cut off by the end of the run (graceful stop or "
                                  "gracefulRampDown ran out, second Ctrl-C)"},
    [M_HTTP_REQ_RETRIES] = {"http_req_retries", METRIC_COUNTER, CONTAINS_DEFAULT,
                            "requests sent again after a reused connection closed before any "
                            "byte of the answer, or HTTP/2 streams the server refused "
                            "(counted once in http_reqs)"},
    [M_WS_SESSIONS] = {"ws_sessions", METRIC_COUNTER, CONTAINS_DEFAULT,
                       "WebSocket sessions opened (a valid 101 answered the upgrade)"},
    [M_WS_MSGS_SENT] = {"ws_msgs_sent", METRIC_COUNTER, CONTAINS_DEFAULT,
                        "WebSocket messages sent (text and binary)"},
    [M_WS_MSGS_RECEIVED] = {"ws_msgs_received", METRIC_COUNTER, CONTAINS_DEFAULT,
                            "WebSocket messages received (text and binary, whole)"},
    [M_WS_SESSION_DURATION] = {"ws_session_duration", METRIC_TREND, CONTAINS_TIME,
                               "WebSocket session: the 101 to the end of the connection"},
    [M_WS_CONNECTING] = {"ws_connecting", METRIC_TREND, CONTAINS_TIME,
                         "WebSocket connect: TCP (and TLS) plus the upgrade, to the 101"},
    [M_WS_PING] = {"ws_ping", METRIC_TREND, CONTAINS_TIME, "WebSocket ping to its pong"},
    [M_WS_MSG_LATENCY] = {"ws_msg_latency", METRIC_TREND, CONTAINS_TIME,
                          "WebSocket message sent to the reply a wait step matched"},
    [M_TLS_HANDSHAKES] = {"tls_handshakes", METRIC_COUNTER, CONTAINS_DEFAULT,
                          "TLS handshakes completed (one per TLS connection)"},
    [M_TLS_RESUMED] = {"tls_resumed", METRIC_COUNTER, CONTAINS_DEFAULT,
                       "TLS handshakes that resumed a session (of tls_handshakes)"},
};

/* Metrics defined so far; entries from M_COUNT on own their name and desc strings. */
static int metric_n = M_COUNT;

int metric_count(void)
{
    return metric_n;
}

static bool metric_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > METRIC_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

int metric_define(const char *name, enum metric_type type, enum metric_contains contains,
                  const char *desc)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (!metric_name_ok(name, len)) {
        return -EINVAL;
    }
    int id = metric_lookup(name, len);
    if (id >= 0) {
        bool same = metric_info[id].type == type && metric_info[id].contains == contains;
        return same && id >= M_COUNT ? id : -EEXIST;
    }
    if (metric_n >= METRIC_MAX) {
        return -ENOSPC;
    }
    char *n = strdup(name);
    char *d = strdup(desc != NULL ? desc : "");
    if (n == NULL || d == NULL) {
        free(n);
        free(d);
        return -ENOMEM;
    }
    metric_info[metric_n] = (struct metric_info){n, type, contains, d, false};
    return metric_n++;
}

int metric_set_custom(int id)
{
    if (id < M_COUNT || id >= metric_n) {
        return -EINVAL;
    }
    metric_info[id].custom = true;
    return 0;
}

void metric_undefine_all(void)
{
    for (int i = M_COUNT; i < metric_n; i++) {
        free((char *)metric_info[i].name);
        free((char *)metric_info[i].desc);
        metric_info[i] = (struct metric_info){0};
    }
    metric_n = M_COUNT;
}

int metric_lookup(const char *name, size_t len)
{
    for (int i = 0; i < metric_n; i++) {
        if (strlen(metric_info[i].name) == len && memcmp(metric_info[i].name, name, len) == 0) {
            return i;
        }
    }
    return -1;
}

const char *metric_type_name(enum metric_type type)
{
    switch (type) {
    case METRIC_COUNTER:
        return "counter";
    case METRIC_GAUGE:
        return "gauge";
    case METRIC_RATE:
        return "rate";
    case METRIC_TREND:
        return "trend";
    }
    return "?";
}

struct registry {
    struct series *series;
    size_t len, cap;
    int *table;       /* open addressing: index + 1, 0 = empty */
    size_t table_cap; /* power of two, >= 2 * len */
};

static uint64_t key_hash(int metric, const char *tags)
{
    return hash_fnv1a(HASH_FNV1A_BASIS ^ (uint64_t)metric, tags, strlen(tags));
}

struct registry *registry_new(void)
{
    return calloc(1, sizeof(struct registry));
}

void registry_free(struct registry *reg)
{
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->len; i++) {
        free(reg->series[i].tags);
        hist_free(reg->series[i].hist);
    }
    free(reg->series);
    free(reg->table);
    free(reg);
}

static int find(const struct registry *reg, int metric, const char *tags, size_t *slot)
{
    if (reg->table_cap == 0) {
        return -1;
    }
    size_t mask = reg->table_cap - 1;
    size_t i = key_hash(metric, tags) & mask;
    while (reg->table[i] != 0) {
        const struct series *s = &reg->series[reg->table[i] - 1];
        if (s->metric == metric && strcmp(s->tags, tags) == 0) {
            return reg->table[i] - 1;
        }
        i = (i + 1) & mask;
    }
    if (slot != NULL) {
        *slot = i;
    }
    return -1;
}

static int rehash(struct registry *reg, size_t cap)
{
    int *table = calloc(cap, sizeof *table);
    if (table == NULL) {
        return -ENOMEM;
    }
    for (size_t n = 0; n < reg->len; n++) {
        size_t i = key_hash(reg->series[n].metric, reg->series[n].tags) & (cap - 1);
        while (table[i] != 0) {
            i = (i + 1) & (cap - 1);
        }
        table[i] = (int)n + 1;
    }
    free(reg->table);
    reg->table = table;
    reg->table_cap = cap;
    return 0;
}

/* Appends a new series; returns its index or -1. */
static int append(struct registry *reg, int metric, const char *tags)
{
    if ((reg->len + 1) * 2 > reg->table_cap &&
        rehash(reg, reg->table_cap ? reg->table_cap * 2 : 64) < 0) {
        return -1;
    }
    if (reg->len == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 32;
        struct series *s = realloc(reg->series, cap * sizeof *s);
        if (s == NULL) {
            return -1;
        }
        reg->series = s;
        reg->cap = cap;
    }
    struct series *s = &reg->series[reg->len];
    memset(s, 0, sizeof *s);
    s->metric = metric;
    s->tags = strdup(tags);
    if (s->tags == NULL) {
        return -1;
    }
    if (metric_info[metric].type == METRIC_TREND) {
        s->hist = hist_new();
        if (s->hist == NULL) {
            free(s->tags);
            return -1;
        }
    }
    size_t slot;
    (void)find(reg, metric, tags, &slot);
    reg->table[slot] = (int)reg->len + 1;
    return (int)reg->len++;
}

int registry_get(struct registry *reg, int metric, const char *tags)
{
    int i = find(reg, metric, tags, NULL);
    return i >= 0 ? i : append(reg, metric, tags);
}

int registry_find(const struct registry *reg, int metric, const char *tags)
{
    return find(reg, metric, tags, NULL);
}

struct series *registry_at(struct registry *reg, int i)
{
    return &reg->series[i];
}

const struct series *registry_at_const(const struct registry *reg, int i)
{
    return &reg->series[i];
}

size_t registry_len(const struct registry *reg)
{
    return reg->len;
}

int registry_sync_layout(struct registry *dst, const struct registry *src)
{
    for (size_t i = dst->len; i < src->len; i++) {
        if (append(dst, src->series[i].metric, src->series[i].tags) < 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static void series_merge(struct series *d, const struct series *s)
{
    switch (metric_info[d->metric].type) {
    case METRIC_COUNTER:
        d->sum += s->sum;
        d->total += s->total;
        break;
    case METRIC_GAUGE:
        if (s->total > 0) {
            if (d->total == 0 || s->gmin < d->gmin) {
                d->gmin = s->gmin;
            }
            if (d->total == 0 || s->gmax > d->gmax) {
                d->gmax = s->gmax;
            }
            d->sum = s->sum;
            d->total += s->total;
        }
        break;
    case METRIC_RATE:
        d->trues += s->trues;
        d->total += s->total;
        break;
    case METRIC_TREND:
        hist_merge(d->hist, s->hist);
        break;
    }
}

int registry_merge(struct registry *dst, const struct registry *src)
{
    for (size_t n = 0; n < src->len; n++) {
        const struct series *s = &src->series[n];
        int i = registry_get(dst, s->metric, s->tags);
        if (i < 0) {
            return -ENOMEM;
        }
        series_merge(&dst->series[i], s);
    }
    return 0;
}

void registry_reset(struct registry *reg)
{
    for (size_t i = 0; i < reg->len; i++) {
        struct series *s = &reg->series[i];
        s->sum = s->gmin = s->gmax = 0;
        s->trues = s->total = 0;
        if (s->hist != NULL) {
            hist_reset(s->hist);
        }
    }
}

size_t registry_aggregate(const struct registry *reg, int metric, const char *filter,
                          struct series *out)
{
    struct hist *h = out->hist;
    memset(out, 0, sizeof *out);
    out->metric = metric;
    out->hist = h;
    if (h != NULL) {
        hist_reset(h);
    }
    size_t n = 0;
    for (size_t i = 0; i < reg->len; i++) {
        const struct series *s = &reg->series[i];
        if (s->metric != metric || (filter != NULL && !tags_contain(s->tags, filter))) {
            continue;
        }
        if (metric_info[metric].type == METRIC_TREND && h == NULL) {
            continue;
        }
        if (metric_info[metric].type == METRIC_GAUGE && n > 0) {
            /* Series of one gauge at one moment add up (VUs across scenarios). */
            out->sum += s->sum;
            out->gmin += s->gmin;
            out->gmax += s->gmax;
            out->total += s->total;
        } else {
            series_merge(out, s);
        }
        n++;
    }
    return n;
}

void series_record(struct series *s, double v)
{
    switch (metric_info[s->metric].type) {
    case METRIC_RATE:
        series_rate(s, v != 0);
        break;
    case METRIC_COUNTER:
        series_add(s, v);
        break;
    case METRIC_GAUGE:
        series_gauge(s, v);
        break;
    case METRIC_TREND:
        series_trend_ns(s, v <= 0 ? 0 : (uint64_t)llround(v));
        break;
    }
}

void series_gauge(struct series *s, double v)
{
    if (s->total == 0 || v < s->gmin) {
        s->gmin = v;
    }
    if (s->total == 0 || v > s->gmax) {
        s->gmax = v;
    }
    s->sum = v;
    s->total++;
}

/* --- tag sets --- */

static int cmp_idx(const char *const *keys, size_t a, size_t b)
{
    return strcmp(keys[a], keys[b]);
}

int tags_canon(char *out, size_t cap, const char *const *keys, const char *const *values, size_t n)
{
    size_t order[32];
    if (n > 32) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
    }
    /* insertion sort: tag sets are small */
    for (size_t i = 1; i < n; i++) {
        size_t v = order[i], j = i;
        while (j > 0 && cmp_idx(keys, order[j - 1], v) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = keys[order[i]], *v = values[order[i]];
        size_t kl = strlen(k), vl = strlen(v);
        size_t need = (i > 0) + kl + 1 + vl;
        if (len + need + 1 > cap) {
            return -1;
        }
        if (i > 0) {
            out[len++] = TAGS_SEP;
        }
        for (size_t j = 0; j < kl; j++) {
            out[len++] = (k[j] == '=' || k[j] == TAGS_SEP) ? '_' : k[j];
        }
        out[len++] = '=';
        for (size_t j = 0; j < vl; j++) {
            out[len++] = v[j] == TAGS_SEP ? '_' : v[j];
        }
    }
    if (cap == 0) {
        return -1;
    }
    out[len] = '\0';
    return (int)len;
}

/* Finds the pair "key=value" (length n) as a whole element of tags. */
static bool has_pair(const char *tags, const char *pair, size_t n)
{
    const char *p = tags;
    while (*p) {
        const char *end = strchr(p, TAGS_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, pair, n) == 0) {
            return true;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return false;
}

bool tags_contain(const char *tags, const char *filter)
{
    const char *p = filter;
    while (p != NULL && *p) {
        const char *end = strchr(p, TAGS_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!has_pair(tags, p, len)) {
            return false;
        }
        p = end ? end + 1 : NULL;
    }
    return true;
}

const char *tags_get(const char *tags, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    const char *p = tags;
    while (*p) {
        const char *end = strchr(p, TAGS_SEP);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > kl && p[kl] == '=' && memcmp(p, key, kl) == 0) {
            *len = n - kl - 1;
            return p + kl + 1;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return NULL;
}

double metric_trend_div(int metric)
{
    (void)metric;
    return 1e6; /* time: ns to ms; everything else: millionths (scenario/custom.h too) */
}

void series_trend_value(struct series *s, double v)
{
    double stored = v * metric_trend_div(s->metric);
    if (!(stored > 0)) {
        stored = 0; /* negatives and NaN: a trend of levels has none */
    }
    hist_record(s->hist, stored >= 1.8e19 ? UINT64_MAX : (uint64_t)llround(stored));
}
