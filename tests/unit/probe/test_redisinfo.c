/*
 * Tests for redisinfo: fields of a real Redis 7 INFO reply, numbers, pair lists, and
 * truncated input (every prefix).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/redisinfo.h"

static const char info[] = "# Server\r\n"
                           "redis_version:7.0.15\r\n"
                           "run_id:9f1c0de5a7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5\r\n"
                           "\r\n"
                           "# Stats\r\n"
                           "total_commands_processed:12345\r\n"
                           "keyspace_hits:90\r\n"
                           "keyspace_misses:10\r\n"
                           "mem_fragmentation_ratio:1.23\r\n"
                           "big:18446744073709551615\r\n"
                           "toobig:18446744073709551616\r\n"
                           "neg:-5\r\n"
                           "# Commandstats\r\n"
                           "cmdstat_get:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0,"
                           "failed_calls=1\r\n"
                           "cmdstat_client|setname:calls=1,usec=2\r\n"
                           "# Keyspace\r\n"
                           "db0:keys=1,expires=0,avg_ttl=0\n"
                           "last_no_newline:7";

Test(redisinfo, fields_and_numbers)
{
    size_t n = strlen(info);
    uint64_t v = 0;
    double d = 0;
    cr_expect_eq(redisinfo_u64(info, n, "total_commands_processed", &v), 0);
    cr_expect_eq(v, 12345, "got %llu", (unsigned long long)v);
    cr_expect_eq(redisinfo_u64(info, n, "keyspace_misses", &v), 0);
    cr_expect_eq(v, 10);
    cr_expect_eq(redisinfo_double(info, n, "mem_fragmentation_ratio", &d), 0);
    cr_expect_float_eq(d, 1.23, 1e-12);
    cr_expect_eq(redisinfo_u64(info, n, "big", &v), 0);
    cr_expect_eq(v, UINT64_MAX);
    cr_expect_eq(redisinfo_u64(info, n, "toobig", &v), -ERANGE);
    cr_expect_eq(redisinfo_u64(info, n, "neg", &v), -EINVAL);
    cr_expect_eq(redisinfo_double(info, n, "neg", &d), 0);
    cr_expect_float_eq(d, -5.0, 0);
    cr_expect_eq(redisinfo_u64(info, n, "nope", &v), -ENOENT);
    cr_expect_eq(redisinfo_u64(info, n, "last_no_newline", &v), 0);
    cr_expect_eq(v, 7);
    /* Section headers are not fields; keys match whole. */
    cr_expect_eq(redisinfo_u64(info, n, "# Server", &v), -ENOENT);
    cr_expect_eq(redisinfo_u64(info, n, "keyspace", &v), -ENOENT);
    struct redisinfo_field f;
    cr_assert(redisinfo_get(info, n, "redis_version", &f));
    cr_expect_eq(f.val_len, 6);
    cr_expect(memcmp(f.val, "7.0.15", 6) == 0);
}

Test(redisinfo, pair_lists)
{
    size_t n = strlen(info);
    struct redisinfo_field f;
    uint64_t v = 0;
    double d = 0;
    cr_assert(redisinfo_get(info, n, "cmdstat_get", &f));
    cr_expect_eq(redisinfo_sub_u64(f.val, f.val_len, "calls", &v), 0);
    cr_expect_eq(v, 3);
    cr_expect_eq(redisinfo_sub_u64(f.val, f.val_len, "usec", &v), 0);
    cr_expect_eq(v, 12, "usec must not match usec_per_call");
    cr_expect_eq(redisinfo_sub_double(f.val, f.val_len, "usec_per_call", &d), 0);
    cr_expect_float_eq(d, 4.0, 0);
    cr_expect_eq(redisinfo_sub_u64(f.val, f.val_len, "failed_calls", &v), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(redisinfo_sub_u64(f.val, f.val_len, "missing", &v), -ENOENT);
    cr_assert(redisinfo_get(info, n, "db0", &f));
    cr_expect_eq(redisinfo_sub_u64(f.val, f.val_len, "keys", &v), 0);
    cr_expect_eq(v, 1);
}

Test(redisinfo, iterates_every_field_once)
{
    struct redisinfo_iter it;
    struct redisinfo_field f;
    size_t count = 0, cmdstats = 0;
    redisinfo_iter_init(&it, info, strlen(info));
    while (redisinfo_next(&it, &f)) {
        count++;
        cmdstats += f.key_len > 8 && memcmp(f.key, "cmdstat_", 8) == 0;
        cr_expect(f.key_len > 0);
        cr_expect(memchr(f.val, '\r', f.val_len) == NULL, "CR is not part of a value");
    }
    cr_expect_eq(count, 13, "got %zu", count);
    cr_expect_eq(cmdstats, 2);
}

Test(redisinfo, every_prefix_is_safe)
{
    size_t n = strlen(info);
    for (size_t len = 0; len <= n; len++) {
        /* A copy exactly len long so ASan sees any read past the end. */
        char *p = malloc(len ? len : 1);
        cr_assert(p);
        memcpy(p, info, len);
        uint64_t v = 0;
        int rc = redisinfo_u64(p, len, "keyspace_hits", &v);
        cr_expect(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0) {
            cr_expect(v == 90 || v == 9, "a prefix gives the value or a cut of it, got %llu",
                      (unsigned long long)v);
        }
        struct redisinfo_iter it;
        struct redisinfo_field f;
        redisinfo_iter_init(&it, p, len);
        while (redisinfo_next(&it, &f)) {
            cr_expect(f.val + f.val_len <= p + len);
        }
        free(p);
    }
}

Test(redisinfo, numbers_refuse_junk)
{
    uint64_t v;
    double d;
    cr_expect_eq(redisinfo_parse_u64("", 0, &v), -EINVAL);
    cr_expect_eq(redisinfo_parse_u64("12a", 3, &v), -EINVAL);
    cr_expect_eq(redisinfo_parse_u64(" 1", 2, &v), -EINVAL);
    cr_expect_eq(redisinfo_parse_double("inf", 3, &d), -EINVAL);
    cr_expect_eq(redisinfo_parse_double("nan", 3, &d), -EINVAL);
    cr_expect_eq(redisinfo_parse_double("0x10", 4, &d), -EINVAL);
    cr_expect_eq(redisinfo_parse_double("1e999", 5, &d), -EINVAL);
    cr_expect_eq(redisinfo_parse_double("2.5", 3, &d), 0);
    cr_expect_float_eq(d, 2.5, 0);
}
