#!/usr/bin/env bash
# test_profile_run.sh — `brunt run --watch PID --profile` against `brunt serve --burn`:
# the profile is taken inside the window asked for, server_burn_cpu tops it with the
# share of the server's CPU that /__stats says was burned (/proc CPU as the whole), the
# folded stacks, SVG and speedscope files land next to the result and the summary names
# them, and "probes.profile" is in the result.  Then: --profile without anything watched
# is refused, and a bad --profile-window too.
source "$(dirname "$0")/lib.sh"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$TARGET_PID/stat"; }

start_target -t 1 --burn 2ms
c0=$(cpu_ticks)
b0=$(stats_get .burn.cpu_ns)
brunt_run r1 -q -t 1 -c 2 -d 5s --watch "$TARGET_PID" --profile --profile-freq 499 \
    --profile-window 1s-4s --export r1.json "$TARGET_URL/"
c1=$(cpu_ticks)
b1=$(stats_get .burn.cpu_ns)
assert_eq 0 "$RC" "exit status of brunt run --profile"
jval r1.json '.probes.profile' >/dev/null
dur=$(jnum r1.json .probes.profile.duration_s)
assert_le "$dur" 3.05 "seconds between the first and last kept sample (window 1s-4s)"
assert_ge "$dur" 2.5 "seconds between the first and last kept sample (window 1s-4s)"
assert_ge "$(jnum r1.json .probes.profile.outside_window)" 1 "samples read outside the window and dropped"
designed=$(awk -v b=$((b1 - b0)) -v c=$((c1 - c0)) -v hz="$tck" \
    'BEGIN { printf "%.3f", b / (c / hz * 1e9) }')
got=$(jval r1.json '[.probes.profile.top[] | select(.function == "server_burn_cpu") | .total_share][0]')
assert_within "$got" "$designed" 0.10 "server_burn_cpu's share vs /__stats burn over /proc CPU"
for f in folded svg speedscope; do
    path=$(jval r1.json ".probes.profile.files.$f")
    [[ -s $path ]] || fail "the $f file '$path' named in the result does not exist"
done
assert_eq r1.profile.svg "$(jval r1.json .probes.profile.files.svg)" "the SVG next to the result"
xmllint --noout r1.profile.svg || fail "r1.profile.svg is not well-formed XML"
grep -q "flame graph: r1.profile.svg" r1.out || fail "the summary does not print the SVG path"
grep -q "server_burn_cpu" r1.out || fail "the summary does not name server_burn_cpu"
stop_target

# --- refusals ------------------------------------------------------------------------------
start_target
brunt_run r2 -q -d 1s --profile "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of --profile with nothing watched"
assert_one_line "$E2E_TMP/r2.err" "--profile without --watch"
grep -q -- "--watch" r2.err || fail "the message does not point at --watch: $(cat r2.err)"
for bad in "5s-2s" "x-3s" "10s"; do
    brunt_run r3 -q -d 1s --watch "$TARGET_PID" --profile --profile-window "$bad" "$TARGET_URL/"
    assert_eq 2 "$RC" "exit status of --profile-window '$bad'"
    assert_one_line "$E2E_TMP/r3.err" "--profile-window '$bad'"
done
stop_target
log "ok"
