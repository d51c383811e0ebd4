#!/usr/bin/env bash
# vendor-verify.sh — checks that the chart library the HTML report embeds
# (src/report/vendor/uPlot.iife.min.js, uPlot.min.css, uPlot.LICENSE) is byte for byte
# the one in the npm package its package-lock.json pins: it fetches that version with
# `npm pack`, checks the tarball against the lockfile's sha512 integrity, and compares
# the three files.  The build never needs the network: the files are committed, and
# this script is how a maintainer proves (or refreshes, with --update) them.
#
#   scripts/vendor-verify.sh            exit 0 when the copy matches, 1 when not
#   scripts/vendor-verify.sh --update   copy the pinned package's files over ours
set -euo pipefail
dir=$(cd "$(dirname "$0")/../src/report/vendor" && pwd)
lock=$dir/package-lock.json
version=$(jq -r '.packages["node_modules/uplot"].version' "$lock")
integrity=$(jq -r '.packages["node_modules/uplot"].integrity' "$lock")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "uplot@$version" --silent >/dev/null)
tgz=$(ls "$tmp"/uplot-*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [[ $got != "$integrity" ]]; then
    echo "vendor: uplot@$version tarball is $got, the lockfile pins $integrity" >&2
    exit 1
fi
tar -xzf "$tgz" -C "$tmp"
status=0
for pair in dist/uPlot.iife.min.js:uPlot.iife.min.js dist/uPlot.min.css:uPlot.min.css \
    LICENSE:uPlot.LICENSE; do
    src=$tmp/package/${pair%%:*} dst=$dir/${pair##*:}
    if [[ ${1:-} == --update ]]; then
        cp "$src" "$dst"
    elif ! cmp -s "$src" "$dst"; then
        echo "vendor: $dst differs from uplot@$version's ${pair%%:*}" >&2
        status=1
    fi
done
((status == 0)) && echo "vendor: uplot@$version matches its lockfile integrity ($integrity)"
exit $status
