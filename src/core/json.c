/*
 * json — JSON writer into a capped dynbuf, and a non-allocating reader with JSON-path
 * lookup.  See json.h for the contracts.
 *
 * The reader is a recursive-descent parser over [p, end) that never dereferences end.
 * One function validates and skips a value (parse_value); the path lookup (nav) walks
 * the containers on the path itself and uses parse_value for everything it skips, so a
 * lookup validates exactly what it reads.  Recursion depth is bounded by JSON_MAX_DEPTH,
 * which keeps stack use to a few kilobytes whatever the input.
 *
 * Numbers are formatted and parsed with snprintf/strtod, which assume the C locale for
 * LC_NUMERIC (the program never calls setlocale with LC_NUMERIC).
 */
#include "core/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* ---- writer ------------------------------------------------------------------------ */

#define JW_FIRST 0x01u
#define JW_OBJECT 0x02u

static void jw_fail(struct jsonw *w, int err)
{
    if (!w->err)
        w->err = err;
}

static void jw_add(struct jsonw *w, const void *p, size_t n)
{
    int rc;

    if (w->err)
        return;
    rc = dynbuf_add(&w->buf, p, n);
    if (rc < 0)
        jw_fail(w, rc);
}

static void jw_addc(struct jsonw *w, char c)
{
    jw_add(w, &c, 1);
}

static void jw_newline(struct jsonw *w, int depth)
{
    static const char spaces[] = "                                ";
    size_t n;

    if (w->indent <= 0)
        return;
    jw_addc(w, '\n');
    n = (size_t)depth * (size_t)w->indent;
    while (n > 0 && !w->err) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        jw_add(w, spaces, k);
        n -= k;
    }
}

/*
 * Writes the separator a value needs at the current position and checks that a value
 * is allowed here.  Returns false (with the error set) when it is not.
 */
static bool jw_value_begin(struct jsonw *w)
{
    unsigned char *f;

    if (w->err)
        return false;
    f = &w->first[w->depth];
    if (w->depth == 0) {
        if (!(*f & JW_FIRST)) {
            jw_fail(w, -EINVAL); /* a second top-level value */
            return false;
        }
        *f &= (unsigned char)~JW_FIRST;
        return true;
    }
    if (*f & JW_OBJECT) {
        if (!w->after_key) {
            jw_fail(w, -EINVAL); /* a value in an object needs a key */
            return false;
        }
        w->after_key = false;
        return true;
    }
    if (!(*f & JW_FIRST))
        jw_addc(w, ',');
    *f &= (unsigned char)~JW_FIRST;
    jw_newline(w, w->depth);
    return !w->err;
}

int json_escape(struct dynbuf *out, const char *s, size_t len, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* [run, i) is a stretch of bytes copied as they are */
    int rc = 0;
    bool script = flags & JSON_ESC_SCRIPT;

    while (i < len && rc == 0) {
        unsigned char c = u[i];
        char esc[6];
        size_t esc_len = 0;

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80 &&
            !(script && (c == '<' || c == '>' || c == '&'))) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t sl = utf8_seq_len(u + i, len - i);
            if (sl > 0) {
                i += sl;
                continue;
            }
            if (flags & JSON_ESC_ASCII_FFFD) {
                memcpy(esc, "\\ufffd", 6);
                esc_len = 6;
            } else {
                memcpy(esc, "\xEF\xBF\xBD", 3); /* U+FFFD */
                esc_len = 3;
            }
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc_len = 2;
        } else if (c >= 0x20) { /* < > & under JSON_ESC_SCRIPT */
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            esc_len = 6;
        } else {
            esc[0] = '\\';
            esc_len = 2;
            switch (c) {
            case '\b':
                esc[1] = 'b';
                break;
            case '\f':
                esc[1] = 'f';
                break;
            case '\n':
                esc[1] = 'n';
                break;
            case '\r':
                esc[1] = 'r';
                break;
            case '\t':
                esc[1] = 't';
                break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xF];
                esc_len = 6;
                break;
            }
        }
        rc = dynbuf_add(out, s + run, i - run);
        if (rc == 0) {
            rc = dynbuf_add(out, esc, esc_len);
        }
        i++;
        run = i;
    }
    if (rc == 0) {
        rc = dynbuf_add(out, s + run, i - run);
    }
    return rc;
}

