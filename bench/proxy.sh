#!/usr/bin/env bash
# shellcheck disable=SC2046,SC2086  # pid and target lists are split into words on purpose
# SPDX-License-Identifier: MIT
# Proxy benchmark: tailguard vs HAProxy vs nginx (reverse proxy) in front of one backend,
# all on loopback, driven by wrk. Run by `make bench` (which installs haproxy, nginx, wrk,
# strace and linux-perf first). See bench/README.md for the knobs and how to read the output.
#
# Pinning (default): proxy + backend on cpu0 = the system under test shares one core, so
# the load generator (wrk, on cpu1) is never the bottleneck; every proxy pays for the
# same backend. The paced phase moves the backend to cpu1 so a proxy's added latency is
# not mixed with proxy<->backend scheduling on a shared core.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TG=${TG:-$ROOT/build/tailguard}
WORK=${WORK:-${TMPDIR:-/tmp}/tailguard-bench}
BACKEND=${BACKEND:-nginx}              # nginx | demo-api
THREADS=${THREADS:-1}                  # threads/workers of every proxy
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}               # seconds per measured run
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-3}
KEEPALIVE=${KEEPALIVE:-$((CONNS > 1024 ? CONNS : 1024))}  # idle upstream conns kept, every proxy
SYSCALL_DURATION=${SYSCALL_DURATION:-3}                   # 0 = skip the syscall phase
PACED=${PACED:-1}
PACED_CONNS=${PACED_CONNS:-32}
PACED_DELAY_MS=${PACED_DELAY_MS:-4}    # mean think time per request per connection
PACED_DURATION=${PACED_DURATION:-$DURATION}
PROXY_CPU=${PROXY_CPU:-0}
BACKEND_CPU=${BACKEND_CPU:-0}
PACED_BACKEND_CPU=${PACED_BACKEND_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT_BASE=${PORT_BASE:-19300}
TARGETS=${TARGETS:-"direct tailguard tg-nometrics tg-protect haproxy nginx"}

BACKEND_PORT=$PORT_BASE STATUS_PORT=$((PORT_BASE + 1)) TG_ADMIN_PORT=$((PORT_BASE + 5))
declare -A PORT=([direct]=$BACKEND_PORT [tailguard]=$((PORT_BASE + 2)) [haproxy]=$((PORT_BASE + 3)) [nginx]=$((PORT_BASE + 4)) [tg-nometrics]=$((PORT_BASE + 6)) [tg-protect]=$((PORT_BASE + 8)))
TG_NM_ADMIN_PORT=$((PORT_BASE + 7)) # tg-nometrics: tailguard with metrics recording off
TG_PR_ADMIN_PORT=$((PORT_BASE + 9)) # tg-protect: every protection on, none triggering
declare -A PID=()   # name -> pid we started
STARTED=()          # start order, stopped in reverse
FG='' AUX=''        # the wrk, and the perf/strace watching it, currently running
HZ=$(getconf CLK_TCK)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ processes
descendants() { local c; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done; }
pids_of() { local p=${PID[$1]}; echo "$p" $(descendants "$p"); }   # target -> its processes

stop_pid() { # TERM, up to 5 s grace; if still alive, KILL it and the children it would have reaped
  local pid=$1 kids i
  kids=$(descendants "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" $kids 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$FG" ] && stop_pid "$FG"
  [ -n "$AUX" ] && stop_pid "$AUX"
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${PID[${STARTED[i]}]}"; done
  STARTED=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_fg() { "$@" & FG=$!; wait "$FG" || true; FG=; }   # background + wait: signals act at once
wrk_to() { # out target conns seconds [pace_ms]: wrk on the client cpu; wrk.lua adds a RESULT line
  PACE_MS=${5:-0} run_fg taskset -c "$CLIENT_CPU" wrk -t1 -c"$3" -d"$4s" --timeout 5s --latency \
    -s "$WORK/wrk.lua" "http://127.0.0.1:${PORT[$2]}/" >"$1" 2>&1
}
start_bg() { # name cpu cmd... (must stay in the foreground and exit on SIGTERM)
  local name=$1 cpu=$2; shift 2
  taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!; STARTED+=("$name")
}
wait_ready() { # name: until GET / answers "ok"
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(curl -s --max-time 1 "http://127.0.0.1:${PORT[$1]}/" || true)" = ok ] && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || { cat "$WORK/$1.log" >&2; die "$1 exited during startup"; }
    sleep 0.1
  done
  die "$1 not answering on :${PORT[$1]}"
}
alive() { kill -0 "${PID[$1]}" 2>/dev/null || { tail -20 "$WORK/$1.log" >&2; die "$1 (pid ${PID[$1]}) died"; }; }

# ------------------------------------------------------------------ configs
write_configs() {
  local tmp="client_body_temp_path $WORK/t/b; proxy_temp_path $WORK/t/p; fastcgi_temp_path $WORK/t/f;
    uwsgi_temp_path $WORK/t/u; scgi_temp_path $WORK/t/s;"
  # nginx closes a keep-alive connection after 1000 requests by default (both sides): lift it
  local ngx_common="daemon off; master_process on; user root; worker_rlimit_nofile 20000;
events { worker_connections 8192; }"
  cat >"$WORK/backend.conf" <<EOF
$ngx_common worker_processes 1; pid $WORK/backend.pid;
http { access_log off; $tmp default_type text/plain;
  keepalive_timeout 300s; keepalive_requests 100000000;
  server { listen 127.0.0.1:$BACKEND_PORT backlog=4096; location / { return 200 "ok"; } }
  # accepted-connection counter: tells whether a proxy reuses its upstream connections
  server { listen 127.0.0.1:$STATUS_PORT; location / { stub_status; } }
}
EOF
  cat >"$WORK/nginx.conf" <<EOF
$ngx_common worker_processes $THREADS; pid $WORK/nginx.pid;
http { access_log off; $tmp
  keepalive_timeout 300s; keepalive_requests 100000000;
  upstream be { server 127.0.0.1:$BACKEND_PORT; keepalive $KEEPALIVE;
    keepalive_requests 100000000; keepalive_timeout 300s; }
  server { listen 127.0.0.1:${PORT[nginx]} backlog=4096;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
EOF
  # HAProxy: one directive per line; one section per line here
  printf '%s\n' global "  nbthread $THREADS" "  maxconn 8192" \
    defaults "  mode http" "  http-reuse always" "  option http-keep-alive" "  timeout connect 5s" \
    "  timeout client 300s" "  timeout server 300s" "  timeout http-keep-alive 300s" \
    "frontend fe" "  bind 127.0.0.1:${PORT[haproxy]} backlog 4096" "  default_backend be" \
    "backend be" "  server s1 127.0.0.1:$BACKEND_PORT pool-max-conn $KEEPALIVE" >"$WORK/haproxy.cfg"
  cat >"$WORK/tailguard.yaml" <<EOF
listen: "127.0.0.1:${PORT[tailguard]}"
workers: $THREADS
admin: { listen: "127.0.0.1:$TG_ADMIN_PORT" }
timeouts: { idle: 300s, drain: 1s }
limits: { max_connections: 8192 }   # = HAProxy maxconn (2 fds each must fit in 20000)
upstreams: [{ name: api, keepalive: $KEEPALIVE, servers: ["127.0.0.1:$BACKEND_PORT"] }]
EOF
  # the same with metrics recording off: what recording costs, measured in the same rounds
  sed -e "s/${PORT[tailguard]}/${PORT[tg-nometrics]}/" -e "s/$TG_ADMIN_PORT/$TG_NM_ADMIN_PORT/" \
    "$WORK/tailguard.yaml" >"$WORK/tg-nometrics.yaml"
  echo "metrics: { enabled: false }" >>"$WORK/tg-nometrics.yaml"
  # the same with every protection switched on but never triggering: what the admit
  # decisions cost on the request path (a breaker with its window, a global rate limit
  # and a per-client rule sharing cache lines across workers, a concurrency limit with a
  # queue, a disabled feature no request matches, a cache rule for paths not requested,
  # status retries with a backoff and a per-try timeout; passive ejection is on by
  # default). The adaptive limit is left out: under a saturating load latency does rise
  # with concurrency, so it would trigger, as it should.
  sed -e "s/${PORT[tailguard]}/${PORT[tg-protect]}/" -e "s/$TG_ADMIN_PORT/$TG_PR_ADMIN_PORT/" \
    -e "s/timeouts: { idle: 300s, drain: 1s }/timeouts: { idle: 300s, drain: 1s, per_try: 30s }/" \
    "$WORK/tailguard.yaml" >"$WORK/tg-protect.yaml"
  cat >>"$WORK/tg-protect.yaml" <<EOF
circuit_breaker: { enabled: true, timeout_ms: 60000, failure_threshold: 0.5 }
rate_limit:
  enabled: true
  requests_per_second: 10000000
  burst: 10000000
  rules: [{ path_prefix: "/", window_seconds: 1, max: 65535, key: ip }]
concurrency: { hard_limit: 1000000, soft_limit: 900000, queue: 1000, queue_timeout_ms: 1000 }
features: { disabled: [analytics] }
cache: { rules: [{ path_glob: "/static/*", ttl_seconds: 60 }] }
retries: { statuses: [502, 503, 504], base_delay_ms: 50 }
store: { path: ":memory:" }
EOF
  # wrk: one machine-readable line; PACE_MS > 0 adds a think time, uniform in [1, 2*PACE_MS-1]
  # ms so the connections do not fall into lock-step bursts
  cat >"$WORK/wrk.lua" <<'EOF'
local pace = tonumber(os.getenv("PACE_MS") or "0") or 0
if pace > 0 then
  math.randomseed(os.time())
  function delay() return math.random(1, math.max(1, 2 * pace - 1)) end
end
function done(s, lat, req)
  local e = s.errors
  io.write(string.format("RESULT %d %.3f %d %d %d %d %d\n", s.requests, s.duration / 1e6,
    lat:percentile(50), lat:percentile(99), lat:percentile(99.9), e.connect + e.read + e.write + e.timeout, e.status))
end
EOF
}

# ------------------------------------------------------------------ measuring helpers
cpu_ticks() { # pids -> "utime stime" summed (process-wide: covers all threads)
  local p; for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{sub(/^.*\) /, ""); u += $12; s += $13} END {print u + 0, s + 0}'
}
hwm_kib() { # pids -> VmHWM summed over the serving processes (leaves: nginx's master is left out)
  local p n=0
  for p in "$@"; do
    [ -n "$(ps -o pid= --ppid "$p")" ] && continue
    n=$((n + $(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done; echo "$n"
}
others_snapshot() { # "pid:starttime ticks" of every process not started by this script (noise)
  local mine; mine=" $$ $(descendants $$ | tr '\n' ' ') "
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v mine="$mine" '{ p = $1; sub(/^.*\) /, "")
    if (index(mine, " " p " ") == 0) print p ":" $20, $12 + $13 }'
}
# accepted connections so far (the probe itself counts one)
backend_accepts() { { curl -s --max-time 1 "http://127.0.0.1:$STATUS_PORT/" 2>/dev/null || true; } | awk 'NR==3{print $1}'; }

wrk_run() { # phase target round conns duration pace_ms -> one row of results.tsv
  local ph=$1 t=$2 r=$3 out="$WORK/raw/$1-$2-r$3.txt" pids a0 a1 res fo
  local -a o0 o1
  pids=$(pids_of "$([ "$t" = direct ] && echo backend || echo "$t")")
  others_snapshot >"$WORK/o0"; read -r -a o0 <<<"$(cpu_ticks $pids)"; a0=$(backend_accepts)
  wrk_to "$out" "$t" "$4" "$5" "$6"
  read -r -a o1 <<<"$(cpu_ticks $pids)"; a1=$(backend_accepts); others_snapshot >"$WORK/o1"
  res=$(grep '^RESULT' "$out") || { cat "$out" >&2; die "wrk gave no result for $t"; }
  [ "$t" = direct ] || alive "$t"
  # foreign ticks: CPU of everyone else on the machine during the run (co-tenants)
  fo=$(awk 'NR==FNR {a[$1] = $2; next} {f += $2 - ($1 in a ? a[$1] : 0)} END {print f + 0}' "$WORK/o0" "$WORK/o1")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ph" "$t" "$r" "${res#RESULT }" $((o1[0] - o0[0])) \
    $((o1[1] - o0[1])) "$(hwm_kib $pids)" "$([ -n "$a0" ] && echo $((a1 - a0 - 1)) || echo -)" "$fo" "$5" |
    tr ' ' '\t' >>"$WORK/results.tsv"
  log "$(tail -1 "$WORK/results.tsv" | awk -F'\t' -v hz="$HZ" '{printf "%-5s %-9s r%s %7.0f req/s p50 %5dus p99 %6dus err %d non2xx %d cpu %.1fus/req",
    $1, $2, $3, $4 / $5, $6, $7, $9, $10, ($11 + $12) * 1e6 / hz / ($4 ? $4 : 1)}')"
  sleep 1
}

syscall_run() { # target: syscalls (and instructions) per request, perf at full speed + strace -c
  local t=$1 pids req sc="-" insn="-" st_calls="-" top="-"
  pids=$(pids_of "$t")
  if ((PERF_OK)); then   # perf attaches first, then wrk runs inside its window
    taskset -c "$CLIENT_CPU" perf stat -x, -o "$WORK/raw/perf-$t.txt" -e "raw_syscalls:sys_enter$PERF_INSN" \
      -p "$(echo $pids | tr ' ' ,)" -- sleep $((SYSCALL_DURATION + 2)) >/dev/null 2>&1 & AUX=$!
    sleep 0.5
    wrk_to "$WORK/raw/perf-wrk-$t.txt" "$t" "$CONNS" "$SYSCALL_DURATION"
    wait "$AUX" || true; AUX=
    req=$(awk '/^RESULT/{print $2}' "$WORK/raw/perf-wrk-$t.txt")
    sc=$(awk -F, -v n="${req:-0}" '$3 ~ /raw_syscalls/ && n {printf "%.2f", $1 / n}' "$WORK/raw/perf-$t.txt")
    insn=$(awk -F, -v n="${req:-0}" '$3 ~ /^instructions/ && $1 ~ /^[0-9]+$/ && n {printf "%.0f", $1 / n}' "$WORK/raw/perf-$t.txt")
  fi
  # strace -c: slows the proxy a lot, so only the per-request count and the mix mean anything
  local -a sargs=(); local p; for p in $pids; do sargs+=(-p "$p"); done
  taskset -c "$CLIENT_CPU" strace -f -c -S calls -o "$WORK/raw/strace-$t.txt" "${sargs[@]}" 2>/dev/null & AUX=$!
  sleep 1   # attach to every thread first
  wrk_to "$WORK/raw/strace-wrk-$t.txt" "$t" "$CONNS" "$SYSCALL_DURATION"
  stop_pid "$AUX"; AUX=   # SIGTERM: strace detaches and writes its summary
  req=$(awk '/^RESULT/{print $2}' "$WORK/raw/strace-wrk-$t.txt")
  if [ -n "$req" ] && [ "$req" -gt 0 ]; then
    st_calls=$(awk -v n="$req" '$NF == "total" {printf "%.2f", $4 / n}' "$WORK/raw/strace-$t.txt")
    top=$(awk -v n="$req" '$1 ~ /^[0-9.]+$/ && $NF != "total" && k < 4 {printf "%s%s=%.2f", k++ ? " " : "", $NF, $4 / n}' "$WORK/raw/strace-$t.txt")
  fi
  alive "$t"
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${sc:--}" "${st_calls:--}" "${insn:--}" "${top:--}" >>"$WORK/syscalls.tsv"
  log "syscalls $t: perf ${sc:--}/req, strace ${st_calls:--}/req ($top)"
}

rotate() { local n=$1; shift; local a=("$@"); echo "${a[@]:n % $#}" "${a[@]:0:n % $#}"; }

# ------------------------------------------------------------------ main
for b in haproxy nginx wrk strace curl python3 taskset; do command -v "$b" >/dev/null || die "missing $b (run: make bench)"; done
[ -x "$TG" ] || die "no $TG: build first (make build)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for p in $BACKEND_PORT $STATUS_PORT $TG_ADMIN_PORT $TG_NM_ADMIN_PORT "${PORT[@]}"; do
  ss -Hltn "( sport = :$p )" | grep -q . && die "port $p busy (another run alive? set PORT_BASE)"
done
PERF_OK=0 PERF_INSN=
if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter true 2>&1 | grep -q '^[0-9]'; then
  PERF_OK=1
  perf stat -x, -e instructions true 2>&1 | grep -q '^[0-9]' && PERF_INSN=,instructions
fi
rm -rf "$WORK"; mkdir -p "$WORK/raw" "$WORK/t"; : >"$WORK/results.tsv"; : >"$WORK/syscalls.tsv"
# run a private copy: a rebuild of build/ during the run must not swap the binary under test
cp "$TG" "$WORK/tailguard.bin"; TG=$WORK/tailguard.bin
write_configs

log "backend: $BACKEND on cpu$BACKEND_CPU; proxies ($THREADS thread(s)) on cpu$PROXY_CPU; wrk on cpu$CLIENT_CPU"
case $BACKEND in
  nginx) start_bg backend "$BACKEND_CPU" nginx -p "$WORK" -e "$WORK/backend.err" -c "$WORK/backend.conf" ;;
  demo-api) start_bg backend "$BACKEND_CPU" "$TG" demo-api --listen "127.0.0.1:$BACKEND_PORT" --workers 1 --latency-scale 0 ;;
  *) die "BACKEND must be nginx or demo-api" ;;
esac
PORT[backend]=$BACKEND_PORT; wait_ready backend
for t in $TARGETS; do
  case $t in
    direct) continue ;;
    tailguard) start_bg tailguard "$PROXY_CPU" "$TG" run -c "$WORK/tailguard.yaml" ;;
    tg-nometrics) start_bg tg-nometrics "$PROXY_CPU" "$TG" run -c "$WORK/tg-nometrics.yaml" ;;
    tg-protect) start_bg tg-protect "$PROXY_CPU" "$TG" run -c "$WORK/tg-protect.yaml" ;;
    haproxy) start_bg haproxy "$PROXY_CPU" haproxy -db -f "$WORK/haproxy.cfg" ;;
    nginx) start_bg nginx "$PROXY_CPU" nginx -p "$WORK" -e "$WORK/nginx.err" -c "$WORK/nginx.conf" ;;
    *) die "unknown target $t" ;;
  esac
  wait_ready "$t"
