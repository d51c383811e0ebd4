/*
 * template — "{{ ... }}" templates in scenario files, compiled once at load and
 * evaluated per request without parsing anything again.
 *
 * A template is literal text with expressions between "{{" and "}}".  Compiling turns
 * it into a flat list of parts (literal runs and resolved expressions: variable slots,
 * feeder column indices, numeric ranges), so evaluating is a loop of appends into the
 * caller's dynbuf: no parsing, no name lookups, no allocation except the buffer
 * growing, and no code execution of any kind.
 *
 * Expressions (white space inside {{ }} is free):
 *   vu                the VU number, 1-based            {{ vu }}
 *   iter              iterations the VU started before this one (0-based)
 *   scenario          the scenario's name
 *   seq               the worker's sequence counter: each evaluation yields
 *                     *v->seq * seq_stride + seq_offset and then increments *v->seq,
 *                     so values are unique across workers and VUs
 *   now_ms            wall-clock milliseconds since the Unix epoch
 *   uuid              a random (v4) UUID from the VU's PRNG, lower-case hex
 *   randint LO HI     an integer in [LO, HI], both inclusive; may be negative
 *   randfloat LO HI   a number in [LO, HI), printed with at most 6 decimals (trailing
 *                     zeros dropped: "3.5", "2"); |LO|, |HI| <= 1e15
 *   choice A B C ...  one of the words, uniformly; a word is bare (no white space, no
 *                     quotes) or "double" / 'single' quoted (\\, \" and \' escapes);
 *                     at most TMPL_MAX_CHOICES
 *   NAME              a per-VU variable (an extraction target); unset -> ""
 *   FEEDER.COLUMN     the column of the VU's current row of a data feeder; no row yet
 *                     -> "".  COLUMN is everything after the first '.' up to white
 *                     space or "}}", so a column name must not contain white space.
 *   "text" or 'text'  the text itself, literally (not escaped).  This is how to write
 *                     a literal "{{": {{ "{{" }}.  A "}}" outside an expression is
 *                     plain text and needs no escape.
 * Built-in names win over variables and feeders of the same name; the loader should
 * refuse such names (tmpl_is_builtin).
 *
 * Escaping (chosen per template at compile time) applies to substituted values only,
 * never to the literal text around them:
 *   TMPL_RAW   values as they are.
 *   TMPL_JSON  values escaped for the inside of a JSON string: ", \ and control
 *              characters escaped, invalid UTF-8 bytes turned into \ufffd, so a
 *              variable holding '"' keeps the document valid.  In this mode the text
 *              between {{ and }} is also read as it appears inside a JSON string: \" is
 *              ", \\ is \, \/ is / and \n \t \r are white space, so a loader may first serialise a YAML value with
 *              a JSON writer (which escapes the quotes of {{ choice "a b" c }}) and
 *              compile the result.
 *   TMPL_URL   values percent-encoded: everything but RFC 3986 unreserved characters
 *              (A-Z a-z 0-9 - . _ ~) becomes %XX (upper-case hex).
 * Numbers and UUIDs need no escaping in any mode.
 *
 * Threads: a compiled template is read-only and may be evaluated from any number of
 * threads at once; each evaluation touches only the struct flow_vu it is given (and
 * *v->seq, the worker's counter), which belongs to one worker thread.
 */
#ifndef BRUNT_SCENARIO_TEMPLATE_H
#define BRUNT_SCENARIO_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dynbuf.h"
#include "scenario/flow.h"

struct feeder;

#define TMPL_MAX_BYTES (1024 * 1024) /* a template's source, at most */
#define TMPL_MAX_PARTS 4096          /* literal runs + expressions in one template */
#define TMPL_MAX_CHOICES 1024        /* words of one `choice` */

enum tmpl_escape {
    TMPL_RAW,
    TMPL_JSON, /* substituted values escaped for the inside of a JSON string */
    TMPL_URL,  /* substituted values percent-encoded (RFC 3986 unreserved kept) */
};

