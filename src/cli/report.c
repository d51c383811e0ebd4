/*
 * report — `brunt report RESULT.json -o FILE...`: renders a saved result as the
 * analysis report (report/report.h), the format picked by each output's extension
 * (.html, .md, .xml for JUnit, .csv), and cli_write_reports(), which `brunt run
 * --report FILE` and `brunt demo` use to render straight from the in-memory result.
 *
 * Exit codes: 0 written; 2 usage (no -o, unknown extension); 4 the result cannot be
 * read (missing, truncated, not JSON, an unknown schema version, no samples); 5 a
 * report file cannot be written.  Each failure is one line on stderr, and no partial
 * file is left at an output path (the write is atomic).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "output/result.h"
#include "report/report.h"

#define MAX_OUTPUTS 16

static void report_usage(FILE *f)
{
    fprintf(f, "usage: brunt report RESULT.json -o FILE [-o FILE...]\n"
               "  renders a result file (brunt run --export) as a report; the format comes\n"
               "  from each FILE's extension:\n"
               "    .html   the analysis with charts, one self-contained page\n"
               "    .md     the analysis for a pull-request comment (< 65,536 characters)\n"
               "    .xml    JUnit XML: each threshold and criterion a testcase\n"
               "    .csv    the one-second time series\n"
               "  -o, --output FILE   repeatable\n"
               "  -q, --quiet         do not print the paths written\n"
               "\n"
               "exit codes: 0 ok, 2 usage, 4 the result cannot be read, 5 a report cannot\n"
               "be written\n");
}

/* Reads path whole (at most REPORT_MAX_DOC_BYTES).  0, or -1 with err. */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct dynbuf b;
    dynbuf_init(&b, REPORT_MAX_DOC_BYTES);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (dynbuf_add(&b, chunk, n) < 0) {
            snprintf(err, err_len, "cannot read %s: larger than %u MiB", path,
                     REPORT_MAX_DOC_BYTES >> 20);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc < 0) {
        dynbuf_destroy(&b);
        return -1;
    }
    if (b.data != NULL) {
        *out = dynbuf_take(&b, len);
    } else {
        *out = strdup("");
        *len = 0;
    }
    if (*out == NULL) {
        snprintf(err, err_len, "cannot read %s: out of memory", path);
        return -1;
    }
    return 0;
}

int cli_check_report_paths(const char *const *paths, size_t n, const char *who)
{
    for (size_t i = 0; i < n; i++) {
        if (report_format_from_path(paths[i]) == REPORT_NONE) {
            fprintf(stderr,
                    "%s: cannot tell the report format of '%s': expected a name ending in "
                    ".html, .md, .xml (JUnit) or .csv\n",
                    who, paths[i]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

int cli_write_reports(const char *doc, size_t len, const char *src, const char *const *paths,
                      size_t n, bool quiet, const char *who)
{
    struct report_model *m = calloc(1, sizeof *m);
    char err[1024];
    int code = EXIT_OK;
    if (m == NULL) {
        fprintf(stderr, "%s: out of memory\n", who);
        return EXIT_INTERNAL;
    }
    int rc = report_read(doc, len, m, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s: %s%s%s\n", who, src ? src : "", src ? ": " : "", err);
        code = rc == -ENOMEM ? EXIT_INTERNAL : EXIT_BAD_RESULT;
        goto out;
    }
    (void)report_load_flames(m, src); /* the profiles' flame graphs, for the HTML */
    for (size_t i = 0; i < n; i++) {
        if (report_write_file(paths[i], m, err, sizeof err) < 0) {
            fprintf(stderr, "%s: %s\n", who, err);
            code = EXIT_WRITE;
            continue;
        }
        if (!quiet) {
            fprintf(stderr, "%s: wrote the %s report %s\n", who,
                    report_format_name(report_format_from_path(paths[i])), paths[i]);
        }
    }
out:
    report_model_free(m);
    free(m);
    return code;
}

int cli_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *outs[MAX_OUTPUTS];
    size_t n_outs = 0;
    bool quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (n_outs == MAX_OUTPUTS) {
                fprintf(stderr, "brunt report: at most %d outputs (-o)\n", MAX_OUTPUTS);
                return EXIT_USAGE;
            }
            outs[n_outs++] = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            report_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "brunt report: flag '%s' needs a value (see brunt report --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt report: unknown flag '%s' (see brunt report --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "brunt report: no result file given: expected brunt report RESULT.json "
                        "-o FILE\n");
        return EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(stderr,
                "brunt report: unexpected argument '%s' (one result file; outputs go "
                "with -o)\n",
                argv[optind + 1]);
        return EXIT_USAGE;
    }
    if (n_outs == 0) {
        fprintf(stderr, "brunt report: no output given: expected -o FILE.html, .md, .xml or "
                        ".csv\n");
        return EXIT_USAGE;
    }
    int code = cli_check_report_paths(outs, n_outs, "brunt report");
    if (code != 0) {
        return code;
    }
    char *doc = NULL, err[1024];
    size_t len = 0;
    if (read_file(argv[optind], &doc, &len, err, sizeof err) < 0) {
        fprintf(stderr, "brunt report: %s\n", err);
        return EXIT_BAD_RESULT;
    }
    code = cli_write_reports(doc, len, argv[optind], outs, n_outs, quiet, "brunt report");
    free(doc);
    return code;
}