static void jw_escape(struct jsonw *w, const char *s, size_t len)
{
    jw_addc(w, '"');
    if (!w->err) {
        int rc = json_escape(&w->buf, s, len, 0);
        if (rc < 0)
            jw_fail(w, rc);
    }
    jw_addc(w, '"');
}

void jsonw_init(struct jsonw *w, int indent, size_t max_bytes)
{
    memset(w, 0, sizeof(*w));
    dynbuf_init(&w->buf, max_bytes);
    w->indent = indent < 0 ? 0 : indent;
    w->first[0] = JW_FIRST;
}

void jsonw_destroy(struct jsonw *w)
{
    dynbuf_destroy(&w->buf);
}

static void jw_open(struct jsonw *w, char c, bool object)
{
    if (w->depth >= JSONW_MAX_DEPTH) {
        jw_fail(w, -EINVAL);
        return;
    }
    if (!jw_value_begin(w))
        return;
    jw_addc(w, c);
    w->depth++;
    w->first[w->depth] = (unsigned char)(JW_FIRST | (object ? JW_OBJECT : 0));
}

static void jw_close(struct jsonw *w, char c, bool object)
{
    unsigned char f;

    if (w->err)
        return;
    f = w->first[w->depth];
    if (w->depth == 0 || w->after_key || !!(f & JW_OBJECT) != object) {
        jw_fail(w, -EINVAL);
        return;
    }
    w->depth--;
    if (!(f & JW_FIRST))
        jw_newline(w, w->depth);
    jw_addc(w, c);
}

void jsonw_obj_begin(struct jsonw *w)
{
    jw_open(w, '{', true);
}

void jsonw_obj_end(struct jsonw *w)
{
    jw_close(w, '}', true);
}

void jsonw_arr_begin(struct jsonw *w)
{
    jw_open(w, '[', false);
}

void jsonw_arr_end(struct jsonw *w)
{
    jw_close(w, ']', false);
}

void jsonw_keyn(struct jsonw *w, const char *key, size_t len)
{
    unsigned char *f;

    if (w->err)
        return;
    f = &w->first[w->depth];
    if (w->depth == 0 || !(*f & JW_OBJECT) || w->after_key || (!key && len > 0)) {
        jw_fail(w, -EINVAL);
        return;
    }
    if (!(*f & JW_FIRST))
        jw_addc(w, ',');
    *f &= (unsigned char)~JW_FIRST;
    jw_newline(w, w->depth);
    jw_escape(w, key ? key : "", len);
    if (w->indent > 0)
        jw_add(w, ": ", 2);
    else
        jw_addc(w, ':');
    w->after_key = true;
}

void jsonw_key(struct jsonw *w, const char *key)
{
    if (!key) {
        jw_fail(w, -EINVAL);
        return;
    }
    jsonw_keyn(w, key, strlen(key));
}

void jsonw_strn(struct jsonw *w, const char *s, size_t len)
{
    if (!s && len > 0) {
        jw_fail(w, -EINVAL);
        return;
    }
    if (jw_value_begin(w))
        jw_escape(w, s ? s : "", len);
}

void jsonw_str(struct jsonw *w, const char *s)
{
    if (!s)
        jsonw_null(w);
    else
        jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

    if (jw_value_begin(w))
        jw_add(w, tmp, (size_t)n);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

    if (jw_value_begin(w))
        jw_add(w, tmp, (size_t)n);
}

