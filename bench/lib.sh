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

# --- the closed-model comparison with wrk that run.sh and tls.sh share ------------------
# They set: work, url, CONNS, SECONDS_PER_RUN, ROUNDS, PIN_GEN, BRUNT, BRUNT_ARGS (extra
# brunt run arguments, e.g. --cacert), and define die.

# bench_cpu_run CPUFILE CMD...: run CMD, write its user+system CPU time in µs to CPUFILE,
# return its exit status.
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

# bench_wrk ROUND: prints "req/s requests cpu_us"
bench_wrk() {
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

# bench_brunt ROUND: prints "req/s requests cpu_us"
bench_brunt() {
    local json=$work/brunt.$1.json out=$work/brunt.$1.txt rps reqs cpu failed
    bench_cpu_run "$work/brunt.$1.cpu" "${PIN_GEN[@]}" "$BRUNT" run -q -t 1 -c "$CONNS" \
        -d "${SECONDS_PER_RUN}s" ${BRUNT_ARGS[@]+"${BRUNT_ARGS[@]}"} --export "$json" "$url" \
        >"$out" 2>&1 || die "brunt failed: $(tail -5 "$out")"
    rps=$(jq -r '.metrics.http_reqs.values.rate' "$json")
    reqs=$(jq -r '.metrics.http_reqs.values.count' "$json")
    failed=$(jq -r '.metrics.http_req_failed.values.rate' "$json")
    cpu=$(cat "$work/brunt.$1.cpu")
    if [[ $failed != 0 ]]; then
        printf 'bench: note: brunt saw failures in round %s: http_req_failed rate %s\n' "$1" "$failed" >&2
    fi
    echo "$rps $reqs $cpu"
}

bench_median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_rounds: ROUNDS interleaved rounds (odd rounds wrk first, even rounds brunt
# first), a line per run with the machine's 1-minute load average at its start (the
# machine is shared: say how loaded it was).  Sets the medians m_wrk m_brunt (req/s) and
# c_wrk c_brunt (CPU-µs per request), load_min / load_max, and c_paired: the median over
# rounds of brunt's CPU per request over wrk's in the same round (neighbours in time see
# about the same machine, so on a shared machine this is the steadier ratio).
bench_rounds() {
    local r tool rps reqs cpu cpr load order
    local -a wrk_rps=() brunt_rps=() wrk_cpr=() brunt_cpr=() loads=() paired=()
    printf '%-6s %-6s %12s %12s %14s %6s\n' round tool req/s requests CPU-µs/req load
    for ((r = 1; r <= ROUNDS; r++)); do
        if ((r % 2 == 1)); then order=(wrk brunt); else order=(brunt wrk); fi
        for tool in "${order[@]}"; do
            load=$(cut -d' ' -f1 /proc/loadavg)
            loads+=("$load")
            "bench_$tool" "$r" >"$work/result"
            read -r rps reqs cpu <"$work/result"
            cpr=$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { printf "%.3f", (n > 0) ? c / n : 0 }')
            printf '%-6s %-6s %12.0f %12d %14s %6s\n' "$r" "$tool" "$rps" "$reqs" "$cpr" "$load"
            if [[ $tool == wrk ]]; then
                wrk_rps+=("$rps") wrk_cpr+=("$cpr")
            else
                brunt_rps+=("$rps") brunt_cpr+=("$cpr")
            fi
        done
        paired+=("$(awk -v a="${brunt_cpr[-1]}" -v b="${wrk_cpr[-1]}" 'BEGIN { printf "%.3f", a / b }')")
    done
    c_paired=$(bench_median "${paired[@]}")
    m_wrk=$(bench_median "${wrk_rps[@]}")
    m_brunt=$(bench_median "${brunt_rps[@]}")
    c_wrk=$(bench_median "${wrk_cpr[@]}")
    c_brunt=$(bench_median "${brunt_cpr[@]}")
    load_min=$(printf '%s\n' "${loads[@]}" | sort -g | head -1)
    load_max=$(printf '%s\n' "${loads[@]}" | sort -g | tail -1)
    printf '\nmachine load (1-minute average) during the rounds: %s to %s on %s CPUs\n' \
        "$load_min" "$load_max" "$(nproc)"
    printf 'brunt/wrk CPU per request, round by round: %s (median %s)\n' "${paired[*]}" "$c_paired"
}
