#!/bin/bash
# Benchmark of mod_kylin_balancer (issue 5): what lbmethod=kylin and the
# shared sessions cost on top of plain mod_proxy_balancer, with nginx and
# HAProxy in front of the same backends for context.
#
#   make -f Makefile.apxs bench        (deps, module, then this script)
#   scripts/bench.sh                   (uses ./mod_kylin_balancer.so as built)
#
# Everything runs on 127.0.0.1; every process started here is stopped by pid
# on exit.  Results: results/bench-<UTC timestamp>/ (summary.md, bench.png,
# raw wrk/callgrind output, the generated configs and logs).  bench/README.md
# describes the scenarios, the phases and the knobs below.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
TOOL="/usr/bin/python3 $BENCH/tool.py"

DURATION=${BENCH_DURATION:-3s}              # one main-phase load run
ROUNDS=${BENCH_ROUNDS:-5}                   # A B C C2 D E, A B C C2 D E, ...
MAIN_SCENARIOS=${BENCH_MAIN_SCENARIOS:-A B C C2 D E}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-32}
SCALE_DURATION=${BENCH_SCALE_DURATION:-3s}
SCALE_CONNS=${BENCH_SCALE_CONNS:-1 4 16 64}
MEMBERS_ROUNDS=${BENCH_MEMBERS_ROUNDS:-2}
CG_WARMUP=${BENCH_CG_WARMUP:-200}
CG_REQUESTS=${BENCH_CG_REQUESTS:-2000}
CG_SCENARIOS=${BENCH_CG_SCENARIOS:-A B C C2 A30 B30}
PROBE_WINDOW=${BENCH_PROBE_WINDOW:-60}      # s, at least
PROBE_SERVERS=${BENCH_PROBE_SERVERS:-1 8}   # StartServers of the two probe httpds
PORT_BASE=${BENCH_PORT_BASE:-28000}
PHASES=${BENCH_PHASES:-main scale members callgrind probe}
MODULE_SRC=${BENCH_MODULE:-$ROOT/mod_kylin_balancer.so}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ROOT/results/bench-$STAMP}
NCPU=$(nproc)
COOKIE_NAME=KYLIN_LB_SESSION

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
has_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---- prerequisites -------------------------------------------------------

install_deps() {
    local fresh="" p
    [ "${BENCH_NO_DEPS:-0}" = 1 ] && return 0
    for p in nginx haproxy; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
            || fresh="$fresh $p"
    done
    "$ROOT/scripts/deps.sh" nginx haproxy wrk gnuplot-nox valgrind
    # Debian may start the packaged daemons on install (ports 80/...); we
    # use our own configs and ports, and stop only what this call installed.
    for p in $fresh; do
        if [ -x /usr/sbin/service ]; then service "$p" stop >/dev/null 2>&1 || true; fi
    done
}

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || die "$c is missing (scripts/deps.sh nginx haproxy wrk gnuplot-nox valgrind)"
    done
}

# ---- processes -----------------------------------------------------------

PIDS=()          # "pid name" of everything started here, in start order
RUN=""

start() {        # start NAME LOGFILE CMD...: runs CMD in the background
    local name=$1 logf=$2
    shift 2
    "$@" >"$logf" 2>&1 &
    PIDS+=("$! $name")
}

stop_pid() {     # stop_pid PID: TERM, then KILL after 10 s; children too
    local pid=$1 kids i
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in $kids; do kill -KILL "$i" 2>/dev/null || true; done
}

forget() {       # forget PID: drop it from PIDS after stop_pid
    local keep=() e
    for e in "${PIDS[@]}"; do [ "${e%% *}" = "$1" ] || keep+=("$e"); done
    PIDS=("${keep[@]}")
}

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    trap '' INT TERM        # finish cleaning up even if asked twice
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]%% *}"
    done
    if [ -n "$RUN" ] && [ -d "$RUN" ]; then
        mkdir -p "$OUT/run"
        # configs and logs (not the big callgrind dumps, copied already)
        (cd "$RUN" && find . -type f \( -name '*.conf' -o -name '*.cfg' \
            -o -name '*.log' \) -size -20M -print0 \
            | xargs -0r cp --parents -t "$OUT/run") 2>/dev/null || true
        rm -rf "$RUN"
    fi
    [ $rc -ne 0 ] && log "failed (exit $rc); logs in $OUT/run"
    exit $rc
}

