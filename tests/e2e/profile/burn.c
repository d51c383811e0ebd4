/*
 * burn — the ground truth of the native profiler's tests: a program that spends a
 * designed share of its CPU in distinctively named functions.
 *
 *   burn            the main thread alone: 70 % of its CPU in brunt_test_hot_spin, 30 %
 *                   in brunt_test_cold_spin (the same instructions, 7:3 iterations)
 *   burn late       as above, and 0.5 s later a second thread that spends all of its CPU
 *                   in brunt_test_late_spin (the profiler must find threads started
 *                   after it did)
 *   burn fixed N    N rounds of the 70/30 work, then print "cpu_us U" (its own user +
 *                   system CPU, getrusage) and exit: the overhead measurement
 *                   (bench/profile.sh).  With BURN_GATE=PATH it first waits (sleeping)
 *                   until PATH exists, so a profiler can attach before the work starts.
 *
 * Built by the tests with -O0 -g -fno-omit-frame-pointer: at -O1 and above gcc gives a
 * leaf function no frame even with -fno-omit-frame-pointer, and a frame-pointer unwinder
 * then skips the leaf's caller (brunt_test_round here; docs/profile.md).  Runs until
 * killed, except "fixed".
 *
 * It never outlives its test: it dies with its parent (PR_SET_PDEATHSIG, and at start
 * when the parent named by BURN_PARENT_PID is already gone), and after BURN_MAX_S seconds
 * in any case (alarm: SIGALRM's default action ends it), so a test that fails or is
 * killed cannot leave it spinning, whoever it runs as.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Longer than any e2e test may run (tests/e2e/run.sh: 180 s, then SIGKILL 10 s later). */
#define BURN_MAX_S 240

static volatile unsigned long sink;

#define SPIN(n)                                                    \
    do {                                                           \
        unsigned long x = sink;                                    \
        for (long i = 0; i < (n); i++) {                           \
            x = x * 6364136223846793005ul + 1442695040888963407ul; \
        }                                                          \
        sink = x;                                                  \
    } while (0)

__attribute__((noinline)) void brunt_test_hot_spin(long n)
{
    SPIN(n);
}

__attribute__((noinline)) void brunt_test_cold_spin(long n)
{
    SPIN(n);
}

__attribute__((noinline)) void brunt_test_late_spin(long n)
{
    SPIN(n);
}

__attribute__((noinline)) int brunt_test_round(void)
{
    brunt_test_hot_spin(70000);
    brunt_test_cold_spin(30000);
    return (int)(sink & 1);
}

static void *late(void *arg)
{
    (void)arg;
    for (;;) {
        brunt_test_late_spin(100000);
    }
    return NULL;
}

/* Ends this process when its parent ends, and after BURN_MAX_S seconds. */
static void bound_lifetime(void)
{
    const char *parent = getenv("BURN_PARENT_PID");
    alarm(BURN_MAX_S);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
        return; /* the alarm still bounds it */
    }
    /* The parent may have ended before the prctl: then we were re-parented already. */
    if (parent != NULL && *parent != '\0' && getppid() != (pid_t)atol(parent)) {
        _exit(3);
    }
}

int main(int argc, char **argv)
{
    int odd = 0;
    bound_lifetime();
    if (argc > 2 && strcmp(argv[1], "fixed") == 0) {
        long n = atol(argv[2]);
        const char *gate = getenv("BURN_GATE");
        struct timespec ms = {0, 1000000};
        while (gate != NULL && access(gate, F_OK) != 0) {
            nanosleep(&ms, NULL); /* bounded by the alarm */
        }
        for (long i = 0; i < n; i++) {
            odd += brunt_test_round();
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("cpu_us %lld\n", (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                                    (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
        return odd < 0;
    }
    if (argc > 1 && strcmp(argv[1], "late") == 0) {
        pthread_t t;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do { /* 0.5 s of work first, by the wall clock */
            odd += brunt_test_round();
            clock_gettime(CLOCK_MONOTONIC, &t1);
        } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 500000000L);
        pthread_create(&t, NULL, late, NULL);
    }
    for (;;) {
        odd += brunt_test_round();
    }
    return odd < 0;
}
