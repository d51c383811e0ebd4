# bench/lib.sh — what the benchmarks share: pinning, a work directory that is cleaned up
# with the nginx it holds, and a free loopback port.  Sourced, not run.

# bench_pin GENERATOR_NOTE: server on core 0, the load generator on core 1 (PIN_SERVER,
# PIN_GEN and pin_note).  With one core there is nothing to pin.
bench_pin() {
    if (($(nproc) >= 2)); then
        PIN_SERVER=(taskset -c 0)
        PIN_GEN=(taskset -c 1)
        pin_note="nginx on core 0, $1 on core 1"
    else
        PIN_SERVER=()
        PIN_GEN=()
        pin_note="one core: nothing pinned (figures are not comparable to the bars)"
    fi
}

# bench_workdir NAME: raises the descriptor limit, makes $work, and on exit stops the
# nginx whose pid is in $nginx_pid (when set) and removes $work.
bench_workdir() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 755 "$work"
    nginx_pid=
    trap _bench_cleanup EXIT
}

_bench_cleanup() {
    if [[ -n $nginx_pid ]]; then
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"
}

# bench_free_port: prints a free TCP port on 127.0.0.1.
bench_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_cpu_run CPUFILE CMD...: runs CMD, writes its user+system CPU time in µs (getrusage
# of the child) to CPUFILE, returns its exit status.
bench_cpu_run() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % round((ru.ru_utime + ru.ru_stime) * 1e6))
sys.exit(rc if rc >= 0 else 128 - rc)
PY
}

