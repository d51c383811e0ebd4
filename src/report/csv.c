/*
 * csv — the one-second time series as CSV (RFC 4180: comma-separated, CRLF line ends,
 * a header row): one row per second with the counters, VUs and the per-second
 * quantiles of http_req_duration and http_req_latency in milliseconds, then any numeric
 * per-second members other parts of brunt add (probe figures), under their own names.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

static int num(struct dynbuf *b, double v)
{
    if (!isfinite(v)) {
        return dynbuf_adds(b, ",");
    }
    return dynbuf_addf(b, ",%.15g", v);
}

static int trend(struct dynbuf *b, const struct report_trend *t)
{
    int rc = num(b, t->count);
    rc |= num(b, t->avg);
    rc |= num(b, t->med);
    rc |= num(b, t->p90);
    rc |= num(b, t->p95);
    rc |= num(b, t->p99);
    rc |= num(b, t->max);
    return rc;
}

int report_csv(const struct report_model *m, struct dynbuf *b)
{
    int rc = dynbuf_adds(b, "t,time,vus,vus_max,http_reqs,rps,failed,iterations,"
                            "dropped_iterations,data_sent,data_received,errors");
    static const char *const q[] = {"count",  "avg_ms", "med_ms", "p90_ms",
                                    "p95_ms", "p99_ms", "max_ms"};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < 7; i++) {
            rc |= dynbuf_addf(b, ",%s_%s", k ? "latency" : "duration", q[i]);
        }
    }
    for (size_t j = 0; j < m->n_extra; j++) {
        /* Names come from JSON keys: quote them when they hold a comma or quote. */
        const char *n = m->extra_names[j];
        if (strpbrk(n, ",\"\r\n") == NULL) {
            rc |= dynbuf_addf(b, ",%s", n);
        } else {
            rc |= dynbuf_adds(b, ",\"");
            for (; *n; n++) {
                rc |= *n == '"' ? dynbuf_adds(b, "\"\"") : dynbuf_addc(b, *n);
            }
            rc |= dynbuf_adds(b, "\"");
        }
    }
    rc |= dynbuf_adds(b, "\r\n");
    for (size_t i = 0; i < m->n_rows && rc == 0; i++) {
        const struct report_row *w = &m->rows[i];
        rc |= dynbuf_addf(b, "%u,%s", w->t, strpbrk(w->time, ",\"") ? "" : w->time);
        rc |= num(b, w->vus);
        rc |= num(b, w->vus_max);
        rc |= num(b, w->http_reqs);
        rc |= num(b, w->rps);
        rc |= num(b, w->failed);
        rc |= num(b, w->iterations);
        rc |= num(b, w->dropped);
        rc |= num(b, w->data_sent);
        rc |= num(b, w->data_received);
        rc |= num(b, w->errors);
        rc |= trend(b, &w->duration);
        rc |= trend(b, &w->latency);
        for (size_t j = 0; j < m->n_extra; j++) {
            rc |= num(b, w->extra[j]);
        }
        rc |= dynbuf_adds(b, "\r\n");
    }
    return rc ? -E2BIG : 0;
}
