/*
 * compile_lifecycle — `setup:` and `teardown:`, k6's setup() and teardown(): a flow run
 * once before the scenarios start and once after they end, each by one VU for one
 * iteration, as a plan of its own (the CLI runs them through engine_run, so the engine
 * knows nothing of them).  The values the setup flow extracts become run-wide constants
 * of the scenarios and of the teardown: `{{ token }}` in any request is the token the
 * setup's login returned (one login shared by all VUs).
 *
 *   setup:
 *     timeout: 30s            # the whole flow (default 60s, as k6's setupTimeout)
 *     flow:
 *       - request: POST /auth/login
 *         json: {email: admin@example.com, password: secret}
 *         extract: {token: json $.token}
 *         check: [status == 200]
 *
 * A load compiles one phase (load.h): the main one skips these keys' flows (but takes the
 * names the setup extracts as constants); the setup and teardown phases compile only
 * their flow (with the file's base_url, options, defaults, data and metrics) into a plan
 * of one scenario.  Load time, one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "scenario/load_internal.h"

bool load__key_in_phase(const struct loader *L, const char *key)
{
    /* watch: and criteria: belong to the main run only, like its scenarios. */
    bool scen = strcmp(key, "scenarios") == 0 || strcmp(key, "thresholds") == 0 ||
                strcmp(key, "watch") == 0 || strcmp(key, "criteria") == 0;
    bool setup = strcmp(key, "setup") == 0, teardown = strcmp(key, "teardown") == 0;
    switch (L->phase) {
    case SCENARIO_PHASE_MAIN:
        return !setup && !teardown;
    case SCENARIO_PHASE_SETUP:
        return !scen && !teardown;
    case SCENARIO_PHASE_TEARDOWN:
        return !scen && !setup;
    }
    return true;
}

int load__consts_prepare(struct loader *L, struct ynode *setup)
{
    if (setup == NULL || L->phase == SCENARIO_PHASE_SETUP) {
        return 0;
    }
    struct ynode *flow = setup->type == Y_MAP ? load__mget(setup, "flow") : NULL;
    if (flow == NULL) {
        return 0; /* the setup phase reports what is wrong with it */
    }
    struct scen_ctx C;
    memset(&C, 0, sizeof C);
    if (load__collect_vars(L, &C, flow, 0) < 0) {
        for (size_t i = 0; i < C.n_vars; i++) {
            free(C.vars[i]);
        }
        free(C.vars);
        return -1;
    }
    L->const_names = C.vars;
    L->n_consts = C.n_vars;
    L->const_values = calloc(C.n_vars ? C.n_vars : 1, sizeof *L->const_values);
    if (L->const_values == NULL) {
        return load__oom(L);
    }
    const struct scenario_load_in *in = L->in;
    for (size_t i = 0; i < C.n_vars; i++) {
        L->const_values[i] = "";
        for (size_t j = 0; in != NULL && in->has_consts && j < in->n_consts; j++) {
            if (strcmp(in->const_names[j], C.vars[i]) == 0) {
                L->const_values[i] = in->const_values[j];
            }
        }
    }
    return 0;
}

void load__consts_free(struct loader *L)
{
    for (size_t i = 0; i < L->n_consts; i++) {
        free(L->const_names[i]);
    }
    free(L->const_names);
    free(L->const_values);
    L->const_names = NULL;
    L->const_values = NULL;
    L->n_consts = 0;
}

void load__names_consts(const struct loader *L, struct tmpl_names *names)
{
    names->const_names = (const char *const *)L->const_names;
    names->const_values = L->const_values;
    names->n_consts = L->n_consts;
}

/* Compiles setup: or teardown: (n) into the plan's one scenario, named name. */
static int compile_lifecycle(struct loader *L, struct ynode *n, const char *name)
{
    static const char *const keys[] = {"flow", "timeout", NULL};
    if (load__check_map(L, n, name, keys) < 0) {
        return -1;
    }
    struct ynode *flow = load__mget(n, "flow"), *t = load__mget(n, "timeout");
    if (flow == NULL) {
        return load__err(L, n, "%s has no flow (expected flow: a list of steps)", name);
    }
    struct plan *plan = L->plan;
    plan->scenarios = calloc(1, sizeof *plan->scenarios);
    L->own->fscs = calloc(1, sizeof *L->own->fscs);
    if (plan->scenarios == NULL || L->own->fscs == NULL) {
        return load__oom(L);
    }
    plan->n_scenarios = 1;
    L->own->n_fscs = 1;
    struct scenario_plan *sc = &plan->scenarios[0];
    struct flow_scenario *fsc = &L->own->fscs[0];
    fsc->seed = 0x5e7a9ULL;
    load__fsc_http(L, fsc);
    sc->name = strdup(name);
    if (sc->name == NULL) {
        return load__oom(L);
    }
    sc->executor = EXEC_SHARED_ITERATIONS;
    sc->vus = 1;
    sc->iterations = 1;
    sc->duration_ns = 60 * NS_PER_S; /* k6's setupTimeout and teardownTimeout */
    sc->time_unit_ns = NS_PER_S;
    sc->pipeline = 1;
    if (t != NULL && load__get_duration(L, t, false, &sc->duration_ns) < 0) {
        return -1;
    }
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
    if (load__collect_vars(L, &C, flow, 0) < 0) {
        goto done;
    }
    C.names.vars = (const char *const *)C.vars;
    C.names.n_vars = C.n_vars;
    C.names.feeders = (const char *const *)L->own->feeder_names;
    C.names.n_feeders = L->own->n_feeders;
    C.names.feeder_objs = (const struct feeder *const *)L->own->feeders;
    load__names_consts(L, &C.names);
    /* The setup's VU hands its variables to the run after each response
     * (compile_request.c sets each step's capture). */
    C.capture = L->phase == SCENARIO_PHASE_SETUP;
    if (load__compile_flow(L, &C, flow, NULL) < 0) {
        goto done;
    }
    if (sc->n_steps == 0) {
        load__err(L, flow, "%s has an empty flow (expected at least one request)", name);
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

int load__compile_setup(struct loader *L, struct ynode *v)
{
    return compile_lifecycle(L, v, "setup");
}

int load__compile_teardown(struct loader *L, struct ynode *v)
{
    return compile_lifecycle(L, v, "teardown");
}
