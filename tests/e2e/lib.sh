# lib.sh — helpers for the end-to-end tests; each test sources it first.
#
# A test is a bash script run by run.sh in its own temp dir (its cwd and $E2E_TMP) with
# BRUNT set to the binary. It starts `brunt serve` as the target, runs `brunt run`
# against it, and compares what brunt reports (its --export JSON) with what the server
# counted (GET /__stats). It fails by calling `fail` (or any command failing: set -e).
#
# Synchronisation is by bounded polling only; nothing sleeps to "let things settle".
#
#   start_target [serve flags...]  start `brunt serve --port 0 ...`; sets TARGET_URL,
#                                  TARGET_PORT, TARGET_PID; stopped on exit
#   stop_target                    stop the current target (SIGTERM, then SIGKILL)
#   target_stats                   print the target's GET /__stats JSON (over https with
#                                  --cacert $TARGET_CACERT when that is set)
#   stats_requests                 requests the target served (its /__stats .requests)
#   stats_get JQ_PATH              any number from /__stats
#   jnum FILE JQ_PATH              a number from a JSON file (fails if not a number)
#   jval FILE JQ_PATH              a value from a JSON file, raw (strings unquoted)
#   assert_eq EXPECTED ACTUAL MSG  string equality
#   assert_le A B MSG              A <= B (numbers, floats allowed); assert_ge, assert_lt
#   assert_within ACTUAL EXPECTED TOL MSG   |ACTUAL - EXPECTED| <= TOL
#   assert_one_line FILE MSG       FILE holds exactly one non-empty line
#   free_port                      print a loopback TCP port nobody listens on
#   nginx_head DIR                 the head of an nginx.conf for a test nginx in DIR
#   start_nginx DIR URL [CURL...]  run nginx with DIR/nginx.conf until URL answers; NGINX_PID
#   wait_exit PID SECONDS          wait for a background child; sets WAIT_RC (124: still
#                                  running after SECONDS, then it is killed)
#   alive PID                      the process runs (not exited, not a zombie)
#   now_ms                         monotonic-enough wall clock in milliseconds
#   log MSG                        print a progress note into the test output

set -euo pipefail

: "${BRUNT:?set BRUNT to the brunt binary}"
if [[ -z ${E2E_TMP:-} ]]; then
    # Run by hand, outside run.sh: make our own scratch dir and work in it.
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/brunt-e2e.XXXXXX")
    _E2E_OWN_TMP=1
    cd "$E2E_TMP"
fi

TARGET_URL=
TARGET_PORT=
TARGET_PID=
_E2E_PIDS=()
_E2E_NTARGETS=0

log() {
    printf '# %s\n' "$*"
}

# fail MSG: stop the test; the last `brunt run`'s output is shown to help explain why,
# and the message is repeated after it, so that a log cut to its head or its tail has it.
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    if [[ -n ${_E2E_LAST_RUN:-} ]]; then
        show "$_E2E_LAST_RUN" >&2
        printf 'FAIL: %s (the output above is from the last brunt run)\n' "$*" >&2
    fi
    exit 1
}

_e2e_cleanup() {
    local rc=$? pid live=()
    # Only processes that are still our children: a pid already reaped may be reused.
    for pid in "${_E2E_PIDS[@]}"; do
        _e2e_is_child "$pid" && live+=("$pid")
    done
    for pid in "${live[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${live[@]}"; do
        _e2e_reap "$pid" 50
    done
    if [[ ${_E2E_OWN_TMP:-0} == 1 && $rc == 0 ]]; then
        rm -rf "$E2E_TMP"
    fi
    return "$rc"
}
trap _e2e_cleanup EXIT

# alive PID: the process exists and has not exited. (kill -0 alone is not enough: a child
# that exited stays a zombie, and kill -0 succeeds, until the shell waits for it.)
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

_e2e_is_child() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    set -- $stat
    [[ $2 == "$$" ]]
}

