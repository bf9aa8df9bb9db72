# SPDX-License-Identifier: MIT
"""Bodies are streamed, never held whole: a 1 GiB upload (Content-Length and chunked) and a
1 GiB download (Content-Length and chunked) pass through the gateway while its peak RSS
stays under 64 MiB. Under sanitizers the size is scaled down and memory is not judged
(ASan's shadow memory dwarfs ours)."""
import hashlib
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

GIB = 1 << 30
SIZE = scaled(GIB, sanitized=64 << 20)
RSS_LIMIT_KIB = 64 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def upload(port, size, chunked):
    h = hashlib.sha256()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        if chunked:
            c.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            c.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        sent = 0
        while sent < size:
            block = BLOCK[:min(len(BLOCK), size - sent)]
            h.update(block)
            if chunked:
                c.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
            else:
                c.sendall(block)
            sent += len(block)
        if chunked:
            c.sendall(b"0\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(h.hexdigest().encode()):
            d = c.recv(65536)
            if not d:
                break
            buf += d
    assert buf.startswith(b"HTTP/1.1 200"), buf[:200]
    assert buf.endswith(f"{size} {h.hexdigest()}".encode()), buf[-200:]


def download(port, size, chunked):
    q = "?chunked=1" if chunked else ""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        c.sendall(f"GET /bytes/{size}{q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += c.recv(65536)
        head, rest = buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        total = len(rest)
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            total += len(d)
    if chunked:
        assert b"transfer-encoding: chunked" in head.lower(), head
        assert total > size  # payload plus chunk framing
    else:
        assert total == size, (total, size)


def test_upload_streams_in_bounded_memory():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()], "--workers", "1") as g:
        t0 = time.monotonic()
        upload(port, SIZE, chunked=False)
        upload(port, SIZE // 4, chunked=True)
        took = time.monotonic() - t0
        rss = peak_rss_kib(g.pid)
        print(f"uploaded {SIZE + SIZE // 4} bytes in {took:.1f}s, gateway peak RSS {rss} KiB")
        if not SANITIZED:
            assert rss < RSS_LIMIT_KIB, rss


def test_download_streams_in_bounded_memory():
    api, port, admin = free_port(), free_port(), free_port()
    with demo_api(api, latency_scale=0), gateway(port, admin, [api], "--workers", "1") as g:
        t0 = time.monotonic()
        download(port, SIZE, chunked=False)
        download(port, SIZE // 4, chunked=True)
        took = time.monotonic() - t0
        rss = peak_rss_kib(g.pid)
        print(f"downloaded {SIZE + SIZE // 4} bytes in {took:.1f}s, gateway peak RSS {rss} KiB")
        if not SANITIZED:
            assert rss < RSS_LIMIT_KIB, rss


if __name__ == "__main__":
    run_tests()
