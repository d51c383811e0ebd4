#!/usr/bin/env bash
# The PostgreSQL probe against a real PostgreSQL 15: calls of a query driven a known
# number of times, sequential scans on a large table without an index (a seq_scan
# finding with the candidate index) and none once the index exists, the probe's own
# statements left out, and the password nowhere in what it prints or writes.
source "$E2E_DIR/lib.sh"
source "$E2E_DIR/db.sh"

start_postgres
psql_q "CREATE TABLE auctions (id int PRIMARY KEY, title text)" \
    "INSERT INTO auctions SELECT g, 'lot ' || g FROM generate_series(1, 200) g" \
    "CREATE TABLE bids (id serial PRIMARY KEY, auction_id int NOT NULL, amount int NOT NULL)" \
    "INSERT INTO bids (auction_id, amount) SELECT g % 200 + 1, g FROM generate_series(1, 30000) g" \
    "VACUUM ANALYZE auctions" "VACUUM ANALYZE bids"

# seq_scan + idx_scan of bids, and calls of our query, read by this test itself.
table_scans() {
    psql_q "SELECT pg_stat_force_next_flush()" >/dev/null
    psql_q "SELECT seq_scan || ' ' || coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'bids'"
}
query_calls() {
    psql_q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE 'SELECT max(amount) FROM bids WHERE auction_id = \$1%'"
}

# load N: N lookups of the highest bid of an auction, in one session, as an app would.
load() {
    local i
    for ((i = 1; i <= $1; i++)); do
        echo "SELECT max(amount) FROM bids WHERE auction_id = $((i % 200 + 1));"
        echo "SELECT title FROM auctions WHERE id = $((i % 200 + 1));"
    done | psql -qAtX -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$PG_DB" >/dev/null
}

# Run 1: no index on bids.auction_id.
read -r s0 i0 < <(table_scans)
c0=$(query_calls)
probe_driver noindex --postgres "$PG_DSN" --http "highest_bid=60"
load 60
probe_driver_stop
read -r s1 i1 < <(table_scans)
c1=$(query_calls)
j=$E2E_TMP/noindex.json
pgj() { jval "$j" ".probes.postgres$1"; }
assert_eq true "$(pgj .available)" "the probe measured"
assert_eq true "$(pgj .pg_stat_statements.available)" "pg_stat_statements read"
assert_eq 60 "$((c1 - c0))" "pg_stat_statements itself counted 60 calls"
top='.top_queries[] | select(.query | startswith("SELECT max(amount) FROM bids"))'
assert_eq 60 "$(pgj "$top | .calls")" "calls = the test's own pg_stat_statements delta"
assert_eq 1 "$(pgj "$top | .calls_per_http_request")" "one call per HTTP request"
assert_eq "$((s1 - s0))" "$(pgj '.tables[] | select(.table == "bids") | .seq_scan')" \
    "seq scans of bids = the test's own pg_stat_user_tables delta"
assert_eq 60 "$((s1 - s0))" "each lookup scanned bids"
assert_eq "$((60 * 30000))" "$(pgj '.tables[] | select(.table == "bids") | .seq_tup_read')" \
    "rows read by the sequential scans"
assert_eq "$(psql_q "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'bids'")" \
    "$(pgj '.tables[] | select(.table == "bids") | .n_live_tup')" "live rows as pg_stat_user_tables says"
method=$(pgj "$top | .plan.method")
[[ $method == generic || $method == sampled ]] || fail "plan method '$method', expected generic or sampled"
assert_eq bids "$(pgj "$top | .plan.seq_scans[0].relation")" "the plan scans bids sequentially"
assert_eq auction_id "$(pgj "$top | .plan.seq_scans[0].filter_columns[0]")" "filter column"
assert_eq 0 "$(jval "$j" '[.probes.postgres.top_queries[] | select(.query | test("brunt-probe"))] | length')" \
    "the probe's own statements are left out"
f='.findings[] | select(.kind == "seq_scan")'
assert_eq "CREATE INDEX CONCURRENTLY ON public.bids (auction_id) (a candidate: check the plan uses it, and what it costs the writes)" \
    "$(pgj "$f | .recommendation")" "the candidate index"
per=$(pgj .probe_cost.statements_per_sample)
assert_le "$per" 3 "the probe sends at most 3 statements a second while sampling"
grep -q 'top queries' "$E2E_TMP/noindex.out" || fail "the summary has no top queries"
grep -q 'CREATE INDEX CONCURRENTLY' "$E2E_TMP/noindex.out" || fail "the summary has no candidate"
for file in "$E2E_TMP"/noindex.*; do
    if grep -qF "$PG_PASSWORD" "$file"; then
        fail "the password appears in $(basename "$file")"
    fi
done
grep -qF 'postgres:***@127.0.0.1' "$j" || fail "the DSN is not shown redacted"

# Run 2: with the index, the same load gives no seq_scan finding.
psql_q "CREATE INDEX ON bids (auction_id)" "ANALYZE bids"
probe_driver indexed --postgres "$PG_DSN" --http "highest_bid=60"
load 60
probe_driver_stop
j=$E2E_TMP/indexed.json
assert_eq 0 "$(jval "$j" '[.probes.postgres.findings[] | select(.kind == "seq_scan" or .kind == "seq_scan_table")] | length')" \
    "no seq_scan finding once the index exists"
assert_eq 0 "$(pgj '.tables[] | select(.table == "bids") | .seq_scan')" "no seq scans of bids"
assert_ge "$(pgj '.tables[] | select(.table == "bids") | .idx_scan')" 60 "index scans instead"
