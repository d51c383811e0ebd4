/*
 * watch — the part of `brunt run` around the load that watches the system under test:
 * spawning the target (--spawn/--ready), the probe set (--watch, the machine, and the
 * probes other modules add), the target's CPU and memory on the progress line, and after
 * the run the leak and drift fits and the success criteria.
 *
 * Order matters: the spawned target must be ready before the reachability probe of the
 * plan's origins, and the probes must start before the load so their first interval has
 * a baseline.  Everything started is stopped on every path out (nothing half-started is
 * left behind).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/text.h"
#include "engine/run.h"
#include "metrics/criteria.h"
#include "metrics/threshold.h"
#include "output/progress.h"
#include "output/prom.h"
#include "output/result.h"
#include "output/summary.h"
#include "probe/machine.h"
#include "probe/probe.h"
#include "probe/proc.h"
#include "probe/spawn.h"

struct watch_run {
    struct probe_set *set;
    struct proc_probe *proc;       /* owned by set */
    struct cli_profile_run prof;   /* the profilers, owned by set */
    struct machine_probe *machine; /* owned by set */
    struct spawn *sp;
    bool sp_owned; /* started here (--spawn), so stopped here */
    struct fit_verdict latency, errors;
};

/* The progress line's extra: "  target gunicorn CPU 41% (82% of a core) RSS 120 MiB". */
static void progress_extra(char *buf, size_t cap, void *data)
{
    struct watch_run *wr = data;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; wr->proc != NULL && i < proc_probe_targets(wr->proc) && len < cap; i++) {
        struct proc_live l;
        proc_probe_live(wr->proc, i, &l);
        int n;
        if (!l.valid) {
            continue;
        }
        if (l.dead) {
            n = snprintf(buf + len, cap - len, "  %s: ended", proc_probe_label(wr->proc, i));
        } else {
            n = snprintf(buf + len, cap - len, "  %s CPU %.0f%% mem %.0f MiB (%.1f%%)",
                         proc_probe_label(wr->proc, i), isnan(l.cpu) ? 0 : l.cpu,
                         l.rss_bytes / (1024.0 * 1024.0), isnan(l.memory) ? 0 : l.memory);
        }
        if (n < 0 || (size_t)n >= cap - len) {
            break;
        }
        len += (size_t)n;
    }
    if (wr->machine != NULL && len < cap) {
        struct machine_live m;
        machine_probe_live(wr->machine, &m);
        if (m.valid && !isnan(m.cpu)) {
            snprintf(buf + len, cap - len, "  machine CPU %.0f%%", m.cpu);
        }
    }
}

/* When the load is steady: after the last ramp up to the peak of every scenario. */
static double steady_start_s(const struct plan *plan, double duration_s)
{
    double t0 = 0;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        const struct scenario_plan *sc = &plan->scenarios[i];
        double start = (double)sc->start_time_ns / 1e9, at = start;
        if (sc->n_stages > 0) {
            double peak = -1, until = start;
            for (size_t k = 0; k < sc->n_stages; k++) {
                until += (double)sc->stages[k].duration_ns / 1e9;
                if (sc->stages[k].target > peak) {
                    peak = sc->stages[k].target;
                    at = until;
                }
            }
        } else {
            /* Constant load: let connections, caches and pools warm up first. */
            double len = (double)scenario_length_ns(sc) / 1e9;
            at = start + (len * 0.1 < 30 ? len * 0.1 : 30);
        }
        t0 = at > t0 ? at : t0;
    }
    return t0 < duration_s ? t0 : 0;
}

