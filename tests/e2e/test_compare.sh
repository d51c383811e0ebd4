#!/usr/bin/env bash
# brunt compare (issue 12): two runs of the same target are not flagged; a target twice as
# slow (the server's own delay: 100 ms vs 200 ms; long beside a busy machine's
# scheduling noise of a few ms) is a critical regression with the right
# figures; the other way round is an improvement; runs of different load shapes are not
# compared; every bad input is one line on stderr and exit 2.
. "$(dirname "$0")/lib.sh"

start_target --delay 100ms
FAST=$TARGET_URL
start_target --delay 200ms
SLOW=$TARGET_URL

brunt_run a1 -q -c 10 -d 4s --export a1.json "$FAST/"
assert_eq 0 "$RC" "run a1"
brunt_run a2 -q -c 10 -d 4s --export a2.json "$FAST/"
assert_eq 0 "$RC" "run a2"
brunt_run b1 -q -c 10 -d 4s --export b1.json "$SLOW/"
assert_eq 0 "$RC" "run b1"

# compare_run NAME ARGS...: runs brunt compare, sets RC; output in NAME.out / NAME.err.
compare_run() {
    local name=$1
    shift
    RC=0
    timeout -k 5 60 "$BRUNT" compare "$@" >"$name.out" 2>"$name.err" || RC=$?
    assert_no_crash "$RC" "brunt compare $*"
    log "brunt compare $* -> exit $RC"
}

compare_run same --format json a1.json a2.json
assert_eq 0 "$RC" "same target twice: no regression (exit 0); rows: $(jq -c '[.rows[] | select(.verdict != "no change") | [.figure, .change_pct, .verdict]]' same.out)"
assert_eq none "$(jval same.out .verdict)" "verdict of the same target twice"

compare_run slower --format json a1.json b1.json
assert_eq 111 "$RC" "twice as slow: critical (exit 111)"
assert_eq critical "$(jval slower.out '.rows[] | select(.request == "all requests" and .figure == "p50") | .verdict')" "p50 verdict"
# ground truth: the servers delay every answer by 100 and 200 ms
base_p50=$(jnum slower.out '.rows[] | select(.request == "all requests" and .figure == "p50") | .baseline')
new_p50=$(jnum slower.out '.rows[] | select(.request == "all requests" and .figure == "p50") | .new')
assert_within "$base_p50" 102 5 "baseline p50 (server delay 100 ms)"
assert_within "$new_p50" 202 6 "new p50 (server delay 200 ms)"
assert_ge "$(jnum slower.out '.rows[] | select(.request == "all requests" and .figure == "p50") | .ratio_low')" 1.5 "p50 ratio's lower bound"
# closed model: 10 connections at 200 ms instead of 100 ms halve the throughput
assert_eq critical "$(jval slower.out '.rows[] | select(.figure == "throughput") | .verdict')" "throughput verdict"
assert_within "$(jnum slower.out '.rows[] | select(.figure == "throughput") | .change_pct')" -50 8 "throughput change %"

compare_run faster a1.json b1.json --format md
assert_eq 111 "$RC" "markdown: same exit code"
grep -q '^| request | figure | baseline | new | change | interval | verdict |$' faster.out || fail "markdown table header missing: $(head -5 faster.out)"
grep -q 'CRITICAL' faster.out || fail "markdown verdict missing"

compare_run better b1.json a1.json
assert_eq 0 "$RC" "twice as fast: exit 0"
grep -q 'improved' better.out || fail "improvement not reported: $(cat better.out)"

# different load shapes are not compared
brunt_run c5 -q -c 5 -d 2s --export c5.json "$FAST/"
compare_run shape a1.json c5.json
assert_eq 112 "$RC" "different connections: not comparable (exit 112)"
grep -q 'connections/VUs 10 vs 5' shape.out || fail "the difference is not named: $(cat shape.out)"
compare_run forced --force --format json a1.json c5.json
# half the connections halve the closed model's throughput: compared, and critical
assert_eq 111 "$RC" "--force compares anyway"
assert_eq critical "$(jval forced.out '.rows[] | select(.figure == "throughput") | .verdict')" "forced: throughput halved"

# bad input: one line on stderr, exit 2
echo 'not json' >bad.json
jq '.schema = "brunt-result/9"' a1.json >v9.json
jq 'del(.timeseries.rows[].series)' a1.json >nohist.json
jq 'del(.timeseries.histogram, .timeseries.series, .timeseries.rows[].series)' a1.json >old.json
jq '.timeseries.rows[1].series[0].i = 99999' a1.json >badidx.json
for case in "bad.json:malformed JSON" "v9.json:brunt-result/9" "nohist.json:no per-second histograms" \
    "old.json:no per-second histograms" "badidx.json:needs i" "missing.json:cannot open"; do
    f=${case%%:*}
    want=${case#*:}
    compare_run "bad_$f" a1.json "$f"
    assert_eq 2 "$RC" "compare with $f"
    assert_one_line "bad_$f.err" "error for $f"
    grep -q "$want" "bad_$f.err" || fail "error for $f does not say '$want': $(cat "bad_$f.err")"
done
compare_run badflag --regression abc a1.json a2.json
assert_eq 2 "$RC" "--regression abc"
assert_one_line badflag.err "error for --regression abc"
compare_run onefile a1.json
assert_eq 2 "$RC" "one file only"
assert_one_line onefile.err "error for one file"
compare_run badq --window-quantile 60 a1.json a2.json
assert_eq 2 "$RC" "--window-quantile 60 (at most 50)"
assert_one_line badq.err "error for --window-quantile 60"
# the quantile over windows is settable, and the JSON says which statistic a row judged
compare_run median --format json --window-quantile 50 a1.json b1.json
assert_eq 111 "$RC" "the median window: still critical"
assert_eq 0.5 "$(jval median.out .options.window_quantile)" "options.window_quantile"
st=$(jval median.out '.rows[] | select(.request == "all requests" and .figure == "p99") | .statistic')
[[ $st == "median window" || $st == run ]] || fail "p99 statistic with --window-quantile 50: $st"
