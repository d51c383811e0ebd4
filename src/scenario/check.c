/*
 * check — compiling check expressions and evaluating them on responses.
 *
 * A check is a subject word (status, duration, body, json, header), for json and header
 * an operand naming what to look at (a compiled JSON path, a header name), an operator,
 * and a value (numbers pre-parsed, text unescaped, regexes compiled).  Evaluating does no
 * parsing of the check and no allocation: JSON values are looked at in place (a string
 * with escapes is unescaped into a bounded stack buffer), regexes run through
 * scenario/extract's bounded PCRE2 matcher on the text with its length.
 */
#include "scenario/check.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/text.h"
#include "scenario/extract.h"

/* A JSON string value with escapes is unescaped into a stack buffer of this size for
 * comparing; a longer one fails text comparisons. */
#define CHECK_JSON_TEXT_MAX 8192

/* The closest of cands (NULL-terminated) within distance 2 (and not a total rewrite of the
 * word), or NULL. */
static const char *closest(const char *w, size_t wl, const char *const *cands)
{
    if (wl > 32) {
        return NULL;
    }
    return text_suggest(w, wl, cands, SIZE_MAX, 2);
}

/* Compile-time cursor over the trimmed source. */
struct cur {
    const char *s;
    size_t i, n;
    size_t base; /* offset of s[0] in the caller's text (for columns) */
    char *err;
    size_t err_len;
};

static void skip_ws(struct cur *c)
{
    while (c->i < c->n && text_is_space(c->s[c->i])) {
        c->i++;
    }
}

static size_t col(const struct cur *c, size_t i)
{
    return c->base + i + 1;
}

/* Reads a word (a run of non-space bytes); returns its start, *len its length. */
static size_t read_word(struct cur *c, size_t *len)
{
    skip_ws(c);
    size_t b = c->i;
    while (c->i < c->n && !text_is_space(c->s[c->i])) {
        c->i++;
    }
    *len = c->i - b;
    return b;
}

/* Reads an operator: a run of = ! < > characters, or '!' + a word, or a word. */
static size_t read_op(struct cur *c, size_t *len)
{
    skip_ws(c);
    size_t b = c->i;
    if (c->i < c->n && strchr("=!<>", c->s[c->i]) != NULL && c->s[c->i] != '\0') {
        if (c->s[c->i] == '!' && c->i + 1 < c->n && c->s[c->i + 1] >= 'a' &&
            c->s[c->i + 1] <= 'z') {
            return read_word(c, len);
        }
        while (c->i < c->n && c->s[c->i] != '\0' && strchr("=!<>", c->s[c->i]) != NULL) {
            c->i++;
        }
        *len = c->i - b;
        return b;
    }
    return read_word(c, len);
}

static const char *const all_ops[] = {"==",      "!=",       "<",      "<=",       ">",
                                      ">=",      "in",       "!in",    "contains", "!contains",
                                      "matches", "!matches", "exists", "!exists",  NULL};

/* Maps an operator word to op/negate; false when it is not one. */
static bool op_from(const char *w, size_t wl, enum check_op *op, bool *negate)
{
    static const struct {
        const char *w;
        enum check_op op;
        bool neg;
    } t[] = {{"==", CHECK_OP_EQ, false},
             {"!=", CHECK_OP_NE, false},
             {"<", CHECK_OP_LT, false},
             {"<=", CHECK_OP_LE, false},
             {">", CHECK_OP_GT, false},
             {">=", CHECK_OP_GE, false},
             {"in", CHECK_OP_IN, false},
             {"!in", CHECK_OP_IN, true},
             {"contains", CHECK_OP_CONTAINS, false},
             {"!contains", CHECK_OP_CONTAINS, true},
             {"matches", CHECK_OP_MATCHES, false},
             {"!matches", CHECK_OP_MATCHES, true},
             {"exists", CHECK_OP_EXISTS, false},
             {"!exists", CHECK_OP_EXISTS, true}};
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        if (strlen(t[k].w) == wl && memcmp(t[k].w, w, wl) == 0) {
            *op = t[k].op;
            *negate = t[k].neg;
            return true;
        }
    }
    return false;
}

