#!/usr/bin/env bash
# test_serve.sh — `brunt serve` end to end: every route and status, auth, the bid rule,
# protocol errors (400 / 431 / 413) while the server keeps serving, /__stats counting
# exactly what curl sent, bad flags, a taken port, and a clean SIGTERM exit.
#
#   BRUNT=build/brunt tests/e2e/test_serve.sh
source "$(dirname "$0")/lib.sh"

SENT=0 # requests made to counted routes; /__stats and /__reset are never counted

# req EXPECTED_STATUS CURL_ARGS...: one request; checks the status; the body is left in
# the file "body" (req must not run in a subshell, or SENT would not count it).
req() {
    local want=$1 code
    shift
    code=$(curl -sS --max-time 5 -o body -w '%{http_code}' "$@") || fail "curl $* failed"
    SENT=$((SENT + 1))
    [[ $code == "$want" ]] || fail "curl $*: expected status $want, got $code; body: $(head -c 300 body)"
}

# raw PYTHON_BYTES_EXPR: sends raw bytes on a new connection and prints the first line
# of what comes back (the connection is read until the server closes it, max 5 s).
raw() {
    python3 - "$TARGET_PORT" "$1" <<'EOF'
import socket, sys
port, payload = int(sys.argv[1]), eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    s.sendall(payload)
except OSError:
    pass
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError:
    pass
print(data.split(b"\r\n", 1)[0].decode("latin-1"))
EOF
}

# --- flags -----------------------------------------------------------------------------
for bad in "--threads 0" "--error-rate 2" "--delay xyz" "--stall-every 1s" \
    "--stall-every 1s --stall-for 2s" "--port 70000" "--bogus" "extra"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 10 "$BRUNT" serve $bad >bad.out 2>bad.err || rc=$?
    assert_eq 2 "$rc" "exit status for 'serve $bad'"
    assert_one_line bad.err "message for 'serve $bad'"
    grep -q '^brunt serve: .*: ' bad.err || fail "message for 'serve $bad' not in the form 'brunt serve: what: expected': $(cat bad.err)"
    [[ ! -s bad.out ]] || fail "'serve $bad' wrote to stdout: $(cat bad.out)"
done
timeout 10 "$BRUNT" serve --help | grep -q -- '--stall-every' || fail "serve --help lacks --stall-every"

start_target --seed 1
B=$TARGET_URL

# --- port in use -----------------------------------------------------------------------
rc=0
timeout 10 "$BRUNT" serve --port "$TARGET_PORT" >busy.out 2>busy.err || rc=$?
assert_eq 1 "$rc" "exit status when the port is taken"
assert_one_line busy.err "message when the port is taken"

# --- plain routes ------------------------------------------------------------------------
req 200 "$B/"
req 200 "$B/health"
[[ $(cat body) == ok ]] || fail "/health body: $(cat body)"
req 404 "$B/no/such/path"
jq -e .error body >/dev/null || fail "404 body is not {error}: $(cat body)"
req 405 -X DELETE "$B/health"
req 405 "$B/api/v1/bids"
for code in 200 201 204 301 400 404 418 500 503 599; do
    req "$code" "$B/status/$code"
done
req 200 "$B/status/103" >/dev/null # interim 103, then a final 200
req 400 "$B/status/600"
req 400 "$B/status/abc"
req 200 "$B/bytes/123456"
n=$(wc -c <body)
assert_eq 123456 "$n" "/bytes/123456 length"
req 200 "$B/bytes/0"
n=$(wc -c <body)
assert_eq 0 "$n" "/bytes/0 length"
req 200 "$B/chunked/100000?chunk=777"
n=$(wc -c <body)
assert_eq 100000 "$n" "/chunked/100000 length"
curl -sS --max-time 5 --raw "$B/chunked/5?chunk=2" >chunked.raw || fail "raw chunked"
SENT=$((SENT + 1))
grep -q ';' chunked.raw || fail "no chunk extension on the first chunk: $(od -c chunked.raw | head)"
grep -q 'X-Trailer: done' chunked.raw || fail "no trailer: $(od -c chunked.raw | head)"
req 400 "$B/bytes/104857601"
t0=$(now_ms)
req 200 "$B/delay/300"
assert_ge $(($(now_ms) - t0)) 300 "/delay/300 took at least 300 ms"

