/*
 * symbols — instruction addresses of watched processes (and of the kernel) to function
 * names, modules and source file:line, for the profiler.
 *
 * User addresses go through elfutils' libdwfl: the process's memory map (the text of
 * /proc/PID/maps, recorded while the process runs so that it can be symbolised after it
 * has exited) is reported with dwfl_linux_proc_maps_report(), then dwfl_module_addrinfo()
 * names the function and dwfl_module_getsrc() finds the function's first line where
 * debug information exists (in the binary or a separate debug file under
 * /usr/lib/debug).  Addresses in no module (JIT code) are looked up in the perf map file
 * /tmp/perf-PID.map that JIT runtimes write (`START SIZE name` lines, hex), read the
 * first time it is needed.  Kernel addresses go through /proc/kallsyms; when
 * kptr_restrict hides them every kernel frame is "[kernel]".
 *
 * What cannot be named is "[module]" (a stripped module: the address's module basename)
 * or "[unknown]", never an invented name.  C++ and Rust names are shown as the symbol
 * table has them (mangled).  Results are cached per (pid, address).
 *
 * Caps: SYMBOLS_MAX_PROCS processes, SYMBOLS_MAX_CACHE cached addresses (past it, lookups
 * still work but are not cached), a maps text of at most SYMBOLS_MAX_MAPS bytes, a perf
 * map of at most SYMBOLS_MAX_JIT entries.  Not thread-safe: one thread at a time.
 */
#ifndef BRUNT_PROBE_SYMBOLS_H
#define BRUNT_PROBE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SYMBOLS_MAX_PROCS 1024
#define SYMBOLS_MAX_CACHE (1u << 20)
#define SYMBOLS_MAX_MAPS (8u << 20)
#define SYMBOLS_MAX_JIT (1u << 20)

struct symbols;

/*
 * A resolved address.  The strings belong to the symbols object: valid until its free.
 * Past SYMBOLS_MAX_CACHE distinct addresses new ones are not resolved ("[unknown]").
 */
struct symbol {
    const char *name;   /* never NULL */
    const char *module; /* basename of the binary or library, "[kernel]", or NULL */
    const char *file;   /* source file of the function, NULL without debug information */
    int line;           /* its first line, 0 when unknown */
    bool kernel;
    bool resolved; /* a real function name (not "[module]" / "[unknown]") */
};

/* NULL on no memory. */
struct symbols *symbols_new(void);
/* Frees s and every string it handed out (NULL is fine). */
void symbols_free(struct symbols *s);

/*
 * Records maps[0..len) (the text of /proc/PID/maps) as pid's memory map, replacing an
 * earlier one when it differs (then the process's cache is dropped).  Returns 0,
 * -ENOMEM, -E2BIG (len over SYMBOLS_MAX_MAPS) or -ENOSPC (SYMBOLS_MAX_PROCS processes).
 */
int symbols_set_maps(struct symbols *s, pid_t pid, const char *maps, size_t len);

/* Reads /proc/PID/maps and records it as symbols_set_maps() does.  0 or a negative errno. */
int symbols_read_maps(struct symbols *s, pid_t pid);

/*
 * Resolves ip in pid's address space (or the kernel's when kernel is set) into *out.
 * return_address: ip is where a call returns to (every frame but the leaf), so ip - 1 is
 * looked up, which is inside the call.  Always fills *out (with "[unknown]" at worst).
 */
void symbols_lookup(struct symbols *s, pid_t pid, uint64_t ip, bool kernel, bool return_address,
                    struct symbol *out);

/*
 * DWARF unwinding of one PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER sample of thread
 * tid of pid (x86-64 only: symbols_unwind_supported()).  regs: SYMBOLS_UNWIND_NREGS user
 * registers in perf's order (SYMBOLS_UNWIND_REGS_MASK); stack[0..stack_len): the copy of
 * the user stack from the sampled SP up.  libdwfl (dwfl_attach_state once per process,
 * dwfl_getthread_frames per sample) walks the CFI of the process's modules (.eh_frame or
 * .debug_frame), reading memory from that copy alone.  Writes the frames' pcs to
 * out[0..cap), leaf first (the sampled ip, then return addresses), and returns how many:
 * 0 when nothing could be unwound (no maps recorded for pid yet, an unsupported machine);
 * a chain cut short where the CFI or the copy ends.  Needs pid's maps, recorded while it
 * runs (symbols_read_maps).
 */
#define SYMBOLS_UNWIND_REGS_MASK 0xff01ffull /* AX..IP (bits 0-8), R8..R15 (16-23) */
#define SYMBOLS_UNWIND_NREGS 17
bool symbols_unwind_supported(void);
size_t symbols_unwind(struct symbols *s, pid_t pid, pid_t tid, const uint64_t *regs,
                      const void *stack, size_t stack_len, uint64_t *out, size_t cap);

#endif
