#!/usr/bin/env bash
# Issue 9, item 1: https:// against a real nginx with certificates this test makes.
# Ground truth is nginx's own access log (one line per request it answered, with
# $connection and $ssl_session_reused); the verification failures use an expired, a
# self-signed and a wrong-name certificate, and one signed by a CA brunt is not told of.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || fail "nginx is not installed (scripts/setup.sh: nginx-light)"
T=$E2E_TMP

# --- certificates: a CA, a good server cert, expired, self-signed, wrong name ----------
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
san="subjectAltName=IP:127.0.0.1,DNS:localhost"
key "$T/ca.key"
openssl req -x509 -new -key "$T/ca.key" -out "$T/ca.crt" -days 2 -subj /CN=brunt-test-ca 2>/dev/null
# signed NAME DAYS SAN: a server certificate signed by the test CA
signed() {
    key "$T/$1.key"
    openssl req -new -key "$T/$1.key" -out "$T/$1.csr" -subj /CN=localhost 2>/dev/null
    openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -set_serial "$RANDOM" \
        -days "$2" -extfile <(printf '%s\n' "$3") -out "$T/$1.crt" 2>/dev/null
}
signed good 2 "$san"
signed expired -1 "$san" # notAfter a day before now
signed wrong 2 "subjectAltName=DNS:wrong.example,IP:10.9.9.9"
signed client 2 "extendedKeyUsage=clientAuth"
key "$T/self.key"
openssl req -x509 -new -key "$T/self.key" -out "$T/self.crt" -days 2 -subj /CN=localhost \
    -addext "$san" 2>/dev/null
for c in good expired wrong self client; do [[ -s $T/$c.crt ]] || fail "openssl made no $c.crt"; done

# --- nginx: one server per certificate, on free loopback ports ---------------------------
P_GOOD=$(free_port)
P_EXP=$(free_port)
P_WRONG=$(free_port)
P_SELF=$(free_port)
P_MTLS=$(free_port) # asks for a client certificate signed by the test CA
P_SWAP=$(free_port) # starts good; the runtime test swaps in the expired certificate
P_TLS12=$(free_port) # the good certificate, TLS 1.2 only
cp "$T/good.crt" "$T/swap.crt"
cp "$T/good.key" "$T/swap.key"
mkdir -p "$T/nginx"
server() { # PORT CERT LOG
    cat <<CONF
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $T/$2.crt;
        ssl_certificate_key $T/$2.key;
        access_log $T/$3.log tls;
        location / { return 200 "hello over tls\n"; }
        # gzip leaves the length unknown and chunked is off: the body ends with the
        # connection (close_notify, then FIN)
        location /eof {
            gzip on; gzip_min_length 1; gzip_types text/plain; default_type text/plain;
            chunked_transfer_encoding off;
            return 200 "hello over tls, to the end of the connection\n";
        }
    }
CONF
}
{
    nginx_head "$T"
    cat <<CONF
    log_format tls '\$connection \$connection_requests \$ssl_session_reused \$ssl_protocol \$status \$ssl_server_name \$ssl_alpn_protocol';
    log_format mtls '\$connection \$status \$ssl_client_verify';
    keepalive_requests 100000;
    ssl_session_cache shared:brunt:1m;
    ssl_protocols TLSv1.2 TLSv1.3;
CONF
    server "$P_GOOD" good good
    server "$P_EXP" expired expired
    server "$P_WRONG" wrong wrong
    server "$P_SELF" self self
    server "$P_SWAP" swap swap
    server "$P_TLS12" good tls12 | sed 's|^\( *\)ssl_certificate_key.*|&\n\1ssl_protocols TLSv1.2;|'
    cat <<CONF
    server {
        listen 127.0.0.1:$P_MTLS ssl;
        ssl_certificate $T/good.crt;
        ssl_certificate_key $T/good.key;
        ssl_client_certificate $T/ca.crt;
        ssl_verify_client on;
        access_log $T/mtls.log mtls;
        location / { return 200 "hello, \$ssl_client_s_dn\n"; }
    }
CONF
    echo "}"
} >"$T/nginx.conf"
start_nginx "$T" "https://127.0.0.1:$P_SWAP/" -k
: >"$T/swap.log"

