#!/usr/bin/env bash
# mod_kylin_balancer demo: two memcached, three simulated Kylin 4 nodes and a
# real apache2 with the module, all on loopback, in a temporary directory.
#
#   scripts/demo.sh           start, print what to open, run until Ctrl-C
#   scripts/demo.sh --check   start, check through the balancer, stop
#
# Run by "make -f Makefile.apxs demo" after the deps and the module build.
# Everything started here is stopped by its pid on exit, Ctrl-C or TERM.
#
# Environment (defaults in brackets):
#   DEMO_PORT [8080]  DEMO_MC1_PORT [11311]  DEMO_MC2_PORT [11312]
#   DEMO_N1_PORT [7071]  DEMO_N2_PORT [7072]  DEMO_N3_PORT [7073]
#   DEMO_MPM [event]  DEMO_KEEP [0: remove the temp dir; 1: keep it]
#   APACHE [/usr/sbin/apache2]  MODDIR [/usr/lib/apache2/modules]
#   MEMCACHED [/usr/bin/memcached]  PYTHON [/usr/bin/python3]
#   MODULE [./mod_kylin_balancer.so]
# shellcheck disable=SC2317  # cleanup functions run from traps
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

CHECK=0
case "${1:-}" in
    "") ;;
    --check) CHECK=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

HOST=127.0.0.1
DEMO_PORT=${DEMO_PORT:-8080}
DEMO_MC1_PORT=${DEMO_MC1_PORT:-11311}
DEMO_MC2_PORT=${DEMO_MC2_PORT:-11312}
DEMO_N1_PORT=${DEMO_N1_PORT:-7071}
DEMO_N2_PORT=${DEMO_N2_PORT:-7072}
DEMO_N3_PORT=${DEMO_N3_PORT:-7073}
DEMO_MPM=${DEMO_MPM:-event}
DEMO_KEEP=${DEMO_KEEP:-0}
APACHE=${APACHE:-/usr/sbin/apache2}
MODDIR=${MODDIR:-/usr/lib/apache2/modules}
MEMCACHED=${MEMCACHED:-/usr/bin/memcached}
PYTHON=${PYTHON:-/usr/bin/python3}
MODULE=${MODULE:-$ROOT/mod_kylin_balancer.so}
SIM=$ROOT/tests/kylin_sim/kylin_sim.py
BASE=http://$HOST:$DEMO_PORT

TMP=""
HTTPD_PID=""
PIDS=()          # memcached and simulators, in start order
FAILED=0

say()  { printf 'demo: %s\n' "$*"; }
die()  { printf 'demo: error: %s\n' "$*" >&2; FAILED=1; exit 1; }

# ---- clean-up (by pid only) ------------------------------------------------

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

stop_pid() {   # pid [seconds]: TERM, wait, then KILL
    local pid=$1 n=$(( ${2:-5} * 10 ))
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    while alive "$pid" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
    wait "$pid" 2>/dev/null || true
}

stop_httpd() {
    local kids="" pid
    alive "$HTTPD_PID" || return 0
    kids=$(pgrep -P "$HTTPD_PID" 2>/dev/null || true)   # its children, by parent pid
    stop_pid "$HTTPD_PID" 15
    for pid in $kids; do
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    HTTPD_PID=""
}

cleanup() {
    local i
    trap - EXIT INT TERM
    stop_httpd
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop_pid "${PIDS[$i]}" 5; done
    if [ -n "$TMP" ] && [ -d "$TMP" ]; then
        if [ "$FAILED" = 1 ] && [ -f "$TMP/error.log" ]; then
            echo "---- last lines of apache2's error log ($TMP/error.log):" >&2
            tail -n 30 "$TMP/error.log" >&2
        fi
        if [ "$DEMO_KEEP" = 1 ]; then
            say "kept $TMP"
        else
            rm -rf "$TMP"
        fi
    fi
}

on_signal() { echo; say "stopping"; exit 130; }

trap cleanup EXIT
trap on_signal INT TERM

# ---- checks before starting anything ---------------------------------------

for bin in "$APACHE" "$MEMCACHED" "$PYTHON"; do
    [ -x "$bin" ] || die "$bin not found: run 'make -f Makefile.apxs deps' (or scripts/deps.sh)"
done
command -v curl >/dev/null || die "curl not found: run scripts/deps.sh"
command -v setsid >/dev/null || die "setsid not found (util-linux)"
[ -f "$MODULE" ] || die "$MODULE not found: run 'make -f Makefile.apxs module' first"
[ -f "$SIM" ] || die "$SIM not found"

