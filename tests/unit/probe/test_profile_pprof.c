/*
 * Unit tests for probe/pprof's decoder: a profile built here with libprotobuf-c (so the
 * test knows every field), gzipped with zlib, decoded into stacks: leaf-first locations
 * turned root-first, inlined lines (the last one is the caller) as frames, the value type
 * chosen by name or by default, negative values skipped, unknown ids as "[unknown]",
 * the raw protobuf accepted, and corrupt input refused with one line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "probe/pprof.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Pb;

static char *strings[] = {"",     "samples", "count", "cpu",     "nanoseconds", "main",
                          "work", "inlined", "a.go",  "libx.so", "default"};

/* A CPU profile: main -> work (with "inlined" inlined into work) and main alone. */
static uint8_t *build(size_t *len, bool gzip, int64_t default_type)
{
    static Perftools__Profiles__ValueType vt[2], pt;
    static Perftools__Profiles__ValueType *vts[2];
    static Perftools__Profiles__Function fn[3], *fns[3];
    static Perftools__Profiles__Line ln[3], *l1[2], *l2[1];
    static Perftools__Profiles__Location loc[3], *locs[3];
    static Perftools__Profiles__Mapping map, *maps[1];
    static Perftools__Profiles__Sample sm[4], *sms[4];
    static uint64_t ids0[2] = {1, 2}, ids1[1] = {2}, ids2[1] = {99}, ids3[1] = {3};
    static int64_t v0[2] = {3, 30000000}, v1[2] = {1, 10000000}, v2[2] = {1, -5},
                   v3[2] = {2, 20000000};
    Pb pr = PERFTOOLS__PROFILES__PROFILE__INIT;
    for (int i = 0; i < 2; i++) {
        perftools__profiles__value_type__init(&vt[i]);
        vts[i] = &vt[i];
    }
    vt[0].type = 1, vt[0].unit = 2, vt[1].type = 3, vt[1].unit = 4;
    perftools__profiles__value_type__init(&pt);
    pt.type = 3, pt.unit = 4;
    for (int i = 0; i < 3; i++) {
        perftools__profiles__function__init(&fn[i]);
        fns[i] = &fn[i];
        fn[i].id = 10 + (uint64_t)i;
        fn[i].name = 5 + i;
        fn[i].filename = 8;
        perftools__profiles__line__init(&ln[i]);
        perftools__profiles__location__init(&loc[i]);
        locs[i] = &loc[i];
    }
    ln[0].function_id = 12, ln[0].line = 7;  /* inlined, innermost first */
    ln[1].function_id = 11, ln[1].line = 20; /* work, its caller */
    ln[2].function_id = 10, ln[2].line = 3;  /* main */
    l1[0] = &ln[0], l1[1] = &ln[1], l2[0] = &ln[2];
    loc[0].id = 1, loc[0].n_line = 2, loc[0].line = l1;
    loc[1].id = 2, loc[1].n_line = 1, loc[1].line = l2;
    perftools__profiles__mapping__init(&map);
    map.id = 1, map.filename = 9, maps[0] = &map;
    loc[2].id = 3, loc[2].mapping_id = 1; /* no lines: unsymbolised, in libx.so */
    int64_t *vals[4] = {v0, v1, v2, v3};
    uint64_t *ids[4] = {ids0, ids1, ids2, ids3};
    size_t nids[4] = {2, 1, 1, 1};
    for (int i = 0; i < 4; i++) {
        perftools__profiles__sample__init(&sm[i]);
        sms[i] = &sm[i];
        sm[i].n_location_id = nids[i], sm[i].location_id = ids[i];
        sm[i].n_value = 2, sm[i].value = vals[i];
    }
    /* sample 2 names location 99 (no such location) and has a negative cpu value */
    pr.n_sample_type = 2, pr.sample_type = vts;
    pr.n_sample = 4, pr.sample = sms;
    pr.n_location = 3, pr.location = locs;
    pr.n_function = 3, pr.function = fns;
    pr.n_mapping = 1, pr.mapping = maps;
    pr.n_string_table = sizeof strings / sizeof strings[0], pr.string_table = strings;
    pr.period_type = &pt, pr.period = 10000000;
    pr.default_sample_type = default_type;
    size_t n = perftools__profiles__profile__get_packed_size(&pr);
    uint8_t *raw = malloc(n);
    perftools__profiles__profile__pack(&pr, raw);
    if (!gzip) {
        *len = n;
        return raw;
    }
    z_stream z = {0};
    uLong cap = compressBound(n) + 64;
    uint8_t *gz = malloc(cap);
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = raw, z.avail_in = (uInt)n, z.next_out = gz, z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = z.total_out;
    deflateEnd(&z);
    free(raw);
    return gz;
}

static char *folded(struct flame *fg)
{
    struct dynbuf b;
    dynbuf_init(&b, 1 << 20);
    cr_assert_eq(flame_write_folded(fg, &b), 0);
    return b.data;
}

