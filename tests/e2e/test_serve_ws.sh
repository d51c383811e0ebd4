#!/usr/bin/env bash
# Issue 9, item 4: `brunt serve` speaks WebSocket (/ws/echo, /ws/room/{name}), driven by a
# real peer, python3-websockets (tests/e2e/ws_serve_peer.py, Debian's /usr/bin/python3). Every
# echo and broadcast is checked by the peer, and /__stats' websocket counters must equal
# what the peer did. Bad upgrades get 400/426; unmasked, oversized, non-UTF-8 frames and
# a bad close code get their close codes; a member that never reads is dropped, not the
# room; idle sessions cost little server memory; the same over TLS (wss://).
. "$(dirname "$0")/lib.sh"
T=$E2E_TMP
PY=/usr/bin/python3
PEER=$(dirname "$0")/ws_serve_peer.py
$PY -c 'import websockets' 2>/dev/null || fail "python3-websockets is not installed (scripts/setup.sh installs it)"

ws() { # NAME ARGS...: run the peer, its JSON line into $T/NAME.json
    local name=$1 rc=0
    shift
    timeout 90 $PY "$PEER" "$@" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
    [[ $rc == 0 ]] || fail "ws_serve_peer $*: exit $rc: $(tail -3 "$T/$name.err")"
}
# wait_closed: the server has ended every session (sessions.open is 0), bounded.
wait_closed() {
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(stats_get '.websocket.sessions.open') == 0 ]] && return 0
        sleep 0.05
    done
    fail "sessions still open 5 s after the peer closed them: $(target_stats | jq -c .websocket)"
}

# Two threads, so room broadcasts also cross threads (the inboxes in websocket.c).
start_target --threads 2
B=ws://127.0.0.1:$TARGET_PORT

