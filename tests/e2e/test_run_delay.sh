#!/usr/bin/env bash
# Issue 2, 10b: with a fixed 20 ms delay injected by the target, brunt's reported p50 and
# p99 of http_req_duration are within 5% + 1 ms of 20 ms.
. "$(dirname "$0")/lib.sh"

start_target --delay 20ms
brunt_run delay -q -t 1 -c 4 -d 3s --export delay.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
n=$(jnum delay.json .metrics.http_reqs.values.count)
# 4 connections x 3 s / 20 ms = 600 at most.
assert_ge "$n" 300 "requests at 20 ms each over 4 connections for 3 s"
assert_le "$n" 620 "requests at 20 ms each over 4 connections for 3 s"
tol=2 # 5% of 20 ms + 1 ms
med=$(jnum delay.json .metrics.http_req_duration.values.med)
p99=$(jnum delay.json '.metrics.http_req_duration.values["p(99)"]')
min=$(jnum delay.json .metrics.http_req_duration.values.min)
assert_within "$med" 20 "$tol" "http_req_duration p50 (ms)"
assert_within "$p99" 20 "$tol" "http_req_duration p99 (ms)"
assert_ge "$min" 19.9 "no response faster than the injected delay (ms)"
stop_target
