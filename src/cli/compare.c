/*
 * cli/compare — `brunt compare [flags] BASE.json NEW.json`: reads two result files,
 * compares them (analysis/compare) and prints the verdict as a terminal table, Markdown
 * (a pull-request comment) or JSON.  With --history FILE.db --baseline last|best|TAG the
 * baseline comes from the run history instead (cli/history.c).
 *
 * Exit codes (docs/brunt.1, docs/compare.md): 0 no regression, 110 regression, 111
 * critical regression, 112 the runs are not comparable (different scenarios or load
 * shapes), 2 bad input (a file that is not a result of this version, bad flags).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/compare.h"
#include "analysis/result_read.h"
#include "cli/cli.h"
#include "core/json.h"
#include "core/parse.h"

static void compare_usage(FILE *f)
{
    fprintf(f,
            "usage: brunt compare [flags] BASE.json NEW.json\n"
            "       brunt compare --history FILE.db [--baseline last|best|TAG] NEW.json\n"
            "\n"
            "Compares a run with a baseline per request name: latency p50/p95/p99/mean,\n"
            "throughput, error rate, checks.  A change counts only when the bound of its\n"
            "bootstrap interval over time windows passes the limit (docs/compare.md).\n"
            "\n"
            "  --format text|md|json  output (default text)\n"
            "  --regression PCT       a regression above PCT%% (default 20)\n"
            "  --critical PCT         critical above PCT%% (default 50)\n"
            "  --error-limit PP       error-rate increase that matters, in percentage points\n"
            "                         (default 0.1); --error-critical PP (default 1)\n"
            "  --metric NAME          latency trend: http_req_duration (default) or\n"
            "                         http_req_latency (corrected for coordinated omission)\n"
            "  --confidence PCT       confidence of each bound, one-sided (default 95)\n"
            "  --resamples N          bootstrap replicates (default 2000)\n"
            "  --seed N               seed of the bootstrap (default 1)\n"
            "  --window-quantile PCT  the p50/p95/p99 rows judge this quantile over the\n"
            "                         windows of each window's own figure (default 10;\n"
            "                         50: the median window)\n"
            "  --force                compare runs of different load shapes anyway\n"
            "  --history FILE.db      take the baseline from a run history (brunt run --history)\n"
            "  --baseline last|best|TAG   which run: the latest (default), the fastest p95,\n"
            "                         or the latest with tag TAG (key=value) or that name\n"
            "  -h, --help             this help\n"
            "\n"
            "Exit: 0 no regression, 110 regression, 111 critical, 112 not comparable,\n"
            "2 bad input.\n");
}

enum { FMT_TEXT, FMT_MD, FMT_JSON };

static double pct(double x)
{
    return 100.0 * x;
}

static void fmt_value(char *out, size_t cap, double v, const char *unit)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "-");
    } else if (strcmp(unit, "%") == 0) {
        snprintf(out, cap, "%.2f%%", v);
    } else if (strcmp(unit, "ms") == 0) {
        snprintf(out, cap, v >= 100 ? "%.1f ms" : "%.2f ms", v);
    } else if (strcmp(unit, "/s") == 0) {
        snprintf(out, cap, "%.1f/s", v);
    } else {
        snprintf(out, cap, "%.4g", v);
    }
}

static void fmt_change(char *out, size_t cap, const struct cmp_row *r)
{
    if (!isfinite(r->change)) {
        snprintf(out, cap, "-");
    } else if (r->kind == CMP_RATE) {
        snprintf(out, cap, "%+.2f pp", pct(r->change));
    } else {
        snprintf(out, cap, "%+.1f%%", pct(r->change));
    }
}

static void fmt_interval(char *out, size_t cap, const struct cmp_row *r, double conf)
{
    if (r->kind == CMP_RATE) {
        if (isfinite(r->lo)) {
            snprintf(out, cap, "z = %.2f", r->lo);
        } else {
            snprintf(out, cap, "-");
        }
    } else if (isfinite(r->lo) && isfinite(r->hi)) {
        snprintf(out, cap, "%.0f%%: %+.1f%% .. %+.1f%%", conf * 100, pct(r->lo - 1),
                 pct(r->hi - 1));
    } else {
        snprintf(out, cap, "-");
    }
}

static const char *verdict_mark(enum cmp_verdict v)
{
    switch (v) {
    case CMP_CRITICAL:
        return "🔴 critical";
    case CMP_REGRESSION:
        return "🟠 regression";
    case CMP_IMPROVED:
        return "🟢 improved";
    case CMP_SAME:
        return "no change";
    case CMP_NA:
        break;
    }
    return "-";
}

static int exit_of(const struct cmp_report *r)
{
    if (r->incomparable) {
        return EXIT_INCOMPARABLE;
    }
    return r->worst == CMP_CRITICAL     ? EXIT_CRITICAL
           : r->worst == CMP_REGRESSION ? EXIT_REGRESSION
                                        : EXIT_OK;
}

static const char *overall(const struct cmp_report *r)
{
    if (r->incomparable) {
        return "not comparable";
    }
    return r->worst == CMP_CRITICAL     ? "CRITICAL REGRESSION"
           : r->worst == CMP_REGRESSION ? "REGRESSION"
                                        : "no regression";
}

static void counts(const struct cmp_report *r, size_t *reg, size_t *crit, size_t *imp)
{
    *reg = *crit = *imp = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        *reg += r->rows[i].verdict == CMP_REGRESSION;
        *crit += r->rows[i].verdict == CMP_CRITICAL;
        *imp += r->rows[i].verdict == CMP_IMPROVED;
    }
}

static void print_text(FILE *f, const char *base_label, const struct result_doc *a,
                       const char *new_label, const struct result_doc *b,
                       const struct cmp_report *r, const struct cmp_options *o)
{
    fprintf(f, "\n  brunt compare · baseline %s (%s) · new %s (%s)\n", base_label,
            a->start[0] ? a->start : "?", new_label, b->start[0] ? b->start : "?");
    if (r->incomparable) {
        fprintf(f, "\n  not comparable: the runs differ in what they ran:\n");
        for (size_t i = 0; i < r->n_differences; i++) {
            fprintf(f, "    - %s\n", r->differences[i]);
        }
        fprintf(f, "\n  (--force compares them anyway)\n\n");
        return;
    }
    fprintf(f,
            "  %zu vs %zu windows of %.0f/%.0f s, blocks of %zu/%zu, %u resamples; regression "
            "> +%.0f%%, critical > +%.0f%% on the interval's bound\n\n",
            r->units_base, r->units_cur, r->window_s_base, r->window_s_cur, r->block_base,
            r->block_cur, o->resamples, pct(o->regression), pct(o->critical));
    fprintf(f, "  %-24s %-13s %12s %12s %10s  %-24s %s\n", "request", "figure", "baseline", "new",
            "change", "interval", "verdict");
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct cmp_row *row = &r->rows[i];
        char vb[32], vc[32], ch[32], iv[64];
        fmt_value(vb, sizeof vb, row->base, row->unit);
        fmt_value(vc, sizeof vc, row->cur, row->unit);
        fmt_change(ch, sizeof ch, row);
        fmt_interval(iv, sizeof iv, row, o->confidence);
        fprintf(f, "  %-24.24s %-13s %12s %12s %10s  %-24s %s\n", row->group, row->figure, vb, vc,
                ch, iv, row->kind == CMP_INFO ? "(info)" : verdict_mark(row->verdict));
    }
    for (size_t i = 0; i < r->n_notes; i++) {
        fprintf(f, "\n  note: %s", r->notes[i]);
    }
    size_t reg, crit, imp;
    counts(r, &reg, &crit, &imp);
    fprintf(f, "%s\n  verdict: %s (%zu regressed, %zu critical, %zu improved)\n\n",
            r->n_notes ? "\n" : "", overall(r), reg, crit, imp);
}

static void print_md(FILE *f, const char *base_label, const char *new_label,
                     const struct cmp_report *r, const struct cmp_options *o)
{
    size_t reg, crit, imp;
    counts(r, &reg, &crit, &imp);
    fprintf(f, "### brunt compare: %s\n\n", overall(r));
    fprintf(f, "Baseline `%s`, new `%s`.", base_label, new_label);
    if (r->incomparable) {
        fprintf(f, " The runs are not comparable:\n\n");
        for (size_t i = 0; i < r->n_differences; i++) {
            fprintf(f, "- %s\n", r->differences[i]);
        }
        return;
    }
    fprintf(f,
            " %zu regressed, %zu critical, %zu improved. A change counts when its one-sided "
            "%.0f%% bound passes +%.0f%% (critical +%.0f%%).\n\n",
            reg, crit, imp, o->confidence * 100, pct(o->regression), pct(o->critical));
    fprintf(f, "| request | figure | baseline | new | change | interval | verdict |\n");
    fprintf(f, "|---|---|---:|---:|---:|---|---|\n");
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct cmp_row *row = &r->rows[i];
        char vb[32], vc[32], ch[32], iv[64], group[256];
        size_t k = 0;
        for (const char *p = row->group; *p && k + 2 < sizeof group; p++) {
            if (*p == '|') {
                group[k++] = '\\';
            }
            group[k++] = *p;
        }
        group[k] = '\0';
        fmt_value(vb, sizeof vb, row->base, row->unit);
        fmt_value(vc, sizeof vc, row->cur, row->unit);
        fmt_change(ch, sizeof ch, row);
        fmt_interval(iv, sizeof iv, row, o->confidence);
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", group, row->figure, vb, vc, ch, iv,
                row->kind == CMP_INFO ? "info" : verdict_mark(row->verdict));
    }
    for (size_t i = 0; i < r->n_notes; i++) {
        fprintf(f, "%s- %s\n", i == 0 ? "\n" : "", r->notes[i]);
    }
}

static void json_run(struct jsonw *w, const char *label, const struct result_doc *d)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "source");
    jsonw_str(w, label);
    jsonw_key(w, "start");
    jsonw_str(w, d->start[0] ? d->start : NULL);
    jsonw_key(w, "duration_ms");
    jsonw_num(w, d->duration_ms);
    jsonw_key(w, "version");
    jsonw_str(w, d->version[0] ? d->version : NULL);
    jsonw_obj_end(w);
}

static int print_json(FILE *f, const char *base_label, const struct result_doc *a,
                      const char *new_label, const struct result_doc *b, const struct cmp_report *r,
                      const struct cmp_options *o)
{
    struct jsonw w;
    jsonw_init(&w, 2, 64u << 20);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema");
    jsonw_str(&w, "brunt-compare/1");
    jsonw_key(&w, "baseline");
    json_run(&w, base_label, a);
    jsonw_key(&w, "new");
    json_run(&w, new_label, b);
    jsonw_key(&w, "options");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "metric");
    jsonw_str(&w, o->metric);
    jsonw_key(&w, "regression");
    jsonw_num(&w, o->regression);
    jsonw_key(&w, "critical");
    jsonw_num(&w, o->critical);
    jsonw_key(&w, "error_limit");
    jsonw_num(&w, o->err_limit);
    jsonw_key(&w, "error_critical");
    jsonw_num(&w, o->err_critical);
    jsonw_key(&w, "confidence");
    jsonw_num(&w, o->confidence);
    jsonw_key(&w, "resamples");
    jsonw_uint(&w, o->resamples);
    jsonw_key(&w, "window_quantile");
    jsonw_num(&w, o->window_q);
    jsonw_key(&w, "windows");
    jsonw_arr_begin(&w);
    jsonw_uint(&w, r->units_base);
    jsonw_uint(&w, r->units_cur);
    jsonw_arr_end(&w);
    jsonw_key(&w, "window_s");
    jsonw_arr_begin(&w);
    jsonw_num(&w, r->window_s_base);
    jsonw_num(&w, r->window_s_cur);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "comparable");
    jsonw_bool(&w, !r->incomparable);
    jsonw_key(&w, "differences");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < r->n_differences; i++) {
        jsonw_str(&w, r->differences[i]);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "rows");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct cmp_row *row = &r->rows[i];
        jsonw_obj_begin(&w);
        jsonw_key(&w, "request");
        jsonw_str(&w, row->group);
        jsonw_key(&w, "figure");
        jsonw_str(&w, row->figure);
        jsonw_key(&w, "unit");
        jsonw_str(&w, row->unit);
        jsonw_key(&w, "baseline");
        jsonw_num(&w, row->base);
        jsonw_key(&w, "new");
        jsonw_num(&w, row->cur);
        jsonw_key(&w, row->kind == CMP_RATE ? "change_pp" : "change_pct");
        jsonw_num(&w, pct(row->change));
        if (row->kind == CMP_RATE) {
            jsonw_key(&w, "z");
            jsonw_num(&w, row->lo);
        } else {
            jsonw_key(&w, "ratio_low");
            jsonw_num(&w, row->lo);
            jsonw_key(&w, "ratio_high");
            jsonw_num(&w, row->hi);
            jsonw_key(&w, "statistic");
            if (row->windowed && o->window_q == 0.5) {
                jsonw_str(&w, "median window");
            } else if (row->windowed) {
                char st[32];
                snprintf(st, sizeof st, "window q%g", o->window_q * 100);
                jsonw_str(&w, st);
            } else {
                jsonw_str(&w, "run");
            }
        }
        jsonw_key(&w, "verdict");
        jsonw_str(&w, row->kind == CMP_INFO ? "info" : cmp_verdict_name(row->verdict));
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "notes");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < r->n_notes; i++) {
        jsonw_str(&w, r->notes[i]);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "verdict");
    jsonw_str(&w, r->incomparable              ? "not comparable"
                  : r->worst == CMP_CRITICAL   ? "critical"
                  : r->worst == CMP_REGRESSION ? "regression"
                                               : "none");
    jsonw_key(&w, "exit_code");
    jsonw_int(&w, exit_of(r));
    jsonw_obj_end(&w);
    int rc = jsonw_error(&w);
    if (rc == 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        fwrite(doc, 1, len, f);
        fputc('\n', f);
    }
    jsonw_destroy(&w);
    return rc;
}

/* A percentage flag ("20", "20%") into a fraction in (0, max]. */
static int parse_pct(const char *flag, const char *s, double max, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '%') {
        buf[n - 1] = '\0';
    }
    double v;
    if (parse_double(buf, &v) < 0 || !(v > 0) || v > max) {
        fprintf(stderr, "brunt compare: %s '%s': expected a percentage above 0 and at most %g\n",
                flag, s, max);
        return -1;
    }
    *out = v / 100.0;
    return 0;
}

