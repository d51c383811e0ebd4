/*
 * Unit tests for scenario/load and scenario/flow: a table of malformed scenario files,
 * each with the message and the line:column it must give; valid files and the plans they
 * make (executors, defaults, stages, steps, groups, names); and the flow glue on those
 * plans (rendered requests, extraction into later requests, checks, feeders running out).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "metrics/threshold.h"
#include "scenario/flow.h"
#include "scenario/load.h"

#define BASE                            \
    "base_url: http://127.0.0.1:8083\n" \
    "scenarios:\n"                      \
    "  s:\n"                            \
    "    executor: constant-vus\n"      \
    "    duration: 10s\n"               \
    "    flow:\n"                       \
    "      - request: GET /\n"

struct bad_case {
    const char *yaml;
    const char *where; /* "t.yaml:L:C: " */
    const char *what;  /* a substring of the rest */
};

static const struct bad_case bad_cases[] = {
    {"scenarioz: {}\n",
     "t.yaml:1:1: ", "unknown key 'scenarioz' in the top level (did you mean 'scenarios'?)"},
    {"scenarios:\n  s:\n    executor: constant-vu\n",
     "t.yaml:3:15: ", "unknown executor 'constant-vu' (did you mean 'constant-vus'?)"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-vus\n    duration: "
     "10x\n    flow: [{request: GET /}]\n",
     "t.yaml:5:15: ", "bad duration '10x' (expected a duration such as 30s"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-vus\n    flow: "
     "[{request: GET /}]\n",
     "t.yaml:3:3: ", "(constant-vus) has no duration"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: ramping-vus\n    rate: 10\n "
     "   stages: [{duration: 1s, target: 1}]\n    flow: [{request: GET /}]\n",
     "t.yaml:5:5: ",
     "'rate' is not an option of executor ramping-vus (expected start_vus, stages, "
     "graceful_ramp_down"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    "
     "rate: 10\n    duration: 1s\n    flow: [{request: GET /}]\n",
     "t.yaml:3:3: ", "has no pre_allocated_vus"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    "
     "duration: 1s\n    preAllocatedVUs: 1\n    flow: [{request: GET /}]\n",
     "t.yaml:3:3: ", "(constant-arrival-rate) has no rate"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    "
     "rate: 10\n    duration: 1s\n    preAllocatedVUs: 10\n    max_vus: 5\n    flow: [{request: "
     "GET /}]\n",
     "t.yaml:8:14: ", "max_vus 5 is less than pre_allocated_vus 10"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    "
     "rate: 10\n    duration: 1s\n    preAllocatedVUs: 10\n    pre_allocated_vus: 5\n    flow: "
     "[{request: GET /}]\n",
     "t.yaml:8:5: ", "given twice, as 'preAllocatedVUs' and 'pre_allocated_vus'"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: shared-iterations\n    vus: "
     "10\n    iterations: 5\n    flow: [{request: GET /}]\n",
     "t.yaml:6:17: ", "iterations (5) is less than vus (10)"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: ramping-vus\n    flow: "
     "[{request: GET /}]\n",
     "t.yaml:3:3: ", "(ramping-vus) has no stages"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: ramping-vus\n    stages: "
     "[{duration: 1s}]\n    flow: [{request: GET /}]\n",
     "t.yaml:5:14: ", "a stage without target"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: ramping-vus\n    stages: "
     "[{duration: 1s, target: 5, ramp: x}]\n    flow: [{request: GET /}]\n",
     "t.yaml:5:40: ", "unknown key 'ramp' in a stage"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-vus\n    duration: "
     "1s\n    vus: [1]\n    flow: [{request: GET /}]\n",
     "t.yaml:6:10: ", "found a list (expected a whole number)"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-vus\n    duration: "
     "1s\n    max_vus: 3\n    flow: [{request: GET /}]\n",
     "t.yaml:6:5: ", "'max_vus' is not an option of executor constant-vus"},
    {BASE "        extract: {token: json $.token}\n      - request: GET /me\n        headers: "
          "{Authorization: \"Bearer {{ tokn }}\"}\n",
     "t.yaml:10:45: ", "unknown name 'tokn'; did you mean 'token'?"},
    {BASE "        check: [staus == 200]\n", "t.yaml:8:17: ", "bad check: unknown check 'staus'"},
    {BASE "        extract: {t: \"jsn $.x\"}\n",
     "t.yaml:8:23: ", "bad extraction: unknown extraction kind 'jsn'"},
    {"scenarios:\n  s:\n    executor: constant-vus\n    duration: 10s\n    flow:\n      - request: "
     "GET /\n",
     "t.yaml:6:18: ", "a relative URL '/' without base_url"},
    {"scenarios:\n  s:\n    executor: constant-vus\n    duration: 10s\n    flow:\n      - request: "
     "GET http://{{ vu }}.example.com/\n",
     "t.yaml:6:18: ", "a template in the host part"},
    {"scenarios:\n  s: [1, 2\n",
     "t.yaml:3:1: ", "YAML syntax error: flow sequence without a closing bracket"},
    {BASE "    duration: 5s\n", "t.yaml:8:5: ", "duplicate key 'duration' (first at line 5)"},
    {BASE "thresholds:\n  http_req_duration: [\"p(95)<<300\"]\n",
     "t.yaml:9:24: ", "bad threshold for http_req_duration"},
    {BASE "thresholds:\n  http_req_duraton: [\"p(95)<300\"]\n",
     "t.yaml:9:23: ", "did you mean \"http_req_duration\"?"},
    {BASE "thresholds:\n  http_reqs:\n    - {threshold: \"count>1\", abortOnFail: maybe}\n",
     "t.yaml:10:43: ", "unknown abort_on_fail value 'maybe'"},
    {BASE "      - reqest: GET /\n",
     "t.yaml:8:9: ", "unknown key 'reqest' in a step (did you mean 'request'?)"},
    {BASE "      - request: GET /\n        sleep: 1s\n",
     "t.yaml:9:9: ", "a step with both request and sleep"},
    {BASE "      - sleep: 3s..1s\n",
     "t.yaml:8:16: ", "bad sleep range '3s..1s' (expected the shorter duration first)"},
    {BASE "      - sleep: soon\n", "t.yaml:8:16: ", "bad sleep 'soon'"},
    {BASE "data:\n  users: {file: nope.csv}\n", "t.yaml:9:17: ", "data feeder 'users': "},
    {BASE "data:\n  users: {file: x.csv, order: randm}\n",
     "t.yaml:9:31: ", "unknown order 'randm' (did you mean 'random'?)"},
    {"base_url: ${NO_SUCH_VAR_FOR_TEST}\nscenarios: {}\n",
     "t.yaml:1:11: ", "environment variable NO_SUCH_VAR_FOR_TEST is not set"},
    {BASE "      - group: g\n", "t.yaml:8:9: ", "a group without steps"},
    {BASE "      - group: g\n        steps: [{request: GET /a}]\n        name: x\n",
     "t.yaml:10:9: ", "unknown key 'name' in a group"},
    {BASE "        extract: {vu: json $.x}\n", "t.yaml:8:19: ", "'vu' is a built-in template name"},
    {BASE "        expect: [200, 700]\n", "t.yaml:8:23: ", "bad status '700'"},
    {BASE "        on_fail: abrt\n",
     "t.yaml:8:18: ", "unknown on_fail value 'abrt' (did you mean 'abort'?)"},
    {BASE "        body: x\n        json: {a: 1}\n",
     "t.yaml:9:15: ", "more than one of body, json and form"},
    {BASE "        heders: {a: b}\n",
     "t.yaml:8:9: ", "unknown key 'heders' in a request step (did you mean 'headers'?)"},
    {BASE "        headers: {Content-Length: 5}\n",
     "t.yaml:8:19: ", "header 'Content-Length' is set by brunt"},
    {BASE "        json: {a: {b: \"x{{ randint 1 }}\"}}\n",
     "t.yaml:8:37: ", "bad template: missing HI"},
    {BASE "        timeout: fast\n", "t.yaml:8:18: ", "bad duration 'fast'"},
    {BASE "---\na: 1\n", "t.yaml:8:1: ", "a second YAML document"},
    {"base_url: http://x\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n",
     "t.yaml:3:3: ", "has no flow"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  s:\n    executor: constant-vus\n    duration: "
     "1s\n    flow: [{sleep: 1s}]\n",
     "t.yaml:6:11: ", "has no request step"},
    {"- a\n- b\n", "t.yaml:1:1: ", "found a list for the top level (expected a mapping)"},
    {"base_url: https://127.0.0.1:8083\nscenarios: {}\n",
     "t.yaml:1:11: ", "https is not supported yet"},
    {"base_url: http://127.0.0.1:8083\nscenarios:\n  bad name:\n    executor: constant-vus\n",
     "t.yaml:3:3: ", "bad scenario name 'bad name'"},
    {"options: {threads: 0}\nscenarios: {}\n",
     "t.yaml:1:20: ", "0 is out of range (expected 1 to 256)"},
    {"options: {thread: 2}\nscenarios: {}\n",
     "t.yaml:1:11: ", "unknown key 'thread' in options (did you mean 'threads'?)"},
    {"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, "
     "*c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, "
     "*e]\n",
     "t.yaml:", "expands to more than"},
    {"x: *nope\n", "t.yaml:1:4: ", "unknown alias '*nope'"},
    {"", "t.yaml: ", "the file is empty"},
};

