#!/usr/bin/env bash
# The Redis probe against a real Redis 7: a known mix of hits and misses, evictions under
# maxmemory, SLOWLOG entries and COMMANDSTATS deltas, each compared with what this test
# reads itself with redis-cli; a healthy cache gives no finding.
source "$E2E_DIR/lib.sh"
source "$E2E_DIR/db.sh"

start_redis --maxmemory 2mb --maxmemory-policy allkeys-lru

# Phase 1: a healthy cache (every GET hits): no hit-rate finding.
for i in $(seq 0 49); do echo "SET hot:$i v$i"; done | rcli >/dev/null
h0=$(rinfo keyspace_hits)
probe_driver healthy --redis "$REDIS_URL"
for i in $(seq 0 199); do echo "GET hot:$((i % 50))"; done | rcli >/dev/null
probe_driver_stop
h1=$(rinfo keyspace_hits)
j=$E2E_TMP/healthy.json
assert_eq true "$(jval "$j" .probes.redis.available)" "the probe measured"
assert_eq 200 "$((h1 - h0))" "redis itself counted 200 hits"
assert_eq 200 "$(jnum "$j" .probes.redis.totals.keyspace_hits)" "hits = redis-cli's delta"
assert_eq 0 "$(jnum "$j" .probes.redis.totals.keyspace_misses)" "no misses"
assert_eq 1 "$(jnum "$j" .probes.redis.totals.hit_rate)" "hit rate 1"
assert_eq 0 "$(jval "$j" '[.probes.redis.findings[] | select(.kind == "hit_rate")] | length')" \
    "no hit-rate finding on a healthy cache"

# Phase 2: 70 hits and 230 misses, a slow log that records everything, and enough
# writes to evict under the 2 MB maxmemory.
rcli config set slowlog-log-slower-than 0 >/dev/null
m0=$(rinfo keyspace_misses)
h0=$(rinfo keyspace_hits)
e0=$(rinfo evicted_keys)
g0=$(rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p')
probe_driver mix --redis "$REDIS_URL"
{
    for i in $(seq 0 69); do echo "GET hot:$((i % 50))"; done
    for i in $(seq 0 229); do echo "GET cold:$i"; done
} | rcli >/dev/null
big=$(head -c 20000 /dev/zero | tr '\0' x)
for i in $(seq 0 299); do echo "SET big:$i $big"; done | rcli >/dev/null
probe_driver_stop
h1=$(rinfo keyspace_hits)
m1=$(rinfo keyspace_misses)
e1=$(rinfo evicted_keys)
g1=$(rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p')
rcli config set slowlog-log-slower-than 10000 >/dev/null
j=$E2E_TMP/mix.json
hits=$(jnum "$j" .probes.redis.totals.keyspace_hits)
misses=$(jnum "$j" .probes.redis.totals.keyspace_misses)
assert_eq "$((h1 - h0))" "$hits" "hits = redis-cli's delta"
assert_eq "$((m1 - m0))" "$misses" "misses = redis-cli's delta"
assert_ge "$misses" 230 "the 230 cold GETs missed"
assert_within "$(jnum "$j" .probes.redis.totals.hit_rate)" \
    "$(awk -v h="$hits" -v m="$misses" 'BEGIN { print h / (h + m) }')" 0.000001 "hit rate"
evicted=$(jnum "$j" .probes.redis.totals.evicted_keys)
assert_eq "$((e1 - e0))" "$evicted" "evicted = redis-cli's delta"
assert_ge "$evicted" 1 "writes past maxmemory evicted keys"
assert_eq "$((g1 - g0))" "$(jval "$j" '.probes.redis.commands[] | select(.command == "get") | .calls')" \
    "GET calls = COMMANDSTATS delta"
assert_eq 300 "$(jval "$j" '.probes.redis.commands[] | select(.command == "set") | .calls')" \
    "SET calls"
assert_eq 300 "$(jval "$j" '.probes.redis.commands[] | select(.command == "set") | .latency_histogram.calls')" \
    "LATENCY HISTOGRAM delta counts every SET"
assert_eq 300 "$(jval "$j" '.metrics["redis_cmd_latency|cmd=set"].count')" \
    "redis_cmd_latency tagged cmd=set counts every SET"
assert_eq 0 "$(jval "$j" '[.probes.redis.commands[] | select(.command == "info")] | length')" \
    "the probe's own INFO is not in the table"
assert_ge "$(jnum "$j" .probes.redis.slowlog.added)" 600 "SLOWLOG entries added during the run"
for kind in hit_rate evictions; do
    assert_eq 1 "$(jval "$j" "[.probes.redis.findings[] | select(.kind == \"$kind\")] | length")" \
        "finding $kind"
done
grep -q 'hit rate' "$E2E_TMP/mix.out" || fail "the summary has no hit rate line"
# The one-second metrics agree with the totals (the driver samples once more at stop).
assert_eq "$hits" "$(jnum "$j" '.metrics.redis_hit_rate.trues')" "redis_hit_rate hits"
assert_eq "$((hits + misses))" "$(jnum "$j" '.metrics.redis_hit_rate.total')" "redis_hit_rate lookups"