static void analyse(struct watch_run *wr, struct run_report *r, uint64_t steady_min_ns)
{
    double min_window_s = (double)steady_min_ns / 1e9; /* 0: FIT_MIN_WINDOW_S */
    double dur = (double)r->duration_ns / 1e9;
    double t0 = steady_start_s(r->plan, dur), t1 = dur;
    /* Memory of each watched target: RssAnon (file pages follow the page cache). */
    for (size_t i = 0; wr->proc != NULL && i < proc_probe_targets(wr->proc); i++) {
        const double *v;
        const uint64_t *wall;
        size_t n = proc_probe_history(wr->proc, i, PF_RSS_ANON, &v, &wall);
        double *t = malloc((n ? n : 1) * sizeof *t);
        if (t == NULL) {
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            t[k] = ((double)wall[k] - (double)r->start_wall_ns) / 1e9;
        }
        struct proc_death d;
        proc_probe_death(wr->proc, i, &d);
        if (d.died && wr->sp != NULL && d.pid == spawn_pid(wr->sp)) {
            spawn_keep_log(wr->sp); /* its last words are in it */
            fprintf(stderr, "brunt: the spawned target ended during the run; its output: %s\n",
                    spawn_log_path(wr->sp));
        }
        if (d.died) {
            double ts = ((double)d.wall_ns - (double)r->start_wall_ns) / 1e9;
            /* The last full second before brunt saw it gone. */
            size_t k = ts >= 1 ? (size_t)ts - 1 : 0;
            const struct ts_row *row = k < r->n_rows ? &r->rows[k] : NULL;
            proc_probe_set_death_load(wr->proc, i, ts, row ? (double)row->http_reqs : 0,
                                      row ? row->vus : 0);
        }
        struct fit_verdict fv;
        if (fit_leak(t, v, n, t0, t1, proc_probe_memory_limit(wr->proc, i), min_window_s, &fv) ==
            0) {
            proc_probe_set_analysis(wr->proc, i, &fv);
        }
        free(t);
    }
    /* Latency and errors per second over the same window. */
    size_t n = r->n_rows;
    double *t = malloc((n ? n : 1) * sizeof *t), *p95 = malloc((n ? n : 1) * sizeof *p95);
    double *er = malloc((n ? n : 1) * sizeof *er);
    if (t != NULL && p95 != NULL && er != NULL) {
        double med = 0;
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            const struct ts_row *row = &r->rows[k];
            t[k] = row->t;
            p95[k] = row->duration.count > 0 ? row->duration.p95 : NAN;
            er[k] = row->http_reqs > 0 ? (double)row->failed / (double)row->http_reqs : NAN;
            if (!isnan(p95[k])) {
                med += p95[k];
                m++;
            }
        }
        med = m > 0 ? med / (double)m : 0;
        double min_rise = med * 0.1 > 1 ? med * 0.1 : 1; /* 10 % and at least 1 ms */
        if (fit_drift(t, p95, n, t0, t1, min_rise, min_window_s, &wr->latency) == 0) {
            r->latency_trend = &wr->latency;
        }
        if (fit_drift(t, er, n, t0, t1, 0.01, min_window_s, &wr->errors) == 0) {
            r->error_trend = &wr->errors;
        }
    }
    free(t);
    free(p95);
    free(er);
}

static int watch_start(const struct cli_watch *w, const struct plan *plan, struct watch_run *wr)
{
    char err[1024];
    int code = EXIT_OK;
    if (w->spawn != NULL) {
        struct spawn_options so = {
            .command = w->spawn,
            .ready = w->ready,
            .log_path = w->spawn_log,
            .ready_timeout_ns = w->ready_timeout_ns,
            .cancel = cli_signalled(), /* ^C ends the wait at once (exit 105) */
        };
        int rc = spawn_start(&so, &wr->sp, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "brunt run: %s\n", err);
            return rc == SPAWN_E_READY       ? EXIT_USAGE
                   : rc == SPAWN_E_CANCELLED ? EXIT_INTERRUPTED
                                             : EXIT_SPAWN;
        }
        wr->sp_owned = true;
        char shown[1024];
        snprintf(shown, sizeof shown, "%s", w->spawn);
        text_mask_secrets(shown, sizeof shown);
        fprintf(stderr, "brunt run: spawned '%s' as PID %d (output: %s%s)\n", shown,
                (int)spawn_pid(wr->sp), spawn_log_path(wr->sp),
                w->spawn_log == NULL ? ", removed after a clean run" : "");
    } else if (w->spawned != NULL) {
        wr->sp = w->spawned;
    }
    bool any = wr->sp != NULL || w->n_watch > 0 || w->machine || w->n_extra > 0 || w->profile.on ||
               w->profile.pprof != NULL;
    if (!any) {
        return EXIT_OK;
    }
    wr->set = probe_set_new(w->interval_ns ? w->interval_ns : PROBE_INTERVAL_NS);
    if (wr->set == NULL) {
        goto nomem;
    }
    if (wr->sp != NULL || w->n_watch > 0) {
        wr->proc = proc_probe_new();
        if (wr->proc == NULL) {
            goto nomem;
        }
        if (wr->sp != NULL) {
            char pid[16];
            snprintf(pid, sizeof pid, "%d", (int)spawn_pid(wr->sp));
            (void)proc_probe_add(wr->proc, pid, spawn_name(wr->sp), wr->sp);
        }
        for (size_t i = 0; i < w->n_watch; i++) {
            int rc = proc_probe_add(wr->proc, w->watch[i], NULL, NULL);
            if (rc < 0) {
                fprintf(stderr,
                        "brunt run: bad --watch '%s': expected a PID or a command name of at "
                        "most 15 bytes (as /proc/PID/comm holds it), at most %d targets\n",
                        w->watch[i], PROC_TARGETS_MAX);
                proc_probe_as_probe(wr->proc).ops->free(wr->proc);
                wr->proc = NULL;
                return EXIT_USAGE;
            }
        }
        if (probe_set_add(wr->set, proc_probe_as_probe(wr->proc), true) < 0) {
            wr->proc = NULL;
            goto nomem;
        }
    }
    if (w->machine) {
        wr->machine = machine_probe_new(plan->threads);
        if (wr->machine == NULL ||
            probe_set_add(wr->set, machine_probe_as_probe(wr->machine), false) < 0) {
            wr->machine = NULL;
            goto nomem;
        }
    }
    for (size_t i = 0; i < w->n_extra; i++) {
        if (probe_set_add(wr->set, w->extra[i], w->extra_required && w->extra_required[i]) < 0) {
            fprintf(stderr, "brunt run: too many probes (at most %d)\n", PROBE_SET_MAX);
            return EXIT_USAGE;
        }
    }
    code = cli_profile_add(&w->profile, plan, wr->set, wr->proc, &wr->prof);
    if (code != EXIT_OK) {
        return code;
    }
    int rc = probe_set_start(wr->set, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        return rc == -ESRCH ? EXIT_WATCH : EXIT_INTERNAL;
    }
    for (size_t i = 0; i < probe_set_warning_count(wr->set); i++) {
        fprintf(stderr, "brunt run: warning: %s\n", probe_set_warning(wr->set, i));
    }
    return code;
