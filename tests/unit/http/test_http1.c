/*
 * Tests for the http1 response parser and body decoder (the client side).
 *
 * Every case of the table is run as a caller would run it over a socket: bytes arrive
 * in pieces, the head is re-parsed from the accumulated prefix until it is complete,
 * and the body bytes are fed to the decoder as they arrive.  Each case is fed whole,
 * split in two at every byte boundary, and byte by byte, and must give the same
 * outcome every time.  The request side lives in test_http1_request.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

#define MAX_PAYLOAD 8192
#define MAX_MSGS 16

struct outcome {
    int err; /* 0, or the first error seen (PARTIAL for a truncated head) */
    int status;
    int minor;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
    int interim; /* 1xx heads skipped before this one */
    char payload[MAX_PAYLOAD];
    size_t payload_len;
    size_t msg_len; /* bytes of this message, interim heads included */
};

/* The state of a caller reading a stream of responses. */
struct reader {
    bool head_request;
    char *acc; /* received, not yet consumed */
    size_t acc_len;
    bool in_body;
    struct http1_body body;
    struct outcome *outs;
    size_t nouts;
    size_t max_outs;
    bool stopped; /* an error ended the stream */
};

static struct outcome *cur(struct reader *r)
{
    return &r->outs[r->nouts];
}

static void finish_message(struct reader *r)
{
    r->in_body = false;
    r->nouts++;
    if (r->nouts == r->max_outs) {
        r->stopped = true;
    } else {
        memset(cur(r), 0, sizeof *cur(r));
    }
}

static void fail_message(struct reader *r, int err)
{
    cur(r)->err = err;
    r->stopped = true;
    r->nouts++;
}

static void consume(struct reader *r, size_t n)
{
    memmove(r->acc, r->acc + n, r->acc_len - n);
    r->acc_len -= n;
}

/* Processes what has been received so far. */
static void reader_process(struct reader *r)
{
    while (!r->stopped) {
        if (!r->in_body) {
            struct http1_response resp;
            if (r->acc_len == 0) {
                return;
            }
            int rc = http1_parse_response(r->acc, r->acc_len, r->head_request, &resp);
            if (rc == HTTP1_PARTIAL) {
                return;
            }
            if (rc < 0) {
                fail_message(r, rc);
                return;
            }
            struct outcome *o = cur(r);
            o->msg_len += (size_t)rc;
            consume(r, (size_t)rc);
            if (resp.status < 200 && resp.status != 101) {
                cr_assert_eq(resp.framing, HTTP1_BODY_NONE, "1xx framing %d", resp.framing);
                o->interim++;
                continue;
            }
            o->status = resp.status;
            o->minor = resp.minor_version;
            o->framing = resp.framing;
            o->content_length = resp.content_length;
            o->keep_alive = resp.keep_alive;
            http1_body_init(&r->body, resp.framing, resp.content_length);
            r->in_body = true;
        }
        if (http1_body_done(&r->body)) {
            finish_message(r);
            continue;
        }
        if (r->acc_len == 0) {
            return;
        }
        size_t off = 0;
        while (off < r->acc_len && !http1_body_done(&r->body)) {
            const char *data = NULL;
            size_t data_len = 0;
            ssize_t n = http1_body_feed(&r->body, r->acc + off, r->acc_len - off, &data, &data_len);
            if (n < 0) {
                fail_message(r, (int)n);
                return;
            }
            cr_assert_leq((size_t)n, r->acc_len - off, "consumed %zd of %zu", n, r->acc_len - off);
            cr_assert(n > 0 || http1_body_done(&r->body), "no progress");
            if (data_len > 0) {
                struct outcome *o = cur(r);
                cr_assert(data >= r->acc + off && data + data_len <= r->acc + off + n,
                          "span outside the consumed bytes");
                cr_assert_leq(o->payload_len + data_len, MAX_PAYLOAD, "payload too big");
                memcpy(o->payload + o->payload_len, data, data_len);
                o->payload_len += data_len;
            }
            off += (size_t)n;
        }
        cur(r)->msg_len += off;
        consume(r, off);
        cr_assert_eq(http1_body_decoded(&r->body), cur(r)->payload_len,
                     "decoded %llu vs delivered %zu",
                     (unsigned long long)http1_body_decoded(&r->body), cur(r)->payload_len);
        if (!http1_body_done(&r->body)) {
            return;
        }
    }
}

/* The peer closed the connection. */
static void reader_eof(struct reader *r)
{
    if (r->stopped) {
        return;
    }
    if (r->in_body) {
        int rc = http1_body_eof(&r->body);
        if (rc != 0) {
            fail_message(r, rc);
        } else {
            finish_message(r);
        }
    } else if (r->acc_len > 0 || cur(r)->interim > 0) {
        fail_message(r, HTTP1_PARTIAL);
    }
}

/*
 * Runs raw[0..len) through a reader in the given pieces (lengths summing to len), then
 * closes.  Returns the number of outcomes written to outs.
 */
