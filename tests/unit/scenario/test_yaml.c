/*
 * Unit tests for the scenario loader's lower layers: scenario/yaml.c (YAML into the
 * loader's own tree, with line:column, aliases shared, the caps) and scenario/node.c
 * (typed reads with positioned errors and did-you-mean).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/load_internal.h"

static struct loader L;
static char err[512];

static void setup(void)
{
    memset(&L, 0, sizeof L);
    L.file = "t.yaml";
    L.err = err;
    L.err_len = sizeof err;
    err[0] = '\0';
}

static void teardown(void)
{
    load__yaml_free(&L);
}

TestSuite(yaml, .init = setup, .fini = teardown);

/* Forgets the first error (so the next one is written) but keeps the nodes parsed so
 * far: teardown frees them all.  (setup() here would drop them: a leak under LSan.) */
static void clear_error(void)
{
    L.failed = false;
    err[0] = '\0';
}

static struct ynode *parse(const char *yaml)
{
    struct ynode *root = NULL;
    int rc = load__yaml_parse(&L, yaml, strlen(yaml), &root);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
    return root;
}

Test(yaml, nodes_keep_line_and_column)
{
    struct ynode *root = parse("a: 1\nlist:\n  - x\n  - {k: \"v\"}\n");
    cr_assert_eq(root->type, Y_MAP);
    cr_assert_eq(root->n, 4, "two keys and two values: %zu", root->n);
    struct ynode *list = load__mget(root, "list");
    cr_assert_not_null(list);
    cr_expect_eq(list->type, Y_SEQ);
    cr_expect_eq(list->n, 2);
    cr_expect_eq(list->kids[0]->line, 3);
    cr_expect_eq(list->kids[0]->col, 5, "col %d", list->kids[0]->col);
    struct ynode *v = load__mget(list->kids[1], "k");
    cr_assert_not_null(v);
    cr_expect(v->quoted);
    cr_expect_str_eq(v->s, "v");
    cr_expect_eq(v->line, 4);
}

Test(yaml, aliases_share_nodes_and_expansion_is_capped)
{
    struct ynode *root = parse("base: &b {x: 1}\nuse: *b\n");
    cr_expect_eq(load__mget(root, "base"), load__mget(root, "use"), "an alias is the same node");
    /* A billion laughs: each level doubles ten times over. */
    char doc[4096];
    size_t off = (size_t)snprintf(doc, sizeof doc, "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
    for (int i = 1; i < 9; i++) {
        off += (size_t)snprintf(doc + off, sizeof doc - off,
                                "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
                                i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                                i - 1);
    }
    struct ynode *r2 = NULL;
    load__yaml_free(&L);
    setup();
    cr_expect_eq(load__yaml_parse(&L, doc, off, &r2), -1);
    cr_expect(strstr(err, "expands to more than") != NULL, "err: %s", err);
}

Test(yaml, invalid_utf8_and_nul_are_positioned)
{
    struct ynode *root = NULL;
    cr_expect_eq(load__yaml_parse(&L, "a: 1\nb: caf\xc3\xa9 \xff\n", 16, &root), -1);
    cr_expect_str_eq(err, "t.yaml:2:9: invalid UTF-8 (expected UTF-8 text)");
    load__yaml_free(&L);
    setup();
    cr_expect_eq(load__yaml_parse(&L, "a: x\0y\n", 7, &root), -1);
    cr_expect_str_eq(err, "t.yaml:1:5: a NUL byte (expected UTF-8 text)");
}

Test(yaml, typed_reads_write_one_positioned_line)
{
    static const char *const allowed[] = {"threads", "timeout", NULL};
    struct ynode *root = parse("options:\n  threds: 4\n");
    struct ynode *o = load__mget(root, "options");
    cr_expect_eq(load__check_map(&L, o, "options", allowed), -1);
    cr_expect_str_eq(err, "t.yaml:2:3: unknown key 'threds' in options (did you mean 'threads'?)");

    clear_error();
    root = parse("d: 10x\nn: 300\ne: fats\n");
    uint64_t u;
    cr_expect_eq(load__get_duration(&L, load__mget(root, "d"), false, &u), -1);
    cr_expect(strncmp(err, "t.yaml:1:4: bad duration '10x'", 30) == 0, "err: %s", err);
    clear_error();
    cr_expect_eq(load__get_u64(&L, load__mget(root, "n"), 1, 256, &u), -1);
    cr_expect_str_eq(err, "t.yaml:2:4: 300 is out of range (expected 1 to 256)");
    clear_error();
    static const char *const words[] = {"fast", "slow", NULL};
    int k;
    cr_expect_eq(load__get_enum(&L, load__mget(root, "e"), "speed", words, &k), -1);
    cr_expect_str_eq(err, "t.yaml:3:4: unknown speed 'fats' (did you mean 'fast'?)");
}

Test(yaml, scalars_expand_env_once)
{
    setenv("BRUNT_TEST_YAML_VAR", "42", 1);
    struct ynode *root = parse("v: ${BRUNT_TEST_YAML_VAR}\nw: ${BRUNT_NO_SUCH_VAR_X:-7}\n");
    cr_expect_str_eq(load__sval(&L, load__mget(root, "v"), "a number"), "42");
    cr_expect_str_eq(load__sval(&L, load__mget(root, "w"), "a number"), "7");
    cr_expect_null(load__sval(&L, root, "a scalar"));
    cr_expect(strstr(err, "found a mapping (expected a scalar)") != NULL, "err: %s", err);
}

Test(yaml, the_first_error_wins)
{
    cr_expect_eq(load__err(&L, NULL, "first"), -1);
    cr_expect_eq(load__err_at(&L, 3, 4, "second"), -1);
    cr_expect_str_eq(err, "t.yaml: first");
}
