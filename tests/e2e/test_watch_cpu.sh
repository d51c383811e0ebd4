#!/usr/bin/env bash
# The CPU brunt reports for a watched process agrees with what this test reads itself
# from /proc/PID/stat over the same window.
#
# The watched process is a busy child of the test (a shell loop, ~100 % of a core when
# it gets one).  While brunt runs, the test records utime+stime of the child every 100 ms
# with the wall clock.  brunt's result has one sample per second (series.wall_ms and
# process_cpu_core, % of one core); over brunt's window [first sample, last sample] the
# test interpolates its own cumulative ticks at both ends and computes the average CPU.
#
# Tolerance: 6 percentage points of a core.  Both sides read the same counters (USER_HZ =
# 100 ticks/s), so each end of each window is uncertain by one tick (10 ms) plus the
# interpolation over 100 ms of the test's own polling (at most 10 ms of CPU at 100 %):
# about 40 ms of CPU over a window of at least 5 s, under 1 %.  The rest is the delay
# between brunt reading /proc and stamping the wall clock on a loaded, shared machine.
. "$(dirname "$0")/lib.sh"

start_target
sh -c 'while :; do :; done' &
BUSY=$!
_E2E_PIDS+=("$BUSY")
HZ=$(getconf CLK_TCK)

# poll_cpu PID OUT STOP: the test's own /proc reader, "wall_ms ticks" every 100 ms until
# the file STOP exists (60 s cap), and one more reading after it.
poll_cpu() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys, time
pid, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
with open(out, "w") as f:
    t_end = time.time() + 60
    while time.time() < t_end:
        done = os.path.exists(stop)  # one more reading after brunt has ended
        try:
            with open(f"/proc/{pid}/stat") as s:
                fields = s.read().rsplit(")", 1)[1].split()
        except OSError:
            break  # the process is gone (a spawned server stopped after the run)
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        f.write(f"{time.time() * 1000:.1f} {ticks}\n")
        f.flush()
        if done:
            break
        time.sleep(0.1)
PY
}
poll_cpu "$BUSY" "$E2E_TMP/truth.txt" "$E2E_TMP/stop" &
READER=$!
_E2E_PIDS+=("$READER")
for ((i = 0; i < 100; i++)); do # bounded: the reader's first line within 10 s
    [[ -s $E2E_TMP/truth.txt ]] && break
    sleep 0.1
done
[[ -s $E2E_TMP/truth.txt ]] || fail "the test's /proc reader did not start"

brunt_run cpu -q -t 1 -c 1 -R 50 -d 7s --watch "$BUSY" --export result.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
touch "$E2E_TMP/stop"
wait_exit "$READER" 10

# compare RESULT TRUTH: brunt's CPU over its window against the test's readings.
compare() {
    python3 - "$1" "$2" "$HZ" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
hz = float(sys.argv[3])
t = doc["probes"]["process"]["targets"][0]
wall = t["series"]["wall_ms"]
cpu = t["series"]["process_cpu_core"]
truth = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
assert cpu[0] is None, "the first sample primes: it has no rate"
# brunt's window: its samples that the test's readings cover (sample i is the CPU over
# (wall[i-1], wall[i]]).
idx = [i for i, w in enumerate(wall) if truth[0][0] <= w <= truth[-1][0]]
a, b = idx[0], idx[-1]
w0, w1 = wall[a], wall[b]
assert w1 - w0 >= 4000, f"brunt's window covered by the test is {w1 - w0} ms"
brunt_cpu_s = sum(cpu[i] / 100 * (wall[i] - wall[i - 1]) / 1000 for i in range(a + 1, b + 1))
brunt_avg = brunt_cpu_s / ((w1 - w0) / 1000) * 100

def ticks_at(w):
    for (a, ta), (b, tb) in zip(truth, truth[1:]):
        if a <= w <= b:
            return ta + (tb - ta) * (w - a) / (b - a)
    raise SystemExit(f"FAIL: the test's own readings ({truth[0][0]}..{truth[-1][0]}) do not cover wall {w}")
true_avg = (ticks_at(w1) - ticks_at(w0)) / hz / ((w1 - w0) / 1000) * 100
print(f"# brunt {brunt_avg:.1f}% of a core, /proc read by the test {true_avg:.1f}% over {(w1 - w0) / 1000:.1f} s")
if abs(brunt_avg - true_avg) > 6:
    raise SystemExit(f"FAIL: brunt says {brunt_avg:.1f}%, the test read {true_avg:.1f}%")
# process_cpu is the same over the CPUs the child may use (its affinity).
allowed = t["allowed_cpus"]
alt = t["summary"]["process_cpu"]["avg"] * allowed
core = t["summary"]["process_cpu_core"]["avg"]
if abs(alt - core) > 0.5:
    raise SystemExit(f"FAIL: process_cpu {alt} x {allowed} CPUs != process_cpu_core {core}")
PY
}
compare result.json "$E2E_TMP/truth.txt"
# The metric joins the run's metrics with the target tag.
jq -e '.metrics.process_cpu_core.series | map(select(.tags.target != null)) | length == 1' result.json >/dev/null \
    || fail "process_cpu_core has no series tagged target"
