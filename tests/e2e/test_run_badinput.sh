#!/usr/bin/env bash
# Issue 2, "Bad input": usage errors exit 2 with exactly one line on stderr, no crash, no
# request sent, no hang.
. "$(dirname "$0")/lib.sh"

start_target
url="$TARGET_URL/"
i=0
check_usage() {
    i=$((i + 1))
    brunt_run "bad$i" "$@"
    assert_eq 2 "$RC" "exit status of: brunt run $*"
    assert_one_line "$E2E_TMP/bad$i.err" "stderr of: brunt run $*"
    [[ ! -e core && -z $(ls core.* 2>/dev/null) ]] || fail "a core file appeared after: brunt run $*"
}

check_usage --no-such-flag "$url"
check_usage -d 10x "$url"
check_usage -d '' "$url"
check_usage -d -5s "$url"
check_usage ftp://x
check_usage 'http://'
check_usage 'not a url'
check_usage -c 0 "$url"
check_usage -c abc "$url"
check_usage -n -1 "$url"
check_usage -t 0 "$url"
check_usage -R 0 "$url"
check_usage -R fast "$url"
check_usage --threshold 'http_req_duration:p(95)<' "$url"
check_usage --pipeline 0 "$url"
check_usage --timeout 10x "$url"
check_usage -d                      # flag without its value
check_usage                         # no URL
check_usage "$url" "$url"           # two URLs
check_usage --body-file "$E2E_TMP/does-not-exist" "$url"

# Issue 7 item 8: framing headers are brunt's to write, in quick mode as in scenario files.
check_usage -n 5 -H 'Content-Length: 99' "$url"
grep -q "header 'Content-Length' is set by brunt" "$E2E_TMP/bad$i.err" ||
    fail "the Content-Length refusal does not say why: $(cat "$E2E_TMP/bad$i.err")"
check_usage -n 5 -H 'Transfer-Encoding: chunked' "$url"
grep -q "header 'Transfer-Encoding' is set by brunt" "$E2E_TMP/bad$i.err" ||
    fail "the Transfer-Encoding refusal does not say why: $(cat "$E2E_TMP/bad$i.err")"
check_usage -n 5 -m POST -b hello -H 'content-length: 99' -H 'Transfer-Encoding: chunked' "$url"

# Unknown subcommand: usage error too.
rc=0
"$BRUNT" no-such-command >nosub.out 2>nosub.err || rc=$?
assert_eq 2 "$rc" "exit status of: brunt no-such-command"
assert_one_line "$E2E_TMP/nosub.err" "stderr of: brunt no-such-command"

assert_eq 0 "$(stats_requests)" "requests sent by runs with bad input"

# help and version are not errors.
rc=0
"$BRUNT" run --help >help.out 2>help.err || rc=$?
assert_eq 0 "$rc" "exit status of: brunt run --help"
grep -q -- '--rate' help.out || fail "brunt run --help does not list --rate on stdout"
rc=0
"$BRUNT" version >version.out 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of: brunt version"
stop_target
