#!/usr/bin/env bash
# bench/capacity.sh — does `brunt capacity` find a known capacity, and how fast?
#
# `brunt serve --service-slots N --service-time D` serves at most N/D requests a second
# (N slots, a FIFO queue; the server's /__stats reports both).  For each (N, D) below,
# brunt capacity runs with its defaults (10 s steps with 2 s settling, 5% precision, a
# 30 s confirmation) and the objectives p(95) < 3 x D + 100 ms and errors < 1%.  The
# criterion of issue 12: the rate that held within 5% of N/D (and not above it), in at
# most 6 minutes of test time.  Prints one line per target and the criterion.
#
#   BRUNT=build/brunt nice bench/capacity.sh
set -euo pipefail
BRUNT=${BRUNT:-build/brunt}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_workdir capacity
configs=("10 100ms" "4 10ms" "20 20ms")
ok=0
for cfg in "${configs[@]}"; do
    read -r n d <<<"$cfg"
    port=$(bench_free_port)
    "$BRUNT" serve --port "$port" -q --service-slots "$n" --service-time "$d" &
    pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
        sleep 0.05
    done
    d_ns=$(curl -s "http://127.0.0.1:$port/__stats" | jq .service.time_ns)
    cap=$(echo "$n * 1000000000 / $d_ns" | bc -l)
    slo_ms=$(echo "3 * $d_ns / 1000000 + 100" | bc)
    rc=0
    "$BRUNT" capacity -q --slo "http_req_duration:p(95)<$slo_ms" --slo 'http_req_failed:rate<0.01' \
        --export "$work/cap.json" "http://127.0.0.1:$port/" >"$work/cap.out" 2>&1 || rc=$?
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    held=$(jq -r .result.held "$work/cap.json")
    t=$(jq -r '.result.test_time_ms / 1000' "$work/cap.json")
    steps=$(jq -r '.steps | length' "$work/cap.json")
    err=$(echo "($held - $cap) / $cap * 100" | bc -l)
    pass=$(echo "$held <= $cap && $held >= 0.95 * $cap && $t <= 360" | bc -l)
    ok=$((ok + pass))
    printf 'N=%s D=%s: capacity %.1f/s, held %.1f/s (%+.1f%%), %s steps, %.0f s of test time, exit %s: %s\n' \
        "$n" "$d" "$cap" "$held" "$err" "$steps" "$t" "$rc" "$( ((pass)) && echo ok || echo MISSED)"
done
echo "within 5% of N/D in at most 6 minutes: $ok of ${#configs[@]}"
