#!/usr/bin/env bash
# `brunt run --postgres --redis`: the probes inside a real load test.  The database and
# the cache get load from this test (misses against Redis, queries against PostgreSQL)
# while brunt loads `brunt serve`; the summary has both sections, the result has
# probes.postgres and probes.redis with the figures this test reads itself, and a
# threshold on redis_hit_rate and pg_connections_used judges the run (exit 99).
source "$E2E_DIR/lib.sh"
source "$E2E_DIR/db.sh"

start_postgres
start_redis
start_target

# Cache load during the run: 400 misses and 100 hits, started once brunt has begun.
rcli set hot v >/dev/null
cache_load() {
    for i in $(seq 0 399); do echo "GET miss:$i"; done | rcli >/dev/null
    for i in $(seq 0 99); do echo "GET hot"; done | rcli >/dev/null
}
m0=$(rinfo keyspace_misses)
h0=$(rinfo keyspace_hits)
"$BRUNT" run -c 2 -d 3s -q --postgres "$PG_DSN" --redis "$REDIS_URL" \
    --threshold 'redis_hit_rate:rate>0.9' --threshold 'pg_connections_used:max<80' \
    --export "$E2E_TMP/run.json" "$TARGET_URL/" >"$E2E_TMP/run.out" 2>"$E2E_TMP/run.err" &
pid=$!
_E2E_PIDS+=("$pid")
_E2E_LAST_RUN=run
# The probes start before the load: wait (bounded) for the probe's own Redis client.
for ((i = 0; i < 100; i++)); do
    rcli client list | grep -q 'name=brunt-probe' && break
    sleep 0.05
done
cache_load
wait_exit "$pid" 60
m1=$(rinfo keyspace_misses)
h1=$(rinfo keyspace_hits)
assert_eq 99 "$WAIT_RC" "the hit-rate threshold failed the run"
j=$E2E_TMP/run.json
assert_eq "$((m1 - m0))" "$(jnum "$j" .probes.redis.totals.keyspace_misses)" "misses as redis-cli counts"
assert_eq "$((h1 - h0))" "$(jnum "$j" .probes.redis.totals.keyspace_hits)" "hits as redis-cli counts"
assert_eq 1 "$(jval "$j" '[.probes.redis.findings[] | select(.kind == "hit_rate")] | length')" \
    "the hit-rate finding"
assert_eq true "$(jval "$j" .probes.postgres.available)" "postgres measured"
assert_eq 50 "$(jnum "$j" .probes.postgres.activity.max_connections)" "max_connections read"
grep -q '^  postgres postgresql://postgres:\*\*\*@' "$E2E_TMP/run.out" || fail "no postgres section"
grep -q '^  redis redis://' "$E2E_TMP/run.out" || fail "no redis section"
grep -q 'redis_hit_rate' "$E2E_TMP/run.out" || fail "the threshold is not in the summary"
! grep -qF "$PG_PASSWORD" "$E2E_TMP/run.out" "$E2E_TMP/run.err" "$j" || fail "the password leaked"

# A bad DSN is bad input: one line, exit 2, nothing run.
brunt_run bad --postgres 'dbname=shop password=zq9secret oops' "$TARGET_URL/"
assert_eq 2 "$RC" "a bad DSN exits 2"
assert_one_line "$E2E_TMP/bad.err" "one line for a bad DSN"
! grep -q 'zq9secret' "$E2E_TMP/bad.err" || fail "the password of a bad DSN was printed"
brunt_run badr --redis 'rediss://x' "$TARGET_URL/"
assert_eq 2 "$RC" "a bad Redis URL exits 2"
assert_one_line "$E2E_TMP/badr.err" "one line for a bad Redis URL"

# The same from a scenario file's watch: section, the DSN from the environment (${ENV}),
# so the password is never written in the file.
cat >"$E2E_TMP/watched.yaml" <<'YAML'
name: db-watched
base_url: ${TARGET_URL}
watch:
  postgres: ${PG_DSN}
  redis: ${REDIS_URL}
  postgres_settle: 2s
scenarios:
  once:
    executor: shared-iterations
    vus: 2
    iterations: 20
    flow:
      - request: GET /
        name: root
YAML
export PG_DSN REDIS_URL TARGET_URL
brunt_run file --no-watch-machine --export "$E2E_TMP/file.json" "$E2E_TMP/watched.yaml"
assert_eq 0 "$RC" "the scenario file ran"
assert_eq true "$(jval "$E2E_TMP/file.json" .probes.postgres.available)" "watch: postgres probed"
assert_eq true "$(jval "$E2E_TMP/file.json" .probes.redis.available)" "watch: redis probed"
! grep -qF "$PG_PASSWORD" "$E2E_TMP/file.out" "$E2E_TMP/file.err" "$E2E_TMP/file.json" ||
    fail "the password from the environment leaked"
printf 'name: bad\nbase_url: %s\nwatch: {postgres_settle: 90s}\nscenarios: {s: {executor: shared-iterations, iterations: 1, flow: [{request: GET /}]}}\n' \
    "$TARGET_URL" >"$E2E_TMP/bad.yaml"
brunt_run badfile --check "$E2E_TMP/bad.yaml"
assert_eq 104 "$RC" "an out-of-range postgres_settle is an invalid file"
grep -q 'postgres_settle out of range' "$E2E_TMP/badfile.err" || fail "$(cat "$E2E_TMP/badfile.err")"
