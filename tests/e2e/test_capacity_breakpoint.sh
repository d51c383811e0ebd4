#!/usr/bin/env bash
# The breakpoint executor (issue 12): a ramp from 10/s to 300/s in 30 s against `brunt
# serve --service-slots 5 --service-time 50ms`, which holds exactly 100 requests/s (its
# /__stats says so).  The run stops when the latency threshold breaks, a few seconds past
# the capacity (the threshold is judged over the run so far): the rate it broke at lies
# above the capacity and well below the ramp's peak, the rate that held a second before
# is within 40% of it, the server counted no more requests than brunt sent, and the exit
# is the thresholds' 99.
. "$(dirname "$0")/lib.sh"

start_target --service-slots 5 --service-time 50ms
slots=$(stats_get .service.slots)
time_ns=$(stats_get .service.time_ns)
cap=$(echo "$slots * 1000000000 / $time_ns" | bc -l)
log "the server's capacity: $cap/s"

RC=0
BASE_URL=$TARGET_URL timeout -k 5 90 "$BRUNT" run --export bp.json "$E2E_DIR/../../examples/breakpoint.yaml" \
    >bp.out 2>bp.err || RC=$?
cat bp.out | tail -8
assert_eq 99 "$RC" "exit: the thresholds broke"
line=$(grep -E '^    broke at [0-9.]+/s' bp.out) || fail "no breaking point in the output: $(tail -5 bp.out)"
broke=$(sed -E 's/^    broke at ([0-9.]+)\/s.*/\1/' <<<"$line")
held=$(sed -E 's/.*held at ([0-9.]+)\/s.*/\1/' <<<"$line")
assert_ge "$broke" "$cap" "it broke above the capacity"
assert_le "$broke" "$(echo "$cap * 2" | bc -l)" "and well below the ramp's 300/s"
assert_ge "$held" "$(echo "$cap * 0.6" | bc -l)" "the rate that held"
assert_le "$held" "$broke" "held below broke"
grep -q 'what broke: http_req_latency p(95)<300' bp.out || fail "what broke is not named"
assert_eq true "$(jval bp.json .meta.aborted)" "the result says the run was stopped"
sent=$(jnum bp.json '.metrics.http_reqs.values.count')
served=$(stats_requests)
assert_le "$served" "$sent" "the server counted no more than brunt sent"

# without thresholds nothing can break: one warning line
cat >nothr.yaml <<YAML
base_url: $TARGET_URL
scenarios:
  r:
    executor: breakpoint
    pre_allocated_vus: 5
    stages: [{duration: 1s, target: 5}]
    flow: [{request: GET /}]
YAML
RC=0
timeout -k 5 30 "$BRUNT" run -q nothr.yaml >nothr.out 2>nothr.err || RC=$?
assert_eq 0 "$RC" "no thresholds: exit"
grep -q 'breakpoint ramp without thresholds' nothr.err || fail "no warning: $(cat nothr.err)"
grep -q 'nothing broke' nothr.out || fail "no 'nothing broke' line: $(cat nothr.out)"
