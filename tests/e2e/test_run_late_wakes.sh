#!/usr/bin/env bash
# Issue 14: a run whose requests left late because the platform held brunt back (woke it
# late: a paused machine, a hypervisor's steal, a stopped process) says so, apart from
# the seconds in which brunt itself was short of CPU.  The test pauses brunt as a
# hypervisor would: SIGSTOP for 30 ms every 100 ms over 2 s of a 7 s open-model run
# (about four seconds stay calm).  A stopped thread is neither on a core nor in the run
# queue, so schedstat does not see it; only the loop's own account of its waits (asked
# to wake at T, woke at T + 30 ms) does.
# e2e: timing
. "$(dirname "$0")/lib.sh"

start_target
RC=0
"$BRUNT" run -t 1 -R 1000 -d 7s --export late.json "$TARGET_URL/" >late.out 2>late.err &
pid=$!
_E2E_PIDS+=("$pid")
# The pauses: from 1.5 s to 3.5 s of the run (the injected fault's own timing).
python3 - "$pid" <<'PY'
import os, signal, sys, time
pid = int(sys.argv[1])
time.sleep(1.5)
t_end = time.time() + 2.0
try:
    while time.time() < t_end:
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.03)
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.07)
finally:
    os.kill(pid, signal.SIGCONT)
PY
wait_exit "$pid" 30
RC=$WAIT_RC
assert_no_crash "$RC" "brunt run, paused"
assert_eq 0 "$RC" "exit status (a warning is not a failure)"
cpu='.meta.cpu'
assert_eq true "$(jval late.json "$cpu.send_lag_held_back")" "meta.cpu.send_lag_held_back"
assert_ge "$(jnum late.json "$cpu.held_back_seconds")" 2 "seconds held back (2 s of pauses)"
# 20 pauses of 30 ms, each ending one wait for a timer about 30 ms late.
assert_ge "$(jnum late.json "$cpu.late_wakes")" 10 "late wakes (20 pauses of 30 ms)"
assert_le "$(jnum late.json "$cpu.late_wakes")" "$(jnum late.json "$cpu.timer_waits")" \
    "late wakes are among the waits for a timer"
assert_ge "$(jnum late.json "$cpu.wake_late_max_ms")" 20 "the latest wake (ms) after a 30 ms pause"
grep -q 'WARN the system held brunt back in [0-9]* s' late.out ||
    fail "no held-back warning in the summary: $(grep WARN late.out || true)"
# Every second with sends is judged once: short of CPU, held back, or had its CPU (the
# calm seconds may count as held back too: this VM wakes a 500 µs timer 0.5 ms late in
# about 1% of waits, enough for a p99 of 1 ms).  The send lag of the seconds that had
# the CPU, when there are some, is far below the paused seconds' tens of ms.
all=$(jnum late.json '.metrics.http_req_send_lag.values["p(99)"]')
assert_ge "$all" 10 "http_req_send_lag p99 (ms) over the whole run, paused"
judged=$(jq '.meta.cpu | .cpu_short_seconds + .held_back_seconds + .had_cpu_seconds' late.json)
assert_le "$judged" 8 "seconds judged (7 s and the last part-second)"
if (($(jnum late.json "$cpu.had_cpu_seconds") > 0)); then
    had=$(jnum late.json "$cpu.send_lag_p99_had_cpu_ms")
    assert_le "$had" "$(awk -v a="$all" 'BEGIN { print a / 4 }')" \
        "send-lag p99 (ms) over the seconds brunt had its CPU, against the whole run's $all"
else
    assert_eq null "$(jval late.json "$cpu.send_lag_p99_had_cpu_ms")" "no p99 without a second that had the CPU"
fi
# Per request, brunt's own part of the send lag leaves out how late the system woke it
# for the send's turn: the 30 ms pauses are not in it.
own=$(jnum late.json '.metrics.http_req_send_lag_own.values["p(99)"]')
assert_le "$own" "$(awk -v a="$all" 'BEGIN { print a / 4 }')" \
    "http_req_send_lag_own p99 (ms), against http_req_send_lag's $all"
assert_eq "$(jnum late.json .metrics.http_req_send_lag.values.count)" \
    "$(jnum late.json .metrics.http_req_send_lag_own.values.count)" "one own-lag sample per send"
grep -q 'http_req_send_lag_own' late.out || fail "the summary does not show brunt's own send lag"
# Nothing sent is lost: every request is counted once, as the server saw it.
n=$(jnum late.json .metrics.http_reqs.values.count)
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's http_reqs"
stop_target
