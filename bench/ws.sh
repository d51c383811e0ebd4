#!/usr/bin/env bash
# ws.sh — memory per idle WebSocket connection with 10,000 open.
#
# A small asyncio peer (bench/ws_idle_peer.py, loopback, free port) accepts upgrades and
# then only holds the sessions. brunt runs a scenario of N members (per-vu-iterations,
# one iteration each: ws_connect, ws_listen, ws_close) with -t 2 worker threads. While it
# runs the script polls the peer's count of open sessions and brunt's VmRSS four times
# a second and keeps the figures at the peak; the same is done with BENCH_BASE members
# (100) as the baseline. Memory per connection is the RSS difference at the peaks over
# the difference in open sessions: everything one more member costs brunt in user space
# (its VU, its flow state, its session), kernel socket buffers excluded. It passes when
# all N sessions were open at once, brunt counted N sessions and no error, and every
# session ended with a close the peer answered. Bounded: each run ends after its listen
# (BENCH_HOLD, 20s) plus the close; a poll never waits longer than 120 s.
#
# BENCH_CONNS (10000), BENCH_BASE (100), BENCH_HOLD (20s), BRUNT (build/brunt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
N=${BENCH_CONNS:-10000}
BASE=${BENCH_BASE:-100}
HOLD=${BENCH_HOLD:-20s}
PY=/usr/bin/python3

die() { printf 'ws: %s\n' "$*" >&2; exit 1; }
[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in jq curl "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < N + 100)); then
    die "the hard open-files limit is $hard; $N connections need $((N + 100)) (raise it)"
fi
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
((hi - lo + 1 >= N)) || die "only $((hi - lo + 1)) local ports; $N connections need more"

work=$(mktemp -d "${TMPDIR:-/tmp}/brunt-ws.XXXXXX")
peer_pid=
cleanup() {
    if [[ -n $peer_pid ]]; then
        kill -TERM "$peer_pid" 2>/dev/null || true
        wait "$peer_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$PY" "$here/ws_idle_peer.py" "$work/port" >"$work/peer.log" 2>&1 &
peer_pid=$!
for ((i = 0; i < 100; i++)); do
    [[ -s $work/port ]] && break
    kill -0 "$peer_pid" 2>/dev/null || die "the peer exited: $(cat "$work/peer.log")"
    sleep 0.1
done
[[ -s $work/port ]] || die "the peer did not start"
port=$(cat "$work/port")
open_now() { curl -sf --max-time 5 "http://127.0.0.1:$port/__stats" | jq -r .open; }
kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# measure NAME MEMBERS: prints "peak_open brunt_rss_kib_at_peak peer_rss_kib"; NAME.json.
measure() {
    local name=$1 m=$2 pid open rss peak=0 peak_rss=0 peak_prss=0 rc=0 t0=$SECONDS
    cat >"$work/$name.yaml" <<YAML
options: {threads: 2, connect_timeout: 30s}
scenarios:
  members:
    executor: per-vu-iterations
    vus: $m
    iterations: 1
    flow:
      - ws_connect: ws://127.0.0.1:$port/room
      - ws_listen: $HOLD
      - ws_close:
YAML
    "$BRUNT" run -q --export "$work/$name.json" "$work/$name.yaml" >"$work/$name.out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
        open=$(open_now || echo 0)
        rss=$(kib "$pid")
        if ((open > peak || (open == peak && rss > peak_rss))); then
            peak=$open
            peak_rss=$rss
            peak_prss=$(kib "$peer_pid")
        fi
        ((SECONDS - t0 < 120)) || { kill -INT "$pid"; break; }
        sleep 0.25
    done
    wait "$pid" || rc=$?
    ((rc == 0)) || die "brunt run ($m members) exited $rc: $(tail -5 "$work/$name.out")"
    echo "$peak $peak_rss $peak_prss"
}

printf 'ws: peer on 127.0.0.1:%s; brunt run -t 2, members listening %s each\n' "$port" "$HOLD"
measure base "$BASE" >"$work/base.txt"
read -r base_open base_rss base_prss <"$work/base.txt"
measure many "$N" >"$work/many.txt"
read -r many_open many_rss many_prss <"$work/many.txt"
read -r sessions errs < <(jq -r '[.metrics.ws_sessions.values.count, ([.errors[]] | add)] | @tsv' "$work/many.json")
per_conn=$(awk -v a="$many_rss" -v b="$base_rss" -v n="$many_open" -v m="$base_open" \
    'BEGIN { if (n > m) printf "%.0f", (a - b) * 1024 / (n - m); else print "n/a" }')
printf 'baseline (%d members): %6d open at once, brunt RSS %8d KiB\n' "$BASE" "$base_open" "$base_rss"
printf 'load (%d members):   %6d open at once, brunt RSS %8d KiB\n' "$N" "$many_open" "$many_rss"
printf 'ws_sessions %s, errors %s, left open on the peer %s\n' "$sessions" "$errs" "$(open_now)"
printf 'brunt memory per idle WebSocket connection: %s bytes\n' "$per_conn"
ok=1
((many_open >= N)) || { ok=0; printf 'ws: FAIL: peak %d sessions open, wanted %d\n' "$many_open" "$N"; }
[[ $sessions == "$N" && $errs == 0 ]] || { ok=0; printf 'ws: FAIL: %s sessions, %s errors\n' "$sessions" "$errs"; }
((ok)) && printf 'ws: PASS: %d idle WebSocket sessions at once\n' "$many_open"
((ok))
