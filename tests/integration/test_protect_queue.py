# SPDX-License-Identifier: MIT
"""The concurrency queue and the adaptive limit on real traffic. Requests over an
upstream's hard limit wait for a slot (concurrency.queue) and are served when one frees
up; a full queue refuses at once (queue_full); a wait that runs past queue_timeout_ms is
a 503 with cause queue_timeout; a client that leaves while waiting gives up its place and
is not a timeout; a critical waiter gets the next slot before a standard one that came
first; a reload or a control change while requests wait loses none of them. The adaptive
limit falls under the hard limit when the upstream's latency rises with its load, and
rises again when it recovers."""

import http.client as httpclient
import json
import re
import signal
import socket
import threading
import time

from tgtest import *

J = {"Content-Type": "application/json"}


def config(port, admin, api, conc, routes="", workers=2):
    return (f'listen: "127.0.0.1:{port}"\n'
            f'admin: {{ listen: "127.0.0.1:{admin}", mount_on_proxy: true }}\n'
            f'workers: {workers}\n'
            f'upstreams: [{{name: api, servers: ["127.0.0.1:{api}"]}}]\n'
            f'concurrency: {{ {conc} }}\n' + routes)


def metric(admin, name, labels=""):
    """The value of one series of /metrics (0 when absent)."""
    _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
    pat = re.escape(name) + r"\{[^}]*" + re.escape(labels) + r"[^}]*\} (\S+)"
    m = re.search(pat, body.decode())
    return float(m.group(1)) if m else 0.0


def causes(admin, cause):
    """Requests that ended with `cause`, every endpoint (tailguard_request_causes_total)."""
    text = http("GET", f"http://127.0.0.1:{admin}/metrics")[2].decode()
    pat = r'^tailguard_request_causes_total\{[^}]*cause="' + cause + r'"\} (\d+)$'
    return sum(int(n) for n in re.findall(pat, text, re.M))


def wait_causes(admin, cause, n):
    """Waits (bounded) until `n` requests ended with `cause`: request counts reach
    /metrics with the once-a-second collect of the workers' figures."""
    wait_until(lambda: causes(admin, cause) == n, timeout=10, what=f"{n} x {cause}")


def get(port, path, timeout=20):
    """(status, parsed JSON body or None) of one GET on its own connection."""
    st, _, body = http("GET", f"http://127.0.0.1:{port}{path}", timeout=timeout)
    try:
        return st, json.loads(body)
    except ValueError:
        return st, None


def test_queued_then_served_and_queue_full():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = config(port, admin, api, "hard_limit: 2, queue: 10, queue_timeout_ms: 10000")
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        got = parallel([lambda: get(port, "/sleep/300")[0] for _ in range(8)], timeout=30)
        assert got == [200] * 8, got
        assert metric(admin, "tailguard_concurrency_queued_total", 'upstream="api"') == 6
        assert metric(admin, "tailguard_concurrency_dequeued_total", 'upstream="api"') == 6
        assert metric(admin, "tailguard_concurrency_queue_depth", 'upstream="api"') == 0
        # 20 at once: 2 in flight, 9 waiting (a standard request may use 90 % of the
        # queue), the rest refused at once.
        got = parallel([lambda: get(port, "/sleep/300") for _ in range(20)], timeout=30)
        statuses = sorted(s for s, _ in got)
        assert statuses.count(200) == 11, statuses
        refused = [b for s, b in got if s == 503]
        assert len(refused) == 9 and all(b["reason"] == "queue_full" for b in refused), got
        assert metric(admin, "tailguard_concurrency_rejected_total",
                      'reason="queue_full",tier="standard"') == 9


def test_queue_timeout():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = config(port, admin, api, "hard_limit: 2, queue: 10, queue_timeout_ms: 100")
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        t0 = time.monotonic()
        got = parallel([lambda: get(port, "/sleep/1000") for _ in range(6)], timeout=30)
        statuses = sorted(s for s, _ in got)
        assert statuses == [200, 200, 503, 503, 503, 503], got
        for s, b in got:
            if s == 503:
                assert b["reason"] == "queue_timeout", b
        # The waiters were refused at their deadline, not after the slow requests.
        assert time.monotonic() - t0 < 3, time.monotonic() - t0
        wait_causes(admin, "queue_timeout", 4)
        assert metric(admin, "tailguard_concurrency_rejected_total",
                      'reason="queue_timeout",tier="standard"') == 4