Test(scenario_load, malformed_files_give_their_documented_error)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct plan *plan = (struct plan *)1;
        struct threshold *th = (struct threshold *)1;
        size_t nth = 99;
        char err[1024];
        int rc = scenario_load_string(c->yaml, strlen(c->yaml), "t.yaml", NULL, &plan, &th, &nth,
                                      NULL, err, sizeof err);
        cr_expect_eq(rc, -1, "case %zu (%s): rc %d vs -1", i, c->what, rc);
        cr_expect_null(plan, "case %zu: plan not NULL on error", i);
        cr_expect_null(th, "case %zu: thresholds not NULL on error", i);
        cr_expect_eq(nth, 0, "case %zu: n_thresholds %zu vs 0", i, nth);
        cr_expect(strncmp(err, c->where, strlen(c->where)) == 0,
                  "case %zu: error '%s' does not start with '%s'", i, err, c->where);
        cr_expect(strstr(err, c->what) != NULL, "case %zu: error '%s' lacks '%s'", i, err, c->what);
        cr_expect(strchr(err, '\n') == NULL, "case %zu: error '%s' is not one line", i, err);
    }
}

/* --- valid files --- */

static struct plan *load_ok(const char *yaml, struct threshold **th, size_t *nth,
                            struct scenario_file_opts *opts)
{
    struct plan *plan = NULL;
    struct threshold *t = NULL;
    size_t n = 0;
    char err[1024] = "";
    int rc = scenario_load_string(yaml, strlen(yaml), "ok.yaml", "/tmp", &plan, &t, &n, opts, err,
                                  sizeof err);
    cr_assert_eq(rc, 0, "load failed: %s", err);
    cr_assert_not_null(plan);
    if (th != NULL) {
        *th = t;
        *nth = n;
    } else {
        for (size_t i = 0; i < n; i++) {
            threshold_destroy(&t[i]);
        }
        free(t);
    }
    return plan;
}

