/*
 * Tests for scenario/extract: each kind (JSON path, header, regex) finding values and
 * failing cleanly (missing path, invalid JSON, truncated body, absent header, no match),
 * variable buffer reuse, compile errors, and the bounds on PCRE2 regexes (patterns that
 * used to blow up glibc's regcomp, catastrophic backtracking cut off by the match limit).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/extract.h"

static void compile_ok(const char *spec, struct extract *e)
{
    char err[256] = "";
    int rc = extract_compile(spec, 3, e, err, sizeof(err));
    cr_assert_eq(rc, 0, "compile '%s': %d %s", spec, rc, err);
    cr_assert_eq(e->var, 3);
}

/* Runs a body extraction; returns the value or NULL when not found. */
static const char *body_get(const char *spec, const char *body, size_t len, struct flow_var *v)
{
    struct extract e;
    compile_ok(spec, &e);
    bool ok = extract_from_body(&e, body, len, v);
    extract_destroy(&e);
    return ok ? v->val : NULL;
}

static const char doc[] = "{\"token\":\"abc.\\\"def\\u00e9\",\"n\":42,\"ok\":true,"
                          "\"items\":[{\"id\":7},{\"id\":\"x\"}],\"o\":{\"a\": [1, 2]}}";

Test(extract, json_values_of_every_type)
{
    struct flow_var v = {0};
    const char *s;
    s = body_get("json $.token", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "abc.\"def\xc3\xa9", "unescaped string");
    cr_expect_eq(v.len, strlen("abc.\"def\xc3\xa9"), "len %u", v.len);
    cr_expect(v.set);
    s = body_get("json $.n", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "42");
    s = body_get("json $.ok", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "true");
    s = body_get("json $.items[0].id", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "7");
    s = body_get("  json   $.items[1].id  ", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "x");
    s = body_get("json $.o", doc, strlen(doc), &v);
    cr_expect_str_eq(s, "{\"a\": [1, 2]}", "objects as raw text");
    free(v.val);
}

Test(extract, json_failures_leave_the_variable_alone)
{
    struct flow_var v = {0};
    cr_assert_not_null(body_get("json $.n", doc, strlen(doc), &v));
    cr_expect_null(body_get("json $.missing", doc, strlen(doc), &v), "missing path");
    cr_expect_null(body_get("json $.items[5].id", doc, strlen(doc), &v), "index out of range");
    cr_expect_null(body_get("json $.token", "not json", 8, &v), "invalid JSON");
    cr_expect_null(body_get("json $.token", "{\"token\": \"ab", 13, &v), "string cut short");
    cr_expect_null(body_get("json $.n", "{\"n\": 12", 8, &v), "number cut short");
    cr_expect_null(body_get("json $.n", NULL, 0, &v), "no body");
    cr_expect_str_eq(v.val, "42", "variable unchanged: %s", v.val);
    cr_expect(v.set);
    free(v.val);
}

Test(extract, json_value_before_a_truncation_is_found)
{
    struct flow_var v = {0};
    const char *body = "{\"token\": \"t0k\", \"rest\": [1, 2, 3";
    cr_expect_str_eq(body_get("json $.token", body, strlen(body), &v), "t0k");
    free(v.val);
}

Test(extract, header_found_absent_and_case_insensitive)
{
    struct http1_response resp;
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.headers[0] = (struct http1_header){"Content-Type", 12, "application/json", 16};
    resp.headers[1] = (struct http1_header){"X-Request-Id", 12, "r-123", 5};
    resp.headers[2] = (struct http1_header){"X-Empty", 7, "", 0};
    resp.num_headers = 3;
    struct extract e;
    struct flow_var v = {0};
    compile_ok("header x-request-id", &e);
    cr_expect_not(extract_needs_body(&e));
    cr_expect(extract_from_head(&e, &resp, &v));
    cr_expect_str_eq(v.val, "r-123");
    cr_expect_not(extract_from_body(&e, "x", 1, &v), "header kind ignores bodies");
    cr_expect_not(extract_from_head(&e, NULL, &v), "no head");
    extract_destroy(&e);
    compile_ok("header X-Missing", &e);
    cr_expect_not(extract_from_head(&e, &resp, &v));
    cr_expect_str_eq(v.val, "r-123", "unchanged after a miss");
    extract_destroy(&e);
    compile_ok("header X-Empty", &e);
    cr_expect(extract_from_head(&e, &resp, &v));
    cr_expect_eq(v.len, 0, "len %u", v.len);
    cr_expect_str_eq(v.val, "");
    extract_destroy(&e);
    free(v.val);
}

