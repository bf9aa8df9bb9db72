# SPDX-License-Identifier: MIT
"""Retries cannot amplify an outage: against an upstream whose two servers reset every
connection before answering (a 100 % failing upstream), the tries that reach the
servers, counted there, stay within the retry budget (at most 20 % above the requests,
plus the few retries always allowed in flight); with the budget lifted, the same load
is tried max_attempts times. A healthy upstream restarting under load still loses no
idempotent request (the retry that budget leaves room for)."""

import socket
import threading

from tgtest import *


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


if __name__ == "__main__":
    run_tests()
