#!/usr/bin/env bash
# Issue 3, 1 and 10: malformed scenario files each give their documented error: one line
# naming FILE:LINE:COLUMN and what was expected, exit 104 (k6's invalid config), with
# `brunt run --check` and with `brunt run`, and no request is sent.
. "$(dirname "$0")/lib.sh"

start_target
export BASE_URL=$TARGET_URL

# name|yaml (\n for new lines)|expected text of the error line
cases=(
    'topkey|scenarioz: {}\n|topkey.yaml:1:1: unknown key '"'"'scenarioz'"'"' in the top level (did you mean '"'"'scenarios'"'"'?)'
    'executor|scenarios:\n  s:\n    executor: constant-vu\n|executor.yaml:3:15: unknown executor '"'"'constant-vu'"'"' (did you mean '"'"'constant-vus'"'"'?)'
    'duration|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 10x\n    flow: [{request: GET /}]\n|duration.yaml:5:15: bad duration '"'"'10x'"'"' (expected a duration such as 30s'
    'option|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: ramping-vus\n    rate: 5\n    stages: [{duration: 1s, target: 1}]\n    flow: [{request: GET /}]\n|option.yaml:5:5: '"'"'rate'"'"' is not an option of executor ramping-vus'
    'required|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-arrival-rate\n    rate: 5\n    duration: 1s\n    flow: [{request: GET /}]\n|required.yaml:3:3: scenario '"'"'s'"'"' (constant-arrival-rate) has no pre_allocated_vus'
    'variable|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: POST /auth/login\n        extract: {token: json $.token}\n      - request: GET /users/me\n        headers: {Authorization: "Bearer {{ tokn }}"}\n|variable.yaml:10:45: bad template: unknown name '"'"'tokn'"'"'; did you mean '"'"'token'"'"'?'
    'check|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: GET /\n        check: [staus == 200]\n|check.yaml:8:17: bad check: unknown check '"'"'staus'"'"''
    'yaml|scenarios:\n  s: [1, 2\n|yaml.yaml:3:1: YAML syntax error:'
    'feeder|base_url: ${BASE_URL}\ndata:\n  users: {file: missing.csv}\nscenarios: {}\n|feeder.yaml:3:17: data feeder '"'"'users'"'"': '
    'threshold|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow: [{request: GET /}]\nthresholds:\n  http_req_duration: ["p(95)<<300"]\n|threshold.yaml:8:24: bad threshold for http_req_duration'
    'env|base_url: ${NO_SUCH_BRUNT_VAR}\nscenarios: {}\n|env.yaml:1:11: environment variable NO_SUCH_BRUNT_VAR is not set'
    'redirects|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: GET /\n        redirects: 500\n|redirects.yaml:8:20: 500 is out of range (expected 0 to 100)'
    'maxredirects|base_url: ${BASE_URL}\noptions: {max_redirects: abc}\nscenarios: {}\n|maxredirects.yaml:2:26: bad number'
    'steptag|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow:\n      - request: GET /\n        tags: {status: x}\n|steptag.yaml:8:16: bad tag name '"'"'status'"'"''
    'mapkey|base_url: ${BASE_URL}\nscenarios:\n  s:\n    executor: constant-vus\n    duration: 1s\n    flow:\n      - {request: GET /}: x\n|mapkey.yaml:7:9: found a mapping as a key in a step (expected a word)'
)
for c in "${cases[@]}"; do
    IFS='|' read -r name yaml want <<<"$c"
    printf '%b' "$yaml" >"$name.yaml"
    for mode in --check run; do
        if [[ $mode == --check ]]; then
            brunt_run "$name-check" --check "$name.yaml"
            errf=$E2E_TMP/$name-check.err
        else
            brunt_run "$name-run" -q "$name.yaml"
            errf=$E2E_TMP/$name-run.err
        fi
        assert_eq 104 "$RC" "exit status for $name.yaml ($mode)"
        assert_one_line "$errf" "stderr for $name.yaml ($mode)"
        grep -qF -- "$want" "$errf" ||
            fail "$name.yaml ($mode): stderr '$(cat "$errf")' lacks '$want'"
    done
done
assert_eq 0 "$(stats_requests)" "requests sent for bad files (none)"
stop_target
