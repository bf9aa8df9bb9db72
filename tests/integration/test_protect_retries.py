# SPDX-License-Identifier: MIT
"""Retries cannot amplify an outage: against an upstream whose two servers reset every
connection before answering (a 100 % failing upstream), the tries that reach the
servers, counted there, stay within the retry budget (at most 20 % above the requests,
plus the few retries always allowed in flight); with the budget lifted, the same load
is tried max_attempts times. The same holds for servers answering 503 when 503 is a
retried status, and the client then gets the upstream's own last 503.

Status retries go to the other server; a backoff is waited out (a lower bound seen at
the upstream), and a client that leaves during it takes its retry with it; a per-try
timeout abandons a hanging server for a healthy one (idempotent requests, or a route
that opts in), else answers 504; the settings load, are checked, and change live."""

import json
import socket
import threading
import time

from tgtest import *

J = {"Content-Type": "application/json"}


class Stub:
    """A small HTTP/1.1 upstream on 127.0.0.1. `plan(n, method)` says what the n-th
    request (0-based) gets: an int status (answered with body b"stub:<port>"), or None
    to hang without answering. Records (arrival time, method) of each request."""

    def __init__(self, plan):
        self.plan = plan
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(256)
        self.port = self.s.getsockname()[1]
        self.seen = []
        self.lock = threading.Lock()
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        c.settimeout(30)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                method = lines[0].split(b" ")[0].decode()
                clen = 0
                for ln in lines[1:]:
                    k, _, v = ln.partition(b":")
                    if k.strip().lower() == b"content-length":
                        clen = int(v)
                while len(buf) < clen:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                buf = buf[clen:]
                with self.lock:
                    n = len(self.seen)
                    self.seen.append((time.monotonic(), method))
                st = self.plan(n, method)
                if st is None:
                    time.sleep(30)  # hang: the gateway gives up first
                    return
                body = f"stub:{self.port}".encode()
                c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" %
                          (st, len(body), body))
        except OSError:
            pass
        finally:
            c.close()

    def count(self, method=None):
        with self.lock:
            return sum(1 for _, m in self.seen if method is None or m == method)

    def close(self):
        self.s.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def stub_config(port, admin, servers, extra="", workers=1):
    srv = ", ".join(f'"127.0.0.1:{s.port}"' for s in servers)
    return (f'listen: "127.0.0.1:{port}"\n'
            f'admin: {{ listen: "127.0.0.1:{admin}" }}\n'
            f'workers: {workers}\n'
            f'upstreams:\n'
            f'  - name: api\n'
            f'    servers: [{srv}]\n'
            f'    balance: round_robin\n'
            f'    passive: {{ failures: 0 }}\n' + extra)


def metric(admin, name, labels):
    _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{labels} not in /metrics")


class Resetter:
    """Accepts connections and resets each after reading the request head; counts them."""

    def __init__(self):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(1024)
        self.port = self.s.getsockname()[1]
        self.accepted = 0
        self.lock = threading.Lock()
        self.stopped = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            try:
                c.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    d = c.recv(4096)
                    if not d:
                        break
                    data += d
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            c.close()

    def close(self):
        self.stopped = True
        self.s.close()


def run_load(port, clients, per_client):
    def one():
        got = []
        for _ in range(per_client):
            got.append(http("GET", f"http://127.0.0.1:{port}/api/products", timeout=10)[0])
        return got
    return [st for r in parallel([one] * clients, timeout=120) for st in r]


def measure(budget_ratio, clients=32, per_client=scaled(25, 10)):
    a, b = Resetter(), Resetter()
    port, admin = free_port(), free_port()
    cfg = (f'listen: "127.0.0.1:{port}"\n'
           f'admin: {{ listen: "127.0.0.1:{admin}" }}\n'
           f'upstreams:\n'
           f'  - name: api\n'
           f'    servers: ["127.0.0.1:{a.port}", "127.0.0.1:{b.port}"]\n'
           f'    keepalive: 0\n'
           f'    passive: {{ failures: 0 }}\n'
           f'retries: {{ max_attempts: 3, budget_ratio: {budget_ratio}, min_concurrent: 0 }}\n')
    try:
        with gateway(port, admin, [], config=cfg):
            statuses = run_load(port, clients, per_client)
    finally:
        a.close()
        b.close()
    tries = a.accepted + b.accepted
    return len(statuses), statuses, tries