static size_t run_pieces(const char *raw, size_t len, bool head_request, const size_t *pieces,
                         size_t npieces, struct outcome *outs, size_t max_outs)
{
    struct reader r = {
        .head_request = head_request,
        .acc = malloc(len + 1),
        .outs = outs,
        .max_outs = max_outs,
    };
    cr_assert_not_null(r.acc);
    memset(&outs[0], 0, sizeof outs[0]);
    size_t off = 0;
    for (size_t i = 0; i < npieces && !r.stopped; i++) {
        memcpy(r.acc + r.acc_len, raw + off, pieces[i]);
        r.acc_len += pieces[i];
        off += pieces[i];
        reader_process(&r);
    }
    reader_eof(&r);
    free(r.acc);
    return r.nouts;
}

struct rcase {
    const char *name;
    const char *raw;
    size_t raw_len; /* 0: strlen(raw) */
    bool head_request;
    int err;
    int status;
    int minor;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
    int interim;
    const char *body;
};

#define OK200 "HTTP/1.1 200 OK\r\n"

static const struct rcase cases[] = {
    {"content-length", OK200 "Content-Length: 5\r\n\r\nhello", .status = 200, .minor = 1,
     .framing = HTTP1_BODY_LENGTH, .content_length = 5, .keep_alive = true, .body = "hello"},
    {"content-length zero", OK200 "Content-Length: 0\r\n\r\n", .status = 200, .minor = 1,
     .framing = HTTP1_BODY_LENGTH, .keep_alive = true, .body = ""},
    {"content-length with white space", OK200 "Content-Length:   3  \r\n\r\nabc", .status = 200,
     .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 3, .keep_alive = true,
     .body = "abc"},
    {"content-length duplicates agree", OK200 "Content-Length: 2\r\nContent-Length: 2, 2\r\n\r\nab",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 2,
     .keep_alive = true, .body = "ab"},
    {"http/1.0 without keep-alive closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
     .status = 200, .minor = 0, .framing = HTTP1_BODY_LENGTH, .content_length = 2,
     .keep_alive = false, .body = "hi"},
    {"http/1.0 with keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi", .status = 200,
     .minor = 0, .framing = HTTP1_BODY_LENGTH, .content_length = 2, .keep_alive = true,
     .body = "hi"},
    {"http/1.1 connection close", OK200 "Connection: close\r\nContent-Length: 2\r\n\r\nhi",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 2,
     .keep_alive = false, .body = "hi"},
    {"connection token list with close",
     OK200 "Connection: keep-alive, CLOSE\r\nContent-Length: 2\r\n\r\nhi", .status = 200,
     .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 2, .keep_alive = false,
     .body = "hi"},
    {"connection upgrade is not close", OK200 "Connection: Upgrade\r\nContent-Length: 2\r\n\r\nhi",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 2,
     .keep_alive = true, .body = "hi"},
    {"chunked", OK200 "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true,
     .body = "hello world"},
    {"chunked with extensions",
     OK200 "Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1 ; a=\"b;c\"\r\n!\r\n"
           "0;last\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true,
     .body = "hello!"},
    {"chunked with trailers",
     OK200 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 1\r\nY: 2\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true, .body = "abc"},
    {"chunked hex upper and lower with leading zeros",
     OK200 "Transfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true,
     .body = "0123456789abcdefghijk"},
    {"chunked is case-insensitive and last",
     OK200 "Transfer-Encoding: gzip, Chunked\r\n\r\n"
           "2\r\nok\r\n0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true, .body = "ok"},
    {"chunked over two transfer-encoding fields",
     OK200 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true, .body = "ok"},
    {"chunked wins over content-length and closes after",
     OK200 "Content-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = false, .body = "ok"},
    {"bare lf line endings", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", .status = 200, .minor = 1,
     .framing = HTTP1_BODY_LENGTH, .content_length = 2, .keep_alive = true, .body = "hi"},
    {"bare lf in chunked framing",
     "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n3;x\nabc\n0\nT: 1\n\n", .status = 200,
     .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true, .body = "hiabc"},
    {"close-delimited", OK200 "Content-Type: text/plain\r\n\r\nuntil the end", .status = 200,
     .minor = 1, .framing = HTTP1_BODY_CLOSE, .keep_alive = false, .body = "until the end"},
    {"close-delimited empty", OK200 "\r\n", .status = 200, .minor = 1, .framing = HTTP1_BODY_CLOSE,
     .keep_alive = false, .body = ""},
    {"close-delimited http/1.0 keep-alive ignored",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nxyz", .status = 200, .minor = 0,
     .framing = HTTP1_BODY_CLOSE, .keep_alive = false, .body = "xyz"},
    {"status without reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", .status = 200,
     .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 1, .keep_alive = true,
     .body = "x"},
    {"status with empty reason", "HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\nx", .status = 404,
     .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 1, .keep_alive = true,
     .body = "x"},
    {"204 has no body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", .status = 204,
     .minor = 1, .framing = HTTP1_BODY_NONE, .keep_alive = true, .body = ""},
    {"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", .status = 304,
     .minor = 1, .framing = HTTP1_BODY_NONE, .keep_alive = true, .body = ""},
    {"head response has no body", OK200 "Content-Length: 5\r\n\r\n", .head_request = true,
     .status = 200, .minor = 1, .framing = HTTP1_BODY_NONE, .keep_alive = true, .body = ""},
    {"head response chunked has no body", OK200 "Transfer-Encoding: chunked\r\n\r\n",
     .head_request = true, .status = 200, .minor = 1, .framing = HTTP1_BODY_NONE,
     .keep_alive = true, .body = ""},
    {"100 continue then final", "HTTP/1.1 100 Continue\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nok",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_LENGTH, .content_length = 2,
     .keep_alive = true, .interim = 1, .body = "ok"},
    {"two interim responses then final",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
     "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
     .status = 201, .minor = 1, .framing = HTTP1_BODY_CHUNKED, .keep_alive = true, .interim = 2,
     .body = "z"},
    {"101 switching protocols",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\n\r\n",
     .status = 101, .minor = 1, .framing = HTTP1_BODY_NONE, .keep_alive = false, .body = ""},
    {"later minor version treated as 1.1", "HTTP/1.7 200 OK\r\nContent-Length: 0\r\n\r\n",
     .status = 200, .minor = 1, .framing = HTTP1_BODY_LENGTH, .keep_alive = true, .body = ""},
    {"binary payload", OK200 "Content-Length: 4\r\n\r\n\0\r\n\xff",
     sizeof(OK200 "Content-Length: 4\r\n\r\n\0\r\n\xff") - 1, .status = 200, .minor = 1,
     .framing = HTTP1_BODY_LENGTH, .content_length = 4, .keep_alive = true, .body = "\0\r\n\xff"},

    /* Malformed heads. */
    {"conflicting content-length", OK200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
     .err = HTTP1_EPROTO},
    {"conflicting content-length list", OK200 "Content-Length: 5, 6\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length not digits", OK200 "Content-Length: abc\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length negative", OK200 "Content-Length: -1\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length plus sign", OK200 "Content-Length: +1\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length empty", OK200 "Content-Length:\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length only commas", OK200 "Content-Length: ,\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length inner space", OK200 "Content-Length: 1 2\r\n\r\n", .err = HTTP1_EPROTO},
    {"content-length overflow", OK200 "Content-Length: 18446744073709551616\r\n\r\n",
     .err = HTTP1_EPROTO},
    {"transfer-encoding not chunked", OK200 "Transfer-Encoding: gzip\r\n\r\n", .err = HTTP1_EPROTO},
    {"transfer-encoding chunked not last", OK200 "Transfer-Encoding: chunked, gzip\r\n\r\n",
     .err = HTTP1_EPROTO},
    {"transfer-encoding chunked twice", OK200 "Transfer-Encoding: chunked, chunked\r\n\r\n",
     .err = HTTP1_EPROTO},
    {"obs-fold", OK200 "X-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n", .err = HTTP1_EPROTO},
    {"obs-fold with tab", OK200 "X-Long: a\r\n\tb\r\n\r\n", .err = HTTP1_EPROTO},
    {"space before colon", OK200 "Content-Length : 0\r\n\r\n", .err = HTTP1_EPROTO},
    {"invalid name character", OK200 "X(y): 1\r\n\r\n", .err = HTTP1_EPROTO},
    {"empty name", OK200 ": 1\r\n\r\n", .err = HTTP1_EPROTO},
    {"no colon", OK200 "Content-Length\r\n\r\n", .err = HTTP1_EPROTO},
    {"control character in value",
     OK200 "X: a\x01"
           "b\r\n\r\n",
     .err = HTTP1_EPROTO},
    {"nul in value", OK200 "X: a\0b\r\n\r\n", sizeof(OK200 "X: a\0b\r\n\r\n") - 1,
     .err = HTTP1_EPROTO},
    {"bare cr in value", OK200 "X: a\rb\r\n\r\n", .err = HTTP1_EPROTO},
    {"http/2 status line", "HTTP/2.0 200 OK\r\n\r\n", .err = HTTP1_EPROTO},
    {"lower-case protocol", "http/1.1 200 OK\r\n\r\n", .err = HTTP1_EPROTO},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", .err = HTTP1_EPROTO},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", .err = HTTP1_EPROTO},
    {"status below 100", "HTTP/1.1 099 OK\r\n\r\n", .err = HTTP1_EPROTO},
    {"no space after version", "HTTP/1.1\r\n\r\n", .err = HTTP1_EPROTO},
    {"leading empty line", "\r\n" OK200 "\r\n", .err = HTTP1_EPROTO},
    {"not http at all", "SSH-2.0-OpenSSH_9.0\r\n", .err = HTTP1_EPROTO},

    /* Malformed or truncated bodies. */
    {"chunk size not hex", OK200 "Transfer-Encoding: chunked\r\n\r\nzz\r\n", .err = HTTP1_EPROTO},
    {"chunk size missing", OK200 "Transfer-Encoding: chunked\r\n\r\n\r\n", .err = HTTP1_EPROTO},
    {"chunk size with sign", OK200 "Transfer-Encoding: chunked\r\n\r\n-1\r\n", .err = HTTP1_EPROTO},
    {"chunk size overflow", OK200 "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
     .err = HTTP1_EPROTO},
    {"chunk data not followed by crlf",
     OK200 "Transfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n", .err = HTTP1_EPROTO},
    {"chunk data cr without lf", OK200 "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\rX",
     .err = HTTP1_EPROTO},
    {"junk after chunk size", OK200 "Transfer-Encoding: chunked\r\n\r\n2 x\r\nhi\r\n",
     .err = HTTP1_EPROTO},
    {"control character in chunk extension",
     OK200 "Transfer-Encoding: chunked\r\n\r\n2;\x01\r\nhi\r\n", .err = HTTP1_EPROTO},
    {"truncated content-length body", OK200 "Content-Length: 10\r\n\r\nhello", .err = HTTP1_EPROTO},
    {"truncated chunked body", OK200 "Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
     .err = HTTP1_EPROTO},
    {"chunked without last chunk", OK200 "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
     .err = HTTP1_EPROTO},
    {"chunked without final crlf", OK200 "Transfer-Encoding: chunked\r\n\r\n0\r\n",
     .err = HTTP1_EPROTO},
    {"truncated head", OK200 "Content-Length: 5\r\n", .err = HTTP1_PARTIAL},
    {"interim then nothing", "HTTP/1.1 100 Continue\r\n\r\n", .err = HTTP1_PARTIAL},
};

#define NCASES (sizeof cases / sizeof cases[0])

static size_t case_len(const struct rcase *c)
{
    return c->raw_len != 0 ? c->raw_len : strlen(c->raw);
}

static size_t body_len(const struct rcase *c)
{
    /* The binary payload case embeds a NUL. */
    if (strcmp(c->name, "binary payload") == 0) {
        return 4;
    }
    return c->body == NULL ? 0 : strlen(c->body);
}

/* Compares one outcome with the case; returns false (after an expect) on mismatch. */
static bool check_outcome(const struct rcase *c, const struct outcome *o, size_t nouts,
                          const char *how)
{
    size_t len = case_len(c);
    cr_expect_eq(nouts, 1, "%s [%s]: %zu messages vs 1", c->name, how, nouts);
    if (nouts != 1) {
        return false;
    }
    cr_expect_eq(o->err, c->err, "%s [%s]: err %d (%s) vs %d (%s)", c->name, how, o->err,
                 brunt_strerror(o->err), c->err, brunt_strerror(c->err));
    if (o->err != c->err) {
        return false;
    }
    if (c->err != 0) {
        return true;
    }
    bool ok = o->status == c->status && o->minor == c->minor && o->framing == c->framing &&
              o->content_length == c->content_length && o->keep_alive == c->keep_alive &&
              o->interim == c->interim && o->msg_len == len && o->payload_len == body_len(c) &&
              memcmp(o->payload, c->body, body_len(c)) == 0;
    cr_expect(ok,
              "%s [%s]: status %d/%d minor %d/%d framing %d/%d length %llu/%llu keep-alive "
              "%d/%d interim %d/%d msg_len %zu/%zu payload %zu bytes '%.*s' vs '%s'",
              c->name, how, o->status, c->status, o->minor, c->minor, o->framing, c->framing,
              (unsigned long long)o->content_length, (unsigned long long)c->content_length,
              o->keep_alive, c->keep_alive, o->interim, c->interim, o->msg_len, len, o->payload_len,
              (int)o->payload_len, o->payload, c->body);
    return ok;
}

static struct outcome outs[MAX_MSGS];

Test(http1_response, table_fed_whole)
{
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = case_len(&cases[i]);
        size_t n = run_pieces(cases[i].raw, len, cases[i].head_request, &len, 1, outs, 1);
        check_outcome(&cases[i], &outs[0], n, "whole");
    }
}

