#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The embedded store and PromQL engine beside a real Prometheus (the Debian 2.42 package),
# both loaded with the same samples in the same run:
#   1. bench/tsdb_fixture.c computes 2 h of 200 endpoints' series at a 5 s scrape (6,000
#      series, 8.64 M samples), writes them as OpenMetrics text, and appends the same
#      samples to a tailguard store (timing each scrape's append) that it saves to a file;
#   2. promtool backfills the text into a Prometheus block; bytes per sample and per
#      series on both sides;
#   3. prometheus serves the block and `tailguard run --tsdb FILE` the store (its own
#      scrape set to 1 h, so it adds nothing that matters); bench/tsdb_query.py times the
#      p95 expression over HTTP on both, instant and range, and checks the answers agree;
#   4. bench/tsdb_ingest.py: a gateway with 200 live endpoints scraping itself every
#      second, and a second Prometheus scraping that gateway's /metrics every second.
# Everything listens on 127.0.0.1; every process started here is stopped by its PID.
# Files go to ${TMPDIR:-/tmp}/tailguard-tsdb-bench (about 1.4 GB while the text exists).
#
#   bash bench/tsdb_vs_prometheus.sh
#   RUNS=5 WARMUP=1 INGEST_SECONDS=10 bash bench/tsdb_vs_prometheus.sh   # shorter
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TG=${TG:-$ROOT/build/tailguard}
WORK=${WORK:-${TMPDIR:-/tmp}/tailguard-tsdb-bench}
RUNS=${RUNS:-15}
WARMUP=${WARMUP:-2}
INGEST_SECONDS=${INGEST_SECONDS:-30}
ENDPOINTS=200
PORT_BASE=${PORT_BASE:-19500}
P_PROM=$PORT_BASE P_TG=$((PORT_BASE + 1)) P_TG_ADMIN=$((PORT_BASE + 2))
P_API=$((PORT_BASE + 3)) P_LIVE=$((PORT_BASE + 4)) P_LIVE_ADMIN=$((PORT_BASE + 5))
P_PROM2=$((PORT_BASE + 6))
EXPR='histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket[5m])))'

