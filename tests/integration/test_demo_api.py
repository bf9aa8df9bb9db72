# SPDX-License-Identifier: MIT
"""Integration tests of `tailguard demo-api`: every endpoint, HTTP/1 framing (keep-alive,
pipelining, HTTP/1.0, chunked bodies, large responses with backpressure), fault injection
(latency, errors, gradual and periodic patterns, hang, the capacity queue), input errors,
the simulated agent pool the runbooks' app-specific calls read and change, and a clean
stop on SIGTERM. Each test starts its own server on a free port, so faults
set by one test never leak into another. Timing checks leave generous slack (more under
sanitizers) because CI machines are noisy; they check shape, not precision."""

import json
import os
import signal
import socket
import time

from tgtest import (SANITIZED, demo_api, free_port, http, http_json, parallel,
                    parse_responses, raw, run_tests, scaled, wait_until)

SLACK = 0.4 if SANITIZED else 0.15  # seconds of scheduling noise allowed on top of a delay


def url(port, path):
    return f"http://127.0.0.1:{port}{path}"


def timed(method, u, **kw):
    t0 = time.monotonic()
    status, headers, body = http(method, u, **kw)
    return status, headers, body, time.monotonic() - t0


def post_fault(port, fault):
    status, _, value = http_json("POST", url(port, "/_faults"), fault)
    assert status == 200, (status, value)
    return value


def test_basic_endpoints():
    port = free_port()
    with demo_api(port):
        status, h, body = http("GET", url(port, "/health"))
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert h.get("Content-Type") == "application/json"
        status, h, body = http("GET", url(port, "/"))
        assert (status, body) == (200, b"ok") and h.get("Content-Type").startswith("text/plain")
        status, h, body = http("HEAD", url(port, "/health"))
        assert status == 200 and body == b"" and h.get("Content-Length") == "15"
        status, _, body = http("GET", url(port, "/nope"))
        assert status == 404 and "error" in json.loads(body)
        status, h, body = http("DELETE", url(port, "/health"))
        assert status == 405 and "GET" in h.get("Allow")
        status, _, body = http("POST", url(port, "/status/418"), body=b"x")
        assert status == 418 and json.loads(body) == {"status": 418}
        status, _, body = http("GET", url(port, "/status/204"))
        assert status == 204 and body == b""
        assert http("GET", url(port, "/status/99"))[0] == 400
        assert http("GET", url(port, "/bytes/abc"))[0] == 400
        status, _, body, dt = timed("GET", url(port, "/sleep/200"))
        assert status == 200 and json.loads(body) == {"slept_ms": 200}
        assert 0.2 <= dt < 0.2 + SLACK + 0.3, dt


