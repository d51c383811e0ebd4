/*
 * Unit tests for analysis/flame: the trie's self and total weights, folded output and
 * its parser (round trip, malformed lines), top-N with recursion counted once, the
 * sanitising of names, the caps, and that the SVG and speedscope outputs carry every
 * frame and are well-formed enough to parse.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "analysis/flame.h"

static void add3(struct flame *fg, const char *a, const char *b, const char *c, uint64_t w)
{
    struct flame_frame f[3] = {{.name = a}, {.name = b}, {.name = c}};
    size_t n = c != NULL ? 3 : b != NULL ? 2 : 1;
    int rc = flame_add(fg, f, n, w);
    cr_assert_eq(rc, 0, "flame_add rc %d", rc);
}

Test(flame, folded_lists_each_stack_once_sorted)
{
    struct flame *fg = flame_new();
    struct dynbuf out;
    dynbuf_init(&out, 1 << 20);
    add3(fg, "main", "work", "burn", 7);
    add3(fg, "main", "idle", NULL, 2);
    add3(fg, "main", "work", "burn", 3);
    add3(fg, "main", "work", NULL, 1);
    cr_assert_eq(flame_total(fg), 13, "total %llu", (unsigned long long)flame_total(fg));
    cr_assert_eq(flame_write_folded(fg, &out), 0);
    cr_assert_str_eq(out.data, "main;idle 2\nmain;work 1\nmain;work;burn 10\n");
    dynbuf_destroy(&out);
    flame_free(fg);
}

Test(flame, folded_round_trips_through_the_parser)
{
    struct flame *fg = flame_new(), *back = flame_new();
    struct dynbuf a, b;
    char err[128] = "";
    dynbuf_init(&a, 1 << 20);
    dynbuf_init(&b, 1 << 20);
    add3(fg, "main", "a;b", "c\nd", 5); /* ';' and newline in names are rewritten */
    add3(fg, "x", NULL, NULL, 1);
    cr_assert_eq(flame_write_folded(fg, &a), 0);
    cr_assert_str_eq(a.data, "main;a:b;c d 5\nx 1\n");
    int n = flame_parse_folded(back, a.data, a.len, err, sizeof err);
    cr_assert_eq(n, 2, "parsed %d (%s)", n, err);
    cr_assert_eq(flame_write_folded(back, &b), 0);
    cr_assert_str_eq(a.data, b.data);
    dynbuf_destroy(&a);
    dynbuf_destroy(&b);
    flame_free(fg);
    flame_free(back);
}

Test(flame, parser_names_the_bad_line)
{
    static const char *bad[] = {"a;b\n", "a;b x\n", "a;;b 3\n", " 3\n",
                                "a;b 99999999999999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct flame *fg = flame_new();
        char text[64], err[128] = "";
        int len = snprintf(text, sizeof text, "ok 1\n\n%s", bad[i]);
        int rc = flame_parse_folded(fg, text, (size_t)len, err, sizeof err);
        cr_assert_eq(rc, -EINVAL, "'%s': rc %d", bad[i], rc);
        cr_assert(strncmp(err, "line 3: ", 8) == 0, "'%s': err '%s'", bad[i], err);
        cr_assert_eq(flame_total(fg), 1, "the good line before stays");
        flame_free(fg);
    }
}

Test(flame, top_counts_self_and_total_with_recursion_once)
{
    struct flame *fg = flame_new();
    struct flame_top top[8];
    add3(fg, "main", "rec", "rec", 4); /* rec is twice on the path: total counts 4, not 8 */
    add3(fg, "main", "rec", "leaf", 6);
    add3(fg, "main", NULL, NULL, 10);
    size_t n = flame_top(fg, FLAME_BY_SELF, top, 8);
    cr_assert_eq(n, 3, "n %zu", n);
    cr_assert_str_eq(top[0].name, "main");
    cr_assert_eq(top[0].self, 10);
    cr_assert_eq(top[0].total, 20);
    cr_assert_str_eq(top[1].name, "leaf");
    cr_assert_eq(top[1].self, 6);
    cr_assert_str_eq(top[2].name, "rec");
    cr_assert_eq(top[2].self, 4);
    cr_assert_eq(top[2].total, 10, "rec total %llu", (unsigned long long)top[2].total);
    n = flame_top(fg, FLAME_BY_TOTAL, top, 2);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(top[0].name, "main");
    cr_assert_str_eq(top[1].name, "rec");
    flame_free(fg);
}

