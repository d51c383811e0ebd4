/*
 * libFuzzer target for redisinfo: the input is an INFO reply.  Every field found lies
 * inside the input, numbers parse or fail cleanly, and pair lists are walked for the
 * names the Redis probe reads.  Built by scripts/fuzz.sh; seeds in
 * tests/fuzz/corpus/redisinfo/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/redisinfo.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct redisinfo_iter it;
    struct redisinfo_field f;
    redisinfo_iter_init(&it, t, size);
    while (redisinfo_next(&it, &f)) {
        check(f.key >= t && f.key + f.key_len <= t + size);
        check(f.val >= t && f.val + f.val_len <= t + size);
        check(f.key_len > 0 && memchr(f.key, ':', f.key_len) == NULL);
        uint64_t v;
        double d;
        static const char *const names[] = {"calls", "usec", "rejected_calls", "failed_calls",
                                            "keys"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            int rc = redisinfo_sub_u64(f.val, f.val_len, names[i], &v);
            check(rc == 0 || rc == -ENOENT || rc == -EINVAL || rc == -ERANGE);
        }
        (void)redisinfo_sub_double(f.val, f.val_len, "usec_per_call", &d);
        (void)redisinfo_parse_double(f.val, f.val_len, &d);
    }
    uint64_t v;
    double d;
    (void)redisinfo_u64(t, size, "keyspace_hits", &v);
    (void)redisinfo_double(t, size, "mem_fragmentation_ratio", &d);
    return 0;
}