void jsonw_num(struct jsonw *w, double v)
{
    char tmp[40];
    int n = 0, prec;

    if (isnan(v) || isinf(v)) {
        jsonw_null(w);
        return;
    }
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if (jw_value_begin(w))
        jw_add(w, tmp, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    if (jw_value_begin(w))
        jw_add(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
    if (jw_value_begin(w))
        jw_add(w, "null", 4);
}

void jsonw_raw(struct jsonw *w, const char *json, size_t len)
{
    if (!json || len == 0) {
        jw_fail(w, -EINVAL);
        return;
    }
    if (jw_value_begin(w))
        jw_add(w, json, len);
}

int jsonw_error(const struct jsonw *w)
{
    return w->err;
}

const char *jsonw_data(const struct jsonw *w, size_t *len)
{
    if (len)
        *len = w->buf.len;
    return w->buf.data ? w->buf.data : "";
}

/* ---- reader ------------------------------------------------------------------------ */

struct jp {
    const char *doc; /* start, for error offsets */
    const char *p;   /* next byte to read */
    const char *end; /* one past the last byte; never dereferenced */
    int depth;       /* open containers */
    size_t err_off;  /* offset of the first error */
};

static int jp_fail(struct jp *ps, int err)
{
    ps->err_off = (size_t)(ps->p - ps->doc);
    return err;
}

static void jp_ws(struct jp *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at p (end bounds it); returns the value or -1. */
static long hex4(const char *p, const char *end)
{
    long v = 0;
    int i;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        int h = hex_val(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/*
 * Decodes the escape sequence at *pp (just after the backslash) into a code point.
 * Surrogate pairs are combined; a lone surrogate is an error.  Advances *pp past it.
 * Returns 0 or JSON_EINVAL (with *pp left at the offending byte).
 */
static int unescape_one(const char **pp, const char *end, uint32_t *cp)
{
    const char *p = *pp;
    long hi, lo;

    if (p >= end)
        return JSON_EINVAL;
    switch (*p) {
    case '"':
        *cp = '"';
        break;
    case '\\':
        *cp = '\\';
        break;
    case '/':
        *cp = '/';
        break;
    case 'b':
        *cp = '\b';
        break;
    case 'f':
        *cp = '\f';
        break;
    case 'n':
        *cp = '\n';
        break;
    case 'r':
        *cp = '\r';
        break;
    case 't':
        *cp = '\t';
        break;
    case 'u':
        hi = hex4(p + 1, end);
        if (hi < 0)
            return JSON_EINVAL;
        if (hi >= 0xDC00 && hi <= 0xDFFF)
            return JSON_EINVAL; /* lone low surrogate */
        if (hi >= 0xD800 && hi <= 0xDBFF) {
            if (end - (p + 5) < 6 || p[5] != '\\' || p[6] != 'u')
                return JSON_EINVAL; /* lone high surrogate */
            lo = hex4(p + 7, end);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return JSON_EINVAL;
            *cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            *pp = p + 11;
            return 0;
        }
        *cp = (uint32_t)hi;
        *pp = p + 5;
        return 0;
    default:
        return JSON_EINVAL;
    }
    *pp = p + 1;
    return 0;
}

/*
 * Parses the string starting at ps->p (which must be '"'), validating it.  When cmp is
 * not NULL, *match tells whether its unescaped bytes equal cmp[0..cmp_len).
 */
static int jp_string(struct jp *ps, const char *cmp, size_t cmp_len, bool *match)
{
    size_t pos = 0;
    bool eq = true;

    ps->p++; /* the opening quote */
    for (;;) {
        unsigned char c;

        if (ps->p >= ps->end)
            return jp_fail(ps, JSON_EINVAL);
        c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20)
            return jp_fail(ps, JSON_EINVAL);
        if (c == '\\') {
            const char *q = ps->p + 1;
            uint32_t cp;
            if (unescape_one(&q, ps->end, &cp) < 0) {
                ps->p = q < ps->end ? q : ps->end;
                return jp_fail(ps, JSON_EINVAL);
            }
            if (cmp && eq) {
                char enc[4];
                size_t n = utf8_encode(cp, enc);
                if (cmp_len - pos < n || memcmp(cmp + pos, enc, n) != 0)
                    eq = false;
                else
                    pos += n;
            }
            ps->p = q;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
            if (n == 0)
                return jp_fail(ps, JSON_EINVAL);
            if (cmp && eq) {
                if (cmp_len - pos < n || memcmp(cmp + pos, ps->p, n) != 0)
                    eq = false;
                else
                    pos += n;
            }
            ps->p += n;
            continue;
        }
        if (cmp && eq) {
            if (pos >= cmp_len || cmp[pos] != (char)c)
                eq = false;
            else
                pos++;
        }
        ps->p++;
    }
    if (match)
        *match = cmp && eq && pos == cmp_len;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Length of the JSON number at [p, end), or 0 when there is none; then *bad (when not
 * NULL) points at the first byte that broke the grammar.  A leading zero followed by
 * more digits ("01") ends the number at "0"; the caller then meets an unexpected digit,
 * which is the error it reports.
 */
static size_t number_scan(const char *p, const char *end, const char **bad)
{
    const char *s = p;

    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        goto fail;
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p))
            goto fail;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            goto fail;
        while (p < end && is_digit(*p))
            p++;
    }
    return (size_t)(p - s);
fail:
    if (bad)
        *bad = p;
    return 0;
}

static int jp_number(struct jp *ps)
{
    const char *bad = ps->p;
    size_t n = number_scan(ps->p, ps->end, &bad);

    if (n == 0) {
        ps->p = bad;
        return jp_fail(ps, JSON_EINVAL);
    }
    ps->p += n;
    return 0;
}

static int jp_literal(struct jp *ps, const char *word, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (ps->p >= ps->end || *ps->p != word[i])
            return jp_fail(ps, JSON_EINVAL);
        ps->p++;
    }
    return 0;
}

static int jp_value(struct jp *ps, struct json_span *out);

static int jp_enter(struct jp *ps)
{
    if (ps->depth >= JSON_MAX_DEPTH)
        return jp_fail(ps, JSON_EDEPTH);
    ps->depth++;
    ps->p++; /* '[' or '{' */
    return 0;
}

/* After an element or member: ',' (returns 1, more follow) or the closer (returns 0). */
static int jp_next(struct jp *ps, char closer)
{
    jp_ws(ps);
    if (ps->p >= ps->end)
        return jp_fail(ps, JSON_EINVAL);
    if (*ps->p == ',') {
        ps->p++;
        return 1;
    }
    if (*ps->p == closer) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    return jp_fail(ps, JSON_EINVAL);
}

/* Parses "key" : (whitespace included) at ps->p; *match as in jp_string. */
static int jp_member_key(struct jp *ps, const char *cmp, size_t cmp_len, bool *match)
{
    int rc;

    jp_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"')
        return jp_fail(ps, JSON_EINVAL);
    rc = jp_string(ps, cmp, cmp_len, match);
    if (rc < 0)
        return rc;
    jp_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':')
        return jp_fail(ps, JSON_EINVAL);
    ps->p++;
    return 0;
}

