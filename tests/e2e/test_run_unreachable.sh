#!/usr/bin/env bash
# Issue 2, 10g: a target that is down at start (nothing listens on the port) or a host
# that does not resolve: brunt says so in one line and exits 3 quickly, even when asked
# for a 30 s run.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
t0=$(now_ms)
brunt_run refused -q -c 4 -d 30s "http://127.0.0.1:$port/"
elapsed=$(($(now_ms) - t0))
assert_eq 3 "$RC" "exit status against a closed port"
assert_one_line "$E2E_TMP/refused.err" "stderr against a closed port"
assert_le "$elapsed" 15000 "ms until brunt gave up on a closed port"

# The same with the open model: scheduled iterations must not keep it alive.
t0=$(now_ms)
brunt_run refused_open -q -R 100 -d 30s "http://127.0.0.1:$port/"
elapsed=$(($(now_ms) - t0))
assert_eq 3 "$RC" "exit status against a closed port (open model)"
assert_one_line "$E2E_TMP/refused_open.err" "stderr against a closed port (open model)"
assert_le "$elapsed" 15000 "ms until brunt gave up on a closed port (open model)"

# .invalid never resolves (RFC 6761).
t0=$(now_ms)
brunt_run dns -q -c 2 -d 30s "http://no-such-host.invalid/"
elapsed=$(($(now_ms) - t0))
assert_eq 3 "$RC" "exit status for an unresolvable host"
assert_one_line "$E2E_TMP/dns.err" "stderr for an unresolvable host"
assert_le "$elapsed" 15000 "ms until brunt gave up on an unresolvable host"

# Without -q as well: still exactly one line of error, not a progress stream.
brunt_run refused_loud -c 1 -d 30s "http://127.0.0.1:$port/"
assert_eq 3 "$RC" "exit status against a closed port without -q"
grep -qi "127.0.0.1:$port\|refused\|unreachable" refused_loud.err ||
    fail "the error does not say what was unreachable: $(cat refused_loud.err)"
