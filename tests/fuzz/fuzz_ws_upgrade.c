/*
 * libFuzzer target for the client's check of a WebSocket upgrade's answer
 * (ws_upgrade_check, http/ws.h) on a head http1_parse_response read, as
 * engine/conn_ws.c runs them.  The expected accept value is the RFC 6455 example's
 * (key "dGhlIHNhbXBsZSBub25jZQ==").  Invariants: the check returns 0 or WS_EPROTO, and 0
 * only for a 101 that carries exactly that Sec-WebSocket-Accept; a head parsed from any
 * prefix shorter than the one that parsed is PARTIAL or an error, never accepted.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/ws_upgrade/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"
#include "http/ws.h"

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http1_response resp;
    int r = http1_parse_response((const char *)data, size, false, &resp);
    if (r < 0) {
        return 0;
    }
    check((size_t)r <= size);
    int rc = ws_upgrade_check(&resp, ACCEPT);
    check(rc == 0 || rc == WS_EPROTO);
    if (rc == 0) {
        check(resp.status == 101);
        const struct http1_header *h =
            http1_find_header(resp.headers, resp.num_headers, "Sec-WebSocket-Accept");
        check(h != NULL && h->value_len == strlen(ACCEPT) &&
              memcmp(h->value, ACCEPT, h->value_len) == 0);
        /* the head is needed whole: a prefix of it never parses to the same length */
        if (r > 0) {
            int p = http1_parse_response((const char *)data, (size_t)r - 1, false, &resp);
            check(p != r);
        }
    }
    return 0;
}
