#!/usr/bin/env bash
# test_profile_dwarf.sh — `brunt profile --unwind dwarf` against a program built without
# frame pointers (tests/e2e/profile/chain.c, -O2 -fomit-frame-pointer) that burns all of
# its CPU in main -> brunt_test_chain_a -> _b -> _c: by frame pointers the callers of
# brunt_test_chain_c are lost; by DWARF unwinding the folded stacks hold a;b;c.  At 999 Hz
# the 1 MiB ring (~120 DWARF samples) overflows between polls: what was lost is counted,
# kept + lost adds up to 999 Hz x the CPU time /proc counted, and the summary warns with
# the count.  No skip: when perf events are not permitted, brunt profile exits 1 and the
# test fails.
source "$(dirname "$0")/lib.sh"

cc -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls "$(dirname "$0")/profile/chain.c" \
    -o chain || fail "cannot compile chain.c"
./chain &
CHAIN_PID=$!
_E2E_PIDS+=("$CHAIN_PID")
abc='brunt_test_chain_a;brunt_test_chain_b;brunt_test_chain_c'
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$CHAIN_PID/stat"; }

RC=0
"$BRUNT" profile --pid "$CHAIN_PID" -d 3s -q -o fp --export fp.json 2>fp.err || RC=$?
assert_eq 0 "$RC" "exit status, frame pointers (stderr: $(head -c 300 fp.err))"
RC=0
c0=$(cpu_ticks)
t_before=$(now_ms)
"$BRUNT" profile --pid "$CHAIN_PID" -d 5s --unwind dwarf -o dw --export dw.json \
    >dw.out 2>dw.err || RC=$?
c1=$(cpu_ticks)
t_after=$(now_ms)
assert_eq 0 "$RC" "exit status, dwarf (stderr: $(head -c 300 dw.err))"
# 999 Hz: more DWARF samples a second than the ring holds, when chain gets most of a core.
RC=0
c2=$(cpu_ticks)
"$BRUNT" profile --pid "$CHAIN_PID" -d 3s --freq 999 --unwind dwarf -o hi --export hi.json \
    >hi.out 2>hi.err || RC=$?
c3=$(cpu_ticks)
assert_eq 0 "$RC" "exit status, dwarf at 999 Hz (stderr: $(head -c 300 hi.err))"
kill -KILL "$CHAIN_PID" 2>/dev/null || true
wait "$CHAIN_PID" 2>/dev/null || true

assert_eq "frame-pointer" "$(jval fp.json .unwind)" "fp: unwind"
assert_eq "dwarf" "$(jval dw.json .unwind)" "dwarf: unwind"
assert_eq 8192 "$(jnum dw.json .stack_copy_bytes)" "dwarf: stack bytes copied per sample"
assert_eq brunt_test_chain_c "$(jval fp.json '.top[0].function')" "fp: the leaf is right"
assert_eq brunt_test_chain_c "$(jval dw.json '.top[0].function')" "dwarf: the leaf is right"
! grep -q "$abc" fp.folded || fail "fp: the frame-pointer chain has a;b;c without frame pointers?"
samples=$(jnum dw.json .samples)
# 99 per CPU second /proc counted around the command (which also covers start-up and
# symbols, so at most that); at least 99 per second of chain's CPU rate over the command
# (a loaded machine gives it less than a core) times the sampled span, less a quarter for
# unevenness; and at least 10 for the share below to mean something (at load average 18
# this machine gave chain 5 % of a core: 15 samples in 3 s).
cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$tck" 'BEGIN { printf "%.3f", t / hz }')
log "dwarf: $samples samples, chain used $cpu_s s of CPU around the command"
assert_le "$samples" "$(awk -v c="$cpu_s" 'BEGIN { printf "%d", c * 99 + 10 }')" \
    "dwarf: samples vs 99 Hz x the CPU seconds /proc counted"
in_window=$(awk -v t=$((c1 - c0)) -v hz="$tck" -v ms=$((t_after - t_before)) \
    -v d="$(jnum dw.json .duration_s)" 'BEGIN { printf "%d", t / hz / (ms / 1000) * d * 99 }')
assert_ge "$samples" "$((in_window * 3 / 4))" "dwarf: samples vs 99 Hz x the CPU /proc counted"
assert_ge "$samples" 10 "dwarf: samples"
with=$(awk -v s="$abc" 'index($0, s) { n += $NF } END { print n + 0 }' dw.folded)
# Nearly every sample unwinds to main: allow 5 % for samples taken at instants the CFI
# does not cover exactly (none were seen in practice).
assert_ge "$with" "$((samples * 95 / 100))" "dwarf: samples whose stack holds a;b;c"
grep -qE "(^|;)main;$abc " dw.folded || fail "dwarf: no main;a;b;c stack: $(head -3 dw.folded)"
assert_eq 0 "$(jnum dw.json .lost)" "dwarf: samples lost (1 MiB ring: ~120 samples a poll, 99 Hz fits)"
grep -q "DWARF unwinding" dw.out || fail "dwarf: the summary does not say DWARF unwinding"
! grep -q "samples lost" dw.out || fail "dwarf: a warning about lost samples with none lost"

# 999 Hz: every sample taken is kept or counted as lost.  Taken: 999 per CPU second of
# chain inside the window (/proc around the command bounds it from above).
hi_kept=$(jnum hi.json .samples)
hi_lost=$(jnum hi.json .lost)
hi_out=$(jnum hi.json .outside_window)
hi_cpu=$(awk -v t=$((c3 - c2)) -v hz="$tck" 'BEGIN { printf "%.3f", t / hz }')
log "dwarf 999 Hz: $hi_kept kept, $hi_lost lost, $hi_out outside the window; $hi_cpu s of CPU"
assert_le "$((hi_kept + hi_lost + hi_out))" "$(awk -v c="$hi_cpu" 'BEGIN { printf "%d", c * 999 + 20 }')" \
    "dwarf 999 Hz: kept + lost vs 999 Hz x the CPU seconds /proc counted"
if ((hi_lost > 0)); then
    line=$(grep "samples lost" hi.out) || fail "dwarf 999 Hz: $hi_lost lost and no warning: $(cat hi.out)"
    [[ $line == *"warning: $hi_lost of $((hi_kept + hi_lost + hi_out)) samples lost"* ]] ||
        fail "dwarf 999 Hz: the warning's counts: $line"
    [[ $line == *"below 199 Hz"* ]] || fail "dwarf 999 Hz: the warning gives no rate: $line"
else
    ! grep -q "samples lost" hi.out || fail "dwarf 999 Hz: a warning about lost samples with none lost"
fi
# With most of a core (more than 2 ring-fulls a poll) the ring must have overflowed.
per_poll=$(awk -v c="$hi_cpu" -v d="$(jnum hi.json .duration_s)" 'BEGIN { printf "%d", c / (d + 1) * 999 }')
if ((per_poll > 240)); then
    assert_ge "$hi_lost" 1 "dwarf 999 Hz: samples lost (~$per_poll a poll, the ring holds ~120)"
else
    log "dwarf 999 Hz: the machine gave chain ~$per_poll samples a poll; overflow not forced"
fi

RC=0
"$BRUNT" profile --pid 1 --unwind lbr -d 1s 2>bad.err || RC=$?
assert_eq 2 "$RC" "exit status of a bad --unwind"
assert_one_line bad.err "the bad --unwind message"
grep -q "expected fp (frame pointers) or dwarf" bad.err || fail "bad --unwind: $(cat bad.err)"
log "ok"
