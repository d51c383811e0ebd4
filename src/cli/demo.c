/*
 * demo — `brunt demo`: the whole tool in one command.  Starts the built-in target in
 * this process on a free loopback port, runs examples/auction-bidding.yaml against it
 * shortened to 20 seconds (5 s ramp to 50 bidders, 10 s hold, 5 s ramp down), prints
 * the summary, writes the HTML and Markdown reports (brunt-demo.html and brunt-demo.md
 * in the current directory unless --report names others) and prints their paths, and,
 * with --export, writes the result file.
 *
 * The scenario file is built into the binary (.incbin, below), so the demo runs the very
 * example the docs show, wherever the binary is.
 *
 * With --tls the target serves HTTPS with a throwaway self-signed certificate made for
 * the run (cli/demo_tls.c, in a private directory under $TMPDIR, else /tmp, removed at the end), and the
 * run trusts that certificate alone, as `--cacert` would: verification stays on.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/dbprobe.h"
#include "cli/demo_tls.h"
#include "core/clock.h"
#include "core/json.h"
#include "metrics/threshold.h"
#include "output/runinfo.h"
#include "probe/probe.h"
#include "probe/spawn.h"
#include "scenario/load.h"

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
    fprintf(f, "usage: brunt demo [--export FILE] [--report FILE...] [-q] [--tls] [--postgres "
               "DSN --redis URL]\n"
               "  starts the built-in target and runs examples/auction-bidding.yaml at it for\n"
               "  20 s (ramp to 50 bidders, hold, ramp down), then prints the summary and\n"
               "  writes the reports (default brunt-demo.html and brunt-demo.md)\n"
               "  --export FILE   write the result JSON\n"
               "  --report FILE   write this report instead (.html, .md, .xml, .csv;\n"
               "                  repeatable)\n"
               "  --no-report     write no report\n"
               "  --postgres DSN  the target keeps auctions and bids in this PostgreSQL (its\n"
               "  --redis URL     brunt_* tables, made fresh) and bids through this Redis;\n"
               "                  both are probed (make demo starts throwaway ones)\n"
               "  --tls           over HTTPS: the target gets a throwaway self-signed\n"
               "                  certificate, which the run trusts as --cacert would\n"
               "  -q, --quiet     no live progress\n");
}

/* A loopback port nobody listens on now (the kernel's pick for port 0), or 0. */
static unsigned demo_free_port(void)
{
    unsigned port = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* Single-quotes s for sh -c into out (cap); -1 when it does not fit. */
static int shell_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap < 3) {
        return -1;
    }
    out[o++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t n = piece ? strlen(piece) : 1;
        if (o + n + 2 > cap) {
            return -1;
        }
        if (piece) {
            memcpy(out + o, piece, n);
        } else {
            out[o] = *s;
        }
        o += n;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}

