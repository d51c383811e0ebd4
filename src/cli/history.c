/*
 * cli/history — the run history from the command line:
 *
 *   brunt run --history FILE.db [--tag k=v]... ...   records the run (cli_history_*)
 *   brunt history FILE.db [--last 7d] [--metric p95] [--per run|day] [--scenario NAME]
 *   brunt history FILE.db --add RESULT.json [--tag k=v]...
 *   brunt compare --history FILE.db --baseline last|best|TAG NEW.json
 *
 * The trend is printed per scenario and load shape, oldest first, with a text bar per
 * run (or per day) and a mark where compare's verdict against the previous run (per
 * day: the point change against the previous day) is a regression, critical, or an
 * improvement.  Exit codes: 0, 2 bad input (not a history, bad flags), 113 locked.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/compare.h"
#include "analysis/history.h"
#include "analysis/result_read.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/parse.h"
#include "output/result.h"

#define DEFAULT_BUSY_MS 10000

/* ---- what a run contributes ------------------------------------------------------ */

/* The scenario's name as the history files it: meta.name, the scenario file's name, or
 * "METHOD path" for quick mode. */
static void scenario_of(const struct result_doc *d, char *out, size_t cap)
{
    if (d->name[0]) {
        snprintf(out, cap, "%s", d->name);
    } else if (d->file[0]) {
        snprintf(out, cap, "%s", d->file);
    } else {
        snprintf(out, cap, "%.15s %.200s", d->load.method[0] ? d->load.method : "GET",
                 d->load.path[0] ? d->load.path : "/");
    }
}

static void shape_num(char *out, size_t cap, const char *key, double v)
{
    size_t n = strlen(out);
    if (isnan(v)) {
        snprintf(out + n, cap - n, " %s=-", key);
    } else {
        snprintf(out + n, cap - n, " %s=%g", key, v);
    }
}

/* The load-shape signature: equal exactly when compare_load_differences finds none. */
static void shape_of(const struct result_doc *d, char *out, size_t cap)
{
    const struct rr_load *l = &d->load;
    snprintf(out, cap, "%s %s %s %s", l->model[0] ? l->model : "-",
             l->executor[0] ? l->executor : "-", l->method[0] ? l->method : "-",
             l->path[0] ? l->path : "-");
    shape_num(out, cap, "rate", l->rate);
    shape_num(out, cap, "vus", l->connections);
    shape_num(out, cap, "max_vus", l->max_vus);
    shape_num(out, cap, "pipeline", l->pipeline);
    shape_num(out, cap, "iterations", l->requests);
    size_t n = strlen(out);
    snprintf(out + n, cap - n, " stages=%s scenarios=%s", l->stages[0] ? l->stages : "-",
             l->scenarios[0] ? l->scenarios : "-");
}

static double doc_num(const char *doc, size_t len, const char *path)
{
    struct json_path p;
    struct json_span v;
    double x;
    char err[128];
    if (json_path_compile(path, &p, err, sizeof err) < 0 || json_path_get(&p, doc, len, &v) < 0 ||
        json_span_number(&v, &x) < 0) {
        return NAN;
    }
    return x;
}

/* One line of output of a command, trimmed, or "" (bounded: git answers at once). */
static void command_line(const char *cmd, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        return;
    }
    if (fgets(out, (int)cap, f) == NULL) {
        out[0] = '\0';
    }
    out[strcspn(out, "\r\n")] = '\0';
    (void)pclose(f);
}

/* SHA-256 of a file in hex, or "" when it cannot be read. */
static void file_digest(const char *path, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char buf[65536];
    size_t n;
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = f != NULL && ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    }
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
    for (unsigned i = 0; ok && i < md_len && 2 * i + 2 < cap; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
    EVP_MD_CTX_free(ctx);
    if (f != NULL) {
        fclose(f);
    }
}

static int exit_of_hist(int rc)
{
    return rc == HIST_EBUSY ? EXIT_DB_BUSY : rc == HIST_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
}

/*
 * Records the result document doc (a whole "brunt-result/1" JSON) in the history at
 * db_path with the canonical tags.  scenario_path (may be NULL) is the scenario file,
 * for its digest when the document has none.  Returns 0 or an exit code with err.
 */
