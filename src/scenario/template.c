/*
 * template — compiling "{{ ... }}" templates into a flat part list, and evaluating it.
 *
 * Compiling walks the source once: literal runs are copied into one pool, expressions are
 * tokenised (bare words and quoted strings), resolved against the built-ins, the
 * variables and the feeders' columns, and stored as small fixed-size parts.  Adjacent
 * literal text (quoted-string expressions included) is merged into one part, so a static
 * template is exactly one part.  Evaluating is a switch per part that appends to the
 * caller's dynbuf; values that need escaping go through one of three appenders chosen by
 * the template's escape mode.  See template.h for the language.
 */
#include "scenario/template.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/text.h"
#include "scenario/feeder.h"

enum part_kind {
    P_LIT,
    P_VU,
    P_ITER,
    P_SCENARIO,
    P_SEQ,
    P_NOW_MS,
    P_UUID,
    P_RANDINT,
    P_RANDFLOAT,
    P_CHOICE,
    P_VAR,
    P_FEEDER,
};

struct span {
    size_t off, len; /* into the pool */
};

struct part {
    enum part_kind kind;
    union {
        struct span lit;
        struct {
            int64_t lo;
            uint64_t span; /* hi - lo, as unsigned: the full int64 range fits */
        } ri;
        struct {
            double lo, hi;
        } rf;
        struct {
            size_t first, n; /* into words */
        } choice;
        size_t var;
        struct {
            size_t feeder;
            int col;
        } fd;
    } u;
};

struct tmpl {
    enum tmpl_escape esc;
    struct part *parts;
    size_t n_parts;
    char *pool; /* literal text and choice words */
    struct span *words;
    size_t static_len;
    bool is_static;
};

static const char *const builtins[] = {"vu",   "iter",    "scenario",  "seq",   "now_ms",
                                       "uuid", "randint", "randfloat", "choice"};
#define N_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

#define EXPECT_EXPR                                                                        \
    "expected a variable, FEEDER.COLUMN, a \"quoted text\" or one of vu, iter, scenario, " \
    "seq, now_ms, uuid, randint LO HI, randfloat LO HI, choice A B ..."

