/*
 * Unit tests for core/dynbuf: appends, NUL termination, the hard cap, growth, and that a
 * failed append leaves the buffer as it was.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dynbuf.h"

Test(dynbuf, zero_state_holds_nothing)
{
    struct dynbuf b;

    dynbuf_init(&b, 100);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0, "len %zu vs 0", b.len);
    cr_assert_eq(b.max, 100, "max %zu vs 100", b.max);
    dynbuf_destroy(&b);
    dynbuf_destroy(&b); /* twice is harmless */
}

Test(dynbuf, add_appends_and_terminates)
{
    struct dynbuf b;
    int rc;

    dynbuf_init(&b, 1000);
    rc = dynbuf_add(&b, "abc", 3);
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    rc = dynbuf_addc(&b, '-');
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    rc = dynbuf_adds(&b, "xyz");
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    cr_assert_eq(b.len, 7, "len %zu vs 7", b.len);
    cr_assert_str_eq(b.data, "abc-xyz");
    cr_assert(b.cap >= b.len + 1, "cap %zu len %zu", b.cap, b.len);
    dynbuf_destroy(&b);
}

Test(dynbuf, empty_add_allocates_terminated_buffer)
{
    struct dynbuf b;
    int rc;

    dynbuf_init(&b, 10);
    rc = dynbuf_add(&b, NULL, 0);
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    dynbuf_destroy(&b);
}

Test(dynbuf, addf_formats_short_and_long)
{
    struct dynbuf b;
    char big[1000];
    int rc;

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    dynbuf_init(&b, 4096);
    rc = dynbuf_addf(&b, "%d-%s", 42, "x");
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    cr_assert_str_eq(b.data, "42-x");
    rc = dynbuf_addf(&b, "[%s]", big); /* longer than the internal stack buffer */
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    cr_assert_eq(b.len, 4 + 2 + 999, "len %zu vs %d", b.len, 4 + 2 + 999);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_eq(b.data[b.len - 1], ']');
    cr_assert_eq(strlen(b.data), b.len, "strlen %zu vs %zu", strlen(b.data), b.len);
    dynbuf_destroy(&b);
}

Test(dynbuf, cap_is_exact_and_failure_changes_nothing)
{
    struct dynbuf b;
    int rc;

    dynbuf_init(&b, 5);
    rc = dynbuf_add(&b, "12345", 5);
    cr_assert_eq(rc, 0, "rc %d vs 0 (exactly max fits)", rc);
    rc = dynbuf_addc(&b, '6');
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    cr_assert_eq(b.len, 5, "len %zu vs 5", b.len);
    cr_assert_str_eq(b.data, "12345");
    cr_assert(b.cap <= 6, "cap %zu must not exceed max + 1", b.cap);
    dynbuf_destroy(&b);
}

Test(dynbuf, addf_past_cap_appends_nothing)
{
    struct dynbuf b;
    int rc;

    dynbuf_init(&b, 8);
    dynbuf_adds(&b, "ab");
    rc = dynbuf_addf(&b, "%s", "0123456789");
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    cr_assert_str_eq(b.data, "ab");
    rc = dynbuf_addf(&b, "%0300d", 1); /* long path too */
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    cr_assert_eq(b.len, 2, "len %zu vs 2", b.len);
    dynbuf_destroy(&b);
}

Test(dynbuf, huge_add_does_not_overflow)
{
    struct dynbuf b;
    int rc;

    dynbuf_init(&b, SIZE_MAX);
    dynbuf_adds(&b, "x");
    rc = dynbuf_reserve(&b, SIZE_MAX);
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    rc = dynbuf_reserve(&b, SIZE_MAX - 1);
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d (len + extra + NUL wraps)", rc, -E2BIG);
    cr_assert_str_eq(b.data, "x");
    dynbuf_destroy(&b);
}

Test(dynbuf, reset_keeps_memory)
{
    struct dynbuf b;
    char *before;

    dynbuf_init(&b, 100);
    dynbuf_adds(&b, "hello");
    before = b.data;
    dynbuf_reset(&b);
    cr_assert_eq(b.len, 0, "len %zu vs 0", b.len);
    cr_assert_eq(b.data, before);
    cr_assert_str_eq(b.data, "");
    dynbuf_adds(&b, "hi");
    cr_assert_str_eq(b.data, "hi");
    dynbuf_destroy(&b);
}

Test(dynbuf, growth_keeps_content)
{
    struct dynbuf b;
    size_t i;

    dynbuf_init(&b, 100000);
    for (i = 0; i < 10000; i++)
        cr_assert_eq(dynbuf_addc(&b, (char)('a' + i % 26)), 0);
    cr_assert_eq(b.len, 10000, "len %zu vs 10000", b.len);
    for (i = 0; i < 10000; i++)
        cr_assert_eq(b.data[i], (char)('a' + i % 26), "byte %zu", i);
    dynbuf_destroy(&b);
}

Test(dynbuf, reserve_prevents_reallocation)
{
    struct dynbuf b;
    char *p;
    int rc;

    dynbuf_init(&b, 1 << 20);
    rc = dynbuf_reserve(&b, 5000);
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    p = b.data;
    for (int i = 0; i < 5000; i++)
        dynbuf_addc(&b, 'z');
    cr_assert_eq(b.data, p, "data moved after reserve");
    dynbuf_destroy(&b);
}

Test(dynbuf, truncate_and_take)
{
    struct dynbuf b;
    size_t len = 0;
    char *p;

    dynbuf_init(&b, 100);
    dynbuf_adds(&b, "abcdef");
    dynbuf_truncate(&b, 3);
    cr_assert_str_eq(b.data, "abc");
    dynbuf_truncate(&b, 10); /* no-op */
    cr_assert_eq(b.len, 3, "len %zu vs 3", b.len);
    p = dynbuf_take(&b, &len);
    cr_assert_str_eq(p, "abc");
    cr_assert_eq(len, 3, "len %zu vs 3", len);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0, "len %zu vs 0", b.len);
    free(p);
    dynbuf_destroy(&b);
}