nomem:
    fprintf(stderr, "brunt run: out of memory setting up the watchers\n");
    return EXIT_INTERNAL;
}

static void watch_free(struct watch_run *wr)
{
    probe_set_free(wr->set); /* first: the process watcher refers to the spawn */
    if (wr->sp_owned) {
        spawn_free(wr->sp);
    }
    memset(wr, 0, sizeof *wr);
}

/* The watching of the one run in progress (cli_execute_watched() sets it). */
static struct watch_run g_wr;
static const struct cli_watch *g_watch;
static const char *g_export_path; /* the result file, the profiles' files go beside it */

void cli__watch_options(struct run_options *opts, struct progress *prog)
{
    static struct run_feed feed;
    if (g_wr.set == NULL) {
        return;
    }
    progress_set_extra(prog, progress_extra, &g_wr);
    probe_set_feed(g_wr.set, &feed);
    opts->feed = &feed;
}

void cli__watch_tick(const struct run_report *r, void *prom)
{
    if (prom != NULL) {
        prom_tick(r, prom);
    }
    if (g_watch != NULL && g_watch->tick != NULL) {
        g_watch->tick(r, g_watch->hook_data);
    }
}

bool cli__watch_has_tick(void)
{
    return g_watch != NULL && g_watch->tick != NULL;
}

void cli__watch_after_run(struct run_report *report)
{
    if (g_wr.set != NULL) {
        probe_set_stop(g_wr.set);
        cli_profile_finish(&g_wr.prof, g_wr.set, g_export_path);
    }
    if (g_watch == NULL) {
        return;
    }
    report->probes = g_wr.set;
    analyse(&g_wr, report, g_watch->steady_min_ns);
    if (g_watch->after_run != NULL) {
        g_watch->after_run(report, g_watch->hook_data);
    }
    if (g_watch->n_criteria > 0) {
        struct hist *scratch = hist_new();
        double secs = (double)report->duration_ns / 1e9;
        for (size_t i = 0; i < g_watch->n_criteria; i++) {
            if (criterion_eval(&g_watch->criteria[i], report->total, secs, scratch) == CRIT_FAIL) {
                report->criteria_failed = true;
            }
        }
        hist_free(scratch);
        report->criteria = g_watch->criteria;
        report->n_criteria = g_watch->n_criteria;
    }
}

int cli_execute_watched(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                        const struct cli_watch *w, const char *export_path, bool quiet,
                        bool no_summary, int argc, char **argv, const struct run_info *info,
                        const struct cli_outputs *outs)
{
    struct cli_watch none = {0};
    memset(&g_wr, 0, sizeof g_wr);
    g_watch = w != NULL ? w : &none;
    g_export_path = export_path;
    cli_install_signals(); /* before spawning: a ^C while waiting stops the child too */
    int code = watch_start(g_watch, plan, &g_wr);
    if (code == EXIT_OK) {
        code = cli_execute_info(plan, thresholds, n_thresholds, export_path, quiet, no_summary,
                                argc, argv, info, outs);
    }
    watch_free(&g_wr);
    g_watch = NULL;
    g_export_path = NULL;
    return code;
}
