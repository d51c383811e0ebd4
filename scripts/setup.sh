#!/usr/bin/env bash
# setup.sh — install the Debian packages brunt needs to build, test, fuzz and benchmark.
#
# Checks each package with dpkg-query and installs only what is missing. As root it runs
# `apt-get update` once and `apt-get install`; as anyone else it prints the exact command
# to run and exits 1. Quiet and idempotent when everything is already there, so `make demo`
# and `.ci/run` call it every time. It also checks that clang can link a libFuzzer target
# (`clang -fsanitize=fuzzer`), which on Debian 12 needs libclang-rt-14-dev.
#
# Exit status: 0 all present (or installed), 1 something missing and we may not install it,
# 2 installation failed or the toolchain still does not work afterwards.
set -euo pipefail

PACKAGES=(
    build-essential pkg-config            # compiler, make, pkg-config
    libfyaml-dev libssl-dev libpcre2-dev  # libraries brunt links
    libnghttp2-dev nghttp2-client         # HTTP/2 (nghttp2); h2load for bench/h2.sh
    libsqlite3-dev sqlite3                # the run history (sqlite3: its e2e test reads it)
    libpq-dev libhiredis-dev              # PostgreSQL and Redis probes
    zlib1g-dev                            # gzip/deflate response bodies
    libdw-dev libelf-dev                  # the profiler: symbols (elfutils)
    libprotobuf-c-dev protobuf-c-compiler # the profiler: pprof protobuf (protoc-c at build)
    libcriterion-dev                      # unit tests
    postgresql postgresql-contrib         # PostgreSQL 15 for the probe's tests and the demo
    redis-server redis-tools              # Redis 7 for the probe's tests and the demo
    clang                                 # fuzz targets (libFuzzer)
    clang-format                          # make format-check (part of make check)
    curl jq python3 procps iproute2       # end-to-end tests and benchmarks
    tcpdump                               # test_run_wire_latency: answer times on the wire
    wrk nginx-light                       # benchmarks (make bench); nginx: test_tls
    nghttp2-client                        # h2load: the open-model bench (bench/openmodel.sh)
    openssl ca-certificates               # test_tls makes certificates; the system CA store
    prometheus                            # the --prometheus end-to-end test scrapes brunt
    chromium libxml2-utils                # the HTML report in a browser; JUnit XML schema
    golang-go                             # profile tests: a Go pprof service (net/http/pprof)
    python3-websockets                    # WebSocket peer of test_ws (no .pc: not in PKGS)
)

# The browser test drives chromium with playwright-core from npm (tests/browser, pinned
# in its package-lock.json).  Debian's nodejs + npm when no npm is on PATH (a newer
# Node.js from elsewhere, with its own npm, is fine too).
NODE_PACKAGES=(nodejs npm)

say() { printf 'setup: %s\n' "$*" >&2; }

# is_installed PKG: true when dpkg says the package is fully installed.
is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ $status == "install ok installed" ]]
}

# clang_rt_package: the compiler-rt dev package matching the installed clang, e.g.
# libclang-rt-14-dev on Debian 12. Empty when clang is absent or its version unknown.
clang_rt_package() {
    local major
    command -v clang >/dev/null 2>&1 || return 0
    major=$(clang -dumpversion 2>/dev/null | cut -d. -f1) || return 0
    [[ $major =~ ^[0-9]+$ ]] || return 0
    printf 'libclang-rt-%s-dev\n' "$major"
}

# fuzzer_links: true when `clang -fsanitize=fuzzer` can build a trivial target.
fuzzer_links() {
    local dir rc=0
    command -v clang >/dev/null 2>&1 || return 1
    dir=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$dir/f.c"
    clang -fsanitize=fuzzer "$dir/f.c" -o "$dir/f" >/dev/null 2>&1 || rc=1
    rm -rf "$dir"
    return $rc
}

missing_packages() {
    local p rt
    for p in "${PACKAGES[@]}"; do
        is_installed "$p" || printf '%s\n' "$p"
    done
    if ! command -v npm >/dev/null 2>&1; then
        printf '%s\n' "${NODE_PACKAGES[@]}"
    fi
    # The compiler-rt package is only knowable once clang is there; when clang is being
    # installed now, the Debian 12 name is the right guess.
    rt=$(clang_rt_package)
    [[ -n $rt ]] || rt=libclang-rt-14-dev
    if ! fuzzer_links && apt-cache show "$rt" >/dev/null 2>&1 && ! is_installed "$rt"; then
        printf '%s\n' "$rt"
    fi
}

# browser_deps: npm ci in tests/browser when its node_modules is missing or older than
# the lockfile (quiet; the registry is only asked when something is missing).
browser_deps() {
    local dir
    dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/browser" && pwd)
    command -v npm >/dev/null 2>&1 || return 0
    if [[ -d $dir/node_modules/playwright-core && $dir/node_modules -nt $dir/package-lock.json ]]; then
        return 0
    fi
    say "npm ci in tests/browser (playwright-core for the browser test)"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts >/dev/null 2>&1); then
        say "npm ci failed in $dir; run it by hand to see why"
        return 2
    fi
    touch "$dir/node_modules"
}

main() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "dpkg-query not found: this script supports Debian and Ubuntu only"
        say "install by hand: ${PACKAGES[*]}"
        exit 1
    fi

    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        if ! fuzzer_links; then
            say "warning: clang -fsanitize=fuzzer does not link; 'make fuzz' will fail"
            say "install the compiler-rt package of your clang (Debian 12: libclang-rt-14-dev)"
        fi
        browser_deps || exit 2
        exit 0
    fi

    local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    if ((EUID != 0)); then
        say "missing packages: ${missing[*]}"
        say "run as root:"
        printf '  sudo sh -c '\''%s'\''\n' "$cmd" >&2
        exit 1
    fi

    say "installing: ${missing[*]}"
    if ! apt-get update -qq >/dev/null ||
        ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null </dev/null; then
        say "apt-get failed; run by hand to see why: $cmd"
        exit 2
    fi

    # clang may just have arrived: make sure the libFuzzer runtime came with it.
    if ! fuzzer_links; then
        local rt
        rt=$(clang_rt_package)
        if [[ -n $rt ]] && ! is_installed "$rt"; then
            say "installing: $rt"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "$rt" >/dev/null </dev/null || true
        fi
        if ! fuzzer_links; then
            say "clang -fsanitize=fuzzer still does not link (need ${rt:-libclang-rt-N-dev})"
            exit 2
        fi
    fi
    browser_deps || exit 2
    say "done"
}

main "$@"
