#!/usr/bin/env bash
# Issue 3, 10: k6's executors in scenario files, checked against the server's counts.
#   per-vu-iterations runs exactly N x VUs iterations; shared-iterations exactly N;
#   constant- and ramping-arrival-rate hold their rate within 1% over 20 s;
#   ramping-vus reaches each stage's target (the result's one-second `vus` series).
# e2e: timing (see run.sh: runs alone, after the others)
. "$(dirname "$0")/lib.sh"

scen() { # NAME EXECUTOR-BLOCK: writes NAME.yaml with a one-request flow
    cat >"$1.yaml" <<YAML
base_url: \${BASE_URL}
scenarios:
  s:
$2
    flow:
      - request: GET /api/v1/auctions/auction_{{ randint 0 999 }}
        check: [status == 200]
YAML
}

start_target
export BASE_URL=$TARGET_URL

# per-vu-iterations: 7 VUs x 23 iterations = 161 requests, exactly.
scen pvi "    executor: per-vu-iterations
    vus: 7
    iterations: 23"
brunt_run pvi -q --export pvi.json pvi.yaml
assert_eq 0 "$RC" "exit status (per-vu-iterations)"
assert_eq 161 "$(jnum pvi.json .metrics.iterations.values.count)" "iterations reported"
assert_eq 161 "$(stats_requests)" "requests the server saw (per-vu-iterations 7 x 23)"
stop_target

# shared-iterations: 137 iterations over 5 VUs, exactly.
start_target
export BASE_URL=$TARGET_URL
scen si "    executor: shared-iterations
    vus: 5
    iterations: 137"
brunt_run si -q --export si.json si.yaml
assert_eq 0 "$RC" "exit status (shared-iterations)"
assert_eq 137 "$(jnum si.json .metrics.iterations.values.count)" "iterations reported"
assert_eq 137 "$(stats_requests)" "requests the server saw (shared-iterations 137)"
stop_target

# constant-arrival-rate: 200/s for 20 s = 4000 iterations, within 1%.
start_target
export BASE_URL=$TARGET_URL
scen car "    executor: constant-arrival-rate
    rate: 200
    time_unit: 1s
    duration: 20s
    pre_allocated_vus: 20
    max_vus: 100"
brunt_run car -q --export car.json car.yaml
assert_eq 0 "$RC" "exit status (constant-arrival-rate)"
n=$(jnum car.json .metrics.iterations.values.count)
assert_within "$n" 4000 40 "constant-arrival-rate iterations in 20 s at 200/s"
assert_eq "$n" "$(stats_requests)" "server count equals brunt's iterations"
stop_target

# ramping-arrival-rate: 100/s -> 300/s over 20 s = (100+300)/2 x 20 = 4000, within 1%.
start_target
export BASE_URL=$TARGET_URL
scen rar "    executor: ramping-arrival-rate
    start_rate: 100
    pre_allocated_vus: 20
    max_vus: 100
    stages: [{duration: 20s, target: 300}]"
brunt_run rar -q --export rar.json rar.yaml
assert_eq 0 "$RC" "exit status (ramping-arrival-rate)"
n=$(jnum rar.json .metrics.iterations.values.count)
assert_within "$n" 4000 40 "ramping-arrival-rate iterations over a 100 -> 300/s ramp of 20 s"
assert_eq "$n" "$(stats_requests)" "server count equals brunt's iterations"
stop_target

# ramping-vus: 0 -> 4 (2 s), hold 4 (3 s), -> 9 (2 s), hold 9 (3 s), -> 0 (2 s).
start_target
export BASE_URL=$TARGET_URL
cat >rv.yaml <<YAML
base_url: \${BASE_URL}
scenarios:
  s:
    executor: ramping-vus
    start_vus: 0
    graceful_ramp_down: 1s
    stages:
      - {duration: 2s, target: 4}
      - {duration: 3s, target: 4}
      - {duration: 2s, target: 9}
      - {duration: 3s, target: 9}
      - {duration: 2s, target: 0}
    flow:
      - request: GET /health
      - sleep: 50ms
YAML
brunt_run rv -q --export rv.json rv.yaml
assert_eq 0 "$RC" "exit status (ramping-vus)"
vus_at() { jq -r --argjson t "$1" '[.timeseries.rows[] | select(.t == $t) | .vus][0] // "none"' rv.json; }
assert_eq 4 "$(vus_at 3)" "VUs in second 3 (holding at 4)"
assert_eq 4 "$(vus_at 4)" "VUs in second 4 (holding at 4)"
assert_eq 9 "$(vus_at 8)" "VUs in second 8 (holding at 9)"
assert_eq 9 "$(vus_at 9)" "VUs in second 9 (holding at 9)"
most=$(jq '[.timeseries.rows[].vus] | max' rv.json)
assert_eq 9 "$most" "the most VUs at any second"
stop_target
