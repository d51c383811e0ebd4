/*
 * cli — one entry per subcommand.  Each takes the arguments from the subcommand's name
 * on (argv[0] is "run", "serve", ...) and returns the process exit code (docs/brunt.1):
 * 0 ok, 1 internal error, 2 usage or bad input, 3 target unreachable at start,
 * 4 a result file cannot be read (report), 5 a report file cannot be written,
 * 6 a --watch target matches no process, 7 a --spawn target never became ready,
 * 99 thresholds failed, 104 invalid scenario file, 105 interrupted, 108 aborted by the
 * scenario (a data feeder ran out with on_exhausted: abort), 110/111 compare found a
 * regression / a critical one, 112 the runs compared are not comparable, 113 the history
 * database is locked, 114 brunt capacity found no rate that held to the precision.  Only cli/ and output/ talk to the user.
 */
#ifndef BRUNT_CLI_CLI_H
#define BRUNT_CLI_CLI_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/plan.h"

#include "core/version.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,
    EXIT_USAGE = 2,
    EXIT_UNREACHABLE = 3,
    EXIT_BAD_RESULT = 4, /* brunt report: missing, truncated, not JSON, unknown version */
    EXIT_WRITE = 5,      /* a report file cannot be written */
    EXIT_WATCH = 6,      /* a --watch PID or name matches no process */
    EXIT_SPAWN = 7,      /* --spawn: the command could not start, exited, or was never ready */
    EXIT_THRESHOLDS = 99,
    EXIT_INVALID_SCENARIO = 104, /* SCENARIO_EXIT_INVALID: as k6's invalid config */
    EXIT_INTERRUPTED = 105,
    EXIT_SETUP_FAILED = 107, /* the setup or teardown flow failed (k6's script error code) */
    EXIT_ABORTED = 108,      /* the scenario stopped the run (k6's test.abort() code) */
    EXIT_REGRESSION = 110,   /* brunt compare: a significant regression */
    EXIT_CRITICAL = 111,     /* brunt compare: a critical regression */
    EXIT_INCOMPARABLE = 112, /* brunt compare: different scenarios or load shapes */
    EXIT_DB_BUSY = 113,      /* the history database stayed locked by another writer */
    EXIT_NO_CAPACITY = 114,  /* brunt capacity: nothing held, or not known to the precision */
};