grep -q "watched: $BUSY" cpu.out || fail "summary has no section for the watched process"

# The CPUs a process may use are those any of its threads may run on: with its main
# thread alone pinned to core 0 the target's serving thread still runs anywhere, so the
# CPU it may use is the union of its threads' affinities, as this test reads them from
# /proc/PID/task/*/status; with every thread pinned, one CPU.
union_cpus() {
    python3 - "$1" <<'PY'
import glob, sys
cpus = set()
for f in glob.glob(f"/proc/{sys.argv[1]}/task/*/status"):
    for line in open(f):
        if line.startswith("Cpus_allowed_list:"):
            for part in line.split(":")[1].strip().split(","):
                a, _, b = part.partition("-")
                cpus.update(range(int(a), int(b or a) + 1))
print(len(cpus))
PY
}
taskset -p -c 0 "$TARGET_PID" >/dev/null || fail "taskset could not pin the main thread"
want=$(union_cpus "$TARGET_PID")
if (($(nproc) > 1)); then
    assert_ge "$want" 2 "CPUs the target's threads may use with its main thread alone pinned"
fi
brunt_run pinned-main -q -t 1 -c 1 -R 20 -d 2s --watch "$TARGET_PID" --export pinned-main.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
assert_eq "$want" "$(jnum pinned-main.json '.probes.process.targets[0].allowed_cpus')" \
    "allowed_cpus with the main thread alone pinned (the union of the threads')"
taskset -a -p -c 0 "$TARGET_PID" >/dev/null || fail "taskset could not pin every thread"
assert_eq 1 "$(union_cpus "$TARGET_PID")" "CPUs the target may use with every thread pinned"
brunt_run pinned-all -q -t 1 -c 1 -R 20 -d 2s --watch "$TARGET_PID" --export pinned-all.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
assert_eq 1 "$(jnum pinned-all.json '.probes.process.targets[0].allowed_cpus')" \
    "allowed_cpus with every thread pinned"

# The same for a spawned `brunt serve --burn 5ms` (5 ms of CPU per request) at 40 req/s:
# about 20 % of a core plus the serving itself.
PORT=$(free_port)
timeout -k 5 60 "$BRUNT" run -q -t 1 -c 2 -R 40 -d 7s --export burn.json \
    --spawn "$BRUNT serve -q --port $PORT --burn 5ms" --ready "port:$PORT" \
    "http://127.0.0.1:$PORT/" >burn.out 2>burn.err &
RUN=$!
_E2E_PIDS+=("$RUN")
SERVER=
for ((i = 0; i < 200; i++)); do # bounded: 10 s for the spawned line
    SERVER=$(sed -n 's/.* as PID \([0-9]*\) .*/\1/p' burn.err 2>/dev/null | head -1) || true # the file may not exist yet
    [[ -n $SERVER ]] && break
    sleep 0.05
done
[[ -n $SERVER ]] || fail "no 'spawned ... as PID' line: $(cat burn.err)"
poll_cpu "$SERVER" "$E2E_TMP/burn-truth.txt" "$E2E_TMP/burn-stop" &
READER=$!
_E2E_PIDS+=("$READER")
# The server lives until brunt stops it: stop reading once brunt has exported.
for ((i = 0; i < 400; i++)); do # bounded: 20 s
    [[ -s burn.json ]] && break
    alive "$RUN" || break
    sleep 0.05
done
touch "$E2E_TMP/burn-stop"
wait_exit "$READER" 10
wait_exit "$RUN" 30
_E2E_LAST_RUN=burn
assert_eq 0 "$WAIT_RC" "exit status of the --burn run"
compare burn.json "$E2E_TMP/burn-truth.txt"
