/*
 * proc — the process watcher (proc.h): follows each target's process tree through
 * /proc and samples it once per interval on the probe thread.
 *
 * Membership.  Each interval one readdir of /proc lists the live processes.  A PID seen
 * for the first time has its stat read once (ppid, comm, start time); it joins the tree
 * of its parent when the parent is a member, or a name target when its comm matches,
 * else it is remembered as a stranger (the stranger cache is dropped every 30 intervals,
 * so a reused PID is looked at again).  Members are identified by (PID, start time), so a
 * reused PID is never mistaken for the member that had it.  A member that is gone or a
 * zombie has ended: its CPU since the last sample is lost (the kernel folds it into the
 * parent's cutime only once reaped), the rest of the tree goes on.
 *
 * Rates are over the time this watcher measured between its own samples (not the
 * nominal interval).  CPU comes from utime+stime (USER_HZ ticks, so ±1 tick per process
 * per sample: ±1 % of a core at 1 s); run-queue delay from the threads' schedstat (ns).
 *
 * What it leaves out: PSS (smaps_rollup walks page tables: too dear each second),
 * per-thread CPU, and cgroup v1.
 */
#include "probe/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analysis/fit.h"
#include "core/clock.h"
#include "probe/procfs.h"
#include "probe/spawn.h"

#define HASH_SIZE 16384 /* power of two, > PROC_MEMBERS_MAX + strangers we remember */
#define STRANGERS_MAX 12000
#define STRANGER_RESET_EVERY 30
#define LIMITS_EVERY 10 /* re-read affinity and cgroup limits every N samples */

const struct proc_figure_info proc_figures[PF_COUNT] = {
    [PF_CPU] = {"process_cpu", "CPU (of allowed)", "%"},
    [PF_CPU_CORE] = {"process_cpu_core", "CPU (of a core)", "%"},
    [PF_CPU_USER] = {"process_cpu_user", "  user", "%"},
    [PF_CPU_SYSTEM] = {"process_cpu_system", "  system", "%"},
    [PF_MEMORY] = {"process_memory", "memory (of limit)", "%"},
    [PF_RSS] = {"process_rss", "RSS", "B"},
    [PF_RSS_ANON] = {"process_rss_anon", "  anonymous", "B"},
    [PF_THREADS] = {"process_threads", "threads", ""},
    [PF_FDS] = {"process_fds", "open fds", ""},
    [PF_PROCESSES] = {"process_count", "processes", ""},
    [PF_CTX_VOL] = {"process_ctx_switches_voluntary", "ctx switches vol.", "/s"},
    [PF_CTX_INVOL] = {"process_ctx_switches_involuntary", "ctx switches invol.", "/s"},
    [PF_CPU_WAIT] = {"process_cpu_wait", "run-queue wait", "%"},
    [PF_THROTTLED] = {"process_cpu_throttled", "cgroup throttled", "%"},
    [PF_CPU_PRESSURE] = {"process_cpu_pressure", "cgroup cpu pressure", "%"},
    [PF_MEM_PRESSURE] = {"process_memory_pressure", "cgroup mem pressure", "%"},
    [PF_READ] = {"process_read_bytes", "disk read", "B/s"},
    [PF_WRITE] = {"process_write_bytes", "disk write", "B/s"},
    [PF_MAJFLT] = {"process_major_faults", "major faults", "/s"},
};

static const char *const figure_desc[PF_COUNT] = {
    [PF_CPU] = "watched tree's CPU, % of the CPUs it may use (affinity, cgroup cpu.max)",
    [PF_CPU_CORE] = "watched tree's CPU, % of one core (user + system)",
    [PF_CPU_USER] = "watched tree's user CPU, % of one core",
    [PF_CPU_SYSTEM] = "watched tree's system CPU, % of one core",
    [PF_MEMORY] = "watched tree's RSS, % of its limit (cgroup memory.max, else RAM)",
    [PF_RSS] = "watched tree's resident memory, MiB",
    [PF_RSS_ANON] = "watched tree's anonymous resident memory, MiB",
    [PF_THREADS] = "threads in the watched tree",
    [PF_FDS] = "open file descriptors in the watched tree",
    [PF_PROCESSES] = "processes in the watched tree",
    [PF_CTX_VOL] = "voluntary context switches per second",
    [PF_CTX_INVOL] = "involuntary context switches per second",
    [PF_CPU_WAIT] = "time runnable but waiting for a CPU, % of one core (schedstat)",
    [PF_THROTTLED] = "share of time the cgroup was CPU-throttled, %",
    [PF_CPU_PRESSURE] = "cgroup cpu.pressure some, % of time",
    [PF_MEM_PRESSURE] = "cgroup memory.pressure some, % of time",
    [PF_READ] = "MiB read from storage per second",
    [PF_WRITE] = "MiB written to storage per second",
    [PF_MAJFLT] = "major page faults per second",
};

static int g_metric[PF_COUNT];
static int g_metric_exits = -1;
static bool g_defined;

int proc_define_metrics(void)
{
    for (int f = 0; f < PF_COUNT; f++) {
        /* Memory and I/O go in MiB: a trend of plain numbers holds up to 3.6 million. */
        int id =
            metric_define(proc_figures[f].metric, METRIC_TREND, CONTAINS_DEFAULT, figure_desc[f]);
        if (id < 0) {
            return id;
        }
        g_metric[f] = id;
    }
    g_metric_exits = metric_define("process_exits", METRIC_COUNTER, CONTAINS_DEFAULT,
                                   "processes of the watched tree that ended");
    if (g_metric_exits < 0) {
        return g_metric_exits;
    }
    g_defined = true;
    return 0;
}

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
    struct fresh *fresh; /* FRESH_MAX, scratch of discover() */
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

static uint32_t hash_pid(int pid)
{
    return ((uint32_t)pid * 2654435761u) & (HASH_SIZE - 1);
}

static struct known *known_find(struct proc_probe *pp, int pid, bool insert)
{
    uint32_t h = hash_pid(pid);
    for (uint32_t i = 0; i < HASH_SIZE; i++) {
        struct known *k = &pp->known[(h + i) & (HASH_SIZE - 1)];
        if (k->kind != K_FREE && k->pid == pid) {
            return k;
        }
        if (k->kind == K_FREE) {
            if (!insert) {
                return NULL;
            }
            k->pid = pid;
            return k;
        }
    }
    return NULL;
}

