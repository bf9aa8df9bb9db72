# SPDX-License-Identifier: MIT
"""The admin listener as an HTTP/1 server (it runs on the shared server engine): pipelined
requests all answered in order, HTTP/1.1 without Host refused, its own small limits (256
connections, 10 s header timeout, 16 KiB heads, 1 MiB bodies) evicting, cutting or
refusing idle, slow and extra connections while normal clients still get answers, and
the admin conventions (JSON errors, Cache-Control: no-store, HEAD) on the engine's own
refusals too."""
import json
import os
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

CAP = 256             # the admin listener's connection cap
REFUSING = CAP // 4 + 16  # refused connections still closing (lingering) at most
HEADER_TIMEOUT = 10   # seconds


def _fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _recv_now(s, wait=0.0):
    """What `s` has received within `wait` seconds (b"" at EOF, None if nothing yet)."""
    s.settimeout(wait if wait else 0.001)
    try:
        return s.recv(65536)
    except (socket.timeout, BlockingIOError):
        return None
    except ConnectionResetError:
        return b""


def test_pipelined_requests_all_answered_in_order():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]):
        paths = ["/health" if i % 3 else "/nope" for i in range(100)]
        reqs = b"".join(f"GET {p} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for p in paths[:-1])
        reqs += f"GET {paths[-1]} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
        t0 = time.monotonic()
        data = raw(admin, reqs, timeout=10)
        elapsed = time.monotonic() - t0
        statuses = [r[0] for r in parse_responses(data)]
        assert statuses == [200 if p == "/health" else 404 for p in paths], \
            f"{len(statuses)} answers: {statuses}"
        assert elapsed < 5, f"the connection was not closed after the last answer ({elapsed:.1f}s)"


def test_http11_without_host_is_400():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]):
        t0 = time.monotonic()
        resps = parse_responses(raw(admin, b"GET /health HTTP/1.1\r\n\r\n", timeout=5))
        assert time.monotonic() - t0 < 4, "no close after the 400"
        assert len(resps) == 1 and resps[0][0] == 400, resps
        st, h, body = resps[0]
        assert h["connection"] == "close" and h["cache-control"] == "no-store", h
        assert json.loads(body) == {"error": "missing host header", "field": None}, body
        # HTTP/1.0 needs no Host.
        resps = parse_responses(raw(admin, b"GET /health HTTP/1.0\r\n\r\n", timeout=5))
        assert [r[0] for r in resps] == [200], resps


def test_engine_refusals_keep_admin_conventions():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]):
        cases = [
            (b"GET /health HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 17000 + b"\r\n\r\n", 431),
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
            (b"POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413),
            (b"POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 501),
        ]
        for req, want in cases:
            resps = parse_responses(raw(admin, req, timeout=5))
            assert len(resps) == 1 and resps[0][0] == want, (want, resps)
            h, body = resps[0][1], json.loads(resps[0][2])
            assert h["cache-control"] == "no-store" and h["connection"] == "close", h
            assert body["error"] and body["field"] is None, body
        # A body within the limit is read, and the route still decides (405 here).
        st, _, v = http_json("POST", f"http://127.0.0.1:{admin}/health", {"x": "y" * 100000})
        assert st == 405 and v["error"], (st, v)
        # HEAD: the head only, with the length of the body it would have had.
        resps = parse_responses(raw(admin, b"HEAD /health HTTP/1.1\r\nHost: a\r\n"
                                           b"Connection: close\r\n\r\n"), head_requests=(0,))
        assert resps[0][0] == 200 and resps[0][2] == b"", resps
        assert resps[0][1]["content-length"] == str(len(b'{"status":"ok"}\n'))
        # every refusal is counted where an operator can see it
        _, _, text = http("GET", f"http://127.0.0.1:{admin}/metrics")
        counts = {}
        for line in text.decode().splitlines():
            if line.startswith("tailguard_admin_refused_requests_total{"):
                counts[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
        assert all(counts[str(want)] == 1 for _, want in cases), counts


def test_idle_flood_does_not_lock_out_clients():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]) as g:
        base = _fds(g.pid)
        idle = []
        try:
            for _ in range(CAP + 44):
                idle.append(socket.create_connection(("127.0.0.1", admin), timeout=5))
            time.sleep(1.2)
            # Connections idle for a second or more make room for a client with a request.
            for _ in range(3):
                st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/health")
                assert st == 200 and v == {"status": "ok"}, (st, v)
            assert _fds(g.pid) - base <= CAP + REFUSING + 8, _fds(g.pid) - base
            wait_until(lambda: _fds(g.pid) - base <= CAP + 8, timeout=5,
                       what="refused connections closed")
        finally:
            for s in idle:
                s.close()


def test_slow_heads_lose_their_place_and_are_cut():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]) as g:
        base = _fds(g.pid)
        n = CAP + 44
        slow = []
        try:
            t0 = time.monotonic()
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", admin), timeout=5)
                s.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\n")  # never finished
                slow.append(s)
            time.sleep(0.5)
            # Past the cap, each new connection took the place of the slowest head.
            first = [_recv_now(s) for s in slow]
            closed = [d for d in first if d == b""]
            held = [s for s, d in zip(slow, first) if d is None]
            assert len(closed) == n - CAP and len(held) == CAP, (len(closed), len(held))
            assert _fds(g.pid) - base <= CAP + 8, _fds(g.pid) - base
            # A normal client is answered at once, in the place of one more of them.
            t1 = time.monotonic()
            st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/health")
            assert (st, v) == (200, {"status": "ok"}) and time.monotonic() - t1 < 2, (st, v)
            # The header timeout cuts the others with a 408.
            cut = [_recv_now(s, wait=HEADER_TIMEOUT + 5) for s in held]
            assert time.monotonic() - t0 >= HEADER_TIMEOUT - 1
            timed_out = [d for d in cut if d and d.startswith(b"HTTP/1.1 408 ")]
            assert len(timed_out) == CAP - 1 and cut.count(b"") == 1, \
                (len(timed_out), cut.count(b""), [d for d in cut if d][:1])
            wait_until(lambda: _fds(g.pid) - base <= 8, timeout=5, what="descriptors released")
        finally:
            for s in slow:
                s.close()


if __name__ == "__main__":
    run_tests()
