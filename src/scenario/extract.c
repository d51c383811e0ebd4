/*
 * extract — compiling extraction specs and running them on responses.
 *
 * A spec is a kind word and an operand: the JSON path is compiled by core/json, the
 * regex by regcomp, the header name is kept as text.  At run time the JSON kind is one
 * json_path_get plus an unescaping copy, the regex kind one regexec over the body with
 * REG_STARTEND (no NUL terminator needed), the header kind one http1_find_header.  The
 * variable's buffer is reused across requests and only grows.
 */
#include "scenario/extract.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int efail(char *err, size_t err_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int efail(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Levenshtein distance between a[0..la) and b (both short). */
static size_t edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[16];
    if (la > 15 || lb > 15) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Makes room for need bytes (plus a NUL) in dst->val; 0, -E2BIG or -ENOMEM. */
static int var_reserve(struct flow_var *dst, size_t need)
{
    if (need > EXTRACT_MAX_VALUE_BYTES) {
        return -E2BIG;
    }
    if (dst->val != NULL && (size_t)dst->cap >= need + 1) {
        return 0;
    }
    size_t ncap = dst->cap > 0 ? (size_t)dst->cap * 2 : 32;
    while (ncap < need + 1) {
        ncap *= 2;
    }
    char *p = realloc(dst->val, ncap);
    if (p == NULL) {
        return -ENOMEM;
    }
    dst->val = p;
    dst->cap = (uint32_t)ncap;
    return 0;
}

int extract_var_set(struct flow_var *dst, const char *p, size_t len)
{
    int rc = var_reserve(dst, len);
    if (rc != 0) {
        return rc;
    }
    if (len > 0) {
        memmove(dst->val, p, len);
    }
    dst->val[len] = '\0';
    dst->len = (uint32_t)len;
    dst->set = true;
    return 0;
}

/*
 * Rewrites a "column N: ..." message from a sub-parser whose input started at byte
 * offset `base` of the spec, so its column counts from the spec's start.
 */
static void shift_column(char *err, size_t err_len, size_t base)
{
    if (err == NULL || err_len == 0 || strncmp(err, "column ", 7) != 0) {
        return;
    }
    char *endp;
    unsigned long col = strtoul(err + 7, &endp, 10);
    char rest[512];
    snprintf(rest, sizeof(rest), "%s", endp);
    snprintf(err, err_len, "column %lu%s", col + base, rest);
}

int extract_compile(const char *spec, int var, struct extract *out, char *err, size_t err_len)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    size_t n = strlen(spec);
    if (n > EXTRACT_MAX_SPEC_BYTES) {
        return efail(err, err_len, -E2BIG, "extraction of %zu bytes (expected at most %d)", n,
                     EXTRACT_MAX_SPEC_BYTES);
    }
    size_t b = 0, e = n;
    while (b < e && is_space(spec[b])) {
        b++;
    }
    while (e > b && is_space(spec[e - 1])) {
        e--;
    }
    size_t kw = b;
    while (kw < e && !is_space(spec[kw])) {
        kw++;
    }
    size_t ob = kw;
    while (ob < e && is_space(spec[ob])) {
        ob++;
    }
    size_t klen = kw - b;
    const char *operand_what;
    if (klen == 4 && memcmp(spec + b, "json", 4) == 0) {
        out->kind = EXTRACT_JSON;
        operand_what = "a JSON path such as $.token";
    } else if (klen == 6 && memcmp(spec + b, "header", 6) == 0) {
        out->kind = EXTRACT_HEADER;
        operand_what = "a header name such as X-Request-Id";
    } else if (klen == 5 && memcmp(spec + b, "regex", 5) == 0) {
        out->kind = EXTRACT_REGEX;
        operand_what = "a regular expression such as id=([0-9]+)";
    } else {
        if (klen == 0) {
            return efail(err, err_len, -1,
                         "column %zu: empty extraction (expected json PATH, header NAME or "
                         "regex REGEX)",
                         b + 1);
        }
        const char *hint = NULL;
        static const char *const kinds[] = {"json", "header", "regex"};
        for (size_t i = 0; i < 3 && klen <= 8; i++) {
            if (edit_distance(spec + b, klen, kinds[i]) <= 2) {
                hint = kinds[i];
                break;
            }
        }
        if (hint != NULL) {
            return efail(err, err_len, -1,
                         "column %zu: unknown extraction kind '%.*s'; did you mean '%s'? "
                         "(expected json, header or regex)",
                         b + 1, (int)(klen > 64 ? 64 : klen), spec + b, hint);
        }
        return efail(err, err_len, -1,
                     "column %zu: unknown extraction kind '%.*s' (expected json PATH, header "
                     "NAME or regex REGEX)",
                     b + 1, (int)(klen > 64 ? 64 : klen), spec + b);
    }
    if (ob >= e) {
        return efail(err, err_len, -1, "column %zu: missing operand (expected %s)", e + 1,
                     operand_what);
    }
    size_t olen = e - ob;
    out->var = var;
    out->source = strndup(spec + b, e - b);
    char *operand = strndup(spec + ob, olen);
    if (out->source == NULL || operand == NULL) {
        rc = efail(err, err_len, -ENOMEM, "out of memory");
        free(operand);
        goto fail;
    }
    switch (out->kind) {
    case EXTRACT_JSON:
        rc = json_path_compile(operand, &out->path, err, err_len);
        if (rc != 0) {
            shift_column(err, err_len, ob);
            rc = -1;
        }
        break;
    case EXTRACT_HEADER: {
        size_t k = 0;
        for (; k < olen; k++) {
            unsigned char ch = (unsigned char)operand[k];
            if (ch <= ' ' || ch >= 0x7f || ch == ':') {
                break;
            }
        }
        if (k < olen) {
            rc = efail(err, err_len, -1,
                       "column %zu: unexpected '%c' in the header name (expected one name such "
                       "as X-Request-Id)",
                       ob + k + 1, is_space(operand[k]) ? ' ' : operand[k]);
        } else if (olen >= sizeof(out->header)) {
            rc = efail(err, err_len, -1,
                       "column %zu: header name of %zu bytes (expected at most %zu)", ob + 1,
                       olen, sizeof(out->header) - 1);
        } else {
            memcpy(out->header, operand, olen + 1);
            rc = 0;
        }
        break;
    }
    case EXTRACT_REGEX: {
        regex_t *re = calloc(1, sizeof(*re));
        if (re == NULL) {
            rc = efail(err, err_len, -ENOMEM, "out of memory");
            break;
        }
        int rrc = regcomp(re, operand, REG_EXTENDED);
        if (rrc != 0) {
            char msg[256];
            regerror(rrc, re, msg, sizeof(msg));
            free(re);
            rc = efail(err, err_len, -1,
                       "column %zu: invalid regular expression: %s (expected a POSIX extended "
                       "regex)",
                       ob + 1, msg);
            break;
        }
        out->re = re;
        out->group = re->re_nsub >= 1 ? 1 : 0;
        rc = 0;
        break;
    }
    }
    free(operand);
    if (rc != 0) {
        goto fail;
    }
    return 0;

