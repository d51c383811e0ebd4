/*
 * node — the typed reader of the loader's YAML tree, and its one error sink.
 *
 * Every compiler reads the tree through these calls: a scalar (expanded for ${ENV} and
 * ${ENV:-default} on first use, the result kept in the node), a duration, a bounded
 * whole number or number, one of a set of words, a mapping whose keys are checked
 * against the keys allowed at its place (an unknown key gets a did-you-mean).  Each
 * failure writes one positioned line through load__err, "FILE:LINE:COL: what (expected
 * ...)"; the first error wins.  Contracts in load_internal.h.  Load time, one thread.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/text.h"
#include "scenario/load_internal.h"
#include "scenario/template.h"

int load__err(struct loader *L, const struct ynode *n, const char *fmt, ...)
{
    if (L->failed) {
        return -1;
    }
    L->failed = true;
    if (L->err_len == 0) {
        return -1;
    }
    int off = n != NULL ? snprintf(L->err, L->err_len, "%s:%d:%d: ", L->file, n->line, n->col)
                        : snprintf(L->err, L->err_len, "%s: ", L->file);
    if (off < 0 || (size_t)off >= L->err_len) {
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + off, L->err_len - (size_t)off, fmt, ap);
    va_end(ap);
    /* One line whatever the quoted input held. */
    for (char *p = L->err; *p; p++) {
        if ((unsigned char)*p < ' ') {
            *p = ' ';
        }
    }
    return -1;
}

int load__err_at(struct loader *L, int line, int col, const char *fmt, ...)
{
    struct ynode at = {.line = line, .col = col};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return load__err(L, &at, "%s", msg);
}

int load__oom(struct loader *L)
{
    return load__err(L, NULL, "out of memory");
}
/* ------------------------------------------------------------------------------------ */
/* Reading values                                                                        */

const char *load__ytype_name(const struct ynode *n)
{
    return n->type == Y_MAP ? "a mapping" : n->type == Y_SEQ ? "a list" : "a scalar";
}

/* The scalar's text after ${ENV} expansion; NULL (error written) when it is not a scalar. */
const char *load__sval(struct loader *L, struct ynode *n, const char *expected)
{
    if (n->type != Y_SCALAR) {
        load__err(L, n, "found %s (expected %s)", load__ytype_name(n), expected);
        return NULL;
    }
    if (n->exp == NULL) {
        char msg[512];
        int rc = env_expand(n->s, &n->exp, msg, sizeof msg);
        if (rc < 0) {
            load__err(L, n, "%s", msg);
            return NULL;
        }
    }
    return n->exp;
}

/* The case-insensitive edit distance between a and b, or 99 when either is too long. */
static int levenshtein(const char *a, const char *b)
{
    char la[TEXT_EDIT_MAX], lb[TEXT_EDIT_MAX];
    size_t na = strlen(a), nb = strlen(b);
    if (na > TEXT_EDIT_MAX || nb > TEXT_EDIT_MAX) {
        return 99;
    }
    for (size_t i = 0; i < na; i++) {
        la[i] = (char)tolower((unsigned char)a[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        lb[i] = (char)tolower((unsigned char)b[i]);
    }
    return (int)text_edit_distance(la, na, lb, nb);
}

/* The closest of words (NULL-terminated) to w, within a distance that makes sense. */
const char *load__suggest(const char *w, const char *const *words)
{
    const char *best = NULL;
    int best_d = 99;
    if (w == NULL) {
        return NULL;
    }
    size_t lw = strlen(w);
    int limit = lw <= 3 ? 1 : lw <= 6 ? 2 : 3;
    for (size_t i = 0; words[i] != NULL; i++) {
        int d = levenshtein(w, words[i]);
        /* Spelling variants (maxVUs vs max_vus) are close whatever the distance. */
        char x[80], y[80];
        size_t k = 0, m = 0;
        for (const char *p = w; *p && k < sizeof x - 1; p++) {
            if (*p != '_' && *p != '-') {
                x[k++] = (char)tolower((unsigned char)*p);
            }
        }
        for (const char *p = words[i]; *p && m < sizeof y - 1; p++) {
            if (*p != '_' && *p != '-') {
                y[m++] = (char)tolower((unsigned char)*p);
            }
        }
        x[k] = y[m] = '\0';
        if (strcmp(x, y) == 0) {
            d = 0;
        }
        if (d <= limit && d < best_d) {
            best = words[i];
            best_d = d;
        }
    }
    return best;
}

static void join_words(const char *const *words, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; words[i] != NULL && off < cap; i++) {
        int n = snprintf(out + off, cap - off, "%s%s", i ? ", " : "", words[i]);
        if (n < 0) {
            break;
        }
        off += (size_t)n;
    }
}

/* Checks that n is a mapping whose keys are scalars, distinct, and among allowed. */
int load__check_map(struct loader *L, struct ynode *n, const char *what, const char *const *allowed)
{
    if (n->type != Y_MAP) {
        return load__err(L, n, "found %s for %s (expected a mapping)", load__ytype_name(n), what);
    }
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i];
        if (k->type != Y_SCALAR) {
            return load__err(L, k, "found %s as a key (expected a name)", load__ytype_name(k));
        }
        for (size_t j = 0; j < i; j += 2) {
            if (n->kids[j]->type == Y_SCALAR && strcmp(n->kids[j]->s, k->s) == 0) {
                return load__err(L, k, "duplicate key '%s' (first at line %d)", k->s,
                                 n->kids[j]->line);
            }
        }
        if (allowed == NULL) {
            continue;
        }
        bool ok = false;
        for (size_t j = 0; allowed[j] != NULL && !ok; j++) {
            ok = strcmp(allowed[j], k->s) == 0;
        }
        if (!ok) {
            const char *s = load__suggest(k->s, allowed);
            if (s != NULL) {
                return load__err(L, k, "unknown key '%s' in %s (did you mean '%s'?)", k->s, what,
                                 s);
            }
            char list[600];
            join_words(allowed, list, sizeof list);
            return load__err(L, k, "unknown key '%s' in %s (expected one of: %s)", k->s, what,
                             list);
        }
    }
    return 0;
}

