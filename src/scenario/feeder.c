/*
 * feeder — CSV parsing into a cell pool, and lock-free row hand-out.
 *
 * Layout: every cell (the header's included) is stored NUL-terminated, back to back, in
 * one pool; ends[k] is the offset of cell k's NUL, so cell k starts at ends[k - 1] + 1.
 * Cell (row, col) of the data is cell (row + 1) * columns + col.  Unescaping never makes
 * a cell longer than its source and every cell but the last is followed in the source by
 * a separator, so the pool never needs more than the input's length plus one byte and is
 * allocated once.  The shared counter for sequential and unique order is one atomic
 * 64-bit add per row handed out.
 */
#include "scenario/feeder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dynbuf.h"
#include "core/rng.h"
#include "core/text.h"

struct feeder {
    char *name;
    enum feeder_order order;
    enum feeder_scope scope;
    enum feeder_exhausted exhausted;
    size_t n_cols, n_rows;
    char *pool;
    uint32_t *ends;
    _Atomic uint64_t next; /* sequential / unique: the next row, counting every pass */
};

static const char *cell_in(const char *pool, const uint32_t *ends, size_t k, size_t *len)
{
    size_t start = k == 0 ? 0 : (size_t)ends[k - 1] + 1;
    if (len != NULL) {
        *len = ends[k] - start;
    }
    return pool + start;
}

static const char *cell_at(const struct feeder *f, size_t k, size_t *len)
{
    return cell_in(f->pool, f->ends, k, len);
}

/* Parser state for one load. */
struct csv {
    const char *d;
    size_t len, pos;
    size_t line;
    const char *origin;
    char *err;
    size_t err_len;
    char *pool;
    size_t pool_len;
    uint32_t *ends;
    size_t n_cells, cap_cells;
};

static int end_cell(struct csv *p)
{
    if (p->n_cells >= FEEDER_MAX_CELLS) {
        return text_errf(p->err, p->err_len, -E2BIG,
                         "%s:%zu: more than %u cells (expected at most %u)", p->origin, p->line,
                         FEEDER_MAX_CELLS, FEEDER_MAX_CELLS);
    }
    if (p->n_cells == p->cap_cells) {
        size_t ncap = p->cap_cells ? p->cap_cells * 2 : 256;
        uint32_t *e = realloc(p->ends, ncap * sizeof(*e));
        if (e == NULL) {
            return text_errf(p->err, p->err_len, -ENOMEM, "%s: out of memory", p->origin);
        }
        p->ends = e;
        p->cap_cells = ncap;
    }
    p->ends[p->n_cells++] = (uint32_t)p->pool_len;
    p->pool[p->pool_len++] = '\0';
    return 0;
}

/*
 * Parses one record starting at p->pos (not an empty line).  *nfields gets its field
 * count.  expect (0 for the header) is the header's field count: a record with more
 * fails as soon as the extra field starts, so a runaway row fails fast.
 */