/* Rebuilds the table with members only (strangers forgotten; deletions compacted). */
static void known_rebuild(struct proc_probe *pp)
{
    memset(pp->known, 0, HASH_SIZE * sizeof *pp->known);
    pp->n_strangers = 0;
    for (size_t i = 0; i < pp->n_members; i++) {
        struct known *k = known_find(pp, pp->members[i].pid, true);
        if (k != NULL) {
            k->kind = K_MEMBER;
            k->member = (int)i;
        }
    }
}

static void note_unavailable(struct proc_probe *pp, const char *what)
{
    if (pp->n_unavailable < sizeof pp->unavailable / sizeof pp->unavailable[0]) {
        snprintf(pp->unavailable[pp->n_unavailable++], sizeof pp->unavailable[0], "%s", what);
    }
}

/* Reads a small file into buf with pread at 0 (kept-open fds of seq files). */
static ssize_t pread_all(int fd, char *buf, size_t cap)
{
    ssize_t n;
    do {
        n = pread(fd, buf, cap - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

static ssize_t read_at(int dirfd, const char *path, char *buf, size_t cap)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    ssize_t n = pread_all(fd, buf, cap);
    int e = errno;
    close(fd);
    return n < 0 ? -e : n;
}

static ssize_t read_path(const char *path, char *buf, size_t cap)
{
    return read_at(AT_FDCWD, path, buf, cap);
}

struct proc_probe *proc_probe_new(void)
{
    struct proc_probe *pp = calloc(1, sizeof *pp);
    if (pp == NULL) {
        return NULL;
    }
    pp->members = calloc(PROC_MEMBERS_MAX, sizeof *pp->members);
    pp->known = calloc(HASH_SIZE, sizeof *pp->known);
    pp->fresh = calloc(FRESH_MAX, sizeof *pp->fresh);
    if (pp->members == NULL || pp->known == NULL || pp->fresh == NULL) {
        free(pp->fresh);
        free(pp->members);
        free(pp->known);
        free(pp);
        return NULL;
    }
    pthread_mutex_init(&pp->mu, NULL);
    pp->proc_fd = -1;
    pp->hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
    pp->self_pid = (int)getpid();
    return pp;
}

static bool all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

int proc_probe_add(struct proc_probe *pp, const char *what, const char *label, struct spawn *sp)
{
    if (pp->n_targets >= PROC_TARGETS_MAX) {
        return -ENOSPC;
    }
    size_t len = strlen(what);
    bool is_pid = all_digits(what);
    if (len == 0 || len >= PROC_LABEL_MAX || (!is_pid && len > 15)) {
        return -EINVAL;
    }
    if (is_pid) {
        long v = strtol(what, NULL, 10);
        if (v <= 0 || v > 0x3fffffff) {
            return -EINVAL;
        }
    }
    struct target *t = &pp->targets[pp->n_targets];
    memset(t, 0, sizeof *t);
    snprintf(t->what, sizeof t->what, "%s", what);
    snprintf(t->label, sizeof t->label, "%s", label != NULL && *label ? label : what);
    t->by_name = !is_pid;
    t->root_pid = is_pid ? (int)strtol(what, NULL, 10) : 0;
    t->sp = sp;
    t->fd_cpu_stat = t->fd_cpu_psi = t->fd_mem_psi = -1;
    pp->n_targets++;
    return 0;
}

size_t proc_probe_targets(const struct proc_probe *pp)
{
    return pp->n_targets;
}

size_t proc_probe_members(const struct proc_probe *pp, pid_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < pp->n_members && n < cap; i++) {
        out[n++] = (pid_t)pp->members[i].pid;
    }
    return n;
}

const char *proc_probe_label(const struct proc_probe *pp, size_t i)
{
    return i < pp->n_targets ? pp->targets[i].label : "";
}

static void member_close(struct member *m)
{
    int *fds[] = {&m->fd_stat, &m->fd_status, &m->fd_io, &m->fd_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
}

/* Adds a member; returns its index or -1 (cap, or it vanished). */
static int member_add(struct proc_probe *pp, int pid, uint64_t starttime, int target)
{
    if (pp->n_members >= PROC_MEMBERS_MAX) {
        return -1;
    }
    char path[32];
    snprintf(path, sizeof path, "%d", pid);
    int dfd = openat(pp->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -1;
    }
    struct member *m = &pp->members[pp->n_members];
    memset(m, 0, sizeof *m);
    m->pid = pid;
    m->starttime = starttime;
    m->target = target;
    m->fd_stat = openat(dfd, "stat", O_RDONLY | O_CLOEXEC);
    m->fd_status = openat(dfd, "status", O_RDONLY | O_CLOEXEC);
    m->fd_io = openat(dfd, "io", O_RDONLY | O_CLOEXEC);
    m->fd_fd = openat(dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dfd);
    if (m->fd_stat < 0) {
        member_close(m);
        return -1;
    }
    struct known *k = known_find(pp, pid, true);
    if (k == NULL) {
        member_close(m);
        return -1;
    }
    k->kind = K_MEMBER;
    k->member = (int)pp->n_members;
    pp->targets[target].n_members++;
    pp->targets[target].ever_member = true;
    return (int)pp->n_members++;
}

/* Removes member i (swap with the last); the caller rebuilds the table afterwards. */
static void member_del(struct proc_probe *pp, size_t i)
{
    struct member *m = &pp->members[i];
    struct target *t = &pp->targets[m->target];
    t->n_members--;
    t->exits++;
    /* Its CPU up to the last sample was counted; its parent, if a member, will see it
     * all again in its cutime/cstime once it reaps it. */
    struct known *pk = known_find(pp, m->ppid, false);
    if (pk != NULL && pk->kind == K_MEMBER && m->primed) {
        t->dead_user += m->utime + m->cutime;
        t->dead_sys += m->stime + m->cstime;
    }
    member_close(m);
    pp->members[i] = pp->members[pp->n_members - 1];
    pp->n_members--;
}

/* Open file descriptors of a member: getdents over its kept fd directory. */
static int count_fds(int dirfd)
{
    if (lseek(dirfd, 0, SEEK_SET) < 0) {
        return -errno;
    }
    char buf[8192];
    int n = 0;
    for (;;) {
        long r = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
        if (r < 0) {
            return -errno;
        }
        if (r == 0) {
            break;
        }
        for (long off = 0; off < r;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            const char *name = buf + off + 19;
            if (name[0] != '.') {
                n++;
            }
            off += reclen;
        }
    }
    return n;
}

/*
 * Over the threads of a process: the sum of their run-queue delay (ns, schedstat) and,
 * when with_ctx, of their context switches (each thread's status: the process's own
 * status counts only its main thread).  Returns the number of threads read, or -1.
 */
static int tasks_scan(struct proc_probe *pp, int pid, bool with_ctx, uint64_t *wait_ns,
                      uint64_t *vcs, uint64_t *ivcs)
{
    char path[48];
    snprintf(path, sizeof path, "%d/task", pid);
    int dfd = openat(pp->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return -1;
    }
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return -1;
    }
    *wait_ns = *vcs = *ivcs = 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < PROC_TASKS_MAX) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char p2[300], buf[2048];
        snprintf(p2, sizeof p2, "%s/schedstat", de->d_name);
        ssize_t r = read_at(dirfd(d), p2, buf, sizeof buf);
        struct procfs_schedstat ss = {0};
        if (r <= 0 || procfs_parse_schedstat(buf, (size_t)r, &ss) < 0) {
            continue;
        }
        *wait_ns += ss.wait_ns;
        if (with_ctx) {
            snprintf(p2, sizeof p2, "%s/status", de->d_name);
            r = read_at(dirfd(d), p2, buf, sizeof buf);
            struct procfs_status st = {0};
            if (r > 0 && procfs_parse_status(buf, (size_t)r, &st) == 0) {
                *vcs += st.voluntary_ctxt;
                *ivcs += st.nonvoluntary_ctxt;
            }
        }
        n++;
    }
    closedir(d);
    return n > 0 ? n : -1;
}

