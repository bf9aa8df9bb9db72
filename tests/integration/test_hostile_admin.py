# SPDX-License-Identifier: MIT
"""The admin listener (`tailguard run --admin`) under hostile clients: 100 pipelined
requests in one write are all answered, in order; hundreds of connections that send one
byte and then nothing neither take it down nor pile up (a normal request still answers
promptly, the slow ones are cut within the admin header timeout, the connections it holds
are capped and the process's open descriptors stay bounded); HTTP/1.1 without Host is a
400 as on the proxy port."""
import os
import resource
import selectors
import socket
import time

from tgtest import *  # noqa: F401,F403
from hostile_client import exchange, split_responses
from upstream_stub import Stub

#: The admin header timeout is about 10 s; slow connections must be cut by then + slack.
CUT_WITHIN = 10 + (10 if SANITIZED else 5)
#: "A few hundred": the most admin connections the gateway may hold at once, beyond
#: the descriptors it has at rest.
ADMIN_CONN_CAP = 600


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def slow_connections(port, n, timeout=5):
    """Opens `n` connections that each send one byte. Returns the connected sockets
    (non-blocking); connections the listener never accepted may be among them."""
    socks, sel = [], selectors.DefaultSelector()
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
    deadline = time.monotonic() + timeout
    pending = set(socks)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            sel.unregister(s)
            pending.discard(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                try:
                    s.send(b"G")
                except OSError:
                    pass
    sel.close()
    return socks


def wait_cut(socks, within):
    """Waits until every socket is closed by the peer (EOF, reset, or a 408 then EOF).
    Returns (cut, answers): how many were cut, and the non-empty answers seen."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    got = {s: b"" for s in socks}
    left = set(socks)
    deadline = time.monotonic() + within
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                d = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if d:
                got[s] += d
                continue
            sel.unregister(s)
            left.discard(s)
    sel.close()
    return len(socks) - len(left), [a for a in got.values() if a]


def close_all(socks):
    for s in socks:
        s.close()


def test_admin_answers_100_pipelined_requests_in_order():
    port, admin = free_port(), free_port()
    paths = ["/health", "/api/v1/health", "/no-such-admin-path"]
    order = [paths[i % 3] for i in range(100)]
    data = b"".join(b"GET %s HTTP/1.1\r\nHost: a\r\n%s\r\n"
                    % (p.encode(), b"Connection: close\r\n" if i == 99 else b"")
                    for i, p in enumerate(order))
    with gateway(port, admin, [f"127.0.0.1:{free_port()}"]):
        out = raw(admin, data, timeout=10)
        resp, complete = split_responses(out)
        assert complete and len(resp) == 100, (len(resp), out[-300:])
        for i, (p, r) in enumerate(zip(order, resp)):
            if p == "/no-such-admin-path":
                assert r.status == 404, (i, p, r)
            else:
                # /health: 200, or 503 "unhealthy" when no server of the default upstream
                # counts as usable (this one points at a closed port)
                assert r.status in (200, 503) and b'"status"' in r.body, (i, p, r)
                assert (b"uptime_s" in r.body) == (p == "/api/v1/health"), (i, p, r)


def test_admin_survives_400_slow_connections():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()]) as gw:
        time.sleep(0.2)
        base = open_fds(gw.pid)
        socks = slow_connections(admin, 400)
        try:
            t0 = time.monotonic()
            st, _, body = http("GET", f"http://127.0.0.1:{admin}/health", timeout=5)
            took = time.monotonic() - t0
            assert (st, body) == (200, b'{"status":"ok"}\n'), (st, body)
            assert took < 2, f"/health took {took:.2f}s with 400 slow connections open"
            print(f"    /health answered in {took * 1000:.0f} ms; the gateway holds "
                  f"{open_fds(gw.pid) - base} more descriptors", flush=True)
            t0 = time.monotonic()
            cut, answers = wait_cut(socks, CUT_WITHIN)
            assert cut == len(socks), (f"{len(socks) - cut} of {len(socks)} slow connections "
                                       f"still open after {time.monotonic() - t0:.1f}s")
            print(f"    all cut after {time.monotonic() - t0:.1f}s; {len(answers)} got an answer",
                  flush=True)
            # 408 at the header timeout, or 503 for those refused at the connection cap.
            bad = [a for a in answers if not a.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503"))]
            assert not bad, f"slow connections got {bad[0]!r} instead of 408, 503 or a close"
        finally:
            close_all(socks)
        wait_until(lambda: open_fds(gw.pid) <= base + 2, timeout=3,
                   what="descriptors back to the resting count")
        assert http("GET", f"http://127.0.0.1:{admin}/health")[0] == 200


def test_admin_caps_connections_it_holds():
    """More slow connections than any sane cap: the process must not hold them all."""
    n = 1500
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 500:
        print(f"SKIP: RLIMIT_NOFILE hard limit {hard} is below {n + 500}")
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 500), hard))
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"127.0.0.1:{free_port()}"]) as gw:
        time.sleep(0.2)
        base = open_fds(gw.pid)
        socks = slow_connections(admin, n)
        try:
            time.sleep(1)
            held = open_fds(gw.pid) - base
            print(f"    {n} slow connections: the gateway holds {held} more descriptors", flush=True)
            assert gw.alive(), "gateway died"
            assert held <= ADMIN_CONN_CAP, (f"the gateway holds {held} descriptors for {n} slow "
                                            f"admin connections; the cap is a few hundred")
        finally:
            close_all(socks)
        wait_until(lambda: http("GET", f"http://127.0.0.1:{admin}/metrics", timeout=2)[0] == 200,
                   timeout=CUT_WITHIN, what="admin /metrics after the flood")


def test_admin_http11_without_host_gets_400():
    port, admin = free_port(), free_port()
    with gateway(port, admin, [f"127.0.0.1:{free_port()}"]):
        res = exchange(admin, b"GET /health HTTP/1.1\r\nX-A: 1\r\n\r\n")
        assert res.status == 400, res


if __name__ == "__main__":
    run_tests()