fail:
    extract_destroy(out);
    return rc;
}

bool extract_needs_body(const struct extract *e)
{
    return e->kind == EXTRACT_JSON || e->kind == EXTRACT_REGEX;
}

bool extract_from_head(const struct extract *e, const struct http1_response *resp,
                       struct flow_var *dst)
{
    if (e->kind != EXTRACT_HEADER || resp == NULL) {
        return false;
    }
    const struct http1_header *h = http1_find_header(resp->headers, resp->num_headers, e->header);
    if (h == NULL) {
        return false;
    }
    return extract_var_set(dst, h->value, h->value_len) == 0;
}

static bool from_json(const struct extract *e, const char *body, size_t len, struct flow_var *dst)
{
    struct json_span v;
    if (body == NULL || len == 0 || json_path_get(&e->path, body, len, &v) != 0) {
        return false;
    }
    if (v.type != JSON_STRING) {
        return extract_var_set(dst, v.start, v.len) == 0;
    }
    /* A string without escapes is its bytes between the quotes; otherwise unescape. */
    if (v.len >= 2 && memchr(v.start, '\\', v.len) == NULL) {
        return extract_var_set(dst, v.start + 1, v.len - 2) == 0;
    }
    if (var_reserve(dst, v.len) != 0) {
        return false;
    }
    int n = json_span_text(&v, dst->val, (size_t)dst->cap);
    if (n < 0) {
        /* json_path_get validated the string, so this does not happen; be safe anyway. */
        dst->val[0] = '\0';
        dst->len = 0;
        dst->set = false;
        return false;
    }
    dst->len = (uint32_t)n;
    dst->set = true;
    return true;
}

static bool from_regex(const struct extract *e, const char *body, size_t len,
                       struct flow_var *dst)
{
    regmatch_t m[2];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    const char *s = body != NULL ? body : "";
    if (regexec((const regex_t *)e->re, s, 2, m, REG_STARTEND) != 0) {
        return false;
    }
    const regmatch_t *g = &m[e->group];
    if (g->rm_so < 0 || g->rm_eo < g->rm_so) {
        return false;
    }
    return extract_var_set(dst, s + g->rm_so, (size_t)(g->rm_eo - g->rm_so)) == 0;
}

bool extract_from_body(const struct extract *e, const char *body, size_t len,
                       struct flow_var *dst)
{
    if (e->kind == EXTRACT_JSON) {
        return from_json(e, body, len, dst);
    }
    if (e->kind == EXTRACT_REGEX && e->re != NULL) {
        return from_regex(e, body, len, dst);
    }
    return false;
}

void extract_destroy(struct extract *e)
{
    free(e->source);
    if (e->re != NULL) {
        regfree((regex_t *)e->re);
        free(e->re);
    }
    memset(e, 0, sizeof(*e));
}
