/*
 * extract — pulls one value out of a response into a per-VU variable: a JSON path in
 * the body, a response header, or a regular-expression capture in the body.
 *
 * Specs are compiled once at load (the JSON path and the regex included); extracting is
 * a lookup in the response plus one copy into the variable's own buffer, which grows
 * (realloc) only when a value is longer than any before it for that VU.
 *
 * Regexes are PCRE2 (Perl-compatible: \d, \w, \s, lazy *? and +?, (?:...), look-around,
 * backreferences, (?i) and the other inline flags) in byte mode: UTF is off and cannot
 * be switched on from the pattern ((*UTF) is refused), so '.' is one byte and a body
 * that is not valid UTF-8 matches like any other.  Perl's defaults otherwise: '.' does
 * not match a newline unless the pattern starts with (?s); ^ and $ anchor at the start
 * and end of the body ($ also before a final newline) unless (?m); alternation takes
 * the first alternative that matches, not the longest as POSIX does.  Bodies are
 * matched with their length, so they need no NUL terminator and NUL bytes in them are
 * ordinary characters.
 *
 * Bad patterns and bad bodies never hang.  Compiling refuses patterns over
 * EXTRACT_REGEX_MAX_PATTERN_BYTES or with parentheses nested deeper than
 * EXTRACT_REGEX_MAX_NEST; PCRE2 does not expand repetitions the way glibc's regcomp
 * did, and refuses a pattern whose compiled form would pass its own size cap, so
 * compiling takes time about linear in the pattern.  Each match stops after
 * EXTRACT_REGEX_MATCH_LIMIT backtracking steps in all (whatever the body's length), at
 * EXTRACT_REGEX_DEPTH_LIMIT nested backtracking points, or at
 * EXTRACT_REGEX_HEAP_LIMIT_KIB of backtracking memory; a match cut off by a limit is a
 * failed extraction or check.  Patterns are JIT-compiled when PCRE2 has a JIT for the
 * machine (silently interpreted otherwise); the JIT obeys the step limit, and its stack
 * (at most EXTRACT_REGEX_JIT_STACK_BYTES) stands in for the depth and memory limits.
 *
 * What counts as "found" is documented on each function.  A failed extraction leaves the
 * variable as it was (the flow decides whether to clear it and counts the failure as a
 * failed check).  Left out: XPath, several values per extraction, JSON path filters.
 *
 * Threads: a compiled struct extract is read-only after extract_compile and may be used
 * from any number of threads at once.  Matching uses per-thread PCRE2 match data, match
 * context and JIT stack, created on a thread's first match and freed when it exits, so
 * matching does not allocate after the first match on a thread (except when a match
 * needs more backtracking memory than any before it on that thread).
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
    void *re;              /* EXTRACT_REGEX: a compiled pcre2_code (owned) */
    int group;             /* EXTRACT_REGEX: 1 when the regex has a group, else 0 */
};

/*
 * Compiles spec (NUL-terminated; leading/trailing white space ignored) into *out, for
 * variable slot var:
 *   "json $.items[0].id"      a JSON path (core/json.h syntax) in the body
 *   "header X-Request-Id"     a response header (name compared case-insensitively)
 *   "regex id=([0-9]+)"       a PCRE2 (Perl-compatible) regex on the body: group 1 when
 *                             the regex has a group, else the whole match
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
 * did not take part in the match, or whose match was cut off by a limit.  On success copies into dst (the value is
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

/* Limits on regexes (see the top of this file). */
#define EXTRACT_REGEX_MAX_PATTERN_BYTES 4096
#define EXTRACT_REGEX_MAX_NEST 64          /* nested parentheses */
#define EXTRACT_REGEX_MATCH_LIMIT 1000000  /* backtracking steps per match */
#define EXTRACT_REGEX_DEPTH_LIMIT 10000    /* nested backtracking points per match */
#define EXTRACT_REGEX_HEAP_LIMIT_KIB 16384 /* backtracking memory per match (16 MiB) */
#define EXTRACT_REGEX_JIT_STACK_BYTES (512 * 1024)

/*
 * Compiles a PCRE2 regex (Perl-compatible, byte mode) for extractions and checks into
 * *out (a pcre2_code; free with extract_regex_free).  nosub: only whether it matches is
 * wanted (a hint; PCRE2 reports groups at no extra cost, so it changes nothing today).
 * Returns 0; -1 for a pattern PCRE2 refuses or one over the limits above, with a
 * one-line message in err ("invalid regular expression: missing closing parenthesis")
 * and, when err_off is not NULL, the 0-based byte offset in pattern where the problem
 * was found in *err_off (it may equal strlen(pattern): "at the end"); or -ENOMEM.
 * Takes time about linear in the pattern's length.  Any thread.
 */
int extract_regex_compile_at(const char *pattern, bool nosub, void **out, size_t *err_off,
                             char *err, size_t err_len);

/* extract_regex_compile_at without the offset. */
int extract_regex_compile(const char *pattern, bool nosub, void **out, char *err, size_t err_len);

/* Frees a regex from extract_regex_compile; NULL does nothing. */
void extract_regex_free(void *re);

/*
 * Runs re over s[0..len) (s may be NULL when len is 0; no NUL terminator is needed).
 * Returns 1 when it matches and group `group` (0 = the whole match) took part, with
 * the group's byte offsets in span[0] (start) and span[1] (end) when span is not NULL;
 * 0 when it does not match or the group did not take part (groups past 15 count as not
 * taking part: only 16 offset pairs are kept per thread); or a negative value when
 * the match was cut off by one of the limits above or memory ran out (callers treat
 * that as neither a match nor a non-match: a failed check or extraction).  Does not
 * allocate after the first call on a thread (see the top of this file).  Any thread.
 */
int extract_regex_match(const void *re, const char *s, size_t len, int group, size_t span[2]);

#endif
