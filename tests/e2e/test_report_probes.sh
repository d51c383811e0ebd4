#!/usr/bin/env bash
# Issue 11: the reports of a real run with every probe: `brunt serve --postgres --redis`
# with its pathology switches (N+1 listing, missing index, mostly-missing cache) spawned
# and watched by `brunt run --spawn --postgres --redis`, with success criteria.  The
# HTML's PostgreSQL, Redis, process and machine panels, the Markdown's tables and the
# JUnit criteria testcases must show the figures the result holds (read here with jq),
# and the findings the probes wrote with their evidence.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/db.sh"

start_postgres
start_redis
port=$(free_port)
cat >probed.yaml <<YAML
name: probed
base_url: http://127.0.0.1:$port
defaults:
  headers: {Content-Type: application/json}
scenarios:
  shoppers:
    executor: constant-vus
    vus: 4
    duration: 4s
    flow:
      - request: POST /auth/login
        name: login
        json: {email: "user{{ vu }}@example.com", password: secret}
        extract: {token: json \$.token}
      - request: GET /api/v1/auctions/auction_{{ randint 0 99 }}
        name: item
      - request: GET /api/v1/auctions?limit=20
        name: list
      - request: POST /api/v1/bids
        name: bid
        headers: {Authorization: "Bearer {{ token }}"}
        json: {auction_id: "auction_{{ randint 0 99 }}", user_id: "user_{{ vu }}", amount: !raw "{{ now_ms }}"}
        expect: [200, 400]
YAML
brunt_run r -q --spawn "exec '$BRUNT' serve --port $port --postgres '$PG_DSN' --redis '$REDIS_URL' --db-n-plus-one --db-missing-index --db-cache-miss" \
    --ready "$port" --postgres "$PG_DSN" --redis "$REDIS_URL" --postgres-settle 1s \
    --criterion 'http_req_duration:p(95)<2000,<5000' --criterion 'process_cpu:avg<0.001,<0.002' \
    --criterion 'redis_hit_rate:rate>0.99' \
    --export r.json --report r.html --report r.md --report r.xml probed.yaml
assert_eq 99 "$RC" "exit status (two criteria fail on purpose)"
for f in r.html r.md r.xml; do
    [[ -s $f ]] || fail "--report $f was not written"
done
j=r.json
assert_eq true "$(jval $j .probes.postgres.available)" "postgres measured"
assert_eq true "$(jval $j .probes.redis.available)" "redis measured"
assert_ge "$(jval $j '.probes.redis.totals.keyspace_misses')" 1 "the cache missed (--db-cache-miss)"
assert_eq 1 "$(jval $j '[.probes.postgres.findings[] | select(.kind == "n_plus_one")] | length')" "the N+1 finding"

# The HTML: every panel figure, table row, chart line and finding equals the result's.
python3 - r.html "$j" >html-check.out 2>&1 <<'PY' || fail "HTML panels vs the result: $(cat html-check.out)"
import html.parser, json, math, re, sys
page, res = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
bad = []
def close(a, b, rel=1e-9):
    return a is not None and b is not None and abs(a - b) <= rel * max(1.0, abs(a), abs(b))
figs = {m[0]: float(m[1]) for m in re.findall(r'data-fig="([^"]+)" data-value="([^"]+)"', page)}
def fig(name, want):
    got = figs.get(name)
    if not close(got, want):
        bad.append(f"{name}: page {got}, result {want}")
pg, rd, pr, mc = (res["probes"][k] for k in ("postgres", "redis", "process", "machine"))
fig("postgres.calls", pg["calls"]); fig("postgres.db_time_ms", pg["db_time_ms"])
fig("postgres.cache_hit_ratio", pg["database_stats"]["cache_hit_ratio"])
fig("postgres.connections_max", pg["activity"]["connections_max"])
fig("redis.ops", rd["totals"]["ops"]); fig("redis.hit_rate", rd["totals"]["hit_rate"])
fig("redis.expired_keys", rd["totals"]["expired_keys"])
fig("redis.used_max_bytes", rd["memory"]["used_max_bytes"])
for tg in pr["targets"]:
    for f in ("process_cpu", "process_rss", "process_threads"):
        for s in ("avg", "max"):
            fig(f"process.{tg['label']}.{f}.{s}", tg["summary"][f][s])
fig("machine.machine_cpu.avg", mc["summary"]["machine_cpu"]["avg"])
fig("machine.brunt_cpu.max", mc["summary"]["brunt_cpu"]["max"])
calls = [float(x) for x in re.findall(r'data-pg-calls="([^"]+)"', page)]
want = [q["calls"] for q in pg["top_queries"][:10]]
if calls != want: bad.append(f"top query calls: page {calls}, result {want}")
rcalls = [float(x) for x in re.findall(r'data-redis-calls="([^"]+)"', page)]
want = [c["calls"] for c in rd["commands"][:10]]
if rcalls != want: bad.append(f"redis command calls: page {rcalls}, result {want}")
# Each probe's findings: the evidence text is in its panel's findings table.
text = html.unescape(page)
for name in ("postgres", "redis", "process", "machine"):
    for f in res["probes"][name]["findings"]:
        panel = text.split(f'data-probe-findings="{name}"', 1)
        if len(panel) < 2 or f["evidence"] not in panel[1].split("</table>", 1)[0]:
            bad.append(f"{name} finding {f['kind']}: its evidence is not in the panel")
# The charts' data block: the probes' per-second series as the result has them.
data = json.loads(re.search(r'<script type="application/json" id="brunt-data">(.*?)</script>',
                            page, re.S).group(1))
