#!/usr/bin/env bash
# `brunt demo --tls` (issue 9, item 4): the demo over HTTPS, bounded (60 s). The target
# serves a throwaway self-signed certificate the demo made with OpenSSL's API, the run
# trusts it as --cacert would (verification on: no failed request, a TLS handshake per
# connection), and the certificate's directory is gone afterwards. Ground truth: the
# target's own request count (its GET /__stats over TLS, which the demo prints) equals
# brunt's http_reqs exactly (over TLS the ready check only connects: no request).
# The directory is made in $TMPDIR (here one with a space and a quote in its name, which
# the target's command line must quote), and a TMPDIR too long for a path is refused.
. "$(dirname "$0")/lib.sh"

tmp="$PWD/tmp dir's"
mkdir "$tmp"
before=$(ls -d /tmp/brunt-demo-tls.* 2>/dev/null || true)
rc=0
TMPDIR=$tmp timeout -k 5 60 "$BRUNT" demo --tls -q --no-report --export demo.json >demo.out 2>demo.err || rc=$?
_E2E_LAST_RUN=demo
assert_eq 0 "$rc" "brunt demo --tls's exit status"
grep -q "^brunt demo: built-in target on https://127.0.0.1:[0-9]* as PID" demo.err ||
    fail "the demo's target is not on https://: $(cat demo.err)"
cert=$(sed -n 's/^brunt demo: over HTTPS with a throwaway self-signed certificate (\(.*\)), trusted.*/\1/p' demo.err)
[[ $cert == "$tmp"/brunt-demo-tls.*/cert.pem ]] || fail "the demo does not name its certificate in \$TMPDIR ($tmp): $(cat demo.err)"
pid=$(sed -n 's/^brunt demo: built-in target on .* as PID \([0-9]*\) .*/\1/p' demo.err)
if alive "$pid"; then
    fail "the demo's target (PID $pid) still runs after the demo"
fi
served=$(sed -n 's/^brunt demo: the target served \([0-9]*\) requests; auction invariant holds.*/\1/p' demo.err)
[[ -n $served ]] || fail "no served count (GET /__stats over TLS) or a broken invariant: $(cat demo.err)"
made=$(jnum demo.json '.metrics.http_reqs.values.count')
log "brunt demo --tls: $made requests made, $served served by the target"
assert_ge "$made" 100 "requests the demo made over TLS"
assert_eq "$served" "$made" "served over TLS = made"
assert_eq 0 "$(jnum demo.json '.metrics.http_req_failed.values.passes // 0')" "no failed request: the certificate verified"
hs=$(jnum demo.json '.metrics.http_req_tls_handshaking.values.count')
assert_eq "$made" "$hs" "every request has its TLS handshaking time"
# The throwaway certificate and its directory are gone.
[[ ! -e $cert ]] || fail "the demo left its certificate at $cert"
after=$(ls -d /tmp/brunt-demo-tls.* 2>/dev/null || true)
left=$(comm -13 <(echo "$before") <(echo "$after"))
[[ -z $left ]] || fail "brunt demo --tls left behind in /tmp: $left"
left=$(ls -A "$tmp")
[[ -z $left ]] || fail "brunt demo --tls left behind in \$TMPDIR: $left"

# A TMPDIR longer than a path can be: a clear error before anything starts.
long=/$(printf 'd%.0s' {1..4100})
rc=0
TMPDIR=$long timeout -k 5 20 "$BRUNT" demo --tls -q --no-report >long.out 2>long.err || rc=$?
_E2E_LAST_RUN=long
assert_eq 1 "$rc" "brunt demo --tls with a too-long TMPDIR: its exit status"
grep -q "^brunt demo: TMPDIR is too long" long.err || fail "no clear error for a too-long TMPDIR: $(cat long.err)"