int cli_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"regression", required_argument, NULL, 'r'},
        {"critical", required_argument, NULL, 'C'},
        {"error-limit", required_argument, NULL, 'e'},
        {"error-critical", required_argument, NULL, 'E'},
        {"metric", required_argument, NULL, 'm'},
        {"confidence", required_argument, NULL, 'k'},
        {"resamples", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"window-quantile", required_argument, NULL, 'w'},
        {"force", no_argument, NULL, 'F'},
        {"history", required_argument, NULL, 'H'},
        {"baseline", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    struct cmp_options o;
    int format = FMT_TEXT, c;
    const char *history = NULL, *baseline = NULL;
    char err[1024];

    cmp_options_default(&o);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        uint64_t u;
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") == 0) {
                format = FMT_TEXT;
            } else if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0) {
                format = FMT_MD;
            } else if (strcmp(optarg, "json") == 0) {
                format = FMT_JSON;
            } else {
                fprintf(stderr, "brunt compare: --format '%s': expected text, md or json\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_pct("--regression", optarg, 1000, &o.regression) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'C':
            if (parse_pct("--critical", optarg, 10000, &o.critical) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'e':
            if (parse_pct("--error-limit", optarg, 100, &o.err_limit) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'E':
            if (parse_pct("--error-critical", optarg, 100, &o.err_critical) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'k':
            if (parse_pct("--confidence", optarg, 99.99, &o.confidence) < 0 || o.confidence < 0.5) {
                fprintf(stderr, "brunt compare: --confidence '%s': expected 50 to 99.99\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm':
            if (strcmp(optarg, "http_req_duration") != 0 &&
                strcmp(optarg, "http_req_latency") != 0) {
                fprintf(stderr,
                        "brunt compare: --metric '%s': expected http_req_duration or "
                        "http_req_latency\n",
                        optarg);
                return EXIT_USAGE;
            }
            o.metric = optarg;
            break;
        case 'n':
            if (parse_u64(optarg, &u) < 0 || u < 100 || u > CMP_MAX_RESAMPLES) {
                fprintf(stderr, "brunt compare: --resamples '%s': expected 100 to %d\n", optarg,
                        CMP_MAX_RESAMPLES);
                return EXIT_USAGE;
            }
            o.resamples = (unsigned)u;
            break;
        case 's':
            if (parse_u64(optarg, &u) < 0) {
                fprintf(stderr, "brunt compare: --seed '%s': expected a number\n", optarg);
                return EXIT_USAGE;
            }
            o.seed = u;
            break;
        case 'w':
            if (parse_pct("--window-quantile", optarg, 50, &o.window_q) < 0) {
                return EXIT_USAGE;
            }
            break;
        case 'F':
            o.force = true;
            break;
        case 'H':
            history = optarg;
            break;
        case 'b':
            baseline = optarg;
            break;
        case 'h':
            compare_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "brunt compare: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt compare: unknown flag '%s' (brunt compare --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (o.critical < o.regression) {
        fprintf(stderr, "brunt compare: --critical %.0f%% is below --regression %.0f%%\n",
                pct(o.critical), pct(o.regression));
        return EXIT_USAGE;
    }
    int nargs = argc - optind;
    if (baseline != NULL && history == NULL) {
        fprintf(stderr, "brunt compare: --baseline needs --history FILE.db\n");
        return EXIT_USAGE;
    }
    if (history != NULL ? nargs != 1 : nargs != 2) {
        fprintf(stderr, history != NULL
                            ? "brunt compare: expected one result file after --history FILE.db\n"
                            : "brunt compare: expected two result files: BASE.json NEW.json\n");
        return EXIT_USAGE;
    }
    struct result_doc *a = NULL, *b = NULL;
    char base_label[512];
    const char *new_path = argv[optind + nargs - 1];
    int rc = EXIT_USAGE;
    if (result_read_file(new_path, &b, err, sizeof err) < 0) {
        fprintf(stderr, "brunt compare: %s\n", err);
        goto out;
    }
    if (history != NULL) {
        int hrc = cli_history_baseline(history, baseline ? baseline : "last", b, &a, base_label,
                                       sizeof base_label, err, sizeof err);
        if (hrc != 0) {
            fprintf(stderr, "brunt compare: %s\n", err);
            rc = hrc;
            goto out;
        }
    } else {
        snprintf(base_label, sizeof base_label, "%s", argv[optind]);
        if (result_read_file(argv[optind], &a, err, sizeof err) < 0) {
            fprintf(stderr, "brunt compare: %s\n", err);
            goto out;
        }
    }
    struct cmp_report rep;
    if (compare_runs(a, b, &o, &rep, err, sizeof err) < 0) {
        fprintf(stderr, "brunt %s\n", err);
        goto out;
    }
    if (format == FMT_TEXT) {
        print_text(stdout, base_label, a, new_path, b, &rep, &o);
    } else if (format == FMT_MD) {
        print_md(stdout, base_label, new_path, &rep, &o);
    } else if (print_json(stdout, base_label, a, new_path, b, &rep, &o) < 0) {
        fprintf(stderr, "brunt compare: the JSON output is too large\n");
        cmp_report_destroy(&rep);
        rc = EXIT_INTERNAL;
        goto out;
    }
    fflush(stdout);
    rc = exit_of(&rep);
    cmp_report_destroy(&rep);
out:
    result_doc_free(a);
    result_doc_free(b);
    return rc;
}
