/*
 * plan — helpers over the plan structures: executor names, stage arithmetic, lengths.
 */
#include "engine/plan.h"

#include <stdlib.h>

const char *executor_name(enum executor_kind kind)
{
    switch (kind) {
    case EXEC_CONSTANT_VUS:
        return "constant-vus";
    case EXEC_RAMPING_VUS:
        return "ramping-vus";
    case EXEC_CONSTANT_ARRIVAL_RATE:
        return "constant-arrival-rate";
    case EXEC_RAMPING_ARRIVAL_RATE:
        return "ramping-arrival-rate";
    case EXEC_PER_VU_ITERATIONS:
        return "per-vu-iterations";
    case EXEC_SHARED_ITERATIONS:
        return "shared-iterations";
    }
    return "?";
}

bool executor_is_open(enum executor_kind kind)
{
    return kind == EXEC_CONSTANT_ARRIVAL_RATE || kind == EXEC_RAMPING_ARRIVAL_RATE;
}

static uint64_t stages_length_ns(const struct stage *stages, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += stages[i].duration_ns;
    }
    return total;
}

uint64_t scenario_length_ns(const struct scenario_plan *sc)
{
    uint64_t len = sc->duration_ns;
    if (sc->executor == EXEC_RAMPING_VUS || sc->executor == EXEC_RAMPING_ARRIVAL_RATE) {
        len = stages_length_ns(sc->stages, sc->n_stages);
    }
    return sc->start_time_ns + len;
}

uint64_t plan_length_ns(const struct plan *plan)
{
    uint64_t len = 0;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        uint64_t l = scenario_length_ns(&plan->scenarios[i]);
        if (l > len) {
            len = l;
        }
    }
    return len;
}

double stages_target_at(const struct stage *stages, size_t n, double from, uint64_t t_ns)
{
    double prev = from;
    for (size_t i = 0; i < n; i++) {
        const struct stage *s = &stages[i];
        if (t_ns < s->duration_ns) {
            double f = (double)t_ns / (double)s->duration_ns;
            return prev + (s->target - prev) * f;
        }
        t_ns -= s->duration_ns;
        prev = s->target;
    }
    return prev;
}

void plan_free(struct plan *plan)
{
    if (plan == NULL) {
        return;
    }
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        struct scenario_plan *sc = &plan->scenarios[i];
        for (size_t j = 0; j < sc->n_steps; j++) {
            free(sc->steps[j].method);
            free(sc->steps[j].name);
            free(sc->steps[j].raw);
            free(sc->steps[j].group);
        }
        free(sc->steps);
        free(sc->stages);
        free(sc->name);
    }
    free(plan->scenarios);
    free(plan->origins);
    if (plan->owner_free != NULL) {
        plan->owner_free(plan->owner);
    }
    free(plan);
}
