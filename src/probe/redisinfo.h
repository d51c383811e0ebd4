/*
 * redisinfo — reading the text of Redis's INFO reply: "# Section" lines and
 * "key:value" lines separated by CRLF (or LF), where some values are themselves lists
 * of "name=value" pairs separated by ',' (cmdstat_get:calls=3,usec=12,...,
 * db0:keys=1,expires=0,avg_ttl=0, errorstat_ERR:count=2).
 *
 * Everything here works on (pointer, length) text that need not be NUL-terminated,
 * points into it, allocates nothing, does no I/O and never reads past text + len, so a
 * truncated or hostile reply yields fewer fields, never a fault.  Keys are compared
 * exactly (case-sensitive, as Redis writes them).  Lines without a ':' and comment
 * lines are skipped.  Any thread.
 *
 * Left out: the RESP protocol itself (hiredis reads it), and the meaning of fields
 * (probe/redis.c knows which ones matter).
 */
#ifndef BRUNT_PROBE_REDISINFO_H
#define BRUNT_PROBE_REDISINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One "key:value" line; spans point into the text. */
struct redisinfo_field {
    const char *key;
    size_t key_len;
    const char *val;
    size_t val_len;
};

/* Iterates over the fields of an INFO text.  Zero-filled is an empty iterator. */
struct redisinfo_iter {
    const char *p;   /* private: next byte to read */
    const char *end; /* private */
};

/* Starts iterating over text[0..len). */
void redisinfo_iter_init(struct redisinfo_iter *it, const char *text, size_t len);

/* The next field into *out: returns true, or false at the end of the text. */
bool redisinfo_next(struct redisinfo_iter *it, struct redisinfo_field *out);

/* Finds the first field named key (NUL-terminated).  Returns true and fills *out. */
bool redisinfo_get(const char *text, size_t len, const char *key, struct redisinfo_field *out);

/*
 * The value of field key as a number: an unsigned decimal integer (redisinfo_u64,
 * at most 20 digits and UINT64_MAX) or a decimal number with an optional fraction and
 * sign (redisinfo_double, at most 63 bytes, finite).  Returns 0, -ENOENT when there is
 * no such field, or -EINVAL when the value is not such a number.  *out is written only
 * on success.
 */
int redisinfo_u64(const char *text, size_t len, const char *key, uint64_t *out);
int redisinfo_double(const char *text, size_t len, const char *key, double *out);

/*
 * In a value made of "name=value" pairs separated by ',' (val[0..val_len)), the number
 * after name= (NUL-terminated name; the first pair of that name wins).  Same returns
 * as redisinfo_u64 / redisinfo_double.
 */
int redisinfo_sub_u64(const char *val, size_t val_len, const char *name, uint64_t *out);
int redisinfo_sub_double(const char *val, size_t val_len, const char *name, double *out);

/* Parses span[0..len) as a whole unsigned decimal integer (0, -EINVAL, -ERANGE). */
int redisinfo_parse_u64(const char *s, size_t len, uint64_t *out);
/* Parses span[0..len) as a whole finite decimal number (0 or -EINVAL). */
int redisinfo_parse_double(const char *s, size_t len, double *out);

#endif
