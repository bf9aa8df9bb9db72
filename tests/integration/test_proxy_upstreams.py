# SPDX-License-Identifier: MIT
"""Upstream side of the gateway: dead, hanging and misbehaving servers (502/504, no hung
client), retries of failed connects, load balancing (round_robin with weights,
least_conn, p2c_ewma), active health checks (rise/fall) and passive ejection."""
import collections
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub


def get(port, path, timeout=10):
    out = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
              timeout=timeout)
    return parse_responses(out)[0] if out else (None, {}, b"")


def dead_port():
    """A loopback port with nothing listening (connect is refused)."""
    return free_port()


def test_killed_upstream_gives_502_and_no_hung_client():
    port, admin = free_port(), free_port()
    s = Stub()
    with gateway(port, admin, [s.addr()]):
        assert get(port, "/id")[2] == b"stub"
        results = []
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            t0 = time.monotonic()
            s.stop()  # the server dies with the request in flight
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            results.append((buf, time.monotonic() - t0))
        buf, took = results[0]
        assert buf.startswith(b"HTTP/1.1 502"), buf
        assert took < 2, took
        # and with nothing listening at all: refused connects, 502 at once
        t0 = time.monotonic()
        st, h, body = get(port, "/id")
        assert st == 502 and b"error" in body and time.monotonic() - t0 < 2, (st, body)


def test_hanging_upstream_gives_504_at_deadline():
    port, admin = free_port(), free_port()
    with Stub() as s:
        cfg = f"""
timeouts: {{ default: 1s, critical: 3s }}
upstreams: [ {{ name: api, servers: ["{s.addr()}"] }} ]
routes: [ {{ name: slow, path: "/sleep/:ms", class: critical }} ]
"""
        with gateway(port, admin, [], config=cfg):
            t0 = time.monotonic()
            st, _, body = get(port, "/hang")
            took = time.monotonic() - t0
            assert st == 504, (st, body)
            assert 0.95 <= took < 1.8, took
            # class critical gets the longer deadline
            st, _, body = get(port, "/sleep/1500")
            assert st == 200 and body == b"slept", (st, body)


