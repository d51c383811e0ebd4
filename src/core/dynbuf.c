/*
 * dynbuf — a growable byte buffer with a hard cap.  See dynbuf.h for the contract.
 *
 * The capacity grows by doubling from a small minimum, clamped to max + 1 (room for the
 * NUL), so a buffer never allocates more than its cap allows.  All size arithmetic is
 * checked against overflow before it is used.
 */
#include "core/dynbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYNBUF_MIN_CAP 64

void dynbuf_init(struct dynbuf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max_bytes;
}

void dynbuf_destroy(struct dynbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void dynbuf_reset(struct dynbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Ensures cap >= len + extra + 1.  Returns 0, -E2BIG or -ENOMEM; unchanged on failure. */
int dynbuf_reserve(struct dynbuf *b, size_t extra)
{
    size_t need, new_cap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return -E2BIG;
    need = b->len + extra + 1; /* len + extra <= max; only max == SIZE_MAX can wrap */
    if (need == 0)
        return -E2BIG;
    if (b->data && need <= b->cap)
        return 0;

    new_cap = b->cap ? b->cap : DYNBUF_MIN_CAP;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2) {
            new_cap = need;
            break;
        }
        new_cap *= 2;
    }
    /* Never allocate more than the cap can use. */
    if (b->max < SIZE_MAX && new_cap > b->max + 1)
        new_cap = b->max + 1;
    if (new_cap < need)
        new_cap = need;

    p = realloc(b->data, new_cap);
    if (!p)
        return -ENOMEM;
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = new_cap;
    return 0;
}

int dynbuf_add(struct dynbuf *b, const void *p, size_t n)
{
    int rc = dynbuf_reserve(b, n);

    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int dynbuf_addc(struct dynbuf *b, char c)
{
    return dynbuf_add(b, &c, 1);
}

int dynbuf_adds(struct dynbuf *b, const char *s)
{
    return dynbuf_add(b, s, strlen(s));
}

int dynbuf_vaddf(struct dynbuf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    int n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return dynbuf_add(b, small, (size_t)n);

    /* Too long for the stack buffer: format straight into reserved space. */
    rc = dynbuf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return -EINVAL;
    }
    b->len += (size_t)n;
    return 0;
}

int dynbuf_addf(struct dynbuf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = dynbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void dynbuf_truncate(struct dynbuf *b, size_t new_len)
{
    if (new_len >= b->len)
        return;
    b->len = new_len;
    b->data[new_len] = '\0';
}

char *dynbuf_take(struct dynbuf *b, size_t *len)
{
    char *p = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
