/*
 * run_scenario — `brunt run FILE`: the scenario file read (a bounded wait for a FIFO or
 * standard input), its digest, loaded once per phase (setup, main, teardown), the setup
 * run first and its values compiled into the main plan, the flags that override the
 * file (k6's --vus/--duration/--iterations, TLS, timeouts, --watch, --criterion,
 * --threshold), the run through cli_execute_watched(), then the teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run_internal.h"
#include "core/clock.h"
#include "engine/run.h"
#include "output/runinfo.h"
#include "scenario/custom.h"
#include "scenario/load.h"

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
    if (run__quick_tls(q, plan) < 0) {
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

/*
 * `brunt run FILE`: loads the scenario file (exit 104 when it is invalid), applies the
 * flags that override its options, adds --threshold flags to its thresholds, and runs.
 */
int run__scenario_file(struct quick *q, int argc, char **argv)
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
    code = run__parse_threshold_flags(q);
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
    if (run__quick_tls(q, plan) < 0) {
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
    run__quick_watch(q);
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