static void free_th(struct threshold *th, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
}

static const char *ISSUE_EXAMPLE =
    "name: auction-bidding\n"
    "base_url: ${BRUNT_TEST_BASE:-http://127.0.0.1:8083}\n"
    "defaults:\n"
    "  headers: {Content-Type: application/json}\n"
    "scenarios:\n"
    "  bidders:\n"
    "    executor: ramping-vus\n"
    "    stages:\n"
    "      - {duration: 2m, target: 100}\n"
    "      - {duration: 5m, target: 100}\n"
    "      - {duration: 2m, target: 500}\n"
    "      - {duration: 5m, target: 500}\n"
    "      - {duration: 2m, target: 0}\n"
    "    flow:\n"
    "      - request: POST /auth/login\n"
    "        json: {email: \"user{{ vu }}@example.com\", password: secret}\n"
    "        extract: {token: json $.token}\n"
    "        check: [status == 200]\n"
    "      - request: POST /api/v1/bids\n"
    "        name: bid\n"
    "        headers: {Authorization: \"Bearer {{ token }}\"}\n"
    "        json: {auction_id: \"auction_{{ randint 0 999 }}\", user_id: \"user_{{ vu }}\",\n"
    "               amount: \"{{ randint 100 1099 }}\"}\n"
    "        check: [status == 200, duration < 300ms]\n"
    "      - sleep: 1s\n"
    "thresholds:\n"
    "  http_req_duration: [\"p(95)<300\"]\n"
    "  http_req_duration{name:bid}: [\"p(99)<500\"]\n"
    "  http_req_failed: [\"rate<0.01\"]\n";

