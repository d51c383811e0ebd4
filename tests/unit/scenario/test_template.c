/*
 * Tests for scenario/template: every expression, the three escape modes, compile errors
 * (columns, did-you-mean), the output cap, and ${ENV} expansion.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "scenario/feeder.h"
#include "scenario/template.h"

static const char *const var_names[] = {"token", "user_id"};

/* A VU with two variables and one feeder ("users": email,name) on row 1. */
struct fixture {
    struct flow_vu v;
    struct flow_var vars[2];
    int64_t rows[1];
    uint64_t seq;
    struct feeder *users;
    const struct feeder *feeders[1];
    const char *feeder_names[1];
    struct tmpl_names names;
    struct dynbuf out;
};

static void fx_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    char err[256];
    const char csv[] = "email,name\na@x.io,Ann\nb@x.io,Bob\n";
    int rc =
        feeder_load_csv_mem(csv, sizeof(csv) - 1, "users.csv", "users", FEEDER_SEQUENTIAL,
                            FEEDER_PER_ITERATION, FEEDER_RECYCLE, &fx->users, err, sizeof(err));
    cr_assert_eq(rc, 0, "feeder load: %d %s", rc, err);
    fx->feeders[0] = fx->users;
    fx->feeder_names[0] = "users";
    fx->names = (struct tmpl_names){.vars = var_names,
                                    .n_vars = 2,
                                    .feeders = fx->feeder_names,
                                    .n_feeders = 1,
                                    .feeder_objs = fx->feeders};
    fx->v.vu = 7;
    fx->v.iter = 3;
    fx->v.scenario = "bidders";
    fx->v.rng = 12345;
    fx->v.seq = &fx->seq;
    fx->v.seq_stride = 1;
    fx->v.vars = fx->vars;
    fx->v.n_vars = 2;
    fx->rows[0] = 1;
    fx->v.rows = fx->rows;
    fx->v.n_feeders = 1;
    dynbuf_init(&fx->out, 1 << 20);
}

static void fx_destroy(struct fixture *fx)
{
    for (size_t i = 0; i < 2; i++) {
        free(fx->vars[i].val);
    }
    feeder_free(fx->users);
    dynbuf_destroy(&fx->out);
}

static void set_var(struct fixture *fx, size_t i, const char *s)
{
    free(fx->vars[i].val);
    fx->vars[i].val = strdup(s);
    fx->vars[i].len = (uint32_t)strlen(s);
    fx->vars[i].cap = fx->vars[i].len + 1;
    fx->vars[i].set = true;
}

/* Compiles src (mode esc) and evaluates it once; returns the output (in fx->out). */
static const char *render(struct fixture *fx, const char *src, enum tmpl_escape esc)
{
    struct tmpl *t = NULL;
    char err[256] = "";
    int rc = tmpl_compile(src, strlen(src), esc, &fx->names, &t, err, sizeof(err));
    cr_assert_eq(rc, 0, "compile '%s': rc %d: %s", src, rc, err);
    dynbuf_reset(&fx->out);
    rc = tmpl_eval(t, &fx->v, fx->feeders, &fx->out);
    cr_assert_eq(rc, 0, "eval '%s': rc %d", src, rc);
    tmpl_free(t);
    return fx->out.data != NULL ? fx->out.data : "";
}

/* Compiles src expecting an error; returns it. */
static const char *compile_err(struct fixture *fx, const char *src)
{
    static char err[512];
    struct tmpl *t = NULL;
    err[0] = '\0';
    int rc = tmpl_compile(src, strlen(src), TMPL_RAW, &fx->names, &t, err, sizeof(err));
    cr_assert_lt(rc, 0, "compile '%s' should fail, got %d", src, rc);
    cr_assert_null(t, "no template on failure");
    return err;
}

static bool matches(const char *s, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(template, static_text_is_one_literal)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    char err[128];
    cr_assert_eq(tmpl_compile("/api/v1/items", 13, TMPL_RAW, NULL, &t, err, sizeof(err)), 0);
    cr_expect(tmpl_is_static(t));
    cr_expect_eq(tmpl_static_len(t), 13, "%zu vs 13", tmpl_static_len(t));
    cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
    cr_expect_str_eq(fx.out.data, "/api/v1/items");
    tmpl_free(t);
    fx_destroy(&fx);
}

