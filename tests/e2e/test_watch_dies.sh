#!/usr/bin/env bash
# A watched target that dies mid-run is recorded and the run goes on: brunt spawns
# `brunt serve`, the test kills it (SIGKILL) once it has served requests, and the run
# must finish its duration, count the errors that follow, and report when the target
# ended, by which signal, and what load was running then.  Then the same for a --watch
# PID that is not brunt's child (exit status unknown, the PID and time still recorded).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
timeout -k 5 60 "$BRUNT" run -t 1 -c 2 -R 40 -d 6s --no-summary --export killed.json \
    --spawn "$BRUNT serve -q --port $PORT" --ready "port:$PORT" \
    "http://127.0.0.1:$PORT/" >killed.out 2>killed.err &
RUN=$!
_E2E_PIDS+=("$RUN")
SERVER=
for ((i = 0; i < 200; i++)); do # bounded: up to 10 s for the spawned line
    SERVER=$(sed -n 's/.* as PID \([0-9]*\) .*/\1/p' killed.err 2>/dev/null | head -1) || true # the file may not exist yet
    [[ -n $SERVER ]] && break
    sleep 0.05
done
[[ -n $SERVER ]] || fail "no 'spawned ... as PID' line: $(cat killed.err)"
served=0
for ((i = 0; i < 100; i++)); do # bounded: 10 s for 40 requests to be served
    served=$(curl -s "http://127.0.0.1:$PORT/__stats" | jq -r '.requests // 0' 2>/dev/null || echo 0)
    ((served >= 40)) && break
    sleep 0.1
done
((served >= 40)) || fail "the spawned server served $served requests"
kill -KILL "$SERVER"
log "killed the spawned server (PID $SERVER) after $served requests"
wait_exit "$RUN" 30
_E2E_LAST_RUN=killed
assert_eq 0 "$WAIT_RC" "exit status (no thresholds: the run itself succeeded)"
assert_eq "$SERVER" "$(jval killed.json '.probes.process.targets[0].died.pid')" "dead PID recorded"
assert_eq 9 "$(jval killed.json '.probes.process.targets[0].died.signal')" "signal recorded"
t=$(jnum killed.json '.probes.process.targets[0].died.t_s')
assert_ge "$t" 0.5 "died after the start"
assert_le "$t" 6 "died before the end"
assert_ge "$(jnum killed.json '.probes.process.targets[0].died.rps')" 1 "the load then"
assert_ge "$(jnum killed.json '.meta.duration_ms')" 5900 "the run went on to its end"
assert_ge "$(jnum killed.json '.metrics.http_errors.values.count')" 1 "requests after the death are errors"
kept=$(sed -n 's/.*ended during the run; its output: //p' killed.err)
[[ -n $kept && -f $kept ]] || fail "the dead target's output file is not kept: $(cat killed.err)"

# Not brunt's child: a sleeping process of the test, killed by the test.
start_target
sleep 300 &
VICTIM=$!
_E2E_PIDS+=("$VICTIM")
timeout -k 5 60 "$BRUNT" run -q -t 1 -c 1 -R 20 -d 5s --watch "$VICTIM" --export gone.json \
    "$TARGET_URL/" >gone.out 2>gone.err &
RUN=$!
_E2E_PIDS+=("$RUN")
# Bounded polling (10 s): brunt watches the victim once it holds /proc/VICTIM/stat open.
watching=0
for ((i = 0; i < 200 && !watching; i++)); do
    for b in $(pgrep -P "$RUN"); do
        for fd in /proc/"$b"/fd/*; do
            [[ $(readlink "$fd" 2>/dev/null) == "/proc/$VICTIM/stat" ]] && watching=1
        done
    done
    ((watching)) || sleep 0.05
done
((watching)) || fail "brunt never opened /proc/$VICTIM/stat"
kill -KILL "$VICTIM"
wait_exit "$RUN" 30
_E2E_LAST_RUN=gone
assert_eq 0 "$WAIT_RC" "exit status with a watched PID that died"
assert_eq "$VICTIM" "$(jval gone.json '.probes.process.targets[0].died.pid')" "dead PID recorded"
assert_eq null "$(jval gone.json '.probes.process.targets[0].died.signal')" "no status for a non-child"
grep -q "ended during the run" gone.out || fail "the summary does not say the target ended"
