/*
 * dynbuf — a growable byte buffer with a hard cap (the shape of curl's DYNBUF).
 *
 * Every buffer whose size is set by input (a response body, a result file, a request
 * built from templates) gets a maximum when it is initialised, and an append that would
 * take it past that maximum fails with -E2BIG instead of growing without bound.  The
 * data is always NUL-terminated once anything has been added, so it can be handed to
 * string functions; the NUL is not counted in len and does not count against max.
 *
 * A zero-filled struct with only max set (which is what dynbuf_init does) is valid and
 * holds no memory.  Growth doubles the capacity, so appends are amortised O(1).  A
 * failed append leaves the buffer as it was.  Not thread-safe; one owner at a time.
 * Left out: removing bytes from the front (consumers keep their own offset).
 */
#ifndef BRUNT_CORE_DYNBUF_H
#define BRUNT_CORE_DYNBUF_H

#include <stdarg.h>
#include <stddef.h>

struct dynbuf {
    char *data; /* NULL until the first add/reserve; NUL-terminated when non-NULL */
    size_t len; /* bytes held, not counting the terminating NUL */
    size_t cap; /* bytes allocated (at least len + 1 when data != NULL) */
    size_t max; /* the hard cap on len */
};

/* Initialises an empty buffer that may hold at most max_bytes bytes.  Allocates nothing. */
void dynbuf_init(struct dynbuf *b, size_t max_bytes);

/* Frees the memory and leaves the buffer empty (max is kept, so it may be reused). */
void dynbuf_destroy(struct dynbuf *b);

/* Sets len to 0 and keeps the memory; data (if any) becomes "". */
void dynbuf_reset(struct dynbuf *b);

/*
 * Appends n bytes from p (p may be NULL when n == 0).  Returns 0, -ENOMEM, or -E2BIG
 * when len + n would exceed max.  On failure the buffer is unchanged.  Any successful
 * add may move data, so pointers into it are invalidated.
 */
int dynbuf_add(struct dynbuf *b, const void *p, size_t n);

/* Appends one byte; same returns as dynbuf_add. */
int dynbuf_addc(struct dynbuf *b, char c);

/* Appends a NUL-terminated string (without its NUL); same returns as dynbuf_add. */
int dynbuf_adds(struct dynbuf *b, const char *s);

/*
 * Appends printf-formatted text; same returns as dynbuf_add, plus -EINVAL when the
 * format itself fails.  Either all of the formatted text is appended or none of it.
 */
int dynbuf_addf(struct dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* va_list form of dynbuf_addf. */
int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Makes room for `extra` more bytes (plus the NUL) so the next appends of that many
 * bytes do not allocate.  Returns 0, -ENOMEM, or -E2BIG when len + extra > max.
 */
int dynbuf_reserve(struct dynbuf *b, size_t extra);

/*
 * Shortens the buffer to new_len bytes (no-op when new_len >= len) and keeps the NUL
 * terminator.  Useful to undo a partial append.
 */
void dynbuf_truncate(struct dynbuf *b, size_t new_len);

/*
 * Hands the memory to the caller (free() it) and leaves the buffer empty; *len gets the
 * length when len is not NULL.  Returns NULL when nothing was ever added.
 */
char *dynbuf_take(struct dynbuf *b, size_t *len);

#endif
