# SPDX-License-Identifier: MIT
"""The external-service probes through a real gateway, with the demo API as the probed
service: probe_success 1, then 0 (with status 500 and the reason) while a fault makes it
fail, then 1 again; probe_duration_seconds follows an injected delay; a dead port is
probe_success 0 with the connection's error; a server that accepts and never answers is
a timeout, still with `up` 1 (the probe ran, as blackbox_exporter reports it), also
when the deadline is the interval's;
/api/v1/monitoring/external-services and /health/services list the probed services
beside the upstreams."""
import socket
import urllib.parse

from tgtest import *  # noqa: F401,F403
from tgtest import HOST


def query(admin, expr):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query="
                         + urllib.parse.quote(expr))
    assert st == 200 and v["status"] == "success", (expr, v)
    return v["data"]["result"]


def probes_of(admin, path):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}{path}")
    assert st == 200, v
    return {s["service"]: s for s in v["services"] if s.get("type") == "probe"}, v


def fault(dport, **kw):
    st, _, v = http_json("POST", f"http://{HOST}:{dport}/_faults",
                         dict(endpoint="/echo/probe", **kw))
    assert st in (200, 201), v


def test_probes_follow_the_service():
    dport, dead, port, admin = free_port(), free_port(), free_port(), free_port()
    # Accepts (the kernel completes the handshake into the backlog) and never answers.
    hang = socket.socket()
    hang.bind((HOST, 0))
    hang.listen(8)
    hport = hang.getsockname()[1]
    url = f"http://{HOST}:{dport}/echo/probe"
    cfg = f"""
tsdb: {{scrape_interval: 200ms}}
collectors:
  probes:
    - {{service: backend, url: "{url}", interval: 1s}}
    - {{service: gone, url: "http://{HOST}:{dead}/", interval: 300ms, timeout: 300ms}}
    - {{service: stuck, url: "http://{HOST}:{hport}/", interval: 1s, timeout: 600ms}}
    - {{service: stuck-default, url: "http://{HOST}:{hport}/x", interval: 1s}}
"""
    try:
        with demo_api(dport), gateway(port, admin, [dport], config=cfg):
            success = f'probe_success{{job="probes",instance="{url}"}}'

            def value_is(expr, want):
                res = query(admin, expr)
                return res if [r["value"][1] for r in res] == [want] else None
            wait_until(lambda: value_is(success, "1"), timeout=scaled(10), what="success 1")
            p, _ = probes_of(admin, "/health/services")
            assert p["backend"]["state"] == "up" and p["backend"]["healthy"] is True, p
            assert p["backend"]["status_code"] == 200 and p["backend"]["url"] == url, p

            fault(dport, error_rate=1, error_status=500)
            wait_until(lambda: value_is(success, "0"), timeout=scaled(10), what="success 0")
            assert value_is(f'probe_http_status_code{{instance="{url}"}}', "500")
            assert value_is(f'up{{job="probes",instance="{url}"}}', "1"), "the probe ran"
            p, _ = probes_of(admin, "/api/v1/monitoring/external-services")
            b = p["backend"]
            assert b["state"] == "down" and b["last_error"] == "status 500 not accepted", b
            assert 0 < b["error_rate"] <= 1 and b["failures"] >= 1, b

            fault(dport, latency_ms=400)  # replaces the error fault

            def slow():
                res = query(admin, f'probe_duration_seconds{{instance="{url}"}}')
                return res and float(res[0]["value"][1]) >= 0.4 and res
            res = wait_until(slow, timeout=scaled(10), what="the delay in the duration")
            assert float(res[0]["value"][1]) < 0.9, res
            assert value_is(success, "1")

            res = query(admin, 'sum by (service) (external_api_requests_total'
                               '{job="probes",service="backend"})')
            assert res and float(res[0]["value"][1]) >= 3, res

            g = wait_until(lambda: probes_of(admin, "/health/services")[0]["gone"]["last_error"],
                           timeout=scaled(10), what="dead port reported")
            assert g.startswith("connect: "), g
            assert value_is(f'probe_success{{instance="http://{HOST}:{dead}/"}}', "0")

            s = wait_until(lambda: probes_of(admin, "/health/services")[0]["stuck"]["last_error"],
                           timeout=scaled(10), what="hang reported")
            assert s.startswith("timeout"), s
            stuck = f'http://{HOST}:{hport}/'
            assert value_is(f'probe_success{{instance="{stuck}"}}', "0")
            assert value_is(f'up{{job="probes",instance="{stuck}"}}', "1")
            res = query(admin, f'probe_duration_seconds{{instance="{stuck}"}}')
            assert 0.5 <= float(res[0]["value"][1]) < 0.6, res

            # Without a timeout the deadline is the interval, and the probe's call still
            # ends first: a timed-out probe, not a lost collection.
            stuck = f'http://{HOST}:{hport}/x'
            wait_until(lambda: query(admin, f'probe_success{{instance="{stuck}"}}'),
                       timeout=scaled(10), what="the default-timeout probe's result")
            assert value_is(f'probe_success{{instance="{stuck}"}}', "0")
            assert value_is(f'up{{job="probes",instance="{stuck}"}}', "1")
            res = query(admin, f'probe_duration_seconds{{instance="{stuck}"}}')
            assert 0.85 <= float(res[0]["value"][1]) < 1, res

            # The upstream is there too, beside the probes.
            _, v = probes_of(admin, "/api/v1/monitoring/external-services")
            assert [s["type"] for s in v["services"]].count("upstream") == 1, v
    finally:
        hang.close()


if __name__ == "__main__":
    run_tests()