def test_waiter_that_leaves_frees_its_place():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = config(port, admin, api, "hard_limit: 1, queue: 1, queue_timeout_ms: 5000")
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        holder = threading.Thread(target=lambda: get(port, "/sleep/1500"))
        holder.start()
        wait_until(lambda: metric(admin, "tailguard_concurrency_in_flight",
                                  'upstream="api"') == 1, what="the slot taken")
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /sleep/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: metric(admin, "tailguard_concurrency_queue_depth",
                                  'upstream="api"') == 1, what="the request waiting")
        s.close()
        wait_until(lambda: metric(admin, "tailguard_concurrency_queue_depth",
                                  'upstream="api"') == 0, what="its place given up")
        # The place is free again: the next request waits (rather than queue_full) and is
        # served when the slot frees up.
        st, b = get(port, "/sleep/1")
        holder.join(10)
        assert st == 200, (st, b)
        assert metric(admin, "tailguard_concurrency_rejected_total",
                      'reason="queue_timeout"') == 0
        wait_causes(admin, "client_abort", 1)
        assert causes(admin, "queue_timeout") == 0


def test_critical_waiter_goes_first():
    api, port, admin = free_port(), free_port(), free_port()
    routes = ('routes:\n'
              '  - { name: checkout, path: /sleep/400, tier: critical }\n'
              '  - { name: search, path: /sleep/401 }\n')
    cfg = config(port, admin, api, "hard_limit: 1, queue: 10, queue_timeout_ms: 10000",
                 routes)
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        done = {}

        def run(name, path):
            st, _ = get(port, path)
            done[name] = (st, time.monotonic())

        threads = [threading.Thread(target=run, args=("holder", "/sleep/401"))]
        threads[0].start()
        wait_until(lambda: metric(admin, "tailguard_concurrency_in_flight",
                                  'upstream="api"') == 1, what="the slot taken")
        # A standard waiter first, then a critical one; each on its own connection (and
        # so maybe on another worker).
        for i, (name, path) in enumerate((("standard", "/sleep/401"),
                                          ("critical", "/sleep/400"))):
            t = threading.Thread(target=run, args=(name, path))
            t.start()
            threads.append(t)
            wait_until(lambda: metric(admin, "tailguard_concurrency_queue_depth",
                                      'upstream="api"') == i + 1, what=f"{name} waiting")
        for t in threads:
            t.join(20)
        assert all(done[n][0] == 200 for n in done), done
        assert done["critical"][1] < done["standard"][1], done


def tier_load(port, admin, standard, seconds=4.0):
    clients = {"/sleep/101": 2, "/sleep/102": standard, "/sleep/103": 12}
    results = {p: [0, 0] for p in clients}  # ok, refused
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(path):
        c = httpclient.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            with lock:
                results[path][0 if r.status == 200 else 1] += 1
            if r.status == 503:
                time.sleep(0.01)
            elif r.status != 200:
                raise AssertionError((path, r.status, body))
        c.close()

    parallel([lambda p=p: run(p) for p, n in clients.items() for _ in range(n)], timeout=30)
    rate = {p: ok / max(1, ok + no) for p, (ok, no) in results.items()}
    print("success by tier:", rate, results)
    return rate["/sleep/101"], rate["/sleep/102"], rate["/sleep/103"], results


def test_tiers_under_overload_with_queue():
    api, port, admin = free_port(), free_port(), free_port()
    routes = ('routes:\n'
              '  - { name: checkout, path: /sleep/101, tier: critical }\n'
              '  - { name: search, path: /sleep/102 }\n'
              '  - { name: report, path: /sleep/103, tier: sheddable }\n')
    cfg = config(port, admin, api,
                 "hard_limit: 20, soft_limit: 10, queue: 8, queue_timeout_ms: 300", routes)
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        # More standard clients than their share of the limit (18): they wait for slots.
        crit, std, shed, results = tier_load(port, admin, 24)
        assert crit >= 0.95, results
        assert shed < std and shed < 0.6, results
        assert metric(admin, "tailguard_concurrency_queued_total", 'upstream="api"') > 0


