#!/usr/bin/env bash
# Issue 7, item 7: redirects followed hop by hop (k6's maxRedirects, the method and body
# rules, same origin and across origins), the cookie jar per VU (reset per iteration as
# k6 does, or kept), and gzip/deflate bodies decoded for checks.  Every hop a target
# served is a request brunt counted: brunt's http_reqs are compared with /__stats.
. "$(dirname "$0")/lib.sh"

start_target
T1=$TARGET_URL
T1_PID=$TARGET_PID
start_target
T2=$TARGET_URL
T2_PID=$TARGET_PID
stats_of() { curl -sS --fail --max-time 5 "$1/__stats"; }
route() { stats_of "$1" | jq -r --arg r "$2" '.by_route[$r] // 0'; }
status_n() { stats_of "$1" | jq -r --arg s "$2" '.by_status[$s] // 0'; }
reqs_status() { jq -r --arg s "$2" '[.metrics.http_reqs.series[]? | select(.tags.status == $s) | .values.count] | add // 0' "$1"; }
check_fails() { jq -r '.metrics.checks.values.fails // 0' "$1"; }
# scenario FILE EXECUTOR VUS ITERATIONS: a one-scenario file on the first target; its
# flow steps follow on standard input.
scenario() {
    {
        printf 'base_url: %s\nscenarios:\n  s:\n    executor: %s\n    vus: %s\n' "$T1" "$2" "$3"
        printf '    iterations: %s\n    flow:\n' "$4"
        cat
    } >"$E2E_TMP/$1"
}
check_passes() { jq -r '.metrics.checks.values.passes // 0' "$1"; }

# --- a chain of 3 redirects: 4 requests an iteration, each a sample; checks on the last.
scenario chain.yaml shared-iterations 2 20 <<YAML
      - request: GET /redirect/3
        check:
          - status == 200
          - body contains "redirected"
YAML
brunt_run chain "$E2E_TMP/chain.yaml" --export chain.json
assert_eq 0 "$RC" "exit status of the redirect chain"
assert_eq 80 "$(route "$T1" '/redirect/{n}')" "hops the target served"
assert_eq 80 "$(jnum chain.json .metrics.http_reqs.values.count)" "requests brunt counted"
assert_eq 60 "$(reqs_status chain.json 302)" "302 samples"
assert_eq 20 "$(reqs_status chain.json 200)" "200 samples"
assert_eq 0 "$(check_fails chain.json)" "failed checks (they see the final answer)"
assert_eq 40 "$(check_passes chain.json)" "passed checks: one per step, not per hop"

# --- the limit: a step's redirects:, the file's max_redirects, and --max-redirects.
cat >"$E2E_TMP/limit.yaml" <<YAML
base_url: $T1
options:
  max_redirects: 1
scenarios:
  s:
    executor: shared-iterations
    vus: 1
    iterations: 5
    flow:
      - request: GET /redirect/5
        redirects: 2
        check:
          - status == 302
      - request: GET /redirect/5
        check:
          - status == 302
YAML
curl -sS -X POST "$T1/__reset" >/dev/null
brunt_run limit "$E2E_TMP/limit.yaml" --export limit.json
assert_eq 0 "$RC" "exit status of the limited redirects"
assert_eq 25 "$(route "$T1" '/redirect/{n}')" "hops served: (1+2) + (1+1) per iteration"
assert_eq 25 "$(jnum limit.json .metrics.http_reqs.values.count)" "requests counted"
curl -sS -X POST "$T1/__reset" >/dev/null
brunt_run nofollow "$E2E_TMP/limit.yaml" --max-redirects 0 --export nofollow.json
assert_eq 10 "$(route "$T1" '/redirect/{n}')" "--max-redirects 0: no hop"
assert_eq 0 "$(check_fails nofollow.json)" "the 302 is the final answer"
brunt_run badflag "$E2E_TMP/limit.yaml" --max-redirects 1000
assert_eq 2 "$RC" "exit status of --max-redirects 1000"
assert_one_line "$E2E_TMP/badflag.err" "stderr of --max-redirects 1000"
brunt_run quickflag -q -n 1 --max-redirects 3 "$T1/redirect/1"
assert_eq 2 "$RC" "exit status of --max-redirects in quick mode (it follows none)"
assert_one_line "$E2E_TMP/quickflag.err" "stderr of --max-redirects in quick mode"

