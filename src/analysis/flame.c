/*
 * flame — weighted call stacks as a call-path trie; folded, top-N, SVG and speedscope
 * out of it.  See flame.h for the contract and the caps.
 *
 * Two open-addressing hash tables keep insertion O(depth): frame names -> frame index,
 * and (parent node, frame) -> child node.  Children also form a singly linked list per
 * parent so the writers can walk the tree; they sort each sibling list by name on the
 * way out, so every output is deterministic whatever the order stacks arrived in.
 */
#include "analysis/flame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/text.h"

#define ROOT 0u
#define NONE UINT32_MAX

struct fframe {
    char *name;
    char *module;
    char *file;
    int line;
    bool kernel;
};

struct fnode {
    uint32_t frame; /* NONE for the root */
    uint32_t parent;
    uint32_t first_child;
    uint32_t next_sibling;
    uint64_t self;
    uint64_t total;
};

struct flame {
    struct fframe *frames;
    size_t n_frames, cap_frames;
    struct fnode *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t *frame_ht; /* frame index + 1, 0 = empty */
    size_t frame_ht_cap;
    uint32_t *child_ht; /* node index, 0 = empty (the root is never a child) */
    size_t child_ht_cap;
    uint64_t dropped;
    uint64_t truncated;
    char unit[32];
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    return hash_fnv1a(HASH_FNV1A_BASIS, s, n);
}

static uint64_t hash_pair(uint32_t a, uint32_t b)
{
    uint64_t x = ((uint64_t)a << 32) | b;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Length of a valid UTF-8 sequence at s[0..n), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    /* overlong 3- and 4-byte forms, surrogates, past U+10FFFF */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)) {
        return 0;
    }
    return len;
}

/*
 * Copies name into out[0..cap) as a frame name every output can carry: ';' -> ':',
 * control bytes -> ' ', invalid UTF-8 -> '?', cut at cap - 1 bytes (on a character
 * boundary); empty -> "[unknown]".  Returns the length.
 */
static size_t sanitize(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    size_t n = name != NULL ? strlen(name) : 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        const unsigned char *s = (const unsigned char *)name + i;
        size_t l = utf8_len(s, n - i);
        if (l == 0) {
            out[o++] = '?';
            i++;
        } else if (l == 1) {
            char c = (char)s[0];
            if (c == ';') {
                c = ':';
            } else if (s[0] < 0x20 || s[0] == 0x7f) {
                c = ' ';
            }
            out[o++] = c;
            i++;
        } else {
            if (o + l + 1 > cap) {
                break;
            }
            memcpy(out + o, s, l);
            o += l;
            i += l;
        }
    }
    if (o == 0) {
        o = (size_t)snprintf(out, cap, "[unknown]");
    }
    out[o] = '\0';
    return o;
}

static char *dup_clean(const char *s)
{
    if (s == NULL || s[0] == '\0') {
        return NULL;
    }
    char buf[FLAME_MAX_NAME];
    sanitize(s, buf, sizeof buf);
    return strdup(buf);
}

struct flame *flame_new(void)
{
    struct flame *fg = calloc(1, sizeof *fg);
    if (fg == NULL) {
        return NULL;
    }
    fg->cap_nodes = 64;
    fg->nodes = calloc(fg->cap_nodes, sizeof *fg->nodes);
    fg->frame_ht_cap = 64;
    fg->frame_ht = calloc(fg->frame_ht_cap, sizeof *fg->frame_ht);
    fg->child_ht_cap = 128;
    fg->child_ht = calloc(fg->child_ht_cap, sizeof *fg->child_ht);
    if (fg->nodes == NULL || fg->frame_ht == NULL || fg->child_ht == NULL) {
        flame_free(fg);
        return NULL;
    }
    fg->nodes[ROOT] = (struct fnode){NONE, NONE, NONE, NONE, 0, 0};
    fg->n_nodes = 1;
    snprintf(fg->unit, sizeof fg->unit, "samples");
    return fg;
}

void flame_free(struct flame *fg)
{
    if (fg == NULL) {
        return;
    }
    for (size_t i = 0; i < fg->n_frames; i++) {
        free(fg->frames[i].name);
        free(fg->frames[i].module);
        free(fg->frames[i].file);
    }
    free(fg->frames);
    free(fg->nodes);
    free(fg->frame_ht);
    free(fg->child_ht);
    free(fg);
}

