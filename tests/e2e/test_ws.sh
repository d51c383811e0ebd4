#!/usr/bin/env bash
# Issue 9, item 3: WebSocket flow steps against a real peer (python3-websockets,
# tests/e2e/ws_peer.py): an echo session whose message counts equal what the server
# counted, a matching-reply latency and a ping time, a room where listeners receive
# exactly what the server broadcast, wss:// with a CA the test makes, the error kinds
# of a bad upgrade and of an abnormal close, and load-time errors (exit 104).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, where python3-websockets is installed
"$PY" -c 'import websockets' || fail "python3-websockets is not installed (scripts/setup.sh)"

# start_peer NAME [CERT KEY]: the peer on a free loopback port; sets PEER_PORT.
start_peer() {
    local name=$1
    shift
    "$PY" "$(dirname "$0")/ws_peer.py" "$E2E_TMP/$name.port" "$@" >"$E2E_TMP/$name.log" 2>&1 &
    _E2E_PIDS+=($!)
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -s $E2E_TMP/$name.port ]] && break
        sleep 0.05
    done
    [[ -s $E2E_TMP/$name.port ]] || fail "ws_peer did not start: $(cat "$E2E_TMP/$name.log")"
    PEER_PORT=$(cat "$E2E_TMP/$name.port")
}
peer_stat() { # PORT JQ_PATH [curl args]
    local port=$1 path=$2
    shift 2
    curl -sf "$@" "http://127.0.0.1:$port/__stats" | jq -e "$path"
}

start_peer plain
P=$PEER_PORT

# --- 1. echo: counts equal the server's, latency and ping measured ---------------------
cat >"$E2E_TMP/echo.yaml" <<YAML
scenarios:
  chat:
    executor: shared-iterations
    vus: 4
    iterations: 20
    flow:
      - request: GET http://127.0.0.1:$P/__stats
        extract: {sessions: json \$.sessions}
      - ws_connect: ws://127.0.0.1:$P/echo?s={{ sessions }}
        name: echo
        headers: {Authorization: "Bearer {{ sessions }}"}
      - ws_send: 'hello {{ vu }}'
      - ws_wait: "body contains hello"
        timeout: 5s
      - ws_ping:
      - ws_send: '{"n": {{ seq }}}'
        binary: true
      - ws_wait: ["json \$.n exists"]
        extract: {n: json \$.n}
      - ws_send: 'n was {{ n }}'
      - ws_wait: "body matches ^n was [0-9]+$"
      - ws_close:
thresholds:
  "ws_msg_latency{name:echo}": ["max<5000"]
  "ws_msgs_sent{name:echo}": ["count==60"]
YAML
brunt_run echo "$E2E_TMP/echo.yaml" --export echo.json
assert_eq 0 "$RC" "exit status of the echo run"
assert_eq 20 "$(jnum echo.json '.metrics.ws_sessions.values.count')" "ws_sessions"
assert_eq "$(peer_stat "$P" .sessions)" 20 "sessions the server upgraded"
assert_eq "$(peer_stat "$P" .received)" "$(jnum echo.json '.metrics.ws_msgs_sent.values.count')" \
    "ws_msgs_sent = messages the server received"
assert_eq "$(peer_stat "$P" .sent)" "$(jnum echo.json '.metrics.ws_msgs_received.values.count')" \
    "ws_msgs_received = messages the server sent"
assert_eq 60 "$(peer_stat "$P" .received)" "messages the server received"
assert_eq 20 "$(peer_stat "$P" .closed_normal)" "sessions closed with 1000"
assert_eq 60 "$(jnum echo.json '.metrics.ws_msg_latency.values.count')" "matching replies timed"
assert_lt 0 "$(jnum echo.json '.metrics.ws_msg_latency.values.min')" "a reply's latency is > 0"
assert_eq 20 "$(jnum echo.json '.metrics.ws_ping.values.count')" "pongs timed"
assert_eq 20 "$(jnum echo.json '.metrics.ws_connecting.values.count')" "ws_connecting samples"
assert_eq 20 "$(jnum echo.json '.metrics.ws_session_duration.values.count')" "session durations"
assert_eq 1 "$(jnum echo.json '.metrics.checks.values.rate')" "every wait matched"
assert_eq 0 "$(jnum echo.json '.errors | add')" "no errors"
assert_eq echo "$(jval echo.json '.metrics.ws_sessions.series[0].tags.name')" "the name tag"
grep -q "WEBSOCKET" "$E2E_TMP/echo.out" || fail "no WEBSOCKET group in the summary"
grep -q "ws_msg_latency" "$E2E_TMP/echo.out" || fail "no ws_msg_latency in the summary"

