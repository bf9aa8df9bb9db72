# SPDX-License-Identifier: MIT
"""A hostile upstream for the gateway's robustness tests: per request path it sends an
exact byte string (malformed framing, bad status lines, stray bytes, 1xx responses), sent
whole, in timed pieces or one byte at a time, and then keeps the connection, closes it,
resets it or stalls. It records every byte it receives, per connection, so a test can
assert what reached the backend: nothing at all for a request the gateway must refuse.

Unlike upstream_stub.Stub, whose answers are well-formed, nothing here is tidied up:
the bytes of a Reply go out exactly as written. Runs in threads of the test process on
127.0.0.1. Python standard library only.

    with EvilBackend() as be:
        be.on("/bad", Reply(b"HTTP/1.1 2000 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"))
        ... be.conns[0].received, be.total_bytes(), be.requests ...

Requests are read as a well-behaved server would: the head up to the empty line, then a
Content-Length or chunked body (unless the Reply says not to), so a keep-alive connection
stays in step with the gateway. A request the backend cannot make sense of is recorded
and answered with the default Reply.
"""
import socket
import struct
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Reply:
    """What the backend does with one request.

    `parts`: byte strings sent in order, `gap` seconds apart (`drip(b)` makes one part
    per byte). `then`: "keep" (read the next request), "close" (FIN), "reset" (RST), or
    "hold" (send nothing more and keep the socket open until the peer closes or the
    backend stops). `read_body`: read the request body before answering (False answers
    right after the head). `read_delay`: seconds to wait before reading the body, so a
    client's body backs up in the gateway. `echo_size`: answer 200 with the number of
    body bytes read instead of `parts`."""

    def __init__(self, *parts, gap=0.0, then="keep", read_body=True, read_delay=0.0,
                 echo_size=False):
        assert then in ("keep", "close", "reset", "hold"), then
        self.parts = [bytes(p) for p in parts]
        self.gap = gap
        self.then = then
        self.read_body = read_body
        self.read_delay = read_delay
        self.echo_size = echo_size


def drip(data):
    """`data` as one part per byte, for Reply(*drip(b), gap=...)."""
    return [data[i:i + 1] for i in range(len(data))]


class Conn:
    """One accepted connection: every byte received, each request head, and whether the
    peer closed it (`closed` is an Event, so a test can wait for it)."""

    def __init__(self, sock):
        self.sock = sock
        self.received = bytearray()
        self.heads = []
        self.opened_at = time.monotonic()
        self.closed = threading.Event()
        self.closed_at = None
        self.buf = bytearray()  # received but not yet parsed

    def recv_more(self, n=65536):
        """Reads once; returns False on EOF or error (the peer is gone)."""
        try:
            d = self.sock.recv(n)
        except OSError:
            d = b""
        if not d:
            if not self.closed.is_set():
                self.closed_at = time.monotonic()
                self.closed.set()
            return False
        self.received += d
        self.buf += d
        return True

    def take(self, n):
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            if not self.recv_more():
                return None
        i = self.buf.index(b"\r\n")
        line = self.take(i)
        self.take(2)
        return line

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self.recv_more():
                return None
        return self.take(self.buf.index(b"\r\n\r\n") + 4)

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self.recv_more(min(1 << 20, max(65536, n - len(self.buf)))):
                return None
        return self.take(n)


def _framing(head):
    """(chunked, content_length) from a request head, read leniently: the gateway decides
    what is valid, the backend only keeps in step with what it was sent."""
    chunked, length = False, 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"content-length" and not length:
            try:
                length = int(value.split(b",")[0].strip())
            except ValueError:
                length = 0
    return chunked, length


def _path_of(head):
    try:
        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
    except IndexError:
        return ""
    if "://" in target:
        target = urllib.parse.urlsplit(target).path or "/"
    return target.split("?", 1)[0]


class EvilBackend:
    """The backend. `on(path, reply)` scripts a path (exact match on the path of the
    request-target); any other path gets `default` (200 "ok", keep-alive)."""

    def __init__(self, name="evil", default=None):
        self.name = name
        self.default = default or Reply(OK)
        self.script = {}
        self.conns = []
        self.lock = threading.Lock()
        self.stopped = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def addr(self):
        return f"{HOST}:{self.port}"

    def on(self, path, reply):
        self.script[path] = reply
        return self

    # -- what arrived ------------------------------------------------------------------
    def total_bytes(self):
        with self.lock:
            return sum(len(c.received) for c in self.conns)

    def received(self):
        """Every byte received, connection after connection, in accept order."""
        with self.lock:
            return b"".join(bytes(c.received) for c in self.conns)

    def mark(self):
        """A point to compare against with since(): how much each connection holds now."""
        with self.lock:
            return [(c, len(c.received)) for c in self.conns]

    def since(self, mark):
        """Bytes received after `mark`, as [(Conn, bytes)] for connections that got any."""
        seen = dict((id(c), n) for c, n in mark)
        with self.lock:
            conns = list(self.conns)
        out = []
        for c in conns:
            new = bytes(c.received[seen.get(id(c), 0):])
            if new:
                out.append((c, new))
        return out

    @property
    def requests(self):
        """Request heads received so far, in arrival order per connection."""
        with self.lock:
            return [h for c in self.conns for h in c.heads]

    # -- life cycle --------------------------------------------------------------------
    def stop(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            c = Conn(s)
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            while not self.stopped:
                head = c.read_head()
                if head is None:
                    return
                with self.lock:
                    c.heads.append(head)
                reply = self.script.get(_path_of(head), self.default)
                nbody = self._body(c, head, reply)
                if nbody is None:
                    return
                if not self._send(c, reply, nbody):
                    return
        finally:
            self._drain_until_closed(c)

    def _body(self, c, head, reply):
        """Reads the request body as `reply` asks; returns its size, None if the peer left."""
        if not reply.read_body:
            return 0
        if reply.read_delay:
            time.sleep(reply.read_delay)
        chunked, length = _framing(head)
        if not chunked:
            return None if c.read_exact(length) is None else length
        total = 0
        while True:
            line = c.read_line()
            if line is None:
                return None
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                while True:  # trailer fields, up to the empty line
                    t = c.read_line()
                    if t is None:
                        return None
                    if t == b"":
                        return total
            if c.read_exact(size + 2) is None:
                return None
            total += size

    def _send(self, c, reply, nbody):
        """Plays `reply`; returns True to read the next request on this connection."""
        parts = reply.parts
        if reply.echo_size:
            body = str(nbody).encode()
            parts = [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]
        try:
            for i, p in enumerate(parts):
                if i and reply.gap:
                    time.sleep(reply.gap)
                c.sock.sendall(p)
        except OSError:
            return False
        if reply.then == "keep":
            return True
        if reply.then == "reset":
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.sock.close()
            c.closed.set()
            return False
        if reply.then == "close":
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        return False  # "close" and "hold": read (and record) until the peer leaves

    def _drain_until_closed(self, c):
        """Records whatever else the peer sends until it closes; then closes our side."""
        if c.sock.fileno() == -1:
            return
        while not self.stopped and c.recv_more():
            pass
        try:
            c.sock.close()
        except OSError:
            pass
