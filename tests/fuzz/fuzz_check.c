/*
 * libFuzzer target for scenario/check (and scenario/extract's spec compiler).
 *
 * The input, cut at its first NUL, is compiled as a check and as an extraction spec.
 * Invariants: a failure leaves the struct zero-filled with a message; a success
 * evaluates without crashing against a fixed head and JSON body, against the input
 * itself as the body, with no head and no body, and with status 0 (which must fail);
 * a compiled extraction runs on the fixed body and on the input, and what it stores is
 * NUL-terminated at its length.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/check/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/check.h"
#include "scenario/extract.h"

static void check_true(bool ok)
{
    if (!ok) {
        abort();
    }
}

static const char body[] = "{\"accepted\":true,\"amount\":150,\"status\":\"open\",\"items\":[1,"
                           "{\"id\":\"x\\u00e9\"}],\"n\":null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    struct http1_response head;
    memset(&head, 0, sizeof(head));
    head.status = 200;
    head.headers[0] = (struct http1_header){"Content-Type", 12, "application/json", 16};
    head.headers[1] = (struct http1_header){"X-Id", 4, "42", 2};
    head.num_headers = 2;

    struct check c;
    char err[512];
    err[0] = '\0';
    if (check_compile(s, &c, err, sizeof(err)) != 0) {
        check_true(c.source == NULL && c.str == NULL && c.re == NULL);
        check_true(err[0] != '\0');
    } else {
        check_true(c.source != NULL);
        (void)check_eval(&c, 200, 1000000, &head, body, sizeof(body) - 1);
        (void)check_eval(&c, 404, 0, &head, s, size);
        (void)check_eval(&c, 200, 0, NULL, NULL, 0);
        check_true(!check_eval(&c, 0, 0, &head, body, sizeof(body) - 1));
        check_destroy(&c);
    }

    struct extract e;
    struct flow_var v = {0};
    err[0] = '\0';
    if (extract_compile(s, 0, &e, err, sizeof(err)) != 0) {
        check_true(e.source == NULL && e.re == NULL);
        check_true(err[0] != '\0');
    } else {
        if (extract_from_body(&e, body, sizeof(body) - 1, &v) ||
            extract_from_body(&e, s, size, &v) || extract_from_head(&e, &head, &v)) {
            check_true(v.set && v.val != NULL && v.val[v.len] == '\0' && v.len < v.cap);
        }
        extract_destroy(&e);
    }
    free(v.val);
    free(s);
    return 0;
}