/* Is the container at ps->p (just entered) empty?  Consumes the closer if so. */
static bool jp_empty(struct jp *ps, char closer)
{
    jp_ws(ps);
    if (ps->p < ps->end && *ps->p == closer) {
        ps->p++;
        ps->depth--;
        return true;
    }
    return false;
}

/* Validates and skips one value (leading whitespace allowed); fills *out if not NULL. */
static int jp_value(struct jp *ps, struct json_span *out)
{
    const char *start;
    enum json_type type;
    int rc = 0;

    jp_ws(ps);
    if (ps->p >= ps->end)
        return jp_fail(ps, JSON_EINVAL);
    start = ps->p;
    switch (*ps->p) {
    case '{':
        type = JSON_OBJECT;
        rc = jp_enter(ps);
        if (rc < 0 || jp_empty(ps, '}'))
            break;
        do {
            rc = jp_member_key(ps, NULL, 0, NULL);
            if (rc < 0)
                break;
            rc = jp_value(ps, NULL);
            if (rc < 0)
                break;
            rc = jp_next(ps, '}');
        } while (rc == 1);
        break;
    case '[':
        type = JSON_ARRAY;
        rc = jp_enter(ps);
        if (rc < 0 || jp_empty(ps, ']'))
            break;
        do {
            rc = jp_value(ps, NULL);
            if (rc < 0)
                break;
            rc = jp_next(ps, ']');
        } while (rc == 1);
        break;
    case '"':
        type = JSON_STRING;
        rc = jp_string(ps, NULL, 0, NULL);
        break;
    case 't':
        type = JSON_TRUE;
        rc = jp_literal(ps, "true", 4);
        break;
    case 'f':
        type = JSON_FALSE;
        rc = jp_literal(ps, "false", 5);
        break;
    case 'n':
        type = JSON_NULL;
        rc = jp_literal(ps, "null", 4);
        break;
    default:
        type = JSON_NUMBER;
        rc = jp_number(ps);
        break;
    }
    if (rc < 0)
        return rc;
    if (out) {
        out->type = type;
        out->start = start;
        out->len = (size_t)(ps->p - start);
    }
    return 0;
}

const char *json_strerror(int err)
{
    bool ours = err == 0 || err == JSON_ENOTFOUND || err == JSON_EINVAL || err == JSON_EDEPTH;
    return ours ? brunt_strerror(err) : "unknown error";
}

