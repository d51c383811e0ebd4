/*
 * write — formatting helpers shared by the renderers, the format chosen by a path's
 * extension, and the atomic write of a rendered report.
 *
 * The atomic write is core/file.h's (temp file in the same directory, fsync, rename,
 * fsync of the directory), as for the result file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "report/report.h"

void report_fmt_ms(double ms, char *out, size_t cap)
{
    if (!isfinite(ms)) {
        snprintf(out, cap, "n/a");
    } else if (ms < 1) {
        snprintf(out, cap, "%.0fµs", ms * 1000);
    } else if (ms < 1000) {
        snprintf(out, cap, "%.*fms", ms < 10 ? 2 : ms < 100 ? 1 : 0, ms);
    } else {
        snprintf(out, cap, "%.2fs", ms / 1000);
    }
}

void report_fmt_num(double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "n/a");
        return;
    }
    if (fabs(v - round(v)) > 1e-9 && fabs(v) < 1000) {
        snprintf(out, cap, "%.*f", fabs(v) < 10 ? 2 : 1, v);
        return;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t n = strlen(digits), o = 0;
    char buf[48];
    if (v < 0 && round(v) != 0) {
        buf[o++] = '-';
    }
    for (size_t i = 0; i < n && o + 2 < sizeof buf; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    snprintf(out, cap, "%s", buf);
}

void report_fmt_rate(double per_s, char *out, size_t cap)
{
    char n[48];
    report_fmt_num(isfinite(per_s) && per_s >= 100 ? round(per_s) : per_s, n, sizeof n);
    snprintf(out, cap, "%s req/s", n);
}

void report_fmt_pct(double share, char *out, size_t cap)
{
    if (!isfinite(share)) {
        snprintf(out, cap, "n/a");
    } else {
        snprintf(out, cap, "%.*f%%", share * 100 < 10 ? 2 : 1, share * 100);
    }
}

void report_fmt_check_value(const struct report_check *c, double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "n/a");
    } else if (strcmp(c->unit, "ms") == 0) {
        report_fmt_ms(v, out, cap);
    } else if (strcmp(c->unit, "%") == 0) {
        report_fmt_pct(v, out, cap);
    } else {
        report_fmt_num(v, out, cap);
    }
}

const char *report_severity_name(enum finding_severity s)
{
    return s == FINDING_CRITICAL ? "critical" : s == FINDING_WARNING ? "warning" : "info";
}

enum report_format report_format_from_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (dot == NULL || strchr(dot, '/') != NULL) {
        return REPORT_NONE;
    }
    if (strcasecmp(dot, ".md") == 0 || strcasecmp(dot, ".markdown") == 0) {
        return REPORT_MD;
    }
    if (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0) {
        return REPORT_HTML;
    }
    if (strcasecmp(dot, ".xml") == 0) {
        return REPORT_JUNIT;
    }
    if (strcasecmp(dot, ".csv") == 0) {
        return REPORT_CSV;
    }
    return REPORT_NONE;
}

const char *report_format_name(enum report_format f)
{
    switch (f) {
    case REPORT_MD:
        return "Markdown";
    case REPORT_HTML:
        return "HTML";
    case REPORT_JUNIT:
        return "JUnit XML";
    case REPORT_CSV:
        return "CSV";
    default:
        return "unknown";
    }
}

int report_render(const struct report_model *m, enum report_format f, struct dynbuf *out)
{
    switch (f) {
    case REPORT_MD:
        return report_md(m, out);
    case REPORT_HTML:
        return report_html(m, out);
    case REPORT_JUNIT:
        return report_junit(m, out);
    case REPORT_CSV:
        return report_csv(m, out);
    default:
        return -EINVAL;
    }
}

int report_atomic_write(const char *path, const char *data, size_t len, char *err, size_t err_len)
{
    char why[512];
    const struct file_part part = {data, len};
    int rc = file_write_atomic(path, &part, 1, 0644, why, sizeof why);
    if (rc < 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, why);
    }
    return rc;
}

int report_write_file(const char *path, const struct report_model *m, char *err, size_t err_len)
{
    struct dynbuf b;
    int rc = -1;
    enum report_format f = report_format_from_path(path);
    dynbuf_init(&b, 256u * 1024 * 1024);
    if (f == REPORT_NONE) {
        snprintf(err, err_len,
                 "cannot tell the report format of '%s': expected a name ending in .html, .md, "
                 ".xml (JUnit) or .csv",
                 path);
        goto out;
    }
    int r = report_render(m, f, &b);
    if (r < 0) {
        snprintf(err, err_len, "cannot render the %s report %s: %s", report_format_name(f), path,
                 strerror(-r));
        goto out;
    }
    if (report_atomic_write(path, b.data ? b.data : "", b.len, err, err_len) < 0) {
        goto out;
    }
    rc = 0;
out:
    dynbuf_destroy(&b);
    return rc;
}
