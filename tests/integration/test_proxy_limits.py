# SPDX-License-Identifier: MIT
"""Request smuggling defences and client-side limits: every ambiguous or malformed request
is answered 400 and the connection closed, without the upstream seeing it; oversize heads
get 431, oversize bodies 413, slow heads 408, idle keep-alive connections are closed, and
the connection limit turns new clients away with 503."""
import os
import socket
import threading
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

SMUGGLING = {
    "conflicting content-length":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "content-length list disagreeing":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd",
    "content-length with chunked":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
    "chunked not last":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "bad chunk size":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "chunk size overflow":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    "negative content-length":
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "obs-fold":
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n",
    "NUL in header value":
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "CR in header value":
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    "space before colon":
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
    "bare LF":
        b"GET / HTTP/1.1\nHost: x\n\n",
    "bad version":
        b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
    "HTTP/1.1 without Host":
        b"GET /id HTTP/1.1\r\nX-A: 1\r\n\r\n",
    "HTTP/1.0 with chunked":
        b"POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
}


def test_smuggling_attempts_get_400_and_close():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        for name, req in SMUGGLING.items():
            # A second, innocent request rides behind each attack: it must never be
            # answered, since the first one makes the framing untrustworthy.
            before = s.requests
            out = raw(port, req + b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
            if name == "HTTP/1.1 without Host":
                assert b"missing Host" in out, out
            assert out.startswith(b"HTTP/1.1 400 "), (name, out)
            assert out.count(b"HTTP/1.1") == 1, (name, out)
            assert b"connection: close" in out.lower(), (name, out)
            if name not in ("bad chunk size", "chunk size overflow"):
                assert s.requests == before, (name, "reached the upstream")


def test_connect_method_refused():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]):
        out = raw(port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 405"), out
        assert s.requests == 0


def test_header_too_large_431():
    port, admin = free_port(), free_port()
    cfg = "limits: { max_header_bytes: 4KiB, max_headers: 20 }\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 431"), out
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(25))
        out = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        assert out.startswith(b"HTTP/1.1 431"), out
        out = raw(port, b"GET /id HTTP/1.1\r\nHost: x\r\nX-Ok: " + b"a" * 3000 + b"\r\n"
                        b"Connection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200"), out


