/*
 * flame — a set of weighted call stacks, and what people read from one: folded stacks
 * (Brendan Gregg's format, one "root;...;leaf weight" line per distinct stack), a top-N
 * table of functions with their self and total share, an interactive flame-graph SVG and
 * a speedscope JSON document.
 *
 * The stacks are kept as a tree (a call-path trie): each node is one frame reached by one
 * path from the root, with the weight of the samples that ended there (self) and of all
 * that passed through it (total).  The weight unit is the caller's: samples for perf, ns
 * for a pprof CPU profile, bytes for a heap profile (flame_set_unit names it).
 *
 * Frames are interned by name: two frames with the same function name are the same
 * function, whatever their module (the first module, file and line seen are kept for the
 * tables).  A frame name never contains ';' or a newline in the outputs (they are written
 * as ':' and ' '), so the folded text always parses back.
 *
 * Caps: FLAME_MAX_NODES tree nodes, FLAME_MAX_FRAMES distinct functions, FLAME_MAX_DEPTH
 * frames per stack (deeper stacks keep their FLAME_MAX_DEPTH outermost frames and are
 * counted as truncated); a stack that would need a node past the caps is counted as
 * dropped, not guessed.  Not thread-safe: one thread builds and reads a flame.
 *
 * The SVG writer does no I/O: it appends to a caller's dynbuf, so a report can embed the
 * same graph inside its HTML.  It is brunt's own (FlameGraph's flamegraph.pl is CDDL and
 * is neither copied nor needed).
 */
#ifndef BRUNT_ANALYSIS_FLAME_H
#define BRUNT_ANALYSIS_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "core/json.h"

#define FLAME_MAX_NODES (1u << 20)
#define FLAME_MAX_FRAMES (1u << 18)
#define FLAME_MAX_DEPTH 256
#define FLAME_MAX_NAME 1024 /* bytes of one frame name; longer names are cut */

/* One frame as a caller describes it.  Only name is required. */
struct flame_frame {
    const char *name;   /* function name, or "[module+0x1234]", or "[unknown]" */
    const char *module; /* the binary or library, NULL when unknown */
    const char *file;   /* source file, NULL when there is no debug information */
    int line;           /* source line, 0 when unknown */
    bool kernel;        /* a kernel frame (coloured apart in the SVG) */
};

struct flame;

/* A new empty set of stacks, with weights counted in "samples".  NULL on no memory. */
struct flame *flame_new(void);
/* Frees fg (NULL is fine). */
void flame_free(struct flame *fg);

/* Names the weight unit ("samples", "nanoseconds", "bytes", ...; copied, at most 31 bytes). */
void flame_set_unit(struct flame *fg, const char *unit);
const char *flame_unit(const struct flame *fg);

/*
 * Adds weight to the stack frames[0..n), root first (frames[n-1] is the leaf).  n == 0
 * or weight == 0 adds nothing.  Returns 0, -ENOMEM, or -E2BIG when a cap stopped it (the
 * weight is then counted in flame_dropped()).
 */
int flame_add(struct flame *fg, const struct flame_frame *frames, size_t n, uint64_t weight);

/* The sum of all weights added (not counting dropped ones). */
uint64_t flame_total(const struct flame *fg);
/* Weight that could not be added because of the caps. */
uint64_t flame_dropped(const struct flame *fg);
/* How many stacks kept only their FLAME_MAX_DEPTH outermost frames. */
uint64_t flame_truncated(const struct flame *fg);
/* Distinct functions, and tree nodes. */
size_t flame_frames(const struct flame *fg);
size_t flame_nodes(const struct flame *fg);

/*
 * Merges every stack of src into dst (src unchanged).  Returns 0 or flame_add's error.
 */
int flame_merge(struct flame *dst, const struct flame *src);

/* Appends the folded stacks (one line per distinct stack, "a;b;c 42\n", in tree order). */
int flame_write_folded(const struct flame *fg, struct dynbuf *out);

/*
 * Parses folded stacks from text[0..len) into fg: lines "frame;frame;... weight", the
 * weight a decimal integer after the last space; empty lines are skipped.  Returns the
 * number of stacks added, or -EINVAL with "line N: ..." in err for a malformed line
 * (stacks before it stay added), or flame_add's error.  No I/O.
 */
int flame_parse_folded(struct flame *fg, const char *text, size_t len, char *err, size_t err_len);

/* One function in the top-N table. */
struct flame_top {
    const char *name; /* owned by the flame: valid until flame_free */
    const char *module;
    const char *file;
    int line;
    uint64_t self;  /* weight of samples in which it was the leaf */
    uint64_t total; /* weight of samples in which it was anywhere (recursion counted once) */
};

/* How flame_top() orders. */
enum flame_order { FLAME_BY_SELF, FLAME_BY_TOTAL };

/*
 * Fills out[0..cap) with the heaviest functions, by self or by total weight (ties by
 * name), and returns how many were written (at most cap, at most flame_frames()).
 */
size_t flame_top(const struct flame *fg, enum flame_order order, struct flame_top *out, size_t cap);

struct flame_svg_opts {
    const char *title;    /* NULL = "Flame graph" */
    const char *subtitle; /* NULL = none; e.g. the window and the sample count */
    unsigned width;       /* px; 0 = 1200 */
    unsigned frame_px;    /* px per frame row; 0 = 16 */
    double min_width_px;  /* frames narrower are merged away; 0 = 0.1 */
};

/*
 * Appends a self-contained interactive flame-graph SVG (root at the bottom, x = share of
 * the total, alphabetical siblings): hover for name, module, file:line, weight and share;
 * click to zoom into a frame, click the root or "Reset zoom" to zoom out; "Search" (a
 * regular expression) highlights matches and shows their share.  Well-formed XML with an
 * inline script.  An empty flame gives a valid SVG that says so.  Returns 0 or the
 * dynbuf's error.
 */
int flame_write_svg(const struct flame *fg, const struct flame_svg_opts *opts, struct dynbuf *out);

/*
 * Writes one speedscope document (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile with a sample per distinct stack and its weight.  name names the
 * profile.  Returns 0 or the writer's error.
 */
int flame_write_speedscope(const struct flame *fg, const char *name, struct jsonw *w);

#endif
