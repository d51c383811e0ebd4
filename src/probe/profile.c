/*
 * profile — perf_event_open CPU-clock sampling of every thread of the watched processes.
 * See profile.h for what it does and leaves out.
 *
 * Raw samples are kept as distinct (pid, call chain) stacks with a count, the call chain
 * as the kernel wrote it (context markers included), in one word arena; nothing is
 * symbolised while the load runs, so a poll costs the ring copies and one hash per
 * sample.  profile_stop() resolves each distinct address once (probe/symbols.c) and
 * builds the flame.
 */
#include "probe/profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/rng.h"
#include "core/text.h"
#include "probe/symbols.h"

#define RING_DATA_PAGES 16   /* 64 KiB per thread: ~30 s of 99 Hz samples 20 frames deep */
#define RING_DWARF_PAGES 256 /* 1 MiB: ~120 samples of 8 KiB stack, a 1 s poll at 99 Hz */
#define ENABLE_LEAD_NS (1500 * NS_PER_MS) /* polls are ~1 s apart: enable a bit early */

struct pthread_ev {
    pid_t pid, tid;
    int fd;
    void *ring;
    size_t ring_bytes;
    bool seen; /* in the current rescan */
};

struct rstack {
    uint64_t hash;
    uint64_t off; /* into words */
    uint64_t count;
    uint32_t n;
    pid_t pid;
};

struct watched {
    pid_t pid;
    bool exited;
    char comm[32];
};

struct profile {
    struct watched procs[PROFILE_MAX_PIDS];
    size_t n_procs;
    unsigned freq_hz;
    bool user_only;
    bool dwarf;  /* REGS_USER | STACK_USER, unwound with libdwfl */
    bool kernel; /* events include kernel frames */
    bool started, stopped, enabled;
    uint64_t from_ns, to_ns; /* atomically read; to 0 = open */
    bool offsets;            /* the window is relative to start() */
    uint64_t from_off_ns, to_off_ns;
    profile_pids_cb pids_cb;
    void *pids_data;

    struct pthread_ev *threads;
    size_t n_threads, cap_threads;

    uint64_t *words;
    size_t n_words, cap_words;
    struct rstack *stacks;
    size_t n_stacks, cap_stacks;
    uint32_t *ht; /* stack index + 1 */
    size_t ht_cap;

    struct symbols *syms;
    struct flame *flame;
    struct profile_stats st;
    char error[256];
    char *files[3];
    size_t page;
};

static int perf_open(struct perf_event_attr *attr, pid_t tid)
{
    return (int)syscall(SYS_perf_event_open, attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

struct profile *profile_new(const struct profile_opts *opts)
{
    if (opts == NULL || (opts->n_pids == 0 && opts->pids_cb == NULL) ||
        opts->n_pids > PROFILE_MAX_PIDS || opts->freq_hz > PROFILE_MAX_HZ) {
        return NULL;
    }
    struct profile *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < opts->n_pids; i++) {
        p->procs[i].pid = opts->pids[i];
    }
    p->n_procs = opts->n_pids;
    p->pids_cb = opts->pids_cb;
    p->pids_data = opts->pids_data;
    p->freq_hz = opts->freq_hz ? opts->freq_hz : PROFILE_DEFAULT_HZ;
    p->user_only = opts->user_only;
    p->dwarf = opts->dwarf;
    p->page = (size_t)sysconf(_SC_PAGESIZE);
    p->ht_cap = 1024;
    p->ht = calloc(p->ht_cap, sizeof *p->ht);
    p->syms = symbols_new();
    if (p->ht == NULL || p->syms == NULL) {
        profile_free(p);
        return NULL;
    }
    return p;
}

static void thread_close(struct pthread_ev *t)
{
    if (t->ring != NULL) {
        munmap(t->ring, t->ring_bytes);
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    t->ring = NULL;
    t->fd = -1;
}

void profile_free(struct profile *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_threads; i++) {
        thread_close(&p->threads[i]);
    }
    free(p->threads);
    free(p->words);
    free(p->stacks);
    free(p->ht);
    symbols_free(p->syms);
    flame_free(p->flame);
    for (size_t i = 0; i < 3; i++) {
        free(p->files[i]);
    }
    free(p);
}

void profile_set_window(struct profile *p, uint64_t from_ns, uint64_t to_ns)
{
    __atomic_store_n(&p->from_ns, from_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&p->to_ns, to_ns, __ATOMIC_RELAXED);
}

void profile_set_window_offsets(struct profile *p, uint64_t from_off_ns, uint64_t to_off_ns)
{
    p->offsets = true;
    p->from_off_ns = from_off_ns;
    p->to_off_ns = to_off_ns;
}

/* Adds the processes pids_cb names that are not followed yet (exited ones stay marked). */
static void refresh_pids(struct profile *p)
{
    pid_t now[PROFILE_MAX_PIDS];
    if (p->pids_cb == NULL) {
        return;
    }
    size_t n = p->pids_cb(p->pids_data, now, PROFILE_MAX_PIDS);
    for (size_t i = 0; i < n && p->n_procs < PROFILE_MAX_PIDS; i++) {
        bool known = false;
        for (size_t j = 0; j < p->n_procs && !known; j++) {
            known = p->procs[j].pid == now[i] && !p->procs[j].exited;
        }
        if (!known) {
            p->procs[p->n_procs++] = (struct watched){.pid = now[i]};
        }
    }
}

unsigned profile_freq_hz(const struct profile *p)
{
    return p->freq_hz;
}

const struct flame *profile_flame(const struct profile *p)
{
    return p->flame;
}

void profile_get_stats(const struct profile *p, struct profile_stats *out)
{
    *out = p->st;
}

void profile_set_files(struct profile *p, const char *folded, const char *svg,
                       const char *speedscope)
{
    const char *in[3] = {folded, svg, speedscope};
    for (size_t i = 0; i < 3; i++) {
        free(p->files[i]);
        p->files[i] = in[i] != NULL ? strdup(in[i]) : NULL;
    }
}

/* ---- permissions ------------------------------------------------------------------------ */

static int read_paranoid(void)
{
    int v = 99;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    if (f != NULL) {
        if (fscanf(f, "%d", &v) != 1) {
            v = 99;
        }
        fclose(f);
    }
    return v;
}

/* Whether the effective capability set holds capability bit cap. */
static bool has_cap(int cap)
{
    bool yes = false;
    char line[256];
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) {
        return false;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long eff;
        if (sscanf(line, "CapEff: %llx", &eff) == 1) {
            yes = (eff >> cap) & 1u;
            break;
        }
    }
    fclose(f);
    return yes;
}

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38