int json_validate(const char *doc, size_t len, size_t *err_offset)
{
    struct jp ps = {.doc = doc, .p = doc, .end = doc + len};
    int rc;

    if (!doc)
        ps.p = ps.end = ps.doc = "";
    rc = jp_value(&ps, NULL);
    if (rc == 0) {
        jp_ws(&ps);
        if (ps.p != ps.end)
            rc = jp_fail(&ps, JSON_EINVAL);
    }
    if (rc < 0 && err_offset)
        *err_offset = ps.err_off;
    return rc;
}

/* One path step, with the key pointing at its bytes (any length). */
struct seg_ref {
    bool is_index;
    size_t index;
    const char *key;
    size_t key_len;
};

/*
 * Called after the value a lookup found, inside a container that closes with `closer`:
 * the value is only known to be whole when a ',' or the closer follows it (a number cut
 * short, "-2" of "-2.5", looks complete otherwise).  Returns 0 or JSON_EINVAL.
 */
static int jp_found_end(struct jp *ps, char closer)
{
    jp_ws(ps);
    if (ps->p >= ps->end || (*ps->p != ',' && *ps->p != closer))
        return jp_fail(ps, JSON_EINVAL);
    return 0;
}

/* Descends into the element or member value at ps->p; see jp_nav. */
static int jp_nav(struct jp *ps, const struct seg_ref *segs, size_t n, struct json_span *out);

static int jp_nav_child(struct jp *ps, const struct seg_ref *segs, size_t n, char closer,
                        struct json_span *out)
{
    int rc = jp_nav(ps, segs, n, out);

    if (rc == 0 && n == 0)
        rc = jp_found_end(ps, closer);
    return rc;
}

/*
 * Walks segs[0..n) from the value at ps->p.  Returns 0 with *out set, JSON_ENOTFOUND
 * (the document may still be malformed further on; the caller checks), or an error.
 */
static int jp_nav(struct jp *ps, const struct seg_ref *segs, size_t n, struct json_span *out)
{
    const struct seg_ref *s = segs;
    int rc;

    if (n == 0)
        return jp_value(ps, out);
    jp_ws(ps);
    if (ps->p >= ps->end)
        return jp_fail(ps, JSON_EINVAL);

    if (s->is_index) {
        size_t i = 0;
        if (*ps->p != '[')
            return JSON_ENOTFOUND;
        rc = jp_enter(ps);
        if (rc < 0 || jp_empty(ps, ']'))
            return rc < 0 ? rc : JSON_ENOTFOUND;
        do {
            if (i == s->index)
                return jp_nav_child(ps, segs + 1, n - 1, ']', out);
            rc = jp_value(ps, NULL);
            if (rc < 0)
                return rc;
            i++;
            rc = jp_next(ps, ']');
        } while (rc == 1);
        return rc < 0 ? rc : JSON_ENOTFOUND;
    }

    if (*ps->p != '{')
        return JSON_ENOTFOUND;
    rc = jp_enter(ps);
    if (rc < 0 || jp_empty(ps, '}'))
        return rc < 0 ? rc : JSON_ENOTFOUND;
    do {
        bool match = false;
        rc = jp_member_key(ps, s->key, s->key_len, &match);
        if (rc < 0)
            return rc;
        if (match)
            return jp_nav_child(ps, segs + 1, n - 1, '}',
                                out); /* the first of duplicate keys wins */
        rc = jp_value(ps, NULL);
        if (rc < 0)
            return rc;
        rc = jp_next(ps, '}');
    } while (rc == 1);
    return rc < 0 ? rc : JSON_ENOTFOUND;
}

static int get_refs(const struct seg_ref *segs, size_t n, const char *doc, size_t len,
                    struct json_span *out)
{
    struct jp ps = {.doc = doc, .p = doc, .end = doc + len};
    struct json_span tmp;
    int rc;

    if (!doc)
        ps.p = ps.end = ps.doc = "";
    rc = jp_nav(&ps, segs, n, &tmp);
    if (rc == 0 && n == 0) {
        /* "$" is the whole document: only whitespace may follow. */
        jp_ws(&ps);
        if (ps.p != ps.end)
            rc = jp_fail(&ps, JSON_EINVAL);
    }
    if (rc == JSON_ENOTFOUND) {
        /* "Not found" is only the answer for a well-formed document. */
        int vrc = json_validate(ps.doc, (size_t)(ps.end - ps.doc), NULL);
        if (vrc < 0)
            rc = vrc;
    }
    if (rc == 0 && out)
        *out = tmp;
    return rc;
}

