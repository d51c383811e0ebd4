#!/usr/bin/env bash
# The result file of `brunt run --export` has the shape docs/result-format.md documents:
# schema, meta, options, metrics (values by type, trends with their full histogram and
# per-tag series), thresholds, one-second timeseries rows, errors by kind, warnings.
# e2e: long (see run.sh: started first among the parallel tests)
. "$(dirname "$0")/lib.sh"

start_target
brunt_run shape -q -t 1 -c 2 -d 3s --export result.json \
    --threshold 'http_req_duration:p(95)<10000' "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
ls result.json.tmp.* >/dev/null 2>&1 && fail "temporary file left behind: $(ls result.json.tmp.*)"

# check JQ_BOOLEAN_EXPR DESCRIPTION: the expression is true of result.json.
check() {
    local v
    v=$(jq -r "$1" result.json 2>&1) || fail "$2: jq error on '$1': $v"
    [[ $v == true ]] || fail "$2: '$1' is $v; document part: $(jq -c "${3:-.}" result.json | head -c 1500)"
    log "ok: $2"
}

check '.schema == "brunt-result/1"' "schema"
for k in meta options metrics thresholds timeseries errors warnings; do
    check "has(\"$k\")" "top-level key $k"
done

# meta
check '.meta.version | type == "string" and length > 0' "meta.version" .meta
check '.meta.command | type == "array" and length > 0 and all(type == "string")' "meta.command" .meta
check '[.meta.start, .meta.end] | all(type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"))' "meta.start/end are RFC 3339 UTC" .meta
check '.meta.start <= .meta.end' "meta.start <= meta.end" .meta
check '.meta.duration_ms | type == "number" and . >= 2500 and . <= 9000' "meta.duration_ms of a 3 s run" .meta
check '.meta.machine | (.cores | type == "number" and . >= 1) and (.hostname | type == "string") and (.kernel | type == "string")' "meta.machine" .meta
check '.meta.interrupted == false and .meta.aborted == false and .meta.abort_reason == null' "meta flags" .meta
check '.meta.exit_code == 0' "meta.exit_code" .meta
check '.meta.cpu | (.user_ms | type == "number") and (.system_ms | type == "number") and (.max_worker_busy | type == "number" and . >= 0 and . <= 1)' "meta.cpu" .meta

# options
check '.options.url | startswith("http://127.0.0.1:")' "options.url" .options
check '.options.method == "GET" and .options.model == "closed" and .options.threads == 1 and .options.connections == 2' "options: method, model, threads, connections" .options
check '.options.duration_ms == 3000 and .options.rate == null and .options.requests == null' "options: duration_ms, rate, requests" .options
check '.options.stages | type == "array"' "options.stages" .options
check '.options | (.timeout_ms == 30000) and (.connect_timeout_ms == 10000) and (.pipeline == 1) and (.grace_ms == 5000)' "options defaults" .options
check '.options.executor | type == "string"' "options.executor" .options