# --- 2. a room: listeners receive exactly what the server broadcast -----------------------
before_sent=$(peer_stat "$P" .sent)
before_recv=$(peer_stat "$P" .received)
cat >"$E2E_TMP/room.yaml" <<YAML
scenarios:
  members:
    executor: per-vu-iterations
    vus: 50
    iterations: 1
    flow:
      - ws_connect: ws://127.0.0.1:$P/room
        name: member
      - ws_listen: 4s
      - ws_close:
  speakers:
    executor: per-vu-iterations
    vus: 2
    iterations: 1
    start_time: 1s
    flow:
      - ws_connect: ws://127.0.0.1:$P/room
        name: speaker
      - ws_send: 'bid {{ vu }} {{ seq }}'
      - sleep: 100ms
      - ws_send: 'bid {{ vu }} {{ seq }}'
      - sleep: 100ms
      - ws_send: 'bid {{ vu }} {{ seq }}'
      - ws_listen: 500ms
      - ws_close:
YAML
brunt_run room "$E2E_TMP/room.yaml" --export room.json
assert_eq 0 "$RC" "exit status of the room run"
sent=$(($(peer_stat "$P" .sent) - before_sent))
recv=$(($(peer_stat "$P" .received) - before_recv))
assert_eq 6 "$recv" "messages the server received in the room"
assert_eq 6 "$(jnum room.json '.metrics.ws_msgs_sent.values.count')" "ws_msgs_sent in the room"
assert_eq "$sent" "$(jnum room.json '.metrics.ws_msgs_received.values.count')" \
    "ws_msgs_received = messages the server broadcast"
# 50 members and the other speaker hear each of the 6 messages (sent, not the echo): 306
# at most; a member whose session opened after a message was sent missed that one (seen
# once in a fresh-clone CI run: 305), so the ground truth is the server's count above.
assert_le "$sent" 306 "deliveries: at most 6 messages x 51 other members"
assert_ge "$sent" 255 "deliveries: most of 6 messages x 51 other members"
assert_eq 52 "$(jnum room.json '.metrics.ws_sessions.values.count')" "room sessions"
RC=0
"$BRUNT" report -q room.json -o room.md 2>room-report.err || RC=$?
assert_eq 0 "$RC" "brunt report on a WebSocket-only result ($(head -c 200 room-report.err))"
assert_eq 0 "$(peer_stat "$P" .open)" "no session left open on the server"

# --- 2b. examples/ws-room.yaml, shortened: the same ground truth -------------------------
before_sent=$(peer_stat "$P" .sent)
before_recv=$(peer_stat "$P" .received)
_E2E_LAST_RUN=example
RC=0
env WS_URL="ws://127.0.0.1:$P" MEMBERS=100 SPEAKERS=2 HOLD=5s JOIN=1s SPEAK=2s \
    timeout -k 5 120 "$BRUNT" run --export example.json "$E2E_DIR/../../examples/ws-room.yaml" \
    >"$E2E_TMP/example.out" 2>"$E2E_TMP/example.err" || RC=$?
assert_eq 0 "$RC" "exit status of examples/ws-room.yaml (its thresholds pass)"
assert_eq "$(($(peer_stat "$P" .received) - before_recv))" \
    "$(jnum example.json '.metrics.ws_msgs_sent.values.count')" "example: ws_msgs_sent = server received"
assert_eq "$(($(peer_stat "$P" .sent) - before_sent))" \
    "$(jnum example.json '.metrics.ws_msgs_received.values.count')" "example: ws_msgs_received = server sent"
