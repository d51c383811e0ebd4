#!/usr/bin/env bash
# bench/compare_rejudge.sh — judge the runs bench/compare.sh kept (BENCH_KEEP=DIR) again,
# with another build or other options of `brunt compare`, so that two methods are
# measured on the very same runs (a loaded machine never repeats itself).
#
#   BRUNT=build/brunt bench/compare_rejudge.sh DIR [compare options...]
#
# Prints, for the pairs as the bench made them (N/a.json vs N/b.json: the same build;
# N/a.json vs N/s.json: p99 25% slower), false alarms and slowdowns caught, and then the
# same over the cross pairs of different rounds (a_i vs b_j and a_i vs s_j for every
# i != j): more comparisons from the same runs, not independent of each other, but each
# a pair of runs of the same build (or of the slowed target) made minutes apart.
set -euo pipefail
BRUNT=${BRUNT:-build/brunt}
dir=${1:?usage: compare_rejudge.sh DIR [compare options...]}
shift
mapfile -t ids < <(find "$dir" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -n)
judge() { # BASE NEW: prints 1 when p99 (all requests) is a regression or critical, or any
    # figure is (for the same build: any alarm counts)
    local rc=0 out base=$1 new=$2
    shift 2
    out=$("$BRUNT" compare --format json "$@" "$base" "$new") || rc=$?
    jq -r --arg rc "$rc" '[($rc), ([.rows[] | select(.request == "all requests" and .figure == "p99")][0].verdict)]
        | join(" ")' <<<"$out"
}
opts=("$@")
fa=0 caught=0 n=0 xfa=0 xn=0 xc=0 xs=0
for i in "${ids[@]}"; do
    [[ -f $dir/$i/s.json ]] || continue
    n=$((n + 1))
    read -r rc _ < <(judge "$dir/$i/a.json" "$dir/$i/b.json" "${opts[@]}")
    ((rc == 110 || rc == 111)) && fa=$((fa + 1))
    read -r _ v < <(judge "$dir/$i/a.json" "$dir/$i/s.json" "${opts[@]}")
    [[ $v == regression || $v == critical ]] && caught=$((caught + 1))
done
for i in "${ids[@]}"; do
    for j in "${ids[@]}"; do
        [[ $i != "$j" && -f $dir/$i/s.json && -f $dir/$j/s.json ]] || continue
        for same in "$dir/$i/a.json $dir/$j/b.json" "$dir/$i/b.json $dir/$j/a.json"; do
            read -r rc _ < <(judge ${same} "${opts[@]}")
            xn=$((xn + 1))
            ((rc == 110 || rc == 111)) && xfa=$((xfa + 1))
        done
        read -r _ v < <(judge "$dir/$i/a.json" "$dir/$j/s.json" "${opts[@]}")
        xs=$((xs + 1))
        [[ $v == regression || $v == critical ]] && xc=$((xc + 1))
    done
done
echo "options: ${opts[*]:-(defaults)}"
echo "pairs: false alarms $fa of $n, slowdown caught $caught of $n"
echo "cross pairs: false alarms $xfa of $xn, slowdown caught $xc of $xs"
