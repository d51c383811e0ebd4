/*
 * proc — the process watcher: one or more watched targets, each a whole process tree
 * (the process and every descendant, workers born and dying during the run included),
 * sampled from /proc and the target's cgroup v2 files once per interval.
 *
 * A target is named by a PID (its tree), by a command name (every process whose
 * /proc/PID/comm equals it, as `pgrep -x NAME` matches, and their descendants; new ones
 * join while the run goes on), or is a process brunt spawned (probe/spawn.h), whose exit
 * status brunt can then report.  Figures and their metric names are in docs/metrics.md;
 * every metric carries the tag target=LABEL (the PID or name as given, or the spawned
 * program's name), so `process_cpu{target:gunicorn}:avg<70` works.
 *
 * Costs (bench/watch.sh): per process and interval one pread each of stat, status and io
 * (kept open), a getdents of its fd directory and its threads' schedstat; per interval
 * one readdir of /proc, and one stat read per process never seen before.
 */
#ifndef BRUNT_PROBE_PROC_H
#define BRUNT_PROBE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/probe.h"

#define PROC_TARGETS_MAX 16   /* watched targets in one run */
#define PROC_MEMBERS_MAX 4096 /* processes followed in all trees together */
#define PROC_TASKS_MAX 512    /* threads whose schedstat is read per process */
#define PROC_LABEL_MAX 64
#define PROC_HISTORY_MAX 604800 /* intervals kept per target (a week at 1 s) */

/* The figures kept per target and interval (docs/metrics.md names their metrics). */
enum proc_figure {
    PF_CPU,          /* % of the CPUs the target may use (affinity, cpu.max) */
    PF_CPU_CORE,     /* % of one core, user + system (as top shows it) */
    PF_CPU_USER,     /* % of one core */
    PF_CPU_SYSTEM,   /* % of one core */
    PF_MEMORY,       /* RSS as % of the limit that applies (memory.max, else RAM) */
    PF_RSS,          /* bytes */
    PF_RSS_ANON,     /* bytes: the leak fit uses it (file pages follow the page cache) */
    PF_THREADS,      /* count */
    PF_FDS,          /* open file descriptors */
    PF_PROCESSES,    /* processes in the tree */
    PF_CTX_VOL,      /* voluntary context switches per second */
    PF_CTX_INVOL,    /* involuntary context switches per second */
    PF_CPU_WAIT,     /* run-queue delay: % of one core spent runnable, waiting for a CPU */
    PF_THROTTLED,    /* % of the interval the cgroup was throttled (cpu.stat) */
    PF_CPU_PRESSURE, /* cgroup cpu.pressure "some", % of the interval */
    PF_MEM_PRESSURE, /* cgroup memory.pressure "some", % of the interval */
    PF_READ,         /* storage bytes read per second (/proc/PID/io read_bytes) */
    PF_WRITE,        /* storage bytes written per second */
    PF_MAJFLT,       /* major page faults per second */
    PF_COUNT
};

/* Name, unit and description of a figure (for outputs). */
struct proc_figure_info {
    const char *metric; /* "process_cpu" */
    const char *label;  /* "CPU (of allowed)" */
    const char *unit;   /* "%", "B", "", "/s", "B/s" */
};
extern const struct proc_figure_info proc_figures[PF_COUNT];

struct proc_probe;
struct spawn;

/* A new watcher with no targets, or NULL. */
struct proc_probe *proc_probe_new(void);
/*
 * Adds a target.  what is a PID (all digits) or a command name; sp, when not NULL, is
 * the spawned process (what is then its PID and label its program name).  label may be
 * NULL (what is used).  Returns 0, -EINVAL (empty, or a name longer than 15 bytes, the
 * kernel's comm length), -ENOSPC (PROC_TARGETS_MAX).  Main thread, before start().
 */
int proc_probe_add(struct proc_probe *pp, const char *what, const char *label, struct spawn *sp);
/* The probe for the set (owns pp: the set's free() frees it). */
struct probe proc_probe_as_probe(struct proc_probe *pp);

/* The latest interval's figures of target i, for the progress line.  Any thread. */
struct proc_live {
    bool valid;
    double cpu, cpu_core, rss_bytes, memory;
    int processes;
    bool dead; /* every process of the target has ended */
};
size_t proc_probe_targets(const struct proc_probe *pp);
void proc_probe_live(struct proc_probe *pp, size_t i, struct proc_live *out);
const char *proc_probe_label(const struct proc_probe *pp, size_t i);

/*
 * The PIDs of every process followed now, in all targets' trees: up to cap into out;
 * returns how many were written.  For the profiler, which samples the same processes.
 * The probe thread (after this watcher's sample()), or the main thread after start()
 * and before the set's thread runs: the member list is only changed by sample().
 */
size_t proc_probe_members(const struct proc_probe *pp, pid_t *out, size_t cap);

/* The memory limit that applies to target i (cgroup memory.max, else RAM), in bytes. */
double proc_probe_memory_limit(const struct proc_probe *pp, size_t i);

/* The per-interval history of target i's figure f, after stop(): count, and values
 * (NaN where it could not be read) with their wall-clock times. */
size_t proc_probe_history(const struct proc_probe *pp, size_t i, enum proc_figure f,
                          const double **values, const uint64_t **wall_ns);

/* How a target ended, if it did (all its processes gone, or its root). */
struct proc_death {
    bool died;
    int pid;
    uint64_t wall_ns; /* when brunt saw it gone */
    bool status_known;
    bool signaled;
    int code; /* exit status, or the signal number */
    /* the load then, set by proc_probe_set_death_load() (t_s < 0: not set) */
    double t_s, rps;
    unsigned vus;
};
void proc_probe_death(const struct proc_probe *pp, size_t i, struct proc_death *out);

/*
 * The leak and drift analysis and the load's start (wall clock) for the summary: set by
 * the CLI after the run so summary() and to_json() report them.
 */
struct fit_verdict;
void proc_probe_set_analysis(struct proc_probe *pp, size_t i, const struct fit_verdict *leak);

/* What the load was when target i ended: seconds into the run, req/s and VUs of that
 * second (the CLI has the time series; the watcher has not). */
void proc_probe_set_death_load(struct proc_probe *pp, size_t i, double t_s, double rps,
                               unsigned vus);

/* Defines the process_* metrics (probe_define_metrics() calls it). */
int proc_define_metrics(void);

#endif
