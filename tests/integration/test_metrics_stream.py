# SPDX-License-Identifier: MIT
"""GET /metrics is streamed: an HTTP/1.1 GET gets the exposition in chunks of about
16 KiB (chunked transfer coding) as the client reads them, never as one body built in
memory, so many endpoints and slow scrapers cost the gateway almost no memory.

- With a few hundred endpoint keys (a body of about a megabyte), the answer is chunked,
  has many chunks, none much over 16 KiB, and the same families and series, in the same
  order, as the whole body an HTTP/1.0 client gets with Content-Length; it ends with the
  last chunk, and the connection then serves the next request.
- Eight scrapes of that exposition, sent at once and read a second later, make the
  gateway's peak resident memory (VmHWM) grow by less than a third of one body: built
  whole, a single answer holds the whole body (and more while its buffer doubles).
"""
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

ENDPOINTS = 150  # x GET and HEAD: 300 keys, about 3 MB of exposition
CHUNK = 16 * 1024
HOST = "127.0.0.1"


def name(i):
    """A path segment that stays itself when templated (no digits: never ":id")."""
    s = ""
    i += 26 * 26
    while i:
        s = chr(ord("g") + i % 20) + s
        i //= 20
    return s


def warm(port):
    """Every endpoint twice (a template becomes an endpoint when seen a second time),
    as GET and HEAD, on one keep-alive connection."""
    reqs = b"".join(f"{m} /s/{name(i)} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                    for _ in range(2) for i in range(ENDPOINTS) for m in ("GET", "HEAD"))
    reqs += b"GET /s/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    heads = set(range(1, 4 * ENDPOINTS, 2))
    assert len(parse_responses(raw(port, reqs, timeout=30), heads)) == 4 * ENDPOINTS + 1


def chunks_of(data, pos):
    """The chunk sizes of a chunked body at data[pos:], and the position after it."""
    sizes = []
    while True:
        eol = data.index(b"\r\n", pos)
        n = int(data[pos:eol], 16)
        pos = eol + 2 + n + 2
        if n == 0:
            return sizes, pos
        sizes.append(n)


def structure(body):
    """Family names and series (name and labels), in order, without values."""
    return [line.rpartition(" ")[0] if not line.startswith("#") else line
            for line in body.decode().splitlines()]


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_streamed_in_chunks():
    port, admin = free_port(), free_port()
    with Stub() as up, gateway(port, admin, [up.port]):
        warm(port)
        time.sleep(1.3)  # the aggregate folds the worker shards in once a second
        data = raw(admin, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                   timeout=20)
        head_end = data.index(b"\r\n\r\n")
        head = data[:head_end].decode("latin-1").lower()
        assert head.startswith("http/1.1 200"), head
        assert "transfer-encoding: chunked" in head and "content-length" not in head, head
        assert "content-type: text/plain; version=0.0.4; charset=utf-8" in head, head
        sizes, end = chunks_of(data, head_end + 4)
        body = parse_responses(data)[0][2]
        assert len(body) > 500_000, f"only {len(body)} bytes: the endpoints did not register"
        assert len(sizes) >= len(body) // (2 * CHUNK), (len(body), sizes[:10])
        assert max(sizes) < CHUNK + 8 * 1024, f"a chunk of {max(sizes)} bytes"
        nxt = parse_responses(data[end:])
        assert [r[0] for r in nxt] == [200], "the request after /metrics was not answered"

        whole = raw(admin, b"GET /metrics HTTP/1.0\r\n\r\n", timeout=20)
        whole_head, _, whole_body = whole.partition(b"\r\n\r\n")
        assert f"content-length: {len(whole_body)}".encode() in whole_head.lower()
        assert structure(whole_body) == structure(body)
        assert body.count(b'endpoint="/s/') > 30 * ENDPOINTS


def read_answer(s):
    """The body of the one response on `s`, however it is framed."""
    got = bytearray()
    s.settimeout(20)
    while True:
        b = s.recv(1 << 20)
        assert b, "closed before the end of the answer"
        got += b
        if got.endswith(b"\r\n0\r\n\r\n") or b"content-length" in got[:1024].lower():
            try:
                return parse_responses(bytes(got))[0][2]
            except (ValueError, IndexError):
                continue


def test_scrapes_hold_one_chunk_not_the_body():
    port, admin = free_port(), free_port()
    # The gateway's own time-series store would take in these thousands of new series at
    # its next scrape (every 5 s) and grow the peak by itself: it scrapes once an hour
    # here, so the peak measured is the streaming's alone.
    cfg = "tsdb: { scrape_interval: 1h }\n"
    with Stub() as up, gateway(port, admin, [up.port], config=cfg) as gw:
        warm(port)
        time.sleep(1.3)
        before = vm_hwm_kb(gw.pid)  # no scrape yet: the peak of the traffic alone
        socks = []
        try:
            for _ in range(8):
                s = socket.create_connection((HOST, admin), timeout=10)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                socks.append(s)
            time.sleep(1.0)  # each answer goes as far as the socket buffers let it
            sizes = [len(read_answer(s)) for s in socks]
        finally:
            for s in socks:
                s.close()
        grown_kb = vm_hwm_kb(gw.pid) - before
        print(f"8 scrapes of {min(sizes)} bytes: VmHWM +{grown_kb} kB")
        assert min(sizes) > 500_000, sizes
        # Built whole, the body alone (and its buffer's doubling) is more than this.
        assert grown_kb * 1024 < min(sizes) / 3, f"peak memory grew by {grown_kb} kB"


if __name__ == "__main__":
    run_tests()
