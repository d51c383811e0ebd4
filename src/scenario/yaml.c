/*
 * yaml — YAML text into the loader's own tree (struct ynode, load_internal.h).
 *
 * libfyaml's event parser feeds a small tree that keeps each node's line and column
 * (libfyaml's document API does not expose them).  Anchors and aliases are resolved by
 * sharing nodes, with the total expanded size capped (SCENARIO_MAX_NODES, counting one
 * more per 64 bytes of a scalar) so a "billion laughs" document is refused instead of
 * walked.  Invalid UTF-8 and NUL bytes are refused before libfyaml sees the text.
 * libfyaml's diagnostics are captured, never printed, and become one positioned error.
 * It knows nothing of scenarios.  Load time, one thread.
 */
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "scenario/load_internal.h"

static struct ynode *ynew(struct loader *L, enum ytype type, int line, int col)
{
    if (L->n_all >= SCENARIO_MAX_NODES) {
        load__err_at(L, line, col, "too many YAML nodes (at most %u)", SCENARIO_MAX_NODES);
        return NULL;
    }
    if (L->n_all == L->cap_all) {
        size_t cap = L->cap_all ? L->cap_all * 2 : 256;
        struct ynode **a = realloc(L->all, cap * sizeof *a);
        if (a == NULL) {
            load__oom(L);
            return NULL;
        }
        L->all = a;
        L->cap_all = cap;
    }
    struct ynode *n = calloc(1, sizeof *n);
    if (n == NULL) {
        load__oom(L);
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
            return load__oom(L);
        }
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    parent->weight += kid->weight;
    if (parent->weight > SCENARIO_MAX_NODES) {
        return load__err(L, kid,
                         "the document expands to more than %u nodes or 64 MB of text (aliases?)",
                         SCENARIO_MAX_NODES);
    }
    return 0;
}

void load__yaml_free(struct loader *L)
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
            return load__oom(L);
        }
        L->anchors = a;
        L->cap_anchors = cap;
    }
    L->anchors[L->n_anchors].name = strdup(name);
    if (L->anchors[L->n_anchors].name == NULL) {
        return load__oom(L);
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
    return load__err_at(L, line > 0 ? line : 1, col > 0 ? col : 1, "YAML syntax error: %s", msg);
}

/*
 * YAML is Unicode text: refuse invalid UTF-8 (and NUL bytes) before libfyaml sees it.
 * Besides giving a clear message, this matters: libfyaml 0.7.12 loops forever on some
 * invalid UTF-8 inside a %directive line (found by tests/fuzz/fuzz_scenario.c).
 */
static int check_utf8(struct loader *L, const char *s, size_t len)
{
    size_t bad = len;
    const char *nul = memchr(s, '\0', len);
    bool invalid = utf8_validate(s, len, &bad) < 0;
    if (nul != NULL && (size_t)(nul - s) < bad) {
        bad = (size_t)(nul - s);
        invalid = false;
    }
    if (nul == NULL && !invalid) {
        return 0;
    }
    /* Its line, and its column in code points. */
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    return invalid ? load__err_at(L, line, col, "invalid UTF-8 (expected UTF-8 text)")
                   : load__err_at(L, line, col, "a NUL byte (expected UTF-8 text)");
}

/* Parses yaml[0..len) into a tree; *root is its root (NULL for an empty document). */
int load__yaml_parse(struct loader *L, const char *yaml, size_t len, struct ynode **root)
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
        return load__oom(L);
    }
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_parser *p = fy_parser_create(&cfg);
    if (p == NULL || fy_parser_set_string(p, yaml, len) != 0) {
        if (p != NULL) {
            fy_parser_destroy(p);
        }
        fy_diag_unref(diag);
        return load__oom(L);
    }
    struct ynode *stack[LOAD_MAX_DEPTH + 1];
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
                rc = load__err_at(L, line, col,
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
                rc = load__err(L, n, "a NUL character in a string (expected text)");
                break;
            }
            n->s = strndup(s, sl);
            n->len = sl;
            /* A long scalar weighs by its size too (a unit per 64 bytes), so aliases to
             * it cannot make the compiled plan balloon: a 1 MB body referenced from 100
             * steps would compile to 100 MB. */
            n->weight = 1 + sl / 64;
            if (n->s == NULL) {
                rc = load__oom(L);
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
                    rc = load__err(L, n, "unknown tag '%s' (expected !raw or none)", tag);
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
                rc = load__err_at(L, line, col > 1 ? col - 1 : col,
                                  "unknown alias '*%s' (expected an anchor &%s before it)",
                                  name ? name : "", name ? name : "");
            }
            free(name);
            n = target;
            break;
        }
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START:
            if (depth >= LOAD_MAX_DEPTH) {
                rc = load__err_at(L, line, col, "nested too deeply (at most %d levels)",
                                  LOAD_MAX_DEPTH);
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
                    rc = load__err(
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
