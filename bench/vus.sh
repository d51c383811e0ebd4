#!/usr/bin/env bash
# vus.sh — 10,000 virtual users with think time, and brunt's resident memory per VU.
#
# The bar (issue 3): 10,000 virtual users with think time on this machine: brunt's
# resident memory per VU <= 16 KiB.
#
# Starts `brunt serve --port 0 -t 1` and runs a generated scenario file against it:
# constant-vus, BENCH_VUS VUs (default 10000) for BENCH_SECONDS (30), each looping
#   POST /auth/login  (json template body, extract {token: json $.token}, check 200)
#   GET /users/me     (Authorization: Bearer {{ token }}, check 200)
#   sleep: 5s         (think time, BENCH_THINK)
# Once every VU is active — polled, not slept on: the server has as many connections
# open as there are VUs and has answered one /users/me per VU, so every VU holds its
# connection, its token and its variables — it reads brunt's VmRSS and VmHWM from
# /proc/PID/status, and keeps polling to the end for the highest VmRSS; the peak of the
# whole run is the process's maximum RSS from GNU time. The same is done with 10 VUs as
# a baseline. Memory per VU is (RSS_N - RSS_10) / (N - 10), at the all-active moment and
# at the peak. It also checks that nothing failed: http_req_failed rate 0, every error
# kind 0, no failed check, the server's request count equal to brunt's http_reqs and no
# 401 at the server (the tokens flowed). See bench/README.md.
#
# BENCH_VUS (10000), BENCH_BASE_VUS (10), BENCH_SECONDS (30), BENCH_THINK (5s),
# BENCH_THREADS (brunt run -t, default 2), BRUNT (build/brunt).
# Exit status: 0 when it ran and nothing failed (a figure above the bar is reported, not
# an error), 1 when something needed is missing, a run failed or requests failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
N=${BENCH_VUS:-10000}
N0=${BENCH_BASE_VUS:-10}
SECS=${BENCH_SECONDS:-30}
THINK=${BENCH_THINK:-5s}
THREADS=${BENCH_THREADS:-2}
BAR=16384

