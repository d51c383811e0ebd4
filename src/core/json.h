/*
 * json — a JSON writer into a capped buffer, and a small JSON reader that validates and
 * navigates a document without allocating.
 *
 * The writer (struct jsonw) appends to a dynbuf with a hard cap.  Errors are sticky:
 * after the first one (out of memory, past the cap, or misuse such as a key outside an
 * object, a value without a key inside an object, unbalanced ends, nesting deeper than
 * JSONW_MAX_DEPTH) every later call does nothing and jsonw_error() reports it, so a
 * caller writes the whole document and checks once at the end.  Strings are escaped as
 * RFC 8259 requires; bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid UTF-8 JSON.
 *
 * The reader works on (pointer, length) documents that need not be NUL-terminated, does
 * no allocation and no I/O, never reads past doc + len, and answers with spans that
 * point into the document.  json_path_get validates everything it reads (the members
 * and elements it skips, the value it finds, and the ',' or closing bracket that must
 * follow that value) and stops there: damage further on is reported only by
 * json_validate, so a truncated document may still yield a value that lies wholly
 * before the cut.  Nesting is limited to JSON_MAX_DEPTH levels; the parser is
 * recursive, so that limit also bounds its stack use.  The reader keeps no state
 * between calls, so any thread may call it on any document.  A writer belongs to one
 * thread at a time.
 *
 * Left out: a DOM, streaming (partial) input, comments, NaN/Infinity literals.
 */
#ifndef BRUNT_CORE_JSON_H
#define BRUNT_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "core/error.h"

/* ---- writer ---------------------------------------------------------------------- */

#define JSONW_MAX_DEPTH 63

struct jsonw {
    struct dynbuf buf;
    int indent; /* 0 = compact; n = pretty-printed with n spaces per level */
    int depth;  /* open containers */
    int err;    /* sticky: 0, -ENOMEM, -E2BIG or -EINVAL */
    /* private: per depth, bit 0 = no member written yet, bit 1 = is an object */
    unsigned char first[64];
    bool after_key; /* a key was written and its value is due */
};

/*
 * Initialises a writer producing compact output (indent 0) or pretty output with
 * `indent` spaces per level, into a buffer of at most max_bytes bytes.  Allocates
 * nothing until the first write.
 */
void jsonw_init(struct jsonw *w, int indent, size_t max_bytes);

/* Frees the buffer.  The writer may be initialised again afterwards. */
void jsonw_destroy(struct jsonw *w);

/* Opens / closes an object or array.  Closing the wrong kind is -EINVAL. */
void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);

/*
 * Writes an object member's key (escaped like a string); the next call must write its
 * value.  -EINVAL outside an object or when a key is already pending.  key may hold
 * any bytes with jsonw_keyn (len bytes; key may be NULL when len is 0).
 */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_keyn(struct jsonw *w, const char *key, size_t len);

/*
 * Writes a string value: escapes ", \ and control characters (\n, \t, ... or \u00XX),
 * passes valid UTF-8 through, and turns each byte of an invalid UTF-8 sequence
 * (overlong forms, surrogates, > U+10FFFF, truncated sequences) into U+FFFD.
 * jsonw_str(w, NULL) writes null.
 */
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t len);

/* Integer values, written exactly. */
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);

/*
 * A floating-point value in the shortest of %.15g / %.16g / %.17g that reads back to
 * the same double; -0 is written as -0, NaN and infinities as null.
 */
void jsonw_num(struct jsonw *w, double v);

void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/*
 * Writes len bytes of already-serialised JSON as one value (e.g. a span from the
 * reader).  The caller guarantees it is one valid JSON value; it is not checked.
 */
void jsonw_raw(struct jsonw *w, const char *json, size_t len);

/*
 * The sticky error: 0, -ENOMEM, -E2BIG (the cap was reached), or -EINVAL (misuse).
 * A finished document (depth back to 0 with one top-level value) has error 0.
 */
int jsonw_error(const struct jsonw *w);

/*
 * The text written so far (NUL-terminated, "" when nothing was written) and, when len
 * is not NULL, its length.  Owned by the writer; valid until the next write or destroy.
 */
const char *jsonw_data(const struct jsonw *w, size_t *len);

/* ---- reader ---------------------------------------------------------------------- */

#define JSON_MAX_DEPTH 64

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
};

/* The reader's results, in the one error space (core/error.h). */
enum json_err {
    JSON_ENOTFOUND = BRUNT_ENOTFOUND, /* the path does not lead to a value */
    JSON_EINVAL = BRUNT_EJSON,        /* the document (or an escape in a string) is malformed */
    JSON_EDEPTH = BRUNT_EDEPTH,       /* nested deeper than JSON_MAX_DEPTH */
};

/* Raw text of a value inside the document; a string's span includes its quotes. */
struct json_span {
    enum json_type type;
    const char *start;
    size_t len;
};

