#!/usr/bin/env bash
# bench/profile.sh — what native profiling costs the target: the CPU time a fixed amount
# of work takes unprofiled, sampled by `brunt profile` at 99 Hz (the default), and at
# 999 Hz.
#
#   bench/profile.sh                       BRUNT=build/brunt, 7 rounds of 4000 work units
#   PROFILE_ROUNDS=11 PROFILE_WORK=8000 bench/profile.sh
#
# The work is tests/e2e/profile/burn.c `fixed N` (about 0.7 s of CPU for 4000 here), built
# with frame pointers as the tests build it; it reports its own user + system CPU
# (getrusage), which is where the sampling's cost lands: the kernel takes each sample and
# walks the frame-pointer chain in the target's context.  burn waits on a gate file
# until brunt has its perf events open, so every sample of the work is taken.  Each
# round runs the three modes once, in an order that rotates, interleaved so that a noisy
# neighbour hits them alike; burn is pinned on core 1, brunt on core 0.  Printed: each
# mode's median CPU, the median of the per-round ratios against the unprofiled run of
# the same round, and brunt's own CPU for reading the rings and symbolising
# (profiler_cpu_s, from --export).  Needs perf events (root, or kernel.perf_event_paranoid
# <= 2 for one's own process).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BRUNT=$(realpath "${BRUNT:-build/brunt}")
ROUNDS=${PROFILE_ROUNDS:-7}
WORK=${PROFILE_WORK:-4000}
bench_workdir brunt-profile
if (($(nproc) >= 2)); then
    PIN_TARGET=(taskset -c 1)
    PIN_BRUNT=(taskset -c 0)
    pin_note="burn on core 1, brunt on core 0"
else
    PIN_TARGET=()
    PIN_BRUNT=()
    pin_note="one core: nothing pinned"
fi
cc -O0 -g -fno-omit-frame-pointer -pthread tests/e2e/profile/burn.c -o "$work/burn"
cd "$work"

# one MODE ROUND: runs burn once (MODE none, 99 or 999) and appends
# "MODE ROUND target_cpu_us profiler_cpu_s" to rows.
one() {
    local mode=$1 round=$2 gate=$work/gate.$1.$2 burn_pid prof_pid=
    BURN_PARENT_PID=$$ BURN_GATE=$gate "${PIN_TARGET[@]}" ./burn fixed "$WORK" >"burn.$mode.$round" &
    burn_pid=$!
    if [[ $mode != none ]]; then
        "${PIN_BRUNT[@]}" "$BRUNT" profile --pid "$burn_pid" -d 120s --freq "$mode" -q \
            -o "p.$mode.$round" --export "p.$mode.$round.json" 2>"p.$mode.$round.err" &
        prof_pid=$!
        local i
        for ((i = 0; i < 400; i++)); do # bounded: until brunt has a perf event open
            ls -l "/proc/$prof_pid/fd" 2>/dev/null | grep -q 'perf_event' && break
            sleep 0.01
        done
        ls -l "/proc/$prof_pid/fd" 2>/dev/null | grep -q 'perf_event' ||
            { echo "brunt profile opened no perf event: $(cat "p.$mode.$round.err")" >&2; exit 1; }
    fi
    touch "$gate"
    wait "$burn_pid"
    local prof_cpu=0
    if [[ -n $prof_pid ]]; then
        kill -INT "$prof_pid" # ends the profile early; it still writes it (exit 105)
        local rc=0
        wait "$prof_pid" || rc=$?
        ((rc == 0 || rc == 105)) || { echo "brunt profile exited $rc" >&2; exit 1; }
        prof_cpu=$(jq -r .profiler_cpu_s "p.$mode.$round.json")
    fi
    echo "$mode $round $(awk '{ print $2 }' "burn.$mode.$round") $prof_cpu" >>rows
}

modes=(none 99 999)
for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < 3; k++)); do
        one "${modes[$(((r + k) % 3))]}" "$r"
    done
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench/profile.sh: $ROUNDS rounds of burn fixed $WORK; $pin_note; load average $load"
python3 - rows <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
cpu = {}
prof = {}
for mode, rnd, us, pc in rows:
    cpu.setdefault(mode, {})[rnd] = int(us)
    prof.setdefault(mode, []).append(float(pc))
base = cpu["none"]
print(f"{'sampling':>9} {'target CPU median':>18} {'ratio to none (median)':>23} {'brunt CPU median':>17}")
for mode in ("none", "99", "999"):
    ratios = [cpu[mode][r] / base[r] for r in base]
    name = "none" if mode == "none" else mode + " Hz"
    print(f"{name:>9} {st.median(cpu[mode].values()) / 1e6:>16.3f} s {st.median(ratios):>23.4f}"
          f" {st.median(prof[mode]) * 1e3:>14.1f} ms")
PY
