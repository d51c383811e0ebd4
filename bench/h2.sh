#!/usr/bin/env bash
# h2.sh — brunt against h2load over HTTP/2 on the same nginx, loopback.
#
# Issue 9's bar: CPU per request over HTTP/2 <= 0.8x h2load's. nginx (one worker,
# http2, no access log) runs pinned to core 0; each generator runs alone on core 1 with
# one thread, BENCH_CONNECTIONS (default 16) connections and BENCH_STREAMS (default 10)
# concurrent streams on each, for BENCH_SECONDS (default 10); rounds (BENCH_ROUNDS,
# default 3) rotate which tool goes first. BENCH_H2=tls (default: h2 by ALPN over TLS
# 1.3, an ECDSA P-256 certificate this script makes; brunt verifies it with --cacert,
# h2load does not verify) or BENCH_H2=h2c (prior knowledge). req/s from each tool's own
# report; CPU is the generator's user+system time (getrusage of the child). Prints each
# round, the medians and the ratios. Exit 0 when it ran, 1 when something is missing or
# a tool failed. See bench/README.md.
#
# The same rounds run the floor (H2_FLOOR, default build/h2-floor; BENCH_FLOOR=0 leaves
# it out): tests/tools/h2_floor.c, a client that does no HTTP/2 work beyond splitting
# frames (the same pre-encoded HEADERS for every request, answers not decoded), with the
# same connections, streams, epoll loop and TLS.  Its CPU per request is what the
# exchange itself costs on this machine (kernel, loopback, wakes, TLS); the script prints
# it beside the others, its ratio to h2load's (when that is above the bar, no client
# could meet it here) and each tool's own work above it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
STREAMS=${BENCH_STREAMS:-10}
MODE=${BENCH_H2:-tls}
H2_FLOOR=${H2_FLOOR:-$here/../build/h2-floor}
FLOOR=${BENCH_FLOOR:-1}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx h2load jq python3 taskset curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh (h2load: nghttp2-client)"
done
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] && ((SECONDS_PER_RUN > 0)) || die "BENCH_SECONDS must be a whole number of seconds"
[[ $MODE == tls || $MODE == h2c ]] || die "BENCH_H2 must be tls or h2c, not '$MODE'"
extra=()
if [[ $FLOOR != 0 ]]; then
    if [[ -x $H2_FLOOR ]]; then
        extra=(floor)
    else
        printf 'bench: note: no h2-floor at %s (make build/h2-floor): the floor is left out\n' "$H2_FLOOR" >&2
    fi
fi

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-bench-h2
port=$(bench_free_port)
if [[ $MODE == tls ]]; then
    bench_certs
    url="https://127.0.0.1:$port/"
    bench_nginx_static "listen 127.0.0.1:$port ssl http2;
        ssl_certificate $work/srv.crt;
        ssl_certificate_key $work/srv.key;
        ssl_protocols TLSv1.2 TLSv1.3;" "$url" -k --http2
    tls_flags=(--cacert "$work/ca.crt")
else
    url="http://127.0.0.1:$port/"
    bench_nginx_static "listen 127.0.0.1:$port http2;" "$url" --http2-prior-knowledge
    tls_flags=()
fi

# run_h2load ROUND: prints "req/s requests cpu_us"
run_h2load() {
    local out=$work/h2load.$1.txt rps reqs cpu
    bench_cpu_run "$work/h2load.$1.cpu" "${PIN_GEN[@]}" h2load -t 1 -c "$CONNS" -m "$STREAMS" \
        -D "$SECONDS_PER_RUN" "$url" >"$out" 2>&1 || die "h2load failed: $(tail -5 "$out")"
    rps=$(awk '/^finished in/ { print $4 }' "$out")
    reqs=$(awk '/^requests:/ { print $8 }' "$out")
    cpu=$(cat "$work/h2load.$1.cpu")
    [[ -n $rps && -n $reqs ]] || die "could not read h2load's output: $(cat "$out")"
    grep -q '^Application protocol: h2' "$out" || die "h2load did not speak h2: $(grep -i protocol "$out")"
    if awk '/^requests:/ { exit !($10 > 0 || $12 > 0) }' "$out"; then
        printf 'bench: note: h2load reported failed or errored requests in round %s: %s\n' "$1" \
            "$(grep '^requests:' "$out")" >&2
    fi
    echo "$rps $reqs $cpu"
}

# run_brunt ROUND: prints "req/s requests cpu_us"
run_brunt() {
    bench_brunt "$1" -c "$CONNS" --http2 --streams "$STREAMS" "${tls_flags[@]}" --no-watch-machine "$url"
}

# run_floor ROUND: prints "req/s requests cpu_us" (requests: answered in the time and
# drained after it, as brunt's count is)
run_floor() {
    local out=$work/floor.$1.txt n d ok secs
    local flags=()
    [[ $MODE == tls ]] && flags=(--tls)
    bench_cpu_run "$work/floor.$1.cpu" "${PIN_GEN[@]}" "$H2_FLOOR" "${flags[@]}" --connections "$CONNS" \
        --streams "$STREAMS" --seconds "$SECONDS_PER_RUN" "$url" >"$out" 2>&1 ||
        die "h2-floor failed: $(tail -5 "$out")"
    read -r _ n _ d _ ok _ secs <"$out" || die "could not read h2-floor's output: $(cat "$out")"
    if ((ok != n + d)); then
        printf 'bench: note: h2-floor had answers other than 200 in round %s: %s\n' "$1" "$(cat "$out")" >&2
    fi
    awk -v n="$n" -v d="$d" -v s="$secs" -v c="$(cat "$work/floor.$1.cpu")" \
        'BEGIN { printf "%.1f %d %d\n", n / s, n + d, c }'
}

printf 'brunt bench (HTTP/2, %s): %s against %s on %s (%s)\n' "$MODE" \
    "$("$BRUNT" version 2>/dev/null | head -1)" "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections x %d streams, %d s per run, %d rounds (order %s)\n' \
    "$CONNS" "$STREAMS" "$SECONDS_PER_RUN" "$ROUNDS" "$( ((${#extra[@]})) && echo "rotates: h2load, brunt, floor" || echo alternates)"
printf 'machine load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
bench_rounds "$ROUNDS" h2load "${extra[@]}"

bench_cpu_verdict h2load 0.8 HTTP/2
if ((${#extra[@]})); then
    c_peer=$(bench_median "${BENCH_CPR_peer[@]}")
    c_brunt=$(bench_median "${BENCH_CPR_brunt[@]}")
    c_floor=$(bench_median "${BENCH_CPR_floor[@]}")
    printf 'median floor   %10.0f req/s  %8.3f CPU-µs/req (h2-floor: no HTTP/2 work)\n' \
        "$(bench_median "${BENCH_RPS_floor[@]}")" "$c_floor"
    awk -v p="$c_peer" -v b="$c_brunt" -v f="$c_floor" 'BEGIN {
        printf "ratio floor/h2load CPU per request: %.3f\n", f / p
        printf "ratio brunt/floor CPU per request: %.3f\n", b / f
        printf "own work above the floor, CPU-µs/req: brunt %.3f, h2load %.3f\n", b - f, p - f
        if (f / p > 0.8)
            printf "note: the floor itself is above the bar (%.3f > 0.80): a client doing no HTTP/2 work would not meet it here\n", f / p
    }'
fi
printf 'machine load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