declare -A SEEN=()
for var in DEMO_PORT DEMO_MC1_PORT DEMO_MC2_PORT DEMO_N1_PORT DEMO_N2_PORT DEMO_N3_PORT; do
    port=${!var}
    case "$port" in
        ''|*[!0-9]*) die "$var='$port' is not a port number" ;;
    esac
    { [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } || die "$var=$port is not a port number (1-65535)"
    [ -z "${SEEN[$port]:-}" ] || die "$var and ${SEEN[$port]} are both $port: give them different ports"
    SEEN[$port]=$var
    # Bind like a server would (SO_REUSEADDR, so TIME_WAIT does not count).
    if ! "$PYTHON" - "$port" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
EOF
    then
        die "port $port ($var) on $HOST is already in use: stop what uses it or set $var to a free port, e.g. $var=$((port + 1000)) $0"
    fi
done

# ---- temp dir ----------------------------------------------------------------

TMP=$(mktemp -d /tmp/kylin-demo.XXXXXX) || die "cannot create a temporary directory"
# httpd's children run as nobody when we are root: their runtime dir
# (watchdog mutex, slotmem files) must be reachable.
chmod 755 "$TMP"
mkdir -p "$TMP/run" "$TMP/kylin-shared"
chmod 777 "$TMP/run"

wait_tcp() {   # port pid seconds
    local port=$1 pid=$2 n=$(( $3 * 10 ))
    while [ "$n" -gt 0 ]; do
        alive "$pid" || return 1
        if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then return 0; fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

http_code() {   # url [curl args...]
    local url=$1; shift
    curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# ---- memcached -----------------------------------------------------------------

start_memcached() {   # name port
    local name=$1 port=$2 pid
    local args=(-U 0 -l "$HOST" -p "$port" -m 16 -t 2)
    [ "$(id -u)" = 0 ] && args+=(-u nobody)
    "$MEMCACHED" "${args[@]}" >>"$TMP/memcached-$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_tcp "$port" "$pid" 5 || { cat "$TMP/memcached-$name.log" >&2; die "memcached $name did not start on $HOST:$port"; }
    say "memcached $name on $HOST:$port (pid $pid)"
}

start_memcached m1 "$DEMO_MC1_PORT"
start_memcached m2 "$DEMO_MC2_PORT"

# ---- Kylin node simulators (profile v4 = Kylin 3.x/4.x) ------------------------

start_node() {   # name port mode [extra args...]
    local name=$1 port=$2 mode=$3 pid n=100; shift 3
    "$PYTHON" "$SIM" --port "$port" --name "$name" --profile v4 --mode "$mode" \
        --public-mode --shared-dir "$TMP/kylin-shared" "$@" \
        >>"$TMP/sim-$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    while [ "$n" -gt 0 ]; do
        alive "$pid" || break
        [ "$(http_code "http://$HOST:$port/_sim/state")" = 200 ] && {
            say "Kylin node $name on $HOST:$port, mode $mode${*:+ ($*)} (pid $pid)"; return 0; }
        sleep 0.1; n=$((n - 1))
    done
    cat "$TMP/sim-$name.log" >&2
    die "simulator $name did not start on $HOST:$port"
}

start_node n1 "$DEMO_N1_PORT" all --leader
start_node n2 "$DEMO_N2_PORT" job
start_node n3 "$DEMO_N3_PORT" query

# ---- secrets and httpd config --------------------------------------------------

# apache2 maps its own copy: a rebuild of the tree's module cannot touch it.
cp "$MODULE" "$TMP/mod_kylin_balancer.so" || die "cannot copy $MODULE"

umask 077
printf 'ADMIN:KYLIN\n' >"$TMP/probe.credentials"
head -c 48 /dev/urandom >"$TMP/session.key"
umask 022

CONF=$TMP/httpd.conf
{
    echo "# Written by scripts/demo.sh; see conf/kylin_balancer.conf for every directive."
    echo "ServerRoot \"$TMP\""
    echo "Listen $HOST:$DEMO_PORT"
    echo "ServerName $HOST"
    echo "PidFile \"$TMP/run/httpd.pid\""
    echo "DefaultRuntimeDir \"$TMP/run\""
    echo "ErrorLog \"$TMP/error.log\""
    echo "LogLevel warn kylin_balancer:info"
    echo
    echo "# mod_watchdog, mod_log_config and mod_unixd are compiled into Debian's apache2."
    echo "LoadModule mpm_${DEMO_MPM}_module $MODDIR/mod_mpm_${DEMO_MPM}.so"
    for m in authz_core authz_host slotmem_shm proxy proxy_http proxy_balancer; do
        echo "LoadModule ${m}_module $MODDIR/mod_${m}.so"
    done
    echo "LoadModule kylin_balancer_module \"$TMP/mod_kylin_balancer.so\""
    if [ "$(id -u)" = 0 ]; then
        echo "User nobody"
        echo "Group nogroup"
    fi
    echo
    echo 'LogFormat "%h \"%r\" %>s %{BALANCER_WORKER_NAME}e %D" kylin'
    echo "CustomLog \"$TMP/access.log\" kylin"
    cat <<EOF

<Proxy "balancer://kylin">
    BalancerMember "http://$HOST:$DEMO_N1_PORT"
    BalancerMember "http://$HOST:$DEMO_N2_PORT"
    BalancerMember "http://$HOST:$DEMO_N3_PORT"
    ProxySet lbmethod=kylin
</Proxy>
ProxyPass        "/kylin-balancer" "!"
ProxyPass        "/kylin" "balancer://kylin/kylin"
ProxyPassReverse "/kylin" "balancer://kylin/kylin"

KylinProbeInterval    2s
KylinProbeCredentials "$TMP/probe.credentials"
KylinSessionStore     $HOST:$DEMO_MC1_PORT $HOST:$DEMO_MC2_PORT
KylinSessionKey       "$TMP/session.key"

<Location "/kylin-balancer">
    SetHandler kylin-balancer
    Require local
</Location>
EOF
} >"$CONF"

if ! out=$("$APACHE" -t -f "$CONF" 2>&1); then
    echo "$out" >&2
    die "apache2 -t refused $CONF"
fi

# ---- apache2 ---------------------------------------------------------------------

# In a session of its own: prefork's parent signals its whole process group
# when it stops, which must not include this script (or make, or a shell).
setsid "$APACHE" -f "$CONF" -DFOREGROUND >>"$TMP/apache2.out" 2>&1 &
HTTPD_PID=$!
n=300
while [ "$n" -gt 0 ]; do
    if ! alive "$HTTPD_PID"; then
        cat "$TMP/apache2.out" >&2
        die "apache2 exited during start-up"
    fi
    [ "$(http_code "$BASE/kylin/api/admin/version")" = 200 ] && break
    sleep 0.1; n=$((n - 1))
done
[ "$n" -gt 0 ] || die "$BASE/kylin/api/admin/version did not answer 200 within 30 s"
say "apache2 on $BASE (pid $HTTPD_PID)"

members_up() {
    curl -s -m 5 "$BASE/kylin-balancer?format=json" 2>/dev/null | "$PYTHON" -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
ms = [m for b in doc.get("balancers", []) for m in b.get("members", [])]
sys.exit(0 if len(ms) == 3 and all(m.get("health") == "up" for m in ms) else 1)'
}

n=150
until members_up; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || die "the prober did not report all three members up within 15 s ($BASE/kylin-balancer)"
    sleep 0.1
done
say "all three members probed and up"

# ---- --check: curl through the balancer, then stop ----------------------------------

if [ "$CHECK" = 1 ]; then
    fails=0
    check() {   # description expected actual
        if [ "$2" = "$3" ]; then
            say "ok   $1"
        else
            say "FAIL $1: expected $2, got ${3:-nothing}"
            fails=$((fails + 1))
        fi
    }
    node_of() {   # curl args...: the X-Kylin-Node that answered
        curl -s -m 10 -o /dev/null -D - "$@" 2>/dev/null \
            | tr -d '\r' | awk -F': ' 'tolower($1) == "x-kylin-node" { print $2 }'
    }
    check "GET /kylin/api/admin/version through the balancer" 200 \
        "$(http_code "$BASE/kylin/api/admin/version")"
    check "GET /kylin-balancer (status page)" 200 "$(http_code "$BASE/kylin-balancer")"
    check "GET /kylin-balancer?format=json" 200 "$(http_code "$BASE/kylin-balancer?format=json")"
    check "POST /kylin/api/user/authentication with ADMIN:KYLIN" 200 \
        "$(http_code "$BASE/kylin/api/user/authentication" -u ADMIN:KYLIN -X POST)"
    jar=$TMP/cookies.txt
    curl -s -o /dev/null -m 10 -c "$jar" -u ADMIN:KYLIN -X POST \
        "$BASE/kylin/api/user/authentication" 2>/dev/null || true
    check "the login set the balancer's session cookie" 1 \
        "$(grep -c 'KYLIN_LB_SESSION' "$jar" 2>/dev/null || true)"
    check "GET /kylin/api/projects without credentials is refused" 401 \
        "$(http_code "$BASE/kylin/api/projects")"
    for i in 1 2 3; do
        check "GET /kylin/api/projects with only the session cookie (#$i)" 200 \
            "$(http_code "$BASE/kylin/api/projects" -b "$jar")"
    done
    check "POST /kylin/api/query is served by the query node n3" n3 \
        "$(node_of -u ADMIN:KYLIN -H 'Content-Type: application/json' \
            -d '{"sql":"select count(*) from kylin_sales","project":"learn_kylin"}' \
            "$BASE/kylin/api/query")"
    check "PUT /kylin/api/cubes/kylin_sales_cube/rebuild goes to the leader n1" n1 \
        "$(node_of -u ADMIN:KYLIN -X PUT -H 'Content-Type: application/json' \
            -d '{"startTime":0,"endTime":0,"buildType":"BUILD"}' \
            "$BASE/kylin/api/cubes/kylin_sales_cube/rebuild")"
    check "PUT /kylin/api/cache/all/update (internal) is refused" 403 \
        "$(http_code "$BASE/kylin/api/cache/all/update" -X PUT)"
    bad=$(grep -E '\[(error|crit|alert|emerg)\]|\[[a-z_]+:(error|crit|alert|emerg)\]' \
          "$TMP/error.log" || true)
    check "no error lines in apache2's error log" "" "$bad"
    if [ "$fails" -gt 0 ]; then
        FAILED=1
        die "$fails check(s) failed"
    fi
    say "all checks passed"
    exit 0
fi

# ---- interactive: print what to open, wait for Ctrl-C ----------------------------

cat <<EOF

mod_kylin_balancer demo is running.

  Balancer status page    $BASE/kylin-balancer
                          $BASE/kylin-balancer?format=json   (also ?format=xml)
  Kylin web UI (sim)      $BASE/kylin/            user ADMIN, password KYLIN

  Log in (the balancer answers with its session cookie KYLIN_LB_SESSION):
    curl -i -u ADMIN:KYLIN -X POST $BASE/kylin/api/user/authentication

  Run a query (X-Kylin-Node names the node that answered: the query node n3):
    curl -i -u ADMIN:KYLIN -H 'Content-Type: application/json' \\
         -d '{"sql":"select count(*) from kylin_sales","project":"learn_kylin"}' \\
         $BASE/kylin/api/query

  Log in once, then use only the session cookie:
    curl -s -c /tmp/kylin-demo.jar -u ADMIN:KYLIN -X POST $BASE/kylin/api/user/authentication
    curl -i -b /tmp/kylin-demo.jar $BASE/kylin/api/projects

  Start a build (goes to the job-engine leader n1):
    curl -i -u ADMIN:KYLIN -X PUT -H 'Content-Type: application/json' \\
         -d '{"startTime":0,"endTime":0,"buildType":"BUILD"}' \\
         $BASE/kylin/api/cubes/kylin_sales_cube/rebuild

  Take the query node down and watch the status page (queries move to n1):
    curl -X POST -d '{"fault":"refuse"}' http://$HOST:$DEMO_N3_PORT/_sim/control
    curl -X POST -d '{"fault":"none"}'   http://$HOST:$DEMO_N3_PORT/_sim/control

  Nodes      n1 http://$HOST:$DEMO_N1_PORT (all, leader)  n2 http://$HOST:$DEMO_N2_PORT (job)  n3 http://$HOST:$DEMO_N3_PORT (query)
  memcached  $HOST:$DEMO_MC1_PORT $HOST:$DEMO_MC2_PORT
  Files      $CONF
             $TMP/error.log  $TMP/access.log

Press Ctrl-C to stop everything.
EOF

while alive "$HTTPD_PID"; do
    wait "$HTTPD_PID" 2>/dev/null || true
done
HTTPD_PID=""
FAILED=1
die "apache2 exited unexpectedly"