assert_ge "$(jnum example.json '.metrics.ws_msgs_received.values.count')" 100 "example: members heard the speakers"
assert_eq 100 "$(jval example.json '[.metrics.ws_sessions.series[] | select(.tags.name == "member") | .values.count] | add')" "example: member sessions"
assert_eq 0 "$(peer_stat "$P" .open)" "example: no session left open"

# --- 2c. fragments and server pings; a protocol error -----------------------------------
cat >"$E2E_TMP/frag.yaml" <<YAML
scenarios:
  frag:
    executor: shared-iterations
    vus: 2
    iterations: 6
    flow:
      - ws_connect: ws://127.0.0.1:$P/frag
      - ws_send: 'a message that comes back in three pieces {{ vu }}'
      - ws_wait: "body matches ^a message that comes back in three pieces [0-9]+$"
        timeout: 5s
      - ws_close:
  garbage:
    executor: shared-iterations
    vus: 1
    iterations: 3
    flow:
      - ws_connect: ws://127.0.0.1:$P/garbage
      - ws_send: hi
      - ws_wait: any
        timeout: 5s
      - ws_close:
YAML
before_pongs=$(peer_stat "$P" .pongs)
brunt_run frag "$E2E_TMP/frag.yaml" --export frag.json
assert_eq 0 "$RC" "exit status of the fragments run"
assert_eq 6 "$(($(peer_stat "$P" .pongs) - before_pongs))" "the server's pings were answered"
assert_eq 6 "$(jval frag.json '[.metrics.checks.series[] | select(.tags.scenario == "frag") | .values.passes] | add')" "reassembled messages matched"
assert_eq 3 "$(jnum frag.json '.errors.ws_protocol')" "errors{kind:ws_protocol}: a reserved opcode"
assert_eq 0 "$(jnum frag.json '.errors.timeout')" "no wait timed out"

# --- 3. bad upgrades and an abnormal close: their error kinds ------------------------------
cat >"$E2E_TMP/bad.yaml" <<YAML
scenarios:
  no101:
    executor: shared-iterations
    vus: 1
    iterations: 3
    flow:
      - ws_connect: ws://127.0.0.1:$P/bad
      - ws_send: never sent
      - ws_close:
  badaccept:
    executor: shared-iterations
    vus: 1
    iterations: 2
    flow:
      - ws_connect: ws://127.0.0.1:$P/badaccept
      - ws_close:
  code4000:
    executor: shared-iterations
    vus: 1
    iterations: 4
    flow:
      - ws_connect: ws://127.0.0.1:$P/close4000
      - ws_wait: any
        timeout: 5s
      - ws_close:
YAML
before_recv=$(peer_stat "$P" .received)
brunt_run bad "$E2E_TMP/bad.yaml" --export bad.json
assert_eq 0 "$RC" "exit status (no thresholds) with failed upgrades"
assert_eq 5 "$(jnum bad.json '.errors.ws_handshake')" "errors{kind:ws_handshake}: 3 without 101, 2 bad accept"
assert_eq 4 "$(jnum bad.json '.errors.ws_closed')" "errors{kind:ws_closed}: close code 4000"
assert_eq 4 "$(jnum bad.json '.metrics.ws_sessions.values.count')" "only the 101s count as sessions"
assert_eq 0 "$(jnum bad.json '.metrics.ws_msgs_sent.values.count // 0')" "nothing sent on a failed upgrade"
assert_eq "$before_recv" "$(peer_stat "$P" .received)" "the server received no message"

# --- 4. wss:// with a CA the test makes -----------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$E2E_TMP/ws.key" -out "$E2E_TMP/ws.crt" \
    -days 2 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
start_peer tls "$E2E_TMP/ws.crt" "$E2E_TMP/ws.key"
PT=$PEER_PORT
cat >"$E2E_TMP/wss.yaml" <<YAML
scenarios:
  s:
    executor: shared-iterations
    vus: 2
    iterations: 6
    flow:
      - ws_connect: wss://127.0.0.1:$PT/echo
      - ws_send: 'over tls {{ vu }}'
      - ws_wait: "body contains over tls"
      - ws_close:
