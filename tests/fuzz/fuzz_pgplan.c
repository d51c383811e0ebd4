/*
 * libFuzzer target for pgplan: the input is an EXPLAIN (FORMAT JSON) document.  The
 * walker returns a count or a named error, fills at most its cap, keeps every string
 * NUL-terminated, and each scan's filter yields columns that fit their slots.  The
 * input cut at its first NUL is also fed to pgplan_filter_columns as a filter.
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/pgplan/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/pgplan.h"

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pgplan_scan s[3];
    double root;
    int n = pgplan_seq_scans((const char *)data, size, s, 3, &root);
    check(n >= 0 || n == PGPLAN_EINVAL || n == PGPLAN_EDEPTH);
    for (int i = 0; i < n && i < 3; i++) {
        check(memchr(s[i].relation, '\0', sizeof s[i].relation) != NULL);
        check(memchr(s[i].filter, '\0', sizeof s[i].filter) != NULL);
        char cols[4][64];
        size_t nc = pgplan_filter_columns(s[i].filter, cols, 4);
        check(nc <= 4);
        for (size_t c = 0; c < nc; c++) {
            check(strlen(cols[c]) > 0 && strlen(cols[c]) < 64);
        }
    }
    char *z = malloc(size + 1);
    if (z) {
        memcpy(z, data, size);
        z[size] = '\0';
        char cols[8][64];
        check(pgplan_filter_columns(z, cols, 8) <= 8);
        free(z);
    }
    return 0;
}
