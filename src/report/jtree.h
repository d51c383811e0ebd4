/*
 * jtree — a read-only tree over a JSON document that json_validate() accepted, so the
 * report reader can walk a result of any size in one pass.
 *
 * core/json.h's reader finds one path at a time, which costs a scan from the start of
 * the document per lookup: fine for a member or two, quadratic for the 3,600 rows of a
 * one-hour time series.  jtree scans once and records each value as a node (type, span,
 * first child, next sibling) in one array; lookups then walk children.  The nodes point
 * into the document, which must outlive the tree.  Scalars are decoded on demand with
 * json_span_text() / json_span_number().
 *
 * The document must be valid (json_validate() == 0); jtree_parse() re-checks only what
 * it needs to stay inside the buffer, and says JSON_EINVAL otherwise.  The node count
 * is capped (JTREE_MAX_NODES); one thread at a time.
 */
#ifndef BRUNT_REPORT_JTREE_H
#define BRUNT_REPORT_JTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

#define JTREE_MAX_NODES (64u * 1024u * 1024u)
#define JTREE_NONE UINT32_MAX

struct jnode {
    struct json_span val; /* the value's text (a string's span includes its quotes) */
    struct json_span key; /* an object member's key (a string span), else len 0 */
    uint32_t child;       /* first child, or JTREE_NONE */
    uint32_t next;        /* next sibling, or JTREE_NONE */
    uint32_t n_children;
};

struct jtree {
    struct jnode *nodes; /* nodes[0] is the root */
    size_t n, cap;
};

/*
 * Builds the tree of doc[0..len).  Returns 0, -ENOMEM, -E2BIG (more than
 * JTREE_MAX_NODES values) or JSON_EINVAL / JSON_EDEPTH.  Free with jtree_free (also
 * after a failure).
 */
int jtree_parse(struct jtree *t, const char *doc, size_t len);
void jtree_free(struct jtree *t);

/* The node at index i, or NULL for JTREE_NONE. */
const struct jnode *jtree_at(const struct jtree *t, uint32_t i);

/* The member key of object node obj (first match; keys compared raw, so a key
 * written with escapes is not found), or NULL when obj is not an object or lacks it. */
const struct jnode *jtree_get(const struct jtree *t, const struct jnode *obj, const char *key);

/* First child / next sibling, NULL at the end. */
const struct jnode *jtree_first(const struct jtree *t, const struct jnode *n);
const struct jnode *jtree_next(const struct jtree *t, const struct jnode *n);

/* Member key as a number; def when absent, null or not a number. */
double jtree_num(const struct jtree *t, const struct jnode *obj, const char *key, double def);
/* Member key as a bool; def when absent or not a bool. */
bool jtree_bool(const struct jtree *t, const struct jnode *obj, const char *key, bool def);
/* Member key as text into out (always terminated); "" when absent or null, the raw
 * text for numbers and bools, truncated to cap-1 bytes.  Returns true when present. */
bool jtree_str(const struct jtree *t, const struct jnode *obj, const char *key, char *out,
               size_t cap);
/* The node's own text (as jtree_str). */
void jtree_text(const struct jnode *n, char *out, size_t cap);

#endif
