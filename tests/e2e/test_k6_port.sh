#!/usr/bin/env bash
# Issue 7, what a k6 user hits first when porting a script (items 4-7, 9, 10, 13):
# the `errors` name trap, thresholds on valid metrics with no samples, statuses in the
# summary, the export path checked before the load, and k6's command-line habits.  Every
# count is compared with what `brunt serve` says it served (/__stats).
. "$(dirname "$0")/lib.sh"

start_target

# --- item 4: `errors` is not brunt's error counter, and rate on a counter is per second.
before=$(stats_requests)
brunt_run errors_rate -q -c 1 -d 1s --threshold 'errors:rate<0.01' "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of a threshold on the undeclared metric errors"
assert_one_line "$E2E_TMP/errors_rate.err" "stderr for errors:rate<0.01"
grep -q 'http_errors' "$E2E_TMP/errors_rate.err" || fail "the message does not name http_errors: $(cat "$E2E_TMP/errors_rate.err")"
brunt_run http_errors_rate -q -c 1 -d 1s --threshold 'http_errors:rate<0.01' "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of rate on the http_errors counter"
grep -q 'events per second' "$E2E_TMP/http_errors_rate.err" || fail "rate on a counter does not say it is per second: $(cat "$E2E_TMP/http_errors_rate.err")"

# --- item 5: a misspelt tag name is an error with a suggestion.
brunt_run nmae -q -c 1 -d 1s --threshold 'http_req_duration{nmae:home}:p(95)<300' "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of a filter with a misspelt tag name"
grep -q 'did you mean "name"' "$E2E_TMP/nmae.err" || fail "no suggestion for nmae: $(cat "$E2E_TMP/nmae.err")"
assert_eq "$before" "$(stats_requests)" "requests sent by runs refused for their thresholds"

# --- item 5: a counter that counted nothing is zero, not a typo.
brunt_run zero -c 2 -n 50 --export zero.json \
    --threshold 'dropped_iterations:count==0' \
    --threshold 'http_reqs{status:500}:count==0' \
    --threshold 'http_errors:count==0' \
    "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of a clean run with zero-count thresholds"
if grep -qi 'no samples\|typo' "$E2E_TMP/zero.out" "$E2E_TMP/zero.err"; then
    show zero
    fail "a zero counter was reported as having no samples"
fi
assert_eq true "$(jval zero.json '[.thresholds[].ok] | all')" "every zero-count threshold ok"
assert_eq 50 "$(jnum zero.json .metrics.http_reqs.values.count)" "requests counted"

stop_target

# --- item 10: the README's POST example (every repeated bid is a 400) says which status.
start_target
brunt_run bids -q -m POST -H 'Content-Type: application/json' \
    -b '{"auction_id":"auction_1","user_id":"user_7","amount":150}' \
    -c 16 -n 300 "$TARGET_URL/api/v1/bids"
assert_eq 0 "$RC" "exit status of the README's POST example"
n400=$(stats_get '.by_status["400"]')
n200=$(stats_get '.by_status["200"]')
assert_eq 300 "$((n400 + n200))" "bids the target answered"
line=$(grep -F '{ status:400 }' "$E2E_TMP/bids.out") || { show bids; fail "no status 400 row in the summary"; }
[[ $line =~ :\ ([0-9]+)\  ]] || fail "no count in the status row: $line"
assert_eq "$n400" "${BASH_REMATCH[1]}" "400s in the summary vs the target's"
[[ $line == *'unexpected (failed)'* ]] || fail "the 400 row does not say it failed: $line"
stop_target

# --- item 9: an --export that cannot be written is found before any request (exit 2).
start_target
before=$(stats_requests)
brunt_run export_missing -q -c 1 -d 5s --export "$E2E_TMP/no/such/dir/r.json" "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of --export into a missing directory"
assert_one_line "$E2E_TMP/export_missing.err" "stderr for --export into a missing directory"
mkdir -p "$E2E_TMP/ro" && chmod 555 "$E2E_TMP/ro"
if [[ ! -w $E2E_TMP/ro ]]; then # root writes anywhere: the check then rightly passes
    brunt_run export_ro -q -c 1 -d 5s --export "$E2E_TMP/ro/r.json" "$TARGET_URL/"
    assert_eq 2 "$RC" "exit status of --export into a read-only directory"
