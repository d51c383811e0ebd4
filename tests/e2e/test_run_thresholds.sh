#!/usr/bin/env bash
# Issue 2, 10e: thresholds decide the exit status: all passing -> 0, any failing -> 99,
# abortOnFail stops a long run early (and says so in the result), and a malformed
# threshold is a usage error (exit 2, one line on stderr) found before any load.
. "$(dirname "$0")/lib.sh"

start_target

# Passing thresholds: a trend percentile, a rate and a tag-filtered trend.
brunt_run pass -q -c 4 -d 2s --export pass.json \
    --threshold 'http_req_duration:p(95)<5000' \
    --threshold 'http_req_failed:rate<0.01' \
    --threshold 'http_req_duration{status:200}:max<10000' \
    "$TARGET_URL/"
assert_eq 0 "$RC" "exit status with passing thresholds"
assert_eq 3 "$(jnum pass.json '.thresholds | length')" "thresholds in the result"
assert_eq true "$(jval pass.json '[.thresholds[].ok] | all')" "every threshold ok"
assert_eq 0 "$(jnum pass.json .meta.exit_code)" "meta.exit_code"
assert_eq false "$(jval pass.json .meta.aborted)" "meta.aborted"

# One failing threshold among passing ones.
brunt_run failing -q -c 4 -d 2s --export failing.json \
    --threshold 'http_req_failed:rate<0.01' \
    --threshold 'http_reqs:count<10' \
    "$TARGET_URL/"
assert_eq 99 "$RC" "exit status with a failing threshold"
assert_eq 'true false' "$(jval failing.json '[.thresholds[].ok | tostring] | join(" ")')" "verdicts in order"
observed=$(jnum failing.json '.thresholds[1].observed')
assert_ge "$observed" 10 "observed value of the failing http_reqs count threshold"
assert_eq 99 "$(jnum failing.json .meta.exit_code)" "meta.exit_code"
assert_eq false "$(jval failing.json .meta.aborted)" "meta.aborted without abortOnFail"
grep -q 'http_reqs' failing.out || fail "the summary on stdout does not mention the failing threshold's metric"

# abortOnFail: a 30 s run whose threshold fails in its first second stops within ~10 s.
t0=$(now_ms)
brunt_run abort -q -c 4 -d 30s --export abort.json \
    --threshold 'http_reqs:count<50,abortOnFail' \
    "$TARGET_URL/"
elapsed=$(($(now_ms) - t0))
assert_eq 99 "$RC" "exit status of an abortOnFail stop"
assert_le "$elapsed" 10000 "wall time (ms) of a 30 s run aborted by its threshold"
assert_eq true "$(jval abort.json .meta.aborted)" "meta.aborted"
reason=$(jval abort.json .meta.abort_reason)
[[ $reason == *http_reqs* ]] || fail "meta.abort_reason '$reason' does not name the threshold's metric"
assert_eq true "$(jval abort.json .thresholds[0].abort_on_fail)" "thresholds[0].abort_on_fail"
assert_eq false "$(jval abort.json .meta.interrupted)" "meta.interrupted"
assert_le "$(jnum abort.json .meta.duration_ms)" 10000 "meta.duration_ms of the aborted run"

# Malformed thresholds: usage errors before any request.
before=$(stats_requests)
i=0
for bad in 'http_req_duration:p(95)<' 'http_req_duration' 'http_req_duration:p95<300' \
    'http_req_duration:p(95)<<300' 'http_req_duration:p(95)<300,abortOnFial'; do
    i=$((i + 1))
    brunt_run "bad$i" -q -c 1 -d 1s --threshold "$bad" "$TARGET_URL/"
    assert_eq 2 "$RC" "exit status for --threshold '$bad'"
    assert_one_line "$E2E_TMP/bad$i.err" "stderr for --threshold '$bad'"
done
assert_eq "$before" "$(stats_requests)" "requests sent by runs with malformed thresholds"
stop_target
