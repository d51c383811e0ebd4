/*
 * text — white space, edit distances and suggestions, error formatting (see text.h).
 *
 * The edit distance is the classic one-row dynamic programme: O(la * lb) time, one row of
 * TEXT_EDIT_MAX + 1 sizes on the stack, no allocation.  Words are short (keywords,
 * metric and variable names), so the bound costs nothing and keeps the stack small.
 */
#include "core/text.h"

#include "core/dynbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t text_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    if (la > TEXT_EDIT_MAX || lb > TEXT_EDIT_MAX) {
        return SIZE_MAX;
    }
    size_t row[TEXT_EDIT_MAX + 1]; /* row[j]: distance between a[0..i) and b[0..j) */
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0]; /* the previous row's row[j - 1] */
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void text_near_init(struct text_near *near, const char *word, size_t len)
{
    near->word = word;
    near->len = len;
    near->best = NULL;
    near->best_distance = SIZE_MAX;
}

void text_near_add(struct text_near *near, const char *candidate, size_t max_distance)
{
    if (candidate == NULL) {
        return;
    }
    size_t cl = strlen(candidate);
    size_t d = text_edit_distance(near->word, near->len, candidate, cl);
    size_t longest = near->len > cl ? near->len : cl;
    if (d <= max_distance && d < near->best_distance && d < longest) {
        near->best = candidate;
        near->best_distance = d;
    }
}

const char *text_suggest(const char *word, size_t len, const char *const *candidates, size_t n,
                         size_t max_distance)
{
    struct text_near near;
    text_near_init(&near, word, len);
    for (size_t i = 0; i < n && candidates[i] != NULL; i++) {
        text_near_add(&near, candidates[i], max_distance);
    }
    return near.best;
}

int text_errf(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void text_mask_secrets(char *s, size_t cap)
{
    for (char *p = strstr(s, "://"); p != NULL; p = strstr(p, "://")) {
        p += 3;
        char *colon = NULL, *q = p;
        for (; *q && *q != '@' && *q != '/' && *q != ' ' && *q != '\''; q++) {
            if (*q == ':' && colon == NULL) {
                colon = q;
            }
        }
        if (*q != '@' || colon == NULL || (q - colon == 4 && memcmp(colon, ":***", 4) == 0)) {
            continue;
        }
        if (strlen(s) + 4 >= cap) {
            *colon = '\0'; /* no room to widen the mask: cut at the secret */
            break;
        }
        memmove(colon + 4, q, strlen(q) + 1);
        memcpy(colon, ":***", 4);
        p = colon + 4;
    }
    /* libpq's key=value form: "password=SECRET" */
    for (char *p = strstr(s, "password="); p != NULL; p = strstr(p, "password=")) {
        p += 9;
        char *q = p;
        while (*q && *q != ' ' && *q != '\'' && *q != '"') {
            q++;
        }
        if (q - p == 3 && memcmp(p, "***", 3) == 0) {
            continue;
        }
        if (strlen(s) + 3 >= cap) {
            *p = '\0';
            break;
        }
        memmove(p + 3, q, strlen(q) + 1);
        memcpy(p, "***", 3);
    }
}

int text_xml_escape(struct dynbuf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            rc = dynbuf_adds(b, "&amp;");
            break;
        case '<':
            rc = dynbuf_adds(b, "&lt;");
            break;
        case '>':
            rc = dynbuf_adds(b, "&gt;");
            break;
        case '"':
            rc = dynbuf_adds(b, "&quot;");
            break;
        case '\'':
            rc = dynbuf_adds(b, "&#39;");
            break;
        default:
            rc = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ? dynbuf_addc(b, ' ')
                                                                   : dynbuf_addc(b, (char)c);
        }
    }
    return rc;
}
