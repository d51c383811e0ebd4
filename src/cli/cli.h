/*
 * cli — one entry per subcommand.  Each takes the arguments from the subcommand's name
 * on (argv[0] is "run", "serve", ...) and returns the process exit code (docs/brunt.1):
 * 0 ok, 1 internal error, 2 usage or bad input, 3 target unreachable at start,
 * 4 a --watch target matches no process, 5 a --spawn target never became ready,
 * 99 thresholds failed, 104 invalid scenario file, 105 interrupted, 108 aborted by the
 * scenario (a data feeder ran out with on_exhausted: abort).  Only cli/ and output/ talk to the user.
 */
#ifndef BRUNT_CLI_CLI_H
#define BRUNT_CLI_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/plan.h"

#include "core/version.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_WATCH = 4, /* a --watch PID or name matches no process */
    EXIT_SPAWN = 5, /* --spawn: the command could not start, exited, or was never ready */
    EXIT_THRESHOLDS = 99,
    EXIT_INVALID_SCENARIO = 104, /* SCENARIO_EXIT_INVALID: as k6's invalid config */
    EXIT_INTERRUPTED = 105,
    EXIT_ABORTED = 108, /* the scenario stopped the run (k6's test.abort() code) */
};

int cli_run(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_profile(int argc, char **argv);

struct flame;
/*
 * Writes fg as PREFIX.folded, PREFIX.svg (titled title, subtitle under it; NULL for none)
 * and PREFIX.speedscope.json, each atomically (temp file, fsync, rename); the paths go
 * into paths.  Returns 0, or -1 with a one-line message in err (cli/profile.c).
 */
int cli_profile_write(const struct flame *fg, const char *prefix, const char *title,
                      const char *subtitle, char paths[3][PATH_MAX], char *err, size_t err_len);

/* --- shared by the subcommands that build plans (cli/plan_build.c) --- */

/* A request to add to a plan as one step. */
struct request_def {
    const char *method;
    const char *url;            /* absolute URL */
    const char *name;           /* the name tag; NULL = the URL */
    const char *const *headers; /* "Name: value" strings */
    size_t n_headers;
    const char *body;
    size_t body_len;
    unsigned pipeline;
};

/* Adds (or finds) the origin of url in plan, resolving it.  Returns its index, or -1
 * with a one-line message in err (bad URL: exit 2; DNS: *unreachable set). */
int plan_origin(struct plan *plan, const char *url, bool *unreachable, char *err, size_t err_len);

/* Fills *st as a request step: renders the request bytes once.  0, or -1 with err. */
int plan_request_step(struct plan *plan, struct step *st, const struct request_def *def,
                      bool *unreachable, char *err, size_t err_len);

/* Connects once to every origin of the plan (bounded by timeout_ns).  0, or -1 with a
 * one-line message in err naming the first origin that could not be reached. */
int plan_probe(const struct plan *plan, uint64_t timeout_ns, char *err, size_t err_len);

struct threshold;
/*
 * Runs plan to its end with the live progress, then prints the summary, writes the
 * result file when export_path is set, and returns the exit code.  Probes the target
 * first (exit 3 when it is unreachable).
 */
int cli_execute(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                const char *export_path, bool quiet, bool no_summary, int argc, char **argv);

/*
 * What `brunt run` watches besides the load (cli/watch.c): processes (--watch, --spawn),
 * the machine, other probes (PostgreSQL, Redis, the profiler: their branches add them to
 * extra[]), and the success criteria judged after the run.  All-zero watches nothing.
 */
#define CLI_EXTRA_PROBES 8
struct probe;
struct criterion;

/* What `brunt run` profiles (cli/profile.c; docs/profile.md). */
struct cli_profile {
    bool on;                 /* --profile: sample the watched processes (perf) */
    unsigned freq_hz;        /* --profile-freq; 0: PROFILE_DEFAULT_HZ */
    bool user_only;          /* --profile-user-only */
    bool window_set;         /* --profile-window FROM-TO (offsets from the start) */
    uint64_t from_ns, to_ns; /* to 0: until the end */
    const char *pprof;       /* --pprof URL: a Go service's net/http/pprof */
    bool no_heap;            /* --pprof-no-heap */
};

struct proc_probe;
struct probe_set;
struct profile;
struct pprof_probe;
/* The profilers of one run, as cli_profile_add() made them (owned by the set). */
struct cli_profile_run {
    struct profile *prof;
    struct pprof_probe *pp;
};

/*
 * Parses --profile-window "FROM-TO" (durations from the load's start; TO may be empty:
 * until the end) into o.  Returns 0 or EXIT_USAGE with the message printed.
 */
int cli_profile_window_flag(const char *arg, struct cli_profile *o);

/*
 * Adds the profilers o asks for to set (the perf sampler follows proc's processes),
 * their window the one the user set or the steady phase of plan.  Returns EXIT_OK or an
 * exit code with the message printed.  Call before probe_set_start().
 */
int cli_profile_add(const struct cli_profile *o, const struct plan *plan, struct probe_set *set,
                    struct proc_probe *proc, struct cli_profile_run *out);

/*
 * After probe_set_stop(): writes each profile's folded stacks, SVG and speedscope files
 * next to export_path (RESULT.profile.* / RESULT.pprof.*; ./brunt-profile.* without one)
 * and tells the probes their paths, for the summary and the result.  Messages on stderr.
 */
void cli_profile_finish(struct cli_profile_run *r, struct probe_set *set, const char *export_path);

struct cli_watch {
    const char *watch[16]; /* --watch PID|NAME */
    size_t n_watch;
    const char *spawn, *ready, *spawn_log; /* --spawn CMD, --ready URL|port, --spawn-log */
    struct spawn *spawned; /* already started by the caller (brunt demo): watched, not stopped */
    uint64_t ready_timeout_ns;  /* 0: SPAWN_READY_TIMEOUT_NS */
    uint64_t interval_ns;       /* --watch-interval; 0: PROBE_INTERVAL_NS */
    bool machine;               /* watch the machine and brunt's own CPU */
    struct criterion *criteria; /* judged after the run (not owned) */
    size_t n_criteria;
    struct cli_profile profile; /* --profile, --pprof (cli/profile.c) */
    struct probe *extra;        /* more probes, owned by the set once passed (may be NULL) */
    bool *extra_required;
    size_t n_extra;
};

/*
 * cli_execute() with watching: spawns the target first (exit 5 when it never becomes
 * ready), starts the probes (exit 4 when a --watch PID or name matches nothing), runs,
 * stops the spawned target, judges the criteria (a ❌ exits 99) and the leak and drift
 * fits, then prints and writes as cli_execute() does.  w may be NULL (cli_execute).
 */
int cli_execute_watched(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                        const struct cli_watch *w, const char *export_path, bool quiet,
                        bool no_summary, int argc, char **argv);

/* Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit. */
unsigned long cli_raise_nofile(void);

/* Installs SIGINT/SIGTERM handlers that call engine_interrupt(); ignores SIGPIPE. */
void cli_install_signals(void);

#endif