/* The names a template may refer to, fixed at compile time.  Arrays may be NULL when
 * their count is 0. */
struct tmpl_names {
    const char *const *vars; /* per-VU variables: {{ token }} -> v->vars[i] */
    size_t n_vars;
    const char *const *feeders; /* feeder names: {{ users.email }} -> feeder i */
    size_t n_feeders;
    const struct feeder *const *feeder_objs; /* same order: for column lookup */
    /* Run-wide constants (the values a setup flow extracted): {{ token }} -> the value,
     * compiled in as text (escaped like any value); a variable of the same name wins. */
    const char *const *const_names;
    const char *const *const_values;
    size_t n_consts;
};

struct tmpl;

/*
 * Compiles src[0..len) (need not be NUL-terminated; NUL bytes are plain text) into
 * *out.  names may be NULL (no variables, no feeders).  Returns 0, or a negative value
 * with *out untouched and a one-line message in err (when err_len > 0):
 * "column N: <what> (expected ...)", where N is the 1-based byte offset in src of the
 * offending text; unknown names get "did you mean 'x'?" when a variable, feeder,
 * feeder column or built-in is within edit distance 2.  -1 for a syntax or name error,
 * -ENOMEM for out of memory, -E2BIG over TMPL_MAX_BYTES or TMPL_MAX_PARTS.  Load time
 * only; allocates.
 */
int tmpl_compile(const char *src, size_t len, enum tmpl_escape esc, const struct tmpl_names *names,
                 struct tmpl **out, char *err, size_t err_len);

/*
 * Appends the evaluation of t for VU v to out.  feeders[i] is the i-th named feeder (as
 * in the names given to tmpl_compile); the current row of feeder i is v->rows[i] (-1, or
 * i >= v->n_feeders: no row -> "").  A variable slot beyond v->n_vars, or one not set,
 * evaluates to "".  Advances v->rng (uuid, randint, randfloat, choice) and *v->seq
 * (seq).  Returns 0, or dynbuf's error (-E2BIG past out's cap, -ENOMEM), in which case
 * out is truncated back to its length before the call.  Never allocates except through
 * out growing.  The VU's worker thread.
 */
int tmpl_eval(const struct tmpl *t, struct flow_vu *v, const struct feeder *const *feeders,
              struct dynbuf *out);

/* True when the template has no dynamic expression (only literal text, including
 * quoted-string expressions): its evaluation is always tmpl_static_len bytes. */
bool tmpl_is_static(const struct tmpl *t);

/* Bytes of literal text in the template (the whole output when static): for sizing. */
size_t tmpl_static_len(const struct tmpl *t);

/* Whether the template refers to variable slot `var` / to feeder `feeder` at all. */
bool tmpl_uses_var(const struct tmpl *t, size_t var);
bool tmpl_uses_feeder(const struct tmpl *t, size_t feeder);

/* True when name is a built-in expression word (vu, iter, scenario, seq, now_ms, uuid,
 * randint, randfloat, choice): a variable or feeder must not be named so. */
bool tmpl_is_builtin(const char *name);

/* Frees t; NULL does nothing. */
void tmpl_free(struct tmpl *t);

/*
 * Load-time environment expansion of src (NUL-terminated): ${NAME} is the variable's
 * value, ${NAME:-default} the value when set and non-empty, else default (taken
 * literally, up to the first '}'); $$ is a literal $.  A '$' followed by anything else
 * is kept as it is.  NAME is [A-Za-z_][A-Za-z0-9_]*.  Returns 0 with *out a malloc'd
 * NUL-terminated string (the caller frees it), or a negative value with *out NULL and
 * err naming the problem: -1 for an unset variable without a default ("environment
 * variable BASE_URL is not set (write ${BASE_URL:-default} to give a default)"), an
 * unterminated "${" or a bad name (with its 1-based column), -ENOMEM, -E2BIG when the
 * result would pass TMPL_MAX_BYTES.  Reads the environment: call from one thread, at
 * load.
 */
int env_expand(const char *src, char **out, char *err, size_t err_len);

#endif
