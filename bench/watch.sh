#!/usr/bin/env bash
# bench/watch.sh — what watching costs brunt: the CPU of its probe thread (named
# brunt-probe) while it samples a tree of 100 processes and the machine once a second.
#
#   bench/watch.sh                      BRUNT=build/brunt, 100 processes, 60 s
#   WATCH_PROCS=500 WATCH_SECONDS=120 bench/watch.sh
#
# The tree is a parent with 99 sleeping children (each its own process with its own
# /proc entries, as gunicorn or php-fpm workers are).  brunt runs a light load (10 req/s
# at its own built-in target) with --watch PARENT; the script reads the probe thread's
# utime+stime from /proc/BRUNT/task/TID/stat at the start and the end of the run and
# prints it as a share of one core, next to the whole of brunt's CPU for scale.
# The issue's bar: under 1 % of a core.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

BRUNT=${BRUNT:-build/brunt}
PROCS=${WATCH_PROCS:-100}
SECONDS_RUN=${WATCH_SECONDS:-60}
bench_workdir brunt-watch
hz=$(getconf CLK_TCK)

port=$(bench_free_port)
"$BRUNT" serve -q --port "$port" >"$work/serve.log" 2>&1 &
serve_pid=$!
python3 - "$PROCS" >"$work/tree.log" 2>&1 <<'PY' &
import os, sys, time
n = int(sys.argv[1])
print(os.getpid(), flush=True)
kids = []
for _ in range(n - 1):
    pid = os.fork()
    if pid == 0:
        time.sleep(3600)
        os._exit(0)
    kids.append(pid)
time.sleep(3600)
PY
tree_pid=$!
# The children first (while they are still the tree's), then the tree and the server.
trap 'pkill -TERM -P $tree_pid 2>/dev/null; kill $tree_pid $serve_pid 2>/dev/null; _bench_cleanup' EXIT
up=0
for ((i = 0; i < 200; i++)); do # bounded: the tree and the server up within 20 s
    n=$(pgrep -c -P "$tree_pid" || true)
    if ((n >= PROCS - 1)) && curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
        up=1
        break
    fi
    sleep 0.1
done
((up)) || { echo "the tree ($n of $((PROCS - 1)) children) or the server did not come up" >&2; exit 1; }

"$BRUNT" run -q --no-summary -t 1 -c 1 -R 10 -d "${SECONDS_RUN}s" --watch "$tree_pid" \
    --export "$work/result.json" "http://127.0.0.1:$port/" >"$work/run.log" 2>&1 &
brunt_pid=$!
probe_tid=
for ((i = 0; i < 100; i++)); do
    [[ -n $probe_tid ]] && break
    for t in /proc/"$brunt_pid"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == brunt-probe ]] && probe_tid=${t##*/}
    done
    [[ -n $probe_tid ]] || sleep 0.05
done
[[ -n $probe_tid ]] || { echo "no brunt-probe thread in brunt $brunt_pid" >&2; exit 1; }
ticks() { # utime + stime of /proc/$1/... stat
    local f
    f=$(cat "$1") && f=${f##*) } && set -- $f && echo $((${12} + ${13}))
}
t0=$(date +%s%N)
p0=$(ticks "/proc/$brunt_pid/task/$probe_tid/stat")
b0=$(ticks "/proc/$brunt_pid/stat")
last_p=$p0
last_b=$b0
while kill -0 "$brunt_pid" 2>/dev/null; do # the last reading before brunt exits
    p=$(ticks "/proc/$brunt_pid/task/$probe_tid/stat" 2>/dev/null) || break
    b=$(ticks "/proc/$brunt_pid/stat" 2>/dev/null) || break
    last_p=$p last_b=$b t1=$(date +%s%N)
    sleep 0.5
done
wait "$brunt_pid" || true
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
watched=$(jq '.probes.process.targets[0].summary.process_count.max' "$work/result.json")
awk -v p=$((last_p - p0)) -v b=$((last_b - b0)) -v hz="$hz" -v s="$secs" -v n="$watched" \
    -v procs="$PROCS" 'BEGIN {
    printf "watched tree: %d processes (asked %d); %.1f s measured\n", n, procs, s
    printf "probe thread CPU: %.3f s = %.2f%% of a core (bar: < 1%%)\n", p / hz, p / hz / s * 100
    printf "all of brunt:     %.3f s = %.2f%% of a core (10 req/s of load included)\n", b / hz, b / hz / s * 100
    printf "%s\n", p / hz / s * 100 < 1 ? "meets the bar" : "MISSES the bar"
}'