Test(scenario_load, issue_example_makes_the_expected_plan)
{
    struct threshold *th;
    size_t nth;
    struct scenario_file_opts o;
    struct plan *p = load_ok(ISSUE_EXAMPLE, &th, &nth, &o);
    cr_assert_eq(p->n_scenarios, 1, "%zu scenarios vs 1", p->n_scenarios);
    struct scenario_plan *sc = &p->scenarios[0];
    cr_expect_str_eq(sc->name, "bidders");
    cr_expect_eq(sc->executor, EXEC_RAMPING_VUS, "executor %d", (int)sc->executor);
    cr_expect_eq(sc->vus, 1, "start VUs %u vs k6's default 1", sc->vus);
    cr_expect_eq(sc->graceful_stop_ns, 30000000000ull, "graceful_stop %llu",
                 (unsigned long long)sc->graceful_stop_ns);
    cr_expect_eq(sc->graceful_ramp_down_ns, 30000000000ull, "graceful_ramp_down");
    cr_assert_eq(sc->n_stages, 5, "%zu stages vs 5", sc->n_stages);
    cr_expect_eq(sc->stages[2].duration_ns, 120000000000ull, "stage 2 duration");
    cr_expect_eq(sc->stages[2].target, 500.0, "stage 2 target %g", sc->stages[2].target);
    cr_expect_eq(sc->stages[4].target, 0.0, "stage 4 target %g", sc->stages[4].target);
    cr_assert_eq(sc->n_steps, 3, "%zu steps vs 3", sc->n_steps);
    cr_expect_eq(sc->steps[0].kind, STEP_REQUEST, "step 0 kind");
    cr_expect_str_eq(sc->steps[0].method, "POST");
    cr_expect_str_eq(sc->steps[0].name, "POST /auth/login");
    cr_expect_str_eq(sc->steps[1].name, "bid");
    cr_expect_null(sc->steps[1].group);
    cr_expect_eq(sc->steps[2].kind, STEP_SLEEP, "step 2 kind");
    cr_expect_eq(sc->steps[2].sleep_min_ns, 1000000000ull, "sleep min");
    cr_expect_eq(sc->steps[2].sleep_max_ns, 1000000000ull, "sleep max");
    cr_assert_not_null(sc->steps[0].origin);
    cr_expect_eq(sc->steps[0].origin->url.port, 8083, "port %u", sc->steps[0].origin->url.port);
    cr_expect_eq(sc->steps[0].origin, sc->steps[1].origin, "one origin for one host");
    cr_expect_eq(p->n_origins, 1, "%zu origins", p->n_origins);
    cr_expect_eq(p->timeout_ns, 60000000000ull, "default timeout %llu",
                 (unsigned long long)p->timeout_ns);
    cr_expect_eq(p->connect_timeout_ns, 10000000000ull, "default connect timeout");
    cr_expect(!o.has_threads && !o.has_timeout, "no options given");
    cr_expect_eq(flow_check_count(flow_step_of(&sc->steps[0])), 2, "login: extraction + 1 check");
    cr_expect_str_eq(flow_check_name(flow_step_of(&sc->steps[0]), 0), "extract token");
    cr_expect_str_eq(flow_check_name(flow_step_of(&sc->steps[0]), 1), "status == 200");
    cr_expect_str_eq(flow_check_name(flow_step_of(&sc->steps[1]), 1), "duration < 300ms");
    cr_expect(flow_wants_body(flow_step_of(&sc->steps[0])), "a JSON extraction needs the body");
    cr_expect(!flow_wants_body(flow_step_of(&sc->steps[1])), "status and duration checks do not");
    cr_assert_eq(nth, 3, "%zu thresholds vs 3", nth);
    cr_expect_str_eq(th[1].metric_expr, "http_req_duration{name:bid}");
    cr_expect_str_eq(th[1].source, "p(99)<500");
    free_th(th, nth);
    plan_free(p);
}

Test(scenario_load, env_expands_with_default_and_value)
{
    setenv("BRUNT_TEST_BASE", "http://127.0.0.1:9999", 1);
    struct plan *p = load_ok(ISSUE_EXAMPLE, NULL, NULL, NULL);
    cr_expect_eq(p->scenarios[0].steps[0].origin->url.port, 9999, "port %u",
                 p->scenarios[0].steps[0].origin->url.port);
    plan_free(p);
    unsetenv("BRUNT_TEST_BASE");
}

/* Renders step i of scenario 0 for VU v into a string (static buffer). */
static const char *render(struct plan *p, size_t i, struct flow_vu *v)
{
    static char out[8192];
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    int rc = flow_render(flow_step_of(&p->scenarios[0].steps[i]), v, &b);
    cr_assert_eq(rc, 0, "render rc %d", rc);
    snprintf(out, sizeof out, "%s", b.data);
    dynbuf_destroy(&b);
    return out;
}