done

log "warmup ${WARMUP}s each"
for t in $TARGETS; do wrk_to "$WORK/raw/warmup-$t.txt" "$t" "$CONNS" "$WARMUP"; done
log "saturating: wrk -t1 -c$CONNS -d${DURATION}s, $ROUNDS interleaved rounds (order rotates)"
for ((r = 1; r <= ROUNDS; r++)); do
  for t in $(rotate $((r - 1)) $TARGETS); do wrk_run sat "$t" "$r" "$CONNS" "$DURATION" 0; done
done
if ((SYSCALL_DURATION > 0)); then
  log "syscall counts: ${SYSCALL_DURATION}s of wrk each, perf (if usable: $PERF_OK) then strace -f -c"
  for t in $TARGETS; do [ "$t" = direct ] || syscall_run "$t"; done
fi
if ((PACED)); then
  for p in $(pids_of backend); do taskset -a -p -c "$PACED_BACKEND_CPU" "$p" >/dev/null; done
  log "paced: -c$PACED_CONNS, ${PACED_DELAY_MS}ms mean think time, backend moved to cpu$PACED_BACKEND_CPU"
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in $(rotate $((r - 1)) $TARGETS); do wrk_run paced "$t" "$r" "$PACED_CONNS" "$PACED_DURATION" "$PACED_DELAY_MS"; done
  done
