#!/usr/bin/env bash
# Issue 3, 9-10: every example scenario loads (`brunt run --check`, exit 0, no request
# sent) and runs, shortened through its ${ENV} durations, against `brunt serve` with its
# own thresholds passing (exit 0).  Tokens flow from login into later requests: the
# server counts no 401s and served the authenticated routes.
# e2e: long (see run.sh: started first among the parallel tests)
. "$(dirname "$0")/lib.sh"

EX=$E2E_DIR/../../examples
[[ -d $EX ]] || fail "no examples directory at $EX"

start_target
export BASE_URL=$TARGET_URL

for f in "$EX"/*.yaml; do
    name=$(basename "$f" .yaml)
    brunt_run "check-$name" --check "$f"
    assert_eq 0 "$RC" "brunt run --check examples/$name.yaml"
done
assert_eq 0 "$(stats_requests)" "requests sent by --check (none)"

# name:env settings that make each example last a few seconds.
runs=(
    "auction-bidding:RAMP=1s HOLD=3s VUS=10"
    "user-journey:VUS=5 DURATION=4s THINK=50ms..150ms"
    "smoke:DURATION=3s"
    "stress:STEP=2s START=50 LOW=100 MID=150 PEAK=200 MAX_VUS=100"
    "spike:RISE=1s HOLD=2s CALM=1s PEAK=20 TOTAL=5s"
    "soak:DURATION=3s RATE=50"
    "csv-users:VUS=5 ITERATIONS=3 THINK=10ms"
    "k6-port:VUS=5 DURATION=3s THINK=50ms..100ms"
    "k6-habits:VUS=2 ITERATIONS=5"
)
for r in "${runs[@]}"; do
    name=${r%%:*}
    settings=${r#*:}
    [[ -f $EX/$name.yaml ]] || fail "examples/$name.yaml is missing"
    before_401=$(stats_get '.unauthorized')
    log "$settings brunt run examples/$name.yaml"
    # shellcheck disable=SC2086
    env $settings true # validate the assignments
    _E2E_LAST_RUN=$name
    RC=0
    # shellcheck disable=SC2086
    env $settings timeout -k 5 120 "$BRUNT" run -q --export "$name.json" "$EX/$name.yaml" \
        >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" || RC=$?
    assert_no_crash "$RC" "brunt run examples/$name.yaml"
    assert_eq 0 "$RC" "exit status of examples/$name.yaml (thresholds pass)"
    n=$(jnum "$name.json" .metrics.http_reqs.values.count)
    assert_ge "$n" 1 "examples/$name.yaml made requests"
    assert_eq "$before_401" "$(stats_get '.unauthorized')" "401s during examples/$name.yaml"
    # Issue 7 item 5: a threshold on a valid metric that saw nothing (dropped_iterations:
    # count==0 on a clean run) is zero, not a typo.
    if grep -qiE 'typo|matched no samples' "$E2E_TMP/$name.out" "$E2E_TMP/$name.err"; then
        fail "examples/$name.yaml warns of a typo on a clean run: $(grep -hiE 'typo|matched no samples' "$E2E_TMP/$name.out" "$E2E_TMP/$name.err")"
    fi
done

# The authenticated routes were reached with the tokens extracted at login.
assert_ge "$(stats_get '."by_route"."/users/me"')" 1 "GET /users/me served"
assert_ge "$(stats_get '."by_route"."/items"')" 1 "GET /items served"
assert_eq 0 "$(stats_get '.unauthorized')" "401s over all examples"
assert_eq true "$(target_stats | jq -r .invariant_ok)" "auction invariant after the bids"
stop_target
