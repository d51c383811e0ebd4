/*
 * `brunt profile`: profile running processes (perf_event_open) or a Go service's pprof
 * endpoint for a while, without a load test, and write the folded stacks, the flame-graph
 * SVG and the speedscope document.  `brunt run --profile` / `--pprof` take the same
 * profile during the steady phase of a load test; this is the standalone form, the
 * `perf record -p PID -F 99 -g` of brunt.
 *
 * Also holds cli_profile_write(), the one place that writes a flame's files (atomically:
 * temp file, fsync, rename), for `run` too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/flame.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "probe/pprof.h"
#include "probe/probe.h"
#include "probe/proc.h"
#include "probe/profile.h"
#include "probe/symbols.h"

#define PROFILE_MAX_OUTPUT (256u << 20)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

__attribute__((format(printf, 1, 2))) static int profile_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("brunt profile: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* Writes data[0..len) to path atomically.  0, or -1 with a message in err. */
static int write_atomic(const char *path, const char *data, size_t len, char *err, size_t err_len)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(err, err_len, "cannot write %s: path too long", path);
        return -1;
    }
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            snprintf(err, err_len, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cli_profile_write(const struct flame *fg, const char *prefix, const char *title,
                      const char *subtitle, char paths[3][PATH_MAX], char *err, size_t err_len)
{
    static const char *suffix[3] = {".folded", ".svg", ".speedscope.json"};
    struct dynbuf b;
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        int n = snprintf(paths[i], PATH_MAX, "%s%s", prefix, suffix[i]);
        if (n < 0 || n >= PATH_MAX) {
            snprintf(err, err_len, "cannot write %s%s: path too long", prefix, suffix[i]);
            return -1;
        }
    }
    dynbuf_init(&b, PROFILE_MAX_OUTPUT);
    if (flame_write_folded(fg, &b) < 0) {
        snprintf(err, err_len, "cannot write %s: the folded stacks exceed 256 MiB", paths[0]);
        rc = -1;
    }
    if (rc == 0) {
        rc = write_atomic(paths[0], b.data != NULL ? b.data : "", b.len, err, err_len);
    }
    dynbuf_reset(&b);
    struct flame_svg_opts o = {.title = title, .subtitle = subtitle};
    if (rc == 0 && flame_write_svg(fg, &o, &b) < 0) {
        snprintf(err, err_len, "cannot write %s: the SVG exceeds 256 MiB", paths[1]);
        rc = -1;
    }
    if (rc == 0) {
        rc = write_atomic(paths[1], b.data, b.len, err, err_len);
    }
    dynbuf_destroy(&b);
    struct jsonw w;
    jsonw_init(&w, 0, PROFILE_MAX_OUTPUT);
    if (rc == 0 && flame_write_speedscope(fg, title, &w) < 0) {
        snprintf(err, err_len, "cannot write %s: the document exceeds 256 MiB", paths[2]);
        rc = -1;
    }
    if (rc == 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        rc = write_atomic(paths[2], doc, len, err, err_len);
    }
    jsonw_destroy(&w);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: brunt profile --pid PID [--pid PID]... [flags]\n"
            "       brunt profile --pprof URL [flags]\n"
            "\n"
            "Samples where the processes (every thread) spend their CPU, or fetches a Go\n"
            "service's CPU profile from URL/debug/pprof/profile, then prints the top\n"
            "functions and writes PREFIX.folded, PREFIX.svg and PREFIX.speedscope.json.\n"
            "\n"
            "  --pid PID         a process to sample (repeat for more; up to %d)\n"
            "  --pprof URL       a Go net/http/pprof base URL (http://host:port)\n"
            "  -d, --duration D  how long to profile (default 10s)\n"
            "  --freq HZ         samples per second per thread (default %d, at most %d)\n"
            "  --user-only       never sample kernel frames\n"
            "  --unwind fp|dwarf user call chains by frame pointers (default) or DWARF CFI\n"
            "                    (copies 8 KiB of stack per sample; for code without frame\n"
            "                    pointers)\n"
            "  --no-heap         --pprof: skip the heap profiles before and after\n"
            "  -o, --out PREFIX  where the files go (default ./profile)\n"
            "  --export FILE     the profile as JSON (the result's probes.profile member)\n"
            "  -q, --quiet       no summary\n",
            PROFILE_MAX_PIDS, PROFILE_DEFAULT_HZ, PROFILE_MAX_HZ);
}

