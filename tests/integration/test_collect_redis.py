# SPDX-License-Identifier: MIT
"""The Redis collector end to end, against a real redis-server started here on a free
loopback port (no persistence, every command in the slowlog) and a gateway with
collectors.redis: /metrics/redis moves as keys are read (hits) and missed, the same
through the TSDB (/api/v1/query, increase() and the seeds' E16/E17), the slowlog and info
endpoints answer with what the test sent, a password works and a wrong one shows the
reason in /health/detailed, a stopped server (SIGSTOP) is redis_up 0 within interval +
timeout and its diagnostics a prompt 503, and it recovers after SIGCONT. Last, a
differential test against Debian's prometheus-redis-exporter pointed at the same server:
every family tailguard prints has the exporter's name, type and label names, counters move
by the same amount over the same quiet-ended window, and gauges agree within the
tolerances stated beside them."""

import os
import re
import signal
import socket
import tempfile
import time

from peers import Redis, exporter
from tgtest import *  # noqa: F401,F403
from tgtest import HOST

INTERVAL = "500ms"
TIMEOUT = "400ms"


def config(*targets, tsdb="500ms"):
    lines = [f"tsdb: {{scrape_interval: {tsdb}}}", "collectors:", "  host: {enabled: false}",
             "  redis:"]
    for t in targets:
        lines.append("    - {" + ", ".join(f"{k}: {v}" for k, v in t.items()) + "}")
    return "\n".join(lines) + "\n"


def target(r, **kw):
    t = {"addr": f"'{HOST}:{r.port}'", "interval": INTERVAL, "timeout": TIMEOUT}
    t.update(kw)
    return t


def resp(port, *commands, password=None):
    """Sends commands (lists of str) pipelined on one connection; returns the raw replies."""
    def enc(args):
        out = f"*{len(args)}\r\n"
        for a in args:
            out += f"${len(a.encode())}\r\n{a}\r\n"
        return out.encode()
    if password:
        commands = (["AUTH", password],) + commands
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(b"".join(enc(c) for c in commands))
        data = b""
        # Every reply here is one line (+OK, :n, $-1, or a short bulk on two lines).
        deadline = time.monotonic() + 5
        while data.count(b"\r\n") < len(commands) and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def parse_expo(text):
    """{family: {"type": t, "series": {frozenset(labels.items()): value}}}."""
    fams = {}
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            types[name] = t
            fams.setdefault(name, {"type": t, "series": {}})
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        if not m:
            continue
        name, labels = m.group(1), {}
        for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            labels[lm.group(1)] = lm.group(2)
        fam = name
        for suffix in ("_sum", "_count", "_bucket"):
            if name not in types and name.endswith(suffix) and name[:-len(suffix)] in types:
                fam = name[:-len(suffix)]
        fams.setdefault(fam, {"type": types.get(fam, "untyped"), "series": {}})
        fams[fam]["series"][frozenset(labels.items())] = float(m.group(4))
    return fams


def metrics(admin, instance=None):
    q = f"?instance={instance}" if instance else ""
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics/redis{q}", timeout=10)
    assert st == 200, (st, body[:300])
    return parse_expo(body.decode())


def value(fams, name, **labels):
    f = fams.get(name)
    if not f:
        return None
    for k, v in f["series"].items():
        if all((n, str(x)) in k for n, x in labels.items()):
            return v
    return None


def query(admin, expr):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query="
                         + urllib_quote(expr), timeout=10)
    assert st == 200 and v["status"] == "success", (st, v)
    return v["data"]["result"]


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


def wait_up(admin, want=1.0, instance=None, timeout=15):
    return wait_until(lambda: value(metrics(admin, instance), "redis_up") == want,
                      timeout=timeout, what=f"redis_up {want}")


