#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load-generator benchmark: how many requests/s `tailguard bench` drives compared with wrk
# (and hey, when it is installed: Debian bookworm packages it as `hey`), all with the same
# threads and connections, against one nginx static backend on loopback. Rounds are
# interleaved and the order rotates, so a burst of background load hits every generator
# alike; the script prints each round, the medians and the ratios. It installs nothing
# (`make bench` runs scripts/install-deps.sh --bench first) and stops, by PID, everything
# it starts. Files go to ${TMPDIR:-/tmp}/tailguard-loadgen.
#
# Pinning: nginx (one worker) on BACKEND_CPU, the generator on CLIENT_CPU, so the two never
# share a core; whichever side saturates first sets the pace, and a generator that needs
# less CPU per request gets further before it does.
#
#   bash bench/loadgen.sh                         # 5 rounds of 10 s, -t1 -c64
#   DURATION=3 ROUNDS=1 bash bench/loadgen.sh     # smoke run
#   THREADS=2 CONNS=256 CLIENT_CPU=1 bash bench/loadgen.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TG=${TG:-$ROOT/build/tailguard}
WORK=${WORK:-${TMPDIR:-/tmp}/tailguard-loadgen}
THREADS=${THREADS:-1}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}   # seconds per measured run
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-2}        # seconds of each generator before the rounds
BACKEND_CPU=${BACKEND_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-19400}
GENERATORS=${GENERATORS:-"tailguard wrk hey"}
URL="http://127.0.0.1:$PORT/"

NGINX_PID='' FG=''

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stop_pid() { # TERM, up to 5 s grace, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -n "$FG" ] && stop_pid "$FG"
  [ -n "$NGINX_PID" ] && stop_pid "$NGINX_PID"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_fg() { "$@" & FG=$!; wait "$FG" || true; FG=; } # background + wait: signals act at once

# ------------------------------------------------------------------ checks
[ -x "$TG" ] || die "no tailguard binary at $TG (build first, or set TG=)"
for tool in nginx taskset python3 curl; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh --bench)"
done
GENS=()
for g in $GENERATORS; do
  case $g in
    tailguard) GENS+=(tailguard) ;;
    wrk | hey)
      if command -v "$g" >/dev/null; then GENS+=("$g")
      else log "$g not installed: skipped (apt-get install $g)"; fi ;;
    *) die "unknown generator '$g' (tailguard, wrk, hey)" ;;
  esac
done
[[ " ${GENS[*]} " == *" wrk "* ]] || die "wrk is needed as the reference (apt-get install wrk)"
mkdir -p "$WORK/t"

# ------------------------------------------------------------------ backend
cat >"$WORK/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $WORK/nginx.pid;
worker_rlimit_nofile 20000; error_log $WORK/nginx.err warn;
events { worker_connections 8192; }
http { access_log off; default_type text/plain;
  client_body_temp_path $WORK/t/b; proxy_temp_path $WORK/t/p; fastcgi_temp_path $WORK/t/f;
  uwsgi_temp_path $WORK/t/u; scgi_temp_path $WORK/t/s;
  keepalive_timeout 300s; keepalive_requests 100000000;
  server { listen 127.0.0.1:$PORT backlog=4096; location / { return 200 "ok"; } }
}
EOF
# master_process off: the one process that serves is the one we start, pin and stop.
taskset -c "$BACKEND_CPU" nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.log" 2>&1 &
NGINX_PID=$!
for ((i = 0; i < 100; i++)); do
  [ "$(curl -s --max-time 1 "$URL" || true)" = ok ] && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx.log" "$WORK/nginx.err" >&2; die "nginx exited"; }
  sleep 0.1
done
[ "$(curl -s --max-time 1 "$URL" || true)" = ok ] || die "nginx not answering on $URL"

