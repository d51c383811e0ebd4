/*
 * brunt run's command line without the binary: the flags into struct quick, the checks
 * of their combinations (exit 2 with one line on stderr), the threshold flags parsed
 * after the file, how a file is told from a URL, and quick mode's plan from the flags
 * (cli/run_flags.c, cli/run_quick.c).  Each test runs in its own process, so the
 * parser's globals (getopt's optind, --http-debug, --max-redirects) start fresh.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/run_internal.h"
#include "core/clock.h"

/* Parses the words after "run" into *q (brunt run's defaults first); the exit code. */
#define PARSE(q, ...) parse_words((q), (const char *[]){"run", __VA_ARGS__, NULL})

static int parse_words(struct quick *q, const char **words)
{
    static char *argv[64];
    int argc = 0;
    while (words[argc] != NULL && argc < 63) {
        argv[argc] = (char *)words[argc];
        argc++;
    }
    argv[argc] = NULL;
    run__quick_init(q);
    return run__parse_flags(q, argc, argv);
}

static void quick_destroy(struct quick *q)
{
    for (size_t i = 0; i < q->n_thresholds; i++) {
        threshold_destroy(&q->thresholds[i]);
    }
    if (q->body_owned) {
        free(q->body);
    }
}

Test(run_flags, url_alone_keeps_the_defaults)
{
    struct quick q;
    int rc = PARSE(&q, "http://127.0.0.1:8080/");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert_str_eq(q.url, "http://127.0.0.1:8080/");
    cr_assert_eq(q.connections, 10, "connections %llu", (unsigned long long)q.connections);
    cr_assert_eq(q.duration_ns, 10 * NS_PER_S);
    cr_assert_eq(q.timeout_ns, 30 * NS_PER_S);
    cr_assert_eq(q.connect_timeout_ns, 10 * NS_PER_S);
    cr_assert_eq(q.grace_ns, 5 * NS_PER_S);
    cr_assert_eq(q.pipeline, 1);
    cr_assert_str_eq(q.method, "GET");
    cr_assert(!q.open && !q.duration_set && !q.connections_set);
    quick_destroy(&q);
}

Test(run_flags, open_model_flags_fill_the_rate_and_the_vus)
{
    struct quick q;
    int rc = PARSE(&q, "-R", "250.5", "-d", "1m30s", "--max-vus", "50", "--max-queue", "0s",
                   "http://127.0.0.1/");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(q.open);
    cr_assert_float_eq(q.rate, 250.5, 1e-9, "rate %g", q.rate);
    cr_assert_eq(q.duration_ns, 90 * NS_PER_S, "duration %llu", (unsigned long long)q.duration_ns);
    cr_assert_eq(q.max_vus, 50);
    cr_assert_eq(q.max_queue_ns, 0);
    cr_assert_str_eq(q.model_flag, "--max-queue", "model flag '%s'", q.model_flag);
    quick_destroy(&q);
}

Test(run_flags, stages_in_order)
{
    struct quick q;
    int rc = PARSE(&q, "-s", "10s:5", "-s", "1m:0", "http://127.0.0.1/");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert_eq(q.n_stages, 2, "stages %zu", q.n_stages);
    cr_assert_eq(q.stages[0].duration_ns, 10 * NS_PER_S);
    cr_assert_float_eq(q.stages[0].target, 5, 1e-12);
    cr_assert_eq(q.stages[1].duration_ns, 60 * NS_PER_S);
    cr_assert_float_eq(q.stages[1].target, 0, 1e-12);
    quick_destroy(&q);
}

Test(run_flags, http2_streams_become_the_requests_in_flight)
{
    struct quick q;
    int rc = PARSE(&q, "--http2", "--streams", "8", "http://127.0.0.1/");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(q.http2);
    cr_assert_eq(q.streams, 8);
    cr_assert_eq(q.pipeline, 8, "pipeline %llu", (unsigned long long)q.pipeline);
    quick_destroy(&q);
}

Test(run_flags, body_file_is_read_and_owned)
{
    char path[] = "/tmp/brunt-unit-body.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "a=1&b=2", 7), 7);
    close(fd);
    struct quick q;
    int rc = PARSE(&q, "-m", "POST", "--body-file", path, "http://127.0.0.1/");
    unlink(path);
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(q.body_owned);
    cr_assert_eq(q.body_len, 7, "body %zu bytes", q.body_len);
    cr_assert(memcmp(q.body, "a=1&b=2", 7) == 0);
    cr_assert_str_eq(q.request_flag, "--body-file");
    quick_destroy(&q);
}

Test(run_flags, bad_value_is_one_line_and_exit_2, .init = cr_redirect_stderr)
{
    struct quick q;
    int rc = PARSE(&q, "-t", "0", "http://127.0.0.1/");
    cr_assert_eq(rc, EXIT_USAGE, "rc %d", rc);
    fflush(stderr);
    cr_assert_stderr_eq_str("brunt run: bad threads (-t) '0': expected a whole number from 1 to "
                            "256\n");
    quick_destroy(&q);
}

