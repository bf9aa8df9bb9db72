# SPDX-License-Identifier: MIT
"""Gateway data path, the happy side: zero-config start, keep-alive on both sides with
pooling, pipelining, HTTP/1.0 clients, header rewriting, body framing pass-through,
Expect: 100-continue, WebSocket-style upgrade tunnelling, and routing to upstreams."""
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub


def test_zero_config_proxies_to_demo_api():
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0), gateway(port, admin, [api_port]):
        st, hdrs, body = http("GET", f"http://127.0.0.1:{port}/api/products")
        assert st == 200, st
        assert b"products" in body
        assert hdrs.get("via", "").endswith("1.1 tailguard"), hdrs.get("via")
        st, _, body = http("GET", f"http://127.0.0.1:{admin}/health")
        assert st == 200 and b'"ok"' in body, (st, body)


def test_keepalive_both_sides_reuses_one_upstream_connection():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()], "--workers", "1"):
        reqs = b"".join(b"GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20))
        out = b""
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            for i in range(20):  # sequential: one request, one response
                c.sendall(b"GET /n%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
                buf = b""
                while b"ok" not in buf:
                    buf += c.recv(4096)
                out += buf
        assert out.count(b"HTTP/1.1 200") == 20
        assert s.connections == 1, f"upstream saw {s.connections} connections"
        del reqs


def test_pipelined_requests_answered_in_order():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        data = (b"GET /sleep/50 HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resp = parse_responses(raw(port, data))
        assert [r[2] for r in resp] == [b"slept", b"stub", b"hello world", b"ok"], resp


def test_http10_client():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        out = raw(port, b"GET /id HTTP/1.0\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200"), out
        assert b"connection: close" in out.lower() and out.endswith(b"stub"), out
        # keep-alive on request, and a chunked upstream answer de-chunked for 1.0
        out = raw(port, b"GET /id HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                        b"GET /chunked HTTP/1.0\r\n\r\n")
        first, rest = out.split(b"stub", 1)
        assert b"keep-alive" in first.lower(), out
        assert b"transfer-encoding" not in rest.lower() and rest.endswith(b"hello world"), out


def test_header_rewriting():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        st, hdrs, body = http("GET", f"http://127.0.0.1:{port}/headers", headers={
            "Connection": "keep-alive, X-Secret",
            "X-Secret": "drop me",
            "Keep-Alive": "timeout=5",
            "Proxy-Connection": "keep-alive",
            "TE": "trailers",
            "X-Forwarded-For": "10.1.1.1",
            "X-Forwarded-Proto": "https",
            "Via": "1.0 edge",
        })
        head = body.decode().lower()
        assert st == 200
        for gone in ("x-secret", "keep-alive:", "proxy-connection", "\r\nte:", "https"):
            assert gone not in head, (gone, head)
        assert "x-forwarded-for: 10.1.1.1, 127.0.0.1\r\n" in head, head
        assert "x-forwarded-proto: http\r\n" in head, head
        assert "via: 1.0 edge, 1.1 tailguard\r\n" in head, head
        rid = [line for line in head.split("\r\n") if line.startswith("x-request-id:")]
        assert len(rid) == 1 and len(rid[0].split(":")[1].strip()) == 32, rid
        assert hdrs.get("x-request-id") == rid[0].split(":")[1].strip()
        # a client's request id is kept
        st, hdrs, body = http("GET", f"http://127.0.0.1:{port}/headers",
                              headers={"X-Request-Id": "abc-123"})
        assert b"X-Request-Id: abc-123\r\n" in body and hdrs.get("x-request-id") == "abc-123"
        # "Connection: content-length" must not strip framing
        out = raw(port, b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: content-length, close\r\n"
                        b"Content-Length: 3\r\n\r\nabc")
        assert out.startswith(b"HTTP/1.1 200") and b"\r\n\r\n3 " in out, out


def test_framing_passthrough():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        out = raw(port, b"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        (st, h, body), = parse_responses(out)
        assert h.get("transfer-encoding") == "chunked" and body == b"hello world", out
        out = raw(port, b"GET /eof HTTP/1.1\r\nHost: x\r\n\r\n")
        assert out.endswith(b"until-close") and b"connection: close" in out.lower(), out
        out = raw(port, b"HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /id HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
        resp = parse_responses(out, head_requests=(0,))
        assert [r[0] for r in resp] == [200, 200] and resp[1][2] == b"stub", out
        # chunked request body with extensions and a trailer reaches the upstream intact
        out = raw(port, b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        b"Connection: close\r\n\r\n3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n")
        assert b"\r\n\r\n5 " in out, out


def test_expect_100_continue():
    api_port, port, admin = free_port(), free_port(), free_port()
    with demo_api(api_port, latency_scale=0), gateway(port, admin, [api_port]):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            first = c.recv(4096)
            assert first.startswith(b"HTTP/1.1 100"), first
            c.sendall(b"hello")
            buf = first
            while b'"body_bytes"' not in buf:
                d = c.recv(65536)
                assert d, buf
                buf += d
            assert b"hello" in buf, buf


def test_upgrade_is_tunnelled():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\n\r\n")
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += c.recv(4096)
            assert buf.startswith(b"HTTP/1.1 101"), buf
            assert b"upgrade" in buf.lower()
            for msg in (b"ping-1", b"\x00\xff binary \r\n\r\n", b"x" * 100000):
                c.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += c.recv(65536)
                assert got == msg


def test_routes_pick_upstreams():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b, Stub("c") as c:
        cfg = f"""
upstreams:
  - {{ name: main, servers: ["{a.addr()}"] }}
  - {{ name: products, servers: ["{b.addr()}"] }}
  - {{ name: writes, servers: ["{c.addr()}"] }}
default_upstream: main
routes:
  - {{ name: product, methods: [GET], path: "/api/products/:id/*", upstream: products }}
  - {{ name: product_exact, methods: [GET], path: "/api/products/:id", upstream: products }}
  - {{ name: create, methods: [POST], prefix: "/api/", upstream: writes }}
"""
        with gateway(port, admin, [], config=cfg):
            def who(method, path):
                out = raw(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                                f"Connection: close\r\nContent-Length: 0\r\n\r\n".encode())
                return out.split(b"\r\n\r\n", 1)[1]
            # the stub answers its name for paths ending in /id
            assert who("GET", "/api/products/7/id") == b"b"
            assert who("POST", "/api/products/7/id") == b"c"
            assert who("GET", "/other/id") == b"a"
            assert who("GET", "/api/products/id") == b"b"  # ":id" matched the literal "id"
            assert who("DELETE", "/api/products/7/id") == b"a"  # no route: default upstream
            assert (a.requests, b.requests, c.requests) == (2, 2, 1)


if __name__ == "__main__":
    run_tests()
