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
retries=$(jnum reset.json .metrics.http_req_retries.values.count)
# A reset of a reused keep-alive connection before any byte of the answer is re-sent once
# on a new connection (a GET is idempotent), so only about 0.2 x 0.2 of the requests on
# reused connections fail, and 0.2 of those on fresh ones: about 5% in all.
assert_ge "$retries" 1 "http_req_retries (resets of reused connections are re-sent once)"
assert_ge "$rate" 0.01 "http_req_failed rate with 20% resets"
assert_le "$rate" 0.5 "http_req_failed rate with 20% resets"
assert_eq 0 "$(jnum reset.json .errors.protocol)" "errors.protocol against a target that only resets"
# Ground truth: every request the server reset is either one failed request in brunt's
# count or one visible re-send (http_req_retries), never hidden; and the server received
# exactly brunt's requests plus its re-sends.
assert_eq "$(stats_get .faults.resets)" "$((resets + retries))" "the resets the server injected vs brunt's errors.reset + http_req_retries"
assert_eq "$(stats_requests)" "$((n + retries))" "the requests the server received vs brunt's http_reqs + http_req_retries"
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
assert_eq "$(stats_get .faults.malformed)" "$protocol" "brunt's errors.protocol vs the malformed answers the server sent"
assert_eq "$(stats_requests)" "$n" "brunt's http_reqs vs the requests the server received"
# The errors object and the errors metric agree (docs/result-format.md).
sum=$(jnum malformed.json '[.errors[]] | add')
assert_eq "$sum" "$(jnum malformed.json .metrics.http_errors.values.count)" "sum of .errors vs the errors metric's count"
assert_target_alive
stop_target
