# SPDX-License-Identifier: MIT
"""The admin listener's monitoring API (API.md, Monitoring): /api/v1/monitoring/metrics/
latency, metrics/requests, endpoints/stats, threads.

- The runbook's acceptance check: with load on demo-api through the gateway and +300 ms
  injected on one route, `endpoints/stats | jq '.endpoints | sort_by(.avg_latency_ms) |
  reverse | .[0].endpoint'` names that route, and `metrics/latency?window=5s | jq -r
  '.current.p95'` (a plain decimal that `bc` reads) crosses 200 within one window of the
  fault starting and falls back within one window of it ending.
- Accuracy: tailguard's p95/p99 agree with what the clients measured.
- Cardinality: random 404s never make endpoints; `endpoints.max` caps the label set.
- Shapes of metrics/requests and threads; window validation; 404/405 JSON errors.
"""
import json
import queue
import random
import re
import selectors
import shutil
import socket
import subprocess
import threading
import time

import http.client as httpclient

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"
AGG_WAIT = 1.3  # metrics are aggregated from the worker shards once per second
MON = "/api/v1/monitoring"
PLAIN_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")


# -- helpers --------------------------------------------------------------------------

def mon(admin, path):
    st, h, v = http_json("GET", f"http://{HOST}:{admin}{MON}{path}")
    assert st == 200, (path, st, v)
    assert h.get("content-type") == "application/json", h.get("content-type")
    return v


def get(port, path, timeout=10):
    out = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
              timeout=timeout)
    assert out.startswith(b"HTTP/1.1 "), (path, out[:200])
    return int(out.split(b" ", 2)[1])


def keepalive_gets(port, paths):
    """Sends each path on one keep-alive connection; returns the statuses."""
    conn = httpclient.HTTPConnection(HOST, port, timeout=10)
    out = []
    try:
        for p in paths:
            conn.request("GET", p)
            r = conn.getresponse()
            r.read()
            out.append(r.status)
    finally:
        conn.close()
    return out


def shell(cmd, timeout=20):
    """Runs a bash pipeline (with pipefail); returns stdout, asserting exit 0."""
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, (cmd, p.returncode, p.stdout, p.stderr)
    return p.stdout


def need(tool):
    assert shutil.which(tool), f"{tool} not installed (scripts/install-deps.sh, test group)"