static bool is_compare(enum check_op op)
{
    return op <= CHECK_OP_GE;
}

/* Parses p[0..n) as a finite number (whole text, no spaces); false when it is not one. */
static bool parse_num(const char *p, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    char ch = p[0];
    if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.')) {
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *endp;
    double v = strtod(buf, &endp);
    if (*endp != '\0' || !isfinite(v)) {
        return false;
    }
    /* strtod also reads hex ("0x1p3"); keep to decimal. */
    if (memchr(buf, 'x', n) != NULL || memchr(buf, 'X', n) != NULL) {
        return false;
    }
    *out = v;
    return true;
}

static int set_str(struct check *out, struct cur *c, const char *p, size_t n)
{
    free(out->str);
    out->str = malloc(n + 1);
    if (out->str == NULL) {
        return text_errf(c->err, c->err_len, -ENOMEM, "out of memory");
    }
    memcpy(out->str, p, n);
    out->str[n] = '\0';
    out->str_len = n;
    return 0;
}

/*
 * Reads a text operand: a quoted string that ends the check, or, when rest_of_line,
 * everything left (also when it merely starts with a quote: "id":"x), else one bare word
 * that must end the check.  Sets *quoted.
 */
static int read_text(struct check *out, struct cur *c, bool rest_of_line, bool *quoted,
                     const char *expected)
{
    skip_ws(c);
    *quoted = false;
    if (c->i >= c->n) {
        return text_errf(c->err, c->err_len, -1, "column %zu: missing value (expected %s)",
                         col(c, c->i), expected);
    }
    char q = c->s[c->i];
    if (q == '\'' || q == '"') {
        size_t open = c->i++;
        char *buf = malloc(c->n - c->i + 1);
        size_t bl = 0;
        if (buf == NULL) {
            return text_errf(c->err, c->err_len, -ENOMEM, "out of memory");
        }
        bool closed = false;
        while (c->i < c->n) {
            char ch = c->s[c->i++];
            if (ch == q) {
                closed = true;
                break;
            }
            if (ch == '\\' && c->i < c->n &&
                (c->s[c->i] == '\\' || c->s[c->i] == '\'' || c->s[c->i] == '"')) {
                ch = c->s[c->i++];
            }
            buf[bl++] = ch;
        }
        if (!closed) {
            free(buf);
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: quoted text is not closed (expected a closing %c)",
                             col(c, open), q);
        }
        skip_ws(c);
        if (c->i < c->n && rest_of_line) {
            /* Text that merely starts with a quote ("id":"x) is taken as it is. */
            free(buf);
            c->i = c->n;
            return set_str(out, c, c->s + open, c->n - open);
        }
        free(out->str);
        buf[bl] = '\0';
        out->str = buf;
        out->str_len = bl;
        *quoted = true;
        if (c->i < c->n) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: unexpected text after the quoted value (expected the end "
                             "of the check)",
                             col(c, c->i));
        }
        return 0;
    }
    if (rest_of_line) {
        size_t b = c->i;
        c->i = c->n;
        return set_str(out, c, c->s + b, c->n - b);
    }
    size_t wl, b = read_word(c, &wl);
    skip_ws(c);
    if (c->i < c->n) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: unexpected '%.*s' (expected the end of the check; quote a "
                         "value with spaces)",
                         col(c, c->i), (int)(c->n - c->i > 32 ? 32 : c->n - c->i), c->s + c->i);
    }
    return set_str(out, c, c->s + b, wl);
}

/*
 * Index in c->s of byte off of the text read_text read from c->s[at]: at + off for bare
 * text, else counted past the opening quote and through its backslash escapes.
 */
