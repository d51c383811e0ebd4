/*
 * pgplan — see pgplan.h.  A recursive-descent JSON reader (depth-capped) that keeps, per
 * object, the few members a plan node has that the findings use, and emits the node
 * when its object closes if it was a "Seq Scan".
 */
#include "probe/pgplan.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
    const char *p, *end;
    struct pgplan_scan *out;
    size_t cap;
    int count;
    double root_cost;
    int err;
};

struct node {
    bool seq;
    struct pgplan_scan s;
};

static void ws(struct ctx *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
        c->p++;
    }
}

/* Reads a string at c->p (which is '"'), unescaping into out (cap, truncated, may be
 * NULL).  Returns 0 or PGPLAN_EINVAL. */
static int str(struct ctx *c, char *out, size_t cap)
{
    size_t o = 0;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if ((unsigned char)ch < 0x20) {
            return PGPLAN_EINVAL;
        }
        if (ch == '\\') {
            if (c->p >= c->end) {
                return PGPLAN_EINVAL;
            }
            char e = *c->p++;
            switch (e) {
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case '"':
            case '\\':
            case '/':
                ch = e;
                break;
            case 'u':
                for (int i = 0; i < 4; i++) {
                    if (c->p >= c->end || !isxdigit((unsigned char)*c->p)) {
                        return PGPLAN_EINVAL;
                    }
                    c->p++;
                }
                ch = '?';
                break;
            default:
                return PGPLAN_EINVAL;
            }
        }
        if (out && o + 1 < cap) {
            out[o++] = ch;
        }
    }
    if (c->p >= c->end) {
        return PGPLAN_EINVAL;
    }
    c->p++;
    if (out && cap) {
        out[o] = '\0';
    }
    return 0;
}

static int num(struct ctx *c, double *out)
{
    char buf[64];
    size_t n = 0;
    while (c->p < c->end && n + 1 < sizeof buf &&
           (isdigit((unsigned char)*c->p) || *c->p == '-' || *c->p == '+' || *c->p == '.' ||
            *c->p == 'e' || *c->p == 'E')) {
        buf[n++] = *c->p++;
    }
    buf[n] = '\0';
    char *endp = NULL;
    double v = strtod(buf, &endp);
    if (n == 0 || endp != buf + n) {
        return PGPLAN_EINVAL;
    }
    if (out) {
        *out = v;
    }
    return 0;
}

static int value(struct ctx *c, int depth);

static int object(struct ctx *c, int depth)
{
    struct node nd;
    memset(&nd, 0, sizeof nd);
    nd.s.actual_rows = -1;
    nd.s.rows_removed = -1;
    nd.s.total_cost = -1;
    int rc = 0;
    c->p++; /* '{' */
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    while (rc == 0) {
        char key[64];
        ws(c);
        if (c->p >= c->end || *c->p != '"') {
            return PGPLAN_EINVAL;
        }
        rc = str(c, key, sizeof key);
        ws(c);
        if (rc != 0 || c->p >= c->end || *c->p != ':') {
            return PGPLAN_EINVAL;
        }
        c->p++;
        ws(c);
        if (c->p >= c->end) {
            return PGPLAN_EINVAL;
        }
        char *sdst = NULL;
        size_t scap = 0;
        double *ndst = NULL;
        char type[32];
        if (strcmp(key, "Node Type") == 0) {
            sdst = type;
            scap = sizeof type;
        } else if (strcmp(key, "Relation Name") == 0) {
            sdst = nd.s.relation;
            scap = sizeof nd.s.relation;
        } else if (strcmp(key, "Schema") == 0) {
            sdst = nd.s.schema;
            scap = sizeof nd.s.schema;
        } else if (strcmp(key, "Filter") == 0) {
            sdst = nd.s.filter;
            scap = sizeof nd.s.filter;
        } else if (strcmp(key, "Plan Rows") == 0) {
            ndst = &nd.s.plan_rows;
        } else if (strcmp(key, "Actual Rows") == 0) {
            ndst = &nd.s.actual_rows;
        } else if (strcmp(key, "Rows Removed by Filter") == 0) {
            ndst = &nd.s.rows_removed;
        } else if (strcmp(key, "Total Cost") == 0) {
            ndst = &nd.s.total_cost;
        }
        if (sdst && *c->p == '"') {
            rc = str(c, sdst, scap);
            if (rc == 0 && sdst == type) {
                nd.seq = strcmp(type, "Seq Scan") == 0;
            }
        } else if (ndst && (*c->p == '-' || isdigit((unsigned char)*c->p))) {
            rc = num(c, ndst);
            if (rc == 0 && ndst == &nd.s.total_cost && c->root_cost < 0) {
                c->root_cost = *ndst;
            }
        } else {
            rc = value(c, depth + 1);
        }
        ws(c);
        if (rc != 0 || c->p >= c->end) {
            return rc ? rc : PGPLAN_EINVAL;
        }
        if (*c->p == ',') {
            c->p++;
        } else if (*c->p == '}') {
            c->p++;
            break;
        } else {
            return PGPLAN_EINVAL;
        }
    }
    if (nd.seq) {
        if ((size_t)c->count < c->cap) {
            c->out[c->count] = nd.s;
        }
        c->count++;
    }
    return 0;
}