# _e2e_reap PID TRIES: wait up to TRIES*0.1 s for PID to exit after a signal, then
# SIGKILL it; reaps it either way.
_e2e_reap() {
    local pid=$1 tries=$2 i
    for ((i = 0; i < tries; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# --- the target -------------------------------------------------------------------------

# start_target [serve flags...]: start `brunt serve --port 0 FLAGS` in the background and
# wait (bounded: 10 s) for its line `brunt serve: listening on http://127.0.0.1:PORT` on
# stdout. Its stdout and stderr go to target.N.out / target.N.err in the test's dir.
start_target() {
    local n out err i line
    _E2E_NTARGETS=$((_E2E_NTARGETS + 1))
    n=$_E2E_NTARGETS
    out=$E2E_TMP/target.$n.out
    err=$E2E_TMP/target.$n.err
    : >"$out"
    log "start_target: brunt serve --port 0 $*"
    "$BRUNT" serve --port 0 "$@" >"$out" 2>"$err" &
    TARGET_PID=$!
    _E2E_PIDS+=("$TARGET_PID")
    line=
    for ((i = 0; i < 200; i++)); do
        line=$(grep -m1 -oE 'brunt serve: listening on https?://(127\.0\.0\.1|\[::1\]):[0-9]+' "$out" || true)
        [[ -n $line ]] && break
        if ! alive "$TARGET_PID"; then
            local rc=0
            wait "$TARGET_PID" 2>/dev/null || rc=$?
            fail "brunt serve $* exited (status $rc) before listening; stderr: $(head -c 2000 "$err")"
        fi
        sleep 0.05
    done
    if [[ -z $line ]]; then
        fail "brunt serve $* printed no 'brunt serve: listening on http://127.0.0.1:PORT' line within 10 s (is stdout flushed?); stdout: $(head -c 500 "$out") stderr: $(head -c 500 "$err")"
    fi
    TARGET_URL=${line#brunt serve: listening on }
    TARGET_PORT=${TARGET_URL##*:}
    export TARGET_URL TARGET_PORT TARGET_PID
    log "target $n up: $TARGET_URL (pid $TARGET_PID)"
}

# stop_target: stop the current target and check it did not crash.
stop_target() {
    [[ -n $TARGET_PID ]] || return 0
    if ! alive "$TARGET_PID"; then
        local rc=0
        wait "$TARGET_PID" || rc=$?
        fail "the target (pid $TARGET_PID) had already died, status $rc; stderr: $(head -c 1000 "$E2E_TMP/target.$_E2E_NTARGETS.err")"
    fi
    kill -TERM "$TARGET_PID" 2>/dev/null || true
    _e2e_reap "$TARGET_PID" 50
    TARGET_PID=
    TARGET_URL=
    TARGET_PORT=
}

# assert_target_alive: the target is still running (it must survive whatever brunt did).
assert_target_alive() {
    alive "$TARGET_PID" ||
        fail "the target died; stderr: $(head -c 1000 "$E2E_TMP/target.$_E2E_NTARGETS.err")"
}

# target_stats: print the target's /__stats document (JSON).
target_stats() {
    [[ -n $TARGET_URL ]] || fail "target_stats: no target running"
    curl -sS --fail --max-time 5 ${TARGET_CACERT:+--cacert "$TARGET_CACERT"} "$TARGET_URL/__stats" ||
        fail "GET $TARGET_URL/__stats failed"
}

# stats_get JQ_PATH: a number from the target's /__stats.
stats_get() {
    local doc v
    doc=$(target_stats)
    v=$(jq -r "$1" <<<"$doc") || fail "/__stats is not JSON: $doc"
    _is_number "$v" || fail "/__stats $1 is '$v', not a number; document: $doc"
    echo "$v"
}

# stats_requests: the requests the target received whole (src/server/server.h: GET
# /__stats and POST /__reset are never counted, so polling does not disturb it).
stats_requests() {
    stats_get '.requests'
}

# --- JSON results ------------------------------------------------------------------------

_is_number() {
    [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# jval FILE JQ_PATH: the raw value ("null" when absent).
jval() {
    [[ -s $1 ]] || fail "$1 does not exist or is empty"
    jq -r "$2" "$1" || fail "$1 is not valid JSON (jq $2)"
}

# jnum FILE JQ_PATH: a number, or fail naming the path.
jnum() {
    local v
    v=$(jval "$1" "$2")
    _is_number "$v" || fail "$1: $2 is '$v', expected a number"
    echo "$v"
}

# --- assertions --------------------------------------------------------------------------

assert_eq() {
    [[ "$1" == "$2" ]] || fail "${3:-values differ}: expected '$1', got '$2'"
    log "ok: ${3:-eq} ($2)"
}

_num_cmp() { # A OP B -> true/false via awk (floats)
    awk -v a="$1" -v b="$3" "BEGIN { exit !(a $2 b) }"
}

assert_le() {
    _is_number "$1" && _is_number "$2" || fail "${3:-assert_le}: not numbers: '$1' '$2'"
    _num_cmp "$1" "<=" "$2" || fail "${3:-assert_le}: expected $1 <= $2"
    log "ok: ${3:-le} ($1 <= $2)"
}

assert_lt() {
    _is_number "$1" && _is_number "$2" || fail "${3:-assert_lt}: not numbers: '$1' '$2'"
    _num_cmp "$1" "<" "$2" || fail "${3:-assert_lt}: expected $1 < $2"
    log "ok: ${3:-lt} ($1 < $2)"
}

assert_ge() {
    _is_number "$1" && _is_number "$2" || fail "${3:-assert_ge}: not numbers: '$1' '$2'"
    _num_cmp "$1" ">=" "$2" || fail "${3:-assert_ge}: expected $1 >= $2"
    log "ok: ${3:-ge} ($1 >= $2)"
}

# assert_within ACTUAL EXPECTED TOL MSG: |ACTUAL - EXPECTED| <= TOL.
assert_within() {
    _is_number "$1" && _is_number "$2" && _is_number "$3" ||
        fail "${4:-assert_within}: not numbers: '$1' '$2' '$3'"
    awk -v a="$1" -v e="$2" -v t="$3" 'BEGIN { d = a - e; if (d < 0) d = -d; exit !(d <= t) }' ||
        fail "${4:-assert_within}: $1 is not within $3 of $2"
    log "ok: ${4:-within} ($1 = $2 +/- $3)"
}

# assert_one_line FILE MSG: exactly one non-empty line (a one-line error message).
assert_one_line() {
    local n
    n=$(grep -c . "$1" || true)
    [[ $n == 1 && $(wc -l <"$1") -le 1 ]] ||
        fail "${2:-assert_one_line}: expected exactly one line in $(basename "$1"), got $n: $(head -c 1000 "$1")"
    log "ok: ${2:-one line}: $(cat "$1")"
}

# assert_no_crash RC WHAT: the exit status is not a signal death (>= 128).
assert_no_crash() {
    (($1 < 128)) || fail "${2:-brunt} died from signal $(($1 - 128)) (status $1)"
}

# --- certificates ------------------------------------------------------------------------

# test_key FILE: a fresh P-256 private key (PEM).
test_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null
}

# test_cert DIR SERIAL: a throwaway CA (DIR/ca.key, DIR/ca.crt) and a server certificate it
# signed (DIR/srv.key, DIR/srv.crt, that serial) for IP:127.0.0.1 and DNS:localhost.
test_cert() {
    local d=$1
    test_key "$d/ca.key"
    openssl req -x509 -new -key "$d/ca.key" -out "$d/ca.crt" -days 2 -subj /CN=brunt-test-ca 2>/dev/null
    test_key "$d/srv.key"
    openssl req -new -key "$d/srv.key" -out "$d/srv.csr" -subj /CN=localhost 2>/dev/null
    openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial "$2" -days 2 \
        -extfile <(echo "subjectAltName=IP:127.0.0.1,DNS:localhost") -out "$d/srv.crt" 2>/dev/null
    [[ -s $d/srv.crt ]] || fail "openssl made no $d/srv.crt"
}

# --- processes ---------------------------------------------------------------------------

# free_port: a loopback TCP port with no listener, never handed out before in this run
# (bound once and released).  The ports given are kept in E2E_PORTS (one file for the
# whole run, from run.sh) under a lock: the kernel may give a just-released port again,
# and two servers of one test once got the same one.  Nothing in these tests binds ports
# except with --port 0, so a port stays free until its server takes it.
free_port() {
    python3 - "${E2E_PORTS:-$E2E_TMP/.ports}" <<'PY'
import fcntl, socket, sys
with open(sys.argv[1], "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    given = set(f.read().split())
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = str(s.getsockname()[1])
        if port not in given:
            f.write(port + "\n")
            print(port)
            break
    else:
        raise SystemExit("free_port: no port not given before in 200 tries")
PY
}

# wait_exit PID SECONDS: wait for a background child of this shell to exit; WAIT_RC is its
# status, or 124 after SECONDS (the child is then killed).
wait_exit() {
    local pid=$1 tries=$(($2 * 20)) i
    for ((i = 0; i < tries; i++)); do
        alive "$pid" || break
        sleep 0.05
    done
    if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        WAIT_RC=124
        return 0
    fi
    WAIT_RC=0
    wait "$pid" || WAIT_RC=$?
}

# brunt_run NAME ARGS...: run `brunt run ARGS` in the foreground under a 120 s timeout,
# stdout to NAME.out, stderr to NAME.err; sets RC (never fails by itself).
brunt_run() {
    local name=$1
    shift
    log "brunt run $*"
    _E2E_LAST_RUN=$name
    RC=0
    timeout -k 5 120 "$BRUNT" run "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" || RC=$?
    log "  -> exit $RC"
    assert_no_crash "$RC" "brunt run $*"
    if ((RC == 124)); then
        fail "brunt run $* did not finish within 120 s"
    fi
}

# show NAME: print a run's stdout and stderr into the test log (for failures).
show() {
    local f
    _E2E_LAST_RUN=
    for f in "$E2E_TMP/$1.out" "$E2E_TMP/$1.err"; do
        [[ -s $f ]] || continue
        printf -- '--- %s\n' "$(basename "$f")"
        tail -n 60 "$f"
    done
}

# start_nginx DIR URL [CURL_FLAGS...]: start nginx with DIR/nginx.conf (prefix DIR/nginx,
# error log DIR/nginx-error.log) in the background, stopped on exit, and wait (bounded:
# 10 s) until `curl -s CURL_FLAGS URL` answers.  Sets NGINX_PID.
start_nginx() {
    local dir=$1 url=$2 i
    shift 2
    nginx -p "$dir/nginx" -c "$dir/nginx.conf" -e "$dir/nginx-error.log" &
    NGINX_PID=$!
    _E2E_PIDS+=("$NGINX_PID")
    for ((i = 0; i < 100; i++)); do
        curl -s "$@" "$url" >/dev/null 2>&1 && return 0
        alive "$NGINX_PID" || fail "nginx exited: $(cat "$dir/nginx-error.log")"
        sleep 0.1
    done
    fail "nginx does not answer $url within 10 s: $(cat "$dir/nginx-error.log")"
}

# nginx_head DIR: the first lines of an nginx.conf for a test's nginx in DIR (one worker,
# in the foreground, its pid, error log and temp paths in DIR), up to the open `http {`.
nginx_head() {
    cat <<CONF
user root;
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx-error.log;
events { worker_connections 1024; }
http {
    client_body_temp_path $1/nginx/body;
    proxy_temp_path $1/nginx/proxy;
    fastcgi_temp_path $1/nginx/fastcgi;
    uwsgi_temp_path $1/nginx/uwsgi;
    scgi_temp_path $1/nginx/scgi;
CONF
}
