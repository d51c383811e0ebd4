/*
 * extract — pulls one value out of a response into a per-VU variable: a JSON path in
 * the body, a response header, or a regular-expression capture in the body.
 *
 * Specs are compiled once at load (the JSON path and the regex included); extracting is
 * a lookup in the response plus one copy into the variable's own buffer, which grows
 * (realloc) only when a value is longer than any before it for that VU.  Regexes are
 * POSIX extended (regcomp REG_EXTENDED) run with glibc's REG_STARTEND, so bodies need no
 * NUL terminator and NUL bytes in them are ordinary characters.
 *
 * What counts as "found" is documented on each function.  A failed extraction leaves the
 * variable as it was (the flow decides whether to clear it and counts the failure as a
 * failed check).  Left out: XPath, several values per extraction, JSON path filters.
 *
 * Threads: a compiled struct extract is read-only after extract_compile and may be used
 * from any number of threads at once (glibc's regexec is thread-safe on one regex_t).
 */
#ifndef BRUNT_SCENARIO_EXTRACT_H
#define BRUNT_SCENARIO_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/json.h"
#include "http/http1.h"
#include "scenario/flow.h"

#define EXTRACT_MAX_VALUE_BYTES (1024 * 1024) /* a longer value is "not found" */
#define EXTRACT_MAX_SPEC_BYTES 4096

enum extract_kind { EXTRACT_JSON, EXTRACT_HEADER, EXTRACT_REGEX };

struct extract {
    enum extract_kind kind;
    int var;               /* slot in flow_vu.vars */
    char *source;          /* the spec as written, trimmed: "json $.token" (owned) */
    struct json_path path; /* EXTRACT_JSON */
    char header[128];      /* EXTRACT_HEADER: the name, NUL-terminated */
    void *re;              /* EXTRACT_REGEX: a compiled regex_t (owned) */
    int group;             /* EXTRACT_REGEX: 1 when the regex has a group, else 0 */
};

/*
 * Compiles spec (NUL-terminated; leading/trailing white space ignored) into *out, for
 * variable slot var:
 *   "json $.items[0].id"      a JSON path (core/json.h syntax) in the body
 *   "header X-Request-Id"     a response header (name compared case-insensitively)
 *   "regex id=([0-9]+)"       a POSIX extended regex on the body: group 1 when the regex
 *                             has a group, else the whole match
 * The kind word and its operand are separated by white space.  Returns 0, or a negative
 * value with *out zero-filled and a one-line message in err: "column N: <what>
 * (expected ...)", N the 1-based byte offset in spec (after trimming nothing: offsets
 * count from spec[0]); -ENOMEM for out of memory.  Release with extract_destroy.
 */
int extract_compile(const char *spec, int var, struct extract *out, char *err, size_t err_len);

/* True for the JSON and regex kinds (they need the response body kept). */
bool extract_needs_body(const struct extract *e);

/*
 * Header kind (false for the others): looks the header up in the response head.  When
 * found, copies its value (white space trimmed by the parser) into dst, sets dst->set
 * and returns true.  An empty value counts as found.  Returns false when the header is
 * absent, resp is NULL, the value is over EXTRACT_MAX_VALUE_BYTES, or memory runs out;
 * dst is then unchanged.  The VU's thread.
 */
bool extract_from_head(const struct extract *e, const struct http1_response *resp,
                       struct flow_var *dst);

/*
 * JSON and regex kinds (false for the header kind): looks in body[0..len), which may be
 * a truncated prefix of the body (a value wholly before the cut is still found; a JSON
 * value cut in the middle is not).  JSON strings are unescaped; numbers, booleans,
 * null, objects and arrays are copied as their raw text.  An invalid document or a path
 * that leads nowhere is not found; so is a regex that does not match, or whose group
 * did not take part in the match.  On success copies into dst (the value is
 * NUL-terminated in dst->val; dst->len does not count the NUL) and returns true; else
 * returns false with dst unchanged.  body may be NULL when len is 0.  The VU's thread.
 */
bool extract_from_body(const struct extract *e, const char *body, size_t len, struct flow_var *dst);

/* Frees what extract_compile allocated and zero-fills e; a zero-filled e is fine. */
void extract_destroy(struct extract *e);

/*
 * Copies len bytes into the variable (NUL-terminated), growing dst->val with realloc
 * only when it is too small, and sets dst->set.  Returns 0, -ENOMEM or -E2BIG (over
 * EXTRACT_MAX_VALUE_BYTES); dst is unchanged on failure.  Shared with the flow glue.
 */
int extract_var_set(struct flow_var *dst, const char *p, size_t len);

/*
 * Compiles a POSIX extended regex for extractions and checks into *out (a malloc'd
 * regex_t; free with extract_regex_free).  glibc's regcomp expands '+' and {n,m} by
 * copying their operand, so nested repetitions grow exponentially ("((a+)+)+..." or
 * "a{100}{100}"); patterns whose expanded size would pass EXTRACT_REGEX_MAX_WEIGHT are
 * refused before regcomp sees them.  nosub: only whether it matches is wanted.  Returns
 * 0, -1 with a message in err ("invalid regular expression: ..." or "regular expression
 * too complex ..."), or -ENOMEM.
 */
#define EXTRACT_REGEX_MAX_WEIGHT 4096
int extract_regex_compile(const char *pattern, bool nosub, void **out, char *err, size_t err_len);
void extract_regex_free(void *re);

#endif
