#!/usr/bin/env bash
# bench/report.sh — how long `brunt report` takes on a one-hour result with every
# section (issue 11: under a second), and how big the reports are (HTML under 1 MB,
# Markdown under GitHub's 65,536 characters).
#
# The result is written by bench/gen-result.py: a valid brunt-result/1 document of
# 3,600 one-second rows with per-second probe figures, 20 request names x 3 status codes
# with complete histograms, thresholds, criteria and five probes with findings (about
# 5.6 MB).  Its figures are synthetic; its shape and size are a one-hour run's, and
# rendering time depends on those.  Each format is rendered RUNS times (default 5); the
# median wall time is printed.  Exits 1 when a bound is broken.
#
#   BRUNT=build/brunt bench/report.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
RUNS=${RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/brunt-bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 "$here/gen-result.py" "$work/hour.json" 3600
printf 'result: %s bytes, %s rows\n' "$(wc -c <"$work/hour.json")" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["timeseries"]["rows"]))' "$work/hour.json")"

status=0
for ext in html md xml csv; do
    times=()
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        "$BRUNT" report -q "$work/hour.json" -o "$work/hour.$ext"
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000000)))
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    size=$(wc -c <"$work/hour.$ext")
    printf '%-4s  median %5d ms over %d runs  %9d bytes\n' "$ext" "$median" "$RUNS" "$size"
    if ((median >= 1000)); then
        echo "report: rendering $ext took ${median} ms (bound: 1000 ms)" >&2
        status=1
    fi
done
html=$(wc -c <"$work/hour.html")
chars=$(wc -m <"$work/hour.md")
((html < 1000000)) || { echo "report: HTML is $html bytes (bound: 1 MB)" >&2; status=1; }
((chars < 65536)) || { echo "report: Markdown is $chars characters (bound: 65,536)" >&2; status=1; }
printf 'html %d bytes (< 1,000,000), markdown %d characters (< 65,536)\n' "$html" "$chars"
exit $status
