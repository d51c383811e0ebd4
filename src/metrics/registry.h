/*
 * registry — metrics by name and tag set, as k6 models them.
 *
 * A metric has a type (counter, gauge, rate, trend) and what it contains (plain
 * numbers, time, data); a series is one metric with one tag set, holding the values of
 * the samples that carried exactly those tags.  Thresholds and summaries aggregate the
 * series of a metric whose tags include a filter (registry_aggregate), which is exact
 * because every series value merges exactly (trends are struct hist).
 *
 * Tag sets are canonical strings: "key=value" pairs sorted by key and joined by
 * TAGS_SEP (0x1f), so that equal sets are equal strings ("" is the empty set).
 *
 * Series are only ever appended, so a series index is stable for the life of a
 * registry, and registry_sync_layout() gives another registry the same indices: a
 * worker caches indices on its hot path and swaps registries once a second (see
 * engine/worker.c).  One owner at a time; no locking.
 */
#ifndef BRUNT_METRICS_REGISTRY_H
#define BRUNT_METRICS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/hist.h"

#define TAGS_SEP '\x1f'

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_RATE, METRIC_TREND };
enum metric_contains { CONTAINS_DEFAULT, CONTAINS_TIME, CONTAINS_DATA };

/* The built-in metrics; names follow k6 where k6 has one (docs/metrics.md). */
enum metric_id {
    M_HTTP_REQS,
    M_HTTP_REQ_FAILED,
    M_HTTP_REQ_DURATION,
    M_HTTP_REQ_BLOCKED,
    M_HTTP_REQ_CONNECTING,
    M_HTTP_REQ_TLS_HANDSHAKING,
    M_HTTP_REQ_SENDING,
    M_HTTP_REQ_WAITING,
    M_HTTP_REQ_RECEIVING,
    M_HTTP_REQ_QUEUED,
    M_HTTP_REQ_LATENCY,
    M_HTTP_REQ_SEND_LAG,
    M_HTTP_REQ_SEND_LAG_OWN,
    M_ITERATIONS,
    M_ITERATION_DURATION,
    M_DROPPED_ITERATIONS,
    M_VUS,
    M_VUS_MAX,
    M_DATA_SENT,
    M_DATA_RECEIVED,
    M_CHECKS,
    M_ERRORS,
    M_ITERATIONS_INTERRUPTED,
    M_HTTP_REQ_RETRIES,
    /* WebSocket (engine/conn_ws.c), k6's names and brunt's message latency */
    M_WS_SESSIONS,
    M_WS_MSGS_SENT,
    M_WS_MSGS_RECEIVED,
    M_WS_SESSION_DURATION,
    M_WS_CONNECTING,
    M_WS_PING,
    M_WS_MSG_LATENCY,
    /* TLS connections (engine/conn.c): handshakes done, and of those the resumed */
    M_TLS_HANDSHAKES,
    M_TLS_RESUMED,
    M_COUNT
};

struct metric_info {
    const char *name;
    enum metric_type type;
    enum metric_contains contains;
    const char *desc;
    bool custom; /* declared by a scenario file (metric_set_custom): the summary's CUSTOM */
};

/* The most metrics one process knows: the built-ins and those defined at run time. */
#define METRIC_MAX 256
/* The kinds of network error: the values of the `kind` tag of the `errors` metric, in
 * one table for the engine that counts them and the outputs that print them (the
 * result lists every kind but "nofile" in this order, with "other" last, and "nofile"
 * after them only when it happened). */
enum error_kind {
    ERROR_KIND_REFUSED,
    ERROR_KIND_RESET,
    ERROR_KIND_TIMEOUT,
    ERROR_KIND_PROTOCOL,
    ERROR_KIND_DNS,
    ERROR_KIND_TLS, /* a TLS handshake failure not below */
    ERROR_KIND_TLS_EXPIRED,
    ERROR_KIND_TLS_UNKNOWN_ISSUER,
    ERROR_KIND_TLS_SELF_SIGNED,
    ERROR_KIND_TLS_NAME_MISMATCH,
    ERROR_KIND_CONNECT,
    ERROR_KIND_NOFILE,        /* no file descriptor for a socket (EMFILE, ENFILE) */
    ERROR_KIND_INTERRUPTED,   /* still in flight when the run's hard end came */
    ERROR_KIND_H2_RST_STREAM, /* HTTP/2: the server reset the stream */
    ERROR_KIND_H2_GOAWAY,     /* HTTP/2: GOAWAY ended the connection with the stream open */
    ERROR_KIND_WS_HANDSHAKE,  /* WebSocket: the upgrade was not a valid 101 (listed when seen) */
    ERROR_KIND_WS_PROTOCOL,   /* WebSocket: a frame broke RFC 6455 (listed when seen) */
    ERROR_KIND_WS_CLOSED,     /* WebSocket: the server ended the session abnormally */
    ERROR_KIND_OTHER,
    ERROR_KIND_COUNT
};
extern const char *const error_kind_name[ERROR_KIND_COUNT];

/* The longest metric name metric_define() takes, in bytes. */
#define METRIC_NAME_MAX 64

/*
 * metric_info[id] for each id below metric_count(): the built-ins (enum metric_id) first,
 * then the metrics defined with metric_define() (custom metrics from a scenario file,
 * the figures of the probes that watch the system under test).  Entries never move or
 * change once defined, so a pointer to one stays valid for the life of the process.
 */