charts = {c["id"]: c for c in data["charts"]}
def per_s(counts, ts):  # a count per sample over that sample's interval (t_s from 0)
    return [None if v is None or t - p <= 0.01 else v / (t - p)
            for v, t, p in zip(counts, ts, [0] + ts[:-1])]
def series(cid, line, want, scale=1):
    c = charts.get(cid)
    if c is None:
        bad.append(f"no chart {cid}"); return
    ys = [s["y"] for s in c["series"] if s["name"] == line]
    if not ys:
        bad.append(f"{cid} has no line {line}"); return
    w = [None if v is None else float(f"{v * scale:.5g}") for v in want]
    if ys[0] != w: bad.append(f"{cid} {line}: page {ys[0]}, result {w}")
series("chart-pg-calls", "statements/s", per_s(pg["series"]["calls"], pg["series"]["t_s"]))
series("chart-pg-connections", "connections", pg["series"]["connections"])
series("chart-redis-ops", "misses/s", per_s(rd["series"]["misses"], rd["series"]["t_s"]))
series("chart-redis-memory", "used memory", rd["series"]["used_bytes"], 1 / (1024 * 1024))
series("chart-process-cpu-0", "CPU (of its CPUs)", pr["targets"][0]["series"]["process_cpu"])
series("chart-machine-cpu", "CPU busy", mc["series"]["machine_cpu"])
for c in res["criteria"]:
    if c["metric"] not in text: bad.append(f"criterion {c['metric']} not on the page")
if 'id="verdicts"' not in page: bad.append("no verdicts table")
if "not measured in this run (--watch" in page: bad.append("says the probes were not measured")
print("\n".join(bad) if bad else f"{len(figs)} figures, {len(charts)} charts checked")
sys.exit(1 if bad else 0)
PY
log "$(cat html-check.out)"

# The Markdown: the probes' tables hold the result's figures, under GitHub's limit.
assert_lt "$(wc -m <r.md)" 65536 "Markdown characters"
grep -qF '## What the probes measured' r.md || fail "r.md has no probes section"
stmts=$(sed -n 's/^| Statements | \([0-9,]*\) |$/\1/p' r.md | tr -d ,)
assert_eq "$(jnum $j .probes.postgres.calls)" "$stmts" "Statements in the Markdown vs the result"
hits=$(sed -n 's/^| Hit rate | .* (\([0-9]*\) hits, [0-9]* misses) |$/\1/p' r.md)
assert_eq "$(jnum $j .probes.redis.totals.keyspace_hits)" "$hits" "Redis hits in the Markdown"
q1=$(jval $j '.probes.postgres.top_queries[0].calls')
q1_md=$(grep -F '| SELECT count(\*) FROM brunt_bids WHERE auction_id = $1 |' r.md | head -1 | cut -d'|' -f3 | tr -d ' ,')
assert_eq "$q1" "$q1_md" "the N+1 query's calls in the Markdown's query table"
grep -q '^| public.brunt_bids | ' r.md || fail "r.md has no row for brunt_bids"
grep -qF '**Verdicts of the watch**' r.md || fail "r.md has no verdicts"
for m in 'http_req_duration:p(95)' 'process_cpu:avg' 'redis_hit_rate:rate'; do
    grep -qF "| \`$m\` |" r.md || fail "criterion $m is not in the Markdown"
done

# JUnit: valid; each criterion a testcase, the two failing ones carry their observed value.
xmllint --noout --schema "$E2E_DIR/../junit.xsd" r.xml 2>xmllint.err ||
    fail "r.xml is not valid JUnit: $(cat xmllint.err)"
assert_eq 3 "$(grep -c '<testcase classname="brunt.criteria"' r.xml)" "criteria testcases"
assert_eq 2 "$(grep -c '<failure .*type="criterion"' r.xml)" "failing criteria"
cpu=$(jval $j '.criteria[] | select(.metric == "process_cpu:avg") | .current')
got=$(sed -n 's/.*<failure message="observed \([0-9.]*\), expected &lt;0.001.*/\1/p' r.xml)
assert_within "$got" "$cpu" 0.006 "process_cpu observed in JUnit vs the result"
assert_eq "$(jval $j '[.analysis[], .probes.process.targets[].memory_trend | select(. != null)] | length')" \
    "$(grep -c '<testcase classname="brunt.verdicts"' r.xml)" "one testcase per verdict"

# In a real browser: every panel's chart drew, with and without scripts, no console error.
if [[ -x /usr/bin/chromium && -d $E2E_DIR/../browser/node_modules/playwright-core ]]; then
    RC=0
    timeout -k 5 90 node "$E2E_DIR/../browser/report.mjs" r.html "$j" "$E2E_TMP" >browser.out 2>&1 || RC=$?
    cat browser.out
    assert_eq 0 "$RC" "browser checks of the probes' report"
else
    fail "chromium or playwright-core is missing (scripts/setup.sh)"
fi

# The --spawn command line holds the DSN with its password: no report shows it.
! grep -qF "$PG_PASSWORD" r.html r.md r.xml || fail "a report shows the PostgreSQL password"
# nor does the result itself, nor what brunt printed ("spawned '...'")
! grep -qF "$PG_PASSWORD" r.json "$E2E_TMP/r.out" "$E2E_TMP/r.err" ||
    fail "the result or brunt's output shows the PostgreSQL password"
jq -r '.meta.command[]' r.json | grep -qF 'postgres:***@' || fail "meta.command lost the DSN"
grep -qF 'postgres:***@' r.html || fail "the command line in the HTML lost the DSN"
