/*
 * flow_http — what a scenario step does with HTTP beyond one request and one answer:
 * redirects followed hop by hop (each hop its own request and sample, the step's checks
 * on the final answer), the VU's cookie jar (scenario/cookie.h), and gzip/deflate
 * bodies decoded (zlib) for the checks and extractions that read them.
 *
 * The state lives in struct flow_http, made the first time a VU meets a Set-Cookie or a
 * redirect, so VUs of a flow that has neither carry one pointer and two bytes more.
 * Redirects follow Go's (and so k6's) rules: 301 and 302 turn a POST (anything but GET
 * and HEAD) into a GET without a body, 303 turns anything but HEAD into a GET, 307 and
 * 308 re-send the method and body; Host is rewritten, Cookie comes from the jar for the
 * new URL, Authorization is dropped when the origin changes.  A hop goes to an origin
 * of the plan, or to a plain http:// IP literal or localhost (no name resolution on a
 * worker thread); any other Location ends the chain: that 3xx is the final answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/clock.h"
#include "engine/transport.h"
#include "scenario/flow_internal.h"
#include "scenario/load.h"

struct flow_http {
    struct cookie_jar jar;
    int pending;             /* a 3xx to follow: its status; 0 none */
    uint32_t hops;           /* redirects followed in the current step */
    const struct origin *to; /* the next hop's origin */
    struct dynbuf target;    /* the next hop's request target */
    struct origin own;       /* an origin outside the plan (plain TCP) */
    struct dynbuf scratch;   /* the next request, built from the last */
    struct dynbuf line;      /* a Cookie line */
    struct dynbuf decoded;   /* an inflated body */
    struct dynbuf held;      /* --http-debug=failed: the exchange's text until it settles */
};

static struct flow_http *http_of(struct flow_vu *v)
{
    if (v->http == NULL) {
        v->http = calloc(1, sizeof *v->http);
        if (v->http != NULL) {
            dynbuf_init(&v->http->target, URL_MAX_TARGET - 1);
            dynbuf_init(&v->http->scratch, FLOW_MAX_REQUEST_BYTES);
            dynbuf_init(&v->http->line, 64 * 1024);
            dynbuf_init(&v->http->decoded, FLOW_BODY_CAP);
            dynbuf_init(&v->http->held, FLOW_DEBUG_HELD_BYTES);
        }
    }
    return v->http;
}

void flow__http_free(struct flow_vu *v)
{
    if (v->http == NULL) {
        return;
    }
    cookie_jar_clear(&v->http->jar);
    dynbuf_destroy(&v->http->target);
    dynbuf_destroy(&v->http->scratch);
    dynbuf_destroy(&v->http->line);
    dynbuf_destroy(&v->http->decoded);
    dynbuf_destroy(&v->http->held);
    free(v->http);
    v->http = NULL;
}

void flow__http_iteration(const struct flow_scenario *fsc, struct flow_vu *v)
{
    /* k6 empties the VU's jar before each iteration unless noCookiesReset is set. */
    if (v->http != NULL && !fsc->no_cookies_reset) {
        cookie_jar_clear(&v->http->jar);
    }
}

static int64_t now_s(void)
{
    return (int64_t)(clock_wall_ns() / NS_PER_S);
}

/* The target of the request in buf (between the first two spaces). */
static const char *req_target(const struct dynbuf *buf, size_t *len)
{
    *len = 0;
    if (buf == NULL || buf->data == NULL) {
        return "/";
    }
    const char *sp = memchr(buf->data, ' ', buf->len);
    if (sp == NULL) {
        return "/";
    }
    sp++;
    const char *sp2 = memchr(sp, ' ', buf->len - (size_t)(sp - buf->data));
    if (sp2 == NULL) {
        return "/";
    }
    *len = (size_t)(sp2 - sp);
    return sp;
}

/* The end of the head in buf (the offset of its final CRLF), or 0. */
static size_t head_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 3 < n; i++) {
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') {
            return i + 2;
        }
    }
    return 0;
}

