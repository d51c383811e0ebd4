/*
 * symbols — addresses to names with libdwfl, perf map files and /proc/kallsyms.
 * See symbols.h.  One Dwfl per process, built the first time one of its addresses is
 * looked up, from the maps text recorded last; every answer is cached by (pid, address).
 */
#include "probe/symbols.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"

struct unwind_ctx;

struct jit_sym {
    uint64_t start, end;
    char *name;
};

struct proc {
    pid_t pid;
    char *maps;
    size_t maps_len;
    Dwfl *dwfl;
    bool dwfl_tried;
    bool attached; /* dwfl_attach_state() done on dwfl (symbols_unwind) */
    struct jit_sym *jit;
    size_t n_jit;
    bool jit_tried;
};

struct ksym {
    uint64_t addr;
    char *name;
};

struct centry {
    pid_t pid; /* 0 = empty slot; the kernel's entries use pid -1 */
    uint64_t ip;
    struct symbol sym;
};

struct symbols {
    struct proc *procs;
    size_t n_procs, cap_procs;
    struct ksym *ksyms;
    size_t n_ksyms;
    bool ksyms_tried;
    struct centry *cache;
    size_t cache_cap, cache_used;
    /* The sample symbols_unwind() is unwinding: every attached Dwfl's callbacks get &uw
     * (struct symbols does not move; the procs array does). */
    struct unwind_ctx *uw;
};

static const Dwfl_Callbacks proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

