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

/* "512 B", "1.5 KiB", "12.3 MiB", "2.00 GiB". */
void dbutil_fmt_bytes(double v, char *out, size_t cap);

/*
 * Copies a connection string into out (cap bytes, NUL-terminated) with every password
 * replaced by "***": the user:password@ of a URL (postgresql://, redis://, ...) and a
 * password=... pair of a keyword/value string (quoted or not).
 */
void dbutil_redact(const char *conn, char *out, size_t cap);

#endif
