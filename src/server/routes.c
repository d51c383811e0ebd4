/*
 * routes — the routes of `brunt serve` (listed in server.h) and how an answer is
 * written: each handler composes its body in the thread's body buffer, then appends
 * head and body to the connection's output, and returns the status it answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "core/json.h"
#include "core/rng.h"
#include "server/server_internal.h"

/* Parses len decimal digits (no sign) into *out when <= max.  Returns 0 or -1. */
static int parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses an optionally negative decimal integer that fits int64.  Returns 0 or -1. */
static int parse_i64(const char *s, size_t len, int64_t *out)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t v;
    if (neg) {
        s++;
        len--;
    }
    if (parse_dec(s, len, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v) < 0) {
        return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

bool server__query_get(const char *q, size_t qlen, const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < qlen) {
        size_t j = i;
        while (j < qlen && q[j] != '&') {
            j++;
        }
        if (j - i > nlen && q[i + nlen] == '=' && memcmp(q + i, name, nlen) == 0) {
            *val = q + i + nlen + 1;
            *vlen = j - i - nlen - 1;
            return true;
        }
        if (j - i == nlen && memcmp(q + i, name, nlen) == 0) {
            *val = q + j;
            *vlen = 0;
            return true;
        }
        i = j + 1;
    }
    return false;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 102:
        return "Processing";
    case 103:
        return "Early Hints";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 418:
        return "I'm a teapot";
    case 429:
        return "Too Many Requests";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

void server__body_reset(struct server_thread *w)
{
    w->body.len = 0;
}

void server__body_add(struct server_thread *w, const char *s, size_t n)
{
    if (w->body.len + n > SRV_OUT_MAX || server__tbuf_grow(&w->body, w->body.len + n) < 0) {
        return; /* cannot happen with the caps the handlers use; the body is cut */
    }
    memcpy(w->body.p + w->body.len, s, n);
    w->body.len += n;
}

void server__body_adds(struct server_thread *w, const char *s)
{
    server__body_add(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void body_addf(struct server_thread *w,
                                                            const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        server__body_add(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

/* Appends s as a JSON string (quoted, escaped by core/json.h's one escaper). */
static void body_add_jstr(struct server_thread *w, const char *s, size_t n)
{
    struct dynbuf d;
    dynbuf_init(&d, 2 * SRV_MAX_BODY);
    if (json_escape(&d, s, n, 0) == 0) {
        server__body_add(w, "\"", 1);
        server__body_add(w, d.data, d.len);
        server__body_add(w, "\"", 1);
    }
    dynbuf_destroy(&d);
}

/* ---- answers ---------------------------------------------------------------------- */

/*
 * Ends a head: "Connection: close" when the connection is not kept (it shuts down once
 * the answer is out) or "keep-alive" for HTTP/1.0, the blank line, and, with a slow
 * body, the start of pacing for what follows.
 */
static void end_head(struct conn *c, const struct req *rq, bool keep)
{
    struct server_thread *w = c->w;
    if (!keep) {
        OUT_LIT(c, "Connection: close\r\n");
        c->close_after = CLOSE_GRACEFUL;
    } else if (rq->minor == 0) {
        OUT_LIT(c, "Connection: keep-alive\r\n");
    }
    OUT_LIT(c, "\r\n");
    if (w->t->o.slow_body_bytes_per_s > 0) {
        c->paced_from = c->out.len;
        c->pacing = true;
        c->pace_sent = 0;
        c->pace_start_ns = loop_now_ns(w->loop);
    }
}

/*
 * Appends a whole answer: head, then the thread's composed body (w->body) unless the
 * request was HEAD or the status has no body.  Closes after it when the request did
 * not keep the connection alive or `close` is set.
 */
void server__respond(struct conn *c, const struct req *rq, int status, const char *ctype,
                     const char *extra_headers, bool close)
{
    struct server_thread *w = c->w;
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    bool keep = rq->keep_alive && !close;
    size_t blen = no_body ? 0 : w->body.len;
    server__out_addf(c, "HTTP/1.1 %d %s\r\nServer: brunt\r\n", status, reason_phrase(status));
    if (!no_body) {
        server__out_addf(c, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, blen);
    }
    if (extra_headers != NULL) {
        server__out_add(c, extra_headers, strlen(extra_headers));
    }
    end_head(c, rq, keep);
    if (!rq->is_head && blen > 0) {
        server__out_add(c, w->body.p, blen);
    }
}

void server__respond_json(struct conn *c, const struct req *rq, int status)
{
    server__respond(c, rq, status, "application/json", NULL, false);
}

int server__respond_error(struct conn *c, const struct req *rq, int status, const char *msg)
{
    server__body_reset(c->w);
    server__body_adds(c->w, "{\"error\":");
    body_add_jstr(c->w, msg, strlen(msg));
    server__body_adds(c->w, "}");
    server__respond_json(c, rq, status);
    return status;
}

/* Starts a streamed body of n bytes, plain or chunked, after its head. */
static void respond_stream(struct conn *c, const struct req *rq, uint64_t n, uint32_t chunk)
{
    bool chunked = chunk > 0 && rq->minor >= 1;
    OUT_LIT(c, "HTTP/1.1 200 OK\r\nServer: brunt\r\nContent-Type: application/octet-stream\r\n");
    if (chunked) {
        OUT_LIT(c, "Transfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n");
    } else {
        server__out_addf(c, "Content-Length: %llu\r\n", (unsigned long long)n);
    }
    end_head(c, rq, rq->keep_alive);
    if (rq->is_head) {
        return;
    }
    c->streaming = true;
    c->stream_chunked = chunked;
    c->stream_first = true;
    c->stream_left = n;
    c->stream_pos = 0;
    c->chunk_size = chunk;
}

/* ---- route handlers: each appends its answer and returns the status ---------------- */

static int h_root(struct conn *c, const struct req *rq)
{
    server__body_reset(c->w);
    server__body_adds(c->w, "ok\n");
    server__respond(c, rq, 200, "text/plain", NULL, false);
    return 200;
}

/* True when the body is a valid JSON document whose value is an object. */
static bool body_is_object(const struct req *rq)
{
    size_t i = 0;
    while (i < rq->body_len && strchr(" \t\r\n", rq->body[i]) != NULL && rq->body[i] != '\0') {
        i++;
    }
    return i < rq->body_len && rq->body[i] == '{' &&
           json_validate(rq->body, rq->body_len, NULL) == 0;
}

/* True when the request's Content-Type is application/x-www-form-urlencoded. */
static bool body_is_form(const struct req *rq)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const struct http1_header *ct =
        http1_find_header(rq->h->headers, rq->h->num_headers, "Content-Type");
    size_t n = sizeof form - 1;
    return ct != NULL && ct->value_len >= n && strncasecmp(ct->value, form, n) == 0 &&
           (ct->value_len == n || ct->value[n] == ';' || ct->value[n] == ' ');
}

static int hex_digit(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

int server__form_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) {
        return -E2BIG;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return -EINVAL;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap) {
            return -E2BIG;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return (int)o;
}

/*
 * The email and password of a login, from a JSON object or a form body.  Returns the
 * email's length with email[] filled, or -1 with the 400 answer written (*status).
 */
static int login_fields(struct conn *c, const struct req *rq, char *email, size_t cap, int *status)
{
    const char *why = NULL;
    int n = 0;
    /* A JSON object is taken as JSON whatever the Content-Type (curl -d labels any body
     * a form); anything else labelled a form is a form. */
    if (!body_is_object(rq) && body_is_form(rq)) {
        const char *v;
        size_t vl;
        char pw[256];
        if (!server__query_get(rq->body, rq->body_len, "email", &v, &vl)) {
            why = "missing form field: email";
        } else if ((n = server__form_decode(v, vl, email, cap)) == -E2BIG) {
            why = "email too long";
        } else if (n < 0) {
            why = "bad percent escape in email";
        } else if (n == 0) {
            why = "email must not be empty";
        } else if (!server__query_get(rq->body, rq->body_len, "password", &v, &vl) || vl == 0) {
            why = "missing non-empty form field: password";
        } else if (server__form_decode(v, vl, pw, sizeof pw) == -EINVAL) {
            why = "bad percent escape in password";
        }
    } else {
        struct json_span v;
        if (!body_is_object(rq)) {
            why = "body must be a JSON object or a form (application/x-www-form-urlencoded)";
        } else if (json_get_member(rq->body, rq->body_len, "email", &v) != 0 ||
                   v.type != JSON_STRING) {
            why = "missing string field: email";
        } else if ((n = json_span_text(&v, email, cap)) == -E2BIG) {
            why = "email too long";
        } else if (n <= 0) {
            why = "email must not be empty";
        } else if (json_get_member(rq->body, rq->body_len, "password", &v) != 0 ||
                   v.type != JSON_STRING || v.len <= 2) {
            why = "missing non-empty string field: password";
        }
    }
    if (why != NULL) {
        *status = server__respond_error(c, rq, 400, why);
        return -1;
    }
    return n;
}

static int h_login(struct conn *c, const struct req *rq)
{
    char email[AUCTION_EMAIL_MAX + 1];
    char token[AUCTION_TOKEN_MAX + 1];
    int status;
    int n = login_fields(c, rq, email, sizeof email, &status);
    if (n < 0) {
        return status;
    }
    int tl = auction_token_issue(c->w->t->secret, email, (size_t)n, token, sizeof token);
    if (tl < 0) {
        return server__respond_error(c, rq, 400, "invalid email");
    }
    server__body_reset(c->w);
    server__body_adds(c->w, "{\"token\":\"");
    server__body_add(c->w, token, (size_t)tl);
    server__body_adds(c->w, "\"}");
    server__respond_json(c, rq, 200);
    return 200;
}

static size_t list_limit(const struct req *rq, bool *bad)
{
    const char *v;
    size_t vl;
    uint64_t n = 20;
    *bad = false;
    if (server__query_get(rq->query, rq->query_len, "limit", &v, &vl) &&
        parse_dec(v, vl, SRV_MAX_LIST, &n) < 0) {
        *bad = true;
    }
    return (size_t)n;
}

static void auction_json(struct server_thread *w, size_t i)
{
    body_addf(w,
              "{\"id\":\"auction_%zu\",\"title\":\"Auction %zu\",\"current_bid\":%lld,"
              "\"status\":\"active\"}",
              i, i, (long long)auction_current(w->t->auctions, i));
}

static int h_auctions(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    bool bad;
    size_t limit = list_limit(rq, &bad);
    if (bad) {
        return server__respond_error(c, rq, 400, "limit must be an integer from 0 to 1000");
    }
    const char *st;
    size_t stl;
    if (server__query_get(rq->query, rq->query_len, "status", &st, &stl) &&
        !(stl == 6 && memcmp(st, "active", 6) == 0)) {
        limit = 0; /* every auction is active */
    }
    if (w->t->db != NULL) {
        return server__db_auctions(c, rq, limit);
    }
    server__body_reset(w);
    server__body_adds(w, "{\"auctions\":[");
    for (size_t i = 0; i < limit && i < AUCTION_COUNT; i++) {
        if (i > 0) {
            server__body_adds(w, ",");
        }
        auction_json(w, i);
    }
    server__body_adds(w, "]}");
    server__respond_json(c, rq, 200);
    return 200;
}

static int h_auction(struct conn *c, const struct req *rq)
{
    size_t idx;
    if (auction_parse_id(rq->param, rq->param_len, &idx) < 0) {
        return server__respond_error(c, rq, 404, "no such auction");
    }
    if (c->w->t->db != NULL) {
        return server__db_auction(c, rq, idx);
    }
    server__body_reset(c->w);
    auction_json(c->w, idx);
    server__respond_json(c, rq, 200);
    return 200;
}

/* An integer amount: a JSON number without fraction or exponent, or a string of one. */
static int bid_amount(const struct json_span *v, int64_t *out)
{
    char tmp[32];
    if (v->type == JSON_NUMBER) {
        return parse_i64(v->start, v->len, out);
    }
    if (v->type == JSON_STRING) {
        int n = json_span_text(v, tmp, sizeof tmp);
        return n > 0 ? parse_i64(tmp, (size_t)n, out) : -1;
    }
    return -1;
}

static int h_bids(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    struct json_span v;
    char id[16];
    size_t idx;
    int64_t amount, current;
    if (!body_is_object(rq)) {
        return server__respond_error(c, rq, 400, "body must be a JSON object");
    }
    if (json_get_member(rq->body, rq->body_len, "auction_id", &v) != 0 || v.type != JSON_STRING) {
        return server__respond_error(c, rq, 400, "missing string field: auction_id");
    }
    int n = json_span_text(&v, id, sizeof id);
    if (json_get_member(rq->body, rq->body_len, "amount", &v) != 0 || bid_amount(&v, &amount) < 0) {
        return server__respond_error(c, rq, 400, "amount must be an integer (number or string)");
    }
    if (n <= 0 || auction_parse_id(id, (size_t)n, &idx) < 0) {
        return server__respond_error(c, rq, 404, "no such auction");
    }
    int r;
    if (w->t->db != NULL) {
        char user[64] = "anonymous";
        if (json_get_member(rq->body, rq->body_len, "user_id", &v) == 0 && v.type == JSON_STRING &&
            json_span_text(&v, user, sizeof user) <= 0) {
            snprintf(user, sizeof user, "anonymous");
        }
        bool accepted = false;
        int st = server__db_bid(c, rq, idx, amount, user, &accepted, &current);
        if (st != 0) {
            return st;
        }
        r = accepted ? AUCTION_BID_ACCEPTED : AUCTION_BID_TOO_LOW;
    } else {
        r = auction_bid(w->t->auctions, idx, amount, &current);
    }
    server__body_reset(w);
    if (r == AUCTION_BID_ACCEPTED) {
        cnt_add(&w->cnt, C_BIDS_ACCEPTED, 1);
        body_addf(w, "{\"accepted\":true,\"auction_id\":\"auction_%zu\",\"amount\":%lld}", idx,
                  (long long)amount);
        server__respond_json(c, rq, 200);
        return 200;
    }
    cnt_add(&w->cnt, C_BIDS_REJECTED, 1);
    body_addf(w,
              "{\"error\":\"bid too low\",\"accepted\":false,\"auction_id\":\"auction_%zu\","
              "\"current_bid\":%lld}",
              idx, (long long)current);
    server__respond_json(c, rq, 400);
    return 400;
}

/* Verifies "Authorization: Bearer <token>"; returns the email length or -EACCES. */
static int authorize(struct conn *c, const struct req *rq, char *email, size_t cap)
{
    const struct http1_header *a =
        http1_find_header(rq->h->headers, rq->h->num_headers, "authorization");
    if (a == NULL || a->value_len < 7 || strncasecmp(a->value, "bearer ", 7) != 0) {
        return -EACCES;
    }
    const char *tok = a->value + 7;
    size_t len = a->value_len - 7;
    while (len > 0 && (*tok == ' ' || *tok == '\t')) {
        tok++;
        len--;
    }
    return auction_token_verify(c->w->t->secret, tok, len, email, cap);
}

int server__unauthorized(struct conn *c, const struct req *rq)
{
    cnt_add(&c->w->cnt, C_UNAUTHORIZED, 1);
    server__body_reset(c->w);
    server__body_adds(c->w, "{\"error\":\"unauthorized\"}");
    server__respond(c, rq, 401, "application/json", "WWW-Authenticate: Bearer\r\n", false);
    return 401;
}

static int h_me(struct conn *c, const struct req *rq)
{
    char email[AUCTION_EMAIL_MAX + 1];
    int n = authorize(c, rq, email, sizeof email);
    if (n < 0) {
        return server__unauthorized(c, rq);
    }
    server__body_reset(c->w);
    server__body_adds(c->w, "{\"email\":");
    body_add_jstr(c->w, email, (size_t)n);
    server__body_adds(c->w, "}");
    server__respond_json(c, rq, 200);
    return 200;
}

static int h_items(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    char email[AUCTION_EMAIL_MAX + 1];
    if (authorize(c, rq, email, sizeof email) < 0) {
        return server__unauthorized(c, rq);
    }
    bool bad;
    size_t limit = list_limit(rq, &bad);
    if (bad) {
        return server__respond_error(c, rq, 400, "limit must be an integer from 0 to 1000");
    }
    server__body_reset(w);
    server__body_adds(w, "{\"items\":[");
    for (size_t i = 0; i < limit; i++) {
        body_addf(w, "%s{\"id\":\"item_%zu\",\"name\":\"Item %zu\",\"price\":%zu}",
                  i > 0 ? "," : "", i, i, 100 + (i * 37) % 900);
    }
    server__body_adds(w, "]}");
    server__respond_json(c, rq, 200);
    return 200;
}

static int h_delay(struct conn *c, const struct req *rq, uint64_t *extra_delay_ns)
{
    uint64_t ms;
    if (parse_dec(rq->param, rq->param_len, SRV_MAX_DELAY_MS, &ms) < 0) {
        return server__respond_error(c, rq, 400, "delay must be an integer from 0 to 3600000 ms");
    }
    *extra_delay_ns = ms * NS_PER_MS;
    server__body_reset(c->w);
    body_addf(c->w, "{\"delay_ms\":%llu}", (unsigned long long)ms);
    server__respond_json(c, rq, 200);
    return 200;
}

static int h_status(struct conn *c, const struct req *rq)
{
    uint64_t code;
    if (parse_dec(rq->param, rq->param_len, 599, &code) < 0 || code < 100) {
        return server__respond_error(c, rq, 400, "status must be an integer from 100 to 599");
    }
    int st = (int)code;
    if (st == 101) {
        /* A switch to nothing: the answer stands alone and the connection ends. */
        OUT_LIT(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n");
        c->close_after = CLOSE_GRACEFUL;
        return 101;
    }
    if (st < 200) {
        server__out_addf(c, "HTTP/1.1 %d %s\r\n\r\n", st, reason_phrase(st));
        st = 200;
    }
    server__body_reset(c->w);
    body_addf(c->w, "{\"status\":%d}", (int)code);
    server__respond_json(c, rq, st);
    return st;
}

static int h_bytes(struct conn *c, const struct req *rq, bool chunked)
{
    uint64_t n, chunk = 1024;
    if (parse_dec(rq->param, rq->param_len, SRV_MAX_BYTES, &n) < 0) {
        return server__respond_error(c, rq, 400, "n must be an integer from 0 to 104857600");
    }
    if (chunked) {
        const char *v;
        size_t vl;
        if (server__query_get(rq->query, rq->query_len, "chunk", &v, &vl) &&
            (parse_dec(v, vl, SRV_MAX_CHUNK, &chunk) < 0 || chunk == 0)) {
            return server__respond_error(c, rq, 400, "chunk must be an integer from 1 to 1048576");
        }
    }
    respond_stream(c, rq, n, chunked ? (uint32_t)chunk : 0);
    return 200;
}

/*
 * /redirect/{n}: n > 0 answers ?status= (301, 302, 303, 307 or 308; default 302) with
 * Location: /redirect/{n-1} and the same query; /redirect/0 answers 200 with the
 * method and body length it received, so tests see what a client re-sent.
 * /redirect-to?url=U&status=S answers S with Location: U (any URL, absolute or not).
 */
static int h_redirect(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    uint64_t code = 302, n = 0;
    const char *v;
    size_t vl;
    if (server__query_get(rq->query, rq->query_len, "status", &v, &vl) &&
        (parse_dec(v, vl, 399, &code) < 0 || code < 300)) {
        return server__respond_error(c, rq, 400, "status must be an integer from 300 to 399");
    }
    char loc[2048];
    if (rq->route == R_REDIRECT_TO) {
        if (!server__query_get(rq->query, rq->query_len, "url", &v, &vl) ||
            server__form_decode(v, vl, loc, sizeof loc) <= 0) {
            return server__respond_error(c, rq, 400, "url= is required (at most 2047 bytes)");
        }
    } else {
        if (parse_dec(rq->param, rq->param_len, 100, &n) < 0) {
            return server__respond_error(c, rq, 400, "n must be an integer from 0 to 100");
        }
        if (n == 0) {
            server__body_reset(w);
            body_addf(w, "{\"redirected\":true,\"method\":\"%.*s\",\"body_bytes\":%zu}",
                      (int)rq->h->method_len, rq->h->method, rq->body_len);
            server__respond_json(c, rq, 200);
            return 200;
        }
        snprintf(loc, sizeof loc, "/redirect/%llu%s%.*s", (unsigned long long)(n - 1),
                 rq->query_len > 0 ? "?" : "", (int)rq->query_len, rq->query);
    }
    char extra[2100];
    snprintf(extra, sizeof extra, "Location: %s\r\n", loc);
    server__body_reset(w);
    server__respond(c, rq, (int)code, "text/plain", extra, false);
    return (int)code;
}

/*
 * /cookies/set?NAME=VALUE&...: 200 with one "Set-Cookie: NAME=VALUE; Path=/" per pair
 * (at most 16); /cookies: 200 {"cookie":"<the Cookie header received, or empty>"}.
 */
static int h_cookies(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    server__body_reset(w);
    if (rq->route == R_COOKIES) {
        const struct http1_header *h =
            http1_find_header(rq->h->headers, rq->h->num_headers, "Cookie");
        server__body_adds(w, "{\"cookie\":");
        body_add_jstr(w, h != NULL ? h->value : "", h != NULL ? h->value_len : 0);
        server__body_adds(w, "}");
        server__respond_json(c, rq, 200);
        return 200;
    }
    char extra[4096];
    size_t at = 0;
    const char *q = rq->query, *end = rq->query + rq->query_len;
    for (int k = 0; q < end && k < 16; k++) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp != NULL ? amp : end;
        int len = (int)(stop - q);
        int wrote = snprintf(extra + at, sizeof extra - at, "Set-Cookie: %.*s; Path=/\r\n", len, q);
        if (wrote < 0 || (size_t)wrote >= sizeof extra - at || memchr(q, '\r', (size_t)len) ||
            memchr(q, '\n', (size_t)len)) {
            return server__respond_error(c, rq, 400, "too many or too long cookies");
        }
        at += (size_t)wrote;
        q = stop + 1;
    }
    extra[at] = '\0';
    server__body_adds(w, "{\"set\":true}");
    server__respond(c, rq, 200, "application/json", extra, false);
    return 200;
}

/* /gzip and /deflate: a JSON document compressed with that Content-Encoding (zlib). */
static int h_compressed(struct conn *c, const struct req *rq)
{
    struct server_thread *w = c->w;
    bool gz = rq->route == R_GZIP;
    char plain[512];
    int pl = snprintf(plain, sizeof plain,
                      "{\"%s\":true,\"text\":\"brunt brunt brunt brunt brunt brunt brunt\"}",
                      gz ? "gzipped" : "deflated");
    unsigned char out[1024];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip wrapper; 15: zlib (what HTTP calls deflate). */
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, gz ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return server__respond_error(c, rq, 500, "zlib failed");
    }
    zs.next_in = (unsigned char *)plain;
    zs.avail_in = (unsigned)pl;
    zs.next_out = out;
    zs.avail_out = sizeof out;
    int zr = deflate(&zs, Z_FINISH);
    size_t n = sizeof out - zs.avail_out;
    deflateEnd(&zs);
    if (zr != Z_STREAM_END) {
        return server__respond_error(c, rq, 500, "zlib failed");
    }
    server__body_reset(w);
    server__body_add(w, (const char *)out, n);
    server__respond(c, rq, 200, "application/json",
                    gz ? "Content-Encoding: gzip\r\n" : "Content-Encoding: deflate\r\n", false);
    return 200;
}

/* ---- routing ---------------------------------------------------------------------- */

static bool path_is(const struct req *rq, const char *p)
{
    size_t n = strlen(p);
    return rq->path_len == n && memcmp(rq->path, p, n) == 0;
}

/* Matches "prefix{param}" where param is one non-empty segment. */
static bool path_param(struct req *rq, const char *prefix)
{
    size_t n = strlen(prefix);
    if (rq->path_len <= n || memcmp(rq->path, prefix, n) != 0 ||
        memchr(rq->path + n, '/', rq->path_len - n) != NULL) {
        return false;
    }
    rq->param = rq->path + n;
    rq->param_len = rq->path_len - n;
    return true;
}

/* Sets rq->route (and param); returns the method the route wants. */
enum method_class server__route_match(struct req *rq)
{
    static const struct {
        const char *path;
        enum route r;
        enum method_class m;
    } exact[] = {
        {"/", R_ROOT, M_GET},
        {"/health", R_HEALTH, M_GET},
        {"/auth/login", R_LOGIN, M_POST},
        {"/api/v1/auctions", R_AUCTIONS, M_GET},
        {"/api/v1/bids", R_BIDS, M_POST},
        {"/users/me", R_ME, M_GET},
        {"/items", R_ITEMS, M_GET},
        {"/redirect-to", R_REDIRECT_TO, M_OTHER},
        {"/cookies", R_COOKIES, M_GET},
        {"/cookies/set", R_COOKIES_SET, M_GET},
        {"/gzip", R_GZIP, M_GET},
        {"/deflate", R_DEFLATE, M_GET},
        {"/ws/echo", R_WS_ECHO, M_GET},
        {"/__stats", R_STATS, M_GET},
        {"/__reset", R_RESET, M_POST},
    };
    static const struct {
        const char *prefix;
        enum route r;
    } param[] = {
        {"/api/v1/auctions/", R_AUCTION}, {"/delay/", R_DELAY},
        {"/status/", R_STATUS},           {"/bytes/", R_BYTES},
        {"/chunked/", R_CHUNKED},         {"/redirect/", R_REDIRECT},
        {"/ws/room/", R_WS_ROOM},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        if (path_is(rq, exact[i].path)) {
            rq->route = exact[i].r;
            return exact[i].m;
        }
    }
    for (size_t i = 0; i < sizeof param / sizeof param[0]; i++) {
        if (path_param(rq, param[i].prefix)) {
            rq->route = param[i].r;
            return param[i].r == R_REDIRECT ? M_OTHER : M_GET;
        }
    }
    rq->route = R_UNMATCHED;
    return M_OTHER;
}

int server__run_handler(struct conn *c, const struct req *rq, uint64_t *extra_delay_ns)
{
    switch (rq->route) {
    case R_ROOT:
    case R_HEALTH:
        return h_root(c, rq);
    case R_LOGIN:
        return h_login(c, rq);
    case R_AUCTIONS:
        return h_auctions(c, rq);
    case R_AUCTION:
        return h_auction(c, rq);
    case R_BIDS:
        return h_bids(c, rq);
    case R_ME:
        return h_me(c, rq);
    case R_ITEMS:
        return h_items(c, rq);
    case R_DELAY:
        return h_delay(c, rq, extra_delay_ns);
    case R_STATUS:
        return h_status(c, rq);
    case R_BYTES:
        return h_bytes(c, rq, false);
    case R_CHUNKED:
        return h_bytes(c, rq, true);
    case R_REDIRECT:
    case R_REDIRECT_TO:
        return h_redirect(c, rq);
    case R_COOKIES:
    case R_COOKIES_SET:
        return h_cookies(c, rq);
    case R_GZIP:
    case R_DEFLATE:
        return h_compressed(c, rq);
    case R_WS_ECHO:
    case R_WS_ROOM:
        return server__ws_upgrade(c, rq);
    default:
        return server__respond_error(c, rq, 404, "not found");
    }
}
