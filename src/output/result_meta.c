/*
 * result_meta — the result's "meta" member: when and where the run happened (times,
 * host, versions, the command line, run info, CPU use of the generator).  Part of
 * result.c's one pass; see result_internal.h.
 */
#include "output/result_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "core/clock.h"
#include "core/dynbuf.h"
#include "core/file.h"
#include "core/version.h"
#include "http/url.h"
#include "metrics/criteria.h"
#include "metrics/hist.h"
#include "metrics/packed.h"
#include "metrics/registry.h"
#include "probe/probe.h"
#include "probe/proc.h"

/* ---- meta ------------------------------------------------------------------------ */

static void put_kv_list(struct jsonw *w, const char *const *kv, size_t n)
{
    jsonw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        if (eq == NULL) {
            continue;
        }
        jsonw_keyn(w, kv[i], (size_t)(eq - kv[i]));
        jsonw_str(w, eq + 1);
    }
    jsonw_obj_end(w);
}

void result__put_meta(struct jsonw *w, const struct run_report *r, const struct run_info *info)
{
    char host[256];
    struct utsname un;

    jsonw_obj_begin(w);
    jsonw_key(w, "version");
    jsonw_str(w, BRUNT_VERSION);
    jsonw_key(w, "test_name");
    jsonw_str(w, info != NULL ? info->test_name : NULL);
    jsonw_key(w, "scenario_file");
    jsonw_str(w, info != NULL ? info->scenario_path : NULL);
    jsonw_key(w, "scenario_sha256");
    jsonw_str(w, info != NULL && info->scenario_sha256[0] ? info->scenario_sha256 : NULL);
    jsonw_key(w, "env");
    put_kv_list(w, info != NULL ? info->env : NULL, info != NULL ? info->n_env : 0);
    jsonw_key(w, "tags");
    put_kv_list(w, info != NULL ? info->tags : NULL, info != NULL ? info->n_tags : 0);
    jsonw_key(w, "command");
    jsonw_arr_begin(w);
    /* The program as invoked, then the arguments of `run` (argv[0] is "run"). */
    jsonw_str(w, program_invocation_short_name);
    for (int i = 0; i < r->argc && r->argv != NULL; i++) {
        jsonw_str(w, r->argv[i]);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "start");
    result__put_time(w, r->start_wall_ns);
    jsonw_key(w, "end");
    result__put_time(w, r->end_wall_ns);
    jsonw_key(w, "duration_ms");
    jsonw_num(w, result__ns_to_ms(r->duration_ns));

    jsonw_key(w, "machine");
    jsonw_obj_begin(w);
    jsonw_key(w, "hostname");
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        jsonw_str(w, host);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "cores");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    jsonw_int(w, cores > 0 ? cores : 0);
    jsonw_key(w, "kernel");
    if (uname(&un) == 0) {
        char k[sizeof un.sysname + sizeof un.release + 2];
        snprintf(k, sizeof k, "%s %s", un.sysname, un.release);
        jsonw_str(w, k);
    } else {
        jsonw_null(w);
    }
    jsonw_obj_end(w);

    jsonw_key(w, "interrupted");
    jsonw_bool(w, r->interrupted);
    jsonw_key(w, "aborted");
    jsonw_bool(w, r->aborted);
    jsonw_key(w, "abort_reason");
    jsonw_str(w, r->aborted ? r->abort_reason : NULL);
    jsonw_key(w, "exit_code");
    jsonw_int(w, r->exit_code);
    jsonw_key(w, "cpu");
    jsonw_obj_begin(w);
    jsonw_key(w, "user_ms");
    jsonw_num(w, r->cpu_user_ms);
    jsonw_key(w, "system_ms");
    jsonw_num(w, r->cpu_sys_ms);
    jsonw_key(w, "max_worker_busy");
    jsonw_num(w, r->max_worker_busy);
    jsonw_key(w, "send_lag_cpu_bound");
    jsonw_bool(w, r->target_rate > 0 && r->cpu_short_seconds > 0);
    jsonw_key(w, "cpu_short_seconds");
    jsonw_uint(w, r->target_rate > 0 ? r->cpu_short_seconds : 0);
    bool open = r->target_rate > 0;
    jsonw_key(w, "send_lag_held_back");
    jsonw_bool(w, open && r->held_back_seconds > 0);
    jsonw_key(w, "held_back_seconds");
    jsonw_uint(w, open ? r->held_back_seconds : 0);
    jsonw_key(w, "timer_waits");
    jsonw_uint(w, r->wakes_timed);
    jsonw_key(w, "late_wakes");
    jsonw_uint(w, r->wakes_late);
    jsonw_key(w, "wake_late_max_ms");
    jsonw_num(w, r->wake_late_max_ms);
    jsonw_key(w, "had_cpu_seconds");
    jsonw_uint(w, open ? r->had_cpu_seconds : 0);
    jsonw_key(w, "send_lag_p99_had_cpu_ms");
    if (open && r->had_cpu_seconds > 0 && !isnan(r->had_cpu_lag_p99_ms)) {
        jsonw_num(w, r->had_cpu_lag_p99_ms);
    } else {
        jsonw_null(w);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "answer_timing");
    jsonw_obj_begin(w);
    jsonw_key(w, "deferred");
    jsonw_bool(w, r->timing.deferring);
    jsonw_key(w, "kernel_timestamps");
    jsonw_uint(w, r->timing.stamped);
    jsonw_key(w, "read_time");
    jsonw_uint(w, r->timing.read_time);
    jsonw_key(w, "rejected_timestamps");
    jsonw_uint(w, r->timing.rejected);
    jsonw_key(w, "deferred_waits");
    jsonw_uint(w, r->timing.deferred_waits);
    jsonw_key(w, "deferring_stopped");
    jsonw_str(w, r->timing.stopped[0] != '\0' ? r->timing.stopped : NULL);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}
