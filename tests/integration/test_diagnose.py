#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /api/v1/monitoring/diagnosis on faults injected into demo-api under steady load
from `tailguard bench`, with windows of seconds: one endpoint +800 ms (targeted, that
endpoint alone, sudden, the onset near the fault); every endpoint slower (system_wide);
latency ramping (gradual); a burst every 15 s (periodic, with its period); the load tripled
against demo-api's capacity model (high_traffic with both rates); one server of three slow
(upstream_server naming it, and POST /api/v1/system/upstreams/eject taking it out ends the
degradation); a deploy event before a slowdown (deployment naming the event); and the
answer's shape, parameters and errors. Prints each scenario's classification."""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgtest import (BIN, HOST, Proc, SANITIZED, demo_api, free_port, gateway, http, http_json,  # noqa: E402
                    parallel, run_tests, wait_until)

# Fine buckets up to 1 s (25 ms apart), as a user who reads ramps off them sets: the
# default buckets jump from 0.5 to 0.75 to 1 s, which turns any ramp into steps.
BUCKETS = ", ".join(str(round(0.025 * i, 3)) for i in range(1, 41)) + ", 1.25, 1.5, 2, 3, 5, 10"
CONFIG = f"""
tsdb: {{scrape_interval: 1s}}
metrics: {{buckets: [{BUCKETS}]}}
collectors: {{host: {{enabled: false}}}}
"""
PATHS = ["/api/products", "/api/products/7", "/api/v1/agents"]
RATE = 20 if SANITIZED else 40
RESULTS = []


def tally(name, ok):
    """Records a scenario's classification and prints the share so far (the last line
    printed is the run's share, quoted in the closing note)."""
    RESULTS.append((name, ok))
    right = sum(1 for _, k in RESULTS if k)
    print(f"classified right: {right}/{len(RESULTS)} {RESULTS}", flush=True)


def post_fault(port, fault):
    st, _, body = http_json("POST", f"http://{HOST}:{port}/_faults", fault)
    assert st == 200, (st, body)


def diagnosis(admin, query):
    st, _, body = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/diagnosis?{query}")
    assert st == 200, (st, body)
    return body


def ts(iso):
    """RFC3339 with milliseconds to unix seconds."""
    from datetime import datetime, timezone
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


class Scenario:
    """A gateway in front of `servers` demo-api instances with `tailguard bench` sending
    `rate` requests/s over PATHS for `seconds`."""

    def __init__(self, servers=1, rate=RATE, seconds=70, bench_args=(), latency_eject=True,
                 extra=""):
        self.demo_ports = [free_port() for _ in range(servers)]
        self.port, self.admin = free_port(), free_port()
        self.procs = []
        for p in self.demo_ports:
            self.procs.append(demo_api(p))
        ups = self.demo_ports
        if not latency_eject:
            # Passive latency ejection off: the diagnosis, not the balancer, finds the
            # slow server.
            addrs = ", ".join(f"{{address: {HOST}:{p}}}" for p in self.demo_ports)
            ups, extra = [], extra + (f"upstreams:\n  - name: default\n    servers: [{addrs}]\n"
                              f"    passive: {{latency_factor: 0}}\n")
        base = CONFIG
        if "collectors:" in extra:  # the scenario's own collectors replace the line
            base = "\n".join(x for x in CONFIG.split("\n") if not x.startswith("collectors:"))
        self.gw = gateway(self.port, self.admin, ups, config=base + extra)
        self.procs.append(self.gw)
        urls = [f"http://{HOST}:{self.port}{p}" for p in PATHS]
        args = list(bench_args) or ["-R", str(rate)]
        # --stages sets the run's length itself.
        length = [] if "--stages" in args else ["-d", f"{seconds}s"]
        self.bench = Proc([BIN, "bench", *args, *length, "--max-duration",
                           f"{seconds + 10}s", *urls], name="bench", expect_exit=(0, 1)).start()
        self.procs.append(self.bench)
        self.t0 = time.time()

    def sleep_until(self, t):
        d = self.t0 + t - time.time()
        if d > 0:
            time.sleep(d)

    def close(self):
        for p in reversed(self.procs):
            p.stop()
            p._cleanup()