static int parse_record(struct csv *p, size_t expect, size_t *nfields)
{
    size_t rec_line = p->line;
    size_t n = 0;
    for (;;) {
        if (expect > 0 && n >= expect) {
            return text_errf(p->err, p->err_len, -EINVAL,
                             "%s:%zu: too many fields (expected %zu as in the header)", p->origin,
                             rec_line, expect);
        }
        if (n >= FEEDER_MAX_COLUMNS) {
            return text_errf(p->err, p->err_len, -E2BIG,
                             "%s:%zu: more than %u fields (expected at most %u columns)", p->origin,
                             rec_line, FEEDER_MAX_COLUMNS, FEEDER_MAX_COLUMNS);
        }
        bool end_of_record = false;
        if (p->pos < p->len && p->d[p->pos] == '"') {
            size_t quote_line = p->line;
            p->pos++;
            for (;;) {
                if (p->pos >= p->len) {
                    return text_errf(p->err, p->err_len, -EINVAL,
                                     "%s:%zu: unterminated quoted field (expected a closing '\"')",
                                     p->origin, quote_line);
                }
                char ch = p->d[p->pos];
                if (ch == '"') {
                    if (p->pos + 1 < p->len && p->d[p->pos + 1] == '"') {
                        p->pool[p->pool_len++] = '"';
                        p->pos += 2;
                        continue;
                    }
                    p->pos++;
                    break;
                }
                if (ch == '\n') {
                    p->line++;
                }
                p->pool[p->pool_len++] = ch;
                p->pos++;
            }
            /* After the closing quote: a separator, a line end or the end of the data. */
            if (p->pos >= p->len) {
                end_of_record = true;
            } else if (p->d[p->pos] == ',') {
                p->pos++;
            } else if (p->d[p->pos] == '\n') {
                p->pos++;
                p->line++;
                end_of_record = true;
            } else if (p->d[p->pos] == '\r' && p->pos + 1 < p->len && p->d[p->pos + 1] == '\n') {
                p->pos += 2;
                p->line++;
                end_of_record = true;
            } else {
                unsigned char bad = (unsigned char)p->d[p->pos];
                char shown[8];
                if (bad >= 0x20 && bad < 0x7f) {
                    snprintf(shown, sizeof(shown), "'%c'", bad);
                } else {
                    snprintf(shown, sizeof(shown), "0x%02x", bad);
                }
                return text_errf(p->err, p->err_len, -EINVAL,
                                 "%s:%zu: unexpected %s after a closing quote (expected ',' or the "
                                 "end of the line)",
                                 p->origin, p->line, shown);
            }
        } else {
            for (;;) {
                if (p->pos >= p->len) {
                    end_of_record = true;
                    break;
                }
                char ch = p->d[p->pos];
                if (ch == ',') {
                    p->pos++;
                    break;
                }
                if (ch == '\n') {
                    p->pos++;
                    p->line++;
                    end_of_record = true;
                    break;
                }
                if (ch == '\r' && p->pos + 1 < p->len && p->d[p->pos + 1] == '\n') {
                    p->pos += 2;
                    p->line++;
                    end_of_record = true;
                    break;
                }
                p->pool[p->pool_len++] = ch;
                p->pos++;
            }
        }
        int rc = end_cell(p);
        if (rc != 0) {
            return rc;
        }
        n++;
        if (end_of_record) {
            *nfields = n;
            return 0;
        }
    }
}

