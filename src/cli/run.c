/*
 * run — `brunt run`: quick mode (one URL, wrk/wrk2-style flags) into a plan, the run
 * itself, and what follows it: summary, result file, exit code.
 *
 * Every flag is checked before anything starts; a bad one gets one line on stderr
 * ("brunt run: <what>: <expected>") and exit 2.  The target is probed once before the
 * load so an unreachable one is a clear exit 3, not a run full of errors.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "engine/run.h"
#include "metrics/criteria.h"
#include "metrics/threshold.h"
#include "output/progress.h"
#include "output/result.h"
#include "output/summary.h"
#include "probe/probe.h"
#include "probe/profile.h"
#include "scenario/load.h"

#define MAX_HEADERS 64
#define MAX_THRESHOLDS 64
#define MAX_STAGES 64
#define MAX_BODY_FILE (64u * 1024 * 1024)

static void run_usage(FILE *f)
{
    fprintf(f, "usage: brunt run [flags] URL\n"
               "       brunt run [flags] SCENARIO.yaml   (docs/scenarios.md)\n"
               "\n"
               "load model:\n"
               "  -c, --connections N    closed model: N virtual users, one keep-alive\n"
               "                         connection each (default 10); open model: VUs made\n"
               "                         before the start\n"
               "  -R, --rate R           open model: R requests/s in total, latency measured\n"
               "                         from each request's intended start\n"
               "  -s, --stage D:T        ramp (repeatable): to T VUs (closed) or T req/s\n"
               "                         (open) over D\n"
               "  -d, --duration D       length of the test (default 10s): 30s, 1m30s, 500ms\n"
               "  -n, --requests N       closed model: exactly N requests, then stop\n"
               "  -t, --threads N        worker threads (default: cores)\n"
               "      --max-vus N        open model: most VUs (default: max(-c, 1000))\n"
               "      --max-queue D      open model: drop an iteration that waited D for a\n"
               "                         VU (default 10s)\n"
               "      --pipeline N       requests in flight per connection (default 1)\n"
               "request:\n"
               "  -m, --method M         (default GET)\n"
               "  -H, --header 'K: V'    repeatable\n"
               "  -b, --body S           request body\n"
               "      --body-file F      request body from a file\n"
               "      --timeout D        request timeout (default 30s)\n"
               "      --connect-timeout D  (default 10s)\n"
               "verdict and output:\n"
               "      --threshold 'METRIC[{tag:value}]:EXPR[,abortOnFail][,delayAbortEval=D]'\n"
               "                         k6 syntax, repeatable: 'http_req_duration:p(95)<300'\n"
               "      --criterion 'METRIC:AGG TARGET[,ACCEPTABLE]'\n"
               "                         success criterion, repeatable: 'process_cpu:avg<70,<80'\n"
               "                         (a row that meets neither level exits 99)\n"
               "      --grace D          on stop, wait D for requests in flight (default 5s)\n"
               "      --export FILE      write the result JSON (docs/result-format.md)\n"
               "  -q, --quiet            no live progress\n"
               "      --no-summary       no end-of-test summary\n"
               "      --check            scenario files: validate only, run nothing\n"
               "\n"
               "watching the system under test:\n"
               "      --watch PID|NAME   watch a process tree (repeatable); NAME as pgrep -x\n"
               "      --spawn CMD        start the target (sh -c CMD), watch it, stop it after\n"
               "      --ready URL|PORT   --spawn is up when URL answers (< 500) or PORT listens\n"
               "      --ready-timeout D  most time to wait for --ready (default 30s)\n"
               "      --spawn-log FILE   the target's stdout+stderr (default: a temp file)\n"
               "      --watch-interval D sampling interval, 100ms-60s (default 1s)\n"
               "      --no-watch-machine do not watch the machine and brunt's own CPU\n"
               "\n"
               "profiling (docs/profile.md):\n"
               "      --profile          sample where the watched processes spend their CPU\n"
               "                         (perf_event_open); top functions, flame graph\n"
               "      --pprof URL        a Go service's net/http/pprof (http://host:port):\n"
               "                         its CPU profile, heap before and after\n"
               "      --profile-window FROM-TO  when, from the start (default: the steady\n"
               "                         phase), e.g. 10s-40s; TO left out: until the end\n"
               "      --profile-freq HZ  samples per second per thread (default 99)\n"
               "      --profile-user-only  no kernel frames\n"
               "      --pprof-no-heap    no heap profiles\n"
               "\n"
               "exit codes: 0 ok, 2 bad input, 3 target unreachable, 4 --watch matches no\n"
               "process, 5 --spawn never ready, 99 thresholds or criteria failed,\n"
               "104 invalid scenario file, 105 interrupted, 108 aborted by the scenario,\n"
               "1 internal error\n");
}

enum {
    OPT_MAX_VUS = 256,
    OPT_MAX_QUEUE,
    OPT_PIPELINE,
    OPT_BODY_FILE,
    OPT_TIMEOUT,
    OPT_CONNECT_TIMEOUT,
    OPT_THRESHOLD,
    OPT_GRACE,
    OPT_EXPORT,
    OPT_NO_SUMMARY,
    OPT_CHECK,
    OPT_WATCH,
    OPT_SPAWN,
    OPT_READY,
    OPT_READY_TIMEOUT,
    OPT_SPAWN_LOG,
    OPT_WATCH_INTERVAL,
    OPT_NO_WATCH_MACHINE,
    OPT_CRITERION,
    OPT_PROFILE,
    OPT_PPROF,
    OPT_PROFILE_WINDOW,
    OPT_PROFILE_FREQ,
    OPT_PROFILE_USER_ONLY,
    OPT_PPROF_NO_HEAP,
};

static const struct option run_options[] = {
    {"connections", required_argument, NULL, 'c'},
    {"rate", required_argument, NULL, 'R'},
    {"stage", required_argument, NULL, 's'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"threads", required_argument, NULL, 't'},
    {"max-vus", required_argument, NULL, OPT_MAX_VUS},
    {"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"method", required_argument, NULL, 'm'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, 'b'},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"export", required_argument, NULL, OPT_EXPORT},
    {"quiet", no_argument, NULL, 'q'},
    {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
    {"check", no_argument, NULL, OPT_CHECK},
    {"watch", required_argument, NULL, OPT_WATCH},
    {"spawn", required_argument, NULL, OPT_SPAWN},
    {"ready", required_argument, NULL, OPT_READY},
    {"ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT},
    {"spawn-log", required_argument, NULL, OPT_SPAWN_LOG},
    {"watch-interval", required_argument, NULL, OPT_WATCH_INTERVAL},
    {"no-watch-machine", no_argument, NULL, OPT_NO_WATCH_MACHINE},
    {"criterion", required_argument, NULL, OPT_CRITERION},
    {"profile", no_argument, NULL, OPT_PROFILE},
    {"pprof", required_argument, NULL, OPT_PPROF},
    {"profile-window", required_argument, NULL, OPT_PROFILE_WINDOW},
    {"profile-freq", required_argument, NULL, OPT_PROFILE_FREQ},
    {"profile-user-only", no_argument, NULL, OPT_PROFILE_USER_ONLY},
    {"pprof-no-heap", no_argument, NULL, OPT_PPROF_NO_HEAP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

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
    const char *export_path;
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
};

static int bad(const char *what, const char *value, const char *expected)
{
    fprintf(stderr, "brunt run: bad %s '%s': expected %s\n", what, value, expected);
    return EXIT_USAGE;
}

static int read_body_file(struct quick *q, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "brunt run: cannot read --body-file '%s': %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf != NULL) {
        if (len == cap) {
            if (cap >= MAX_BODY_FILE) {
                fprintf(stderr, "brunt run: --body-file '%s' is larger than %u bytes\n", path,
                        MAX_BODY_FILE);
                rc = EXIT_USAGE;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (buf == NULL) {
        fprintf(stderr, "brunt run: out of memory reading '%s'\n", path);
        rc = EXIT_INTERNAL;
    } else if (ferror(f)) {
        fprintf(stderr, "brunt run: cannot read --body-file '%s': %s\n", path, strerror(errno));
        rc = EXIT_USAGE;
    }
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    if (q->body_owned) {
        free(q->body);
    }
    q->body = buf;
    q->body_len = len;
    q->body_owned = true;
    return 0;
}

static int parse_stage(struct quick *q, const char *arg)
{
    char dur[64];
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || (size_t)(colon - arg) >= sizeof dur) {
        return bad("stage", arg, "DURATION:TARGET such as 30s:100");
    }
    memcpy(dur, arg, (size_t)(colon - arg));
    dur[colon - arg] = '\0';
    struct stage *s = &q->stages[q->n_stages];
    if (q->n_stages == MAX_STAGES) {
        return bad("stage", arg, "at most 64 stages");
    }
    if (parse_duration_ns(dur, &s->duration_ns) < 0 || s->duration_ns == 0) {
        return bad("stage duration", dur, "a duration such as 30s or 1m");
    }
    if (parse_double(colon + 1, &s->target) < 0 || s->target < 0 || s->target > 1e9) {
        return bad("stage target", colon + 1, "a number >= 0");
    }
    q->n_stages++;
    return 0;
}

static int parse_count(const char *flag, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (parse_u64(arg, out) < 0 || *out < lo || *out > hi) {
        char expected[96];
        snprintf(expected, sizeof expected, "a whole number from %llu to %llu",
                 (unsigned long long)lo, (unsigned long long)hi);
        return bad(flag, arg, expected);
    }
    return 0;
}

static int parse_dur(const char *flag, const char *arg, bool allow_zero, uint64_t *out)
{
    if (parse_duration_ns(arg, out) < 0 || (!allow_zero && *out == 0)) {
        return bad(flag, arg,
                   allow_zero ? "a duration such as 10s, 1m30s or 500ms"
                              : "a positive duration such as 10s, 1m30s or 500ms");
    }
    return 0;
}

/* The flag's name as a user types it ("-c", "--max-vus"), from its getopt value. */
static void flag_name(int c, char *out, size_t cap)
{
    for (const struct option *o = run_options; o->name != NULL; o++) {
        if (o->val == c) {
            if (c < 256) {
                snprintf(out, cap, "-%c", c);
            } else {
                snprintf(out, cap, "--%s", o->name);
            }
            return;
        }
    }
    snprintf(out, cap, "?");
}

