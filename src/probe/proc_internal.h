/*
 * proc_internal — what the parts of the process watcher share (probe/proc*.c): its
 * state (struct proc_probe, its targets and members) and the functions one part calls
 * in another.  proc.c samples and has the ops, proctree.c finds the members, procout.c
 * writes the summary and the JSON.  Internal to probe/.
 */
#ifndef BRUNT_PROBE_PROC_INTERNAL_H
#define BRUNT_PROBE_PROC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analysis/fit.h"
#include "core/json.h"
#include "probe/proc.h"
#include "probe/procfs.h"
#include "probe/spawn.h"

#define HASH_SIZE 16384 /* power of two, > PROC_MEMBERS_MAX + strangers we remember */
#define STRANGERS_MAX 12000
#define STRANGER_RESET_EVERY 30
#define LIMITS_EVERY 10 /* re-read affinity and cgroup limits every N samples */
struct member {
    int pid;
    uint64_t starttime;
    int target;
    int fd_stat, fd_status, fd_io, fd_fd;
    bool seen, primed;
    uint64_t utime, stime, majflt, vcs, ivcs, rd, wr, wait_ns;
    uint64_t cutime, cstime; /* reaped children's CPU, ticks */
    int ppid;
};

enum known_kind { K_FREE = 0, K_MEMBER, K_STRANGER };
struct known {
    int pid;
    uint8_t kind;
    int member; /* index into members for K_MEMBER */
};

struct series_hist {
    double *v[PF_COUNT];
    uint64_t *wall;
    size_t n, cap;
};

struct target {
    char what[PROC_LABEL_MAX]; /* as given */
    char label[PROC_LABEL_MAX];
    bool by_name;
    int root_pid;
    uint64_t root_start;
    struct spawn *sp;
    char cgroup[512]; /* v2 path, "" when unknown */
    int fd_cpu_stat, fd_cpu_psi, fd_mem_psi;
    double allowed_cpus; /* affinity, capped by cpu.max */
    double mem_limit;    /* bytes */
    bool mem_limit_cgroup;
    double cpu_quota; /* cores from cpu.max, 0 = none */
    int n_members;
    bool ever_member;
    struct procfs_cpu_stat cg_prev;
    uint64_t psi_cpu_prev, psi_mem_prev;
    bool cg_primed;
    /* per-interval accumulation */
    double acc[PF_COUNT];
    bool have[PF_COUNT];
    uint64_t exits;
    /* CPU (ticks) of members that ended, as last seen: when a member reaps them its
     * cutime/cstime jumps by their total, of which this much was counted already. */
    uint64_t dead_user, dead_sys;
    double reaped_user, reaped_sys; /* this interval's c-time growth of live members */
    struct proc_death death;
    struct series_hist hist;
    struct proc_live live; /* under pp->mu */
    bool has_leak;
    struct fit_verdict leak;
};

#define FRESH_MAX 4096 /* processes first seen in one interval that are looked at */
struct fresh {
    int pid, ppid;
    uint64_t starttime;
    char comm[16];
    bool done;
};

struct proc_probe {
    struct fresh *fresh; /* FRESH_MAX, scratch of proc__discover() */
    struct target targets[PROC_TARGETS_MAX];
    size_t n_targets;
    struct member *members;
    size_t n_members;
    struct known *known;
    size_t n_strangers;
    uint64_t samples;
    uint64_t prev_ns;
    long hz;
    double mem_total;
    int self_pid;
    int proc_fd; /* /proc, for openat */
    bool denied_io, denied_fd, no_cgroup, no_schedstat;
    pthread_mutex_t mu;
    char unavailable[4][96];
    size_t n_unavailable;
};

/* Rebuilds the table with members only (strangers forgotten; deletions compacted). */
void proc__known_rebuild(struct proc_probe *pp);

ssize_t proc__read_at(int dirfd, const char *path, char *buf, size_t cap);

void proc__member_close(struct member *m);

/* Adds a member; returns its index or -1 (cap, or it vanished). */
int proc__member_add(struct proc_probe *pp, int pid, uint64_t starttime, int target);

/* Removes member i (swap with the last); the caller rebuilds the table afterwards. */
void proc__member_del(struct proc_probe *pp, size_t i);

int proc__read_proc_stat(struct proc_probe *pp, int pid, struct procfs_stat *st);

void proc__discover(struct proc_probe *pp);

void proc__record_death(struct proc_probe *pp, struct target *t, int pid);

void proc__summary(void *self, FILE *f, bool color);

int proc__json(void *self, struct jsonw *w);

size_t proc__findings(void *self, struct finding *out, size_t cap);

#endif
