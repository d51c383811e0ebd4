/*
 * svg — static charts as inline SVG for the HTML report, so the charts read where
 * scripts are blocked (a CI server's content policy) and the page needs no network.
 *
 * A line chart takes up to SVG_MAX_LINES series over one x axis (seconds, or the
 * percentile spectrum's log 1/(1-p)) and downsamples to at most SVG_MAX_POINTS per
 * line: each bucket keeps its largest value for latency-like series (a spike stays
 * visible) or its mean for rates.  Coordinates are written with one decimal, which
 * keeps a one-hour run's page well under a megabyte.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"
#include "report/svg.h"

#define W 760.0
#define H 250.0
#define ML 62.0 /* margins: left (y labels), right, top, bottom (x labels) */
#define MR 14.0
#define MT 28.0
#define MB 40.0

/* A "nice" step (1, 2 or 5 x 10^k) giving about n ticks over span. */
static double nice_step(double span, int n)
{
    if (!(span > 0)) {
        return 1;
    }
    double raw = span / n, e = pow(10, floor(log10(raw))), f = raw / e;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * e;
}

static void fmt_tick(double v, char *out, size_t cap)
{
    if (fabs(v) >= 1e6) {
        snprintf(out, cap, "%.3gM", v / 1e6);
    } else if (fabs(v) >= 1e4) {
        snprintf(out, cap, "%.3gk", v / 1e3);
    } else {
        snprintf(out, cap, "%g", v);
    }
}

int svg_line_chart(struct dynbuf *b, const struct svg_chart *c)
{
    int rc = 0;
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (isfinite(c->x[i])) {
            xmin = c->x[i] < xmin ? c->x[i] : xmin;
            xmax = c->x[i] > xmax ? c->x[i] : xmax;
        }
        for (size_t k = 0; k < c->n_lines; k++) {
            double v = c->lines[k].y[i];
            if (isfinite(v) && v > ymax) {
                ymax = v;
            }
        }
    }
    if (!isfinite(xmin)) {
        xmin = 0;
        xmax = 1;
    }
    if (xmax <= xmin) {
        xmax = xmin + 1;
    }
    double ystep = nice_step(ymax > 0 ? ymax : 1, 5);
    double ytop = ystep * ceil((ymax > 0 ? ymax : 1) / ystep);
    if (ymax > 0.97 * ytop) {
        ytop += ystep; /* a line at the very top would sit on the frame */
    }
    double pw = W - ML - MR, ph = H - MT - MB;
#define SX(x) (ML + ((x)-xmin) / (xmax - xmin) * pw)
#define SY(y) (MT + ph - (y) / ytop * ph)
    rc |= dynbuf_addf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", c->id);
    rc |= text_xml_escape(b, c->title);
    rc |= dynbuf_addf(b,
                      "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
                      "%.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
                      W, H, W, H);
    rc |= text_xml_escape(b, c->title);
    rc |= dynbuf_addf(b, "\"><rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>",
                      W, H);
    /* grid and y labels */
    for (double y = 0; y <= ytop + ystep / 2; y += ystep) {
        char t[32];
        fmt_tick(y, t, sizeof t);
        rc |=
            dynbuf_addf(b,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                        "fill=\"#555\">%s</text>",
                        ML, SY(y), W - MR, SY(y), ML - 6, SY(y) + 4, t);
    }
    /* x ticks */
    if (c->x_ticks != NULL) {
        for (size_t i = 0; i < c->n_x_ticks; i++) {
            double x = c->x_ticks[i].x;
            if (x < xmin || x > xmax) {
                continue;
            }
            rc |= dynbuf_addf(b,
                              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"#e3e3e3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                              "text-anchor=\"middle\" fill=\"#555\">",
                              SX(x), MT, SX(x), MT + ph, SX(x), MT + ph + 15);
            rc |= text_xml_escape(b, c->x_ticks[i].label);
            rc |= dynbuf_adds(b, "</text>");
        }
    } else {
        double xs = nice_step(xmax - xmin, 8);
        for (double x = ceil(xmin / xs) * xs; x <= xmax + xs / 1000; x += xs) {
            char t[32];
            fmt_tick(x, t, sizeof t);
            rc |= dynbuf_addf(b,
                              "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                              "text-anchor=\"middle\" fill=\"#555\">%s</text>",
                              SX(x), MT + ph + 15, t);
        }
    }
    rc |= dynbuf_addf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                      "fill=\"#333\">",
                      ML, MT + ph, W - MR, MT + ph, ML + pw / 2, H - 6);
    rc |= text_xml_escape(b, c->x_label);
    rc |= dynbuf_addf(b,
                      "</text><text x=\"12\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                      "fill=\"#333\" transform=\"rotate(-90 12 %.1f)\">",
                      MT + ph / 2, MT + ph / 2);
    rc |= text_xml_escape(b, c->y_label);
    rc |= dynbuf_adds(b, "</text>");
    /* lines, downsampled */
    size_t step = c->n > SVG_MAX_POINTS ? (c->n + SVG_MAX_POINTS - 1) / SVG_MAX_POINTS : 1;
    for (size_t k = 0; k < c->n_lines && rc == 0; k++) {
        const struct svg_line *l = &c->lines[k];
        rc |= dynbuf_addf(b,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s "
                          "points=\"",
                          l->color, l->dashed ? " stroke-dasharray=\"5 3\"" : "");
        for (size_t i = 0; i < c->n && rc == 0; i += step) {
            double sum = 0, best = -INFINITY, xs = 0;
            size_t cnt = 0;
            for (size_t j = i; j < i + step && j < c->n; j++) {
                double v = l->y[j];
                if (isfinite(v) && isfinite(c->x[j])) {
                    sum += v;
                    best = v > best ? v : best;
                    xs += c->x[j];
                    cnt++;
                }
            }
            if (cnt == 0) {
                continue;
            }
            double y = l->mean ? sum / (double)cnt : best;
            rc |= dynbuf_addf(b, "%.1f,%.1f ", SX(xs / (double)cnt), SY(y));
        }
        rc |= dynbuf_adds(b, "\"><title>");
        rc |= text_xml_escape(b, l->name);
        rc |= dynbuf_adds(b, "</title></polyline>");
    }
    /* legend */
    double lx = ML + 8;
    for (size_t k = 0; k < c->n_lines; k++) {
        rc |= dynbuf_addf(b,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"3\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">",
                          lx, 8.0, c->lines[k].color, lx + 18, 13.0);
        rc |= text_xml_escape(b, c->lines[k].name);
        rc |= dynbuf_adds(b, "</text>");
        lx += 30 + 6.5 * (double)strlen(c->lines[k].name);
    }
    rc |= dynbuf_adds(b, "</svg>");
    if (c->note != NULL && c->note[0]) {
        rc |= dynbuf_adds(b, "<p class=\"note\">");
        rc |= text_xml_escape(b, c->note);
        rc |= dynbuf_adds(b, "</p>");
    }
    rc |= dynbuf_adds(b, "</figure>\n");