/* A scenario file is named *.yaml / *.yml, or is an existing file; a URL has a scheme. */
static bool is_scenario_file(const char *arg)
{
    if (strstr(arg, "://") != NULL) {
        return false;
    }
    size_t n = strlen(arg);
    if ((n > 5 && strcmp(arg + n - 5, ".yaml") == 0) ||
        (n > 4 && strcmp(arg + n - 4, ".yml") == 0)) {
        return true;
    }
    return access(arg, R_OK) == 0;
}

static int parse_flags(struct quick *q, int argc, char **argv)
{
    int c, rc = 0;
    char err[512];
    optind = 1;
    opterr = 0;
    while (rc == 0 &&
           (c = getopt_long(argc, argv, ":c:R:s:d:n:t:m:H:b:qh", run_options, NULL)) != -1) {
        switch (c) {
        case 'c':
        case 'R':
        case 's':
        case 'd':
        case 'n':
        case OPT_MAX_VUS:
        case OPT_MAX_QUEUE:
        case OPT_PIPELINE:
            flag_name(c, q->model_flag, sizeof q->model_flag);
            break;
        case 'm':
        case 'H':
        case 'b':
        case OPT_BODY_FILE:
            flag_name(c, q->request_flag, sizeof q->request_flag);
            break;
        case 't':
            q->threads_set = true;
            break;
        case OPT_TIMEOUT:
            q->timeout_set = true;
            break;
        case OPT_CONNECT_TIMEOUT:
            q->connect_timeout_set = true;
            break;
        case OPT_GRACE:
            q->grace_set = true;
            break;
        default:
            break;
        }
        switch (c) {
        case 'c':
            rc = parse_count("connections (-c)", optarg, 1, 1000000, &q->connections);
            q->connections_set = true;
            break;
        case 'R':
            if (parse_double(optarg, &q->rate) < 0 || q->rate < 0 || q->rate > 1e8) {
                rc = bad("rate (-R)", optarg, "requests per second, a number > 0");
            }
            q->open = true;
            break;
        case 's':
            rc = parse_stage(q, optarg);
            break;
        case 'd':
            rc = parse_dur("duration (-d)", optarg, false, &q->duration_ns);
            q->duration_set = true;
            break;
        case 'n':
            rc = parse_count("requests (-n)", optarg, 1, UINT64_MAX / 2, &q->requests);
            break;
        case 't':
            rc = parse_count("threads (-t)", optarg, 1, 256, &q->threads);
            break;
        case OPT_MAX_VUS:
            rc = parse_count("--max-vus", optarg, 1, 1000000, &q->max_vus);
            break;
        case OPT_MAX_QUEUE:
            rc = parse_dur("--max-queue", optarg, true, &q->max_queue_ns);
            break;
        case OPT_PIPELINE:
            rc = parse_count("--pipeline", optarg, 1, 1024, &q->pipeline);
            break;
        case 'm':
            q->method = optarg;
            break;
        case 'H':
            if (q->n_headers == MAX_HEADERS) {
                rc = bad("header", optarg, "at most 64 headers");
            } else {
                q->headers[q->n_headers++] = optarg;
            }
            break;
        case 'b':
            if (q->body_owned) {
                free(q->body);
                q->body_owned = false;
            }
            q->body = optarg;
            q->body_len = strlen(optarg);
            break;
        case OPT_BODY_FILE:
            rc = read_body_file(q, optarg);
            break;
        case OPT_TIMEOUT:
            rc = parse_dur("--timeout", optarg, false, &q->timeout_ns);
            break;
        case OPT_CONNECT_TIMEOUT:
            rc = parse_dur("--connect-timeout", optarg, false, &q->connect_timeout_ns);
            break;
        case OPT_GRACE:
            rc = parse_dur("--grace", optarg, true, &q->grace_ns);
            break;
        case OPT_THRESHOLD:
            if (q->n_thresholds == MAX_THRESHOLDS) {
                rc = bad("threshold", optarg, "at most 64 thresholds");
            } else if (threshold_parse_flag(optarg, &q->thresholds[q->n_thresholds], err,
                                            sizeof err) < 0) {
                fprintf(stderr, "brunt run: bad threshold: %s\n", err);
                rc = EXIT_USAGE;
            } else {
                q->n_thresholds++;
            }
            break;
        case OPT_WATCH:
            if (q->watch.n_watch == sizeof q->watch.watch / sizeof q->watch.watch[0]) {
                rc = bad("--watch", optarg, "at most 16 watched targets");
            } else if (optarg[0] == '\0') {
                rc = bad("--watch", optarg, "a PID or a process name");
            } else {
                q->watch.watch[q->watch.n_watch++] = optarg;
            }
            break;
        case OPT_SPAWN:
            if (q->watch.spawn != NULL) {
                rc = bad("--spawn", optarg, "one --spawn command (watch more with --watch)");
            } else if (optarg[0] == '\0') {
                rc = bad("--spawn", optarg, "a command to start, as in 'gunicorn app:app'");
            } else {
                q->watch.spawn = optarg;
            }
            break;
        case OPT_READY:
            q->watch.ready = optarg;
            break;
        case OPT_SPAWN_LOG:
            q->watch.spawn_log = optarg;
            break;
        case OPT_READY_TIMEOUT:
            rc = parse_dur("--ready-timeout", optarg, false, &q->watch.ready_timeout_ns);
            break;
        case OPT_WATCH_INTERVAL:
            rc = parse_dur("--watch-interval", optarg, false, &q->watch.interval_ns);
            if (rc == 0 && (q->watch.interval_ns < PROBE_INTERVAL_MIN_NS ||
                            q->watch.interval_ns > PROBE_INTERVAL_MAX_NS)) {
                rc = bad("--watch-interval", optarg, "a duration from 100ms to 60s");
            }
            break;
        case OPT_NO_WATCH_MACHINE:
            q->no_watch_machine = true;
            break;
        case OPT_PROFILE:
            q->watch.profile.on = true;
            break;
        case OPT_PPROF:
            q->watch.profile.pprof = optarg;
            break;
        case OPT_PROFILE_WINDOW:
            rc = cli_profile_window_flag(optarg, &q->watch.profile);
            break;
        case OPT_PROFILE_FREQ: {
            uint64_t hz = 0;
            rc = parse_count("--profile-freq", optarg, 1, PROFILE_MAX_HZ, &hz);
            q->watch.profile.freq_hz = (unsigned)hz;
            break;
        }
        case OPT_PROFILE_USER_ONLY:
            q->watch.profile.user_only = true;
            break;
        case OPT_PPROF_NO_HEAP:
            q->watch.profile.no_heap = true;
            break;
        case OPT_CRITERION:
            if (q->n_criteria == CRITERIA_MAX) {
                rc = bad("--criterion", optarg, "at most 64 criteria");
            } else if (criterion_parse_flag(optarg, &q->criteria[q->n_criteria], err, sizeof err) <
                       0) {
                fprintf(stderr, "brunt run: bad criterion: %s\n", err);
                rc = EXIT_USAGE;
            } else {
                q->n_criteria++;
            }
            break;
        case OPT_EXPORT:
            q->export_path = optarg;
            break;
        case 'q':
            q->quiet = true;
            break;
        case OPT_NO_SUMMARY:
            q->no_summary = true;
            break;
        case OPT_CHECK:
            q->check_only = true;
            break;
        case 'h':
            run_usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "brunt run: flag '%s' needs a value (see brunt run --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt run: unknown flag '%s' (see brunt run --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "brunt run: no URL given: expected brunt run [flags] URL\n");
        return EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "brunt run: unexpected argument '%s' after the URL '%s'\n",
                argv[optind + 1], argv[optind]);
        return EXIT_USAGE;
    }
    q->url = argv[optind];
    if (strstr(q->url, "://") == NULL && !is_scenario_file(q->url)) {
        fprintf(stderr,
                "brunt run: '%s' is neither a URL (expected http://host[:port]/path) nor a "
                "scenario file (expected FILE.yaml)\n",
                q->url);
        return EXIT_USAGE;
    }
    if (is_scenario_file(q->url)) {
        if (q->model_flag[0] != '\0' || q->request_flag[0] != '\0') {
            fprintf(stderr,
                    "brunt run: flag '%s' is for quick mode (a URL); a scenario file sets "
                    "its load and requests itself (docs/scenarios.md)\n",
                    q->model_flag[0] ? q->model_flag : q->request_flag);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (q->check_only) {
        fprintf(stderr, "brunt run: --check validates scenario files, and '%s' is a URL\n", q->url);
        return EXIT_USAGE;
    }
    if (q->open && q->rate <= 0 && q->n_stages == 0) {
        return bad("rate (-R)", "0", "a rate > 0 (or stages with -s)");
    }
    if (q->open && q->requests > 0) {
        fprintf(stderr, "brunt run: -n counts requests of the closed model: use -d with -R\n");
        return EXIT_USAGE;
    }
    if (q->open && q->pipeline > 1) {
        fprintf(stderr, "brunt run: --pipeline works with the closed model only (-c)\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; !q->open && i < q->n_stages; i++) {
        if (q->stages[i].target > 1000000) {
            return bad("stage target", "(too many VUs)", "at most 1000000 VUs in a stage");
        }
    }
    if (q->requests > 0 && q->n_stages > 0) {
        fprintf(stderr, "brunt run: -n and -s do not go together: pick a request count or "
                        "stages\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Builds the one-scenario plan of quick mode. */
static int quick_plan(struct quick *q, struct plan **out, bool *unreachable)
{
    char err[1024];
    struct plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL) {
        return EXIT_INTERNAL;
    }
    plan->scenarios = calloc(1, sizeof *plan->scenarios);
    if (plan->scenarios == NULL) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    plan->n_scenarios = 1;
    struct scenario_plan *sc = &plan->scenarios[0];
    sc->name = strdup("default");
    sc->steps = calloc(1, sizeof *sc->steps);
    if (sc->name == NULL || sc->steps == NULL) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    struct request_def def = {
        .method = q->method,
        .url = q->url,
        .headers = q->headers,
        .n_headers = q->n_headers,
        .body = q->body,
        .body_len = q->body_len,
        .pipeline = (unsigned)q->pipeline,
    };
    if (plan_request_step(plan, &sc->steps[0], &def, unreachable, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        plan_free(plan);
        return *unreachable ? EXIT_UNREACHABLE : EXIT_USAGE;
    }
    sc->n_steps = 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->threads = q->threads ? (int)q->threads : (int)(cores > 0 ? cores : 1);
    plan->timeout_ns = q->timeout_ns;
    plan->connect_timeout_ns = q->connect_timeout_ns;
    plan->grace_ns = q->grace_ns;
    sc->graceful_stop_ns = q->grace_ns;
    sc->graceful_ramp_down_ns = q->grace_ns;
    sc->pipeline = (uint32_t)q->pipeline;
    sc->duration_ns = q->duration_ns;
    sc->time_unit_ns = NS_PER_S;
    if (q->n_stages > 0) {
        sc->stages = calloc(q->n_stages, sizeof *sc->stages);
        if (sc->stages == NULL) {
            plan_free(plan);
            return EXIT_INTERNAL;
        }
        memcpy(sc->stages, q->stages, q->n_stages * sizeof *sc->stages);
        sc->n_stages = q->n_stages;
    }
    if (q->open) {
        sc->executor = q->n_stages ? EXEC_RAMPING_ARRIVAL_RATE : EXEC_CONSTANT_ARRIVAL_RATE;
        sc->rate = q->rate;
        sc->start_rate = q->rate;
        sc->pre_allocated_vus = (uint32_t)q->connections;
        sc->max_vus =
            (uint32_t)(q->max_vus ? q->max_vus : (q->connections > 1000 ? q->connections : 1000));
        if (sc->max_vus < sc->pre_allocated_vus) {
            sc->pre_allocated_vus = sc->max_vus;
        }
        sc->max_queue_ns = q->max_queue_ns;
    } else if (q->n_stages > 0) {
        sc->executor = EXEC_RAMPING_VUS;
        sc->vus = 0;
    } else if (q->requests > 0) {
        sc->executor = EXEC_SHARED_ITERATIONS;
        sc->vus = (uint32_t)q->connections;
        sc->iterations = q->requests;
        if (!q->duration_set) {
            sc->duration_ns = 10 * 60 * NS_PER_S; /* k6's default maxDuration */
        }
        if ((uint64_t)sc->vus > q->requests) {
            sc->vus = (uint32_t)q->requests;
        }
    } else {
        sc->executor = EXEC_CONSTANT_VUS;
        sc->vus = (uint32_t)q->connections;
    }
    plan_fit_threads(plan); /* more threads than VUs would leave threads idle */
    *out = plan;
    return 0;
}

int cli_execute(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                const char *export_path, bool quiet, bool no_summary, int argc, char **argv)
{
    return cli_execute_watched(plan, thresholds, n_thresholds, NULL, export_path, quiet, no_summary,
                               argc, argv);
}

/* The watch options from the flags: the machine is watched unless --no-watch-machine. */
static const struct cli_watch *quick_watch(struct quick *q)
{
    q->watch.machine = !q->no_watch_machine;
    q->watch.criteria = q->criteria;
    q->watch.n_criteria = q->n_criteria;
    return &q->watch;
}

/*
 * `brunt run FILE`: loads the scenario file (exit 104 when it is invalid), applies the
 * flags that override its options, adds --threshold flags to its thresholds, and runs.
 */
static int run_scenario_file(struct quick *q, int argc, char **argv)
{
    char err[1024];
    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t n_th = 0;
    struct scenario_file_opts fo = {0};
    struct criterion *all_crit = NULL;
    size_t n_all_crit = 0;
    int code;
    if (scenario_load(q->url, &plan, &th, &n_th, &fo, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        return fo.unreachable ? EXIT_UNREACHABLE : SCENARIO_EXIT_INVALID;
    }
    if (q->check_only) {
        size_t steps = 0;
        for (size_t i = 0; i < plan->n_scenarios; i++) {
            steps += plan->scenarios[i].n_steps;
        }
        printf("%s: ok: %zu scenario%s, %zu step%s, %zu threshold%s\n", q->url, plan->n_scenarios,
               plan->n_scenarios == 1 ? "" : "s", steps, steps == 1 ? "" : "s",
               n_th + q->n_thresholds, n_th + q->n_thresholds == 1 ? "" : "s");
        code = EXIT_OK;
        goto out;
    }
    if (q->threads_set) {
        plan->threads = (int)q->threads;
    }
    if (q->timeout_set) {
        plan->timeout_ns = q->timeout_ns;
    }
    if (q->connect_timeout_set) {
        plan->connect_timeout_ns = q->connect_timeout_ns;
    }
    if (q->grace_set) {
        plan->grace_ns = q->grace_ns;
    }
    /* The file's thresholds, then the flags' (moved, so they are freed once). */
    struct threshold *all = calloc(n_th + q->n_thresholds + 1, sizeof *all);
    if (all == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    if (n_th > 0) {
        memcpy(all, th, n_th * sizeof *all);
    }
    if (q->n_thresholds > 0) {
        memcpy(all + n_th, q->thresholds, q->n_thresholds * sizeof *all);
    }
    free(th);
    th = all;
    n_th += q->n_thresholds;
    q->n_thresholds = 0;
    cli_raise_nofile();
    /* watch: and criteria: from the file, then the flags (which win where both set). */
    struct cli_watch *w = &q->watch;
    const char *flag_watch[16];
    size_t n_flag_watch = w->n_watch;
    memcpy(flag_watch, w->watch, sizeof flag_watch);
    w->n_watch = 0;
    for (size_t i = 0; i < fo.n_watch && w->n_watch < 16; i++) {
        w->watch[w->n_watch++] = fo.watch[i];
    }
    for (size_t i = 0; i < n_flag_watch; i++) {
        if (w->n_watch == 16) {
            fprintf(stderr, "brunt run: too many watched processes with the file's (at most "
                            "16)\n");
            code = EXIT_USAGE;
            goto out;
        }
        w->watch[w->n_watch++] = flag_watch[i];
    }
    if (w->spawn == NULL && fo.spawn != NULL) {
        w->spawn = fo.spawn;
        w->ready = fo.spawn_ready;
        w->spawn_log = w->spawn_log != NULL ? w->spawn_log : fo.spawn_log;
        if (w->ready_timeout_ns == 0 && fo.has_ready_timeout) {
            w->ready_timeout_ns = fo.ready_timeout_ns;
        }
    }
    if (w->interval_ns == 0 && fo.has_watch_interval) {
        w->interval_ns = fo.watch_interval_ns;
    }
    if (!q->no_watch_machine && fo.has_watch_machine && !fo.watch_machine) {
        q->no_watch_machine = true;
    }
    /* The rows move into one array (file first), freed once below. */
    all_crit = calloc(fo.n_criteria + q->n_criteria + 1, sizeof *all_crit);
    if (all_crit == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    if (fo.n_criteria > 0) {
        memcpy(all_crit, fo.criteria, fo.n_criteria * sizeof *all_crit);
    }
    if (q->n_criteria > 0) {
        memcpy(all_crit + fo.n_criteria, q->criteria, q->n_criteria * sizeof *all_crit);
    }
    n_all_crit = fo.n_criteria + q->n_criteria;
    free(fo.criteria);
    fo.criteria = NULL;
    fo.n_criteria = 0;
    q->n_criteria = 0;
    quick_watch(q);
    w->criteria = all_crit;
    w->n_criteria = n_all_crit;
    code =
        cli_execute_watched(plan, th, n_th, w, q->export_path, q->quiet, q->no_summary, argc, argv);
out:
    for (size_t i = 0; i < n_all_crit; i++) {
        criterion_destroy(&all_crit[i]);
    }
    free(all_crit);
    scenario_file_opts_destroy(&fo);
    for (size_t i = 0; i < n_th; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(plan);
    return code;
}

int cli_run(int argc, char **argv)
{
    struct quick q = {
        .connections = 10,
        .duration_ns = 10 * NS_PER_S,
        .max_queue_ns = 10 * NS_PER_S,
        .pipeline = 1,
        .method = "GET",
        .timeout_ns = 30 * NS_PER_S,
        .connect_timeout_ns = 10 * NS_PER_S,
        .grace_ns = 5 * NS_PER_S,
    };
    struct plan *plan = NULL;
    /* Probe metrics exist before any threshold or criterion names one. */
    if (probe_define_metrics() < 0) {
        fprintf(stderr, "brunt run: cannot define the watchers' metrics\n");
        return EXIT_INTERNAL;
    }
    int code = parse_flags(&q, argc, argv);
    if (code != 0) {
        code = code < 0 ? EXIT_OK : code;
        goto out;
    }
    if (q.watch.ready != NULL && q.watch.spawn == NULL) {
        code = bad("--ready", q.watch.ready, "--spawn CMD with it (--ready says when CMD is up)");
        goto out;
    }
    if (is_scenario_file(q.url)) {
        code = run_scenario_file(&q, argc, argv);
        goto out;
    }
    bool unreachable = false;
    code = quick_plan(&q, &plan, &unreachable);
    if (code != 0) {
        goto out;
    }
    cli_raise_nofile();
    code = cli_execute_watched(plan, q.thresholds, q.n_thresholds, quick_watch(&q), q.export_path,
                               q.quiet, q.no_summary, argc, argv);
out:
    plan_free(plan);
    for (size_t i = 0; i < q.n_thresholds; i++) {
        threshold_destroy(&q.thresholds[i]);
    }
    for (size_t i = 0; i < q.n_criteria; i++) {
        criterion_destroy(&q.criteria[i]);
    }
    if (q.body_owned) {
        free(q.body);
    }
    return code;
}
