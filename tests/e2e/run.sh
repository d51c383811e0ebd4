#!/usr/bin/env bash
# run.sh — the end-to-end test runner: runs the brunt binary as a user would.
#
#   BRUNT=build/brunt tests/e2e/run.sh                 every tests/e2e/test_*.sh
#   BRUNT=build/brunt tests/e2e/run.sh test_run_delay  only these (name or path)
#
# Each test runs in its own process (bash), in its own temporary directory (also its cwd
# and $E2E_TMP), under `timeout 180` (then SIGKILL 10 s later), so one hung test cannot
# hold up the rest and every process it started dies with it: timeout signals its whole
# process group. Prints `PASS name (Ns)` or `FAIL name` plus the tail of the test's
# output, then a last line `e2e: N passed, N failed`; exits 1 when any test failed.
#
# Environment: BRUNT (required, the binary), E2E_TIMEOUT (seconds per test, default 180),
# E2E_KEEP=1 keeps every temp dir (failed tests' dirs are always kept and named),
# E2E_TAIL (lines of output shown on failure, default 40).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=${E2E_TIMEOUT:-180}
tail_lines=${E2E_TAIL:-40}

if [[ -z ${BRUNT:-} ]]; then
    echo "e2e: set BRUNT to the brunt binary (make e2e does)" >&2
    exit 2
fi
if [[ ! -x $BRUNT ]]; then
    echo "e2e: BRUNT=$BRUNT is not an executable file" >&2
    exit 2
fi
BRUNT=$(cd "$(dirname "$BRUNT")" && pwd)/$(basename "$BRUNT")
export BRUNT E2E_DIR=$here

for tool in curl jq python3 timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "e2e: '$tool' is needed (scripts/setup.sh installs it)" >&2
        exit 2
    fi
done

tests=()
if (($# > 0)); then
    for arg in "$@"; do
        name=$(basename "$arg" .sh)
        if [[ ! -f $here/$name.sh ]]; then
            echo "e2e: no such test: $arg (looked for $here/$name.sh)" >&2
            exit 2
        fi
        tests+=("$here/$name.sh")
    done
else
    shopt -s nullglob
    tests=("$here"/test_*.sh)
    shopt -u nullglob
fi
if ((${#tests[@]} == 0)); then
    echo "e2e: no tests found in $here" >&2
    exit 2
fi

# Raise the soft fd limit for the tests (brunt raises its own, but the target and helper
# tools inherit ours); no core files in CI.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -c 0 2>/dev/null || true

passed=0
failed=0
failed_names=()
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/brunt-e2e.$name.XXXXXX")
    start=$(date +%s%N)
    (cd "$dir" && E2E_TMP=$dir TMPDIR=$dir exec timeout -k 10 "$limit" bash "$t") \
        </dev/null >"$dir/output.log" 2>&1
    rc=$?
    secs=$(( ($(date +%s%N) - start) / 1000000000 ))
    if ((rc == 0)); then
        passed=$((passed + 1))
        printf 'PASS %s (%ss)\n' "$name" "$secs"
        [[ ${E2E_KEEP:-0} == 1 ]] || rm -rf "$dir"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        why="exit $rc"
        ((rc == 124 || rc == 137)) && why="timed out after ${limit}s"
        printf 'FAIL %s (%s, %ss; files kept in %s)\n' "$name" "$why" "$secs" "$dir"
        tail -n "$tail_lines" "$dir/output.log" | sed 's/^/    | /'
    fi
done

if ((failed > 0)); then
    printf 'failed: %s\n' "${failed_names[*]}"
fi
printf 'e2e: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
