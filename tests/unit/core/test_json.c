/*
 * Unit tests for core/json: the writer (structure, pretty printing, escaping, numbers,
 * misuse, the cap) and the reader (a table of valid and invalid documents, depth, every
 * truncated prefix, path compilation and lookup, text and number conversions).
 *
 * Every document handed to the reader is copied into a heap block of exactly its length
 * (no NUL after it), so a read past the end shows up under AddressSanitizer.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* An exact-size heap copy of n bytes of s; free() it. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    cr_assert_not_null(p);
    memcpy(p, s, n);
    return p;
}

static int validate_str(const char *s, size_t *off)
{
    size_t n = strlen(s);
    char *d = exact(s, n);
    int rc = json_validate(d, n, off);

    free(d);
    return rc;
}

/* Runs path on doc; on success copies the value's text into out. */
static int lookup(const char *path, const char *doc, char *out, size_t cap,
                  struct json_span *span_out)
{
    struct json_path jp;
    struct json_span sp;
    char err[128];
    size_t n = strlen(doc);
    char *d;
    int rc;

    rc = json_path_compile(path, &jp, err, sizeof(err));
    cr_assert_eq(rc, 0, "compile %s: %s", path, err);
    d = exact(doc, n);
    rc = json_path_get(&jp, d, n, &sp);
    if (rc == 0) {
        cr_assert(sp.start >= d && sp.start + sp.len <= d + n, "span outside the document");
        if (out) {
            int t = json_span_text(&sp, out, cap);
            cr_assert(t >= 0, "span_text %d", t);
        }
        if (span_out)
            *span_out = sp;
    }
    free(d);
    return rc;
}

/* ---- writer ---------------------------------------------------------------------- */

static void write_sample(struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "a");
    jsonw_int(w, 1);
    jsonw_key(w, "b");
    jsonw_arr_begin(w);
    jsonw_bool(w, true);
    jsonw_bool(w, false);
    jsonw_null(w);
    jsonw_arr_end(w);
    jsonw_key(w, "c");
    jsonw_obj_begin(w);
    jsonw_key(w, "d");
    jsonw_str(w, "x");
    jsonw_obj_end(w);
    jsonw_key(w, "e");
    jsonw_arr_begin(w);
    jsonw_arr_end(w);
    jsonw_key(w, "f");
    jsonw_obj_begin(w);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

Test(json_writer, compact_nested)
{
    struct jsonw w;
    size_t len = 0;
    const char *want = "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\"},\"e\":[],\"f\":{}}";
    const char *got;

    jsonw_init(&w, 0, 1 << 16);
    write_sample(&w);
    got = jsonw_data(&w, &len);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(got, want, "%s vs %s", got, want);
    cr_assert_eq(len, strlen(want), "len %zu vs %zu", len, strlen(want));
    cr_assert_eq(json_validate(got, len, NULL), 0);
    jsonw_destroy(&w);
}

Test(json_writer, pretty_nested)
{
    struct jsonw w;
    const char *want = "{\n"
                       "  \"a\": 1,\n"
                       "  \"b\": [\n"
                       "    true,\n"
                       "    false,\n"
                       "    null\n"
                       "  ],\n"
                       "  \"c\": {\n"
                       "    \"d\": \"x\"\n"
                       "  },\n"
                       "  \"e\": [],\n"
                       "  \"f\": {}\n"
                       "}";
    const char *got;
    size_t len;

    jsonw_init(&w, 2, 1 << 16);
    write_sample(&w);
    got = jsonw_data(&w, &len);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(got, want, "got:\n%s\nwant:\n%s", got, want);
    cr_assert_eq(json_validate(got, len, NULL), 0);
    jsonw_destroy(&w);
}

Test(json_writer, empty_writer_data_is_empty_string)
{
    struct jsonw w;
    size_t len = 99;

    jsonw_init(&w, 0, 100);
    cr_assert_str_eq(jsonw_data(&w, &len), "");
    cr_assert_eq(len, 0, "len %zu vs 0", len);
    jsonw_destroy(&w);
}

static void check_str(const char *in, size_t n, const char *want)
{
    struct jsonw w;
    const char *got;
    size_t len;

    jsonw_init(&w, 0, 4096);
    jsonw_strn(&w, in, n);
    got = jsonw_data(&w, &len);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(got, want, "%s vs %s", got, want);
    cr_assert_eq(json_validate(got, len, NULL), 0, "writer output must validate: %s", got);
    jsonw_destroy(&w);
}

