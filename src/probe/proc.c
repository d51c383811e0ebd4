/*
 * proc — the process watcher (proc.h): follows each target's process tree through
 * /proc and samples it once per interval on the probe thread.
 *
 * Membership.  Each interval one readdir of /proc lists the live processes.  A PID seen
 * for the first time has its stat read once (ppid, comm, start time); it joins the tree
 * of its parent when the parent is a member, or a name target when its comm matches,
 * else it is remembered as a stranger (the stranger cache is dropped every 30 intervals,
 * so a reused PID is looked at again).  Members are identified by (PID, start time), so a
 * reused PID is never mistaken for the member that had it.  A member that is a zombie
 * with no thread left has ended: its stat still holds its final times, so its last
 * slice is counted then (a group leader that exited before its other threads is a
 * zombie that goes on: it stays, though its status has no RSS any more).
 * One already reaped when read is gone: its CPU since the last sample comes back
 * through its parent's cutime (a member's), counted as the reaped tail.
 *
 * Rates are over the time this watcher measured between its own samples (not the
 * nominal interval).  CPU comes from utime+stime (USER_HZ ticks, so ±1 tick per process
 * per sample: ±1 % of a core at 1 s); run-queue delay from the threads' schedstat (ns).
 *
 * What it leaves out: PSS (smaps_rollup walks page tables: too dear each second),
 * per-thread CPU, and cgroup v1.
 */
#include "probe/proc.h"
#include "probe/proc_internal.h"

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

ssize_t proc__read_at(int dirfd, const char *path, char *buf, size_t cap)
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
    return proc__read_at(AT_FDCWD, path, buf, cap);
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
        ssize_t r = proc__read_at(dirfd(d), p2, buf, sizeof buf);
        struct procfs_schedstat ss = {0};
        if (r <= 0 || procfs_parse_schedstat(buf, (size_t)r, &ss) < 0) {
            continue;
        }
        *wait_ns += ss.wait_ns;
        if (with_ctx) {
            snprintf(p2, sizeof p2, "%s/status", de->d_name);
            r = proc__read_at(dirfd(d), p2, buf, sizeof buf);
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

/* Adds to *set the CPUs any thread of process pid may run on; false when none was read. */
static bool process_affinity(struct proc_probe *pp, int pid, cpu_set_t *set)
{
    char path[48];
    snprintf(path, sizeof path, "%d/task", pid);
    int dfd = openat(pp->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL) {
        if (dfd >= 0) {
            close(dfd);
        }
        return false;
    }
    bool any = false;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < PROC_TASKS_MAX) {
        char *end;
        long tid = strtol(de->d_name, &end, 10);
        cpu_set_t one;
        if (*end != '\0' || tid <= 0 || sched_getaffinity((pid_t)tid, sizeof one, &one) < 0) {
            continue;
        }
        CPU_OR(set, set, &one);
        any = true;
        n++;
    }
    closedir(d);
    return any;
}

/*
 * The CPUs the tree may use: the union of every member thread's affinity (a process may
 * pin its main thread alone, or its workers each to a core: what bounds its CPU is the
 * set all of them together may run on), and the tightest cpu.max / memory.max from the
 * root's cgroup upward.
 */
static void target_limits(struct proc_probe *pp, struct target *t)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    bool any = false;
    int ti = (int)(t - pp->targets);
    for (size_t m = 0; m < pp->n_members; m++) {
        if (pp->members[m].target == ti) {
            any |= process_affinity(pp, pp->members[m].pid, &set);
        }
    }
    if (!any && t->root_pid > 0) {
        any = process_affinity(pp, t->root_pid, &set) ||
              sched_getaffinity(t->root_pid, sizeof set, &set) == 0;
    }
    double cpus = any ? CPU_COUNT(&set) : 0;
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
    ssize_t n = proc__read_at(pp->proc_fd, path, buf, sizeof buf);
    if (n <= 0 || procfs_parse_cgroup(buf, (size_t)n, t->cgroup, sizeof t->cgroup) < 0) {
        t->cgroup[0] = '\0';
    }
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
        if (proc__read_proc_stat(pp, t->root_pid, &st) < 0 || procfs_stat_ended(&st)) {
            snprintf(err, err_len, "--watch %s: no process with PID %d", t->what, t->root_pid);
            return -ESRCH;
        }
        t->root_start = st.starttime;
        if (proc__member_add(pp, t->root_pid, st.starttime, (int)i) < 0) {
            snprintf(err, err_len, "--watch %s: cannot read /proc/%d", t->what, t->root_pid);
            return -ESRCH;
        }
    }
    /* Name targets and every descendant: one discovery pass now. */
    proc__discover(pp);
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