def test_metrics_slowlog_hits_and_queries():
    with Redis("--slowlog-log-slower-than", "0", "--slowlog-max-len", "10000") as r:
        admin, port = free_port(), free_port()
        with gateway(port, admin, [free_port()], config=config(target(r, name="cache"))):
            wait_up(admin)
            before = metrics(admin)
            assert before["redis_up"]["type"] == "gauge"
            assert before["redis_keyspace_hits_total"]["type"] == "counter"
            h0 = value(before, "redis_keyspace_hits_total")
            m0 = value(before, "redis_keyspace_misses_total")
            resp(r.port, ["SET", "tg:k1", "v1"], ["SET", "tg:k2", "v2"],
                 *[["GET", "tg:k1"]] * 5, *[["GET", "tg:absent"]] * 3)
            fams = wait_until(lambda: (lambda f: f if value(f, "redis_keyspace_misses_total")
                                       == m0 + 3 else None)(metrics(admin)),
                              timeout=10, what="misses moved by 3")
            assert value(fams, "redis_keyspace_hits_total") == h0 + 5
            assert value(fams, "redis_db_keys", db="db0") == 2
            assert value(fams, "redis_db_keys", db="db15") == 0
            assert value(fams, "redis_commands_total", cmd="get") == 8
            assert value(fams, "redis_instance_info", role="master") == 1

            # The slowlog has the commands the test sent, newest first, with their client.
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/slowlog"
                                 "?limit=50", timeout=10)
            assert st == 200, v
            assert v["instance"] == "cache" and v["limit"] == 50
            cmds = [e["command"] for e in v["entries"]]
            assert "GET tg:absent" in cmds and "SET tg:k2 v2" in cmds, cmds
            e = v["entries"][cmds.index("SET tg:k2 v2")]
            assert e["args"] == ["SET", "tg:k2", "v2"]
            assert e["client_addr"].startswith("127.0.0.1:")
            assert abs(e["timestamp"] - time.time()) < 60
            assert e["duration_us"] >= 0 and e["duration_ms"] == round(e["duration_us"]) / 1000
            ids = [x["id"] for x in v["entries"]]
            assert ids == sorted(ids, reverse=True)
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/slowlog"
                                 "?limit=2&instance=cache", timeout=10)
            assert st == 200 and v["count"] == 2 and len(v["entries"]) == 2
            for bad in ("0", "abc", "1001", "-1", "5x"):
                st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/"
                                     f"slowlog?limit={bad}")
                assert st == 400 and v["field"] == "limit", (bad, st, v)
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/slowlog"
                                 "?instance=nope")
            assert st == 404 and v["field"] == "instance", v
            st, _, _ = http_json("POST", f"http://{HOST}:{admin}/api/v1/monitoring/redis/info")
            assert st == 405

            # The info summary the runbooks' redis-cli checks map to.
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/info",
                                 timeout=10)
            assert st == 200, v
            assert v["instance"] == "cache" and v["role"] == "master"
            assert v["keyspace"]["keys"] == 2
            hits, misses = v["keyspace"]["hits"], v["keyspace"]["misses"]
            assert hits >= h0 + 5 and misses >= m0 + 3
            assert abs(v["keyspace"]["hit_rate"] - hits / (hits + misses)) < 1e-3
            assert v["memory"]["used_bytes"] > 0 and v["memory"]["max_bytes"] == 0
            assert v["memory"]["used_ratio"] is None
            assert v["clients"]["connected"] >= 1 and v["ops_per_sec"] >= 0

            # Through the TSDB: E16, E17, the hit ratio and increase() of the misses.
            def settled():
                res = query(admin, "redis_keyspace_misses_total")
                return res if res and float(res[0]["value"][1]) == m0 + 3 else None
            res = wait_until(settled, timeout=10, what="misses in the TSDB")
            assert res[0]["metric"]["job"] == "redis"
            assert res[0]["metric"]["instance"] == "cache"
            res = query(admin, "redis_connected_clients")  # E16
            assert len(res) == 1 and res[0]["metric"]["job"] == "redis"
            # The collector's own connection; the test's ones are closed by now.
            wait_until(lambda: float(query(admin, "redis_connected_clients")[0]["value"][1])
                       == 1, timeout=10, what="one client")
            res = query(admin, "redis_memory_used_bytes")  # E17
            used = float(res[0]["value"][1])
            info_used = float(re.search(r"used_memory:(\d+)", r.cli("INFO", "memory")).group(1))
            assert abs(used - info_used) / info_used < 0.2, (used, info_used)
            res = query(admin, "increase(redis_keyspace_misses_total[1m])")
            assert 3 <= float(res[0]["value"][1]) <= 6, res
            res = query(admin, "redis_keyspace_hits_total / (redis_keyspace_hits_total + "
                               "redis_keyspace_misses_total)")
            ratio = float(res[0]["value"][1])
            assert abs(ratio - (h0 + 5) / (h0 + 5 + m0 + 3)) < 1e-9, ratio
            res = query(admin, "rate(redis_commands_processed_total[5s])")
            assert res and float(res[0]["value"][1]) > 0


