/*
 * libFuzzer target for scenario files: the input is a YAML document given to
 * scenario_load_string (no host is resolved: scenario__skip_resolve).  Invariants: the
 * loader returns 0 or -1; on -1 nothing is allocated and the message is one non-empty
 * line starting with the file name; on 0 the plan is well formed (every scenario has
 * steps, every request step a flow and an origin) and each request step renders for a
 * fresh VU with a Content-Length that matches its body.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/scenario/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/threshold.h"
#include "scenario/flow.h"
#include "scenario/load.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static void render_all(const struct plan *p)
{
    for (size_t i = 0; i < p->n_scenarios; i++) {
        const struct scenario_plan *sc = &p->scenarios[i];
        check(sc->n_steps > 0 && sc->name != NULL && flow_scenario_of(sc) != NULL);
        struct flow_vu v;
        uint64_t seq = 0;
        memset(&v, 0, sizeof v);
        if (flow_vu_init(flow_scenario_of(sc), &v, 1, sc->name, &seq, 1, 0) < 0) {
            continue;
        }
        (void)flow_iteration_begin(flow_scenario_of(sc), &v);
        for (size_t j = 0; j < sc->n_steps; j++) {
            const struct step *st = &sc->steps[j];
            if (st->kind == STEP_SLEEP) {
                check(st->sleep_min_ns <= st->sleep_max_ns);
                continue;
            }
            check(flow_step_of(st) != NULL && st->origin != NULL && st->method != NULL &&
                  st->name != NULL);
            struct dynbuf b;
            dynbuf_init(&b, 1u << 22);
            if (flow_render(flow_step_of(st), &v, &b) == 0) {
                check(b.len > 0);
                const char *end = strstr(b.data, "\r\n\r\n");
                check(end != NULL);
                const char *cl = strstr(b.data, "\r\nContent-Length: ");
                if (cl != NULL && cl < end) {
                    size_t n = strtoul(cl + 18, NULL, 10);
                    check(n == b.len - (size_t)(end + 4 - b.data));
                }
            }
            dynbuf_destroy(&b);
            struct step_results res = {.n = 0};
            (void)flow_on_done(flow_step_of(st), &v, 200, 1000, "{\"a\":1}", 7, false, &res);
            check(res.n <= flow_check_count(flow_step_of(st)));
        }
        flow_vu_destroy(&v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scenario__skip_resolve = true;
    struct plan *p = NULL;
    struct threshold *th = NULL;
    size_t nth = 0;
    char err[512];
    int rc = scenario_load_string((const char *)data, size, "f.yaml", "/nonexistent", &p, &th, &nth,
                                  NULL, err, sizeof err);
    check(rc == 0 || rc == -1);
    if (rc < 0) {
        check(p == NULL && th == NULL && nth == 0);
        check(strncmp(err, "f.yaml", 6) == 0 && strchr(err, '\n') == NULL);
        return 0;
    }
    check(p != NULL && p->n_scenarios > 0);
    render_all(p);
    for (size_t i = 0; i < nth; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(p);
    return 0;
}
