/*
 * summary — the end-of-test summary a person reads in the terminal, in the spirit of
 * k6's compact summary (docs/metrics.md shows an example).
 *
 * It prints, in order: a header (what ran: the URL or the scenarios, executor and model,
 * VUs or rate, planned and measured length, threads, interrupted/aborted); the
 * THRESHOLDS block (✓/✗, the expression and the observed value, grouped under each
 * metric expression); the metrics grouped CHECKS / HTTP / EXECUTION / NETWORK / ERRORS
 * with k6's dot leaders (metrics with no samples are left out); for open-model runs the
 * target and achieved rate; and the run's warnings.  Per-tag-set lines are left out,
 * except http_req_duration per `name` tag when there are several names and the error
 * count per `kind`.  The full detail is in the result file (output/result.h).
 */
#ifndef BRUNT_OUTPUT_SUMMARY_H
#define BRUNT_OUTPUT_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/run.h"
#include "output/runinfo.h"

/* At most this many per-name http_req_duration lines; the rest are counted. */
#define SUMMARY_MAX_NAMES 30

/*
 * Prints the summary of r to f.  color: use ANSI colours and dimmed dot leaders (the
 * caller decides, normally only when f is a terminal and NO_COLOR is unset).  Output is
 * UTF-8 (✓, ✗, µs).  Reads r->total and r->thresholds without changing them.  Write
 * errors on f are the caller's to check (ferror).  The coordinator thread, after the run.
 */
void summary_print(FILE *f, const struct run_report *r, bool color);
/* The same with what the CLI knows beyond the report (info may be NULL): the header
 * names the scenario file's test (its name:) and the run-wide tags. */
void summary_print_info(FILE *f, const struct run_report *r, const struct run_info *info,
                        bool color);

#endif
