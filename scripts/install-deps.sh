#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian bookworm packages tailguard needs to build, test and benchmark.
# Idempotent and quiet when everything is present: it only calls apt-get for what is
# missing. Groups: build (always), test (peers the test suite starts), bench.
set -euo pipefail

want=(
    # build
    build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
    libyaml-dev libjansson-dev liburing-dev libpcre2-dev zlib1g-dev
    libsqlite3-dev libpq-dev libhiredis-dev libncurses-dev
    # test: differential oracle for the HTTP parser fuzz targets, peers and tooling;
    # prometheus (promtool and a real scraper) and bc for the metrics/monitoring tests
    libhttp-parser-dev python3 curl jq procps bc prometheus
    # the rule engine's acceptance test sends alerts to a real Alertmanager
    prometheus-alertmanager
    # the collectors' tests: real servers, and the exporters they are compared with
    postgresql redis-server prometheus-node-exporter prometheus-postgres-exporter
    prometheus-redis-exporter
    # the post-incident report's page, rendered and screenshot in a real browser
    chromium
    # tailguard top, driven and read in a real terminal multiplexer
    tmux
)
if [[ "${1:-}" == "--bench" ]]; then
    want+=(haproxy nginx wrk hey strace linux-perf)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# build: npm installs the dashboard's charting library (web/package-lock.json). Any npm
# will do (Node.js from elsewhere brings its own), so Debian's is only added when there
# is none.
command -v npm >/dev/null 2>&1 || missing+=(npm)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