static int record_doc(const char *db_path, int busy_ms, const char *doc, size_t len,
                      const char *tags, const char *scenario_path, char *err, size_t err_len)
{
    struct result_doc *d = NULL;
    struct history *h = NULL;
    struct hist_run run = {0};
    int rc = result_read_mem(doc, len, "the result", &d, err, err_len);
    if (rc < 0) {
        return EXIT_USAGE;
    }
    snprintf(run.start, sizeof run.start, "%s", d->start);
    scenario_of(d, run.scenario, sizeof run.scenario);
    shape_of(d, run.shape, sizeof run.shape);
    snprintf(run.tags, sizeof run.tags, "%s", tags ? tags : "");
    snprintf(run.digest, sizeof run.digest, "%s", d->digest);
    if (run.digest[0] == '\0' && scenario_path != NULL) {
        file_digest(scenario_path, run.digest, sizeof run.digest);
    }
    command_line("git rev-parse HEAD 2>/dev/null", run.git_commit, sizeof run.git_commit);
    if (run.git_commit[0]) {
        command_line("git rev-parse --abbrev-ref HEAD 2>/dev/null", run.git_branch,
                     sizeof run.git_branch);
    }
    run.requests = doc_num(doc, len, "$.metrics.http_reqs.values.count");
    run.rps = doc_num(doc, len, "$.metrics.http_reqs.values.rate");
    run.p50_ms = doc_num(doc, len, "$.metrics.http_req_duration.values.med");
    run.p95_ms = doc_num(doc, len, "$.metrics.http_req_duration.values['p(95)']");
    run.p99_ms = doc_num(doc, len, "$.metrics.http_req_duration.values['p(99)']");
    run.error_rate = doc_num(doc, len, "$.metrics.http_req_failed.values.rate");
    run.duration_ms = d->duration_ms;
    run.exit_code = d->exit_code;
    rc = history_open(db_path, busy_ms, true, &h, err, err_len);
    if (rc == 0) {
        rc = history_add(h, &run, doc, len, err, err_len);
    }
    history_close(h);
    result_doc_free(d);
    return rc < 0 ? exit_of_hist(rc) : 0;
}

/* ---- brunt run --history --------------------------------------------------------- */

static struct {
    const char *db;
    const char *tags[HIST_MAX_TAGS];
    size_t n_tags;
    const char *scenario_path;
} g_run;

int cli_history_run_flag(const char *db, const char *tag, char *err, size_t err_len)
{
    if (db != NULL) {
        g_run.db = db;
    }
    if (tag != NULL) {
        char canon[1024];
        const char *one[1] = {tag};
        if (g_run.n_tags >= HIST_MAX_TAGS) {
            snprintf(err, err_len, "--tag '%s': at most %d tags", tag, HIST_MAX_TAGS);
            return -1;
        }
        if (history_tags_canon(one, 1, canon, sizeof canon) < 0) {
            snprintf(err, err_len, "--tag '%s': expected key=value (no newline)", tag);
            return -1;
        }
        g_run.tags[g_run.n_tags++] = tag;
    }
    return 0;
}

int cli_history_run_check(const char *scenario_path, char *err, size_t err_len)
{
    struct history *h = NULL;
    g_run.scenario_path = scenario_path;
    if (g_run.db == NULL) {
        return 0;
    }
    /* Found before the test starts: a history that is not one, or locked past the
     * timeout, must not cost a whole run. */
    int rc = history_open(g_run.db, DEFAULT_BUSY_MS, true, &h, err, err_len);
    history_close(h);
    return rc < 0 ? exit_of_hist(rc) : 0;
}

int cli_history_after_run(const struct run_report *report, int code)
{
    char err[1024], tags[1024];
    struct jsonw w;
    if (g_run.db == NULL) {
        return code;
    }
    jsonw_init(&w, 0, RESULT_MAX_BYTES);
    int rc = result_to_json(report, &w);
    if (rc == 0 && history_tags_canon(g_run.tags, g_run.n_tags, tags, sizeof tags) >= 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        rc = record_doc(g_run.db, DEFAULT_BUSY_MS, doc, len, tags, g_run.scenario_path, err,
                        sizeof err);
        if (rc != 0) {
            fprintf(stderr, "brunt: --history: %s\n", err);
        }
    } else {
        fprintf(stderr, "brunt: --history %s: the result could not be built\n", g_run.db);
        rc = EXIT_INTERNAL;
    }
    jsonw_destroy(&w);
    return code == EXIT_OK && rc != 0 ? rc : code;
}

