/*
 * breakpoint — the breakpoint executor's part in `brunt run` (docs/scenarios.md): a
 * scenario file's ramping arrival rate with every threshold armed abortOnFail, and after
 * the run the summary's lines on where it broke, the rate that held a second before and
 * what broke (analysis/breakpoint judges; this file only arms and prints).
 */
#include <stdio.h>

#include "analysis/breakpoint.h"
#include "cli/cli.h"
#include "engine/run.h"
#include "metrics/threshold.h"

const struct scenario_plan *cli_breakpoint_arm(const struct plan *plan, struct threshold *th,
                                               size_t n)
{
    const struct scenario_plan *bp = NULL;
    for (size_t i = 0; plan != NULL && i < plan->n_scenarios && bp == NULL; i++) {
        bp = plan->scenarios[i].breakpoint ? &plan->scenarios[i] : NULL;
    }
    for (size_t i = 0; bp != NULL && i < n; i++) {
        th[i].abort_on_fail = true;
    }
    if (bp != NULL && n == 0) {
        fprintf(stderr,
                "brunt: warning: scenario '%s' is a breakpoint ramp without "
                "thresholds: nothing can break, it ramps to its end\n",
                bp->name);
    }
    return bp;
}

void cli_breakpoint_print(FILE *f, const struct scenario_plan *sc, const struct run_report *r)
{
    struct bp_result b;
    if (sc == NULL) {
        return;
    }
    uint64_t ran = breakpoint_ran_ns(r->stop_after_ns, r->duration_ns);
    breakpoint_judge(sc, ran, r->aborted && r->thresholds_failed, &b);
    fprintf(f, "\n  breakpoint · scenario '%s' (ramp to %.1f/s)\n", sc->name, b.peak);
    if (!b.broke) {
        fprintf(f, "    nothing broke: the thresholds held up to %.1f/s, the ramp's %s\n",
                b.reached, r->interrupted ? "rate when it was interrupted" : "end");
        return;
    }
    fprintf(f, "    broke at %.1f/s (%.1f s into the ramp); held at %.1f/s a second before\n",
            b.broke_at, b.t_s, b.held);
    for (size_t i = 0; i < r->n_thresholds; i++) {
        const struct threshold *t = &r->thresholds[i];
        if (t->failed) {
            fprintf(f, "    what broke: %s %s (observed %g)\n", t->metric_expr, t->source,
                    t->observed);
        }
    }
}
