/*
 * The coordinator (engine/run.c) run for real on one worker thread, against a transport
 * that refuses every connect (no network): interrupts are counted per engine_run, so a
 * Ctrl-C of an earlier run (brunt capacity runs the engine again and again) does not stop
 * the next one at once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "engine/run.h"
#include "engine/transport.h"

static int refuse_connect(struct transport_conn *c, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    c->fd = -1;
    return -ECONNREFUSED;
}

static void refuse_close(struct transport_conn *c)
{
    c->fd = -1;
}

static const struct transport_ops refuse_transport = {
    .name = "refuse",
    .connect = refuse_connect,
    .close = refuse_close,
};

Test(run, an_earlier_runs_interrupts_do_not_stop_the_next_run)
{
    struct origin origin = {.transport = &refuse_transport, .addr_len = sizeof(struct sockaddr)};
    struct step st = {
        .kind = STEP_REQUEST,
        .origin = &origin,
        .method = (char *)"GET",
        .name = (char *)"/",
        .raw = (char *)"GET / HTTP/1.1\r\n\r\n",
        .raw_len = 18,
    };
    struct scenario_plan sc = {
        .name = (char *)"s",
        .executor = EXEC_CONSTANT_VUS,
        .vus = 1,
        .duration_ns = 300 * NS_PER_MS,
        .graceful_stop_ns = 0,
        .steps = &st,
        .n_steps = 1,
    };
    struct plan plan = {
        .scenarios = &sc,
        .n_scenarios = 1,
        .origins = &origin,
        .n_origins = 1,
        .threads = 1,
        .timeout_ns = NS_PER_S,
        .connect_timeout_ns = NS_PER_S,
        .grace_ns = NS_PER_S,
    };
    /* Two Ctrl-C of a run that has ended: the next run is not told to stop. */
    engine_interrupt();
    engine_interrupt();
    struct run_report rep;
    uint64_t t0 = clock_now_ns();
    cr_assert_eq(engine_run(&plan, NULL, 0, NULL, &rep), 0);
    uint64_t took = clock_now_ns() - t0;
    cr_expect(!rep.interrupted, "the run was taken as interrupted");
    cr_expect_geq(took, 300 * NS_PER_MS, "ran %llu ns of its 300 ms", (unsigned long long)took);
    run_report_destroy(&rep);
}

Test(run, warnings_past_the_kept_ones_are_counted_not_lost)
{
    struct run_report r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < RUN_WARNINGS_KEPT; i++) {
        run_report_add_warning(&r, "warning %d", i);
    }
    cr_assert_eq(r.n_warnings, RUN_WARNINGS_KEPT);
    cr_assert_str_eq(r.warnings[RUN_WARNINGS_KEPT - 1], "warning 7");
    run_report_add_warning(&r, "warning %d", 8);
    cr_assert_eq(r.n_warnings, RUN_WARNINGS_KEPT + 1, "the kept ones and the count");
    cr_assert_str_eq(r.warnings[RUN_WARNINGS_KEPT],
                     "1 more warning was not kept (brunt keeps the first 8)");
    run_report_add_warning(&r, "warning %d", 9);
    run_report_add_warning(&r, "warning %d", 10);
    cr_assert_eq(r.n_warnings, RUN_WARNINGS_KEPT + 1);
    cr_assert_str_eq(r.warnings[RUN_WARNINGS_KEPT],
                     "3 more warnings were not kept (brunt keeps the first 8)");
    cr_assert_str_eq(r.warnings[0], "warning 0", "the first ones stay");
}
