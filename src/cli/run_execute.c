/*
 * run_execute — cli_execute(): runs any plan (quick mode's, a scenario file's, a demo's)
 * and turns its report into what the user gets: the live progress, the summary, the
 * result file, the reports, the Prometheus endpoint, the history, and the exit code
 * (99 thresholds or criteria failed, 108 aborted by the scenario, 105 interrupted).
 * The target is probed once before the load so an unreachable one is a clear exit 3,
 * not a run full of errors.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/json.h"
#include "engine/run.h"
#include "metrics/threshold.h"
#include "output/progress.h"
#include "output/prom.h"
#include "output/result.h"
#include "output/summary.h"
#include "scenario/load.h"

/* The limits of thresholds on time trends, in seconds: extra latency bucket edges. */
size_t cli__threshold_bounds(const struct threshold *th, size_t n, double *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        if (th[i].metric >= 0 && th[i].metric < metric_count() &&
            metric_info[th[i].metric].contains == CONTAINS_TIME && th[i].agg != TH_COUNT) {
            out[k++] = th[i].value / 1000;
        }
    }
    return k;
}

/* Renders the reports from the in-memory result document. */
int cli__write_run_reports(const struct run_report *report, const struct cli_outputs *outs)
{
    struct jsonw w;
    int code = EXIT_OK;
    jsonw_init(&w, 0, RESULT_MAX_BYTES);
    int rc = result_to_json(report, &w);
    if (rc < 0) {
        fprintf(stderr, "brunt: cannot build the result for the reports: %s\n", strerror(-rc));
        code = EXIT_INTERNAL;
    } else {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        code = cli_write_reports(doc, len, NULL, outs->reports, outs->n_reports, false, "brunt");
    }
    jsonw_destroy(&w);
    return code;
}

int cli_execute(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                const struct cli_outputs *outs)
{
    return cli_execute_info(plan, thresholds, n_thresholds, export_path, quiet, no_summary, argc,
                            argv, NULL, outs);
}

int cli_execute_info(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                     const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                     const struct run_info *info, const struct cli_outputs *outs)
{
    char err[1024];
    struct prom *prom = NULL;
    if (export_path != NULL && result_check_path(export_path, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        return EXIT_USAGE;
    }
    int pr = plan_probe(
        plan, plan->connect_timeout_ns < 5 * NS_PER_S ? plan->connect_timeout_ns : 5 * NS_PER_S,
        err, sizeof err);
    if (pr < 0) {
        fprintf(stderr, "brunt: %s\n", err);
        return pr == -2 ? EXIT_USAGE : EXIT_UNREACHABLE;
    }
    if (outs != NULL && outs->prometheus != NULL) {
        double bounds[PROM_MAX_BOUNDS];
        size_t nb = cli__threshold_bounds(thresholds, n_thresholds, bounds, PROM_MAX_BOUNDS);
        if (prom_start(outs->prometheus, outs->prom_k6_names ? PROM_NAMES_K6 : PROM_NAMES_BRUNT,
                       bounds, nb, &prom, err, sizeof err) < 0) {
            fprintf(stderr, "brunt: %s\n", err);
            return EXIT_USAGE;
        }
        if (!quiet) {
            fprintf(stderr, "brunt: live metrics at http://%s/metrics\n", outs->prometheus);
        }
    }
    cli_install_signals();
    bool tty = isatty(STDERR_FILENO);
    struct progress *prog = progress_new(stderr, tty, quiet);
    struct run_options opts = {.progress = progress_cb, .progress_data = prog};
    cli__watch_options(&opts, prog); /* the probe set's feed (cli/watch.c) */
    if (prom != NULL || cli__watch_has_tick()) {
        opts.tick = cli__watch_tick; /* Prometheus and the database probes share it */
        opts.tick_data = prom;
    }
    struct run_report report;
    const struct scenario_plan *bp = cli_breakpoint_arm(plan, thresholds, n_thresholds);
    int rc = engine_run(plan, thresholds, n_thresholds, &opts, &report);
    progress_finish(prog);
    progress_free(prog);
    if (rc < 0) {
        fprintf(stderr, "brunt: the run could not start: %s\n", strerror(-rc));
        run_report_destroy(&report);
        prom_stop(prom);
        return EXIT_INTERNAL;
    }
    cli__watch_after_run(&report); /* probes stopped, leak/drift fits, criteria */
    /* A feeder with on_exhausted: stop_vu that ran out ended VUs early: say so. */
    const char *ran_out[4];
    size_t n_out = scenario_feeders_stopped(plan, ran_out, 4);
    for (size_t i = 0; i < n_out && i < 4; i++) {
        run_report_add_warning(&report,
                               "data feeder '%s' ran out of rows (on_exhausted: stop_vu): the "
                               "VUs that needed a row stopped, which ended the run early",
                               ran_out[i]);
    }
    report.argc = argc;
    report.argv = argv;
    int code = EXIT_OK;
    if (report.thresholds_failed || report.criteria_failed) {
        code = EXIT_THRESHOLDS;
    } else if (report.scenario_abort) {
        code = EXIT_ABORTED;
    } else if (report.interrupted) {
        code = EXIT_INTERRUPTED;
    }
    report.exit_code = code;
    if (!no_summary) {
        summary_print_info(stdout, &report, info, isatty(STDOUT_FILENO));
        cli_breakpoint_print(stdout, bp, &report);
        fflush(stdout);
    }
    if (export_path != NULL && result_write_info(export_path, &report, info, err, sizeof err) < 0) {
        fprintf(stderr, "brunt: %s\n", err);
        if (code == EXIT_OK) {
            code = EXIT_INTERNAL;
        }
    }
    if (outs != NULL && outs->n_reports > 0) {
        int rcode = cli__write_run_reports(&report, outs);
        if (rcode != EXIT_OK && code == EXIT_OK) {
            code = rcode;
        }
    }
    if (prom != NULL) {
        /* The final totals, for a scrape after the end (--prometheus-hold). */
        prom_tick(&report, prom);
        if (outs->prom_hold_ns > 0) {
            struct timespec ts = {.tv_sec = (time_t)(outs->prom_hold_ns / NS_PER_S),
                                  .tv_nsec = (long)(outs->prom_hold_ns % NS_PER_S)};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
        prom_stop(prom);
    }
    code = cli_history_after_run(&report, code);
    run_report_destroy(&report);
    return code;
}
