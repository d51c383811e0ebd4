#!/usr/bin/env bash
# Issue 11: the reports of a real run, rendered straight after it (--report) and later
# from its result (brunt report), checked against the result and the target's own
# counts: Markdown (sections, the Executive Summary's sentences, per-request table, alert
# rules that promtool accepts, < 65,536 characters), JUnit XML (valid
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
    '## Optimisation Plan' '## Load Test Results' '## Requests' '## Monitoring Recommendations'; do
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
# The Executive Summary's generated sentences: the verdict with the failing objective's
# observed value, the load and its request count as the result has them.
summary=$(sed -n '/^## Executive Summary/,/^## /p' r.md | tr '\n' ' ')
n_obj=$(jnum r.json '(.thresholds | length) + (.criteria // [] | length)')
[[ $summary == *"1 of $n_obj objectives were not met: http_reqs count&lt;10 was "* ]] ||
    fail "the summary's verdict (1 of $n_obj not met, http_reqs count<10): $summary"
reqs_fmt=$(python3 -c "print(f'{$reqs:,}')")
[[ $summary == *"completed $reqs_fmt requests"* ]] || fail "the summary's request count ($reqs_fmt): $summary"
[[ $summary == *"closed model"* ]] || fail "the summary does not say the load model: $summary"
[[ $summary == *"The biggest bottleneck found ("* || $summary == *"No bottleneck showed"* ]] ||
    fail "the summary says nothing of the bottleneck: $summary"
# Monitoring Recommendations: the alert rules are a rule file Prometheus accepts.
command -v promtool >/dev/null || fail "promtool is missing (scripts/setup.sh installs prometheus)"
sed -n '/^## Monitoring Recommendations/,$p' r.md | sed -n '/^```yaml$/,/^```$/p' | sed '1d;$d' >rules.yml
grep -q 'alert: HighErrorRate' rules.yml || fail "no alert rules in r.md: $(cat rules.yml)"
promtool check rules rules.yml >promtool.out 2>&1 || fail "promtool rejects r.md's alert rules: $(cat promtool.out)"

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