Test(http1_response, table_split_in_two_at_every_byte)
{
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = case_len(&cases[i]);
        for (size_t k = 0; k <= len; k++) {
            size_t pieces[2] = {k, len - k};
            char how[32];
            snprintf(how, sizeof how, "split at %zu", k);
            size_t n = run_pieces(cases[i].raw, len, cases[i].head_request, pieces, 2, outs, 1);
            if (!check_outcome(&cases[i], &outs[0], n, how)) {
                break;
            }
        }
    }
}

Test(http1_response, table_fed_byte_by_byte)
{
    static size_t ones[4096];
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) {
        ones[i] = 1;
    }
    for (size_t i = 0; i < NCASES; i++) {
        size_t len = case_len(&cases[i]);
        cr_assert_leq(len, sizeof ones / sizeof ones[0], "case too long");
        size_t n = run_pieces(cases[i].raw, len, cases[i].head_request, ones, len, outs, 1);
        check_outcome(&cases[i], &outs[0], n, "byte by byte");
    }
}

/* All valid cases that end by themselves, back to back on one connection. */
static size_t build_pipeline(char *buf, size_t cap, const struct rcase **order, size_t max,
                             size_t *count)
{
    size_t len = 0, n = 0;
    for (size_t i = 0; i < NCASES && n < max; i++) {
        const struct rcase *c = &cases[i];
        if (c->err != 0 || c->framing == HTTP1_BODY_CLOSE || c->head_request || c->status == 101) {
            continue;
        }
        size_t l = case_len(c);
        cr_assert_leq(len + l, cap, "pipeline buffer");
        memcpy(buf + len, c->raw, l);
        len += l;
        order[n++] = c;
    }
    *count = n;
    return len;
}

