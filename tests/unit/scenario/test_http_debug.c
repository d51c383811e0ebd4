/*
 * Unit tests for --http-debug=failed (issue 7, item 7: requests and responses, bodies
 * capped, of the exchanges whose checks failed): through the step ops the engine calls,
 * an exchange is written only once its checks are known and one failed, or its status
 * was unexpected, or no response came; a passing one writes nothing.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"
#include "engine/plan.h"
#include "engine/step.h"
#include "http/http1.h"
#include "metrics/threshold.h"
#include "scenario/load.h"

static struct dynbuf written;
static unsigned writes;

static void capture(const char *text, size_t len)
{
    cr_assert_eq(dynbuf_add(&written, text, len), 0, "capture");
    writes++;
}

static void setup(void)
{
    dynbuf_init(&written, 1 << 20);
    writes = 0;
    scenario_http_debug = 3;
    scenario_http_debug_write = capture;
}

static void teardown(void)
{
    scenario_http_debug = 0;
    scenario_http_debug_write = NULL;
    dynbuf_destroy(&written);
}

TestSuite(http_debug, .init = setup, .fini = teardown);

static const char FILE_YAML[] = "base_url: http://127.0.0.1:8083\n"
                                "scenarios:\n"
                                "  s:\n"
                                "    executor: shared-iterations\n"
                                "    iterations: 1\n"
                                "    flow:\n"
                                "      - request: GET /bid\n"
                                "        name: bid\n"
                                "        check: {'bid placed': status == 200}\n";

/* One exchange through the step ops: render, the response head, then on_done. */
static void exchange(const struct step *st, void *vu, const char *response, const char *body)
{
    struct dynbuf req;
    dynbuf_init(&req, 1 << 16);
    cr_assert_eq(st->ops->render(st->ops_data, vu, &req), 0, "render");
    struct step_results res = {.n = 0};
    int status = 0;
    if (response != NULL) {
        struct http1_response resp;
        int r = http1_parse_response(response, strlen(response), false, &resp);
        cr_assert_gt(r, 0, "parse the test's response (%d)", r);
        status = resp.status;
        st->ops->on_head(st->ops_data, vu, &resp, &res);
    }
    (void)st->ops->on_done(st->ops_data, vu, status, 1000000, body, body ? strlen(body) : 0, false,
                           &res);
    dynbuf_destroy(&req);
}

Test(http_debug, failed_shows_only_the_exchanges_that_failed)
{
    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t nth = 0;
    char err[512] = "";
    int rc = scenario_load_string(FILE_YAML, strlen(FILE_YAML), "t.yaml", NULL, &plan, &th, &nth,
                                  NULL, err, sizeof err);
    cr_assert_eq(rc, 0, "load: %s", err);
    const struct scenario_plan *sc = &plan->scenarios[0];
    const struct step *st = &sc->steps[0];
    uint64_t seq = 0;
    struct step_vu_ident id = {.vu = 7, .scenario = sc->name, .seq = &seq, .seq_stride = 1};
    void *vu = NULL;
    cr_assert_eq(sc->ops->vu_new(sc->ops_data, &id, &vu), 0, "vu_new");

    /* A passing check: nothing written, nothing held over. */
    exchange(st, vu, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok");
    cr_expect_eq(writes, 0, "a passing exchange was written: %s", written.data);

    /* A failing check: the request, the response head and the (capped) body, once. */
    exchange(st, vu, "HTTP/1.1 409 Conflict\r\nX-Why: outbid\r\nContent-Length: 6\r\n\r\n",
             "outbid");
    cr_expect_eq(writes, 1, "writes for one failed exchange: %u", writes);
    cr_assert_not_null(written.data, "nothing written for a failed check");
    cr_expect(strstr(written.data, "brunt http-debug: vu 7 request:\nGET /bid HTTP/1.1") != NULL,
              "no request block: %s", written.data);
    cr_expect(strstr(written.data, "response:\nHTTP/1.1 409 Conflict\nX-Why: outbid") != NULL,
              "no response head: %s", written.data);
    cr_expect(strstr(written.data, "response body (6 bytes):\noutbid") != NULL, "no body: %s",
              written.data);
    cr_expect(strstr(written.data, "200 OK") == NULL, "the passing exchange leaked in: %s",
              written.data);

    /* Passing again after a failure: nothing more. */
    size_t before = written.len;
    exchange(st, vu, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok");
    cr_expect_eq(written.len, before, "a passing exchange after a failed one was written");

    /* No response at all (a network error): written, saying so. */
    exchange(st, vu, NULL, NULL);
    cr_expect_eq(writes, 2, "writes after a request with no response: %u", writes);
    cr_expect(strstr(written.data + before, "the request failed (no response)") != NULL,
              "no 'no response' line: %s", written.data + before);

    sc->ops->vu_free(vu);
    for (size_t i = 0; i < nth; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(plan);
}

Test(http_debug, heads_mode_still_writes_every_exchange_at_once)
{
    scenario_http_debug = 1;
    struct plan *plan = NULL;
    struct threshold *th = NULL;
    size_t nth = 0;
    char err[512] = "";
    cr_assert_eq(scenario_load_string(FILE_YAML, strlen(FILE_YAML), "t.yaml", NULL, &plan, &th,
                                      &nth, NULL, err, sizeof err),
                 0, "load: %s", err);
    const struct scenario_plan *sc = &plan->scenarios[0];
    uint64_t seq = 0;
    struct step_vu_ident id = {.vu = 1, .scenario = sc->name, .seq = &seq, .seq_stride = 1};
    void *vu = NULL;
    cr_assert_eq(sc->ops->vu_new(sc->ops_data, &id, &vu), 0, "vu_new");
    exchange(&sc->steps[0], vu, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "ok");
    cr_expect_eq(writes, 2, "a request and a response block (%u writes)", writes);
    cr_expect(strstr(written.data, "response body") == NULL, "a body without =full: %s",
              written.data);
    sc->ops->vu_free(vu);
    for (size_t i = 0; i < nth; i++) {
        threshold_destroy(&th[i]);
    }
    free(th);
    plan_free(plan);
}
