/*
 * text — small helpers for the text users type: white space, "did you mean" suggestions
 * for misspelt words, and formatting an error message into a caller's buffer.
 *
 * The parsers of checks, extractions, templates, thresholds and scenario files each had
 * their own copy of these; they share this one so a misspelling is judged the same way
 * everywhere.  What counts as "close enough" (the maximum distance) stays with each
 * caller, since a one-letter operator and a long metric name want different limits.
 * Nothing here allocates or prints; everything may be called from any thread.
 */
#ifndef BRUNT_CORE_TEXT_H
#define BRUNT_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Words longer than this many bytes are never compared: their distance is SIZE_MAX. */
#define TEXT_EDIT_MAX 64

/* True for the C locale's white space: space, \t, \n, \r, \f and \v. */
static inline bool text_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* The Levenshtein distance (insertions, deletions and substitutions of single bytes,
 * case-sensitive) between a[0..la) and b[0..lb), or SIZE_MAX when either is longer than
 * TEXT_EDIT_MAX.  Neither needs a NUL terminator.  Uses a row on the stack. */
size_t text_edit_distance(const char *a, size_t la, const char *b, size_t lb);

/* Looking for the candidate closest to a word, one candidate at a time (for callers
 * whose candidates are not one array of strings).  Fields are private but for best. */
struct text_near {
    const char *word; /* the misspelt word, not NUL-terminated */
    size_t len;
    const char *best; /* the closest candidate so far, or NULL */
    size_t best_distance;
};

/* Starts a search for the candidates closest to word[0..len); the word must outlive it. */
void text_near_init(struct text_near *near, const char *word, size_t len);

/* Considers candidate (NUL-terminated; NULL is skipped): it becomes near->best when it
 * is within max_distance of the word, strictly closer than the best so far (so ties go
 * to the first), and not a total rewrite (the distance is less than the longer of the two
 * lengths: "~" is not a misspelt "<").  The candidate must outlive the search. */
void text_near_add(struct text_near *near, const char *candidate, size_t max_distance);

/* The candidate closest to word[0..len) within max_distance by the rules of
 * text_near_add, or NULL when none is.  candidates holds n strings; a NULL entry ends it
 * early, so a NULL-terminated list may pass n = SIZE_MAX.  Returns one of the candidates. */
const char *text_suggest(const char *word, size_t len, const char *const *candidates, size_t n,
                         size_t max_distance);

/* Formats an error message into err[0..err_len) (truncated, NUL-terminated; nothing is
 * written when err is NULL or err_len is 0) and returns rc, so a failing parser can
 * `return text_errf(err, err_len, -EINVAL, "column %zu: ...", col);`. */
int text_errf(char *err, size_t err_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Masks, in place, the password of every URL in s ("scheme://user:SECRET@host" becomes
 * "user:***@") and every libpq "password=SECRET".  A DSN can sit inside any argument (a
 * --spawn command line), and what brunt prints or records never shows one.  s holds cap
 * bytes; when there is no room to widen a mask, s is cut at the secret. */
void text_mask_secrets(char *s, size_t cap);

struct dynbuf;

/* Appends s (NUL-terminated) to b escaped for XML and HTML text and attribute values:
 * & < > " ' as entities (' as &#39;, which HTML 4 knows too), and each control byte but
 * tab, newline and carriage return (which XML 1.0 forbids) as a space.  The reports,
 * their SVG charts and the flame graphs share it.  Returns 0 or dynbuf's error. */
int text_xml_escape(struct dynbuf *b, const char *s);

#endif