def test_body_too_large_413():
    port, admin = free_port(), free_port()
    cfg = "limits: { max_body_bytes: 1KiB }\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        out = raw(port, b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"a" * 2000)
        assert out.startswith(b"HTTP/1.1 413"), out
        chunks = b"".join(b"100\r\n" + b"b" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        out = raw(port, b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
        assert out.startswith(b"HTTP/1.1 413"), out
        out = raw(port, b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                        b"Connection: close\r\n\r\n" + b"a" * 1000)
        assert out.startswith(b"HTTP/1.1 200"), out


def test_slowloris_gets_408_at_header_timeout():
    port, admin = free_port(), free_port()
    cfg = "timeouts: { header: 1s, idle: 30s }\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        t0 = time.monotonic()
        pieces = [b"GET / HTTP/1.1\r\n", b"Host: x\r\n"] + [b"X-Slow: 1\r\n"] * 20
        out = b""
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            try:
                for p in pieces:  # a header line every 200 ms, never the end of the head
                    c.sendall(p)
                    time.sleep(0.2)
                    if time.monotonic() - t0 > 1.2:
                        break
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    out += d
                    if time.monotonic() - t0 > 8:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
        took = time.monotonic() - t0
        assert out.startswith(b"HTTP/1.1 408"), out
        assert 0.9 < took < 3.0, took
        # a connection that never sends a byte is closed silently after the header timeout
        t0 = time.monotonic()
        out = raw(port, b"", timeout=8)
        assert out == b"" and 0.9 < time.monotonic() - t0 < 3.0


def test_idle_keepalive_timeout_closes_quietly():
    port, admin = free_port(), free_port()
    cfg = "timeouts: { header: 5s, idle: 1s }\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n")
            buf = b""
            while not buf.endswith(b"stub"):
                buf += c.recv(4096)
            t0 = time.monotonic()
            assert c.recv(4096) == b""  # the gateway closes after the idle timeout
            assert 0.8 < time.monotonic() - t0 < 3.0


def test_connection_limit():
    port, admin = free_port(), free_port()
    cfg = "limits: { max_connections: 10 }\nworkers: 1\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        # The harness's readiness probe is a connection too: let it be closed first.
        time.sleep(0.3)
        held = []
        try:
            for _ in range(10):  # each one proven accepted and served, then left idle
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                held.append(c)
                c.sendall(b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n")
                buf = b""
                while not buf.endswith(b"stub"):
                    d = c.recv(4096)
                    assert d, buf
                    buf += d
            out = raw(port, b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
            assert out.startswith(b"HTTP/1.1 503"), out
        finally:
            for c in held:
                c.close()
        wait_until(lambda: raw(port, b"GET /id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                               timeout=2).endswith(b"stub"), what="a slot after closing")

        assert metric(admin, "tailguard_connections_refused_total") >= 1


def metric(admin, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
    _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_refused_requests_are_counted():
    # Requests the gateway refuses before routing used to leave no trace in /metrics.
    port, admin = free_port(), free_port()
    cfg = "timeouts: { header: 1s }\nlimits: { max_header_bytes: 2KiB }\n"
    cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         400, "bad_request", "GET"),
        (b"G\x01T / HTTP/1.1\r\n\r\n", 400, "bad_request", "OTHER"),
        (b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "missing_host", "GET"),
        (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long", "GET"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 3000 + b"\r\n\r\n", 431,
         "head_too_large", "GET"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
         "not_implemented", "POST"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version_not_supported", "GET"),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405, "method_not_allowed",
         "CONNECT"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 408, "header_timeout", "GET"),
    ]
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        for req, status, cause, method in cases:
            out = raw(port, req, timeout=5)
            assert out.startswith(b"HTTP/1.1 %d " % status), (req[:40], out[:60])
            assert b"connection: close" in out.lower(), out
        assert s.requests == 0
        time.sleep(1.3)  # the per-second aggregation
        for req, status, cause, method in cases:
            assert metric(admin, "http_requests_total", endpoint="(rejected)", method=method,
                          status=str(status)) >= 1, (status, method)
            assert metric(admin, "tailguard_request_causes_total", endpoint="(rejected)",
                          cause=cause) >= 1, cause
        assert metric(admin, "http_requests_total", endpoint="(rejected)") == len(cases)
        # the API's own figures leave refusals out (a slowloris flood is not a slow API);
        # the per-endpoint rows show them
        mon = "http://127.0.0.1:%d/api/v1/monitoring" % admin
        lat = http_json("GET", mon + "/metrics/latency")[2]
        assert lat["current"]["count"] == 0, lat["current"]
        rows = http_json("GET", mon + "/endpoints/stats")[2]["endpoints"]
        assert sum(r["requests"] for r in rows if r["endpoint"] == "(rejected)") == len(cases)


def test_slow_request_body_gets_408_and_frees_the_upstream():
    # A body dripped byte by byte used to hold an upstream connection for as long as the
    # client liked: now it is cut at timeouts.request_body / limits.min_request_body_rate.
    port, admin = free_port(), free_port()
    cfg = "timeouts: { request_body: 1s }\nlimits: { min_request_body_rate: 1KiB }\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg):
        t0 = time.monotonic()
        out = b""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            try:
                for _ in range(40):  # one byte every 0.25 s: 4 B/s
                    c.sendall(b"x")
                    time.sleep(0.25)
                    if time.monotonic() - t0 > 6:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    out += d
            except ConnectionResetError:
                pass
        took = time.monotonic() - t0
        assert out.startswith(b"HTTP/1.1 408"), out
        assert took < 5, took
        # the upstream saw its connection go
        wait_until(lambda: all(c.fileno() == -1 for c in s.conns), timeout=5,
                   what="the upstream connection closed")
        time.sleep(1.2)
        assert metric(admin, "tailguard_request_causes_total", cause="body_timeout") == 1
        # a body that is steady but slower overall than request_body is not cut
        body = b"y" * (192 * 1024)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            for i in range(0, len(body), 16 * 1024):  # 64 KiB/s for 3 s
                c.sendall(body[i:i + 16 * 1024])
                time.sleep(0.25)
            got = b""
            while True:
                d = c.recv(4096)
                if not d:
                    break
                got += d
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"%d " % len(body) +
                                                                 got.rsplit(b" ", 1)[1]), got


def test_expect_continue_wait_is_not_charged_to_the_client():
    # A client that asked for "100 Continue" waits for it before sending its body: that
    # wait is the upstream's, however slow, never a body timeout.
    port, admin = free_port(), free_port()
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    upstream = f"127.0.0.1:{lsock.getsockname()[1]}"

    def slow_continue():
        c, _ = lsock.accept()
        with c:
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += c.recv(4096)
            time.sleep(2.0)
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = buf.split(b"\r\n\r\n", 1)[1]
            while len(body) < 5:
                body += c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    t = threading.Thread(target=slow_continue, daemon=True)
    t.start()
    cfg = "timeouts: { request_body: 1s }\n"
    with gateway(port, admin, [upstream], config=cfg):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      b"Content-Length: 5\r\n\r\n")
            got = b""
            while b"\r\n\r\n" not in got:
                d = c.recv(4096)
                assert d, got
                got += d
            assert got.startswith(b"HTTP/1.1 100"), got
            c.sendall(b"hello")
            while not got.endswith(b"ok"):
                d = c.recv(4096)
                assert d, got
                got += d
        assert b"HTTP/1.1 200" in got, got
    lsock.close()


def test_out_of_file_descriptors_pauses_accept():
    # With no descriptor left, accept() fails and the connection stays queued: the
    # listener used to spin on it. Now accepting pauses, and it is counted.
    port, admin = free_port(), free_port()
    with Stub() as s:
        # prlimit (util-linux) execs the gateway with a hard limit of 64 descriptors
        argv = ["prlimit", "--nofile=64:64", BIN, "run", "--listen", f"127.0.0.1:{port}",
                "--admin", f"127.0.0.1:{admin}", "--upstream", s.addr(), "--workers", "1"]
        with Proc(argv, name="gateway-lowfd") as g:
            g.wait_port(admin)
            held = []
            try:
                for _ in range(80):
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                time.sleep(0.5)
                cpu0 = _cpu_seconds(g.pid)
                time.sleep(2)
                busy = _cpu_seconds(g.pid) - cpu0
                assert busy < 0.5, f"{busy:.2f} s of CPU in 2 s: the accept loop spins"
            finally:
                for c in held:
                    c.close()
            # descriptors free again: the queued and new connections are served (the admin
            # listener shares the process's descriptors, so it is read only now)
            wait_until(lambda: raw(port, b"GET /id HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n", timeout=2)
                       .endswith(b"stub"), timeout=10, what="serving again")
            errors = metric(admin, "tailguard_accept_errors_total")
            assert 1 <= errors < 200, errors


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    run_tests()