#define JSON_PATH_MAX_SEGS 16
#define JSON_PATH_MAX_KEY 63 /* bytes of one key segment, after unescaping */

struct json_path_seg {
    bool is_index;
    size_t index;
    char key[64]; /* NUL-terminated, key_len bytes */
    size_t key_len;
};

struct json_path {
    struct json_path_seg segs[JSON_PATH_MAX_SEGS];
    size_t n;
};

/* json_escape's flags. */
enum {
    JSON_ESC_ASCII_FFFD = 1 << 0, /* invalid UTF-8 as the escape \ufffd, not the character */
    JSON_ESC_SCRIPT = 1 << 1,     /* also < > & as \u003c \u003e \u0026: no "</script"
                                     or entity can appear, so the string may sit inside an
                                     HTML <script> element (the HTML report's data) */
};

/*
 * Appends s[0..len) to out as the inside of a JSON string (no quotes), the one JSON
 * escaper of brunt: '"', '\\' and control characters escaped (\n \r \t \b \f, else
 * \u00XX), valid UTF-8 copied as it is, each byte of invalid UTF-8 replaced by U+FFFD:
 * the character itself, or with JSON_ESC_ASCII_FFFD the escape \ufffd.  flags is 0 or
 * JSON_ESC_* or'ed.  Returns 0, or dynbuf's -ENOMEM / -E2BIG (out may then hold part of
 * the text).
 */
int json_escape(struct dynbuf *out, const char *s, size_t len, unsigned flags);

/* A short English name for a json_err code, as brunt_strerror gives it, or "unknown
 * error" for any other code (use brunt_strerror for those). */
const char *json_strerror(int err);

/*
 * Validates a whole document (RFC 8259: one value with optional surrounding
 * whitespace; strings must be valid UTF-8 and their \u escapes must pair surrogates
 * correctly; nesting <= JSON_MAX_DEPTH).  Returns 0, JSON_EINVAL or JSON_EDEPTH; on
 * failure *err_offset (when not NULL) gets the byte offset of the first error.
 */
int json_validate(const char *doc, size_t len, size_t *err_offset);

/*
 * Compiles a JSON path: "$" (the root), then any of ".name" (letters, digits, '_',
 * '-', '$' and bytes >= 0x80), "[N]" (a decimal array index), "['any key']" or
 * "[\"any key\"]" (with \\ and \' or \" escapes).  At most JSON_PATH_MAX_SEGS segments
 * and JSON_PATH_MAX_KEY bytes per key.  Returns 0, or -1 with a one-line message in
 * err (when err_len > 0) naming the 1-based column and what was expected, e.g.
 * "column 3: expected a key name after '.'".
 */
int json_path_compile(const char *path, struct json_path *out, char *err, size_t err_len);

/*
 * Finds the value at path in doc.  Keys are compared after unescaping the document's
 * keys; with duplicate keys the first one wins.  Returns 0 with *out set, JSON_ENOTFOUND,
 * JSON_EINVAL for a malformed document (never reads past doc + len; everything read up
 * to the value and the byte after it is validated; when the answer would be
 * JSON_ENOTFOUND the whole document is validated first), or JSON_EDEPTH.  For "$" the
 * whole document is the value, so it is validated entirely.
 */
int json_path_get(const struct json_path *path, const char *doc, size_t len, struct json_span *out);

/* Convenience: the top-level object member named key (any bytes, NUL-terminated). */
int json_get_member(const char *doc, size_t len, const char *key, struct json_span *out);

/*
 * Copies a value as text into out (cap bytes, always NUL-terminated when cap > 0):
 * strings unescaped (\uXXXX, surrogate pairs included, to UTF-8), other types as their
 * raw text.  Returns the length written (without the NUL), -E2BIG when it does not fit,
 * or JSON_EINVAL on a bad escape.  A \u0000 escape puts a NUL byte inside the text, so
 * use the returned length rather than strlen when that matters.
 */
int json_span_text(const struct json_span *v, char *out, size_t cap);

/*
 * The value as a double: a number, or a string holding exactly a JSON number (e.g.
 * "123", no surrounding spaces).  Numbers longer than 511 characters are refused.
 * Returns 0 or JSON_EINVAL.
 */
int json_span_number(const struct json_span *v, double *out);

/*
 * Iterates a container span (an array or an object the reader returned): start with
 * *pos = 0; each call stores the next element in *val (and, for an object, the member's
 * key, quotes included, in *key when not NULL) and returns 1; it returns 0 at the end
 * and JSON_EINVAL / JSON_EDEPTH when the container is malformed.  Each call reads only
 * the next element, so walking an array of n elements is O(its length), unlike
 * json_path_get with growing indices.  No allocation; any thread.
 */
int json_iter_next(const struct json_span *container, size_t *pos, struct json_span *key,
                   struct json_span *val);

/* True when the string span v holds exactly the bytes of s (no escapes in v). */
bool json_span_is(const struct json_span *v, const char *s);

#endif
