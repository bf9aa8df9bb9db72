# SPDX-License-Identifier: MIT
"""Traces, the slow-request log, the access log, and admin.mount_on_proxy: slow requests
and 5xx answers are kept with phase timings and served slowest first as a top-level
array filtered by min_duration_ms; the access log gets one JSON line per request; with
mount_on_proxy the monitoring paths answer on the proxy port too."""
import json
import os
import tempfile
import time

from tgtest import *  # noqa: F401,F403


def test_traces_slow_log_access_log_and_mount():
    api, port, admin = free_port(), free_port(), free_port()
    log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)
    log.close()
    cfg = f"""
upstreams: [ {{ name: api, servers: ["127.0.0.1:{api}"] }} ]
admin: {{ listen: "127.0.0.1:{admin}", mount_on_proxy: true }}
tracing: {{ sample_rate: 0 }}
access_log: {{ path: "{log.name}" }}
routes: [ {{ name: sleep, path: "/sleep/:ms" }} ]
"""
    try:
        with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
            base = f"http://127.0.0.1:{port}"
            for ms in (20, 300, 120):
                assert http("GET", f"{base}/sleep/{ms}")[0] == 200
            assert http("GET", f"{base}/status/503")[0] == 503
            time.sleep(1.3)  # one metrics tick; traces are immediate, the p99 gate is not
            # served on the proxy port (mount_on_proxy) and the admin port alike
            for host in (base, f"http://127.0.0.1:{admin}"):
                st, h, traces = http_json("GET", f"{host}/api/v1/monitoring/traces?min_duration_ms=100")
                assert st == 200 and isinstance(traces, list), traces
                assert [t["path"] for t in traces] == ["/sleep/300", "/sleep/120"], traces
            t = traces[0]
            assert t["endpoint"] == "sleep" and t["status"] == 200 and t["duration_ms"] >= 300
            assert t["phases_ms"]["upstream_first_byte"] >= 295, t
            assert "slower_than_p99" in t["kept_because"], t
            assert len(t["request_id"]) == 32
            st, _, all_traces = http_json("GET", f"{base}/api/v1/monitoring/traces")
            errs = [x for x in all_traces if x["status"] == 503]
            assert errs and "error" in errs[0]["kept_because"], all_traces
            st, _, none = http_json("GET", f"{base}/api/v1/monitoring/traces?min_duration_ms=100000")
            assert st == 200 and none == []
            st, _, slow = http_json("GET", f"{base}/api/v1/monitoring/slow-queries?limit=2")
            assert [x["path"] for x in slow["items"]] == ["/sleep/300", "/sleep/120"], slow
            st, _, err = http_json("GET", f"{base}/api/v1/monitoring/traces?limit=0")
            assert st == 400 and err["field"] == "limit"
            st, _, v = http_json("GET", f"{base}/api/v1/health")
            assert st == 200 and v["status"] == "ok"
            # app-specific paths stay with the application on the proxy port (the demo API
            # simulates an agent pool), the admin port says 501 with a reason
            st, h, b = http("GET", f"{base}/api/v1/monitoring/agents/pool")
            assert st == 200 and "tailguard" in h.get("via", ""), st
            assert json.loads(b)["pool_size"] > 0, b
            st, _, v = http_json("GET", f"http://127.0.0.1:{admin}/api/v1/monitoring/agents/pool")
            assert st == 501 and v["status"] == "unsupported", v
            st, _, v = http_json("GET", f"{base}/api/v1/monitoring/gc")
            assert st == 200 and v["resident_bytes"] > 0, v
        with open(log.name) as f:
            lines = [json.loads(x) for x in f]
        paths = [x["path"] for x in lines]
        for p in ("/sleep/20", "/sleep/300", "/sleep/120", "/status/503"):
            assert p in paths, paths
        rec = lines[paths.index("/sleep/300")]
        assert rec["status"] == 200 and rec["endpoint"] == "sleep" and rec["duration_ms"] >= 300
        assert rec["upstream"] == f"api/127.0.0.1:{api}" and len(rec["request_id"]) == 32
    finally:
        os.unlink(log.name)


def test_requests_active_lists_in_flight_requests():
    api, port, admin = free_port(), free_port(), free_port()
    cfg = f"""
upstreams: [ {{ name: api, servers: ["127.0.0.1:{api}"] }} ]
routes: [ {{ name: sleep, path: "/sleep/:ms" }} ]
"""
    with demo_api(api, latency_scale=0), gateway(port, admin, [], config=cfg):
        url = f"http://127.0.0.1:{admin}/api/v1/monitoring/requests/active"
        import threading
        threads = [threading.Thread(target=http, args=("GET", f"http://127.0.0.1:{port}/sleep/{ms}"),
                                    kwargs={"timeout": 10}) for ms in (1500, 1200, 900)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        v = wait_until(lambda: (lambda v: v if v["active"] == 3 else None)(http_json("GET", url)[2]),
                       timeout=3, what="three requests in flight")
        assert v["by_endpoint"] == {"sleep": 3}, v
        assert [r["path"] for r in v["requests"]] == ["/sleep/1500", "/sleep/1200", "/sleep/900"], v
        assert v["oldest_ms"] == v["requests"][0]["age_ms"] and v["oldest_ms"] > 0
        assert all(len(r["request_id"]) == 32 and r["method"] == "GET" for r in v["requests"])
        assert len(http_json("GET", url + "?limit=1")[2]["requests"]) == 1
        for t in threads:
            t.join(10)
        v = http_json("GET", url)[2]
        assert v == {"active": 0, "by_endpoint": {}, "oldest_ms": 0, "requests": []}, v


if __name__ == "__main__":
    run_tests()
