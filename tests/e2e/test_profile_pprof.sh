#!/usr/bin/env bash
# test_profile_pprof.sh — `brunt profile --pprof` against a Go service built here from
# Debian's golang-go with net/http/pprof (tests/e2e/profile/gosvc.go): its CPU profile is
# fetched and decoded (gzip + protobuf), bruntGoHotSpin is on top with its designed share
# of the burning goroutines (70 % within 10 points), the files carry the same weights, and
# the heap profiles before and after show the growth GET /leak caused (1 MiB each, as
# counted by the test) in bruntGoLeak.  Then the refusals: no pprof there (404), nothing
# listening, a bad URL.
source "$(dirname "$0")/lib.sh"

. "$E2E_DIR/profile/gosvc.sh" # builds and starts the Go service: GO_PID, URL, hits
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$GO_PID/stat"; }
c0=$(cpu_ticks)
"$BRUNT" profile --pprof "$URL" -d 6s -o g1 --export g1.json >g1.out 2>g1.err &
PROF_PID=$!
_E2E_PIDS+=("$PROF_PID")
for ((i = 0; i < 200; i++)); do # bounded: until brunt has asked for the CPU profile
    [[ $(hits /debug/pprof/profile) -ge 1 ]] && break
    sleep 0.05
done
c0_cpu=$(cpu_ticks) # the CPU profile runs from about here (the first heap profile is behind)
assert_eq 1 "$(hits /debug/pprof/heap)" "heap profiles fetched before the load"
assert_eq 1 "$(hits /debug/pprof/profile)" "CPU profiles asked for"
leaks=20
# One curl, one connection: 20 curl processes outlasted the profile on a loaded machine.
args=()
for ((i = 0; i < leaks; i++)); do
    args+=(-o /dev/null "$URL/leak")
done
curl -sS --max-time 20 "${args[@]}" || fail "GET /leak failed"
assert_eq "$leaks" "$(hits /leak)" "GET /leak served"
# Every leak before the heap profile after it (a loaded machine can make 20 curls slow).
assert_eq 1 "$(hits /debug/pprof/heap)" "heap profiles fetched when the $leaks leaks were done (the CPU profile's 6 s were too short?)"
wait_exit "$PROF_PID" 60
c1=$(cpu_ticks)
assert_eq 0 "$WAIT_RC" "exit status of brunt profile --pprof (stderr: $(head -c 500 g1.err))"
assert_eq 2 "$(hits /debug/pprof/heap)" "heap profiles fetched (before and after)"

assert_eq pprof "$(jval g1.json .source)" "source"
assert_eq cpu "$(jval g1.json .sample_type)" "the sample type used"
assert_eq nanoseconds "$(jval g1.json .unit)" "the unit"
hot=$(jval g1.json '[.top[] | select(.function == "main.bruntGoHotSpin") | .total][0]')
cold=$(jval g1.json '[.top[] | select(.function == "main.bruntGoColdSpin") | .total][0]')
assert_lt "$cold" "$hot" "bruntGoColdSpin's CPU vs bruntGoHotSpin's (30 % vs 70 %)"
# The share by total weight: by self, runtime.asyncPreempt (the trampoline of Go's
# asynchronous preemption, which the GC's stop-the-world requests inject into a spinning
# goroutine) sits on top of whatever it interrupted, and on a busy machine takes a large
# self share.  10 points is the issue's bound; with few samples (a loaded machine gives
# the service little CPU) the bound is 3 standard deviations of a binomial share instead.
n=$(( (hot + cold) / 10000000 ))
share=$(awk -v h="$hot" -v c="$cold" 'BEGIN { printf "%.3f", h / (h + c) }')
tol=$(awk -v n="$n" 'BEGIN { t = 3 * sqrt(0.21 / (n > 0 ? n : 1)); printf "%.3f", (t > 0.10 ? t : 0.10) }')
assert_within "$share" 0.70 "$tol" "bruntGoHotSpin's share of the burning goroutines over $n samples (designed 70 %)"
assert_eq main.go "$(jval g1.json '[.top[] | select(.function == "main.bruntGoHotSpin")][0].file' |
    xargs basename)" "the hot function's file"