Test(scenario_flow, token_flows_from_login_into_the_next_request)
{
    struct plan *p = load_ok(ISSUE_EXAMPLE, NULL, NULL, NULL);
    const struct scenario_plan *sc = &p->scenarios[0];
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(sc), &v, 7, sc->name, &seq, 1, 0), 0);
    cr_assert_eq(flow_iteration_begin(flow_scenario_of(sc), &v), FLOW_CONTINUE);

    const char *login = render(p, 0, &v);
    const char *want_body = "{\"email\":\"user7@example.com\",\"password\":\"secret\"}";
    cr_expect(strncmp(login, "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1:8083\r\n", 48) == 0,
              "head: %s", login);
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", strlen(want_body));
    cr_expect(strstr(login, cl) != NULL, "no '%s' in %s", cl, login);
    cr_expect(strstr(login, "Content-Type: application/json\r\n") != NULL, "%s", login);
    const char *body = strstr(login, "\r\n\r\n");
    cr_assert_not_null(body);
    cr_expect_str_eq(body + 4, want_body);

    const char *resp = "{\"token\":\"tok_abc\"}";
    struct step_results res = {.n = 0};
    enum flow_verdict vd = flow_on_done(flow_step_of(&sc->steps[0]), &v, 200, 1000000, resp,
                                        strlen(resp), false, &res);
    cr_expect_eq(vd, FLOW_CONTINUE, "verdict %d", (int)vd);
    cr_assert_eq(res.n, 1, "%zu results from on_done (the status check runs at the head)", res.n);
    cr_expect(res.pass[0], "extraction passed");

    const char *bid = render(p, 1, &v);
    cr_expect(strstr(bid, "Authorization: Bearer tok_abc\r\n") != NULL, "no token in %s", bid);
    const char *bb = strstr(bid, "\r\n\r\n") + 4;
    cr_expect(json_validate(bb, strlen(bb), NULL) == 0, "bid body is not JSON: %s", bb);
    cr_expect(strstr(bb, "\"user_id\":\"user_7\"") != NULL, "%s", bb);
    const char *cls = strstr(bid, "Content-Length: ");
    cr_assert_not_null(cls);
    cr_expect_eq((size_t)atoi(cls + 16), strlen(bb), "Content-Length %d vs body %zu",
                 atoi(cls + 16), strlen(bb));

    /* A failed extraction is a failed check and clears the variable. */
    res.n = 0;
    (void)flow_on_done(flow_step_of(&sc->steps[0]), &v, 200, 1000, "{}", 2, false, &res);
    cr_expect(!res.pass[0], "extraction from {} must fail");
    bid = render(p, 1, &v);
    cr_expect(strstr(bid, "Authorization: Bearer \r\n") != NULL, "token kept after failure: %s",
              bid);
    /* A network error fails every assert of the step. */
    res.n = 0;
    (void)flow_on_done(flow_step_of(&sc->steps[0]), &v, 0, 0, NULL, 0, false, &res);
    cr_expect_eq(res.n, 2, "%zu results for a network error vs 2", res.n);
    cr_expect(!res.pass[0] && !res.pass[1], "all fail");
    flow_vu_destroy(&v);
    plan_free(p);
}

