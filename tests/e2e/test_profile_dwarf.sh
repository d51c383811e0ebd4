#!/usr/bin/env bash
# test_profile_dwarf.sh — `brunt profile --unwind dwarf` against a program built without
# frame pointers (tests/e2e/profile/chain.c, -O2 -fomit-frame-pointer) that burns all of
# its CPU in main -> brunt_test_chain_a -> _b -> _c: by frame pointers the callers of
# brunt_test_chain_c are lost; by DWARF unwinding the folded stacks hold a;b;c.  No skip:
# when perf events are not permitted, brunt profile exits 1 and the test fails.
source "$(dirname "$0")/lib.sh"

cc -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls "$(dirname "$0")/profile/chain.c" \
    -o chain || fail "cannot compile chain.c"
./chain &
CHAIN_PID=$!
_E2E_PIDS+=("$CHAIN_PID")
abc='brunt_test_chain_a;brunt_test_chain_b;brunt_test_chain_c'

RC=0
"$BRUNT" profile --pid "$CHAIN_PID" -d 3s -q -o fp --export fp.json 2>fp.err || RC=$?
assert_eq 0 "$RC" "exit status, frame pointers (stderr: $(head -c 300 fp.err))"
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
before=$(cpu_ticks "$CHAIN_PID")
t_before=$(now_ms)
RC=0
"$BRUNT" profile --pid "$CHAIN_PID" -d 3s --unwind dwarf -o dw --export dw.json \
    >dw.out 2>dw.err || RC=$?
after=$(cpu_ticks "$CHAIN_PID")
t_after=$(now_ms)
assert_eq 0 "$RC" "exit status, dwarf (stderr: $(head -c 300 dw.err))"
kill -KILL "$CHAIN_PID" 2>/dev/null || true
wait "$CHAIN_PID" 2>/dev/null || true

assert_eq "frame-pointer" "$(jval fp.json .unwind)" "fp: unwind"
assert_eq "dwarf" "$(jval dw.json .unwind)" "dwarf: unwind"
assert_eq 8192 "$(jnum dw.json .stack_copy_bytes)" "dwarf: stack bytes copied per sample"
assert_eq brunt_test_chain_c "$(jval fp.json '.top[0].function')" "fp: the leaf is right"
assert_eq brunt_test_chain_c "$(jval dw.json '.top[0].function')" "dwarf: the leaf is right"
! grep -q "$abc" fp.folded || fail "fp: the frame-pointer chain has a;b;c without frame pointers?"
samples=$(jnum dw.json .samples)
# 99 samples per second of chain's CPU: its CPU rate over the command (a loaded machine
# gives it less than a core) times the sampled span, less a quarter for unevenness.
in_window=$(awk -v t=$((after - before)) -v hz="$tck" -v ms=$((t_after - t_before)) \
    -v d="$(jnum dw.json .duration_s)" 'BEGIN { printf "%d", t / hz / (ms / 1000) * d * 99 }')
assert_ge "$samples" "$((in_window * 3 / 4))" "dwarf: samples vs 99 Hz x the CPU /proc counted"
assert_ge "$samples" 30 "dwarf: samples"
with=$(awk -v s="$abc" 'index($0, s) { n += $NF } END { print n + 0 }' dw.folded)
# Nearly every sample unwinds to main: allow 5 % for samples taken at instants the CFI
# does not cover exactly (none were seen in practice).
assert_ge "$with" "$((samples * 95 / 100))" "dwarf: samples whose stack holds a;b;c"
grep -qE "(^|;)main;$abc " dw.folded || fail "dwarf: no main;a;b;c stack: $(head -3 dw.folded)"
assert_eq 0 "$(jnum dw.json .lost)" "dwarf: samples lost (1 MiB ring: ~120 samples a poll, 99 Hz fits)"
grep -q "DWARF unwinding" dw.out || fail "dwarf: the summary does not say DWARF unwinding"

RC=0
"$BRUNT" profile --pid 1 --unwind lbr -d 1s 2>bad.err || RC=$?
assert_eq 2 "$RC" "exit status of a bad --unwind"
assert_one_line bad.err "the bad --unwind message"
grep -q "expected fp (frame pointers) or dwarf" bad.err || fail "bad --unwind: $(cat bad.err)"
log "ok"
