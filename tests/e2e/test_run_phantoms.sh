#!/usr/bin/env bash
# Issue 7, item 3: no phantom requests, no phantom answers.
#
# A server that closes each keep-alive connection after its answer without saying so
# (no Connection: close): the next request goes into a closed socket, and is re-sent once
# on a new connection (http_req_retries), so -c 1 -n 200 is 200 requests counted, 200
# received, none failed.
#
# A server that sends one extra, unsolicited response
# after every 7th request it receives: the extra answers nothing, so it never adds a
# request or a success. Ground truth is the server's own count of the requests it
# received whole: brunt's http_reqs equal it (a stray answer is never a request), the
# successes do not exceed it, and the stray answers show as errors.protocol (at most one
# per stray answer), with --pipeline 4 and without. The extra leaves in the same write as
# the answer before it ("batch"), in a write of its own ("split"), or a millisecond later
# ("late"). HTTP/1.1 has no request ids: a stray answer that arrives after the next
# request left is taken for that request's answer, and the real answer that follows is
# the one counted as the protocol error (docs/metrics.md, errors), so the counts stay
# exact but not every stray is seen as one; when the extra rides in the same write as the
# answer before it and nothing is pipelined, every one is.
. "$(dirname "$0")/lib.sh"

# stray.py EVERY MODE COUNT_FILE: an HTTP/1.1 server that counts the requests it received
# whole and, after every EVERY-th (0: never), sends one extra answer: in the same write
# (batch), in a write of its own (split) or 1 ms later (late); MODE close answers one
# request per connection and closes it. Writes "received extras open" on SIGTERM.
cat >"$E2E_TMP/stray.py" <<'PY'
import os, signal, socket, sys, threading, time
every, mode, count_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
received = extras = active = 0
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

def handle(c):
    global received, extras, active
    buf, dead = b"", False
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            out = []
            while True:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    break
                buf = buf[i + 4:]
                with lock:
                    received += 1
                    extra = every > 0 and received % every == 0
                    extras += extra
                if mode == "batch":
                    out.append(RESP * (2 if extra else 1))
                    continue
                if mode == "close":
                    # closes after one answer without saying so (no Connection: close)
                    try:
                        c.sendall(RESP)
                    except OSError:
                        pass
                    raise EOFError
                if dead:
                    continue  # the client went away: keep counting what it sent
                try:
                    c.sendall(RESP)
                    if extra:
                        if mode == "late":
                            time.sleep(0.001)
                        c.sendall(RESP)
                except OSError:
                    dead = True
            if out and not dead:
                try:
                    c.sendall(b"".join(out))
                except OSError:
                    dead = True
    except (OSError, EOFError):
        pass
    c.close()
    with lock:
        active -= 1

def term(*_):
    # Every connection brunt opened is closed by now: let the handlers count what is left.
    for _ in range(200):
        with lock:
            if active == 0:
                break
        time.sleep(0.01)
    with open(count_file + ".tmp", "w") as f:
        f.write("%d %d %d\n" % (received, extras, active))
    os.rename(count_file + ".tmp", count_file)
    os._exit(0)

signal.signal(signal.SIGTERM, term)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
print("listening on %d" % s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with lock:
        active += 1
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY

# start_py NAME EVERY MODE: starts stray.py (its count in NAME.count) and waits, bounded,
# for its port; sets PY_PID and PY_PORT.  stop_py NAME: SIGTERM, and the count is written.
start_py() {
    local name=$1 i
    rm -f "$E2E_TMP/$name.count"
    : >"$E2E_TMP/$name.srv"
    python3 "$E2E_TMP/stray.py" "$2" "$3" "$E2E_TMP/$name.count" >"$E2E_TMP/$name.srv" &
    PY_PID=$!
    _E2E_PIDS+=("$PY_PID")
    PY_PORT=
    for ((i = 0; i < 200; i++)); do
        PY_PORT=$(awk '/^listening on/ { print $3 }' "$E2E_TMP/$name.srv")
        [[ -n $PY_PORT ]] && return 0
        alive "$PY_PID" || fail "the $name server exited before listening"
        sleep 0.05
    done
    fail "the $name server did not listen within 10 s"
}

stop_py() {
    kill -TERM "$PY_PID"
    wait_exit "$PY_PID" 10
    assert_eq 0 "$WAIT_RC" "the $1 server's exit"
    [[ -s $E2E_TMP/$1.count ]] || fail "the $1 server wrote no count"
}

# run_stray MODE PIPELINE: one run against a fresh stray server; checks the counts.
run_stray() {
    local mode=$1 depth=$2 name=stray-$1-$2 received extras active
    start_py "$name" 7 "$mode"
    brunt_run "$name" -q -c 4 -d 1s --pipeline "$depth" --no-watch --export "$name.json" \
        "http://127.0.0.1:$PY_PORT/"
    assert_eq 0 "$RC" "exit status ($mode, --pipeline $depth)"
    stop_py "$name"
    read -r received extras active <"$E2E_TMP/$name.count"
    assert_eq 0 "$active" "connections the stray server still had open ($mode)"
    local n ok proto
    n=$(jnum "$name.json" .metrics.http_reqs.values.count)
    ok=$(jnum "$name.json" '.metrics.http_reqs.values.count - (.metrics.http_req_failed.values.passes // 0)')
    proto=$(jnum "$name.json" .errors.protocol)
    log "$mode --pipeline $depth: received $received, stray answers $extras; brunt: http_reqs $n, successes $ok, errors.protocol $proto"
    assert_ge "$extras" 20 "stray answers the server sent ($mode, --pipeline $depth)"
    assert_eq "$received" "$n" "brunt's http_reqs vs the requests the server received ($mode, --pipeline $depth)"
    assert_le "$ok" "$received" "brunt's successes vs the requests the server received ($mode, --pipeline $depth)"
    assert_ge "$proto" 1 "errors.protocol: stray answers seen ($mode, --pipeline $depth)"
    assert_le "$proto" "$extras" "errors.protocol vs the stray answers sent ($mode, --pipeline $depth)"
    STRAY_PROTO=$proto STRAY_EXTRAS=$extras
}

for mode in batch split late; do
    for depth in 1 4; do
        run_stray "$mode" "$depth"
        if [[ $mode == batch && $depth == 1 ]]; then
            # The extra rides with the answer before it and nothing is pipelined: every
            # stray answer is seen.
            assert_eq "$STRAY_EXTRAS" "$STRAY_PROTO" "errors.protocol vs stray answers (batch, --pipeline 1)"
        fi
    done
done

# --- a server that closes every connection after one answer, without Connection: close
start_py closer 0 close
brunt_run closer -q -c 1 -n 200 --no-watch --export closer.json "http://127.0.0.1:$PY_PORT/"
assert_eq 0 "$RC" "exit status against a server closing after each answer"
stop_py closer
read -r received extras active <"$E2E_TMP/closer.count"
assert_eq 200 "$received" "requests the closing server received"
assert_eq 200 "$(jnum closer.json .metrics.http_reqs.values.count)" "brunt's http_reqs against the closing server"
assert_eq 0 "$(jnum closer.json .metrics.http_req_failed.values.rate)" "failed rate (each request sent into a closed socket is re-sent once)"
assert_eq 0 "$(jnum closer.json '[.errors[]] | add')" "errors against the closing server"
assert_ge "$(jnum closer.json .metrics.http_req_retries.values.count)" 1 "http_req_retries (the re-sends are shown)"
assert_le "$(jnum closer.json .metrics.http_req_retries.values.count)" 199 "http_req_retries: at most one per request after the first"
