#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Micro-benchmarks of the metrics hot path: ns per histogram record (hist_record.c) and
# ns per request for the whole per-request recording (metrics_record.c). Built with the
# release flags into build/bench-micro/, run once each; quote the best-of-rounds figure.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench-micro
mkdir -p "$out"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/hist_record.c src/metrics/hist.c -lm -o "$out/hist_record"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/metrics_record.c src/metrics/shard.c \
    src/metrics/reqstats.c src/metrics/hist.c src/metrics/phist.c -lm -lpthread \
    -o "$out/metrics_record"
"$out/hist_record"
"$out/metrics_record"
# Response cache: ns per lookup (hit, miss, two threads) and per store (cache_lookup.c).
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/cache_lookup.c src/protect/cache*.c -lpthread \
    -o "$out/cache_lookup"
"$out/cache_lookup"
