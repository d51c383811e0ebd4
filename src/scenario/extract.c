/*
 * extract — compiling extraction specs and running them on responses.
 *
 * A spec is a kind word and an operand: the JSON path is compiled by core/json, the
 * regex by PCRE2 (also for scenario/check), the header name is kept as text.  At run
 * time the JSON kind is one json_path_get plus an unescaping copy, the regex kind one
 * pcre2_match over the body with its length (no NUL terminator needed), the header
 * kind one http1_find_header.  The variable's buffer is reused across requests and only
 * grows.
 *
 * PCRE2 wants a match data block (the offsets it reports, and the backtracking frames
 * it keeps for reuse) and a match context (the limits, the JIT stack) per call; both are
 * kept per thread, made on the thread's first match, and freed by a pthread key
 * destructor when the thread exits, so the request path does not allocate.
 */
#include "scenario/extract.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

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

int extract_regex_compile_at(const char *pattern, bool nosub, void **out, size_t *err_off,
                             char *err, size_t err_len)
{
    int rc = 0;
    pcre2_compile_context *cc = NULL;
    pcre2_code *code = NULL;
    (void)nosub;
    *out = NULL;
    if (err_off != NULL) {
        *err_off = 0;
    }
    size_t n = strlen(pattern);
    if (n > EXTRACT_REGEX_MAX_PATTERN_BYTES) {
        rc = text_errf(err, err_len, -1, "invalid regular expression: %zu bytes long (at most %d)",
                       n, EXTRACT_REGEX_MAX_PATTERN_BYTES);
        goto fail;
    }
    cc = pcre2_compile_context_create(NULL);
    if (cc == NULL) {
        rc = text_errf(err, err_len, -ENOMEM, "out of memory");
        goto fail;
    }
    /* The length cap is checked above too; PCRE2's own check backs it up. */
    pcre2_set_max_pattern_length(cc, EXTRACT_REGEX_MAX_PATTERN_BYTES);
    pcre2_set_parens_nest_limit(cc, EXTRACT_REGEX_MAX_NEST);
    int ecode;
    PCRE2_SIZE eoff;
    /* NEVER_UTF: with UTF on, a body that is not valid UTF-8 would fail every match. */
    code = pcre2_compile((PCRE2_SPTR)pattern, n, PCRE2_NEVER_UTF, &ecode, &eoff, cc);
    if (code == NULL) {
        if (ecode == PCRE2_ERROR_NOMEMORY) {
            rc = text_errf(err, err_len, -ENOMEM, "out of memory");
            goto fail;
        }
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ecode, msg, sizeof(msg)) < 0) {
            snprintf((char *)msg, sizeof(msg), "error %d", ecode);
        }
        if (err_off != NULL) {
            *err_off = eoff > n ? n : (size_t)eoff;
        }
        rc = text_errf(err, err_len, -1, "invalid regular expression: %s", (const char *)msg);
        goto fail;
    }
    /* Without a JIT (or with one that fails, e.g. no executable memory) PCRE2 interprets. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    pcre2_compile_context_free(cc);
    *out = code;
    return 0;

fail:
    pcre2_code_free(code);
    pcre2_compile_context_free(cc);
    return rc;
}

int extract_regex_compile(const char *pattern, bool nosub, void **out, char *err, size_t err_len)
{
    return extract_regex_compile_at(pattern, nosub, out, NULL, err, err_len);
}

void extract_regex_free(void *re)
{
    pcre2_code_free((pcre2_code *)re);
}

/* Number of capture groups in re. */
static int regex_groups(const void *re)
{
    uint32_t n = 0;
    if (pcre2_pattern_info((const pcre2_code *)re, PCRE2_INFO_CAPTURECOUNT, &n) != 0) {
        return 0;
    }
    return (int)n;
}

/*
 * Per-thread match state.  The pointers live in thread-local storage for the hot path;
 * the pthread key exists only so that its destructor frees them when the thread exits
 * (C11 thread-locals have no destructors).  A thread whose setup failed retries on its
 * next match.
 */
#define REGEX_OVEC_PAIRS 16 /* the whole match and groups 1..15; more are matched, not reported */

static _Thread_local pcre2_match_data *tls_md;
static _Thread_local pcre2_match_context *tls_mc;
static _Thread_local pcre2_jit_stack *tls_js;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static bool tls_key_ok;

static void tls_free(void *unused)
{
    (void)unused;
    pcre2_match_data_free(tls_md);
    pcre2_match_context_free(tls_mc);
    pcre2_jit_stack_free(tls_js);
    tls_md = NULL;
    tls_mc = NULL;
    tls_js = NULL;
}