# bench_median N...: the median of the numbers.
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_rounds ROUNDS PEER [EXTRA...]: ROUNDS interleaved rounds of run_PEER, run_brunt
# and each run_EXTRA (each prints "req/s requests cpu_us"), the order rotating by one
# each round (with two tools: alternating); prints a row per run and sets the arrays
# BENCH_RPS_<tool> / BENCH_CPR_<tool> of req/s and CPU-µs/req (the peer's as _peer).
bench_rounds() {
    local rounds=$1 peer=$2 r i tool rps reqs cpu cpr key
    shift 2
    local tools=("$peer" brunt "$@")
    for tool in peer brunt "$@"; do
        declare -ga "BENCH_RPS_$tool=()" "BENCH_CPR_$tool=()"
    done
    printf '%-6s %-7s %12s %12s %12s\n' round tool req/s requests CPU-µs/req
    for ((r = 1; r <= rounds; r++)); do
        for ((i = 0; i < ${#tools[@]}; i++)); do
            tool=${tools[(i + r - 1) % ${#tools[@]}]}
            "run_$tool" "$r" >"$work/result"
            read -r rps reqs cpu <"$work/result"
            cpr=$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { printf "%.3f", (n > 0) ? c / n : 0 }')
            printf '%-6s %-7s %12.0f %12d %14s\n' "$r" "$tool" "$rps" "$reqs" "$cpr"
            key=$tool
            [[ $tool == "$peer" ]] && key=peer
            declare -n _rps="BENCH_RPS_$key" _cpr="BENCH_CPR_$key"
            _rps+=("$rps") _cpr+=("$cpr")
            unset -n _rps _cpr
        done
    done
}

# bench_certs: a CA ($work/ca.crt) and an ECDSA P-256 server certificate for 127.0.0.1
# and localhost signed by it ($work/srv.crt, $work/srv.key), readable by nginx's worker.
bench_certs() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$work/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$work/ca.key" -out "$work/ca.crt" -days 2 -subj /CN=bench-ca 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$work/srv.key" 2>/dev/null
    openssl req -new -key "$work/srv.key" -out "$work/srv.csr" -subj /CN=localhost 2>/dev/null
    openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial 1 \
        -days 2 -extfile <(echo "subjectAltName=IP:127.0.0.1,DNS:localhost") -out "$work/srv.crt" 2>/dev/null
    chmod a+r "$work"/*.crt "$work"/*.key
}

# bench_nginx_static LISTEN URL [CURL_FLAGS...]: nginx (one worker, pinned to the server
# core, keep-alive, no access log) serving a small static page from $work/www with
# LISTEN as its server's first lines; waits (bounded: 10 s) until URL answers, with
# CURL_FLAGS.  Sets nginx_pid (bench_workdir's cleanup stops it); dies when it fails.
bench_nginx_static() {
    local listen=$1 url=$2 i
    shift 2
    mkdir -p "$work/www" "$work/tmp"
    printf 'Hello from nginx: a small static body.\n' >"$work/www/index.html"
    chmod -R a+rX "$work/www"
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
    http2_max_concurrent_streams 1000;
    default_type text/html;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    server {
        $listen
        root $work/www;
        location / {
            index index.html;
        }
    }
}
CONF
    "${PIN_SERVER[@]}" nginx -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.stderr" &
    nginx_pid=$!
    for ((i = 0; i < 100; i++)); do
        curl -sf "$@" -o /dev/null --max-time 1 "$url" && break
        kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$work/nginx.stderr" "$work/error.log" 2>/dev/null)"
        sleep 0.1
    done
    curl -sf "$@" -o /dev/null --max-time 1 "$url" || die "nginx does not answer on $url"
}

# bench_brunt ROUND ARGS...: runs `brunt run -q -t 1 -d BENCH's seconds ARGS --export`
# pinned to the generator core; prints "req/s requests cpu_us" (notes failures on stderr).
bench_brunt() {
    local r=$1 json=$work/brunt.$1.json out=$work/brunt.$1.txt rps reqs cpu failed
    shift
    bench_cpu_run "$work/brunt.$r.cpu" "${PIN_GEN[@]}" "$BRUNT" run -q -t 1 \
        -d "${SECONDS_PER_RUN}s" --export "$json" "$@" >"$out" 2>&1 ||
        die "brunt failed: $(tail -5 "$out")"
    rps=$(jq -r '.metrics.http_reqs.values.rate' "$json")
    reqs=$(jq -r '.metrics.http_reqs.values.count' "$json")
    failed=$(jq -r '.metrics.http_req_failed.values.rate' "$json")
    cpu=$(cat "$work/brunt.$r.cpu")
    if [[ $failed != 0 ]]; then
        printf 'bench: note: brunt saw failures in round %s: http_req_failed rate %s\n' "$r" "$failed" >&2
    fi
    echo "$rps $reqs $cpu"
}

# bench_cpu_verdict PEER BAR WHAT: after bench_rounds, prints the medians of both tools,
# the req/s ratio and the CPU-per-request ratio brunt/PEER against BAR (brunt <= BAR x).
bench_cpu_verdict() {
    local peer=$1 bar=$2 what=$3 m_peer m_brunt c_peer c_brunt ratio cratio verdict
    m_peer=$(bench_median "${BENCH_RPS_peer[@]}")
    m_brunt=$(bench_median "${BENCH_RPS_brunt[@]}")
    c_peer=$(bench_median "${BENCH_CPR_peer[@]}")
    c_brunt=$(bench_median "${BENCH_CPR_brunt[@]}")
    ratio=$(awk -v a="$m_brunt" -v b="$m_peer" 'BEGIN { printf "%.3f", a / b }')
    cratio=$(awk -v a="$c_brunt" -v b="$c_peer" 'BEGIN { printf "%.3f", a / b }')
    verdict=$(awk -v r="$cratio" -v b="$bar" 'BEGIN { printf "%s the bar (<= %.2f)", (r <= b) ? "meets" : "ABOVE", b }')
    printf '\nmedian %-7s %10.0f req/s  %8.3f CPU-µs/req\n' "$peer" "$m_peer" "$c_peer"
    printf 'median %-7s %10.0f req/s  %8.3f CPU-µs/req\n' brunt "$m_brunt" "$c_brunt"
    printf 'ratio brunt/%s req/s: %s\n' "$peer" "$ratio"
    printf 'ratio brunt/%s CPU per request over %s: %s  %s\n' "$peer" "$what" "$cratio" "$verdict"
}
