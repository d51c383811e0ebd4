/*
 * compile_request — one request step of a flow compiled into a struct flow_step.
 *
 * The request line, headers, query, body (raw, json: or form:) become a list of literal
 * runs and compiled templates (flow_internal.h), so the request path only concatenates;
 * the origin of every absolute URL is resolved once (at most PLAN_MAX_ORIGINS per
 * plan); header names must be tokens and framing headers (Content-Length,
 * Transfer-Encoding, Host) are refused; extractions, checks and expect:/on_fail: are
 * compiled here too.  Templates may name the scenario's variables (collected by the
 * flow compiler's first pass) and the file's feeders.  Load time, one thread.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/parse.h"
#include "http/reqhead.h"
#include "metrics/registry.h"
#include "metrics/threshold.h"
#include "scenario/load_internal.h"

/* Compiles src (text of node n starting at byte base) as a template. */
int load__compile_tmpl(struct loader *L, struct scen_ctx *C, const struct ynode *n, size_t base,
                       const char *src, size_t len, enum tmpl_escape esc, struct tmpl **out)
{
    char msg[512];
    int rc = tmpl_compile(src, len, esc, &C->names, out, msg, sizeof msg);
    if (rc == -ENOMEM) {
        return load__oom(L);
    }
    if (rc < 0) {
        return load__sub_err(L, n, base, "bad template: ", msg);
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

struct flow_step *load__owner_new_step(struct loader *L)
{
    struct load_owner *o = L->own;
    if (o->n_steps == o->cap_steps) {
        size_t cap = o->cap_steps ? o->cap_steps * 2 : 16;
        struct flow_step **s = realloc(o->steps, cap * sizeof *s);
        if (s == NULL) {
            load__oom(L);
            return NULL;
        }
        o->steps = s;
        o->cap_steps = cap;
    }
    struct flow_step *fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        load__oom(L);
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
        return load__err(L, n, "%s", err);
    }
    *out = &L->plan->origins[i];
    return 0;
}

/* Splits an absolute URL into "scheme://authority" and the rest (path and query). */
int load__split_url(struct loader *L, const struct ynode *n, const char *url, char **origin,
                    const char **rest)
{
    const char *p = strstr(url, "://");
    if (p == NULL) {
        return load__err(L, n, "bad URL '%s' (expected http://host[:port][/path])", url);
    }
    p += 3;
    size_t a = strcspn(p, "/?#");
    if (memmem(url, (size_t)(p - url) + a, "{{", 2) != NULL) {
        return load__err(L, n,
                         "a template in the host part of '%s' (expected a fixed host: "
                         "templates may be used in the path and query only)",
                         url);
    }
    *origin = strndup(url, (size_t)(p - url) + a);
    if (*origin == NULL) {
        return load__oom(L);
    }
    *rest = p + a;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Request steps                                                                         */

const char *const load__request_keys[] = {
    "request", "name",      "headers",   "query",     "body",    "json",
    "form",    "timeout",   "extract",   "check",     "on_fail", "expect",
    "metrics", "body_file", "multipart", "redirects", "tags",    NULL,
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
    if (load__check_map(L, n, "headers", NULL) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n->n; i += 2) {
        const char *name = n->kids[i]->s;
        char err[300];
        if (plan_header_name_check(name, strlen(name), err, sizeof err) < 0) {
            return load__err(L, n->kids[i], "%s", err);
        }
        size_t j = 0;
        while (j < *nh && strcasecmp(h[j].name, name) != 0) {
            j++;
        }
        if (j == *nh) {
            if (*nh == cap) {
                return load__err(L, n->kids[i], "too many headers (at most %zu)", cap);
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
            return load__oom(L);
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
        return load__err(L, NULL, "request too large (at most %u bytes)", FLOW_MAX_REQUEST_BYTES);
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
            return load__err(L, NULL, "request too large (at most %u bytes)",
                             FLOW_MAX_REQUEST_BYTES);
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
            return load__oom(L);
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
            return load__sub_err(L, n, base, "", m);
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
        return load__err(L, n, "JSON nested too deeply (at most 60 levels)");
    }
    if (n->type == Y_MAP) {
        if (load__check_map(L, n, "a JSON object", NULL) < 0) {
            return -1;
        }
        jsonw_obj_begin(w);
        for (size_t i = 0; i < n->n; i += 2) {
            struct ynode *k = n->kids[i];
            if (strstr(k->s, "{{") != NULL) {
                return load__err(L, k, "a template in a JSON key (expected a fixed key)");
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
    const char *s = load__sval(L, n, "a value");
    if (s == NULL) {
        return -1;
    }
    if (strstr(s, "{{") != NULL) {
        struct tmpl *t;
        if (load__compile_tmpl(L, C, n, 0, s, strlen(s), TMPL_RAW, &t) < 0) {
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
    if (load__check_map(L, n, what, NULL) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n->n; i += 2) {
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        if (strstr(k->s, "{{") != NULL) {
            return load__err(L, k, "a template in a %s name (expected a fixed name)", what);
        }
        const char *val;
        if (v->is_null) {
            val = "";
        } else if ((val = load__sval(L, v, "a text value")) == NULL) {
            return -1;
        }
        struct tmpl *t;
        if (load__compile_tmpl(L, C, v, 0, val, strlen(val), TMPL_URL, &t) < 0) {
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
            return load__err(L, v, "%s too large", what);
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
            return load__err(L, n, "an empty expect list (expected statuses such as [200, 201])");
        }
    }
    fs->has_expect = true;
    for (size_t i = 0; i < count; i++) {
        const char *s = load__sval(L, items[i], "a status such as 200 or a range such as 200-299");
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
            return load__err(L, items[i],
                             "bad status '%s' (expected a status such as 200 or a "
                             "range such as 200-299)",
                             s);
        }
        if (lo < 100 || hi > 599 || lo > hi) {
            return load__err(L, items[i], "bad status '%s' (expected statuses from 100 to 599)", s);
        }
        for (unsigned st = lo; st <= hi; st++) {
            fs->expect_bits[st / 64] |= 1ull << (st % 64);
        }
    }
    return 0;
}

int load__compile_asserts(struct loader *L, struct scen_ctx *C, struct ynode *ext,
                          struct ynode *chk, struct flow_step *fs)
{
    size_t n_ext = 0, n_chk = 0;
    struct ynode *one[1] = {chk};
    struct ynode **checks = NULL;
    if (ext != NULL) {
        if (load__check_map(L, ext, "extract", NULL) < 0) {
            return -1;
        }
        n_ext = ext->n / 2;
    }
    /* Named checks (k6's check(res, {'bid placed': ...})): a mapping name -> check, or
     * list items that are one-key mappings; names[i] is NULL for an unnamed one. */
    struct ynode *names[FLOW_MAX_CHECKS + 1] = {0};
    struct ynode *named[FLOW_MAX_CHECKS + 1];
    if (chk != NULL) {
        if (chk->type == Y_SEQ) {
            checks = chk->kids;
            n_chk = chk->n;
        } else if (chk->type == Y_SCALAR) {
            checks = one;
            n_chk = 1;
        } else {
            if (load__check_map(L, chk, "check", NULL) < 0) {
                return -1;
            }
            n_chk = chk->n / 2;
            for (size_t i = 0; i < n_chk && i <= FLOW_MAX_CHECKS; i++) {
                names[i] = chk->kids[2 * i];
                named[i] = chk->kids[2 * i + 1];
            }
            checks = named;
        }
        if (chk->type == Y_SEQ) {
            for (size_t i = 0; i < n_chk && i <= FLOW_MAX_CHECKS; i++) {
                struct ynode *it = chk->kids[i];
                named[i] = it;
                if (it->type == Y_MAP) {
                    if (it->n != 2 || it->kids[0]->type != Y_SCALAR) {
                        return load__err(L, it,
                                         "a named check is one 'name: check' pair (expected "
                                         "e.g. 'bid placed: status == 200')");
                    }
                    names[i] = it->kids[0];
                    named[i] = it->kids[1];
                }
            }
            checks = named;
        }
    }
    if (n_ext + n_chk > FLOW_MAX_CHECKS) {
        return load__err(L, ext ? ext : chk,
                         "%zu extractions and checks in one step (expected at "
                         "most %d)",
                         n_ext + n_chk, FLOW_MAX_CHECKS);
    }
    if (n_ext + n_chk == 0) {
        return 0;
    }
    fs->asserts = calloc(n_ext + n_chk, sizeof *fs->asserts);
    if (fs->asserts == NULL) {
        return load__oom(L);
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
        const char *spec = load__sval(L, v, "an extraction such as 'json $.token'");
        if (spec == NULL) {
            return -1;
        }
        struct flow_assert *a = &fs->asserts[fs->n_asserts];
        int rc = extract_compile(spec, var, &a->ex, msg, sizeof msg);
        if (rc == -ENOMEM) {
            return load__oom(L);
        }
        if (rc < 0) {
            return load__sub_err(L, v, 0, "bad extraction: ", msg);
        }
        fs->n_asserts++;
        a->is_extract = true;
        a->needs_body = extract_needs_body(&a->ex);
        a->at_head = !a->needs_body;
        size_t nl = strlen(k->s) + 9;
        a->name = malloc(nl);
        if (a->name == NULL) {
            return load__oom(L);
        }
        snprintf(a->name, nl, "extract %s", k->s);
    }
    for (size_t i = 0; i < n_chk; i++) {
        const char *src = load__sval(L, checks[i], "a check such as 'status == 200'");
        if (src == NULL) {
            return -1;
        }
        struct flow_assert *a = &fs->asserts[fs->n_asserts];
        int rc = check_compile(src, &a->ck, msg, sizeof msg);
        if (rc == -ENOMEM) {
            return load__oom(L);
        }
        if (rc < 0) {
            return load__sub_err(L, checks[i], 0, "bad check: ", msg);
        }
        fs->n_asserts++;
        a->needs_body = check_needs_body(&a->ck);
        a->at_head = check_is_head(&a->ck);
        const char *cname = a->ck.source;
        if (names[i] != NULL) {
            cname = load__sval(L, names[i], "a check name");
            if (cname == NULL) {
                return -1;
            }
            if (cname[0] == '\0') {
                return load__err(L, names[i],
                                 "empty check name (expected a name such as 'bid "
                                 "placed successfully')");
            }
        }
        a->name = strdup(cname);
        if (a->name == NULL) {
            return load__oom(L);
        }
    }
    for (size_t i = 0; i < fs->n_asserts; i++) {
        if (fs->asserts[i].needs_body) {
            fs->wants_body = true;
        }
    }
    return 0;
}

/*
 * A step's tags: (k6's request tags): names of letters, digits and _ that are not
 * brunt's own, scalar values; at most 16, 900 bytes in all.  Stored as "k=v" pairs each
 * ended by TAGS_SEP (engine/plan.h) and made known to threshold filters.
 */
int load__compile_step_tags(struct loader *L, struct ynode *n, struct step *st)
{
    static const char *const own[] = {"scenario", "name",  "method", "status", "expected_response",
                                      "group",    "check", "kind",   "proto",  NULL};
    if (load__check_map(L, n, "tags", NULL) < 0) {
        return -1;
    }
    if (n->n / 2 > 16) {
        return load__err(L, n, "too many tags (at most 16 on a step)");
    }
    struct dynbuf b;
    dynbuf_init(&b, 900);
    for (size_t i = 0; i < n->n; i += 2) {
        const char *k = n->kids[i]->s;
        bool ok = k[0] != '\0' && !(k[0] >= '0' && k[0] <= '9') && strlen(k) <= 64;
        for (const char *p = k; ok && *p; p++) {
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '_';
        }
        for (size_t j = 0; ok && own[j] != NULL; j++) {
            ok = strcmp(own[j], k) != 0;
        }
        if (!ok) {
            dynbuf_destroy(&b);
            return load__err(L, n->kids[i],
                             "bad tag name '%s' (expected letters, digits and _, at most 64, "
                             "not one of brunt's own tags: scenario, name, method, status, "
                             "expected_response, group, check, kind)",
                             k);
        }
        const char *v = load__sval(L, n->kids[i + 1], "a tag value");
        if (v == NULL || dynbuf_addf(&b, "%s=%s%c", k, v, TAGS_SEP) < 0) {
            dynbuf_destroy(&b);
            return v == NULL ? -1 : load__err(L, n, "tags too long (at most 900 bytes on a step)");
        }
        (void)threshold_tag_name_add(k);
    }
    st->tags = dynbuf_take(&b, NULL);
    return 0;
}

/* The canonical tags of a step's custom-metric samples: name, scenario, group. */
static const char *step_tags(const struct step *st, const char *scenario, char *out, size_t cap)
{
    const char *keys[3] = {"name", "scenario", "group"};
    const char *vals[3] = {st->name, scenario, st->group};
    if (tags_canon(out, cap, keys, vals, st->group != NULL ? 3 : 2) < 0) {
        out[0] = '\0';
    }
    return out;
}

int load__compile_request(struct loader *L, struct scen_ctx *C, struct ynode *n, const char *group)
{
    char tags[2048];
    struct dynbuf static_body; /* body_file, multipart (compile_body.c) */
    dynbuf_init(&static_body, FLOW_MAX_REQUEST_BYTES);
    /* A ws_connect step is a GET of its own (the upgrade, engine/conn_ws.c): its URL is
     * mapped ws:// -> http://, wss:// -> https:// and compiled as a request's. */
    bool ws = load__mget(n, "ws_connect") != NULL;
    char ws_line[URL_MAX_TARGET + 512];
    if (load__check_map(L, n, ws ? "a ws_connect step" : "a request step",
                        ws ? load__ws_connect_keys : load__request_keys) < 0) {
        return -1;
    }
    struct ynode *req = load__mget(n, ws ? "ws_connect" : "request");
    const char *line = load__sval(L, req,
                                  ws ? "a WebSocket URL such as ws://host/chat"
                                     : "'METHOD URL' such as 'GET /items'");
    if (line == NULL) {
        return -1;
    }
    if (ws && load__ws_line(L, req, line, ws_line, sizeof ws_line) < 0) {
        return -1;
    }
    if (ws) {
        line = ws_line;
    }
    struct step *st = load__new_step(L, C, n);
    if (st == NULL) {
        return -1;
    }
    struct flow_step *fs = load__owner_new_step(L);
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
        return load__oom(L);
    }
    if (!plan_token_valid(st->method, strlen(st->method)) || url_len == 0) {
        return load__err(L, req,
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
        load__oom(L);
        goto done;
    }
    const char *path;
    if (url_s[0] == '/') {
        if (L->base_origin == NULL) {
            load__err(L, req,
                      "a relative URL '%s' without base_url (expected base_url at the top "
                      "of the file, or an absolute http:// URL)",
                      url_s);
            goto done;
        }
        origin_s = strdup(L->base_origin);
        if (origin_s == NULL || dynbuf_adds(&target, L->base_path) < 0) {
            load__oom(L);
            goto done;
        }
        path = url_s;
    } else if (strncasecmp(url_s, "http://", 7) == 0 || strncasecmp(url_s, "https://", 8) == 0) {
        if (load__split_url(L, req, url_s, &origin_s, &path) < 0) {
            goto done;
        }
        if (*path != '/') {
            (void)dynbuf_addc(&target, '/');
        }
    } else {
        load__err(L, req,
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
        if (load__compile_tmpl(L, C, req, us + (size_t)(path - url_s), path, hash, TMPL_URL, &t) <
            0) {
            goto done;
        }
        tmpl_free(t);
        if (dynbuf_add(&target, path, hash) < 0) {
            load__err(L, req, "URL too long (at most %d bytes)", URL_MAX_TARGET - 1);
            goto done;
        }
    }
    if (origin_get(L, req, origin_s, &st->origin) < 0) {
        goto done;
    }
    fs->origin = st->origin;
    fs->max_redirects = -1;
    struct ynode *q = load__mget(n, "query");
    if (q != NULL) {
        bool has_q = false;
        for (size_t i = 0; i < target.len && !has_q; i++) {
            has_q = target.data[i] == '?';
        }
        if (encode_pairs(L, C, q, "query", has_q ? '&' : '?', &target) < 0) {
            goto done;
        }
    }
    struct ynode *name = load__mget(n, "name");
    if (name != NULL) {
        const char *s = load__sval(L, name, "a name");
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
        load__oom(L);
        goto done;
    }

    /* The head: request line, Host, User-Agent, Content-Type, headers. */
    struct hdr h[64];
    size_t nh = 0;
    if (merge_headers(L, L->def_headers, h, &nh, 64) < 0 ||
        merge_headers(L, C->def_headers, h, &nh, 64) < 0 ||
        merge_headers(L, load__mget(n, "headers"), h, &nh, 64) < 0) {
        goto done;
    }
    struct ynode *body = load__mget(n, "body"), *json = load__mget(n, "json"),
                 *form = load__mget(n, "form");
    struct ynode *bfile = load__mget(n, "body_file"), *multi = load__mget(n, "multipart");
    if ((body != NULL) + (json != NULL) + (form != NULL) + (bfile != NULL) + (multi != NULL) > 1) {
        load__err(L,
                  body && json ? json
                  : form       ? form
                  : bfile      ? bfile
                               : multi,
                  "more than one of body, json, form, body_file and multipart (expected "
                  "one body per request)");
        goto done;
    }
    /* Bodies from files are bytes read once here (compile_body.c). */
    char boundary[80] = "";
    if ((bfile != NULL && load__body_file(L, bfile, &static_body) < 0) ||
        (multi != NULL && load__multipart(L, multi, &static_body, boundary, sizeof boundary) < 0)) {
        goto done;
    }
    if (parts_lit(L, &P, st->method, strlen(st->method)) < 0 || parts_lit(L, &P, " ", 1) < 0) {
        goto done;
    }
    {
        struct tmpl *t;
        if (load__compile_tmpl(L, C, req, 0, target.data ? target.data : "/",
                               target.len ? target.len : 1, TMPL_URL, &t) < 0 ||
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
        load__err(L, req, "host name too long");
        goto done;
    }
    if (!has_ua && reqhead_user_agent(&P.lit) < 0) {
        load__err(L, req, "request too large (at most %u bytes)", PLAN_MAX_REQUEST_BYTES);
        goto done;
    }
    if (multi != NULL) {
        /* The boundary is brunt's: a Content-Type of the user's could not name it. */
        if (has_ct) {
            load__err(L, multi,
                      "multipart sets its own Content-Type (with its boundary): "
                      "remove Content-Type from the headers");
            goto done;
        }
        char ct_line[160];
        int k = snprintf(ct_line, sizeof ct_line,
                         "Content-Type: multipart/form-data; boundary=%s\r\n", boundary);
        if (parts_lit(L, &P, ct_line, (size_t)k) < 0) {
            goto done;
        }
    }
    if (!has_ct && (json != NULL || form != NULL)) {
        const char *ct = json != NULL ? "Content-Type: application/json\r\n"
                                      : "Content-Type: application/x-www-form-urlencoded\r\n";
        if (parts_lit(L, &P, ct, strlen(ct)) < 0) {
            goto done;
        }
    }
    for (size_t i = 0; i < nh; i++) {
        const char *v = h[i].val->is_null ? "" : load__sval(L, h[i].val, "a header value");
        struct tmpl *t;
        if (v == NULL || parts_lit(L, &P, h[i].name, strlen(h[i].name)) < 0 ||
            parts_lit(L, &P, ": ", 2) < 0 ||
            load__compile_tmpl(L, C, h[i].val, 0, v, strlen(v), TMPL_RAW, &t) < 0 ||
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
            const char *s = body->is_null ? "" : load__sval(L, body, "the body text");
            brc = s == NULL                  ? -1
                  : dynbuf_adds(&src, s) < 0 ? load__err(L, body, "body too large")
                                             : 0;
        } else if (json != NULL) {
            struct jsonw w;
            jsonw_init(&w, 0, TMPL_MAX_BYTES);
            brc = json_write(L, C, json, &w, 0);
            if (brc == 0 && jsonw_error(&w) != 0) {
                brc = load__err(L, json, "the JSON body is too large (at most %d bytes)",
                                TMPL_MAX_BYTES);
            }
            size_t jl = 0;
            const char *jd = jsonw_data(&w, &jl);
            if (brc == 0 && dynbuf_add(&src, jd, jl) < 0) {
                brc = load__oom(L);
            }
            jsonw_destroy(&w);
            esc = TMPL_JSON;
        } else if (form != NULL) {
            brc = encode_pairs(L, C, form, "form", 0, &src);
            esc = TMPL_URL;
        }
        if (brc == 0 && at != NULL) {
            struct tmpl *t = NULL;
            brc = load__compile_tmpl(L, C, at, 0, src.data ? src.data : "", src.len, esc, &t);
            if (brc == 0) {
                fs->has_body = true;
                if (tmpl_is_static(t)) {
                    struct dynbuf lit;
                    dynbuf_init(&lit, FLOW_MAX_REQUEST_BYTES);
                    if (tmpl_static_text(t, &lit) < 0) {
                        brc = load__err(L, at, "body too large");
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
        if (brc == 0 && (bfile != NULL || multi != NULL)) {
            fs->has_body = static_body.len > 0 || fs->send_length;
            fs->body_lit_len = static_body.len;
            fs->body_lit = dynbuf_take(&static_body, NULL);
            if (fs->body_lit == NULL) {
                fs->body_lit = calloc(1, 1);
                brc = fs->body_lit == NULL ? load__oom(L) : 0;
            }
        }
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
            load__err(L, req, "request too large");
            goto done;
        }
        fs->whole_len = whole.len;
        fs->whole = dynbuf_take(&whole, NULL);
    }

    /* Timeout, expect, on_fail, extract, check. */
    struct ynode *v;
    fs->timeout_ns = C->def_timeout_ns;
    if ((v = load__mget(n, "timeout")) != NULL &&
        load__get_duration(L, v, false, &fs->timeout_ns) < 0) {
        goto done;
    }
    if ((v = load__mget(n, "tags")) != NULL && load__compile_step_tags(L, v, st) < 0) {
        goto done;
    }
    if ((v = load__mget(n, "redirects")) != NULL) {
        uint64_t r;
        if (load__get_u64(L, v, 0, 100, &r) < 0) {
            goto done;
        }
        fs->max_redirects = scenario_max_redirects >= 0 ? scenario_max_redirects : (int32_t)r;
    }
    if ((v = load__mget(n, "expect")) != NULL && parse_expect(L, v, fs) < 0) {
        goto done;
    }
    if ((v = load__mget(n, "on_fail")) != NULL) {
        static const char *const words[] = {"continue", "abort", NULL};
        int k;
        if (load__get_enum(L, v, "on_fail value", words, &k) < 0) {
            goto done;
        }
        fs->abort_on_fail = k == 1;
    }
    if (load__compile_asserts(L, C, load__mget(n, "extract"), load__mget(n, "check"), fs) < 0) {
        goto done;
    }
    if (C->capture) {
        fs->custom.capture_names = (const char *const *)C->vars;
        fs->custom.n_capture = C->n_vars;
    }
    if ((v = load__mget(n, "metrics")) != NULL &&
        load__compile_step_metrics(L, C, v, step_tags(st, C->name, tags, sizeof tags), fs) < 0) {
        goto done;
    }
    if (ws) {
        st->kind = STEP_WS;
        st->ws_op = WS_STEP_CONNECT;
        if (name == NULL) { /* the URL as written names the session */
            free(st->name);
            if ((st->name = strdup(req->s)) == NULL) {
                load__oom(L);
                goto done;
            }
        }
    }
    rc = 0;
done:
    dynbuf_destroy(&static_body);
    parts_free(&P);
    dynbuf_destroy(&target);
    free(url_s);
    free(origin_s);
    return rc;
}