static void target_cgroup_open(struct target *t)
{
    char path[700];
    if (t->cgroup[0] == '\0') {
        return;
    }
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.stat", t->cgroup);
    t->fd_cpu_stat = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.pressure", t->cgroup);
    t->fd_cpu_psi = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.pressure", t->cgroup);
    t->fd_mem_psi = open(path, O_RDONLY | O_CLOEXEC);
}

/* Affinity of the root and the tightest cpu.max / memory.max from its cgroup upward. */
static void target_limits(struct proc_probe *pp, struct target *t)
{
    cpu_set_t set;
    double cpus = 0;
    if (t->root_pid > 0 && sched_getaffinity(t->root_pid, sizeof set, &set) == 0) {
        cpus = CPU_COUNT(&set);
    }
    if (cpus <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = n > 0 ? (double)n : 1;
    }
    double quota = 0;
    uint64_t mem = 0;
    char dir[600];
    snprintf(dir, sizeof dir, "%s", t->cgroup);
    while (dir[0] == '/') {
        char path[700], buf[128];
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", dir);
        ssize_t n = read_path(path, buf, sizeof buf);
        double cores;
        if (n > 0 && procfs_parse_cpu_max(buf, (size_t)n, &cores) == 0 && cores > 0 &&
            (quota == 0 || cores < quota)) {
            quota = cores;
        }
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", dir);
        n = read_path(path, buf, sizeof buf);
        uint64_t b;
        if (n > 0 && procfs_parse_max(buf, (size_t)n, &b) == 0 && b > 0 && (mem == 0 || b < mem)) {
            mem = b;
        }
        if (dir[1] == '\0') {
            break; /* the root cgroup has no limits of its own; done */
        }
        char *slash = strrchr(dir, '/');
        if (slash == dir) {
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
    t->cpu_quota = quota;
    t->allowed_cpus = quota > 0 && quota < cpus ? quota : cpus;
    t->mem_limit_cgroup = mem > 0 && (double)mem < pp->mem_total;
    t->mem_limit = t->mem_limit_cgroup ? (double)mem : pp->mem_total;
}

static void target_read_cgroup(struct proc_probe *pp, struct target *t)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "%d/cgroup", t->root_pid);
    ssize_t n = read_at(pp->proc_fd, path, buf, sizeof buf);
    if (n <= 0 || procfs_parse_cgroup(buf, (size_t)n, t->cgroup, sizeof t->cgroup) < 0) {
        t->cgroup[0] = '\0';
    }
}

static void discover(struct proc_probe *pp);

static int read_proc_stat(struct proc_probe *pp, int pid, struct procfs_stat *st)
{
    char path[32], buf[1024];
    snprintf(path, sizeof path, "%d/stat", pid);
    ssize_t n = read_at(pp->proc_fd, path, buf, sizeof buf);
    if (n <= 0) {
        return n < 0 ? (int)n : -EINVAL;
    }
    memset(st, 0, sizeof *st);
    return procfs_parse_stat(buf, (size_t)n, st);
}

static bool comm_matches(const struct target *t, const char *comm)
{
    return t->by_name && strcmp(t->what, comm) == 0;
}

static int proc_start(void *self, char *err, size_t err_len)
{
    struct proc_probe *pp = self;
    int rc = 0;
    char buf[4096];
    if (!g_defined && (rc = proc_define_metrics()) < 0) {
        snprintf(err, err_len, "process watcher: cannot define its metrics: %s", strerror(-rc));
        return rc;
    }
    pp->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pp->proc_fd < 0) {
        rc = -errno;
        snprintf(err, err_len, "--watch: cannot open /proc: %s", strerror(errno));
        return rc;
    }
    ssize_t n = read_path("/proc/meminfo", buf, sizeof buf);
    struct procfs_meminfo mi = {0};
    if (n > 0 && procfs_parse_meminfo(buf, (size_t)n, &mi) == 0) {
        pp->mem_total = (double)mi.mem_total_kb * 1024;
    }
    /* PID targets: the root must exist now. */
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        if (t->by_name) {
            continue;
        }
        struct procfs_stat st;
        if (read_proc_stat(pp, t->root_pid, &st) < 0 || st.state == 'Z' || st.state == 'X') {
            snprintf(err, err_len, "--watch %s: no process with PID %d", t->what, t->root_pid);
            return -ESRCH;
        }
        t->root_start = st.starttime;
        if (member_add(pp, t->root_pid, st.starttime, (int)i) < 0) {
            snprintf(err, err_len, "--watch %s: cannot read /proc/%d", t->what, t->root_pid);
            return -ESRCH;
        }
    }
    /* Name targets and every descendant: one discovery pass now. */
    discover(pp);
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        if (t->by_name && t->n_members == 0) {
            snprintf(err, err_len, "--watch %s: no process is named '%s' (as pgrep -x matches)",
                     t->what, t->what);
            return -ESRCH;
        }
        if (t->by_name) {
            for (size_t m = 0; m < pp->n_members; m++) {
                if (pp->members[m].target == (int)i) {
                    t->root_pid = pp->members[m].pid;
                    break;
                }
            }
        }
        target_read_cgroup(pp, t);
        if (t->cgroup[0] == '\0' && !pp->no_cgroup) {
            pp->no_cgroup = true;
            note_unavailable(pp, "cgroup v2 figures (no cgroup v2 path in /proc/PID/cgroup)");
        }
        target_cgroup_open(t);
        target_limits(pp, t);
    }
    pp->prev_ns = clock_now_ns();
    return 0;
}

