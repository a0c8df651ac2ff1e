#!/bin/sh
# Fuzzing of the core parsers (tests/fuzz/fuzz_<target>.c).
#
#   scripts/fuzz.sh            libFuzzer: clang -fsanitize=fuzzer,address,undefined
#                              against a clang sanitizer build of the core
#                              (build/fuzz/), FUZZ_SECONDS per target (default 60),
#                              on a work corpus build/fuzz/corpus-work/<target>/
#                              seeded from tests/fuzz/corpus/<target>/; fails when a
#                              crash, leak, timeout or OOM file appears.
#   scripts/fuzz.sh --replay   corpus replay without libFuzzer: gcc + ASan/UBSan,
#                              tests/fuzz/replay.c, every file of
#                              tests/fuzz/corpus/<target>/ and
#                              tests/fuzz/regressions/<target>/; part of the test suite.
#
# FUZZ_TARGETS="http parse" limits the targets (default: every fuzz_*.c).
# A crash found by libFuzzer belongs in tests/fuzz/regressions/<target>/ once
# fixed, so that --replay keeps checking it.
set -eu

cd "$(dirname "$0")/.."

MODE=fuzz
case "${1:-}" in
    --replay) MODE=replay ;;
    "") ;;
    *) echo "usage: $0 [--replay]" >&2; exit 2 ;;
esac

TARGETS=${FUZZ_TARGETS:-$(for f in tests/fuzz/fuzz_*.c; do
    f=${f##*/fuzz_}; echo "${f%.c}"; done)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=$(nproc 2>/dev/null || echo 2)

APR_CFLAGS="$(apr-1-config --cflags --cppflags --includes) $(apu-1-config --includes)"
APR_LIBS="$(apu-1-config --link-ld --libs) $(apr-1-config --link-ld --libs)"
DEP_PKGS="libmemcached jansson libxml-2.0 libssl libcrypto"
DEP_CFLAGS=$(pkg-config --cflags $DEP_PKGS)
DEP_LIBS=$(pkg-config --libs $DEP_PKGS)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
SAN="$SAN -fno-omit-frame-pointer"

# --- corpus replay (gcc, ASan + UBSan) ----------------------------------------
replay()
{
    out=build/fuzz-replay
    san=$SAN
    make -f Makefile.apxs --no-print-directory -s -j"$JOBS" BUILD="$out" CC=gcc \
        SAN="$san" core >/dev/null
    mkdir -p "$out/bin"
    passed=0
    failed=0
    for t in $TARGETS; do
        bin=$out/bin/replay_$t
        log=$out/replay_$t.log
        if ! gcc -std=gnu99 -O1 -g $san -Wall -Wextra -Werror -Isrc $APR_CFLAGS \
                $DEP_CFLAGS tests/fuzz/fuzz_$t.c tests/fuzz/replay.c -o "$bin" \
                "$out/libkylcore.a" $DEP_LIBS $APR_LIBS; then
            echo "replay $t: FAILED to build"
            failed=$((failed + 1))
            continue
        fi
        dirs=tests/fuzz/corpus/$t
        [ -d "tests/fuzz/regressions/$t" ] && dirs="$dirs tests/fuzz/regressions/$t"
        if ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:${ASAN_OPTIONS:-}" \
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
           "$bin" $dirs >"$log" 2>&1 \
           && ! grep -q "runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer" \
                "$log"; then
            echo "replay $t: $(tail -n 1 "$log"): ok"
            passed=$((passed + 1))
        else
            echo "replay $t: FAILED (see $log)"
            sed -n '1,40p' "$log"
            failed=$((failed + 1))
        fi
    done
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# --- libFuzzer (clang) -----------------------------------------------------------
have_libfuzzer()
{
    command -v clang >/dev/null 2>&1 || return 1
    probe=$(mktemp -d)
    printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
        '{ (void)d; (void)n; return 0; }' >"$probe/p.c"
    if clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" \
        >/dev/null 2>&1; then
        rc=0
    else
        rc=1
    fi
    rm -rf "$probe"
    return $rc
}

fuzz()
{
    out=build/fuzz
    if ! have_libfuzzer; then
        scripts/deps.sh clang libclang-rt-14-dev
        if ! have_libfuzzer; then
            echo "fuzz: clang cannot build libFuzzer targets" >&2
            exit 1
        fi
    fi
    san=$SAN
    make -f Makefile.apxs --no-print-directory -s -j"$JOBS" BUILD="$out" CC=clang \
        SAN="$san -fsanitize=fuzzer-no-link" core >/dev/null
    mkdir -p "$out/bin"
    status=0
    for t in $TARGETS; do
        bin=$out/bin/fuzz_$t
        work=$out/corpus-work/$t
        art=$out/artifacts/$t
        log=$out/fuzz_$t.log
        clang -std=gnu99 -O1 -g $san -fsanitize=fuzzer -Isrc $APR_CFLAGS $DEP_CFLAGS \
            tests/fuzz/fuzz_$t.c -o "$bin" "$out/libkylcore.a" $DEP_LIBS $APR_LIBS
        mkdir -p "$work" "$art"
        cp tests/fuzz/corpus/$t/* "$work/"
        find "$art" -type f -delete
        dict=""
        [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
        extra=""
        [ -d "tests/fuzz/regressions/$t" ] && extra="tests/fuzz/regressions/$t"
        rc=0
        "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$art/" $dict "$work" $extra \
            >"$log" 2>&1 || rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        crashes=$(find "$art" -type f | wc -l)
        echo "fuzz $t: ${execs:-?} execs in ${FUZZ_SECONDS} s," \
             "corpus $(ls "$work" | wc -l) files, exit $rc, $crashes crash files"
        if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
            status=1
            grep -m 5 "ERROR\|runtime error\|SUMMARY" "$log" || true
            find "$art" -type f | sed 's/^/    /'
        fi
    done
    return $status
}

if [ "$MODE" = replay ]; then
    replay
else
    fuzz
fi
