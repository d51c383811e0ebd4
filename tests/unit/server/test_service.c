/*
 * Unit tests of server/service: the slot model serves in arrival order (FIFO) with
 * exactly N slots of D, so N*k requests arriving at once end by k*D and never sooner;
 * and the CPU burn spends at least what it is asked for, on the thread's CPU clock.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/clock.h"
#include "server/server_internal.h"

Test(service, fifo_with_exactly_n_slots)
{
    struct server t;
    memset(&t, 0, sizeof t);
    t.o.service_slots = 3;
    t.o.service_time_ns = 100;
    cr_assert_eq(server__service_init(&t), 0);
    uint64_t wait, prev_end = 0;
    /* 30 requests at once: request i ends at (i / 3 + 1) * 100, waits (i / 3) * 100. */
    for (uint64_t i = 0; i < 30; i++) {
        uint64_t end = server__service_admit(&t, 1000, &wait);
        cr_expect_eq(end, 1000 + (i / 3 + 1) * 100, "request %llu ends at %llu",
                     (unsigned long long)i, (unsigned long long)end);
        cr_expect_eq(wait, (i / 3) * 100, "request %llu waited %llu", (unsigned long long)i,
                     (unsigned long long)wait);
        cr_expect_geq(end, prev_end, "FIFO: later arrivals never end sooner");
        prev_end = end;
    }
    /* Long after: every slot is free again, no wait. */
    uint64_t end = server__service_admit(&t, 1000000, &wait);
    cr_expect_eq(end, 1000100);
    cr_expect_eq(wait, 0);
    server__service_destroy(&t);
}

Test(service, burn_spends_the_cpu_asked_for)
{
    uint64_t before = clock_thread_cpu_ns();
    uint64_t spent = server_burn_cpu(5 * NS_PER_MS);
    uint64_t after = clock_thread_cpu_ns();
    cr_expect_geq(spent, 5 * NS_PER_MS, "spent %llu ns", (unsigned long long)spent);
    cr_expect_geq(after - before, spent, "thread CPU %llu vs spent %llu",
                  (unsigned long long)(after - before), (unsigned long long)spent);
    cr_expect_eq(server_burn_cpu(0), 0);
}
