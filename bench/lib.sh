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
    rm -rf "$work"
}

# bench_free_port: prints a free TCP port on 127.0.0.1.
bench_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_nginx: starts nginx (one worker, keep-alive without a request limit, no access
# log, a 39-byte static index.html on /) in $work on a free loopback port, pinned with
# PIN_SERVER; sets port, url and nginx_pid (stopped by bench_workdir's cleanup).  Needs
# bench_pin, bench_workdir and a die function.
bench_nginx() {
    port=$(bench_free_port)
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
        default_type text/html;
        client_body_temp_path $work/tmp/body;
        proxy_temp_path $work/tmp/proxy;
        fastcgi_temp_path $work/tmp/fastcgi;
        uwsgi_temp_path $work/tmp/uwsgi;
        scgi_temp_path $work/tmp/scgi;
        server {
            listen 127.0.0.1:$port;
            root $work/www;
            location / {
                index index.html;
            }
        }
    }
CONF
    "${PIN_SERVER[@]}" nginx -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.stderr" &
    nginx_pid=$!
    url="http://127.0.0.1:$port/"
    for ((i = 0; i < 100; i++)); do
        curl -sf -o /dev/null --max-time 1 "$url" && break
        kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$work/nginx.stderr" "$work/error.log" 2>/dev/null)"
        sleep 0.1
    done
    curl -sf -o /dev/null --max-time 1 "$url" || die "nginx does not answer on $url"
}

# cpu_run CPUFILE CMD...: run CMD, write its user+system CPU time in µs to CPUFILE,
# return its exit status.
cpu_run() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % round((ru.ru_utime + ru.ru_stime) * 1e6))
sys.exit(rc if rc >= 0 else 128 - rc)
PY
}