YAML
brunt_run wss "$E2E_TMP/wss.yaml" --cacert "$E2E_TMP/ws.crt" --export wss.json
assert_eq 0 "$RC" "exit status over wss://"
wss_stat() { curl -sf --cacert "$E2E_TMP/ws.crt" "https://127.0.0.1:$PT/__stats" | jq -e "$1"; }
assert_eq "$(wss_stat .received)" "$(jnum wss.json '.metrics.ws_msgs_sent.values.count')" "wss: ws_msgs_sent = server received"
assert_eq 6 "$(wss_stat .sent)" "wss: messages the server sent"
assert_eq 6 "$(jnum wss.json '.metrics.ws_msg_latency.values.count')" "wss: replies timed"
brunt_run wss_noca "$E2E_TMP/wss.yaml" --export wss_noca.json
assert_eq 3 "$RC" "wss:// without the CA fails the reachability probe (exit 3)"

# --- 4b. the run's end cuts sessions off: nothing the server sent is left out -----------------
# Scenario a's wait never matches (its echo is read and counted), b's echo arrives during a
# sleep and is only kept: both count in ws_msgs_received, and a's wait, cut off, counts
# as interrupted (b's sleep is no WebSocket step).
start_peer intr
PI=$PEER_PORT
cat >"$E2E_TMP/intr.yaml" <<YAML
scenarios:
  a:
    executor: constant-vus
    vus: 3
    duration: 1s
    graceful_stop: 0s
    flow:
      - ws_connect: ws://127.0.0.1:$PI/echo
      - ws_send: 'a {{ vu }}'
      - ws_wait: "body contains never"
        timeout: 60s
  b:
    executor: constant-vus
    vus: 2
    duration: 1s
    graceful_stop: 0s
    flow:
      - ws_connect: ws://127.0.0.1:$PI/echo
      - ws_send: 'b {{ vu }}'
      - sleep: 60s
YAML
brunt_run intr "$E2E_TMP/intr.yaml" --export intr.json
assert_eq 0 "$RC" "exit status of the interrupted run"
assert_eq 5 "$(jnum intr.json '.metrics.interrupted_iterations.values.count')" "every iteration was cut off"
assert_eq 3 "$(jnum intr.json '.errors.interrupted')" "the three waits count as interrupted"
assert_eq 5 "$(peer_stat "$PI" .sent)" "messages the server sent"
assert_eq "$(peer_stat "$PI" .sent)" "$(jnum intr.json '.metrics.ws_msgs_received.values.count')" \
    "ws_msgs_received = messages the server sent, the kept ones too"

# --- 5. load-time errors: one positioned line, exit 104 -----------------------------------
bad_file() { # NAME EXPECTED_TEXT (the YAML on stdin)
    cat >"$E2E_TMP/$1.yaml"
    brunt_run "$1" "$E2E_TMP/$1.yaml"
    assert_eq 104 "$RC" "exit status of $1"
    assert_one_line "$E2E_TMP/$1.err" "$1: one line"
    grep -q "$2" "$E2E_TMP/$1.err" || fail "$1: expected '$2' in: $(cat "$E2E_TMP/$1.err")"
    grep -q "$1.yaml:[0-9]*:[0-9]*:" "$E2E_TMP/$1.err" || fail "$1: no position"
}
bad_file nosession "ws_send without a WebSocket session" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - request: GET http://127.0.0.1:$P/__stats
      - ws_send: hi
YAML
bad_file reqinside "a request step inside a WebSocket session" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - ws_connect: ws://127.0.0.1:$P/echo
      - request: GET http://127.0.0.1:$P/__stats
YAML
bad_file badscheme "bad WebSocket URL" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - ws_connect: http://127.0.0.1:$P/echo
YAML
bad_file statuswait "cannot match a WebSocket message" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - ws_connect: ws://127.0.0.1:$P/echo
      - ws_wait: status == 200
YAML
bad_file badcode "close code 1006 may not be sent" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - ws_connect: ws://127.0.0.1:$P/echo
      - ws_close: 1006
YAML
bad_file badkey "unknown key" <<YAML
scenarios:
  s:
    executor: shared-iterations
    flow:
      - ws_connect: ws://127.0.0.1:$P/echo
        body: x
YAML
log "ok"
