#!/usr/bin/env bash
# scenario.sh — what a scenario flow costs brunt per request, against quick mode.
#
# The bar (issue 3): a 3-step flow with templates and one JSON extraction costs at most
# 1.3x the CPU per request of quick mode on the same target.
#
# nginx (one worker, keep-alive, no access log) runs pinned to core 0 with three static
# locations (/login, /profile, /items) that each answer a small fixed JSON body, so every
# request costs the server the same. brunt runs alone, pinned to core 1, one thread, 64
# VUs (closed model), BENCH_SECONDS per run (default 10), in two modes:
#   quick: brunt run -t 1 -c 64 -d 10s http://127.0.0.1:PORT/profile
#   flow:  brunt run FLOW.yaml, a generated scenario file: constant-vus, 64 VUs, one
#          thread; POST /login with a templated json body and `extract: {token: json
#          $.token}`; GET /profile with `Authorization: Bearer {{ token }}` and
#          `check: [status == 200]`; GET /items?limit={{ randint 1 50 }}; no sleep.
# Rounds alternate which mode goes first (BENCH_ROUNDS, default 3). CPU time is brunt's
# user + system time (getrusage of the child); requests come from its --export JSON
# (.metrics.http_reqs.values.count). Prints each round, the medians and the ratio
# flow/quick of CPU-µs per request with the verdict. When the ratio is above the bar
# (or BENCH_PROFILE=always) it profiles one flow run with `perf record -e cpu-clock -g`
# and prints the top user-space symbols. See bench/README.md.
#
# BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_VUS (64), BENCH_PROFILE (auto | always |
# never), BRUNT (build/brunt). Exit status: 0 when it ran (a figure above the bar is
# reported, not an error), 1 when something needed is missing or a run failed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BRUNT=${BRUNT:-$here/../build/brunt}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
VUS=${BENCH_VUS:-64}
PROFILE=${BENCH_PROFILE:-auto}
BAR=1.3

die() { printf 'scenario: %s\n' "$*" >&2; exit 1; }
note() { printf 'scenario: note: %s\n' "$*" >&2; }

[[ -x $BRUNT ]] || die "no brunt binary at $BRUNT (run make first, or set BRUNT)"
for tool in nginx jq python3 taskset curl awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing: run scripts/setup.sh"
done
[[ $SECS =~ ^[0-9]+$ ]] && ((SECS > 0)) || die "BENCH_SECONDS must be a whole number of seconds"
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS > 0)) || die "BENCH_ROUNDS must be a positive whole number"
[[ $VUS =~ ^[0-9]+$ ]] && ((VUS > 0)) || die "BENCH_VUS must be a positive whole number"
case $PROFILE in auto | always | never) ;; *) die "BENCH_PROFILE must be auto, always or never" ;; esac

. "$here/lib.sh"
bench_pin brunt
bench_workdir brunt-scenario
port=$(bench_free_port)
mkdir -p "$work/tmp"
# Three static locations answering small JSON bodies of the same length: the server's
# cost per request is the same whichever step asks. `return` discards a request body.
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $work/nginx.pid;
error_log $work/error.log warn;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    access_log off;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path $work/tmp/body;
    proxy_temp_path $work/tmp/proxy;
    fastcgi_temp_path $work/tmp/fastcgi;
    uwsgi_temp_path $work/tmp/uwsgi;
    scgi_temp_path $work/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        default_type application/json;
        location = /login   { return 200 '{"token":"abc123"}'; }
        location = /profile { return 200 '{"name":"user_1"}\n'; }
        location = /items   { return 200 '{"items":[1,2,3]}'; }
        location /          { return 404; }
    }
}
CONF
"${PIN_SERVER[@]}" nginx -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.stderr" &
nginx_pid=$!
base="http://127.0.0.1:$port"
for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null --max-time 1 "$base/profile" && break
    kill -0 "$nginx_pid" 2>/dev/null || die "nginx did not start: $(cat "$work/nginx.stderr" "$work/error.log" 2>/dev/null)"
    sleep 0.1
done
curl -sf -o /dev/null --max-time 1 "$base/profile" || die "nginx does not answer on $base/profile"
[[ $(curl -sf -X POST -d '{}' "$base/login") == '{"token":"abc123"}' ]] || die "nginx's /login does not answer the token"

flow=$work/flow.yaml
cat >"$flow" <<YAML
name: bench-flow
base_url: $base
options: {threads: 1}
scenarios:
  flow:
    executor: constant-vus
    vus: $VUS
    duration: ${SECS}s
    flow:
      - request: POST /login
        json: {email: "user{{ vu }}@example.com", password: secret, pin: "{{ randint 1 1000 }}"}
        extract: {token: json \$.token}
      - request: GET /profile
        headers: {Authorization: "Bearer {{ token }}"}
        check: [status == 200]
      - request: GET /items?limit={{ randint 1 50 }}
YAML
"$BRUNT" run --check "$flow" >"$work/check.out" 2>&1 || die "the generated flow does not load: $(cat "$work/check.out")"

# cpu_run CPUFILE CMD...: run CMD; write "user_us system_us" of its CPU time to CPUFILE;
# return its exit status.
cpu_run() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%d %d\n" % (round(ru.ru_utime * 1e6), round(ru.ru_stime * 1e6)))
sys.exit(rc if rc >= 0 else 128 - rc)
PY
}