int feeder_load_csv_mem(const char *data, size_t len, const char *origin, const char *name,
                        enum feeder_order order, enum feeder_scope scope,
                        enum feeder_exhausted exhausted, struct feeder **out, char *err,
                        size_t err_len)
{
    struct csv p = {.d = data,
                    .len = len,
                    .line = 1,
                    .origin = origin ? origin : "<memory>",
                    .err = err,
                    .err_len = err_len};
    struct feeder *f = NULL;
    int rc;
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    if (len > FEEDER_MAX_BYTES) {
        rc = text_errf(err, err_len, -E2BIG, "%s: %zu bytes (expected at most %u MiB)", p.origin,
                       len, FEEDER_MAX_BYTES >> 20);
        goto fail;
    }
    p.pool = malloc(len + 1);
    if (p.pool == NULL) {
        rc = text_errf(err, err_len, -ENOMEM, "%s: out of memory", p.origin);
        goto fail;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        p.pos = 3;
    }
    size_t n_cols = 0, n_rows = 0;
    while (p.pos < p.len) {
        if (p.d[p.pos] == '\n') {
            p.pos++;
            p.line++;
            continue;
        }
        if (p.d[p.pos] == '\r' && p.pos + 1 < p.len && p.d[p.pos + 1] == '\n') {
            p.pos += 2;
            p.line++;
            continue;
        }
        size_t rec_line = p.line, nf = 0;
        if ((rc = parse_record(&p, n_cols, &nf)) != 0) {
            goto fail;
        }
        if (n_cols == 0) {
            n_cols = nf;
            for (size_t i = 0; i < n_cols; i++) {
                size_t li;
                const char *ci = cell_in(p.pool, p.ends, i, &li);
                if (li == 0) {
                    rc = text_errf(err, err_len, -EINVAL,
                                   "%s:%zu: column %zu of the header is empty (expected a column "
                                   "name)",
                                   p.origin, rec_line, i + 1);
                    goto fail;
                }
                if (memchr(ci, '\0', li) != NULL) {
                    rc = text_errf(err, err_len, -EINVAL,
                                   "%s:%zu: column %zu of the header holds a NUL byte (expected a "
                                   "column name)",
                                   p.origin, rec_line, i + 1);
                    goto fail;
                }
                for (size_t j = 0; j < i; j++) {
                    size_t lj;
                    const char *cj = cell_in(p.pool, p.ends, j, &lj);
                    if (li == lj && memcmp(ci, cj, li) == 0) {
                        rc = text_errf(
                            err, err_len, -EINVAL,
                            "%s:%zu: column %zu of the header repeats the name '%.*s' of "
                            "column %zu (expected distinct names)",
                            p.origin, rec_line, i + 1, (int)(li > 64 ? 64 : li), ci, j + 1);
                        goto fail;
                    }
                }
            }
            continue;
        }
        if (nf != n_cols) {
            rc = text_errf(err, err_len, -EINVAL,
                           "%s:%zu: %zu field%s, expected %zu as in the header", p.origin, rec_line,
                           nf, nf == 1 ? "" : "s", n_cols);
            goto fail;
        }
        if (++n_rows > FEEDER_MAX_ROWS) {
            rc = text_errf(err, err_len, -E2BIG, "%s:%zu: more than %u rows (expected at most %u)",
                           p.origin, rec_line, FEEDER_MAX_ROWS, FEEDER_MAX_ROWS);
            goto fail;
        }
    }
    if (n_cols == 0) {
        rc = text_errf(err, err_len, -EINVAL,
                       "%s:1: no header (expected a first line naming the columns)", p.origin);
        goto fail;
    }
    if (n_rows == 0) {
        rc = text_errf(err, err_len, -EINVAL,
                       "%s:%zu: no data rows (expected at least one row after the header)",
                       p.origin, p.line);
        goto fail;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->name = strdup(name ? name : "")) == NULL) {
        rc = text_errf(err, err_len, -ENOMEM, "%s: out of memory", p.origin);
        goto fail;
    }
    f->order = order;
    f->scope = scope;
    f->exhausted = exhausted;
    f->n_cols = n_cols;
    f->n_rows = n_rows;
    f->pool = p.pool;
    f->ends = p.ends;
    atomic_init(&f->next, 0);
    /* Give back what the pool and index over-allocated; failure to shrink is harmless. */
    char *shrunk = realloc(f->pool, p.pool_len ? p.pool_len : 1);
    if (shrunk != NULL) {
        f->pool = shrunk;
    }
    uint32_t *e = realloc(f->ends, p.n_cells * sizeof(*e));
    if (e != NULL) {
        f->ends = e;
    }
    *out = f;
    return 0;

fail:
    if (f != NULL) {
        free(f->name);
        free(f);
    }
    free(p.pool);
    free(p.ends);
    return rc;
}

