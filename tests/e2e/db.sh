# db.sh — throwaway PostgreSQL 15 and Redis 7 for one test file; source it after lib.sh.
#
# Each server runs on a free loopback port in its own temporary directory (made by
# scripts/dbserver.sh, which runs PostgreSQL as a non-root user when we are root) and is
# stopped when the test exits, whatever the outcome.
#
#   start_postgres [NAME=VALUE...]   sets PG_HOST PG_PORT PG_USER PG_PASSWORD PG_DB PG_DSN
#   start_redis [--opt value...]     sets REDIS_PORT REDIS_URL (extra redis-server options)
#   psql_q SQL...                    runs SQL as the superuser (-qAtX, ON_ERROR_STOP), prints rows
#   psql_db DB SQL...                the same in database DB
#   rcli ARGS...                     redis-cli against the test's Redis
#   probe_driver NAME ARGS...        runs $PROBE_DRIVER in the background (NAME.out/.err/.json);
#                                    returns once it printed "probe-driver: started"
#   probe_driver_stop                tells it to stop (a file), waits (30 s) for it to exit
#
# PROBE_DRIVER defaults to probe-driver beside $BRUNT (make builds both).

ROOT_DIR=$(cd "$E2E_DIR/../.." && pwd)
: "${PROBE_DRIVER:=$(dirname "$BRUNT")/probe-driver}"
[[ -x $PROBE_DRIVER ]] || fail "no probe driver at $PROBE_DRIVER (make $(dirname "$BRUNT")/probe-driver)"
_DB_DIRS=()
PROBE_PID=
PROBE_NAME=

_db_cleanup() {
    local rc=$? d
    for d in "${_DB_DIRS[@]}"; do
        "$ROOT_DIR/scripts/dbserver.sh" stop "$d" >/dev/null 2>&1 || true
        rm -rf "$d"
    done
    (exit "$rc")
    _e2e_cleanup
}
trap _db_cleanup EXIT

start_postgres() {
    local dir env
    # Under /tmp, not the test's own (root-only) directory: the server may run as the
    # postgres user, who must be able to reach its data directory.
    dir=$(mktemp -d -u /tmp/brunt-pg.XXXXXX)
    _DB_DIRS+=("$dir")
    env=$("$ROOT_DIR/scripts/dbserver.sh" postgres "$dir" "$@") || fail "PostgreSQL did not start"
    eval "$env"
    export PGPASSWORD=$PG_PASSWORD PG_DIR=$dir
    log "postgres up on 127.0.0.1:$PG_PORT ($dir)"
}

start_redis() {
    local dir env
    dir=$(mktemp -d -u "${TMPDIR:-/tmp}/brunt-redis.XXXXXX")
    _DB_DIRS+=("$dir")
    env=$("$ROOT_DIR/scripts/dbserver.sh" redis "$dir" "$@") || fail "Redis did not start"
    eval "$env"
    REDIS_DIR=$dir
    log "redis up on 127.0.0.1:$REDIS_PORT ($dir)"
}

psql_db() {
    local db=$1
    shift
    local args=() s
    for s in "$@"; do
        args+=(-c "$s")
    done
    psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "${args[@]}"
}

psql_q() {
    psql_db "$PG_DB" "$@"
}

rcli() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"
}

# rinfo FIELD: a number from the test's own INFO read.
rinfo() {
    rcli info everything | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'
}

probe_driver() {
    local name=$1 i
    shift
    PROBE_NAME=$name
    rm -f "$E2E_TMP/$name.stop"
    log "probe-driver $*"
    "$PROBE_DRIVER" --until "$E2E_TMP/$name.stop" --json "$E2E_TMP/$name.json" "$@" \
        >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
    PROBE_PID=$!
    _E2E_PIDS+=("$PROBE_PID")
    for ((i = 0; i < 200; i++)); do
        grep -q 'probe-driver: started' "$E2E_TMP/$name.out" 2>/dev/null && return 0
        alive "$PROBE_PID" || fail "probe-driver exited before starting: $(cat "$E2E_TMP/$name.err")"
        sleep 0.05
    done
    fail "probe-driver did not start within 10 s: $(cat "$E2E_TMP/$name.err")"
}

probe_driver_stop() {
    touch "$E2E_TMP/$PROBE_NAME.stop"
    wait_exit "$PROBE_PID" 30
    ((WAIT_RC == 0)) || fail "probe-driver exited with $WAIT_RC: $(cat "$E2E_TMP/$PROBE_NAME.err")"
    log "probe-driver done"
}
