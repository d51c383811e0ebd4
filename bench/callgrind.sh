#!/usr/bin/env bash
# bench/callgrind.sh — brunt's own instructions per request, counted by callgrind.
#
# Instruction counts do not swing with a shared machine's load the way CPU time does, so
# this is the figure to compare two builds by.  For each build (BRUNT, and BRUNT_BEFORE
# when set) it runs `brunt run -t 1 -c 8 -n N` under valgrind --tool=callgrind against
# `brunt serve` (not traced), once with N = SMALL and once with N = LARGE, and prints the
# marginal cost: (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL) instructions per request, which
# leaves out the fixed start-up and shut-down work.  A scenario-file run (one templated
# request step with a status check) is measured the same way.
#
# Environment: BRUNT (default build/brunt), BRUNT_BEFORE (optional), CG_SMALL (2000),
# CG_LARGE (20000), CG_CONNS (8).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
BRUNT=${BRUNT:-build/brunt}
SMALL=${CG_SMALL:-2000}
LARGE=${CG_LARGE:-20000}
CONNS=${CG_CONNS:-8}
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is missing" >&2; exit 1; }
bench_workdir brunt-callgrind
port=$(bench_free_port)
"$BRUNT" serve -q --port "$port" -t 1 &
serve_pid=$!
trap 'kill -TERM $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; _bench_cleanup' EXIT
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 $serve_pid 2>/dev/null || { echo "callgrind.sh: brunt serve died" >&2; exit 1; }
    sleep 0.05
done
cat >"$work/scen.yaml" <<YAML
scenarios:
  cg:
    executor: shared-iterations
    vus: $CONNS
    iterations: __N__
    flow:
      - request: GET http://127.0.0.1:$port/api/v1/auctions/auction_{{ randint 0 49 }}
        name: item
        check: [status == 200]
YAML

# ir BINARY N MODE: "ALL WORKERS": instructions of one traced run, all threads and the
# worker threads alone (every thread but the first, the coordinator, whose once-a-second
# merging scales with the run's wall time, which callgrind stretches about fifty-fold).
ir() {
    local bin=$1 n=$2 mode=$3 out="$work/cg.out"
    rm -f "$out"*
    if [[ $mode == quick ]]; then
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out.%p" -q --log-file="$work/vg.log" \
            "$bin" run -q --no-summary -t 1 -c "$CONNS" -n "$n" "http://127.0.0.1:$port/" >/dev/null
    else
        sed "s/__N__/$n/" "$work/scen.yaml" >"$work/scen-$n.yaml"
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out.%p" -q --log-file="$work/vg.log" \
            "$bin" run -q --no-summary -t 1 "$work/scen-$n.yaml" >/dev/null
    fi
    local total=0 workers=0 f n
    for f in "$out".*; do
        n=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
        total=$((total + n))
        [[ $f == *-01 ]] || workers=$((workers + n))
    done
    echo "$total $workers"
}

measure() {
    local label=$1 bin=$2 mode
    for mode in quick scenario; do
        local a b
        a=$(ir "$bin" "$SMALL" "$mode")
        b=$(ir "$bin" "$LARGE" "$mode")
        awk -v l="$label" -v m="$mode" -v a="$a" -v b="$b" -v s="$SMALL" -v L="$LARGE" \
            'BEGIN { split(a, x, " "); split(b, y, " ");
                     printf "%-8s %-9s instructions/request: all threads %.0f, worker %.0f\n",
                            l, m, (y[1] - x[1]) / (L - s), (y[2] - x[2]) / (L - s) }'
    done
}

[[ -n ${BRUNT_BEFORE:-} ]] && measure before "$BRUNT_BEFORE"
measure after "$BRUNT"
