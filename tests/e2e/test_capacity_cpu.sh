#!/usr/bin/env bash
# brunt capacity --watch (issue 12, "what broke first"): a target that spends 2 ms of CPU
# on every request, pinned to one core, saturates its CPU before anything else: the
# breaking step shows the target's CPU at 90% or more and the result names the target's
# CPU as what broke first (the latency objective is loose, 1 s, so that a stall of this
# shared machine does not break it before the queue does).  The first step's CPU is
# bounded below by the server's own work (requests x 2 ms, from its /__stats).
. "$(dirname "$0")/lib.sh"

start_target --burn 2ms
# every thread (-a): pinning the main thread alone leaves the serving thread free to run
# beside brunt on core 1 while core 0 idles, and its CPU is then of two cores, not one
taskset -a -p -c 0 "$TARGET_PID" >/dev/null || fail "taskset could not pin the target"

RC=0
# brunt on the other core, one worker: the target's core is its own, so what saturates
# is the target and not a generator competing for its CPU
timeout -k 5 150 taskset -c 1 "$BRUNT" capacity -q -t 1 --slo 'http_req_duration:p(95)<1000' \
    --from 300 --precision 10 --step 3s --settle 1s --confirm 3s --watch "$TARGET_PID" \
    --export cap.json "$TARGET_URL/" >cap.out 2>cap.err || RC=$?
cat cap.out
[[ $RC == 0 || $RC == 114 ]] || fail "exit $RC: $(cat cap.err)"
assert_eq "target CPU" "$(jval cap.json .result.what_broke_first.cause)" "what broke first"
assert_ge "$(jnum cap.json .result.what_broke_first.use_pct)" 90 "the CPU at saturation"
grep -q "what broke first: the target's CPU" cap.out || fail "the output does not name the CPU"
# the first step at 300/s (60% of the core's 500/s): the server's own CPU per request
# (its /__stats burn counters) times 300/s is a floor of what brunt saw (the requests'
# parsing comes on top).  Starting near the capacity keeps the search short: on this
# shared machine every extra step is another chance for a stall to break one.
per_req_ns=$(echo "$(stats_get .burn.cpu_ns) / $(stats_get .burn.requests)" | bc -l)
floor=$(echo "300 * $per_req_ns / 10000000 * 0.9" | bc -l)
first=$(jnum cap.json '.steps[0].target_cpu_pct')
assert_ge "$first" "$floor" "the first step's CPU (the server's work: ${per_req_ns} ns a request at 300/s)"
assert_le "$first" 100 "the first step's CPU"
