/*
 * Unit tests for probe/profile and probe/symbols: this test's own functions are found
 * by name and source file; a child process that spends its CPU in one distinctive
 * function is sampled and that function tops the profile; a process that does not exist
 * is refused with the reason; a JIT's perf map file names code outside every module.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe/profile.h"
#include "probe/symbols.h"

static volatile unsigned long sink;

/* In a forked child: die with the test (a failed assertion or criterion's timeout ends
 * the parent without reaching its kill()), and after 60 s in any case. */
static void child_bound(pid_t parent)
{
    alarm(60);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(3);
    }
}

__attribute__((noinline)) void test_profile_distinctive_spin(void)
{
    unsigned long x = sink;
    for (;;) {
        for (int i = 0; i < 100000; i++) {
            x = x * 6364136223846793005ul + 1442695040888963407ul;
        }
        sink = x;
    }
}

Test(symbols, names_this_tests_own_function_and_file)
{
    struct symbols *s = symbols_new();
    struct symbol sym;
    cr_assert_eq(symbols_read_maps(s, getpid()), 0);
    symbols_lookup(s, getpid(), (uint64_t)(uintptr_t)&test_profile_distinctive_spin + 4, false,
                   false, &sym);
    cr_assert(sym.resolved);
    cr_assert_str_eq(sym.name, "test_profile_distinctive_spin");
    cr_assert_str_eq(sym.module, "unit-tests");
    cr_assert(sym.file != NULL && strstr(sym.file, "test_profile.c") != NULL, "file %s",
              sym.file ? sym.file : "(none)");
    cr_assert_gt(sym.line, 0);
    /* an address in no module */
    symbols_lookup(s, getpid(), 0x10, false, false, &sym);
    cr_assert_not(sym.resolved);
    cr_assert_str_eq(sym.name, "[unknown]");
    symbols_free(s);
}

Test(symbols, reads_a_jit_perf_map)
{
    /* JIT code lives in anonymous memory: a page of it, mapped before the fork so the
     * child has it at the same address.  A fixed address could fall inside a library
     * (ASan's runtime maps them all over the 0x7f... range), whose symbols win. */
    void *code = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(code, MAP_FAILED);
    uint64_t at = (uint64_t)(uintptr_t)code;
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        child_bound(parent);
        pause();
        _exit(0);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)child);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%llx 100 LazyCompile:~handler app.js:12\n", (unsigned long long)at);
    fclose(f);
    struct symbols *s = symbols_new();
    struct symbol sym;
    symbols_read_maps(s, child);
    symbols_lookup(s, child, at + 0x80, false, false, &sym);
    unlink(path);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    munmap(code, 4096);
    cr_assert(sym.resolved);
    cr_assert_str_eq(sym.name, "LazyCompile:~handler app.js:12");
    cr_assert_str_eq(sym.module, "[jit]", "module %s", sym.module);
    symbols_free(s);
}

Test(profile, the_spinning_function_tops_a_childs_profile, .timeout = 30)
{
    pid_t parent = getpid(), child = fork();
    if (child == 0) {
        child_bound(parent);
        test_profile_distinctive_spin();
    }
    struct profile_opts o = {.pids = &child, .n_pids = 1, .freq_hz = 199};
    struct profile *p = profile_new(&o);
    char err[256] = "";
    int rc = profile_start(p, err, sizeof err);
    if (rc == 0) {
        for (int i = 0; i < 15; i++) { /* 1.5 s, polled as the probe set would */
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            profile_poll(p, 0);
        }
        profile_stop(p);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_assert_eq(rc, 0, "start: %s", err);
    struct profile_stats st;
    profile_get_stats(p, &st);
    cr_assert_gt(st.samples, 20, "samples %llu", (unsigned long long)st.samples);
    cr_assert_eq(st.threads_seen, 1);
    struct flame_top top[3];
    size_t n = flame_top(profile_flame(p), FLAME_BY_SELF, top, 3);
    cr_assert_geq(n, 1);
    cr_assert_str_eq(top[0].name, "test_profile_distinctive_spin");
    cr_assert_gt((double)top[0].self / (double)flame_total(profile_flame(p)), 0.8);
    profile_free(p);
}

Test(profile, a_missing_process_is_refused_with_the_reason)
{
    pid_t child = fork();
    if (child == 0) {
        _exit(0);
    }
    waitpid(child, NULL, 0); /* reaped: the pid names nothing now */
    struct profile_opts o = {.pids = &child, .n_pids = 1};
    struct profile *p = profile_new(&o);
    char err[256] = "";
    cr_assert_eq(profile_start(p, err, sizeof err), -ESRCH);
    cr_assert(strstr(err, "no process") != NULL, "%s", err);
    profile_stop(p);
    cr_assert_eq(flame_total(profile_flame(p)), 0);
    profile_free(p);
}

Test(profile, bad_options_make_no_profiler)
{
    pid_t one = 1;
    struct profile_opts none = {.n_pids = 0};
    struct profile_opts fast = {.pids = &one, .n_pids = 1, .freq_hz = PROFILE_MAX_HZ + 1};
    cr_assert_null(profile_new(&none));
    cr_assert_null(profile_new(&fast));
    cr_assert_null(profile_new(NULL));
}