/* The value of key in map n (or of its alias spelling alt), NULL when absent; with both
 * spellings present, an error (and *bad set). */
struct ynode *load__mget2(struct loader *L, struct ynode *n, const char *key, const char *alt,
                          bool *bad)
{
    struct ynode *found = NULL, *found_key = NULL;
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        struct ynode *k = n->kids[i];
        if (k->type != Y_SCALAR) {
            continue;
        }
        if (strcmp(k->s, key) == 0 || (alt != NULL && strcmp(k->s, alt) == 0)) {
            if (found != NULL) {
                load__err(L, k, "'%s' given twice, as '%s' and '%s' (expected one spelling)", key,
                          found_key->s, k->s);
                *bad = true;
                return NULL;
            }
            found = n->kids[i + 1];
            found_key = k;
        }
    }
    return found;
}

struct ynode *load__mget(struct ynode *n, const char *key)
{
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        if (n->kids[i]->type == Y_SCALAR && strcmp(n->kids[i]->s, key) == 0) {
            return n->kids[i + 1];
        }
    }
    return NULL;
}

/* The key node whose value is v in map n (for error positions). */
struct ynode *load__mkey_of(struct ynode *n, const struct ynode *v)
{
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        if (n->kids[i + 1] == v) {
            return n->kids[i];
        }
    }
    return n;
}

int load__get_duration(struct loader *L, struct ynode *n, bool allow_zero, uint64_t *out)
{
    const char *s = load__sval(L, n, "a duration such as 30s");
    if (s == NULL) {
        return -1;
    }
    uint64_t ns;
    if (parse_duration_ns(s, &ns) < 0) {
        return load__err(L, n,
                         "bad duration '%s' (expected a duration such as 30s, 1m30s or 500ms)", s);
    }
    if (ns == 0 && !allow_zero) {
        return load__err(L, n,
                         "the duration must be more than 0 (expected a duration such as 30s)");
    }
    *out = ns;
    return 0;
}

int load__get_u64(struct loader *L, struct ynode *n, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = load__sval(L, n, "a whole number");
    if (s == NULL) {
        return -1;
    }
    uint64_t v;
    if (parse_u64(s, &v) < 0) {
        return load__err(L, n, "bad number '%s' (expected a whole number such as 10)", s);
    }
    if (v < min || v > max) {
        return load__err(L, n, "%llu is out of range (expected %llu to %llu)",
                         (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
    }
    *out = v;
    return 0;
}

int load__get_double(struct loader *L, struct ynode *n, double min, double max, double *out)
{
    const char *s = load__sval(L, n, "a number");
    if (s == NULL) {
        return -1;
    }
    double v;
    if (parse_double(s, &v) < 0) {
        return load__err(L, n, "bad number '%s' (expected a number such as 100 or 0.5)", s);
    }
    if (v < min || v > max) {
        return load__err(L, n, "%g is out of range (expected %g to %g)", v, min, max);
    }
    *out = v;
    return 0;
}

int load__get_enum(struct loader *L, struct ynode *n, const char *what, const char *const *words,
                   int *out)
{
    const char *s = load__sval(L, n, what);
    if (s == NULL) {
        return -1;
    }
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[300];
    join_words(words, list, sizeof list);
    const char *sug = load__suggest(s, words);
    if (sug != NULL) {
        return load__err(L, n, "unknown %s '%s' (did you mean '%s'?)", what, s, sug);
    }
    return load__err(L, n, "unknown %s '%s' (expected one of: %s)", what, s, list);
}

bool load__is_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_')) {
        return false;
    }
    for (const char *p = s + 1; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_')) {
            return false;
        }
    }
    return strlen(s) <= 64;
}

/* ------------------------------------------------------------------------------------ */
/* Templates and the messages of the compilers                                           */

/*
 * Turns a compiler's "column N: what" about the text of node n (starting at byte offset
 * base in that text) into an error at the right line and column.
 */
int load__sub_err(struct loader *L, const struct ynode *n, size_t base, const char *prefix,
                  const char *msg)
{
    size_t col = 0;
    const char *rest = msg;
    if (strncmp(msg, "column ", 7) == 0) {
        char *end;
        col = strtoul(msg + 7, &end, 10);
        if (end[0] == ':' && end[1] == ' ') {
            rest = end + 2;
        }
    }
    int line = n->line, c = n->col;
    size_t off = base + (col > 0 ? col - 1 : 0);
    const char *text = n->exp ? n->exp : n->s ? n->s : "";
    if (n->type == Y_SCALAR && !n->block && off <= strlen(text) &&
        memchr(text, '\n', off) == NULL) {
        c = n->col + (int)off; /* a quoted scalar's column is that of its first character */
    }
    return load__err_at(L, line, c, "%s%s", prefix, rest);
}