def test_api_endpoints_and_latency():
    port = free_port()
    with demo_api(port):
        status, _, value = http_json("GET", url(port, "/api/products"))
        assert status == 200 and len(value["products"]) == 20, value
        assert {"id", "name", "price"} <= set(value["products"][0])
        status, _, value = http_json("GET", url(port, "/api/products/7"))
        assert status == 200 and value["id"] == 7, value
        status, _, value = http_json("GET", url(port, "/api/products/1001"))
        assert status == 404 and value["error"], value
        status, _, value = http_json("GET", url(port, "/api/v1/agents"))
        assert status == 200 and value["total"] == len(value["agents"])
        status, _, value = http_json("GET", url(port, "/api/analytics/weekly%20sales"))
        assert status == 200 and value["report"] == "weekly%20sales" and len(value["rows"]) == 7
        status, _, value = http_json("POST", url(port, "/api/content/generate"),
                                     {"prompt": "write a haiku"})
        assert status == 200 and value["usage"]["prompt_bytes"] == 27, value
        assert http("GET", url(port, "/api/content/generate"))[0] == 405
        # Simulated latency: /api/products has a ~20 ms median, /api/analytics ~150 ms.
        n = scaled(12, 6)
        lat = sorted(r[3] for r in parallel(
            [lambda: timed("GET", url(port, "/api/products"))] * n))
        median = lat[n // 2]
        assert 0.008 < median < 0.08 + SLACK, lat
        lat = sorted(r[3] for r in parallel(
            [lambda: timed("GET", url(port, "/api/analytics/daily"))] * n))
        assert 0.06 < lat[n // 2] < 0.6 + SLACK, lat


def test_latency_scale_zero():
    port = free_port()
    with demo_api(port, latency_scale=0):
        for _ in range(5):
            status, _, _, dt = timed("GET", url(port, "/api/analytics/heavy"))
            assert status == 200 and dt < 0.05 + SLACK / 2, dt


def test_echo():
    port = free_port()
    with demo_api(port):
        status, _, v = http_json("GET", url(port, "/echo/sub?a=1&b=%20x"),
                                 headers={"X-One": "1", "x-two": "two  words"})
        assert status == 200, v
        assert (v["method"], v["path"], v["query"], v["version"]) == \
            ("GET", "/echo/sub", "a=1&b=%20x", "HTTP/1.1")
        names = [h[0] for h in v["headers"]]
        assert ["X-One", "1"] in v["headers"] and ["x-two", "two  words"] in v["headers"]
        assert names.index("X-One") < names.index("x-two")
        assert v["body"] == "" and v["body_bytes"] == 0
        payload = bytes(range(256)) + "héllo \"q\" \\".encode()
        status, _, body = http("PUT", url(port, "/echo"), body=payload)
        assert status == 200
        v = json.loads(body)  # valid JSON even for binary input
        assert v["method"] == "PUT" and v["body_bytes"] == len(payload)
        text = v["body"]
        assert text.endswith("héllo \"q\" \\"), text[-20:]
        assert text[:256] == "".join(chr(i) for i in range(128)) + \
            "".join(chr(i) for i in range(128, 256)), "raw bytes come back as \\u00XX"
        assert b"\\u0000" in body and b"\\u00ff" in body
        big = os.urandom(300_000)
        status, _, body = http("POST", url(port, "/echo"), body=big, timeout=20)
        v = json.loads(body)
        assert status == 200 and v["body_bytes"] == 300_000 and v["body_truncated"] is True
        assert len(v["body"]) > 0 and len(v["body"]) <= 65536


def test_keepalive_pipelining():
    port = free_port()
    with demo_api(port):
        # The first request is slow: the others must still be answered after it.
        reqs = (b"GET /sleep/100 HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                b"POST /status/201 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                b"Connection: close\r\n\r\nabc")
        t0 = time.monotonic()
        data = raw(port, reqs, timeout=5)
        assert time.monotonic() - t0 < 3, "server did not close after Connection: close"
        resps = parse_responses(data)
        assert [r[0] for r in resps] == [200, 200, 201], data
        assert json.loads(resps[0][2]) == {"slept_ms": 100}
        assert json.loads(resps[1][2]) == {"status": "ok"}
        assert resps[2][1]["connection"] == "close"
        # Many small pipelined requests on one connection (exercises write batching).
        n = 200
        data = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (n - 1) +
                   b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=10)
        resps = parse_responses(data)
        assert len(resps) == n and all(r[2] == b"ok" for r in resps)
        # Requests split across many writes still parse.
        data = raw(port, [b"GET /hea", b"lth HTTP/1.1\r\nHo", b"st: x\r\nConnection: cl",
                          b"ose\r\n", b"\r\n"], gap=0.02)
        assert [r[0] for r in parse_responses(data)] == [200]


def test_http10():
    port = free_port()
    with demo_api(port):
        t0 = time.monotonic()
        data = raw(port, b"GET /health HTTP/1.0\r\n\r\n")
        assert time.monotonic() - t0 < 3, "HTTP/1.0 without keep-alive must close"
        resps = parse_responses(data)
        assert len(resps) == 1 and resps[0][0] == 200 and resps[0][2] == b'{"status":"ok"}'
        data = raw(port, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         b"GET /health HTTP/1.0\r\n\r\n")
        resps = parse_responses(data)
        assert [r[0] for r in resps] == [200, 200]
        assert resps[0][1].get("connection") == "keep-alive"
        # No chunked coding for HTTP/1.0 clients.
        data = raw(port, b"GET /bytes/5000?chunked=1 HTTP/1.0\r\n\r\n")
        resps = parse_responses(data)
        assert len(resps[0][2]) == 5000 and resps[0][1]["content-length"] == "5000"


def test_chunked_request_body():
    port = free_port()
    with demo_api(port):
        head = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n")
        pieces = [head, b"5\r\nhello\r\n", b"1;ext=1\r\n \r\n", b"6\r\nwor", b"ld!\r\n",
                  b"0\r\n", b"\r\n"]
        resps = parse_responses(raw(port, pieces, gap=0.02))
        assert len(resps) == 1 and resps[0][0] == 200, resps
        v = json.loads(resps[0][2])
        assert v["body"] == "hello world!" and v["body_bytes"] == 12, v
        # A big chunked upload is counted, not stored.
        chunk = b"x" * 65536
        body = (b"10000\r\n" + chunk + b"\r\n") * 40 + b"0\r\n\r\n"
        resps = parse_responses(raw(port, head + body, timeout=20))
        v = json.loads(resps[0][2])
        assert v["body_bytes"] == 40 * 65536 and v["body_truncated"] is True
        # Expect: 100-continue gets the interim response before the body is sent.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            interim = s.recv(100)
            assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
            s.sendall(b"ping")
            data = interim
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        resps = parse_responses(data)
        assert json.loads(resps[-1][2])["body"] == "ping"


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_bytes_large_and_backpressure():
    port = free_port()
    with demo_api(port) as p:
        status, h, body = http("GET", url(port, "/bytes/10000000"), timeout=30)
        assert status == 200 and len(body) == 10_000_000 and h["Content-Length"] == "10000000"
        status, h, body = http("GET", url(port, "/bytes/3000001?chunked=1"), timeout=30)
        assert status == 200 and len(body) == 3_000_001
        assert h["Transfer-Encoding"] == "chunked"
        status, h, body = http("GET", url(port, "/bytes/0"))
        assert status == 200 and body == b""
        status, h, body = http("HEAD", url(port, "/bytes/123456789"))
        assert status == 200 and body == b"" and h["Content-Length"] == "123456789"
        # A client that does not read: the server must stop writing, not buffer 64 GiB.
        before = _rss_kb(p.pid)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /bytes/68719476736 HTTP/1.1\r\nHost: x\r\n\r\n")
            got = len(s.recv(65536))
            time.sleep(0.5)
            growth = _rss_kb(p.pid) - before
            assert got > 0 and growth < 64 * 1024, f"RSS grew {growth} KiB"
        # The server is still responsive after the reader vanished mid-stream.
        assert http("GET", url(port, "/health"))[0] == 200


def test_fault_latency_and_listing():
    port = free_port()
    with demo_api(port, latency_scale=0):
        value = post_fault(port, {"endpoint": "/health", "latency_ms": 300})
        assert [f["endpoint"] for f in value["faults"]] == ["/health"]
        status, _, _, dt = timed("GET", url(port, "/health"))
        assert status == 200 and 0.3 <= dt < 0.3 + SLACK, dt
        status, _, _, dt = timed("GET", url(port, "/"))
        assert status == 200 and dt < SLACK, dt
        status, _, v = http_json("GET", url(port, "/_faults"))
        f = v["faults"][0]
        assert f["latency_ms"] == 300 and f["pattern"] == "sudden" and f["error_status"] == 500
        # Prefix selection is by path segment.
        post_fault(port, {"endpoint": "/api/products", "latency_ms": 200})
        assert timed("GET", url(port, "/api/products/3"))[3] >= 0.2
        assert timed("GET", url(port, "/api/productsx"))[3] < 0.2
        status, _, v = http_json("DELETE", url(port, "/_faults?endpoint=%2Fhealth"))
        assert status == 200 and [f["endpoint"] for f in v["faults"]] == ["/api/products"]
        assert timed("GET", url(port, "/health"))[3] < SLACK
        assert http("DELETE", url(port, "/_faults?endpoint=/nothing"))[0] == 404
        status, _, v = http_json("DELETE", url(port, "/_faults"))
        assert status == 200 and v["faults"] == []


def test_fault_error_rate():
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "/api/products", "error_rate": 1.0, "error_status": 503})
        status, _, v = http_json("GET", url(port, "/api/products/3"))
        assert status == 503 and v["status"] == 503
        assert http("GET", url(port, "/api/products"))[0] == 503
        assert http("GET", url(port, "/health"))[0] == 200
        post_fault(port, {"endpoint": "*", "error_rate": 0.5})
        n = scaled(200, 100)
        errors = sum(http("GET", url(port, "/"))[0] == 500 for _ in range(n))
        assert 0.3 * n < errors < 0.7 * n, errors
        assert http("GET", url(port, "/_faults"))[0] == 200, "/_faults is never faulted"