#undef SX
#undef SY
    return rc;
}

int svg_bar_chart(struct dynbuf *b, const struct svg_bars *c)
{
    int rc = 0;
    double vmax = 0;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->n_sets; k++) {
            double v = c->values[i * c->n_sets + k];
            vmax = isfinite(v) && v > vmax ? v : vmax;
        }
    }
    double step = nice_step(vmax > 0 ? vmax : 1, 5);
    double top = step * ceil((vmax > 0 ? vmax : 1) / step);
    double label_w = 230, row_h = 8.0 * (double)c->n_sets + 8, ph = row_h * (double)c->n;
    double h = ph + 50, pw = W - label_w - MR;
    rc |= dynbuf_addf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", c->id);
    rc |= text_xml_escape(b, c->title);
    rc |= dynbuf_addf(b,
                      "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
                      "%.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
                      W, h, W, h);
    rc |= text_xml_escape(b, c->title);
    rc |= dynbuf_addf(b, "\"><rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>",
                      W, h);
    for (double v = 0; v <= top + step / 2; v += step) {
        char t[32];
        double x = label_w + v / top * pw;
        fmt_tick(v, t, sizeof t);
        rc |= dynbuf_addf(b,
                          "<line x1=\"%.1f\" y1=\"20\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                          "fill=\"#555\">%s</text>",
                          x, x, 20 + ph, x, 20 + ph + 14, t);
    }
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        double y0 = 20 + row_h * (double)i + 4;
        char name[48];
        snprintf(name, sizeof name, "%.44s%s", c->labels[i], strlen(c->labels[i]) > 44 ? "…" : "");
        rc |= dynbuf_addf(b,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                          "fill=\"#333\">",
                          label_w - 6, y0 + row_h / 2);
        rc |= text_xml_escape(b, name);
        rc |= dynbuf_adds(b, "</text>");
        for (size_t k = 0; k < c->n_sets; k++) {
            double v = c->values[i * c->n_sets + k];
            if (!isfinite(v)) {
                continue;
            }
            rc |= dynbuf_addf(b,
                              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"7\" "
                              "fill=\"%s\"><title>%g</title></rect>",
                              label_w, y0 + 8.0 * (double)k, v / top * pw, c->colors[k], v);
        }
    }
    double lx = label_w;
    for (size_t k = 0; k < c->n_sets; k++) {
        rc |= dynbuf_addf(b,
                          "<rect x=\"%.1f\" y=\"6\" width=\"14\" height=\"7\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"13\" font-size=\"11\" fill=\"#333\">",
                          lx, c->colors[k], lx + 18);
        rc |= text_xml_escape(b, c->set_names[k]);
        rc |= dynbuf_adds(b, "</text>");
        lx += 40 + 6.5 * (double)strlen(c->set_names[k]);
    }
    rc |= dynbuf_addf(b,
                      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                      "fill=\"#333\">",
                      label_w + pw / 2, h - 4);
    rc |= text_xml_escape(b, c->x_label);
    rc |= dynbuf_adds(b, "</text></svg></figure>\n");
    return rc;
}
