/*
 * Unit tests for what a k6 port needs from scenario files (issue 7): setup and teardown
 * phases and the setup's values as template constants, named checks, custom-metric
 * declarations and feeds, bodies from files and multipart, and their errors.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/step.h"
#include "metrics/threshold.h"
#include "scenario/custom.h"
#include "scenario/flow.h"
#include "scenario/load.h"

/* Where the engine finds a step's and a scenario's compiled flow (one place to change). */
#define STEP_FLOW(st) flow_step_of(st)
#define SCEN_FLOW(sc) flow_scenario_of(sc)

static void teardown(void)
{
    custom_shutdown();
    metric_undefine_all();
}

TestSuite(k6port, .fini = teardown);

static const char LIFECYCLE[] = "base_url: http://127.0.0.1:8083\n"
                                "setup:\n"
                                "  flow:\n"
                                "    - request: POST /auth/login\n"
                                "      json: {email: a@example.com, password: secret}\n"
                                "      extract: {token: json $.token}\n"
                                "teardown:\n"
                                "  timeout: 5s\n"
                                "  flow:\n"
                                "    - request: GET /bye?t={{ token }}\n"
                                "scenarios:\n"
                                "  s:\n"
                                "    executor: constant-vus\n"
                                "    duration: 10s\n"
                                "    flow:\n"
                                "      - request: POST /bids\n"
                                "        headers: {Authorization: \"Bearer {{ token }}\"}\n"
                                "        json: {note: \"{{ token }}\"}\n";

static struct plan *load_phase(const char *yaml, enum scenario_phase phase,
                               const char *const *names, const char *const *values, size_t n,
                               struct scenario_file_opts *fo)
{
    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t nth = 0;
    char err[1024] = "";
    struct scenario_load_in in = {phase, names != NULL, names, values, n};
    int rc = scenario_load_phase(yaml, strlen(yaml), "t.yaml", "/tmp", &in, &plan, &th, &nth, fo,
                                 err, sizeof err);
    cr_assert_eq(rc, 0, "load failed: %s", err);
    for (size_t i = 0; i < nth; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    return plan;
}

static char *render(const struct step *st, struct flow_vu *v)
{
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    cr_assert_eq(flow_render(STEP_FLOW(st), v, &b), 0, "render");
    char *s = strdup(b.data != NULL ? b.data : "");
    dynbuf_destroy(&b);
    return s;
}

Test(k6port, setup_phase_is_one_vu_one_iteration_and_captures_its_values)
{
    struct scenario_file_opts fo;
    struct plan *p = load_phase(LIFECYCLE, SCENARIO_PHASE_SETUP, NULL, NULL, 0, &fo);
    cr_expect(fo.has_setup && fo.has_teardown, "has_setup %d has_teardown %d", fo.has_setup,
              fo.has_teardown);
    cr_assert_eq(p->n_scenarios, 1, "%zu scenarios", p->n_scenarios);
    const struct scenario_plan *sc = &p->scenarios[0];
    cr_expect_str_eq(sc->name, "setup");
    cr_expect(sc->executor == EXEC_SHARED_ITERATIONS && sc->vus == 1 && sc->iterations == 1,
              "executor %d vus %u iterations %llu", (int)sc->executor, sc->vus,
              (unsigned long long)sc->iterations);
    cr_expect_eq(sc->duration_ns, 60 * NS_PER_S, "setup timeout (k6's setupTimeout)");

    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(SCEN_FLOW(sc), &v, 1, sc->name, &seq, 1, 0), 0);
    custom_capture_reset();
    struct step_results res = {.n = 0};
    const char *body = "{\"token\":\"t\\\"1\\nx\"}";
    (void)flow_on_done(STEP_FLOW(&sc->steps[0]), &v, 200, 1000, body, strlen(body), false, &res);
    const char *const *names, *const *values;
    size_t n = custom_capture_get(&names, &values);
    cr_assert_eq(n, 1, "%zu values captured", n);
    cr_expect_str_eq(names[0], "token");
    cr_expect_str_eq(values[0], "t\"1 x", "CR and LF become spaces: '%s'", values[0]);
    flow_vu_destroy(&v);
    plan_free(p);
    custom_capture_reset();
}

