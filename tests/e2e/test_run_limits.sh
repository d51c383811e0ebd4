#!/usr/bin/env bash
# Issue 7 item 2, "never hung, never flooding": with too few file descriptors for the
# VUs, brunt warns before the start, ends on time, and counts the failed connects as
# errors{kind:nofile}, a few per VU (capped backoff), not hundreds of thousands; a
# target that dies mid-run is retried with the same backoff; SIGHUP ends a run as SIGTERM
# does (summary, result, exit 105).
. "$(dirname "$0")/lib.sh"

start_target

# 1. 200 VUs under `ulimit -n 64`: most connects fail at once with EMFILE.
log "ulimit -n 64; brunt run -c 200 -d 2s"
rc=0
(
    ulimit -n 64
    exec timeout -k 5 30 "$BRUNT" run -q -c 200 -d 2s --export nofile.json "$TARGET_URL/"
) >nofile.out 2>nofile.err || rc=$?
assert_eq 0 "$rc" "exit status with too few descriptors (rc 124 means it hung)"
grep -q 'warning: the descriptor limit (ulimit -n) is 64' nofile.err ||
    fail "no warning about the descriptor limit before the start: $(cat nofile.err)"
nofile=$(jnum nofile.json .errors.nofile)
assert_ge "$nofile" 1 "errors.nofile"
assert_eq 0 "$(jnum nofile.json .errors.connect)" "errors.connect (EMFILE is its own kind)"
# Backoff 1 ms doubling to 1 s: about 11 tries per VU in 2 s, so at most ~2,400 in all;
# without it, over 200,000.
assert_le "$nofile" 5000 "failed connects counted (capped backoff per VU)"
served=$(stats_requests)
ok=$(jq '[.metrics.http_reqs.series[] | select(.tags.status == "200") | .values.count] | add // 0' nofile.json)
assert_eq "$served" "$ok" "answers counted vs requests the server served"
stop_target

# 2. The target dies mid-run: refused connects back off the same way.
start_target
log "brunt run -c 4 -d 3s, target killed once it has served something"
"$BRUNT" run -q -c 4 -d 3s --export refused.json "$TARGET_URL/" >refused.out 2>refused.err &
pid=$!
_E2E_PIDS+=("$pid")
for ((i = 0; i < 200; i++)); do
    served=$(stats_requests)
    ((served > 0)) && break
    sleep 0.05
done
((served > 0)) || fail "the server saw no request within 10 s"
kill -KILL "$TARGET_PID"
wait "$TARGET_PID" 2>/dev/null || true
wait_exit "$pid" 30
assert_eq 0 "$WAIT_RC" "exit status after the target died"
refused=$(jnum refused.json .errors.refused)
assert_ge "$refused" 1 "errors.refused after the target died"
assert_le "$refused" 200 "refused connects counted in 3 s by 4 VUs (capped backoff)"

# 3. SIGHUP ends the run like SIGTERM: summary, result, exit 105.
start_target
log "brunt run -c 2 -d 60s, then SIGHUP"
env --default-signal=HUP "$BRUNT" run -c 2 -d 60s --export hup.json "$TARGET_URL/" \
    >hup.out 2>hup.err &
pid=$!
_E2E_PIDS+=("$pid")
for ((i = 0; i < 200; i++)); do
    served=$(stats_requests)
    ((served > 0)) && break
    sleep 0.05
done
((served > 0)) || fail "the server saw no request within 10 s"
kill -HUP "$pid"
wait_exit "$pid" 15
assert_eq 105 "$WAIT_RC" "exit status after SIGHUP"
grep -q 'http_req_duration' hup.out || fail "no summary after SIGHUP"
assert_eq true "$(jval hup.json .meta.interrupted)" "meta.interrupted after SIGHUP"
assert_ge "$(jnum hup.json .metrics.http_reqs.values.count)" 1 "http_reqs after SIGHUP"
stop_target
