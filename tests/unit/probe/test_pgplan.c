/*
 * Tests for pgplan: sequential scans in real PostgreSQL 15 EXPLAIN (FORMAT JSON) output,
 * malformed and truncated plans, and the columns of filters.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "probe/pgplan.h"

/* EXPLAIN (FORMAT JSON) SELECT * FROM auctions a JOIN bids b ON b.auction_id = a.id
 * WHERE b.amount > 100 AND a.status = 'open', from PostgreSQL 15.  */
static const char plan[] =
    "[\n  {\n    \"Plan\": {\n      \"Node Type\": \"Hash Join\",\n"
    "      \"Parallel Aware\": false,\n      \"Startup Cost\": 12.5,\n"
    "      \"Total Cost\": 480.25,\n      \"Plan Rows\": 120,\n"
    "      \"Hash Cond\": \"(b.auction_id = a.id)\",\n      \"Plans\": [\n"
    "        {\n          \"Node Type\": \"Seq Scan\",\n"
    "          \"Parent Relationship\": \"Outer\",\n"
    "          \"Relation Name\": \"bids\",\n          \"Alias\": \"b\",\n"
    "          \"Total Cost\": 390.0,\n          \"Plan Rows\": 6000,\n"
    "          \"Filter\": \"(amount > 100)\"\n        },\n"
    "        {\n          \"Node Type\": \"Hash\",\n          \"Plans\": [\n"
    "            {\n              \"Node Type\": \"Seq Scan\",\n"
    "              \"Relation Name\": \"auctions\",\n"
    "              \"Plan Rows\": 10,\n"
    "              \"Filter\": \"(status = 'open'::text)\",\n"
    "              \"Actual Rows\": 9,\n              \"Rows Removed by Filter\": 91\n"
    "            }\n          ]\n        }\n      ]\n    }\n  }\n]";

Test(pgplan, finds_nested_seq_scans)
{
    struct pgplan_scan s[4];
    double root = 0;
    int n = pgplan_seq_scans(plan, strlen(plan), s, 4, &root);
    cr_assert_eq(n, 2, "got %d", n);
    cr_expect_float_eq(root, 480.25, 1e-9);
    cr_expect_str_eq(s[0].relation, "bids");
    cr_expect_str_eq(s[0].filter, "(amount > 100)");
    cr_expect_float_eq(s[0].plan_rows, 6000, 0);
    cr_expect_float_eq(s[0].actual_rows, -1, 0);
    cr_expect_str_eq(s[1].relation, "auctions");
    cr_expect_str_eq(s[1].filter, "(status = 'open'::text)");
    cr_expect_float_eq(s[1].actual_rows, 9, 0);
    cr_expect_float_eq(s[1].rows_removed, 91, 0);
}

Test(pgplan, counts_past_cap)
{
    struct pgplan_scan s[1];
    cr_expect_eq(pgplan_seq_scans(plan, strlen(plan), s, 1, NULL), 2);
    cr_expect_str_eq(s[0].relation, "bids");
}

Test(pgplan, truncated_and_malformed)
{
    size_t n = strlen(plan);
    for (size_t len = 0; len < n; len++) {
        char *p = malloc(len ? len : 1);
        cr_assert(p);
        memcpy(p, plan, len);
        struct pgplan_scan s[4];
        int rc = pgplan_seq_scans(p, len, s, 4, NULL);
        cr_expect(rc == PGPLAN_EINVAL, "prefix of %zu bytes: %d", len, rc);
        free(p);
    }
    struct pgplan_scan s[1];
    cr_expect_eq(pgplan_seq_scans("{\"a\" 1}", 7, s, 1, NULL), PGPLAN_EINVAL);
    cr_expect_eq(pgplan_seq_scans("[1,]", 4, s, 1, NULL), PGPLAN_EINVAL);
    cr_expect_eq(pgplan_seq_scans("\"\\q\"", 4, s, 1, NULL), PGPLAN_EINVAL);
    cr_expect_eq(pgplan_seq_scans("[] x", 4, s, 1, NULL), PGPLAN_EINVAL);
    cr_expect_eq(pgplan_seq_scans("[{}]", 4, s, 1, NULL), 0);
}

Test(pgplan, depth_is_capped)
{
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    struct pgplan_scan s[1];
    cr_expect_eq(pgplan_seq_scans(deep, sizeof deep, s, 1, NULL), PGPLAN_EDEPTH);
}

static size_t cols_of(const char *filter, char (*cols)[64])
{
    return pgplan_filter_columns(filter, cols, 8);
}

Test(pgplan, filter_columns)
{
    char c[8][64];
    cr_assert_eq(cols_of("(auction_id = 42)", c), 1);
    cr_expect_str_eq(c[0], "auction_id");
    cr_assert_eq(cols_of("((auction_id = $1) AND (status = 'open'::text))", c), 2);
    cr_expect_str_eq(c[0], "auction_id");
    cr_expect_str_eq(c[1], "status");
    cr_assert_eq(cols_of("((b.amount >= 10) OR (b.amount < 0))", c), 1, "qualified, deduped");
    cr_expect_str_eq(c[0], "amount");
    cr_assert_eq(cols_of("(lower(name) = 'x'::text)", c), 0, "a function is not a column");
    cr_assert_eq(cols_of("(deleted_at IS NULL)", c), 1);
    cr_expect_str_eq(c[0], "deleted_at");
    cr_assert_eq(cols_of("(\"Mixed Case\" = 1)", c), 1);
    cr_expect_str_eq(c[0], "Mixed Case");
    cr_assert_eq(cols_of("('it''s' = title)", c), 1, "a quoted quote stays in the literal");
    cr_expect_str_eq(c[0], "title");
    cr_expect_eq(cols_of("", c), 0);
    cr_expect_eq(pgplan_filter_columns(NULL, c, 8), 0);
}