# nonzero FILE: samples of http_req_tls_handshaking above 0 (histogram count less the
# zero bucket).
nonzero() {
    jq '.metrics.http_req_tls_handshaking.histogram as $h
        | $h.count - ([$h.buckets[] | select(.[0] == 0) | .[1]] | add // 0)' "$1"
}

# lines FILE: lines of an access log, once nginx has written them all (bounded polling:
# the count must equal EXPECTED or stop growing).
lines() {
    local n prev=-1 i
    for ((i = 0; i < 50; i++)); do
        n=$(wc -l <"$1")
        [[ $n == "${2:-x}" || $n == "$prev" ]] && break
        prev=$n
        sleep 0.05
    done
    echo "$n"
}

# --- 1. counts equal nginx's, keep-alive: one handshake per connection --------------------
brunt_run good -q -c 3 -t 1 -d 1s --cacert "$T/ca.crt" --export good.json "https://127.0.0.1:$P_GOOD/"
assert_eq 0 "$RC" "exit status with --cacert"
reqs=$(jnum good.json '.metrics.http_reqs.values.count')
assert_ge "$reqs" 10 "requests over TLS in 1 s"
assert_eq "$reqs" "$(lines "$T/good.log" "$reqs")" "brunt's http_reqs = nginx's access log lines"
assert_eq 0 "$(jnum good.json '.errors | add')" "errors over TLS with --cacert"
conns=$(awk '{print $1}' "$T/good.log" | sort -u | wc -l)
assert_eq 3 "$conns" "connections nginx saw (keep-alive, -c 3)"
grep -q ' TLSv1.3 200 - http/1.1$' "$T/good.log" ||
    fail "nginx did not log TLSv1.3 and ALPN http/1.1: $(head -3 "$T/good.log")"
assert_eq 0 "$(awk '$7 != "http/1.1"' "$T/good.log" | wc -l)" "connections without ALPN http/1.1"
hs=$(nonzero good.json)
assert_eq "$conns" "$hs" "http_req_tls_handshaking samples > 0 = connections"
assert_eq "$conns" "$(jnum good.json '.metrics.tls_handshakes.values.count')" \
    "tls_handshakes = the connections nginx saw"
assert_eq 0 "$(jnum good.json '.metrics.tls_resumed.values.count // 0')" \
    "tls_resumed on first connections (nginx: $(awk '$3 == "r"' "$T/good.log" | wc -l))"
hs_max=$(jnum good.json '.metrics.http_req_tls_handshaking.values.max')
assert_lt 0 "$hs_max" "the longest TLS handshake (ms)"

# --- 2. session resumption when VUs reconnect (Connection: close: one request each) ------
brunt_run resume -q -c 2 -t 1 -n 40 -H 'Connection: close' --cacert "$T/ca.crt" \
    --export resume.json "https://localhost:$P_GOOD/"
assert_eq 0 "$RC" "exit status with Connection: close"
: # 40 requests on 40 connections; the first of each VU cannot resume (no session yet)
before=$reqs
total=$(lines "$T/good.log" $((before + 40)))
assert_eq $((before + 40)) "$total" "nginx lines after the reconnecting run"
reused=$(tail -n 40 "$T/good.log" | awk '$3 == "r"' | wc -l)
assert_ge "$reused" 38 "connections nginx saw resume a TLS session (of 40; 2 VUs)"
assert_eq 40 "$(jnum resume.json '.metrics.tls_handshakes.values.count')" "tls_handshakes, one a request"
assert_eq "$reused" "$(jnum resume.json '.metrics.tls_resumed.values.count')" \
    "tls_resumed = the resumptions nginx logged"
sni=$(tail -n 40 "$T/good.log" | awk '$6 == "localhost"' | wc -l)
assert_eq 40 "$sni" "connections that sent SNI localhost (https://localhost)"
assert_eq 0 "$(awk 'NR <= '"$before"' && $6 != "-"' "$T/good.log" | wc -l)" "SNI sent for an IP literal"
hs=$(nonzero resume.json)
assert_eq 40 "$hs" "a handshake per request when every request reconnects"

# --- 2a. resumption when each body ends with the connection ------------------------------
# The client reads to the server's close_notify: an orderly end that must leave the
# session resumable (OpenSSL drops the session of a connection freed without a
# close_notify sent back; brunt once took the peer's for a broken connection: 0 of 40)
before=$(wc -l <"$T/good.log")
brunt_run eof -q -c 2 -t 1 -n 40 -H 'Accept-Encoding: gzip' --cacert "$T/ca.crt" \
    --export eof.json "https://localhost:$P_GOOD/eof"
assert_eq 0 "$RC" "exit status with close-delimited bodies"
assert_eq 40 "$(jnum eof.json '.metrics.http_reqs.values.count')" "requests with close-delimited bodies"
assert_eq 0 "$(jnum eof.json '.errors | add')" "errors with close-delimited bodies"
assert_eq $((before + 40)) "$(lines "$T/good.log" $((before + 40)))" "nginx lines after the close-delimited run"
assert_eq 40 "$(tail -n 40 "$T/good.log" | awk '$5 == 200 && $2 == 1' | wc -l)" \
    "200s nginx sent, one per connection"
reused=$(tail -n 40 "$T/good.log" | awk '$3 == "r"' | wc -l)
assert_ge "$reused" 38 "connections resumed when bodies end with the connection (of 40; 2 VUs)"
assert_eq "$reused" "$(jnum eof.json '.metrics.tls_resumed.values.count')" \
    "tls_resumed = the resumptions nginx logged (close-delimited bodies)"

# TLS 1.2: a session is resumed again and again (brunt takes a TLS 1.3 ticket once, a
# TLS 1.2 session as often as the server accepts it)
brunt_run tls12 -q -c 2 -t 1 -n 40 -H 'Connection: close' --cacert "$T/ca.crt" \
    --export tls12.json "https://localhost:$P_TLS12/"
assert_eq 0 "$RC" "exit status over TLS 1.2"
assert_eq 40 "$(lines "$T/tls12.log" 40)" "nginx lines of the TLS 1.2 run"
assert_eq 40 "$(awk '$4 == "TLSv1.2" && $5 == 200' "$T/tls12.log" | wc -l)" "TLS 1.2 200s nginx logged"
reused=$(awk '$3 == "r"' "$T/tls12.log" | wc -l)
assert_ge "$reused" 38 "TLS 1.2 connections resumed (of 40; 2 VUs)"
assert_eq "$reused" "$(jnum tls12.json '.metrics.tls_resumed.values.count')" \
    "tls_resumed = the TLS 1.2 resumptions nginx logged"

# --- 2b. a scenario file: https base_url, options.cacert relative to the file ------------
mkdir -p "$T/scen"
cp "$T/ca.crt" "$T/scen/ca.pem"
cat >"$T/scen/tls.yaml" <<YAML
base_url: https://localhost:$P_GOOD
options:
  cacert: ca.pem
scenarios:
  s:
    executor: per-vu-iterations
    vus: 3
    iterations: 5
    flow:
      - request: GET /a
        check: [status == 200]
YAML
before=$(wc -l <"$T/good.log")
brunt_run scen -q --export scen.json "$T/scen/tls.yaml"
assert_eq 0 "$RC" "exit status of the https scenario file"
assert_eq 15 "$(jnum scen.json '.metrics.http_reqs.values.count')" "requests of the scenario file"
assert_eq $((before + 15)) "$(lines "$T/good.log" $((before + 15)))" "nginx lines after the scenario file"
sed -i 's/^  cacert: ca.pem$/  insecure: false/' "$T/scen/tls.yaml"
brunt_run scen_noca -q "$T/scen/tls.yaml"
assert_eq 3 "$RC" "exit status of the scenario file without its cacert"
assert_one_line "$T/scen_noca.err" "stderr of the scenario file without its cacert"

# --- 3. verification failures at the probe: one line, exit 3, the reason ----------------
probe_fail() { # NAME URL PATTERN [FLAGS...]
    local name=$1 url=$2 pat=$3
    shift 3
    brunt_run "$name" -q -c 1 -d 1s "$@" "$url"
    assert_eq 3 "$RC" "exit status: $name"
    assert_one_line "$T/$name.err" "stderr: $name"
    grep -qi "$pat" "$T/$name.err" || fail "$name: the error does not say '$pat': $(cat "$T/$name.err")"
}
probe_fail issuer "https://127.0.0.1:$P_GOOD/" "issuer is unknown"
probe_fail expired "https://127.0.0.1:$P_EXP/" "expired" --cacert "$T/ca.crt"
probe_fail wrongname "https://127.0.0.1:$P_WRONG/" "does not match" --cacert "$T/ca.crt"
probe_fail selfsigned "https://127.0.0.1:$P_SELF/" "self-signed" --cacert "$T/ca.crt"
probe_fail byname "https://localhost:$P_WRONG/" "does not match" --cacert "$T/ca.crt"

# --- 4. --insecure against the self-signed certificate ----------------------------------
brunt_run insecure -q -c 2 -t 1 -n 20 --insecure --export insecure.json "https://127.0.0.1:$P_SELF/"
assert_eq 0 "$RC" "exit status with --insecure against a self-signed certificate"
assert_eq 20 "$(jnum insecure.json '.metrics.http_reqs.values.count')" "requests with --insecure"
assert_eq 20 "$(lines "$T/self.log" 20)" "nginx lines with --insecure"

# --- 5. bad TLS settings are bad input (exit 2, one line) --------------------------------
brunt_run badca -q -c 1 -d 1s --cacert "$T/missing.pem" "https://127.0.0.1:$P_GOOD/"
assert_eq 2 "$RC" "exit status for an unreadable --cacert"
assert_one_line "$T/badca.err" "stderr for an unreadable --cacert"
brunt_run badkey -q -c 1 -d 1s --cacert "$T/ca.crt" --cert "$T/good.crt" --key "$T/self.key" \
    "https://127.0.0.1:$P_GOOD/"
assert_eq 2 "$RC" "exit status for a key that does not match --cert"
assert_one_line "$T/badkey.err" "stderr for a mismatched --key"

# --- 5b. a client certificate (mutual TLS) --------------------------------------------
brunt_run mtls -q -c 2 -t 1 -n 20 --cacert "$T/ca.crt" --cert "$T/client.crt" \
    --key "$T/client.key" --export mtls.json "https://127.0.0.1:$P_MTLS/"
assert_eq 0 "$RC" "exit status with --cert/--key"
assert_eq 20 "$(lines "$T/mtls.log" 20)" "nginx lines with a client certificate"
assert_eq 20 "$(awk '$2 == 200 && $3 == "SUCCESS"' "$T/mtls.log" | wc -l)" \
    "requests nginx answered 200 with a verified client certificate"
assert_eq 0 "$(jnum mtls.json '.metrics.http_req_failed.values.passes')" "failed requests with --cert"
brunt_run nocert -q -c 1 -t 1 -n 5 --cacert "$T/ca.crt" --export nocert.json \
    "https://127.0.0.1:$P_MTLS/"
assert_eq 5 "$(awk '$2 == 400 && $3 == "NONE"' "$T/mtls.log" | wc -l)" \
    "nginx refused (400) the requests without a client certificate"
assert_eq 5 "$(jnum nocert.json '.metrics.http_req_failed.values.passes')" \
    "brunt counts them failed"

# --- 6. a failure during the run is counted by its kind ----------------------------------
# Connection: close makes every request a new handshake; once the first request is in
# nginx's log, the certificate becomes the expired one (nginx -s reload).
timeout -k 5 60 "$BRUNT" run -q -c 1 -t 1 -d 4s -H 'Connection: close' --cacert "$T/ca.crt" \
    --export swap.json "https://127.0.0.1:$P_SWAP/" >swap.out 2>swap.err &
BPID=$!
for ((i = 0; i < 100; i++)); do
    [[ -s $T/swap.log ]] && break
    sleep 0.05
done
[[ -s $T/swap.log ]] || fail "no request reached nginx within 5 s"
cp "$T/expired.crt" "$T/swap.crt"
cp "$T/expired.key" "$T/swap.key"
kill -HUP "$(cat "$T/nginx.pid")"
wait_exit "$BPID" 30
assert_eq 0 "$WAIT_RC" "exit status of the run whose certificate expired midway"
reqs=$(jnum swap.json '.metrics.http_reqs.values.count') # http_reqs counts failures too
exp=$(jnum swap.json '.errors.tls_expired')
ok=$((reqs - exp))
assert_eq "$ok" "$(lines "$T/swap.log" "$ok")" "answered requests = nginx's lines (swap)"
assert_ge "$exp" 1 "tls_expired errors after the swap"
other=$(jq '[.errors | to_entries[] | select(.key != "tls_expired") | .value] | add' swap.json)
assert_eq 0 "$other" "errors of other kinds in the swap run"
grep -q "tls_expired" swap.out || fail "the summary does not list tls_expired: $(cat swap.out)"
log "ok: the summary lists the tls_expired errors: $(grep tls_expired swap.out | head -1)"