def test_budget_holds_on_a_failing_upstream():
    n, statuses, tries = measure(0.2)
    assert set(statuses) == {502}, set(statuses)
    extra = (tries - n) / n
    print(f"budget 20 %: {n} requests, {tries} tries at the upstream, {extra:.1%} extra")
    # 20 % of the first tries in flight (min_concurrent 0: no floor, so the ratio is all).
    assert extra <= 0.25, (n, tries, extra)
    n2, _, tries2 = measure(1.0)
    extra2 = (tries2 - n2) / n2
    print(f"budget 100 %: {n2} requests, {tries2} tries at the upstream, {extra2:.1%} extra")
    # A budget as large as the first tries themselves lets far more through: the budget,
    # not something else, is what held the first run.
    assert extra2 > 2 * extra and extra2 > 0.5, (n2, tries2, extra2)


def test_status_retry_goes_to_the_other_server():
    bad, good = Stub(lambda n, m: 503), Stub(lambda n, m: 200)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [bad, good], "retries: { statuses: [502, 503, 504] }\n")
    try:
        with gateway(port, admin, [], config=cfg):
            n = scaled(40, 16)
            got = [http("GET", f"http://127.0.0.1:{port}/x") for _ in range(n)]
            assert [g[0] for g in got] == [200] * n, [g[0] for g in got]
            assert {g[2] for g in got} == {f"stub:{good.port}".encode()}
            # Round robin sends every other first try to the failing server.
            assert bad.count() >= n // 2 - 1, bad.count()
            assert metric(admin, "tailguard_retries_total",
                          {"upstream": "api", "reason": "status"}) == bad.count()
            assert metric(admin, "tailguard_retries_in_flight", {"upstream": "api"}) == 0
    finally:
        bad.close()
        good.close()


def status_load(budget_ratio, clients=24, per_client=scaled(20, 8)):
    a, b = Stub(lambda n, m: 503), Stub(lambda n, m: 503)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [a, b],
                      f"retries: {{ statuses: [503], budget_ratio: {budget_ratio}, "
                      f"min_concurrent: 0 }}\n", workers=2)
    try:
        with gateway(port, admin, [], config=cfg):
            def one():
                return [http("GET", f"http://127.0.0.1:{port}/x", timeout=10)
                        for _ in range(per_client)]
            got = [r for rs in parallel([one] * clients, timeout=120) for r in rs]
            refused = metric(admin, "tailguard_retries_refused_total",
                             {"upstream": "api", "reason": "budget"})
    finally:
        a.close()
        b.close()
    return got, a.count() + b.count(), refused


def test_status_retries_stay_in_budget_and_pass_the_last_answer():
    got, tries, refused = status_load(0.2)
    n = len(got)
    # Exhausted or refused, the client gets the upstream's own 503, not one of ours.
    assert {g[0] for g in got} == {503}, {g[0] for g in got}
    assert all(g[2].startswith(b"stub:") for g in got), got[0]
    extra = (tries - n) / n
    print(f"status budget 20 %: {n} requests, {tries} tries, {extra:.1%} extra, "
          f"{refused:.0f} refused by the budget")
    assert extra <= 0.25, (n, tries, extra)
    assert refused > 0
    got2, tries2, _ = status_load(1.0)
    extra2 = (tries2 - len(got2)) / len(got2)
    print(f"status budget 100 %: {len(got2)} requests, {tries2} tries, {extra2:.1%} extra")
    assert extra2 > 2 * extra and extra2 > 0.5, (len(got2), tries2, extra2)


def test_backoff_is_waited_out_on_the_only_server():
    # A server restarting: its first answer is 503, then it is back.
    s = Stub(lambda n, m: 503 if n == 0 else 200)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [s], "retries: { statuses: [503], base_delay_ms: 200, "
                                        "jitter: none }\n")
    try:
        with gateway(port, admin, [], config=cfg):
            st, _, body = http("GET", f"http://127.0.0.1:{port}/x")
            assert (st, body) == (200, f"stub:{s.port}".encode()), (st, body)
            (t1, _), (t2, _) = s.seen
            print(f"gap at the upstream: {(t2 - t1) * 1000:.0f} ms (backoff 200 ms)")
            assert t2 - t1 >= 0.2, t2 - t1
    finally:
        s.close()


