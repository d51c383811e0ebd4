#!/usr/bin/env bash
# Issue 7, item 7: a request step's tags: and the run-wide --tag on every sample (as k6
# puts request tags and --tag on its samples), usable in threshold filters; and
# --http-debug, which prints each request as sent and each response head (full: bodies,
# capped) to stderr.  Counts are compared with brunt serve's /__stats.
. "$(dirname "$0")/lib.sh"

start_target
cat >"$E2E_TMP/tags.yaml" <<YAML
base_url: $TARGET_URL
scenarios:
  s:
    executor: shared-iterations
    vus: 2
    iterations: 10
    flow:
      - request: GET /
        tags: {type: api, env: step}
        check: [status == 200]
      - request: GET /health
thresholds:
  "http_reqs{type:api}": ["count==10"]
  "http_reqs{testid:t7}": ["count==20"]
  "checks{type:api}": ["rate==1"]
YAML
brunt_run tags "$E2E_TMP/tags.yaml" --tag testid=t7 --tag env=run --export tags.json
assert_eq 0 "$RC" "exit status with thresholds on step and run tags"
assert_eq 20 "$(stats_requests)" "requests the target served"
assert_eq true "$(jval tags.json '[.thresholds[].ok] | all')" "every tag threshold ok"
assert_eq 10 "$(jval tags.json '[.metrics.http_reqs.series[] | select(.tags.type == "api") | .values.count] | add')" "requests tagged type=api"
assert_eq 20 "$(jval tags.json '[.metrics.http_reqs.series[] | select(.tags.testid == "t7") | .values.count] | add')" "requests tagged testid=t7 (--tag)"
assert_eq step "$(jval tags.json '[.metrics.http_reqs.series[] | select(.tags.type == "api") | .tags.env] | unique | join(",")')" "a step's tag wins over --tag of the same name"
assert_eq run "$(jval tags.json '[.metrics.http_reqs.series[] | select(.tags.name == "GET /health") | .tags.env] | unique | join(",")')" "--tag on a step without its own"
assert_eq t7 "$(jval tags.json '.metrics.iterations.series[0].tags.testid')" "--tag on iterations"
assert_eq t7 "$(jval tags.json '.metrics.data_received.series[0].tags.testid')" "--tag on data_received"
assert_eq t7 "$(jval tags.json '.metrics.checks.series[0].tags.testid')" "--tag on checks"
assert_eq api "$(jval tags.json '.metrics.checks.series[0].tags.type')" "a step's tag on its checks"

# quick mode: --tag on every sample too
brunt_run quick -q -c 1 -n 7 --tag testid=q1 --export quick.json "$TARGET_URL/"
assert_eq 7 "$(jval quick.json '[.metrics.http_reqs.series[] | select(.tags.testid == "q1") | .values.count] | add')" "quick-mode requests tagged by --tag"

# a bad step tag name: one line, exit 104, nothing sent
before=$(stats_requests)
sed 's/type: api/status: api/' "$E2E_TMP/tags.yaml" >"$E2E_TMP/badtag.yaml"
brunt_run badtag "$E2E_TMP/badtag.yaml"
assert_eq 104 "$RC" "exit status of a step tag named like brunt's own"
assert_one_line "$E2E_TMP/badtag.err" "stderr of a bad step tag"
grep -q "badtag.yaml:[0-9]*:[0-9]*: bad tag name 'status'" "$E2E_TMP/badtag.err" || fail "no position or name: $(cat "$E2E_TMP/badtag.err")"
assert_eq "$before" "$(stats_requests)" "requests sent by a refused file"

# --http-debug: one request block and one response block per exchange the target served
cat >"$E2E_TMP/debug.yaml" <<YAML
base_url: $TARGET_URL
scenarios:
  s:
    executor: shared-iterations
    vus: 1
    iterations: 3
    flow:
      - request: GET /redirect/1
      - request: GET /bytes/5000
YAML
curl -sS -X POST "$TARGET_URL/__reset" >/dev/null
brunt_run debug -q "$E2E_TMP/debug.yaml" --http-debug
assert_eq 0 "$RC" "exit status with --http-debug"
served=$(stats_requests)
assert_eq 9 "$served" "requests served"
assert_eq "$served" "$(grep -c '^brunt http-debug: vu [0-9]* request:$' "$E2E_TMP/debug.err")" "request blocks printed"
assert_eq "$served" "$(grep -c '^brunt http-debug: vu [0-9]* response:$' "$E2E_TMP/debug.err")" "response blocks printed"
assert_eq 3 "$(grep -c '^Location: /redirect/0$' "$E2E_TMP/debug.err")" "redirect heads printed"
if grep -q 'abcdefghij' "$E2E_TMP/debug.err"; then fail "--http-debug without =full printed a body"; fi
brunt_run debugfull -q "$E2E_TMP/debug.yaml" --http-debug=full
assert_eq 3 "$(grep -c '^\[... body cut at 2048 bytes\]$' "$E2E_TMP/debugfull.err")" "bodies cut at 2 KiB"
longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$E2E_TMP/debugfull.err")
assert_le "$longest" 2048 "the longest line printed"
# --http-debug=failed: only the exchanges whose check failed (the 2 of each iteration's 3
# requests that answer 404), with their bodies
cat >"$E2E_TMP/debugfailed.yaml" <<YAML
base_url: $TARGET_URL
scenarios:
  s:
    executor: shared-iterations
    vus: 1
    iterations: 4
    flow:
      - request: GET /status/200
        check: [status == 200]
      - request: GET /status/404
        check: [status == 200]
      - request: GET /status/404
        check: [status == 200]
YAML
curl -sS -X POST "$TARGET_URL/__reset" >/dev/null
brunt_run debugfailed -q "$E2E_TMP/debugfailed.yaml" --http-debug=failed
assert_eq 12 "$(stats_requests)" "requests served (--http-debug=failed)"
assert_eq 8 "$(grep -c '^brunt http-debug: vu [0-9]* request:$' "$E2E_TMP/debugfailed.err")" \
    "request blocks printed: the 8 failed exchanges only"
assert_eq 8 "$(grep -c '^GET /status/404 HTTP/1.1' "$E2E_TMP/debugfailed.err")" "the failed requests shown"
if grep -q '^GET /status/200 ' "$E2E_TMP/debugfailed.err"; then fail "--http-debug=failed printed a passing exchange"; fi
brunt_run debugbad -q "$E2E_TMP/debugfailed.yaml" --http-debug=some
assert_eq 2 "$RC" "exit status of a bad --http-debug value"
assert_one_line "$E2E_TMP/debugbad.err" "stderr of a bad --http-debug value"
brunt_run debugquick -q -n 1 --http-debug "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of --http-debug in quick mode"
assert_one_line "$E2E_TMP/debugquick.err" "stderr of --http-debug in quick mode"
stop_target
