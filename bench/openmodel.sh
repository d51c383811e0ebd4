#!/usr/bin/env bash
# openmodel.sh — issue 14: the open model against h2load's rate mode, on loopback.
#
# nginx (one worker, keep-alive, no access log, a small static body on /) runs pinned to
# core 0; each generator runs alone, pinned to core 1, one thread, BENCH_CONNECTIONS
# connections (default 50, so that h2load's per-client --rps is a whole number), for
# BENCH_SECONDS (default 5) at each rate of BENCH_RATES (default 5000 20000 50000 req/s):
#   brunt:  brunt run -q -t 1 -c C -R RATE -d Ns
#   h2load: h2load --h1 -t 1 -c C --rps RATE/C -D N
# Rounds (BENCH_ROUNDS, default 3) interleave the tools and alternate which goes first.
# CPU time is the generator process's user+system time (getrusage of the child); the
# achieved rate is requests completed over the planned length; send lag (brunt only:
# h2load has no such figure) is http_req_send_lag's p99 from the --export JSON, over the
# run and over the seconds in which brunt had its CPU (meta.cpu.send_lag_p99_had_cpu_ms:
# no worker short of CPU nor held back by late wake-ups or run-queue wait), the figure
# for the bar's "while brunt has CPU to spare" (the seconds it had it are in brackets),
# and the p99 of brunt's own part of each send's lag (http_req_send_lag_own: less how
# late the system woke it past the timer slack).
#
# Prints each run, then per rate the medians and spread (min..max) of CPU-µs per request,
# the ratio brunt/h2load, and the verdicts against issue 14's bars: <= 1.0x h2load's
# CPU per request at 20,000 req/s, achieved rate within 0.5%, send-lag p99 under 1 ms
# (over the run, and over the seconds brunt had its CPU).
# Exit status: 0 when it ran (whatever the figures), 1 when something needed is missing
# or a tool failed.  See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-50}
RATES=${BENCH_RATES:-5000 20000 50000}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx h2load jq python3 taskset curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] && ((SECONDS_PER_RUN > 0)) || die "BENCH_SECONDS must be a whole number of seconds"
[[ $CONNS =~ ^[0-9]+$ ]] && ((CONNS > 0)) || die "BENCH_CONNECTIONS must be a positive whole number"

. "$here/lib.sh"
bench_pin generators
bench_workdir brunt-openmodel
port=$(bench_free_port)
url="http://127.0.0.1:$port/"
bench_nginx_static "listen 127.0.0.1:$port;" "$url"

# run_h2load RATE ROUND: prints "requests cpu_us send_lag_p99_ms had_cpu_p99_ms had_cpu_s own_p99_ms"
run_h2load() {
    local out=$work/h2load.$1.$2.txt n
    bench_cpu_run "$work/h2load.cpu" "${PIN_GEN[@]}" h2load --h1 -t 1 -c "$CONNS" \
        --rps "$(awk -v r="$1" -v c="$CONNS" 'BEGIN { print r / c }')" -D "$SECONDS_PER_RUN" "$url" \
        >"$out" 2>&1 || die "h2load failed: $(tail -5 "$out")"
    n=$(awk '/^requests:/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^succeeded/) print $i }' "$out")
    [[ -n $n ]] || die "could not read h2load's output: $(cat "$out")"
    echo "$n $(cat "$work/h2load.cpu") - - - -"
}