# --- auctions and bids ----------------------------------------------------------------------
req 200 "$B/api/v1/auctions?status=active&limit=5"
n=$(jq '.auctions | length' <body)
assert_eq 5 "$n" "auctions listed with limit=5"
req 200 "$B/api/v1/auctions"
n=$(jq '.auctions | length' <body)
assert_eq 20 "$n" "auctions listed by default"
req 200 "$B/api/v1/auctions?limit=1000"
n=$(jq '.auctions | length' <body)
assert_eq 1000 "$n" "auctions listed with limit=1000"
req 400 "$B/api/v1/auctions?limit=1001"
req 200 "$B/api/v1/auctions/auction_7"
[[ $(jq -r .id body) == auction_7 ]] || fail "auction_7 id: $(cat body)"
req 404 "$B/api/v1/auctions/auction_1000"
bid() { req "$1" -H 'Content-Type: application/json' -d "$2" "$B/api/v1/bids"; }
bid 200 '{"auction_id":"auction_7","user_id":"user_1","amount":100}'
jq -e '.accepted == true' body >/dev/null ||
    fail "a first bid of 100 was not accepted"
bid 400 '{"auction_id":"auction_7","user_id":"user_2","amount":100}'
jq -e '.current_bid == 100' body >/dev/null ||
    fail "an equal bid was not rejected with current_bid 100"
bid 400 '{"auction_id":"auction_7","user_id":"user_2","amount":"99"}'
bid 200 '{"auction_id":"auction_7","user_id":"user_2","amount":"101"}'
bid 404 '{"auction_id":"auction_5000","user_id":"user_2","amount":1}'
bid 400 '{"auction_id":"auction_7","amount":1.5}'
bid 400 '{"auction_id":"auction_7"'
bid 400 'not json'
req 200 "$B/api/v1/auctions/auction_7"
cur=$(jq .current_bid <body)
assert_eq 101 "$cur" "auction_7 current bid"

# --- auth ----------------------------------------------------------------------------------
req 200 -d '{"email":"ann@example.com","password":"pw"}' "$B/auth/login"
tok=$(jq -r .token <body)
[[ $tok == tok_* ]] || fail "login token '$tok'"
req 200 -d '{"email":"ann@example.com","password":"other"}' "$B/auth/login"
tok2=$(jq -r .token <body)
assert_eq "$tok" "$tok2" "tokens are deterministic per email"
req 400 -d '{"email":"ann@example.com"}' "$B/auth/login"
req 400 -d '{"password":"x"}' "$B/auth/login"
req 400 -d '[1,2' "$B/auth/login"
req 200 -H "Authorization: Bearer $tok" "$B/users/me"
me=$(jq -r .email <body)
assert_eq ann@example.com "$me" "/users/me email"
req 200 -H "Authorization: Bearer $tok" "$B/items?limit=3"
n=$(jq '.items | length' <body)
assert_eq 3 "$n" "/items?limit=3"
req 401 "$B/users/me"
req 401 -H "Authorization: Bearer ${tok}x" "$B/users/me"
req 401 -H "Authorization: Basic abc" "$B/items"

# --- protocol errors: answered, counted, and the server keeps serving ------------------------
line=$(raw 'b"BLAH\r\n\r\n"')
[[ $line == "HTTP/1.1 400 "* ]] || fail "garbage request: got '$line'"
line=$(raw 'bytes(range(256)) * 4')
[[ $line == "HTTP/1.1 400 "* ]] || fail "binary garbage: got '$line'"
line=$(raw 'b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"')
[[ $line == "HTTP/1.1 431 "* ]] || fail "oversized head: got '$line'"
line=$(raw 'b"POST /api/v1/bids HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 5000')
[[ $line == "HTTP/1.1 413 "* ]] || fail "oversized body: got '$line'"
line=$(raw 'b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"')
[[ $line == "HTTP/1.1 200 "* ]] || fail "pipelined requests: got '$line'"
line=$(raw 'b"POST /auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{\"em\r\n1a\r\nail\":\"a@b\",\"password\":\"p\"}\r\n0\r\n\r\n"')
[[ $line == "HTTP/1.1 200 "* ]] || fail "chunked request body: got '$line'"

PROTO=9 # raw requests answered: 2 x 400, 431, 413, 4 pipelined, 1 chunked
req 200 "$B/health"

