/*
 * report — the analysis report: a result document (docs/result-format.md) read into a
 * model, the analysis derived from it, and four renderers (Markdown for pull requests,
 * self-contained HTML with inline SVG charts, JUnit XML for CI, CSV of the one-second
 * series).  docs/report.md describes what each section shows and where each figure
 * comes from.
 *
 * Reading (report_read) validates the whole document (core/json.h), checks the schema
 * version, and copies what the renderers use into a struct report_model that owns its
 * memory; nothing points into the document afterwards.  Sections are optional: the
 * members other parts of brunt add (per-request histograms, "criteria", "probes" with
 * their "findings", per-second probe figures) are read when present and their absence
 * is recorded, so each renderer can say what was not measured and how to measure it.
 * report_analyze (called by report_read) derives brunt's own findings (generator
 * saturation, missed rate, errors, queueing, the dominant request), the maximum
 * throughput held and the breaking point, from the measured figures only.
 *
 * Renderers write into a caller's dynbuf and do no I/O; report_write_file() renders
 * and puts the file on disk atomically (temp file + fsync + rename).  Library layer: no
 * printing; errors come back as one line in err.  One thread at a time per model.
 */
#ifndef BRUNT_REPORT_REPORT_H
#define BRUNT_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "probe/probe.h"

/* The result schema versions this reader renders. */
#define REPORT_SCHEMA_MIN 1
#define REPORT_SCHEMA_MAX 1

/* Caps on what a document may make the model hold. */
#define REPORT_MAX_DOC_BYTES (512u * 1024u * 1024u)
#define REPORT_MAX_METRICS 256
#define REPORT_MAX_REQUESTS 1024
#define REPORT_MAX_CHECKS 256
#define REPORT_MAX_ROWS (7u * 24u * 3600u) /* a week of seconds */
#define REPORT_MAX_FINDINGS 128
#define REPORT_MAX_WARNINGS 16
#define REPORT_MAX_ERROR_KINDS 16
#define REPORT_MAX_STAGES 64
#define REPORT_MAX_PROBES 16
#define REPORT_SPECTRUM_MAX 128
#define REPORT_MAX_EXTRA_COLS 32
#define REPORT_MAX_VERDICTS 18

/* Errors report_read returns (each with one line in err). */
enum report_err {
    REPORT_ENOTJSON = -1001,  /* not JSON at all, or malformed (err has the byte offset) */
    REPORT_ETRUNC = -1002,    /* valid up to its end, which came too early */
    REPORT_ESCHEMA = -1003,   /* not a brunt result, or a version this reader does not know */
    REPORT_ENOSAMPLES = -1004 /* a result of a run that measured no request */
};

/* A trend's summary values (ms for time trends); NAN where the document had none. */
struct report_trend {
    double count, avg, min, med, max, p90, p95, p99, p999, stddev;
};

struct report_metric {
    char name[64];
    char type[12];     /* counter | gauge | rate | trend */
    char contains[12]; /* default | time | data */
    /* values by type (NAN when absent) */
    double count, rate, value, min, max, passes, fails;
    struct report_trend trend;
};

/* One request name: http_req_duration and http_req_failed series summed over tags. */
struct report_request {
    char name[256];
    char method[16];
    uint64_t count;  /* requests: http_reqs by name (failed ones without a response too) */
    uint64_t failed; /* http_req_failed non-zero samples */
    double p50_ms, p95_ms, p99_ms, max_ms, avg_ms;
    double total_ms; /* sum of durations: its share of the time spent in requests */
};

/* A threshold or success criterion with its verdict. */
struct report_check {
    char metric[160];    /* as written, tag filter included */
    char expression[96]; /* "p(95)<300"; for a criterion its target ("<200") */
    char acceptable[64]; /* a criterion's acceptable level ("<300"), else "" */
    char source[12];     /* "threshold" or "criterion" */
    bool ok, evaluated, no_samples, abort_on_fail;
    bool warn;            /* passed, but within 10% of its limit (or not evaluated) */
    bool acceptable_only; /* a criterion that met its acceptable level, not its target */
    double observed;      /* NAN when not evaluated */
    double limit;         /* the expression's number, NAN when it has none */
    char op[3];           /* "<", "<=", ">", ">=", "==", "!=" or "" */
    char unit[4];         /* "ms" for time trends' aggregates, "%" for rates, "" else */
};

