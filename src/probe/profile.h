/*
 * profile — where the watched processes spend their CPU: perf_event_open sampling of
 * every thread, frame-pointer call chains, symbolised at the end (probe/symbols.h) into a
 * flame (analysis/flame.h).
 *
 * One PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK event per thread (it works in VMs
 * without a PMU), at PROFILE_DEFAULT_HZ by default (99 Hz: off-beat with 100 Hz timers),
 * with PERF_SAMPLE_IP|TID|TIME|CALLCHAIN and a small mmap ring per thread.  A pid event
 * follows one thread only, so every poll rescans /proc/PID/task and opens an event for
 * each new thread (as `perf record -p` does) and closes those of threads that exited,
 * after draining their rings.  Each poll also records /proc/PID/maps so that the samples
 * can be symbolised after the process exited; mappings made and dropped between two
 * polls (1 s) are not seen (PERF_RECORD_MMAP2 is not read).
 *
 * Kernel frames are sampled when permitted; when kernel.perf_event_paranoid >= 2 and the
 * process has neither CAP_PERFMON nor CAP_SYS_ADMIN the events are opened with
 * exclude_kernel (user stacks only; the time spent in the kernel then does not show).
 * When no event can be opened at all, profile_start() says which setting blocks it.
 *
 * The window: samples are kept only when their time (CLOCK_MONOTONIC) lies inside
 * [from_ns, to_ns) (profile_set_window(); the whole run by default); the events are
 * enabled only around it, so the target pays nothing outside.
 *
 * Cost: the kernel walks the frame-pointer chain at each sample (a few µs); measured in
 * docs/profile.md.  Code built without frame pointers shows its leaf function correctly
 * and its callers partially, unless opts.dwarf: then each sample also carries the user
 * registers and PROFILE_DWARF_STACK bytes of the user stack (PERF_SAMPLE_REGS_USER |
 * PERF_SAMPLE_STACK_USER; the kernel's chain keeps only kernel frames,
 * exclude_callchain_user), the ring is 1 MiB per thread, and each poll unwinds the user
 * part with libdwfl from the modules' CFI (symbols_unwind) while the process still runs;
 * the sample is stored as the chain it gives, like a frame-pointer one.  x86-64 only.
 *
 * Threads: profile_start/_stop/_free on one thread; profile_poll on the probe thread;
 * profile_set_window from any thread before the window begins (it is read atomically).
 */
#ifndef BRUNT_PROBE_PROFILE_H
#define BRUNT_PROBE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analysis/flame.h"
#include "core/json.h"
#include "probe/probe.h"

#define PROFILE_DEFAULT_HZ 99
#define PROFILE_MAX_HZ 10000
#define PROFILE_MAX_PIDS 256     /* processes followed (a --pid list, or a watched tree) */
#define PROFILE_MAX_THREADS 1024 /* events open at once; more threads are counted */
#define PROFILE_MAX_STACK_WORDS (4u << 20) /* 32 MiB of distinct raw stacks */
#define PROFILE_DWARF_STACK 8192           /* user stack bytes copied per sample (dwarf) */

/*
 * Where the processes to sample come from when they change during the run (the process
 * watcher's trees): fills out[0..cap) with the PIDs followed now, returns how many.
 * Called at start() and at every poll, on the thread that makes that call.
 */
typedef size_t (*profile_pids_cb)(void *data, pid_t *out, size_t cap);

struct profile_opts {
    const pid_t *pids;       /* the processes to sample (every thread of each) */
    size_t n_pids;           /* 0..PROFILE_MAX_PIDS (0: only from pids_cb) */
    profile_pids_cb pids_cb; /* more processes, asked again at every poll; may be NULL */
    void *pids_data;
    unsigned freq_hz; /* 0 = PROFILE_DEFAULT_HZ */
    bool user_only;   /* never sample kernel frames */
    bool dwarf;       /* DWARF unwinding of user stacks (PROFILE_DWARF_STACK copied) */
};

