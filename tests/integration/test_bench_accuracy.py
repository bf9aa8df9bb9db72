# SPDX-License-Identifier: MIT
"""Accuracy of `tailguard bench` against demo-api with injected faults (issue 3's
acceptance). With a fixed 50 ms delay, the reported p50 and p99 must be within 1 % + 0.5 ms
of the truth, in the closed and the open model. The truth is measured independently, at
the same time, by a minimal Python client on raw sockets (the same server, the same
machine load), so scheduling noise on a busy CI machine hits both alike. Its percentile
is known only as well as its samples allow (see truth_band); a noisy moment is retried,
the 1 % + 0.5 ms bound is never widened. With a 1 s stall every 3 s, the open model's
corrected percentiles must show the stall (coordinated omission corrected) while the
uncorrected ones do not."""

import json
import selectors
import socket
import subprocess
import threading
import time

from tgtest import BIN, demo_api, free_port, http_json, run_tests

ATTEMPTS = 4


def bench_json(*args, timeout=60):
    p = subprocess.run([BIN, "bench", "--json", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def post_fault(port, fault):
    status, _, value = http_json("POST", f"http://127.0.0.1:{port}/_faults", fault)
    assert status == 200, (status, value)


def nearest_rank(values, pct):
    s = sorted(values)
    k = max(1, -(-len(s) * pct // 100))
    return s[int(k) - 1]


def truth_band(values, pct, z=3.0):
    """The truth's percentile `pct` as far as `values` pin it down: the order statistics
    around the nearest rank, z standard errors either way (the binomial spread of how many
    samples fall below the true percentile). On a quiet machine the latencies sit within
    about a millisecond and the band is that narrow; where the machine adds a noisy tail,
    a few hundred samples cannot place p99 more precisely than this, on either side."""
    s = sorted(values)
    n = len(s)
    spread = z * (n * pct / 100 * (1 - pct / 100)) ** 0.5
    lo = max(1, int(n * pct / 100 - spread))
    hi = min(n, int(-(-(n * pct / 100 + spread) // 1)))
    return s[lo - 1], s[hi - 1]


def truth_sampler(port, seconds, nconns=8):
    """Keep-alive GET / on `nconns` raw sockets for `seconds`, multiplexed by one thread
    with a selector (threads would wait on Python's GIL for up to its 5 ms switch interval
    and inflate the tail); returns (thread, latencies in ms). Each response is small and
    has a Content-Length."""
    out = []
    req = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"

    def complete(data):
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            return False
        n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return len(body) >= n

    def run():
        sel = selectors.DefaultSelector()
        socks = []
        end = time.monotonic() + seconds
        for _ in range(nconns):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, [b"", time.perf_counter()])
            s.sendall(req)
        try:
            while sel.get_map():
                for key, _ in sel.select(timeout=5):
                    st = key.data
                    st[0] += key.fileobj.recv(65536)
                    if not complete(st[0]):
                        continue
                    now = time.perf_counter()
                    out.append((now - st[1]) * 1000)
                    if time.monotonic() >= end:
                        sel.unregister(key.fileobj)
                        continue
                    st[0], st[1] = b"", time.perf_counter()
                    key.fileobj.send(req)
        finally:
            for s in socks:
                s.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return [t], out


def check_fixed_delay(args, key):
    """Runs the bench with `args` while the sampler measures the truth; returns the list of
    problems (empty when within 1 % + 0.5 ms)."""
    port = args[-1]
    threads, truth = truth_sampler(port, 4)
    v = bench_json(*args[:-1], f"http://127.0.0.1:{port}/")
    for t in threads:
        t.join(15)
    problems = []
    lat = v[key]
    for name, pct in (("p50", 50), ("p99", 99)):
        lo, hi = truth_band(truth, pct)
        tol_lo, tol_hi = 0.01 * lo + 0.5, 0.01 * hi + 0.5
        if not lo - tol_lo <= lat[name] <= hi + tol_hi:
            problems.append(f"{key}.{name} {lat[name]:.3f} ms vs truth {lo:.3f}..{hi:.3f} ms "
                            f"(nearest rank {nearest_rank(truth, pct):.3f}; tolerance 1 % + "
                            f"0.5 ms; {len(truth)} truth samples, {v['requests']} measured)")
    if lat["p50"] < 50:
        problems.append(f"p50 {lat['p50']} below the injected 50 ms")
    if v["errors"]:
        problems.append(f"{v['errors']} errors")
    return problems


def run_fixed_delay(args, key):
    port = free_port()
    with demo_api(port, latency_scale=0):
        post_fault(port, {"endpoint": "*", "latency_ms": 50})
        problems = []
        for attempt in range(ATTEMPTS):
            problems = check_fixed_delay(args + [port], key)
            if not problems:
                return
            print(f"attempt {attempt + 1}: {problems}", flush=True)
        raise AssertionError(problems)


def test_fixed_delay_closed_model():
    run_fixed_delay(["-c", 8, "-t", 2, "-d", "4s"], "latency_ms")


def test_fixed_delay_open_model():
    # 200 rps x 50 ms = 10 requests in flight; connections are opened as needed, so no
    # request waits for one and corrected equals uncorrected.
    run_fixed_delay(["-R", 200, "-t", 2, "-d", "4s"], "latency_ms")


def test_periodic_stall_coordinated_omission():
    port = free_port()
    with demo_api(port, latency_scale=0):
        # A 1 s stall for requests arriving in the first 0.3 s of every 3 s.
        post_fault(port, {"endpoint": "*", "latency_ms": 1000, "pattern": "periodic",
                          "period_s": 3, "duty": 0.1})
        # One connection at 100 rps, like wrk2 -c1: while it waits out a stall, the
        # requests due meanwhile are sent late, and only the corrected figures know.
        v = bench_json("-R", 100, "-c", 1, "-t", 1, "-d", "9s",
                       f"http://127.0.0.1:{port}/", timeout=60)
    c, u = v["latency_ms"], v["latency_uncorrected_ms"]
    assert v["requests"] == 900 and v["errors"] == 0, v
    # About a third of the requests were due during a stall: corrected p90 and p99 see it.
    assert c["p90"] > 300 and c["p99"] > 800, c
    assert c["mean"] > 100, c
    # Only ~3 of 900 requests met a stall themselves: uncorrected p99 stays fast, although
    # its max does show the stall.
    assert u["p90"] < 50 and u["p99"] < 100, u
    assert u["max"] >= 990, u
    assert v["late_sends"] > 100, v


if __name__ == "__main__":
    run_tests()