Test(http1_response, pipelined_responses_back_to_back)
{
    static char buf[16384];
    const struct rcase *order[MAX_MSGS];
    size_t expect;
    size_t len = build_pipeline(buf, sizeof buf, order, MAX_MSGS, &expect);
    cr_assert_geq(expect, 8, "pipeline has %zu messages", expect);

    /* Whole, then split in two at every byte boundary. */
    for (size_t k = 0; k <= len; k++) {
        size_t pieces[2] = {k, len - k};
        size_t n = run_pieces(buf, len, false, pieces, 2, outs, MAX_MSGS);
        cr_assert_eq(n, expect, "split %zu: %zu messages vs %zu", k, n, expect);
        for (size_t m = 0; m < n; m++) {
            char how[48];
            snprintf(how, sizeof how, "pipelined #%zu split at %zu", m, k);
            if (!check_outcome(order[m], &outs[m], 1, how)) {
                cr_assert_fail("stopping at the first mismatch");
            }
        }
    }
}

Test(http1_response, pipelined_after_close_delimited_is_body)
{
    const char raw[] = OK200 "\r\n" OK200 "Content-Length: 0\r\n\r\n";
    size_t len = sizeof raw - 1;
    size_t n = run_pieces(raw, len, false, &len, 1, outs, MAX_MSGS);
    cr_assert_eq(n, 1, "%zu messages vs 1", n);
    cr_expect_eq(outs[0].payload_len, sizeof(OK200 "Content-Length: 0\r\n\r\n") - 1,
                 "close-delimited body swallowed %zu bytes", outs[0].payload_len);
}

