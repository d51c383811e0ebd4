/*
 * load — scenario files (YAML, docs/scenarios.md) compiled into a struct plan.
 *
 * The loader reads the file with libfyaml's event parser into a small tree of its own
 * (every node keeps its line and column, which libfyaml's document API does not
 * expose), checks every key against what is allowed at its place (unknown keys get a
 * did-you-mean), validates each scenario's options per executor as k6 does, expands
 * ${ENV} and ${ENV:-default} in every scalar, loads the CSV feeders, compiles every
 * template, extraction and check, resolves the hosts, and builds the plan the engine
 * runs.  Everything a run needs is compiled here: the request path never parses.
 *
 * Errors are one line, "FILE:LINE:COLUMN: <what is wrong> (expected ...)", and a bad
 * file is exit code SCENARIO_EXIT_INVALID (104, k6's "invalid config").  The loader
 * never prints.  Load time only, one thread (it reads the environment and resolves DNS).
 */
#ifndef BRUNT_SCENARIO_LOAD_H
#define BRUNT_SCENARIO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/plan.h"

struct threshold;
struct criterion;
struct flow_step;

/* The exit code for a scenario file that does not load (k6: invalid config). */
#define SCENARIO_EXIT_INVALID 104

/* Caps on what a scenario file may hold (larger is an error, never truncated). */
#define SCENARIO_MAX_FILE_BYTES (16u * 1024 * 1024)
#define SCENARIO_MAX_NODES 1000000u /* YAML nodes + 1 per 64 scalar bytes, aliases expanded */
#define SCENARIO_MAX_SCENARIOS 64
#define SCENARIO_MAX_STEPS 1024 /* request and sleep steps per scenario, groups flattened */
#define SCENARIO_MAX_STAGES 1024
#define SCENARIO_MAX_VARS 256 /* extraction targets per scenario */
#define SCENARIO_MAX_FEEDERS 64
#define SCENARIO_MAX_THRESHOLDS 256
#define SCENARIO_MAX_GROUP_DEPTH 16
#define SCENARIO_MAX_WATCH 16    /* watch: processes */
#define SCENARIO_MAX_CRITERIA 64 /* criteria: rows */

/* Values from a scenario file's `options:`; the has_ flags say which were given, so
 * command-line flags (which win) can be told apart from file values. */
/* The longest top-level name: a file may give. */
#define SCENARIO_MAX_NAME_BYTES 255

struct scenario_file_opts {
    bool has_threads;
    int threads;
    bool has_timeout;
    uint64_t timeout_ns;
    bool has_connect_timeout;
    uint64_t connect_timeout_ns;
    bool has_grace;
    uint64_t grace_ns;
    /* watch: (docs/scenarios.md) — strings owned here, see scenario_file_opts_destroy() */
    char *watch[SCENARIO_MAX_WATCH]; /* processes: PIDs and names, as written */
    size_t n_watch;
    char *spawn, *spawn_ready, *spawn_log; /* processes: [{spawn: {command, ready, log}}] */
    bool has_ready_timeout;
    uint64_t ready_timeout_ns;
    bool has_watch_interval;
    uint64_t watch_interval_ns;
    bool has_watch_machine;
    bool watch_machine;
    bool has_steady_min; /* steady_min: the shortest leak/drift window */
    uint64_t steady_min_ns;
    /* watch: postgres, redis, explain_analyze, postgres_settle (the database probes) */
    char *pg_dsn, *redis_url;
    bool has_explain_analyze, explain_analyze;
    uint64_t pg_settle_ns; /* 0 when not given */
    /* criteria: rows, owned here (criterion_destroy() each) */
    struct criterion *criteria;
    size_t n_criteria;
    /* TLS of the https:// origins: insecure (or k6's insecureSkipTLSVerify), cacert,
     * cert and key (paths resolved against the file's directory; "" = not given). */
    bool has_insecure, insecure;
    char cacert[4096], cert[4096], key[4096];
    bool http2; /* options.http2: HTTP/2 on every origin (as --http2) */
    /* The file's top-level name: ("" when none), shown in the summary and the result. */
    char test_name[SCENARIO_MAX_NAME_BYTES + 1];
    /* Output on failure: true when the error was a host name that did not resolve (the
     * CLI may report it as "target unreachable" rather than as a bad file). */
    bool unreachable;
    /* The file has a setup: / teardown: flow (k6's setup() and teardown()). */
    bool has_setup, has_teardown;
};

