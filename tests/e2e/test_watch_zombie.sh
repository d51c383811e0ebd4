#!/usr/bin/env bash
# A child of a watched process that has ended but is not reaped yet (a zombie) still has
# its final CPU times in /proc/PID/stat, and brunt counts its last slice from there.
# Before, a zombie counted as gone and the CPU it used since brunt's last sample came
# back only through the parent's cutime once the parent reaped it: never, in a window
# that ends before the reap (it made test_watch_tree 11 points short in a CI run).
#
# The parent forks three busy children, started 0.33 s apart so that their deaths fall
# at three phases of brunt's 1 s sampling, and reaps none of them until after brunt's
# run.  Without the zombie's slice brunt loses the CPU from each child's last sample to
# its end: whatever the phase, three phases a third of a second apart lose 1 s of CPU
# together.  The parent logs the tree's CPU as the kernel counts it (its own ticks and
# every child's, zombies included) every 20 ms; brunt's total over its window must be
# within 0.1 s of CPU of it (each process's ticks are uncertain by one tick at each end,
# plus the interpolation of the parent's log), and it must count three ended children.
# Then a zombie that is not an end: a group leader whose other thread still runs.
. "$(dirname "$0")/lib.sh"

start_target
python3 - "$E2E_TMP/children.log" "$E2E_TMP/go" <<'PY' &
import os, sys, time
log = open(sys.argv[1], "w", buffering=1)
log.write("ready\n")
t_end = time.time() + 30
while not os.path.exists(sys.argv[2]) and time.time() < t_end:  # bounded: 30 s
    time.sleep(0.01)
t0 = time.time()
kids = []
ended = set()
while time.time() < t0 + 10:
    if len(kids) < 3 and time.time() >= t0 + 0.3 + len(kids) / 3:
        pid = os.fork()
        if pid == 0:
            stop = time.time() + 1.2
            while time.time() < stop:
                pass
            os._exit(0)
        kids.append(pid)
        log.write(f"start {pid} {time.time() * 1000:.0f}\n")
    ticks = 0
    for pid in [os.getpid()] + kids:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        ticks += int(f[11]) + int(f[12])
        if f[0] == "Z" and pid not in ended:
            ended.add(pid)
            log.write(f"end {pid} {time.time() * 1000:.0f}\n")
    log.write(f"cpu {ticks} {time.time() * 1000:.0f}\n")
    time.sleep(0.005 if len(kids) < 3 else 0.02)
for pid in kids:
    os.waitpid(pid, 0)
PY
PARENT=$!
_E2E_PIDS+=("$PARENT")

# brunt starts once this is the real python: a python3 that is a version manager's shim
# runs helpers first, and brunt would count their exits.
for ((i = 0; i < 100; i++)); do # bounded: 10 s
    grep -q ready "$E2E_TMP/children.log" 2>/dev/null && break
    sleep 0.1
done
touch "$E2E_TMP/go"
brunt_run zombie -q -t 1 -c 1 -R 20 -d 5s --watch "$PARENT" --export result.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"

python3 - result.json "$E2E_TMP/children.log" "$(getconf CLK_TCK)" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
t = doc["probes"]["process"]["targets"][0]
s = t["series"]
wall = s["wall_ms"]
pts = list(zip(wall, s["process_cpu_core"]))
brunt_s = sum(c / 100 * (pts[i][0] - pts[i - 1][0]) / 1000 for i, (w, c) in enumerate(pts) if i > 0 and c is not None)
lines = [l.split() for l in open(sys.argv[2]) if l != "ready\n"]
truth = [(float(l[2]), float(l[1])) for l in lines if l[0] == "cpu"]
ends = [float(l[2]) for l in lines if l[0] == "end"]
if len(ends) != 3 or not all(wall[0] < e < wall[-1] for e in ends):
    raise SystemExit(f"FAIL: the three children must end inside brunt's window {wall[0]}..{wall[-1]}: ends {ends}")
def ticks_at(w):
    for (a, ta), (b, tb) in zip(truth, truth[1:]):
        if a <= w <= b:
            return ta + (tb - ta) * (w - a) / (b - a) if b > a else ta
    raise SystemExit(f"FAIL: the parent's log does not cover wall {w}")
true_s = (ticks_at(wall[-1]) - ticks_at(wall[0])) / float(sys.argv[3])
exits = doc["metrics"]["process_exits"]["values"]["count"]
print(f"# tree CPU over brunt's window: brunt {brunt_s:.3f} s, the kernel {true_s:.3f} s; exits {exits}")
if abs(brunt_s - true_s) > 0.1:
    raise SystemExit(f"FAIL: brunt counted {brunt_s:.3f} s of the tree's CPU, the kernel {true_s:.3f} s")
if exits != 3:
    raise SystemExit(f"FAIL: brunt counted {exits} ended children, expected 3")
PY

# --- a group leader that exited before its other thread is a zombie that goes on ---------
# Its stat says Z while its second thread spins, with num_threads 2 and its times still
# growing: brunt must keep watching it (its CPU, not a death).
python3 - <<'PY' &
import ctypes, threading, time
def spin():
    t = time.time() + 8  # bounded
    while time.time() < t:
        pass
threading.Thread(target=spin).start()
ctypes.CDLL(None).pthread_exit(None)  # the main thread ends; the process goes on
PY
LEADER=$!
_E2E_PIDS+=("$LEADER")
for ((i = 0; i < 100; i++)); do # bounded: 10 s until the leader is a zombie
    [[ $(cut -d' ' -f3 "/proc/$LEADER/stat" 2>/dev/null) == Z ]] && break
    sleep 0.1
done
[[ $(cut -d' ' -f3 "/proc/$LEADER/stat") == Z ]] || fail "the leader did not become a zombie"
brunt_run leader -q -t 1 -c 1 -R 20 -d 3s --watch "$LEADER" --export leader.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
assert_eq null "$(jval leader.json '.probes.process.targets[0].died')" "no death: the process goes on"
cpu=$(jnum leader.json '.probes.process.targets[0].summary.process_cpu_core.avg')
assert_ge "$cpu" 30 "CPU (% of a core) of the spinning thread under the zombie leader"
