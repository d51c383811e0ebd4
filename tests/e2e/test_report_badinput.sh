#!/usr/bin/env bash
# Issue 11, item 7: a result that is missing, truncated, not JSON, of an unknown schema
# version or from a run that measured nothing, and an output that cannot be written or
# whose extension names no format: one line on stderr, the documented exit code (2
# usage, 4 the result cannot be read, 5 a report cannot be written), and never a
# partial file where the report should be (an existing report is left as it was).
. "$(dirname "$0")/lib.sh"

start_target
brunt_run run -q -c 2 -d 1s --export good.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of the run"
stop_target

report() { # NAME ARGS...: runs brunt report, RC and NAME.err set
    local name=$1
    shift
    RC=0
    timeout -k 5 30 "$BRUNT" report "$@" >"$name.out" 2>"$name.err" || RC=$?
    assert_no_crash "$RC" "brunt report $*"
}

# An existing report that every failing render below must leave untouched.
"$BRUNT" report -q good.json -o old.html
cp old.html old.html.orig

size=$(wc -c <good.json)
head -c $((size / 2)) good.json >truncated.json
printf 'this is not JSON\n' >notjson.json
: >empty.json
jq '.schema = "brunt-result/9"' good.json >future.json
jq 'del(.schema)' good.json >noschema.json
jq '.metrics = {} | .timeseries.rows = []' good.json >nosamples.json

check() { # NAME EXPECTED_RC WORD_IN_MESSAGE ARGS...
    local name=$1 want=$2 word=$3
    shift 3
    report "$name" "$@"
    assert_eq "$want" "$RC" "exit status of brunt report $*"
    assert_one_line "$name.err" "stderr of brunt report $*"
    grep -qi -- "$word" "$name.err" || fail "$name: message lacks '$word': $(cat "$name.err")"
}
check missing 4 'cannot read' nosuch.json -o old.html
check truncated 4 'truncated' truncated.json -o old.html
check notjson 4 'not JSON' notjson.json -o old.html
check empty 4 'empty' empty.json -o old.html
check future 4 'brunt-result/9' future.json -o old.html
check noschema 4 'schema' noschema.json -o old.html
check nosamples 4 'no samples' nosamples.json -o old.html
check badext 2 'expected a name ending in' good.json -o report.pdf
check noout 2 'no output' good.json
check unwritable 5 'cannot write' good.json -o good.json/r.html
cmp -s old.html old.html.orig || fail "a failed render changed the existing report"
leftovers=$(find . -name '*.tmp.*' | wc -l)
assert_eq 0 "$leftovers" "temporary files left behind"
[[ ! -e report.pdf ]] || fail "report.pdf was written"

# A bad --report on brunt run is refused before any load.
start_target
before=$(stats_requests)
brunt_run badrep -q -c 1 -d 1s --report out.docx "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of run --report out.docx"
assert_one_line badrep.err "stderr of run --report out.docx"
assert_eq "$before" "$(stats_requests)" "requests sent by a run with a bad --report"
# An unwritable --report: the run is measured and reported as usual, exit 5.
brunt_run unwr -q -c 1 -d 1s --export unwr.json --report /nonexistent-dir/r.md "$TARGET_URL/"
assert_eq 5 "$RC" "exit status of run with an unwritable --report"
[[ -s unwr.json ]] || fail "the result was not written beside the failed report"
grep -q 'cannot write /nonexistent-dir/r.md' unwr.err || fail "no line about the report: $(cat unwr.err)"
stop_target
