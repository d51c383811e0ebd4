# gosvc.sh — sourced by the --pprof tests after lib.sh: builds tests/e2e/profile/gosvc.go
# offline with Debian's golang-go in the test's directory and starts it on a free
# loopback port.  Sets GO_PID (killed with the test: _E2E_PIDS) and URL, and defines
# hits PATH: how many requests the service has counted for PATH (its GET /hits).

command -v go >/dev/null || fail "go is missing (scripts/setup.sh installs golang-go)"
export GOCACHE=$E2E_TMP/gocache GOPATH=$E2E_TMP/gopath GO111MODULE=off GOFLAGS= \
    GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
cp "$E2E_DIR/profile/gosvc.go" main.go
go build -o gosvc main.go || fail "cannot build the Go service"

./gosvc port.txt >gosvc.out 2>gosvc.err &
GO_PID=$!
_E2E_PIDS+=("$GO_PID")
for ((i = 0; i < 200; i++)); do # bounded: until the service has written its port
    [[ -s port.txt ]] && break
    sleep 0.05
done
[[ -s port.txt ]] || fail "the Go service wrote no port: $(cat gosvc.err)"
URL=http://127.0.0.1:$(cat port.txt)

hits() { curl -sS --max-time 5 "$URL/hits" | jq -r --arg p "$1" '.[$p] // 0'; }