Test(run_flags, control_bytes_in_a_header_are_shown_as_question_marks, .init = cr_redirect_stderr)
{
    struct quick q;
    int rc = PARSE(&q, "-H", "X: a\r\nY: b", "http://127.0.0.1/");
    cr_assert_eq(rc, EXIT_USAGE, "rc %d", rc);
    fflush(stderr);
    cr_assert_stderr_eq_str("brunt run: bad header (-H) 'X: a??Y: b': expected one 'Name: value' "
                            "line, without CR or LF\n");
    quick_destroy(&q);
}

Test(run_flags, combinations_that_quick_mode_refuses, .init = cr_redirect_stderr)
{
    static const char *const cases[][4] = {
        {"-R", "10", "-n", "5"},         /* -n is the closed model's */
        {"-R", "10", "--pipeline", "2"}, /* pipelining is closed-model only */
        {"--streams", "2", "-c", "1"},   /* --streams needs --http2 */
        {"-n", "5", "-s", "1s:10"},      /* a count or stages */
        {"-e", "K=V", "-c", "1"},        /* -e is for scenario files */
        {"--vus", "2", "-c", "1"},       /* so is --vus */
        {"--check", "-c", "1", "-q"},    /* --check is for files */
        {"-s", "1s:2000000", "-c", "1"}, /* more VUs than -c allows */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct quick q;
        const char *words[] = {"run",       cases[i][0],         cases[i][1], cases[i][2],
                               cases[i][3], "http://127.0.0.1/", NULL};
        int rc = parse_words(&q, words);
        cr_assert_eq(rc, EXIT_USAGE, "case %zu (%s %s %s %s): rc %d", i, cases[i][0], cases[i][1],
                     cases[i][2], cases[i][3], rc);
        quick_destroy(&q);
    }
}

Test(run_flags, quick_mode_flags_refused_with_a_file, .init = cr_redirect_stderr)
{
    struct quick q;
    int rc = PARSE(&q, "-c", "5", "load.yaml");
    cr_assert_eq(rc, EXIT_USAGE, "rc %d", rc);
    fflush(stderr);
    cr_assert_stderr_eq_str("brunt run: flag '-c' is for quick mode (a URL); a scenario file sets "
                            "its load and requests itself (docs/scenarios.md)\n");
    quick_destroy(&q);
}

Test(run_flags, duration_with_a_file_is_k6s_duration)
{
    struct quick q;
    int rc = PARSE(&q, "-d", "30s", "-u", "3", "-e", "HOST=x", "--tag", "env=ci", "load.yaml");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(q.duration_set && q.vus_set);
    cr_assert_eq(q.duration_ns, 30 * NS_PER_S);
    cr_assert_eq(q.vus, 3);
    cr_assert_eq(q.n_env, 1);
    cr_assert_str_eq(q.env[0], "HOST=x");
    cr_assert_eq(q.n_tags, 1);
    cr_assert_str_eq(q.tags[0], "env=ci");
    quick_destroy(&q);
}

Test(run_flags, tag_names_of_brunt_are_refused, .init = cr_redirect_stderr)
{
    struct quick q;
    int rc = PARSE(&q, "--tag", "status=200", "load.yaml");
    cr_assert_eq(rc, EXIT_USAGE, "rc %d", rc);
    fflush(stderr);
    cr_assert_stderr_eq_str("brunt run: bad --tag name 'status=200': expected a name that is not "
                            "one of brunt's own tags\n");
    quick_destroy(&q);
}

Test(run_flags, help_returns_minus_one, .init = cr_redirect_stdout)
{
    struct quick q;
    int rc = PARSE(&q, "--help");
    cr_assert_eq(rc, -1, "rc %d", rc);
    quick_destroy(&q);
}

Test(run_flags, no_url_and_two_urls_are_usage_errors, .init = cr_redirect_stderr)
{
    struct quick q;
    const char *none[] = {"run", "-c", "2", NULL};
    cr_assert_eq(parse_words(&q, none), EXIT_USAGE);
    quick_destroy(&q);
    cr_assert_eq(PARSE(&q, "http://127.0.0.1/", "http://127.0.0.1/"), EXIT_USAGE);
    quick_destroy(&q);
}

Test(run_flags, thresholds_are_parsed_after_the_file)
{
    struct quick q;
    int rc = PARSE(&q, "--threshold", "http_req_duration:p(95)<300", "--threshold",
                   "http_req_failed:rate<0.01", "http://127.0.0.1/");
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert_eq(q.n_threshold_args, 2);
    cr_assert_eq(q.n_thresholds, 0, "parsed before the file: %zu", q.n_thresholds);
    cr_assert_eq(run__parse_threshold_flags(&q), 0);
    cr_assert_eq(q.n_thresholds, 2, "thresholds %zu", q.n_thresholds);
    quick_destroy(&q);
}