/* ---- the trend ------------------------------------------------------------------- */

enum hmetric { HM_P50, HM_P95, HM_P99, HM_RPS, HM_ERRORS, HM_REQUESTS };

static const char *const hmetric_names[] = {"p50", "p95", "p99", "rps", "errors", "requests"};

static double run_value(const struct hist_run *r, enum hmetric m)
{
    switch (m) {
    case HM_P50:
        return r->p50_ms;
    case HM_P95:
        return r->p95_ms;
    case HM_P99:
        return r->p99_ms;
    case HM_RPS:
        return r->rps;
    case HM_ERRORS:
        return r->error_rate * 100;
    case HM_REQUESTS:
        return r->requests;
    }
    return NAN;
}

static bool higher_is_worse(enum hmetric m)
{
    return m != HM_RPS && m != HM_REQUESTS;
}

static void fmt_hvalue(char *out, size_t cap, double v, enum hmetric m)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "-");
    } else if (m == HM_ERRORS) {
        snprintf(out, cap, "%.2f%%", v);
    } else if (m == HM_RPS) {
        snprintf(out, cap, "%.1f/s", v);
    } else if (m == HM_REQUESTS) {
        snprintf(out, cap, "%.0f", v);
    } else {
        snprintf(out, cap, v >= 100 ? "%.0fms" : "%.1fms", v);
    }
}

