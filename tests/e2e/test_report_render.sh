#!/usr/bin/env bash
# Issue 11: the reports of a real run, rendered straight after it (--report) and later
# from its result (brunt report), checked against the result and the target's own
# counts: Markdown (sections, per-request table, < 65,536 characters), JUnit XML (valid
# against tests/junit.xsd, one testcase per threshold, the failure carries the observed
# value), CSV (one row per second, the requests column adds up to what the target
# served), and the same bytes from both paths.
. "$(dirname "$0")/lib.sh"

start_target

# The auction example: two request names (login, bid), shortened to a few seconds.
export BASE_URL=$TARGET_URL RAMP=1s HOLD=2s VUS=6
brunt_run run -q --export r.json --report r.md --report r.html --report r.xml --report r.csv \
    --threshold 'http_reqs:count<10' "$E2E_DIR/../../examples/auction-bidding.yaml"
assert_eq 99 "$RC" "exit status (one threshold fails on purpose)"
for f in r.md r.html r.xml r.csv; do
    [[ -s $f ]] || fail "--report $f was not written"
    grep -q "wrote the .* report $f" run.err || fail "brunt did not print the path of $f"
done

served=$(stats_requests)
reqs=$(jnum r.json .metrics.http_reqs.values.count)
assert_eq "$served" "$reqs" "requests in the result vs served by the target"

# Markdown: the sections, under GitHub's limit, figures from the result.
chars=$(wc -m <r.md)
assert_lt "$chars" 65536 "Markdown characters"
for h in '## Executive Summary' '## Current Performance' '## Bottleneck Analysis' \
    '## Load Test Results' '## Requests' '## Monitoring Recommendations'; do
    grep -qF "$h" r.md || fail "r.md lacks the section '$h'"
done
md_reqs=$(sed -n 's/^| Requests | \([0-9,]*\) |$/\1/p' r.md | tr -d ,)
assert_eq "$reqs" "$md_reqs" "Requests in the Markdown vs the result"
for name in login bid; do
    want=$(jnum r.json "[.metrics.http_reqs.series[] | select(.tags.name == \"$name\") | .values.count] | add")
    got=$(sed -n "s/^| POST $name | \([0-9,]*\) |.*/\1/p" r.md | tr -d ,)
    assert_eq "$want" "$got" "count of $name in the Markdown table"
done
grep -q '❌' r.md || fail "the failing threshold has no ❌ in r.md"
grep -q 'http_reqs' r.md || fail "r.md does not name the failing threshold's metric"
grep -q 'not measured — run with --watch' r.md || fail "r.md does not say the target was not watched"

# JUnit: valid, one testcase per threshold, the failure carries the observed value.
xmllint --noout --schema "$E2E_DIR/../junit.xsd" r.xml 2>xmllint.err ||
    fail "r.xml is not valid JUnit: $(cat xmllint.err)"
n_th=$(jnum r.json '.thresholds | length')
assert_eq "$n_th" "$(grep -c "<testcase classname=\"brunt.thresholds\"" r.xml)" "testcases vs thresholds"
assert_eq 1 "$(grep -c '<failure ' r.xml)" "failures in r.xml"
observed=$(jnum r.json '[.thresholds[] | select(.ok == false)][0].observed')
in_xml=$(sed -n 's/.*<failure message="observed \([0-9,.]*\),.*/\1/p' r.xml | tr -d ,)
assert_eq "$observed" "$in_xml" "observed value in the JUnit failure vs the result"

# CSV: a header and one row per second; the requests column adds up.
rows=$(jnum r.json '.timeseries.rows | length')
assert_eq $((rows + 1)) "$(wc -l <r.csv)" "CSV lines (header + one per second)"
col=$(head -1 r.csv | tr -d '\r' | tr , '\n' | grep -nx http_reqs | cut -d: -f1)
csv_sum=$(tail -n +2 r.csv | cut -d, -f"$col" | awk "{s += \$1} END {print s}")
assert_eq "$served" "$csv_sum" "CSV http_reqs column sum vs requests served"

# Later, from the file: the same bytes as straight after the run.
RC=0
"$BRUNT" report r.json -o again.md -o again.xml -o again.csv -o again.html 2>again.err || RC=$?
assert_eq 0 "$RC" "brunt report exit status"
for f in md xml csv html; do
    cmp -s "r.$f" "again.$f" || fail "brunt report's $f differs from --report's"
done

# An interrupted run still reports what it measured, and says it was interrupted.
before=$(stats_requests)
env --default-signal=INT "$BRUNT" run -q -c 2 -d 60s --export int.json --report int.md \
    "$TARGET_URL/" >int.out 2>int.err &
pid=$!
_E2E_PIDS+=("$pid")
for ((i = 0; i < 200; i++)); do
    (($(stats_requests) > before)) && break
    alive "$pid" || fail "brunt exited before sending a request"
    sleep 0.05
done
kill -INT "$pid"
wait_exit "$pid" 15
assert_eq 105 "$WAIT_RC" "exit status after SIGINT"
grep -q 'interrupted before its end' int.md || fail "int.md does not say the run was interrupted"
int_reqs=$(jnum int.json .metrics.http_reqs.values.count)
md_reqs=$(sed -n 's/^| Requests | \([0-9,]*\) |$/\1/p' int.md | tr -d ,)
assert_eq "$int_reqs" "$md_reqs" "requests in the interrupted run's report vs its result"
assert_eq $(($(stats_requests) - before)) "$int_reqs" "requests of the interrupted run vs served"
stop_target