static void discover(struct proc_probe *pp)
{
    struct fresh *fresh = pp->fresh;
    size_t n_fresh = 0;
    if (lseek(pp->proc_fd, 0, SEEK_SET) < 0) {
        return;
    }
    int dup_fd = dup(pp->proc_fd);
    if (dup_fd < 0) {
        return;
    }
    DIR *d = fdopendir(dup_fd);
    if (d == NULL) {
        close(dup_fd);
        return;
    }
    rewinddir(d);
    for (size_t i = 0; i < pp->n_members; i++) {
        pp->members[i].seen = false;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') {
            continue;
        }
        int pid = atoi(de->d_name);
        struct known *k = known_find(pp, pid, false);
        if (k != NULL && k->kind == K_MEMBER) {
            pp->members[k->member].seen = true;
            continue;
        }
        if (k != NULL || pid == pp->self_pid || n_fresh >= FRESH_MAX) {
            continue;
        }
        struct procfs_stat st;
        if (read_proc_stat(pp, pid, &st) < 0 || st.state == 'Z') {
            continue;
        }
        fresh[n_fresh].pid = pid;
        fresh[n_fresh].ppid = st.ppid;
        fresh[n_fresh].starttime = st.starttime;
        memcpy(fresh[n_fresh].comm, st.comm, sizeof st.comm);
        fresh[n_fresh].done = false;
        n_fresh++;
    }
    closedir(d);
    /* Join trees to a fixpoint: a child may be listed before its new parent. */
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < n_fresh; i++) {
            if (fresh[i].done) {
                continue;
            }
            int target = -1;
            struct known *pk = known_find(pp, fresh[i].ppid, false);
            if (pk != NULL && pk->kind == K_MEMBER) {
                target = pp->members[pk->member].target;
            } else {
                for (size_t t = 0; t < pp->n_targets; t++) {
                    if (comm_matches(&pp->targets[t], fresh[i].comm)) {
                        target = (int)t;
                        break;
                    }
                }
            }
            if (target >= 0) {
                int m = member_add(pp, fresh[i].pid, fresh[i].starttime, target);
                if (m >= 0) {
                    pp->members[m].ppid = fresh[i].ppid;
                    pp->members[m].seen = true;
                    pp->members[m].primed = pp->samples == 0; /* born before the first sample */
                }
                fresh[i].done = true;
                changed = true;
            }
        }
    }
    for (size_t i = 0; i < n_fresh; i++) {
        if (!fresh[i].done && pp->n_strangers < STRANGERS_MAX) {
            struct known *k = known_find(pp, fresh[i].pid, true);
            if (k != NULL && k->kind == K_FREE) {
                k->kind = K_STRANGER;
                pp->n_strangers++;
            }
        }
    }
}

static void record_death(struct proc_probe *pp, struct target *t, int pid)
{
    if (t->death.died) {
        return;
    }
    t->death.died = true;
    t->death.t_s = -1;
    t->death.pid = pid;
    t->death.wall_ns = clock_wall_ns();
    if (t->sp != NULL && pid == spawn_pid(t->sp)) {
        bool sig;
        int code;
        if (spawn_poll(t->sp, &sig, &code) == 1) {
            t->death.status_known = true;
            t->death.signaled = sig;
            t->death.code = code;
        }
    }
    (void)pp;
}

static void hist_push(struct target *t, uint64_t wall, const double *v)
{
    struct series_hist *h = &t->hist;
    if (h->n == h->cap) {
        if (h->cap >= PROC_HISTORY_MAX) {
            return;
        }
        size_t cap = h->cap ? h->cap * 2 : 256;
        uint64_t *w = realloc(h->wall, cap * sizeof *w);
        if (w == NULL) {
            return;
        }
        h->wall = w;
        for (int f = 0; f < PF_COUNT; f++) {
            double *p = realloc(h->v[f], cap * sizeof *p);
            if (p == NULL) {
                return;
            }
            h->v[f] = p;
        }
        h->cap = cap;
    }
    h->wall[h->n] = wall;
    for (int f = 0; f < PF_COUNT; f++) {
        h->v[f][h->n] = v[f];
    }
    h->n++;
}

static uint64_t delta(uint64_t now, uint64_t before)
{
    return now > before ? now - before : 0;
}

