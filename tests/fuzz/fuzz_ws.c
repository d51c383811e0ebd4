/*
 * libFuzzer target for the WebSocket frame codec (http/ws).  The first byte picks the
 * side (bit 0: a server, reading masked frames) and the rest is a stream of frames read
 * as a connection would: a head, then its payload (unmasked in two pieces), then the
 * next.  Invariants: a head is 2..14 bytes and every shorter prefix is WS_PARTIAL; since
 * the parser accepts only the shortest length form, re-encoding the head gives the same
 * bytes; control frames are final and at most 125 bytes; the message reassembly never
 * reports a part out of range; masking twice restores the payload.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/ws/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

#define MAX_PAYLOAD (1u << 16)

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t copy[MAX_PAYLOAD];
    if (size == 0) {
        return 0;
    }
    bool server = data[0] & 1;
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    struct ws_assembly a = {0};
    while (left > 0) {
        struct ws_frame f;
        int r = ws_frame_parse(p, left, server, MAX_PAYLOAD, &f);
        check(r == WS_PARTIAL || r == WS_EPROTO || r == WS_ETOOLARGE || (r >= 2 && r <= 14));
        check(brunt_strerror(r) != NULL);
        if (r < 0) {
            break;
        }
        for (int k = 0; k < r; k++) {
            struct ws_frame g;
            check(ws_frame_parse(p, (size_t)k, server, MAX_PAYLOAD, &g) == WS_PARTIAL);
        }
        uint8_t h[WS_MAX_HEAD_BYTES];
        size_t n = ws_frame_head(h, f.fin, f.opcode, f.payload_len, f.masked ? f.mask : NULL);
        check(n == (size_t)r && memcmp(h, p, n) == 0);
        check(f.payload_len <= MAX_PAYLOAD);
        if (f.opcode >= WS_OP_CLOSE) {
            check(f.fin && f.payload_len <= WS_MAX_CONTROL_BYTES);
        }
        uint8_t op = 0xff;
        int part = ws_assembly_add(&a, &f, &op);
        check(part == WS_EPROTO || (part >= WS_PART_CONTROL && part <= WS_PART_END));
        if (part == WS_PART_MORE || part == WS_PART_END) {
            check(op == WS_OP_TEXT || op == WS_OP_BINARY);
        }
        p += r;
        left -= (size_t)r;
        size_t pl = f.payload_len < left ? (size_t)f.payload_len : left;
        if (f.masked) {
            memcpy(copy, p, pl);
            size_t half = pl / 2;
            ws_mask(copy, half, f.mask, 0);
            ws_mask(copy + half, pl - half, f.mask, half);
            ws_mask(copy, pl, f.mask, 0);
            check(memcmp(copy, p, pl) == 0);
        }
        p += pl;
        left -= pl;
        if (part < 0) {
            break;
        }
    }
    return 0;
}
