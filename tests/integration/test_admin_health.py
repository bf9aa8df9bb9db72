# SPDX-License-Identifier: MIT
"""The admin listener's health endpoints: /health and /api/v1/health for pollers,
/health/detailed and /health/services with every upstream server's state (active-check
verdict, passive ejection, last probe), 503 while draining, JSON errors elsewhere."""
import signal
import socket
import time

from tgtest import *  # noqa: F401,F403
from upstream_stub import Stub


def test_health_endpoints_follow_server_state():
    port, admin = free_port(), free_port()
    with Stub("a") as a, Stub("b") as b:
        cfg = f"""
upstreams:
  - name: api
    servers: ["{a.addr()}", "{b.addr()}"]
    health_check: {{ path: /health, interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }}
"""
        with gateway(port, admin, [], config=cfg) as g:
            base = f"http://127.0.0.1:{admin}"
            st, h, v = http_json("GET", base + "/health")
            assert (st, v) == (200, {"status": "ok"}) and h.get("content-type") == "application/json"
            st, _, v = http_json("GET", base + "/api/v1/health")
            assert st == 200 and v["status"] == "ok" and v["version"] and v["uptime_s"] >= 0
            b.healthy = False

            def b_down():
                st, _, v = http_json("GET", base + "/health/detailed")
                states = {s["server"]: s for s in v["upstreams"]}
                return st == 200 and states[b.addr()]["state"] == "down" and states[b.addr()]
            s = wait_until(b_down, timeout=3, what="b reported down")
            assert s["last_error"] == "bad status" and s["active_checks"] is True, s
            assert s["check_latency_ms"] >= 0 and s["last_check_ms_ago"] < 2000, s
            st, _, v = http_json("GET", base + "/health/services")
            assert {x["server"]: x["state"] for x in v["services"]} == {
                a.addr(): "up", b.addr(): "down"}, v
            st, _, v = http_json("GET", base + "/health/detailed")
            assert len(v["workers"]) >= 1 and "connections" in v["workers"][0]
            # errors are JSON too
            st, _, v = http_json("POST", base + "/health")
            assert st == 405 and v["error"]
            st, _, v = http_json("GET", base + "/nope")
            assert st == 404 and v["error"] == "not found"
            # while draining /health turns 503 (the gateway is told to stop, with a request
            # still in flight so it cannot exit yet)
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"GET /sleep/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            g.send_signal(signal.SIGTERM)
            wait_until(lambda: http_json("GET", base + "/health")[2] == {"status": "draining"},
                       timeout=3, what="draining status")
            st, h, _ = http("GET", base + "/health")
            assert st == 503 and h.get("connection") == "close", (st, dict(h))
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
            c.close()


if __name__ == "__main__":
    run_tests()
