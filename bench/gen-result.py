#!/usr/bin/env python3
"""gen-result.py — writes a synthetic but valid one-hour brunt result (brunt-result/1) with
every section the report renders, for bench/report.sh: 3,600 one-second rows (with
per-second probe figures), 20 request names over 3 status codes each with complete
histograms, thresholds, success criteria, and probes (process, machine, postgres, redis,
profile) with findings.  Deterministic (fixed seed).  The figures are made up; what is
real is the shape and the size, which is what rendering time depends on.

usage: bench/gen-result.py OUT.json [SECONDS]
"""
import json
import math
import random
import sys

out = sys.argv[1]
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3600
rng = random.Random(11)
start_ns = 1795892819123000000


def rfc3339(ns):
    import datetime
    t = datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def histogram(n, median_ms, buckets):
    """A histogram of n samples around median_ms, in at most `buckets` distinct values."""
    vals = {}
    for _ in range(buckets):
        v = int(rng.lognormvariate(math.log(median_ms * 1e6), 0.5))
        vals[v] = vals.get(v, 0) + 1
    total = sum(vals.values())
    pairs = sorted((v, max(1, c * n // total)) for v, c in vals.items())
    count = sum(c for _, c in pairs)
    s = sum(v * c for v, c in pairs)
    return {"unit": "ns", "count": count, "min": pairs[0][0], "max": pairs[-1][0],
            "sum": s, "buckets": [list(p) for p in pairs]}, count


def values_of(h):
    flat = []
    for v, c in h["buckets"]:
        flat.append((v, c))
    def q(p):
        rank = max(1, math.ceil(p * h["count"]))
        acc = 0
        for v, c in flat:
            acc += c
            if acc >= rank:
                return v / 1e6
        return flat[-1][0] / 1e6
    return {"count": h["count"], "avg": h["sum"] / h["count"] / 1e6, "min": h["min"] / 1e6,
            "med": q(0.5), "max": h["max"] / 1e6, "p(90)": q(0.9), "p(95)": q(0.95),
            "p(99)": q(0.99), "p(99.9)": q(0.999), "stddev": 1.0}


names = ["GET /api/item/%d" % i for i in range(15)] + ["login", "bid", "search", "cart", "pay"]
series = []
failed_series = []
total = 0
for i, name in enumerate(names):
    for status in ("200", "404", "500"):
        n = 40000 if status == "200" else 400
        h, c = histogram(n, 5 + i, 600 if status == "200" else 60)
        total += c
        tags = {"method": "GET", "name": name, "status": status, "scenario": "default",
                "expected_response": "true" if status == "200" else "false"}
        series.append({"tags": tags, "values": values_of(h), "histogram": h})
        failed_series.append({"tags": tags, "values": {"rate": 0 if status != "500" else 1,
                                                       "passes": c if status == "500" else 0,
                                                       "fails": 0 if status == "500" else c}})
all_h, _ = histogram(total, 12, 4000)
all_h["count"] = total
lat_h, _ = histogram(total, 14, 4000)
lat_h["count"] = total
failed = sum(s["values"]["passes"] for s in failed_series)

rows = []
per_s = total // seconds
for t in range(seconds):
    d = {"count": per_s, "avg": 12.0, "med": 11 + rng.random(), "p(90)": 20 + rng.random(),
         "p(95)": 25 + 3 * rng.random(), "p(99)": 40 + 10 * rng.random(), "max": 90 * rng.random() + 50}
    rows.append({"t": t, "time": rfc3339(start_ns + t * 10**9), "vus": 200, "vus_max": 200,
                 "http_reqs": per_s, "rps": float(per_s), "failed": failed // seconds,
                 "iterations": per_s, "dropped_iterations": 0, "data_sent": per_s * 300,
                 "data_received": per_s * 900, "errors": 0,
                 "http_req_duration": d, "http_req_latency": dict(d),
                 "process_cpu": 55 + 10 * rng.random(), "process_rss_mb": 400 + t / 60,
                 "machine_cpu": 70 + 5 * rng.random(), "pg_tps": 900 + 50 * rng.random(),
                 "redis_hit_rate": 0.9 + 0.05 * rng.random()})


def finding(probe, sev, kind, loc, impact):
    return {"severity": sev, "probe": probe, "kind": kind, "location": loc,
            "evidence": "%s at %s: measured figures here" % (kind, loc),
            "recommendation": "a candidate fix for %s" % kind, "impact": impact}


doc = {
    "schema": "brunt-result/1",
    "meta": {"version": "0.1.0", "command": ["brunt", "run", "bench.yaml"],
             "start": rfc3339(start_ns), "end": rfc3339(start_ns + seconds * 10**9),
             "duration_ms": seconds * 1000.0,
             "machine": {"hostname": "bench", "cores": 8, "kernel": "Linux 6.1.0"},
             "interrupted": False, "aborted": False, "abort_reason": None, "exit_code": 0,
             "cpu": {"user_ms": 1.2e6, "system_ms": 4e5, "max_worker_busy": 0.4}},
    "options": {"url": "http://127.0.0.1:8080/", "method": "GET", "model": "closed",
                "executor": "constant-vus", "threads": 8, "connections": 200, "max_vus": 200,
                "rate": None, "duration_ms": seconds * 1000.0, "requests": None, "stages": [],
                "time_unit_ms": 1000, "pipeline": 1, "max_queue_ms": None,
                "timeout_ms": 30000, "connect_timeout_ms": 10000, "grace_ms": 5000},
    "metrics": {
        "http_reqs": {"type": "counter", "contains": "default",
                      "values": {"count": total, "rate": total / seconds}},
        "http_req_failed": {"type": "rate", "contains": "default",
                            "values": {"rate": failed / total, "passes": failed,
                                       "fails": total - failed}, "series": failed_series},
        "http_req_duration": {"type": "trend", "contains": "time", "values": values_of(all_h),
                              "histogram": all_h, "series": series},
        "http_req_latency": {"type": "trend", "contains": "time", "values": values_of(lat_h),
                             "histogram": lat_h},
        "vus": {"type": "gauge", "contains": "default", "values": {"value": 200, "min": 0, "max": 200}},
    },
    "thresholds": [
        {"metric": "http_req_duration", "expression": "p(95)<300", "ok": True, "evaluated": True,
         "no_samples": False, "observed": values_of(all_h)["p(95)"], "abort_on_fail": False},
        {"metric": "http_req_failed", "expression": "rate<0.01", "ok": failed / total < 0.01,
         "evaluated": True, "no_samples": False, "observed": failed / total, "abort_on_fail": False},
    ],
    "criteria": [
        {"metric": "http_req_duration:p(95)", "target": "<200", "acceptable": "<300",
         "observed": values_of(all_h)["p(95)"], "status": "target"},
        {"metric": "process_cpu:avg", "target": "<50", "acceptable": "<70", "observed": 60,
         "status": "acceptable"},
    ],
    "timeseries": {"interval_ms": 1000, "rows": rows},
    "errors": {k: 0 for k in ("refused", "reset", "timeout", "protocol", "dns", "tls", "connect", "other")},
    "warnings": [],
    "probes": {
        "process": {"pids": [4242], "findings": [finding("process", "warning", "leak", "gunicorn", -1)]},
        "machine": {"findings": []},
        "postgres": {"top_queries": [{"query": "SELECT * FROM items WHERE id = $%d" % i,
                                      "calls": 1000 * i, "mean_ms": 0.5 * i} for i in range(50)],
                     "findings": [finding("postgres", "critical", "seq_scan", "orders", 0.6),
                                  finding("postgres", "warning", "n_plus_one", "GET /api/item/3", 0.2)]},
        "redis": {"findings": [finding("redis", "info", "low_hit_rate", "GET session:*", 0.05)]},
        "profile": {"findings": [finding("profile", "info", "hot_function", "json_encode", 0.3)]},
    },
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
