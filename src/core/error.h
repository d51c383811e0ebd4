/*
 * error — brunt's one error space: negative errno values (-1 .. -4095, as the kernel
 * and libc give them) and, above that range, brunt's own named codes, so a result code
 * means one thing wherever it comes from and one strerror names it.
 *
 * Every module returns 0 (or a count) on success and a negative code on failure: a
 * -errno when the system said so (-ENOMEM, -ECONNREFUSED), one of BRUNT_E* below for
 * what is brunt's own (a parser that wants more bytes, a malformed HTTP head, a JSON
 * path that leads nowhere).  BRUNT_EPARTIAL is not an error but a state ("feed more
 * bytes"); it is here so a parser's results never overlap an errno.
 *
 * Left out: messages with context (file:line:col, which flag) -- those are the callers'.
 */
#ifndef BRUNT_CORE_ERROR_H
#define BRUNT_CORE_ERROR_H

#include <stdbool.h>

/* The largest errno value the kernel may return (Linux MAX_ERRNO). */
#define BRUNT_ERRNO_MAX 4095

enum brunt_error {
    BRUNT_EBASE = -(BRUNT_ERRNO_MAX + 1), /* -4096: no code is at or above this one */
    /* Parsers (http/http1, core/json, ...). */
    BRUNT_EPARTIAL = BRUNT_EBASE - 1,  /* incomplete input: feed more bytes */
    BRUNT_EPROTO = BRUNT_EBASE - 2,    /* a malformed HTTP message */
    BRUNT_ETOOLARGE = BRUNT_EBASE - 3, /* over a size cap (a head over HTTP1_MAX_HEAD_BYTES) */
    BRUNT_ETOOMANY = BRUNT_EBASE - 4,  /* over a count cap (HTTP1_MAX_HEADERS fields) */
    /* JSON (core/json). */
    BRUNT_ENOTFOUND = BRUNT_EBASE - 10, /* a JSON path that leads to no value */
    BRUNT_EJSON = BRUNT_EBASE - 11,     /* a malformed JSON document or escape */
    BRUNT_EDEPTH = BRUNT_EBASE - 12,    /* nested deeper than the reader's cap */
    /* URLs (http/url). */
    BRUNT_ESCHEME = BRUNT_EBASE - 20,   /* not http:// or https:// */
    BRUNT_EUSERINFO = BRUNT_EBASE - 21, /* user:password@ in a URL */
    BRUNT_EHOST = BRUNT_EBASE - 22,     /* an empty, too long or invalid host */
    BRUNT_EPORT = BRUNT_EBASE - 23,     /* an empty, non-numeric, 0 or > 65535 port */
    BRUNT_ETARGET = BRUNT_EBASE - 24,   /* a space or control character in path or query */
    BRUNT_ETOOLONG = BRUNT_EBASE - 25,  /* a URL target too long, or its output too small */
    BRUNT_EDNS = BRUNT_EBASE - 26,      /* a host name that did not resolve */
    /* Text (core/utf8). */
    BRUNT_EUTF8 = BRUNT_EBASE - 30, /* invalid UTF-8 */
    BRUNT_ELAST = BRUNT_EBASE - 31  /* one past the last code: nothing at or below it */
};

/*
 * A short English name for any result code: strerror(-rc) for an errno, the name of a
 * BRUNT_E* code, "success" for 0 and positive counts, "unknown error N" otherwise (in a
 * static buffer per thread).  Never NULL.  Any thread.
 */
const char *brunt_strerror(int rc);

/* True when rc is one of brunt's own codes (not an errno, not success). */
static inline bool brunt_is_own_error(int rc)
{
    return rc < BRUNT_EBASE && rc > BRUNT_ELAST;
}

#endif