def test_fault_gradual():
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "/health", "latency_ms": 400, "pattern": "gradual",
                          "ramp_s": 1.5})
        t0 = time.monotonic()
        samples = []
        while time.monotonic() - t0 < 2.2:
            start = time.monotonic() - t0
            _, _, _, dt = timed("GET", url(port, "/health"))
            samples.append((start, dt))
            time.sleep(0.05)
        for start, dt in samples:
            expect = 0.4 * min(1.0, start / 1.5)
            assert expect - 0.05 <= dt <= expect + SLACK + 0.05, (start, dt, samples)
        assert samples[0][1] < 0.15 and samples[-1][1] >= 0.35, samples


def test_fault_periodic():
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "/health", "error_rate": 1, "pattern": "periodic",
                          "period_s": 0.6, "duty": 0.5})
        t0 = time.monotonic()
        statuses = []
        while time.monotonic() - t0 < 1.9:
            statuses.append(http("GET", url(port, "/health"))[0])
            time.sleep(0.02)
        assert statuses[0] == 500, "the fault starts in its 'on' phase"
        flips = sum(a != b for a, b in zip(statuses, statuses[1:]))
        assert set(statuses) == {200, 500} and 3 <= flips <= 8, statuses


def _send_and_time(sock, req):
    """Sends `req` on a connected socket; returns (status, seconds until the response
    head arrived)."""
    t0 = time.monotonic()
    sock.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ")[1]), time.monotonic() - t0


