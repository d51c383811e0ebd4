#!/usr/bin/env bash
# Issue 2, item 3: IPv6 targets, and pipelining (--pipeline N) with exact counts — the
# server must see exactly what brunt reports, whatever the transport or the depth.
. "$(dirname "$0")/lib.sh"

# The server on ::1, brunt connecting to the bracketed literal.
start_target --host ::1
case "$TARGET_URL" in
http://\[::1\]:*) ;;
*) fail "brunt serve --host ::1 listened on '$TARGET_URL', expected http://[::1]:PORT" ;;
esac
brunt_run v6 -q -c 4 -n 2000 --export v6.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status over IPv6"
assert_eq 2000 "$(jnum v6.json .metrics.http_reqs.values.count)" "brunt's http_reqs over IPv6"
assert_eq 2000 "$(stats_requests)" "requests the server saw over IPv6"
stop_target

# Pipelining: 8 requests in flight per connection; -n 1003 is not a multiple of 8, so
# the last batch is short.
start_target
brunt_run pipe -q -c 4 -t 1 -n 1003 --pipeline 8 --export pipe.json "$TARGET_URL/"
assert_eq 0 "$RC" "exit status with --pipeline 8"
assert_eq 1003 "$(jnum pipe.json .metrics.http_reqs.values.count)" "brunt's http_reqs with --pipeline 8"
assert_eq 0 "$(jnum pipe.json .metrics.http_req_failed.values.rate)" "failed rate with --pipeline 8"
assert_eq 1003 "$(stats_requests)" "requests the server saw with --pipeline 8"
stop_target