extern struct metric_info metric_info[METRIC_MAX];
/* How many metrics are defined (M_COUNT and up). */
int metric_count(void);
/* Returns the metric id for name[0..len), or -1 when there is none. */
int metric_lookup(const char *name, size_t len);
/*
 * Defines a metric at run time and returns its id (>= M_COUNT).  name must match
 * [a-zA-Z_][a-zA-Z0-9_]* and be at most METRIC_NAME_MAX bytes; it and desc are copied.
 * Defining a name again with the same type and contents returns the existing id (two
 * probes or files may declare the same figure).  Errors: -EINVAL (bad name),
 * -EEXIST (the name exists with another type or contents, a built-in included),
 * -ENOSPC (METRIC_MAX reached), -ENOMEM.  Not thread-safe: call it before engine_run()
 * starts the workers (plan building, probe set-up), never during a run.
 */
int metric_define(const char *name, enum metric_type type, enum metric_contains contains,
                  const char *desc);
/* Marks a metric defined with metric_define() as a scenario file's custom metric (k6's
 * custom Counter, Gauge, Rate, Trend).  Returns 0, or -EINVAL for a built-in or an id not
 * defined.  Same thread rules as metric_define(). */
int metric_set_custom(int id);
/* Forgets every metric defined with metric_define() (tests; never during a run). */
void metric_undefine_all(void);
/* "counter", "gauge", "rate", "trend". */
const char *metric_type_name(enum metric_type type);

struct series {
    int metric; /* enum metric_id */
    char *tags; /* canonical tag set, owned by the registry */
    /* values, by the metric's type */
    double sum;        /* counter: total; gauge: last value */
    double gmin, gmax; /* gauge: extremes seen */
    uint64_t trues;    /* rate: non-zero samples */
    uint64_t total;    /* rate: all samples; counter and gauge: samples */
    struct hist *hist; /* trend only */
};

struct registry;

struct registry *registry_new(void);
void registry_free(struct registry *reg);

/*
 * Returns the index of the series (metric, tags), creating it if needed, or -1 when out
 * of memory.  tags must be canonical (see tags_canon()).
 */
int registry_get(struct registry *reg, int metric, const char *tags);
/* The index of the series (metric, tags), or -1 when reg has none.  Never allocates. */
int registry_find(const struct registry *reg, int metric, const char *tags);
/* The series at index i.  The pointer is valid until the next call that adds a series
 * to reg (registry_get creating one, registry_sync_layout, registry_merge): the array
 * grows with realloc and may move.  Keep the index, not the pointer. */
struct series *registry_at(struct registry *reg, int i);
const struct series *registry_at_const(const struct registry *reg, int i);
size_t registry_len(const struct registry *reg);

/* Appends to dst the series that src has beyond dst's length, so indices agree.
 * Requires dst's series to be a prefix of src's layout.  Returns 0 or -ENOMEM. */
int registry_sync_layout(struct registry *dst, const struct registry *src);

/* Adds every series value of src into dst, matching series by (metric, tags) and
 * creating missing ones.  Gauges take src's last value.  Returns 0 or -ENOMEM. */
int registry_merge(struct registry *dst, const struct registry *src);

/* Zeroes every value, keeping the series. */
void registry_reset(struct registry *reg);

/*
 * Aggregates into *out (whose hist, for trends, the caller provides and this resets)
 * every series of `metric` whose tags include all pairs of `filter` (canonical; "" or
 * NULL matches all).  Returns the number of series aggregated.
 */
size_t registry_aggregate(const struct registry *reg, int metric, const char *filter,
                          struct series *out);

/* Sample recording on a series. */
static inline void series_add(struct series *s, double v)
{
    s->sum += v;
    s->total++;
}
static inline void series_rate(struct series *s, bool hit)
{
    s->trues += hit;
    s->total++;
}
static inline void series_trend_ns(struct series *s, uint64_t ns)
{
    hist_record(s->hist, ns);
}
void series_gauge(struct series *s, double v);
/* One sample by the series' metric type: a rate's v is true when not 0, a counter adds v,
 * a gauge is set to v, a trend records v (ns, rounded; below 0 as 0). */
void series_record(struct series *s, double v);

/*
 * Trend values live in the histogram as integers: nanoseconds for time trends and
 * millionths for every other trend (a CPU share of 37.25 % keeps its decimals; the
 * histogram's range then spans 0.000001 to 3.6 million, so the watchers record memory
 * in MiB).  metric_trend_div() is what a stored value is divided by to give the unit
 * thresholds and outputs show: 1e6 (ns to ms, millionths to units).
 */
double metric_trend_div(int metric);
/* Records v, in the metric's shown unit (ms, bytes, number), into a trend series. */
void series_trend_value(struct series *s, double v);

/*
 * Builds a canonical tag set into out (capacity cap) from n key/value pairs given in any
 * order.  Returns the length, or -1 if it does not fit.  Keys must not contain '=' or
 * TAGS_SEP; values must not contain TAGS_SEP (such bytes are replaced by '_').
 */
int tags_canon(char *out, size_t cap, const char *const *keys, const char *const *values, size_t n);
/* True when every pair of filter is in tags. */
bool tags_contain(const char *tags, const char *filter);
/* Value of key in tags (pointer into tags, length in *len), or NULL. */
const char *tags_get(const char *tags, const char *key, size_t *len);

#endif
