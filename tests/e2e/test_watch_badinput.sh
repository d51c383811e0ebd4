#!/usr/bin/env bash
# Watching something that is not there, or a target that never comes up, is one clear
# line on stderr and a documented exit code (6: --watch matches nothing, 7: --spawn never
# ready, 2: bad flags), with nothing left running; a success criterion that meets
# neither level exits 99 like a failed threshold.
. "$(dirname "$0")/lib.sh"

start_target
expect() { # NAME CODE PATTERN ARGS...
    local name=$1 code=$2 pattern=$3
    shift 3
    brunt_run "$name" -q -d 1s "$@"
    assert_eq "$code" "$RC" "$name: exit status"
    assert_one_line "$name.err" "$name: stderr"
    grep -q -- "$pattern" "$name.err" || fail "$name: stderr lacks '$pattern': $(cat "$name.err")"
}

# A PID nobody has: the highest one the kernel could give, which no process holds now.
NOPID=$(cat /proc/sys/kernel/pid_max)
NOPID=$((NOPID - 1))
while [[ -e /proc/$NOPID ]]; do NOPID=$((NOPID - 1)); done
expect nopid 6 "no process with PID $NOPID" --watch "$NOPID" "$TARGET_URL/"
expect noname 6 "no process is named 'nosuchproc1234'" --watch nosuchproc1234 "$TARGET_URL/"
expect longname 2 "bad --watch" --watch averyveryverylongname "$TARGET_URL/"
expect readyalone 2 "bad --ready" --ready "port:1" "$TARGET_URL/"
expect badready 2 "--ready 'nonsense'" --spawn "sleep 5" --ready nonsense "$TARGET_URL/"
expect badcrit 2 "bad criterion" --criterion 'process_cpu:avg' "$TARGET_URL/"
expect typocrit 2 "bad criterion" --criterion 'proces_cpu:avg<70' "$TARGET_URL/"
expect loosecrit 2 "stricter than target" --criterion 'http_req_duration:p(95)<400,<300' "$TARGET_URL/"
expect interval 2 "bad --watch-interval" --watch-interval 10ms --watch 1 "$TARGET_URL/"

# --spawn that exits at once: its status and the log's last line.
expect exits 7 "exited with status 3 before it was ready: going down" \
    --spawn "echo going down; exit 3" "$TARGET_URL/"
# --spawn that never listens: bounded by --ready-timeout, and killed afterwards.
PORT=$(free_port)
# A unique sleep length marks the child and the grandchild it starts in the background.
M1="sleep 30.$$$RANDOM"
M2="sleep 31.$$$RANDOM"
expect never 7 "was not ready (port:$PORT) within 1 s" --ready-timeout 1s \
    --spawn "$M2 & $M1" --ready "port:$PORT" "$TARGET_URL/"
for m in "$M1" "$M2"; do
    if pgrep -f "^$m\$" >/dev/null; then
        fail "'$m' of the never-ready command is still running"
    fi
done

# ^C while waiting for --ready ends the wait at once: exit 105 (interrupted), one line,
# and the command it started is stopped.  The wait would last 60 s; brunt is signalled
# once the child (ground truth: /proc, a child of brunt's) exists.
PORT=$(free_port)
M3="sleep 32.$$$RANDOM"
"$BRUNT" run -q -d 1s --ready-timeout 60s --spawn "$M3" --ready "port:$PORT" "$TARGET_URL/" \
    >sigint.out 2>sigint.err &
B=$!
for ((i = 0; i < 200; i++)); do
    pgrep -P "$B" -f "^$M3\$" >/dev/null && break
    sleep 0.05
done
pgrep -P "$B" -f "^$M3\$" >/dev/null || fail "brunt did not start '$M3' within 10 s"
t0=$(now_ms)
kill -INT "$B"
wait_exit "$B" 10
waited=$(($(now_ms) - t0))
_E2E_LAST_RUN=sigint
assert_eq 105 "$WAIT_RC" "^C during the --ready wait: exit status"
assert_le "$waited" 6000 "ms from SIGINT to exit (the child's SIGTERM is answered at once)"
assert_one_line sigint.err "^C during the --ready wait: stderr"
grep -q "interrupted while waiting for '$M3' to be ready" sigint.err ||
    fail "stderr does not say the wait was interrupted: $(cat sigint.err)"
if pgrep -f "^$M3\$" >/dev/null; then
    fail "'$M3' is still running after the interrupted wait"
fi

# A criterion that meets neither level fails the run (99); one that meets only the
# acceptable level warns and passes.
brunt_run crit -q -t 1 -c 1 -d 1s --criterion 'http_reqs:count<1,<2' \
    --criterion 'http_req_failed:rate<0.5' --export crit.json "$TARGET_URL/"
assert_eq 99 "$RC" "a ❌ criterion exits 99"
assert_eq fail "$(jval crit.json '.criteria[0].status')" "first row fails"
assert_eq pass "$(jval crit.json '.criteria[1].status')" "second row passes"
grep -q "SUCCESS CRITERIA" crit.out || fail "no criteria table in the summary"
grep -q "❌ fail" crit.out || fail "no ❌ in the table"
served=$(stats_requests)
brunt_run warn -q -t 1 -c 1 -n 5 --criterion "http_reqs:count<5,<=5" --export warn.json "$TARGET_URL/"
assert_eq 0 "$RC" "a ⚠️ criterion passes the run"
assert_eq warn "$(jval warn.json '.criteria[0].status')" "only the acceptable level met"
assert_eq 5 "$(jnum warn.json '.criteria[0].current')" "current value"
assert_eq $((served + 5)) "$(stats_requests)" "the server counted the 5 requests the row judged"
