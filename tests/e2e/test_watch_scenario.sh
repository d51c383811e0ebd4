#!/usr/bin/env bash
# A scenario file's watch: and criteria: keys: brunt spawns the target the file names,
# watches it, judges the table (a ❌ row exits 99, the rows land in the result), and
# refuses bad watch:/criteria: entries as an invalid file (104) with FILE:LINE:COL.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
cat >watched.yaml <<YAML
base_url: http://127.0.0.1:$PORT
watch:
  processes:
    - spawn: {command: "$BRUNT serve -q --port $PORT", ready: "port:$PORT"}
  interval: 500ms
scenarios:
  s:
    executor: constant-arrival-rate
    rate: 50
    duration: 3s
    pre_allocated_vus: 5
    flow:
      - request: GET /
criteria:
  - {metric: "http_reqs:count", target: ">=100", acceptable: ">=90"}
  - {metric: "process_rss:max", target: "<1", acceptable: "<2"}
  - {metric: "process_count{target:brunt}:max", target: "==1"}
YAML
brunt_run file -q watched.yaml --export file.json
assert_eq 99 "$RC" "a row that meets neither level exits 99"
assert_eq pass "$(jval file.json '.criteria[0].status')" "requests row"
assert_eq fail "$(jval file.json '.criteria[1].status')" "an RSS under 1 byte fails"
assert_eq pass "$(jval file.json '.criteria[2].status')" "the spawned server is one process (tag filter)"
assert_eq brunt "$(jval file.json '.probes.process.targets[0].label')" "label: the spawned program"
assert_eq spawn "$(jval file.json '.probes.process.targets[0].by')" "spawned target"
# interval 500ms: about two samples a second over 3 s.
n=$(jq '.probes.process.targets[0].series.wall_ms | length' file.json)
assert_ge "$n" 5 "samples at 500ms"
# The spawned server is stopped after the run.
if python3 -c "import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(('127.0.0.1', $PORT)) == 0 else 1)"; then
    fail "the spawned server still listens after the run"
fi

bad() { # NAME PATTERN (the file is bad.yaml)
    brunt_run "$1" --check bad.yaml
    assert_eq 104 "$RC" "$1: exit status"
    assert_one_line "$1.err" "$1: stderr"
    grep -q -- "$2" "$1.err" || fail "$1: stderr lacks '$2': $(cat "$1.err")"
}
base='scenarios: {s: {executor: constant-vus, vus: 1, duration: 1s, flow: [{request: "GET http://127.0.0.1:1/"}]}}'
printf '%s\ncriteria:\n  - {metric: "http_req_duration:p(95)", target: "<400", acceptable: "<300"}\n' "$base" >bad.yaml
bad stricter 'bad.yaml:3:5: .*stricter than target'
printf '%s\ncriteria:\n  - {metric: "http_req_duration:p(95)", acceptable: "<300"}\n' "$base" >bad.yaml
bad notarget 'without target'
printf '%s\nwatch: {processes: [averyveryverylongname]}\n' "$base" >bad.yaml
bad longname 'bad.yaml:2:21: .*at most 15 bytes'
printf '%s\nwatch: {procesess: [x]}\n' "$base" >bad.yaml
bad typo "did you mean 'processes'"
printf '%s\nwatch: {interval: 5ms}\n' "$base" >bad.yaml
bad interval 'interval out of range'
