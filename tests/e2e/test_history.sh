#!/usr/bin/env bash
# The run history (issue 12): brunt run --history records each run (the headline figures
# are the result file's own, read back with sqlite3), brunt history prints the trend and
# marks the run that got slower (the server's delay went from 100 to 200 ms), compare
# --history picks its baseline (last, by tag, best); concurrent writers never corrupt the
# file (two loops of --add at once, and two processes creating a new file at once);
# a file that is not a history, a locked one and bad flags are one line and an exit code.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || fail "sqlite3 is needed (scripts/setup.sh installs it)"

start_target --delay 100ms
FAST=$TARGET_URL
start_target --delay 200ms
SLOW=$TARGET_URL

brunt_run r1 -q -c 10 -d 3s --history h.db --tag build=1 --tag ci=yes --export r1.json "$FAST/"
assert_eq 0 "$RC" "run 1 with --history"
brunt_run r2 -q -c 10 -d 3s --history h.db --tag build=2 --export r2.json "$FAST/"
assert_eq 0 "$RC" "run 2"
brunt_run r3 -q -c 10 -d 3s --history h.db --tag build=3 --export r3.json "$SLOW/"
assert_eq 0 "$RC" "run 3"

assert_eq 3 "$(sqlite3 h.db 'SELECT count(*) FROM runs')" "runs recorded"
assert_eq ok "$(sqlite3 h.db 'PRAGMA integrity_check')" "integrity"
assert_eq wal "$(sqlite3 h.db 'PRAGMA journal_mode')" "WAL mode"
assert_eq "build=1 ci=yes" "$(sqlite3 h.db "SELECT replace(tags, char(10), ' ') FROM runs WHERE id = 1")" "tags, sorted"
for i in 1 2 3; do
    want=$(jnum "r$i.json" '.metrics.http_req_duration.values["p(95)"]')
    got=$(sqlite3 h.db "SELECT p95_ms FROM runs WHERE id = $i")
    assert_within "$got" "$want" 0.000001 "run $i: p95 in the history is the result's"
    assert_eq "$(jval "r$i.json" .meta.start)" "$(sqlite3 h.db "SELECT start FROM runs WHERE id = $i")" "run $i: start"
    assert_eq "$(jnum "r$i.json" .metrics.http_reqs.values.count)" "$(sqlite3 h.db "SELECT CAST(requests AS INTEGER) FROM runs WHERE id = $i")" "run $i: requests"
done
# the stored document is the result itself
sqlite3 h.db "SELECT writefile('doc1.json', result) FROM runs WHERE id = 1" >/dev/null
assert_eq "$(jq -c .metrics.http_reqs r1.json)" "$(jq -c .metrics.http_reqs doc1.json)" "stored result document"

RC=0
"$BRUNT" history h.db --last 7d >trend.out 2>trend.err || RC=$?
assert_eq 0 "$RC" "brunt history"
cat trend.out
assert_eq 3 "$(grep -c '█' trend.out)" "one bar per run"
grep '█' trend.out | tail -1 | grep -q 'critical' || fail "the 200 ms run is not marked: $(cat trend.out)"
grep '█' trend.out | head -2 | grep -qE 'regression|critical' && fail "a 100 ms run is marked: $(cat trend.out)"
grep -q 'p95 http_req_duration · GET / (last 7d, 3 runs)' trend.out || fail "trend title: $(head -3 trend.out)"
RC=0
"$BRUNT" history h.db --per day --metric rps >day.out 2>&1 || RC=$?
assert_eq 0 "$RC" "brunt history --per day"
assert_eq 1 "$(grep -c '█' day.out)" "one bar for the day"

