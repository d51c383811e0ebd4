/*
 * libFuzzer target for the cookie jar (scenario/cookie.h): a Set-Cookie value parsed,
 * stored for a request host and path, and sent back.  Invariants: every span the parser
 * returns points inside the input; the name is non-empty and has no control byte; the
 * jar never holds more than COOKIE_JAR_MAX cookies; the Cookie header it writes has no
 * CR or LF; dates parse without overflow.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/cookie/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/cookie.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool inside(const char *p, size_t n, const char *base, size_t size)
{
    return p == NULL || (p >= base && p + n <= base + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct cookie_set cs;
    if (cookie_parse(s, size, &cs) == 0) {
        check(cs.name_len > 0 && inside(cs.name, cs.name_len, s, size));
        check(inside(cs.value, cs.value_len, s, size));
        check(inside(cs.domain, cs.domain_len, s, size));
        check(inside(cs.path, cs.path_len, s, size));
        for (size_t i = 0; i < cs.name_len; i++) {
            check((unsigned char)cs.name[i] >= 0x20);
        }
    }
    int64_t t;
    (void)cookie_parse_date(s, size, &t);
    static struct cookie_jar jar;
    /* Store it a few times under different hosts and paths, then read it back. */
    static const char *const hosts[] = {"example.com", "a.example.com", "127.0.0.1"};
    for (size_t h = 0; h < 3; h++) {
        check(cookie_jar_store(&jar, s, size, hosts[h], "/a/b?q", 6, 1700000000) == 0);
        check(jar.n <= COOKIE_JAR_MAX);
    }
    struct dynbuf out;
    dynbuf_init(&out, 1 << 20);
    int n = cookie_jar_header(&jar, "a.example.com", "/a/b/c", 6, false, 1700000000, &out);
    check(n >= 0);
    for (size_t i = 0; i < out.len; i++) {
        check(out.data[i] != '\r' && out.data[i] != '\n');
    }
    dynbuf_destroy(&out);
    if (jar.n >= COOKIE_JAR_MAX / 2) {
        cookie_jar_clear(&jar);
    }
    return 0;
}
