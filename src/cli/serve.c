/*
 * serve — `brunt serve`: runs the built-in target (server/server.h) in the foreground
 * until SIGINT or SIGTERM.
 *
 * The first line on stdout is always "brunt serve: listening on http://HOST:PORT",
 * flushed at once, so scripts can start it with --port 0 and read the port back.  On
 * a signal the server stops cleanly and, unless --quiet, one summary line goes to
 * stderr.  Signals are taken synchronously (blocked, then sigwaitinfo), so nothing
 * runs in a signal handler.  With --tls-cert/--tls-key the line says https://.  Exit
 * codes: 0 after a signal, 1 when the port is taken or the server cannot start, 2 for a
 * bad flag or value (an unreadable, invalid or mismatched TLS certificate or key too).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "server/server.h"

static const char serve_usage[] =
    "usage: brunt serve [options]\n"
    "\n"
    "Runs the built-in target: an auction API, test endpoints and fault injection,\n"
    "counting what it served (GET /__stats; POST /__reset zeroes the counters).\n"
    "\n"
    "  --host H              address to listen on (default 127.0.0.1; ::1 works)\n"
    "  --port N              port (default 8083; 0 = any free port)\n"
    "  -t, --threads N       server threads (default 1)\n"
    "  --delay D             delay every answer by D (e.g. 10ms)\n"
    "  --delay-max D         delay uniformly in [--delay, D]\n"
    "  --error-rate F        answer 500 with probability F (0..1)\n"
    "  --reset-rate F        reset the connection with probability F\n"
    "  --malformed-rate F    answer garbage (not HTTP) with probability F\n"
    "  --stall-every D       freeze the whole server every D ...\n"
    "  --stall-for D         ... for D (shorter than --stall-every)\n"
    "  --slow-body BYTES     send response bodies at BYTES per second\n"
    "  --leak BYTES          keep BYTES of memory per request (at most 2 GiB)\n"
    "  --max-conns N         open connections at most (default 65536)\n"
    "  --seed N              seed of the fault draws and of the login tokens\n"
    "  --burn D              spend D of CPU on every request, busy, in server_burn_cpu\n"
    "                        (the thread serves nothing else meanwhile; /__stats burn)\n"
    "  --service-slots N     N service slots: each request occupies one for\n"
    "  --service-time D      ... D, waiting in FIFO order when all are busy, so the\n"
    "                        capacity is exactly N/D requests per second\n"
    "                        (/__stats service: requests, queued, wait_ns)\n"
    "  --postgres DSN        keep auctions and bids in PostgreSQL (tables brunt_auctions,\n"
    "                        brunt_bids, made fresh at start), with --redis URL for the\n"
    "                        bid's compare-and-set (a Lua script) and an auction cache\n"
    "  --db-pool N           database connections in the pool (default 8)\n"
    "  --db-missing-index    no index on brunt_bids(auction_id): reads scan every bid\n"
    "  --db-n-plus-one       the auction listing counts each auction's bids on its own\n"
    "  --db-cache-miss       one miss in ten is cached, for 1 ms: reads mostly miss\n"
    "  --tls-cert FILE       serve HTTPS with this PEM certificate chain (ALPN http/1.1;\n"
    "  --tls-key FILE        ... and its PEM private key; both or neither; /__stats tls)\n"
    "  -q, --quiet           no summary on exit\n"
    "  -h, --help            this help\n"
    "\n"
    "Routes: GET / /health, POST /auth/login, GET /api/v1/auctions[/{id}],\n"
    "POST /api/v1/bids, GET /users/me /items (Bearer token), GET /delay/{ms}\n"
    "/status/{code} /bytes/{n} /chunked/{n}?chunk=SIZE, GET /__stats, POST /__reset.\n"
    "WebSocket: GET /ws/echo (every message echoed), GET /ws/room/{name} (each message\n"
    "to every member, the sender included); /__stats websocket.\n";

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_DELAY,
    OPT_DELAY_MAX,
    OPT_ERROR_RATE,
    OPT_RESET_RATE,
    OPT_MALFORMED_RATE,
    OPT_STALL_EVERY,
    OPT_STALL_FOR,
    OPT_SLOW_BODY,
    OPT_LEAK,
    OPT_MAX_CONNS,
    OPT_SEED,
    OPT_BURN,
    OPT_SERVICE_SLOTS,
    OPT_SERVICE_TIME,
    OPT_POSTGRES,
    OPT_REDIS,
    OPT_DB_POOL,
    OPT_DB_MISSING_INDEX,
    OPT_DB_N_PLUS_ONE,
    OPT_DB_CACHE_MISS,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
};

__attribute__((format(printf, 1, 2))) static int serve_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("brunt serve: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static int flag_duration(const char *flag, const char *arg, uint64_t *out)
{
    if (parse_duration_ns(arg, out) < 0) {
        return serve_fail("%s '%s': expected a duration such as 250ms, 1.5s or 2m", flag, arg);
    }
    return 0;
}

static int flag_rate(const char *flag, const char *arg, double *out)
{
    double v;
    if (parse_double(arg, &v) < 0 || !(v >= 0.0 && v <= 1.0)) {
        return serve_fail("%s '%s': expected a probability from 0 to 1", flag, arg);
    }
    *out = v;
    return 0;
}

static int flag_count(const char *flag, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (parse_u64(arg, &v) < 0 || v < min || v > max) {
        return serve_fail("%s '%s': expected an integer from %llu to %llu", flag, arg,
                          (unsigned long long)min, (unsigned long long)max);
    }
    *out = v;
    return 0;
}

static int flag_size(const char *flag, const char *arg, uint64_t *out)
{
    if (parse_size_bytes(arg, out) < 0) {
        return serve_fail("%s '%s': expected a size in bytes such as 512, 64k or 1MiB", flag, arg);
    }
    return 0;
}

/* Parses the flags into *o.  Returns 0, EXIT_USAGE (message printed), or -1 for help. */
static int serve_parse(int argc, char **argv, struct server_options *o, bool *quiet)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"threads", required_argument, NULL, 't'},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"delay-max", required_argument, NULL, OPT_DELAY_MAX},
        {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
        {"reset-rate", required_argument, NULL, OPT_RESET_RATE},
        {"malformed-rate", required_argument, NULL, OPT_MALFORMED_RATE},
        {"stall-every", required_argument, NULL, OPT_STALL_EVERY},
        {"stall-for", required_argument, NULL, OPT_STALL_FOR},
        {"slow-body", required_argument, NULL, OPT_SLOW_BODY},
        {"leak", required_argument, NULL, OPT_LEAK},
        {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"burn", required_argument, NULL, OPT_BURN},
        {"service-slots", required_argument, NULL, OPT_SERVICE_SLOTS},
        {"service-time", required_argument, NULL, OPT_SERVICE_TIME},
        {"postgres", required_argument, NULL, OPT_POSTGRES},
        {"redis", required_argument, NULL, OPT_REDIS},
        {"db-pool", required_argument, NULL, OPT_DB_POOL},
        {"db-missing-index", no_argument, NULL, OPT_DB_MISSING_INDEX},
        {"db-n-plus-one", no_argument, NULL, OPT_DB_N_PLUS_ONE},
        {"db-cache-miss", no_argument, NULL, OPT_DB_CACHE_MISS},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v = 0;
    bool have_delay_max = false;
    int opt, err = 0;
    o->port = 8083;
    optind = 0; /* glibc: start over, whatever parsed argv before */
    opterr = 0;
    while (err == 0 && (opt = getopt_long(argc, argv, "+t:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_PORT:
            err = flag_count("--port", optarg, 0, 65535, &v);
            o->port = (uint16_t)v;
            break;
        case 't':
            err = flag_count("--threads", optarg, 1, 256, &v);
            o->threads = (int)v;
            break;
        case OPT_DELAY:
            err = flag_duration("--delay", optarg, &o->delay_ns);
            break;
        case OPT_DELAY_MAX:
            err = flag_duration("--delay-max", optarg, &o->delay_max_ns);
            have_delay_max = true;
            break;
        case OPT_ERROR_RATE:
            err = flag_rate("--error-rate", optarg, &o->error_rate);
            break;
        case OPT_RESET_RATE:
            err = flag_rate("--reset-rate", optarg, &o->reset_rate);
            break;
        case OPT_MALFORMED_RATE:
            err = flag_rate("--malformed-rate", optarg, &o->malformed_rate);
            break;
        case OPT_STALL_EVERY:
            err = flag_duration("--stall-every", optarg, &o->stall_every_ns);
            break;
        case OPT_STALL_FOR:
            err = flag_duration("--stall-for", optarg, &o->stall_for_ns);
            break;
        case OPT_SLOW_BODY:
            err = flag_size("--slow-body", optarg, &o->slow_body_bytes_per_s);
            break;
        case OPT_LEAK:
            err = flag_size("--leak", optarg, &o->leak_bytes_per_req);
            break;
        case OPT_MAX_CONNS:
            err = flag_count("--max-conns", optarg, 1, 10000000, &v);
            o->max_conns = (int)v;
            break;
        case OPT_SEED:
            err = flag_count("--seed", optarg, 0, UINT64_MAX, &o->seed);
            break;
        case OPT_BURN:
            err = flag_duration("--burn", optarg, &o->burn_cpu_ns);
            if (err == 0 && o->burn_cpu_ns > SERVER_MAX_BURN_NS) {
                err = serve_fail("--burn '%s': expected at most 10s of CPU per request", optarg);
            }
            break;
        case OPT_SERVICE_SLOTS:
            err = flag_count("--service-slots", optarg, 1, SERVER_MAX_SLOTS, &v);
            o->service_slots = (uint32_t)v;
            break;
        case OPT_SERVICE_TIME:
            err = flag_duration("--service-time", optarg, &o->service_time_ns);
            if (err == 0 && (o->service_time_ns == 0 || o->service_time_ns > 3600 * NS_PER_S)) {
                err = serve_fail("--service-time '%s': expected a duration above 0 and at "
                                 "most 1h",
                                 optarg);
            }
            break;
        case OPT_POSTGRES:
            o->pg_dsn = optarg;
            break;
        case OPT_REDIS:
            o->redis_url = optarg;
            break;
        case OPT_DB_POOL:
            err = flag_count("--db-pool", optarg, 1, 256, &v);
            o->db_pool = (int)v;
            break;
        case OPT_DB_MISSING_INDEX:
            o->db_missing_index = true;
            break;
        case OPT_DB_N_PLUS_ONE:
            o->db_n_plus_one = true;
            break;
        case OPT_DB_CACHE_MISS:
            o->db_cache_miss = true;
            break;
        case OPT_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o->tls_key = optarg;
            break;
        case 'q':
            *quiet = true;
            break;
        case 'h':
            return -1;
        case ':':
            return serve_fail("%s: expected a value after it", argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < 256) {
                return serve_fail("unknown option '-%c': expected one of the options in "
                                  "'brunt serve --help'",
                                  optopt);
            }
            return serve_fail("unknown or incomplete option '%s': expected one of the "
                              "options in 'brunt serve --help'",
                              argv[optind - 1]);
        }
    }
    if (err != 0) {
        return err;
    }
    if (optind < argc) {
        return serve_fail("unexpected argument '%s': expected only options", argv[optind]);
    }
    if (have_delay_max && o->delay_max_ns < o->delay_ns) {
        return serve_fail("--delay-max is shorter than --delay: expected at least --delay");
    }
    if ((o->stall_every_ns > 0) != (o->stall_for_ns > 0)) {
        return serve_fail("--stall-every and --stall-for go together: expected both or "
                          "neither");
    }
    if (o->stall_every_ns > 0 && o->stall_for_ns >= o->stall_every_ns) {
        return serve_fail("--stall-for is not shorter than --stall-every: expected a "
                          "shorter stall");
    }
    if ((o->service_slots > 0) != (o->service_time_ns > 0)) {
        return serve_fail("--service-slots and --service-time go together: expected both "
                          "or neither");
    }
    if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
        return serve_fail("--tls-cert and --tls-key go together: expected both or neither");
    }
    if ((o->pg_dsn != NULL) != (o->redis_url != NULL)) {
        return serve_fail("--postgres and --redis go together: expected both or neither");
    }
    if (o->pg_dsn == NULL &&
        (o->db_pool > 0 || o->db_missing_index || o->db_n_plus_one || o->db_cache_miss)) {
        return serve_fail("--db-* switches need --postgres DSN --redis URL");
    }
    if (o->error_rate + o->reset_rate + o->malformed_rate > 1.0 + 1e-9) {
        return serve_fail("--error-rate, --reset-rate and --malformed-rate add up to more "
                          "than 1: expected a total of at most 1");
    }
    return 0;
}

