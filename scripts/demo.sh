#!/usr/bin/env bash
# demo.sh — `make demo`: a throwaway PostgreSQL 15 and Redis 7 (scripts/dbserver.sh), the
# built-in target keeping its auctions and bids in them, and the auction scenario run
# against it, watched and probed: the summary shows the target's CPU and memory, the top
# queries and commands, and the findings.  The servers are stopped and their directory
# removed at exit, whatever happens.  Without PostgreSQL or Redis installed it says so and
# runs the in-memory demo.  Extra arguments go to `brunt demo` (e.g. --export FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/brunt}
dir=$(mktemp -d -u /tmp/brunt-demo.XXXXXX)
cleanup() {
    scripts/dbserver.sh stop "$dir/pg" >/dev/null 2>&1 || true
    scripts/dbserver.sh stop "$dir/redis" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
if ! pg=$(scripts/dbserver.sh postgres "$dir/pg" 2>"$dir.pgerr") ||
    ! rd=$(scripts/dbserver.sh redis "$dir/redis" 2>"$dir.rderr"); then
    echo "demo: PostgreSQL or Redis could not start ($(cat "$dir.pgerr" "$dir.rderr" 2>/dev/null | head -c 300)); the in-memory demo instead" >&2
    rm -f "$dir.pgerr" "$dir.rderr"
    exec "$BIN" demo "$@"
fi
rm -f "$dir.pgerr" "$dir.rderr"
eval "$pg"
eval "$rd"
"$BIN" demo --postgres "$PG_DSN" --redis "$REDIS_URL" "$@"
