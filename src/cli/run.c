/*
 * run — `brunt run`: quick mode (one URL, wrk/wrk2-style flags) into a plan, the run
 * itself, and what follows it: summary, result file, exit code.
 *
 * Every flag is checked before anything starts; a bad one gets one line on stderr
 * ("brunt run: <what>: <expected>") and exit 2.  The target is probed once before the
 * load so an unreachable one is a clear exit 3, not a run full of errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dbprobe.h"
#include "core/clock.h"
#include "core/parse.h"
#include "engine/run.h"
#include "metrics/criteria.h"
#include "metrics/threshold.h"
#include "output/progress.h"
#include "output/prom.h"
#include "output/result.h"
#include "output/summary.h"
#include "probe/probe.h"
#include "probe/profile.h"
#include "scenario/custom.h"
#include "scenario/load.h"

#define MAX_HEADERS 64
#define MAX_THRESHOLDS 64
#define MAX_STAGES 64
#define MAX_BODY_FILE (64u * 1024 * 1024)
#define MAX_ENV 64
#define MAX_TAGS 32

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
               "      --streams N        HTTP/2 (--http2): concurrent streams per connection\n"
               "                         (default 1)\n"
               "scenario files (k6's flags):\n"
               "  -e, --env KEY=VALUE    sets ${KEY} for the file (repeatable)\n"
               "  -u, --vus N            VUs of the file's one scenario\n"
               "  -d, --duration D       the one scenario becomes constant-vus for D\n"
               "  -i, --iterations N     the one scenario becomes shared-iterations of N\n"
               "      --tag NAME=VALUE   a run-wide tag, recorded in the result (repeatable)\n"
               "      --max-redirects N  redirects a request follows (k6's maxRedirects,\n"
               "                         default 10; quick mode follows none and refuses it)\n"
               "      --http-debug[=full] print requests and responses to stderr (heads;\n"
               "                         full: bodies too, the first 2 KiB of each)\n"
               "  -                      read the scenario file from standard input\n"
               "request:\n"
               "  -m, --method M         (default GET)\n"
               "  -H, --header 'K: V'    repeatable\n"
               "  -b, --body S           request body\n"
               "      --body-file F      request body from a file\n"
               "      --timeout D        request timeout (default 30s)\n"
               "      --connect-timeout D  (default 10s)\n"
               "https (also a file's options:):\n"
               "      --insecure         do not verify the server's certificate\n"
               "      --cacert FILE      trust the CA certificates in FILE (PEM) instead of\n"
               "                         the system store\n"
               "      --cert FILE        client certificate (PEM), with --key FILE\n"
               "      --key FILE         the client certificate's private key (PEM)\n"
               "HTTP/2 (also a file's options.http2):\n"
               "      --http2            HTTP/2: h2 by ALPN over https:// (HTTP/1.1 if the\n"
               "                         server declines), h2c with prior knowledge over http://\n"
               "verdict and output:\n"
               "      --threshold 'METRIC[{tag:value}]:EXPR[,abortOnFail][,delayAbortEval=D]'\n"
               "                         k6 syntax, repeatable: 'http_req_duration:p(95)<300'\n"
               "      --criterion 'METRIC:AGG TARGET[,ACCEPTABLE]'\n"
               "                         success criterion, repeatable: 'process_cpu:avg<70,<80'\n"
               "                         (a row that meets neither level exits 99)\n"
               "      --grace D          on stop, wait D for requests in flight (default 5s)\n"
               "      --export FILE      write the result JSON (docs/result-format.md)\n"
               "      --report FILE      write a report, by extension: .html, .md, .xml\n"
               "                         (JUnit), .csv (repeatable; docs/report.md)\n"
               "      --prometheus ADDR  serve live metrics at http://ADDR/metrics\n"
               "                         (127.0.0.1:9464, [::1]:9464, :9464)\n"
               "      --prometheus-names brunt|k6  metric names (default brunt; k6: the\n"
               "                         names of k6's Prometheus output)\n"
               "      --prometheus-hold D  after the run, keep serving the final totals\n"
               "                         for D (so a last scrape sees them)\n"
               "      --history FILE.db  record the run in a history (brunt history, compare)\n"
               "      --tag KEY=VALUE    a tag of the run in the history (repeatable)\n"
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
               "      --steady-min D     shortest steady window for the leak and drift\n"
               "                         verdicts (default 1m; shorter: a short test)\n"
               "      --no-watch-machine do not watch the machine and brunt's own CPU\n"
               "      --postgres DSN     probe PostgreSQL (libpq URL or 'host=... dbname=...')\n"
               "      --redis URL        probe Redis: redis://[user:password@]host[:port][/db]\n"
               "      --explain-analyze  EXPLAIN ANALYZE the top queries after the load (runs\n"
               "                         them once more; writes are rolled back)\n"
               "      --postgres-settle D  most time to wait after the load for PostgreSQL's\n"
               "                         statistics to be flushed (1s-60s, default 11s)\n"
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
               "      --profile-unwind fp|dwarf  user call chains by frame pointers (default)\n"
               "                         or DWARF CFI (8 KiB of stack copied per sample)\n"
               "      --pprof-no-heap    no heap profiles\n"
               "\n"
               "exit codes: 0 ok, 2 bad input, 3 target unreachable, 5 a report could not be\n"
               "written, 6 --watch matches no process, 7 --spawn never ready, 99 thresholds\n"
               "or criteria failed, 104 invalid scenario file, 105 interrupted, 107 setup or\n"
               "teardown failed, 108 aborted by the scenario, 1 internal error\n");
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
    OPT_HISTORY,
    OPT_TAG,
    OPT_NO_SUMMARY,
    OPT_CHECK,
    OPT_WATCH,
    OPT_SPAWN,
    OPT_READY,
    OPT_READY_TIMEOUT,
    OPT_SPAWN_LOG,
    OPT_STEADY_MIN,
    OPT_WATCH_INTERVAL,
    OPT_NO_WATCH_MACHINE,
    OPT_CRITERION,
    OPT_REPORT,
    OPT_PROMETHEUS,
    OPT_PROMETHEUS_NAMES,
    OPT_PROMETHEUS_HOLD,
    OPT_INSECURE,
    OPT_MAX_REDIRECTS,
    OPT_HTTP_DEBUG,
    OPT_CACERT,
    OPT_CERT,
    OPT_KEY,
    OPT_POSTGRES,
    OPT_REDIS,
    OPT_EXPLAIN_ANALYZE,
    OPT_POSTGRES_SETTLE,
    OPT_HTTP2,
    OPT_STREAMS,
    OPT_PROFILE,
    OPT_PPROF,
    OPT_PROFILE_WINDOW,
    OPT_PROFILE_FREQ,
    OPT_PROFILE_USER_ONLY,
    OPT_PROFILE_UNWIND,
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
    {"history", required_argument, NULL, OPT_HISTORY},
    {"tag", required_argument, NULL, OPT_TAG},
    {"quiet", no_argument, NULL, 'q'},
    {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
    {"check", no_argument, NULL, OPT_CHECK},
    {"watch", required_argument, NULL, OPT_WATCH},
    {"spawn", required_argument, NULL, OPT_SPAWN},
    {"ready", required_argument, NULL, OPT_READY},
    {"ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT},
    {"spawn-log", required_argument, NULL, OPT_SPAWN_LOG},
    {"steady-min", required_argument, NULL, OPT_STEADY_MIN},
    {"watch-interval", required_argument, NULL, OPT_WATCH_INTERVAL},
    {"no-watch-machine", no_argument, NULL, OPT_NO_WATCH_MACHINE},
    {"criterion", required_argument, NULL, OPT_CRITERION},
    {"report", required_argument, NULL, OPT_REPORT},
    {"prometheus", required_argument, NULL, OPT_PROMETHEUS},
    {"prometheus-names", required_argument, NULL, OPT_PROMETHEUS_NAMES},
    {"prometheus-hold", required_argument, NULL, OPT_PROMETHEUS_HOLD},
    {"env", required_argument, NULL, 'e'},
    {"vus", required_argument, NULL, 'u'},
    {"iterations", required_argument, NULL, 'i'},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"max-redirects", required_argument, NULL, OPT_MAX_REDIRECTS},
    {"http-debug", optional_argument, NULL, OPT_HTTP_DEBUG},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"postgres", required_argument, NULL, OPT_POSTGRES},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"explain-analyze", no_argument, NULL, OPT_EXPLAIN_ANALYZE},
    {"postgres-settle", required_argument, NULL, OPT_POSTGRES_SETTLE},
    {"http2", no_argument, NULL, OPT_HTTP2},
    {"streams", required_argument, NULL, OPT_STREAMS},
    {"profile", no_argument, NULL, OPT_PROFILE},
    {"pprof", required_argument, NULL, OPT_PPROF},
    {"profile-window", required_argument, NULL, OPT_PROFILE_WINDOW},
    {"profile-freq", required_argument, NULL, OPT_PROFILE_FREQ},
    {"profile-user-only", no_argument, NULL, OPT_PROFILE_USER_ONLY},
    {"profile-unwind", required_argument, NULL, OPT_PROFILE_UNWIND},
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

/* The TLS flags into plan (over what a scenario file set).  0, or -1 out of memory. */
static int quick_tls(const struct quick *q, struct plan *plan)
{
    if (q->insecure) {
        plan->tls_insecure = true;
    }
    if (q->http2) {
        plan->http2 = true;
    }
    const char *src[3] = {q->cacert, q->cert, q->key};
    char **dst[3] = {&plan->tls_cacert, &plan->tls_cert, &plan->tls_key};
    for (size_t i = 0; i < 3; i++) {
        if (src[i] != NULL) {
            free(*dst[i]);
            if ((*dst[i] = strdup(src[i])) == NULL) {
                return -1;
            }
        }
    }
    return 0;
}