Test(extract, regex_group_whole_match_and_no_match)
{
    struct flow_var v = {0};
    const char *body = "<a href=\"/item?id=1234&x=1\">";
    cr_expect_str_eq(body_get("regex id=([0-9]+)", body, strlen(body), &v), "1234");
    cr_expect_str_eq(body_get("regex [0-9]+&x", body, strlen(body), &v), "1234&x",
                     "no group: whole match");
    cr_expect_null(body_get("regex token=([a-z]+)", body, strlen(body), &v));
    cr_expect_null(body_get("regex (x)?id=([0-9]+)", body, strlen(body), &v),
                   "group 1 did not take part");
    /* The body needs no NUL terminator: the match must not run past len. */
    cr_expect_null(body_get("regex id=([0-9]+)&", body, 20, &v));
    cr_expect_str_eq(body_get("regex id=([0-9]+)", body, 20, &v), "12");
    free(v.val);
}

Test(extract, regex_sees_past_nul_bytes)
{
    struct flow_var v = {0};
    const char body[] = "a\0b id=9";
    cr_expect_str_eq(body_get("regex id=([0-9])", body, sizeof(body) - 1, &v), "9");
    free(v.val);
}

Test(extract, variable_buffer_grows_only_when_needed)
{
    struct flow_var v = {0};
    cr_assert_eq(extract_var_set(&v, "short", 5), 0);
    char *first = v.val;
    uint32_t cap = v.cap;
    cr_assert_eq(extract_var_set(&v, "tiny", 4), 0);
    cr_expect_eq(v.val, first, "no realloc for a shorter value");
    cr_expect_eq(v.cap, cap, "cap %u vs %u", v.cap, cap);
    char big[300];
    memset(big, 'x', sizeof(big));
    cr_assert_eq(extract_var_set(&v, big, sizeof(big)), 0);
    cr_expect_geq(v.cap, 301, "cap %u", v.cap);
    cr_expect_eq(v.len, 300);
    cr_expect_eq(v.val[300], '\0');
    char *huge = malloc(EXTRACT_MAX_VALUE_BYTES + 1);
    memset(huge, 'y', EXTRACT_MAX_VALUE_BYTES + 1);
    cr_expect_eq(extract_var_set(&v, huge, EXTRACT_MAX_VALUE_BYTES + 1), -E2BIG);
    cr_expect_eq(v.len, 300, "unchanged after -E2BIG");
    free(huge);
    free(v.val);
}

struct err_case {
    const char *spec;
    const char *want;
};

static const struct err_case err_cases[] = {
    {"", "column 1: empty extraction (expected json PATH, header NAME or regex REGEX)"},
    {"jsn $.a", "column 1: unknown extraction kind 'jsn'; did you mean 'json'?"},
    {"xpath //a", "column 1: unknown extraction kind 'xpath' (expected json PATH"},
    {"json", "column 5: missing operand (expected a JSON path such as $.token)"},
    {"json $.a[", "column 10: expected an array index"},
    {"  json token", "column 8:"},
    {"header", "missing operand (expected a header name"},
    {"header X Y", "column 9: unexpected ' ' in the header name"},
    {"header X:Y", "column 9: unexpected ':'"},
    {"regex a(b", "column 10: invalid regular expression: missing closing parenthesis "
                  "(expected a Perl-compatible regex)"},
    {"regex ab**", "column 10: invalid regular expression: quantifier does not follow a "
                   "repeatable item"},
    {"regex (*UTF)x", "column 13: invalid regular expression: using UTF is disabled"},
    {"regex " /* 65 nested groups: past EXTRACT_REGEX_MAX_NEST */
     "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
     "x)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
     "parentheses are too deeply nested"},
    {"regex ((a{65535}){65535}){65535}", "regular expression is too large"},
};