int cli_serve(int argc, char **argv)
{
    struct server_options o;
    struct server *t = NULL;
    bool quiet = false;
    sigset_t stop_sigs, old_sigs;
    server_options_default(&o);
    int rc = serve_parse(argc, argv, &o, &quiet);
    if (rc == -1) {
        fputs(serve_usage, stdout);
        return EXIT_OK;
    }
    if (rc != 0) {
        return rc;
    }
    /* Block the stop signals first, so the server threads inherit the mask and the
     * signal can only be taken by sigwaitinfo below. */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, &old_sigs);

    char dberr[512] = "";
    o.error = dberr;
    o.error_len = sizeof dberr;
    int err = server_start(&o, &t);
    if (err == -ENOKEY) {
        fprintf(stderr, "%s\n", dberr);
        rc = EXIT_USAGE;
        goto out;
    }
    if (err < 0 && dberr[0] != '\0') {
        fprintf(stderr, "%s\n", dberr);
        rc = EXIT_UNREACHABLE;
        goto out;
    }
    if (err == -EADDRINUSE) {
        fprintf(stderr,
                "brunt serve: port %u on %s is in use: expected a free port "
                "(--port 0 picks one)\n",
                (unsigned)o.port, o.host);
        rc = EXIT_INTERNAL;
        goto out;
    }
    if (err == -EINVAL) {
        fprintf(stderr,
                "brunt serve: --host '%s': expected a numeric IPv4 or IPv6 address "
                "(or localhost)\n",
                o.host);
        rc = EXIT_USAGE;
        goto out;
    }
    if (err < 0) {
        fprintf(stderr, "brunt serve: cannot listen on %s port %u: %s\n", o.host, (unsigned)o.port,
                strerror(-err));
        rc = EXIT_INTERNAL;
        goto out;
    }
    uint64_t started = clock_now_ns();
    bool v6 = strchr(o.host, ':') != NULL;
    printf("brunt serve: listening on %s://%s%s%s:%u\n", o.tls_cert != NULL ? "https" : "http",
           v6 ? "[" : "", o.host, v6 ? "]" : "", (unsigned)server_port(t));
    fflush(stdout);

    /* Only SIGINT or SIGTERM ends the wait.  A failed wait is said once and tried again
     * after a pause, so an unexpected error can neither stop the server nor spin. */
    int sig = -1;
    bool said = false;
    while (sig != SIGINT && sig != SIGTERM) {
        sig = sigwaitinfo(&stop_sigs, NULL);
        if (sig < 0 && errno != EINTR) {
            if (!said) {
                fprintf(stderr,
                        "brunt serve: waiting for SIGINT/SIGTERM failed (%s); still "
                        "serving\n",
                        strerror(errno));
                said = true;
            }
            struct timespec pause_ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
            nanosleep(&pause_ts, NULL);
        }
    }

    server_stop(t);
    if (!quiet) {
        double secs = (double)(clock_now_ns() - started) / 1e9;
        fprintf(stderr,
                "brunt serve: stopped by %s after %.1fs: %llu requests on %llu "
                "connections\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", secs,
                (unsigned long long)server_total_requests(t),
                (unsigned long long)server_total_connections(t));
    }
    rc = EXIT_OK;

out:
    server_free(t);
    pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
    return rc;
}
