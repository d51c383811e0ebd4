/*
 * Tests for scenario/check: every form against passing and failing responses, network
 * errors (status 0), what is missing at evaluation time (no head, no body), compile
 * errors with columns and did-you-mean, and the bounds on PCRE2 regexes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/check.h"

#define MS 1000000ULL

static struct http1_response head;

static void setup_head(void)
{
    memset(&head, 0, sizeof(head));
    head.status = 200;
    head.headers[0] =
        (struct http1_header){"Content-Type", 12, "application/json; charset=utf-8", 31};
    head.headers[1] = (struct http1_header){"X-Cache", 7, "HIT", 3};
    head.headers[2] = (struct http1_header){"Content-Length", 14, "512", 3};
    head.num_headers = 3;
}

static const char body[] =
    "{\"accepted\":true,\"amount\":150,\"status\":\"open\",\"price\":\"99.5\","
    "\"items\":[1,2],\"note\":\"say \\\"hi\\\"\",\"nothing\":null}";

struct eval_case {
    const char *src;
    int status;
    uint64_t dur_ns;
    bool want;
};

static const struct eval_case cases[] = {
    {"status == 200", 200, 0, true},
    {"status == 200", 201, 0, false},
    {"status==200", 200, 0, true},
    {"status != 500", 200, 0, true},
    {"status != 500", 500, 0, false},
    {"status < 400", 399, 0, true},
    {"status < 400", 400, 0, false},
    {"status <= 400", 400, 0, true},
    {"status > 199", 200, 0, true},
    {"status >= 300", 200, 0, false},
    {"status in 200 201 204", 204, 0, true},
    {"status in 200 201 204", 202, 0, false},
    {"status in [200, 201]", 201, 0, true},
    {"status in [200,201]", 500, 0, false},
    {"status !in 500 502 503", 200, 0, true},
    {"status !in 500 502 503", 502, 0, false},
    {"duration < 300ms", 200, 299 * MS, true},
    {"duration < 300ms", 200, 300 * MS, false},
    {"duration <= 300ms", 200, 300 * MS, true},
    {"duration >= 1.5s", 200, 1500 * MS, true},
    {"duration > 1s", 200, 999 * MS, false},
    {"duration == 2ms", 200, 2 * MS, true},
    {"duration != 2ms", 200, 2 * MS, false},
    {"body contains 'accepted'", 200, 0, true},
    {"body contains \"nope\"", 200, 0, false},
    {"body contains say \\\"hi", 200, 0, true},
    {"body !contains 'error'", 200, 0, true},
    {"body contains \"accepted\":true", 200, 0, true},
    {"body contains 'accepted' :true", 200, 0, false},
    {"body !contains 'open'", 200, 0, false},
    {"body matches \"amount\":[0-9]+", 200, 0, true},
    {"body matches ^<html", 200, 0, false},
    {"body !matches ^<html", 200, 0, true},
    {"json $.accepted == true", 200, 0, true},
    {"json $.accepted == false", 200, 0, false},
    {"json $.accepted != false", 200, 0, true},
    {"json $.amount >= 100", 200, 0, true},
    {"json $.amount >= 151", 200, 0, false},
    {"json $.amount == 150.0", 200, 0, true},
    {"json $.amount < 1e3", 200, 0, true},
    {"json $.price > 99", 200, 0, true},
    {"json $.status == 'open'", 200, 0, true},
    {"json $.status == open", 200, 0, true},
    {"json $.status == 'closed'", 200, 0, false},
    {"json $.status != 'closed'", 200, 0, true},
    {"json $.status > 'a'", 200, 0, false},
    {"json $.note == 'say \"hi\"'", 200, 0, true},
    {"json $.note contains hi", 200, 0, true},
    {"json $.note !contains bye", 200, 0, true},
    {"json $.nothing == null", 200, 0, true},
    {"json $.amount == '150'", 200, 0, true},
    {"json $.items exists", 200, 0, true},
    {"json $.items[1] exists", 200, 0, true},
    {"json $.items[2] exists", 200, 0, false},
    {"json $.error !exists", 200, 0, true},
    {"json $.items !exists", 200, 0, false},
    {"json $.missing == 1", 200, 0, false},
    {"json $.missing != 1", 200, 0, false},
    {"header Content-Type contains json", 200, 0, true},
    {"header content-type contains xml", 200, 0, false},
    {"header Content-Type !contains xml", 200, 0, true},
    {"header X-Cache == HIT", 200, 0, true},
    {"header X-Cache == hit", 200, 0, false},
    {"header X-Cache != MISS", 200, 0, true},
    {"header X-Cache exists", 200, 0, true},
    {"header X-Id exists", 200, 0, false},
    {"header X-Id !exists", 200, 0, true},
    {"header X-Cache !exists", 200, 0, false},
    {"header X-Id == abc", 200, 0, false},
    {"header Content-Length < 1000", 200, 0, true},
    {"header Content-Length > 1000", 200, 0, false},
    {"header Content-Type matches ^application/", 200, 0, true},
    {"header X-Cache !matches ^MISS", 200, 0, true},
    {"header X-Cache matches ^(H|M)[A-Z]{1,3}$", 200, 0, true},
    {"body matches \"amount\":1[0-9]{2}[,}]", 200, 0, true},
    {"body matches \"amount\":\\d+,", 200, 0, true},
    {"body matches (?i)\"ACCEPTED\"", 200, 0, true},
    {"body matches \"status\":\"(\\w+)\".*\"price\"", 200, 0, true},
    {"body matches ((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+t", 200, 0, true},
    {"body !matches (a{100}){100}", 200, 0, true},
    {"header X-Cache matches ^HIT$", 200, 0, true},
    {"header X-Cache matches ^hit$", 200, 0, false},
    {"header X-Cache matches (?i)^hit$", 200, 0, true},
};

Test(check, every_form_passes_and_fails, .init = setup_head)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct check c;
        char err[256] = "";
        int rc = check_compile(cases[i].src, &c, err, sizeof(err));
        cr_assert_eq(rc, 0, "compile '%s': %d %s", cases[i].src, rc, err);
        bool got = check_eval(&c, cases[i].status, cases[i].dur_ns, &head, body, strlen(body));
        cr_expect_eq(got, cases[i].want, "'%s' (status %d): got %d, want %d", cases[i].src,
                     cases[i].status, got, cases[i].want);
        check_destroy(&c);
    }
}

Test(check, network_error_fails_every_check, .init = setup_head)
{
    const char *srcs[] = {"status != 200",    "status !in 200",   "duration < 1h",
                          "body !contains x", "json $.x !exists", "header X-Id !exists"};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct check c;
        cr_assert_eq(check_compile(srcs[i], &c, NULL, 0), 0, "%s", srcs[i]);
        cr_expect_not(check_eval(&c, 0, 5 * MS, &head, body, strlen(body)),
                      "'%s' passed on status 0", srcs[i]);
        check_destroy(&c);
    }
}

Test(check, missing_head_or_body_fails)
{
    struct check c;
    cr_assert_eq(check_compile("header X-Id !exists", &c, NULL, 0), 0);
    cr_expect_not(check_eval(&c, 200, 0, NULL, NULL, 0), "no head");
    check_destroy(&c);
    cr_assert_eq(check_compile("body !contains 'x'", &c, NULL, 0), 0);
    cr_expect_not(check_eval(&c, 200, 0, NULL, NULL, 0), "no body");
    check_destroy(&c);
    cr_assert_eq(check_compile("json $.x !exists", &c, NULL, 0), 0);
    cr_expect_not(check_eval(&c, 200, 0, NULL, NULL, 0), "no body");
    cr_expect_not(check_eval(&c, 200, 0, NULL, "<html>", 6), "invalid JSON fails even !exists");
    cr_expect(check_eval(&c, 200, 0, NULL, "{}", 2));
    check_destroy(&c);
}

Test(check, kinds_say_when_they_can_run)
{
    struct {
        const char *src;
        bool head, body;
    } k[] = {{"status == 200", true, false},
             {"header X exists", true, false},
             {"duration < 1s", false, false},
             {"body contains x", false, true},
             {"json $.a exists", false, true}};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        struct check c;
        cr_assert_eq(check_compile(k[i].src, &c, NULL, 0), 0);
        cr_expect_eq(check_is_head(&c), k[i].head, "%s", k[i].src);
        cr_expect_eq(check_needs_body(&c), k[i].body, "%s", k[i].src);
        check_destroy(&c);
    }
}

Test(check, source_is_trimmed)
{
    struct check c;
    cr_assert_eq(check_compile("  status   ==  200 \n", &c, NULL, 0), 0);
    cr_expect_str_eq(c.source, "status   ==  200");
    cr_expect_eq(c.kind, CHECK_STATUS);
    check_destroy(&c);
    check_destroy(&c);
}

Test(check, body_check_sees_only_the_kept_prefix)
{
    struct check c;
    cr_assert_eq(check_compile("body contains 'tail'", &c, NULL, 0), 0);
    const char *b = "head ... tail";
    cr_expect(check_eval(&c, 200, 0, NULL, b, strlen(b)));
    cr_expect_not(check_eval(&c, 200, 0, NULL, b, 8), "the tail was cut off");
    check_destroy(&c);
}

struct err_case {
    const char *src;
    const char *want;
};

static const struct err_case err_cases[] = {
    {"", "column 1: empty check"},
    {"stauts == 200", "column 1: unknown check 'stauts'; did you mean 'status'?"},
    {"latency < 1s", "column 1: unknown check 'latency' (expected status, duration"},
    {"status = 200", "column 8: unknown operator '='; did you mean '=='?"},
    {"status ~ 200", "column 8: unknown operator '~' (expected one of == != < <= > >= in !in)"},
    {"status =< 200", "column 8: unknown operator '=<'; did you mean '<='?"},
    {"status ==", "column 10: missing status code"},
    {"status == ok", "column 11: 'ok' is not a status code"},
    {"status == 200 x", "column 15: unexpected text after the status code"},
    {"status in", "empty list"},
    {"status in [200, 201", "column 11: '[' is not closed"},
    {"status in 200 abc", "column 15: not a status code"},
    {"duration < 300", "column 12: not a duration with a unit (expected a duration with a unit"},
    {"duration < 3xs", "column 12: '3xs' is not a duration"},
    {"duration in 1s", "column 10: unknown operator 'in'"},
    {"body == 'x'", "column 6: unknown operator '=='"},
    {"body contain 'x'", "did you mean 'contains'?"},
    {"body contains 'x", "column 15: quoted text is not closed"},
    {"json $.a == 'x' y", "column 17: unexpected text after the quoted value"},
    {"body matches a(b", "column 17: invalid regular expression: missing closing parenthesis "
                         "(expected a Perl-compatible regex)"},
    {"body matches x++++++++++++++++++", "column 17: invalid regular expression: quantifier "
                                         "does not follow a repeatable item"},
    {"body matches 'a\\'b**'", "column 20: invalid regular expression: quantifier"},
    {"header X matches ab[c", "column 22: invalid regular expression: missing terminating ]"},
    {"body matches (*UTF)x", "column 20: invalid regular expression: using UTF is disabled"},
    {"body matches ((a{65535}){65535}){65535}", "regular expression is too large"},
    {"json", "column 5: missing JSON path"},
    {"json token == 1", "column 6:"},
    {"json $.a", "missing operator"},
    {"json $.a matches x", "column 10: unknown operator 'matches'"},
    {"json $.a exists x", "column 17: unexpected text after 'exists'"},
    {"json $.a == two words", "column 17: unexpected 'words'"},
    {"json $.a ==", "column 12: missing value"},
    {"header", "column 7: missing header name"},
    {"header X: exists", "column 8: bad header name"},
    {"header X exist", "did you mean 'exists'?"},
};

Test(check, compile_errors)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        struct check c;
        char err[256] = "";
        int rc = check_compile(err_cases[i].src, &c, err, sizeof(err));
        cr_expect_lt(rc, 0, "'%s' should fail", err_cases[i].src);
        cr_expect_null(c.source, "zero-filled on failure");
        cr_expect(strstr(err, err_cases[i].want) != NULL, "'%s': got \"%s\", want \"%s\"",
                  err_cases[i].src, err, err_cases[i].want);
    }
}

Test(check, too_many_status_codes)
{
    char src[512] = "status in";
    for (int i = 0; i < CHECK_MAX_STATUSES + 1; i++) {
        strcat(src, " 200");
    }
    struct check c;
    char err[256];
    cr_expect_lt(check_compile(src, &c, err, sizeof(err)), 0);
    cr_expect(strstr(err, "more than 32 status codes") != NULL, "%s", err);
}

/* The fuzzer's input that hung glibc's regcomp, as a check: refused, and quickly. */
Test(check, stacked_quantifiers_are_refused)
{
    const char *src =
        "body matches :!=\xdf\xdf\xdf\xdf\xdfHHH**********+++++++++++a$$$$$$$$$$$$$d .";
    struct check c;
    char err[256] = "";
    int rc = check_compile(src, &c, err, sizeof(err));
    cr_expect_eq(rc, -1, "rc %d (%s)", rc, err);
    cr_expect(strstr(err, "column 26: invalid regular expression: quantifier does not follow") !=
                  NULL,
              "got \"%s\"", err);
    cr_expect_null(c.re);
}