Test(extract, compile_errors)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        struct extract e;
        char err[256] = "";
        int rc = extract_compile(err_cases[i].spec, 0, &e, err, sizeof(err));
        cr_expect_lt(rc, 0, "'%s' should fail", err_cases[i].spec);
        cr_expect_null(e.source, "zero-filled on failure");
        cr_expect(strstr(err, err_cases[i].want) != NULL, "'%s': got \"%s\", want \"%s\"",
                  err_cases[i].spec, err, err_cases[i].want);
    }
}

Test(extract, source_is_trimmed_spec)
{
    struct extract e;
    compile_ok("  regex  id=([0-9]+)  ", &e);
    cr_expect_str_eq(e.source, "regex  id=([0-9]+)");
    cr_expect_eq(e.kind, EXTRACT_REGEX);
    cr_expect_eq(e.group, 1);
    cr_expect(extract_needs_body(&e));
    extract_destroy(&e);
    extract_destroy(&e); /* zero-filled: harmless */
}

Test(extract, regex_is_perl_compatible)
{
    struct flow_var v = {0};
    const char *body = "<input name=\"csrf\" value=\"Ab9_x\">\n<b>one</b><b>two</b>";
    size_t n = strlen(body);
    cr_expect_str_eq(body_get("regex value=\"(\\w+)\"", body, n, &v), "Ab9_x", "\\w, group");
    cr_expect_str_eq(body_get("regex <b>(.*?)</b>", body, n, &v), "one", "lazy *?");
    cr_expect_str_eq(body_get("regex (?<=<b>)t\\w+", body, n, &v), "two",
                     "look-behind; no group: the whole match");
    cr_expect_str_eq(body_get("regex (?i)NAME=\"([a-z]+)", body, n, &v), "csrf", "(?i)");
    cr_expect_str_eq(body_get("regex (?:id|value)=\"([A-Z])", body, n, &v), "A",
                     "a non-capturing group does not count as group 1");
    cr_expect_null(body_get("regex csrf.*one", body, n, &v), "'.' stops at a newline");
    cr_expect_str_eq(body_get("regex (?s)csrf.*(one)", body, n, &v), "one", "(?s)");
    cr_expect_str_eq(body_get("regex ^<b>(\\w+)", body, n, &v) == NULL ? "miss" : v.val, "miss",
                     "^ anchors at the start of the body only");
    cr_expect_str_eq(body_get("regex (?m)^<b>(\\w+)", body, n, &v), "one", "(?m)");
    cr_expect_str_eq(body_get("regex (o)(n)(e)", body, n, &v), "o", "group 1 of several");
    free(v.val);
}

Test(extract, regex_body_bytes_need_not_be_utf8)
{
    struct flow_var v = {0};
    const char body[] = "\xff\xfe id=\xc3(7)";
    cr_expect_str_eq(body_get("regex id=.\\((\\d)", body, sizeof(body) - 1, &v), "7",
                     "'.' is one byte, invalid UTF-8 is fine");
    free(v.val);
}

/* The fuzzer's input that hung glibc's regcomp (calc_eclosure_iter on stacked '*' '+'). */
Test(extract, stacked_quantifiers_are_refused_quickly)
{
    const char *spec = "regex :!=\xdf\xdf\xdf\xdf\xdfHHH**********+++++++++++a$$$$$$$$$$$$$d .";
    struct extract e;
    char err[256] = "";
    int rc = extract_compile(spec, 0, &e, err, sizeof(err));
    cr_expect_eq(rc, -1, "rc %d (%s)", rc, err);
    cr_expect(strstr(err, "column 19: invalid regular expression: quantifier does not follow") !=
                  NULL,
              "got \"%s\"", err);
    cr_expect_null(e.re);
    /* Stacked possessive/lazy quantifiers that are legal compile, and match. */
    struct flow_var v = {0};
    cr_expect_str_eq(body_get("regex (a++)+?b", "aaab", 4, &v), "aaa");
    cr_expect_str_eq(
        body_get("regex ((((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+y", "xxy", 3, &v), "xx",
        "nested repetitions compile without expanding");
    free(v.val);
}

/*
 * (a+)+$ on a long run of a's ending in b backtracks exponentially; the match limit cuts
 * it off, and that is "not found" (the variable keeps its value).
 */
