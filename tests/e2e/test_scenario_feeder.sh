#!/usr/bin/env bash
# Issue 3, 7 and 10: a unique data feeder never hands out a row twice.  Evidence from the
# server: each row names its own auction and bids a fixed amount on it, so a repeated
# row would be a second equal bid, which the server rejects (400 "bid too low").  With
# more iterations than rows and on_exhausted: stop_vu, exactly one bid per row is made.
# A sequential per-vu feeder gives each VU its own login (no 401 afterwards).
. "$(dirname "$0")/lib.sh"

start_target
export BASE_URL=$TARGET_URL
mkdir -p data
{
    echo "auction,user"
    for i in $(seq 0 149); do echo "auction_$i,bidder$i"; done
} >data/rows.csv

cat >unique.yaml <<'YAML'
base_url: ${BASE_URL}
data:
  rows: {file: data/rows.csv, order: unique, on_exhausted: stop_vu}
scenarios:
  bids:
    executor: shared-iterations
    vus: 6
    iterations: 400
    max_duration: 20s   # the VUs stop when the rows run out; this is a backstop
    flow:
      - request: POST /api/v1/bids
        json: {auction_id: "{{ rows.auction }}", user_id: "{{ rows.user }}", amount: 1000}
        check: [status == 200]
YAML
brunt_run unique -q --export unique.json unique.yaml
assert_eq 0 "$RC" "exit status (unique feeder)"
assert_eq 150 "$(stats_get '.bids.accepted')" "bids accepted: one per row"
assert_eq 0 "$(stats_get '.bids.rejected')" "bids rejected: a repeated row would be one"
assert_eq 150 "$(stats_get '."by_route"."/api/v1/bids"')" "bids sent: rows ran out, VUs stopped"
assert_eq 150 "$(jnum unique.json .metrics.http_reqs.values.count)" "brunt's request count"

cat >pervu.yaml <<'YAML'
base_url: ${BASE_URL}
data:
  rows: {file: data/rows.csv, order: sequential, per: vu}
scenarios:
  members:
    executor: per-vu-iterations
    vus: 4
    iterations: 5
    flow:
      - request: POST /auth/login
        json: {email: "{{ rows.user }}@example.com", password: secret}
        extract: {token: json $.token}
        check: [status == 200]
        on_fail: abort
      - request: GET /users/me
        headers: {Authorization: "Bearer {{ token }}"}
        check: [status == 200, json $.email contains bidder]
YAML
brunt_run pervu -q --export pervu.json pervu.yaml
assert_eq 0 "$RC" "exit status (per-vu feeder)"
assert_eq 20 "$(stats_get '."by_route"."/users/me"')" "profile requests (4 VUs x 5)"
assert_eq 0 "$(stats_get '.unauthorized')" "401s: every token reached the next request"
stop_target
