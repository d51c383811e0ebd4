/*
 * ws — the WebSocket wire format (RFC 6455) for both sides: frame heads, masking,
 * the reassembly rules of fragmented messages, and the opening handshake's key and
 * accept values.
 *
 * Shaped like http1: no I/O, no allocation.  ws_frame_parse() reads one frame head from
 * the bytes received so far and returns its length, WS_PARTIAL, or a named negative
 * error; the payload that follows is the caller's to read (it may straddle reads, so
 * ws_mask() takes the payload offset to keep the mask's phase).  Extensions are not
 * negotiated, so any RSV bit is an error.  The client's check of the upgrade's answer
 * (ws_upgrade_check) takes the head http1 parsed.  What it leaves out: UTF-8 checks of
 * text (core/utf8), compression.
 */
#ifndef BRUNT_HTTP_WS_H
#define BRUNT_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "http/http1.h"

#define WS_MAX_HEAD_BYTES 14     /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_MAX_CONTROL_BYTES 125 /* a control frame's payload, RFC 6455 5.5 */
#define WS_KEY_BYTES 24          /* base64 of 16 random bytes */
#define WS_ACCEPT_BYTES 28       /* base64 of a SHA-1 */

/* Results: brunt's own codes (core/error.h). */
enum ws_result {
    WS_PARTIAL = BRUNT_EPARTIAL,    /* incomplete head: feed more bytes */
    WS_EPROTO = BRUNT_EPROTO,       /* RSV bit, unknown opcode, bad control frame, masking */
    WS_ETOOLARGE = BRUNT_ETOOLARGE, /* a payload over the caller's cap (or 2^63) */
};

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

/* One frame head, as ws_frame_parse() read it. */
struct ws_frame {
    bool fin;
    uint8_t opcode; /* enum ws_opcode */
    bool masked;
    uint8_t mask[4];      /* when masked */
    uint64_t payload_len; /* bytes of payload after the head */
};

/*
 * Parses the frame head at buf[0..len).  want_masked says what the peer must send
 * (a server reads masked frames, a client unmasked ones: RFC 6455 5.1); max_payload caps
 * payload_len.  Returns the head's length (2..14), WS_PARTIAL, WS_EPROTO or WS_ETOOLARGE.
 * Control frames (opcode >= 8) must be final and at most 125 bytes.
 */
int ws_frame_parse(const uint8_t *buf, size_t len, bool want_masked, uint64_t max_payload,
                   struct ws_frame *f);

/*
 * Writes a frame head into out (WS_MAX_HEAD_BYTES): the shortest length form (7, 16 or
 * 64 bit), and the mask when mask is not NULL (a client's frames).  Returns its length.
 */
size_t ws_frame_head(uint8_t *out, bool fin, uint8_t opcode, uint64_t payload_len,
                     const uint8_t *mask);

/* XORs buf[0..len) with the mask, buf being the payload from byte offset `at` on (so a
 * payload split across reads is unmasked piece by piece).  Masking twice undoes it. */
void ws_mask(uint8_t *buf, size_t len, const uint8_t mask[4], uint64_t at);

/* The state of one direction's message reassembly (zero-filled: no message open). */
struct ws_assembly {
    bool open;      /* a fragmented message has begun and not ended */
    uint8_t opcode; /* its opcode (text or binary) */
};

/* What a frame means for the message being assembled. */
enum ws_part {
    WS_PART_CONTROL = 0, /* a control frame: handled on its own, between fragments too */
    WS_PART_MORE,        /* a data fragment; the message goes on */
    WS_PART_END,         /* the message's last (or only) fragment */
};

/*
 * Takes the next frame head: WS_PART_* with *opcode the message's (text or binary;
 * the control frame's own for WS_PART_CONTROL), or WS_EPROTO for a continuation with
 * no message open or a new message while one is open (RFC 6455 5.4).
 */
int ws_assembly_add(struct ws_assembly *a, const struct ws_frame *f, uint8_t *opcode);

/* The Sec-WebSocket-Key for 16 random bytes: WS_KEY_BYTES characters and a NUL. */
void ws_key_make(const uint8_t nonce[16], char out[WS_KEY_BYTES + 1]);

/*
 * The Sec-WebSocket-Accept a server answers key[0..key_len) with: base64 of SHA-1 of the
 * key and the RFC's GUID, WS_ACCEPT_BYTES characters and a NUL.  Returns 0 or -ENOMEM.
 */
int ws_accept_make(const char *key, size_t key_len, char out[WS_ACCEPT_BYTES + 1]);

/*
 * The client's check of the server's answer to its upgrade (RFC 6455 4.1): status 101,
 * "Upgrade: websocket" (case-insensitive), a Connection header naming the "upgrade"
 * token, and Sec-WebSocket-Accept equal to accept (what ws_accept_make gave for the
 * key sent).  No extension or subprotocol was offered, so one answered is refused too.
 * Returns 0 or WS_EPROTO.  Allocates nothing.
 */
int ws_upgrade_check(const struct http1_response *resp, const char *accept);

#endif
