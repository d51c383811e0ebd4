/*
 * prom — the live Prometheus endpoint of `brunt run --prometheus ADDR`: GET /metrics in
 * the text exposition format (0.0.4) while the run goes on.
 *
 * The engine's coordinator calls prom_tick() once a second (struct run_options' tick
 * hook) with the run so far; prom_tick renders every series of the run's registry —
 * brunt's counters, gauges, rates and trends, the probes' figures and custom metrics
 * alike — into a fresh text and swaps it in under a mutex.  A thread of its own
 * accepts scrapes on a loopback or any address and answers each with the latest text,
 * so a slow scraper never delays the coordinator, and the coordinator's only cost is
 * rendering once a second.
 *
 * Names: by default brunt_<metric>[_unit][_total]; time trends are histograms in
 * seconds (buckets chosen for latency, with every threshold's limit on a time trend
 * among the edges) per tag set, so per request name.  With k6 naming
 * (PROM_NAMES_K6), the names k6's Prometheus remote-write output uses — k6_<metric>_total
 * for counters, k6_<metric> for gauges, k6_<metric>_rate for rates and
 * k6_<metric>_{avg,min,med,max,p90,p95,p99} gauges for trends (seconds for time) — so the
 * Grafana dashboards k6 users have keep working.  Tags become labels (names sanitised to
 * [a-zA-Z0-9_]).
 *
 * Left out: TLS, authentication, gzip, remote write (Prometheus scrapes us).
 */
#ifndef BRUNT_OUTPUT_PROM_H
#define BRUNT_OUTPUT_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "engine/run.h"

enum prom_names { PROM_NAMES_BRUNT, PROM_NAMES_K6 };

/* The largest exposition text served (a run with more series is cut, with a comment). */
#define PROM_MAX_TEXT (32u * 1024u * 1024u)
#define PROM_MAX_BOUNDS 64

struct prom;

/*
 * Starts listening on addr ("HOST:PORT", "[V6]:PORT" or ":PORT" for every address; port 0
 * picks a free one) and serving /metrics on a thread of its own.  extra_bounds_s are
 * added to the latency buckets (the thresholds' limits, in seconds).  Until the first
 * prom_tick /metrics answers with brunt_up 1 only.  Returns 0 with *out set, or a
 * negative errno with one line in err (bad address, cannot listen).
 */
int prom_start(const char *addr, enum prom_names names, const double *extra_bounds_s,
               size_t n_extra, struct prom **out, char *err, size_t err_len);

/* The port it listens on (useful with port 0). */
uint16_t prom_port(const struct prom *p);

/* A run_tick_cb (data is the struct prom *): renders r's totals for the next scrapes.
 * Coordinator thread; also called once more by the CLI with the final report. */
void prom_tick(const struct run_report *r, void *data);

/*
 * Renders the exposition text of r into out (no I/O; for prom_tick and tests).
 * Returns 0 or the buffer's error.
 */
int prom_render(const struct run_report *r, enum prom_names names, const double *bounds_s,
                size_t n_bounds, struct dynbuf *out);

/* Stops the thread, closes the socket and frees p.  prom_stop(NULL) does nothing. */
void prom_stop(struct prom *p);

#endif
