/*
 * html_internal — what the HTML renderer's files share (report/html.c, the page and its
 * core sections; report/html_probes.c, the probes' panels).  Internal to report/.
 */
#ifndef BRUNT_REPORT_HTML_INTERNAL_H
#define BRUNT_REPORT_HTML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dynbuf.h"
#include "report/report.h"
#include "report/svg.h"

/* The page being written: its buffer, the first error (sticky), the charts' data. */
struct hb {
    struct dynbuf *b;
    int rc;
    struct dynbuf js; /* the charts' data for the interactive layer: {"charts":[...]} */
    size_t n_js;
};

void html__put(struct hb *h, const char *s);
void html__putf(struct hb *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as HTML text (also inside attribute values). */
void html__esc(struct hb *h, const char *s);
/* A figure: the formatted text with its raw value in data-fig / data-value. */
void html__fig(struct hb *h, const char *name, double raw, const char *text);
/* A line chart both ways: the static SVG, and its data for the interactive layer. */
void html__chart(struct hb *h, const struct svg_chart *c, bool log_percentile);

/*
 * The probes' section: a panel per probe the result holds (PostgreSQL, Redis, the
 * watched processes, the machine, the profile), each with its figures, its per-second
 * charts and its findings with their evidence; a probe this renderer does not know gets
 * its scalar members and tables.  Nothing when the run had no probe.
 */
void html__probes(struct hb *h, const struct report_model *m);

#endif