def test_client_leaving_during_backoff_ends_the_retry():
    s = Stub(lambda n, m: 503)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [s], "retries: { statuses: [503], base_delay_ms: 1000, "
                                        "jitter: none }\n")
    try:
        with gateway(port, admin, [], config=cfg):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            wait_until(lambda: s.count() == 1, timeout=5, what="the first try")
            wait_until(lambda: metric(admin, "tailguard_retries_in_flight",
                                      {"upstream": "api"}) == 1, what="the backoff")
            c.close()
            wait_until(lambda: metric(admin, "tailguard_retries_in_flight",
                                      {"upstream": "api"}) == 0, what="the place back")
            time.sleep(1.5)  # past the backoff: a retry still scheduled would be seen now
            assert s.count() == 1, s.seen
            _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
            assert 'cause="client_abort"' in body.decode()
    finally:
        s.close()


def test_per_try_timeout_moves_on_for_idempotent_requests_only():
    hang, good = Stub(lambda n, m: None), Stub(lambda n, m: 200)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [hang, good],
                      "timeouts: { per_try: 300ms, default: 10s }\n"
                      "routes:\n"
                      "  - { name: orders, prefix: /orders, retry_non_idempotent: true }\n"
                      "  - { name: other, prefix: / }\n")
    try:
        with gateway(port, admin, [], config=cfg):
            # GETs: each first try on the hanging server is abandoned after 300 ms and
            # retried on the healthy one, well inside the 10 s deadline.
            for _ in range(4):
                st, _, body = http("GET", f"http://127.0.0.1:{port}/x", timeout=8)
                assert (st, body) == (200, f"stub:{good.port}".encode()), (st, body)
            assert hang.count("GET") >= 1
            # POSTs (without a body, which is never kept to send again) are not retried:
            # the one that meets the hanging server gets 504.
            posts = [http("POST", f"http://127.0.0.1:{port}/x", timeout=8)[0]
                     for _ in range(2)]
            assert sorted(posts) == [200, 504], posts
            assert hang.count("POST") == 1
            # A route that opts in retries POSTs as well.
            posts = [http("POST", f"http://127.0.0.1:{port}/orders", timeout=8)[0]
                     for _ in range(2)]
            assert posts == [200, 200], posts
            assert hang.count("POST") == 2
            # Every try the hanging server saw was retried but the plain POST.
            assert metric(admin, "tailguard_retries_total",
                          {"upstream": "api", "reason": "timeout"}) == hang.count() - 1
    finally:
        hang.close()
        good.close()


def test_settings_load_check_and_change_live():
    s = Stub(lambda n, m: 200)
    port, admin = free_port(), free_port()
    cfg = stub_config(port, admin, [s],
                      "retries: { statuses: [503], base_delay_ms: 50, jitter: decorrelated }\n"
                      "timeouts: { per_try_ms: 2000 }\n")
    try:
        with gateway(port, admin, [], config=cfg):
            st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/system/config")
            text = json.dumps(v)
            assert st == 200, v
            assert '"retries.jitter", "value": "decorrelated"' in text, text
            assert '"timeouts.per_try_ms", "value": 2000' in text, text
            url = f"http://127.0.0.1:{admin}/api/v1/system/retries"
            st, _, v = http_json("PUT", url, {"statuses": [502, 503], "base_delay_ms": 100,
                                              "jitter": "none"})
            assert st == 200, v
            e = v["effective"]
            assert e["statuses"] == [502, 503] and e["base_delay_ms"] == 100, v
            assert e["jitter"] == "none", v
            for bad, field in (({"statuses": [404]}, "statuses"),
                               ({"jitter": "sometimes"}, "jitter"),
                               ({"base_delay_ms": -5}, "base_delay_ms")):
                st, _, v = http_json("PUT", url, bad)
                assert st == 400 and field in json.dumps(v), (bad, st, v)
            st, _, v = http_json("PUT", f"http://127.0.0.1:{admin}/api/v1/system/timeouts",
                                 {"per_try_ms": 250})
            assert st == 200 and v["effective"]["per_try_ms"] == 250, v
            st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/system/audit")
            text = json.dumps(v)
            assert "retries.statuses" in text and "timeouts.per_try_ms" in text, text[:600]
            assert http("GET", f"http://127.0.0.1:{port}/x")[0] == 200
    finally:
        s.close()


if __name__ == "__main__":
    run_tests()