Test(json_writer, escapes_quotes_backslash_controls)
{
    check_str("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    check_str("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
    check_str("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    check_str("nul\0byte", 8, "\"nul\\u0000byte\"");
    check_str("/", 1, "\"/\"");
    check_str("", 0, "\"\"");
}

Test(json_writer, utf8_passes_through)
{
    const char *s = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";

    check_str(s, strlen(s), "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
}

#define FFFD "\xef\xbf\xbd"

Test(json_writer, invalid_utf8_becomes_replacement)
{
    check_str("a\xff\x62", 3, "\"a" FFFD "b\"");                     /* \x62 is 'b' */
    check_str("\xc3", 1, "\"" FFFD "\"");                            /* truncated at end */
    check_str("\xc3\x61", 2, "\"" FFFD "a\"");                       /* truncated mid-string */
    check_str("\xc0\xaf", 2, "\"" FFFD FFFD "\"");                   /* overlong '/' */
    check_str("\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"");          /* overlong 3-byte */
    check_str("\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"");          /* UTF-16 surrogate */
    check_str("\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""); /* > U+10FFFF */
    check_str("\x80", 1, "\"" FFFD "\"");                            /* stray continuation */
}

static void check_num(double v, const char *want)
{
    struct jsonw w;
    const char *got;

    jsonw_init(&w, 0, 256);
    jsonw_num(&w, v);
    got = jsonw_data(&w, NULL);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(got, want, "%s vs %s", got, want);
    jsonw_destroy(&w);
}

Test(json_writer, numbers_shortest_round_trip)
{
    check_num(1, "1");
    check_num(0.1, "0.1");
    check_num(1e300, "1e+300");
    check_num(-0.0, "-0");
    check_num(0.1 + 0.2, "0.30000000000000004");
    check_num(123.456, "123.456");
    check_num(5e-324, "4.94065645841247e-324");
    check_num(NAN, "null");
    check_num(INFINITY, "null");
    check_num(-INFINITY, "null");
}

Test(json_writer, numbers_round_trip_through_reader)
{
    const double vals[] = {
        1.0 / 3, 2.0 / 3, 1e-7, 123456789.123456789, -1.7976931348623157e308, 9007199254740993.0};

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        struct jsonw w;
        struct json_span sp;
        size_t len;
        double back = 0;
        const char *got;

        jsonw_init(&w, 0, 256);
        jsonw_num(&w, vals[i]);
        got = jsonw_data(&w, &len);
        cr_assert_eq(json_path_get(&(struct json_path){.n = 0}, got, len, &sp), 0, "%s", got);
        cr_assert_eq(json_span_number(&sp, &back), 0, "%s", got);
        cr_assert(back == vals[i], "%s read back as %.17g vs %.17g", got, back, vals[i]);
        jsonw_destroy(&w);
    }
}

Test(json_writer, integer_extremes)
{
    struct jsonw w;
    const char *want = "[-9223372036854775808,9223372036854775807,18446744073709551615,0]";

    jsonw_init(&w, 0, 256);
    jsonw_arr_begin(&w);
    jsonw_int(&w, INT64_MIN);
    jsonw_int(&w, INT64_MAX);
    jsonw_uint(&w, UINT64_MAX);
    jsonw_uint(&w, 0);
    jsonw_arr_end(&w);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(jsonw_data(&w, NULL), want, "%s vs %s", jsonw_data(&w, NULL), want);
    jsonw_destroy(&w);
}

Test(json_writer, raw_value_inserted)
{
    struct jsonw w;

    jsonw_init(&w, 0, 256);
    jsonw_arr_begin(&w);
    jsonw_raw(&w, "{\"x\":[1]}", 9);
    jsonw_str(&w, NULL);
    jsonw_arr_end(&w);
    cr_assert_eq(jsonw_error(&w), 0, "err %d", jsonw_error(&w));
    cr_assert_str_eq(jsonw_data(&w, NULL), "[{\"x\":[1]},null]");
    jsonw_destroy(&w);
}

/* Each misuse sequence must end with -EINVAL, and the error must be sticky. */
Test(json_writer, misuse_is_einval_and_sticky)
{
    struct jsonw w;
    size_t before;
    int e;

    /* key outside any object */
    jsonw_init(&w, 0, 256);
    jsonw_key(&w, "k");
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "key at top: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* key inside an array */
    jsonw_init(&w, 0, 256);
    jsonw_arr_begin(&w);
    jsonw_key(&w, "k");
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "key in array: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* value in an object without a key */
    jsonw_init(&w, 0, 256);
    jsonw_obj_begin(&w);
    jsonw_int(&w, 1);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "value without key: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* two keys in a row */
    jsonw_init(&w, 0, 256);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_key(&w, "b");
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "key after key: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* closing with a key pending */
    jsonw_init(&w, 0, 256);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_obj_end(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "end after key: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* wrong closer */
    jsonw_init(&w, 0, 256);
    jsonw_arr_begin(&w);
    jsonw_obj_end(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "mismatched end: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* unbalanced end */
    jsonw_init(&w, 0, 256);
    jsonw_arr_end(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "end at depth 0: %d vs %d", e, -EINVAL);
    jsonw_destroy(&w);

    /* a second top-level value; nothing more is written afterwards */
    jsonw_init(&w, 0, 256);
    jsonw_int(&w, 1);
    jsonw_int(&w, 2);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "second top-level value: %d vs %d", e, -EINVAL);
    jsonw_data(&w, &before);
    jsonw_arr_begin(&w);
    jsonw_str(&w, "more");
    size_t after;
    jsonw_data(&w, &after);
    cr_assert_eq(after, before, "sticky: len %zu vs %zu", after, before);
    cr_assert_eq(jsonw_error(&w), -EINVAL);
    jsonw_destroy(&w);
}

Test(json_writer, depth_limit)
{
    struct jsonw w;
    int i, e;

    jsonw_init(&w, 0, 4096);
    for (i = 0; i < JSONW_MAX_DEPTH; i++)
        jsonw_arr_begin(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, 0, "%d levels: err %d vs 0", JSONW_MAX_DEPTH, e);
    for (i = 0; i < JSONW_MAX_DEPTH; i++)
        jsonw_arr_end(&w);
    cr_assert_eq(jsonw_error(&w), 0);
    jsonw_destroy(&w);

    jsonw_init(&w, 0, 4096);
    for (i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_arr_begin(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, -EINVAL, "%d levels: err %d vs %d", JSONW_MAX_DEPTH + 1, e, -EINVAL);
    jsonw_destroy(&w);
}

Test(json_writer, cap_gives_e2big_and_stops)
{
    struct jsonw w;
    size_t len;
    int e, i;

    jsonw_init(&w, 0, 32);
    jsonw_arr_begin(&w);
    for (i = 0; i < 100; i++)
        jsonw_str(&w, "abcdef");
    jsonw_arr_end(&w);
    e = jsonw_error(&w);
    cr_assert_eq(e, -E2BIG, "err %d vs %d", e, -E2BIG);
    jsonw_data(&w, &len);
    cr_assert(len <= 32, "len %zu past the cap 32", len);
    jsonw_destroy(&w);
}

Test(json_writer, keys_are_escaped)
{
    struct jsonw w;
    const char *want = "{\"a\\\"b\\n\":1,\"x\\u0000y\":2}";

    jsonw_init(&w, 0, 256);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a\"b\n");
    jsonw_int(&w, 1);
    jsonw_keyn(&w, "x\0y", 3);
    jsonw_int(&w, 2);
    jsonw_obj_end(&w);
    cr_assert_eq(jsonw_error(&w), 0);
    cr_assert_str_eq(jsonw_data(&w, NULL), want, "%s vs %s", jsonw_data(&w, NULL), want);
    jsonw_destroy(&w);
}

Test(json_writer, strings_round_trip_through_reader)
{
    const char *vals[] = {"plain", "q\"b\\s/", "\x01\x02\n\x1f", "h\xc3\xa9 \xf0\x9f\x98\x80", ""};

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        struct jsonw w;
        char out[64];
        size_t len;
        const char *doc;
        struct json_span sp;
        int rc;

        jsonw_init(&w, 0, 256);
        jsonw_obj_begin(&w);
        jsonw_key(&w, vals[i]);
        jsonw_str(&w, vals[i]);
        jsonw_obj_end(&w);
        doc = jsonw_data(&w, &len);
        rc = json_get_member(doc, len, vals[i], &sp);
        cr_assert_eq(rc, 0, "member %zu in %s: %d", i, doc, rc);
        rc = json_span_text(&sp, out, sizeof(out));
        cr_assert_eq(rc, (int)strlen(vals[i]), "len %d vs %zu", rc, strlen(vals[i]));
        cr_assert_str_eq(out, vals[i]);
        jsonw_destroy(&w);
    }
}

/* ---- reader: validation ---------------------------------------------------------- */

static const char *valid_docs[] = {
    "{}",
    "[]",
    " 1 ",
    "\"a\"",
    "-0",
    "0",
    "0.5e-3",
    "1E+2",
    "-12.5E10",
    "true",
    "false",
    "null",
    "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\xc3\xa9\"",
    "\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"",
    " \t\r\n[ 1 , 2 ]\n",
    "[[[[]]]]",
    "{\"\":\"\"}",
    "\"\x7f\"",
    "\"\xf0\x9f\x98\x80\"",
    "[1e5,1.0e-5,0e0]",
};

struct bad_doc {
    const char *doc;
    size_t off; /* expected error offset, or SIZE_MAX for "any" */
};

static const struct bad_doc invalid_docs[] = {
    {"", 0},
    {"   ", 3},
    {"[1,]", 3},
    {"{\"a\":1,}", 7},
    {"01", 1},
    {"-01", 2},
    {"-", 1},
    {"1.", 2},
    {".5", 0},
    {"+1", 0},
    {"1e", 2},
    {"1e+", 3},
    {"\"\\x\"", 2},
    {"\"\\u12\"", SIZE_MAX},
    {"\"\\ud800\"", SIZE_MAX},
    {"\"\\udc00\"", SIZE_MAX},
    {"\"\\ud800\\u0041\"", SIZE_MAX},
    {"\"\\ud800x\"", SIZE_MAX},
    {"\"abc", 4},
    {"\"tab\there\"", 4},
    {"{\"a\" 1}", 5},
    {"{1:2}", 1},
    {"[1 2]", 3},
    {"nul", 3},
    {"truex", 4},
    {"1 2", 2},
    {"\"\xff\"", 1},
    {"\"\xc3\"", 1},
    {"\"\xed\xa0\x80\"", 1},
    {"NaN", 0},
    {"Infinity", 0},
    {"[", 1},
    {"]", 0},
    {"{", 1},
    {"{\"a\"}", 4},
    {"[1,,2]", 3},
    {"{\"a\":1 \"b\":2}", 7},
    {"'a'", 0},
};

Test(json_reader, valid_documents)
{
    for (size_t i = 0; i < sizeof(valid_docs) / sizeof(valid_docs[0]); i++) {
        size_t off = 0;
        int rc = validate_str(valid_docs[i], &off);
        cr_expect_eq(rc, 0, "doc %zu <%s>: rc %d at %zu, want 0", i, valid_docs[i], rc, off);
    }
}

Test(json_reader, invalid_documents)
{
    for (size_t i = 0; i < sizeof(invalid_docs) / sizeof(invalid_docs[0]); i++) {
        size_t off = 12345;
        int rc = validate_str(invalid_docs[i].doc, &off);
        cr_expect_eq(rc, JSON_EINVAL, "doc %zu <%s>: rc %d vs %d", i, invalid_docs[i].doc, rc,
                     JSON_EINVAL);
        if (invalid_docs[i].off != SIZE_MAX)
            cr_expect_eq(off, invalid_docs[i].off, "doc %zu <%s>: offset %zu vs %zu", i,
                         invalid_docs[i].doc, off, invalid_docs[i].off);
        else
            cr_expect(off <= strlen(invalid_docs[i].doc), "doc %zu: offset %zu", i, off);
    }
}

Test(json_reader, null_offset_pointer_allowed)
{
    cr_assert_eq(json_validate("[1,]", 4, NULL), JSON_EINVAL);
    cr_assert_eq(json_validate(NULL, 0, NULL), JSON_EINVAL);
}

static char *nested(int levels, size_t *len)
{
    char *s = malloc((size_t)levels * 2);

    cr_assert_not_null(s);
    memset(s, '[', (size_t)levels);
    memset(s + levels, ']', (size_t)levels);
    *len = (size_t)levels * 2;
    return s;
}

Test(json_reader, depth_64_ok_65_edepth)
{
    size_t len, off = 0;
    char *s;
    int rc;

    s = nested(JSON_MAX_DEPTH, &len);
    rc = json_validate(s, len, &off);
    cr_assert_eq(rc, 0, "64 levels: rc %d at %zu", rc, off);
    free(s);

    s = nested(JSON_MAX_DEPTH + 1, &len);
    rc = json_validate(s, len, &off);
    cr_assert_eq(rc, JSON_EDEPTH, "65 levels: rc %d vs %d", rc, JSON_EDEPTH);
    cr_assert_eq(off, 64, "offset %zu vs 64", off);
    free(s);

    /* Very deep input must not recurse without bound. */
    s = nested(100000, &len);
    rc = json_validate(s, len, NULL);
    cr_assert_eq(rc, JSON_EDEPTH, "deep: rc %d vs %d", rc, JSON_EDEPTH);
    {
        struct json_path p;
        struct json_span sp;
        json_path_compile("$[0][0][0]", &p, NULL, 0);
        rc = json_path_get(&p, s, len, &sp);
        cr_assert_eq(rc, JSON_EDEPTH, "deep path_get: rc %d vs %d", rc, JSON_EDEPTH);
    }
    free(s);
}

static const char truncation_doc[] =
    "{\"token\": \"abc\\u00e9\", \"items\": [{\"id\": 7, \"tags\": [\"x\", true, null]}, {\"id\": "
    "-2.5e1}],"
    " \"nested\": {\"deep\": {\"k\": [1, 2, {\"last\": \"\\ud83d\\ude00\"}]}}, \"n\": 0}";

Test(json_reader, every_truncated_prefix_is_invalid_or_found_earlier)
{
    const char *paths[] = {"$.token", "$.items[0].id", "$.items[1].id", "$.nested.deep.k[2].last",
                           "$.n",     "$.missing"};
    size_t n = sizeof(truncation_doc) - 1;
    struct json_span full[6];
    int full_rc[6];

    cr_assert_eq(json_validate(truncation_doc, n, NULL), 0);
    for (size_t j = 0; j < 6; j++) {
        struct json_path p;
        cr_assert_eq(json_path_compile(paths[j], &p, NULL, 0), 0);
        full_rc[j] = json_path_get(&p, truncation_doc, n, &full[j]);
    }
    cr_assert_eq(full_rc[5], JSON_ENOTFOUND, "missing: %d", full_rc[5]);
    for (size_t j = 0; j < 5; j++)
        cr_assert_eq(full_rc[j], 0, "%s: %d", paths[j], full_rc[j]);

    for (size_t k = 0; k < n; k++) {
        char *d = exact(truncation_doc, k);
        size_t off = SIZE_MAX;
        int rc = json_validate(d, k, &off);

        cr_assert_eq(rc, JSON_EINVAL, "prefix %zu: rc %d vs %d", k, rc, JSON_EINVAL);
        cr_assert(off <= k, "prefix %zu: error offset %zu past the end", k, off);
        for (size_t j = 0; j < 6; j++) {
            struct json_path p;
            struct json_span sp;
            json_path_compile(paths[j], &p, NULL, 0);
            rc = json_path_get(&p, d, k, &sp);
            if (rc == 0) {
                size_t at = (size_t)(sp.start - d);
                size_t full_at = (size_t)(full[j].start - truncation_doc);
                cr_assert(full_rc[j] == 0, "prefix %zu found %s which is missing", k, paths[j]);
                cr_assert_eq(at, full_at, "prefix %zu %s: at %zu vs %zu", k, paths[j], at, full_at);
                cr_assert_eq(sp.len, full[j].len, "prefix %zu %s: len %zu vs %zu", k, paths[j],
                             sp.len, full[j].len);
                cr_assert(at + sp.len <= k, "prefix %zu %s: span past the cut", k, paths[j]);
            } else {
                cr_assert_eq(rc, JSON_EINVAL, "prefix %zu %s: rc %d vs %d", k, paths[j], rc,
                             JSON_EINVAL);
            }
        }
        free(d);
    }
}

/* ---- reader: paths --------------------------------------------------------------- */

static const char api_doc[] =
    "{\"token\":\"t0k\",\"items\":[{\"id\":11,\"name\":\"a\"},{\"id\":22}],"
    "\"odd key\":\"sp\",\"a\\\"b\":\"quoted\",\"\\u00e9t\\u00e9\":\"summer\","
    "\"dup\":1,\"dup\":2,\"arr\":[10,20,30],\"o\":{\"p\":{\"q\":[[0,[1,2]]]}}}";

static void expect_text(const char *path, const char *doc, const char *want)
{
    char out[256];
    int rc = lookup(path, doc, out, sizeof(out), NULL);

    cr_assert_eq(rc, 0, "%s: rc %d vs 0", path, rc);
    cr_assert_str_eq(out, want, "%s: <%s> vs <%s>", path, out, want);
}

Test(json_path, lookups)
{
    expect_text("$.token", api_doc, "t0k");
    expect_text("$.items[0].id", api_doc, "11");
    expect_text("$.items[1].id", api_doc, "22");
    expect_text("$.items[0]", api_doc, "{\"id\":11,\"name\":\"a\"}");
    expect_text("$['odd key']", api_doc, "sp");
    expect_text("$[\"odd key\"]", api_doc, "sp");
    expect_text("$['a\"b']", api_doc, "quoted");
    expect_text("$[\"a\\\"b\"]", api_doc, "quoted");
    expect_text("$.\xc3\xa9t\xc3\xa9", api_doc, "summer");
    expect_text("$.dup", api_doc, "1");
    expect_text("$.arr[2]", api_doc, "30");
    expect_text("$.o.p.q[0][1][0]", api_doc, "1");
    expect_text("$['items'][1]['id']", api_doc, "22");
    expect_text("$[2]", "[\"a\", \"b\", \"c\"]", "c");
    expect_text("$", " [1, 2] ", "[1, 2]");
    expect_text("$.a", "{ \"a\" : \"x\" }", "x");
}

Test(json_path, span_types)
{
    struct json_span sp;
    const struct {
        const char *path;
        enum json_type type;
    } cases[] = {
        {"$.token", JSON_STRING},
        {"$.items", JSON_ARRAY},
        {"$.o", JSON_OBJECT},
        {"$.arr[0]", JSON_NUMBER},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = lookup(cases[i].path, api_doc, NULL, 0, &sp);
        cr_assert_eq(rc, 0, "%s: rc %d", cases[i].path, rc);
        cr_assert_eq(sp.type, cases[i].type, "%s: type %d vs %d", cases[i].path, sp.type,
                     cases[i].type);
    }
    cr_assert_eq(lookup("$.x", "{\"x\":true}", NULL, 0, &sp), 0);
    cr_assert_eq(sp.type, JSON_TRUE, "type %d", sp.type);
    cr_assert_eq(lookup("$.x", "{\"x\":false}", NULL, 0, &sp), 0);
    cr_assert_eq(sp.type, JSON_FALSE, "type %d", sp.type);
    cr_assert_eq(lookup("$.x", "{\"x\":null}", NULL, 0, &sp), 0);
    cr_assert_eq(sp.type, JSON_NULL, "type %d", sp.type);
}

Test(json_path, not_found)
{
    const char *paths[] = {
        "$.nope",     "$.items[2]", "$.items[0].nope", "$.token.x",        "$.token[0]",
        "$.items.id", "$[0]",       "$.arr[3]",        "$.o.p.q[0][1][2]", "$.Token"};

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int rc = lookup(paths[i], api_doc, NULL, 0, NULL);
        cr_expect_eq(rc, JSON_ENOTFOUND, "%s: rc %d vs %d", paths[i], rc, JSON_ENOTFOUND);
    }
    cr_assert_eq(lookup("$.a", "{}", NULL, 0, NULL), JSON_ENOTFOUND);
    cr_assert_eq(lookup("$[0]", "[]", NULL, 0, NULL), JSON_ENOTFOUND);
    cr_assert_eq(lookup("$.a", "[1]", NULL, 0, NULL), JSON_ENOTFOUND);
}

Test(json_path, malformed_documents)
{
    /* The skipped member is broken. */
    cr_expect_eq(lookup("$.b", "{\"a\":[1,,2],\"b\":1}", NULL, 0, NULL), JSON_EINVAL);
    /* Not found, and the document is broken after the point where the search gave up. */
    cr_expect_eq(lookup("$.b", "{\"a\":1", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$.a.z", "{\"a\":{},\"b\":tru}", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$.a", "[1,]", NULL, 0, NULL), JSON_EINVAL);
    /* The found value itself is broken. */
    cr_expect_eq(lookup("$.a", "{\"a\":[1,]}", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$.a", "{\"a\":\"\\q\"}", NULL, 0, NULL), JSON_EINVAL);
    /* Damage after the found value is not looked at. */
    cr_expect_eq(lookup("$.a", "{\"a\":1, garbage", NULL, 0, NULL), 0);
    cr_expect_eq(lookup("$", "", NULL, 0, NULL), JSON_EINVAL);
    /* The found value must be followed by ',' or the closer ("-2" of "-2.5" is not whole). */
    cr_expect_eq(lookup("$.a", "{\"a\":-2", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$[0]", "[12", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$[0]", "[12 x", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$", "12 x", NULL, 0, NULL), JSON_EINVAL);
    cr_expect_eq(lookup("$[0]", "[12 ,", NULL, 0, NULL), 0);
}

Test(json_path, get_member)
{
    struct json_span sp;
    char out[32];
    size_t n = strlen(api_doc);
    int rc;

    rc = json_get_member(api_doc, n, "token", &sp);
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert_eq(json_span_text(&sp, out, sizeof(out)), 3);
    cr_assert_str_eq(out, "t0k");
    rc = json_get_member(api_doc, n, "odd key", &sp);
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = json_get_member(api_doc, n, "id", &sp); /* not at the top level */
    cr_assert_eq(rc, JSON_ENOTFOUND, "rc %d vs %d", rc, JSON_ENOTFOUND);
    rc = json_get_member("{\"a\":1,}", 8, "b", &sp);
    cr_assert_eq(rc, JSON_EINVAL, "rc %d vs %d", rc, JSON_EINVAL);
}

Test(json_path, compile_shapes)
{
    struct json_path p;
    char err[128];

    cr_assert_eq(json_path_compile("$", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(p.n, 0, "n %zu", p.n);
    cr_assert_eq(json_path_compile("$.items[12].id", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(p.n, 3, "n %zu", p.n);
    cr_assert(!p.segs[0].is_index);
    cr_assert_str_eq(p.segs[0].key, "items");
    cr_assert_eq(p.segs[0].key_len, 5, "len %zu", p.segs[0].key_len);
    cr_assert(p.segs[1].is_index);
    cr_assert_eq(p.segs[1].index, 12, "index %zu", p.segs[1].index);
    cr_assert_str_eq(p.segs[2].key, "id");
    cr_assert_eq(json_path_compile("$['it\\'s']", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(p.segs[0].key, "it's");
    cr_assert_eq(json_path_compile("$['']", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(p.segs[0].key_len, 0, "len %zu", p.segs[0].key_len);
}

Test(json_path, compile_errors_name_column)
{
    const struct {
        const char *path;
        const char *msg;
    } cases[] = {
        {"", "column 1: expected '$' at the start of the path"},
        {"a.b", "column 1: expected '$' at the start of the path"},
        {"$.", "column 3: expected a key name after '.'"},
        {"$a", "column 2: expected '.' or '['"},
        {"$.a..b", "column 5: expected a key name after '.'"},
        {"$[", "column 3: expected an array index or a quoted key after '['"},
        {"$[x]", "column 3: expected an array index or a quoted key after '['"},
        {"$[1", "column 4: expected ']'"},
        {"$['abc", "column 7: expected a closing ' quote"},
        {"$['a\\b']", "column 6: expected \\\\, \\' or \\\" after a backslash"},
        {"$[99999999999999999999999]", "column 22: expected a smaller array index"},
        {"$.a b", "column 4: expected '.' or '['"},
    };
    struct json_path p;
    char err[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = json_path_compile(cases[i].path, &p, err, sizeof(err));
        cr_expect_eq(rc, -1, "<%s>: rc %d vs -1", cases[i].path, rc);
        cr_expect_str_eq(err, cases[i].msg, "<%s>: <%s> vs <%s>", cases[i].path, err, cases[i].msg);
    }
    cr_assert_eq(json_path_compile(NULL, &p, NULL, 0), -1);
}

Test(json_path, compile_limits)
{
    struct json_path p;
    char path[256], err[128];
    int rc;

    /* 16 segments fit, 17 do not. */
    strcpy(path, "$");
    for (int i = 0; i < JSON_PATH_MAX_SEGS; i++)
        strcat(path, "[0]");
    rc = json_path_compile(path, &p, err, sizeof(err));
    cr_assert_eq(rc, 0, "16 segments: %s", err);
    strcat(path, ".x");
    rc = json_path_compile(path, &p, err, sizeof(err));
    cr_assert_eq(rc, -1, "17 segments: rc %d", rc);
    cr_assert(strstr(err, "column 50") != NULL, "%s", err);

    /* 63-byte keys fit, 64 do not. */
    strcpy(path, "$.");
    memset(path + 2, 'k', 63);
    path[65] = '\0';
    rc = json_path_compile(path, &p, err, sizeof(err));
    cr_assert_eq(rc, 0, "63-byte key: %s", err);
    cr_assert_eq(p.segs[0].key_len, 63, "len %zu", p.segs[0].key_len);
    strcat(path, "k");
    rc = json_path_compile(path, &p, err, sizeof(err));
    cr_assert_eq(rc, -1, "64-byte key: rc %d", rc);

    /* Small error buffers are truncated, not overrun. */
    rc = json_path_compile("x", &p, err, 5);
    cr_assert_eq(rc, -1);
    cr_assert_str_eq(err, "colu");
}

/* ---- reader: conversions --------------------------------------------------------- */

static struct json_span span_of(enum json_type t, const char *s)
{
    struct json_span sp = {.type = t, .start = s, .len = strlen(s)};

    return sp;
}

Test(json_span, text_unescapes_strings)
{
    char out[64];
    struct json_span sp;
    int rc;

    sp = span_of(JSON_STRING, "\"a\\nb\\t\\\"\\\\\\/\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 7, "rc %d vs 7", rc);
    cr_assert_str_eq(out, "a\nb\t\"\\/");

    sp = span_of(JSON_STRING, "\"\\u00e9\\u20AC\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 5, "rc %d vs 5", rc);
    cr_assert_str_eq(out, "\xc3\xa9\xe2\x82\xac");

    sp = span_of(JSON_STRING, "\"\\ud83d\\ude00!\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 5, "rc %d vs 5", rc);
    cr_assert_str_eq(out, "\xf0\x9f\x98\x80!");

    sp = span_of(JSON_STRING, "\"\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 0, "rc %d vs 0", rc);
    cr_assert_str_eq(out, "");
}

Test(json_span, text_of_other_types_is_raw)
{
    char out[64];
    struct json_span sp;
    int rc;

    sp = span_of(JSON_NUMBER, "-1.5e3");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 6, "rc %d", rc);
    cr_assert_str_eq(out, "-1.5e3");
    sp = span_of(JSON_OBJECT, "{\"a\": [1]}");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_str_eq(out, "{\"a\": [1]}");
    sp = span_of(JSON_TRUE, "true");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 4, "rc %d", rc);
}

Test(json_span, text_too_small_and_bad_escapes)
{
    char out[4];
    struct json_span sp;
    int rc;

    sp = span_of(JSON_STRING, "\"abc\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, 3, "exact fit: rc %d vs 3", rc);
    sp = span_of(JSON_STRING, "\"abcd\"");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    cr_assert_str_eq(out, "");
    sp = span_of(JSON_STRING, "\"\\u00e9\\u00e9\""); /* 4 bytes of UTF-8 + NUL */
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    sp = span_of(JSON_NUMBER, "12345");
    rc = json_span_text(&sp, out, sizeof(out));
    cr_assert_eq(rc, -E2BIG, "rc %d vs %d", rc, -E2BIG);
    rc = json_span_text(&sp, NULL, 0);
    cr_assert_eq(rc, -E2BIG, "cap 0: rc %d vs %d", rc, -E2BIG);

    const char *bad[] = {
        "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\\\"",
        "\"",      "x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char big[32];
        sp = span_of(JSON_STRING, bad[i]);
        rc = json_span_text(&sp, big, sizeof(big));
        cr_expect_eq(rc, JSON_EINVAL, "<%s>: rc %d vs %d", bad[i], rc, JSON_EINVAL);
    }
}

Test(json_span, numbers)
{
    const struct {
        enum json_type t;
        const char *s;
        int rc;
        double v;
    } cases[] = {
        {JSON_NUMBER, "42", 0, 42},
        {JSON_NUMBER, "-1.5e3", 0, -1500},
        {JSON_NUMBER, "0", 0, 0},
        {JSON_STRING, "\"123\"", 0, 123},
        {JSON_STRING, "\"-0.25\"", 0, -0.25},
        {JSON_STRING, "\"abc\"", JSON_EINVAL, 0},
        {JSON_STRING, "\"12x\"", JSON_EINVAL, 0},
        {JSON_STRING, "\" 12\"", JSON_EINVAL, 0},
        {JSON_STRING, "\"\"", JSON_EINVAL, 0},
        {JSON_STRING, "\"0x10\"", JSON_EINVAL, 0},
        {JSON_TRUE, "true", JSON_EINVAL, 0},
        {JSON_NULL, "null", JSON_EINVAL, 0},
        {JSON_NUMBER, "1.", JSON_EINVAL, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_span sp = span_of(cases[i].t, cases[i].s);
        double v = -999;
        int rc = json_span_number(&sp, &v);
        cr_expect_eq(rc, cases[i].rc, "<%s>: rc %d vs %d", cases[i].s, rc, cases[i].rc);
        if (rc == 0 && cases[i].rc == 0)
            cr_expect(v == cases[i].v, "<%s>: %g vs %g", cases[i].s, v, cases[i].v);
    }
}

Test(json_span, number_from_lookup)
{
    const char doc[] = "{\"n\": 2.5e2, \"s\": \"-7\"}";
    struct json_span sp;
    double v = 0;
    int rc;

    rc = json_get_member(doc, sizeof(doc) - 1, "n", &sp);
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = json_span_number(&sp, &v);
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(v == 250, "%g vs 250", v);
    rc = json_get_member(doc, sizeof(doc) - 1, "s", &sp);
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = json_span_number(&sp, &v);
    cr_assert_eq(rc, 0, "rc %d", rc);
    cr_assert(v == -7, "%g vs -7", v);
}

Test(json_misc, strerror_names)
{
    cr_assert_str_eq(json_strerror(JSON_ENOTFOUND), "no value at that path");
    cr_assert_str_eq(json_strerror(JSON_EINVAL), "malformed JSON");
    cr_assert_str_eq(json_strerror(JSON_EDEPTH), "JSON nested too deeply");
    cr_assert_str_eq(json_strerror(-99), "unknown error");
}

Test(json_escape, the_one_escaper_both_replacements)
{
    struct dynbuf b;
    dynbuf_init(&b, 1024);
    cr_assert_eq(json_escape(&b,
                             "a\"\\\n\x01"
                             "caf\xc3\xa9\xff",
                             11, false),
                 0);
    cr_expect_str_eq(b.data, "a\\\"\\\\\\n\\u0001caf\xc3\xa9\xef\xbf\xbd");
    dynbuf_reset(&b);
    cr_assert_eq(json_escape(&b, "x\xff", 2, true), 0);
    cr_expect_str_eq(b.data, "x\\ufffd");
    dynbuf_destroy(&b);
    struct dynbuf small;
    dynbuf_init(&small, 3);
    cr_expect_eq(json_escape(&small, "\n\n\n", 3, false), -E2BIG);
    dynbuf_destroy(&small);
}

/* For a <script> element (the HTML report's data): < > & escaped as well, nothing else
 * changes, and no "</script" survives. */
Test(json_escape, script_flag_escapes_markup)
{
    struct dynbuf b;
    dynbuf_init(&b, 1024);
    const char *s = "</script>&\"x\n";
    cr_assert_eq(json_escape(&b, s, strlen(s), JSON_ESC_SCRIPT), 0);
    cr_expect_str_eq(b.data, "\\u003c/script\\u003e\\u0026\\\"x\\n");
    dynbuf_destroy(&b);
}

Test(json_iter, walks_arrays_and_objects_once)
{
    const char *doc = "{\"a\": [1, \"x\", {\"k\": null}], \"b\" : true, \"\": []}";
    struct json_span root = {.type = JSON_OBJECT, .start = doc, .len = strlen(doc)};
    struct json_span k, v;
    size_t pos = 0;
    const char *keys[] = {"a", "b", ""};
    int n = 0;
    while (json_iter_next(&root, &pos, &k, &v) == 1) {
        cr_assert(n < 3);
        cr_assert(json_span_is(&k, keys[n]), "key %d: %.*s", n, (int)k.len, k.start);
        if (n == 0) {
            struct json_span e;
            size_t p2 = 0;
            int m = 0;
            enum json_type want[] = {JSON_NUMBER, JSON_STRING, JSON_OBJECT};
            while (json_iter_next(&v, &p2, NULL, &e) == 1) {
                cr_assert_eq(e.type, want[m]);
                m++;
            }
            cr_assert_eq(m, 3);
        }
        if (n == 2) {
            size_t p3 = 0;
            cr_assert_eq(json_iter_next(&v, &p3, NULL, &k), 0, "empty array");
        }
        n++;
    }
    cr_assert_eq(n, 3);
    cr_assert_eq(json_iter_next(&root, &pos, &k, &v), 0, "stays at the end");
}

Test(json_iter, refuses_malformed_containers)
{
    const char *bad[] = {"[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "[", "{1:2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json_span c = {.type = bad[i][0] == '[' ? JSON_ARRAY : JSON_OBJECT,
                              .start = bad[i],
                              .len = strlen(bad[i])};
        struct json_span k, v;
        size_t pos = 0;
        int rc;
        while ((rc = json_iter_next(&c, &pos, &k, &v)) == 1) {
        }
        cr_assert_lt(rc, 0, "%s: rc %d", bad[i], rc);
    }
    struct json_span num = {.type = JSON_NUMBER, .start = "1", .len = 1};
    size_t pos = 0;
    struct json_span v;
    cr_assert_eq(json_iter_next(&num, &pos, NULL, &v), JSON_EINVAL, "not a container");
}
