/*
 * libFuzzer target for core/json.
 *
 * 1. The input as a document: json_validate, json_path_get with a few fixed paths,
 *    json_span_text and json_span_number on what is found.  The answers must agree:
 *    a document that validates never yields JSON_EINVAL from a lookup, JSON_ENOTFOUND
 *    only comes from a valid document, found spans lie inside the input, and a found
 *    string always unescapes.
 * 2. The input as a path: json_path_compile, then a lookup in a fixed document.
 * 3. A round trip: a document written by jsonw from values cut out of the input
 *    (arbitrary bytes as keys and strings, integers, doubles including NaN, nesting)
 *    must validate.
 *
 * Built by scripts/fuzz.sh with clang -fsanitize=fuzzer,address,undefined; seeds in
 * tests/fuzz/corpus/json/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static const char *const fixed_paths[] = {
    "$", "$.token", "$.items[0].id", "$[1]", "$['a b'][0]", "$.a.b.c",
};

static const char fixed_doc[] =
    "{\"token\":\"t\",\"items\":[{\"id\":1},{\"id\":\"2\"}],\"a b\":[true],"
    "\"a\":{\"b\":{\"c\":null}},\"\\u00e9\":[[[0]]]}";

static void check_span(const struct json_span *sp, const uint8_t *data, size_t size)
{
    char text[256];
    double num;
    int rc;

    if ((const uint8_t *)sp->start < data || sp->len > size ||
        (const uint8_t *)sp->start + sp->len > data + size)
        abort();
    if (sp->len == 0)
        abort();
    rc = json_span_text(sp, text, sizeof(text));
    if (sp->type == JSON_STRING && rc == JSON_EINVAL)
        abort(); /* a validated string must unescape */
    if (rc >= 0 && (size_t)rc >= sizeof(text))
        abort();
    (void)json_span_number(sp, &num);
}

static void fuzz_document(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    size_t off = SIZE_MAX;
    int vrc = json_validate(doc, size, &off);

    if (vrc != 0 && off > size)
        abort();
    for (size_t i = 0; i < sizeof(fixed_paths) / sizeof(fixed_paths[0]); i++) {
        struct json_path p;
        struct json_span sp;
        int rc;

        if (json_path_compile(fixed_paths[i], &p, NULL, 0) != 0)
            abort();
        rc = json_path_get(&p, doc, size, &sp);
        if (vrc == 0 && rc != 0 && rc != JSON_ENOTFOUND)
            abort(); /* a valid document cannot be malformed for a lookup */
        if (rc == JSON_ENOTFOUND && vrc != 0)
            abort(); /* "not found" is only said of valid documents */
        if (i == 0 && (rc == 0) != (vrc == 0))
            abort(); /* "$" is the whole document */
        if (rc == 0)
            check_span(&sp, data, size);
    }
}

static void fuzz_path(const uint8_t *data, size_t size)
{
    char path[128], err[96];
    struct json_path p;
    struct json_span sp;
    size_t n = size < sizeof(path) - 1 ? size : sizeof(path) - 1;

    memcpy(path, data, n);
    path[n] = '\0';
    if (json_path_compile(path, &p, err, sizeof(err)) == 0) {
        if (p.n > JSON_PATH_MAX_SEGS)
            abort();
        if (json_path_get(&p, fixed_doc, sizeof(fixed_doc) - 1, &sp) == 0)
            check_span(&sp, (const uint8_t *)fixed_doc, sizeof(fixed_doc) - 1);
    } else if (strncmp(err, "column ", 7) != 0) {
        abort();
    }
}

/* Takes up to n bytes from the input cursor. */
static size_t take(const uint8_t **p, const uint8_t *end, size_t n)
{
    size_t k = (size_t)(end - *p);

    if (k > n)
        k = n;
    *p += k;
    return k;
}

static void fuzz_round_trip(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct jsonw w;
    int depth = 0, err;
    size_t len;
    const char *out;

    jsonw_init(&w, (size & 1) ? 2 : 0, 1 << 20);
    jsonw_arr_begin(&w);
    while (p < end) {
        uint8_t op = *p++;
        const uint8_t *s = p;
        size_t k;
        int64_t iv = 0;
        double dv = 0;

        switch (op % 8) {
        case 0:
            k = take(&p, end, op / 8);
            jsonw_strn(&w, (const char *)s, k);
            break;
        case 1:
            k = take(&p, end, op / 8);
            jsonw_obj_begin(&w);
            jsonw_keyn(&w, (const char *)s, k);
            s = p;
            k = take(&p, end, 4);
            jsonw_strn(&w, (const char *)s, k);
            jsonw_obj_end(&w);
            break;
        case 2:
            k = take(&p, end, sizeof(iv));
            memcpy(&iv, s, k);
            jsonw_int(&w, iv);
            jsonw_uint(&w, (uint64_t)iv);
            break;
        case 3:
            k = take(&p, end, sizeof(dv));
            memcpy(&dv, s, k);
            jsonw_num(&w, dv);
            break;
        case 4:
            if (depth < 40) {
                jsonw_arr_begin(&w);
                depth++;
            }
            break;
        case 5:
            if (depth > 0) {
                jsonw_arr_end(&w);
                depth--;
            }
            break;
        case 6:
            jsonw_bool(&w, op & 8);
            jsonw_null(&w);
            break;
        default:
            jsonw_obj_begin(&w);
            jsonw_obj_end(&w);
            break;
        }
    }
    while (depth-- > 0)
        jsonw_arr_end(&w);
    jsonw_arr_end(&w);
    err = jsonw_error(&w);
    out = jsonw_data(&w, &len);
    if (err != 0 && err != -E2BIG)
        abort();
    if (err == 0 && json_validate(out, len, NULL) != 0)
        abort();
    jsonw_destroy(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input is used three ways; a copy in an exact-size block catches over-reads. */
    uint8_t *copy = malloc(size ? size : 1);

    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    fuzz_document(copy, size);
    fuzz_path(copy, size);
    fuzz_round_trip(copy, size);
    free(copy);
    return 0;
}
