/*
 * Tests for ws: frame heads in every length form, both masking directions, every
 * partial prefix, the reassembly rules of fragmented messages, and the handshake values
 * of RFC 6455's own example.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/ws.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 5.7: a single-frame unmasked text message "Hello". */
Test(ws, parses_rfc_unmasked_hello)
{
    const uint8_t b[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct ws_frame f;
    int r = ws_frame_parse(b, sizeof b, false, 1 << 20, &f);
    cr_assert_eq(r, 2, "head length %d", r);
    cr_assert(f.fin);
    cr_assert_eq(f.opcode, WS_OP_TEXT);
    cr_assert_eq(f.payload_len, 5u);
    cr_assert_not(f.masked);
}

/* RFC 6455 5.7: a single-frame masked text message "Hello". */
Test(ws, parses_and_unmasks_rfc_masked_hello)
{
    uint8_t b[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_frame f;
    int r = ws_frame_parse(b, sizeof b, true, 1 << 20, &f);
    cr_assert_eq(r, 6, "head length %d", r);
    cr_assert_eq(f.payload_len, 5u);
    cr_assert(memcmp(f.mask, MASK, 4) == 0);
    /* Unmasked in two pieces, as a payload split across reads would be. */
    ws_mask(b + 6, 2, f.mask, 0);
    ws_mask(b + 8, 3, f.mask, 2);
    cr_assert(memcmp(b + 6, "Hello", 5) == 0);
}

Test(ws, every_length_form_round_trips)
{
    const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, (uint64_t)1 << 40};
    const size_t want[] = {2, 2, 2, 4, 4, 4, 10, 10};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int m = 0; m < 2; m++) {
            uint8_t h[WS_MAX_HEAD_BYTES];
            size_t n = ws_frame_head(h, true, WS_OP_BINARY, lens[i], m ? MASK : NULL);
            cr_assert_eq(n, want[i] + (m ? 4 : 0), "len %llu: head %zu",
                         (unsigned long long)lens[i], n);
            struct ws_frame f;
            int r = ws_frame_parse(h, n, m, UINT64_MAX, &f);
            cr_assert_eq(r, (int)n, "len %llu: parsed %d", (unsigned long long)lens[i], r);
            cr_assert_eq(f.payload_len, lens[i]);
            cr_assert_eq(f.masked, m != 0);
            /* Every shorter prefix asks for more. */
            for (size_t k = 0; k < n; k++) {
                cr_assert_eq(ws_frame_parse(h, k, m, UINT64_MAX, &f), WS_PARTIAL, "prefix %zu", k);
            }
        }
    }
}

Test(ws, rejects_protocol_errors)
{
    struct ws_frame f;
    const struct {
        uint8_t b[10];
        size_t n;
        bool masked;
        int want;
    } cases[] = {
        {{0xc1, 0x00}, 2, false, WS_EPROTO},             /* RSV1 without extension */
        {{0x83, 0x00}, 2, false, WS_EPROTO},             /* reserved opcode 3 */
        {{0x8b, 0x00}, 2, false, WS_EPROTO},             /* reserved control opcode */
        {{0x09, 0x00}, 2, false, WS_EPROTO},             /* fragmented ping */
        {{0x89, 0x7e, 0x00, 0x7e}, 4, false, WS_EPROTO}, /* ping of 126 bytes */
        {{0x81, 0x80, 1, 2, 3, 4}, 6, false, WS_EPROTO}, /* masked to a client */
        {{0x81, 0x05}, 2, true, WS_EPROTO},              /* unmasked to a server */
        {{0x82, 0x7e, 0x00, 0x10}, 4, false, WS_EPROTO}, /* 16-bit form for 16 */
        {{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 10, false, WS_EPROTO}, /* 64 for 65535 */
        {{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, false, WS_EPROTO},    /* MSB set */
        {{0x82, 0x7e, 0x10, 0x00}, 4, false, WS_ETOOLARGE},                 /* 4096 > cap */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = ws_frame_parse(cases[i].b, cases[i].n, cases[i].masked, 1024, &f);
        cr_assert_eq(r, cases[i].want, "case %zu: got %d, want %d", i, r, cases[i].want);
    }
}

Test(ws, reassembles_fragments_with_control_frames_between)
{
    struct ws_assembly a = {0};
    uint8_t op = 0;
    struct ws_frame first = {.fin = false, .opcode = WS_OP_TEXT};
    struct ws_frame ping = {.fin = true, .opcode = WS_OP_PING};
    struct ws_frame mid = {.fin = false, .opcode = WS_OP_CONT};
    struct ws_frame last = {.fin = true, .opcode = WS_OP_CONT};
    cr_assert_eq(ws_assembly_add(&a, &first, &op), WS_PART_MORE);
    cr_assert_eq(op, WS_OP_TEXT);
    cr_assert_eq(ws_assembly_add(&a, &ping, &op), WS_PART_CONTROL);
    cr_assert_eq(op, WS_OP_PING);
    cr_assert_eq(ws_assembly_add(&a, &mid, &op), WS_PART_MORE);
    cr_assert_eq(ws_assembly_add(&a, &last, &op), WS_PART_END);
    cr_assert_eq(op, WS_OP_TEXT, "the message keeps its first frame's opcode: %u", op);
    cr_assert_not(a.open);
}

Test(ws, rejects_continuation_without_message_and_interleaved_messages)
{
    struct ws_assembly a = {0};
    uint8_t op;
    struct ws_frame cont = {.fin = true, .opcode = WS_OP_CONT};
    struct ws_frame first = {.fin = false, .opcode = WS_OP_BINARY};
    struct ws_frame other = {.fin = true, .opcode = WS_OP_TEXT};
    cr_assert_eq(ws_assembly_add(&a, &cont, &op), WS_EPROTO);
    cr_assert_eq(ws_assembly_add(&a, &first, &op), WS_PART_MORE);
    cr_assert_eq(ws_assembly_add(&a, &other, &op), WS_EPROTO);
}

/* RFC 6455 1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" is answered with this accept. */
Test(ws, accept_value_matches_rfc_example)
{
    char acc[WS_ACCEPT_BYTES + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    cr_assert_eq(ws_accept_make(key, strlen(key), acc), 0);
    cr_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws, key_of_rfc_nonce)
{
    char key[WS_KEY_BYTES + 1];
    ws_key_make((const uint8_t *)"the sample nonce", key);
    cr_assert_str_eq(key, "dGhlIHNhbXBsZSBub25jZQ==");
}

/* The client's check of the 101 (ws_upgrade_check) over heads http1 parsed. */
static int upgrade_rc(const char *head)
{
    static struct http1_response resp;
    int r = http1_parse_response(head, strlen(head), false, &resp);
    cr_assert_gt(r, 0, "head did not parse (%d): %s", r, head);
    return ws_upgrade_check(&resp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws, upgrade_check_accepts_rfc_101_with_token_lists)
{
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
                 0);
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 x\r\nupgrade: WebSocket\r\n"
                            "connection: keep-alive, upgrade\r\n"
                            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
                 0);
}

Test(ws, upgrade_check_refuses_wrong_status_accept_or_missing_headers)
{
    cr_assert_eq(upgrade_rc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), WS_EPROTO);
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
                 WS_EPROTO);
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 x\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
                 WS_EPROTO);
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: close\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
                 WS_EPROTO);
    cr_assert_eq(upgrade_rc("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                            "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
                 WS_EPROTO);
}