fi
brunt_run export_dir -q -c 1 -d 5s --export "$E2E_TMP" "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of --export naming a directory"
assert_eq "$before" "$(stats_requests)" "requests sent by runs with a bad --export"
[[ -z $(ls -A "$E2E_TMP/ro") ]] || fail "the writability probe left a file behind"

# --- item 6 and 7: the file's name: in the summary and the result; a file from stdin and
# its digest; a FIFO that never delivers is an error within seconds, not a hang.
cat >"$E2E_TMP/named.yaml" <<YAML
name: checkout-smoke
base_url: $TARGET_URL
scenarios:
  s:
    executor: shared-iterations
    vus: 2
    iterations: 20
    flow:
      - request: GET /
YAML
brunt_run named --export named.json - <"$E2E_TMP/named.yaml"
assert_eq 0 "$RC" "exit status of a scenario file read from stdin"
assert_eq checkout-smoke "$(jval named.json .meta.test_name)" "meta.test_name"
assert_eq "$(sha256sum <"$E2E_TMP/named.yaml" | cut -d' ' -f1)" "$(jval named.json .meta.scenario_sha256)" "meta.scenario_sha256"
assert_eq 20 "$(jnum named.json .metrics.http_reqs.values.count)" "requests of the stdin scenario"
head -3 "$E2E_TMP/named.out" | grep -q 'checkout-smoke' || { show named; fail "the summary header does not name the test"; }
grep -q 'flow of 1 request step on' "$E2E_TMP/named.out" || { show named; fail "the header does not say it is a flow of request steps"; }
grep -q 'time limit' "$E2E_TMP/named.out" || { show named; fail "the header gives the iterations executor's time limit as a planned length"; }
[[ $(jval named.json '.meta.command[0]') == brunt ]] || fail "meta.command does not start with the program: $(jval named.json .meta.command)"
mkfifo "$E2E_TMP/fifo"
t0=$(now_ms)
brunt_run fifo -q "$E2E_TMP/fifo"
elapsed=$(($(now_ms) - t0))
assert_eq 104 "$RC" "exit status of a FIFO that never delivers"
assert_one_line "$E2E_TMP/fifo.err" "stderr for a FIFO that never delivers"
assert_le "$elapsed" 15000 "wall time (ms) before a silent FIFO is given up"
stop_target

# --- item 7: k6's -e, --vus, --iterations, --duration and --tag on a file.
start_target
cat >"$E2E_TMP/env.yaml" <<YAML
base_url: $TARGET_URL
scenarios:
  only:
    executor: constant-vus
    vus: 1
    duration: 1m
    flow:
      - request: GET /status/\${CODE:-200}
        expect: [200, 404]
YAML
brunt_run k6flags -q --export k6flags.json -e CODE=404 --vus 3 --iterations 12 --tag testid=abc-1 "$E2E_TMP/env.yaml"
assert_eq 0 "$RC" "exit status with -e, --vus, --iterations, --tag"
assert_eq 12 "$(stats_get '.by_status["404"]')" "404s the target served (-e CODE=404, --iterations 12)"
assert_eq 12 "$(stats_requests)" "requests the target served"
assert_eq shared-iterations "$(jval k6flags.json .options.executor)" "executor after --iterations"
assert_eq 3 "$(jnum k6flags.json .options.connections)" "VUs (connections) after --vus"
assert_eq abc-1 "$(jval k6flags.json .meta.tags.testid)" "meta.tags.testid"
assert_eq 404 "$(jval k6flags.json .meta.env.CODE)" "meta.env.CODE"
t0=$(now_ms)
brunt_run k6dur -q --export k6dur.json -u 2 -d 1s "$E2E_TMP/env.yaml"
elapsed=$(($(now_ms) - t0))
assert_eq 0 "$RC" "exit status with -u and -d on a file"
assert_le "$elapsed" 15000 "wall time (ms) of a 1 m file cut to 1 s with -d"
assert_eq constant-vus "$(jval k6dur.json .options.executor)" "executor after --duration"
# Named checks, k6's check(res, {'bid placed successfully': ...}): a mapping or one-key items.
cat >"$E2E_TMP/named_checks.yaml" <<YAML
base_url: $TARGET_URL
scenarios:
  s:
    executor: shared-iterations
    vus: 1
    iterations: 5
    flow:
      - request: GET /status/404
        name: missing
        check:
          - 'page is missing': status == 404
          - status == 200
      - request: GET /
        name: home
        check: {'home page is up': status == 200}
