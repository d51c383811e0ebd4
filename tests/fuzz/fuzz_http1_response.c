/*
 * libFuzzer target for the http1 response parser and body decoder.
 *
 * The first input byte chooses whether the request was HEAD and seeds the split sizes;
 * the rest is a response stream.  Each head is parsed; its length must lie within the
 * input, every strict prefix of a complete head must be PARTIAL, and pointers must lie
 * inside the buffer.  The body is then decoded twice, once in one call per span and
 * once in pieces of pseudo-random sizes derived from the input, and both runs must
 * agree: same bytes consumed (unless failed), same payload count, same error.  Invariants: consumed <=
 * len, spans inside the consumed bytes, decoded bytes <= body bytes fed.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/http1_response/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

#define MAX_MESSAGES 8

struct decode_result {
    ssize_t err;      /* 0 or the decoder's error */
    size_t consumed;  /* body bytes consumed */
    uint64_t payload; /* payload bytes reported through spans */
    bool done;
};

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Feeds buf[0..len) in pieces of sizes from *seed (0 = everything at once). */
static struct decode_result decode(enum http1_framing framing, uint64_t cl, const char *buf,
                                   size_t len, uint32_t seed)
{
    struct decode_result r = {0};
    struct http1_body b;
    http1_body_init(&b, framing, cl);
    size_t off = 0;
    while (off < len && !http1_body_done(&b)) {
        size_t piece = len - off;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 17;
            if (want < piece) {
                piece = want;
            }
        }
        size_t in_piece = 0;
        while (in_piece < piece && !http1_body_done(&b)) {
            const char *data = NULL;
            size_t data_len = 0;
            const char *p = buf + off + in_piece;
            size_t avail = piece - in_piece;
            ssize_t n = http1_body_feed(&b, p, avail, &data, &data_len);
            if (n < 0) {
                /* How far a call got before failing is not reported: only the error. */
                r.err = n;
                r.consumed = 0;
                r.done = false;
                return r;
            }
            check((size_t)n <= avail);
            check(n > 0 || http1_body_done(&b));
            if (data_len > 0) {
                check(data >= p && data + data_len <= p + n);
            } else {
                check(data == NULL);
            }
            r.payload += data_len;
            in_piece += (size_t)n;
        }
        off += in_piece;
    }
    r.consumed = off;
    r.done = http1_body_done(&b);
    check(http1_body_decoded(&b) == r.payload);
    check(r.payload <= r.consumed);
    if (!r.done) {
        int e = http1_body_eof(&b);
        check(e == 0 || e == HTTP1_EPROTO);
        check((e == 0) == (framing == HTTP1_BODY_CLOSE));
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    bool head_request = (data[0] & 1) != 0;
    uint32_t seed = (uint32_t)data[0] | 1u;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    static struct http1_response resp;

    for (int m = 0; m < MAX_MESSAGES && len > 0; m++) {
        int rc = http1_parse_response(buf, len, head_request, &resp);
        if (rc == HTTP1_PARTIAL) {
            check(len < HTTP1_MAX_HEAD_BYTES);
            return 0;
        }
        if (rc < 0) {
            check(rc == HTTP1_EPROTO || rc == HTTP1_ETOOLARGE || rc == HTTP1_ETOOMANY);
            return 0;
        }
        check((size_t)rc <= len && rc <= HTTP1_MAX_HEAD_BYTES);
        check(resp.status >= 100 && resp.status <= 999);
        check(resp.minor_version == 0 || resp.minor_version == 1);
        check(resp.num_headers <= HTTP1_MAX_HEADERS);
        check(resp.reason >= buf && resp.reason + resp.reason_len <= buf + rc);
        for (size_t i = 0; i < resp.num_headers; i++) {
            const struct http1_header *h = &resp.headers[i];
            check(h->name >= buf && h->name + h->name_len <= buf + rc && h->name_len > 0);
            check(h->value >= buf && h->value + h->value_len <= buf + rc);
        }
        if (resp.framing == HTTP1_BODY_CLOSE) {
            check(!resp.keep_alive);
        }
        if (resp.status < 200 || resp.status == 204 || resp.status == 304 || head_request) {
            check(resp.framing == HTTP1_BODY_NONE);
        }
        struct http1_response again;
        int prc = http1_parse_response(buf, (size_t)rc - 1, head_request, &again);
        check(prc == HTTP1_PARTIAL);
        /* The resumable end-of-head scan agrees with the parser, from scratch and resumed
         * at a point the seed picks. */
        check(http1_head_end(buf, len, 0) == rc);
        size_t cut = seed % (size_t)rc;
        check(http1_head_end(buf, cut, 0) == HTTP1_PARTIAL || cut == 0);
        check(http1_head_end(buf, len, cut) == rc);

        buf += rc;
        len -= (size_t)rc;
        struct decode_result whole = decode(resp.framing, resp.content_length, buf, len, 0);
        struct decode_result split = decode(resp.framing, resp.content_length, buf, len, seed);
        check(whole.err == split.err && whole.consumed == split.consumed &&
              whole.payload == split.payload && whole.done == split.done);
        check(whole.consumed <= len);
        if (whole.err != 0 || !whole.done) {
            return 0;
        }
        buf += whole.consumed;
        len -= whole.consumed;
    }
    return 0;
}
