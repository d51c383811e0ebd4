/*
 * svg — inline SVG line and bar charts for the HTML report (report/svg.c).  Writes
 * into a caller's dynbuf; no I/O.  Internal to report/.
 */
#ifndef BRUNT_REPORT_SVG_H
#define BRUNT_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dynbuf.h"

#define SVG_MAX_LINES 8
#define SVG_MAX_POINTS 900

struct svg_line {
    const char *name, *color;
    const double *y; /* n values; NAN = no point */
    bool dashed;
    bool mean; /* downsample by mean (rates), else by max (latency) */
};

struct svg_tick {
    double x;
    const char *label;
};

struct svg_chart {
    const char *id, *title, *x_label, *y_label, *note;
    const double *x; /* n values */
    size_t n;
    struct svg_line lines[SVG_MAX_LINES];
    size_t n_lines;
    const struct svg_tick *x_ticks; /* NULL: numeric ticks */
    size_t n_x_ticks;
};

struct svg_bars {
    const char *id, *title, *x_label;
    const char *const *labels; /* n rows */
    size_t n;
    const double *values; /* n x n_sets, row-major */
    const char *set_names[4], *colors[4];
    size_t n_sets;
};

/* Each returns 0 or nonzero when the buffer's cap was reached. */
int svg_line_chart(struct dynbuf *b, const struct svg_chart *c);
int svg_bar_chart(struct dynbuf *b, const struct svg_bars *c);

#endif