def run(name, body):
    s = None
    try:
        s = Scenario(**body.get("setup", {}))
        return body["fn"](s)
    finally:
        if s:
            s.close()


def record(name, d, want):
    got = {k: d[k] for k in want}
    ok = all(d[k] == v for k, v in want.items())
    tally(name, ok)
    print(f"scenario {name}: want {want} got {got} pattern_evidence="
          f"{d.get('pattern_evidence')!r} -> {'right' if ok else 'WRONG'}", flush=True)
    return ok


def sudden_targeted(s):
    s.sleep_until(22)
    t_fault = time.time()
    post_fault(s.demo_ports[0], {"endpoint": "/api/products/", "latency_ms": 800})
    s.sleep_until(34)
    d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
    record("sudden_targeted", d, {"degraded": True, "scope": "targeted", "pattern": "sudden"})
    assert d["scope"] == "targeted", d
    assert [a["endpoint"] for a in d["affected"]] == ["/api/products/:id"], d["affected"]
    a = d["affected"][0]
    assert a["p95_ms"] > 700 and a["baseline_p95_ms"] < 200, a
    assert d["pattern"] == "sudden", d
    onset = ts(d["onset"])
    assert t_fault - 2 <= onset <= t_fault + 8, (t_fault, d["onset"])
    assert d["severity"] == "SEV-3", d  # 0.8 s is under profile 000's rungs: the lowest
    ops = [m["op"] for m in d["suggested_mitigations"]]
    assert "FALLBACK" in ops and "BREAKER" in ops, ops
    assert d["checks"] and any("Targeted" in c for c in d["checks"]), d["checks"]
    return d


def system_wide(s):
    s.sleep_until(22)
    post_fault(s.demo_ports[0], {"endpoint": "*", "latency_ms": 800})
    s.sleep_until(34)
    d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
    record("system_wide", d, {"degraded": True, "scope": "system_wide", "pattern": "sudden"})
    assert d["scope"] == "system_wide", d
    assert len(d["affected"]) == len(PATHS), d["affected"]
    assert any(c.startswith("System-wide: check CPU") for c in d["checks"]), d["checks"]
    return d


# A p95 target for /api/ (the way an SLO is written): a ramp moves the baseline with it,
# so "twice the baseline" is never reached; the target is.
GRADUAL_CFG = """
diagnosis:
  targets:
    - {path: "/api/*", p95: 600ms}
"""


def gradual(s):
    # A level first (200 ms everywhere), then 800 ms more on /api/ over 60 s: a ramp of
    # about 6 % of the level per second, where a step is 100 %.
    post_fault(s.demo_ports[0], {"endpoint": "*", "latency_ms": 200})
    s.sleep_until(4)
    post_fault(s.demo_ports[0], {"endpoint": "/api/", "latency_ms": 800, "pattern": "gradual",
                                 "ramp_s": 60})
    s.sleep_until(64)
    d = diagnosis(s.admin, "window=10s&baseline=20s&lookback=60s&step=2s")
    record("gradual", d, {"degraded": True, "pattern": "gradual"})
    assert d["pattern"] == "gradual", d
    return d


def periodic(s):
    t_fault = time.time()
    post_fault(s.demo_ports[0], {"endpoint": "*", "latency_ms": 600, "pattern": "periodic",
                                 "period_s": 15, "duty": 0.2})
    # Ask during the fifth burst (60 s to 63 s after the fault): bursts come at 0, 15, 30,
    # 45 and 60 s. Three whole episodes (15, 30, 45) are in the lookback whether the first
    # burst is cut by its edge (an episode under way at the first point does not count:
    # pattern.h) and however little of the fifth a sanitized gateway has scraped yet.
    d = None
    deadline = t_fault + 67
    time.sleep(max(0, t_fault + 62 - time.time()))
    while time.time() < deadline:
        d = diagnosis(s.admin, "window=10s&baseline=20s&lookback=65s&step=1s")
        if d["degraded"]:
            break
        time.sleep(0.5)
    record("periodic", d, {"degraded": True, "pattern": "periodic"})
    assert d["pattern"] == "periodic", d
    assert abs(d["period_s"] - 15) <= 2, d
    return d