Test(flame, merge_adds_weights)
{
    struct flame *a = flame_new(), *b = flame_new();
    struct dynbuf out;
    dynbuf_init(&out, 1 << 20);
    add3(a, "m", "x", NULL, 1);
    add3(b, "m", "x", NULL, 2);
    add3(b, "m", "y", NULL, 3);
    cr_assert_eq(flame_merge(a, b), 0);
    cr_assert_eq(flame_write_folded(a, &out), 0);
    cr_assert_str_eq(out.data, "m;x 3\nm;y 3\n");
    dynbuf_destroy(&out);
    flame_free(a);
    flame_free(b);
}

Test(flame, deep_stacks_are_cut_and_counted)
{
    struct flame *fg = flame_new();
    static struct flame_frame f[FLAME_MAX_DEPTH + 10];
    static char names[FLAME_MAX_DEPTH + 10][16];
    for (size_t i = 0; i < FLAME_MAX_DEPTH + 10; i++) {
        snprintf(names[i], sizeof names[i], "f%zu", i);
        f[i].name = names[i];
    }
    cr_assert_eq(flame_add(fg, f, FLAME_MAX_DEPTH + 10, 1), 0);
    cr_assert_eq(flame_truncated(fg), 1);
    cr_assert_eq(flame_nodes(fg), FLAME_MAX_DEPTH, "nodes %zu", flame_nodes(fg));
    flame_free(fg);
}

Test(flame, invalid_utf8_and_empty_names_are_made_safe)
{
    struct flame *fg = flame_new();
    struct dynbuf out;
    dynbuf_init(&out, 1 << 20);
    add3(fg, "a\xff\xc3\xa9", "", NULL, 1);
    cr_assert_eq(flame_write_folded(fg, &out), 0);
    cr_assert_str_eq(out.data, "a?\xc3\xa9;[unknown] 1\n");
    dynbuf_destroy(&out);
    flame_free(fg);
}

Test(flame, svg_has_every_visible_frame_and_escapes_names)
{
    struct flame *fg = flame_new();
    struct dynbuf out;
    dynbuf_init(&out, 1 << 22);
    struct flame_frame f[2] = {{.name = "main", .module = "app", .file = "a.c", .line = 3},
                               {.name = "vector<int>&", .kernel = false}};
    cr_assert_eq(flame_add(fg, f, 2, 9), 0);
    add3(fg, "main", "tiny", NULL, 1);
    struct flame_svg_opts o = {.title = "CPU <profile>", .width = 1200};
    cr_assert_eq(flame_write_svg(fg, &o, &out), 0);
    cr_assert(strstr(out.data, "<title>vector&lt;int&gt;&amp;: 9 samples, 90.00%") != NULL,
              "escaped frame missing");
    cr_assert(strstr(out.data, "main (app, a.c:3): 10 samples, 100.00%") != NULL);
    cr_assert(strstr(out.data, "CPU &lt;profile&gt;") != NULL);
    cr_assert(strstr(out.data, "<g class=\"f\"") != NULL);
    cr_assert(strstr(out.data, "]]></script>\n</svg>\n") != NULL);
    /* 4 frames: all, main, tiny, vector */
    size_t groups = 0;
    for (const char *p = out.data; (p = strstr(p, "<g class=\"f\"")) != NULL; p++) {
        groups++;
    }
    cr_assert_eq(groups, 4, "groups %zu", groups);
    dynbuf_destroy(&out);
    flame_free(fg);
}

Test(flame, svg_of_nothing_says_so)
{
    struct flame *fg = flame_new();
    struct dynbuf out;
    dynbuf_init(&out, 1 << 20);
    cr_assert_eq(flame_write_svg(fg, NULL, &out), 0);
    cr_assert(strstr(out.data, "no samples") != NULL);
    dynbuf_destroy(&out);
    flame_free(fg);
}

Test(flame, speedscope_is_valid_json_with_weights)
{
    struct flame *fg = flame_new();
    struct jsonw w;
    jsonw_init(&w, 0, 1 << 20);
    add3(fg, "main", "work", NULL, 3);
    add3(fg, "main", NULL, NULL, 2);
    cr_assert_eq(flame_write_speedscope(fg, "t", &w), 0);
    size_t len;
    const char *doc = jsonw_data(&w, &len);
    size_t off;
    cr_assert_eq(json_validate(doc, len, &off), 0, "invalid at %zu: %s", off, doc);
    cr_assert(strstr(doc, "\"samples\":[[0],[0,1]]") != NULL, "%s", doc);
    cr_assert(strstr(doc, "\"weights\":[2,3]") != NULL, "%s", doc);
    jsonw_destroy(&w);
    flame_free(fg);
}
