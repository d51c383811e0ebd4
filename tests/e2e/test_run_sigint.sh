#!/usr/bin/env bash
# Issue 2, 10f: SIGINT mid-run stops the load, waits for in-flight requests (grace), prints
# the summary, writes a valid result marked interrupted, and exits 105. A second SIGINT
# during the grace period stops at once and still writes the result, with the requests it
# cut off counted as interrupted.
. "$(dirname "$0")/lib.sh"

start_target

# brunt is a background job of a non-interactive shell, which would start it with SIGINT
# ignored; env --default-signal gives it the disposition a terminal user's brunt has.
log "brunt run -c 4 -d 60s --export int.json $TARGET_URL/ (background)"
env --default-signal=INT "$BRUNT" run -c 4 -d 60s --export int.json "$TARGET_URL/" \
    >int.out 2>int.err &
pid=$!
_E2E_PIDS+=("$pid")
_E2E_LAST_RUN=int

# The run is underway once the server has served something.
for ((i = 0; i < 200; i++)); do
    served=$(stats_requests)
    ((served > 0)) && break
    alive "$pid" || fail "brunt exited before sending a request"
    sleep 0.05
done
((served > 0)) || fail "the server saw no request within 10 s of starting brunt"
t0=$(now_ms)
kill -INT "$pid"
wait_exit "$pid" 15
elapsed=$(($(now_ms) - t0))
log "brunt exited $WAIT_RC, ${elapsed} ms after SIGINT"
assert_eq 105 "$WAIT_RC" "exit status after SIGINT"
assert_le "$elapsed" 7000 "ms from SIGINT to exit (grace is 5 s, requests take ~0)"
grep -q 'http_req_duration' int.out || fail "no end-of-test summary on stdout after SIGINT"
jq -e . int.json >/dev/null || fail "int.json is not valid JSON"
assert_eq brunt-result/1 "$(jval int.json .schema)" "schema"
n=$(jnum int.json .metrics.http_reqs.values.count)
assert_ge "$n" 1 "http_reqs in the interrupted result"
assert_eq true "$(jval int.json .meta.interrupted)" "meta.interrupted"
assert_eq 105 "$(jnum int.json .meta.exit_code)" "meta.exit_code"
assert_lt "$(jnum int.json .meta.duration_ms)" 60000 "meta.duration_ms of the interrupted run"
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's after SIGINT (grace waited for in-flight)"
ls int.json.tmp.* >/dev/null 2>&1 && fail "a temporary result file was left behind: $(ls int.json.tmp.*)"

# Second SIGINT: requests that take 20 s are in flight, grace is 30 s; the first SIGINT
# starts the grace period, the second must end the run at once.
base=$(stats_requests)
log "brunt run -c 2 -d 60s --grace 30s --export int2.json $TARGET_URL/delay/20000 (background)"
env --default-signal=INT "$BRUNT" run -c 2 -d 60s --grace 30s --export int2.json \
    "$TARGET_URL/delay/20000" >int2.out 2>int2.err &
pid=$!
_E2E_PIDS+=("$pid")
_E2E_LAST_RUN=int2
for ((i = 0; i < 200; i++)); do
    conns=$(ss -Htn state established "( dport = :$TARGET_PORT )" | wc -l)
    ((conns >= 2)) && break
    alive "$pid" || fail "brunt exited before connecting"
    sleep 0.05
done
((conns >= 2)) || fail "brunt did not open its 2 connections within 10 s"
kill -INT "$pid"
# Two presses of Ctrl-C are two separate events; a second signal sent before the first
# is handled would merge with it, so the second press comes a human-like moment later.
sleep 1
alive "$pid" || fail "brunt exited on the first SIGINT although requests were in flight and --grace is 30s"
t0=$(now_ms)
kill -INT "$pid"
wait_exit "$pid" 10
elapsed=$(($(now_ms) - t0))
log "brunt exited $WAIT_RC, ${elapsed} ms after the second SIGINT"
assert_eq 105 "$WAIT_RC" "exit status after a second SIGINT"
assert_le "$elapsed" 3000 "ms from the second SIGINT to exit"
jq -e . int2.json >/dev/null || fail "int2.json is not valid JSON"
assert_eq true "$(jval int2.json .meta.interrupted)" "meta.interrupted after a second SIGINT"
# The two requests the second SIGINT cut off are in the verdict, not dropped: as many as
# the server received, each failed with kind interrupted, each iteration interrupted.
n=$(jnum int2.json .metrics.http_reqs.values.count)
assert_eq "$(($(stats_requests) - base))" "$n" "brunt's http_reqs vs the requests the server received"
assert_eq 2 "$n" "http_reqs after a second SIGINT (one in flight per VU)"
assert_eq 2 "$(jnum int2.json .errors.interrupted)" "errors.interrupted after a second SIGINT"
assert_eq 2 "$(jnum int2.json .metrics.interrupted_iterations.values.count)" "interrupted_iterations"
stop_target
