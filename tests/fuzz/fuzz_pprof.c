/*
 * libFuzzer target for pprof_decode (gzip + protobuf-c + the stack builder) and, on
 * what it decodes, the flame writers.  Invariants: a negative result leaves a one-line
 * message; a success adds at most as many stacks as samples, the flame's total is the
 * sum its folded output carries, and the SVG and speedscope writers succeed.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/pprof/ (a Go CPU profile, a Go
 * heap profile, the raw protobuf of one).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame.h"
#include "probe/pprof.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct flame *fg = flame_new();
    struct pprof_info info;
    char err[256] = "";
    if (fg == NULL) {
        return 0;
    }
    int n = pprof_decode(data, size, NULL, fg, &info, err, sizeof err);
    if (n < 0) {
        check(err[0] != '\0' && strchr(err, '\n') == NULL);
    } else {
        check((uint64_t)n <= info.samples);
        struct dynbuf out;
        dynbuf_init(&out, 64u << 20);
        check(flame_write_folded(fg, &out) == 0);
        uint64_t sum = 0;
        for (const char *p = out.data; p != NULL && *p;) {
            const char *nl = strchr(p, '\n');
            const char *sp = nl;
            while (sp > p && sp[-1] != ' ') {
                sp--;
            }
            sum += strtoull(sp, NULL, 10);
            p = nl + 1;
        }
        check(sum == flame_total(fg));
        dynbuf_reset(&out);
        check(flame_write_svg(fg, NULL, &out) == 0);
        dynbuf_destroy(&out);
        struct jsonw w;
        jsonw_init(&w, 0, 64u << 20);
        check(flame_write_speedscope(fg, "f", &w) == 0);
        jsonw_destroy(&w);
    }
    flame_free(fg);
    return 0;
}
