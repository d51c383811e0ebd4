/*
 * cli/capacity — `brunt capacity --slo EXPR... URL|FILE`: the highest arrival rate the
 * target holds within the objectives (analysis/capacity does the search; this file runs
 * each step on the engine and judges it).
 *
 * A step is an open-model run (constant-arrival-rate) of the URL's request, or of the
 * scenario file's first scenario's flow, at one rate.  Its first second(s) settle; the
 * objectives are judged over the seconds after that, from the per-second records of the
 * time series (counters and rates exactly, latency trends at the compact resolution).
 * A step also fails when the service answered fewer than 98% of the requests that
 * arrived in the window (the backlog grows: overload), when the generator could not keep
 * the schedule (fewer than 98% of
 * the planned iterations started, or iterations dropped: the service fell behind and the
 * VUs ran out), and it stops early as soon as an objective fails after the settling
 * time (abortOnFail) or iterations are dropped.  A step where brunt's own worker was
 * busier than 90% of a core says nothing about the target: the search stops there.
 *
 * Exit codes: 0 a rate held (and was confirmed), 2 bad input, 3 unreachable, 104 invalid
 * scenario file, 105 interrupted, 114 nothing held (even the lowest rate broke) or the
 * answer is not known to the precision (budget, generator saturated).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/capacity.h"
#include "analysis/usl.h"
#include "cli/capacity_internal.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "metrics/threshold.h"
#include "probe/pg.h"
#include "probe/probe.h"
#include "probe/proc.h"
#include "scenario/load.h"

static void capacity_usage(FILE *f)
{
    fprintf(f, "usage: brunt capacity --slo EXPR [--slo EXPR]... [flags] URL|FILE.yaml\n"
               "\n"
               "Finds the highest arrival rate (iterations/s) the target holds within the\n"
               "objectives: steps of constant arrival rate, doubling until one breaks, then\n"
               "bisecting to the precision, then confirming (docs/capacity.md).\n"
               "\n"
               "  --slo 'METRIC:EXPR'  an objective in k6 threshold syntax, repeatable:\n"
               "                       'http_req_duration:p(95)<300' 'http_req_failed:rate<0.01'\n"
               "  --from R             first rate /s (default 10)\n"
               "  --max R              never above R /s (default 1000000)\n"
               "  --precision PCT      stop when (broke - held) / held <= PCT%% (default 5)\n"
               "  --step D             one step's length (default 10s); --settle D its\n"
               "                       settling part, not judged (default 2s)\n"
               "  --confirm D          hold the found rate D to confirm it (default 30s; 0 = no)\n"
               "  --budget D           the most test time in all (default 10m)\n"
               "  -c, --connections N  pre-allocated VUs (default: from the rate)\n"
               "      --max-vus N      the VU cap (default: the rate x 1 s, at least 50)\n"
               "  -t, --threads N      generator threads (default: the cores)\n"
               "  -m, --method M       -H 'Name: value'  -b BODY   the request (URL mode)\n"
               "      --timeout D      request timeout (default 10s)\n"
               "      --export FILE    write the capacity result (JSON, brunt-capacity/1)\n"
               "      --watch PID|NAME the target's processes: its CPU per step, and what\n"
               "                       broke first when it saturated (repeatable)\n"
               "      --postgres DSN   the database: its connections per step likewise\n"
               "      --concurrency LIST  the closed model instead: one step per number of\n"
               "                       VUs (1,2,4,8,16), and the Universal Scalability Law\n"
               "                       fitted to their throughput (sigma, kappa, the peak)\n"
               "  -q, --quiet          no line per step\n"
               "\n"
               "Exit: 0 a rate held (confirmed), 114 nothing held or not known to the\n"
               "precision, 2 bad input, 3 unreachable, 104 invalid scenario, 105 interrupted.\n");
}

static int bad_flag(const char *flag, const char *v, const char *want)
{
    fprintf(stderr, "brunt capacity: %s '%s': expected %s\n", flag, v, want);
    return EXIT_USAGE;
}

int cli_capacity(int argc, char **argv)
{
    enum {
        O_SLO = 1000,
        O_FROM,
        O_MAX,
        O_PRECISION,
        O_STEP,
        O_SETTLE,
        O_CONFIRM,
        O_BUDGET,
        O_MAXVUS,
        O_TIMEOUT,
        O_EXPORT,
        O_WATCH,
        O_POSTGRES,
        O_CONCURRENCY
    };
    static const struct option opts[] = {
        {"slo", required_argument, NULL, O_SLO},
        {"from", required_argument, NULL, O_FROM},
        {"max", required_argument, NULL, O_MAX},
        {"precision", required_argument, NULL, O_PRECISION},
        {"step", required_argument, NULL, O_STEP},
        {"settle", required_argument, NULL, O_SETTLE},
        {"confirm", required_argument, NULL, O_CONFIRM},
        {"budget", required_argument, NULL, O_BUDGET},
        {"connections", required_argument, NULL, 'c'},
        {"max-vus", required_argument, NULL, O_MAXVUS},
        {"threads", required_argument, NULL, 't'},
        {"method", required_argument, NULL, 'm'},
        {"header", required_argument, NULL, 'H'},
        {"body", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"export", required_argument, NULL, O_EXPORT},
        {"watch", required_argument, NULL, O_WATCH},
        {"postgres", required_argument, NULL, O_POSTGRES},
        {"concurrency", required_argument, NULL, O_CONCURRENCY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    struct cap_options o;
    struct cap_ctx c = {.settle_ns = 2 * NS_PER_S};
    double conc[MAX_CONCURRENCY];
    size_t n_conc = 0;
    const char *method = "GET", *body = NULL, *export_path = NULL;
    const char *headers[MAX_CAP_HEADERS];
    size_t n_headers = 0;
    uint64_t threads = 0, timeout_ns = 10 * NS_PER_S;
    char err[1024];
    int ch, code = EXIT_USAGE;

    cap_options_default(&o);
    /* the probes' metrics, so an objective may name them (process_cpu:avg<80) */
    if (probe_define_metrics() < 0 || pg_probe_define_metrics() < 0) {
        fprintf(stderr, "brunt capacity: out of memory\n");
        return EXIT_INTERNAL;
    }
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:t:m:H:b:qh", opts, NULL)) != -1) {
        uint64_t u;
        double d;
        switch (ch) {
        case O_SLO: {
            struct threshold t;
            if (c.n_slos >= MAX_SLOS) {
                return bad_flag("--slo", optarg, "at most 32 objectives");
            }
            if (threshold_parse_flag(optarg, &t, err, sizeof err) < 0) {
                fprintf(stderr, "brunt capacity: bad --slo: %s\n", err);
                return EXIT_USAGE;
            }
            threshold_destroy(&t);
            c.slo_src[c.n_slos++] = optarg;
            break;
        }
        case O_FROM:
        case O_MAX:
            if (parse_double(optarg, &d) < 0 || !(d > 0) || d > 1e7) {
                return bad_flag(ch == O_FROM ? "--from" : "--max", optarg,
                                "a rate above 0 and at most 1e7 per second");
            }
            *(ch == O_FROM ? &o.from : &o.max) = d;
            break;
        case O_PRECISION:
            if (parse_double(optarg, &d) < 0 || !(d >= 0.1) || d > 50) {
                return bad_flag("--precision", optarg, "a percentage from 0.1 to 50");
            }
            o.precision = d / 100;
            break;
        case O_STEP:
        case O_SETTLE:
        case O_CONFIRM:
        case O_BUDGET: {
            const char *names[] = {"--step", "--settle", "--confirm", "--budget"};
            if (parse_duration_ns(optarg, &u) < 0 || u > 24 * 3600 * NS_PER_S ||
                (ch != O_CONFIRM && ch != O_SETTLE && u < NS_PER_S)) {
                return bad_flag(names[ch - O_STEP], optarg,
                                ch == O_CONFIRM || ch == O_SETTLE ? "a duration (0 allowed)"
                                                                  : "a duration of at least 1s");
            }
            *(ch == O_STEP      ? &o.step_ns
              : ch == O_SETTLE  ? &c.settle_ns
              : ch == O_CONFIRM ? &o.confirm_ns
                                : &o.budget_ns) = u;
            break;
        }
        case 'c':
        case O_MAXVUS:
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 50000) {
                return bad_flag(ch == 'c' ? "-c" : "--max-vus", optarg, "1 to 50000");
            }
            *(ch == 'c' ? &c.vus : &c.max_vus) = u;
            break;
        case 't':
            if (parse_u64(optarg, &u) < 0 || u < 1 || u > 256) {
                return bad_flag("-t", optarg, "1 to 256 threads");
            }
            threads = u;
            break;
        case 'm':
            method = optarg;
            break;
        case 'H':
            if (n_headers >= MAX_CAP_HEADERS) {
                return bad_flag("-H", optarg, "at most 64 headers");
            }
            headers[n_headers++] = optarg;
            break;
        case 'b':
            body = optarg;
            break;
        case O_TIMEOUT:
            if (parse_duration_ns(optarg, &u) < 0 || u == 0) {
                return bad_flag("--timeout", optarg, "a duration above 0");
            }
            timeout_ns = u;
            break;
        case O_EXPORT:
            export_path = optarg;
            break;
        case O_WATCH: {
            struct proc_probe *pp = proc_probe_new();
            int wrc = pp != NULL ? proc_probe_add(pp, optarg, NULL, NULL) : -ENOMEM;
            if (pp != NULL) {
                proc_probe_as_probe(pp).ops->free(pp);
            }
            if (wrc < 0 || c.n_watch >= MAX_CAP_WATCH) {
                return bad_flag("--watch", optarg,
                                "a PID or a command name of at most 15 bytes, at most 8 targets");
            }
            c.watch[c.n_watch++] = optarg;
            break;
        }
        case O_POSTGRES:
            c.pg_dsn = optarg;
            break;
        case O_CONCURRENCY: {
            /* "1,2,4,8": the closed model, one step per number of VUs */
            char *dup = strdup(optarg), *save = NULL;
            n_conc = 0;
            for (char *tok = dup ? strtok_r(dup, ",", &save) : NULL; tok != NULL;
                 tok = strtok_r(NULL, ",", &save)) {
                if (parse_u64(tok, &u) < 0 || u < 1 || u > 50000 || n_conc >= MAX_CONCURRENCY) {
                    free(dup);
                    return bad_flag("--concurrency", optarg,
                                    "a list of at most 32 VU counts from 1 to 50000, such as "
                                    "1,2,4,8,16");
                }
                conc[n_conc++] = (double)u;
            }
            free(dup);
            if (n_conc == 0) {
                return bad_flag("--concurrency", optarg, "a list such as 1,2,4,8,16");
            }
            c.closed = true;
            break;
        }
        case 'q':
            c.quiet = true;
            break;
        case 'h':
            capacity_usage(stdout);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "brunt capacity: %s needs a value\n", argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt capacity: unknown flag '%s' (brunt capacity --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "brunt capacity: expected one URL or scenario file\n");
        return EXIT_USAGE;
    }
    if (o.from > o.max) {
        fprintf(stderr, "brunt capacity: --from %g is above --max %g\n", o.from, o.max);
        return EXIT_USAGE;
    }
    if (c.settle_ns + NS_PER_S > o.step_ns) {
        fprintf(stderr, "brunt capacity: --settle must leave at least 1s of the --step\n");
        return EXIT_USAGE;
    }
    const char *target = argv[optind];
    size_t tl = strlen(target);
    bool file = (tl > 5 && strcmp(target + tl - 5, ".yaml") == 0) ||
                (tl > 4 && strcmp(target + tl - 4, ".yml") == 0);
    if (!file && strstr(target, "://") == NULL) {
        fprintf(stderr,
                "brunt capacity: '%s' is neither a URL (http://...) nor a scenario file "
                "(.yaml)\n",
                target);
        return EXIT_USAGE;
    }
    if (c.n_slos == 0) {
        fprintf(stderr, "brunt capacity: give at least one objective: --slo "
                        "'http_req_duration:p(95)<300'\n");
        return EXIT_USAGE;
    }
    if (export_path != NULL) {
        /* found before the search, not after minutes of it */
        char probe[4096];
        snprintf(probe, sizeof probe, "%s", export_path);
        char *slash = strrchr(probe, '/');
        const char *dir = slash == NULL ? "." : slash == probe ? "/" : (*slash = '\0', probe);
        if (access(dir, W_OK) != 0) {
            fprintf(stderr, "brunt capacity: --export %s: directory %s is not writable\n",
                    export_path, dir);
            return EXIT_USAGE;
        }
    }
    bool unreachable = false;
    if (file) {
        struct scenario_file_opts fo = {0};
        if (scenario_load(target, &c.plan, &c.file_th, &c.n_file_th, &fo, err, sizeof err) < 0) {
            fprintf(stderr, "brunt capacity: %s\n", err);
            return fo.unreachable ? EXIT_UNREACHABLE : EXIT_INVALID_SCENARIO;
        }
        if (c.plan->n_scenarios > 1) {
            fprintf(stderr,
                    "brunt capacity: %s has %zu scenarios: the first one's flow is "
                    "driven, the others are left out\n",
                    target, c.plan->n_scenarios);
            c.plan->n_scenarios = 1;
        }
    } else {
        c.plan = calloc(1, sizeof *c.plan);
        struct scenario_plan *sc = c.plan ? calloc(1, sizeof *sc) : NULL;
        if (sc == NULL) {
            free(c.plan);
            return EXIT_INTERNAL;
        }
        c.plan->scenarios = sc;
        c.plan->n_scenarios = 1;
        sc->name = strdup("capacity");
        sc->steps = calloc(1, sizeof *sc->steps);
        if (sc->name == NULL || sc->steps == NULL) {
            code = EXIT_INTERNAL;
            goto out;
        }
        struct request_def def = {
            .method = method,
            .url = target,
            .headers = headers,
            .n_headers = n_headers,
            .body = body,
            .body_len = body ? strlen(body) : 0,
            .pipeline = 1,
        };
        if (plan_request_step(c.plan, &sc->steps[0], &def, &unreachable, err, sizeof err) < 0) {
            fprintf(stderr, "brunt capacity: %s\n", err);
            code = unreachable ? EXIT_UNREACHABLE : EXIT_USAGE;
            goto out;
        }
        sc->n_steps = 1;
        c.plan->timeout_ns = timeout_ns;
        c.plan->connect_timeout_ns = 5 * NS_PER_S;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c.plan->threads = threads                   ? (int)threads
                      : file && c.plan->threads ? c.plan->threads
                                                : (int)(cores > 0 ? cores : 1);
    int pr = plan_probe(c.plan, 5 * NS_PER_S, err, sizeof err);
    if (pr < 0) {
        fprintf(stderr, "brunt capacity: %s\n", err);
        code = pr == -2 ? EXIT_USAGE : EXIT_UNREACHABLE;
        goto out;
    }
    bool watch_failed;
    probe_set_free(
        cli_cap__step_probes(&c, &watch_failed)); /* before minutes of search, not after */
    if (watch_failed) {
        code = c.pg_dsn != NULL && c.n_watch == 0 ? EXIT_UNREACHABLE : EXIT_WATCH;
        goto out;
    }
    cli_raise_nofile();
    cli_install_signals();
    uint64_t start_wall = clock_wall_ns();
    c.base_ms = cli_cap__lone_request_ms(&c);
    if (!c.quiet) {
        fprintf(stderr, "brunt capacity · %s · from %g/s, precision %.0f%%, steps of %.0fs\n",
                target, o.from, 100 * o.precision, (double)o.step_ns / 1e9);
    }
    struct cap_result *res = calloc(1, sizeof *res);
    if (res == NULL) {
        code = EXIT_INTERNAL;
        goto out;
    }
    struct usl_fit usl;
    int usl_rc = -EINVAL;
    int rc = c.closed ? cli_cap__closed_search(&c, &o, conc, n_conc, res, &usl, &usl_rc)
                      : capacity_search(&o, cli_cap__run_step, &c, res);
    if (rc < 0) {
        fprintf(stderr, "brunt capacity: a step could not run: %s\n", strerror(-rc));
        free(res);
        code = EXIT_INTERNAL;
        goto out;
    }
    printf("\n  brunt capacity · %s\n", target);
    for (size_t i = 0; i < c.n_slos; i++) {
        printf("  objective: %s\n", c.slo_src[i]);
    }
    cli_cap__print_table(stdout, res, &c);
    printf("\n");
    if (c.closed) {
        cli_cap__print_usl(stdout, &usl, usl_rc);
        if (res->held > 0) {
            printf("  held:   %.0f VUs (the most that met the objectives)\n", res->held);
        } else {
            printf("  held:   nothing (even %.0f VUs broke)\n", res->broke);
        }
        if (res->broke > 0) {
            printf("  broke:  %.0f VUs\n", res->broke);
        }
    } else if (res->held > 0) {
        printf("  held:   %.1f/s%s\n", res->held,
               res->confirmed ? " (confirmed)"
               : o.confirm_ns ? " (NOT confirmed)"
                              : "");
    } else {
        printf("  held:   nothing (even %.3g/s broke)\n", res->broke);
    }
    if (c.closed) {
        /* said above */
    } else if (res->broke > 0) {
        printf("  broke:  %.1f/s", res->broke);
        if (res->upper > 0 && res->upper < res->broke) {
            printf(" (overloaded, the service served %.1f/s: the capacity is at most that)",
                   res->upper);
        }
        printf("\n");
    } else {
        printf("  broke:  nothing up to %.1f/s\n", res->held);
    }
    struct cap_cause_info why;
    capacity_what_broke(res, CAP_SATURATED_PCT, &why);
    if (res->first_broke != NULL) {
        printf("  what broke first: %s\n", why.text);
        for (size_t k = 0; k < res->first_broke->n_broke; k++) {
            printf("  %s %s\n", k == 0 ? "  objectives:    " : "                 ",
                   res->first_broke->broke[k]);
        }
    }
    printf("  test time: %.1f s of load in %zu steps (+ %.1f s waiting for the target to drain "
           "after the steps that broke)%s%s%s%s\n",
           (double)res->test_ns / 1e9, res->n_steps, (double)c.drain_ns / 1e9,
           res->precise || c.closed ? "" : "; NOT known to the precision",
           res->hit_budget ? " (budget spent)" : "", res->hit_max ? " (reached --max)" : "",
           res->generator_bound ? " (brunt ran out of CPU: add -t threads)" : "");
    printf("\n");
    fflush(stdout);
    code =
        res->interrupted ? EXIT_INTERRUPTED
        : c.closed       ? (res->held > 0 ? EXIT_OK : EXIT_NO_CAPACITY)
        : res->held > 0 && (res->precise || res->hit_max) && (res->confirmed || o.confirm_ns == 0)
            ? EXIT_OK
            : EXIT_NO_CAPACITY;
    if (export_path != NULL &&
        cli_cap__write_result(export_path, res, &o, &c, c.closed && usl_rc == 0 ? &usl : NULL, argc,
                              argv, start_wall, err, sizeof err) < 0) {
        fprintf(stderr, "brunt capacity: --export %s: %s\n", export_path, err);
        code = code == EXIT_OK ? EXIT_INTERNAL : code;
    }
    free(res);
out:
    for (size_t i = 0; i < c.n_file_th; i++) {
        threshold_destroy(&c.file_th[i]);
    }
    free(c.file_th);
    plan_free(c.plan);
    return code;
}
