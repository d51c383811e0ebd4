#!/usr/bin/env bash
# Issue 11, item 5: a real Prometheus (Debian's prometheus, on a free loopback port with
# a temporary config and storage, scraping every second) scrapes `brunt run
# --prometheus`; through Prometheus's HTTP API, the last request count it scraped equals
# the count in brunt's result and the requests the target served, and the watched
# target's CPU (a non-time trend) equals the result's.  Then the same with
# k6 names (--prometheus-names k6): k6_http_reqs_total and k6_vus are there.
. "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null || fail "prometheus is not installed (scripts/setup.sh installs it)"

BPORT=$(free_port)
PPORT=$(free_port)
mkdir -p prom-data
cat >prom.yml <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: brunt
    static_configs:
      - targets: ['127.0.0.1:$BPORT']
CFG
prometheus --config.file=prom.yml --storage.tsdb.path=prom-data \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >prom.log 2>&1 &
PROM_PID=$!
_E2E_PIDS+=("$PROM_PID")
ready=0
for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PPORT/-/ready" >/dev/null 2>&1; then
        ready=1
        break
    fi
    alive "$PROM_PID" || fail "prometheus exited: $(tail -5 prom.log)"
    sleep 0.1
done
((ready)) || fail "prometheus not ready within 30 s: $(tail -5 prom.log)"

# query EXPR: the value of an instant query (empty when there is no result).
query() {
    curl -sf "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
        jq -r '.data.result[0].value[1] // empty'
}

start_target
# An address that cannot be bound (Prometheus holds it) is a usage error before any load.
before=$(stats_requests)
brunt_run taken -q -c 1 -d 1s --prometheus "127.0.0.1:$PPORT" "$TARGET_URL/"
assert_eq 2 "$RC" "exit status with a --prometheus port in use"
assert_one_line taken.err "stderr with a --prometheus port in use"
assert_eq "$before" "$(stats_requests)" "requests sent when --prometheus cannot listen"
brunt_run badaddr -q -c 1 -d 1s --prometheus "localhost" "$TARGET_URL/"
assert_eq 2 "$RC" "exit status with --prometheus localhost (no port)"
assert_one_line badaddr.err "stderr with --prometheus localhost"

# --prometheus-hold keeps the final totals up for a few scrapes after the load.
brunt_run brunt -q -c 2 -d 3s --export r.json --prometheus "127.0.0.1:$BPORT" \
    --prometheus-hold 3s --threshold 'http_req_duration:p(95)<250' --watch "$TARGET_PID" \
    "$TARGET_URL/"
assert_eq 0 "$RC" "exit status"
reqs=$(jnum r.json .metrics.http_reqs.values.count)
assert_eq "$(stats_requests)" "$reqs" "requests in the result vs served"
scraped=$(query 'sum(last_over_time(brunt_http_reqs_total[5m]))')
[[ -n $scraped ]] || fail "Prometheus has no brunt_http_reqs_total: $(tail -5 prom.log)"
assert_eq "$reqs" "$scraped" "last scraped brunt_http_reqs_total vs the result"
# The latency histogram has the threshold's limit (250 ms) among its edges.
le=$(query 'count(last_over_time(brunt_http_req_duration_seconds_bucket{le="0.25"}[5m]))')
assert_ge "${le:-0}" 1 "histogram series with le=0.25"
inf=$(query 'sum(last_over_time(brunt_http_req_duration_seconds_bucket{le="+Inf"}[5m]))')
assert_eq "$(jnum r.json .metrics.http_req_duration.values.count)" "$inf" "+Inf bucket vs http_req_duration count"

# The watch's figures too, in their own unit (% of the CPUs; the histogram keeps
# millionths): the last scraped max of the target's CPU equals the result's.
cpu_max=$(jnum r.json .metrics.process_cpu.values.max)
scraped=$(query "max(last_over_time(brunt_process_cpu_max{target=\"$TARGET_PID\"}[5m]))")
[[ -n $scraped ]] || fail "Prometheus has no brunt_process_cpu_max for the watched target"
assert_within "$scraped" "$cpu_max" "$(awk -v c="$cpu_max" 'BEGIN { print c * 0.002 + 1e-6 }')" \
    "last scraped brunt_process_cpu_max vs the result's process_cpu max"

# Every metric examples/grafana-dashboard.json queries was scraped (brunt_errors_total
# has series only when a network error happened, so it is left out).
for name in $(jq -r '.panels[].targets[].expr' "$E2E_DIR/../../examples/grafana-dashboard.json" |
    grep -o 'brunt_[a-z_]*' | sort -u | grep -vx brunt_errors_total); do
    n=$(query "count(last_over_time({__name__=\"$name\"}[5m]))")
    assert_ge "${n:-0}" 1 "series of $name (used by the Grafana dashboard)"
done

# k6 names: a second, shorter run to the same scrape target.
before=$(stats_requests)
brunt_run k6 -q -c 1 -d 2s --export k6.json --prometheus "127.0.0.1:$BPORT" \
    --prometheus-names k6 --prometheus-hold 3s "$TARGET_URL/"
assert_eq 0 "$RC" "exit status with k6 names"
k6reqs=$(jnum k6.json .metrics.http_reqs.values.count)
assert_eq $(($(stats_requests) - before)) "$k6reqs" "k6-named run: requests vs served"
scraped=$(query 'sum(last_over_time(k6_http_reqs_total[5m]))')
assert_eq "$k6reqs" "$scraped" "last scraped k6_http_reqs_total vs the result"
[[ -n $(query 'max(last_over_time(k6_vus[5m]))') ]] || fail "no k6_vus scraped"
[[ -n $(query 'max(last_over_time(k6_http_req_duration_p99[5m]))') ]] || fail "no k6_http_req_duration_p99"
stop_target
