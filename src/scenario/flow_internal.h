/*
 * flow_internal — the compiled forms behind scenario/flow.h, shared by the loader
 * (scenario/load.c builds them) and the flow glue (scenario/flow.c runs them).  Nothing
 * outside scenario/ includes this file.
 */
#ifndef BRUNT_SCENARIO_FLOW_INTERNAL_H
#define BRUNT_SCENARIO_FLOW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/version.h"
#include "scenario/check.h"
#include "scenario/cookie.h"
#include "scenario/custom.h"
#include "scenario/extract.h"
#include "scenario/feeder.h"
#include "scenario/flow.h"
#include "scenario/template.h"

/* The most response body bytes kept for body checks and extractions. */
#define FLOW_BODY_CAP (1024u * 1024)
/* The most bytes one rendered request may take. */
#define FLOW_MAX_REQUEST_BYTES PLAN_MAX_REQUEST_BYTES

/* A piece of a request: literal bytes, or a template evaluated per request. */
struct flow_part {
    char *lit; /* owned; NULL when t is set */
    size_t lit_len;
    struct tmpl *t;  /* owned */
    bool guard_crlf; /* header values: CR and LF in the output become spaces */
};

/* An extraction or a check, in the order the step lists them (extractions first). */
struct flow_assert {
    bool is_extract;
    bool at_head; /* runs in flow_on_head (header extraction, status/header checks) */
    bool needs_body;
    char *name; /* the check's tag: its source, or "extract NAME" (owned) */
    struct extract ex;
    struct check ck;
};

struct flow_step {
    /* The request head without its Content-Length line and final CRLF. */
    struct flow_part *head;
    size_t n_head;
    /* The body: none, static (body_lit) or a template (body_t). */
    bool has_body;
    char *body_lit;
    size_t body_lit_len;
    struct tmpl *body_t;
    bool send_length; /* a Content-Length line even for an empty body (POST, PUT, PATCH) */
    /* Static head + Content-Length + body, when nothing is templated: copied as is. */
    char *whole;
    size_t whole_len;
    const struct feeder *const *feeders; /* the file's feeders, for tmpl_eval */
    struct flow_assert *asserts;
    size_t n_asserts;
    bool wants_body;
    bool abort_on_fail;
    uint64_t timeout_ns; /* 0: the plan's */
    bool has_expect;
    uint64_t expect_bits[10];    /* statuses 0..639 */
    struct custom_step custom;   /* the custom metrics the step feeds (scenario/custom.h) */
    const struct origin *origin; /* the step's origin (the plan's) */
    int32_t max_redirects;       /* the step's `redirects:`; -1: the scenario's */
};

struct flow_scenario {
    size_t n_vars;
    char **var_names;              /* owned */
    struct feeder *const *feeders; /* the file's feeders (not owned) */
    size_t n_feeders;
    bool *feeder_used;       /* n_feeders: whether the scenario's templates use it (owned) */
    uint64_t seed;           /* mixed with the VU number into the VU's PRNG seed */
    uint32_t max_redirects;  /* options.max_redirects (k6 maxRedirects), default 10 */
    bool no_cookies_reset;   /* options.no_cookies_reset: keep the jar across iterations */
    const struct plan *plan; /* for the origins a redirect may go to */
};

/* --- flow_http.c: redirects, the cookie jar, compressed bodies --- */

/* After flow_render put a request in out (from start): notes it, adds the jar's
 * Cookie line.  0 or a negative errno. */
int flow__http_render(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out,
                      size_t start);
/* A final head arrived: Content-Encoding and Set-Cookie noted; true when it is a
 * redirect the step follows (its checks wait for the final answer). */
bool flow__http_head(const struct flow_step *fs, struct flow_vu *v,
                     const struct http1_response *resp);
/* The engine's step_ops.follow. */
bool flow__http_follow(const struct flow_step *fs, struct flow_vu *v, struct dynbuf *out,
                       const struct origin **origin);
/* The body the checks see: body itself, or its inflated form (gzip, deflate), capped at
 * FLOW_BODY_CAP; *len is updated. */
const char *flow__http_body(struct flow_vu *v, const char *body, size_t *len);
/* The start of an iteration (the jar is emptied unless no_cookies_reset). */
void flow__http_iteration(const struct flow_scenario *fsc, struct flow_vu *v);
void flow__http_free(struct flow_vu *v);
/* --http-debug (scenario_http_debug, scenario/load.h): a request as sent, a response
 * head, a response body (only with =full and =failed; the first FLOW_DEBUG_BODY_BYTES).
 * With =failed the text is held per VU (at most FLOW_DEBUG_HELD_BYTES: a redirect chain
 * of big heads is cut) until flow__http_debug_settle says whether the step failed. */
#define FLOW_DEBUG_BODY_BYTES 2048u
#define FLOW_DEBUG_HELD_BYTES (256u * 1024u)
void flow__http_debug_request(struct flow_vu *v, const char *req, size_t len);
void flow__http_debug_response(struct flow_vu *v, const struct http1_response *resp);
void flow__http_debug_body(struct flow_vu *v, int status, const char *body, size_t len,
                           bool truncated);
/* The step's exchange is over: with =failed, writes the held text when failed, and
 * drops it either way (nothing otherwise). */
void flow__http_debug_settle(struct flow_vu *v, bool failed);

/* Frees what a flow_step owns (not fs itself). */
void flow__step_destroy(struct flow_step *fs);

#endif
