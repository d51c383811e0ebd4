#!/usr/bin/env bash
# e2e: timing (runs alone: its busy children want both cores, and beside another test the
# sampler's reads of the tree fell behind, 11-12 points off in two CI runs)
# A watched target is its whole process tree, with children that come and go: the test
# runs a parent that forks a busy child every 0.6 s, each living 2 s, and logs when each
# child started and ended (its own clock).  brunt, watching the parent's PID, must count
# the children (process_count), their CPU, and every child that ended in its window
# (process_exits), against the parent's log.  The parent also logs the tree's CPU as the
# kernel counts it (its own, its reaped children's, its live children's ticks) every
# 20 ms; brunt's tree CPU over its window must agree within 8 points of a core (the
# tolerance of test_watch_cpu, plus a child that ends at a window edge: its last slice
# counts where the parent reaps it).
. "$(dirname "$0")/lib.sh"

start_target
python3 - "$E2E_TMP/children.log" <<'PY' &
import os, sys, time
log = open(sys.argv[1], "w", buffering=1)
alive = {}
t_end = time.time() + 20
next_fork = 0.0
while time.time() < t_end:
    now = time.time()
    if now >= next_fork:
        next_fork = now + 0.6
        pid = os.fork()
        if pid == 0:
            stop = time.time() + 2.0
            while time.time() < stop:
                pass
            os._exit(0)
        alive[pid] = now
        log.write(f"start {pid} {now * 1000:.0f}\n")
    for pid in list(alive):
        r, _ = os.waitpid(pid, os.WNOHANG)
        if r == pid:
            log.write(f"end {pid} {time.time() * 1000:.0f}\n")
            del alive[pid]
    # The tree's CPU so far, as the kernel counts it: the parent's own, its reaped
    # children's, and the live children's (ticks).
    ticks = 0
    for pid in [os.getpid()] + list(alive):
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    log.write(f"cpu {ticks} {time.time() * 1000:.0f}\n")
    time.sleep(0.02)
for pid in alive:
    os.waitpid(pid, 0)
PY
PARENT=$!
_E2E_PIDS+=("$PARENT")
for ((i = 0; i < 100; i++)); do # bounded: the first child within 10 s
    grep -q start "$E2E_TMP/children.log" 2>/dev/null && break
    sleep 0.1
done

brunt_run tree -q -t 1 -c 1 -R 20 -d 8s --watch "$PARENT" --export result.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"

python3 - result.json "$E2E_TMP/children.log" "$(getconf CLK_TCK)" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
t = doc["probes"]["process"]["targets"][0]
s = t["series"]
wall = s["wall_ms"]
counts = [c for c in s["process_count"] if c is not None]
# At 0.6 s between forks and 2 s of life, 3 or 4 children live at once, plus the parent.
if max(counts) < 4 or min(counts) < 3:
    raise SystemExit(f"FAIL: process_count per second {counts}: expected 4-5 (parent + 3-4 children)")
cpu = t["summary"]["process_cpu_core"]["avg"]
pts = list(zip(wall, s["process_cpu_core"]))
brunt_cpu_s = sum(c / 100 * (pts[i][0] - pts[i - 1][0]) / 1000 for i, (w, c) in enumerate(pts) if i > 0 and c is not None)
w0, w1 = wall[0], wall[-1]
brunt_avg = brunt_cpu_s / ((w1 - w0) / 1000) * 100
truth = [(float(l.split()[2]), float(l.split()[1])) for l in open(sys.argv[2]) if l.startswith("cpu")]
def ticks_at(w):
    for (a, ta), (b, tb) in zip(truth, truth[1:]):
        if a <= w <= b:
            return ta + (tb - ta) * (w - a) / (b - a) if b > a else ta
    raise SystemExit(f"FAIL: the parent's log does not cover wall {w}")
hz = float(sys.argv[3])
true_avg = (ticks_at(w1) - ticks_at(w0)) / hz / ((w1 - w0) / 1000) * 100
print(f"# tree CPU: brunt {brunt_avg:.1f}% of a core, the kernel via the parent {true_avg:.1f}%")
if abs(brunt_avg - true_avg) > 8:
    raise SystemExit(f"FAIL: brunt's tree CPU {brunt_avg:.1f}% vs {true_avg:.1f}% counted by the kernel")
ended = [int(l.split()[2]) for l in open(sys.argv[2]) if l.startswith("end")]
# Children seen alive at one sample and gone at a later one: ended in (first, last].
lo, hi = wall[0] - 1000, wall[-1]
expected = sum(1 for e in ended if lo < e <= hi)
exits = doc["metrics"]["process_exits"]["values"]["count"]
print(f"# process_count {min(counts)}..{max(counts)}, CPU {cpu:.0f}% of a core, exits {exits}, the parent reaped {expected} in the window")
# Tolerance 1: the parent logs a child's end when it reaps it (within 20 ms), so a child
# ending just at a window edge may fall on either side of it.
if abs(exits - expected) > 1:
    raise SystemExit(f"FAIL: brunt counted {exits} exits; the parent saw {expected} children end")
PY