/* The owner of process pid, or (uid_t)-1. */
static uid_t proc_uid(pid_t pid)
{
    char path[64], line[256];
    uid_t uid = (uid_t)-1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return uid;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned real, eff;
        if (sscanf(line, "Uid: %u %u", &real, &eff) == 2) {
            uid = (uid_t)real;
            break;
        }
    }
    fclose(f);
    return uid;
}

/* One line on why perf_event_open(pid) failed with -rc. */
static void explain(char *err, size_t err_len, pid_t pid, int rc)
{
    int paranoid = read_paranoid();
    bool perfmon = has_cap(CAP_PERFMON_BIT), admin = has_cap(CAP_SYS_ADMIN_BIT);
    uid_t owner = proc_uid(pid), me = geteuid();
    if (rc == -ESRCH) {
        text_errf(err, err_len, rc, "profile: no process %d to sample", (int)pid);
    } else if (rc == -ENOSYS) {
        text_errf(err, err_len, rc,
                  "profile: perf_event_open is not available (ENOSYS: a kernel without "
                  "CONFIG_PERF_EVENTS, or a seccomp filter that blocks it)");
    } else if ((rc == -EACCES || rc == -EPERM) && !perfmon && !admin && paranoid > 2) {
        text_errf(err, err_len, rc,
                  "profile: perf events are not permitted: kernel.perf_event_paranoid is %d "
                  "(above 2 blocks every unprivileged event) and brunt has neither CAP_PERFMON "
                  "nor CAP_SYS_ADMIN; run as root, grant CAP_PERFMON, or "
                  "`sysctl kernel.perf_event_paranoid=2`",
                  paranoid);
    } else if ((rc == -EACCES || rc == -EPERM) && !perfmon && !admin && owner != me) {
        text_errf(err, err_len, rc,
                  "profile: process %d belongs to uid %d and brunt runs as uid %d: sampling "
                  "another user's process needs root or CAP_PERFMON with ptrace access "
                  "(kernel.perf_event_paranoid is %d)",
                  (int)pid, (int)owner, (int)me, paranoid);
    } else if (rc == -EACCES || rc == -EPERM) {
        text_errf(err, err_len, rc,
                  "profile: perf_event_open on process %d: %s (kernel.perf_event_paranoid "
                  "%d, CAP_PERFMON %s, CAP_SYS_ADMIN %s; a container's seccomp profile or a "
                  "Yama ptrace_scope may also block it)",
                  (int)pid, strerror(-rc), paranoid, perfmon ? "yes" : "no", admin ? "yes" : "no");
    } else {
        text_errf(err, err_len, rc, "profile: perf_event_open on process %d: %s", (int)pid,
                  strerror(-rc));
    }
}

/* ---- events ----------------------------------------------------------------------------- */