static size_t text_pos(const struct cur *c, size_t at, bool quoted, size_t off)
{
    if (!quoted) {
        return at + off;
    }
    const char *s = c->s;
    char q = s[at];
    size_t i = at + 1;
    for (size_t k = 0; k < off && i < c->n && s[i] != q; k++) {
        bool esc = s[i] == '\\' && i + 1 < c->n &&
                   (s[i + 1] == '\\' || s[i + 1] == '\'' || s[i + 1] == '"');
        i += esc ? 2 : 1;
    }
    return i;
}

static int compile_regex(struct check *out, struct cur *c)
{
    skip_ws(c);
    size_t at = c->i;
    bool quoted;
    int rc = read_text(out, c, true, &quoted, "a regular expression");
    if (rc != 0) {
        return rc;
    }
    if (memchr(out->str, '\0', out->str_len) != NULL) {
        return text_errf(c->err, c->err_len, -1, "column %zu: NUL byte in a regular expression",
                         col(c, at));
    }
    char msg[384];
    size_t off;
    rc = extract_regex_compile_at(out->str, true, &out->re, &off, msg, sizeof(msg));
    if (rc == -1) {
        return text_errf(c->err, c->err_len, rc,
                         "column %zu: %s (expected a Perl-compatible regex)",
                         col(c, text_pos(c, at, quoted, off)), msg);
    }
    if (rc != 0) {
        return text_errf(c->err, c->err_len, rc, "%s", msg);
    }
    return 0;
}

/* Reads the value after a comparison operator. */
static int compile_value(struct check *out, struct cur *c, const char *expected)
{
    bool quoted;
    int rc = read_text(out, c, false, &quoted, expected);
    if (rc != 0) {
        return rc;
    }
    out->operand_is_num = !quoted && parse_num(out->str, out->str_len, &out->num);
    return 0;
}

static int op_error(struct cur *c, size_t at, size_t wl, const char *expected,
                    const char *const *allowed)
{
    const char *w = c->s + at;
    if (wl == 0) {
        return text_errf(c->err, c->err_len, -1, "column %zu: missing operator (expected %s)",
                         col(c, at), expected);
    }
    const char *hint = NULL;
    if (wl == 2 && (memcmp(w, "=<", 2) == 0 || memcmp(w, "=>", 2) == 0)) {
        hint = w[1] == '<' ? "<=" : ">="; /* written the other way round */
    } else {
        hint = closest(w, wl, allowed);
    }
    if (hint != NULL) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: unknown operator '%.*s'; did you mean '%s'? (expected %s)",
                         col(c, at), (int)(wl > 32 ? 32 : wl), w, hint, expected);
    }
    return text_errf(c->err, c->err_len, -1, "column %zu: unknown operator '%.*s' (expected %s)",
                     col(c, at), (int)(wl > 32 ? 32 : wl), w, expected);
}

static const char *const cmp_ops[] = {"==", "!=", "<", "<=", ">", ">=", NULL};

