/*
 * demo — `brunt demo`: the whole tool in one command.  Starts the built-in target in
 * this process on a free loopback port, runs a 20-second ramping load of auction
 * shoppers against it (log in, list active auctions, look at one, think), prints the
 * summary and, with --export, writes the result file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "metrics/threshold.h"
#include "target/target.h"

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: brunt demo [--export FILE] [-d DURATION-SCALE] [-q]\n"
               "  starts the built-in target and runs a 20 s ramping auction load at it\n"
               "  --export FILE   write the result JSON\n"
               "  -q, --quiet     no live progress\n");
}

struct demo_req {
    const char *method, *path, *name, *body;
};

static const struct demo_req demo_flow[] = {
    {"POST", "/auth/login", "login", "{\"email\":\"demo@example.com\",\"password\":\"secret\"}"},
    {"GET", "/api/v1/auctions?status=active&limit=20", "list auctions", NULL},
    {"GET", "/api/v1/auctions/auction_7", "get auction", NULL},
    {NULL, NULL, NULL, NULL}, /* think time */
};

int cli_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"export", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *export_path = NULL;
    bool quiet = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            export_path = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            demo_usage(stdout);
            return EXIT_OK;
        default:
            fprintf(stderr, "brunt demo: unknown flag '%s' (see brunt demo --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    cli_raise_nofile();
    struct target_options to;
    target_options_default(&to);
    to.port = 0;
    to.delay_ns = 2 * NS_PER_MS;
    to.delay_max_ns = 8 * NS_PER_MS;
    struct target *target = NULL;
    int rc = target_start(&to, &target);
    if (rc < 0) {
        fprintf(stderr, "brunt demo: cannot start the built-in target: %s\n", strerror(-rc));
        return EXIT_INTERNAL;
    }
    char base[64], url[256], err[1024];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", target_port(target));
    fprintf(stderr, "brunt demo: built-in target on %s (auction API, 2-8 ms service time)\n",
            base);

    int code = EXIT_INTERNAL;
    struct threshold th[3];
    size_t n_th = 0;
    struct plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL || (plan->scenarios = calloc(1, sizeof *plan->scenarios)) == NULL) {
        goto out;
    }
    plan->n_scenarios = 1;
    plan->threads = 1;
    plan->timeout_ns = 10 * NS_PER_S;
    plan->connect_timeout_ns = 5 * NS_PER_S;
    plan->grace_ns = 5 * NS_PER_S;
    struct scenario_plan *sc = &plan->scenarios[0];
    sc->name = strdup("shoppers");
    size_t n_steps = sizeof demo_flow / sizeof demo_flow[0];
    sc->steps = calloc(n_steps, sizeof *sc->steps);
    sc->stages = calloc(3, sizeof *sc->stages);
    if (sc->name == NULL || sc->steps == NULL || sc->stages == NULL) {
        goto out;
    }
    sc->executor = EXEC_RAMPING_VUS;
    sc->stages[0] = (struct stage){5 * NS_PER_S, 50};
    sc->stages[1] = (struct stage){10 * NS_PER_S, 50};
    sc->stages[2] = (struct stage){5 * NS_PER_S, 0};
    sc->n_stages = 3;
    sc->graceful_stop_ns = 5 * NS_PER_S;
    sc->graceful_ramp_down_ns = 5 * NS_PER_S;
    sc->pipeline = 1;
    static const char *const json_header[] = {"Content-Type: application/json"};
    for (size_t i = 0; i < n_steps; i++) {
        const struct demo_req *d = &demo_flow[i];
        struct step *st = &sc->steps[sc->n_steps];
        if (d->method == NULL) {
            st->kind = STEP_SLEEP;
            st->sleep_min_ns = 100 * NS_PER_MS;
            st->sleep_max_ns = 300 * NS_PER_MS;
            sc->n_steps++;
            continue;
        }
        snprintf(url, sizeof url, "%s%s", base, d->path);
        struct request_def def = {
            .method = d->method,
            .url = url,
            .name = d->name,
            .headers = d->body ? json_header : NULL,
            .n_headers = d->body ? 1 : 0,
            .body = d->body,
            .body_len = d->body ? strlen(d->body) : 0,
            .pipeline = 1,
        };
        bool unreachable = false;
        if (plan_request_step(plan, st, &def, &unreachable, err, sizeof err) < 0) {
            fprintf(stderr, "brunt demo: %s\n", err);
            goto out;
        }
        sc->n_steps++;
    }
    static const char *const demo_thresholds[] = {
        "http_req_duration:p(95)<100",
        "http_req_failed:rate<0.01",
        "http_req_duration{name:login}:p(99)<200",
    };
    for (size_t i = 0; i < sizeof demo_thresholds / sizeof demo_thresholds[0]; i++) {
        if (threshold_parse_flag(demo_thresholds[i], &th[n_th], err, sizeof err) < 0) {
            fprintf(stderr, "brunt demo: internal threshold: %s\n", err);
            goto out;
        }
        n_th++;
    }
    code = cli_execute(plan, th, n_th, export_path, quiet, false, argc, argv);
out:
    for (size_t i = 0; i < n_th; i++) {
        threshold_destroy(&th[i]);
    }
    plan_free(plan);
    target_stop(target);
    target_free(target);
    return code;
}