static int bad(const char *what, const char *value, const char *expected)
{
    /* The value as typed, but on one line: control bytes (a CR or LF in -H) become '?'. */
    char shown[256];
    size_t n = 0;
    for (const char *p = value; *p != '\0' && n + 4 < sizeof shown; p++) {
        unsigned char ch = (unsigned char)*p;
        shown[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (value[n] != '\0' && strlen(value) > n) {
        memcpy(shown + n, "...", 3);
        n += 3;
    }
    shown[n] = '\0';
    fprintf(stderr, "brunt run: bad %s '%s': expected %s\n", what, shown, expected);
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

/*
 * KEY=VALUE of -e (an environment name: letters, digits, _, not starting with a digit)
 * or --tag (a tag name: the same, and not one of brunt's own tags).  0 or EXIT_USAGE.
 */
static int parse_kv(const char *flag, const char *arg, const char **out, size_t *n, size_t max,
                    bool env)
{
    const char *eq = strchr(arg, '=');
    size_t kl = eq != NULL ? (size_t)(eq - arg) : 0;
    bool ok = kl > 0 && kl <= 64 && !(arg[0] >= '0' && arg[0] <= '9');
    for (size_t i = 0; ok && i < kl; i++) {
        char ch = arg[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
             (ch >= '0' && ch <= '9');
    }
    if (!ok) {
        char what[64];
        snprintf(what, sizeof what, "%s value", flag);
        return bad(what, arg,
                   env ? "KEY=VALUE with KEY of letters, digits and _ (not starting with a digit)"
                       : "NAME=VALUE with NAME of letters, digits and _ (not starting with a "
                         "digit)");
    }
    if (!env) {
        static const char *const own[] = {
            "scenario", "name",  "method", "status", "expected_response",
            "group",    "check", "kind",   "proto",  NULL};
        for (size_t i = 0; own[i] != NULL; i++) {
            if (strlen(own[i]) == kl && memcmp(own[i], arg, kl) == 0) {
                return bad("--tag name", arg, "a name that is not one of brunt's own tags");
            }
        }
    }
    if (*n == max) {
        char what[64];
        snprintf(what, sizeof what, "at most %zu %s values", max, flag);
        return bad(flag, arg, what);
    }
    out[(*n)++] = arg;
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

/* --http-debug's writer: one exchange's text in one write, so threads do not interleave
 * inside it. */
static void http_debug_write(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t k = write(STDERR_FILENO, text, len);
        if (k <= 0) {
            return;
        }
        text += k;
        len -= (size_t)k;
    }
}

/* A scenario file is named *.yaml / *.yml, or is an existing file; a URL has a scheme. */
static bool is_scenario_file(const char *arg)
{
    if (strcmp(arg, "-") == 0) {
        return true; /* standard input, as k6 run - */
    }
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
           (c = getopt_long(argc, argv, ":c:R:s:d:n:t:m:H:b:e:u:i:qh", run_options, NULL)) != -1) {
        switch (c) {
        case 'c':
        case 'R':
        case 's':
        case 'n':
        case OPT_MAX_VUS:
        case OPT_MAX_QUEUE:
        case OPT_PIPELINE:
        case OPT_STREAMS:
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
        case 'e':
        case 'u':
        case 'i':
        case OPT_HTTP_DEBUG:
        case OPT_MAX_REDIRECTS:
            if (q->file_flag[0] == '\0') {
                flag_name(c, q->file_flag, sizeof q->file_flag);
            }
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
                rc = bad("rate (-R)", optarg,
                         "requests per second, a number > 0 and at most 100000000");
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
            } else if (strpbrk(optarg, "\r\n") != NULL) {
                rc = bad("header (-H)", optarg, "one 'Name: value' line, without CR or LF");
            } else {
                q->headers[q->n_headers++] = optarg;
            }
            break;
        case 'b':
            if (q->body_owned) {
                rc = bad("body (-b)", optarg, "-b or --body-file, not both");
                break;
            }
            if (q->body != NULL) {
                rc = bad("body (-b)", optarg, "one -b (the last would replace the others)");
                break;
            }
            if (q->body_owned) {
                free(q->body);
                q->body_owned = false;
            }
            q->body = optarg;
            q->body_len = strlen(optarg);
            break;
        case OPT_BODY_FILE:
            if (q->body != NULL) {
                rc = bad("--body-file", optarg, "-b or --body-file, not both (nor twice)");
                break;
            }
            rc = read_body_file(q, optarg);
            break;
        case OPT_TIMEOUT:
            rc = parse_dur("--timeout", optarg, false, &q->timeout_ns);
            break;
        case OPT_CONNECT_TIMEOUT:
            rc = parse_dur("--connect-timeout", optarg, false, &q->connect_timeout_ns);
            break;
        case OPT_INSECURE:
            q->insecure = true;
            break;
        case OPT_HTTP2:
            q->http2 = true;
            break;
        case OPT_STREAMS:
            rc = parse_count("--streams", optarg, 1, 1024, &q->streams);
            break;
        case OPT_HTTP_DEBUG:
            /* k6's --http-debug: heads; --http-debug=full: bodies too (capped) */
            if (optarg == NULL || strcmp(optarg, "full") == 0) {
                scenario_http_debug = optarg == NULL ? 1 : 2;
                scenario_http_debug_write = http_debug_write;
            } else {
                rc = bad("--http-debug", optarg, "nothing, or =full");
            }
            break;
        case OPT_MAX_REDIRECTS: {
            uint64_t mr;
            rc = parse_count("--max-redirects", optarg, 0, 100, &mr);
            scenario_max_redirects = rc == 0 ? (int)mr : scenario_max_redirects;
            break;
        }
        case OPT_CACERT:
            q->cacert = optarg;
            break;
        case OPT_CERT:
            q->cert = optarg;
            break;
        case OPT_KEY:
            q->key = optarg;
            break;
        case OPT_GRACE:
            rc = parse_dur("--grace", optarg, true, &q->grace_ns);
            break;
        case OPT_THRESHOLD:
            /* Parsed once the scenario file has declared its metrics and tags. */
            if (q->n_threshold_args == MAX_THRESHOLDS) {
                rc = bad("threshold", optarg, "at most 64 thresholds");
            } else {
                q->threshold_args[q->n_threshold_args++] = optarg;
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
        case OPT_STEADY_MIN:
            rc = parse_dur("--steady-min", optarg, false, &q->watch.steady_min_ns);
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
        case OPT_POSTGRES:
            q->db.pg_dsn = optarg;
            break;
        case OPT_REDIS:
            q->db.redis_url = optarg;
            break;
        case OPT_EXPLAIN_ANALYZE:
            q->db.explain_analyze = true;
            break;
        case OPT_POSTGRES_SETTLE:
            rc = parse_dur("--postgres-settle", optarg, false, &q->db.settle_ns);
            if (rc == 0 && (q->db.settle_ns < NS_PER_S || q->db.settle_ns > 60 * NS_PER_S)) {
                rc = bad("--postgres-settle", optarg, "a duration from 1s to 60s");
            }
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
        case OPT_PROFILE_UNWIND:
            rc = cli_profile_unwind_flag("brunt run", "--profile-unwind", optarg,
                                         &q->watch.profile.dwarf);
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
        case OPT_REPORT:
            if (q->outs.n_reports == CLI_MAX_REPORTS) {
                rc = bad("--report", optarg, "at most 16 reports");
            } else {
                q->outs.reports[q->outs.n_reports++] = optarg;
                rc =
                    cli_check_report_paths(&q->outs.reports[q->outs.n_reports - 1], 1, "brunt run");
            }
            break;
        case OPT_PROMETHEUS:
            q->outs.prometheus = optarg;
            break;
        case OPT_PROMETHEUS_NAMES:
            if (strcmp(optarg, "k6") == 0 || strcmp(optarg, "brunt") == 0) {
                q->outs.prom_k6_names = strcmp(optarg, "k6") == 0;
            } else {
                rc = bad("--prometheus-names", optarg, "brunt or k6");
            }
            break;
        case OPT_PROMETHEUS_HOLD:
            rc = parse_dur("--prometheus-hold", optarg, true, &q->outs.prom_hold_ns);
            break;
        case OPT_HISTORY:
            if (cli_history_run_flag(optarg, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "brunt run: %s\n", err);
                rc = EXIT_USAGE;
            }
            break;
        case 'e':
            rc = parse_kv("-e", optarg, q->env, &q->n_env, MAX_ENV, true);
            break;
        case OPT_TAG:
            /* One run-wide tag: on every sample, in the result, and in the history. */
            rc = parse_kv("--tag", optarg, q->tags, &q->n_tags, MAX_TAGS, false);
            if (rc == 0) {
                /* its name is a tag thresholds may filter on */
                char tn[THRESHOLD_TAG_NAME_MAX + 1];
                size_t kl = strcspn(optarg, "=");
                snprintf(tn, sizeof tn, "%.*s", (int)kl, optarg);
                (void)threshold_tag_name_add(tn);
            }
            if (rc == 0 && cli_history_run_flag(NULL, optarg, err, sizeof err) < 0) {
                fprintf(stderr, "brunt run: %s\n", err);
                rc = EXIT_USAGE;
            }
            break;
        case 'u':
            rc = parse_count("--vus (-u)", optarg, 1, 1000000, &q->vus);
            q->vus_set = true;
            break;
        case 'i':
            rc = parse_count("--iterations (-i)", optarg, 1, UINT64_MAX / 2, &q->iterations);
            q->iterations_set = true;
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
        if (q->duration_set && q->model_flag[0] == '\0' && q->request_flag[0] == '\0') {
            return 0; /* -d with a file: k6's --duration, applied to its one scenario */
        }
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
    if (q->file_flag[0] != '\0') {
        fprintf(stderr,
                "brunt run: flag '%s' is for scenario files (quick mode has -c, -n and no "
                "${ENV} values)\n",
                q->file_flag);
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
    if (q->streams > 0 && !q->http2) {
        fprintf(stderr, "brunt run: --streams needs --http2 (HTTP/1.1 has --pipeline)\n");
        return EXIT_USAGE;
    }
    if (q->streams > 1 && (q->pipeline > 1 || q->open)) {
        fprintf(stderr, "brunt run: --streams works with the closed model (-c) and without "
                        "--pipeline\n");
        return EXIT_USAGE;
    }
    if (q->streams > 1) {
        q->pipeline = q->streams; /* the engine's requests in flight per connection */
    }
    for (size_t i = 0; !q->open && i < q->n_stages; i++) {
        if (q->stages[i].target > 1000000) {
            char v[64];
            snprintf(v, sizeof v, "%.0f", q->stages[i].target);
            return bad("stage target (-s)", v,
                       "at most 1000000 VUs in a stage of the closed model");
        }
    }
    if (q->requests > 0 && q->n_stages > 0) {
        fprintf(stderr, "brunt run: -n and -s do not go together: pick a request count or "
                        "stages\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* Parses the --threshold flags (after the scenario file, whose metrics they may name).
 * 0 or EXIT_USAGE. */
static int parse_threshold_flags(struct quick *q)
{
    char err[512];
    for (size_t i = 0; i < q->n_threshold_args; i++) {
        if (threshold_parse_flag(q->threshold_args[i], &q->thresholds[q->n_thresholds], err,
                                 sizeof err) < 0) {
            fprintf(stderr, "brunt run: bad threshold: %s\n", err);
            return EXIT_USAGE;
        }
        q->n_thresholds++;
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
    if (quick_tls(q, plan) < 0) {
        plan_free(plan);
        return EXIT_INTERNAL;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->threads = q->threads ? (int)q->threads : (int)(cores > 0 ? cores : 1);
    plan->timeout_ns = q->timeout_ns;
    plan->connect_timeout_ns = q->connect_timeout_ns;
    plan->grace_ns = q->grace_ns;
    plan->run_tags = q->tags; /* --tag: on every sample */
    plan->n_run_tags = q->n_tags;
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

/* The limits of thresholds on time trends, in seconds: extra latency bucket edges. */
size_t cli__threshold_bounds(const struct threshold *th, size_t n, double *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        if (th[i].metric >= 0 && th[i].metric < metric_count() &&
            metric_info[th[i].metric].contains == CONTAINS_TIME && th[i].agg != TH_COUNT) {
            out[k++] = th[i].value / 1000;
        }
    }
    return k;
}

/* Renders the reports from the in-memory result document. */
int cli__write_run_reports(const struct run_report *report, const struct cli_outputs *outs)
{
    struct jsonw w;
    int code = EXIT_OK;
    jsonw_init(&w, 0, RESULT_MAX_BYTES);
    int rc = result_to_json(report, &w);
    if (rc < 0) {
        fprintf(stderr, "brunt: cannot build the result for the reports: %s\n", strerror(-rc));
        code = EXIT_INTERNAL;
    } else {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        code = cli_write_reports(doc, len, NULL, outs->reports, outs->n_reports, false, "brunt");
    }
    jsonw_destroy(&w);
    return code;
}

int cli_execute(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                const struct cli_outputs *outs)
{
    return cli_execute_info(plan, thresholds, n_thresholds, export_path, quiet, no_summary, argc,
                            argv, NULL, outs);
}

int cli_execute_info(struct plan *plan, struct threshold *thresholds, size_t n_thresholds,
                     const char *export_path, bool quiet, bool no_summary, int argc, char **argv,
                     const struct run_info *info, const struct cli_outputs *outs)
{
    char err[1024];
    struct prom *prom = NULL;
    if (export_path != NULL && result_check_path(export_path, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        return EXIT_USAGE;
    }
    int pr = plan_probe(
        plan, plan->connect_timeout_ns < 5 * NS_PER_S ? plan->connect_timeout_ns : 5 * NS_PER_S,
        err, sizeof err);
    if (pr < 0) {
        fprintf(stderr, "brunt: %s\n", err);
        return pr == -2 ? EXIT_USAGE : EXIT_UNREACHABLE;
    }
    if (outs != NULL && outs->prometheus != NULL) {
        double bounds[PROM_MAX_BOUNDS];
        size_t nb = cli__threshold_bounds(thresholds, n_thresholds, bounds, PROM_MAX_BOUNDS);
        if (prom_start(outs->prometheus, outs->prom_k6_names ? PROM_NAMES_K6 : PROM_NAMES_BRUNT,
                       bounds, nb, &prom, err, sizeof err) < 0) {
            fprintf(stderr, "brunt: %s\n", err);
            return EXIT_USAGE;
        }
        if (!quiet) {
            fprintf(stderr, "brunt: live metrics at http://%s/metrics\n", outs->prometheus);
        }
    }
    cli_install_signals();
    bool tty = isatty(STDERR_FILENO);
    struct progress *prog = progress_new(stderr, tty, quiet);
    struct run_options opts = {.progress = progress_cb, .progress_data = prog};
    cli__watch_options(&opts, prog); /* the probe set's feed (cli/watch.c) */
    if (prom != NULL || cli__watch_has_tick()) {
        opts.tick = cli__watch_tick; /* Prometheus and the database probes share it */
        opts.tick_data = prom;
    }
    struct run_report report;
    const struct scenario_plan *bp = cli_breakpoint_arm(plan, thresholds, n_thresholds);
    int rc = engine_run(plan, thresholds, n_thresholds, &opts, &report);
    progress_finish(prog);
    progress_free(prog);
    if (rc < 0) {
        fprintf(stderr, "brunt: the run could not start: %s\n", strerror(-rc));
        run_report_destroy(&report);
        prom_stop(prom);
        return EXIT_INTERNAL;
    }
    cli__watch_after_run(&report); /* probes stopped, leak/drift fits, criteria */
    /* A feeder with on_exhausted: stop_vu that ran out ended VUs early: say so. */
    const char *ran_out[4];
    size_t n_out = scenario_feeders_stopped(plan, ran_out, 4);
    for (size_t i = 0; i < n_out && i < 4; i++) {
        run_report_add_warning(&report,
                               "data feeder '%s' ran out of rows (on_exhausted: stop_vu): the "
                               "VUs that needed a row stopped, which ended the run early",
                               ran_out[i]);
    }
    report.argc = argc;
    report.argv = argv;
    int code = EXIT_OK;
    if (report.thresholds_failed || report.criteria_failed) {
        code = EXIT_THRESHOLDS;
    } else if (report.scenario_abort) {
        code = EXIT_ABORTED;
    } else if (report.interrupted) {
        code = EXIT_INTERRUPTED;
    }
    report.exit_code = code;
    if (!no_summary) {
        summary_print_info(stdout, &report, info, isatty(STDOUT_FILENO));
        cli_breakpoint_print(stdout, bp, &report);
        fflush(stdout);
    }
    if (export_path != NULL && result_write_info(export_path, &report, info, err, sizeof err) < 0) {
        fprintf(stderr, "brunt: %s\n", err);
        if (code == EXIT_OK) {
            code = EXIT_INTERNAL;
        }
    }
    if (outs != NULL && outs->n_reports > 0) {
        int rcode = cli__write_run_reports(&report, outs);
        if (rcode != EXIT_OK && code == EXIT_OK) {
            code = rcode;
        }
    }
    if (prom != NULL) {
        /* The final totals, for a scrape after the end (--prometheus-hold). */
        prom_tick(&report, prom);
        if (outs->prom_hold_ns > 0) {
            struct timespec ts = {.tv_sec = (time_t)(outs->prom_hold_ns / NS_PER_S),
                                  .tv_nsec = (long)(outs->prom_hold_ns % NS_PER_S)};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
            }
        }
        prom_stop(prom);
    }
    code = cli_history_after_run(&report, code);
    run_report_destroy(&report);
    return code;
}

/* How long reading a scenario file (a FIFO, stdin) may take before brunt gives up. */
#define SCENARIO_READ_TIMEOUT_MS 5000

/*
 * Reads the scenario file path ("-": standard input) into *buf (malloc'd, NUL-ended),
 * at most SCENARIO_MAX_FILE_BYTES, within SCENARIO_READ_TIMEOUT_MS: a FIFO or a pipe
 * that never delivers (or never ends) is an error, not a hang.  The file is opened
 * non-blocking, so opening a FIFO without a writer does not wait either.  Returns 0, or
 * -1 with a one-line message in err.
 */
static int read_scenario(const char *path, char **buf, size_t *len, char *err, size_t err_len)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *shown = is_stdin ? "standard input" : path;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    size_t cap = 64 * 1024, got = 0;
    char *b = NULL;
    int rc = -1;
    *buf = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
        snprintf(err, err_len, "%s: a directory, not a scenario file", shown);
        goto out;
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > SCENARIO_MAX_FILE_BYTES) {
        snprintf(err, err_len, "%s: larger than %u bytes", shown, SCENARIO_MAX_FILE_BYTES);
        goto out;
    }
    b = malloc(cap + 1);
    uint64_t deadline = clock_now_ns() + (uint64_t)SCENARIO_READ_TIMEOUT_MS * NS_PER_MS;
    while (b != NULL) {
        if (got == cap) {
            if (cap > SCENARIO_MAX_FILE_BYTES) {
                snprintf(err, err_len, "%s: larger than %u bytes", shown, SCENARIO_MAX_FILE_BYTES);
                goto out;
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (nb == NULL) {
                break;
            }
            b = nb;
            cap *= 2;
        }
        if (!S_ISREG(sb.st_mode)) {
            /* A pipe, FIFO or terminal: wait for data within the bound, never in read(). */
            uint64_t now = clock_now_ns();
            int ms = now < deadline ? (int)((deadline - now) / NS_PER_MS) + 1 : 0;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int pr = ms > 0 ? poll(&pfd, 1, ms) : 0;
            if (pr < 0 && errno == EINTR) {
                continue;
            }
            if (pr == 0) {
                snprintf(err, err_len,
                         "%s: no %s within %d s (expected a scenario file; a FIFO or pipe must "
                         "deliver the whole file and close)",
                         shown, got == 0 ? "data" : "end of file", SCENARIO_READ_TIMEOUT_MS / 1000);
                goto out;
            }
        }
        ssize_t r = read(fd, b + got, cap - got);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0) {
            rc = 0; /* end of file */
            goto out;
        }
        if (errno != EAGAIN && errno != EINTR) {
            snprintf(err, err_len, "%s: %s", shown, strerror(errno));
            goto out;
        }
    }
    snprintf(err, err_len, "%s: out of memory", shown);
out:
    if (fd >= 0 && !is_stdin) {
        close(fd);
    }
    if (rc == 0) {
        b[got] = '\0';
        *buf = b;
        *len = got;
    } else {
        free(b);
    }
    return rc;
}

/* The hex SHA-256 of buf[0..len) into out (65 bytes); "" when it cannot be computed. */
static void sha256_hex(const char *buf, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        return;
    }
    for (unsigned int i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

/* The directory CSV paths of the file path are relative to ("" for the current one). */
static void scenario_dir(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", strcmp(path, "-") == 0 ? "" : path);
    char *slash = strrchr(out, '/');
    if (slash == NULL) {
        out[0] = '\0';
    } else if (slash == out) {
        out[1] = '\0';
    } else {
        *slash = '\0';
    }
}

/* The scenario file's bytes and names, loaded once per phase. */
struct file_src {
    const char *yaml;
    size_t len;
    const char *display, *dir;
};

/*
 * Loads one phase of the file (with the setup's captured values when consts is true).
 * th, n_th and fo may be NULL (their results are then dropped).  0, or the exit code
 * after printing the loader's one line.
 */
static int load_phase(const struct file_src *src, enum scenario_phase phase, bool consts,
                      struct plan **plan, struct threshold **th, size_t *n_th,
                      struct scenario_file_opts *fo)
{
    char err[1024];
    struct threshold *t = NULL;
    size_t nt = 0;
    struct scenario_file_opts o;
    struct scenario_load_in in = {.phase = phase, .has_consts = consts};
    if (consts) {
        in.n_consts = custom_capture_get(&in.const_names, &in.const_values);
    }
    if (scenario_load_phase(src->yaml, src->len, src->display, src->dir, &in, plan, &t, &nt, &o,
                            err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        if (fo != NULL) {
            *fo = o;
        }
        return o.unreachable ? EXIT_UNREACHABLE : SCENARIO_EXIT_INVALID;
    }
    if (th != NULL) {
        *th = t;
        *n_th = nt;
    } else {
        for (size_t i = 0; i < nt; i++) {
            threshold_destroy(&t[i]);
        }
        free(t);
    }
    if (fo != NULL) {
        *fo = o;
    }
    return 0;
}

/*
 * Runs a setup or teardown plan (one VU, one iteration) and says whether it worked:
 * every request answered as expected and every check and extraction passed.  0, or
 * EXIT_SETUP_FAILED / EXIT_UNREACHABLE / EXIT_INTERNAL after one line on stderr.
 */
static int run_lifecycle(const struct quick *q, struct plan *plan, const char *what)
{
    char err[1024];
    if (q->timeout_set) {
        plan->timeout_ns = q->timeout_ns;
    }
    if (q->connect_timeout_set) {
        plan->connect_timeout_ns = q->connect_timeout_ns;
    }
    if (quick_tls(q, plan) < 0) {
        return EXIT_INTERNAL;
    }
    int pr = plan_probe(
        plan, plan->connect_timeout_ns < 5 * NS_PER_S ? plan->connect_timeout_ns : 5 * NS_PER_S,
        err, sizeof err);
    if (pr < 0) {
        fprintf(stderr, "brunt: %s: %s\n", what, err);
        return pr == -2 ? EXIT_USAGE : EXIT_UNREACHABLE;
    }
    cli_install_signals();
    struct run_options opts = {0};
    struct run_report report;
    int rc = engine_run(plan, NULL, 0, &opts, &report);
    if (rc < 0) {
        fprintf(stderr, "brunt: the %s could not start: %s\n", what, strerror(-rc));
        run_report_destroy(&report);
        return EXIT_INTERNAL;
    }
    struct series reqs = {0}, failed = {0}, checks = {0};
    if (report.total != NULL) {
        registry_aggregate(report.total, M_HTTP_REQS, NULL, &reqs);
        registry_aggregate(report.total, M_HTTP_REQ_FAILED, NULL, &failed);
        registry_aggregate(report.total, M_CHECKS, NULL, &checks);
    }
    int code = 0;
    if (report.interrupted) {
        fprintf(stderr, "brunt: %s interrupted\n", what);
        code = EXIT_INTERRUPTED;
    } else if (reqs.sum == 0 || failed.trues > 0 || checks.trues < checks.total) {
        fprintf(stderr,
                "brunt: %s failed: %.0f request%s, %llu failed, %llu of %llu checks and "
                "extractions failed (see its checks: every one must pass)\n",
                what, reqs.sum, reqs.sum == 1 ? "" : "s", (unsigned long long)failed.trues,
                (unsigned long long)(checks.total - checks.trues),
                (unsigned long long)checks.total);
        code = EXIT_SETUP_FAILED;
    } else if (!q->quiet) {
        fprintf(stderr, "brunt: %s: %.0f request%s ok\n", what, reqs.sum, reqs.sum == 1 ? "" : "s");
    }
    run_report_destroy(&report);
    return code;
}

/* Runs the file's setup, then compiles the plan again with its values. */
static int run_setup(const struct quick *q, const struct file_src *src, struct plan **plan,
                     struct threshold **th, size_t *n_th, struct scenario_file_opts *fo)
{
    struct plan *sp = NULL;
    custom_capture_reset();
    int code = load_phase(src, SCENARIO_PHASE_SETUP, false, &sp, NULL, NULL, NULL);
    if (code == 0) {
        code = run_lifecycle(q, sp, "setup");
    }
    plan_free(sp);
    if (code != 0) {
        return code;
    }
    for (size_t i = 0; i < *n_th; i++) {
        threshold_destroy(&(*th)[i]);
    }
    free(*th);
    *th = NULL;
    *n_th = 0;
    plan_free(*plan);
    *plan = NULL;
    return load_phase(src, SCENARIO_PHASE_MAIN, true, plan, th, n_th, fo);
}

/* Runs the file's teardown with the setup's values. */
static int run_teardown(const struct quick *q, const struct file_src *src)
{
    struct plan *tp = NULL;
    int code = load_phase(src, SCENARIO_PHASE_TEARDOWN, true, &tp, NULL, NULL, NULL);
    if (code == 0) {
        code = run_lifecycle(q, tp, "teardown");
    }
    plan_free(tp);
    return code;
}

/*
 * k6's --vus, --duration and --iterations on a file with one scenario, as k6 applies them:
 * with --iterations the scenario becomes shared-iterations (vus: --vus or 1, the
 * iterations, maxDuration: --duration or 10m); with --duration alone, constant-vus (vus:
 * --vus or 1) for that long; --vus alone changes the VUs of a constant-vus or
 * *-iterations scenario.  Its flow, start time and graceful stop stay.  0 or EXIT_USAGE.
 */
static int apply_k6_load_flags(const struct quick *q, struct plan *plan, bool file_threads)
{
    if (!q->vus_set && !q->duration_set && !q->iterations_set) {
        return 0;
    }
    const char *flag = q->iterations_set ? "--iterations"
                       : q->duration_set ? "--duration"
                                         : "--vus";
    if (plan->n_scenarios != 1) {
        fprintf(stderr,
                "brunt run: %s: %s applies to a file with one scenario, and this one has %zu "
                "(set the load in the file's scenarios)\n",
                q->url, flag, plan->n_scenarios);
        return EXIT_USAGE;
    }
    struct scenario_plan *sc = &plan->scenarios[0];
    uint32_t vus = q->vus_set ? (uint32_t)q->vus : 1;
    if (q->iterations_set) {
        sc->executor = EXEC_SHARED_ITERATIONS;
        sc->iterations = q->iterations;
        sc->vus = (uint64_t)vus > q->iterations ? (uint32_t)q->iterations : vus;
        sc->duration_ns = q->duration_set ? q->duration_ns : 10 * 60 * NS_PER_S;
        sc->n_stages = 0;
    } else if (q->duration_set) {
        sc->executor = EXEC_CONSTANT_VUS;
        sc->vus = vus;
        sc->duration_ns = q->duration_ns;
        sc->n_stages = 0;
    } else if (sc->executor == EXEC_CONSTANT_VUS || sc->executor == EXEC_SHARED_ITERATIONS ||
               sc->executor == EXEC_PER_VU_ITERATIONS) {
        sc->vus = vus;
        if (sc->executor == EXEC_SHARED_ITERATIONS && (uint64_t)sc->vus > sc->iterations) {
            sc->vus = (uint32_t)sc->iterations;
        }
    } else {
        fprintf(stderr,
                "brunt run: %s: --vus alone does not apply to scenario '%s' (%s); add "
                "--duration or --iterations, as in k6\n",
                q->url, sc->name, executor_name(sc->executor));
        return EXIT_USAGE;
    }
    if (!file_threads) {
        /* The file's VUs chose the threads (at most one per VU): choose again. */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t t = cores > 0 ? (uint64_t)cores : 1;
        plan->threads = (int)(sc->vus > 0 && sc->vus < t ? sc->vus : t);
    }
    return 0;
}

/* The watch options from the flags: the machine is watched unless --no-watch-machine. */
static const struct cli_watch *quick_watch(struct quick *q)
{
    q->watch.machine = !q->no_watch_machine;
    q->watch.criteria = q->criteria;
    q->watch.n_criteria = q->n_criteria;
    if (q->n_db > 0) {
        q->watch.extra = q->db_probes;
        q->watch.n_extra = q->n_db;
        q->n_db = 0; /* the probe set owns them now */
        q->watch.tick = cli_db_tick;
        q->watch.after_run = cli_db_after;
        q->watch.hook_data = &q->db;
    }
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
    char *yaml = NULL;
    size_t yaml_len = 0;
    char dir[PATH_MAX];
    struct run_info info = {.scenario_path = q->url};
    /* -e KEY=VALUE: the file's ${KEY} (k6's __ENV), over the environment. */
    for (size_t i = 0; i < q->n_env; i++) {
        char key[65];
        size_t kl = (size_t)(strchr(q->env[i], '=') - q->env[i]);
        memcpy(key, q->env[i], kl);
        key[kl] = '\0';
        if (setenv(key, q->env[i] + kl + 1, 1) < 0) {
            fprintf(stderr, "brunt run: -e %s: %s\n", q->env[i], strerror(errno));
            return EXIT_INTERNAL;
        }
    }
    info.env = q->env;
    info.n_env = q->n_env;
    info.tags = q->tags;
    info.n_tags = q->n_tags;
    if (read_scenario(q->url, &yaml, &yaml_len, err, sizeof err) < 0) {
        fprintf(stderr, "brunt run: %s\n", err);
        return SCENARIO_EXIT_INVALID;
    }
    sha256_hex(yaml, yaml_len, info.scenario_sha256);
    scenario_dir(q->url, dir, sizeof dir);
    struct file_src src = {yaml, yaml_len, strcmp(q->url, "-") == 0 ? "<stdin>" : q->url, dir};
    code = load_phase(&src, SCENARIO_PHASE_MAIN, false, &plan, &th, &n_th, &fo);
    if (code != 0) {
        free(yaml);
        return code;
    }
    info.test_name = fo.test_name[0] ? fo.test_name : NULL;
    code = parse_threshold_flags(q);
    if (code != 0) {
        goto out;
    }
    /* watch: postgres/redis from the file unless the flags gave them. */
    if (q->db.pg_dsn == NULL) {
        q->db.pg_dsn = fo.pg_dsn;
    }
    if (q->db.redis_url == NULL) {
        q->db.redis_url = fo.redis_url;
    }
    if (!q->db.explain_analyze && fo.has_explain_analyze) {
        q->db.explain_analyze = fo.explain_analyze;
    }
    if (q->db.settle_ns == 0) {
        q->db.settle_ns = fo.pg_settle_ns;
    }
    code = cli_db_probes(&q->db, q->db_probes, 2, &q->n_db);
    if (code != 0) {
        goto out;
    }
    if (q->check_only) {
        /* The setup and teardown flows are checked as well, without running. */
        for (int ph = SCENARIO_PHASE_SETUP; ph <= SCENARIO_PHASE_TEARDOWN && code == 0; ph++) {
            bool has = ph == SCENARIO_PHASE_SETUP ? fo.has_setup : fo.has_teardown;
            struct plan *lp = NULL;
            if (has && (code = load_phase(&src, (enum scenario_phase)ph, false, &lp, NULL, NULL,
                                          NULL)) != 0) {
                goto out;
            }
            plan_free(lp);
        }
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
    if (fo.has_setup) {
        /* setup: once, one VU; its values become the scenarios' constants, so the plan
         * is compiled again with them (k6's setup() data). */
        code = run_setup(q, &src, &plan, &th, &n_th, &fo);
        if (code != 0) {
            goto out;
        }
    }
    code = apply_k6_load_flags(q, plan, fo.has_threads);
    if (code != 0) {
        goto out;
    }
    if (quick_tls(q, plan) < 0) {
        code = EXIT_INTERNAL;
        goto out;
    }
    if (q->threads_set) {
        plan->threads = (int)q->threads;
    }
    plan->run_tags = q->tags; /* --tag: on every sample */
    plan->n_run_tags = q->n_tags;
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
    cli_warn_nofile(plan);
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
    if (w->steady_min_ns == 0 && fo.has_steady_min) {
        w->steady_min_ns = fo.steady_min_ns;
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
    code = cli_execute_watched(plan, th, n_th, w, q->export_path, q->quiet, q->no_summary, argc,
                               argv, &info, &q->outs);
    if (fo.has_teardown && code != EXIT_USAGE && code != EXIT_UNREACHABLE) {
        int tc = run_teardown(q, &src);
        if (tc != 0 && (code == EXIT_OK || code == EXIT_INTERRUPTED)) {
            code = tc;
        }
    }
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
    free(yaml);
    custom_capture_reset();
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
    char **shown = NULL;
    /* Probe metrics exist before any threshold or criterion names one. */
    if (probe_define_metrics() < 0 || cli_db_define_metrics() < 0) {
        fprintf(stderr, "brunt run: cannot define the watchers' metrics\n");
        return EXIT_INTERNAL;
    }
    int code = parse_flags(&q, argc, argv);
    if (code != 0) {
        code = code < 0 ? EXIT_OK : code;
        goto out;
    }
    /* What the result and the summary show of the command line: no passwords. */
    shown = cli_db_redact_argv(argc, argv);
    if (shown == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    if (q.watch.ready != NULL && q.watch.spawn == NULL) {
        code = bad("--ready", q.watch.ready, "--spawn CMD with it (--ready says when CMD is up)");
        goto out;
    }
    if (!q.check_only) {
        char err[1024];
        code = cli_history_run_check(is_scenario_file(q.url) ? q.url : NULL, err, sizeof err);
        if (code != 0) {
            fprintf(stderr, "brunt run: --history %s\n", err);
            goto out;
        }
    }
    if (is_scenario_file(q.url)) {
        code = run_scenario_file(&q, argc, shown);
        goto out;
    }
    code = cli_db_probes(&q.db, q.db_probes, 2, &q.n_db);
    if (code != 0) {
        goto out;
    }
    code = parse_threshold_flags(&q);
    if (code != 0) {
        goto out;
    }
    bool unreachable = false;
    code = quick_plan(&q, &plan, &unreachable);
    if (code != 0) {
        goto out;
    }
    cli_warn_nofile(plan);
    code = cli_execute_watched(plan, q.thresholds, q.n_thresholds, quick_watch(&q), q.export_path,
                               q.quiet, q.no_summary, argc, shown, NULL, &q.outs);
out:
    cli_db_free_argv(argc, shown);
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
    for (size_t i = 0; i < q.n_db; i++) { /* never handed to a probe set */
        q.db_probes[i].ops->free(q.db_probes[i].self);
    }
    cli_db_destroy(&q.db);
    return code;
}
