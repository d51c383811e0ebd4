/*
 * junit — thresholds and success criteria as JUnit XML for CI (GitLab, Jenkins, GitHub
 * test reporters).  There is no official schema; this writes the common subset
 * testmoapp/junitxml documents: <testsuites> with one <testsuite> per kind (thresholds,
 * criteria), each check a <testcase classname="brunt.thresholds" name="METRIC EXPR">,
 * a failed one carrying <failure message="observed ..." type="threshold">.  GitLab
 * shows classname as the suite and keeps only the first of duplicate names, so names
 * are the metric and expression as written (unique in practice).  A run with no checks
 * gets one passing testcase that says so, so a CI job never reads an empty suite as
 * "no tests ran".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

/* The run's duration in seconds for time="" (0 when the result has none: "nan" is not a
 * valid xs:decimal). */
static double run_s(const struct report_model *m)
{
    return isfinite(m->duration_ms) && m->duration_ms > 0 ? m->duration_ms / 1000 : 0;
}

static int suite(const struct report_model *m, struct dynbuf *b, const char *kind, size_t from,
                 size_t to)
{
    int rc = 0;
    size_t failures = 0;
    for (size_t i = from; i < to; i++) {
        failures += !m->checks[i].ok;
    }
    size_t tests = to - from;
    rc |= dynbuf_addf(b,
                      "  <testsuite name=\"brunt %s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                      "skipped=\"0\" time=\"%.3f\" timestamp=\"",
                      kind, tests ? tests : 1, failures, run_s(m));
    /* JUnit's timestamp is ISO 8601 without a zone designator in the strict XSDs. */
    char ts[40];
    snprintf(ts, sizeof ts, "%.19s", m->start[0] ? m->start : "1970-01-01T00:00:00");
    rc |= text_xml_escape(b, ts);
    rc |= dynbuf_adds(b, "\">\n");
    if (tests == 0) {
        rc |= dynbuf_addf(b,
                          "    <testcase classname=\"brunt.%s\" name=\"no %s were set\" "
                          "time=\"0\"/>\n",
                          kind, kind);
    }
    for (size_t i = from; i < to; i++) {
        const struct report_check *c = &m->checks[i];
        char v[48];
        report_fmt_check_value(c, c->observed, v, sizeof v);
        rc |= dynbuf_addf(b, "    <testcase classname=\"brunt.%s\" name=\"", kind);
        rc |= text_xml_escape(b, c->metric);
        rc |= dynbuf_adds(b, " ");
        rc |= text_xml_escape(b, c->expression);
        rc |= dynbuf_addf(b, "\" time=\"%.3f\"", run_s(m));
        if (c->ok) {
            rc |= dynbuf_adds(b, ">\n      <system-out>observed ");
            rc |= text_xml_escape(b, v);
            rc |= dynbuf_adds(b, c->warn ? " (within 10% of its limit)" : "");
            rc |= dynbuf_adds(b, "</system-out>\n    </testcase>\n");
            continue;
        }
        rc |= dynbuf_adds(b, ">\n      <failure message=\"");
        char msg[512];
        if (!c->evaluated) {
            snprintf(msg, sizeof msg, "not evaluated: %s %s could not be computed", c->metric,
                     c->expression);
        } else {
            snprintf(msg, sizeof msg, "observed %s, expected %s%s%s%s", v, c->expression,
                     c->acceptable[0] ? " (acceptable " : "", c->acceptable,
                     c->acceptable[0] ? ")" : "");
        }
        rc |= text_xml_escape(b, msg);
        rc |= dynbuf_addf(b, "\" type=\"%s\">", c->source);
        rc |= text_xml_escape(b, msg);
        if (c->no_samples) {
            rc |= dynbuf_adds(b, "; the metric had no samples (judged on 0, as k6 does)");
        }
        rc |= dynbuf_adds(b, "</failure>\n    </testcase>\n");
    }
    rc |= dynbuf_adds(b, "  </testsuite>\n");
    return rc;
}

/*
 * The watch's verdicts (leak of each target's memory, drift of p95 and of the error
 * rate): one testcase each; "growing" is a failure carrying the evidence, "insufficient
 * data" is skipped (the run was too short to judge).  The run's exit status does not
 * depend on them; CI that wants them to gate reads this suite.
 */
static int verdict_suite(const struct report_model *m, struct dynbuf *b, size_t failures,
                         size_t skipped)
{
    int rc = dynbuf_addf(b,
                         "  <testsuite name=\"brunt verdicts\" tests=\"%zu\" failures=\"%zu\" "
                         "errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
                         m->n_verdicts, failures, skipped, run_s(m));
    for (size_t i = 0; i < m->n_verdicts; i++) {
        const struct report_verdict *v = &m->verdicts[i];
        rc |= dynbuf_adds(b, "    <testcase classname=\"brunt.verdicts\" name=\"");
        rc |= text_xml_escape(b, v->what);
        rc |= dynbuf_addf(b, "\" time=\"%.3f\">\n      ", run_s(m));
        if (strcmp(v->verdict, "growing") == 0) {
            rc |= dynbuf_adds(b, "<failure message=\"growing: ");
            rc |= text_xml_escape(b, v->evidence);
            rc |= dynbuf_adds(b, "\" type=\"verdict\">");
            rc |= text_xml_escape(b, v->evidence);
            rc |= dynbuf_adds(b, "</failure>\n");
        } else if (strcmp(v->verdict, "insufficient data") == 0) {
            rc |= dynbuf_adds(b, "<skipped message=\"");
            rc |= text_xml_escape(b, v->evidence);
            rc |= dynbuf_adds(b, "\"/>\n");
        } else {
            rc |= dynbuf_adds(b, "<system-out>");
            rc |= text_xml_escape(b, v->verdict);
            rc |= dynbuf_adds(b, ": ");
            rc |= text_xml_escape(b, v->evidence);
            rc |= dynbuf_adds(b, "</system-out>\n");
        }
        rc |= dynbuf_adds(b, "    </testcase>\n");
    }
    rc |= dynbuf_adds(b, "  </testsuite>\n");
    return rc;
}

int report_junit(const struct report_model *m, struct dynbuf *b)
{
    size_t failures = 0, v_failures = 0, skipped = 0;
    for (size_t i = 0; i < m->n_checks; i++) {
        failures += !m->checks[i].ok;
    }
    for (size_t i = 0; i < m->n_verdicts; i++) {
        v_failures += strcmp(m->verdicts[i].verdict, "growing") == 0;
        skipped += strcmp(m->verdicts[i].verdict, "insufficient data") == 0;
    }
    size_t suites_tests = (m->n_thresholds ? m->n_thresholds : 1) +
                          (m->has_criteria ? (m->n_criteria ? m->n_criteria : 1) : 0) +
                          m->n_verdicts;
    int rc = dynbuf_addf(b,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<testsuites name=\"brunt\" tests=\"%zu\" failures=\"%zu\" "
                         "errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
                         suites_tests, failures + v_failures, skipped, run_s(m));
    rc |= suite(m, b, "thresholds", 0, m->n_thresholds);
    if (m->has_criteria) {
        rc |= suite(m, b, "criteria", m->n_thresholds, m->n_checks);
    }
    if (m->n_verdicts > 0) {
        rc |= verdict_suite(m, b, v_failures, skipped);
    }
    rc |= dynbuf_adds(b, "</testsuites>\n");
    return rc ? -E2BIG : 0;
}