# --- /__stats counts exactly what was sent ---------------------------------------------------
stats=$(target_stats)
total=$((SENT + PROTO))
assert_eq "$total" "$(jq .requests <<<"$stats")" "requests counted by /__stats"
sum=$(jq '[.by_status[]] | add' <<<"$stats")
assert_eq "$total" "$sum" "sum of by_status"
assert_eq 2 "$(jq '.bids.accepted' <<<"$stats")" "bids accepted"
assert_eq 2 "$(jq '.bids.rejected' <<<"$stats")" "bids rejected (too low)"
assert_eq 3 "$(jq '.unauthorized' <<<"$stats")" "unauthorized"
assert_eq 1 "$(jq '.by_status["431"]' <<<"$stats")" "431 counted"
assert_eq 1 "$(jq '.by_status["413"]' <<<"$stats")" "413 counted"
assert_eq 3 "$(jq '.by_route["(invalid)"]' <<<"$stats")" "unparseable requests under (invalid)"
assert_eq 1 "$(jq '.by_route["/api/v1/auctions/{id}"] >= 3' <<<"$stats" | sed 's/true/1/')" "route templates, not raw paths"
assert_eq null "$(jq '.by_route["/__stats"]' <<<"$stats")" "/__stats not counted"
assert_eq true "$(jq '.invariant_ok' <<<"$stats")" "invariant_ok"

# --- /__reset zeroes the counters, not the bids -------------------------------------------------
curl -sS --fail --max-time 5 -X POST "$B/__reset" >/dev/null || fail "POST /__reset"
assert_eq 0 "$(stats_get .requests)" "requests after /__reset"
cur=$(curl -sS --max-time 5 "$B/api/v1/auctions/auction_7" | jq .current_bid)
assert_eq 101 "$cur" "bids survive /__reset"
assert_eq 1 "$(stats_get .requests)" "requests after one more"

# --- connections are dealt out to the threads in turn ------------------------------------------
# One wake-up of a thread accepts a whole burst, so without dealing brunt's 8 connections,
# opened together, could all land on one of the 4 threads (test_db_serve's pool section
# then saw no request wait for the pool).  After /__reset: brunt's 8 connections and the
# one that asks for /__stats (and brunt's reachability check), dealt in turn: no thread
# has more than one more than another.
stop_target
start_target --threads 4
curl -sS --fail --max-time 5 -X POST "$TARGET_URL/__reset" >/dev/null || fail "POST /__reset"
brunt_run deal -q -c 8 -t 2 -n 400 "$TARGET_URL/health"
assert_eq 0 "$RC" "deal: the run passed"
stats=$(target_stats)
by=$(jq -c .connections_by_thread <<<"$stats")
assert_eq 4 "$(jq length <<<"$by")" "connections_by_thread has one entry per thread: $by"
assert_eq "$(jq '.connections_accepted - .connections_rejected' <<<"$stats")" "$(jq add <<<"$by")" \
    "connections taken over = accepted - rejected ($by)"
assert_ge "$(jq add <<<"$by")" 9 "connections taken over: brunt's 8 and the stats request ($by)"
assert_eq 1 "$(jq 'max - min <= 1' <<<"$by" | sed 's/true/1/')" "dealt in turn: $by"

# --- faults: every answer is a 500 or a reset; counted by kind -----------------------------------
stop_target
start_target --error-rate 0.5 --reset-rate 0.5 --seed 3
for i in $(seq 40); do
    curl -s --max-time 5 -o /dev/null "$TARGET_URL/health" || true
done
stats=$(target_stats)
assert_eq 40 "$(jq .requests <<<"$stats")" "requests under faults"
assert_eq 40 "$(jq '.faults.errors + .faults.resets' <<<"$stats")" "faults errors + resets"
assert_eq 40 "$(jq '(.by_status["500"] // 0) + (.by_status.reset // 0)' <<<"$stats")" "by_status 500 + reset"
assert_ge "$(jq .faults.resets <<<"$stats")" 5 "some resets"
assert_ge "$(jq .faults.errors <<<"$stats")" 5 "some errors"

# --- SIGTERM: a clean exit 0 with a one-line summary --------------------------------------------
pid=$TARGET_PID
kill -TERM "$pid"
wait_exit "$pid" 10
assert_eq 0 "$WAIT_RC" "exit status after SIGTERM"
TARGET_PID=
grep -q 'brunt serve: stopped' "$E2E_TMP/target.$_E2E_NTARGETS.err" ||
    fail "no summary on stderr: $(cat "$E2E_TMP/target.$_E2E_NTARGETS.err")"
log "test_serve: all checks passed"