Test(http1_response, headers_point_into_buffer_and_are_trimmed)
{
    const char raw[] = "HTTP/1.1 200 Fine Thanks\r\nX-A:  spaced value \t\r\nx-b:\r\n"
                       "Content-Length: 0\r\n\r\n";
    struct http1_response r;
    int rc = http1_parse_response(raw, sizeof raw - 1, false, &r);
    cr_assert_eq(rc, (int)sizeof raw - 1, "rc %d vs %zu", rc, sizeof raw - 1);
    cr_expect_eq(r.num_headers, 3, "%zu headers", r.num_headers);
    cr_expect_eq(r.reason_len, 11, "reason length %zu", r.reason_len);
    cr_expect(memcmp(r.reason, "Fine Thanks", 11) == 0, "reason '%.*s'", (int)r.reason_len,
              r.reason);
    const struct http1_header *h = http1_find_header(r.headers, r.num_headers, "x-a");
    cr_assert_not_null(h, "X-A not found");
    cr_expect(h->value >= raw && h->value < raw + sizeof raw, "value points into buf");
    cr_expect_eq(h->value_len, 12, "value length %zu vs 12", h->value_len);
    cr_expect(memcmp(h->value, "spaced value", 12) == 0, "value '%.*s'", (int)h->value_len,
              h->value);
    h = http1_find_header(r.headers, r.num_headers, "X-B");
    cr_assert_not_null(h, "x-b not found");
    cr_expect_eq(h->value_len, 0, "empty value length %zu", h->value_len);
    cr_expect_null(http1_find_header(r.headers, r.num_headers, "X-C"), "absent header");
    cr_expect_null(http1_find_header(r.headers, r.num_headers, "X-"), "prefix is no match");
}

Test(http1_response, head_length_excludes_body)
{
    const char raw[] = OK200 "Content-Length: 3\r\n\r\nabcHTTP/1.1";
    struct http1_response r;
    int rc = http1_parse_response(raw, sizeof raw - 1, false, &r);
    cr_expect_eq(rc, (int)sizeof(OK200 "Content-Length: 3\r\n\r\n") - 1, "rc %d", rc);
}

/* ---- limits ---------------------------------------------------------------------- */