static void tls_key_make(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

/* Makes this thread's match state; 0 or -ENOMEM (with nothing half-made left). */
static int tls_setup(void)
{
    pthread_once(&tls_once, tls_key_make);
    tls_md = pcre2_match_data_create(REGEX_OVEC_PAIRS, NULL);
    tls_mc = pcre2_match_context_create(NULL);
    if (tls_md == NULL || tls_mc == NULL) {
        tls_free(NULL);
        return -ENOMEM;
    }
    pcre2_set_match_limit(tls_mc, EXTRACT_REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(tls_mc, EXTRACT_REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(tls_mc, EXTRACT_REGEX_HEAP_LIMIT_KIB);
    /*
     * The JIT's default stack (32 KiB, on the machine stack) refuses ordinary patterns
     * such as (a|b)+ on a few thousand bytes; a private one grows on demand up to the cap.
     * Without one (no JIT, or out of memory) the default is used.
     */
    tls_js = pcre2_jit_stack_create(32 * 1024, EXTRACT_REGEX_JIT_STACK_BYTES, NULL);
    if (tls_js != NULL) {
        pcre2_jit_stack_assign(tls_mc, NULL, tls_js);
    }
    /* Without the key the state leaks at thread exit: a bounded loss, not a failure. */
    if (tls_key_ok) {
        (void)pthread_setspecific(tls_key, (void *)1);
    }
    return 0;
}

int extract_regex_match(const void *re, const char *s, size_t len, int group, size_t span[2])
{
    if (re == NULL || group < 0) {
        return 0;
    }
    if (tls_md == NULL && tls_setup() != 0) {
        return -ENOMEM;
    }
    static const char empty[1] = "";
    int rc = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)(s != NULL ? s : empty), len, 0, 0,
                         tls_md, tls_mc);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    if (rc < 0) {
        /* Match, depth, heap or JIT stack limit, or out of memory. */
        return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -E2BIG;
    }
    /* rc == 0: more groups than REGEX_OVEC_PAIRS; the first ones are still set. */
    if (group >= REGEX_OVEC_PAIRS || (rc > 0 && group >= rc)) {
        return 0; /* the group did not take part (or is not reported) */
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(tls_md);
    if (ov[2 * group] == PCRE2_UNSET || ov[2 * group + 1] < ov[2 * group]) {
        return 0;
    }
    if (span != NULL) {
        span[0] = (size_t)ov[2 * group];
        span[1] = (size_t)ov[2 * group + 1];
    }
    return 1;
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
        return text_errf(err, err_len, -E2BIG, "extraction of %zu bytes (expected at most %d)", n,
                         EXTRACT_MAX_SPEC_BYTES);
    }
    size_t b = 0, e = n;
    while (b < e && text_is_space(spec[b])) {
        b++;
    }
    while (e > b && text_is_space(spec[e - 1])) {
        e--;
    }
    size_t kw = b;
    while (kw < e && !text_is_space(spec[kw])) {
        kw++;
    }
    size_t ob = kw;
    while (ob < e && text_is_space(spec[ob])) {
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
            return text_errf(err, err_len, -1,
                             "column %zu: empty extraction (expected json PATH, header NAME or "
                             "regex REGEX)",
                             b + 1);
        }
        static const char *const kinds[] = {"json", "header", "regex"};
        const char *hint = klen <= 8 ? text_suggest(spec + b, klen, kinds, 3, 2) : NULL;
        if (hint != NULL) {
            return text_errf(err, err_len, -1,
                             "column %zu: unknown extraction kind '%.*s'; did you mean '%s'? "
                             "(expected json, header or regex)",
                             b + 1, (int)(klen > 64 ? 64 : klen), spec + b, hint);
        }
        return text_errf(err, err_len, -1,
                         "column %zu: unknown extraction kind '%.*s' (expected json PATH, header "
                         "NAME or regex REGEX)",
                         b + 1, (int)(klen > 64 ? 64 : klen), spec + b);
    }
    if (ob >= e) {
        return text_errf(err, err_len, -1, "column %zu: missing operand (expected %s)", e + 1,
                         operand_what);
    }
    size_t olen = e - ob;
    out->var = var;
    out->source = strndup(spec + b, e - b);
    char *operand = strndup(spec + ob, olen);
    if (out->source == NULL || operand == NULL) {
        rc = text_errf(err, err_len, -ENOMEM, "out of memory");
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
            rc = text_errf(err, err_len, -1,
                           "column %zu: unexpected '%c' in the header name (expected one name such "
                           "as X-Request-Id)",
                           ob + k + 1, text_is_space(operand[k]) ? ' ' : operand[k]);
        } else if (olen >= sizeof(out->header)) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: header name of %zu bytes (expected at most %zu)", ob + 1,
                           olen, sizeof(out->header) - 1);
        } else {
            memcpy(out->header, operand, olen + 1);
            rc = 0;
        }
        break;
    }
    case EXTRACT_REGEX: {
        char msg[384];
        size_t off;
        rc = extract_regex_compile_at(operand, false, &out->re, &off, msg, sizeof(msg));
        if (rc == -1) {
            text_errf(err, err_len, rc, "column %zu: %s (expected a Perl-compatible regex)",
                      ob + off + 1, msg);
        } else if (rc != 0) {
            text_errf(err, err_len, rc, "%s", msg);
        } else {
            out->group = regex_groups(out->re) >= 1 ? 1 : 0;
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
    size_t span[2];
    const char *s = body != NULL ? body : "";
    if (extract_regex_match(e->re, s, len, e->group, span) != 1) {
        return false;
    }
    return extract_var_set(dst, s + span[0], span[1] - span[0]) == 0;
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
