/*
 * utf8 — UTF-8, once for every layer: the length of one valid sequence (shortest
 * form, no surrogates, at most U+10FFFF, RFC 3629), encoding a code point, validating
 * a whole text, and counting code points (display columns of the terminal output).
 * No allocation; any thread.
 */
#ifndef BRUNT_CORE_UTF8_H
#define BRUNT_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the valid UTF-8 sequence at s (n >= 1 bytes available), or 0
 * when the bytes there are not one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Encodes code point cp (<= U+10FFFF, not a surrogate) into out; returns 1..4. */
size_t utf8_encode(uint32_t cp, char out[4]);

/*
 * Checks that s[0..len) is valid UTF-8 (NUL bytes are valid UTF-8: callers that refuse
 * them say so).  Returns 0, or BRUNT_EUTF8 with *bad_offset (may be NULL) set to the
 * offset of the first byte that does not start a valid sequence.
 */
int utf8_validate(const char *s, size_t len, size_t *bad_offset);

/* The number of code points in the NUL-terminated s, counting each byte that is not a
 * continuation byte (so invalid text counts by its lead bytes). */
size_t utf8_count(const char *s);

#endif
