#!/usr/bin/env bash
# Faults of the database probes, against real servers: unreachable servers, wrong
# passwords, pg_stat_statements missing or not readable, a role that may not see other
# roles' queries, and both servers restarted in the middle of a run.  Each gives one
# clear line (or a note in the section), the run goes on, and the section says what
# could not be measured.
source "$E2E_DIR/lib.sh"
source "$E2E_DIR/db.sh"

start_postgres
start_redis

# --- unreachable servers: one line each, "available": false with the reason ---------------
port=$(free_port)
probe_driver down --postgres "postgresql://app:hunter2x@127.0.0.1:$port/shop" \
    --redis "redis://:hunter2x@127.0.0.1:$port/0"
probe_driver_stop
grep -c . "$E2E_TMP/down.err" | grep -qx 2 || fail "expected two lines (one per probe): $(cat "$E2E_TMP/down.err")"
grep -q "postgres: postgresql://app:\*\*\*@127.0.0.1:$port/shop: .*refused" "$E2E_TMP/down.err" ||
    fail "no clear PostgreSQL line: $(cat "$E2E_TMP/down.err")"
grep -q "redis: cannot connect to redis://:\*\*\*@127.0.0.1:$port/0: .*refused" "$E2E_TMP/down.err" ||
    fail "no clear Redis line: $(cat "$E2E_TMP/down.err")"
j=$E2E_TMP/down.json
assert_eq false "$(jval "$j" .probes.postgres.available)" "postgres not available"
assert_eq false "$(jval "$j" .probes.redis.available)" "redis not available"
jval "$j" .probes.postgres.error | grep -q refused || fail "the section does not say why"
grep -q 'not measured: ' "$E2E_TMP/down.out" || fail "the summary does not say what was not measured"
! grep -rqF hunter2x "$E2E_TMP"/down.* || fail "a password was printed or written"

# --- wrong passwords ----------------------------------------------------------------------
probe_driver badpw --postgres "postgresql://postgres:wrong-pw-1@127.0.0.1:$PG_PORT/$PG_DB"
probe_driver_stop
assert_one_line "$E2E_TMP/badpw.err" "a wrong PostgreSQL password is one line"
grep -q 'password authentication failed' "$E2E_TMP/badpw.err" || fail "$(cat "$E2E_TMP/badpw.err")"
! grep -rqF wrong-pw-1 "$E2E_TMP"/badpw.* || fail "the wrong password was printed"

start_redis --requirepass s3cr3t-redis
probe_driver rnopw --redis "redis://127.0.0.1:$REDIS_PORT/0"
probe_driver_stop
assert_one_line "$E2E_TMP/rnopw.err" "a missing Redis password is one line"
grep -q 'wants a password' "$E2E_TMP/rnopw.err" || fail "$(cat "$E2E_TMP/rnopw.err")"
probe_driver rbadpw --redis "redis://:nope-nope@127.0.0.1:$REDIS_PORT/0"
probe_driver_stop
assert_one_line "$E2E_TMP/rbadpw.err" "a wrong Redis password is one line"
grep -q 'authentication failed' "$E2E_TMP/rbadpw.err" || fail "$(cat "$E2E_TMP/rbadpw.err")"
! grep -rqF nope-nope "$E2E_TMP"/rbadpw.* || fail "the wrong password was printed"
probe_driver rgoodpw --redis "redis://:s3cr3t-redis@127.0.0.1:$REDIS_PORT/0"
probe_driver_stop
assert_eq true "$(jval "$E2E_TMP/rgoodpw.json" .probes.redis.available)" "the right password works"
! grep -rqF s3cr3t-redis "$E2E_TMP"/rgoodpw.* || fail "the password was printed or written"

# --- pg_stat_statements missing: say how to enable it, measure the rest --------------------
psql_q "CREATE DATABASE noext"
probe_driver noext --postgres "postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/noext"
psql_db noext "SELECT 1" >/dev/null
probe_driver_stop
j=$E2E_TMP/noext.json
assert_eq true "$(jval "$j" .probes.postgres.available)" "the rest is measured"
assert_eq false "$(jval "$j" .probes.postgres.pg_stat_statements.available)" "no pg_stat_statements"
note=$(jval "$j" .probes.postgres.pg_stat_statements.note)
[[ $note == *"shared_preload_libraries = 'pg_stat_statements'"*"CREATE EXTENSION pg_stat_statements"* ]] ||
    fail "the note does not say how to enable it: $note"
