/*
 * libFuzzer target for flame_parse_folded and the writers.  Invariants: a malformed line
 * gives -EINVAL with "line N: ..." in err; what parsed writes back as folded text that
 * parses again to the same text (a fixed point), with the same total; the SVG writer
 * succeeds and its names are escaped (no raw '<' inside a <title>).
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/folded/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flame *a = flame_new(), *b = flame_new();
    char err[256] = "";
    struct dynbuf x, y;
    dynbuf_init(&x, 64u << 20);
    dynbuf_init(&y, 64u << 20);
    if (a == NULL || b == NULL) {
        goto out;
    }
    int n = flame_parse_folded(a, (const char *)data, size, err, sizeof err);
    if (n == -EINVAL) {
        check(strncmp(err, "line ", 5) == 0);
    }
    check(flame_write_folded(a, &x) == 0);
    int m = flame_parse_folded(b, x.data != NULL ? x.data : "", x.len, err, sizeof err);
    check(m >= 0);
    check(flame_total(a) == flame_total(b));
    check(flame_write_folded(b, &y) == 0);
    check(x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0));
    dynbuf_reset(&x);
    check(flame_write_svg(a, NULL, &x) == 0);
    for (const char *t = x.data; (t = strstr(t, "<title>")) != NULL; t++) {
        const char *end = strstr(t, "</title>");
        check(end != NULL);
        check(memchr(t + 7, '<', (size_t)(end - t - 7)) == NULL);
    }
out:
    dynbuf_destroy(&x);
    dynbuf_destroy(&y);
    flame_free(a);
    flame_free(b);
    return 0;
}
