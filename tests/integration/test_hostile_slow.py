# SPDX-License-Identifier: MIT
"""Slow clients (slowloris): a head dripped one byte per second gets 408 at
timeouts.header; a request body dripped too slowly gets 408 under timeouts.request_body
(the longest gap between two reads of a body the gateway is ready to read, and the initial
budget) and limits.min_request_body_rate (after that budget, the least average rate), the
backend connection is closed and the refusal counted. A body that is steady and fast
enough is never cut however long it takes, and a body the gateway is not reading because
the backend is slow (backpressure) is not the client's fault."""
import socket
import time

from tgtest import *  # noqa: F401,F403
from evil_backend import EvilBackend, Reply
from hostile_client import metric_sum, scrape, split_responses

BODY_CFG = """workers: 1
timeouts: { header: 5s, request_body: 1s }
limits: { min_request_body_rate: 1KiB }
"""


def read_until_close(c, deadline):
    """Reads until close, reset or `deadline`; returns (bytes, closed, time of first byte)."""
    buf, first = b"", None
    while time.monotonic() < deadline:
        c.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = c.recv(65536)
        except socket.timeout:
            return buf, False, first
        except ConnectionResetError:
            return buf, True, first
        if not d:
            return buf, True, first
        first = first or time.monotonic()
        buf += d
    return buf, False, first


def read_response(c, deadline):
    """Reads until one complete final response, the close, or `deadline`."""
    buf = b""
    while time.monotonic() < deadline:
        c.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = c.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not d:
            break
        buf += d
        resp, complete = split_responses(buf)
        if complete and any(r.status >= 200 for r in resp):
            break
    return buf