def test_capacity_model():
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "*", "capacity": {"concurrency": 2, "service_ms": 50}})
        # Connect first, then send together, so the six arrivals are within a few ms.
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
        try:
            req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            results = parallel([lambda s=s: _send_and_time(s, req) for s in socks])
        finally:
            for s in socks:
                s.close()
        lat = sorted(r[1] for r in results)
        assert all(r[0] == 200 for r in results), results
        # Two servers, 50 ms each: done at ~50, 50, 100, 100, 150, 150 ms.
        assert lat[0] >= 0.045, lat
        assert 0.13 <= lat[-1] < 0.15 + SLACK + 0.1, lat
        assert lat[1] < lat[-1] - 0.05, f"requests must queue, not run together: {lat}"
        status, _, v = http_json("GET", url(port, "/_faults"))
        assert v["faults"][0]["capacity"] == {"concurrency": 2, "service_ms": 50}
        # Well past the burst the queue is empty again: one request takes one service time.
        time.sleep(0.2)
        status, _, _, dt = timed("GET", url(port, "/health"))
        assert status == 200 and 0.045 <= dt < 0.05 + SLACK, dt


def test_fault_hang():
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "/api/v1/agents", "hang": True})
        t0 = time.monotonic()
        try:
            http("GET", url(port, "/api/v1/agents"), timeout=0.5)
            raise AssertionError("a hung request must not be answered")
        except socket.timeout:
            pass
        assert time.monotonic() - t0 >= 0.5
        assert http("GET", url(port, "/health"))[0] == 200
        http("DELETE", url(port, "/_faults"))
        assert http("GET", url(port, "/api/v1/agents"))[0] == 200