bool tmpl_is_builtin(const char *name)
{
    for (size_t i = 0; i < N_BUILTINS; i++) {
        if (strcmp(name, builtins[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- compiling -------------------------------------------------------------------- */

struct token {
    size_t off, len; /* into the compiler's scratch buffer (NUL-terminated there) */
    size_t col;      /* 1-based column of its first byte in the source */
    bool quoted;
};

struct compiler {
    const char *src;
    size_t len;
    enum tmpl_escape esc;
    const struct tmpl_names *names;
    char *err;
    size_t err_len;
    struct dynbuf pool;
    struct part *parts;
    size_t n_parts, cap_parts;
    struct span *words;
    size_t n_words, cap_words;
    struct dynbuf scratch; /* one expression's token texts */
    struct token *toks;
    size_t n_toks, cap_toks;
    bool last_is_lit; /* the last part is a literal that may be extended */
};

static int fail(struct compiler *c, int rc, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct compiler *c, int rc, size_t col, const char *fmt, ...)
{
    if (c->err != NULL && c->err_len > 0) {
        int n = 0;
        if (col > 0) {
            n = snprintf(c->err, c->err_len, "column %zu: ", col);
        }
        if (n >= 0 && (size_t)n < c->err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need) {
        ncap *= 2;
    }
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL) {
        return -ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

static int new_part(struct compiler *c, struct part **out)
{
    if (c->n_parts >= TMPL_MAX_PARTS) {
        return fail(c, -E2BIG, 0, "more than %d parts in one template", TMPL_MAX_PARTS);
    }
    if (grow((void **)&c->parts, &c->cap_parts, c->n_parts + 1, sizeof(*c->parts)) != 0) {
        return fail(c, -ENOMEM, 0, "out of memory");
    }
    *out = &c->parts[c->n_parts++];
    memset(*out, 0, sizeof(**out));
    c->last_is_lit = false;
    return 0;
}

/* Appends literal text, extending the previous literal part when there is one. */
static int add_literal(struct compiler *c, const char *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    size_t off = c->pool.len;
    if (dynbuf_add(&c->pool, p, n) != 0) {
        return fail(c, -ENOMEM, 0, "out of memory");
    }
    if (c->last_is_lit) {
        c->parts[c->n_parts - 1].u.lit.len += n;
        return 0;
    }
    struct part *pt;
    int rc = new_part(c, &pt);
    if (rc != 0) {
        return rc;
    }
    pt->kind = P_LIT;
    pt->u.lit.off = off;
    pt->u.lit.len = n;
    c->last_is_lit = true;
    return 0;
}

/*
 * The logical character at src[i] inside an expression: in JSON mode the escapes \" \\ \/
 * \n \t \r stand for one character.  Sets *w to the bytes it takes.
 */
static char lchar(const struct compiler *c, size_t i, size_t *w)
{
    if (c->esc == TMPL_JSON && c->src[i] == '\\' && i + 1 < c->len) {
        static const char from[] = "\"\\/ntr", to[] = "\"\\/\n\t\r";
        const char *k = memchr(from, c->src[i + 1], sizeof(from) - 1);
        if (k != NULL) {
            *w = 2;
            return to[k - from];
        }
    }
    *w = 1;
    return c->src[i];
}

/* True when "}}" starts at logical position i. */
static bool at_close(const struct compiler *c, size_t i)
{
    return i + 1 < c->len && c->src[i] == '}' && c->src[i + 1] == '}';
}

/*
 * Tokenises the expression starting at src[i] (just after "{{") up to its "}}".
 * On success *end is the index just past "}}".
 */
static int tokenise(struct compiler *c, size_t open_col, size_t i, size_t *end)
{
    c->n_toks = 0;
    dynbuf_reset(&c->scratch);
    for (;;) {
        size_t w;
        while (i < c->len && text_is_space(lchar(c, i, &w))) {
            i += w;
        }
        if (i >= c->len) {
            return fail(c, -1, open_col, "'{{' is not closed (expected '}}')");
        }
        if (at_close(c, i)) {
            *end = i + 2;
            return 0;
        }
        if (grow((void **)&c->toks, &c->cap_toks, c->n_toks + 1, sizeof(*c->toks)) != 0) {
            return fail(c, -ENOMEM, 0, "out of memory");
        }
        struct token *t = &c->toks[c->n_toks];
        t->off = c->scratch.len;
        t->col = i + 1;
        t->quoted = false;
        char q = lchar(c, i, &w);
        if (q == '"' || q == '\'') {
            t->quoted = true;
            i += w;
            for (;;) {
                if (i >= c->len) {
                    return fail(c, -1, t->col, "quoted text is not closed (expected %c)", q);
                }
                char ch = lchar(c, i, &w);
                i += w;
                if (ch == q) {
                    break;
                }
                if (ch == '\\' && i < c->len) {
                    size_t w2;
                    char nx = lchar(c, i, &w2);
                    if (nx == '\\' || nx == '"' || nx == '\'') {
                        ch = nx;
                        i += w2;
                    }
                }
                if (dynbuf_addc(&c->scratch, ch) != 0) {
                    return fail(c, -ENOMEM, 0, "out of memory");
                }
            }
        } else {
            while (i < c->len && !at_close(c, i)) {
                char ch = lchar(c, i, &w);
                if (text_is_space(ch)) {
                    break;
                }
                if (dynbuf_addc(&c->scratch, ch) != 0) {
                    return fail(c, -ENOMEM, 0, "out of memory");
                }
                i += w;
            }
        }
        t->len = c->scratch.len - t->off;
        if (dynbuf_addc(&c->scratch, '\0') != 0) {
            return fail(c, -ENOMEM, 0, "out of memory");
        }
        c->n_toks++;
    }
}

static const char *tok_text(const struct compiler *c, size_t k)
{
    return c->scratch.data + c->toks[k].off;
}

static int no_more_args(struct compiler *c, size_t want, const char *what)
{
    if (c->n_toks > want) {
        return fail(c, -1, c->toks[want].col, "unexpected '%s' (expected '}}' after %s)",
                    tok_text(c, want), what);
    }
    return 0;
}

static int parse_int_arg(struct compiler *c, size_t k, int64_t *out)
{
    const char *s = tok_text(c, k);
    char *endp;
    errno = 0;
    long long v = c->toks[k].quoted || s[0] == '\0' ? 0 : strtoll(s, &endp, 10);
    if (c->toks[k].quoted || s[0] == '\0' || *endp != '\0' || text_is_space(s[0])) {
        return fail(c, -1, c->toks[k].col, "'%s' is not an integer (expected randint LO HI)", s);
    }
    if (errno == ERANGE) {
        return fail(c, -1, c->toks[k].col,
                    "'%s' is out of range (expected an integer of at most 64 bits)", s);
    }
    *out = v;
    return 0;
}

static int parse_float_arg(struct compiler *c, size_t k, double *out)
{
    const char *s = tok_text(c, k);
    char *endp = NULL;
    double v = 0;
    bool ok = !c->toks[k].quoted && s[0] != '\0' && !text_is_space(s[0]);
    if (ok) {
        v = strtod(s, &endp);
        ok = *endp == '\0' && isfinite(v);
    }
    if (!ok) {
        return fail(c, -1, c->toks[k].col, "'%s' is not a number (expected randfloat LO HI)", s);
    }
    if (fabs(v) > 1e15) {
        return fail(c, -1, c->toks[k].col,
                    "'%s' is too large (expected a number between -1e15 and 1e15)", s);
    }
    *out = v;
    return 0;
}

static int compile_feeder_ref(struct compiler *c, const char *word, size_t col)
{
    const struct tmpl_names *nm = c->names;
    const char *dot = strchr(word, '.');
    size_t flen = (size_t)(dot - word);
    const char *column = dot + 1;
    size_t n_feeders = nm != NULL ? nm->n_feeders : 0;
    for (size_t i = 0; i < n_feeders; i++) {
        if (strlen(nm->feeders[i]) != flen || memcmp(nm->feeders[i], word, flen) != 0) {
            continue;
        }
        const struct feeder *f = nm->feeder_objs != NULL ? nm->feeder_objs[i] : NULL;
        int ci = f != NULL ? feeder_column(f, column) : -1;
        if (ci < 0) {
            struct text_near s;
            text_near_init(&s, column, strlen(column));
            size_t nc = f != NULL ? feeder_columns(f) : 0;
            for (size_t j = 0; j < nc; j++) {
                text_near_add(&s, feeder_column_name(f, (int)j), 2);
            }
            if (s.best != NULL) {
                return fail(c, -1, col + flen + 1,
                            "feeder '%.*s' has no column '%s'; did you mean '%s'? (expected "
                            "one of its columns)",
                            (int)flen, word, column, s.best);
            }
            return fail(c, -1, col + flen + 1,
                        "feeder '%.*s' has no column '%s' (expected one of its columns%s%s)",
                        (int)flen, word, column, nc > 0 ? ", e.g. " : "",
                        nc > 0 ? feeder_column_name(f, 0) : "");
        }
        struct part *pt;
        int rc = new_part(c, &pt);
        if (rc != 0) {
            return rc;
        }
        pt->kind = P_FEEDER;
        pt->u.fd.feeder = i;
        pt->u.fd.col = ci;
        return 0;
    }
    char fname[80];
    snprintf(fname, sizeof(fname), "%.*s", (int)(flen < 79 ? flen : 79), word);
    struct text_near s;
    text_near_init(&s, fname, strlen(fname));
    for (size_t i = 0; i < n_feeders; i++) {
        text_near_add(&s, nm->feeders[i], 2);
    }
    if (s.best != NULL) {
        return fail(c, -1, col, "unknown feeder '%s'; did you mean '%s'? (expected FEEDER.COLUMN)",
                    fname, s.best);
    }
    return fail(c, -1, col, "unknown feeder '%s' (expected FEEDER.COLUMN with a feeder%s)", fname,
                n_feeders == 0 ? "; none is declared" : " declared in the file");
}

static int add_json(struct dynbuf *out, const char *s, size_t n);
static int add_url(struct dynbuf *out, const char *s, size_t n);

/* A run-wide constant: its value as literal text, escaped for where it lands. */
static int compile_const(struct compiler *c, const char *value, size_t col)
{
    size_t n = strlen(value);
    if (c->esc == TMPL_RAW) {
        return add_literal(c, value, n);
    }
    struct dynbuf esc;
    dynbuf_init(&esc, TMPL_MAX_BYTES);
    int rc = c->esc == TMPL_JSON ? add_json(&esc, value, n) : add_url(&esc, value, n);
    if (rc == 0) {
        rc = add_literal(c, esc.data != NULL ? esc.data : "", esc.len);
    } else {
        rc = fail(c, -1, col, "setup value too long");
    }
    dynbuf_destroy(&esc);
    return rc;
}

static int compile_name(struct compiler *c, const char *word, size_t col)
{
    const struct tmpl_names *nm = c->names;
    if (strchr(word, '.') != NULL) {
        return compile_feeder_ref(c, word, col);
    }
    size_t n_vars = nm != NULL ? nm->n_vars : 0;
    for (size_t i = 0; i < n_vars; i++) {
        if (strcmp(nm->vars[i], word) == 0) {
            struct part *pt;
            int rc = new_part(c, &pt);
            if (rc != 0) {
                return rc;
            }
            pt->kind = P_VAR;
            pt->u.var = i;
            return 0;
        }
    }
    for (size_t i = 0; nm != NULL && i < nm->n_consts; i++) {
        if (strcmp(nm->const_names[i], word) == 0) {
            return compile_const(c, nm->const_values[i], col);
        }
    }
    struct text_near s;
    text_near_init(&s, word, strlen(word));
    for (size_t i = 0; i < N_BUILTINS; i++) {
        text_near_add(&s, builtins[i], 2);
    }
    for (size_t i = 0; nm != NULL && i < nm->n_consts; i++) {
        text_near_add(&s, nm->const_names[i], 2);
    }
    for (size_t i = 0; i < n_vars; i++) {
        text_near_add(&s, nm->vars[i], 2);
    }
    for (size_t i = 0; nm != NULL && i < nm->n_feeders; i++) {
        text_near_add(&s, nm->feeders[i], 2);
    }
    if (s.best != NULL) {
        return fail(c, -1, col, "unknown name '%s'; did you mean '%s'? (" EXPECT_EXPR ")", word,
                    s.best);
    }
    return fail(c, -1, col, "unknown name '%s' (" EXPECT_EXPR ")", word);
}

static int add_json(struct dynbuf *out, const char *s, size_t n);
static int add_url(struct dynbuf *out, const char *s, size_t n);

static int compile_expr(struct compiler *c, size_t open_col)
{
    if (c->n_toks == 0) {
        return fail(c, -1, open_col, "empty expression (" EXPECT_EXPR ")");
    }
    const char *w = tok_text(c, 0);
    size_t col = c->toks[0].col;
    int rc;
    if (c->toks[0].quoted) {
        if ((rc = no_more_args(c, 1, "quoted text")) != 0) {
            return rc;
        }
        if (c->esc == TMPL_RAW) {
            return add_literal(c, w, c->toks[0].len);
        }
        /* Quoted text is a value like any other: escaped for where it lands (a JSON
         * string, a query), so '{{ "say \"hi\"" }}' cannot break the document. */
        struct dynbuf esc;
        dynbuf_init(&esc, TMPL_MAX_BYTES);
        rc = c->esc == TMPL_JSON ? add_json(&esc, w, c->toks[0].len)
                                 : add_url(&esc, w, c->toks[0].len);
        if (rc == 0) {
            rc = add_literal(c, esc.data != NULL ? esc.data : "", esc.len);
        } else {
            rc = fail(c, -1, col, "quoted text too long");
        }
        dynbuf_destroy(&esc);
        return rc;
    }
    static const struct {
        const char *name;
        enum part_kind kind;
    } simple[] = {{"vu", P_VU},   {"iter", P_ITER},     {"scenario", P_SCENARIO},
                  {"seq", P_SEQ}, {"now_ms", P_NOW_MS}, {"uuid", P_UUID}};
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcmp(w, simple[i].name) == 0) {
            if ((rc = no_more_args(c, 1, simple[i].name)) != 0) {
                return rc;
            }
            struct part *pt;
            if ((rc = new_part(c, &pt)) != 0) {
                return rc;
            }
            pt->kind = simple[i].kind;
            return 0;
        }
    }
    if (strcmp(w, "randint") == 0 || strcmp(w, "randfloat") == 0) {
        bool is_int = w[4] == 'i';
        const char *form = is_int ? "randint LO HI" : "randfloat LO HI";
        if (c->n_toks < 3) {
            size_t at = c->n_toks == 2 ? c->toks[1].col + c->toks[1].len : col + strlen(w);
            return fail(c, -1, at, "missing %s (expected %s)", c->n_toks == 2 ? "HI" : "LO and HI",
                        form);
        }
        if ((rc = no_more_args(c, 3, form)) != 0) {
            return rc;
        }
        struct part *pt;
        if (is_int) {
            int64_t lo, hi;
            if ((rc = parse_int_arg(c, 1, &lo)) != 0 || (rc = parse_int_arg(c, 2, &hi)) != 0) {
                return rc;
            }
            if (lo > hi) {
                return fail(
                    c, -1, c->toks[1].col,
                    "LO %lld is greater than HI %lld (expected randint LO HI with LO <= HI)",
                    (long long)lo, (long long)hi);
            }
            if ((rc = new_part(c, &pt)) != 0) {
                return rc;
            }
            pt->kind = P_RANDINT;
            pt->u.ri.lo = lo;
            pt->u.ri.span = (uint64_t)hi - (uint64_t)lo;
        } else {
            double lo, hi;
            if ((rc = parse_float_arg(c, 1, &lo)) != 0 || (rc = parse_float_arg(c, 2, &hi)) != 0) {
                return rc;
            }
            if (lo > hi) {
                return fail(c, -1, c->toks[1].col,
                            "LO is greater than HI (expected randfloat LO HI with LO <= HI)");
            }
            if ((rc = new_part(c, &pt)) != 0) {
                return rc;
            }
            pt->kind = P_RANDFLOAT;
            pt->u.rf.lo = lo;
            pt->u.rf.hi = hi;
        }
        return 0;
    }
    if (strcmp(w, "choice") == 0) {
        size_t n = c->n_toks - 1;
        if (n == 0) {
            return fail(c, -1, col + 6, "choice without words (expected choice A B ...)");
        }
        if (n > TMPL_MAX_CHOICES) {
            return fail(c, -1, c->toks[TMPL_MAX_CHOICES + 1].col,
                        "more than %d words (expected at most %d choices)", TMPL_MAX_CHOICES,
                        TMPL_MAX_CHOICES);
        }
        if (grow((void **)&c->words, &c->cap_words, c->n_words + n, sizeof(*c->words)) != 0) {
            return fail(c, -ENOMEM, 0, "out of memory");
        }
        size_t first = c->n_words;
        for (size_t k = 1; k <= n; k++) {
            c->words[c->n_words].off = c->pool.len;
            c->words[c->n_words].len = c->toks[k].len;
            c->n_words++;
            if (dynbuf_add(&c->pool, tok_text(c, k), c->toks[k].len) != 0) {
                return fail(c, -ENOMEM, 0, "out of memory");
            }
        }
        struct part *pt;
        if ((rc = new_part(c, &pt)) != 0) {
            return rc;
        }
        pt->kind = P_CHOICE;
        pt->u.choice.first = first;
        pt->u.choice.n = n;
        return 0;
    }
    /* A name first (an unknown one is the better message), then no arguments. */
    if ((rc = compile_name(c, w, col)) != 0) {
        return rc;
    }
    return no_more_args(c, 1, w);
}

int tmpl_compile(const char *src, size_t len, enum tmpl_escape esc, const struct tmpl_names *names,
                 struct tmpl **out, char *err, size_t err_len)
{
    struct compiler c = {
        .src = src, .len = len, .esc = esc, .names = names, .err = err, .err_len = err_len};
    struct tmpl *t = NULL;
    int rc = 0;
    if (err != NULL && err_len > 0) {
        err[0] = '\0';
    }
    dynbuf_init(&c.pool, TMPL_MAX_BYTES);
    dynbuf_init(&c.scratch, TMPL_MAX_BYTES);
    if (len > TMPL_MAX_BYTES) {
        rc =
            fail(&c, -E2BIG, 0, "template of %zu bytes (expected at most %d)", len, TMPL_MAX_BYTES);
        goto fail;
    }
    if (esc != TMPL_RAW && esc != TMPL_JSON && esc != TMPL_URL) {
        rc = fail(&c, -EINVAL, 0, "unknown escape mode %d", (int)esc);
        goto fail;
    }
    size_t lit_start = 0, i = 0;
    while (i + 1 < len) {
        if (src[i] != '{' || src[i + 1] != '{') {
            i++;
            continue;
        }
        if ((rc = add_literal(&c, src + lit_start, i - lit_start)) != 0) {
            goto fail;
        }
        size_t end = len;
        if ((rc = tokenise(&c, i + 1, i + 2, &end)) != 0) {
            goto fail;
        }
        if ((rc = compile_expr(&c, i + 1)) != 0) {
            goto fail;
        }
        i = lit_start = end;
    }
    if ((rc = add_literal(&c, src + lit_start, len - lit_start)) != 0) {
        goto fail;
    }

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        rc = fail(&c, -ENOMEM, 0, "out of memory");
        goto fail;
    }
    t->esc = esc;
    t->parts = c.parts;
    t->n_parts = c.n_parts;
    t->words = c.words;
    t->pool = dynbuf_take(&c.pool, NULL);
    t->is_static = true;
    for (size_t k = 0; k < t->n_parts; k++) {
        if (t->parts[k].kind == P_LIT) {
            t->static_len += t->parts[k].u.lit.len;
        } else {
            t->is_static = false;
        }
    }
    c.parts = NULL;
    c.words = NULL;
    dynbuf_destroy(&c.scratch);
    free(c.toks);
    *out = t;
    return 0;

fail:
    free(c.parts);
    free(c.words);
    free(c.toks);
    dynbuf_destroy(&c.pool);
    dynbuf_destroy(&c.scratch);
    return rc;
}

bool tmpl_is_static(const struct tmpl *t)
{
    return t->is_static;
}

size_t tmpl_static_len(const struct tmpl *t)
{
    return t->static_len;
}

bool tmpl_uses_var(const struct tmpl *t, size_t var)
{
    for (size_t k = 0; k < t->n_parts; k++) {
        if (t->parts[k].kind == P_VAR && t->parts[k].u.var == var) {
            return true;
        }
    }
    return false;
}

bool tmpl_uses_feeder(const struct tmpl *t, size_t feeder)
{
    for (size_t k = 0; k < t->n_parts; k++) {
        if (t->parts[k].kind == P_FEEDER && t->parts[k].u.fd.feeder == feeder) {
            return true;
        }
    }
    return false;
}

void tmpl_free(struct tmpl *t)
{
    if (t == NULL) {
        return;
    }
    free(t->parts);
    free(t->words);
    free(t->pool);
    free(t);
}

/* ---- evaluating ------------------------------------------------------------------- */

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* A JSON string's inside: the one escaper (core/json.h), invalid UTF-8 as \ufffd. */
static int add_json(struct dynbuf *out, const char *s, size_t n)
{
    return json_escape(out, s, n, JSON_ESC_ASCII_FFFD);
}

static bool url_unreserved(unsigned char b)
{
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
           b == '.' || b == '_' || b == '~';
}

static int add_url(struct dynbuf *out, const char *s, size_t n)
{
    size_t run = 0;
    int rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (url_unreserved(b)) {
            continue;
        }
        char esc[3] = {'%', hex_upper[b >> 4], hex_upper[b & 15]};
        if ((rc = dynbuf_add(out, s + run, i - run)) != 0 || (rc = dynbuf_add(out, esc, 3)) != 0) {
            return rc;
        }
        run = i + 1;
    }
    return dynbuf_add(out, s + run, n - run);
}

static int add_value(enum tmpl_escape esc, struct dynbuf *out, const char *s, size_t n)
{
    switch (esc) {
    case TMPL_JSON:
        return add_json(out, s, n);
    case TMPL_URL:
        return add_url(out, s, n);
    default:
        return dynbuf_add(out, s, n);
    }
}

static int add_u64(struct dynbuf *out, uint64_t v)
{
    char buf[24];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return dynbuf_add(out, buf + i, sizeof(buf) - i);
}

static int add_i64(struct dynbuf *out, int64_t v)
{
    if (v >= 0) {
        return add_u64(out, (uint64_t)v);
    }
    int rc = dynbuf_addc(out, '-');
    return rc != 0 ? rc : add_u64(out, 0 - (uint64_t)v);
}

static int add_float(struct dynbuf *out, double v)
{
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%.6f", v);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return -EINVAL; /* cannot happen: |v| <= 1e15 */
    }
    while (n > 0 && buf[n - 1] == '0') {
        n--;
    }
    if (n > 0 && buf[n - 1] == '.') {
        n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {
        return dynbuf_addc(out, '0');
    }
    return dynbuf_add(out, buf, (size_t)n);
}

static int add_uuid(struct dynbuf *out, uint64_t *rng)
{
    unsigned char b[16];
    uint64_t a = rng_next(rng), c = rng_next(rng);
    for (int k = 0; k < 8; k++) {
        b[k] = (unsigned char)(a >> (8 * k));
        b[8 + k] = (unsigned char)(c >> (8 * k));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    char s[36];
    size_t j = 0;
    for (int k = 0; k < 16; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10) {
            s[j++] = '-';
        }
        s[j++] = hex_lower[b[k] >> 4];
        s[j++] = hex_lower[b[k] & 15];
    }
    return dynbuf_add(out, s, sizeof(s));
}

int tmpl_eval(const struct tmpl *t, struct flow_vu *v, const struct feeder *const *feeders,
              struct dynbuf *out)
{
    size_t start = out->len;
    int rc = 0;
    for (size_t k = 0; k < t->n_parts && rc == 0; k++) {
        const struct part *p = &t->parts[k];
        switch (p->kind) {
        case P_LIT:
            rc = dynbuf_add(out, t->pool + p->u.lit.off, p->u.lit.len);
            break;
        case P_VU:
            rc = add_u64(out, v->vu);
            break;
        case P_ITER:
            rc = add_u64(out, v->iter);
            break;
        case P_SCENARIO:
            if (v->scenario != NULL) {
                rc = add_value(t->esc, out, v->scenario, strlen(v->scenario));
            }
            break;
        case P_SEQ: {
            uint64_t n = 0;
            if (v->seq != NULL) {
                n = (*v->seq)++;
            }
            rc = add_u64(out, n * (v->seq_stride ? v->seq_stride : 1) + v->seq_offset);
            break;
        }
        case P_NOW_MS:
            rc = add_u64(out, clock_wall_ns() / 1000000u);
            break;
        case P_UUID:
            rc = add_uuid(out, &v->rng);
            break;
        case P_RANDINT:
            rc =
                add_i64(out, (int64_t)((uint64_t)p->u.ri.lo + rng_range(&v->rng, 0, p->u.ri.span)));
            break;
        case P_RANDFLOAT: {
            double x = p->u.rf.lo + rng_unit(&v->rng) * (p->u.rf.hi - p->u.rf.lo);
            rc = add_float(out, x);
            break;
        }
        case P_CHOICE: {
            size_t w = p->u.choice.first + (size_t)rng_range(&v->rng, 0, p->u.choice.n - 1);
            rc = add_value(t->esc, out, t->pool + t->words[w].off, t->words[w].len);
            break;
        }
        case P_VAR:
            if (p->u.var < v->n_vars && v->vars != NULL && v->vars[p->u.var].set) {
                const struct flow_var *fv = &v->vars[p->u.var];
                rc = add_value(t->esc, out, fv->val, fv->len);
            }
            break;
        case P_FEEDER: {
            size_t fi = p->u.fd.feeder;
            if (feeders == NULL || v->rows == NULL || fi >= v->n_feeders || v->rows[fi] < 0 ||
                feeders[fi] == NULL) {
                break;
            }
            size_t n;
            const char *cell = feeder_cell(feeders[fi], v->rows[fi], p->u.fd.col, &n);
            if (cell != NULL) {
                rc = add_value(t->esc, out, cell, n);
            }
            break;
        }
        }
    }
    if (rc != 0) {
        dynbuf_truncate(out, start);
    }
    return rc;
}

/* ---- environment expansion -------------------------------------------------------- */

static bool name_start(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool name_char(char ch)
{
    return name_start(ch) || (ch >= '0' && ch <= '9');
}

int env_expand(const char *src, char **out, char *err, size_t err_len)
{
    struct dynbuf b;
    int rc = 0;
    dynbuf_init(&b, TMPL_MAX_BYTES);
    *out = NULL;
    size_t i = 0, n = strlen(src);
    while (i < n) {
        const char *dollar = memchr(src + i, '$', n - i);
        size_t stop = dollar != NULL ? (size_t)(dollar - src) : n;
        if ((rc = dynbuf_add(&b, src + i, stop - i)) != 0) {
            goto nomem;
        }
        i = stop;
        if (i >= n) {
            break;
        }
        if (src[i + 1] == '$') {
            if ((rc = dynbuf_addc(&b, '$')) != 0) {
                goto nomem;
            }
            i += 2;
            continue;
        }
        if (src[i + 1] != '{') {
            if ((rc = dynbuf_addc(&b, '$')) != 0) {
                goto nomem;
            }
            i++;
            continue;
        }
        size_t col = i + 1;
        size_t ns = i + 2, ne = ns;
        if (!name_start(src[ne])) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: bad variable name after '${' (expected ${NAME} or "
                           "${NAME:-default}, NAME of letters, digits and '_')",
                           ne + 1);
            goto fail;
        }
        while (name_char(src[ne])) {
            ne++;
        }
        char name[256];
        if (ne - ns >= sizeof(name)) {
            rc = text_errf(err, err_len, -1,
                           "column %zu: variable name too long (expected at most %zu bytes)", col,
                           sizeof(name) - 1);
            goto fail;
        }
        memcpy(name, src + ns, ne - ns);
        name[ne - ns] = '\0';
        const char *val = getenv(name);
        if (src[ne] == '}') {
            if (val == NULL) {
                rc = text_errf(err, err_len, -1,
                               "environment variable %s is not set (write ${%s:-default} to give "
                               "a default)",
                               name, name);
                goto fail;
            }
            if ((rc = dynbuf_adds(&b, val)) != 0) {
                goto nomem;
            }
            i = ne + 1;
            continue;
        }
        if (src[ne] == ':' && src[ne + 1] == '-') {
            const char *close = strchr(src + ne + 2, '}');
            if (close == NULL) {
                rc = text_errf(err, err_len, -1, "column %zu: '${' is not closed (expected '}')",
                               col);
                goto fail;
            }
            if (val != NULL && val[0] != '\0') {
                rc = dynbuf_adds(&b, val);
            } else {
                rc = dynbuf_add(&b, src + ne + 2, (size_t)(close - (src + ne + 2)));
            }
            if (rc != 0) {
                goto nomem;
            }
            i = (size_t)(close - src) + 1;
            continue;
        }
        if (src[ne] == '\0') {
            rc = text_errf(err, err_len, -1, "column %zu: '${' is not closed (expected '}')", col);
        } else {
            rc = text_errf(err, err_len, -1,
                           "column %zu: unexpected '%c' after ${%s (expected '}' or "
                           "':-default}')",
                           ne + 1, src[ne], name);
        }
        goto fail;
    }
    *out = b.data != NULL ? dynbuf_take(&b, NULL) : strdup("");
    if (*out == NULL) {
        rc = -ENOMEM;
        goto nomem;
    }
    return 0;

nomem:
    if (rc == -E2BIG) {
        text_errf(err, err_len, rc, "expanded text over %d bytes", TMPL_MAX_BYTES);
    } else {
        text_errf(err, err_len, rc, "out of memory");
    }
fail:
    dynbuf_destroy(&b);
    return rc;
}
