/*
 * Tests for the http1 request parser (the server side, used by brunt serve).
 *
 * As in test_http1.c, each case is run the way a server reads a connection: the head
 * is re-parsed from the accumulated prefix until complete, then body bytes go to the
 * decoder as they arrive; fed whole, split in two at every byte boundary, and byte by
 * byte, with the same outcome every time.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

#define MAX_PAYLOAD 4096
#define MAX_MSGS 16

struct req_outcome {
    int err;
    char method[16];
    char target[64];
    int minor;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
    char payload[MAX_PAYLOAD];
    size_t payload_len;
    size_t msg_len;
};

/*
 * Runs raw[0..len) through a server-side reader in the given pieces, then closes.
 * Returns the number of outcomes written.
 */
static size_t run_pieces(const char *raw, size_t len, const size_t *pieces, size_t npieces,
                         struct req_outcome *outs, size_t max_outs)
{
    char *acc = malloc(len + 1);
    size_t acc_len = 0, nouts = 0, off = 0;
    bool in_body = false, stopped = false;
    struct http1_body body;

    cr_assert_not_null(acc);
    memset(&outs[0], 0, sizeof outs[0]);
    for (size_t i = 0; i < npieces && !stopped; i++) {
        memcpy(acc + acc_len, raw + off, pieces[i]);
        acc_len += pieces[i];
        off += pieces[i];
        while (!stopped) {
            struct req_outcome *o = &outs[nouts];
            if (!in_body) {
                struct http1_request req;
                if (acc_len == 0) {
                    break;
                }
                int rc = http1_parse_request(acc, acc_len, &req);
                if (rc == HTTP1_PARTIAL) {
                    break;
                }
                if (rc < 0) {
                    o->err = rc;
                    nouts++;
                    stopped = true;
                    break;
                }
                cr_assert_lt(req.method_len, sizeof o->method, "method length");
                cr_assert_lt(req.target_len, sizeof o->target, "target length");
                memcpy(o->method, req.method, req.method_len);
                memcpy(o->target, req.target, req.target_len);
                o->minor = req.minor_version;
                o->framing = req.framing;
                o->content_length = req.content_length;
                o->keep_alive = req.keep_alive;
                o->expect_continue = req.expect_continue;
                cr_assert_neq(req.framing, HTTP1_BODY_CLOSE, "a request is never CLOSE");
                o->msg_len = (size_t)rc;
                memmove(acc, acc + rc, acc_len - (size_t)rc);
                acc_len -= (size_t)rc;
                http1_body_init(&body, req.framing, req.content_length);
                in_body = true;
            }
            size_t used = 0;
            while (used < acc_len && !http1_body_done(&body)) {
                const char *data;
                size_t data_len;
                ssize_t n = http1_body_feed(&body, acc + used, acc_len - used, &data, &data_len);
                if (n < 0) {
                    o->err = (int)n;
                    stopped = true;
                    break;
                }
                cr_assert(n > 0 || http1_body_done(&body), "no progress");
                cr_assert_leq(o->payload_len + data_len, MAX_PAYLOAD, "payload");
                if (data_len > 0) {
                    memcpy(o->payload + o->payload_len, data, data_len);
                    o->payload_len += data_len;
                }
                used += (size_t)n;
            }
            if (stopped) {
                nouts++;
                break;
            }
            o->msg_len += used;
            memmove(acc, acc + used, acc_len - used);
            acc_len -= used;
            if (!http1_body_done(&body)) {
                break;
            }
            in_body = false;
            nouts++;
            if (nouts == max_outs) {
                stopped = true;
                break;
            }
            memset(&outs[nouts], 0, sizeof outs[nouts]);
        }
    }
    if (!stopped) {
        if (in_body) {
            outs[nouts].err = http1_body_eof(&body);
            nouts++;
        } else if (acc_len > 0) {
            outs[nouts].err = HTTP1_PARTIAL;
            nouts++;
        }
    }
    free(acc);
    return nouts;
}

struct qcase {
    const char *name;
    const char *raw;
    int err;
    const char *method;
    const char *target;
    int minor;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
    const char *body;
};

