# SPDX-License-Identifier: MIT
"""A scriptable upstream for proxy tests: the misbehaviours a real backend cannot be asked
for on demand (hang, reset mid-body, 101 upgrade, odd framing), plus identity and
connection counting for load-balancing and pooling tests. Runs in a thread of the test
process on 127.0.0.1 and serves HTTP/1.1 with keep-alive.

Paths:
  /id, .../id         200, body = server name
  /headers            200, body = the request head exactly as received
  /hang               never answers (until the test ends)
  /sleep/MS           answers after MS milliseconds
  /close              closes the connection without answering
  /close-if-reused    closes without answering on a connection that already served a
                      request (a keep-alive race on demand), else 200 "fresh"
  /reset-mid-body     promises 1000 bytes, sends 10, closes
  /chunked            chunked response of 3 chunks
  /eof                no framing headers: body until close
  /status/NNN         that status
  /ws                 101 Switching Protocols when asked to upgrade, then echoes bytes
  /health             200 while `healthy` is true, else 503
  /upload             reads the body (Content-Length or chunked) and answers its size
                      and sha256
  anything else       200 "ok"
Knobs: `delay` (seconds added before every answer), `healthy`, and `drop` (close every
connection as soon as a request head arrives, answering nothing).
"""
import hashlib
import socket
import threading
import time


class Stub:
    def __init__(self, name="stub", port=0, delay=0.0):
        self.name = name
        self.delay = delay
        self.healthy = True
        self.drop = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests = 0
        self.lock = threading.Lock()
        self.stopped = False
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def addr(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        for c in list(self.conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _read_head(c, buf):
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return None, buf
            buf += d
        i = buf.index(b"\r\n\r\n") + 4
        return buf[:i], buf[i:]

    @staticmethod
    def _read_body(c, head, buf):
        """Returns (body, rest) for Content-Length or chunked request bodies."""
        h = head.decode("latin-1").lower()
        if "transfer-encoding: chunked" in h:
            body = bytearray()
            while True:
                while b"\r\n" not in buf:
                    buf += c.recv(65536)
                line, buf = buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while b"\r\n" not in buf:
                        buf += c.recv(65536)
                    _, buf = buf.split(b"\r\n", 1)
                    return bytes(body), buf
                while len(buf) < size + 2:
                    d = c.recv(1 << 20)
                    if not d:
                        raise ConnectionError("eof in chunk")
                    buf += d
                body += buf[:size]
                buf = buf[size + 2:]
        n = 0
        for line in h.split("\r\n"):
            if line.startswith("content-length:"):
                n = int(line.split(":", 1)[1])
        return None, (n, buf)

    def _serve(self, c):
        buf = b""
        served = 0
        try:
            while not self.stopped:
                head, buf = self._read_head(c, buf)
                if head is None:
                    return
                with self.lock:
                    self.requests += 1
                served += 1
                if self.drop:
                    return
                if self.delay:
                    time.sleep(self.delay)
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, target, _ = line.split(" ", 2)
                path = target.split("?", 1)[0]
                if path == "/upload":
                    body, rest = self._read_body(c, head, buf)
                    if body is None:
                        n, buf = rest
                        hsh = hashlib.sha256()
                        got = 0
                        if len(buf) >= n:
                            hsh.update(buf[:n])
                            got = n
                            buf = buf[n:]
                        else:
                            hsh.update(buf)
                            got = len(buf)
                            buf = b""
                            while got < n:
                                d = c.recv(min(1 << 20, n - got))
                                if not d:
                                    return
                                hsh.update(d)
                                got += len(d)
                        out = f"{got} {hsh.hexdigest()}".encode()
                    else:
                        buf = rest
                        out = f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
                    self._send(c, 200, out)
                    continue
                # Other paths ignore request bodies except Content-Length ones, drained here.
                body, rest = self._read_body(c, head, buf)
                if body is None:
                    n, buf = rest
                    while len(buf) < n:
                        d = c.recv(65536)
                        if not d:
                            return
                        buf += d
                    buf = buf[n:]
                else:
                    buf = rest
                if path == "/health":
                    self._send(c, 200 if self.healthy else 503, b"health")
                elif path == "/id" or path.endswith("/id"):
                    self._send(c, 200, self.name.encode())
                elif path == "/headers":
                    self._send(c, 200, head)
                elif path == "/hang":
                    while not self.stopped:
                        time.sleep(0.05)
                    return
                elif path.startswith("/sleep/"):
                    time.sleep(int(path.split("/")[2]) / 1000.0)
                    self._send(c, 200, b"slept")
                elif path == "/close":
                    return
                elif path == "/close-if-reused":
                    if served > 1:
                        return
                    self._send(c, 200, b"fresh")
                elif path == "/reset-mid-body":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                    return
                elif path == "/chunked":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n")
                elif path == "/eof":
                    c.sendall(b"HTTP/1.1 200 OK\r\n\r\nuntil-close")
                    return
                elif path.startswith("/status/"):
                    self._send(c, int(path.split("/")[2]), b"status")
                elif path == "/ws" and b"upgrade" in head.lower():
                    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              b"Connection: Upgrade\r\n\r\n")
                    if buf:
                        c.sendall(buf)
                    while True:
                        d = c.recv(65536)
                        if not d:
                            return
                        c.sendall(d)
                else:
                    self._send(c, 200, b"ok", head_only=(method == "HEAD"))
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            try:
                c.close()
            except OSError:
                pass

    @staticmethod
    def _send(c, status, body, head_only=False):
        c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
                  b"Keep-Alive: timeout=5\r\n\r\n" % (status, len(body)) + (b"" if head_only else body))
