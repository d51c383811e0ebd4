#!/usr/bin/env bash
# Issue 2, 10a (open model): at -R 500 for 4 s brunt starts ~2000 iterations on schedule,
# and the number of requests it reports equals the number the server saw.
# e2e: timing (see run.sh: runs alone, after the others)
. "$(dirname "$0")/lib.sh"

start_target
brunt_run open -q -R 500 -d 4s --export open.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of -R 500 -d 4s"
assert_eq open "$(jval open.json .options.model)" "options.model with -R"
n=$(jnum open.json .metrics.http_reqs.values.count)
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's http_reqs (open model)"
assert_within "$n" 2000 20 "requests started by -R 500 over 4 s"
assert_eq "$n" "$(jnum open.json .metrics.iterations.values.count)" "one request per iteration"
assert_eq 0 "$(jnum open.json '.metrics.dropped_iterations.values.count // 0')" "dropped iterations against a fast target"
assert_eq 0 "$(jnum open.json .metrics.http_req_failed.values.rate)" "http_req_failed rate"
# Send lag (issue 14): one sample per request, never more than the latency it is part of.
assert_eq "$n" "$(jnum open.json .metrics.http_req_send_lag.values.count)" "one send-lag sample per request"
assert_eq "$n" "$(jnum open.json .metrics.http_req_send_lag_own.values.count)" "one own-lag sample per request"
assert_le "$(jnum open.json '.metrics.http_req_send_lag_own.values.max')" \
    "$(jnum open.json '.metrics.http_req_send_lag.values.max')" "brunt's own part <= the send lag (max)"
assert_le "$(jnum open.json '.metrics.http_req_send_lag.values.max')" \
    "$(jnum open.json '.metrics.http_req_latency.values.max')" "send lag <= latency (max)"
# meta.cpu.send_lag_cpu_bound is a bool (true only when this machine starved brunt).
jval open.json .meta.cpu.send_lag_cpu_bound | grep -qx 'true\|false' || fail "send_lag_cpu_bound is not a bool"
stop_target
