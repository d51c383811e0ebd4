/*
 * dbutil — see dbutil.h.
 */
#include "probe/dbutil.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define LABEL_WIDTH 34

int dbutil_define(const char *name, enum metric_type type, enum metric_contains contains,
                  const char *desc)
{
    int id = metric_define(name, type, contains, desc);
    return id < 0 ? -1 : id;
}

static struct series *untagged(struct registry *reg, int metric)
{
    struct series *s = NULL;
    if (reg != NULL && metric >= 0) {
        int i = registry_get(reg, metric, "");
        if (i >= 0) {
            s = registry_at(reg, i);
        }
    }
    return s;
}

void dbutil_count(struct registry *reg, int metric, double v)
{
    struct series *s = untagged(reg, metric);
    if (s) {
        series_add(s, v);
    }
}

void dbutil_gauge(struct registry *reg, int metric, double v)
{
    struct series *s = untagged(reg, metric);
    if (s) {
        series_gauge(s, v);
    }
}

void dbutil_trend(struct registry *reg, int metric, double v)
{
    struct series *s = untagged(reg, metric);
    if (s && s->hist) {
        series_trend_value(s, v); /* plain numbers are stored as millionths */
    }
}

void dbutil_rate(struct registry *reg, int metric, uint64_t trues, uint64_t total)
{
    struct series *s = untagged(reg, metric);
    if (s && total > 0) {
        s->trues += trues;
        s->total += total;
    }
}

int dbutil_fmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

const char *dbutil_severity_name(enum finding_severity s)
{
    switch (s) {
    case FINDING_CRITICAL:
        return "critical";
    case FINDING_WARNING:
        return "warning";
    case FINDING_INFO:
    default:
        return "info";
    }
}

void dbutil_findings_json(struct jsonw *w, const struct finding *f, size_t n)
{
    jsonw_key(w, "findings");
    probe_findings_json(w, f, n);
}

static size_t text_width(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        n += (*p & 0xC0) != 0x80;
    }
    return n;
}

void dbutil_row(FILE *f, bool color, int indent, const char *label, const char *value)
{
    size_t w = (size_t)indent + text_width(label);
    size_t dots = w + 3 <= LABEL_WIDTH ? LABEL_WIDTH - w : 3;
    fprintf(f, "%*s%s%s", indent, "", label, color ? "\x1b[2m" : "");
    for (size_t i = 0; i < dots; i++) {
        fputc('.', f);
    }
    fprintf(f, "%s: %s\n", color ? "\x1b[0m" : "", value);
}

void dbutil_print_findings(FILE *f, bool color, const struct finding *fs, size_t n)
{
    if (n == 0) {
        return;
    }
    fprintf(f, "    findings\n");
    for (size_t i = 0; i < n; i++) {
        const char *mark = fs[i].severity == FINDING_CRITICAL  ? "!!"
                           : fs[i].severity == FINDING_WARNING ? "! "
                                                               : "i ";
        const char *on = "", *off = "";
        if (color) {
            on = fs[i].severity == FINDING_INFO ? "\x1b[36m" : "\x1b[33m";
            off = "\x1b[0m";
        }
        fprintf(f, "      %s%s %s%s: %s\n", on, mark, fs[i].kind, off, fs[i].location);
        fprintf(f, "         %s\n", fs[i].evidence);
        if (fs[i].recommendation[0]) {
            fprintf(f, "         candidate: %s\n", fs[i].recommendation);
        }
    }
}

void dbutil_fmt_bytes(double v, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(out, cap, "%.0f B", v);
    } else {
        snprintf(out, cap, "%.*f %s", v < 10 ? 2 : 1, v, units[u]);
    }
}

