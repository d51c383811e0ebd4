/*
 * demo — `brunt demo`: the whole tool in one command.  Starts the built-in target in
 * this process on a free loopback port, runs examples/auction-bidding.yaml against it
 * shortened to 20 seconds (5 s ramp to 50 bidders, 10 s hold, 5 s ramp down), prints
 * the summary and, with --export, writes the result file.
 *
 * The scenario file is built into the binary (.incbin, below), so the demo runs the very
 * example the docs show, wherever the binary is.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/json.h"
#include "metrics/threshold.h"
#include "scenario/load.h"
#include "server/server.h"

/* examples/auction-bidding.yaml, assembled in (paths are relative to the top of the tree,
 * where make and scripts/fuzz.sh compile; the Makefile lists the dependency). */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".hidden brunt_demo_yaml\n"
        ".hidden brunt_demo_yaml_end\n"
        ".global brunt_demo_yaml\n"
        ".global brunt_demo_yaml_end\n"
        "brunt_demo_yaml:\n"
        ".incbin \"examples/auction-bidding.yaml\"\n"
        "brunt_demo_yaml_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char brunt_demo_yaml[];
extern const char brunt_demo_yaml_end[];

static void demo_usage(FILE *f)
{
    fprintf(f, "usage: brunt demo [--export FILE] [-q]\n"
               "  starts the built-in target and runs examples/auction-bidding.yaml at it for\n"
               "  20 s (ramp to 50 bidders, hold, ramp down), then prints the summary\n"
               "  --export FILE   write the result JSON\n"
               "  -q, --quiet     no live progress\n");
}

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
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
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
        case ':':
            fprintf(stderr, "brunt demo: flag '%s' needs a value (see brunt demo --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        default:
            fprintf(stderr, "brunt demo: unknown flag '%s' (see brunt demo --help)\n",
                    argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "brunt demo: unexpected argument '%s' (see brunt demo --help)\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    cli_raise_nofile();
    struct server_options to;
    server_options_default(&to);
    to.port = 0;
    to.delay_ns = 2 * NS_PER_MS;
    to.delay_max_ns = 8 * NS_PER_MS;
    struct server *target = NULL;
    int rc = server_start(&to, &target);
    if (rc < 0) {
        fprintf(stderr, "brunt demo: cannot start the built-in target: %s\n", strerror(-rc));
        return EXIT_INTERNAL;
    }
    char base[64], err[1024];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", server_port(target));
    fprintf(stderr,
            "brunt demo: built-in target on %s (auction API, 2-8 ms service time)\n"
            "brunt demo: running examples/auction-bidding.yaml: 5 s ramp to 50 bidders, "
            "10 s hold, 5 s ramp down\n",
            base);
    /* The example reads these at load (${BASE_URL:-...}); the demo's values win. */
    setenv("BASE_URL", base, 1);
    setenv("RAMP", "5s", 1);
    setenv("HOLD", "10s", 1);
    setenv("VUS", "50", 1);

    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t n_th = 0;
    struct scenario_file_opts fo = {0};
    int code;
    if (scenario_load_string(brunt_demo_yaml, (size_t)(brunt_demo_yaml_end - brunt_demo_yaml),
                             "examples/auction-bidding.yaml", ".", &plan, &th, &n_th, &fo, err,
                             sizeof err) < 0) {
        fprintf(stderr, "brunt demo: %s\n", err);
        code = EXIT_INTERNAL;
    } else {
        code = cli_execute(plan, th, n_th, export_path, quiet, false, argc, argv);
    }
    for (size_t i = 0; i < n_th; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(plan);
    server_stop(target);
    struct jsonw w;
    jsonw_init(&w, 0, 1 << 20);
    if (server_stats_json(target, &w) == 0) {
        size_t len;
        const char *doc = jsonw_data(&w, &len);
        struct json_span v;
        bool ok = json_get_member(doc, len, "invariant_ok", &v) == 0 && v.type == JSON_TRUE;
        fprintf(stderr, "brunt demo: the target served %llu requests; auction invariant %s\n",
                (unsigned long long)server_total_requests(target),
                ok ? "holds (every current bid is the highest accepted one)" : "BROKEN");
    }
    jsonw_destroy(&w);
    server_free(target);
    return code;
}
