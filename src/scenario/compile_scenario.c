/*
 * compile_scenario — `scenarios:`: each named scenario's executor and options validated
 * as k6 validates them (the keys each executor takes, k6's camelCase spellings as
 * aliases, stages, rates and VU counts in range), its defaults, and its flow compiled
 * (compile_flow.c) into a struct scenario_plan with its struct flow_scenario.  Load
 * time, one thread.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/rng.h"
#include "scenario/load_internal.h"

/* ------------------------------------------------------------------------------------ */
/* Scenarios and executors                                                               */

/* Every scenario key: canonical spelling, k6's camelCase alias (or NULL). */
enum skey {
    K_EXECUTOR,
    K_START_TIME,
    K_GRACEFUL_STOP,
    K_DEFAULTS,
    K_FLOW,
    K_VUS,
    K_ITERATIONS,
    K_MAX_DURATION,
    K_DURATION,
    K_START_VUS,
    K_STAGES,
    K_GRACEFUL_RAMP_DOWN,
    K_RATE,
    K_START_RATE,
    K_TIME_UNIT,
    K_PRE_ALLOCATED_VUS,
    K_MAX_VUS,
    K_MAX_QUEUE,
    K_COUNT
};

static const char *const SKEY[K_COUNT][2] = {
    [K_EXECUTOR] = {"executor", NULL},
    [K_START_TIME] = {"start_time", "startTime"},
    [K_GRACEFUL_STOP] = {"graceful_stop", "gracefulStop"},
    [K_DEFAULTS] = {"defaults", NULL},
    [K_FLOW] = {"flow", NULL},
    [K_VUS] = {"vus", NULL},
    [K_ITERATIONS] = {"iterations", NULL},
    [K_MAX_DURATION] = {"max_duration", "maxDuration"},
    [K_DURATION] = {"duration", NULL},
    [K_START_VUS] = {"start_vus", "startVUs"},
    [K_STAGES] = {"stages", NULL},
    [K_GRACEFUL_RAMP_DOWN] = {"graceful_ramp_down", "gracefulRampDown"},
    [K_RATE] = {"rate", NULL},
    [K_START_RATE] = {"start_rate", "startRate"},
    [K_TIME_UNIT] = {"time_unit", "timeUnit"},
    [K_PRE_ALLOCATED_VUS] = {"pre_allocated_vus", "preAllocatedVUs"},
    [K_MAX_VUS] = {"max_vus", "maxVUs"},
    [K_MAX_QUEUE] = {"max_queue", "maxQueue"},
};

#define KB(k) (1u << (k))
#define COMMON \
    (KB(K_EXECUTOR) | KB(K_START_TIME) | KB(K_GRACEFUL_STOP) | KB(K_DEFAULTS) | KB(K_FLOW))

static const char *const EXECUTORS[] = {
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
    "per-vu-iterations",
    "shared-iterations",
    "breakpoint", /* BREAKPOINT_EX: ramping-arrival-rate stopped where the thresholds break */
    NULL,
};
#define BREAKPOINT_EX 6

/* Indexed by enum executor_kind: the keys each executor takes. */
static const unsigned EXEC_KEYS[] = {
    [EXEC_CONSTANT_VUS] = COMMON | KB(K_VUS) | KB(K_DURATION),
    [EXEC_RAMPING_VUS] = COMMON | KB(K_START_VUS) | KB(K_STAGES) | KB(K_GRACEFUL_RAMP_DOWN),
    [EXEC_CONSTANT_ARRIVAL_RATE] = COMMON | KB(K_RATE) | KB(K_TIME_UNIT) | KB(K_DURATION) |
                                   KB(K_PRE_ALLOCATED_VUS) | KB(K_MAX_VUS) | KB(K_MAX_QUEUE),
    [EXEC_RAMPING_ARRIVAL_RATE] = COMMON | KB(K_START_RATE) | KB(K_TIME_UNIT) | KB(K_STAGES) |
                                  KB(K_PRE_ALLOCATED_VUS) | KB(K_MAX_VUS) | KB(K_MAX_QUEUE),
    [EXEC_PER_VU_ITERATIONS] = COMMON | KB(K_VUS) | KB(K_ITERATIONS) | KB(K_MAX_DURATION),
    [EXEC_SHARED_ITERATIONS] = COMMON | KB(K_VUS) | KB(K_ITERATIONS) | KB(K_MAX_DURATION),
    [BREAKPOINT_EX] = COMMON | KB(K_START_RATE) | KB(K_TIME_UNIT) | KB(K_STAGES) |
                      KB(K_PRE_ALLOCATED_VUS) | KB(K_MAX_VUS) | KB(K_MAX_QUEUE),
};

