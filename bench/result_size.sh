#!/usr/bin/env bash
# bench/result_size.sh — how big is the result of a one-hour run with 20 request names?
#
# Runs a scenario of 20 named requests (an open model: RATE iterations/s, each one
# request of each name) against `brunt serve` with a spread of latencies (--delay 1ms
# --delay-max 30ms, so each second's histograms have many buckets), for SECONDS seconds,
# and measures the result file.  A row of the time series describes one second and does
# not depend on how long the run is, so the size of an hour is
#     fixed part + 3600 x (the mean bytes of a steady-state row)
# where the fixed part (meta, options, the run's metrics and histograms, the series
# table) is the file without its rows and the first and last rows (ramp-up, partial tail)
# are left out of the mean.  Prints both and the extrapolation.
#
#   BRUNT=build/brunt bench/result_size.sh [SECONDS=60] [RATE=100]
set -euo pipefail
BRUNT=${BRUNT:-build/brunt}
SECONDS_RUN=${1:-60}
RATE=${2:-100}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_workdir result-size
port=$(bench_free_port)
"$BRUNT" serve --port "$port" -q -t 1 --delay 1ms --delay-max 30ms &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null || true; wait $serve_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.05
done
{
    echo "name: size"
    echo "base_url: http://127.0.0.1:$port"
    echo "scenarios:"
    echo "  s:"
    echo "    executor: constant-arrival-rate"
    echo "    rate: $RATE"
    echo "    duration: ${SECONDS_RUN}s"
    echo "    preAllocatedVUs: 200"
    echo "    maxVUs: 2000"
    echo "    flow:"
    for i in $(seq -w 1 20); do
        echo "      - request: GET /api/v1/auctions/auction_$i"
        echo "        name: endpoint_$i"
    done
} >"$work/size.yaml"
"$BRUNT" run -q --export "$work/r.json" "$work/size.yaml" >/dev/null || true
total=$(stat -c %s "$work/r.json")
read -r rows fixed mean reqs <<<"$(jq -r '
    (.timeseries.rows | length) as $n
    | (del(.timeseries.rows) | tojson | length) as $fixed
    | ([.timeseries.rows[1:-1][] | tojson | length] | add / length) as $mean
    | "\($n) \($fixed) \($mean | floor) \(.metrics.http_reqs.values.count)"' "$work/r.json")"
hour=$((fixed + 3600 * mean))
printf 'run: %s s, %s requests (%s/s over 20 names), file %s bytes, %s rows\n' \
    "$SECONDS_RUN" "$reqs" "$((RATE * 20))" "$total" "$rows"
printf 'fixed part %s bytes (compact), mean steady-state row %s bytes (compact JSON)\n' "$fixed" "$mean"
printf 'one hour: %s + 3600 x %s = %s bytes (%.1f MiB) compact; the pretty file is %.2fx that\n' \
    "$fixed" "$mean" "$hour" "$(echo "$hour / 1048576" | bc -l)" \
    "$(echo "$total / ($(jq -c . "$work/r.json" | wc -c))" | bc -l)"