Test(template, dynamic_template_is_not_static)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    cr_assert_eq(tmpl_compile("ab{{ vu }}cd", 12, TMPL_RAW, NULL, &t, NULL, 0), 0);
    cr_expect_not(tmpl_is_static(t));
    cr_expect_eq(tmpl_static_len(t), 4, "%zu vs 4", tmpl_static_len(t));
    tmpl_free(t);
    fx_destroy(&fx);
}

Test(template, vu_iter_scenario)
{
    struct fixture fx;
    fx_init(&fx);
    cr_expect_str_eq(render(&fx, "user{{ vu }}@example.com", TMPL_RAW), "user7@example.com");
    cr_expect_str_eq(render(&fx, "{{iter}}", TMPL_RAW), "3");
    cr_expect_str_eq(render(&fx, "{{\tscenario\n}}", TMPL_RAW), "bidders");
    fx.v.vu = 4294967295u;
    fx.v.iter = UINT64_MAX;
    cr_expect_str_eq(render(&fx, "{{vu}}/{{iter}}", TMPL_RAW), "4294967295/18446744073709551615");
    fx_destroy(&fx);
}

Test(template, seq_uses_stride_and_offset_and_increments)
{
    struct fixture fx;
    fx_init(&fx);
    fx.seq = 5;
    fx.v.seq_stride = 4;
    fx.v.seq_offset = 2;
    cr_expect_str_eq(render(&fx, "{{ seq }},{{ seq }}", TMPL_RAW), "22,26");
    cr_expect_eq(fx.seq, 7, "seq counter %llu vs 7", (unsigned long long)fx.seq);
    fx_destroy(&fx);
}

Test(template, now_ms_is_wall_clock_milliseconds)
{
    struct fixture fx;
    fx_init(&fx);
    const char *s = render(&fx, "{{ now_ms }}", TMPL_RAW);
    unsigned long long ms = strtoull(s, NULL, 10);
    /* After 2020-01-01 and before 2100-01-01. */
    cr_expect(ms > 1577836800000ULL && ms < 4102444800000ULL, "now_ms %s", s);
    fx_destroy(&fx);
}

Test(template, uuid_is_v4_and_varies)
{
    struct fixture fx;
    fx_init(&fx);
    char first[64];
    snprintf(first, sizeof(first), "%s", render(&fx, "{{ uuid }}", TMPL_RAW));
    cr_expect(
        matches(first, "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        "not a v4 uuid: %s", first);
    const char *second = render(&fx, "{{ uuid }}", TMPL_RAW);
    cr_expect_str_neq(first, second, "two uuids equal: %s", first);
    fx_destroy(&fx);
}

Test(template, randint_stays_in_range_and_covers_it)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "{{ randint -3 3 }}";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, NULL, &t, NULL, 0), 0);
    bool seen[7] = {false};
    for (int i = 0; i < 2000; i++) {
        dynbuf_reset(&fx.out);
        cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
        char *end;
        long v = strtol(fx.out.data, &end, 10);
        cr_assert_eq(*end, '\0', "not an integer: %s", fx.out.data);
        cr_assert(v >= -3 && v <= 3, "out of range: %ld", v);
        seen[v + 3] = true;
    }
    for (int k = 0; k < 7; k++) {
        cr_expect(seen[k], "value %d never produced", k - 3);
    }
    tmpl_free(t);
    cr_expect_str_eq(render(&fx, "{{ randint 5 5 }}", TMPL_RAW), "5");
    const char *full =
        render(&fx, "{{ randint -9223372036854775808 9223372036854775807 }}", TMPL_RAW);
    cr_expect(matches(full, "^-?[0-9]{1,19}$"), "full range: %s", full);
    fx_destroy(&fx);
}

Test(template, randfloat_range_and_decimals)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "{{ randfloat 1.5 2.5 }}";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, NULL, &t, NULL, 0), 0);
    for (int i = 0; i < 500; i++) {
        dynbuf_reset(&fx.out);
        cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
        cr_assert(matches(fx.out.data, "^[0-9]+(\\.[0-9]{1,6})?$"), "format: %s", fx.out.data);
        double v = strtod(fx.out.data, NULL);
        cr_assert(v >= 1.5 && v <= 2.5, "out of range: %s", fx.out.data);
    }
    tmpl_free(t);
    cr_expect_str_eq(render(&fx, "{{ randfloat 2 2 }}", TMPL_RAW), "2");
    cr_expect_str_eq(render(&fx, "{{ randfloat -0.25 -0.25 }}", TMPL_RAW), "-0.25");
    fx_destroy(&fx);
}