static const char *const SCEN_DEFAULT_KEYS[] = {"headers", "timeout", NULL};

static int parse_stages(struct loader *L, struct ynode *n, bool vus, struct scenario_plan *sc)
{
    if (n->type != Y_SEQ || n->n == 0) {
        return load__err(L, n,
                         "found %s for stages (expected a list such as [{duration: 1m, "
                         "target: 100}])",
                         n->type == Y_SEQ ? "an empty list" : load__ytype_name(n));
    }
    if (n->n > SCENARIO_MAX_STAGES) {
        return load__err(L, n, "too many stages (at most %d)", SCENARIO_MAX_STAGES);
    }
    static const char *const keys[] = {"duration", "target", NULL};
    sc->stages = calloc(n->n, sizeof *sc->stages);
    if (sc->stages == NULL) {
        return load__oom(L);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n->n; i++) {
        struct ynode *s = n->kids[i];
        if (load__check_map(L, s, "a stage", keys) < 0) {
            return -1;
        }
        struct ynode *d = load__mget(s, "duration"), *t = load__mget(s, "target");
        if (d == NULL || t == NULL) {
            return load__err(L, s, "a stage without %s (expected {duration: 1m, target: 100})",
                             d == NULL ? "duration" : "target");
        }
        struct stage *st = &sc->stages[i];
        if (load__get_duration(L, d, true, &st->duration_ns) < 0) {
            return -1;
        }
        if (vus) {
            uint64_t v;
            if (load__get_u64(L, t, 0, 1000000, &v) < 0) {
                return -1;
            }
            st->target = (double)v;
        } else if (load__get_double(L, t, 0, 1e9, &st->target) < 0) {
            return -1;
        }
        total += st->duration_ns;
        sc->n_stages = i + 1;
    }
    if (total == 0) {
        return load__err(L, n,
                         "every stage lasts 0s (expected at least one stage with a duration)");
    }
    return 0;
}

void load__fsc_http(struct loader *L, struct flow_scenario *fsc)
{
    fsc->max_redirects = scenario_max_redirects >= 0 ? (uint32_t)scenario_max_redirects
                         : L->has_max_redirects      ? L->max_redirects
                                                     : 10; /* k6's default */
    fsc->no_cookies_reset = L->no_cookies_reset;
    fsc->plan = L->plan;
}