Test(scenario_load, groups_flatten_with_k6_group_tags_and_defaults_apply)
{
    const char *y = "base_url: http://127.0.0.1:8083/api/\n"
                    "defaults: {headers: {X-A: file, X-B: file}, timeout: 5s}\n"
                    "options: {threads: 3, timeout: 20s, grace: 1s}\n"
                    "scenarios:\n"
                    "  s:\n"
                    "    executor: per-vu-iterations\n"
                    "    vus: 4\n"
                    "    iterations: 3\n"
                    "    defaults: {headers: {X-B: scen}, timeout: 7s}\n"
                    "    flow:\n"
                    "      - group: outer\n"
                    "        steps:\n"
                    "          - request: GET /a/{{ randint 0 9 }}\n"
                    "            headers: {x-a: step}\n"
                    "            timeout: 2s\n"
                    "          - group: inner\n"
                    "            steps:\n"
                    "              - request: DELETE /b\n"
                    "                query: {q: \"a b&c\", n: \"{{ vu }}\"}\n"
                    "                expect: [200, 400-404]\n"
                    "              - sleep: 1s..3s\n"
                    "      - request: HEAD http://127.0.0.1:8084/c?x=1\n"
                    "        query: {y: 2}\n";
    struct scenario_file_opts o;
    struct plan *p = load_ok(y, NULL, NULL, &o);
    cr_expect(o.has_threads && o.threads == 3, "threads option %d", o.threads);
    cr_expect(o.has_timeout && o.timeout_ns == 20000000000ull, "timeout option");
    cr_expect_eq(p->threads, 3, "plan threads %d", p->threads);
    cr_expect_eq(p->grace_ns, 1000000000ull, "grace");
    struct scenario_plan *sc = &p->scenarios[0];
    cr_expect_eq(sc->executor, EXEC_PER_VU_ITERATIONS, "executor");
    cr_expect_eq(sc->vus, 4, "vus %u", sc->vus);
    cr_expect_eq(sc->iterations, 3, "iterations %llu", (unsigned long long)sc->iterations);
    cr_expect_eq(sc->duration_ns, 600000000000ull, "maxDuration default 10m");
    cr_assert_eq(sc->n_steps, 4, "%zu steps", sc->n_steps);
    cr_expect_str_eq(sc->steps[0].group, "::outer");
    cr_expect_str_eq(sc->steps[0].name, "GET /a/{{ randint 0 9 }}");
    cr_expect_str_eq(sc->steps[1].group, "::outer::inner");
    cr_expect_str_eq(sc->steps[2].group, "::outer::inner");
    cr_expect_eq(sc->steps[2].sleep_max_ns, 3000000000ull, "sleep max");
    cr_expect_null(sc->steps[3].group);
    cr_expect(sc->steps[3].head_request, "HEAD");
    cr_expect_eq(p->n_origins, 2, "%zu origins", p->n_origins);

    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(sc), &v, 2, sc->name, &seq, 1, 0), 0);
    const char *r = render(p, 0, &v);
    cr_expect(strncmp(r, "GET /api/a/", 11) == 0, "base path joined: %s", r);
    cr_expect(strstr(r, "x-a: step\r\n") != NULL && strstr(r, "X-B: scen\r\n") != NULL,
              "headers overridden by name, case-insensitively: %s", r);
    cr_expect(strstr(r, "Content-Length") == NULL, "GET without body has no length: %s", r);
    cr_expect_eq(flow_timeout_ns(flow_step_of(&sc->steps[0])), 2000000000ull, "step timeout");
    cr_expect_eq(flow_timeout_ns(flow_step_of(&sc->steps[1])), 7000000000ull,
                 "scenario default timeout");
    r = render(p, 1, &v);
    cr_expect(strncmp(r, "DELETE /api/b?q=a%20b%26c&n=2 HTTP/1.1\r\n", 40) == 0, "query: %s", r);
    cr_expect(flow_status_expected(flow_step_of(&sc->steps[1]), 404), "404 expected");
    cr_expect(!flow_status_expected(flow_step_of(&sc->steps[1]), 200 + 205), "405 not expected");
    cr_expect(flow_status_expected(flow_step_of(&sc->steps[0]), 302), "default 200-399");
    cr_expect(!flow_status_expected(flow_step_of(&sc->steps[0]), 400), "default excludes 400");
    r = render(p, 3, &v);
    cr_expect(strncmp(r, "HEAD /c?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:8084\r\n", 47) == 0, "%s", r);
    flow_vu_destroy(&v);
    plan_free(p);
}

Test(scenario_load, arrival_rate_defaults_and_camel_case_aliases)
{
    const char *y = "base_url: http://127.0.0.1:8083\n"
                    "scenarios:\n"
                    "  a:\n"
                    "    executor: constant-arrival-rate\n"
                    "    rate: 50\n"
                    "    timeUnit: 2s\n"
                    "    duration: 20s\n"
                    "    preAllocatedVUs: 5\n"
                    "    startTime: 3s\n"
                    "    flow: [{request: GET /}]\n"
                    "  b:\n"
                    "    executor: ramping-arrival-rate\n"
                    "    startRate: 10\n"
                    "    pre_allocated_vus: 2\n"
                    "    maxVUs: 20\n"
                    "    max_queue: 0s\n"
                    "    gracefulStop: 0s\n"
                    "    stages: [{duration: 5s, target: 100.5}]\n"
                    "    flow: [{request: POST /x, body: \"a={{ vu }}\", form: null}]\n";
    char err[512];
    struct plan *p;
    struct threshold *th;
    size_t nth;
    /* body and form together is an error even when form is null */
    int rc =
        scenario_load_string(y, strlen(y), "t.yaml", NULL, &p, &th, &nth, NULL, err, sizeof err);
    cr_expect_eq(rc, -1, "body + form accepted");
    const char *y2 = strndup(y, strstr(y, ", form: null") - y);
    char *y3 = malloc(strlen(y) + 8);
    sprintf(y3, "%s}]\n", y2);
    p = load_ok(y3, NULL, NULL, NULL);
    struct scenario_plan *a = &p->scenarios[0], *b = &p->scenarios[1];
    cr_expect_eq(a->rate, 50.0, "rate %g", a->rate);
    cr_expect_eq(a->time_unit_ns, 2000000000ull, "time unit");
    cr_expect_eq(a->pre_allocated_vus, 5, "pre %u", a->pre_allocated_vus);
    cr_expect_eq(a->max_vus, 5, "max_vus defaults to pre_allocated_vus: %u", a->max_vus);
    cr_expect_eq(a->start_time_ns, 3000000000ull, "start time");
    cr_expect_eq(a->max_queue_ns, 10000000000ull, "max_queue default 10s");
    cr_expect_eq(a->pipeline, 1, "pipeline");
    cr_expect_eq(b->start_rate, 10.0, "start rate");
    cr_expect_eq(b->max_vus, 20, "max vus");
    cr_expect_eq(b->max_queue_ns, 0, "max_queue 0: drop at once, as k6");
    cr_expect_eq(b->graceful_stop_ns, 0, "graceful stop");
    cr_expect_eq(b->stages[0].target, 100.5, "fractional rate target");
    cr_expect_eq(b->time_unit_ns, 1000000000ull, "time unit default 1s");
    cr_expect(executor_is_open(b->executor), "open");
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(b), &v, 12, b->name, &seq, 1, 0), 0);
    struct dynbuf buf;
    dynbuf_init(&buf, 4096);
    cr_assert_eq(flow_render(flow_step_of(&b->steps[0]), &v, &buf), 0);
    cr_expect(strstr(buf.data, "Content-Length: 4\r\n\r\na=12") != NULL, "%s", buf.data);
    dynbuf_destroy(&buf);
    flow_vu_destroy(&v);
    plan_free(p);
    free((void *)y2);
    free(y3);
}

