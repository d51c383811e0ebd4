/*
 * libFuzzer target for the form bodies `brunt serve` reads (POST /auth/login with
 * application/x-www-form-urlencoded): finding a field in "a=1&b=2" and decoding its
 * percent escapes and '+'.  Invariants: a field found points inside the input; decoding
 * returns -EINVAL, -E2BIG, or a length below the output's capacity and at most the
 * encoded length, NUL-terminated; a value without '%' or '+' decodes to itself.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/form/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    static const char *const names[] = {"email", "password", "x", ""};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *v = NULL;
        size_t vl = 0;
        if (!server__query_get(body, size, names[k], &v, &vl)) {
            continue;
        }
        check(v >= body && v + vl <= body + size);
        static const size_t caps[] = {0, 1, 8, 65, 4096};
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            char *out = malloc(caps[c] ? caps[c] : 1);
            check(out != NULL);
            int n = server__form_decode(v, vl, out, caps[c]);
            check(n == -EINVAL || n == -E2BIG ||
                  (n >= 0 && (size_t)n < caps[c] && (size_t)n <= vl));
            if (n >= 0) {
                check(out[n] == '\0');
                if (memchr(v, '%', vl) == NULL && memchr(v, '+', vl) == NULL) {
                    check((size_t)n == vl && memcmp(out, v, vl) == 0);
                }
            }
            free(out);
        }
    }
    return 0;
}