static int array(struct ctx *c, int depth)
{
    int rc = 0;
    c->p++; /* '[' */
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    while (rc == 0) {
        ws(c);
        rc = value(c, depth + 1);
        ws(c);
        if (rc != 0 || c->p >= c->end) {
            return rc ? rc : PGPLAN_EINVAL;
        }
        if (*c->p == ',') {
            c->p++;
        } else if (*c->p == ']') {
            c->p++;
            break;
        } else {
            return PGPLAN_EINVAL;
        }
    }
    return 0;
}

static int literal(struct ctx *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) {
        return PGPLAN_EINVAL;
    }
    c->p += n;
    return 0;
}

static int value(struct ctx *c, int depth)
{
    if (depth > PGPLAN_MAX_DEPTH) {
        return PGPLAN_EDEPTH;
    }
    ws(c);
    if (c->p >= c->end) {
        return PGPLAN_EINVAL;
    }
    switch (*c->p) {
    case '{':
        return object(c, depth);
    case '[':
        return array(c, depth);
    case '"':
        return str(c, NULL, 0);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        return num(c, NULL);
    }
}

int pgplan_seq_scans(const char *doc, size_t len, struct pgplan_scan *out, size_t cap,
                     double *root_cost)
{
    struct ctx c = {.p = doc, .end = doc + len, .out = out, .cap = cap, .root_cost = -1};
    int rc = doc ? value(&c, 0) : PGPLAN_EINVAL;
    if (rc == 0) {
        ws(&c);
        if (c.p != c.end) {
            rc = PGPLAN_EINVAL;
        }
    }
    if (root_cost) {
        *root_cost = c.root_cost;
    }
    return rc == 0 ? c.count : rc;
}

/* ---- filter columns ------------------------------------------------------------- */

