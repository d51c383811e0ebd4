/*
 * run_quick — quick mode's plan: one URL and the wrk/wrk2-style flags into a
 * one-scenario plan (constant-vus; -n shared-iterations; -s ramping-vus; -R constant- or
 * ramping-arrival-rate), its request rendered once by cli/plan_build.c.  Also what the
 * flags put into any plan, a scenario file's as well: the TLS flags and the watch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_internal.h"
#include "core/clock.h"

/* The TLS flags into plan (over what a scenario file set).  0, or -1 out of memory. */
int run__quick_tls(const struct quick *q, struct plan *plan)
{
    if (q->insecure) {
        plan->tls_insecure = true;
    }
    if (q->http2) {
        plan->http2 = true;
    }
    const char *src[3] = {q->cacert, q->cert, q->key};
    char **dst[3] = {&plan->tls_cacert, &plan->tls_cert, &plan->tls_key};
    for (size_t i = 0; i < 3; i++) {
        if (src[i] != NULL) {
            free(*dst[i]);
            if ((*dst[i] = strdup(src[i])) == NULL) {
                return -1;
            }
        }
    }
    return 0;
}

/* Builds the one-scenario plan of quick mode. */
int run__quick_plan(struct quick *q, struct plan **out, bool *unreachable)
{
    char err[1024];
    struct plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL) {
        return EXIT_INTERNAL;
    }
    plan->scenarios = calloc(1, sizeof *plan->scenarios);
    if (plan->scenarios == NULL) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    plan->n_scenarios = 1;
    struct scenario_plan *sc = &plan->scenarios[0];
    sc->name = strdup("default");
    sc->steps = calloc(1, sizeof *sc->steps);
    if (sc->name == NULL || sc->steps == NULL) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    struct request_def def = {
        .method = q->method,
        .url = q->url,
        .headers = q->headers,
        .n_headers = q->n_headers,
        .body = q->body,
        .body_len = q->body_len,
        .pipeline = (unsigned)q->pipeline,
    };
    if (plan_request_step(plan, &sc->steps[0], &def, unreachable, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        plan_free(plan);
        return *unreachable ? EXIT_UNREACHABLE : EXIT_USAGE;
    }
    sc->n_steps = 1;
    if (run__quick_tls(q, plan) < 0) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->threads = q->threads ? (int)q->threads : (int)(cores > 0 ? cores : 1);
    plan->timeout_ns = q->timeout_ns;
    plan->connect_timeout_ns = q->connect_timeout_ns;
    plan->grace_ns = q->grace_ns;
    plan->run_tags = q->tags; /* --tag: on every sample */
    plan->n_run_tags = q->n_tags;
    sc->graceful_stop_ns = q->grace_ns;
    sc->graceful_ramp_down_ns = q->grace_ns;
    sc->pipeline = (uint32_t)q->pipeline;
    sc->duration_ns = q->duration_ns;
    sc->time_unit_ns = NS_PER_S;
    if (q->n_stages > 0) {
        sc->stages = calloc(q->n_stages, sizeof *sc->stages);
        if (sc->stages == NULL) {
            plan_free(plan);
            return EXIT_INTERNAL;
        }
        memcpy(sc->stages, q->stages, q->n_stages * sizeof *sc->stages);
        sc->n_stages = q->n_stages;
    }
    if (q->open) {
        sc->executor = q->n_stages ? EXEC_RAMPING_ARRIVAL_RATE : EXEC_CONSTANT_ARRIVAL_RATE;
        sc->rate = q->rate;
        sc->start_rate = q->rate;
        sc->pre_allocated_vus = (uint32_t)q->connections;
        sc->max_vus =
            (uint32_t)(q->max_vus ? q->max_vus : (q->connections > 1000 ? q->connections : 1000));
        if (sc->max_vus < sc->pre_allocated_vus) {
            sc->pre_allocated_vus = sc->max_vus;
        }
        sc->max_queue_ns = q->max_queue_ns;
    } else if (q->n_stages > 0) {
        sc->executor = EXEC_RAMPING_VUS;
        sc->vus = 0;
    } else if (q->requests > 0) {
        sc->executor = EXEC_SHARED_ITERATIONS;
        sc->vus = (uint32_t)q->connections;
        sc->iterations = q->requests;
        if (!q->duration_set) {
            sc->duration_ns = 10 * 60 * NS_PER_S; /* k6's default maxDuration */
        }
        if ((uint64_t)sc->vus > q->requests) {
            sc->vus = (uint32_t)q->requests;
        }
    } else {
        sc->executor = EXEC_CONSTANT_VUS;
        sc->vus = (uint32_t)q->connections;
    }
    plan_fit_threads(plan); /* more threads than VUs would leave threads idle */
    *out = plan;
    return 0;
}

/* The watch options from the flags: the machine is watched unless --no-watch-machine. */
const struct cli_watch *run__quick_watch(struct quick *q)
{
    q->watch.machine = !q->no_watch_machine;
    q->watch.criteria = q->criteria;
    q->watch.n_criteria = q->n_criteria;
    if (q->n_db > 0) {
        q->watch.extra = q->db_probes;
        q->watch.n_extra = q->n_db;
        q->n_db = 0; /* the probe set owns them now */
        q->watch.tick = cli_db_tick;
        q->watch.after_run = cli_db_after;
        q->watch.hook_data = &q->db;
    }
    return &q->watch;
}