def test_fault_input_errors():
    port = free_port()
    with demo_api(port):
        cases = [
            (b"{bad json", None),
            (b"[1,2]", None),
            (b'{"latency_ms": 5}', "endpoint"),
            (b'{"endpoint": "/x", "latncy_ms": 5}', "latncy_ms"),
            (b'{"endpoint": "/x", "error_rate": "high"}', "error_rate"),
            (b'{"endpoint": "/x", "error_rate": 1.5}', "error_rate"),
            (b'{"endpoint": "/x", "hang": 1}', "hang"),
            (b'{"endpoint": "x"}', "endpoint"),
            (b'{"endpoint": "/x", "pattern": "sometimes"}', "pattern"),
            (b'{"endpoint": "/x", "error_status": 99}', "error_status"),
            (b'{"endpoint": "*", "capacity": {"concurrency": 0, "service_ms": 1}}',
             "capacity.concurrency"),
            (b'{"endpoint": "*", "capacity": {"concurrency": 1}}', "capacity.service_ms"),
        ]
        for body, field in cases:
            status, _, raw_body = http("POST", url(port, "/_faults"), body=body)
            v = json.loads(raw_body)
            assert status == 400 and v["error"] and v["field"] == field, (body, status, v)
        status, _, v = http_json("GET", url(port, "/_faults"))
        assert status == 200 and v == {"faults": []}
        status, _, _ = http("POST", url(port, "/_faults"), body=b"{" + b" " * 70000 + b"}")
        assert status == 413