fi
cleanup; trap - EXIT

# ------------------------------------------------------------------ summary
{
  echo "== tailguard proxy bench $(date -u +%FT%TZ) | $(uname -r) | $(nproc) cpus | $("$TG" version 2>/dev/null | head -1) (sha256 $(sha256sum "$TG" | cut -c1-12))"
  echo "   $(haproxy -v | head -1 | cut -d' ' -f1-3) | $(nginx -v 2>&1 | cut -d' ' -f3) | backend $BACKEND | threads $THREADS |" \
    "keepalive pool $KEEPALIVE | wrk -t1 -c$CONNS -d${DURATION}s x $ROUNDS rounds |" \
    "cpus: proxy $PROXY_CPU, backend $BACKEND_CPU (paced $PACED_BACKEND_CPU), wrk $CLIENT_CPU"
  python3 - "$WORK/results.tsv" "$WORK/syscalls.tsv" "$HZ" "$(nproc)" "$TARGETS" "$PERF_OK" <<'EOF'
import sys, statistics as st
res, sysc, hz, ncpu, targets, perf_ok = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(), sys.argv[6] == "1"
# row: phase target round requests dur p50 p99 p999 errs non2xx utime stime hwm_kib be_accepts foreign dur_s
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
med = lambda v: st.median(v) if v else float("nan")
def table(phase, title):
    sel = {t: [r for r in rows if r[0] == phase and r[1] == t] for t in targets}
    if not any(sel.values()): return {}
    print(f"\n{title}: medians over rounds [req/s min-max]; latency us; CPU = the target's own processes")
    print("%-10s %8s %-15s %6s %7s %7s %8s %7s %5s %7s %6s" % ("target", "req/s", "[range]", "p50", "p99", "p99.9",
          "HWM KiB", "us/req", "usr%", "errors", "beconn"))
    out = {}
    for t, rs in sel.items():
        if not rs: continue
        rps = [int(r[3]) / float(r[4]) for r in rs]
        cpu = [(int(r[10]) + int(r[11])) * 1e6 / hz / max(int(r[3]), 1) for r in rs]
        usr = [100.0 * int(r[10]) / max(int(r[10]) + int(r[11]), 1) for r in rs]
        err = sum(int(r[8]) + int(r[9]) for r in rs)
        bc = "-" if rs[0][13] == "-" else "%d" % max(int(r[13]) for r in rs)
        out[t] = m = dict(rps=med(rps), p50=med([int(r[5]) for r in rs]), p99=med([int(r[6]) for r in rs]))
        print("%-10s %8.0f %-15s %6.0f %7.0f %7.0f %8d %7.1f %5.0f %7d %6s" % (t, m["rps"], "[%.0f-%.0f]" % (min(rps), max(rps)),
              m["p50"], m["p99"], med([int(r[7]) for r in rs]), int(rs[-1][12]), med(cpu), med(usr), err, bc))
        if len(rps) > 1 and (max(rps) - min(rps)) > 0.10 * m["rps"]: print("%-10s   ^ req/s spread > 10%% of the median: noisy" % "")
    fo = [100.0 * int(r[14]) / (hz * float(r[15]) * ncpu) for r in rows if r[0] == phase]
    print("   noise: CPU used by other processes on the machine during these runs: median %.1f%%, max %.1f%% of all %d cpus"
          % (med(fo), max(fo), ncpu))
    for o in ("haproxy", "nginx", "tg-nometrics"):
        if "tailguard" in out and o in out:
            a, b = out["tailguard"], out[o]
            print("   tailguard/%-8s req/s x%.2f   p99 x%.2f" % (o, a["rps"] / b["rps"], a["p99"] / max(b["p99"], 1)))
    if "tailguard" in out and "tg-protect" in out:
        a, b = out["tg-protect"], out["tailguard"]
        print("   tg-protect/tailguard req/s x%.2f   p99 x%.2f   (every protection on, none triggering)"
              % (a["rps"] / b["rps"], a["p99"] / max(b["p99"], 1)))
    return out
table("sat", "saturating (closed loop, wrk as fast as it goes)")
table("paced", "paced (fixed think time per connection; backend on its own core)")
srows = [l.rstrip("\n").split("\t") for l in open(sysc) if l.strip()]
if srows:
    print("\nsyscalls per request (perf: full speed, %s; strace -f -c: slowed, a count not a speed)" % ("attached" if perf_ok else "unavailable"))
    print("%-10s %10s %10s %10s  %s" % ("target", "perf", "strace", "insn/req", "strace top 4 per request"))
    for r in srows: print("%-10s %10s %10s %10s  %s" % (r[0], r[1], r[2], r[3] if r[3] != "-" else "n/a", r[4]))
print("\n   us/req: CPU (utime+stime, all threads/processes) per request; usr%: user share; HWM: peak RSS, serving processes;\n"
      "   errors: wrk socket errors + non-2xx, all rounds; beconn: most new backend conns in one round. See bench/README.md")
EOF
  if [ -f "$WORK/tailguard.log" ]; then   # anomalies tailguard itself reported, grouped
    n=$(grep -cE 'level=(error|warn)' "$WORK/tailguard.log" || true)
    echo "   tailguard log: $n warn/error lines"
    grep -E 'level=(error|warn)' "$WORK/tailguard.log" | sed 's/^ts=[^ ]* //' | cut -c1-150 | sort | uniq -c | sort -rn | head -5 || true
  fi
} | tee "$WORK/summary.txt"
log "raw: $WORK/results.tsv $WORK/syscalls.tsv $WORK/raw/; summary: $WORK/summary.txt"
