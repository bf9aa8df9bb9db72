#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Ingest time per scrape at ENDPOINTS live endpoints, for bench/tsdb_vs_prometheus.sh:
a gateway (started by the script, tsdb.scrape_interval 1s) in front of a demo API, and a
Prometheus (started by the script) scraping the gateway's /metrics every second. This
requests each of ENDPOINTS paths /echo/eNNN (the demo API answers any of them 200), each
a route of its own in the gateway's configuration (so each is an endpoint), then for
SECONDS keeps a light load on random endpoints (at most 20 requests a second, so the
counters move and the compression has real work) and reads the gateway's /metrics once
a second for tailguard_tsdb_scrape_duration_seconds (its last scrape into its own store)
and tailguard_tsdb_series. At the end it asks Prometheus for its scrape_duration_seconds
and scrape_samples_scraped of the gateway over those seconds. Prints the medians side by
side. All on 127.0.0.1.

    tsdb_ingest.py GW_PORT ADMIN_PORT PROM_PORT SECONDS ENDPOINTS"""
import http.client
import json
import random
import re
import statistics
import sys
import time
import urllib.parse

HOST = "127.0.0.1"


def path(i):
    """The path of endpoint i: the script configures a route e000, e001, ... for each."""
    return f"/echo/e{i:03d}"


def get(port, path):
    c = http.client.HTTPConnection(HOST, port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def gauge(text, metric):
    for line in text.splitlines():
        if line.startswith(metric + " "):
            return float(line.split()[1])
    return None


def prom_values(port, expr, at):
    _, body = get(port, "/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at}))
    res = json.loads(body)["data"]["result"]
    return [float(v) for s in res for _, v in s.get("values", [])]


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    gw, admin, prom = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    seconds, endpoints = int(sys.argv[4]), int(sys.argv[5])
    for i in range(endpoints):
        get(gw, path(i))
    time.sleep(2.5)  # the aggregate folds the shards in once a second; a scrape or two
    text = get(admin, "/metrics")[1].decode()
    live = len(set(re.findall(r'^http_requests_total\{endpoint="(e\d{3})"', text, re.M)))
    if live < endpoints:
        print(f"the gateway shows {live} endpoints, not {endpoints}")
        return 1
    tg_ms, series = [], []
    t_start = time.time()
    deadline = time.monotonic() + seconds
    rnd = random.Random(1)
    next_read = time.monotonic() + 1
    while time.monotonic() < deadline:
        for _ in range(2):
            get(gw, path(rnd.randrange(endpoints)))
        if time.monotonic() >= next_read:
            _, text = get(admin, "/metrics")
            text = text.decode()
            tg_ms.append(gauge(text, "tailguard_tsdb_scrape_duration_seconds") * 1e3)
            series.append(gauge(text, "tailguard_tsdb_series"))
            next_read += 1
        time.sleep(0.1)
    window = f"[{int(time.time() - t_start)}s]"
    prom_ms = [v * 1e3 for v in prom_values(prom, "scrape_duration_seconds" + window,
                                             time.time())]
    prom_samples = prom_values(prom, "scrape_samples_scraped" + window, time.time())
    if not prom_ms or not tg_ms:
        print("no scrape figures (Prometheus scraped nothing, or the gateway has no store)")
        return 1
    print(f"{endpoints} live endpoints, {seconds} s, scrape interval 1 s on both:")
    print(f"  tailguard  scrape into its store: median {statistics.median(tg_ms):.2f} ms "
          f"[{min(tg_ms):.2f}-{max(tg_ms):.2f}] over {len(tg_ms)} reads, "
          f"{statistics.median(series):.0f} series in the store")
    print(f"  prometheus scrape_duration_seconds: median {statistics.median(prom_ms):.2f} ms "
          f"[{min(prom_ms):.2f}-{max(prom_ms):.2f}] over {len(prom_ms)} scrapes, "
          f"{statistics.median(prom_samples):.0f} samples a scrape")
    print(f"  prometheus/tailguard {statistics.median(prom_ms) / statistics.median(tg_ms):.2f}")
    print(f"RESULT ingest tailguard_ms={statistics.median(tg_ms):.3f} "
          f"prometheus_ms={statistics.median(prom_ms):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
