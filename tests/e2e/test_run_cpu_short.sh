#!/usr/bin/env bash
# Issue 14: a run in which brunt itself is short of CPU while its requests leave late says
# so: a WARN line and meta.cpu.send_lag_cpu_bound.  brunt runs at nice 19 on the core of
# a busy loop at nice 0, so it waits for the CPU (schedstat's run-queue wait) and its
# sends lag by far more than a millisecond (on a quiet machine the same run without the
# neighbour reports no such thing; a loaded one may, rightly).
# e2e: timing
. "$(dirname "$0")/lib.sh"

core=$(($(nproc) - 1))
start_target
timeout -k 1 60 taskset -c "$core" bash -c 'while :; do :; done' &
spin=$!
_E2E_PIDS+=("$spin")
RC=0
timeout -k 5 60 taskset -c "$core" nice -n 19 "$BRUNT" run -t 1 -R 500 -d 4s \
    --export short.json "$TARGET_URL/" >short.out 2>short.err || RC=$?
kill "$spin" 2>/dev/null || true
wait "$spin" 2>/dev/null || true
assert_no_crash "$RC" "brunt run under a busy neighbour"
assert_eq 0 "$RC" "exit status (a warning is not a failure)"
assert_eq true "$(jval short.json .meta.cpu.send_lag_cpu_bound)" "meta.cpu.send_lag_cpu_bound"
assert_ge "$(jnum short.json .meta.cpu.cpu_short_seconds)" 1 "seconds short of CPU"
grep -q 'WARN brunt was short of CPU in [0-9]* s of the run' short.out ||
    fail "no short-of-CPU warning in the summary: $(grep WARN short.out || true)"
lag=$(jnum short.json '.metrics.http_req_send_lag.values["p(99)"]')
assert_ge "$lag" 1 "http_req_send_lag p99 (ms) under a busy neighbour"
grep -q 'http_req_send_lag' short.out || fail "a material send lag is not in the summary"
# Every request was sent once and is counted once, as the server saw it.
n=$(jnum short.json .metrics.http_reqs.values.count)
assert_eq "$n" "$(jnum short.json .metrics.http_req_send_lag.values.count)" "one send-lag sample per request"
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's http_reqs"
stop_target
