/*
 * report_internal — what the renderers of report/ share (report/text.c) and nothing
 * outside report/ uses.
 */
#ifndef BRUNT_REPORT_REPORT_INTERNAL_H
#define BRUNT_REPORT_REPORT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/dynbuf.h"
#include "core/text.h" /* text_xml_escape */
#include "report/report.h"

/* What the run was aimed at: the URL, or "the scenario". */
const char *rt_title(const struct report_model *m);
/* "closed model (ramping-vus), 50 VUs at most, for 20.00s, 2 worker threads". */
void rt_load_config(const struct report_model *m, char *out, size_t cap);
/* A breakpoint ramp's finding as a sentence (m->bp_present), e.g. "http_req_latency
 * p(95)<300 (observed 607.9) broke at an arrival rate of 143.1/s with 37 VUs, 13.8 s into
 * the breakpoint ramp 'ramp' (to 300/s); 133.4/s held a second before". */
void rt_breakpoint(const struct report_model *m, char *out, size_t cap);
/* The executive summary as plain sentences.  0, or the dynbuf's error. */
int rt_summary(const struct report_model *m, struct dynbuf *b);
/* True when a "probes" member's name starts with prefix. */
bool rt_has_probe(const struct report_model *m, const char *prefix);
/* One line per source that was not measured, with how to measure it. */
size_t rt_not_measured(const struct report_model *m, char lines[][160], size_t cap);
/*
 * The optimisation plan: indexes into m->findings (ranked: severity, then impact) of the
 * critical and warning findings among the first n_listed (those the report lists, so
 * every step cites a finding the reader can see), one per distinct recommendation, at
 * most cap.
 */
size_t rt_plan(const struct report_model *m, size_t n_listed, size_t *steps, size_t cap);
/* Prometheus alert rules (YAML) derived from the run. */
int rt_alert_rules(const struct report_model *m, struct dynbuf *b);

/* Reading a probe's member (report/jtree.h): obj.a (.b when b is not NULL), or NULL. */
struct jtree;
struct jnode;
const struct jnode *report__jpath(const struct jtree *t, const struct jnode *obj, const char *a,
                                  const char *b);
/* The number at n, or NAN when n is absent, null or not a number. */
double report__jval(const struct jnode *n);
/* The number at obj.a (.b), or NAN. */
double report__jnum(const struct jtree *t, const struct jnode *obj, const char *a, const char *b);
/* A headline figure of a probe's section: data-fig name ("" for text only), label, raw
 * value (NAN for text only) and its text. */
struct report_pfig {
    char name[48], label[64];
    double raw;
    char text[200];
};
#define REPORT_MAX_PFIGS 16
/* The figures of probes.postgres / probes.redis (report/probefigs.c); returns how many. */
size_t report__pg_figures(const struct jtree *t, const struct jnode *p, struct report_pfig *out,
                          size_t cap);
size_t report__redis_figures(const struct jtree *t, const struct jnode *p, struct report_pfig *out,
                             size_t cap);
/* The figures of probes.profile / probes.pprof (name: the member's name), heap included. */
size_t report__profile_figures(const struct jtree *t, const struct jnode *p, const char *name,
                               struct report_pfig *out, size_t cap);

/* "1.50 MiB", "12.3 KiB", "512 B"; "—" for NAN. */
void report_fmt_bytes(double bytes, char *out, size_t cap);

#endif