static bool is_keyword(const char *w, size_t n)
{
    static const char *const kw[] = {"AND",      "OR",   "NOT",     "IS",    "NULL", "TRUE",
                                     "FALSE",    "ANY",  "ALL",     "IN",    "LIKE", "ILIKE",
                                     "BETWEEN",  "CASE", "WHEN",    "THEN",  "ELSE", "END",
                                     "DISTINCT", "FROM", "SubPlan", "ARRAY", "ROW"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        if (strlen(kw[i]) == n && strncasecmp(kw[i], w, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_cmp_op(const char *s, size_t n)
{
    static const char *const ops[] = {
        "=", "<>", "!=", "<", "<=", ">", ">=", "~~", "~~*", "!~~", "!~~*", "~", "~*"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (strlen(ops[i]) == n && memcmp(ops[i], s, n) == 0) {
            return true;
        }
    }
    return false;
}

enum tok_kind { T_END, T_IDENT, T_LITERAL, T_OP, T_OPEN, T_CLOSE, T_CAST, T_DOT, T_OTHER };

struct tok {
    enum tok_kind kind;
    const char *s;
    size_t n;
};

static struct tok next_tok(const char **pp)
{
    const char *p = *pp;
    struct tok t = {T_END, p, 0};
    while (*p == ' ' || *p == '\t' || *p == '\n') {
        p++;
    }
    t.s = p;
    if (*p == '\0') {
        t.kind = T_END;
    } else if (*p == '\'') {
        p++;
        while (*p && !(*p == '\'' && p[1] != '\'')) {
            p += *p == '\'' ? 2 : 1;
        }
        if (*p) {
            p++;
        }
        t.kind = T_LITERAL;
    } else if (*p == '"') {
        p++;
        t.s = p;
        while (*p && !(*p == '"' && p[1] != '"')) {
            p += *p == '"' ? 2 : 1;
        }
        t.n = (size_t)(p - t.s);
        if (*p) {
            p++;
        }
        t.kind = T_IDENT;
        *pp = p;
        return t;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '$') {
            p++;
        }
        t.kind = T_IDENT;
    } else if (isdigit((unsigned char)*p) || *p == '$') {
        p++;
        while (isalnum((unsigned char)*p) || *p == '.') {
            p++;
        }
        t.kind = T_LITERAL;
    } else if (*p == ':' && p[1] == ':') {
        p += 2;
        t.kind = T_CAST;
    } else if (*p == '(' || *p == '[') {
        p++;
        t.kind = T_OPEN;
    } else if (*p == ')' || *p == ']') {
        p++;
        t.kind = T_CLOSE;
    } else if (*p == '.') {
        p++;
        t.kind = T_DOT;
    } else if (strchr("=<>!~*+-/%|&^#@", *p)) {
        while (*p && strchr("=<>!~*+-/%|&^#@", *p)) {
            p++;
        }
        t.kind = T_OP;
    } else {
        p++;
        t.kind = T_OTHER;
    }
    if (t.n == 0) {
        t.n = (size_t)(p - t.s);
    }
    *pp = p;
    return t;
}

static void add_col(char (*cols)[64], size_t cap, size_t *n, const char *s, size_t len)
{
    if (len == 0 || len >= 64 || *n >= cap) {
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strlen(cols[i]) == len && memcmp(cols[i], s, len) == 0) {
            return;
        }
    }
    memcpy(cols[*n], s, len);
    cols[*n][len] = '\0';
    (*n)++;
}

size_t pgplan_filter_columns(const char *filter, char (*cols)[64], size_t cap)
{
    size_t n = 0;
    const char *p = filter ? filter : "";
    /* A sliding window of three tokens: prev, cur, next.  cur is a column when it is an
     * identifier that is not a keyword, not a cast's type (prev is ::), not a function
     * (next is '('), not a qualifier (next is '.'), and next to a comparison (prev or
     * next is a comparison operator, or next is IS). */
    struct tok prev = {T_OTHER, "", 0};
    struct tok cur = next_tok(&p);
    struct tok nxt = next_tok(&p);
    int guard = 0;
    while (cur.kind != T_END && guard++ < 4096) {
        if (cur.kind == T_IDENT && prev.kind != T_CAST && nxt.kind != T_OPEN && nxt.kind != T_DOT &&
            !is_keyword(cur.s, cur.n)) {
            bool near_cmp = (prev.kind == T_OP && is_cmp_op(prev.s, prev.n)) ||
                            (nxt.kind == T_OP && is_cmp_op(nxt.s, nxt.n)) ||
                            (nxt.kind == T_IDENT && nxt.n == 2 && strncasecmp(nxt.s, "IS", 2) == 0);
            if (near_cmp) {
                add_col(cols, cap, &n, cur.s, cur.n);
            }
        }
        prev = cur;
        cur = nxt;
        nxt = next_tok(&p);
    }
    return n;
}
