#!/usr/bin/env bash
# fuzz.sh — build brunt's libFuzzer targets and run each briefly against its seed corpus.
#
#   scripts/fuzz.sh                          every tests/fuzz/fuzz_*.c
#   scripts/fuzz.sh tests/fuzz/fuzz_url.c    just those given
#   FUZZ_SECONDS=60 scripts/fuzz.sh ...      run each target longer (default 10)
#
# The library (every src/**/*.c except src/brunt.c) is compiled once into
# $FUZZ_BUILD/lib (default build-fuzz/) with clang -fsanitize=fuzzer-no-link,address,
# undefined, and only recompiled when a source or a header it includes changed.  Each
# target is linked against it with -fsanitize=fuzzer,address,undefined.  A target runs
# for FUZZ_SECONDS (libFuzzer -max_total_time) on a copy of its seeds from
# tests/fuzz/corpus/<name without fuzz_>/ in a scratch directory, so the tree is never
# written; a crash's reproducer is kept under $FUZZ_BUILD/crashes/<name>/.
#
# Prints one line per target and "fuzz: N passed, N failed" at the end.  Exit status:
# 0 all passed, 1 a target failed to build or crashed, 2 the toolchain is missing or
# the library does not compile (each failing file is named).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

CLANG=${CLANG:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
BUILD=${FUZZ_BUILD:-build-fuzz}
PKGS=(libfyaml openssl libpcre2-8 sqlite3 libpq hiredis libdw zlib libprotobuf-c)

say() { printf 'fuzz: %s\n' "$*" >&2; }

if ! command -v "$CLANG" >/dev/null 2>&1; then
    say "clang not found (looked for '$CLANG'); install it with scripts/setup.sh"
    exit 2
fi
if ! [[ $FUZZ_SECONDS =~ ^[0-9]+$ ]] || ((FUZZ_SECONDS < 1)); then
    say "FUZZ_SECONDS must be a whole number of seconds >= 1, got '$FUZZ_SECONDS'"
    exit 2
fi
if ! PKG_CFLAGS=$(pkg-config --cflags "${PKGS[@]}" 2>/dev/null) ||
    ! PKG_LIBS=$(pkg-config --libs "${PKGS[@]}" 2>/dev/null); then
    say "pkg-config cannot find ${PKGS[*]}; install them with scripts/setup.sh"
    exit 2
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Isrc -I$BUILD/gen $PKG_CFLAGS $SAN"

if (($# > 0)); then
    TARGETS=("$@")
else
    shopt -s nullglob
    TARGETS=(tests/fuzz/fuzz_*.c)
    shopt -u nullglob
fi
if ((${#TARGETS[@]} == 0)); then
    say "no fuzz targets found"
    say "0 passed, 0 failed"
    exit 0
fi

mkdir -p "$BUILD/lib" "$BUILD/crashes" || exit 2

# Two runs sharing one build directory would race on the objects: take a lock.
exec 9>"$BUILD/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi

# needs_build OBJ DEP: true when OBJ is missing or older than anything listed in DEP.
needs_build() {
    local obj=$1 dep=$2 f
    [[ -f $obj && -f $dep ]] || return 0
    # shellcheck disable=SC2013  # a .d file is a list of words
    for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' -e '/^[^ ]*:$/d' "$dep"); do
        [[ $f == *: ]] && continue
        [[ -e $f && $f -nt $obj ]] && return 0
        [[ -e $f ]] || return 0
    done
    return 1
}

# ---- the library ----------------------------------------------------------------------

# pprof's profile.proto compiled by protoc-c, as the Makefile does it.
mkdir -p "$BUILD/gen" || exit 2
if [[ ! -f $BUILD/gen/profile.pb-c.c || proto/profile.proto -nt $BUILD/gen/profile.pb-c.c ]]; then
    if ! protoc-c --c_out="$BUILD/gen" --proto_path=proto proto/profile.proto; then
        say "protoc-c failed on proto/profile.proto (scripts/setup.sh installs protobuf-c-compiler)"
        exit 2
    fi
fi
mapfile -t LIB_SRC < <({ find src -name '*.c' ! -path src/brunt.c; echo "$BUILD/gen/profile.pb-c.c"; } | sort)
OBJS=()
BROKEN=()
for src in "${LIB_SRC[@]}"; do
    obj="$BUILD/lib/${src%.c}.o"
    dep="${obj%.o}.d"
    OBJS+=("$obj")
    needs_build "$obj" "$dep" || continue
    mkdir -p "$(dirname "$obj")"
    log="${obj%.o}.log"
    # shellcheck disable=SC2086  # flags are word lists on purpose
    if ! "$CLANG" $CFLAGS -fsanitize=fuzzer-no-link -MMD -MP -MF "$dep" -c "$src" -o "$obj" \
        >"$log" 2>&1; then
        rm -f "$obj"
        BROKEN+=("$src")
        say "FAILED to compile $src:"
        sed -n '1,20p' "$log" >&2
    fi
done
if ((${#BROKEN[@]} > 0)); then
    say "the library does not compile (${BROKEN[*]}); no target was run"
    say "0 passed, ${#TARGETS[@]} failed"
    exit 2
fi
LIB="$BUILD/libbrunt-fuzz.a"
rm -f "$LIB"
if ((${#OBJS[@]} > 0)) && ! ar rcs "$LIB" "${OBJS[@]}"; then
    say "ar failed for $LIB"
    exit 2
fi

# ---- the targets ----------------------------------------------------------------------

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/brunt-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$SCRATCH"' EXIT

passed=0
failed=0
for target_src in "${TARGETS[@]}"; do
    base=$(basename "$target_src" .c)
    name=${base#fuzz_}
    bin="$BUILD/$base"
    log="$BUILD/$base.log"
    if [[ ! -f $target_src ]]; then
        say "$base: FAILED (no such file: $target_src)"
        failed=$((failed + 1))
        continue
    fi
    # shellcheck disable=SC2086
    if ! "$CLANG" $CFLAGS -fsanitize=fuzzer "$target_src" ${OBJS:+"$LIB"} $PKG_LIBS -lm \
        -pthread -o "$bin" >"$log" 2>&1; then
        say "$base: FAILED to build:"
        sed -n '1,20p' "$log" >&2
        failed=$((failed + 1))
        continue
    fi

    corpus="$SCRATCH/$name/corpus"
    artifacts="$SCRATCH/$name/artifacts/"
    mkdir -p "$corpus" "$artifacts"
    seeds="tests/fuzz/corpus/$name"
    nseeds=0
    if [[ -d $seeds ]]; then
        cp -R "$seeds/." "$corpus/"
        nseeds=$(find "$corpus" -type f | wc -l)
    fi

    # The outer timeout only guards against a target libFuzzer cannot stop.  Leaks made
    # inside third-party libraries are suppressed by tests/fuzz/lsan.supp (see there).
    LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
    timeout --kill-after=10 $((FUZZ_SECONDS + 60)) "$bin" -max_total_time="$FUZZ_SECONDS" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if ((rc == 0)); then
        passed=$((passed + 1))
        printf 'fuzz: %s: ok (%s seeds, %s runs in %ss)\n' "$base" "$nseeds" "${runs:-?}" \
            "$FUZZ_SECONDS"
    else
        failed=$((failed + 1))
        keep="$BUILD/crashes/$name"
        mkdir -p "$keep"
        cp "$artifacts"* "$keep/" 2>/dev/null
        say "$base: FAILED (exit $rc); log $log; reproducers in $keep/:"
        ls "$keep" >&2 2>/dev/null
        grep -m 1 -E 'ERROR: |runtime error|deadly signal|timeout' "$log" >&2
        sed -n '/^==[0-9]*==ERROR/,/^SUMMARY/p' "$log" | sed -n '1,30p' >&2
    fi
done

printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
