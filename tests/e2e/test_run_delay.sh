#!/usr/bin/env bash
# e2e: timing (see run.sh: runs alone, after the others)
# Issue 2, 10b, and issue 7 item 14: with a fixed 20 ms delay injected by the target,
# brunt's reported http_req_duration agrees with the server's own timing of the same
# answers, taken in the same run (/__stats "answers": from a request received whole to
# its answer released, on the same monotonic clock).  Every duration brunt measures
# contains the server's time for that request, so brunt's quantiles and mean are never
# below the server's; and brunt's median is within 5% + 1 ms of the server's median.
# Judged this way a busy machine moves both sides and cannot fail the test; the
# absolute check (p50 and p99 within 5% + 1 ms of 20 ms) is bench/delay.sh's, on an idle
# machine.
. "$(dirname "$0")/lib.sh"

start_target --delay 20ms
t0=$(now_ms)
brunt_run delay -q -t 1 -c 4 -d 3s --export delay.json "$TARGET_URL/"
t1=$(now_ms)
assert_eq 0 "$RC" "exit status"
n=$(jnum delay.json .metrics.http_reqs.values.count)
assert_eq "$(stats_requests)" "$n" "requests brunt counted vs the server's count"
assert_eq "$n" "$(stats_get .answers.count)" "answers the server timed"
# 4 connections x 3 s / 20 ms = 600 at most (plus the 4 in flight at the end).
assert_ge "$n" 100 "requests at 20 ms each over 4 connections for 3 s"
assert_le "$n" 620 "requests at 20 ms each over 4 connections for 3 s"

ms() { awk -v v="$1" 'BEGIN { printf "%.6f", v / 1e6 }'; }
srv_min=$(ms "$(stats_get .answers.min_ns)")
srv_p50=$(ms "$(stats_get .answers.p50_ns)")
srv_p99=$(ms "$(stats_get .answers.p99_ns)")
srv_mean=$(awk -v s="$(stats_get .answers.sum_ns)" -v c="$(stats_get .answers.count)" \
    'BEGIN { printf "%.6f", s / c / 1e6 }')
log "server's own timing: min $srv_min, p50 $srv_p50, p99 $srv_p99, mean $srv_mean ms"
assert_ge "$srv_min" 19.9 "the server held every answer for its 20 ms (ms)"

min=$(jnum delay.json .metrics.http_req_duration.values.min)
med=$(jnum delay.json .metrics.http_req_duration.values.med)
p99=$(jnum delay.json '.metrics.http_req_duration.values["p(99)"]')
avg=$(jnum delay.json .metrics.http_req_duration.values.avg)
assert_ge "$min" 19.9 "no response faster than the injected delay (ms)"
# brunt's histogram is within 0.1%: allow that below the server's figures.
floor() { awk -v v="$1" 'BEGIN { printf "%.6f", v * 0.999 }'; }
assert_ge "$med" "$(floor "$srv_p50")" "brunt's p50 is not below the server's own p50 (ms)"
assert_ge "$p99" "$(floor "$srv_p99")" "brunt's p99 is not below the server's own p99 (ms)"
assert_ge "$avg" "$(floor "$srv_mean")" "brunt's mean is not below the server's own mean (ms)"
# Each connection's requests follow one another: their durations fit in the wall time.
assert_le "$avg" "$(awk -v w="$((t1 - t0))" -v n="$n" 'BEGIN { printf "%.6f", 4 * w / n }')" \
    "brunt's mean fits in 4 connections x the run's wall time / requests (ms)"
# The server's p50 is the lower edge of a bucket 1/64 wide: 5% + 1.6% + 1 ms above it.
assert_le "$med" "$(awk -v s="$srv_p50" 'BEGIN { printf "%.6f", s * 1.066 + 1 }')" \
    "brunt's p50 within 5% + 1 ms of the server's own p50 (ms)"
stop_target
