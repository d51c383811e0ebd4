#!/usr/bin/env bash
# h2.sh — brunt against h2load over HTTP/2 on the same nginx, loopback.
#
# Issue 9's bar: CPU per request over HTTP/2 <= 0.8x h2load's. nginx (one worker,
# http2, no access log) runs pinned to core 0; each generator runs alone on core 1 with
# one thread, BENCH_CONNECTIONS (default 16) connections and BENCH_STREAMS (default 10)
# concurrent streams on each, for BENCH_SECONDS (default 10); rounds (BENCH_ROUNDS,
# default 3) alternate which tool goes first. BENCH_H2=tls (default: h2 by ALPN over TLS
# 1.3, an ECDSA P-256 certificate this script makes; brunt verifies it with --cacert,
# h2load does not verify) or BENCH_H2=h2c (prior knowledge). req/s from each tool's own
# report; CPU is the generator's user+system time (getrusage of the child). Prints each
# round, the medians and the ratios. Exit 0 when it ran, 1 when something is missing or
# a tool failed. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-16}
STREAMS=${BENCH_STREAMS:-10}
MODE=${BENCH_H2:-tls}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx h2load jq python3 taskset curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh (h2load: nghttp2-client)"
done
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] && ((SECONDS_PER_RUN > 0)) || die "BENCH_SECONDS must be a whole number of seconds"
[[ $MODE == tls || $MODE == h2c ]] || die "BENCH_H2 must be tls or h2c, not '$MODE'"

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

printf 'brunt bench (HTTP/2, %s): %s against %s on %s (%s)\n' "$MODE" \
    "$("$BRUNT" version 2>/dev/null | head -1)" "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections x %d streams, %d s per run, %d rounds (order alternates)\n' \
    "$CONNS" "$STREAMS" "$SECONDS_PER_RUN" "$ROUNDS"
printf 'machine load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
bench_rounds "$ROUNDS" h2load

bench_cpu_verdict h2load 0.8 HTTP/2
printf 'machine load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