/* What the sampler saw. */
struct profile_stats {
    uint64_t samples;           /* kept (inside the window) */
    uint64_t outside_window;    /* read but outside the window */
    uint64_t lost;              /* PERF_RECORD_LOST: the ring overflowed */
    uint64_t dropped;           /* past PROFILE_MAX_STACK_WORDS */
    uint64_t unwind_failed;     /* dwarf: samples whose user stack did not unwind at all */
    unsigned threads_seen;      /* threads that had an event at some point */
    unsigned threads_skipped;   /* threads past PROFILE_MAX_THREADS or whose open failed */
    unsigned procs_exited;      /* watched processes gone before the end */
    bool kernel;                /* kernel frames were sampled */
    uint64_t first_ns, last_ns; /* CLOCK_MONOTONIC of the first and last kept sample */
    uint64_t drain_cpu_ns;      /* brunt's own CPU time spent reading rings and symbolising */
};

struct profile;

/* A sampler for opts (the pid list is copied).  NULL on no memory or a bad opts. */
struct profile *profile_new(const struct profile_opts *opts);
void profile_free(struct profile *p);

/*
 * Sets the window, in CLOCK_MONOTONIC ns: samples outside [from_ns, to_ns) are dropped,
 * and the events are only enabled inside it.  to_ns == 0 means until stop.  Call before
 * from_ns is reached.
 */
void profile_set_window(struct profile *p, uint64_t from_ns, uint64_t to_ns);

/*
 * The window as offsets from start() (which `brunt run` calls just before the load
 * begins): samples are kept from from_off_ns to to_off_ns (0 = until stop).  Replaces
 * profile_set_window(); call before start().
 */
void profile_set_window_offsets(struct profile *p, uint64_t from_off_ns, uint64_t to_off_ns);

/*
 * Opens the events on every thread of every pid and records the memory maps.  Returns 0
 * when at least one thread is sampled (or, with a pids_cb, when it has no process yet:
 * they are picked up as they appear); otherwise a negative errno with one line in err
 * saying why (no such process; or which setting blocks perf events: the
 * kernel.perf_event_paranoid value, the missing CAP_PERFMON / CAP_SYS_ADMIN, a seccomp
 * filter).  The caller goes on with the load test either way.
 */
int profile_start(struct profile *p, char *err, size_t err_len);

/* Drains the rings, follows new and exited threads, records the maps.  Cheap; ~1 Hz. */
void profile_poll(struct profile *p, uint64_t now_ns);

/* Drains one last time, closes the events and symbolises.  Idempotent. */
void profile_stop(struct profile *p);

/* The symbolised stacks, after profile_stop() (NULL before).  Owned by p. */
const struct flame *profile_flame(const struct profile *p);
void profile_get_stats(const struct profile *p, struct profile_stats *out);
unsigned profile_freq_hz(const struct profile *p);

/*
 * Names the files the CLI wrote (folded stacks, SVG, speedscope), so that the summary
 * and the result's "probes.profile" show them.  NULL leaves one out.  Strings copied.
 */
void profile_set_files(struct profile *p, const char *folded, const char *svg,
                       const char *speedscope);

/* The profiler as a probe (name "profile"): start/sample/stop/summary/to_json/findings. */
struct probe profile_probe(struct profile *p);

/*
 * What the native profiler and the pprof probe share: the top-N table of a flame printed
 * as a summary section, written as JSON, and turned into findings.
 *   profile_print_top: "    self%  total%  function  (module file:line)" rows.
 *   profile_json_top:  an array of {function, module, file, line, self, total,
 *                      self_share, total_share}.
 *   profile_findings:  one "hot_function" finding per function whose self share is at
 *                      least 20 % (warning at 40 %), at most cap.
 *   profile_json_files: "files": {"folded", "svg", "speedscope"} for those of files[]
 *                      (in that order) that are not NULL.
 */
void profile_print_top(const struct flame *fg, FILE *f, size_t n);
void profile_json_top(const struct flame *fg, struct jsonw *w, size_t n);
size_t profile_findings(const struct flame *fg, const char *probe, struct finding *out, size_t cap);
void profile_json_files(struct jsonw *w, char *const files[3]);

/* How many rows the summary shows, and the result's top table holds. */
#define PROFILE_SUMMARY_ROWS 10
#define PROFILE_JSON_ROWS 50

#endif
