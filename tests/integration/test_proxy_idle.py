# SPDX-License-Identifier: MIT
"""10,000 idle keep-alive client connections are held: each has made one request, then
they all sit idle; afterwards every one of them still answers a second request. Prints the
gateway's memory per idle connection (RSS growth / connections) for the record; an idle
connection holds no buffer, so this is the connection object plus kernel-side accounting
that shows up in our RSS (none)."""
import os
import resource
import selectors
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

N = scaled(10000, sanitized=2000)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def roundtrip_all(socks, timeout=60, batch=int(os.environ.get("BATCH", "200"))):
    """Sends one request on every socket and waits for every full response, `batch`
    sockets at a time (the upstream stub is a thread per connection: keep it small)."""
    for i in range(0, len(socks), batch):
        roundtrip_batch(socks[i:i + batch], timeout)


def roundtrip_batch(socks, timeout):
    req = b"GET /id HTTP/1.1\r\nHost: x\r\n\r\n"
    for s in socks:
        s.sendall(req)
    sel = selectors.DefaultSelector()
    pending = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = b""
    deadline = time.monotonic() + timeout
    done = 0
    while done < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            d = s.recv(4096)
            assert d, "a connection was closed"
            pending[s] += d
            if pending[s].endswith(b"stub"):
                assert pending[s].startswith(b"HTTP/1.1 200"), pending[s]
                sel.unregister(s)
                done += 1
    sel.close()
    for s in socks:
        s.setblocking(True)
    assert done == len(socks), f"{done} of {len(socks)} answered"


def test_hold_10000_idle_keepalive_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 1000), hard))
    port, admin = free_port(), free_port()
    cfg = "limits: { max_connections: 20000 }\ntimeouts: { idle: 120s }\nworkers: 2\n"
    with Stub() as s, gateway(port, admin, [s.addr()], config=cfg) as g:
        roundtrip_all([socket.create_connection(("127.0.0.1", port), timeout=10)])  # warm up
        base = rss_kib(g.pid)
        socks = []
        try:
            for _ in range(N):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            roundtrip_all(socks)
            time.sleep(1)
            per_conn = (rss_kib(g.pid) - base) * 1024 / N
            print(f"{N} idle keep-alive connections: gateway RSS {rss_kib(g.pid)} KiB, "
                  f"{per_conn:.0f} bytes per connection")
            roundtrip_all(socks)  # all still open and usable
        finally:
            for c in socks:
                c.close()


if __name__ == "__main__":
    run_tests()
