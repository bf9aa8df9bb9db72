# SPDX-License-Identifier: MIT
"""The rule engine end to end (docs/rules.md). The acceptance test: a gateway in front
of demo-api scrapes itself every 200 ms and evaluates APIHighLatency (p95 over 0.2 s,
`for: 2s`, group interval 500 ms); latency injected into demo-api takes the alert
pending, then firing (in /api/v1/alerts, and in ALERTS through /api/v1/query);
a real Alertmanager (Debian's prometheus-alertmanager on loopback, no cluster) shows it
to `amtool alert query` and hands its webhook receiver (a small HTTP server here) the
firing and then, once the latency is removed, the resolved notification; the alert
history has both rows. Then: POST /-/reload and SIGHUP apply a changed rule file, a
broken one is refused (500, counted) while the old rules keep running, and a gateway
whose rule file is broken at start refuses to start with promtool's message, and
check-config reports the same.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from tgtest import *  # noqa: F401,F403

HOST = "127.0.0.1"

RULES = """groups:
- name: api_performance
  interval: 500ms
  rules:
  - alert: APIHighLatency
    expr: histogram_quantile(0.95, sum by (le, endpoint) (rate(http_request_duration_seconds_bucket[3s]))) > 0.2
    for: 2s
    labels: {severity: warning}
    annotations:
      summary: 'p95 of {{ $labels.endpoint }} is {{ $value | humanizeDuration }}'
