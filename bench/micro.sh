#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Micro-benchmarks of the metrics hot path: ns per histogram record (hist_record.c) and
# ns per request for the whole per-request recording (metrics_record.c); and of the
# protections' admit decisions (protect_admit.c: breaker, rate limits; protect_limits.c:
# concurrency limit, retries, outlier ejection; protect_queue.c: a request that waits for
# a concurrency slot; cache_lookup.c: response cache lookups
# and stores; tsdb_bytes.c: the embedded store's bytes per sample and ingest time per
# scrape). Built with the release flags into build/bench-micro/, run once each;
# quote the best-of-rounds (or median) figure.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench-micro
mkdir -p "$out"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/hist_record.c src/metrics/hist.c -lm \
    -o "$out/hist_record"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/tsdb_bytes.c src/tsdb/[a-z]*.c src/core/err.c \
    -lpcre2-8 -lz -lm -o "$out/tsdb_bytes"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_chain.c src/protect/*.c src/core/err.c -lm \
    -lpthread -o "$out/protect_chain"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/metrics_record.c src/metrics/shard.c \
    src/metrics/reqstats.c src/metrics/hist.c src/metrics/phist.c -lm -lpthread \
    -o "$out/metrics_record"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_admit.c src/protect/breaker.c \
    src/protect/ratelimit.c src/protect/ratelimit_table.c src/protect/clientip.c src/core/err.c \
    -lpthread -o "$out/protect_admit"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_limits.c src/protect/conclimit.c \
    src/protect/retry.c src/protect/outlier.c -lm -lpthread -o "$out/protect_limits"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/protect_queue.c src/protect/conclimit.c \
    -o "$out/protect_queue"
cc -std=c11 -O2 -D_GNU_SOURCE -Isrc bench/cache_lookup.c src/protect/cache*.c -lpthread \
    -o "$out/cache_lookup"
"$out/hist_record"
"$out/metrics_record"
"$out/protect_admit"
"$out/protect_limits"
"$out/protect_queue"
"$out/cache_lookup"
"$out/protect_chain"
"$out/tsdb_bytes"
