/*
 * load — scenario files into plans (see load.h for the contract, docs/scenarios.md for
 * the format, key by key).
 *
 * Three stages, all at load time:
 *  1. YAML to a tree.  libfyaml's event parser feeds a small tree of our own (struct
 *     ynode) that keeps each node's line and column; anchors and aliases are resolved by
 *     sharing nodes, with the total expanded size capped so a "billion laughs" document
 *     is refused instead of walked.
 *  2. The tree to a plan.  Every mapping's keys are checked against the keys allowed at
 *     its place (unknown ones get a did-you-mean), scalars are ${ENV}-expanded on first
 *     use, executors are validated as k6 validates them, and each request step is
 *     compiled into a struct flow_step (flow_internal.h): the request as a list of
 *     literal runs and templates, its extractions and its checks.
 *  3. Errors: the first one wins and is written once, "FILE:LINE:COL: what (expected
 *     ...)"; every function below returns -1 after writing it, and the caller unwinds.
 */
#include "scenario/load.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/parse.h"
#include "core/text.h"
#include "http/reqhead.h"
#include "metrics/threshold.h"
#include "scenario/flow_internal.h"

#define NS_S 1000000000ull

bool scenario__skip_resolve = false;
#define MAX_DEPTH 64

/* ------------------------------------------------------------------------------------ */
/* The YAML tree                                                                         */

enum ytype { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
    enum ytype type;
    int line, col; /* 1-based */
    bool quoted;   /* single- or double-quoted scalar */
    bool block;    /* literal or folded block scalar */
    bool is_null;  /* plain null, ~ or empty */
    bool raw_tag;  /* tagged !raw */
    char *s;       /* scalar text as written (owned), NUL-terminated */
    size_t len;
    char *exp;           /* s after ${ENV} expansion (owned; set on first use) */
    struct ynode **kids; /* map: key, value, key, value ...; seq: items */
    size_t n, cap;
    uint64_t weight; /* nodes (+ 1 per 64 scalar bytes) in this subtree, aliases expanded */
    char *anchor;    /* pending anchor name until the node is complete */
};

struct loader {
    const char *file;
    const char *base_dir;
    char *err;
    size_t err_len;
    bool failed;
    struct ynode **all; /* every node, for freeing (aliases share nodes) */
    size_t n_all, cap_all;
    struct anchor {
        char *name;
        struct ynode *node;
    } * anchors;
    size_t n_anchors, cap_anchors;

    struct plan *plan;
    struct load_owner *own;
    struct scenario_file_opts *opts;
    /* The file's defaults. */
    struct ynode *base_url_node;
    char *base_origin; /* "http://host:port" of base_url */
    char *base_path;   /* its path without the trailing '/', "" for none */
    struct ynode *def_headers;
    uint64_t def_timeout_ns;
};

struct load_owner {
    struct feeder **feeders;
    char **feeder_names;
    size_t n_feeders;
    struct flow_scenario *fscs;
    size_t n_fscs;
    struct flow_step **steps;
    size_t n_steps, cap_steps;
};

static int lerr(struct loader *L, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lerr(struct loader *L, const struct ynode *n, const char *fmt, ...)
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

/* An error at an explicit position. */
static int lerr_at(struct loader *L, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int lerr_at(struct loader *L, int line, int col, const char *fmt, ...)
{
    struct ynode at = {.line = line, .col = col};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lerr(L, &at, "%s", msg);
}

static int oom(struct loader *L)
{
    return lerr(L, NULL, "out of memory");
}

static struct ynode *ynew(struct loader *L, enum ytype type, int line, int col)
{
    if (L->n_all >= SCENARIO_MAX_NODES) {
        lerr_at(L, line, col, "too many YAML nodes (at most %u)", SCENARIO_MAX_NODES);
        return NULL;
    }
    if (L->n_all == L->cap_all) {
        size_t cap = L->cap_all ? L->cap_all * 2 : 256;
        struct ynode **a = realloc(L->all, cap * sizeof *a);
        if (a == NULL) {
            oom(L);
            return NULL;
        }
        L->all = a;
        L->cap_all = cap;
    }
    struct ynode *n = calloc(1, sizeof *n);
    if (n == NULL) {
        oom(L);
        return NULL;
    }
    n->type = type;
    n->line = line;
    n->col = col;
    n->weight = 1;
    L->all[L->n_all++] = n;
    return n;
}

static int yadd(struct loader *L, struct ynode *parent, struct ynode *kid)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct ynode **k = realloc(parent->kids, cap * sizeof *k);
        if (k == NULL) {
            return oom(L);
        }
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    parent->weight += kid->weight;
    if (parent->weight > SCENARIO_MAX_NODES) {
        return lerr(L, kid,
                    "the document expands to more than %u nodes or 64 MB of text (aliases?)",
                    SCENARIO_MAX_NODES);
    }
    return 0;
}

static void ytree_free(struct loader *L)
{
    for (size_t i = 0; i < L->n_all; i++) {
        free(L->all[i]->s);
        free(L->all[i]->exp);
        free(L->all[i]->kids);
        free(L->all[i]->anchor);
        free(L->all[i]);
    }
    free(L->all);
    for (size_t i = 0; i < L->n_anchors; i++) {
        free(L->anchors[i].name);
    }
    free(L->anchors);
}

static int anchor_set(struct loader *L, const char *name, struct ynode *node)
{
    for (size_t i = 0; i < L->n_anchors; i++) {
        if (strcmp(L->anchors[i].name, name) == 0) {
            L->anchors[i].node = node; /* YAML: a later anchor of the same name wins */
            return 0;
        }
    }
    if (L->n_anchors == L->cap_anchors) {
        size_t cap = L->cap_anchors ? L->cap_anchors * 2 : 8;
        struct anchor *a = realloc(L->anchors, cap * sizeof *a);
        if (a == NULL) {
            return oom(L);
        }
        L->anchors = a;
        L->cap_anchors = cap;
    }
    L->anchors[L->n_anchors].name = strdup(name);
    if (L->anchors[L->n_anchors].name == NULL) {
        return oom(L);
    }
    L->anchors[L->n_anchors++].node = node;
    return 0;
}

static char *token_dup(struct fy_token *t)
{
    size_t len = 0;
    const char *s = t != NULL ? fy_token_get_text(t, &len) : NULL;
    return s != NULL ? strndup(s, len) : NULL;
}

/* libfyaml's diagnostics, captured (the first KiB) instead of printed. */
struct diag_capture {
    char text[1024];
    size_t len;
};

static void diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    struct diag_capture *c = user;
    size_t room = sizeof c->text - 1 - c->len;
    if (len > room) {
        len = room;
    }
    memcpy(c->text + c->len, buf, len);
    c->len += len;
    c->text[c->len] = '\0';
}

/* Turns the first captured "NAME:LINE:COL: error: MSG" line into our error. */
static int diag_error(struct loader *L, struct diag_capture *c)
{
    char *nl = strchr(c->text, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }
    char *e = strstr(c->text, ": error: ");
    int line = 1, col = 1;
    const char *msg = "invalid YAML";
    if (e != NULL) {
        msg = e + 9;
        *e = '\0';
        char *c2 = strrchr(c->text, ':');
        if (c2 != NULL) {
            col = atoi(c2 + 1);
            *c2 = '\0';
            char *c1 = strrchr(c->text, ':');
            if (c1 != NULL) {
                line = atoi(c1 + 1);
            }
        }
    }
    return lerr_at(L, line > 0 ? line : 1, col > 0 ? col : 1, "YAML syntax error: %s", msg);
}

/*
 * YAML is Unicode text: refuse invalid UTF-8 (and NUL bytes) before libfyaml sees it.
 * Besides giving a clear message, this matters: libfyaml 0.7.12 loops forever on some
 * invalid UTF-8 inside a %directive line (found by tests/fuzz/fuzz_scenario.c).
 */
static int check_utf8(struct loader *L, const char *s, size_t len)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = 0;
        uint32_t cp = 0;
        if (c == 0) {
            return lerr_at(L, line, col, "a NUL byte (expected UTF-8 text)");
        }
        if (c < 0x80) {
            n = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        }
        bool ok = n > 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            unsigned char cc = (unsigned char)s[i + k];
            ok = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (ok && n > 1) {
            static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min_cp[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        }
        if (!ok) {
            return lerr_at(L, line, col, "invalid UTF-8 (expected UTF-8 text)");
        }
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += n;
    }
    return 0;
}

