#!/usr/bin/env bash
# `brunt demo` and `make demo` (scripts/demo.sh), end to end and bounded (60 s and 120 s):
# the demo spawns the built-in target, watches it (its CPU and memory are in the summary
# and the result), writes its reports, and stops the target afterwards.  Ground truth:
# the target's own request count (its GET /__stats, which the demo prints) against
# brunt's http_reqs, and /proc for the target being gone.  `make demo`'s script runs
# beside it with a throwaway PostgreSQL and Redis: both must be probed (not the
# in-memory fallback), and the servers and their directory gone afterwards.
. "$(dirname "$0")/lib.sh"
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)

before=$(ls -d /tmp/brunt-demo.* 2>/dev/null || true)
log "brunt demo (20 s) and scripts/demo.sh (PostgreSQL + Redis) at once"
timeout -k 5 60 "$BRUNT" demo -q --export demo.json >demo.out 2>demo.err &
A=$!
BIN=$BRUNT timeout -k 5 120 "$ROOT_DIR/scripts/demo.sh" -q --export "$E2E_TMP/db.json" \
    --report "$E2E_TMP/db.md" >db.out 2>db.err &
B=$!
wait_exit "$A" 65
RC_A=$WAIT_RC
wait_exit "$B" 125
RC_B=$WAIT_RC

_E2E_LAST_RUN=demo
assert_eq 0 "$RC_A" "brunt demo's exit status"
pid=$(sed -n 's/^brunt demo: built-in target on .* as PID \([0-9]*\) .*/\1/p' demo.err)
[[ -n $pid ]] || fail "brunt demo did not name the target's PID: $(cat demo.err)"
if alive "$pid"; then
    fail "the demo's target (PID $pid) still runs after the demo"
fi
# What the summary shows of the target: a section naming its PID, its CPU and memory.
grep -q "SYSTEM UNDER TEST" demo.out || fail "no SYSTEM UNDER TEST section in the summary"
grep -q "watched: brunt (PID $pid" demo.out || fail "the summary does not name the target's PID $pid"
grep -q "CPU (of a core)" demo.out || fail "no target CPU in the summary"
grep -q "RSS " demo.out || fail "no target memory in the summary"
assert_eq "$pid" "$(jnum demo.json '.probes.process.targets[0].pid')" "watched PID in the result"
samples=$(jnum demo.json '.probes.process.targets[0].series.wall_ms | length')
assert_ge "$samples" 15 "samples of the target over a 20 s run"
rss=$(jnum demo.json '.probes.process.targets[0].summary.process_rss.max')
assert_ge "$rss" 1048576 "the target's largest RSS (bytes)"
# The target's own count: every request brunt made, plus the ready check's GET /health
# (and at most one more for the demo's own GET /__stats, counted or not).
served=$(sed -n 's/^brunt demo: the target served \([0-9]*\) requests; auction invariant holds.*/\1/p' demo.err)
[[ -n $served ]] || fail "no served count or a broken invariant: $(cat demo.err)"
made=$(jnum demo.json '.metrics.http_reqs.values.count')
log "brunt demo: $made requests made, $served served by the target"
assert_ge "$made" 100 "requests the demo made"
assert_ge "$served" "$((made + 1))" "served = made + the ready check (at least)"
assert_le "$served" "$((made + 2))" "served = made + the ready check (+ /__stats, at most)"
[[ $(head -c 15 brunt-demo.html) == "<!DOCTYPE html>" ]] || fail "brunt-demo.html is not an HTML report"
grep -q "^# Performance report" brunt-demo.md || fail "brunt-demo.md is not a Markdown report"

_E2E_LAST_RUN=db
assert_eq 0 "$RC_B" "scripts/demo.sh's exit status"
if grep -q "the in-memory demo instead" db.err; then
    fail "make demo fell back to the in-memory demo: $(cat db.err)"
fi
[[ $(jval db.json '.probes.postgres | type') == object ]] || fail "no probes.postgres in make demo's result"
[[ $(jval db.json '.probes.redis | type') == object ]] || fail "no probes.redis in make demo's result"
grep -q "SYSTEM UNDER TEST" db.out || fail "no SYSTEM UNDER TEST section in make demo's summary"
[[ -s db.md ]] || fail "make demo wrote no report at --report"
dbpid=$(sed -n 's/^brunt demo: built-in target on .* as PID \([0-9]*\) .*/\1/p' db.err)
[[ -n $dbpid ]] || fail "make demo did not name the target's PID: $(cat db.err)"
if alive "$dbpid"; then
    fail "make demo's target (PID $dbpid) still runs after the demo"
fi
# The throwaway servers are gone with their directory (scripts/demo.sh's trap): no
# /tmp/brunt-demo.* is new since the start.
after=$(ls -d /tmp/brunt-demo.* 2>/dev/null || true)
left=$(comm -13 <(echo "$before") <(echo "$after"))
[[ -z $left ]] || fail "make demo left behind: $left"