int cli_run(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_report(int argc, char **argv);

/* --- reports (cli/report.c) --- */

#define CLI_MAX_REPORTS 16

/* What a run writes besides the summary and the result file. */
struct cli_outputs {
    const char *reports[CLI_MAX_REPORTS]; /* --report FILE: format by extension */
    size_t n_reports;
    const char *prometheus; /* --prometheus ADDR, or NULL */
    bool prom_k6_names;     /* --prometheus-names k6 */
    uint64_t prom_hold_ns;  /* --prometheus-hold: keep serving the final totals this long */
};

/* Exit 2 with one line on stderr (prefixed by who) when a path's extension names no
 * report format; else 0. */
int cli_check_report_paths(const char *const *paths, size_t n, const char *who);

/*
 * Reads the result document doc[0..len) (src names it in messages; NULL for one in
 * memory) and writes a report to each path.  Prints one line per report written (unless
 * quiet) and one line per failure, prefixed by who.  Returns 0, EXIT_BAD_RESULT,
 * EXIT_WRITE (a report failed; the others are still written) or EXIT_INTERNAL.
 */
int cli_write_reports(const char *doc, size_t len, const char *src, const char *const *paths,
                      size_t n, bool quiet, const char *who);

int cli_compare(int argc, char **argv);
int cli_history(int argc, char **argv);
int cli_capacity(int argc, char **argv);
/* The breakpoint executor (cli/breakpoint.c, analysis/breakpoint.h): arms every threshold
 * th[0..n) with abortOnFail when a scenario of plan is a breakpoint ramp, and returns that
 * scenario (NULL: none); after the run, prints where it broke on f. */
struct threshold;
struct run_report;
const struct scenario_plan *cli_breakpoint_arm(const struct plan *plan, struct threshold *th,
                                               size_t n);
void cli_breakpoint_print(FILE *f, const struct scenario_plan *sc, const struct run_report *r);

struct result_doc;
struct run_report;
/* brunt run --history FILE.db / --tag k=v: remembers them (-1 with err on a bad tag). */
int cli_history_run_flag(const char *db, const char *tag, char *err, size_t err_len);
/* Before the run: opens (creating) the history so a bad one is found first.  0 or an
 * exit code with err.  scenario_path (may be NULL): the file, for its digest. */
int cli_history_run_check(const char *scenario_path, char *err, size_t err_len);
/* After the run: records it when --history was given; returns code, or an exit code of
 * its own when code was 0 and recording failed (a message is printed). */
int cli_history_after_run(const struct run_report *report, int code);
/*
 * Picks the baseline for `brunt compare --history FILE.db --baseline WHICH` for the run
 * `cur`: "last" (the latest earlier run of the same scenario and load shape), "best" (the one
 * with the lowest p95), or a tag ("key=value", or a bare value matching any tag's value).
 * Returns 0 with *out (result_doc_free it) and a label, or an exit code with one line in
 * err (2 bad input / nothing to compare with, 113 locked).
 */
int cli_history_baseline(const char *db_path, const char *which, const struct result_doc *cur,
                         struct result_doc **out, char *label, size_t label_len, char *err,
                         size_t err_len);
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

/* Builds the origins' transports (plan_transport_prepare: TLS contexts) and connects
 * once to every origin of the plan, TLS handshake included (bounded by timeout_ns).  0;
 * -1 with a one-line message in err naming the first origin that could not be reached
 * and why (exit 3: refused, timed out, a certificate that does not verify); -2 with one
 * line for bad TLS settings (exit 2: an unreadable --cacert). */
int plan_probe(struct plan *plan, uint64_t timeout_ns, char *err, size_t err_len);

struct threshold;
/*
 * Runs plan to its end with the live progress, then prints the summary, writes the
 * result file when export_path is set, the reports and the Prometheus endpoint that outs
 * asks for (outs may be NULL), and returns the exit code.  Probes the target first
 * (exit 3 when it is unreachable).
 */
int cli_execute(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                const struct cli_outputs *outs);
struct run_info;
/* The same with what the summary and result say beyond the report (info may be NULL):
 * the file's name:, its digest, -e values, --tag tags (output/runinfo.h). */
int cli_execute_info(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                     const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                     const struct run_info *info, const struct cli_outputs *outs);

/*
 * What `brunt run` watches besides the load (cli/watch.c): processes (--watch, --spawn),
 * the machine, other probes (PostgreSQL, Redis, the profiler: their branches add them to
 * extra[]), and the success criteria judged after the run.  All-zero watches nothing.
 */
#define CLI_EXTRA_PROBES 8
struct probe;
struct criterion;
struct run_report;

/* What `brunt run` profiles (cli/profile.c; docs/profile.md). */
struct cli_profile {
    bool on;                 /* --profile: sample the watched processes (perf) */
    unsigned freq_hz;        /* --profile-freq; 0: PROFILE_DEFAULT_HZ */
    bool user_only;          /* --profile-user-only */
    bool dwarf;              /* --profile-unwind dwarf (default fp) */
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
 * Parses an unwinding method ("fp" or "dwarf") for command cmd's flag flag into *dwarf.
 * Returns 0 or EXIT_USAGE with the message printed (also for dwarf on a machine
 * symbols_unwind() does not support).
 */
int cli_profile_unwind_flag(const char *cmd, const char *flag, const char *arg, bool *dwarf);

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
    uint64_t steady_min_ns;     /* --steady-min: shortest leak/drift window; 0: 60 s */
    bool machine;               /* watch the machine and brunt's own CPU */
    struct criterion *criteria; /* judged after the run (not owned) */
    size_t n_criteria;
    struct cli_profile profile; /* --profile, --pprof (cli/profile.c) */
    struct probe *extra;        /* more probes, owned by the set once passed (may be NULL) */
    bool *extra_required;
    size_t n_extra;
    /* The engine's once-a-second tick (may be NULL), and a hook called after the load
     * once the probes stopped, before the summary and the result (may be NULL): the
     * database probes' findings need the run's requests (cli/dbprobe.c). */
    void (*tick)(const struct run_report *r, void *data);
    void (*after_run)(struct run_report *r, void *data);
    void *hook_data;
};

/*
 * cli_execute() with watching: spawns the target first (exit 7 when it never becomes
 * ready), starts the probes (exit 6 when a --watch PID or name matches nothing), runs,
 * stops the spawned target, judges the criteria (a ❌ exits 99) and the leak and drift
 * fits, then prints and writes as cli_execute() does.  w may be NULL (cli_execute).
 */
struct run_info;
int cli_execute_watched(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                        const struct cli_watch *w, const char *export_path, bool quiet,
                        bool no_summary, int argc, char **argv, const struct run_info *info,
                        const struct cli_outputs *outs);

/* The hooks cli_execute_info() calls for the run cli_execute_watched() set up (no-ops
 * otherwise): the feed and the progress line's extra into opts; after engine_run(), the
 * probes stopped, the fits and the criteria into report. */
struct run_options;
struct progress;
void cli__watch_options(struct run_options *opts, struct progress *prog);
void cli__watch_after_run(struct run_report *report);
/* The engine's one tick hook, shared: the Prometheus endpoint's (prom, may be NULL) and
 * the watch's own (struct cli_watch.tick, for the database probes). */
void cli__watch_tick(const struct run_report *r, void *prom);
/* True when the run in progress has a watch tick of its own. */
bool cli__watch_has_tick(void);

struct run_report;
/* The limits of thresholds on time trends, in seconds, as extra Prometheus bucket edges
 * (cli/run_execute.c); returns how many went into out. */
size_t cli__threshold_bounds(const struct threshold *th, size_t n, double *out, size_t cap);

/* Writes the reports outs asks for from the run's result (cli/run_execute.c); an exit code. */
int cli__write_run_reports(const struct run_report *report, const struct cli_outputs *outs);

/* Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit. */
unsigned long cli_raise_nofile(void);
/* Whether `limit` descriptors can hold the connections plan may open: 0, or -1 with a
 * one-line warning in msg (the run still starts; connects past the limit fail). */
int cli_nofile_check(const struct plan *plan, unsigned long limit, char *msg, size_t msg_len);
/* Raises the limit (cli_raise_nofile) and prints cli_nofile_check's warning, if any, on
 * stderr: before the start, so the user knows why connects will fail. */
void cli_warn_nofile(const struct plan *plan);

/* Installs SIGINT/SIGTERM handlers that call engine_interrupt(); ignores SIGPIPE. */
void cli_install_signals(void);
/* Non-zero once one of those signals arrived: for waits outside the engine (--ready). */
const volatile sig_atomic_t *cli_signalled(void);

#endif
