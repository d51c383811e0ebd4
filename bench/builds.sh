#!/usr/bin/env bash
# builds.sh — brunt builds against each other in the open model, on loopback: CPU per
# request (getrusage, so the switch path counts, unlike perf's task-clock), context
# switches per request, send-lag p99 of each run, and the send-lag p99 over the seconds
# in which brunt had its CPU (meta.cpu.send_lag_p99_had_cpu_ms; "-" for builds without it).
#
#   bench/builds.sh RATE SECONDS ROUNDS BRUNT...
#
# nginx as bench/openmodel.sh starts it (one worker, core 0); each build alone on core 1,
# `brunt run -q -t 1 -c 50 -R RATE -d SECONDSs`, ROUNDS rounds, the order of the builds
# rotating each round.  Prints one row per run.  Builds to compare come from, say,
# `make BUILD=build-x CFLAGS=-DSCHEDULE_WINDOW_NS=750000ull build-x/brunt`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
(($# >= 4)) || die "usage: builds.sh RATE SECONDS ROUNDS BRUNT..."
RATE=$1 SECS=$2 ROUNDS=$3
shift 3
for tool in nginx jq python3 taskset curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
for b in "$@"; do [[ -x $b ]] || die "no brunt binary at $b"; done

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-builds
port=$(bench_free_port)
url="http://127.0.0.1:$port/"
bench_nginx_static "listen 127.0.0.1:$port;" "$url"

printf 'brunt builds bench: %s req/s, 50 connections, %s s per run, %s rounds, %s\n' \
    "$RATE" "$SECS" "$ROUNDS" "$pin_note"
printf 'load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-40s %8s %8s %10s %8s %12s %6s %12s\n' round build requests 'rate%' CPU-µs/req ctxsw/req \
    send-lag-p99 short had-CPU-p99
bins=("$@")
for ((r = 0; r < ROUNDS; r++)); do
    for ((j = 0; j < ${#bins[@]}; j++)); do
        b=${bins[$(((j + r) % ${#bins[@]}))]}
        python3 - "${PIN_GEN[@]}" "$b" run -q -t 1 -c 50 -R "$RATE" -d "${SECS}s" \
            --export "$work/run.json" "$url" >"$work/cpu" <<'PY' || die "$b failed"
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print((u.ru_utime + u.ru_stime) * 1e6, u.ru_nvcsw + u.ru_nivcsw)
sys.exit(rc)
PY
        read -r cpu cs <"$work/cpu"
        read -r n lag short had < <(jq -r '[.metrics.http_reqs.values.count,
            .metrics.http_req_send_lag.values["p(99)"], .meta.cpu.send_lag_cpu_bound,
            (.meta.cpu.send_lag_p99_had_cpu_ms // "-")] | @tsv' "$work/run.json")
        awk -v r="$((r + 1))" -v b="$b" -v n="$n" -v c="$cpu" -v cs="$cs" -v l="$lag" -v s="$short" \
            -v h="$had" -v R="$RATE" -v S="$SECS" 'BEGIN {
                printf "%-5d %-40s %8d %8.2f %10.2f %8.3f %9.3f ms %6s %12s\n", r, b, n, 100 * n / (R * S),
                    (n > 0) ? c / n : 0, (n > 0) ? cs / n : 0, l, s,
                    (h == "-") ? "-" : sprintf("%.3f ms", h) }'
    done
done
printf '\nload average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