static void sample_member(struct proc_probe *pp, struct member *m, double dt_s)
{
    struct target *t = &pp->targets[m->target];
    char buf[4096];
    struct procfs_stat st = {0};
    ssize_t n = pread_all(m->fd_stat, buf, sizeof buf);
    if (n <= 0 || procfs_parse_stat(buf, (size_t)n, &st) < 0 || st.state == 'Z') {
        m->seen = false; /* ended between the readdir and now */
        return;
    }
    struct procfs_status ss = {0};
    bool have_status = m->fd_status >= 0 && (n = pread_all(m->fd_status, buf, sizeof buf)) > 0 &&
                       procfs_parse_status(buf, (size_t)n, &ss) == 0;
    struct procfs_io io = {0};
    bool have_io = m->fd_io >= 0 && (n = pread_all(m->fd_io, buf, sizeof buf)) > 0 &&
                   procfs_parse_io(buf, (size_t)n, &io) == 0;
    if (!have_io && !pp->denied_io) {
        pp->denied_io = true;
        note_unavailable(pp, "disk read/write bytes (/proc/PID/io not readable)");
    }
    int fds = m->fd_fd >= 0 ? count_fds(m->fd_fd) : -EACCES;
    if (fds < 0 && !pp->denied_fd) {
        pp->denied_fd = true;
        note_unavailable(pp, "open fds (/proc/PID/fd not readable)");
    }
    uint64_t wait_u = 0, tvcs = 0, tivcs = 0;
    bool multi = st.num_threads > 1;
    int tasks = tasks_scan(pp, m->pid, multi, &wait_u, &tvcs, &tivcs);
    int64_t wait = tasks > 0 ? (int64_t)wait_u : -1;
    if (multi && tasks > 0) {
        ss.voluntary_ctxt = tvcs;
        ss.nonvoluntary_ctxt = tivcs;
    }
    if (wait < 0 && !pp->no_schedstat) {
        pp->no_schedstat = true;
        note_unavailable(pp, "run-queue wait (no schedstat)");
    }
    double hz = (double)pp->hz;
    if (m->primed && dt_s > 0) {
        t->acc[PF_CPU_USER] += (double)delta(st.utime, m->utime) / hz / dt_s * 100;
        t->acc[PF_CPU_SYSTEM] += (double)delta(st.stime, m->stime) / hz / dt_s * 100;
        t->acc[PF_MAJFLT] += (double)delta(st.majflt, m->majflt) / dt_s;
        t->reaped_user += (double)delta(st.cutime, m->cutime);
        t->reaped_sys += (double)delta(st.cstime, m->cstime);
        if (have_status) {
            /* Summed over threads: one that ended takes its count along, so never < 0. */
            t->acc[PF_CTX_VOL] += (double)delta(ss.voluntary_ctxt, m->vcs) / dt_s;
            t->acc[PF_CTX_INVOL] += (double)delta(ss.nonvoluntary_ctxt, m->ivcs) / dt_s;
        }
        if (have_io) {
            t->acc[PF_READ] += (double)delta(io.read_bytes, m->rd) / dt_s;
            t->acc[PF_WRITE] += (double)delta(io.write_bytes, m->wr) / dt_s;
        }
        if (wait >= 0 && (uint64_t)wait >= m->wait_ns) {
            t->acc[PF_CPU_WAIT] += (double)((uint64_t)wait - m->wait_ns) / 1e9 / dt_s * 100;
        }
    } else if (!m->primed && dt_s > 0) {
        /* Born during the interval: everything it did counts. */
        t->acc[PF_CPU_USER] += (double)st.utime / hz / dt_s * 100;
        t->acc[PF_CPU_SYSTEM] += (double)st.stime / hz / dt_s * 100;
        t->acc[PF_MAJFLT] += (double)st.majflt / dt_s;
        if (have_status) {
            t->acc[PF_CTX_VOL] += (double)ss.voluntary_ctxt / dt_s;
            t->acc[PF_CTX_INVOL] += (double)ss.nonvoluntary_ctxt / dt_s;
        }
        if (have_io) {
            t->acc[PF_READ] += (double)io.read_bytes / dt_s;
            t->acc[PF_WRITE] += (double)io.write_bytes / dt_s;
        }
        if (wait > 0) {
            t->acc[PF_CPU_WAIT] += (double)wait / 1e9 / dt_s * 100;
        }
    }
    m->utime = st.utime;
    m->stime = st.stime;
    m->cutime = st.cutime;
    m->cstime = st.cstime;
    m->majflt = st.majflt;
    m->vcs = ss.voluntary_ctxt;
    m->ivcs = ss.nonvoluntary_ctxt;
    m->rd = io.read_bytes;
    m->wr = io.write_bytes;
    m->wait_ns = wait > 0 ? (uint64_t)wait : 0;
    m->primed = true;
    double rss = have_status ? (double)ss.vm_rss_kb * 1024 : (double)st.rss_pages * 4096;
    t->acc[PF_RSS] += rss;
    t->acc[PF_RSS_ANON] += (double)ss.rss_anon_kb * 1024;
    t->acc[PF_THREADS] += (double)st.num_threads;
    t->acc[PF_PROCESSES] += 1;
    if (fds >= 0) {
        t->acc[PF_FDS] += fds;
    }
    t->have[PF_READ] = t->have[PF_WRITE] = t->have[PF_READ] || have_io;
    t->have[PF_FDS] = t->have[PF_FDS] || fds >= 0;
    t->have[PF_CPU_WAIT] = t->have[PF_CPU_WAIT] || wait >= 0;
    t->have[PF_CTX_VOL] = t->have[PF_CTX_INVOL] = t->have[PF_CTX_VOL] || have_status;
    t->have[PF_RSS_ANON] = t->have[PF_RSS_ANON] || have_status;
}

static void sample_cgroup(struct target *t, double dt_s)
{
    char buf[1024];
    ssize_t n;
    struct procfs_cpu_stat cs = {0};
    struct procfs_psi cpu = {0}, mem = {0};
    bool have_cs = t->fd_cpu_stat >= 0 && (n = pread_all(t->fd_cpu_stat, buf, sizeof buf)) > 0 &&
                   procfs_parse_cpu_stat(buf, (size_t)n, &cs) == 0;
    bool have_cpu = t->fd_cpu_psi >= 0 && (n = pread_all(t->fd_cpu_psi, buf, sizeof buf)) > 0 &&
                    procfs_parse_psi(buf, (size_t)n, &cpu) == 0;
    bool have_mem = t->fd_mem_psi >= 0 && (n = pread_all(t->fd_mem_psi, buf, sizeof buf)) > 0 &&
                    procfs_parse_psi(buf, (size_t)n, &mem) == 0;
    if (t->cg_primed && dt_s > 0) {
        if (have_cs) {
            t->acc[PF_THROTTLED] =
                (double)delta(cs.throttled_usec, t->cg_prev.throttled_usec) / 1e6 / dt_s * 100;
            t->have[PF_THROTTLED] = true;
        }
        if (have_cpu) {
            t->acc[PF_CPU_PRESSURE] =
                (double)delta(cpu.some_total_us, t->psi_cpu_prev) / 1e6 / dt_s * 100;
            t->have[PF_CPU_PRESSURE] = true;
        }
        if (have_mem) {
            t->acc[PF_MEM_PRESSURE] =
                (double)delta(mem.some_total_us, t->psi_mem_prev) / 1e6 / dt_s * 100;
            t->have[PF_MEM_PRESSURE] = true;
        }
    }
    t->cg_prev = cs;
    t->psi_cpu_prev = cpu.some_total_us;
    t->psi_mem_prev = mem.some_total_us;
    t->cg_primed = true;
}

static void record(struct registry *reg, int metric, const char *tags, double v)
{
    int i = registry_get(reg, metric, tags);
    if (i >= 0) {
        series_trend_value(registry_at(reg, i), v);
    }
}

