#!/usr/bin/env bash
# test_profile_run.sh — `brunt run --watch PID --profile` against `brunt serve --burn`:
# the profile is taken inside the window asked for, server_burn_cpu tops it with the
# share of the server's CPU that /__stats says was burned (/proc CPU as the whole), the
# folded stacks, SVG and speedscope files land next to the result and the summary names
# them, "probes.profile" is in the result with a hot_function finding, and the HTML report
# holds the flame graph and names the function in its findings, as the Markdown does (with
# alert rules from the watched target that promtool accepts).  Then: --profile without anything watched
# is refused, and a bad --profile-window too.
source "$(dirname "$0")/lib.sh"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$TARGET_PID/stat"; }

start_target -t 1 --burn 2ms
c0=$(cpu_ticks)
b0=$(stats_get .burn.cpu_ns)
brunt_run r1 -q -t 1 -c 2 -d 5s --watch "$TARGET_PID" --profile --profile-freq 499 \
    --profile-window 1s-4s --export r1.json --report r1.html --report r1.md "$TARGET_URL/"
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
# The bottleneck section: a hot_function finding names server_burn_cpu, in the result and
# in the HTML report's findings table.
assert_eq "server_burn_cpu in brunt" \
    "$(jval r1.json '[.probes.profile.findings[] | select(.kind == "hot_function")][0].location')" \
    "the hot_function finding's location"
grep -q '<td>server_burn_cpu in brunt</td>' r1.html ||
    fail "the HTML report's findings do not name server_burn_cpu"
# The Markdown: its Bottleneck Analysis names server_burn_cpu, its profile section has the
# function with the result's self share, and its alert rules (the watched target's CPU
# and memory among them) are a rule file Prometheus accepts.
sed -n '/^## Bottleneck Analysis/,/^## /p' r1.md | grep -qF '**server_burn_cpu in brunt**' ||
    fail "r1.md's Bottleneck Analysis does not name server_burn_cpu"
self=$(jval r1.json '[.probes.profile.top[] | select(.function == "server_burn_cpu") | .self_share][0]')
grep -qF "| \`server_burn_cpu\` | " r1.md || fail "r1.md's profile section has no server_burn_cpu row"
grep -F "| \`server_burn_cpu\` | " r1.md | grep -qF "| $(awk -v s="$self" 'BEGIN { printf "%.1f%%", s * 100 }') |" ||
    fail "r1.md's self share of server_burn_cpu is not the result's ($self)"
grep -qF 'Flame graph: `r1.profile.svg`' r1.md || fail "r1.md does not name the flame graph"
sed -n '/^## Monitoring Recommendations/,$p' r1.md | sed -n '/^```yaml$/,/^```$/p' | sed '1d;$d' >rules.yml
rss_mib=$(jval r1.json '.probes.process.targets[0].summary.process_rss.max' |
    awk '{ printf "%.1f", $1 / 1048576 }')
grep -qF "# 1.5 x the largest RSS of $TARGET_PID in this run ($rss_mib MiB)" rules.yml ||
    fail "no memory rule from the watched target's RSS ($rss_mib MiB): $(cat rules.yml)"
grep -q 'alert: ProcessCpuHigh' rules.yml || fail "no CPU rule for the watched target: $(cat rules.yml)"
promtool check rules rules.yml >promtool.out 2>&1 || fail "promtool rejects r1.md's alert rules: $(cat promtool.out)"
# The flame graph inside the HTML report: the very SVG file, as a data: URL.
grep -o 'data:image/svg+xml;base64,[A-Za-z0-9+/=]*' r1.html | head -1 |
    sed 's|^data:image/svg+xml;base64,||' | base64 -d >embedded.svg ||
    fail "no flame graph in the HTML report"
cmp -s embedded.svg r1.profile.svg || fail "the HTML report's flame graph is not r1.profile.svg"
grep -q '>server_burn_cpu</text>' r1.profile.svg ||
    fail "the SVG has no static label for server_burn_cpu (the report's picture runs no script)"
# The SVG file itself is interactive, in a real browser (tests/browser/flame.mjs): hover,
# click to zoom, Escape, and a search whose "Matched" share is the result's total share.
[[ -x /usr/bin/chromium && -d $E2E_DIR/../browser/node_modules/playwright-core ]] ||
    fail "chromium or playwright-core is missing (scripts/setup.sh)"
RC=0
timeout -k 5 90 node "$E2E_DIR/../browser/flame.mjs" r1.profile.svg r1.json server_burn_cpu \
    >flame.out 2>&1 || RC=$?
cat flame.out
assert_eq 0 "$RC" "the flame graph's zoom and search in Chromium"
# brunt report from another directory finds the SVG beside the result.
mkdir -p elsewhere
(cd elsewhere && "$BRUNT" report ../r1.json -o again.html 2>/dev/null) ||
    fail "brunt report ../r1.json failed"
grep -q 'data:image/svg+xml;base64,' elsewhere/again.html ||
    fail "brunt report run elsewhere did not find the flame graph beside the result"
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