/* A bar of width cells for v of max (eighths of a cell). */
static void bar(char *out, size_t cap, double v, double max, int width)
{
    static const char *const part[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    size_t o = 0;
    out[0] = '\0';
    if (!(max > 0) || !isfinite(v) || v <= 0) {
        return;
    }
    int eighths = (int)lround(v / max * width * 8);
    eighths = eighths < 1 ? 1 : eighths;
    for (int i = 0; i < eighths / 8 && o + 4 < cap; i++) {
        memcpy(out + o, "█", 3);
        o += 3;
    }
    snprintf(out + o, cap - o, "%s", part[eighths % 8]);
}

/* compare's verdict of run b against run a from their stored documents. */
static enum cmp_verdict verdict_between(struct history *h, const struct hist_run *a,
                                        const struct hist_run *b)
{
    char err[512], *da = NULL, *db = NULL;
    size_t la, lb;
    struct result_doc *ra = NULL, *rb = NULL;
    enum cmp_verdict v = CMP_NA;
    if (history_document(h, a->id, &da, &la, err, sizeof err) == 0 &&
        history_document(h, b->id, &db, &lb, err, sizeof err) == 0 &&
        result_read_mem(da, la, "a", &ra, err, sizeof err) == 0 &&
        result_read_mem(db, lb, "b", &rb, err, sizeof err) == 0) {
        struct cmp_options o;
        struct cmp_report rep;
        cmp_options_default(&o);
        o.resamples = 400;
        if (compare_runs(ra, rb, &o, &rep, err, sizeof err) == 0) {
            v = rep.worst;
            for (size_t i = 0; v == CMP_SAME && i < rep.n_rows; i++) {
                v = rep.rows[i].verdict == CMP_IMPROVED ? CMP_IMPROVED : v;
            }
            cmp_report_destroy(&rep);
        }
    }
    result_doc_free(ra);
    result_doc_free(rb);
    free(da);
    free(db);
    return v;
}

static const char *mark_of(enum cmp_verdict v)
{
    return v == CMP_CRITICAL     ? " 🔴 critical"
           : v == CMP_REGRESSION ? " 🟠 regression"
           : v == CMP_IMPROVED   ? " ✅ improved"
                                 : "";
}

static enum cmp_verdict point_verdict(double prev, double cur, bool hiw)
{
    if (!(prev > 0) || !isfinite(cur)) {
        return CMP_NA;
    }
    double r = hiw ? cur / prev : prev / cur;
    return r > 1.5       ? CMP_CRITICAL
           : r > 1.2     ? CMP_REGRESSION
           : r < 1 / 1.2 ? CMP_IMPROVED
                         : CMP_SAME;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_block(struct history *h, const struct hist_run *runs, const size_t *idx, size_t n,
                        enum hmetric m, bool per_day, const char *span)
{
    const struct hist_run *first = &runs[idx[0]];
    double max = 0;
    size_t n_points = 0;
    char labels[256][32];
    double values[256];
    enum cmp_verdict marks[256];
    const struct hist_run *points[256];
    /* points: runs, or days (the median of the day's runs); the newest 256 */
    for (size_t k = 0; k < n;) {
        const struct hist_run *r = &runs[idx[k]];
        size_t end = k + 1;
        if (per_day) {
            while (end < n && strncmp(runs[idx[end]].start, r->start, 10) == 0) {
                end++;
            }
        }
        double vals[4096];
        size_t nv = 0;
        for (size_t j = k; j < end && nv < 4096; j++) {
            double v = run_value(&runs[idx[j]], m);
            if (isfinite(v)) {
                vals[nv++] = v;
            }
        }
        qsort(vals, nv, sizeof *vals, cmp_dbl);
        double v = nv ? (nv % 2 ? vals[nv / 2] : (vals[nv / 2 - 1] + vals[nv / 2]) / 2) : NAN;
        if (n_points == 256) {
            memmove(labels, labels + 1, sizeof labels - sizeof labels[0]);
            memmove(values, values + 1, sizeof values - sizeof values[0]);
            memmove(points, points + 1, sizeof points - sizeof points[0]);
            n_points--;
        }
        if (per_day) {
            snprintf(labels[n_points], sizeof labels[0], "%.5s (%zu)", r->start + 5, end - k);
        } else {
            snprintf(labels[n_points], sizeof labels[0], "%.5s %.5s", r->start + 5, r->start + 11);
        }
        values[n_points] = v;
        points[n_points] = &runs[idx[end - 1]];
        n_points++;
        k = end;
    }
    for (size_t i = 0; i < n_points; i++) {
        max = isfinite(values[i]) && values[i] > max ? values[i] : max;
        marks[i] = CMP_NA;
        if (i > 0) {
            marks[i] = per_day ? point_verdict(values[i - 1], values[i], higher_is_worse(m))
                               : verdict_between(h, points[i - 1], points[i]);
        }
    }
    printf("\n  %s %s · %s (%s, %zu run%s)\n", hmetric_names[m],
           m <= HM_P99      ? "http_req_duration"
           : m == HM_ERRORS ? "http_req_failed"
                            : "http_reqs",
           first->scenario, span, n, n == 1 ? "" : "s");
    printf("  load: %s\n", first->shape);
    for (size_t i = 0; i < n_points; i++) {
        char v[32], b[256];
        fmt_hvalue(v, sizeof v, values[i], m);
        bar(b, sizeof b, values[i], max, 24);
        const struct hist_run *r = points[i];
        printf("  %-12s %9s %s%s%s%.7s%s%s\n", labels[i], v, b, mark_of(marks[i]),
               !per_day && r->git_commit[0] ? "  " : "", !per_day ? r->git_commit : "",
               !per_day && r->git_branch[0] ? " " : "", !per_day ? r->git_branch : "");
    }
}

static void history_usage(FILE *f)
{
    fprintf(f,
            "usage: brunt history FILE.db [--last 7d] [--metric p95] [--per run|day]\n"
            "                             [--scenario NAME]\n"
            "       brunt history FILE.db --add RESULT.json [--tag key=value]...\n"
            "\n"
            "Prints the trend of the runs recorded with brunt run --history FILE.db, per\n"
            "scenario and load shape, with a bar per run (or per day) and a mark where\n"
            "brunt compare finds a regression against the previous run.\n"
            "\n"
            "  --last D          only runs of the last D (7d, 12h, ...)\n"
            "  --metric M        p50, p95 (default), p99, rps, errors, requests\n"
            "  --per run|day     a line per run (default) or per day (the day's median)\n"
            "  --scenario NAME   only that scenario\n"
            "  --add FILE        record a result file (with --tag key=value, repeatable)\n"
            "  --busy-timeout D  how long to wait for another writer's lock (default 10s)\n"
            "\n"
            "Exit: 0, 2 bad input (not a history, bad flags), 113 the database stayed locked.\n");
}

int cli_history(int argc, char **argv)
{
    static const struct option opts[] = {
        {"last", required_argument, NULL, 'l'},
        {"metric", required_argument, NULL, 'm'},
        {"per", required_argument, NULL, 'p'},
        {"scenario", required_argument, NULL, 's'},
        {"add", required_argument, NULL, 'a'},
        {"tag", required_argument, NULL, 't'},
        {"busy-timeout", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    enum hmetric m = HM_P95;
    bool per_day = false;
    const char *scenario = "", *add = NULL;
    const char *tags[HIST_MAX_TAGS];
    size_t n_tags = 0;
    const char *last_arg = "";
    uint64_t last_ns = 0, busy_ns = (uint64_t)DEFAULT_BUSY_MS * NS_PER_MS;
    char err[1024];
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            last_arg = optarg;
            if (parse_duration_ns(optarg, &last_ns) < 0 || last_ns == 0) {
                fprintf(stderr, "brunt history: --last '%s': expected a duration (7d, 12h)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'B':
            if (parse_duration_ns(optarg, &busy_ns) < 0 || busy_ns > 3600 * NS_PER_S) {
                fprintf(stderr,
                        "brunt history: --busy-timeout '%s': expected a duration up to 1h\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm': {
            size_t k;
            for (k = 0; k < sizeof hmetric_names / sizeof hmetric_names[0]; k++) {
                if (strcmp(optarg, hmetric_names[k]) == 0) {
                    break;
                }
            }
            if (k == sizeof hmetric_names / sizeof hmetric_names[0]) {
                fprintf(stderr,
                        "brunt history: --metric '%s': expected p50, p95, p99, rps, errors or "
                        "requests\n",
                        optarg);
                return EXIT_USAGE;
            }
            m = (enum hmetric)k;
            break;
        }
        case 'p':
            if (strcmp(optarg, "run") != 0 && strcmp(optarg, "day") != 0) {
                fprintf(stderr, "brunt history: --per '%s': expected run or day\n", optarg);
                return EXIT_USAGE;
            }
            per_day = strcmp(optarg, "day") == 0;
            break;
        case 's':
            scenario = optarg;
            break;
        case 'a':
            add = optarg;
            break;
        case 't':
            if (n_tags >= HIST_MAX_TAGS) {
                fprintf(stderr, "brunt history: at most %d tags\n", HIST_MAX_TAGS);
                return EXIT_USAGE;
            }
            tags[n_tags++] = optarg;
            break;
        case 'h':
            history_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "brunt history: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt history: unknown flag '%s' (brunt history --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "brunt history: expected one history file: brunt history FILE.db\n");
        return EXIT_USAGE;
    }
    const char *db = argv[optind];
    int busy_ms = (int)(busy_ns / NS_PER_MS);
    if (add != NULL) {
        char canon[1024], *doc;
        size_t len;
        if (history_tags_canon(tags, n_tags, canon, sizeof canon) < 0) {
            fprintf(stderr, "brunt history: --tag: expected key=value (no newline)\n");
            return EXIT_USAGE;
        }
        if (result_slurp(add, RESULT_MAX_BYTES, &doc, &len, err, sizeof err) < 0) {
            fprintf(stderr, "brunt history: %s\n", err);
            return EXIT_USAGE;
        }
        int rc = record_doc(db, busy_ms, doc, len, canon, NULL, err, sizeof err);
        free(doc);
        if (rc != 0) {
            fprintf(stderr, "brunt history: %s%s\n", rc == EXIT_USAGE ? "" : "", err);
        }
        return rc;
    }
    if (n_tags > 0) {
        fprintf(stderr, "brunt history: --tag goes with --add (or brunt run --history)\n");
        return EXIT_USAGE;
    }
    struct history *h = NULL;
    int rc = history_open(db, busy_ms, false, &h, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "brunt history: %s\n", err);
        return exit_of_hist(rc);
    }
    char since[40] = "", span[64] = "all runs";
    if (last_ns > 0) {
        time_t cut =
            (time_t)((clock_wall_ns() - (last_ns < clock_wall_ns() ? last_ns : 0)) / NS_PER_S);
        struct tm tm;
        gmtime_r(&cut, &tm);
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(span, sizeof span, "last %s", last_arg);
    }
    struct hist_run *runs = NULL;
    size_t n = 0;
    rc = history_list(h, since, scenario, &runs, &n, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "brunt history: %s\n", err);
        history_close(h);
        return exit_of_hist(rc);
    }
    if (n == 0) {
        printf("%s: no runs%s%s%s\n", db, scenario[0] ? " of " : "", scenario,
               last_ns ? " in that span" : "");
    }
    /* one block per (scenario, shape), in the order of their first run */
    bool *done = calloc(n ? n : 1, sizeof *done);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; done != NULL && idx != NULL && i < n; i++) {
        if (done[i]) {
            continue;
        }
        size_t k = 0;
        for (size_t j = i; j < n; j++) {
            if (!done[j] && strcmp(runs[j].scenario, runs[i].scenario) == 0 &&
                strcmp(runs[j].shape, runs[i].shape) == 0) {
                idx[k++] = j;
                done[j] = true;
            }
        }
        print_block(h, runs, idx, k, m, per_day, span);
    }
    printf("\n");
    free(done);
    free(idx);
    free(runs);
    history_close(h);
    return EXIT_OK;
}

/* ---- compare --history ----------------------------------------------------------- */

int cli_history_baseline(const char *db_path, const char *which, const struct result_doc *cur,
                         struct result_doc **out, char *label, size_t label_len, char *err,
                         size_t err_len)
{
    struct history *h = NULL;
    struct hist_run *runs = NULL;
    size_t n = 0;
    char scenario[256], shape[1200];
    *out = NULL;
    scenario_of(cur, scenario, sizeof scenario);
    shape_of(cur, shape, sizeof shape);
    int rc = history_open(db_path, DEFAULT_BUSY_MS, false, &h, err, err_len);
    if (rc == 0) {
        rc = history_list(h, "", scenario, &runs, &n, err, err_len);
    }
    if (rc < 0) {
        history_close(h);
        return exit_of_hist(rc);
    }
    bool last = strcmp(which, "last") == 0, best = strcmp(which, "best") == 0;
    long pick = -1;
    for (size_t i = 0; i < n; i++) {
        const struct hist_run *r = &runs[i];
        /* the same load shape, and earlier (never the run itself, never a later one) */
        if (strcmp(r->shape, shape) != 0 ||
            (cur->start[0] ? strcmp(r->start, cur->start) >= 0 : false)) {
            continue;
        }
        if (best) {
            if (pick < 0 || (isfinite(r->p95_ms) && r->p95_ms < runs[pick].p95_ms)) {
                pick = (long)i;
            }
        } else if (last || history_tags_match(r->tags, which)) {
            pick = (long)i; /* oldest first: the last match is the newest */
        }
    }
    int code = 0;
    if (pick < 0) {
        snprintf(err, err_len,
                 "%s: no earlier run of '%s' with this load shape%s%s%s to compare with", db_path,
                 scenario, last || best ? "" : " tagged '", last || best ? "" : which,
                 last || best ? "" : "'");
        code = EXIT_USAGE;
    } else {
        char *doc;
        size_t len;
        const struct hist_run *r = &runs[pick];
        rc = history_document(h, r->id, &doc, &len, err, err_len);
        snprintf(label, label_len, "%s#%lld (%s%s%.7s)", db_path, (long long)r->id, which,
                 r->git_commit[0] ? " " : "", r->git_commit);
        if (rc == 0) {
            rc = result_read_mem(doc, len, label, out, err, err_len) < 0 ? EXIT_USAGE : 0;
            free(doc);
            code = rc;
        } else {
            code = exit_of_hist(rc);
        }
    }
    free(runs);
    history_close(h);
    return code;
}
