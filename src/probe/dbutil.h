/*
 * dbutil — what the PostgreSQL and Redis probes share: recording one-second figures
 * into the interval's registry, writing findings as JSON, summary rows in the house
 * layout (the dotted label column of output/summary.c), byte sizes for people, and
 * redacting secrets out of a connection string.
 *
 * Internal to probe/; nothing here prints except the summary helpers, which write to
 * the FILE they are given (the summary op's).  Any thread.
 */
#ifndef BRUNT_PROBE_DBUTIL_H
#define BRUNT_PROBE_DBUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/json.h"
#include "metrics/registry.h"
#include "probe/probe.h"

/* Defines a metric, or returns -1 (the figure is then not recorded) when it cannot be
 * defined: a name clash with another type is a programming error seen in the tests. */
int dbutil_define(const char *name, enum metric_type type, enum metric_contains contains,
                  const char *desc);

/* Records into the untagged series of metric (nothing when metric < 0 or reg NULL). */
void dbutil_count(struct registry *reg, int metric, double v);
void dbutil_gauge(struct registry *reg, int metric, double v);
/* Trends take v in the metric's shown unit (a count, a percentage). */
void dbutil_trend(struct registry *reg, int metric, double v);
void dbutil_rate(struct registry *reg, int metric, uint64_t trues, uint64_t total);

/* snprintf that truncates silently (messages into fixed fields are meant to be cut). */
int dbutil_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "info", "warning", "critical". */
const char *dbutil_severity_name(enum finding_severity s);

/* Writes the "findings" member: an array of n findings (probe_findings_json). */
void dbutil_findings_json(struct jsonw *w, const struct finding *f, size_t n);

/* "    label.........: value\n", the dots dimmed when color. */
void dbutil_row(FILE *f, bool color, int indent, const char *label, const char *value);

/* Prints findings under a "findings" heading (nothing when n == 0). */
void dbutil_print_findings(FILE *f, bool color, const struct finding *fs, size_t n);

/*
 * Adds one note to field (cap bytes, NUL-terminated): notes accumulate "; "-separated,
 * each once, up to the field's size (what no longer fits is dropped).
 */
void dbutil_vnote(char *field, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Copies up to cap of the n findings kept into out; returns how many (the findings op). */
size_t dbutil_findings_copy(const struct finding *kept, size_t n, struct finding *out, size_t cap);

/* The summary section's heading "\n  WHAT SHOWN VERSION" and, when the probe measured
 * nothing, "not measured: ERROR".  Returns available (print the rest when true). */
bool dbutil_summary_head(FILE *f, const char *what, const char *shown, const char *version,
                         bool available, const char *error);

/* The JSON members every database probe has: "available" and "error" (null when ""). */
void dbutil_json_status(struct jsonw *w, bool available, const char *error);
/* ... and, when available, "duration_s", "restarts" and "lost_samples". */
void dbutil_json_run(struct jsonw *w, double duration_s, int restarts, uint64_t lost_samples);

/*
 * The "series" member's object, columnar: a key per column, each an array over nrows
 * rows.  Column 0 is "t_s" (seconds, rounded to ms), the rest unsigned counts; row(rows,
 * i, v) returns row i's t_s and fills v[1..ncols-1].  ncols is at most 16.
 */
typedef double (*dbutil_row_fn)(const void *rows, size_t i, uint64_t *v);
void dbutil_series_json(struct jsonw *w, const char *const *cols, size_t ncols, const void *rows,
                        size_t nrows, dbutil_row_fn row);

/* "512 B", "1.5 KiB", "12.3 MiB", "2.00 GiB". */
void dbutil_fmt_bytes(double v, char *out, size_t cap);

/*
 * Copies a connection string into out (cap bytes, NUL-terminated) with every password
 * replaced by "***": the user:password@ of a URL (postgresql://, redis://, ...) and a
 * password=... pair of a keyword/value string (quoted or not).
 */
void dbutil_redact(const char *conn, char *out, size_t cap);

#endif