static void proc_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    struct proc_probe *pp = self;
    double dt_s = (double)(now_ns - pp->prev_ns) / 1e9;
    pp->prev_ns = now_ns;
    if (pp->samples > 0 && pp->samples % STRANGER_RESET_EVERY == 0) {
        known_rebuild(pp);
    }
    discover(pp);
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        memset(t->acc, 0, sizeof t->acc);
        memset(t->have, 0, sizeof t->have);
        t->exits = 0;
        t->reaped_user = t->reaped_sys = 0;
        if (pp->samples % LIMITS_EVERY == LIMITS_EVERY - 1) {
            target_limits(pp, t);
        }
    }
    for (size_t i = 0; i < pp->n_members; i++) {
        if (pp->members[i].seen) {
            sample_member(pp, &pp->members[i], dt_s);
        }
    }
    /* The ones that ended: record roots, drop them, rebuild the table once. */
    bool removed = false;
    for (size_t i = 0; i < pp->n_members;) {
        struct member *m = &pp->members[i];
        if (m->seen) {
            i++;
            continue;
        }
        struct target *t = &pp->targets[m->target];
        if (!t->by_name && m->pid == t->root_pid && m->starttime == t->root_start) {
            record_death(pp, t, m->pid);
        }
        member_del(pp, i);
        removed = true;
    }
    if (removed) {
        known_rebuild(pp);
    }
    uint64_t wall = clock_wall_ns();
    char tags[128];
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        if (t->by_name && t->ever_member && t->n_members == 0) {
            record_death(pp, t, t->root_pid);
        }
        double v[PF_COUNT];
        bool alive = t->n_members > 0;
        if (alive) {
            sample_cgroup(t, dt_s);
        }
        /* Reaped children's tails: what the c-times grew by beyond what was counted. */
        if (dt_s > 0 && pp->samples > 0) {
            double hz = (double)pp->hz;
            double su = t->reaped_user < (double)t->dead_user ? t->reaped_user : t->dead_user;
            double ss = t->reaped_sys < (double)t->dead_sys ? t->reaped_sys : t->dead_sys;
            t->dead_user -= (uint64_t)su;
            t->dead_sys -= (uint64_t)ss;
            t->acc[PF_CPU_USER] += (t->reaped_user - su) / hz / dt_s * 100;
            t->acc[PF_CPU_SYSTEM] += (t->reaped_sys - ss) / hz / dt_s * 100;
        }
        t->acc[PF_CPU_CORE] = t->acc[PF_CPU_USER] + t->acc[PF_CPU_SYSTEM];
        t->acc[PF_CPU] = t->allowed_cpus > 0 ? t->acc[PF_CPU_CORE] / t->allowed_cpus : NAN;
        t->acc[PF_MEMORY] = t->mem_limit > 0 ? t->acc[PF_RSS] / t->mem_limit * 100 : NAN;
        static const int always[] = {PF_CPU, PF_CPU_CORE, PF_CPU_USER,  PF_CPU_SYSTEM, PF_MEMORY,
                                     PF_RSS, PF_THREADS,  PF_PROCESSES, PF_MAJFLT};
        for (size_t a = 0; a < sizeof always / sizeof always[0]; a++) {
            t->have[always[a]] = true;
        }
        bool first = pp->samples == 0;
        for (int f = 0; f < PF_COUNT; f++) {
            v[f] = alive && t->have[f] ? t->acc[f] : NAN;
        }
        if (first) {
            /* The first interval may be longer than the others and primes the deltas:
             * keep its levels, not its rates. */
            int rates[] = {PF_CPU,       PF_CPU_CORE, PF_CPU_USER, PF_CPU_SYSTEM, PF_CTX_VOL,
                           PF_CTX_INVOL, PF_CPU_WAIT, PF_READ,     PF_WRITE,      PF_MAJFLT};
            for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
                v[rates[r]] = NAN;
            }
        }
        hist_push(t, wall, v);
        const char *k = "target";
        const char *val = t->label;
        if (tags_canon(tags, sizeof tags, &k, &val, 1) < 0) {
            tags[0] = '\0';
        }
        for (int f = 0; f < PF_COUNT; f++) {
            if (!isnan(v[f])) {
                bool mib = proc_figures[f].unit[0] == 'B';
                record(reg, g_metric[f], tags, mib ? v[f] / (1024.0 * 1024.0) : v[f]);
            }
        }
        if (t->exits > 0) {
            int ix = registry_get(reg, g_metric_exits, tags);
            if (ix >= 0) {
                series_add(registry_at(reg, ix), (double)t->exits);
            }
        }
        pthread_mutex_lock(&pp->mu);
        t->live.valid = !first || !alive;
        t->live.cpu = v[PF_CPU];
        t->live.cpu_core = v[PF_CPU_CORE];
        t->live.rss_bytes = v[PF_RSS];
        t->live.memory = v[PF_MEMORY];
        t->live.processes = t->n_members;
        t->live.dead = !alive;
        pthread_mutex_unlock(&pp->mu);
    }
    pp->samples++;
}

void proc_probe_live(struct proc_probe *pp, size_t i, struct proc_live *out)
{
    memset(out, 0, sizeof *out);
    if (i >= pp->n_targets) {
        return;
    }
    pthread_mutex_lock(&pp->mu);
    *out = pp->targets[i].live;
    pthread_mutex_unlock(&pp->mu);
}

size_t proc_probe_history(const struct proc_probe *pp, size_t i, enum proc_figure f,
                          const double **values, const uint64_t **wall_ns)
{
    if (i >= pp->n_targets) {
        return 0;
    }
    const struct target *t = &pp->targets[i];
    *values = t->hist.v[f];
    *wall_ns = t->hist.wall;
    return t->hist.n;
}

double proc_probe_memory_limit(const struct proc_probe *pp, size_t i)
{
    return i < pp->n_targets ? pp->targets[i].mem_limit : 0;
}

void proc_probe_death(const struct proc_probe *pp, size_t i, struct proc_death *out)
{
    memset(out, 0, sizeof *out);
    if (i < pp->n_targets) {
        *out = pp->targets[i].death;
    }
}

void proc_probe_set_death_load(struct proc_probe *pp, size_t i, double t_s, double rps,
                               unsigned vus)
{
    if (i < pp->n_targets && pp->targets[i].death.died) {
        pp->targets[i].death.t_s = t_s;
        pp->targets[i].death.rps = rps;
        pp->targets[i].death.vus = vus;
    }
}

void proc_probe_set_analysis(struct proc_probe *pp, size_t i, const struct fit_verdict *leak)
{
    if (i < pp->n_targets && leak != NULL) {
        pp->targets[i].leak = *leak;
        pp->targets[i].has_leak = true;
    }
}