/* Whether the head p[0..end) has a header line called name. */
static bool head_has(const char *p, size_t end, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl + 2 < end; i++) {
        if (p[i] == '\n' && strncasecmp(p + i + 1, name, nl) == 0 && p[i + 1 + nl] == ':') {
            return true;
        }
    }
    return false;
}

/* Inserts the jar's Cookie line for origin o into the request in out (from start). */
static int add_cookie_line(struct flow_http *h, const struct origin *o, struct dynbuf *out,
                           size_t start)
{
    size_t end = head_end(out->data + start, out->len - start);
    if (end == 0 || head_has(out->data + start, end, "Cookie")) {
        return 0; /* a Cookie header of the step's own wins over the jar */
    }
    size_t tl;
    const char *t = req_target(out, &tl);
    struct dynbuf *line = &h->line;
    dynbuf_reset(line);
    int rc = dynbuf_add(line, "Cookie: ", 8);
    int n = rc ? rc : cookie_jar_header(&h->jar, o->url.host, t, tl, o->url.tls, now_s(), line);
    if (n <= 0) {
        return n;
    }
    rc = dynbuf_add(line, "\r\n", 2);
    rc = rc ? rc : dynbuf_reserve(out, line->len);
    if (rc < 0) {
        return rc;
    }
    char *at = out->data + start + end;
    memmove(at + line->len, at, out->len - start - end);
    memcpy(at, line->data, line->len);
    out->len += line->len;
    return 0;
}

int flow__http_render(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out,
                      size_t start)
{
    v->req = out;
    v->cur = fs->origin;
    if (v->http == NULL) {
        return 0;
    }
    v->http->hops = 0;
    v->http->pending = 0;
    return v->http->jar.n > 0 ? add_cookie_line(v->http, fs->origin, out, start) : 0;
}

/* The origin of url u: one of the plan's, or h->own for a plain IP literal / localhost. */
static const struct origin *origin_for(const struct flow_scenario *fsc, struct flow_http *h,
                                       const struct url *u)
{
    const struct plan *plan = fsc->plan;
    for (size_t i = 0; plan != NULL && i < plan->n_origins; i++) {
        const struct url *o = &plan->origins[i].url;
        if (o->port == u->port && o->tls == u->tls && strcmp(o->host, u->host) == 0) {
            return &plan->origins[i];
        }
    }
    if (u->tls) {
        return NULL; /* TLS needs the plan's configuration: not an origin of the plan */
    }
    struct origin *o = &h->own;
    memset(&o->addr, 0, sizeof o->addr);
    const char *host = strcmp(u->host, "localhost") == 0 ? "127.0.0.1" : u->host;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(u->port);
        o->addr_len = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(u->port);
        o->addr_len = sizeof *a6;
    } else {
        return NULL; /* a name: resolving it would block the worker */
    }
    o->url = *u;
    o->transport = &transport_tcp;
    o->transport_cfg = NULL;
    return o;
}

/*
 * Resolves Location loc[0..n) against the request in flight (origin cur, target in
 * v->req) into h->target and h->to.  0, or -1 when it cannot be followed.
 */
static int resolve_location(const struct flow_scenario *fsc, struct flow_vu *v, struct flow_http *h,
                            const char *loc, size_t n)
{
    char abs[URL_MAX_TARGET + 512];
    const struct url *base = &v->cur->url;
    char hostport[URL_MAX_HOST + 16];
    if (url_host_header(base, hostport, sizeof hostport) < 0 || n >= URL_MAX_TARGET) {
        return -1;
    }
    const char *scheme = base->tls ? "https:" : "http:";
    int k;
    if (n >= 7 && (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0)) {
        k = snprintf(abs, sizeof abs, "%.*s", (int)n, loc);
    } else if (n >= 2 && loc[0] == '/' && loc[1] == '/') {
        k = snprintf(abs, sizeof abs, "%s%.*s", scheme, (int)n, loc);
    } else if (n >= 1 && loc[0] == '/') {
        k = snprintf(abs, sizeof abs, "%s//%s%.*s", scheme, hostport, (int)n, loc);
    } else {
        /* relative to the current path's directory (or its query: "?x") */
        size_t tl;
        const char *t = req_target(v->req, &tl);
        const char *q = memchr(t, '?', tl);
        size_t pl = q != NULL ? (size_t)(q - t) : tl;
        if (n > 0 && loc[0] != '?') {
            while (pl > 0 && t[pl - 1] != '/') {
                pl--;
            }
        }
        k = snprintf(abs, sizeof abs, "%s//%s%.*s%.*s", scheme, hostport, (int)pl, t, (int)n, loc);
    }
    if (k < 0 || (size_t)k >= sizeof abs) {
        return -1;
    }
    struct url *nu = malloc(sizeof *nu);
    if (nu == NULL) {
        return -1;
    }
    int rc = -1;
    if (url_parse(abs, nu) == 0 && (h->to = origin_for(fsc, h, nu)) != NULL) {
        dynbuf_reset(&h->target);
        rc = dynbuf_adds(&h->target, nu->target) < 0 ? -1 : 0;
    }
    free(nu);
    return rc;
}

