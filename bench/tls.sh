#!/usr/bin/env bash
# tls.sh — brunt against wrk over TLS (HTTP/1.1, keep-alive) on the same nginx, loopback.
#
# Issue 9's bar: CPU per request over TLS <= 1.0x wrk's. nginx (one worker, TLS 1.3,
# an ECDSA P-256 certificate this script makes with openssl, keep-alive, no access log)
# runs pinned to core 0; each generator runs alone on core 1 with one thread and
# BENCH_CONNECTIONS (default 64) connections for BENCH_SECONDS (default 10); rounds
# (BENCH_ROUNDS, default 3) alternate which tool goes first. brunt verifies the
# certificate (--cacert); wrk does not verify (it has no option to). req/s from each
# tool's own report; CPU is the generator's user+system time (getrusage of the child).
# Prints each round, the medians and the ratios. Exit 0 when it ran, 1 when something
# is missing or a tool failed. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-64}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx wrk jq python3 taskset curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] && ((SECONDS_PER_RUN > 0)) || die "BENCH_SECONDS must be a whole number of seconds"

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-bench-tls
port=$(bench_free_port)
bench_certs
url="https://127.0.0.1:$port/"
bench_nginx_static "listen 127.0.0.1:$port ssl;
        ssl_certificate $work/srv.crt;
        ssl_certificate_key $work/srv.key;
        ssl_protocols TLSv1.2 TLSv1.3;" "$url" -k

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
run_brunt() { bench_brunt "$1" -c "$CONNS" --cacert "$work/ca.crt" "$url"; }

printf 'brunt bench (TLS): %s against %s on %s (%s)\n' "$("$BRUNT" version 2>/dev/null | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections, %d s per run, %d rounds (order alternates)\n\n' \
    "$CONNS" "$SECONDS_PER_RUN" "$ROUNDS"
bench_rounds "$ROUNDS" wrk

bench_cpu_verdict wrk 1.0 TLS
