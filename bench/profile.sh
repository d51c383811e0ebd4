#!/usr/bin/env bash
# bench/profile.sh — what native profiling costs the target: the CPU time a fixed amount
# of work takes unprofiled, sampled by `brunt profile` at 99 Hz (the default), and at
# 999 Hz, by frame pointers and with `--unwind dwarf`.
#
#   bench/profile.sh                       BRUNT=build/brunt, 7 rounds of 4000 work units
#   PROFILE_ROUNDS=11 PROFILE_WORK=8000 bench/profile.sh
#   PROFILE_MODES="none 99 dwarf99" bench/profile.sh     only these modes
#
# Modes: none (unprofiled), HZ (frame pointers at HZ), dwarfHZ (--unwind dwarf at HZ:
# the kernel also copies 8 KiB of user stack per sample, and brunt unwinds it).
# The work is tests/e2e/profile/burn.c `fixed N` (about 0.7 s of CPU for 4000 here), built
# with frame pointers as the tests build it; it reports its own user + system CPU
# (getrusage), which is where the sampling's cost lands: the kernel takes each sample and
# walks the frame-pointer chain in the target's context.  burn waits on a gate file
# until brunt has its perf events open, so every sample of the work is taken.  Each
# round runs the three modes once, in an order that rotates, interleaved so that a noisy
# neighbour hits them alike; burn is pinned on core 1, brunt on core 0.  Printed: each
# mode's median CPU, the median of the per-round ratios against the unprofiled run of
# the same round, brunt's own CPU for reading the rings, unwinding and symbolising
# (profiler_cpu_s, from --export), and the samples kept and lost (the ring overflowed
# between polls) as medians.  Needs perf events (root, or kernel.perf_event_paranoid
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

# one MODE ROUND: runs burn once (MODE none, HZ or dwarfHZ) and appends
# "MODE ROUND target_cpu_us profiler_cpu_s samples lost" to rows.
one() {
    local mode=$1 round=$2 gate=$work/gate.$1.$2 burn_pid prof_pid=
    BURN_PARENT_PID=$$ BURN_GATE=$gate "${PIN_TARGET[@]}" ./burn fixed "$WORK" >"burn.$mode.$round" &
    burn_pid=$!
    if [[ $mode != none ]]; then
        local hz=${mode#dwarf} unwind=fp
        [[ $mode == dwarf* ]] && unwind=dwarf
        "${PIN_BRUNT[@]}" "$BRUNT" profile --pid "$burn_pid" -d 120s --freq "$hz" --unwind "$unwind" -q \
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
    local prof_cpu=0 samples=0 lost=0
    if [[ -n $prof_pid ]]; then
        kill -INT "$prof_pid" # ends the profile early; it still writes it (exit 105)
        local rc=0
        wait "$prof_pid" || rc=$?
        ((rc == 0 || rc == 105)) || { echo "brunt profile exited $rc" >&2; exit 1; }
        prof_cpu=$(jq -r .profiler_cpu_s "p.$mode.$round.json")
        samples=$(jq -r .samples "p.$mode.$round.json")
        lost=$(jq -r .lost "p.$mode.$round.json")
    fi
    echo "$mode $round $(awk '{ print $2 }' "burn.$mode.$round") $prof_cpu $samples $lost" >>rows
}

read -ra modes <<<"${PROFILE_MODES:-none 99 999 dwarf99 dwarf999}"
[[ ${modes[0]} == none ]] || { echo "PROFILE_MODES must start with none (the baseline)" >&2; exit 1; }
n=${#modes[@]}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < n; k++)); do
        one "${modes[$(((r + k) % n))]}" "$r"
    done
done

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench/profile.sh: $ROUNDS rounds of burn fixed $WORK; $pin_note; load average $load_before before, $load after"
python3 - rows "${modes[@]}" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
cpu, prof, kept, lost = {}, {}, {}, {}
for mode, rnd, us, pc, ns, nl in rows:
    cpu.setdefault(mode, {})[rnd] = int(us)
    prof.setdefault(mode, []).append(float(pc))
    kept.setdefault(mode, []).append(int(ns))
    lost.setdefault(mode, []).append(int(nl))
base = cpu["none"]
print(f"{'sampling':>14} {'target CPU median':>18} {'ratio to none (median)':>23}"
      f" {'brunt CPU median':>17} {'samples':>8} {'lost':>6}")
for mode in sys.argv[2:]:
    ratios = [cpu[mode][r] / base[r] for r in base]
    if mode == "none":
        name = "none"
    elif mode.startswith("dwarf"):
        name = mode[5:] + " Hz dwarf"
    else:
        name = mode + " Hz fp"
    print(f"{name:>14} {st.median(cpu[mode].values()) / 1e6:>16.3f} s {st.median(ratios):>23.4f}"
          f" {st.median(prof[mode]) * 1e3:>14.1f} ms {st.median(kept[mode]):>8.0f}"
          f" {st.median(lost[mode]):>6.0f}")
PY
