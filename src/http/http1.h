/*
 * http1 — HTTP/1.1 message parsing for both sides: response heads (the client),
 * request heads (brunt serve), and message bodies by every framing.
 *
 * Shaped like picohttpparser: no I/O, no allocation.  The head parsers take the bytes
 * received so far, and either return the length of the complete head, HTTP1_PARTIAL
 * (feed more bytes and call again with the whole prefix), or a named negative error;
 * names and values point into the caller's buffer.  Bodies are decoded by a small
 * streaming state machine (struct http1_body) that keeps no bytes of its own, so a
 * body of any size passes through a fixed read buffer, split at any byte boundary.
 *
 * Limits, each documented in docs/internals.md: a head of at most HTTP1_MAX_HEAD_BYTES
 * and HTTP1_MAX_HEADERS header fields; longer ones are an error, never truncated.
 */
#ifndef BRUNT_HTTP_HTTP1_H
#define BRUNT_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define HTTP1_MAX_HEAD_BYTES (64 * 1024)
#define HTTP1_MAX_HEADERS 100

/* Results: brunt's own codes (core/error.h), so they never overlap an errno. */
enum http1_result {
    HTTP1_PARTIAL = BRUNT_EPARTIAL,    /* incomplete: feed more bytes */
    HTTP1_EPROTO = BRUNT_EPROTO,       /* malformed message */
    HTTP1_ETOOLARGE = BRUNT_ETOOLARGE, /* head over HTTP1_MAX_HEAD_BYTES (or body cap) */
    HTTP1_ETOOMANY = BRUNT_ETOOMANY,   /* more than HTTP1_MAX_HEADERS fields */
};

/* brunt_strerror() (core/error.h) names every enum http1_result value. */

struct http1_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing white space trimmed */
    size_t value_len;
};

/* How the body that follows a head is delimited. */
enum http1_framing {
    HTTP1_BODY_NONE,    /* no body: HEAD, 1xx, 204, 304, or a request without one */
    HTTP1_BODY_LENGTH,  /* Content-Length bytes */
    HTTP1_BODY_CHUNKED, /* Transfer-Encoding: chunked (extensions and trailers allowed) */
    HTTP1_BODY_CLOSE,   /* until the connection closes (responses only) */
};

struct http1_response {
    int minor_version; /* 0 or 1 */
    int status;
    const char *reason;
    size_t reason_len;
    struct http1_header headers[HTTP1_MAX_HEADERS];
    size_t num_headers;
    enum http1_framing framing;
    uint64_t content_length; /* when framing == HTTP1_BODY_LENGTH */
    bool keep_alive;         /* the connection may be reused after this response */
};

struct http1_request {
    int minor_version;
    const char *method;
    size_t method_len;
    const char *target; /* request-target as sent: "/path?query" */
    size_t target_len;
    struct http1_header headers[HTTP1_MAX_HEADERS];
    size_t num_headers;
    enum http1_framing framing; /* NONE, LENGTH or CHUNKED: never CLOSE */
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
};

/*
 * Parses a response head from buf[0..len).  `head_request` says the request was HEAD (the
 * response then has no body whatever its headers say).  Returns the head's length in
 * bytes (> 0), HTTP1_PARTIAL, or a negative enum http1_result.  A 1xx response other
 * than 101 is returned like any other (status < 200, framing NONE): the caller skips
 * it and parses the next head.  Headers point into buf.  Conflicting or invalid
 * Content-Length, or a Transfer-Encoding other than chunked, is HTTP1_EPROTO.
 */
int http1_parse_response(const char *buf, size_t len, bool head_request,
                         struct http1_response *out);

/*
 * Finds the end of a message head in buf[0..len): returns the head's length (up to and
 * including its empty line, CRLF or bare LF) or HTTP1_PARTIAL.  scanned is a length of
 * buf already known to hold no end (the len of the previous call on the same head, 0 at
 * first): the search resumes just before it, as picohttpparser's last_len does, so a
 * head that arrives in pieces is scanned once in all, and parsed once when complete.
 * Does not validate anything: the parser does.
 */
int http1_head_end(const char *buf, size_t len, size_t scanned);

/*
 * Parses a request head from buf[0..len), as http1_parse_response().  A request with
 * both Content-Length and chunked, or an invalid method or target, is HTTP1_EPROTO.
 */
int http1_parse_request(const char *buf, size_t len, struct http1_request *out);

/* Case-insensitive header lookup; returns NULL when absent. */
const struct http1_header *http1_find_header(const struct http1_header *headers, size_t num_headers,
                                             const char *name);

/*
 * The body decoder.  Zero-filled is not valid: call http1_body_init() with the framing
 * from the parsed head.  It stores no bytes, only counters and the chunk-line state.
 */
struct http1_body {
    /* private */
    enum http1_framing framing;
    int state;
    uint64_t remaining; /* bytes left in the body or in the current chunk */
    uint64_t decoded;   /* payload bytes delivered so far */
    unsigned line_len;  /* bytes of the current chunk-size or trailer line */
    bool done;
};

void http1_body_init(struct http1_body *body, enum http1_framing framing, uint64_t content_length);

/*
 * Consumes body bytes from buf[0..len).  Returns the number of bytes consumed (which may
 * be less than len when the body ends inside buf: the rest belongs to the next message),
 * or a negative enum http1_result on malformed chunk framing.  Payload bytes (chunk
 * framing removed) are reported through *data / *data_len as the first payload span
 * found in this call; call again with the remaining bytes until all are consumed.
 * data may be NULL when the payload is not wanted.  A chunk-size line or trailer line
 * longer than 4 KiB is HTTP1_ETOOLARGE.
 */
ssize_t http1_body_feed(struct http1_body *body, const char *buf, size_t len, const char **data,
                        size_t *data_len);

/* True once the whole body (and trailers) has been consumed. */
static inline bool http1_body_done(const struct http1_body *body)
{
    return body->done;
}

/*
 * For HTTP1_BODY_CLOSE: the peer closed the connection, which ends such a body.
 * Returns 0, or HTTP1_EPROTO when the framing needed more bytes (a truncated body).
 */
int http1_body_eof(struct http1_body *body);

/* Payload bytes delivered so far. */
static inline uint64_t http1_body_decoded(const struct http1_body *body)
{
    return body->decoded;
}

#endif
