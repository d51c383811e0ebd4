/*
 * procout — the process watcher's output: each target's section of the end-of-test
 * summary (min / avg / p95 / max of each figure, the memory trend, a death) and its
 * member of the result file (probes.process, docs/result-format.md).  See
 * proc_internal.h.
 */
#include "probe/proc_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "core/clock.h"
#include "probe/procfs.h"
#include "probe/spawn.h"

/* Statistics of one figure's history (probe_stats_of). */
static void figure_stats(const struct target *t, int f, struct probe_stats *s)
{
    probe_stats_of(t->hist.v[f], t->hist.n, s);
}

static void fmt_value(double v, const char *unit, char *buf, size_t cap)
{
    if (probe_fmt_scaled(v, unit, buf, cap)) {
        return;
    }
    if (v < 100 && v != floor(v)) {
        snprintf(buf, cap, "%.1f%s", v, unit);
    } else {
        snprintf(buf, cap, "%.0f%s", v, unit);
    }
}

void proc__summary(void *self, FILE *f, bool color)
{
    struct proc_probe *pp = self;
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        char limit[64];
        fmt_value(t->mem_limit, "B", limit, sizeof limit);
        fprintf(f, "\n  %swatched: %s%s (%s%s; may use %.2g CPU%s, memory limit %s%s)\n", bold,
                t->label, reset, t->by_name ? "by name" : "PID ", t->by_name ? "" : t->what,
                t->allowed_cpus, t->allowed_cpus == 1 ? "" : "s", limit,
                t->mem_limit_cgroup ? " from memory.max" : " = RAM");
        fprintf(f, "    %-22s %10s %10s %10s %10s\n", "", "min", "avg", "p95", "max");
        for (int fi = 0; fi < PF_COUNT; fi++) {
            struct probe_stats s;
            figure_stats(t, fi, &s);
            if (s.n == 0) {
                continue;
            }
            char a[32], b[32], c[32], d[32];
            const char *u = proc_figures[fi].unit;
            fmt_value(s.min, u, a, sizeof a);
            fmt_value(s.avg, u, b, sizeof b);
            fmt_value(s.p95, u, c, sizeof c);
            fmt_value(s.max, u, d, sizeof d);
            fprintf(f, "    %-22s %10s %10s %10s %10s\n", proc_figures[fi].label, a, b, c, d);
        }
        if (t->death.died) {
            char when[96] = "";
            if (t->death.t_s >= 0) {
                snprintf(when, sizeof when, " %.1f s into the run, at %.0f req/s with %u VUs",
                         t->death.t_s, t->death.rps, t->death.vus);
            }
            if (t->death.status_known && t->death.signaled) {
                fprintf(f, "    %sended during the run%s%s: PID %d killed by signal %d (%s)\n",
                        bold, reset, when, t->death.pid, t->death.code, strsignal(t->death.code));
            } else if (t->death.status_known) {
                fprintf(f, "    %sended during the run%s%s: PID %d exited with status %d\n", bold,
                        reset, when, t->death.pid, t->death.code);
            } else {
                fprintf(f,
                        "    %sended during the run%s%s: PID %d is gone (not brunt's child: "
                        "status unknown)\n",
                        bold, reset, when, t->death.pid);
            }
        }
        if (t->has_leak) {
            fprintf(f, "    memory: %s%s%s: %s\n", bold, fit_trend_name(t->leak.trend), reset,
                    t->leak.evidence);
        }
    }
    for (size_t i = 0; i < pp->n_unavailable; i++) {
        fprintf(f, "    unavailable: %s\n", pp->unavailable[i]);
    }
}

static void json_num_or_null(struct jsonw *w, double v)
{
    if (isnan(v) || isinf(v)) {
        jsonw_null(w);
    } else {
        jsonw_num(w, v);
    }
}

