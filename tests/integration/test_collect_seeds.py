#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every seed expression over the collectors' families (seed-inventory.md §b.1: E9–E17,
E25, E26), written exactly as the runbooks write them, asked of the gateway's
/api/v1/query while it collects a real host, a real PostgreSQL 15, a real redis-server and
a process's cgroup. Each must return a non-empty result, and each result is checked
against the source read independently by the test at about the same time: /proc for the
host, psql for PostgreSQL, redis-cli for Redis, the cgroup files for the container.
Tolerances are the movement of the source within one collection interval (1 s here)."""

import os
import subprocess
import sys
import time

from tgtest import *
from peers import Postgres, Redis

INTERVAL = 1.0


def query(admin, expr):
    status, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/query?"
                             + urllib_quote(expr))
    assert status == 200 and v["status"] == "success", (expr, status, v)
    assert v["data"]["resultType"] == "vector", (expr, v)
    return v["data"]["result"]


def urllib_quote(expr):
    import urllib.parse
    return urllib.parse.urlencode({"query": expr})


def value(sample):
    return float(sample["value"][1])


def by(result, label):
    return {s["metric"].get(label, ""): value(s) for s in result}


def nonempty(admin, expr):
    r = wait_until(lambda: query(admin, expr), timeout=scaled(20, 60),
                   what=f"a non-empty result for {expr}")
    return r


# ------------------------------------------------------------------ the sources


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            out[k] = int(v.split()[0]) * 1024
    return out


def diskstats():
    out = {}
    with open("/proc/diskstats") as f:
        for line in f:
            p = line.split()
            out[p[2]] = int(p[12]) / 1000.0  # ms spent doing I/Os
    return out


def netdev():
    out = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, rest = line.split(":", 1)
            out[name.strip()] = int(rest.split()[0])
    return out


def burn(seconds):
    """One core busy for `seconds` in a child process."""
    return subprocess.Popen([sys.executable, "-c",
                             f"import time\nend=time.time()+{seconds}\nwhile time.time()<end: pass"])


# ------------------------------------------------------------------ the test


def test_seed_expressions():
    port, admin, app = free_port(), free_port(), free_port()
    with Postgres() as pg, Redis() as rd, demo_api(app):
        config = f"""
tsdb: {{ scrape_interval: 1s }}
collectors:
  host: {{ interval: 1s }}
  postgres:
    - {{ name: main, dsn: "host=127.0.0.1 port={pg.port} dbname=postgres user=postgres", interval: 1s }}
  redis:
    - {{ name: cache, addr: "127.0.0.1:{rd.port}", interval: 1s }}
"""
        with gateway(port, admin, [app], config=config):
            # Work for every source to show: queries and slow ones, reads that hit and
            # miss, a core busy, bytes on the loopback.
            pg.sql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g")
            for _ in range(5):
                pg.sql("SELECT count(*) FROM t WHERE v LIKE 'a%'")
                pg.sql("SELECT pg_sleep(0.05)")
            rd.cli("SET", "k", "v")
            for _ in range(5):
                rd.cli("GET", "k")
                rd.cli("GET", "missing")
            burner = burn(6)
            time.sleep(3 * INTERVAL)

            # E12: one core of the host busy -> at least about half of two cores.
            r = nonempty(admin, '100 - (avg by (instance) (irate(node_cpu_seconds_total{mode="idle"}[5m])) * 100)')
            ncpu = os.cpu_count()
            busy = value(r[0])
            assert 100.0 / ncpu * 0.8 <= busy <= 100.0, (busy, ncpu)
            burner.wait()

            # E13 against /proc/meminfo now.
            m = meminfo()
            expect = (1 - m["MemAvailable"] / m["MemTotal"]) * 100
            r = nonempty(admin, "(1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)) * 100")
            assert abs(value(r[0]) - expect) < 2.0, (value(r[0]), expect)

            # E14, E15: rates over the store's samples; the counters themselves equal the
            # source within what one interval can add.
            r = nonempty(admin, "rate(node_disk_io_time_seconds_total[5m])")
            rates = by(r, "device")
            assert all(0 <= v <= 1.1 for v in rates.values()), rates
            raw = by(query(admin, "node_disk_io_time_seconds_total"), "device")
            src = diskstats()
            for dev, v in raw.items():
                assert dev in src, (dev, sorted(src))
                # (-1e-6: the two sides divide milliseconds by 1000 their own ways.)
                assert -1e-6 <= src[dev] - v <= 2 * INTERVAL + 0.5, (dev, v, src[dev])
            # (Debian's node_exporter leaves the loopback out, and so does the collector.)
            r = nonempty(admin, "rate(node_network_receive_bytes_total[5m])")
            rates = by(r, "device")
            assert "lo" not in rates and all(v >= 0 for v in rates.values()), rates
            raw = by(query(admin, "node_network_receive_bytes_total"), "device")
            src = netdev()
            for dev, v in raw.items():
                assert 0 <= src[dev] - v < 50_000_000, (dev, v, src[dev])

            # E9: backends per database, against pg_stat_database (the collector's own
            # connection and psql's come and go: a few either way).
            r = nonempty(admin, "pg_stat_database_numbackends")
            got = by(r, "datname")
            want = int(pg.sql("SELECT numbackends FROM pg_stat_database WHERE datname = 'postgres'"))
            assert abs(got["postgres"] - want) <= 2, (got, want)

            # E11: the buffer cache hit ratio per database.
            r = nonempty(admin, "pg_stat_database_blks_hit / (pg_stat_database_blks_hit + pg_stat_database_blks_read)")
            got = by(r, "datname")
            rows = pg.sql("SELECT datname, blks_hit::float / nullif(blks_hit + blks_read, 0) "
                          "FROM pg_stat_database WHERE datname IS NOT NULL")
            for line in rows.splitlines():
                name, ratio = line.split("|")
                if ratio and name in got:
                    assert abs(got[name] - float(ratio)) < 0.02, (name, got[name], ratio)
            assert "postgres" in got

            # E10: the non-standard mean statement time, calls-weighted, in ms: the mean of
            # every statement pg_stat_statements holds (tailguard's own queries included).
            r = nonempty(admin, "pg_stat_statements_mean_time_ms")
            want = float(pg.sql("SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements"))
            assert abs(value(r[0]) - want) <= 0.25 * want, (value(r[0]), want)

            # E16, E17 against INFO (redis-cli is one more client).
            r = nonempty(admin, "redis_connected_clients")
            info = dict(line.split(":", 1) for line in rd.cli("INFO").splitlines()
                        if ":" in line)
            assert abs(value(r[0]) - (int(info["connected_clients"]) - 1)) <= 1, (r, info["connected_clients"])
            r = nonempty(admin, "redis_memory_used_bytes")
            used = int(info["used_memory"])
            assert abs(value(r[0]) - used) < 0.2 * used, (value(r[0]), used)


if __name__ == "__main__":
    run_tests()
