#!/usr/bin/env bash
# Issue 9, item 4: `brunt serve --tls-cert --tls-key` answers HTTPS, so brunt can run
# against brunt over TLS. A throwaway CA and server certificate are made here; curl
# checks the server presents that certificate; brunt's http_reqs must equal the
# server's own count (GET /__stats over TLS), and its TLS handshakes the connections.
# Bad certificate or key: one line, exit 2.
. "$(dirname "$0")/lib.sh"
T=$E2E_TMP

test_cert "$T" 4242
test_key "$T/other.key"

# --- bad input: one line each, exit 2, before listening ------------------------------------
bad() { # NAME EXPECTED_SUBSTRING ARGS...
    local name=$1 want=$2 rc=0
    shift 2
    timeout 10 "$BRUNT" serve --port 0 "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    assert_eq 2 "$rc" "serve $name: exit code"
    assert_one_line "$T/$name.err" "serve $name"
    grep -qF -- "$want" "$T/$name.err" || fail "serve $name: expected '$want' in: $(cat "$T/$name.err")"
    [[ ! -s $T/$name.out ]] || fail "serve $name printed on stdout: $(cat "$T/$name.out")"
}
bad cert-alone "--tls-cert and --tls-key go together" --tls-cert "$T/srv.crt"
bad cert-missing "--tls-cert '$T/nope.crt': cannot read it" --tls-cert "$T/nope.crt" --tls-key "$T/srv.key"
bad cert-not-pem "--tls-cert '$T/srv.key'" --tls-cert "$T/srv.key" --tls-key "$T/srv.key"
bad key-mismatch "--tls-key '$T/other.key'" --tls-cert "$T/srv.crt" --tls-key "$T/other.key"

# --- the server over TLS ----------------------------------------------------------------------
start_target --tls-cert "$T/srv.crt" --tls-key "$T/srv.key"
[[ $TARGET_URL == https://127.0.0.1:* ]] || fail "the listening line says $TARGET_URL, expected https://"
TARGET_CACERT=$T/ca.crt

# curl verifies the chain against our CA and the name 127.0.0.1, and says what it got.
curl -sS --fail --max-time 5 --cacert "$T/ca.crt" -v "$TARGET_URL/health" >"$T/curl.out" 2>"$T/curl.err" ||
    fail "curl --cacert over https failed: $(tail -5 "$T/curl.err")"
assert_eq "ok" "$(cat "$T/curl.out")" "GET /health over TLS"
grep -q "ALPN: server accepted http/1.1\|ALPN, server accepted to use http/1.1" "$T/curl.err" ||
    fail "the server did not choose http/1.1 by ALPN: $(grep -i alpn "$T/curl.err")"
serial=$(openssl s_client -connect "127.0.0.1:$TARGET_PORT" -CAfile "$T/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial)
assert_eq "serial=1092" "$serial" "the server presents the test's certificate (serial 4242)"
# Plain curl (the system store) must refuse it: the certificate is really checked.
rc=0
curl -sS --max-time 5 "$TARGET_URL/health" >/dev/null 2>&1 || rc=$?
assert_eq 60 "$rc" "curl without --cacert refuses the unknown issuer"

curl -sS --fail --max-time 5 --cacert "$T/ca.crt" -X POST "$TARGET_URL/__reset" >/dev/null ||
    fail "POST /__reset over TLS failed"
brunt_run load -c 8 -d 3s --cacert "$T/ca.crt" "$TARGET_URL/" --export "$T/load.json"
assert_eq 0 "$RC" "brunt run over TLS against brunt serve"
reqs=$(jnum "$T/load.json" '.metrics.http_reqs.values.count')
assert_ge "$reqs" 100 "brunt sent requests over TLS"
assert_eq "$reqs" "$(stats_requests)" "brunt's http_reqs = the server's requests"
assert_eq "$reqs" "$(stats_get '.by_status["200"]')" "every request answered 200"
failed=$(jnum "$T/load.json" '.metrics.http_req_failed.values.passes // 0')
assert_eq 0 "$failed" "no failed requests"
# Every connection brunt opened shook hands once (the curl calls above added two, and
# the /__stats reads one each).
hs=$(stats_get '.tls.handshakes')
conns=$(stats_get '.connections_accepted')
assert_eq 0 "$(stats_get '.tls.failed')" "no failed handshakes"
assert_ge "$hs" 8 "a handshake per connection brunt opened"
assert_le "$hs" "$conns" "handshakes <= connections accepted"

# A plain-HTTP client gets no answer from an HTTPS port (the handshake fails, counted).
before=$(stats_get '.tls.failed')
curl -sS --max-time 5 "http://127.0.0.1:$TARGET_PORT/health" >/dev/null 2>&1 && fail "plain HTTP was answered"
assert_eq $((before + 1)) "$(stats_get '.tls.failed')" "a plain-HTTP request is a failed handshake"

assert_target_alive
stop_target