int proc__json(void *self, struct jsonw *w)
{
    struct proc_probe *pp = self;
    struct finding fs[2 * PROC_TARGETS_MAX];
    size_t nf = proc__findings(self, fs, sizeof fs / sizeof fs[0]);
    jsonw_obj_begin(w);
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_key(w, "interval_samples");
    jsonw_uint(w, pp->samples);
    jsonw_key(w, "unavailable");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < pp->n_unavailable; i++) {
        jsonw_str(w, pp->unavailable[i]);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "targets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "label");
        jsonw_str(w, t->label);
        jsonw_key(w, "watch");
        jsonw_str(w, t->what);
        jsonw_key(w, "by");
        jsonw_str(w, t->sp != NULL ? "spawn" : t->by_name ? "name" : "pid");
        jsonw_key(w, "pid");
        jsonw_int(w, t->root_pid);
        jsonw_key(w, "cgroup");
        jsonw_str(w, t->cgroup[0] ? t->cgroup : NULL);
        jsonw_key(w, "allowed_cpus");
        jsonw_num(w, t->allowed_cpus);
        jsonw_key(w, "cpu_quota_cores");
        json_num_or_null(w, t->cpu_quota > 0 ? t->cpu_quota : NAN);
        jsonw_key(w, "memory_limit_bytes");
        jsonw_num(w, t->mem_limit);
        jsonw_key(w, "memory_limit_from");
        jsonw_str(w, t->mem_limit_cgroup ? "memory.max" : "MemTotal");
        jsonw_key(w, "summary");
        jsonw_obj_begin(w);
        for (int f = 0; f < PF_COUNT; f++) {
            struct probe_stats s;
            figure_stats(t, f, &s);
            jsonw_key(w, proc_figures[f].metric);
            probe_stats_json(w, &s);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "died");
        if (t->death.died) {
            jsonw_obj_begin(w);
            jsonw_key(w, "pid");
            jsonw_int(w, t->death.pid);
            jsonw_key(w, "wall_ms");
            jsonw_uint(w, t->death.wall_ns / 1000000);
            jsonw_key(w, "t_s");
            json_num_or_null(w, t->death.t_s >= 0 ? t->death.t_s : NAN);
            jsonw_key(w, "rps");
            json_num_or_null(w, t->death.t_s >= 0 ? t->death.rps : NAN);
            jsonw_key(w, "vus");
            jsonw_uint(w, t->death.vus);
            jsonw_key(w, "exit_status");
            if (t->death.status_known && !t->death.signaled) {
                jsonw_int(w, t->death.code);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "signal");
            if (t->death.status_known && t->death.signaled) {
                jsonw_int(w, t->death.code);
            } else {
                jsonw_null(w);
            }
            jsonw_obj_end(w);
        } else {
            jsonw_null(w);
        }
        jsonw_key(w, "memory_trend");
        if (t->has_leak) {
            jsonw_obj_begin(w);
            jsonw_key(w, "verdict");
            jsonw_str(w, fit_trend_name(t->leak.trend));
            jsonw_key(w, "slope_mib_per_hour");
            jsonw_num(w, t->leak.per_hour / (1024.0 * 1024.0));
            jsonw_key(w, "r2");
            jsonw_num(w, t->leak.line.r2);
            jsonw_key(w, "mann_kendall_z");
            jsonw_num(w, t->leak.line.mk_z);
            jsonw_key(w, "samples");
            jsonw_uint(w, t->leak.line.n);
            jsonw_key(w, "window_s");
            jsonw_num(w, t->leak.t1 - t->leak.t0);
            jsonw_key(w, "min_window_s");
            jsonw_num(w, t->leak.min_window_s);
            jsonw_key(w, "hours_to_limit");
            json_num_or_null(w, t->leak.hours_to_limit >= 0 ? t->leak.hours_to_limit : NAN);
            jsonw_key(w, "evidence");
            jsonw_str(w, t->leak.evidence);
            jsonw_obj_end(w);
        } else {
            jsonw_null(w);
        }
        /* The per-interval series, columnar: wall_ms and one array per figure. */
        jsonw_key(w, "series");
        jsonw_obj_begin(w);
        jsonw_key(w, "wall_ms");
        jsonw_arr_begin(w);
        for (size_t k = 0; k < t->hist.n; k++) {
            jsonw_uint(w, t->hist.wall[k] / 1000000);
        }
        jsonw_arr_end(w);
        for (int f = 0; f < PF_COUNT; f++) {
            jsonw_key(w, proc_figures[f].metric);
            jsonw_arr_begin(w);
            for (size_t k = 0; k < t->hist.n; k++) {
                json_num_or_null(w, t->hist.v[f][k]);
            }
            jsonw_arr_end(w);
        }
        jsonw_obj_end(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}
