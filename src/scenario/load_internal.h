/*
 * load_internal — what the files of the scenario loader share (not for other modules).
 *
 * The loader is four layers, each a file (or a few) with its contract at its top:
 *
 *   yaml.c               YAML text -> a tree of struct ynode with line:column
 *                        (libfyaml's event parser; anchors and aliases shared, capped)
 *   node.c               the typed node reader: scalars (${ENV}-expanded), numbers,
 *                        durations, enums, mappings with allowed keys and did-you-mean,
 *                        and the one positioned error every layer writes through
 *   compile_*.c          the compilers: one per top-level key (base_url, options and
 *                        defaults; data; scenarios; thresholds) and, under scenarios,
 *                        the flow (steps, sleeps, groups) and the request compilers
 *   load.c               the entry points and the table of top-level keys
 *
 * Adding a top-level key (watch:, criteria:, metrics:, setup: ...) is one compiler file
 * with a function of type load_key_fn and one entry in TOP_KEYS in load.c; the table's
 * order is the order the keys are compiled in (a key may use what an earlier one set in
 * struct loader).
 *
 * Errors: the first one wins and is written once into L->err, "FILE:LINE:COL: what
 * (expected ...)"; every function below returns -1 (or NULL) after writing it and the
 * callers unwind.  Load time only, one thread.
 */
#ifndef BRUNT_SCENARIO_LOAD_INTERNAL_H
#define BRUNT_SCENARIO_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "scenario/flow_internal.h"
#include "scenario/load.h"

#define LOAD_MAX_DEPTH 64 /* YAML nesting */

/* --- the YAML tree (yaml.c) -------------------------------------------------------- */

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

/* What the loaded plan owns beyond struct plan (freed by plan_free via owner_free). */
struct load_owner {
    struct feeder **feeders;
    char **feeder_names;
    size_t n_feeders;
    struct flow_scenario *fscs;
    size_t n_fscs;
    struct flow_step **steps;
    size_t n_steps, cap_steps;
};

/* One load: the error sink, the tree, and what the compilers build and share. */
struct loader {
    /* Errors (node.c). */
    const char *file;
    const char *base_dir;
    char *err;
    size_t err_len;
    bool failed;
    /* The tree (yaml.c). */
    struct ynode **all; /* every node, for freeing (aliases share nodes) */
    size_t n_all, cap_all;
    struct anchor {
        char *name;
        struct ynode *node;
    } * anchors;
    size_t n_anchors, cap_anchors;
    /* What the compilers build. */
    struct plan *plan;
    struct load_owner *own;
    struct scenario_file_opts *opts;
    struct threshold *th; /* thresholds: an array of n_th (compile_thresholds.c) */
    size_t n_th;
    /* The file's defaults (compile_options.c), read by the scenario compilers. */
    char *base_origin; /* "http://host:port" of base_url */
    char *base_path;   /* its path without the trailing '/', "" for none */
    struct ynode *def_headers;
    uint64_t def_timeout_ns;
    bool has_max_redirects; /* options: max_redirects, no_cookies_reset */
    uint32_t max_redirects;
    bool no_cookies_reset;
    /* The phase and the setup's values (compile_lifecycle.c). */
    enum scenario_phase phase;
    const struct scenario_load_in *in; /* may be NULL */
    char **const_names;                /* the names the setup extracts (owned) */
    const char **const_values;         /* their values: from in, or "" (array owned) */
    size_t n_consts;
};

/*
 * Parses yaml[0..len) into a tree owned by L (freed by load__yaml_free); *root is its
 * root, NULL for an empty document.  Refuses invalid UTF-8 and NUL bytes, more than
 * SCENARIO_MAX_NODES nodes (aliases expanded) and nesting deeper than LOAD_MAX_DEPTH.
 * Returns 0 or -1 (error written).
 */
int load__yaml_parse(struct loader *L, const char *yaml, size_t len, struct ynode **root);

/* Frees every node and anchor of L's tree. */
void load__yaml_free(struct loader *L);

