/*
 * libFuzzer target for the user-input number parsers in core/parse: durations, counts,
 * sizes and decimals, and the duration formatter.  The input, cut at its first NUL,
 * goes through every parser.  Invariants: results are 0, -EINVAL or -ERANGE; outputs
 * are untouched on error; a duration is at most INT64_MAX ns; a parsed double is
 * finite; what format_duration_ms prints for a whole number of milliseconds parses
 * back as a duration.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/duration/.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    uint64_t v = 7;
    int rc = parse_duration_ns(s, &v);
    check(rc == 0 || rc == -EINVAL || rc == -ERANGE);
    check(rc == 0 ? v <= (uint64_t)INT64_MAX : v == 7);
    if (rc == 0) {
        char buf[64];
        double ms = (double)(v / 1000000);
        int n = format_duration_ms(ms, buf, sizeof buf);
        check(n > 0 && (size_t)n == strlen(buf));
        uint64_t back;
        check(parse_duration_ns(buf, &back) == 0);
    }

    v = 7;
    rc = parse_u64(s, &v);
    check(rc == 0 || rc == -EINVAL || rc == -ERANGE);
    check(rc == 0 || v == 7);

    v = 7;
    rc = parse_size_bytes(s, &v);
    check(rc == 0 || rc == -EINVAL || rc == -ERANGE);
    check(rc == 0 || v == 7);

    double d = 7.0;
    rc = parse_double(s, &d);
    check(rc == 0 || rc == -EINVAL || rc == -ERANGE);
    check(rc == 0 ? isfinite(d) : d == 7.0);

    /* The formatter over arbitrary doubles taken from the input bytes. */
    if (size >= sizeof(double)) {
        double x;
        memcpy(&x, data, sizeof x);
        char buf[400]; /* "%.0f" of the largest double is 309 digits */
        int n = format_duration_ms(x, buf, sizeof buf);
        check(isfinite(x) ? (n > 0 && (size_t)n == strlen(buf)) : n == -EINVAL);
    }
    free(s);
    return 0;
}