# run_brunt RATE ROUND: prints "requests cpu_us send_lag_p99_ms had_cpu_p99_ms had_cpu_s
# own_p99_ms": the send lag over the run, over the seconds in which brunt had its CPU
# (neither short of it nor held back by the platform: meta.cpu, docs/metrics.md), and
# the p99 of brunt's own part of each send's lag (http_req_send_lag_own)
run_brunt() {
    local json=$work/brunt.$1.$2.json out=$work/brunt.$1.$2.txt
    bench_cpu_run "$work/brunt.cpu" "${PIN_GEN[@]}" "$BRUNT" run -q -t 1 -c "$CONNS" -R "$1" \
        -d "${SECONDS_PER_RUN}s" --export "$json" "$url" >"$out" 2>&1 ||
        die "brunt failed: $(tail -5 "$out")"
    read -r n failed lag short had hads held own < <(jq -r '[.metrics.http_reqs.values.count,
        .metrics.http_req_failed.values.rate, .metrics.http_req_send_lag.values["p(99)"],
        .meta.cpu.send_lag_cpu_bound, (.meta.cpu.send_lag_p99_had_cpu_ms // "-"),
        .meta.cpu.had_cpu_seconds, .meta.cpu.held_back_seconds,
        .metrics.http_req_send_lag_own.values["p(99)"]] | @tsv' "$json")
    if [[ $failed != 0 ]]; then
        printf 'bench: note: brunt saw failures at %s req/s, round %s: http_req_failed %s\n' "$1" "$2" "$failed" >&2
    fi
    if [[ $short == true ]]; then
        printf 'bench: note: brunt was short of CPU at %s req/s, round %s (its summary warns)\n' "$1" "$2" >&2
    fi
    if ((held > 0)); then
        printf 'bench: note: the system held brunt back in %s s at %s req/s, round %s (late wake-ups or run-queue wait)\n' "$held" "$1" "$2" >&2
    fi
    echo "$n $(cat "$work/brunt.cpu") $lag $had $hads $own"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }

printf 'brunt open-model bench: %s and %s against %s on %s (%s)\n' \
    "$("$BRUNT" version 2>/dev/null | head -1)" "$(h2load --version 2>&1 | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$url" "$pin_note"
printf '1 thread, %d connections, %d s per run, %d rounds (tools interleaved, order alternates)\n' \
    "$CONNS" "$SECONDS_PER_RUN" "$ROUNDS"
printf 'load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-7s %-7s %10s %8s %12s %14s %20s %12s\n' round rate tool requests 'rate%' CPU-µs/req send-lag-p99 'had-CPU p99 (s)' 'own p99'
declare -A cpr lag pct hadl ownl
for ((r = 1; r <= ROUNDS; r++)); do
    for rate in $RATES; do
        if ((r % 2 == 1)); then order=(h2load brunt); else order=(brunt h2load); fi
        for tool in "${order[@]}"; do
            "run_$tool" "$rate" "$r" >"$work/result"
            read -r n cpu l hl hs ol <"$work/result"
            c=$(awk -v c="$cpu" -v n="$n" 'BEGIN { printf "%.3f", (n > 0) ? c / n : 0 }')
            p=$(awk -v n="$n" -v r="$rate" -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%.2f", 100 * n / (r * s) }')
            printf '%-6s %-7s %-7s %10d %8s %12s %14s %20s %12s\n' "$r" "$rate" "$tool" "$n" "$p" "$c" \
                "$([[ $l == - ]] && echo - || printf '%.3f ms' "$l")" \
                "$([[ $hl == - ]] && echo - || printf '%.3f ms (%s)' "$hl" "$hs")" \
                "$([[ $ol == - ]] && echo - || printf '%.3f ms' "$ol")"
            cpr[$tool.$rate]+="$c " pct[$tool.$rate]+="$p "
            [[ $l == - ]] || lag[$tool.$rate]+="$l "
            [[ $hl == - ]] || hadl[$tool.$rate]+="$hl "
            [[ $ol == - ]] || ownl[$tool.$rate]+="$ol "
        done
    done
done
printf '\nload average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n%-7s %-7s %12s %18s %10s %16s\n' rate tool 'CPU-µs/req' 'spread' 'rate%' 'send-lag p99'
for rate in $RATES; do
    for tool in h2load brunt; do
        # shellcheck disable=SC2086
        m=$(median ${cpr[$tool.$rate]})
        # shellcheck disable=SC2086
        sp=$(spread ${cpr[$tool.$rate]})
        # shellcheck disable=SC2086
        mp=$(median ${pct[$tool.$rate]})
        ml=-
        if [[ -n ${lag[$tool.$rate]:-} ]]; then
            # shellcheck disable=SC2086
            ml=$(printf '%.3f ms' "$(median ${lag[$tool.$rate]})")
        fi
        printf '%-7s %-7s %12.3f %18s %10s %16s\n' "$rate" "$tool" "$m" "$sp" "$mp" "$ml"
    done
    # shellcheck disable=SC2086
    ratio=$(awk -v a="$(median ${cpr[brunt.$rate]})" -v b="$(median ${cpr[h2load.$rate]})" 'BEGIN { printf "%.3f", a / b }')
    # shellcheck disable=SC2086
    bp=$(median ${pct[brunt.$rate]})
    # shellcheck disable=SC2086
    bl=$(median ${lag[brunt.$rate]})
    printf '%-7s ratio brunt/h2load CPU per request: %s%s\n' "$rate" "$ratio" \
        "$( ((rate == 20000)) && awk -v r="$ratio" 'BEGIN { print (r <= 1.0) ? "  meets the bar (<= 1.00)" : "  ABOVE the bar (<= 1.00)" }')"
    printf '%-7s brunt achieved %s%% of the target%s, send-lag p99 %.3f ms%s\n' "$rate" "$bp" \
        "$(awk -v p="$bp" 'BEGIN { print (p >= 99.5 && p <= 100.5) ? " (within 0.5%)" : " (OUTSIDE 0.5%)" }')" "$bl" \
        "$(awk -v l="$bl" 'BEGIN { print (l < 1) ? " (under 1 ms)" : " (NOT under 1 ms)" }')"
    # shellcheck disable=SC2086
    ol=$(median ${ownl[brunt.$rate]})
    printf '%-7s brunt own send-lag p99 (less how late the system woke it): %.3f ms%s\n' "$rate" "$ol" \
        "$(awk -v l="$ol" 'BEGIN { print (l < 1) ? " (under 1 ms)" : " (NOT under 1 ms)" }')"
    if [[ -n ${hadl[brunt.$rate]:-} ]]; then
        # shellcheck disable=SC2086
        hl=$(median ${hadl[brunt.$rate]})
        printf '%-7s brunt send-lag p99 over the seconds it had its CPU: %.3f ms%s\n' "$rate" "$hl" \
            "$(awk -v l="$hl" 'BEGIN { print (l < 1) ? " (under 1 ms)" : " (NOT under 1 ms)" }')"
    fi
done