int json_path_get(const struct json_path *path, const char *doc, size_t len, struct json_span *out)
{
    struct seg_ref refs[JSON_PATH_MAX_SEGS];
    size_t i, n = path->n;

    if (n > JSON_PATH_MAX_SEGS)
        return JSON_EINVAL;
    for (i = 0; i < n; i++) {
        const struct json_path_seg *s = &path->segs[i];
        refs[i].is_index = s->is_index;
        refs[i].index = s->index;
        refs[i].key = s->key;
        refs[i].key_len = s->key_len < sizeof(s->key) ? s->key_len : sizeof(s->key) - 1;
    }
    return get_refs(refs, n, doc, len, out);
}

int json_get_member(const char *doc, size_t len, const char *key, struct json_span *out)
{
    struct seg_ref ref = {.is_index = false, .key = key, .key_len = key ? strlen(key) : 0};

    if (!key)
        return JSON_ENOTFOUND;
    return get_refs(&ref, 1, doc, len, out);
}

/* ---- path compilation -------------------------------------------------------------- */

static int path_fail(char *err, size_t err_len, size_t col, const char *what)
{
    if (err && err_len > 0)
        snprintf(err, err_len, "column %zu: expected %s", col + 1, what);
    return -1;
}

static bool is_name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '$' || c >= 0x80;
}

int json_path_compile(const char *path, struct json_path *out, char *err, size_t err_len)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    if (err && err_len > 0)
        err[0] = '\0';
    if (!path || path[0] != '$')
        return path_fail(err, err_len, 0, "'$' at the start of the path");
    i = 1;
    while (path[i] != '\0') {
        struct json_path_seg *seg;

        if (out->n >= JSON_PATH_MAX_SEGS)
            return path_fail(err, err_len, i, "the end of the path (at most 16 segments)");
        seg = &out->segs[out->n];
        if (path[i] == '.') {
            size_t start = ++i;
            while (is_name_byte((unsigned char)path[i])) {
                if (i - start >= JSON_PATH_MAX_KEY)
                    return path_fail(err, err_len, i, "a shorter key (at most 63 bytes)");
                seg->key[i - start] = path[i];
                i++;
            }
            if (i == start)
                return path_fail(err, err_len, i, "a key name after '.'");
            seg->key_len = i - start;
            seg->key[seg->key_len] = '\0';
        } else if (path[i] == '[') {
            i++;
            if (path[i] >= '0' && path[i] <= '9') {
                size_t v = 0;
                while (path[i] >= '0' && path[i] <= '9') {
                    size_t d = (size_t)(path[i] - '0');
                    if (v > (SIZE_MAX - d) / 10)
                        return path_fail(err, err_len, i, "a smaller array index");
                    v = v * 10 + d;
                    i++;
                }
                seg->is_index = true;
                seg->index = v;
            } else if (path[i] == '\'' || path[i] == '"') {
                char q = path[i++];
                size_t k = 0;
                while (path[i] != q) {
                    char c = path[i];
                    if (c == '\0')
                        return path_fail(err, err_len, i,
                                         q == '\'' ? "a closing ' quote" : "a closing \" quote");
                    if (c == '\\') {
                        c = path[i + 1];
                        if (c != '\\' && c != '\'' && c != '"')
                            return path_fail(err, err_len, i + 1,
                                             "\\\\, \\' or \\\" after a backslash");
                        i++;
                    }
                    if (k >= JSON_PATH_MAX_KEY)
                        return path_fail(err, err_len, i, "a shorter key (at most 63 bytes)");
                    seg->key[k++] = c;
                    i++;
                }
                i++; /* closing quote */
                seg->key_len = k;
                seg->key[k] = '\0';
            } else {
                return path_fail(err, err_len, i, "an array index or a quoted key after '['");
            }
            if (path[i] != ']')
                return path_fail(err, err_len, i, "']'");
            i++;
        } else {
            return path_fail(err, err_len, i, "'.' or '['");
        }
        out->n++;
    }
    return 0;
}

