/*
 * libFuzzer target for the http1 request parser and the body decoder as a server
 * uses them: a stream of pipelined requests, each head parsed and its body decoded in
 * pieces whose sizes derive from the input.  Invariants: lengths and pointers inside
 * the input, a request is never CLOSE-framed, strict prefixes of a complete head are
 * PARTIAL, consumed <= len, decoded bytes <= bytes fed.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/http1_request/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

#define MAX_MESSAGES 8

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint32_t seed = (uint32_t)data[0] | 1u;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    static struct http1_request req;

    for (int m = 0; m < MAX_MESSAGES && len > 0; m++) {
        int rc = http1_parse_request(buf, len, &req);
        if (rc < 0) {
            check(rc == HTTP1_PARTIAL || rc == HTTP1_EPROTO || rc == HTTP1_ETOOLARGE ||
                  rc == HTTP1_ETOOMANY);
            return 0;
        }
        check(rc > 0 && (size_t)rc <= len && rc <= HTTP1_MAX_HEAD_BYTES);
        check(req.framing != HTTP1_BODY_CLOSE);
        check(req.method >= buf && req.method_len > 0 && req.method + req.method_len <= buf + rc);
        check(req.target >= buf && req.target_len > 0 && req.target + req.target_len <= buf + rc);
        check(req.num_headers <= HTTP1_MAX_HEADERS);
        for (size_t i = 0; i < req.num_headers; i++) {
            check(req.headers[i].value + req.headers[i].value_len <= buf + rc);
        }
        if (req.framing != HTTP1_BODY_LENGTH) {
            check(req.content_length == 0);
        }
        struct http1_request again;
        check(http1_parse_request(buf, (size_t)rc - 1, &again) == HTTP1_PARTIAL);

        buf += rc;
        len -= (size_t)rc;
        struct http1_body b;
        http1_body_init(&b, req.framing, req.content_length);
        size_t off = 0;
        uint64_t payload = 0;
        while (off < len && !http1_body_done(&b)) {
            seed = seed * 1103515245u + 12345u;
            size_t piece = 1 + (seed >> 16) % 23;
            if (piece > len - off) {
                piece = len - off;
            }
            const char *d;
            size_t dl;
            ssize_t n = http1_body_feed(&b, buf + off, piece, &d, &dl);
            if (n < 0) {
                check(n == HTTP1_EPROTO || n == HTTP1_ETOOLARGE);
                return 0;
            }
            check((size_t)n <= piece);
            check(n > 0 || http1_body_done(&b));
            check(dl == 0 || (d >= buf + off && d + dl <= buf + off + n));
            payload += dl;
            off += (size_t)n;
        }
        check(http1_body_decoded(&b) == payload && payload <= off);
        if (!http1_body_done(&b)) {
            check(http1_body_eof(&b) == HTTP1_EPROTO);
            return 0;
        }
        buf += off;
        len -= off;
    }
    return 0;
}
