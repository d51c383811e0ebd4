/*
 * Tests for scenario/feeder: the CSV parsing table (quotes, embedded newlines and commas,
 * CRLF, BOM, empty fields, errors with line numbers), the three orders, and the unique
 * order under four threads taking rows at once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario/feeder.h"

static struct feeder *load(const char *csv, size_t len, enum feeder_order order,
                           enum feeder_exhausted ex)
{
    struct feeder *f = NULL;
    char err[256] = "";
    int rc = feeder_load_csv_mem(csv, len, "t.csv", "t", order, FEEDER_PER_ITERATION, ex, &f, err,
                                 sizeof(err));
    cr_assert_eq(rc, 0, "load failed: %d %s", rc, err);
    return f;
}

/* Expected cells, row-major, after the header; NULL ends a table row. */
struct parse_case {
    const char *name;
    const char *csv;
    size_t len; /* 0: strlen */
    const char *header[4];
    size_t rows;
    const char *cells[12];
};

static const struct parse_case parse_cases[] = {
    {"plain", "a,b\n1,2\n3,4\n", 0, {"a", "b"}, 2, {"1", "2", "3", "4"}},
    {"no trailing newline", "a,b\n1,2", 0, {"a", "b"}, 1, {"1", "2"}},
    {"crlf", "a,b\r\n1,2\r\n3,4\r\n", 0, {"a", "b"}, 2, {"1", "2", "3", "4"}},
    {"bom", "\xef\xbb\xbfid,v\n1,x\n", 0, {"id", "v"}, 1, {"1", "x"}},
    {"quoted comma", "a,b\n\"x,y\",z\n", 0, {"a", "b"}, 1, {"x,y", "z"}},
    {"quoted newline", "a,b\n\"line1\nline2\",z\n", 0, {"a", "b"}, 1, {"line1\nline2", "z"}},
    {"doubled quote", "a\n\"say \"\"hi\"\"\"\n", 0, {"a"}, 1, {"say \"hi\""}},
    {"empty fields", "a,b,c\n,,\n1,,3\n", 0, {"a", "b", "c"}, 2, {"", "", "", "1", "", "3"}},
    {"empty quoted", "a,b\n\"\",x\n", 0, {"a", "b"}, 1, {"", "x"}},
    {"trailing empty at eof", "a,b\n1,", 0, {"a", "b"}, 1, {"1", ""}},
    {"blank lines skipped", "a,b\n\n1,2\n\r\n3,4\n\n", 0, {"a", "b"}, 2, {"1", "2", "3", "4"}},
    {"lone cr is data", "a\nx\ry\n", 0, {"a"}, 1, {"x\ry"}},
    {"quote inside unquoted", "a\nab\"c\n", 0, {"a"}, 1, {"ab\"c"}},
    {"quoted header", "\"first name\",b\nAnn,1\n", 0, {"first name", "b"}, 1, {"Ann", "1"}},
    {"quoted crlf inside", "a\n\"x\r\ny\"\r\n", 0, {"a"}, 1, {"x\r\ny"}},
    {"utf-8", "nom\ncaf\xc3\xa9\n", 0, {"nom"}, 1, {"caf\xc3\xa9"}},
    {"nul inside quotes", "a\n\"x\0y\"\n", 8, {"a"}, 1, {"x"}},
};

Test(feeder, parse_table)
{
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *pc = &parse_cases[i];
        size_t len = pc->len ? pc->len : strlen(pc->csv);
        struct feeder *f = load(pc->csv, len, FEEDER_SEQUENTIAL, FEEDER_RECYCLE);
        size_t ncols = 0;
        while (ncols < 4 && pc->header[ncols] != NULL) {
            ncols++;
        }
        cr_expect_eq(feeder_columns(f), ncols, "%s: %zu columns vs %zu", pc->name,
                     feeder_columns(f), ncols);
        cr_expect_eq(feeder_rows(f), pc->rows, "%s: %zu rows vs %zu", pc->name, feeder_rows(f),
                     pc->rows);
        for (size_t c = 0; c < ncols; c++) {
            cr_expect_str_eq(feeder_column_name(f, (int)c), pc->header[c], "%s: column %zu",
                             pc->name, c);
            cr_expect_eq(feeder_column(f, pc->header[c]), (int)c, "%s", pc->name);
        }
        for (size_t r = 0; r < pc->rows; r++) {
            for (size_t c = 0; c < ncols; c++) {
                size_t n;
                const char *cell = feeder_cell(f, (int64_t)r, (int)c, &n);
                cr_assert_not_null(cell, "%s: cell %zu,%zu", pc->name, r, c);
                cr_expect_str_eq(cell, pc->cells[r * ncols + c], "%s: cell %zu,%zu", pc->name, r,
                                 c);
            }
        }
        feeder_free(f);
    }
}

Test(feeder, nul_byte_in_cell_keeps_length)
{
    const char csv[] = "a\n\"x\0y\"\n";
    struct feeder *f = load(csv, sizeof(csv) - 1, FEEDER_SEQUENTIAL, FEEDER_RECYCLE);
    size_t n;
    const char *cell = feeder_cell(f, 0, 0, &n);
    cr_expect_eq(n, 3, "len %zu vs 3", n);
    cr_expect_eq(memcmp(cell, "x\0y", 3), 0);
    feeder_free(f);
}

