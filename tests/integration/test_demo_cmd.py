# SPDX-License-Identifier: MIT
"""`tailguard demo` (what `make demo` runs): the gateway answers on the proxy port in front
of the demo API, the admin port says ok and answers PromQL with the shipped rule files
loaded, the light load reaches the API, the runbook's agent-pool calls answer as the
runbook writes them, and Ctrl-C (SIGINT) stops every process it started and removes its
private directory."""
import json
import os
import re
import urllib.parse
import signal
import socket
import time
from http.client import HTTPResponse

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
        # the runbooks' PromQL on the admin port (9090 by default): `up` once scraped
        q = urllib.parse.quote('up{job="tailguard"}')
        wait_until(lambda: http_json("GET", f"http://127.0.0.1:{admin}/api/v1/query?query={q}")
                   [2]["data"]["result"], timeout=20, what="the first scrape")
        st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/query?query={q}")
        assert st == 200 and v["data"]["result"][0]["value"][1] == "1", v
        # examples/rules/ loaded: the runbooks' groups and tailguard's
        st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/rules")
        groups = {g["name"] for g in v["data"]["groups"]}
        assert {"api_performance", "performance_alerts", "runbook_004_performance_alerts",
                "runbook_companion_alerts", "tailguard_api_alerts"} <= groups, groups
        assert all(r["health"] != "err" for g in v["data"]["groups"] for r in g["rules"]), v
        conf = re.search(r"config +(\S+)", p.log()).group(1)
        state_dir = os.path.dirname(conf)
        assert os.path.isdir(os.path.join(state_dir, "rules")), state_dir
        kids = _children(p.pid)
        assert len(kids) == 2, kids
        time.sleep(1.0)  # the light load runs meanwhile
        p.send_signal(signal.SIGINT)
        assert p.wait_exit(15) == 0
        assert "tailguard demo is running" in p.log()
        for k in kids:
            wait_until(lambda: not _alive(k), timeout=5, what=f"child {k} gone")
        assert not os.path.exists(state_dir), os.listdir(state_dir)


# The runbook's agent coordination commands, as curl sends them (curl -s URL; curl -X PUT
# with -H and a -d body written over several lines; curl -X POST with no body at all, so
# no Content-Length either).
_RUNBOOK_PUT_BODY = (b'{\n    "max_coalition_size": 5,\n    "coordination_timeout_ms": 5000,\n'
                     b'    "parallel_execution": true\n  }')


def _curl(port, method, path, extra=b"", body=b""):
    req = (f"{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\n"
           "User-Agent: curl/7.88.1\r\nAccept: */*\r\n").encode() + extra
    if body:
        req += f"Content-Length: {len(body)}\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req + b"\r\n" + body)
        resp = HTTPResponse(s)
        resp.begin()
        return resp.status, resp.read()


def test_runbook_agent_calls():
    port, admin, api = free_port(), free_port(), free_port()
    p = Proc([BIN, "demo", "--port", str(port), "--admin-port", str(admin),
              "--api-port", str(api)], name="demo").start()
    with p:
        p.wait_http(f"http://127.0.0.1:{port}/api/products", timeout=20)
        # Check agent pool status
        st, body = _curl(port, "GET", "/api/v1/monitoring/agents/pool")
        v = json.loads(body)
        assert st == 200 and v["pool_size"] > 0 and v["max_coalition_size"] == 10, (st, body)
        # Reduce coordination complexity
        st, body = _curl(port, "PUT", "/api/v1/system/agents/config",
                         b"Content-Type: application/json\r\n", _RUNBOOK_PUT_BODY)
        want = {"max_coalition_size": 5, "coordination_timeout_ms": 5000,
                "parallel_execution": True}
        assert st == 200 and json.loads(body) == {"status": "ok", "config": want}, (st, body)
        st, body = _curl(port, "GET", "/api/v1/monitoring/agents/pool")
        v = json.loads(body)
        assert st == 200 and {k: v[k] for k in want} == want, v
        # Clear stuck coordinations
        st, body = _curl(port, "POST", "/api/v1/system/agents/coordination/cleanup")
        v = json.loads(body)
        assert st == 200 and v["status"] == "ok", (st, body)
        assert isinstance(v["cleaned"], int) and isinstance(v["remaining"], int), v


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    run_tests()