Test(k6port, setup_values_are_constants_of_the_scenarios_and_teardown)
{
    static const char *const names[] = {"token"}, *const values[] = {"ab\"c"};
    struct plan *p = load_phase(LIFECYCLE, SCENARIO_PHASE_MAIN, names, values, 1, NULL);
    cr_assert_eq(p->n_scenarios, 1);
    struct flow_vu v;
    memset(&v, 0, sizeof v);
    char *req = render(&p->scenarios[0].steps[0], &v);
    cr_expect(strstr(req, "Authorization: Bearer ab\"c\r\n") != NULL, "header: %s", req);
    cr_expect(strstr(req, "{\"note\":\"ab\\\"c\"}") != NULL, "JSON-escaped in the body: %s", req);
    free(req);
    plan_free(p);

    /* Without values (--check), the names are known and render empty. */
    p = load_phase(LIFECYCLE, SCENARIO_PHASE_MAIN, NULL, NULL, 0, NULL);
    req = render(&p->scenarios[0].steps[0], &v);
    cr_expect(strstr(req, "Authorization: Bearer \r\n") != NULL, "placeholder: %s", req);
    free(req);
    plan_free(p);

    p = load_phase(LIFECYCLE, SCENARIO_PHASE_TEARDOWN, names, values, 1, NULL);
    cr_assert_eq(p->n_scenarios, 1);
    cr_expect_str_eq(p->scenarios[0].name, "teardown");
    cr_expect_eq(p->scenarios[0].duration_ns, 5 * NS_PER_S, "teardown timeout");
    req = render(&p->scenarios[0].steps[0], &v);
    cr_expect(strncmp(req, "GET /bye?t=ab%22c HTTP/1.1", 26) == 0, "URL-escaped: %s", req);
    free(req);
    plan_free(p);
}

Test(k6port, named_checks_are_tagged_by_their_name)
{
    static const char yaml[] = "base_url: http://127.0.0.1:8083\n"
                               "scenarios:\n"
                               "  s:\n"
                               "    executor: constant-vus\n"
                               "    duration: 10s\n"
                               "    flow:\n"
                               "      - request: GET /a\n"
                               "        check: ['bid placed successfully': status == 200, "
                               "status < 500]\n"
                               "      - request: GET /b\n"
                               "        check: {'fast': duration < 300ms}\n";
    struct plan *p = load_phase(yaml, SCENARIO_PHASE_MAIN, NULL, NULL, 0, NULL);
    const struct flow_step *a = STEP_FLOW(&p->scenarios[0].steps[0]);
    const struct flow_step *b = STEP_FLOW(&p->scenarios[0].steps[1]);
    cr_assert_eq(flow_check_count(a), 2);
    cr_expect_str_eq(flow_check_name(a, 0), "bid placed successfully");
    cr_expect_str_eq(flow_check_name(a, 1), "status < 500");
    cr_expect_str_eq(flow_check_name(b, 0), "fast");
    plan_free(p);
}

struct bad {
    const char *yaml, *want;
};