/* Builds a response head of exactly `len` bytes, padded by one long header value. */
static char *head_of_size(size_t len)
{
    const char pre[] = OK200 "X-Pad: ";
    const char post[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t fixed = sizeof pre - 1 + sizeof post - 1;
    cr_assert_geq(len, fixed, "len");
    char *buf = malloc(len + 1);
    cr_assert_not_null(buf);
    memcpy(buf, pre, sizeof pre - 1);
    memset(buf + sizeof pre - 1, 'a', len - fixed);
    memcpy(buf + len - (sizeof post - 1), post, sizeof post - 1);
    buf[len] = '\0';
    return buf;
}

Test(http1_response, head_at_byte_cap_parses)
{
    struct http1_response r;
    char *buf = head_of_size(HTTP1_MAX_HEAD_BYTES);
    int rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES, false, &r);
    cr_expect_eq(rc, HTTP1_MAX_HEAD_BYTES, "rc %d vs %d", rc, HTTP1_MAX_HEAD_BYTES);
    /* Every strict prefix is partial. */
    rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES - 1, false, &r);
    cr_expect_eq(rc, HTTP1_PARTIAL, "prefix rc %d", rc);
    free(buf);
}

Test(http1_response, head_over_byte_cap_is_too_large)
{
    struct http1_response r;
    char *buf = head_of_size(HTTP1_MAX_HEAD_BYTES + 1);
    int rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES + 1, false, &r);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "rc %d (%s)", rc, brunt_strerror(rc));
    free(buf);
}

Test(http1_response, partial_head_at_byte_cap_is_too_large_not_partial)
{
    struct http1_response r;
    size_t len = HTTP1_MAX_HEAD_BYTES + 100;
    char *buf = head_of_size(len); /* its end is beyond the cap */
    int rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES - 1, false, &r);
    cr_expect_eq(rc, HTTP1_PARTIAL, "below cap rc %d", rc);
    rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES, false, &r);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "at cap rc %d (%s)", rc, brunt_strerror(rc));
    rc = http1_parse_response(buf, HTTP1_MAX_HEAD_BYTES + 50, false, &r);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "past cap rc %d (%s)", rc, brunt_strerror(rc));
    free(buf);
}

static char *head_with_fields(size_t nfields, size_t *len)
{
    char *buf = malloc(64 + nfields * 16);
    cr_assert_not_null(buf);
    size_t n = (size_t)sprintf(buf, OK200);
    for (size_t i = 0; i < nfields; i++) {
        n += (size_t)sprintf(buf + n, "X-%zu: v\r\n", i);
    }
    n += (size_t)sprintf(buf + n, "\r\n");
    *len = n;
    return buf;
}

Test(http1_response, max_header_fields_parse)
{
    struct http1_response r;
    size_t len;
    char *buf = head_with_fields(HTTP1_MAX_HEADERS, &len);
    int rc = http1_parse_response(buf, len, false, &r);
    cr_expect_eq(rc, (int)len, "rc %d vs %zu", rc, len);
    cr_expect_eq(r.num_headers, HTTP1_MAX_HEADERS, "%zu fields", r.num_headers);
    free(buf);
}

Test(http1_response, one_field_over_max_is_too_many)
{
    struct http1_response r;
    size_t len;
    char *buf = head_with_fields(HTTP1_MAX_HEADERS + 1, &len);
    int rc = http1_parse_response(buf, len, false, &r);
    cr_expect_eq(rc, HTTP1_ETOOMANY, "rc %d (%s)", rc, brunt_strerror(rc));
    /* Known as soon as the 101st field is complete, before the head ends. */
    rc = http1_parse_response(buf, len - 2, false, &r);
    cr_expect_eq(rc, HTTP1_ETOOMANY, "prefix rc %d (%s)", rc, brunt_strerror(rc));
    free(buf);
}

static ssize_t feed_all(struct http1_body *b, const char *s, size_t len)
{
    return http1_body_feed(b, s, len, NULL, NULL);
}

Test(http1_response, chunk_line_over_4k_is_too_large)
{
    struct http1_body b;
    static char buf[8192];
    size_t n = (size_t)sprintf(buf, "1;");
    memset(buf + n, 'e', 4200);
    n += 4200;
    n += (size_t)sprintf(buf + n, "\r\nx\r\n0\r\n\r\n");
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t rc = feed_all(&b, buf, n);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "rc %zd", rc);

    /* Just under the cap is fine. */
    n = (size_t)sprintf(buf, "1;");
    memset(buf + n, 'e', 4000);
    n += 4000;
    n += (size_t)sprintf(buf + n, "\r\nx\r\n0\r\n\r\n");
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    rc = feed_all(&b, buf, n);
    cr_expect_eq(rc, (ssize_t)n, "rc %zd vs %zu", rc, n);
    cr_expect(http1_body_done(&b), "done");
    cr_expect_eq(http1_body_decoded(&b), 1, "decoded %llu",
                 (unsigned long long)http1_body_decoded(&b));
}

