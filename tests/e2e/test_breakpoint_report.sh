#!/usr/bin/env bash
# The breakpoint executor's finding in the result file and the reports (issues 11, 12).
# `brunt serve --service-slots 5 --service-time 50ms` holds exactly 100 requests/s (its
# /__stats says so; beyond that a FIFO queue grows).  A breakpoint ramp from 20/s to
# 300/s in 20 s breaks its latency threshold (p(95) < 1 s, judged over the run so far)
# some seconds past the capacity.  Checked:
#  - analysis.breakpoint in the result: broke, the rate it broke at above the server's
#    capacity and below the ramp's peak, the rate that held below it, what broke named
#    with the threshold's own observed value;
#  - the figures against the server's count: every arrival of the ramp up to the stop
#    reached the server, so its count is the ramp's integral up to t_s (and so
#    broke_at_rate = the ramp's rate then);
#  - the Markdown "Load Test Results" row and the HTML figures carry the same numbers,
#    also when rendered later with `brunt report`;
#  - a ramp that stays under the capacity breaks nothing: "not reached", the rate it
#    reached, and the server's count equal to brunt's;
#  - a run without a breakpoint ramp has "breakpoint": null and keeps the report's own
#    breaking-point row.
. "$(dirname "$0")/lib.sh"

start_target --service-slots 5 --service-time 50ms
cap=$(echo "$(stats_get .service.slots) * 1000000000 / $(stats_get .service.time_ns)" | bc -l)
log "the server's capacity: $cap/s"

ramp() { # FILE START PEAK RAMP: a breakpoint scenario file
    cat >"$1" <<YAML
name: bp
base_url: $TARGET_URL
scenarios:
  ramp:
    executor: breakpoint
    start_rate: $2
    time_unit: 1s
    pre_allocated_vus: 50
    max_vus: 2000
    stages:
      - {duration: $4, target: $3}
    flow:
      - request: GET /
thresholds:
  http_req_latency: ["p(95)<1000"]
  http_req_failed: ["rate<0.01"]
YAML
}

# --- a ramp past the capacity breaks --------------------------------------------------
ramp up.yaml 20 300 20s
before=$(stats_requests)
brunt_run up up.yaml --export up.json --report up.md --report up.html
tail -5 up.out
assert_eq 99 "$RC" "exit: the thresholds broke"
served=$(($(stats_requests) - before))
assert_eq true "$(jval up.json .analysis.breakpoint.broke)" "analysis.breakpoint.broke"
assert_eq ramp "$(jval up.json .analysis.breakpoint.scenario)" "the ramp's scenario"
assert_eq 300 "$(jnum up.json .analysis.breakpoint.peak_rate)" "the ramp's peak"
broke=$(jnum up.json .analysis.breakpoint.broke_at_rate)
held=$(jnum up.json .analysis.breakpoint.held_rate)
t_s=$(jnum up.json .analysis.breakpoint.t_s)
log "broke at $broke/s, $t_s s in; held $held/s"
assert_ge "$broke" "$cap" "it broke above the server's capacity"
assert_lt "$broke" 300 "and before the ramp's peak"
assert_lt "$held" "$broke" "the rate that held is below the rate that broke"
# the ramp is linear: the rate a second before is the rate at the stop less 14/s
assert_within "$held" "$(echo "$broke - 14" | bc -l)" 0.01 "held = broke_at - one second of ramp"
assert_within "$(jnum up.json .analysis.breakpoint.reached_rate)" "$broke" 0.001 "reached = broke_at"
assert_eq "http_req_latency p(95)<1000" \
    "$(jval up.json '.analysis.breakpoint.what_broke | map(.threshold + " " + .expression) | join(",")')" \
    "what broke"
obs=$(jnum up.json '.analysis.breakpoint.what_broke[0].observed')
assert_eq "$(jnum up.json '.thresholds[] | select(.expression == "p(95)<1000") | .observed')" "$obs" \
    "what broke's observed value is the threshold's"
