/*
 * run — `brunt run`: the glue from the command line to the exit code.  The flags are
 * parsed and checked (run_flags.c); a URL becomes quick mode's plan (run_quick.c), a
 * scenario file takes its own path (run_scenario.c); either plan is run by
 * cli_execute_watched() (cli/watch.c, cli/run_execute.c).  What the files share is in
 * cli/run_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/run_internal.h"
#include "probe/probe.h"

int cli_run(int argc, char **argv)
{
    struct quick q;
    run__quick_init(&q);
    struct plan *plan = NULL;
    char **shown = NULL;
    /* Probe metrics exist before any threshold or criterion names one. */
    if (probe_define_metrics() < 0 || cli_db_define_metrics() < 0) {
        fprintf(stderr, "brunt run: cannot define the watchers' metrics\n");
        return EXIT_INTERNAL;
    }
    int code = run__parse_flags(&q, argc, argv);
    if (code != 0) {
        code = code < 0 ? EXIT_OK : code;
        goto out;
    }
    /* What the result and the summary show of the command line: no passwords. */
    shown = cli_db_redact_argv(argc, argv);
    if (shown == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    code = run__check_ready(&q);
    if (code != 0) {
        goto out;
    }
    if (!q.check_only) {
        char err[1024];
        code = cli_history_run_check(run__is_scenario_file(q.url) ? q.url : NULL, err, sizeof err);
        if (code != 0) {
            fprintf(stderr, "brunt run: --history %s\n", err);
            goto out;
        }
    }
    if (run__is_scenario_file(q.url)) {
        code = run__scenario_file(&q, argc, shown);
        goto out;
    }
    code = cli_db_probes(&q.db, q.db_probes, 2, &q.n_db);
    if (code != 0) {
        goto out;
    }
    code = run__parse_threshold_flags(&q);
    if (code != 0) {
        goto out;
    }
    bool unreachable = false;
    code = run__quick_plan(&q, &plan, &unreachable);
    if (code != 0) {
        goto out;
    }
    cli_warn_nofile(plan);
    code = cli_execute_watched(plan, q.thresholds, q.n_thresholds, run__quick_watch(&q),
                               q.export_path, q.quiet, q.no_summary, argc, shown, NULL, &q.outs);
out:
    cli_db_free_argv(argc, shown);
    plan_free(plan);
    for (size_t i = 0; i < q.n_thresholds; i++) {
        threshold_destroy(&q.thresholds[i]);
    }
    for (size_t i = 0; i < q.n_criteria; i++) {
        criterion_destroy(&q.criteria[i]);
    }
    if (q.body_owned) {
        free(q.body);
    }
    for (size_t i = 0; i < q.n_db; i++) { /* never handed to a probe set */
        q.db_probes[i].ops->free(q.db_probes[i].self);
    }
    cli_db_destroy(&q.db);
    return code;
}
