#!/usr/bin/env bash
# run.sh — `make bench`: brunt against wrk on the same nginx, on loopback.
#
# nginx (one worker, keep-alive, no access log, a small static body on /) runs pinned to
# core 0; each load generator runs alone, pinned to core 1, with one thread and 64
# connections (closed model) for BENCH_SECONDS (default 10). Rounds alternate which tool
# goes first (BENCH_ROUNDS, default 3). Each tool's req/s comes from its own report (wrk:
# "Requests/sec"; brunt: --export JSON .metrics.http_reqs.values.rate); CPU time is the
# generator process's user+system time from getrusage(RUSAGE_CHILDREN) around it.
# Then an open-model check: brunt alone at 20,000 req/s on one thread.
#
# Prints each round, the medians, the ratio brunt/wrk and CPU-µs per request, and the
# verdict against the bars of issue 2. Exit status: 0 when it ran (whatever the figures),
# 1 when something needed is missing or a tool failed. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}
OPEN_RATE=${BENCH_RATE:-20000}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx wrk jq python3 taskset curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] && ((SECONDS_PER_RUN > 0)) || die "BENCH_SECONDS must be a whole number of seconds"

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-bench
port=$(bench_free_port)
url="http://127.0.0.1:$port/"
bench_nginx_static "listen 127.0.0.1:$port;" "$url"

# run_wrk ROUND: prints "req/s requests cpu_us"
run_wrk() {
    local out=$work/wrk.$1.txt rps reqs cpu
    bench_cpu_run "$work/wrk.$1.cpu" "${PIN_GEN[@]}" wrk -t 1 -c "$CONNS" -d "${SECONDS_PER_RUN}s" "$url" \
        >"$out" 2>&1 || die "wrk failed: $(tail -5 "$out")"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    cpu=$(cat "$work/wrk.$1.cpu")
    [[ -n $rps && -n $reqs ]] || die "could not read wrk's output: $(cat "$out")"
    if grep -q 'Socket errors\|Non-2xx' "$out"; then
        printf 'bench: note: wrk reported errors in round %s: %s\n' "$1" \
            "$(grep 'Socket errors\|Non-2xx' "$out" | tr -s ' ')" >&2
    fi
    echo "$rps $reqs $cpu"
}

# run_brunt ROUND: prints "req/s requests cpu_us"
run_brunt() { bench_brunt "$1" -c "$CONNS" "$url"; }

printf 'brunt bench: %s against %s on %s (%s)\n' "$("$BRUNT" version 2>/dev/null | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections, %d s per run, %d rounds (order alternates)\n\n' \
    "$CONNS" "$SECONDS_PER_RUN" "$ROUNDS"
bench_rounds "$ROUNDS" wrk

m_wrk=$(bench_median "${BENCH_RPS_peer[@]}")
m_brunt=$(bench_median "${BENCH_RPS_brunt[@]}")
c_wrk=$(bench_median "${BENCH_CPR_peer[@]}")
c_brunt=$(bench_median "${BENCH_CPR_brunt[@]}")
ratio=$(awk -v a="$m_brunt" -v b="$m_wrk" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? "meets the bar (>= 1.00)" : "BELOW the bar (>= 1.00)" }')
printf '\nmedian wrk   %10.0f req/s  %8.3f CPU-µs/req\n' "$m_wrk" "$c_wrk"
printf 'median brunt %10.0f req/s  %8.3f CPU-µs/req\n' "$m_brunt" "$c_brunt"
printf 'ratio brunt/wrk req/s: %s  %s\n' "$ratio" "$verdict"
printf 'ratio brunt/wrk CPU per request: %s\n' \
    "$(awk -v a="$c_brunt" -v b="$c_wrk" 'BEGIN { printf "%.3f", a / b }')"
# When the target is the limit (one nginx worker on one core: both tools then reach the
# same req/s), what a generator can do with a core is 1 / its CPU per request.
awk -v a="$c_brunt" -v b="$c_wrk" 'BEGIN {
    pa = 1e6 / a; pb = 1e6 / b; r = pa / pb
    printf "req/s per generator core: wrk %.0f, brunt %.0f, ratio %.3f  %s\n", pb, pa, r,
        (r >= 1.0) ? "meets the per-core bar (>= 1.00)" : "BELOW the per-core bar (>= 1.00)"
}'

# Open model: can one worker hold 20,000 req/s on schedule?
json=$work/open.json
bench_cpu_run "$work/open.cpu" "${PIN_GEN[@]}" "$BRUNT" run -q -t 1 -R "$OPEN_RATE" \
    -d "${SECONDS_PER_RUN}s" --export "$json" "$url" >"$work/open.txt" 2>&1 ||
    die "brunt (open model) failed: $(tail -5 "$work/open.txt")"
read -r count dur_ms dropped p99 busy < <(jq -r '[.metrics.http_reqs.values.count,
    .options.duration_ms, (.metrics.dropped_iterations.values.count // 0),
    .metrics.http_req_latency.values["p(99)"], .meta.cpu.max_worker_busy] | @tsv' "$json")
achieved=$(awk -v n="$count" -v d="$dur_ms" 'BEGIN { printf "%.1f", n / (d / 1000) }')
pct=$(awk -v a="$achieved" -v t="$OPEN_RATE" 'BEGIN { printf "%.2f", 100 * a / t }')
verdict=$(awk -v p="$pct" 'BEGIN { print (p >= 99 && p <= 101) ? "meets the bar (within 1%)" : "OUTSIDE the bar (within 1%)" }')
printf '\nopen model: 1 thread, target %s req/s for %s s: %s requests = %s req/s (%s%% of target)\n' \
    "$OPEN_RATE" "$SECONDS_PER_RUN" "$count" "$achieved" "$pct"
printf 'open model: dropped iterations %s, p99 http_req_latency %.3f ms, busiest worker %.0f%% of a core\n' \
    "$dropped" "$p99" "$(awk -v b="$busy" 'BEGIN { print 100 * b }')"
printf 'open model: %s\n' "$verdict"