static void proc_stop(void *self)
{
    struct proc_probe *pp = self;
    /* A spawned target that died after the last sample still gets its status. */
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        if (t->sp != NULL && !t->death.died) {
            bool sig;
            int code;
            if (spawn_poll(t->sp, &sig, &code) == 1) {
                record_death(pp, t, spawn_pid(t->sp));
                t->death.status_known = true;
                t->death.signaled = sig;
                t->death.code = code;
            }
        }
    }
}

/* Statistics of one figure's history: min, avg, p95, max over the non-NaN values. */
struct stats {
    size_t n;
    double min, avg, p95, max;
};

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void figure_stats(const struct target *t, int f, struct stats *s)
{
    memset(s, 0, sizeof *s);
    const struct series_hist *h = &t->hist;
    double *tmp = malloc((h->n ? h->n : 1) * sizeof *tmp);
    if (tmp == NULL) {
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (!isnan(h->v[f][i])) {
            tmp[s->n++] = h->v[f][i];
            sum += h->v[f][i];
        }
    }
    if (s->n > 0) {
        qsort(tmp, s->n, sizeof *tmp, cmp_d);
        s->min = tmp[0];
        s->max = tmp[s->n - 1];
        s->avg = sum / (double)s->n;
        size_t rank = (size_t)ceil(0.95 * (double)s->n);
        s->p95 = tmp[rank > 0 ? rank - 1 : 0];
    }
    free(tmp);
}

static void fmt_value(double v, const char *unit, char *buf, size_t cap)
{
    if (unit[0] == 'B') {
        const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int k = 0;
        while (fabs(v) >= 1024 && k < 4) {
            v /= 1024;
            k++;
        }
        if (k == 0) {
            snprintf(buf, cap, "%.0f %s%s", v, u[k], unit + 1);
        } else {
            snprintf(buf, cap, "%.1f %s%s", v, u[k], unit + 1);
        }
    } else if (strcmp(unit, "%") == 0) {
        snprintf(buf, cap, "%.1f%%", v);
    } else if (v < 100 && v != floor(v)) {
        snprintf(buf, cap, "%.1f%s", v, unit);
    } else {
        snprintf(buf, cap, "%.0f%s", v, unit);
    }
}

static void proc_summary(void *self, FILE *f, bool color)
{
    struct proc_probe *pp = self;
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        char limit[64];
        fmt_value(t->mem_limit, "B", limit, sizeof limit);
        fprintf(f, "\n  %swatched: %s%s (%s%s; may use %.2g CPU%s, memory limit %s%s)\n", bold,
                t->label, reset, t->by_name ? "by name" : "PID ", t->by_name ? "" : t->what,
                t->allowed_cpus, t->allowed_cpus == 1 ? "" : "s", limit,
                t->mem_limit_cgroup ? " from memory.max" : " = RAM");
        fprintf(f, "    %-22s %10s %10s %10s %10s\n", "", "min", "avg", "p95", "max");
        for (int fi = 0; fi < PF_COUNT; fi++) {
            struct stats s;
            figure_stats(t, fi, &s);
            if (s.n == 0) {
                continue;
            }
            char a[32], b[32], c[32], d[32];
            const char *u = proc_figures[fi].unit;
            fmt_value(s.min, u, a, sizeof a);
            fmt_value(s.avg, u, b, sizeof b);
            fmt_value(s.p95, u, c, sizeof c);
            fmt_value(s.max, u, d, sizeof d);
            fprintf(f, "    %-22s %10s %10s %10s %10s\n", proc_figures[fi].label, a, b, c, d);
        }
        if (t->death.died) {
            char when[96] = "";
            if (t->death.t_s >= 0) {
                snprintf(when, sizeof when, " %.1f s into the run, at %.0f req/s with %u VUs",
                         t->death.t_s, t->death.rps, t->death.vus);
            }
            if (t->death.status_known && t->death.signaled) {
                fprintf(f, "    %sended during the run%s%s: PID %d killed by signal %d (%s)\n",
                        bold, reset, when, t->death.pid, t->death.code, strsignal(t->death.code));
            } else if (t->death.status_known) {
                fprintf(f, "    %sended during the run%s%s: PID %d exited with status %d\n", bold,
                        reset, when, t->death.pid, t->death.code);
            } else {
                fprintf(f,
                        "    %sended during the run%s%s: PID %d is gone (not brunt's child: "
                        "status unknown)\n",
                        bold, reset, when, t->death.pid);
            }
        }
        if (t->has_leak) {
            fprintf(f, "    memory: %s%s%s: %s\n", bold, fit_trend_name(t->leak.trend), reset,
                    t->leak.evidence);
        }
    }
    for (size_t i = 0; i < pp->n_unavailable; i++) {
        fprintf(f, "    unavailable: %s\n", pp->unavailable[i]);
    }
}

static void json_num_or_null(struct jsonw *w, double v)
{
    if (isnan(v) || isinf(v)) {
        jsonw_null(w);
    } else {
        jsonw_num(w, v);
    }
}

static size_t proc_findings(void *self, struct finding *out, size_t cap);

