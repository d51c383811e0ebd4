/*
 * result_read — reads a "brunt-result/1" document (docs/result-format.md) back into what
 * the analysis commands need: what ran (meta, the load shape from options), the table of
 * series, every second's per-series records (counters, rates and compact histograms) and
 * the headline value of every metric.
 *
 * It validates the whole document first (core/json), then walks it once with
 * json_iter_next, so a file of n bytes costs O(n).  Everything set by the file has a cap
 * (RR_MAX_* below, RESULT_MAX_BYTES for the file): a document past one is refused, not
 * truncated.  No printing: errors come back as a negative code and one line in err
 * ("base.json: ... expected ...").  The result owns all its memory; free it with
 * result_doc_free().  Any thread; no shared state.
 *
 * Left out: the per-run fine histograms and the per-phase trends (compare works from the
 * seconds), thresholds and warnings.
 */
#ifndef BRUNT_ANALYSIS_RESULT_READ_H
#define BRUNT_ANALYSIS_RESULT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

/* Errors (negative): the file cannot be read, is not a brunt result, is another
 * version, or has no per-second histograms (written before they were kept). */
enum rr_err {
    RR_EIO = -1,
    RR_EFORMAT = -2,
    RR_EVERSION = -3,
    RR_ENOHIST = -4,
    RR_ENOMEM = -5,
};

#define RR_MAX_SERIES 65536
#define RR_MAX_ROWS (1u << 22)    /* 48 days of seconds */
#define RR_MAX_RECORDS (1u << 26) /* records over all rows */
#define RR_MAX_EXTRAS 256         /* metrics kept with their headline values */
#define RR_MAX_TEXT 1024          /* longest string kept (URL, name, tags) */

struct rr_bucket {
    uint32_t index; /* compact bucket (metrics/packed.h layout) */
    uint32_t count;
};

/* One series' record for one second. */
struct rr_rec {
    uint32_t series;   /* index into result_doc.series */
    double sum;        /* counter: the second's increment; gauge: its last value */
    double lo, hi;     /* gauge: the second's extremes */
    uint64_t trues, n; /* rate: trues of n; counter, trend: samples */
    uint64_t min_ns, max_ns;
    double sum_ns; /* trend */
    uint32_t n_buckets;
    struct rr_bucket *b; /* trend: ascending indices */
};

struct rr_row {
    uint32_t t;
    size_t n_recs;
    struct rr_rec *recs;
};

struct rr_series {
    char *metric;
    int metric_id; /* metric_lookup() of the name, -1 when this process does not know it */
    enum metric_type type;
    char *tags; /* canonical: "k=v" pairs joined by TAGS_SEP, as the writer sorted them */
    char *name; /* the name tag's value, or NULL */
};

/* The load a run was asked for, as far as comparing two runs needs it. */
struct rr_load {
    char model[16]; /* "open", "closed", "" when several differ */
    char executor[32];
    char method[16];
    char path[RR_MAX_TEXT]; /* the URL without scheme and host (targets move between runs) */
    double rate;            /* NAN when none */
    double connections, max_vus, pipeline, requests;
    double duration_ms;
    char stages[RR_MAX_TEXT];    /* the stages as compact JSON text */
    char scenarios[RR_MAX_TEXT]; /* scenario names joined by ',' ("" for one) */
};

/* A metric's headline value from `metrics` (for the metrics that have no records). */
struct rr_extra {
    char *metric;
    enum metric_type type;
    double value; /* gauge: value; rate: rate; counter: rate per s; trend: avg */
    double p95;   /* trend: p(95); else NAN */
};

struct result_doc {
    char version[32];
    char start[40];     /* meta.start, RFC 3339 */
    double duration_ms; /* meta.duration_ms */
    char name[256];     /* meta.name or "" */
    char digest[128];   /* meta.scenario_digest or "" */
    char file[256];     /* the scenario file in meta.command (basename, no extension), or "" */
    int exit_code;
    struct rr_load load;
    size_t n_series;
    struct rr_series *series;
    size_t n_rows;
    struct rr_row *rows;
    size_t n_extras;
    struct rr_extra *extras;
};

/*
 * Parses doc[0..len) (a whole result document); label names it in messages (a path).
 * Returns 0 with *out set (free with result_doc_free), or a negative enum rr_err with
 * one line in err (capacity err_len).
 */
int result_read_mem(const char *doc, size_t len, const char *label, struct result_doc **out,
                    char *err, size_t err_len);

/* Reads and parses the file at path ("-" is not special).  As result_read_mem. */
int result_read_file(const char *path, struct result_doc **out, char *err, size_t err_len);

/* result_doc_free(NULL) does nothing. */
void result_doc_free(struct result_doc *d);

/* Reads a whole file into a malloc'd buffer of at most max bytes (NUL-terminated).
 * Returns 0, RR_EIO (with err: cannot open / read / too big) or RR_ENOMEM. */
int result_slurp(const char *path, size_t max, char **data, size_t *len, char *err, size_t err_len);

#endif