# ------------------------------------------------------------------ generators
# gen NAME SECONDS OUT: runs one generator under /usr/bin/time (when there is one, for its
# CPU time); prints "rps errors requests cpu_seconds" (errors: non-2xx + socket errors).
TIME=()
[ -x /usr/bin/time ] && TIME=(/usr/bin/time -f '%U %S' -o)
timed() { # out cmd...: the command's CPU seconds go to out.time
  local out=$1; shift
  if ((${#TIME[@]})); then run_fg "${TIME[@]}" "$out.time" "$@"; else run_fg "$@"; echo "0 0" >"$out.time"; fi
}
cpu_of() { awk '{print $1 + $2} END {if (!NR) print 0}' "$1.time" 2>/dev/null || echo 0; }
gen() {
  local name=$1 secs=$2 out=$3
  case $name in
    tailguard)
      timed "$out" taskset -c "$CLIENT_CPU" "$TG" bench -q --json -t "$THREADS" -c "$CONNS" \
        -d "${secs}s" "$URL" >"$out" 2>&1
      python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["rps"], v["errors"], v["requests"])' \
        "$out" 2>/dev/null | tr '\n' ' ' || echo -n "0 -1 0 " ;;
    wrk)
      timed "$out" taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" "$URL" >"$out" 2>&1
      awk '/^Requests\/sec:/ {r=$2} / requests in / {n=$1} /Non-2xx/ {e+=$NF} /Socket errors/ {
             for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) e += $i }
           END {printf "%s %d %d ", (r ? r : 0), e, n}' "$out" ;;
    hey)
      timed "$out" taskset -c "$CLIENT_CPU" hey -z "${secs}s" -c "$CONNS" -cpus "$THREADS" "$URL" \
        >"$out" 2>&1
      # "  [code]  count responses" under Status code distribution; "  [count]  message"
      # under Error distribution.
      awk '/Requests\/sec:/ {r = $2} /^Status code distribution/ {s = "status"; next}
           /^Error distribution/ {s = "error"; next} /^[^ ]/ {s = ""}
           /^  \[[0-9]+\]/ { x = $1; gsub(/[][]/, "", x)
             if (s == "status") n += $2; if (s == "status" && x !~ /^2/) e += $2
             if (s == "error") { e += x; n += x } }
           END {printf "%s %d %d ", (r ? r : 0), e, n}' "$out" ;;
  esac
  cpu_of "$out"
}

# CPU seconds (user + system) the nginx worker has used so far.
nginx_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$NGINX_PID/stat"; }

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

log "backend nginx (1 worker) on cpu $BACKEND_CPU; generators on cpu $CLIENT_CPU;" \
    "-t$THREADS -c$CONNS, ${DURATION}s x $ROUNDS rounds: ${GENS[*]}"
if ((WARMUP > 0)); then
  for g in "${GENS[@]}"; do gen "$g" "$WARMUP" "$WORK/warmup-$g.out" >/dev/null; done
fi

declare -A RPS=() CPU=() BCPU=()
printf 'round\tgenerator\trps\terrors\trequests\tclient_cpu_s\tbackend_cpu_s\n' >"$WORK/results.tsv"
n=${#GENS[@]}
printf '%-6s' round
for g in "${GENS[@]}"; do printf ' %14s' "$g req/s"; done
printf '\n'
for ((r = 1; r <= ROUNDS; r++)); do
  declare -A row=()
  for ((k = 0; k < n; k++)); do # rotate the order every round
    g=${GENS[(k + r - 1) % n]}
    b0=$(nginx_cpu)
    read -r rps errs reqs cpu < <(gen "$g" "$DURATION" "$WORK/round$r-$g.out")
    b1=$(nginx_cpu)
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died"
    row[$g]="$rps"
    RPS[$g]+="$rps "
    if ((reqs > 0)); then
      CPU[$g]+="$(awk -v c="$cpu" -v n="$reqs" 'BEGIN {print c * 1e6 / n}') "
      BCPU[$g]+="$(awk -v a="$b0" -v b="$b1" -v n="$reqs" 'BEGIN {print (b - a) * 1e6 / n}') "
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$g" "$rps" "$errs" "$reqs" "$cpu" \
      "$(awk -v a="$b0" -v b="$b1" 'BEGIN {print b - a}')" >>"$WORK/results.tsv"
    [ "$errs" = 0 ] || log "round $r $g: $errs errors (see $WORK/round$r-$g.out)"
  done
  printf '%-6s' "$r"
  for g in "${GENS[@]}"; do printf ' %14.0f' "${row[$g]}"; done
  printf '\n'
  unset row
done

declare -A MED=()
printf '%-6s' median
for g in "${GENS[@]}"; do
  MED[$g]=$(tr ' ' '\n' <<<"${RPS[$g]}" | grep . | median)
  printf ' %14.0f' "${MED[$g]}"
done
printf '\n'
if ((${#TIME[@]})); then
  # CPU per request is steadier than req/s on a shared machine: it says which generator
  # is cheaper even when the backend sets the pace.
  printf '%-6s' 'us/req'
  for g in "${GENS[@]}"; do printf ' %14.2f' "$(tr ' ' '\n' <<<"${CPU[$g]:-0}" | grep . | median)"; done
  printf '   client CPU per request (median)\n%-6s' 'us/req'
  for g in "${GENS[@]}"; do printf ' %14.2f' "$(tr ' ' '\n' <<<"${BCPU[$g]:-0}" | grep . | median)"; done
  printf '   nginx CPU per request (median)\n'
fi
printf '\n'
for g in "${GENS[@]}"; do
  [ "$g" = tailguard ] && continue
  awk -v a="${MED[tailguard]}" -v b="${MED[$g]}" -v g="$g" \
    'BEGIN {printf "tailguard/%s  %.2f  (median req/s, higher is better; target >= 1.00)\n", g, (b > 0 ? a / b : 0)}'
done
log "raw results in $WORK/results.tsv"