/* --- positioned errors and the typed node reader (node.c) ------------------------- */

/* Writes "FILE:LINE:COL: <fmt...>" for node n (just "FILE: " when n is NULL) unless an
 * error was already written; control characters become spaces.  Returns -1. */
int load__err(struct loader *L, const struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same at an explicit position. */
int load__err_at(struct loader *L, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "out of memory"; returns -1. */
int load__oom(struct loader *L);

/*
 * Turns a compiler's "column N: what" about the text of node n (starting at byte offset
 * base in that text) into an error at the right line and column.  Returns -1.
 */
int load__sub_err(struct loader *L, const struct ynode *n, size_t base, const char *prefix,
                  const char *msg);

/* "a mapping", "a list" or "a scalar". */
const char *load__ytype_name(const struct ynode *n);

/* The scalar's text after ${ENV} expansion; NULL (error written) when it is not a scalar. */
const char *load__sval(struct loader *L, struct ynode *n, const char *expected);

/* The closest of words (NULL-terminated) to w, within a distance that makes sense. */
const char *load__suggest(const char *w, const char *const *words);

/* Checks that n is a mapping whose keys are scalars, distinct, and among allowed
 * (NULL-terminated; NULL allows any key).  what names the mapping in messages. */
int load__check_map(struct loader *L, struct ynode *n, const char *what,
                    const char *const *allowed);

/* The value of key in map n (or of its alias spelling alt), NULL when absent; with both
 * spellings present, an error (and *bad set). */
struct ynode *load__mget2(struct loader *L, struct ynode *n, const char *key, const char *alt,
                          bool *bad);

/* The value of key in map n, NULL when absent. */
struct ynode *load__mget(struct ynode *n, const char *key);

/* The key node whose value is v in map n (for error positions); n when not found. */
struct ynode *load__mkey_of(struct ynode *n, const struct ynode *v);

/* Typed scalars: a duration (30s, 1m30s; 0 only with allow_zero), a whole number in
 * [min, max], a number in [min, max], one of words (*out its index).  0 or -1. */
int load__get_duration(struct loader *L, struct ynode *n, bool allow_zero, uint64_t *out);
/* Sets a scenario's redirect and cookie settings from the file's options and the CLI. */
void load__fsc_http(struct loader *L, struct flow_scenario *fsc);
int load__get_u64(struct loader *L, struct ynode *n, uint64_t min, uint64_t max, uint64_t *out);
int load__get_double(struct loader *L, struct ynode *n, double min, double max, double *out);
int load__get_enum(struct loader *L, struct ynode *n, const char *what, const char *const *words,
                   int *out);

/* A name of letters, digits and _, not starting with a digit, at most 64 bytes. */
bool load__is_ident(const char *s);

/* --- the compilers ------------------------------------------------------------------ */

/* A top-level key's compiler: v is the key's value in the root mapping. */
typedef int load_key_fn(struct loader *L, struct ynode *v);

load_key_fn load__compile_name;       /* description: (load.c) */
load_key_fn load__compile_test_name;  /* name: (load.c), into opts->test_name */
load_key_fn load__compile_base_url;   /* base_url: (compile_options.c) */
load_key_fn load__compile_options;    /* options: (compile_options.c) */
load_key_fn load__compile_defaults;   /* defaults: (compile_options.c) */
load_key_fn load__compile_data;       /* data: (compile_data.c) */
load_key_fn load__compile_metrics;    /* metrics: custom metrics (compile_metrics.c) */
load_key_fn load__compile_scenarios;  /* scenarios: (compile_scenario.c) */
load_key_fn load__compile_thresholds; /* thresholds: (compile_thresholds.c) */
load_key_fn load__compile_watch;      /* watch: (compile_watch.c) */
load_key_fn load__compile_criteria;   /* criteria: (compile_watch.c) */
load_key_fn load__compile_setup;      /* setup: (compile_lifecycle.c) */
load_key_fn load__compile_teardown;   /* teardown: (compile_lifecycle.c) */

/* Whether the top-level key is compiled in L's phase (compile_lifecycle.c). */
bool load__key_in_phase(const struct loader *L, const char *key);

/* The constants of the main and teardown phases: the names the setup flow extracts,
 * with L->in's values (or ""); setup may be NULL.  load__consts_free releases them.
 * 0 or -1 (error written). */
int load__consts_prepare(struct loader *L, struct ynode *setup);
void load__consts_free(struct loader *L);

/* Fills C->names' constants from L (compile_lifecycle.c). */
void load__names_consts(const struct loader *L, struct tmpl_names *names);

/* What the flow and request compilers know of the scenario they compile into. */
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
    bool capture; /* a setup flow: its steps hand the VU's variables to the run */
    bool ws_open; /* compiling: a ws_connect came and no ws_close after it yet */
};

/* The keys a request step may have (compile_request.c). */
extern const char *const load__request_keys[];

/* Splits an absolute URL into "scheme://authority" (*origin, malloc'd) and the rest
 * (path and query, pointing into url).  0 or -1. */
int load__split_url(struct loader *L, const struct ynode *n, const char *url, char **origin,
                    const char **rest);

/* A new zeroed step at the end of C's scenario (capped at SCENARIO_MAX_STEPS); NULL with
 * the error written.  The pointer is valid until the next call (the array may move). */
struct step *load__new_step(struct loader *L, struct scen_ctx *C, const struct ynode *at);

/* --- shared by compile_request.c and compile_ws.c (WebSocket steps) --- */
/* Compiles src (text of node n from byte base) as a template into *out: 0 or -1. */
int load__compile_tmpl(struct loader *L, struct scen_ctx *C, const struct ynode *n, size_t base,
                       const char *src, size_t len, enum tmpl_escape esc, struct tmpl **out);
/* A new zeroed compiled step owned by the load (freed with the plan); NULL on no memory. */
struct flow_step *load__owner_new_step(struct loader *L);
/* A step's extract: and check: nodes (either may be NULL) into fs's asserts: 0 or -1. */
int load__compile_asserts(struct loader *L, struct scen_ctx *C, struct ynode *ext,
                          struct ynode *chk, struct flow_step *fs);
/* A step's tags: into st->tags: 0 or -1. */
int load__compile_step_tags(struct loader *L, struct ynode *n, struct step *st);
/* The keys of a ws_connect step, and its URL as the request line "GET http(s)://..."
 * (ws:// and wss:// mapped, a path relative to base_url kept) into out: 0 or -1. */
extern const char *const load__ws_connect_keys[];
int load__ws_line(struct loader *L, const struct ynode *n, const char *url, char *out, size_t cap);
/* Compiles a WebSocket step other than ws_connect (kind: its key) into a new step. */
int load__compile_ws(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *kind,
                     const char *group);

/* Compiles the request step n (in group, or NULL) into a new step of C's scenario. */
int load__compile_request(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *group);

/* A request step's `metrics:` feeds n into fs->custom; tags is the canonical tag set of
 * its samples (compile_metrics.c). */
int load__compile_step_metrics(struct loader *L, struct scen_ctx *C, struct ynode *n,
                               const char *tags, struct flow_step *fs);

/* Request bodies from files (compile_body.c): body_file: appends the file's bytes to out;
 * multipart: builds a multipart/form-data body into out and its boundary into
 * boundary[0..cap).  0 or -1 (error written). */
int load__body_file(struct loader *L, struct ynode *n, struct dynbuf *out);
int load__multipart(struct loader *L, struct ynode *n, struct dynbuf *out, char *boundary,
                    size_t cap);

/* First pass over a flow: the variables its extractions define, into C->vars. */
int load__collect_vars(struct loader *L, struct scen_ctx *C, struct ynode *flow, int depth);

/* Compiles the steps of flow (a list; in group, or NULL at the top) into C's scenario. */
int load__compile_flow(struct loader *L, struct scen_ctx *C, struct ynode *flow, const char *group);

#endif