Test(run_flags, ready_needs_spawn, .init = cr_redirect_stderr)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "--ready", "8080", "http://127.0.0.1/"), 0);
    cr_assert_eq(run__check_ready(&q), EXIT_USAGE);
    quick_destroy(&q);
    cr_assert_eq(PARSE(&q, "--spawn", "sleep 1", "--ready", "8080", "http://127.0.0.1/"), 0);
    cr_assert_eq(run__check_ready(&q), 0);
    quick_destroy(&q);
}

Test(run_flags, a_file_is_told_from_a_url)
{
    cr_assert(run__is_scenario_file("-"));
    cr_assert(run__is_scenario_file("load.yaml"));
    cr_assert(run__is_scenario_file("dir/load.yml"));
    cr_assert(!run__is_scenario_file("http://host/x.yaml"));
    cr_assert(!run__is_scenario_file("/no/such/file"));
    char path[] = "/tmp/brunt-unit-scenario.XXXXXX"; /* no extension, but it exists */
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert(run__is_scenario_file(path));
    unlink(path);
}

/* ---- quick mode's plan (cli/run_quick.c) ---- */

Test(run_quick, requests_count_is_shared_iterations)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "-n", "100", "-c", "4", "-t", "2", "http://127.0.0.1:1/"), 0);
    struct plan *plan = NULL;
    bool unreachable = false;
    int rc = run__quick_plan(&q, &plan, &unreachable);
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert_eq(plan->n_scenarios, 1);
    const struct scenario_plan *sc = &plan->scenarios[0];
    cr_assert_eq(sc->executor, EXEC_SHARED_ITERATIONS, "%s", executor_name(sc->executor));
    cr_assert_eq(sc->vus, 4, "vus %u", (unsigned)sc->vus);
    cr_assert_eq(sc->iterations, 100);
    cr_assert_eq(sc->duration_ns, 10 * 60 * NS_PER_S, "k6's maxDuration without -d");
    cr_assert_eq(sc->n_steps, 1);
    cr_assert_eq(plan->threads, 2, "threads %d", plan->threads);
    plan_free(plan);
    quick_destroy(&q);
}

Test(run_quick, fewer_requests_than_connections_caps_the_vus)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "-n", "3", "-c", "10", "http://127.0.0.1:1/"), 0);
    struct plan *plan = NULL;
    bool unreachable = false;
    cr_assert_eq(run__quick_plan(&q, &plan, &unreachable), 0);
    cr_assert_eq(plan->scenarios[0].vus, 3, "vus %u", (unsigned)plan->scenarios[0].vus);
    plan_free(plan);
    quick_destroy(&q);
}

Test(run_quick, rate_is_an_arrival_rate_with_preallocated_vus)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "-R", "50", "-c", "5", "http://127.0.0.1:1/"), 0);
    struct plan *plan = NULL;
    bool unreachable = false;
    cr_assert_eq(run__quick_plan(&q, &plan, &unreachable), 0);
    const struct scenario_plan *sc = &plan->scenarios[0];
    cr_assert_eq(sc->executor, EXEC_CONSTANT_ARRIVAL_RATE, "%s", executor_name(sc->executor));
    cr_assert_float_eq(sc->rate, 50, 1e-12);
    cr_assert_eq(sc->pre_allocated_vus, 5);
    cr_assert_eq(sc->max_vus, 1000, "max VUs %u", (unsigned)sc->max_vus);
    cr_assert_eq(sc->max_queue_ns, 10 * NS_PER_S);
    plan_free(plan);
    quick_destroy(&q);
}

Test(run_quick, stages_are_ramping_vus_or_ramping_arrival_rate)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "-s", "1s:4", "-s", "2s:0", "http://127.0.0.1:1/"), 0);
    struct plan *plan = NULL;
    bool unreachable = false;
    cr_assert_eq(run__quick_plan(&q, &plan, &unreachable), 0);
    cr_assert_eq(plan->scenarios[0].executor, EXEC_RAMPING_VUS);
    cr_assert_eq(plan->scenarios[0].n_stages, 2);
    plan_free(plan);
    quick_destroy(&q);
    cr_assert_eq(PARSE(&q, "-R", "0", "-s", "1s:100", "http://127.0.0.1:1/"), 0);
    plan = NULL;
    cr_assert_eq(run__quick_plan(&q, &plan, &unreachable), 0);
    cr_assert_eq(plan->scenarios[0].executor, EXEC_RAMPING_ARRIVAL_RATE);
    plan_free(plan);
    quick_destroy(&q);
}

Test(run_quick, framing_header_is_refused, .init = cr_redirect_stderr)
{
    struct quick q;
    cr_assert_eq(PARSE(&q, "-H", "Content-Length: 99", "http://127.0.0.1:1/"), 0);
    struct plan *plan = NULL;
    bool unreachable = false;
    int rc = run__quick_plan(&q, &plan, &unreachable);
    cr_assert_eq(rc, EXIT_USAGE, "rc %d", rc);
    cr_assert(!unreachable);
    cr_assert_null(plan);
    fflush(stderr);
    cr_assert_stderr_eq_str("brunt run: -H 'Content-Length: 99': header 'Content-Length' is set "
                            "by brunt (expected other headers)\n");
    quick_destroy(&q);
}
