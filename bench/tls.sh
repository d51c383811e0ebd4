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
mkdir -p "$work/www" "$work/tmp"
printf 'Hello from nginx: a small static body.\n' >"$work/www/index.html"
chmod -R a+rX "$work/www"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$work/ca.key" 2>/dev/null
openssl req -x509 -new -key "$work/ca.key" -out "$work/ca.crt" -days 2 -subj /CN=bench-ca 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$work/srv.key" 2>/dev/null
openssl req -new -key "$work/srv.key" -out "$work/srv.csr" -subj /CN=localhost 2>/dev/null
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial 1 \
    -days 2 -extfile <(echo "subjectAltName=IP:127.0.0.1,DNS:localhost") -out "$work/srv.crt" 2>/dev/null
chmod a+r "$work"/*.crt "$work"/*.key
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $work/nginx.pid;
error_log $work/error.log warn;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    default_type text/html;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $work/srv.crt;
        ssl_certificate_key $work/srv.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $work/www;
        location / {
            index index.html;
        }
    }
}
CONF
"${PIN_SERVER[@]}" nginx -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.stderr" &
nginx_pid=$!
url="https://127.0.0.1:$port/"
for ((i = 0; i < 100; i++)); do
    curl -sfk -o /dev/null --max-time 1 "$url" && break
    kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$work/nginx.stderr" "$work/error.log" 2>/dev/null)"
    sleep 0.1
done
curl -sfk -o /dev/null --max-time 1 "$url" || die "nginx does not answer on $url"

# cpu_run (bench/lib.sh) measures the generator's CPU time.

# run_wrk ROUND: prints "req/s requests cpu_us"
run_wrk() {
    local out=$work/wrk.$1.txt rps reqs cpu
    cpu_run "$work/wrk.$1.cpu" "${PIN_GEN[@]}" wrk -t 1 -c "$CONNS" -d "${SECONDS_PER_RUN}s" "$url" \
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
run_brunt() {
    local json=$work/brunt.$1.json out=$work/brunt.$1.txt rps reqs cpu failed
    cpu_run "$work/brunt.$1.cpu" "${PIN_GEN[@]}" "$BRUNT" run -q -t 1 -c "$CONNS" \
        -d "${SECONDS_PER_RUN}s" --cacert "$work/ca.crt" --export "$json" "$url" >"$out" 2>&1 ||
        die "brunt failed: $(tail -5 "$out")"
    rps=$(jq -r '.metrics.http_reqs.values.rate' "$json")
    reqs=$(jq -r '.metrics.http_reqs.values.count' "$json")
    failed=$(jq -r '.metrics.http_req_failed.values.rate' "$json")
    cpu=$(cat "$work/brunt.$1.cpu")
    if [[ $failed != 0 ]]; then
        printf 'bench: note: brunt saw failures in round %s: http_req_failed rate %s\n' "$1" "$failed" >&2
    fi
    echo "$rps $reqs $cpu"
}

printf 'brunt bench (TLS): %s against %s on %s (%s)\n' "$("$BRUNT" version 2>/dev/null | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections, %d s per run, %d rounds (order alternates)\n\n' \
    "$CONNS" "$SECONDS_PER_RUN" "$ROUNDS"
printf '%-6s %-6s %12s %12s %12s\n' round tool req/s requests CPU-µs/req

wrk_rps=() brunt_rps=() wrk_cpr=() brunt_cpr=()
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2 == 1)); then order=(wrk brunt); else order=(brunt wrk); fi
    for tool in "${order[@]}"; do
        "run_$tool" "$r" >"$work/result"
        read -r rps reqs cpu <"$work/result"
        cpr=$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { printf "%.3f", (n > 0) ? c / n : 0 }')
        printf '%-6s %-6s %12.0f %12d %14s\n' "$r" "$tool" "$rps" "$reqs" "$cpr"
        if [[ $tool == wrk ]]; then
            wrk_rps+=("$rps") wrk_cpr+=("$cpr")
        else
            brunt_rps+=("$rps") brunt_cpr+=("$cpr")
        fi
    done
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_wrk=$(median "${wrk_rps[@]}")
m_brunt=$(median "${brunt_rps[@]}")
c_wrk=$(median "${wrk_cpr[@]}")
c_brunt=$(median "${brunt_cpr[@]}")
ratio=$(awk -v a="$m_brunt" -v b="$m_wrk" 'BEGIN { printf "%.3f", a / b }')
cratio=$(awk -v a="$c_brunt" -v b="$c_wrk" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$cratio" 'BEGIN { print (r <= 1.0) ? "meets the bar (<= 1.00)" : "ABOVE the bar (<= 1.00)" }')
printf '\nmedian wrk   %10.0f req/s  %8.3f CPU-µs/req\n' "$m_wrk" "$c_wrk"
printf 'median brunt %10.0f req/s  %8.3f CPU-µs/req\n' "$m_brunt" "$c_brunt"
printf 'ratio brunt/wrk req/s: %s\n' "$ratio"
printf 'ratio brunt/wrk CPU per request over TLS: %s  %s\n' "$cratio" "$verdict"
