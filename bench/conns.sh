#!/usr/bin/env bash
# conns.sh — 10,000 concurrent connections to `brunt serve`, and brunt's memory per
# connection.
#
# The target holds every answer for BENCH_HOLD_MS (GET /delay/{ms}, default 4000 ms), so
# each of the N virtual users (closed model, -c N, default 10000) keeps one connection
# open with one request in flight, all at the same time. While it runs the script polls
# `ss` for ESTABLISHED sockets towards the target's port and brunt's VmRSS. The same is
# done with 1 connection as a baseline; memory per connection is the RSS difference at
# the peak divided by the difference in connections. It passes when the peak reaches N
# connections and brunt reports no failed request and no error of any kind, and the
# server counted as many requests as brunt. Prints the figures; see bench/README.md.
#
# BENCH_CONNS (10000), BENCH_HOLD_MS (4000), BENCH_SECONDS (10), BRUNT (build/brunt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
N=${BENCH_CONNS:-10000}
HOLD_MS=${BENCH_HOLD_MS:-4000}
SECS=${BENCH_SECONDS:-10}

die() { printf 'conns: %s\n' "$*" >&2; exit 1; }
[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in ss jq curl python3; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done

# Each side needs N descriptors plus a few; brunt and brunt serve raise their own soft
# limit to the hard one, so the hard limit is what matters.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < N + 100)); then
    die "the hard open-files limit is $hard; $N connections need $((N + 100)) (raise it, e.g. ulimit -Hn as root)"
fi
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
((hi - lo + 1 >= N)) || die "only $((hi - lo + 1)) local ports (net.ipv4.ip_local_port_range); $N connections need more"

work=$(mktemp -d "${TMPDIR:-/tmp}/brunt-conns.XXXXXX")
serve_pid=
cleanup() {
    if [[ -n $serve_pid ]]; then
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$BRUNT" serve --port 0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
base=
for ((i = 0; i < 100; i++)); do
    base=$(grep -m1 -oE 'http://127\.0\.0\.1:[0-9]+' "$work/serve.out" || true)
    [[ -n $base ]] && break
    kill -0 "$serve_pid" 2>/dev/null || die "brunt serve exited: $(cat "$work/serve.err")"
    sleep 0.1
done
[[ -n $base ]] || die "brunt serve did not print its address"
port=${base##*:}

kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# measure NAME CONNS: run brunt with CONNS connections held open; prints
# "peak_established brunt_rss_kib serve_rss_kib" (at the peak); leaves NAME.json.
measure() {
    local name=$1 c=$2 pid est rss peak=0 peak_rss=0 peak_srss=0 rc=0
    "$BRUNT" run -q -t 2 -c "$c" -d "${SECS}s" --grace "$((HOLD_MS / 1000 + 10))s" \
        --timeout "$((HOLD_MS / 1000 + 30))s" --export "$work/$name.json" \
        "$base/delay/$HOLD_MS" >"$work/$name.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
        est=$(ss -Htn state established "( dport = :$port )" | wc -l)
        rss=$(kib "$pid")
        if ((est > peak || (est == peak && rss > peak_rss))); then
            peak=$est
            peak_rss=$rss
            peak_srss=$(kib "$serve_pid")
        fi
        sleep 0.25
    done
    wait "$pid" || rc=$?
    ((rc == 0)) || die "brunt run -c $c exited $rc: $(tail -5 "$work/$name.out")"
    echo "$peak $peak_rss $peak_srss"
}

printf 'conns: brunt serve on %s holding each answer %s ms; brunt run -t 2 -c N -d %ss\n' \
    "$base" "$HOLD_MS" "$SECS"
measure base 1 >"$work/base.txt"
read -r base_est base_rss base_srss <"$work/base.txt"
curl -sf -X POST "$base/__reset" >/dev/null || die "POST /__reset failed"
measure many "$N" >"$work/many.txt"
read -r many_est many_rss many_srss <"$work/many.txt"

stats=$(curl -sS --max-time 10 "$base/__stats") || die "GET $base/__stats failed (brunt serve alive: $(kill -0 "$serve_pid" 2>/dev/null && echo yes || echo no))"
read -r reqs failed errs < <(jq -r '[.metrics.http_reqs.values.count, .metrics.http_req_failed.values.rate,
    ([.errors[]] | add)] | @tsv' "$work/many.json")
served=$(jq -r .requests <<<"$stats")
per_conn=$(awk -v a="$many_rss" -v b="$base_rss" -v n="$many_est" -v m="$base_est" \
    'BEGIN { if (n > m) printf "%.0f", (a - b) * 1024 / (n - m); else print "n/a" }')

printf 'baseline (1 connection):   %6d established, brunt RSS %8d KiB\n' "$base_est" "$base_rss"
printf 'load (%d connections): %6d established, brunt RSS %8d KiB\n' "$N" "$many_est" "$many_rss"
printf 'requests: brunt %s, server %s; http_req_failed rate %s; errors %s\n' \
    "$reqs" "$served" "$failed" "$errs"
printf 'brunt memory per connection (request in flight): %s bytes (bar: <= 8192)\n' "$per_conn"
printf 'brunt serve RSS: %s KiB with %s connection(s), %s KiB with %s: %s bytes per connection\n' \
    "$base_srss" "$base_est" "$many_srss" "$many_est" \
    "$(awk -v a="$many_srss" -v b="$base_srss" -v n="$many_est" -v m="$base_est" \
        'BEGIN { if (n > m) printf "%.0f", (a - b) * 1024 / (n - m); else print "n/a" }')"

ok=1
((many_est >= N)) || { ok=0; printf 'conns: FAIL: peak %d established connections, wanted %d\n' "$many_est" "$N"; }
[[ $failed == 0 && $errs == 0 ]] || { ok=0; printf 'conns: FAIL: failures or errors under %d connections\n' "$N"; }
[[ $reqs == "$served" ]] || { ok=0; printf 'conns: FAIL: brunt counted %s requests, the server %s\n' "$reqs" "$served"; }
if [[ $per_conn != n/a ]] && ((per_conn > 8192)); then
    printf 'conns: memory per connection is above the 8 KiB bar\n'
fi
((ok)) && printf 'conns: PASS: %d concurrent connections without errors\n' "$many_est"
((ok))
