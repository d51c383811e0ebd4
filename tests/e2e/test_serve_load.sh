#!/usr/bin/env bash
# Issue 7 item 12 and the load-shaping switches of `brunt serve` other tools are tested
# against: POST /auth/login takes a form body as k6's http.post(url, {..}) sends it;
# --burn D spends D of CPU per request (checked against the server's own /proc CPU
# time); --service-slots N --service-time D serve at most N/D requests per second with a
# FIFO queue (checked against the wall clock and the server's own timing of answers).
. "$(dirname "$0")/lib.sh"

# --- form login --------------------------------------------------------------------------
start_target
json_tok=$(curl -sS --max-time 5 -H 'Content-Type: application/json' \
    -d '{"email":"ann@example.com","password":"secret"}' "$TARGET_URL/auth/login" | jq -r .token)
form_tok=$(curl -sS --max-time 5 -d 'email=ann%40example.com&password=s+cret' \
    "$TARGET_URL/auth/login" | jq -r .token)
assert_eq "$json_tok" "$form_tok" "token for a form login (same email as JSON)"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -d 'email=ann%40example.com' \
    "$TARGET_URL/auth/login")
assert_eq 400 "$code" "form login without a password"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -d 'email=ann%4&password=x' \
    "$TARGET_URL/auth/login")
assert_eq 400 "$code" "form login with a bad percent escape"
me=$(curl -sS --max-time 5 -H "Authorization: Bearer $form_tok" "$TARGET_URL/users/me" |
    jq -r .email)
assert_eq "ann@example.com" "$me" "/users/me with the token of a form login"
stop_target

# --- --burn: CPU per request, against /proc ----------------------------------------------
tck=$(getconf CLK_TCK)
start_target --burn 20ms
cpu_ticks() { awk '{print $14 + $15}' "/proc/$TARGET_PID/stat"; }
before=$(cpu_ticks)
brunt_run burn -q -t 1 -c 2 -d 2s --export burn.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of the run against --burn 20ms"
after=$(cpu_ticks)
n=$(stats_requests)
breq=$(stats_get .burn.requests)
bns=$(stats_get .burn.cpu_ns)
assert_eq "$n" "$breq" "requests that burned CPU (all counted ones)"
assert_eq "$n" "$(jnum burn.json .metrics.http_reqs.values.count)" "requests brunt counted"
assert_ge "$n" 10 "requests served at 20 ms of CPU each in 2 s"
assert_ge "$bns" "$((n * 20000000))" "CPU burned: at least 20 ms per request (ns)"
proc_ns=$(( (after - before) * 1000000000 / tck ))
# /proc counts in clock ticks: allow two ticks below; above, the server's own work.
assert_ge "$proc_ns" "$((bns - 2 * 1000000000 / tck))" "server CPU in /proc covers the burn (ns)"
assert_le "$proc_ns" "$((bns + bns / 4 + 200000000))" "server CPU in /proc is mostly the burn (ns)"
min=$(jnum burn.json .metrics.http_req_duration.values.min)
assert_ge "$min" 19.9 "no answer faster than its 20 ms burn (ms)"
stop_target

# --- --service-slots / --service-time: capacity N/D, FIFO queue ---------------------------
start_target --service-slots 2 --service-time 50ms
t0=$(now_ms)
brunt_run svc -q -t 1 -c 6 -d 3s --export svc.json "$TARGET_URL/"
t1=$(now_ms)
assert_eq 0 "$RC" "exit status of the run against 2 slots of 50 ms"
n=$(stats_requests)
assert_eq "$n" "$(stats_get .service.requests)" "requests that took a service slot"
assert_eq "$n" "$(jnum svc.json .metrics.http_reqs.values.count)" "requests brunt counted"
# Two slots of 50 ms complete at most 2 requests per 50 ms of wall time, whatever the load.
most=$(( 2 * (t1 - t0) / 50 + 2 ))
assert_le "$n" "$most" "requests served in $((t1 - t0)) ms by 2 slots of 50 ms"
assert_ge "$n" 96 "requests served in 3 s by 2 always-busy slots (80% of 120)"
queued=$(stats_get .service.queued)
assert_ge "$queued" "$((n / 2))" "requests that found both slots busy (6 clients, 2 slots)"
wait_ms=$(stats_get .service.wait_ns | awk -v q="$queued" '{printf "%.1f", $1 / q / 1e6}')
assert_ge "$wait_ms" 40 "mean wait in the queue (ms; 4 waiting clients / 2 slots x 50 ms)"
srv_p50=$(stats_get .answers.p50_ns | awk '{printf "%.3f", $1 / 1e6}')
assert_ge "$srv_p50" 49 "the server's own p50 answer time covers the service time (ms)"
med=$(jnum svc.json .metrics.http_req_duration.values.med)
assert_ge "$med" "$srv_p50" "brunt's p50 is not below the server's own p50 (ms)"
stop_target