/* Parses yaml[0..len) into a tree; *root is its root (NULL for an empty document). */
static int ytree_build(struct loader *L, const char *yaml, size_t len, struct ynode **root)
{
    *root = NULL;
    if (check_utf8(L, yaml, len) < 0) {
        return -1;
    }
    /* Collected errors (FYPCF_COLLECT_DIAG) leak in libfyaml 0.7.12, so the diagnostic
     * text is captured through output_fn instead and its first line parsed. */
    struct diag_capture cap = {.len = 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_output;
    dcfg.user = &cap;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (diag == NULL) {
        return oom(L);
    }
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_parser *p = fy_parser_create(&cfg);
    if (p == NULL || fy_parser_set_string(p, yaml, len) != 0) {
        if (p != NULL) {
            fy_parser_destroy(p);
        }
        fy_diag_unref(diag);
        return oom(L);
    }
    struct ynode *stack[MAX_DEPTH + 1];
    int depth = 0;
    int docs = 0;
    int last_line = 1, last_col = 1;
    int rc = 0;
    *root = NULL;
    struct fy_event *e;
    while (rc == 0 && (e = fy_parser_parse(p)) != NULL) {
        const struct fy_mark *m = fy_event_start_mark(e);
        int line = m != NULL ? m->line + 1 : last_line;
        int col = m != NULL ? m->column + 1 : last_col;
        const struct fy_mark *me = fy_event_end_mark(e);
        if (me != NULL) {
            last_line = me->line + 1;
            last_col = me->column + 1;
        }
        struct ynode *n = NULL;
        switch (e->type) {
        case FYET_DOCUMENT_START:
            if (++docs > 1) {
                rc = lerr_at(L, line, col,
                             "a second YAML document (expected one document per file)");
            }
            break;
        case FYET_SCALAR: {
            n = ynew(L, Y_SCALAR, line, col);
            if (n == NULL) {
                rc = -1;
                break;
            }
            size_t sl = 0;
            const char *s = fy_token_get_text(e->scalar.value, &sl);
            if (s == NULL) {
                s = "";
                sl = 0;
            }
            if (memchr(s, '\0', sl) != NULL) {
                rc = lerr(L, n, "a NUL character in a string (expected text)");
                break;
            }
            n->s = strndup(s, sl);
            n->len = sl;
            /* A long scalar weighs by its size too (a unit per 64 bytes), so aliases to
             * it cannot make the compiled plan balloon: a 1 MB body referenced from 100
             * steps would compile to 100 MB. */
            n->weight = 1 + sl / 64;
            if (n->s == NULL) {
                rc = oom(L);
                break;
            }
            enum fy_node_style st = fy_event_get_node_style(e);
            n->quoted = st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED;
            n->block = st == FYNS_LITERAL || st == FYNS_FOLDED;
            n->is_null = !n->quoted && !n->block &&
                         (sl == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
                          strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
            char *tag = token_dup(fy_event_get_tag_token(e));
            if (tag != NULL) {
                if (strcmp(tag, "!raw") == 0) {
                    n->raw_tag = true;
                } else if (strncmp(tag, "tag:yaml.org,2002:", 18) != 0) {
                    rc = lerr(L, n, "unknown tag '%s' (expected !raw or none)", tag);
                }
                free(tag);
            }
            n->anchor = token_dup(fy_event_get_anchor_token(e));
            break;
        }
        case FYET_ALIAS: {
            char *name = token_dup(e->alias.anchor);
            struct ynode *target = NULL;
            for (size_t i = 0; name != NULL && i < L->n_anchors; i++) {
                if (strcmp(L->anchors[i].name, name) == 0) {
                    target = L->anchors[i].node;
                }
            }
            if (target == NULL) {
                /* The mark is past the '*'. */
                rc = lerr_at(L, line, col > 1 ? col - 1 : col,
                             "unknown alias '*%s' (expected an anchor &%s before it)",
                             name ? name : "", name ? name : "");
            }
            free(name);
            n = target;
            break;
        }
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START:
            if (depth >= MAX_DEPTH) {
                rc = lerr_at(L, line, col, "nested too deeply (at most %d levels)", MAX_DEPTH);
                break;
            }
            n = ynew(L, e->type == FYET_MAPPING_START ? Y_MAP : Y_SEQ, line, col);
            if (n == NULL) {
                rc = -1;
                break;
            }
            n->anchor = token_dup(fy_event_get_anchor_token(e));
            if (depth > 0) {
                rc = yadd(L, stack[depth - 1], n);
            } else if (*root == NULL) {
                *root = n;
            }
            stack[depth++] = n;
            n = NULL; /* added already */
            break;
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END: {
            struct ynode *done = stack[--depth];
            if (depth > 0) {
                /* Its weight grew after it was added to the parent. */
                stack[depth - 1]->weight += done->weight - 1;
                if (stack[depth - 1]->weight > SCENARIO_MAX_NODES) {
                    rc = lerr(
                        L, done,
                        "the document expands to more than %u nodes or 64 MB of text (aliases?)",
                        SCENARIO_MAX_NODES);
                }
            }
            if (rc == 0 && done->anchor != NULL) {
                rc = anchor_set(L, done->anchor, done);
            }
            break;
        }
        default:
            break;
        }
        if (rc == 0 && n != NULL) {
            if (e->type == FYET_SCALAR && n->anchor != NULL) {
                rc = anchor_set(L, n->anchor, n);
            }
            if (rc == 0) {
                if (depth > 0) {
                    rc = yadd(L, stack[depth - 1], n);
                } else if (*root == NULL) {
                    *root = n;
                }
            }
        }
        fy_parser_event_free(p, e);
    }
    if (rc == 0 && fy_parser_get_stream_error(p)) {
        rc = diag_error(L, &cap);
    }
    fy_parser_destroy(p);
    fy_diag_unref(diag);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Reading values                                                                        */

static const char *ytype_name(const struct ynode *n)
{
    return n->type == Y_MAP ? "a mapping" : n->type == Y_SEQ ? "a list" : "a scalar";
}

/* The scalar's text after ${ENV} expansion; NULL (error written) when it is not a scalar. */
static const char *sval(struct loader *L, struct ynode *n, const char *expected)
{
    if (n->type != Y_SCALAR) {
        lerr(L, n, "found %s (expected %s)", ytype_name(n), expected);
        return NULL;
    }
    if (n->exp == NULL) {
        char msg[512];
        int rc = env_expand(n->s, &n->exp, msg, sizeof msg);
        if (rc < 0) {
            lerr(L, n, "%s", msg);
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
static const char *suggest(const char *w, const char *const *words)
{
    const char *best = NULL;
    int best_d = 99;
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
static int check_map(struct loader *L, struct ynode *n, const char *what,
                     const char *const *allowed)
{
    if (n->type != Y_MAP) {
        return lerr(L, n, "found %s for %s (expected a mapping)", ytype_name(n), what);
    }
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i];
        if (k->type != Y_SCALAR) {
            return lerr(L, k, "found %s as a key (expected a name)", ytype_name(k));
        }
        for (size_t j = 0; j < i; j += 2) {
            if (n->kids[j]->type == Y_SCALAR && strcmp(n->kids[j]->s, k->s) == 0) {
                return lerr(L, k, "duplicate key '%s' (first at line %d)", k->s, n->kids[j]->line);
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
            const char *s = suggest(k->s, allowed);
            if (s != NULL) {
                return lerr(L, k, "unknown key '%s' in %s (did you mean '%s'?)", k->s, what, s);
            }
            char list[600];
            join_words(allowed, list, sizeof list);
            return lerr(L, k, "unknown key '%s' in %s (expected one of: %s)", k->s, what, list);
        }
    }
    return 0;
}

/* The value of key in map n (or of its alias spelling alt), NULL when absent; with both
 * spellings present, an error (and *bad set). */
static struct ynode *mget2(struct loader *L, struct ynode *n, const char *key, const char *alt,
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
                lerr(L, k, "'%s' given twice, as '%s' and '%s' (expected one spelling)", key,
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

static struct ynode *mget(struct ynode *n, const char *key)
{
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        if (n->kids[i]->type == Y_SCALAR && strcmp(n->kids[i]->s, key) == 0) {
            return n->kids[i + 1];
        }
    }
    return NULL;
}

/* The key node whose value is v in map n (for error positions). */
static struct ynode *mkey_of(struct ynode *n, const struct ynode *v)
{
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        if (n->kids[i + 1] == v) {
            return n->kids[i];
        }
    }
    return n;
}

static int get_duration(struct loader *L, struct ynode *n, bool allow_zero, uint64_t *out)
{
    const char *s = sval(L, n, "a duration such as 30s");
    if (s == NULL) {
        return -1;
    }
    uint64_t ns;
    if (parse_duration_ns(s, &ns) < 0) {
        return lerr(L, n, "bad duration '%s' (expected a duration such as 30s, 1m30s or 500ms)", s);
    }
    if (ns == 0 && !allow_zero) {
        return lerr(L, n, "the duration must be more than 0 (expected a duration such as 30s)");
    }
    *out = ns;
    return 0;
}

static int get_u64(struct loader *L, struct ynode *n, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *s = sval(L, n, "a whole number");
    if (s == NULL) {
        return -1;
    }
    uint64_t v;
    if (parse_u64(s, &v) < 0) {
        return lerr(L, n, "bad number '%s' (expected a whole number such as 10)", s);
    }
    if (v < min || v > max) {
        return lerr(L, n, "%llu is out of range (expected %llu to %llu)", (unsigned long long)v,
                    (unsigned long long)min, (unsigned long long)max);
    }
    *out = v;
    return 0;
}

static int get_double(struct loader *L, struct ynode *n, double min, double max, double *out)
{
    const char *s = sval(L, n, "a number");
    if (s == NULL) {
        return -1;
    }
    double v;
    if (parse_double(s, &v) < 0) {
        return lerr(L, n, "bad number '%s' (expected a number such as 100 or 0.5)", s);
    }
    if (v < min || v > max) {
        return lerr(L, n, "%g is out of range (expected %g to %g)", v, min, max);
    }
    *out = v;
    return 0;
}

static int get_enum(struct loader *L, struct ynode *n, const char *what, const char *const *words,
                    int *out)
{
    const char *s = sval(L, n, what);
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
    const char *sug = suggest(s, words);
    if (sug != NULL) {
        return lerr(L, n, "unknown %s '%s' (did you mean '%s'?)", what, s, sug);
    }
    return lerr(L, n, "unknown %s '%s' (expected one of: %s)", what, s, list);
}

static bool is_ident(const char *s)
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
static int sub_err(struct loader *L, const struct ynode *n, size_t base, const char *prefix,
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
    return lerr_at(L, line, c, "%s%s", prefix, rest);
}

struct scen_ctx {
    const char *name;
    char **vars;
    size_t n_vars;
    struct tmpl_names names;
    bool *feeder_used;
    struct ynode *def_headers;
    uint64_t def_timeout_ns;
    struct scenario_plan *sc;
    size_t cap_steps;
};

/* Compiles src (text of node n starting at byte base) as a template. */
static int compile_tmpl(struct loader *L, struct scen_ctx *C, const struct ynode *n, size_t base,
                        const char *src, size_t len, enum tmpl_escape esc, struct tmpl **out)
{
    char msg[512];
    int rc = tmpl_compile(src, len, esc, &C->names, out, msg, sizeof msg);
    if (rc == -ENOMEM) {
        return oom(L);
    }
    if (rc < 0) {
        return sub_err(L, n, base, "bad template: ", msg);
    }
    for (size_t i = 0; i < C->names.n_feeders; i++) {
        if (tmpl_uses_feeder(*out, i)) {
            C->feeder_used[i] = true;
        }
    }
    return 0;
}

/* The literal output of a static template. */
static int tmpl_static_text(struct tmpl *t, struct dynbuf *out)
{
    struct flow_vu v;
    uint64_t seq = 0;
    memset(&v, 0, sizeof v);
    v.seq = &seq;
    v.seq_stride = 1;
    return tmpl_eval(t, &v, NULL, out);
}

/*
 * Applies f to the literal runs of a template source (outside "{{ ... }}"), copying the
 * expressions as they are: the literal parts of query and form values are URL-encoded
 * this way while their expressions are left for the template compiler.
 */
static int map_literal(const char *s, struct dynbuf *out, int (*f)(struct dynbuf *, char))
{
    int rc = 0;
    for (size_t i = 0; s[i] && rc == 0;) {
        if (s[i] == '{' && s[i + 1] == '{') {
            size_t j = i + 2;
            char q = 0;
            while (s[j]) {
                if (q) {
                    if (s[j] == '\\' && s[j + 1]) {
                        j++;
                    } else if (s[j] == q) {
                        q = 0;
                    }
                } else if (s[j] == '"' || s[j] == '\'') {
                    q = s[j];
                } else if (s[j] == '}' && s[j + 1] == '}') {
                    j += 2;
                    break;
                }
                j++;
            }
            rc = dynbuf_add(out, s + i, j - i);
            i = j;
        } else {
            rc = f(out, s[i]);
            i++;
        }
    }
    return rc;
}

static int url_enc_char(struct dynbuf *out, char c)
{
    unsigned char u = (unsigned char)c;
    if (isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
        return dynbuf_addc(out, c);
    }
    return dynbuf_addf(out, "%%%02X", u);
}

/* ------------------------------------------------------------------------------------ */
/* Owner, origins                                                                        */

static void owner_free(void *p)
{
    struct load_owner *o = p;
    if (o == NULL) {
        return;
    }
    for (size_t i = 0; i < o->n_steps; i++) {
        flow__step_destroy(o->steps[i]);
        free(o->steps[i]);
    }
    free(o->steps);
    for (size_t i = 0; i < o->n_fscs; i++) {
        struct flow_scenario *f = &o->fscs[i];
        for (size_t j = 0; j < f->n_vars; j++) {
            free(f->var_names[j]);
        }
        free(f->var_names);
        free(f->feeder_used);
    }
    free(o->fscs);
    for (size_t i = 0; i < o->n_feeders; i++) {
        feeder_free(o->feeders[i]);
        free(o->feeder_names[i]);
    }
    free(o->feeders);
    free(o->feeder_names);
    free(o);
}

static struct flow_step *owner_new_step(struct loader *L)
{
    struct load_owner *o = L->own;
    if (o->n_steps == o->cap_steps) {
        size_t cap = o->cap_steps ? o->cap_steps * 2 : 16;
        struct flow_step **s = realloc(o->steps, cap * sizeof *s);
        if (s == NULL) {
            oom(L);
            return NULL;
        }
        o->steps = s;
        o->cap_steps = cap;
    }
    struct flow_step *fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        oom(L);
        return NULL;
    }
    o->steps[o->n_steps++] = fs;
    return fs;
}

/* Finds or adds the origin "scheme://authority" (no templates), resolving it. */
static int origin_get(struct loader *L, const struct ynode *n, const char *origin_url,
                      const struct origin **out)
{
    char err[512];
    bool unreachable = false;
    int i = plan_origin_add(L->plan, origin_url, !scenario__skip_resolve, &unreachable, err,
                            sizeof err);
    if (i < 0) {
        if (unreachable && L->opts != NULL) {
            L->opts->unreachable = true;
        }
        return lerr(L, n, "%s", err);
    }
    *out = &L->plan->origins[i];
    return 0;
}

/* Splits an absolute URL into "scheme://authority" and the rest (path and query). */
static int split_url(struct loader *L, const struct ynode *n, const char *url, char **origin,
                     const char **rest)
{
    const char *p = strstr(url, "://");
    if (p == NULL) {
        return lerr(L, n, "bad URL '%s' (expected http://host[:port][/path])", url);
    }
    p += 3;
    size_t a = strcspn(p, "/?#");
    if (memmem(url, (size_t)(p - url) + a, "{{", 2) != NULL) {
        return lerr(L, n,
                    "a template in the host part of '%s' (expected a fixed host: "
                    "templates may be used in the path and query only)",
                    url);
    }
    *origin = strndup(url, (size_t)(p - url) + a);
    if (*origin == NULL) {
        return oom(L);
    }
    *rest = p + a;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Request steps                                                                         */

static const char *const REQUEST_KEYS[] = {
    "request", "name",    "headers", "query",   "body",   "json", "form",
    "timeout", "extract", "check",   "on_fail", "expect", NULL,
};

struct hdr {
    const char *name;
    struct ynode *val;
};

/* Adds the headers of map n to the list, a later name replacing an earlier one. */
static int merge_headers(struct loader *L, struct ynode *n, struct hdr *h, size_t *nh, size_t cap)
{
    if (n == NULL) {
        return 0;
    }
    if (check_map(L, n, "headers", NULL) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n->n; i += 2) {
        const char *name = n->kids[i]->s;
        char err[300];
        if (plan_header_name_check(name, strlen(name), err, sizeof err) < 0) {
            return lerr(L, n->kids[i], "%s", err);
        }
        size_t j = 0;
        while (j < *nh && strcasecmp(h[j].name, name) != 0) {
            j++;
        }
        if (j == *nh) {
            if (*nh == cap) {
                return lerr(L, n->kids[i], "too many headers (at most %zu)", cap);
            }
            (*nh)++;
        }
        h[j].name = name;
        h[j].val = n->kids[i + 1];
    }
    return 0;
}

struct parts {
    struct flow_part *p;
    size_t n, cap;
    struct dynbuf lit; /* pending literal bytes */
};

static int parts_flush(struct loader *L, struct parts *P)
{
    if (P->lit.len == 0) {
        return 0;
    }
    if (P->n == P->cap) {
        size_t cap = P->cap ? P->cap * 2 : 8;
        struct flow_part *np = realloc(P->p, cap * sizeof *np);
        if (np == NULL) {
            return oom(L);
        }
        P->p = np;
        P->cap = cap;
    }
    struct flow_part *part = &P->p[P->n++];
    memset(part, 0, sizeof *part);
    part->lit_len = P->lit.len;
    part->lit = dynbuf_take(&P->lit, NULL);
    return 0;
}

static int parts_lit(struct loader *L, struct parts *P, const char *s, size_t n)
{
    if (dynbuf_add(&P->lit, s, n) < 0) {
        return lerr(L, NULL, "request too large (at most %u bytes)", FLOW_MAX_REQUEST_BYTES);
    }
    return 0;
}

/* Adds a template part (taking t); a static one becomes literal text. */
static int parts_tmpl(struct loader *L, struct parts *P, struct tmpl *t, bool guard)
{
    if (tmpl_is_static(t)) {
        size_t from = P->lit.len;
        int rc = tmpl_static_text(t, &P->lit);
        tmpl_free(t);
        if (rc < 0) {
            return lerr(L, NULL, "request too large (at most %u bytes)", FLOW_MAX_REQUEST_BYTES);
        }
        for (size_t i = from; guard && i < P->lit.len; i++) {
            if (P->lit.data[i] == '\r' || P->lit.data[i] == '\n') {
                P->lit.data[i] = ' ';
            }
        }
        return 0;
    }
    if (parts_flush(L, P) < 0) {
        tmpl_free(t);
        return -1;
    }
    if (P->n == P->cap) {
        size_t cap = P->cap ? P->cap * 2 : 8;
        struct flow_part *np = realloc(P->p, cap * sizeof *np);
        if (np == NULL) {
            tmpl_free(t);
            return oom(L);
        }
        P->p = np;
        P->cap = cap;
    }
    struct flow_part *part = &P->p[P->n++];
    memset(part, 0, sizeof *part);
    part->t = t;
    part->guard_crlf = guard;
    return 0;
}

static void parts_free(struct parts *P)
{
    for (size_t i = 0; i < P->n; i++) {
        free(P->p[i].lit);
        tmpl_free(P->p[i].t);
    }
    free(P->p);
    dynbuf_destroy(&P->lit);
    memset(P, 0, sizeof *P);
}

/* Checks the literal bytes of a URL template source: no white space or controls. */
static int check_target_literal(struct loader *L, const struct ynode *n, size_t base,
                                const char *src)
{
    for (size_t i = 0; src[i];) {
        if (src[i] == '{' && src[i + 1] == '{') {
            const char *e = strstr(src + i + 2, "}}");
            if (e == NULL) {
                return 0; /* the template compiler names it */
            }
            i = (size_t)(e - src) + 2;
            continue;
        }
        unsigned char c = (unsigned char)src[i];
        if (c <= ' ' || c >= 127) {
            char m[96];
            snprintf(m, sizeof m,
                     "column %zu: a space, control or non-ASCII byte in the URL "
                     "(expected it percent-encoded, e.g. %%20)",
                     i + 1);
            return sub_err(L, n, base, "", m);
        }
        i++;
    }
    return 0;
}

/* Is this plain scalar a JSON number? */
static bool json_number_text(const char *s)
{
    const char *p = s;
    if (*p == '-') {
        p++;
    }
    if (*p == '0') {
        p++;
    } else if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    } else {
        return false;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!isdigit((unsigned char)*p)) {
            return false;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    return *p == '\0';
}

/* Serialises a YAML value as JSON; each string is first compiled alone, so a template
 * error names its own line and column. */
static int json_write(struct loader *L, struct scen_ctx *C, struct ynode *n, struct jsonw *w,
                      int depth)
{
    if (depth > 60) {
        return lerr(L, n, "JSON nested too deeply (at most 60 levels)");
    }
    if (n->type == Y_MAP) {
        if (check_map(L, n, "a JSON object", NULL) < 0) {
            return -1;
        }
        jsonw_obj_begin(w);
        for (size_t i = 0; i < n->n; i += 2) {
            struct ynode *k = n->kids[i];
            if (strstr(k->s, "{{") != NULL) {
                return lerr(L, k, "a template in a JSON key (expected a fixed key)");
            }
            jsonw_key(w, k->s);
            if (json_write(L, C, n->kids[i + 1], w, depth + 1) < 0) {
                return -1;
            }
        }
        jsonw_obj_end(w);
        return 0;
    }
    if (n->type == Y_SEQ) {
        jsonw_arr_begin(w);
        for (size_t i = 0; i < n->n; i++) {
            if (json_write(L, C, n->kids[i], w, depth + 1) < 0) {
                return -1;
            }
        }
        jsonw_arr_end(w);
        return 0;
    }
    const char *s = sval(L, n, "a value");
    if (s == NULL) {
        return -1;
    }
    if (strstr(s, "{{") != NULL) {
        struct tmpl *t;
        if (compile_tmpl(L, C, n, 0, s, strlen(s), TMPL_RAW, &t) < 0) {
            return -1;
        }
        tmpl_free(t);
    }
    if (n->raw_tag) {
        jsonw_raw(w, s, strlen(s));
    } else if (!n->quoted && !n->block) {
        if (n->is_null) {
            jsonw_null(w);
        } else if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
            jsonw_bool(w, true);
        } else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
            jsonw_bool(w, false);
        } else if (json_number_text(s)) {
            jsonw_raw(w, s, strlen(s));
        } else {
            jsonw_str(w, s);
        }
    } else {
        jsonw_str(w, s);
    }
    return 0;
}

/* Builds a query string or form body from map n into out (templated source). */
static int encode_pairs(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *what,
                        char sep_first, struct dynbuf *out)
{
    if (check_map(L, n, what, NULL) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        if (strstr(k->s, "{{") != NULL) {
            return lerr(L, k, "a template in a %s name (expected a fixed name)", what);
        }
        const char *val;
        if (v->is_null) {
            val = "";
        } else if ((val = sval(L, v, "a text value")) == NULL) {
            return -1;
        }
        struct tmpl *t;
        if (compile_tmpl(L, C, v, 0, val, strlen(val), TMPL_URL, &t) < 0) {
            return -1;
        }
        tmpl_free(t);
        int rc = 0;
        if (i > 0 || sep_first) {
            rc = dynbuf_addc(out, i > 0 ? '&' : sep_first);
        }
        for (const char *p = k->s; *p && rc == 0; p++) {
            rc = url_enc_char(out, *p);
        }
        rc = rc ? rc : dynbuf_addc(out, '=');
        rc = rc ? rc : map_literal(val, out, url_enc_char);
        if (rc < 0) {
            return lerr(L, v, "%s too large", what);
        }
    }
    return 0;
}

static int parse_expect(struct loader *L, struct ynode *n, struct flow_step *fs)
{
    struct ynode *one[1] = {n};
    struct ynode **items = one;
    size_t count = 1;
    if (n->type == Y_SEQ) {
        items = n->kids;
        count = n->n;
        if (count == 0) {
            return lerr(L, n, "an empty expect list (expected statuses such as [200, 201])");
        }
    }
    fs->has_expect = true;
    for (size_t i = 0; i < count; i++) {
        const char *s = sval(L, items[i], "a status such as 200 or a range such as 200-299");
        if (s == NULL) {
            return -1;
        }
        /* "200" or "200-299", digits only: sscanf alone would take "200x" as 200. */
        unsigned lo = 0, hi = 0;
        int used = -1;
        bool digits = s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789-") == strlen(s);
        int k = digits ? sscanf(s, "%u%n-%u%n", &lo, &used, &hi, &used) : 0;
        if (k == 1 && (size_t)used == strlen(s)) {
            hi = lo;
        } else if (k != 2 || (size_t)used != strlen(s)) {
            return lerr(L, items[i],
                        "bad status '%s' (expected a status such as 200 or a "
                        "range such as 200-299)",
                        s);
        }
        if (lo < 100 || hi > 599 || lo > hi) {
            return lerr(L, items[i], "bad status '%s' (expected statuses from 100 to 599)", s);
        }
        for (unsigned st = lo; st <= hi; st++) {
            fs->expect_bits[st / 64] |= 1ull << (st % 64);
        }
    }
    return 0;
}

static int compile_asserts(struct loader *L, struct scen_ctx *C, struct ynode *ext,
                           struct ynode *chk, struct flow_step *fs)
{
    size_t n_ext = 0, n_chk = 0;
    struct ynode *one[1] = {chk};
    struct ynode **checks = NULL;
    if (ext != NULL) {
        if (check_map(L, ext, "extract", NULL) < 0) {
            return -1;
        }
        n_ext = ext->n / 2;
    }
    if (chk != NULL) {
        if (chk->type == Y_SEQ) {
            checks = chk->kids;
            n_chk = chk->n;
        } else if (chk->type == Y_SCALAR) {
            checks = one;
            n_chk = 1;
        } else {
            return lerr(L, chk,
                        "found a mapping for check (expected a list of checks such "
                        "as [status == 200])");
        }
    }
    if (n_ext + n_chk > FLOW_MAX_CHECKS) {
        return lerr(L, ext ? ext : chk,
                    "%zu extractions and checks in one step (expected at "
                    "most %d)",
                    n_ext + n_chk, FLOW_MAX_CHECKS);
    }
    if (n_ext + n_chk == 0) {
        return 0;
    }
    fs->asserts = calloc(n_ext + n_chk, sizeof *fs->asserts);
    if (fs->asserts == NULL) {
        return oom(L);
    }
    char msg[512];
    for (size_t i = 0; i < n_ext; i++) {
        struct ynode *k = ext->kids[2 * i], *v = ext->kids[2 * i + 1];
        int var = -1;
        for (size_t j = 0; j < C->n_vars; j++) {
            if (strcmp(C->vars[j], k->s) == 0) {
                var = (int)j;
            }
        }
        const char *spec = sval(L, v, "an extraction such as 'json $.token'");
        if (spec == NULL) {
            return -1;
        }
        struct flow_assert *a = &fs->asserts[fs->n_asserts];
        int rc = extract_compile(spec, var, &a->ex, msg, sizeof msg);
        if (rc == -ENOMEM) {
            return oom(L);
        }
        if (rc < 0) {
            return sub_err(L, v, 0, "bad extraction: ", msg);
        }
        fs->n_asserts++;
        a->is_extract = true;
        a->needs_body = extract_needs_body(&a->ex);
        a->at_head = !a->needs_body;
        size_t nl = strlen(k->s) + 9;
        a->name = malloc(nl);
        if (a->name == NULL) {
            return oom(L);
        }
        snprintf(a->name, nl, "extract %s", k->s);
    }
    for (size_t i = 0; i < n_chk; i++) {
        const char *src = sval(L, checks[i], "a check such as 'status == 200'");
        if (src == NULL) {
            return -1;
        }
        struct flow_assert *a = &fs->asserts[fs->n_asserts];
        int rc = check_compile(src, &a->ck, msg, sizeof msg);
        if (rc == -ENOMEM) {
            return oom(L);
        }
        if (rc < 0) {
            return sub_err(L, checks[i], 0, "bad check: ", msg);
        }
        fs->n_asserts++;
        a->needs_body = check_needs_body(&a->ck);
        a->at_head = check_is_head(&a->ck);
        a->name = strdup(a->ck.source);
        if (a->name == NULL) {
            return oom(L);
        }
    }
    for (size_t i = 0; i < fs->n_asserts; i++) {
        if (fs->asserts[i].needs_body) {
            fs->wants_body = true;
        }
    }
    return 0;
}

static struct step *new_step(struct loader *L, struct scen_ctx *C, const struct ynode *at)
{
    struct scenario_plan *sc = C->sc;
    if (sc->n_steps == SCENARIO_MAX_STEPS) {
        lerr(L, at, "too many steps in scenario '%s' (at most %d)", C->name, SCENARIO_MAX_STEPS);
        return NULL;
    }
    if (sc->n_steps == C->cap_steps) {
        size_t cap = C->cap_steps ? C->cap_steps * 2 : 8;
        struct step *s = realloc(sc->steps, cap * sizeof *s);
        if (s == NULL) {
            oom(L);
            return NULL;
        }
        sc->steps = s;
        C->cap_steps = cap;
    }
    struct step *st = &sc->steps[sc->n_steps++];
    memset(st, 0, sizeof *st);
    return st;
}

static int compile_request(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *group)
{
    if (check_map(L, n, "a request step", REQUEST_KEYS) < 0) {
        return -1;
    }
    struct ynode *req = mget(n, "request");
    const char *line = sval(L, req, "'METHOD URL' such as 'GET /items'");
    if (line == NULL) {
        return -1;
    }
    struct step *st = new_step(L, C, n);
    if (st == NULL) {
        return -1;
    }
    struct flow_step *fs = owner_new_step(L);
    if (fs == NULL) {
        return -1;
    }
    st->kind = STEP_REQUEST;
    flow_attach_step(st, fs);
    fs->feeders = (const struct feeder *const *)L->own->feeders;

    /* "METHOD URL" */
    size_t ml = strcspn(line, " \t");
    size_t us = ml + strspn(line + ml, " \t");
    const char *url = line + us;
    size_t url_len = strlen(url);
    while (url_len > 0 && (url[url_len - 1] == ' ' || url[url_len - 1] == '\t')) {
        url_len--;
    }
    st->method = strndup(line, ml);
    if (st->method == NULL) {
        return oom(L);
    }
    if (!plan_token_valid(st->method, strlen(st->method)) || url_len == 0) {
        return lerr(L, req,
                    "bad request '%s' (expected 'METHOD URL' such as 'GET /items' or "
                    "'POST http://host/login')",
                    line);
    }
    st->head_request = strcmp(st->method, "HEAD") == 0;
    char *url_s = strndup(url, url_len);
    char *origin_s = NULL;
    struct dynbuf target;
    struct parts P;
    dynbuf_init(&target, URL_MAX_TARGET - 1);
    memset(&P, 0, sizeof P);
    dynbuf_init(&P.lit, FLOW_MAX_REQUEST_BYTES);
    int rc = -1;
    if (url_s == NULL) {
        oom(L);
        goto done;
    }
    const char *path;
    if (url_s[0] == '/') {
        if (L->base_origin == NULL) {
            lerr(L, req,
                 "a relative URL '%s' without base_url (expected base_url at the top "
                 "of the file, or an absolute http:// URL)",
                 url_s);
            goto done;
        }
        origin_s = strdup(L->base_origin);
        if (origin_s == NULL || dynbuf_adds(&target, L->base_path) < 0) {
            oom(L);
            goto done;
        }
        path = url_s;
    } else if (strncasecmp(url_s, "http://", 7) == 0 || strncasecmp(url_s, "https://", 8) == 0) {
        if (split_url(L, req, url_s, &origin_s, &path) < 0) {
            goto done;
        }
        if (*path != '/') {
            (void)dynbuf_addc(&target, '/');
        }
    } else {
        lerr(L, req,
             "bad URL '%s' (expected a path such as /items, relative to base_url, or "
             "an absolute http:// URL)",
             url_s);
        goto done;
    }
    {
        size_t hash = strcspn(path, "#");
        if (check_target_literal(L, req, us + (size_t)(path - url_s), path) < 0) {
            goto done;
        }
        struct tmpl *t;
        if (compile_tmpl(L, C, req, us + (size_t)(path - url_s), path, hash, TMPL_URL, &t) < 0) {
            goto done;
        }
        tmpl_free(t);
        if (dynbuf_add(&target, path, hash) < 0) {
            lerr(L, req, "URL too long (at most %d bytes)", URL_MAX_TARGET - 1);
            goto done;
        }
    }
    if (origin_get(L, req, origin_s, &st->origin) < 0) {
        goto done;
    }
    struct ynode *q = mget(n, "query");
    if (q != NULL) {
        bool has_q = false;
        for (size_t i = 0; i < target.len && !has_q; i++) {
            has_q = target.data[i] == '?';
        }
        if (encode_pairs(L, C, q, "query", has_q ? '&' : '?', &target) < 0) {
            goto done;
        }
    }
    struct ynode *name = mget(n, "name");
    if (name != NULL) {
        const char *s = sval(L, name, "a name");
        if (s == NULL) {
            goto done;
        }
        st->name = strdup(s);
    } else {
        size_t nl = strlen(st->method) + url_len + 2;
        st->name = malloc(nl);
        if (st->name != NULL) {
            snprintf(st->name, nl, "%s %s", st->method, url_s);
        }
    }
    if (st->name == NULL || (group != NULL && (st->group = strdup(group)) == NULL)) {
        oom(L);
        goto done;
    }

    /* The head: request line, Host, User-Agent, Content-Type, headers. */
    struct hdr h[64];
    size_t nh = 0;
    if (merge_headers(L, L->def_headers, h, &nh, 64) < 0 ||
        merge_headers(L, C->def_headers, h, &nh, 64) < 0 ||
        merge_headers(L, mget(n, "headers"), h, &nh, 64) < 0) {
        goto done;
    }
    struct ynode *body = mget(n, "body"), *json = mget(n, "json"), *form = mget(n, "form");
    if ((body != NULL) + (json != NULL) + (form != NULL) > 1) {
        lerr(L, body && json ? json : form,
             "more than one of body, json and form (expected "
             "one body per request)");
        goto done;
    }
    if (parts_lit(L, &P, st->method, strlen(st->method)) < 0 || parts_lit(L, &P, " ", 1) < 0) {
        goto done;
    }
    {
        struct tmpl *t;
        if (compile_tmpl(L, C, req, 0, target.data ? target.data : "/", target.len ? target.len : 1,
                         TMPL_URL, &t) < 0 ||
            parts_tmpl(L, &P, t, true) < 0) {
            goto done;
        }
    }
    if (parts_lit(L, &P, " HTTP/1.1\r\n", 11) < 0) {
        goto done;
    }
    bool has_host = false, has_ua = false, has_ct = false;
    for (size_t i = 0; i < nh; i++) {
        has_host |= strcasecmp(h[i].name, "Host") == 0;
        has_ua |= strcasecmp(h[i].name, "User-Agent") == 0;
        has_ct |= strcasecmp(h[i].name, "Content-Type") == 0;
    }
    if (!has_host && reqhead_host(&P.lit, &st->origin->url) < 0) {
        lerr(L, req, "host name too long");
        goto done;
    }
    if (!has_ua && reqhead_user_agent(&P.lit) < 0) {
        lerr(L, req, "request too large (at most %u bytes)", PLAN_MAX_REQUEST_BYTES);
        goto done;
    }
    if (!has_ct && (json != NULL || form != NULL)) {
        const char *ct = json != NULL ? "Content-Type: application/json\r\n"
                                      : "Content-Type: application/x-www-form-urlencoded\r\n";
        if (parts_lit(L, &P, ct, strlen(ct)) < 0) {
            goto done;
        }
    }
    for (size_t i = 0; i < nh; i++) {
        const char *v = h[i].val->is_null ? "" : sval(L, h[i].val, "a header value");
        struct tmpl *t;
        if (v == NULL || parts_lit(L, &P, h[i].name, strlen(h[i].name)) < 0 ||
            parts_lit(L, &P, ": ", 2) < 0 ||
            compile_tmpl(L, C, h[i].val, 0, v, strlen(v), TMPL_RAW, &t) < 0 ||
            parts_tmpl(L, &P, t, true) < 0 || parts_lit(L, &P, "\r\n", 2) < 0) {
            goto done;
        }
    }
    if (parts_flush(L, &P) < 0) {
        goto done;
    }
    fs->head = P.p;
    fs->n_head = P.n;
    P.p = NULL;
    P.n = P.cap = 0;

    /* The body. */
    fs->send_length = reqhead_wants_length(st->method, 0);
    {
        struct dynbuf src;
        dynbuf_init(&src, TMPL_MAX_BYTES);
        struct ynode *at = body ? body : json ? json : form;
        enum tmpl_escape esc = TMPL_RAW;
        int brc = 0;
        if (body != NULL) {
            const char *s = body->is_null ? "" : sval(L, body, "the body text");
            brc = s == NULL ? -1 : dynbuf_adds(&src, s) < 0 ? lerr(L, body, "body too large") : 0;
        } else if (json != NULL) {
            struct jsonw w;
            jsonw_init(&w, 0, TMPL_MAX_BYTES);
            brc = json_write(L, C, json, &w, 0);
            if (brc == 0 && jsonw_error(&w) != 0) {
                brc =
                    lerr(L, json, "the JSON body is too large (at most %d bytes)", TMPL_MAX_BYTES);
            }
            size_t jl = 0;
            const char *jd = jsonw_data(&w, &jl);
            if (brc == 0 && dynbuf_add(&src, jd, jl) < 0) {
                brc = oom(L);
            }
            jsonw_destroy(&w);
            esc = TMPL_JSON;
        } else if (form != NULL) {
            brc = encode_pairs(L, C, form, "form", 0, &src);
            esc = TMPL_URL;
        }
        if (brc == 0 && at != NULL) {
            struct tmpl *t = NULL;
            brc = compile_tmpl(L, C, at, 0, src.data ? src.data : "", src.len, esc, &t);
            if (brc == 0) {
                fs->has_body = true;
                if (tmpl_is_static(t)) {
                    struct dynbuf lit;
                    dynbuf_init(&lit, FLOW_MAX_REQUEST_BYTES);
                    if (tmpl_static_text(t, &lit) < 0) {
                        brc = lerr(L, at, "body too large");
                    }
                    fs->body_lit_len = lit.len;
                    fs->body_lit = dynbuf_take(&lit, NULL);
                    tmpl_free(t);
                    if (fs->body_lit_len == 0 && !fs->send_length) {
                        fs->has_body = false;
                    }
                } else {
                    fs->body_t = t;
                }
            }
        }
        dynbuf_destroy(&src);
        if (brc < 0) {
            goto done;
        }
    }
    /* A request without any template is rendered once, here. */
    if (fs->n_head == 1 && fs->head[0].t == NULL && fs->body_t == NULL) {
        struct dynbuf whole;
        dynbuf_init(&whole, FLOW_MAX_REQUEST_BYTES);
        if (flow_render(fs, NULL, &whole) < 0) {
            dynbuf_destroy(&whole);
            lerr(L, req, "request too large");
            goto done;
        }
        fs->whole_len = whole.len;
        fs->whole = dynbuf_take(&whole, NULL);
    }

    /* Timeout, expect, on_fail, extract, check. */
    struct ynode *v;
    fs->timeout_ns = C->def_timeout_ns;
    if ((v = mget(n, "timeout")) != NULL && get_duration(L, v, false, &fs->timeout_ns) < 0) {
        goto done;
    }
    if ((v = mget(n, "expect")) != NULL && parse_expect(L, v, fs) < 0) {
        goto done;
    }
    if ((v = mget(n, "on_fail")) != NULL) {
        static const char *const words[] = {"continue", "abort", NULL};
        int k;
        if (get_enum(L, v, "on_fail value", words, &k) < 0) {
            goto done;
        }
        fs->abort_on_fail = k == 1;
    }
    if (compile_asserts(L, C, mget(n, "extract"), mget(n, "check"), fs) < 0) {
        goto done;
    }
    rc = 0;
done:
    parts_free(&P);
    dynbuf_destroy(&target);
    free(url_s);
    free(origin_s);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Flows: steps, sleeps, groups                                                          */

static const char *const SLEEP_KEYS[] = {"sleep", NULL};
static const char *const GROUP_KEYS[] = {"group", "steps", NULL};
static const char *const STEP_KINDS[] = {"request", "sleep", "group", NULL};

static int step_kind_of(struct loader *L, struct ynode *n, int *kind)
{
    if (n->type != Y_MAP) {
        return lerr(L, n, "found %s as a step (expected a mapping with request, sleep or group)",
                    ytype_name(n));
    }
    *kind = -1;
    for (int k = 0; STEP_KINDS[k] != NULL; k++) {
        struct ynode *v = mget(n, STEP_KINDS[k]);
        if (v == NULL) {
            continue;
        }
        if (*kind >= 0) {
            return lerr(L, mkey_of(n, v),
                        "a step with both %s and %s (expected one of request, "
                        "sleep or group per step)",
                        STEP_KINDS[*kind], STEP_KINDS[k]);
        }
        *kind = k;
    }
    if (*kind < 0) {
        if (n->n > 0) {
            const char *s = suggest(n->kids[0]->s, STEP_KINDS);
            if (s == NULL) {
                s = suggest(n->kids[0]->s, REQUEST_KEYS);
            }
            if (s != NULL && strcmp(s, "request") != 0 && mget(n, "request") == NULL &&
                suggest(n->kids[0]->s, STEP_KINDS) == NULL) {
                s = NULL;
            }
            if (s != NULL) {
                return lerr(L, n->kids[0], "unknown key '%s' in a step (did you mean '%s'?)",
                            n->kids[0]->s, s);
            }
        }
        return lerr(L, n, "a step without request, sleep or group (expected one of them)");
    }
    return 0;
}

/* First pass over a flow: the variables its extractions define. */
static int collect_vars(struct loader *L, struct scen_ctx *C, struct ynode *flow, int depth)
{
    if (flow->type != Y_SEQ) {
        return lerr(L, flow, "found %s for a flow (expected a list of steps)", ytype_name(flow));
    }
    if (depth > SCENARIO_MAX_GROUP_DEPTH) {
        return lerr(L, flow, "groups nested too deeply (at most %d)", SCENARIO_MAX_GROUP_DEPTH);
    }
    for (size_t i = 0; i < flow->n; i++) {
        struct ynode *st = flow->kids[i];
        int kind;
        if (step_kind_of(L, st, &kind) < 0) {
            return -1;
        }
        if (kind == 2) {
            struct ynode *steps = mget(st, "steps");
            if (steps == NULL) {
                return lerr(L, st, "a group without steps (expected steps: [...])");
            }
            if (collect_vars(L, C, steps, depth + 1) < 0) {
                return -1;
            }
            continue;
        }
        struct ynode *ext = kind == 0 ? mget(st, "extract") : NULL;
        if (ext == NULL) {
            continue;
        }
        if (check_map(L, ext, "extract", NULL) < 0) {
            return -1;
        }
        for (size_t j = 0; j < ext->n; j += 2) {
            struct ynode *k = ext->kids[j];
            if (!is_ident(k->s)) {
                return lerr(L, k,
                            "bad variable name '%s' (expected letters, digits and _, "
                            "not starting with a digit)",
                            k->s);
            }
            if (tmpl_is_builtin(k->s)) {
                return lerr(L, k,
                            "'%s' is a built-in template name (expected another "
                            "variable name)",
                            k->s);
            }
            for (size_t f = 0; f < L->own->n_feeders; f++) {
                if (strcmp(L->own->feeder_names[f], k->s) == 0) {
                    return lerr(L, k,
                                "variable '%s' has the name of a data feeder (expected "
                                "another name)",
                                k->s);
                }
            }
            bool known = false;
            for (size_t v = 0; v < C->n_vars && !known; v++) {
                known = strcmp(C->vars[v], k->s) == 0;
            }
            if (known) {
                continue;
            }
            if (C->n_vars == SCENARIO_MAX_VARS) {
                return lerr(L, k, "too many variables (at most %d)", SCENARIO_MAX_VARS);
            }
            char **nv = realloc(C->vars, (C->n_vars + 1) * sizeof *nv);
            if (nv == NULL) {
                return oom(L);
            }
            C->vars = nv;
            if ((C->vars[C->n_vars] = strdup(k->s)) == NULL) {
                return oom(L);
            }
            C->n_vars++;
        }
    }
    return 0;
}

static int compile_sleep(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *group)
{
    if (check_map(L, n, "a sleep step", SLEEP_KEYS) < 0) {
        return -1;
    }
    struct ynode *v = mget(n, "sleep");
    const char *s = sval(L, v, "a duration such as 1s or a range such as 1s..3s");
    if (s == NULL) {
        return -1;
    }
    uint64_t lo, hi;
    const char *dots = strstr(s, "..");
    if (dots != NULL) {
        char a[64];
        size_t al = (size_t)(dots - s);
        if (al >= sizeof a) {
            al = sizeof a - 1;
        }
        memcpy(a, s, al);
        a[al] = '\0';
        if (parse_duration_ns(a, &lo) < 0 || parse_duration_ns(dots + 2, &hi) < 0) {
            return lerr(L, v,
                        "bad sleep '%s' (expected a duration such as 1s or a range such "
                        "as 1s..3s)",
                        s);
        }
        if (lo > hi) {
            return lerr(L, v, "bad sleep range '%s' (expected the shorter duration first)", s);
        }
    } else if (parse_duration_ns(s, &lo) < 0) {
        return lerr(L, v,
                    "bad sleep '%s' (expected a duration such as 1s or a range such as "
                    "1s..3s)",
                    s);
    } else {
        hi = lo;
    }
    struct step *st = new_step(L, C, n);
    if (st == NULL) {
        return -1;
    }
    st->kind = STEP_SLEEP;
    st->sleep_min_ns = lo;
    st->sleep_max_ns = hi;
    if (group != NULL && (st->group = strdup(group)) == NULL) {
        return oom(L);
    }
    return 0;
}

static int compile_flow(struct loader *L, struct scen_ctx *C, struct ynode *flow, const char *group)
{
    for (size_t i = 0; i < flow->n; i++) {
        struct ynode *st = flow->kids[i];
        int kind;
        if (step_kind_of(L, st, &kind) < 0) {
            return -1;
        }
        int rc;
        if (kind == 0) {
            rc = compile_request(L, C, st, group);
        } else if (kind == 1) {
            rc = compile_sleep(L, C, st, group);
        } else {
            if (check_map(L, st, "a group", GROUP_KEYS) < 0) {
                return -1;
            }
            struct ynode *gn = mget(st, "group");
            const char *g = sval(L, gn, "a group name");
            if (g == NULL) {
                return -1;
            }
            if (*g == '\0' || strstr(g, "::") != NULL) {
                return lerr(L, gn, "bad group name '%s' (expected a non-empty name without '::')",
                            g);
            }
            size_t len = (group ? strlen(group) : 0) + strlen(g) + 3;
            char *full = malloc(len);
            if (full == NULL) {
                return oom(L);
            }
            snprintf(full, len, "%s::%s", group ? group : "", g);
            rc = compile_flow(L, C, mget(st, "steps"), full);
            free(full);
        }
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Scenarios and executors                                                               */

/* Every scenario key: canonical spelling, k6's camelCase alias (or NULL). */
enum skey {
    K_EXECUTOR,
    K_START_TIME,
    K_GRACEFUL_STOP,
    K_DEFAULTS,
    K_FLOW,
    K_VUS,
    K_ITERATIONS,
    K_MAX_DURATION,
    K_DURATION,
    K_START_VUS,
    K_STAGES,
    K_GRACEFUL_RAMP_DOWN,
    K_RATE,
    K_START_RATE,
    K_TIME_UNIT,
    K_PRE_ALLOCATED_VUS,
    K_MAX_VUS,
    K_MAX_QUEUE,
    K_COUNT
};

static const char *const SKEY[K_COUNT][2] = {
    [K_EXECUTOR] = {"executor", NULL},
    [K_START_TIME] = {"start_time", "startTime"},
    [K_GRACEFUL_STOP] = {"graceful_stop", "gracefulStop"},
    [K_DEFAULTS] = {"defaults", NULL},
    [K_FLOW] = {"flow", NULL},
    [K_VUS] = {"vus", NULL},
    [K_ITERATIONS] = {"iterations", NULL},
    [K_MAX_DURATION] = {"max_duration", "maxDuration"},
    [K_DURATION] = {"duration", NULL},
    [K_START_VUS] = {"start_vus", "startVUs"},
    [K_STAGES] = {"stages", NULL},
    [K_GRACEFUL_RAMP_DOWN] = {"graceful_ramp_down", "gracefulRampDown"},
    [K_RATE] = {"rate", NULL},
    [K_START_RATE] = {"start_rate", "startRate"},
    [K_TIME_UNIT] = {"time_unit", "timeUnit"},
    [K_PRE_ALLOCATED_VUS] = {"pre_allocated_vus", "preAllocatedVUs"},
    [K_MAX_VUS] = {"max_vus", "maxVUs"},
    [K_MAX_QUEUE] = {"max_queue", "maxQueue"},
};

#define KB(k) (1u << (k))
#define COMMON \
    (KB(K_EXECUTOR) | KB(K_START_TIME) | KB(K_GRACEFUL_STOP) | KB(K_DEFAULTS) | KB(K_FLOW))

static const char *const EXECUTORS[] = {
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
    "per-vu-iterations",
    "shared-iterations",
    NULL,
};

/* Indexed by enum executor_kind: the keys each executor takes. */
static const unsigned EXEC_KEYS[] = {
    [EXEC_CONSTANT_VUS] = COMMON | KB(K_VUS) | KB(K_DURATION),
    [EXEC_RAMPING_VUS] = COMMON | KB(K_START_VUS) | KB(K_STAGES) | KB(K_GRACEFUL_RAMP_DOWN),
    [EXEC_CONSTANT_ARRIVAL_RATE] = COMMON | KB(K_RATE) | KB(K_TIME_UNIT) | KB(K_DURATION) |
                                   KB(K_PRE_ALLOCATED_VUS) | KB(K_MAX_VUS) | KB(K_MAX_QUEUE),
    [EXEC_RAMPING_ARRIVAL_RATE] = COMMON | KB(K_START_RATE) | KB(K_TIME_UNIT) | KB(K_STAGES) |
                                  KB(K_PRE_ALLOCATED_VUS) | KB(K_MAX_VUS) | KB(K_MAX_QUEUE),
    [EXEC_PER_VU_ITERATIONS] = COMMON | KB(K_VUS) | KB(K_ITERATIONS) | KB(K_MAX_DURATION),
    [EXEC_SHARED_ITERATIONS] = COMMON | KB(K_VUS) | KB(K_ITERATIONS) | KB(K_MAX_DURATION),
};

static const char *const SCEN_DEFAULT_KEYS[] = {"headers", "timeout", NULL};

static int parse_stages(struct loader *L, struct ynode *n, bool vus, struct scenario_plan *sc)
{
    if (n->type != Y_SEQ || n->n == 0) {
        return lerr(L, n,
                    "found %s for stages (expected a list such as [{duration: 1m, "
                    "target: 100}])",
                    n->type == Y_SEQ ? "an empty list" : ytype_name(n));
    }
    if (n->n > SCENARIO_MAX_STAGES) {
        return lerr(L, n, "too many stages (at most %d)", SCENARIO_MAX_STAGES);
    }
    static const char *const keys[] = {"duration", "target", NULL};
    sc->stages = calloc(n->n, sizeof *sc->stages);
    if (sc->stages == NULL) {
        return oom(L);
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n->n; i++) {
        struct ynode *s = n->kids[i];
        if (check_map(L, s, "a stage", keys) < 0) {
            return -1;
        }
        struct ynode *d = mget(s, "duration"), *t = mget(s, "target");
        if (d == NULL || t == NULL) {
            return lerr(L, s, "a stage without %s (expected {duration: 1m, target: 100})",
                        d == NULL ? "duration" : "target");
        }
        struct stage *st = &sc->stages[i];
        if (get_duration(L, d, true, &st->duration_ns) < 0) {
            return -1;
        }
        if (vus) {
            uint64_t v;
            if (get_u64(L, t, 0, 1000000, &v) < 0) {
                return -1;
            }
            st->target = (double)v;
        } else if (get_double(L, t, 0, 1e9, &st->target) < 0) {
            return -1;
        }
        total += st->duration_ns;
        sc->n_stages = i + 1;
    }
    if (total == 0) {
        return lerr(L, n, "every stage lasts 0s (expected at least one stage with a duration)");
    }
    return 0;
}

static int compile_scenario(struct loader *L, struct ynode *key, struct ynode *n,
                            struct scenario_plan *sc, struct flow_scenario *fsc)
{
    static const char *all_keys[2 * K_COUNT + 1];
    size_t nk = 0;
    for (int k = 0; k < K_COUNT; k++) {
        all_keys[nk++] = SKEY[k][0];
        if (SKEY[k][1] != NULL) {
            all_keys[nk++] = SKEY[k][1];
        }
    }
    all_keys[nk] = NULL;
    const char *name = key->s;
    for (const char *p = name; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-')) {
            return lerr(L, key, "bad scenario name '%s' (expected letters, digits, '_' and '-')",
                        name);
        }
    }
    if (*name == '\0' || strlen(name) > 128) {
        return lerr(L, key, "bad scenario name (expected 1 to 128 letters, digits, '_' or '-')");
    }
    if (check_map(L, n, "a scenario", all_keys) < 0) {
        return -1;
    }
    sc->name = strdup(name);
    if (sc->name == NULL) {
        return oom(L);
    }
    struct ynode *v[K_COUNT];
    bool bad = false;
    for (int k = 0; k < K_COUNT; k++) {
        v[k] = mget2(L, n, SKEY[k][0], SKEY[k][1], &bad);
        if (bad) {
            return -1;
        }
    }
    if (v[K_EXECUTOR] == NULL) {
        return lerr(L, key,
                    "scenario '%s' has no executor (expected executor: one of "
                    "constant-vus, ramping-vus, constant-arrival-rate, "
                    "ramping-arrival-rate, per-vu-iterations, shared-iterations)",
                    name);
    }
    int ex;
    if (get_enum(L, v[K_EXECUTOR], "executor", EXECUTORS, &ex) < 0) {
        return -1;
    }
    sc->executor = (enum executor_kind)ex;
    const char *exn = EXECUTORS[ex];
    for (int k = 0; k < K_COUNT; k++) {
        if (v[k] != NULL && !(EXEC_KEYS[ex] & KB(k))) {
            char list[400];
            size_t off = 0;
            list[0] = '\0';
            for (int j = 0; j < K_COUNT; j++) {
                if ((EXEC_KEYS[ex] & KB(j)) && !(COMMON & KB(j))) {
                    off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "",
                                            SKEY[j][0]);
                }
            }
            return lerr(L, mkey_of(n, v[k]),
                        "'%s' is not an option of executor %s (expected "
                        "%s, start_time, graceful_stop, defaults, flow)",
                        mkey_of(n, v[k])->s, exn, list);
        }
    }
    /* Defaults as in k6. */
    sc->graceful_stop_ns = 30 * NS_S;
    sc->graceful_ramp_down_ns = 30 * NS_S;
    sc->time_unit_ns = NS_S;
    sc->max_queue_ns = 10 * NS_S;
    sc->pipeline = 1;
    uint64_t u;
    if (v[K_START_TIME] && get_duration(L, v[K_START_TIME], true, &sc->start_time_ns) < 0) {
        return -1;
    }
    if (v[K_GRACEFUL_STOP] &&
        get_duration(L, v[K_GRACEFUL_STOP], true, &sc->graceful_stop_ns) < 0) {
        return -1;
    }
    if (v[K_GRACEFUL_RAMP_DOWN] &&
        get_duration(L, v[K_GRACEFUL_RAMP_DOWN], true, &sc->graceful_ramp_down_ns) < 0) {
        return -1;
    }
    if (v[K_TIME_UNIT] && get_duration(L, v[K_TIME_UNIT], false, &sc->time_unit_ns) < 0) {
        return -1;
    }
    if (v[K_MAX_QUEUE] && get_duration(L, v[K_MAX_QUEUE], true, &sc->max_queue_ns) < 0) {
        return -1;
    }
    switch (sc->executor) {
    case EXEC_CONSTANT_VUS:
        sc->vus = 1;
        if (v[K_VUS]) {
            if (get_u64(L, v[K_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_DURATION] == NULL) {
            return lerr(L, key,
                        "scenario '%s' (constant-vus) has no duration (expected "
                        "duration: such as 30s)",
                        name);
        }
        if (get_duration(L, v[K_DURATION], false, &sc->duration_ns) < 0) {
            return -1;
        }
        break;
    case EXEC_RAMPING_VUS:
        sc->vus = 1;
        if (v[K_START_VUS]) {
            if (get_u64(L, v[K_START_VUS], 0, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_STAGES] == NULL) {
            return lerr(L, key,
                        "scenario '%s' (ramping-vus) has no stages (expected stages: "
                        "[{duration: 1m, target: 100}])",
                        name);
        }
        if (parse_stages(L, v[K_STAGES], true, sc) < 0) {
            return -1;
        }
        break;
    case EXEC_CONSTANT_ARRIVAL_RATE:
    case EXEC_RAMPING_ARRIVAL_RATE: {
        bool constant = sc->executor == EXEC_CONSTANT_ARRIVAL_RATE;
        if (constant) {
            if (v[K_RATE] == NULL) {
                return lerr(L, key,
                            "scenario '%s' (constant-arrival-rate) has no rate "
                            "(expected rate: iterations per time_unit, such as 100)",
                            name);
            }
            if (get_double(L, v[K_RATE], 1e-9, 1e9, &sc->rate) < 0) {
                return -1;
            }
            sc->start_rate = sc->rate;
            if (v[K_DURATION] == NULL) {
                return lerr(L, key,
                            "scenario '%s' (constant-arrival-rate) has no duration "
                            "(expected duration: such as 30s)",
                            name);
            }
            if (get_duration(L, v[K_DURATION], false, &sc->duration_ns) < 0) {
                return -1;
            }
        } else {
            if (v[K_START_RATE] && get_double(L, v[K_START_RATE], 0, 1e9, &sc->start_rate) < 0) {
                return -1;
            }
            if (v[K_STAGES] == NULL) {
                return lerr(L, key,
                            "scenario '%s' (ramping-arrival-rate) has no stages "
                            "(expected stages: [{duration: 1m, target: 100}])",
                            name);
            }
            if (parse_stages(L, v[K_STAGES], false, sc) < 0) {
                return -1;
            }
        }
        if (v[K_PRE_ALLOCATED_VUS] == NULL) {
            return lerr(L, key,
                        "scenario '%s' (%s) has no pre_allocated_vus (expected "
                        "pre_allocated_vus: the VUs made before the start, such as 10)",
                        name, exn);
        }
        if (get_u64(L, v[K_PRE_ALLOCATED_VUS], 0, 1000000, &u) < 0) {
            return -1;
        }
        sc->pre_allocated_vus = (uint32_t)u;
        sc->max_vus = sc->pre_allocated_vus;
        if (v[K_MAX_VUS]) {
            if (get_u64(L, v[K_MAX_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            if (u < sc->pre_allocated_vus) {
                return lerr(L, v[K_MAX_VUS],
                            "max_vus %llu is less than pre_allocated_vus %u "
                            "(expected max_vus >= pre_allocated_vus)",
                            (unsigned long long)u, sc->pre_allocated_vus);
            }
            sc->max_vus = (uint32_t)u;
        }
        if (sc->max_vus == 0) {
            return lerr(L, v[K_PRE_ALLOCATED_VUS],
                        "no VUs at all (expected pre_allocated_vus "
                        "or max_vus of at least 1)");
        }
        sc->vus = sc->pre_allocated_vus;
        break;
    }
    case EXEC_PER_VU_ITERATIONS:
    case EXEC_SHARED_ITERATIONS:
        sc->vus = 1;
        sc->iterations = 1;
        sc->duration_ns = 10 * 60 * NS_S; /* k6's maxDuration */
        if (v[K_VUS]) {
            if (get_u64(L, v[K_VUS], 1, 1000000, &u) < 0) {
                return -1;
            }
            sc->vus = (uint32_t)u;
        }
        if (v[K_ITERATIONS] &&
            get_u64(L, v[K_ITERATIONS], 1, UINT64_C(1) << 40, &sc->iterations) < 0) {
            return -1;
        }
        if (v[K_MAX_DURATION] && get_duration(L, v[K_MAX_DURATION], false, &sc->duration_ns) < 0) {
            return -1;
        }
        if (sc->executor == EXEC_SHARED_ITERATIONS && sc->iterations < sc->vus) {
            return lerr(L, v[K_ITERATIONS] ? v[K_ITERATIONS] : key,
                        "iterations (%llu) is less than vus (%u) (expected iterations >= vus, "
                        "as k6 requires for shared-iterations)",
                        (unsigned long long)sc->iterations, sc->vus);
        }
        break;
    }

    /* The flow. */
    struct scen_ctx C;
    memset(&C, 0, sizeof C);
    C.name = name;
    C.sc = sc;
    C.def_timeout_ns = L->def_timeout_ns;
    C.feeder_used = calloc(L->own->n_feeders ? L->own->n_feeders : 1, sizeof(bool));
    int rc = -1;
    if (C.feeder_used == NULL) {
        oom(L);
        goto done;
    }
    if (v[K_DEFAULTS] != NULL) {
        if (check_map(L, v[K_DEFAULTS], "scenario defaults", SCEN_DEFAULT_KEYS) < 0) {
            goto done;
        }
        C.def_headers = mget(v[K_DEFAULTS], "headers");
        struct ynode *t = mget(v[K_DEFAULTS], "timeout");
        if (t != NULL && get_duration(L, t, false, &C.def_timeout_ns) < 0) {
            goto done;
        }
    }
    if (v[K_FLOW] == NULL) {
        lerr(L, key, "scenario '%s' has no flow (expected flow: a list of steps)", name);
        goto done;
    }
    if (collect_vars(L, &C, v[K_FLOW], 0) < 0) {
        goto done;
    }
    C.names.vars = (const char *const *)C.vars;
    C.names.n_vars = C.n_vars;
    C.names.feeders = (const char *const *)L->own->feeder_names;
    C.names.n_feeders = L->own->n_feeders;
    C.names.feeder_objs = (const struct feeder *const *)L->own->feeders;
    if (compile_flow(L, &C, v[K_FLOW], NULL) < 0) {
        goto done;
    }
    if (sc->n_steps == 0) {
        lerr(L, v[K_FLOW], "scenario '%s' has an empty flow (expected at least one step)", name);
        goto done;
    }
    bool any_request = false;
    for (size_t i = 0; i < sc->n_steps; i++) {
        any_request |= sc->steps[i].kind == STEP_REQUEST;
    }
    if (!any_request) {
        lerr(L, v[K_FLOW], "scenario '%s' has no request step (expected at least one request)",
             name);
        goto done;
    }
    rc = 0;
done:
    fsc->var_names = C.vars;
    fsc->n_vars = C.n_vars;
    fsc->feeder_used = C.feeder_used;
    fsc->feeders = L->own->feeders;
    fsc->n_feeders = L->own->n_feeders;
    flow_attach_scenario(sc, fsc);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Top level                                                                             */

static const char *const TOP_KEYS[] = {
    "name", "description", "base_url",   "defaults", "options",
    "data", "scenarios",   "thresholds", NULL,
};
static const char *const OPTION_KEYS[] = {"threads", "timeout", "connect_timeout", "grace", NULL};
static const char *const DEFAULT_KEYS[] = {"headers", "timeout", NULL};
static const char *const DATA_KEYS[] = {"file", "order", "per", "on_exhausted", NULL};

static int load_base_url(struct loader *L, struct ynode *n)
{
    const char *s = sval(L, n, "a URL such as http://127.0.0.1:8083");
    if (s == NULL) {
        return -1;
    }
    const char *rest;
    if (strstr(s, "{{") != NULL) {
        return lerr(L, n, "a template in base_url (expected a fixed URL; ${ENV} is fine)");
    }
    if (split_url(L, n, s, &L->base_origin, &rest) < 0) {
        return -1;
    }
    struct url u;
    int rc = url_parse(s, &u);
    if (rc < 0) {
        return lerr(L, n, "bad base_url '%s': %s (expected http://host[:port][/path])", s,
                    url_strerror(rc));
    }
    if (u.tls) {
        return lerr(L, n, "https is not supported yet in '%s' (expected http://)", s);
    }
    size_t pl = strcspn(rest, "?#");
    while (pl > 0 && rest[pl - 1] == '/') {
        pl--;
    }
    L->base_path = strndup(rest, pl);
    if (L->base_path == NULL) {
        return oom(L);
    }
    if (strchr(L->base_path, ' ') != NULL) {
        return lerr(L, n, "a space in base_url (expected it percent-encoded)");
    }
    return 0;
}

static int load_options(struct loader *L, struct ynode *n)
{
    if (check_map(L, n, "options", OPTION_KEYS) < 0) {
        return -1;
    }
    struct scenario_file_opts *o = L->opts;
    struct ynode *v;
    uint64_t u;
    if ((v = mget(n, "threads")) != NULL) {
        if (get_u64(L, v, 1, 256, &u) < 0) {
            return -1;
        }
        o->has_threads = true;
        o->threads = (int)u;
    }
    if ((v = mget(n, "timeout")) != NULL) {
        if (get_duration(L, v, false, &o->timeout_ns) < 0) {
            return -1;
        }
        o->has_timeout = true;
    }
    if ((v = mget(n, "connect_timeout")) != NULL) {
        if (get_duration(L, v, false, &o->connect_timeout_ns) < 0) {
            return -1;
        }
        o->has_connect_timeout = true;
    }
    if ((v = mget(n, "grace")) != NULL) {
        if (get_duration(L, v, true, &o->grace_ns) < 0) {
            return -1;
        }
        o->has_grace = true;
    }
    return 0;
}

static int load_data(struct loader *L, struct ynode *n)
{
    if (check_map(L, n, "data", NULL) < 0) {
        return -1;
    }
    size_t count = n->n / 2;
    if (count > SCENARIO_MAX_FEEDERS) {
        return lerr(L, n, "too many data feeders (at most %d)", SCENARIO_MAX_FEEDERS);
    }
    struct load_owner *o = L->own;
    o->feeders = calloc(count ? count : 1, sizeof *o->feeders);
    o->feeder_names = calloc(count ? count : 1, sizeof *o->feeder_names);
    if (o->feeders == NULL || o->feeder_names == NULL) {
        return oom(L);
    }
    static const char *const orders[] = {"sequential", "random", "unique", NULL};
    static const char *const pers[] = {"iteration", "vu", NULL};
    static const char *const exh[] = {"recycle", "stop_vu", "abort", NULL};
    for (size_t i = 0; i < count; i++) {
        struct ynode *k = n->kids[2 * i], *d = n->kids[2 * i + 1];
        if (!is_ident(k->s) || tmpl_is_builtin(k->s)) {
            return lerr(L, k,
                        "bad data feeder name '%s' (expected a name of letters, digits "
                        "and _ that is not a built-in such as vu or iter)",
                        k->s);
        }
        if (check_map(L, d, "a data feeder", DATA_KEYS) < 0) {
            return -1;
        }
        struct ynode *file = mget(d, "file"), *v;
        if (file == NULL) {
            return lerr(L, k, "data feeder '%s' has no file (expected file: path/to/data.csv)",
                        k->s);
        }
        int order = 0, per = 0, ex = 0;
        if ((v = mget(d, "order")) != NULL && get_enum(L, v, "order", orders, &order) < 0) {
            return -1;
        }
        if ((v = mget(d, "per")) != NULL && get_enum(L, v, "per value", pers, &per) < 0) {
            return -1;
        }
        if ((v = mget(d, "on_exhausted")) != NULL &&
            get_enum(L, v, "on_exhausted value", exh, &ex) < 0) {
            return -1;
        }
        const char *path = sval(L, file, "a file path");
        if (path == NULL) {
            return -1;
        }
        char *full = NULL;
        if (path[0] == '/' || L->base_dir == NULL || L->base_dir[0] == '\0') {
            full = strdup(path);
        } else {
            size_t len = strlen(L->base_dir) + strlen(path) + 2;
            full = malloc(len);
            if (full != NULL) {
                snprintf(full, len, "%s/%s", L->base_dir, path);
            }
        }
        if (full == NULL) {
            return oom(L);
        }
        char msg[512];
        int rc = feeder_load_csv(full, k->s, (enum feeder_order)order, (enum feeder_scope)per,
                                 (enum feeder_exhausted)ex, &o->feeders[i], msg, sizeof msg);
        free(full);
        if (rc < 0) {
            return lerr(L, file, "data feeder '%s': %s", k->s, msg);
        }
        o->feeder_names[i] = strdup(k->s);
        o->n_feeders = i + 1;
        if (o->feeder_names[i] == NULL) {
            return oom(L);
        }
    }
    return 0;
}

static int load_thresholds(struct loader *L, struct ynode *n, struct threshold **out, size_t *nout)
{
    if (check_map(L, n, "thresholds", NULL) < 0) {
        return -1;
    }
    size_t total = 0;
    for (size_t i = 1; i < n->n; i += 2) {
        total += n->kids[i]->type == Y_SEQ ? n->kids[i]->n : 1;
    }
    if (total > SCENARIO_MAX_THRESHOLDS) {
        return lerr(L, n, "too many thresholds (at most %d)", SCENARIO_MAX_THRESHOLDS);
    }
    if (total == 0) {
        return 0;
    }
    struct threshold *th = calloc(total, sizeof *th);
    if (th == NULL) {
        return oom(L);
    }
    *out = th;
    static const char *const tkeys[] = {
        "threshold", "abort_on_fail", "abortOnFail", "delay_abort_eval", "delayAbortEval", NULL,
    };
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *list = n->kids[i + 1];
        struct ynode *one[1] = {list};
        struct ynode **items = list->type == Y_SEQ ? list->kids : one;
        size_t count = list->type == Y_SEQ ? list->n : 1;
        if (list->type == Y_MAP) {
            return lerr(L, list,
                        "found a mapping for the thresholds of %s (expected a list "
                        "such as [\"p(95)<300\"])",
                        k->s);
        }
        for (size_t j = 0; j < count; j++) {
            struct ynode *it = items[j];
            char expr[THRESHOLD_EXPR_MAX + 64];
            struct ynode *at = it;
            if (it->type == Y_MAP) {
                if (check_map(L, it, "a threshold", tkeys) < 0) {
                    return -1;
                }
                bool bad = false;
                struct ynode *t = mget(it, "threshold");
                struct ynode *a = mget2(L, it, "abort_on_fail", "abortOnFail", &bad);
                struct ynode *d =
                    bad ? NULL : mget2(L, it, "delay_abort_eval", "delayAbortEval", &bad);
                if (bad) {
                    return -1;
                }
                if (t == NULL) {
                    return lerr(L, it,
                                "a threshold without 'threshold' (expected {threshold: "
                                "\"p(99)<500\", abort_on_fail: true})");
                }
                const char *ts = sval(L, t, "a threshold expression such as p(95)<300");
                if (ts == NULL) {
                    return -1;
                }
                at = t;
                size_t off = (size_t)snprintf(expr, sizeof expr, "%s", ts);
                if (a != NULL) {
                    static const char *const bools[] = {"false", "true", NULL};
                    int b;
                    if (get_enum(L, a, "abort_on_fail value", bools, &b) < 0) {
                        return -1;
                    }
                    if (b && off < sizeof expr) {
                        off += (size_t)snprintf(expr + off, sizeof expr - off, ",abortOnFail");
                    }
                }
                if (d != NULL) {
                    uint64_t ns;
                    const char *ds = sval(L, d, "a duration");
                    if (ds == NULL || get_duration(L, d, true, &ns) < 0) {
                        return -1;
                    }
                    if (off < sizeof expr) {
                        snprintf(expr + off, sizeof expr - off, ",delayAbortEval=%s", ds);
                    }
                }
            } else {
                const char *s = sval(L, it, "a threshold expression such as p(95)<300");
                if (s == NULL) {
                    return -1;
                }
                snprintf(expr, sizeof expr, "%s", s);
            }
            char msg[512];
            if (threshold_parse(k->s, expr, &th[*nout], msg, sizeof msg) < 0) {
                return lerr(L, at, "bad threshold for %s: %s", k->s, msg);
            }
            (*nout)++;
        }
    }
    return 0;
}

static int load_root(struct loader *L, struct ynode *root, struct threshold **th, size_t *nth)
{
    if (root == NULL) {
        return lerr(L, NULL, "the file is empty (expected a mapping with scenarios:)");
    }
    if (check_map(L, root, "the top level", TOP_KEYS) < 0) {
        return -1;
    }
    struct ynode *v;
    if ((v = mget(root, "name")) != NULL && sval(L, v, "a name") == NULL) {
        return -1;
    }
    if ((v = mget(root, "description")) != NULL && sval(L, v, "a description") == NULL) {
        return -1;
    }
    if ((v = mget(root, "base_url")) != NULL && load_base_url(L, v) < 0) {
        return -1;
    }
    if ((v = mget(root, "options")) != NULL && load_options(L, v) < 0) {
        return -1;
    }
    if ((v = mget(root, "defaults")) != NULL) {
        if (check_map(L, v, "defaults", DEFAULT_KEYS) < 0) {
            return -1;
        }
        L->def_headers = mget(v, "headers");
        struct ynode *t = mget(v, "timeout");
        if (t != NULL && get_duration(L, t, false, &L->def_timeout_ns) < 0) {
            return -1;
        }
    }
    if ((v = mget(root, "data")) != NULL && load_data(L, v) < 0) {
        return -1;
    }
    struct ynode *sn = mget(root, "scenarios");
    if (sn == NULL) {
        return lerr(L, root,
                    "no scenarios (expected scenarios: a mapping of names to "
                    "scenarios)");
    }
    if (check_map(L, sn, "scenarios", NULL) < 0) {
        return -1;
    }
    size_t count = sn->n / 2;
    if (count == 0) {
        return lerr(L, sn, "no scenarios (expected at least one)");
    }
    if (count > SCENARIO_MAX_SCENARIOS) {
        return lerr(L, sn, "too many scenarios (at most %d)", SCENARIO_MAX_SCENARIOS);
    }
    struct plan *plan = L->plan;
    plan->scenarios = calloc(count, sizeof *plan->scenarios);
    L->own->fscs = calloc(count, sizeof *L->own->fscs);
    if (plan->scenarios == NULL || L->own->fscs == NULL) {
        return oom(L);
    }
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < count; i++) {
        plan->n_scenarios = i + 1;
        L->own->n_fscs = i + 1;
        struct flow_scenario *fsc = &L->own->fscs[i];
        fsc->seed = seed + i * 0x9e3779b97f4a7c15ULL;
        if (compile_scenario(L, sn->kids[2 * i], sn->kids[2 * i + 1], &plan->scenarios[i], fsc) <
            0) {
            return -1;
        }
    }
    if ((v = mget(root, "thresholds")) != NULL && load_thresholds(L, v, th, nth) < 0) {
        return -1;
    }
    /* Run options into the plan. */
    struct scenario_file_opts *o = L->opts;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    plan->threads = o->has_threads ? o->threads : (int)(cores > 0 ? cores : 1);
    if (!o->has_threads) {
        plan_fit_threads(plan); /* more threads than VUs would leave threads idle */
    }
    plan->timeout_ns = o->has_timeout ? o->timeout_ns : 60 * NS_S;
    plan->connect_timeout_ns = o->has_connect_timeout ? o->connect_timeout_ns : 10 * NS_S;
    plan->grace_ns = o->has_grace ? o->grace_ns : 5 * NS_S;
    return 0;
}

int scenario_load_string(const char *yaml, size_t len, const char *display_name,
                         const char *base_dir, struct plan **out, struct threshold **thresholds,
                         size_t *n_thresholds, struct scenario_file_opts *opts, char *err,
                         size_t err_len)
{
    struct loader L;
    struct scenario_file_opts local_opts;
    memset(&L, 0, sizeof L);
    memset(&local_opts, 0, sizeof local_opts);
    if (opts == NULL) {
        opts = &local_opts;
    }
    memset(opts, 0, sizeof *opts);
    L.file = display_name != NULL ? display_name : "<scenario>";
    L.base_dir = base_dir;
    L.err = err;
    L.err_len = err_len;
    L.opts = opts;
    if (err_len > 0) {
        err[0] = '\0';
    }
    *out = NULL;
    *thresholds = NULL;
    *n_thresholds = 0;
    struct threshold *th = NULL;
    size_t nth = 0;
    int rc = -1;
    L.plan = calloc(1, sizeof *L.plan);
    L.own = calloc(1, sizeof *L.own);
    if (L.plan == NULL || L.own == NULL) {
        free(L.plan);
        free(L.own);
        oom(&L);
        return -1;
    }
    L.plan->owner = L.own;
    L.plan->owner_free = owner_free;
    if (len > SCENARIO_MAX_FILE_BYTES) {
        lerr(&L, NULL, "the file is larger than %u bytes", SCENARIO_MAX_FILE_BYTES);
        goto done;
    }
    struct ynode *root = NULL;
    if (ytree_build(&L, yaml, len, &root) < 0) {
        goto done;
    }
    if (load_root(&L, root, &th, &nth) < 0) {
        goto done;
    }
    rc = 0;
done:
    ytree_free(&L);
    free(L.base_origin);
    free(L.base_path);
    if (rc < 0) {
        plan_free(L.plan);
        for (size_t i = 0; i < nth; i++) {
            threshold_destroy(&th[i]);
        }
        free(th);
        return -1;
    }
    *out = L.plan;
    *thresholds = th;
    *n_thresholds = nth;
    return 0;
}

int scenario_load(const char *path, struct plan **out, struct threshold **thresholds,
                  size_t *n_thresholds, struct scenario_file_opts *opts, char *err, size_t err_len)
{
    *out = NULL;
    *thresholds = NULL;
    *n_thresholds = 0;
    if (opts != NULL) {
        memset(opts, 0, sizeof *opts);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file (expected a scenario .yaml file)", path);
        close(fd);
        return -1;
    }
    if ((uint64_t)sb.st_size > SCENARIO_MAX_FILE_BYTES) {
        snprintf(err, err_len, "%s: larger than %u bytes", path, SCENARIO_MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    size_t cap = (size_t)sb.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    char *dir = strdup(path);
    if (dir == NULL) {
        free(buf);
        snprintf(err, err_len, "%s: out of memory", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        dir[0] = '\0';
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    int rc = scenario_load_string(buf, got, path, dir, out, thresholds, n_thresholds, opts, err,
                                  err_len);
    free(dir);
    free(buf);
    return rc;
}
