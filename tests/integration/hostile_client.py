# SPDX-License-Identifier: MIT
"""Client side of the hostile-input tests: send raw bytes, read what comes back and
whether the gateway closed the connection; split raw responses (1xx included, unlike
tgtest.parse_responses); read counters from the admin port's /metrics.

`exchange()` reads until the connection closes, or until `linger` seconds after the first
complete final response: a gateway that keeps an unsafe connection open is seen as
"not closed" after that wait, not after the whole timeout. Python standard library only.
"""
import re
import socket
import time

from tgtest import SANITIZED, http

HOST = "127.0.0.1"
#: How long a connection may stay open after a final answer and still count as closed.
LINGER = 3.0 if SANITIZED else 1.5


class Result:
    """What one exchange produced: `data` (every byte read), `responses` (see
    split_responses; the tail may be incomplete), `closed` (the gateway closed or reset
    the connection), `status` (first final status or None)."""

    def __init__(self, data, closed):
        self.data = data
        self.closed = closed
        self.responses, self.complete = split_responses(data)
        finals = self.finals()
        self.status = finals[0].status if finals else None

    def finals(self):
        return [r for r in self.responses if r.status >= 200]

    def interim(self):
        return [r for r in self.responses if r.status < 200]

    def __repr__(self):
        shown = self.data if len(self.data) < 400 else self.data[:400] + b"..."
        return f"<status={self.status} closed={self.closed} data={shown!r}>"


class Response:
    def __init__(self, version, status, fields, body):
        self.version = version
        self.status = status
        self.fields = fields  # [(name lowercased, value)], in order, repeats kept
        self.body = body

    def header(self, name):
        vals = [v for n, v in self.fields if n == name.lower()]
        return vals[0] if vals else None

    def __repr__(self):
        return f"<{self.version} {self.status} {self.fields} body={self.body[:80]!r}>"


def _chunked_end(data, pos):
    """Position after a chunked body starting at `pos`, or None if incomplete. Raises
    ValueError on bad framing."""
    body = bytearray()
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None, None
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    return None, None
                if eol == pos:
                    return pos + 2, bytes(body)
                pos = eol + 2
        if len(data) < pos + size + 2:
            return None, None
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise ValueError("chunk data not followed by CRLF")
        body += data[pos:pos + size]
        pos += size + 2


def split_responses(data, head_request=False):
    """Splits raw response bytes into ([Response], complete). 1xx responses are kept as
    their own entries. `complete` is False when the bytes end inside a response (or a
    body delimited by the close), or do not parse."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return out, False
        lines = data[pos:end].decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: |$)", lines[0])
        if not m:
            return out, False
        version, status = m.group(1), int(m.group(2))
        fields = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            fields.append((k.strip().lower(), v.strip()))
        pos = end + 4
        r = Response(version, status, fields, b"")
        out.append(r)
        if status < 200 or status in (204, 304) or head_request:
            continue
        te = r.header("transfer-encoding")
        cl = r.header("content-length")
        try:
            if te is not None and te.lower() == "chunked":
                nxt, body = _chunked_end(data, pos)
                if nxt is None:
                    r.body = data[pos:]
                    return out, False
                r.body, pos = body, nxt
            elif cl is not None:
                n = int(cl)
                r.body = data[pos:pos + n]
                if len(data) < pos + n:
                    return out, False
                pos += n
            else:
                r.body = data[pos:]
                return out, False  # delimited by the close: never known complete here
        except ValueError:
            return out, False
    return out, True


def _has_final(data):
    resp, complete = split_responses(data)
    return any(r.status >= 200 for r in resp) and complete


def exchange(port, data, timeout=5.0, linger=None, pieces_gap=0.0, host=HOST):
    """Sends `data` (bytes, or a list of pieces sent `pieces_gap` seconds apart) on a new
    connection; reads until the peer closes, `timeout` passes, or `linger` seconds
    (default LINGER) after a complete final response. A send that fails because the
    gateway already closed is not an error. Returns a Result."""
    linger = LINGER if linger is None else linger
    pieces = [data] if isinstance(data, (bytes, bytearray)) else list(data)
    out = bytearray()
    closed = False
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            for i, p in enumerate(pieces):
                if i and pieces_gap:
                    time.sleep(pieces_gap)
                s.sendall(p)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answered_at = None
        while True:
            now = time.monotonic()
            end = deadline if answered_at is None else min(deadline, answered_at + linger)
            if now >= end:
                break
            s.settimeout(end - now)
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not d:
                closed = True
                break
            out += d
            if answered_at is None and _has_final(bytes(out)):
                answered_at = time.monotonic()
    return Result(bytes(out), closed)


# -- /metrics --------------------------------------------------------------------------
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(admin_port):
    """[(name, {label: value}, float)] from GET /metrics on the admin port."""
    st, _, body = http("GET", f"http://{HOST}:{admin_port}/metrics", timeout=10)
    assert st == 200, st
    out = []
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_sum(samples, name, **labels):
    """Sum of the samples of `name` whose labels include `labels` (others are free)."""
    return sum(v for n, lab, v in samples
               if n == name and all(lab.get(k) == str(w) for k, w in labels.items()))
