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