static const struct qcase cases[] = {
    {"get without body", "GET /auctions?page=2 HTTP/1.1\r\nHost: x\r\n\r\n", 0, "GET",
     "/auctions?page=2", 1, HTTP1_BODY_NONE, 0, true, false, ""},
    {"post with content-length",
     "POST /bid HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"a\":100}", 0, "POST", "/bid", 1,
     HTTP1_BODY_LENGTH, 9, true, false, "{\"a\":100}"},
    {"post chunked with extension and trailer",
     "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n"
     "Digest: z\r\n\r\n",
     0, "POST", "/up", 1, HTTP1_BODY_CHUNKED, 0, true, false, "abcde"},
    {"http/1.1 connection close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "GET", "/", 1,
     HTTP1_BODY_NONE, 0, false, false, ""},
    {"http/1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", 0, "GET", "/", 0, HTTP1_BODY_NONE, 0,
     false, false, ""},
    {"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, "GET", "/", 0,
     HTTP1_BODY_NONE, 0, true, false, ""},
    {"expect 100-continue", "PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nz",
     0, "PUT", "/x", 1, HTTP1_BODY_LENGTH, 1, true, true, "z"},
    {"expect ignored in http/1.0",
     "PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz", 0, "PUT", "/x", 0,
     HTTP1_BODY_LENGTH, 1, false, false, "z"},
    {"other expectation", "GET / HTTP/1.1\r\nExpect: something\r\n\r\n", 0, "GET", "/", 1,
     HTTP1_BODY_NONE, 0, true, false, ""},
    {"leading empty lines skipped", "\r\n\nGET / HTTP/1.1\r\n\r\n", 0, "GET", "/", 1,
     HTTP1_BODY_NONE, 0, true, false, ""},
    {"bare lf", "DELETE /a HTTP/1.1\nContent-Length: 2\n\nok", 0, "DELETE", "/a", 1,
     HTTP1_BODY_LENGTH, 2, true, false, "ok"},
    {"absolute-form target", "GET http://example.com/x HTTP/1.1\r\n\r\n", 0, "GET",
     "http://example.com/x", 1, HTTP1_BODY_NONE, 0, true, false, ""},
    {"asterisk-form target", "OPTIONS * HTTP/1.1\r\n\r\n", 0, "OPTIONS", "*", 1, HTTP1_BODY_NONE, 0,
     true, false, ""},
    {"authority-form target", "CONNECT example.com:443 HTTP/1.1\r\n\r\n", 0, "CONNECT",
     "example.com:443", 1, HTTP1_BODY_NONE, 0, true, false, ""},
    {"extension method", "PURGE /cache HTTP/1.1\r\n\r\n", 0, "PURGE", "/cache", 1, HTTP1_BODY_NONE,
     0, true, false, ""},
    {"chunked request in http/1.0 closes after",
     "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
     "POST", "/", 0, HTTP1_BODY_CHUNKED, 0, false, false, ""},

    {"content-length and chunked",
     "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n",
     HTTP1_EPROTO},
    {"transfer-encoding not chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
     HTTP1_EPROTO},
    {"conflicting content-length",
     "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP1_EPROTO},
    {"content-length overflow", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
     HTTP1_EPROTO},
    {"invalid method", "G@T / HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"empty method", " / HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"space in target", "GET /a b HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"control in target", "GET /a\x01 HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"empty target", "GET  HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"target not a form", "GET ?x HTTP/1.1\r\n\r\n", HTTP1_EPROTO},
    {"missing version", "GET /\r\n\r\n", HTTP1_EPROTO},
    {"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP1_EPROTO},
    {"lower-case version", "GET / http/1.1\r\n\r\n", HTTP1_EPROTO},
    {"trailing space after version", "GET / HTTP/1.1 \r\n\r\n", HTTP1_EPROTO},
    {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HTTP1_EPROTO},
    {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", HTTP1_EPROTO},
    {"bad chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", HTTP1_EPROTO},
    {"truncated body", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", HTTP1_EPROTO},
    {"truncated head", "GET / HTTP/1.1\r\nHost: x\r\n", HTTP1_PARTIAL},
};

#define NCASES (sizeof cases / sizeof cases[0])

static bool check(const struct qcase *c, const struct req_outcome *o, size_t nouts, const char *how)
{
    cr_expect_eq(nouts, 1, "%s [%s]: %zu messages vs 1", c->name, how, nouts);
    if (nouts != 1) {
        return false;
    }
    cr_expect_eq(o->err, c->err, "%s [%s]: err %d (%s) vs %d (%s)", c->name, how, o->err,
                 brunt_strerror(o->err), c->err, brunt_strerror(c->err));
    if (o->err != c->err || c->err != 0) {
        return o->err == c->err;
    }
    bool ok = strcmp(o->method, c->method) == 0 && strcmp(o->target, c->target) == 0 &&
              o->minor == c->minor && o->framing == c->framing &&
              o->content_length == c->content_length && o->keep_alive == c->keep_alive &&
              o->expect_continue == c->expect_continue && o->msg_len == strlen(c->raw) &&
              o->payload_len == strlen(c->body) && memcmp(o->payload, c->body, o->payload_len) == 0;
    cr_expect(ok,
              "%s [%s]: method %s/%s target %s/%s minor %d/%d framing %d/%d length %llu/%llu "
              "keep-alive %d/%d expect %d/%d msg_len %zu/%zu payload '%.*s' vs '%s'",
              c->name, how, o->method, c->method, o->target, c->target, o->minor, c->minor,
              o->framing, c->framing, (unsigned long long)o->content_length,
              (unsigned long long)c->content_length, o->keep_alive, c->keep_alive,
              o->expect_continue, c->expect_continue, o->msg_len, strlen(c->raw),
              (int)o->payload_len, o->payload, c->body);
    return ok;
}

static struct req_outcome outs[MAX_MSGS];

Test(http1_request, table_fed_whole)
{
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = strlen(cases[i].raw);
        size_t n = run_pieces(cases[i].raw, len, &len, 1, outs, 1);
        check(&cases[i], &outs[0], n, "whole");
    }
}

Test(http1_request, table_split_in_two_at_every_byte)
{
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = strlen(cases[i].raw);
        for (size_t k = 0; k <= len; k++) {
            size_t pieces[2] = {k, len - k};
            char how[32];
            snprintf(how, sizeof how, "split at %zu", k);
            size_t n = run_pieces(cases[i].raw, len, pieces, 2, outs, 1);
            if (!check(&cases[i], &outs[0], n, how)) {
                break;
            }
        }
    }
}

Test(http1_request, table_fed_byte_by_byte)
{
    static size_t ones[1024];
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) {
        ones[i] = 1;
    }
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = strlen(cases[i].raw);
        cr_assert_leq(len, sizeof ones / sizeof ones[0], "case too long");
        size_t n = run_pieces(cases[i].raw, len, ones, len, outs, 1);
        check(&cases[i], &outs[0], n, "byte by byte");
    }
}

Test(http1_request, pipelined_requests_back_to_back)
{
    static char buf[8192];
    const struct qcase *order[MAX_MSGS];
    size_t len = 0, count = 0;
    for (size_t i = 0; i < NCASES && count < MAX_MSGS; i++) {
        /* Leading empty lines would attach to the previous message's length. */
        if (cases[i].err != 0 || cases[i].raw[0] == '\r') {
            continue;
        }
        size_t l = strlen(cases[i].raw);
        memcpy(buf + len, cases[i].raw, l);
        len += l;
        order[count++] = &cases[i];
    }
    cr_assert_geq(count, 10, "pipeline of %zu", count);
    for (size_t k = 0; k <= len; k++) {
        size_t pieces[2] = {k, len - k};
        size_t n = run_pieces(buf, len, pieces, 2, outs, MAX_MSGS);
        cr_assert_eq(n, count, "split %zu: %zu messages vs %zu", k, n, count);
        for (size_t m = 0; m < n; m++) {
            char how[48];
            snprintf(how, sizeof how, "pipelined #%zu split at %zu", m, k);
            if (!check(order[m], &outs[m], 1, how)) {
                cr_assert_fail("stopping at the first mismatch");
            }
        }
    }
}

Test(http1_request, request_head_over_byte_cap_is_too_large)
{
    static char buf[HTTP1_MAX_HEAD_BYTES + 64];
    struct http1_request r;
    size_t n = (size_t)sprintf(buf, "GET /");
    memset(buf + n, 'a', sizeof buf - n);
    int rc = http1_parse_request(buf, sizeof buf, &r);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "rc %d (%s)", rc, brunt_strerror(rc));
    rc = http1_parse_request(buf, HTTP1_MAX_HEAD_BYTES - 1, &r);
    cr_expect_eq(rc, HTTP1_PARTIAL, "below the cap rc %d", rc);
}