# run_mode MODE ROUND: prints "req/s requests user_us sys_us"
run_mode() {
    local mode=$1 r=$2 json=$work/$1.$2.json out=$work/$1.$2.txt
    local -a cmd
    if [[ $mode == quick ]]; then
        cmd=("$BRUNT" run -q -t 1 -c "$VUS" -d "${SECS}s" --export "$json" "$base/profile")
    else
        cmd=("$BRUNT" run -q --export "$json" "$flow")
    fi
    cpu_run "$work/$mode.$r.cpu" "${PIN_GEN[@]}" "${cmd[@]}" >"$out" 2>&1 ||
        die "brunt ($mode) failed: $(tail -5 "$out")"
    local rps reqs failed errs cfails
    read -r rps reqs failed errs cfails < <(jq -r '[.metrics.http_reqs.values.rate,
        .metrics.http_reqs.values.count, .metrics.http_req_failed.values.rate,
        ([.errors[]] | add // 0), (.metrics.checks.values.fails // 0)] | @tsv' "$json")
    if [[ $failed != 0 || $errs != 0 || $cfails != 0 ]]; then
        note "$mode round $r: http_req_failed rate $failed, errors $errs, failed checks $cfails (figures suspect)"
    fi
    echo "$rps $reqs $(cat "$work/$mode.$r.cpu")"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
per_req() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.3f", (n > 0) ? c / n : 0 }'; }

printf 'brunt scenario bench: %s against %s on %s (%s)\n' "$("$BRUNT" version 2>/dev/null | head -1)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$base" "$pin_note"
printf 'quick: brunt run -t 1 -c %d -d %ss %s/profile\n' "$VUS" "$SECS" "$base"
printf 'flow:  %d VUs, 1 thread, %ss: POST /login (json template, extract json $.token) -> GET /profile (Bearer {{ token }}, check status == 200) -> GET /items?limit={{ randint 1 50 }}\n' \
    "$VUS" "$SECS"
printf '%d rounds, order alternates; load average before: %s\n\n' "$ROUNDS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-6s %10s %10s %12s %12s\n' round mode req/s requests CPU-µs/req user-µs/req

declare -A cpr usr
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2 == 1)); then order=(quick flow); else order=(flow quick); fi
    for mode in "${order[@]}"; do
        run_mode "$mode" "$r" >"$work/result"
        read -r rps reqs ut st <"$work/result"
        c=$(per_req $((ut + st)) "$reqs")
        u=$(per_req "$ut" "$reqs")
        printf '%-6s %-6s %10.0f %10d %12s %12s\n' "$r" "$mode" "$rps" "$reqs" "$c" "$u"
        cpr[$mode]+="$c " usr[$mode]+="$u "
    done
done

# shellcheck disable=SC2086 # the lists are space-separated numbers
{
    c_quick=$(median ${cpr[quick]})
    c_flow=$(median ${cpr[flow]})
    u_quick=$(median ${usr[quick]})
    u_flow=$(median ${usr[flow]})
}
ratio=$(awk -v a="$c_flow" -v b="$c_quick" 'BEGIN { printf "%.3f", a / b }')
uratio=$(awk -v a="$u_flow" -v b="$u_quick" 'BEGIN { printf "%.3f", a / b }')
above=$(awk -v r="$ratio" -v b="$BAR" 'BEGIN { print (r > b) ? 1 : 0 }')
if ((above)); then verdict="ABOVE the bar (<= $BAR)"; else verdict="meets the bar (<= $BAR)"; fi
printf '\nmedian quick %8.3f CPU-µs/req  (user %.3f)\n' "$c_quick" "$u_quick"
printf 'median flow  %8.3f CPU-µs/req  (user %.3f)\n' "$c_flow" "$u_flow"
printf 'ratio flow/quick CPU per request: %s  %s\n' "$ratio" "$verdict"
printf 'ratio flow/quick user-space CPU per request: %s (not the bar; the part templates and extraction add to)\n' "$uratio"
printf 'load average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $PROFILE == always || ($PROFILE == auto && $above == 1) ]]; then
    if ! command -v perf >/dev/null 2>&1; then
        note "perf is missing: no profile"
        exit 0
    fi
    printf '\nprofile of one flow run (perf record -e cpu-clock -g), top user-space symbols (self):\n'
    if perf record -q -e cpu-clock -g -o "$work/perf.data" -- "${PIN_GEN[@]}" "$BRUNT" run -q "$flow" \
        >"$work/perf.out" 2>&1; then
        perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -q -g none 2>/dev/null |
            grep -v '\[k\]' | grep -v '^ *$' | head -25
        printf 'user/kernel split of the samples: %s\n' "$(perf report -i "$work/perf.data" --no-children \
            --sort dso --stdio -q -g none 2>/dev/null | awk '$2 ~ /kernel/ { k += $1 } $2 !~ /kernel/ { u += $1 }
            END { printf "user %.1f%%, kernel %.1f%%", u, k }')"
    else
        note "perf record failed: $(tail -3 "$work/perf.out")"
    fi
fi
exit 0