YAML
brunt_run named_checks --export named_checks.json "$E2E_TMP/named_checks.yaml"
assert_eq 0 "$RC" "exit status with named checks"
grep -q 'missing › page is missing' "$E2E_TMP/named_checks.out" || { show named_checks; fail "named check not listed by its name"; }
grep -q 'home › home page is up' "$E2E_TMP/named_checks.out" || { show named_checks; fail "mapping-form named check not listed"; }
assert_eq 5 "$(jval named_checks.json '[.metrics.checks.series[] | select(.tags.check == "page is missing") | .values.passes] | add')" "passes of the named check"
assert_eq 5 "$(jval named_checks.json '[.metrics.checks.series[] | select(.tags.check == "status == 200" and .tags.name == "missing") | .values.fails] | add')" "fails of the unnamed check beside it"
brunt_run e_quick -q -e X=1 "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of -e in quick mode (nothing reads it)"
stop_target

# --- item 7: bodies from files and multipart uploads, checked byte for byte by a small
# receiver that parses what arrives (Python's email parser, an independent reader of
# multipart/form-data) and writes down each part's name, file name, type and digest.
head -c 3000 /dev/urandom >"$E2E_TMP/avatar.bin"
printf '{"auction_id":"auction_1","amount":1}' >"$E2E_TMP/payload.json"
rport=$(free_port)
cat >"$E2E_TMP/receiver.py" <<'PY'
import hashlib, http.server, json, sys
from email.parser import BytesParser
from email.policy import HTTP
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ct = self.headers.get("Content-Type", "")
        rec = {"path": self.path, "content_type": ct, "sha256": hashlib.sha256(body).hexdigest()}
        if ct.startswith("multipart/form-data"):
            msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ct.encode() + b"\r\n\r\n" + body)
            rec["parts"] = [{"name": p.get_param("name", header="content-disposition"),
                             "filename": p.get_filename(), "type": p.get_content_type(),
                             "sha256": hashlib.sha256(p.get_payload(decode=True)).hexdigest()}
                            for p in msg.iter_parts()]
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$E2E_TMP/receiver.py" "$rport" "$E2E_TMP/received.jsonl" &
rpid=$!
_E2E_PIDS+=("$rpid")
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null -X POST -H 'Content-Length: 0' "http://127.0.0.1:$rport/ping" && break
    sleep 0.05
done
: >"$E2E_TMP/received.jsonl"
cat >"$E2E_TMP/upload.yaml" <<YAML
base_url: http://127.0.0.1:$rport
scenarios:
  s:
    executor: shared-iterations
    vus: 1
    iterations: 2
    flow:
      - request: POST /json
        headers: {Content-Type: application/json}
        body_file: payload.json
        check: [status == 200]
      - request: POST /upload
        multipart:
          title: holiday
          avatar: {file: avatar.bin, filename: me.bin, content_type: image/png}
        check: [status == 200]
YAML
brunt_run upload -q "$E2E_TMP/upload.yaml"
assert_eq 0 "$RC" "exit status of the upload scenario"
assert_eq 4 "$(wc -l <"$E2E_TMP/received.jsonl")" "requests the receiver got"
jq -s . "$E2E_TMP/received.jsonl" >"$E2E_TMP/received.json"
assert_eq "$(sha256sum <"$E2E_TMP/payload.json" | cut -d' ' -f1)" "$(jval received.json '.[0].sha256')" "body_file bytes as received"
assert_eq /upload "$(jval received.json '.[1].path')" "second request's path"
assert_eq 'title avatar' "$(jval received.json '[.[1].parts[].name] | join(" ")')" "multipart part names"
assert_eq me.bin "$(jval received.json '.[1].parts[1].filename')" "multipart file name"
assert_eq image/png "$(jval received.json '.[1].parts[1].type')" "multipart file type"
assert_eq "$(sha256sum <"$E2E_TMP/avatar.bin" | cut -d' ' -f1)" "$(jval received.json '.[1].parts[1].sha256')" "file part bytes as received"
assert_eq "$(printf holiday | sha256sum | cut -d' ' -f1)" "$(jval received.json '.[1].parts[0].sha256')" "text part as received"
kill "$rpid" 2>/dev/null || true
wait "$rpid" 2>/dev/null || true

