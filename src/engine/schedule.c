/*
 * schedule — inverse of the cumulative arrival curve, segment by segment.
 */
#include "engine/schedule.h"

#include <errno.h>
#include <math.h>

int schedule_init(struct arrival_schedule *s, const struct scenario_plan *sc)
{
    double unit = sc->time_unit_ns ? (double)sc->time_unit_ns : 1e9;
    s->n = 0;
    if (sc->executor == EXEC_CONSTANT_ARRIVAL_RATE) {
        s->rate0[0] = s->rate1[0] = sc->rate / unit;
        s->len_ns[0] = (double)sc->duration_ns;
        s->n = 1;
    } else {
        if (sc->n_stages > SCHEDULE_MAX_STAGES) {
            return -EINVAL;
        }
        double prev = sc->start_rate / unit;
        for (size_t i = 0; i < sc->n_stages; i++) {
            s->rate0[i] = prev;
            s->rate1[i] = sc->stages[i].target / unit;
            s->len_ns[i] = (double)sc->stages[i].duration_ns;
            prev = s->rate1[i];
        }
        s->n = sc->n_stages;
    }
    s->cum[0] = 0;
    s->start_ns[0] = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->cum[i + 1] = s->cum[i] + (s->rate0[i] + s->rate1[i]) / 2 * s->len_ns[i];
        s->start_ns[i + 1] = s->start_ns[i] + s->len_ns[i];
    }
    return 0;
}

uint64_t schedule_total(const struct arrival_schedule *s)
{
    /* Iterations k = 0 .. ceil(N(end)) - 1 start strictly before the end. */
    double n = s->cum[s->n];
    double c = ceil(n - 1e-9);
    return c > 0 ? (uint64_t)c : 0;
}

uint64_t schedule_time_ns(const struct arrival_schedule *s, uint64_t k)
{
    double x = (double)k;
    if (k >= schedule_total(s)) {
        return UINT64_MAX;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (x >= s->cum[i + 1]) {
            continue;
        }
        double y = x - s->cum[i]; /* arrivals needed inside this segment */
        double a = s->rate0[i];
        double b = (s->rate1[i] - s->rate0[i]) / s->len_ns[i]; /* slope per ns */
        double t;
        if (fabs(b) < 1e-30) {
            t = a > 0 ? y / a : 0;
        } else {
            /* a t + b t^2 / 2 = y  ->  t = (-a + sqrt(a^2 + 2 b y)) / b */
            double disc = a * a + 2 * b * y;
            t = (-a + sqrt(disc > 0 ? disc : 0)) / b;
        }
        if (t < 0) {
            t = 0;
        }
        if (t > s->len_ns[i]) {
            t = s->len_ns[i];
        }
        return (uint64_t)llround(s->start_ns[i] + t);
    }
    return UINT64_MAX;
}
