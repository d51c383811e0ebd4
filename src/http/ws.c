/*
 * ws — WebSocket frames and handshake values (RFC 6455); see ws.h.  The accept value
 * uses OpenSSL's SHA-1 and base64, which brunt links for TLS anyway.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "http/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_frame_parse(const uint8_t *buf, size_t len, bool want_masked, uint64_t max_payload,
                   struct ws_frame *f)
{
    if (len < 2) {
        return WS_PARTIAL;
    }
    uint8_t b0 = buf[0], b1 = buf[1];
    f->fin = (b0 & 0x80) != 0;
    f->opcode = b0 & 0x0f;
    f->masked = (b1 & 0x80) != 0;
    if ((b0 & 0x70) != 0 || f->masked != want_masked) {
        return WS_EPROTO;
    }
    switch (f->opcode) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        break;
    default:
        return WS_EPROTO;
    }
    uint64_t n = b1 & 0x7f;
    size_t at = 2;
    if (n == 126) {
        if (len < 4) {
            return WS_PARTIAL;
        }
        n = (uint64_t)buf[2] << 8 | buf[3];
        at = 4;
        if (n < 126) {
            return WS_EPROTO; /* not the shortest form (RFC 6455 5.2) */
        }
    } else if (n == 127) {
        if (len < 10) {
            return WS_PARTIAL;
        }
        n = 0;
        for (size_t i = 2; i < 10; i++) {
            n = n << 8 | buf[i];
        }
        at = 10;
        if (n >> 63) {
            return WS_EPROTO; /* the most significant bit must be 0 */
        }
        if (n <= 0xffff) {
            return WS_EPROTO;
        }
    }
    if (f->opcode >= WS_OP_CLOSE && (!f->fin || n > WS_MAX_CONTROL_BYTES)) {
        return WS_EPROTO;
    }
    if (f->masked) {
        if (len < at + 4) {
            return WS_PARTIAL;
        }
        memcpy(f->mask, buf + at, 4);
        at += 4;
    }
    if (n > max_payload) {
        return WS_ETOOLARGE;
    }
    f->payload_len = n;
    return (int)at;
}

size_t ws_frame_head(uint8_t *out, bool fin, uint8_t opcode, uint64_t payload_len,
                     const uint8_t *mask)
{
    size_t at = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    uint8_t m = mask != NULL ? 0x80 : 0;
    if (payload_len < 126) {
        out[1] = (uint8_t)(m | payload_len);
    } else if (payload_len <= 0xffff) {
        out[1] = m | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        at = 4;
    } else {
        out[1] = m | 127;
        for (int i = 0; i < 8; i++) {
            out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        }
        at = 10;
    }
    if (mask != NULL) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

void ws_mask(uint8_t *buf, size_t len, const uint8_t mask[4], uint64_t at)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= mask[(at + i) & 3];
    }
}

int ws_assembly_add(struct ws_assembly *a, const struct ws_frame *f, uint8_t *opcode)
{
    if (f->opcode >= WS_OP_CLOSE) {
        *opcode = f->opcode;
        return WS_PART_CONTROL;
    }
    if (f->opcode == WS_OP_CONT) {
        if (!a->open) {
            return WS_EPROTO;
        }
    } else {
        if (a->open) {
            return WS_EPROTO;
        }
        a->opcode = f->opcode;
    }
    *opcode = a->opcode;
    a->open = !f->fin;
    return f->fin ? WS_PART_END : WS_PART_MORE;
}

void ws_key_make(const uint8_t nonce[16], char out[WS_KEY_BYTES + 1])
{
    EVP_EncodeBlock((unsigned char *)out, nonce, 16);
}

int ws_accept_make(const char *key, size_t key_len, char out[WS_ACCEPT_BYTES + 1])
{
    uint8_t md[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -ENOMEM;
    if (ctx == NULL) {
        return rc;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(ctx, key, key_len) == 1 &&
        EVP_DigestUpdate(ctx, WS_GUID, sizeof WS_GUID - 1) == 1 &&
        EVP_DigestFinal_ex(ctx, md, NULL) == 1) {
        EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Whether the comma-separated list v[0..len) holds token tok (case-insensitive). */
static bool list_has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        size_t s = i;
        while (i < len && v[i] != ',') {
            i++;
        }
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) {
            e--;
        }
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0) {
            return true;
        }
    }
    return false;
}

int ws_upgrade_check(const struct http1_response *resp, const char *accept)
{
    if (resp->status != 101) {
        return WS_EPROTO;
    }
    const struct http1_header *up = http1_find_header(resp->headers, resp->num_headers, "Upgrade");
    const struct http1_header *co =
        http1_find_header(resp->headers, resp->num_headers, "Connection");
    const struct http1_header *ac =
        http1_find_header(resp->headers, resp->num_headers, "Sec-WebSocket-Accept");
    size_t al = strlen(accept);
    if (up == NULL || !list_has_token(up->value, up->value_len, "websocket") || co == NULL ||
        !list_has_token(co->value, co->value_len, "upgrade") || ac == NULL || ac->value_len != al ||
        memcmp(ac->value, accept, al) != 0) {
        return WS_EPROTO;
    }
    if (http1_find_header(resp->headers, resp->num_headers, "Sec-WebSocket-Extensions") != NULL ||
        http1_find_header(resp->headers, resp->num_headers, "Sec-WebSocket-Protocol") != NULL) {
        return WS_EPROTO;
    }
    return 0;
}
