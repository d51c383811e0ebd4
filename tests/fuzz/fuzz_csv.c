/*
 * libFuzzer target for scenario/feeder's CSV reader.
 *
 * The input is loaded as CSV from memory.  Invariants: a failure leaves *out NULL and
 * writes a "<origin>:<line>: ..." message; a success has at least one column and one
 * row, named distinct non-empty columns that feeder_column finds again, every cell
 * reachable with a NUL at its length, out-of-range cells NULL; sequential rows in order
 * and then -1 with FEEDER_STOP_VU; random rows in range.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/csv/.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/feeder.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feeder *f = NULL;
    char err[512];
    err[0] = '\0';
    int rc = feeder_load_csv_mem((const char *)data, size, "fuzz.csv", "f", FEEDER_SEQUENTIAL,
                                 FEEDER_PER_ITERATION, FEEDER_STOP_VU, &f, err, sizeof(err));
    if (rc != 0) {
        check(rc < 0);
        check(f == NULL);
        check(strncmp(err, "fuzz.csv", 8) == 0);
        return 0;
    }
    size_t cols = feeder_columns(f), rows = feeder_rows(f);
    check(cols >= 1 && cols <= FEEDER_MAX_COLUMNS);
    check(rows >= 1 && rows <= size);
    for (size_t c = 0; c < cols; c++) {
        const char *name = feeder_column_name(f, (int)c);
        check(name != NULL && name[0] != '\0');
        int found = feeder_column(f, name);
        check(found >= 0 && (size_t)found <= c);
    }
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            size_t n = 12345;
            const char *cell = feeder_cell(f, (int64_t)r, (int)c, &n);
            check(cell != NULL && n <= size && cell[n] == '\0');
        }
    }
    check(feeder_cell(f, (int64_t)rows, 0, NULL) == NULL);
    check(feeder_cell(f, 0, (int)cols, NULL) == NULL);
    for (size_t r = 0; r < rows && r < 1000; r++) {
        check(feeder_next(f, NULL) == (int64_t)r);
    }
    if (rows <= 1000) {
        check(feeder_next(f, NULL) == -1);
    }
    feeder_free(f);

    /* The same data in random order: rows stay in range. */
    rc = feeder_load_csv_mem((const char *)data, size, "fuzz.csv", "f", FEEDER_RANDOM,
                             FEEDER_PER_VU, FEEDER_RECYCLE, &f, NULL, 0);
    check(rc == 0);
    uint64_t rng = size;
    for (int i = 0; i < 16; i++) {
        int64_t r = feeder_next(f, &rng);
        check(r >= 0 && (size_t)r < rows);
    }
    feeder_free(f);
    return 0;
}