# --- item 7: setup once (one login shared by every VU), teardown after, as k6's
# setup()/teardown(): the target counts one login, every /users/me authorised.
start_target
cat >"$E2E_TMP/lifecycle.yaml" <<YAML
name: lifecycle
base_url: $TARGET_URL
defaults:
  headers: {Content-Type: application/json}
setup:
  flow:
    - request: POST /auth/login
      json: {email: admin@example.com, password: secret}
      extract: {token: json \$.token}
      check: [status == 200]
teardown:
  flow:
    - request: GET /users/me
      name: teardown-me
      headers: {Authorization: "Bearer {{ token }}"}
      check: [status == 200]
scenarios:
  users:
    executor: shared-iterations
    vus: 4
    iterations: 40
    flow:
      - request: GET /users/me
        name: me
        headers: {Authorization: "Bearer {{ token }}"}
        check: [status == 200]
thresholds:
  checks: ["rate==1"]
YAML
brunt_run lifecycle --export lifecycle.json "$E2E_TMP/lifecycle.yaml"
assert_eq 0 "$RC" "exit status of a file with setup and teardown"
assert_eq 1 "$(stats_get '.by_route["/auth/login"]')" "logins the target served (setup runs once)"
assert_eq 41 "$(stats_get '.by_route["/users/me"]')" "/users/me served: 40 by the VUs, 1 by the teardown"
assert_eq 0 "$(stats_get '.unauthorized')" "requests the target refused (every VU used the setup's token)"
assert_eq 40 "$(jnum lifecycle.json .metrics.http_reqs.values.count)" "requests in the result (the scenarios' only)"
brunt_run lifecycle_check --check "$E2E_TMP/lifecycle.yaml"
assert_eq 0 "$RC" "--check of a file with setup and teardown"
# A setup that fails stops the test before any scenario starts (exit 107, as k6).
sed 's/password: secret/password: ""/; s|POST /auth/login|POST /status/500|' "$E2E_TMP/lifecycle.yaml" >"$E2E_TMP/badsetup.yaml"
before=$(stats_get '.by_route["/users/me"]')
brunt_run badsetup -q "$E2E_TMP/badsetup.yaml"
assert_eq 107 "$RC" "exit status of a failing setup"
assert_one_line "$E2E_TMP/badsetup.err" "stderr of a failing setup"
assert_eq "$before" "$(stats_get '.by_route["/users/me"]')" "requests of the scenarios after a failed setup"
stop_target

# --- item 13: the small things a careful user noticed.
start_target
before=$(stats_requests)
echo body >"$E2E_TMP/body.txt"
brunt_run b_and_file -q -c 1 -d 1s -b x --body-file "$E2E_TMP/body.txt" "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of -b with --body-file"
brunt_run crlf -q -c 1 -d 1s -H $'X-A: 1\r\nX-B: 2' "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of a CR/LF in -H"
assert_one_line "$E2E_TMP/crlf.err" "stderr for a CR/LF in -H"
brunt_run bigstage -q -s 1s:99999999 "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of a stage of 99999999 VUs"
grep -q "99999999" "$E2E_TMP/bigstage.err" || fail "the stage error does not show the value: $(cat "$E2E_TMP/bigstage.err")"
brunt_run bigrate -q -R 1e9 "$TARGET_URL/"
assert_eq 2 "$RC" "exit status of -R 1e9"
grep -q "at most 100000000" "$E2E_TMP/bigrate.err" || fail "the rate error does not give the limit: $(cat "$E2E_TMP/bigrate.err")"
assert_eq "$before" "$(stats_requests)" "requests sent by refused runs"
# -n with -d: neither is ignored, -d is the time limit of the -n requests (brunt.1).
brunt_run n_and_d -q -c 2 -n 100000000 -d 1s --export nd.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status of -n with -d"
n=$(jnum nd.json .metrics.http_reqs.values.count)
assert_lt "$n" 100000000 "requests of -n 100000000 -d 1s (the time limit ended it)"
assert_eq "$((before + n))" "$(stats_requests)" "requests the target received during -n with -d"
assert_eq 1000 "$(jnum nd.json .options.duration_ms)" "-d kept as the time limit with -n"
assert_eq 100000000 "$(jnum nd.json .options.requests)" "-n kept with -d"
brunt_run n_and_d_small -q -c 2 -n 50 -d 30s --export nd2.json "$TARGET_URL/"
assert_eq 50 "$(jnum nd2.json .metrics.http_reqs.values.count)" "-n 50 within a 30 s limit"
# A feeder's on_exhausted: stop_vu that ends the run says why.
printf 'n\n1\n2\n3\n' >"$E2E_TMP/rows.csv"
cat >"$E2E_TMP/stopvu.yaml" <<YAML
base_url: $TARGET_URL
data:
  rows: {file: rows.csv, order: unique, on_exhausted: stop_vu}