void flame_set_unit(struct flame *fg, const char *unit)
{
    snprintf(fg->unit, sizeof fg->unit, "%s", unit != NULL && unit[0] ? unit : "samples");
}

const char *flame_unit(const struct flame *fg)
{
    return fg->unit;
}

uint64_t flame_total(const struct flame *fg)
{
    return fg->nodes[ROOT].total;
}

uint64_t flame_dropped(const struct flame *fg)
{
    return fg->dropped;
}

uint64_t flame_truncated(const struct flame *fg)
{
    return fg->truncated;
}

size_t flame_frames(const struct flame *fg)
{
    return fg->n_frames;
}

size_t flame_nodes(const struct flame *fg)
{
    return fg->n_nodes - 1;
}

static int frame_ht_grow(struct flame *fg)
{
    size_t cap = fg->frame_ht_cap * 2;
    uint32_t *ht = calloc(cap, sizeof *ht);
    if (ht == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < fg->n_frames; i++) {
        const char *nm = fg->frames[i].name;
        size_t h = (size_t)hash_bytes(nm, strlen(nm)) & (cap - 1);
        while (ht[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        ht[h] = (uint32_t)i + 1;
    }
    free(fg->frame_ht);
    fg->frame_ht = ht;
    fg->frame_ht_cap = cap;
    return 0;
}

/* The index of frame f's (sanitized) name, interned on first sight; negative on error. */
static int64_t frame_intern(struct flame *fg, const struct flame_frame *f)
{
    char name[FLAME_MAX_NAME];
    size_t len = sanitize(f->name, name, sizeof name);
    size_t mask = fg->frame_ht_cap - 1;
    size_t h = (size_t)hash_bytes(name, len) & mask;
    while (fg->frame_ht[h] != 0) {
        uint32_t i = fg->frame_ht[h] - 1;
        if (strcmp(fg->frames[i].name, name) == 0) {
            return i;
        }
        h = (h + 1) & mask;
    }
    if (fg->n_frames >= FLAME_MAX_FRAMES) {
        return -E2BIG;
    }
    if (fg->n_frames == fg->cap_frames) {
        size_t cap = fg->cap_frames ? fg->cap_frames * 2 : 64;
        struct fframe *nf = realloc(fg->frames, cap * sizeof *nf);
        if (nf == NULL) {
            return -ENOMEM;
        }
        fg->frames = nf;
        fg->cap_frames = cap;
    }
    struct fframe *ff = &fg->frames[fg->n_frames];
    *ff = (struct fframe){strdup(name), dup_clean(f->module), dup_clean(f->file),
                          f->line > 0 ? f->line : 0, f->kernel};
    if (ff->name == NULL) {
        free(ff->module);
        free(ff->file);
        return -ENOMEM;
    }
    uint32_t idx = (uint32_t)fg->n_frames++;
    fg->frame_ht[h] = idx + 1;
    if (fg->n_frames * 2 > fg->frame_ht_cap && frame_ht_grow(fg) != 0) {
        /* The table still works, only fuller: not an error worth losing the sample. */
    }
    return idx;
}

static int child_ht_grow(struct flame *fg)
{
    size_t cap = fg->child_ht_cap * 2;
    uint32_t *ht = calloc(cap, sizeof *ht);
    if (ht == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 1; i < fg->n_nodes; i++) {
        size_t h = (size_t)hash_pair(fg->nodes[i].parent, fg->nodes[i].frame) & (cap - 1);
        while (ht[h] != 0) {
            h = (h + 1) & (cap - 1);
        }
        ht[h] = (uint32_t)i;
    }
    free(fg->child_ht);
    fg->child_ht = ht;
    fg->child_ht_cap = cap;
    return 0;
}

/* The child of parent for frame, created when absent; negative on error. */
static int64_t child_get(struct flame *fg, uint32_t parent, uint32_t frame)
{
    size_t mask = fg->child_ht_cap - 1;
    size_t h = (size_t)hash_pair(parent, frame) & mask;
    while (fg->child_ht[h] != 0) {
        uint32_t i = fg->child_ht[h];
        if (fg->nodes[i].parent == parent && fg->nodes[i].frame == frame) {
            return i;
        }
        h = (h + 1) & mask;
    }
    if (fg->n_nodes > FLAME_MAX_NODES) {
        return -E2BIG;
    }
    if (fg->n_nodes == fg->cap_nodes) {
        size_t cap = fg->cap_nodes * 2;
        struct fnode *nn = realloc(fg->nodes, cap * sizeof *nn);
        if (nn == NULL) {
            return -ENOMEM;
        }
        fg->nodes = nn;
        fg->cap_nodes = cap;
    }
    uint32_t idx = (uint32_t)fg->n_nodes++;
    fg->nodes[idx] = (struct fnode){frame, parent, NONE, fg->nodes[parent].first_child, 0, 0};
    fg->nodes[parent].first_child = idx;
    fg->child_ht[h] = idx;
    if (fg->n_nodes * 2 > fg->child_ht_cap) {
        (void)child_ht_grow(fg); /* a fuller table still works */
    }
    return idx;
}

int flame_add(struct flame *fg, const struct flame_frame *frames, size_t n, uint64_t weight)
{
    uint32_t path[FLAME_MAX_DEPTH + 1];
    size_t depth = 0;
    int rc = 0;
    if (n == 0 || weight == 0) {
        return 0;
    }
    if (n > FLAME_MAX_DEPTH) {
        n = FLAME_MAX_DEPTH;
        fg->truncated++;
    }
    uint32_t cur = ROOT;
    for (size_t i = 0; i < n; i++) {
        int64_t f = frame_intern(fg, &frames[i]);
        if (f < 0) {
            rc = (int)f;
            goto fail;
        }
        int64_t c = child_get(fg, cur, (uint32_t)f);
        if (c < 0) {
            rc = (int)c;
            goto fail;
        }
        cur = (uint32_t)c;
        path[depth++] = cur;
    }
    /* Only now, when the whole path exists, is the weight added: never half a sample. */
    fg->nodes[ROOT].total += weight;
    for (size_t i = 0; i < depth; i++) {
        fg->nodes[path[i]].total += weight;
    }
    fg->nodes[cur].self += weight;
    return 0;
fail:
    fg->dropped += weight;
    return rc;
}

/* ---- walking the tree in name order --------------------------------------------------- */

struct walk {
    const struct flame *fg;
    uint32_t *kids; /* scratch: children of every level, FLAME_MAX_DEPTH levels */
};

static const struct flame *sort_fg;

static int cmp_by_name(const void *a, const void *b)
{
    const struct fnode *x = &sort_fg->nodes[*(const uint32_t *)a];
    const struct fnode *y = &sort_fg->nodes[*(const uint32_t *)b];
    return strcmp(sort_fg->frames[x->frame].name, sort_fg->frames[y->frame].name);
}

/*
 * The children of node, sorted by name, into a fresh array (*n of them); NULL when there
 * are none or memory ran out (then *n is 0).
 */
static uint32_t *sorted_children(const struct flame *fg, uint32_t node, size_t *n)
{
    size_t count = 0;
    for (uint32_t c = fg->nodes[node].first_child; c != NONE; c = fg->nodes[c].next_sibling) {
        count++;
    }
    *n = 0;
    if (count == 0) {
        return NULL;
    }
    uint32_t *kids = malloc(count * sizeof *kids);
    if (kids == NULL) {
        return NULL;
    }
    size_t i = 0;
    for (uint32_t c = fg->nodes[node].first_child; c != NONE; c = fg->nodes[c].next_sibling) {
        kids[i++] = c;
    }
    sort_fg = fg; /* flame is single-threaded by contract */
    qsort(kids, count, sizeof *kids, cmp_by_name);
    *n = count;
    return kids;
}

/* ---- folded ---------------------------------------------------------------------------- */

static int folded_node(const struct flame *fg, uint32_t node, struct dynbuf *path,
                       struct dynbuf *out)
{
    int rc = 0;
    size_t mark = path->len;
    if (node != ROOT) {
        if (path->len > 0) {
            rc = dynbuf_addc(path, ';');
        }
        if (rc == 0) {
            rc = dynbuf_adds(path, fg->frames[fg->nodes[node].frame].name);
        }
        if (rc == 0 && fg->nodes[node].self > 0) {
            rc =
                dynbuf_addf(out, "%s %llu\n", path->data, (unsigned long long)fg->nodes[node].self);
        }
    }
    size_t n;
    uint32_t *kids = sorted_children(fg, node, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = folded_node(fg, kids[i], path, out);
    }
    if (n == 0 && fg->nodes[node].first_child != NONE) {
        rc = -ENOMEM;
    }
    free(kids);
    dynbuf_truncate(path, mark);
    return rc;
}

int flame_write_folded(const struct flame *fg, struct dynbuf *out)
{
    struct dynbuf path;
    dynbuf_init(&path, (size_t)FLAME_MAX_DEPTH * (FLAME_MAX_NAME + 1));
    int rc = folded_node(fg, ROOT, &path, out);
    dynbuf_destroy(&path);
    return rc;
}

int flame_parse_folded(struct flame *fg, const char *text, size_t len, char *err, size_t err_len)
{
    struct flame_frame frames[FLAME_MAX_DEPTH];
    char *copy = NULL;
    int added = 0;
    size_t lineno = 0;
    size_t pos = 0;
    int rc = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;
        pos += ll + (nl != NULL);
        lineno++;
        if (ll > 0 && line[ll - 1] == '\r') {
            ll--;
        }
        if (ll == 0) {
            continue;
        }
        size_t sp = ll;
        while (sp > 0 && line[sp - 1] != ' ') {
            sp--;
        }
        if (sp <= 1 || sp == ll) {
            rc = text_errf(err, err_len, -EINVAL, "line %zu: expected 'frame;frame;... count'",
                           lineno);
            goto out;
        }
        uint64_t w = 0;
        for (size_t i = sp; i < ll; i++) {
            if (line[i] < '0' || line[i] > '9' || w > (UINT64_MAX - 9) / 10) {
                rc = text_errf(err, err_len, -EINVAL,
                               "line %zu: the count after the last space is not a whole number",
                               lineno);
                goto out;
            }
            w = w * 10 + (uint64_t)(line[i] - '0');
        }
        size_t stack_len = sp - 1;
        free(copy);
        copy = malloc(stack_len + 1);
        if (copy == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(copy, line, stack_len);
        copy[stack_len] = '\0';
        size_t n = 0;
        size_t start = 0;
        bool cut = false;
        for (size_t i = 0; i <= stack_len; i++) {
            if (i < stack_len && copy[i] != ';') {
                continue;
            }
            if (i == start) {
                rc = text_errf(err, err_len, -EINVAL, "line %zu: an empty frame name", lineno);
                goto out;
            }
            copy[i] = '\0';
            if (n < FLAME_MAX_DEPTH) {
                frames[n++] = (struct flame_frame){.name = copy + start};
            } else {
                cut = true;
            }
            start = i + 1;
        }
        rc = flame_add(fg, frames, n, w);
        if (rc < 0) {
            goto out;
        }
        fg->truncated += cut && w > 0; /* flame_add saw only the outermost frames */
        added++;
    }
    rc = added;
out:
    free(copy);
    return rc;
}

/* ---- merge ------------------------------------------------------------------------------ */

static int merge_node(struct flame *dst, const struct flame *src, uint32_t node,
                      struct flame_frame *path, size_t depth)
{
    int rc = 0;
    const struct fnode *nd = &src->nodes[node];
    if (node != ROOT) {
        const struct fframe *ff = &src->frames[nd->frame];
        path[depth++] = (struct flame_frame){ff->name, ff->module, ff->file, ff->line, ff->kernel};
        if (nd->self > 0) {
            rc = flame_add(dst, path, depth, nd->self);
        }
    }
    for (uint32_t c = nd->first_child; rc == 0 && c != NONE; c = src->nodes[c].next_sibling) {
        rc = merge_node(dst, src, c, path, depth);
    }
    return rc;
}

int flame_merge(struct flame *dst, const struct flame *src)
{
    struct flame_frame path[FLAME_MAX_DEPTH];
    return merge_node(dst, src, ROOT, path, 0);
}

/* ---- top-N ------------------------------------------------------------------------------ */

struct top_acc {
    uint64_t self, total;
    uint32_t on_path; /* how many times the frame is on the current path (recursion) */
};

static void top_walk(const struct flame *fg, uint32_t node, struct top_acc *acc)
{
    const struct fnode *nd = &fg->nodes[node];
    struct top_acc *a = node != ROOT ? &acc[nd->frame] : NULL;
    if (a != NULL) {
        a->self += nd->self;
        if (a->on_path++ == 0) {
            a->total += nd->total;
        }
    }
    for (uint32_t c = nd->first_child; c != NONE; c = fg->nodes[c].next_sibling) {
        top_walk(fg, c, acc);
    }
    if (a != NULL) {
        a->on_path--;
    }
}

static enum flame_order top_order;

static int cmp_top(const void *pa, const void *pb)
{
    const struct flame_top *a = pa, *b = pb;
    uint64_t ka = top_order == FLAME_BY_SELF ? a->self : a->total;
    uint64_t kb = top_order == FLAME_BY_SELF ? b->self : b->total;
    if (ka != kb) {
        return ka > kb ? -1 : 1;
    }
    uint64_t sa = top_order == FLAME_BY_SELF ? a->total : a->self;
    uint64_t sb = top_order == FLAME_BY_SELF ? b->total : b->self;
    if (sa != sb) {
        return sa > sb ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

size_t flame_top(const struct flame *fg, enum flame_order order, struct flame_top *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0 || fg->n_frames == 0) {
        return 0;
    }
    struct top_acc *acc = calloc(fg->n_frames, sizeof *acc);
    struct flame_top *all = calloc(fg->n_frames, sizeof *all);
    if (acc == NULL || all == NULL) {
        goto out;
    }
    top_walk(fg, ROOT, acc);
    for (size_t i = 0; i < fg->n_frames; i++) {
        const struct fframe *ff = &fg->frames[i];
        all[i] =
            (struct flame_top){ff->name, ff->module, ff->file, ff->line, acc[i].self, acc[i].total};
    }
    top_order = order; /* flame is single-threaded by contract */
    qsort(all, fg->n_frames, sizeof *all, cmp_top);
    n = fg->n_frames < cap ? fg->n_frames : cap;
    memcpy(out, all, n * sizeof *out);
out:
    free(acc);
    free(all);
    return n;
}

/* ---- SVG -------------------------------------------------------------------------------- */

/* A colour per name, stable across runs: warm for user code, blue for the kernel. */
static void frame_colour(const struct fframe *ff, char *out, size_t cap)
{
    uint64_t h = hash_bytes(ff->name, strlen(ff->name));
    unsigned a = (unsigned)(h & 0xff), b = (unsigned)((h >> 8) & 0xff),
             c = (unsigned)((h >> 16) & 0xff);
    if (ff->kernel) {
        snprintf(out, cap, "rgb(%u,%u,%u)", 90 + a % 50, 150 + b % 50, 210 + c % 40);
    } else if (ff->name[0] == '[') {
        snprintf(out, cap, "rgb(%u,%u,%u)", 170 + a % 30, 170 + a % 30, 170 + a % 30);
    } else {
        snprintf(out, cap, "rgb(%u,%u,%u)", 205 + a % 50, b % 200, c % 55);
    }
}

struct svg_ctx {
    const struct flame *fg;
    struct dynbuf *out;
    double total;
    double inner_w;   /* px across which 100 % is drawn */
    double min_w;     /* px */
    unsigned frame_h; /* px */
    unsigned height;  /* px of the whole image */
    unsigned pad;
};

/*
 * A frame's label as the script's label() writes it (about 7 px a character, the name cut
 * to fit with ".."), so the picture reads the same where no script runs (an <img> of the
 * SVG, as the HTML report embeds it).  Cuts at a character boundary of UTF-8.
 */
static int svg_label(struct dynbuf *b, const char *name, double px)
{
    double fit = (px - 6) / 7;
    size_t c = fit > 0 ? (size_t)fit : 0, len = strlen(name);
    char cut[512];
    if (c < 3) {
        return 0;
    }
    if (len <= c) {
        return text_xml_escape(b, name);
    }
    size_t n = c - 2 < sizeof cut - 3 ? c - 2 : sizeof cut - 3;
    while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) {
        n--; /* not inside a multi-byte character */
    }
    memcpy(cut, name, n);
    memcpy(cut + n, "..", 3);
    return text_xml_escape(b, cut);
}

static int svg_node(struct svg_ctx *cx, uint32_t node, unsigned depth, double x_frac)
{
    const struct flame *fg = cx->fg;
    const struct fnode *nd = &fg->nodes[node];
    double w_frac = (double)nd->total / cx->total;
    int rc = 0;
    if (w_frac * cx->inner_w < cx->min_w) {
        return 0;
    }
    const struct fframe *ff = node != ROOT ? &fg->frames[nd->frame] : NULL;
    const char *name = ff != NULL ? ff->name : "all";
    char colour[32] = "rgb(200,200,200)";
    if (ff != NULL) {
        frame_colour(ff, colour, sizeof colour);
    }
    double x = cx->pad + x_frac * cx->inner_w;
    double w = w_frac * cx->inner_w;
    unsigned y = cx->height - 3 * cx->frame_h - (depth + 1) * cx->frame_h;
    rc =
        dynbuf_addf(cx->out, "<g class=\"f\" data-x=\"%.8f\" data-w=\"%.8f\" data-d=\"%u\"><title>",
                    x_frac, w_frac, depth);
    rc = rc ? rc : text_xml_escape(cx->out, name);
    if (rc == 0 && ff != NULL && (ff->module != NULL || ff->file != NULL)) {
        rc = dynbuf_adds(cx->out, " (");
        if (rc == 0 && ff->module != NULL) {
            rc = text_xml_escape(cx->out, ff->module);
        }
        if (rc == 0 && ff->file != NULL) {
            rc = dynbuf_adds(cx->out, ff->module != NULL ? ", " : "");
            rc = rc ? rc : text_xml_escape(cx->out, ff->file);
            if (rc == 0 && ff->line > 0) {
                rc = dynbuf_addf(cx->out, ":%d", ff->line);
            }
        }
        rc = rc ? rc : dynbuf_adds(cx->out, ")");
    }
    rc = rc ? rc
            : dynbuf_addf(cx->out,
                          ": %llu %s, %.2f%% (self %.2f%%)</title>"
                          "<rect x=\"%.2f\" y=\"%u\" width=\"%.2f\" height=\"%u\" fill=\"%s\" "
                          "rx=\"2\"/><text x=\"%.2f\" y=\"%u\">",
                          (unsigned long long)nd->total, fg->unit, 100.0 * w_frac,
                          100.0 * (double)nd->self / cx->total, x, y, w, cx->frame_h - 1, colour,
                          x + 3, y + cx->frame_h - 4);
    rc = rc ? rc : svg_label(cx->out, name, w);
    rc = rc ? rc : dynbuf_adds(cx->out, "</text></g>\n");
    size_t n;
    uint32_t *kids = sorted_children(fg, node, &n);
    if (n == 0 && nd->first_child != NONE) {
        rc = rc ? rc : -ENOMEM;
    }
    double cx_frac = x_frac;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = svg_node(cx, kids[i], depth + 1, cx_frac);
        cx_frac += (double)fg->nodes[kids[i]].total / cx->total;
    }
    free(kids);
    return rc;
}

static unsigned max_depth(const struct flame *fg, uint32_t node, double total, double min_frac)
{
    unsigned best = 0;
    for (uint32_t c = fg->nodes[node].first_child; c != NONE; c = fg->nodes[c].next_sibling) {
        if ((double)fg->nodes[c].total / total < min_frac) {
            continue;
        }
        unsigned d = 1 + max_depth(fg, c, total, min_frac);
        best = d > best ? d : best;
    }
    return best;
}

/* The script: zoom, search, details.  No "]]>" inside (CDATA). */
static const char svg_script[] =
    "var F=[],W=0,P=0,det,mat,zx=0,zw=1,zd=0,re=null;\n"
    "function init(){var s=document.documentElement;W=+s.getAttribute('width');"
    "P=+s.getAttribute('data-pad');det=document.getElementById('details');"
    "mat=document.getElementById('matched');\n"
    " var gs=document.querySelectorAll('g.f');for(var i=0;i<gs.length;i++){var g=gs[i];"
    "F.push({g:g,x:+g.getAttribute('data-x'),w:+g.getAttribute('data-w'),"
    "d:+g.getAttribute('data-d'),r:g.querySelector('rect'),t:g.querySelector('text'),"
    "n:g.querySelector('title').textContent});}\n"
    " F.forEach(function(f){f.name=f.n.replace(/ \\(.*$|: [0-9]+ .*$/,'');"
    "f.fill=f.r.getAttribute('fill');"
    "f.g.addEventListener('click',function(){zoom(f);});"
    "f.g.addEventListener('mouseover',function(){det.textContent=f.n;});"
    "f.g.addEventListener('mouseout',function(){det.textContent=' ';});});\n"
    " document.getElementById('reset').addEventListener('click',function(){zoom(F[0]);});\n"
    " document.getElementById('search').addEventListener('click',ask);\n"
    " document.addEventListener('keydown',function(e){if(e.key==='Escape'){zoom(F[0]);"
    "search(null);}else if((e.ctrlKey||e.metaKey)&&e.key==='f'){e.preventDefault();ask();}});"
    "draw();}\n"
    "function label(f,px){var c=Math.floor((px-6)/7);var s=f.name;"
    "f.t.textContent=c<3?'':(s.length<=c?s:s.slice(0,c-2)+'..');}\n"
    "function draw(){var iw=W-2*P,e=1e-9;F.forEach(function(f){var nx,nw,vis=true,op=1;"
    "if(f.d>=zd&&f.x>=zx-e&&f.x+f.w<=zx+zw+e){nx=(f.x-zx)/zw;nw=f.w/zw;}"
    "else if(f.d<zd&&f.x<=zx+e&&f.x+f.w>=zx+zw-e){nx=0;nw=1;op=0.6;}else{vis=false;}\n"
    " f.g.style.display=vis?'':'none';if(!vis)return;f.g.style.opacity=op;"
    "var px=nw*iw;f.r.setAttribute('x',(P+nx*iw).toFixed(2));"
    "f.r.setAttribute('width',px.toFixed(2));f.t.setAttribute('x',(P+nx*iw+3).toFixed(2));"
    "label(f,px);});}\n"
    "function zoom(f){zx=f.x;zw=f.w>0?f.w:1;zd=f.d;"
    "document.getElementById('reset').style.opacity=f.d>0?1:0.3;draw();}\n"
    "function ask(){var t=prompt('Search (regular expression)',re?re.source:'');"
    "if(t===null)return;search(t===''?null:t);}\n"
    "function search(t){try{re=t?new RegExp(t):null;}catch(x){re=null;}var iv=[];"
    "F.forEach(function(f){var m=re&&f.d>0&&re.test(f.name);"
    "f.r.setAttribute('fill',m?'rgb(230,0,230)':f.fill);if(m)iv.push([f.x,f.x+f.w]);});\n"
    " iv.sort(function(a,b){return a[0]-b[0];});var sum=0,end=-1;"
    "iv.forEach(function(v){if(v[0]>=end){sum+=v[1]-v[0];end=v[1];}"
    "else if(v[1]>end){sum+=v[1]-end;end=v[1];}});\n"
    " mat.textContent=re?'Matched: '+(100*sum).toFixed(2)+'%':' ';}\n";

int flame_write_svg(const struct flame *fg, const struct flame_svg_opts *opts, struct dynbuf *out)
{
    struct flame_svg_opts o = opts != NULL ? *opts : (struct flame_svg_opts){0};
    unsigned width = o.width ? o.width : 1200;
    unsigned fh = o.frame_px ? o.frame_px : 16;
    double min_w = o.min_width_px > 0 ? o.min_width_px : 0.1;
    unsigned pad = 10;
    double total = (double)flame_total(fg);
    unsigned depth = total > 0 ? max_depth(fg, ROOT, total, min_w / (width - 2 * pad)) : 0;
    unsigned height = (depth + 1) * fh + 6 * fh;
    int rc = dynbuf_addf(out,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                         "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
                         "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" data-pad=\"%u\" "
                         "onload=\"init()\">\n"
                         "<style>text{font-family:monospace;font-size:12px;fill:#000}"
                         "g.f{cursor:pointer}g.f:hover rect{stroke:#000;stroke-width:0.7}"
                         ".ui{cursor:pointer;fill:#336}"
                         ".t{font-size:17px;text-anchor:middle}</style>\n"
                         "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#f8f4ec\"/>\n"
                         "<text class=\"t\" x=\"%u\" y=\"24\">",
                         width, height, width, height, pad, width, height, width / 2);
    rc = rc ? rc : text_xml_escape(out, o.title != NULL ? o.title : "Flame graph");
    rc = rc ? rc
            : dynbuf_addf(out, "</text>\n<text x=\"%u\" y=\"42\" text-anchor=\"middle\">",
                          width / 2);
    rc = rc ? rc : text_xml_escape(out, o.subtitle != NULL ? o.subtitle : "");
    rc = rc ? rc
            : dynbuf_addf(out,
                          "</text>\n<text id=\"reset\" class=\"ui\" x=\"%u\" y=\"24\" "
                          "style=\"opacity:0.3\">Reset zoom</text>\n"
                          "<text id=\"search\" class=\"ui\" x=\"%u\" y=\"24\" "
                          "text-anchor=\"end\">Search</text>\n"
                          "<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"> </text>\n"
                          "<text id=\"details\" x=\"%u\" y=\"%u\"> </text>\n",
                          pad, width - pad, width - pad, height - fh, pad, height - fh);
    if (rc == 0 && total <= 0) {
        rc = dynbuf_addf(out, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">no samples</text>\n",
                         width / 2, height / 2);
    }
    if (rc == 0 && total > 0) {
        struct svg_ctx cx = {fg, out, total, (double)(width - 2 * pad), min_w, fh, height, pad};
        rc = svg_node(&cx, ROOT, 0, 0.0);
    }
    rc = rc ? rc : dynbuf_adds(out, "<script type=\"text/ecmascript\"><![CDATA[\n");
    rc = rc ? rc : dynbuf_adds(out, svg_script);
    rc = rc ? rc : dynbuf_adds(out, "]]></script>\n</svg>\n");
    return rc;
}

/* ---- speedscope ------------------------------------------------------------------------- */

static void ss_samples(const struct flame *fg, uint32_t node, uint32_t *path, size_t depth,
                       struct jsonw *w, bool weights)
{
    const struct fnode *nd = &fg->nodes[node];
    if (node != ROOT) {
        path[depth++] = nd->frame;
        if (nd->self > 0) {
            if (weights) {
                jsonw_uint(w, nd->self);
            } else {
                jsonw_arr_begin(w);
                for (size_t i = 0; i < depth; i++) {
                    jsonw_uint(w, path[i]);
                }
                jsonw_arr_end(w);
            }
        }
    }
    for (uint32_t c = nd->first_child; c != NONE; c = fg->nodes[c].next_sibling) {
        ss_samples(fg, c, path, depth, w, weights);
    }
}

int flame_write_speedscope(const struct flame *fg, const char *name, struct jsonw *w)
{
    uint32_t path[FLAME_MAX_DEPTH];
    const char *unit = fg->unit;
    if (strcmp(unit, "nanoseconds") != 0 && strcmp(unit, "bytes") != 0 &&
        strcmp(unit, "microseconds") != 0 && strcmp(unit, "milliseconds") != 0 &&
        strcmp(unit, "seconds") != 0) {
        unit = "none";
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "$schema");
    jsonw_str(w, "https://www.speedscope.app/file-format-schema.json");
    jsonw_key(w, "exporter");
    jsonw_str(w, "brunt");
    jsonw_key(w, "name");
    jsonw_str(w, name != NULL ? name : "profile");
    jsonw_key(w, "activeProfileIndex");
    jsonw_uint(w, 0);
    jsonw_key(w, "shared");
    jsonw_obj_begin(w);
    jsonw_key(w, "frames");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < fg->n_frames; i++) {
        const struct fframe *ff = &fg->frames[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "name");
        jsonw_str(w, ff->name);
        if (ff->file != NULL) {
            jsonw_key(w, "file");
            jsonw_str(w, ff->file);
            if (ff->line > 0) {
                jsonw_key(w, "line");
                jsonw_int(w, ff->line);
            }
        }
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    jsonw_key(w, "profiles");
    jsonw_arr_begin(w);
    jsonw_obj_begin(w);
    jsonw_key(w, "type");
    jsonw_str(w, "sampled");
    jsonw_key(w, "name");
    jsonw_str(w, name != NULL ? name : "profile");
    jsonw_key(w, "unit");
    jsonw_str(w, unit);
    jsonw_key(w, "startValue");
    jsonw_uint(w, 0);
    jsonw_key(w, "endValue");
    jsonw_uint(w, flame_total(fg));
    jsonw_key(w, "samples");
    jsonw_arr_begin(w);
    ss_samples(fg, ROOT, path, 0, w, false);
    jsonw_arr_end(w);
    jsonw_key(w, "weights");
    jsonw_arr_begin(w);
    ss_samples(fg, ROOT, path, 0, w, true);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return jsonw_error(w);
}