static int proc_json(void *self, struct jsonw *w)
{
    struct proc_probe *pp = self;
    struct finding fs[2 * PROC_TARGETS_MAX];
    size_t nf = proc_findings(self, fs, sizeof fs / sizeof fs[0]);
    jsonw_obj_begin(w);
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_key(w, "interval_samples");
    jsonw_uint(w, pp->samples);
    jsonw_key(w, "unavailable");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < pp->n_unavailable; i++) {
        jsonw_str(w, pp->unavailable[i]);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "targets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "label");
        jsonw_str(w, t->label);
        jsonw_key(w, "watch");
        jsonw_str(w, t->what);
        jsonw_key(w, "by");
        jsonw_str(w, t->sp != NULL ? "spawn" : t->by_name ? "name" : "pid");
        jsonw_key(w, "pid");
        jsonw_int(w, t->root_pid);
        jsonw_key(w, "cgroup");
        jsonw_str(w, t->cgroup[0] ? t->cgroup : NULL);
        jsonw_key(w, "allowed_cpus");
        jsonw_num(w, t->allowed_cpus);
        jsonw_key(w, "cpu_quota_cores");
        json_num_or_null(w, t->cpu_quota > 0 ? t->cpu_quota : NAN);
        jsonw_key(w, "memory_limit_bytes");
        jsonw_num(w, t->mem_limit);
        jsonw_key(w, "memory_limit_from");
        jsonw_str(w, t->mem_limit_cgroup ? "memory.max" : "MemTotal");
        jsonw_key(w, "summary");
        jsonw_obj_begin(w);
        for (int f = 0; f < PF_COUNT; f++) {
            struct stats s;
            figure_stats(t, f, &s);
            jsonw_key(w, proc_figures[f].metric);
            if (s.n == 0) {
                jsonw_null(w);
                continue;
            }
            jsonw_obj_begin(w);
            jsonw_key(w, "min");
            jsonw_num(w, s.min);
            jsonw_key(w, "avg");
            jsonw_num(w, s.avg);
            jsonw_key(w, "p95");
            jsonw_num(w, s.p95);
            jsonw_key(w, "max");
            jsonw_num(w, s.max);
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "died");
        if (t->death.died) {
            jsonw_obj_begin(w);
            jsonw_key(w, "pid");
            jsonw_int(w, t->death.pid);
            jsonw_key(w, "wall_ms");
            jsonw_uint(w, t->death.wall_ns / 1000000);
            jsonw_key(w, "t_s");
            json_num_or_null(w, t->death.t_s >= 0 ? t->death.t_s : NAN);
            jsonw_key(w, "rps");
            json_num_or_null(w, t->death.t_s >= 0 ? t->death.rps : NAN);
            jsonw_key(w, "vus");
            jsonw_uint(w, t->death.vus);
            jsonw_key(w, "exit_status");
            if (t->death.status_known && !t->death.signaled) {
                jsonw_int(w, t->death.code);
            } else {
                jsonw_null(w);
            }
            jsonw_key(w, "signal");
            if (t->death.status_known && t->death.signaled) {
                jsonw_int(w, t->death.code);
            } else {
                jsonw_null(w);
            }
            jsonw_obj_end(w);
        } else {
            jsonw_null(w);
        }
        jsonw_key(w, "memory_trend");
        if (t->has_leak) {
            jsonw_obj_begin(w);
            jsonw_key(w, "verdict");
            jsonw_str(w, fit_trend_name(t->leak.trend));
            jsonw_key(w, "slope_mib_per_hour");
            jsonw_num(w, t->leak.per_hour / (1024.0 * 1024.0));
            jsonw_key(w, "r2");
            jsonw_num(w, t->leak.line.r2);
            jsonw_key(w, "mann_kendall_z");
            jsonw_num(w, t->leak.line.mk_z);
            jsonw_key(w, "samples");
            jsonw_uint(w, t->leak.line.n);
            jsonw_key(w, "window_s");
            jsonw_num(w, t->leak.t1 - t->leak.t0);
            jsonw_key(w, "hours_to_limit");
            json_num_or_null(w, t->leak.hours_to_limit >= 0 ? t->leak.hours_to_limit : NAN);
            jsonw_key(w, "evidence");
            jsonw_str(w, t->leak.evidence);
            jsonw_obj_end(w);
        } else {
            jsonw_null(w);
        }
        /* The per-interval series, columnar: wall_ms and one array per figure. */
        jsonw_key(w, "series");
        jsonw_obj_begin(w);
        jsonw_key(w, "wall_ms");
        jsonw_arr_begin(w);
        for (size_t k = 0; k < t->hist.n; k++) {
            jsonw_uint(w, t->hist.wall[k] / 1000000);
        }
        jsonw_arr_end(w);
        for (int f = 0; f < PF_COUNT; f++) {
            jsonw_key(w, proc_figures[f].metric);
            jsonw_arr_begin(w);
            for (size_t k = 0; k < t->hist.n; k++) {
                json_num_or_null(w, t->hist.v[f][k]);
            }
            jsonw_arr_end(w);
        }
        jsonw_obj_end(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t proc_findings(void *self, struct finding *out, size_t cap)
{
    struct proc_probe *pp = self;
    size_t n = 0;
    for (size_t i = 0; i < pp->n_targets && n < cap; i++) {
        struct target *t = &pp->targets[i];
        if (t->has_leak && t->leak.trend == FIT_GROWING) {
            struct finding *fd = &out[n++];
            memset(fd, 0, sizeof *fd);
            fd->severity = FINDING_WARNING;
            snprintf(fd->probe, sizeof fd->probe, "process");
            snprintf(fd->kind, sizeof fd->kind, "leak");
            snprintf(fd->location, sizeof fd->location, "%s", t->label);
            snprintf(fd->evidence, sizeof fd->evidence, "%s", t->leak.evidence);
            snprintf(fd->recommendation, sizeof fd->recommendation,
                     "run longer at constant load to confirm; then take a heap profile");
            fd->impact = -1;
        }
        if (t->death.died && n < cap) {
            struct finding *fd = &out[n++];
            memset(fd, 0, sizeof *fd);
            fd->severity = FINDING_CRITICAL;
            snprintf(fd->probe, sizeof fd->probe, "process");
            snprintf(fd->kind, sizeof fd->kind, "target_died");
            snprintf(fd->location, sizeof fd->location, "%s", t->label);
            snprintf(fd->evidence, sizeof fd->evidence, "PID %d ended during the run",
                     t->death.pid);
            fd->impact = -1;
        }
    }
    return n;
}

static void proc_free(void *self)
{
    struct proc_probe *pp = self;
    for (size_t i = 0; i < pp->n_members; i++) {
        member_close(&pp->members[i]);
    }
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        int fds[] = {t->fd_cpu_stat, t->fd_cpu_psi, t->fd_mem_psi};
        for (size_t k = 0; k < 3; k++) {
            if (fds[k] >= 0) {
                close(fds[k]);
            }
        }
        for (int f = 0; f < PF_COUNT; f++) {
            free(t->hist.v[f]);
        }
        free(t->hist.wall);
    }
    if (pp->proc_fd >= 0) {
        close(pp->proc_fd);
    }
    pthread_mutex_destroy(&pp->mu);
    free(pp->members);
    free(pp->known);
    free(pp->fresh);
    free(pp);
}

static const struct probe_ops proc_ops = {
    .name = "process",
    .start = proc_start,
    .sample = proc_sample,
    .stop = proc_stop,
    .summary = proc_summary,
    .to_json = proc_json,
    .findings = proc_findings,
    .free = proc_free,
};

struct probe proc_probe_as_probe(struct proc_probe *pp)
{
    return (struct probe){&proc_ops, pp};
}