/* Frees what scenario_load() put into opts (watch strings, criteria) and zeroes those
 * members; safe on zeroed opts.  On failure scenario_load() has already done it. */
void scenario_file_opts_destroy(struct scenario_file_opts *opts);

/*
 * Which part of a file a load compiles: the scenarios (and thresholds), or the setup or
 * teardown flow alone as a one-VU, one-iteration plan (scenario "setup" / "teardown",
 * shared-iterations, max_duration: the flow's timeout, default 60 s as k6's
 * setupTimeout).  The setup's extracted values reach the other two as run-wide constants
 * (template.h): {{ token }} is then the value the setup extracted.
 */
enum scenario_phase { SCENARIO_PHASE_MAIN, SCENARIO_PHASE_SETUP, SCENARIO_PHASE_TEARDOWN };

struct scenario_load_in {
    enum scenario_phase phase;
    /* The setup's values (names and values parallel, n_consts).  When has_consts is
     * false, the names the setup extracts are constants with the value "" (validating
     * a file without running its setup: --check). */
    bool has_consts;
    const char *const *const_names;
    const char *const *const_values;
    size_t n_consts;
};

/* scenario_load_string() for one phase; in NULL is the main phase without setup values. */
int scenario_load_phase(const char *yaml, size_t len, const char *display_name,
                        const char *base_dir, const struct scenario_load_in *in, struct plan **out,
                        struct threshold **thresholds, size_t *n_thresholds,
                        struct scenario_file_opts *opts, char *err, size_t err_len);

/*
 * Loads the scenario file at path into a new plan (*out; free with plan_free, which also
 * frees the compiled flows, feeders and strings through plan->owner_free) and its
 * thresholds (*thresholds: an array of *n_thresholds, the caller calls threshold_destroy
 * on each and frees the array; NULL when there are none).  opts (may be NULL) gets the
 * file's `options:`; the plan already carries them (threads default: the number of
 * cores; timeout 60s; connect_timeout 10s; grace 5s).  CSV files named in `data:` are
 * read relative to the directory of path.
 *
 * Returns 0, or -1 with nothing allocated (*out NULL, *thresholds NULL, *n_thresholds 0)
 * and a one-line message in err[0..err_len): "FILE:LINE:COL: what (expected ...)".
 */
int scenario_load(const char *path, struct plan **out, struct threshold **thresholds,
                  size_t *n_thresholds, struct scenario_file_opts *opts, char *err, size_t err_len);

/*
 * The same from yaml[0..len) in memory (tests, fuzzing): display_name is the FILE of
 * messages, base_dir the directory CSV paths are relative to (NULL: the current one).
 */
int scenario_load_string(const char *yaml, size_t len, const char *display_name,
                         const char *base_dir, struct plan **out, struct threshold **thresholds,
                         size_t *n_thresholds, struct scenario_file_opts *opts, char *err,
                         size_t err_len);

/*
 * After a run of plan (from a scenario file): writes to names[0..cap) the data feeders
 * that ran out of rows with on_exhausted: stop_vu (VUs stopped for want of a row), and
 * returns how many there are.  0 for a plan not from a file.
 */
size_t scenario_feeders_stopped(const struct plan *plan, const char **names, size_t cap);

/* For the fuzz target only: when set, hosts are not resolved (no DNS at all). */
extern bool scenario__skip_resolve;
/* --max-redirects: when >= 0, the redirects every step follows at most, over the file's
 * options.max_redirects and the steps' redirects: (set by the CLI before loading). */
extern int scenario_max_redirects;
/* --http-debug: 0 off, 1 request and response heads, 2 with bodies (the first
 * FLOW_DEBUG_BODY_BYTES of each), 3 as 2 but only for the exchanges that failed (a check
 * or extraction failed, the status was unexpected, or no response came): each VU holds
 * its exchange's text until the step's checks are known.  Each shown exchange's text
 * goes to the writer the CLI sets (library layers never print), from the worker threads. */
extern int scenario_http_debug;
extern void (*scenario_http_debug_write)(const char *text, size_t len);

/* --- per-step accessors for the engine (candidates for scenario/flow.h) --- */

#endif