def metric_value(admin, name, **labels):
    """Sum of the samples of `name` in /metrics whose labels include `labels`."""
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics")
    assert st == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head != name and not head.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def endpoint_labels(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics")
    return set(re.findall(r'^http_requests_total\{endpoint="((?:[^"\\]|\\.)*)"', body.decode(),
                          re.M))


def nearest_rank(values, pct):
    """The same percentile definition as tailguard: the value at rank ceil(pct% * n)."""
    s = sorted(values)
    k = max(1, -(-len(s) * pct // 100))
    return s[int(k) - 1]


class OpenLoad:
    """Open-loop load: a scheduler issues requests at a fixed rate, cycling through a
    weighted path list in a fixed order (so the mix is exact over any short stretch),
    whatever the latency (a slow endpoint does not slow the others down, as with real
    independent users); a pool of keep-alive workers sends them."""

    def __init__(self, port, weighted, rate, workers=16):
        self.port = port
        # spread each path's share over the cycle: a, b, c, b, c, ... not a, b, b, b, c
        self.paths = [p for p, _ in sorted(((p, (k + 0.5) / w) for p, w in weighted
                                            for k in range(w)), key=lambda x: x[1])]
        self.rate = rate
        self.q = queue.Queue()
        self.stopping = threading.Event()
        self.errors = []
        self.sent = 0
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        self.sched = threading.Thread(target=self._schedule, daemon=True)

    def start(self):
        for t in self.threads:
            t.start()
        self.sched.start()
        return self

    def _schedule(self):
        period = 1.0 / self.rate
        nxt = time.monotonic()
        while not self.stopping.is_set():
            self.q.put(self.paths[self.sent % len(self.paths)])
            self.sent += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1:
                nxt = time.monotonic()  # far behind (a stalled machine): do not burst

    def _work(self):
        conn = httpclient.HTTPConnection(HOST, self.port, timeout=10)
        try:
            while True:
                path = self.q.get()
                if path is None:
                    return
                try:
                    conn.request("GET", path)
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        self.errors.append((path, r.status))
                except OSError as e:
                    self.errors.append((path, repr(e)))
                    conn.close()
                    conn = httpclient.HTTPConnection(HOST, self.port, timeout=10)
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.sched.join(5)
        for _ in self.threads:
            self.q.put(None)
        for t in self.threads:
            t.join(15)
            assert not t.is_alive(), "a load worker hangs"
        assert not self.errors, self.errors[:5]


# -- tests ----------------------------------------------------------------------------

def test_runbook_fault_is_found_and_p95_follows_it():
    need("jq")
    need("bc")
    need("curl")
    demo, port, admin = free_port(), free_port(), free_port()
    window = 5
    threshold = 200
    # One request in ten hits the faulted route, so while the fault lasts its share of
    # the 5 s window crosses the 5 % that moves p95 after about a quarter of a window, and
    # after it ends falls back under 5 % after about half a window. Each crossing is seen
    # up to one aggregation tick (1 s) later, and a faulted request ends 300 ms after it
    # starts, so "within one window" is checked as window + 1.5 s.
    mix = [("/api/products/7", 1), ("/api/products", 3), ("/api/v1/agents", 3), ("/", 3)]
    rate = scaled(100, 60)
    lat_url = f"http://{HOST}:{admin}{MON}/metrics/latency?window={window}s"
    stats_url = f"http://{HOST}:{admin}{MON}/endpoints/stats"

    def p95_jq():
        """The runbook's autoscale read: curl | jq -r '.current.p95', fed to bc."""
        out = shell(f"curl -sf '{lat_url}' | jq -r '.current.p95'").strip()
        assert PLAIN_DECIMAL.match(out), f"jq -r .current.p95 printed {out!r}"
        above = shell(f"echo '{out} > {threshold}' | bc -l").strip()
        assert above in ("0", "1"), above
        return float(out), above == "1"

    def wait_p95(want_above, limit):
        t0 = time.monotonic()
        seen = []
        while True:
            v, above = p95_jq()
            seen.append(v)
            assert (v > threshold) == above  # bc agrees with Python
            if above == want_above:
                return time.monotonic() - t0, v
            assert time.monotonic() - t0 < limit, (
                f"p95 still {'below' if want_above else 'above'} {threshold} after "
                f"{limit}s: {seen}")
            time.sleep(0.2)

    with demo_api(demo, latency_scale=0) as d:
        cfg = f"""
upstreams: [ {{ name: api, servers: ["{HOST}:{demo}"] }} ]
routes:
  - {{ name: product, methods: [GET], path: "/api/products/:id" }}
"""
        with gateway(port, admin, [], config=cfg):
            load = OpenLoad(port, mix, rate).start()
            try:
                time.sleep(window + AGG_WAIT)  # a full window of normal traffic
                base, above = p95_jq()
                assert not above, f"p95 {base} before any fault"

                st, _, v = http_json("POST", f"http://{HOST}:{demo}/_faults",
                                     {"endpoint": "/api/products/7", "latency_ms": 300})
                assert st == 200, (st, v)
                rise, peak = wait_p95(True, window + 1.5)
                time.sleep(1)
                # which endpoint is slow: the runbook's jq, and the same sort in Python
                top = shell(f"curl -sf '{stats_url}' | jq '.endpoints | "
                            "sort_by(.avg_latency_ms) | reverse | .[0].endpoint'").strip()
                assert top == '"product"', top
                st, _, stats = http_json("GET", stats_url)
                rows = sorted(stats["endpoints"], key=lambda r: r["avg_latency_ms"],
                              reverse=True)
                assert rows[0]["endpoint"] == "product", rows
                assert rows[0]["method"] == "GET", rows[0]
                # over the last 5 s the route is all fault: its p50 carries the 300 ms
                st, _, recent = http_json("GET", stats_url + "?window=5s")
                prod = [r for r in recent["endpoints"] if r["endpoint"] == "product"]
                assert prod and prod[0]["p50_ms"] >= 300, recent
                others = [r for r in recent["endpoints"] if r["endpoint"] != "product"]
                assert others and all(r["p95_ms"] < 100 for r in others), others

                st, _, v = http_json("DELETE", f"http://{HOST}:{demo}/_faults")
                assert st == 200, (st, v)
                fall, low = wait_p95(False, window + 1.5)
            finally:
                load.stop()
            print(f"p95 before {base} ms; above {threshold} {rise:.2f}s after the fault "
                  f"({peak} ms); below {fall:.2f}s after its end ({low} ms); "
                  f"{load.sent} requests")


def timed_client(port, path, conns, duration):
    """Closed-loop keep-alive load with the client-side latency of every request, in ms.

    One thread drives every connection through a selector on raw sockets, timing each
    request with perf_counter from its send to the end of its response. (A thread per
    connection with http.client adds GIL hand-offs and parsing of a few ms to the tail on
    a 2-CPU machine, more than the 1 ms this check allows.) The connections start
    `50 ms / conns` apart so that their answers do not all land in the same instant."""
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    out, state = [], {}
    end = time.monotonic() + duration
    try:
        for i in range(conns):
            s = socket.create_connection((HOST, port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            state[s] = [0.0, b"", None]
        pending = list(state)
        gap = 0.05 / conns
        next_start = time.monotonic()
        while state:
            if pending and time.monotonic() >= next_start:
                s = pending.pop(0)
                state[s][0] = time.perf_counter()
                s.sendall(req)
                next_start += gap
            events = sel.select(timeout=gap if pending else 10)
            assert events or pending, "no answer for 10 s"
            for key, _ in events:
                s = key.fileobj
                now = time.perf_counter()
                st = state[s]
                d = s.recv(65536)
                assert d, "connection closed"
                st[1] += d
                if st[2] is None:
                    i = st[1].find(b"\r\n\r\n")
                    if i < 0:
                        continue
                    head = st[1][:i].decode("latin-1").lower()
                    assert head.startswith("http/1.1 200"), head
                    cl = re.search(r"\r\ncontent-length: *(\d+)", head)
                    st[2] = i + 4 + int(cl.group(1))
                if len(st[1]) < st[2]:
                    continue
                assert len(st[1]) == st[2], "more bytes than one response"
                out.append((now - st[0]) * 1000)
                if time.monotonic() < end:
                    st[:] = [time.perf_counter(), b"", None]
                    s.sendall(req)
                else:
                    sel.unregister(s)
                    s.close()
                    del state[s]
    finally:
        for s in list(state):
            s.close()
        sel.close()
    return out


def test_percentiles_match_client_measurements():
    """Steady load through the gateway to demo-api's /sleep/50 (6 connections, 5 s):
    tailguard's p50/p95/p99 over a window covering the run agree with the client's own
    measurement within 2 % + 1 ms. The client's time also holds what the gateway cannot
    see (the loopback hops, the wait in the socket buffer before a worker reads the head,
    the client's own wake-up: a few hundred µs on an idle machine), and tailguard reports
    bucket midpoints (within 0.4 %). A run spoiled by a noisy moment on the machine is
    retried on a fresh gateway (at most 3 runs); the bound itself is never widened."""
    conns = scaled(6, 4)
    reports = []
    for attempt in range(3):
        demo, port, admin = free_port(), free_port(), free_port()
        with demo_api(demo, latency_scale=0), gateway(port, admin, [f"{HOST}:{demo}"]):
            all_ms = timed_client(port, "/sleep/50", conns, 5.0)
            time.sleep(AGG_WAIT)
            cur = mon(admin, "/metrics/latency?window=60s")["current"]
        # every request is in the window, and nothing else
        assert cur["count"] == len(all_ms), (cur["count"], len(all_ms))
        assert 50 <= cur["p50_ms"] and 50 <= min(all_ms), (cur, min(all_ms))
        assert cur["max_ms"] <= max(all_ms), (cur, max(all_ms))
        ok = True
        report = []
        for pct, key in ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")):
            want = nearest_rank(all_ms, pct)
            got = cur[key]
            report.append(f"{key} tailguard {got:.3f} client {want:.3f}")
            ok = ok and abs(got - want) <= 0.02 * want + 1.0
        reports.append("; ".join(report) + f"; {len(all_ms)} requests")
        print(f"run {attempt + 1}: {reports[-1]}")
        if ok:
            return
    raise AssertionError("tailguard's percentiles differ from the client's by more than "
                         "2 % + 1 ms in 3 runs:\n" + "\n".join(reports))


def test_random_404s_make_no_endpoints():
    demo, port, admin = free_port(), free_port(), free_port()
    with demo_api(demo, latency_scale=0), gateway(port, admin, [f"{HOST}:{demo}"]):
        # each template twice: the first sighting is its probation, counted as "other"
        assert keepalive_gets(port, ["/api/products", "/api/v1/agents", "/api/products/3"] * 2) \
            == [200] * 6
        time.sleep(AGG_WAIT)
        before = metric_value(admin, "tailguard_endpoints")
        labels_before = endpoint_labels(admin)
        assert labels_before == {"/api/products", "/api/v1/agents", "/api/products/:id",
                                 "other"}, labels_before
        assert before == 3
        rng = random.Random()
        paths = [f"/r{rng.randrange(1 << 40):x}/{rng.choice(['a', 'b', '7', 'x-y'])}"
                 f"/{rng.randrange(1 << 20)}" for _ in range(300)]
        assert keepalive_gets(port, paths) == [404] * 300
        time.sleep(AGG_WAIT)
        assert metric_value(admin, "tailguard_endpoints") == before
        assert endpoint_labels(admin) == labels_before
        assert metric_value(admin, "http_requests_total", endpoint="other", status="404") == 300
        rows = {r["endpoint"]: r for r in mon(admin, "/endpoints/stats")["endpoints"]}
        assert set(rows) == labels_before, rows.keys()
        assert rows["other"]["requests"] == 303 and rows["other"]["status"]["4xx"] == 300


def test_endpoints_max_caps_labels():
    demo, port, admin = free_port(), free_port(), free_port()
    with demo_api(demo, latency_scale=0):
        cfg = f"""
endpoints: {{ max: 3 }}
upstreams: [ {{ name: api, servers: ["{HOST}:{demo}"] }} ]
routes: [ {{ name: product, methods: [GET], path: "/api/products/:id" }} ]
"""
        with gateway(port, admin, [], config=cfg):
            # the route takes one of the 3; two templates take the rest (each at its second
            # sighting, the first counts as "other"); "/" is the 4th
            assert keepalive_gets(port, ["/api/products", "/api/v1/agents", "/api/products",
                                         "/api/v1/agents", "/", "/", "/api/products/1",
                                         "/api/products", "/"]) == [200] * 9
            time.sleep(AGG_WAIT)
            assert metric_value(admin, "tailguard_endpoints") == 3
            assert endpoint_labels(admin) == {"product", "/api/products", "/api/v1/agents",
                                              "other"}
            assert metric_value(admin, "http_requests_total", endpoint="other",
                                status="200") == 5
            assert metric_value(admin, "http_requests_total", endpoint="/api/products") == 2
            rows = {r["endpoint"]: r for r in mon(admin, "/endpoints/stats")["endpoints"]}
            assert rows["other"]["requests"] == 5 and rows["other"]["status"]["2xx"] == 5, rows
            assert rows["product"]["requests"] == 1, rows
            # a new template still goes to "other"; known ones keep their label
            assert keepalive_gets(port, ["/health", "/api/v1/agents"]) == [200, 200]
            time.sleep(AGG_WAIT)
            assert metric_value(admin, "tailguard_endpoints") == 3
            assert metric_value(admin, "http_requests_total", endpoint="other") == 6
            assert metric_value(admin, "http_requests_total", endpoint="/api/v1/agents") == 2


def test_requests_and_threads_shapes():
    demo, port, admin = free_port(), free_port(), free_port()
    with demo_api(demo, latency_scale=0):
        cfg = f"""
workers: 2
upstreams: [ {{ name: api, servers: ["{HOST}:{demo}"] }} ]
"""
        with gateway(port, admin, [], config=cfg):
            statuses = keepalive_gets(port, ["/"] * 10 + ["/status/503"] * 3 +
                                      ["/status/404"] * 2 + ["/status/201"])
            assert statuses == [200] * 10 + [503] * 3 + [404] * 2 + [201], statuses
            time.sleep(AGG_WAIT)
            v = mon(admin, "/metrics/requests")
            for key in ("requests_per_second", "error_rate", "by_status", "1m", "5m"):
                assert key in v, (key, v)
            by = {"1xx": 0, "2xx": 11, "3xx": 0, "4xx": 2, "5xx": 3, "other": 0}
            assert v["by_status"] == by, v
            assert v["1m"]["window_s"] == 60 and v["5m"]["window_s"] == 300, v
            for w, secs in (("1m", 60), ("5m", 300)):
                x = v[w]
                assert x["requests"] == 16 and x["by_status"] == by, x
                assert x["errors_5xx"] == 3 and x["errors_4xx"] == 2, x
                assert x["requests_per_second"] == round(16 / secs, 3), x
                assert x["error_rate"] == round(3 / 16, 3), x  # 5xx are errors, 4xx not
            assert v["requests_per_second"] == v["1m"]["requests_per_second"]
            assert v["error_rate"] == v["1m"]["error_rate"]

            # threads: one row per worker; an open connection with a request in flight
            # shows up as a connection and a busy worker
            c = raw_open(port, b"GET /sleep/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                def busy():
                    t = mon(admin, "/threads")
                    return t if t["busy"] == 1 and t["connections"] >= 1 else None
                t = wait_until(busy, timeout=5, what="a busy worker in /threads")
                assert t["workers"] == 2 and len(t["threads"]) == 2, t
                assert sorted(th["id"] for th in t["threads"]) == [0, 1], t
                for th in t["threads"]:
                    for key in ("connections", "active_requests", "loop_lag_ms", "loop_turns"):
                        assert isinstance(th[key], (int, float)) and th[key] >= 0, (key, th)
                assert sum(th["active_requests"] for th in t["threads"]) == 1, t
                assert sum(th["connections"] for th in t["threads"]) == t["connections"], t
                assert t["queue_depth"] >= 0, t
            finally:
                c.close()

            ext = mon(admin, "/external-services")
            svc = ext["services"]
            assert len(svc) == 1 and svc[0]["name"] == "api", ext
            assert svc[0]["server"] == f"{HOST}:{demo}" and svc[0]["healthy"] is True, ext


def raw_open(port, data):
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(data)
    return s


def test_latency_shape_and_endpoint_filter():
    demo, port, admin = free_port(), free_port(), free_port()
    with demo_api(demo, latency_scale=0):
        cfg = f"""
upstreams: [ {{ name: api, servers: ["{HOST}:{demo}"] }} ]
routes: [ {{ name: slow, methods: [GET], path: "/sleep/:ms" }} ]
"""
        with gateway(port, admin, [], config=cfg):
            # empty: zeros, not nulls or NaN
            st, _, body = http("GET", f"http://{HOST}:{admin}{MON}/metrics/latency")
            v = json.loads(body)
            assert v["current"]["p95"] == 0 and v["p95"] == 0 and v["endpoints"] == [], v
            assert v["current"]["count"] == 0 and v["current"]["window_s"] == 60, v
            # the first "/" is the template's probation sighting: it counts as "other"
            assert keepalive_gets(port, ["/sleep/30"] * 3 + ["/"] * 5) == [200] * 8
            time.sleep(AGG_WAIT)
            st, _, body = http("GET", f"http://{HOST}:{admin}{MON}/metrics/latency?window=30s")
            # numbers are plain decimals, never exponents
            assert not re.search(rb"[0-9][eE][-+]?[0-9]", body), body
            v = json.loads(body)
            cur = v["current"]
            for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "count",
                        "window_s", "p50", "p95", "p99"):
                assert key in cur, (key, cur)
            assert cur["window_s"] == 30 and cur["count"] == 8, cur
            assert cur["p50"] == cur["p50_ms"] == v["p50"], v
            assert cur["p95"] == cur["p95_ms"] == v["p95"], v
            assert cur["p99"] == cur["p99_ms"] == v["p99"], v
            assert 30 <= cur["p95_ms"] <= cur["max_ms"] < 100, cur
            assert cur["p50_ms"] <= cur["p90_ms"] <= cur["p95_ms"] <= cur["p99_ms"], cur
            assert {r["endpoint"] for r in v["endpoints"]} == {"slow", "/", "other"}, v
            # one endpoint
            v = mon(admin, "/metrics/latency?endpoint=slow&window=30")
            assert v["current"]["count"] == 3 and v["current"]["p50_ms"] >= 30, v
            assert [r["endpoint"] for r in v["endpoints"]] == ["slow"], v
            v = mon(admin, "/metrics/latency?endpoint=%2F")
            assert v["current"]["count"] == 4 and v["current"]["p95_ms"] < 30, v
            st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}/metrics/latency"
                                 "?endpoint=nope")
            assert st == 404 and v["field"] == "endpoint" and v["error"], (st, v)
            # the per-endpoint table: default window 300 s
            v = mon(admin, "/endpoints/stats")
            assert v["window_s"] == 300, v
            row = {r["endpoint"]: r for r in v["endpoints"]}["slow"]
            for key in ("endpoint", "method", "requests", "count", "rps", "avg_latency_ms",
                        "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "error_rate",
                        "status"):
                assert key in row, (key, row)
            assert set(row["status"]) == {"1xx", "2xx", "3xx", "4xx", "5xx", "other"}, row
            assert row["requests"] == row["count"] == 3 and row["status"]["2xx"] == 3, row
            assert row["rps"] == round(3 / 300, 3) and row["error_rate"] == 0, row
            assert 30 <= row["avg_latency_ms"] < 100, row
            assert mon(admin, "/endpoints/stats?window=2m")["window_s"] == 120


def test_window_validation_and_errors():
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"{HOST}:{free_port()}"]):
        base = f"http://{HOST}:{admin}{MON}"
        for path in ("/metrics/latency", "/endpoints/stats"):
            for bad in ("0", "0s", "abc", "-1", "-5s", "16m", "901", "1h", "5x", "", "%zz",
                        "1e3"):  # (huge numbers: test_window_with_huge_number_is_rejected)
                st, h, v = http_json("GET", f"{base}{path}?window={bad}")
                assert st == 400, (path, bad, st, v)
                assert h.get("content-type") == "application/json"
                assert v["field"] == "window" and v["error"], (path, bad, v)
            for ok, secs in (("1s", 1), ("1", 1), ("90", 90), ("15m", 900), ("2m30s", 150)):
                st, _, v = http_json("GET", f"{base}{path}?window={ok}")
                assert st == 200, (path, ok, st, v)
                got = v["current"]["window_s"] if "current" in v else v["window_s"]
                assert got == secs, (path, ok, v)
        # unknown monitoring paths: JSON 404
        for path in ("/nope", "/metrics", "/metrics/latency/x", "/"):
            st, h, v = http_json("GET", base + path)
            assert st == 404 and v["error"] == "not found", (path, st, v)
            assert h.get("content-type") == "application/json"
        # read-only: other methods are 405 (JSON); HEAD is GET without a body
        for path in ("/metrics/latency", "/metrics/requests", "/endpoints/stats", "/threads",
                     "/external-services"):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                st, h, v = http_json(method, base + path, obj={})
                assert st == 405 and v["error"], (method, path, st, v)
                assert h.get("content-type") == "application/json"
            st, h, body = http("HEAD", base + path)
            assert st == 200 and body == b"", (path, st, body)


def test_window_with_huge_number_is_rejected():
    """`window` in seconds is multiplied into microseconds (admin/query.c,
    tg_admin_query_seconds: `(int64_t)plain * 1000000`) without an overflow check:
    2^58 + 60 wraps to exactly 60 s and is accepted, and under UBSan any value above
    INT64_MAX / 10^6 (9223372036854) stops the whole gateway (signed overflow, undefined
    behaviour) on one unauthenticated GET. Any value above the 15 m limit must be a 400."""
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"{HOST}:{free_port()}"]):
        for bad in (str((1 << 58) + 60), str((1 << 62) + 5), "9223372036855",
                    "9223372036854775807", "99999999999999999999"):
            st, _, v = http_json("GET", f"http://{HOST}:{admin}{MON}/metrics/latency"
                                 f"?window={bad}")
            assert st == 400 and v["field"] == "window", (bad, st, v)


if __name__ == "__main__":
    run_tests()