/* ---- span conversions -------------------------------------------------------------- */

int json_span_text(const struct json_span *v, char *out, size_t cap)
{
    const char *p, *end;
    size_t n = 0;
    int rc = 0;

    if (cap > 0)
        out[0] = '\0';
    if (!v->start && v->len > 0)
        return JSON_EINVAL;
    if (v->type != JSON_STRING) {
        if (v->len >= cap || v->len > INT_MAX)
            return -E2BIG;
        memcpy(out, v->start, v->len);
        out[v->len] = '\0';
        return (int)v->len;
    }
    if (v->len < 2 || v->start[0] != '"' || v->start[v->len - 1] != '"')
        return JSON_EINVAL;
    p = v->start + 1;
    end = v->start + v->len - 1;
    while (p < end) {
        char enc[4];
        size_t k;

        if (*p == '\\') {
            uint32_t cp;
            p++;
            if (unescape_one(&p, end, &cp) < 0) {
                rc = JSON_EINVAL;
                goto fail;
            }
            k = utf8_encode(cp, enc);
        } else {
            enc[0] = *p++;
            k = 1;
        }
        if (cap == 0 || k >= cap - n || n + k > INT_MAX) {
            rc = -E2BIG;
            goto fail;
        }
        memcpy(out + n, enc, k);
        n += k;
    }
    out[n] = '\0';
    return (int)n;
fail:
    if (cap > 0)
        out[0] = '\0';
    return rc;
}

#define JSON_NUM_MAX 511 /* longer numbers (all those digits!) are refused */

int json_span_number(const struct json_span *v, double *out)
{
    char tmp[JSON_NUM_MAX + 1];
    size_t n;
    int rc;

    if (v->type == JSON_NUMBER) {
        if (!v->start || v->len == 0 || v->len > JSON_NUM_MAX)
            return JSON_EINVAL;
        memcpy(tmp, v->start, v->len);
        n = v->len;
    } else if (v->type == JSON_STRING) {
        rc = json_span_text(v, tmp, sizeof(tmp));
        if (rc < 0)
            return JSON_EINVAL;
        n = (size_t)rc;
    } else {
        return JSON_EINVAL;
    }
    tmp[n] = '\0';
    if (n == 0 || number_scan(tmp, tmp + n, NULL) != n)
        return JSON_EINVAL;
    *out = strtod(tmp, NULL);
    return 0;
}

int json_iter_next(const struct json_span *c, size_t *pos, struct json_span *key,
                   struct json_span *val)
{
    struct jp ps = {.doc = c->start, .p = c->start + *pos, .end = c->start + c->len, .depth = 1};
    char closer = c->type == JSON_OBJECT ? '}' : ']';
    int rc;

    if ((c->type != JSON_OBJECT && c->type != JSON_ARRAY) || c->len < 2 || *pos > c->len)
        return JSON_EINVAL;
    if (*pos >= c->len)
        return 0;
    if (*pos == 0) {
        if (*ps.p != (c->type == JSON_OBJECT ? '{' : '['))
            return JSON_EINVAL;
        ps.p++;
        if (jp_empty(&ps, closer)) {
            *pos = c->len;
            return 0;
        }
    } else {
        rc = jp_next(&ps, closer);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            *pos = c->len;
            return 0;
        }
    }
    if (c->type == JSON_OBJECT) {
        jp_ws(&ps);
        const char *kstart = ps.p;
        rc = jp_member_key(&ps, NULL, 0, NULL);
        if (rc < 0)
            return rc;
        if (key != NULL) {
            key->type = JSON_STRING;
            key->start = kstart;
            key->len = 0;
            /* the key's span ends at its closing quote, before the ':' */
            const char *q = ps.p - 1;
            while (q > kstart && *q != '"')
                q--;
            key->len = (size_t)(q - kstart) + 1;
        }
    }
    rc = jp_value(&ps, val);
    if (rc < 0)
        return rc;
    *pos = (size_t)(ps.p - c->start);
    return 1;
}

bool json_span_is(const struct json_span *v, const char *s)
{
    size_t n = strlen(s);
    if (v->type != JSON_STRING || v->len != n + 2)
        return false;
    /* Plain bytes only: a key spelled with escapes does not match (the writer of the
     * documents we read never escapes ASCII letters). */
    return memcmp(v->start + 1, s, n) == 0;
}