def test_malformed_requests():
    port = free_port()
    with demo_api(port):
        for req, want in [
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
            (b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n", 413),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ]:
            t0 = time.monotonic()
            data = raw(port, req, timeout=5)
            assert time.monotonic() - t0 < 4, f"no close after a bad request: {req[:40]!r}"
            resps = parse_responses(data)
            assert len(resps) == 1 and resps[0][0] == want, (req[:60], data[:200])
            assert resps[0][1].get("connection") == "close"
        # A request that stops mid-head is simply closed once the client half-closes.
        assert raw(port, b"GET / HTTP/1.1\r\nHo", shutdown_write=True, timeout=3) == b""
        assert http("GET", url(port, "/health"))[0] == 200


def test_engine_refusals():
    """The demo API runs on the shared HTTP server engine: its refusals apply here too."""
    port = free_port()
    with demo_api(port):
        for req, want in [
            (b"GET /health HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
            (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n", 501),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
             b"0\r\n\r\n", 501),
            (b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 405),
        ]:
            resps = parse_responses(raw(port, req, timeout=5))
            assert len(resps) == 1 and resps[0][0] == want, (req[:50], resps)
            assert resps[0][1].get("connection") == "close"
        assert http("GET", url(port, "/health"))[0] == 200


def test_workers_share_faults():
    port = free_port()
    with demo_api(port, workers=3, latency_scale=0):
        post_fault(port, {"endpoint": "/api/v1/agents", "error_rate": 1, "error_status": 502})
        # New connections are spread over the workers by SO_REUSEPORT.
        statuses = [http("GET", url(port, "/api/v1/agents"))[0] for _ in range(scaled(30, 12))]
        assert set(statuses) == {502}, statuses
        http("DELETE", url(port, "/_faults"))
        wait_until(lambda: all(http("GET", url(port, "/api/v1/agents"))[0] == 200
                               for _ in range(12)), timeout=5, what="faults cleared")
        n = scaled(300, 60)
        ok = parallel([lambda: sum(http("GET", url(port, "/"))[0] == 200
                                   for _ in range(n // 6))] * 6)
        assert sum(ok) == (n // 6) * 6


POOL = "/api/v1/monitoring/agents/pool"
AGENTS_CONFIG = "/api/v1/system/agents/config"
CLEANUP = "/api/v1/system/agents/coordination/cleanup"
SETTINGS = ("max_coalition_size", "coordination_timeout_ms", "parallel_execution")


def _settings(v):
    return {k: v[k] for k in SETTINGS}


def test_agent_pool_and_config():
    port = free_port()
    # Three workers: a setting made through one is seen through every other.
    with demo_api(port, workers=3, latency_scale=0):
        status, h, v = http_json("GET", url(port, POOL))
        assert status == 200 and h.get("Content-Type") == "application/json", (status, v)
        assert (v["pool_size"], v["active"], v["idle"], v["queued"], v["coordinations"]) == \
            (16, 0, 16, 0, 0), v
        assert _settings(v) == {"max_coalition_size": 10, "coordination_timeout_ms": 30000,
                                "parallel_execution": False}, v
        status, h, body = http("HEAD", url(port, POOL))
        assert status == 200 and body == b"" and int(h.get("Content-Length")) > 100
        # The runbook's change, then a partial one: each answer has all three settings.
        status, _, v = http_json("PUT", url(port, AGENTS_CONFIG), {
            "max_coalition_size": 5, "coordination_timeout_ms": 5000, "parallel_execution": True})
        want = {"max_coalition_size": 5, "coordination_timeout_ms": 5000,
                "parallel_execution": True}
        assert status == 200 and v == {"status": "ok", "config": want}, (status, v)
        status, _, v = http_json("PUT", url(port, AGENTS_CONFIG), {"coordination_timeout_ms": 7})
        want["coordination_timeout_ms"] = 7
        assert status == 200 and v["config"] == want, v
        for _ in range(scaled(9, 6)):  # new connections, spread over the workers
            status, _, v = http_json("GET", url(port, POOL))
            assert status == 200 and _settings(v) == want, v
        # Bad bodies: 400 naming the field, and nothing changed (not even the valid part).
        for body, field in [
            (b"", None),
            (b"{bad json", None),
            (b'["max_coalition_size"]', None),
            (b'{"max_coalition_size": 0}', "max_coalition_size"),
            (b'{"max_coalition_size": 101}', "max_coalition_size"),
            (b'{"max_coalition_size": "5"}', "max_coalition_size"),
            (b'{"coordination_timeout_ms": 600001}', "coordination_timeout_ms"),
            (b'{"coordination_timeout_ms": 2.5}', "coordination_timeout_ms"),
            (b'{"parallel_execution": "yes"}', "parallel_execution"),
            (b'{"max_coalition_size": 3, "parallelism": true}', "parallelism"),
        ]:
            status, _, raw_body = http("PUT", url(port, AGENTS_CONFIG), body=body,
                                       headers={"Content-Type": "application/json"})
            v = json.loads(raw_body)
            assert status == 400 and v["error"] and v["field"] == field, (body, status, v)
        assert _settings(http_json("GET", url(port, POOL))[2]) == want
        status, _, _ = http("PUT", url(port, AGENTS_CONFIG), body=b"{" + b" " * 70000 + b"}")
        assert status == 413
        # Each path takes only its own method.
        for method, path, allow in [("GET", AGENTS_CONFIG, "PUT"), ("POST", AGENTS_CONFIG, "PUT"),
                                    ("GET", CLEANUP, "POST"), ("PUT", CLEANUP, "POST"),
                                    ("POST", POOL, "GET, HEAD"), ("DELETE", POOL, "GET, HEAD")]:
            status, h, _ = http(method, url(port, path), body=b"{}")
            assert status == 405 and h.get("Allow") == allow, (method, path, status)
        assert http("GET", url(port, "/api/v1/monitoring/agents"))[0] == 404


def test_agent_cleanup_counts():
    port = free_port()
    with demo_api(port, latency_scale=0):
        agents = url(port, "/api/v1/agents")
        # Every agent request now takes 30 ms: over a 10 ms coordination timeout, each one
        # is a stuck coordination; under the default 30 s, none is.
        post_fault(port, {"endpoint": "/api/v1/agents", "latency_ms": 30})
        assert http("PUT", url(port, AGENTS_CONFIG), {"coordination_timeout_ms": 10})[0] == 200
        for _ in range(5):
            assert http("GET", agents)[0] == 200
        status, _, v = http_json("GET", url(port, POOL))
        assert (v["coordinations_total"], v["stale_coordinations"], v["coordinations"]) == \
            (5, 5, 0), v
        status, _, v = http_json("POST", url(port, CLEANUP))
        assert status == 200 and v == {"status": "ok", "cleaned": 5, "remaining": 0}, v
        assert http_json("POST", url(port, CLEANUP))[2]["cleaned"] == 0
        assert http("PUT", url(port, AGENTS_CONFIG), {"coordination_timeout_ms": 30000})[0] == 200
        http("DELETE", url(port, "/_faults"))
        # Fast ones: only the 50th coordination of the run gets stuck.
        for _ in range(44):
            assert http("GET", agents)[0] == 200
        assert http_json("GET", url(port, POOL))[2]["stale_coordinations"] == 0
        assert http("GET", agents)[0] == 200
        status, _, v = http_json("GET", url(port, POOL))
        assert (v["coordinations_total"], v["stale_coordinations"], v["cleaned_total"]) == \
            (50, 1, 5), v
        # A hung agent request is stuck and in progress until its client leaves; the
        # cleanup clears it from the stuck count and reports it as still in progress.
        post_fault(port, {"endpoint": "/api/v1/agents", "hang": True})
        hung = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            hung.sendall(b"GET /api/v1/agents HTTP/1.1\r\nHost: x\r\n\r\n")
            def in_progress():
                v = http_json("GET", url(port, POOL))[2]
                return v if v["coordinations"] == 1 else None
            v = wait_until(in_progress, timeout=5, what="one in progress")
            assert (v["active"], v["idle"], v["queued"], v["stale_coordinations"]) == \
                (10, 6, 0, 2), v
            status, _, v = http_json("POST", url(port, CLEANUP))
            assert v == {"status": "ok", "cleaned": 2, "remaining": 1}, v
        finally:
            hung.close()
        wait_until(lambda: http_json("GET", url(port, POOL))[2]["coordinations"] == 0,
                   timeout=5, what="the hung coordination ends with its client")


def test_agent_paths_are_never_faulted():
    port = free_port()
    with demo_api(port, latency_scale=0):
        for ep in ("*", "/api/v1"):
            post_fault(port, {"endpoint": ep, "error_rate": 1, "error_status": 503,
                              "latency_ms": 2000})
        assert http("GET", url(port, "/api/v1/agents"), timeout=10)[0] == 503
        for method, path, body in [("GET", POOL, None),
                                   ("PUT", AGENTS_CONFIG, {"parallel_execution": True}),
                                   ("POST", CLEANUP, None)]:
            status, _, _, dt = timed(method, url(port, path), body=body)
            assert status == 200 and dt < 1.0, (path, status, dt)


def test_sigterm_clean_exit():
    port = free_port()
    p = demo_api(port)
    try:
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        idle.recv(1000)
        post_fault(port, {"endpoint": "/sleep", "hang": True})
        hung = socket.create_connection(("127.0.0.1", port), timeout=5)
        hung.sendall(b"GET /sleep/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        code = p.wait_exit(timeout=10)
        assert code == 0, code
        idle.close()
        hung.close()
    finally:
        p.stop()
        if p.returncode != 0:
            p.print_log_tail()
        p._cleanup()


if __name__ == "__main__":
    run_tests()