"""


def ensure_alertmanager():
    """Installs Debian's prometheus-alertmanager when it is missing (as
    scripts/install-deps.sh would)."""
    if shutil.which("prometheus-alertmanager") and shutil.which("amtool"):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    "prometheus-alertmanager"], check=True, timeout=300,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                   stdout=subprocess.DEVNULL)


class Hook:
    """Alertmanager's webhook receiver: keeps every message posted to it."""

    def __init__(self):
        self.messages = []
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                hook.messages.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = HTTPServer((HOST, 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def statuses(self, alertname):
        return [a["status"] for m in self.messages for a in m["alerts"]
                if a["labels"].get("alertname") == alertname]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def alertmanager(d, hook_port):
    port, cport = free_port(), free_port()
    cfg = os.path.join(d, "am.yml")
    with open(cfg, "w") as f:
        f.write("route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 100ms\n"
                "  group_interval: 500ms\n  repeat_interval: 1h\n"
                f"receivers:\n- name: hook\n  webhook_configs:\n"
                f"  - url: http://{HOST}:{hook_port}/\n    send_resolved: true\n")
    p = Proc(["prometheus-alertmanager", f"--config.file={cfg}",
              f"--storage.path={os.path.join(d, 'am-data')}",
              f"--web.listen-address={HOST}:{port}", "--cluster.listen-address=",
              "--log.level=warn"], name="alertmanager").start()
    p.wait_http(f"http://{HOST}:{port}/-/ready", timeout=30)
    return p, port


def amtool_alerts(port):
    out = subprocess.run(["amtool", "-o", "extended", f"--alertmanager.url=http://{HOST}:{port}",
                          "alert", "query"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def api(admin, path):
    st, _, v = http_json("GET", f"http://{HOST}:{admin}{path}", timeout=10)
    assert st == 200, (st, v)
    return v["data"]


def alert_states(admin, name):
    return [a["state"] for a in api(admin, "/api/v1/alerts")["alerts"]
            if a["labels"]["alertname"] == name]


def metric(admin, name):
    _, _, body = http("GET", f"http://{HOST}:{admin}/metrics", timeout=10)
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body.decode(), re.M)
    return float(m.group(1)) if m else None


class Load:
    """GET /api/products through the gateway until stopped: bounded in time and count."""

    def __init__(self, port, limit=20000, seconds=120):
        self.stop_flag = False
        self.sent = 0

        def run():
            deadline = time.monotonic() + seconds
            while not self.stop_flag and self.sent < limit and time.monotonic() < deadline:
                try:
                    http("GET", f"http://{HOST}:{port}/api/products", timeout=5)
                except OSError:
                    pass
                self.sent += 1
                time.sleep(0.01)

        self.t = threading.Thread(target=run, daemon=True)
        self.t.start()

    def stop(self):
        self.stop_flag = True
        self.t.join(10)


def query_alerts(admin):
    """ALERTS through the Prometheus query API: {(alertname, alertstate)}."""
    st, _, v = http_json("GET", f"http://{HOST}:{admin}/api/v1/query?query=ALERTS", timeout=10)
    assert st == 200, (st, v)
    return {(r["metric"]["alertname"], r["metric"]["alertstate"]) for r in v["data"]["result"]}


def test_api_high_latency_pending_firing_resolved_with_alertmanager():
    ensure_alertmanager()
    d = tempfile.mkdtemp(prefix="tg-rules-")
    hook = Hook()
    try:
        am, am_port = alertmanager(d, hook.port)
        with am:
            rules = os.path.join(d, "rules.yml")
            with open(rules, "w") as f:
                f.write(RULES)
            api_port, port, admin = free_port(), free_port(), free_port()
            cfg = (f"tsdb: {{scrape_interval: 200ms}}\n"
                   f"rules: {{files: [rules.yml], external_labels: {{site: lab}}}}\n"
                   f"alerting: {{alertmanagers: [\"http://{HOST}:{am_port}\"], "
                   f"resend_delay: 1s}}\n")
            cfg_path = os.path.join(d, "tailguard.yaml")
            with open(cfg_path, "w") as f:
                f.write(cfg)
            with demo_api(api_port, latency_scale=0), \
                    gateway(port, admin, [api_port], config=cfg_path) as gw:
                load = Load(port)
                try:
                    time.sleep(2)
                    assert alert_states(admin, "APIHighLatency") == []
                    st, _, _ = http_json("POST", f"http://{HOST}:{api_port}/_faults",
                                         {"endpoint": "/api/products", "latency_ms": 400})
                    assert st == 200
                    wait_until(lambda: alert_states(admin, "APIHighLatency") == ["pending"],
                               timeout=scaled(15, 40), interval=0.05, what="pending")
                    alerts = api(admin, "/api/v1/alerts")["alerts"]
                    assert alerts[0]["labels"] == {"alertname": "APIHighLatency",
                                                   "endpoint": "/api/products",
                                                   "severity": "warning"}, alerts
                    assert alerts[0]["annotations"]["summary"].startswith(
                        "p95 of /api/products is "), alerts
                    wait_until(lambda: alert_states(admin, "APIHighLatency") == ["firing"],
                               timeout=scaled(15, 40), what="firing")
                    q = query_alerts(admin)
                    assert ("APIHighLatency", "firing") in q, q
                    wait_until(lambda: "APIHighLatency" in amtool_alerts(am_port),
                               timeout=scaled(15, 40), what="amtool sees the alert")
                    assert "site=\"lab\"" in amtool_alerts(am_port)  # external labels sent
                    wait_until(lambda: "firing" in hook.statuses("APIHighLatency"),
                               timeout=scaled(15, 40), what="webhook firing")
                    # Rules API: the rule is firing, with its canonical query.
                    grp = api(admin, "/api/v1/rules")["groups"][0]
                    assert grp["name"] == "api_performance" and grp["interval"] == 0.5, grp
                    rule = grp["rules"][0]
                    assert rule["state"] == "firing" and rule["health"] == "ok", rule
                    assert rule["duration"] == 2 and rule["type"] == "alerting", rule

                    http("DELETE", f"http://{HOST}:{api_port}/_faults")
                    wait_until(lambda: alert_states(admin, "APIHighLatency") == [],
                               timeout=scaled(20, 60), what="resolved")
                    wait_until(lambda: "resolved" in hook.statuses("APIHighLatency"),
                               timeout=scaled(20, 60), what="webhook resolved")
                    hist = api(admin, "/api/v1/alerts/history?alertname=APIHighLatency")
                    states = [h["state"] for h in hist["history"]]
                    assert states[:2] == ["resolved", "firing"], hist
                    assert hist["history"][0]["resolvedAt"] is not None
                    assert hist["history"][1]["labels"]["endpoint"] == "/api/products"
                    assert metric(admin, "tailguard_notifications_sent_total") >= 2
                finally:
                    load.stop()
    finally:
        hook.close()
        shutil.rmtree(d, ignore_errors=True)


def rule_names(admin):
    return [r["name"] for g in api(admin, "/api/v1/rules")["groups"] for r in g["rules"]]


def test_reload_and_refusals():
    d = tempfile.mkdtemp(prefix="tg-rules-")
    try:
        rules = os.path.join(d, "rules.yml")

        def write(text):
            with open(rules, "w") as f:
                f.write(text)

        write("groups:\n- name: g\n  interval: 200ms\n  rules:\n"
              "  - record: tg:up\n    expr: up\n")
        port, admin = free_port(), free_port()
        cfg_path = os.path.join(d, "tailguard.yaml")
        with open(cfg_path, "w") as f:
            # The gateway's own job only: the host collector, on by default, would add
            # its own `up`, and `up == 1` would fire twice.
            f.write("tsdb: {scrape_interval: 200ms}\nrules: {files: [rules.yml]}\n"
                    "collectors: {host: {enabled: false}}\n"
                    "admin: {token: s3cret}\n"
                    f"upstreams: [{{name: a, servers: [\"{HOST}:{free_port()}\"]}}]\n")
        with gateway(port, admin, [free_port()], config=cfg_path) as gw:
            wait_until(lambda: rule_names(admin) == ["tg:up"], what="first rules")
            auth = {"Authorization": "Bearer s3cret"}
            # POST /-/reload applies a changed file at once; it needs the token.
            write("groups:\n- name: g\n  interval: 200ms\n  rules:\n"
                  "  - record: tg:up\n    expr: up\n  - alert: Up\n    expr: up == 1\n")
            st, _, _ = http("POST", f"http://{HOST}:{admin}/-/reload")
            assert st == 401
            st, _, body = http("POST", f"http://{HOST}:{admin}/-/reload", headers=auth)
            assert st == 200, body
            assert rule_names(admin) == ["tg:up", "Up"]
            wait_until(lambda: alert_states(admin, "Up") == ["firing"], what="Up firing")
            # A broken file: 500 with promtool's message, the old rules keep running.
            write("- alert: X\n  expr: up\n")
            st, _, body = http("POST", f"http://{HOST}:{admin}/-/reload", headers=auth)
            assert st == 500 and b"failed to reload config: " in body, (st, body)
            assert b"cannot unmarshal !!seq into rulefmt.RuleGroups" in body, body
            assert rule_names(admin) == ["tg:up", "Up"]
            assert metric(admin, "tailguard_rule_reload_failures_total") == 1
            assert metric(admin, "tailguard_rule_config_last_reload_successful") == 0
            evals = metric(admin, "tailguard_rule_evaluations_total")
            wait_until(lambda: metric(admin, "tailguard_rule_evaluations_total") > evals,
                       what="old rules still evaluated")
            assert alert_states(admin, "Up") == ["firing"]  # state kept
            # SIGHUP applies a fixed file; the alert keeps its state (same name, labels).
            write("groups:\n- name: g\n  interval: 200ms\n  rules:\n"
                  "  - alert: Up\n    expr: up == 1\n")
            gw.send_signal(signal.SIGHUP)
            wait_until(lambda: rule_names(admin) == ["Up"], what="SIGHUP reload")
            assert alert_states(admin, "Up") == ["firing"]
            assert metric(admin, "tailguard_rule_config_last_reload_successful") == 1
            hist = api(admin, "/api/v1/alerts/history?alertname=Up")["history"]
            assert [h["state"] for h in hist] == ["firing"], hist  # fired once, not again
        # A broken file at start: the gateway refuses to start, with promtool's message.
        write("groups:\n- name: g\n  rules:\n  - record: x\n    expr: rate(up[5m]) by (a)\n")
        p = gateway(free_port(), free_port(), [free_port()], config=cfg_path, wait=False)
        p.expect_exit = (1,)
        with p:
            assert p.wait_exit(scaled(10, 30)) != 0
            log = p.log()
            assert "cannot load the rule files" in log, log
            assert "could not parse expression" in log and "unexpected <by>" in log, log
        # check-config reads the rule files as run does.
        out = subprocess.run([BIN, "check-config", cfg_path], capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 1 and "unexpected <by>" in out.stderr, (out.returncode,
                                                                         out.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run_tests()
