#!/usr/bin/env bash
# Issue 2, 10h: a target that resets connections, or sends malformed responses: brunt
# counts the errors by kind, keeps going (reconnecting), does not crash, and without
# thresholds exits 0.
. "$(dirname "$0")/lib.sh"

start_target --reset-rate 0.2
brunt_run reset -q -c 4 -d 2s --export reset.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status against a resetting target"
resets=$(jnum reset.json .errors.reset)
assert_ge "$resets" 1 "errors.reset"
n=$(jnum reset.json .metrics.http_reqs.values.count)
assert_ge "$n" 20 "http_reqs against a target resetting 20% (brunt must reconnect and go on)"
rate=$(jnum reset.json .metrics.http_req_failed.values.rate)
assert_ge "$rate" 0.05 "http_req_failed rate with 20% resets"
assert_le "$rate" 0.5 "http_req_failed rate with 20% resets"
assert_eq 0 "$(jnum reset.json .errors.protocol)" "errors.protocol against a target that only resets"
assert_target_alive
stop_target

start_target --malformed-rate 0.2
brunt_run malformed -q -c 4 -d 2s --export malformed.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status against a target sending malformed responses"
protocol=$(jnum malformed.json .errors.protocol)
assert_ge "$protocol" 1 "errors.protocol"
n=$(jnum malformed.json .metrics.http_reqs.values.count)
assert_ge "$n" 20 "http_reqs against a target sending 20% garbage"
rate=$(jnum malformed.json .metrics.http_req_failed.values.rate)
assert_ge "$rate" 0.05 "http_req_failed rate with 20% malformed responses"
assert_le "$rate" 0.5 "http_req_failed rate with 20% malformed responses"
# The errors object and the errors metric agree.
sum=$(jnum malformed.json '[.errors[]] | add')
assert_ge "$sum" "$protocol" "sum of errors by kind"
assert_target_alive
stop_target
