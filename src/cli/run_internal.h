/*
 * run_internal — what the files of `brunt run` share (cli/run*.c), and nothing else
 * includes: the flags as parsed (struct quick) and the calls between the files.
 *
 *   run.c           cli_run(): the glue, from the command line to the exit code
 *   run_flags.c     the usage, the flags and their checks (one line, exit 2)
 *   run_quick.c     quick mode's plan; the flags that apply to any plan (TLS, watch)
 *   run_scenario.c  a scenario file: read, loaded per phase, setup and teardown, the
 *                   flags that override it, then the run
 *   run_execute.c   cli_execute(): any plan run, then summary, result, reports, exit code
 *
 * Main thread only.
 */
#ifndef BRUNT_CLI_RUN_INTERNAL_H
#define BRUNT_CLI_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "cli/dbprobe.h"
#include "engine/plan.h"
#include "metrics/criteria.h"
#include "metrics/threshold.h"
#include "probe/probe.h"

#define MAX_HEADERS 64
#define MAX_THRESHOLDS 64
#define MAX_STAGES 64
#define MAX_ENV 64
#define MAX_TAGS 32

struct quick {
    uint64_t connections;
    bool connections_set;
    double rate;
    bool open;
    uint64_t duration_ns;
    bool duration_set;
    uint64_t requests;
    uint64_t threads;
    uint64_t max_vus;
    uint64_t max_queue_ns;
    uint64_t pipeline;
    const char *method;
    const char *headers[MAX_HEADERS];
    size_t n_headers;
    char *body;
    size_t body_len;
    bool body_owned;
    uint64_t timeout_ns, connect_timeout_ns, grace_ns;
    struct stage stages[MAX_STAGES];
    size_t n_stages;
    struct threshold thresholds[MAX_THRESHOLDS];
    size_t n_thresholds;
    const char *threshold_args[MAX_THRESHOLDS];
    size_t n_threshold_args;
    const char *export_path;
    struct cli_outputs outs;
    bool quiet, no_summary, check_only;
    const char *url;
    /* which flags were given: a scenario file takes its load and requests from the file */
    char model_flag[32], request_flag[32];
    bool threads_set, timeout_set, connect_timeout_set, grace_set;
    /* watching the system under test and the success criteria (cli/watch.c) */
    struct cli_watch watch;
    bool no_watch_machine;
    struct criterion criteria[CRITERIA_MAX];
    size_t n_criteria;
    /* k6's habits for scenario files: -e KEY=VALUE, --vus, --iterations (and -d),
     * --tag KEY=VALUE. */
    const char *env[MAX_ENV];
    size_t n_env;
    const char *tags[MAX_TAGS];
    size_t n_tags;
    uint64_t vus, iterations;
    bool vus_set, iterations_set;
    char file_flag[32]; /* the first of -e, --vus, --iterations given (file-only flags) */
    /* https: --insecure, --cacert, --cert, --key (they override a file's options:) */
    bool insecure;
    const char *cacert, *cert, *key;
    /* HTTP/2: --http2 (both modes), --streams N (quick mode) */
    bool http2;
    uint64_t streams;
    /* the database and the cache (cli/dbprobe.c) */
    struct cli_db db;
    struct probe db_probes[2];
    size_t n_db;
};

/* Sets q to brunt run's defaults (the ones run_usage() states): -c 10, -d 10s, GET,
 * --timeout 30s, --connect-timeout 10s, --grace 5s, --max-queue 10s, --pipeline 1. */
void run__quick_init(struct quick *q);

/*
 * Parses argv into q (run__quick_init's defaults first) and checks every flag and their
 * combinations, except --threshold (run__parse_threshold_flags) and --ready without
 * --spawn (run__check_ready).  Returns 0, -1 after printing --help on stdout, or an exit
 * code (EXIT_USAGE) after one line on stderr.
 */
int run__parse_flags(struct quick *q, int argc, char **argv);

/* Parses the --threshold flags (after the scenario file, whose metrics they may name).
 * 0 or EXIT_USAGE. */
int run__parse_threshold_flags(struct quick *q);

/* --ready needs --spawn: 0, or EXIT_USAGE with one line on stderr. */
int run__check_ready(const struct quick *q);

/* A scenario file is named *.yaml / *.yml, or is an existing file; a URL has a scheme. */
bool run__is_scenario_file(const char *arg);

/* The TLS flags into plan (over what a scenario file set).  0, or -1 out of memory. */
int run__quick_tls(const struct quick *q, struct plan *plan);

/* Builds the one-scenario plan of quick mode into *out (plan_free it).  0, or an exit
 * code after one line on stderr (*unreachable set when the host did not resolve). */
int run__quick_plan(struct quick *q, struct plan **out, bool *unreachable);

/* The watch options from the flags: the machine is watched unless --no-watch-machine.
 * Hands q's database probes to the watch (its probe set owns them from then on). */
const struct cli_watch *run__quick_watch(struct quick *q);

/*
 * `brunt run FILE`: loads the scenario file (exit 104 when it is invalid), applies the
 * flags that override its options, adds --threshold flags to its thresholds, and runs.
 * argv is the command line as the result shows it.  Returns the exit code.
 */
int run__scenario_file(struct quick *q, int argc, char **argv);

#endif
