/*
 * Unit tests of server/websocket's pure parts: which upgrade requests are accepted and
 * with what status the others are refused (RFC 6455 4.2.1), room names, and the code a
 * close frame is answered with (5.5.1, 7.4).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "server/server_internal.h"

#define GOOD_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Parses head (a whole request head) and checks it; returns the status (0: accepted). */
static int check(const char *head, const char **key, size_t *key_len, const char **why)
{
    struct http1_request h;
    int n = http1_parse_request(head, strlen(head), &h);
    cr_assert_eq(n, (int)strlen(head), "the test's request parses: %d", n);
    return server__ws_check_upgrade(&h, key, key_len, why);
}

Test(websocket, accepts_the_rfc_example_and_points_at_its_key)
{
    const char *key = NULL, *why = "x";
    size_t key_len = 0;
    int st = check("GET /ws/echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                   "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   &key, &key_len, &why);
    cr_assert_eq(st, 0, "status %d (%s)", st, why ? why : "");
    cr_assert_eq(key_len, 24u);
    cr_assert(memcmp(key, GOOD_KEY, 24) == 0);
    cr_assert_null(why);
}

Test(websocket, header_tokens_are_case_insensitive_and_may_repeat)
{
    const char *key, *why;
    size_t key_len;
    int st = check("GET / HTTP/1.1\r\nupgrade: WebSocket\r\nconnection: close\r\n"
                   "CONNECTION:  UPGRADE \r\nsec-websocket-key: " GOOD_KEY "\r\n"
                   "sec-websocket-version: 13\r\n\r\n",
                   &key, &key_len, &why);
    cr_assert_eq(st, 0, "status %d (%s)", st, why ? why : "");
}

Test(websocket, refuses_bad_upgrades_with_400_or_426)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        /* no Upgrade at all, or another protocol: 426 */
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY
         "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY
         "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        /* a token that only contains "websocket" is not it */
        {"GET / HTTP/1.1\r\nUpgrade: websockets\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         426},
        /* wrong or missing version: 426 */
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\n\r\n",
         426},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 130\r\n\r\n",
         426},
        /* HTTP/1.0, no upgrade token in Connection: 400 */
        {"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: "
         "keep-alive\r\nSec-WebSocket-Key: " GOOD_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        /* the key: missing, short, long, not base64, padding, stray low bits */
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQ==A\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25j*Q==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZQAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
         "dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
         400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *key = NULL, *why = NULL;
        size_t key_len = 0;
        int st = check(cases[i].head, &key, &key_len, &why);
        cr_expect_eq(st, cases[i].status, "case %zu: status %d, expected %d", i, st,
                     cases[i].status);
        cr_expect_not_null(why, "case %zu gives a reason", i);
    }
}

Test(websocket, room_names)
{
    cr_expect(server__ws_room_name_ok("lobby", 5));
    cr_expect(server__ws_room_name_ok("A-z_0.9~", 8));
    char longest[SRV_WS_ROOM_NAME + 1];
    memset(longest, 'r', sizeof longest);
    cr_expect(server__ws_room_name_ok(longest, SRV_WS_ROOM_NAME));
    cr_expect_not(server__ws_room_name_ok(longest, SRV_WS_ROOM_NAME + 1), "65 bytes");
    cr_expect_not(server__ws_room_name_ok("", 0));
    cr_expect_not(server__ws_room_name_ok("a b", 3));
    cr_expect_not(server__ws_room_name_ok("a%20b", 5));
    cr_expect_not(server__ws_room_name_ok("caf\xc3\xa9", 5));
}

Test(websocket, close_codes_answered)
{
    static const struct {
        const char *p;
        size_t len;
        int code;
    } cases[] = {
        {"", 0, 1005},
        {"\x03", 1, 1002},     /* one byte: no code fits */
        {"\x03\xe8", 2, 1000}, /* 1000 */
        {"\x03\xe8"
         "bye",
         5, 1000},                 /* with a reason */
        {"\x03\xe9", 2, 1001},     /* 1001 */
        {"\x03\xeb", 2, 1003},     /* 1003 */
        {"\x03\xec", 2, 1002},     /* 1004: reserved */
        {"\x03\xed", 2, 1002},     /* 1005: never on the wire */
        {"\x03\xee", 2, 1002},     /* 1006: never on the wire */
        {"\x03\xef", 2, 1007},     /* 1007 */
        {"\x03\xf3", 2, 1011},     /* 1011 */
        {"\x03\xf4", 2, 1002},     /* 1012: not in RFC 6455's list */
        {"\x03\xe7", 2, 1002},     /* 999 */
        {"\x0b\xb8", 2, 3000},     /* 3000: registered */
        {"\x13\x87", 2, 4999},     /* 4999: private */
        {"\x13\x88", 2, 1002},     /* 5000 */
        {"\x03\xe8\xff", 3, 1007}, /* a reason that is not UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = server__ws_close_code((const uint8_t *)cases[i].p, cases[i].len);
        cr_expect_eq(code, cases[i].code, "case %zu: %d, expected %d", i, code, cases[i].code);
    }
}