int cli_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"export", required_argument, NULL, 'e'},
        {"quiet", no_argument, NULL, 'q'},
        {"report", required_argument, NULL, 'r'},
        {"no-report", no_argument, NULL, 'N'},
        {"postgres", required_argument, NULL, 'P'},
        {"redis", required_argument, NULL, 'R'},
        {"tls", no_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *export_path = NULL;
    struct cli_outputs outs = {0};
    bool no_report = false;
    bool quiet = false;
    bool tls = false;
    struct demo_tls cert = {0};
    struct cli_db db = {0};
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
        case 'r':
            if (outs.n_reports == CLI_MAX_REPORTS) {
                fprintf(stderr, "brunt demo: at most %d reports\n", CLI_MAX_REPORTS);
                return EXIT_USAGE;
            }
            outs.reports[outs.n_reports++] = optarg;
            if (cli_check_report_paths(&outs.reports[outs.n_reports - 1], 1, "brunt demo") != 0) {
                return EXIT_USAGE;
            }
            break;
        case 'N':
            no_report = true;
            break;
        case 'T':
            tls = true;
            break;
        case 'P':
            db.pg_dsn = optarg;
            break;
        case 'R':
            db.redis_url = optarg;
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
    if (no_report) {
        outs.n_reports = 0;
    } else if (outs.n_reports == 0) {
        outs.reports[outs.n_reports++] = "brunt-demo.html";
        outs.reports[outs.n_reports++] = "brunt-demo.md";
    }
    if ((db.pg_dsn != NULL) != (db.redis_url != NULL)) {
        fprintf(stderr, "brunt demo: --postgres and --redis go together: expected both or "
                        "neither\n");
        return EXIT_USAGE;
    }
    if (cli_db_define_metrics() < 0) {
        return EXIT_INTERNAL;
    }
    struct probe dbp[2];
    size_t n_dbp = 0;
    int dbrc = cli_db_probes(&db, dbp, 2, &n_dbp);
    if (dbrc != 0) {
        return dbrc;
    }
    cli_raise_nofile();
    /*
     * The built-in target runs as a child process (`brunt serve`, this same binary), not
     * as threads of this one: then its CPU and memory are its own in /proc, apart from
     * the generator's, and the demo shows --spawn and the watchers as a user meets them.
     */
    char self[4096], cmd[8800 + 2 * PATH_MAX], base[64], ready[96], err[1024];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "brunt demo: cannot find this program (/proc/self/exe)\n");
        return EXIT_INTERNAL;
    }
    self[sl] = '\0';
    unsigned port = demo_free_port();
    if (port == 0) {
        fprintf(stderr, "brunt demo: no free port on 127.0.0.1\n");
        return EXIT_INTERNAL;
    }
    char tls_flags[2 * PATH_MAX + 64] = "";
    if (tls) {
        if (demo_tls_make(&cert, err, sizeof err) < 0) {
            fprintf(stderr, "brunt demo: %s\n", err);
            return EXIT_INTERNAL;
        }
        /* Quoted: the directory is under $TMPDIR, which may hold any character. */
        char qcert[PATH_MAX], qkey[PATH_MAX];
        if (shell_quote(cert.cert, qcert, sizeof qcert) < 0 ||
            shell_quote(cert.key, qkey, sizeof qkey) < 0) {
            fprintf(stderr, "brunt demo: TMPDIR is too long for the certificate's path\n");
            demo_tls_remove(&cert);
            return EXIT_INTERNAL;
        }
        snprintf(tls_flags, sizeof tls_flags, " --tls-cert %s --tls-key %s", qcert, qkey);
    }
    if (db.pg_dsn != NULL) {
        /* Auctions and bids in PostgreSQL, the bid's compare-and-set in Redis. */
        char qdsn[2100], qurl[2100];
        if (shell_quote(db.pg_dsn, qdsn, sizeof qdsn) < 0 ||
            shell_quote(db.redis_url, qurl, sizeof qurl) < 0) {
            fprintf(stderr, "brunt demo: --postgres or --redis is too long\n");
            demo_tls_remove(&cert);
            return EXIT_USAGE;
        }
        snprintf(cmd, sizeof cmd,
                 "'%s' serve -q --port %u --threads 2 --postgres %s --redis %s --db-pool 8%s", self,
                 port, qdsn, qurl, tls_flags);
    } else {
        snprintf(cmd, sizeof cmd, "'%s' serve -q --port %u --delay 2ms --delay-max 8ms%s", self,
                 port, tls_flags);
    }
    snprintf(base, sizeof base, "%s://127.0.0.1:%u", tls ? "https" : "http", port);
    /* The ready check speaks plain HTTP: over TLS it waits for the port to accept. */
    if (tls) {
        snprintf(ready, sizeof ready, "port:%u", port);
    } else {
        snprintf(ready, sizeof ready, "%s/health", base);
    }
    struct spawn_options so = {.command = cmd,
                               .ready = ready,
                               .ready_timeout_ns = 10 * NS_PER_S,
                               .cancel = cli_signalled()};
    struct spawn *target = NULL;
    cli_install_signals(); /* before spawning: a ^C while waiting stops the target too */
    int src = spawn_start(&so, &target, err, sizeof err);
    if (src < 0) {
        fprintf(stderr, "brunt demo: cannot start the built-in target: %s\n", err);
        demo_tls_remove(&cert);
        return src == SPAWN_E_CANCELLED ? EXIT_INTERRUPTED : EXIT_INTERNAL;
    }
    if (tls) {
        fprintf(stderr,
                "brunt demo: over HTTPS with a throwaway self-signed certificate (%s), trusted "
                "by the run as --cacert would\n",
                cert.cert);
    }
    fprintf(stderr,
            "brunt demo: built-in target on %s as PID %d (auction API, %s), watched\n"
            "brunt demo: running examples/auction-bidding.yaml: 5 s ramp to 50 bidders, "
            "10 s hold, 5 s ramp down\n",
            base, (int)spawn_pid(target),
            db.pg_dsn ? "bids in PostgreSQL, compare-and-set in Redis, both probed"
                      : "2-8 ms service time");
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
    } else if (tls && (free(plan->tls_cacert), (plan->tls_cacert = strdup(cert.cert)) == NULL)) {
        code = EXIT_INTERNAL;
    } else {
        struct cli_watch w = {.spawned = target, .machine = true};
        struct run_info info = {.test_name = fo.test_name[0] ? fo.test_name : NULL,
                                .scenario_path = "examples/auction-bidding.yaml"};
        if (n_dbp > 0) {
            w.extra = dbp;
            w.n_extra = n_dbp;
            n_dbp = 0;
            w.tick = cli_db_tick;
            w.after_run = cli_db_after;
            w.hook_data = &db;
        }
        char **shown = cli_db_redact_argv(argc, argv);
        code = shown == NULL ? EXIT_INTERNAL
                             : cli_execute_watched(plan, th, n_th, &w, export_path, quiet, false,
                                                   argc, shown, &info, &outs);
        cli_db_free_argv(argc, shown);
    }
    scenario_file_opts_destroy(&fo);
    for (size_t i = 0; i < n_th; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(plan);
    /* The target's own account, over HTTP: requests served and the auction invariant. */
    char *stats = malloc(65536);
    int status = 0;
    int got = -1;
    if (stats != NULL) {
        got = tls ? demo_tls_get(cert.cert, port, "/__stats", &status, stats, 65536)
                  : spawn_http_get(strcat(strcpy(ready, base), "/__stats"), &status, stats, 65536);
    }
    if (got == 0 && status == 200) {
        struct json_span v;
        size_t len = strlen(stats);
        bool ok = json_get_member(stats, len, "invariant_ok", &v) == 0 && v.type == JSON_TRUE;
        struct json_span req;
        double served = 0;
        if (json_get_member(stats, len, "requests", &req) == 0 && req.type == JSON_NUMBER) {
            served = strtod(req.start, NULL);
        }
        fprintf(stderr, "brunt demo: the target served %.0f requests; auction invariant %s\n",
                served, ok ? "holds (every current bid is the highest accepted one)" : "BROKEN");
    } else {
        fprintf(stderr, "brunt demo: the target did not answer GET /__stats after the run\n");
    }
    free(stats);
    spawn_free(target);
    demo_tls_remove(&cert);
    for (size_t i = 0; i < n_dbp; i++) {
        dbp[i].ops->free(dbp[i].self);
    }
    cli_db_destroy(&db);
    return code;
}