die() { printf 'vus: %s\n' "$*" >&2; exit 1; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is missing: apt-get install time"
for tool in jq curl awk pgrep; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
for v in N N0 SECS THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || die "$v must be a positive whole number (got '${!v}')"
done
((N > N0)) || die "BENCH_VUS ($N) must be larger than BENCH_BASE_VUS ($N0)"

# brunt needs a descriptor per VU (and brunt serve one per connection): raise the soft
# limit to the hard one here; both raise their own too.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < N + 100)); then
    die "the hard open-files limit is $hard; $N VUs need $((N + 100)) (raise it, e.g. ulimit -Hn as root)"
fi
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
((hi - lo + 1 >= N)) || die "only $((hi - lo + 1)) local ports (net.ipv4.ip_local_port_range); $N VUs need more"

work=$(mktemp -d "${TMPDIR:-/tmp}/brunt-vus.XXXXXX")
serve_pid=
run_pid=
cleanup() {
    if [[ -n $run_pid ]]; then
        kill -TERM "$run_pid" 2>/dev/null || true
        wait "$run_pid" 2>/dev/null || true
    fi
    if [[ -n $serve_pid ]]; then
        kill -TERM "$serve_pid" 2>/dev/null || true
        wait "$serve_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$BRUNT" serve --port 0 -t 1 -q >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
base=
for ((i = 0; i < 100; i++)); do
    base=$(head -1 "$work/serve.out" | grep -oE 'http://127\.0\.0\.1:[0-9]+' || true)
    [[ -n $base ]] && break
    kill -0 "$serve_pid" 2>/dev/null || die "brunt serve exited: $(cat "$work/serve.err")"
    sleep 0.1
done
[[ -n $base ]] || die "brunt serve did not print its address"

stats() { curl -sS --max-time 10 "$base/__stats"; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# The scenario file takes its VU count from the environment (${VUS}), so one file
# serves both runs.
cat >"$work/vus.yaml" <<YAML
name: bench-vus
base_url: $base
options: {threads: $THREADS, timeout: 30s}
scenarios:
  users:
    executor: constant-vus
    vus: \${VUS}
    duration: ${SECS}s
    graceful_stop: 30s
    flow:
      - request: POST /auth/login
        json: {email: "user{{ vu }}@example.com", password: secret}
        extract: {token: json \$.token}
        check: [status == 200]
      - request: GET /users/me
        headers: {Authorization: "Bearer {{ token }}"}
        check: [status == 200]
      - sleep: $THINK
YAML
VUS=$N "$BRUNT" run --check "$work/vus.yaml" >"$work/check.out" 2>&1 ||
    die "the generated scenario does not load: $(cat "$work/check.out")"

# measure NAME VUS: run the scenario with VUS VUs; once all are active, read brunt's
# memory. Prints "rss_active_kib hwm_active_kib rss_max_polled_kib maxrss_kib
# seconds_to_active" and leaves NAME.json (brunt's result) and NAME.stats (the server's).
measure() {
    local name=$1 v=$2 pid='' i s open_now me rss t0 t_active=''
    local rss_active=0 hwm_active=0 rss_max=0
    curl -sf -X POST "$base/__reset" >/dev/null || die "POST $base/__reset failed"
    t0=$(date +%s.%N)
    VUS=$v /usr/bin/time -f '%M' -o "$work/$name.time" \
        "$BRUNT" run -q --export "$work/$name.json" "$work/vus.yaml" >"$work/$name.out" 2>&1 &
    run_pid=$!
    for ((i = 0; i < 100; i++)); do
        pid=$(pgrep -P "$run_pid" || true)
        [[ -z $pid ]] || break
        sleep 0.05
    done
    [[ -n $pid ]] || die "could not find brunt's process under /usr/bin/time ($run_pid)"
    # Poll four times a second until the run ends (bounded by its duration plus grace).
    for ((i = 0; i < (SECS + 60) * 4; i++)); do
        [[ -r /proc/$pid/status && $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
        rss=$(status_kib "$pid" VmRSS)
        [[ -n $rss ]] || break
        ((rss > rss_max)) && rss_max=$rss
        if [[ -z $t_active ]]; then
            s=$(stats) || die "GET $base/__stats failed"
            read -r open_now me < <(jq -r '[.connections_open, (.by_route["/users/me"] // 0)] | @tsv' <<<"$s")
            # connections_open counts the /__stats connection itself.
            if ((open_now - 1 >= v && me >= v)); then
                rss_active=$(status_kib "$pid" VmRSS)
                hwm_active=$(status_kib "$pid" VmHWM)
                t_active=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
            fi
        fi
        sleep 0.25
    done
    local rc=0
    wait "$run_pid" || rc=$?
    run_pid=
    ((rc == 0)) || die "brunt run with $v VUs exited $rc: $(tail -5 "$work/$name.out")"
    [[ -n $t_active ]] || die "with $v VUs, the server never saw them all active (open connections, /users/me answered)"
    stats >"$work/$name.stats" || die "GET $base/__stats failed"
    echo "$rss_active $hwm_active $rss_max $(tail -1 "$work/$name.time") $t_active"
}

# verify NAME VUS: prints the request check line; returns 1 when something failed.
verify() {
    local name=$1 v=$2 reqs failed errs cfails served unauth
    read -r reqs failed errs cfails < <(jq -r '[.metrics.http_reqs.values.count,
        .metrics.http_req_failed.values.rate, ([.errors[]] | add // 0),
        (.metrics.checks.values.fails // 0)] | @tsv' "$work/$name.json")
    read -r served unauth < <(jq -r '[.requests, .unauthorized] | @tsv' "$work/$name.stats")
    printf '%6d VUs: requests brunt %s, server %s; http_req_failed rate %s; errors %s; failed checks %s; 401s %s\n' \
        "$v" "$reqs" "$served" "$failed" "$errs" "$cfails" "$unauth"
    [[ $failed == 0 && $errs == 0 && $cfails == 0 && $unauth == 0 && $reqs == "$served" && $reqs -gt 0 ]]
}

printf 'vus: %s; brunt serve -t 1 on %s; brunt run -t %s, constant-vus for %ss:\n' \
    "$("$BRUNT" version 2>/dev/null | head -1)" "$base" "$THREADS" "$SECS"
printf 'vus: flow POST /auth/login (json template, extract json $.token) -> GET /users/me (Bearer {{ token }}) -> sleep %s\n' "$THINK"
printf 'vus: load average before: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

measure base "$N0" >"$work/base.txt"
read -r b_rss b_hwm b_max b_peak b_t <"$work/base.txt"
measure load "$N" >"$work/load.txt"
read -r l_rss l_hwm l_max l_peak l_t <"$work/load.txt"

per_vu() { awk -v a="$1" -v b="$2" -v n="$N" -v m="$N0" 'BEGIN { printf "%.0f", (a - b) * 1024 / (n - m) }'; }
active=$(per_vu "$l_rss" "$b_rss")
peak=$(per_vu "$l_peak" "$b_peak")

printf '\n%-22s %12s %12s %14s %14s\n' "" "VmRSS KiB" "VmHWM KiB" "max VmRSS KiB" "peak RSS KiB"
printf '%-22s %12s %12s %14s %14s   (all active after %ss)\n' "baseline ($N0 VUs)" "$b_rss" "$b_hwm" "$b_max" "$b_peak" "$b_t"
printf '%-22s %12s %12s %14s %14s   (all active after %ss)\n' "load ($N VUs)" "$l_rss" "$l_hwm" "$l_max" "$l_peak" "$l_t"
printf '(VmRSS, VmHWM: once all VUs are active; max VmRSS: highest polled; peak RSS: maxrss of the whole run, GNU time)\n\n'

ok=1
verify base "$N0" || ok=0
verify load "$N" || ok=0

printf '\nbrunt memory per VU, all active: (%s - %s) KiB / %d = %s bytes\n' "$l_rss" "$b_rss" $((N - N0)) "$active"
printf 'brunt memory per VU, peak:       (%s - %s) KiB / %d = %s bytes\n' "$l_peak" "$b_peak" $((N - N0)) "$peak"
if ((active <= BAR && peak <= BAR)); then
    printf 'vus: meets the bar (<= 16 KiB): %s bytes per VU all active, %s at the peak\n' "$active" "$peak"
else
    printf 'vus: ABOVE the bar (<= 16 KiB): %s bytes per VU all active, %s at the peak\n' "$active" "$peak"
fi
printf 'vus: load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
if ((!ok)); then
    printf 'vus: FAIL: requests failed or the counts disagree (see above)\n'
    exit 1
fi