assert_ge "$obs" 1000 "the observed p95 passed 1 s"
# The server's own count against the ramp brunt says it ran: a linear ramp from 20/s to
# broke_at_rate over t_s seconds schedules t_s x (20 + broke_at_rate) / 2 arrivals, each
# sent (the server counts a request when it has received it whole) unless dropped.  The
# requests in flight at the stop drain for seconds after it against the full queue;
# a t_s taken at the end of that drain (as brunt did before) is off by hundreds.
dropped=$(jval up.json '.metrics.dropped_iterations.values.count // 0')
scheduled=$(echo "$t_s * (20 + $broke) / 2" | bc -l)
log "server received $served (+ $dropped dropped); the ramp to $broke/s over $t_s s schedules $scheduled"
assert_within "$((served + dropped))" "$scheduled" "$(echo "$scheduled * 0.03 + 5" | bc -l)" \
    "the server's count vs the arrivals of the ramp brunt reports"
assert_le "$t_s" "$(echo "$(jnum up.json .meta.duration_ms) / 1000" | bc -l)" "the stop is before the end of the drain"
assert_eq "$(jnum up.json .metrics.http_reqs.values.count)" "$served" "brunt's requests vs the server's"
vus=$(jnum up.json .analysis.breakpoint.vus)
# the VUs of the last whole second before the stop (after it they drain)
whole=$(jval up.json "[.timeseries.rows[] | select(.t + 1 <= $t_s)][-1].vus")
assert_eq "$whole" "$vus" "the VUs at the stop: the last whole second's before it"
assert_ge "$vus" 50 "the VUs at the stop: past the 50 pre-allocated, the server's queue held them"

# the reports: the same figures
row=$(grep '^| Breaking point |' up.md) || fail "up.md has no Breaking point row"
log "$row"
want=$(printf 'http_req_latency p(95)&lt;1000 (observed %.4g) broke at an arrival rate of %.1f/s with %s VUs, %.1f s into the breakpoint ramp' \
    "$obs" "$broke" "$vus" "$t_s")
[[ $row == "| Breaking point | $want"* ]] || fail "the Markdown row: expected '$want', got '$row'"
printf -v held1 '%.1f' "$held"
[[ $row == *"; $held1/s held a second before |" ]] || fail "the held rate $held1 is not in '$row'"
grep -q "Breaking point: http_req_latency" up.md || fail "the executive summary has no breaking point"
fig() { grep -o "data-fig=\"$2\" data-value=\"[^\"]*\"" "$1" | sed 's/.*data-value="\(.*\)"/\1/'; }
assert_eq 1 "$(fig up.html bp_broke)" "html: broke"
assert_within "$(fig up.html bp_broke_at_rate)" "$broke" 1e-9 "html: the rate it broke at"
assert_within "$(fig up.html bp_held_rate)" "$held" 1e-9 "html: the rate that held"
RC=0
timeout -k 5 30 "$BRUNT" report up.json -o later.md >/dev/null 2>later.err || RC=$?
assert_eq 0 "$RC" "brunt report on the saved result"
assert_eq "$row" "$(grep '^| Breaking point |' later.md)" "brunt report later: the same row"

# --- a ramp under the capacity breaks nothing -------------------------------------------
ramp low.yaml 10 50 4s
before=$(stats_requests)
brunt_run low low.yaml --export low.json --report low.md
assert_eq 0 "$RC" "exit: nothing broke"
served=$(($(stats_requests) - before))
assert_eq false "$(jval low.json .analysis.breakpoint.broke)" "analysis.breakpoint.broke"
assert_eq null "$(jval low.json .analysis.breakpoint.broke_at_rate)" "no rate it broke at"
assert_eq 50 "$(jnum low.json .analysis.breakpoint.reached_rate)" "it reached the ramp's end"
assert_eq "$(jnum low.json .metrics.http_reqs.values.count)" "$served" "brunt's requests vs the server's"
assert_within "$served" 120 4 "the server received the ramp's 4 x (10 + 50) / 2 arrivals"
grep -q "^| Breaking point | not reached: the breakpoint ramp 'ramp' held its thresholds up to an arrival rate of 50.0/s" low.md ||
    fail "the Markdown row: $(grep '^| Breaking point' low.md)"

# --- no breakpoint ramp: null, and the report's own row ---------------------------------
brunt_run plain -q -R 20 -d 2s --export plain.json --report plain.md "$TARGET_URL/"
assert_eq 0 "$RC" "a plain run"
assert_eq null "$(jval plain.json .analysis.breakpoint)" "analysis.breakpoint without a ramp"
grep -q '^| Breaking point | not reached: errors stayed' plain.md ||
    fail "the plain run's row: $(grep '^| Breaking point' plain.md)"
stop_target
