#!/usr/bin/env bash
# Issue 2, 10a (closed model): brunt's request count equals the server's count exactly,
# with a request budget (-n: exactly that many) and with a duration (-d: whatever brunt
# reports, the server saw the same number).
. "$(dirname "$0")/lib.sh"

start_target
brunt_run n5000 -q -c 8 -n 5000 --export n5000.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of -c 8 -n 5000"
assert_eq 5000 "$(jnum n5000.json .metrics.http_reqs.values.count)" "brunt's http_reqs with -n 5000"
assert_eq 5000 "$(jnum n5000.json .metrics.iterations.values.count)" "brunt's iterations with -n 5000"
assert_eq 0 "$(jnum n5000.json .metrics.http_req_failed.values.rate)" "http_req_failed rate against a healthy target"
assert_eq 5000 "$(stats_requests)" "requests the server saw with -n 5000"
assert_eq closed "$(jval n5000.json .options.model)" "options.model"
stop_target

start_target
brunt_run d3s -q -c 8 -d 3s --export d3s.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of -c 8 -d 3s"
n=$(jnum d3s.json .metrics.http_reqs.values.count)
assert_ge "$n" 100 "brunt made a real number of requests in 3 s"
assert_eq "$n" "$(stats_requests)" "server's count equals brunt's http_reqs with -d 3s"
duration=$(jnum d3s.json .meta.duration_ms)
assert_within "$duration" 3000 1000 "meta.duration_ms of a 3 s run"
stop_target