static int compile_status(struct check *out, struct cur *c)
{
    static const char *const allowed[] = {"==", "!=", "<", "<=", ">", ">=", "in", "!in", NULL};
    const char *exp = "one of == != < <= > >= in !in";
    size_t wl, at = read_op(c, &wl);
    if (!op_from(c->s + at, wl, &out->op, &out->negate) ||
        !(is_compare(out->op) || out->op == CHECK_OP_IN)) {
        return op_error(c, at, wl, exp, allowed);
    }
    if (out->op != CHECK_OP_IN) {
        skip_ws(c);
        size_t vl, vb = read_word(c, &vl);
        double v;
        if (vl == 0) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: missing status code (expected a number such as 200)",
                             col(c, vb));
        }
        if (!parse_num(c->s + vb, vl, &v) || v != floor(v) || v < 0 || v > 999) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: '%.*s' is not a status code (expected a whole number "
                             "from 0 to 999)",
                             col(c, vb), (int)(vl > 32 ? 32 : vl), c->s + vb);
        }
        skip_ws(c);
        if (c->i < c->n) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: unexpected text after the status code (expected the end "
                             "of the check)",
                             col(c, c->i));
        }
        out->num = v;
        out->operand_is_num = true;
        return 0;
    }
    /* A list: "200 201 204" or "[200, 201]". */
    skip_ws(c);
    bool bracket = c->i < c->n && c->s[c->i] == '[';
    size_t open = c->i;
    if (bracket) {
        c->i++;
    }
    for (;;) {
        while (c->i < c->n && (text_is_space(c->s[c->i]) || c->s[c->i] == ',')) {
            c->i++;
        }
        if (c->i >= c->n) {
            if (bracket) {
                return text_errf(c->err, c->err_len, -1,
                                 "column %zu: '[' is not closed (expected ']')", col(c, open));
            }
            break;
        }
        if (c->s[c->i] == ']') {
            if (!bracket) {
                return text_errf(c->err, c->err_len, -1,
                                 "column %zu: unexpected ']' (expected a status code)",
                                 col(c, c->i));
            }
            c->i++;
            skip_ws(c);
            if (c->i < c->n) {
                return text_errf(c->err, c->err_len, -1,
                                 "column %zu: unexpected text after ']' (expected the end of the "
                                 "check)",
                                 col(c, c->i));
            }
            break;
        }
        size_t b = c->i;
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
            c->i++;
        }
        size_t dl = c->i - b;
        bool sep_ok = c->i >= c->n || text_is_space(c->s[c->i]) || c->s[c->i] == ',' ||
                      (bracket && c->s[c->i] == ']');
        if (dl == 0 || dl > 3 || !sep_ok) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: not a status code (expected a whole number from 0 to "
                             "999)",
                             col(c, b));
        }
        if (out->n_statuses >= CHECK_MAX_STATUSES) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: more than %d status codes (expected at most %d)",
                             col(c, b), CHECK_MAX_STATUSES, CHECK_MAX_STATUSES);
        }
        out->statuses[out->n_statuses++] = atoi(c->s + b);
    }
    if (out->n_statuses == 0) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: empty list (expected status codes such as 200 201)",
                         col(c, c->i));
    }
    return 0;
}

static int compile_duration(struct check *out, struct cur *c)
{
    const char *exp = "one of == != < <= > >=";
    size_t wl, at = read_op(c, &wl);
    if (!op_from(c->s + at, wl, &out->op, &out->negate) || !is_compare(out->op)) {
        return op_error(c, at, wl, exp, cmp_ops);
    }
    size_t vl, vb = read_word(c, &vl);
    char buf[64];
    bool has_unit = false;
    for (size_t k = 0; k < vl; k++) {
        char ch = c->s[vb + k];
        if (!((ch >= '0' && ch <= '9') || ch == '.')) {
            has_unit = true;
        }
    }
    if (vl == 0 || vl >= sizeof(buf) || !has_unit) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: %s (expected a duration with a unit, e.g. 300ms or 1.5s)",
                         col(c, vb), vl == 0 ? "missing duration" : "not a duration with a unit");
    }
    memcpy(buf, c->s + vb, vl);
    buf[vl] = '\0';
    int rc = parse_duration_ns(buf, &out->dur_ns);
    if (rc != 0) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: '%s' is not a duration (expected e.g. 300ms, 1.5s, 2m)",
                         col(c, vb), buf);
    }
    skip_ws(c);
    if (c->i < c->n) {
        return text_errf(c->err, c->err_len, -1,
                         "column %zu: unexpected text after the duration (expected the end of the "
                         "check)",
                         col(c, c->i));
    }
    return 0;
}

static int compile_body(struct check *out, struct cur *c)
{
    static const char *const allowed[] = {"contains", "!contains", "matches", "!matches", NULL};
    const char *exp = "contains, !contains, matches or !matches";
    size_t wl, at = read_op(c, &wl);
    if (!op_from(c->s + at, wl, &out->op, &out->negate) ||
        (out->op != CHECK_OP_CONTAINS && out->op != CHECK_OP_MATCHES)) {
        return op_error(c, at, wl, exp, allowed);
    }
    if (out->op == CHECK_OP_MATCHES) {
        return compile_regex(out, c);
    }
    bool quoted;
    return read_text(out, c, true, &quoted, "the text to look for, e.g. 'ok'");
}