Test(template, choice_picks_every_word)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "{{ choice red \"light blue\" 'it''s' }}";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, NULL, &t, NULL, 0), 0);
    bool red = false, blue = false, its = false;
    for (int i = 0; i < 300; i++) {
        dynbuf_reset(&fx.out);
        cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
        const char *s = fx.out.data;
        if (strcmp(s, "red") == 0) {
            red = true;
        } else if (strcmp(s, "light blue") == 0) {
            blue = true;
        } else if (strcmp(s, "it") == 0 || strcmp(s, "s") == 0) {
            its = true; /* 'it''s' is two quoted words: it, s */
        } else {
            cr_assert_fail("unexpected choice '%s'", s);
        }
    }
    cr_expect(red && blue && its, "red %d blue %d its %d", red, blue, its);
    tmpl_free(t);
    cr_expect_str_eq(render(&fx, "{{ choice 'a \\' b' }}", TMPL_RAW), "a ' b");
    fx_destroy(&fx);
}

Test(template, variables_and_unset_variables)
{
    struct fixture fx;
    fx_init(&fx);
    cr_expect_str_eq(render(&fx, "Bearer {{ token }}!", TMPL_RAW), "Bearer !");
    set_var(&fx, 0, "abc.def");
    set_var(&fx, 1, "42");
    cr_expect_str_eq(render(&fx, "Bearer {{ token }} {{user_id}}", TMPL_RAW), "Bearer abc.def 42");
    fx.v.n_vars = 1; /* a slot beyond the VU's variables evaluates to "" */
    cr_expect_str_eq(render(&fx, "[{{user_id}}]", TMPL_RAW), "[]");
    fx_destroy(&fx);
}

Test(template, feeder_columns_and_missing_row)
{
    struct fixture fx;
    fx_init(&fx);
    cr_expect_str_eq(render(&fx, "{{ users.email }}/{{ users.name }}", TMPL_RAW), "b@x.io/Bob");
    fx.rows[0] = 0;
    cr_expect_str_eq(render(&fx, "{{ users.name }}", TMPL_RAW), "Ann");
    fx.rows[0] = -1;
    cr_expect_str_eq(render(&fx, "<{{ users.name }}>", TMPL_RAW), "<>");
    fx.rows[0] = 0;
    fx.v.n_feeders = 0;
    cr_expect_str_eq(render(&fx, "<{{ users.name }}>", TMPL_RAW), "<>");
    fx_destroy(&fx);
}

Test(template, quoted_text_writes_literal_braces)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "a {{ \"{{\" }} b }} c";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, NULL, &t, NULL, 0), 0);
    cr_expect(tmpl_is_static(t), "quoted text only: static");
    cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
    cr_expect_str_eq(fx.out.data, "a {{ b }} c");
    cr_expect_eq(tmpl_static_len(t), strlen("a {{ b }} c"));
    tmpl_free(t);
    fx_destroy(&fx);
}

Test(template, json_escaping_keeps_the_document_valid)
{
    struct fixture fx;
    fx_init(&fx);
    set_var(&fx, 0, "say \"hi\"\\\n\t\x01 caf\xc3\xa9 bad\xff end");
    const char *s = render(&fx, "{\"note\": \"{{ token }}\", \"vu\": {{ vu }}}", TMPL_JSON);
    size_t off = 0;
    cr_expect_eq(json_validate(s, strlen(s), &off), 0, "invalid JSON at %zu: %s", off, s);
    cr_expect_str_eq(s,
                     "{\"note\": \"say \\\"hi\\\"\\\\\\n\\t\\u0001 caf\xc3\xa9 bad\\ufffd end\", "
                     "\"vu\": 7}");
    struct json_span v;
    cr_assert_eq(json_get_member(s, strlen(s), "note", &v), 0);
    char text[128];
    int n = json_span_text(&v, text, sizeof(text));
    cr_expect_str_eq(text, "say \"hi\"\\\n\t\x01 caf\xc3\xa9 bad\xef\xbf\xbd end",
                     "round trip (%d)", n);
    fx_destroy(&fx);
}

Test(template, json_mode_reads_escaped_quotes_inside_expressions)
{
    struct fixture fx;
    fx_init(&fx);
    /* As a JSON writer would have serialised {{ choice "a b" "a b" }} inside a string. */
    const char *s = render(&fx, "{\"k\": \"{{ choice \\\"a b\\\" \\\"a b\\\" }}\"}", TMPL_JSON);
    cr_expect_str_eq(s, "{\"k\": \"a b\"}");
    s = render(&fx, "\"{{\\n  vu\\t}}\"", TMPL_JSON);
    cr_expect_str_eq(s, "\"7\"", "escaped white space inside an expression");
    fx_destroy(&fx);
}

