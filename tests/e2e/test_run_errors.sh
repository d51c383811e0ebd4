#!/usr/bin/env bash
# Issue 2, 10d: with 5% of responses turned into errors by the target, brunt's
# http_req_failed rate matches the server's own error share within 1 percentage point,
# and 5% within 1 point.
. "$(dirname "$0")/lib.sh"

start_target --error-rate 0.05
brunt_run errors -q -c 16 -n 6000 --export errors.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status (errors alone, without thresholds, do not fail the run)"
n=$(jnum errors.json .metrics.http_reqs.values.count)
assert_eq 6000 "$n" "http_reqs with -n 6000"
rate=$(jnum errors.json .metrics.http_req_failed.values.rate)
fails=$(jnum errors.json .metrics.http_req_failed.values.passes)
server_n=$(stats_requests)
server_err=$(stats_get '.faults.errors')
assert_eq "$n" "$server_n" "server's count equals brunt's"
server_rate=$(awk -v e="$server_err" -v n="$server_n" 'BEGIN { printf "%.6f", e / n }')
assert_within "$rate" "$server_rate" 0.01 "brunt's http_req_failed rate vs the server's errors/requests"
assert_within "$rate" 0.05 0.01 "http_req_failed rate vs the injected 5%"
# http_req_failed counts a failed request as a non-zero sample ("passes" in k6's terms).
assert_eq "$server_err" "$fails" "failed requests brunt saw vs errors the server injected"
stop_target