/* After json PATH or header NAME: the operator and its operand. */
static int compile_tail(struct check *out, struct cur *c, bool allow_matches)
{
    static const char *const json_allowed[] = {
        "==", "!=", "<", "<=", ">", ">=", "contains", "!contains", "exists", "!exists", NULL};
    const char *exp = allow_matches ? "one of == != < <= > >= contains !contains matches "
                                      "!matches exists !exists"
                                    : "one of == != < <= > >= contains !contains exists !exists";
    size_t wl, at = read_op(c, &wl);
    bool ok = op_from(c->s + at, wl, &out->op, &out->negate) && out->op != CHECK_OP_IN &&
              (allow_matches || out->op != CHECK_OP_MATCHES);
    if (!ok) {
        return op_error(c, at, wl, exp, allow_matches ? all_ops : json_allowed);
    }
    switch (out->op) {
    case CHECK_OP_EXISTS:
        skip_ws(c);
        if (c->i < c->n) {
            return text_errf(c->err, c->err_len, -1,
                             "column %zu: unexpected text after '%s' (expected the end of the "
                             "check)",
                             col(c, c->i), out->negate ? "!exists" : "exists");
        }
        return 0;
    case CHECK_OP_MATCHES:
        return compile_regex(out, c);
    case CHECK_OP_CONTAINS: {
        bool quoted;
        return read_text(out, c, true, &quoted, "the text to look for");
    }
    default:
        return compile_value(out, c, "a value: a number, true, false, null or 'text'");
    }
}