PIDS=()
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
stop_pid() { # TERM, up to 10 s grace, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # URL PID: up to 60 s for a 200
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$2" 2>/dev/null || die "process $2 exited (see $WORK/*.log)"
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  die "no answer from $1"
}
fig() { awk -v k="$1" '$1 == k { print $2 }' "$2"; } # KEY FILE of "key value" lines
metric() { awk -v k="$1" '$1 == k { print $2 }'; } # KEY from an exposition on stdin

# ------------------------------------------------------------------ checks, build
[ -x "$TG" ] || die "no tailguard binary at $TG (build first, or set TG=)"
for tool in prometheus promtool python3 curl cc; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)"
done
rm -rf "$WORK" && mkdir -p "$WORK"
FX=$ROOT/build/bench-micro/tsdb_fixture
mkdir -p "$(dirname "$FX")"
(cd "$ROOT" && cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/tsdb_fixture.c src/tsdb/[a-z]*.c \
  src/promql/[a-z]*.c src/core/err.c src/core/clock.c -lpcre2-8 -lz -lm -o "$FX")

# ------------------------------------------------------------------ 1-2. data, bytes
# The data ends before now and starts on a 2 h boundary, so promtool cuts one block.
START=$(( ($(date +%s) / 7200 - 1) * 7200 ))
END=$((START + 7200 - 5))
log "generating 2 h x 200 endpoints and loading the tailguard store"
"$FX" gen "$START" "$WORK/data.om" "$WORK/data.tsdb" >"$WORK/tailguard.fig"
F=$WORK/tailguard.fig
log "backfilling Prometheus with promtool"
/usr/bin/time -f '%e' -o "$WORK/promtool.time" \
  promtool tsdb create-blocks-from openmetrics "$WORK/data.om" "$WORK/prom" >"$WORK/promtool.log"
rm -f "$WORK/data.om"
BLOCK=$(dirname "$(ls "$WORK"/prom/*/meta.json)")
[ "$(ls "$WORK"/prom/*/meta.json | wc -l)" = 1 ] || die "promtool cut more than one block"
read -r P_SAMPLES P_SERIES P_CHUNKS < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stats"]; print(s["numSamples"], s["numSeries"], s["numChunks"])' "$BLOCK/meta.json")
P_CHUNK_BYTES=$(cat "$BLOCK"/chunks/* | wc -c)
P_INDEX_BYTES=$(stat -c %s "$BLOCK/index")
P_BLOCK_BYTES=$(du -sb "$BLOCK" | cut -f1)
T_SAMPLES=$(fig samples "$F") T_SERIES=$(fig series "$F")
T_FILE_BYTES=$(stat -c %s "$WORK/data.tsdb")
[ "$P_SAMPLES" = "$T_SAMPLES" ] && [ "$P_SERIES" = "$T_SERIES" ] ||
  die "the two stores hold different data: prometheus $P_SERIES series $P_SAMPLES samples, tailguard $T_SERIES series $T_SAMPLES samples"

{
  echo "== bytes: $T_SERIES series, $T_SAMPLES samples (2 h at 5 s, 200 endpoints), the same in both"
  printf '%-34s %14s %14s %10s\n' '' tailguard prometheus 'tg/prom'
  row() { printf '%-34s %14.3f %14.3f %10.2f\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"; }
  row 'chunk bytes / sample' "$(echo "$(fig chunk_bytes "$F") / $T_SAMPLES" | bc -l)" \
    "$(echo "$P_CHUNK_BYTES / $P_SAMPLES" | bc -l)"
  row 'index bytes / series' "$(echo "$(fig index_bytes "$F") / $T_SERIES" | bc -l)" \
    "$(echo "$P_INDEX_BYTES / $P_SERIES" | bc -l)"
  row 'file (tailguard) / block (prom) / sample' "$(echo "$T_FILE_BYTES / $T_SAMPLES" | bc -l)" \
    "$(echo "$P_BLOCK_BYTES / $P_SAMPLES" | bc -l)"
  echo "  tailguard chunk bytes: tg_tsdb_stats.chunk_bytes, in memory: $(fig chunks "$F") sealed chunks (struct + encoded bits) + $(fig head_chunks "$F") head buffers (allocated size)"
  echo "  tailguard index bytes: tg_tsdb_stats.index_bytes, in memory: series structs, interned strings, postings, hash table"
  echo "  prometheus chunk bytes: the block's chunks/ segment files ($P_CHUNKS chunks, each with length, encoding and CRC32)"
  echo "  prometheus index bytes: the block's index file (symbols, series with chunk refs, postings, offset tables)"
  echo "  file / block: tailguard's saved store vs the whole block directory"
  echo
  echo "== ingest of one scrape of 6,000 series into tailguard's store, in-process (tg_tsdb_append_batch):"
  echo "  median $(fig ingest_p50_ms "$F") ms, p99 $(fig ingest_p99_ms "$F") ms, first (creates the series) $(fig ingest_first_ms "$F") ms"
  echo "  (promtool took $(cat "$WORK/promtool.time") s to backfill the whole text, not comparable per scrape)"
  echo
} | tee "$WORK/summary.txt"

# ------------------------------------------------------------------ 3. queries
log "starting prometheus on the block and tailguard on the store"
printf 'global: {}\n' >"$WORK/prom.yml"
prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/prom" \
  --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:$P_PROM \
  >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P_PROM/-/ready" "${PIDS[-1]}"
cat >"$WORK/loaded.yaml" <<EOF
listen: 127.0.0.1:$P_TG
admin: {listen: 127.0.0.1:$P_TG_ADMIN}
upstreams: [{name: a, servers: ["127.0.0.1:$P_API"]}]
tsdb: {scrape_interval: 1h, save_interval: 24h, retention: 8760h, max_bytes: 0, path: "$WORK/data.tsdb"}
EOF
"$TG" run -c "$WORK/loaded.yaml" --store :memory: >"$WORK/tailguard.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P_TG_ADMIN/metrics" "${PIDS[-1]}"
LOADED=$(curl -fs "http://127.0.0.1:$P_TG_ADMIN/metrics" | metric tailguard_tsdb_samples)
log "tailguard holds $LOADED samples (the file's $T_SAMPLES, plus any of its own scrape)"

{
  echo "== query latency over HTTP, $EXPR"
  echo "   instant at the end of the data; range over the 2 h at step 15 s"
  python3 "$ROOT/bench/tsdb_query.py" "$P_PROM" "$P_TG_ADMIN" "$EXPR" "$END" 7200 15 "$RUNS" \
    "$WARMUP" || exit 1
  echo "   tailguard in-process (tg_promql_eval_*, no HTTP, median of $RUNS):"
  echo "   instant $("$FX" query "$WORK/data.tsdb" "$RUNS" "$EXPR" "$END" | metric median_ms) ms," \
    "range $("$FX" query "$WORK/data.tsdb" "$RUNS" "$EXPR" "$END" 7200 15 | metric median_ms) ms"
  echo
} | tee -a "$WORK/summary.txt"
cleanup

[ "$INGEST_SECONDS" -gt 0 ] || { log "done (ingest skipped); figures in $WORK/summary.txt"; exit 0; }
# ------------------------------------------------------------------ 4. live ingest
log "ingest: a gateway with $ENDPOINTS live endpoints, scraped by itself and by Prometheus"
"$TG" demo-api --listen 127.0.0.1:$P_API --latency-scale 0 >"$WORK/demo-api.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/live.yaml" <<EOF
listen: 127.0.0.1:$P_LIVE
admin: {listen: 127.0.0.1:$P_LIVE_ADMIN}
upstreams: [{name: a, servers: ["127.0.0.1:$P_API"]}]
tsdb: {scrape_interval: 1s, path: ":memory:"}
routes:
EOF
# One route per endpoint: a route's name is its endpoint label from the first request.
for ((i = 0; i < ENDPOINTS; i++)); do
  printf '  - {name: e%03d, path: /echo/e%03d}\n' "$i" "$i" >>"$WORK/live.yaml"
done
"$TG" run -c "$WORK/live.yaml" --store :memory: >"$WORK/live.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P_LIVE_ADMIN/metrics" "${PIDS[-1]}"
cat >"$WORK/prom2.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: tailguard
    static_configs: [{targets: ["127.0.0.1:$P_LIVE_ADMIN"]}]
EOF
prometheus --config.file="$WORK/prom2.yml" --storage.tsdb.path="$WORK/prom2" \
  --web.listen-address=127.0.0.1:$P_PROM2 >"$WORK/prometheus2.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P_PROM2/-/ready" "${PIDS[-1]}"
{
  echo "== ingest per scrape of a live gateway"
  python3 "$ROOT/bench/tsdb_ingest.py" "$P_LIVE" "$P_LIVE_ADMIN" "$P_PROM2" "$INGEST_SECONDS" \
    "$ENDPOINTS" || exit 1
  echo "  tailguard: its scrape task (walk the collectors, flatten, append every sample to its store);"
  echo "  prometheus: GET /metrics (the gateway renders it), parse the text, append to its head and WAL"
} | tee -a "$WORK/summary.txt"
log "done; figures in $WORK/summary.txt"
