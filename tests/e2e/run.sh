#!/usr/bin/env bash
# run.sh — the end-to-end test runner: runs the brunt binary as a user would.
#
#   BRUNT=build/brunt tests/e2e/run.sh                 every tests/e2e/test_*.sh
#   BRUNT=build/brunt tests/e2e/run.sh test_run_delay  only these (name or path)
#   E2E_JOBS=2 BRUNT=build/brunt tests/e2e/run.sh      two tests at a time (make e2e)
#
# Each test runs in its own process (bash), in its own temporary directory (also its cwd
# and $E2E_TMP), under `timeout 180` (then SIGKILL 10 s later), so one hung test cannot
# hold up the rest and every process it started dies with it: timeout signals its whole
# process group. Prints `PASS name (Ns)` or `FAIL name` plus the tail of the test's
# output as each test ends, then a last line `e2e: N passed, N failed`; exits 1 when
# any test failed.
#
# Tests whose judgement depends on timing (a rate kept, a latency reported, a stall
# measured) say so with a line `# e2e: timing` in their first 10 lines: they run after
# the others, one at a time, so a neighbour test cannot disturb them.  The others run
# E2E_JOBS at a time (they use free ports and their own directories; nothing is shared);
# those marked `# e2e: long` start first, so the short ones fill the gaps.
#
# Environment: BRUNT (required, the binary), E2E_TIMEOUT (seconds per test, default 180),
# E2E_JOBS (tests at a time, default 1), E2E_KEEP=1 keeps every temp dir (failed tests'
# dirs are always kept and named), E2E_TAIL (lines of output shown on failure, default
# 40).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=${E2E_TIMEOUT:-180}
tail_lines=${E2E_TAIL:-40}
jobs=${E2E_JOBS:-1}
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
    echo "e2e: E2E_JOBS must be a whole number >= 1, got '$jobs'" >&2
    exit 2
fi

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
# The loopback ports free_port (lib.sh) has handed out in this run, so none is given twice.
E2E_PORTS=$(mktemp "${TMPDIR:-/tmp}/brunt-e2e-ports.XXXXXX")
export E2E_PORTS
trap 'rm -f "$E2E_PORTS"' EXIT

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

# start_test PATH: runs one test in the background; its pid and directory are recorded.
declare -A t_name=() t_dir=() t_start=()
start_test() {
    local t=$1 name dir
    name=$(basename "$t" .sh)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/brunt-e2e.$name.XXXXXX")
    (cd "$dir" && E2E_TMP=$dir TMPDIR=$dir exec timeout -k 10 "$limit" bash "$t") \
        </dev/null >"$dir/output.log" 2>&1 &
    t_name[$!]=$name
    t_dir[$!]=$dir
    t_start[$!]=$(date +%s%N)
}

# finish_test PID RC: reports one test that ended.
finish_test() {
    local pid=$1 rc=$2 name=${t_name[$1]} dir=${t_dir[$1]} secs why
    secs=$(( ($(date +%s%N) - t_start[$pid]) / 1000000000 ))
    unset "t_name[$pid]" "t_dir[$pid]" "t_start[$pid]"
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
}

# wait_one: waits for any running test and reports it.
wait_one() {
    local pid rc=0
    wait -n -p pid || rc=$?
    finish_test "$pid" "$rc"
}

# run_tests N PATH...: runs the tests N at a time, reporting each as it ends.
run_tests() {
    local n=$1 t
    shift
    for t in "$@"; do
        while ((${#t_name[@]} >= n)); do
            wait_one
        done
        start_test "$t"
    done
    while ((${#t_name[@]} > 0)); do
        wait_one
    done
}

parallel=()
short=()
timing=()
for t in "${tests[@]}"; do
    if head -n 10 "$t" | grep -q '^# e2e: timing'; then
        timing+=("$t")
    elif head -n 10 "$t" | grep -q '^# e2e: long'; then
        parallel+=("$t")
    else
        short+=("$t")
    fi
done
parallel+=("${short[@]}")
((${#parallel[@]} > 0)) && run_tests "$jobs" "${parallel[@]}"
((${#timing[@]} > 0)) && run_tests 1 "${timing[@]}"

if ((failed > 0)); then
    printf 'failed: %s\n' "${failed_names[*]}"
fi
printf 'e2e: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