int check_compile(const char *src, struct check *out, char *err, size_t err_len)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    size_t n = strlen(src);
    if (n > CHECK_MAX_SOURCE_BYTES) {
        return text_errf(err, err_len, -E2BIG, "check of %zu bytes (expected at most %d)", n,
                         CHECK_MAX_SOURCE_BYTES);
    }
    size_t b = 0, e = n;
    while (b < e && text_is_space(src[b])) {
        b++;
    }
    while (e > b && text_is_space(src[e - 1])) {
        e--;
    }
    struct cur c = {.s = src + b, .i = 0, .n = e - b, .base = b, .err = err, .err_len = err_len};
    out->source = strndup(src + b, e - b);
    if (out->source == NULL) {
        rc = text_errf(err, err_len, -ENOMEM, "out of memory");
        goto fail;
    }
    static const char *const subjects[] = {"status", "duration", "body", "json", "header", NULL};
    size_t wl, at = read_word(&c, &wl);
    /* Let "status==200" through: the subject ends at the first operator character. */
    for (size_t k = 0; k < wl; k++) {
        if (strchr("=!<>", c.s[at + k]) != NULL) {
            wl = k;
            c.i = at + k;
            break;
        }
    }
    const char *w = c.s + at;
    if (wl == 6 && memcmp(w, "status", 6) == 0) {
        out->kind = CHECK_STATUS;
        rc = compile_status(out, &c);
    } else if (wl == 8 && memcmp(w, "duration", 8) == 0) {
        out->kind = CHECK_DURATION;
        rc = compile_duration(out, &c);
    } else if (wl == 4 && memcmp(w, "body", 4) == 0) {
        out->kind = CHECK_BODY;
        rc = compile_body(out, &c);
    } else if (wl == 4 && memcmp(w, "json", 4) == 0) {
        out->kind = CHECK_JSON;
        size_t pl, pb = read_word(&c, &pl);
        char path[512];
        if (pl == 0) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: missing JSON path (expected e.g. json $.status == 'ok')",
                           col(&c, pb));
        } else if (pl >= sizeof(path)) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: JSON path too long (expected at most %zu bytes)",
                           col(&c, pb), sizeof(path) - 1);
        } else {
            memcpy(path, c.s + pb, pl);
            path[pl] = '\0';
            char perr[256];
            if (json_path_compile(path, &out->path, perr, sizeof(perr)) != 0) {
                unsigned long pc = 0;
                const char *rest = perr;
                if (strncmp(perr, "column ", 7) == 0) {
                    char *endp;
                    pc = strtoul(perr + 7, &endp, 10);
                    rest = *endp == ':' ? endp + 1 : endp;
                    while (*rest == ' ') {
                        rest++;
                    }
                }
                rc = text_errf(err, err_len, -1, "column %zu: %s", col(&c, pb) + (pc ? pc - 1 : 0),
                               rest);
            } else {
                rc = compile_tail(out, &c, false);
            }
        }
    } else if (wl == 6 && memcmp(w, "header", 6) == 0) {
        out->kind = CHECK_HEADER;
        size_t hl, hb = read_word(&c, &hl);
        bool bad = hl == 0 || hl >= sizeof(out->header);
        for (size_t k = 0; k < hl && !bad; k++) {
            unsigned char ch = (unsigned char)c.s[hb + k];
            bad = ch <= ' ' || ch >= 0x7f || ch == ':';
        }
        if (bad) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: %s (expected a header name such as Content-Type)",
                           col(&c, hb), hl == 0 ? "missing header name" : "bad header name");
        } else {
            memcpy(out->header, c.s + hb, hl);
            out->header[hl] = '\0';
            rc = compile_tail(out, &c, true);
        }
    } else {
        const char *hint = wl > 0 ? closest(w, wl, subjects) : NULL;
        if (wl == 0) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: empty check (expected status, duration, body, json or "
                           "header)",
                           col(&c, at));
        } else if (hint != NULL) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: unknown check '%.*s'; did you mean '%s'? (expected status, "
                           "duration, body, json or header)",
                           col(&c, at), (int)(wl > 32 ? 32 : wl), w, hint);
        } else {
            rc =
                text_errf(err, err_len, -1,
                          "column %zu: unknown check '%.*s' (expected status, duration, body, json "
                          "or header)",
                          col(&c, at), (int)(wl > 32 ? 32 : wl), w);
        }
    }
    if (rc != 0) {
        goto fail;
    }
    return 0;

fail:
    check_destroy(out);
    return rc;
}

bool check_needs_body(const struct check *c)
{
    return c->kind == CHECK_BODY || c->kind == CHECK_JSON;
}

bool check_is_head(const struct check *c)
{
    return c->kind == CHECK_STATUS || c->kind == CHECK_HEADER;
}

/* Applies a comparison operator to ord, the sign of a - b (-1, 0 or 1). */
static bool cmp_order(int ord, enum check_op op)
{
    switch (op) {
    case CHECK_OP_EQ:
        return ord == 0;
    case CHECK_OP_NE:
        return ord != 0;
    case CHECK_OP_LT:
        return ord < 0;
    case CHECK_OP_LE:
        return ord <= 0;
    case CHECK_OP_GT:
        return ord > 0;
    case CHECK_OP_GE:
        return ord >= 0;
    default:
        return false;
    }
}

/* A NaN compares unequal to everything, as with the C operators. */
static bool cmp_num(double a, enum check_op op, double b)
{
    if (isnan(a) || isnan(b)) {
        return op == CHECK_OP_NE;
    }
    return cmp_order((a > b) - (a < b), op);
}

static bool cmp_u64(uint64_t a, enum check_op op, uint64_t b)
{
    return cmp_order((a > b) - (a < b), op);
}

static bool has_text(const char *hay, size_t hl, const char *needle, size_t nl)
{
    if (nl == 0) {
        return true;
    }
    return hay != NULL && memmem(hay, hl, needle, nl) != NULL;
}

/*
 * Whether re matches p[0..n), as 1 or 0, or -1 when the match was cut off by a limit
 * (or memory ran out): such a check fails whether negated or not.
 */