struct symbols *symbols_new(void)
{
    struct symbols *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->cache_cap = 4096;
    s->cache = calloc(s->cache_cap, sizeof *s->cache);
    if (s->cache == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

static void free_sym_strings(struct symbol *sym)
{
    free((char *)sym->name);
    free((char *)sym->module);
    free((char *)sym->file);
}

static void proc_reset(struct proc *p)
{
    if (p->dwfl != NULL) {
        dwfl_end(p->dwfl);
    }
    p->dwfl = NULL;
    p->dwfl_tried = false;
    p->attached = false;
}

static void cache_drop_pid(struct symbols *s, pid_t pid)
{
    /* Rebuild the table without pid's entries (open addressing has no cheap delete). */
    struct centry *old = s->cache;
    size_t cap = s->cache_cap;
    struct centry *nc = calloc(cap, sizeof *nc);
    if (nc == NULL) {
        return; /* stale entries stay: the map changed only by additions in practice */
    }
    s->cache = nc;
    s->cache_used = 0;
    for (size_t i = 0; i < cap; i++) {
        if (old[i].pid == 0) {
            continue;
        }
        if (old[i].pid == pid) {
            free_sym_strings(&old[i].sym);
            continue;
        }
        size_t h = (size_t)(rng_spread(old[i].ip) ^ (uint64_t)old[i].pid) & (cap - 1);
        while (nc[h].pid != 0) {
            h = (h + 1) & (cap - 1);
        }
        nc[h] = old[i];
        s->cache_used++;
    }
    free(old);
}

void symbols_free(struct symbols *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n_procs; i++) {
        proc_reset(&s->procs[i]);
        free(s->procs[i].maps);
        for (size_t j = 0; j < s->procs[i].n_jit; j++) {
            free(s->procs[i].jit[j].name);
        }
        free(s->procs[i].jit);
    }
    free(s->procs);
    for (size_t i = 0; i < s->n_ksyms; i++) {
        free(s->ksyms[i].name);
    }
    free(s->ksyms);
    for (size_t i = 0; i < s->cache_cap; i++) {
        if (s->cache[i].pid != 0) {
            free_sym_strings(&s->cache[i].sym);
        }
    }
    free(s->cache);
    free(s);
}

static struct proc *proc_find(struct symbols *s, pid_t pid)
{
    for (size_t i = 0; i < s->n_procs; i++) {
        if (s->procs[i].pid == pid) {
            return &s->procs[i];
        }
    }
    return NULL;
}

int symbols_set_maps(struct symbols *s, pid_t pid, const char *maps, size_t len)
{
    if (len > SYMBOLS_MAX_MAPS) {
        return -E2BIG;
    }
    struct proc *p = proc_find(s, pid);
    if (p == NULL) {
        if (s->n_procs >= SYMBOLS_MAX_PROCS) {
            return -ENOSPC;
        }
        if (s->n_procs == s->cap_procs) {
            size_t cap = s->cap_procs ? s->cap_procs * 2 : 8;
            struct proc *np = realloc(s->procs, cap * sizeof *np);
            if (np == NULL) {
                return -ENOMEM;
            }
            s->procs = np;
            s->cap_procs = cap;
        }
        p = &s->procs[s->n_procs++];
        *p = (struct proc){.pid = pid};
    }
    if (p->maps != NULL && p->maps_len == len && memcmp(p->maps, maps, len) == 0) {
        return 0;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return -ENOMEM;
    }
    memcpy(copy, maps, len);
    copy[len] = '\0';
    bool had = p->maps != NULL;
    free(p->maps);
    p->maps = copy;
    p->maps_len = len;
    proc_reset(p);
    if (had) {
        cache_drop_pid(s, pid);
    }
    return 0;
}

int symbols_read_maps(struct symbols *s, pid_t pid)
{
    char path[64];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    for (;;) {
        if (len + 4096 > cap) {
            if (cap >= SYMBOLS_MAX_MAPS) {
                rc = -E2BIG;
                goto out;
            }
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    rc = symbols_set_maps(s, pid, buf != NULL ? buf : "", len);
out:
    close(fd);
    free(buf);
    return rc;
}

/* ---- the kernel ------------------------------------------------------------------------- */

static int cmp_ksym(const void *a, const void *b)
{
    const struct ksym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void ksyms_load(struct symbols *s)
{
    s->ksyms_tried = true;
    FILE *f = fopen("/proc/kallsyms", "re");
    if (f == NULL) {
        return;
    }
    char line[512];
    size_t cap = 0;
    bool any_nonzero = false;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long addr;
        char type;
        char name[256];
        if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3) {
            continue;
        }
        if (type != 't' && type != 'T' && type != 'w' && type != 'W') {
            continue;
        }
        any_nonzero |= addr != 0;
        if (s->n_ksyms == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            struct ksym *nk = realloc(s->ksyms, ncap * sizeof *nk);
            if (nk == NULL) {
                break;
            }
            s->ksyms = nk;
            cap = ncap;
        }
        char *nm = strdup(name);
        if (nm == NULL) {
            break;
        }
        s->ksyms[s->n_ksyms++] = (struct ksym){addr, nm};
    }
    fclose(f);
    if (!any_nonzero) { /* kptr_restrict: every address reads 0, names are useless */
        for (size_t i = 0; i < s->n_ksyms; i++) {
            free(s->ksyms[i].name);
        }
        s->n_ksyms = 0;
        return;
    }
    qsort(s->ksyms, s->n_ksyms, sizeof *s->ksyms, cmp_ksym);
}

static const char *ksym_find(struct symbols *s, uint64_t ip)
{
    if (!s->ksyms_tried) {
        ksyms_load(s);
    }
    size_t lo = 0, hi = s->n_ksyms;
    while (lo < hi) { /* the last symbol at or below ip */
        size_t mid = lo + (hi - lo) / 2;
        if (s->ksyms[mid].addr <= ip) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo > 0 ? s->ksyms[lo - 1].name : NULL;
}

/* ---- perf map files (JIT) --------------------------------------------------------------- */

static int cmp_jit(const void *a, const void *b)
{
    const struct jit_sym *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void jit_load(struct proc *p)
{
    char path[64];
    p->jit_tried = true;
    snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)p->pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    char line[1024];
    size_t cap = 0;
    while (p->n_jit < SYMBOLS_MAX_JIT && fgets(line, sizeof line, f) != NULL) {
        unsigned long long start, size;
        int off = 0;
        if (sscanf(line, "%llx %llx %n", &start, &size, &off) != 2 || off == 0) {
            continue;
        }
        char *nm = line + off;
        nm[strcspn(nm, "\r\n")] = '\0';
        if (nm[0] == '\0' || size == 0) {
            continue;
        }
        if (p->n_jit == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            struct jit_sym *nj = realloc(p->jit, ncap * sizeof *nj);
            if (nj == NULL) {
                break;
            }
            p->jit = nj;
            cap = ncap;
        }
        char *dup = strdup(nm);
        if (dup == NULL) {
            break;
        }
        p->jit[p->n_jit++] = (struct jit_sym){start, start + size, dup};
    }
    fclose(f);
    qsort(p->jit, p->n_jit, sizeof *p->jit, cmp_jit);
}

static const char *jit_find(struct proc *p, uint64_t ip)
{
    if (!p->jit_tried) {
        jit_load(p);
    }
    size_t lo = 0, hi = p->n_jit;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->jit[mid].start <= ip) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    /* Later entries for the same range win: a JIT may recompile into the same place. */
    if (lo > 0 && ip < p->jit[lo - 1].end) {
        return p->jit[lo - 1].name;
    }
    return NULL;
}

/* ---- user space through libdwfl ----------------------------------------------------------- */

static Dwfl *proc_dwfl(struct proc *p)
{
    if (p->dwfl_tried) {
        return p->dwfl;
    }
    p->dwfl_tried = true;
    if (p->maps == NULL) {
        return NULL;
    }
    Dwfl *d = dwfl_begin(&proc_callbacks);
    if (d == NULL) {
        return NULL;
    }
    /* A live process is reported from /proc/PID itself, which also finds the vDSO (read
     * from its memory); one that has exited from the maps text recorded last. */
    dwfl_report_begin(d);
    int rc = kill(p->pid, 0) == 0 || errno == EPERM ? dwfl_linux_proc_report(d, p->pid) : -1;
    if (rc != 0) {
        FILE *f = fmemopen(p->maps, p->maps_len > 0 ? p->maps_len : 1, "r");
        if (f == NULL) {
            dwfl_report_end(d, NULL, NULL);
            dwfl_end(d);
            return NULL;
        }
        dwfl_report_begin(d);
        rc = dwfl_linux_proc_maps_report(d, f);
        fclose(f);
    }
    if (dwfl_report_end(d, NULL, NULL) != 0 || rc != 0) {
        /* a partial report still names what it reported */
    }
    p->dwfl = d;
    return d;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Fills sym (strings malloc'd) for one address; never fails except for memory. */
static void resolve(struct symbols *s, pid_t pid, uint64_t ip, bool kernel, struct symbol *sym)
{
    char buf[512];
    const char *name = NULL;
    const char *module = NULL;
    const char *file = NULL;
    int line = 0;
    if (kernel) {
        name = ksym_find(s, ip);
        module = "[kernel]";
        if (name == NULL) {
            name = "[kernel]";
        }
        sym->resolved = name[0] != '[';
        goto out;
    }
    struct proc *p = proc_find(s, pid);
    Dwfl *d = p != NULL ? proc_dwfl(p) : NULL;
    Dwfl_Module *mod = d != NULL ? dwfl_addrmodule(d, (Dwarf_Addr)ip) : NULL;
    if (mod != NULL) {
        const char *mname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        module = mname != NULL ? base_name(mname) : NULL;
        if (module != NULL && strncmp(module, "[vdso", 5) == 0) {
            module = "[vdso]"; /* libdwfl says "[vdso: PID]" */
        }
        GElf_Off offset = 0;
        GElf_Sym esym;
        const char *fn = dwfl_module_addrinfo(mod, (GElf_Addr)ip, &offset, &esym, NULL, NULL, NULL);
        if (fn != NULL && fn[0] != '\0') {
            name = fn;
            Dwfl_Line *dl = dwfl_module_getsrc(mod, (Dwarf_Addr)(ip - offset));
            if (dl != NULL) {
                const char *src = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
                file = src;
            }
        }
    }
    if (name == NULL && p != NULL) {
        name = jit_find(p, ip);
        if (name != NULL) {
            /* The JIT's own map names code it generated.  A module libdwfl finds there
             * without a symbol is only its neighbour: libdwfl counts the anonymous
             * memory right after a library (its .bss, where an mmap may also land) as
             * the library's. */
            module = "[jit]";
        }
    }
    sym->resolved = name != NULL;
    if (name == NULL) {
        if (module != NULL) {
            snprintf(buf, sizeof buf, "[%s]", module);
            name = buf;
        } else {
            name = "[unknown]";
        }
    }
out:
    sym->name = strdup(name);
    sym->module = module != NULL ? strdup(module) : NULL;
    sym->file = file != NULL ? strdup(file) : NULL;
    sym->line = file != NULL ? line : 0;
    sym->kernel = kernel;
}

static size_t cache_slot(const struct symbols *s, pid_t pid, uint64_t ip)
{
    return (size_t)(rng_spread(ip) ^ (uint64_t)pid) & (s->cache_cap - 1);
}

static void cache_grow(struct symbols *s)
{
    size_t cap = s->cache_cap * 2;
    struct centry *nc = calloc(cap, sizeof *nc);
    if (nc == NULL) {
        return;
    }
    struct centry *old = s->cache;
    size_t old_cap = s->cache_cap;
    s->cache = nc;
    s->cache_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].pid == 0) {
            continue;
        }
        size_t h = cache_slot(s, old[i].pid, old[i].ip);
        while (nc[h].pid != 0) {
            h = (h + 1) & (cap - 1);
        }
        nc[h] = old[i];
    }
    free(old);
}

void symbols_lookup(struct symbols *s, pid_t pid, uint64_t ip, bool kernel, bool return_address,
                    struct symbol *out)
{
    if (return_address && ip > 0) {
        ip -= 1;
    }
    pid_t key = kernel ? -1 : (pid > 0 ? pid : -2);
    if (s->cache_used * 2 >= s->cache_cap && s->cache_cap < 2 * (size_t)SYMBOLS_MAX_CACHE) {
        cache_grow(s);
    }
    size_t h = cache_slot(s, key, ip);
    while (s->cache[h].pid != 0) {
        if (s->cache[h].pid == key && s->cache[h].ip == ip) {
            *out = s->cache[h].sym;
            return;
        }
        h = (h + 1) & (s->cache_cap - 1);
    }
    static const struct symbol unknown = {.name = "[unknown]"};
    struct symbol sym = {0};
    if (s->cache_used >= SYMBOLS_MAX_CACHE || s->cache_used * 4 >= s->cache_cap * 3) {
        *out = unknown; /* past the cap: honest, not resolved */
        out->kernel = kernel;
        return;
    }
    resolve(s, pid, ip, kernel, &sym);
    if (sym.name == NULL) { /* no memory */
        free_sym_strings(&sym);
        *out = unknown;
        out->kernel = kernel;
        return;
    }
    s->cache[h] = (struct centry){key, ip, sym};
    s->cache_used++;
    *out = sym;
}

/* ---- DWARF unwinding of a sampled user stack ----------------------------------------------- */

/*
 * One sample's registers and stack copy, which the thread callbacks read.  Each process's
 * Dwfl is attached once (dwfl_attach_state) with a pointer to its proc's unwind state;
 * every symbols_unwind() call fills that state in and asks libdwfl for the one thread.
 */
struct unwind_ctx {
    pid_t tid;
    const uint64_t *regs; /* SYMBOLS_UNWIND_NREGS, in perf's order */
    const unsigned char *stack;
    size_t stack_len;
    uint64_t sp; /* the address of stack[0] */
    uint64_t *out;
    size_t n, cap;
};

#if defined(__x86_64__)
/* perf_regs.h order: AX BX CX DX SI DI BP SP IP, then R8..R15 -> DWARF 0..15, 16 = RIP. */
enum { PR_AX, PR_BX, PR_CX, PR_DX, PR_SI, PR_DI, PR_BP, PR_SP, PR_IP };
#define PR_R8 9
#endif

bool symbols_unwind_supported(void)
{
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

static pid_t uw_next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
    struct unwind_ctx *c = *(struct unwind_ctx **)dwfl_arg;
    (void)dwfl;
    if (*thread_argp != NULL) {
        return 0; /* one thread: the sampled one */
    }
    *thread_argp = c;
    return c->tid;
}

static bool uw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *dwfl_arg)
{
    const struct unwind_ctx *c = *(struct unwind_ctx **)dwfl_arg;
    (void)dwfl;
    /* Only the copy the kernel took at the sample: the live stack has moved on since. */
    if (addr < c->sp || addr - c->sp > c->stack_len || c->stack_len - (addr - c->sp) < 8) {
        return false;
    }
    uint64_t v;
    memcpy(&v, c->stack + (addr - c->sp), 8);
    *result = v;
    return true;
}

