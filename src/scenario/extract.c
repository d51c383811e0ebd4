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

/* Saturating arithmetic for the weight estimate. */
static size_t wadd(size_t a, size_t b)
{
    return a + b > EXTRACT_REGEX_MAX_WEIGHT ? EXTRACT_REGEX_MAX_WEIGHT + 1 : a + b;
}

static size_t wmul(size_t a, size_t b)
{
    return b != 0 && a > (EXTRACT_REGEX_MAX_WEIGHT + 1) / b ? EXTRACT_REGEX_MAX_WEIGHT + 1 : a * b;
}

/*
 * Estimates the size regcomp would expand pattern to: one per atom, a group the sum of
 * its contents, '+' doubles its operand, {n,m} multiplies it by max(n, m) (n + 1 for
 * {n,}).  Approximate, and on the safe side: it is only a gate against blow-ups.
 */
static size_t regex_weight(const char *p)
{
    enum { MAX_DEPTH = 64 };
    size_t total[MAX_DEPTH + 1] = {0}, last[MAX_DEPTH + 1] = {0};
    size_t d = 0;
    for (size_t i = 0; p[i] != '\0'; i++) {
        char ch = p[i];
        size_t atom = 1;
        switch (ch) {
        case '\\':
            if (p[i + 1] != '\0') {
                i++;
            }
            break;
        case '[': {
            size_t j = i + 1;
            if (p[j] == '^') {
                j++;
            }
            if (p[j] == ']') {
                j++;
            }
            while (p[j] != '\0' && p[j] != ']') {
                if (p[j] == '[' && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
                    char close = p[j + 1];
                    j += 2;
                    while (p[j] != '\0' && !(p[j] == close && p[j + 1] == ']')) {
                        j++;
                    }
                    if (p[j] != '\0') {
                        j++;
                    }
                }
                if (p[j] != '\0') {
                    j++;
                }
            }
            i = p[j] != '\0' ? j : j - 1;
            break;
        }
        case '(':
            if (d >= MAX_DEPTH) {
                return EXTRACT_REGEX_MAX_WEIGHT + 1;
            }
            d++;
            total[d] = 0;
            last[d] = 0;
            continue;
        case ')':
            if (d > 0) {
                atom = wadd(total[d], 1);
                d--;
            }
            break;
        case '*':
        case '?':
            continue;
        case '+':
            total[d] = wadd(total[d], last[d]);
            last[d] = wmul(last[d], 2);
            continue;
        case '{': {
            char *endp;
            unsigned long n = strtoul(p + i + 1, &endp, 10), m = n;
            if (endp == p + i + 1) {
                break; /* not a bound: a literal '{' */
            }
            if (*endp == ',') {
                const char *q = endp + 1;
                m = *q == '}' ? n + 1 : strtoul(q, &endp, 10);
                if (*q == '}') {
                    endp = (char *)q;
                }
            }
            if (*endp != '}') {
                break;
            }
            size_t k = (m > n ? m : n);
            k = k == 0 ? 1 : (k > EXTRACT_REGEX_MAX_WEIGHT ? EXTRACT_REGEX_MAX_WEIGHT + 1 : k);
            total[d] = wadd(total[d], wmul(last[d], k - 1));
            last[d] = wmul(last[d], k);
            i = (size_t)(endp - p);
            continue;
        }
        default:
            break;
        }
        total[d] = wadd(total[d], atom);
        last[d] = atom;
    }
    size_t sum = 0;
    for (size_t k = 0; k <= d; k++) {
        sum = wadd(sum, total[k]);
    }
    return sum;
}

int extract_regex_compile(const char *pattern, bool nosub, void **out, char *err, size_t err_len)
{
    *out = NULL;
    if (regex_weight(pattern) > EXTRACT_REGEX_MAX_WEIGHT) {
        return efail(err, err_len, -1,
                     "regular expression too complex (nested repetitions such as ((a+)+)+ "
                     "or a{100}{100} expand past %d nodes)",
                     EXTRACT_REGEX_MAX_WEIGHT);
    }
    regex_t *re = calloc(1, sizeof(*re));
    if (re == NULL) {
        return efail(err, err_len, -ENOMEM, "out of memory");
    }
    int rrc = regcomp(re, pattern, REG_EXTENDED | (nosub ? REG_NOSUB : 0));
    if (rrc != 0) {
        char msg[256];
        regerror(rrc, re, msg, sizeof(msg));
        free(re);
        return efail(err, err_len, -1, "invalid regular expression: %s", msg);
    }
    *out = re;
    return 0;
}

void extract_regex_free(void *re)
{
    if (re != NULL) {
        regfree((regex_t *)re);
        free(re);
    }
}

int extract_compile(const char *spec, int var, struct extract *out, char *err, size_t err_len)
{
    int rc = 0;
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
                       "column %zu: header name of %zu bytes (expected at most %zu)", ob + 1, olen,
                       sizeof(out->header) - 1);
        } else {
            memcpy(out->header, operand, olen + 1);
            rc = 0;
        }
        break;
    }
    case EXTRACT_REGEX: {
        char msg[384];
        rc = extract_regex_compile(operand, false, &out->re, msg, sizeof(msg));
        if (rc == -1) {
            efail(err, err_len, rc, "column %zu: %s (expected a POSIX extended regex)", ob + 1,
                  msg);
        } else if (rc != 0) {
            efail(err, err_len, rc, "%s", msg);
        } else {
            out->group = ((const regex_t *)out->re)->re_nsub >= 1 ? 1 : 0;
        }
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

static bool from_regex(const struct extract *e, const char *body, size_t len, struct flow_var *dst)
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

bool extract_from_body(const struct extract *e, const char *body, size_t len, struct flow_var *dst)
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
    extract_regex_free(e->re);
    memset(e, 0, sizeof(*e));
}