bool flow__http_head(const struct flow_step *fs, struct flow_vu *v,
                     const struct http1_response *resp)
{
    v->encoding = 0;
    const struct flow_scenario *fsc = v->fsc;
    for (size_t i = 0; i < resp->num_headers; i++) {
        const struct http1_header *hd = &resp->headers[i];
        if (hd->name_len == 16 && strncasecmp(hd->name, "Content-Encoding", 16) == 0) {
            if (hd->value_len == 4 && strncasecmp(hd->value, "gzip", 4) == 0) {
                v->encoding = 1;
            } else if (hd->value_len == 7 && strncasecmp(hd->value, "deflate", 7) == 0) {
                v->encoding = 2;
            }
        } else if (hd->name_len == 10 && strncasecmp(hd->name, "Set-Cookie", 10) == 0 &&
                   v->cur != NULL && http_of(v) != NULL) {
            size_t tl;
            const char *t = req_target(v->req, &tl);
            (void)cookie_jar_store(&v->http->jar, hd->value, hd->value_len, v->cur->url.host, t, tl,
                                   now_s());
        }
    }
    int st = resp->status;
    bool redirect = st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
    uint32_t max = fs->max_redirects >= 0 ? (uint32_t)fs->max_redirects
                   : fsc != NULL          ? fsc->max_redirects
                                          : 0;
    if (!redirect || v->cur == NULL || (v->http != NULL && v->http->hops >= max) || max == 0) {
        return false;
    }
    const struct http1_header *loc =
        http1_find_header(resp->headers, resp->num_headers, "Location");
    struct flow_http *h = loc != NULL && loc->value_len > 0 ? http_of(v) : NULL;
    if (h == NULL || resolve_location(fsc, v, h, loc->value, loc->value_len) < 0) {
        return false;
    }
    h->pending = st;
    return true;
}

/* Appends header line p[0..n) (with its CRLF) unless the hop drops it. */
static bool drop_line(const char *p, size_t n, bool drop_body, bool cross)
{
    static const char *const always[] = {"Host", "Cookie"};
    static const char *const body[] = {"Content-Length", "Content-Type", "Transfer-Encoding"};
    const char *colon = memchr(p, ':', n);
    size_t nl = colon != NULL ? (size_t)(colon - p) : n;
    for (size_t i = 0; i < 2; i++) {
        if (strlen(always[i]) == nl && strncasecmp(p, always[i], nl) == 0) {
            return true;
        }
    }
    for (size_t i = 0; drop_body && i < 3; i++) {
        if (strlen(body[i]) == nl && strncasecmp(p, body[i], nl) == 0) {
            return true;
        }
    }
    return cross && nl == 13 && strncasecmp(p, "Authorization", 13) == 0;
}