static void fill_attr(const struct profile *p, struct perf_event_attr *a, bool kernel, bool enabled)
{
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = PERF_TYPE_SOFTWARE;
    a->config = PERF_COUNT_SW_CPU_CLOCK;
    a->freq = 1;
    a->sample_freq = p->freq_hz;
    a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN;
    a->disabled = !enabled;
    a->exclude_kernel = !kernel;
    a->exclude_hv = 1;
    a->use_clockid = 1;
    a->clockid = CLOCK_MONOTONIC;
    if (p->dwarf) {
        a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        a->sample_regs_user = SYMBOLS_UNWIND_REGS_MASK;
        a->sample_stack_user = PROFILE_DWARF_STACK;
        a->exclude_callchain_user = 1; /* the user frames come from the unwinding */
    }
}

/* Opens and maps an event on tid; 0 or a negative errno. */
static int thread_open(struct profile *p, pid_t pid, pid_t tid)
{
    struct perf_event_attr a;
    int rc = 0;
    if (p->n_threads >= PROFILE_MAX_THREADS) {
        p->st.threads_skipped++;
        return -ENOSPC;
    }
    fill_attr(p, &a, p->kernel, p->enabled);
    int fd = perf_open(&a, tid);
    if (fd < 0 && (errno == EACCES || errno == EPERM) && p->kernel) {
        /* Kernel stacks may be what is blocked (perf_event_paranoid 2): user only. */
        fill_attr(p, &a, false, p->enabled);
        fd = perf_open(&a, tid);
        if (fd >= 0) {
            p->kernel = false;
            p->st.kernel = false;
        }
    }
    if (fd < 0) {
        rc = -errno;
        if (rc != -ESRCH) { /* a thread that exited meanwhile is no failure */
            p->st.threads_skipped++;
        }
        return rc;
    }
    size_t pages = p->dwarf ? RING_DWARF_PAGES : RING_DATA_PAGES;
    void *ring = MAP_FAILED;
    while (ring == MAP_FAILED && pages >= 1) {
        ring = mmap(NULL, (pages + 1) * p->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (ring == MAP_FAILED) {
            rc = -errno;
            pages /= 4; /* perf_event_mlock_kb is small for unprivileged users */
        }
    }
    if (ring == MAP_FAILED) {
        close(fd);
        p->st.threads_skipped++;
        return rc;
    }
    if (p->n_threads == p->cap_threads) {
        size_t cap = p->cap_threads ? p->cap_threads * 2 : 16;
        struct pthread_ev *nt = realloc(p->threads, cap * sizeof *nt);
        if (nt == NULL) {
            munmap(ring, (pages + 1) * p->page);
            close(fd);
            p->st.threads_skipped++;
            return -ENOMEM;
        }
        p->threads = nt;
        p->cap_threads = cap;
    }
    p->threads[p->n_threads++] =
        (struct pthread_ev){pid, tid, fd, ring, (pages + 1) * p->page, true};
    p->st.threads_seen++;
    return 0;
}

static struct pthread_ev *thread_find(struct profile *p, pid_t tid)
{
    for (size_t i = 0; i < p->n_threads; i++) {
        if (p->threads[i].tid == tid) {
            return &p->threads[i];
        }
    }
    return NULL;
}

/* ---- raw stacks ------------------------------------------------------------------------- */

static uint64_t hash_words(pid_t pid, const uint64_t *w, size_t n)
{
    uint64_t h = RNG_GOLDEN ^ (uint64_t)pid;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static int ht_grow(struct profile *p)
{
    size_t cap = p->ht_cap * 2;
    uint32_t *ht = calloc(cap, sizeof *ht);
    if (ht == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->n_stacks; i++) {
        size_t h = (size_t)p->stacks[i].hash & (cap - 1);
        while (ht[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        ht[h] = (uint32_t)i + 1;
    }
    free(p->ht);
    p->ht = ht;
    p->ht_cap = cap;
    return 0;
}

static void stack_add(struct profile *p, pid_t pid, const uint64_t *w, size_t n)
{
    uint64_t hash = hash_words(pid, w, n);
    size_t mask = p->ht_cap - 1;
    size_t h = (size_t)hash & mask;
    while (p->ht[h] != 0) {
        struct rstack *s = &p->stacks[p->ht[h] - 1];
        if (s->hash == hash && s->pid == pid && s->n == n &&
            memcmp(p->words + s->off, w, n * sizeof *w) == 0) {
            s->count++;
            p->st.samples++;
            return;
        }
        h = (h + 1) & mask;
    }
    if (p->n_words + n > PROFILE_MAX_STACK_WORDS) {
        p->st.dropped++;
        return;
    }
    if (p->n_words + n > p->cap_words) {
        size_t cap = p->cap_words ? p->cap_words : 4096;
        while (cap < p->n_words + n) {
            cap *= 2;
        }
        uint64_t *nw = realloc(p->words, cap * sizeof *nw);
        if (nw == NULL) {
            p->st.dropped++;
            return;
        }
        p->words = nw;
        p->cap_words = cap;
    }
    if (p->n_stacks == p->cap_stacks) {
        size_t cap = p->cap_stacks ? p->cap_stacks * 2 : 256;
        struct rstack *ns = realloc(p->stacks, cap * sizeof *ns);
        if (ns == NULL) {
            p->st.dropped++;
            return;
        }
        p->stacks = ns;
        p->cap_stacks = cap;
    }
    memcpy(p->words + p->n_words, w, n * sizeof *w);
    p->stacks[p->n_stacks] = (struct rstack){hash, p->n_words, 1, (uint32_t)n, pid};
    p->n_words += n;
    p->ht[h] = (uint32_t)++p->n_stacks;
    p->st.samples++;
    if (p->n_stacks * 2 > p->ht_cap) {
        (void)ht_grow(p); /* a fuller table still works */
    }
}

/* ---- the rings ---------------------------------------------------------------------------- */

static void ring_copy(const char *data, size_t size, uint64_t pos, void *dst, size_t n)
{
    size_t off = (size_t)(pos % size);
    size_t first = n < size - off ? n : size - off;
    memcpy(dst, data + off, first);
    memcpy((char *)dst + first, data, n - first);
}

/*
 * After the kernel chain (n words of chain[]): the sample's abi, user registers, and
 * user stack copy (rest[0..len)).  Unwinds them and appends PERF_CONTEXT_USER and the
 * user frames to chain (up to cap words).  Returns the new length; the kernel part alone
 * when there are no user registers (a kernel thread) or nothing unwinds, and 0 when that
 * leaves nothing (the ip alone then stands in).
 */
static size_t dwarf_user_chain(struct profile *p, const struct pthread_ev *t, const char *rest,
                               size_t len, uint64_t *chain, size_t n, size_t cap)
{
    uint64_t abi, regs[SYMBOLS_UNWIND_NREGS], size, dyn = 0;
    if (len < 8) {
        return n;
    }
    memcpy(&abi, rest, 8);
    rest += 8;
    len -= 8;
    if (abi != PERF_SAMPLE_REGS_ABI_64 || len < sizeof regs + 8) {
        return n; /* no user registers, or a 32-bit process: not unwound */
    }
    memcpy(regs, rest, sizeof regs);
    memcpy(&size, rest + sizeof regs, 8);
    rest += sizeof regs + 8;
    len -= sizeof regs + 8;
    if (size > len || (size > 0 && len - size < 8)) {
        return n;
    }
    if (size > 0) {
        memcpy(&dyn, rest + size, 8); /* how much of the copy is real stack */
        if (dyn > size) {
            dyn = size;
        }
    }
    if (n + 2 > cap) {
        return n;
    }
    size_t got = symbols_unwind(p->syms, t->pid, t->tid, regs, rest, (size_t)dyn, chain + n + 1,
                                cap - n - 1);
    if (got == 0) {
        chain[n + 1] = regs[8]; /* the sampled user ip (perf's IP register) at least */
        got = 1;
        p->st.unwind_failed++;
    }
    chain[n] = (uint64_t)PERF_CONTEXT_USER;
    return n + 1 + got;
}

static void handle_sample(struct profile *p, const struct pthread_ev *t, const char *rec,
                          size_t len)
{
    /* ip, pid/tid, time, nr, ips[nr] */
    if (len < 32) {
        return;
    }
    uint64_t ip, time, nr;
    memcpy(&ip, rec, 8);
    memcpy(&time, rec + 16, 8);
    memcpy(&nr, rec + 24, 8);
    if (nr > (len - 32) / 8) {
        return;
    }
    uint64_t from = __atomic_load_n(&p->from_ns, __ATOMIC_RELAXED);
    uint64_t to = __atomic_load_n(&p->to_ns, __ATOMIC_RELAXED);
    if (time < from || (to != 0 && time >= to)) {
        p->st.outside_window++;
        return;
    }
    if (p->st.first_ns == 0 || time < p->st.first_ns) {
        p->st.first_ns = time;
    }
    if (time > p->st.last_ns) {
        p->st.last_ns = time;
    }
    uint64_t chain[PERF_MAX_STACK_DEPTH + 8];
    size_t n = nr < sizeof chain / sizeof chain[0] ? (size_t)nr : sizeof chain / sizeof chain[0];
    memcpy(chain, rec + 32, n * 8);
    if (p->dwarf) {
        n = dwarf_user_chain(p, t, rec + 32 + nr * 8, len - 32 - nr * 8, chain, n,
                             sizeof chain / sizeof chain[0]);
    }
    if (n == 0) { /* no chain: the sampled ip alone, in user context */
        chain[0] = (uint64_t)PERF_CONTEXT_USER;
        chain[1] = ip;
        n = 2;
    }
    stack_add(p, t->pid, chain, n);
}

static void ring_drain(struct profile *p, struct pthread_ev *t)
{
    static char rec[65536]; /* one record; the probe thread alone drains */
    struct perf_event_mmap_page *mp = t->ring;
    if (mp == NULL) {
        return;
    }
    const char *data = (const char *)t->ring + p->page;
    size_t size = t->ring_bytes - p->page;
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail;
    while (tail + sizeof(struct perf_event_header) <= head) {
        struct perf_event_header h;
        ring_copy(data, size, tail, &h, sizeof h);
        if (h.size < sizeof h || h.size > head - tail) {
            tail = head; /* cannot happen with a sane kernel: resynchronise */
            break;
        }
        ring_copy(data, size, tail, rec, h.size);
        const char *body = rec + sizeof h;
        size_t blen = h.size - sizeof h;
        if (h.type == PERF_RECORD_SAMPLE) {
            handle_sample(p, t, body, blen);
        } else if (h.type == PERF_RECORD_LOST && blen >= 16) {
            uint64_t lost;
            memcpy(&lost, body + 8, 8);
            p->st.lost += lost;
        }
        tail += h.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

/* ---- threads of the watched processes ---------------------------------------------------------- */

/* Opens events on every thread of w not yet followed; marks the ones still there.  Returns
 * the last open error (0 when none), -ESRCH when the process is gone. */
static int rescan(struct profile *p, struct watched *w)
{
    char path[64];
    int rc = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)w->pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return -ESRCH;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        pid_t tid = (pid_t)atoi(de->d_name);
        struct pthread_ev *t = thread_find(p, tid);
        if (t != NULL) {
            t->seen = true;
            continue;
        }
        int r = thread_open(p, w->pid, tid);
        if (r < 0 && r != -ESRCH) {
            rc = r;
        }
    }
    closedir(d);
    (void)symbols_read_maps(p->syms, w->pid);
    return rc;
}

static void set_enabled(struct profile *p, bool on)
{
    for (size_t i = 0; i < p->n_threads; i++) {
        if (p->threads[i].fd >= 0) {
            ioctl(p->threads[i].fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
        }
    }
    p->enabled = on;
}

static void read_comm(struct watched *w)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)w->pid);
    FILE *f = fopen(path, "re");
    if (f != NULL) {
        if (fgets(w->comm, sizeof w->comm, f) != NULL) {
            w->comm[strcspn(w->comm, "\n")] = '\0';
        }
        fclose(f);
    }
}

int profile_start(struct profile *p, char *err, size_t err_len)
{
    int rc = 0;
    if (p->started) {
        return 0;
    }
    p->started = true;
    uint64_t now = clock_now_ns();
    if (p->offsets) {
        profile_set_window(p, now + p->from_off_ns, p->to_off_ns ? now + p->to_off_ns : 0);
    }
    refresh_pids(p);
    uint64_t from = __atomic_load_n(&p->from_ns, __ATOMIC_RELAXED);
    p->enabled = from <= now + ENABLE_LEAD_NS;
    p->kernel = !p->user_only;
    int first_err = 0;
    pid_t first_pid = 0;
    for (size_t i = 0; i < p->n_procs; i++) {
        struct watched *w = &p->procs[i];
        read_comm(w);
        size_t before = p->n_threads;
        int r = rescan(p, w);
        if (r < 0 && p->kernel && p->n_threads == before && (r == -EACCES || r == -EPERM)) {
            /* Kernel stacks may be what is blocked (perf_event_paranoid 2): user only. */
            p->kernel = false;
            p->st.threads_skipped = 0;
            r = rescan(p, w);
        }
        if (r == -ESRCH) {
            w->exited = true;
            p->st.procs_exited++;
        }
        if (r < 0 && first_err == 0) {
            first_err = r;
            first_pid = w->pid;
        }
    }
    p->st.kernel = p->kernel;
    if (p->n_threads == 0 && !(p->pids_cb != NULL && p->n_procs == 0)) {
        rc = first_err ? first_err : -ESRCH;
        explain(p->error, sizeof p->error, first_pid ? first_pid : p->procs[0].pid, rc);
        text_errf(err, err_len, rc, "%s", p->error);
    }
    return rc;
}

void profile_poll(struct profile *p, uint64_t now_ns)
{
    if (!p->started || p->stopped || (p->n_threads == 0 && p->pids_cb == NULL)) {
        return;
    }
    uint64_t cpu0 = clock_thread_cpu_ns();
    refresh_pids(p);
    uint64_t from = __atomic_load_n(&p->from_ns, __ATOMIC_RELAXED);
    uint64_t to = __atomic_load_n(&p->to_ns, __ATOMIC_RELAXED);
    bool want = now_ns + ENABLE_LEAD_NS >= from && (to == 0 || now_ns < to);
    if (want != p->enabled) {
        set_enabled(p, want);
    }
    for (size_t i = 0; i < p->n_threads; i++) {
        ring_drain(p, &p->threads[i]);
        p->threads[i].seen = false;
    }
    for (size_t i = 0; i < p->n_procs; i++) {
        struct watched *w = &p->procs[i];
        if (!w->exited && rescan(p, w) == -ESRCH) {
            w->exited = true;
            p->st.procs_exited++;
        }
    }
    /* Processes that are gone leave the list (a watched tree's workers come and go). */
    size_t live = 0;
    for (size_t i = 0; i < p->n_procs; i++) {
        if (!p->procs[i].exited || p->pids_cb == NULL) {
            p->procs[live++] = p->procs[i];
        }
    }
    p->n_procs = live;
    /* Threads that are gone: their rings were drained above. */
    size_t keep = 0;
    for (size_t i = 0; i < p->n_threads; i++) {
        if (p->threads[i].seen) {
            p->threads[keep++] = p->threads[i];
        } else {
            thread_close(&p->threads[i]);
        }
    }
    p->n_threads = keep;
    p->st.drain_cpu_ns += clock_thread_cpu_ns() - cpu0;
}

static void symbolise(struct profile *p)
{
    struct flame_frame frames[FLAME_MAX_DEPTH];
    p->flame = flame_new();
    if (p->flame == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_stacks; i++) {
        const struct rstack *s = &p->stacks[i];
        const uint64_t *w = p->words + s->off;
        bool kernel = false, first = true;
        size_t n = 0;
        /* The chain is leaf first; gather up to FLAME_MAX_DEPTH frames, then reverse. */
        for (size_t j = 0; j < s->n && n < FLAME_MAX_DEPTH; j++) {
            if (w[j] >= (uint64_t)PERF_CONTEXT_MAX) {
                if (w[j] == (uint64_t)PERF_CONTEXT_KERNEL) {
                    kernel = true;
                    first = true;
                } else if (w[j] == (uint64_t)PERF_CONTEXT_USER) {
                    kernel = false;
                    first = true;
                }
                continue;
            }
            struct symbol sym;
            symbols_lookup(p->syms, s->pid, w[j], kernel, !first, &sym);
            first = false;
            frames[n++] = (struct flame_frame){sym.name, sym.module, sym.file, sym.line, kernel};
        }
        for (size_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) {
            struct flame_frame tmp = frames[a];
            frames[a] = frames[b];
            frames[b] = tmp;
        }
        (void)flame_add(p->flame, frames, n, s->count);
    }
}

void profile_stop(struct profile *p)
{
    if (p->stopped) {
        return;
    }
    uint64_t cpu0 = clock_thread_cpu_ns();
    if (p->started && p->n_threads > 0) {
        set_enabled(p, false);
        for (size_t i = 0; i < p->n_threads; i++) {
            ring_drain(p, &p->threads[i]);
        }
        for (size_t i = 0; i < p->n_procs; i++) {
            if (!p->procs[i].exited) {
                (void)symbols_read_maps(p->syms, p->procs[i].pid);
            }
        }
    }
    for (size_t i = 0; i < p->n_threads; i++) {
        thread_close(&p->threads[i]);
    }
    p->n_threads = 0;
    p->stopped = true;
    symbolise(p);
    p->st.drain_cpu_ns += clock_thread_cpu_ns() - cpu0;
}

/* ---- what the native profiler and pprof share -------------------------------------------- */

static double share(uint64_t part, uint64_t total)
{
    return total > 0 ? (double)part / (double)total : 0.0;
}

void profile_print_top(const struct flame *fg, FILE *f, size_t n)
{
    struct flame_top top[PROFILE_JSON_ROWS];
    if (n > PROFILE_JSON_ROWS) {
        n = PROFILE_JSON_ROWS;
    }
    size_t got = flame_top(fg, FLAME_BY_SELF, top, n);
    uint64_t total = flame_total(fg);
    fprintf(f, "    %6s  %6s  %s\n", "self", "total", "function");
    for (size_t i = 0; i < got; i++) {
        fprintf(f, "    %5.1f%%  %5.1f%%  %s", 100.0 * share(top[i].self, total),
                100.0 * share(top[i].total, total), top[i].name);
        if (top[i].module != NULL || top[i].file != NULL) {
            fprintf(f, "  (%s", top[i].module != NULL ? top[i].module : "");
            if (top[i].file != NULL) {
                const char *slash = strrchr(top[i].file, '/');
                fprintf(f, "%s%s:%d", top[i].module != NULL ? " " : "",
                        slash != NULL ? slash + 1 : top[i].file, top[i].line);
            }
            fprintf(f, ")");
        }
        fprintf(f, "\n");
    }
}

void profile_json_top(const struct flame *fg, struct jsonw *w, size_t n)
{
    struct flame_top top[PROFILE_JSON_ROWS];
    if (n > PROFILE_JSON_ROWS) {
        n = PROFILE_JSON_ROWS;
    }
    size_t got = flame_top(fg, FLAME_BY_SELF, top, n);
    uint64_t total = flame_total(fg);
    jsonw_arr_begin(w);
    for (size_t i = 0; i < got; i++) {
        jsonw_obj_begin(w);
        jsonw_key(w, "function");
        jsonw_str(w, top[i].name);
        jsonw_key(w, "module");
        top[i].module != NULL ? jsonw_str(w, top[i].module) : jsonw_null(w);
        jsonw_key(w, "file");
        top[i].file != NULL ? jsonw_str(w, top[i].file) : jsonw_null(w);
        jsonw_key(w, "line");
        jsonw_int(w, top[i].line);
        jsonw_key(w, "self");
        jsonw_uint(w, top[i].self);
        jsonw_key(w, "total");
        jsonw_uint(w, top[i].total);
        jsonw_key(w, "self_share");
        jsonw_num(w, share(top[i].self, total));
        jsonw_key(w, "total_share");
        jsonw_num(w, share(top[i].total, total));
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

void profile_json_files(struct jsonw *w, char *const files[3])
{
    static const char *keys[3] = {"folded", "svg", "speedscope"};
    jsonw_key(w, "files");
    jsonw_obj_begin(w);
    for (size_t i = 0; i < 3; i++) {
        if (files[i] != NULL) {
            jsonw_key(w, keys[i]);
            jsonw_str(w, files[i]);
        }
    }
    jsonw_obj_end(w);
}

size_t profile_findings(const struct flame *fg, const char *probe, struct finding *out, size_t cap)
{
    struct flame_top top[8];
    size_t got = flame_top(fg, FLAME_BY_SELF, top, 8);
    uint64_t total = flame_total(fg);
    size_t n = 0;
    for (size_t i = 0; i < got && n < cap; i++) {
        double s = share(top[i].self, total);
        if (s < 0.20 || total < 20) {
            break;
        }
        struct finding *fd = &out[n++];
        memset(fd, 0, sizeof *fd);
        fd->severity = s >= 0.40 ? FINDING_WARNING : FINDING_INFO;
        snprintf(fd->probe, sizeof fd->probe, "%s", probe);
        snprintf(fd->kind, sizeof fd->kind, "hot_function");
        snprintf(fd->location, sizeof fd->location, "%s%s%s", top[i].name,
                 top[i].module != NULL ? " in " : "", top[i].module != NULL ? top[i].module : "");
        snprintf(fd->evidence, sizeof fd->evidence,
                 "%.1f%% of the sampled CPU time is spent in %s itself (%.1f%% including "
                 "what it calls), %llu of %llu %s",
                 100.0 * s, top[i].name, 100.0 * share(top[i].total, total),
                 (unsigned long long)top[i].self, (unsigned long long)total, flame_unit(fg));
        snprintf(fd->recommendation, sizeof fd->recommendation,
                 "look at %.150s first: making it cheaper or calling it less is where CPU time "
                 "can be won",
                 top[i].name);
        fd->impact = s;
    }
    return n;
}

/* ---- the probe ------------------------------------------------------------------------- */

static int op_start(void *self, char *err, size_t err_len)
{
    return profile_start(self, err, err_len);
}

static void op_sample(void *self, uint64_t now_ns, struct registry *reg)
{
    (void)reg;
    profile_poll(self, now_ns);
}

static void op_stop(void *self)
{
    profile_stop(self);
}

static void op_summary(void *self, FILE *f, bool color)
{
    struct profile *p = self;
    (void)color;
    if (p->error[0] != '\0') {
        fprintf(f, "  profile: not taken: %s\n", p->error);
        return;
    }
    if (p->flame == NULL) {
        return;
    }
    double secs = p->st.last_ns > p->st.first_ns
                      ? (double)(p->st.last_ns - p->st.first_ns) / (double)NS_PER_S
                      : 0.0;
    fprintf(f, "  CPU profile (perf, %u Hz%s%s): %llu samples over %.1f s of %u thread%s",
            p->freq_hz, p->dwarf ? ", DWARF unwinding" : "",
            p->st.kernel ? "" : ", user stacks only", (unsigned long long)p->st.samples, secs,
            p->st.threads_seen, p->st.threads_seen == 1 ? "" : "s");
    if (p->st.lost > 0 || p->st.dropped > 0) {
        fprintf(f, ", %llu lost", (unsigned long long)(p->st.lost + p->st.dropped));
    }
    fprintf(f, "\n");
    if (p->st.lost > 0) {
        /* The kernel dropped samples because a ring filled between two polls: the shares
         * are of what was kept, so say how much that was and what to change. */
        uint64_t taken = p->st.lost + p->st.samples + p->st.outside_window;
        fprintf(f,
                "    warning: %llu of %llu samples lost (%.0f%%): the ring filled between "
                "polls; %s\n",
                (unsigned long long)p->st.lost, (unsigned long long)taken,
                100.0 * (double)p->st.lost / (double)taken,
                p->dwarf
                    ? "a DWARF sample is ~8.4 KiB: lower --profile-freq (brunt profile --freq) "
                      "below 199 Hz (99 Hz fits)"
                    : "lower --profile-freq (brunt profile --freq)");
    }
    if (flame_total(p->flame) == 0) {
        fprintf(f, "    no samples: the process used no CPU in the window\n");
    } else {
        profile_print_top(p->flame, f, PROFILE_SUMMARY_ROWS);
    }
    static const char *labels[3] = {"folded stacks", "flame graph", "speedscope"};
    for (size_t i = 0; i < 3; i++) {
        if (p->files[i] != NULL) {
            fprintf(f, "    %s: %s\n", labels[i], p->files[i]);
        }
    }
}

static size_t op_findings(void *self, struct finding *out, size_t cap);

static int op_to_json(void *self, struct jsonw *w)
{
    struct profile *p = self;
    jsonw_obj_begin(w);
    jsonw_key(w, "source");
    jsonw_str(w, "perf");
    if (p->error[0] != '\0') {
        jsonw_key(w, "error");
        jsonw_str(w, p->error);
        jsonw_obj_end(w);
        return jsonw_error(w);
    }
    jsonw_key(w, "pids");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < p->n_procs; i++) {
        jsonw_int(w, p->procs[i].pid);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "event");
    jsonw_str(w, "cpu-clock");
    jsonw_key(w, "frequency_hz");
    jsonw_uint(w, p->freq_hz);
    jsonw_key(w, "unwind");
    jsonw_str(w, p->dwarf ? "dwarf" : "frame-pointer");
    if (p->dwarf) {
        jsonw_key(w, "stack_copy_bytes");
        jsonw_uint(w, PROFILE_DWARF_STACK);
        jsonw_key(w, "unwind_failed");
        jsonw_uint(w, p->st.unwind_failed);
    }
    jsonw_key(w, "kernel_stacks");
    jsonw_bool(w, p->st.kernel);
    jsonw_key(w, "unit");
    jsonw_str(w, "samples");
    jsonw_key(w, "samples");
    jsonw_uint(w, p->st.samples);
    jsonw_key(w, "lost");
    jsonw_uint(w, p->st.lost);
    jsonw_key(w, "dropped");
    jsonw_uint(w, p->st.dropped);
    jsonw_key(w, "outside_window");
    jsonw_uint(w, p->st.outside_window);
    jsonw_key(w, "threads");
    jsonw_uint(w, p->st.threads_seen);
    jsonw_key(w, "threads_skipped");
    jsonw_uint(w, p->st.threads_skipped);
    jsonw_key(w, "duration_s");
    jsonw_num(w, p->st.last_ns > p->st.first_ns
                     ? (double)(p->st.last_ns - p->st.first_ns) / (double)NS_PER_S
                     : 0.0);
    jsonw_key(w, "profiler_cpu_s");
    jsonw_num(w, (double)p->st.drain_cpu_ns / (double)NS_PER_S);
    jsonw_key(w, "top");
    if (p->flame != NULL) {
        profile_json_top(p->flame, w, PROFILE_JSON_ROWS);
    } else {
        jsonw_arr_begin(w);
        jsonw_arr_end(w);
    }
    profile_json_files(w, p->files);
    /* The hot functions (and a growing heap) for the report's bottleneck section. */
    struct finding fs[8];
    size_t nf = op_findings(self, fs, sizeof fs / sizeof fs[0]);
    jsonw_key(w, "findings");
    probe_findings_json(w, fs, nf);
    jsonw_obj_end(w);
    return jsonw_error(w);
}

static size_t op_findings(void *self, struct finding *out, size_t cap)
{
    struct profile *p = self;
    return p->flame != NULL ? profile_findings(p->flame, "profile", out, cap) : 0;
}

static void op_free(void *self)
{
    profile_free(self);
}

static const struct probe_ops profile_ops = {
    .name = "profile",
    .start = op_start,
    .sample = op_sample,
    .stop = op_stop,
    .summary = op_summary,
    .to_json = op_to_json,
    .findings = op_findings,
    .free = op_free,
};

struct probe profile_probe(struct profile *p)
{
    return (struct probe){&profile_ops, p};
}
