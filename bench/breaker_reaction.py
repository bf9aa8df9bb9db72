#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How fast the circuit breaker reacts: demo-api behind tailguard with the runbook's
breaker (failure_threshold 0.5, min_requests 20, a 10 s window), a steady load at RATE
requests per second, then every request to the upstream starts failing (500) at t0. Prints
the time from t0 to the first fast refusal (503 "circuit breaker open") and how many
requests reached the failing upstream before it, for each of ROUNDS runs, and the median.
The breaker opens at the first call that makes the failure ratio of its window cross the
threshold, so the reaction depends on how much healthy traffic the window still holds:
after a short healthy spell (--steady 1) it is about that spell; with the 10 s window full
of successes, it takes about as many failures as there were successes.

    python3 bench/breaker_reaction.py [--rate 200] [--rounds 5] [--bin build/tailguard]
Loopback only; each run ends by itself within a few seconds."""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} never opened")


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def one_round(binary, rate, steady):
    api, port, admin = free_port(), free_port(), free_port()
    d = tempfile.mkdtemp(prefix="tg-breaker-bench-")
    cfg = os.path.join(d, "tg.yaml")
    with open(cfg, "w") as f:
        f.write(f'listen: "127.0.0.1:{port}"\nadmin: {{ listen: "127.0.0.1:{admin}" }}\n'
                f'upstreams: [{{name: api, servers: ["127.0.0.1:{api}"], passive: {{failures: 0}}}}]\n'
                'circuit_breaker: { enabled: true, timeout_ms: 5000, failure_threshold: 0.5,\n'
                '                   recovery_time: 60, min_requests: 20, window_seconds: 10 }\n'
                f'store: {{ path: "{d}/s.db" }}\n')
    procs = [subprocess.Popen([binary, "demo-api", "--listen", f"127.0.0.1:{api}",
                               "--latency-scale", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    wait_port(api)
    procs.append(subprocess.Popen([binary, "run", "-c", cfg], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    try:
        wait_port(port)
        state = {"t0": None, "first": None, "before": 0}
        lock = threading.Lock()
        stop = time.monotonic() + steady + 15

        def load(k, n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            period = n / rate
            start = time.monotonic() + k * period / n
            i = 0
            while time.monotonic() < stop and state["first"] is None:
                due = start + i * period
                i += 1
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                c.request("GET", "/api/products")
                r = c.getresponse()
                body = r.read()
                now = time.monotonic()
                with lock:
                    if state["t0"] is not None and r.status == 500:
                        state["before"] += 1
                    if r.status == 503 and b"circuit breaker open" in body and \
                            state["first"] is None:
                        state["first"] = now
            c.close()

        n = 4
        ts = [threading.Thread(target=load, args=(k, n)) for k in range(n)]
        for t in ts:
            t.start()
        time.sleep(steady)  # healthy traffic first: it fills the window
        with lock:
            state["t0"] = time.monotonic()
        call(api, "POST", "/_faults", {"endpoint": "/api/products", "error_rate": 1.0})
        for t in ts:
            t.join()
        if state["first"] is None:
            return None
        return (state["first"] - state["t0"]) * 1000, state["before"]
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steady", type=float, default=1.0,
                    help="seconds of healthy traffic before the fault (the window is 10 s)")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                  "tailguard"))
    a = ap.parse_args()
    ms = []
    for r in range(a.rounds):
        res = one_round(a.bin, a.rate, a.steady)
        if res is None:
            print(f"round {r + 1}: the breaker never opened")
            sys.exit(1)
        ms.append(res[0])
        print(f"round {r + 1}: first fast refusal {res[0]:.0f} ms after the fault, "
              f"{res[1]} failed calls reached the upstream before it")
    print(f"breaker reaction at {a.rate:.0f} req/s after {a.steady:g} s of healthy traffic: median {statistics.median(ms):.0f} ms "
          f"(min {min(ms):.0f}, max {max(ms):.0f})")


if __name__ == "__main__":
    main()