Test(scenario_flow, unique_feeder_hands_each_row_once_then_stops_the_vu)
{
    char dir[] = "/tmp/brunt-test-load.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/rows.csv", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("id,name\n1,a\n2,b\n3,c\n", f);
    fclose(f);
    const char *y = "base_url: http://127.0.0.1:8083\n"
                    "data:\n"
                    "  rows: {file: rows.csv, order: unique, on_exhausted: stop_vu}\n"
                    "  other: {file: rows.csv, order: unique, on_exhausted: abort}\n"
                    "scenarios:\n"
                    "  s:\n"
                    "    executor: shared-iterations\n"
                    "    iterations: 10\n"
                    "    flow:\n"
                    "      - request: GET /item/{{ rows.id }}?n={{ rows.name }}\n";
    struct plan *p = NULL;
    struct threshold *th;
    size_t nth;
    char err[512];
    int rc =
        scenario_load_string(y, strlen(y), "u.yaml", dir, &p, &th, &nth, NULL, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const struct scenario_plan *sc = &p->scenarios[0];
    struct flow_vu v1, v2;
    uint64_t seq = 0;
    memset(&v1, 0, sizeof v1);
    memset(&v2, 0, sizeof v2);
    cr_assert_eq(flow_vu_init(flow_scenario_of(sc), &v1, 1, "s", &seq, 1, 0), 0);
    cr_assert_eq(flow_vu_init(flow_scenario_of(sc), &v2, 2, "s", &seq, 1, 0), 0);
    char seen[4] = {0};
    struct flow_vu *vs[3] = {&v1, &v2, &v1};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(flow_iteration_begin(flow_scenario_of(sc), vs[i]), FLOW_CONTINUE,
                     "iteration %d", i);
        struct dynbuf b;
        dynbuf_init(&b, 4096);
        cr_assert_eq(flow_render(flow_step_of(&sc->steps[0]), vs[i], &b), 0);
        int id = b.data[10] - '0';
        cr_assert(id >= 1 && id <= 3, "row id %d in %s", id, b.data);
        cr_expect_eq(seen[id], 0, "row %d handed out twice", id);
        seen[id] = 1;
        dynbuf_destroy(&b);
    }
    cr_expect_eq(flow_iteration_begin(flow_scenario_of(sc), &v2), FLOW_STOP_VU, "rows ran out");
    cr_expect_eq(v1.n_feeders, 2, "%zu feeder rows per VU", v1.n_feeders);
    cr_expect_eq(v2.rows[1], -1, "the unused feeder is not advanced");
    flow_vu_destroy(&v1);
    flow_vu_destroy(&v2);
    plan_free(p);
    unlink(path);
    rmdir(dir);
}