scenarios:
  s:
    executor: shared-iterations
    vus: 2
    iterations: 50
    flow:
      - request: GET /status/200?n={{ rows.n }}
YAML
brunt_run stopvu --export stopvu.json "$E2E_TMP/stopvu.yaml"
assert_eq 0 "$RC" "exit status of a run whose feeder ran out"
assert_eq 3 "$(jnum stopvu.json .metrics.http_reqs.values.count)" "requests: one per row"
[[ $(jval stopvu.json '[.warnings[] | select(contains("rows") and contains("stop_vu"))] | length') == 1 ]] ||
    fail "no warning that the feeder ran out: $(jval stopvu.json .warnings)"
grep -q "data feeder 'rows' ran out" "$E2E_TMP/stopvu.out" || { show stopvu; fail "the summary does not say the feeder ran out"; }
"$BRUNT" help run >"$E2E_TMP/help.out" 2>&1 || fail "brunt help run failed"
grep -q '^usage: brunt run' "$E2E_TMP/help.out" || fail "brunt help run does not print run's usage"
stop_target

# --- item 4: a k6-style custom Rate `errors`, fed by a step, judged against 30% 500s.
start_target --error-rate 0.3 --seed 7
cat >"$E2E_TMP/custom.yaml" <<YAML
name: custom-metrics
base_url: $TARGET_URL
metrics:
  errors: rate
  server_errors: counter
  bid_time: {type: trend, contains: time}
  last_status: gauge
scenarios:
  s:
    executor: shared-iterations
    vus: 4
    iterations: 400
    flow:
      - request: GET /
        name: home
        metrics:
          errors: status != 200
          server_errors: 1 if status == 500
          bid_time: duration
          last_status: status
thresholds:
  errors: ["rate<0.01"]
  server_errors: ["count>0"]
  bid_time: ["p(95)<5000"]
YAML
brunt_run custom --export custom.json "$E2E_TMP/custom.yaml"
assert_eq 99 "$RC" "exit status: 30% 500s fail errors: rate<0.01"
server_req=$(stats_requests)
server_err=$(stats_get '.faults.errors')
assert_eq 400 "$server_req" "requests the target served"
assert_eq "$server_err" "$(jnum custom.json .metrics.errors.values.passes)" "errors rate's true samples vs the 500s the target injected"
assert_eq 400 "$(jnum custom.json '.metrics.errors.values.passes + .metrics.errors.values.fails')" "errors rate samples"
assert_eq "$server_err" "$(jnum custom.json .metrics.server_errors.values.count)" "server_errors counter vs the target's 500s"
assert_eq 400 "$(jnum custom.json .metrics.bid_time.values.count)" "bid_time trend samples"
assert_eq 'false true true' "$(jval custom.json '[.thresholds[].ok | tostring] | join(" ")')" "custom thresholds' verdicts in order"
grep -q 'CUSTOM' "$E2E_TMP/custom.out" || fail "no CUSTOM group in the summary"
grep -qE '^ +errors\.+: [0-9.]+%' "$E2E_TMP/custom.out" || { show custom; fail "no errors row in the CUSTOM group"; }
stop_target