/* Appends s[0..n) to out at *len, keeping the NUL and the cap. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= cap) {
        return;
    }
    size_t room = cap - 1 - *len;
    if (n > room) {
        n = room;
    }
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

void dbutil_redact(const char *conn, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    const char *scheme = strstr(conn, "://");
    if (scheme != NULL) {
        /* URL: the authority ends at the first '/', '?' or '#' after the scheme; its
         * userinfo at the last '@' inside it; the password after the first ':'. */
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < alen; i++) {
            if (auth[i] == '@') {
                at = auth + i;
            }
        }
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            put(out, cap, &len, conn, (size_t)(colon + 1 - conn));
            put(out, cap, &len, "***", 3);
            put(out, cap, &len, at, strlen(at));
        } else {
            put(out, cap, &len, conn, strlen(conn));
        }
        /* A password=... in the query string too. */
        char *q = strstr(out, "password=");
        if (q) {
            size_t keep = (size_t)(q - out) + 9;
            size_t rest = strcspn(q + 9, "&");
            char tail[512];
            snprintf(tail, sizeof tail, "%s", q + 9 + rest);
            len = keep;
            out[len] = '\0';
            put(out, cap, &len, "***", 3);
            put(out, cap, &len, tail, strlen(tail));
        }
    } else {
        /* keyword=value pairs: password=secret or password='se cret'. */
        const char *p = conn;
        while (*p) {
            const char *hit = strstr(p, "password");
            if (hit == NULL) {
                put(out, cap, &len, p, strlen(p));
                break;
            }
            const char *q = hit + 8;
            while (*q == ' ') {
                q++;
            }
            bool word_start = hit == conn || hit[-1] == ' ';
            if (*q != '=' || !word_start) {
                put(out, cap, &len, p, (size_t)(hit + 8 - p));
                p = hit + 8;
                continue;
            }
            q++;
            while (*q == ' ') {
                q++;
            }
            put(out, cap, &len, p, (size_t)(q - p));
            put(out, cap, &len, "***", 3);
            if (*q == '\'') {
                q++;
                while (*q && *q != '\'') {
                    q += (*q == '\\' && q[1]) ? 2 : 1;
                }
                if (*q) {
                    q++;
                }
            } else {
                while (*q && *q != ' ') {
                    q++;
                }
            }
            p = q;
        }
    }
}

void dbutil_vnote(char *field, size_t cap, const char *fmt, va_list ap)
{
    char one[512];
    vsnprintf(one, sizeof one < cap ? sizeof one : cap, fmt, ap);
    size_t len = strlen(field);
    if (strstr(field, one) == NULL && len + 2 + strlen(one) < cap) {
        dbutil_fmt(field + len, cap - len, "%s%s", len ? "; " : "", one);
    }
}

size_t dbutil_findings_copy(const struct finding *kept, size_t n, struct finding *out, size_t cap)
{
    size_t k = n < cap ? n : cap;
    memcpy(out, kept, k * sizeof *out);
    return k;
}

bool dbutil_summary_head(FILE *f, const char *what, const char *shown, const char *version,
                         bool available, const char *error)
{
    fprintf(f, "\n  %s %s%s%s\n", what, shown, version[0] ? " " : "", version);
    if (!available) {
        fprintf(f, "    not measured: %s\n", error);
    }
    return available;
}

void dbutil_json_status(struct jsonw *w, bool available, const char *error)
{
    jsonw_key(w, "available");
    jsonw_bool(w, available);
    jsonw_key(w, "error");
    jsonw_str(w, error[0] ? error : NULL);
}

void dbutil_json_run(struct jsonw *w, double duration_s, int restarts, uint64_t lost_samples)
{
    jsonw_key(w, "duration_s");
    jsonw_num(w, duration_s);
    jsonw_key(w, "restarts");
    jsonw_int(w, restarts);
    jsonw_key(w, "lost_samples");
    jsonw_uint(w, lost_samples);
}

void dbutil_series_json(struct jsonw *w, const char *const *cols, size_t ncols, const void *rows,
                        size_t nrows, dbutil_row_fn row)
{
    uint64_t v[16] = {0};
    ncols = ncols < 16 ? ncols : 16;
    jsonw_key(w, "series");
    jsonw_obj_begin(w);
    for (size_t c = 0; c < ncols; c++) {
        jsonw_key(w, cols[c]);
        jsonw_arr_begin(w);
        for (size_t i = 0; i < nrows; i++) {
            double t_s = row(rows, i, v);
            if (c == 0) {
                jsonw_num(w, round(t_s * 1000) / 1000);
            } else {
                jsonw_uint(w, v[c]);
            }
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
}
