# SPDX-License-Identifier: MIT
"""`tailguard demo` (what `make demo` runs): the gateway answers on the proxy port in front
of the demo API, the admin port says ok, the light load reaches the API, and Ctrl-C
(SIGINT) stops every process it started."""
import signal
import time

from tgtest import *  # noqa: F401,F403


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_demo_starts_and_stops_cleanly():
    port, admin, api = free_port(), free_port(), free_port()
    p = Proc([BIN, "demo", "--port", str(port), "--admin-port", str(admin),
              "--api-port", str(api)], name="demo").start()
    with p:
        p.wait_http(f"http://127.0.0.1:{port}/api/products", timeout=20)
        st, h, body = http("GET", f"http://127.0.0.1:{port}/api/products")
        assert st == 200 and b"products" in body and "tailguard" in h.get("via", "")
        assert http("GET", f"http://127.0.0.1:{admin}/health")[0] == 200
        # the runbooks' monitoring calls answer on the proxy port, as they write them
        st, _, v = http_json("GET", f"http://127.0.0.1:{port}/api/v1/monitoring/metrics/latency")
        assert st == 200 and "p95" in v["current"], (st, v)
        st, _, v = http_json("GET", f"http://127.0.0.1:{port}/api/v1/health")
        assert st == 200 and v["status"] == "ok", (st, v)
        kids = _children(p.pid)
        assert len(kids) == 2, kids
        time.sleep(1.0)  # the light load runs meanwhile
        p.send_signal(signal.SIGINT)
        assert p.wait_exit(15) == 0
        assert "tailguard demo is running" in p.log()
        for k in kids:
            wait_until(lambda: not _alive(k), timeout=5, what=f"child {k} gone")


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    run_tests()