def test_password_file_and_wrong_password():
    with Redis("--requirepass", "tg-s3cret-pw") as r:
        admin, port = free_port(), free_port()
        d = tempfile.mkdtemp(prefix="tg-redis-pw-")
        pw = os.path.join(d, "pw")
        with open(pw, "w") as f:
            f.write("tg-s3cret-pw\n")
        env = dict(os.environ, TG_WRONG_REDIS_PW="not-the-pw")
        cfg = config(target(r, name="good", password_file=pw),
                     target(r, name="bad", password_env="TG_WRONG_REDIS_PW"))
        try:
            with gateway(port, admin, [free_port()], config=cfg, env=env) as g:
                wait_up(admin, 1, instance="good")
                wait_up(admin, 0, instance="bad")
                # Unfiltered, each target's series carry its instance.
                both = metrics(admin)
                assert value(both, "redis_up", instance="good") == 1
                assert value(both, "redis_up", instance="bad") == 0

                def bad_entry():
                    st, _, v = http_json("GET", f"http://{HOST}:{admin}/health/detailed")
                    for c in v.get("collectors", []):
                        if c["job"] == "redis" and c["instance"] == "bad" and c["error"]:
                            return c
                    return None
                c = wait_until(bad_entry, timeout=10, what="the bad target's error")
                assert c["up"] is False and "WRONGPASS" in c["error"], c
                st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/"
                                     "slowlog?instance=bad", timeout=10)
                assert st == 503 and "WRONGPASS" in v["reason"], v
                # The passwords are shown nowhere.
                for path in ("/health/detailed", "/metrics/redis", "/api/v1/system/config",
                             "/metrics"):
                    st, _, body = http("GET", f"http://{HOST}:{admin}{path}", timeout=10)
                    assert b"tg-s3cret-pw" not in body and b"not-the-pw" not in body, path
                assert "tg-s3cret-pw" not in g.log() and "not-the-pw" not in g.log()
        finally:
            os.unlink(pw)
            os.rmdir(d)


def test_hung_redis_down_then_recovers():
    with Redis() as r:
        admin, port = free_port(), free_port()
        with gateway(port, admin, [free_port()], config=config(target(r, name="r"))):
            wait_up(admin)
            os.kill(r.pid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                # Down within one interval plus the timeout (0.9 s), with slack for a busy
                # machine; the reason is the timeout.
                wait_up(admin, 0, timeout=scaled(5, 10))
                took = time.monotonic() - t0
                assert took < (2.5 if not SANITIZED else 6), took
                st, _, v = http_json("GET", f"http://{HOST}:{admin}/health/detailed")
                c = [c for c in v["collectors"] if c["job"] == "redis"][0]
                assert c["up"] is False and "timeout" in c["error"], c
                # The diagnostics answer 503 within the target's timeout; the admin API
                # meanwhile answers at once.
                t1 = time.monotonic()
                st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/"
                                     "slowlog", timeout=10)
                assert st == 503 and v["reason"], v
                assert time.monotonic() - t1 < 2.5
                for _ in range(10):
                    t2 = time.monotonic()
                    st, _, _ = http("GET", f"http://{HOST}:{admin}/health")
                    assert st == 200 and time.monotonic() - t2 < 0.5
            finally:
                os.kill(r.pid, signal.SIGCONT)
            wait_up(admin, 1, timeout=10)
            st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/redis/info",
                                 timeout=10)
            assert st == 200, v


# Families the exporter prints that tailguard leaves out on purpose (docs/collectors.md,
# "Redis", deliberate differences).
NOT_CLAIMED = {
    "redis_exporter_build_info", "redis_exporter_last_scrape_connect_time_seconds",
    "redis_exporter_last_scrape_duration_seconds", "redis_exporter_last_scrape_error",
    "redis_exporter_scrape_duration_seconds", "redis_exporter_scrapes_total",
    "redis_target_scrape_request_errors_total",
    "redis_last_key_groups_scrape_duration_milliseconds",
    "redis_config_io_threads", "redis_config_maxclients", "redis_config_maxmemory",
    "redis_latency_percentiles_usec", "redis_slowlog_last_id",
    "redis_last_slow_execution_duration_seconds",
}
# Gauges that follow the scrapers' own activity or time: compared within these bounds
# (absolute, relative), the larger of the two. Every other gauge must be equal.
GAUGE_TOLERANCE = {
    "redis_connected_clients": (2, 0), "redis_uptime_in_seconds": (3, 0),
    "redis_start_time_seconds": (3, 0), "redis_rdb_changes_since_last_save": (0, 0),
}
VOLATILE_SUFFIXES = ("_bytes", "_ratio", "_percentage", "client_recent_max_input_buffer_bytes")