def drip(c, data, every, until):
    """Sends `data` one byte every `every` seconds until the peer answers or `until`.
    Returns (answer bytes, closed, when the answer started) ."""
    for i in range(len(data)):
        if time.monotonic() > until:
            break
        try:
            c.sendall(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            break
        c.settimeout(every)
        try:
            d = c.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return b"", True, time.monotonic()
        if not d:
            return b"", True, time.monotonic()
        t = time.monotonic()
        rest, closed, _ = read_until_close(c, time.monotonic() + 3)
        return d + rest, closed, t
    return read_until_close(c, until)


def counted(admin, before, **labels):
    """Waits until /metrics shows the counters in `labels` grown by one; returns deltas."""
    want = {k: v for k, v in labels.items()}
    got = {}

    def check():
        now = scrape(admin)
        for (name, lab) in want.items():
            got[name] = metric_sum(now, name, **lab) - metric_sum(before, name, **lab)
        return all(v >= 1 for v in got.values())
    try:
        wait_until(check, timeout=4, what="counters")
    except AssertionError:
        raise AssertionError(f"refusal not counted: {got}") from None


def test_head_dripped_byte_by_byte_gets_408():
    port, admin = free_port(), free_port()
    cfg = "workers: 1\ntimeouts: { header: 1s, idle: 30s }\n"
    with EvilBackend() as be, gateway(port, admin, [be.addr()], config=cfg):
        before = scrape(admin)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            t0 = time.monotonic()
            out, closed, t = drip(c, b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: yyyy\r\n\r\n", 1.0,
                                  t0 + 8)
        print(f"    answer after {(t or t0) - t0:.2f}s: {out[:40]!r}, closed={closed}", flush=True)
        assert out.startswith(b"HTTP/1.1 408"), out
        assert closed, "connection left open after 408"
        assert 0.9 <= t - t0 <= 2.5, f"408 after {t - t0:.2f}s, timeouts.header is 1s"
        assert be.total_bytes() == 0, be.received()
        counted(admin, before, http_requests_total={"endpoint": "(rejected)", "status": 408},
                tailguard_request_causes_total={"endpoint": "(rejected)",
                                                "cause": "header_timeout"})


def body_exchange(port, head, body_pieces, every, limit):
    """Sends `head`, then each piece of `body_pieces` `every` seconds until an answer
    arrives. Returns (answer, closed, seconds from the head to the answer or None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(head)
        t0 = time.monotonic()
        for p in body_pieces:
            c.settimeout(every)
            try:
                d = c.recv(65536)
            except socket.timeout:
                d = None
            except ConnectionResetError:
                return b"", True, time.monotonic() - t0
            if d is not None:
                rest, closed, _ = read_until_close(c, time.monotonic() + 3)
                return d + rest, closed or d == b"", time.monotonic() - t0
            if time.monotonic() - t0 > limit:
                break
            try:
                c.sendall(p)
            except (BrokenPipeError, ConnectionResetError):
                break
        t = time.monotonic()
        out, closed, first = read_until_close(c, t + 3)
        return out, closed, ((first or t) - t0) if out else None


def assert_backend_released(be):
    for c in be.conns:
        if c.received:
            assert c.closed.wait(3), ("backend connection still open after the 408",
                                      bytes(c.received[:200]))


def test_dripped_body_gets_408_under_min_rate():
    """One byte every 0.5 s: no gap reaches timeouts.request_body (1 s), but after that
    initial budget the rate is far below limits.min_request_body_rate (1 KiB/s)."""
    port, admin = free_port(), free_port()
    with EvilBackend() as be, gateway(port, admin, [be.addr()], config=BODY_CFG):
        before = scrape(admin)
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        out, closed, took = body_exchange(port, head, [b"b"] * 1000, 0.5, 8)
        print(f"    answer after {took}s: {out[:40]!r}, closed={closed}, backend connections "
              f"{len(be.conns)}", flush=True)
        assert out.startswith(b"HTTP/1.1 408"), (out, took)
        assert closed, "connection left open after 408"
        assert took is not None and 0.9 <= took <= 4, f"408 after {took}s"
        assert_backend_released(be)
        counted(admin, before, http_requests_total={"status": 408},
                tailguard_request_causes_total={"cause": "body_timeout"})


def test_stalled_body_gets_408_at_request_body_timeout():
    """The rate rule off (0): a body that stops half way is cut by the gap rule alone."""
    port, admin = free_port(), free_port()
    cfg = BODY_CFG.replace("1KiB", "0")
    with EvilBackend() as be, gateway(port, admin, [be.addr()], config=cfg):
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"a" * 50
        out, closed, took = body_exchange(port, head, [], 1, 8)
        print(f"    answer after {took}s: {out[:40]!r}, closed={closed}", flush=True)
        assert out.startswith(b"HTTP/1.1 408"), (out, took)
        assert closed, "connection left open after 408"
        assert took is not None and 0.9 <= took <= 2.5, f"408 after {took}s"
        assert_backend_released(be)


def test_steady_body_longer_than_request_body_timeout_is_not_cut():
    """64 KiB/s for 3 s: three times timeouts.request_body, far above the minimum rate."""
    port, admin = free_port(), free_port()
    with EvilBackend(default=Reply(echo_size=True)) as be, \
            gateway(port, admin, [be.addr()], config=BODY_CFG):
        piece, n = b"s" * 8192, 24
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (len(piece) * n)
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(head)
            for i in range(n):
                c.sendall(piece)
                time.sleep(max(0, t0 + (i + 1) * 0.125 - time.monotonic()))
            out = read_response(c, time.monotonic() + 5)
        resp, _ = split_responses(out)
        assert resp and resp[0].status == 200 and resp[0].body == b"%d" % (len(piece) * n), out
        assert time.monotonic() - t0 >= 2.9


def test_backpressure_is_not_a_slow_client():
    """The backend reads nothing for 3 s while the client pushes a large body: the
    gateway stops reading (its buffers are full), and that wait is not the client's."""
    port, admin = free_port(), free_port()
    size = scaled(64, 16) << 20
    with EvilBackend(default=Reply(echo_size=True, read_delay=3.0)) as be, \
            gateway(port, admin, [be.addr()], config=BODY_CFG):
        head = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size
        with socket.create_connection(("127.0.0.1", port), timeout=15) as c:
            c.sendall(head)
            block = b"p" * (1 << 20)
            try:
                for _ in range(size >> 20):
                    c.sendall(block)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            out = read_response(c, time.monotonic() + 20)
        resp, _ = split_responses(out)
        assert resp and resp[0].status == 200 and resp[0].body == b"%d" % size, out[:300]


if __name__ == "__main__":
    run_tests()