# --- method and body: 307/308 re-send them, 301/302 turn a POST into a GET, 303 too.
scenario method.yaml shared-iterations 1 3 <<YAML
      - request: POST /redirect/1?status=307
        body: "hello"
        check: ['body contains "\"method\":\"POST\",\"body_bytes\":5"']
      - request: PUT /redirect/1?status=308
        body: "hi"
        check: ['body contains "\"method\":\"PUT\",\"body_bytes\":2"']
      - request: POST /redirect/1?status=302
        body: "hello"
        check: ['body contains "\"method\":\"GET\",\"body_bytes\":0"']
      - request: POST /redirect/1?status=301
        body: "hello"
        check: ['body contains "\"method\":\"GET\",\"body_bytes\":0"']
      - request: DELETE /redirect/1?status=303
        check: ['body contains "\"method\":\"GET\""']
      - request: HEAD /redirect/2?status=303
        check: [status == 200]
YAML
curl -sS -X POST "$T1/__reset" >/dev/null
brunt_run method "$E2E_TMP/method.yaml" --export method.json
assert_eq 0 "$RC" "exit status of the method rules"
assert_eq 0 "$(check_fails method.json)" "failed method/body checks"
assert_eq 39 "$(route "$T1" '/redirect/{n}')" "hops served (2 x 5 + 3 per iteration)"

# --- across origins: a Location on another port; Authorization stays behind.
enc=$(jq -rn --arg u "$T2/redirect/1" '$u|@uri')
scenario cross.yaml shared-iterations 2 10 <<YAML
      - request: GET /redirect-to?url=$enc
        check: [status == 200]
YAML
curl -sS -X POST "$T1/__reset" "$T2/__reset" >/dev/null
brunt_run cross "$E2E_TMP/cross.yaml" --export cross.json
assert_eq 0 "$RC" "exit status of the cross-origin redirect"
assert_eq 10 "$(route "$T1" '/redirect-to')" "first hops on the first target"
assert_eq 20 "$(route "$T2" '/redirect/{n}')" "later hops on the second target"
assert_eq 30 "$(jnum cross.json .metrics.http_reqs.values.count)" "requests counted"
assert_eq 0 "$(check_fails cross.json)" "failed checks across origins"

# --- cookies: set, sent back (also after a redirect), emptied per iteration unless kept.
scenario jar.yaml per-vu-iterations 2 3 <<YAML
      - request: GET /cookies
        name: before
        check: ['body contains "\"cookie\":\"\""']
      - request: GET /cookies/set?a=1&b=2
      - request: GET /cookies
        name: after
        check: ['body contains "a=1; b=2"']
      - request: GET /redirect-to?url=%2Fcookies
        name: redirected
        check: ['body contains "a=1; b=2"']
YAML
brunt_run jar "$E2E_TMP/jar.yaml" --export jar.json
assert_eq 0 "$RC" "exit status of the cookie flow"
assert_eq 0 "$(check_fails jar.json)" "failed cookie checks (the jar is emptied per iteration)"
sed 's/^scenarios:/options:\n  no_cookies_reset: true\nscenarios:/' "$E2E_TMP/jar.yaml" >"$E2E_TMP/keep.yaml"
brunt_run keep "$E2E_TMP/keep.yaml" --export keep.json
assert_eq 4 "$(check_fails keep.json)" "'before' fails on each VU's 2nd and 3rd iteration when the jar is kept"

# --- gzip and deflate: checks see the decoded body; data_received counts wire bytes.
scenario gz.yaml shared-iterations 1 10 <<YAML
      - request: GET /gzip
        headers: {Accept-Encoding: "gzip, deflate"}
        check: ['body contains "\"gzipped\":true"', 'json \$.text contains "brunt"']
YAML
wire=$(curl -sS -i --raw "$T1/gzip" | wc -c)
brunt_run gz "$E2E_TMP/gz.yaml" --export gz.json
assert_eq 0 "$RC" "exit status of the gzip checks"
assert_eq 0 "$(check_fails gz.json)" "failed checks on a gzip body"
assert_eq $((10 * wire)) "$(jnum gz.json .metrics.data_received.values.count)" "data_received (wire bytes, 10 x $wire)"
scenario df.yaml shared-iterations 1 3 <<YAML
      - request: GET /deflate
        check: ['body contains "\"deflated\":true"']
YAML
brunt_run df "$E2E_TMP/df.yaml" --export df.json
assert_eq 0 "$(check_fails df.json)" "failed checks on a deflate body"

TARGET_PID=$T2_PID
TARGET_URL=$T2
stop_target
TARGET_PID=$T1_PID
TARGET_URL=$T1
stop_target
