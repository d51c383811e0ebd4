/*
 * clock — the one source of time in brunt.
 *
 * Everything that measures uses the monotonic clock in nanoseconds; wall-clock time is
 * read only to stamp results (RFC 3339) and never to measure an interval.  Loops cache
 * "now" once per iteration (see core/loop.h), so most code reads loop_now_ns() instead.
 */
#ifndef BRUNT_CORE_CLOCK_H
#define BRUNT_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

/* Monotonic time in nanoseconds since an arbitrary origin.  Any thread. */
static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time in nanoseconds since the Unix epoch: for timestamps only. */
static inline uint64_t clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* CPU time used by the calling thread, in nanoseconds. */
static inline uint64_t clock_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif
