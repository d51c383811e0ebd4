/*
 * http1 — HTTP/1.1 head parsers (both sides) and the streaming body decoder.
 *
 * The head parsers work line by line over the bytes received so far, looking at no
 * more than HTTP1_MAX_HEAD_BYTES of them.  A line is only judged once it is complete,
 * so the answer for a prefix is always PARTIAL or the same answer the whole head
 * would give: a caller may re-parse the growing prefix after every read.  When the
 * window is full and the head has not ended, the answer is HTTP1_ETOOLARGE, so a
 * caller never has to buffer more than the cap.  Lines end in CRLF or a bare LF;
 * a CR anywhere else is a control character and therefore an error.  Obsolete line
 * folding (a header line starting with white space) is rejected, as RFC 9112 §5.2
 * allows, because accepting it is a classic request-smuggling vector.
 *
 * Framing follows RFC 9112 §6.3, summarised in the contracts of http1.h.  The body
 * decoder is a byte-at-a-time state machine for the chunk framing, with the payload
 * itself passed through in spans (never copied).  It leaves out any transfer coding
 * other than chunked: those are errors at head time.
 */
#include "http/http1.h"

#include <string.h>

/* The longest chunk-size line (with extensions) or trailer line the decoder accepts. */
#define HTTP1_MAX_CHUNK_LINE 4096

/* ---- character classes ---------------------------------------------------------- */

/* tchar from RFC 9110 §5.6.2, as a table: one load per byte of every header name. */
static const bool tchar_table[256] = {
    ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true, ['!'] = true,  ['#'] = true,
    ['$'] = true,         ['%'] = true,         ['&'] = true,         ['\''] = true, ['*'] = true,
    ['+'] = true,         ['-'] = true,         ['.'] = true,         ['^'] = true,  ['_'] = true,
    ['`'] = true,         ['|'] = true,         ['~'] = true,
};

static inline bool is_tchar(unsigned char c)
{
    return tchar_table[c];
}

/* field-vchar / SP / HTAB (RFC 9110 §5.5): anything but controls and DEL. */
static const bool field_char_table[256] = {
    ['\t'] = true,
    [0x20 ... 0x7e] = true,
    [0x80 ... 0xff] = true,
};

static inline bool is_field_char(unsigned char c)
{
    return field_char_table[c];
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ci_equal(const char *a, size_t a_len, const char *b)
{
    size_t b_len = strlen(b);
    if (a_len != b_len) {
        return false;
    }
    for (size_t i = 0; i < a_len; i++) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

/* Case-insensitive equality with a lower-case literal of b_len bytes. */
static inline bool ci_equal_lit(const char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len) {
        return false;
    }
    for (size_t i = 0; i < a_len; i++) {
        if (lower(a[i]) != b[i]) {
            return false;
        }
    }
    return true;
}

/* Against a lower-case string literal: the length is known at compile time, so most
 * names are rejected on their length alone. */
#define CI_EQUAL(a, a_len, lit) ci_equal_lit((a), (a_len), (lit), sizeof(lit) - 1)

/* ---- line splitting --------------------------------------------------------------- */

/*
 * The cursor over the parse window.  next_line() yields the next complete line without
 * its terminator, or reports that the window ended first.
 */
struct cursor {
    const char *buf;
    size_t len; /* the window: min(received, HTTP1_MAX_HEAD_BYTES) */
    size_t pos;
    bool window_full; /* more bytes were received than the window holds */
};

static void cursor_init(struct cursor *c, const char *buf, size_t len)
{
    c->buf = buf;
    c->pos = 0;
    if (len > HTTP1_MAX_HEAD_BYTES) {
        c->len = HTTP1_MAX_HEAD_BYTES;
        c->window_full = true;
    } else {
        c->len = len;
        /* Exactly at the cap with no end of head in sight cannot become valid either. */
        c->window_full = len == HTTP1_MAX_HEAD_BYTES;
    }
}

/* Returns 0 with the line in *line / *line_len, or HTTP1_PARTIAL / HTTP1_ETOOLARGE. */
static int next_line(struct cursor *c, const char **line, size_t *line_len)
{
    const char *start = c->buf + c->pos;
    const char *nl = memchr(start, '\n', c->len - c->pos);
    if (nl == NULL) {
        return c->window_full ? HTTP1_ETOOLARGE : HTTP1_PARTIAL;
    }
    size_t n = (size_t)(nl - start);
    c->pos += n + 1;
    if (n > 0 && start[n - 1] == '\r') {
        n--;
    }
    *line = start;
    *line_len = n;
    return 0;
}

/* ---- header fields ------------------------------------------------------------------ */

/*
 * What the framing decision needs, gathered while the fields are parsed.  The list
 * values are validated as they are met so that a bad field fails wherever it is.
 */
struct head_facts {
    bool have_length;
    uint64_t content_length;
    bool have_te;
    bool te_chunked_last; /* the last coding seen so far is chunked */
    bool te_bad;          /* chunked applied twice, or an empty element */
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
    unsigned elements; /* Content-Length elements in the field being parsed */
};

/* Calls fn(ctx, element, len) for every non-empty element of a comma-separated list. */
static int for_each_element(const char *v, size_t len,
                            int (*fn)(void *ctx, const char *el, size_t el_len), void *ctx)
{
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && v[i] != ',') {
            i++;
        }
        size_t a = start, b = i;
        while (a < b && is_ows(v[a])) {
            a++;
        }
        while (b > a && is_ows(v[b - 1])) {
            b--;
        }
        if (b > a) {
            int rc = fn(ctx, v + a, b - a);
            if (rc != 0) {
                return rc;
            }
        }
        i++; /* past the comma (or past the end) */
    }
    return 0;
}

static int length_element(void *ctx, const char *el, size_t len)
{
    struct head_facts *f = ctx;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (el[i] < '0' || el[i] > '9') {
            return HTTP1_EPROTO;
        }
        unsigned d = (unsigned)(el[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return HTTP1_EPROTO;
        }
        v = v * 10 + d;
    }
    if (f->have_length && f->content_length != v) {
        return HTTP1_EPROTO;
    }
    f->have_length = true;
    f->content_length = v;
    f->elements++;
    return 0;
}

static int te_element(void *ctx, const char *el, size_t len)
{
    struct head_facts *f = ctx;
    /* Parameters ("gzip;q=1") do not matter: only the coding name does. */
    size_t name_len = 0;
    while (name_len < len && el[name_len] != ';' && !is_ows(el[name_len])) {
        name_len++;
    }
    bool chunked = CI_EQUAL(el, name_len, "chunked");
    if (chunked && f->te_chunked_last) {
        f->te_bad = true; /* RFC 9112 §6.1: chunked must not be applied twice */
    }
    f->te_chunked_last = chunked;
    return 0;
}

static int connection_element(void *ctx, const char *el, size_t len)
{
    struct head_facts *f = ctx;
    if (CI_EQUAL(el, len, "close")) {
        f->conn_close = true;
    } else if (CI_EQUAL(el, len, "keep-alive")) {
        f->conn_keep_alive = true;
    }
    return 0;
}

/*
 * Parses one header line into *h and records what framing needs.  Returns 0 or
 * HTTP1_EPROTO.
 */
static int parse_field(const char *line, size_t len, struct http1_header *h, struct head_facts *f)
{
    if (len == 0 || is_ows(line[0])) {
        return HTTP1_EPROTO; /* obs-fold, or white space before the name */
    }
    /* ':' is not a tchar, so one table load per byte finds the end of the name. */
    size_t colon = 0;
    while (colon < len && is_tchar((unsigned char)line[colon])) {
        colon++;
    }
    if (colon == len || colon == 0 || line[colon] != ':') {
        return HTTP1_EPROTO; /* includes white space between name and colon */
    }
    size_t a = colon + 1, b = len;
    for (size_t i = a; i < b; i++) {
        if (!is_field_char((unsigned char)line[i])) {
            return HTTP1_EPROTO;
        }
    }
    while (a < b && is_ows(line[a])) {
        a++;
    }
    while (b > a && is_ows(line[b - 1])) {
        b--;
    }
    h->name = line;
    h->name_len = colon;
    h->value = line + a;
    h->value_len = b - a;

    if (CI_EQUAL(h->name, h->name_len, "content-length")) {
        /* An empty value, or one made only of commas, has no length at all. */
        f->elements = 0;
        int rc = for_each_element(h->value, h->value_len, length_element, f);
        if (rc != 0) {
            return rc;
        }
        return f->elements == 0 ? HTTP1_EPROTO : 0;
    }
    if (CI_EQUAL(h->name, h->name_len, "transfer-encoding")) {
        f->have_te = true;
        if (h->value_len == 0) {
            f->te_bad = true;
            return 0;
        }
        return for_each_element(h->value, h->value_len, te_element, f);
    }
    if (CI_EQUAL(h->name, h->name_len, "connection")) {
        return for_each_element(h->value, h->value_len, connection_element, f);
    }
    if (CI_EQUAL(h->name, h->name_len, "expect")) {
        if (CI_EQUAL(h->value, h->value_len, "100-continue")) {
            f->expect_continue = true;
        }
    }
    return 0;
}

/*
 * Parses header lines up to and including the empty line.  Returns the head length
 * (the cursor position after the empty line) or a negative result.
 */
static int parse_fields(struct cursor *c, struct http1_header *headers, size_t *num_headers,
                        struct head_facts *f)
{
    size_t n = 0;
    for (;;) {
        const char *line;
        size_t line_len;
        int rc = next_line(c, &line, &line_len);
        if (rc != 0) {
            return rc;
        }
        if (line_len == 0) {
            *num_headers = n;
            return (int)c->pos;
        }
        if (n == HTTP1_MAX_HEADERS) {
            return HTTP1_ETOOMANY;
        }
        rc = parse_field(line, line_len, &headers[n], f);
        if (rc != 0) {
            return rc;
        }
        n++;
    }
}

/* Parses "HTTP/1.x" at s[0..8); returns the minor version or -1. */
static int parse_version(const char *s, size_t len)
{
    if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') {
        return -1;
    }
    /* RFC 9110 §2.5: a later 1.x minor version is handled as the highest one we know. */
    return s[7] == '0' ? 0 : 1;
}

/* ---- responses ---------------------------------------------------------------------- */

static int parse_status_line(const char *line, size_t len, struct http1_response *out)
{
    /* HTTP/1.1 SP 3DIGIT [SP reason] */
    if (len < 12 || line[8] != ' ') {
        return HTTP1_EPROTO;
    }
    int minor = parse_version(line, 8);
    if (minor < 0) {
        return HTTP1_EPROTO;
    }
    int status = 0;
    for (size_t i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9') {
            return HTTP1_EPROTO;
        }
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100) {
        return HTTP1_EPROTO;
    }
    size_t r = 12;
    if (len > 12) {
        if (line[12] != ' ') {
            return HTTP1_EPROTO; /* "HTTP/1.1 2000" */
        }
        r = 13;
    }
    for (size_t i = r; i < len; i++) {
        if (!is_field_char((unsigned char)line[i])) {
            return HTTP1_EPROTO;
        }
    }
    out->minor_version = minor;
    out->status = status;
    out->reason = line + r;
    out->reason_len = len - r;
    return 0;
}

int http1_head_end(const char *buf, size_t len, size_t scanned)
{
    /* An end is "\n\n" or "\n\r\n": one that straddles `scanned` starts at most 2 bytes
     * before it. */
    if (len > 0 && (buf[0] == '\n' || (len > 1 && buf[0] == '\r' && buf[1] == '\n'))) {
        return buf[0] == '\n' ? 1 : 2; /* an empty first line: the parser refuses it */
    }
    size_t i = scanned > 2 ? scanned - 2 : 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL) {
            break;
        }
        size_t k = (size_t)(nl - buf);
        if (k + 1 < len && buf[k + 1] == '\n') {
            return (int)(k + 2);
        }
        if (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n') {
            return (int)(k + 3);
        }
        i = k + 1;
    }
    return HTTP1_PARTIAL;
}

int http1_parse_response(const char *buf, size_t len, bool head_request, struct http1_response *out)
{
    struct cursor c;
    struct head_facts f;
    const char *line;
    size_t line_len;
    int rc;

    memset(&f, 0, sizeof f);
    cursor_init(&c, buf, len);
    rc = next_line(&c, &line, &line_len);
    if (rc != 0) {
        goto fail;
    }
    rc = parse_status_line(line, line_len, out);
    if (rc != 0) {
        goto fail;
    }
    rc = parse_fields(&c, out->headers, &out->num_headers, &f);
    if (rc < 0) {
        goto fail;
    }
    int head_len = rc;

    if (f.have_te && (f.te_bad || !f.te_chunked_last)) {
        rc = HTTP1_EPROTO;
        goto fail;
    }
    out->content_length = 0;
    bool keep_alive =
        out->minor_version >= 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
    int s = out->status;
    if (head_request || s < 200 || s == 204 || s == 304) {
        out->framing = HTTP1_BODY_NONE;
        /* After 101 the connection speaks another protocol: it is not reusable. */
        if (s == 101) {
            keep_alive = false;
        }
    } else if (f.have_te) {
        out->framing = HTTP1_BODY_CHUNKED;
        /* Both framings at once (RFC 9112 §6.3 3.), or chunked in 1.0: close after. */
        if (f.have_length || out->minor_version == 0) {
            keep_alive = false;
        }
    } else if (f.have_length) {
        out->framing = HTTP1_BODY_LENGTH;
        out->content_length = f.content_length;
    } else {
        out->framing = HTTP1_BODY_CLOSE;
        keep_alive = false;
    }
    out->keep_alive = keep_alive;
    return head_len;

fail:
    return rc;
}

/* ---- requests ----------------------------------------------------------------------- */

static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static int parse_request_line(const char *line, size_t len, struct http1_request *out)
{
    size_t m = 0;
    while (m < len && line[m] != ' ') {
        if (!is_tchar((unsigned char)line[m])) {
            return HTTP1_EPROTO;
        }
        m++;
    }
    if (m == 0 || m == len) {
        return HTTP1_EPROTO;
    }
    size_t t = m + 1, te = t;
    while (te < len && line[te] != ' ') {
        if (!is_target_char((unsigned char)line[te])) {
            return HTTP1_EPROTO;
        }
        te++;
    }
    if (te == t || te == len) {
        return HTTP1_EPROTO;
    }
    /* origin-form, absolute-form, authority-form (CONNECT) or asterisk-form. */
    if (line[t] != '/' && !(te - t == 1 && line[t] == '*') &&
        !((line[t] >= 'a' && line[t] <= 'z') || (line[t] >= 'A' && line[t] <= 'Z') ||
          (line[t] >= '0' && line[t] <= '9'))) {
        return HTTP1_EPROTO;
    }
    int minor = parse_version(line + te + 1, len - te - 1);
    if (minor < 0) {
        return HTTP1_EPROTO;
    }
    out->method = line;
    out->method_len = m;
    out->target = line + t;
    out->target_len = te - t;
    out->minor_version = minor;
    return 0;
}

int http1_parse_request(const char *buf, size_t len, struct http1_request *out)
{
    struct cursor c;
    struct head_facts f;
    const char *line;
    size_t line_len;
    int rc;

    memset(&f, 0, sizeof f);
    cursor_init(&c, buf, len);
    /* RFC 9112 §2.2: ignore empty lines before the request line (left by old clients). */
    do {
        rc = next_line(&c, &line, &line_len);
        if (rc != 0) {
            goto fail;
        }
    } while (line_len == 0);
    rc = parse_request_line(line, line_len, out);
    if (rc != 0) {
        goto fail;
    }
    rc = parse_fields(&c, out->headers, &out->num_headers, &f);
    if (rc < 0) {
        goto fail;
    }
    int head_len = rc;

    out->content_length = 0;
    if (f.have_te) {
        /* A request must end in chunked, and must not also carry Content-Length. */
        if (f.te_bad || !f.te_chunked_last || f.have_length) {
            rc = HTTP1_EPROTO;
            goto fail;
        }
        out->framing = HTTP1_BODY_CHUNKED;
    } else if (f.have_length) {
        out->framing = HTTP1_BODY_LENGTH;
        out->content_length = f.content_length;
    } else {
        out->framing = HTTP1_BODY_NONE;
    }
    out->keep_alive =
        out->minor_version >= 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
    /* Chunked in a 1.0 request is faulty framing (RFC 9112 §6.1): close after it. */
    if (f.have_te && out->minor_version == 0) {
        out->keep_alive = false;
    }
    /* A 1.0 client cannot know 100-continue: the server must ignore it (RFC 9110). */
    out->expect_continue = f.expect_continue && out->minor_version >= 1;
    return head_len;

fail:
    return rc;
}

const struct http1_header *http1_find_header(const struct http1_header *headers, size_t num_headers,
                                             const char *name)
{
    for (size_t i = 0; i < num_headers; i++) {
        if (ci_equal(headers[i].name, headers[i].name_len, name)) {
            return &headers[i];
        }
    }
    return NULL;
}

/* ---- bodies ------------------------------------------------------------------------- */

enum body_state {
    BS_SIZE,    /* hex digits of the chunk size; line_len > 0 once one is seen */
    BS_SIZE_WS, /* white space after the size, before ';' or the line end */
    BS_EXT,     /* chunk extensions, skipped */
    BS_SIZE_LF, /* saw CR ending the size line */
    BS_DATA,    /* chunk data: `remaining` bytes */
    BS_DATA_CR, /* CRLF (or LF) after the chunk data */
    BS_DATA_LF,
    BS_TRAILER, /* start of a trailer line, or of the final empty line */
    BS_TRAILER_LINE,
    BS_TRAILER_LF, /* saw CR ending a trailer line */
    BS_FINAL_LF,   /* saw CR of the final empty line */
    BS_ERROR,
};

void http1_body_init(struct http1_body *body, enum http1_framing framing, uint64_t content_length)
{
    memset(body, 0, sizeof *body);
    body->framing = framing;
    body->state = BS_SIZE;
    switch (framing) {
    case HTTP1_BODY_NONE:
        body->done = true;
        break;
    case HTTP1_BODY_LENGTH:
        body->remaining = content_length;
        body->done = content_length == 0;
        break;
    case HTTP1_BODY_CHUNKED:
    case HTTP1_BODY_CLOSE:
        break;
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Counts one byte of a framing line against the cap. */
static bool line_byte(struct http1_body *body)
{
    return ++body->line_len <= HTTP1_MAX_CHUNK_LINE;
}

/* The size line ended: start the chunk's data, or the trailers after the last chunk. */
static void size_line_done(struct http1_body *body)
{
    body->line_len = 0;
    body->state = body->remaining == 0 ? BS_TRAILER : BS_DATA;
}

/*
 * Steps the chunk machine over one framing byte (state != BS_DATA).  Returns 0 or a
 * negative result; the caller marks the body errored.
 */
static int chunk_byte(struct http1_body *body, char ch)
{
    switch ((enum body_state)body->state) {
    case BS_SIZE: {
        int h = hex_value(ch);
        if (h >= 0) {
            if (body->remaining > (UINT64_MAX >> 4)) {
                return HTTP1_EPROTO;
            }
            body->remaining = (body->remaining << 4) | (uint64_t)h;
            return line_byte(body) ? 0 : HTTP1_ETOOLARGE;
        }
        if (body->line_len == 0) {
            return HTTP1_EPROTO; /* no digits */
        }
        if (ch == ';') {
            body->state = BS_EXT;
        } else if (is_ows(ch)) {
            body->state = BS_SIZE_WS;
        } else if (ch == '\r') {
            body->state = BS_SIZE_LF;
        } else if (ch == '\n') {
            size_line_done(body);
            return 0;
        } else {
            return HTTP1_EPROTO;
        }
        return line_byte(body) ? 0 : HTTP1_ETOOLARGE;
    }
    case BS_SIZE_WS:
        if (ch == ';') {
            body->state = BS_EXT;
        } else if (ch == '\r') {
            body->state = BS_SIZE_LF;
        } else if (ch == '\n') {
            size_line_done(body);
            return 0;
        } else if (!is_ows(ch)) {
            return HTTP1_EPROTO;
        }
        return line_byte(body) ? 0 : HTTP1_ETOOLARGE;
    case BS_EXT:
        if (ch == '\r') {
            body->state = BS_SIZE_LF;
        } else if (ch == '\n') {
            size_line_done(body);
            return 0;
        } else if (!is_field_char((unsigned char)ch)) {
            return HTTP1_EPROTO;
        }
        return line_byte(body) ? 0 : HTTP1_ETOOLARGE;
    case BS_SIZE_LF:
        if (ch != '\n') {
            return HTTP1_EPROTO;
        }
        size_line_done(body);
        return 0;
    case BS_DATA_CR:
        if (ch == '\r') {
            body->state = BS_DATA_LF;
        } else if (ch == '\n') {
            body->state = BS_SIZE;
        } else {
            return HTTP1_EPROTO;
        }
        return 0;
    case BS_DATA_LF:
        if (ch != '\n') {
            return HTTP1_EPROTO;
        }
        body->state = BS_SIZE;
        return 0;
    case BS_TRAILER:
        if (ch == '\r') {
            body->state = BS_FINAL_LF;
        } else if (ch == '\n') {
            body->done = true;
        } else {
            body->line_len = 0;
            body->state = BS_TRAILER_LINE;
            return line_byte(body) ? 0 : HTTP1_ETOOLARGE;
        }
        return 0;
    case BS_TRAILER_LINE:
        if (ch == '\r') {
            body->state = BS_TRAILER_LF;
        } else if (ch == '\n') {
            body->state = BS_TRAILER;
        } else if (!is_field_char((unsigned char)ch)) {
            return HTTP1_EPROTO;
        } else if (!line_byte(body)) {
            return HTTP1_ETOOLARGE;
        }
        return 0;
    case BS_TRAILER_LF:
        if (ch != '\n') {
            return HTTP1_EPROTO;
        }
        body->state = BS_TRAILER;
        return 0;
    case BS_FINAL_LF:
        if (ch != '\n') {
            return HTTP1_EPROTO;
        }
        body->done = true;
        return 0;
    case BS_DATA:
    case BS_ERROR:
        break;
    }
    return HTTP1_EPROTO;
}

ssize_t http1_body_feed(struct http1_body *body, const char *buf, size_t len, const char **data,
                        size_t *data_len)
{
    const char *span = NULL;
    size_t span_len = 0;
    size_t pos = 0;
    ssize_t rc;

    if (body->state == BS_ERROR) {
        rc = HTTP1_EPROTO;
        goto fail;
    }
    if (body->done || len == 0) {
        goto out;
    }
    switch (body->framing) {
    case HTTP1_BODY_NONE:
        break;
    case HTTP1_BODY_CLOSE:
        span = buf;
        span_len = len;
        pos = len;
        break;
    case HTTP1_BODY_LENGTH:
        span = buf;
        span_len = body->remaining < len ? (size_t)body->remaining : len;
        pos = span_len;
        body->remaining -= span_len;
        body->done = body->remaining == 0;
        break;
    case HTTP1_BODY_CHUNKED:
        while (pos < len && !body->done) {
            if (body->state == BS_DATA) {
                size_t n = len - pos;
                if (body->remaining < n) {
                    n = (size_t)body->remaining;
                }
                body->remaining -= n;
                if (body->remaining == 0) {
                    body->state = BS_DATA_CR;
                }
                span = buf + pos;
                span_len = n;
                pos += n;
                /* One span per call when the caller wants the data (see http1.h). */
                if (data != NULL) {
                    break;
                }
                body->decoded += n;
                span_len = 0;
                continue;
            }
            int crc = chunk_byte(body, buf[pos]);
            if (crc != 0) {
                body->state = BS_ERROR;
                rc = crc;
                goto fail;
            }
            pos++;
        }
        break;
    }
    body->decoded += span_len;

out:
    if (data != NULL) {
        *data = span_len > 0 ? span : NULL;
        *data_len = span_len;
    }
    return (ssize_t)pos;

fail:
    if (data != NULL) {
        *data = NULL;
        *data_len = 0;
    }
    return rc;
}

int http1_body_eof(struct http1_body *body)
{
    if (body->state == BS_ERROR) {
        return HTTP1_EPROTO;
    }
    if (body->framing == HTTP1_BODY_CLOSE) {
        body->done = true;
        return 0;
    }
    return body->done ? 0 : HTTP1_EPROTO;
}