# --- bad upgrades: answered over HTTP, counted by route and status ------------------------
code() { # EXPECTED_STATUS PATH CURL_ARGS...
    local want=$1 path=$2
    shift 2
    local got
    got=$(curl -sS -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 5 "$@" "$TARGET_URL$path")
    assert_eq "$want" "$got" "GET $path $*"
}
UP=(-H "Upgrade: websocket" -H "Connection: Upgrade")
KEY=(-H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
code 400 /ws/echo "${UP[@]}" -H "Sec-WebSocket-Version: 13"
grep -q "Sec-WebSocket-Key" "$T/body" || fail "the 400 does not say the key is missing: $(cat "$T/body")"
code 400 /ws/echo "${UP[@]}" -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: short"
code 426 /ws/echo "${UP[@]}" "${KEY[@]}" -H "Sec-WebSocket-Version: 8"
grep -qi "^Sec-WebSocket-Version: 13" "$T/head" || fail "a 426 must name version 13: $(cat "$T/head")"
code 426 /ws/echo
code 400 /ws/echo -H "Upgrade: websocket" -H "Connection: keep-alive" "${KEY[@]}" -H "Sec-WebSocket-Version: 13"
code 400 '/ws/room/no%20spaces' "${UP[@]}" "${KEY[@]}" -H "Sec-WebSocket-Version: 13"
code 405 /ws/echo -X POST "${UP[@]}" "${KEY[@]}" -H "Sec-WebSocket-Version: 13"
# The RFC's own example: key dGhlIHNhbXBsZSBub25jZQ== -> accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
printf 'GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' |
    timeout 5 curl -sS --max-time 2 "telnet://127.0.0.1:$TARGET_PORT" >"$T/rfc.out" 2>/dev/null || true
grep -q "^HTTP/1.1 101 " "$T/rfc.out" || fail "the RFC example upgrade got: $(head -3 "$T/rfc.out")"
grep -q "^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" "$T/rfc.out" ||
    fail "the RFC example's accept value is wrong: $(cat "$T/rfc.out")"
wait_closed
assert_eq 4 "$(stats_get '.by_status["400"]')" "four upgrades answered 400"
assert_eq 2 "$(stats_get '.by_status["426"]')" "two upgrades answered 426"
assert_eq 1 "$(stats_get '.websocket.sessions.opened')" "only the RFC example opened a session"

# --- echo: N sessions x M messages, every 4th fragmented, a ping each -------------------------
curl -sS --fail --max-time 5 -X POST "$TARGET_URL/__reset" >/dev/null
N=20 M=30
ws echo echo "$B" $N $M
assert_eq $((N * M)) "$(jnum "$T/echo.json" .messages)" "the peer checked every echo"
wait_closed
assert_eq $N "$(stats_get '.websocket.sessions.opened')" "sessions opened = the peer's"
assert_eq $N "$(stats_get '.websocket.sessions.closed')" "sessions closed = the peer's"
assert_eq $N "$(stats_get '.by_status["101"]')" "a 101 per session"
assert_eq $((N * M)) "$(stats_get '.websocket.messages.received')" "messages received = sent by the peer"
assert_eq $((N * M)) "$(stats_get '.websocket.messages.sent')" "messages sent = echoes the peer checked"
bytes=$(jnum "$T/echo.json" .bytes)
assert_eq "$bytes" "$(stats_get '.websocket.messages.bytes_received')" "payload bytes received"
assert_eq "$bytes" "$(stats_get '.websocket.messages.bytes_sent')" "payload bytes sent"
frag=$(jnum "$T/echo.json" .fragmented)
# websockets sends the three parts with FIN unset, then an empty final continuation frame.
assert_eq $((frag * 4)) "$(stats_get '.websocket.messages.fragments')" "four frames per fragmented message"
assert_eq $N "$(stats_get '.websocket.pings')" "pings answered"
assert_eq $N "$(stats_get '.websocket.closes_received')" "the peer's closes"
assert_eq $N "$(stats_get '.websocket.closes_sent["1000"]')" "each answered with 1000"

# --- a room: every member gets every message, the sender included ----------------------------
curl -sS --fail --max-time 5 -X POST "$TARGET_URL/__reset" >/dev/null
N=12 M=25
ws room room "$B" lobby-1 $N $M
assert_eq $((N * N * M)) "$(jnum "$T/room.json" .delivered)" "the peer checked every delivery"
wait_closed
assert_eq $((N * M)) "$(stats_get '.websocket.messages.received')" "room messages received"
assert_eq $((N * N * M)) "$(stats_get '.websocket.messages.sent')" "room deliveries = members x messages"
assert_eq 0 "$(stats_get '.websocket.messages.dropped')" "no delivery dropped"
assert_eq $N "$(stats_get '.by_route["/ws/room/{name}"]')" "room upgrades by route"

# --- protocol errors: the close code, then the connection ends --------------------------------
curl -sS --fail --max-time 5 -X POST "$TARGET_URL/__reset" >/dev/null
for c in unmasked toolarge badutf8 badclose; do
    ws "raw-$c" raw 127.0.0.1 "$TARGET_PORT" $c
done
wait_closed
assert_eq 2 "$(stats_get '.websocket.closes_sent["1002"]')" "unmasked frame and bad close code: 1002"
assert_eq 1 "$(stats_get '.websocket.closes_sent["1009"]')" "a frame over 1 MiB: 1009"
assert_eq 1 "$(stats_get '.websocket.closes_sent["1007"]')" "text that is not UTF-8: 1007"
assert_eq 0 "$(stats_get '.websocket.messages.received')" "no bad frame counted as a message"

# --- a member that never reads is dropped (reset) at 8 MiB unsent; the room goes on -------
curl -sS --fail --max-time 5 -X POST "$TARGET_URL/__reset" >/dev/null
ws slow slow "$B" slow-room 20
assert_eq true "$(jval "$T/slow.json" .slow_member_reset)" "the slow member's connection was reset"
wait_closed
assert_eq 1 "$(stats_get '.websocket.messages.dropped')" "one delivery dropped: the slow member is gone after it"
assert_eq 20 "$(stats_get '.websocket.messages.received')" "the sender's 20 messages"
sent=$(stats_get '.websocket.messages.sent')
# The sender's own 20 copies, and to the slow member at least the 8 that fit in 8 MiB
# unsent (more when the kernel took some), never all 20.
assert_ge "$sent" 28 "20 copies to the sender and at least 8 to the slow member"
assert_le "$sent" 39 "not every message reached the slow member"
assert_eq 2 "$(stats_get '.websocket.sessions.closed')" "both sessions ended"

# --- idle sessions cost little: server RSS growth per session ---------------------------------
ws idle idle "$B" 1000 "$TARGET_PID"
assert_eq 1001 "$(jnum "$T/idle.json" .server_open)" "/__stats counts the idle sessions open"
kib=$(jnum "$T/idle.json" .kib_per_session)
log "server RSS per idle WebSocket session: $kib KiB ($(cat "$T/idle.json"))"
assert_le "$kib" 4 "an idle session costs at most 4 KiB of server memory"
wait_closed
assert_target_alive
stop_target

# --- the same over TLS: wss:// ----------------------------------------------------------------
test_cert "$T" 77
start_target --tls-cert "$T/srv.crt" --tls-key "$T/srv.key"
TARGET_CACERT=$T/ca.crt
export WS_CAFILE=$T/ca.crt
ws wss echo "wss://127.0.0.1:$TARGET_PORT" 5 20
wait_closed
assert_eq 100 "$(stats_get '.websocket.messages.received')" "wss: messages received"
assert_eq 100 "$(stats_get '.websocket.messages.sent')" "wss: echoes sent"
assert_eq 5 "$(stats_get '.websocket.sessions.opened')" "wss: sessions"
assert_ge "$(stats_get '.tls.handshakes')" 5 "wss: a TLS handshake per session"
assert_target_alive
stop_target
