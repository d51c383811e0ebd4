#!/usr/bin/env bash
# Issue 2, 10c: open model at 200 req/s against a target that freezes for 1 s every 4 s.
# Requests that arrive on schedule during a freeze wait for it, so the coordinated-omission
# corrected http_req_latency must show it (p99 >= 800 ms), while http_req_duration's median
# stays near the service time (most requests never meet a freeze).
# e2e: timing (see run.sh: runs alone, after the others)
. "$(dirname "$0")/lib.sh"

start_target --stall-every 4s --stall-for 1s
brunt_run stall -q -R 200 -d 9s --export stall.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
n=$(jnum stall.json .metrics.http_reqs.values.count)
assert_within "$n" 1800 90 "requests at 200/s over 9 s"
lat99=$(jnum stall.json '.metrics.http_req_latency.values["p(99)"]')
dur50=$(jnum stall.json .metrics.http_req_duration.values.med)
lat_max=$(jnum stall.json .metrics.http_req_latency.values.max)
assert_ge "$lat99" 800 "http_req_latency p(99) (ms) across 1 s freezes"
assert_le "$lat_max" 1500 "http_req_latency max (ms): a 1 s freeze plus service time"
assert_lt "$dur50" 50 "http_req_duration median (ms)"
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's"
stop_target
