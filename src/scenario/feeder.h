/*
 * feeder — CSV data feeders: a file read once at load, whose rows are handed out to
 * virtual users at run time (k6's SharedArray + scenario data, Gatling's feeders).
 *
 * The whole file is parsed at load into one pool of NUL-terminated cells plus an index
 * (4 bytes per cell), so run time does no parsing and no allocation: feeder_next is one
 * atomic add (or a PRNG draw) and feeder_cell is an array lookup.
 *
 * CSV, as RFC 4180 with the usual leniencies: fields separated by ','; a field may be
 * "quoted", in which case it may hold commas, newlines and "" for a quote; records end
 * with CRLF or LF (a lone CR is data); the last newline is optional; a UTF-8 byte-order
 * mark at the start is dropped; the first record is the header naming the columns
 * (names must be non-empty, distinct and free of NUL bytes); every other record must have as many fields
 * as the header; empty lines are skipped (so a one-column file cannot hold an empty
 * value: quote it, ""); a '"' inside an unquoted field is kept as data.  Caps:
 * FEEDER_MAX_BYTES of input, FEEDER_MAX_ROWS data rows, FEEDER_MAX_COLUMNS columns,
 * FEEDER_MAX_CELLS cells.  At least one data row is required.
 *
 * Handing out rows (feeder_next):
 *   sequential  one round robin shared by all VUs of all workers (an atomic counter):
 *               rows 0, 1, 2, ... in order of the calls
 *   random      a uniformly random row from the caller's PRNG; never runs out
 *   unique      the same shared counter: no row is handed out twice while rows last
 * When sequential or unique rows run out: FEEDER_RECYCLE starts again from row 0 (rows
 * then repeat, so `unique` is unique only within each pass), FEEDER_STOP_VU and
 * FEEDER_ABORT make feeder_next return -1 (the flow stops the VU or aborts the run).
 * Whether a VU takes a row per iteration or once (feeder_scope) is the flow's business;
 * the feeder only stores it.
 *
 * Threads: load and free from one thread; feeder_next and the getters from any number of
 * threads at once.
 */
#ifndef BRUNT_SCENARIO_FEEDER_H
#define BRUNT_SCENARIO_FEEDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEEDER_MAX_BYTES (256u * 1024 * 1024)
#define FEEDER_MAX_ROWS 10000000u
#define FEEDER_MAX_COLUMNS 1024u
#define FEEDER_MAX_CELLS (64u * 1024 * 1024)

enum feeder_order { FEEDER_SEQUENTIAL, FEEDER_RANDOM, FEEDER_UNIQUE };
enum feeder_scope { FEEDER_PER_ITERATION, FEEDER_PER_VU };
enum feeder_exhausted {
    FEEDER_RECYCLE, /* start over: rows repeat */
    FEEDER_STOP_VU, /* feeder_next returns -1: the flow stops the VU */
    FEEDER_ABORT,   /* feeder_next returns -1: the flow aborts the run */
};

struct feeder;

/*
 * Reads the CSV file at path (at most FEEDER_MAX_BYTES) into a new feeder called name
 * (copied).  Returns 0 with *out set, or a negative errno with *out untouched and a
 * one-line message in err (when err_len > 0): -errno when the file cannot be opened or
 * read ("users.csv: No such file or directory"), -EINVAL for malformed CSV
 * ("users.csv:7: unterminated quoted field (expected a closing '\"')", "users.csv:3: 2
 * fields, expected 3 as in the header"), -E2BIG past a cap, -ENOMEM.  Line numbers are
 * 1-based and name the line where the offending record (or quote) starts.  Load time.
 */
int feeder_load_csv(const char *path, const char *name, enum feeder_order order,
                    enum feeder_scope scope, enum feeder_exhausted exhausted, struct feeder **out,
                    char *err, size_t err_len);

/* The same from data[0..len) in memory (tests, fuzzing); origin names it in errors. */
int feeder_load_csv_mem(const char *data, size_t len, const char *origin, const char *name,
                        enum feeder_order order, enum feeder_scope scope,
                        enum feeder_exhausted exhausted, struct feeder **out, char *err,
                        size_t err_len);

const char *feeder_name(const struct feeder *f);
enum feeder_order feeder_order(const struct feeder *f);
enum feeder_scope feeder_scope(const struct feeder *f);
enum feeder_exhausted feeder_exhausted(const struct feeder *f);

/* The index of the column named column (exact, case-sensitive), or -1. */
int feeder_column(const struct feeder *f, const char *column);
/* The name of column i, or NULL when out of range. */
const char *feeder_column_name(const struct feeder *f, int i);
size_t feeder_columns(const struct feeder *f);
/* Data rows (the header not counted); always >= 1. */
size_t feeder_rows(const struct feeder *f);

/*
 * The next row for a VU (see the file comment): a row index in [0, feeder_rows), or -1
 * when sequential/unique rows ran out and the feeder does not recycle.  rng is the VU's
 * PRNG state (used by random order only; may be NULL otherwise).  Thread-safe, lock-free.
 */
int64_t feeder_next(struct feeder *f, uint64_t *rng);

/*
 * The cell at (row, col): a NUL-terminated string owned by the feeder, valid until
 * feeder_free, with its length in *len (when len is not NULL; a quoted cell may hold NUL
 * bytes, so prefer the length).  NULL (and *len 0) when row or col is out of range.
 */
const char *feeder_cell(const struct feeder *f, int64_t row, int col, size_t *len);

/* Rewinds the shared counter to row 0 (tests, or a new run reusing the feeder). */
void feeder_rewind(struct feeder *f);
/* Whether a VU asked f for a row after its last one (never for recycle or random). */
bool feeder_ran_out(const struct feeder *f);

/* Frees f; NULL does nothing. */
void feeder_free(struct feeder *f);

#endif