/* A trend verdict of the watch (issue 8): the leak fit of a target's memory, the drift of
 * p95 latency and of the error rate over the steady window (docs/metrics.md). */
struct report_verdict {
    char what[96];    /* "memory of gunicorn", "p95 latency per second" */
    char verdict[24]; /* "growing", "flat", "insufficient data" */
    char evidence[320];
    double slope;  /* per hour, in unit; NAN when absent */
    char unit[16]; /* "MiB/h", "ms/h", "/h" */
};

struct report_row {
    uint32_t t;
    char time[32];
    double vus, vus_max, http_reqs, rps, failed, iterations, dropped, data_sent, data_received,
        errors;
    struct report_trend duration, latency; /* count, avg, med, p90, p95, p99, max */
    double extra[REPORT_MAX_EXTRA_COLS];   /* numeric per-second members beyond the above */
};

/* One point of a percentile spectrum: the value at percentile p (0..1). */
struct report_spectrum_pt {
    double p, value_ms;
};

struct report_spectrum {
    size_t n;
    struct report_spectrum_pt pts[REPORT_SPECTRUM_MAX];
};

/* A "probes" member: its name and which kind of section it fills. */
struct report_probe {
    char name[32];
    size_t n_findings;
    char *json; /* the probe's member as written (owned), for its tables; may be NULL */
    size_t json_len;
    /* A profile's flame graph: the member's files.svg as written ("" for none), and its
     * contents once report_load_flames() read them (owned; NULL until then). */
    char flame_path[512];
    char *flame_svg;
    size_t flame_svg_len;
};

struct report_model {
    int schema; /* the N of "brunt-result/N" */
    /* meta */
    char version[32], command[1024], start[40], end[40], hostname[128], kernel[96];
    double duration_ms;
    int cores;
    bool interrupted, aborted;
    char abort_reason[256];
    int exit_code;
    double cpu_user_ms, cpu_system_ms, max_worker_busy; /* NAN when absent */
    /* options (NAN / "" when null) */
    char url[512], method[16], model[16], executor[40];
    double threads, connections, max_vus, rate, opt_duration_ms, opt_requests, pipeline;
    size_t n_stages;
    struct {
        double duration_ms, target;
    } stages[REPORT_MAX_STAGES];
    size_t n_scenarios;
    /* metrics */
    struct report_metric *metrics;
    size_t n_metrics;
    struct report_request *requests; /* sorted by total_ms, largest first */
    size_t n_requests;
    bool per_request_from_series; /* false: one unnamed aggregate row */
    struct report_check *checks;  /* thresholds, then criteria */
    size_t n_checks, n_thresholds, n_criteria;
    bool has_criteria; /* the document has a "criteria" member */
    struct report_row *rows;
    size_t n_rows;
    double interval_ms;
    char extra_names[REPORT_MAX_EXTRA_COLS][48];  /* per-second extra numeric members */
    bool extra_from_watch[REPORT_MAX_EXTRA_COLS]; /* a row's "watch" figure ("fig{label}") */
    size_t n_extra;
    struct report_spectrum spectrum_duration, spectrum_latency;
    struct {
        char kind[24];
        double count;
    } errors[REPORT_MAX_ERROR_KINDS];
    size_t n_error_kinds;
    double errors_total;
    char warnings[REPORT_MAX_WARNINGS][256];
    size_t n_warnings;
    struct report_probe probes[REPORT_MAX_PROBES];
    size_t n_probes;
    bool has_probes;                              /* the document has a "probes" object */
    struct finding findings[REPORT_MAX_FINDINGS]; /* ranked: severity, then impact */
    struct report_verdict verdicts[REPORT_MAX_VERDICTS];
    size_t n_verdicts;
    size_t n_findings;
    /* derived by report_analyze */
    double total_requests, total_failed, failed_rate, achieved_rps;
    double held_rps;      /* the highest rate held for a window with errors <= 1% */
    double held_window_s; /* that window's length */
    bool breaking_found;
    uint32_t breaking_t;
    double breaking_rps, breaking_vus, breaking_err_rate;
    char breaking_what[160]; /* "errors passed 1%" */
    bool objectives_met;     /* every threshold and criterion passed */
    /* A breakpoint ramp's own finding (analysis.breakpoint of the result, read as is):
     * the arrival rate it broke at and the rate a second before, iterations/s. */
    bool bp_present, bp_broke;
    char bp_scenario[64];
    double bp_peak, bp_t_s, bp_reached, bp_broke_at, bp_held, bp_vus;
    char bp_what[240]; /* "http_req_latency p(95)<300 (observed 607.9)", joined by "; " */
};

