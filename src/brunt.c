/*
 * brunt — entry point: subcommand dispatch only.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "brunt %s — load testing and performance analysis\n"
            "\n"
            "usage: brunt <command> [flags]\n"
            "\n"
            "commands:\n"
            "  run [flags] URL      drive load at URL (closed model -c, open model -R)\n"
            "  run FILE.yaml        run a scenario file (docs/scenarios.md)\n"
            "  serve [flags]        the built-in target service (auction API, faults)\n"
            "  demo                 built-in target + an auction load, with the reports\n"
            "  report RESULT -o F   render a result file: F.html, .md, .xml (JUnit), .csv\n"
            "  compare BASE NEW     regression verdict between two result files (exit 110/111)\n"
            "  history FILE.db      the trend of the runs recorded with run --history\n"
            "  capacity --slo E URL the highest arrival rate held within objectives\n"
            "  profile [flags]      where running processes (--pid) or a Go service's pprof\n"
            "                       (--pprof URL) spend their CPU: top functions, flame graph\n"
            "  version              print the version\n"
            "  help                 this text\n"
            "\n"
            "brunt <command> --help describes each command; see also brunt(1).\n",
            BRUNT_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) {
        return cli_run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "serve") == 0) {
        return cli_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "compare") == 0) {
        return cli_compare(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "capacity") == 0) {
        return cli_capacity(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "history") == 0) {
        return cli_history(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "demo") == 0) {
        return cli_demo(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "report") == 0) {
        return cli_report(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "profile") == 0) {
        return cli_profile(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("brunt %s\n", BRUNT_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 && argc >= 3) {
        /* brunt help run: the command's own help, as brunt run --help. */
        char *help_argv[] = {argv[2], "--help", NULL};
        if (strcmp(argv[2], "run") == 0) {
            return cli_run(2, help_argv);
        }
        if (strcmp(argv[2], "serve") == 0) {
            return cli_serve(2, help_argv);
        }
        if (strcmp(argv[2], "demo") == 0) {
            return cli_demo(2, help_argv);
        }
        fprintf(stderr, "brunt help: unknown command '%s': expected run, serve or demo\n", argv[2]);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr,
            "brunt: unknown command '%s': expected run, serve, demo, report, compare, "
            "history, capacity, profile, version or help\n",
            cmd);
    return EXIT_USAGE;
}