static bool uw_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
#if defined(__x86_64__)
    const struct unwind_ctx *c = thread_arg;
    const uint64_t *r = c->regs;
    Dwarf_Word dw[17] = {r[PR_AX], r[PR_DX], r[PR_CX], r[PR_BX], r[PR_SI], r[PR_DI],
                         r[PR_BP], r[PR_SP], 0,        0,        0,        0,
                         0,        0,        0,        0,        r[PR_IP]};
    for (int i = 0; i < 8; i++) {
        dw[8 + i] = r[PR_R8 + i];
    }
    return dwfl_thread_state_registers(thread, 0, 17, dw);
#else
    (void)thread;
    (void)thread_arg;
    return false;
#endif
}

static const Dwfl_Thread_Callbacks unwind_callbacks = {
    .next_thread = uw_next_thread,
    .memory_read = uw_memory_read,
    .set_initial_registers = uw_set_initial_registers,
};

static int uw_frame(Dwfl_Frame *state, void *arg)
{
    struct unwind_ctx *c = arg;
    Dwarf_Addr pc;
    bool activation = false;
    if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0) {
        return DWARF_CB_ABORT;
    }
    /* A frame that is not an activation holds a return address, as a frame-pointer
     * chain does; symbols_lookup(return_address) looks up pc - 1 for it. */
    c->out[c->n++] = (uint64_t)pc;
    return c->n < c->cap ? DWARF_CB_OK : DWARF_CB_ABORT;
}

size_t symbols_unwind(struct symbols *s, pid_t pid, pid_t tid, const uint64_t *regs,
                      const void *stack, size_t stack_len, uint64_t *out, size_t cap)
{
    struct proc *p = proc_find(s, pid);
    if (!symbols_unwind_supported() || p == NULL || cap == 0) {
        return 0;
    }
    Dwfl *d = proc_dwfl(p);
    if (d == NULL) {
        return 0;
    }
    if (!p->attached) {
        /* ELF NULL: libdwfl takes the machine from the process's modules. */
        p->attached = dwfl_attach_state(d, NULL, pid, &unwind_callbacks, &s->uw);
        if (!p->attached) {
            return 0;
        }
    }
#if defined(__x86_64__)
    struct unwind_ctx c = {tid, regs, stack, stack_len, regs[PR_SP], out, 0, cap};
#else
    struct unwind_ctx c = {tid, regs, stack, stack_len, 0, out, 0, cap};
#endif
    s->uw = &c;
    /* -1 where the unwinding stops early (no CFI, the end of the copy): the frames
     * gathered up to there are the answer. */
    (void)dwfl_getthread_frames(d, tid, uw_frame, &c);
    s->uw = NULL;
    return c.n;
}