static uint64_t delta(uint64_t now, uint64_t before)
{
    return now > before ? now - before : 0;
}

/* A member that ended and is a zombie: the CPU of its last slice (all of it if it was
 * born in this interval), and its times for proc__member_del's reaped-tail account. */
static void sample_zombie(struct proc_probe *pp, struct member *m, const struct procfs_stat *st,
                          double dt_s)
{
    struct target *t = &pp->targets[m->target];
    double hz = (double)pp->hz;
    if (dt_s > 0) {
        uint64_t u = m->primed ? delta(st->utime, m->utime) : st->utime;
        uint64_t s = m->primed ? delta(st->stime, m->stime) : st->stime;
        t->acc[PF_CPU_USER] += (double)u / hz / dt_s * 100;
        t->acc[PF_CPU_SYSTEM] += (double)s / hz / dt_s * 100;
        if (m->primed) {
            t->reaped_user += (double)delta(st->cutime, m->cutime);
            t->reaped_sys += (double)delta(st->cstime, m->cstime);
        }
    }
    m->utime = st->utime;
    m->stime = st->stime;
    m->cutime = st->cutime;
    m->cstime = st->cstime;
    m->primed = true;
}

static void sample_member(struct proc_probe *pp, struct member *m, double dt_s)
{
    struct target *t = &pp->targets[m->target];
    char buf[4096];
    struct procfs_stat st = {0};
    ssize_t n = pread_all(m->fd_stat, buf, sizeof buf);
    if (n <= 0 || procfs_parse_stat(buf, (size_t)n, &st) < 0) {
        m->seen = false; /* ended and reaped between the readdir and now */
        return;
    }
    m->ppid = st.ppid; /* reparented (to a subreaper in the tree): the reap is its */
    if (procfs_stat_ended(&st)) {
        /* Ended, not reaped yet: its stat holds its final times, so its last slice
         * counts now, and what its parent's c-times gain at the reap is all counted. */
        sample_zombie(pp, m, &st, dt_s);
        m->seen = false;
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
        proc__known_rebuild(pp);
    }
    proc__discover(pp);
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
            proc__record_death(pp, t, m->pid);
        }
        proc__member_del(pp, i);
        removed = true;
    }
    if (removed) {
        proc__known_rebuild(pp);
    }
    uint64_t wall = clock_wall_ns();
    char tags[128];
    for (size_t i = 0; i < pp->n_targets; i++) {
        struct target *t = &pp->targets[i];
        if (t->by_name && t->ever_member && t->n_members == 0) {
            proc__record_death(pp, t, t->root_pid);
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
        probe_history_push(&t->hist.wall, t->hist.v, PF_COUNT, &t->hist.n, &t->hist.cap,
                           PROC_HISTORY_MAX, wall, v);
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
                proc__record_death(pp, t, spawn_pid(t->sp));
                t->death.status_known = true;
                t->death.signaled = sig;
                t->death.code = code;
            }
        }
    }
}

size_t proc__findings(void *self, struct finding *out, size_t cap)
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
        proc__member_close(&pp->members[i]);
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
    .summary = proc__summary,
    .to_json = proc__json,
    .findings = proc__findings,
    .free = proc_free,
};

struct probe proc_probe_as_probe(struct proc_probe *pp)
{
    return (struct probe){&proc_ops, pp};
}