Test(pprof, decodes_a_gzipped_cpu_profile_root_first_with_inlined_frames)
{
    size_t len;
    uint8_t *gz = build(&len, true, 0);
    struct flame *fg = flame_new();
    struct pprof_info info;
    char err[256] = "";
    int n = pprof_decode(gz, len, NULL, fg, &info, err, sizeof err);
    cr_assert_eq(n, 3, "stacks %d (%s)", n, err); /* the negative one is skipped */
    cr_assert_str_eq(info.sample_type, "cpu");
    cr_assert_str_eq(info.unit, "nanoseconds");
    cr_assert_eq(info.period, 10000000);
    cr_assert_eq(info.samples, 4);
    cr_assert_eq(info.negative, 1);
    cr_assert_eq(info.counted, 7, "counted %llu", (unsigned long long)info.counted);
    cr_assert_str_eq(flame_unit(fg), "nanoseconds");
    char *f = folded(fg);
    cr_assert_str_eq(f, "[libx.so] 20000000\nmain 10000000\nmain;work;inlined 30000000\n",
                     "got:\n%s", f);
    free(f);
    flame_free(fg);
    free(gz);
}

Test(pprof, picks_the_value_by_name_or_default_and_takes_raw_protobuf)
{
    size_t len;
    uint8_t *raw = build(&len, false, 1 /* "samples" */);
    struct flame *fg = flame_new();
    char err[256] = "";
    cr_assert_eq(pprof_decode(raw, len, NULL, fg, NULL, err, sizeof err), 4, "%s", err);
    cr_assert_eq(flame_total(fg), 7, "default samples/count: %llu",
                 (unsigned long long)flame_total(fg));
    flame_free(fg);
    fg = flame_new();
    cr_assert_eq(pprof_decode(raw, len, "cpu", fg, NULL, err, sizeof err), 3, "%s", err);
    cr_assert_eq(flame_total(fg), 60000000);
    flame_free(fg);
    fg = flame_new();
    cr_assert_eq(pprof_decode(raw, len, "inuse_space", fg, NULL, err, sizeof err), -ENOENT);
    cr_assert(strstr(err, "inuse_space") != NULL, "%s", err);
    flame_free(fg);
    free(raw);
}

Test(pprof, an_unknown_location_is_unknown_not_invented)
{
    size_t len;
    uint8_t *raw = build(&len, false, 1);
    struct flame *fg = flame_new();
    char err[256];
    pprof_decode(raw, len, "samples", fg, NULL, err, sizeof err);
    char *f = folded(fg);
    cr_assert(strstr(f, "[unknown] 1\n") != NULL, "got:\n%s", f);
    free(f);
    flame_free(fg);
    free(raw);
}

Test(pprof, refuses_corrupt_input_with_one_line)
{
    size_t len;
    uint8_t *gz = build(&len, true, 0);
    struct flame *fg = flame_new();
    char err[256] = "";
    /* a truncated gzip stream */
    int rc = pprof_decode(gz, len / 2, NULL, fg, NULL, err, sizeof err);
    cr_assert_eq(rc, -EINVAL, "rc %d", rc);
    cr_assert(strstr(err, "gzip") != NULL && strchr(err, '\n') == NULL, "%s", err);
    /* not a protobuf Profile */
    static const char junk[] = "\xff\xff\xff\xff not a profile";
    rc = pprof_decode(junk, sizeof junk - 1, NULL, fg, NULL, err, sizeof err);
    cr_assert_eq(rc, -EINVAL);
    cr_assert(strstr(err, "not a pprof profile") != NULL, "%s", err);
    /* empty: no string table */
    rc = pprof_decode("", 0, NULL, fg, NULL, err, sizeof err);
    cr_assert_eq(rc, -EINVAL);
    cr_assert_eq(flame_total(fg), 0);
    flame_free(fg);
    free(gz);
}

Test(pprof, gunzip_caps_the_output)
{
    static char big[1 << 16];
    memset(big, 'a', sizeof big);
    uLong cap = compressBound(sizeof big);
    uint8_t *z = malloc(cap);
    cr_assert_eq(compress2(z, &cap, (const Bytef *)big, sizeof big, 9), Z_OK);
    struct dynbuf out;
    dynbuf_init(&out, 1000);
    cr_assert_eq(pprof_gunzip(z, cap, &out), -E2BIG);
    dynbuf_destroy(&out);
    dynbuf_init(&out, 1 << 20);
    cr_assert_eq(pprof_gunzip(z, cap, &out), 0);
    cr_assert_eq(out.len, sizeof big);
    dynbuf_destroy(&out);
    free(z);
}

/* runtime.asyncPreempt as the leaf (Go's asynchronous preemption): its weight goes to the
 * function it interrupted, and is counted; a stack of it alone is kept as it is. */
Test(pprof, folds_async_preempt_into_the_interrupted_function)
{
    strings[7] = "runtime.asyncPreempt"; /* the leaf of main;work;... (this process only) */
    size_t len;
    uint8_t *gz = build(&len, true, 0);
    struct flame *fg = flame_new();
    struct pprof_info info;
    char err[256] = "";
    int n = pprof_decode(gz, len, NULL, fg, &info, err, sizeof err);
    cr_assert_eq(n, 3, "stacks %d (%s)", n, err);
    cr_assert_eq(info.preempt_folded, 30000000, "folded %llu",
                 (unsigned long long)info.preempt_folded);
    char *f = folded(fg);
    cr_assert_str_eq(f, "[libx.so] 20000000\nmain 10000000\nmain;work 30000000\n", "got:\n%s", f);
    free(f);
    flame_free(fg);
    free(gz);
}