def gauge_ok(name, a, b):
    absol, rel = GAUGE_TOLERANCE.get(name, (None, None))
    if absol is None:
        if name.endswith(VOLATILE_SUFFIXES) or "allocator" in name or "mem_" in name:
            absol, rel = 2 * 1024 * 1024, 0.5
        else:
            absol, rel = 0, 0
    return abs(a - b) <= max(absol, rel * max(abs(a), abs(b)))


def test_differential_vs_redis_exporter():
    with Redis("--slowlog-log-slower-than", "0") as r:
        admin, port, eport = free_port(), free_port(), free_port()
        with gateway(port, admin, [free_port()],
                     config=config(target(r, name="r", interval="200ms", timeout="150ms"),
                                   tsdb="1s")), \
                exporter(["prometheus-redis-exporter", f"--redis.addr=redis://{HOST}:{r.port}",
                          f"--web.listen-address={HOST}:{eport}"], eport):
            wait_up(admin)

            def both():
                st, _, body = http("GET", f"http://{HOST}:{eport}/metrics", timeout=10)
                assert st == 200
                exp = parse_expo(body.decode())
                time.sleep(0.5)  # at least one of our 200 ms collections after the exporter's
                return metrics(admin), exp

            # Window: quiet, a burst of load, quiet again; readings only in the quiet parts.
            time.sleep(1)
            ours0, exp0 = both()
            resp(r.port, *[["SET", f"tg:d{i}", "x" * 100] for i in range(300)],
                 *[["GET", f"tg:d{i}"] for i in range(300)],
                 *[["GET", f"tg:none{i}"] for i in range(100)])
            time.sleep(1)
            ours1, exp1 = both()

            compared, problems = [], []
            for name, f in sorted(ours1.items()):
                e = exp1.get(name)
                if not e:
                    problems.append(f"{name}: not in the exporter's output")
                    continue
                if f["type"] != e["type"]:
                    problems.append(f"{name}: type {f['type']} vs {e['type']}")
                ln = {frozenset(k for k, _ in s) for s in f["series"]}
                le = {frozenset(k for k, _ in s) for s in e["series"]}
                if ln != le:
                    problems.append(f"{name}: labels {ln} vs {le}")
                compared.append(name)
                for labels, v in f["series"].items():
                    ev = e["series"].get(labels)
                    if ev is None:
                        if name != "redis_instance_info" and not name.startswith("redis_command"):
                            problems.append(f"{name}{dict(labels)}: series missing")
                        continue
                    if f["type"] == "counter":
                        v0 = ours0.get(name, {"series": {}})["series"].get(labels)
                        e0 = exp0.get(name, {"series": {}})["series"].get(labels)
                        if v0 is None or e0 is None:
                            continue
                        d_ours, d_exp = v - v0, ev - e0
                        # The scrapers' own commands and replies are the only difference;
                        # the load's share must agree.
                        slack = 64 * 1024 if "bytes" in name else 0.05 if "cpu" in name else 60
                        if abs(d_ours - d_exp) > max(slack, 0.1 * max(d_ours, d_exp)):
                            problems.append(f"{name}{dict(labels)}: moved {d_ours} vs {d_exp}")
                    elif not gauge_ok(name, v, ev):
                        problems.append(f"{name}{dict(labels)}: {v} vs {ev}")
            # What the load moved, exactly: hits and misses (no scraper reads a key).
            for n in ("redis_keyspace_hits_total", "redis_keyspace_misses_total"):
                assert value(ours1, n) - value(ours0, n) == value(exp1, n) - value(exp0, n)
            assert value(ours1, "redis_keyspace_misses_total") - \
                value(ours0, "redis_keyspace_misses_total") == 100
            assert value(ours1, "redis_db_keys", db="db0") == 300
            missing = sorted(set(exp1) - set(ours1) - NOT_CLAIMED
                             - {n for n in exp1 if n.startswith(("go_", "process_",
                                                                  "promhttp_"))})
            if missing:
                problems.append(f"exporter families neither claimed nor listed: {missing}")
            print(f"compared {len(compared)} families: {' '.join(compared)}")
            assert not problems, "\n".join(problems)
            assert len(compared) >= 80, len(compared)


if __name__ == "__main__":
    run_tests()
