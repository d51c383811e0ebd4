#!/usr/bin/env bash
# wakes.sh — issue 14: per request, what the open model costs the kernel: CPU time,
# context switches, epoll waits and syscalls, brunt against h2load's rate mode.
#
# nginx as bench/openmodel.sh starts it (one worker, pinned to core 0); each generator
# alone on core 1, one thread, BENCH_CONNECTIONS (50) connections, BENCH_RATE (5000)
# req/s for BENCH_SECONDS (4), BENCH_ROUNDS (3) interleaved rounds, under
# `perf stat -e task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_*`
# (the syscall tracepoints need root or perf_event_paranoid <= 1; they add a little to
# every tool alike).  BRUNT_BEFORE (optional) adds a second brunt build to each round,
# and BRUNT_EXTRA a third (a build with -DSCHEDULE_WINDOW_NS=..., say).
# Prints one row per run: requests, CPU-µs/req (perf's task-clock), and per request the
# context switches, epoll waits, sendto/recvfrom/read/writev/epoll_ctl and all syscalls,
# and brunt's send-lag p99.  Exit status 0 when it ran, 1 when something is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
RATE=${BENCH_RATE:-5000}
SECS=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-50}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
for tool in nginx h2load perf jq taskset curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
perf stat -e syscalls:sys_enter_sendto -- true >/dev/null 2>&1 ||
    die "perf cannot read the syscall tracepoints (root, or perf_event_paranoid <= 1)"

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-wakes
port=$(bench_free_port)
url="http://127.0.0.1:$port/"
bench_nginx_static "listen 127.0.0.1:$port;" "$url"

calls=(epoll_pwait2 epoll_wait sendto recvfrom read writev epoll_ctl)
events=task-clock,context-switches,raw_syscalls:sys_enter
for c in "${calls[@]}"; do events+=",syscalls:sys_enter_$c"; done

# run NAME CMD...: one run under perf stat; prints its row.
run() {
    local name=$1 n lag=-
    shift
    perf stat -x, -o "$work/stat" -e "$events" -- "${PIN_GEN[@]}" "$@" >"$work/out" 2>&1 ||
        die "$name failed: $(tail -5 "$work/out")"
    if [[ $name == h2load ]]; then
        n=$(awk '/^requests:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^succeeded/) print $i }' "$work/out")
    else
        n=$(jq -r '.metrics.http_reqs.values.count' "$work/brunt.json")
        lag=$(jq -r '.metrics.http_req_send_lag.values["p(99)"]' "$work/brunt.json")
    fi
    [[ -n $n && $n -gt 0 ]] || die "$name completed no request"
    awk -F, -v n="$n" -v name="$name" -v r="$r" -v lag="$lag" '
        /^[0-9.]/ { e = $3; sub("syscalls:sys_enter_", "", e); v[e] = $1 }
        END {
            printf "%-5s %-12s %8d %8.2f %7.3f %7.3f", r, name, n, v["task-clock"] * 1000 / n,
                v["context-switches"] / n, (v["epoll_pwait2"] + v["epoll_wait"]) / n
            split("sendto recvfrom read writev epoll_ctl", c, " ")
            for (i = 1; i <= 5; i++) printf " %6.3f", v[c[i]] / n
            printf " %7.3f %12s\n", v["raw_syscalls:sys_enter"] / n, (lag == "-") ? "-" : sprintf("%.3f ms", lag)
        }' "$work/stat"
}

run_brunt() {
    run "$1" "$2" run -q -t 1 -c "$CONNS" -R "$RATE" -d "${SECS}s" --export "$work/brunt.json" "$url"
}

printf 'brunt wakes bench: %s req/s, %d connections, %d s per run, %d rounds, %s\n' \
    "$RATE" "$CONNS" "$SECS" "$ROUNDS" "$pin_note"
printf 'load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-12s %8s %8s %7s %7s %6s %6s %6s %6s %6s %7s %12s\n' round tool requests \
    CPU-µs ctxsw epoll sendto recvfr read writev ep_ctl sysc lag-p99
for ((r = 1; r <= ROUNDS; r++)); do
    run h2load h2load --h1 -t 1 -c "$CONNS" \
        --rps "$(awk -v r="$RATE" -v c="$CONNS" 'BEGIN { print r / c }')" -D "$SECS" "$url"
    [[ -z ${BRUNT_BEFORE:-} ]] || run_brunt brunt-before "$BRUNT_BEFORE"
    run_brunt brunt "$BRUNT"
    [[ -z ${BRUNT_EXTRA:-} ]] || run_brunt brunt-extra "$BRUNT_EXTRA"
done
printf '\nload average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '(per request; CPU-µs is perf'"'"'s task-clock over requests completed)\n'