# compare --history: the baseline is the last earlier run, a tagged one, the best one
RC=0
"$BRUNT" compare --history h.db --baseline last --format json r3.json >last.json 2>last.err || RC=$?
assert_eq 111 "$RC" "r3 against the last run: critical"
jval last.json .baseline.source | grep -q 'h.db#2' || fail "baseline last is not run 2: $(jval last.json .baseline.source)"
RC=0
"$BRUNT" compare --history h.db --baseline build=1 --format json r3.json >tag.json 2>tag.err || RC=$?
assert_eq 111 "$RC" "against build=1"
jval tag.json .baseline.source | grep -q 'h.db#1' || fail "baseline build=1 is not run 1"
RC=0
"$BRUNT" compare --history h.db --baseline last r2.json >r2.out 2>r2.err || RC=$?
assert_eq 0 "$RC" "r2 against r1 (the run itself is skipped)"
grep -q 'h.db#1' r2.out || fail "r2's baseline is not run 1: $(head -3 r2.out)"
RC=0
"$BRUNT" compare --history h.db --baseline best --format json r3.json >best.json 2>&1 || RC=$?
best=$(sqlite3 h.db 'SELECT id FROM runs WHERE id < 3 ORDER BY p95_ms LIMIT 1')
jval best.json .baseline.source | grep -q "h.db#$best" || fail "best is not run $best"
RC=0
"$BRUNT" compare --history h.db --baseline build=9 r3.json >none.out 2>none.err || RC=$?
assert_eq 2 "$RC" "no run tagged build=9"
assert_one_line none.err "no such baseline"

# two writers at once: 2 x 25 records, each its own transaction
writer() { for _ in $(seq 25); do "$BRUNT" history w.db --add r1.json --tag "w=$1" || return 1; done; }
writer A &
wa=$!
writer B &
wb=$!
wait "$wa" || fail "writer A failed"
wait "$wb" || fail "writer B failed"
assert_eq 50 "$(sqlite3 w.db 'SELECT count(*) FROM runs')" "50 runs from two writers"
assert_eq 25 "$(sqlite3 w.db "SELECT count(*) FROM runs WHERE tags = 'w=A'")" "writer A's runs"
assert_eq ok "$(sqlite3 w.db 'PRAGMA integrity_check')" "integrity after two writers"
# two processes creating the same new file at once
for i in $(seq 24); do
    "$BRUNT" history "new$i.db" --add r1.json &
    p1=$!
    "$BRUNT" history "new$i.db" --add r2.json &
    p2=$!
    wait "$p1" || fail "creator 1 of new$i.db failed"
    wait "$p2" || fail "creator 2 of new$i.db failed"
    assert_eq 2 "$(sqlite3 "new$i.db" 'SELECT count(*) FROM runs')" "new$i.db: both runs"
    assert_eq 1 "$(sqlite3 "new$i.db" "SELECT count(*) FROM meta")" "new$i.db: one schema"
done

# bad input
bad() { # bad NAME EXPECTED_RC WORDS ARGS...
    local name=$1 want=$2 words=$3
    shift 3
    RC=0
    timeout -k 5 60 "$BRUNT" "$@" >"$name.out" 2>"$name.err" || RC=$?
    assert_eq "$want" "$RC" "$name: exit"
    assert_one_line "$name.err" "$name: one line"
    grep -q "$words" "$name.err" || fail "$name: '$words' not in: $(cat "$name.err")"
}
echo 'hello' >text.db
bad notsqlite 2 'not a brunt history' history text.db
sqlite3 other.db 'CREATE TABLE t(x)'
bad othersqlite 2 'not a brunt history' history other.db
bad otheradd 2 'not a brunt history' history other.db --add r1.json
bad missing 2 'no such history' history missing.db
bad badmetric 2 "expected p50" history h.db --metric p42
bad badlast 2 'expected a duration' history h.db --last soon
bad badtag 2 'expected NAME=VALUE' run --history h.db --tag novalue -d 1s "$FAST/"
bad runnothist 2 'not a brunt history' run -q -d 1s --history text.db "$FAST/"
bad cmpnothist 2 'not a brunt history' compare --history text.db r1.json
bad baselinealone 2 'needs --history' compare --baseline last r1.json
assert_eq hello "$(cat text.db)" "a file that is not a history is left alone"

# a locked database: another process holds the write lock
mkfifo hold
python3 -c '
import sqlite3, sys
c = sqlite3.connect("h.db", isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
' <hold >lock.out &
locker=$!
exec 7>hold
for _ in $(seq 200); do
    [[ -s lock.out ]] && break
    alive "$locker" || fail "the locking process died"
    sleep 0.05
done
[[ -s lock.out ]] || fail "the lock was never taken"
bad locked 113 'locked' history h.db --add r1.json --busy-timeout 300ms
echo done >&7
exec 7>&-
wait "$locker"
assert_eq 3 "$(sqlite3 h.db 'SELECT count(*) FROM runs')" "nothing written while locked"
