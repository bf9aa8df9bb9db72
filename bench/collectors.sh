#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The cost of the collectors, side by side with node_exporter (docs/bench.md,
# "Collectors"). Three measurements:
#  1. bench/collect_cost.c: CPU microseconds and heap allocations per collection of each
#     kind of collector target, in process, every kind measured the same way (a redis-server,
#     a PostgreSQL 15 and a demo-api for the probe are started on loopback for the kinds
#     that need a server; a kind not built yet says so);
#  2. Debian's node_exporter with the same collectors as the host collector: its CPU time
#     per GET /metrics, from /proc/<pid>/stat before and after N scrapes;
#  3. a tailguard gateway, measured exactly like node_exporter: its CPU time per
#     GET /metrics/node (the page is collected afresh at each request).
# Each is ROUNDS rounds of N; the medians are printed with the ratios. Every process
# started here is stopped by PID on exit; all traffic stays on 127.0.0.1.
#
#   N=300 ROUNDS=5 bash bench/collectors.sh   # about 2 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300}
ROUNDS=${ROUNDS:-5}
BUILD=${BUILD:-build}
COLLECTORS=(cpu diskstats filefd filesystem loadavg meminfo netdev pressure stat time uname vmstat)
work=$(mktemp -d "${TMPDIR:-/tmp}/tailguard-collectors.XXXXXX")
pids=()
pg_data=""

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -n "$pg_data" ]]; then
        as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# PostgreSQL refuses to run as root: run it as nobody then.
as_pg() {
    if [[ $(id -u) == 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

wait_http() {
    for _ in $(seq 100); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "collectors.sh: $1 did not answer" >&2
    return 1
}

# CPU seconds (user + system) of process $1 so far, in clock ticks.
ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# Median CPU microseconds per GET of $2 by process $1, ROUNDS rounds of N requests.
per_request_us() {
    local pid=$1 url=$2 hz
    hz=$(getconf CLK_TCK)
    for _ in $(seq 5); do curl -s -o /dev/null "$url"; done
    for _ in $(seq "$ROUNDS"); do
        local t0 t1
        t0=$(ticks "$pid")
        for _ in $(seq "$N"); do curl -s -o /dev/null "$url"; done
        t1=$(ticks "$pid")
        echo "$(( (t1 - t0) * 1000000 / hz / N ))"
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/collect_cost.c "$BUILD/libtg_collect.a" \
    "$BUILD/libtg_config.a" "$BUILD/libtg_http.a" "$BUILD/libtg_metrics.a" "$BUILD/libtg_core.a" \
    -lpq -lhiredis -lyaml -ljansson -lpthread -lm -o "$work/collect_cost"

# Servers for the kinds that need one.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
pg_port=$(free_port)
chmod 711 "$work" # PostgreSQL runs as nobody when this runs as root
mkdir -p "$work/pg" && chmod 777 "$work/pg"
pg_data="$work/pg/data"
as_pg /usr/lib/postgresql/15/bin/initdb -D "$pg_data" -A trust -U postgres >/dev/null
as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -l "$work/pg/log" -w -o \
    "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements" \
    start >/dev/null
demo_port=$(free_port)
"$BUILD/tailguard" demo-api --listen "127.0.0.1:$demo_port" >"$work/demo.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$demo_port/health"

echo "== 1. cost per collection, in process (bench/collect_cost.c)"
"$work/collect_cost" "$N" "$ROUNDS" host \
    "postgres=host=127.0.0.1 port=$pg_port user=postgres dbname=postgres" \
    "redis=127.0.0.1:$redis_port" "probe=http://127.0.0.1:$demo_port/health" \
    "container=$$" | tee "$work/cost.txt"
host_us=$(awk '$1 == "host" { print $3 }' "$work/cost.txt")

echo "== 2. node_exporter: CPU per GET /metrics (same collectors)"
ne_port=$(free_port)
args=(--web.listen-address="127.0.0.1:$ne_port" --collector.disable-defaults)
for c in "${COLLECTORS[@]}"; do args+=("--collector.$c"); done
prometheus-node-exporter "${args[@]}" >"$work/ne.log" 2>&1 &
ne_pid=$!
pids+=($ne_pid)
wait_http "http://127.0.0.1:$ne_port/metrics"
ne_us=$(per_request_us "$ne_pid" "http://127.0.0.1:$ne_port/metrics")
echo "node_exporter $(prometheus-node-exporter --version 2>&1 | head -1 | awk '{print $3}'): ${ne_us} us CPU per scrape (median of $ROUNDS rounds of $N)"

echo "== 3. tailguard gateway: CPU per GET /metrics/node"
admin_port=$(free_port)
"$BUILD/tailguard" run --listen "127.0.0.1:$(free_port)" --admin "127.0.0.1:$admin_port" \
    --upstream "127.0.0.1:$demo_port" --store "$work/store.db" --tsdb :memory: \
    >"$work/gateway.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
wait_http "http://127.0.0.1:$admin_port/health"
gw_us=n/a
if curl -sf -o /dev/null "http://127.0.0.1:$admin_port/metrics/node"; then
    gw_us=$(per_request_us "$gw_pid" "http://127.0.0.1:$admin_port/metrics/node")
    echo "tailguard: ${gw_us} us CPU per /metrics/node (median of $ROUNDS rounds of $N)"
else
    echo "tailguard: /metrics/node is not served (is the host collector on?)"
fi

echo "== ratios (node_exporter / tailguard; above 1: tailguard is cheaper)"
awk -v ne="$ne_us" -v h="$host_us" 'BEGIN { if (h > 0) printf "host collector, in process: %.1fx\n", ne / h }'
if [[ $gw_us != n/a ]]; then
    awk -v ne="$ne_us" -v g="$gw_us" 'BEGIN { if (g > 0) printf "whole scrape, HTTP included: %.1fx\n", ne / g }'
fi