Test(scenario_load, json_bodies_keep_types_and_escape_values)
{
    const char *y = "base_url: http://127.0.0.1:8083\n"
                    "scenarios:\n"
                    "  s:\n"
                    "    executor: constant-vus\n"
                    "    duration: 1s\n"
                    "    flow:\n"
                    "      - request: POST /j\n"
                    "        extract: {v: header X-V}\n"
                    "        json:\n"
                    "          n: 12\n"
                    "          f: -1.5e3\n"
                    "          t: true\n"
                    "          z: null\n"
                    "          s: \"12\"\n"
                    "          w: yes\n"
                    "          q: 'say \"hi\"'\n"
                    "          v: \"{{ v }}\"\n"
                    "          r: !raw \"{{ vu }}\"\n"
                    "          l: [1, \"{{ choice \\\"a b\\\" c }}\"]\n";
    struct plan *p = load_ok(y, NULL, NULL, NULL);
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(&p->scenarios[0]), &v, 3, "s", &seq, 1, 0), 0);
    /* Set the variable as a header extraction would, with a quote in it. */
    struct http1_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    resp.headers[0] = (struct http1_header){"X-V", 3, "a\"b", 3};
    resp.num_headers = 1;
    struct step_results res = {.n = 0};
    flow_on_head(flow_step_of(&p->scenarios[0].steps[0]), &v, &resp, &res);
    cr_assert_eq(res.n, 1, "header extraction runs at the head");
    cr_expect(res.pass[0], "header found");
    const char *r = render(p, 0, &v);
    const char *b = strstr(r, "\r\n\r\n") + 4;
    cr_expect(json_validate(b, strlen(b), NULL) == 0, "not JSON: %s", b);
    cr_expect(
        strncmp(b,
                "{\"n\":12,\"f\":-1.5e3,\"t\":true,\"z\":null,\"s\":\"12\",\"w\":\"yes\","
                "\"q\":\"say \\\"hi\\\"\",\"v\":\"a\\\"b\",\"r\":3,\"l\":[1,\"",
                strlen("{\"n\":12,\"f\":-1.5e3,\"t\":true,\"z\":null,\"s\":\"12\",\"w\":\"yes\","
                       "\"q\":\"say \\\"hi\\\"\",\"v\":\"a\\\"b\",\"r\":3,\"l\":[1,\"")) == 0,
        "body %s", b);
    cr_expect(strstr(b, "\"a b\"]}") != NULL || strstr(b, "\"c\"]}") != NULL, "choice: %s", b);
    flow_vu_destroy(&v);
    plan_free(p);
}

Test(scenario_flow, on_fail_abort_ends_the_iteration)
{
    const char *y = BASE "        check: [status == 200]\n        on_fail: abort\n";
    struct plan *p = load_ok(y, NULL, NULL, NULL);
    const struct flow_step *fs = flow_step_of(&p->scenarios[0].steps[0]);
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(&p->scenarios[0]), &v, 1, "s", &seq, 1, 0), 0);
    struct http1_response resp;
    memset(&resp, 0, sizeof resp);
    resp.status = 500;
    struct step_results res = {.n = 0};
    flow_on_head(fs, &v, &resp, &res);
    enum flow_verdict vd = flow_on_done(fs, &v, 500, 1000, NULL, 0, false, &res);
    cr_expect_eq(vd, FLOW_ABORT_ITERATION, "verdict %d", (int)vd);
    resp.status = 200;
    res.n = 0;
    flow_on_head(fs, &v, &resp, &res);
    vd = flow_on_done(fs, &v, 200, 1000, NULL, 0, false, &res);
    cr_expect_eq(vd, FLOW_CONTINUE, "verdict %d", (int)vd);
    cr_expect(res.n == 1 && res.pass[0], "one passing check");
    flow_vu_destroy(&v);
    plan_free(p);
}

Test(scenario_flow, per_vu_memory_is_small_before_any_extraction)
{
    struct plan *p = load_ok(ISSUE_EXAMPLE, NULL, NULL, NULL);
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    cr_assert_eq(flow_vu_init(flow_scenario_of(&p->scenarios[0]), &v, 1, "s", &seq, 1, 0), 0);
    cr_expect_eq(v.n_vars, 1, "%zu variables", v.n_vars);
    cr_expect_null(v.vars[0].val, "values are allocated lazily");
    flow_vu_destroy(&v);
    plan_free(p);
}

Test(scenario_load, file_paths_and_missing_files)
{
    struct plan *p;
    struct threshold *th;
    size_t nth;
    char err[512];
    int rc = scenario_load("/nonexistent/brunt.yaml", &p, &th, &nth, NULL, err, sizeof err);
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "/nonexistent/brunt.yaml: No such file") != NULL, "%s", err);
}