def test_reload_and_control_change_while_waiting():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = config(port, admin, api, "hard_limit: 1, queue: 30, queue_timeout_ms: 20000")
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg) as g:
        results = []
        lock = threading.Lock()

        def one():
            r = get(port, "/sleep/200", timeout=30)
            with lock:
                results.append(r[0])

        ts = [threading.Thread(target=one) for _ in range(12)]
        for t in ts:
            t.start()
        wait_until(lambda: metric(admin, "tailguard_concurrency_queue_depth",
                                  'upstream="api"') >= 8, what="requests waiting")
        g.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        st, _, b = http("PUT", f"http://127.0.0.1:{admin}/api/v1/system/concurrency",
                        json.dumps({"hard_limit": 2, "queue_timeout_ms": 15000}), J)
        assert st == 200, b
        time.sleep(0.3)
        # The limit lifted while requests wait: they are let go at once.
        st, _, b = http("PUT", f"http://127.0.0.1:{admin}/api/v1/system/concurrency",
                        json.dumps({"hard_limit": 0, "queue": 0}), J)
        assert st == 200, b
        for t in ts:
            t.join(30)
        assert sorted(results) == [200] * 12, results
        _, body = get(admin, "/api/v1/monitoring/threads")
        assert body["waiting_requests"] == 0, body
        # Queue and adaptive are accepted live, with their parameters.
        st, _, b = http("PUT", f"http://127.0.0.1:{admin}/api/v1/system/concurrency",
                        json.dumps({"hard_limit": 50, "queue": 10, "adaptive": True,
                                    "min_limit": 3, "tolerance": 2.0}), J)
        assert st == 200, b
        eff = json.loads(b)["effective"]
        assert eff["queue"] == 10 and eff["adaptive"] is True and eff["min_limit"] == 3, eff
        st, _, b = http("PUT", f"http://127.0.0.1:{admin}/api/v1/system/concurrency",
                        json.dumps({"hard_limit": 0}), J)
        assert st == 400 and "hard_limit" in json.loads(b)["error"], b


def test_adaptive_limit_follows_latency():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = config(port, admin, api, "hard_limit: 64, adaptive: true, min_limit: 2")
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        lim = lambda: metric(admin, "tailguard_concurrency_limit", 'upstream="api"')
        phase = [0]
        deadline = time.monotonic() + 90  # every client stops by then, whatever happens

        def load(n, last_phase):
            def run():
                c = httpclient.HTTPConnection("127.0.0.1", port, timeout=10)
                while phase[0] <= last_phase and time.monotonic() < deadline:
                    c.request("GET", "/sleep/20")
                    r = c.getresponse()
                    r.read()
                    if r.status == 503:
                        time.sleep(0.005)  # refused: come back a little later
                c.close()
            ts = [threading.Thread(target=run) for _ in range(n)]
            for t in ts:
                t.start()
            return ts

        try:
            # Unloaded: one client, the baseline is ~20 ms.
            ts = load(1, 0)
            wait_until(lambda: metric(admin, "tailguard_concurrency_adaptive_baseline_seconds",
                                      'upstream="api"') > 0.015, timeout=15, what="a baseline")
            # The upstream now serves 4 at a time: its latency grows with the load.
            st, _, b = http("POST", f"http://127.0.0.1:{api}/_faults",
                            json.dumps({"endpoint": "/sleep",
                                        "capacity": {"concurrency": 4, "service_ms": 20}}), J)
            assert st in (200, 201), b
            ts += load(32, 1)
            wait_until(lambda: lim() < 32, timeout=20, what="the limit cut")
            time.sleep(3)
            low = lim()
            assert 2 <= low < 32, low
            # The upstream recovers under the same load: the limit grows again.
            http("DELETE", f"http://127.0.0.1:{api}/_faults")
            wait_until(lambda: lim() >= low + 3, timeout=30, what="the limit raised")
        finally:
            phase[0] = 9
            for t in ts:
                t.join(15)


if __name__ == "__main__":
    run_tests()