Test(template, quoted_text_is_escaped_for_where_it_lands)
{
    struct fixture fx;
    fx_init(&fx);
    /* {{ 'say "hi"' }} inside a JSON string, as the loader's JSON writer serialises it. */
    const char *s = render(&fx, "{\"lit\": \"{{ 'say \\\"hi\\\"' }}\"}", TMPL_JSON);
    cr_expect_str_eq(s, "{\"lit\": \"say \\\"hi\\\"\"}", "quotes stay escaped in JSON");
    s = render(&fx, "/a?d={{ 'x y&z' }}", TMPL_URL);
    cr_expect_str_eq(s, "/a?d=x%20y%26z", "quoted text is percent-encoded in a query");
    s = render(&fx, "{{ 'x y' }}", TMPL_RAW);
    cr_expect_str_eq(s, "x y", "raw text stays as written");
    fx_destroy(&fx);
}

Test(template, url_escaping_percent_encodes)
{
    struct fixture fx;
    fx_init(&fx);
    set_var(&fx, 0, "a b&c=d/é~x_y.z-0");
    cr_expect_str_eq(render(&fx, "/s?q={{ token }}&v={{ vu }}", TMPL_URL),
                     "/s?q=a%20b%26c%3Dd%2F%C3%A9~x_y.z-0&v=7");
    fx_destroy(&fx);
}

Test(template, raw_mode_leaves_values_alone)
{
    struct fixture fx;
    fx_init(&fx);
    set_var(&fx, 0, "\"a b\"&");
    cr_expect_str_eq(render(&fx, "{{token}}", TMPL_RAW), "\"a b\"&");
    fx_destroy(&fx);
}

Test(template, output_cap_fails_and_truncates_back)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "0123456789{{ vu }}";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, NULL, &t, NULL, 0), 0);
    struct dynbuf small;
    dynbuf_init(&small, 13);
    cr_assert_eq(dynbuf_adds(&small, "abc"), 0);
    int rc = tmpl_eval(t, &fx.v, NULL, &small);
    cr_expect_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    cr_expect_eq(small.len, 3, "len %zu vs 3 after a failed eval", small.len);
    cr_expect_str_eq(small.data, "abc");
    dynbuf_destroy(&small);
    tmpl_free(t);
    fx_destroy(&fx);
}

Test(template, uses_var_and_feeder)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char *src = "{{ user_id }} {{ users.email }}";
    cr_assert_eq(tmpl_compile(src, strlen(src), TMPL_RAW, &fx.names, &t, NULL, 0), 0);
    cr_expect(tmpl_uses_var(t, 1));
    cr_expect_not(tmpl_uses_var(t, 0));
    cr_expect(tmpl_uses_feeder(t, 0));
    cr_expect_not(tmpl_uses_feeder(t, 1));
    tmpl_free(t);
    cr_expect(tmpl_is_builtin("randint"));
    cr_expect_not(tmpl_is_builtin("token"));
    fx_destroy(&fx);
}

struct err_case {
    const char *src;
    const char *want; /* a substring of the message */
};

static const struct err_case err_cases[] = {
    {"abc {{ vu", "column 5: '{{' is not closed (expected '}}')"},
    {"{{ }}", "column 1: empty expression (expected"},
    {"x{{ tokn }}", "column 5: unknown name 'tokn'; did you mean 'token'?"},
    {"{{ itr }}", "did you mean 'iter'?"},
    {"{{ randnt 1 2 }}", "column 4: unknown name 'randnt'; did you mean 'randint'?"},
    {"{{ token 1 }}", "column 10: unexpected '1' (expected '}}' after token)"},
    {"{{ zzzzzzzz }}", "column 4: unknown name 'zzzzzzzz' (expected a variable"},
    {"{{ vu 1 }}", "column 7: unexpected '1' (expected '}}' after vu)"},
    {"{{ randint 1 }}", "missing HI (expected randint LO HI)"},
    {"{{ randint }}", "missing LO and HI"},
    {"{{ randint a 2 }}", "column 12: 'a' is not an integer (expected randint LO HI)"},
    {"{{ randint 1 2.5 }}", "column 14: '2.5' is not an integer"},
    {"{{ randint 9 1 }}", "column 12: LO 9 is greater than HI 1"},
    {"{{ randint 1 99999999999999999999 }}", "out of range"},
    {"{{ randfloat 1 x }}", "column 16: 'x' is not a number (expected randfloat LO HI)"},
    {"{{ randfloat 2 1 }}", "LO is greater than HI"},
    {"{{ randfloat 0 1e300 }}", "too large"},
    {"{{ choice }}", "choice without words"},
    {"{{ choice 'a }}", "column 11: quoted text is not closed"},
    {"{{ 'a' b }}", "column 8: unexpected 'b' (expected '}}' after quoted text)"},
    {"{{ users.mail }}", "column 10: feeder 'users' has no column 'mail'; did you mean 'email'?"},
    {"{{ user.email }}", "column 4: unknown feeder 'user'; did you mean 'users'?"},
    {"{{ nobody.x }}", "unknown feeder 'nobody'"},
};