Test(k6port, errors_name_the_place_and_the_fix)
{
    static const struct bad cases[] = {
        {"metrics: {errors: rat}\nscenarios: {}\n", "t.yaml:1:19: unknown metric type 'rat'"},
        {"metrics: {http_reqs: counter}\nscenarios: {}\n", "metric \"http_reqs\" is a built-in"},
        {"metrics: {t: {type: rate, contains: time}}\nscenarios: {}\n",
         "contains: time applies to trends only"},
        {"base_url: http://127.0.0.1:8083\nmetrics: {errors: rate}\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: GET /\n"
         "        metrics: {erors: status != 200}\n",
         "t.yaml:9:19: metric \"erors\" is not declared; did you mean \"errors\"?"},
        {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: POST /\n"
         "        body_file: no-such-file.bin\n",
         "cannot read /tmp/no-such-file.bin"},
        {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: POST /\n"
         "        headers: {Content-Type: text/plain}\n        multipart: {a: b}\n",
         "multipart sets its own Content-Type"},
        {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: POST /\n"
         "        multipart: {a: \"{{ vu }}\"}\n",
         "templates are not available in them"},
        {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: POST /\n"
         "        body: x\n        body_file: f\n",
         "more than one of body, json, form, body_file and multipart"},
        {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
         "    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: GET /\n"
         "        check: [{a: status == 200, b: status == 201}]\n",
         "a named check is one 'name: check' pair"},
        {"name: [x]\nscenarios: {}\n", "t.yaml:1:7: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plan *plan = NULL;
        struct threshold *th = NULL;
        size_t nth = 0;
        char err[1024] = "";
        int rc = scenario_load_phase(cases[i].yaml, strlen(cases[i].yaml), "t.yaml", "/tmp", NULL,
                                     &plan, &th, &nth, NULL, err, sizeof err);
        cr_expect_eq(rc, -1, "case %zu loaded", i);
        cr_expect(strstr(err, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                  cases[i].want);
        cr_expect(plan == NULL, "case %zu: a plan on failure", i);
        metric_undefine_all();
        custom_shutdown();
    }
}

Test(k6port, test_name_is_kept)
{
    static const char yaml[] = "name: checkout-smoke\nbase_url: http://127.0.0.1:8083\n"
                               "scenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n"
                               "    flow: [{request: GET /}]\n";
    struct scenario_file_opts fo;
    struct plan *p = load_phase(yaml, SCENARIO_PHASE_MAIN, NULL, NULL, 0, &fo);
    cr_expect_str_eq(fo.test_name, "checkout-smoke");
    cr_expect(!fo.has_setup && !fo.has_teardown, "no setup or teardown");
    plan_free(p);
}

Test(k6port, multipart_body_parses_back)
{
    char dir[] = "/tmp/brunt-k6port-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("AB\0CD", 1, 5, f);
    fclose(f);
    static const char yaml[] = "base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n"
                               "    executor: constant-vus\n    duration: 1s\n    flow:\n"
                               "      - request: POST /u\n"
                               "        multipart: {t: hi, f: {file: f.bin, content_type: a/b}}\n";
    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t nth = 0;
    char err[1024] = "";
    int rc = scenario_load_phase(yaml, strlen(yaml), "t.yaml", dir, NULL, &plan, &th, &nth, NULL,
                                 err, sizeof err);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(rc, 0, "%s", err);
    struct flow_vu v;
    memset(&v, 0, sizeof v);
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    cr_assert_eq(flow_render(STEP_FLOW(&plan->scenarios[0].steps[0]), &v, &b), 0);
    const char *ct = strstr(b.data, "Content-Type: multipart/form-data; boundary=");
    cr_assert_not_null(ct, "%s", b.data);
    char boundary[100];
    cr_assert_eq(sscanf(ct + 44, "%99[^\r]", boundary), 1);
    char want[512];
    int n = snprintf(want, sizeof want,
                     "--%s\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nhi\r\n"
                     "--%s\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n"
                     "Content-Type: a/b\r\n\r\nAB",
                     boundary, boundary);
    const char *body = strstr(b.data, "\r\n\r\n") + 4;
    size_t body_len = b.len - (size_t)(body - b.data);
    cr_assert(body_len > (size_t)n + 3, "body too short");
    cr_expect(memcmp(body, want, (size_t)n) == 0, "body: %.*s", (int)body_len, body);
    cr_expect(memcmp(body + n, "\0CD\r\n", 5) == 0, "file bytes with their NUL");
    char tail[120];
    snprintf(tail, sizeof tail, "--%s--\r\n", boundary);
    cr_expect(body_len >= strlen(tail) &&
                  memcmp(body + body_len - strlen(tail), tail, strlen(tail)) == 0,
              "closing boundary");
    dynbuf_destroy(&b);
    plan_free(plan);
}
