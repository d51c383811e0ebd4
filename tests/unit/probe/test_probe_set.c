/*
 * The probe set: starts every probe, samples them on its thread at the interval
 * boundaries after begin(), hands each interval's registry through the feed tagged with
 * its second, takes a final sample at end(), drops an optional probe that cannot start
 * and refuses to start when a required one cannot.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "engine/run.h"
#include "probe/probe.h"

struct fake {
    int start_rc;
    int samples, stops, *frees;
    int metric;
};

static int fake_start(void *self, char *err, size_t len)
{
    struct fake *f = self;
    if (f->start_rc < 0) {
        snprintf(err, len, "fake: cannot start");
    }
    return f->start_rc;
}
static void fake_sample(void *self, uint64_t now, struct registry *reg)
{
    struct fake *f = self;
    (void)now;
    f->samples++;
    int i = registry_get(reg, f->metric, "");
    series_add(registry_at(reg, i), 1);
}
static void fake_stop(void *self)
{
    ((struct fake *)self)->stops++;
}
static int fake_json(void *self, struct jsonw *w)
{
    jsonw_int(w, ((struct fake *)self)->samples);
    return 0;
}
static void fake_free(void *self)
{
    struct fake *f = self;
    (*f->frees)++;
    free(f);
}
static const struct probe_ops fake_ops = {
    .name = "fake",
    .start = fake_start,
    .sample = fake_sample,
    .stop = fake_stop,
    .to_json = fake_json,
    .free = fake_free,
};

static struct probe fake_new(int start_rc, int *frees)
{
    struct fake *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    f->start_rc = start_rc;
    f->frees = frees;
    f->metric = M_ITERATIONS;
    return (struct probe){&fake_ops, f};
}

Test(probe_set, samples_each_interval_and_feeds_its_second)
{
    int frees = 0;
    struct probe_set *set = probe_set_new(PROBE_INTERVAL_MIN_NS);
    cr_assert_not_null(set);
    struct probe p = fake_new(0, &frees);
    struct fake *f = p.self;
    cr_assert_eq(probe_set_add(set, p, true), 0);
    char err[256];
    cr_assert_eq(probe_set_start(set, err, sizeof err), 0, "%s", err);
    struct run_feed feed;
    probe_set_feed(set, &feed);
    uint64_t start = clock_now_ns();
    feed.begin(feed.data, start);
    /* Bounded polling: five intervals of 100 ms must arrive within 5 s. */
    double total = 0;
    uint32_t last_second = 0;
    int taken = 0;
    while (taken < 5 && clock_now_ns() - start < 5 * NS_PER_S) {
        uint32_t second;
        struct registry *reg = feed.take(feed.data, &second);
        if (reg == NULL) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
            continue;
        }
        struct series s = {0};
        registry_aggregate(reg, M_ITERATIONS, NULL, &s);
        total += s.sum;
        cr_assert(second >= last_second, "seconds go forward: %u after %u", second, last_second);
        last_second = second;
        feed.release(feed.data, reg);
        taken++;
    }
    cr_assert_eq(taken, 5, "intervals fed: %d", taken);
    cr_assert_float_eq(total, 5.0, 1e-9);
    feed.end(feed.data, clock_now_ns());
    int before = f->samples;
    uint32_t second;
    struct registry *reg;
    while ((reg = feed.take(feed.data, &second)) != NULL) {
        feed.release(feed.data, reg);
    }
    probe_set_stop(set);
    cr_assert_eq(f->stops, 1);
    cr_assert_geq(before, 5);
    int after = f->samples;
    struct timespec ts = {0, 250000000};
    nanosleep(&ts, NULL);
    cr_assert_eq(f->samples, after, "no sample after stop");
    struct jsonw w;
    jsonw_init(&w, 0, 1 << 16);
    cr_assert_eq(probe_set_to_json(set, &w), 0);
    cr_assert(strncmp(jsonw_data(&w, NULL), "{\"fake\":", 8) == 0, "%s", jsonw_data(&w, NULL));
    jsonw_destroy(&w);
    probe_set_free(set);
    cr_assert_eq(frees, 1);
}

Test(probe_set, optional_probe_that_fails_is_dropped_with_a_warning)
{
    int frees = 0;
    struct probe_set *set = probe_set_new(PROBE_INTERVAL_NS);
    cr_assert_eq(probe_set_add(set, fake_new(-ENOENT, &frees), false), 0);
    cr_assert_eq(probe_set_add(set, fake_new(0, &frees), false), 0);
    char err[256];
    cr_assert_eq(probe_set_start(set, err, sizeof err), 0);
    cr_assert_eq(frees, 1);
    cr_assert_eq(probe_set_len(set), 1);
    cr_assert_eq(probe_set_warning_count(set), 1);
    cr_assert(strstr(probe_set_warning(set, 0), "cannot start") != NULL);
    probe_set_free(set);
    cr_assert_eq(frees, 2);
}

Test(probe_set, required_probe_that_fails_refuses_the_start)
{
    int frees = 0;
    struct probe_set *set = probe_set_new(PROBE_INTERVAL_NS);
    struct probe ok = fake_new(0, &frees);
    struct fake *f = ok.self;
    cr_assert_eq(probe_set_add(set, ok, false), 0);
    cr_assert_eq(probe_set_add(set, fake_new(-ESRCH, &frees), true), 0);
    char err[256];
    cr_assert_eq(probe_set_start(set, err, sizeof err), -ESRCH);
    cr_assert_str_eq(err, "fake: cannot start");
    cr_assert_eq(f->stops, 1, "the started probe is stopped again");
    probe_set_free(set);
    cr_assert_eq(frees, 2);
}

Test(probe_set, add_past_the_cap_frees_the_probe)
{
    int frees = 0;
    struct probe_set *set = probe_set_new(PROBE_INTERVAL_NS);
    for (int i = 0; i < PROBE_SET_MAX; i++) {
        cr_assert_eq(probe_set_add(set, fake_new(0, &frees), false), 0);
    }
    cr_assert_eq(probe_set_add(set, fake_new(0, &frees), false), -ENOSPC);
    cr_assert_eq(frees, 1);
    probe_set_free(set);
    cr_assert_eq(frees, PROBE_SET_MAX + 1);
}
