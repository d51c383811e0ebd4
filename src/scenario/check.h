/*
 * check — assertions on a response (k6's `check`), compiled once at load and counted
 * per step in the `checks` metric, tagged with their source text.
 *
 * Forms (white space between words is free; words are case-sensitive):
 *
 *   status OP N                  "status == 200", "status != 500", "status < 400"
 *   status in LIST               "status in 200 201 204", "status in [200, 201]"
 *   status !in LIST              the reverse (at most CHECK_MAX_STATUSES codes)
 *   duration OP D                "duration < 300ms": D is a duration with a unit
 *                                (core/parse.h: ns us ms s m h, "1.5s"); a bare number
 *                                is refused, as "300" would mean 300 seconds
 *   body contains TEXT           "body contains 'ok'", "body !contains 'error'"
 *   body matches REGEX           PCRE2 (Perl-compatible) regex, "body !matches ^<html"
 *   json PATH OP VALUE           "json $.accepted == true", "json $.amount >= 100",
 *                                "json $.status == 'open'"
 *   json PATH contains TEXT      the value's text contains TEXT (and !contains)
 *   json PATH exists             "json $.items exists", "json $.error !exists"
 *   header NAME OP VALUE         "header X-Cache == HIT", "header Content-Length < 1000"
 *   header NAME contains TEXT    "header Content-Type contains json" (and !contains)
 *   header NAME matches REGEX    (and !matches)
 *   header NAME exists           "header X-Id exists", "header X-Id !exists"
 *
 * OP is one of == != < <= > >=.  Comparison: numeric when both sides read as numbers
 * (a JSON string holding exactly a number counts, e.g. "100"); otherwise == and != compare
 * text exactly (a JSON string by its unescaped text, true/false/null/objects/arrays by
 * their raw text) and the ordering operators fail.  TEXT and VALUE are 'single' or
 * "double" quoted (\\ and the quote escaped with a backslash) or one bare word, or for
 * contains/matches the rest of the line; a quoted VALUE is always text, so
 * "json $.id == '7'" compares text.  Header names are case-insensitive; values are
 * compared case-sensitively.  JSON paths use core/json.h syntax.
 *
 * Evaluation: status 0 (a network error) fails every check.  Status and header checks can
 * run as soon as the head arrives (check_is_head); body and json checks need the body
 * (check_needs_body) and fail when it was not kept (body NULL).  A json check on a body
 * that is not valid JSON fails, whatever the operator (!exists included).  A check on a
 * truncated body sees only the kept prefix.
 *
 * Regexes (matches, !matches) are PCRE2, Perl-compatible, in byte mode, compiled and
 * bounded as scenario/extract.h describes: Perl's defaults ('.' does not match a
 * newline without (?s); ^ and $ anchor at the ends of the text without (?m)), and a
 * match cut off by a limit (catastrophic backtracking such as (a+)+$ on a long run of
 * a's) makes the check fail whether it is "matches" or "!matches": neither was shown.
 *
 * Threads: a compiled check is read-only and may be evaluated from any thread.
 */
#ifndef BRUNT_SCENARIO_CHECK_H
#define BRUNT_SCENARIO_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "http/http1.h"

#define CHECK_MAX_STATUSES 32
#define CHECK_MAX_SOURCE_BYTES 4096

enum check_kind { CHECK_STATUS, CHECK_DURATION, CHECK_BODY, CHECK_JSON, CHECK_HEADER };

enum check_op {
    CHECK_OP_EQ,
    CHECK_OP_NE,
    CHECK_OP_LT,
    CHECK_OP_LE,
    CHECK_OP_GT,
    CHECK_OP_GE,
    CHECK_OP_IN,       /* status only */
    CHECK_OP_CONTAINS, /* body, json, header */
    CHECK_OP_MATCHES,  /* body, header */
    CHECK_OP_EXISTS,   /* json, header */
};

struct check {
    enum check_kind kind;
    char *source; /* as written, trimmed: the check's name/tag (owned) */
    /* private: filled by check_compile */
    enum check_op op;
    bool negate;         /* !in, !contains, !matches, !exists */
    bool operand_is_num; /* operand reads as a number (and was not quoted) */
    double num;          /* the operand as a number (status: the code) */
    uint64_t dur_ns;     /* CHECK_DURATION */
    int statuses[CHECK_MAX_STATUSES];
    size_t n_statuses;
    char *str; /* text operand, unescaped (owned; may hold NUL bytes) */
    size_t str_len;
    struct json_path path; /* CHECK_JSON */
    char header[128];      /* CHECK_HEADER: the name, NUL-terminated */
    void *re;              /* compiled regex_t for matches (owned) */
};

/*
 * Compiles src (NUL-terminated, at most CHECK_MAX_SOURCE_BYTES) into *out.  Returns 0,
 * or a negative value with *out zero-filled and a one-line message in err:
 * "column N: <what> (expected ...)" with N the 1-based byte offset in src, and a "did
 * you mean" for a misspelt first word or operator; -ENOMEM for out of memory.  Release
 * with check_destroy.
 */
int check_compile(const char *src, struct check *out, char *err, size_t err_len);

/* True for body and json checks. */
bool check_needs_body(const struct check *c);

/* True for status and header checks: they can run when the head arrives. */
bool check_is_head(const struct check *c);

/*
 * Evaluates c against what is known of the response: status (0 = network error: every
 * check fails), duration_ns (request start to the end of the response), head (NULL when
 * not at head time: header checks then fail), body[0..body_len) (NULL when not kept:
 * body and json checks then fail).  Returns true when the check passes.  Allocates
 * nothing.  Any thread.
 */
bool check_eval(const struct check *c, int status, uint64_t duration_ns,
                const struct http1_response *head, const char *body, size_t body_len);

/* Frees what check_compile allocated and zero-fills c; a zero-filled c is fine. */
void check_destroy(struct check *c);

#endif