def high_traffic(s):
    # demo-api's capacity model: 2 servers of 40 ms (50 requests/s). The load goes from
    # 20/s to 60/s at 28 s: beyond capacity, the queue grows.
    post_fault(s.demo_ports[0], {"endpoint": "*", "capacity": {"concurrency": 2,
                                                               "service_ms": 40}})
    s.sleep_until(40)
    d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
    kinds = {c["kind"]: c for c in d["correlations"]}
    tally("high_traffic", d["degraded"] and "high_traffic" in kinds)
    print(f"scenario high_traffic: correlations {list(kinds)} causes "
          f"{[c['cause'] for c in d['causes']]}", flush=True)
    assert d["degraded"], d
    ht = kinds["high_traffic"]
    # The window holds the tripled load alone; the baseline window ends 2 s after the rise.
    assert ht["rps"] > 2 * ht["baseline_rps"] and 15 <= ht["baseline_rps"] <= 30, ht
    # Answered requests: at most the capacity (50/s) once the queue builds.
    assert 38 <= ht["rps"] <= 65, ht
    assert d["causes"][0]["cause"] == "capacity", d["causes"]
    return d


def slow_server(s):
    s.sleep_until(22)
    slow = s.demo_ports[1]
    post_fault(slow, {"endpoint": "*", "latency_ms": 300})
    s.sleep_until(34)
    d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
    servers = [c for c in d["correlations"] if c["kind"] == "upstream_server"]
    tally("slow_server", bool(servers) and servers[0]["server"] == f"{HOST}:{slow}")
    print(f"scenario slow_server: {servers} causes {[c['cause'] for c in d['causes']]}",
          flush=True)
    assert d["degraded"], d
    assert len(servers) == 1 and servers[0]["server"] == f"{HOST}:{slow}", d["correlations"]
    assert d["causes"][0]["cause"] == "upstream_server", d["causes"]
    assert d["causes"][0]["target"] == f"{HOST}:{slow}", d["causes"]
    ej = [m for m in d["suggested_mitigations"] if m["op"] == "EJECT"]
    assert ej and ej[0]["body"]["server"] == f"{HOST}:{slow}", d["suggested_mitigations"]
    # The suggestion as it is, sent: the degradation ends.
    st, _, body = http_json(ej[0]["method"], f"http://{HOST}:{s.admin}{ej[0]['path']}",
                         ej[0]["body"])
    assert st == 200, (st, body)
    s.sleep_until(50)
    d2 = diagnosis(s.admin, "window=8s&baseline=15s&lookback=30s&step=1s")
    assert not d2["degraded"], d2
    return d


def test_gradual_periodic_high_traffic_slow_server():
    """Four scenarios side by side (each a gateway, a demo-api and a bench of its own:
    light load, so they do not crowd each other on two cores; two at a time under the
    sanitizers)."""
    ht = {"seconds": 45, "bench_args": ["-R", "20", "--stages", "28s:20,1s:60,16s:60"]}
    runs = [lambda: run("a", {"fn": gradual, "setup": {"seconds": 70, "extra": GRADUAL_CFG}}),
            # 40 requests/s under the sanitizers too: at 20 a 3 s burst leaves too few
            # samples per rate window to show every episode.
            lambda: run("b", {"fn": periodic, "setup": {"seconds": 75, "rate": 40}}),
            lambda: run("c", {"fn": high_traffic, "setup": ht}),
            lambda: run("d", {"fn": slow_server,
                              "setup": {"servers": 3, "seconds": 55, "latency_eject": False}})]
    # Under the sanitizers four gateways at once starve each other's scrapes on two cores
    # (gaps in the series hide a burst): two at a time there.
    step = 2 if SANITIZED else 4
    for i in range(0, len(runs), step):
        parallel(runs[i:i + step], timeout=160)


def test_sudden_system_wide_database_deploy():
    runs = [lambda: run("a", {"fn": sudden_targeted, "setup": {"seconds": 40}}),
            lambda: run("b", {"fn": system_wide, "setup": {"seconds": 40}}),
            database, deploy_then_slowdown]
    step = 2 if SANITIZED else 4
    for i in range(0, len(runs), step):
        parallel(runs[i:i + step], timeout=160)


