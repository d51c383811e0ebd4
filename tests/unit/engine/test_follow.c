/*
 * Tests for the redirect seam (step_ops.follow, engine/step.h): a hop is a request and a
 * sample of its own on the same step, on_done sees only the final answer, and a hop to
 * another origin goes over a new connection.
 */
#include "harness.h"

/* harness.h helpers this file does not call */
static uint64_t (*const f_unused_max)(struct harness *, int) __attribute__((unused)) = h_max_ns;

#define R302 "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static struct origin f_other; /* an origin outside the plan (as a redirect's may be) */
static int f_hops_left;       /* follow says yes this many times */
static bool f_cross;          /* hops go to f_other */
static int f_done_status[4];  /* on_done's statuses, in order */
static int f_done;

static size_t f_check_count(const void *step)
{
    (void)step;
    return 0;
}
static const char *f_check_name(const void *step, size_t i)
{
    (void)step;
    (void)i;
    return "";
}
static bool f_expected(const void *step, int status)
{
    (void)step;
    return status >= 200 && status < 400;
}
static size_t f_body_cap(const void *step)
{
    (void)step;
    return 16;
}
static uint64_t f_timeout(const void *step)
{
    (void)step;
    return 0;
}
static int f_render(const void *step, void *vu, struct dynbuf *out)
{
    (void)step;
    (void)vu;
    return dynbuf_adds(out, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
}
static enum step_verdict f_on_done(const void *step, void *vu, int status, uint64_t d,
                                   const char *body, size_t len, bool trunc,
                                   struct step_results *res)
{
    (void)step, (void)vu, (void)d, (void)body, (void)len, (void)trunc, (void)res;
    if (f_done < 4) {
        f_done_status[f_done] = status;
    }
    f_done++;
    return STEP_CONTINUE;
}
static bool f_follow(const void *step, void *vu, struct dynbuf *out, const struct origin **origin)
{
    (void)step;
    (void)vu;
    if (f_hops_left == 0) {
        return false;
    }
    f_hops_left--;
    cr_assert(out->len > 6 && memcmp(out->data, "GET /", 5) == 0, "out holds the last request");
    dynbuf_reset(out);
    (void)dynbuf_adds(out, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    if (f_cross) {
        *origin = &f_other;
    }
    return true;
}

static const struct step_ops f_ops = {
    .check_count = f_check_count,
    .check_name = f_check_name,
    .status_expected = f_expected,
    .body_cap = f_body_cap,
    .timeout_ns = f_timeout,
    .render = f_render,
    .on_done = f_on_done,
    .follow = f_follow,
};

static void f_setup(bool cross)
{
    h_ops = &f_ops;
    f_hops_left = 1;
    f_cross = cross;
    f_done = 0;
    memset(&f_other, 0, sizeof f_other);
    f_other.transport = &sp_transport;
    f_other.addr_len = sizeof(struct sockaddr);
}

/* Starts a one-iteration VU whose first request is answered by a 302. */
static void f_first_hop(struct harness *h, bool cross, char *buf, size_t cap)
{
    f_setup(cross);
    h_init(h, 1, 0);
    h_run(h);
    h_recv(0, buf, cap);
    cr_assert(strncmp(buf, "GET /a ", 7) == 0, "first request: %s", buf);
    h_send(0, R302, strlen(R302));
    h_run(h);
}

Test(follow, a_hop_is_its_own_sample_and_on_done_sees_the_final_answer)
{
    struct harness h;
    char buf[512];
    f_first_hop(&h, false, buf, sizeof buf);
    h_recv(0, buf, sizeof buf);
    cr_assert(strncmp(buf, "GET /b ", 7) == 0, "the hop on the same connection: %s", buf);
    cr_expect_eq(f_done, 0, "on_done waits for the final answer");
    h_send(0, OK200, strlen(OK200));
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "two requests counted");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=302"), 1);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=200"), 1);
    cr_expect_eq(f_done, 1, "on_done once");
    cr_expect_eq(f_done_status[0], 200);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    cr_expect_eq(h_connects, 1, "same origin: one keep-alive connection");
    h_destroy(&h);
    h_ops = NULL;
}

Test(follow, a_hop_to_another_origin_opens_a_new_connection)
{
    struct harness h;
    char buf[512];
    f_first_hop(&h, true, buf, sizeof buf);
    cr_assert_eq(h_connects, 2, "a second connection for the other origin");
    h_recv(1, buf, sizeof buf);
    cr_assert(strncmp(buf, "GET /b ", 7) == 0, "the hop on the new connection: %s", buf);
    cr_expect_eq(h.vu->tc.cache, NULL, "an origin outside the plan has no cache slot");
    h_send(1, OK200, strlen(OK200));
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2);
    cr_expect_eq(f_done, 1);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    h_destroy(&h);
    h_ops = NULL;
}

Test(follow, a_failed_hop_fails_the_step_once)
{
    struct harness h;
    char buf[512];
    f_first_hop(&h, false, buf, sizeof buf);
    h_recv(0, buf, sizeof buf);
    /* The server closes without answering the hop: on the reused connection that is
     * re-sent once on a new one (conn.c's stale-close rule); closed again, it fails. */
    close(h_peer[0]);
    h_peer[0] = -1;
    h_run(&h);
    cr_assert_eq(h_connects, 2, "the hop re-sent once on a new connection");
    h_recv(1, buf, sizeof buf);
    cr_assert(strncmp(buf, "GET /b ", 7) == 0, "the re-sent hop: %s", buf);
    close(h_peer[1]);
    h_peer[1] = -1;
    h_run(&h);
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, ""), 2, "the 302 and the failed hop");
    cr_expect_eq(h_sum(&h, M_HTTP_REQS, "status=0"), 1);
    cr_expect_eq(f_done, 1, "on_done once, for the failure");
    cr_expect_eq(f_done_status[0], 0);
    cr_expect_eq(h_sum(&h, M_ITERATIONS, ""), 1);
    h_destroy(&h);
    h_ops = NULL;
}
