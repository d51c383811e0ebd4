/*
 * jtree — one pass over a validated JSON document into an array of nodes (jtree.h).
 * The scanner is recursive; the depth is bounded by JSON_MAX_DEPTH, which
 * json_validate() already enforced, and checked again here.
 */
#include "report/jtree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct scan {
    struct jtree *t;
    const char *p, *end;
    int depth;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        s->p++;
    }
}

static int new_node(struct jtree *t, uint32_t *out)
{
    if (t->n == t->cap) {
        if (t->cap >= JTREE_MAX_NODES) {
            return -E2BIG;
        }
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct jnode *nn = realloc(t->nodes, cap * sizeof *nn);
        if (nn == NULL) {
            return -ENOMEM;
        }
        t->nodes = nn;
        t->cap = cap;
    }
    memset(&t->nodes[t->n], 0, sizeof t->nodes[t->n]);
    t->nodes[t->n].child = JTREE_NONE;
    t->nodes[t->n].next = JTREE_NONE;
    *out = (uint32_t)t->n++;
    return 0;
}

/* A string starting at s->p (a '"'): its span, quotes included. */
static int scan_string(struct scan *s, struct json_span *sp)
{
    const char *start = s->p++;
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\') {
            s->p++;
        }
        s->p++;
    }
    if (s->p >= s->end) {
        return JSON_EINVAL;
    }
    s->p++;
    sp->type = JSON_STRING;
    sp->start = start;
    sp->len = (size_t)(s->p - start);
    return 0;
}

static int scan_value(struct scan *s, uint32_t *out);

static int scan_container(struct scan *s, uint32_t self, bool object)
{
    char close = object ? '}' : ']';
    uint32_t last = JTREE_NONE;
    int rc = 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    while (rc == 0) {
        struct json_span key = {0};
        skip_ws(s);
        if (object) {
            if (s->p >= s->end || *s->p != '"' || (rc = scan_string(s, &key)) < 0) {
                return rc < 0 ? rc : JSON_EINVAL;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') {
                return JSON_EINVAL;
            }
            s->p++;
        }
        uint32_t child;
        if ((rc = scan_value(s, &child)) < 0) {
            return rc;
        }
        struct jtree *t = s->t;
        t->nodes[child].key = key;
        if (last == JTREE_NONE) {
            t->nodes[self].child = child;
        } else {
            t->nodes[last].next = child;
        }
        t->nodes[self].n_children++;
        last = child;
        skip_ws(s);
        if (s->p >= s->end) {
            return JSON_EINVAL;
        }
        if (*s->p == close) {
            s->p++;
            return 0;
        }
        if (*s->p != ',') {
            return JSON_EINVAL;
        }
        s->p++;
    }
    return rc;
}

static int scan_value(struct scan *s, uint32_t *out)
{
    int rc;
    uint32_t self;
    skip_ws(s);
    if (s->p >= s->end) {
        return JSON_EINVAL;
    }
    if ((rc = new_node(s->t, &self)) < 0) {
        return rc;
    }
    *out = self;
    const char *start = s->p;
    struct json_span sp = {.start = start};
    char c = *s->p;
    if (c == '{' || c == '[') {
        if (++s->depth > JSON_MAX_DEPTH) {
            return JSON_EDEPTH;
        }
        rc = scan_container(s, self, c == '{');
        s->depth--;
        sp.type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
    } else if (c == '"') {
        rc = scan_string(s, &sp);
    } else {
        while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' &&
               *s->p != '\n' && *s->p != '\t' && *s->p != '\r') {
            s->p++;
        }
        size_t n = (size_t)(s->p - start);
        if (n == 4 && memcmp(start, "null", 4) == 0) {
            sp.type = JSON_NULL;
        } else if (n == 4 && memcmp(start, "true", 4) == 0) {
            sp.type = JSON_TRUE;
        } else if (n == 5 && memcmp(start, "false", 5) == 0) {
            sp.type = JSON_FALSE;
        } else if (n > 0) {
            sp.type = JSON_NUMBER;
        } else {
            rc = JSON_EINVAL;
        }
    }
    if (rc == 0) {
        sp.len = (size_t)(s->p - start);
        if (sp.type != JSON_STRING) {
            sp.start = start;
        }
        s->t->nodes[self].val = sp;
    }
    return rc;
}

int jtree_parse(struct jtree *t, const char *doc, size_t len)
{
    struct scan s = {.t = t, .p = doc, .end = doc + len};
    uint32_t root;
    memset(t, 0, sizeof *t);
    int rc = scan_value(&s, &root);
    if (rc == 0) {
        skip_ws(&s);
        if (s.p != s.end) {
            rc = JSON_EINVAL;
        }
    }
    return rc;
}

void jtree_free(struct jtree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

const struct jnode *jtree_at(const struct jtree *t, uint32_t i)
{
    return i == JTREE_NONE || i >= t->n ? NULL : &t->nodes[i];
}

const struct jnode *jtree_first(const struct jtree *t, const struct jnode *n)
{
    return n == NULL ? NULL : jtree_at(t, n->child);
}

const struct jnode *jtree_next(const struct jtree *t, const struct jnode *n)
{
    return n == NULL ? NULL : jtree_at(t, n->next);
}

const struct jnode *jtree_get(const struct jtree *t, const struct jnode *obj, const char *key)
{
    if (obj == NULL || obj->val.type != JSON_OBJECT) {
        return NULL;
    }
    size_t kl = strlen(key);
    for (const struct jnode *c = jtree_first(t, obj); c != NULL; c = jtree_next(t, c)) {
        if (c->key.len == kl + 2 && memcmp(c->key.start + 1, key, kl) == 0) {
            return c;
        }
    }
    return NULL;
}

double jtree_num(const struct jtree *t, const struct jnode *obj, const char *key, double def)
{
    const struct jnode *n = jtree_get(t, obj, key);
    double v;
    if (n == NULL || n->val.type != JSON_NUMBER || json_span_number(&n->val, &v) < 0) {
        return def;
    }
    return v;
}

bool jtree_bool(const struct jtree *t, const struct jnode *obj, const char *key, bool def)
{
    const struct jnode *n = jtree_get(t, obj, key);
    if (n == NULL || (n->val.type != JSON_TRUE && n->val.type != JSON_FALSE)) {
        return def;
    }
    return n->val.type == JSON_TRUE;
}

void jtree_text(const struct jnode *n, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (n == NULL || n->val.type == JSON_NULL || n->val.type == JSON_OBJECT ||
        n->val.type == JSON_ARRAY) {
        return;
    }
    int k = json_span_text(&n->val, out, cap);
    if (k == -E2BIG) {
        /* Keep what fits: copy the raw bytes of a string, cut at a UTF-8 boundary. */
        char big[4096];
        k = json_span_text(&n->val, big, sizeof big);
        size_t m = k >= 0 ? (size_t)k : 0;
        if (m >= cap) {
            m = cap - 1;
            while (m > 0 && ((unsigned char)big[m] & 0xC0) == 0x80) {
                m--;
            }
        }
        memcpy(out, big, m);
        out[m] = '\0';
    } else if (k < 0) {
        out[0] = '\0';
    } else {
        /* A \u0000 escape would cut the text short; that is what C strings can hold. */
    }
}

bool jtree_str(const struct jtree *t, const struct jnode *obj, const char *key, char *out,
               size_t cap)
{
    const struct jnode *n = jtree_get(t, obj, key);
    jtree_text(n, out, cap);
    return n != NULL && n->val.type != JSON_NULL;
}
