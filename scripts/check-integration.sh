#!/bin/sh
# The integration suite against an instrumented module or httpd:
#   scripts/check-integration.sh asan      module built with ASan+UBSan,
#                                          libasan preloaded into apache2
#   scripts/check-integration.sh valgrind  apache2 -X under valgrind memcheck
# Extra arguments go to pytest (default: the routing and session suites).
# Any sanitizer or valgrind report fails the test that produced it.
set -e
cd "$(dirname "$0")/.."
mode=${1:-asan}
[ $# -gt 0 ] && shift
tests=${*:-tests/integration/test_routing.py tests/integration/test_sessions.py}
out=build/check-$mode
rm -rf "$out" && mkdir -p "$out/reports" && chmod 777 "$out/reports"
export KYL_CHECK_DIR="$PWD/$out/reports"
case $mode in
asan)
    san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    make -f Makefile.apxs --no-print-directory BUILD="$out" SAN="$san" core >/dev/null
    # link a separate module so the regular build is left alone
    apxs -c -o "$out/mod_kylin_balancer.la" -Wc,-std=gnu99 \
        $(for f in $san; do printf -- '-Wc,%s -Wl,%s ' "$f" "$f"; done) \
        -Isrc $(pkg-config --cflags libxml-2.0) mod_kylin_balancer/*.c \
        "$out/libkylcore.a" $(pkg-config --libs libmemcached jansson libxml-2.0 libssl libcrypto) \
        >/dev/null 2>&1 || { echo "ASan module build failed" >&2; exit 1; }
    export KYL_MODULE="$PWD/$out/.libs/mod_kylin_balancer.so"
    export KYL_ASAN_RUNTIME="$(gcc -print-file-name=libasan.so)"
    ;;
valgrind)
    scripts/deps.sh valgrind
    make -f Makefile.apxs --no-print-directory module >/dev/null
    export KYL_APACHE_PREFIX="valgrind --quiet --error-exitcode=0 --num-callers=30 \
--suppressions=$PWD/tests/valgrind.supp --trace-children=no \
--log-file=$KYL_CHECK_DIR/valgrind.%p"
    # probes run many times slower: tests with tight probe timings stretch them
    export KYL_TIME_SCALE=4
    ;;
*)
    echo "usage: $0 asan|valgrind [pytest args]" >&2
    exit 2
    ;;
esac
/usr/bin/python3 -m pytest -q -p no:cacheprovider $tests