static int regex_match(const void *re, const char *p, size_t n)
{
    int rc = extract_regex_match(re, p, n, 0, NULL);
    return rc < 0 ? -1 : rc;
}

/* Compares value text p[0..n) (and, when is_num, its number v) with the operand. */
static bool compare_value(const struct check *c, const char *p, size_t n, bool is_num, double v)
{
    bool r;
    switch (c->op) {
    case CHECK_OP_CONTAINS:
        r = has_text(p, n, c->str, c->str_len);
        break;
    case CHECK_OP_MATCHES: {
        int m = regex_match(c->re, p, n);
        if (m < 0) {
            return false;
        }
        r = m == 1;
        break;
    }
    default:
        if (c->operand_is_num && is_num) {
            return cmp_num(v, c->op, c->num);
        }
        if (c->op == CHECK_OP_EQ || c->op == CHECK_OP_NE) {
            bool eq = n == c->str_len && (n == 0 || memcmp(p, c->str, n) == 0);
            return c->op == CHECK_OP_EQ ? eq : !eq;
        }
        return false;
    }
    return c->negate ? !r : r;
}

static bool eval_json(const struct check *c, const char *body, size_t len)
{
    struct json_span v;
    if (body == NULL) {
        return false;
    }
    int rc = json_path_get(&c->path, body, len, &v);
    if (c->op == CHECK_OP_EXISTS) {
        if (rc == 0) {
            return !c->negate;
        }
        return rc == JSON_ENOTFOUND ? c->negate : false;
    }
    if (rc != 0) {
        return false;
    }
    double num = 0;
    bool is_num =
        (v.type == JSON_NUMBER || v.type == JSON_STRING) && json_span_number(&v, &num) == 0;
    if (v.type != JSON_STRING) {
        return compare_value(c, v.start, v.len, is_num, num);
    }
    if (v.len >= 2 && memchr(v.start, '\\', v.len) == NULL) {
        return compare_value(c, v.start + 1, v.len - 2, is_num, num);
    }
    char buf[CHECK_JSON_TEXT_MAX];
    int n = json_span_text(&v, buf, sizeof(buf));
    if (n < 0) {
        return false;
    }
    return compare_value(c, buf, (size_t)n, is_num, num);
}

bool check_eval(const struct check *c, int status, uint64_t duration_ns,
                const struct http1_response *head, const char *body, size_t body_len)
{
    if (status == 0) {
        return false;
    }
    switch (c->kind) {
    case CHECK_STATUS:
        if (c->op == CHECK_OP_IN) {
            bool in = false;
            for (size_t k = 0; k < c->n_statuses && !in; k++) {
                in = c->statuses[k] == status;
            }
            return c->negate ? !in : in;
        }
        return cmp_num((double)status, c->op, c->num);
    case CHECK_DURATION:
        return cmp_u64(duration_ns, c->op, c->dur_ns);
    case CHECK_BODY: {
        if (body == NULL) {
            return false;
        }
        if (c->op != CHECK_OP_MATCHES) {
            bool r = has_text(body, body_len, c->str, c->str_len);
            return c->negate ? !r : r;
        }
        int m = regex_match(c->re, body, body_len);
        return m >= 0 && (c->negate ? m == 0 : m == 1);
    }
    case CHECK_JSON:
        return eval_json(c, body, body_len);
    case CHECK_HEADER: {
        if (head == NULL) {
            return false;
        }
        const struct http1_header *h =
            http1_find_header(head->headers, head->num_headers, c->header);
        if (c->op == CHECK_OP_EXISTS) {
            return (h != NULL) != c->negate;
        }
        if (h == NULL) {
            return false;
        }
        double num = 0;
        bool is_num = parse_num(h->value, h->value_len, &num);
        return compare_value(c, h->value, h->value_len, is_num, num);
    }
    }
    return false;
}

void check_destroy(struct check *c)
{
    free(c->source);
    free(c->str);
    extract_regex_free(c->re);
    memset(c, 0, sizeof(*c));
}