# metrics: the k6 names and brunt's own, with the documented types.
for m in http_reqs:counter iterations:counter data_sent:counter data_received:counter \
    http_req_failed:rate http_req_duration:trend http_req_latency:trend \
    http_req_waiting:trend http_req_sending:trend http_req_receiving:trend \
    http_req_blocked:trend http_req_connecting:trend iteration_duration:trend \
    vus:gauge vus_max:gauge; do
    name=${m%%:*}
    type=${m#*:}
    check ".metrics.$name.type == \"$type\"" "metrics.$name.type is $type" ".metrics.$name"
done
check '[.metrics[] | select(.type == "counter") | .values | has("count") and has("rate")] | all' "counters have count and rate"
check '[.metrics[] | select(.type == "rate") | .values | has("rate") and has("passes") and has("fails")] | all' "rates have rate, passes, fails"
check '[.metrics[] | select(.type == "gauge") | .values | has("value") and has("min") and has("max")] | all' "gauges have value, min, max"
check '[.metrics[] | select(.type == "trend") | .values | (["count","avg","min","med","max","p(90)","p(95)","p(99)","p(99.9)","stddev"] - keys) == []] | all' "trends have the documented values"
check '.metrics.http_req_duration.contains == "time" and .metrics.data_sent.contains == "data"' "contains"
check '.metrics.http_reqs.values.count > 100' "http_reqs.count" .metrics.http_reqs

# A trend's statistics are ordered and its histogram rebuilds it.
d=.metrics.http_req_duration
check "$d.values | .min <= .med and .med <= .[\"p(90)\"] and .[\"p(90)\"] <= .[\"p(95)\"] and .[\"p(95)\"] <= .[\"p(99)\"] and .[\"p(99)\"] <= .[\"p(99.9)\"] and .[\"p(99.9)\"] <= .max and .min <= .avg and .avg <= .max" "http_req_duration values ordered" "$d.values"
check "$d.histogram | .unit == \"ns\" and (.buckets | length > 0)" "http_req_duration histogram present" "$d.histogram"
check "$d | .histogram.count == .values.count and .values.count == $(jnum result.json .metrics.http_reqs.values.count)" "histogram count == values.count == http_reqs"
check "$d.histogram | ([.buckets[][1]] | add) == .count" "bucket counts add up to count" "$d.histogram | del(.buckets)"
check "$d.histogram | [.buckets[][0]] | . == sort and . == unique" "buckets ascending" 
check "$d.histogram | all(.buckets[]; .[0] >= 0 and .[1] > 0 and (.[0] | floor) == .[0] and (.[1] | floor) == .[1])" "buckets are integer [ns, count>0] pairs"
check "$d | (.histogram.min / 1e6 - .values.min | fabs) < 0.001 and (.histogram.max / 1e6 - .values.max | fabs) < 0.001" "histogram min/max (ns) match values min/max (ms)"
check "$d | (.histogram.sum / .histogram.count / 1e6 - .values.avg | fabs) < 0.001" "histogram sum/count matches avg"
check "$d | .histogram.buckets[0][0] <= .histogram.min and .histogram.buckets[-1][0] <= .histogram.max" "bucket lower bounds bracket min/max"
check "$d.series | type == \"array\" and length >= 1" "http_req_duration has series" "$d | del(.histogram)"
check "$d.series | all(.tags | .method == \"GET\" and .status == \"200\" and .expected_response == \"true\" and (.name | type == \"string\"))" "series tags" "$d.series | map(.tags)"
check "$d.series | all(has(\"values\") and has(\"histogram\"))" "trend series carry values and histogram"
check "$d | ([.series[].values.count] | add) == .values.count" "series counts add up to the aggregate"
check '.metrics.http_req_latency.values.count == .metrics.http_req_duration.values.count' "latency and duration count the same requests"
check '.metrics.http_req_latency.values.min >= .metrics.http_req_duration.values.min - 0.001' "latency >= duration"

# thresholds
check '.thresholds | length == 1 and (.[0] | .metric == "http_req_duration" and .expression == "p(95)<10000" and .ok == true and .abort_on_fail == false and (.observed | type == "number"))' "thresholds" .thresholds
check '(.thresholds[0].observed - .metrics.http_req_duration.values["p(95)"] | fabs) < 0.001' "threshold observed == p(95)"

# timeseries
check '.timeseries.interval_ms == 1000' "timeseries.interval_ms" '.timeseries | del(.rows)'
check '.timeseries.rows | length >= 3 and length <= 5' "one row per second of a 3 s run" '.timeseries.rows | map(.t)'
check '[.timeseries.rows[].t] == [range(0; .timeseries.rows | length)]' "rows t = 0, 1, 2, ..." '.timeseries.rows | map(.t)'
check '.timeseries.rows | all(has("time") and has("vus") and has("http_reqs") and has("rps") and has("failed") and has("iterations") and has("dropped_iterations") and has("data_sent") and has("data_received") and has("errors") and has("http_req_duration") and has("http_req_latency"))' "row keys" '.timeseries.rows[0]'
check '.timeseries.rows[0].http_req_duration | has("avg") and has("med") and has("p(95)") and has("p(99)") and has("max")' "row trend keys" '.timeseries.rows[0]'
check '([.timeseries.rows[].http_reqs] | add) == .metrics.http_reqs.values.count' "rows' http_reqs add up to the total" '[.timeseries.rows[].http_reqs]'
check '.timeseries.rows[0:2] | all(.vus == 2)' "vus in each full second" '[.timeseries.rows[].vus]'

# errors and warnings
check '(["connect","dns","other","protocol","refused","reset","timeout","tls"] - (.errors | keys)) == [] and ([.errors[]] | all(type == "number"))' "errors by kind (readers ignore extra keys)" .errors
check '[.errors[]] | all(. == 0)' "no errors against a healthy target" .errors
check '.warnings | type == "array" and all(type == "string")' "warnings" .warnings

assert_eq "$(jnum result.json .metrics.http_reqs.values.count)" "$(stats_requests)" "server's count equals brunt's"
stop_target