int feeder_load_csv(const char *path, const char *name, enum feeder_order order,
                    enum feeder_scope scope, enum feeder_exhausted exhausted, struct feeder **out,
                    char *err, size_t err_len)
{
    struct dynbuf b;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    dynbuf_init(&b, FEEDER_MAX_BYTES);
    if (fd < 0) {
        rc = -errno;
        text_errf(err, err_len, rc, "%s: %s", path, strerror(-rc));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > FEEDER_MAX_BYTES) {
            rc = text_errf(err, err_len, -E2BIG, "%s: %lld bytes (expected at most %u MiB)", path,
                           (long long)st.st_size, FEEDER_MAX_BYTES >> 20);
            goto fail;
        }
        if (dynbuf_reserve(&b, (size_t)st.st_size) != 0) {
            rc = text_errf(err, err_len, -ENOMEM, "%s: out of memory", path);
            goto fail;
        }
    }
    for (;;) {
        if (b.len == b.max) {
            char extra;
            ssize_t n = read(fd, &extra, 1);
            if (n > 0) {
                rc = text_errf(err, err_len, -E2BIG,
                               "%s: larger than %u MiB (expected at most that)", path,
                               FEEDER_MAX_BYTES >> 20);
                goto fail;
            }
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                rc = -errno;
                text_errf(err, err_len, rc, "%s: %s", path, strerror(-rc));
                goto fail;
            }
            break;
        }
        size_t want = b.max - b.len < 65536 ? b.max - b.len : 65536;
        if (b.cap < b.len + want + 1 && dynbuf_reserve(&b, want) != 0) {
            rc = text_errf(err, err_len, -ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            text_errf(err, err_len, rc, "%s: %s", path, strerror(-rc));
            goto fail;
        }
        if (n == 0) {
            break;
        }
        b.len += (size_t)n;
        b.data[b.len] = '\0';
    }
    close(fd);
    fd = -1;
    rc = feeder_load_csv_mem(b.data, b.len, path, name, order, scope, exhausted, out, err, err_len);
fail:
    if (fd >= 0) {
        close(fd);
    }
    dynbuf_destroy(&b);
    return rc;
}

const char *feeder_name(const struct feeder *f)
{
    return f->name;
}

enum feeder_order feeder_order(const struct feeder *f)
{
    return f->order;
}

enum feeder_scope feeder_scope(const struct feeder *f)
{
    return f->scope;
}

enum feeder_exhausted feeder_exhausted(const struct feeder *f)
{
    return f->exhausted;
}

int feeder_column(const struct feeder *f, const char *column)
{
    size_t n = strlen(column);
    for (size_t i = 0; i < f->n_cols; i++) {
        size_t li;
        const char *c = cell_at(f, i, &li);
        if (li == n && memcmp(c, column, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *feeder_column_name(const struct feeder *f, int i)
{
    if (i < 0 || (size_t)i >= f->n_cols) {
        return NULL;
    }
    return cell_at(f, (size_t)i, NULL);
}

size_t feeder_columns(const struct feeder *f)
{
    return f->n_cols;
}

size_t feeder_rows(const struct feeder *f)
{
    return f->n_rows;
}

int64_t feeder_next(struct feeder *f, uint64_t *rng)
{
    if (f->order == FEEDER_RANDOM && rng != NULL) {
        return (int64_t)rng_range(rng, 0, f->n_rows - 1);
    }
    uint64_t k = atomic_fetch_add_explicit(&f->next, 1, memory_order_relaxed);
    if (k < f->n_rows) {
        return (int64_t)k;
    }
    if (f->exhausted == FEEDER_RECYCLE || f->order == FEEDER_RANDOM) {
        return (int64_t)(k % f->n_rows);
    }
    return -1;
}

const char *feeder_cell(const struct feeder *f, int64_t row, int col, size_t *len)
{
    if (row < 0 || (uint64_t)row >= f->n_rows || col < 0 || (size_t)col >= f->n_cols) {
        if (len != NULL) {
            *len = 0;
        }
        return NULL;
    }
    return cell_at(f, ((size_t)row + 1) * f->n_cols + (size_t)col, len);
}

void feeder_rewind(struct feeder *f)
{
    atomic_store_explicit(&f->next, 0, memory_order_relaxed);
}

void feeder_free(struct feeder *f)
{
    if (f == NULL) {
        return;
    }
    free(f->name);
    free(f->pool);
    free(f->ends);
    free(f);
}