/*
 * (a+)+$ on 100 KB of a's then b backtracks exponentially; the match limit cuts it off
 * and the check fails, "matches" and "!matches" alike (neither was shown).
 */
Test(check, catastrophic_backtracking_fails_the_check, .timeout = 20)
{
    size_t n = 100 * 1024;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, 'a', n);
    big[n] = 'b';
    const char *srcs[] = {"body matches (a+)+$", "body !matches (a+)+$",
                          "body matches ^(a|aa)+\\1+$", "body !matches ^(a|aa)+\\1+$"};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        struct check c;
        char err[256] = "";
        cr_assert_eq(check_compile(srcs[i], &c, err, sizeof(err)), 0, "%s: %s", srcs[i], err);
        bool got = check_eval(&c, 200, 0, NULL, big, n + 1);
        cr_expect_not(got, "'%s' on a's then b: got %d, want 0", srcs[i], got);
        check_destroy(&c);
    }
    /* A body the same regex can decide quickly. */
    struct check c;
    cr_assert_eq(check_compile("body matches (a+)+$", &c, NULL, 0), 0);
    cr_expect(check_eval(&c, 200, 0, NULL, "xaaaa", 5), "matches");
    cr_expect_not(check_eval(&c, 200, 0, NULL, "aaab", 4), "a quick miss");
    check_destroy(&c);
    cr_assert_eq(check_compile("body !matches (a+)+$", &c, NULL, 0), 0);
    cr_expect(check_eval(&c, 200, 0, NULL, "aaab", 4), "!matches on a quick miss");
    check_destroy(&c);
    free(big);
}

Test(check, regex_sees_the_body_by_length)
{
    struct check c;
    cr_assert_eq(check_compile("body matches ok$", &c, NULL, 0), 0);
    cr_expect(check_eval(&c, 200, 0, NULL, "is ok then more", 5), "only the kept prefix");
    cr_expect_not(check_eval(&c, 200, 0, NULL, "is ok then more", 15));
    check_destroy(&c);
    cr_assert_eq(check_compile("body matches b\\x00?c", &c, NULL, 0), 0);
    cr_expect(check_eval(&c, 200, 0, NULL, "a\0b\0c", 5), "NUL bytes are ordinary");
    check_destroy(&c);
}
