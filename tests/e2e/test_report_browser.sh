#!/usr/bin/env bash
# Issue 11, item 3: the HTML report of a real run (the auction example: two request
# names, thresholds) opened in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from tests/browser/, which scripts/setup.sh installs with npm ci): no
# console error, no network request, every chart drew (uPlot's canvases with scripts on,
# the inline SVGs with JavaScript disabled), the figures on the page equal the result
# file's; the screenshots are kept as report.png and report-noscript.png in the test's
# directory (E2E_KEEP=1).  Also: the page stays under 1 MB and loads nothing external.
. "$(dirname "$0")/lib.sh"

browser_dir=$E2E_DIR/../browser
[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || fail "chromium is not installed (scripts/setup.sh)"
[[ -d $browser_dir/node_modules/playwright-core ]] ||
    fail "playwright-core is not installed: run scripts/setup.sh (npm ci in tests/browser)"

start_target
export BASE_URL=$TARGET_URL RAMP=1s HOLD=2s VUS=6
brunt_run run -q --export r.json --report r.html "$E2E_DIR/../../examples/auction-bidding.yaml"
assert_eq 0 "$RC" "exit status"
stop_target
size=$(wc -c <r.html)
assert_lt "$size" 1000000 "HTML bytes"
grep -qE '<(script|link|img)[^>]* src=|<link ' r.html && fail "the report loads an external resource"

RC=0
timeout -k 5 90 node "$browser_dir/report.mjs" r.html r.json "$E2E_TMP" >browser.out 2>&1 || RC=$?
cat browser.out
assert_eq 0 "$RC" "browser checks"
[[ -s report.png ]] || fail "no screenshot"
