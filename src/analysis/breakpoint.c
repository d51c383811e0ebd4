/*
 * breakpoint — the rate a breakpoint ramp broke at (see breakpoint.h).
 */
#include "analysis/breakpoint.h"

#include <string.h>

#include "core/clock.h"

double breakpoint_rate_at(const struct scenario_plan *sc, uint64_t t_ns)
{
    double unit = sc->time_unit_ns ? (double)sc->time_unit_ns / 1e9 : 1.0;
    double prev = sc->start_rate, t = (double)t_ns;
    for (size_t i = 0; i < sc->n_stages; i++) {
        double len = (double)sc->stages[i].duration_ns, to = sc->stages[i].target;
        if (t < len) {
            return (prev + (to - prev) * (len > 0 ? t / len : 1)) / unit;
        }
        t -= len;
        prev = to;
    }
    return prev / unit;
}

void breakpoint_judge(const struct scenario_plan *sc, uint64_t ran_ns, bool aborted,
                      struct bp_result *out)
{
    memset(out, 0, sizeof *out);
    double unit = sc->time_unit_ns ? (double)sc->time_unit_ns / 1e9 : 1.0;
    out->peak = sc->start_rate / unit;
    uint64_t total = 0;
    for (size_t i = 0; i < sc->n_stages; i++) {
        double r = sc->stages[i].target / unit;
        out->peak = r > out->peak ? r : out->peak;
        total += sc->stages[i].duration_ns;
    }
    uint64_t t = ran_ns > sc->start_time_ns ? ran_ns - sc->start_time_ns : 0;
    out->t_s = (double)t / 1e9;
    out->broke = aborted && t < total;
    /* A ramp stopped at (or before) its start sent no arrival: it reached no rate, even
     * when its start rate is above zero. */
    out->reached = t > 0 ? breakpoint_rate_at(sc, t) : 0;
    if (out->broke) {
        out->broke_at = breakpoint_rate_at(sc, t);
        out->held = t >= NS_PER_S ? breakpoint_rate_at(sc, t - NS_PER_S) : 0;
    }
}
