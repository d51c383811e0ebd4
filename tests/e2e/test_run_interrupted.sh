#!/usr/bin/env bash
# Issue 7, items 1 and 13: nothing sent is ever dropped from the verdict. Against a target
# that answers in 20 s, a 2 s run with a 1 s grace ends with every request in flight: each
# counts in http_reqs as failed with kind interrupted (as many as the server received),
# each iteration in interrupted_iterations, a latency threshold with no samples fails, and
# the open model's completed rate says no iteration was answered. A run shorter than a
# second still shows its VUs.
. "$(dirname "$0")/lib.sh"

start_target
brunt_run closed -c 5 -d 2s --grace 1s --no-watch --export closed.json \
    --threshold 'http_req_duration:p(95)<300' --threshold 'http_req_failed:rate<0.01' \
    "$TARGET_URL/delay/20000"
assert_eq 99 "$RC" "exit status: both thresholds fail when no request was answered"
n=$(jnum closed.json .metrics.http_reqs.values.count)
assert_eq "$(stats_requests)" "$n" "brunt's http_reqs vs the requests the server received"
assert_eq 5 "$n" "one request per VU, all in flight at the end"
assert_eq "$n" "$(jnum closed.json .errors.interrupted)" "errors.interrupted"
assert_eq 1 "$(jnum closed.json .metrics.http_req_failed.values.rate)" "http_req_failed rate"
assert_eq 5 "$(jnum closed.json .metrics.interrupted_iterations.values.count)" "interrupted_iterations"
assert_eq 0 "$(jnum closed.json '.metrics.iterations.values.count // 0')" "iterations completed"
assert_eq false "$(jval closed.json '.thresholds[0].ok')" "p(95) threshold with no samples while requests were sent"
assert_eq false "$(jval closed.json '.thresholds[1].ok')" "http_req_failed threshold"
grep -q "none was answered" closed.out || fail "the summary does not say that no request was answered"
stop_target

start_target
brunt_run open -R 20 -d 2s --grace 1s --no-watch --export open.json "$TARGET_URL/delay/20000"
n=$(jnum open.json .metrics.http_reqs.values.count)
seen=$(stats_requests)
assert_ge "$n" 30 "requests started at 20/s over 2 s"
assert_eq "$n" "$(jnum open.json .errors.interrupted)" "every request was interrupted"
# A request cut off while still connecting never reached the server: brunt may count
# more than the server saw, never fewer.
assert_le "$seen" "$n" "the server's requests vs brunt's http_reqs"
assert_ge "$seen" $((n - 2)) "the server's requests vs brunt's http_reqs"
assert_eq "$n" "$(jnum open.json .metrics.interrupted_iterations.values.count)" "interrupted_iterations"
grep -qE 'rate: target 20(\.0)?/s, started 20(\.0)?/s \(100\.0%\), completed 0/s \(0\.0%\)' open.out ||
    fail "the rate line does not say that nothing completed: $(grep 'rate:' open.out)"
stop_target

start_target
brunt_run short -c 3 -n 30 --no-watch --export short.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of a sub-second run"
assert_eq 3 "$(jnum short.json .metrics.vus.values.max)" "vus max of a run shorter than a second"
assert_eq 30 "$(stats_requests)" "the server's requests"
# Answered requests, but a threshold whose tag value matches none of them: the summary
# blames the tags, not the target.
brunt_run typo -c 1 -n 5 --no-watch --threshold 'http_req_duration{name:nope}:p(95)<300' "$TARGET_URL/"
assert_eq 99 "$RC" "a trend threshold whose tags matched no sample while requests were sent"
grep -q "check the metric and its tags" typo.out || fail "the summary does not point at the tags"
grep -q "none was answered" typo.out && fail "the summary says no request was answered although all were"
stop_target