assert_ge "$(jnum "$j" .probes.postgres.database_stats.xact_commit)" 1 "commits still counted"
grep -q 'no per-query figures: ' "$E2E_TMP/noext.out" || fail "the summary does not say it"

# --- a role that may not read pg_stat_statements, then one that sees only its own ----------
psql_q "CREATE ROLE nostats LOGIN PASSWORD 'nostats-pw'" \
    "REVOKE SELECT ON pg_stat_statements FROM PUBLIC"
probe_driver noperm --postgres "postgresql://nostats:nostats-pw@127.0.0.1:$PG_PORT/$PG_DB"
probe_driver_stop
j=$E2E_TMP/noperm.json
assert_eq true "$(jval "$j" .probes.postgres.available)" "still measured"
note=$(jval "$j" .probes.postgres.pg_stat_statements.note)
[[ $note == *"may not read pg_stat_statements"*"GRANT SELECT ON pg_stat_statements TO nostats"* ]] ||
    fail "the note does not say what to grant: $note"
psql_q "GRANT SELECT ON pg_stat_statements TO PUBLIC"
probe_driver hidden --postgres "postgresql://nostats:nostats-pw@127.0.0.1:$PG_PORT/$PG_DB"
psql_q "SELECT count(*) FROM auctions_missing_table_is_fine" >/dev/null 2>&1 || true
psql_q "SELECT 42" >/dev/null
probe_driver_stop
j=$E2E_TMP/hidden.json
assert_eq true "$(jval "$j" .probes.postgres.pg_stat_statements.available)" "readable"
assert_eq false "$(jval "$j" .probes.postgres.pg_stat_statements.all_roles_visible)" "not all roles"
jval "$j" .probes.postgres.pg_stat_statements.note | grep -q 'GRANT pg_read_all_stats TO nostats' ||
    fail "the note does not say how to see every role's queries"

# --- Redis restarted mid-run ---------------------------------------------------------------
start_redis
for i in $(seq 0 9); do echo "SET k:$i v"; done | rcli >/dev/null
probe_driver rrestart --redis "$REDIS_URL"
for i in $(seq 0 9); do echo "GET k:$i"; done | rcli >/dev/null
rcli shutdown nosave >/dev/null 2>&1 || true
for ((i = 0; i < 100; i++)); do rcli ping >/dev/null 2>&1 || break; sleep 0.05; done
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$REDIS_DIR/redis.pid" --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" >/dev/null
for ((i = 0; i < 100; i++)); do rcli ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
for i in $(seq 0 19); do echo "GET k:$i"; done | rcli >/dev/null # all miss: the data is gone
probe_driver_stop
j=$E2E_TMP/rrestart.json
alive "$PROBE_PID" && fail "the driver still runs"
assert_ge "$(jnum "$j" .probes.redis.restarts)" 1 "the restart was seen"
assert_ge "$(jnum "$j" .probes.redis.totals.keyspace_misses)" 20 "misses after the restart counted"
assert_le "$(jnum "$j" .probes.redis.totals.keyspace_hits)" 10 "no hits invented"
jval "$j" .probes.redis.error | grep -q restarted || fail "the section does not say it restarted"

# --- PostgreSQL restarted mid-run ----------------------------------------------------------
probe_driver pgrestart --postgres "$PG_DSN"
psql_q "SELECT 1" >/dev/null
if [[ -n $PG_RUNAS ]]; then
    runuser -u "$PG_RUNAS" -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w restart >/dev/null
else
    "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w restart >/dev/null
fi
for ((i = 0; i < 100; i++)); do psql_q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.05; done
psql_q "SELECT 2" >/dev/null
probe_driver_stop
j=$E2E_TMP/pgrestart.json
assert_eq true "$(jval "$j" .probes.postgres.available)" "still measured"
assert_eq 1 "$(jnum "$j" .probes.postgres.restarts)" "the restart was seen"
jval "$j" .probes.postgres.error | grep -q 'restarted' || fail "the section does not say it: $(jval "$j" .probes.postgres.error)"