def test_reset_mid_body_closes_client():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        t0 = time.monotonic()
        out = raw(port, b"GET /reset-mid-body HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"0123456789"), out
        assert time.monotonic() - t0 < 2  # closed, not left hanging
        # the gateway is fine afterwards
        assert get(port, "/id")[2] == b"stub"


def test_connect_failure_retried_on_next_server():
    port, admin = free_port(), free_port()
    with Stub("live") as s:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    passive: {{ failures: 0 }}
    servers: ["127.0.0.1:{dead_port()}", "{s.addr()}"]
"""
        with gateway(port, admin, [], config=cfg):
            for _ in range(10):
                st, _, body = get(port, "/id")
                assert (st, body) == (200, b"live"), (st, body)


def distribution(port, n, path="/id"):
    return collections.Counter(get(port, path)[2] for _ in range(n))


def test_round_robin_with_weights():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b, Stub("c") as c:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    balance: round_robin
    servers: ["{a.addr()}", {{ address: "{b.addr()}", weight: 2 }}, "{c.addr()}"]
"""
        with gateway(port, admin, [], config=cfg):
            d = distribution(port, 40)
            assert d == {b"a": 10, b"b": 20, b"c": 10}, d


def test_least_conn_prefers_idle_server():
    port, admin = free_port(), free_port()
    with Stub("slow", delay=0.4) as a, Stub("fast") as b:
        cfg = f"""
workers: 1
upstreams:
  - {{ name: api, balance: least_conn, servers: ["{a.addr()}", "{b.addr()}"] }}
"""
        with gateway(port, admin, [], config=cfg):
            # Four clients in parallel, each sending requests back to back: the slow server
            # holds its requests longer, so least_conn keeps sending the rest to "fast".
            def client():
                return [get(port, "/id")[2] for _ in range(6)]
            res = collections.Counter(x for r in parallel([client] * 4) for x in r)
            assert res[b"fast"] >= 2 * res[b"slow"], res


def test_p2c_ewma_prefers_fast_server():
    port, admin = free_port(), free_port()
    with Stub("slow", delay=0.05) as a, Stub("fast") as b:
        cfg = f"""
workers: 1
upstreams:
  - {{ name: api, balance: p2c_ewma, servers: ["{a.addr()}", "{b.addr()}"] }}
"""
        with gateway(port, admin, [], config=cfg):
            d = distribution(port, 60)
            assert d[b"fast"] >= 50, d


def test_active_health_checks_rise_and_fall():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    servers: ["{a.addr()}", "{b.addr()}"]
    health_check: {{ path: /health, interval: 200ms, timeout: 100ms, rise: 2, fall: 2 }}
"""
        with gateway(port, admin, [], config=cfg):
            assert set(distribution(port, 10)) == {b"a", b"b"}
            b.healthy = False
            time.sleep(0.8)  # two failed checks at 200 ms
            assert distribution(port, 10) == {b"a": 10}
            b.healthy = True
            time.sleep(0.8)
            assert set(distribution(port, 10)) == {b"a", b"b"}
            # every server down: /health on the admin port says so, requests get 502
            a.healthy = b.healthy = False
            wait_until(lambda: http("GET", f"http://127.0.0.1:{admin}/health")[0] == 503,
                       timeout=3, what="admin /health to turn 503")
            assert get(port, "/id")[0] == 502


def test_passive_ejection():
    port, admin = free_port(), free_port()
    with Stub("good") as a, Stub("bad") as b:
        b.drop = True
        cfg = f"""
workers: 1
upstreams:
  - name: api
    servers: ["{a.addr()}", "{b.addr()}"]
    passive: {{ failures: 2, eject_time: 1s, slow_start: 0s }}
"""
        with gateway(port, admin, [], config=cfg):
            # GET is idempotent: each request "bad" drops is retried on "good"; after two
            # failures "bad" is ejected and gets no more connections.
            statuses = [get(port, "/id")[0] for _ in range(8)]
            assert statuses == [200] * 8, statuses
            assert b.connections == 2, b.connections
            seen = b.connections
            assert all(get(port, "/id")[2] == b"good" for _ in range(6))
            assert b.connections == seen
            b.drop = False
            time.sleep(1.2)  # ejection over
            assert b"bad" in distribution(port, 6)
            # a POST is not retried: a dropped one is a 502
            b.drop = True
            posts = [http("POST", f"http://127.0.0.1:{port}/id", body=b"x")[0]
                     for _ in range(4)]
            assert 502 in posts and 200 in posts, posts



def test_retry_after_a_stale_pooled_connection_sends_the_request():
    # The upstream closes a reused keep-alive connection without answering. The retry
    # used to open a new connection and send nothing, so the client waited for the whole
    # route timeout and got a 504 charged to the server.
    port, admin = free_port(), free_port()
    cfg = "timeouts: { default: 5s }\nworkers: 1\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            for path, want in (("/id", b"stub"), ("/close-if-reused", b"fresh")):
                t0 = time.monotonic()
                c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                buf = b""
                while not buf.endswith(want):
                    d = c.recv(4096)
                    assert d, buf
                    buf += d
                assert buf.startswith(b"HTTP/1.1 200"), buf
                assert time.monotonic() - t0 < 2
        # a path that fails on every connection: 502 at once, not a 504 at the deadline
        assert get(port, "/id")[0] == 200
        t0 = time.monotonic()
        assert get(port, "/close")[0] == 502
        assert time.monotonic() - t0 < 2


def test_passing_health_check_ends_passive_ejection():
    # A server ejected for failing requests stayed out for the whole eject_time even once
    # its health checks passed again.
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b:
        cfg = f"""
workers: 1
upstreams:
  - name: api
    servers: ["{a.addr()}", "{b.addr()}"]
    passive: {{ failures: 1, eject_time: 60s }}
    health_check: {{ path: /health, interval: 300ms, timeout: 200ms, rise: 1, fall: 3 }}
"""
        with gateway(port, admin, [], config=cfg) as g:
            b.drop = True
            for _ in range(4):
                get(port, "/id")
            wait_until(lambda: "server-ejected" in g.log(), timeout=3, what="ejection")
            b.drop = False
            wait_until(lambda: b"b" in distribution(port, 4), timeout=3,
                       what="b serving again after a passing check")
            assert "server-readmitted" in g.log()


if __name__ == "__main__":
    run_tests()