Test(http1_response, trailer_line_over_4k_is_too_large)
{
    struct http1_body b;
    static char buf[8192];
    size_t n = (size_t)sprintf(buf, "0\r\nX-T: ");
    memset(buf + n, 't', 4200);
    n += 4200;
    n += (size_t)sprintf(buf + n, "\r\n\r\n");
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t rc = feed_all(&b, buf, n);
    cr_expect_eq(rc, HTTP1_ETOOLARGE, "rc %zd", rc);
}

Test(http1_response, many_short_trailers_are_fine)
{
    struct http1_body b;
    static char buf[65536];
    size_t n = (size_t)sprintf(buf, "0\r\n");
    for (int i = 0; i < 1000; i++) {
        n += (size_t)sprintf(buf + n, "T%d: v\r\n", i);
    }
    n += (size_t)sprintf(buf + n, "\r\n");
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t rc = feed_all(&b, buf, n);
    cr_expect_eq(rc, (ssize_t)n, "rc %zd vs %zu", rc, n);
    cr_expect(http1_body_done(&b), "done");
}

/* ---- the body decoder's calling convention ---------------------------------------- */

Test(http1_body, one_span_per_call)
{
    const char raw[] = "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\nNEXT";
    struct http1_body b;
    const char *data;
    size_t data_len;
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);

    ssize_t n = http1_body_feed(&b, raw, sizeof raw - 1, &data, &data_len);
    cr_expect_eq(n, 5, "first call consumed %zd vs 5", n);
    cr_expect_eq(data, raw + 3, "first span at %td", data - raw);
    cr_expect_eq(data_len, 2, "first span %zu", data_len);

    n = http1_body_feed(&b, raw + 5, sizeof raw - 1 - 5, &data, &data_len);
    cr_expect_eq(n, 8, "second call consumed %zd vs 8", n);
    cr_expect_eq(data, raw + 10, "second span at %td", data - raw);
    cr_expect_eq(data_len, 3, "second span %zu", data_len);

    n = http1_body_feed(&b, raw + 13, sizeof raw - 1 - 13, &data, &data_len);
    cr_expect_eq(n, 7, "third call consumed %zd vs 7 (stops before NEXT)", n);
    cr_expect_null(data, "no payload in the last call");
    cr_expect_eq(data_len, 0, "no payload %zu", data_len);
    cr_expect(http1_body_done(&b), "done");
    cr_expect_eq(http1_body_decoded(&b), 5, "decoded %llu",
                 (unsigned long long)http1_body_decoded(&b));

    n = http1_body_feed(&b, "NEXT", 4, &data, &data_len);
    cr_expect_eq(n, 0, "a finished body consumes nothing, got %zd", n);
}

Test(http1_body, null_data_consumes_whole_body)
{
    const char raw[] = "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\nNEXT";
    struct http1_body b;
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t n = http1_body_feed(&b, raw, sizeof raw - 1, NULL, NULL);
    cr_expect_eq(n, (ssize_t)sizeof raw - 1 - 4, "consumed %zd", n);
    cr_expect(http1_body_done(&b), "done");
    cr_expect_eq(http1_body_decoded(&b), 5, "decoded %llu",
                 (unsigned long long)http1_body_decoded(&b));
}

Test(http1_body, length_stops_at_end)
{
    struct http1_body b;
    const char *data;
    size_t data_len;
    http1_body_init(&b, HTTP1_BODY_LENGTH, 3);
    ssize_t n = http1_body_feed(&b, "abcdef", 6, &data, &data_len);
    cr_expect_eq(n, 3, "consumed %zd", n);
    cr_expect_eq(data_len, 3, "span %zu", data_len);
    cr_expect(http1_body_done(&b), "done");
    cr_expect_eq(http1_body_eof(&b), 0, "eof after a complete body");
}

Test(http1_body, length_zero_and_none_are_done_at_init)
{
    struct http1_body b;
    http1_body_init(&b, HTTP1_BODY_LENGTH, 0);
    cr_expect(http1_body_done(&b), "length 0 done");
    http1_body_init(&b, HTTP1_BODY_NONE, 0);
    cr_expect(http1_body_done(&b), "none done");
    cr_expect_eq(http1_body_feed(&b, "x", 1, NULL, NULL), 0, "none consumes nothing");
}

Test(http1_body, close_framing_ends_at_eof)
{
    struct http1_body b;
    const char *data;
    size_t data_len;
    http1_body_init(&b, HTTP1_BODY_CLOSE, 0);
    ssize_t n = http1_body_feed(&b, "abc", 3, &data, &data_len);
    cr_expect_eq(n, 3, "consumed %zd", n);
    cr_expect(!http1_body_done(&b), "not done before eof");
    cr_expect_eq(http1_body_eof(&b), 0, "eof ok");
    cr_expect(http1_body_done(&b), "done after eof");
    cr_expect_eq(http1_body_decoded(&b), 3, "decoded");
}