static int compile_scenario(struct loader *L, struct ynode *key, struct ynode *n,
                            struct scenario_plan *sc, struct flow_scenario *fsc)
{
    static const char *all_keys[2 * K_COUNT + 1];
    size_t nk = 0;
    for (int k = 0; k < K_COUNT; k++) {
        all_keys[nk++] = SKEY[k][0];
        if (SKEY[k][1] != NULL) {
            all_keys[nk++] = SKEY[k][1];
        }
    }
    all_keys[nk] = NULL;
    const char *name = key->s;
    for (const char *p = name; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-')) {
            return load__err(
                L, key, "bad scenario name '%s' (expected letters, digits, '_' and '-')", name);
        }
    }
    if (*name == '\0' || strlen(name) > 128) {
        return load__err(L, key,
                         "bad scenario name (expected 1 to 128 letters, digits, '_' or '-')");
    }
    if (load__check_map(L, n, "a scenario", all_keys) < 0) {
        return -1;
    }
    sc->name = strdup(name);
    if (sc->name == NULL) {
        return load__oom(L);
    }
    struct ynode *v[K_COUNT];
    bool bad = false;
    for (int k = 0; k < K_COUNT; k++) {
        v[k] = load__mget2(L, n, SKEY[k][0], SKEY[k][1], &bad);
        if (bad) {
            return -1;
        }
    }
    if (v[K_EXECUTOR] == NULL) {
        return load__err(L, key,
                         "scenario '%s' has no executor (expected executor: one of "
                         "constant-vus, ramping-vus, constant-arrival-rate, "
                         "ramping-arrival-rate, per-vu-iterations, shared-iterations, breakpoint)",
                         name);
    }
    int ex;
    if (load__get_enum(L, v[K_EXECUTOR], "executor", EXECUTORS, &ex) < 0) {
        return -1;
    }
    const char *exn = EXECUTORS[ex];
    sc->breakpoint = ex == BREAKPOINT_EX;
    sc->executor = sc->breakpoint ? EXEC_RAMPING_ARRIVAL_RATE : (enum executor_kind)ex;
    for (int k = 0; k < K_COUNT; k++) {
        if (v[k] != NULL && !(EXEC_KEYS[ex] & KB(k))) {
            char list[400];
            size_t off = 0;
            list[0] = '\0';
            for (int j = 0; j < K_COUNT; j++) {
                if ((EXEC_KEYS[ex] & KB(j)) && !(COMMON & KB(j))) {
                    off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                                            SKEY[j][0]);
                }
            }
            return load__err(L, load__mkey_of(n, v[k]),
                             "'%s' is not an option of executor %s (expected "
                             "%s, start_time, graceful_stop, defaults, flow)",
                             load__mkey_of(n, v[k])->s, exn, list);
        }
    }
    /* Defaults as in k6. */
    sc->graceful_stop_ns = 30 * NS_PER_S;
    sc->graceful_ramp_down_ns = 30 * NS_PER_S;
    sc->time_unit_ns = NS_PER_S;
    sc->max_queue_ns = 10 * NS_PER_S;
    sc->pipeline = 1;
    uint64_t u;
    if (v[K_START_TIME] && load__get_duration(L, v[K_START_TIME], true, &sc->start_time_ns) < 0) {
        return -1;
    }
    if (v[K_GRACEFUL_STOP] &&
        load__get_duration(L, v[K_GRACEFUL_STOP], true, &sc->graceful_stop_ns) < 0) {
        return -1;
    }
    if (v[K_GRACEFUL_RAMP_DOWN] &&
        load__get_duration(L, v[K_GRACEFUL_RAMP_DOWN], true, &sc->graceful_ramp_down_ns) < 0) {
        return -1;
    }
    if (v[K_TIME_UNIT] && load__get_duration(L, v[K_TIME_UNIT], false, &sc->time_unit_ns) < 0) {
        return -1;
    }
    if (v[K_MAX_QUEUE] && load__get_duration(L, v[K_MAX_QUEUE], true, &sc->max_queue_ns) < 0) {
        return -1;
    }
    switch (sc->executor) {
    case EXEC_CONSTANT_VUS:
        sc->vus = 1;
        if (v[K_VUS]) {
            if (load__get_u64(L, v[K_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_DURATION] == NULL) {
            return load__err(L, key,
                             "scenario '%s' (constant-vus) has no duration (expected "
                             "duration: such as 30s)",
                             name);
        }
        if (load__get_duration(L, v[K_DURATION], false, &sc->duration_ns) < 0) {
            return -1;
        }
        break;
    case EXEC_RAMPING_VUS:
        sc->vus = 1;
        if (v[K_START_VUS]) {
            if (load__get_u64(L, v[K_START_VUS], 0, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_STAGES] == NULL) {
            return load__err(L, key,
                             "scenario '%s' (ramping-vus) has no stages (expected stages: "
                             "[{duration: 1m, target: 100}])",
                             name);
        }
        if (parse_stages(L, v[K_STAGES], true, sc) < 0) {
            return -1;
        }
        break;
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE: {
        bool constant = sc->executor == EXEC_CONSTANT_ARRIVAL_RATE;
        if (constant) {
            if (v[K_RATE] == NULL) {
                return load__err(L, key,
                                 "scenario '%s' (constant-arrival-rate) has no rate "
                                 "(expected rate: iterations per time_unit, such as 100)",
                                 name);
            }
            if (load__get_double(L, v[K_RATE], 1e-9, 1e9, &sc->rate) < 0) {
                return -1;
            }
            sc->start_rate = sc->rate;
            if (v[K_DURATION] == NULL) {
                return load__err(L, key,
                                 "scenario '%s' (constant-arrival-rate) has no duration "
                                 "(expected duration: such as 30s)",
                                 name);
            }
            if (load__get_duration(L, v[K_DURATION], false, &sc->duration_ns) < 0) {
                return -1;
            }
        } else {
            if (v[K_START_RATE] &&
                load__get_double(L, v[K_START_RATE], 0, 1e9, &sc->start_rate) < 0) {
                return -1;
            }
            if (v[K_STAGES] == NULL) {
                return load__err(L, key,
                                 "scenario '%s' (%s) has no stages "
                                 "(expected stages: [{duration: 1m, target: 100}])",
                                 name, exn);
            }
            if (parse_stages(L, v[K_STAGES], false, sc) < 0) {
                return -1;
            }
        }
        if (v[K_PRE_ALLOCATED_VUS] == NULL) {
            return load__err(L, key,
                             "scenario '%s' (%s) has no pre_allocated_vus (expected "
                             "pre_allocated_vus: the VUs made before the start, such as 10)",
                             name, exn);
        }
        if (load__get_u64(L, v[K_PRE_ALLOCATED_VUS], 0, 1000000, &u) < 0) {
            return -1;
        }
        sc->pre_allocated_vus = (uint32_t)u;
        sc->max_vus = sc->pre_allocated_vus;
        if (v[K_MAX_VUS]) {
            if (load__get_u64(L, v[K_MAX_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            if (u < sc->pre_allocated_vus) {
                return load__err(L, v[K_MAX_VUS],
                                 "max_vus %llu is less than pre_allocated_vus %u "
                                 "(expected max_vus >= pre_allocated_vus)",
                                 (unsigned long long)u, sc->pre_allocated_vus);
            }
            sc->max_vus = (uint32_t)u;
        }
        if (sc->max_vus == 0) {
            return load__err(L, v[K_PRE_ALLOCATED_VUS],
                             "no VUs at all (expected pre_allocated_vus "
                             "or max_vus of at least 1)");
        }
        sc->vus = sc->pre_allocated_vus;
        break;
    }
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        sc->vus = 1;
        sc->iterations = 1;
        sc->duration_ns = 10 * 60 * NS_PER_S; /* k6's maxDuration */
        if (v[K_VUS]) {
            if (load__get_u64(L, v[K_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_ITERATIONS] &&
            load__get_u64(L, v[K_ITERATIONS], 1, UINT64_C(1) << 40, &sc->iterations) < 0) {
            return -1;
        }
        if (v[K_MAX_DURATION] &&
            load__get_duration(L, v[K_MAX_DURATION], false, &sc->duration_ns) < 0) {
            return -1;
        }
        if (sc->executor == EXEC_SHARED_ITERATIONS && sc->iterations < sc->vus) {
            return load__err(L, v[K_ITERATIONS] ? v[K_ITERATIONS] : key,
                             "iterations (%llu) is less than vus (%u) (expected iterations >= vus, "
                             "as k6 requires for shared-iterations)",
                             (unsigned long long)sc->iterations, sc->vus);
        }
        break;
    }

    /* The flow. */
    struct scen_ctx C;
    memset(&C, 0, sizeof C);
    C.name = name;
    C.sc = sc;
    C.def_timeout_ns = L->def_timeout_ns;
    C.feeder_used = calloc(L->own->n_feeders ? L->own->n_feeders : 1, sizeof(bool));
    int rc = -1;
    if (C.feeder_used == NULL) {
        load__oom(L);
        goto done;
    }
    if (v[K_DEFAULTS] != NULL) {
        if (load__check_map(L, v[K_DEFAULTS], "scenario defaults", SCEN_DEFAULT_KEYS) < 0) {
            goto done;
        }
        C.def_headers = load__mget(v[K_DEFAULTS], "headers");
        struct ynode *t = load__mget(v[K_DEFAULTS], "timeout");
        if (t != NULL && load__get_duration(L, t, false, &C.def_timeout_ns) < 0) {
            goto done;
        }
    }
    if (v[K_FLOW] == NULL) {
        load__err(L, key, "scenario '%s' has no flow (expected flow: a list of steps)", name);
        goto done;
    }
    if (load__collect_vars(L, &C, v[K_FLOW], 0) < 0) {
        goto done;
    }
    C.names.vars = (const char *const *)C.vars;
    C.names.n_vars = C.n_vars;
    C.names.feeders = (const char *const *)L->own->feeder_names;
    C.names.n_feeders = L->own->n_feeders;
    C.names.feeder_objs = (const struct feeder *const *)L->own->feeders;
    load__names_consts(L, &C.names); /* the setup's values (compile_lifecycle.c) */
    if (load__compile_flow(L, &C, v[K_FLOW], NULL) < 0) {
        goto done;
    }
    if (sc->n_steps == 0) {
        load__err(L, v[K_FLOW], "scenario '%s' has an empty flow (expected at least one step)",
                  name);
        goto done;
    }
    bool any_request = false;
    for (size_t i = 0; i < sc->n_steps; i++) {
        any_request |= sc->steps[i].kind == STEP_REQUEST ||
                       (sc->steps[i].kind == STEP_WS && sc->steps[i].ws_op == WS_STEP_CONNECT);
    }
    if (!any_request) {
        load__err(L, v[K_FLOW], "scenario '%s' has no request step (expected at least one request)",
                  name);
        goto done;
    }
    rc = 0;
done:
    fsc->var_names = C.vars;
    fsc->n_vars = C.n_vars;
    fsc->feeder_used = C.feeder_used;
    fsc->feeders = L->own->feeders;
    fsc->n_feeders = L->own->n_feeders;
    flow_attach_scenario(sc, fsc);
    return rc;
}

int load__compile_scenarios(struct loader *L, struct ynode *sn)
{
    if (load__check_map(L, sn, "scenarios", NULL) < 0) {
        return -1;
    }
    size_t count = sn->n / 2;
    if (count == 0) {
        return load__err(L, sn, "no scenarios (expected at least one)");
    }
    if (count > SCENARIO_MAX_SCENARIOS) {
        return load__err(L, sn, "too many scenarios (at most %d)", SCENARIO_MAX_SCENARIOS);
    }
    struct plan *plan = L->plan;
    plan->scenarios = calloc(count, sizeof *plan->scenarios);
    L->own->fscs = calloc(count, sizeof *L->own->fscs);
    if (plan->scenarios == NULL || L->own->fscs == NULL) {
        return load__oom(L);
    }
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < count; i++) {
        plan->n_scenarios = i + 1;
        L->own->n_fscs = i + 1;
        struct flow_scenario *fsc = &L->own->fscs[i];
        fsc->seed = seed + rng_spread(i);
        load__fsc_http(L, fsc);
        if (compile_scenario(L, sn->kids[2 * i], sn->kids[2 * i + 1], &plan->scenarios[i], fsc) <
            0) {
            return -1;
        }
    }
    return 0;
}
