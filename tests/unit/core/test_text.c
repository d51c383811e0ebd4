/*
 * Tests for text: white space, edit distance, suggestions and error formatting.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/text.h"

static size_t dist(const char *a, const char *b)
{
    return text_edit_distance(a, strlen(a), b, strlen(b));
}

Test(text, is_space)
{
    const char *yes = " \t\n\r\f\v";
    for (const char *p = yes; *p; p++) {
        cr_expect(text_is_space(*p), "0x%02x should be space", (unsigned char)*p);
    }
    const char *no = "a0_\x01\x7f";
    for (const char *p = no; *p; p++) {
        cr_expect(!text_is_space(*p), "0x%02x should not be space", (unsigned char)*p);
    }
    cr_expect(!text_is_space('\0'), "NUL is not space");
    cr_expect(!text_is_space((char)0xa0), "0xa0 is not space");
}

Test(text, edit_distance_known_values)
{
    static const struct {
        const char *a, *b;
        size_t want;
    } cases[] = {
        {"", "", 0},
        {"", "abc", 3},
        {"abc", "", 3},
        {"kitten", "sitting", 3},
        {"flaw", "lawn", 2},
        {"json", "jsno", 2},
        {"header", "regex", 4},
        {"http_reqs", "http_req", 1},
        {"Status", "status", 1}, /* case-sensitive */
        {"same", "same", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = dist(cases[i].a, cases[i].b);
        cr_expect_eq(got, cases[i].want, "d(%s, %s) = %zu, want %zu", cases[i].a, cases[i].b, got,
                     cases[i].want);
        size_t back = dist(cases[i].b, cases[i].a);
        cr_expect_eq(back, got, "not symmetric for %s/%s: %zu vs %zu", cases[i].a, cases[i].b, back,
                     got);
    }
}

Test(text, edit_distance_uses_lengths_not_nul)
{
    /* Only the first 4 bytes of each count. */
    size_t d = text_edit_distance("jsonXXX", 4, "jsonYY", 4);
    cr_expect_eq(d, 0, "prefixes are equal: %zu vs 0", d);
    d = text_edit_distance("ab\0c", 4, "ab\0d", 4);
    cr_expect_eq(d, 1, "embedded NUL compared as a byte: %zu vs 1", d);
}

Test(text, edit_distance_bound)
{
    char a[TEXT_EDIT_MAX + 2], b[TEXT_EDIT_MAX + 2];
    memset(a, 'a', sizeof a);
    memset(b, 'a', sizeof b);
    size_t d = text_edit_distance(a, TEXT_EDIT_MAX, b, TEXT_EDIT_MAX);
    cr_expect_eq(d, 0, "at the bound: %zu vs 0", d);
    b[0] = 'b';
    d = text_edit_distance(a, TEXT_EDIT_MAX, b, TEXT_EDIT_MAX);
    cr_expect_eq(d, 1, "at the bound, one change: %zu vs 1", d);
    d = text_edit_distance(a, TEXT_EDIT_MAX + 1, b, 3);
    cr_expect_eq(d, SIZE_MAX, "a past the bound: %zu vs SIZE_MAX", d);
    d = text_edit_distance(a, 3, b, TEXT_EDIT_MAX + 1);
    cr_expect_eq(d, SIZE_MAX, "b past the bound: %zu vs SIZE_MAX", d);
}

Test(text, suggest_closest_within_limit)
{
    static const char *const words[] = {"status", "duration", "body", "json", "header", NULL};
    const char *got = text_suggest("staus", 5, words, SIZE_MAX, 2);
    cr_expect(got != NULL && strcmp(got, "status") == 0, "staus -> %s, want status",
              got ? got : "(null)");
    got = text_suggest("jsn", 3, words, SIZE_MAX, 2);
    cr_expect(got != NULL && strcmp(got, "json") == 0, "jsn -> %s, want json",
              got ? got : "(null)");
    got = text_suggest("xyzzy", 5, words, SIZE_MAX, 2);
    cr_expect_null(got, "xyzzy -> %s, want none", got ? got : "(null)");
    /* Distance 3 is past a limit of 2 but within 3. */
    got = text_suggest("drtion", 6, words, SIZE_MAX, 1);
    cr_expect_null(got, "drtion at limit 1 -> %s, want none", got ? got : "(null)");
    got = text_suggest("drtion", 6, words, SIZE_MAX, 2);
    cr_expect(got != NULL && strcmp(got, "duration") == 0, "drtion -> %s, want duration",
              got ? got : "(null)");
}