Test(extract, catastrophic_backtracking_is_not_found, .timeout = 20)
{
    size_t n = 100 * 1024;
    char *body = malloc(n + 1);
    cr_assert_not_null(body);
    memset(body, 'a', n);
    body[n] = 'b';
    struct flow_var v = {0};
    cr_assert_eq(extract_var_set(&v, "old", 3), 0);
    struct extract e;
    compile_ok("regex (a+)+$", &e);
    cr_expect_not(extract_from_body(&e, body, n + 1, &v), "cut off by the match limit");
    cr_expect_str_eq(v.val, "old", "unchanged: %s", v.val);
    size_t span[2];
    int rc = extract_regex_match(e.re, body, n + 1, 0, span);
    cr_expect_lt(rc, 0, "a limit, not a plain miss: %d", rc);
    /* The same regex still works on a body it can decide. */
    cr_expect(extract_from_body(&e, "xaaa", 4, &v));
    cr_expect_str_eq(v.val, "aaa");
    extract_destroy(&e);
    /* A backreference that would be exponential in glibc is bounded too. */
    compile_ok("regex ^(a|aa)+\\1+$", &e);
    cr_expect_not(extract_from_body(&e, body, n + 1, &v));
    rc = extract_regex_match(e.re, body, n + 1, 1, span);
    cr_expect_lt(rc, 0, "a limit, not a plain miss: %d", rc);
    extract_destroy(&e);
    /* Simple patterns run over the whole 100 KB body. */
    cr_expect_str_eq(body_get("regex ^a+(b)$", body, n + 1, &v), "b");
    cr_expect_str_eq(body_get("regex [^a]", body, n + 1, &v), "b");
    free(body);
    free(v.val);
}

Test(extract, regex_match_reports_spans)
{
    void *re;
    char err[256] = "";
    cr_assert_eq(extract_regex_compile("id=([0-9]+)|(x)", false, &re, err, sizeof(err)), 0, "%s",
                 err);
    size_t span[2] = {99, 99};
    const char s[] = "...id=42;";
    cr_expect_eq(extract_regex_match(re, s, sizeof(s) - 1, 0, span), 1);
    cr_expect(span[0] == 3 && span[1] == 8, "group 0 at %zu..%zu", span[0], span[1]);
    cr_expect_eq(extract_regex_match(re, s, sizeof(s) - 1, 1, span), 1);
    cr_expect(span[0] == 6 && span[1] == 8, "group 1 at %zu..%zu", span[0], span[1]);
    cr_expect_eq(extract_regex_match(re, s, sizeof(s) - 1, 2, span), 0,
                 "group 2 did not take part");
    cr_expect_eq(extract_regex_match(re, s, sizeof(s) - 1, 40, span), 0, "no such group");
    cr_expect_eq(extract_regex_match(re, s, 5, 0, span), 0, "stops at len");
    cr_expect_eq(extract_regex_match(re, NULL, 0, 0, span), 0, "empty subject");
    extract_regex_free(re);
    extract_regex_free(NULL);
    size_t off = 0;
    cr_expect_eq(extract_regex_compile_at("ab[c", true, &re, &off, err, sizeof(err)), -1);
    cr_expect_null(re);
    cr_expect_eq(off, 4, "offset %zu", off);
    cr_expect(strstr(err, "invalid regular expression: missing terminating ]") != NULL, "%s", err);
}

/* One compiled regex shared by threads, each with its own match state (freed at exit). */
static void *match_in_thread(void *arg)
{
    const void *re = arg;
    char body[64];
    size_t span[2];
    for (int i = 0; i < 500; i++) {
        int len = snprintf(body, sizeof(body), "x id=%d;", i);
        if (extract_regex_match(re, body, (size_t)len, 1, span) != 1 || span[0] != 5 ||
            strtol(body + span[0], NULL, 10) != i) {
            return (void *)1;
        }
    }
    return NULL;
}

Test(extract, regex_shared_between_threads)
{
    void *re;
    char err[256] = "";
    cr_assert_eq(extract_regex_compile("id=([0-9]+);", false, &re, err, sizeof(err)), 0, "%s", err);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_create(&t[i], NULL, match_in_thread, re), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *res = (void *)2;
        cr_assert_eq(pthread_join(t[i], &res), 0);
        cr_expect_null(res, "thread %d saw a wrong match", i);
    }
    extract_regex_free(re);
}