enum { OPT_PID = 256, OPT_PPROF, OPT_FREQ, OPT_USER_ONLY, OPT_NO_HEAP, OPT_EXPORT, OPT_UNWIND };

int cli_profile(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pid", required_argument, NULL, OPT_PID},
        {"pprof", required_argument, NULL, OPT_PPROF},
        {"duration", required_argument, NULL, 'd'},
        {"freq", required_argument, NULL, OPT_FREQ},
        {"user-only", no_argument, NULL, OPT_USER_ONLY},
        {"unwind", required_argument, NULL, OPT_UNWIND},
        {"no-heap", no_argument, NULL, OPT_NO_HEAP},
        {"export", required_argument, NULL, OPT_EXPORT},
        {"out", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pid_t pids[PROFILE_MAX_PIDS];
    size_t n_pids = 0;
    const char *pprof_url = NULL;
    const char *prefix = "profile";
    const char *export_path = NULL;
    uint64_t duration_ns = 10 * NS_PER_S, v;
    unsigned freq = PROFILE_DEFAULT_HZ;
    bool user_only = false, quiet = false, heap = true, dwarf = false;
    int opt;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+d:o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_PID:
            if (parse_u64(optarg, &v) < 0 || v < 1 || v > INT_MAX) {
                return profile_fail("--pid '%s': expected a process id", optarg);
            }
            if (n_pids == PROFILE_MAX_PIDS) {
                return profile_fail("--pid: at most %d processes", PROFILE_MAX_PIDS);
            }
            pids[n_pids++] = (pid_t)v;
            break;
        case OPT_PPROF:
            pprof_url = optarg;
            break;
        case 'd':
            if (parse_duration_ns(optarg, &duration_ns) < 0 || duration_ns < NS_PER_S ||
                duration_ns > 3600 * NS_PER_S) {
                return profile_fail("--duration '%s': expected a duration from 1s to 1h", optarg);
            }
            break;
        case OPT_FREQ:
            if (parse_u64(optarg, &v) < 0 || v < 1 || v > PROFILE_MAX_HZ) {
                return profile_fail("--freq '%s': expected samples per second from 1 to %d", optarg,
                                    PROFILE_MAX_HZ);
            }
            freq = (unsigned)v;
            break;
        case OPT_USER_ONLY:
            user_only = true;
            break;
        case OPT_NO_HEAP:
            heap = false;
            break;
        case OPT_UNWIND:
            if (cli_profile_unwind_flag("brunt profile", "--unwind", optarg, &dwarf) != EXIT_OK) {
                return EXIT_USAGE;
            }
            break;
        case OPT_EXPORT:
            export_path = optarg;
            break;
        case 'o':
            prefix = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return profile_fail("unknown flag '%s' (brunt profile --help lists them)",
                                argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return profile_fail("unexpected argument '%s' (processes are given with --pid)",
                            argv[optind]);
    }
    if ((n_pids == 0) == (pprof_url == NULL)) {
        return profile_fail("expected --pid PID or --pprof URL (one of the two)");
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char err[512] = "";
    const struct flame *fg = NULL;
    struct profile *prof = NULL;
    struct pprof_probe *pp = NULL;
    struct probe probe;
    int rc = EXIT_OK;
    if (pprof_url != NULL) {
        struct pprof_opts po = {
            .url = pprof_url, .seconds = (unsigned)(duration_ns / NS_PER_S), .heap = heap};
        if (pprof_probe_new(&po, &pp, err, sizeof err) < 0) {
            return profile_fail("%s", err);
        }
        probe = pprof_probe(pp);
    } else {
        struct profile_opts po = {.pids = pids,
                                  .n_pids = n_pids,
                                  .freq_hz = freq,
                                  .user_only = user_only,
                                  .dwarf = dwarf};
        prof = profile_new(&po);
        if (prof == NULL) {
            fprintf(stderr, "brunt profile: out of memory\n");
            return EXIT_INTERNAL;
        }
        probe = profile_probe(prof);
    }
    int src = probe.ops->start(probe.self, err, sizeof err);
    if (src < 0) {
        fprintf(stderr, "brunt %s\n", err);
        probe.ops->free(probe.self);
        /* 2: no such process; 3: the pprof service cannot be reached or has no pprof;
         * 1: perf events are not permitted (the message says which setting). */
        if (src == -ESRCH) {
            return EXIT_USAGE;
        }
        return src == -EHOSTUNREACH || src == -ENOENT ? EXIT_UNREACHABLE : EXIT_INTERNAL;
    }
    uint64_t end = clock_now_ns() + duration_ns;
    while (!interrupted) {
        uint64_t now = clock_now_ns();
        if (now >= end) {
            break;
        }
        uint64_t step = end - now < NS_PER_S ? end - now : NS_PER_S;
        struct timespec ts = {(time_t)(step / NS_PER_S), (long)(step % NS_PER_S)};
        nanosleep(&ts, NULL);
        probe.ops->sample(probe.self, clock_now_ns(), NULL);
    }
    probe.ops->stop(probe.self);
    fg = prof != NULL ? profile_flame(prof) : pprof_probe_flame(pp);
    if (fg != NULL && flame_total(fg) > 0) {
        char paths[3][PATH_MAX];
        char subtitle[128];
        snprintf(subtitle, sizeof subtitle, "%llu %s", (unsigned long long)flame_total(fg),
                 flame_unit(fg));
        if (cli_profile_write(fg, prefix, "CPU profile", subtitle, paths, err, sizeof err) < 0) {
            fprintf(stderr, "brunt profile: %s\n", err);
            rc = EXIT_INTERNAL;
        } else if (prof != NULL) {
            profile_set_files(prof, paths[0], paths[1], paths[2]);
        } else {
            pprof_probe_set_files(pp, paths[0], paths[1], paths[2]);
        }
    }
    if (!quiet) {
        probe.ops->summary(probe.self, stdout, false);
    }
    if (export_path != NULL) {
        struct jsonw w;
        jsonw_init(&w, 2, PROFILE_MAX_OUTPUT);
        size_t len = 0;
        const char *doc = NULL;
        if (probe.ops->to_json(probe.self, &w) == 0) {
            doc = jsonw_data(&w, &len);
        }
        if (doc == NULL || write_atomic(export_path, doc, len, err, sizeof err) < 0) {
            fprintf(stderr, "brunt profile: %s\n", doc == NULL ? "the JSON is too large" : err);
            rc = EXIT_INTERNAL;
        }
        jsonw_destroy(&w);
    }
    if (fg == NULL && rc == EXIT_OK) {
        rc = EXIT_UNREACHABLE; /* pprof: the fetch failed; its line was in the summary */
    }
    if (interrupted && rc == EXIT_OK) {
        rc = EXIT_INTERRUPTED;
    }
    probe.ops->free(probe.self);
    return rc;
}

/* ---- brunt run --profile / --pprof -------------------------------------------------------- */

int cli_profile_unwind_flag(const char *cmd, const char *flag, const char *arg, bool *dwarf)
{
    if (strcmp(arg, "fp") != 0 && strcmp(arg, "dwarf") != 0) {
        fprintf(stderr, "%s: bad %s '%s': expected fp (frame pointers) or dwarf\n", cmd, flag, arg);
        return EXIT_USAGE;
    }
    *dwarf = strcmp(arg, "dwarf") == 0;
    if (*dwarf && !symbols_unwind_supported()) {
        fprintf(stderr, "%s: %s dwarf: DWARF unwinding is implemented for x86-64 only\n", cmd,
                flag);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cli_profile_window_flag(const char *arg, struct cli_profile *o)
{
    char from[64], to[64];
    const char *dash = strchr(arg, '-');
    if (dash == NULL || (size_t)(dash - arg) >= sizeof from || strlen(dash + 1) >= sizeof to) {
        fprintf(stderr,
                "brunt run: bad --profile-window '%s': expected FROM-TO as durations from "
                "the start, such as 10s-40s (TO may be left out: until the end)\n",
                arg);
        return EXIT_USAGE;
    }
    snprintf(from, sizeof from, "%.*s", (int)(dash - arg), arg);
    snprintf(to, sizeof to, "%s", dash + 1);
    uint64_t f = 0, t = 0;
    if ((from[0] != '\0' && parse_duration_ns(from, &f) < 0) ||
        (to[0] != '\0' && parse_duration_ns(to, &t) < 0) || (to[0] != '\0' && t <= f)) {
        fprintf(stderr,
                "brunt run: bad --profile-window '%s': expected FROM-TO as durations from "
                "the start with FROM < TO, such as 10s-40s\n",
                arg);
        return EXIT_USAGE;
    }
    o->window_set = true;
    o->from_ns = f;
    o->to_ns = t;
    return EXIT_OK;
}

/*
 * The steady phase of plan, as offsets from the start: from when every scenario has
 * ramped up to its peak (a constant load: after 10 % of its length, at most 30 s, for
 * connections, caches and pools to warm up) to when the first one ramps down or ends.
 * *to_ns 0: not known (a count-bound scenario).  No steady phase: the whole run (0, 0).
 */
static void steady_window(const struct plan *plan, uint64_t *from_ns, uint64_t *to_ns)
{
    uint64_t from = 0, to = UINT64_MAX;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        const struct scenario_plan *sc = &plan->scenarios[i];
        uint64_t start = sc->start_time_ns, at = start, end = 0;
        if (sc->n_stages > 0) {
            double peak = -1;
            uint64_t until = start;
            for (size_t k = 0; k < sc->n_stages; k++) {
                until += sc->stages[k].duration_ns;
                if (sc->stages[k].target > peak) {
                    peak = sc->stages[k].target;
                    at = until;
                }
                if (sc->stages[k].target >= peak) {
                    end = until; /* still at the peak at the end of this stage */
                }
            }
        } else {
            uint64_t len = scenario_length_ns(sc);
            uint64_t warm = len / 10 < 30 * NS_PER_S ? len / 10 : 30 * NS_PER_S;
            at = start + warm;
            end = len > 0 ? start + len : 0;
        }
        from = at > from ? at : from;
        if (end != 0 && end < to) {
            to = end;
        }
    }
    if (to == UINT64_MAX) {
        to = 0;
    }
    if (to != 0 && to <= from + NS_PER_S) {
        from = 0; /* no steady second: the whole run */
        to = 0;
    }
    *from_ns = from;
    *to_ns = to;
}

static size_t members_cb(void *data, pid_t *out, size_t cap)
{
    return proc_probe_members(data, out, cap);
}

int cli_profile_add(const struct cli_profile *o, const struct plan *plan, struct probe_set *set,
                    struct proc_probe *proc, struct cli_profile_run *out)
{
    char err[512];
    uint64_t from = o->from_ns, to = o->to_ns;
    memset(out, 0, sizeof *out);
    if (!o->on && o->pprof == NULL) {
        return EXIT_OK;
    }
    if (!o->window_set) {
        steady_window(plan, &from, &to);
    }
    if (o->on) {
        if (proc == NULL) {
            fprintf(stderr, "brunt run: --profile samples the watched processes: give "
                            "--watch PID|NAME or --spawn CMD with it\n");
            return EXIT_USAGE;
        }
        struct profile_opts po = {.pids_cb = members_cb,
                                  .pids_data = proc,
                                  .freq_hz = o->freq_hz,
                                  .user_only = o->user_only,
                                  .dwarf = o->dwarf};
        struct profile *prof = profile_new(&po);
        if (prof == NULL) {
            fprintf(stderr, "brunt run: out of memory setting up the profiler\n");
            return EXIT_INTERNAL;
        }
        profile_set_window_offsets(prof, from, to);
        if (probe_set_add(set, profile_probe(prof), false) < 0) {
            fprintf(stderr, "brunt run: too many probes (at most %d)\n", PROBE_SET_MAX);
            return EXIT_USAGE;
        }
        out->prof = prof;
    }
    if (o->pprof != NULL) {
        unsigned secs = 30;
        if (to != 0) {
            uint64_t len = (to - from) / NS_PER_S;
            secs = len < 1 ? 1 : len > PPROF_MAX_SECONDS ? PPROF_MAX_SECONDS : (unsigned)len;
        }
        struct pprof_opts ppo = {.url = o->pprof, .seconds = secs, .heap = !o->no_heap};
        struct pprof_probe *pp = NULL;
        if (pprof_probe_new(&ppo, &pp, err, sizeof err) < 0) {
            fprintf(stderr, "brunt run: %s\n", err);
            return EXIT_USAGE;
        }
        pprof_probe_set_window_offsets(pp, from, to);
        if (probe_set_add(set, pprof_probe(pp), false) < 0) {
            fprintf(stderr, "brunt run: too many probes (at most %d)\n", PROBE_SET_MAX);
            return EXIT_USAGE;
        }
        out->pp = pp;
    }
    return EXIT_OK;
}

/* prefix = export_path without ".json", then ".kind"; "brunt-kind" without a result. */
static void files_prefix(const char *export_path, const char *kind, char *out, size_t cap)
{
    if (export_path == NULL) {
        snprintf(out, cap, "brunt-%s", kind);
        return;
    }
    size_t len = strlen(export_path);
    if (len > 5 && strcmp(export_path + len - 5, ".json") == 0) {
        len -= 5;
    }
    snprintf(out, cap, "%.*s.%s", (int)len, export_path, kind);
}

void cli_profile_finish(struct cli_profile_run *r, struct probe_set *set, const char *export_path)
{
    char prefix[PATH_MAX], paths[3][PATH_MAX], err[512], subtitle[160];
    /* A profiler whose start() failed was dropped (and freed) by the set. */
    struct probe *p = probe_set_find(set, "profile");
    if (r->prof != NULL && p != NULL && p->self == r->prof) {
        const struct flame *fg = profile_flame(r->prof);
        if (fg != NULL && flame_total(fg) > 0) {
            files_prefix(export_path, "profile", prefix, sizeof prefix);
            snprintf(subtitle, sizeof subtitle, "%llu samples at %u Hz (perf, cpu-clock)",
                     (unsigned long long)flame_total(fg), profile_freq_hz(r->prof));
            if (cli_profile_write(fg, prefix, "CPU profile", subtitle, paths, err, sizeof err) <
                0) {
                fprintf(stderr, "brunt run: %s\n", err);
            } else {
                profile_set_files(r->prof, paths[0], paths[1], paths[2]);
            }
        }
    }
    p = probe_set_find(set, "pprof");
    if (r->pp != NULL && p != NULL && p->self == r->pp) {
        const struct flame *fg = pprof_probe_flame(r->pp);
        if (fg != NULL && flame_total(fg) > 0) {
            files_prefix(export_path, "pprof", prefix, sizeof prefix);
            snprintf(subtitle, sizeof subtitle, "%.2f s of CPU (pprof)",
                     (double)flame_total(fg) / 1e9);
            if (cli_profile_write(fg, prefix, "CPU profile (pprof)", subtitle, paths, err,
                                  sizeof err) < 0) {
                fprintf(stderr, "brunt run: %s\n", err);
            } else {
                pprof_probe_set_files(r->pp, paths[0], paths[1], paths[2]);
            }
        }
    }
}
