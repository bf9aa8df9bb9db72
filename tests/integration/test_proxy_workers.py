# SPDX-License-Identifier: MIT
"""Live worker resizing: PUT /api/v1/system/workers {"count": N} starts and retires proxy
worker threads while the gateway runs. Under steady load over keep-alive connections and
new connections, the sequence 2 -> 4 -> 1 -> 3 fails no request (a reset counts as a
failure) and loses no request from /metrics; idle keep-alive connections of a removed
worker keep working; requests in flight on it finish; /threads and /metrics show the
workers serving now; the count is persisted and audited, survives a restart with the same
store, follows the file on SIGHUP; bad counts are 400; a --workers flag wins (409)."""

import os
import re
import signal
import socket
import tempfile
import threading
import time
from http.client import HTTPConnection, HTTPException

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub

HOST = "127.0.0.1"


def put_workers(admin, body):
    st, _, v = http_json("PUT", f"http://{HOST}:{admin}/api/v1/system/workers", body,
                         timeout=10)
    return st, v


def threads(admin):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/monitoring/threads")
    assert st == 200, (st, v)
    return v


def metrics(admin):
    st, _, body = http("GET", f"http://{HOST}:{admin}/metrics")
    assert st == 200, st
    return body.decode()


def requests_total(admin):
    """The sum of http_requests_total over every series."""
    n = 0
    for line in metrics(admin).splitlines():
        if line.startswith("http_requests_total{"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def worker_labels(admin, family):
    return sorted({m for m in re.findall(family + r'\{worker="(\d+)"\}', metrics(admin))},
                  key=int)


class Load:
    """Steady load for the duration of a `with` block: `keepalive` threads each on one
    persistent connection (reconnecting only after a "Connection: close" or a failure),
    and `fresh` threads opening a new connection per request. Every request that does not
    come back 200 is a failure, including resets and disconnects. Bounded by `max_s`
    seconds and `max_requests` per thread."""

    def __init__(self, port, keepalive=4, fresh=2, path="/api/products", max_s=120,
                 max_requests=200000):
        self.port, self.path = port, path
        self.deadline = time.monotonic() + max_s
        self.max_requests = max_requests
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = self.ok = self.reconnects = 0
        self.ok_by = {"keep-alive": 0, "new connection": 0}
        self.failures = []
        self.threads = [threading.Thread(target=self._run, args=(self._keepalive,), daemon=True)
                        for _ in range(keepalive)]
        self.threads += [threading.Thread(target=self._run, args=(self._fresh,), daemon=True)
                         for _ in range(fresh)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        return False

    def _done(self, i):
        return self.stop.is_set() or i >= self.max_requests or time.monotonic() > self.deadline

    def _count(self, style, ok, why=None):
        with self.lock:
            self.sent += 1
            if ok:
                self.ok += 1
                self.ok_by[style] += 1
            else:
                self.failures.append(f"{style}: {why}")

    def _run(self, fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - a broken load thread is a failure
            with self.lock:
                self.failures.append(f"load thread died: {e!r}")

    def _keepalive(self):
        conn, i = None, 0
        while not self._done(i):
            i += 1
            try:
                if conn is None:
                    conn = HTTPConnection(HOST, self.port, timeout=10)
                    with self.lock:
                        self.reconnects += 1
                conn.request("GET", self.path)
                r = conn.getresponse()
                r.read()
                self._count("keep-alive", r.status == 200, f"status {r.status}")
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, HTTPException) as e:
                self._count("keep-alive", False, repr(e))
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def _fresh(self):
        i = 0
        while not self._done(i):
            i += 1
            try:
                st = http("GET", f"http://{HOST}:{self.port}{self.path}", timeout=10)[0]
                self._count("new connection", st == 200, f"status {st}")
            except (OSError, HTTPException) as e:
                self._count("new connection", False, repr(e))


def retired_after_ms(g):
    return [int(x) / 1000 for x in re.findall(r"worker-retired worker=\d+ after_us=(\d+)",
                                              g.log())]


def test_resize_under_load_fails_nothing():
    api, port, admin = free_port(), free_port(), free_port()
    sequence = [4, 1, 3] * (1 if SANITIZED else 3)
    with demo_api(api, latency_scale=0):
        with gateway(port, admin, [api], config="workers: 2\n") as g:
            assert threads(admin)["workers"] == 2
            took = []
            with Load(port) as load:
                time.sleep(1.0)
                before = load.sent
                for n in sequence:
                    st, v = put_workers(admin, {"count": n})
                    assert st == 200, (st, v)
                    assert v["effective"]["workers"] == n, v
                    took.append(v["took_ms"])
                    t = threads(admin)
                    assert t["workers"] == n and [x["id"] for x in t["threads"]] == \
                        list(range(n)), t
                    time.sleep(1.0)
                during = load.sent - before
            print(f"requests sent during the resizes: {during} (total {load.sent}: "
                  f"{load.ok_by}, keep-alive connections opened {load.reconnects}); failures: "
                  f"{len(load.failures)}; resize calls took (ms): {took}; removed workers "
                  f"finished after (ms): {retired_after_ms(g)}")
            assert not load.failures, (len(load.failures), load.failures[:10])
            assert during >= scaled(2000, 200), during
            for style, n in load.ok_by.items():
                assert n >= scaled(500, 50), (style, load.ok_by)
            # Every request answered is in /metrics, those of removed workers included
            # (their shards are collected once more after they exit).
            wait_until(lambda: requests_total(admin) == load.ok, timeout=5,
                       what=f"http_requests_total == {load.ok}")
            # Only the workers serving now have per-worker series.
            assert worker_labels(admin, "tailguard_accept_queue_depth") == ["0", "1", "2"]
            assert worker_labels(admin, "tailguard_eventloop_lag_seconds") == ["0", "1", "2"]
            # Removed workers all exited, were joined and freed.
            wait_until(lambda: len(retired_after_ms(g)) == sum(
                max(0, a - b) for a, b in zip([2] + sequence, sequence)), timeout=10,
                what="every removed worker retired")


def test_idle_keepalive_connections_move_to_the_workers_that_stay():
    api, port, admin = free_port(), free_port(), free_port()
    with demo_api(api, latency_scale=0):
        with gateway(port, admin, [api], config="workers: 4\n"):
            req = b"GET /api/products HTTP/1.1\r\nHost: x\r\n\r\n"
            socks = []
            for _ in range(16):
                s = socket.create_connection((HOST, port), timeout=10)
                s.sendall(req)
                socks.append(s)
            for s in socks:
                assert _response(s).startswith(b"HTTP/1.1 200"), "first request"
            spread = [x["connections"] for x in threads(admin)["threads"]]
            assert sum(spread) == 16 and sum(spread[1:]) > 0, spread  # some on workers that go
            st, v = put_workers(admin, {"count": 1})
            assert st == 200, (st, v)
            # All 16 now on worker 0, without the clients doing anything.
            wait_until(lambda: threads(admin)["threads"][0]["connections"] == 16, timeout=5,
                       what="connections handed over")
            for s in socks:  # the same sockets, not new ones
                s.sendall(req)
                assert _response(s).startswith(b"HTTP/1.1 200"), "request after the resize"
                s.close()


def _response(s):
    """Reads one response with a Content-Length body from socket `s`."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return buf
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    return head + b"\r\n\r\n" + body


def test_requests_in_flight_on_a_removed_worker_finish():
    port, admin = free_port(), free_port()
    with Stub() as s, gateway(port, admin, [s.addr()], config="workers: 2\n") as g:
        results = []

        def slow():
            results.append(http("GET", f"http://{HOST}:{port}/sleep/1500", timeout=10))

        ts = [threading.Thread(target=slow) for _ in range(20)]
        for t in ts:
            t.start()
        wait_until(lambda: threads(admin)["busy"] == 20, timeout=5, what="20 in flight")
        # The kernel spreads new connections by a hash: all 20 on one worker is a 1 in
        # 500 000 chance.
        assert all(x["active_requests"] for x in threads(admin)["threads"]), "on both"
        st, v = put_workers(admin, {"count": 1})
        assert st == 200 and v["retiring"] == 1, (st, v)
        for t in ts:
            t.join(10)
        assert [r[0] for r in results] == [200] * 20, results
        wait_until(lambda: retired_after_ms(g), timeout=5, what="worker 1 retired")
        assert retired_after_ms(g)[0] >= 500, retired_after_ms(g)


def test_count_persists_and_follows_the_file():
    api, port, admin = free_port(), free_port(), free_port()
    d = tempfile.mkdtemp(prefix="tg-workers-")
    store, cfg = os.path.join(d, "state.db"), os.path.join(d, "tg.yaml")
    with open(cfg, "w") as f:
        f.write("workers: 2\n")
    with demo_api(api, latency_scale=0):
        with gateway(port, admin, [api], "--store", store, config=cfg):
            st, v = put_workers(admin, {"count": 3})
            assert st == 200 and v["previous"] == 2, (st, v)
            st, _, c = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/config")
            w = next(s for s in c["settings"] if s["key"] == "workers")
            assert w["value"] == 3 and w["layer"] == "override" and w["live"], w
            st, _, a = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/audit")
            row = next(r for r in a["entries"] if r["action"] == "PUT /api/v1/system/workers")
            assert row["old"] == {"workers": 2} and row["new"] == {"workers": 3}, row
        # A restart with the same store starts with the override's count.
        with gateway(port, admin, [api], "--store", store, config=cfg) as g:
            assert threads(admin)["workers"] == 3
            # Without the override, the file's count, and a SIGHUP applies a new one.
            st, _, _ = http("DELETE", f"http://{HOST}:{admin}/api/v1/system/overrides/workers")
            assert st == 200
            wait_until(lambda: threads(admin)["workers"] == 2, timeout=5, what="file's 2")
            cores = os.sysconf("SC_NPROCESSORS_ONLN")
            for text, want in ((f"workers: {cores + 1}\n", cores + 1), ("workers: 0\n", cores)):
                with open(cfg, "w") as f:
                    f.write(text)  # 0: one per core
                g.send_signal(signal.SIGHUP)
                wait_until(lambda: threads(admin)["workers"] == want, timeout=5,
                           what=f"{want} workers after SIGHUP")
            assert http("GET", f"http://{HOST}:{port}/api/products")[0] == 200


def test_bad_counts_change_nothing():
    api, port, admin = free_port(), free_port(), free_port()
    with demo_api(api, latency_scale=0):
        with gateway(port, admin, [api], config="workers: 2\n"):
            bad = [({"count": 0}, "count"), ({"count": 257}, "count"),
                   ({"count": -1}, "count"), ({"count": "3"}, "count"),
                   ({"count": 2.5}, "count"), ({}, "count"), ({"count": 3, "x": 1}, "x")]
            for body, field in bad:
                st, v = put_workers(admin, body)
                assert st == 400 and v["field"] == field, (body, st, v)
            st, _, _ = http("PUT", f"http://{HOST}:{admin}/api/v1/system/workers", b"{",
                            {"Content-Type": "application/json"})
            assert st == 400
            assert threads(admin)["workers"] == 2
            st, _, a = http_json("GET", f"http://{HOST}:{admin}/api/v1/system/audit")
            assert not [r for r in a["entries"] if "workers" in r["action"]], a


def test_flag_wins():
    api, port, admin = free_port(), free_port(), free_port()
    with demo_api(api, latency_scale=0):
        with gateway(port, admin, [api], "--workers", "2"):
            st, v = put_workers(admin, {"count": 3})
            assert st == 409 and "--workers" in v["error"] and v["field"] == "count", (st, v)
            assert threads(admin)["workers"] == 2


if __name__ == "__main__":
    run_tests()