bool flow__http_follow(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out,
                       const struct origin **origin)
{
    (void)fs;
    struct flow_http *h = v->http;
    if (h == NULL || h->pending == 0 || out->data == NULL) {
        return false;
    }
    int st = h->pending;
    h->pending = 0;
    const char *p = out->data;
    size_t end = head_end(p, out->len);
    const char *sp = memchr(p, ' ', out->len);
    const char *eol = memchr(p, '\n', out->len);
    if (end == 0 || sp == NULL || eol == NULL) {
        return false;
    }
    size_t ml = (size_t)(sp - p);
    bool is_get = ml == 3 && memcmp(p, "GET", 3) == 0;
    bool is_head = ml == 4 && memcmp(p, "HEAD", 4) == 0;
    bool to_get = (st == 303 && !is_head) || ((st == 301 || st == 302) && !is_get && !is_head);
    const struct url *from = &v->cur->url, *to = &h->to->url;
    bool cross = from->tls != to->tls || from->port != to->port || strcmp(from->host, to->host);
    struct dynbuf *b = &h->scratch;
    dynbuf_reset(b);
    char host[URL_MAX_HOST + 16];
    int rc = url_host_header(to, host, sizeof host) < 0 ? -1 : 0;
    rc = rc ? rc : dynbuf_add(b, to_get ? "GET" : p, to_get ? 3 : ml);
    rc = rc ? rc : dynbuf_addc(b, ' ');
    rc = rc ? rc : dynbuf_add(b, h->target.data, h->target.len);
    rc = rc ? rc : dynbuf_addf(b, " HTTP/1.1\r\nHost: %s\r\n", host);
    for (const char *l = eol + 1; rc == 0 && l < p + end;) {
        const char *nl = memchr(l, '\n', (size_t)(p + end - l));
        size_t n = nl != NULL ? (size_t)(nl - l) + 1 : (size_t)(p + end - l);
        if (!drop_line(l, n, to_get, cross)) {
            rc = dynbuf_add(b, l, n);
        }
        l += n;
    }
    rc = rc ? rc : dynbuf_add(b, "\r\n", 2);
    if (rc == 0 && !to_get) {
        rc = dynbuf_add(b, p + end + 2, out->len - end - 2);
    }
    if (rc == 0 && h->jar.n > 0) {
        rc = add_cookie_line(h, h->to, b, 0);
    }
    if (rc < 0) {
        return false;
    }
    dynbuf_reset(out);
    if (dynbuf_add(out, b->data, b->len) < 0) {
        return false;
    }
    v->cur = h->to;
    h->hops++;
    *origin = h->to;
    return true;
}

const char *flow__http_body(struct flow_vu *v, const char *body, size_t *len)
{
    if (v->encoding == 0 || body == NULL || *len == 0 || http_of(v) == NULL) {
        return body;
    }
    struct dynbuf *d = &v->http->decoded;
    dynbuf_reset(d);
    /* gzip or zlib by their headers (32 + 15); a "deflate" without the zlib wrapper
     * (some servers send raw deflate) is tried raw (-15) when that fails at once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, attempt == 0 ? 32 + 15 : -15) != Z_OK) {
            return body;
        }
        zs.next_in = (unsigned char *)(uintptr_t)body;
        zs.avail_in = (unsigned)*len;
        int zr = Z_OK;
        while (zr == Z_OK && d->len < FLOW_BODY_CAP) {
            if (dynbuf_reserve(d, 16384) < 0 && dynbuf_reserve(d, FLOW_BODY_CAP - d->len) < 0) {
                break;
            }
            size_t room = FLOW_BODY_CAP - d->len < 16384 ? FLOW_BODY_CAP - d->len : 16384;
            zs.next_out = (unsigned char *)d->data + d->len;
            zs.avail_out = (unsigned)room;
            zr = inflate(&zs, Z_NO_FLUSH);
            d->len += room - zs.avail_out;
            if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
                break; /* a truncated (kept-prefix) body: what decoded so far */
            }
        }
        inflateEnd(&zs);
        if (zr == Z_STREAM_END || zr == Z_OK || (zr == Z_BUF_ERROR && d->len > 0)) {
            *len = d->len;
            return d->data != NULL ? d->data : "";
        }
        if (v->encoding != 2 || d->len > 0) {
            break;
        }
    }
    return body; /* not decodable: the checks see the bytes as they came */
}

/* --- --http-debug --- */