Test(feeder, out_of_range_cells_and_columns)
{
    struct feeder *f = load("a,b\n1,2\n", 8, FEEDER_SEQUENTIAL, FEEDER_RECYCLE);
    size_t n = 99;
    cr_expect_null(feeder_cell(f, 1, 0, &n));
    cr_expect_eq(n, 0);
    cr_expect_null(feeder_cell(f, -1, 0, NULL));
    cr_expect_null(feeder_cell(f, 0, 2, NULL));
    cr_expect_null(feeder_cell(f, 0, -1, NULL));
    cr_expect_eq(feeder_column(f, "c"), -1);
    cr_expect_null(feeder_column_name(f, 2));
    cr_expect_str_eq(feeder_name(f), "t");
    cr_expect_eq(feeder_scope(f), FEEDER_PER_ITERATION);
    cr_expect_eq(feeder_exhausted(f), FEEDER_RECYCLE);
    cr_expect_eq(feeder_order(f), FEEDER_SEQUENTIAL);
    feeder_free(f);
    feeder_free(NULL);
}

struct err_case {
    const char *csv;
    int rc;
    const char *want;
    size_t len; /* 0: strlen */
};

static const struct err_case err_cases[] = {
    {"", -EINVAL, "t.csv:1: no header"},
    {"\n\n", -EINVAL, "t.csv:1: no header"},
    {"a,b\n", -EINVAL, "t.csv:2: no data rows"},
    {"a,b\n1,2\n3\n", -EINVAL, "t.csv:3: 1 field, expected 2 as in the header"},
    {"a,b\n1,2,3\n", -EINVAL, "t.csv:2: too many fields (expected 2 as in the header)"},
    {"a\n1\n\"open\nstill\n", -EINVAL,
     "t.csv:3: unterminated quoted field (expected a closing '\"')"},
    {"a,b\n\"x\"y,2\n", -EINVAL,
     "t.csv:2: unexpected 'y' after a closing quote (expected ',' or the end of the line)"},
    {"a,,c\n1,2,3\n", -EINVAL, "t.csv:1: column 2 of the header is empty"},
    {"a,b,a\n1,2,3\n", -EINVAL, "t.csv:1: column 3 of the header repeats the name 'a' of column 1"},
    {"a,\"b\0\"\n1,2\n", -EINVAL, "t.csv:1: column 2 of the header holds a NUL byte", 11},
    {"a\r\n\"x\ny\"\r\n1,2\r\n", -EINVAL, "t.csv:4: too many fields (expected 1 as in the header)"},
};

Test(feeder, errors_name_line_and_expectation)
{
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        struct feeder *f = NULL;
        char err[256] = "";
        size_t len = err_cases[i].len ? err_cases[i].len : strlen(err_cases[i].csv);
        int rc = feeder_load_csv_mem(err_cases[i].csv, len, "t.csv", "t", FEEDER_SEQUENTIAL,
                                     FEEDER_PER_VU, FEEDER_RECYCLE, &f, err, sizeof(err));
        cr_expect_eq(rc, err_cases[i].rc, "case %zu: rc %d vs %d (%s)", i, rc, err_cases[i].rc,
                     err);
        cr_expect_null(f);
        cr_expect(strstr(err, err_cases[i].want) != NULL, "case %zu: got \"%s\", want \"%s\"", i,
                  err, err_cases[i].want);
    }
}

Test(feeder, too_many_columns_is_refused)
{
    size_t n = (FEEDER_MAX_COLUMNS + 1) * 2;
    char *csv = malloc(n + 8);
    size_t k = 0;
    for (size_t i = 0; i <= FEEDER_MAX_COLUMNS; i++) {
        csv[k++] = (char)('a' + i % 26);
        csv[k++] = ',';
    }
    csv[k - 1] = '\n';
    struct feeder *f = NULL;
    char err[256];
    int rc = feeder_load_csv_mem(csv, k, "w.csv", "w", FEEDER_SEQUENTIAL, FEEDER_PER_VU,
                                 FEEDER_RECYCLE, &f, err, sizeof(err));
    cr_expect_eq(rc, -E2BIG, "rc %d vs %d: %s", rc, -E2BIG, err);
    cr_expect(strstr(err, "w.csv:1: more than 1024 fields") != NULL, "%s", err);
    free(csv);
}