wait_port() {    # wait_port PORT SECONDS PID
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        kill -0 "$3" 2>/dev/null || return 1
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ---- ports and layout ----------------------------------------------------
# backends: main nodes n1-n3, the 30-member set m01-m30, probe-cost nodes
# p<servers>a-c; fronts: one httpd per scenario, nginx, haproxy; memcached.

P_NODE=$((PORT_BASE + 1))            # +1..+3
P_M30=$((PORT_BASE + 101))           # +101..+130
P_PROBE=$((PORT_BASE + 201))         # +201..+203, +211..+213
P_A=$((PORT_BASE + 11)); P_B=$((PORT_BASE + 12)); P_C=$((PORT_BASE + 13))
P_A30=$((PORT_BASE + 14)); P_B30=$((PORT_BASE + 15)); P_C2=$((PORT_BASE + 16))
P_D=$((PORT_BASE + 18)); P_E=$((PORT_BASE + 19)); P_CG=$((PORT_BASE + 20))
P_PH=$((PORT_BASE + 21))             # +21, +22: probe-cost httpds
P_MC1=$((PORT_BASE + 301)); P_MC2=$((PORT_BASE + 302))

all_ports() {
    local i
    for i in 1 2 3; do echo $((P_NODE + i - 1)); done
    for i in $(seq 0 29); do echo $((P_M30 + i)); done
    for i in 0 1 2 10 11 12; do echo $((P_PROBE + i)); done
    echo $P_A $P_B $P_C $P_C2 $P_A30 $P_B30 $P_D $P_E $P_CG $P_PH $((P_PH + 1)) $P_MC1 $P_MC2
}

# ---- backends (one nginx, many server blocks) ----------------------------

node_conf() {    # node_conf NAME PORT MODE LEADER LOG
    $TOOL fill "$BENCH/templates/backend-node.conf.in" "$RUN/nodes/$1.conf" \
        NAME="$1" PORT="$2" MODE="$3" LEADER="$4" SESSION="BENCH$2" LOG="$5"
}

start_backends() {
    local i name
    mkdir -p "$RUN/nodes" "$RUN/nginx-tmp"
    # Main cluster: n1 mode all and job-engine leader, n2 and n3 mode query
    # (queries go to n2/n3 under kylin, to all three under byrequests).
    node_conf n1 $P_NODE all true off
    node_conf n2 $((P_NODE + 1)) query false off
    node_conf n3 $((P_NODE + 2)) query false off
    for i in $(seq 1 30); do
        name=$(printf 'm%02d' "$i")
        if [ "$i" = 1 ]; then node_conf "$name" $((P_M30 + i - 1)) all true off
        else node_conf "$name" $((P_M30 + i - 1)) query false off; fi
    done
    # probe-cost clusters (same modes), the only nodes with an access log
    for i in 0 1; do
        node_conf "p${i}a" $((P_PROBE + 10 * i)) all true "$RUN/probe-p${i}a.log probe"
        node_conf "p${i}b" $((P_PROBE + 10 * i + 1)) query false "$RUN/probe-p${i}b.log probe"
        node_conf "p${i}c" $((P_PROBE + 10 * i + 2)) query false "$RUN/probe-p${i}c.log probe"
    done
    $TOOL fill "$BENCH/templates/backend.conf.in" "$RUN/backend-nginx.conf" \
        USER="$NGINX_USER" WORKERS="$NCPU" RUN="$RUN" \
        SERVERS="    include $RUN/nodes/*.conf;"
    start backend-nginx "$RUN/backend-nginx.out" \
        nginx -p "$RUN" -e "$RUN/backend-nginx.error.log" -c "$RUN/backend-nginx.conf" \
        -g 'daemon off;'
    wait_port $((P_PROBE + 12)) 10 "${PIDS[-1]%% *}" || die "backend nginx did not start: $(cat "$RUN/backend-nginx.out" "$RUN/backend-nginx.error.log" 2>/dev/null)"
}

# ---- fronts ----------------------------------------------------------------

members() {      # members FIRST_PORT COUNT: BalancerMember lines
    local i out=""
    for i in $(seq 0 $(($2 - 1))); do
        out="$out    BalancerMember \"http://127.0.0.1:$(($1 + i))\"\\n"
    done
    printf '%s' "$out"
}

kylin_dirs() {   # kylin_dirs routing|sessions [PROBE_INTERVAL]
    local d="KylinProbeInterval ${2:-5s}"
    if [ "$1" = sessions ]; then
        d="$d\\nKylinSessionStore 127.0.0.1:$P_MC1 127.0.0.1:$P_MC2"
        d="$d\\nKylinSessionKey \"$RUN/session.key\""
    fi
    printf '%s' "$d"
}

httpd_conf() {   # httpd_conf NAME PORT LBMETHOD KYLIN_DIRECTIVES MEMBERS_PORT COUNT SERVERS USER
    local dir=$RUN/httpd-$1
    mkdir -p "$dir/run"
    chmod 755 "$dir"
    chmod 777 "$dir/run"
    $TOOL fill "$BENCH/templates/httpd.conf.in" "$dir/httpd.conf" ROOT="$dir" \
        PORT="$2" LBMETHOD="$3" KYLIN="$4" MEMBERS="$(members "$5" "$6")" \
        SERVERS="$7" USER="$8" MODULE="$RUN/mod_kylin_balancer.so"
    apache2 -t -f "$dir/httpd.conf" >"$dir/configtest.out" 2>&1 \
        || die "httpd-$1: configuration refused: $(cat "$dir/configtest.out")"
}

start_httpd() {  # start_httpd NAME PORT (config written by httpd_conf)
    local dir=$RUN/httpd-$1
    start "httpd-$1" "$dir/stdout.log" apache2 -f "$dir/httpd.conf" -DFOREGROUND
    wait_port "$2" 20 "${PIDS[-1]%% *}" \
        || die "httpd-$1 did not start: $(cat "$dir/stdout.log" "$dir/error.log" 2>/dev/null)"
}

start_fronts() {
    local dirs_b dirs_c ups="" srv="" i
    dirs_b=$(kylin_dirs routing)
    dirs_c=$(kylin_dirs sessions)
    # A, B, C: one apache2 each, identical but for lbmethod and our directives
    httpd_conf A $P_A byrequests "" $P_NODE 3 4 "$HTTPD_USER"
    httpd_conf B $P_B kylin "$dirs_b" $P_NODE 3 4 "$HTTPD_USER"
    httpd_conf C $P_C kylin "$dirs_c" $P_NODE 3 4 "$HTTPD_USER"
    httpd_conf C2 $P_C2 kylin "$dirs_c\\nKylinSessionCacheTTL 2s" $P_NODE 3 4 "$HTTPD_USER"
    start_httpd A $P_A
    start_httpd B $P_B
    start_httpd C $P_C
    start_httpd C2 $P_C2
    if has_phase members; then
        httpd_conf A30 $P_A30 byrequests "" $P_M30 30 4 "$HTTPD_USER"
        httpd_conf B30 $P_B30 kylin "$dirs_b" $P_M30 30 4 "$HTTPD_USER"
        start_httpd A30 $P_A30
        start_httpd B30 $P_B30
    fi
    for i in 0 1 2; do
        ups="$ups        server 127.0.0.1:$((P_NODE + i));\\n"
        srv="$srv    server n$((i + 1)) 127.0.0.1:$((P_NODE + i))\\n"
    done
    $TOOL fill "$BENCH/templates/front-nginx.conf.in" "$RUN/front-nginx.conf" \
        USER="$NGINX_USER" WORKERS="$NCPU" RUN="$RUN" PORT=$P_D UPSTREAMS="$ups"
    start front-nginx "$RUN/front-nginx.out" nginx -p "$RUN" \
        -e "$RUN/front-nginx.error.log" -c "$RUN/front-nginx.conf" -g 'daemon off;'
    wait_port $P_D 10 "${PIDS[-1]%% *}" || die "front nginx did not start: $(cat "$RUN/front-nginx.out")"
    $TOOL fill "$BENCH/templates/haproxy.cfg.in" "$RUN/haproxy.cfg" \
        RUN="$RUN" WORKERS="$NCPU" PORT=$P_E SERVERS="$srv"
    start haproxy "$RUN/haproxy.log" haproxy -db -f "$RUN/haproxy.cfg"
    wait_port $P_E 10 "${PIDS[-1]%% *}" || die "haproxy did not start: $(cat "$RUN/haproxy.log")"
}

start_memcached() {
    local p
    for p in $P_MC1 $P_MC2; do
        start "memcached-$p" "$RUN/memcached-$p.log" memcached -U 0 -l 127.0.0.1 \
            -p "$p" -m 64 -t 2 "${MEMCACHED_USER[@]}"
        wait_port "$p" 10 "${PIDS[-1]%% *}" || die "memcached $p did not start"
    done
}

# ---- load runs -------------------------------------------------------------

declare -A PORT_OF=([A]=$P_A [B]=$P_B [C]=$P_C [C2]=$P_C2 [D]=$P_D [E]=$P_E
                    [A30]=$P_A30 [B30]=$P_B30)
declare -A PROC_OF=([A]=httpd-A [B]=httpd-B [C]=httpd-C [C2]=httpd-C2 [D]=front-nginx
                    [E]=haproxy [A30]=httpd-A30 [B30]=httpd-B30)

pid_of() {       # pid_of NAME: pid of a process started here
    local e
    for e in "${PIDS[@]}"; do [ "${e#* }" = "$1" ] && { echo "${e%% *}"; return; }; done
}

cpu_groups() {   # cpu_groups SCENARIO: proxy, memcached and backend pids for tool.py cpu
    echo "$(pid_of "${PROC_OF[$1]}") $(pid_of "memcached-$P_MC1"),$(pid_of "memcached-$P_MC2") $(pid_of backend-nginx)"
}

run_wrk() {      # run_wrk PHASE SCENARIO WORKLOAD CONNS DURATION ROUND MEMBERS
    # every scenario gets the same requests, the session cookie included
    local phase=$1 sc=$2 wl=$3 c=$4 d=$5 round=$6 m=$7 t=$THREADS cookie=$SESSION_COOKIE
    local f secs groups cpu0 cpu1 mc0=""
    [ "$c" -lt "$t" ] && t=$c
    f=$OUT/raw/$phase-$sc-$wl-c$c-m$m-r$round.txt
    secs=${d%s}
    groups=$(cpu_groups "$sc")
    # shellcheck disable=SC2086
    cpu0=$($TOOL cpu $groups)
    [ "${sc:0:1}" = C ] && mc0=$($TOOL mc-stats $P_MC1 $P_MC2)
    BENCH_WORKLOAD=$wl BENCH_COOKIE=$cookie timeout $((secs + 30)) \
        wrk -t"$t" -c"$c" -d"$d" --latency -s "$BENCH/wrk.lua" \
        "http://127.0.0.1:${PORT_OF[$sc]}" >"$f" 2>&1 || log "wrk $sc $wl exited $?"
    # shellcheck disable=SC2086
    cpu1=$($TOOL cpu $groups)
    if [ "${sc:0:1}" = C ]; then   # memcached traffic of this run alone
        printf '%s\t%s\t%s\t%s\t%s\n' "$phase" "$sc" "raw/$(basename "$f")" "$mc0" \
            "$($TOOL mc-stats $P_MC1 $P_MC2)" >>"$OUT/memcached-runs.tsv"
    fi
    # CPU ticks used during the run by the proxy, memcached, the backends
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$sc" "$wl" "$c" "$m" \
        "$round" "raw/$(basename "$f")" "$(cut -d' ' -f1 /proc/loadavg)" \
        "$cpu0" "$cpu1" >>"$OUT/runs.tsv"
    log "$phase r$round $sc $wl c=$c m=$m: $(grep -o 'Requests/sec: *[0-9.]*' "$f" || echo 'no result')"
}

warm_up() {       # connection pools, caches; not kept
    local sc
    for sc in $MAIN_SCENARIOS; do
        BENCH_WORKLOAD=read BENCH_COOKIE=$SESSION_COOKIE \
            timeout 30 wrk -t1 -c4 -d1s -s "$BENCH/wrk.lua" \
            "http://127.0.0.1:${PORT_OF[$sc]}" >/dev/null 2>&1 || true
    done
}

phase_main() {
    local r wl sc
    log "main: $ROUNDS rounds of $MAIN_SCENARIOS x {read, query}, -t$THREADS -c$CONNS -d$DURATION"
    for r in $(seq 1 "$ROUNDS"); do
        for wl in read query; do
            for sc in $MAIN_SCENARIOS; do run_wrk main $sc $wl "$CONNS" "$DURATION" "$r" 3; done
        done
    done
}

phase_scale() {
    local c sc
    log "scale: connections $SCALE_CONNS for A B C, read, -d$SCALE_DURATION"
    for c in $SCALE_CONNS; do
        for sc in A B C; do run_wrk scale $sc read "$c" "$SCALE_DURATION" 1 3; done
    done
}

phase_members() {
    local r sc
    log "members: 3 vs 30 members for A and B, read, -c$CONNS -d$SCALE_DURATION"
    $TOOL wait-probed $P_B30 30 30 >/dev/null || die "B30: members not probed"
    for r in $(seq 1 "$MEMBERS_ROUNDS"); do
        for sc in A B A30 B30; do
            run_wrk members $sc read "$CONNS" "$SCALE_DURATION" "$r" \
                "$([ "${sc:1}" = 30 ] && echo 30 || echo 3)"
        done
    done
}

# ---- callgrind: instructions per request, apache2 -X -----------------------
# apache2 runs as nobody from the start (no User switch), so that
# callgrind_control (vgdb) can reach it; the runtime dir is nobody's.

AS_NOBODY=()     # set in main when root

cg_control() {   # cg_control PID ARGS...: callgrind_control, checked
    local pid=$1 out
    shift
    out=$("${AS_NOBODY[@]}" callgrind_control "$@" "$pid" 2>&1) || true
    [[ "$out" == *OK* ]] || die "callgrind_control $* $pid: $out"
}

callgrind_one() {  # callgrind_one SCENARIO
    # every scenario gets the same requests, the session cookie included
    local sc=$1 dir=$RUN/httpd-cg$1 cookie=$SESSION_COOKIE vpid t0 t1 wall batch idle
    local lb=kylin dirs="" first=$P_NODE count=3
    # probes every 60 s: the batch and the idle window each see none after
    # the first, so the idle subtraction does not depend on when they fall
    case $sc in
        A|A30) lb=byrequests ;;
        B|B30) dirs=$(kylin_dirs routing 60s) ;;
        C) dirs=$(kylin_dirs sessions 60s) ;;
        C2) dirs="$(kylin_dirs sessions 60s)\\nKylinSessionCacheTTL 2s" ;;
    esac
    if [ "${sc:1}" = 30 ]; then first=$P_M30; count=30; fi
    httpd_conf "cg$sc" $P_CG $lb "$dirs" "$first" "$count" 1 ""
    [ ${#AS_NOBODY[@]} -eq 0 ] || chown -R nobody "$dir"
    start "callgrind-$sc" "$dir/valgrind.log" "${AS_NOBODY[@]}" valgrind \
        --tool=callgrind --instr-atstart=no --dump-instr=no \
        --callgrind-out-file="$dir/callgrind.%p.out" \
        apache2 -X -f "$dir/httpd.conf"
    vpid=${PIDS[-1]%% *}
    wait_port $P_CG 120 "$vpid" || die "apache2 -X under callgrind ($sc) did not start: $(tail -20 "$dir/valgrind.log")"
    [ "$lb" = byrequests ] || $TOOL wait-probed $P_CG "$count" 60 >/dev/null
    cg_control "$vpid" -i on
    "$BENCH/drive.py" $P_CG "$CG_WARMUP" "$cookie" >/dev/null \
        || die "callgrind $sc: warm-up answers not all 200"
    cg_control "$vpid" -z
    t0=$(date +%s.%N)
    "$BENCH/drive.py" $P_CG "$CG_REQUESTS" "$cookie" >"$dir/drive.out" \
        || log "callgrind $sc: $(cat "$dir/drive.out")"
    t1=$(date +%s.%N)
    cg_control "$vpid" -d batch
    # the same wall time idle: the watchdog prober, the listener's wakeups
    wall=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    sleep "$wall"
    cg_control "$vpid" -d idle
    stop_pid "$vpid"
    forget "$vpid"
    batch=$(ls "$dir"/callgrind.*.out.1) || die "callgrind $sc: no batch dump"
    idle=$(ls "$dir"/callgrind.*.out.2) || die "callgrind $sc: no idle dump"
    cp "$batch" "$OUT/callgrind-$sc.batch.out"
    cp "$idle" "$OUT/callgrind-$sc.idle.out"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$CG_REQUESTS" "$($TOOL cg-total "$batch")" \
        "$($TOOL cg-total "$idle")" "$wall" "$(grep -o '[0-9]* not 200' "$dir/drive.out")" \
        >>"$OUT/callgrind.tsv"
    {
        echo "== $sc: self cost, our module (mod_kylin_balancer/ and src/)"
        callgrind_annotate --threshold=100 "$batch" 2>/dev/null \
            | grep -E '(mod_kylin_balancer|src)/[a-z_]+\.c:' | head -20 || true
        echo "== $sc: inclusive cost, our module"
        callgrind_annotate --inclusive=yes --threshold=100 "$batch" 2>/dev/null \
            | grep -E '(mod_kylin_balancer|src)/[a-z_]+\.c:' | head -20 || true
        echo "== $sc: top 25 functions overall (self)"
        callgrind_annotate --threshold=100 "$batch" 2>/dev/null \
            | grep -E '^ *[0-9,]+ ' | grep -v 'PROGRAM TOTALS' | head -25 || true
    } >"$OUT/callgrind-$sc.top.txt"
    log "callgrind $sc: $(cat "$dir/drive.out"), batch $(sed -n '$p' "$OUT/callgrind.tsv" | cut -f3) Ir"
}

phase_callgrind() {
    local sc
    log "callgrind: apache2 -X, $CG_WARMUP warm-up + $CG_REQUESTS measured requests each for $CG_SCENARIOS"
    for sc in $CG_SCENARIOS; do callgrind_one "$sc"; done
}

# ---- probe cost: requests per member per minute at the backends ------------

PROBE_T0=""
probe_start() {
    local i s
    i=0
    for s in $PROBE_SERVERS; do
        httpd_conf "P$s" $((P_PH + i)) kylin "$(kylin_dirs routing)" $((P_PROBE + 10 * i)) 3 \
            "$s" "$HTTPD_USER"
        start_httpd "P$s" $((P_PH + i))
        i=$((i + 1))
    done
}

probe_mark() {   # after the first probes: the window starts
    local i s
    i=0
    for s in $PROBE_SERVERS; do
        $TOOL wait-probed $((P_PH + i)) 3 30 >/dev/null || die "httpd-P$s: not probed"
        i=$((i + 1))
    done
    PROBE_T0=$(date +%s.%N)
}

probe_finish() {
    local i s t1 e x pid procs
    e=$(python3 -c "import time; print(max(0, $PROBE_T0 + $PROBE_WINDOW - time.time()))")
    [ "${e%%.*}" -gt 0 ] && { log "probe: waiting ${e%%.*} s to fill the window"; sleep "$e"; }
    t1=$(date +%s.%N)
    i=0
    for s in $PROBE_SERVERS; do
        pid=""
        for x in "${PIDS[@]}"; do [ "${x#* }" = "httpd-P$s" ] && pid=${x%% *}; done
        procs=$(pgrep -c -P "$pid" || true)
        for x in a b c; do
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$procs" "p$i$x" "$PROBE_T0" "$t1" \
                "$($TOOL probe-count "$RUN/probe-p$i$x.log" "$PROBE_T0" "$t1")" \
                >>"$OUT/probe.tsv"
        done
        i=$((i + 1))
    done
}

# ---- main ------------------------------------------------------------------

main() {
    install_deps
    need apache2 nginx haproxy wrk gnuplot valgrind callgrind_control memcached setpriv
    [ -f "$MODULE_SRC" ] || die "no module at $MODULE_SRC: build it first (flock /tmp/kyl-build.lock make -f Makefile.apxs module)"
    # shellcheck disable=SC2046
    $TOOL ports-free $(all_ports)

    mkdir -p "$OUT/raw"
    RUN=$(mktemp -d /tmp/kyl-bench.XXXXXX)
    chmod 755 "$RUN"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # a private copy: a rebuild in the tree during the run changes nothing
    cp "$MODULE_SRC" "$RUN/mod_kylin_balancer.so"
    head -c 48 /dev/urandom >"$RUN/session.key"
    chmod 644 "$RUN/session.key"
    if [ "$(id -u)" = 0 ]; then
        HTTPD_USER='User nobody\nGroup nogroup'
        NGINX_USER='user nobody nogroup;'
        MEMCACHED_USER=(-u nobody)
        AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    else
        HTTPD_USER=''; NGINX_USER=''; MEMCACHED_USER=()
    fi
    {
        echo "date=$STAMP"
        echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$ROOT" diff --quiet HEAD -- mod_kylin_balancer src 2>/dev/null || echo '+local changes')"
        echo "module_sha256=$(sha256sum "$MODULE_SRC" | cut -c1-16)"
        echo "module_built=$(date -u -r "$MODULE_SRC" +%Y-%m-%dT%H:%M:%SZ)"
        echo "cpus=$NCPU"
        echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
        echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
        echo "apache2=$(apache2 -v | sed -n 's/^Server version: //p')"
        echo "nginx=$(nginx -v 2>&1 | sed 's/.*\///')"
        echo "haproxy=$(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p')"
        echo "wrk=-t$THREADS -c$CONNS -d$DURATION"
        echo "rounds=$ROUNDS"
        echo "scale=$SCALE_CONNS -d$SCALE_DURATION; members rounds=$MEMBERS_ROUNDS"
        echo "callgrind=$CG_WARMUP warm-up + $CG_REQUESTS requests, $CG_SCENARIOS"
        echo "phases=$PHASES"
    } >"$OUT/meta.txt"
    : >"$OUT/runs.tsv"

    log "results in $OUT"
    start_backends
    start_memcached
    start_fronts
    has_phase probe && probe_start
    $TOOL wait-probed $P_B 3 30 >/dev/null || die "B: members not probed"
    $TOOL wait-probed $P_C 3 30 >/dev/null || die "C: members not probed"
    has_phase probe && probe_mark

    # C: one login through the balancer; its cookie rides on every request
    SESSION_COOKIE=$($TOOL login $P_C $COOKIE_NAME 2>>"$OUT/login.txt" || true)
    if [ -n "$SESSION_COOKIE" ] \
        && [ "$($TOOL get $P_C /kylin/api/projects "$SESSION_COOKIE")" = 200 ]; then
        echo "sessions=active" >>"$OUT/meta.txt"
        log "C: sessions active (login gave a $COOKIE_NAME cookie)"
    else
        echo "sessions=not active" >>"$OUT/meta.txt"
        log "C: sessions not active: $(cat "$OUT/login.txt" 2>/dev/null)"
        SESSION_COOKIE=""
    fi

    warm_up
    has_phase main && phase_main
    has_phase scale && phase_scale
    has_phase members && phase_members
    has_phase callgrind && phase_callgrind
    has_phase probe && probe_finish

    echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
    for x in "$RUN"/httpd-*/error.log; do
        [ -f "$x" ] || continue
        printf '%s\t%s\n' "$(basename "$(dirname "$x")")" \
            "$(grep -cE '\[([a-z_]+:)?(error|crit|alert|emerg)\]' "$x" || true)" \
            >>"$OUT/errors.tsv"
    done
    /usr/bin/python3 "$BENCH/report.py" --quiet "$OUT"
    if grep -vq '^#' "$OUT/plot-main.dat"; then
        gnuplot -e "dir='$OUT'; scale_n=$(grep -vc '^#' "$OUT/plot-scale.dat"); members_n=$(grep -vc '^#' "$OUT/plot-members.dat")" \
            "$BENCH/bench.gp" 2>"$OUT/gnuplot.log" \
            || log "gnuplot failed: $(cat "$OUT/gnuplot.log")"
    fi
    cat "$OUT/summary.md"
    log "done: $OUT/summary.md$([ -f "$OUT/bench.png" ] && echo ", $OUT/bench.png")"
}

main "$@"
