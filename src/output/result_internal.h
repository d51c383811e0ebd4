/*
 * result_internal — what the parts of the result writer share (output/result*.c): the
 * small formatters and the writers of each top-level member.  result.c drives the one
 * pass (result_to_json_info); each member's writer is in a file of its own.  Internal
 * to output/; one thread per document.
 */
#ifndef BRUNT_OUTPUT_RESULT_INTERNAL_H
#define BRUNT_OUTPUT_RESULT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "metrics/hist.h"
#include "metrics/registry.h"
#include "output/result.h"
#include "output/runinfo.h"

void result__put_time(struct jsonw *w, uint64_t wall_ns);

double result__ns_to_ms(uint64_t ns);

/* A trend value (ns in the histogram) in the unit users read: ms for time trends, and
 * the plain number for a custom trend, which keeps v as v * 1e6 (scenario/custom.h). */
double result__trend_unit(int metric, double ns);

bool result__series_has_samples(const struct series *s);

void result__put_options(struct jsonw *w, const struct plan *p);

void result__put_meta(struct jsonw *w, const struct run_report *r, const struct run_info *info);

/* Canonical tags "k=v\x1fk2=v2" as a JSON object. */
void result__put_tags(struct jsonw *w, const char *tags);

int result__put_metrics(struct jsonw *w, const struct run_report *r);

int result__put_timeseries(struct jsonw *w, const struct run_report *r);

/* analysis.breakpoint: a breakpoint ramp's finding, or null (output/result_breakpoint.c). */
void result__put_breakpoint(struct jsonw *w, const struct run_report *r);

#endif
