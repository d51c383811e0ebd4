#!/usr/bin/env bash
# Issue 11: the reports of a real run with every probe: `brunt serve --postgres --redis`
# with its pathology switches (N+1 listing, missing index, mostly-missing cache) spawned
# and watched by `brunt run --spawn --postgres --redis`, with success criteria.  The
# HTML's PostgreSQL, Redis, process and machine panels, the Markdown's tables and the
# JUnit criteria testcases must show the figures the result holds (read here with jq),
# and the findings the probes wrote with their evidence.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/db.sh"

start_postgres
start_redis
port=$(free_port)
cat >probed.yaml <<YAML
name: probed
base_url: http://127.0.0.1:$port
defaults:
  headers: {Content-Type: application/json}
scenarios:
  shoppers:
    executor: constant-vus
    vus: 4
    duration: 4s
    flow:
      - request: POST /auth/login
        name: login
        json: {email: "user{{ vu }}@example.com", password: secret}
        extract: {token: json \$.token}
      - request: GET /api/v1/auctions/auction_{{ randint 0 99 }}
        name: item
      - request: GET /api/v1/auctions?limit=20
        name: list
      - request: POST /api/v1/bids
        name: bid
        headers: {Authorization: "Bearer {{ token }}"}
        json: {auction_id: "auction_{{ randint 0 99 }}", user_id: "user_{{ vu }}", amount: !raw "{{ now_ms }}"}
        expect: [200, 400]
YAML
brunt_run r -q --spawn "exec '$BRUNT' serve --port $port --postgres '$PG_DSN' --redis '$REDIS_URL' --db-n-plus-one --db-missing-index --db-cache-miss" \
    --ready "$port" --postgres "$PG_DSN" --redis "$REDIS_URL" --postgres-settle 1s \
    --criterion 'http_req_duration:p(95)<2000,<5000' --criterion 'process_cpu:avg<0.001,<0.002' \
    --criterion 'redis_hit_rate:rate>0.99' \
    --export r.json --report r.html --report r.md --report r.xml probed.yaml