def database():
    """A real PostgreSQL with a query running for a minute behind a slowdown: the cause is
    the database, naming the collector target, and the checks and mitigations say so."""
    from peers import Postgres
    with Postgres() as pg:
        extra = (f"collectors:\n  host: {{enabled: false}}\n  postgres:\n"
                 f"    - {{name: main, dsn: \"{pg.dsn}\", interval: 1s, timeout: 1s}}\n")
        s = Scenario(seconds=40, extra=extra)
        long_query = None
        try:
            s.sleep_until(18)
            long_query = pg.background("SELECT pg_sleep(60)")
            post_fault(s.demo_ports[0], {"endpoint": "*", "latency_ms": 400})
            s.sleep_until(32)
            d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
            causes = [c["cause"] for c in d["causes"]]
            tally("database", bool(causes) and causes[0] == "database")
            print(f"scenario database: causes {d['causes'][:2]}", flush=True)
            assert d["degraded"] and causes[0] == "database", d["causes"]
            assert d["causes"][0]["target"] == "main", d["causes"][0]
            dep = [c for c in d["correlations"] if c["kind"] == "dependency"]
            assert dep and dep[0]["collector"] == "postgres" and dep[0]["target"] == "main", d
            ops = [m["op"] for m in d["suggested_mitigations"]]
            assert "KILL_LONG_QUERIES" in ops and "BREAKER" in ops, ops
            assert any(c.startswith("Database:") for c in d["checks"]), d["checks"]
        finally:
            if long_query:
                long_query.kill()
                long_query.wait()
            s.close()


def deploy_then_slowdown():
    """A deploy event, then a slowdown: the deployment correlation names the event; a
    config change made after the onset (a mitigation) is not a correlation."""
    s = Scenario(seconds=40)
    try:
        s.sleep_until(18)
        st, _, ev = http_json("POST", f"http://{HOST}:{s.admin}/api/v1/events",
                           {"type": "deploy", "service": "api", "version": "1.2.3"})
        assert st in (200, 201), (st, ev)
        s.sleep_until(22)
        post_fault(s.demo_ports[0], {"endpoint": "*", "latency_ms": 500})
        s.sleep_until(33)
        st, _, _ = http_json("PUT", f"http://{HOST}:{s.admin}/api/v1/system/timeouts",
                          {"default_ms": 9000})
        assert st == 200
        s.sleep_until(35)
        d = diagnosis(s.admin, "window=10s&baseline=15s&lookback=30s&step=1s")
        dep = [c for c in d["correlations"] if c["kind"] == "deployment"]
        tally("deployment", bool(dep) and dep[0]["version"] == "1.2.3")
        print(f"scenario deployment: {dep}", flush=True)
        assert dep and dep[0]["version"] == "1.2.3" and dep[0]["service"] == "api", d
        assert dep[0]["event_id"] == ev["id"], (dep, ev)
        assert not [c for c in d["correlations"] if c["kind"] == "config_change"], d
    finally:
        s.close()


def test_shape_params_and_errors():
    """Keys of a calm answer, window parameters echoed, bad parameters refused."""
    port, admin, dport = free_port(), free_port(), free_port()
    with demo_api(dport), gateway(port, admin, [dport], config=CONFIG):
        for _ in range(20):
            http("GET", f"http://{HOST}:{port}/api/products")
        d = diagnosis(admin, "window=30s")
        for k in ("degraded", "severity", "window_s", "scope", "affected", "categories",
                  "pattern", "onset", "correlations", "causes", "checks",
                  "suggested_mitigations"):
            assert k in d, k
        assert d["window_s"] == 30 and d["degraded"] is False and d["severity"] is None, d
        assert d["scope"] == "none" and d["onset"] is None and d["affected"] == [], d
        for q, field in (("window=0s", "window"), ("window=banana", "window"),
                         ("step=2h", "step"), ("lookback=10s&step=30s", "step"),
                         ("min_requests=-1", "min_requests")):
            st, _, body = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/diagnosis?{q}")
            assert st == 400 and body["field"] == field, (q, st, body)
        st, _, _ = http("POST", f"http://{HOST}:{admin}/api/v1/monitoring/diagnosis", b"{}")
        assert st == 405


if __name__ == "__main__":
    run_tests()