Test(feeder, load_from_file_and_missing_file)
{
    char path[] = "/tmp/brunt-feeder-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char csv[] = "email,pw\nu1@x,p1\nu2@x,p2\n";
    cr_assert_eq(write(fd, csv, sizeof(csv) - 1), (ssize_t)(sizeof(csv) - 1));
    close(fd);
    struct feeder *f = NULL;
    char err[256] = "";
    int rc = feeder_load_csv(path, "users", FEEDER_UNIQUE, FEEDER_PER_VU, FEEDER_STOP_VU, &f, err,
                             sizeof(err));
    cr_assert_eq(rc, 0, "%d %s", rc, err);
    cr_expect_eq(feeder_rows(f), 2);
    cr_expect_str_eq(feeder_cell(f, 1, 1, NULL), "p2");
    feeder_free(f);
    unlink(path);
    f = NULL;
    rc = feeder_load_csv(path, "users", FEEDER_UNIQUE, FEEDER_PER_VU, FEEDER_STOP_VU, &f, err,
                         sizeof(err));
    cr_expect_eq(rc, -ENOENT, "rc %d vs %d", rc, -ENOENT);
    cr_expect_null(f);
    cr_expect(strstr(err, path) != NULL && strstr(err, "No such file") != NULL, "%s", err);
}

Test(feeder, sequential_wraps_around_when_recycling)
{
    struct feeder *f = load("a\nx\ny\nz\n", 8, FEEDER_SEQUENTIAL, FEEDER_RECYCLE);
    int64_t want[] = {0, 1, 2, 0, 1, 2, 0};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t r = feeder_next(f, NULL);
        cr_expect_eq(r, want[i], "call %zu: row %lld vs %lld", i, (long long)r, (long long)want[i]);
    }
    feeder_rewind(f);
    cr_expect_eq(feeder_next(f, NULL), 0);
    feeder_free(f);
}

Test(feeder, sequential_stops_when_not_recycling)
{
    struct feeder *f = load("a\nx\ny\n", 6, FEEDER_SEQUENTIAL, FEEDER_ABORT);
    cr_expect_eq(feeder_next(f, NULL), 0);
    cr_expect_eq(feeder_next(f, NULL), 1);
    cr_expect_eq(feeder_next(f, NULL), -1);
    cr_expect_eq(feeder_next(f, NULL), -1);
    feeder_free(f);
}

Test(feeder, random_stays_in_range_and_covers_rows)
{
    struct feeder *f = load("a\n0\n1\n2\n3\n4\n", 12, FEEDER_RANDOM, FEEDER_STOP_VU);
    uint64_t rng = 99;
    bool seen[5] = {false};
    for (int i = 0; i < 1000; i++) {
        int64_t r = feeder_next(f, &rng);
        cr_assert(r >= 0 && r < 5, "row %lld out of range", (long long)r);
        seen[r] = true;
    }
    for (int k = 0; k < 5; k++) {
        cr_expect(seen[k], "row %d never drawn", k);
    }
    feeder_free(f);
}

#define UNIQUE_ROWS 20000
#define UNIQUE_THREADS 4

struct taker {
    struct feeder *f;
    _Atomic int *counts;
    atomic_int *go;
    size_t taken;
    int64_t after_end;
};

static void *take_rows(void *arg)
{
    struct taker *t = arg;
    while (atomic_load(t->go) == 0) {
        /* spin until every thread is ready, so they really race */
    }
    for (;;) {
        int64_t r = feeder_next(t->f, NULL);
        if (r < 0) {
            t->after_end = feeder_next(t->f, NULL);
            return NULL;
        }
        if (r < UNIQUE_ROWS) {
            atomic_fetch_add(&t->counts[r], 1);
        }
        t->taken++;
    }
}

Test(feeder, unique_hands_out_every_row_once_across_threads)
{
    size_t cap = 16 + (size_t)UNIQUE_ROWS * 8;
    char *csv = malloc(cap);
    size_t k = (size_t)snprintf(csv, cap, "id\n");
    for (int i = 0; i < UNIQUE_ROWS; i++) {
        k += (size_t)snprintf(csv + k, cap - k, "%d\n", i);
    }
    struct feeder *f = load(csv, k, FEEDER_UNIQUE, FEEDER_STOP_VU);
    free(csv);
    cr_assert_eq(feeder_rows(f), UNIQUE_ROWS);
    _Atomic int *counts = calloc(UNIQUE_ROWS, sizeof(*counts));
    atomic_int go = 0;
    pthread_t th[UNIQUE_THREADS];
    struct taker tk[UNIQUE_THREADS];
    for (int i = 0; i < UNIQUE_THREADS; i++) {
        tk[i] = (struct taker){.f = f, .counts = counts, .go = &go};
        cr_assert_eq(pthread_create(&th[i], NULL, take_rows, &tk[i]), 0);
    }
    atomic_store(&go, 1);
    size_t total = 0;
    for (int i = 0; i < UNIQUE_THREADS; i++) {
        pthread_join(th[i], NULL);
        total += tk[i].taken;
        cr_expect_eq(tk[i].after_end, -1, "thread %d got %lld after the end", i,
                     (long long)tk[i].after_end);
    }
    cr_expect_eq(total, UNIQUE_ROWS, "%zu rows handed out vs %d", total, UNIQUE_ROWS);
    for (int r = 0; r < UNIQUE_ROWS; r++) {
        int c = atomic_load(&counts[r]);
        cr_assert_eq(c, 1, "row %d handed out %d times", r, c);
    }
    /* The row index is the row's content. */
    cr_expect_str_eq(feeder_cell(f, 12345, 0, NULL), "12345");
    cr_expect_eq(feeder_next(f, NULL), -1);
    free(counts);
    feeder_free(f);
}