Test(http1_body, eof_inside_length_body_is_error)
{
    struct http1_body b;
    http1_body_init(&b, HTTP1_BODY_LENGTH, 10);
    http1_body_feed(&b, "abc", 3, NULL, NULL);
    int rc = http1_body_eof(&b);
    cr_expect_eq(rc, HTTP1_EPROTO, "rc %d", rc);
}

Test(http1_body, errors_are_sticky)
{
    struct http1_body b;
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t n = http1_body_feed(&b, "x\r\n", 3, NULL, NULL);
    cr_expect_eq(n, HTTP1_EPROTO, "first %zd", n);
    n = http1_body_feed(&b, "0\r\n\r\n", 5, NULL, NULL);
    cr_expect_eq(n, HTTP1_EPROTO, "again %zd", n);
    cr_expect_eq(http1_body_eof(&b), HTTP1_EPROTO, "eof after error");
}

Test(http1_body, largest_chunk_size_is_accepted)
{
    struct http1_body b;
    const char *data;
    size_t data_len;
    http1_body_init(&b, HTTP1_BODY_CHUNKED, 0);
    ssize_t n = http1_body_feed(&b, "ffffffffffffffff\r\nab", 20, &data, &data_len);
    cr_expect_eq(n, 20, "consumed %zd", n);
    cr_expect_eq(data_len, 2, "span %zu", data_len);
    cr_expect(!http1_body_done(&b), "far from done");
}

Test(http1_body, strerror_names_every_result)
{
    const int codes[] = {HTTP1_PARTIAL, HTTP1_EPROTO, HTTP1_ETOOLARGE, HTTP1_ETOOMANY};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = brunt_strerror(codes[i]);
        cr_expect(s != NULL && strcmp(s, brunt_strerror(-999)) != 0, "code %d: %s", codes[i], s);
    }
}

/* The head's end found by scanning once, resumed at every byte, is the parser's. */
Test(http1_head_end, resumed_at_every_byte_finds_the_parsers_end)
{
    for (size_t i = 0; i < NCASES; i++) {
        const struct rcase *c = &cases[i];
        size_t len = case_len(c);
        struct http1_response resp;
        int want = http1_parse_response(c->raw, len, c->head_request, &resp);
        if (want <= 0) {
            continue; /* malformed: the parser decides, head_end only finds ends */
        }
        cr_expect_eq(http1_head_end(c->raw, len, 0), want, "%s: whole", c->name);
        size_t scanned = 0;
        for (size_t k = 1; k <= len; k++) {
            int r = http1_head_end(c->raw, k, scanned);
            if ((size_t)want > k) {
                cr_expect_eq(r, HTTP1_PARTIAL, "%s: %zu of %d bytes gave %d", c->name, k, want, r);
                scanned = k;
            } else {
                cr_expect_eq(r, want, "%s: %zu bytes (resumed at %zu) gave %d, want %d", c->name, k,
                             scanned, r, want);
                break;
            }
        }
    }
}

Test(http1_head_end, empty_first_line_and_bare_lf)
{
    cr_expect_eq(http1_head_end("\r\nX", 3, 0), 2);
    cr_expect_eq(http1_head_end("HTTP/1.1 200 OK\n\nbody", 21, 0), 17);
    cr_expect_eq(http1_head_end("HTTP/1.1 200 OK\r\n\r", 18, 0), HTTP1_PARTIAL);
    cr_expect_eq(http1_head_end("HTTP/1.1 200 OK\r\n\r\n", 19, 18), 19);
}

/*
 * Every byte a field value may not hold (controls other than tab, DEL) is refused at
 * every position of a 30-byte value (one that would span words if the check ever went
 * word by word), and tab and obs-text (0x80-0xff) are accepted.
 */
Test(http1_response, field_value_bytes_are_checked_at_every_position)
{
    struct http1_response r;
    char buf[256];
    const char *fill = "abcdefghijklmnopqrstuvwxyz0123";
    for (int c = 0; c < 256; c++) {
        if (c == '\n' || c == '\r') {
            continue; /* they end the line instead */
        }
        bool ok = c == '\t' || (c >= 0x20 && c != 0x7f);
        for (size_t pos = 0; pos < strlen(fill); pos++) {
            char value[64];
            memcpy(value, fill, strlen(fill) + 1);
            value[pos] = (char)c;
            int n = snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nX-V: %.*s\r\n\r\n",
                             (int)strlen(fill), value);
            /* A value byte 0 is no C string: put it in after formatting. */
            buf[strlen("HTTP/1.1 200 OK\r\nX-V: ") + pos] = (char)c;
            int rc = http1_parse_response(buf, (size_t)n, false, &r);
            if (ok) {
                cr_assert_eq(rc, n, "byte 0x%02x at %zu refused", c, pos);
            } else {
                cr_assert_eq(rc, HTTP1_EPROTO, "byte 0x%02x at %zu accepted", c, pos);
            }
        }
    }
}
