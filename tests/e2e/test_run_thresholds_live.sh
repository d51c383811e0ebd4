#!/usr/bin/env bash
# Issue 7 (live custom samples): a scenario file's custom metrics are recorded by the
# engine like the built-ins, so they have records in the one-second rows, and their
# thresholds are judged once a second: abortOnFail stops a 30 s run within seconds,
# delayAbortEval postpones the stop, and every request the server saw is counted.
. "$(dirname "$0")/lib.sh"

start_target

scenario() { # NAME THRESHOLD-MAPPING
    cat >"$E2E_TMP/$1.yaml" <<YAML
base_url: $TARGET_URL
metrics:
  hits: counter
  home_time: {type: trend, contains: time}
  bad: rate
scenarios:
  s:
    executor: constant-vus
    vus: 2
    duration: 30s
    flow:
      - request: GET /
        name: home
        metrics:
          hits: "1"
          home_time: duration
          bad: status != 200
      - sleep: 20ms
thresholds:
  hits: [$2]
YAML
}

# Runs scenario NAME, which a custom abortOnFail threshold must stop (exit 99, aborted,
# the reason naming the metric), and checks the server saw exactly brunt's http_reqs.
run_aborted() {
    local before after
    before=$(stats_requests)
    brunt_run "$1" -q --export "$1.json" "$E2E_TMP/$1.yaml"
    after=$(stats_requests)
    assert_eq 99 "$RC" "$1: exit status of a custom abortOnFail stop"
    assert_eq true "$(jval "$1.json" .meta.aborted)" "$1: meta.aborted"
    reason=$(jval "$1.json" .meta.abort_reason)
    [[ $reason == *hits* ]] || fail "$1: meta.abort_reason '$reason' does not name the metric"
    reqs=$(jnum "$1.json" .metrics.http_reqs.values.count)
    assert_eq "$((after - before))" "$reqs" "$1: requests the server saw vs brunt's http_reqs"
}

# abortOnFail on a custom counter: fails in the first second, the run stops at once.
scenario abort '{threshold: "count<20", abort_on_fail: true}'
run_aborted abort
assert_le "$(jnum abort.json .meta.duration_ms)" 6000 "meta.duration_ms of the aborted 30 s run"
assert_eq "$reqs" "$(jnum abort.json .metrics.hits.values.count)" "hits (one per response) vs http_reqs"
assert_eq false "$(jval abort.json .thresholds[0].ok)" "the aborting threshold failed"
grep -q 'hits' abort.out || fail "the summary does not show the custom threshold"

# The custom metrics have records in the one-second rows, summing to their totals.
hits_i=$(jq '[.timeseries.series | to_entries[] | select(.value.metric == "hits") | .key] | first' abort.json)
time_i=$(jq '[.timeseries.series | to_entries[] | select(.value.metric == "home_time") | .key] | first' abort.json)
[[ $hits_i != null && $time_i != null ]] || fail "the custom metrics are not in timeseries.series"
rows_with=$(jq "[.timeseries.rows[] | select(any(.series[]; .i == $hits_i))] | length" abort.json)
assert_ge "$rows_with" 1 "rows holding a hits record"
row_sum=$(jq "[.timeseries.rows[].series[] | select(.i == $hits_i) | .sum] | add" abort.json)
assert_eq "$reqs" "$row_sum" "hits summed over the rows vs the total"
row_n=$(jq "[.timeseries.rows[].series[] | select(.i == $time_i) | .n] | add" abort.json)
assert_eq "$reqs" "$row_n" "home_time samples over the rows vs http_reqs"

# delayAbortEval=4s: the same failing threshold cannot stop the run before 4 s.
scenario delayed '{threshold: "count<20", abort_on_fail: true, delay_abort_eval: 4s}'
run_aborted delayed
assert_ge "$(jnum delayed.json .meta.duration_ms)" 4000 "duration_ms with delayAbortEval=4s"
assert_le "$(jnum delayed.json .meta.duration_ms)" 9000 "duration_ms with delayAbortEval=4s"

stop_target
