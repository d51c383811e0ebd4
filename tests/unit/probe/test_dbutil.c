/*
 * Tests for dbutil: passwords out of connection strings, byte sizes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "probe/dbutil.h"

static const char *redact(const char *in)
{
    static char out[256];
    dbutil_redact(in, out, sizeof out);
    return out;
}

Test(dbutil, redacts_urls)
{
    cr_expect_str_eq(redact("postgresql://app:s3cret@127.0.0.1:5432/shop"),
                     "postgresql://app:***@127.0.0.1:5432/shop");
    cr_expect_str_eq(redact("redis://:pw@[::1]:6379/0"), "redis://:***@[::1]:6379/0");
    cr_expect_str_eq(redact("postgresql://app@host/db"), "postgresql://app@host/db");
    cr_expect_str_eq(redact("postgresql://a:p@ss@host/db"), "postgresql://a:***@host/db",
                     "the last @ ends the user info");
    cr_expect_str_eq(redact("postgresql://host/db?user=a&password=x&sslmode=off"),
                     "postgresql://host/db?user=a&password=***&sslmode=off");
}

Test(dbutil, redacts_keyword_strings)
{
    cr_expect_str_eq(redact("host=h password=secret dbname=d"), "host=h password=*** dbname=d");
    cr_expect_str_eq(redact("password = 'a b\\' c' host=h"), "password = *** host=h");
    cr_expect_str_eq(redact("host=h mypassword=x"), "host=h mypassword=x",
                     "only the password keyword");
    const char *long_pw = "host=h password=0123456789012345678901234567890123456789";
    cr_expect(strstr(redact(long_pw), "0123") == NULL);
}

Test(dbutil, never_overflows)
{
    char out[8];
    dbutil_redact("postgresql://app:secret@host/db", out, sizeof out);
    cr_expect_eq(strlen(out), 7);
    cr_expect(strstr(out, "secret") == NULL);
}

Test(dbutil, bytes)
{
    char b[32];
    dbutil_fmt_bytes(512, b, sizeof b);
    cr_expect_str_eq(b, "512 B");
    dbutil_fmt_bytes(1536, b, sizeof b);
    cr_expect_str_eq(b, "1.50 KiB");
    dbutil_fmt_bytes(12.5 * 1024 * 1024, b, sizeof b);
    cr_expect_str_eq(b, "12.5 MiB");
}