total=$(jnum g1.json .total)
# The profile's CPU time against the process's CPU time in /proc over the whole command,
# which also covers the two heap profiles (each forces a GC) and the HTTP handling around
# the CPU profile: never more than /proc, and most of it.
# At most: /proc over the whole command.  At least half of /proc from when the CPU profile
# was asked for (the first heap profile's forced GC is not in it; the second one's is).
proc_ns=$(( (c1 - c0) * 1000000000 / tck ))
assert_le "$total" "$((proc_ns + 50000000))" "CPU ns in the profile vs /proc"
proc_cpu_ns=$(( (c1 - c0_cpu) * 1000000000 / tck ))
assert_ge "$total" "$((proc_cpu_ns / 2))" "CPU ns in the profile vs /proc since the CPU profile began"
assert_eq "$(jnum g1.json .samples)" "$((total / 10000000))" "samples at Go's 10 ms period"
assert_eq "$total" "$(awk '{ s += $NF } END { printf "%.0f", s }' g1.folded)" "ns in the folded stacks"
xmllint --noout g1.svg || fail "g1.svg is not well-formed XML"
grep -q 'main.bruntGoHotSpin' g1.svg || fail "g1.svg has no main.bruntGoHotSpin"
assert_eq nanoseconds "$(jq -r '.profiles[0].unit' g1.speedscope.json)" "speedscope unit"
grep -q 'main.bruntGoHotSpin' g1.out || fail "the summary does not name the hot function"

# The heap: $leaks x 1 MiB kept alive by bruntGoLeak between the two heap profiles.
# Go samples the heap (one sample per 512 KiB allocated on average, scaled back up), so
# the estimate is statistical: a 1 MiB allocation is sampled with probability 86 %, and
# 20 of them land within 25 % of the truth (about 4 standard deviations).
grew=$(jval g1.json '[.heap.growth[] | select(.function == "main.bruntGoLeak") | .bytes][0] // 0')
kept=$((leaks * 1048576))
assert_within "$grew" "$kept" $((kept / 4)) "heap growth in main.bruntGoLeak (bytes)"
assert_ge "$(jnum g1.json .heap.inuse_after_bytes)" "$(jnum g1.json .heap.inuse_before_bytes)" \
    "heap in use after vs before"
grep -q 'main.bruntGoLeak' g1.out || fail "the summary does not name the leaking function"

# --- refusals ------------------------------------------------------------------------------
RC=0
"$BRUNT" profile --pprof "$URL/nothing-here" -d 1s -o g2 >g2.out 2>g2.err || RC=$?
assert_eq 3 "$RC" "exit status when the URL has no pprof (404)"
assert_one_line g2.err "no pprof there"
grep -q "answered 404" g2.err || fail "the message does not give the status: $(cat g2.err)"
port=$(free_port)
RC=0
"$BRUNT" profile --pprof "http://127.0.0.1:$port" -d 1s -o g3 >g3.out 2>g3.err || RC=$?
assert_eq 3 "$RC" "exit status when nothing listens"
assert_one_line g3.err "nothing listening"
grep -q "cannot reach" g3.err || fail "the message does not say it cannot reach: $(cat g3.err)"
for bad in "ftp://x" "https://127.0.0.1:1" "http://127.0.0.1:1/?a=b"; do
    RC=0
    "$BRUNT" profile --pprof "$bad" -d 1s >g4.out 2>g4.err || RC=$?
    assert_eq 2 "$RC" "exit status for --pprof '$bad'"
    assert_one_line g4.err "--pprof '$bad'"
done
kill "$GO_PID"
log "ok"