Test(template, compile_errors_name_column_and_expectation)
{
    struct fixture fx;
    fx_init(&fx);
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const char *err = compile_err(&fx, err_cases[i].src);
        cr_expect(strstr(err, err_cases[i].want) != NULL, "'%s': got \"%s\", want \"%s\"",
                  err_cases[i].src, err, err_cases[i].want);
    }
    fx_destroy(&fx);
}

Test(template, no_names_means_no_variables)
{
    char err[256];
    struct tmpl *t = NULL;
    int rc = tmpl_compile("{{ token }}", 11, TMPL_RAW, NULL, &t, err, sizeof(err));
    cr_expect_eq(rc, -1, "rc %d", rc);
    cr_expect(strstr(err, "unknown name 'token'") != NULL, "%s", err);
}

Test(template, nul_bytes_are_plain_text)
{
    struct fixture fx;
    fx_init(&fx);
    struct tmpl *t;
    const char src[] = "a\0b{{vu}}";
    cr_assert_eq(tmpl_compile(src, sizeof(src) - 1, TMPL_RAW, NULL, &t, NULL, 0), 0);
    cr_assert_eq(tmpl_eval(t, &fx.v, NULL, &fx.out), 0);
    cr_expect_eq(fx.out.len, 4, "len %zu vs 4", fx.out.len);
    cr_expect_eq(memcmp(fx.out.data, "a\0b7", 4), 0);
    tmpl_free(t);
    fx_destroy(&fx);
}

/* ---- env_expand ---- */

Test(env, expands_values_defaults_and_dollars)
{
    setenv("BRUNT_T_HOST", "example.org", 1);
    setenv("BRUNT_T_EMPTY", "", 1);
    unsetenv("BRUNT_T_UNSET");
    char *out = NULL;
    char err[256];
    cr_assert_eq(
        env_expand("http://${BRUNT_T_HOST}:${BRUNT_T_UNSET:-8080}/$$x/$y/${BRUNT_T_EMPTY}.", &out,
                   err, sizeof(err)),
        0, "%s", err);
    cr_expect_str_eq(out, "http://example.org:8080/$x/$y/.");
    free(out);
    cr_assert_eq(env_expand("${BRUNT_T_EMPTY:-dflt} ${BRUNT_T_HOST:-dflt}", &out, err, sizeof(err)),
                 0);
    cr_expect_str_eq(out, "dflt example.org");
    free(out);
    cr_assert_eq(env_expand("", &out, err, sizeof(err)), 0);
    cr_expect_str_eq(out, "");
    free(out);
}

Test(env, errors_name_the_variable)
{
    unsetenv("BRUNT_T_UNSET");
    char *out = (char *)1;
    char err[256];
    cr_expect_eq(env_expand("x ${BRUNT_T_UNSET} y", &out, err, sizeof(err)), -1);
    cr_expect_null(out);
    cr_expect(strstr(err, "BRUNT_T_UNSET is not set") != NULL, "%s", err);
    cr_expect_eq(env_expand("ab${BRUNT_T_UNSET", &out, err, sizeof(err)), -1);
    cr_expect(strstr(err, "column 3: '${' is not closed") != NULL, "%s", err);
    cr_expect_eq(env_expand("${1X}", &out, err, sizeof(err)), -1);
    cr_expect(strstr(err, "column 3: bad variable name") != NULL, "%s", err);
    cr_expect_eq(env_expand("${A:-never closed", &out, err, sizeof(err)), -1);
    cr_expect(strstr(err, "not closed") != NULL, "%s", err);
    cr_expect_eq(env_expand("${A-x}", &out, err, sizeof(err)), -1);
    cr_expect(strstr(err, "column 4: unexpected '-'") != NULL, "%s", err);
}
