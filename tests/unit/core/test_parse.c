/*
 * Tests for parse: durations, counts, sizes, decimals, and the duration formatter.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/parse.h"

#define S 1000000000ULL
#define MS 1000000ULL
#define US 1000ULL

struct ncase {
    const char *in;
    int err;
    uint64_t want;
};

static const struct ncase durations[] = {
    {"10s", 0, 10 * S},
    {"10", 0, 10 * S},
    {"0", 0, 0},
    {"0s", 0, 0},
    {"0.5", 0, 500 * MS},
    {"1.5s", 0, 1500 * MS},
    {"1.1s", 0, 1100 * MS},
    {".5s", 0, 500 * MS},
    {"5.s", 0, 5 * S},
    {"500ms", 0, 500 * MS},
    {"250us", 0, 250 * US},
    {"250\xc2\xb5s", 0, 250 * US},
    {"250\xce\xbcs", 0, 250 * US},
    {"42ns", 0, 42},
    {"1.5ns", 0, 1},
    {"2h", 0, 7200 * S},
    {"1m30s", 0, 90 * S},
    {"1h2m3.5s", 0, 3723 * S + 500 * MS},
    {"1d", 0, 86400 * S},
    {"1s500ms", 0, 1500 * MS},
    {"1.000000001s", 0, S + 1},
    {"0.0000000001s", 0, 0},
    {"1.23456789012345678901s", 0, 1234567890},
    {"9223372036s", 0, 9223372036 * S},
    {"9223372036854775807ns", 0, 9223372036854775807ULL},

    {"", -EINVAL},
    {"10x", -EINVAL},
    {"-1s", -EINVAL},
    {"+1s", -EINVAL},
    {"s", -EINVAL},
    {"ms", -EINVAL},
    {".s", -EINVAL},
    {".", -EINVAL},
    {"1m30", -EINVAL},
    {"1 s", -EINVAL},
    {" 1s", -EINVAL},
    {"1s ", -EINVAL},
    {"1S", -EINVAL},
    {"1..5s", -EINVAL},
    {"1e3s", -EINVAL},
    {"1sec", -EINVAL},
    {"inf", -EINVAL},
    {"99999999999999999999999x", -EINVAL},
    {"9223372036854775808ns", -ERANGE},
    {"9223372037s", -ERANGE},
    {"106752d", -ERANGE},
    {"99999999999999999999999s", -ERANGE},
    {"18446744073709551615ns1ns", -ERANGE},
    {"18446744073709551616", -ERANGE},
};

Test(parse, durations)
{
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        const struct ncase *c = &durations[i];
        uint64_t v = 12345;
        int rc = parse_duration_ns(c->in, &v);
        cr_expect_eq(rc, c->err, "'%s': rc %d vs %d", c->in, rc, c->err);
        if (c->err == 0 && rc == 0) {
            cr_expect_eq(v, c->want, "'%s': %llu ns vs %llu", c->in, (unsigned long long)v,
                         (unsigned long long)c->want);
        } else {
            cr_expect_eq(v, 12345, "'%s': output written on error", c->in);
        }
    }
}

static const struct ncase counts[] = {
    {"0", 0, 0},
    {"1000", 0, 1000},
    {"10k", 0, 10000},
    {"10K", 0, 10000},
    {"2M", 0, 2000000},
    {"3G", 0, 3000000000ULL},
    {"1T", 0, 1000000000000ULL},
    {"1.5k", 0, 1500},
    {"0.001k", 0, 1},
    {"2.50M", 0, 2500000},
    {"1.0", 0, 1},
    {"18446744073709551615", 0, UINT64_MAX},

    {"", -EINVAL},
    {"k", -EINVAL},
    {"10x", -EINVAL},
    {"10m", -EINVAL},
    {"10kk", -EINVAL},
    {"-1", -EINVAL},
    {"+1", -EINVAL},
    {" 1", -EINVAL},
    {"1 ", -EINVAL},
    {"1.5", -EINVAL},
    {"1.0001k", -EINVAL},
    {"0x10", -EINVAL},
    {"18446744073709551616", -ERANGE},
    {"18446744073709552k", -ERANGE},
    {"99999999999999999999T", -ERANGE},
};

Test(parse, counts)
{
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const struct ncase *c = &counts[i];
        uint64_t v = 12345;
        int rc = parse_u64(c->in, &v);
        cr_expect_eq(rc, c->err, "'%s': rc %d vs %d", c->in, rc, c->err);
        if (c->err == 0 && rc == 0) {
            cr_expect_eq(v, c->want, "'%s': %llu vs %llu", c->in, (unsigned long long)v,
                         (unsigned long long)c->want);
        } else {
            cr_expect_eq(v, 12345, "'%s': output written on error", c->in);
        }
    }
}

static const struct ncase sizes[] = {
    {"512", 0, 512},
    {"512B", 0, 512},
    {"512b", 0, 512},
    {"4KiB", 0, 4096},
    {"4kib", 0, 4096},
    {"16k", 0, 16384},
    {"16K", 0, 16384},
    {"10KB", 0, 10000},
    {"10MB", 0, 10000000},
    {"10MiB", 0, 10485760},
    {"10m", 0, 10485760},
    {"1GiB", 0, 1073741824},
    {"1GB", 0, 1000000000},
    {"1g", 0, 1073741824},
    {"2TiB", 0, 2199023255552ULL},
    {"1TB", 0, 1000000000000ULL},
    {"1.5KiB", 0, 1536},
    {"0.5k", 0, 512},
    {"1.5KB", 0, 1500},
    {"16777215TiB", 0, 16777215ULL << 40},

    {"", -EINVAL},
    {"KiB", -EINVAL},
    {"10x", -EINVAL},
    {"10 KiB", -EINVAL},
    {"10KiBs", -EINVAL},
    {"10iB", -EINVAL},
    {"-1", -EINVAL},
    {"0.1KiB", -EINVAL},
    {"1.5", -EINVAL},
    {"16777216TiB", -ERANGE},
    {"18446744073709551616", -ERANGE},
};

Test(parse, sizes)
{
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const struct ncase *c = &sizes[i];
        uint64_t v = 12345;
        int rc = parse_size_bytes(c->in, &v);
        cr_expect_eq(rc, c->err, "'%s': rc %d vs %d", c->in, rc, c->err);
        if (c->err == 0 && rc == 0) {
            cr_expect_eq(v, c->want, "'%s': %llu vs %llu", c->in, (unsigned long long)v,
                         (unsigned long long)c->want);
        } else {
            cr_expect_eq(v, 12345, "'%s': output written on error", c->in);
        }
    }
}

Test(parse, doubles)
{
    static const struct {
        const char *in;
        int err;
        double want;
    } cases[] = {
        {"0", 0, 0.0},      {"1.5", 0, 1.5},     {"-0.25", 0, -0.25},   {"1e3", 0, 1000.0},
        {"2.", 0, 2.0},     {".5", 0, 0.5},      {"1e-400", 0, 0.0},    {"+3", 0, 3.0},
        {"", -EINVAL, 0},   {"abc", -EINVAL, 0}, {"1.5x", -EINVAL, 0},  {" 1", -EINVAL, 0},
        {"1 ", -EINVAL, 0}, {"inf", -EINVAL, 0}, {"nan", -EINVAL, 0},   {"0x10", -EINVAL, 0},
        {"1e", -EINVAL, 0}, {"--1", -EINVAL, 0}, {"1e400", -ERANGE, 0}, {"-1e400", -ERANGE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = 42.0;
        int rc = parse_double(cases[i].in, &v);
        cr_expect_eq(rc, cases[i].err, "'%s': rc %d vs %d", cases[i].in, rc, cases[i].err);
        if (rc == 0 && cases[i].err == 0) {
            cr_expect(fabs(v - cases[i].want) < 1e-12, "'%s': %g vs %g", cases[i].in, v,
                      cases[i].want);
        } else {
            cr_expect(v == 42.0, "'%s': output written on error", cases[i].in);
        }
    }
}

Test(parse, format_duration)
{
    static const struct {
        double ms;
        const char *want;
    } cases[] = {
        {0.0, "0s"},
        {0.0000001, "0s"},
        {0.000512, "512ns"},
        {0.0009996, "1\xc2\xb5s"},
        {0.85, "850\xc2\xb5s"},
        {0.2688, "268.8\xc2\xb5s"},
        {0.012345, "12.35\xc2\xb5s"},
        {0.9999, "999.9\xc2\xb5s"},
        {0.999996, "1ms"},
        {1.23, "1.23ms"},
        {1.0, "1ms"},
        {12.5, "12.5ms"},
        {999.994, "999.99ms"},
        {999.996, "1s"},
        {2500.0, "2.5s"},
        {59994.0, "59.99s"},
        {59999.0, "1m0s"},
        {65000.0, "1m5s"},
        {65400.0, "1m5s"},
        {3723000.0, "1h2m3s"},
        {-1.5, "-1.5ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        int n = format_duration_ms(cases[i].ms, buf, sizeof buf);
        cr_expect_eq(n, (int)strlen(cases[i].want), "%g ms: length %d vs %zu", cases[i].ms, n,
                     strlen(cases[i].want));
        cr_expect_str_eq(buf, cases[i].want, "%g ms: '%s' vs '%s'", cases[i].ms, buf,
                         cases[i].want);
    }
}

Test(parse, format_duration_errors)
{
    char buf[4];
    cr_expect_eq(format_duration_ms(NAN, buf, sizeof buf), -EINVAL, "NaN");
    cr_expect_eq(format_duration_ms(INFINITY, buf, sizeof buf), -EINVAL, "inf");
    cr_expect_eq(format_duration_ms(1.23, buf, sizeof buf), -ENOSPC, "1.23ms needs 7 bytes");
    cr_expect_eq(format_duration_ms(3723000.0, buf, sizeof buf), -ENOSPC, "1h2m3s");
    cr_expect_eq(format_duration_ms(1.0, buf, sizeof buf), 3, "1ms fits in 4");
}

Test(parse, duration_round_trip_through_format)
{
    /* What the formatter prints for whole units, the parser reads back. */
    static const double ms[] = {1.0, 1.5, 250.0, 2500.0, 65000.0, 3723000.0};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        char buf[32];
        uint64_t ns;
        cr_assert_gt(format_duration_ms(ms[i], buf, sizeof buf), 0);
        int rc = parse_duration_ns(buf, &ns);
        cr_expect_eq(rc, 0, "'%s' rc %d", buf, rc);
        cr_expect_eq(ns, (uint64_t)(ms[i] * 1e6), "'%s': %llu ns vs %g ms", buf,
                     (unsigned long long)ns, ms[i]);
    }
}