/*
 * Reads the result document doc[0..len) into *m (zero it first is not needed; free with
 * report_model_free, also after a failure).  Returns 0, -ENOMEM, or one of enum
 * report_err with one line in err saying what is wrong and where.
 */
int report_read(const char *doc, size_t len, struct report_model *m, char *err, size_t err_len);
void report_model_free(struct report_model *m);

/* Derives the findings, held throughput and breaking point (report_read calls it). */
void report_analyze(struct report_model *m);

/* The metric named name, or NULL. */
const struct report_metric *report_metric(const struct report_model *m, const char *name);

enum report_format { REPORT_NONE, REPORT_MD, REPORT_HTML, REPORT_JUNIT, REPORT_CSV };

/* The format a path's extension asks for (.md .markdown, .html .htm, .xml, .csv). */
enum report_format report_format_from_path(const char *path);
const char *report_format_name(enum report_format f);

/* GitHub's limit on a pull-request comment body, in characters. */
#define REPORT_MD_MAX_CHARS 65536

/*
 * Renderers: append the report to out.  Return 0 or -ENOMEM / -E2BIG (out's cap).
 * report_md keeps its output under REPORT_MD_MAX_CHARS characters, shortening the
 * longest tables (and saying so in the text) when the whole would not fit.
 */
/* The largest flame-graph SVG report_load_flames() reads into a report. */
#define REPORT_FLAME_MAX_BYTES (8u << 20)

/*
 * Reads the flame graph SVG each profile probe names (probes.NAME.files.svg) into m, so
 * the HTML report shows it: the path as written (relative to the working directory, as
 * brunt run writes it), else relative to the directory of doc_path (the result file;
 * may be NULL), else its file name in that directory (the files lie beside the result).  A file that is missing, unreadable or over REPORT_FLAME_MAX_BYTES is
 * left out (the report then names the path only).  Returns how many were read.
 */
size_t report_load_flames(struct report_model *m, const char *doc_path);

int report_md(const struct report_model *m, struct dynbuf *out);
int report_html(const struct report_model *m, struct dynbuf *out);
int report_junit(const struct report_model *m, struct dynbuf *out);
int report_csv(const struct report_model *m, struct dynbuf *out);
int report_render(const struct report_model *m, enum report_format f, struct dynbuf *out);

/*
 * Renders m in the format path's extension names and writes path atomically
 * (path.tmp.<pid>, fsync, rename, fsync of the directory; the temporary file removed on
 * failure, so path is either untouched or complete).  Returns 0, or -1 with one line in
 * err (unknown extension, cannot create or write the file).
 */
int report_write_file(const char *path, const struct report_model *m, char *err, size_t err_len);

/*
 * Writes data[0..len) to path atomically, as above (core/file.h).  Returns 0 or a
 * negative errno with one line in err naming the path.
 */
int report_atomic_write(const char *path, const char *data, size_t len, char *err, size_t err_len);

/* Formatting shared by the renderers (report/fmt.c). */
void report_fmt_ms(double ms, char *out, size_t cap);      /* "850µs" "2.31ms" "1.50s" */
void report_fmt_num(double v, char *out, size_t cap);      /* "1,234,567" / "12.3" */
void report_fmt_rate(double per_s, char *out, size_t cap); /* "1,850 req/s" */
void report_fmt_pct(double share, char *out, size_t cap);  /* 0.0123 -> "1.23%" */
/* The observed value of a check as a person reads it ("412ms", "1.2%", "93.5"). */
void report_fmt_check_value(const struct report_check *c, double v, char *out, size_t cap);
const char *report_severity_name(enum finding_severity s);

#endif
