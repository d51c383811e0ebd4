/*
 * libFuzzer target for scenario/template.
 *
 * 1. The input (after its first byte, which picks the escape mode) as a template source:
 *    tmpl_compile with two variables and a small feeder; when it compiles, tmpl_eval
 *    twice.  Invariants: a failed compile leaves *out NULL and writes a message; a static
 *    template evaluates to exactly tmpl_static_len bytes; evaluation into a small capped
 *    buffer either succeeds or fails with -E2BIG leaving the buffer as it was.
 * 2. The input as a variable's value, substituted inside a JSON string: the document must
 *    validate; substituted in URL mode: only unreserved bytes and %XX come out.
 * 3. The input (cut at its first NUL) through env_expand.
 *
 * Built by scripts/fuzz.sh; seeds in tests/fuzz/corpus/template/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "scenario/feeder.h"
#include "scenario/template.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static struct feeder *users;
static const char *const var_names[] = {"token", "id"};
static const char *const feeder_names[] = {"users"};

static void setup(void)
{
    if (users != NULL) {
        return;
    }
    const char csv[] = "email,name\na@x.io,\"A \"\"q\"\"\"\nb@x.io,B\n";
    check(feeder_load_csv_mem(csv, sizeof(csv) - 1, "u", "users", FEEDER_SEQUENTIAL, FEEDER_PER_VU,
                              FEEDER_RECYCLE, &users, NULL, 0) == 0);
}

static void init_vu(struct flow_vu *v, struct flow_var *vars, int64_t *rows, uint64_t *seq)
{
    memset(v, 0, sizeof(*v));
    v->vu = 3;
    v->iter = 9;
    v->scenario = "s\"c";
    v->rng = 1;
    v->seq = seq;
    v->seq_stride = 2;
    v->seq_offset = 1;
    v->vars = vars;
    v->n_vars = 2;
    v->rows = rows;
    v->n_feeders = 1;
}

static void url_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                          (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' || b == '~';
        if (b == '%') {
            check(i + 2 < n && strchr("0123456789ABCDEF", s[i + 1]) != NULL &&
                  strchr("0123456789ABCDEF", s[i + 2]) != NULL && s[i + 1] != '\0' &&
                  s[i + 2] != '\0');
            i += 2;
            continue;
        }
        check(unreserved);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    const struct feeder *feeders[1] = {users};
    struct tmpl_names names = {.vars = var_names,
                               .n_vars = 2,
                               .feeders = feeder_names,
                               .n_feeders = 1,
                               .feeder_objs = feeders};
    struct flow_var vars[2] = {{0}};
    int64_t rows[1] = {1};
    uint64_t seq = 0;
    struct flow_vu v;
    init_vu(&v, vars, rows, &seq);
    vars[0].val = (char *)"v\"0";
    vars[0].len = 3;
    vars[0].set = true;

    /* 1. The input as a template. */
    if (size > 0) {
        enum tmpl_escape esc = (enum tmpl_escape)(data[0] % 3);
        const char *src = (const char *)data + 1;
        size_t len = size - 1;
        struct tmpl *t = NULL;
        char err[256];
        err[0] = '\0';
        int rc = tmpl_compile(src, len, esc, &names, &t, err, sizeof(err));
        if (rc != 0) {
            check(t == NULL);
            check(err[0] != '\0');
        } else {
            struct dynbuf out;
            dynbuf_init(&out, 1 << 22);
            check(tmpl_eval(t, &v, feeders, &out) == 0);
            if (tmpl_is_static(t)) {
                check(out.len == tmpl_static_len(t));
            }
            check(out.len >= tmpl_static_len(t));
            struct dynbuf small;
            dynbuf_init(&small, 16);
            check(dynbuf_adds(&small, "pre") == 0);
            rc = tmpl_eval(t, &v, feeders, &small);
            check(rc == 0 || rc == -E2BIG);
            if (rc != 0) {
                check(small.len == 3 && memcmp(small.data, "pre", 3) == 0);
            }
            dynbuf_destroy(&small);
            dynbuf_destroy(&out);
            tmpl_free(t);
        }
    }

    /* 2. The input as a substituted value. */
    vars[1].val = (char *)data;
    vars[1].len = (uint32_t)size;
    vars[1].set = true;
    const char json_src[] = "{\"a\": \"{{ id }}\", \"s\": \"{{ scenario }}\"}";
    struct tmpl *tj = NULL, *tu = NULL;
    check(tmpl_compile(json_src, sizeof(json_src) - 1, TMPL_JSON, &names, &tj, NULL, 0) == 0);
    check(tmpl_compile("{{ id }}", 8, TMPL_URL, &names, &tu, NULL, 0) == 0);
    struct dynbuf out;
    dynbuf_init(&out, 1 << 24);
    check(tmpl_eval(tj, &v, feeders, &out) == 0);
    check(json_validate(out.data, out.len, NULL) == 0);
    dynbuf_reset(&out);
    check(tmpl_eval(tu, &v, feeders, &out) == 0);
    url_ok(out.data != NULL ? out.data : "", out.len);
    dynbuf_destroy(&out);
    tmpl_free(tj);
    tmpl_free(tu);

    /* 3. env_expand. */
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
        char *res = NULL;
        char err[256];
        int rc = env_expand(s, &res, err, sizeof(err));
        check(rc == 0 ? res != NULL : res == NULL);
        free(res);
        free(s);
    }
    return 0;
}
