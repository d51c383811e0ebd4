#!/usr/bin/env bash
# brunt capacity (issue 12) against `brunt serve --service-slots 5 --service-time 50ms`,
# whose capacity is exactly 5 / 50 ms = 100 requests/s (the server's own /__stats says
# so): the rate that held lies within a loose bound below it, the overloaded step served
# about that, the result document says the same as the output; bad input is one line.
. "$(dirname "$0")/lib.sh"

start_target --service-slots 5 --service-time 50ms
slots=$(stats_get .service.slots)
time_ns=$(stats_get .service.time_ns)
cap=$(echo "$slots * 1000000000 / $time_ns" | bc -l)
log "the server's capacity: $slots slots of $time_ns ns = $cap/s"

RC=0
timeout -k 5 120 "$BRUNT" capacity -q --slo 'http_req_duration:p(95)<300' --slo 'http_req_failed:rate<0.01' \
    --from 25 --precision 10 --step 3s --settle 1s --confirm 3s --export cap.json \
    --watch "$TARGET_PID" "$TARGET_URL/" \
    >cap.out 2>cap.err || RC=$?
cat cap.out
assert_eq 0 "$RC" "exit status: a rate held and was confirmed"
held=$(jnum cap.json .result.held)
assert_le "$held" "$cap" "the rate that held is not above the capacity"
assert_ge "$held" "$(echo "$cap * 0.8" | bc -l)" "the rate that held is within 20% of the capacity"
assert_eq true "$(jval cap.json .result.confirmed)" "confirmed"
# the step that broke first was overloaded: it served about the capacity
served=$(jnum cap.json '[.steps[] | select(.held == false and .stopped_early)][0].served')
assert_within "$served" "$cap" "$(echo "$cap * 0.1" | bc -l)" "an overloaded step serves the capacity"
assert_le "$(jnum cap.json .result.test_time_ms)" 60000 "test time"
grep -q "held:   $(printf '%.1f' "$held")/s (confirmed)" cap.out || fail "the output's held rate differs from the result's"
assert_eq brunt-capacity/1 "$(jval cap.json .schema)" "schema"
assert_ge "$(jnum cap.json '.steps | length')" 4 "steps in the result"
# what broke first: the slots (the service sleeps in them), not the target's CPU, which
# the watch saw low on every step (test_capacity_cpu.sh has the CPU-bound case)
cause=$(jval cap.json .result.what_broke_first.cause)
[[ $cause == backlog || $cause == latency ]] || fail "what broke first: '$cause', expected backlog or latency"
assert_lt "$(jnum cap.json '[.steps[].target_cpu_pct] | max')" 60 "the target's CPU while it sleeps"
assert_ge "$(jnum cap.json '[.steps[].target_cpu_pct] | min')" 0 "the target's CPU was measured"
grep -q "none saturated: target CPU at most" cap.out || fail "the output does not say the CPU was not saturated"

# the closed model: 1, 2, 5 and 10 VUs against 5 slots of 50 ms serve 20, 40, 100 and
# 100 requests/s; the USL fitted to them levels off or peaks near the capacity
RC=0
timeout -k 5 120 "$BRUNT" capacity -q --concurrency 1,2,5,10 --slo 'http_req_duration:p(95)<1000' \
    --step 3s --settle 1s --export closed.json "$TARGET_URL/" >closed.out 2>closed.err || RC=$?
cat closed.out
assert_eq 0 "$RC" "closed model: exit"
assert_eq closed "$(jval closed.json .result.model)" "the model"
assert_within "$(jnum closed.json '.steps[0].served')" 20 3 "one VU serves 1 / 50 ms"
assert_within "$(jnum closed.json '.steps[3].served')" "$cap" "$(echo "$cap * 0.1" | bc -l)" "10 VUs: the capacity"
assert_eq 4 "$(jnum closed.json .result.usl.points)" "points fitted"
peak=$(jnum closed.json '.result.usl.peak_throughput')
assert_within "$peak" "$cap" "$(echo "$cap * 0.3" | bc -l)" "the USL's peak (or asymptote) near the capacity"
grep -q 'USL fit over 4 steps' closed.out || fail "the USL line is missing"

bad() { # bad NAME EXPECTED_RC WORDS ARGS...
    local name=$1 want=$2 words=$3
    shift 3
    RC=0
    timeout -k 5 60 "$BRUNT" capacity "$@" >"$name.out" 2>"$name.err" || RC=$?
    assert_eq "$want" "$RC" "$name: exit"
    assert_one_line "$name.err" "$name: one line"
    grep -q "$words" "$name.err" || fail "$name: '$words' not in: $(cat "$name.err")"
}
bad noslo 2 'at least one objective' "$TARGET_URL/"
bad badslo 2 'bad --slo' --slo 'http_req_duration:p(95)<<300' "$TARGET_URL/"
bad badmetric 2 'bad --slo' --slo 'http_req_durtion:p(95)<300' "$TARGET_URL/"
bad badprec 2 'expected a percentage' --slo 'http_req_failed:rate<0.01' --precision 0 "$TARGET_URL/"
bad noexportdir 2 'not writable' --slo 'http_req_failed:rate<0.01' --export /nonexistent/dir/c.json "$TARGET_URL/"
bad notarget 2 'neither a URL' --slo 'http_req_failed:rate<0.01' nothing
bad nowatch 6 "no process is named" -q --slo 'http_req_failed:rate<0.01' --watch no-such-comm "$TARGET_URL/"
bad badwatch 2 'expected a PID or a command name' --slo 'http_req_failed:rate<0.01' --watch this-name-is-far-too-long "$TARGET_URL/"
bad badconc 2 'a list of at most 32 VU counts' --slo 'http_req_failed:rate<0.01' --concurrency 1,x "$TARGET_URL/"
bad unreachable 3 '' -q --slo 'http_req_failed:rate<0.01' "http://127.0.0.1:$(free_port)/"