Test(http1_request, too_many_fields)
{
    static char buf[8192];
    struct http1_request r;
    size_t n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP1_MAX_HEADERS; i++) {
        n += (size_t)sprintf(buf + n, "H%d: %d\r\n", i, i);
    }
    n += (size_t)sprintf(buf + n, "\r\n");
    int rc = http1_parse_request(buf, n, &r);
    cr_expect_eq(rc, HTTP1_ETOOMANY, "rc %d (%s)", rc, brunt_strerror(rc));
}

Test(http1_request, headers_found_case_insensitively)
{
    const char raw[] = "GET / HTTP/1.1\r\nHOST: example.com \r\nUser-Agent:brunt\r\n\r\n";
    struct http1_request r;
    int rc = http1_parse_request(raw, sizeof raw - 1, &r);
    cr_assert_eq(rc, (int)sizeof raw - 1, "rc %d", rc);
    const struct http1_header *h = http1_find_header(r.headers, r.num_headers, "host");
    cr_assert_not_null(h);
    cr_expect(h->value_len == 11 && memcmp(h->value, "example.com", 11) == 0, "host '%.*s'",
              (int)h->value_len, h->value);
    h = http1_find_header(r.headers, r.num_headers, "user-agent");
    cr_assert_not_null(h);
    cr_expect(h->value_len == 5 && memcmp(h->value, "brunt", 5) == 0, "ua '%.*s'",
              (int)h->value_len, h->value);
}
