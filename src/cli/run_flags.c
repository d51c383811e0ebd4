/*
 * run_flags — the command line of `brunt run`: the usage text, the flags, and their
 * checks.  Every flag is checked before anything starts; a bad one gets one line on
 * stderr ("brunt run: bad <what> '<value>': expected <what>") and exit 2.  The flags only
 * fill struct quick: what they do to a plan is run_quick.c's and run_scenario.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_internal.h"
#include "core/clock.h"
#include "core/parse.h"
#include "probe/profile.h"
#include "scenario/load.h"

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
               "      --http-debug[=full|failed] print requests and responses to stderr\n"
               "                         (heads; full: bodies too, the first 2 KiB of each;\n"
               "                         failed: as full, only the exchanges that failed)\n"
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

void run__quick_init(struct quick *q)
{
    *q = (struct quick){
        .connections = 10,
        .duration_ns = 10 * NS_PER_S,
        .max_queue_ns = 10 * NS_PER_S,
        .pipeline = 1,
        .method = "GET",
        .timeout_ns = 30 * NS_PER_S,
        .connect_timeout_ns = 10 * NS_PER_S,
        .grace_ns = 5 * NS_PER_S,
    };
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
bool run__is_scenario_file(const char *arg)
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

int run__parse_flags(struct quick *q, int argc, char **argv)
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
            /* k6's --http-debug: heads; =full: bodies too (capped); =failed: as full,
             * only the exchanges that failed */
            if (optarg == NULL || strcmp(optarg, "full") == 0 || strcmp(optarg, "failed") == 0) {
                scenario_http_debug = optarg == NULL ? 1 : strcmp(optarg, "full") == 0 ? 2 : 3;
                scenario_http_debug_write = http_debug_write;
            } else {
                rc = bad("--http-debug", optarg, "nothing, =full or =failed");
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
    if (strstr(q->url, "://") == NULL && !run__is_scenario_file(q->url)) {
        fprintf(stderr,
                "brunt run: '%s' is neither a URL (expected http://host[:port]/path) nor a "
                "scenario file (expected FILE.yaml)\n",
                q->url);
        return EXIT_USAGE;
    }
    if (run__is_scenario_file(q->url)) {
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
int run__parse_threshold_flags(struct quick *q)
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

int run__check_ready(const struct quick *q)
{
    if (q->watch.ready != NULL && q->watch.spawn == NULL) {
        return bad("--ready", q->watch.ready, "--spawn CMD with it (--ready says when CMD is up)");
    }
    return 0;
}
