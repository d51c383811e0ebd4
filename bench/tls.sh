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

BRUNT_ARGS=(--cacert "$work/ca.crt")

printf 'brunt bench (TLS): %s against %s on %s (%s)\n' "$("$BRUNT" version 2>/dev/null | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf 'closed model: 1 thread, %d connections, %d s per run, %d rounds (order alternates)\n\n' \
    "$CONNS" "$SECONDS_PER_RUN" "$ROUNDS"
bench_rounds
ratio=$(awk -v a="$m_brunt" -v b="$m_wrk" 'BEGIN { printf "%.3f", a / b }')
cratio=$(awk -v a="$c_brunt" -v b="$c_wrk" 'BEGIN { printf "%.3f", a / b }')
verdict=$(awk -v r="$cratio" 'BEGIN { print (r <= 1.0) ? "meets the bar (<= 1.00)" : "ABOVE the bar (<= 1.00)" }')
printf '\nmedian wrk   %10.0f req/s  %8.3f CPU-µs/req\n' "$m_wrk" "$c_wrk"
printf 'median brunt %10.0f req/s  %8.3f CPU-µs/req\n' "$m_brunt" "$c_brunt"
printf 'ratio brunt/wrk req/s: %s\n' "$ratio"
printf 'ratio brunt/wrk CPU per request over TLS: %s  %s\n' "$cratio" "$verdict"
