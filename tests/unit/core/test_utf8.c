/*
 * Unit tests for core/utf8: sequence lengths over a table of valid and invalid bytes
 * (overlong, surrogates, above U+10FFFF, truncated), whole-text validation with the
 * offset of the first bad byte, encoding round trips, and code-point counts.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

Test(utf8, sequence_lengths)
{
    static const struct {
        const char *s;
        size_t n, want;
    } cases[] = {
        {"a", 1, 1},
        {"\xc3\xa9", 2, 2},         /* é */
        {"\xe2\x82\xac", 3, 3},     /* € */
        {"\xf0\x9f\x98\x80", 4, 4}, /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
        {"\xc0\xaf", 2, 0},         /* overlong '/' */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0},     /* overlong 3-byte */
        {"\xed\xa0\x80", 3, 0},     /* UTF-16 surrogate */
        {"\xf0\x80\x80\xaf", 4, 0}, /* overlong 4-byte */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0}, /* never a lead byte */
        {"\x80", 1, 0},             /* a lone continuation byte */
        {"\xc3", 1, 0},             /* truncated */
        {"\xe2\x82", 2, 0},         /* truncated */
        {"\xc3\x28", 2, 0},         /* a bad continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = utf8_seq_len((const unsigned char *)cases[i].s, cases[i].n);
        cr_expect_eq(got, cases[i].want, "case %zu: %zu vs %zu", i, got, cases[i].want);
    }
}

Test(utf8, validate_names_the_first_bad_byte)
{
    size_t off = 99;
    cr_expect_eq(utf8_validate("caf\xc3\xa9 ok", 8, &off), 0);
    cr_expect_eq(off, 99, "untouched on success: %zu", off);
    cr_expect_eq(utf8_validate("ab\xc3\xa9z\xff\xfe", 7, &off), BRUNT_EUTF8);
    cr_expect_eq(off, 5, "offset %zu vs 5", off);
    cr_expect_eq(utf8_validate("ab\xe2\x82", 4, &off), BRUNT_EUTF8, "truncated at the end");
    cr_expect_eq(off, 2, "offset %zu vs 2", off);
    cr_expect_eq(utf8_validate("a\0b", 3, NULL), 0, "NUL is valid UTF-8");
    cr_expect_eq(utf8_validate("", 0, NULL), 0);
}

Test(utf8, encode_round_trips)
{
    static const uint32_t cps[] = {0x24,   0x7f,   0x80,   0xe9,    0x7ff,   0x800,   0x20ac,
                                   0xd7ff, 0xe000, 0xffff, 0x10000, 0x1f600, 0x10ffff};
    for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
        char buf[4];
        size_t n = utf8_encode(cps[i], buf);
        cr_expect_eq(utf8_seq_len((const unsigned char *)buf, n), n, "U+%X: %zu bytes", cps[i], n);
        size_t want = cps[i] < 0x80 ? 1 : cps[i] < 0x800 ? 2 : cps[i] < 0x10000 ? 3 : 4;
        cr_expect_eq(n, want, "U+%X: %zu vs %zu bytes", cps[i], n, want);
    }
}

Test(utf8, counts_code_points)
{
    cr_expect_eq(utf8_count(""), 0);
    cr_expect_eq(utf8_count("abc"), 3);
    cr_expect_eq(utf8_count("12.5\xc2\xb5s"), 6, "µ is one column");
    cr_expect_eq(utf8_count("\xf0\x9f\x98\x80!"), 2);
}
