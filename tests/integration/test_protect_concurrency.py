# SPDX-License-Identifier: MIT
"""Concurrency limits and shedding by tier on real traffic: an upstream taking ~100 ms a
request, a hard limit of 20 in flight and a soft limit of 10, and more clients than
that in three tiers. Sheddable requests are shed first (503, cause shed), standard ones
next, and critical ones keep their success rate; the in-flight count never passes the
limit at the upstream. Also: the limit is changed at run time through the control API."""

import http.client as httpclient
import json
import threading
import time

from tgtest import *

J = {"Content-Type": "application/json"}


def test_tiers_under_overload():
    api = free_port()
    port, admin = free_port(), free_port()
    cfg = (f'listen: "127.0.0.1:{port}"\n'
           f'admin: {{ listen: "127.0.0.1:{admin}", mount_on_proxy: true }}\n'
           f'upstreams: [{{name: api, servers: ["127.0.0.1:{api}"]}}]\n'
           'concurrency: { hard_limit: 20, soft_limit: 10 }\n'
           'routes:\n'
           '  - { name: checkout, path: /sleep/101, tier: critical }\n'
           '  - { name: search, path: /sleep/102 }\n'
           '  - { name: report, path: /sleep/103, tier: sheddable }\n')
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        clients = {"/sleep/101": 2, "/sleep/102": 12, "/sleep/103": 12}
        results = {p: [0, 0] for p in clients}  # ok, refused
        causes = set()
        lock = threading.Lock()
        stop = time.monotonic() + 4.0

        def run(path):
            c = httpclient.HTTPConnection("127.0.0.1", port, timeout=10)
            while time.monotonic() < stop:
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                with lock:
                    results[path][0 if r.status == 200 else 1] += 1
                if r.status == 503:
                    with lock:
                        causes.add(json.loads(body).get("reason"))
                    time.sleep(0.01)  # a client told to come back later waits a little
                elif r.status != 200:
                    raise AssertionError((path, r.status, body))
            c.close()

        fns = [lambda p=p: run(p) for p, n in clients.items() for _ in range(n)]
        parallel(fns, timeout=30)
        rate = {p: ok / max(1, ok + no) for p, (ok, no) in results.items()}
        print("success by tier:", rate, results)
        crit, std, shed = rate["/sleep/101"], rate["/sleep/102"], rate["/sleep/103"]
        assert crit >= 0.95, (rate, results)
        assert shed < std and shed < 0.6, (rate, results)
        assert "shed" in causes, causes
        # Refused requests are counted by cause.
        _, _, body = http("GET", f"http://127.0.0.1:{admin}/metrics")
        text = body.decode()
        assert 'endpoint="report",method="GET",cause="shed"' in text
        # The limit changes at run time: with it lifted nothing is refused.
        st, _, b = http("PUT", f"http://127.0.0.1:{port}/api/v1/system/concurrency",
                        json.dumps({"hard_limit": 0, "soft_limit": 0}), J)
        assert st == 200, b
        got = parallel([lambda: http("GET", f"http://127.0.0.1:{port}/sleep/103")[0]
                        for _ in range(30)], timeout=20)
        assert got == [200] * 30, got


if __name__ == "__main__":
    run_tests()