Test(text, suggest_prefers_closer_then_first)
{
    static const char *const words[] = {"abcd", "abce", "abcx"};
    /* "abcx" is exact-but-one away from all; the first of the closest wins. */
    const char *got = text_suggest("abcz", 4, words, 3, 2);
    cr_expect(got == words[0], "tie -> %s, want abcd", got ? got : "(null)");
    /* A later, strictly closer candidate beats an earlier one. */
    static const char *const later[] = {"abxx", "abcx"};
    got = text_suggest("abcz", 4, later, 2, 2);
    cr_expect(got == later[1], "closer -> %s, want abcx", got ? got : "(null)");
}

Test(text, suggest_no_total_rewrite)
{
    /* "~" and "<" share nothing: distance 1 equals the length, so no suggestion. */
    static const char *const ops[] = {"<", "=~", NULL};
    const char *got = text_suggest("~", 1, ops, SIZE_MAX, 2);
    cr_expect(got == ops[1], "~ -> %s, want =~ (not <)", got ? got : "(null)");
    static const char *const only_lt[] = {"<", NULL};
    got = text_suggest("~", 1, only_lt, SIZE_MAX, 2);
    cr_expect_null(got, "~ -> %s, want none", got ? got : "(null)");
}

Test(text, suggest_respects_n_and_null)
{
    static const char *const words[] = {"alpha", "beta", NULL, "gamma"};
    const char *got = text_suggest("gama", 4, words, SIZE_MAX, 2);
    cr_expect_null(got, "NULL ends the list: %s, want none", got ? got : "(null)");
    got = text_suggest("beat", 4, words, 1, 2);
    cr_expect_null(got, "n = 1 looks at alpha only: %s, want none", got ? got : "(null)");
    got = text_suggest("beat", 4, words, 2, 2);
    cr_expect(got == words[1], "n = 2 -> %s, want beta", got ? got : "(null)");
    got = text_suggest("beta", 4, words, 0, 2);
    cr_expect_null(got, "n = 0: %s, want none", got ? got : "(null)");
}

Test(text, near_per_candidate_limit_and_null)
{
    struct text_near near;
    text_near_init(&near, "http_reqz", 9);
    cr_expect_null(near.best, "starts empty");
    text_near_add(&near, NULL, 5); /* skipped */
    cr_expect_null(near.best, "NULL is skipped");
    text_near_add(&near, "http_reqs", 0); /* distance 1, limit 0 */
    cr_expect_null(near.best, "limit 0 rejects distance 1: %s", near.best ? near.best : "");
    text_near_add(&near, "http_req", 1);
    cr_expect_str_eq(near.best, "http_req", "within its own limit: %s", near.best);
    cr_expect_eq(near.best_distance, 1, "distance %zu vs 1", near.best_distance);
    text_near_add(&near, "http_reqs", 3); /* also 1: not strictly closer */
    cr_expect_str_eq(near.best, "http_req", "tie keeps the first: %s", near.best);
    text_near_add(&near, "http_reqz", 3);
    cr_expect_str_eq(near.best, "http_reqz", "exact wins: %s", near.best);
    cr_expect_eq(near.best_distance, 0, "distance %zu vs 0", near.best_distance);
}

Test(text, errf_formats_and_returns_rc)
{
    char err[32];
    memset(err, 'x', sizeof err);
    int rc = text_errf(err, sizeof err, -EINVAL, "column %zu: bad '%s'", (size_t)7, "q");
    cr_expect_eq(rc, -EINVAL, "rc %d vs %d", rc, -EINVAL);
    cr_expect_str_eq(err, "column 7: bad 'q'", "message: %s", err);

    rc = text_errf(err, 8, -1, "%s", "a long message");
    cr_expect_eq(rc, -1, "rc %d vs -1", rc);
    cr_expect_str_eq(err, "a long ", "truncated and terminated: '%s'", err);

    memset(err, 'x', sizeof err);
    rc = text_errf(err, 0, 5, "%s", "nothing");
    cr_expect_eq(rc, 5, "rc %d vs 5", rc);
    cr_expect_eq(err[0], 'x', "err_len 0 writes nothing: 0x%02x", (unsigned char)err[0]);
    rc = text_errf(NULL, 10, -ENOMEM, "out of memory");
    cr_expect_eq(rc, -ENOMEM, "NULL err: rc %d vs %d", rc, -ENOMEM);
}