/* Appends p[0..n) with control bytes other than CR, LF and tab shown as '.'. */
static int add_printable(struct dynbuf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        char o = (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f ? '.' : (char)c;
        if (o != '\r' && dynbuf_addc(b, o) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Writes one block of text (or, with =failed, holds it for the VU's settle). */
static void debug_emit(struct flow_vu *v, struct dynbuf *b)
{
    if (scenario_http_debug == 3) {
        struct flow_http *h = http_of(v);
        if (h != NULL && b->len > 0) {
            (void)dynbuf_add(&h->held, b->data, b->len); /* past the cap: left out */
        }
    } else if (scenario_http_debug_write != NULL && b->len > 0) {
        scenario_http_debug_write(b->data, b->len);
    }
    dynbuf_destroy(b);
}

void flow__http_debug_settle(struct flow_vu *v, bool failed)
{
    if (scenario_http_debug != 3 || v->http == NULL) {
        return;
    }
    struct dynbuf *held = &v->http->held;
    if (failed && held->len > 0 && scenario_http_debug_write != NULL) {
        scenario_http_debug_write(held->data, held->len);
    }
    dynbuf_reset(held);
}

/* Appends a body (its first FLOW_DEBUG_BODY_BYTES) and how much was left out. */
static void debug_body(struct dynbuf *b, const char *body, size_t len, bool more)
{
    size_t n = len < FLOW_DEBUG_BODY_BYTES ? len : FLOW_DEBUG_BODY_BYTES;
    (void)add_printable(b, body, n);
    if (n < len || more) {
        (void)dynbuf_addf(b, "\n[... body cut at %u bytes]", FLOW_DEBUG_BODY_BYTES);
    }
    (void)dynbuf_addc(b, '\n');
}

void flow__http_debug_request(struct flow_vu *v, const char *req, size_t len)
{
    if (scenario_http_debug == 0) {
        return;
    }
    struct dynbuf b;
    dynbuf_init(&b, 64 * 1024 + 4096);
    size_t end = head_end(req, len);
    size_t head = end > 0 ? end : len;
    (void)dynbuf_addf(&b, "brunt http-debug: vu %u request:\n", v->vu);
    (void)add_printable(&b, req, head);
    if (scenario_http_debug >= 2 && end > 0 && len > end + 2) {
        (void)dynbuf_addc(&b, '\n');
        debug_body(&b, req + end + 2, len - end - 2, false);
    }
    (void)dynbuf_addc(&b, '\n');
    debug_emit(v, &b);
}

void flow__http_debug_response(struct flow_vu *v, const struct http1_response *resp)
{
    if (scenario_http_debug == 0) {
        return;
    }
    struct dynbuf b;
    dynbuf_init(&b, 64 * 1024 + 4096);
    (void)dynbuf_addf(&b, "brunt http-debug: vu %u response:\nHTTP/1.%d %d %.*s\n", v->vu,
                      resp->minor_version, resp->status, (int)resp->reason_len, resp->reason);
    for (size_t i = 0; i < resp->num_headers; i++) {
        const struct http1_header *h = &resp->headers[i];
        (void)add_printable(&b, h->name, h->name_len);
        (void)dynbuf_add(&b, ": ", 2);
        (void)add_printable(&b, h->value, h->value_len);
        (void)dynbuf_addc(&b, '\n');
    }
    (void)dynbuf_addc(&b, '\n');
    debug_emit(v, &b);
}

void flow__http_debug_body(struct flow_vu *v, int status, const char *body, size_t len,
                           bool truncated)
{
    if (scenario_http_debug < 2) {
        return;
    }
    struct dynbuf b;
    dynbuf_init(&b, FLOW_DEBUG_BODY_BYTES + 4096);
    if (status == 0) {
        (void)dynbuf_addf(&b, "brunt http-debug: vu %u: the request failed (no response)\n\n",
                          v->vu);
    } else if (body != NULL && len > 0) {
        (void)dynbuf_addf(&b, "brunt http-debug: vu %u response body (%s%zu bytes%s):\n", v->vu,
                          v->encoding ? "decoded, " : "", len, truncated ? " kept" : "");
        debug_body(&b, body, len, truncated);
        (void)dynbuf_addc(&b, '\n');
    }
    debug_emit(v, &b);
}
